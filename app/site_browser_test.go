package app_test

import (
	"strings"
	"testing"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// TestBrowserSiteScripts: a script's page in a real browser (the layout,
// no CSP complaint), and the console's scripts page where a superadmin
// runs a snippet — on a desktop, a phone and in dark mode.
func TestBrowserSiteScripts(t *testing.T) {
	s := startSite(t, "sqlite", siteAt("testdata/site-sandbox", "/site"))
	s.User("root", models.LevelSuperadmin)

	desk := s.openBrowser("desktop")
	desk.wantStatus("script page", desk.open("script-page", "/site/hello/Ada"), 200)
	if got := desk.text("#hello"); got != "Hello, Ada!" {
		desk.fail("the script's view says %q", got)
	}
	desk.signIn("root", apptest.Password, "/dashboard")
	desk.wantStatus("console", desk.open("scripts", "/admin/scripts"), 200)
	if n := desk.count("tr.script-route"); n < 10 {
		desk.fail("the console lists %d routes", n)
	}
	desk.fill("#snippet-code", "print('hello from', api.users.me().username)\nreturn api.users.stats()")
	desk.wantStatus("run", desk.click("snippet-run", "#snippet-form button[type=submit]"), 200)
	if out := desk.text("#snippet-output"); !strings.Contains(out, "hello from root") {
		desk.fail("snippet output %q", out)
	}

	phone := s.openBrowser("phone")
	phone.emulatePhone()
	phone.signIn("root", apptest.Password, "/dashboard")
	phone.open("scripts-phone", "/admin/scripts")
	if w := phone.scrollWidth(); w > 390 {
		phone.fail("the scripts page is %dpx wide on a 390px screen (sideways scrolling)", w)
	}

	dark := s.openBrowser("dark")
	dark.emulateDark()
	dark.signIn("root", apptest.Password, "/dashboard")
	dark.open("scripts-dark", "/admin/scripts")
	dark.open("script-page-dark", "/site/hello")
}
