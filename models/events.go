package models

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// EventFilter selects audit-log lines.
type EventFilter struct {
	ActorID  int64
	TargetID int64
	Action   string // exact, or a prefix ending in "." such as "user."
	Since    time.Time
	Until    time.Time // exclusive
	Page     int
	Limit    int

	// actions is what a prefix Action stands for (resolveActions): the
	// actions of event_counts it starts, listed so that an index on
	// (action, created_at, id) can find them (LIKE can't use it on
	// PostgreSQL under a non-C collation). walk says SQLite should walk
	// the log's time order rather than read them all (they are many).
	actions  []string
	matching int // events of those actions (event_counts)
	resolved bool
	walk     bool
}

// Events lists audit-log lines, newest first, with actor and target
// embedded. Filtered by action alone (or not at all), the total comes from
// event_counts, kept by the database, and the page is read from the nearer
// end of the log; other filters count up to shortSearchIDs and say "at
// least" beyond (Page.AtLeast). Pages beyond the browse window are not
// read (Page.Beyond, see BrowseWindow).
func (s *Service) Events(ctx context.Context, f EventFilter) (Page[Event], error) {
	f.normalize()
	items := []Event{}
	if err := s.resolveActions(ctx, &f); err != nil {
		return Page[Event]{}, err
	}
	total, atLeast, exact, err := s.countEvents(ctx, f)
	if err != nil {
		return Page[Event]{}, err
	}
	offset, limit, desc := (f.Page-1)*f.Limit, f.Limit, true
	if exact && offset >= total {
		return Page[Event]{Items: items, Total: total, Page: f.Page, Limit: f.Limit}, nil
	}
	if beyondWindow(offset, total, exact) {
		// The middle of 800,000 events: a walk of 400,000 index entries.
		// The log is read from its newest and oldest BrowseWindow events;
		// a date range or an action narrows it.
		return beyond[Event](total, atLeast, f.Page, f.Limit), nil
	}
	if exact && offset > total/2 {
		desc = false
		end := total - offset
		limit = min(f.Limit, end)
		offset = end - limit
	}
	order := "e.created_at DESC, e.id DESC"
	if !desc {
		order = "e.created_at ASC, e.id ASC"
	}
	q := s.db.NewSelect().Model(&items).Relation("Actor").Relation("Target")
	// A short last page: see pageQuery. Several actions (a prefix) are
	// read from the action index and sorted: the ids first, or SQLite
	// joins every match's actor and target before it sorts (350 ms).
	if offset < deferAfter && limit == f.Limit && !f.resolved {
		s.filterEvents(q, f)
		q.OrderExpr(order).Limit(int64(limit)).Offset(int64(offset))
	} else {
		ids := s.db.NewSelect().Model((*Event)(nil)).Column("e.id")
		s.filterEvents(ids, f)
		ids.OrderExpr(order).Limit(int64(limit)).Offset(int64(offset))
		q.Where("e.id IN (?)", ids).OrderExpr(order)
	}
	if err := q.Scan(ctx); err != nil {
		return Page[Event]{}, err
	}
	if !desc {
		slices.Reverse(items)
	}
	if len(items) > 0 {
		total = max(total, (f.Page-1)*f.Limit+len(items))
	}
	return Page[Event]{Items: items, Total: total, AtLeast: atLeast, Page: f.Page, Limit: f.Limit}, nil
}

// countEvents counts the events f selects: exactly from event_counts when
// f filters by action alone, else up to shortSearchIDs (atLeast beyond).
func (s *Service) countEvents(ctx context.Context, f EventFilter) (n int, atLeast, exact bool, err error) {
	if f.ActorID == 0 && f.TargetID == 0 && f.Since.IsZero() && f.Until.IsZero() {
		if f.resolved { // a prefix: resolveActions has just read event_counts
			return f.matching, false, true, nil
		}
		q := s.db.NewSelect().TableExpr("event_counts").ColumnExpr("coalesce(sum(n), 0)")
		if a := strings.TrimSpace(f.Action); a != "" {
			q.Where("action = ?", a)
		}
		err = q.Scan(ctx, &n)
		return n, false, true, err
	}
	sub := s.db.NewSelect().Model((*Event)(nil)).Column("e.id")
	s.filterEvents(sub, f)
	err = s.db.NewSelect().TableExpr("(?) AS m", sub.Limit(int64(shortSearchIDs+1))).ColumnExpr("count(*)").Scan(ctx, &n)
	if n > shortSearchIDs {
		return shortSearchIDs, true, false, err
	}
	return n, false, true, err
}

