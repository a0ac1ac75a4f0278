package app_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// siteAt serves the site scripts of dir, mounted at prefix ("" = the
// root). The time limit is a second: the machines that run the tests may
// be busy, and only TestSiteSandbox is about the limit.
func siteAt(dir, prefix string) func(*app.Config) {
	return func(c *app.Config) {
		c.SiteDir = dir
		c.SitePrefix = prefix
		c.SiteTimeout = time.Second
	}
}

// flashOf follows a redirect and returns the flash messages shown there.
func flashOf(t *testing.T, c *apptest.Client, res *apptest.Response) string {
	t.Helper()
	if res.StatusCode != 303 && res.StatusCode != 302 {
		t.Fatalf("want a redirect, got %d: %s", res.StatusCode, res.Text())
	}
	page := c.Get(res.Location())
	var out []string
	for _, m := range regexp.MustCompile(`(?s)<div class="flash flash-(\w+)"[^>]*>(.*?)</div>`).FindAllStringSubmatch(page.Body, -1) {
		out = append(out, m[1]+": "+strings.TrimSpace(m[2]))
	}
	return strings.Join(out, "\n")
}

// The four examples of seed 000, verbatim in testdata/site-seed000, at the
// root: they take over POST /register, POST /login, /profile/:username and
// the home page.
func TestSiteSeed000(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("alice", 1)
		visitor := env.Client()

		t.Run("registration", func(t *testing.T) {
			for _, tc := range []struct {
				name string
				form url.Values
				want string
			}{
				{"short name", url.Values{"username": {"al"}, "email": {"al@example.com"}, "password": {"long enough pw"}},
					"error: The username must be at least 3 characters."},
				{"bad e-mail", url.Values{"username": {"bobby"}, "email": {"not-an-address"}, "password": {"long enough pw"}},
					"error: The email must be a valid e-mail address."},
				{"taken name", url.Values{"username": {"alice"}, "email": {"other@example.com"}, "password": {"long enough pw"}},
					"error: Username already taken"},
				{"success", url.Values{"username": {"bobby"}, "email": {"bobby@example.com"}, "password": {"long enough pw"}},
					"success: Welcome, bobby!"},
			} {
				res := visitor.Post("/register", tc.form)
				if got := flashOf(t, visitor, res); got != tc.want {
					t.Errorf("%s: flash %q, want %q", tc.name, got, tc.want)
				}
				wantTo := "/register"
				if tc.name == "success" {
					wantTo = "/login"
				}
				if res.StatusCode != 303 || res.Location() != wantTo {
					t.Errorf("%s: %d to %q, want 303 to %s", tc.name, res.StatusCode, res.Location(), wantTo)
				}
			}
			u, err := env.Users.GetByUsername(context.Background(), "bobby")
			if err != nil {
				t.Fatalf("bobby was not registered: %v", err)
			}
			if u.Level != 1 || u.EmailAddress() != "bobby@example.com" {
				t.Errorf("registered as level %d with %q", u.Level, u.EmailAddress())
			}
			if res := visitor.Get("/dashboard"); res.StatusCode != 303 {
				t.Errorf("registration signed the visitor in (dashboard %d)", res.StatusCode)
			}
		})

		t.Run("login", func(t *testing.T) {
			for _, tc := range []struct{ login, password, want, to string }{
				{"bobby", "wrong password!", "error: Invalid credentials", "/login"},
				{"bobby", "long enough pw", "success: Welcome back, bobby!", "/dashboard"},
				{"BOBBY@example.com", "long enough pw", "success: Welcome back, bobby!", "/dashboard"},
			} {
				c := env.Client()
				res := c.Post("/login", url.Values{"username": {tc.login}, "password": {tc.password}})
				if res.StatusCode != 303 || res.Location() != tc.to {
					t.Errorf("%s: %d to %q, want 303 to %s", tc.login, res.StatusCode, res.Location(), tc.to)
				}
				if got := flashOf(t, c, res); got != tc.want {
					t.Errorf("%s: flash %q, want %q", tc.login, got, tc.want)
				}
				signedIn := c.Get("/dashboard").StatusCode == 200
				if signedIn != (tc.to == "/dashboard") {
					t.Errorf("%s: signed in = %v", tc.login, signedIn)
				}
			}
		})

		t.Run("profile", func(t *testing.T) {
			res := visitor.Get("/profile/alice")
			if res.StatusCode != 200 || !strings.Contains(res.Body, `data-username="alice"`) {
				t.Fatalf("profile: %d %s", res.StatusCode, res.Text())
			}
			if strings.Contains(res.Body, "site-email") || strings.Contains(res.Body, "site-edit") {
				t.Errorf("a visitor sees alice's e-mail or edit link: %s", res.Body)
			}
			if !strings.Contains(res.Body, `<link rel="stylesheet"`) || !strings.Contains(res.Body, `class="site-header"`) {
				t.Errorf("the view is not drawn in the site layout: %s", res.Body)
			}
			owner := env.Client()
			owner.Post("/login", url.Values{"username": {"alice"}, "password": {apptest.Password}})
			res = owner.Get("/profile/alice")
			if !strings.Contains(res.Body, `id="site-edit"`) || !strings.Contains(res.Body, "alice@example.com") {
				t.Errorf("the owner doesn't see the edit link and their e-mail: %s", res.Text())
			}
			// A kept drawing follows the account: a change shows at once.
			alice, _ := env.Users.GetByUsername(context.Background(), "alice")
			pts := int64(77)
			if _, err := env.Users.Update(context.Background(), models.System, alice.ID, models.Patch{Points: &pts}); err != nil {
				t.Fatal(err)
			}
			if res := visitor.Get("/profile/alice"); !strings.Contains(res.Body, "77 points") {
				t.Errorf("the profile after a change: %s", res.Text())
			}
			res = visitor.Get("/profile/nobody")
			if res.StatusCode != 404 || !strings.Contains(res.Text(), "User not found") {
				t.Errorf("unknown profile: %d %s", res.StatusCode, res.Text())
			}
		})

		t.Run("online badge", func(t *testing.T) {
			for _, name := range []string{"alice", "bobby"} {
				c := env.Client()
				c.Post("/login", url.Values{"username": {name}, "password": {passwordOf(name)}})
				c.Get("/dashboard") // seen on a page
			}
			env.Clock.Advance(5 * time.Second) // past the home counts' cache
			members, guests, err := env.Users.OnlineCounts(context.Background())
			if err != nil || members != 2 {
				t.Fatalf("online members %d (%v), want 2", members, err)
			}
			res := env.Client().Get("/")
			want := fmt.Sprintf(`data-count="%d"`, members+guests) // online() counts guests too
			if !strings.Contains(res.Body, want) || !strings.Contains(res.Body, `data-total="2"`) {
				t.Errorf("badge: want %s and 2 members: %s", want, res.Text())
			}
			env.User("carol", 1)
			env.Clock.Advance(5 * time.Second)
			if res := env.Client().Get("/"); !strings.Contains(res.Body, `data-total="3"`) {
				t.Errorf("badge after a sign-up: want 3 members: %s", res.Text())
			}
		})
	}, siteAt("testdata/site-seed000", ""))
}

