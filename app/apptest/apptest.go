// Package apptest drives the whole application through HTTP in tests:
// a server on a real database (SQLite or PostgreSQL, via modelstest) and
// clients that keep cookies and send the CSRF token like a browser.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/pquerna/otp/totp"
	"github.com/uptrace/bun"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// Password is the password of every account made by Env.User.
const Password = "correct horse battery"

// Env is one application under test.
type Env struct {
	T      testing.TB
	DBName string
	DB     *bun.DB
	Server *app.Server
	Users  *models.Service
	Clock  *modelstest.Clock
	Config app.Config
}

// Lookup is an environment of exactly the variables in env, for
// app.LoadConfig (a key present with "" is set empty).
func Lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

// EachDB runs fn on a fresh application on each database.
func EachDB(t *testing.T, fn func(t *testing.T, env *Env), opts ...func(*app.Config)) {
	t.Helper()
	for _, name := range modelstest.DBNames {
		t.Run(name, func(t *testing.T) { fn(t, New(t, name, opts...)) })
	}
}

// New builds an application on a fresh database of the named kind.
// opts adjust the configuration (e.g. REGISTRATION).
func New(t testing.TB, dbName string, opts ...func(*app.Config)) *Env {
	t.Helper()
	return NewOn(t, dbName, modelstest.Open(t, dbName), opts...)
}

// NewOn builds an application on db, a migrated database of the named kind.
func NewOn(t testing.TB, dbName string, db *bun.DB, opts ...func(*app.Config)) *Env {
	t.Helper()
	clock := modelstest.NewClock()
	cfg, err := app.LoadConfig(Lookup(map[string]string{
		"DATA_DIR":       t.TempDir(),
		"SESSION_SECRET": "test-secret-test-secret-test-secret-0123456789",
	}))
	if err != nil {
		t.Fatal(err)
	}
	// app.Test connects from 0.0.0.0: trust it as a proxy so that each
	// Client's IP (sent as X-Forwarded-For) is the address the app sees.
	cfg.TrustedProxies = []string{"0.0.0.0"}
	for _, o := range opts {
		o(&cfg)
	}
	users := modelstest.Service(db, clock)
	srv, err := app.NewServer(cfg, users, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &Env{T: t, DBName: dbName, DB: db, Server: srv, Users: users, Clock: clock, Config: cfg}
}

// Another is a second instance of the application on the same database
// (its own users service, caches and limiters, the same clock and
// configuration), as a second server behind a load balancer would be.
func (e *Env) Another() *Env {
	e.T.Helper()
	users := modelstest.Service(e.DB, e.Clock)
	srv, err := app.NewServer(e.Config, users, slog.New(slog.DiscardHandler))
	if err != nil {
		e.T.Fatal(err)
	}
	return &Env{T: e.T, DBName: e.DBName, DB: e.DB, Server: srv, Users: users, Clock: e.Clock, Config: e.Config}
}

// User creates an account with Password at the given level.
func (e *Env) User(username string, level int) *models.User {
	e.T.Helper()
	u, err := e.Users.Create(context.Background(), models.System, models.NewUser{
		Username: username, Email: username + "@example.com", Password: Password, Level: level,
	})
	if err != nil {
		e.T.Fatalf("create %s: %v", username, err)
	}
	return u
}

// Client is a browser-like client: it keeps cookies and sends the CSRF token.
type Client struct {
	env     *Env
	cookies map[string]string
	IP      string
}

// Client returns a client with no cookies.
func (e *Env) Client() *Client {
	return &Client{env: e, cookies: map[string]string{}, IP: "203.0.113.10"}
}

// SignedIn returns a client signed in as username (with Password).
func (e *Env) SignedIn(username string) *Client {
	e.T.Helper()
	c := e.Client()
	c.SignIn(username, Password)
	return c
}

// Response is an answer with its body read.
type Response struct {
	*http.Response
	Body string
}

// Location is the redirect target.
func (r *Response) Location() string { return r.Header.Get("Location") }

// Do sends a request through Fiber's app.Test with the client's cookies.
// Every answer of the JSON API is checked against its OpenAPI document
// (CheckContract): one that breaks it fails the test.
func (c *Client) Do(req *http.Request) *Response {
	c.env.T.Helper()
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	if req.Header.Get("X-Forwarded-For") == "" {
		req.Header.Set("X-Forwarded-For", c.IP)
	}
	res, err := c.env.Server.Fiber.Test(req, -1)
	if err != nil {
		c.env.T.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if strings.HasPrefix(req.URL.Path, "/api/v1/") {
		if msg := CheckContract(req, res, body); msg != "" {
			c.env.T.Errorf("%s", msg)
		}
	}
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	return &Response{Response: res, Body: string(body)}
}

// Get fetches a path.
func (c *Client) Get(path string) *Response {
	c.env.T.Helper()
	return c.Do(httptest.NewRequest(http.MethodGet, path, nil))
}

// Post sends a form with the client's CSRF token added (fetching a page
// first if it has none yet).
func (c *Client) Post(path string, form url.Values) *Response {
	c.env.T.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", c.CSRF())
	}
	return c.PostRaw(path, form)
}

// PostRaw sends a form as is (no CSRF token added).
func (c *Client) PostRaw(path string, form url.Values) *Response {
	c.env.T.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

// CSRF returns the client's CSRF token, fetching /login to get one.
func (c *Client) CSRF() string {
	if tok := c.cookies["wm_csrf"]; tok != "" {
		return tok
	}
	c.Get("/login")
	return c.cookies["wm_csrf"]
}

// Cookie returns a cookie's value.
func (c *Client) Cookie(name string) string { return c.cookies[name] }

// SetCookie sets (or, with "", removes) a cookie the client sends, as an
// attacker who copied one would.
func (c *Client) SetCookie(name, value string) {
	if value == "" {
		delete(c.cookies, name)
		return
	}
	c.cookies[name] = value
}

// SignIn signs in and fails the test unless it worked.
func (c *Client) SignIn(login, password string) {
	c.env.T.Helper()
	res := c.Post("/login", url.Values{"login": {login}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		c.env.T.Fatalf("sign in as %s: status %d\n%s", login, res.StatusCode, res.Body)
	}
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// Text is the body without tags and with collapsed white space, for
// checking what a person reads.
func (r *Response) Text() string {
	return strings.Join(strings.Fields(tagRE.ReplaceAllString(r.Body, " ")), " ")
}

// APIKey makes a JSON API key acting as the account username (an admin)
// and returns the whole key.
func (e *Env) APIKey(username string) string {
	e.T.Helper()
	u, err := e.Users.GetByUsername(context.Background(), username)
	if err != nil {
		e.T.Fatalf("api key for %s: %v", username, err)
	}
	_, key, err := e.Users.CreateAPIKey(context.Background(), models.Actor{User: u}, "test key")
	if err != nil {
		e.T.Fatalf("api key for %s: %v", username, err)
	}
	return key
}

// API sends a JSON API request with the bearer key (none when ""); a
// non-nil body is sent as JSON, or as is when it is a string.
func (c *Client) API(method, path, key string, body any) *Response {
	c.env.T.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.env.T.Fatalf("encode %T: %v", body, err)
		}
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, r)
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return c.Do(req)
}

// JSON decodes the body into v and fails the test if it isn't JSON.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("status %d, body is not JSON (%v):\n%s", r.StatusCode, err, r.Body)
	}
}

