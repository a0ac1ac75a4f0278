package app_test

// The page-quality gates: every page of the site, as a visitor, a member,
// a moderator and an admin, at 1280×900 and 390×844, light and dark, in
// headless Chromium. Each view must not scroll sideways, must keep every
// table inside its wrapper on a desktop, and must have no serious or
// critical axe-core finding; the HTML of each page must pass the Nu HTML
// checker with no error; the users list keeps its row-height budget.
// Screenshots of every view go to app/testdata/artifacts/TestPageQuality/
// (see views/README.md). The tools come from npm: `npm ci --prefix .ci`
// (bash .ci/run does it).
//
// To gate a new page, add a line to qualityPages.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// The people of the gate's site; "admin" is the superadmin, so that every
// action (purge too) is on the pages it sees.
const (
	asVisitor   = "visitor"
	asMember    = "member"
	asModerator = "moderator"
	asAdmin     = "admin"
)

// qualityPage is one view the gates check: a path seen by some of the
// people, optionally a form filled in and sent on it (to check the page
// that answers, e.g. a form with its errors).
type qualityPage struct {
	Name   string   // file name of its screenshots
	Path   string   // may name fixture accounts as {member}, {banned}, {deleted}, {admin}
	As     []string // who looks at it
	Status int      // the HTTP status the view answers with (200 when 0)
	// Fill names fields of the page's form (CSS selector → value) and
	// Submit the button that sends it; the answer is the view checked.
	Fill   [][2]string
	Submit string
	// Needs names the page visited just before, which leaves the state
	// this one starts from (WEBMIN_GATE_PAGES picks it along).
	Needs string
}

var (
	everyone = []string{asVisitor, asMember, asModerator, asAdmin}
	members  = []string{asMember, asModerator, asAdmin}
	staff    = []string{asModerator, asAdmin}
	visitors = []string{asVisitor}
	admins   = []string{asAdmin}
)

// qualityPages is every page of the site the gates visit. Add new pages
// here (with the people who may see them).
var qualityPages = []qualityPage{
	{Name: "home", Path: "/", As: everyone},
	{Name: "login", Path: "/login", As: visitors},
	{Name: "login-failed", Path: "/login", As: visitors, Status: 401,
		Fill: [][2]string{{"#f-login", "no_such_account"}, {"#f-password", "not the password"}}, Submit: `form[action="/login"] button[type=submit]`},
	{Name: "login-locked", Path: "/login", As: visitors, Status: 429,
		Fill: [][2]string{{"#f-login", "locked_out"}, {"#f-password", "not the password"}}, Submit: `form[action="/login"] button[type=submit]`},
	// Half signed in: the password of an account with two-factor on was
	// right, and the second step asks for its code (then, sent empty, says so).
	{Name: "login-2fa", Path: "/login", As: visitors,
		Fill: [][2]string{{"#f-login", "two_factor"}, {"#f-password", apptest.Password}}, Submit: `form[action="/login"] button[type=submit]`},
	{Name: "login-2fa-errors", Path: "/login/2fa", As: visitors, Status: 422, Needs: "login-2fa",
		Fill: [][2]string{{"#f-code", ""}}, Submit: `#second-factor-form button[type=submit]`},
	{Name: "register", Path: "/register", As: visitors},
	{Name: "register-errors", Path: "/register", As: visitors, Status: 422,
		Fill: [][2]string{{"#f-username", "member"}, {"#f-email", "member@example.com"}, {"#f-password", "short"}}, Submit: `form[action="/register"] button[type=submit]`},
	{Name: "forgot", Path: "/password/forgot", As: visitors},
	{Name: "reset-link-unknown", Path: "/password/reset/not-a-token", As: visitors, Status: 404},
	{Name: "profile", Path: "/profile/member", As: everyone},
	{Name: "profile-long-name", Path: "/profile/{long}", As: everyone},
	{Name: "not-found", Path: "/no/such/page", As: everyone, Status: 404},
	{Name: "dashboard", Path: "/dashboard", As: members},
	{Name: "settings", Path: "/settings", As: members},
	{Name: "settings-errors", Path: "/settings", As: []string{asMember}, Status: 422,
		Fill: [][2]string{{"#f-current_password", "not the password"}, {"#f-password", "short"}}, Submit: `form[action="/settings/password"] button[type=submit]`},
	{Name: "settings-security", Path: "/settings/security", As: members},
	{Name: "settings-sessions", Path: "/settings/sessions", As: members},
	{Name: "settings-tokens", Path: "/settings/tokens", As: members},
	{Name: "api-docs", Path: "/api/docs", As: everyone},
	{Name: "console-refused", Path: "/admin", As: []string{asMember}, Status: 403},
	{Name: "console", Path: "/admin", As: staff},
	{Name: "users", Path: "/admin/users", As: staff},
	{Name: "users-search", Path: "/admin/users?search=a&type=active&sort=username", As: staff},
	{Name: "users-unknown-filter", Path: "/admin/users?created_from=yesterday", As: staff, Status: 422},
	{Name: "user", Path: "/admin/users/{member}", As: staff},
	{Name: "user-banned", Path: "/admin/users/{banned}", As: staff},
	{Name: "user-deleted", Path: "/admin/users/{deleted}", As: admins},
	{Name: "user-self", Path: "/admin/users/{admin}", As: admins},
	{Name: "user-new", Path: "/admin/users/new", As: admins},
	{Name: "users-bulk", Path: "/admin/users/bulk", As: staff},
	{Name: "users-bulk-dry-run", Path: "/admin/users/bulk?action=ban&type=active&reason=spam", As: staff},
	{Name: "users-bulk-running", Path: "/admin/users/bulk/{job-running}", As: admins},
	{Name: "users-bulk-queued", Path: "/admin/users/bulk/{job-queued}", As: admins},
	{Name: "user-new-errors", Path: "/admin/users/new", As: admins, Status: 422,
		Fill: [][2]string{{"#f-username", "member"}, {"#f-email", "member@example.com"}, {"#f-password", "short"}}, Submit: `#new-user-form button[type=submit]`},
	{Name: "online", Path: "/admin/online", As: admins},
	{Name: "events", Path: "/admin/events", As: admins},
	{Name: "events-unknown-actor", Path: "/admin/events?actor=nobody_here", As: admins, Status: 422},
	{Name: "outbox", Path: "/admin/outbox", As: admins},
	{Name: "keys", Path: "/admin/keys", As: admins},
	{Name: "scripts", Path: "/admin/scripts", As: admins},
}