func passwordOf(name string) string {
	if name == "bobby" {
		return "long enough pw"
	}
	return apptest.Password
}

// Seed 002's colon-style wrapper, verbatim in a route run by an admin:
// account 42 gets level 5 and is then deleted (softly), newuser is made.
func TestSiteSeed002(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("root", models.LevelSuperadmin)
		for i := 2; i <= 42; i++ {
			env.User(fmt.Sprintf("john%02d", i), models.LevelUser)
		}
		root := env.SignedIn("root")
		res := root.Post("/site/seed002", nil)
		wantCode(t, res, 200, "seed 002")
		var out struct {
			Users    struct{ Total int }
			Me       struct{ Username string }
			User     struct{ ID int64 }
			NewUser  struct{ Username, Email string }
			Visitors struct{ Total int }
		}
		res.JSON(t, &out)
		if out.Users.Total != 41 || out.Me.Username != "root" || out.User.ID != 42 ||
			out.NewUser.Username != "newuser" || out.NewUser.Email != "new@example.com" || out.Visitors.Total < 0 {
			t.Errorf("seed 002 answered %+v", out)
		}
		u, err := env.Users.Get(context.Background(), 42)
		if err != nil || u.Level != 5 || u.Type != models.TypeDeleted {
			t.Errorf("account 42: %+v %v; want level 5, deleted", u, err)
		}
		// A member runs the same code: the list has no e-mail addresses,
		// and creating an account (an admin's action) becomes a sign-up of
		// an account that exists: refused with its page (409).
		env.User("member", models.LevelUser)
		res = env.SignedIn("member").Post("/site/seed002", nil)
		if res.StatusCode != 409 {
			t.Errorf("a member running seed 002: %d %s", res.StatusCode, res.Text())
		}
	}, siteAt("testdata/site-seed002", "/site"))
}

