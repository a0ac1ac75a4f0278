package models_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

func TestLogin(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		u := e.user("Alice", 1, models.TypeActive)
		meta := models.Meta{IP: "203.0.113.9", UserAgent: "Firefox"}

		got, err := e.svc.Login(e.ctx, meta, "aLICE", password)
		e.check(err)
		if got.ID != u.ID || got.LoginCount != 1 || got.LastLoginAt == nil || !got.LastLoginAt.Equal(e.clock.Now()) {
			t.Fatalf("by username: %+v", got)
		}
		e.clock.Advance(time.Hour)
		got, err = e.svc.Login(e.ctx, meta, "  ALICE@example.COM ", password)
		e.check(err)
		if got.ID != u.ID {
			t.Fatalf("by e-mail: %+v", got)
		}
		stored := e.reload(u)
		if stored.LoginCount != 2 || !stored.LastLoginAt.Equal(e.clock.Now()) || stored.LastLoginIP != "203.0.113.9" || stored.LastLoginUA != "Firefox" {
			t.Fatalf("stored: count %d, at %v, ip %q, ua %q", stored.LoginCount, stored.LastLoginAt, stored.LastLoginIP, stored.LastLoginUA)
		}
		evs := e.events(models.EventFilter{Action: models.EvLogin})
		if len(evs) != 2 || idOf(evs[0].ActorID) != fmt.Sprint(u.ID) || idOf(evs[0].TargetID) != fmt.Sprint(u.ID) || evs[0].IP != "203.0.113.9" {
			t.Fatalf("login events %+v", evs)
		}

		for _, c := range []struct{ login, password string }{
			{"alice", "wrong password"},
			{"alice@example.com", "Correct Horse"},
			{"nobody", password},
			{"nobody@example.com", password},
			{"", password},
			{"alice", ""},
			{"alice", strings.Repeat("x", 300)},
		} {
			if _, err := e.svc.Login(e.ctx, meta, c.login, c.password); !errors.Is(err, models.ErrInvalidCredentials) {
				t.Errorf("%q/%q: %v", c.login, c.password, err)
			}
		}
		failed := e.events(models.EventFilter{Action: models.EvLoginFailed})
		if len(failed) < 4 || failed[0].ActorID != nil {
			t.Fatalf("failed events %+v", failed)
		}
		if stored := e.reload(u); stored.LoginCount != 2 {
			t.Fatalf("failures counted as logins: %d", stored.LoginCount)
		}
	})
}

func TestLoginStates(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		banned := e.user("banned", 1, models.TypeBanned)
		waiting := e.user("waiting", 1, models.TypeInactive)
		e.user("deleted", 1, models.TypeDeleted)

		// The state is told only to whom knows the password.
		for _, name := range []string{"banned", "waiting", "deleted", "DELETED@example.com"} {
			if _, err := e.svc.Login(e.ctx, models.Meta{}, name, "wrong password"); !errors.Is(err, models.ErrInvalidCredentials) {
				t.Errorf("%s with a wrong password: %v", name, err)
			}
		}
		_, err := e.svc.Login(e.ctx, models.Meta{}, "BANNED", password)
		var be *models.BannedError
		if !errors.As(err, &be) || be.Reason != "spam" {
			t.Fatalf("banned: %v", err)
		}
		_, err = e.svc.Login(e.ctx, models.Meta{}, "waiting@example.com", password)
		var ne *models.NotConfirmedError
		if !errors.As(err, &ne) || ne.UserID != waiting.ID {
			t.Fatalf("inactive: %v", err)
		}
		if _, err := e.svc.Login(e.ctx, models.Meta{}, "deleted", password); !errors.Is(err, models.ErrInvalidCredentials) {
			t.Fatalf("deleted: %v", err)
		}
		for _, u := range []*models.User{banned, waiting} {
			if got := e.reload(u); got.LoginCount != 0 || got.LastLoginAt != nil {
				t.Fatalf("%s: a refused sign-in was counted", u.Username)
			}
		}
		if evs := e.events(models.EventFilter{Action: models.EvLogin}); len(evs) != 0 {
			t.Fatalf("login events %+v", evs)
		}
	})
}

