package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// A leaked key must not become a console takeover: a key or token may not
// change its own account's password, e-mail address or level (403 naming
// the console), while its other changes, and the same changes made to
// other accounts, still work.
func TestAPIKeyCantChangeItsOwnAccountsCredentials(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		admin := env.User("admin", 9)
		bob := env.User("bob", 1)
		key := env.APIKey("admin")
		c := env.Client()
		self := fmt.Sprint("/api/v1/users/", admin.ID)
		for _, body := range []map[string]any{
			{"password": "a brand new password"},
			{"email": "thief@example.net"},
			{"email": nil},
			{"level": 8},
			{"name": "Still me", "password": "a brand new password"},
		} {
			e := wantAPIError(t, c.API("PATCH", self, key, body), http.StatusForbidden, "")
			if !strings.Contains(e.Error.Message, "console") {
				t.Fatalf("%v: the refusal doesn't name the console: %q", body, e.Error.Message)
			}
		}
		got := mustGet(t, env, "admin")
		if got.EmailAddress() != "admin@example.com" || got.Level != 9 {
			t.Fatalf("own account changed: %+v", got)
		}
		if _, err := env.Users.Login(context.Background(), models.Meta{}, "admin", apptest.Password); err != nil {
			t.Fatalf("own password changed: %v", err)
		}
		// Other fields of its own account, and other accounts' credentials: fine.
		oneOf(t, c.API("PATCH", self, key, map[string]any{"name": "Admin"}), http.StatusOK)
		oneOf(t, c.API("PATCH", fmt.Sprint("/api/v1/users/", bob.ID), key,
			map[string]any{"password": "bob's new password", "email": "bob@example.org", "level": 2}), http.StatusOK)
	})
}

func TestAPIReadOnlyKeyOnlyReads(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		admin := env.User("admin", 9)
		bob := env.User("bob", 1)
		_, key, err := env.Users.CreateKey(context.Background(), models.Actor{User: admin},
			models.NewAPIKey{Name: "reports", Scope: "read"})
		if err != nil {
			t.Fatal(err)
		}
		c := env.Client()
		listOf(t, c.API("GET", "/api/v1/users", key, nil))
		if k := oneOf(t, c.API("GET", "/api/v1/auth/token", key, nil), http.StatusOK); k["scope"] != "read" || k["kind"] != "key" {
			t.Fatalf("the key: %v", k)
		}
		bobPath := fmt.Sprint("/api/v1/users/", bob.ID)
		for _, r := range []struct{ method, path string }{
			{"PATCH", bobPath}, {"DELETE", bobPath}, {"POST", "/api/v1/users"}, {"POST", bobPath + "/block"},
			{"PUT", bobPath + "/password"},
		} {
			e := wantAPIError(t, c.API(r.method, r.path, key, map[string]any{}), http.StatusForbidden, "")
			if !strings.Contains(e.Error.Message, "scope") {
				t.Fatalf("%s %s: %q", r.method, r.path, e.Error.Message)
			}
		}
		if got := mustGet(t, env, "bob"); got.Type != models.TypeActive {
			t.Fatalf("a read-only key changed bob: %+v", got)
		}
		// It may still sign itself out.
		wantAPIStatus(t, c.API("DELETE", "/api/v1/auth/token", key, nil), http.StatusNoContent)
		wantAPIError(t, c.API("GET", "/api/v1/users/me", key, nil), http.StatusUnauthorized, "")
	})
}

