package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// The console's account actions in the API: each through the service
// method of the console's button, so the same rules answer the same way.

func TestAPIBlockAndUnblock(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("mod", 9)
		bob := env.User("bob", 1)
		peer := env.User("peer", 7)
		key := env.APIKey("mod")
		setLevel(t, env, mustGet(t, env, "mod"), 7) // a moderator's key bans too
		c := env.Client()
		block := fmt.Sprint("/api/v1/users/", bob.ID, "/block")

		u := oneOf(t, c.API("POST", block, key, map[string]any{"reason": "spam"}), http.StatusOK)
		if u["type"] != float64(models.TypeBanned) || u["type_label"] != "Banned" {
			t.Fatalf("blocked: %v", u)
		}
		got := mustGet(t, env, "bob")
		if got.BanReason != "spam" {
			t.Fatalf("reason %q", got.BanReason)
		}
		wantAPIError(t, c.API("POST", block, key, nil), http.StatusForbidden, "") // already banned
		wantAPIError(t, c.API("POST", fmt.Sprint("/api/v1/users/", peer.ID, "/block"), key, nil), http.StatusForbidden, "")
		wantAPIError(t, c.API("POST", "/api/v1/users/424242/block", key, nil), http.StatusNotFound, "")
		wantAPIError(t, c.API("POST", block, key, map[string]any{"reason": 3}), http.StatusUnprocessableEntity, "reason")
		wantAPIError(t, c.API("POST", block, key, map[string]any{"why": "x"}), http.StatusUnprocessableEntity, "why")
		wantAPIError(t, c.API("POST", block, key, "{"), http.StatusBadRequest, "")
		wantAPIError(t, c.API("POST", block, "", nil), http.StatusUnauthorized, "")

		unblock := fmt.Sprint("/api/v1/users/", bob.ID, "/unblock")
		if u = oneOf(t, c.API("POST", unblock, key, nil), http.StatusOK); u["type"] != float64(models.TypeActive) {
			t.Fatalf("unblocked: %v", u)
		}
		wantAPIError(t, c.API("POST", unblock, key, nil), http.StatusForbidden, "") // not banned
		// Banning without a body is fine too.
		oneOf(t, c.API("POST", block, key, nil), http.StatusOK)
		// A member's key may not ban anyone.
		env.User("joe", 8)
		joeKey := env.APIKey("joe")
		setLevel(t, env, mustGet(t, env, "joe"), 2)
		wantAPIError(t, c.API("POST", unblock, joeKey, nil), http.StatusForbidden, "")
	})
}

func TestAPIRestoreAndPurge(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("root", 10)
		env.User("admin", 9)
		bob := env.User("bob", 1)
		rootKey, adminKey := env.APIKey("root"), env.APIKey("admin")
		c := env.Client()
		path := fmt.Sprint("/api/v1/users/", bob.ID)

		wantAPIError(t, c.API("POST", path+"/restore", adminKey, nil), http.StatusForbidden, "")     // not deleted
		wantAPIError(t, c.API("DELETE", path+"?purge=true", rootKey, nil), http.StatusForbidden, "") // delete first
		oneOf(t, c.API("DELETE", path, adminKey, nil), http.StatusOK)
		if u := oneOf(t, c.API("POST", path+"/restore", adminKey, nil), http.StatusOK); u["type"] != float64(models.TypeActive) {
			t.Fatalf("restored: %v", u)
		}
		oneOf(t, c.API("DELETE", path, adminKey, nil), http.StatusOK)
		wantAPIError(t, c.API("DELETE", path+"?purge=maybe", rootKey, nil), http.StatusUnprocessableEntity, "purge")
		wantAPIError(t, c.API("DELETE", path+"?purge=true", adminKey, nil), http.StatusForbidden, "") // superadmins only
		res := c.API("DELETE", path+"?purge=true", rootKey, nil)
		wantAPIStatus(t, res, http.StatusNoContent)
		if _, err := env.Users.Get(context.Background(), bob.ID); !models.IsNotFound(err) {
			t.Fatalf("after purge: %v", err)
		}
		wantAPIError(t, c.API("DELETE", path+"?purge=true", rootKey, nil), http.StatusNotFound, "")
		wantAPIError(t, c.API("POST", path+"/restore", adminKey, nil), http.StatusNotFound, "")
	})
}

