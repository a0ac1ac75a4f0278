package models

import (
	"context"
	"maps"
	"strconv"
	"sync"
	"time"
)

// DayCount is a count on one UTC day (YYYY-MM-DD).
type DayCount struct {
	Day   string `json:"day"`
	Count int    `json:"count"`
}

// Stats are the dashboard figures (SPEC §2 stats()).
type Stats struct {
	Total         int            `json:"total"`
	ByType        map[string]int `json:"by_type"` // active, blocked, inactive, deleted
	ByRole        map[string]int `json:"by_role"`
	OnlineMembers int            `json:"online_users"`
	OnlineGuests  int            `json:"online_guests"`
	SignupsPerDay []DayCount     `json:"signups_per_day"` // last 30 days, oldest first, zeros included
	LoginsPerDay  []DayCount     `json:"logins_per_day"`
	GeneratedAt   time.Time      `json:"generated_at"`
}

// StatsDays is how many days the per-day series cover.
const StatsDays = 30

// Stats returns the dashboard figures, computed at most once per StatsTTL
// (GeneratedAt says when); account changes made here clear the cache.
// The totals per type and role follow this service's own changes at once
// and other processes' within CensusTTL; online counts and today's
// sign-ups and logins are counted each time the figures are computed.
func (s *Service) Stats(ctx context.Context) (*Stats, error) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.stats != nil && s.opts.Now().Sub(s.stats.GeneratedAt) < s.opts.StatsTTL {
		return s.stats, nil
	}
	st, err := s.computeStats(ctx)
	if err != nil {
		return nil, err
	}
	s.stats = st
	return st, nil
}

// invalidateStats drops every cached figure after a change, the census
// included (it is counted again on its next use).
func (s *Service) invalidateStats() {
	s.dropFigures()
	s.cache.censusMu.Lock()
	s.cache.census = nil
	s.cache.gen++
	s.cache.censusMu.Unlock()
}

// accountMoved is invalidateStats for the creation (from nil), type or
// level change, or purge (to nil) of one account made here: the census
// follows it instead of counting a million rows again.
func (s *Service) accountMoved(from, to *cell) {
	s.dropFigures()
	c := &s.cache
	c.censusMu.Lock()
	defer c.censusMu.Unlock()
	c.gen++
	if c.census == nil || (from != nil && to != nil && *from == *to) {
		return
	}
	if from != nil {
		c.census.n[*from]--
	}
	if to != nil {
		c.census.n[*to]++
	}
}

// dropFigures drops the figures made from the census and the console's
// cached pages, so that nobody sees a stale page after a change.
func (s *Service) dropFigures() {
	s.statsMu.Lock()
	s.stats = nil
	s.statsMu.Unlock()
	s.countsMu.Lock()
	s.counts = nil
	s.countsMu.Unlock()
	s.console.clear()
}

// cellOf is the census cell of an account.
func cellOf(u *User) *cell { return &cell{u.Type, u.Level} }

// statsCache keeps what the figures are made of. The census (accounts per
// type and level) answers the dashboard, the home page and the totals of
// unsearched lists without counting a million rows each time: this
// service's own changes move it along, and it is counted again once per
// CensusTTL (5 minutes) to take in changes made by other processes (the
// command line, another server). The per-day
// counts of the days before today only change through a seed or a purge,
// so they are kept for pastDaysTTL and only today is counted again.
type statsCache struct {
	recountMu sync.Mutex // one count of the census at a time
	censusMu  sync.Mutex
	census    *census
	gen       uint64 // changes seen; a count that overlapped one is kept briefly
	daysMu    sync.Mutex
	days      *pastDays
}

// cell is one account type at one level.
type cell struct{ typ, level int }

type census struct {
	n  map[cell]int
	at time.Time
}

type pastDays struct {
	today   time.Time // the day they were counted on
	at      time.Time
	signups map[string]int
	logins  map[string]int
}

