package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// Page is one page of a listing and the total count behind it.
type Page[T any] struct {
	Items []T
	Total int
	// AtLeast says Total is a lower bound: the console stops counting the
	// matches of a one- or two-character search there (see ConsoleList).
	AtLeast bool
	// Beyond says the page lies outside the browse window: more than
	// BrowseWindow rows from the start of its order and, when the total is
	// exact, from its end. No rows are read for it; the last rows of an
	// order are the first of the reversed order (see BrowseWindow).
	Beyond bool
	Page   int
	Limit  int
}

// BrowseWindow is how many rows of any order a list pages through from
// each end, as search engines bound their result windows (Elasticsearch's
// max_result_window, GitHub's 1,000 results): a page starts at most this
// many rows from the start of its order, or (when the total is exact) ends
// at most this many from its end, which is read backwards. Every such page
// is an index walk of at most BrowseWindow entries, whatever the filter
// and sort; the pages in between are reached by sorting the other way or
// by narrowing the filter. Searches and date ranges, whose count stops
// at shortSearchIDs (the pager's last page), page through their first
// BrowseWindow matches.
var BrowseWindow = 5000

// beyondWindow says whether the page at offset (of total rows; exact says
// whether that total is exact) lies outside the browse window.
func beyondWindow(offset, total int, exact bool) bool {
	if offset < BrowseWindow {
		return false
	}
	return !exact || total-offset > BrowseWindow
}

// WindowNote says why a page beyond the browse window is not listed and
// how to reach its rows: the reversed sort (of sort, a Filter.Sort) when
// the total is exact, a narrower filter either way.
func WindowNote(atLeast bool, sort string) string {
	n := formatThousands(BrowseWindow)
	if atLeast {
		return "Only the first " + n + " matches are listed: narrow the search or the filter."
	}
	if sort == "" {
		sort = "created_at"
	}
	return "Only the first and the last " + n + " of an order are listed: sort the other way (sort=" + flipSort(sort) + ") or narrow the filter."
}

// formatThousands writes n with commas (5,000).
func formatThousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// beyond is the answer for a page outside the browse window.
func beyond[T any](total int, atLeast bool, page, limit int) Page[T] {
	return Page[T]{Items: []T{}, Total: total, AtLeast: atLeast, Beyond: true, Page: page, Limit: limit}
}

// TotalPages is the number of pages (at least 1).
func (p Page[T]) TotalPages() int {
	if p.Limit <= 0 || p.Total == 0 {
		return 1
	}
	return (p.Total + p.Limit - 1) / p.Limit
}

// HasNext reports whether a page follows.
func (p Page[T]) HasNext() bool { return p.Page < p.TotalPages() }

// Unlisted is the range of pages beyond the browse window, for saying so
// under the list: from the first page past BrowseWindow rows to the last
// page more than BrowseWindow rows from the end (0 when the total is a
// lower bound: every page past the first ones).
func (p Page[T]) Unlisted() (from, to int) {
	if p.Limit <= 0 {
		return 0, 0
	}
	from = (BrowseWindow+p.Limit-1)/p.Limit + 1
	if !p.AtLeast {
		to = (p.Total - BrowseWindow + p.Limit - 1) / p.Limit
	}
	return from, to
}

// HasPrev reports whether a page comes before.
func (p Page[T]) HasPrev() bool { return p.Page > 1 }

// Paging limits.
const (
	DefaultLimit = 50
	MaxLimit     = 100
	MaxPage      = 100000
)

// Filter selects accounts for List (SPEC §2).
type Filter struct {
	Type   string // all (default), active, inactive, blocked, deleted
	Level  *int
	Role   string
	Search string
	Group  string
	Sort   string // created_at (default), id, username, last_login_at, last_seen_at, points, level; "-" prefix for descending
	Page   int
	Limit  int

	// NoEmailSearch limits Search to username and name, for viewers who
	// may not see e-mail addresses (a match would reveal them).
	NoEmailSearch bool
	// CreatedFrom and CreatedBefore bound created_at (inclusive,
	// exclusive); zero means unbounded.
	CreatedFrom   time.Time
	CreatedBefore time.Time
	// NotDeleted leaves deleted accounts out (what members may list).
	NotDeleted bool

	// grams is set by planShortSearch (SQLite) for a one- or
	// two-character search: the FTS5 query of the trigrams that start with
	// it (gramsNone: there are none), or "" to scan.
	grams string
	// hits is how many of the first gramSample accounts match Search,
	// when sampled (sampleHits): read once for the filter.
	hits    int
	sampled bool
	// walk is set by searchFrom when the page is found by walking the sort
	// order: on SQLite no filter term may then use an index.
	walk bool
	// keep is the console cache's key for the filter, set by ConsoleList:
	// readPage may then answer from the filter's kept matches (matchSet).
	keep string
}