func TestAPIConfirmAndResendConfirmation(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 9)
		env.User("mod", 9)
		key, modKey := env.APIKey("admin"), keyAt(t, env, "mod", 7)
		mia, err := env.Users.Register(context.Background(), models.Meta{}, models.NewUser{
			Username: "mia", Email: "mia@example.com", Password: apptest.Password, Level: 1}, true)
		if err != nil {
			t.Fatal(err)
		}
		c := env.Client()
		path := fmt.Sprint("/api/v1/users/", mia.ID)

		wantAPIError(t, c.API("POST", path+"/resend-confirmation", modKey, nil), http.StatusForbidden, "")
		u := oneOf(t, c.API("POST", path+"/resend-confirmation", key, nil), http.StatusAccepted)
		if u["username"] != "mia" {
			t.Fatalf("resend: %v", u)
		}
		lastMail(t, env, models.MailConfirm, "mia@example.com")
		wantAPIError(t, c.API("POST", path+"/confirm", modKey, nil), http.StatusForbidden, "")
		if u = oneOf(t, c.API("POST", path+"/confirm", key, nil), http.StatusOK); u["type"] != float64(models.TypeActive) || u["email_verified_at"] == nil {
			t.Fatalf("confirmed: %v", u)
		}
		// Confirmed now: nothing to resend.
		wantAPIError(t, c.API("POST", path+"/resend-confirmation", key, nil), http.StatusConflict, "email")
		wantAPIError(t, c.API("POST", "/api/v1/users/424242/confirm", key, nil), http.StatusNotFound, "")
	})
}

func TestAPIPasswordResetAndSetPassword(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 9)
		bob := env.User("bob", 1)
		peer := env.User("peer", 9)
		key := env.APIKey("admin")
		c := env.Client()
		path := fmt.Sprint("/api/v1/users/", bob.ID)

		bobs := env.SignedIn("bob")
		oneOf(t, c.API("PUT", path+"/password", key, map[string]any{"password": "another good password"}), http.StatusOK)
		if _, err := env.Users.Login(context.Background(), models.Meta{}, "bob", "another good password"); err != nil {
			t.Fatalf("the new password: %v", err)
		}
		wantRedirect(t, bobs.Get("/dashboard"), "/login?next=%2Fdashboard") // sessions ended
		wantAPIError(t, c.API("PUT", path+"/password", key, map[string]any{"password": "short"}), http.StatusUnprocessableEntity, "password")
		wantAPIError(t, c.API("PUT", path+"/password", key, map[string]any{}), http.StatusUnprocessableEntity, "password")
		wantAPIError(t, c.API("PUT", path+"/password", key, map[string]any{"password": nil}), http.StatusUnprocessableEntity, "password")
		wantAPIError(t, c.API("PUT", path+"/password", key, nil), http.StatusBadRequest, "")
		wantAPIError(t, c.API("PUT", fmt.Sprint("/api/v1/users/", peer.ID, "/password"), key,
			map[string]any{"password": "another good password"}), http.StatusForbidden, "")

		oneOf(t, c.API("POST", path+"/password-reset", key, nil), http.StatusAccepted)
		lastMail(t, env, models.MailReset, "bob@example.com")
		wantAPIError(t, c.API("POST", fmt.Sprint("/api/v1/users/", peer.ID, "/password-reset"), key, nil), http.StatusForbidden, "")
		for range models.MailPerAccountPerHour - 1 {
			outbox(t, env) // the queue has written the previous one: the limit counts the outbox
			c.API("POST", path+"/password-reset", key, nil)
		}
		outbox(t, env)
		res := c.API("POST", path+"/password-reset", key, nil)
		wantAPIError(t, res, http.StatusTooManyRequests, "")
		if res.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		// A banned account gets no link.
		nobody := env.User("nobody", 1)
		if _, err := env.Users.Block(context.Background(), models.System, nobody.ID, ""); err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, c.API("POST", fmt.Sprint("/api/v1/users/", nobody.ID, "/password-reset"), key, nil), http.StatusConflict, "email")
	})
}

func TestAPIRevokeSessions(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 9)
		bob := env.User("bob", 1)
		peer := env.User("peer", 9)
		key := env.APIKey("admin")
		c := env.Client()
		bobs := env.SignedIn("bob")
		oneOf(t, c.API("POST", fmt.Sprint("/api/v1/users/", bob.ID, "/sessions/revoke"), key, nil), http.StatusOK)
		wantRedirect(t, bobs.Get("/dashboard"), "/login?next=%2Fdashboard")
		wantAPIError(t, c.API("POST", fmt.Sprint("/api/v1/users/", peer.ID, "/sessions/revoke"), key, nil), http.StatusForbidden, "")
		wantAPIError(t, c.API("POST", "/api/v1/users/0/sessions/revoke", key, nil), http.StatusNotFound, "")
	})
}

