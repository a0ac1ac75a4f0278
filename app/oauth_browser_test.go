package app_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/oauth"
	"github.com/webmin/webmin/oauth/oauthtest"
)

// TestBrowserSignInWithProvider: a visitor signs up with the OpenID Connect
// button on /login (through the real provider and back), finds the
// identity in Settings › Security, signs out and back in with the same
// button; the login page with its buttons on a phone and in dark mode, and
// the page a forged callback gets.
func TestBrowserSignInWithProvider(t *testing.T) {
	op := oauthtest.StartOIDC(t)
	// The callback address the provider sends the browser back to is
	// BASE_URL/auth/oidc/callback: the site's own address.
	s := startSiteOnLocalhost(t, "sqlite", func(cfg *app.Config) {
		cfg.OAuth = []oauth.Config{op.Provider("oidc", cfg.BaseURL)}
	})

	jane := s.openBrowser("jane")
	jane.wantStatus("login", jane.open("login-with-providers", "/login"), 200)
	if got := jane.attr(`a[data-provider="oidc"]`, "href"); got != "/auth/oidc" {
		jane.fail("the provider button goes to %q", got)
	}
	op.SignInAs(&oauthtest.Person{Subject: "jane-1", Email: "jane@example.org", EmailVerified: true,
		Username: "jane.doe", Name: "Jane Doe"})
	jane.wantStatus("sign up through the provider", jane.click("dashboard-after-provider", `a[data-provider="oidc"]`), 200)
	jane.wantPath("/dashboard")
	jane.wantFlash("success", "Welcome, jane.doe!")

	jane.wantStatus("security", jane.open("security", "/settings/security"), 200)
	if got := jane.text(`#identities li.identity[data-provider="oidc"] strong`); got != "Example ID" {
		jane.fail("the linked identity shows as %q", got)
	}
	if jane.count(".identity-last") != 1 || jane.count("form.unlink-form") != 0 {
		jane.fail("the only way in can be unlinked")
	}

	jane.click("signed-out", `form[action="/logout"] button`)
	op.SignInAs(&oauthtest.Person{Subject: "jane-1", Email: "jane@example.org", EmailVerified: true, Username: "jane.doe"})
	jane.open("login-again", "/login")
	jane.wantStatus("sign in again", jane.click("dashboard-returning", `a[data-provider="oidc"]`), 200)
	jane.wantPath("/dashboard")
	jane.wantFlash("success", "Welcome back, Jane Doe!")

	// The console's account page lists the identity; an admin may unlink it
	// (not here: it is jane's only way in, so the page says so).
	s.User("root", 10)
	jd, err := s.Users.GetByUsername(context.Background(), "jane.doe")
	if err != nil {
		t.Fatal(err)
	}
	admin := s.openBrowser("admin")
	admin.signIn("root", apptest.Password, "/dashboard")
	admin.wantStatus("console account page", admin.open("console-identities", "/admin/users/"+strconv.FormatInt(jd.ID, 10)), 200)
	if admin.count(`#user-identities tr.identity-row[data-provider="oidc"]`) != 1 {
		admin.fail("the console doesn't list jane's identity")
	}

	phone := s.openBrowser("phone")
	phone.emulatePhone()
	phone.open("login-providers-phone", "/login")
	if w := phone.scrollWidth(); w > 390 {
		phone.fail("the login page is %dpx wide on a 390px screen", w)
	}
	phone.open("register-providers-phone", "/register")
	dark := s.openBrowser("dark")
	dark.emulateDark()
	dark.open("login-providers-dark", "/login")
	dark.wantStatus("forged callback", dark.open("forged-callback-dark", "/auth/oidc/callback?state=forged&code=x"), 400)
	if got := dark.attr("section.oauth-error", "data-problem"); got != "state" {
		dark.fail("a forged callback shows the %q page", got)
	}
}
