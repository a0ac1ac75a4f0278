package models

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Visit is one page view, for presence.
type Visit struct {
	VisitorID string // "u:<id>" for members, "g:<cookie>" for guests
	UserID    *int64
	Page      string
	Meta
}

// GuestVisitor and MemberVisitor build visitor ids.
func GuestVisitor(cookie string) string { return "g:" + clip(cookie, 64) }

// MemberVisitor is the visitor id of a signed-in account.
func MemberVisitor(id int64) string { return "u:" + itoa(id) }

// throttle remembers when each visitor was last written, so presence costs
// at most one write per visitor per PresenceEvery.
type throttle struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// due reports whether visitor should be written now, and marks it written.
func (t *throttle) due(visitor string, now time.Time, every time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.last[visitor]; ok && now.Sub(last) < every {
		return false
	}
	if len(t.last) >= 200000 {
		for k, v := range t.last {
			if now.Sub(v) >= every {
				delete(t.last, k)
			}
		}
	}
	t.last[visitor] = now
	return true
}

func (t *throttle) forget(visitor string) {
	t.mu.Lock()
	delete(t.last, visitor)
	t.mu.Unlock()
}

// Touch marks a visitor online on a page. Most calls return without
// touching the database: a visitor is written at most once per minute.
func (s *Service) Touch(ctx context.Context, v Visit) error {
	if v.VisitorID == "" || !s.presence.due(v.VisitorID, s.opts.Now(), s.opts.PresenceEvery) {
		return nil
	}
	now := s.now()
	p := &Presence{
		VisitorID:  v.VisitorID,
		UserID:     v.UserID,
		Page:       clip(v.Page, 500),
		IP:         clip(v.IP, 64),
		UserAgent:  clip(v.UserAgent, 500),
		LastSeenAt: now,
	}
	_, err := s.db.NewInsert().Model(p).
		On("CONFLICT (visitor_id) DO UPDATE").
		Set("user_id = EXCLUDED.user_id").
		Set("page = EXCLUDED.page").
		Set("ip = EXCLUDED.ip").
		Set("user_agent = EXCLUDED.user_agent").
		Set("last_seen_at = EXCLUDED.last_seen_at").
		Exec(ctx)
	if err == nil && v.UserID != nil {
		// Applied to the account cache's copy rather than emptying it:
		// every member does this once a minute.
		_, err = s.db.NewUpdate().Model((*User)(nil)).Where("id = ?", *v.UserID).
			Set("last_seen_at = ?", now).Exec(context.WithValue(ctx, presenceWrite{}, true))
		if err == nil {
			s.accounts.seen(*v.UserID, now)
		}
	}
	if err != nil {
		s.presence.forget(v.VisitorID) // try again on the next request
	}
	return err
}

// ForgetVisitor drops a visitor from presence (sign-out).
func (s *Service) ForgetVisitor(ctx context.Context, visitor string) error {
	s.presence.forget(visitor)
	_, err := s.db.NewDelete().Model((*Presence)(nil)).Where("visitor_id = ?", visitor).Exec(ctx)
	return err
}

// OnlineFilter selects online visitors (the REST seed's id, pageid, page, limit).
type OnlineFilter struct {
	UserID int64  // only this account
	PageID string // only visitors on this page (path)
	Kind   string // "", "members" or "guests"
	Page   int
	Limit  int
}

// Online lists the visitors seen within the online window, newest first,
// members with their account embedded.
func (s *Service) Online(ctx context.Context, f OnlineFilter) (Page[Presence], error) {
	if f.Limit <= 0 {
		f.Limit = DefaultLimit
	}
	f.Limit = min(f.Limit, MaxLimit)
	f.Page = min(max(f.Page, 1), MaxPage)
	items := []Presence{}
	q := s.db.NewSelect().Model(&items).Relation("User").
		Where("p.last_seen_at >= ?", s.now().Add(-s.opts.OnlineWindow))
	if f.UserID != 0 {
		q.Where("p.user_id = ?", f.UserID)
	}
	if f.PageID != "" {
		q.Where("p.page = ?", f.PageID)
	}
	switch strings.ToLower(f.Kind) {
	case "members":
		q.Where("p.user_id IS NOT NULL")
	case "guests":
		q.Where("p.user_id IS NULL")
	}
	q.OrderExpr("p.last_seen_at DESC, p.visitor_id").Limit(int64(f.Limit)).Offset(int64((f.Page - 1) * f.Limit))
	total, err := q.ScanAndCount(ctx)
	if err != nil {
		return Page[Presence]{}, err
	}
	return Page[Presence]{Items: items, Total: int(total), Page: f.Page, Limit: f.Limit}, nil
}

// OnlineCounts counts members and guests online now.
func (s *Service) OnlineCounts(ctx context.Context) (members, guests int, err error) {
	var row struct {
		Members int
		Guests  int
	}
	err = s.db.NewSelect().Model((*Presence)(nil)).
		ColumnExpr("COALESCE(SUM(CASE WHEN p.user_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS members").
		ColumnExpr("COALESCE(SUM(CASE WHEN p.user_id IS NULL THEN 1 ELSE 0 END), 0) AS guests").
		Where("p.last_seen_at >= ?", s.now().Add(-s.opts.OnlineWindow)).
		Scan(ctx, &row)
	return row.Members, row.Guests, err
}

// IsOnline reports whether the account was seen within the online window.
func (s *Service) IsOnline(u *User) bool { return u.IsOnline(s.opts.Now(), s.opts.OnlineWindow) }

// PrunePresence deletes presence rows older than a day, to keep the table small.
func (s *Service) PrunePresence(ctx context.Context) (int64, error) {
	res, err := s.db.NewDelete().Model((*Presence)(nil)).
		Where("last_seen_at < ?", s.now().Add(-24*time.Hour)).Exec(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
