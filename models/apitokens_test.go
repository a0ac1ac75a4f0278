package models_test

import (
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// Who makes which keys: admins make keys, anyone makes personal tokens
// for themselves, the system makes either for any active account, and a
// key never makes keys.
func TestCreateKeyRules(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, models.TypeActive)
		bob := e.user("bob", 1, models.TypeActive)
		banned := e.user("banned", 1, models.TypeBanned)

		_, _, err := e.svc.CreateKey(e.ctx, as(bob), models.NewAPIKey{Name: "k"})
		wantDenied(t, err)
		k, key, err := e.svc.CreateKey(e.ctx, as(bob), models.NewAPIKey{Name: "phone", Kind: models.KindToken, Scope: "read"})
		e.check(err)
		if k.Kind != models.KindToken || k.Scope != models.ScopeRead || k.CreatedBy != bob.ID || k.CanWrite() {
			t.Fatalf("token %+v", k)
		}
		u, got, err := e.svc.AuthenticateAPIKey(e.ctx, key, models.Meta{})
		e.check(err)
		if u.ID != bob.ID || got.Scope != models.ScopeRead {
			t.Fatalf("authenticated %v %+v", u, got)
		}
		_, _, err = e.svc.CreateKey(e.ctx, as(admin), models.NewAPIKey{Name: "k", Owner: bob})
		wantDenied(t, err) // only for themselves
		_, _, err = e.svc.CreateKey(e.ctx, models.Actor{User: admin, Key: k}, models.NewAPIKey{Name: "k"})
		wantDenied(t, err) // not through a key
		_, _, err = e.svc.CreateKey(e.ctx, models.System, models.NewAPIKey{Name: "k", Owner: banned})
		wantDenied(t, err)
		sys, _, err := e.svc.CreateKey(e.ctx, models.System, models.NewAPIKey{Name: "deploy", Owner: bob, Scope: "read write"})
		e.check(err)
		if sys.CreatedBy != bob.ID || sys.Kind != models.KindKey || !sys.CanWrite() {
			t.Fatalf("system key %+v", sys)
		}
		_, _, err = e.svc.CreateKey(e.ctx, as(admin), models.NewAPIKey{Name: "k", Scope: "admin"})
		wantField(t, err, "scope")
		_, _, err = e.svc.CreateKey(e.ctx, as(admin), models.NewAPIKey{Name: "k", ExpiresAt: e.svc.Now().Add(-time.Minute)})
		wantField(t, err, "expires")
		_, _, err = e.svc.CreateKey(e.ctx, as(admin), models.NewAPIKey{Name: "k", ExpiresAt: e.svc.Now().Add(6 * 366 * 24 * time.Hour)})
		wantField(t, err, "expires")

		// A member revokes their own token, not another's.
		_, err = e.svc.RevokeAPIKey(e.ctx, as(banned), k.ID)
		wantDenied(t, err)
		_, err = e.svc.RevokeAPIKey(e.ctx, as(bob), k.ID)
		e.check(err)
		e.wantKeyRefused(key, "revoked")
	})
}

func TestExpiredKeyIsRefused(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, models.TypeActive)
		_, key, err := e.svc.CreateKey(e.ctx, as(admin), models.NewAPIKey{Name: "k", ExpiresAt: e.svc.Now().Add(time.Hour)})
		e.check(err)
		if _, _, err := e.svc.AuthenticateAPIKey(e.ctx, key, models.Meta{}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Hour)
		e.wantKeyRefused(key, "expired")
	})
}

// A key or token may not change its own account's password, e-mail
// address or level; the same change to another account, or its own
// password without a key, goes through.
func TestKeyCantChangeItsOwnCredentials(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, models.TypeActive)
		bob := e.user("bob", 1, models.TypeActive)
		k, _ := e.newKey(admin, "k")
		viaKey := models.Actor{User: admin, Key: k}
		for _, p := range []models.Patch{
			{Password: ptr("a brand new password")}, {Email: ptr("x@example.net")}, {Level: ptr(8)},
		} {
			_, err := e.svc.Update(e.ctx, viaKey, admin.ID, p)
			wantDenied(t, err)
		}
		_, err := e.svc.SetPassword(e.ctx, viaKey, admin.ID, "a brand new password")
		wantDenied(t, err)
		_, err = e.svc.Update(e.ctx, viaKey, admin.ID, models.Patch{Name: ptr("Admin")})
		e.check(err)
		_, err = e.svc.Update(e.ctx, viaKey, bob.ID, models.Patch{Email: ptr("bob@example.net"), Password: ptr("bob's new password")})
		e.check(err)
		_, err = e.svc.Update(e.ctx, as(admin), admin.ID, models.Patch{Password: ptr("another brand new password")})
		e.check(err) // the same account without a key: its own password, yes
	})
}

func TestParseScopeAndLifetime(t *testing.T) {
	for in, want := range map[string]string{
		"": models.ScopeReadWrite, "read": models.ScopeRead, "read write": models.ScopeReadWrite, "write": models.ScopeReadWrite,
		"READ,write": models.ScopeReadWrite, "write read": models.ScopeReadWrite, "admin": "", "read delete": "",
	} {
		got, ok := models.ParseScope(in, models.ScopeReadWrite)
		if got != want || ok != (want != "") {
			t.Errorf("ParseScope(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	for in, want := range map[string]time.Duration{
		"12h": 12 * time.Hour, "30d": 30 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "1y": 365 * 24 * time.Hour,
		"": 0, "d": 0, "0d": 0, "-1d": 0, "30": 0, "30m": 0, "1.5d": 0,
	} {
		got, ok := models.ParseLifetime(in)
		if got != want || ok != (want != 0) {
			t.Errorf("ParseLifetime(%q) = %v %v, want %v", in, got, ok, want)
		}
	}
}
