package app_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// An account's page offers only what makes sense in its state, and the
// service refuses the rest with a clear message: a deleted account is
// restored first (or purged), a banned one unbanned first. A POST the page
// no longer offers goes back to the page with the reason (never a 500);
// the API answers 409 with the field "state".
func TestConsoleOffersWhatTheStateAllows(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		root := env.User("root", models.LevelSuperadmin)
		gone := env.User("gone", 1)
		banned := env.User("banned", 1)
		plain := env.User("plain", 1)
		by := models.Actor{User: root}
		if _, err := env.Users.Delete(ctx, by, gone.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Users.Block(ctx, by, banned.ID, "spam"); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Users.ConfirmEmail(ctx, by, plain.ID); err != nil { // makes sense once
			t.Fatal(err)
		}
		c := env.SignedIn("root")
		page := func(u *models.User) string { return fmt.Sprint("/admin/users/", u.ID) }

		every := []string{"restore-form", "unban-form", "revoke-form", "mfa-reset-form", "password-form", "reset-form",
			"confirm-form", "resend-form", "ban-form", "delete-form", "purge-form", "edit-form", "state-note"}
		for _, tc := range []struct {
			u     *models.User
			offer []string
		}{
			{gone, []string{"restore-form", "purge-form", "state-note"}},
			{banned, []string{"unban-form", "delete-form", "edit-form", "state-note"}},
			// Active, its address confirmed, no two-factor or passkey: no
			// confirm, no two-factor reset, and no restore or unban.
			{plain, []string{"revoke-form", "password-form", "reset-form", "ban-form", "delete-form", "edit-form"}},
		} {
			res := c.Get(page(tc.u))
			wantCode(t, res, http.StatusOK, tc.u.Username+"'s page")
			for _, id := range every {
				has := strings.Contains(res.Body, `id="`+id+`"`)
				if want := contains(tc.offer, id); has != want {
					t.Errorf("%s's page: #%s shown %v, want %v", tc.u.Username, id, has, want)
				}
			}
		}

		// What the page no longer offers, posted anyway: back to the page
		// with the reason, and nothing changed.
		for _, tc := range []struct {
			u      *models.User
			action string
			reason string
		}{
			{gone, "/confirm", "gone is deleted: restore the account first."},
			{gone, "/reset", "gone is deleted: restore the account first."},
			{gone, "/resend", "gone is deleted: restore the account first."},
			{gone, "/password", "gone is deleted: restore the account first."},
			{gone, "/sessions/revoke", "gone is deleted: restore the account first."},
			{gone, "/mfa/reset", "gone is deleted: restore the account first."},
			{banned, "/confirm", "banned is banned: lift the ban first."},
			{banned, "/reset", "banned is banned: lift the ban first."},
			{banned, "/password", "banned is banned: lift the ban first."},
			{banned, "/sessions/revoke", "banned is banned: lift the ban first."},
			{plain, "/confirm", "plain's e-mail address is already confirmed."},
		} {
			before := reload(t, env, tc.u)
			res := c.Post(page(tc.u)+tc.action, map[string][]string{"password": {"a brand new password"}})
			want303(t, res, page(tc.u), tc.u.Username+" "+tc.action)
			if body := html.UnescapeString(c.Get(page(tc.u)).Text()); !strings.Contains(body, tc.reason) {
				t.Errorf("%s %s: no %q on the page:\n%s", tc.u.Username, tc.action, tc.reason, body)
			}
			after := reload(t, env, tc.u)
			if after.PasswordHash != before.PasswordHash || after.SessionVersion != before.SessionVersion ||
				(after.EmailVerifiedAt == nil) != (before.EmailVerifiedAt == nil) || after.Type != before.Type {
				t.Errorf("%s %s changed the account: %+v → %+v", tc.u.Username, tc.action, before, after)
			}
		}
		if n := len(mailsTo(t, env, models.MailReset, "gone@example.com")) + len(mailsTo(t, env, models.MailReset, "banned@example.com")); n != 0 {
			t.Errorf("%d reset links sent to a deleted or banned account", n)
		}

		// The API: the same rule, 409 naming "state".
		key := env.APIKey("root")
		api := env.Client()
		for _, op := range []struct{ method, path string }{
			{"POST", page(gone) + "/confirm"}, {"POST", page(gone) + "/sessions/revoke"}, {"POST", page(gone) + "/mfa/reset"},
			{"POST", page(banned) + "/confirm"}, {"POST", page(banned) + "/mfa/reset"},
		} {
			path := "/api/v1/users/" + strings.TrimPrefix(op.path, "/admin/users/")
			wantAPIError(t, api.API(op.method, path, key, nil), http.StatusConflict, "state")
		}
		wantAPIError(t, api.API("PUT", fmt.Sprint("/api/v1/users/", gone.ID, "/password"), key,
			map[string]any{"password": "a brand new password"}), http.StatusConflict, "state")

		// Restored, the account offers the rest again.
		want303(t, c.Post(page(gone)+"/restore", nil), page(gone), "restore")
		if res := c.Get(page(gone)); !strings.Contains(res.Body, `id="reset-form"`) || !strings.Contains(res.Body, `id="edit-form"`) {
			t.Errorf("the restored account's page:\n%s", res.Text())
		}
	})
}
