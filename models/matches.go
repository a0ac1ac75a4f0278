package models

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// matchSet is every match of a search or date range rare enough that
// reading all its matches costs less than walking a sort index to the page
// (walkCheaper), with the keys of every sort order: read once for the
// filter and kept in the console cache (ConsoleList), it answers every
// page of every sort of that filter from memory, and the page's accounts
// are then read by id. Without it each sort's first deep page read every
// match again: at a million accounts the 9,700 of "hnso" are 9,700 table
// pages, 20–25 ms from PostgreSQL's buffers and 50–115 ms from the
// operating system's (docs/performance.md, "session 9").
type matchSet struct {
	matches []match // in lower(username) order, as the database sorts it
}

// match is one account of a matchSet: its id and what each sort key
// compares (orderBy). Times are Unix nanoseconds; noTime stands for
// NULL, which sorts as the longest ago (first going up, last going down).
type match struct {
	id                   int64
	created, login, seen int64
	points               int64
	level                int32
	name                 int32 // its place in lower(username) order
}

const noTime = math.MinInt64

// maxMatchSet is the most matches a matchSet holds (48 bytes each: 2.4 MB).
// A filter with more is read page by page (readPage): at a million
// accounts reading every match is the cheaper way only for filters well
// under this many (walkCheaper), since the deepest page a search lists is
// BrowseWindow rows down.
var maxMatchSet = 50000

// cacheBytes is what the set weighs in the console cache (its byte budget,
// maxConsoleBytes).
func (m *matchSet) cacheBytes() int {
	if m == nil {
		return 0
	}
	return 48*cap(m.matches) + 64
}

// pageFromMatches reads page offset of f (a search or date range that
// ConsoleList keeps, f.keep) from its matchSet, when the set is kept or
// reading every match is the cheaper way to that page; ok is false when
// neither holds, or when the filter has more than maxMatchSet matches, or
// the set isn't there yet, and readPage then reads the page itself. The
// caller calls start when its own reading is done: it collects the set
// behind the request when it is missing or stale.
func (s *Service) pageFromMatches(ctx context.Context, f *Filter, offset int) (items []User, ok bool, start func(), err error) {
	start = func() {}
	if f.keep == "" || f.grams == gramsNone {
		return nil, false, start, nil
	}
	key := f.keep + "|matches"
	// A set already kept answers any page, even one that walking a sort
	// index would find sooner than reading the matches again: sorting
	// them in memory beats both.
	if v, fresh := s.console.peek(key, s.opts.Now(), s.opts.StatsTTL); fresh {
		if set, _ := v.(*matchSet); set != nil {
			items, err := s.usersByID(ctx, set.page(f.Sort, offset, f.Limit))
			return items, err == nil, start, err
		}
	}
	walk, estimate, err := s.walkCheaper(ctx, f, offset+f.Limit)
	if err != nil || walk || estimate > float64(maxMatchSet) {
		return nil, false, start, err
	}
	// The first deep page of the filter reads its page as before, and the
	// set is collected after it: collecting costs more than one sort's
	// page (every match's row to the server, not a top-50), and no page
	// should wait for it or share the machine with it.
	g := *f
	set, kept, start := cachedBehind(ctx, s, key, func(ctx context.Context) (*matchSet, error) { return s.collectMatches(ctx, g) })
	if !kept || set == nil {
		return nil, false, start, nil
	}
	items, err = s.usersByID(ctx, set.page(f.Sort, offset, f.Limit))
	return items, err == nil, start, err
}

// usersByID reads the accounts of ids, in that order.
func (s *Service) usersByID(ctx context.Context, ids []int64) ([]User, error) {
	items := []User{}
	if len(ids) == 0 {
		return items, nil
	}
	if err := s.db.NewSelect().Model(&items).Where("u.id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return nil, err
	}
	at := make(map[int64]int, len(ids))
	for i, id := range ids {
		at[id] = i
	}
	slices.SortFunc(items, func(a, b User) int { return at[a.ID] - at[b.ID] })
	return items, nil
}

// collectMatches reads every match of f with its sort keys, the way
// searchFrom reads them when reading is the cheaper way (through the
// search indexes, PostgreSQL from a subquery it plans apart), in
// lower(username) order: that order is the database's collation, which
// Go's comparison of strings is not. Nil when there are more than
// maxMatchSet.
func (s *Service) collectMatches(ctx context.Context, f Filter) (*matchSet, error) {
	cols := []string{"u.id", "u.username", "u.created_at", "u.last_login_at", "u.last_seen_at", "u.points", "u.level"}
	byName := "lower(u.username) ASC"
	var q *bun.SelectQuery
	if IsPostgres(s.db) {
		sub := s.db.NewSelect().Model((*User)(nil)).Column(cols...)
		s.applyFilter(sub, f)
		q = s.db.NewSelect().TableExpr("(?) AS u", sub.Limit(1<<31-1)).Column(cols...).OrderExpr(byName)
	} else {
		q = s.db.NewSelect().Model((*User)(nil)).Column(cols...).OrderExpr(unindexedOrder(byName))
		s.applyFilter(q, f)
	}
	var rows []struct {
		ID          int64      `bun:"id"`
		Username    string     `bun:"username"`
		CreatedAt   time.Time  `bun:"created_at"`
		LastLoginAt *time.Time `bun:"last_login_at"`
		LastSeenAt  *time.Time `bun:"last_seen_at"`
		Points      int64      `bun:"points"`
		Level       int32      `bun:"level"`
	}
	if err := q.Limit(int64(maxMatchSet)+1).Scan(ctx, &rows); err != nil {
		return nil, err
	}
	if len(rows) > maxMatchSet {
		return nil, nil
	}
	when := func(t *time.Time) int64 {
		if t == nil {
			return noTime
		}
		return t.UnixNano()
	}
	set := &matchSet{matches: make([]match, len(rows))}
	for i, r := range rows {
		set.matches[i] = match{id: r.ID, created: r.CreatedAt.UnixNano(), login: when(r.LastLoginAt), seen: when(r.LastSeenAt),
			points: r.Points, level: r.Level, name: int32(i)}
	}
	return set, nil
}

// page returns the ids of the limit matches from offset in sort's order
// (orderBy's, id the tie-break). The set is shared: it sorts a copy.
func (m *matchSet) page(sort string, offset, limit int) []int64 {
	if offset >= len(m.matches) {
		return nil
	}
	desc := strings.HasPrefix(sort, "-")
	var key func(x *match) int64
	switch strings.TrimPrefix(sort, "-") {
	case "username":
		key = func(x *match) int64 { return int64(x.name) }
	case "created_at":
		key = func(x *match) int64 { return x.created }
	case "last_login_at":
		key = func(x *match) int64 { return x.login }
	case "last_seen_at":
		key = func(x *match) int64 { return x.seen }
	case "points":
		key = func(x *match) int64 { return x.points }
	case "level":
		key = func(x *match) int64 { return int64(x.level) }
	default: // id
		key = func(x *match) int64 { return x.id }
	}
	sorted := slices.Clone(m.matches)
	slices.SortFunc(sorted, func(a, b match) int {
		c := cmp.Or(cmp.Compare(key(&a), key(&b)), cmp.Compare(a.id, b.id))
		if desc {
			return -c
		}
		return c
	})
	sorted = sorted[offset:min(offset+limit, len(sorted))]
	ids := make([]int64, len(sorted))
	for i, x := range sorted {
		ids[i] = x.id
	}
	return ids
}
