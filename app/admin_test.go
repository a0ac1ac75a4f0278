package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// console is a cast for the console tests: a superadmin, two admins, a
// moderator and two members.
type console struct {
	root, alice, admin2, mo, bob, carol *models.User
}

func newConsole(env *apptest.Env) console {
	return console{
		root:   env.User("root", models.LevelSuperadmin),
		alice:  env.User("alice", models.LevelAdmin),
		admin2: env.User("admin2", models.LevelAdmin),
		mo:     env.User("moe", models.LevelModerator),
		bob:    env.User("bob", models.LevelUser),
		carol:  env.User("carol", models.LevelUser),
	}
}

func userPath(format string, id int64) string { return fmt.Sprintf(format, id) }

func wantCode(t *testing.T, res *apptest.Response, want int, what string) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s: status %d, want %d\n%s", what, res.StatusCode, want, res.Text())
	}
}

// wantRedirect checks a 303 to the given path.
func want303(t *testing.T, res *apptest.Response, to, what string) {
	t.Helper()
	if res.StatusCode != http.StatusSeeOther || res.Location() != to {
		t.Fatalf("%s: %d to %q, want 303 to %q\n%s", what, res.StatusCode, res.Location(), to, res.Text())
	}
}

var styleAttr = regexp.MustCompile(`(?i)<[^>]+\sstyle=`)

// inlineScript finds a <script> with code in the page (the CSP refuses
// it); a <script src="/static/…"> file is allowed.
var inlineScript = regexp.MustCompile(`(?i)<script(\s[^>]*)?>`)

func hasInlineScript(body string) bool {
	for _, tag := range inlineScript.FindAllString(body, -1) {
		if !strings.Contains(tag, ` src="/static/`) {
			return true
		}
	}
	return false
}

func TestConsolePagesRenderForAdmins(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		cast := newConsole(env)
		c := env.SignedIn("alice")
		for _, p := range []string{"/admin", "/admin/users", userPath("/admin/users/%d", cast.bob.ID), "/admin/users/new",
			"/admin/online", "/admin/events"} {
			res := c.Get(p)
			wantCode(t, res, http.StatusOK, p)
			if styleAttr.MatchString(res.Body) {
				t.Errorf("%s has a style attribute (the CSP forbids it)", p)
			}
			if hasInlineScript(res.Body) {
				t.Errorf("%s has an inline script", p)
			}
			if !strings.Contains(res.Body, `class="admin-nav"`) || !strings.Contains(res.Body, `href="/admin/events"`) {
				t.Errorf("%s: no console navigation with the admin links", p)
			}
			for _, form := range regexp.MustCompile(`(?s)<form[^>]*method="post".*?</form>`).FindAllString(res.Body, -1) {
				if !strings.Contains(form, `name="_csrf"`) {
					t.Errorf("%s: a form without _csrf: %.120s", p, form)
				}
			}
		}
	})
}

func TestConsoleDashboardFigures(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		cast := newConsole(env)
		ctx := context.Background()
		if _, err := env.Users.Block(ctx, models.Actor{User: cast.root}, cast.carol.ID, "spam"); err != nil {
			t.Fatal(err)
		}
		c := env.SignedIn("alice")
		res := c.Get("/admin")
		wantCode(t, res, http.StatusOK, "dashboard")
		for id, n := range map[string]int{"stat-total": 6, "stat-active": 5, "stat-blocked": 1, "stat-inactive": 0,
			"stat-deleted": 0, "stat-online-users": 1, "stat-role-user": 2, "stat-role-admin": 2} {
			want := fmt.Sprintf(`id="%s" data-count="%d"`, id, n)
			if !strings.Contains(res.Body, want) {
				t.Errorf("dashboard: no %s", want)
			}
		}
		for _, want := range []string{`href="/admin/users?type=blocked"`, `href="/admin/users?role=admin"`,
			`<svg class="chart-svg"`, `<title id="chart-signups-title">Sign-ups per day: 6 sign-ups in the last 30 days`,
			`href="/admin/users/` + strconv.FormatInt(cast.carol.ID, 10) + `"`, "Latest logins", "updated just now"} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("dashboard: no %q", want)
			}
		}
		// Today's bar links to the accounts created today.
		today := env.Clock.Now().UTC().Format("2006-01-02")
		if !strings.Contains(res.Body, `/admin/users?created_from=`+today+`&amp;created_to=`+today) {
			t.Errorf("dashboard: today's bar doesn't link to today's sign-ups")
		}
		list := c.Get("/admin/users?created_from=" + today + "&created_to=" + today)
		if !strings.Contains(list.Body, `data-total="6"`) {
			t.Errorf("today's sign-ups: %s", list.Text())
		}
	})
}

