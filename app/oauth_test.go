package app_test

// Sign-in with providers, end to end on both databases, against real
// protocol servers started here (oauth/oauthtest): an OpenID Connect
// provider (mockoidc) and a GitHub-style OAuth2 server.

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/oauth"
	"github.com/webmin/webmin/oauth/oauthtest"
)

// providers is one OpenID Connect provider ("oidc") and one GitHub, for a test.
type providers struct {
	oidc   *oauthtest.OIDC
	github *oauthtest.GitHub
}

func startProviders(t *testing.T) providers {
	return providers{oidc: oauthtest.StartOIDC(t), github: oauthtest.StartGitHub(t)}
}

// site configures both providers, and REGISTRATION when mode isn't "".
func (p providers) site(mode string) func(*app.Config) {
	return func(cfg *app.Config) {
		cfg.OAuth = []oauth.Config{p.oidc.Provider("oidc", cfg.BaseURL), p.github.Provider(cfg.BaseURL)}
		if mode != "" {
			cfg.Registration = mode
		}
	}
}

// eachDBWith runs fn on both databases with fresh providers each time.
// The subtests are named after the mode too: a repeated name gets a "#01"
// suffix, and a "#" in the SQLite file's path would cut its file: URI short.
func eachDBWith(t *testing.T, mode string, fn func(t *testing.T, env *apptest.Env, p providers)) {
	t.Helper()
	for _, db := range []string{"sqlite", "pg"} {
		t.Run(modeName(mode)+"/"+db, func(t *testing.T) {
			p := startProviders(t)
			fn(t, apptest.New(t, db, p.site(mode)), p)
		})
	}
}

// signInWith runs a whole sign-in: the site's start, the provider's
// sign-in page, and the callback; it returns the callback's answer.
func signInWith(t *testing.T, c *apptest.Client, provider, next string) *apptest.Response {
	t.Helper()
	start := "/auth/" + provider
	if next != "" {
		start += "?next=" + url.QueryEscape(next)
	}
	res := c.Get(start)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET %s: status %d, want 303 to the provider\n%s", start, res.StatusCode, res.Text())
	}
	return c.Get(oauthtest.Authorize(t, res.Location()))
}

func wantProblem(t *testing.T, res *apptest.Response, status int, problem string) {
	t.Helper()
	if res.StatusCode != status || !strings.Contains(res.Body, `data-problem="`+problem+`"`) {
		t.Fatalf("status %d, want %d with the %q page\n%s", res.StatusCode, status, problem, res.Text())
	}
}

func identitiesOf(t *testing.T, env *apptest.Env, id int64) []models.Identity {
	t.Helper()
	ids, err := env.Users.Identities(context.Background(), models.System, id)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func accountCount(t *testing.T, env *apptest.Env) int64 {
	t.Helper()
	n, err := env.DB.NewSelect().Model((*models.User)(nil)).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// modeName names a REGISTRATION mode in a subtest ("" is the default, open).
func modeName(mode string) string {
	if mode == "" {
		return "open"
	}
	return mode
}

func jane() *oauthtest.Person {
	return &oauthtest.Person{Subject: "jane-1", Email: "jane@example.org", EmailVerified: true,
		Username: "jane.doe", Name: "Jane Doe", Picture: "https://img.example.org/jane.png"}
}

func TestOAuthButtons(t *testing.T) {
	p := startProviders(t)
	env := apptest.New(t, "sqlite", p.site(""))
	guest := env.Client()
	for _, path := range []string{"/login", "/register"} {
		res := guest.Get(path)
		for _, want := range []string{`data-provider="oidc" href="/auth/oidc"`, `data-provider="github" href="/auth/github"`,
			"Example ID", "GitHub"} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("%s: no %s", path, want)
			}
		}
	}
	if res := guest.Get("/login?next=/settings"); !strings.Contains(res.Body, `href="/auth/oidc?next=%2fsettings"`) {
		t.Errorf("the buttons don't carry next:\n%s", res.Body)
	}
	plain := apptest.New(t, "sqlite")
	if res := plain.Client().Get("/login"); strings.Contains(res.Body, "data-provider") {
		t.Error("with no provider configured, /login shows provider buttons")
	}
	if res := plain.Client().Get("/auth/oidc"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown provider: status %d, want 404", res.StatusCode)
	}
}

