// Package oauthtest starts real sign-in providers inside tests: an OpenID
// Connect provider (oauth2-proxy/mockoidc: discovery, signed ID tokens,
// PKCE, single-use codes) and a GitHub-style OAuth2 server following
// GitHub's documented endpoints (/login/oauth/authorize,
// /login/oauth/access_token, /user, /user/emails).
package oauthtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/webmin/webmin/oauth"
)

// Person is someone who signs in at a test provider. The Token* fields
// spoil the ID token the OpenID Connect provider signs for them.
type Person struct {
	Subject       string
	Email         string
	EmailVerified bool
	Username      string // preferred_username, or the GitHub login
	Name          string
	Picture       string

	TokenAudience  string        // a different aud claim
	TokenExpiresIn time.Duration // exp this long after now (negative: already expired)
	TokenNonce     string        // a different nonce
}

// ID is the subject (mockoidc.User).
func (p *Person) ID() string { return p.Subject }

type userinfo struct {
	Subject           string `json:"sub"`
	Email             string `json:"email,omitempty"`
	EmailVerified     bool   `json:"email_verified,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Name              string `json:"name,omitempty"`
	Picture           string `json:"picture,omitempty"`
}

// Userinfo answers the user info endpoint (mockoidc.User).
func (p *Person) Userinfo([]string) ([]byte, error) {
	return json.Marshal(userinfo{p.Subject, p.Email, p.EmailVerified, p.Username, p.Name, p.Picture})
}

type idClaims struct {
	*mockoidc.IDTokenClaims
	Email             string `json:"email,omitempty"`
	EmailVerified     bool   `json:"email_verified"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Name              string `json:"name,omitempty"`
	Picture           string `json:"picture,omitempty"`
}

// Claims are the ID token's claims (mockoidc.User), spoiled as asked.
func (p *Person) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if p.TokenAudience != "" {
		base.Audience = jwt.ClaimStrings{p.TokenAudience}
	}
	if p.TokenExpiresIn != 0 {
		base.ExpiresAt = jwt.NewNumericDate(time.Now().Add(p.TokenExpiresIn))
		if p.TokenExpiresIn < 0 {
			base.IssuedAt = jwt.NewNumericDate(time.Now().Add(2 * p.TokenExpiresIn))
			base.NotBefore = base.IssuedAt
		}
	}
	if p.TokenNonce != "" {
		base.Nonce = p.TokenNonce
	}
	return &idClaims{base, p.Email, p.EmailVerified, p.Username, p.Name, p.Picture}, nil
}

// OIDC is a running OpenID Connect provider.
type OIDC struct {
	*mockoidc.MockOIDC
}

