package models

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"
	"sync"
	"time"
)

// Request limits (docs/throttling.md): at most Max hits per key within
// each fixed window, counted in the rate_counters table that every
// instance shares. One row per limiter and key; each instance adds its
// hits with one atomic INSERT … ON CONFLICT DO UPDATE … RETURNING, which
// answers the shared total, so no hit is ever lost to another instance
// counting at the same instant.
//
// A limiter with Batch 1 settles every hit with the shared row before it
// answers: exact across instances, one write per hit. With a larger Batch
// each instance counts on its own between settlements: it admits a hit
// against its last known shared total plus the hits it admitted since, and
// adds those to the shared row once they reach Batch or Every has passed.
// A hot key then costs one write per Batch hits or per Every, not one per
// request. What that costs in accuracy:
//
//   - one instance alone is exact: its own hits are all in its count;
//   - N instances may admit up to N × Batch hits beyond Max in a window
//     (each admits at most Batch hits the others can't see yet), and none
//     once a settlement shows the total within Batch of Max: from there
//     every hit is settled on its own, as with Batch 1;
//   - hits an instance has not settled when it stops (at most Batch per
//     key) are never counted.
//
// Windows start at multiples of Window since the Unix epoch on the
// service's clock, so every instance names the same window.

// Limit is one request limit.
type Limit struct {
	// Name keeps the keys of different limits apart ("api", "signup").
	Name   string
	Max    int
	Window time.Duration
	// Batch is how many hits one instance may admit before it settles
	// with the others: 1 settles every hit (exact); 0 takes Max/100.
	Batch int
	// Every is how often a key that keeps being hit is settled at least
	// (50 ms): how stale the others' hits may be in the counts shown.
	Every time.Duration
}

// Verdict is a limiter's answer for one hit.
type Verdict struct {
	Allowed   bool
	Max       int
	Remaining int           // hits left in this window (0 when refused)
	Reset     time.Duration // until this window ends: the Retry-After of a refusal
	window    int64
}

// Limiter counts hits per key under one Limit; see Service.Limiter.
type Limiter struct {
	s      *Service
	limit  Limit
	window int64 // Window in milliseconds
	batch  int64

	mu      sync.RWMutex
	entries map[string]*limitEntry
	sweepAt int64 // the window from which entries of older ones are dropped
}

// limitEntry is one key's count in this process.
type limitEntry struct {
	mu       sync.Mutex
	window   int64     // window start (ms) these figures are about
	known    int64     // the shared total, as last answered by the database
	pending  int64     // admitted here, not yet added to the shared total
	inflight int64     // being added now
	settled  time.Time // when the last settlement ended (wall clock)
	settling bool
}

// Limiter returns a limiter for l. Limiters of the same Name count the
// same hits, in this process and in every other one on the database;
// each process should make one per Name (each keeps its own pending hits).
func (s *Service) Limiter(l Limit) *Limiter {
	if l.Max < 1 {
		l.Max = 1
	}
	if l.Window < time.Millisecond {
		l.Window = time.Minute
	}
	if l.Batch <= 0 {
		l.Batch = max(1, l.Max/100)
	}
	if l.Every <= 0 {
		l.Every = 50 * time.Millisecond
	}
	lim := &Limiter{s: s, limit: l, window: l.Window.Milliseconds(), batch: int64(l.Batch),
		entries: map[string]*limitEntry{}}
	s.limitersMu.Lock()
	s.limiters = append(s.limiters, lim)
	s.limitersMu.Unlock()
	return lim
}

// FlushLimiters settles every limiter's unsettled hits: before the
// process stops, so that the hits it admitted count for the others.
func (s *Service) FlushLimiters(ctx context.Context) error {
	s.limitersMu.Lock()
	all := slices.Clone(s.limiters)
	s.limitersMu.Unlock()
	var errs []error
	for _, l := range all {
		errs = append(errs, l.Flush(ctx))
	}
	return errors.Join(errs...)
}

// Limit is the limit l counts.
func (l *Limiter) Limit() Limit { return l.limit }

// Hit counts one hit on key and says whether it is within the limit. A
// refused hit is not counted. The error is the database's, when a hit
// had to be settled and could not be.
func (l *Limiter) Hit(ctx context.Context, key string) (Verdict, error) {
	now := millis(l.s.opts.Now())
	ws := now - now%l.window
	v := Verdict{Max: l.limit.Max, Reset: time.Duration(ws+l.window-now) * time.Millisecond, window: ws}
	if l.batch <= 1 {
		return l.settleOne(ctx, key, v, nil)
	}
	e := l.entry(key, ws)
	e.mu.Lock()
	if ws > e.window { // a new window: what was counted before no longer matters
		e.window, e.known, e.pending, e.inflight = ws, 0, 0, 0
	}
	used := e.known + e.inflight + e.pending
	switch {
	case used >= int64(l.limit.Max):
		e.mu.Unlock()
		return v, nil
	case int64(l.limit.Max)-used <= l.batch || e.inflight+e.pending >= l.batch:
		// Near the limit, or a batch is still on its way: this hit is
		// settled on its own, so that the total it gets back decides.
		e.inflight++
		e.mu.Unlock()
		return l.settleOne(ctx, key, v, e)
	}
	e.pending++
	v.Allowed, v.Remaining = true, l.limit.Max-int(used)-1
	var n int64
	if !e.settling && (e.pending >= l.batch || time.Since(e.settled) >= l.limit.Every) {
		e.settling, n = true, e.pending
		e.inflight, e.pending = e.inflight+n, 0
	}
	e.mu.Unlock()
	if n > 0 {
		l.settle(ctx, key, e, ws, n)
	}
	return v, nil
}

