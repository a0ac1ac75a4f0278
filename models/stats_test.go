package models_test

import (
	"maps"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

const day = 24 * time.Hour

func TestStats(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		now := e.clock.Now()

		e.clock.Advance(-40 * day)
		e.user("ancient", 1, models.TypeActive) // before the 30 days
		e.clock.Advance(11 * day)               // the first of the 30 days
		e.user("first", 3, models.TypeBanned)
		e.clock.Advance(26 * day) // three days ago
		e.user("three1", 6, models.TypeActive)
		e.user("three2", 8, models.TypeDeleted)
		_, err := e.svc.Login(e.ctx, models.Meta{}, "three1", password)
		e.check(err)
		e.clock.Advance(3 * day) // today
		root := e.user("root", 10, models.TypeActive)
		e.user("waiting", 1, models.TypeInactive)
		e.user("pub", 0, models.TypeActive)
		for range 2 {
			_, err := e.svc.Login(e.ctx, models.Meta{}, "root", password)
			e.check(err)
		}
		e.touch(models.MemberVisitor(root.ID), &root.ID, "/admin")
		e.touch(models.GuestVisitor("g"), nil, "/")
		if !e.clock.Now().Equal(now) {
			t.Fatal("the test's clock arithmetic is off")
		}

		st, err := e.svc.Stats(e.ctx)
		e.check(err)
		if st.Total != 7 || st.OnlineMembers != 1 || st.OnlineGuests != 1 || !st.GeneratedAt.Equal(now) {
			t.Fatalf("total %d, online %d/%d, at %v", st.Total, st.OnlineMembers, st.OnlineGuests, st.GeneratedAt)
		}
		if want := map[string]int{"active": 4, "blocked": 1, "inactive": 1, "deleted": 1}; !maps.Equal(st.ByType, want) {
			t.Errorf("by type %v, want %v", st.ByType, want)
		}
		// Deleted accounts have no role any more.
		if want := map[string]int{"public": 1, "user": 3, "moderator": 1, "admin": 0, "superadmin": 1}; !maps.Equal(st.ByRole, want) {
			t.Errorf("by role %v, want %v", st.ByRole, want)
		}
		checkDays := func(name string, got []models.DayCount, want map[int]int) {
			t.Helper()
			if len(got) != models.StatsDays {
				t.Fatalf("%s: %d days", name, len(got))
			}
			for i, d := range got {
				wantDay := now.AddDate(0, 0, i-(models.StatsDays-1)).Format("2006-01-02")
				if d.Day != wantDay || d.Count != want[i] {
					t.Errorf("%s day %d: %+v, want %s %d", name, i, d, wantDay, want[i])
				}
			}
		}
		checkDays("sign-ups", st.SignupsPerDay, map[int]int{0: 1, 26: 2, 29: 3})
		checkDays("logins", st.LoginsPerDay, map[int]int{26: 1, 29: 2})

		// A day later the series moves on by one: today's counts are
		// yesterday's, and the first day dropped out.
		e.clock.Advance(day)
		now = e.clock.Now()
		e.user("tomorrow", 1, models.TypeActive)
		st, err = e.svc.Stats(e.ctx)
		e.check(err)
		checkDays("sign-ups a day later", st.SignupsPerDay, map[int]int{25: 2, 28: 3, 29: 1})
		checkDays("logins a day later", st.LoginsPerDay, map[int]int{25: 1, 28: 2})
		// Today is counted afresh each time; the days before are cached.
		_, err = e.svc.Login(e.ctx, models.Meta{}, "root", password)
		e.check(err)
		st, err = models.ComputeStats(e.ctx, e.svc)
		e.check(err)
		checkDays("logins, cold", st.LoginsPerDay, map[int]int{25: 1, 28: 2, 29: 1})
	})
}

