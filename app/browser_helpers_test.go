package app_test

// The browser harness: the real application on a loopback port, driven by
// Debian's headless Chromium through chromedp, with a full-page screenshot
// of every page a journey visits under testdata/artifacts/ (gitignored).

import (
	"context"
	"fmt"
	"iter"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
)

// stepTimeout bounds one browser step (a navigation, a click and the page
// it loads), so that a broken page fails the test instead of hanging it.
const stepTimeout = 20 * time.Second

// site is the application listening on 127.0.0.1, for browsers.
type site struct {
	*apptest.Env
	URL string

	t     *testing.T
	dir   string // screenshots of this test
	mu    sync.Mutex
	shots int
}

// startSite serves a fresh application on the named database on a free
// loopback port until the test ends.
func startSite(t *testing.T, dbName string, opts ...func(*app.Config)) *site {
	t.Helper()
	env := apptest.New(t, dbName, opts...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = env.Server.Fiber.Listener(ln) }()
	t.Cleanup(func() { _ = env.Server.Fiber.ShutdownWithTimeout(5 * time.Second) })

	dir := filepath.Join("testdata", "artifacts", artifactName(t.Name()))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &site{Env: env, URL: "http://" + ln.Addr().String(), t: t, dir: dir}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func artifactName(s string) string { return unsafeName.ReplaceAllString(s, "_") }

// save writes a screenshot as NN-browser-step.png, numbered in the order
// the journey took them.
func (s *site) save(browser, step string, png []byte) string {
	s.mu.Lock()
	s.shots++
	n := s.shots
	s.mu.Unlock()
	path := filepath.Join(s.dir, fmt.Sprintf("%02d-%s-%s.png", n, artifactName(browser), artifactName(step)))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Errorf("save screenshot: %v", err)
	}
	return path
}

// chromePath is $CHROME_PATH or Debian's /usr/bin/chromium. A missing
// browser fails the test: the journeys are part of the suite, not optional.
func chromePath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CHROME_PATH")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(p); err != nil {
		t.Fatalf("the browser tests need headless Chromium, and %s is not there (%v).\n"+
			"Install it with `bash .ci/run` (which installs what the tests need) or `apt-get install chromium`,\n"+
			"or point CHROME_PATH at a Chromium or Chrome binary.", p, err)
	}
	return p
}

// browser is one person's browser: its own Chromium process and profile,
// so two browsers share no cookies.
type browser struct {
	t    *testing.T
	site *site
	name string
	ctx  context.Context

	mu       sync.Mutex
	problems []string // CSP violations and script errors the pages reported
}

// openBrowser starts a headless Chromium for one person, closed when the
// test ends.
func (s *site) openBrowser(name string) *browser {
	s.t.Helper()
	return s.openBrowserIn(s.t, name)
}

// openBrowserIn is openBrowser for a subtest t (parallel subtests each
// drive their own browser on one site).
func (s *site) openBrowserIn(t *testing.T, name string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromePath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &browser{t: t, site: s, name: name, ctx: ctx}
	startCtx, cancelStart := context.WithTimeout(ctx, 30*time.Second)
	defer cancelStart()
	// Start the browser with the long-lived context (a timeout on the first
	// Run would end the browser with it), bounded by a watchdog.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			cancel()
			cancelAlloc()
			t.Fatalf("start Chromium (%s): %v", chromePath(t), err)
		}
	case <-startCtx.Done():
		cancel()
		cancelAlloc()
		t.Fatalf("Chromium (%s) did not start within 30s", chromePath(t))
	}
	t.Cleanup(func() {
		closeCtx, done := context.WithTimeout(ctx, 5*time.Second)
		defer done()
		_ = chromedp.Cancel(closeCtx)
		cancel()
		cancelAlloc()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("browser %s: the page reported: %s", name, p)
		}
	})
	go b.watchConsole(chromedp.Console(ctx)) // subscribed before the first page
	return b
}

// watchConsole keeps the pages' script errors and Content-Security-Policy
// violations (an inline style or script slipped into a template), which the
// test reports as failures when it ends.
func (b *browser) watchConsole(msgs iter.Seq2[chromedp.ConsoleMessage, error]) {
	for m, err := range msgs {
		if err != nil {
			return
		}
		if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
			text := m.Text
			if m.URL != "" {
				text += " (" + strings.TrimPrefix(m.URL, b.site.URL) + ")"
			}
			b.mu.Lock()
			b.problems = append(b.problems, text)
			b.mu.Unlock()
		}
	}
}

func (b *browser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, stepTimeout)
}

// fail stops the test with a screenshot of where the browser is.
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	msg := fmt.Sprintf(format, args...)
	ctx, cancel := b.step()
	defer cancel()
	where, _ := chromedp.Run(ctx, chromedp.Location())
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		msg += "\n(screenshot: " + b.site.save(b.name, "FAILED", png) + ")"
	}
	b.t.Fatalf("browser %s at %s: %s", b.name, where, msg)
}

