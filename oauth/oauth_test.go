package oauth_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/webmin/webmin/oauth"
	"github.com/webmin/webmin/oauth/oauthtest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	cfgs, err := oauth.Load(env(map[string]string{
		"OAUTH_PROVIDERS":               " GitHub, google,keycloak ,microsoft",
		"OAUTH_GITHUB_CLIENT_ID":        "gh-id",
		"OAUTH_GITHUB_CLIENT_SECRET":    "gh-secret",
		"OAUTH_GOOGLE_CLIENT_ID":        "g-id",
		"OAUTH_GOOGLE_CLIENT_SECRET":    "g-secret",
		"OAUTH_KEYCLOAK_CLIENT_ID":      "k-id",
		"OAUTH_KEYCLOAK_CLIENT_SECRET":  "k-secret",
		"OAUTH_KEYCLOAK_ISSUER":         "https://sso.example.com/realms/staff/",
		"OAUTH_KEYCLOAK_NAME":           "Staff SSO",
		"OAUTH_KEYCLOAK_SCOPES":         "openid email,groups",
		"OAUTH_MICROSOFT_CLIENT_ID":     "m-id",
		"OAUTH_MICROSOFT_CLIENT_SECRET": "m-secret",
	}), "https://members.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != 4 {
		t.Fatalf("%d providers", len(cfgs))
	}
	gh, g, k, ms := cfgs[0], cfgs[1], cfgs[2], cfgs[3]
	if gh.Kind != oauth.KindGitHub || gh.Label != "GitHub" || gh.WebURL != "https://github.com" || gh.APIURL != "https://api.github.com" ||
		gh.RedirectURL != "https://members.example.com/auth/github/callback" || strings.Join(gh.Scopes, " ") != "read:user user:email" {
		t.Errorf("github: %+v", gh)
	}
	if g.Kind != oauth.KindOIDC || g.Issuer != "https://accounts.google.com" || strings.Join(g.Scopes, " ") != "openid profile email" || !g.EmailTrusted {
		t.Errorf("google: %+v", g)
	}
	if k.Label != "Staff SSO" || k.Issuer != "https://sso.example.com/realms/staff" || strings.Join(k.Scopes, " ") != "openid email groups" {
		t.Errorf("generic: %+v", k)
	}
	if !ms.TenantIssuer || ms.EmailTrusted {
		t.Errorf("microsoft (multi-tenant, addresses not trusted): %+v", ms)
	}

	enterprise, err := oauth.Load(env(map[string]string{"OAUTH_PROVIDERS": "github", "OAUTH_GITHUB_CLIENT_ID": "a",
		"OAUTH_GITHUB_CLIENT_SECRET": "b", "OAUTH_GITHUB_URL": "https://git.example.com/"}), "http://localhost:3000")
	if err != nil || enterprise[0].APIURL != "https://git.example.com/api/v3" {
		t.Errorf("GitHub Enterprise Server: %+v %v", enterprise, err)
	}

	if none, err := oauth.Load(env(nil), "http://x"); err != nil || len(none) != 0 {
		t.Errorf("no providers: %v %v", none, err)
	}
	for name, vars := range map[string]map[string]string{
		"no client id":       {"OAUTH_PROVIDERS": "google", "OAUTH_GOOGLE_CLIENT_SECRET": "s"},
		"no secret":          {"OAUTH_PROVIDERS": "google", "OAUTH_GOOGLE_CLIENT_ID": "i"},
		"generic, no issuer": {"OAUTH_PROVIDERS": "okta", "OAUTH_OKTA_CLIENT_ID": "i", "OAUTH_OKTA_CLIENT_SECRET": "s"},
		"bad issuer":         {"OAUTH_PROVIDERS": "okta", "OAUTH_OKTA_CLIENT_ID": "i", "OAUTH_OKTA_CLIENT_SECRET": "s", "OAUTH_OKTA_ISSUER": "okta.com"},
		"bad name":           {"OAUTH_PROVIDERS": "my-idp"},
		"twice":              {"OAUTH_PROVIDERS": "google,google", "OAUTH_GOOGLE_CLIENT_ID": "i", "OAUTH_GOOGLE_CLIENT_SECRET": "s"},
	} {
		if _, err := oauth.Load(env(vars), "http://x"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// flow runs one sign-in against the provider and returns the exchange's answer.
func flow(t *testing.T, p *oauth.Provider, spoil func(*oauth.Flow)) error {
	t.Helper()
	ctx := context.Background()
	f := oauth.NewFlow()
	to, err := p.AuthCodeURL(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(to)
	for _, want := range []string{"state", "code_challenge", "nonce"} {
		if u.Query().Get(want) == "" {
			t.Fatalf("the sign-in address has no %s: %s", want, to)
		}
	}
	if u.Query().Get("code_challenge_method") != "S256" {
		t.Fatalf("PKCE method: %s", to)
	}
	back, _ := url.Parse(oauthtest.Authorize(t, to))
	if spoil != nil {
		spoil(&f)
	}
	_, err = p.Exchange(ctx, f, back.Query().Get("code"))
	return err
}

func TestOIDCChecks(t *testing.T) {
	op := oauthtest.StartOIDC(t)
	p, _ := oauth.New([]oauth.Config{op.Provider("oidc", "http://localhost:3000")}, nil, nil).Get("oidc")

	op.SignInAs(&oauthtest.Person{Subject: "s", Email: "s@example.org", EmailVerified: true, Username: "s", Name: "S", Picture: "https://x.example/s.png"})
	ctx := context.Background()
	f := oauth.NewFlow()
	to, _ := p.AuthCodeURL(ctx, f)
	back, _ := url.Parse(oauthtest.Authorize(t, to))
	got, err := p.Exchange(ctx, f, back.Query().Get("code"))
	if err != nil || got.Subject != "s" || got.Email != "s@example.org" || !got.EmailVerified || got.Username != "s" ||
		got.Name != "S" || got.Avatar != "https://x.example/s.png" || got.Provider != "oidc" || got.ProviderName != "Example ID" {
		t.Fatalf("profile: %+v %v", got, err)
	}
	if _, err := p.Exchange(ctx, f, back.Query().Get("code")); !errors.Is(err, oauth.ErrRefused) {
		t.Errorf("a code used twice: %v", err)
	}

	for name, c := range map[string]struct {
		person *oauthtest.Person
		spoil  func(*oauth.Flow)
		want   error
		says   string
	}{
		"wrong audience": {&oauthtest.Person{Subject: "a", TokenAudience: "another-client"}, nil, oauth.ErrInvalidToken, "audience"},
		"expired":        {&oauthtest.Person{Subject: "b", TokenExpiresIn: -time.Minute}, nil, oauth.ErrInvalidToken, "expired"},
		"replayed token": {&oauthtest.Person{Subject: "c", TokenNonce: "from another sign-in"}, nil, oauth.ErrInvalidToken, "nonce"},
		"no PKCE secret": {&oauthtest.Person{Subject: "d"}, func(f *oauth.Flow) { f.Verifier = oauth.NewFlow().Verifier }, oauth.ErrRefused, "verifier"},
		"nonce not ours": {&oauthtest.Person{Subject: "e"}, func(f *oauth.Flow) { f.Nonce = "x" }, oauth.ErrInvalidToken, "nonce"},
	} {
		op.SignInAs(c.person)
		err := flow(t, p, c.spoil)
		if !errors.Is(err, c.want) || !strings.Contains(strings.ToLower(err.Error()), c.says) {
			t.Errorf("%s: %v, want %v saying %q", name, err, c.want, c.says)
		}
	}

	// The provider going down after discovery: unavailable, not refused.
	op.SignInAs(&oauthtest.Person{Subject: "f"})
	f = oauth.NewFlow()
	to, _ = p.AuthCodeURL(ctx, f)
	back, _ = url.Parse(oauthtest.Authorize(t, to))
	op.Stop()
	if _, err := p.Exchange(ctx, f, back.Query().Get("code")); !errors.Is(err, oauth.ErrUnavailable) {
		t.Errorf("provider down: %v", err)
	}
}

func TestGitHubProfile(t *testing.T) {
	gh := oauthtest.StartGitHub(t)
	p, _ := oauth.New([]oauth.Config{gh.Provider("http://localhost:3000")}, nil, nil).Get("github")
	ctx := context.Background()
	run := func() (oauth.Flow, string) {
		f := oauth.NewFlow()
		to, err := p.AuthCodeURL(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		back, _ := url.Parse(oauthtest.Authorize(t, to))
		return f, back.Query().Get("code")
	}
	gh.SignInAs(&oauthtest.Person{Subject: "1", Username: "octocat", Name: "Octo Cat"})
	gh.Emails = []oauthtest.GitHubEmail{{Email: "old@example.org", Verified: false, Primary: true},
		{Email: "work@example.org", Verified: true}}
	f, code := run()
	got, err := p.Exchange(ctx, f, code)
	if err != nil || got.Subject != "1" || got.Username != "octocat" || got.Email != "work@example.org" || !got.EmailVerified {
		t.Fatalf("profile: %+v %v", got, err)
	}
	if _, err := p.Exchange(ctx, f, code); !errors.Is(err, oauth.ErrRefused) {
		t.Errorf("a code used twice: %v", err)
	}
	gh.SignInAs(&oauthtest.Person{Subject: "2"})
	f, code = run()
	f.Verifier = oauth.NewFlow().Verifier
	if _, err := p.Exchange(ctx, f, code); !errors.Is(err, oauth.ErrRefused) {
		t.Errorf("wrong PKCE verifier: %v", err)
	}
	gh.Emails = []oauthtest.GitHubEmail{{Email: "unverified@example.org", Primary: true}}
	gh.SignInAs(&oauthtest.Person{Subject: "3"})
	f, code = run()
	if got, err := p.Exchange(ctx, f, code); err != nil || got.Email != "unverified@example.org" || got.EmailVerified {
		t.Errorf("unverified address: %+v %v", got, err)
	}
}
