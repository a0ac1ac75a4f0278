package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/handlers"
	"github.com/webmin/webmin/models"
)

// ExportUsers is GET /api/v1/users/export.csv: every account of the
// filter (the query parameters of GET /api/v1/users, plus created_from
// and created_to) as CSV, with the columns=a,b,… asked for (the console's
// defaults otherwise). Staff only; e-mail columns for admins only.
// Everything is checked before the first byte; then the rows stream.
func (h *Handler) ExportUsers(c *fiber.Ctx) error {
	q := func(name string) string { return c.Query(name) }
	f, errs := models.FilterFields{Type: q("type"), Role: q("role"), Level: q("level"), Search: q("search"),
		Group: q("group"), CreatedFrom: q("created_from"), CreatedTo: q("created_to")}.Filter()
	if len(errs) > 0 {
		return &models.ValidationError{Fields: errs}
	}
	e, err := h.Users.PlanExport(Me(c), f, handlers.ExportColumnsParam(c))
	if err != nil {
		return err
	}
	handlers.SendExport(c, h.Users, e, h.Log, requestID(c))
	return nil
}
