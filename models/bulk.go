package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Bulk actions: one action on every account a filter of the user list
// selects. A dry run (PreviewBulk) counts the accounts it would change, and
// those it would skip and why; the run (StartBulk) stores a job in the
// database that a worker (RunBulkJobs, on any instance) carries out in
// short batches, one transaction each, so that other requests never wait
// long, and that any instance can show or cancel. Both decide which
// accounts to change with one SQL expression (bulkSkipExpr), so the dry
// run's count is the run's count when nothing changes in between.

// BulkAction names an action of the bulk form and API.
type BulkAction string

// The bulk actions.
const (
	BulkBan                BulkAction = "ban"
	BulkUnban              BulkAction = "unban"
	BulkDelete             BulkAction = "delete"
	BulkRestore            BulkAction = "restore"
	BulkRevokeSessions     BulkAction = "revoke_sessions"
	BulkResendConfirmation BulkAction = "resend_confirmation"
	BulkSetLevel           BulkAction = "set_level"
)

// BulkActions lists the bulk actions in the order forms offer them.
var BulkActions = []BulkAction{BulkBan, BulkUnban, BulkDelete, BulkRestore, BulkRevokeSessions, BulkResendConfirmation, BulkSetLevel}

// Label is the action in words, for pages.
func (a BulkAction) Label() string {
	switch a {
	case BulkBan:
		return "Ban"
	case BulkUnban:
		return "Unban"
	case BulkDelete:
		return "Delete"
	case BulkRestore:
		return "Restore"
	case BulkRevokeSessions:
		return "Sign out everywhere"
	case BulkResendConfirmation:
		return "Resend the confirmation e-mail"
	case BulkSetLevel:
		return "Set the level"
	}
	return string(a)
}

// Why an account is skipped; SkipReasons has them in words.
const (
	SkipSelf             = "self"
	SkipLevel            = "level"
	SkipLastSuperadmin   = "last_superadmin"
	SkipAlreadyBanned    = "already_banned"
	SkipDeleted          = "deleted"
	SkipNotBanned        = "not_banned"
	SkipAlreadyDeleted   = "already_deleted"
	SkipNotDeleted       = "not_deleted"
	SkipBannedOrDeleted  = "banned_or_deleted"
	SkipNoEmail          = "no_email"
	SkipAlreadyConfirmed = "already_confirmed"
	SkipMailLimited      = "mail_limited"
	SkipSameLevel        = "same_level"
)

// SkipReasons says each skip reason in words.
var SkipReasons = map[string]string{
	SkipSelf:             "your own account",
	SkipLevel:            "level at or above yours",
	SkipLastSuperadmin:   "the last active superadmins",
	SkipAlreadyBanned:    "already banned",
	SkipDeleted:          "deleted",
	SkipNotBanned:        "not banned",
	SkipAlreadyDeleted:   "already deleted",
	SkipNotDeleted:       "not deleted",
	SkipBannedOrDeleted:  "banned or deleted",
	SkipNoEmail:          "no e-mail address",
	SkipAlreadyConfirmed: "e-mail address already confirmed",
	SkipMailLimited:      fmt.Sprintf("already sent %d such messages in the last hour", MailPerAccountPerHour),
	SkipSameLevel:        "already at that level",
}

// EvBulk is the event of a bulk job as a whole (each account it changes
// gets its own event too).
const EvBulk = "user.bulk"

func init() { EventActions = append(EventActions, EvBulk) }

// bulkSkip is a state in which an action leaves an account alone.
type bulkSkip struct {
	code string
	cond string // SQL on alias u
	args []any
}

// bulkDef is what an action checks and changes.
type bulkDef struct {
	act         Action
	event       string
	endSessions bool
	newType     int // the type it sets, 0 when unchanged
	skips       func(job *BulkJob, now time.Time) []bulkSkip
	set         func(q *bun.UpdateQuery, job *BulkJob)
	touches     bool // it changes the users table (all but resend)
}

