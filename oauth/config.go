// Package oauth signs people in with OAuth2 and OpenID Connect providers:
// GitHub (OAuth2 and its user and e-mail endpoints), Google, GitLab,
// Microsoft and any OpenID Connect issuer (by discovery). It runs the
// authorization-code flow with state, PKCE and (OpenID Connect) a nonce,
// checks the ID token with go-oidc (signature, issuer, audience, expiry,
// nonce) and answers what the provider says about the person as a
// models.ProviderProfile. Accounts and identities are the users service's
// business; this package only talks to providers.
package oauth

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Kinds of provider.
const (
	KindGitHub = "github" // OAuth2 with GitHub's REST API for the person
	KindOIDC   = "oidc"   // OpenID Connect, endpoints by discovery
)

// Config is one provider as configured.
type Config struct {
	Name         string   // the name in OAUTH_PROVIDERS and in /auth/NAME
	Label        string   // OAUTH_N_NAME: the button says "Sign in with LABEL"
	Kind         string   // KindGitHub or KindOIDC
	ClientID     string   // OAUTH_N_CLIENT_ID
	ClientSecret string   // OAUTH_N_CLIENT_SECRET
	Issuer       string   // OAUTH_N_ISSUER (OpenID Connect)
	Scopes       []string // OAUTH_N_SCOPES (space- or comma-separated)
	// GitHub only: OAUTH_N_URL is the web address (https://github.com, or a
	// GitHub Enterprise Server) and OAUTH_N_API_URL its REST API
	// (https://api.github.com, or URL/api/v3 on Enterprise Server).
	WebURL      string
	APIURL      string
	RedirectURL string // BASE_URL/auth/NAME/callback
	// EmailTrusted says whether the provider's e-mail claim may be taken
	// as verified when it says so (not for Microsoft, whose address claim
	// any tenant can set to anything).
	EmailTrusted bool
	// TenantIssuer, for Microsoft's multi-tenant issuers (common,
	// organizations, consumers), checks the token's issuer against its
	// tenant instead of the configured URL.
	TenantIssuer bool
}

// preset is what a well-known provider name fills in.
type preset struct {
	label, kind, issuer string
	scopes              []string
}

var presets = map[string]preset{
	"github":    {label: "GitHub", kind: KindGitHub, scopes: []string{"read:user", "user:email"}},
	"google":    {label: "Google", kind: KindOIDC, issuer: "https://accounts.google.com"},
	"gitlab":    {label: "GitLab", kind: KindOIDC, issuer: "https://gitlab.com"},
	"microsoft": {label: "Microsoft", kind: KindOIDC, issuer: "https://login.microsoftonline.com/common/v2.0"},
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// Load reads OAUTH_PROVIDERS and each provider's OAUTH_N_* settings
// (N is the name in capitals). With OAUTH_PROVIDERS unset it returns none.
func Load(getenv func(string) string, baseURL string) ([]Config, error) {
	var out []Config
	var errs []error
	seen := map[string]bool{}
	for _, name := range strings.Split(getenv("OAUTH_PROVIDERS"), ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		if !validName.MatchString(name) {
			errs = append(errs, fmt.Errorf("OAUTH_PROVIDERS: %q: use lower-case letters, digits and _ (starting with a letter)", name))
			continue
		}
		if seen[name] {
			errs = append(errs, fmt.Errorf("OAUTH_PROVIDERS: %q is listed twice", name))
			continue
		}
		seen[name] = true
		env := func(key string) string {
			return strings.TrimSpace(getenv("OAUTH_" + strings.ToUpper(name) + "_" + key))
		}
		p, known := presets[name]
		if !known {
			p = preset{label: strings.ToUpper(name[:1]) + name[1:], kind: KindOIDC}
		}
		c := Config{
			Name:         name,
			Label:        or(env("NAME"), p.label),
			Kind:         p.kind,
			ClientID:     env("CLIENT_ID"),
			ClientSecret: env("CLIENT_SECRET"),
			Issuer:       strings.TrimRight(or(env("ISSUER"), p.issuer), "/"),
			Scopes:       p.scopes,
			RedirectURL:  strings.TrimRight(baseURL, "/") + "/auth/" + name + "/callback",
			EmailTrusted: name != "microsoft",
		}
		if s := env("SCOPES"); s != "" {
			c.Scopes = strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
		}
		prefix := "OAUTH_" + strings.ToUpper(name) + "_"
		if c.ClientID == "" {
			errs = append(errs, fmt.Errorf("%sCLIENT_ID is required (the provider gives it when you register the application)", prefix))
		}
		if c.ClientSecret == "" {
			errs = append(errs, fmt.Errorf("%sCLIENT_SECRET is required", prefix))
		}
		switch c.Kind {
		case KindGitHub:
			c.WebURL = strings.TrimRight(or(env("URL"), "https://github.com"), "/")
			c.APIURL = strings.TrimRight(env("API_URL"), "/")
			if c.APIURL == "" {
				c.APIURL = "https://api.github.com"
				if c.WebURL != "https://github.com" {
					c.APIURL = c.WebURL + "/api/v3"
				}
			}
			for key, v := range map[string]string{"URL": c.WebURL, "API_URL": c.APIURL} {
				if !httpURL(v) {
					errs = append(errs, fmt.Errorf("%s%s: %q is not an http(s) URL", prefix, key, v))
				}
			}
		case KindOIDC:
			if c.Issuer == "" {
				errs = append(errs, fmt.Errorf("%sISSUER is required: the OpenID Connect issuer URL (its /.well-known/openid-configuration is read)", prefix))
			} else if !httpURL(c.Issuer) {
				errs = append(errs, fmt.Errorf("%sISSUER: %q is not an http(s) URL", prefix, c.Issuer))
			}
			if !contains(c.Scopes, "openid") {
				c.Scopes = append([]string{"openid", "profile", "email"}, c.Scopes...)
			}
			if name == "microsoft" {
				for _, t := range []string{"common", "organizations", "consumers"} {
					if c.Issuer == "https://login.microsoftonline.com/"+t+"/v2.0" {
						c.TenantIssuer = true
					}
				}
			}
		}
		out = append(out, c)
	}
	return out, errors.Join(errs...)
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
