package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

func ctx() context.Context { return context.Background() }

func wantStatus(t *testing.T, res *apptest.Response, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d\n%s", res.Request.Method, res.Request.URL, res.StatusCode, status, res.Body)
	}
}

func wantRedirect(t *testing.T, res *apptest.Response, to string) {
	t.Helper()
	if res.StatusCode != http.StatusSeeOther || res.Location() != to {
		t.Fatalf("%s %s: %d → %q, want 303 → %q\n%s", res.Request.Method, res.Request.URL, res.StatusCode, res.Location(), to, res.Body)
	}
}

func wantContains(t *testing.T, res *apptest.Response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(res.Body, p) {
			t.Errorf("%s %s: body lacks %q\n%s", res.Request.Method, res.Request.URL, p, res.Body)
		}
	}
}

func wantNotContains(t *testing.T, res *apptest.Response, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(res.Body, p) {
			t.Errorf("%s %s: body has %q", res.Request.Method, res.Request.URL, p)
		}
	}
}

func TestHomeShowsOnlineBadgeAndTotal(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("ann", 1)
		env.User("bob", 1)
		gone := env.User("gone", 1)
		if _, err := env.Users.Delete(ctx(), models.System, gone.ID); err != nil {
			t.Fatal(err)
		}
		member := env.SignedIn("ann")
		member.Get("/dashboard")
		guest := env.Client()
		res := guest.Get("/")
		wantStatus(t, res, http.StatusOK)
		// The counts are cached for a moment: move the clock past that.
		env.Clock.Advance(3e9)
		res = guest.Get("/")
		wantContains(t, res,
			`<span id="online-badge" class="badge badge-online" data-users="1" data-guests="1">`,
			`<span id="total-users" class="badge" data-total="2">`,
			"1 user online, 1 guest")
	})
}

func TestRegister(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		c := env.Client()
		res := c.Post("/register", url.Values{"username": {"Alice"}, "email": {"alice@example.com"}, "password": {"password123"}})
		wantRedirect(t, res, "/dashboard")
		res = c.Get("/dashboard")
		wantStatus(t, res, http.StatusOK)
		wantContains(t, res, `<div class="flash flash-success" role="status">Welcome, Alice!</div>`)
		res = c.Get("/dashboard")
		wantNotContains(t, res, "Welcome, Alice!") // a flash shows once

		t.Run("invalid input re-renders with values kept", func(t *testing.T) {
			c := env.Client()
			res := c.Post("/register", url.Values{"username": {"x"}, "email": {"not-an-email"}, "password": {"short"}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `value="x"`, `value="not-an-email"`, `id="e-username"`, `id="e-email"`, `id="e-password"`,
				"Enter a valid e-mail address.", "Must be at least 8 characters.")
			wantNotContains(t, res, `value="short"`)
		})
		t.Run("duplicate in another case", func(t *testing.T) {
			res := env.Client().Post("/register", url.Values{"username": {"ALICE"}, "email": {"other@example.com"}, "password": {"password123"}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, "This username is already taken.", `value="ALICE"`)
			res = env.Client().Post("/register", url.Values{"username": {"alice2"}, "email": {"ALICE@example.COM"}, "password": {"password123"}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, "An account with this e-mail address already exists.")
		})
		t.Run("e-mail is required", func(t *testing.T) {
			res := env.Client().Post("/register", url.Values{"username": {"noemail"}, "password": {"password123"}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			wantContains(t, res, `id="e-email"`)
		})
		t.Run("signed-in people are sent to their dashboard", func(t *testing.T) {
			wantRedirect(t, c.Get("/register"), "/dashboard")
		})
	})
}

func TestRegistrationClosed(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		c := env.Client()
		res := c.Get("/register")
		wantStatus(t, res, http.StatusOK)
		wantContains(t, res, "Registration is closed")
		res = c.Post("/register", url.Values{"username": {"alice"}, "email": {"a@example.com"}, "password": {"password123"}})
		wantStatus(t, res, http.StatusForbidden)
		if _, err := env.Users.GetByUsername(ctx(), "alice"); err == nil {
			t.Error("account created while registration is closed")
		}
	}, func(c *app.Config) { c.Registration = app.RegistrationClosed })
}

func TestLogin(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("Carol", 1)
		const generic = "That username or e-mail and password don&#39;t match an account."

		t.Run("by username in another case", func(t *testing.T) {
			c := env.Client()
			wantRedirect(t, c.Post("/login", url.Values{"login": {"carol"}, "password": {apptest.Password}}), "/dashboard")
			wantContains(t, c.Get("/dashboard"), "Welcome back, Carol!")
		})
		t.Run("by e-mail in another case, to the local next page", func(t *testing.T) {
			c := env.Client()
			res := c.Post("/login", url.Values{"login": {"CAROL@Example.com"}, "password": {apptest.Password}, "next": {"/settings?tab=1"}})
			wantRedirect(t, res, "/settings?tab=1")
		})
		for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", "http:/x"} {
			t.Run("refuses next "+next, func(t *testing.T) {
				c := env.Client()
				res := c.Post("/login", url.Values{"login": {"carol"}, "password": {apptest.Password}, "next": {next}})
				wantRedirect(t, res, "/dashboard")
			})
		}
		t.Run("wrong password and unknown account get the same 401", func(t *testing.T) {
			res := env.Client().Post("/login", url.Values{"login": {"carol"}, "password": {"wrong password"}})
			wantStatus(t, res, http.StatusUnauthorized)
			wantContains(t, res, generic, `value="carol"`)
			wantNotContains(t, res, "wrong password")
			res = env.Client().Post("/login", url.Values{"login": {"nobody"}, "password": {"wrong password"}})
			wantStatus(t, res, http.StatusUnauthorized)
			wantContains(t, res, generic)
			res = env.Client().Post("/login", url.Values{})
			wantStatus(t, res, http.StatusUnauthorized)
		})
		t.Run("the form keeps a local next", func(t *testing.T) {
			res := env.Client().Get("/login?next=/settings")
			wantContains(t, res, `name="next" value="/settings"`)
			res = env.Client().Get("/login?next=//evil.example")
			wantNotContains(t, res, "evil.example")
		})
	})
}

