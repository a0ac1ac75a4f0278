package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

type apiMetaJSON struct {
	RequestID string `json:"requestId"`
	Timestamp string `json:"timestamp"`
}

type apiErrorJSON struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
	Meta apiMetaJSON `json:"meta"`
}

type apiOneJSON struct {
	Data map[string]any `json:"data"`
	Meta apiMetaJSON    `json:"meta"`
}

type apiListJSON struct {
	Data       []map[string]any `json:"data"`
	Pagination struct {
		Page       int  `json:"page"`
		Limit      int  `json:"limit"`
		TotalItems int  `json:"totalItems"`
		TotalPages int  `json:"totalPages"`
		HasNext    bool `json:"hasNext"`
		HasPrev    bool `json:"hasPrev"`
	} `json:"pagination"`
	Meta apiMetaJSON `json:"meta"`
}

// wantAPIError fails unless res is the JSON error shape with status, and
// (when field is not "") names field.
func wantAPIError(t *testing.T, res *apptest.Response, status int, field string) apiErrorJSON {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("status %d, want %d:\n%s", res.StatusCode, status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q:\n%s", ct, res.Body)
	}
	var e apiErrorJSON
	res.JSON(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" || e.Meta.RequestID == "" || e.Meta.Timestamp == "" {
		t.Fatalf("error shape: %s", res.Body)
	}
	if field != "" && e.Error.Fields[field] == "" {
		t.Fatalf("want a message on field %q: %s", field, res.Body)
	}
	return e
}

func wantAPIStatus(t *testing.T, res *apptest.Response, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("status %d, want %d:\n%s", res.StatusCode, status, res.Body)
	}
}

func listOf(t *testing.T, res *apptest.Response) apiListJSON {
	t.Helper()
	wantAPIStatus(t, res, http.StatusOK)
	var l apiListJSON
	res.JSON(t, &l)
	if l.Meta.RequestID == "" || l.Data == nil {
		t.Fatalf("list shape: %s", res.Body)
	}
	return l
}

func oneOf(t *testing.T, res *apptest.Response, status int) map[string]any {
	t.Helper()
	wantAPIStatus(t, res, status)
	var o apiOneJSON
	res.JSON(t, &o)
	if o.Meta.RequestID == "" || o.Data == nil {
		t.Fatalf("object shape: %s", res.Body)
	}
	return o.Data
}

func usernames(l apiListJSON) string {
	var out []string
	for _, u := range l.Data {
		out = append(out, fmt.Sprint(u["username"]))
	}
	return strings.Join(out, ",")
}

// setLevel changes an account's level from the command line (the way an
// admin's key becomes a moderator's or a member's key: by demotion).
func setLevel(t *testing.T, env *apptest.Env, u *models.User, level int) {
	t.Helper()
	if _, err := env.Users.Update(context.Background(), models.System, u.ID, models.Patch{Level: &level}); err != nil {
		t.Fatal(err)
	}
}

func TestAPIWithoutAValidKeyIs401(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		root := env.User("root", 10)
		admin := env.User("admin", 9)
		c := env.Client()

		res := c.API("GET", "/api/v1/users", "", nil)
		wantAPIError(t, res, http.StatusUnauthorized, "")
		if got := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
			t.Fatalf("WWW-Authenticate %q", got)
		}
		if len(res.Cookies()) != 0 {
			t.Fatalf("the API set cookies: %v", res.Cookies())
		}
		for _, bad := range []string{"wm_nope", "wm_aaaaaaaa_" + strings.Repeat("A", 43)} {
			res = c.API("GET", "/api/v1/users/me", bad, nil)
			wantAPIError(t, res, http.StatusUnauthorized, "")
			if got := res.Header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
				t.Fatalf("WWW-Authenticate %q", got)
			}
		}
		// Another scheme.
		key := env.APIKey("admin")
		hreq := httptest.NewRequest("GET", "/api/v1/users/me", nil)
		hreq.Header.Set("Authorization", "Basic "+key)
		wantAPIError(t, c.Do(hreq), http.StatusUnauthorized, "")

		// A signed-in browser without a key gets no further.
		browser := env.SignedIn("admin")
		wantAPIError(t, browser.API("GET", "/api/v1/users/me", "", nil), http.StatusUnauthorized, "")

		// A working key stops working when its creator is banned, and again when deleted.
		if got := oneOf(t, c.API("GET", "/api/v1/users/me", key, nil), http.StatusOK); got["username"] != "admin" {
			t.Fatalf("me: %v", got)
		}
		ctx := context.Background()
		if _, err := env.Users.Block(ctx, models.Actor{User: root}, admin.ID, "spam"); err != nil {
			t.Fatal(err)
		}
		e := wantAPIError(t, c.API("GET", "/api/v1/users/me", key, nil), http.StatusUnauthorized, "")
		if !strings.Contains(e.Error.Message, "banned") {
			t.Fatalf("message %q", e.Error.Message)
		}
		if _, err := env.Users.Unblock(ctx, models.Actor{User: root}, admin.ID); err != nil {
			t.Fatal(err)
		}
		oneOf(t, c.API("GET", "/api/v1/users/me", key, nil), http.StatusOK)
		if _, err := env.Users.Delete(ctx, models.Actor{User: root}, admin.ID); err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, c.API("GET", "/api/v1/users/me", key, nil), http.StatusUnauthorized, "")
	})
}

