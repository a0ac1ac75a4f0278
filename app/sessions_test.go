package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models/modelstest"
)

// A session cookie copied before sign-out no longer works after it: the
// server-side record is gone.
func TestCopiedSessionCookieDiesAtSignOut(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("ann", 1)
		member := env.SignedIn("ann")
		wantStatus(t, member.Get("/dashboard"), http.StatusOK)
		copied := member.Cookie("wm_session")

		wantRedirect(t, member.Post("/logout", nil), "/")

		thief := env.Client()
		thief.SetCookie("wm_session", copied)
		wantRedirect(t, thief.Get("/dashboard"), "/login?next=%2Fdashboard")
	})
}

// A CSRF token minted for an anonymous visitor does not pass in a
// signed-in session, even sent in both the cookie and the form.
func TestAnonymousCSRFTokenFailsInSignedInSession(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("root", 10)
		anonymous := env.Client().CSRF()
		if anonymous == "" {
			t.Fatal("no CSRF token for a visitor")
		}
		root := env.SignedIn("root")
		own := root.CSRF()
		if own == anonymous {
			t.Fatal("the session kept the visitor's token")
		}
		root.SetCookie("wm_csrf", anonymous)
		wantStatus(t, root.Post("/settings/sessions/revoke", url.Values{"_csrf": {anonymous}}), http.StatusForbidden)
		// The session is untouched and its own token still works.
		root.SetCookie("wm_csrf", own)
		wantStatus(t, root.Get("/dashboard"), http.StatusOK)
		wantRedirect(t, root.Post("/settings/sessions/revoke", url.Values{"_csrf": {own}}), "/login")
	})
}

// sessionIDs are the data-session-id values of a sessions list page, and
// the one marked as this device.
func sessionIDs(t *testing.T, res *apptest.Response) (ids []string, current string) {
	t.Helper()
	for _, m := range sessionRowRE.FindAllStringSubmatch(res.Body, -1) {
		ids = append(ids, m[1])
		if m[2] != "" {
			current = m[1]
		}
	}
	return ids, current
}

var sessionRowRE = regexp.MustCompile(`data-session-id="(\d+)"( data-current)?`)

func TestSettingsSessionsListAndSignOutOne(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("ann", 1)
		laptop := env.SignedIn("ann")
		phone := env.Client()
		phone.IP = "198.51.100.20"
		phone.SignIn("ann", apptest.Password)

		res := laptop.Get("/settings/sessions")
		wantStatus(t, res, http.StatusOK)
		ids, current := sessionIDs(t, res)
		if len(ids) != 2 || current == "" {
			t.Fatalf("sessions %v, current %q\n%s", ids, current, res.Text())
		}
		wantContains(t, res, "This device", "198.51.100.20")
		other := ids[0]
		if other == current {
			other = ids[1]
		}
		// Sign the phone out from the laptop: the phone is signed out, the laptop not.
		wantRedirect(t, laptop.Post("/settings/sessions/"+other+"/revoke", nil), "/settings/sessions")
		wantRedirect(t, phone.Get("/dashboard"), "/login?next=%2Fdashboard")
		wantStatus(t, laptop.Get("/dashboard"), http.StatusOK)
		// Someone else's session, or one that is gone: 404.
		env.User("bob", 1)
		bob := env.SignedIn("bob")
		wantStatus(t, bob.Post("/settings/sessions/"+current+"/revoke", nil), http.StatusNotFound)
		wantStatus(t, laptop.Post("/settings/sessions/"+other+"/revoke", nil), http.StatusNotFound)
		wantStatus(t, laptop.Get("/dashboard"), http.StatusOK)
		// This device: signs out here.
		wantRedirect(t, laptop.Post("/settings/sessions/"+current+"/revoke", nil), "/")
		wantRedirect(t, laptop.Get("/dashboard"), "/login?next=%2Fdashboard")
	})
}