var bulkDefs = map[BulkAction]bulkDef{
	BulkBan: {act: ActBan, event: EvBan, endSessions: true, newType: TypeBanned, touches: true,
		skips: func(*BulkJob, time.Time) []bulkSkip {
			return []bulkSkip{{SkipAlreadyBanned, "u.type = ?", []any{TypeBanned}}, {SkipDeleted, "u.type = ?", []any{TypeDeleted}}}
		},
		set: func(q *bun.UpdateQuery, j *BulkJob) { q.Set("type = ?", TypeBanned).Set("ban_reason = ?", j.Reason) }},
	BulkUnban: {act: ActUnban, event: EvUnban, newType: TypeActive, touches: true,
		skips: func(*BulkJob, time.Time) []bulkSkip {
			return []bulkSkip{{SkipNotBanned, "u.type <> ?", []any{TypeBanned}}}
		},
		set: func(q *bun.UpdateQuery, _ *BulkJob) { q.Set("type = ?", TypeActive).Set("ban_reason = ''") }},
	BulkDelete: {act: ActDelete, event: EvDelete, endSessions: true, newType: TypeDeleted, touches: true,
		skips: func(*BulkJob, time.Time) []bulkSkip {
			return []bulkSkip{{SkipAlreadyDeleted, "u.type = ?", []any{TypeDeleted}}}
		},
		set: func(q *bun.UpdateQuery, _ *BulkJob) { q.Set("type = ?", TypeDeleted) }},
	BulkRestore: {act: ActRestore, event: EvRestore, newType: TypeActive, touches: true,
		skips: func(*BulkJob, time.Time) []bulkSkip {
			return []bulkSkip{{SkipNotDeleted, "u.type <> ?", []any{TypeDeleted}}}
		},
		set: func(q *bun.UpdateQuery, _ *BulkJob) { q.Set("type = ?", TypeActive) }},
	BulkRevokeSessions: {act: ActRevokeSessions, event: EvSessionsRevoke, endSessions: true, touches: true,
		skips: func(*BulkJob, time.Time) []bulkSkip { return nil },
		set:   func(*bun.UpdateQuery, *BulkJob) {}},
	// The same rules as the account page's "resend confirmation"
	// (handlers.adminMail), the hourly limit per account included.
	BulkResendConfirmation: {act: ActConfirm, event: EvMailResendConfirm,
		skips: func(_ *BulkJob, now time.Time) []bulkSkip {
			return []bulkSkip{
				{SkipBannedOrDeleted, "u.type IN (?, ?)", []any{TypeBanned, TypeDeleted}},
				{SkipNoEmail, "u.email IS NULL", nil},
				{SkipAlreadyConfirmed, "u.type <> ? AND u.email_verified_at IS NOT NULL", []any{TypeInactive}},
				{SkipMailLimited, "(SELECT count(*) FROM outbox o WHERE o.user_id = u.id AND o.kind = ? AND o.created_at > ?) >= ?",
					[]any{MailConfirm, now.Add(-time.Hour), MailPerAccountPerHour}},
			}
		}},
	BulkSetLevel: {act: ActEdit, event: EvUpdate, touches: true,
		skips: func(j *BulkJob, _ time.Time) []bulkSkip {
			return []bulkSkip{{SkipSameLevel, "u.level = ?", []any{derefInt(j.Level)}}}
		},
		set: func(q *bun.UpdateQuery, j *BulkJob) { q.Set("level = ?", derefInt(j.Level)) }},
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// BulkRequest is a bulk action asked for.
type BulkRequest struct {
	Filter Filter // Sort, Page and Limit don't matter
	Action BulkAction
	Reason string // ban: shown to the account at sign-in
	Level  *int   // set_level: the new level
}

// BulkPreview is a dry run's answer.
type BulkPreview struct {
	Action   BulkAction
	Matched  int            // accounts the filter selects
	Eligible int            // accounts the action would change
	Skipped  map[string]int // the others, by reason (SkipReasons)
	Sample   []User         // the first few it would change, by id
}

// SkippedTotal is how many accounts would be left alone.
func (p *BulkPreview) SkippedTotal() int { return p.Matched - p.Eligible }

// BulkSampleSize is how many accounts a dry run shows.
const BulkSampleSize = 10

// Job states.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobDone      = "done"
	JobCancelled = "cancelled"
	JobFailed    = "failed"
)