func TestAPIRevokedKeyIs401(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		admin := env.User("admin", 9)
		key := env.APIKey("admin")
		c := env.Client()
		oneOf(t, c.API("GET", "/api/v1/users/me", key, nil), http.StatusOK)
		keys, err := env.Users.APIKeys(context.Background(), models.APIKeyFilter{})
		if err != nil || len(keys.Items) != 1 {
			t.Fatal(keys, err)
		}
		if _, err := env.Users.RevokeAPIKey(context.Background(), models.Actor{User: admin}, keys.Items[0].ID); err != nil {
			t.Fatal(err)
		}
		e := wantAPIError(t, c.API("GET", "/api/v1/users/me", key, nil), http.StatusUnauthorized, "")
		if !strings.Contains(e.Error.Message, "revoked") || e.Error.Code != "unauthorized" {
			t.Fatalf("error %+v", e.Error)
		}
	})
}

func TestAPIListUsers(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 9)
		for i := range 24 {
			env.User(fmt.Sprintf("user%02d", i), 1+i%5)
		}
		key := env.APIKey("admin")
		c := env.Client()

		l := listOf(t, c.API("GET", "/api/v1/users", key, nil))
		p := l.Pagination
		if len(l.Data) != 20 || p.Page != 1 || p.Limit != 20 || p.TotalItems != 25 || p.TotalPages != 2 || !p.HasNext || p.HasPrev {
			t.Fatalf("first page: %d items, %+v", len(l.Data), p)
		}
		u := l.Data[0]
		for _, f := range []string{"id", "username", "email", "name", "level", "role", "type", "type_label", "is_online",
			"points", "created_at", "last_login_at", "avatar", "var", "group"} {
			if _, ok := u[f]; !ok {
				t.Fatalf("user object without %q: %v", f, u)
			}
		}
		if u["username"] != "admin" || u["email"] != "admin@example.com" || u["role"] != "admin" || u["type_label"] != "Active" {
			t.Fatalf("first user %v", u)
		}
		for _, bad := range []string{"password", "password_hash", "session_version", "ban_reason"} {
			if strings.Contains(l.Data[0]["username"].(string), bad) || strings.Contains(fmt.Sprint(u), bad) {
				t.Fatalf("user object carries %s: %v", bad, u)
			}
		}
		l = listOf(t, c.API("GET", "/api/v1/users?page=2", key, nil))
		if len(l.Data) != 5 || l.Pagination.HasNext || !l.Pagination.HasPrev {
			t.Fatalf("second page: %d items, %+v", len(l.Data), l.Pagination)
		}
		if l = listOf(t, c.API("GET", "/api/v1/users?limit=500", key, nil)); l.Pagination.Limit != 100 || len(l.Data) != 25 {
			t.Fatalf("limit 500: %+v", l.Pagination)
		}
		if got := usernames(listOf(t, c.API("GET", "/api/v1/users?search=USER0&sort=-username&limit=3", key, nil))); got != "user09,user08,user07" {
			t.Fatalf("search and sort: %s", got)
		}
		if l = listOf(t, c.API("GET", "/api/v1/users?level=3", key, nil)); l.Pagination.TotalItems != 5 {
			t.Fatalf("level=3: %d", l.Pagination.TotalItems)
		}
		if l = listOf(t, c.API("GET", "/api/v1/users?role=admin", key, nil)); usernames(l) != "admin" {
			t.Fatalf("role=admin: %s", usernames(l))
		}
		if l = listOf(t, c.API("GET", "/api/v1/users?type=2", key, nil)); l.Pagination.TotalItems != 0 {
			t.Fatalf("type=2: %d", l.Pagination.TotalItems)
		}

		for q, field := range map[string]string{
			"sort=password": "sort", "type=gone": "type", "role=king": "role", "level=11": "level",
			"level=x": "level", "limit=0": "limit", "page=abc": "page",
		} {
			wantAPIError(t, c.API("GET", "/api/v1/users?"+q, key, nil), http.StatusUnprocessableEntity, field)
		}
	})
}

