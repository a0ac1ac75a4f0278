package app_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

func TestLockoutAfterRepeatedFailures(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("joe", 1)
		c := env.Client()
		var res *apptest.Response
		for i := 0; i < 5; i++ {
			res = c.Post("/login", url.Values{"login": {"joe"}, "password": {"wrong password"}})
		}
		wantStatus(t, res, http.StatusTooManyRequests)
		if res.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		wantContains(t, res, "Too many failed attempts. Try again in 15 minutes.")
		// Even the right password waits until the lock ends (from this address)…
		wantStatus(t, env.Client().Post("/login", url.Values{"login": {"joe"}, "password": {apptest.Password}}), http.StatusTooManyRequests)
		// …which it does by itself.
		env.Clock.Advance(16 * 60e9)
		wantRedirect(t, env.Client().Post("/login", url.Values{"login": {"joe"}, "password": {apptest.Password}}), "/dashboard")
		events, err := env.Users.Events(ctx(), models.EventFilter{Action: models.EvLoginLocked})
		if err != nil || events.Total != 1 {
			t.Errorf("lock events: %d, %v", events.Total, err)
		}
	})
}

func TestFailedSignInsLimitedPerAddress(t *testing.T) {
	apptest.EachDB(t, testFailedSignInsLimitedPerAddress)
}

func testFailedSignInsLimitedPerAddress(t *testing.T, env *apptest.Env) {
	c := env.Client()
	var res *apptest.Response
	for i := 0; i < 21; i++ {
		res = c.Post("/login", url.Values{"login": {"nobody" + strings.Repeat("x", i)}, "password": {"wrong password"}})
	}
	wantStatus(t, res, http.StatusTooManyRequests)
	if res.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Another address is not affected.
	other := env.Client()
	other.IP = "198.51.100.7"
	wantStatus(t, other.Post("/login", url.Values{"login": {"nobody"}, "password": {"wrong password"}}), http.StatusUnauthorized)
}

func TestProfile(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		kim := env.User("Kim", 1)
		if _, err := env.Users.Update(ctx(), models.System, kim.ID, models.Patch{Name: ptr(`<script>alert("x")</script>`)}); err != nil {
			t.Fatal(err)
		}
		env.User("lee", 1)
		res := env.Client().Get("/profile/KIM")
		wantStatus(t, res, http.StatusOK)
		wantContains(t, res, "@Kim", "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "Member since")
		wantNotContains(t, res, `<script>alert`, "Kim@example.com", "Edit profile")

		res = env.SignedIn("kim").Get("/profile/kim")
		wantContains(t, res, "Edit profile", "Kim@example.com")
		res = env.SignedIn("lee").Get("/profile/kim")
		wantNotContains(t, res, "Edit profile", "Kim@example.com")

		res = env.Client().Get("/profile/nobody")
		wantStatus(t, res, http.StatusNotFound)
		wantContains(t, res, "Page not found")
		if _, err := env.Users.Delete(ctx(), models.System, kim.ID); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, env.Client().Get("/profile/kim"), http.StatusNotFound)
	})
}

func ptr[T any](v T) *T { return &v }

