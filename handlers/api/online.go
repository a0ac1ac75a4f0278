package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// apiVisitor is one online visitor: a member (with the account embedded)
// or a guest, the page it is on and when it was last seen. Guests' cookie
// ids, addresses and browsers are not shown.
type apiVisitor struct {
	Kind       string `json:"kind"` // member or guest
	UserID     *int64 `json:"user_id"`
	User       *User  `json:"user"`
	Page       string `json:"page"`
	LastSeenAt Time   `json:"last_seen_at"`
}

// Online is GET /api/v1/online: the visitors seen within the online
// window, newest first, filtered by id (an account), pageid (a page's
// path), kind (members or guests); page and limit as in every list.
func (h *Handler) Online(c *fiber.Ctx) error {
	q := &apiQuery{c: c, errs: map[string]string{}}
	f := models.OnlineFilter{
		UserID: int64(q.integer("id", 0, 1)),
		PageID: q.text("pageid"),
		Kind:   q.text("kind"),
		Page:   q.integer("page", 1, 1),
		Limit:  q.integer("limit", defaultLimit, 1),
	}
	switch f.Kind {
	case "", "members", "guests":
	default:
		q.errs["kind"] = "Use members or guests."
	}
	if err := q.err(); err != nil {
		return err
	}
	page, err := h.Users.Online(c.UserContext(), f)
	if err != nil {
		return err
	}
	me := Me(c)
	return list(c, page, func(p *models.Presence) apiVisitor {
		v := apiVisitor{Kind: "guest", Page: p.Page, LastSeenAt: at(p.LastSeenAt)}
		if p.UserID != nil {
			v.Kind, v.UserID = "member", p.UserID
			if p.User != nil && p.User.ID != 0 {
				u := h.userFor(me, p.User)
				v.User = &u
			}
		}
		return v
	})
}
