package app_test

import (
	"strings"
	"testing"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// TestBrowserMailJourney (issue 6), with REGISTRATION=confirm and no mail
// server: sign up → sign-in refused → "send the link again" → an admin
// reads the link in the outbox → confirmed → signed in; then a forgotten
// password → the reset link from the outbox → a new password → dashboard,
// and the used link refused.
func TestBrowserMailJourney(t *testing.T) {
	for _, db := range modelstest.DBNames {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			s := startSite(t, db, confirmMode)
			s.User("root", models.LevelSuperadmin)
			ben := s.openBrowser("ben")
			admin := s.openBrowser("admin")
			admin.signIn("root", "correct horse battery", "/dashboard")

			// Sign up: no session yet, a flash to check the mail.
			ben.open("register", "/register")
			ben.fill("#f-username", "ben")
			ben.fill("#f-email", "ben@example.com")
			ben.fill("#f-password", "benjamin franklin")
			ben.wantStatus("sign up", ben.click("signed-up", `form[action="/register"] button[type=submit]`), 200)
			ben.wantPath("/login")
			ben.wantFlash("info", "Almost done: we sent a confirmation link to ben@example.com. Open it to activate your account.")

			// Sign-in is refused, with a button to send the link again.
			ben.fill("#f-login", "ben")
			ben.fill("#f-password", "benjamin franklin")
			ben.wantStatus("sign in unconfirmed", ben.click("sign-in-refused", `form[action="/login"] button[type=submit]`), 403)
			ben.wantStatus("resend", ben.click("check-mail", `form[action="/confirm/resend"] button[type=submit]`), 200)
			ben.wantPath("/confirm/sent")
			if got := ben.text("h1"); got != "Check your mail" {
				ben.fail("heading %q", got)
			}

			// The admin finds the newest link in the outbox.
			link := outboxLink(admin, "outbox-confirm", "ben@example.com")
			ben.wantStatus("confirm", ben.open("confirmed", link), 200)
			ben.wantPath("/login?login=ben")
			ben.wantFlash("success", "Your e-mail address is confirmed. You can sign in now.")
			if got := ben.value("#f-login"); got != "ben" {
				ben.fail("the sign-in form is not filled in: %q", got)
			}
			ben.fill("#f-password", "benjamin franklin")
			ben.wantStatus("sign in", ben.click("signed-in", `form[action="/login"] button[type=submit]`), 200)
			ben.wantPath("/dashboard")
			ben.wantStatus("sign out", ben.click("signed-out", `.site-header form[action="/logout"] button`), 200)

			// Forgotten password, from the sign-in page.
			ben.open("login-again", "/login")
			ben.wantStatus("forgot", ben.click("forgot", `a[href="/password/forgot"]`), 200)
			ben.fill("#f-email", "ben@example.com")
			ben.wantStatus("ask for a link", ben.click("forgot-sent", `form[action="/password/forgot"] button[type=submit]`), 200)
			ben.wantPath("/password/forgot/sent")

			link = outboxLink(admin, "outbox-reset", "ben@example.com")
			if !strings.HasPrefix(link, "/password/reset/") {
				ben.fail("the newest link is %q", link)
			}
			ben.wantStatus("reset form", ben.open("reset-form", link), 200)
			ben.fill("#f-password", "a new kite string")
			ben.fill("#f-password_confirm", "a new kite strinG")
			ben.wantStatus("mismatch", ben.click("reset-mismatch", `form[action^="/password/reset/"] button[type=submit]`), 422)
			if got := ben.text("#e-password_confirm"); got != "The two passwords don't match." {
				ben.fail("mismatch error %q", got)
			}
			ben.fill("#f-password", "a new kite string")
			ben.fill("#f-password_confirm", "a new kite string")
			ben.wantStatus("reset", ben.click("reset-done", `form[action^="/password/reset/"] button[type=submit]`), 200)
			ben.wantPath("/dashboard")
			ben.wantFlash("success", "Your password is changed and you are signed in. Every other device has been signed out.")

			ben.wantStatus("used link", ben.open("link-used", link), 410)
			if got := ben.text("h1"); got != "This link doesn't work" {
				ben.fail("heading %q", got)
			}
			ben.wantStatus("made-up link", ben.open("link-unknown", "/password/reset/"+strings.Repeat("x", 43)), 404)
		})
	}
}

// outboxLink opens the outbox as an admin and returns the path of the
// link in the newest message to an address.
func outboxLink(admin *browser, step, to string) string {
	admin.t.Helper()
	// The queue prepares messages in the background: let it finish first.
	if err := admin.site.Server.Mailer.Flush(admin.ctx); err != nil {
		admin.fail("flush the mail queue: %v", err)
	}
	admin.wantStatus("outbox", admin.open(step, "/admin/outbox"), 200)
	if got := admin.text("article.mail .mail-to"); !strings.HasPrefix(got, to) {
		admin.fail("the newest message is to %q, want %s", got, to)
	}
	href := admin.attr("article.mail .mail-text a", "href")
	path, ok := strings.CutPrefix(href, admin.site.Config.BaseURL)
	if !ok {
		admin.fail("the link %q is not under BASE_URL %s", href, admin.site.Config.BaseURL)
	}
	return path
}