// settleOne adds one hit to the shared total and decides by the total it
// gets back. e is the key's entry in a batched limiter, whose inflight
// already counts the hit.
func (l *Limiter) settleOne(ctx context.Context, key string, v Verdict, e *limitEntry) (Verdict, error) {
	total, win, err := l.add(ctx, key, v.window, 1, int64(l.limit.Max))
	refused := errors.Is(err, sql.ErrNoRows) // the total is at Max already: not counted
	if refused {
		total, win, err = int64(l.limit.Max), v.window, nil
	}
	if e != nil {
		e.mu.Lock()
		if e.window == v.window {
			e.inflight--
			if err == nil && win == v.window {
				e.known = max(e.known, total)
			}
		}
		e.mu.Unlock()
	}
	if err != nil {
		return v, err
	}
	switch {
	case win != v.window: // another instance's clock is in the next window: not counted here
		v.Allowed, v.Remaining = true, l.limit.Max
	case !refused:
		v.Allowed, v.Remaining = true, l.limit.Max-int(total)
	}
	return v, nil
}

// settle adds n hits admitted here to the shared total. A failure keeps
// them pending, for the next settlement.
func (l *Limiter) settle(ctx context.Context, key string, e *limitEntry, ws, n int64) {
	total, win, err := l.add(ctx, key, ws, n, math.MaxInt64)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settling, e.settled = false, time.Now()
	if e.window != ws {
		return // the window ended meanwhile
	}
	e.inflight -= n
	if err != nil {
		e.pending += n
		l.s.log.WarnContext(ctx, "rate limit: hits not settled, kept for the next try", "limit", l.limit.Name, "err", err)
		return
	}
	if win == ws {
		e.known = max(e.known, total)
	}
}

// Flush settles the hits this process has admitted and not yet added to
// the shared totals (tests, and before stopping).
func (l *Limiter) Flush(ctx context.Context) error {
	l.mu.RLock()
	keys := make(map[string]*limitEntry, len(l.entries))
	for k, e := range l.entries {
		keys[k] = e
	}
	l.mu.RUnlock()
	for key, e := range keys {
		e.mu.Lock()
		n, ws := e.pending, e.window
		if n == 0 || e.settling {
			e.mu.Unlock()
			continue
		}
		e.settling = true
		e.inflight, e.pending = e.inflight+n, 0
		e.mu.Unlock()
		l.settle(ctx, key, e, ws, n)
		e.mu.Lock()
		left := e.pending
		e.mu.Unlock()
		if left > 0 {
			return errNotSettled
		}
	}
	return nil
}

var errNotSettled = errors.New("rate limit: hits could not be settled")

// Undo takes back a hit that Hit allowed (a request that turned out not
// to count, such as a refused registration). It is settled at once.
func (l *Limiter) Undo(ctx context.Context, key string, v Verdict) error {
	if !v.Allowed {
		return nil
	}
	_, err := l.s.db.NewRaw(`UPDATE rate_counters SET hits = hits - 1 WHERE key = ? AND window_start = ? AND hits > 0`,
		l.rowKey(key), v.window).Exec(ctx)
	return err
}

func (l *Limiter) rowKey(key string) string { return clip(l.limit.Name+":"+key, 200) }

// add adds n hits to key's shared total for the window starting at ws and
// returns the total and the window it belongs to: a later one when
// another instance's clock has already moved on (the hits are then not
// counted), ws otherwise. When the total would pass limit, nothing is
// added and the error is sql.ErrNoRows.
func (l *Limiter) add(ctx context.Context, key string, ws, n, limit int64) (total, window int64, err error) {
	var row struct {
		Hits        int64
		WindowStart int64
	}
	err = l.s.db.NewRaw(`INSERT INTO rate_counters (key, window_start, hits, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET
			hits = CASE
				WHEN rate_counters.window_start = excluded.window_start THEN rate_counters.hits + excluded.hits
				WHEN rate_counters.window_start < excluded.window_start THEN excluded.hits
				ELSE rate_counters.hits END,
			expires_at = CASE WHEN rate_counters.window_start <= excluded.window_start
				THEN excluded.expires_at ELSE rate_counters.expires_at END,
			window_start = CASE WHEN rate_counters.window_start < excluded.window_start
				THEN excluded.window_start ELSE rate_counters.window_start END
		WHERE rate_counters.window_start <> excluded.window_start OR rate_counters.hits + excluded.hits <= ?
		RETURNING hits, window_start`,
		l.rowKey(key), ws, n, ws+l.window, limit).Scan(ctx, &row)
	return row.Hits, row.WindowStart, err
}

// entry returns key's entry, made when missing. Making one also drops
// the entries of windows that have ended, once per window.
func (l *Limiter) entry(key string, ws int64) *limitEntry {
	l.mu.RLock()
	e := l.entries[key]
	l.mu.RUnlock()
	if e != nil {
		return e
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if e = l.entries[key]; e != nil {
		return e
	}
	if ws > l.sweepAt {
		for k, old := range l.entries {
			old.mu.Lock()
			idle := old.window < ws && !old.settling && old.inflight == 0
			old.mu.Unlock()
			if idle {
				delete(l.entries, k)
			}
		}
		l.sweepAt = ws
	}
	e = &limitEntry{window: ws}
	l.entries[key] = e
	return e
}
