package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// startSession is where every sign-in ends, whatever proved the first
// factor (password, passkey, e-mailed link, a new account, an identity
// provider): the service decides whether a second factor is still needed
// (a pending session) or the person is in, and this browser's cookie and
// CSRF token move to the new session. A session the browser had before is
// ended (no fixation, no two sessions in one browser).
func (h *Handler) startSession(c *fiber.Ctx, u *models.User, in models.SignIn) (*models.Session, error) {
	ctx := c.UserContext()
	if p := Pending(c); p != nil {
		if err := h.Users.EndSession(ctx, models.Actor{Meta: meta(c)}, p); err != nil {
			return nil, err
		}
	}
	if old := CurrentSession(c); old != nil && in.Method != models.MethodRenewed {
		if err := h.Users.EndSession(ctx, actor(c), old); err != nil {
			return nil, err
		}
	}
	token, rec, err := h.Users.StartSession(ctx, meta(c), u, in)
	if err != nil {
		return nil, err
	}
	session(c).Start(token, rec.Remember, rec.ExpiresAt)
	h.renewCSRF(c)
	if !rec.Pending {
		h.forgetGuest(c)
	}
	return rec, nil
}

// completeSignIn finishes a sign-in by someone who proved a first factor:
// on to /login/2fa when the account needs its second factor, otherwise
// welcome and the page they wanted (next).
func (h *Handler) completeSignIn(c *fiber.Ctx, u *models.User, in models.SignIn, next string) error {
	rec, err := h.startSession(c, u, in)
	if err != nil {
		return err
	}
	if rec.Pending {
		session(c).v.Next = safeNextOrEmpty(next)
		return redirect(c, "/login/2fa")
	}
	flash(c, "success", "Welcome back, "+u.DisplayName()+"!")
	return redirect(c, safeNext(next))
}