func TestConsoleMemberIsRefusedEverywhere(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		cast := newConsole(env)
		bob := env.SignedIn("bob")
		gets := []string{"/admin", "/admin/users", userPath("/admin/users/%d", cast.carol.ID), "/admin/users/new",
			"/admin/online", "/admin/events", "/admin/users?search=x"}
		for _, p := range gets {
			wantCode(t, bob.Get(p), http.StatusForbidden, "member GET "+p)
		}
		for _, a := range []string{"", "/block", "/unblock", "/delete", "/restore", "/purge", "/password",
			"/confirm", "/sessions/revoke"} {
			p := userPath("/admin/users/%d", cast.carol.ID) + a
			wantCode(t, bob.Post(p, url.Values{"reason": {"x"}, "password": {"password123"}}), http.StatusForbidden, "member POST "+p)
		}
		wantCode(t, bob.Post("/admin/users", url.Values{"username": {"evil"}, "password": {"password123"}, "level": {"1"}}),
			http.StatusForbidden, "member create")
		if u, _ := env.Users.Get(context.Background(), cast.carol.ID); u.Type != models.TypeActive {
			t.Errorf("carol changed: type %d", u.Type)
		}
		// A visitor is sent to sign in first.
		res := env.Client().Get("/admin/users")
		want303(t, res, "/login?next=%2Fadmin%2Fusers", "visitor")
	})
}

func TestConsoleModerator(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		cast := newConsole(env)
		mo := env.SignedIn("moe")

		// List and detail without e-mail addresses.
		res := mo.Get("/admin/users")
		wantCode(t, res, http.StatusOK, "list")
		if strings.Contains(res.Body, "@example.com") {
			t.Errorf("the moderator's list shows e-mail addresses")
		}
		if strings.Contains(res.Body, `href="/admin/events"`) || strings.Contains(res.Body, `href="/admin/users/new"`) {
			t.Errorf("the moderator sees admin links")
		}
		detail := mo.Get(userPath("/admin/users/%d", cast.bob.ID))
		wantCode(t, detail, http.StatusOK, "detail")
		if strings.Contains(detail.Body, "@example.com") {
			t.Errorf("the moderator's detail page shows the e-mail address")
		}
		for _, want := range []string{`id="ban-form"`, `action="/admin/users/` + strconv.FormatInt(cast.bob.ID, 10) + `/block"`, `name="reason"`} {
			if !strings.Contains(detail.Body, want) {
				t.Errorf("detail: no %s", want)
			}
		}
		for _, hidden := range []string{`id="edit-form"`, `id="delete-form"`, `id="password-form"`, `id="purge-form"`, `id="revoke-form"`} {
			if strings.Contains(detail.Body, hidden) {
				t.Errorf("the moderator is shown %s", hidden)
			}
		}
		// Searching by e-mail would reveal addresses: it matches nothing.
		if res := mo.Get("/admin/users?search=bob%40example"); !strings.Contains(res.Body, `data-total="0"`) {
			t.Errorf("a moderator found an account by e-mail: %s", res.Text())
		}
		if res := mo.Get("/admin/users?search=bob"); !strings.Contains(res.Body, `data-total="1"`) {
			t.Errorf("a moderator can't find bob by username: %s", res.Text())
		}

		// Ban and unban a lower level.
		want303(t, mo.Post(userPath("/admin/users/%d/block", cast.bob.ID), url.Values{"reason": {"rude"}}),
			userPath("/admin/users/%d", cast.bob.ID), "ban")
		if u, _ := env.Users.Get(context.Background(), cast.bob.ID); u.Type != models.TypeBanned || u.BanReason != "rude" {
			t.Fatalf("bob after the ban: type %d reason %q", u.Type, u.BanReason)
		}
		if res := mo.Get(userPath("/admin/users/%d", cast.bob.ID)); !strings.Contains(res.Body, "bob is banned and signed out.") ||
			!strings.Contains(res.Body, `id="unban-form"`) {
			t.Errorf("after the ban: %s", res.Text())
		}
		want303(t, mo.Post(userPath("/admin/users/%d/unblock", cast.bob.ID), nil), userPath("/admin/users/%d", cast.bob.ID), "unban")
		if u, _ := env.Users.Get(context.Background(), cast.bob.ID); u.Type != models.TypeActive {
			t.Fatalf("bob after the unban: type %d", u.Type)
		}

		// Not: edit, delete, set a password, the admin pages, or anyone at their level or above.
		for p, form := range map[string]url.Values{
			userPath("/admin/users/%d", cast.bob.ID):          {"username": {"bobby"}, "level": {"1"}},
			userPath("/admin/users/%d/delete", cast.bob.ID):   nil,
			userPath("/admin/users/%d/password", cast.bob.ID): {"password": {"password123"}},
			userPath("/admin/users/%d/block", cast.alice.ID):  {"reason": {"x"}},
		} {
			wantCode(t, mo.Post(p, form), http.StatusForbidden, "moderator POST "+p)
		}
		for _, p := range []string{"/admin/online", "/admin/events", "/admin/users/new"} {
			wantCode(t, mo.Get(p), http.StatusForbidden, "moderator GET "+p)
		}
		if res := mo.Get(userPath("/admin/users/%d", cast.alice.ID)); strings.Contains(res.Body, `id="ban-form"`) {
			t.Errorf("the moderator is offered to ban an admin")
		}
		wantCode(t, mo.Post(userPath("/admin/users/%d/sessions/revoke", cast.bob.ID), nil), http.StatusForbidden, "moderator signs bob out")
		// On their own page: only "sign out everywhere", which works.
		own := mo.Get(userPath("/admin/users/%d", cast.mo.ID))
		if !strings.Contains(own.Body, `id="revoke-form"`) || strings.Contains(own.Body, `id="ban-form"`) {
			t.Errorf("the moderator's own page: %s", own.Text())
		}
		want303(t, mo.Post(userPath("/admin/users/%d/sessions/revoke", cast.mo.ID), nil), "/login", "moderator signs out everywhere")
		wantCode(t, mo.Get("/admin"), http.StatusSeeOther, "after signing out everywhere")
	})
}