func TestAPIMemberKeyCantSeeEmailsOrChangeAnything(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		was := env.User("was_admin", 9)
		other := env.User("other", 1)
		gone := env.User("gone", 1)
		ctx := context.Background()
		if _, err := env.Users.Delete(ctx, models.System, gone.ID); err != nil {
			t.Fatal(err)
		}
		key := env.APIKey("was_admin")
		setLevel(t, env, was, 2) // the key now acts as a member
		c := env.Client()

		l := listOf(t, c.API("GET", "/api/v1/users?sort=username", key, nil))
		if usernames(l) != "other,was_admin" {
			t.Fatalf("member lists %s", usernames(l))
		}
		for _, u := range l.Data {
			_, has := u["email"]
			if mine := u["username"] == "was_admin"; has != mine {
				t.Fatalf("email shown=%v for %v", has, u)
			}
		}
		if strings.Contains(l.Data[0]["username"].(string), "@") || strings.Contains(fmt.Sprint(l.Data[0]), "other@example.com") {
			t.Fatalf("address leaked: %v", l.Data[0])
		}
		// Searching by address would reveal it.
		if l = listOf(t, c.API("GET", "/api/v1/users?search=other%40example", key, nil)); len(l.Data) != 0 {
			t.Fatalf("search by e-mail found %s", usernames(l))
		}
		wantAPIError(t, c.API("GET", "/api/v1/users?type=deleted", key, nil), http.StatusForbidden, "")
		if u := oneOf(t, c.API("GET", fmt.Sprint("/api/v1/users/", other.ID), key, nil), http.StatusOK); u["email"] != nil {
			t.Fatalf("member sees %v", u)
		}
		wantAPIError(t, c.API("GET", fmt.Sprint("/api/v1/users/", gone.ID), key, nil), http.StatusNotFound, "")
		me := oneOf(t, c.API("GET", "/api/v1/users/me", key, nil), http.StatusOK)
		if me["email"] != "was_admin@example.com" || me["level"] != float64(2) || me["role"] != "user" || me["login_count"] == nil {
			t.Fatalf("me: %v", me)
		}

		wantAPIError(t, c.API("POST", "/api/v1/users", key, map[string]any{"username": "newbie", "password": "password123"}),
			http.StatusForbidden, "")
		wantAPIError(t, c.API("PATCH", fmt.Sprint("/api/v1/users/", other.ID), key, map[string]any{"name": "x"}),
			http.StatusForbidden, "")
		wantAPIError(t, c.API("PATCH", fmt.Sprint("/api/v1/users/", was.ID), key, map[string]any{"level": 9}),
			http.StatusForbidden, "")
		wantAPIError(t, c.API("DELETE", fmt.Sprint("/api/v1/users/", other.ID), key, nil), http.StatusForbidden, "")
		wantAPIError(t, c.API("GET", "/api/v1/stats", key, nil), http.StatusForbidden, "")
		wantAPIError(t, c.API("GET", "/api/v1/online", key, nil), http.StatusForbidden, "")
		if got, _ := env.Users.Get(ctx, other.ID); got.Name != "" || got.Type != models.TypeActive {
			t.Fatalf("other changed: %+v", got)
		}
	})
}

