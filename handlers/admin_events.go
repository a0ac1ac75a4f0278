package handlers

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

const tplAdminEvents = "admin/events"

// filterLabels are the audit log filter's field labels, as its messages name them.
var filterLabels = map[string]string{"actor": "By", "target": "To"}

// ListEvents is the audit log: who did what to whom, when and from
// where, filtered by actor, target (username or id), action and dates.
func (h *Handler) ListEvents(c *fiber.Ctx) error {
	ctx := c.UserContext()
	errs := map[string]string{}
	f := models.EventFilter{Page: queryInt(c, "page", 1), Limit: models.DefaultLimit}
	q := url.Values{}
	form := fiber.Map{}
	for _, p := range []struct {
		name string
		id   *int64
	}{{"actor", &f.ActorID}, {"target", &f.TargetID}} {
		v := strings.TrimSpace(c.Query(p.name))
		form[p.name] = v
		if v == "" {
			continue
		}
		q.Set(p.name, v)
		id, err := h.accountID(c, v)
		if errors.Is(err, models.ErrNotFound) {
			errs[p.name] = "No account is called “" + v + "”, so no event matches “" + filterLabels[p.name] + "”. Give a username or an id."
			id = -1 // matches nothing
		} else if err != nil {
			return err
		}
		*p.id = id
	}
	action := strings.TrimSpace(c.Query("action"))
	if action != "" {
		if models.KnownEventAction(action) {
			f.Action = action
			q.Set("action", action)
		} else {
			errs["action"] = "Unknown action " + strconv.Quote(action) + ": the list below shows every action. Pick one from the list."
			action = ""
		}
	}
	form["action"] = action
	since, err := parseDay(c.Query("since"))
	if err != nil {
		errs["since"] = "“From” takes a date like 2026-01-31: the list below ignores it."
	} else if !since.IsZero() {
		f.Since = since
		q.Set("since", dayText(since))
	}
	until, err := parseDay(c.Query("until"))
	if err != nil {
		errs["until"] = "“Until” takes a date like 2026-01-31: the list below ignores it."
	} else if !until.IsZero() {
		f.Until = until.AddDate(0, 0, 1) // the form's date is inclusive
		q.Set("until", dayText(until))
	}
	form["since"], form["until"] = dayText(f.Since), dayText(until)

	res, err := h.Users.ConsoleEvents(ctx, f)
	if err != nil {
		return err
	}
	if res.Total > 0 && f.Page > res.TotalPages() {
		f.Page = res.TotalPages()
		if res, err = h.Users.ConsoleEvents(ctx, f); err != nil {
			return err
		}
	}
	rows, err := h.eventRowsHTML(res.Items)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if len(errs) > 0 {
		status = fiber.StatusUnprocessableEntity
	}
	errList := errorList(errs)
	key := listKey(Me(c), rows, q.Encode(), pageKey(res), strings.Join(errList, "\x00"), fmt.Sprint(form))
	return h.render(c, tplAdminEvents, Page{Title: "Audit log", Status: status, ListKey: key, Data: fiber.Map{
		"Section":   "events",
		"Result":    res,
		"RowsHTML":  rows,
		"Window":    windowNote(res, "/admin/events", q, ""),
		"Form":      form,
		"Query":     q,
		"Actions":   models.EventActions,
		"Errors":    errs,
		"ErrorList": errList,
	}})
}

// accountID reads an account given as an id or a username (usernames are
// never all digits, so a number is an id).
func (h *Handler) accountID(c *fiber.Ctx, v string) (int64, error) {
	if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
		if _, err := h.Users.Get(c.UserContext(), id); err != nil {
			return 0, err
		}
		return id, nil
	}
	u, err := h.Users.GetByUsername(c.UserContext(), v)
	if err != nil {
		return 0, err
	}
	return u.ID, nil
}
