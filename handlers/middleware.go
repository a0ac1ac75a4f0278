package handlers

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// LoadSession decodes the session cookie and finds its server-side
// session, then loads the signed-in account once (Me). A session that was
// signed out, revoked or expired, or whose account was banned, deleted or
// had its session version moved on (password change, "sign out
// everywhere"), ends here. A session waiting for its second factor signs
// nobody in (see Pending). The cookie is written back after the handler ran.
func (h *Handler) LoadSession(c *fiber.Ctx) error {
	sess := h.Sessions.Load(c)
	c.Locals(localSession, sess)
	if tok := sess.Token(); tok != "" {
		rec, err := h.Users.SessionByToken(c.UserContext(), tok, meta(c))
		switch {
		case errors.Is(err, models.ErrNotFound):
			sess.SignOut()
			sess.AddFlash("info", "Your session has ended. Please sign in again.")
		case err != nil:
			return err
		case rec.Pending:
			c.Locals(localPending, rec)
		default:
			u, err := h.Users.Get(c.UserContext(), rec.UserID)
			switch {
			case errors.Is(err, models.ErrNotFound):
				sess.Clear()
			case err != nil:
				return err
			case u.SessionVersion != rec.SessionVersion || u.Type == models.TypeBanned || u.Type == models.TypeDeleted:
				sess.SignOut()
				sess.AddFlash("info", "Your session has ended. Please sign in again.")
			default:
				c.Locals(localMe, u)
				c.Locals(localAuth, rec)
			}
		}
	}
	err := c.Next()
	if serr := h.Sessions.Save(c, sess); serr != nil && err == nil {
		err = serr
	}
	return err
}

// CurrentSession is the server-side session of the signed-in request, or nil.
func CurrentSession(c *fiber.Ctx) *models.Session {
	s, _ := c.Locals(localAuth).(*models.Session)
	return s
}

// Pending is the request's sign-in waiting for its second factor, or nil.
func Pending(c *fiber.Ctx) *models.Session {
	s, _ := c.Locals(localPending).(*models.Session)
	return s
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
		if h.needsTwoFactor(c, me) {
			flash(c, "error", "Your role needs two-factor sign-in: turn it on here to use the console.")
			return redirect(c, "/settings/security")
		}
		return c.Next()
	}
}

// needsTwoFactor reports whether REQUIRE_2FA_LEVEL keeps me out of the
// console until two-factor is on (a passkey sign-in proved two factors
// and is let through).
func (h *Handler) needsTwoFactor(c *fiber.Ctx, me *models.User) bool {
	if h.Opts.Require2FA == 0 || me.Level < h.Opts.Require2FA || me.MFAEnabled {
		return false
	}
	rec := CurrentSession(c)
	return rec == nil || rec.Method != models.MethodPasskey
}

// guestCookie is the anonymous cookie that tells guests apart for presence.
func (h *Handler) guestCookie() string {
	return cookieName("wm_visitor", h.Sessions.store.Options.Secure)
}

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
		g := c.Cookies(h.guestCookie())
		if len(g) != 32 || strings.Trim(g, "0123456789abcdef") != "" {
			// A first visit: give the visitor its cookie and count it from
			// its next page on, so clients that keep no cookies (crawlers,
			// scripts) cost no presence write per request.
			c.Cookie(&fiber.Cookie{Name: h.guestCookie(), Value: newID(), Path: "/", HTTPOnly: true,
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
	if g := c.Cookies(h.guestCookie()); g != "" {
		if err := h.Users.ForgetVisitor(c.UserContext(), models.GuestVisitor(g)); err != nil {
			h.Log.WarnContext(c.UserContext(), "presence not updated", "err", err)
		}
	}
}