func TestAPIModeratorKeyReadsButCantEditOrDelete(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		mod := env.User("mod", 9)
		member := env.User("member", 1)
		key := env.APIKey("mod")
		setLevel(t, env, mod, 7)
		c := env.Client()

		l := listOf(t, c.API("GET", "/api/v1/users?sort=username", key, nil))
		for _, u := range l.Data {
			if _, has := u["email"]; has != (u["username"] == "mod") {
				t.Fatalf("moderator: email shown=%v for %v", has, u)
			}
		}
		listOf(t, c.API("GET", "/api/v1/users?type=deleted", key, nil))
		st := oneOf(t, c.API("GET", "/api/v1/stats", key, nil), http.StatusOK)
		if st["total"] != float64(2) {
			t.Fatalf("stats %v", st)
		}
		wantAPIError(t, c.API("PATCH", fmt.Sprint("/api/v1/users/", member.ID), key, map[string]any{"name": "x"}),
			http.StatusForbidden, "")
		wantAPIError(t, c.API("DELETE", fmt.Sprint("/api/v1/users/", member.ID), key, nil), http.StatusForbidden, "")
		wantAPIError(t, c.API("GET", "/api/v1/online", key, nil), http.StatusForbidden, "")
	})
}

func TestAPICreateUser(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 8)
		key := env.APIKey("admin")
		c := env.Client()

		res := c.API("POST", "/api/v1/users", key, map[string]any{
			"username": "NewUser", "password": "secure-password", "email": "New@Example.com", "name": "New User",
			"type": 1, "avatar": "https://example.com/a.png", "group": "beta", "var": map[string]any{"lang": "en", "age": 42, "vip": true},
		})
		u := oneOf(t, res, http.StatusCreated)
		if res.Location() != fmt.Sprint("/api/v1/users/", u["id"]) {
			t.Fatalf("Location %q for %v", res.Location(), u["id"])
		}
		if u["username"] != "NewUser" || u["email"] != "New@Example.com" || u["level"] != float64(1) || u["type"] != float64(1) ||
			u["group"] != "beta" || u["name"] != "New User" || fmt.Sprint(u["var"]) != "map[age:42 lang:en vip:true]" {
			t.Fatalf("created %v", u)
		}
		if strings.Contains(res.Body, "secure-password") || strings.Contains(res.Body, "argon2") {
			t.Fatalf("password echoed: %s", res.Body)
		}
		env.Client().SignIn("newuser", "secure-password")

		// Only the username and password are needed; the level is the default.
		u = oneOf(t, c.API("POST", "/api/v1/users", key, map[string]any{"username": "bare", "password": "password123"}), http.StatusCreated)
		if u["level"] != float64(1) || u["email"] != nil {
			t.Fatalf("bare: %v", u)
		}

		wantAPIError(t, c.API("POST", "/api/v1/users", key, map[string]any{"username": "NEWUSER", "password": "password123"}),
			http.StatusConflict, "username")
		wantAPIError(t, c.API("POST", "/api/v1/users", key, map[string]any{"username": "xx2", "password": "password123", "email": "new@example.COM"}),
			http.StatusConflict, "email")
		e := wantAPIError(t, c.API("POST", "/api/v1/users", key, map[string]any{"username": "1", "password": "short", "email": "nope"}),
			http.StatusUnprocessableEntity, "username")
		if e.Error.Fields["password"] == "" || e.Error.Fields["email"] == "" || e.Error.Code != "unprocessable_entity" {
			t.Fatalf("fields %v", e.Error.Fields)
		}
		// An admin (8) grants at most level 7.
		wantAPIError(t, c.API("POST", "/api/v1/users", key, map[string]any{"username": "peer", "password": "password123", "level": 8}),
			http.StatusUnprocessableEntity, "level")
		oneOf(t, c.API("POST", "/api/v1/users", key, map[string]any{"username": "modd", "password": "password123", "level": 7}), http.StatusCreated)

		// Wrong values, unknown fields.
		for body, field := range map[string]string{
			`{"username": "a1b2c", "password": "password123", "level": "5"}`:     "level",
			`{"username": "a1b2c", "password": "password123", "level": 2.5}`:     "level",
			`{"username": 42, "password": "password123"}`:                        "username",
			`{"username": "a1b2c", "password": null}`:                            "password",
			`{"username": "a1b2c", "password": "password123", "var": [1]}`:       "var",
			`{"username": "a1b2c", "password": "password123", "var": {"a": {}}}`: "var",
			`{"username": "a1b2c", "password": "password123", "colour": "red"}`:  "colour",
			`{"username": "a1b2c", "password": "password123", "id": 7}`:          "id",
		} {
			wantAPIError(t, c.API("POST", "/api/v1/users", key, body), http.StatusUnprocessableEntity, field)
		}
		// Not JSON.
		for _, body := range []string{``, `{`, `{"username": "x",}`, `[]`, `"x"`, `{"a":1} {"b":2}`, "{\"username\": \"\x00\"", `nul`} {
			e := wantAPIError(t, c.API("POST", "/api/v1/users", key, body), http.StatusBadRequest, "")
			if e.Error.Code != "bad_request" {
				t.Fatalf("%q: %+v", body, e.Error)
			}
		}
		form := url.Values{"username": {"formuser"}, "password": {"password123"}}.Encode()
		req := httptest.NewRequest("POST", "/api/v1/users", strings.NewReader(form))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		e = wantAPIError(t, c.Do(req), http.StatusBadRequest, "")
		if !strings.Contains(e.Error.Message, "application/json") {
			t.Fatalf("message %q", e.Error.Message)
		}
	})
}