// sampleHits counts the accounts among the first gramSample that match
// f's search (how common the term is), once per filter: the short-search
// plan and the choice of reading order both ask.
func (s *Service) sampleHits(ctx context.Context, f *Filter) (int, error) {
	if f.sampled {
		return f.hits, nil
	}
	sample := s.db.NewSelect().Model((*User)(nil)).Column("u.username", "u.email", "u.name").Limit(int64(gramSample))
	probe := s.db.NewSelect().TableExpr("(?) AS u", sample).ColumnExpr("count(*)")
	s.applyLike(probe, f.Search, !f.NoEmailSearch)
	if err := probe.Scan(ctx, &f.hits); err != nil {
		return 0, err
	}
	f.sampled = true
	return f.hits, nil
}

// gramsNone stands for a short search whose characters start no trigram
// of the search index: nothing matches.
const gramsNone = "\x00none"

// gramsScan stands for a short search common enough to scan for
// (planShortSearch): PostgreSQL then leaves the grams out, which it would
// otherwise compute for every account its walk of the sort order reads.
const gramsScan = "\x00scan"

// Types maps the filter's type words to account types.
var Types = map[string]int{"active": TypeActive, "blocked": TypeBanned, "inactive": TypeInactive, "deleted": TypeDeleted}

// SortKeys are the columns List may sort by.
var SortKeys = []string{"created_at", "id", "username", "last_login_at", "last_seen_at", "points", "level"}

// Normalize clamps paging into range and checks the words of the filter;
// it returns a ValidationError naming a field it can't honour.
func (f *Filter) Normalize(defaultLimit int) error {
	c := checker{}
	f.Type = strings.ToLower(strings.TrimSpace(f.Type))
	if f.Type == "" {
		f.Type = "all"
	}
	if _, ok := Types[f.Type]; !ok && f.Type != "all" {
		c.add("type", "Unknown type; use all, active, inactive, blocked or deleted.")
	}
	f.Role = strings.ToLower(strings.TrimSpace(f.Role))
	if _, _, ok := RoleLevels(f.Role); f.Role != "" && !ok {
		c.add("role", "Unknown role; use "+strings.Join(Roles, ", ")+".")
	}
	if f.Level != nil && (*f.Level < 0 || *f.Level > MaxLevel) {
		c.add("level", "Level is 0 to 10.")
	}
	f.Search = strings.TrimSpace(f.Search)
	if !textOK(f.Search) {
		c.add("search", "The search contains characters that can't be searched for.")
	} else if utf8.RuneCountInString(f.Search) > 100 {
		c.add("search", "Search for at most 100 characters.")
	}
	f.Sort = strings.TrimSpace(f.Sort)
	if f.Sort == "" {
		f.Sort = "created_at"
	}
	if !validSort(f.Sort) {
		c.add("sort", "Sort by one of "+strings.Join(SortKeys, ", ")+", with - in front for descending.")
	}
	if defaultLimit <= 0 {
		defaultLimit = DefaultLimit
	}
	if f.Limit <= 0 {
		f.Limit = defaultLimit
	}
	f.Limit = min(f.Limit, MaxLimit)
	f.Page = min(max(f.Page, 1), MaxPage)
	return c.err()
}

func validSort(s string) bool {
	key := strings.TrimPrefix(s, "-")
	for _, k := range SortKeys {
		if k == key {
			return true
		}
	}
	return false
}

// List returns one page of the accounts the filter selects.
//
// Without a search or date range, the total comes from the census the
// database keeps (user_census), exact, and the page is read from the
// nearer end of the sort order through an index (see listPage), so that
// every page of a million accounts costs about the same. A search or date
// range counts its matches up to shortSearchIDs and says "at least" beyond
// (Page.AtLeast): counting every match of a broad search is what would
// cost.
func (s *Service) List(ctx context.Context, f Filter) (Page[User], error) {
	if err := f.Normalize(DefaultLimit); err != nil {
		return Page[User]{}, err
	}
	s.poll(ctx)
	if countable(f) {
		cells, err := s.cells(ctx)
		if err != nil {
			return Page[User]{}, err
		}
		total := countMatching(cells, f)
		if beyondWindow((f.Page-1)*f.Limit, total, true) {
			return beyond[User](total, false, f.Page, f.Limit), nil
		}
		items, err := s.listPage(ctx, f, total, cells)
		if err != nil {
			return Page[User]{}, err
		}
		return pageOf(items, total, false, f), nil
	}
	if utf8.RuneCountInString(f.Search) < 3 && f.Search != "" {
		if err := s.planShortSearch(ctx, &f); err != nil {
			return Page[User]{}, err
		}
		ids, err := s.matchingIDs(ctx, f)
		if err != nil {
			return Page[User]{}, err
		}
		return s.listUnindexed(ctx, ids, f, false)
	}
	total, atLeast, err := s.countCapped(ctx, &f) // its sample of accounts serves the page too
	if err != nil {
		return Page[User]{}, err
	}
	return s.searchPage(ctx, f, total, atLeast)
}

