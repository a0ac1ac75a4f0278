package models_test

import (
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

// The browse window: a list pages through the first and the last
// BrowseWindow rows of any order; the pages in between are not read
// (Page.Beyond) and the exact total stays. Searches whose count stopped
// ("at least") page through their first BrowseWindow matches only.
func TestListBrowseWindow(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		for i := range 30 {
			e.user(fmt.Sprintf("member%02d", i), 1+i%3, models.TypeActive)
			e.clock.Advance(time.Second)
		}
		defer models.SetBrowseWindow(6)()
		for _, f := range []models.Filter{{}, {Level: ptr(1)}, {Search: "member"}, {Search: "me"}} {
			for _, sort := range []string{"created_at", "-username", "points"} {
				all := f
				all.Sort, all.Limit = sort, 100
				whole := names(e.list(all))
				for page := 1; page <= (len(whole)+2)/3; page++ {
					pf := f
					pf.Sort, pf.Limit, pf.Page = sort, 3, page
					got := e.list(pf)
					offset := (page - 1) * 3
					// A short search with every match collected reads any page
					// of them alike: no window.
					inWindow := offset < 6 || len(whole)-offset <= 6 || f.Search == "me"
					if got.Beyond == inWindow || got.Total != len(whole) || got.AtLeast {
						t.Errorf("%+v: beyond %t (want %t), total %d (want %d), at least %t", pf, got.Beyond, !inWindow, got.Total, len(whole), got.AtLeast)
						continue
					}
					want := whole[offset:min(len(whole), offset+3)]
					if !inWindow {
						want = []string{}
					}
					if !slices.Equal(names(got), want) {
						t.Errorf("%+v: %v, want %v", pf, names(got), want)
					}
					if got.Beyond {
						from, to := got.Unlisted()
						if page < from || page > to || from != 3 || to != (len(whole)-6+2)/3 {
							t.Errorf("%+v: unlisted pages %d to %d", pf, from, to)
						}
					}
					if c, err := e.svc.ConsoleList(e.ctx, pf); err != nil || c.Beyond != got.Beyond || !slices.Equal(names(c), names(got)) {
						t.Errorf("console %+v: %v beyond %t (%v), list %v beyond %t", pf, names(c), c.Beyond, err, names(got), got.Beyond)
					}
				}
			}
		}
		// Counting stopped at 4: the first 6 matches are listed, no more,
		// and the end of the order is unknown.
		defer models.SetShortSearchIDs(4)()
		for _, term := range []string{"member", "me"} {
			for page, beyond := range map[int]bool{1: false, 2: false, 3: true, 9: true} {
				f := models.Filter{Search: term, Sort: "username", Limit: 3, Page: page}
				got := e.list(f)
				want := []string{}
				if !beyond {
					want = []string{fmt.Sprintf("member%02d", (page-1)*3), fmt.Sprintf("member%02d", (page-1)*3+1), fmt.Sprintf("member%02d", (page-1)*3+2)}
				}
				if got.Beyond != beyond || !got.AtLeast || !slices.Equal(names(got), want) {
					t.Errorf("capped %+v: %v beyond %t at least %t, want %v beyond %t", f, names(got), got.Beyond, got.AtLeast, want, beyond)
				}
				if from, to := got.Unlisted(); got.Beyond && (from != 3 || to != 0) {
					t.Errorf("capped %+v: unlisted %d to %d", f, from, to)
				}
				e.svc.ForgetConsole()
				if c, err := e.svc.ConsoleList(e.ctx, f); err != nil || c.Beyond != beyond || !slices.Equal(names(c), want) {
					t.Errorf("console capped %+v: %v beyond %t (%v)", f, names(c), c.Beyond, err)
				}
			}
		}
		if n := models.WindowNote(false, "-created_at"); !strings.Contains(n, "sort=created_at") || !strings.Contains(n, "6") {
			t.Errorf("note: %q", n)
		}
	})
}

