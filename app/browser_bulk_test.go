package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/webmin/webmin/app/apptest"
)

// TestBrowserBulkBan: an admin bans every member a search finds in one
// bulk action: the dry run, the job page that reloads itself when asked
// to follow the job (a meta refresh, no script) until the job is done; and the pages on a phone
// and in dark mode (SQLite only: the layout doesn't depend on the
// database; the rules are tested on both in bulk_test.go).
func TestBrowserBulkBan(t *testing.T) {
	s := startSite(t, "sqlite")
	s.User("root", 10)
	for i := range 12 {
		s.User(fmt.Sprintf("spammer%02d", i), 1)
	}
	s.User("spammer_mod", 6)

	admin := s.openBrowser("admin")
	admin.signIn("root", apptest.Password, "/dashboard")
	admin.open("users", "/admin/users?search=spammer")
	press(admin, "details.bulk-details > summary")
	admin.shot("bulk-form")
	setSelect(admin, "#bulk-action", "ban")
	admin.fill("#bulk-reason", "Spam wave")
	admin.wantStatus("dry run", admin.click("bulk-dry-run", "#bulk-form button[type=submit]"), 200)
	if got := admin.attr("#bulk-preview", "data-eligible"); got != "13" {
		admin.fail("the dry run would change %s accounts, want 13", got)
	}
	admin.wantStatus("start", admin.click("bulk-started", "#bulk-start button[type=submit]"), 200)
	if !strings.HasPrefix(admin.path(), "/admin/users/bulk/") {
		admin.fail("after starting: %s", admin.path())
	}
	// The page reloads itself once asked to follow the job, and shows the end.
	admin.wantStatus("follow", admin.click("bulk-following", "#bulk-follow"), 200)
	if _, err := s.Users.RunPendingBulk(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for admin.attr("#bulk-job", "data-status") != "done" {
		if time.Now().After(deadline) {
			admin.fail("the job page didn't reload to show the finished job")
		}
		time.Sleep(300 * time.Millisecond)
	}
	admin.shot("bulk-done")
	if got := admin.attr("#bulk-job", "data-done"); got != "13" {
		admin.fail("done %s, want 13", got)
	}
	jobPath := admin.path()

	phone := s.openBrowser("phone")
	phone.emulatePhone()
	phone.signIn("root", apptest.Password, "/dashboard")
	for _, p := range []string{"/admin/users?search=spammer", "/admin/users/bulk?search=spammer&action=unban", jobPath, "/admin/users/bulk"} {
		phone.open("bulk-phone", p)
		if w := phone.scrollWidth(); w > 390 {
			phone.fail("%s is %dpx wide on a 390px screen", p, w)
		}
	}
	dark := s.openBrowser("dark")
	dark.emulateDark()
	dark.signIn("root", apptest.Password, "/dashboard")
	dark.open("users-dark", "/admin/users?search=spammer")
	press(dark, "details.bulk-details > summary")
	press(dark, "details.bulk-details:nth-of-type(2) > summary")
	dark.shot("bulk-forms-dark")
	dark.open("bulk-dry-run-dark", "/admin/users/bulk?search=spammer&action=unban")
	dark.open("bulk-job-dark", jobPath)
}

// setSelect chooses an option of a select.
func setSelect(b *browser, sel, value string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(sel), value, chromedp.NodeVisible)); err != nil {
		b.fail("choose %s in %s: %v", value, sel, err)
	}
}

// press clicks what sel finds where the click leads nowhere (a summary).
func press(b *browser, sel string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		b.fail("click %s: %v", sel, err)
	}
}
