package api

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// The console's account actions (handlers/admin_actions.go), for
// programs: each calls the same service method as the console's button,
// so the same rules refuse the same things, and answers the account as it
// is afterwards.

// BlockUser is POST /api/v1/users/:id/block, with an optional JSON body
// {"reason": "…"} shown to the person when they try to sign in. Their
// sessions end.
func (h *Handler) BlockUser(c *fiber.Ctx) error {
	reason := ""
	if len(bytes.TrimSpace(c.Body())) > 0 {
		b, err := readJSONObject(c)
		if err != nil {
			return err
		}
		if v := b.text("reason", true); v != nil {
			reason = *v
		}
		if err := b.done(); err != nil {
			return err
		}
	}
	return h.userAction(c, func(id int64) (*models.User, error) {
		return h.Users.Block(c.UserContext(), actor(c), id, reason)
	})
}

// UnblockUser is POST /api/v1/users/:id/unblock: lifts a ban.
func (h *Handler) UnblockUser(c *fiber.Ctx) error {
	return h.userAction(c, func(id int64) (*models.User, error) {
		return h.Users.Unblock(c.UserContext(), actor(c), id)
	})
}

// RestoreUser is POST /api/v1/users/:id/restore: a deleted account is Active again.
func (h *Handler) RestoreUser(c *fiber.Ctx) error {
	return h.userAction(c, func(id int64) (*models.User, error) {
		return h.Users.Restore(c.UserContext(), actor(c), id)
	})
}

// ConfirmUser is POST /api/v1/users/:id/confirm: marks the e-mail address
// as confirmed (an Inactive account becomes Active).
func (h *Handler) ConfirmUser(c *fiber.Ctx) error {
	return h.userAction(c, func(id int64) (*models.User, error) {
		return h.Users.ConfirmEmail(c.UserContext(), actor(c), id)
	})
}

// RevokeUserSessions is POST /api/v1/users/:id/sessions/revoke: signs the
// account out everywhere (any key on its own account; admins on lower levels).
func (h *Handler) RevokeUserSessions(c *fiber.Ctx) error {
	return h.userAction(c, func(id int64) (*models.User, error) {
		return h.Users.RevokeSessions(c.UserContext(), actor(c), id)
	})
}

// ResetUserMFA is POST /api/v1/users/:id/mfa/reset: turns another
// account's two-factor sign-in off (admins, on lower levels; never a
// key's own account): the authenticator app and the passkeys, unless
// those are its only way in (the mfa.reset event says which).
func (h *Handler) ResetUserMFA(c *fiber.Ctx) error {
	return h.userAction(c, func(id int64) (*models.User, error) {
		u, _, err := h.Users.ResetMFA(c.UserContext(), actor(c), id)
		return u, err
	})
}

// SetUserPassword is PUT /api/v1/users/:id/password with {"password":
// "…"}: sets another account's password; its sessions end.
func (h *Handler) SetUserPassword(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	if err := models.Authorize(Me(c), models.ActSetPassword, nil); err != nil {
		return err // before reading a body this key may not send
	}
	b, err := readJSONObject(c)
	if err != nil {
		return err
	}
	password := b.text("password", false)
	if password == nil && b.errs["password"] == "" {
		b.errs["password"] = "This field is required."
	}
	if err := b.done(); err != nil {
		return err
	}
	u, err := h.Users.SetPassword(c.UserContext(), actor(c), id, *password)
	if err != nil {
		return err
	}
	return one(c, http.StatusOK, h.userFor(Me(c), u))
}

// SendPasswordReset is POST /api/v1/users/:id/password-reset: e-mails the
// account a link to choose a new password. 202: the message is queued.
func (h *Handler) SendPasswordReset(c *fiber.Ctx) error {
	return h.adminMail(c, models.MailReset)
}

// ResendConfirmation is POST /api/v1/users/:id/resend-confirmation:
// e-mails the confirmation link again. 202: the message is queued.
func (h *Handler) ResendConfirmation(c *fiber.Ctx) error {
	return h.adminMail(c, models.MailConfirm)
}

func (h *Handler) adminMail(c *fiber.Ctx, kind string) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	u, err := h.Users.AdminMail(c.UserContext(), actor(c), id, kind)
	if err != nil {
		return err
	}
	h.Mail.Send(models.MailRequest{Kind: kind, UserID: u.ID, By: actor(c)})
	return one(c, http.StatusAccepted, h.userFor(Me(c), u))
}

// userAction runs one action on the :id account and answers the account.
func (h *Handler) userAction(c *fiber.Ctx, do func(id int64) (*models.User, error)) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	u, err := do(id)
	if err != nil {
		return err
	}
	return one(c, http.StatusOK, h.userFor(Me(c), u))
}

// purge is DELETE /api/v1/users/:id?purge=true: erases a soft-deleted
// account for good (superadmins). 204.
func (h *Handler) purge(c *fiber.Ctx, id int64) error {
	if err := h.Users.Purge(c.UserContext(), actor(c), id); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// boolQuery reads a true/false query parameter; anything else is a 422.
func boolQuery(c *fiber.Ctx, name string) (bool, error) {
	v := c.Query(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &models.ValidationError{Fields: map[string]string{name: "Use true or false."}}
	}
	return b, nil
}
