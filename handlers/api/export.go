package api

import (
	"bufio"
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// ExportUsers is GET /api/v1/users/export.csv: every account of the
// filter (the query parameters of GET /api/v1/users, plus created_from
// and created_to) as CSV, with the columns=a,b,… asked for (the console's
// defaults otherwise). Staff only; e-mail columns for admins only.
// Everything is checked before the first byte; then the rows stream.
func (h *Handler) ExportUsers(c *fiber.Ctx) error {
	q := &apiQuery{c: c, errs: map[string]string{}}
	me := Me(c)
	f := models.Filter{Type: q.text("type"), Role: q.text("role"), Search: q.text("search"), Group: q.text("group"),
		CreatedFrom: q.time("created_from", false), CreatedBefore: q.time("created_to", true)}
	if w, ok := apiTypes[f.Type]; ok {
		f.Type = w
	}
	if q.text("level") != "" {
		l := q.integer("level", 0, 0)
		f.Level = &l
	}
	if err := q.err(); err != nil {
		return err
	}
	var columns []string
	for _, v := range c.Context().QueryArgs().PeekMulti("columns") {
		columns = append(columns, strings.Split(string(v), ",")...)
	}
	e, err := h.Users.PlanExport(me, f, columns)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="users-`+time.Now().UTC().Format(time.DateOnly)+`.csv"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	log, reqID := h.Log, requestID(c)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), models.ExportTimeout)
		defer cancel()
		if n, err := h.Users.WriteCSV(ctx, e, w); err != nil {
			log.Warn("CSV export stopped", "rows", n, "err", err, "request_id", reqID)
		}
	})
	return nil
}
