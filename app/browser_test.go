package app_test

// Journeys in headless Chromium (issues 4 and 5): what a person does with
// the mouse and keyboard, on SQLite (see browserDBs). Screenshots of every
// page go to app/testdata/artifacts/<test>/ (see browser_helpers_test.go).

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webmin/webmin/app/apptest"
)

// browserDBs are the databases the journeys run on. SQLite only: on both
// databases the browser suite takes well over a minute on the project's
// two-core machines (each journey drives one or two Chromiums), while the
// HTTP tests already run these flows on SQLite and PostgreSQL alike. Set it
// to modelstest.DBNames to run the journeys on PostgreSQL too.
var browserDBs = []string{"sqlite"}

// eachDBSite runs a browser journey on a fresh site on each of browserDBs.
func eachDBSite(t *testing.T, fn func(t *testing.T, s *site)) {
	for _, db := range browserDBs {
		t.Run(db, func(t *testing.T) {
			t.Parallel() // with more than one database, side by side
			fn(t, startSite(t, db))
		})
	}
}

// freshCounts lets the home page's cached counts (online, total) expire on
// the service's clock, so the next view of / shows the current numbers.
func freshCounts(s *site) { s.Clock.Advance(20 * time.Second) }

// badge reads the home page's online counts from #online-badge.
func (b *browser) badge() (users, guests int) {
	b.t.Helper()
	u, err1 := strconv.Atoi(b.attr("#online-badge", "data-users"))
	g, err2 := strconv.Atoi(b.attr("#online-badge", "data-guests"))
	if err1 != nil || err2 != nil {
		b.fail("#online-badge data-users/data-guests are not numbers: %v %v", err1, err2)
	}
	return u, g
}

