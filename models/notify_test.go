package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// A listener hears an event once it is committed: when it hears one, the
// event is in the database for every other connection. Changing one's
// own password and signing out a session write their events inside a
// transaction of their own (they used to be announced before the commit).
func TestListenersHearCommittedEvents(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		bob := e.user("bob", models.LevelUser, models.TypeActive)
		var mu sync.Mutex
		heard := map[string]bool{} // action: its row was visible when heard
		e.svc.Subscribe(func(ctx context.Context, ev models.Event) {
			// Another connection, with a deadline: a listener run inside
			// the transaction would wait for its lock (SQLite) or not see
			// the row (PostgreSQL).
			qctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := db.NewSelect().Table("events").Where("id = ?", ev.ID).Count(qctx)
			mu.Lock()
			heard[ev.Action] = err == nil && n == 1
			mu.Unlock()
		})
		_, err := e.svc.ChangePassword(e.ctx, as(bob), password, "another good password 1")
		e.check(err)
		_, sess, err := e.svc.StartSession(e.ctx, models.Meta{IP: "192.0.2.9"}, bob, models.SignIn{})
		e.check(err)
		e.check(e.svc.RevokeSession(e.ctx, as(bob), bob.ID, sess.ID))
		mu.Lock()
		defer mu.Unlock()
		if len(heard) == 0 {
			t.Fatal("no event heard")
		}
		for action, visible := range heard {
			if !visible {
				t.Errorf("%s was heard before its transaction committed", action)
			}
		}
		if _, ok := heard[models.EvPasswordChange]; !ok {
			t.Errorf("password change not heard: %v", heard)
		}
	})
}
