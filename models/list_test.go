package models_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// names lists the usernames of a page, in order.
func names(p models.Page[models.User]) []string {
	out := make([]string, len(p.Items))
	for i, u := range p.Items {
		out[i] = u.Username
	}
	return out
}

func (e *env) list(f models.Filter) models.Page[models.User] {
	e.t.Helper()
	p, err := e.svc.List(e.ctx, f)
	if err != nil {
		e.t.Fatalf("list %+v: %v", f, err)
	}
	return p
}

func TestListFilters(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		e.user("pub", 0, models.TypeActive)
		e.user("user1", 1, models.TypeActive)
		e.user("user5", 5, models.TypeActive)
		e.user("banned3", 3, models.TypeBanned)
		e.user("waiting1", 1, models.TypeInactive)
		e.user("gone2", 2, models.TypeDeleted)
		e.user("mod6", 6, models.TypeActive)
		e.user("mod7", 7, models.TypeBanned)
		e.user("admin8", 8, models.TypeActive)
		e.user("admin9", 9, models.TypeDeleted)
		e.user("root10", 10, models.TypeActive)

		cases := []struct {
			f    models.Filter
			want string
		}{
			{models.Filter{}, "pub user1 user5 banned3 waiting1 gone2 mod6 mod7 admin8 admin9 root10"},
			{models.Filter{Type: "all"}, "pub user1 user5 banned3 waiting1 gone2 mod6 mod7 admin8 admin9 root10"},
			{models.Filter{Type: "active"}, "pub user1 user5 mod6 admin8 root10"},
			{models.Filter{Type: " Active "}, "pub user1 user5 mod6 admin8 root10"},
			{models.Filter{Type: "inactive"}, "waiting1"},
			{models.Filter{Type: "blocked"}, "banned3 mod7"},
			{models.Filter{Type: "deleted"}, "gone2 admin9"},
			{models.Filter{Level: ptr(1)}, "user1 waiting1"},
			{models.Filter{Level: ptr(0)}, "pub"},
			{models.Filter{Level: ptr(4)}, ""},
			{models.Filter{Role: "public"}, "pub"},
			{models.Filter{Role: "user"}, "user1 user5 banned3 waiting1 gone2"},
			{models.Filter{Role: "moderator"}, "mod6 mod7"},
			{models.Filter{Role: "Admin"}, "admin8 admin9"},
			{models.Filter{Role: "superadmin"}, "root10"},
			{models.Filter{Role: "user", Type: "active"}, "user1 user5"},
			{models.Filter{Role: "moderator", Type: "blocked", Level: ptr(7)}, "mod7"},
			{models.Filter{Role: "moderator", Level: ptr(1)}, ""},
		}
		for _, c := range cases {
			p := e.list(c.f)
			got := strings.Join(names(p), " ")
			if got != c.want || p.Total != len(names(p)) {
				t.Errorf("%+v: got %q (total %d), want %q", c.f, got, p.Total, c.want)
			}
		}
		for _, c := range []struct {
			f     models.Filter
			field string
		}{
			{models.Filter{Type: "banned"}, "type"},
			{models.Filter{Role: "owner"}, "role"},
			{models.Filter{Level: ptr(11)}, "level"},
			{models.Filter{Level: ptr(-1)}, "level"},
			{models.Filter{Search: strings.Repeat("x", 101)}, "search"},
		} {
			_, err := e.svc.List(e.ctx, c.f)
			wantField(t, err, c.field)
		}
	})
}