// BulkJob is a bulk action under way or finished.
type BulkJob struct {
	bun.BaseModel `bun:"table:bulk_jobs,alias:j"`

	ID              int64          `bun:"id,pk,autoincrement"`
	ActorID         *int64         `bun:"actor_id"`
	Action          BulkAction     `bun:"action"`
	FilterJSON      string         `bun:"filter"`
	Reason          string         `bun:"reason"`
	Level           *int           `bun:"level"`
	BySystem        bool           `bun:"by_system"` // the command line, not an account
	KeepSuperadmins bool           `bun:"keep_superadmins"`
	Status          string         `bun:"status"`
	Matched         int            `bun:"matched"`
	Total           int            `bun:"total"` // accounts it will change, counted when it started
	Done            int            `bun:"done"`
	Skipped         map[string]int `bun:"skipped,type:text"`
	MaxID           int64          `bun:"max_id"`    // the newest account when it started
	ChosenID        int64          `bun:"chosen_id"` // accounts up to this id are chosen (bulk_job_items)
	CursorID        int64          `bun:"cursor_id"`
	CancelRequested bool           `bun:"cancel_requested"`
	LeaseUntil      *time.Time     `bun:"lease_until"`
	Error           string         `bun:"error"`
	IP              string         `bun:"ip"`
	UserAgent       string         `bun:"user_agent"`
	Via             string         `bun:"via"`
	CreatedAt       time.Time      `bun:"created_at"`
	UpdatedAt       time.Time      `bun:"updated_at"`
	FinishedAt      *time.Time     `bun:"finished_at"`

	Actor *User `bun:"rel:belongs-to,join:actor_id=id"`
}

// Filter is the filter the job acts on.
func (j *BulkJob) Filter() Filter {
	var f Filter
	_ = json.Unmarshal([]byte(j.FilterJSON), &f)
	return f
}

// Finished reports whether the job has stopped for good.
func (j *BulkJob) Finished() bool {
	return j.Status == JobDone || j.Status == JobCancelled || j.Status == JobFailed
}

// Percent is how far the job got, 0 to 100.
func (j *BulkJob) Percent() int {
	if j.Total <= 0 {
		if j.Finished() {
			return 100
		}
		return 0
	}
	return min(100, j.Done*100/j.Total)
}

// SkippedTotal is how many matched accounts the job leaves alone.
func (j *BulkJob) SkippedTotal() int {
	n := 0
	for _, v := range j.Skipped {
		n += v
	}
	return n
}

// bulkRunner wakes the worker of this process when a job is started here.
type bulkRunner struct {
	wake chan struct{}
	// confirm queues a confirmation e-mail (the mailer, wired by app).
	confirm func(userID int64, by Actor)
}

// OnBulkConfirmation sets how a bulk "resend confirmation" queues each
// e-mail (app wires the mailer); without it that action is refused.
func (s *Service) OnBulkConfirmation(send func(userID int64, by Actor)) { s.bulk.confirm = send }

// checkBulk checks the request and the actor's right to take the action
// at all; which accounts it may take it on is bulkSkipExpr's part.
func (s *Service) checkBulk(by Actor, r *BulkRequest) (bulkDef, error) {
	def, ok := bulkDefs[r.Action]
	if !ok {
		names := make([]string, len(BulkActions))
		for i, a := range BulkActions {
			names[i] = string(a)
		}
		return def, fieldError("action", "Choose one of "+strings.Join(names, ", ")+".")
	}
	if err := Authorize(by.User, def.act, nil); err != nil {
		return def, err
	}
	r.Filter.Sort, r.Filter.Page, r.Filter.Limit = "", 0, 0
	if err := r.Filter.Normalize(DefaultLimit); err != nil {
		return def, err
	}
	r.Filter.Sort, r.Filter.Page, r.Filter.Limit = "", 0, 0
	if by.User != nil && !by.User.IsAdmin() {
		r.Filter.NoEmailSearch = true // a match would reveal addresses
	}
	r.Reason = clip(normalize(r.Reason), 500)
	if r.Action != BulkBan {
		r.Reason = ""
	}
	if r.Action == BulkSetLevel {
		switch {
		case r.Level == nil:
			return def, fieldError("level", "Choose the new level.")
		case *r.Level < 0 || *r.Level > MaxLevel:
			return def, fieldError("level", "Level is 0 to 10.")
		case !CanGrant(by.User, *r.Level):
			return def, fieldError("level", fmt.Sprintf("You can grant at most level %d.", by.User.Level-1))
		}
	} else {
		r.Level = nil
	}
	if r.Action == BulkResendConfirmation && s.bulk.confirm == nil {
		return def, fieldError("action", "This server doesn't send e-mail from bulk actions.")
	}
	return def, nil
}

