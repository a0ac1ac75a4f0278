package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

// consoleCache keeps what the console would otherwise recompute on every
// page at a million accounts: the totals of recent searches and audit-log
// filters (a total means reading every match), the pages of recent
// searches, and the last dashboard figures. Every change made through the
// service clears the searches and their totals (invalidateStats).
type consoleCache struct {
	mu        sync.Mutex
	entries   map[string]cacheEntry
	lastStats atomic.Pointer[Stats]
}

type cacheEntry struct {
	value any // int (a total) or Page[User]
	at    time.Time
}

// maxConsoleCache bounds the cache; past it, the older half goes.
const maxConsoleCache = 1024

func (c *consoleCache) clear() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}

func (c *consoleCache) get(key string, now time.Time, ttl time.Duration) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || now.Sub(e.at) >= ttl {
		return nil, false
	}
	return e.value, true
}

func (c *consoleCache) put(key string, v any, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cacheEntry{}
	}
	if len(c.entries) >= maxConsoleCache {
		times := make([]time.Time, 0, len(c.entries))
		for _, e := range c.entries {
			times = append(times, e.at)
		}
		slices.SortFunc(times, time.Time.Compare)
		cut := times[len(times)/2]
		for k, e := range c.entries {
			if !e.at.After(cut) {
				delete(c.entries, k)
			}
		}
	}
	c.entries[key] = cacheEntry{value: v, at: at}
}

// ConsoleList is List for the console. A search (or a date range), which
// List answers by reading every match to count them, keeps its total for
// StatsTTL, and each of its pages too, so that paging, sorting back and
// forth and reloading don't search a million accounts again; any change
// made through the service clears them. Other filters go straight to
// List, whose totals come from the census.
func (s *Service) ConsoleList(ctx context.Context, f Filter) (Page[User], error) {
	if err := f.Normalize(DefaultLimit); err != nil {
		return Page[User]{}, err
	}
	if f.Search == "" && f.CreatedFrom.IsZero() && f.CreatedBefore.IsZero() {
		return s.List(ctx, f)
	}
	now, ttl := s.opts.Now(), s.opts.StatsTTL
	where := fmt.Sprintf("users|%q|%q|%s|%s|%s|%d|%d|%t", f.Search, f.Group, f.Type, f.Role, levelKey(f.Level),
		f.CreatedFrom.Unix(), f.CreatedBefore.Unix(), f.NoEmailSearch)
	pageKey := fmt.Sprintf("%s|%d|%d|%s", where, f.Page, f.Limit, f.Sort)
	if v, ok := s.console.get(pageKey, now, ttl); ok {
		p := v.(Page[User])
		p.Items = slices.Clone(p.Items) // the caller may change its copy
		return p, nil
	}
	items := []User{}
	q := s.db.NewSelect().Model(&items)
	s.applyFilter(q, f)
	total, ok := s.console.get(where, now, ttl)
	if !ok {
		n, err := q.Count(ctx)
		if err != nil {
			return Page[User]{}, err
		}
		total = int(n)
		s.console.put(where, int(n), now)
	}
	err := q.OrderExpr(orderBy(f.Sort)).Limit(int64(f.Limit)).Offset(int64((f.Page - 1) * f.Limit)).Scan(ctx)
	if err != nil {
		return Page[User]{}, err
	}
	p := Page[User]{Items: items, Total: total.(int), Page: f.Page, Limit: f.Limit}
	s.console.put(pageKey, Page[User]{Items: slices.Clone(items), Total: p.Total, Page: p.Page, Limit: p.Limit}, now)
	return p, nil
}

// ConsoleEvents is Events for the console's audit log: the rows are read
// each time, the total of a filter is kept for StatsTTL (counting a
// million events on every page is what would cost).
func (s *Service) ConsoleEvents(ctx context.Context, f EventFilter) (Page[Event], error) {
	f.normalize()
	items := []Event{}
	q := s.eventsQuery(&items, f)
	now := s.opts.Now()
	key := fmt.Sprintf("events|%d|%d|%q|%d|%d", f.ActorID, f.TargetID, f.Action, f.Since.Unix(), f.Until.Unix())
	total, ok := s.console.get(key, now, s.opts.StatsTTL)
	if !ok {
		n, err := q.Count(ctx)
		if err != nil {
			return Page[Event]{}, err
		}
		total = int(n)
		s.console.put(key, int(n), now)
	}
	if err := q.Scan(ctx); err != nil {
		return Page[Event]{}, err
	}
	return Page[Event]{Items: items, Total: max(total.(int), len(items)), Page: f.Page, Limit: f.Limit}, nil
}

func levelKey(l *int) string {
	if l == nil {
		return "-"
	}
	return strconv.Itoa(*l)
}

// DashboardStats is Stats for the console's front page: while the figures
// are being recomputed for someone else (a second or so at a million
// accounts), it answers at once with the last ones it saw instead of
// queueing behind them. The page says how old they are.
func (s *Service) DashboardStats(ctx context.Context) (*Stats, error) {
	if s.statsMu.TryLock() {
		st := s.stats
		fresh := st != nil && s.opts.Now().Sub(st.GeneratedAt) < s.opts.StatsTTL
		s.statsMu.Unlock()
		if fresh {
			return st, nil
		}
	} else if last := s.console.lastStats.Load(); last != nil {
		return last, nil
	}
	st, err := s.Stats(ctx)
	if err != nil {
		return nil, err
	}
	s.console.lastStats.Store(st)
	return st, nil
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