// searchPage reads page f.Page of a search or date range whose matches
// were counted up to shortSearchIDs (total; atLeast when there are more).
func (s *Service) searchPage(ctx context.Context, f Filter, total int, atLeast bool) (Page[User], error) {
	offset := (f.Page - 1) * f.Limit
	if beyondWindow(offset, total, !atLeast) {
		return beyond[User](total, atLeast, f.Page, f.Limit), nil
	}
	if offset >= total && !atLeast {
		return pageOf([]User{}, total, atLeast, f), nil
	}
	items, err := s.readPage(ctx, f, offset)
	if err != nil {
		return Page[User]{}, err
	}
	return pageOf(items, total, atLeast, f), nil
}

// readPage reads the page at offset of a search or date range along f's
// sort order: from the filter's kept matches when ConsoleList keeps them
// (pageFromMatches), or the page's ids first, the way searchFrom chooses
// (a walk of the sort order then reads its index alone), then their
// accounts.
func (s *Service) readPage(ctx context.Context, f Filter, offset int) ([]User, error) {
	items, ok, start, err := s.pageFromMatches(ctx, &f, offset)
	defer start() // after this page's own reading
	if err != nil || ok {
		return items, err
	}
	items = []User{}
	ids := s.db.NewSelect().Model((*User)(nil)).Column("u.id")
	order, err := s.searchFrom(ctx, ids, &f, offset)
	if err != nil {
		return nil, err
	}
	ids.OrderExpr(order).Limit(int64(f.Limit)).Offset(int64(offset))
	err = s.db.NewSelect().Model(&items).Where("u.id IN (?)", ids).OrderExpr(orderBy(f.Sort)).Scan(ctx)
	return items, err
}

// walkFactor is how many index entries a walk of the sort order may read
// for each account that reading the matches would (searchFrom), for each
// database: the walk reads an index alone (the sort indexes carry the
// searched columns, migration 20261202000101), the matches are read at
// random and sorted. Measured at a million accounts, warm, for the 9,700
// matches of "hnso":
//   - PostgreSQL: about 1.1 µs an entry walked (lower() LIKE on three
//     columns), 2.2 µs a match read (a bitmap heap scan of the trigram
//     indexes);
//   - SQLite: about 0.25 µs an entry walked, 1.6 µs a match read (its
//     row looked up by rowid from the search index's).
var walkFactor = perDB[float64]{pg: 2, sqlite: 8}

// perDB is a tuning constant measured apart for each database.
type perDB[T any] struct{ pg, sqlite T }

// of is the constant for db.
func (c perDB[T]) of(db bun.IDB) T {
	if IsPostgres(db) {
		return c.pg
	}
	return c.sqlite
}

// searchFrom adds f's filter to q, the ids of a page at offset of a search
// or date range along f's sort order, and returns the ORDER BY to use. It
// first estimates what each way of reading the page costs, from the share
// of accounts that match: the share of a sample of gramSample accounts
// that match the search, of the accounts created in the date range
// (daily_counts) and of those the type, level, role and group keep (the
// census). Walking the sort order's index reads about (offset+limit)/share
// entries; reading every match (through the search indexes, or the
// created_at index for a date range) and sorting them reads share × all of
// them. Neither planner can tell: LIKE's selectivity is a guess, and SQLite
// plans from rough statistics (it read the 210,000 accounts of the last 30
// days and sorted them, 1.1 s, where the walk reads 5,000 entries).
//
// When walking is cheaper, the search is a plain LIKE (no search index to
// tempt the planner) and on SQLite no filter term can use an index ("+"),
// so both walk. When reading the matches is, PostgreSQL reads from a
// subquery with LIMIT, which it must plan apart (a fence), and SQLite is
// given an ORDER BY no index can serve, so it reads the matches and sorts.
func (s *Service) searchFrom(ctx context.Context, q *bun.SelectQuery, f *Filter, offset int) (string, error) {
	order := orderBy(f.Sort)
	if f.grams == gramsNone {
		s.applyFilter(q, *f)
		return order, nil
	}
	walk, _, err := s.walkCheaper(ctx, f, offset+f.Limit)
	if err != nil {
		return "", err
	}
	if walk {
		if f.Search != "" {
			f.grams = gramsScan
		}
		f.walk = true
		s.applyFilter(q, *f)
		return order, nil
	}
	if !IsPostgres(s.db) {
		s.applyFilter(q, *f)
		return unindexedOrder(order), nil
	}
	sub := s.db.NewSelect().Model((*User)(nil)).Column(sortColumns(f.Sort)...)
	s.applyFilter(sub, *f)
	q.ModelTableExpr("(?) AS u", sub.Limit(1<<31-1))
	return order, nil
}