func TestLoginLockout(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		u := e.user("target", 1, models.TypeActive)
		for i := range 4 {
			if _, err := e.svc.Login(e.ctx, models.Meta{}, "target", "wrong password"); !errors.Is(err, models.ErrInvalidCredentials) {
				t.Fatalf("failure %d: %v", i+1, err)
			}
		}
		_, err := e.svc.Login(e.ctx, models.Meta{}, "target", "wrong password")
		var le *models.LockedError
		if !errors.As(err, &le) || le.RetryAfter != 15*time.Minute {
			t.Fatalf("failure 5: %v", err)
		}
		ev := e.lastEvent(models.EvLoginLocked)
		if idOf(ev.TargetID) != fmt.Sprint(u.ID) {
			t.Fatalf("locked event %+v", ev)
		}
		// Locked: even the right password is refused, by e-mail too.
		e.clock.Advance(10 * time.Minute)
		for _, login := range []string{"target", "target@example.com"} {
			_, err = e.svc.Login(e.ctx, models.Meta{}, login, password)
			if !errors.As(err, &le) || le.RetryAfter != 5*time.Minute {
				t.Fatalf("while locked (%s): %v", login, err)
			}
		}
		e.clock.Advance(5*time.Minute + time.Second)
		if _, err := e.svc.Login(e.ctx, models.Meta{}, "target", password); err != nil {
			t.Fatalf("after the lock: %v", err)
		}
		// A success resets the count.
		for i := range 4 {
			if _, err := e.svc.Login(e.ctx, models.Meta{}, "target", "wrong password"); !errors.Is(err, models.ErrInvalidCredentials) {
				t.Fatalf("failure %d after reset: %v", i+1, err)
			}
		}
		if _, err := e.svc.Login(e.ctx, models.Meta{}, "target", password); err != nil {
			t.Fatalf("fifth try, right password: %v", err)
		}
		// Another account is not affected by this one's lock.
		e.user("other", 1, models.TypeActive)
		for range 5 {
			_, _ = e.svc.Login(e.ctx, models.Meta{}, "target", "wrong password")
		}
		if _, err := e.svc.Login(e.ctx, models.Meta{}, "other", password); err != nil {
			t.Fatalf("other account: %v", err)
		}
	})
}

var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHasher(t *testing.T) {
	ctx := context.Background()
	p := modelstest.FastArgon2
	h := models.NewHasher(p)
	a, err := h.Hash(ctx, "s3cret pass")
	if err != nil {
		t.Fatal(err)
	}
	m := phc.FindStringSubmatch(a)
	if m == nil || m[1] != "64" || m[2] != "1" || m[3] != "1" {
		t.Fatalf("not a PHC string with the parameters: %q", a)
	}
	b, _ := h.Hash(ctx, "s3cret pass")
	if a == b {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, c := range []struct {
		password string
		ok       bool
	}{{"s3cret pass", true}, {"s3cret pas", false}, {"S3cret pass", false}, {"", false}} {
		ok, rehash, err := h.Verify(ctx, a, c.password)
		if err != nil || ok != c.ok || rehash {
			t.Errorf("verify %q: ok %v rehash %v err %v", c.password, ok, rehash, err)
		}
	}
	for _, other := range []models.Argon2Params{
		{Memory: 128, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16},
		{Memory: 64, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16},
		{Memory: 64, Time: 1, Threads: 2, KeyLen: 32, SaltLen: 16},
		{Memory: 64, Time: 1, Threads: 1, KeyLen: 16, SaltLen: 16},
	} {
		ok, rehash, err := models.NewHasher(other).Verify(ctx, a, "s3cret pass")
		if err != nil || !ok || !rehash {
			t.Errorf("params %+v: ok %v rehash %v err %v", other, ok, rehash, err)
		}
	}
	key := strings.Repeat("A", 43) // 32 zero bytes
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + key,
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + key,
		"$argon2id$v=19$m=64,t=1$c2FsdHNhbHRzYWx0c2FsdA$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$",
		"$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + key,
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHRzYWx0c2FsdA$" + key,
		"$argon2id$v=19$m=0,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + key,
		"$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + key,
		"$argon2id$v=19$m=64,t=4000000000,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + key,
	} {
		if ok, _, err := h.Verify(ctx, bad, "x"); ok || err == nil {
			t.Errorf("%q: ok %v, err %v", bad, ok, err)
		}
	}
	if d := models.DefaultArgon2; d.Memory != 19*1024 || d.Time != 2 || d.Threads != 1 {
		t.Errorf("DefaultArgon2 %+v is below the OWASP minimum", d)
	}
}

func TestLoginRehashes(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		u := e.user("old", 1, models.TypeActive) // made with modelstest.FastArgon2
		before := e.reload(u).PasswordHash

		stronger := models.Argon2Params{Memory: 128, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}
		svc := models.NewService(db, models.Options{Argon2: stronger, Now: e.clock.Now})
		if _, err := svc.Login(e.ctx, models.Meta{}, "old", "wrong password"); !errors.Is(err, models.ErrInvalidCredentials) {
			t.Fatal(err)
		}
		if got := e.reload(u).PasswordHash; got != before {
			t.Fatal("a failed sign-in rehashed")
		}
		if _, err := svc.Login(e.ctx, models.Meta{}, "old", password); err != nil {
			t.Fatal(err)
		}
		after := e.reload(u).PasswordHash
		if m := phc.FindStringSubmatch(after); m == nil || m[1] != "128" || m[2] != "2" {
			t.Fatalf("not rehashed with the new parameters: %q", after)
		}
		ok, rehash, err := models.NewHasher(stronger).Verify(e.ctx, after, password)
		if err != nil || !ok || rehash {
			t.Fatalf("new hash: ok %v rehash %v err %v", ok, rehash, err)
		}
		// Signing in again keeps the now-current hash.
		if _, err := svc.Login(e.ctx, models.Meta{}, "old", password); err != nil {
			t.Fatal(err)
		}
		if e.reload(u).PasswordHash != after {
			t.Fatal("a current hash was rehashed")
		}
	})
}