func TestSettings(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("max", 1)
		env.User("ned", 1)
		c := env.SignedIn("max")
		res := c.Get("/settings")
		wantStatus(t, res, http.StatusOK)
		wantContains(t, res, `value="max@example.com"`)

		res = c.Post("/settings", url.Values{"name": {"Max Power"}, "email": {"max@example.com"}, "avatar": {"https://img.example.com/max.png"}})
		wantRedirect(t, res, "/settings")
		wantContains(t, c.Get("/settings"), "Your settings are saved.", `value="Max Power"`)

		res = c.Post("/settings", url.Values{"name": {"Max"}, "email": {"max@example.com"}, "avatar": {"javascript:alert(1)"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "Enter an http:// or https:// address.", `value="javascript:alert(1)"`)

		res = c.Post("/settings", url.Values{"name": {"Max"}, "email": {"NED@example.com"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "already exists")

		res = c.Post("/settings", url.Values{"name": {strings.Repeat("n", 101)}, "email": {"max@example.com"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "Must be at most 100 characters.")

		res = c.Post("/settings/password", url.Values{"current_password": {"not it"}, "password": {"a new password"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "The current password is not right.")
		wantNotContains(t, res, "not it", "a new password")

		res = c.Post("/settings/password", url.Values{"current_password": {apptest.Password}, "password": {"short"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "Must be at least 8 characters.")
	})
}

func TestErrorPages(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		c := env.Client()
		res := c.Get("/no/such/page")
		wantStatus(t, res, http.StatusNotFound)
		wantContains(t, res, "Page not found", `<link rel="stylesheet"`)

		// Input that no rule expects never makes a 500.
		for _, v := range []string{"\xff\xfe", strings.Repeat("é", 5000), "' OR 1=1 --", "%_%", "\x00"} {
			for _, path := range []string{"/login", "/register"} {
				res := env.Client().Post(path, url.Values{"login": {v}, "username": {v}, "email": {v}, "password": {v}})
				if res.StatusCode >= 500 {
					t.Errorf("POST %s with %q: %d", path, v, res.StatusCode)
				}
			}
			if len(v) > 100 {
				continue // a long path is refused by the HTTP server before the app
			}
			if res := env.Client().Get("/profile/" + url.PathEscape(v)); res.StatusCode >= 500 {
				t.Errorf("profile %q: %d", v, res.StatusCode)
			}
		}
	})
}

func TestBodyLimit(t *testing.T) {
	env := apptest.New(t, "sqlite")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = env.Server.Fiber.Listener(ln) }()
	t.Cleanup(func() { _ = env.Server.Fiber.Shutdown() })
	// Announce a 2 MiB body and send only the headers: the server must
	// refuse it from the Content-Length alone, without reading it.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", 2<<20)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB body: %d, want 413", res.StatusCode)
	}
}

func TestSecurityHeaders(t *testing.T) {
	env := apptest.New(t, "sqlite")
	res := env.Client().Get("/")
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP allows inline code: %s", csp)
	}
	for h, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
		"Referrer-Policy": "strict-origin-when-cross-origin",
	} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if res.Header.Get("X-Request-Id") == "" {
		t.Error("no request id")
	}
	if strings.Contains(res.Body, "<script") || strings.Contains(res.Body, "style=") {
		t.Error("inline script or style in the page")
	}
}

func TestHealthAndReadiness(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		c := env.Client()
		wantStatus(t, c.Get("/healthz"), http.StatusOK)
		wantStatus(t, c.Get("/readyz"), http.StatusOK)
		_ = env.DB.Close()
		wantStatus(t, c.Get("/readyz"), http.StatusServiceUnavailable)
		wantStatus(t, c.Get("/healthz"), http.StatusOK)
	})
}

func TestSetup(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		token := env.Server.Handler.SetupLink.Token()
		c := env.Client()
		wantStatus(t, c.Get("/setup"), http.StatusNotFound)
		wantStatus(t, c.Get("/setup?token=wrong"), http.StatusNotFound)
		wantStatus(t, c.Get("/setup?token="+token), http.StatusOK)
		res := c.Post("/setup", url.Values{"token": {token}, "username": {"ro"}, "password": {"password123"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, `id="e-username"`)
		res = c.Post("/setup", url.Values{"token": {token}, "username": {"root"}, "email": {"root@example.com"}, "password": {"password123"}})
		wantRedirect(t, res, "/admin")
		u, err := env.Users.GetByUsername(ctx(), "root")
		if err != nil || u.Level != models.LevelSuperadmin {
			t.Fatalf("superadmin: %+v %v", u, err)
		}
		wantContains(t, c.Get("/dashboard"), "You are the superadmin")
		// The link works once.
		wantStatus(t, env.Client().Get("/setup?token="+token), http.StatusNotFound)
		res = env.Client().Post("/setup", url.Values{"token": {token}, "username": {"root2"}, "password": {"password123"}})
		wantStatus(t, res, http.StatusNotFound)
	})
}

func TestPresenceTellsMembersFromGuests(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("olga", 1)
		env.SignedIn("olga").Get("/profile/olga")
		g := env.Client()
		g.Get("/")
		g.Get("/login") // the same guest, counted once
		m, gs, err := env.Users.OnlineCounts(ctx())
		if err != nil || m != 1 || gs != 1 {
			t.Fatalf("online: members %d guests %d err %v", m, gs, err)
		}
		page, err := env.Users.Online(ctx(), models.OnlineFilter{Kind: "members"})
		if err != nil || len(page.Items) != 1 || page.Items[0].User == nil || page.Items[0].User.Username != "olga" {
			t.Fatalf("online members: %+v %v", page, err)
		}
	})
}