// walkCheaper says whether finding the first need matches of f (a search
// or date range) along an index costs less than reading every match
// (searchFrom has the estimate and its reasons), and how many matches it
// estimates.
func (s *Service) walkCheaper(ctx context.Context, f *Filter, need int) (walk bool, matches float64, err error) {
	cells, err := s.cells(ctx)
	if err != nil {
		return false, 0, err
	}
	all := max(countMatching(cells, Filter{}), 1)
	share := float64(max(countMatching(cells, *f), 1)) / float64(all)
	read := 1.0 // the share of accounts read to find the matches
	if f.Search != "" {
		hits, err := s.sampleHits(ctx, f)
		if err != nil {
			return false, 0, err
		}
		searched := max(float64(hits), 0.5) / float64(gramSample)
		share *= searched
		read = searched
	}
	if !f.CreatedFrom.IsZero() || !f.CreatedBefore.IsZero() {
		created, err := s.createdShare(ctx, *f, all)
		if err != nil {
			return false, 0, err
		}
		share *= created
		read = min(read, created)
	}
	return float64(need)/share <= walkFactor.of(s.db)*read*float64(all), share * float64(all), nil
}

// sortColumns are the columns orderBy(sort) reads: all a page's ids need
// from the subquery that reads the matches (searchFrom), which would
// otherwise carry every column of every match to the sort.
func sortColumns(sort string) []string {
	switch key := strings.TrimPrefix(sort, "-"); key {
	case "id":
		return []string{"u.id"}
	case "username":
		return []string{"u.id", "u.username"}
	default:
		return []string{"u.id", "u." + key}
	}
}

// createdShare estimates the share of the accounts f's date range keeps,
// from the sign-ups of each day (daily_counts), whole days.
func (s *Service) createdShare(ctx context.Context, f Filter, all int) (float64, error) {
	q := s.db.NewSelect().TableExpr("daily_counts").ColumnExpr("coalesce(sum(n), 0)").Where("kind = 'signup'")
	if !f.CreatedFrom.IsZero() {
		q.Where("day >= ?", f.CreatedFrom.UTC().Format("2006-01-02"))
	}
	if !f.CreatedBefore.IsZero() {
		q.Where("day <= ?", f.CreatedBefore.UTC().Format("2006-01-02"))
	}
	var n int
	if err := q.Scan(ctx, &n); err != nil {
		return 0, err
	}
	return min(float64(max(n, 1))/float64(all), 1), nil
}

// countable says whether the census alone counts what f selects.
func countable(f Filter) bool {
	return f.Search == "" && f.CreatedFrom.IsZero() && f.CreatedBefore.IsZero()
}

// pageOf makes the page. Counted a moment apart, the total may lag a row
// written in between: it never shows fewer than the rows listed.
func pageOf(items []User, total int, atLeast bool, f Filter) Page[User] {
	if len(items) > 0 {
		total = max(total, (f.Page-1)*f.Limit+len(items))
	}
	return Page[User]{Items: items, Total: total, AtLeast: atLeast, Page: f.Page, Limit: f.Limit}
}

// countCapped counts the matches of f up to shortSearchIDs; atLeast says
// there are more.
func (s *Service) countCapped(ctx context.Context, f *Filter) (n int, atLeast bool, err error) {
	if phrase, ok := s.searchOnly(*f); ok {
		// SQLite: the search index has one row per account, so counting
		// its matches spares reading every matching account.
		sub := s.db.NewSelect().TableExpr("users_fts").Column("rowid").Where("users_fts MATCH ?", phrase).Limit(int64(shortSearchIDs + 1))
		err = s.db.NewSelect().TableExpr("(?) AS m", sub).ColumnExpr("count(*)").Scan(ctx, &n)
	} else {
		read, rerr := s.readMatches(ctx, f)
		if rerr != nil {
			return 0, false, rerr
		}
		sub := s.db.NewSelect().Model((*User)(nil)).Column("u.id")
		s.applyFilter(sub, *f)
		if read {
			// PostgreSQL, a search rarer than its guess: LIKE's selectivity
			// is a guess (4% for "smi", which 1% of the accounts match), and
			// with LIMIT it scanned the table for the first matches (95,000
			// rows, 140 ms) where the trigram indexes find them all in 7 ms.
			// A MATERIALIZED CTE is planned for all its rows; the LIMIT
			// outside still stops reading at the cap.
			err = s.db.NewRaw("WITH m AS MATERIALIZED (?) SELECT count(*) FROM (SELECT 1 FROM m LIMIT ?) AS c",
				sub, shortSearchIDs+1).Scan(ctx, &n)
		} else {
			err = s.db.NewSelect().TableExpr("(?) AS m", sub.Limit(int64(shortSearchIDs+1))).ColumnExpr("count(*)").Scan(ctx, &n)
		}
	}
	if n > shortSearchIDs {
		return shortSearchIDs, true, err
	}
	return n, false, err
}