// StartOIDC starts an OpenID Connect provider, stopped when the test ends.
func StartOIDC(t testing.TB) *OIDC {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatalf("start the OpenID Connect provider (mockoidc): %v", err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return &OIDC{m}
}

// Provider is the provider's configuration for a site at baseURL.
func (o *OIDC) Provider(name, baseURL string) oauth.Config {
	cfg, err := oauth.Load(env(map[string]string{
		"OAUTH_PROVIDERS":                      name,
		"OAUTH_" + up(name) + "_CLIENT_ID":     o.ClientID,
		"OAUTH_" + up(name) + "_CLIENT_SECRET": o.ClientSecret,
		"OAUTH_" + up(name) + "_ISSUER":        o.Issuer(),
		"OAUTH_" + up(name) + "_NAME":          "Example ID",
	}), baseURL)
	if err != nil {
		panic(err)
	}
	return cfg[0]
}

// SignInAs makes the next sign-in at the provider be this person.
func (o *OIDC) SignInAs(p *Person) { o.QueueUser(p) }

// Stop shuts the provider down (a provider that is down).
func (o *OIDC) Stop() { _ = o.Shutdown() }

// GitHub is a running GitHub-style OAuth2 server.
type GitHub struct {
	Server       *httptest.Server
	ClientID     string
	ClientSecret string

	mu     sync.Mutex
	next   *Person
	deny   bool
	codes  map[string]*ghCode
	tokens map[string]*Person
	// Emails, when set, is the next /user/emails answer (else the
	// person's address, primary and verified as EmailVerified says).
	Emails []GitHubEmail
}

// GitHubEmail is one entry of GET /user/emails.
type GitHubEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

type ghCode struct {
	person      *Person
	redirectURI string
	challenge   string
	used        bool
	issued      time.Time
}

// StartGitHub starts a GitHub-style server, stopped when the test ends.
func StartGitHub(t testing.TB) *GitHub {
	t.Helper()
	g := &GitHub{ClientID: "Iv1.testclient", ClientSecret: "test-client-secret",
		codes: map[string]*ghCode{}, tokens: map[string]*Person{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", g.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", g.accessToken)
	mux.HandleFunc("GET /user", g.user)
	mux.HandleFunc("GET /user/emails", g.emails)
	g.Server = httptest.NewServer(mux)
	t.Cleanup(g.Server.Close)
	return g
}

// Provider is the provider's configuration for a site at baseURL.
func (g *GitHub) Provider(baseURL string) oauth.Config {
	cfg, err := oauth.Load(env(map[string]string{
		"OAUTH_PROVIDERS":            "github",
		"OAUTH_GITHUB_CLIENT_ID":     g.ClientID,
		"OAUTH_GITHUB_CLIENT_SECRET": g.ClientSecret,
		"OAUTH_GITHUB_URL":           g.Server.URL,
		"OAUTH_GITHUB_API_URL":       g.Server.URL,
	}), baseURL)
	if err != nil {
		panic(err)
	}
	return cfg[0]
}

// SignInAs makes the next sign-in be this person.
func (g *GitHub) SignInAs(p *Person) {
	g.mu.Lock()
	g.next, g.deny = p, false
	g.mu.Unlock()
}

// Deny makes the next sign-in end with the person refusing consent.
func (g *GitHub) Deny() {
	g.mu.Lock()
	g.deny = true
	g.mu.Unlock()
}

func (g *GitHub) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || q.Get("client_id") != g.ClientID || q.Get("state") == "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	v := back.Query()
	v.Set("state", q.Get("state"))
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.deny:
		g.deny = false
		v.Set("error", "access_denied")
		v.Set("error_description", "The user has denied your application access.")
	case g.next == nil:
		http.Error(w, "no one is signing in: call SignInAs first", http.StatusBadRequest)
		return
	default:
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
			http.Error(w, "this test server wants PKCE (S256)", http.StatusBadRequest)
			return
		}
		code := strconv.FormatInt(time.Now().UnixNano(), 36)
		g.codes[code] = &ghCode{person: g.next, redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), issued: time.Now()}
		g.next = nil
		v.Set("code", code)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// accessToken answers as GitHub does: 200 even for errors, with an error
// field, as JSON when asked for it and form-encoded otherwise.
func (g *GitHub) accessToken(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	answer := func(v url.Values) {
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			m := map[string]string{}
			for k := range v {
				m[k] = v.Get(k)
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(m)
			return
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		_, _ = w.Write([]byte(v.Encode()))
	}
	fail := func(code, desc string) {
		answer(url.Values{"error": {code}, "error_description": {desc}})
	}
	if id != g.ClientID || secret != g.ClientSecret {
		fail("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.codes[r.PostForm.Get("code")]
	if c == nil || c.used || time.Since(c.issued) > 10*time.Minute {
		fail("bad_verification_code", "The code passed is incorrect or expired.")
		return
	}
	c.used = true
	if r.PostForm.Get("redirect_uri") != "" && r.PostForm.Get("redirect_uri") != c.redirectURI {
		fail("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
		fail("bad_verification_code", "The code_verifier does not match the code_challenge.")
		return
	}
	token := "gho_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	g.tokens[token] = c.person
	answer(url.Values{"access_token": {token}, "token_type": {"bearer"}, "scope": {"read:user,user:email"}})
}

func (g *GitHub) person(w http.ResponseWriter, r *http.Request) *Person {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if p == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`))
	}
	return p
}

func (g *GitHub) user(w http.ResponseWriter, r *http.Request) {
	p := g.person(w, r)
	if p == nil {
		return
	}
	id, _ := strconv.ParseInt(p.Subject, 10, 64)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "login": p.Username, "name": p.Name,
		"email": nil, "avatar_url": p.Picture, "type": "User"})
}

func (g *GitHub) emails(w http.ResponseWriter, r *http.Request) {
	p := g.person(w, r)
	if p == nil {
		return
	}
	g.mu.Lock()
	list := g.Emails
	g.mu.Unlock()
	if list == nil && p.Email != "" {
		list = []GitHubEmail{{Email: p.Email, Primary: true, Verified: p.EmailVerified}}
	}
	if list == nil {
		list = []GitHubEmail{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(list)
}

// Authorize plays the browser at the provider: it opens the provider's
// sign-in address (from the site's redirect) and returns where the
// provider sends the browser back, as path and query on the site.
func Authorize(t testing.TB, providerURL string) string {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(providerURL)
	if err != nil {
		t.Fatalf("open the provider's sign-in page %s: %v", providerURL, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusFound {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		t.Fatalf("provider's sign-in page %s: status %d, want a redirect back\n%s", providerURL, res.StatusCode, b)
	}
	back, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return back.RequestURI()
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func up(s string) string { return strings.ToUpper(s) }
