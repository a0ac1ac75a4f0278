package app_test

import (
	"testing"
	"time"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// A person who mistyped their password five times sees, on the sign-in
// form, how long to wait and a link to reset the password, which works;
// the settings page says the same for the current password. Desktop,
// phone and dark screenshots of both.
func TestBrowserLockedSignIn(t *testing.T) {
	eachDBSite(t, func(t *testing.T, s *site) {
		s.User("grace", models.LevelUser)
		b := s.openBrowser("grace")
		b.open("login", "/login")
		for range 4 {
			b.fill("#f-login", "grace")
			b.fill("#f-password", "wrong password")
			b.wantStatus("wrong password", b.click("wrong", `form[action="/login"] button[type=submit]`), 401)
		}
		b.fill("#f-password", "wrong password")
		b.wantStatus("fifth wrong password", b.click("locked", `form[action="/login"] button[type=submit]`), 429)
		if got := b.text(".flash-error"); got != "Too many failed attempts. Try again in 15 minutes. Reset your password to get in sooner." {
			b.fail("lock message %q", got)
		}
		if b.count(`form[action="/login"] #f-password`) != 1 {
			b.fail("the locked page has no sign-in form")
		}
		b.emulatePhone()
		b.shot("locked-phone")
		b.emulateDark()
		b.shot("locked-phone-dark")
		b.wantStatus("reset link", b.click("forgot", `a[data-reset-link]`), 200)
		b.wantPath("/password/forgot")

		// Once the lock is over, signed in, the current password is limited too.
		s.Clock.Advance(16 * time.Minute)
		other := s.openBrowser("grace-signed-in")
		other.signIn("grace", apptest.Password, "/dashboard")
		other.open("settings", "/settings")
		for i := range 5 {
			other.fill("#f-current_password", "wrong password")
			other.fill("#f-password", "a new password here")
			want := 422
			if i == 4 {
				want = 429
			}
			other.wantStatus("wrong current password", other.click("settings-wrong", `form[action="/settings/password"] button[type=submit]`), want)
		}
		if other.count(`a[data-reset-link]`) != 1 {
			other.fail("no reset link beside the locked current password")
		}
		other.emulateDark()
		other.shot("settings-locked-dark")
	})
}