// Seed 001's core.users examples, verbatim, run from the console by a
// superadmin; what they print is the listeners' answers.
func TestSiteSeed001(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("root", models.LevelSuperadmin)
		root := env.SignedIn("root")
		res := root.Post("/admin/scripts/run", url.Values{"code": {seed001}})
		wantCode(t, res, 200, "run seed 001")
		out := snippetOutput(res)
		tiny, err := env.Users.GetByUsername(context.Background(), "tiny")
		if err != nil {
			t.Fatalf("core.users.create made no account: %v\n%s", err, out)
		}
		id := strconv.FormatInt(tiny.ID, 10)
		want := []string{
			id,                                     // create: evt.result.user_id
			id,                                     // login by username
			"invalid username, e-mail or password", // login by e-mail: no such account
			"not found",                            // get: the seed's user_id is not one of ours
			"bad argument",                         // update
			"bad argument",                         // delete
			"bad argument",                         // resendConfirmation
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(want) {
			t.Fatalf("seed 001 printed %d lines, want %d:\n%s", len(lines), len(want), out)
		}
		for i, w := range want {
			if !strings.Contains(strings.ToLower(lines[i]), strings.ToLower(w)) {
				t.Errorf("line %d: %q, want %q", i+1, lines[i], w)
			}
		}
		// The same calls on tiny's real id, and core.users.NULL removing a key of extra.
		code := strings.NewReplacer("ID", id).Replace(`
core.users.update({ user_id = "ID", update = { extra = { color = "red", size = 3 } } }, function(evt) print(evt.error or evt.result.var.color) end)
core.users.update({ user_id = "ID", update = { extra = { color = core.users.NULL } } }, function(evt) print(evt.error or tostring(evt.result.var.color) .. " " .. evt.result.var.size) end)
core.users.get({ user_id = "ID" }, function(evt) print(evt.error or evt.result.username) end)
core.users.update({ user_id = "ID", update = { password = "abcd" } }, function(evt) print(evt.error) end)
core.users.resendConfirmation({ user_id = "ID" }, function(evt) print(evt.error or evt.result) end)
core.users.delete({ user_id = "ID" }, function(evt) print(evt.error or evt.result) end)
core.users.login({ username = "tiny", password = "abcd1234" }, function(evt) print(evt.error or evt.result.user_id) end)
`)
		out = snippetOutput(root.Post("/admin/scripts/run", url.Values{"code": {code}}))
		want = []string{"red", "nil 3", "tiny", "password", "", "1", "invalid"}
		lines = strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(want) {
			t.Fatalf("printed %d lines, want %d:\n%s", len(lines), len(want), out)
		}
		for i, w := range want {
			if !strings.Contains(strings.ToLower(lines[i]), w) {
				t.Errorf("line %d: %q, want %q", i+1, lines[i], w)
			}
		}
		if !strings.Contains(lines[4], "no e-mail address") {
			t.Errorf("resendConfirmation for an account without an address: %q", lines[4])
		}
	})
}

// seed001 is seed 001's examples as written, but for one: the NULL
// example's listener body is "...", which is not Lua; it prints instead.
const seed001 = `
local function onUserCreate( evt )
  if evt.error then
    print(evt.error)
  else
    print(evt.result.user_id) -- holds the users id
  end
end

core.users.create({
  username="tiny", 
  password="abcd1234"
}, onUserCreate)

local function onUserLogin( evt )
  if evt.error then
    print(evt.error)
  else
    print(evt.result.user_id) -- result holds the login object
  end
end

core.users.login({username="tiny", password="abcd1234"}, onUserLogin)

local function onUserLogin( evt )
  if evt.error then
    print(evt.error)
  else
    print(evt.result.user_id) -- result holds the login object
  end
end

core.users.login({email="tina@home.com", password="abcd1234"}, onUserLogin)

local function onUserGet( evt )
  if evt.error then
    print(evt.error)
  else
    print(evt.result.user_id) -- result holds the user object
  end
end

core.users.get({user_id="289bc36e-0df7-44df-99b1-a6543c6f45eb"}, onUserGet)

local function onUserUpdate( evt )
  if evt.error then
    print(evt.error)
  else
    print(evt.result.user_id) -- result is the updated user object
  end
end

core.users.update({
  user_id = "289bc36e-0df7-44df-99b1-a6543c6f45eb",
  update = {
    email = "some@email.com",
    password = "abcd"
  }
}, onUserUpdate)

local function onUserDelete( evt )
  if evt.error then
    print(evt.error)
  else
    print(evt.result) -- 1 or 0
  end
end

core.users.delete({user_id="289bc36e-0df7-44df-99b1-a6543c6f45eb"}, onUserDelete)

local function onResend( evt )
  if evt.error then
    print(evt.error)
  else
    print(evt.result) -- result holds the users id
  end
end

core.users.resendConfirmation({
  user_id="289bc36e-0df7-44df-99b1-a6543c6f45eb"
}, onResend)
`