// bulkSkipExpr is the SQL expression that names why an account is left
// alone (” when the action applies to it): the rules of Authorize (never
// yourself, only levels below yours) and of the action's states. The dry
// run groups by it and the run keeps the rows where it is ”.
func bulkSkipExpr(by Actor, def bulkDef, j *BulkJob, now time.Time) (string, []any) {
	var b strings.Builder
	var args []any
	b.WriteString("CASE")
	if by.User != nil {
		b.WriteString(" WHEN u.id = ? THEN ?")
		args = append(args, by.User.ID, SkipSelf)
		b.WriteString(" WHEN u.level >= ? THEN ?")
		args = append(args, by.User.Level, SkipLevel)
	}
	if j.KeepSuperadmins {
		b.WriteString(" WHEN u.level = ? AND u.type = ? THEN ?")
		args = append(args, LevelSuperadmin, TypeActive, SkipLastSuperadmin)
	}
	for _, sk := range def.skips(j, now) {
		b.WriteString(" WHEN " + sk.cond + " THEN ?")
		args = append(append(args, sk.args...), sk.code)
	}
	b.WriteString(" ELSE '' END")
	return b.String(), args
}

// keepSuperadmins reports whether the action would leave no active
// superadmin: only the system (command line) acts on superadmins at all,
// since nobody acts on a level at or above their own.
func (s *Service) keepSuperadmins(ctx context.Context, by Actor, r BulkRequest) (bool, error) {
	if by.User != nil {
		return false, nil
	}
	switch r.Action {
	case BulkBan, BulkDelete:
	case BulkSetLevel:
		if derefInt(r.Level) == LevelSuperadmin {
			return false, nil
		}
	default:
		return false, nil
	}
	all, err := s.db.NewSelect().Model((*User)(nil)).Where("level = ? AND type = ?", LevelSuperadmin, TypeActive).Count(ctx)
	if err != nil || all == 0 {
		return false, err
	}
	q := s.db.NewSelect().Model((*User)(nil)).Where("u.level = ? AND u.type = ?", LevelSuperadmin, TypeActive)
	s.applyFilter(q, r.Filter)
	in, err := q.Count(ctx)
	return in >= all, err
}

// count runs the dry run's counts for job (up to job.MaxID when set).
func (s *Service) bulkCounts(ctx context.Context, by Actor, def bulkDef, j *BulkJob, f Filter) (matched, eligible int, skipped map[string]int, err error) {
	expr, args := bulkSkipExpr(by, def, j, s.now())
	var rows []struct {
		Reason string `bun:"reason"`
		N      int    `bun:"n"`
	}
	q := s.db.NewSelect().Model((*User)(nil)).ColumnExpr(expr+" AS reason", args...).ColumnExpr("count(*) AS n")
	s.applyFilter(q, f)
	if j.MaxID > 0 {
		q.Where("u.id <= ?", j.MaxID)
	}
	if err := q.GroupExpr("reason").Scan(ctx, &rows); err != nil {
		return 0, 0, nil, err
	}
	skipped = map[string]int{}
	for _, r := range rows {
		matched += r.N
		if r.Reason == "" {
			eligible += r.N
		} else {
			skipped[r.Reason] += r.N
		}
	}
	return matched, eligible, skipped, nil
}

