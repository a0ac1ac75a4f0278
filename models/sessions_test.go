package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// start signs u in with a password session and returns the cookie's secret.
func (e *env) start(u *models.User, in models.SignIn) (string, *models.Session) {
	e.t.Helper()
	tok, sess, err := e.svc.StartSession(e.ctx, models.Meta{IP: "198.51.100.7", UserAgent: "Firefox"}, u, in)
	e.check(err)
	return tok, sess
}

func (e *env) sessionRows(u *models.User) int {
	e.t.Helper()
	n, err := e.db.NewSelect().Model((*models.Session)(nil)).Where("user_id = ?", u.ID).Count(e.ctx)
	e.check(err)
	return int(n)
}

func TestSessionStartFindEnd(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		ann := e.user("ann", 1, models.TypeActive)
		tok, sess := e.start(ann, models.SignIn{Method: models.MethodPassword, Remember: true})
		if sess.Pending || !sess.Remember || !sess.ExpiresAt.Equal(e.clock.Now().Add(models.SessionRememberFor)) {
			t.Fatalf("session %+v", sess)
		}
		var hash string
		e.check(db.NewSelect().Model((*models.Session)(nil)).Column("hash").Where("id = ?", sess.ID).Scan(e.ctx, &hash))
		if hash == tok || len(hash) != 64 {
			t.Fatalf("the stored hash %q is not the SHA-256 of the secret", hash)
		}
		got, err := e.svc.SessionByToken(e.ctx, tok, models.Meta{})
		e.check(err)
		if got.ID != sess.ID || got.UserID != ann.ID {
			t.Fatalf("found %+v", got)
		}
		for _, bad := range []string{"", tok + "x", tok[:len(tok)-1], "garbage"} {
			if _, err := e.svc.SessionByToken(e.ctx, bad, models.Meta{}); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("token %q: %v", bad, err)
			}
		}
		e.check(e.svc.EndSession(e.ctx, as(ann), got))
		if _, err := e.svc.SessionByToken(e.ctx, tok, models.Meta{}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("after sign-out: %v", err)
		}
		if ev := e.lastEvent(models.EvLogout); idOf(ev.TargetID) != idOf(&ann.ID) {
			t.Fatalf("logout event %+v", ev)
		}

		// A browser session ends on the server after a week, whatever the cookie says.
		tok, _ = e.start(ann, models.SignIn{Method: models.MethodPassword})
		e.clock.Advance(models.SessionBrowserFor + time.Second)
		if _, err := e.svc.SessionByToken(e.ctx, tok, models.Meta{}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("a week-old browser session: %v", err)
		}
		n, err := e.svc.PruneSessions(e.ctx)
		e.check(err)
		if n != 1 || e.sessionRows(ann) != 0 {
			t.Fatalf("pruned %d, left %d", n, e.sessionRows(ann))
		}
	})
}

// Another process (a second service on the same database) deleting a
// session ends it here too, by the next last-seen write at the latest.
func TestSessionEndedByAnotherProcess(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		other := modelstest.Service(db, e.clock)
		ann := e.user("ann", 1, models.TypeActive)
		tok, _ := e.start(ann, models.SignIn{Method: models.MethodPassword})
		sess, err := e.svc.SessionByToken(e.ctx, tok, models.Meta{})
		e.check(err)
		e.check(other.RevokeSession(e.ctx, as(ann), ann.ID, sess.ID))
		e.clock.Advance(2 * time.Minute)
		if _, err := e.svc.SessionByToken(e.ctx, tok, models.Meta{}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("revoked elsewhere, still found here: %v", err)
		}
	})
}

func TestSessionLastSeenIsThrottled(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		ann := e.user("ann", 1, models.TypeActive)
		tok, sess := e.start(ann, models.SignIn{Method: models.MethodPassword})
		stored := func() models.Session {
			var s models.Session
			e.check(db.NewSelect().Model(&s).Where("id = ?", sess.ID).Scan(e.ctx))
			return s
		}
		e.clock.Advance(10 * time.Second)
		_, err := e.svc.SessionByToken(e.ctx, tok, models.Meta{IP: "203.0.113.1"})
		e.check(err)
		if s := stored(); !s.LastSeenAt.Equal(sess.LastSeenAt) || s.IP != "198.51.100.7" {
			t.Fatalf("written within the minute: %+v", s)
		}
		e.clock.Advance(time.Minute)
		_, err = e.svc.SessionByToken(e.ctx, tok, models.Meta{IP: "203.0.113.1", UserAgent: "Phone"})
		e.check(err)
		if s := stored(); !s.LastSeenAt.Equal(e.clock.Now()) || s.IP != "203.0.113.1" || s.UserAgent != "Phone" {
			t.Fatalf("not written after a minute: %+v", s)
		}
	})
}

