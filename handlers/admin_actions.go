package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// The account actions of the console's detail page: each a POST with
// _csrf, checked by the service (a refusal is the 403 page; an action the
// account's state refuses, which its page no longer offers, goes back to
// the page with the reason as an error flash), written to the audit log
// with actor and IP, and answered with 303 and a flash.
// Sending a password reset or a new confirmation e-mail belongs to the
// mail flows (POST /admin/users/:id/reset and /resend).

// BlockUser bans an account; the optional reason is shown to the person
// when they try to sign in, and their sessions end.
func (h *Handler) BlockUser(c *fiber.Ctx) error {
	return h.userAction(c, func(id int64) (*models.User, error) {
		return h.Users.Block(c.UserContext(), actor(c), id, c.FormValue("reason"))
	}, " is banned and signed out.")
}

// UnblockUser lifts a ban.
func (h *Handler) UnblockUser(c *fiber.Ctx) error {
	return h.userAction(c, func(id int64) (*models.User, error) {
		return h.Users.Unblock(c.UserContext(), actor(c), id)
	}, " is no longer banned.")
}

// DeleteUser soft-deletes an account, with an optional reason for the log.
func (h *Handler) DeleteUser(c *fiber.Ctx) error {
	return h.userAction(c, func(id int64) (*models.User, error) {
		return h.Users.DeleteBecause(c.UserContext(), actor(c), id, c.FormValue("reason"))
	}, " is deleted. It can be restored.")
}

// RestoreUser brings a deleted account back as Active.
func (h *Handler) RestoreUser(c *fiber.Ctx) error {
	return h.userAction(c, func(id int64) (*models.User, error) {
		return h.Users.Restore(c.UserContext(), actor(c), id)
	}, " is restored.")
}

// ConfirmUserEmail marks the account's e-mail address as confirmed.
func (h *Handler) ConfirmUserEmail(c *fiber.Ctx) error {
	return h.userAction(c, func(id int64) (*models.User, error) {
		return h.Users.ConfirmEmail(c.UserContext(), actor(c), id)
	}, "'s e-mail address is marked as confirmed.")
}

// RevokeUserSessions signs the account out everywhere.
func (h *Handler) RevokeUserSessions(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	u, err := h.Users.RevokeSessions(c.UserContext(), actor(c), id)
	if refused(c, err) {
		return redirect(c, userURL(id))
	}
	if err != nil {
		return err
	}
	if me := Me(c); me != nil && me.ID == id { // this browser too
		session(c).SignOut()
		flash(c, "success", "You are signed out everywhere.")
		return redirect(c, "/login")
	}
	flash(c, "success", u.Username+" is signed out everywhere.")
	return redirect(c, userURL(id))
}

// SetUserPassword sets another account's password; its sessions end.
func (h *Handler) SetUserPassword(c *fiber.Ctx) error {
	u, err := h.targetUser(c)
	if err != nil {
		return err
	}
	_, err = h.Users.SetPassword(c.UserContext(), actor(c), u.ID, c.FormValue("password"))
	if refused(c, err) {
		return redirect(c, userURL(u.ID))
	}
	if fields, ok := fieldErrors(err); ok {
		return h.userPage(c, u, userPageState{Status: fiber.StatusUnprocessableEntity, PasswordErrors: fields})
	}
	if err != nil {
		return err
	}
	flash(c, "success", "The password of "+u.Username+" is set and its sessions ended.")
	return redirect(c, userURL(u.ID))
}

// PurgeUser erases a deleted account for good (superadmin), once the
// "I understand" box is ticked.
func (h *Handler) PurgeUser(c *fiber.Ctx) error {
	u, err := h.targetUser(c)
	if err != nil {
		return err
	}
	if err := models.Authorize(Me(c), models.ActPurge, u); err != nil {
		return err
	}
	if c.FormValue("confirm") != "yes" {
		return h.userPage(c, u, userPageState{Status: fiber.StatusUnprocessableEntity,
			PurgeError: "Tick the box to confirm that the account is erased for good."})
	}
	if err := h.Users.Purge(c.UserContext(), actor(c), u.ID); err != nil {
		return err
	}
	flash(c, "success", "The account "+u.Username+" is erased for good.")
	return redirect(c, "/admin/users")
}

// userAction runs one action on the :id account and answers with 303 to
// its page and a flash naming it.
func (h *Handler) userAction(c *fiber.Ctx, do func(id int64) (*models.User, error), done string) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	u, err := do(id)
	if refused(c, err) {
		return redirect(c, userURL(id))
	}
	if err != nil {
		return err
	}
	flash(c, "success", u.Username+done)
	return redirect(c, userURL(id))
}

// refused reports whether err is the service refusing an action for the
// account's state (models.StateConflict: a deleted account is restored
// first, …), and then flashes its reason for the account's page.
func refused(c *fiber.Ctx, err error) bool {
	var ce *models.ConflictError
	if !errors.As(err, &ce) || ce.Field != "state" {
		return false
	}
	flash(c, "error", ce.Message)
	return true
}