var snippetOut = regexp.MustCompile(`(?s)<pre id="snippet-output"[^>]*>(.*?)</pre>`)

// snippetOutput is the console's output of a snippet run (HTML-unescaped).
func snippetOutput(res *apptest.Response) string {
	m := snippetOut.FindStringSubmatch(res.Body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// The sandbox: no way out to the files, the process or the network; a
// runaway loop is stopped by SITE_TIMEOUT while other requests go on.
func TestSiteSandbox(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		visitor := env.Client()
		res := visitor.Get("/site/escapes")
		var esc struct {
			Found any // an empty table is {}
			N     int
		}
		wantCode(t, res, 200, "escapes")
		res.JSON(t, &esc)
		if esc.N != 0 {
			t.Errorf("the sandbox lets through: %v", esc.Found)
		}

		// A runaway loop: 500 with the request id; the requests beside it answer.
		done := make(chan *apptest.Response)
		go func() { done <- env.Client().Get("/site/loop") }()
		for i := 0; i < 20; i++ {
			if res := env.Client().Get("/site/fast?n=" + strconv.Itoa(i)); res.StatusCode != 200 || res.Body != "fast "+strconv.Itoa(i) {
				t.Fatalf("a request beside the loop: %d %q", res.StatusCode, res.Body)
			}
		}
		loop := <-done
		if loop.StatusCode != 500 || !strings.Contains(loop.Text(), "Request id") || strings.Contains(loop.Body, "sandbox.lua") {
			t.Errorf("runaway loop: %d %s", loop.StatusCode, loop.Text())
		}

		// Errors: a 500 page without internals in production; no answer is an error too.
		for _, p := range []string{"/site/boom", "/site/silent"} {
			res := visitor.Get(p)
			if res.StatusCode != 500 || strings.Contains(res.Body, "sandbox.lua") || !strings.Contains(res.Text(), "Request id") {
				t.Errorf("%s: %d %s", p, res.StatusCode, res.Text())
			}
		}

		// The console lists what failed, with file and line.
		env.User("root", models.LevelSuperadmin)
		page := env.SignedIn("root").Get("/admin/scripts")
		for _, want := range []string{"sandbox.lua:19</code>: stopped: ran longer than its limit of 1s",
			"sandbox.lua:28</code>: attempt to index a non-table object(nil) with key 'field'",
			"sandbox.lua:31</code>: the route sent no answer"} {
			if !strings.Contains(html.UnescapeString(page.Body), want) {
				t.Errorf("console errors: want %q in\n%s", want, page.Text())
			}
		}
	}, siteAt("testdata/site-sandbox", "/site"))
}

var _ = time.Second