func TestAPIUpdateUser(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 9)
		peer := env.User("peer", 9)
		boss := env.User("boss", 10)
		bob := env.User("bob", 2)
		ctx := context.Background()
		bobName := "Bob"
		if _, err := env.Users.Update(ctx, models.System, bob.ID, models.Patch{
			Name: &bobName, Var: map[string]any{"keep": "yes", "drop": 1}}); err != nil {
			t.Fatal(err)
		}
		key := env.APIKey("admin")
		c := env.Client()
		path := fmt.Sprint("/api/v1/users/", bob.ID)

		u := oneOf(t, c.API("PATCH", path, key, map[string]any{
			"level": 5, "point": 200, "var": map[string]any{"drop": nil, "new": true}, "group": "g1",
		}), http.StatusOK)
		if u["level"] != float64(5) || u["points"] != float64(200) || u["name"] != "Bob" || u["username"] != "bob" ||
			fmt.Sprint(u["var"]) != "map[keep:yes new:true]" || u["group"] != "g1" || u["email"] != "bob@example.com" {
			t.Fatalf("patched %v", u)
		}
		u = oneOf(t, c.API("PATCH", path, key, map[string]any{"points": 7, "email": nil, "name": nil, "username": "Robert"}), http.StatusOK)
		if u["points"] != float64(7) || u["email"] != nil || u["name"] != "" || u["username"] != "Robert" {
			t.Fatalf("patched %v", u)
		}
		if _, has := u["email"]; !has {
			t.Fatalf("an admin sees email: null, not nothing: %v", u)
		}
		oneOf(t, c.API("PATCH", path, key, map[string]any{"password": "a-new-password"}), http.StatusOK)
		env.Client().SignIn("robert", "a-new-password")
		oneOf(t, c.API("PATCH", path, key, map[string]any{}), http.StatusOK) // nothing to change

		wantAPIError(t, c.API("PATCH", path, key, map[string]any{"points": 1, "point": 2}), http.StatusUnprocessableEntity, "points")
		wantAPIError(t, c.API("PATCH", path, key, map[string]any{"level": 9}), http.StatusUnprocessableEntity, "level")
		wantAPIError(t, c.API("PATCH", path, key, map[string]any{"username": "peer"}), http.StatusConflict, "username")
		wantAPIError(t, c.API("PATCH", path, key, map[string]any{"var": nil}), http.StatusUnprocessableEntity, "var")
		wantAPIError(t, c.API("PATCH", path, key, map[string]any{"type_label": "x"}), http.StatusUnprocessableEntity, "type_label")
		wantAPIError(t, c.API("PATCH", path, key, `{"level": 5`), http.StatusBadRequest, "")
		// Nobody acts on an account at or above their own level.
		for _, target := range []*models.User{peer, boss} {
			wantAPIError(t, c.API("PATCH", fmt.Sprint("/api/v1/users/", target.ID), key, map[string]any{"name": "x"}),
				http.StatusForbidden, "")
		}
		wantAPIError(t, c.API("PATCH", "/api/v1/users/999999", key, map[string]any{"name": "x"}), http.StatusNotFound, "")
		wantAPIError(t, c.API("PATCH", "/api/v1/users/abc", key, map[string]any{"name": "x"}), http.StatusNotFound, "")
		// A ban through the type.
		u = oneOf(t, c.API("PATCH", path, key, map[string]any{"type": 2}), http.StatusOK)
		if u["type_label"] != "Banned" {
			t.Fatalf("type 2: %v", u)
		}
	})
}

