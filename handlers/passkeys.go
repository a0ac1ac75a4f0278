package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// Passkeys: the browser side is static/js/passkeys.js, which fetches the
// options here, asks the authenticator, and posts its answer back (every
// POST carries _csrf like a form). The ceremony's state waits in this
// browser's session cookie (signed and encrypted) between the two calls.
// Renaming and removing are plain forms.

// passkeyState keeps (or, with nil, clears) a ceremony's state.
func passkeyState(c *fiber.Ctx, state []byte) {
	s := session(c)
	s.v.WebAuthn = string(state)
	s.dirty = true
}

// takePasskeyState returns and clears the ceremony's state.
func takePasskeyState(c *fiber.Ctx) []byte {
	s := session(c)
	state := s.v.WebAuthn
	s.v.WebAuthn = ""
	s.dirty = true
	return []byte(state)
}

// passkeyFailed answers a refused ceremony as JSON, for the script to show.
func (h *Handler) passkeyFailed(c *fiber.Ctx, err error) error {
	var pe *models.PasskeyError
	var banned *models.BannedError
	var unconfirmed *models.NotConfirmedError
	var locked *models.LockedError
	switch {
	case errors.As(err, &locked):
		// The words of the password form (lockedMessage), for the script to show.
		c.Set(fiber.HeaderRetryAfter, retrySeconds(locked.RetryAfter))
		return c.Status(fiber.StatusTooManyRequests).JSON(fiber.Map{"error": lockedMessage(locked)})
	case errors.As(err, &pe):
		return c.Status(fiber.StatusUnprocessableEntity).JSON(fiber.Map{"error": "The passkey was refused: " + pe.Reason + "."})
	case errors.As(err, &banned):
		msg := "This account is banned."
		if banned.Reason != "" {
			msg = "This account is banned: " + banned.Reason
		}
		return c.Status(fiber.StatusForbidden).JSON(fiber.Map{"error": msg})
	case errors.As(err, &unconfirmed):
		return c.Status(fiber.StatusForbidden).JSON(fiber.Map{"error": "Confirm your e-mail address first: open the link we sent you."})
	}
	return err
}

// PasskeyOptions starts adding a passkey to the signed-in account.
func (h *Handler) PasskeyOptions(c *fiber.Ctx) error {
	options, state, err := h.Users.BeginPasskey(c.UserContext(), actor(c))
	if err != nil {
		return h.passkeyFailed(c, err)
	}
	passkeyState(c, state)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(options)
}

// AddPasskey keeps the passkey the browser made, under the name given.
func (h *Handler) AddPasskey(c *fiber.Ctx) error {
	pk, err := h.Users.FinishPasskey(c.UserContext(), actor(c), takePasskeyState(c), c.FormValue("name"), []byte(c.FormValue("credential")))
	if err != nil {
		return h.passkeyFailed(c, err)
	}
	flash(c, "success", "The passkey “"+pk.Name+"” is added: use it on the sign-in page.")
	return c.JSON(fiber.Map{"redirect": "/settings/security#passkeys"})
}

// RenamePasskey names one of the account's passkeys.
func (h *Handler) RenamePasskey(c *fiber.Ctx) error {
	id, err := paramID(c, "pid")
	if err != nil {
		return err
	}
	err = h.Users.RenamePasskey(c.UserContext(), actor(c), id, c.FormValue("name"))
	if fields, ok := fieldErrors(err); ok {
		return h.securityPage(c, fiber.StatusUnprocessableEntity, fields)
	}
	if err != nil {
		return err
	}
	flash(c, "success", "The passkey is renamed.")
	return redirect(c, "/settings/security#passkeys")
}

// RemovePasskey deletes one of the account's passkeys.
func (h *Handler) RemovePasskey(c *fiber.Ctx) error {
	id, err := paramID(c, "pid")
	if err != nil {
		return err
	}
	err = h.Users.RemovePasskey(c.UserContext(), actor(c), id)
	if de, ok := err.(*models.DeniedError); ok {
		flash(c, "error", "Not removed: "+de.Reason+".")
		return redirect(c, "/settings/security#passkeys")
	}
	if err != nil {
		return err
	}
	flash(c, "success", "The passkey is removed. Remove it from your device too.")
	return redirect(c, "/settings/security#passkeys")
}

// PasskeyLoginOptions starts a sign-in with a passkey (no username needed).
func (h *Handler) PasskeyLoginOptions(c *fiber.Ctx) error {
	options, state, err := h.Users.BeginPasskeyLogin(c.UserContext())
	if err != nil {
		return h.passkeyFailed(c, err)
	}
	passkeyState(c, state)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(options)
}

// PasskeyLogin signs in with the passkey the browser signed with: two
// factors at once, so the session is complete.
func (h *Handler) PasskeyLogin(c *fiber.Ctx) error {
	u, in, err := h.Users.FinishPasskeyLogin(c.UserContext(), meta(c), takePasskeyState(c), []byte(c.FormValue("credential")),
		c.FormValue("remember") != "")
	if err != nil {
		return h.passkeyFailed(c, err)
	}
	if _, err := h.startSession(c, u, in); err != nil {
		return err
	}
	flash(c, "success", "Welcome back, "+u.DisplayName()+"!")
	return c.JSON(fiber.Map{"redirect": safeNext(c.FormValue("next"))})
}