// Script routes under SITE_PREFIX go through the page middleware (session,
// CSRF, presence, security headers), draw views in the layout with
// escaping, and act with the visitor's permissions.
func TestSiteRoutes(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		root := env.User("root", models.LevelSuperadmin)
		bob := env.User("bob", models.LevelUser)
		visitor := env.Client()

		res := visitor.Get("/site/hello")
		if res.StatusCode != 200 || !strings.Contains(res.Body, `<p id="hello">Hello, stranger!</p>`) ||
			!strings.Contains(res.Body, "<title>Hello · Webmin</title>") {
			t.Errorf("/site/hello: %d %s", res.StatusCode, res.Body)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("no security headers on a script route: %q", csp)
		}
		res = visitor.Get("/site/HELLO/" + url.PathEscape("<script>x</script>"))
		if !strings.Contains(res.Body, "Hello, &lt;script&gt;x&lt;/script&gt;!") {
			t.Errorf("a parameter is not escaped: %s", res.Body)
		}
		if res := visitor.Get("/"); !strings.Contains(res.Body, `id="online-badge"`) {
			t.Errorf("with a prefix, the built-in home stays: %s", res.Text())
		}
		if res := visitor.Get("/sitemap"); res.StatusCode != 404 {
			t.Errorf("/sitemap is not under /site: %d", res.StatusCode)
		}
		if res := visitor.Get("/site/nothing-here"); res.StatusCode != 404 {
			t.Errorf("no such script route: %d", res.StatusCode)
		}

		// CSRF on POST, like every form; the token is not in req.post.
		if res := visitor.PostRaw("/site/echo", url.Values{"a": {"1"}}); res.StatusCode != 403 {
			t.Errorf("POST without the CSRF token: %d", res.StatusCode)
		}
		res = visitor.Post("/site/echo", url.Values{"a": {"1"}})
		if res.StatusCode != 200 || res.Body != `{"is_user":false,"post":{"a":"1"}}` {
			t.Errorf("echo: %d %s", res.StatusCode, res.Body)
		}

		// Permissions: a visitor's script is a visitor.
		if res := visitor.Post(fmt.Sprintf("/site/delete/%d", bob.ID), nil); res.StatusCode != 403 {
			t.Errorf("a visitor deleted an account through a script: %d %s", res.StatusCode, res.Text())
		}
		member := env.SignedIn("bob")
		// Presence: a member on a script's page is online, on that page.
		member.Get("/site/hello/bob")
		online, err := env.Users.Online(context.Background(), models.OnlineFilter{UserID: bob.ID})
		if err != nil || online.Total != 1 || online.Items[0].Page != "/site/hello/bob" {
			t.Errorf("presence on a script page: %+v %v", online, err)
		}
		res = member.Post(fmt.Sprintf("/site/promote/%d", root.ID), nil)
		if res.StatusCode != 403 || !strings.Contains(res.Body, "you can't do that") {
			t.Errorf("a member promoted an account through a script: %d %s", res.StatusCode, res.Body)
		}
		res = member.Post(fmt.Sprintf("/site/delete/%d", root.ID), nil)
		if res.StatusCode != 403 {
			t.Errorf("a member deleted an account through a script: %d", res.StatusCode)
		}
		for _, tc := range []struct {
			c    *apptest.Client
			want string
		}{{visitor, `"n":0`}, {member, `"n":1`}, {env.SignedIn("root"), `"n":2`}} {
			// example.com matches every address: only admins see (and search) them all, a member their own.
			res := tc.c.Get("/site/list?q=o")
			if !strings.Contains(res.Body, tc.want) {
				t.Errorf("list as seen: %s, want %s", res.Body, tc.want)
			}
		}
		if res := visitor.Get("/site/list?q=example.com"); !strings.Contains(res.Body, `"total":0`) {
			t.Errorf("a visitor's search looks at e-mail addresses: %s", res.Body)
		}
		// A visitor's create is a sign-up: the default level, whatever is asked.
		res = visitor.Post("/site/create", url.Values{"username": {"eve"}, "email": {"eve@example.com"},
			"password": {"long enough pw"}, "level": {"9"}})
		if res.StatusCode != 200 || !strings.Contains(res.Body, `"level":1`) {
			t.Errorf("a visitor's create: %d %s", res.StatusCode, res.Body)
		}
		// A taken name is the service's conflict: its page, not a 500.
		res = visitor.Post("/site/create", url.Values{"username": {"EVE"}, "email": {"eve2@example.com"}, "password": {"long enough pw"}})
		if res.StatusCode != 409 {
			t.Errorf("a taken name through a script: %d %s", res.StatusCode, res.Text())
		}
	}, siteAt("testdata/site-sandbox", "/site"))
}

// Registration closed: a visitor's api.users.create is refused.
func TestSiteRegistrationClosed(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		res := env.Client().Post("/site/create", url.Values{"username": {"eve"}, "email": {"eve@example.com"}, "password": {"long enough pw"}})
		if res.StatusCode != 403 {
			t.Errorf("closed registration: %d %s", res.StatusCode, res.Text())
		}
	}, siteAt("testdata/site-sandbox", "/site"), func(c *app.Config) { c.Registration = app.RegistrationClosed })
}

