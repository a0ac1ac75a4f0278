package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

const tplSettings = "member/settings"

func (h *Handler) settingsPage(c *fiber.Ctx, status int, form fiber.Map, errs map[string]string, pwErrs map[string]string) error {
	me := Me(c)
	if form == nil {
		form = fiber.Map{"name": me.Name, "email": me.EmailAddress(), "avatar": me.Avatar}
	}
	return h.render(c, tplSettings, Page{Title: "Settings", Status: status, Data: fiber.Map{
		"Form": form, "Errors": errs, "PasswordErrors": pwErrs,
	}})
}

// ShowSettings draws the signed-in account's settings.
func (h *Handler) ShowSettings(c *fiber.Ctx) error {
	return h.settingsPage(c, fiber.StatusOK, nil, nil, nil)
}

// SaveSettings changes name, e-mail and avatar.
func (h *Handler) SaveSettings(c *fiber.Ctx) error {
	p := models.ProfilePatch{Name: c.FormValue("name"), Email: c.FormValue("email"), Avatar: c.FormValue("avatar")}
	if h.ChangeEmail != nil {
		return h.ChangeEmail(c, p)
	}
	_, err := h.Users.UpdateProfile(c.UserContext(), actor(c), p)
	if fields, ok := fieldErrors(err); ok {
		return h.settingsPage(c, fiber.StatusUnprocessableEntity,
			fiber.Map{"name": p.Name, "email": p.Email, "avatar": p.Avatar}, fields, nil)
	}
	if err != nil {
		return err
	}
	flash(c, "success", "Your settings are saved.")
	return redirect(c, "/settings")
}

// ChangePassword changes the password after checking the current one; the
// other sessions end and this one goes on with the new session version.
func (h *Handler) ChangePassword(c *fiber.Ctx) error {
	u, err := h.Users.ChangePassword(c.UserContext(), actor(c), c.FormValue("current_password"), c.FormValue("password"))
	var locked *models.LockedError
	if errors.As(err, &locked) {
		c.Set(fiber.HeaderRetryAfter, retrySeconds(locked.RetryAfter))
		return h.settingsPage(c, fiber.StatusTooManyRequests, nil, nil, map[string]string{
			"current_password": lockedMessage(locked),
		})
	}
	if fields, ok := fieldErrors(err); ok {
		return h.settingsPage(c, fiber.StatusUnprocessableEntity, nil, nil, fields)
	}
	if err != nil {
		return err
	}
	remember := false
	if rec := CurrentSession(c); rec != nil {
		remember = rec.Remember
	}
	if _, err := h.startSession(c, u, models.SignIn{Method: models.MethodRenewed, Remember: remember}); err != nil {
		return err
	}
	flash(c, "success", "Your password is changed. Other devices have been signed out.")
	return redirect(c, "/settings")
}

// RevokeSessions signs the account out everywhere, this browser included.
func (h *Handler) RevokeSessions(c *fiber.Ctx) error {
	me := Me(c)
	if _, err := h.Users.RevokeSessions(c.UserContext(), actor(c), me.ID); err != nil {
		return err
	}
	session(c).SignOut()
	flash(c, "success", "You are signed out everywhere.")
	return redirect(c, "/login")
}