// readMatches says whether countCapped should read a search's matches
// through the search indexes rather than scan for them: on PostgreSQL,
// for a search of three characters or more, when walking to the cap's
// worth of matches costs more than reading them all (walkCheaper).
func (s *Service) readMatches(ctx context.Context, f *Filter) (bool, error) {
	if !IsPostgres(s.db) || utf8.RuneCountInString(f.Search) < 3 {
		return false, nil
	}
	walk, _, err := s.walkCheaper(ctx, f, shortSearchIDs+1)
	return !walk, err
}

// deferAfter is the offset from which the audit log (Events) reads the
// page's ids first (through an index that holds the filter's columns) and
// then their rows; the account list always does (pageQuery).
var deferAfter = 500

// listPage reads page f.Page of the accounts f selects (total of them,
// from the census), from whichever end of the sort order is nearer: the
// last page of a million accounts reads fifty index entries, not a million.
// It reads the page's ids alone, from an index that holds the filter's
// columns, and only then the fifty accounts.
func (s *Service) listPage(ctx context.Context, f Filter, total int, cells map[cell]int) ([]User, error) {
	items := []User{}
	q, reversed := s.pageQuery(&items, f, total, cells)
	if q == nil {
		return items, nil
	}
	if err := q.Scan(ctx); err != nil {
		return nil, err
	}
	if reversed {
		slices.Reverse(items)
	}
	return items, nil
}

// pageQuery is listPage's query (nil past the end); reversed says it reads
// the page backwards.
func (s *Service) pageQuery(items *[]User, f Filter, total int, cells map[cell]int) (q *bun.SelectQuery, reversed bool) {
	offset, limit, sort := (f.Page-1)*f.Limit, f.Limit, f.Sort
	if offset >= total {
		return nil, false
	}
	reversed = offset > total/2
	if reversed {
		sort = flipSort(sort)
		end := total - offset // rows from offset to the end
		limit = min(f.Limit, end)
		offset = end - limit
	}
	order := orderBy(sort)
	q = s.db.NewSelect().Model(items)
	// The page's ids first, from an index that holds the filter's columns
	// and the sort key, then the fifty accounts. Read whole, a page walks
	// or sorts whole rows: page 1 of type=blocked (2%) by username read
	// 3,000 accounts from PostgreSQL's table to skip the 2,950 not banned
	// (80–160 ms), and SQLite read the 20,000 banned accounts to sort them
	// (270–390 ms); a short last page (LIMIT 1, read backwards) with
	// statistics, SQLite read every account in another order and sorted
	// them (10 s at a million).
	ids := s.db.NewSelect().Model((*User)(nil)).Column("u.id")
	ids.OrderExpr(s.applyFilterFor(ids, f, cells, order)).Limit(int64(limit)).Offset(int64(offset))
	q.Where("u.id IN (?)", ids).OrderExpr(order)
	return q, reversed
}

// flipSort is the sort key in the other direction.
func flipSort(sort string) string {
	if strings.HasPrefix(sort, "-") {
		return sort[1:]
	}
	return "-" + sort
}

