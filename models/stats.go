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
// (GeneratedAt says when) and again after any change to accounts or the
// audit log, this process's or another's (see changes.go). The totals per
// type and role and the per-day series come from counts the database keeps
// (user_census, daily_counts), so they are exact; online counts are as of
// GeneratedAt.
func (s *Service) Stats(ctx context.Context) (*Stats, error) {
	s.poll(ctx)
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.stats != nil && s.opts.Now().Sub(s.stats.GeneratedAt) < s.opts.StatsTTL {
		return s.stats, nil
	}
	epoch := s.Epoch()
	st, err := s.computeStats(ctx)
	if err != nil {
		return nil, err
	}
	if s.Epoch() == epoch {
		s.stats = st
	}
	return st, nil
}

// invalidateStats announces a change to accounts made by this process
// (the query hook does too; this is for code that wrote through another
// path).
func (s *Service) invalidateStats() { s.publish(Change{Topic: TopicAccounts}) }

// accountMoved is invalidateStats for the creation (from nil), type or
// level change, or purge (to nil) of one account made here. The census
// itself is kept by the database.
func (s *Service) accountMoved(_, _ *cell) { s.invalidateStats() }

// dropFigures drops what is made from topic's data: the figures, the
// census and the console's kept pages, so that nobody sees a stale page
// after a change.
func (s *Service) dropFigures(topic Topic) {
	s.statsMu.Lock()
	s.stats = nil
	s.statsMu.Unlock()
	if topic != TopicEvents {
		s.countsMu.Lock()
		s.counts = nil
		s.countsMu.Unlock()
		s.forgetCensus()
	}
	s.console.clear(topic)
}

// cellOf is the census cell of an account.
func cellOf(u *User) *cell { return &cell{u.Type, u.Level, u.Group} }

// statsCache keeps the census (accounts per type, level and group, read
// from user_census) between changes.
type statsCache struct {
	censusMu sync.Mutex
	census   map[cell]int
}

// cell is one account type at one level in one group.
type cell struct {
	typ, level int
	group      string
}

// cells returns (a copy of) the census, read again after every change.
// Callers poll for other processes' changes first (not here: they may hold
// a lock that an announcement takes).
func (s *Service) cells(ctx context.Context) (map[cell]int, error) {
	c := &s.cache
	c.censusMu.Lock()
	n := c.census
	c.censusMu.Unlock()
	if n != nil {
		return maps.Clone(n), nil
	}
	epoch := s.Epoch()
	var rows []struct {
		Type      int
		Level     int
		GroupName string
		N         int
	}
	if err := s.db.NewRaw("SELECT type, level, group_name, n FROM user_census WHERE n <> 0").Scan(ctx, &rows); err != nil {
		return nil, err
	}
	n = make(map[cell]int, len(rows))
	for _, r := range rows {
		n[cell{r.Type, r.Level, r.GroupName}] = r.N
	}
	c.censusMu.Lock()
	if s.Epoch() == epoch {
		c.census = n
	}
	c.censusMu.Unlock()
	return maps.Clone(n), nil
}

// countMatching adds up the census cells that f selects (f without a
// search or date range, which the census doesn't know).
func countMatching(cells map[cell]int, f Filter) int {
	t, byType := Types[f.Type]
	lo, hi, byRole := RoleLevels(f.Role)
	total := 0
	for c, n := range cells {
		switch {
		case byType && c.typ != t:
		case f.Level != nil && c.level != *f.Level:
		case f.Role != "" && byRole && (c.level < lo || c.level > hi):
		case f.Group != "" && c.group != f.Group:
		case f.NotDeleted && c.typ == TypeDeleted:
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
	signups, logins, err := s.dailyCounts(ctx, since)
	if err != nil {
		return nil, err
	}
	st.SignupsPerDay = fillDays(since, signups)
	st.LoginsPerDay = fillDays(since, logins)
	return st, nil
}

// forgetCensus drops the census, to be read again.
func (s *Service) forgetCensus() {
	s.cache.censusMu.Lock()
	s.cache.census = nil
	s.cache.censusMu.Unlock()
}

// dailyCounts reads the sign-ups and logins of each UTC day from since on
// (daily_counts, kept by triggers on users and events).
func (s *Service) dailyCounts(ctx context.Context, since time.Time) (signups, logins map[string]int, err error) {
	var rows []struct {
		Kind string
		Day  string
		N    int
	}
	day := "day"
	if IsPostgres(s.db) {
		day = "day::text"
	}
	if err := s.db.NewRaw("SELECT kind, "+day+" AS day, n FROM daily_counts WHERE day >= ? AND n <> 0",
		since.Format("2006-01-02")).Scan(ctx, &rows); err != nil {
		return nil, nil, err
	}
	signups, logins = map[string]int{}, map[string]int{}
	for _, r := range rows {
		switch r.Kind {
		case "signup":
			signups[r.Day] = r.N
		case "login":
			logins[r.Day] = r.N
		}
	}
	return signups, logins, nil
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
	s.poll(ctx)
	s.countsMu.Lock()
	defer s.countsMu.Unlock()
	if c := s.counts; c != nil && s.opts.Now().Sub(c.generatedAt) < s.opts.CountsTTL {
		return *c, nil
	}
	c := HomeCounts{generatedAt: s.opts.Now()}
	epoch := s.Epoch()
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
	if s.Epoch() == epoch {
		s.counts = &c
	}
	return c, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