func TestConsoleSessionsListAndRevoke(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 9)
		env.User("peer", 9)
		env.User("mod", 6)
		ann := env.User("ann", 1)
		annPath := "/admin/users/" + strconv.FormatInt(ann.ID, 10)
		annA, annB := env.SignedIn("ann"), env.SignedIn("ann")
		admin := env.SignedIn("admin")

		res := admin.Get(annPath)
		wantStatus(t, res, http.StatusOK)
		ids, _ := sessionIDs(t, res)
		if len(ids) != 2 {
			t.Fatalf("the console lists %v", ids)
		}
		// A moderator sees no sessions and can't revoke them; nor can an equal admin.
		mod := env.SignedIn("mod")
		if ids, _ := sessionIDs(t, mod.Get(annPath)); len(ids) != 0 {
			t.Fatalf("a moderator sees sessions %v", ids)
		}
		wantStatus(t, mod.Post(annPath+"/sessions/"+ids[0]+"/revoke", nil), http.StatusForbidden)
		peer := env.SignedIn("peer")
		adminID := strconv.FormatInt(env.User("other_admin", 9).ID, 10)
		wantStatus(t, peer.Post("/admin/users/"+adminID+"/sessions/revoke", nil), http.StatusForbidden)
		wantStatus(t, annA.Get("/dashboard"), http.StatusOK)

		// One, then all.
		wantRedirect(t, admin.Post(annPath+"/sessions/"+ids[0]+"/revoke", nil), annPath+"#sessions")
		left, _ := sessionIDs(t, admin.Get(annPath))
		if len(left) != 1 || left[0] != ids[1] {
			t.Fatalf("after revoking %s: %v", ids[0], left)
		}
		wantRedirect(t, admin.Post(annPath+"/sessions/revoke", nil), annPath)
		wantRedirect(t, annA.Get("/dashboard"), "/login?next=%2Fdashboard")
		wantRedirect(t, annB.Get("/dashboard"), "/login?next=%2Fdashboard")
		if left, _ := sessionIDs(t, admin.Get(annPath)); len(left) != 0 {
			t.Fatalf("after sign out everywhere: %v", left)
		}
	})
}

func TestTwoFactorSignInOverHTTP(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("tess", 1)
		secret, codes := env.TurnOnMFA("tess")
		c := env.Client()
		wantRedirect(t, c.Post("/login", url.Values{"login": {"tess"}, "password": {apptest.Password}, "next": {"/settings"}}), "/login/2fa")
		// Half way: no page of a member yet.
		wantRedirect(t, c.Get("/dashboard"), "/login?next=%2Fdashboard")
		wantStatus(t, c.Get("/login/2fa"), http.StatusOK)
		wantStatus(t, c.Post("/login/2fa", url.Values{"code": {"000000"}}), http.StatusUnauthorized)
		wantStatus(t, c.Post("/login/2fa", url.Values{"code": {""}}), http.StatusUnprocessableEntity)
		env.Clock.Advance(30 * time.Second)
		wantRedirect(t, c.Post("/login/2fa", url.Values{"code": {env.TOTP(secret)}}), "/settings")
		wantStatus(t, c.Get("/dashboard"), http.StatusOK)
		wantRedirect(t, c.Get("/login/2fa"), "/dashboard")

		// A recovery code works once.
		r := env.Client()
		r.SignIn("tess", apptest.Password)
		wantRedirect(t, r.Post("/login/2fa", url.Values{"code": {codes[0]}}), "/dashboard")
		again := env.Client()
		again.SignIn("tess", apptest.Password)
		wantStatus(t, again.Post("/login/2fa", url.Values{"code": {codes[0]}}), http.StatusUnauthorized)
		// With no sign-in under way, /login/2fa sends to /login.
		wantRedirect(t, env.Client().Get("/login/2fa"), "/login")
	})
}

func TestSecuritySettingsTurnTwoFactorOnAndOff(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("ann", 1)
		c := env.SignedIn("ann")
		wantRedirect(t, c.Post("/settings/security/totp", nil), "/settings/security#totp")
		res := c.Get("/settings/security")
		m := regexp.MustCompile(`data-totp-secret="([A-Z2-7]+)"`).FindStringSubmatch(res.Body)
		if m == nil {
			t.Fatalf("no secret on the page\n%s", res.Body)
		}
		wantContains(t, res, `src="data:image/png;base64,`)
		wantStatus(t, c.Post("/settings/security/totp/confirm", url.Values{"code": {"000000"}}), http.StatusUnprocessableEntity)
		wantRedirect(t, c.Post("/settings/security/totp/confirm", url.Values{"code": {env.TOTP(m[1])}}), "/settings/security")
		res = c.Get("/settings/security")
		codes := regexp.MustCompile(`data-recovery-code="([a-z2-7-]+)"`).FindAllStringSubmatch(res.Body, -1)
		if len(codes) != 10 {
			t.Fatalf("%d recovery codes shown\n%s", len(codes), res.Body)
		}
		if again := c.Get("/settings/security"); strings.Contains(again.Body, "data-recovery-code") {
			t.Fatal("the recovery codes are shown twice")
		}
		u, _ := env.Users.GetByUsername(ctx(), "ann")
		if !u.MFAEnabled {
			t.Fatal("not on")
		}
		// New recovery codes: with the password; the old ones stop working.
		wantStatus(t, c.Post("/settings/security/recovery", url.Values{"recovery_password": {"wrong"}}), http.StatusUnprocessableEntity)
		wantRedirect(t, c.Post("/settings/security/recovery", url.Values{"recovery_password": {apptest.Password}}), "/settings/security")
		old := codes
		codes = regexp.MustCompile(`data-recovery-code="([a-z2-7-]+)"`).FindAllStringSubmatch(c.Get("/settings/security").Body, -1)
		if len(codes) != 10 || codes[0][1] == old[0][1] {
			t.Fatalf("new recovery codes: %v", codes)
		}
		// Off: needs the password and a code.
		env.Clock.Advance(30 * time.Second)
		wantStatus(t, c.Post("/settings/security/totp/disable", url.Values{"current_password": {apptest.Password}, "code": {old[0][1]}}), http.StatusUnprocessableEntity)
		wantStatus(t, c.Post("/settings/security/totp/disable", url.Values{"current_password": {"wrong"}, "code": {env.TOTP(m[1])}}), http.StatusUnprocessableEntity)
		wantStatus(t, c.Post("/settings/security/totp/disable", url.Values{"current_password": {apptest.Password}, "code": {"000000"}}), http.StatusUnprocessableEntity)
		wantRedirect(t, c.Post("/settings/security/totp/disable", url.Values{"current_password": {apptest.Password}, "code": {codes[0][1]}}), "/settings/security")
		u, _ = env.Users.GetByUsername(ctx(), "ann")
		if u.MFAEnabled {
			t.Fatal("still on")
		}
	})
}

