package handlers

import (
	"bufio"
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// exportColumnsFor is the export form's columns for viewer.
func exportColumnsFor(viewer *models.User) []models.ExportColumn {
	return models.ExportColumnsFor(viewer)
}

// filterFields is the list's filter as the hidden fields of the bulk and
// export forms (no sort, page or page size: they act on every match).
func filterFields(f models.Filter) map[string][]string {
	q := filterQuery(f)
	q.Del("sort")
	q.Del("limit")
	return q
}

// ExportColumnsParam reads the columns asked for: columns=a,b or
// columns=a&columns=b (the form's checkboxes); the API's export reads them
// the same way.
func ExportColumnsParam(c *fiber.Ctx) []string {
	var out []string
	for _, v := range c.Context().QueryArgs().PeekMulti("columns") {
		for _, name := range strings.Split(string(v), ",") {
			if name = strings.TrimSpace(name); name != "" {
				out = append(out, name)
			}
		}
	}
	return out
}

// ExportUsers is GET /admin/users/export.csv: every account of the list's
// filter as CSV, with the columns asked for. Everything is checked before
// the first byte; then the rows are streamed as they are read, in
// constant memory (SendExport).
func (h *Handler) ExportUsers(c *fiber.Ctx) error {
	me := Me(c)
	f, errs := consoleFilter(c.Query, me)
	if len(errs) > 0 {
		return &models.ValidationError{Fields: errs}
	}
	e, err := h.Users.PlanExport(me, f, ExportColumnsParam(c))
	if err != nil {
		return err
	}
	SendExport(c, h.Users, e, h.Log, requestID(c))
	return nil
}

// SendExport answers a planned export as a CSV download, streamed after
// the handler returns (so without c), in batches; the console's and the
// API's exports both end here. A failure after the first byte can't
// change the status any more: the download ends short and it is logged.
func SendExport(c *fiber.Ctx, users *models.Service, e *models.Export, log *slog.Logger, reqID string) {
	name := "users-" + time.Now().UTC().Format(time.DateOnly) + ".csv"
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), models.ExportTimeout)
		defer cancel()
		if n, err := users.WriteCSV(ctx, e, w); err != nil {
			log.Warn("CSV export stopped", "rows", n, "err", err, "request_id", reqID)
		}
	})
}