// PreviewBulk is the dry run: how many accounts the action would change,
// a sample of them, and how many it would skip and why. It changes nothing.
func (s *Service) PreviewBulk(ctx context.Context, by Actor, r BulkRequest) (*BulkPreview, error) {
	def, err := s.checkBulk(by, &r)
	if err != nil {
		return nil, err
	}
	keep, err := s.keepSuperadmins(ctx, by, r)
	if err != nil {
		return nil, err
	}
	j := &BulkJob{Action: r.Action, Reason: r.Reason, Level: r.Level, KeepSuperadmins: keep}
	p := &BulkPreview{Action: r.Action, Sample: []User{}}
	if p.Matched, p.Eligible, p.Skipped, err = s.bulkCounts(ctx, by, def, j, r.Filter); err != nil {
		return nil, err
	}
	expr, args := bulkSkipExpr(by, def, j, s.now())
	q := s.db.NewSelect().Model(&p.Sample).Where("("+expr+") = ''", args...)
	s.applyFilter(q, r.Filter)
	if err := q.OrderExpr("u.id").Limit(BulkSampleSize).Scan(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// StartBulk starts the action as a job (counted as the dry run counts,
// on the accounts that exist now) and writes its event; the worker
// carries it out. A job with nothing to do is done at once.
func (s *Service) StartBulk(ctx context.Context, by Actor, r BulkRequest) (*BulkJob, error) {
	def, err := s.checkBulk(by, &r)
	if err != nil {
		return nil, err
	}
	keep, err := s.keepSuperadmins(ctx, by, r)
	if err != nil {
		return nil, err
	}
	filter, err := json.Marshal(r.Filter)
	if err != nil {
		return nil, err
	}
	now := s.now()
	j := &BulkJob{
		ActorID: by.id(), Action: r.Action, FilterJSON: string(filter), Reason: r.Reason, Level: r.Level,
		BySystem: by.User == nil, KeepSuperadmins: keep, Status: JobQueued, IP: clip(by.IP, 64), UserAgent: clip(by.UserAgent, 500),
		Via: clip(by.Via, 64), CreatedAt: now, UpdatedAt: now,
	}
	if err := s.db.NewSelect().Model((*User)(nil)).ColumnExpr("coalesce(max(u.id), 0)").Scan(ctx, &j.MaxID); err != nil {
		return nil, err
	}
	if j.Matched, j.Total, j.Skipped, err = s.bulkCounts(ctx, by, def, j, r.Filter); err != nil {
		return nil, err
	}
	// The accounts it will change are chosen by the worker (chooseBulk),
	// not here: at a million accounts that takes seconds.
	if j.Total == 0 {
		j.Status, j.FinishedAt, j.CursorID, j.ChosenID = JobDone, &now, j.MaxID, j.MaxID
	}
	err = inTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		if _, err := tx.NewInsert().Model(j).Returning("id").Exec(ctx); err != nil {
			return err
		}
		return s.record(ctx, tx, by, EvBulk, nil, j.describe())
	})
	if err != nil {
		return nil, err
	}
	s.wakeBulk()
	return j, nil
}

// chooseBulk is a job's step before its batches: it puts the accounts of
// the next range of ids that match the filter and may be changed into
// bulk_job_items, by a query the database plans for the filter, in one
// short transaction that holds the job's lease (a range a step, so that
// no statement holds the database for long). The batches then read them
// by key, however the filter's matches are spread over the table.
func (s *Service) chooseBulk(ctx context.Context, by Actor, def bulkDef, j *BulkJob, now time.Time) error {
	err := inTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		hi := min(j.ChosenID+s.opts.BulkChooseRange, j.MaxID)
		res, err := tx.NewUpdate().Model((*BulkJob)(nil)).
			Where("id = ? AND chosen_id = ? AND status IN (?) AND NOT cancel_requested", j.ID, j.ChosenID, bun.In([]string{JobQueued, JobRunning})).
			Set("status = ?", JobRunning).Set("lease_until = ?", now.Add(s.opts.BulkLease)).Set("updated_at = ?", now).
			Set("chosen_id = ?", hi).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errLeaseLost
		}
		expr, args := bulkSkipExpr(by, def, j, now)
		sel := tx.NewSelect().Model((*User)(nil)).ColumnExpr("?", j.ID).Column("u.id").
			Where("u.id > ? AND u.id <= ?", j.ChosenID, hi).Where("("+expr+") = ''", args...)
		s.applyFilter(sel, j.Filter())
		if _, err := tx.NewRaw("INSERT INTO bulk_job_items (job_id, user_id) ?", bun.Safe(sel.String())).Exec(ctx); err != nil {
			return err
		}
		j.ChosenID, j.Status = hi, JobRunning
		return nil
	})
	if err == nil {
		s.holding(j.ID, true)
	}
	return err
}

// describe is the job's event detail.
func (j *BulkJob) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "job #%d %s: %d of %d matching accounts", j.ID, j.Action, j.Total, j.Matched)
	if j.Level != nil {
		fmt.Fprintf(&b, ", level %d", *j.Level)
	}
	if j.Reason != "" {
		b.WriteString(", reason: " + j.Reason)
	}
	b.WriteString("; filter " + j.FilterJSON)
	return clip(b.String(), 2000)
}

