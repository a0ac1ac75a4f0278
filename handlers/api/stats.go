package api

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// Stats is GET /api/v1/stats: the dashboard figures (total, per type
// and role, online members and guests, sign-ups and sign-ins per day),
// computed at most every few seconds (generated_at says when).
func (h *Handler) Stats(c *fiber.Ctx) error {
	st, err := h.Users.Stats(c.UserContext())
	if err != nil {
		return err
	}
	return one(c, http.StatusOK, st)
}
