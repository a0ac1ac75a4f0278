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
// page at a million accounts: the results of recent searches (a search's
// total means reading every match) and the last dashboard figures. Every
// change made through the service clears the searches (invalidateStats).
type consoleCache struct {
	mu        sync.Mutex
	searches  map[string]cachedPage
	lastStats atomic.Pointer[Stats]
}

type cachedPage struct {
	page Page[User]
	at   time.Time
}

// maxCachedSearches bounds the cache; past it, the oldest half goes.
const maxCachedSearches = 512

func (c *consoleCache) clear() {
	c.mu.Lock()
	c.searches = nil
	c.mu.Unlock()
}

func (c *consoleCache) get(key string, now time.Time, ttl time.Duration) (Page[User], bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.searches[key]
	if !ok || now.Sub(e.at) >= ttl {
		return Page[User]{}, false
	}
	p := e.page
	p.Items = slices.Clone(p.Items) // callers may change their copy
	return p, true
}

func (c *consoleCache) put(key string, p Page[User], at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.searches == nil {
		c.searches = map[string]cachedPage{}
	}
	if len(c.searches) >= maxCachedSearches {
		oldest := make([]time.Time, 0, len(c.searches))
		for _, e := range c.searches {
			oldest = append(oldest, e.at)
		}
		slices.SortFunc(oldest, time.Time.Compare)
		cut := oldest[len(oldest)/2]
		for k, e := range c.searches {
			if !e.at.After(cut) {
				delete(c.searches, k)
			}
		}
	}
	c.searches[key] = cachedPage{page: Page[User]{Items: slices.Clone(p.Items), Total: p.Total, Page: p.Page, Limit: p.Limit}, at: at}
}

// ConsoleList is List for the console. A search (or a date range), which
// List answers by reading every match to count them, is kept for StatsTTL
// per filter and page, so that paging, sorting back and forth and
// reloading don't search a million accounts again; any change made through
// the service clears it. Other filters go straight to List, whose totals
// come from the census.
func (s *Service) ConsoleList(ctx context.Context, f Filter) (Page[User], error) {
	if err := f.Normalize(DefaultLimit); err != nil {
		return Page[User]{}, err
	}
	if f.Search == "" && f.CreatedFrom.IsZero() && f.CreatedBefore.IsZero() {
		return s.List(ctx, f)
	}
	key := fmt.Sprintf("%q|%q|%s|%s|%s|%d|%d|%t|%d|%d|%s", f.Search, f.Group, f.Type, f.Role, levelKey(f.Level),
		f.CreatedFrom.Unix(), f.CreatedBefore.Unix(), f.NoEmailSearch, f.Page, f.Limit, f.Sort)
	if p, ok := s.console.get(key, s.opts.Now(), s.opts.StatsTTL); ok {
		return p, nil
	}
	at := s.opts.Now()
	p, err := s.List(ctx, f)
	if err != nil {
		return p, err
	}
	s.console.put(key, p, at)
	return p, nil
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