func TestConsoleAdminCantActOnEqualOrHigher(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		cast := newConsole(env)
		alice := env.SignedIn("alice")
		for _, target := range []*models.User{cast.admin2, cast.root} {
			res := alice.Get(userPath("/admin/users/%d", target.ID))
			wantCode(t, res, http.StatusOK, "detail of "+target.Username)
			if strings.Contains(res.Body, `-form"`) && regexp.MustCompile(`id="(ban|delete|edit|password|revoke)-form"`).MatchString(res.Body) {
				t.Errorf("alice is offered actions on %s", target.Username)
			}
			for _, a := range []string{"", "/block", "/delete", "/password", "/sessions/revoke"} {
				p := userPath("/admin/users/%d", target.ID) + a
				res := alice.Post(p, url.Values{"username": {"renamed"}, "level": {"1"}, "password": {"password123"}})
				wantCode(t, res, http.StatusForbidden, "alice POST "+p)
			}
		}
		wantCode(t, alice.Post(userPath("/admin/users/%d/purge", cast.bob.ID), url.Values{"confirm": {"yes"}}),
			http.StatusForbidden, "purge by an admin")
	})
}

func TestConsolePostWithoutCSRFIsRefused(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		cast := newConsole(env)
		alice := env.SignedIn("alice")
		for _, a := range []string{"/block", "/delete", ""} {
			res := alice.PostRaw(userPath("/admin/users/%d", cast.bob.ID)+a, url.Values{"reason": {"x"}, "username": {"x1x"}, "level": {"1"}})
			wantCode(t, res, http.StatusForbidden, "no _csrf "+a)
		}
		if u, _ := env.Users.Get(context.Background(), cast.bob.ID); u.Type != models.TypeActive || u.Username != "bob" {
			t.Errorf("bob changed without a CSRF token: %+v", u)
		}
	})
}

