package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

func TestAPIBulk(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("root", 10)
		env.User("admin", 9)
		bob := env.User("bob", 1)
		carol := env.User("carol", 1)
		env.User("mod", 8)
		env.User("joe", 8)
		key := env.APIKey("admin")
		c := env.Client()
		req := map[string]any{"action": "ban", "reason": "spam", "filter": map[string]any{"role": "user"}}

		// Without dry_run, nothing happens: the dry run is the default.
		p := oneOf(t, c.API("POST", "/api/v1/users/bulk", key, req), http.StatusOK)
		if p["dry_run"] != true || p["matched"] != float64(2) || p["eligible"] != float64(2) || len(p["sample"].([]any)) != 2 {
			t.Fatalf("dry run: %v", p)
		}
		if s := p["sample"].([]any)[0].(map[string]any); s["username"] != "bob" || s["email"] != "bob@example.com" {
			t.Fatalf("sample: %v", s)
		}
		if mustGet(t, env, "bob").Type != models.TypeActive {
			t.Fatal("the dry run banned bob")
		}
		all := oneOf(t, c.API("POST", "/api/v1/users/bulk", key, map[string]any{"action": "delete", "dry_run": true}), http.StatusOK)
		if sk := all["skipped"].(map[string]any); sk["self"] != float64(1) || sk["level"] != float64(1) || all["eligible"] != float64(4) {
			t.Fatalf("dry run on everyone: %v", all)
		}

		req["dry_run"] = false
		res := c.API("POST", "/api/v1/users/bulk", key, req)
		j := oneOf(t, res, http.StatusAccepted)
		loc := fmt.Sprintf("/api/v1/users/bulk/%v", j["id"])
		if res.Location() != loc || j["status"] != "queued" || j["total"] != float64(2) || j["action"] != "ban" ||
			j["filter"].(map[string]any)["role"] != "user" || j["actor"].(map[string]any)["username"] != "admin" {
			t.Fatalf("started: %s %v", res.Location(), j)
		}
		runBulk(t, env)
		j = oneOf(t, c.API("GET", loc, key, nil), http.StatusOK)
		if j["status"] != "done" || j["done"] != float64(2) || j["percent"] != float64(100) || j["finished_at"] == nil {
			t.Fatalf("after the run: %v", j)
		}
		for _, u := range []*models.User{bob, carol} {
			if got := mustGet(t, env, u.Username); got.Type != models.TypeBanned || got.BanReason != "spam" {
				t.Fatalf("%s: %+v", u.Username, got)
			}
		}
		// Cancelling a finished job changes nothing.
		if j = oneOf(t, c.API("POST", loc+"/cancel", key, nil), http.StatusOK); j["status"] != "done" {
			t.Fatalf("cancel after the end: %v", j)
		}
		// Set a level; cancel before it runs.
		s := oneOf(t, c.API("POST", "/api/v1/users/bulk", key, map[string]any{"action": "set_level", "level": 2,
			"filter": map[string]any{"search": "carol", "type": "banned"}, "dry_run": false}), http.StatusAccepted)
		if s = oneOf(t, c.API("POST", fmt.Sprintf("/api/v1/users/bulk/%v/cancel", s["id"]), key, nil), http.StatusOK); s["status"] != "cancelled" {
			t.Fatalf("cancelled: %v", s)
		}
		runBulk(t, env)
		if mustGet(t, env, "carol").Level != 1 {
			t.Fatal("a cancelled job ran")
		}

		// Errors: each named, each with its status.
		for _, tc := range []struct {
			body   any
			status int
			field  string
		}{
			{map[string]any{"action": "explode"}, 422, "action"},
			{map[string]any{}, 422, "action"},
			{map[string]any{"action": "ban", "dry_run": "yes"}, 422, "dry_run"},
			{map[string]any{"action": "ban", "filter": map[string]any{"type": "weird"}}, 422, "type"},
			{map[string]any{"action": "ban", "filter": map[string]any{"created_from": "yesterday"}}, 422, "filter.created_from"},
			{map[string]any{"action": "ban", "filter": map[string]any{"colour": "red"}}, 422, "filter.colour"},
			{map[string]any{"action": "ban", "filter": "everyone"}, 422, "filter"},
			{map[string]any{"action": "set_level", "level": 9}, 422, "level"},
			{map[string]any{"action": "ban", "extra": 1}, 422, "extra"},
			{"{", 400, ""},
		} {
			wantAPIError(t, c.API("POST", "/api/v1/users/bulk", key, tc.body), tc.status, tc.field)
		}
		wantAPIError(t, c.API("POST", "/api/v1/users/bulk", "", req), http.StatusUnauthorized, "")
		wantAPIError(t, c.API("GET", "/api/v1/users/bulk/424242", key, nil), http.StatusNotFound, "")
		wantAPIError(t, c.API("GET", "/api/v1/users/bulk/nope", key, nil), http.StatusNotFound, "")

		// A moderator's key: ban yes, delete no, and not an admin's job.
		modKey := keyAt(t, env, "mod", 7)
		wantAPIError(t, c.API("POST", "/api/v1/users/bulk", modKey, map[string]any{"action": "delete"}), http.StatusForbidden, "")
		if p := oneOf(t, c.API("POST", "/api/v1/users/bulk", modKey, map[string]any{"action": "unban"}), http.StatusOK); p["eligible"] != float64(2) {
			t.Fatalf("moderator's dry run: %v", p)
		}
		wantAPIError(t, c.API("GET", loc, modKey, nil), http.StatusNotFound, "")
		wantAPIError(t, c.API("POST", loc+"/cancel", modKey, nil), http.StatusNotFound, "")
		// A member's key: nothing.
		joeKey := keyAt(t, env, "joe", 2)
		wantAPIError(t, c.API("POST", "/api/v1/users/bulk", joeKey, map[string]any{"action": "ban"}), http.StatusForbidden, "")
	})
}