// BulkJob returns a job as viewer may see it: their own, or any from the
// admin level up.
func (s *Service) BulkJob(ctx context.Context, viewer *User, id int64) (*BulkJob, error) {
	j := new(BulkJob)
	err := s.db.NewSelect().Model(j).Relation("Actor").Where("j.id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if !canSeeJob(viewer, j) {
		return nil, ErrNotFound
	}
	return j, nil
}

func canSeeJob(viewer *User, j *BulkJob) bool {
	if viewer == nil {
		return true
	}
	if viewer.Type != TypeActive || viewer.Level < LevelModerator {
		return false
	}
	return viewer.IsAdmin() || (j.ActorID != nil && *j.ActorID == viewer.ID)
}

// BulkJobs lists the newest jobs viewer may see.
func (s *Service) BulkJobs(ctx context.Context, viewer *User, limit int) ([]BulkJob, error) {
	items := []BulkJob{}
	q := s.db.NewSelect().Model(&items).Relation("Actor").OrderExpr("j.id DESC").Limit(int64(clampInt(limit, 1, MaxLimit)))
	if viewer != nil && !viewer.IsAdmin() {
		q.Where("j.actor_id = ?", viewer.ID)
	}
	return items, q.Scan(ctx)
}

// CancelBulk asks a job to stop: a queued job stops at once, a running
// one before its next batch (on whichever instance runs it). The batches
// already done stay done.
func (s *Service) CancelBulk(ctx context.Context, by Actor, id int64) (*BulkJob, error) {
	j, err := s.BulkJob(ctx, by.User, id)
	if err != nil {
		return nil, err
	}
	if j.Finished() {
		return j, nil
	}
	now := s.now()
	_, err = s.db.NewUpdate().Model((*BulkJob)(nil)).Where("id = ? AND status IN (?)", id, bun.In([]string{JobQueued, JobRunning})).
		Set("cancel_requested = ?", true).Set("updated_at = ?", now).Exec(ctx)
	if err != nil {
		return nil, err
	}
	// A queued job nobody holds stops here and now.
	_, err = s.db.NewUpdate().Model((*BulkJob)(nil)).
		Where("id = ? AND status = ? AND (lease_until IS NULL OR lease_until < ?)", id, JobQueued, now).
		Set("status = ?", JobCancelled).Set("finished_at = ?", now).Exec(ctx)
	if err != nil {
		return nil, err
	}
	return s.BulkJob(ctx, by.User, id)
}

func (s *Service) wakeBulk() {
	select {
	case s.bulk.wake <- struct{}{}:
	default:
	}
}

// RunBulkJobs is the bulk worker: it carries out every job no instance
// holds, and then waits for a new one (started here, or found every
// poll). It returns when ctx ends.
func (s *Service) RunBulkJobs(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, err := s.RunPendingBulk(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "bulk jobs", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.bulk.wake:
		case <-t.C:
		}
	}
}

// RunPendingBulk carries out, one after the other, the jobs that wait or
// whose instance stopped holding them, and returns how many it finished.
func (s *Service) RunPendingBulk(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		var ids []int64
		err := s.db.NewSelect().Model((*BulkJob)(nil)).Column("j.id").
			Where("j.status IN (?) AND (j.lease_until IS NULL OR j.lease_until < ?)", bun.In([]string{JobQueued, JobRunning}), s.now()).
			OrderExpr("j.id").Limit(1).Scan(ctx, &ids)
		if err != nil || len(ids) == 0 {
			return n, err
		}
		for {
			more, err := s.StepBulk(ctx, ids[0])
			if err != nil {
				return n, err
			}
			if !more {
				break
			}
		}
		n++
	}
	return n, ctx.Err()
}

// errLeaseLost stops a batch another instance got to first.
var errLeaseLost = errors.New("bulk job taken over by another instance")