// A script that doesn't compile, that declares a reserved route at the
// root, or a pattern Fiber would read inside a segment, stops the start
// with its file and line.
func TestSiteLoadErrors(t *testing.T) {
	for _, tc := range []struct{ dir, prefix, want string }{
		{"testdata/site-broken", "/site", "testdata/site-broken/broken.lua:2: syntax error near '='"},
		{"testdata/site-reserved", "", `testdata/site-reserved/admin.lua:1: app:get("/admin/takeover"): scripts can't take over /admin/takeover`},
		{"testdata/site-pattern", "/site", `testdata/site-pattern/pattern.lua:2: app:get("/flights/:from-:to"): a parameter takes a whole segment`},
	} {
		cfg := testConfig(t)
		cfg.SiteDir, cfg.SitePrefix = tc.dir, tc.prefix
		_, err := app.NewServer(cfg, apptest.New(t, "sqlite").Users, slog.New(slog.DiscardHandler))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.dir, err, tc.want)
		}
	}
	// Under a prefix, /admin/takeover is /site/admin/takeover: allowed.
	env := apptest.New(t, "sqlite", siteAt("testdata/site-reserved", "/site"))
	if res := env.Client().Get("/site/admin/takeover"); res.Body != "mine" {
		t.Errorf("/site/admin/takeover: %d %s", res.StatusCode, res.Body)
	}
}

func testConfig(t *testing.T) app.Config {
	cfg, err := app.LoadConfig(apptest.Lookup(map[string]string{
		"DATA_DIR":       t.TempDir(),
		"SESSION_SECRET": "test-secret-test-secret-test-secret-0123456789",
	}))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// SITE_PREFIX set empty, or to /, is the root; unset is /site; a
// reserved or patterned prefix stops the start.
func TestSitePrefixSetting(t *testing.T) {
	load := func(env map[string]string) (app.Config, error) {
		env["DATA_DIR"] = t.TempDir()
		return app.LoadConfig(apptest.Lookup(env))
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "/site"},
		{map[string]string{"SITE_PREFIX": ""}, ""},
		{map[string]string{"SITE_PREFIX": "/"}, ""},
		{map[string]string{"SITE_PREFIX": "pages/"}, "/pages"},
	} {
		cfg, err := load(tc.env)
		if err != nil || cfg.SitePrefix != tc.want {
			t.Errorf("SITE_PREFIX %v: %q, %v; want %q", tc.env, cfg.SitePrefix, err, tc.want)
		}
	}
	for _, bad := range []string{"/admin", "/api/x", "/:name", " "} {
		if _, err := load(map[string]string{"SITE_PREFIX": bad}); err == nil || !strings.Contains(err.Error(), "SITE_PREFIX") {
			t.Errorf("SITE_PREFIX=%q accepted (%v)", bad, err)
		}
	}
	// Read from an environment where it is set empty, the scripts answer at the root.
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		if res := env.Client().Get("/"); !strings.Contains(res.Body, `id="site-online"`) {
			t.Errorf("SITE_PREFIX empty: / is not the script's page: %s", res.Text())
		}
	}, func(c *app.Config) {
		loaded, err := load(map[string]string{"SITE_PREFIX": "", "SITE_DIR": "testdata/site-seed000"})
		if err != nil {
			t.Fatal(err)
		}
		c.SiteDir, c.SitePrefix, c.SiteTimeout = loaded.SiteDir, loaded.SitePrefix, time.Second
	})
}

// With SITE_PREFIX at the root, a script route takes over a built-in page
// of the same path, but never the reserved ones.
func TestSiteRootPrecedence(t *testing.T) {
	env := apptest.New(t, "sqlite", siteAt("testdata/site-seed000", ""))
	visitor := env.Client()
	if res := visitor.Get("/"); !strings.Contains(res.Body, `id="site-online"`) || strings.Contains(res.Body, `id="online-badge"`) {
		t.Errorf("the script's home doesn't replace the built-in one: %s", res.Text())
	}
	if res := visitor.Get("/register"); res.StatusCode != 200 || !strings.Contains(res.Body, `name="username"`) {
		t.Errorf("GET /register (built-in, no script route): %d", res.StatusCode)
	}
	if res := visitor.Get("/healthz"); res.Body != "ok" {
		t.Errorf("/healthz: %s", res.Body)
	}
}