// applyFilterFor is applyFilter for an unsearched list whose census cells
// are known, and returns the ORDER BY to use with it. SQLite plans from
// rough statistics: given u.type = 1 it may read every active account
// through the type index and sort them (a temporary B-tree of 960,000
// rows), where walking the sort order's index and skipping the 4% that
// don't match reads fifty; and given u.type = 2 with a deep page it may
// walk the sort index past half a million entries, where reading the
// 20,000 banned accounts through the type index and sorting them is
// quicker. So, from the census: when the filter keeps more than a tenth of
// the accounts, its terms are written so that SQLite can't use an index
// for them ("+u.type"; not the level's when the walk is along the level
// index, which then starts and stops at it), and it walks the sort order;
// below that, the
// ORDER BY is ("+u.created_at"), and SQLite reads the matches through the
// filter's index (users_type_level_idx carries the sort keys) and sorts
// them. PostgreSQL has real statistics and picks on its own.
func (s *Service) applyFilterFor(q *bun.SelectQuery, f Filter, cells map[cell]int, order string) string {
	few := countMatching(cells, f)*10 < countMatching(cells, Filter{})
	if IsPostgres(s.db) || few {
		s.applyFilter(q, f)
		if _, typed := Types[f.Type]; !typed && f.Group != "" {
			// users_type_level_idx leads with the type: naming every type
			// lets both read a group's accounts from it (four short
			// ranges) rather than walk a sort index or scan a million
			// (group=vip, page 100: 250–290 ms on PostgreSQL, 450 ms on
			// SQLite).
			q.Where("u.type IN (?)", bun.In([]int{TypeActive, TypeBanned, TypeInactive, TypeDeleted}))
		}
		if IsPostgres(s.db) {
			return order
		}
		// users_type_level_idx holds the username too (migration
		// 20261201000102): sorting by it reads the matches from the index
		// alone, like the other keys.
		return unindexedOrder(order)
	}
	f.walk = true
	s.applyFilter(q, f)
	return order
}

// unindexedOrder is an ORDER BY (of orderBy) that no index can give.
func unindexedOrder(order string) string {
	parts := strings.Split(order, ", ")
	for i, p := range parts {
		parts[i] = "+" + p
	}
	return strings.Join(parts, ", ")
}

// shortSearchIDs is how many matches of a search or date range are
// counted (beyond: "more than", Page.AtLeast; the pager then ends at page
// shortSearchIDs/50), and how many matches of a one- or two-character
// search listUnindexed collects before it walks the sort order instead.
// 1,000, as GitHub's search lists 1,000 results: the pager's last page of
// a broad search is found within about a thousand accounts read along the
// sort order (no sort index holds the searched columns), where page 100 of
// 5,000 took 200–800 ms at a million accounts.
var shortSearchIDs = 1000

// matchingIDs collects the ids of the accounts a search too short for the
// search indexes (one or two characters) matches, up to shortSearchIDs+1,
// in one scan. Only a scan of every account can match such a term: walking
// the sort order's index until a page of matches turns up is quick when
// matches are many but reads every account, in random order, when they are
// few (seconds at a million); this scan stops early when they are many.
func (s *Service) matchingIDs(ctx context.Context, f Filter) ([]int64, error) {
	var ids []int64
	q := s.db.NewSelect().Model((*User)(nil)).Column("u.id")
	s.applyFilter(q, f)
	if f.grams == gramsScan {
		// A common term, scanned for: along users_id_sort_idx, which
		// carries the searched columns, PostgreSQL reads no table (27,000
		// accounts scanned for the first 1,001 matches of "mo": 20-37 ms,
		// 40-60 ms from the table).
		q.Order("u.id")
	}
	return ids, q.Limit(int64(shortSearchIDs+1)).Scan(ctx, &ids)
}

// listUnindexed answers a one- or two-character search from the ids
// matchingIDs found: the page is read by id when they are all there. When
// there are more, a page of them turns up soon along the sort order, and
// the total is counted (exact, the scan it takes) or left at
// shortSearchIDs as a lower bound.
func (s *Service) listUnindexed(ctx context.Context, ids []int64, f Filter, exact bool) (Page[User], error) {
	page := Page[User]{Items: []User{}, Page: f.Page, Limit: f.Limit}
	offset := (f.Page - 1) * f.Limit
	if len(ids) > shortSearchIDs && !exact && beyondWindow(offset, shortSearchIDs, false) {
		return beyond[User](shortSearchIDs, true, f.Page, f.Limit), nil
	}
	q := s.db.NewSelect().Model(&page.Items).OrderExpr(orderBy(f.Sort)).Limit(int64(f.Limit)).Offset(int64(offset))
	var err error
	switch {
	case len(ids) <= shortSearchIDs:
		page.Total = len(ids)
		if offset < len(ids) {
			err = q.Where("u.id IN (?)", bun.In(ids)).Scan(ctx)
		}
	case exact:
		s.applyFilter(q, f)
		var n int64
		n, err = q.ScanAndCount(ctx)
		page.Total = int(n)
	default:
		page.Items, err = s.readPage(ctx, f, offset)
		page.Total, page.AtLeast = shortSearchIDs, true
	}
	if err != nil {
		return Page[User]{}, err
	}
	if len(page.Items) > 0 {
		page.Total = max(page.Total, offset+len(page.Items))
	}
	return page, nil
}