func TestOAuthNewAccountAndReturning(t *testing.T) {
	eachDBWith(t, "", func(t *testing.T, env *apptest.Env, p providers) {
		ctx := context.Background()
		p.oidc.SignInAs(jane())
		c := env.Client()
		res := signInWith(t, c, "oidc", "")
		want303(t, res, "/dashboard", "new account through OpenID Connect")
		if res := c.Get("/dashboard"); res.StatusCode != http.StatusOK || !strings.Contains(res.Text(), "Welcome, jane.doe!") {
			t.Fatalf("dashboard after the sign-up: %d\n%s", res.StatusCode, res.Text())
		}
		u, err := env.Users.GetByUsername(ctx, "jane.doe")
		if err != nil {
			t.Fatal(err)
		}
		if u.EmailAddress() != "jane@example.org" || u.EmailVerifiedAt == nil || u.Type != models.TypeActive ||
			u.Name != "Jane Doe" || u.HasPassword() || u.Level != models.LevelUser {
			t.Fatalf("new account: %+v", u)
		}
		ids := identitiesOf(t, env, u.ID)
		if len(ids) != 1 || ids[0].Provider != "oidc" || ids[0].Subject != "jane-1" || ids[0].LastUsedAt == nil {
			t.Fatalf("identities: %+v", ids)
		}
		wantEvents(t, env, u.ID, models.EvSignup, models.EvIdentityLink)

		// Returning: the same account, counted as a sign-in.
		c.Post("/logout", nil)
		env.Clock.Advance(time.Minute)
		p.oidc.SignInAs(jane())
		want303(t, signInWith(t, c, "oidc", "/settings"), "/settings", "returning identity, with next")
		if res := c.Get("/settings"); res.StatusCode != http.StatusOK {
			t.Fatalf("settings after signing in again: %d", res.StatusCode)
		}
		again, _ := env.Users.Get(ctx, u.ID)
		if again.LoginCount != 1 || again.LastLoginAt == nil {
			t.Errorf("returning sign-in not recorded: login_count %d", again.LoginCount)
		}
		if accountCount(t, env) != 1 {
			t.Errorf("a returning identity made another account")
		}
		wantEvents(t, env, u.ID, models.EvLogin)

		// Another person with the same preferred name: a free username.
		other := jane()
		other.Subject, other.Email = "jane-2", "jane2@example.org"
		p.oidc.SignInAs(other)
		want303(t, signInWith(t, env.Client(), "oidc", ""), "/dashboard", "second jane")
		if _, err := env.Users.GetByUsername(ctx, "jane.doe2"); err != nil {
			t.Errorf("the second jane.doe isn't jane.doe2: %v", err)
		}

		// GitHub: its login, its verified primary address from /user/emails.
		p.github.SignInAs(&oauthtest.Person{Subject: "583231", Username: "octocat", Name: "The Octocat",
			Email: "octocat@github.example", EmailVerified: true, Picture: "https://avatars.example/583231"})
		gc := env.Client()
		want303(t, signInWith(t, gc, "github", ""), "/dashboard", "new account through GitHub")
		oc, err := env.Users.GetByUsername(ctx, "octocat")
		if err != nil || oc.EmailAddress() != "octocat@github.example" || oc.EmailVerifiedAt == nil {
			t.Fatalf("GitHub account: %+v %v", oc, err)
		}
		if ids := identitiesOf(t, env, oc.ID); len(ids) != 1 || ids[0].Provider != "github" || ids[0].Subject != "583231" {
			t.Fatalf("GitHub identity: %+v", ids)
		}
		gc.Post("/logout", nil)
		p.github.SignInAs(&oauthtest.Person{Subject: "583231", Username: "octocat-renamed", Email: "octocat@github.example", EmailVerified: true})
		want303(t, signInWith(t, gc, "github", ""), "/dashboard", "returning GitHub identity")
		if accountCount(t, env) != 3 {
			t.Errorf("accounts: %d, want 3", accountCount(t, env))
		}
	})
}

