package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/webmin/webmin/app/apptest"
)

func TestRegisterSignsInWithWelcomeFlash(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		c := env.Client()
		res := c.Post("/register", url.Values{"username": {"Alice"}, "email": {"alice@example.com"}, "password": {"password123"}})
		if res.StatusCode != http.StatusSeeOther || res.Location() != "/dashboard" {
			t.Fatalf("register: %d %q\n%s", res.StatusCode, res.Location(), res.Body)
		}
		res = c.Get("/dashboard")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("dashboard: %d", res.StatusCode)
		}
		if !strings.Contains(res.Body, `<div class="flash flash-success" role="status">Welcome, Alice!</div>`) {
			t.Errorf("no welcome flash:\n%s", res.Body)
		}
		if res = c.Get("/dashboard"); strings.Contains(res.Body, "Welcome, Alice!") {
			t.Errorf("flash shown twice")
		}
	})
}