func TestAPITokenFromLoginAndPassword(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		bob := env.User("bob", 1)
		other := env.User("other", 1)
		c := env.Client()
		res := c.API("POST", "/api/v1/auth/token", "", map[string]any{"login": "BOB", "password": apptest.Password,
			"name": "phone", "expires_in": "30d"})
		k := oneOf(t, res, http.StatusCreated)
		token, _ := k["token"].(string)
		if !strings.HasPrefix(token, "wm_") || k["kind"] != "token" || k["scope"] != "read write" || k["name"] != "phone" || k["expires_at"] == nil {
			t.Fatalf("token: %v", k)
		}
		if owner := k["owner"].(map[string]any); owner["id"] != float64(bob.ID) {
			t.Fatalf("owner %v", owner)
		}
		if me := oneOf(t, c.API("GET", "/api/v1/users/me", token, nil), http.StatusOK); me["username"] != "bob" || me["email"] != "bob@example.com" {
			t.Fatalf("me: %v", me)
		}
		// A member's token acts as the member: signing itself out
		// everywhere, yes; editing accounts (a console action), no.
		oneOf(t, c.API("POST", fmt.Sprint("/api/v1/users/", bob.ID, "/sessions/revoke"), token, nil), http.StatusOK)
		wantAPIError(t, c.API("PATCH", fmt.Sprint("/api/v1/users/", bob.ID), token, map[string]any{"name": "Bob"}), http.StatusForbidden, "")
		wantAPIError(t, c.API("PATCH", fmt.Sprint("/api/v1/users/", other.ID), token, map[string]any{"name": "x"}), http.StatusForbidden, "")
		wantAPIError(t, c.API("PATCH", fmt.Sprint("/api/v1/users/", bob.ID), token, map[string]any{"password": "a brand new password"}), http.StatusForbidden, "")
		wantAPIError(t, c.API("GET", "/api/v1/events", token, nil), http.StatusForbidden, "")
		// A token can't make tokens... but an app may ask again with the password.
		read := oneOf(t, c.API("POST", "/api/v1/auth/token", "", map[string]any{"login": "bob@example.com", "password": apptest.Password,
			"scope": "read"}), http.StatusCreated)
		e := wantAPIError(t, c.API("POST", fmt.Sprint("/api/v1/users/", bob.ID, "/sessions/revoke"), read["token"].(string), nil), http.StatusForbidden, "")
		if !strings.Contains(e.Error.Message, "scope") {
			t.Fatalf("read-only token: %q", e.Error.Message)
		}

		// Bad requests.
		wantAPIError(t, c.API("POST", "/api/v1/auth/token", "", map[string]any{"login": "bob"}), http.StatusUnprocessableEntity, "password")
		wantAPIError(t, c.API("POST", "/api/v1/auth/token", "", map[string]any{"login": "bob", "password": apptest.Password, "scope": "admin"}),
			http.StatusUnprocessableEntity, "scope")
		wantAPIError(t, c.API("POST", "/api/v1/auth/token", "", map[string]any{"login": "bob", "password": apptest.Password, "expires_in": "soon"}),
			http.StatusUnprocessableEntity, "expires_in")
		wantAPIError(t, c.API("POST", "/api/v1/auth/token", "", "login=bob"), http.StatusBadRequest, "")
		res = c.API("POST", "/api/v1/auth/token", "", map[string]any{"login": "bob", "password": "wrong password"})
		wantAPIError(t, res, http.StatusUnauthorized, "")
		// Wrong passwords lock the account as on the sign-in form.
		for range 10 {
			res = c.API("POST", "/api/v1/auth/token", "", map[string]any{"login": "bob", "password": "wrong password"})
		}
		wantAPIError(t, res, http.StatusTooManyRequests, "")
		wantAPIError(t, c.API("POST", "/api/v1/auth/token", "", map[string]any{"login": "bob", "password": apptest.Password}),
			http.StatusTooManyRequests, "")
		// A banned account gets no token.
		if _, err := env.Users.Block(context.Background(), models.System, other.ID, "spam"); err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, c.API("POST", "/api/v1/auth/token", "", map[string]any{"login": "other", "password": apptest.Password}),
			http.StatusForbidden, "")
		// Expired: 401.
		env.Clock.Advance(31 * 24 * time.Hour)
		wantAPIError(t, c.API("GET", "/api/v1/users/me", token, nil), http.StatusUnauthorized, "")
	})
}