const pastDaysTTL = 10 * time.Minute

// countCells counts the accounts per type and level.
func (s *Service) countCells(ctx context.Context) (map[cell]int, error) {
	var rows []struct {
		Type  int
		Level int
		N     int
	}
	if err := s.db.NewSelect().Model((*User)(nil)).
		ColumnExpr("u.type, u.level, count(*) AS n").GroupExpr("u.type, u.level").
		Scan(ctx, &rows); err != nil {
		return nil, err
	}
	cells := make(map[cell]int, len(rows))
	for _, r := range rows {
		cells[cell{r.Type, r.Level}] = r.N
	}
	return cells, nil
}

// cells returns (a copy of) the census, counted again when it is older
// than CensusTTL. Readers wait for one count rather than each running one;
// writers don't wait for it.
func (s *Service) cells(ctx context.Context) (map[cell]int, error) {
	c := &s.cache
	if n := s.freshCells(); n != nil {
		return n, nil
	}
	c.recountMu.Lock()
	defer c.recountMu.Unlock()
	if n := s.freshCells(); n != nil {
		return n, nil // counted by whoever held the lock
	}
	c.censusMu.Lock()
	gen := c.gen
	c.censusMu.Unlock()
	at := s.opts.Now()
	n, err := s.countCells(ctx)
	if err != nil {
		return nil, err
	}
	c.censusMu.Lock()
	defer c.censusMu.Unlock()
	if c.gen != gen {
		// A change landed while counting: whether the count saw it is
		// unknown, so this count only stands for a second.
		at = at.Add(time.Second - s.opts.CensusTTL)
	}
	c.census = &census{n: n, at: at}
	return maps.Clone(n), nil
}

func (s *Service) freshCells() map[cell]int {
	c := &s.cache
	c.censusMu.Lock()
	defer c.censusMu.Unlock()
	if c.census != nil && s.opts.Now().Sub(c.census.at) < s.opts.CensusTTL {
		return maps.Clone(c.census.n)
	}
	return nil
}

// countMatching adds up the census cells that f selects (f without a
// search or group, which the census doesn't know).
func countMatching(cells map[cell]int, f Filter) int {
	t, byType := Types[f.Type]
	lo, hi, byRole := RoleLevels(f.Role)
	total := 0
	for c, n := range cells {
		switch {
		case byType && c.typ != t:
		case f.Level != nil && c.level != *f.Level:
		case f.Role != "" && byRole && (c.level < lo || c.level > hi):
		default:
			total += n
		}
	}
	return total
}

func (s *Service) computeStats(ctx context.Context) (*Stats, error) {
	now := s.now()
	st := &Stats{ByType: map[string]int{}, ByRole: map[string]int{}, GeneratedAt: now}
	for _, r := range Roles {
		st.ByRole[r] = 0
	}
	for w := range Types {
		st.ByType[w] = 0
	}
	cells, err := s.cells(ctx)
	if err != nil {
		return nil, err
	}
	for c, n := range cells {
		st.Total += n
		for w, t := range Types {
			if t == c.typ {
				st.ByType[w] += n
			}
		}
		if c.typ != TypeDeleted {
			st.ByRole[Role(c.level)] += n
		}
	}
	if st.OnlineMembers, st.OnlineGuests, err = s.OnlineCounts(ctx); err != nil {
		return nil, err
	}

	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	since := today.AddDate(0, 0, -(StatsDays - 1))
	past, err := s.pastDays(ctx, since, today)
	if err != nil {
		return nil, err
	}
	signups, err := s.countPerDay(ctx, "users", "", today, time.Time{})
	if err != nil {
		return nil, err
	}
	logins, err := s.countPerDay(ctx, "events", EvLogin, today, time.Time{})
	if err != nil {
		return nil, err
	}
	maps.Copy(signups, past.signups)
	maps.Copy(logins, past.logins)
	st.SignupsPerDay = fillDays(since, signups)
	st.LoginsPerDay = fillDays(since, logins)
	return st, nil
}