func TestStatsCache(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		u := e.user("first", 1, models.TypeActive)
		st, err := e.svc.Stats(e.ctx)
		e.check(err)
		if st.Total != 1 {
			t.Fatalf("total %d", st.Total)
		}

		// Figures are kept while nothing changes...
		now := e.clock.Now()
		e.clock.Advance(14 * time.Second)
		if st, _ := e.svc.Stats(e.ctx); !st.GeneratedAt.Equal(now) {
			t.Fatalf("within 15 s and no change: generated %v, want %v", st.GeneratedAt, now)
		}
		// ...and a row written by raw SQL through the service's handle shows
		// at once: the query hook announces it, the database counts it.
		_, err = e.db.NewInsert().Model(&models.User{Username: "behind", Level: 1, Type: 1, SessionVersion: 1,
			Var: map[string]any{}, CreatedAt: now, UpdatedAt: now}).Exec(e.ctx)
		e.check(err)
		st, err = e.svc.Stats(e.ctx)
		e.check(err)
		if st.Total != 2 || !st.GeneratedAt.Equal(e.clock.Now()) || st.SignupsPerDay[models.StatsDays-1].Count != 2 {
			t.Fatalf("after a raw insert: total %d, generated %v, today %+v", st.Total, st.GeneratedAt, st.SignupsPerDay[models.StatsDays-1])
		}

		// Changes made through the service show at once.
		steps := []struct {
			name  string
			do    func() error
			check func(st *models.Stats) bool
		}{
			{"create", func() error {
				_, err := e.svc.Create(e.ctx, models.System, models.NewUser{Username: "second", Password: password})
				return err
			},
				func(st *models.Stats) bool { return st.Total == 3 }},
			{"ban", func() error { _, err := e.svc.Block(e.ctx, models.System, u.ID, ""); return err },
				func(st *models.Stats) bool { return st.ByType["blocked"] == 1 }},
			{"unban", func() error { _, err := e.svc.Unblock(e.ctx, models.System, u.ID); return err },
				func(st *models.Stats) bool { return st.ByType["blocked"] == 0 }},
			{"level", func() error {
				_, err := e.svc.Update(e.ctx, models.System, u.ID, models.Patch{Level: ptr(8)})
				return err
			}, func(st *models.Stats) bool { return st.ByRole["admin"] == 1 }},
			{"delete", func() error { _, err := e.svc.Delete(e.ctx, models.System, u.ID); return err },
				func(st *models.Stats) bool { return st.ByType["deleted"] == 1 && st.ByRole["admin"] == 0 }},
			{"restore", func() error { _, err := e.svc.Restore(e.ctx, models.System, u.ID); return err },
				func(st *models.Stats) bool { return st.ByType["deleted"] == 0 }},
			{"register", func() error {
				_, err := e.svc.Register(e.ctx, models.Meta{}, models.NewUser{Username: "third", Email: "t@example.com", Password: password}, true)
				return err
			}, func(st *models.Stats) bool { return st.ByType["inactive"] == 1 && st.Total == 4 }},
			{"purge", func() error {
				if _, err := e.svc.Delete(e.ctx, models.System, u.ID); err != nil {
					return err
				}
				return e.svc.Purge(e.ctx, models.System, u.ID)
			}, func(st *models.Stats) bool { return st.Total == 3 && st.ByType["deleted"] == 0 }},
		}
		for _, s := range steps {
			if _, err := e.svc.Stats(e.ctx); err != nil { // warm the cache
				t.Fatal(err)
			}
			e.check(s.do())
			st, err := e.svc.Stats(e.ctx)
			e.check(err)
			if !s.check(st) {
				t.Errorf("after %s: stale stats %+v", s.name, st)
			}
		}
		// The figures followed the changes above without counting again;
		// a count from scratch agrees.
		e.checkCensus()
	})
}

