// Package app reads the configuration, wires the users service, the
// handlers and the route table together, and runs the server and the
// command line.
package app

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/webmin/webmin/oauth"
	"github.com/webmin/webmin/site"
)

// Config is every setting, read once from the environment (SPEC §6).
type Config struct {
	Port           int           // PORT (3000)
	DatabaseURL    string        // DATABASE_URL ("" = SQLite under DataDir)
	DataDir        string        // DATA_DIR (./data): SQLite file and generated session secret
	SessionSecret  string        // SESSION_SECRET (generated and kept under DataDir when unset)
	BaseURL        string        // BASE_URL (http://localhost:PORT): links in mail, Secure cookies when https
	SMTPURL        string        // SMTP_URL ("" = the outbox in the console)
	MailFrom       string        // MAIL_FROM
	OnlineWindow   time.Duration // ONLINE_WINDOW (5m)
	Registration   string        // REGISTRATION: open, confirm or closed
	ViewsDir       string        // VIEWS_DIR: serve templates from disk, reloaded on every request
	StaticDir      string        // STATIC_DIR: serve static files from disk
	LogLevel       slog.Level    // LOG_LEVEL: debug, info, warn, error
	Env            string        // APP_ENV: production (default) or development
	TrustedProxies []string      // TRUSTED_PROXIES: comma-separated addresses/CIDRs whose X-Forwarded-For is believed
	DefaultLevel   int           // DEFAULT_LEVEL (1): level given at self-registration
	APIRateLimit   int           // API_RATE_LIMIT (300): requests per minute per API key
	Require2FA     int           // REQUIRE_2FA_LEVEL (0 = unset): accounts at or above it set up two-factor before using the console
	SiteDir        string        // SITE_DIR (./site): the site's Lua scripts and their views; absent means none
	SitePrefix     string        // SITE_PREFIX (/site when unset): where script routes are mounted; "" (set empty) or "/" mounts them at the root
	SiteTimeout    time.Duration // SITE_TIMEOUT (100ms): the time limit of one script call
	// ShutdownDrain (SHUTDOWN_DRAIN, 5s) is how long the server goes on
	// serving after SIGTERM while /readyz already answers 503, so that a
	// load balancer stops sending requests before the listener closes.
	ShutdownDrain time.Duration

	// OAuth is OAUTH_PROVIDERS with each provider's OAUTH_N_* settings (see oauth.Load).
	OAuth []oauth.Config
}

// Registration modes.
const (
	RegistrationOpen    = "open"
	RegistrationConfirm = "confirm"
	RegistrationClosed  = "closed"
)