func wantEvents(t *testing.T, env *apptest.Env, id int64, actions ...string) {
	t.Helper()
	page, err := env.Users.History(context.Background(), id, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, e := range page.Items {
		have[e.Action] = true
	}
	for _, a := range actions {
		if !have[a] {
			t.Errorf("no %s event for account %d", a, id)
		}
	}
}

func TestOAuthNeverLinksSilently(t *testing.T) {
	eachDBWith(t, "", func(t *testing.T, env *apptest.Env, p providers) {
		ada := env.User("ada", 1) // ada@example.com, with a password
		for _, provider := range []string{"oidc", "github"} {
			person := &oauthtest.Person{Subject: "9001", Email: "ADA@example.com", EmailVerified: true, Username: "ada"}
			if provider == "oidc" {
				p.oidc.SignInAs(person)
			} else {
				p.github.SignInAs(person)
			}
			c := env.Client()
			res := signInWith(t, c, provider, "")
			wantProblem(t, res, http.StatusConflict, "email_used")
			if !strings.Contains(res.Body, `href="/login?next=/auth/`+provider+`"`) {
				t.Errorf("%s: the page doesn't offer to sign in and link", provider)
			}
			if res := c.Get("/dashboard"); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s: signed in to someone else's account by e-mail", provider)
			}
		}
		if ids := identitiesOf(t, env, ada.ID); len(ids) != 0 || accountCount(t, env) != 1 {
			t.Fatalf("linked or made an account silently: %+v", ids)
		}

		// Link by signing in, as the page offers: the password first
		// (with next=/auth/oidc), then the provider links.
		c := env.Client()
		want303(t, c.Post("/login", url.Values{"login": {"ada"}, "password": {apptest.Password}, "next": {"/auth/oidc"}}),
			"/auth/oidc", "password sign-in on the way to linking")
		p.oidc.SignInAs(&oauthtest.Person{Subject: "9001", Email: "ada@example.com", EmailVerified: true})
		want303(t, signInWith(t, c, "oidc", ""), "/settings/security", "link after signing in")
		res := c.Get("/settings/security")
		if !strings.Contains(res.Body, `data-provider="oidc"`) || !strings.Contains(res.Text(), "Example ID is linked") {
			t.Fatalf("security page after linking:\n%s", res.Text())
		}
		wantEvents(t, env, ada.ID, models.EvIdentityLink)

		// Now the identity signs in to ada.
		c.Post("/logout", nil)
		p.oidc.SignInAs(&oauthtest.Person{Subject: "9001", Email: "ada@example.com", EmailVerified: true})
		want303(t, signInWith(t, c, "oidc", ""), "/dashboard", "sign in with the linked identity")
		if res := c.Get("/dashboard"); !strings.Contains(res.Text(), "ada") {
			t.Fatalf("not ada's dashboard:\n%s", res.Text())
		}

		// The same identity can't be linked to a second account.
		env.User("bob", 1)
		bob := env.SignedIn("bob")
		p.oidc.SignInAs(&oauthtest.Person{Subject: "9001", Email: "ada@example.com", EmailVerified: true})
		res = signInWith(t, bob, "oidc", "")
		wantProblem(t, res, http.StatusConflict, "linked_elsewhere")
	})
}