// Another process's changes (a second handle on the database, which the
// service's query hook doesn't see) reach the figures, the home page counts
// and the list's total within 2 s, through the change signal.
func TestFiguresFollowOtherProcesses(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		e.follow()
		e.user("first", 1, models.TypeActive)
		other := models.NewService(bun.NewDB(db.DB, db.Dialect()), models.Options{Argon2: modelstest.FastArgon2})
		warm := func() {
			_, err := e.svc.Stats(e.ctx)
			e.check(err)
			_, err = e.svc.Counts(e.ctx)
			e.check(err)
			_, err = e.svc.List(e.ctx, models.Filter{})
			e.check(err)
			_, err = e.svc.ConsoleList(e.ctx, models.Filter{})
			e.check(err)
			_, err = e.svc.ConsoleEvents(e.ctx, models.EventFilter{})
			e.check(err)
		}
		// The kept pages (the console's and the API's lists, the audit log)
		// follow too.
		kept := func(users, events int, blocked bool) bool {
			p, err := e.svc.ConsoleList(e.ctx, models.Filter{})
			e.check(err)
			a, err := e.svc.ListAs(e.ctx, &models.User{Level: 9, Type: models.TypeActive}, models.Filter{Type: "blocked"})
			e.check(err)
			l, err := e.svc.ConsoleEvents(e.ctx, models.EventFilter{})
			e.check(err)
			return p.Total == users && len(p.Items) == users && (a.Total == 1) == blocked && l.Total == events && len(l.Items) == events
		}
		warm()
		var events0 int
		if l, err := e.svc.ConsoleEvents(e.ctx, models.EventFilter{}); err == nil {
			events0 = l.Total
		}
		if !kept(1, events0, false) {
			t.Fatal("the kept pages before any change elsewhere")
		}
		e.clock.Advance(2 * time.Second) // the next read polls (SQLite)
		u, err := other.Create(e.ctx, models.System, models.NewUser{Username: "elsewhere", Password: password, Level: 8})
		e.check(err)
		_, err = other.Login(e.ctx, models.Meta{}, "elsewhere", password)
		e.check(err)
		e.eventually("an admin made and signed in elsewhere", func() bool {
			st, err := e.svc.Stats(e.ctx)
			e.check(err)
			c, err := e.svc.Counts(e.ctx)
			e.check(err)
			p, err := e.svc.List(e.ctx, models.Filter{})
			e.check(err)
			return st.Total == 2 && st.ByRole["admin"] == 1 && c.Total == 2 && p.Total == 2 && len(p.Items) == 2 &&
				st.SignupsPerDay[models.StatsDays-1].Count == 2 && st.LoginsPerDay[models.StatsDays-1].Count == 1
		})
		e.eventually("the kept pages: an account and its sign-in elsewhere", func() bool { return kept(2, events0+2, false) })
		warm()
		e.clock.Advance(2 * time.Second)
		_, err = other.Block(e.ctx, models.System, u.ID, "")
		e.check(err)
		e.eventually("a ban elsewhere", func() bool {
			st, err := e.svc.Stats(e.ctx)
			e.check(err)
			p, err := e.svc.List(e.ctx, models.Filter{Type: "blocked"})
			e.check(err)
			return st.ByType["blocked"] == 1 && p.Total == 1
		})
		e.eventually("the kept pages: a ban elsewhere", func() bool { return kept(2, events0+3, true) })
		warm()
		e.clock.Advance(2 * time.Second)
		_, err = other.Delete(e.ctx, models.System, u.ID)
		e.check(err)
		e.check(other.Purge(e.ctx, models.System, u.ID))
		e.eventually("a purge elsewhere", func() bool {
			st, err := e.svc.Stats(e.ctx)
			e.check(err)
			return st.Total == 1 && st.ByType["blocked"] == 0 && st.SignupsPerDay[models.StatsDays-1].Count == 1
		})
	})
}

// A session ended by another process (one device signed out from another
// server) is dropped from this process's session cache through the change
// signal, within 2 s (milliseconds on PostgreSQL), not after the cache's 15 s.
func TestSessionEndedElsewhere(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		e.follow()
		other := models.NewService(bun.NewDB(db.DB, db.Dialect()), models.Options{Argon2: modelstest.FastArgon2})
		u := e.user("alice", 1, models.TypeActive)
		token, sess, err := e.svc.StartSession(e.ctx, models.Meta{}, u, models.SignIn{Method: models.MethodPassword})
		e.check(err)
		if _, err := e.svc.SessionByToken(e.ctx, token, models.Meta{}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Second) // the next read polls (SQLite)
		e.check(other.RevokeSession(e.ctx, models.Actor{User: u}, u.ID, sess.ID))
		e.eventually("a session ended elsewhere", func() bool {
			_, err := e.svc.SessionByToken(e.ctx, token, models.Meta{})
			return err != nil
		})
	})
}
