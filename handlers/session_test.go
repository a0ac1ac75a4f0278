package handlers

import (
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

func testSessions() *Sessions {
	return NewSessions([]byte(strings.Repeat("h", 32)), []byte(strings.Repeat("b", 32)), false)
}

// cookieOf saves sess on a fresh response and returns the cookie value written.
func cookieOf(t testing.TB, app *fiber.App, ss *Sessions, sess *Session) string {
	t.Helper()
	c := app.AcquireCtx(&fasthttp.RequestCtx{})
	defer app.ReleaseCtx(c)
	if err := ss.Save(c, sess); err != nil {
		t.Fatal(err)
	}
	ck := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(ck)
	ck.SetKey(ss.Name)
	if !c.Response().Header.Cookie(ck) {
		return ""
	}
	return string(ck.Value())
}

// loadFrom decodes a session from a request carrying the cookie value.
func loadFrom(app *fiber.App, ss *Sessions, value string) *Session {
	c := app.AcquireCtx(&fasthttp.RequestCtx{})
	defer app.ReleaseCtx(c)
	c.Request().Header.SetCookie(ss.Name, value)
	return ss.Load(c)
}

func TestSessionRoundTrip(t *testing.T) {
	app, ss := fiber.New(), testSessions()
	s := loadFrom(app, ss, "")
	s.Start("secret-42", true, time.Now().Add(time.Hour))
	s.AddFlash("success", "Welcome back, <b>x</b>.")
	raw := cookieOf(t, app, ss, s)
	if raw == "" {
		t.Fatal("no cookie written at sign-in")
	}

	got := loadFrom(app, ss, raw)
	if got.Token() != "secret-42" || !got.v.Remember || got.v.Expires == 0 {
		t.Fatalf("loaded %+v", got.v)
	}
	if fl := got.Flashes(); len(fl) != 1 || fl[0] != (Flash{"success", "Welcome back, <b>x</b>."}) {
		t.Fatalf("flashes %+v", fl)
	}
	if got.Flashes() != nil || got.HasFlashes() {
		t.Fatal("a flash was shown twice")
	}
	again := loadFrom(app, ss, cookieOf(t, app, ss, got))
	if again.Token() != "secret-42" || again.HasFlashes() {
		t.Fatalf("after the flash was taken: %+v", again.v)
	}

	// Signing in again drops every other value and keeps pending flashes.
	again.AddFlash("info", "hello")
	again.v.Next = "/somewhere"
	again.Start("secret-43", false, time.Now().Add(time.Hour))
	if again.Token() != "secret-43" || again.v.Next != "" || again.v.Remember || !again.HasFlashes() {
		t.Fatalf("second sign-in: %+v", again.v)
	}
	again.SignOut()
	if again.Token() != "" || !again.HasFlashes() {
		t.Fatalf("after sign-out: %+v", again.v)
	}
}

func TestSessionRefusesTamperedAndExpiredCookies(t *testing.T) {
	app, ss := fiber.New(), testSessions()
	s := loadFrom(app, ss, "")
	s.Start("secret-42", false, time.Now().Add(time.Hour))
	raw := cookieOf(t, app, ss, s)

	tampered := []byte(raw)
	tampered[len(tampered)/2] ^= 1
	for _, bad := range []string{string(tampered), raw[:len(raw)-4], "garbage", raw + "x"} {
		if tok := loadFrom(app, ss, bad).Token(); tok != "" {
			t.Fatalf("a tampered cookie %q gave session %q", bad, tok)
		}
	}
	// Another key (another site, or a rotated secret) can't read it either.
	other := NewSessions([]byte(strings.Repeat("x", 32)), []byte(strings.Repeat("b", 32)), false)
	if tok := loadFrom(app, other, raw).Token(); tok != "" {
		t.Fatalf("a cookie signed with another key gave session %q", tok)
	}

	// A session past its own expiry is cleared, and the cookie removed.
	s.v.Expires = time.Now().Add(-time.Minute).Unix()
	s.dirty = true
	expired := loadFrom(app, ss, cookieOf(t, app, ss, s))
	if expired.Token() != "" || !expired.expire {
		t.Fatalf("an expired session loaded as %+v", expired.v)
	}
	if v := cookieOf(t, app, ss, expired); v != "" {
		t.Fatalf("the expired cookie was written again: %q", v)
	}
}

// BenchmarkSessionLoad decodes a signed-in session cookie, as every page
// of a signed-in member does.
func BenchmarkSessionLoad(b *testing.B) {
	app, ss := fiber.New(), testSessions()
	s := loadFrom(app, ss, "")
	s.Start("0123456789abcdef0123456789abcdef0123456789a", true, time.Now().Add(time.Hour))
	raw := cookieOf(b, app, ss, s)
	c := app.AcquireCtx(&fasthttp.RequestCtx{})
	defer app.ReleaseCtx(c)
	c.Request().Header.SetCookie(ss.Name, raw)
	b.ReportAllocs()
	for b.Loop() {
		if ss.Load(c).Token() == "" {
			b.Fatal("not signed in")
		}
	}
}

func TestInWords(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1 second"}, {time.Millisecond, "1 second"}, {5 * time.Second, "5 seconds"}, {59 * time.Second, "59 seconds"},
		{time.Minute, "1 minute"}, {61 * time.Second, "2 minutes"}, {15 * time.Minute, "15 minutes"},
		{14*time.Minute + 59*time.Second, "15 minutes"}, {time.Hour, "1 hour"}, {75 * time.Minute, "75 minutes"},
		{2 * time.Hour, "2 hours"}, {150 * time.Minute, "3 hours"},
	} {
		if got := inWords(c.d); got != c.want {
			t.Errorf("inWords(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}