func TestConsoleBanEndsSessionAndShowsReason(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		cast := newConsole(env)
		bob := env.SignedIn("bob")
		wantCode(t, bob.Get("/dashboard"), http.StatusOK, "bob's dashboard")

		alice := env.SignedIn("alice")
		want303(t, alice.Post(userPath("/admin/users/%d/block", cast.bob.ID), url.Values{"reason": {"Spamming the forum"}}),
			userPath("/admin/users/%d", cast.bob.ID), "ban")

		// bob's open session ends on his next request.
		res := bob.Get("/dashboard")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Location(), "/login") {
			t.Fatalf("bob's next request after the ban: %d %q", res.StatusCode, res.Location())
		}
		// Signing in again shows the reason.
		res = bob.Post("/login", url.Values{"login": {"bob"}, "password": {apptest.Password}})
		wantCode(t, res, http.StatusForbidden, "banned sign-in")
		if !strings.Contains(res.Text(), "Spamming the forum") {
			t.Errorf("the banned sign-in doesn't show the reason: %s", res.Text())
		}
		// The ban is in the audit log, with actor, reason and IP.
		log := alice.Get("/admin/events?action=user.ban")
		wantCode(t, log, http.StatusOK, "events")
		if !strings.Contains(log.Body, `class="event-row"`) || !strings.Contains(log.Text(), "user.ban alice bob") ||
			!strings.Contains(log.Text(), "Spamming the forum") || !strings.Contains(log.Body, "203.0.113.10") {
			t.Errorf("audit log: %s", log.Text())
		}
		// And in bob's history on his page.
		if res := alice.Get(userPath("/admin/users/%d", cast.bob.ID)); !strings.Contains(res.Text(), "user.ban alice") {
			t.Errorf("bob's history: %s", res.Text())
		}
	})
}

func TestConsoleAccountActions(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		cast := newConsole(env)
		ctx := context.Background()
		alice := env.SignedIn("alice")
		bobPage := userPath("/admin/users/%d", cast.bob.ID)
		get := func() *models.User {
			u, err := env.Users.Get(ctx, cast.bob.ID)
			if err != nil {
				t.Fatal(err)
			}
			return u
		}

		// Set a password: too short is a 422 next to the field; then it works and bob's sessions end.
		bob := env.SignedIn("bob")
		res := alice.Post(bobPage+"/password", url.Values{"password": {"short"}})
		wantCode(t, res, http.StatusUnprocessableEntity, "short password")
		if !strings.Contains(res.Body, `id="e-password"`) {
			t.Errorf("no error next to the password field")
		}
		want303(t, alice.Post(bobPage+"/password", url.Values{"password": {"a new password"}}), bobPage, "set password")
		if res := bob.Get("/dashboard"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("bob still signed in after his password was set")
		}
		// Sign out everywhere.
		bob = env.Client()
		bob.SignIn("bob", "a new password")
		want303(t, alice.Post(bobPage+"/sessions/revoke", nil), bobPage, "revoke")
		if res := bob.Get("/dashboard"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("bob still signed in after sign out everywhere")
		}

		// Confirm the e-mail address.
		if get().EmailVerifiedAt != nil {
			t.Fatal("bob's address is already confirmed")
		}
		if res := alice.Get(bobPage); !strings.Contains(res.Body, `id="confirm-form"`) || !strings.Contains(res.Body, `id="resend-form"`) ||
			!strings.Contains(res.Body, `id="reset-form"`) {
			t.Errorf("no confirm/resend/reset buttons for an unconfirmed address")
		}
		want303(t, alice.Post(bobPage+"/confirm", nil), bobPage, "confirm")
		if get().EmailVerifiedAt == nil {
			t.Error("bob's address is not confirmed")
		}

		// Delete with a reason, restore.
		want303(t, alice.Post(bobPage+"/delete", url.Values{"reason": {"asked to leave"}}), bobPage, "delete")
		if get().Type != models.TypeDeleted {
			t.Fatal("bob is not deleted")
		}
		ev, err := env.Users.Events(ctx, models.EventFilter{TargetID: cast.bob.ID, Action: models.EvDelete})
		if err != nil || ev.Total != 1 || ev.Items[0].Detail != "asked to leave" || ev.Items[0].IP == "" ||
			ev.Items[0].ActorID == nil || *ev.Items[0].ActorID != cast.alice.ID {
			t.Errorf("delete event: %+v %v", ev.Items, err)
		}
		res = alice.Get(bobPage)
		if !strings.Contains(res.Body, `id="restore-form"`) || strings.Contains(res.Body, `id="purge-form"`) {
			t.Errorf("deleted account for an admin: restore but no purge expected")
		}
		want303(t, alice.Post(bobPage+"/restore", nil), bobPage, "restore")
		if get().Type != models.TypeActive {
			t.Fatal("bob is not restored")
		}

		// Purge: superadmin only, only after delete, only with the box ticked.
		root := env.SignedIn("root")
		wantCode(t, root.Post(bobPage+"/purge", url.Values{"confirm": {"yes"}}), http.StatusForbidden, "purge before delete")
		want303(t, root.Post(bobPage+"/delete", nil), bobPage, "delete by root")
		if res := root.Get(bobPage); !strings.Contains(res.Body, `id="purge-form"`) {
			t.Errorf("root is not offered purge on a deleted account")
		}
		res = root.Post(bobPage+"/purge", nil)
		wantCode(t, res, http.StatusUnprocessableEntity, "purge without the box")
		if !strings.Contains(res.Body, "Tick the box") {
			t.Errorf("purge without the box: %s", res.Text())
		}
		want303(t, root.Post(bobPage+"/purge", url.Values{"confirm": {"yes"}}), "/admin/users", "purge")
		wantCode(t, root.Get(bobPage), http.StatusNotFound, "purged account")
		if res := root.Get("/admin/events?action=user.purge"); !strings.Contains(res.Text(), "username=bob") {
			t.Errorf("purge not in the audit log: %s", res.Text())
		}
		wantCode(t, root.Post(userPath("/admin/users/%d/block", 999999), nil), http.StatusNotFound, "unknown account")
		wantCode(t, root.Get("/admin/users/abc"), http.StatusNotFound, "bad id")
	})
}