func TestAPIExportCSV(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 9)
		bob := env.User("bob", 1)
		env.User("mod", 8)
		env.User("joe", 8)
		if _, err := env.Users.Update(context.Background(), models.System, bob.ID, models.Patch{Name: ptrTo("@SUM(1+1)")}); err != nil {
			t.Fatal(err)
		}
		c := env.Client()
		key := env.APIKey("admin")
		rows := readCSV(t, c.API("GET", "/api/v1/users/export.csv?role=user&columns=id,username,email,name", key, nil))
		if fmt.Sprint(rows) != fmt.Sprint([][]string{{"id", "username", "email", "name"}, {fmt.Sprint(bob.ID), "bob", "bob@example.com", "'@SUM(1+1)"}}) {
			t.Fatalf("export: %q", rows)
		}
		rows = readCSV(t, c.API("GET", "/api/v1/users/export.csv?created_from=2000-01-01&type=1", key, nil))
		if len(rows) != 5 || !strings.Contains(strings.Join(rows[0], ","), "email") {
			t.Fatalf("default columns: %q", rows)
		}
		modKey := keyAt(t, env, "mod", 7)
		rows = readCSV(t, c.API("GET", "/api/v1/users/export.csv", modKey, nil))
		if strings.Contains(strings.Join(rows[0], ","), "email") || len(rows) != 5 {
			t.Fatalf("moderator's export: %q", rows)
		}
		wantAPIError(t, c.API("GET", "/api/v1/users/export.csv?columns=id,email", modKey, nil), http.StatusForbidden, "")
		wantAPIError(t, c.API("GET", "/api/v1/users/export.csv?columns=secret", key, nil), http.StatusUnprocessableEntity, "columns")
		wantAPIError(t, c.API("GET", "/api/v1/users/export.csv?created_to=soon", key, nil), http.StatusUnprocessableEntity, "created_to")
		wantAPIError(t, c.API("GET", "/api/v1/users/export.csv", "", nil), http.StatusUnauthorized, "")
		memberKey := keyAt(t, env, "joe", 2)
		wantAPIError(t, c.API("GET", "/api/v1/users/export.csv", memberKey, nil), http.StatusForbidden, "")
	})
}

func ptrTo[T any](v T) *T { return &v }

// One filter means the same in the console's export and bulk dry run and
// the API's: the seed's type numbers, a level, a date or a date-time
// (models.FilterFields).
func TestConsoleAndAPIReadOneFilter(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 9)
		for _, name := range []string{"amy", "ben", "cal"} {
			env.User(name, 1)
		}
		dan := env.User("dan", 1)
		if _, err := env.Users.Block(context.Background(), models.System, dan.ID, "spam"); err != nil {
			t.Fatal(err)
		}
		today := env.Clock.Now().UTC().Format(time.DateOnly)
		for _, tc := range []struct {
			query string
			json  map[string]any
			want  int
		}{
			{"type=1&level=1&created_to=" + today, map[string]any{"type": "1", "level": 1, "created_to": today}, 3},
			{"type=banned", map[string]any{"type": "banned"}, 1},
			{"created_from=2000-01-01T00:00:00Z&level=1", map[string]any{"created_from": "2000-01-01T00:00:00Z", "level": 1}, 4},
		} {
			admin := env.SignedIn("admin")
			console := readCSV(t, admin.Get("/admin/users/export.csv?columns=username&"+tc.query))
			api := readCSV(t, admin.API("GET", "/api/v1/users/export.csv?columns=username&"+tc.query, env.APIKey("admin"), nil))
			if len(console)-1 != tc.want || fmt.Sprint(console) != fmt.Sprint(api) {
				t.Errorf("%s: console %q, API %q; want %d rows", tc.query, console, api, tc.want)
			}
			dry := oneOf(t, admin.API("POST", "/api/v1/users/bulk", env.APIKey("admin"), map[string]any{"action": "unban", "filter": tc.json}), http.StatusOK)
			if fmt.Sprint(dry["matched"]) != fmt.Sprint(tc.want) {
				t.Errorf("%s: API bulk dry run matched %v, want %d", tc.query, dry["matched"], tc.want)
			}
			if page := admin.Get("/admin/users/bulk?action=unban&" + tc.query); page.StatusCode != 200 {
				t.Errorf("%s: console bulk dry run %d", tc.query, page.StatusCode)
			}
		}
	})
}