// TestBrowserMemberJourney: sign up → dashboard with the welcome flash →
// settings → sign out → a wrong password → sign in by e-mail in another
// letter case → dashboard; the online badge counts the member and a guest.
func TestBrowserMemberJourney(t *testing.T) {
	eachDBSite(t, func(t *testing.T, s *site) {
		ada := s.openBrowser("ada")

		// A visitor finds the home page and signs up.
		ada.wantStatus("home", ada.open("home-visitor", "/"), 200)
		if got := ada.text("#total-users"); got != "0 members" {
			ada.fail("#total-users says %q on an empty site", got)
		}
		ada.wantStatus("register page", ada.click("register", `.hero a[href="/register"]`), 200)
		ada.fill("#f-username", "Ada_Lovelace")
		ada.fill("#f-email", "Ada@Example.com")
		ada.fill("#f-password", "analytical engine")
		ada.wantStatus("sign up", ada.click("dashboard-welcome", `form[action="/register"] button[type=submit]`), 200)
		ada.wantPath("/dashboard")
		ada.wantFlash("success", "Welcome, Ada_Lovelace!")
		if got := ada.text("h1"); got != "Hello, Ada_Lovelace" {
			ada.fail("dashboard heading %q", got)
		}
		if got := ada.text(".site-header .nav-name"); got != "Ada_Lovelace" {
			ada.fail("the nav shows %q as the signed-in user", got)
		}
		// Shown once: a reload has no flash.
		ada.open("dashboard-reload", "/dashboard")
		if got := ada.flashes("success"); len(got) != 0 {
			ada.fail("the welcome flash came back: %q", got)
		}

		// Settings: a display name, saved and shown.
		ada.wantStatus("settings", ada.click("settings", `.site-header a[href="/settings"]`), 200)
		if got := ada.value("#f-email"); got != "Ada@Example.com" {
			ada.fail("settings e-mail field %q", got)
		}
		ada.fill("#f-name", "Ada Lovelace")
		ada.wantStatus("save settings", ada.click("settings-saved", `form[action="/settings"] button[type=submit]`), 200)
		ada.wantPath("/settings")
		ada.wantFlash("success", "Your settings are saved.")
		if got := ada.value("#f-name"); got != "Ada Lovelace" {
			ada.fail("display name after saving: %q", got)
		}
		ada.wantStatus("own profile", ada.open("profile-own", "/profile/ada_lovelace"), 200)
		if got := ada.text("h1"); got != "Ada Lovelace online now" && got != "Ada Lovelace" {
			ada.fail("profile heading %q", got)
		}
		if ada.count(`a[href="/settings"].button`) != 1 {
			ada.fail("the owner's profile has no edit link")
		}

		// The online badge counts the signed-in member, and a guest as a guest.
		freshCounts(s)
		ada.open("home-member", "/")
		users, guests := ada.badge()
		if users != 1 {
			ada.fail("#online-badge data-users=%d with one member signed in", users)
		}
		if got := ada.text("#total-users"); got != "1 member" {
			ada.fail("#total-users says %q", got)
		}
		guest := s.openBrowser("guest")
		// A guest counts from its second page (the first gives it its
		// cookie); the site's icon is a static file, not a page.
		guest.open("home-guest", "/")
		guest.open("login-guest", "/login")
		freshCounts(s)
		ada.open("home-member-and-guest", "/")
		u2, g2 := ada.badge()
		if u2 != 1 || g2 != guests+1 {
			ada.fail("after a guest came: data-users=%d data-guests=%d, want 1 and %d", u2, g2, guests+1)
		}
		if got := ada.text("#online-badge"); got == "" {
			ada.fail("#online-badge has no text")
		}

		// Sign out: back home, with the nav of a visitor.
		ada.wantStatus("sign out", ada.click("signed-out", `.site-header form[action="/logout"] button`), 200)
		ada.wantPath("/")
		ada.wantFlash("info", "You are signed out.")
		if ada.count(".site-header .nav-name") != 0 {
			ada.fail("the nav still shows a signed-in user")
		}

		// A wrong password: 401, one generic message, the login kept.
		ada.open("login", "/login")
		ada.fill("#f-login", "ada@example.com")
		ada.fill("#f-password", "not my password")
		ada.wantStatus("wrong password", ada.click("login-wrong-password", `form[action="/login"] button[type=submit]`), 401)
		ada.wantFlash("error", "That username or e-mail and password don't match an account.")
		if got := ada.value("#f-login"); got != "ada@example.com" {
			ada.fail("the login field lost its value: %q", got)
		}
		if got := ada.value("#f-password"); got != "" {
			ada.fail("the password came back in the form")
		}

		// Sign in by e-mail, in another letter case.
		ada.fill("#f-login", "ADA@EXAMPLE.COM")
		ada.fill("#f-password", "analytical engine")
		ada.wantStatus("sign in", ada.click("dashboard-back", `form[action="/login"] button[type=submit]`), 200)
		ada.wantPath("/dashboard")
		ada.wantFlash("success", "Welcome back, Ada Lovelace!")
		if got := ada.text("h1"); got != "Hello, Ada Lovelace" {
			ada.fail("dashboard heading %q", got)
		}

		// A signed-out visit to a member page goes through the sign-in
		// form and back to that page; an unknown profile is the 404 page.
		guest.wantStatus("settings signed out", guest.open("settings-signed-out", "/settings"), 200)
		guest.wantPath("/login?next=%2Fsettings")
		guest.fill("#f-login", "ada_lovelace")
		guest.fill("#f-password", "analytical engine")
		guest.wantStatus("sign in", guest.click("settings-after-sign-in", `form[action="/login"] button[type=submit]`), 200)
		guest.wantPath("/settings")
		guest.wantStatus("unknown profile", guest.open("profile-unknown", "/profile/nobody-here"), 404)
		if got := guest.text("h1"); got != "Page not found" {
			guest.fail("404 page heading %q", got)
		}
	})
}

