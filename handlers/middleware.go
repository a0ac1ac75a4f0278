package handlers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// LoadSession decodes the session cookie, loads the signed-in account once
// (Me), and ends the session when the account was banned, deleted, or its
// session version moved on (password change, "sign out everywhere"). The
// session cookie is written back after the handler ran.
func (h *Handler) LoadSession(c *fiber.Ctx) error {
	sess := h.Sessions.Load(c)
	c.Locals(localSession, sess)
	if id, ver := sess.UserID(); id != 0 {
		u, err := h.Users.Get(c.UserContext(), id)
		switch {
		case errors.Is(err, models.ErrNotFound):
			sess.Clear()
		case err != nil:
			return err
		case u.SessionVersion != ver || u.Type == models.TypeBanned || u.Type == models.TypeDeleted:
			sess.SignOut()
			sess.AddFlash("info", "Your session has ended. Please sign in again.")
		default:
			c.Locals(localMe, u)
		}
	}
	err := c.Next()
	if serr := h.Sessions.Save(c, sess); serr != nil && err == nil {
		err = serr
	}
	return err
}

// RequireSignedIn sends visitors to the sign-in page, with the page they
// wanted as next.
func (h *Handler) RequireSignedIn(c *fiber.Ctx) error {
	if Me(c) == nil {
		return redirect(c, "/login?next="+url.QueryEscape(c.OriginalURL()))
	}
	return c.Next()
}

// RequireLevel lets through signed-in accounts of at least level; others
// get the 403 page (visitors are sent to sign in first).
func (h *Handler) RequireLevel(level int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		me := Me(c)
		if me == nil {
			return h.RequireSignedIn(c)
		}
		if me.Level < level || me.Type != models.TypeActive {
			return &models.DeniedError{Reason: "this part of the console needs the " + models.Role(level) + " role"}
		}
		return c.Next()
	}
}

// guestCookie is the anonymous cookie that tells guests apart for presence.
const guestCookie = "wm_visitor"

// TrackPresence marks the visitor online on the page it asked for
// (throttled by the service: most requests write nothing). Guests are
// told apart by an anonymous cookie and counted once they send it back.
func (h *Handler) TrackPresence(c *fiber.Ctx) error {
	if c.Method() != fiber.MethodGet {
		return c.Next()
	}
	v := models.Visit{Page: c.Path(), Meta: meta(c)}
	if me := Me(c); me != nil {
		v.VisitorID = models.MemberVisitor(me.ID)
		v.UserID = &me.ID
	} else {
		g := c.Cookies(guestCookie)
		if len(g) != 32 || strings.Trim(g, "0123456789abcdef") != "" {
			// A first visit: give the visitor its cookie and count it from
			// its next page on, so clients that keep no cookies (crawlers,
			// scripts) cost no presence write per request.
			c.Cookie(&fiber.Cookie{Name: guestCookie, Value: newID(), Path: "/", HTTPOnly: true,
				Secure: h.Sessions.store.Options.Secure, SameSite: fiber.CookieSameSiteLaxMode,
				Expires: time.Now().Add(365 * 24 * time.Hour)})
			return c.Next()
		}
		v.VisitorID = models.GuestVisitor(g)
	}
	if err := h.Users.Touch(c.UserContext(), v); err != nil {
		h.Log.WarnContext(c.UserContext(), "presence not recorded", "err", err)
	}
	return c.Next()
}

// forgetGuest drops the browser's guest presence once it signs in, so the
// person isn't counted twice (as a guest and as a member).
func (h *Handler) forgetGuest(c *fiber.Ctx) {
	if g := c.Cookies(guestCookie); g != "" {
		if err := h.Users.ForgetVisitor(c.UserContext(), models.GuestVisitor(g)); err != nil {
			h.Log.WarnContext(c.UserContext(), "presence not updated", "err", err)
		}
	}
}

// CSRFTokens makes and checks stateless CSRF tokens for Fiber's csrf
// middleware: a random part and an issue time, signed with a key derived
// from the session secret. They survive restarts and work across several
// instances; the middleware adds the double-submit cookie check.
type CSRFTokens struct {
	Key    []byte
	MaxAge time.Duration
}

// Generate makes a new token.
func (t *CSRFTokens) Generate() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b[:16])
	binary.BigEndian.PutUint64(b[16:], uint64(time.Now().Unix()))
	return base64.RawURLEncoding.EncodeToString(b) + "." + t.sign(b)
}

func (t *CSRFTokens) sign(b []byte) string {
	m := hmac.New(sha256.New, t.Key)
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Valid reports whether token was made by Generate with this key and is not too old.
func (t *CSRFTokens) Valid(token string) bool {
	raw, sig, ok := strings.Cut(token, ".")
	if !ok {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) != 24 {
		return false
	}
	if !hmac.Equal([]byte(sig), []byte(t.sign(b))) {
		return false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[16:])), 0)
	return time.Since(issued) < t.MaxAge
}

// Get, Set, Delete, Reset and Close make CSRFTokens a fiber.Storage for
// the csrf middleware: a token "is stored" when its signature is valid.
func (t *CSRFTokens) Get(key string) ([]byte, error) {
	if t.Valid(key) {
		return []byte{1}, nil
	}
	return nil, nil
}

// Set does nothing: tokens carry their own proof.
func (t *CSRFTokens) Set(string, []byte, time.Duration) error { return nil }

// Delete does nothing.
func (t *CSRFTokens) Delete(string) error { return nil }

// Reset does nothing.
func (t *CSRFTokens) Reset() error { return nil }

// Close does nothing.
func (t *CSRFTokens) Close() error { return nil }

// CSRFDenied is the csrf middleware's error handler: a 403 page.
func (h *Handler) CSRFDenied(c *fiber.Ctx, _ error) error {
	return h.ErrorHandler(c, &models.DeniedError{Reason: "the form was not sent from this site or has expired; reload the page and try again"})
}