func TestAPIGetUserByUsernameOrEmail(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 9)
		bob := env.User("Bob.Smith", 1)
		env.User("mod", 9)
		key, modKey := env.APIKey("admin"), keyAt(t, env, "mod", 7)
		c := env.Client()
		for _, ref := range []string{fmt.Sprint(bob.ID), "bob.smith", "BOB.SMITH", url.PathEscape("Bob.Smith@Example.com")} {
			if u := oneOf(t, c.API("GET", "/api/v1/users/"+ref, key, nil), http.StatusOK); u["id"] != float64(bob.ID) {
				t.Fatalf("%s: %v", ref, u)
			}
		}
		if u := oneOf(t, c.API("GET", "/api/v1/users/bob.smith", modKey, nil), http.StatusOK); u["email"] != nil {
			t.Fatalf("a moderator sees an address: %v", u)
		}
		// Looking up by address is for admins, whether or not it exists.
		wantAPIError(t, c.API("GET", "/api/v1/users/bob.smith@example.com", modKey, nil), http.StatusForbidden, "")
		wantAPIError(t, c.API("GET", "/api/v1/users/nobody@example.com", modKey, nil), http.StatusForbidden, "")
		wantAPIError(t, c.API("GET", "/api/v1/users/nobody@example.com", key, nil), http.StatusNotFound, "")
		wantAPIError(t, c.API("GET", "/api/v1/users/nobody", key, nil), http.StatusNotFound, "")
		wantAPIError(t, c.API("GET", "/api/v1/users/-3", key, nil), http.StatusNotFound, "")
	})
}

func TestAPIEvents(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		admin := env.User("admin", 9)
		bob := env.User("bob", 1)
		env.User("mod", 9)
		key, modKey := env.APIKey("admin"), keyAt(t, env, "mod", 7)
		c := env.Client()
		oneOf(t, c.API("POST", fmt.Sprint("/api/v1/users/", bob.ID, "/block"), key, map[string]any{"reason": "spam"}), http.StatusOK)
		oneOf(t, c.API("POST", fmt.Sprint("/api/v1/users/", bob.ID, "/unblock"), key, nil), http.StatusOK)

		l := listOf(t, c.API("GET", "/api/v1/events?target=bob&action=user.", key, nil))
		if len(l.Data) != 3 || l.Data[0]["action"] != models.EvUnban || l.Data[1]["action"] != models.EvBan {
			t.Fatalf("bob's events: %v", l.Data)
		}
		e := l.Data[1]
		if actor := e["actor"].(map[string]any); actor["username"] != "admin" || actor["id"] != float64(admin.ID) {
			t.Fatalf("actor %v", e)
		}
		if !strings.HasPrefix(e["via"].(string), "API key wm_") || e["ip"] == nil {
			t.Fatalf("event %v", e)
		}
		if l := listOf(t, c.API("GET", fmt.Sprint("/api/v1/events?actor=", admin.ID, "&action=user.ban&since=2000-01-01&until=2999-12-31"), key, nil)); len(l.Data) != 1 {
			t.Fatalf("by actor id and dates: %v", l.Data)
		}
		if l := listOf(t, c.API("GET", "/api/v1/events?until=2000-01-01", key, nil)); len(l.Data) != 0 || l.Pagination.TotalItems != 0 {
			t.Fatalf("until 2000: %v", l.Data)
		}
		wantAPIError(t, c.API("GET", "/api/v1/events?actor=nobody&action=nope&since=yesterday&page=0", key, nil), http.StatusUnprocessableEntity, "actor")
		e422 := wantAPIError(t, c.API("GET", "/api/v1/events?actor=nobody&action=nope&since=yesterday&page=0", key, nil), http.StatusUnprocessableEntity, "")
		for _, f := range []string{"actor", "action", "since", "page"} {
			if e422.Error.Fields[f] == "" {
				t.Errorf("no message on %s: %v", f, e422.Error.Fields)
			}
		}
		wantAPIError(t, c.API("GET", "/api/v1/events", modKey, nil), http.StatusForbidden, "")

		// One account's events: staff, without addresses below admin.
		l = listOf(t, c.API("GET", "/api/v1/users/bob/events", modKey, nil))
		if l.Pagination.TotalItems < 2 {
			t.Fatalf("bob's history: %v", l.Data)
		}
		for _, e := range l.Data {
			if _, has := e["ip"]; has {
				t.Fatalf("a moderator sees an address: %v", e)
			}
		}
		listOf(t, c.API("GET", fmt.Sprint("/api/v1/users/", bob.ID, "/events?limit=1&page=2"), key, nil))
		wantAPIError(t, c.API("GET", "/api/v1/users/nobody/events", key, nil), http.StatusNotFound, "")
		wantAPIError(t, c.API("GET", "/api/v1/users/bob/events?limit=x", key, nil), http.StatusUnprocessableEntity, "limit")
		env.User("joe", 8)
		joeKey := keyAt(t, env, "joe", 2)
		wantAPIError(t, c.API("GET", "/api/v1/users/bob/events", joeKey, nil), http.StatusForbidden, "")
	})
}

func mustGet(t *testing.T, env *apptest.Env, username string) *models.User {
	t.Helper()
	u, err := env.Users.GetByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// keyAt makes a key for username (an admin) and then sets the account to
// level: the way a moderator's or a member's admin-made key comes about.
func keyAt(t *testing.T, env *apptest.Env, username string, level int) string {
	t.Helper()
	key := env.APIKey(username)
	setLevel(t, env, mustGet(t, env, username), level)
	return key
}
