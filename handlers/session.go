package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/webmin/webmin/models"
)

// Sessions keeps the browser's side of a session in a cookie with
// gorilla/sessions' cookie store: signed (HMAC-SHA256) and encrypted
// (AES-256) by its securecookie codecs. The cookie carries the secret of
// the server-side session record (models.Session), which is what signs
// someone in: deleting the record signs the cookie out, wherever it was
// copied to. Flashes and other one-time values live in the cookie alone.
// gorilla works on net/http requests, so the codecs encode and decode the
// values straight into Fiber's cookie. The values are one typed struct in
// JSON: gob, the codecs' default, sends and compiles the description of
// its types in every cookie, which made decoding the session a fifth of
// the server's work on a signed-in page.
type Sessions struct {
	Name  string
	store *sessions.CookieStore
}

// NewSessions builds the store from a hash key and an encryption key.
// Over https (secure) the cookie is named with the __Host- prefix, which
// browsers only accept from a secure origin, for the whole host.
func NewSessions(hashKey, blockKey []byte, secure bool) *Sessions {
	store := sessions.NewCookieStore(hashKey, blockKey)
	store.Options = &sessions.Options{
		Path:     "/",
		HttpOnly: true,
		Secure:   secure,
		SameSite: 2, // http.SameSiteLaxMode
		MaxAge:   int(models.SessionRememberFor / time.Second),
	}
	store.MaxAge(int(models.SessionRememberFor / time.Second)) // also bounds the signed timestamp
	for _, codec := range store.Codecs {
		if sc, ok := codec.(*securecookie.SecureCookie); ok {
			sc.SetSerializer(securecookie.JSONEncoder{})
		}
	}
	return &Sessions{Name: cookieName("wm_session", secure), store: store}
}

// cookieName is name, with the __Host- prefix over https.
func cookieName(name string, secure bool) string {
	if secure {
		return "__Host-" + name
	}
	return name
}

// sessionValues is what a session cookie holds.
type sessionValues struct {
	Token    string       `json:"tok,omitempty"` // the secret of the server-side session
	Remember bool         `json:"rem,omitempty"`
	Expires  int64        `json:"exp,omitempty"` // unix seconds
	Next     string       `json:"nx,omitempty"`  // where to go once the second factor is in
	Flashes  []Flash      `json:"fl,omitempty"`
	NewKey   *newKeyValue `json:"nk,omitempty"` // an API key just made, shown once (admin_keys.go)
	Codes    []string     `json:"rc,omitempty"` // recovery codes just made, shown once (security.go)
	WebAuthn string       `json:"wa,omitempty"` // a passkey ceremony under way (passkeys.go)
}

type newKeyValue struct {
	Key  string `json:"k"`
	Name string `json:"n"`
}

func (v *sessionValues) empty() bool {
	return v.Token == "" && len(v.Flashes) == 0 && v.NewKey == nil && len(v.Codes) == 0 && v.WebAuthn == ""
}

// Session is one request's session values; changes are written back as a
// new cookie when the request ends.
type Session struct {
	v      sessionValues
	dirty  bool
	expire bool
}

// Load decodes the request's session cookie; a missing, tampered or
// expired cookie (or one in an older format) gives an empty session.
func (ss *Sessions) Load(c *fiber.Ctx) *Session {
	sess := &Session{}
	if raw := c.Cookies(ss.Name); raw != "" {
		if err := securecookie.DecodeMulti(ss.Name, raw, &sess.v, ss.store.Codecs...); err != nil {
			sess.v = sessionValues{}
		}
	}
	if sess.v.Expires != 0 && time.Now().Unix() > sess.v.Expires {
		sess.Clear()
	}
	return sess
}

// Save writes the session cookie if the session changed.
func (ss *Sessions) Save(c *fiber.Ctx, sess *Session) error {
	if sess == nil || !sess.dirty {
		return nil
	}
	if sess.expire || sess.v.empty() {
		c.Cookie(&fiber.Cookie{Name: ss.Name, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(1, 0),
			HTTPOnly: true, Secure: ss.store.Options.Secure, SameSite: fiber.CookieSameSiteLaxMode})
		return nil
	}
	encoded, err := securecookie.EncodeMulti(ss.Name, &sess.v, ss.store.Codecs...)
	if err != nil {
		return err
	}
	ck := &fiber.Cookie{Name: ss.Name, Value: encoded, Path: "/", HTTPOnly: true,
		Secure: ss.store.Options.Secure, SameSite: fiber.CookieSameSiteLaxMode}
	if sess.v.Remember && sess.v.Expires != 0 {
		ck.Expires = time.Unix(sess.v.Expires, 0)
	} else {
		ck.SessionOnly = true
	}
	c.Cookie(ck)
	return nil
}

// Token is the secret of the server-side session, or "".
func (s *Session) Token() string { return s.v.Token }

// Start points the cookie at a new server-side session (no fixation: every
// value of the old cookie, flashes aside, is dropped). The cookie lives as
// long as the session when remembered, and until the browser closes otherwise.
func (s *Session) Start(token string, remember bool, expires time.Time) {
	s.v = sessionValues{Token: token, Remember: remember, Expires: expires.Unix(), Flashes: s.v.Flashes}
	s.dirty, s.expire = true, false
}

// SignOut forgets the server-side session but keeps the flashes for the
// next page.
func (s *Session) SignOut() {
	s.v = sessionValues{Flashes: s.v.Flashes}
	s.dirty = true
}

// Clear empties the session and removes the cookie.
func (s *Session) Clear() {
	s.v = sessionValues{}
	s.dirty, s.expire = true, true
}

// AddFlash queues a message for the next page.
func (s *Session) AddFlash(kind, msg string) {
	s.v.Flashes = append(s.v.Flashes, Flash{Kind: kind, Text: msg})
	s.dirty, s.expire = true, false
}

// Flash is a one-time message: kind is success, error or info.
type Flash struct {
	Kind string `json:"k"`
	Text string `json:"t"`
}

// HasFlashes reports whether messages wait to be shown.
func (s *Session) HasFlashes() bool {
	return s != nil && len(s.v.Flashes) > 0
}

// Flashes returns and removes the queued messages.
func (s *Session) Flashes() []Flash {
	if len(s.v.Flashes) == 0 {
		return nil
	}
	out := s.v.Flashes
	s.v.Flashes = nil
	s.dirty = true
	return out
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// session returns the request's session, loaded by LoadSession.
func session(c *fiber.Ctx) *Session {
	s, _ := c.Locals(localSession).(*Session)
	return s
}

// flash queues a message for the next page of this visitor.
func flash(c *fiber.Ctx, kind, msg string) {
	if s := session(c); s != nil {
		s.AddFlash(kind, msg)
	}
}

func (h *Handler) takeFlashes(c *fiber.Ctx) []Flash {
	if s := session(c); s != nil {
		return s.Flashes()
	}
	return nil
}
