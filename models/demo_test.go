package models_test

import (
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

func TestSeed(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		root := e.user("root", 10, models.TypeActive)
		statsBefore, err := e.svc.Stats(e.ctx)
		e.check(err)

		var calls []int
		e.check(e.svc.Seed(e.ctx, 500, func(done, total int) {
			if total != 500 {
				t.Errorf("progress total %d", total)
			}
			calls = append(calls, done)
		}))
		if len(calls) != 1 || calls[0] != 500 {
			t.Fatalf("progress %v", calls)
		}
		count := func(where string, args ...any) int {
			t.Helper()
			n, err := e.db.NewSelect().Model((*models.User)(nil)).Where(where, args...).Count(e.ctx)
			e.check(err)
			return int(n)
		}
		if n := count("1 = 1"); n != 501 {
			t.Fatalf("%d accounts, want 501", n)
		}
		if n := count("lower(username) <> lower(?)", "root"); n != 500 {
			t.Fatalf("%d seeded", n)
		}
		// Unique case-insensitively, as the index says; valid by the rules of Create.
		var dup int
		e.check(e.db.NewRaw("SELECT count(*) FROM (SELECT lower(username) FROM users GROUP BY 1 HAVING count(*) > 1) d").Scan(e.ctx, &dup))
		if dup != 0 {
			t.Fatalf("%d duplicate usernames", dup)
		}
		// The mix the dashboard shows.
		st, err := e.svc.Stats(e.ctx)
		e.check(err)
		if st == statsBefore || st.Total != 501 {
			t.Fatalf("stats not refreshed: total %d", st.Total)
		}
		if st.ByType["active"] < 400 || st.ByRole["user"] < 400 {
			t.Errorf("by type %v, by role %v", st.ByType, st.ByRole)
		}
		var signups, logins int
		for i := range st.SignupsPerDay {
			signups += st.SignupsPerDay[i].Count
			logins += st.LoginsPerDay[i].Count
		}
		if signups < 25 || logins < 25 {
			t.Errorf("last 30 days: %d sign-ups, %d logins", signups, logins)
		}
		if n := count("last_login_at IS NOT NULL"); n < 250 {
			t.Errorf("%d accounts ever signed in", n)
		}
		if st.OnlineMembers < 5 || st.OnlineGuests < 3 {
			t.Errorf("online: %d members, %d guests", st.OnlineMembers, st.OnlineGuests)
		}
		online, err := e.svc.Online(e.ctx, models.OnlineFilter{Kind: "members", Limit: 100})
		e.check(err)
		for _, o := range online.Items {
			if o.User == nil || o.User.Type != models.TypeActive || o.User.LastSeenAt == nil || e.clock.Now().Sub(*o.User.LastSeenAt) > 5*time.Minute {
				t.Errorf("online member %+v", o)
			}
		}

		// Seeded accounts sign in with the demo password.
		var demo models.User
		e.check(e.db.NewSelect().Model(&demo).Where("type = ? AND id <> ?", models.TypeActive, root.ID).Limit(1).Scan(e.ctx))
		if _, err := e.svc.Login(e.ctx, models.Meta{}, strings.ToUpper(demo.Username), models.DemoPassword); err != nil {
			t.Fatalf("demo sign-in: %v", err)
		}
		// And are found by search.
		if got, err := e.svc.List(e.ctx, models.Filter{Search: demo.Username[1 : len(demo.Username)-1]}); err != nil || got.Total < 1 {
			t.Fatalf("search for %s: %v %v", demo.Username, got.Total, err)
		}

		// Seeded values pass the rules of Create.
		p, err := e.svc.List(e.ctx, models.Filter{Limit: 100, Sort: "-id"})
		e.check(err)
		for _, u := range p.Items {
			if u.ID == root.ID {
				continue
			}
			_, err := e.svc.Create(e.ctx, models.System, models.NewUser{Username: u.Username + "x", Email: "x" + u.EmailAddress(), Name: u.Name, Password: models.DemoPassword, Var: u.Var})
			if err != nil && len(u.Username) < 30 {
				t.Fatalf("seeded %+v would not pass validation: %v", u, err)
			}
			if u.Type == models.TypeBanned && u.BanReason == "" {
				t.Errorf("%s banned without a reason", u.Username)
			}
			if u.Level >= models.LevelSuperadmin {
				t.Errorf("seeded a superadmin: %s", u.Username)
			}
			if u.CreatedAt.After(e.clock.Now()) || u.CreatedAt.Before(e.clock.Now().AddDate(-1, 0, -1)) {
				t.Errorf("%s signed up at %v", u.Username, u.CreatedAt)
			}
		}

		// A second run adds as many again, with new names.
		before := count("1 = 1")
		e.check(e.svc.Seed(e.ctx, 1500, nil))
		if n := count("1 = 1"); n != before+1500 {
			t.Fatalf("second run: %d accounts, want %d", n, before+1500)
		}
		e.check(e.db.NewRaw("SELECT count(*) FROM (SELECT lower(username) FROM users GROUP BY 1 HAVING count(*) > 1) d").Scan(e.ctx, &dup))
		if dup != 0 {
			t.Fatalf("%d duplicate usernames after the second run", dup)
		}
		// Nothing at all is fine.
		e.check(e.svc.Seed(e.ctx, 0, nil))
	})
}