// Ban, delete, password change (own, by an admin, by e-mail link) and
// "sign out everywhere" delete every session of the account.
func TestAccountChangesDeleteSessions(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, models.TypeActive)
		ann := e.user("ann", 1, models.TypeActive)
		for _, c := range []struct {
			name string
			do   func() error
		}{
			{"ban", func() error { _, err := e.svc.Block(e.ctx, as(admin), ann.ID, "x"); return err }},
			{"password by admin", func() error { _, err := e.svc.SetPassword(e.ctx, as(admin), ann.ID, "another password"); return err }},
			{"own password", func() error {
				_, err := e.svc.ChangePassword(e.ctx, as(e.reload(ann)), "another password", password)
				return err
			}},
			{"sign out everywhere", func() error { _, err := e.svc.RevokeSessions(e.ctx, as(ann), ann.ID); return err }},
			{"delete", func() error { _, err := e.svc.Delete(e.ctx, as(admin), ann.ID); return err }},
		} {
			if u := e.reload(ann); u.Type == models.TypeBanned {
				_, err := e.svc.Unblock(e.ctx, as(admin), ann.ID)
				e.check(err)
			}
			tok, _ := e.start(e.reload(ann), models.SignIn{Method: models.MethodPassword})
			e.start(e.reload(ann), models.SignIn{Method: models.MethodPassword})
			if _, err := e.svc.SessionByToken(e.ctx, tok, models.Meta{}); err != nil {
				t.Fatalf("%s: before: %v", c.name, err)
			}
			e.check(c.do())
			if n := e.sessionRows(ann); n != 0 {
				t.Fatalf("%s: %d sessions left", c.name, n)
			}
			if _, err := e.svc.SessionByToken(e.ctx, tok, models.Meta{}); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("%s: the session is still found: %v", c.name, err)
			}
		}
	})
}

func TestUserSessionsListAndRevokePermissions(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, models.TypeActive)
		peer := e.user("peer", 9, models.TypeActive)
		mod := e.user("mod", 6, models.TypeActive)
		ann := e.user("ann", 1, models.TypeActive)
		bob := e.user("bob", 1, models.TypeActive)
		_, s1 := e.start(ann, models.SignIn{Method: models.MethodPassword})
		e.start(ann, models.SignIn{Method: models.MethodPassword})
		e.start(admin, models.SignIn{Method: models.MethodPassword})

		for _, who := range []*models.User{ann, admin} {
			list, err := e.svc.UserSessions(e.ctx, as(who), ann.ID)
			e.check(err)
			if len(list) != 2 || list[0].UserID != ann.ID {
				t.Fatalf("%s lists %d sessions", who.Username, len(list))
			}
		}
		for _, c := range []struct {
			by     *models.User
			target *models.User
		}{{bob, ann}, {mod, ann}, {ann, admin}, {peer, admin}} {
			if _, err := e.svc.UserSessions(e.ctx, as(c.by), c.target.ID); !isDenied(err) {
				t.Fatalf("%s lists %s's sessions: %v", c.by.Username, c.target.Username, err)
			}
			list, err := e.svc.UserSessions(e.ctx, models.System, c.target.ID)
			e.check(err)
			if err := e.svc.RevokeSession(e.ctx, as(c.by), c.target.ID, list[0].ID); !isDenied(err) {
				t.Fatalf("%s revokes %s's session: %v", c.by.Username, c.target.Username, err)
			}
		}
		// A session of someone else given with the wrong account: not found.
		if err := e.svc.RevokeSession(e.ctx, as(admin), bob.ID, s1.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("ann's session under bob: %v", err)
		}
		e.check(e.svc.RevokeSession(e.ctx, as(admin), ann.ID, s1.ID))
		if n := e.sessionRows(ann); n != 1 {
			t.Fatalf("%d sessions left after revoking one", n)
		}
		if ev := e.lastEvent(models.EvSessionRevoke); idOf(ev.ActorID) != idOf(&admin.ID) || idOf(ev.TargetID) != idOf(&ann.ID) {
			t.Fatalf("event %+v", ev)
		}
	})
}

func isDenied(err error) bool {
	var d *models.DeniedError
	return errors.As(err, &d)
}

// BenchmarkSessionByToken is the session lookup of every signed-in page:
// from memory, with the last-seen write due once a minute.
func BenchmarkSessionByToken(b *testing.B) {
	db := modelstest.Open(b, "sqlite")
	clock := modelstest.NewClock()
	svc := modelstest.Service(db, clock)
	ctx := context.Background()
	u, err := svc.Create(ctx, models.System, models.NewUser{Username: "bench", Password: password, Level: 1})
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := svc.StartSession(ctx, models.Meta{}, u, models.SignIn{Method: models.MethodPassword})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.SessionByToken(ctx, tok, models.Meta{IP: "192.0.2.1"}); err != nil {
			b.Fatal(err)
		}
	}
}
