package app_test

// Forms say everything that is wrong in one answer, keep what was typed,
// and their hints say the rules their errors check.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

func TestRegisterReportsEveryErrorAtOnce(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("taken_name", 1)
		res := env.Client().Post("/register", url.Values{
			"username": {"Taken_Name"}, "email": {"TAKEN_NAME@example.com"}, "password": {"short"},
		})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "This username is already taken.", "An account with this e-mail address already exists.",
			"Must be at least 8 characters.", `value="Taken_Name"`, `value="TAKEN_NAME@example.com"`)

		// Both taken, nothing else wrong: both said too.
		res = env.Client().Post("/register", url.Values{
			"username": {"taken_name"}, "email": {"taken_name@example.com"}, "password": {"long enough password"},
		})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "This username is already taken.", "An account with this e-mail address already exists.")

		// A 75-character name is not cut short by the browser: the server says why.
		long := strings.Repeat("a", 75)
		res = env.Client().Post("/register", url.Values{"username": {long}, "email": {"new@example.com"}, "password": {"long enough password"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "Must be at most 30 characters.", `value="`+long+`"`)
		wantNotContains(t, res, `maxlength="30"`)
	})
}

func TestNewAccountReportsEveryErrorAtOnce(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("root", models.LevelSuperadmin)
		env.User("taken_name", 1)
		c := env.SignedIn("root")
		res := c.Post("/admin/users", url.Values{
			"username": {"taken_name"}, "email": {"taken_name@example.com"}, "password": {"short"}, "level": {"1"},
		})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "This username is already taken.", "An account with this e-mail address already exists.",
			"Must be at least 8 characters.")
	})
}

func TestUsernameRuleWordedOnce(t *testing.T) {
	env := apptest.New(t, "sqlite")
	env.User("root", models.LevelSuperadmin)
	register := env.Client().Get("/register")
	create := env.SignedIn("root").Get("/admin/users/new")
	for _, res := range []*apptest.Response{register, create} {
		wantContains(t, res, models.UsernameRule)
	}
	res := env.Client().Post("/register", url.Values{"username": {"-dash"}, "email": {"d@example.com"}, "password": {"long enough password"}})
	wantContains(t, res, "Use "+models.UsernameRule+".")
}

func TestChangePasswordReportsEveryErrorAtOnce(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("max", 1)
		res := env.SignedIn("max").Post("/settings/password", url.Values{"current_password": {"not my password"}, "password": {"short"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "The current password is not right.", "Must be at least 8 characters.")
	})
}

func TestAvatarMustBeHTTPS(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("max", 1)
		c := env.SignedIn("max")
		res := c.Post("/settings", url.Values{"email": {"max@example.com"}, "avatar": {"http://img.example.com/max.png"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "Enter an https:// address", `value="http://img.example.com/max.png"`)

		// An image that fails shows the initials under it, with no script.
		wantRedirect(t, c.Post("/settings", url.Values{"email": {"max@example.com"}, "avatar": {"https://img.example.com/max.png"}}), "/settings")
		res = c.Get("/profile/max")
		wantContains(t, res, `<span class="avatar avatar-pic avatar-lg`, `<img src="https://img.example.com/max.png" alt=""`)
	})
}

func TestSelfDemotionAsksFirst(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		root := env.User("root", models.LevelSuperadmin)
		env.User("other_root", models.LevelSuperadmin) // so that root is not the last one
		c := env.SignedIn("root")
		page := c.Get(userPath("/admin/users/%d", root.ID))
		wantContains(t, page, `id="w-level"`, "This is your own account")
		form := url.Values{"username": {"root"}, "email": {"root@example.com"}, "level": {"5"}}
		res := c.Post(userPath("/admin/users/%d", root.ID), form)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantContains(t, res, "This lowers your own level from 10 (superadmin) to 5 (user).", `name="confirm_demote"`,
			`<option value="5" selected`)
		if u, _ := env.Users.Get(ctx(), root.ID); u.Level != models.LevelSuperadmin {
			t.Fatalf("demoted without the confirmation: level %d", u.Level)
		}
		form.Set("confirm_demote", "yes")
		wantRedirect(t, c.Post(userPath("/admin/users/%d", root.ID), form), userPath("/admin/users/%d", root.ID))
		if u, _ := env.Users.Get(ctx(), root.ID); u.Level != 5 {
			t.Errorf("level after the confirmed demotion: %d", u.Level)
		}
		// Someone else's page: no warning, no question.
		other := env.User("member", 1)
		wantNotContains(t, env.SignedIn("other_root").Get(userPath("/admin/users/%d", other.ID)), `id="w-level"`)
	})
}

func TestDestructiveActionsHaveAConfirmStep(t *testing.T) {
	env := apptest.New(t, "sqlite")
	env.User("root", models.LevelSuperadmin)
	member := env.User("member", 1)
	c := env.SignedIn("root")
	page := c.Get(userPath("/admin/users/%d", member.ID))
	for _, action := range []string{"ban", "delete"} {
		wantContains(t, page, `<details class="confirm action-form" id="`+action+`-confirm">`)
	}
	// The routes of SPEC §4 still act on a POST with only _csrf.
	wantRedirect(t, c.Post(userPath("/admin/users/%d/delete", member.ID), nil), userPath("/admin/users/%d", member.ID))
	page = c.Get(userPath("/admin/users/%d", member.ID))
	restore, purge := strings.Index(page.Body, `id="restore-form"`), strings.Index(page.Body, `id="purge-confirm"`)
	if restore < 0 || purge < 0 || restore > purge {
		t.Errorf("on a deleted account Restore comes first (restore at %d, purge at %d)", restore, purge)
	}
	if strings.Index(page.Body, `id="restore-form"`) > strings.Index(page.Body, `id="revoke-form"`) && strings.Contains(page.Body, `id="revoke-form"`) {
		t.Error("Restore is not the first action of a deleted account")
	}
}
