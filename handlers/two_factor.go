package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

const tplSecondFactor = "auth/second_factor"

// ShowSecondFactor asks for the code of a sign-in whose password was
// right and whose account has two-factor on.
func (h *Handler) ShowSecondFactor(c *fiber.Ctx) error {
	if Me(c) != nil {
		return redirect(c, "/dashboard")
	}
	if Pending(c) == nil {
		return redirect(c, "/login")
	}
	return h.render(c, tplSecondFactor, Page{Title: "Two-factor sign-in"})
}

// SecondFactor checks the code (an authenticator code or an unused
// recovery code) and, when it is right, finishes the sign-in.
func (h *Handler) SecondFactor(c *fiber.Ctx) error {
	pending := Pending(c)
	if pending == nil {
		flash(c, "info", "Sign in again: the sign-in has expired.")
		return redirect(c, "/login")
	}
	u, in, err := h.Users.SecondFactor(c.UserContext(), meta(c), pending, c.FormValue("code"))
	if fields, ok := fieldErrors(err); ok {
		return h.render(c, tplSecondFactor, Page{Title: "Two-factor sign-in", Status: fiber.StatusUnprocessableEntity,
			Data: fiber.Map{"Error": fields["code"]}})
	}
	if errors.Is(err, models.ErrInvalidCredentials) {
		return h.render(c, tplSecondFactor, Page{Title: "Two-factor sign-in", Status: fiber.StatusUnauthorized,
			Data: fiber.Map{"Error": "That code is not right. Enter the 6 digits your app shows now, or one of your recovery codes."}})
	}
	if err != nil {
		return err // LockedError → 429 page with Retry-After
	}
	next := session(c).v.Next
	if in.SecondFactor == models.MethodRecovery {
		flash(c, "info", "You used a recovery code: each works once. Make new ones in your security settings if you run low.")
	}
	return h.completeSignIn(c, u, in, next)
}