// viewMode is a screen and a colour scheme.
type viewMode struct {
	Name          string
	Width, Height int64
	Phone, Dark   bool
}

var viewModes = []viewMode{
	{Name: "desktop", Width: 1280, Height: 900},
	{Name: "desktop-dark", Width: 1280, Height: 900, Dark: true},
	{Name: "phone", Width: 390, Height: 844, Phone: true},
	{Name: "phone-dark", Width: 390, Height: 844, Phone: true, Dark: true},
}

// axeTimeout bounds one axe-core run (stepTimeout bounds the other steps).
const axeTimeout = 90 * time.Second

// Users-list budget: at 1280×900 at least this many rows show on the first
// screen, each one line of at most maxUserRowHeight pixels.
const (
	firstScreenUserRows = 15
	maxUserRowHeight    = 40
)

// gateTools finds axe-core and the Nu HTML checker installed from npm
// under .ci/node_modules, and Java; a missing tool fails the test with how
// to get it.
func gateTools(t *testing.T) (axeJS string, vnuJar, java string) {
	t.Helper()
	modules, err := filepath.Abs(filepath.Join("..", ".ci", "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	how := "run `npm ci --prefix .ci` from the repository root (bash .ci/run does it; it needs npm and the npm registry)"
	axe, err := os.ReadFile(filepath.Join(modules, "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("the page gates need axe-core from npm, and it is not installed (%v):\n%s", err, how)
	}
	vnuJar = filepath.Join(modules, "vnu-jar", "build", "dist", "vnu.jar")
	if _, err := os.Stat(vnuJar); err != nil {
		t.Fatalf("the page gates need the Nu HTML checker (vnu-jar from npm), and it is not installed (%v):\n%s", err, how)
	}
	java = os.Getenv("JAVA")
	if java == "" {
		java = "/usr/bin/java"
	}
	if _, err := exec.LookPath(java); err != nil {
		t.Fatalf("the Nu HTML checker needs Java, and %s is not there (%v):\n"+
			"install it with `apt-get install default-jre-headless` (bash .ci/run does it), or point JAVA at a java binary", java, err)
	}
	return string(axe), vnuJar, java
}

// qualitySite is the gates' site: accounts in every state, a history, mail
// in the outbox and an API key, so that each page has something to show.
func qualitySite(t *testing.T) (*site, map[string]string) {
	s := startSite(t, "sqlite")
	ctx := context.Background()
	// A second instance on the same database runs the first batch of a
	// bulk job below: made before anything is written, since bun's
	// AddQueryHook (NewService) must not run beside queries of the
	// first instance (background change announcements, with -race).
	worker := models.NewService(s.DB, models.Options{Argon2: modelstest.FastArgon2, Now: s.Clock.Now, BulkBatch: 5})
	if err := s.Users.Seed(ctx, 60, nil); err != nil {
		t.Fatal(err)
	}
	root := s.User("root", models.LevelSuperadmin)
	s.User("moderator", models.LevelModerator)
	member := s.User("member", 1)
	long := s.User("A_very_long_username_for_a_row", 1)
	banned := s.User("banned_member", 1)
	deleted := s.User("deleted_member", 1)
	s.User("locked_out", 1)
	s.User("two_factor", 1)
	s.TurnOnMFA("two_factor")
	by := models.Actor{User: root, Meta: models.Meta{IP: "192.0.2.1"}}
	if _, err := s.Users.Block(ctx, by, banned.ID, "Spam in every thread"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Users.Delete(ctx, by, deleted.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Users.CreateAPIKey(ctx, by, "Nightly export"); err != nil {
		t.Fatal(err)
	}
	// Two bulk jobs that stay on their pages as they are (the gates' site
	// runs no bulk worker): one queued, one running, its first batch of 5
	// done by a second instance whose lease on it holds.
	active := models.Filter{Type: "active"}
	for i := range 3 {
		s.User(fmt.Sprintf("spam_signup_%d", i+1), 1)
	}
	queued, err := s.Users.StartBulk(ctx, by, models.BulkRequest{Filter: models.Filter{Search: "spam_signup"}, Action: models.BulkBan, Reason: "A wave of spam sign-ups"})
	if err != nil {
		t.Fatal(err)
	}
	running, err := s.Users.StartBulk(ctx, by, models.BulkRequest{Filter: active, Action: models.BulkRevokeSessions})
	if err != nil {
		t.Fatal(err)
	}
	for { // the steps that choose its accounts, then its first batch
		more, err := worker.StepBulk(ctx, running.ID)
		if err != nil {
			t.Fatal(err)
		}
		j, err := worker.BulkJob(ctx, root, running.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !more || j.Done > 0 {
			break
		}
	}
	// locked_out is locked for the browsers' address (a lock holds per
	// account and address), before anyone signs in there.
	c := s.Client()
	c.IP = "127.0.0.1"
	for range 5 {
		c.Post("/login", url.Values{"login": {"locked_out"}, "password": {"wrong password"}})
	}
	other := s.Client()
	other.IP = "198.51.100.20"
	other.Post("/login", url.Values{"login": {"member"}, "password": {"wrong password"}})
	other.Post("/password/forgot", url.Values{"email": {"member@example.com"}})
	return s, map[string]string{
		"{member}": fmt.Sprint(member.ID), "{banned}": fmt.Sprint(banned.ID), "{deleted}": fmt.Sprint(deleted.ID),
		"{admin}": fmt.Sprint(root.ID), "{long}": long.Username,
		"{job-running}": fmt.Sprint(running.ID), "{job-queued}": fmt.Sprint(queued.ID),
	}
}

// axeResult is what the test keeps of an axe-core run.
type axeResult struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// TestPageQuality runs the gates over qualityPages.
func TestPageQuality(t *testing.T) {
	axeJS, vnuJar, java := gateTools(t)
	s, names := qualitySite(t)
	fill := func(p string) string {
		for k, v := range names {
			p = strings.ReplaceAll(p, k, v)
		}
		return p
	}

	var mu sync.Mutex
	htmls := map[string]string{} // file name → HTML as served, for the Nu checker
	keepHTML := func(name, html string) {
		mu.Lock()
		htmls[name] = html
		mu.Unlock()
	}
	logins := map[string]string{asMember: "member", asModerator: "moderator", asAdmin: "root"}

	t.Run("views", func(t *testing.T) {
		for _, who := range everyone {
			t.Run(who, func(t *testing.T) {
				t.Parallel()
				b := s.openBrowserIn(t, who)
				docs := b.watchDocuments()
				if login, ok := logins[who]; ok {
					b.signIn(login, apptest.Password, "/dashboard")
				}
				for _, m := range viewModes {
					b.setMode(m)
					for _, p := range qualityPages {
						if !contains(p.As, who) || !(picked(p.Name) || neededByPicked(p.Name)) {
							continue
						}
						shot := who + "-" + p.Name + "-" + m.Name
						b.visit(p, fill(p.Path), shot)
						if m.Name == "desktop" {
							keepHTML(who+"-"+p.Name, b.documentHTML(docs))
						}
						b.checkView(m, shot, axeJS)
						if p.Name == "users" && who == asAdmin {
							b.checkUserRows(m)
						}
						if p.Name == "users-bulk-dry-run" {
							b.checkSampleNames(m)
						}
					}
				}
			})
		}
	})
	checkHTML(t, java, vnuJar, htmls)
}

// picked says whether a page is among WEBMIN_GATE_PAGES (comma-separated
// names of qualityPages), for a designer looking at a few pages while
// working on them; unset (as in CI), every page is checked.
func picked(name string) bool {
	only := os.Getenv("WEBMIN_GATE_PAGES")
	return only == "" || contains(strings.Split(only, ","), name)
}

// neededByPicked says whether a picked page needs this one first.
func neededByPicked(name string) bool {
	for _, p := range qualityPages {
		if p.Needs == name && picked(p.Name) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// documentWatch remembers the request of the last page loaded, whose body
// (the HTML as served) the browser keeps.
type documentWatch struct {
	mu  sync.Mutex
	req network.RequestID
}

func (b *browser) watchDocuments() *documentWatch {
	w := &documentWatch{}
	err := chromedp.Listen(b.ctx, func(ev any) {
		if r, ok := ev.(*network.EventResponseReceived); ok && r.Type == network.ResourceTypeDocument {
			w.mu.Lock()
			w.req = r.RequestID
			w.mu.Unlock()
		}
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return w
}

// documentHTML is the HTML of the page shown, as the server sent it.
func (b *browser) documentHTML(w *documentWatch) string {
	b.t.Helper()
	w.mu.Lock()
	req := w.req
	w.mu.Unlock()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: req})
	if err != nil {
		b.fail("the HTML of the page: %v", err)
	}
	return string(res.Body)
}

// setMode sets the screen size and colour scheme of the pages loaded next.
func (b *browser) setMode(m viewMode) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	scheme := "light"
	if m.Dark {
		scheme = "dark"
	}
	opts := []chromedp.EmulateViewportOption{}
	if m.Phone {
		opts = append(opts, chromedp.EmulateMobile)
	}
	err := chromedp.Do(ctx, chromedp.EmulateViewport(m.Width, m.Height, opts...))
	if err == nil {
		_, err = chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
	}
	if err != nil {
		b.fail("emulate %s: %v", m.Name, err)
	}
}

// visit loads a page (and sends its form when the page has one to send),
// checks its status and saves its screenshot.
func (b *browser) visit(p qualityPage, path, shot string) {
	b.t.Helper()
	want := p.Status
	if want == 0 {
		want = 200
	}
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.site.URL+path))
	if err != nil {
		b.fail("open %s: %v", path, err)
	}
	if p.Submit != "" {
		for _, f := range p.Fill {
			b.fill(f[0], f[1])
		}
		res, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(p.Submit), chromedp.NodeVisible))
		if err != nil {
			b.fail("send the form of %s with %s: %v", path, p.Submit, err)
		}
	}
	if got := status(res); got != want {
		b.fail("%s (%s): status %d, want %d", path, shot, got, want)
	}
	if err := os.WriteFile(filepath.Join(b.site.dir, artifactName(shot)+".png"), b.screenshot(shot), 0o644); err != nil {
		b.t.Errorf("save screenshot: %v", err)
	}
}

func (b *browser) screenshot(what string) []byte {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fail("screenshot %s: %v", what, err)
	}
	return png
}

// layoutReport is what the page says of its own layout.
type layoutReport struct {
	ScrollWidth int      `json:"scrollWidth"`
	ViewWidth   int      `json:"viewWidth"`
	Wide        []string `json:"wide"` // tables wider than their wrapper
	Cut         []string `json:"cut"`  // texts of an SVG drawn outside its viewBox (a chart's axis labels)
}

const layoutJS = `(() => {
  ` + svgTextCutJS + `
  const wide = [];
  for (const t of document.querySelectorAll("table")) {
    const wrap = t.parentElement;
    const tw = Math.round(t.getBoundingClientRect().width), ww = Math.round(wrap.clientWidth);
    if (tw > ww + 1) wide.push((t.className || "table") + " " + tw + "px in " + ww + "px");
  }
  return {scrollWidth: document.documentElement.scrollWidth, viewWidth: document.documentElement.clientWidth, wide, cut: svgTextCut()};
})()`

// svgTextCutJS defines svgTextCut(): the texts of inline SVGs that reach
// outside their viewBox, which the SVG cuts off (as it would a y-axis
// label wider than the margin the server drew for it).
const svgTextCutJS = `function svgTextCut() {
  const cut = [];
  for (const svg of document.querySelectorAll("svg[viewBox]")) {
    const vb = svg.viewBox.baseVal;
    for (const t of svg.querySelectorAll("text")) {
      const b = t.getBBox();
      if (b.width === 0) continue;
      if (b.x < vb.x - 0.5 || b.x + b.width > vb.x + vb.width + 0.5 || b.y < vb.y - 0.5 || b.y + b.height > vb.y + vb.height + 0.5)
        cut.push((svg.closest("[id]") || svg).id + " “" + t.textContent + "” " + Math.round(b.x) + ".." + Math.round(b.x + b.width) +
          " of 0.." + Math.round(vb.width));
    }
  }
  return cut;
}`

// checkView runs the layout checks and axe-core on the page shown.
func (b *browser) checkView(m viewMode, shot, axeJS string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	lay, err := chromedp.Run(ctx, chromedp.Evaluate[layoutReport](layoutJS))
	if err != nil {
		b.fail("measure %s: %v", shot, err)
	}
	if lay.ScrollWidth > lay.ViewWidth {
		b.t.Errorf("%s: the page is %dpx wide on a %dpx screen (sideways scrolling)", shot, lay.ScrollWidth, lay.ViewWidth)
	}
	if !m.Phone && len(lay.Wide) > 0 {
		b.t.Errorf("%s: tables wider than their wrapper: %s", shot, strings.Join(lay.Wide, "; "))
	}
	if len(lay.Cut) > 0 {
		b.t.Errorf("%s: SVG text cut off at the edge of its drawing: %s", shot, strings.Join(lay.Cut, "; "))
	}

	// axe-core, injected through the protocol (not a <script> the CSP would refuse).
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`typeof axe === "undefined" ? (0, eval)(`+jsString(axeJS)+`) : 0`)); err != nil {
		b.fail("inject axe-core: %v", err)
	}
	// Every rule in light mode; in dark mode only the colours change, so
	// only the contrast rule runs again (the gates' time stays modest).
	opts := `{resultTypes: ["violations"]}`
	if m.Dark {
		opts = `{resultTypes: ["violations"], runOnly: {type: "rule", values: ["color-contrast", "link-in-text-block"]}}`
	}
	// axe-core takes seconds on a long page of a busy machine: its own bound.
	axeCtx, cancelAxe := context.WithTimeout(b.ctx, axeTimeout)
	defer cancelAxe()
	res, err := chromedp.Run(axeCtx, chromedp.Evaluate[[]axeResult](
		`axe.run(document, `+opts+`).then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical"))`,
		func(p *runtime.EvaluateParams) { yes := true; p.AwaitPromise = &yes }))
	if err != nil {
		b.fail("axe-core on %s: %v", shot, err)
	}
	for _, v := range res {
		var where []string
		for i, n := range v.Nodes {
			if i == 3 {
				where = append(where, fmt.Sprintf("… %d more", len(v.Nodes)-3))
				break
			}
			where = append(where, fmt.Sprintf("%v: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " ")))
		}
		b.t.Errorf("%s: axe %s (%s): %s\n\t%s", shot, v.ID, v.Impact, v.Help, strings.Join(where, "\n\t"))
	}
}

func jsString(s string) string {
	j, _ := json.Marshal(s)
	return string(j)
}

// checkUserRows holds the users list to its budget: on a desktop, one line
// per account and at least firstScreenUserRows of them on the first
// screen; on a phone, the name, the type and the last visit of each row
// on the screen without scrolling sideways.
func (b *browser) checkUserRows(m viewMode) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	type row struct {
		Top, Bottom, Height    float64
		NameRight, TypeRight   float64
		SeenRight, ScreenWidth float64
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]row](`Array.from(document.querySelectorAll("tr.user-row"), tr => {
		const r = tr.getBoundingClientRect(), right = s => { const e = tr.querySelector(s); return e ? e.getBoundingClientRect().right : 1e9; };
		return {Top: r.top + scrollY, Bottom: r.bottom + scrollY, Height: r.height,
		  NameRight: right("a.user-link"), TypeRight: right(".type-badge"), SeenRight: right(".seen"), ScreenWidth: innerWidth};
	})`))
	if err != nil {
		b.fail("measure the user rows: %v", err)
	}
	if len(rows) < firstScreenUserRows {
		b.fail("the users list has %d rows; the gate needs at least %d accounts", len(rows), firstScreenUserRows)
	}
	if m.Phone {
		for i, r := range rows {
			if r.NameRight > r.ScreenWidth || r.TypeRight > r.ScreenWidth || r.SeenRight > r.ScreenWidth {
				b.t.Errorf("%s: user row %d: name, type or last seen off the %gpx screen (right edges %g, %g, %g)",
					m.Name, i+1, r.ScreenWidth, r.NameRight, r.TypeRight, r.SeenRight)
				return
			}
		}
		return
	}
	for i, r := range rows {
		if r.Height > maxUserRowHeight {
			b.t.Errorf("%s: user row %d is %gpx tall (budget %dpx: one line)", m.Name, i+1, r.Height, maxUserRowHeight)
			return
		}
	}
	if last := rows[firstScreenUserRows-1]; last.Bottom > float64(m.Height) {
		b.t.Errorf("%s: row %d of the users list ends at y=%g, below the first screen (%dpx)", m.Name, firstScreenUserRows, last.Bottom, m.Height)
	}
}

