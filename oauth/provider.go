package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/webmin/webmin/models"
)

// Errors of a sign-in attempt, each answered with its own page.
var (
	// ErrUnavailable: the provider could not be reached or answered with
	// a server error (down, discovery failing, timeouts).
	ErrUnavailable = errors.New("sign-in provider unavailable")
	// ErrRefused: the provider refused the code (already used, expired,
	// or not ours).
	ErrRefused = errors.New("sign-in provider refused the code")
	// ErrInvalidToken: the answer didn't pass the checks (ID token
	// signature, issuer, audience, expiry, nonce; a missing subject).
	ErrInvalidToken = errors.New("sign-in answer failed verification")
)

// Provider is one configured provider, ready to start and finish flows.
// Discovery of an OpenID Connect provider happens on first use and is
// retried after a failure, so a provider that is down at start-up doesn't
// stop the site.
type Provider struct {
	Config
	client *http.Client
	now    func() time.Time

	mu       sync.Mutex
	oauth    *oauth2.Config
	oidc     *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

// Providers are the configured providers, in configured order.
type Providers struct {
	list   []*Provider
	byName map[string]*Provider
}

// New makes the providers. client makes every request to the providers
// (nil: one with a 10-second timeout); now is the clock that ID tokens'
// expiry is checked against (nil: time.Now).
func New(cfgs []Config, client *http.Client, now func() time.Time) *Providers {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if now == nil {
		now = time.Now
	}
	ps := &Providers{byName: map[string]*Provider{}}
	for _, c := range cfgs {
		p := &Provider{Config: c, client: client, now: now}
		ps.list = append(ps.list, p)
		ps.byName[c.Name] = p
	}
	return ps
}

// List is every provider in configured order (nil-safe: none).
func (ps *Providers) List() []*Provider {
	if ps == nil {
		return nil
	}
	return ps.list
}

// Get finds a provider by name.
func (ps *Providers) Get(name string) (*Provider, bool) {
	if ps == nil {
		return nil, false
	}
	p, ok := ps.byName[name]
	return p, ok
}

// Flow is one sign-in attempt's secrets, kept by the browser in a sealed
// cookie between the start and the callback: state (against forged
// callbacks), the PKCE verifier (against stolen codes) and the nonce
// (against replayed ID tokens).
type Flow struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	Nonce    string `json:"n"`
}

// NewFlow makes fresh secrets for one attempt.
func NewFlow() Flow {
	return Flow{State: random(), Verifier: oauth2.GenerateVerifier(), Nonce: random()}
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// AuthCodeURL is where the browser goes to sign in at the provider.
func (p *Provider) AuthCodeURL(ctx context.Context, f Flow) (string, error) {
	cfg, err := p.setup(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.Verifier)}
	if p.Kind == KindOIDC {
		opts = append(opts, oidc.Nonce(f.Nonce))
	}
	return cfg.AuthCodeURL(f.State, opts...), nil
}

// Exchange trades the callback's code for the person's profile: the
// token request carries the PKCE verifier; an OpenID Connect ID token is
// verified (signature, issuer, audience, expiry) and must carry the
// flow's nonce; GitHub's person comes from its API.
func (p *Provider) Exchange(ctx context.Context, f Flow, code string) (models.ProviderProfile, error) {
	var out models.ProviderProfile
	cfg, err := p.setup(ctx)
	if err != nil {
		return out, err
	}
	if code == "" {
		return out, fmt.Errorf("%w: no code in the callback", ErrRefused)
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.client)
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return out, classify(err)
	}
	if p.Kind == KindGitHub {
		out, err = p.githubProfile(ctx, tok)
	} else {
		out, err = p.oidcProfile(ctx, tok, f.Nonce)
	}
	out.Provider, out.ProviderName = p.Name, p.Label
	return out, err
}

// setup makes the oauth2 configuration, discovering an OpenID Connect
// provider's endpoints the first time.
func (p *Provider) setup(ctx context.Context) (*oauth2.Config, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oauth != nil {
		return p.oauth, nil
	}
	cfg := &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: p.RedirectURL, Scopes: p.Scopes}
	switch p.Kind {
	case KindGitHub:
		cfg.Endpoint = oauth2.Endpoint{AuthURL: p.WebURL + "/login/oauth/authorize",
			TokenURL: p.WebURL + "/login/oauth/access_token", AuthStyle: oauth2.AuthStyleInParams}
	default:
		// The provider keeps this context to fetch its signing keys later:
		// it must outlive the request that happened to discover it.
		dctx := oidc.ClientContext(context.Background(), p.client)
		if p.TenantIssuer {
			dctx = oidc.InsecureIssuerURLContext(dctx, "https://login.microsoftonline.com/{tenantid}/v2.0")
		}
		type result struct {
			p   *oidc.Provider
			err error
		}
		done := make(chan result, 1)
		go func() { op, err := oidc.NewProvider(dctx, p.Issuer); done <- result{op, err} }()
		var r result
		select {
		case r = <-done:
		case <-ctx.Done():
			r.err = ctx.Err()
		}
		if r.err != nil {
			return nil, fmt.Errorf("%w: discovery of %s: %v", ErrUnavailable, p.Issuer, r.err)
		}
		p.oidc = r.p
		cfg.Endpoint = r.p.Endpoint()
		p.verifier = r.p.Verifier(&oidc.Config{ClientID: p.ClientID, Now: p.now, SkipIssuerCheck: p.TenantIssuer})
	}
	p.oauth = cfg
	return cfg, nil
}

