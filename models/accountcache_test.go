package models_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// The account cache answers Get and GetByUsername from memory; every write
// of this process, through the service or not, must show at once.
func TestAccountCacheSeesThisProcessWrites(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, models.TypeActive)
		alice := e.user("alice", 1, models.TypeActive)
		e.reload(alice) // cached now

		_, err := e.svc.Update(e.ctx, as(admin), alice.ID, models.Patch{Name: ptr("Alice A."), Username: ptr("alicia")})
		e.check(err)
		if got := e.reload(alice); got.Name != "Alice A." || got.Username != "alicia" {
			t.Fatalf("after update: %+v", got)
		}
		if _, err := e.svc.GetByUsername(e.ctx, "alice"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("old name still found: %v", err)
		}
		if got, err := e.svc.GetByUsername(e.ctx, "ALICIA"); err != nil || got.ID != alice.ID {
			t.Fatalf("new name: %v %v", got, err)
		}

		before := e.reload(alice).SessionVersion
		_, err = e.svc.RevokeSessions(e.ctx, as(admin), alice.ID)
		e.check(err)
		if got := e.reload(alice); got.SessionVersion != before+1 {
			t.Fatalf("session version %d after revoke, want %d", got.SessionVersion, before+1)
		}
		_, err = e.svc.Block(e.ctx, as(admin), alice.ID, "spam")
		e.check(err)
		if got, _ := e.svc.GetByUsername(e.ctx, "alicia"); got.Type != models.TypeBanned {
			t.Fatalf("type %d after ban", got.Type)
		}

		// A statement that bypasses the service's methods, on its database handle.
		_, err = db.NewUpdate().Model((*models.User)(nil)).Set("points = 77").Where("id = ?", alice.ID).Exec(e.ctx)
		e.check(err)
		if got := e.reload(alice); got.Points != 77 {
			t.Fatalf("points %d after a direct update", got.Points)
		}
		_, err = db.ExecContext(e.ctx, "UPDATE users SET points = 78 WHERE id = ?", alice.ID)
		e.check(err)
		if got := e.reload(alice); got.Points != 78 {
			t.Fatalf("points %d after a raw update", got.Points)
		}

		e.check(e.svc.Purge(e.ctx, models.System, alice.ID))
		if _, err := e.svc.Get(e.ctx, alice.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("purged account still found: %v", err)
		}
	})
}

// Callers get copies: changing one changes nothing for the next caller.
func TestAccountCacheHandsOutCopies(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		alice := e.user("alice", 1, models.TypeActive)
		_, err := e.svc.Update(e.ctx, models.System, alice.ID, models.Patch{Var: map[string]any{"lang": "en"}})
		e.check(err)
		got := e.reload(alice)
		got.Name = "changed"
		*got.Email = "changed@example.com"
		got.Var["lang"] = "fr"
		again := e.reload(alice)
		if again.Name == "changed" || again.EmailAddress() != "alice@example.com" ||
			again.Var["lang"] != "en" {
			t.Fatalf("a caller's change reached the cache: %+v %v", again, again.Var)
		}
	})
}

// Another process's writes (here a second handle on the same database,
// which the service's query hook does not see) reach the cache through the
// change signal: NOTIFY on PostgreSQL, the next poll of change_seq on
// SQLite. A row deleted elsewhere is announced too.
func TestAccountCacheSeesOtherProcessWrites(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		e.follow()
		alice := e.user("alice", 1, models.TypeActive)
		bob := e.user("bob", 1, models.TypeActive)
		other := bun.NewDB(db.DB, db.Dialect()) // no hooks: "another process"
		e.reload(alice)
		e.reload(bob)

		e.clock.Advance(2 * time.Second) // past the poll interval (SQLite), within the TTL
		_, err := other.NewUpdate().Model((*models.User)(nil)).Where("id = ?", alice.ID).
			Set("type = ?", models.TypeBanned).Set("session_version = session_version + 1").
			Set("updated_at = ?", e.clock.Now()).Exec(e.ctx)
		e.check(err)
		e.eventually("another process's ban", func() bool {
			got := e.reload(alice)
			return got.Type == models.TypeBanned && got.SessionVersion == 2
		})

		e.reload(bob)
		e.clock.Advance(2 * time.Second)
		_, err = other.NewDelete().Model((*models.User)(nil)).Where("id = ?", bob.ID).Exec(e.ctx)
		e.check(err)
		e.eventually("another process's purge", func() bool {
			_, err := e.svc.Get(e.ctx, bob.ID)
			return errors.Is(err, models.ErrNotFound)
		})
	})
}