// checkSampleNames holds a bulk dry run's sample to showing each username
// whole (the gates' names are at most 30 characters): it once borrowed
// the users list's columns without their widths and cut names to about
// four letters.
func (b *browser) checkSampleNames(m viewMode) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	cut, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("tr.bulk-sample-row a"))
	  .filter(a => a.scrollWidth > a.clientWidth + 1 || a.getBoundingClientRect().right > innerWidth).map(a => a.textContent)`))
	if err != nil {
		b.fail("measure the sample's names: %v", err)
	}
	if n := b.count("tr.bulk-sample-row"); n == 0 {
		b.t.Errorf("%s: the dry run shows no sample", m.Name)
	}
	if len(cut) > 0 {
		b.t.Errorf("%s: the dry run's sample cuts these usernames: %v", m.Name, cut)
	}
}

// vnuMessage is one finding of the Nu HTML checker.
type vnuMessage struct {
	Type     string `json:"type"`
	SubType  string `json:"subType"`
	URL      string `json:"url"`
	Line     int    `json:"lastLine"`
	Message  string `json:"message"`
	Extract  string `json:"extract"`
	Severity string
}

// checkHTML runs the Nu HTML checker once over every page's HTML.
func checkHTML(t *testing.T, java, vnuJar string, htmls map[string]string) {
	t.Helper()
	if len(htmls) == 0 {
		t.Fatal("no page HTML was collected for the Nu HTML checker")
	}
	dir := filepath.Join(t.TempDir(), "html")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var files []string
	for name, html := range htmls {
		f := filepath.Join(dir, artifactName(name)+".html")
		if err := os.WriteFile(f, []byte(html), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	sort.Strings(files)
	cmd := exec.Command(java, append([]string{"-Xss1024k", "-jar", vnuJar, "--format", "json", "--errors-only"}, files...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out struct {
		Messages []vnuMessage `json:"messages"`
	}
	if err := json.Unmarshal(stderr.Bytes(), &out); err != nil {
		t.Fatalf("the Nu HTML checker (%s -jar %s) did not answer in JSON (%v, %v):\n%s%s", java, vnuJar, runErr, err, stdout.String(), stderr.String())
	}
	errorsFound := 0
	for _, m := range out.Messages {
		if m.Type != "error" && m.Type != "non-document-error" {
			continue
		}
		errorsFound++
		t.Errorf("Nu HTML checker: %s line %d: %s\n\t%s", filepath.Base(m.URL), m.Line, m.Message, strings.TrimSpace(m.Extract))
	}
	if errorsFound == 0 && runErr != nil {
		t.Errorf("the Nu HTML checker failed with no message: %v\n%s", runErr, stderr.String())
	}
	t.Logf("Nu HTML checker: %d pages, %d errors", len(files), errorsFound)
}