func TestSignedOutIsSentToLoginWithNext(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		c := env.Client()
		wantRedirect(t, c.Get("/dashboard"), "/login?next=%2Fdashboard")
		wantRedirect(t, c.Get("/settings"), "/login?next=%2Fsettings")
		wantRedirect(t, c.Post("/settings", url.Values{"name": {"x"}}), "/login?next=%2Fsettings")
	})
}

func TestLogout(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("dave", 1)
		c := env.SignedIn("dave")
		wantStatus(t, c.Get("/dashboard"), http.StatusOK)
		wantRedirect(t, c.Post("/logout", nil), "/")
		wantContains(t, c.Get("/"), "You are signed out.")
		wantRedirect(t, c.Get("/dashboard"), "/login?next=%2Fdashboard")
	})
}

func TestCSRF(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("erin", 1)
		c := env.Client()
		c.CSRF()
		form := url.Values{"login": {"erin"}, "password": {apptest.Password}}
		wantStatus(t, c.PostRaw("/login", form), http.StatusForbidden)
		form.Set("_csrf", "forged.token")
		wantStatus(t, c.PostRaw("/login", form), http.StatusForbidden)
		// A token from another visitor (not matching this one's cookie) fails too.
		form.Set("_csrf", env.Client().CSRF())
		wantStatus(t, c.PostRaw("/login", form), http.StatusForbidden)

		signed := env.SignedIn("erin")
		res := signed.PostRaw("/settings", url.Values{"name": {"Hacked"}})
		wantStatus(t, res, http.StatusForbidden)
		wantContains(t, res, "not sent from this site")
		res = signed.PostRaw("/logout", nil)
		wantStatus(t, res, http.StatusForbidden)
		if u, _ := env.Users.GetByUsername(ctx(), "erin"); u.Name == "Hacked" {
			t.Error("settings changed without a CSRF token")
		}
		wantContains(t, signed.Get("/settings"), `name="_csrf" value="`+signed.Cookie("wm_csrf")+`"`)
	})
}

