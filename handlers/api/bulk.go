package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/webmin/webmin/models"
)

// Bulk actions (models/bulk.go) for programs: a dry run answers the
// counts and a sample; a run answers 202 and the job, which runs in
// batches and can be read and cancelled from any instance.

// BulkFilter is a bulk request's or job's filter: the user list's.
type BulkFilter struct {
	Type        string `json:"type"`
	Role        string `json:"role,omitempty"`
	Level       *int   `json:"level,omitempty"`
	Search      string `json:"search,omitempty"`
	Group       string `json:"group,omitempty"`
	CreatedFrom string `json:"created_from,omitempty"`
	CreatedTo   string `json:"created_to,omitempty"` // exclusive
}

func bulkFilterOf(f models.Filter) BulkFilter {
	out := BulkFilter{Type: f.Type, Role: f.Role, Level: f.Level, Search: f.Search, Group: f.Group}
	if out.Type == "" {
		out.Type = "all"
	}
	if !f.CreatedFrom.IsZero() {
		out.CreatedFrom = f.CreatedFrom.UTC().Format(time.RFC3339)
	}
	if !f.CreatedBefore.IsZero() {
		out.CreatedTo = f.CreatedBefore.UTC().Format(time.RFC3339)
	}
	return out
}

// BulkPreview is a dry run's answer.
type BulkPreview struct {
	Action   models.BulkAction `json:"action"`
	DryRun   bool              `json:"dry_run"`
	Matched  int               `json:"matched"`
	Eligible int               `json:"eligible"`
	Skipped  map[string]int    `json:"skipped"`
	Sample   []User            `json:"sample"`
}

// BulkJob is a bulk job as the API shows it.
type BulkJob struct {
	ID              int64             `json:"id"`
	Action          models.BulkAction `json:"action"`
	Status          string            `json:"status"`
	Filter          BulkFilter        `json:"filter"`
	Reason          string            `json:"reason,omitempty"`
	Level           *int              `json:"level,omitempty"`
	Matched         int               `json:"matched"`
	Total           int               `json:"total"`
	Done            int               `json:"done"`
	Percent         int               `json:"percent"`
	Skipped         map[string]int    `json:"skipped"`
	CancelRequested bool              `json:"cancel_requested"`
	Error           string            `json:"error,omitempty"`
	Actor           *AccountRef       `json:"actor"`
	CreatedAt       Time              `json:"created_at"`
	UpdatedAt       Time              `json:"updated_at"`
	FinishedAt      *Time             `json:"finished_at"`
}

func bulkJobOf(j *models.BulkJob) BulkJob {
	skipped := j.Skipped
	if skipped == nil {
		skipped = map[string]int{}
	}
	return BulkJob{ID: j.ID, Action: j.Action, Status: j.Status, Filter: bulkFilterOf(j.Filter()), Reason: j.Reason, Level: j.Level,
		Matched: j.Matched, Total: j.Total, Done: j.Done, Percent: j.Percent(), Skipped: skipped,
		CancelRequested: j.CancelRequested, Error: j.Error, Actor: accountRef(j.ActorID, j.Actor),
		CreatedAt: at(j.CreatedAt), UpdatedAt: at(j.UpdatedAt), FinishedAt: atOrNull(j.FinishedAt)}
}

// readBulkFilter reads the "filter" object of a bulk request (absent:
// every account) as the console and the export read theirs
// (models.FilterFields). Its wrong fields are named filter.NAME.
func readBulkFilter(b *jsonBody) models.Filter {
	v, ok := b.take("filter")
	if !ok || isNull(v) {
		return models.Filter{}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(v, &raw); err != nil {
		b.errs["filter"] = "Must be an object: type, role, level, search, group, created_from, created_to."
		return models.Filter{}
	}
	fb := &jsonBody{raw: raw, used: map[string]bool{}, errs: map[string]string{}}
	var ff models.FilterFields
	for name, dst := range map[string]*string{"type": &ff.Type, "role": &ff.Role, "search": &ff.Search, "group": &ff.Group,
		"created_from": &ff.CreatedFrom, "created_to": &ff.CreatedTo} {
		if s := fb.text(name, true); s != nil {
			*dst = *s
		}
	}
	if l := fb.small("level"); l != nil {
		ff.Level = strconv.Itoa(*l)
	}
	_ = fb.done()
	f, errs := ff.Filter()
	for k, m := range errs {
		fb.errs[k] = m
	}
	for k, m := range fb.errs {
		b.errs["filter."+k] = m
	}
	return f
}

// Bulk is POST /api/v1/users/bulk: {"filter": {…}, "action": "ban",
// "reason": "…" (ban), "level": 2 (set_level), "dry_run": true}. A dry
// run (the default, so that nothing happens by mistake) answers 200 with
// the counts and a sample; "dry_run": false starts the job and answers
// 202 with it (Location: its address).
func (h *Handler) Bulk(c *fiber.Ctx) error {
	b, err := readJSONObject(c)
	if err != nil {
		return err
	}
	r := models.BulkRequest{Filter: readBulkFilter(b), Level: b.small("level")}
	if v := b.text("action", false); v != nil {
		r.Action = models.BulkAction(*v)
	} else {
		b.errs["action"] = "Choose the action."
	}
	if v := b.text("reason", true); v != nil {
		r.Reason = *v
	}
	dryRun := true
	if v, ok := b.take("dry_run"); ok {
		if err := json.Unmarshal(v, &dryRun); err != nil {
			b.errs["dry_run"] = "Must be true or false."
		}
	}
	if err := b.done(); err != nil {
		return err
	}
	me := Me(c)
	if dryRun {
		p, err := h.Users.PreviewBulk(c.UserContext(), actor(c), r)
		if err != nil {
			return err
		}
		out := BulkPreview{Action: p.Action, DryRun: true, Matched: p.Matched, Eligible: p.Eligible, Skipped: p.Skipped,
			Sample: make([]User, len(p.Sample))}
		for i := range p.Sample {
			out.Sample[i] = h.userFor(me, &p.Sample[i])
		}
		return one(c, http.StatusOK, out)
	}
	j, err := h.Users.StartBulk(c.UserContext(), actor(c), r)
	if err != nil {
		return err
	}
	if j, err = h.Users.BulkJob(c.UserContext(), me, j.ID); err != nil {
		return err
	}
	c.Location("/api/v1/users/bulk/" + strconv.FormatInt(j.ID, 10))
	return one(c, http.StatusAccepted, bulkJobOf(j))
}

// GetBulkJob is GET /api/v1/users/bulk/:id: how far the job got (admins
// see every job, moderators their own).
func (h *Handler) GetBulkJob(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	j, err := h.Users.BulkJob(c.UserContext(), Me(c), id)
	if err != nil {
		return err
	}
	return one(c, http.StatusOK, bulkJobOf(j))
}

// CancelBulkJob is POST /api/v1/users/bulk/:id/cancel: the job stops
// before its next batch; what it did stays done.
func (h *Handler) CancelBulkJob(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	j, err := h.Users.CancelBulk(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	return one(c, http.StatusOK, bulkJobOf(j))
}