func TestConsoleResetsTwoFactor(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 9)
		env.User("mod", 6)
		peer := env.User("peer", 9)
		ann := env.User("ann", 1)
		env.TurnOnMFA("ann")
		env.TurnOnMFA("peer")
		annPath := "/admin/users/" + strconv.FormatInt(ann.ID, 10)
		admin := env.SignedIn("admin")
		wantContains(t, admin.Get(annPath), `id="mfa-reset-form"`)
		mod := env.SignedIn("mod")
		wantNotContains(t, mod.Get(annPath), `id="mfa-reset-form"`)
		wantStatus(t, mod.Post(annPath+"/mfa/reset", nil), http.StatusForbidden)
		wantStatus(t, admin.Post("/admin/users/"+strconv.FormatInt(peer.ID, 10)+"/mfa/reset", nil), http.StatusForbidden)
		dev := modelstest.NewAuthenticator(t, "https://example.com")
		if _, err := env.DB.NewInsert().Model(dev.Passkey(t, ann.ID, "Phone", env.Clock.Now())).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		wantRedirect(t, admin.Post(annPath+"/mfa/reset", nil), annPath)
		wantContains(t, admin.Get(annPath), "ann&#39;s two-factor sign-in is reset: removed the authenticator app and its recovery codes and 1 passkey.")
		if keys, err := env.Users.Passkeys(context.Background(), ann.ID); err != nil || len(keys) != 0 {
			t.Fatalf("passkeys after the reset: %d %v", len(keys), err)
		}
		// Ann signs in with her password alone now.
		c := env.Client()
		wantRedirect(t, c.Post("/login", url.Values{"login": {"ann"}, "password": {apptest.Password}}), "/dashboard")
	})
}

func TestRequire2FALevelKeepsStaffOutOfTheConsole(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("admin", 8)
		env.User("mod", 6)
		admin := env.SignedIn("admin")
		wantRedirect(t, admin.Get("/admin"), "/settings/security")
		wantRedirect(t, admin.Get("/admin/users"), "/settings/security")
		wantStatus(t, admin.Get("/settings/security"), http.StatusOK)
		// Below the level: no need.
		wantStatus(t, env.SignedIn("mod").Get("/admin"), http.StatusOK)
		// With two-factor on: in.
		secret, _ := env.TurnOnMFA("admin")
		env.Clock.Advance(30 * time.Second)
		c := env.Client()
		c.SignIn("admin", apptest.Password)
		wantRedirect(t, c.Post("/login/2fa", url.Values{"code": {env.TOTP(secret)}}), "/dashboard")
		wantStatus(t, c.Get("/admin"), http.StatusOK)
	}, func(c *app.Config) { c.Require2FA = 7 })
}

