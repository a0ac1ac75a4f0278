package handlers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// CSRFTokens makes and checks the tokens every form carries (_csrf) and the
// cookie that doubles them. A token is a random part and an issue time,
// signed with a key derived from the session secret over those bytes and
// the secret of the browser's session: it works only in the session it
// was made for (a visitor's token is refused once someone signs in, and a
// sign-in issues a new one), survives restarts and works across instances.
type CSRFTokens struct {
	Key    []byte
	MaxAge time.Duration
	Secure bool // https: __Host- cookie, and an Origin/Referer check
}

// cookie is the name of the double-submit cookie.
func (t *CSRFTokens) cookie() string { return cookieName("wm_csrf", t.Secure) }

// Generate makes a new token for the session whose secret is bound ("" for
// a visitor without a session).
func (t *CSRFTokens) Generate(bound string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b[:16])
	binary.BigEndian.PutUint64(b[16:], uint64(time.Now().Unix()))
	return base64.RawURLEncoding.EncodeToString(b) + "." + t.sign(b, bound)
}

func (t *CSRFTokens) sign(b []byte, bound string) string {
	m := hmac.New(sha256.New, t.Key)
	m.Write(b)
	bs := sha256.Sum256([]byte(bound)) // fixed length: no ambiguity with b
	m.Write(bs[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Valid reports whether token was made by Generate with this key for the
// session bound, and is not too old.
func (t *CSRFTokens) Valid(token, bound string) bool {
	raw, sig, ok := strings.Cut(token, ".")
	if !ok {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) != 24 {
		return false
	}
	if !hmac.Equal([]byte(sig), []byte(t.sign(b, bound))) {
		return false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[16:])), 0)
	return time.Since(issued) < t.MaxAge
}

// CheckCSRF guards every page route after LoadSession: a request that
// may change something (not GET, HEAD, OPTIONS or TRACE) needs the form's
// _csrf to equal the cookie's and to be valid for the request's session;
// over https its Origin (or Referer) must also be this host. Every request
// leaves with a valid token for its session in the cookie and in the page
// data (.CSRF).
func (h *Handler) CheckCSRF(c *fiber.Ctx) error {
	t := h.CSRF
	bound := session(c).Token()
	cookie := c.Cookies(t.cookie())
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions, fiber.MethodTrace:
	default:
		if t.Secure && !sameOrigin(c) {
			return h.csrfDenied(c)
		}
		form := c.FormValue("_csrf")
		if form == "" || subtle.ConstantTimeCompare([]byte(form), []byte(cookie)) != 1 || !t.Valid(form, bound) {
			return h.csrfDenied(c)
		}
	}
	token := cookie
	if !t.Valid(token, bound) {
		token = ""
	}
	h.setCSRF(c, token)
	c.Vary(fiber.HeaderCookie)
	return c.Next()
}

// renewCSRF issues a token for the request's session as it is now: after
// a sign-in, the next form needs a token of the new session.
func (h *Handler) renewCSRF(c *fiber.Ctx) { h.setCSRF(c, "") }

// setCSRF puts token (a new one when "") in the cookie and the page data.
func (h *Handler) setCSRF(c *fiber.Ctx, token string) {
	if token == "" {
		token = h.CSRF.Generate(session(c).Token())
	}
	c.Cookie(&fiber.Cookie{Name: h.CSRF.cookie(), Value: token, Path: "/", HTTPOnly: true,
		Secure: h.CSRF.Secure, SameSite: fiber.CookieSameSiteLaxMode, SessionOnly: true})
	c.Locals(localCSRF, token)
}

// sameOrigin reports whether the request says it comes from this host
// (Origin, or Referer when a browser sends no Origin).
func sameOrigin(c *fiber.Ctx) bool {
	from := c.Get(fiber.HeaderOrigin)
	if from == "" || from == "null" {
		from = c.Get(fiber.HeaderReferer)
	}
	u, err := url.Parse(strings.ToLower(from))
	return err == nil && u.Scheme == c.Protocol() && u.Host == strings.ToLower(c.Hostname())
}

// csrfDenied is the 403 page of a refused form.
func (h *Handler) csrfDenied(c *fiber.Ctx) error {
	return h.ErrorHandler(c, &models.DeniedError{Reason: "the form was not sent from this site or has expired; reload the page and try again"})
}
