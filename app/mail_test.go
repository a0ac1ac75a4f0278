package app_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/app/mailer"
	"github.com/webmin/webmin/app/mailer/smtptest"
	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// The e-mail flows end to end through HTTP, on both databases, reading
// the links from the outbox like an admin of a site with no mail server.

func confirmMode(c *app.Config) { c.Registration = app.RegistrationConfirm }

// outbox lets the mail queue finish what was asked and returns the
// outbox, newest first.
func outbox(t *testing.T, env *apptest.Env) []models.Mail {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := env.Server.Mailer.Flush(ctx); err != nil {
		t.Fatalf("flush the mail queue: %v", err)
	}
	p, err := env.Users.Outbox(ctx, models.OutboxFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return p.Items
}

// mailsTo is the outbox's messages of kind to an address, newest first.
func mailsTo(t *testing.T, env *apptest.Env, kind, to string) []models.Mail {
	t.Helper()
	var out []models.Mail
	for _, m := range outbox(t, env) {
		if m.Kind == kind && strings.EqualFold(m.To, to) {
			out = append(out, m)
		}
	}
	return out
}

// lastMail is the newest message of kind to an address; the test fails without one.
func lastMail(t *testing.T, env *apptest.Env, kind, to string) models.Mail {
	t.Helper()
	ms := mailsTo(t, env, kind, to)
	if len(ms) == 0 {
		t.Fatalf("no %s message to %s in the outbox", kind, to)
	}
	return ms[0]
}

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+`)

// linkPath finds the site's link in a message text and returns its path;
// the link must be absolute, under BASE_URL.
func linkPath(t *testing.T, env *apptest.Env, text string) string {
	t.Helper()
	for _, l := range linkRE.FindAllString(text, -1) {
		if p, ok := strings.CutPrefix(l, env.Config.BaseURL+"/"); ok && (strings.HasPrefix(p, "confirm/") || strings.HasPrefix(p, "password/reset/")) {
			return "/" + p
		}
	}
	t.Fatalf("no absolute link under %s in:\n%s", env.Config.BaseURL, text)
	return ""
}

func events(t *testing.T, env *apptest.Env, action string) []models.Event {
	t.Helper()
	p, err := env.Users.Events(context.Background(), models.EventFilter{Action: action, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return p.Items
}

func TestConfirmRegistrationByMail(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		c := env.Client()
		res := c.Post("/register", url.Values{"username": {"Carol"}, "email": {"carol@example.com"}, "password": {"password123"}})
		want303(t, res, "/login", "register")
		if res = c.Get("/login"); !strings.Contains(res.Text(), "we sent a confirmation link to carol@example.com") {
			t.Errorf("no check-your-mail flash:\n%s", res.Text())
		}
		u, err := env.Users.GetByUsername(context.Background(), "carol")
		if err != nil || u.Type != models.TypeInactive {
			t.Fatalf("new account: %+v %v, want Inactive", u, err)
		}

		// Sign-in is refused with the resend form until the address is confirmed.
		res = c.Post("/login", url.Values{"login": {"carol"}, "password": {"password123"}})
		wantCode(t, res, http.StatusForbidden, "sign in before confirming")
		if !strings.Contains(res.Body, `action="/confirm/resend"`) || !strings.Contains(res.Text(), "not confirmed") {
			t.Errorf("refusal without the resend form:\n%s", res.Body)
		}

		m := lastMail(t, env, models.MailConfirm, "carol@example.com")
		if m.Subject != "Confirm your e-mail address for Webmin" || m.Status != models.MailOutbox || m.Transport != models.TransportOutbox {
			t.Errorf("message: subject %q status %q transport %q", m.Subject, m.Status, m.Transport)
		}
		link := linkPath(t, env, m.Text)
		if !strings.Contains(m.HTML, `href="`+env.Config.BaseURL+link+`"`) || !strings.Contains(m.Text, "Hello Carol") {
			t.Errorf("HTML part without the same link, or no greeting:\n%s\n%s", m.Text, m.HTML)
		}

		res = c.Get(link)
		want303(t, res, "/login?login=Carol", "follow the link")
		if res = c.Get("/login?login=Carol"); !strings.Contains(res.Text(), "Your e-mail address is confirmed") {
			t.Errorf("no confirmation flash:\n%s", res.Text())
		}
		u, _ = env.Users.Get(context.Background(), u.ID)
		if u.Type != models.TypeActive || u.EmailVerifiedAt == nil {
			t.Errorf("after confirming: type %d verified %v", u.Type, u.EmailVerifiedAt)
		}
		c.SignIn("carol", "password123")
		if len(events(t, env, models.EvConfirm)) != 1 {
			t.Errorf("no %s event", models.EvConfirm)
		}

		res = env.Client().Get(link)
		wantCode(t, res, http.StatusGone, "the link a second time")
		if !strings.Contains(res.Text(), "already used") {
			t.Errorf("reused link page doesn't say so:\n%s", res.Text())
		}
	}, confirmMode)
}

func TestResendConfirmation(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		c := env.Client()
		c.Post("/register", url.Values{"username": {"dave"}, "email": {"Dave@Example.com"}, "password": {"password123"}})
		first := linkPath(t, env, lastMail(t, env, models.MailConfirm, "dave@example.com").Text)

		for _, login := range []string{"dave", "DAVE@example.com", "nobody", "nobody@example.com"} {
			res := c.Post("/confirm/resend", url.Values{"login": {login}})
			want303(t, res, "/confirm/sent", "resend for "+login)
		}
		res := c.Get("/confirm/sent")
		wantCode(t, res, http.StatusOK, "check your mail")
		if !strings.Contains(res.Text(), "Check your mail") {
			t.Errorf("check-mail page:\n%s", res.Text())
		}
		ms := mailsTo(t, env, models.MailConfirm, "dave@example.com")
		if len(ms) != 3 || len(outbox(t, env)) != 3 {
			t.Fatalf("%d confirmation messages (%d in all), want 3", len(ms), len(outbox(t, env)))
		}
		if len(events(t, env, models.EvConfirmationRequest)) != 2 {
			t.Errorf("want 2 %s events", models.EvConfirmationRequest)
		}
		newest := linkPath(t, env, ms[0].Text)
		if newest == first {
			t.Fatal("the resent link is the same as the first")
		}
		want303(t, c.Get(newest), "/login?login=dave", "follow the newest link")
		// Using one link spends the others.
		wantCode(t, c.Get(first), http.StatusGone, "an older link after confirming")

		// Confirmed: asking again sends nothing (an hour later, so the
		// per-account limit has nothing to do with it).
		env.Clock.Advance(61 * time.Minute)
		c.Post("/confirm/resend", url.Values{"login": {"dave"}})
		if n := len(mailsTo(t, env, models.MailConfirm, "dave@example.com")); n != 3 {
			t.Errorf("a confirmed account got another confirmation (%d)", n)
		}
	}, confirmMode)
}

func TestForgotAnswersTheSameForUnknownAddresses(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("erin", models.LevelUser)
		page := func(email string) (int, string, string) {
			c := env.Client()
			c.IP = "198.51.100." + strconv.Itoa(len(email))
			res := c.Post("/password/forgot", url.Values{"email": {email}})
			next := c.Get(res.Location())
			return res.StatusCode, res.Location(), regexp.MustCompile(`Request \S+`).ReplaceAllString(next.Text(), "")
		}
		s1, l1, t1 := page("erin@example.com")
		s2, l2, t2 := page("nobody@example.com")
		if s1 != s2 || l1 != l2 || t1 != t2 {
			t.Errorf("known and unknown addresses answered differently:\n%d %s %s\n%d %s %s", s1, l1, t1, s2, l2, t2)
		}
		if s1 != http.StatusSeeOther || l1 != "/password/forgot/sent" || !strings.Contains(t1, "If an account uses that address") {
			t.Errorf("answer: %d %s %s", s1, l1, t1)
		}
		all := outbox(t, env)
		if len(all) != 1 || all[0].To != "erin@example.com" || all[0].Kind != models.MailReset {
			t.Fatalf("outbox: %+v", all)
		}
		if len(events(t, env, models.EvPasswordForgot)) != 1 {
			t.Errorf("want one %s event", models.EvPasswordForgot)
		}

		res := env.Client().Post("/password/forgot", url.Values{"email": {"not an address"}})
		wantCode(t, res, http.StatusUnprocessableEntity, "forgot with a bad address")
		if !strings.Contains(res.Body, `value="not an address"`) || !strings.Contains(res.Text(), "Enter the e-mail address") {
			t.Errorf("422 without the error or the value:\n%s", res.Body)
		}
	})
}

func TestResetPasswordByMail(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("frank", models.LevelUser)
		other := env.SignedIn("frank") // another device, signed in before the reset

		c := env.Client()
		c.Post("/password/forgot", url.Values{"email": {"FRANK@example.com"}})
		m := lastMail(t, env, models.MailReset, "frank@example.com")
		if m.Subject != "Reset your Webmin password" || !strings.Contains(m.Text, "1 hour") {
			t.Errorf("reset message: %q\n%s", m.Subject, m.Text)
		}
		link := linkPath(t, env, m.Text)

		res := c.Get(link)
		wantCode(t, res, http.StatusOK, "the reset form")
		for _, want := range []string{`name="password"`, `name="password_confirm"`, `name="_csrf"`, `action="` + link + `"`} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("reset form lacks %s", want)
			}
		}
		if res.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("Referrer-Policy %q on a page whose address is a secret", res.Header.Get("Referrer-Policy"))
		}

		res = c.Post(link, url.Values{"password": {"new password 1"}, "password_confirm": {"new password 2"}})
		wantCode(t, res, http.StatusUnprocessableEntity, "passwords that differ")
		if !strings.Contains(res.Text(), "passwords don") || strings.Contains(res.Body, "new password 1") {
			t.Errorf("mismatch: no error, or the password echoed:\n%s", res.Body)
		}
		res = c.Post(link, url.Values{"password": {"short"}, "password_confirm": {"short"}})
		wantCode(t, res, http.StatusUnprocessableEntity, "a short password")
		if !strings.Contains(res.Text(), "at least 8") {
			t.Errorf("short password: no error:\n%s", res.Text())
		}

		res = c.Post(link, url.Values{"password": {"brand new password"}, "password_confirm": {"brand new password"}})
		want303(t, res, "/dashboard", "reset")
		res = c.Get("/dashboard")
		wantCode(t, res, http.StatusOK, "dashboard after the reset")
		if !strings.Contains(res.Text(), "Your password is changed") {
			t.Errorf("no flash after the reset:\n%s", res.Text())
		}
		if res = other.Get("/dashboard"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("the other device is still signed in: %d", res.StatusCode)
		}
		env.Client().SignIn("frank", "brand new password")
		if res := env.Client().Post("/login", url.Values{"login": {"frank"}, "password": {apptest.Password}}); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("the old password still works: %d", res.StatusCode)
		}

		wantCode(t, env.Client().Get(link), http.StatusGone, "the link after use")
		res = env.Client().Post(link, url.Values{"password": {"another password"}, "password_confirm": {"another password"}})
		wantCode(t, res, http.StatusGone, "posting a used link")
	})
}

func TestRefusedLinks(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("gina", models.LevelUser)
		c := env.SignedIn("gina")
		c.Post("/password/forgot", url.Values{"email": {"gina@example.com"}})
		link := linkPath(t, env, lastMail(t, env, models.MailReset, "gina@example.com").Text)
		token := strings.TrimPrefix(link, "/password/reset/")

		tampered := []byte(token)
		tampered[10] ^= 1
		for name, path := range map[string]string{
			"wrong":                    "/password/reset/" + strings.Repeat("A", len(token)),
			"tampered":                 "/password/reset/" + string(tampered),
			"truncated":                "/password/reset/" + token[:30],
			"too long":                 "/password/reset/" + token + "x",
			"a reset link at /confirm": "/confirm/" + token,
		} {
			res := env.Client().Get(path)
			wantCode(t, res, http.StatusNotFound, name)
			if !strings.Contains(res.Text(), "This link is not valid") {
				t.Errorf("%s: page doesn't explain:\n%s", name, res.Text())
			}
		}

		// A password change (here in settings) kills the link.
		res := c.Post("/settings/password", url.Values{"current_password": {apptest.Password}, "password": {"changed password"}})
		want303(t, res, "/settings", "change the password")
		res = env.Client().Get(link)
		wantCode(t, res, http.StatusGone, "reset link after a password change")
		if !strings.Contains(res.Text(), "the account changed after it was sent") {
			t.Errorf("outdated link page:\n%s", res.Text())
		}

		// Reset links last an hour.
		env.Client().Post("/password/forgot", url.Values{"email": {"gina@example.com"}})
		link = linkPath(t, env, lastMail(t, env, models.MailReset, "gina@example.com").Text)
		wantCode(t, env.Client().Get(link), http.StatusOK, "a fresh link")
		env.Clock.Advance(61 * time.Minute)
		res = env.Client().Get(link)
		wantCode(t, res, http.StatusGone, "an hour later")
		if !strings.Contains(res.Text(), "This link has expired") || !strings.Contains(res.Body, `href="/password/forgot"`) {
			t.Errorf("expired page:\n%s", res.Body)
		}
	})
}

func TestConfirmationLinksExpireAfter48Hours(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.Client().Post("/register", url.Values{"username": {"hank"}, "email": {"hank@example.com"}, "password": {"password123"}})
		link := linkPath(t, env, lastMail(t, env, models.MailConfirm, "hank@example.com").Text)
		wantCode(t, env.Client().Get("/password/reset/"+strings.TrimPrefix(link, "/confirm/")), http.StatusNotFound,
			"a confirmation link used as a reset link")
		env.Clock.Advance(48*time.Hour + time.Minute)
		res := env.Client().Get(link)
		wantCode(t, res, http.StatusGone, "confirmation link after 48 hours")
		if !strings.Contains(res.Text(), "confirmation links work for 48 hours") {
			t.Errorf("expired page:\n%s", res.Text())
		}
	}, confirmMode)
}

func TestChangingEmailNeedsConfirmation(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		ivy := env.User("ivy", models.LevelUser)
		env.User("jack", models.LevelUser)
		c := env.SignedIn("ivy")
		// A reset link sent to the old address, to be outdated by the change.
		env.Client().Post("/password/forgot", url.Values{"email": {"ivy@example.com"}})
		oldReset := linkPath(t, env, lastMail(t, env, models.MailReset, "ivy@example.com").Text)

		res := c.Post("/settings", url.Values{"name": {"Ivy"}, "email": {"jack@example.com"}, "avatar": {""}})
		wantCode(t, res, http.StatusUnprocessableEntity, "an address in use")
		if !strings.Contains(res.Text(), "already exists") {
			t.Errorf("no conflict error:\n%s", res.Text())
		}

		res = c.Post("/settings", url.Values{"name": {"Ivy Ives"}, "email": {"ivy@new.example"}, "avatar": {""}})
		want303(t, res, "/settings", "change the address")
		if res = c.Get("/settings"); !strings.Contains(res.Text(), "We sent a confirmation link to ivy@new.example") {
			t.Errorf("no flash:\n%s", res.Text())
		}
		u, _ := env.Users.Get(context.Background(), ivy.ID)
		if u.EmailAddress() != "ivy@example.com" || u.Name != "Ivy Ives" {
			t.Fatalf("before confirming: email %q name %q, want the old address and the new name", u.EmailAddress(), u.Name)
		}
		m := lastMail(t, env, models.MailEmailChange, "ivy@new.example")
		link := linkPath(t, env, m.Text)
		if len(mailsTo(t, env, models.MailEmailChange, "ivy@example.com")) != 0 {
			t.Error("the new-address confirmation went to the old address")
		}

		want303(t, c.Get(link), "/settings", "follow the link")
		u, _ = env.Users.Get(context.Background(), ivy.ID)
		if u.EmailAddress() != "ivy@new.example" || u.EmailVerifiedAt == nil {
			t.Errorf("after confirming: %q verified %v", u.EmailAddress(), u.EmailVerifiedAt)
		}
		notice := lastMail(t, env, models.MailEmailChanged, "ivy@example.com")
		if !strings.Contains(notice.Text, "ivy@new.example") {
			t.Errorf("notice to the old address:\n%s", notice.Text)
		}
		wantCode(t, env.Client().Get(oldReset), http.StatusGone, "a reset link sent to the old address")
		if len(events(t, env, models.EvEmailChange)) != 1 || len(events(t, env, models.EvEmailChangeRequest)) != 1 {
			t.Error("want one change request and one change event")
		}

		// Without an address change, settings save at once.
		res = c.Post("/settings", url.Values{"name": {"Ivy I."}, "email": {"ivy@new.example"}, "avatar": {""}})
		want303(t, res, "/settings", "save the name")
		if u, _ = env.Users.Get(context.Background(), ivy.ID); u.Name != "Ivy I." {
			t.Errorf("name %q", u.Name)
		}
	})
}

func TestClosedRegistrationRefusesThePost(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		c := env.Client()
		res := c.Get("/register")
		wantCode(t, res, http.StatusOK, "register page")
		if !strings.Contains(res.Text(), "Registration is closed") || strings.Contains(res.Body, `action="/register"`) {
			t.Errorf("closed register page still offers the form:\n%s", res.Text())
		}
		res = c.Post("/register", url.Values{"username": {"kim"}, "email": {"kim@example.com"}, "password": {"password123"}})
		wantCode(t, res, http.StatusForbidden, "POST /register")
		if _, err := env.Users.GetByUsername(context.Background(), "kim"); !models.IsNotFound(err) {
			t.Errorf("an account was made: %v", err)
		}
		if len(outbox(t, env)) != 0 {
			t.Error("mail was sent")
		}

		// Admins can still create accounts.
		env.User("admin", models.LevelAdmin)
		res = env.SignedIn("admin").Post("/admin/users", url.Values{"username": {"kim"}, "email": {"kim@example.com"},
			"password": {"password123"}, "level": {"1"}})
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Location(), "/admin/users/") {
			t.Fatalf("admin create with registration closed: %d %q\n%s", res.StatusCode, res.Location(), res.Text())
		}
		if _, err := env.Users.GetByUsername(context.Background(), "kim"); err != nil {
			t.Errorf("the admin's account is not there: %v", err)
		}
	}, func(c *app.Config) { c.Registration = app.RegistrationClosed })
}

func TestAdminSendsResetAndConfirmation(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", models.LevelAdmin)
		env.User("mod", models.LevelModerator)
		boss := env.User("boss", models.LevelSuperadmin)
		lee := env.User("lee", models.LevelUser)
		ctx := context.Background()
		pending, err := env.Users.Create(ctx, models.System, models.NewUser{Username: "mia", Email: "mia@example.com",
			Password: apptest.Password, Level: 1, Type: models.TypeInactive})
		if err != nil {
			t.Fatal(err)
		}
		c := env.SignedIn("admin")
		back := "/admin/users/" + strconv.FormatInt(lee.ID, 10)

		want303(t, c.Post(back+"/reset", nil), back, "send a reset")
		if res := c.Get(back); !strings.Contains(res.Text(), "A password reset link for lee@example.com is in the outbox") {
			t.Errorf("no flash:\n%s", res.Text())
		}
		link := linkPath(t, env, lastMail(t, env, models.MailReset, "lee@example.com").Text)
		wantCode(t, env.Client().Get(link), http.StatusOK, "the admin-sent reset link")
		if ev := events(t, env, models.EvMailSendReset); len(ev) != 1 || ev[0].ActorID == nil || *ev[0].TargetID != lee.ID {
			t.Errorf("send-reset events: %+v", ev)
		}

		// The confirmation: for an account that waits for one (Inactive),
		// and only until it is confirmed.
		miaPage := "/admin/users/" + strconv.FormatInt(pending.ID, 10)
		want303(t, c.Post(miaPage+"/resend", nil), miaPage, "resend confirmation")
		link = linkPath(t, env, lastMail(t, env, models.MailConfirm, "mia@example.com").Text)
		want303(t, env.Client().Get(link), "/login?login=mia", "follow it")
		if len(events(t, env, models.EvMailResendConfirm)) != 1 {
			t.Errorf("no %s event", models.EvMailResendConfirm)
		}
		want303(t, c.Post(miaPage+"/resend", nil), miaPage, "resend to a confirmed account")
		if res := c.Get(miaPage); !strings.Contains(res.Text(), "already confirmed") {
			t.Errorf("no 'already confirmed' flash:\n%s", res.Text())
		}
		if n := len(mailsTo(t, env, models.MailConfirm, "mia@example.com")); n != 1 {
			t.Errorf("%d confirmation messages to mia", n)
		}

		// Not on a higher level, not for moderators.
		bossPage := "/admin/users/" + strconv.FormatInt(boss.ID, 10)
		wantCode(t, c.Post(bossPage+"/reset", nil), http.StatusForbidden, "admin → superadmin")
		mod := env.SignedIn("mod")
		wantCode(t, mod.Post(back+"/reset", nil), http.StatusForbidden, "moderator")
		wantCode(t, mod.Post(miaPage+"/resend", nil), http.StatusForbidden, "moderator resend")
		wantCode(t, c.Post("/admin/users/999999/reset", nil), http.StatusNotFound, "unknown account")
		if n := len(mailsTo(t, env, models.MailReset, "boss@example.com")); n != 0 {
			t.Errorf("%d reset messages to the superadmin", n)
		}
	})
}

func TestOutboxPage(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", models.LevelAdmin)
		env.User("mod", models.LevelModerator)
		env.User("boss", models.LevelSuperadmin)
		env.User("nina", models.LevelUser)
		v := env.Client()
		v.Post("/password/forgot", url.Values{"email": {"nina@example.com"}})
		v.Post("/password/forgot", url.Values{"email": {"boss@example.com"}})
		ninaLink := env.Config.BaseURL + linkPath(t, env, lastMail(t, env, models.MailReset, "nina@example.com").Text)
		bossLink := env.Config.BaseURL + linkPath(t, env, lastMail(t, env, models.MailReset, "boss@example.com").Text)

		res := env.SignedIn("admin").Get("/admin/outbox")
		wantCode(t, res, http.StatusOK, "outbox")
		if !strings.Contains(res.Body, `<a href="`+ninaLink+`">`+ninaLink+`</a>`) {
			t.Errorf("nina's link is not written out and clickable:\n%s", res.Body)
		}
		if strings.Contains(res.Body, bossLink) || !strings.Contains(res.Text(), "The text is hidden") {
			t.Error("an admin can read a superadmin's reset link")
		}
		if strings.Index(res.Body, "boss@example.com") > strings.Index(res.Body, "nina@example.com") {
			t.Error("not newest first")
		}
		if !strings.Contains(res.Body, `id="outbox-total" data-total="2"`) || !strings.Contains(res.Text(), "No mail server is set up") {
			t.Errorf("total or transport note missing:\n%s", res.Text())
		}
		if res := env.SignedIn("boss").Get("/admin/outbox"); !strings.Contains(res.Body, bossLink) {
			t.Error("the superadmin can't read their own link")
		}
		wantCode(t, env.SignedIn("mod").Get("/admin/outbox"), http.StatusForbidden, "moderator")
		res = env.Client().Get("/admin/outbox")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Location(), "/login") {
			t.Errorf("visitor: %d %q", res.StatusCode, res.Location())
		}
		if res := env.SignedIn("admin").Get("/admin/outbox?status=failed"); !strings.Contains(res.Text(), "No messages with this status") {
			t.Errorf("status filter:\n%s", res.Text())
		}
	})
}

func TestMailRateLimits(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("olga", models.LevelUser)
		// Per address: the sixth request within 15 minutes is refused.
		c := env.Client()
		for i := range 5 {
			want303(t, c.Post("/password/forgot", url.Values{"email": {"x" + strconv.Itoa(i) + "@example.com"}}),
				"/password/forgot/sent", "request "+strconv.Itoa(i+1))
		}
		res := c.Post("/password/forgot", url.Values{"email": {"olga@example.com"}})
		wantCode(t, res, http.StatusTooManyRequests, "the sixth request")
		if res.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		want303(t, c.Post("/confirm/resend", url.Values{"login": {"olga"}}), "/confirm/sent", "resend has its own allowance")
		if ev := events(t, env, models.EvMailLimited); len(ev) != 1 || ev[0].IP != c.IP {
			t.Errorf("per-address limit events: %+v", ev)
		}

		// Per account: three reset messages an hour, whoever asks.
		for i := range 5 {
			d := env.Client()
			d.IP = "192.0.2." + strconv.Itoa(i+1)
			want303(t, d.Post("/password/forgot", url.Values{"email": {"olga@example.com"}}), "/password/forgot/sent", "per account")
		}
		if n := len(mailsTo(t, env, models.MailReset, "olga@example.com")); n != models.MailPerAccountPerHour {
			t.Errorf("%d reset messages in an hour, want %d", n, models.MailPerAccountPerHour)
		}
		if ev := events(t, env, models.EvMailLimited); len(ev) != 3 || ev[0].TargetID == nil {
			t.Errorf("per-account limit events: %d", len(ev))
		}
		env.Clock.Advance(61 * time.Minute)
		d := env.Client()
		d.IP = "192.0.2.99"
		d.Post("/password/forgot", url.Values{"email": {"olga@example.com"}})
		if n := len(mailsTo(t, env, models.MailReset, "olga@example.com")); n != models.MailPerAccountPerHour+1 {
			t.Errorf("an hour later: %d messages", n)
		}
	})
}

// The SMTP path: the same flow through a real SMTP server started in
// the test delivers the message the outbox holds, and a failure is
// retried and shown.
func TestSMTPDeliversTheSameMessage(t *testing.T) {
	for _, dbName := range modelstest.DBNames {
		t.Run(dbName, func(t *testing.T) { testSMTP(t, dbName) })
	}
}

func testSMTP(t *testing.T, dbName string) {
	{
		srv := smtptest.Start(t, nil, false)
		env := apptest.New(t, dbName, func(c *app.Config) {
			c.SMTPURL = srv.URL("smtp", "none")
			c.MailFrom = "Webmin <no-reply@webmin.test>"
		})
		env.User("paul", models.LevelUser)
		env.User("admin", models.LevelAdmin)
		env.Client().Post("/password/forgot", url.Values{"email": {"paul@example.com"}})
		stored := lastMail(t, env, models.MailReset, "paul@example.com")
		if stored.Status != models.MailSent || stored.Transport != models.TransportSMTP || stored.SentAt == nil || stored.Attempts != 1 {
			t.Fatalf("stored message: status %q transport %q sent %v attempts %d (%s)",
				stored.Status, stored.Transport, stored.SentAt, stored.Attempts, stored.LastError)
		}
		got := srv.Messages()
		if len(got) != 1 {
			t.Fatalf("the SMTP server got %d messages", len(got))
		}
		if got[0].From != "no-reply@webmin.test" || len(got[0].To) != 1 || got[0].To[0] != "paul@example.com" {
			t.Errorf("envelope: from %q to %v", got[0].From, got[0].To)
		}
		p, err := got[0].Parse()
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Subject") != stored.Subject || !strings.Contains(p.Header.Get("From"), "no-reply@webmin.test") ||
			!strings.Contains(p.Header.Get("To"), "paul@example.com") {
			t.Errorf("headers: %v", p.Header)
		}
		if strings.TrimSpace(p.Text) != strings.TrimSpace(stored.Text) {
			t.Errorf("the SMTP text differs from the outbox:\n%q\n%q", p.Text, stored.Text)
		}
		link := linkPath(t, env, p.Text)
		if !strings.Contains(p.HTML, env.Config.BaseURL+link) {
			t.Errorf("HTML part without the link:\n%s", p.HTML)
		}
		c := env.Client()
		want303(t, c.Post(link, url.Values{"password": {"from smtp mail"}, "password_confirm": {"from smtp mail"}}),
			"/dashboard", "reset with the delivered link")

		// A temporary failure: retried, and shown in the outbox meanwhile.
		srv.FailNext(1)
		env.Client().Post("/password/forgot", url.Values{"email": {"paul@example.com"}})
		m := lastMail(t, env, models.MailReset, "paul@example.com")
		if m.Status != models.MailPending || m.Attempts != 1 || !strings.Contains(m.LastError, "try again later") {
			t.Fatalf("after a failure: status %q attempts %d error %q", m.Status, m.Attempts, m.LastError)
		}
		res := env.SignedIn("admin").Get("/admin/outbox")
		if !strings.Contains(res.Text(), "Retrying") || !strings.Contains(res.Text(), "try again later") ||
			!strings.Contains(res.Text(), "127.0.0.1") {
			t.Errorf("the outbox doesn't show the failure:\n%s", res.Text())
		}
		env.Clock.Advance(30 * time.Second)
		if m = lastMail(t, env, models.MailReset, "paul@example.com"); m.Status != models.MailPending || len(srv.Messages()) != 1 {
			t.Fatalf("retried too early: %q", m.Status)
		}
		env.Clock.Advance(time.Minute)
		if m = lastMail(t, env, models.MailReset, "paul@example.com"); m.Status != models.MailSent || m.Attempts != 2 || len(srv.Messages()) != 2 {
			t.Fatalf("after the retry: status %q attempts %d, %d delivered", m.Status, m.Attempts, len(srv.Messages()))
		}

		// A server that never takes it: given up after every retry, with an event.
		srv.FailNext(100)
		env.Client().Post("/password/forgot", url.Values{"email": {"paul@example.com"}})
		for _, d := range mailer.Retries {
			outbox(t, env)
			env.Clock.Advance(d)
		}
		m = lastMail(t, env, models.MailReset, "paul@example.com")
		if m.Status != models.MailFailed || m.Attempts != len(mailer.Retries)+1 {
			t.Errorf("given up: status %q attempts %d", m.Status, m.Attempts)
		}
		if len(events(t, env, models.EvMailFailed)) != 1 {
			t.Errorf("no %s event", models.EvMailFailed)
		}
	}
}

// In open registration a new member is signed in at once with the address
// not yet confirmed; the dashboard offers the link, and following it
// confirms the address.
func TestMemberConfirmsTheirAddressFromTheDashboard(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		c := env.Client()
		want303(t, c.Post("/register", url.Values{"username": {"erin"}, "email": {"erin@example.com"}, "password": {"password123"}}),
			"/dashboard", "register")
		if n := len(mailsTo(t, env, models.MailConfirm, "erin@example.com")); n != 0 {
			t.Fatalf("open registration sent %d confirmation messages by itself", n)
		}
		res := c.Get("/dashboard")
		wantCode(t, res, http.StatusOK, "dashboard")
		if !strings.Contains(res.Body, "not confirmed") || !strings.Contains(res.Body, `id="confirm-email-form"`) {
			t.Fatalf("the dashboard offers no confirmation:\n%s", res.Text())
		}
		want303(t, c.Post("/confirm/resend", url.Values{"login": {"erin"}}), "/confirm/sent", "ask for the link")
		link := linkPath(t, env, lastMail(t, env, models.MailConfirm, "erin@example.com").Text)
		c.Get(link)
		res = c.Get("/dashboard")
		if strings.Contains(res.Body, "not confirmed") || strings.Contains(res.Body, `id="confirm-email-form"`) {
			t.Fatalf("still unconfirmed after the link:\n%s", res.Text())
		}
	})
}
