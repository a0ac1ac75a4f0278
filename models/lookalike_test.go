package models_test

import (
	"context"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/migrations"
	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// Usernames and addresses that look like existing ones (Unicode TR39
// skeletons) are refused, however they come in.
func TestLookAlikeIdentifiersRefused(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		e.user("paypal", 1, models.TypeActive)
		member := e.user("member1", 1, models.TypeActive)
		root := e.user("root", 10, models.TypeActive)
		other := e.user("other", 1, models.TypeActive)
		newUser := func(username, email string) models.NewUser {
			return models.NewUser{Username: username, Email: email, Password: password, Level: 1}
		}

		_, err := e.svc.Create(e.ctx, models.System, newUser("paypaI", "p@example.org"))
		wantConflict(t, err, "username")
		if !strings.Contains(err.Error(), "looks too much like") {
			t.Errorf("look-alike: %v", err)
		}
		// The same name in other letters' case is simply taken, whichever
		// index the database names first.
		_, err = e.svc.Create(e.ctx, models.System, newUser("PAYPAL", "p@example.org"))
		wantConflict(t, err, "username")
		if err.Error() != "This username is already taken." {
			t.Errorf("taken: %v", err)
		}
		_, err = e.svc.Create(e.ctx, models.System, newUser("paypal2", "ROOT@example.com"))
		if err == nil || err.Error() != "An account with this e-mail address already exists." {
			t.Errorf("address taken: %v", err)
		}
		_, err = e.svc.Register(e.ctx, models.Meta{IP: "192.0.2.1"}, newUser("rnember1", "r@example.org"), false)
		wantConflict(t, err, "username")
		_, err = e.svc.Register(e.ctx, models.Meta{IP: "192.0.2.2"}, newUser("memberl", "m@example.org"), false)
		wantConflict(t, err, "username")
		_, err = e.svc.Register(e.ctx, models.Meta{IP: "192.0.2.3"}, newUser("root2", "root@ex\u0430mple.com"), false)
		wantConflict(t, err, "email")
		_, err = e.svc.Update(e.ctx, models.System, other.ID, models.Patch{Username: ptr("PAYPA1")})
		wantConflict(t, err, "username")
		_, err = e.svc.Update(e.ctx, models.System, other.ID, models.Patch{Email: ptr("ROOT@EXAMPLE.C\u041EM")})
		wantConflict(t, err, "email")
		_, err = e.svc.UpdateProfile(e.ctx, as(other), models.ProfilePatch{Email: "member1@ex\u0430mple.com"})
		wantConflict(t, err, "email")

		// Changing one's own name's case, or keeping it, is no conflict.
		if _, err := e.svc.Update(e.ctx, models.System, member.ID, models.Patch{Username: ptr("Member1")}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.UpdateProfile(e.ctx, as(root), models.ProfilePatch{Email: "ROOT@example.com"}); err != nil {
			t.Fatal(err)
		}
		// Names that only share letters are fine.
		if _, err := e.svc.Create(e.ctx, models.System, newUser("paypals", "pp@example.org")); err != nil {
			t.Fatal(err)
		}
		// A removed address frees its skeleton.
		if _, err := e.svc.Update(e.ctx, models.System, other.ID, models.Patch{Email: ptr("")}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Create(e.ctx, models.System, newUser("third", "other@example.com")); err != nil {
			t.Fatal(err)
		}
	})
}

// Right-to-left overrides and other bidi controls are taken out of names.
func TestBidiControlsStripped(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		u, err := e.svc.Create(e.ctx, models.System, models.NewUser{
			Username: "kim", Password: password, Name: "Kim \u202Egnp.exe\u202C \u2066x\u2069\u200F",
		})
		e.check(err)
		if u.Name != "Kim gnp.exe x" {
			t.Fatalf("name %q", u.Name)
		}
		u, err = e.svc.UpdateProfile(e.ctx, as(u), models.ProfilePatch{Name: "\u202Enimda"})
		e.check(err)
		if u.Name != "nimda" {
			t.Fatalf("profile name %q", u.Name)
		}
		u, err = e.svc.Update(e.ctx, models.System, u.ID, models.Patch{Name: ptr("a\u061Cb\u200Ec")})
		e.check(err)
		if u.Name != "abc" {
			t.Fatalf("patched name %q", u.Name)
		}
	})
}

// The migration fills the skeletons of the accounts there are; where two
// already look alike, the newer one's stays empty and keeps working.
func TestSkeletonMigrationFillsExisting(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		first := e.user("paypal", 1, models.TypeActive)
		second := e.user("second", 1, models.TypeActive)
		// As if made before the skeletons existed.
		if _, err := db.NewUpdate().Table("users").Set("username = 'paypaI', username_skeleton = NULL").
			Where("id = ?", second.ID).Exec(e.ctx); err != nil {
			t.Fatal(err)
		}
		var step *struct{ down, up func(context.Context) error }
		for _, m := range migrations.Migrations.Sorted() {
			if strings.HasPrefix(m.Name, "20261130000302") {
				m := m
				mg := migrations.NewMigrator(db)
				step = &struct{ down, up func(context.Context) error }{
					down: func(ctx context.Context) error { return m.Down(ctx, mg, &m) },
					up:   func(ctx context.Context) error { return m.Up(ctx, mg, &m) },
				}
			}
		}
		if step == nil {
			t.Fatal("no migration 20261130000302")
		}
		e.check(step.down(e.ctx))
		e.check(step.up(e.ctx))
		var rows []struct {
			ID               int64
			UsernameSkeleton *string
			EmailSkeleton    *string
		}
		e.check(db.NewSelect().Table("users").Column("id", "username_skeleton", "email_skeleton").OrderExpr("id").Scan(e.ctx, &rows))
		if len(rows) != 2 || rows[0].ID != first.ID || rows[0].UsernameSkeleton == nil || *rows[0].UsernameSkeleton != "paypal" ||
			rows[1].UsernameSkeleton != nil || rows[1].EmailSkeleton == nil {
			t.Fatalf("skeletons after the migration: %+v", rows)
		}
		if _, err := e.svc.Login(e.ctx, models.Meta{}, "paypaI", password); err != nil {
			t.Fatalf("the newer look-alike signs in: %v", err)
		}
		_, err := e.svc.Create(e.ctx, models.System, models.NewUser{Username: "PAYPA1", Password: password})
		wantConflict(t, err, "username")
	})
}
