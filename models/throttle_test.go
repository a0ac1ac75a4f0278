package models_test

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

func wantLocked(t *testing.T, err error, what string) *models.LockedError {
	t.Helper()
	var le *models.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("%s: want a lock, got %v", what, err)
	}
	return le
}

// Failures counted at the same moment by many requests (and two services,
// as two instances would) all land: none is lost, and exactly the ones
// from the limit on answer with a lock.
func TestCountFailureConcurrently(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		// The address limit out of the way: each failure's answer then
		// depends on its own account-and-address count alone.
		opts := models.Options{Argon2: modelstest.FastArgon2, Now: e.clock.Now, AddressFailures: 1000}
		one, other := models.NewService(db, opts), models.NewService(db, opts)
		u := e.user("target", 1, models.TypeActive)
		g := models.Guess{AccountID: u.ID, IP: "198.51.100.1"}
		const n = 40
		var wg sync.WaitGroup
		var mu sync.Mutex
		locked, errs := 0, []error{}
		for i := range n {
			svc := one
			if i%2 == 1 {
				svc = other
			}
			wg.Go(func() {
				err := svc.CountFailure(e.ctx, models.Meta{IP: g.IP}, g)
				mu.Lock()
				defer mu.Unlock()
				var le *models.LockedError
				switch {
				case err == nil:
				case errors.As(err, &le):
					locked++
				default:
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		// 5 per account and address: every failure from the 5th on answers
		// with a lock.
		if locked != n-4 {
			t.Fatalf("%d of %d failures answered with a lock, want %d", locked, n, n-4)
		}
		var hits []int
		if err := db.NewSelect().Table("failure_counters").Column("hits").Where("key LIKE 'pair:%' OR key LIKE 'addr:%' OR key LIKE 'acct:%'").
			OrderExpr("key").Scan(e.ctx, &hits); err != nil {
			t.Fatal(err)
		}
		if len(hits) != 3 || hits[0] != n || hits[1] != n || hits[2] != n {
			t.Fatalf("counts %v, want three times %d (account, address, pair)", hits, n)
		}
		wantLocked(t, other.CheckGuess(e.ctx, g), "check on the other service")
	})
}

// Past the per-account ceiling, addresses the account never signed in
// from take turns (one guess per SlowEvery) while an address it signed in
// from goes on as usual; the right password is never refused when its
// turn comes.
func TestAccountCeilingSlowsNewAddresses(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		svc := models.NewService(db, models.Options{Argon2: modelstest.FastArgon2, Now: e.clock.Now, AccountCeiling: 10})
		e.user("root", 10, models.TypeActive)
		home := models.Meta{IP: "203.0.113.1"}
		if _, err := svc.Login(e.ctx, home, "root", password); err != nil {
			t.Fatal(err)
		}
		// A distributed attack: ten addresses, one wrong guess each.
		for i := range 10 {
			if _, err := svc.Login(e.ctx, models.Meta{IP: "198.51.100." + strconv.Itoa(i)}, "root", "guess"); !errors.Is(err, models.ErrInvalidCredentials) {
				t.Fatalf("guess %d: %v", i, err)
			}
		}
		// A new address: one guess now, the next after SlowEvery.
		if _, err := svc.Login(e.ctx, models.Meta{IP: "198.51.100.200"}, "root", "guess"); !errors.Is(err, models.ErrInvalidCredentials) {
			t.Fatalf("first turn: %v", err)
		}
		le := wantLocked(t, func() error {
			_, err := svc.Login(e.ctx, models.Meta{IP: "198.51.100.201"}, "root", password)
			return err
		}(), "before the next turn")
		if le.RetryAfter <= 0 || le.RetryAfter > 5*time.Second {
			t.Fatalf("wait %v, want up to 5s", le.RetryAfter)
		}
		// The owner at home is not slowed…
		for range 3 {
			if _, err := svc.Login(e.ctx, home, "root", password); err != nil {
				t.Fatalf("from a known address: %v", err)
			}
		}
		// …and from a new address gets in on the next turn.
		e.clock.Advance(5 * time.Second)
		if _, err := svc.Login(e.ctx, models.Meta{IP: "198.51.100.201"}, "root", password); err != nil {
			t.Fatalf("on its turn: %v", err)
		}
		// An unknown login past the same ceiling is slowed the same way.
		for i := range 10 {
			_, _ = svc.Login(e.ctx, models.Meta{IP: "192.0.2." + strconv.Itoa(i)}, "nobody", "guess")
		}
		_, _ = svc.Login(e.ctx, models.Meta{IP: "192.0.2.100"}, "nobody", "guess")
		wantLocked(t, func() error {
			_, err := svc.Login(e.ctx, models.Meta{IP: "192.0.2.101"}, "nobody", "guess")
			return err
		}(), "unknown login")
	})
}

// A password reset by e-mail ends the account's locks.
func TestResetEndsLocks(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		u := e.user("kim", 1, models.TypeActive)
		m := models.Meta{IP: "198.51.100.3"}
		for range 5 {
			_, _ = e.svc.Login(e.ctx, m, "kim", "wrong")
		}
		wantLocked(t, func() error { _, err := e.svc.Login(e.ctx, m, "kim", password); return err }(), "locked")
		if _, err := e.svc.ResetPassword(e.ctx, m, u.ID, "a new password"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Login(e.ctx, m, "kim", "a new password"); err != nil {
			t.Fatalf("after the reset: %v", err)
		}
	})
}
