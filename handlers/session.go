package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// Session lifetimes.
const (
	RememberFor   = 30 * 24 * time.Hour // "remember me"
	BrowserMaxAge = 7 * 24 * time.Hour  // a browser session is also capped server-side
)

// Sessions keeps sessions in a cookie with gorilla/sessions' cookie store:
// signed (HMAC-SHA256) and encrypted (AES-256) by its securecookie codecs.
// gorilla works on net/http requests, so the codecs encode and decode the
// values straight into Fiber's cookie.
type Sessions struct {
	Name  string
	store *sessions.CookieStore
}

// NewSessions builds the store from a hash key and an encryption key.
func NewSessions(hashKey, blockKey []byte, secure bool) *Sessions {
	store := sessions.NewCookieStore(hashKey, blockKey)
	store.Options = &sessions.Options{
		Path:     "/",
		HttpOnly: true,
		Secure:   secure,
		SameSite: 2, // http.SameSiteLaxMode
		MaxAge:   int(RememberFor / time.Second),
	}
	store.MaxAge(int(RememberFor / time.Second)) // also bounds the signed timestamp
	return &Sessions{Name: "wm_session", store: store}
}

// Session is one request's session values; changes are written back as a
// new cookie when the request ends.
type Session struct {
	s      *sessions.Session
	dirty  bool
	expire bool
}

// session keys
const (
	keyUserID   = "uid"
	keyVersion  = "ver"
	keyRemember = "rem"
	keyExpires  = "exp"
	keySID      = "sid"
	keyFlash    = "_flash"
)

// Load decodes the request's session cookie; a missing, tampered or
// expired cookie gives an empty session.
func (ss *Sessions) Load(c *fiber.Ctx) *Session {
	s := sessions.NewSession(ss.store, ss.Name)
	opts := *ss.store.Options
	s.Options = &opts
	s.IsNew = true
	if raw := c.Cookies(ss.Name); raw != "" {
		if err := securecookie.DecodeMulti(ss.Name, raw, &s.Values, ss.store.Codecs...); err == nil {
			s.IsNew = false
		} else {
			s.Values = map[any]any{}
		}
	}
	sess := &Session{s: s}
	if exp, ok := s.Values[keyExpires].(int64); ok && time.Now().Unix() > exp {
		sess.Clear()
	}
	return sess
}

// Save writes the session cookie if the session changed.
func (ss *Sessions) Save(c *fiber.Ctx, sess *Session) error {
	if sess == nil || !sess.dirty {
		return nil
	}
	if sess.expire || len(sess.s.Values) == 0 {
		c.Cookie(&fiber.Cookie{Name: ss.Name, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(1, 0),
			HTTPOnly: true, Secure: ss.store.Options.Secure, SameSite: fiber.CookieSameSiteLaxMode})
		return nil
	}
	encoded, err := securecookie.EncodeMulti(ss.Name, sess.s.Values, ss.store.Codecs...)
	if err != nil {
		return err
	}
	ck := &fiber.Cookie{Name: ss.Name, Value: encoded, Path: "/", HTTPOnly: true,
		Secure: ss.store.Options.Secure, SameSite: fiber.CookieSameSiteLaxMode}
	if rem, _ := sess.s.Values[keyRemember].(bool); rem {
		if exp, ok := sess.s.Values[keyExpires].(int64); ok {
			ck.Expires = time.Unix(exp, 0)
		}
	} else {
		ck.SessionOnly = true
	}
	c.Cookie(ck)
	return nil
}

// UserID is the signed-in account id and its session version, or 0.
func (s *Session) UserID() (id, version int64) {
	id, _ = s.s.Values[keyUserID].(int64)
	version, _ = s.s.Values[keyVersion].(int64)
	return id, version
}

// SignIn starts a brand-new session for the account (no fixation: every
// value of the old session, flashes aside, is dropped and a new id made).
func (s *Session) SignIn(userID, version int64, remember bool) {
	flashes := s.s.Values[keyFlash]
	s.s.Values = map[any]any{}
	if flashes != nil {
		s.s.Values[keyFlash] = flashes
	}
	life := BrowserMaxAge
	if remember {
		life = RememberFor
	}
	s.s.Values[keyUserID] = userID
	s.s.Values[keyVersion] = version
	s.s.Values[keyRemember] = remember
	s.s.Values[keyExpires] = time.Now().Add(life).Unix()
	s.s.Values[keySID] = newID()
	s.dirty, s.expire = true, false
}

// SignOut ends the session but keeps its flashes for the next page.
func (s *Session) SignOut() {
	flashes := s.s.Values[keyFlash]
	s.s.Values = map[any]any{}
	if flashes != nil {
		s.s.Values[keyFlash] = flashes
	}
	s.dirty = true
}

// Clear empties the session and removes the cookie.
func (s *Session) Clear() {
	s.s.Values = map[any]any{}
	s.dirty, s.expire = true, true
}

// AddFlash queues a message for the next page.
func (s *Session) AddFlash(kind, msg string) {
	s.s.AddFlash(kind + "\x00" + msg)
	s.dirty, s.expire = true, false
}

// Flash is a one-time message: kind is success, error or info.
type Flash struct {
	Kind string
	Text string
}

// HasFlashes reports whether messages wait to be shown.
func (s *Session) HasFlashes() bool {
	if s == nil {
		return false
	}
	_, ok := s.s.Values[keyFlash]
	return ok
}

// Flashes returns and removes the queued messages.
func (s *Session) Flashes() []Flash {
	if _, ok := s.s.Values[keyFlash]; !ok {
		return nil
	}
	raw := s.s.Flashes()
	s.dirty = true
	out := make([]Flash, 0, len(raw))
	for _, r := range raw {
		str, _ := r.(string)
		for i := 0; i < len(str); i++ {
			if str[i] == 0 {
				out = append(out, Flash{Kind: str[:i], Text: str[i+1:]})
				break
			}
		}
	}
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