// classify tells a provider that is down from one that said no.
func classify(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response != nil && re.Response.StatusCode >= 500 {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "connection refused") {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return fmt.Errorf("%w: %v", ErrRefused, err)
}

// idClaims are the standard claims read from an ID token or user info.
type idClaims struct {
	Subject           string `json:"sub"`
	Email             string `json:"email"`
	EmailVerified     any    `json:"email_verified"` // true, or "true" from some providers
	PreferredUsername string `json:"preferred_username"`
	Nickname          string `json:"nickname"`
	Name              string `json:"name"`
	Picture           string `json:"picture"`
	TenantID          string `json:"tid"`
	Issuer            string `json:"iss"`
}

func (c idClaims) verified() bool {
	switch v := c.EmailVerified.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

func (p *Provider) oidcProfile(ctx context.Context, tok *oauth2.Token, nonce string) (models.ProviderProfile, error) {
	var out models.ProviderProfile
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return out, fmt.Errorf("%w: no ID token in the answer", ErrInvalidToken)
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) { // the signing keys could not be fetched
			return out, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return out, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if idt.Nonce != nonce {
		return out, fmt.Errorf("%w: the nonce doesn't match this sign-in", ErrInvalidToken)
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		return out, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if p.TenantIssuer && (c.TenantID == "" || c.Issuer != "https://login.microsoftonline.com/"+c.TenantID+"/v2.0") {
		return out, fmt.Errorf("%w: issuer %q is not the token's tenant", ErrInvalidToken, c.Issuer)
	}
	if c.Subject == "" {
		return out, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	// Some providers put the address and names only in the user info.
	if (c.Email == "" || c.Name == "" && c.PreferredUsername == "") && p.oidc.UserInfoEndpoint() != "" {
		if info, err := p.oidc.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil && info.Subject == c.Subject {
			var more idClaims
			if info.Claims(&more) == nil {
				if c.Email == "" {
					c.Email, c.EmailVerified = more.Email, more.EmailVerified
				}
				c.Name = or(c.Name, more.Name)
				c.PreferredUsername = or(c.PreferredUsername, more.PreferredUsername)
				c.Nickname = or(c.Nickname, more.Nickname)
				c.Picture = or(c.Picture, more.Picture)
			}
		}
	}
	return models.ProviderProfile{
		Subject:       c.Subject,
		Email:         c.Email,
		EmailVerified: p.EmailTrusted && c.verified(),
		Username:      or(c.PreferredUsername, c.Nickname),
		Name:          c.Name,
		Avatar:        c.Picture,
	}, nil
}

// githubUser and githubEmail are the parts of GitHub's GET /user and GET
// /user/emails answers that are used.
type githubUser struct {
	ID        int64  `json:"id"`
	Login     string `json:"login"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	AvatarURL string `json:"avatar_url"`
}

type githubEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

func (p *Provider) githubProfile(ctx context.Context, tok *oauth2.Token) (models.ProviderProfile, error) {
	var out models.ProviderProfile
	var u githubUser
	if err := p.githubGet(ctx, tok, "/user", &u); err != nil {
		return out, err
	}
	if u.ID == 0 {
		return out, fmt.Errorf("%w: GitHub user without an id", ErrInvalidToken)
	}
	out = models.ProviderProfile{Subject: strconv.FormatInt(u.ID, 10), Username: u.Login, Name: u.Name,
		Avatar: u.AvatarURL, Email: u.Email}
	// Only /user/emails says whether an address is verified: take the
	// primary one if verified, else any verified one, else the primary.
	var emails []githubEmail
	if err := p.githubGet(ctx, tok, "/user/emails", &emails); err == nil {
		primary := ""
		out.Email = ""
		for _, e := range emails {
			if e.Verified && (e.Primary || out.Email == "") {
				out.Email, out.EmailVerified = e.Email, true
			}
			if e.Primary {
				primary = e.Email
			}
		}
		if out.Email == "" {
			out.Email = or(primary, u.Email)
		}
	}
	return out, nil
}

func (p *Provider) githubGet(ctx context.Context, tok *oauth2.Token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.APIURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: GitHub %s: %v", ErrUnavailable, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	switch {
	case err != nil:
		return fmt.Errorf("%w: GitHub %s: %v", ErrUnavailable, path, err)
	case res.StatusCode >= 500:
		return fmt.Errorf("%w: GitHub %s: %s", ErrUnavailable, path, res.Status)
	case res.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: GitHub %s: %s", ErrRefused, path, res.Status)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: GitHub %s: %v", ErrInvalidToken, path, err)
	}
	return nil
}