// Over https the cookies are __Host- and Secure, and a form must come
// from the site's own origin.
func TestHTTPSCookiesAndOriginCheck(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		env.User("ann", 1)
		send := func(method, path, origin string, form url.Values, cookies []*http.Cookie) *http.Response {
			t.Helper()
			req := httptest.NewRequest(method, "https://example.com"+path, strings.NewReader(form.Encode()))
			req.Header.Set("X-Forwarded-Proto", "https")
			req.Header.Set("X-Forwarded-For", "203.0.113.10")
			if form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if origin != "" {
				req.Header.Set("Origin", origin)
			}
			for _, c := range cookies {
				req.AddCookie(c)
			}
			res, err := env.Server.Fiber.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		res := send(http.MethodGet, "/login", "", nil, nil)
		var csrf *http.Cookie
		for _, c := range res.Cookies() {
			if strings.HasPrefix(c.Name, "wm_") {
				t.Errorf("cookie %s without the __Host- prefix over https", c.Name)
			}
			if c.Name == "__Host-wm_csrf" {
				csrf = c
			}
			if strings.HasPrefix(c.Name, "__Host-") && (!c.Secure || c.Path != "/" || c.Domain != "") {
				t.Errorf("cookie %s: Secure %v, Path %q, Domain %q", c.Name, c.Secure, c.Path, c.Domain)
			}
		}
		if csrf == nil {
			t.Fatal("no __Host-wm_csrf cookie")
		}
		form := url.Values{"_csrf": {csrf.Value}, "login": {"ann"}, "password": {apptest.Password}}
		if res := send(http.MethodPost, "/login", "https://evil.example", form, []*http.Cookie{csrf}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("a form from another origin: %d", res.StatusCode)
		}
		if res := send(http.MethodPost, "/login", "", form, []*http.Cookie{csrf}); res.StatusCode != http.StatusForbidden {
			t.Fatalf("a form with no origin at all: %d", res.StatusCode)
		}
		res = send(http.MethodPost, "/login", "https://example.com", form, []*http.Cookie{csrf})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/dashboard" {
			t.Fatalf("a form from the site: %d → %q", res.StatusCode, res.Header.Get("Location"))
		}
		var signedIn bool
		for _, c := range res.Cookies() {
			signedIn = signedIn || (c.Name == "__Host-wm_session" && c.Value != "" && c.Secure)
		}
		if !signedIn {
			t.Fatal("no __Host-wm_session cookie after signing in")
		}
	}, func(c *app.Config) { c.BaseURL = "https://example.com" })
}

// The API resets two-factor like the console: on lower levels only, never
// the key's own account; user objects say mfa_enabled.
func TestAPIResetsTwoFactor(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		admin := env.User("admin", 9)
		peer := env.User("peer", 9)
		ann := env.User("ann", 1)
		env.TurnOnMFA("ann")
		env.TurnOnMFA("admin")
		key := env.APIKey("admin")
		c := env.Client()
		var got struct {
			Data struct {
				MFAEnabled *bool `json:"mfa_enabled"`
			} `json:"data"`
		}
		annPath := "/api/v1/users/" + strconv.FormatInt(ann.ID, 10)
		res := c.API(http.MethodGet, annPath, key, nil)
		res.JSON(t, &got)
		if got.Data.MFAEnabled == nil || !*got.Data.MFAEnabled {
			t.Fatalf("mfa_enabled of ann: %s", res.Body)
		}
		wantStatus(t, c.API(http.MethodPost, "/api/v1/users/"+strconv.FormatInt(admin.ID, 10)+"/mfa/reset", key, nil), http.StatusForbidden)
		wantStatus(t, c.API(http.MethodPost, "/api/v1/users/"+strconv.FormatInt(peer.ID, 10)+"/mfa/reset", key, nil), http.StatusForbidden)
		res = c.API(http.MethodPost, annPath+"/mfa/reset", key, nil)
		wantStatus(t, res, http.StatusOK)
		res.JSON(t, &got)
		if got.Data.MFAEnabled == nil || *got.Data.MFAEnabled {
			t.Fatalf("after the reset: %s", res.Body)
		}
	})
}

func TestRequire2FALevelSetting(t *testing.T) {
	for v, want := range map[string]int{"": 0, "1": 1, "8": 8, "10": 10} {
		cfg, err := app.LoadConfig(apptest.Lookup(map[string]string{"REQUIRE_2FA_LEVEL": v}))
		if err != nil || cfg.Require2FA != want {
			t.Errorf("REQUIRE_2FA_LEVEL=%q: %d, %v; want %d", v, cfg.Require2FA, err, want)
		}
	}
	for _, bad := range []string{"0", "11", "-1", "admin", "8.5"} {
		_, err := app.LoadConfig(apptest.Lookup(map[string]string{"REQUIRE_2FA_LEVEL": bad}))
		if err == nil || !strings.Contains(err.Error(), "REQUIRE_2FA_LEVEL") {
			t.Errorf("REQUIRE_2FA_LEVEL=%q accepted (%v)", bad, err)
		}
	}
}
