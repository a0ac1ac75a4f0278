package models

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/uptrace/bun"
)

// Reads and actions of the admin console that the other pages don't need.

// Sanitize normalizes the filter like Normalize, but instead of refusing
// a word it can't honour it drops it (back to its default) and says why,
// so that a console page can still show a list beside the message.
func (f *Filter) Sanitize(defaultLimit int) map[string]string {
	err := f.Normalize(defaultLimit)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	for field := range ve.Fields {
		switch field {
		case "type":
			f.Type = "all"
		case "role":
			f.Role = ""
		case "level":
			f.Level = nil
		case "search":
			f.Search = ""
		case "sort":
			f.Sort = "created_at"
		}
	}
	return ve.Fields
}

// DeleteBecause soft-deletes an account like Delete and writes the
// reason into the event's detail.
func (s *Service) DeleteBecause(ctx context.Context, by Actor, id int64, reason string) (*User, error) {
	reason = clip(normalize(reason), 500)
	return s.apply(ctx, by, id, transition{act: ActDelete, event: EvDelete, endSessions: true,
		set: func(q *bun.UpdateQuery, _ *User) { q.Set("type = ?", TypeDeleted) },
	}, reason)
}

// LatestSignups returns the n newest accounts, without counting them all.
func (s *Service) LatestSignups(ctx context.Context, n int) ([]User, error) {
	items := []User{}
	err := s.db.NewSelect().Model(&items).
		OrderExpr("u.created_at DESC, u.id DESC").Limit(int64(clampInt(n, 1, MaxLimit))).Scan(ctx)
	return items, err
}

// LatestEvents returns the n newest events of one action (all actions
// when action is ""), with actor and target embedded, without counting.
func (s *Service) LatestEvents(ctx context.Context, action string, n int) ([]Event, error) {
	items := []Event{}
	q := s.db.NewSelect().Model(&items).Relation("Actor").Relation("Target")
	if action != "" {
		q.Where("e.action = ?", action)
	}
	err := q.OrderExpr("e.created_at DESC, e.id DESC").Limit(int64(clampInt(n, 1, MaxLimit))).Scan(ctx)
	return items, err
}

// History lists what happened to an account and what it did (events
// where it is the target or the actor), newest first, with actor and
// target embedded.
func (s *Service) History(ctx context.Context, userID int64, page, limit int) (Page[Event], error) {
	limit = clampInt(limit, 1, MaxLimit)
	page = clampInt(page, 1, MaxPage)
	items := []Event{}
	q := s.db.NewSelect().Model(&items).Relation("Actor").Relation("Target").
		Where("(e.target_id = ? OR e.actor_id = ?)", userID, userID).
		OrderExpr("e.created_at DESC, e.id DESC").Limit(int64(limit)).Offset(int64((page - 1) * limit))
	total, err := q.ScanAndCount(ctx)
	if err != nil {
		return Page[Event]{}, err
	}
	return Page[Event]{Items: items, Total: int(total), Page: page, Limit: limit}, nil
}

// LastVisit is the account's latest page view still in the presence table
// (kept for a day), with its IP and user agent; ErrNotFound when none.
func (s *Service) LastVisit(ctx context.Context, userID int64) (*Presence, error) {
	p := new(Presence)
	err := s.db.NewSelect().Model(p).Where("p.visitor_id = ?", MemberVisitor(userID)).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// KnownEventAction reports whether the audit log can be filtered by a: one
// of EventActions, or a prefix of some of them ending in "." ("user.").
func KnownEventAction(a string) bool {
	for _, known := range EventActions {
		if a == known || (strings.HasSuffix(a, ".") && strings.HasPrefix(known, a)) {
			return true
		}
	}
	return false
}

func clampInt(n, lo, hi int) int { return min(max(n, lo), hi) }