// applyFilter adds f's conditions to q (users aliased u). When searchFrom
// chose to walk the sort order on SQLite, no term can use an index ("+"):
// SQLite would otherwise read every match through the created_at or type
// index and sort them.
func (s *Service) applyFilter(q *bun.SelectQuery, f Filter) {
	p, pl := "", "" // pl: for the level, unless the walk is along it
	if f.walk && !IsPostgres(s.db) {
		p, pl = "+", "+"
		if strings.TrimPrefix(f.Sort, "-") == "level" {
			pl = ""
		}
	}
	if t, ok := Types[f.Type]; ok {
		q.Where(p+"u.type = ?", t)
	}
	if f.Level != nil {
		q.Where(pl+"u.level = ?", *f.Level)
	}
	if lo, hi, ok := RoleLevels(f.Role); ok && f.Role != "" {
		q.Where(pl+"u.level BETWEEN ? AND ?", lo, hi)
	}
	if f.Group != "" {
		q.Where(p+"u.group_name = ?", f.Group)
	}
	if f.NotDeleted {
		q.Where(p+"u.type <> ?", TypeDeleted)
	}
	// Walking the created_at order, the range is where the walk starts
	// and stops.
	pc := p
	if strings.TrimPrefix(f.Sort, "-") == "created_at" {
		pc = ""
	}
	if !f.CreatedFrom.IsZero() {
		q.Where(pc+"u.created_at >= ?", f.CreatedFrom.UTC())
	}
	if !f.CreatedBefore.IsZero() {
		q.Where(pc+"u.created_at < ?", f.CreatedBefore.UTC())
	}
	if f.Search == "" {
		return
	}
	switch {
	case f.grams == gramsNone:
		q.Where("1 = 0")
	case f.grams == gramsScan:
		s.applyLike(q, f.Search, !f.NoEmailSearch)
	case IsPostgres(s.db) && utf8.RuneCountInString(f.Search) < 3:
		s.applyLike(q, f.Search, !f.NoEmailSearch)
		q.Where("u.id IN (SELECT g.user_id FROM user_grams AS g WHERE g.grams @> ARRAY[lower(?)]::text[])", f.Search)
	case f.grams != "":
		s.applyLike(q, f.Search, !f.NoEmailSearch)
		q.Where("u.id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ?)", f.grams)
	default:
		s.applySearch(q, f.Search, !f.NoEmailSearch)
	}
}

// applySearch matches a case-insensitive substring of username, e-mail
// (unless withEmail is false) or name, with every character (% _ ' ")
// taken literally, through the search indexes where they answer:
// PostgreSQL's pg_trgm GIN indexes and SQLite's FTS5 trigram index for a
// term of three characters or more; below that, LIKE (applyFilter adds
// the grams that narrow it).
func (s *Service) applySearch(q *bun.SelectQuery, term string, withEmail bool) {
	switch {
	case utf8.RuneCountInString(term) < 3:
		s.applyLike(q, term, withEmail)
	case IsPostgres(s.db):
		like := "%" + escapeLike(term) + "%"
		if withEmail {
			q.Where(`(u.username ILIKE ? ESCAPE '\' OR u.email ILIKE ? ESCAPE '\' OR u.name ILIKE ? ESCAPE '\')`, like, like, like)
		} else {
			q.Where(`(u.username ILIKE ? ESCAPE '\' OR u.name ILIKE ? ESCAPE '\')`, like, like)
		}
	default:
		q.Where("u.id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ?)", ftsPhrase(term, withEmail))
	}
}

// applyLike is the same match as applySearch, with no index: what a walk
// of the sort order checks on each account (from the index it walks, which
// carries the searched columns). On PostgreSQL lower() LIKE, which costs
// about two thirds of ILIKE and can't use the trigram indexes.
func (s *Service) applyLike(q *bun.SelectQuery, term string, withEmail bool) {
	like := "%" + escapeLike(term) + "%"
	if IsPostgres(s.db) {
		if withEmail {
			q.Where(`(lower(u.username) LIKE lower(?) ESCAPE '\' OR lower(u.email) LIKE lower(?) ESCAPE '\' OR lower(u.name) LIKE lower(?) ESCAPE '\')`, like, like, like)
		} else {
			q.Where(`(lower(u.username) LIKE lower(?) ESCAPE '\' OR lower(u.name) LIKE lower(?) ESCAPE '\')`, like, like)
		}
		return
	}
	if withEmail {
		q.Where(`(u.username LIKE ? ESCAPE '\' OR u.email LIKE ? ESCAPE '\' OR u.name LIKE ? ESCAPE '\')`, like, like, like)
	} else {
		q.Where(`(u.username LIKE ? ESCAPE '\' OR u.name LIKE ? ESCAPE '\')`, like, like)
	}
}