func TestAPIDeleteUser(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 8)
		peer := env.User("peer", 8)
		bob := env.User("bob", 1)
		key := env.APIKey("admin")
		c := env.Client()
		path := fmt.Sprint("/api/v1/users/", bob.ID)

		u := oneOf(t, c.API("DELETE", path, key, nil), http.StatusOK)
		if u["type"] != float64(models.TypeDeleted) || u["type_label"] != "Deleted" {
			t.Fatalf("deleted %v", u)
		}
		if got, err := env.Users.Get(context.Background(), bob.ID); err != nil || got.Type != models.TypeDeleted {
			t.Fatalf("soft delete: %+v %v", got, err)
		}
		res := env.Client().Post("/login", url.Values{"login": {"bob"}, "password": {apptest.Password}})
		if res.StatusCode == http.StatusSeeOther {
			t.Fatal("a deleted account signed in")
		}
		wantAPIError(t, c.API("DELETE", path, key, nil), http.StatusForbidden, "") // already deleted
		wantAPIError(t, c.API("DELETE", fmt.Sprint("/api/v1/users/", peer.ID), key, nil), http.StatusForbidden, "")
		wantAPIError(t, c.API("DELETE", "/api/v1/users/424242", key, nil), http.StatusNotFound, "")
		// Still there for staff, with its type.
		if u = oneOf(t, c.API("GET", path, key, nil), http.StatusOK); u["type"] != float64(4) {
			t.Fatalf("get deleted: %v", u)
		}
	})
}

func TestAPIOnlineAndStats(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 9)
		member := env.User("member", 1)
		key := env.APIKey("admin")
		env.SignedIn("member").Get("/dashboard")
		guest := env.Client()
		guest.Get("/") // a first visit sets the visitor cookie…
		guest.Get("/") // …and the guest counts from its next page on
		c := env.Client()

		l := listOf(t, c.API("GET", "/api/v1/online", key, nil))
		kinds := map[string]int{}
		for _, v := range l.Data {
			kinds[fmt.Sprint(v["kind"])]++
			if v["kind"] == "member" {
				user, _ := v["user"].(map[string]any)
				if user["username"] != "member" || v["page"] != "/dashboard" || user["is_online"] != true {
					t.Fatalf("member visitor %v", v)
				}
			}
		}
		if kinds["member"] != 1 || kinds["guest"] < 1 || l.Pagination.Limit != 20 {
			t.Fatalf("online %v %+v", kinds, l.Pagination)
		}
		if l = listOf(t, c.API("GET", fmt.Sprint("/api/v1/online?id=", member.ID), key, nil)); len(l.Data) != 1 {
			t.Fatalf("id filter: %v", l.Data)
		}
		if l = listOf(t, c.API("GET", "/api/v1/online?pageid=%2Fdashboard", key, nil)); len(l.Data) != 1 {
			t.Fatalf("pageid filter: %v", l.Data)
		}
		if l = listOf(t, c.API("GET", "/api/v1/online?kind=guests", key, nil)); len(l.Data) != kinds["guest"] {
			t.Fatalf("kind filter: %v", l.Data)
		}
		for _, v := range l.Data {
			if strings.Contains(fmt.Sprint(v), "g:") {
				t.Fatalf("guest id shown: %v", v)
			}
		}
		wantAPIError(t, c.API("GET", "/api/v1/online?id=x", key, nil), http.StatusUnprocessableEntity, "id")
		wantAPIError(t, c.API("GET", "/api/v1/online?kind=bots", key, nil), http.StatusUnprocessableEntity, "kind")

		st := oneOf(t, c.API("GET", "/api/v1/stats", key, nil), http.StatusOK)
		byRole, _ := st["by_role"].(map[string]any)
		if st["total"] != float64(2) || byRole["admin"] != float64(1) || st["signups_per_day"] == nil {
			t.Fatalf("stats %v", st)
		}
	})
}

