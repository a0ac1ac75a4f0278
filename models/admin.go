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
	"unicode/utf8"

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
// searches, the dashboard's latest sign-ups and logins, and the last
// dashboard figures. An entry is fresh for StatsTTL; once stale, it is
// served while it is recomputed behind the request that found it (cached),
// so that a million-row count never makes a visitor wait. Every
// announced change (changes.go: this process's writes at once, other
// processes' as they reach it) drops the entries made from its data, so
// that nobody sees a stale page after a change.
type consoleCache struct {
	mu        sync.Mutex
	entries   map[string]*cacheEntry
	bytes     int                      // the weighed entries' sum
	inflight  map[string]chan struct{} // first computations under way
	gen       uint64                   // bumped by clear: older computations aren't kept
	lastStats atomic.Pointer[Stats]
}

type cacheEntry struct {
	value      any
	at         time.Time
	refreshing bool
	bytes      int // what a large value weighs (weighed), else 0
}

// maxConsoleCache bounds the cache; past it, the older half goes.
const maxConsoleCache = 1024

// maxConsoleBytes bounds what the cache's large values (weighed: a rare
// search's matches) weigh together; past it, the oldest of them go.
var maxConsoleBytes = 64 << 20

// weighed is a cached value large enough to count against maxConsoleBytes.
type weighed interface{ cacheBytes() int }

// staleFor is how long past its TTL an entry may still be served while it
// is recomputed (older: nobody asked for it meanwhile, or its recompute
// failed; the request then computes it anew).
const staleFor = 4

// clear drops the entries made from topic's data ("" for all).
func (c *consoleCache) clear(topic Topic) {
	c.mu.Lock()
	c.gen++
	for k, e := range c.entries {
		if topic == "" || keyDependsOn(k, topic) {
			c.drop(k, e)
		}
	}
	c.mu.Unlock()
}

// keyDependsOn says whether the entry key is made from topic's data: the
// account lists ("users|...") from accounts, the audit log's totals
// ("events|...") from events, anything else (the audit log's pages,
// "log|...", which show accounts) from both.
func keyDependsOn(key string, topic Topic) bool {
	switch {
	case strings.HasPrefix(key, "users|"):
		return topic == TopicAccounts
	case strings.HasPrefix(key, "events|"):
		return topic == TopicEvents
	}
	return true
}

// lookup finds key. ok: there is a value to use. refresh: the caller
// should compute it (none yet, or stale and nobody else is on it); gen is
// then to be handed back to put. wait: someone else is computing the first
// value; wait for it to close and look again.
func (c *consoleCache) lookup(key string, now time.Time, ttl time.Duration) (v any, ok, refresh bool, gen uint64, wait <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	switch {
	case e == nil || now.Sub(e.at) >= staleFor*ttl:
		if ch := c.inflight[key]; ch != nil {
			return nil, false, false, 0, ch
		}
		if c.inflight == nil {
			c.inflight = map[string]chan struct{}{}
		}
		c.inflight[key] = make(chan struct{})
		return nil, false, true, c.gen, nil
	case now.Sub(e.at) < ttl:
		return e.value, true, false, 0, nil
	case e.refreshing:
		return e.value, true, false, 0, nil
	}
	e.refreshing = true
	return e.value, true, true, c.gen, nil
}

// peek answers what the cache holds for key while it is fresh, without
// computing it or marking it for computing.
func (c *consoleCache) peek(key string, now time.Time, ttl time.Duration) (v any, fresh bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil && now.Sub(e.at) < ttl {
		return e.value, true
	}
	return nil, false
}

// done ends a computation, kept or not: the waiters look again, and a
// failed refresh lets the next request try.
func (c *consoleCache) done(key string) {
	c.mu.Lock()
	if e := c.entries[key]; e != nil {
		e.refreshing = false
	}
	if ch := c.inflight[key]; ch != nil {
		close(ch)
		delete(c.inflight, key)
	}
	c.mu.Unlock()
}