func TestSettingsTokens(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("bob", 1)
		env.User("eve", 1)
		bob := env.SignedIn("bob")
		wantStatus(t, bob.Get("/settings/tokens"), http.StatusOK)
		wantStatus(t, bob.Post("/settings/tokens", url.Values{"name": {""}, "scope": {"read"}}), http.StatusUnprocessableEntity)
		wantStatus(t, bob.Post("/settings/tokens", url.Values{"name": {"x"}, "scope": {"all"}}), http.StatusUnprocessableEntity)
		wantStatus(t, bob.Post("/settings/tokens", url.Values{"name": {"x"}, "expires": {"forever"}}), http.StatusUnprocessableEntity)
		wantStatus(t, bob.PostRaw("/settings/tokens", url.Values{"name": {"x"}}), http.StatusForbidden) // no CSRF token
		wantRedirect(t, bob.Post("/settings/tokens", url.Values{"name": {"script"}, "scope": {"read"}, "expires": {"7d"}}), "/settings/tokens")
		page := bob.Get("/settings/tokens")
		m := regexp.MustCompile(`data-key="(wm_[^"]+)"`).FindStringSubmatch(page.Body)
		if m == nil {
			t.Fatalf("the new token isn't shown:\n%s", page.Body)
		}
		token := m[1]
		wantContains(t, page, `data-scope="read"`, "script")
		wantNotContains(t, bob.Get("/settings/tokens"), token) // shown once
		if me := oneOf(t, env.Client().API("GET", "/api/v1/users/me", token, nil), http.StatusOK); me["username"] != "bob" {
			t.Fatalf("me: %v", me)
		}
		// Eve can't revoke bob's token; bob can.
		keys, err := env.Users.APIKeys(context.Background(), models.APIKeyFilter{Owner: mustGet(t, env, "bob").ID})
		if err != nil || len(keys.Items) != 1 || keys.Items[0].Kind != models.KindToken {
			t.Fatalf("bob's tokens: %+v %v", keys.Items, err)
		}
		revoke := fmt.Sprint("/settings/tokens/", keys.Items[0].ID, "/revoke")
		wantStatus(t, env.SignedIn("eve").Post(revoke, nil), http.StatusNotFound)
		oneOf(t, env.Client().API("GET", "/api/v1/users/me", token, nil), http.StatusOK)
		wantRedirect(t, bob.Post(revoke, nil), "/settings/tokens")
		wantAPIError(t, env.Client().API("GET", "/api/v1/users/me", token, nil), http.StatusUnauthorized, "")
		wantRedirect(t, env.Client().Get("/settings/tokens"), "/login?next=%2Fsettings%2Ftokens")
	})
}

// The console's key form takes a scope and an expiry too.
func TestAdminKeyWithScopeAndExpiry(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 9)
		bob := env.User("bob", 1)
		admin := env.SignedIn("admin")
		wantStatus(t, admin.Post("/admin/keys", url.Values{"name": {"x"}, "expires": {"1000y"}}), http.StatusUnprocessableEntity)
		wantRedirect(t, admin.Post("/admin/keys", url.Values{"name": {"reports"}, "scope": {"read"}, "expires": {"30d"}}), "/admin/keys")
		page := admin.Get("/admin/keys")
		m := regexp.MustCompile(`data-key="(wm_[^"]+)"`).FindStringSubmatch(page.Body)
		if m == nil {
			t.Fatalf("no new key:\n%s", page.Body)
		}
		wantContains(t, page, `data-scope="read"`)
		wantAPIError(t, env.Client().API("POST", fmt.Sprint("/api/v1/users/", bob.ID, "/block"), m[1], nil), http.StatusForbidden, "")
		env.Clock.Advance(31 * 24 * time.Hour)
		wantContains(t, env.SignedIn("admin").Get("/admin/keys"), "Expired") // the session of a month ago has ended
		wantAPIError(t, env.Client().API("GET", "/api/v1/users", m[1], nil), http.StatusUnauthorized, "")
	})
}

// With two-factor on, a token needs the code too: none is a 422 naming
// "code", a wrong one is a 401 counted like a wrong password, a right
// one (or a recovery code, once) makes the token.
func TestAPITokenWithTwoFactor(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("ada", 1)
		secret, recovery := env.TurnOnMFA("ada")
		c := env.Client()
		ask := func(code any) *apptest.Response {
			body := map[string]any{"login": "ada", "password": apptest.Password}
			if code != nil {
				body["code"] = code
			}
			return c.API("POST", "/api/v1/auth/token", "", body)
		}
		wantAPIError(t, ask(nil), http.StatusUnprocessableEntity, "code")
		wantAPIError(t, ask("000000"), http.StatusUnauthorized, "")
		// The right password with no code makes nothing.
		if keys, err := env.Users.APIKeys(context.Background(), models.APIKeyFilter{Owner: mustGet(t, env, "ada").ID}); err != nil || keys.Total != 0 {
			t.Fatalf("tokens before the code: %v %v", keys.Items, err)
		}
		env.Clock.Advance(time.Minute) // a fresh time step: a TOTP code works once
		k := oneOf(t, ask(env.TOTP(secret)), http.StatusCreated)
		if me := oneOf(t, c.API("GET", "/api/v1/users/me", k["token"].(string), nil), http.StatusOK); me["username"] != "ada" || me["mfa_enabled"] != true {
			t.Fatalf("me: %v", me)
		}
		oneOf(t, ask(recovery[0]), http.StatusCreated)
		wantAPIError(t, ask(recovery[0]), http.StatusUnauthorized, "") // used
	})
}