func TestOAuthUnlinkRules(t *testing.T) {
	eachDBWith(t, "", func(t *testing.T, env *apptest.Env, p providers) {
		ctx := context.Background()
		p.oidc.SignInAs(jane())
		c := env.Client()
		want303(t, signInWith(t, c, "oidc", ""), "/dashboard", "sign-up")
		u, _ := env.Users.GetByUsername(ctx, "jane.doe")
		first := identitiesOf(t, env, u.ID)[0]
		unlink := "/settings/identities/" + strconv.FormatInt(first.ID, 10) + "/unlink"

		// The only way in: refused, and the page says so.
		if res := c.Get("/settings/security"); !strings.Contains(res.Body, "Your only way to sign in") || strings.Contains(res.Body, `action="`+unlink+`"`) {
			t.Fatalf("security page offers to unlink the last way in:\n%s", res.Body)
		}
		want303(t, c.Post(unlink, nil), "/settings/security", "unlink the last way in")
		if res := c.Get("/settings/security"); !strings.Contains(res.Text(), "only way to sign in") {
			t.Errorf("no refusal shown:\n%s", res.Text())
		}
		if len(identitiesOf(t, env, u.ID)) != 1 {
			t.Fatal("the last way to sign in was unlinked")
		}
		// Without the CSRF token: refused.
		if res := c.PostRaw(unlink, url.Values{}); res.StatusCode != http.StatusForbidden {
			t.Errorf("unlink without CSRF: %d", res.StatusCode)
		}

		// With a second provider linked, the first may go.
		p.github.SignInAs(&oauthtest.Person{Subject: "77", Username: "janed", Email: "jane@example.org", EmailVerified: true})
		want303(t, signInWith(t, c, "github", ""), "/settings/security", "link GitHub")
		want303(t, c.Post(unlink, nil), "/settings/security", "unlink oidc")
		ids := identitiesOf(t, env, u.ID)
		if len(ids) != 1 || ids[0].Provider != "github" {
			t.Fatalf("after unlinking: %+v", ids)
		}
		wantEvents(t, env, u.ID, models.EvIdentityUnlink)

		// Someone else's identity through the member's own route: 404.
		env.User("eve", 1)
		eve := env.SignedIn("eve")
		gh := "/settings/identities/" + strconv.FormatInt(ids[0].ID, 10) + "/unlink"
		if res := eve.Post(gh, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("eve unlinking jane's identity: %d, want 404", res.StatusCode)
		}

		// The console: moderators see identities but can't unlink; admins
		// can, but not the last way in; nobody above their own level.
		env.User("mod", 6)
		env.User("admin", 8)
		adminUnlink := "/admin/users/" + strconv.FormatInt(u.ID, 10) + "/identities/" + strconv.FormatInt(ids[0].ID, 10) + "/unlink"
		mod := env.SignedIn("mod")
		page := mod.Get("/admin/users/" + strconv.FormatInt(u.ID, 10))
		if !strings.Contains(page.Body, `class="identity-row" data-provider="github"`) || strings.Contains(page.Body, "jane@example.org") ||
			strings.Contains(page.Body, "identity-unlink-form") {
			t.Fatalf("moderator's view of identities:\n%s", page.Body)
		}
		wantCode(t, mod.Post(adminUnlink, nil), http.StatusForbidden, "moderator unlinks")
		admin := env.SignedIn("admin")
		if page := admin.Get("/admin/users/" + strconv.FormatInt(u.ID, 10)); strings.Contains(page.Body, "identity-unlink-form") ||
			!strings.Contains(page.Text(), "no password or passkey: its last identity can't be unlinked") {
			t.Fatal("admin is offered to unlink the last way in")
		}
		want303(t, admin.Post(adminUnlink, nil), "/admin/users/"+strconv.FormatInt(u.ID, 10), "admin unlinks the last way in")
		if len(identitiesOf(t, env, u.ID)) != 1 {
			t.Fatal("an admin unlinked the last way in")
		}

		// The API: list (admins see addresses), unlink (204), last one 403.
		key := env.APIKey("admin")
		api := env.Client()
		res := api.API(http.MethodGet, "/api/v1/users/"+strconv.FormatInt(u.ID, 10)+"/identities", key, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, `"provider":"github"`) || !strings.Contains(res.Body, `"subject":"77"`) {
			t.Fatalf("API list: %d %s", res.StatusCode, res.Body)
		}
		apiDelete := "/api/v1/users/" + strconv.FormatInt(u.ID, 10) + "/identities/" + strconv.FormatInt(ids[0].ID, 10)
		wantAPIError(t, api.API(http.MethodDelete, apiDelete, key, nil), http.StatusForbidden, "")
		if _, err := env.Users.SetPassword(ctx, models.System, u.ID, "a brand new password"); err != nil {
			t.Fatal(err)
		}
		if page := admin.Get("/admin/users/" + strconv.FormatInt(u.ID, 10)); !strings.Contains(page.Body, "identity-unlink-form") {
			t.Fatal("with a password set, admin sees no unlink button")
		}
		if res := api.API(http.MethodDelete, apiDelete, key, nil); res.StatusCode != http.StatusNoContent {
			t.Fatalf("API unlink with a password set: %d %s", res.StatusCode, res.Body)
		}
		wantAPIError(t, api.API(http.MethodDelete, apiDelete, key, nil), http.StatusNotFound, "")
	})
}

