package models

import (
	"context"
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
}

// Events lists audit-log lines, newest first, with actor and target embedded.
func (s *Service) Events(ctx context.Context, f EventFilter) (Page[Event], error) {
	f.normalize()
	items := []Event{}
	total, err := s.eventsQuery(&items, f).ScanAndCount(ctx)
	if err != nil {
		return Page[Event]{}, err
	}
	return Page[Event]{Items: items, Total: int(total), Page: f.Page, Limit: f.Limit}, nil
}

// normalize clamps the paging into range.
func (f *EventFilter) normalize() {
	if f.Limit <= 0 {
		f.Limit = DefaultLimit
	}
	f.Limit = min(f.Limit, MaxLimit)
	f.Page = min(max(f.Page, 1), MaxPage)
}

// eventsQuery selects the page of events f asks for, newest first (by time,
// then by id: events written by several servers, or back-dated by the demo
// seeder, need not be in id order), into items.
func (s *Service) eventsQuery(items *[]Event, f EventFilter) *bun.SelectQuery {
	q := s.db.NewSelect().Model(items).Relation("Actor").Relation("Target")
	if f.ActorID != 0 {
		q.Where("e.actor_id = ?", f.ActorID)
	}
	if f.TargetID != 0 {
		q.Where("e.target_id = ?", f.TargetID)
	}
	if a := strings.TrimSpace(f.Action); a != "" {
		if strings.HasSuffix(a, ".") {
			q.Where("e.action LIKE ? ESCAPE '\\'", escapeLike(a)+"%")
		} else {
			q.Where("e.action = ?", a)
		}
	}
	if !f.Since.IsZero() {
		q.Where("e.created_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q.Where("e.created_at < ?", f.Until.UTC())
	}
	return q.OrderExpr("e.created_at DESC, e.id DESC").Limit(int64(f.Limit)).Offset(int64((f.Page - 1) * f.Limit))
}

// EventActions lists the actions the audit log can be filtered by.
var EventActions = []string{
	EvSignup, EvLogin, EvLoginFailed, EvLoginLocked, EvLogout, EvCreate, EvUpdate,
	EvBan, EvUnban, EvDelete, EvRestore, EvPurge, EvPassword, EvPasswordChange,
	EvSessionsRevoke, EvSessionRevoke, EvConfirm, EvProfile, EvMFAEnable, EvMFADisable, EvMFAReset,
	EvRecoveryUsed, EvPasskeyAdd, EvPasskeyRemove,
}

// Record writes an event for callers outside the service's own actions
// (mail flows, rate limits). Failures are logged and returned.
func (s *Service) Record(ctx context.Context, by Actor, action string, target *int64, detail string) error {
	return s.record(ctx, s.db, by, action, target, detail)
}