// put keeps a value computed from gen on; a value computed before a clear
// is dropped (it may predate the change).
func (c *consoleCache) put(key string, v any, at time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.entries == nil {
		c.entries = map[string]*cacheEntry{}
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
				c.drop(k, e)
			}
		}
	}
	e := &cacheEntry{value: v, at: at}
	if w, ok := v.(weighed); ok {
		e.bytes = w.cacheBytes()
	}
	if old := c.entries[key]; old != nil {
		c.drop(key, old)
	}
	c.entries[key] = e
	c.bytes += e.bytes
	for c.bytes > maxConsoleBytes {
		var oldest string
		for k, e := range c.entries {
			if e.bytes > 0 && (oldest == "" || e.at.Before(c.entries[oldest].at)) {
				oldest = k
			}
		}
		if oldest == "" {
			break
		}
		c.drop(oldest, c.entries[oldest])
	}
}

// drop removes the entry e under key (c.mu held).
func (c *consoleCache) drop(key string, e *cacheEntry) {
	c.bytes -= e.bytes
	delete(c.entries, key)
}

// cached answers key from the console cache, or computes it (see
// consoleCache); concurrent first requests for a key wait for one
// computation. A stale value is answered at once and recomputed behind
// the request, with the request's values but not its cancellation, so
// that no visitor waits for the query a value's age calls for. T must be
// safe to share between requests: values are handed out as they are, so
// slices in them are read, never changed.
func cached[T any](ctx context.Context, s *Service, key string, compute func(context.Context) (T, error)) (T, error) {
	for {
		now := s.opts.Now()
		v, ok, refresh, gen, wait := s.console.lookup(key, now, s.opts.StatsTTL)
		if wait != nil {
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				var zero T
				return zero, ctx.Err()
			}
		}
		if !refresh {
			return v.(T), nil
		}
		if ok {
			go computeBehind(ctx, s, key, now, gen, compute)
			return v.(T), nil
		}
		fresh, err := compute(ctx)
		if err == nil {
			s.console.put(key, fresh, now, gen)
		}
		s.console.done(key)
		return fresh, err
	}
}

// cachedBehind is cached for a value no request should wait for: it
// answers what the console cache holds for key (stale or not; ok false
// when nothing), and start computes it behind the request when it is
// missing or stale and nobody else is on it. The caller must call start
// (a no-op when there is nothing to do), once its own reading is done:
// computed at the same time, the value would slow the very request that
// does without it.
func cachedBehind[T any](ctx context.Context, s *Service, key string, compute func(context.Context) (T, error)) (v T, ok bool, start func()) {
	now := s.opts.Now()
	got, ok, refresh, gen, _ := s.console.lookup(key, now, s.opts.StatsTTL)
	start = func() {}
	if refresh {
		start = func() { go computeBehind(ctx, s, key, now, gen, compute) }
	}
	if !ok {
		return v, false, start
	}
	return got.(T), true, start
}

// computeBehind computes key's value for the console cache behind a
// request: with its values but not its cancellation.
func computeBehind[T any](ctx context.Context, s *Service, key string, now time.Time, gen uint64, compute func(context.Context) (T, error)) {
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	fresh, err := compute(bg)
	if err == nil {
		s.console.put(key, fresh, now, gen)
	} else {
		s.log.WarnContext(bg, "console cache: computing behind the request failed", "key", key, "err", err)
	}
	s.console.done(key)
}

// refreshTimeout bounds a computation behind the request (cached,
// cachedBehind).
const refreshTimeout = 30 * time.Second

