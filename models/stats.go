package models

import (
	"context"
	"strconv"
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

func (s *Service) invalidateStats() {
	s.statsMu.Lock()
	s.stats = nil
	s.statsMu.Unlock()
	s.countsMu.Lock()
	s.counts = nil
	s.countsMu.Unlock()
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
	for _, r := range rows {
		st.Total += r.N
		for w, t := range Types {
			if t == r.Type {
				st.ByType[w] += r.N
			}
		}
		if r.Type != TypeDeleted {
			st.ByRole[Role(r.Level)] += r.N
		}
	}
	var err error
	if st.OnlineMembers, st.OnlineGuests, err = s.OnlineCounts(ctx); err != nil {
		return nil, err
	}
	since := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -(StatsDays - 1))
	day := "substr(created_at, 1, 10)"
	if IsPostgres(s.db) {
		day = "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
	}
	var signups, logins []DayCount
	if err := s.db.NewSelect().TableExpr("users").
		ColumnExpr(day+" AS day, count(*) AS count").
		Where("created_at >= ?", since).GroupExpr("1").Scan(ctx, &signups); err != nil {
		return nil, err
	}
	if err := s.db.NewSelect().TableExpr("events").
		ColumnExpr(day+" AS day, count(*) AS count").
		Where("created_at >= ? AND action = ?", since, EvLogin).GroupExpr("1").Scan(ctx, &logins); err != nil {
		return nil, err
	}
	st.SignupsPerDay = fillDays(since, signups)
	st.LoginsPerDay = fillDays(since, logins)
	return st, nil
}

func fillDays(since time.Time, got []DayCount) []DayCount {
	byDay := make(map[string]int, len(got))
	for _, d := range got {
		byDay[d.Day] = d.Count
	}
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
	st, err := s.Stats(ctx)
	if err != nil {
		return c, err
	}
	c.Total = st.Total - st.ByType["deleted"]
	s.counts = &c
	return c, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
