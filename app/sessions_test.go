package app_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/webmin/webmin/app/apptest"
)

// A session cookie copied before sign-out no longer works after it: the
// server-side record is gone.
func TestCopiedSessionCookieDiesAtSignOut(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("ann", 1)
		member := env.SignedIn("ann")
		wantStatus(t, member.Get("/dashboard"), http.StatusOK)
		copied := member.Cookie("wm_session")

		wantRedirect(t, member.Post("/logout", nil), "/")

		thief := env.Client()
		thief.SetCookie("wm_session", copied)
		wantRedirect(t, thief.Get("/dashboard"), "/login?next=%2Fdashboard")
	})
}

// A CSRF token minted for an anonymous visitor does not pass in a
// signed-in session, even sent in both the cookie and the form.
func TestAnonymousCSRFTokenFailsInSignedInSession(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("root", 10)
		anonymous := env.Client().CSRF()
		if anonymous == "" {
			t.Fatal("no CSRF token for a visitor")
		}
		root := env.SignedIn("root")
		own := root.CSRF()
		if own == anonymous {
			t.Fatal("the session kept the visitor's token")
		}
		root.SetCookie("wm_csrf", anonymous)
		wantStatus(t, root.Post("/settings/sessions/revoke", url.Values{"_csrf": {anonymous}}), http.StatusForbidden)
		// The session is untouched and its own token still works.
		root.SetCookie("wm_csrf", own)
		wantStatus(t, root.Get("/dashboard"), http.StatusOK)
		wantRedirect(t, root.Post("/settings/sessions/revoke", url.Values{"_csrf": {own}}), "/login")
	})
}