// ftsPhrase is the FTS5 query for a literal substring (of three
// characters or more) of the username, name and, withEmail, e-mail.
func ftsPhrase(term string, withEmail bool) string {
	phrase := `"` + strings.ReplaceAll(term, `"`, `""`) + `"`
	if !withEmail {
		phrase = "{username name} : " + phrase
	}
	return phrase
}

// searchOnly returns the FTS5 query of a filter that is nothing but a
// search the SQLite search index answers alone.
func (s *Service) searchOnly(f Filter) (string, bool) {
	if IsPostgres(s.db) || utf8.RuneCountInString(f.Search) < 3 || f.Type != "all" || f.Level != nil ||
		f.Role != "" || f.Group != "" || !f.CreatedFrom.IsZero() || !f.CreatedBefore.IsZero() {
		return "", false
	}
	return ftsPhrase(f.Search, !f.NoEmailSearch), true
}

// Short searches on SQLite (planShortSearch).
var (
	// gramSample is how many accounts planShortSearch reads to tell a
	// common term from a rare one.
	gramSample = 2000
	// gramCommon is the share of the sample (1 in gramCommon) at or above
	// which a term counts as common, for each database: a scan finds
	// shortSearchIDs matches within gramCommon × shortSearchIDs accounts,
	// and a walk of the sort order finds a page within a few hundred.
	// PostgreSQL's grams index reads the whole list of accounts holding
	// the gram before the first match (a GIN posting list: the 38,000 of
	// "mo", 32 ms of its 70 ms query at a million accounts), where the scan
	// stops at shortSearchIDs+1 (0.9 µs an index entry: 21 ms for the first
	// 1,001 of "mo", one account in 21): the scan is the quicker from
	// about one account in 45, and one in 25 leaves room for the sample's
	// error.
	gramCommon = perDB[int]{pg: 25, sqlite: 10}
	// gramTerms is the most trigrams planShortSearch matches at once.
	gramTerms = 3000
)

// planShortSearch chooses how a one- or two-character search is answered
// (f.grams). A common term (one account in gramCommon of a sample or more)
// is scanned for: matches come soon, in any order. On PostgreSQL a rarer
// one is found through user_grams (applyFilter). On SQLite it is
// looked up in the search index: every occurrence of a short string
// starts a trigram there (migration 20261201000101 ends each column with
// two U+001F), so the accounts holding it are those matching any trigram
// of users_fts_vocab that starts with it. LIKE then checks each.
func (s *Service) planShortSearch(ctx context.Context, f *Filter) error {
	f.grams = ""
	n := utf8.RuneCountInString(f.Search)
	if n == 0 || n >= 3 {
		return nil
	}
	hits, err := s.sampleHits(ctx, f)
	if err != nil {
		return err
	}
	if hits*gramCommon.of(s.db) >= gramSample {
		if IsPostgres(s.db) {
			f.grams = gramsScan
		}
		return nil
	}
	if IsPostgres(s.db) {
		return nil // the grams index (applyFilter)
	}
	lo := strings.ToLower(f.Search)
	var terms []string
	if err := s.db.NewSelect().TableExpr("users_fts_vocab").Column("term").
		Where("term >= ? AND term < ?", lo, lo+"\U0010FFFF").Limit(int64(gramTerms+1)).Scan(ctx, &terms); err != nil {
		return err
	}
	switch {
	case len(terms) > gramTerms:
		return nil
	case len(terms) == 0:
		f.grams = gramsNone
		return nil
	}
	var b strings.Builder
	if f.NoEmailSearch {
		b.WriteString("{username name} : ")
	}
	b.WriteString("(")
	for i, t := range terms {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString(`"` + strings.ReplaceAll(t, `"`, `""`) + `"`)
	}
	b.WriteString(")")
	f.grams = b.String()
	return nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// orderBy turns a checked sort key into ORDER BY, with id as the tie-break.
// An account that never signed in (or was never seen) counts as the
// longest ago: first going up, last going down, so that "most recent
// first" shows real sign-ins and "least recent first" the dormant accounts.
// Both directions then walk one index, forwards or backwards.
func orderBy(sort string) string {
	dir := "ASC"
	key := sort
	if strings.HasPrefix(sort, "-") {
		dir, key = "DESC", sort[1:]
	}
	switch key {
	case "id":
		return "u.id " + dir
	case "username":
		return "lower(u.username) " + dir
	case "last_login_at", "last_seen_at":
		nulls := "NULLS FIRST"
		if dir == "DESC" {
			nulls = "NULLS LAST"
		}
		return fmt.Sprintf("u.%s %s %s, u.id %s", key, dir, nulls, dir)
	}
	return fmt.Sprintf("u.%s %s, u.id %s", key, dir, dir)
}
