package app_test

import (
	"net/url"
	"testing"

	"github.com/webmin/webmin/app/apptest"
)

// The member's own history is in words, not event codes or loopback addresses.
func TestMemberDashboardHistoryInWords(t *testing.T) {
	env := apptest.New(t, "sqlite")
	env.User("max", 1)
	c := env.Client()
	c.Post("/login", url.Values{"login": {"max"}, "password": {"wrong password"}})
	c.SignIn("max", apptest.Password)
	res := c.Get("/dashboard")
	wantContains(t, res, "A sign-in failed (wrong password)", "You signed in", "from 203.0.113.10")
	wantNotContains(t, res, ">login.failed<", "from ::1")
}