func TestConsoleEditUser(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		cast := newConsole(env)
		ctx := context.Background()
		if _, err := env.Users.Update(ctx, models.System, cast.bob.ID, models.Patch{Var: map[string]any{
			"plan": "pro", "seats": 3, "beta": true, "code": "42",
		}}); err != nil {
			t.Fatal(err)
		}
		alice := env.SignedIn("alice")
		bobPage := userPath("/admin/users/%d", cast.bob.ID)
		page := alice.Get(bobPage)
		for _, want := range []string{`id="edit-form"`, `value="pro"`, `value="3"`, `value="true"`, `value="&#34;42&#34;"`} {
			if !strings.Contains(page.Body, want) {
				t.Errorf("edit form: no %s", want)
			}
		}
		form := url.Values{
			"username": {"bob"}, "name": {"Bob Builder"}, "email": {"bob@example.com"}, "level": {"7"},
			"points": {"12"}, "group": {"blue"}, "avatar": {""},
			// plan changed, seats removed by an empty value, beta left out (removed), code kept, new added.
			"var_key":   {"plan", "seats", "code", "new", ""},
			"var_value": {"team", "", `"42"`, "1.5", ""},
		}
		want303(t, alice.Post(bobPage, form), bobPage, "edit")
		u, _ := env.Users.Get(ctx, cast.bob.ID)
		if u.Name != "Bob Builder" || u.Level != 7 || u.Points != 12 || u.Group != "blue" {
			t.Errorf("after edit: %+v", u)
		}
		want := map[string]any{"plan": "team", "code": "42", "new": 1.5}
		if fmt.Sprint(u.Var) != fmt.Sprint(want) {
			t.Errorf("var after edit: %v, want %v", u.Var, want)
		}

		// Invalid input: 422, errors next to their fields, values kept.
		bad := url.Values{"username": {"x"}, "name": {"Kept Name"}, "email": {"not-an-address"}, "level": {"7"}}
		res := alice.Post(bobPage, bad)
		wantCode(t, res, http.StatusUnprocessableEntity, "invalid edit")
		for _, want := range []string{`id="e-username"`, `id="e-email"`, `value="Kept Name"`} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("invalid edit: no %s", want)
			}
		}
		// A level above what alice may grant.
		form.Set("level", "8")
		res = alice.Post(bobPage, form)
		wantCode(t, res, http.StatusUnprocessableEntity, "level 8 by an admin")
		if !strings.Contains(res.Body, `id="e-level"`) {
			t.Errorf("no level error: %s", res.Text())
		}
		// The last active superadmin can't demote itself.
		root := env.SignedIn("root")
		res = root.Post(userPath("/admin/users/%d", cast.root.ID), url.Values{"username": {"root"}, "email": {"root@example.com"}, "level": {"9"}, "confirm_demote": {"yes"}})
		wantCode(t, res, http.StatusForbidden, "last superadmin demoted")
		if u, _ := env.Users.Get(ctx, cast.root.ID); u.Level != models.LevelSuperadmin {
			t.Errorf("root demoted to %d", u.Level)
		}
		// ...nor ban or delete itself.
		wantCode(t, root.Post(userPath("/admin/users/%d/block", cast.root.ID), nil), http.StatusForbidden, "root bans itself")
		wantCode(t, root.Post(userPath("/admin/users/%d/delete", cast.root.ID), nil), http.StatusForbidden, "root deletes itself")
	})
}

