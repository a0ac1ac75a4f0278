package api

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// ListEvents is GET /api/v1/events (admins): the audit log, newest first,
// with the console's filters: actor and target (an id or a username),
// action (exact, or a prefix ending in "." such as "user."), since and
// until (a date, inclusive, or a date-time), page and limit.
func (h *Handler) ListEvents(c *fiber.Ctx) error {
	q := &apiQuery{c: c, errs: map[string]string{}}
	f := models.EventFilter{Page: q.integer("page", 1, 1), Limit: q.integer("limit", defaultLimit, 1)}
	for _, p := range []struct {
		name string
		id   *int64
	}{{"actor", &f.ActorID}, {"target", &f.TargetID}} {
		v := q.text(p.name)
		if v == "" {
			continue
		}
		u, err := h.Users.FindAs(c.UserContext(), Me(c), v)
		var de *models.DeniedError
		switch {
		case errors.Is(err, models.ErrNotFound), errors.As(err, &de):
			q.errs[p.name] = "There is no account " + strconv.Quote(clipText(v, 64)) + "; give an id or a username."
		case err != nil:
			return err
		default:
			*p.id = u.ID
		}
	}
	if a := q.text("action"); a != "" {
		if models.KnownEventAction(a) {
			f.Action = a
		} else {
			q.errs["action"] = "Unknown action " + strconv.Quote(clipText(a, 64)) + "."
		}
	}
	f.Since = q.time("since", false)
	f.Until = q.time("until", true)
	if err := q.err(); err != nil {
		return err
	}
	page, err := h.Users.ConsoleEvents(c.UserContext(), f)
	if err != nil {
		return err
	}
	me := Me(c)
	return list(c, page, func(e *models.Event) Event { return eventFor(me, e) })
}

// ListUserEvents is GET /api/v1/users/:id/events (staff): what happened
// to the account and what it did, newest first, as on its console page.
func (h *Handler) ListUserEvents(c *fiber.Ctx) error {
	q := &apiQuery{c: c, errs: map[string]string{}}
	pageNo, limit := q.integer("page", 1, 1), q.integer("limit", defaultLimit, 1)
	if err := q.err(); err != nil {
		return err
	}
	me := Me(c)
	u, err := h.Users.FindAs(c.UserContext(), me, c.Params("id"))
	if err != nil {
		return err
	}
	page, err := h.Users.History(c.UserContext(), u.ID, pageNo, limit)
	if err != nil {
		return err
	}
	return list(c, page, func(e *models.Event) Event { return eventFor(me, e) })
}

// time reads a date (2026-01-31) or a date-time (RFC 3339). A date is
// inclusive: as the end of a range it means up to the end of that day.
func (q *apiQuery) time(name string, end bool) time.Time {
	s := q.text(name)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || strings.Contains(s, " ") {
		q.errs[name] = "Use a date like 2026-01-31 or a date-time like 2026-01-31T12:00:00Z."
		return time.Time{}
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t
}
