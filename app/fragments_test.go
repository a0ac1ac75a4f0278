package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// The nav bar and the profile are drawn once and kept by a key (see
// handlers/fragments.go): no viewer may get another's, and a change shows
// on the next page.
func TestDrawnPiecesFollowTheirViewerAndChanges(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		ann := env.User("ann", 1)
		env.User("kim", 1)
		env.User("lee", 1)
		env.User("boss", 9)
		kim, lee, boss, annC := env.SignedIn("kim"), env.SignedIn("lee"), env.SignedIn("boss"), env.SignedIn("ann")

		// Each member's nav: their own name and their own sign-out token.
		for _, v := range []struct {
			c    *apptest.Client
			name string
		}{{kim, "kim"}, {lee, "lee"}, {kim, "kim"}, {boss, "boss"}, {annC, "ann"}} {
			res := v.c.Get("/profile/ann")
			wantStatus(t, res, http.StatusOK)
			wantContains(t, res, `<span class="nav-name">`+v.name+`</span>`,
				`name="_csrf" value="`+v.c.Cookie("wm_csrf")+`"`)
			for _, other := range []string{"kim", "lee", "boss", "ann"} {
				if other != v.name {
					wantNotContains(t, res, `<span class="nav-name">`+other+`</span>`)
				}
			}
		}

		// What each viewer may see of the same profile.
		wantContains(t, boss.Get("/profile/ann"), "ann@example.com")
		wantNotContains(t, kim.Get("/profile/ann"), "ann@example.com", "Edit profile")
		wantContains(t, annC.Get("/profile/ann"), "ann@example.com", "Edit profile")
		res := env.Client().Get("/profile/ann")
		wantNotContains(t, res, "ann@example.com", "Edit profile", "Sign out")
		wantContains(t, res, "Sign in")

		// The current section is marked in the nav.
		wantContains(t, kim.Get("/dashboard"), `href="/dashboard" aria-current="page"`)
		res = kim.Get("/settings")
		wantContains(t, res, `href="/settings" aria-current="page"`)
		wantNotContains(t, res, `href="/dashboard" aria-current="page"`)
		wantContains(t, annC.Get("/profile/ANN"), `href="/profile/ann" aria-current="page"`)
		wantNotContains(t, kim.Get("/profile/ann"), `aria-current="page"`)

		// Ann renames herself: her nav and everyone's view of her profile follow at once.
		wantRedirect(t, annC.Post("/settings", url.Values{"name": {"Zed Q"}, "email": {"ann@example.com"}}), "/settings")
		res = annC.Get("/profile/ann")
		wantContains(t, res, "Zed Q", `aria-hidden="true">ZQ</span>`)
		wantContains(t, kim.Get("/profile/ann"), "Zed Q")

		// So does a ban, seen by an admin on the profile.
		if _, err := env.Users.Block(ctx(), models.System, ann.ID, "spam"); err != nil {
			t.Fatal(err)
		}
		if res := boss.Get("/profile/ann"); !strings.Contains(res.Body, "banned") {
			t.Fatalf("the ban does not show on the profile:\n%s", res.Text())
		}
	})
}
