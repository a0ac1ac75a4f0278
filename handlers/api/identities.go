package api

import (
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// Identity is a linked sign-in identity as the API shows it: the
// provider's name (as in OAUTH_PROVIDERS) and its id for the person, what
// it said last (e-mail for those who may see the account's address),
// when it was linked and last used.
type Identity struct {
	ID         int64   `json:"id"`
	Provider   string  `json:"provider"`
	Subject    string  `json:"subject"`
	Email      *string `json:"email,omitempty"`
	Name       string  `json:"name"`
	Avatar     string  `json:"avatar"`
	LinkedAt   Time    `json:"linked_at"`
	LastUsedAt *Time   `json:"last_used_at"`
}

func identityFor(id models.Identity) Identity {
	out := Identity{ID: id.ID, Provider: id.Provider, Subject: id.Subject, Name: id.Name, Avatar: id.Avatar,
		LinkedAt: at(id.LinkedAt)}
	if id.Email != "" { // the service blanks it for viewers who may not see it
		out.Email = &id.Email
	}
	out.LastUsedAt = atOrNull(id.LastUsedAt)
	return out
}

// ListIdentities is GET /api/v1/users/:id/identities (the account's own
// key, or staff): its linked sign-in identities, oldest first.
func (h *Handler) ListIdentities(c *fiber.Ctx) error {
	u, err := h.Users.FindAs(c.UserContext(), Me(c), c.Params("id"))
	if err != nil {
		return err
	}
	ids, err := h.Users.Identities(c.UserContext(), actor(c), u.ID)
	if err != nil {
		return err
	}
	out := make([]Identity, len(ids))
	for i, id := range ids {
		out[i] = identityFor(id)
	}
	return one(c, http.StatusOK, out)
}

// UnlinkIdentity is DELETE /api/v1/users/:id/identities/:identity (the
// account's own key, or admins on lower levels): 204, or 403 when it is the
// account's last way to sign in.
func (h *Handler) UnlinkIdentity(c *fiber.Ctx) error {
	u, err := h.Users.FindAs(c.UserContext(), Me(c), c.Params("id"))
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("identity"), 10, 64)
	if err != nil || id <= 0 {
		return models.ErrNotFound
	}
	if err := h.Users.UnlinkIdentity(c.UserContext(), actor(c), u.ID, id); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}