// Hooks run after the service's event, as the account that caused it;
// a runaway hook is stopped by its limit and the request never waits.
func TestSiteHooks(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("root", models.LevelSuperadmin)
		bob := env.User("bob", models.LevelUser)
		root := env.SignedIn("root") // also a login: the runaway hook
		want303(t, root.Post(fmt.Sprintf("/admin/users/%d/block", bob.ID), url.Values{"reason": {"spam"}}),
			fmt.Sprintf("/admin/users/%d", bob.ID), "ban")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := env.Server.Site.WaitHooks(ctx); err != nil {
			t.Fatal(err)
		}
		u, err := env.Users.Get(context.Background(), bob.ID)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(u.Var["banned_seen"]) != "1" || u.Var["name_was"] != "bob" {
			t.Errorf("the user.banned hook didn't run as root: var %v", u.Var)
		}
		page := html.UnescapeString(root.Get("/admin/scripts").Body)
		for _, want := range []string{`data-event="user.banned"`, `data-event="user.login"`,
			"hooks.lua:7</code>: stopped: ran longer than its limit of 1s"} {
			if !strings.Contains(page, want) {
				t.Errorf("console: want %q", want)
			}
		}
	}, siteAt("testdata/site-sandbox", "/site"))
}

// The console: admins see the scripts; only a superadmin runs a snippet,
// and each run is in the audit log.
func TestSiteConsole(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		newConsole(env)
		if res := env.SignedIn("moe").Get("/admin/scripts"); res.StatusCode != 403 {
			t.Errorf("a moderator opens /admin/scripts: %d", res.StatusCode)
		}
		admin := env.SignedIn("alice")
		res := admin.Get("/admin/scripts")
		wantCode(t, res, 200, "console for an admin")
		for _, want := range []string{`data-file="testdata/site-sandbox/sandbox.lua"`,
			`data-method="GET" data-path="/site/hello/:name?"`, `data-event="user.banned"`} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("console: want %s", want)
			}
		}
		if strings.Contains(res.Body, `id="snippet-form"`) {
			t.Errorf("an admin is offered the snippet form")
		}
		if res := admin.Post("/admin/scripts/run", url.Values{"code": {"print(1)"}}); res.StatusCode != 403 {
			t.Errorf("an admin runs a snippet: %d", res.StatusCode)
		}
		rootC := env.SignedIn("root")
		res = rootC.Post("/admin/scripts/run", url.Values{"code": {"print('<b>hi</b>', api.users.me().username)\nreturn api.users.stats()"}})
		if out := snippetOutput(res); out != "<b>hi</b>\troot\n6\n" {
			t.Errorf("snippet output %q", out)
		}
		if !strings.Contains(res.Body, "&lt;b&gt;hi&lt;/b&gt;") {
			t.Errorf("snippet output is not escaped")
		}
		res = rootC.Post("/admin/scripts/run", url.Values{"code": {"local x = = 1"}})
		if !strings.Contains(html.UnescapeString(res.Body), "snippet#") || !strings.Contains(res.Body, `id="snippet-error"`) {
			t.Errorf("a snippet that doesn't compile: %s", res.Text())
		}
		res = rootC.Post("/admin/scripts/run", url.Values{"code": {"app:get('/x', function() end)"}})
		if !strings.Contains(res.Text(), "routes are declared at the top level") {
			t.Errorf("a snippet declaring a route: %s", res.Text())
		}
		evs, err := env.Users.Events(context.Background(), models.EventFilter{Action: "script.run"})
		if err != nil || evs.Total != 3 {
			t.Errorf("script.run events: %d (%v), want 3", evs.Total, err)
		}
	}, siteAt("testdata/site-sandbox", "/site"))
}

