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
	Page    int
	Limit   int
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
}

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
		items, err := s.listPage(ctx, f, total, cells)
		if err != nil {
			return Page[User]{}, err
		}
		return pageOf(items, total, false, f), nil
	}
	if utf8.RuneCountInString(f.Search) < 3 && f.Search != "" {
		ids, err := s.matchingIDs(ctx, f)
		if err != nil {
			return Page[User]{}, err
		}
		return s.listUnindexed(ctx, ids, f, false)
	}
	items := []User{}
	q := s.db.NewSelect().Model(&items)
	s.applyFilter(q, f)
	if err := q.OrderExpr(orderBy(f.Sort)).Limit(int64(f.Limit)).Offset(int64((f.Page - 1) * f.Limit)).Scan(ctx); err != nil {
		return Page[User]{}, err
	}
	total, atLeast, err := s.countCapped(ctx, f)
	if err != nil {
		return Page[User]{}, err
	}
	return pageOf(items, total, atLeast, f), nil
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
func (s *Service) countCapped(ctx context.Context, f Filter) (n int, atLeast bool, err error) {
	if phrase, ok := s.searchOnly(f); ok {
		// SQLite: the search index has one row per account, so counting
		// its matches spares reading every matching account.
		sub := s.db.NewSelect().TableExpr("users_fts").Column("rowid").Where("users_fts MATCH ?", phrase).Limit(int64(shortSearchIDs + 1))
		err = s.db.NewSelect().TableExpr("(?) AS m", sub).ColumnExpr("count(*)").Scan(ctx, &n)
	} else {
		sub := s.db.NewSelect().Model((*User)(nil)).Column("u.id")
		s.applyFilter(sub, f)
		err = s.db.NewSelect().TableExpr("(?) AS m", sub.Limit(int64(shortSearchIDs+1))).ColumnExpr("count(*)").Scan(ctx, &n)
	}
	if n > shortSearchIDs {
		return shortSearchIDs, true, err
	}
	return n, false, err
}

// deferAfter is the offset from which listPage reads the page's ids first
// (through an index that holds the filter's columns) and then their rows.
var deferAfter = 500

// listPage reads page f.Page of the accounts f selects (total of them,
// from the census), from whichever end of the sort order is nearer: the
// last page of a million accounts reads fifty index entries, not a million.
// Past the first few pages it reads the page's ids alone, from an index
// that holds the filter's columns, and only then the fifty accounts.
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
	if offset < deferAfter {
		q.OrderExpr(s.applyFilterFor(q, f, cells, order)).Limit(int64(limit)).Offset(int64(offset))
	} else {
		ids := s.db.NewSelect().Model((*User)(nil)).Column("u.id")
		ids.OrderExpr(s.applyFilterFor(ids, f, cells, order)).Limit(int64(limit)).Offset(int64(offset))
		q.Where("u.id IN (?)", ids).OrderExpr(order)
	}
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
// for them ("+u.type"), and it walks the sort order; below that, the
// ORDER BY is ("+u.created_at"), and SQLite reads the matches through the
// filter's index (users_type_level_idx carries the sort keys) and sorts
// them. PostgreSQL has real statistics and picks on its own.
func (s *Service) applyFilterFor(q *bun.SelectQuery, f Filter, cells map[cell]int, order string) string {
	if IsPostgres(s.db) {
		s.applyFilter(q, f)
		return order
	}
	all := 0
	for _, n := range cells {
		all += n
	}
	if countMatching(cells, f)*10 < all {
		s.applyFilter(q, f)
		if strings.HasPrefix(order, "lower(") {
			// No index holds both the filter and lower(username): walking
			// the username index (which carries type, level and group)
			// beats reading each match's row to sort them.
			return order
		}
		return unindexedOrder(order)
	}
	if t, ok := Types[f.Type]; ok {
		q.Where("+u.type = ?", t)
	}
	if f.NotDeleted {
		q.Where("+u.type <> ?", TypeDeleted)
	}
	if f.Level != nil {
		q.Where("+u.level = ?", *f.Level)
	}
	if lo, hi, ok := RoleLevels(f.Role); ok && f.Role != "" {
		q.Where("+u.level BETWEEN ? AND ?", lo, hi)
	}
	if f.Group != "" {
		q.Where("+u.group_name = ?", f.Group)
	}
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

// shortSearchIDs is how many matches of a one- or two-character search
// listUnindexed collects before it walks the sort order instead.
var shortSearchIDs = 5000

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
		s.applyFilter(q, f)
		err = q.Scan(ctx)
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

func (s *Service) applyFilter(q *bun.SelectQuery, f Filter) {
	if t, ok := Types[f.Type]; ok {
		q.Where("u.type = ?", t)
	}
	if f.Level != nil {
		q.Where("u.level = ?", *f.Level)
	}
	if lo, hi, ok := RoleLevels(f.Role); ok && f.Role != "" {
		q.Where("u.level BETWEEN ? AND ?", lo, hi)
	}
	if f.Group != "" {
		q.Where("u.group_name = ?", f.Group)
	}
	if f.NotDeleted {
		q.Where("u.type <> ?", TypeDeleted)
	}
	if !f.CreatedFrom.IsZero() {
		q.Where("u.created_at >= ?", f.CreatedFrom.UTC())
	}
	if !f.CreatedBefore.IsZero() {
		q.Where("u.created_at < ?", f.CreatedBefore.UTC())
	}
	if f.Search != "" {
		s.applySearch(q, f.Search, !f.NoEmailSearch)
	}
}

// applySearch matches a case-insensitive substring of username, e-mail
// (unless withEmail is false) or name, with every character (% _ ' ")
// taken literally. PostgreSQL answers from pg_trgm GIN indexes; SQLite
// from an FTS5 trigram index when the term has three characters or more,
// and by a scan below that.
func (s *Service) applySearch(q *bun.SelectQuery, term string, withEmail bool) {
	like := "%" + escapeLike(term) + "%"
	if IsPostgres(s.db) && utf8.RuneCountInString(term) < 3 {
		// Too short for the trigram indexes: a scan, where lower() LIKE
		// costs about two thirds of ILIKE.
		if withEmail {
			q.Where(`(lower(u.username) LIKE lower(?) ESCAPE '\' OR lower(u.email) LIKE lower(?) ESCAPE '\' OR lower(u.name) LIKE lower(?) ESCAPE '\')`, like, like, like)
		} else {
			q.Where(`(lower(u.username) LIKE lower(?) ESCAPE '\' OR lower(u.name) LIKE lower(?) ESCAPE '\')`, like, like)
		}
		return
	}
	if IsPostgres(s.db) {
		if withEmail {
			q.Where(`(u.username ILIKE ? ESCAPE '\' OR u.email ILIKE ? ESCAPE '\' OR u.name ILIKE ? ESCAPE '\')`, like, like, like)
		} else {
			q.Where(`(u.username ILIKE ? ESCAPE '\' OR u.name ILIKE ? ESCAPE '\')`, like, like)
		}
		return
	}
	if utf8.RuneCountInString(term) >= 3 {
		q.Where("u.id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ?)", ftsPhrase(term, withEmail))
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
