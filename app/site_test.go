package app_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// siteAt serves the site scripts of dir, mounted at prefix ("" = the root).
func siteAt(dir, prefix string) func(*app.Config) {
	return func(c *app.Config) {
		c.SiteDir = dir
		c.SitePrefix = prefix
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
	}, siteAt("testdata/site-seed000", "/"))
}

func passwordOf(name string) string {
	if name == "bobby" {
		return "long enough pw"
	}
	return apptest.Password
}

var _ = models.TypeActive