// StepBulk runs the next batch of a job and reports whether more remain
// (false also when the job is finished, cancelled, or held by another
// instance). Each batch is one short transaction: it takes the job's
// lease, changes up to BulkBatch accounts, writes their events and moves
// the job's cursor, so that a crash loses nothing and repeats nothing.
func (s *Service) StepBulk(ctx context.Context, id int64) (bool, error) {
	j := new(BulkJob)
	if err := s.db.NewSelect().Model(j).Where("j.id = ?", id).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, ErrNotFound
		}
		return false, err
	}
	now := s.now()
	if j.Finished() || (j.LeaseUntil != nil && j.LeaseUntil.After(now) && j.Status == JobRunning && !s.holds(j.ID)) {
		return false, nil
	}
	if j.CancelRequested {
		return false, s.finishBulk(ctx, j, JobCancelled, "")
	}
	by := Actor{Meta: Meta{IP: j.IP, UserAgent: j.UserAgent, Via: clip(fmt.Sprintf("bulk job #%d %s", j.ID, j.Via), 64)}}
	if j.ActorID != nil {
		// The rules are those of the actor as they are now: demoted or
		// banned meanwhile, the job stops.
		u, err := s.getBy(ctx, s.db, "u.id = ?", *j.ActorID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return false, err
		}
		if u == nil {
			return false, s.finishBulk(ctx, j, JobFailed, "the account that started it is gone")
		}
		by.User = u
	} else if !j.BySystem {
		return false, s.finishBulk(ctx, j, JobFailed, "the account that started it is gone")
	}
	def := bulkDefs[j.Action]
	if err := Authorize(by.User, def.act, nil); err != nil {
		var de *DeniedError
		errors.As(err, &de)
		return false, s.finishBulk(ctx, j, JobFailed, "its author may no longer do this: "+de.Reason)
	}
	if j.Level != nil && !CanGrant(by.User, *j.Level) {
		return false, s.finishBulk(ctx, j, JobFailed, "its author may no longer grant this level")
	}

	if j.ChosenID < j.MaxID {
		if err := s.chooseBulk(ctx, by, def, j, now); err != nil {
			if errors.Is(err, errLeaseLost) {
				return false, nil
			}
			s.log.ErrorContext(ctx, "bulk job: choosing its accounts", "job", j.ID, "err", err)
			return false, err
		}
		return true, nil
	}

	type row struct {
		ID    int64 `bun:"id"`
		Level int   `bun:"level"`
		Type  int   `bun:"type"`
	}
	var rows []row
	batch := s.opts.BulkBatch
	err := inTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		// The job's row first: this takes its lease and, on PostgreSQL,
		// makes a second instance on the same job wait here and then
		// find the cursor moved.
		res, err := tx.NewUpdate().Model((*BulkJob)(nil)).
			Where("id = ? AND cursor_id = ? AND status IN (?) AND NOT cancel_requested", j.ID, j.CursorID, bun.In([]string{JobQueued, JobRunning})).
			Set("status = ?", JobRunning).Set("lease_until = ?", now.Add(s.opts.BulkLease)).Set("updated_at = ?", now).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errLeaseLost
		}
		var next []int64
		err = tx.NewSelect().Table("bulk_job_items").Column("user_id").Where("job_id = ? AND user_id > ?", j.ID, j.CursorID).
			OrderExpr("user_id").Limit(int64(batch)).Scan(ctx, &next)
		if err != nil {
			return err
		}
		cursor, status := j.MaxID, JobDone
		if len(next) == batch {
			cursor, status = next[len(next)-1], JobRunning
		}
		if len(next) > 0 {
			// The rules again, as things are now: an account banned or
			// raised meanwhile is left alone.
			expr, args := bulkSkipExpr(by, def, j, now)
			q := tx.NewSelect().Model((*User)(nil)).Column("u.id", "u.level", "u.type").
				Where("u.id IN (?)", bun.In(next)).Where("("+expr+") = ''", args...).OrderExpr("u.id")
			if IsPostgres(tx) {
				q.For("UPDATE")
			}
			if err := q.Scan(ctx, &rows); err != nil {
				return err
			}
			ids := make([]int64, len(rows))
			levels := make([]int, len(rows))
			for i, r := range rows {
				ids[i], levels[i] = r.ID, r.Level
			}
			if len(ids) > 0 {
				if err := s.bulkApplyIn(ctx, tx, by, def, j, ids, levels); err != nil {
					return err
				}
			}
			if _, err := tx.NewRaw("DELETE FROM bulk_job_items WHERE job_id = ? AND user_id <= ?", j.ID, next[len(next)-1]).Exec(ctx); err != nil {
				return err
			}
		}
		uq := tx.NewUpdate().Model((*BulkJob)(nil)).Where("id = ?", j.ID).
			Set("done = done + ?", len(rows)).Set("cursor_id = ?", cursor).Set("status = ?", status).Set("updated_at = ?", now)
		if status == JobDone {
			uq.Set("finished_at = ?", now).Set("lease_until = NULL")
		}
		j.Status = status
		_, err = uq.Exec(ctx)
		return err
	})
	if errors.Is(err, errLeaseLost) {
		return false, nil
	}
	if err != nil {
		s.log.ErrorContext(ctx, "bulk batch", "job", j.ID, "err", err)
		return false, err
	}
	s.holding(j.ID, j.Status == JobRunning)
	// The census is kept by the database; announcing the change once drops
	// what was made from it.
	s.invalidateStats()
	if j.Action == BulkResendConfirmation {
		for _, r := range rows {
			s.bulk.confirm(r.ID, by)
		}
	}
	return j.Status == JobRunning, nil
}