func TestOAuthRegistrationModes(t *testing.T) {
	eachDBWith(t, "closed", func(t *testing.T, env *apptest.Env, p providers) {
		p.oidc.SignInAs(jane())
		wantProblem(t, signInWith(t, env.Client(), "oidc", ""), http.StatusForbidden, "closed")
		if accountCount(t, env) != 0 {
			t.Fatal("closed registration made an account")
		}
		// An identity linked before still signs in.
		ada := env.User("ada", 1)
		c := env.SignedIn("ada")
		p.oidc.SignInAs(jane())
		want303(t, signInWith(t, c, "oidc", ""), "/settings/security", "link under closed registration")
		c.Post("/logout", nil)
		p.oidc.SignInAs(jane())
		want303(t, signInWith(t, c, "oidc", ""), "/dashboard", "linked identity under closed registration")
		if len(identitiesOf(t, env, ada.ID)) != 1 {
			t.Fatal("not linked")
		}
	})
	eachDBWith(t, "confirm", func(t *testing.T, env *apptest.Env, p providers) {
		ctx := context.Background()
		// A verified address: an active account at once.
		p.oidc.SignInAs(jane())
		want303(t, signInWith(t, env.Client(), "oidc", ""), "/dashboard", "verified address under confirm")

		// No verified address: the person types one, confirms it by mail.
		p.github.SignInAs(&oauthtest.Person{Subject: "42", Username: "nomail"})
		c := env.Client()
		r := signInWith(t, c, "github", "")
		want303(t, r, "/auth/github/email", "no verified address under confirm")
		form := c.Get("/auth/github/email")
		if form.StatusCode != http.StatusOK || !strings.Contains(form.Body, `action="/auth/github/email"`) {
			t.Fatalf("e-mail form: %d\n%s", form.StatusCode, form.Text())
		}
		if res := c.Post("/auth/github/email", url.Values{"email": {"not an address"}}); res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("bad address: %d", res.StatusCode)
		}
		if res := c.Post("/auth/github/email", url.Values{"email": {"jane@example.org"}}); res.StatusCode != http.StatusConflict {
			t.Fatalf("someone else's address: %d\n%s", res.StatusCode, res.Text())
		}
		want303(t, c.Post("/auth/github/email", url.Values{"email": {"nomail@example.net"}}), "/login", "typed address")
		u, err := env.Users.GetByUsername(ctx, "nomail")
		if err != nil || u.Type != models.TypeInactive || u.EmailVerifiedAt != nil || u.EmailAddress() != "nomail@example.net" {
			t.Fatalf("account waiting for confirmation: %+v %v", u, err)
		}
		found := false
		for _, m := range outbox(t, env) {
			found = found || (m.Kind == models.MailConfirm && m.To == "nomail@example.net")
		}
		if !found {
			t.Fatal("no confirmation mail sent")
		}
		// Until confirmed, the identity doesn't sign in.
		p.github.SignInAs(&oauthtest.Person{Subject: "42", Username: "nomail"})
		if res := signInWith(t, env.Client(), "github", ""); res.StatusCode != http.StatusForbidden || !strings.Contains(res.Text(), "not confirmed") {
			t.Fatalf("unconfirmed account signed in: %d\n%s", res.StatusCode, res.Text())
		}
	})
}