// pastDays returns the sign-ups and logins of each day from since to
// today (excluded), from the cache while it holds for today.
func (s *Service) pastDays(ctx context.Context, since, today time.Time) (*pastDays, error) {
	c := &s.cache
	c.daysMu.Lock()
	defer c.daysMu.Unlock()
	if d := c.days; d != nil && d.today.Equal(today) && s.opts.Now().Sub(d.at) < pastDaysTTL {
		return d, nil
	}
	d := &pastDays{today: today, at: s.opts.Now()}
	var err error
	if d.signups, err = s.countPerDay(ctx, "users", "", since, today); err != nil {
		return nil, err
	}
	if d.logins, err = s.countPerDay(ctx, "events", EvLogin, since, today); err != nil {
		return nil, err
	}
	c.days = d
	return d, nil
}

// forgetCensus drops the census, to be counted again.
func (s *Service) forgetCensus() {
	s.cache.censusMu.Lock()
	s.cache.census = nil
	s.cache.censusMu.Unlock()
}

// forgetPastDays drops the per-day cache, after a change to past days (a seed).
func (s *Service) forgetPastDays() {
	s.cache.daysMu.Lock()
	s.cache.days = nil
	s.cache.daysMu.Unlock()
}

// countPerDay counts the rows of table (users, or events of one action)
// created on each UTC day from from to until (zero: no end).
func (s *Service) countPerDay(ctx context.Context, table, action string, from, until time.Time) (map[string]int, error) {
	q := s.db.NewSelect().TableExpr(table).Where("created_at >= ?", from)
	if !until.IsZero() {
		q.Where("created_at < ?", until)
	}
	if action != "" {
		q.Where("action = ?", action)
	}
	var rows []DayCount
	if IsPostgres(s.db) {
		// Group by the date, then format the thirty of them.
		q.ColumnExpr("(created_at AT TIME ZONE 'UTC')::date AS d, count(*) AS n").GroupExpr("1")
		if err := s.db.NewSelect().TableExpr("(?) AS x", q).
			ColumnExpr("x.d::text AS day, x.n AS count").Scan(ctx, &rows); err != nil {
			return nil, err
		}
	} else {
		// Times are stored as UTC text, "YYYY-MM-DD hh:mm:ss...".
		q.ColumnExpr("substr(created_at, 1, 10) AS day, count(*) AS count").GroupExpr("1")
		if err := q.Scan(ctx, &rows); err != nil {
			return nil, err
		}
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Day] = r.Count
	}
	return out, nil
}

func fillDays(since time.Time, byDay map[string]int) []DayCount {
	out := make([]DayCount, StatsDays)
	for i := range out {
		d := since.AddDate(0, 0, i).Format("2006-01-02")
		out[i] = DayCount{Day: d, Count: byDay[d]}
	}
	return out
}

// HomeCounts are the figures of the home page.
type HomeCounts struct {
	Members     int
	Guests      int
	Total       int
	generatedAt time.Time
}

// Counts returns members and guests online and the number of accounts that
// are not deleted, cached for CountsTTL so the home page costs no query on
// most requests.
func (s *Service) Counts(ctx context.Context) (HomeCounts, error) {
	s.countsMu.Lock()
	defer s.countsMu.Unlock()
	if c := s.counts; c != nil && s.opts.Now().Sub(c.generatedAt) < s.opts.CountsTTL {
		return *c, nil
	}
	c := HomeCounts{generatedAt: s.opts.Now()}
	var err error
	if c.Members, c.Guests, err = s.OnlineCounts(ctx); err != nil {
		return c, err
	}
	cells, err := s.cells(ctx)
	if err != nil {
		return c, err
	}
	for k, n := range cells {
		if k.typ != TypeDeleted {
			c.Total += n
		}
	}
	s.counts = &c
	return c, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
