package models

import (
	"context"
	"strings"
)

// ComputeStats runs the dashboard queries without the cache, for the
// benchmarks' cold figures.
func ComputeStats(ctx context.Context, s *Service) (*Stats, error) { return s.computeStats(ctx) }

// ForgetStatsCaches drops the census, so that the next figures read it
// from scratch.
func ForgetStatsCaches(s *Service) { s.forgetCensus() }

// SetShortSearchIDs changes how many matches of a short search are
// collected before the list walks its sort order, and returns a func
// that puts it back.
func SetShortSearchIDs(n int) func() {
	old := shortSearchIDs
	shortSearchIDs = n
	return func() { shortSearchIDs = old }
}

// ForgetConsole empties the console cache.
func (s *Service) ForgetConsole() { s.console.clear("") }

// SetDeferAfter changes the offset from which a list reads its page's ids
// first, and returns a func that puts it back.
func SetDeferAfter(n int) func() {
	old := deferAfter
	deferAfter = n
	return func() { deferAfter = old }
}

// PageSQL is the SQL List runs for the page of f, with the census counted
// now.
func PageSQL(ctx context.Context, s *Service, f Filter) (string, error) {
	if err := f.Normalize(DefaultLimit); err != nil {
		return "", err
	}
	cells, err := s.cells(ctx)
	if err != nil {
		return "", err
	}
	var items []User
	q, _ := s.pageQuery(&items, f, countMatching(cells, f), cells)
	return q.String(), nil
}

// SetBrowseWindow changes how many rows of an order a list pages through
// from each end, and returns a func that puts it back.
func SetBrowseWindow(n int) func() {
	old := BrowseWindow
	BrowseWindow = n
	return func() { BrowseWindow = old }
}

// SetWalkFactor changes how many index entries a walk of the sort order
// may read per match read (0: never walk; very large: always), and returns
// a func that puts it back.
func SetWalkFactor(f float64) func() {
	old := walkFactor
	walkFactor.pg, walkFactor.sqlite = f, f
	return func() { walkFactor = old }
}

// SetGramCommon changes the share of a sample at which a short search
// counts as common on either database (0: never, so every short search
// goes through the search index's grams or trigrams), and returns a func
// that puts it back.
func SetGramCommon(n int) func() {
	old := gramCommon
	gramCommon.pg, gramCommon.sqlite = n, n
	return func() { gramCommon = old }
}

// KeptMatchSets is how many filters' matches the console cache keeps
// (matchSet), and what they weigh.
func (s *Service) KeptMatchSets() (n, bytes int) {
	s.console.mu.Lock()
	defer s.console.mu.Unlock()
	for k, e := range s.console.entries {
		if strings.HasSuffix(k, "|matches") && e.value.(*matchSet) != nil {
			n++
		}
	}
	return n, s.console.bytes
}

// MatchesKept says whether the console cache holds f's matches
// (matchSet), which it collects behind the request that first needs them.
func (s *Service) MatchesKept(f Filter) bool {
	if err := f.Normalize(DefaultLimit); err != nil {
		return false
	}
	s.console.mu.Lock()
	defer s.console.mu.Unlock()
	e := s.console.entries[listKey(f)+"|matches"]
	return e != nil && e.value.(*matchSet) != nil
}

// SetMaxConsoleBytes changes what the console cache's weighed values may
// weigh together, and returns a func that puts it back.
func SetMaxConsoleBytes(n int) func() {
	old := maxConsoleBytes
	maxConsoleBytes = n
	return func() { maxConsoleBytes = old }
}

// PageFromKept reads page f.Page of f from its kept matches (matchSet), as
// ConsoleList's pages do; ok is false when they don't answer it.
func (s *Service) PageFromKept(ctx context.Context, f Filter) (items []User, ok bool, err error) {
	if err := f.Normalize(DefaultLimit); err != nil {
		return nil, false, err
	}
	f.keep = listKey(f)
	items, ok, start, err := s.pageFromMatches(ctx, &f, (f.Page-1)*f.Limit)
	start()
	return items, ok, err
}