func TestOAuthBannedAndDeleted(t *testing.T) {
	eachDBWith(t, "", func(t *testing.T, env *apptest.Env, p providers) {
		ctx := context.Background()
		p.oidc.SignInAs(jane())
		want303(t, signInWith(t, env.Client(), "oidc", ""), "/dashboard", "sign-up")
		u, _ := env.Users.GetByUsername(ctx, "jane.doe")
		if _, err := env.Users.Block(ctx, models.System, u.ID, "spam"); err != nil {
			t.Fatal(err)
		}
		p.oidc.SignInAs(jane())
		c := env.Client()
		res := signInWith(t, c, "oidc", "")
		if res.StatusCode != http.StatusForbidden || !strings.Contains(res.Text(), "banned") || !strings.Contains(res.Text(), "spam") {
			t.Fatalf("banned account: %d\n%s", res.StatusCode, res.Text())
		}
		if res := c.Get("/dashboard"); res.StatusCode != http.StatusSeeOther {
			t.Fatal("a banned account got a session")
		}
		if _, err := env.Users.Unblock(ctx, models.System, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Users.Delete(ctx, models.System, u.ID); err != nil {
			t.Fatal(err)
		}
		p.oidc.SignInAs(jane())
		wantProblem(t, signInWith(t, c, "oidc", ""), http.StatusForbidden, "deleted")
		if accountCount(t, env) != 1 {
			t.Fatal("a deleted account's identity made a new account")
		}
	})
}

func TestOAuthRefusesBadAnswers(t *testing.T) {
	eachDBWith(t, "", func(t *testing.T, env *apptest.Env, p providers) {
		c := env.Client()

		// Tampered state; no flow cookie at all.
		p.oidc.SignInAs(jane())
		start := c.Get("/auth/oidc")
		back := oauthtest.Authorize(t, start.Location())
		u, _ := url.Parse(back)
		q := u.Query()
		q.Set("state", q.Get("state")+"x")
		u.RawQuery = q.Encode()
		wantProblem(t, c.Get(u.RequestURI()), http.StatusBadRequest, "state")
		wantProblem(t, env.Client().Get(back), http.StatusBadRequest, "state")

		// ID tokens that fail the checks: another audience, expired, another nonce.
		for name, person := range map[string]*oauthtest.Person{
			"wrong audience": {Subject: "a", Email: "a@example.org", EmailVerified: true, TokenAudience: "some-other-client"},
			"expired":        {Subject: "b", Email: "b@example.org", EmailVerified: true, TokenExpiresIn: -time.Hour},
			"other nonce":    {Subject: "c", Email: "c@example.org", EmailVerified: true, TokenNonce: "replayed-nonce"},
		} {
			p.oidc.SignInAs(person)
			res := signInWith(t, env.Client(), "oidc", "")
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, `data-problem="failed"`) {
				t.Errorf("%s: status %d\n%s", name, res.StatusCode, res.Text())
			}
		}
		if accountCount(t, env) != 0 {
			t.Fatal("a refused answer made an account")
		}

		// A replayed code: the callback again (its state is spent), and
		// the code under a fresh state (the provider refuses it).
		for _, provider := range []string{"oidc", "github"} {
			person := &oauthtest.Person{Subject: strconv.Itoa(500 + len(provider)), Username: "r" + provider, Email: provider + "@example.org", EmailVerified: true}
			if provider == "oidc" {
				p.oidc.SignInAs(person)
			} else {
				p.github.SignInAs(person)
			}
			victim := env.Client()
			start := victim.Get("/auth/" + provider)
			back := oauthtest.Authorize(t, start.Location())
			want303(t, victim.Get(back), "/dashboard", provider+" first use of the code")
			wantProblem(t, victim.Get(back), http.StatusBadRequest, "state")

			attacker := env.Client()
			fresh, _ := url.Parse(attacker.Get("/auth/" + provider).Location())
			old, _ := url.Parse(back)
			q := old.Query()
			q.Set("state", fresh.Query().Get("state"))
			old.RawQuery = q.Encode()
			wantProblem(t, attacker.Get(old.RequestURI()), http.StatusBadRequest, "failed")
			if res := attacker.Get("/dashboard"); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s: a replayed code signed in", provider)
			}
		}

		// Consent denied at the provider.
		p.github.Deny()
		wantProblem(t, signInWith(t, env.Client(), "github", ""), http.StatusForbidden, "denied")
	})
}