func TestListSearch(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		mk := func(username, email, name string) {
			t.Helper()
			_, err := e.svc.Create(e.ctx, models.System, models.NewUser{Username: username, Email: email, Name: name, Password: password})
			e.check(err)
		}
		mk("Alice", "alice@example.com", "Alice Liddell")
		mk("bob.iceman", "bob@example.org", "Bob")
		mk("a_c1", "ac1@example.com", "")
		mk("abc1", "abc1@example.com", "")
		mk("percent", "pc@example.com", "100% Real")
		mk("quote1", "q1@example.com", "O'Brien")
		mk("quote2", "q2@example.com", `The "Boss"`)
		mk("plain", "", "Nobody Special")
		mk("under_score", "u_s@example.net", "")

		cases := []struct {
			term string
			want string
		}{
			// 1–2 characters: the LIKE path on SQLite.
			{"%", "percent"},
			{"_", "a_c1 under_score"},
			{"0%", "percent"},
			{"'", "quote1"},
			{`"`, "quote2"},
			{"LI", "Alice"},
			{"c1", "a_c1 abc1"},
			{"a_", "a_c1"},
			// 3 characters and more: the FTS5 path on SQLite.
			{"a_c", "a_c1"},
			{"100%", "percent"},
			{"0% r", "percent"},
			{"o'b", "quote1"},
			{"O'Brien", "quote1"},
			{`"boss"`, "quote2"},
			{`"Boss`, "quote2"},
			{"ALICE", "Alice"},
			{"lidd", "Alice"},
			{"ice", "Alice bob.iceman"},
			{"ICEMAN", "bob.iceman"},
			{"example.org", "bob.iceman"},
			{"EXAMPLE.NET", "under_score"},
			{"@example.com", "Alice a_c1 abc1 percent quote1 quote2"},
			{"body spec", "plain"},
			{"%%%", ""},
			{"___", ""},
			{"a%c", ""},
			{"nomatch", ""},
			{`\`, ""},
			{`a\_c`, ""},
			{"' OR 1=1 --", ""},
			{`" OR "`, ""},
			{"  alice  ", "Alice"},
		}
		for _, c := range cases {
			p := e.list(models.Filter{Search: c.term, Sort: "id"})
			got := strings.Join(names(p), " ")
			if got != c.want || p.Total != len(p.Items) {
				t.Errorf("search %q: got %q (total %d), want %q", c.term, got, p.Total, c.want)
			}
		}

		// A short search collects its matches first, or, when they are
		// many, walks the sort order; both give the same pages, and beyond
		// shortSearchIDs matches the total says "at least".
		for _, term := range []string{"e", "c1", "_", "x", "Bo"} {
			for _, f := range []models.Filter{{Search: term, Sort: "-username"}, {Search: term, Limit: 2, Page: 2}, {Search: term, Page: 5}} {
				want := e.list(f)
				restore := models.SetShortSearchIDs(1)
				got := e.list(f)
				restore()
				capped := want.Total > 1
				if !slices.Equal(names(got), names(want)) || got.AtLeast != capped || (!capped && got.Total != want.Total) ||
					(capped && got.Total != cappedTotal(got, 1)) {
					t.Errorf("short search %+v: walking gives %v (%d, at least %t), collecting %v (%d)", f, names(got), got.Total, got.AtLeast, names(want), want.Total)
				}
			}
		}

		// The console answers the same pages; beyond shortSearchIDs matches
		// it says "at least" rather than counting every account.
		for _, term := range []string{"e", "c1", "x", "Bo"} {
			for _, f := range []models.Filter{{Search: term, Sort: "-username"}, {Search: term, Limit: 2, Page: 2}} {
				want := e.list(f)
				got, err := e.svc.ConsoleList(e.ctx, f)
				e.check(err)
				if !slices.Equal(names(got), names(want)) || got.Total != want.Total || got.AtLeast {
					t.Errorf("console short search %+v: %v (%d, at least %t), want %v (%d)", f, names(got), got.Total, got.AtLeast, names(want), want.Total)
				}
				e.svc.ForgetConsole()
				restore := models.SetShortSearchIDs(1)
				got, err = e.svc.ConsoleList(e.ctx, f)
				restore()
				e.check(err)
				e.svc.ForgetConsole()
				capped := want.Total > 1
				if !slices.Equal(names(got), names(want)) || got.AtLeast != capped ||
					(capped && got.Total != cappedTotal(got, 1)) || (!capped && got.Total != want.Total) {
					t.Errorf("console short search %+v, counting stopped at 1: %v (%d, at least %t), want %v (%d)",
						f, names(got), got.Total, got.AtLeast, names(want), want.Total)
				}
			}
		}

		// Without the e-mail addresses (what a moderator may search).
		for term, want := range map[string]string{"example.org": "", "ORG": "", "bob": "bob.iceman", "lidd": "Alice", "@": ""} {
			p := e.list(models.Filter{Search: term, NoEmailSearch: true})
			if got := strings.Join(names(p), " "); got != want || p.Total != len(p.Items) {
				t.Errorf("search %q without e-mail: got %q (total %d), want %q", term, got, p.Total, want)
			}
		}

		// Search follows renames.
		u, err := e.svc.GetByUsername(e.ctx, "plain")
		e.check(err)
		_, err = e.svc.Update(e.ctx, models.System, u.ID, models.Patch{Username: ptr("renamed"), Name: ptr("Somebody")})
		e.check(err)
		for term, want := range map[string]string{"plain": "", "renamed": "renamed", "nobody": "", "somebody": "renamed", "ame": "renamed"} {
			if got := strings.Join(names(e.list(models.Filter{Search: term})), " "); got != want {
				t.Errorf("after rename, search %q: got %q, want %q", term, got, want)
			}
		}
		// And forgets purged accounts.
		_, err = e.svc.Delete(e.ctx, models.System, u.ID)
		e.check(err)
		e.check(e.svc.Purge(e.ctx, models.System, u.ID))
		if got := e.list(models.Filter{Search: "renamed"}); got.Total != 0 {
			t.Errorf("after purge: %v", names(got))
		}
		// Search combines with the other filters.
		if got := strings.Join(names(e.list(models.Filter{Search: "ice", Type: "active", Sort: "-username"})), " "); got != "bob.iceman Alice" {
			t.Errorf("search with sort: %q", got)
		}
	})
}

func TestListSort(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		// Letters only, so that the database's collation can't reorder them.
		specs := []struct {
			name   string
			level  int
			points int64
			login  bool
			seen   bool
		}{
			{"delta", 3, 40, true, false},
			{"Alpha", 1, 10, false, true},
			{"charlie", 5, 30, true, true},
			{"Echo", 2, -5, false, false},
			{"bravo", 4, 20, true, true},
			{"foxtrot", 3, 40, false, true},
		}
		var users []*models.User
		for _, s := range specs {
			e.clock.Advance(time.Hour)
			u, err := e.svc.Create(e.ctx, models.System, models.NewUser{Username: s.name, Password: password, Level: s.level})
			e.check(err)
			_, err = e.svc.Update(e.ctx, models.System, u.ID, models.Patch{Points: ptr(s.points)})
			e.check(err)
			users = append(users, u)
		}
		// Sign-ins and visits in an order of their own.
		for _, i := range []int{2, 0, 4} {
			e.clock.Advance(time.Minute)
			_, err := e.svc.Login(e.ctx, models.Meta{}, specs[i].name, password)
			e.check(err)
		}
		for _, i := range []int{4, 5, 1, 2} {
			e.clock.Advance(2 * time.Minute)
			e.check(e.svc.Touch(e.ctx, models.Visit{VisitorID: models.MemberVisitor(users[i].ID), UserID: &users[i].ID}))
		}
		var all []models.User
		for _, u := range users {
			all = append(all, *e.reload(u))
		}

		byTime := func(f func(u models.User) *time.Time) func(a, b models.User) int {
			return func(a, b models.User) int {
				ta, tb := f(a), f(b)
				switch {
				case ta == nil && tb == nil:
					return cmp.Compare(a.ID, b.ID)
				case ta == nil:
					return -1 // never is the longest ago
				case tb == nil:
					return 1
				}
				return cmp.Or(ta.Compare(*tb), cmp.Compare(a.ID, b.ID))
			}
		}
		keys := map[string]func(a, b models.User) int{
			"created_at": func(a, b models.User) int { return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID)) },
			"id":         func(a, b models.User) int { return cmp.Compare(a.ID, b.ID) },
			"username": func(a, b models.User) int {
				return strings.Compare(strings.ToLower(a.Username), strings.ToLower(b.Username))
			},
			"last_login_at": byTime(func(u models.User) *time.Time { return u.LastLoginAt }),
			"last_seen_at":  byTime(func(u models.User) *time.Time { return u.LastSeenAt }),
			"points":        func(a, b models.User) int { return cmp.Or(cmp.Compare(a.Points, b.Points), cmp.Compare(a.ID, b.ID)) },
			"level":         func(a, b models.User) int { return cmp.Or(cmp.Compare(a.Level, b.Level), cmp.Compare(a.ID, b.ID)) },
		}
		if len(keys) != len(models.SortKeys) {
			t.Fatalf("the test knows %d sort keys, the service %d", len(keys), len(models.SortKeys))
		}
		for _, key := range models.SortKeys {
			for _, desc := range []bool{false, true} {
				want := slices.Clone(all)
				less := keys[key]
				sortKey := key
				if desc {
					sortKey = "-" + key
					slices.SortFunc(want, func(a, b models.User) int { return -less(a, b) })
				} else {
					slices.SortFunc(want, less)
				}
				var wantNames []string
				for _, u := range want {
					wantNames = append(wantNames, u.Username)
				}
				got := names(e.list(models.Filter{Sort: sortKey}))
				if !slices.Equal(got, wantNames) {
					t.Errorf("sort %s: got %v, want %v", sortKey, got, wantNames)
				}
			}
		}
		if got := names(e.list(models.Filter{})); !slices.Equal(got, []string{"delta", "Alpha", "charlie", "Echo", "bravo", "foxtrot"}) {
			t.Errorf("default sort: %v", got)
		}
		for _, bad := range []string{"name", "-password_hash", "email", "created_at;DROP TABLE users", "--id", "+id", "ID"} {
			_, err := e.svc.List(e.ctx, models.Filter{Sort: bad})
			wantField(t, err, "sort")
		}
	})
}

func TestListPaging(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		for i := range 120 {
			_, err := e.svc.Create(e.ctx, models.System, models.NewUser{Username: fmt.Sprintf("user%03d", i), Password: password})
			e.check(err)
		}
		p := e.list(models.Filter{})
		if len(p.Items) != models.DefaultLimit || p.Limit != 50 || p.Page != 1 || p.Total != 120 {
			t.Fatalf("default: %d items, limit %d, page %d, total %d", len(p.Items), p.Limit, p.Page, p.Total)
		}
		if p.TotalPages() != 3 || !p.HasNext() || p.HasPrev() {
			t.Fatalf("page 1: %d pages, next %v, prev %v", p.TotalPages(), p.HasNext(), p.HasPrev())
		}
		p = e.list(models.Filter{Limit: 1000})
		if len(p.Items) != models.MaxLimit || p.Limit != 100 || p.TotalPages() != 2 {
			t.Fatalf("limit 1000: %d items, limit %d", len(p.Items), p.Limit)
		}
		p = e.list(models.Filter{Limit: -3})
		if p.Limit != 50 {
			t.Fatalf("limit -3: %d", p.Limit)
		}
		p = e.list(models.Filter{Page: 3, Sort: "username"})
		if got := names(p); len(got) != 20 || got[0] != "user100" || got[19] != "user119" || p.HasNext() || !p.HasPrev() {
			t.Fatalf("page 3: %v next %v prev %v", got, p.HasNext(), p.HasPrev())
		}
		p = e.list(models.Filter{Page: 2, Limit: 7, Sort: "-username"})
		if got := names(p); len(got) != 7 || got[0] != "user112" || !p.HasNext() || !p.HasPrev() || p.TotalPages() != 18 {
			t.Fatalf("page 2 of 7: %v", got)
		}
		p = e.list(models.Filter{Page: 99})
		if len(p.Items) != 0 || p.Items == nil || p.Total != 120 || p.Page != 99 || p.HasNext() || !p.HasPrev() {
			t.Fatalf("past the end: %d items (nil %v), total %d", len(p.Items), p.Items == nil, p.Total)
		}
		p = e.list(models.Filter{Page: -5})
		if p.Page != 1 {
			t.Fatalf("page -5 became %d", p.Page)
		}
		p = e.list(models.Filter{Search: "nothing"})
		if p.Total != 0 || p.TotalPages() != 1 || p.HasNext() || p.HasPrev() {
			t.Fatalf("empty: total %d, %d pages", p.Total, p.TotalPages())
		}
	})
}

func TestPageHelpers(t *testing.T) {
	for _, c := range []struct {
		total, page, limit, pages int
		next, prev                bool
	}{
		{0, 1, 50, 1, false, false},
		{1, 1, 50, 1, false, false},
		{50, 1, 50, 1, false, false},
		{51, 1, 50, 2, true, false},
		{51, 2, 50, 2, false, true},
		{120, 2, 50, 3, true, true},
		{120, 3, 50, 3, false, true},
		{120, 4, 50, 3, false, true},
		{10, 1, 0, 1, false, false},
	} {
		p := models.Page[int]{Total: c.total, Page: c.page, Limit: c.limit}
		if p.TotalPages() != c.pages || p.HasNext() != c.next || p.HasPrev() != c.prev {
			t.Errorf("%+v: pages %d next %v prev %v", c, p.TotalPages(), p.HasNext(), p.HasPrev())
		}
	}
}

// cappedTotal is the total of a page whose count stopped at limit: at
// least the rows up to its own, when it lists any.
func cappedTotal(p models.Page[models.User], limit int) int {
	if len(p.Items) == 0 {
		return limit
	}
	return max(limit, (p.Page-1)*p.Limit+len(p.Items))
}

// Every page of an unsearched list, read from the nearer end of the sort
// order through its ids first, is the slice of the whole list it should
// be, for every sort key both ways.
func TestListPagesFromEitherEnd(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		for i := range 23 {
			u := e.user(fmt.Sprintf("member%02d", i), 1+i%4, []int{models.TypeActive, models.TypeActive, models.TypeBanned}[i%3])
			_, err := e.svc.Update(e.ctx, models.System, u.ID, models.Patch{Points: ptr(int64(i % 5))})
			e.check(err)
			if i%2 == 0 && u.Type == models.TypeActive {
				_, err = e.svc.Login(e.ctx, models.Meta{}, u.Username, password)
				e.check(err)
			}
			e.clock.Advance(time.Second)
		}
		for _, deferred := range []bool{false, true} {
			if deferred {
				defer models.SetDeferAfter(0)()
			}
			for _, f := range []models.Filter{{}, {Type: "active"}, {Level: ptr(2)}, {Role: "user", Type: "blocked"}} {
				for _, key := range models.SortKeys {
					for _, sort := range []string{key, "-" + key} {
						all := f
						all.Sort, all.Limit = sort, 100
						whole := names(e.list(all))
						for page := 1; page <= (len(whole)+2)/3+1; page++ {
							pf := f
							pf.Sort, pf.Limit, pf.Page = sort, 3, page
							got := e.list(pf)
							want := whole[min(len(whole), (page-1)*3):min(len(whole), page*3)]
							if !slices.Equal(names(got), want) || got.Total != len(whole) {
								t.Errorf("%+v (deferred %t): %v (total %d), want %v (total %d)", pf, deferred, names(got), got.Total, want, len(whole))
							}
						}
					}
				}
			}
		}
	})
}

// SQLite plans without statistics on the data: the common broad filters
// must walk the sort order's index, not collect every match into a
// temporary B-tree and sort it (what made type=active take a second at a
// million accounts). PostgreSQL picks its plan from statistics and the
// table's size, so a plan on a test table says nothing about one at a
// million; docs/performance.md shows those.
func TestListPlansWalkTheSortIndex(t *testing.T) {
	e := newEnv(t, modelstest.Open(t, "sqlite"))
	e.check(e.svc.Seed(e.ctx, 2000, nil))
	for _, f := range []models.Filter{
		{Type: "active", Sort: "username"},
		{Type: "active", Sort: "-points", Page: 20},
		{Type: "active", Sort: "-last_login_at", Page: 39},
		{Role: "user", Sort: "created_at"},
		{Role: "user", Sort: "-level", Page: 15},
		{Level: ptr(1), Sort: "-last_seen_at"},
		{Sort: "id", Page: 30},
		{Type: "active", Role: "user", Sort: "-username", Page: 18},
	} {
		sql, err := models.PageSQL(e.ctx, e.svc, f)
		e.check(err)
		var plan []struct {
			ID, Parent, Notused int
			Detail              string
		}
		e.check(e.db.NewRaw("EXPLAIN QUERY PLAN "+sql).Scan(e.ctx, &plan))
		// A temporary B-tree beside a scan sorts what the scan found; beside
		// a lookup by id (the page's fifty rows, read after their ids) it
		// sorts fifty.
		scans, sorts := map[int]bool{}, map[int]bool{}
		var steps []string
		for _, p := range plan {
			steps = append(steps, fmt.Sprintf("%d<%d %s", p.ID, p.Parent, p.Detail))
			scans[p.Parent] = scans[p.Parent] || strings.HasPrefix(p.Detail, "SCAN ")
			sorts[p.Parent] = sorts[p.Parent] || strings.Contains(p.Detail, "TEMP B-TREE")
		}
		for parent, sorted := range sorts {
			if sorted && scans[parent] {
				t.Errorf("%+v sorts its matches: %s\n%s", f, strings.Join(steps, "; "), sql)
			}
		}
	}
}

// A search or date range finds its page either by walking the sort order
// (checking each account with LIKE, from the index it walks) or by reading
// every match through the search or created_at index and sorting them
// (searchFrom chooses by cost). Both ways give every page of every sort
// the same accounts as a plain reading of the filter would.
func TestSearchWalkAndReadAgree(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		type acct struct {
			name, email, full string
			created           time.Time
			level, typ        int
			group             string
		}
		var accts []acct
		rng := rand.New(rand.NewPCG(3, 5))
		syll := []string{"mo", "son", "smi", "th", "an", "zq", "ra", "li", "e"}
		word := func() string {
			var b strings.Builder
			for range 1 + rng.IntN(3) {
				b.WriteString(syll[rng.IntN(len(syll))])
			}
			return b.String()
		}
		for i := range 90 {
			e.clock.Advance(time.Duration(1+rng.IntN(30)) * time.Hour)
			// Capitals and punctuation, which collations order apart from
			// byte order (the kept matches take the database's order).
			name := word() + []string{"", "_", ".", "-"}[rng.IntN(4)] + word()
			if rng.IntN(4) == 0 {
				name = strings.ToUpper(name[:1]) + name[1:]
			}
			a := acct{name: fmt.Sprintf("%s%02d", name, i), full: word() + " " + word(), level: []int{1, 1, 2, 5, 8}[rng.IntN(5)],
				typ: []int{models.TypeActive, models.TypeActive, models.TypeBanned}[rng.IntN(3)], group: []string{"", "vip"}[rng.IntN(2)]}
			if rng.IntN(3) > 0 {
				a.email = fmt.Sprintf("%s%d@%s.test", word(), i, word())
			}
			u, err := e.svc.Create(e.ctx, models.System, models.NewUser{Username: a.name, Email: a.email, Name: a.full,
				Password: password, Level: a.level, Type: a.typ, Group: a.group})
			e.check(err)
			a.created = u.CreatedAt
			accts = append(accts, a)
		}
		// Ties and NULLs in the other sort keys: a third never signed in,
		// the rest on one of four days; points of five values.
		for i, at := range []time.Time{{}, e.clock.Now().Add(-72 * time.Hour), e.clock.Now().Add(-48 * time.Hour), e.clock.Now().Add(-time.Hour)} {
			var when any
			if !at.IsZero() {
				when = at.UTC()
			}
			_, err := e.db.NewUpdate().Table("users").Set("last_login_at = ?", when).Set("last_seen_at = ?", when).
				Set("points = id % 5").Where("id % 4 = ?", i).Exec(e.ctx)
			e.check(err)
		}
		mid := accts[30].created
		late := accts[70].created
		filters := []models.Filter{
			{Search: "mo"}, {Search: "e"}, {Search: "zq"}, {Search: "son"}, {Search: "smith"}, {Search: "ra", Type: "active"},
			{Search: "li", Role: "user"}, {Search: "MO", Group: "vip"}, {Search: "an", NoEmailSearch: true},
			{CreatedFrom: mid}, {CreatedFrom: mid, CreatedBefore: late, Type: "blocked"},
			{Search: "th", CreatedBefore: late}, {Search: "son", CreatedFrom: mid, Role: "user"},
		}
		for _, f := range filters {
			// The console collects a rare filter's matches behind the first
			// deep page that needs them; every page after that is sorted
			// from them.
			func() {
				defer models.SetWalkFactor(0)()
				defer models.SetShortSearchIDs(2)()
				g := f
				g.Limit, g.Page = 7, 2
				_, err := e.svc.ConsoleList(e.ctx, g)
				e.check(err)
				e.eventually(fmt.Sprintf("%+v: matches kept", f), func() bool { return e.svc.MatchesKept(f) })
			}()
			for _, sort := range models.SortKeys {
				for _, dir := range []string{"", "-"} {
					var want []string
					for page := 1; page <= 4; page++ {
						g := f
						g.Sort, g.Limit, g.Page = dir+sort, 7, page
						// Both ways of finding the page, and of counting up to
						// the cap (PostgreSQL reads a rare search's matches
						// through its indexes, countCapped).
						readPage, walkPage := func() models.Page[models.User] {
							defer models.SetWalkFactor(0)()
							defer models.SetShortSearchIDs(2)()
							return e.list(g)
						}(), func() models.Page[models.User] {
							defer models.SetWalkFactor(1e12)()
							defer models.SetShortSearchIDs(2)()
							return e.list(g)
						}()
						read, walk := names(readPage), names(walkPage)
						if !slices.Equal(read, walk) {
							t.Errorf("%+v: reading the matches gives %v, walking %v", g, read, walk)
						}
						// And the console's: a rare filter's matches kept, each
						// sort's page sorted from them (matchSet).
						kept := func() models.Page[models.User] {
							defer models.SetWalkFactor(0)()
							defer models.SetShortSearchIDs(2)()
							p, err := e.svc.ConsoleList(e.ctx, g)
							e.check(err)
							return p
						}()
						if got := names(kept); !slices.Equal(got, read) || kept.Total != readPage.Total || kept.AtLeast != readPage.AtLeast {
							t.Errorf("%+v: the kept matches give %v (%d, %t), reading them %v (%d, %t)", g, got, kept.Total, kept.AtLeast,
								read, readPage.Total, readPage.AtLeast)
						}
						// Kept, the set answers even a page that walking a sort
						// index would find sooner than reading the matches.
						func() {
							defer models.SetWalkFactor(1e12)()
							items, ok, err := e.svc.PageFromKept(e.ctx, g)
							e.check(err)
							if got := names(models.Page[models.User]{Items: items}); !ok || !slices.Equal(got, read) {
								t.Errorf("%+v, walking cheaper: the kept matches answer %t, %v; reading them gives %v", g, ok, got, read)
							}
						}()
						if readPage.Total != walkPage.Total || readPage.AtLeast != walkPage.AtLeast {
							t.Errorf("%+v: reading the matches counts %d (at least: %t), walking %d (%t)", g,
								readPage.Total, readPage.AtLeast, walkPage.Total, walkPage.AtLeast)
						}
						if page == 1 { // and the exact count, under the cap
							count := func(factor float64) models.Page[models.User] {
								defer models.SetWalkFactor(factor)()
								return e.list(g)
							}
							if r, w := count(0), count(1e12); r.Total != w.Total || r.AtLeast || w.AtLeast {
								t.Errorf("%+v: reading the matches counts %d (at least: %t), walking %d (%t)", g, r.Total, r.AtLeast, w.Total, w.AtLeast)
							}
						}
						want = append(want, read...)
					}
					if !e.svc.MatchesKept(f) {
						t.Errorf("%+v: the console no longer keeps the matches", f)
					}
					// What the filter keeps, in the sort's order.
					g := f
					g.Sort, g.Limit = dir+sort, 100
					if all := names(e.list(g)); !slices.Equal(all[:min(len(all), 28)], want) {
						t.Errorf("%+v: pages %v, whole list %v", g, want, all)
					}
				}
			}
		}
		// The kept matches stay within their byte budget: the oldest go.
		func() {
			defer models.SetWalkFactor(0)()
			defer models.SetShortSearchIDs(2)()
			keep := func() (sizes []int) {
				e.svc.ForgetConsole()
				for _, term := range []string{"son", "smi", "mo"} {
					e.clock.Advance(time.Second)
					f := models.Filter{Search: term, Limit: 2, Page: 2}
					_, err := e.svc.ConsoleList(e.ctx, f)
					e.check(err)
					e.eventually(term+": matches kept", func() bool { return e.svc.MatchesKept(f) })
					_, bytes := e.svc.KeptMatchSets()
					sizes = append(sizes, bytes)
				}
				return sizes
			}
			all := keep() // the budget far above: all three
			son, smi, mo := all[0], all[1]-all[0], all[2]-all[1]
			if son <= 0 || smi <= 0 || mo <= 0 {
				t.Fatalf("kept matches weigh %v", all)
			}
			defer models.SetMaxConsoleBytes(smi + mo)()
			keep()
			if n, bytes := e.svc.KeptMatchSets(); n != 2 || bytes != smi+mo {
				t.Errorf("within %d bytes: %d kept, %d bytes; want the last two", smi+mo, n, bytes)
			}
		}()
		e.svc.ForgetConsole()

		// The whole list itself, against the accounts made.
		for _, f := range filters {
			var want []string
			for _, a := range accts {
				term := strings.ToLower(f.Search)
				hit := strings.Contains(strings.ToLower(a.name), term) || strings.Contains(strings.ToLower(a.full), term) ||
					(!f.NoEmailSearch && strings.Contains(strings.ToLower(a.email), term))
				typ := map[string]int{"active": models.TypeActive, "blocked": models.TypeBanned}[f.Type]
				switch {
				case !hit, typ != 0 && a.typ != typ, f.Role == "user" && a.level > 5, f.Group != "" && a.group != f.Group,
					!f.CreatedFrom.IsZero() && a.created.Before(f.CreatedFrom), !f.CreatedBefore.IsZero() && !a.created.Before(f.CreatedBefore):
				default:
					want = append(want, a.name)
				}
			}
			g := f
			g.Sort, g.Limit = "id", 100
			for _, factor := range []float64{0, 1e12} {
				restore := models.SetWalkFactor(factor)
				if got := names(e.list(g)); !slices.Equal(got, want) {
					t.Errorf("%+v (walk factor %g): %v, want %v", g, factor, got, want)
				}
				restore()
			}
		}
	})
}