func TestAPIUnknownEndpointIsJSON404(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 9)
		key := env.APIKey("admin")
		c := env.Client()
		for _, r := range []struct{ method, path string }{
			{"GET", "/api/v1/nope"}, {"POST", "/api/v1/users/1/explode"}, {"PUT", "/api/v1/users/1"}, {"GET", "/api/v1"},
		} {
			res := c.API(r.method, r.path, key, nil)
			wantAPIError(t, res, http.StatusNotFound, "")
			if len(res.Cookies()) != 0 {
				t.Fatalf("%s %s set cookies %v", r.method, r.path, res.Cookies())
			}
		}
		wantAPIError(t, c.API("GET", "/api/v1/nope", "", nil), http.StatusUnauthorized, "")
	})
}

func TestAPIRateLimitPerKey(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 9)
		key, other := env.APIKey("admin"), env.APIKey("admin")
		c := env.Client()
		for range 3 {
			oneOf(t, c.API("GET", "/api/v1/users/me", key, nil), http.StatusOK)
		}
		res := c.API("GET", "/api/v1/users/me", key, nil)
		wantAPIError(t, res, http.StatusTooManyRequests, "")
		if res.Header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
		oneOf(t, c.API("GET", "/api/v1/users/me", other, nil), http.StatusOK)
	}, func(cfg *app.Config) { cfg.APIRateLimit = 3 })
}

var newKeyRE = regexp.MustCompile(`wm_[a-z0-9]{8}_[A-Za-z0-9_-]{43}`)

func TestAPIKeysPage(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("root", 10)
		env.User("admin", 8)
		env.User("mod", 6)
		env.User("member", 1)
		rootKey := env.APIKey("root")
		_ = rootKey

		for _, who := range []string{"mod", "member"} {
			b := env.SignedIn(who)
			if res := b.Get("/admin/keys"); res.StatusCode != http.StatusForbidden {
				t.Fatalf("%s sees the keys: %d", who, res.StatusCode)
			}
			if res := b.Post("/admin/keys", url.Values{"name": {"mine"}}); res.StatusCode != http.StatusForbidden {
				t.Fatalf("%s makes a key: %d", who, res.StatusCode)
			}
		}
		if res := env.Client().Get("/admin/keys"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("visitor: %d", res.StatusCode)
		}

		b := env.SignedIn("admin")
		res := b.Get("/admin/keys")
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, `name="_csrf"`) || !strings.Contains(res.Body, `for="f-name"`) {
			t.Fatalf("keys page: %d\n%s", res.StatusCode, res.Body)
		}
		// The superadmin's key is listed but this admin can't revoke it.
		if strings.Contains(res.Body, "/revoke") {
			t.Fatal("a revoke button for a key of a higher account")
		}
		if res := b.Post("/admin/keys", url.Values{"name": {"  "}}); res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(res.Body, `class="field-error" id="e-name"`) {
			t.Fatalf("empty name: %d\n%s", res.StatusCode, res.Body)
		}
		res = b.Post("/admin/keys", url.Values{"name": {"nightly <export>"}})
		if res.StatusCode != http.StatusSeeOther || res.Location() != "/admin/keys" {
			t.Fatalf("make: %d %q", res.StatusCode, res.Location())
		}
		if newKeyRE.MatchString(res.Location()) || newKeyRE.MatchString(res.Header.Get("Set-Cookie")) {
			t.Fatal("the key travels in the clear")
		}
		res = b.Get("/admin/keys")
		key := newKeyRE.FindString(res.Body)
		if key == "" || !strings.Contains(res.Body, `id="new-key"`) || !strings.Contains(res.Body, "nightly &lt;export&gt;") {
			t.Fatalf("new key not shown:\n%s", res.Body)
		}
		if res = b.Get("/admin/keys"); newKeyRE.MatchString(res.Body) || !strings.Contains(res.Body, key[:11]+"_…") {
			t.Fatalf("the key is shown twice, or its prefix not at all:\n%s", res.Body)
		}

		c := env.Client()
		if me := oneOf(t, c.API("GET", "/api/v1/users/me", key, nil), http.StatusOK); me["username"] != "admin" {
			t.Fatalf("the key acts as %v", me["username"])
		}
		res = b.Get("/admin/keys")
		m := regexp.MustCompile(`action="(/admin/keys/\d+/revoke)"`).FindStringSubmatch(res.Body)
		if m == nil || !strings.Contains(res.Body, "just now") {
			t.Fatalf("no revoke button or last use:\n%s", res.Body)
		}
		if res := b.PostRaw(m[1], url.Values{}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("revoke without CSRF: %d", res.StatusCode)
		}
		if res := b.Post(m[1], nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke: %d", res.StatusCode)
		}
		wantAPIError(t, c.API("GET", "/api/v1/users/me", key, nil), http.StatusUnauthorized, "")
		if res = b.Get("/admin/keys"); !strings.Contains(res.Body, "Revoked") || !strings.Contains(res.Body, "is revoked") {
			t.Fatalf("after revoke:\n%s", res.Body)
		}
		// The superadmin's key: this admin may not revoke it, even by hand.
		keys, _ := env.Users.APIKeys(context.Background(), models.APIKeyFilter{})
		for _, k := range keys.Items {
			if k.Creator.Username == "root" {
				if res := b.Post(fmt.Sprintf("/admin/keys/%d/revoke", k.ID), nil); res.StatusCode != http.StatusForbidden {
					t.Fatalf("revoke a superadmin's key: %d", res.StatusCode)
				}
			}
		}
		oneOf(t, c.API("GET", "/api/v1/users/me", rootKey, nil), http.StatusOK)
	})
}