// ConsoleList is List for the console. A search (or a date range) keeps
// its (capped) total, and each of its pages, in the console cache, so that
// paging, sorting back and forth and reloading don't search a million
// accounts again; a search rare enough that its deep pages read every
// match keeps those matches with their sort keys (matchSet), so that the
// other sorts' pages are sorted in memory. Other filters' pages (from
// List, their totals from the census) are kept too, until the next change
// of accounts. The page's Items are shared: read them, don't change them.
func (s *Service) ConsoleList(ctx context.Context, f Filter) (Page[User], error) {
	if err := f.Normalize(DefaultLimit); err != nil {
		return Page[User]{}, err
	}
	s.poll(ctx)
	where := listKey(f)
	f.keep = where // a search's deep pages read from its kept matches (matchSet)
	if f.Search == "" && f.CreatedFrom.IsZero() && f.CreatedBefore.IsZero() {
		// Exact from the census and quick to read; kept all the same, so
		// that a page viewed again (or by many at once) until the next
		// change of accounts costs no query.
		return cached(ctx, s, fmt.Sprintf("%s|%d|%d|%s", where, f.Page, f.Limit, f.Sort), func(ctx context.Context) (Page[User], error) {
			return s.List(ctx, f)
		})
	}
	if f.Search != "" && utf8.RuneCountInString(f.Search) < 3 {
		// One or two characters: no index helps. The matches' ids are
		// collected once per filter (one scan, which stops at
		// shortSearchIDs+1), and beyond that many the console says "more
		// than" instead of counting a million accounts.
		return cached(ctx, s, fmt.Sprintf("%s|%d|%d|%s", where, f.Page, f.Limit, f.Sort), func(ctx context.Context) (Page[User], error) {
			if err := s.planShortSearch(ctx, &f); err != nil {
				return Page[User]{}, err
			}
			ids, err := cached(ctx, s, where+"|ids", func(ctx context.Context) ([]int64, error) { return s.matchingIDs(ctx, f) })
			if err != nil {
				return Page[User]{}, err
			}
			return s.listUnindexed(ctx, ids, f, false)
		})
	}
	// Three characters or more, or a date range: List counts up to
	// shortSearchIDs (more would mean reading every match); the page and
	// that count are kept.
	return cached(ctx, s, fmt.Sprintf("%s|%d|%d|%s", where, f.Page, f.Limit, f.Sort), func(ctx context.Context) (Page[User], error) {
		total, err := cached(ctx, s, where, func(ctx context.Context) ([2]int, error) {
			n, atLeast, err := s.countCapped(ctx, &f) // its sample of accounts serves the page too
			if atLeast {
				return [2]int{n, 1}, err
			}
			return [2]int{n, 0}, err
		})
		if err != nil {
			return Page[User]{}, err
		}
		return s.searchPage(ctx, f, total[0], total[1] == 1)
	})
}

// listKey is the console cache's key for what f selects (a normalized
// filter), whatever its sort and page.
func listKey(f Filter) string {
	return fmt.Sprintf("users|%q|%q|%s|%s|%s|%d|%d|%t|%t", f.Search, f.Group, f.Type, f.Role, levelKey(f.Level),
		f.CreatedFrom.Unix(), f.CreatedBefore.Unix(), f.NoEmailSearch, f.NotDeleted)
}

// ConsoleEvents is Events for the console's audit log and the API's,
// its pages kept until the next event or change of accounts (a page shows
// its actors and targets): a log viewed again, or by many at once, costs
// no query. The page's Items are shared: read them, don't change them.
func (s *Service) ConsoleEvents(ctx context.Context, f EventFilter) (Page[Event], error) {
	s.poll(ctx)
	f.normalize()
	key := fmt.Sprintf("log|%d|%d|%q|%d|%d|%d|%d", f.ActorID, f.TargetID, f.Action, f.Since.UnixNano(), f.Until.UnixNano(), f.Page, f.Limit)
	return cached(ctx, s, key, func(ctx context.Context) (Page[Event], error) { return s.Events(ctx, f) })
}

// Latest is what the dashboard lists besides its figures.
type Latest struct {
	Signups []User  // newest accounts
	Logins  []Event // newest sign-ins, with the account as Target
}

// ConsoleLatest returns the n newest accounts and sign-ins, from the
// console cache (shared: read them, don't change them).
func (s *Service) ConsoleLatest(ctx context.Context, n int) (Latest, error) {
	s.poll(ctx)
	return cached(ctx, s, "latest|"+strconv.Itoa(n), func(ctx context.Context) (Latest, error) {
		signups, err := s.LatestSignups(ctx, n)
		if err != nil {
			return Latest{}, err
		}
		logins, err := s.LatestEvents(ctx, EvLogin, n)
		return Latest{Signups: signups, Logins: logins}, err
	})
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
	s.poll(ctx)
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