// bulkApplyIn changes the accounts ids (all eligible, locked) inside tx
// and writes each one's event; levels are their levels before.
func (s *Service) bulkApplyIn(ctx context.Context, tx bun.IDB, by Actor, def bulkDef, j *BulkJob, ids []int64, levels []int) error {
	now := s.now()
	if def.touches {
		q := tx.NewUpdate().Model((*User)(nil)).Where("id IN (?)", bun.In(ids)).Set("updated_at = ?", now)
		def.set(q, j)
		if def.endSessions {
			q.Set("session_version = session_version + 1")
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
	}
	if def.endSessions {
		if err := s.deleteSessions(ctx, tx, ids...); err != nil {
			return err
		}
	}
	evs := make([]Event, len(ids))
	for i := range ids {
		detail := ""
		switch j.Action {
		case BulkBan:
			detail = j.Reason
		case BulkSetLevel:
			detail = fmt.Sprintf("level %d→%d", levels[i], *j.Level)
		}
		evs[i] = Event{ActorID: by.id(), Action: def.event, TargetID: &ids[i], IP: by.IP, UserAgent: by.UserAgent,
			Via: by.Via, Detail: detail, CreatedAt: now}
	}
	_, err := tx.NewInsert().Model(&evs).Exec(ctx)
	return err
}

// finishBulk ends a job that can't go on.
func (s *Service) finishBulk(ctx context.Context, j *BulkJob, status, reason string) error {
	now := s.now()
	err := inTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		_, err := tx.NewUpdate().Model((*BulkJob)(nil)).Where("id = ? AND status IN (?)", j.ID, bun.In([]string{JobQueued, JobRunning})).
			Set("status = ?", status).Set("error = ?", reason).Set("finished_at = ?", now).
			Set("updated_at = ?", now).Set("lease_until = NULL").Exec(ctx)
		if err != nil {
			return err
		}
		_, err = tx.NewRaw("DELETE FROM bulk_job_items WHERE job_id = ?", j.ID).Exec(ctx)
		return err
	})
	s.holding(j.ID, false)
	return err
}

// holds reports whether this process holds the job's lease (it ran its
// last batch), so that it goes on without waiting for the lease to end.
func (s *Service) holds(id int64) bool {
	s.bulkMu.Lock()
	defer s.bulkMu.Unlock()
	return s.bulkHeld[id]
}

func (s *Service) holding(id int64, yes bool) {
	s.bulkMu.Lock()
	defer s.bulkMu.Unlock()
	if s.bulkHeld == nil {
		s.bulkHeld = map[int64]bool{}
	}
	if yes {
		s.bulkHeld[id] = true
	} else {
		delete(s.bulkHeld, id)
	}
}

// SkipList is a job's or a dry run's skip counts, largest first, in words.
func SkipList(skipped map[string]int) []SkipCount {
	out := make([]SkipCount, 0, len(skipped))
	for code, n := range skipped {
		if n > 0 {
			out = append(out, SkipCount{Code: code, Reason: SkipReasons[code], Count: n})
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Count != out[b].Count {
			return out[a].Count > out[b].Count
		}
		return out[a].Code < out[b].Code
	})
	return out
}

// SkipCount is how many accounts were skipped for one reason.
type SkipCount struct {
	Code   string
	Reason string
	Count  int
}

// BulkActionsFor lists the bulk actions actor may take at all (on which
// accounts is the dry run's part).
func (s *Service) BulkActionsFor(actor *User) []BulkAction {
	var out []BulkAction
	for _, a := range BulkActions {
		if Authorize(actor, bulkDefs[a].act, nil) != nil {
			continue
		}
		if a == BulkResendConfirmation && s.bulk.confirm == nil {
			continue
		}
		out = append(out, a)
	}
	return out
}