// resolveActions lists the actions a prefix filter ("user.") stands for,
// from event_counts. Read through the index on (action, created_at, id),
// page 100 of "user." (30,000 of 800,000 events) reads 30,000 index
// entries and sorts them, where PostgreSQL walked the log's time order
// and read 135,000 events to check their action (418 ms). When the
// actions make up more than a tenth of the log, SQLite (which plans from
// rough statistics) is told to walk the time order instead (f.walk).
func (s *Service) resolveActions(ctx context.Context, f *EventFilter) error {
	a := strings.TrimSpace(f.Action)
	if !strings.HasSuffix(a, ".") || f.resolved {
		return nil
	}
	var rows []struct {
		Action string
		N      int64
	}
	if err := s.db.NewSelect().TableExpr("event_counts").Column("action", "n").Scan(ctx, &rows); err != nil {
		return err
	}
	var all int64
	f.actions, f.matching = []string{}, 0
	for _, r := range rows {
		all += r.N
		if strings.HasPrefix(r.Action, a) && r.N > 0 {
			f.actions = append(f.actions, r.Action)
			f.matching += int(r.N)
		}
	}
	f.resolved = true
	f.walk = !IsPostgres(s.db) && int64(f.matching)*10 > all
	return nil
}

// normalize clamps the paging into range.
func (f *EventFilter) normalize() {
	if f.Limit <= 0 {
		f.Limit = DefaultLimit
	}
	f.Limit = min(f.Limit, MaxLimit)
	f.Page = min(max(f.Page, 1), MaxPage)
}

// filterEvents adds f's conditions to q (events aliased e). Events are
// listed newest first by time, then by id: events written by several
// servers, or back-dated by the demo seeder, need not be in id order.
func (s *Service) filterEvents(q *bun.SelectQuery, f EventFilter) {
	if f.ActorID != 0 {
		q.Where("e.actor_id = ?", f.ActorID)
	}
	if f.TargetID != 0 {
		q.Where("e.target_id = ?", f.TargetID)
	}
	if a := strings.TrimSpace(f.Action); a != "" {
		switch {
		case f.resolved && len(f.actions) == 0:
			q.Where("1 = 0")
		case f.resolved && f.walk:
			q.Where("+e.action IN (?)", bun.In(f.actions))
		case f.resolved:
			q.Where("e.action IN (?)", bun.In(f.actions))
		default:
			q.Where("e.action = ?", a)
		}
	}
	if !f.Since.IsZero() {
		q.Where("e.created_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q.Where("e.created_at < ?", f.Until.UTC())
	}
}

// EventActions lists the actions the audit log can be filtered by.
var EventActions = []string{
	EvSignup, EvLogin, EvLoginFailed, EvLoginLocked, EvLogout, EvCreate, EvUpdate,
	EvBan, EvUnban, EvDelete, EvRestore, EvPurge, EvPassword, EvPasswordChange,
	EvSessionsRevoke, EvSessionRevoke, EvConfirm, EvProfile, EvMFAEnable, EvMFADisable, EvMFAReset,
	EvRecoveryUsed, EvRecoveryNew, EvPasskeyAdd, EvPasskeyRemove,
}

// Record writes an event for callers outside the service's own actions
// (mail flows, rate limits). Failures are logged and returned.
func (s *Service) Record(ctx context.Context, by Actor, action string, target *int64, detail string) error {
	return s.record(ctx, s.db, by, action, target, detail)
}
