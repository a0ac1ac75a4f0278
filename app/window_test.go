package app_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// A page beyond the browse window (models.BrowseWindow rows from either
// end of an order): the console keeps the exact total, lists no rows, says
// which pages aren't listed and links the reversed sort; the API answers
// 422 on page naming the reversed sort; the audit log says so too. Pages
// near either end are listed.
func TestListsBeyondTheBrowseWindow(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		old := models.BrowseWindow
		models.BrowseWindow = 6
		defer func() { models.BrowseWindow = old }()
		admin := env.User("admin", models.LevelAdmin)
		for i := range 20 {
			env.User(fmt.Sprintf("user%02d", i), models.LevelUser)
		}
		for i := range 60 {
			if err := env.Users.Record(context.Background(), models.Actor{User: admin}, "mail.reset", nil, fmt.Sprint(i)); err != nil {
				t.Fatal(err)
			}
		}
		c := env.SignedIn("admin")
		rows := regexp.MustCompile(`<tr class="user-row"`)

		res := c.Get("/admin/users?limit=3&page=4") // rows 9–11 of 21
		wantCode(t, res, http.StatusOK, "page 4")
		if !strings.Contains(res.Body, `id="users-total" data-total="21"`) || len(rows.FindAllString(res.Body, -1)) != 0 ||
			!strings.Contains(res.Body, `id="users-window"`) || !strings.Contains(res.Text(), "Pages 3 to 5 are not listed") ||
			!strings.Contains(res.Body, `href="/admin/users?limit=3&amp;sort=created_at"`) {
			t.Errorf("page 4 beyond the window: %s", res.Text())
		}
		for _, page := range []string{"2", "6", "7"} {
			res := c.Get("/admin/users?limit=3&page=" + page)
			if n := len(rows.FindAllString(res.Body, -1)); n != 3 || strings.Contains(res.Body, `id="users-window"`) {
				t.Errorf("page %s: %d rows, window note %t", page, n, strings.Contains(res.Body, `id="users-window"`))
			}
		}

		key := env.APIKey("admin")
		api := env.Client()
		res = api.API("GET", "/api/v1/users?limit=3&page=4&sort=username", key, nil)
		wantAPIStatus(t, res, http.StatusUnprocessableEntity)
		if !strings.Contains(res.Body, `"page"`) || !strings.Contains(res.Body, "sort=-username") {
			t.Errorf("API beyond the window: %s", res.Body)
		}
		if l := listOf(t, api.API("GET", "/api/v1/users?limit=3&page=7&sort=username", key, nil)); usernames(l) != "user17,user18,user19" {
			t.Errorf("API last page: %s", usernames(l))
		}

		// The audit log: 81 or more events, 50 a page; page 2 starts 50
		// rows in and ends fewer than 6 from the end only past 106.
		res = c.Get("/admin/events?page=2")
		wantCode(t, res, http.StatusOK, "events page 2")
		if !strings.Contains(res.Body, `id="events-window"`) || strings.Contains(res.Body, `class="event-row"`) {
			t.Errorf("events page 2 beyond the window: %s", res.Text())
		}
		if res = c.Get("/admin/events"); strings.Contains(res.Body, `id="events-window"`) || !strings.Contains(res.Body, `class="event-row"`) {
			t.Errorf("events page 1: %s", res.Text())
		}
	})
}