func TestConsoleCreateUser(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		newConsole(env)
		alice := env.SignedIn("alice")
		page := alice.Get("/admin/users/new")
		if !strings.Contains(page.Body, `<option value="7"`) || strings.Contains(page.Body, `<option value="8"`) {
			t.Errorf("alice's level choices: %s", page.Text())
		}
		res := alice.Post("/admin/users", url.Values{"username": {"dave"}, "email": {"dave@example.com"},
			"password": {"password123"}, "level": {"7"}})
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Location(), "/admin/users/") {
			t.Fatalf("create: %d %q %s", res.StatusCode, res.Location(), res.Text())
		}
		u, err := env.Users.GetByUsername(context.Background(), "dave")
		if err != nil || u.Level != 7 {
			t.Fatalf("dave: %+v %v", u, err)
		}
		res = alice.Post("/admin/users", url.Values{"username": {"eve"}, "password": {"password123"}, "level": {"8"}})
		wantCode(t, res, http.StatusUnprocessableEntity, "level 8 by an admin")
		if !strings.Contains(res.Body, `value="eve"`) {
			t.Errorf("the username is not kept")
		}
		res = alice.Post("/admin/users", url.Values{"username": {"DAVE"}, "password": {"password123"}, "level": {"1"}})
		wantCode(t, res, http.StatusUnprocessableEntity, "taken username")
		if !strings.Contains(res.Body, `id="e-username"`) {
			t.Errorf("no error next to the username")
		}
		root := env.SignedIn("root")
		res = root.Post("/admin/users", url.Values{"username": {"root2"}, "password": {"password123"}, "level": {"10"}})
		wantCode(t, res, http.StatusSeeOther, "superadmin makes a superadmin")
	})
}

