package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// Every page names the site's icon, which is served (no 404 per page).
func TestLayoutHasAnIcon(t *testing.T) {
	env := apptest.New(t, "sqlite")
	res := env.Client().Get("/")
	wantContains(t, res, `<link rel="icon" href="/static/img/favicon.svg`)
	icon := env.Client().Get("/static/img/favicon.svg")
	wantStatus(t, icon, http.StatusOK)
	if !strings.Contains(icon.Header.Get("Content-Type"), "svg") {
		t.Errorf("icon served as %q", icon.Header.Get("Content-Type"))
	}
	wantStatus(t, env.Client().Get("/static/js/app.js"), http.StatusOK)
}

// The top bar marks Console on console pages and Dashboard only on the
// member's dashboard; the console's own first tab is Overview.
func TestNavMarksWhereYouAre(t *testing.T) {
	env := apptest.New(t, "sqlite")
	env.User("root", models.LevelSuperadmin)
	c := env.SignedIn("root")
	for _, path := range []string{"/admin", "/admin/users", "/admin/events", "/admin/keys"} {
		res := c.Get(path)
		wantContains(t, res, `<a href="/admin" aria-current="true">Console</a>`)
		wantNotContains(t, res, `<a href="/dashboard" aria-current="page">`)
	}
	wantContains(t, c.Get("/admin"), `<a href="/admin" aria-current="page">Overview</a>`)
	res := c.Get("/dashboard")
	wantContains(t, res, `<a href="/dashboard" aria-current="page">Dashboard</a>`)
	wantNotContains(t, res, `aria-current="true">Console`)
}