// An action through the API is written to the audit log as the key's
// creator, via that key; the same action from the pages says no key.
func TestAPIActionsNameTheirKeyInTheAuditLog(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		admin := env.User("admin", 9)
		bob := env.User("bob", 2)
		key := env.APIKey("admin")
		prefix := key[:len("wm_")+8]
		oneOf(t, env.Client().API("PATCH", fmt.Sprint("/api/v1/users/", bob.ID), key, map[string]any{"points": 3}), http.StatusOK)

		evs, err := env.Users.Events(context.Background(), models.EventFilter{TargetID: bob.ID, Action: models.EvUpdate})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs.Items) != 1 || evs.Items[0].Via != "API key "+prefix || evs.Items[0].ActorID == nil || *evs.Items[0].ActorID != admin.ID {
			t.Fatalf("the API's update event: %+v", evs.Items)
		}
		res := env.SignedIn("admin").Get("/admin/events")
		wantContains(t, res, "via API key "+prefix)

		wantRedirect(t, env.SignedIn("admin").Post(fmt.Sprint("/admin/users/", bob.ID, "/block"), url.Values{"reason": {"spam"}}),
			fmt.Sprint("/admin/users/", bob.ID))
		evs, err = env.Users.Events(context.Background(), models.EventFilter{TargetID: bob.ID, Action: models.EvBan})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs.Items) != 1 || evs.Items[0].Via != "" {
			t.Fatalf("a ban from the console: %+v", evs.Items)
		}
		wantContains(t, env.SignedIn("admin").Get(fmt.Sprint("/admin/users/", bob.ID)), "via API key "+prefix)
	})
}

// The list's sign-up date range, as the console, the bulk actions and
// the export read it: a day (created_to takes the whole day) or an RFC
// 3339 time; anything else is a 422 naming the field.
func TestAPIListUsersByCreationDate(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 9)
		env.User("early", 1)
		first := env.Clock.Now()
		env.Clock.Advance(72 * time.Hour)
		env.User("late", 1)
		later := env.Clock.Now()
		key := env.APIKey("admin")
		c := env.Client()
		day := func(t time.Time) string { return t.UTC().Format(time.DateOnly) }
		for q, want := range map[string]string{
			"created_from=" + day(later):                                        "late",
			"created_to=" + day(first):                                          "admin,early",
			"created_from=" + day(first) + "&created_to=" + day(later):          "admin,early,late",
			"created_from=" + later.UTC().Add(time.Second).Format(time.RFC3339): "",
			"created_to=" + later.UTC().Format(time.RFC3339):                    "admin,early",
		} {
			if got := usernames(listOf(t, c.API("GET", "/api/v1/users?sort=username&"+q, key, nil))); got != want {
				t.Errorf("%s: %q, want %q", q, got, want)
			}
		}
		for q, field := range map[string]string{"created_from=yesterday": "created_from", "created_to=2026-13-01": "created_to"} {
			wantAPIError(t, c.API("GET", "/api/v1/users?"+q, key, nil), http.StatusUnprocessableEntity, field)
		}
	})
}