// Instance starts a server on the database at dsn (a SQLite file or a
// PostgreSQL URL, shared with other instances) the way `webmin serve` does:
// migrated, with the real clock and password cost, following the other
// instances' changes (Service.Follow) until the test ends. Each instance
// has its own connections, caches and query hook, like another process.
func Instance(t testing.TB, dsn string) *Env {
	t.Helper()
	dir := t.TempDir()
	cfg, err := app.LoadConfig(Lookup(map[string]string{
		"DATABASE_URL":   dsn,
		"DATA_DIR":       dir,
		"SESSION_SECRET": "test-secret-test-secret-test-secret-0123456789",
		"LOG_LEVEL":      "error",
	}))
	if err != nil {
		t.Fatal(err)
	}
	cfg.TrustedProxies = []string{"0.0.0.0"}
	log := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	users, err := app.Open(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stopped := users.Follow(ctx)
	t.Cleanup(func() {
		cancel()
		<-stopped
		_ = users.DB().Close()
	})
	srv, err := app.NewServer(cfg, users, log)
	if err != nil {
		t.Fatal(err)
	}
	name := "sqlite"
	if models.IsPostgres(users.DB()) {
		name = "pg"
	}
	return &Env{T: t, DBName: name, DB: users.DB(), Server: srv, Users: users, Config: cfg}
}

// On returns a client of e with c's cookies (and address): the same
// browser sent to another instance by a load balancer.
func (c *Client) On(e *Env) *Client {
	cp := &Client{env: e, cookies: map[string]string{}, IP: c.IP}
	for k, v := range c.cookies {
		cp.cookies[k] = v
	}
	return cp
}

// TurnOnMFA sets up two-factor sign-in for username through the service
// and returns its authenticator secret and recovery codes.
func (e *Env) TurnOnMFA(username string) (secret string, codes []string) {
	e.T.Helper()
	u, err := e.Users.GetByUsername(context.Background(), username)
	if err != nil {
		e.T.Fatalf("two-factor for %s: %v", username, err)
	}
	setup, err := e.Users.BeginTOTP(context.Background(), models.Actor{User: u}, "Webmin")
	if err != nil {
		e.T.Fatalf("two-factor for %s: %v", username, err)
	}
	codes, err = e.Users.ConfirmTOTP(context.Background(), models.Actor{User: u}, e.TOTP(setup.Secret))
	if err != nil {
		e.T.Fatalf("two-factor for %s: %v", username, err)
	}
	return setup.Secret, codes
}

// TOTP is the authenticator code of secret at the test clock's time.
func (e *Env) TOTP(secret string) string {
	e.T.Helper()
	code, err := totp.GenerateCode(secret, e.Clock.Now())
	if err != nil {
		e.T.Fatalf("totp: %v", err)
	}
	return code
}
