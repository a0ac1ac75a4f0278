package app_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
)

// startSiteOnLocalhost is startSite on http://localhost:PORT, which is
// also the site's BASE_URL: WebAuthn needs a host name for its relying
// party (an IP address is not one) and a secure context (localhost is).
// opts see that BASE_URL already set.
func startSiteOnLocalhost(t *testing.T, dbName string, opts ...func(*app.Config)) *site {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	env := apptest.New(t, dbName, append([]func(*app.Config){func(c *app.Config) { c.BaseURL = url }}, opts...)...)
	go func() { _ = env.Server.Fiber.Listener(ln) }()
	t.Cleanup(func() { _ = env.Server.Fiber.ShutdownWithTimeout(5 * time.Second) })
	dir := filepath.Join("testdata", "artifacts", artifactName(t.Name()))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &site{Env: env, URL: url, t: t, dir: dir}
}

// virtualAuthenticator gives the browser a platform authenticator that
// keeps discoverable credentials and verifies its user (DevTools WebAuthn
// domain), as a phone or laptop with a fingerprint reader would.
func (b *browser) virtualAuthenticator() webauthn.AuthenticatorID {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		b.fail("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		b.fail("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return res.AuthenticatorID
}

// clickTo clicks sel, whose script loads another page when it is done,
// and waits until the browser is on path and shows what wait finds.
func (b *browser) clickTo(step, sel, path, wait string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		b.fail("click %s: %v", sel, err)
	}
	for {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil && loc == b.site.URL+path {
			break
		}
		if ctx.Err() != nil {
			b.fail("after clicking %s, never reached %s (last at %s; the page says %q)", sel, path, loc,
				b.texts("[data-passkey-error]"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(wait))); err != nil {
		b.fail("wait for %s: %v", path, err)
	}
	b.shot(step)
}

// TestBrowserPasskeyJourney: a member adds a passkey in the security
// settings (a DevTools virtual authenticator stands in for the device),
// names it, signs out, and signs in with it on /login, typing nothing;
// two-factor on the account is not asked for (the passkey counts as two
// factors). The pages around it work without the script.
func TestBrowserPasskeyJourney(t *testing.T) {
	for _, db := range browserDBs {
		t.Run(db, func(t *testing.T) {
			s := startSiteOnLocalhost(t, db)
			s.User("pia", 1)
			secret, _ := s.TurnOnMFA("pia")
			pia := s.openBrowser("pia")
			auth := pia.virtualAuthenticator()

			// Signing in with the password needs the code.
			pia.open("login", "/login")
			pia.fill("#f-login", "pia")
			pia.fill("#f-password", apptest.Password)
			pia.wantStatus("password", pia.click("second-factor", `form[action="/login"] button[type=submit]`), 200)
			pia.wantPath("/login/2fa")
			pia.open("login-again", "/login") // no full session yet
			pia.wantPath("/login")
			pia.fill("#f-login", "pia")
			pia.fill("#f-password", apptest.Password)
			pia.click("second-factor-again", `form[action="/login"] button[type=submit]`)
			s.Clock.Advance(30 * time.Second) // the code that turned it on is used up
			pia.fill("#f-code", s.TOTP(secret))
			pia.wantStatus("code", pia.click("signed-in", `#second-factor-form button[type=submit]`), 200)
			pia.wantPath("/dashboard")

			// Add a passkey.
			pia.wantStatus("security", pia.open("security", "/settings/security"), 200)
			pia.fill("#f-passkey-name", "Pia's laptop")
			pia.clickTo("passkey-added", "#passkey-add", "/settings/security#passkeys", ".passkey-list .passkey")
			pia.wantFlash("success", "The passkey “Pia's laptop” is added: use it on the sign-in page.")
			if n := pia.count(".passkey-list .passkey"); n != 1 {
				pia.fail("%d passkeys listed", n)
			}
			stepCtx, cancel := pia.step()
			creds, err := chromedp.Call(stepCtx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: auth})
			cancel()
			if err != nil || len(creds.Credentials) != 1 || !creds.Credentials[0].IsResidentCredential {
				pia.fail("the authenticator holds %+v (%v): want one discoverable credential", creds, err)
			}

			// Sign out, then in with the passkey alone.
			pia.click("signed-out", `form[action="/logout"] button[type=submit]`)
			pia.open("login-passkey", "/login")
			pia.clickTo("passkey-signed-in", "#passkey-login", "/dashboard", ".site-header .nav-name")
			pia.wantFlash("success", "Welcome back, pia!")
			if got := pia.text(".site-header .nav-name"); got != "pia" {
				pia.fail("the nav shows %q", got)
			}
			// The console's record: a login with a passkey.
			ev, err := s.Users.Events(ctx(), models.EventFilter{Action: models.EvLogin})
			if err != nil || len(ev.Items) == 0 || ev.Items[0].Detail != "with passkey" {
				t.Fatalf("login events %+v (%v)", ev.Items, err)
			}

			// This device among the sessions: the password one was signed out.
			pia.wantStatus("sessions", pia.open("sessions", "/settings/sessions"), 200)
			if n := pia.count("tr.session-row[data-current]"); n != 1 {
				pia.fail("%d sessions marked as this device", n)
			}

			// Remove it (a plain form).
			pia.open("security-again", "/settings/security")
			pia.click("passkey-removed", ".passkey-remove-form button[type=submit]")
			pia.wantFlash("success", "The passkey is removed. Remove it from your device too.")
			if n := pia.count(".passkey-list .passkey"); n != 0 {
				pia.fail("%d passkeys left", n)
			}

			// Two-factor off, then the set-up page with its QR code, on a
			// phone in dark mode.
			s.Clock.Advance(30 * time.Second)
			pia.fill("#totp-disable-form #f-current_password", apptest.Password)
			pia.fill("#totp-disable-form #f-code", s.TOTP(secret))
			pia.click("totp-off", "#totp-disable-form button[type=submit]")
			pia.wantFlash("success", "Two-factor sign-in is off.")
			pia.emulatePhone()
			pia.emulateDark()
			pia.click("totp-setup-phone-dark", "#totp-begin-form button[type=submit]")
			if pia.attr("[data-totp-secret]", "data-totp-secret") == "" || pia.count("img.qr") != 1 {
				pia.fail("no secret or QR code on the set-up page")
			}
			pia.open("sessions-phone-dark", "/settings/sessions")
		})
	}
}