// A presence write updates the cached last_seen_at instead of emptying the cache.
func TestAccountCacheFollowsPresence(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		alice := e.user("alice", 1, models.TypeActive)
		e.reload(alice)
		e.clock.Advance(10 * time.Minute)
		e.check(e.svc.Touch(e.ctx, models.Visit{VisitorID: models.MemberVisitor(alice.ID), UserID: &alice.ID, Page: "/"}))
		got := e.reload(alice)
		if got.LastSeenAt == nil || !got.LastSeenAt.Equal(e.clock.Now()) || !e.svc.IsOnline(got) {
			t.Fatalf("last seen %v, want %v", got.LastSeenAt, e.clock.Now())
		}
	})
}

// Readers racing writers: once a write returns, no read may answer older data.
func TestAccountCacheUnderConcurrentWrites(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		alice := e.user("alice", 1, models.TypeActive)
		var written atomic.Int64 // the newest points value whose write returned
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var stale atomic.Int64
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					want := written.Load()
					u, err := e.svc.Get(e.ctx, alice.ID)
					if err != nil {
						t.Error(err)
						return
					}
					if u.Points < want {
						stale.Add(1)
					}
				}
			}()
		}
		for i := int64(1); i <= 40; i++ {
			_, err := e.svc.Update(e.ctx, models.System, alice.ID, models.Patch{Points: &i})
			if err != nil {
				t.Error(err)
				break
			}
			written.Store(i)
		}
		close(stop)
		wg.Wait()
		if n := stale.Load(); n > 0 {
			t.Fatalf("%d reads answered points older than a write that had returned", n)
		}
	})
}

// With the cache off every read goes to the database.
func TestAccountCacheOff(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		alice := e.user("alice", 1, models.TypeActive)
		svc := models.NewService(db, models.Options{Argon2: modelstest.FastArgon2, Now: e.clock.Now, AccountCacheTTL: -1})
		if _, err := svc.Get(e.ctx, alice.ID); err != nil {
			t.Fatal(err)
		}
		other := bun.NewDB(db.DB, db.Dialect())
		_, err := other.NewUpdate().Model((*models.User)(nil)).Where("id = ?", alice.ID).Set("points = 5").Exec(e.ctx)
		e.check(err)
		if got, _ := svc.Get(e.ctx, alice.ID); got.Points != 5 {
			t.Fatalf("points %d with the cache off", got.Points)
		}
	})
}

// Snapshot tells readings apart: the same while the account is unchanged,
// new after any change (presence included).
func TestAccountSnapshot(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		alice := e.user("alice", 1, models.TypeActive)
		first := e.reload(alice).Snapshot
		byName, err := e.svc.GetByUsername(e.ctx, "ALICE")
		e.check(err)
		if first == 0 || byName.Snapshot != first {
			t.Fatalf("snapshots %d and %d of an unchanged account", first, byName.Snapshot)
		}
		_, err = e.svc.Update(e.ctx, models.System, alice.ID, models.Patch{Name: ptr("A")})
		e.check(err)
		second := e.reload(alice).Snapshot
		if second == first || second == 0 {
			t.Fatalf("snapshot %d after a change (was %d)", second, first)
		}
		e.clock.Advance(2 * time.Minute)
		e.check(e.svc.Touch(e.ctx, models.Visit{VisitorID: models.MemberVisitor(alice.ID), UserID: &alice.ID, Page: "/"}))
		if third := e.reload(alice).Snapshot; third == second {
			t.Fatalf("snapshot unchanged after a visit")
		}
	})
}

// A clock set back (an NTP step) does not stop the poll (SQLite) for as long.
func TestAccountCachePollsAfterTheClockIsSetBack(t *testing.T) {
	e := newEnv(t, modelstest.Open(t, "sqlite"))
	alice := e.user("alice", 1, models.TypeActive)
	e.reload(alice)
	e.clock.Advance(2 * time.Second)
	e.reload(alice) // polls, and sets the next poll a second later
	e.clock.Advance(-time.Hour)
	other := bun.NewDB(e.db.DB, e.db.Dialect())
	_, err := other.NewUpdate().Model((*models.User)(nil)).Where("id = ?", alice.ID).
		Set("points = 9").Set("updated_at = ?", e.clock.Now()).Exec(e.ctx)
	e.check(err)
	if got := e.reload(alice); got.Points != 9 {
		t.Fatalf("points %d: no poll after the clock went back an hour", got.Points)
	}
}