// TestBrowserLayouts takes the screenshots that show the layout on a phone
// and in dark mode (SQLite only: the layout doesn't depend on the database).
func TestBrowserLayouts(t *testing.T) {
	s := startSite(t, "sqlite")
	s.User("Katherine_Johnson", 1)

	phone := s.openBrowser("phone")
	phone.emulatePhone()
	// Nothing may stick out sideways on a narrow screen.
	fits := func() {
		t.Helper()
		if w := phone.scrollWidth(); w > 390 {
			phone.fail("the page is %dpx wide on a 390px screen (sideways scrolling)", w)
		}
	}
	phone.open("home-phone", "/")
	fits()
	phone.open("register-phone", "/register")
	fits()
	phone.signIn("katherine_johnson", apptest.Password, "/dashboard")
	fits()
	phone.open("settings-phone", "/settings")
	fits()
	phone.open("profile-phone", "/profile/Katherine_Johnson")
	fits()

	dark := s.openBrowser("dark")
	dark.emulateDark()
	dark.open("home-dark", "/")
	dark.open("login-dark", "/login")
	dark.fill("#f-login", "katherine_johnson")
	dark.fill("#f-password", "wrong password")
	dark.click("login-error-dark", `form[action="/login"] button[type=submit]`)
	dark.signIn("katherine_johnson", apptest.Password, "/dashboard")
	dark.shot("dashboard-dark")
	dark.open("settings-dark", "/settings")
	dark.open("404-dark", "/no/such/page")
	if bg := dark.style("body", "background-color"); bg == "rgb(255, 255, 255)" {
		dark.fail("the body stays white with prefers-color-scheme: dark")
	}
}

// TestBrowserAdminBansMember (issue 5): an admin finds a member through the
// search, bans them with a reason; the member's open browser is signed out
// on its next click and the ban reason shows when they try to sign in; the
// audit log has the ban.
func TestBrowserAdminBansMember(t *testing.T) {
	eachDBSite(t, func(t *testing.T, s *site) {
		if err := s.Users.Seed(context.Background(), 40, nil); err != nil { // a console with people in it
			t.Fatal(err)
		}
		s.User("root", 10)
		s.User("mallory", 1)

		member := s.openBrowser("mallory")
		member.signIn("mallory", apptest.Password, "/dashboard")

		admin := s.openBrowser("admin")
		admin.signIn("root", apptest.Password, "/dashboard")
		admin.wantStatus("console", admin.click("admin-dashboard", `.site-header a[href="/admin"]`), 200)
		admin.wantPath("/admin")
		admin.wantStatus("users", admin.click("admin-users", `.admin-nav a[href="/admin/users"]`), 200)
		admin.fill(`form#user-search input[name=search]`, "allor")
		admin.wantStatus("search", admin.click("admin-users-search", `form#user-search button[type=submit]`), 200)
		if got := admin.texts("a.user-link"); len(got) != 1 || got[0] != "mallory" {
			admin.fail("searching for %q lists %q, want just mallory", "allor", got)
		}
		admin.wantStatus("user", admin.click("admin-user", "a.user-link"), 200)
		userPath := admin.path()
		// Ban is a confirm step: the form shows once its disclosure opens.
		if admin.count(`details#ban-confirm[open]`) != 0 {
			admin.fail("the ban's confirm step is open before anyone asked")
		}
		admin.toggle(`details#ban-confirm > summary`)
		admin.fill(`form#ban-form textarea[name=reason]`, "Spam in every thread")
		admin.wantStatus("ban", admin.click("admin-user-banned", `form#ban-form button[type=submit]`), 200)
		admin.wantPath(userPath)
		if got := admin.text(".ban-note"); !strings.Contains(got, "Spam in every thread") {
			admin.fail("the banned account's page says %q", got)
		}

		// The member's browser still shows the dashboard; the next click ends the session.
		member.wantStatus("next click", member.click("member-session-ended", `.site-header a[href="/settings"]`), 200)
		member.wantPath("/login?next=%2Fsettings")
		member.wantFlash("info", "Your session has ended. Please sign in again.")
		member.fill("#f-login", "mallory")
		member.fill("#f-password", apptest.Password)
		member.wantStatus("banned sign-in", member.click("member-banned", `form[action="/login"] button[type=submit]`), 403)
		if got := member.text("main"); !strings.Contains(got, "Spam in every thread") {
			member.fail("the banned page doesn't give the reason: %q", got)
		}

		admin.wantStatus("online", admin.open("admin-online", "/admin/online"), 200)
		admin.wantStatus("events", admin.open("admin-events", "/admin/events"), 200)
		found := false
		for _, row := range admin.texts("tr.event-row") {
			if strings.Contains(row, "user.ban") && strings.Contains(row, "mallory") {
				found = true
			}
		}
		if !found {
			admin.fail("the audit log has no user.ban row for mallory: %q", admin.texts("tr.event-row"))
		}
	})
}