func TestOAuthProviderDown(t *testing.T) {
	eachDBWith(t, "", func(t *testing.T, env *apptest.Env, p providers) {
		// Down before discovery: the start says so.
		p.oidc.Stop()
		wantProblem(t, env.Client().Get("/auth/oidc"), http.StatusServiceUnavailable, "unavailable")

		// Down between the sign-in page and the callback.
		p.github.SignInAs(jane())
		c := env.Client()
		start := c.Get("/auth/github")
		back := oauthtest.Authorize(t, start.Location())
		p.github.Server.Close()
		wantProblem(t, c.Get(back), http.StatusServiceUnavailable, "unavailable")
		if accountCount(t, env) != 0 {
			t.Fatal("an account was made")
		}
	})
}

func TestOAuthStartKeepsNextLocal(t *testing.T) {
	p := startProviders(t)
	env := apptest.New(t, "sqlite", p.site(""))
	p.oidc.SignInAs(jane())
	want303(t, signInWith(t, env.Client(), "oidc", "//evil.example/x"), "/dashboard", "next to another site")
}

func TestOAuthAccountSetsFirstPassword(t *testing.T) {
	eachDBWith(t, "", func(t *testing.T, env *apptest.Env, p providers) {
		p.oidc.SignInAs(jane())
		c := env.Client()
		want303(t, signInWith(t, c, "oidc", ""), "/dashboard", "sign-up")
		if res := c.Get("/settings"); !strings.Contains(res.Body, `id="no-password-yet"`) || strings.Contains(res.Body, `name="current_password"`) {
			t.Fatalf("settings of an account without a password:\n%s", res.Body)
		}
		want303(t, c.Post("/settings/password", url.Values{"password": {"my first password"}}), "/settings", "first password")
		c = env.Client()
		c.SignIn("jane.doe", "my first password")
		if res := c.Get("/settings"); !strings.Contains(res.Body, `name="current_password"`) {
			t.Fatal("once set, the current password is asked for")
		}
		if res := c.Post("/settings/password", url.Values{"password": {"another password"}}); res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("changed the password without the current one: %d", res.StatusCode)
		}
	})
}

// An identity is the first factor only: an account with two-factor on
// gives its code after the provider, and lands on the page it asked for.
func TestOAuthSignInWithTwoFactor(t *testing.T) {
	eachDBWith(t, "", func(t *testing.T, env *apptest.Env, p providers) {
		ctx := context.Background()
		p.oidc.SignInAs(jane())
		c := env.Client()
		want303(t, signInWith(t, c, "oidc", ""), "/dashboard", "sign-up")
		u, _ := env.Users.GetByUsername(ctx, "jane.doe")
		setup, err := env.Users.BeginTOTP(ctx, models.Actor{User: u}, "Webmin")
		if err != nil {
			t.Fatal(err)
		}
		code, _ := totp.GenerateCode(setup.Secret, env.Clock.Now())
		if _, err := env.Users.ConfirmTOTP(ctx, models.Actor{User: u}, code); err != nil {
			t.Fatal(err)
		}

		c = env.Client()
		p.oidc.SignInAs(jane())
		want303(t, signInWith(t, c, "oidc", "/settings/security"), "/login/2fa", "identity sign-in with two-factor on")
		if res := c.Get("/dashboard"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("signed in before the second factor: %d", res.StatusCode)
		}
		if res := c.Post("/login/2fa", url.Values{"code": {"000000"}}); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a wrong code: %d", res.StatusCode)
		}
		env.Clock.Advance(31 * time.Second) // the next code: each works once
		code, _ = totp.GenerateCode(setup.Secret, env.Clock.Now())
		want303(t, c.Post("/login/2fa", url.Values{"code": {code}}), "/settings/security", "second factor after the identity")
		if res := c.Get("/settings/security"); res.StatusCode != http.StatusOK || !strings.Contains(res.Body, `data-provider="oidc"`) {
			t.Fatalf("security page after two-factor: %d", res.StatusCode)
		}
		wantEvents(t, env, u.ID, models.EvLogin)
	})
}
