package app_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// An admin changing their own e-mail address in the console goes through
// the confirmation of /settings: the address changes when the link sent to
// the new one is opened. Another account's address changes at once.
func TestConsoleOwnEmailNeedsConfirmation(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		admin := env.User("admin", models.LevelAdmin)
		bob := env.User("bob", models.LevelUser)
		c := env.SignedIn("admin")
		res := c.Post(userPath("/admin/users/%d", admin.ID), url.Values{
			"username": {"admin"}, "email": {"boss@example.org"}, "level": {"8"}, "name": {"The Admin"},
		})
		want303(t, res, userPath("/admin/users/%d", admin.ID), "own edit")
		u, err := env.Users.Get(ctx(), admin.ID)
		if err != nil || u.EmailAddress() != "admin@example.com" || u.Name != "The Admin" {
			t.Fatalf("after the edit: %q %q %v (the address must wait for its confirmation; the name changes)", u.EmailAddress(), u.Name, err)
		}
		wantContains(t, c.Get(userPath("/admin/users/%d", admin.ID)), "We sent a confirmation link to boss@example.org")
		msg := lastMail(t, env, models.MailEmailChange, "boss@example.org")
		wantRedirect(t, c.Get(linkPath(t, env, msg.Text)), "/settings")
		if u, _ := env.Users.Get(ctx(), admin.ID); u.EmailAddress() != "boss@example.org" {
			t.Fatalf("after the link: %q", u.EmailAddress())
		}

		// A look-alike of an address in use is refused there too.
		res = c.Post(userPath("/admin/users/%d", admin.ID), url.Values{"username": {"admin"}, "email": {"b\u043Eb@example.com"}, "level": {"8"}})
		wantCode(t, res, http.StatusUnprocessableEntity, "look-alike address")

		// Another account: at once, as before.
		want303(t, c.Post(userPath("/admin/users/%d", bob.ID), url.Values{"username": {"bob"}, "email": {"robert@example.org"}, "level": {"1"}}),
			userPath("/admin/users/%d", bob.ID), "edit of bob")
		if u, _ := env.Users.Get(ctx(), bob.ID); u.EmailAddress() != "robert@example.org" {
			t.Fatalf("bob's address: %q", u.EmailAddress())
		}

		// The service refuses a direct change of one's own address to any caller.
		me, _ := env.Users.Get(ctx(), admin.ID)
		_, err = env.Users.Update(ctx(), models.Actor{User: me}, admin.ID, models.Patch{Email: ptr("direct@example.org")})
		var de *models.DeniedError
		if !errors.As(err, &de) {
			t.Fatalf("direct change of one's own address: %v", err)
		}
	})
}
