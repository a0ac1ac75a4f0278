package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

const tplSessions = "member/sessions"

// ShowSessions lists the signed-in account's sessions, this one marked.
func (h *Handler) ShowSessions(c *fiber.Ctx) error {
	me := Me(c)
	list, err := h.Users.UserSessions(c.UserContext(), actor(c), me.ID)
	if err != nil {
		return err
	}
	return h.render(c, tplSessions, Page{Title: "Sessions", Data: fiber.Map{
		"Sessions": list, "CurrentID": CurrentSession(c).ID, "Section": "settings",
	}})
}

// RevokeSession signs out one of the account's own sessions; this one
// means signing out here.
func (h *Handler) RevokeSession(c *fiber.Ctx) error {
	sid, err := paramID(c, "sid")
	if err != nil {
		return err
	}
	me := Me(c)
	if err := h.Users.RevokeSession(c.UserContext(), actor(c), me.ID, sid); err != nil {
		return err
	}
	if sid == CurrentSession(c).ID {
		session(c).SignOut()
		flash(c, "info", "You are signed out.")
		return redirect(c, "/")
	}
	flash(c, "success", "That session is signed out.")
	return redirect(c, "/settings/sessions")
}

// RevokeUserSession signs out one session of an account from the console
// (admins, on lower levels; anyone on their own).
func (h *Handler) RevokeUserSession(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	sid, err := paramID(c, "sid")
	if err != nil {
		return err
	}
	if err := h.Users.RevokeSession(c.UserContext(), actor(c), id, sid); err != nil {
		return err
	}
	if cur := CurrentSession(c); cur != nil && cur.ID == sid {
		session(c).SignOut()
		flash(c, "info", "You are signed out.")
		return redirect(c, "/")
	}
	flash(c, "success", "The session is signed out.")
	return redirect(c, userURL(id)+"#sessions")
}

// userSessions lists the account's sessions for its console page, when
// the viewer may see them (admins above it, or the account itself).
func (h *Handler) userSessions(c *fiber.Ctx, u *models.User) ([]models.Session, error) {
	if !models.Can(Me(c), models.ActRevokeSessions, u) {
		return nil, nil
	}
	return h.Users.UserSessions(c.UserContext(), actor(c), u.ID)
}