func TestConsoleListFilters(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		cast := newConsole(env)
		ctx := context.Background()
		for i := 0; i < 25; i++ {
			env.User(fmt.Sprintf("zed%02d", i), models.LevelUser)
		}
		if _, err := env.Users.Block(ctx, models.Actor{User: cast.root}, cast.carol.ID, ""); err != nil {
			t.Fatal(err)
		}
		alice := env.SignedIn("alice")
		total := func(res *apptest.Response) int {
			m := regexp.MustCompile(`id="users-total" data-total="(\d+)"`).FindStringSubmatch(res.Body)
			if m == nil {
				t.Fatalf("no total: %s", res.Text())
			}
			n, _ := strconv.Atoi(m[1])
			return n
		}
		for q, want := range map[string]int{
			"":                             31,
			"search=zed":                   25,
			"search=ZED1":                  10,
			"search=carol%40example":       1,
			"type=blocked":                 1,
			"type=active":                  30,
			"role=admin":                   2,
			"role=superadmin":              1,
			"level=6":                      1,
			"search=zed&limit=10":          25,
			"type=active&role=user&page=2": 26,
		} {
			res := alice.Get("/admin/users?" + q)
			wantCode(t, res, http.StatusOK, q)
			if got := total(res); got != want {
				t.Errorf("%s: total %d, want %d", q, got, want)
			}
		}
		if res := alice.Get("/admin/users?search=carol"); !strings.Contains(res.Body, `title="carol@example.com">carol@example.com`) {
			t.Errorf("the admin's list doesn't show carol's address")
		}
		// Rows carry the hooks; the first page by username starts with admin2.
		res := alice.Get("/admin/users?sort=username")
		first := regexp.MustCompile(`<tr class="user-row" data-id="(\d+)">`).FindStringSubmatch(res.Body)
		if first == nil || first[1] != strconv.FormatInt(cast.admin2.ID, 10) {
			t.Errorf("sort by username: first row %v", first)
		}
		if !strings.Contains(res.Body, `aria-sort="ascending"`) || !strings.Contains(res.Body, `href="/admin/users?sort=-username"`) {
			t.Errorf("the username header doesn't offer the other direction")
		}
		if !strings.Contains(res.Body, `<a class="user-link" href="/admin/users/`) {
			t.Errorf("no user links")
		}
		// Page links keep the filter.
		res = alice.Get("/admin/users?search=zed&limit=20")
		if !strings.Contains(res.Body, `href="/admin/users?limit=20&amp;page=2&amp;search=zed"`) {
			t.Errorf("page links lose the filter: %s", res.Body)
		}
		// Filters that can't be honoured: a clear message, never a 500.
		for q, msg := range map[string]string{
			"sort=password_hash": "Sort by one of",
			"type=robots":        "Unknown type",
			"role=king":          "Unknown role",
			"level=high":         "Level is a number",
			"created_from=soon":  "Use a date like",
			"sort=id;drop":       "Sort by one of",
		} {
			res := alice.Get("/admin/users?" + q)
			wantCode(t, res, http.StatusUnprocessableEntity, q)
			if !strings.Contains(res.Body, `class="flash flash-error" role="alert"`) || !strings.Contains(res.Text(), msg) {
				t.Errorf("%s: no clear message %q: %s", q, msg, res.Text())
			}
			if total(res) != 31 {
				t.Errorf("%s: the list doesn't fall back to the rest of the filter", q)
			}
		}
		// A search is kept for a few seconds, but a change made meanwhile shows at once.
		res = alice.Get("/admin/users?search=zed")
		if total(res) != 25 {
			t.Fatalf("search=zed: %d", total(res))
		}
		want303(t, alice.Post(userPath("/admin/users/%d/delete", cast.bob.ID), nil), userPath("/admin/users/%d", cast.bob.ID), "delete bob")
		res = alice.Post("/admin/users", url.Values{"username": {"zed99"}, "password": {"password123"}, "level": {"1"}})
		wantCode(t, res, http.StatusSeeOther, "create zed99")
		if res := alice.Get("/admin/users?search=zed"); total(res) != 26 || !strings.Contains(res.Body, ">zed99</a>") {
			t.Errorf("search=zed after zed99 was made: %d", total(res))
		}
		// A date range counts only its days.
		env.Clock.Advance(72 * time.Hour)
		env.User("newcomer", models.LevelUser)
		today := env.Clock.Now().UTC().Format("2006-01-02")
		if res := alice.Get("/admin/users?created_from=" + today); total(res) != 1 || !strings.Contains(res.Body, ">newcomer</a>") {
			t.Errorf("created today: %d", total(res))
		}
		if res := alice.Get("/admin/users?created_to=" + env.Clock.Now().Add(-24*time.Hour).UTC().Format("2006-01-02")); total(res) != 32 {
			t.Errorf("created until yesterday: %d", total(res))
		}

		// Absurd page numbers and sizes are clamped.
		for _, q := range []string{"page=999999999", "page=-4", "limit=100000", "limit=-1", "page=abc", "limit=2&page=99"} {
			res := alice.Get("/admin/users?" + q)
			wantCode(t, res, http.StatusOK, q)
			if !strings.Contains(res.Body, `class="user-row"`) {
				t.Errorf("%s: no rows", q)
			}
		}
	})
}