// LoadConfig reads the configuration from the environment, with defaults.
// lookup is os.LookupEnv in production and a map in tests: it tells a
// variable set empty from one not set, which SITE_PREFIX needs (empty is
// the root, unset is /site).
func LoadConfig(lookup func(string) (string, bool)) (Config, error) {
	getenv := func(k string) string { v, _ := lookup(k); return v }
	c := Config{
		Port:          3000,
		DatabaseURL:   getenv("DATABASE_URL"),
		DataDir:       or(getenv("DATA_DIR"), "data"),
		SessionSecret: getenv("SESSION_SECRET"),
		BaseURL:       strings.TrimRight(getenv("BASE_URL"), "/"),
		SMTPURL:       getenv("SMTP_URL"),
		MailFrom:      or(getenv("MAIL_FROM"), "Webmin <no-reply@localhost>"),
		OnlineWindow:  5 * time.Minute,
		Registration:  strings.ToLower(or(getenv("REGISTRATION"), RegistrationOpen)),
		ViewsDir:      getenv("VIEWS_DIR"),
		StaticDir:     getenv("STATIC_DIR"),
		Env:           strings.ToLower(or(getenv("APP_ENV"), "production")),
		DefaultLevel:  1,
		APIRateLimit:  300,
		SiteDir:       or(getenv("SITE_DIR"), "site"),
		SitePrefix:    "/site",
		SiteTimeout:   100 * time.Millisecond,
		ShutdownDrain: 5 * time.Second,
	}
	var errs []error
	if v := getenv("PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("PORT: %q is not a port number", v))
		}
		c.Port = p
	}
	if c.BaseURL == "" {
		c.BaseURL = fmt.Sprintf("http://localhost:%d", c.Port)
	} else if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("BASE_URL: %q is not an http(s) URL", c.BaseURL))
	}
	if v := getenv("ONLINE_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Second || d > 24*time.Hour {
			errs = append(errs, fmt.Errorf("ONLINE_WINDOW: %q is not a duration between 10s and 24h (e.g. 5m)", v))
		}
		c.OnlineWindow = d
	}
	switch c.Registration {
	case RegistrationOpen, RegistrationConfirm, RegistrationClosed:
	default:
		errs = append(errs, fmt.Errorf("REGISTRATION: %q must be open, confirm or closed", c.Registration))
	}
	switch strings.ToLower(or(getenv("LOG_LEVEL"), "info")) {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %q must be debug, info, warn or error", getenv("LOG_LEVEL")))
	}
	if c.Env != "production" && c.Env != "development" {
		errs = append(errs, fmt.Errorf("APP_ENV: %q must be production or development", c.Env))
	}
	if v := getenv("DEFAULT_LEVEL"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil || l < 0 || l > 5 {
			errs = append(errs, fmt.Errorf("DEFAULT_LEVEL: %q must be 0 to 5", v))
		}
		c.DefaultLevel = l
	}
	if v := getenv("API_RATE_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("API_RATE_LIMIT: %q must be a number of requests per minute (1 or more)", v))
		}
		c.APIRateLimit = n
	}
	if v := getenv("REQUIRE_2FA_LEVEL"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil || l < 1 || l > 10 {
			errs = append(errs, fmt.Errorf("REQUIRE_2FA_LEVEL: %q must be a level from 1 to 10 (or unset)", v))
		}
		c.Require2FA = l
	}
	if v := getenv("SITE_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Millisecond || d > 30*time.Second {
			errs = append(errs, fmt.Errorf("SITE_TIMEOUT: %q is not a duration between 1ms and 30s (e.g. 100ms)", v))
		}
		c.SiteTimeout = d
	}
	if v, set := lookup("SITE_PREFIX"); set {
		c.SitePrefix = v
	}
	c.SitePrefix = "/" + strings.Trim(c.SitePrefix, "/")
	if c.SitePrefix == "/" {
		c.SitePrefix = "" // the root: script routes go before the built-in pages
	} else if strings.ContainsAny(c.SitePrefix, ":*+? ") || site.Reserved(c.SitePrefix) {
		errs = append(errs, fmt.Errorf("SITE_PREFIX: %q must be a plain path outside %s (or empty, or /, for the root)",
			getenv("SITE_PREFIX"), strings.Join(site.ReservedPaths, ", ")))
	}
	if v := getenv("SHUTDOWN_DRAIN"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 5*time.Minute {
			errs = append(errs, fmt.Errorf("SHUTDOWN_DRAIN: %q is not a duration between 0s and 5m (e.g. 5s)", v))
		}
		c.ShutdownDrain = d
	}
	for _, p := range strings.Split(getenv("TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	providers, err := oauth.Load(getenv, c.BaseURL)
	errs = append(errs, err)
	c.OAuth = providers
	if c.SessionSecret != "" && len(c.SessionSecret) < 32 {
		errs = append(errs, errors.New("SESSION_SECRET: use at least 32 characters (e.g. openssl rand -hex 32)"))
	}
	return c, errors.Join(errs...)
}

// Development reports whether template errors may show their details:
// APP_ENV=development, or a designer serving VIEWS_DIR.
func (c Config) Development() bool { return c.Env == "development" || c.ViewsDir != "" }

// SecureCookies reports whether cookies must only travel over https.
func (c Config) SecureCookies() bool { return strings.HasPrefix(c.BaseURL, "https://") }

// SQLite reports whether the database is the embedded SQLite file.
func (c Config) SQLite() bool {
	return !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// DatabaseDSN is DATABASE_URL, or the SQLite file under DataDir.
func (c Config) DatabaseDSN() string {
	if c.DatabaseURL == "" {
		return filepath.Join(c.DataDir, "webmin.db")
	}
	return c.DatabaseURL
}

// Secret returns SESSION_SECRET, or the one kept under DataDir, generating
// it on first use so that sessions survive a restart.
func (c Config) Secret() ([]byte, error) {
	if c.SessionSecret != "" {
		return []byte(c.SessionSecret), nil
	}
	path := filepath.Join(c.DataDir, "session.key")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create %s: %w", c.DataDir, err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	secret := hex.EncodeToString(b)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("keep the session secret in %s: %w", path, err)
	}
	return []byte(secret), nil
}

// deriveKey makes an independent key for one purpose from the secret.
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("webmin:" + purpose))
	return m.Sum(nil)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