// The audit log pages through its newest and oldest BrowseWindow events;
// the middle pages are not read, and the total stays exact.
func TestEventsBrowseWindow(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, models.TypeActive)
		for i := range 20 {
			e.check(e.svc.Record(e.ctx, as(admin), "mail.reset", nil, fmt.Sprint(i)))
			e.clock.Advance(time.Second)
		}
		all, err := e.svc.Events(e.ctx, models.EventFilter{Action: "mail.reset", Limit: 100})
		e.check(err)
		defer models.SetBrowseWindow(4)()
		for page := 1; page <= 7; page++ {
			got, err := e.svc.Events(e.ctx, models.EventFilter{Action: "mail.reset", Limit: 3, Page: page})
			e.check(err)
			offset := (page - 1) * 3
			inWindow := offset < 4 || 20-offset <= 4
			var want, have []string
			if inWindow {
				for _, ev := range all.Items[offset:min(20, offset+3)] {
					want = append(want, ev.Detail)
				}
			}
			for _, ev := range got.Items {
				have = append(have, ev.Detail)
			}
			if got.Beyond == inWindow || got.Total != 20 || !slices.Equal(have, want) {
				t.Errorf("page %d: %v beyond %t total %d, want %v beyond %t", page, have, got.Beyond, got.Total, want, !inWindow)
			}
		}
		// A filter counted up to a cap: the newest events only.
		defer models.SetShortSearchIDs(5)()
		got, err := e.svc.Events(e.ctx, models.EventFilter{ActorID: admin.ID, Limit: 3, Page: 3})
		e.check(err)
		if !got.Beyond || !got.AtLeast || len(got.Items) != 0 {
			t.Errorf("capped, page 3: beyond %t at least %t, %d items", got.Beyond, got.AtLeast, len(got.Items))
		}
		got, err = e.svc.Events(e.ctx, models.EventFilter{ActorID: admin.ID, Limit: 3, Page: 2})
		e.check(err)
		if got.Beyond || len(got.Items) != 3 || got.Items[0].Detail != all.Items[3].Detail {
			t.Errorf("capped, page 2: beyond %t, %d items", got.Beyond, len(got.Items))
		}
	})
}

// One- and two-character searches answered through the grams (the GIN
// index of PostgreSQL, the search index's trigrams on SQLite) match
// exactly what LIKE matches, for random terms with %, _ and quotes, and
// follow inserts, renames and purges.
func TestShortSearchGramsMatchLike(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		defer models.SetGramCommon(0)()
		rng := rand.New(rand.NewPCG(7, 11))
		const alphabet = "abcxyzq19%_'\".-@ "
		word := func(n int) string {
			b := make([]byte, n)
			for i := range b {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
			return string(b)
		}
		type acct struct {
			id                    int64
			username, email, name string
		}
		var accts []acct
		mk := func(i int) {
			a := acct{username: fmt.Sprintf("u%03d%s", i, strings.Map(func(r rune) rune {
				if strings.ContainsRune("abcxyzq19_.-", r) {
					return r
				}
				return -1
			}, word(1+rng.IntN(6)))), name: strings.TrimSpace(word(rng.IntN(8)))}
			if rng.IntN(4) > 0 {
				a.email = fmt.Sprintf("m%d%s@%s.test", i, strings.Map(func(r rune) rune {
					if strings.ContainsRune("abcxyzq19", r) {
						return r
					}
					return -1
				}, word(3)), []string{"ex", "zq", "a-b"}[rng.IntN(3)])
			}
			u, err := e.svc.Create(e.ctx, models.System, models.NewUser{Username: a.username, Email: a.email, Name: a.name, Password: password})
			e.check(err)
			a.id = u.ID
			accts = append(accts, a)
		}
		for i := range 80 {
			mk(i)
		}
		terms := func() []string {
			out := []string{"%", "_", "'", `"`, "q", "zq", "Q", "ZQ", "@", "1", "b_", "%_", "q\"", "9@", "t"}
			for range 40 {
				out = append(out, strings.TrimSpace(word(1+rng.IntN(2))))
			}
			return out
		}
		check := func(stage string) {
			t.Helper()
			for _, term := range terms() {
				if term == "" {
					continue
				}
				for _, noEmail := range []bool{false, true} {
					var want []string
					lt := strings.ToLower(term)
					for _, a := range accts {
						if strings.Contains(strings.ToLower(a.username), lt) || strings.Contains(strings.ToLower(a.name), lt) ||
							(!noEmail && strings.Contains(strings.ToLower(a.email), lt)) {
							want = append(want, a.username)
						}
					}
					slices.Sort(want)
					got := e.list(models.Filter{Search: term, NoEmailSearch: noEmail, Sort: "username", Limit: 100})
					have := names(got)
					slices.SortFunc(have, func(a, b string) int { return strings.Compare(a, b) })
					if !slices.Equal(have, want) || got.Total != len(want) {
						t.Errorf("%s: search %q (no e-mail %t): %v (total %d), want %v", stage, term, noEmail, have, got.Total, want)
					}
				}
			}
		}
		check("created")
		// Renames, new e-mail addresses and purges.
		for i := range accts[:30] {
			a := &accts[i]
			a.username = "r" + a.username
			a.name = strings.TrimSpace(word(rng.IntN(6)))
			patch := models.Patch{Username: ptr(a.username), Name: ptr(a.name)}
			if i%2 == 0 {
				a.email = fmt.Sprintf("new%dzq@x%d.test", i, i)
				patch.Email = ptr(a.email)
			}
			_, err := e.svc.Update(e.ctx, models.System, a.id, patch)
			e.check(err)
		}
		for _, a := range accts[30:40] {
			_, err := e.svc.Delete(e.ctx, models.System, a.id)
			e.check(err)
			e.check(e.svc.Purge(e.ctx, models.System, a.id))
		}
		accts = slices.Delete(accts, 30, 40)
		for i := 100; i < 110; i++ {
			mk(i)
		}
		check("changed")
	})
}