func TestConsoleOnlineAndEvents(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		newConsole(env)
		guest := env.Client()
		guest.Get("/") // a first visit sets the visitor cookie; the guest counts from its next page
		guest.Get("/")
		env.SignedIn("bob").Get("/dashboard")
		alice := env.SignedIn("alice")
		res := alice.Get("/admin/online")
		wantCode(t, res, http.StatusOK, "online")
		if !strings.Contains(res.Body, "<title>Online: 2 members, 1 guest") {
			t.Errorf("online title: %s", regexp.MustCompile(`<title>.*</title>`).FindString(res.Body))
		}
		if !strings.Contains(res.Text(), "bob /dashboard") || !strings.Contains(res.Text(), "guest /") || !strings.Contains(res.Body, "203.0.113.10") {
			t.Errorf("online list: %s", res.Text())
		}
		if res := alice.Get("/admin/online?kind=guests"); strings.Contains(res.Text(), "bob /dashboard") {
			t.Errorf("guests only shows bob")
		}
		wantCode(t, alice.Get("/admin/online?kind=robots"), http.StatusUnprocessableEntity, "unknown kind")

		// The audit log filters.
		res = alice.Get("/admin/events?actor=bob&action=login")
		wantCode(t, res, http.StatusOK, "events by bob")
		if strings.Count(res.Body, `class="event-row"`) != 1 {
			t.Errorf("bob's logins: %s", res.Text())
		}
		today := env.Clock.Now().UTC().Format("2006-01-02")
		if res := alice.Get("/admin/events?action=user.&since=" + today + "&until=" + today); !strings.Contains(res.Text(), "user.create") {
			t.Errorf("today's console actions: %s", res.Text())
		}
		if res := alice.Get("/admin/events?since=2000-01-01&until=2000-01-02"); strings.Contains(res.Body, `class="event-row"`) {
			t.Errorf("events in 2000: %s", res.Text())
		}
		for q, msg := range map[string]string{
			"action=drop.table": "Unknown action",
			"actor=nobody":      "No account is called “nobody”, so no event matches “By”.",
			"since=yesterday":   "“From” takes a date like 2026-01-31: the list below ignores it.",
		} {
			res := alice.Get("/admin/events?" + q)
			wantCode(t, res, http.StatusUnprocessableEntity, q)
			if !strings.Contains(res.Text(), msg) {
				t.Errorf("%s: no %q: %s", q, msg, res.Text())
			}
		}
		// An unknown account in "By" matches nothing: the page must not claim the list ignores it.
		if res := alice.Get("/admin/events?actor=nobody"); strings.Contains(res.Text(), "ignores") {
			t.Errorf("actor=nobody says the list ignores it: %s", res.Text())
		}
		wantCode(t, alice.Get("/admin/events?page=99999999"), http.StatusOK, "absurd page")
	})
}

// The user list's and audit log's pages are kept once drawn (Page.ListKey):
// the kept page is the page drawn, and a viewer of another level, another
// filter or page, or a change of the accounts or events shown, gets its own.
func TestConsoleKeptListsFollowViewerAndChanges(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		cast := newConsole(env)
		alice, mo := env.SignedIn("alice"), env.SignedIn("moe")
		alice.Get("/admin") // the sign-in's welcome flash
		mo.Get("/admin")
		for _, p := range []string{"/admin/users?sort=username", "/admin/events"} {
			first, again := alice.Get(p), alice.Get(p)
			wantCode(t, first, http.StatusOK, p)
			if first.Body != again.Body {
				a, b := first.Body, again.Body
				i := 0
				for i < len(a) && i < len(b) && a[i] == b[i] {
					i++
				}
				t.Errorf("%s: the kept page differs from the page drawn at %d:\n%s\n---\n%s", p, i, a[max(0, i-200):min(len(a), i+200)], b[max(0, i-200):min(len(b), i+200)])
			}
		}
		admins := alice.Get("/admin/users?sort=username")
		if !strings.Contains(admins.Body, `href="/admin/users/new"`) || !strings.Contains(admins.Body, "bob@example.com") {
			t.Fatalf("the admin's list: %s", admins.Text())
		}
		mods := mo.Get("/admin/users?sort=username")
		wantCode(t, mods, http.StatusOK, "the moderator's list")
		if strings.Contains(mods.Body, `href="/admin/users/new"`) || strings.Contains(mods.Body, "@example.com") {
			t.Errorf("the moderator was shown the admin's kept list: %s", mods.Text())
		}
		if a, b := alice.Get("/admin/users?sort=-username"), alice.Get("/admin/users?sort=username&type=blocked"); a.Body == admins.Body || b.Body == admins.Body ||
			!strings.Contains(b.Body, `data-total="0"`) {
			t.Errorf("another sort or filter was answered with a kept page")
		}
		// No rows to tell them apart: the level does.
		if res := mo.Get("/admin/users?sort=username&type=blocked"); strings.Contains(res.Body, `href="/admin/users/new"`) {
			t.Errorf("the moderator was shown the admin's kept empty list: %s", res.Text())
		}
		// A rename shows at once, in the list and in the audit log.
		want303(t, alice.Post(userPath("/admin/users/%d", cast.bob.ID), url.Values{"username": {"bobby"}, "email": {"bob@example.com"}, "level": {"1"}}),
			userPath("/admin/users/%d", cast.bob.ID), "rename bob")
		if res := alice.Get("/admin/users?sort=username"); !strings.Contains(res.Body, ">bobby<") {
			t.Errorf("the list after a rename: %s", res.Text())
		}
		if res := alice.Get("/admin/events"); !strings.Contains(res.Body, ">bobby<") || !strings.Contains(res.Body, ">user.update<") {
			t.Errorf("the audit log after a rename: %s", res.Text())
		}
	})
}