// In development, a changed file is read again on the next request and an
// error shows in the page with its file and line; in production the page
// shows the request id only.
func TestSiteDevelopment(t *testing.T) {
	dir := t.TempDir()
	write := func(src string) {
		t.Helper()
		// A new name each time: the change is seen even within the file
		// system's time resolution.
		old, _ := filepath.Glob(filepath.Join(dir, "*.lua"))
		for _, f := range old {
			_ = os.Remove(f)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("v%d.lua", time.Now().UnixNano())), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`app:get("/v", function(ctx) return ctx:text("one") end)`)
	env := apptest.New(t, "sqlite", siteAt(dir, "/site"), func(c *app.Config) { c.Env = "development" })
	c := env.Client()
	if res := c.Get("/site/v"); res.Body != "one" {
		t.Fatalf("first version: %d %s", res.StatusCode, res.Body)
	}
	write(`app:get("/v", function(ctx) return ctx:text("two") end)`)
	if res := c.Get("/site/v"); res.Body != "two" {
		t.Errorf("after a change: %d %s", res.StatusCode, res.Body)
	}
	write("app:get(\"/v\", function(ctx)\n  return ctx:text(nil .. 1)\nend)")
	res := c.Get("/site/v")
	if res.StatusCode != 500 || !regexp.MustCompile(`v\d+\.lua:2: cannot perform concat operation`).MatchString(res.Body) {
		t.Errorf("a runtime error in development: %d %s", res.StatusCode, res.Text())
	}
	write("app:get(\"/v\", function(ctx)\n  return ctx:text(\"x\" ..)\nend)")
	res = c.Get("/site/v")
	if res.StatusCode != 500 || !regexp.MustCompile(`v\d+\.lua:2: syntax error`).MatchString(res.Body) {
		t.Errorf("a syntax error in development: %d %s", res.StatusCode, res.Text())
	}
	write(`app:get("/v", function(ctx) return ctx:text("three") end)`)
	if res := c.Get("/site/v"); res.Body != "three" {
		t.Errorf("after the fix: %d %s", res.StatusCode, res.Body)
	}
}

// A string doubled in a loop is stopped by the memory bound (with a time
// limit long enough that the time isn't what stops it).
func TestSiteMemoryBound(t *testing.T) {
	env := apptest.New(t, "sqlite", siteAt("testdata/site-sandbox", "/site"), func(c *app.Config) { c.SiteTimeout = 20 * time.Second })
	if res := env.Client().Get("/site/double"); res.StatusCode != 500 {
		t.Fatalf("/site/double: %d %s", res.StatusCode, res.Text())
	}
	env.User("root", models.LevelSuperadmin)
	page := html.UnescapeString(env.SignedIn("root").Get("/admin/scripts").Body)
	if !strings.Contains(page, "sandbox.lua:70</code>: stopped: allocated more than 256 MB") {
		t.Errorf("console: want the memory bound's error:\n%s", page)
	}
}

// A script's api.users.login never skips two-factor: the session waits
// for the code at /login/2fa, as after the sign-in page.
func TestSiteLoginKeepsTwoFactor(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("tess", 1)
		secret, _ := env.TurnOnMFA("tess")
		c := env.Client()
		res := c.Post("/login", url.Values{"username": {"tess"}, "password": {apptest.Password}}) // seed 000's login flow
		if res.StatusCode != 303 || res.Location() != "/login" {
			t.Fatalf("script login with two-factor: %d to %q", res.StatusCode, res.Location())
		}
		if res := c.Get("/dashboard"); res.StatusCode != 303 {
			t.Fatalf("signed in without the second factor: %d", res.StatusCode)
		}
		env.Clock.Advance(30 * time.Second)
		res = c.Post("/login/2fa", url.Values{"code": {env.TOTP(secret)}})
		if res.StatusCode != 303 || res.Location() != "/dashboard" {
			t.Fatalf("the code after a script's login: %d to %q", res.StatusCode, res.Location())
		}
		if res := c.Get("/dashboard"); res.StatusCode != 200 {
			t.Errorf("not signed in after the code: %d", res.StatusCode)
		}
	}, siteAt("testdata/site-seed000", ""))
}

// In production a failing script is the 500 page with its request id, and
// the log has a line with the file and line (and the same request id).
func TestSiteErrorLogLine(t *testing.T) {
	cfg := testConfig(t)
	cfg.SiteDir, cfg.SitePrefix = "testdata/site-sandbox", "/site"
	var logs strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	srv, err := app.NewServer(cfg, apptest.New(t, "sqlite").Users, log)
	if err != nil {
		t.Fatal(err)
	}
	res, err := srv.Fiber.Test(httptest.NewRequest("GET", "/site/boom", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	rid := res.Header.Get("X-Request-Id")
	if res.StatusCode != 500 || rid == "" || !strings.Contains(string(body), rid) || strings.Contains(string(body), "sandbox.lua") {
		t.Fatalf("the 500 page: %d, request id %q\n%s", res.StatusCode, rid, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), `where=testdata/site-sandbox/sandbox.lua:28`) || !strings.Contains(logs.String(), rid) {
		t.Errorf("no log line with the file, line and request id:\n%s", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