func TestSignInStartsANewSession(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("fay", 1)
		c := env.Client()
		c.Post("/logout", nil) // leaves an anonymous session holding a flash
		c.Get("/login")
		before := c.Cookie("wm_session")
		c.SignIn("fay", apptest.Password)
		after := c.Cookie("wm_session")
		if after == "" || after == before {
			t.Fatalf("session cookie not replaced at sign-in: before %q after %q", before, after)
		}
		// The cookie is HttpOnly and SameSite=Lax.
		res := env.Client().Post("/login", url.Values{"login": {"fay"}, "password": {apptest.Password}})
		var setCookie string
		for _, v := range res.Header.Values("Set-Cookie") {
			if strings.HasPrefix(v, "wm_session=") {
				setCookie = v
			}
		}
		if !strings.Contains(setCookie, "HttpOnly") || !strings.Contains(setCookie, "SameSite=Lax") || strings.Contains(strings.ToLower(setCookie), "secure") {
			t.Errorf("session cookie attributes: %s", setCookie)
		}
		if strings.Contains(strings.ToLower(setCookie), "expires") {
			t.Errorf("without remember me the cookie should end with the browser: %s", setCookie)
		}
		res = env.Client().Post("/login", url.Values{"login": {"fay"}, "password": {apptest.Password}, "remember": {"1"}})
		if v := strings.Join(res.Header.Values("Set-Cookie"), "\n"); !strings.Contains(strings.ToLower(v), "expires") {
			t.Errorf("remember me should set an expiry: %s", v)
		}
	})
}

func TestSecureCookiesBehindHTTPS(t *testing.T) {
	env := apptest.New(t, "sqlite", func(c *app.Config) { c.BaseURL = "https://accounts.example.com" })
	env.User("gus", 1)
	res := env.Client().Post("/login", url.Values{"login": {"gus"}, "password": {apptest.Password}})
	for _, v := range res.Header.Values("Set-Cookie") {
		if !strings.Contains(strings.ToLower(v), "secure") {
			t.Errorf("cookie without Secure behind https: %s", v)
		}
	}
}

func TestSessionsEndOnBanAndPasswordChange(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("hal", 1)
		hal := env.User("hank", 1)

		t.Run("ban", func(t *testing.T) {
			c := env.SignedIn("hank")
			wantStatus(t, c.Get("/dashboard"), http.StatusOK)
			if _, err := env.Users.Block(ctx(), models.System, hal.ID, "spam"); err != nil {
				t.Fatal(err)
			}
			wantRedirect(t, c.Get("/dashboard"), "/login?next=%2Fdashboard")
			res := c.Get("/login")
			wantContains(t, res, "Your session has ended")
			res = c.Post("/login", url.Values{"login": {"hank"}, "password": {apptest.Password}})
			wantStatus(t, res, http.StatusForbidden)
			wantContains(t, res, "banned", "spam")
		})

		t.Run("password change ends the other sessions", func(t *testing.T) {
			laptop := env.SignedIn("hal")
			phone := env.SignedIn("hal")
			res := laptop.Post("/settings/password", url.Values{"current_password": {apptest.Password}, "password": {"a brand new password"}})
			wantRedirect(t, res, "/settings")
			wantStatus(t, laptop.Get("/dashboard"), http.StatusOK)
			wantRedirect(t, phone.Get("/dashboard"), "/login?next=%2Fdashboard")
			phone.SignIn("hal", "a brand new password")
		})

		t.Run("sign out everywhere", func(t *testing.T) {
			env.User("ida", 1)
			a, b := env.SignedIn("ida"), env.SignedIn("ida")
			wantRedirect(t, a.Post("/settings/sessions/revoke", nil), "/login")
			wantContains(t, a.Get("/login"), "You are signed out everywhere.")
			wantRedirect(t, a.Get("/dashboard"), "/login?next=%2Fdashboard")
			wantRedirect(t, b.Get("/dashboard"), "/login?next=%2Fdashboard")
		})
	})
}