// shot saves a full-page screenshot of the current page.
func (b *browser) shot(step string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("browser %s: screenshot %s: %v", b.name, step, err)
	}
	b.site.save(b.name, step, png)
}

// open loads a path of the site, takes a screenshot and returns the HTTP
// status of the page.
func (b *browser) open(step, path string) int {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.site.URL+path))
	if err != nil {
		b.fail("open %s: %v", path, err)
	}
	b.shot(step)
	return status(res)
}

// click clicks what sel finds (a link or a submit button), waits for the
// page it leads to, takes a screenshot and returns the page's HTTP status
// (after redirects).
func (b *browser) click(step, sel string) int {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.fail("click %s: %v", sel, err)
	}
	b.shot(step)
	return status(res)
}

func status(res *network.Response) int {
	if res == nil {
		return 0
	}
	return int(res.Status)
}

// toggle clicks what sel finds without leaving the page (a disclosure's
// summary, e.g. the confirm step of a destructive action).
func (b *browser) toggle(sel string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		b.fail("click %s: %v", sel, err)
	}
}

// fill types a value into the field sel finds, replacing what was there.
func (b *browser) fill(sel, value string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(sel)),
		// (chromedp.Clear fails on an empty textarea.)
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, sel)),
		chromedp.SendKeys(chromedp.CSS(sel), value),
	); err != nil {
		b.fail("fill %s: %v", sel, err)
	}
}

// text is the visible text of the first element sel finds.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeReady))
	if err != nil {
		b.fail("read %s: %v", sel, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// texts is the text of every element sel finds (none is fine).
func (b *browser) texts(sel string) []string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		fmt.Sprintf(`Array.from(document.querySelectorAll(%q), e => e.innerText.trim().replace(/\s+/g, " "))`, sel)))
	if err != nil {
		b.fail("read %s: %v", sel, err)
	}
	return out
}

// attr is an attribute of the first element sel finds.
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name, chromedp.NodeReady))
	if err != nil || !res.Exists {
		b.fail("attribute %s of %s: missing (%v)", name, sel, err)
	}
	return res.Value
}

// value is the current value of a form field.
func (b *browser) value(sel string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel), chromedp.NodeReady))
	if err != nil {
		b.fail("value of %s: %v", sel, err)
	}
	return v
}

// path is the current page's path and query.
func (b *browser) path() string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.fail("location: %v", err)
	}
	return strings.TrimPrefix(loc, b.site.URL)
}

// count is how many elements sel finds.
func (b *browser) count(sel string) int {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		b.fail("count %s: %v", sel, err)
	}
	return n
}

// flashes are the texts of the flash messages of one kind (success,
// error, info) on the page, checked for the role SPEC §4 gives them.
func (b *browser) flashes(kind string) []string {
	b.t.Helper()
	role := "status"
	if kind == "error" {
		role = "alert"
	}
	return b.texts(fmt.Sprintf(`.flash.flash-%s[role=%s]`, kind, role))
}

// wantFlash fails unless the page shows a flash of kind with text.
func (b *browser) wantFlash(kind, text string) {
	b.t.Helper()
	got := b.flashes(kind)
	for _, f := range got {
		if f == text {
			return
		}
	}
	b.fail("want a %s flash %q, the page has %q", kind, text, got)
}

// wantPath fails unless the browser is on path (with its query).
func (b *browser) wantPath(path string) {
	b.t.Helper()
	if got := b.path(); got != path {
		b.fail("want to be on %s, am on %s", path, got)
	}
}

// wantStatus fails unless got is want.
func (b *browser) wantStatus(what string, got, want int) {
	b.t.Helper()
	if got != want {
		b.fail("%s: status %d, want %d", what, got, want)
	}
}

// emulatePhone makes the viewport a 390×844 phone (touch, mobile layout).
func (b *browser) emulatePhone() {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		b.fail("emulate a phone: %v", err)
	}
}

// emulateDark makes the pages see prefers-color-scheme: dark.
func (b *browser) emulateDark() {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	})
	if err != nil {
		b.fail("emulate dark mode: %v", err)
	}
}

// signIn signs in through the form and fails unless it lands on want.
func (b *browser) signIn(login, password, want string) {
	b.t.Helper()
	b.open("login", "/login")
	b.fill("#f-login", login)
	b.fill("#f-password", password)
	b.wantStatus("sign in", b.click("signed-in", `form[action="/login"] button[type=submit]`), 200)
	b.wantPath(want)
}

// scrollWidth is the page's full width in CSS pixels.
func (b *browser) scrollWidth() int {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		b.fail("scroll width: %v", err)
	}
	return w
}

// style is a computed CSS property of the first element sel finds.
func (b *browser) style(sel, prop string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).getPropertyValue(%q)`, sel, prop)))
	if err != nil {
		b.fail("style %s of %s: %v", prop, sel, err)
	}
	return v
}
