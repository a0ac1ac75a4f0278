package handlers

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// Templates of the bulk actions.
const (
	tplAdminBulk     = "admin/bulk"
	tplAdminBulkJob  = "admin/bulk_job"
	tplAdminBulkJobs = "admin/bulk_jobs"
)

// bulkRefreshSeconds is how often a job's page reloads itself while
// someone follows it (?follow=1).
const bulkRefreshSeconds = 2

// parseBulk reads a bulk request through get (the query string of the
// dry run, or the fields of the form that starts the job): the list's
// filter, action, reason (ban) and new_level (set level).
func parseBulk(get func(key string, def ...string) string, me *models.User) (models.BulkRequest, map[string]string) {
	f, errs := consoleFilter(get, me)
	r := models.BulkRequest{Filter: f, Action: models.BulkAction(strings.TrimSpace(get("action"))), Reason: get("reason")}
	if v := strings.TrimSpace(get("new_level")); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			r.Level = &n
		} else {
			errs["new_level"] = "Choose the new level."
		}
	}
	return r, errs
}

// bulkFields are the fields that carry a bulk request from the dry run
// to the form that starts it, and back to the list.
func bulkFields(r models.BulkRequest) url.Values {
	q := filterQuery(r.Filter)
	q.Del("sort")
	q.Del("limit")
	q.Set("action", string(r.Action))
	if r.Reason != "" {
		q.Set("reason", r.Reason)
	}
	if r.Level != nil {
		q.Set("new_level", strconv.Itoa(*r.Level))
	}
	return q
}

// ShowBulk is the dry run (GET /admin/users/bulk?action=…&filter…): how
// many accounts the action would change, a sample, how many it would skip
// and why, and the button that starts it. Without an action it lists the
// recent bulk jobs.
func (h *Handler) ShowBulk(c *fiber.Ctx) error {
	me := Me(c)
	if c.Query("action") == "" {
		jobs, err := h.Users.BulkJobs(c.UserContext(), me, 50)
		if err != nil {
			return err
		}
		return h.render(c, tplAdminBulkJobs, Page{Title: "Bulk jobs", Data: fiber.Map{"Section": "users", "Jobs": jobs}})
	}
	r, errs := parseBulk(c.Query, me)
	return h.bulkPage(c, r, errs)
}

func (h *Handler) bulkPage(c *fiber.Ctx, r models.BulkRequest, errs map[string]string) error {
	me := Me(c)
	var preview *models.BulkPreview
	if len(errs) == 0 {
		var err error
		preview, err = h.Users.PreviewBulk(c.UserContext(), actor(c), r)
		if fields, ok := fieldErrors(err); ok {
			errs = fields
		} else if err != nil {
			return err
		}
	}
	back := filterQuery(r.Filter)
	data := fiber.Map{
		"Section":  "users",
		"Request":  r,
		"Filter":   describeFilter(r.Filter),
		"Fields":   bulkFields(r),
		"BackURL":  "/admin/users?" + back.Encode(),
		"Errors":   errs,
		"Messages": bulkErrorList(errs),
	}
	status := fiber.StatusOK
	if preview == nil {
		status = fiber.StatusUnprocessableEntity
	} else {
		data["Preview"] = preview
		data["Skips"] = models.SkipList(preview.Skipped)
		data["Sample"] = h.userRows(preview.Sample)
		data["ShowEmail"] = me.IsAdmin()
	}
	return h.render(c, tplAdminBulk, Page{Title: "Bulk action: " + r.Action.Label(), Status: status, Data: data})
}

// bulkErrorList is the messages of a bulk form, in a stable order.
func bulkErrorList(errs map[string]string) []string {
	out := errorList(errs)
	for _, k := range []string{"group", "action", "new_level", "reason"} {
		if m, ok := errs[k]; ok {
			out = append(out, m)
		}
	}
	return out
}

// StartBulkJob starts the action of the dry run's form as a job and
// shows its progress.
func (h *Handler) StartBulkJob(c *fiber.Ctx) error {
	me := Me(c)
	r, errs := parseBulk(c.FormValue, me)
	if len(errs) > 0 {
		return h.bulkPage(c, r, errs)
	}
	j, err := h.Users.StartBulk(c.UserContext(), actor(c), r)
	if fields, ok := fieldErrors(err); ok {
		return h.bulkPage(c, r, fields)
	}
	if err != nil {
		return err
	}
	flash(c, "success", r.Action.Label()+": the job is started for "+formatNumber(j.Total)+" accounts.")
	return redirect(c, bulkJobURL(j.ID))
}

func bulkJobURL(id int64) string { return "/admin/users/bulk/" + strconv.FormatInt(id, 10) }

// ShowBulkJob is a job's progress. With ?follow=1 (the page's "Follow
// the progress" link) the page reloads itself while the job runs, with no
// script; it doesn't unasked, because a page that reloads on its own
// moves a screen reader's or a keyboard's place (WCAG 2.2.1), and the
// page offers "Stop reloading" while it does.
func (h *Handler) ShowBulkJob(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	j, err := h.Users.BulkJob(c.UserContext(), Me(c), id)
	if err != nil {
		return err
	}
	follow := c.Query("follow") == "1" && !j.Finished()
	refresh := 0
	if follow {
		refresh = bulkRefreshSeconds
	}
	return h.render(c, tplAdminBulkJob, Page{Title: "Bulk job #" + strconv.FormatInt(j.ID, 10), Data: fiber.Map{
		"Section": "users",
		"Job":     j,
		"Filter":  describeFilter(j.Filter()),
		"Skips":   models.SkipList(j.Skipped),
		"Follow":  follow,
		"Refresh": refresh,
		"Every":   bulkRefreshSeconds,
		"URL":     bulkJobURL(j.ID),
	}})
}

// CancelBulkJob stops a job before its next batch.
func (h *Handler) CancelBulkJob(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	j, err := h.Users.CancelBulk(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	if j.Status == models.JobCancelled {
		flash(c, "success", "The job is cancelled; "+formatNumber(j.Done)+" accounts were changed before it stopped.")
	} else if !j.Finished() {
		flash(c, "success", "The job stops after the batch under way.")
	}
	return redirect(c, bulkJobURL(id))
}

// describeFilter is a filter in words, for the bulk pages.
func describeFilter(f models.Filter) string {
	var parts []string
	if f.Search != "" {
		parts = append(parts, "matching “"+f.Search+"”")
	}
	if f.Type != "" && f.Type != "all" {
		for _, t := range typeOptions {
			if t.Value == f.Type {
				parts = append(parts, "type "+strings.ToLower(t.Label))
			}
		}
	}
	if f.Role != "" {
		parts = append(parts, "role "+f.Role)
	}
	if f.Level != nil {
		parts = append(parts, "level "+strconv.Itoa(*f.Level))
	}
	if f.Group != "" {
		parts = append(parts, "group “"+f.Group+"”")
	}
	if !f.CreatedFrom.IsZero() {
		parts = append(parts, "created from "+dayText(f.CreatedFrom))
	}
	if !f.CreatedBefore.IsZero() {
		parts = append(parts, "created until "+dayText(f.CreatedBefore.AddDate(0, 0, -1)))
	}
	if len(parts) == 0 {
		return "all accounts"
	}
	return "accounts " + strings.Join(parts, ", ")
}
