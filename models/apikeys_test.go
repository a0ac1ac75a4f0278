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

var apiKeyShape = regexp.MustCompile(`^wm_[a-km-z2-9]{8}_[A-Za-z0-9_-]{43}$`)

// newKey makes a key acting as u and fails the test unless it worked.
func (e *env) newKey(u *models.User, name string) (*models.APIKey, string) {
	e.t.Helper()
	k, key, err := e.svc.CreateAPIKey(e.ctx, as(u), name)
	if err != nil {
		e.t.Fatalf("create key as %s: %v", u.Username, err)
	}
	return k, key
}

// wantKeyRefused fails unless key is refused with a reason containing want.
func (e *env) wantKeyRefused(key, want string) {
	e.t.Helper()
	u, _, err := e.svc.AuthenticateAPIKey(e.ctx, key, models.Meta{IP: "192.0.2.9"})
	var ke *models.APIKeyError
	if !errors.As(err, &ke) || !strings.Contains(ke.Reason, want) {
		e.t.Fatalf("key %.14s…: want refused (%q), got %v %v", key, want, u, err)
	}
}

func TestAPIKeyCreateAndAuthenticate(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, models.TypeActive)
		k, key, err := e.svc.CreateAPIKey(e.ctx, as(admin), "  nightly export ")
		e.check(err)
		if !apiKeyShape.MatchString(key) || !strings.HasPrefix(key, k.Prefix+"_") || len(k.Prefix) != 11 {
			t.Fatalf("key %q, prefix %q", key, k.Prefix)
		}
		if k.Name != "nightly export" || k.CreatedBy != admin.ID || k.Revoked() || k.LastUsedAt != nil {
			t.Fatalf("key row %+v", k)
		}
		// Only the hash of the secret is stored: nothing of the secret is in the row.
		var row struct {
			Prefix     string
			SecretHash string
		}
		e.check(db.NewSelect().TableExpr("api_keys").Column("prefix", "secret_hash").Where("id = ?", k.ID).Scan(e.ctx, &row))
		secret := key[len(k.Prefix)+1:]
		if len(row.SecretHash) != 64 || strings.Contains(row.SecretHash, secret) || row.Prefix != k.Prefix {
			t.Fatalf("stored %+v", row)
		}
		if ev := e.lastEvent(models.EvAPIKeyCreate); idOf(ev.ActorID) != idOf(&admin.ID) || !strings.Contains(ev.Detail, k.Prefix) ||
			strings.Contains(ev.Detail, secret) {
			t.Fatalf("event %+v", ev)
		}

		u, got, err := e.svc.AuthenticateAPIKey(e.ctx, key, models.Meta{IP: "192.0.2.7"})
		e.check(err)
		if u.ID != admin.ID || u.Level != 9 || got.ID != k.ID {
			t.Fatalf("authenticated as %+v with %+v", u, got)
		}
		keys, err := e.svc.APIKeys(e.ctx, models.APIKeyFilter{})
		e.check(err)
		if len(keys.Items) != 1 || keys.Items[0].LastUsedAt == nil || !keys.Items[0].LastUsedAt.Equal(e.clock.Now()) ||
			keys.Items[0].LastUsedIP != "192.0.2.7" || keys.Items[0].Creator == nil || keys.Items[0].Creator.Username != "admin" {
			t.Fatalf("after use: %+v", keys.Items[0])
		}
	})
}

func TestAPIKeyLastUsedIsThrottled(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, models.TypeActive)
		k, key := e.newKey(admin, "ci")
		lastUsed := func() time.Time {
			t.Helper()
			got, err := e.svc.APIKey(e.ctx, k.ID)
			e.check(err)
			if got.LastUsedAt == nil {
				t.Fatal("last_used_at not set")
			}
			return *got.LastUsedAt
		}
		first := e.clock.Now()
		_, _, err := e.svc.AuthenticateAPIKey(e.ctx, key, models.Meta{})
		e.check(err)
		e.clock.Advance(30 * time.Second)
		_, _, err = e.svc.AuthenticateAPIKey(e.ctx, key, models.Meta{})
		e.check(err)
		if got := lastUsed(); !got.Equal(first) {
			t.Fatalf("written again within a minute: %v, want %v", got, first)
		}
		e.clock.Advance(31 * time.Second)
		_, _, err = e.svc.AuthenticateAPIKey(e.ctx, key, models.Meta{})
		e.check(err)
		if got := lastUsed(); !got.Equal(e.clock.Now()) {
			t.Fatalf("not written after a minute: %v, want %v", got, e.clock.Now())
		}
	})
}

func TestAPIKeyOnlyAdminsMakeKeys(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		for _, c := range []struct {
			name  string
			level int
			typ   int
		}{{"member", 5, models.TypeActive}, {"mod", 7, models.TypeActive}, {"bannedadmin", 9, models.TypeBanned}} {
			u := e.user(c.name, c.level, c.typ)
			if _, _, err := e.svc.CreateAPIKey(e.ctx, as(u), "k"); err == nil {
				t.Fatalf("%s made a key", c.name)
			} else {
				wantDenied(t, err)
			}
		}
		_, _, err := e.svc.CreateAPIKey(e.ctx, models.System, "k")
		wantDenied(t, err)

		admin := e.user("admin", 8, models.TypeActive)
		_, _, err = e.svc.CreateAPIKey(e.ctx, as(admin), "   ")
		wantField(t, err, "name")
		_, _, err = e.svc.CreateAPIKey(e.ctx, as(admin), strings.Repeat("n", models.MaxAPIKeyName+1))
		wantField(t, err, "name")
		for i := range models.MaxAPIKeysPerAccount {
			e.newKey(admin, fmt.Sprint("k", i))
		}
		_, _, err = e.svc.CreateAPIKey(e.ctx, as(admin), "one too many")
		wantField(t, err, "name")
		keys, err := e.svc.APIKeys(e.ctx, models.APIKeyFilter{Limit: 10})
		e.check(err)
		if keys.Total != models.MaxAPIKeysPerAccount || len(keys.Items) != 10 {
			t.Fatalf("total %d, page of %d", keys.Total, len(keys.Items))
		}
		if _, err := e.svc.RevokeAPIKey(e.ctx, as(admin), keys.Items[0].ID); err != nil {
			t.Fatal(err)
		}
		e.newKey(admin, "room again after a revoke")
	})
}

func TestAPIKeyRefused(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, models.TypeActive)
		k, key := e.newKey(admin, "k")

		for _, bad := range []string{"", "wm_", "Bearer " + key, key + "x", key[:len(key)-1], strings.ToUpper(key),
			"wm_00000000_" + key[12:], "xx" + key[2:]} {
			e.wantKeyRefused(bad, "not valid")
		}
		// The right prefix with another secret.
		other := []byte(key)
		other[20] ^= 1
		if other[20] == '_' || other[20] == '-' {
			other[20] = 'A'
		}
		e.wantKeyRefused(string(other), "not valid")

		_, err := e.svc.RevokeAPIKey(e.ctx, as(admin), k.ID)
		e.check(err)
		e.wantKeyRefused(key, "revoked")
	})
}

func TestAPIKeyFollowsItsCreator(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		root := e.user("root", 10, models.TypeActive)
		admin := e.user("admin", 9, models.TypeActive)
		_, key := e.newKey(admin, "k")

		// Demoted: the key acts with the new, lower level.
		_, err := e.svc.Update(e.ctx, as(root), admin.ID, models.Patch{Level: ptr(3)})
		e.check(err)
		u, _, err := e.svc.AuthenticateAPIKey(e.ctx, key, models.Meta{})
		e.check(err)
		if u.Level != 3 || u.IsAdmin() {
			t.Fatalf("demoted creator acts at level %d", u.Level)
		}

		_, err = e.svc.Block(e.ctx, as(root), admin.ID, "spam")
		e.check(err)
		e.wantKeyRefused(key, "banned")
		_, err = e.svc.Unblock(e.ctx, as(root), admin.ID)
		e.check(err)
		_, err = e.svc.Delete(e.ctx, as(root), admin.ID)
		e.check(err)
		e.wantKeyRefused(key, "deleted")
		e.check(e.svc.Purge(e.ctx, as(root), admin.ID))
		e.wantKeyRefused(key, "not valid")
		keys, err := e.svc.APIKeys(e.ctx, models.APIKeyFilter{})
		e.check(err)
		if keys.Total != 0 {
			t.Fatalf("a purged account's keys stay: %+v", keys.Items)
		}
	})
}

func TestAPIKeyRevokeRules(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		high := e.user("high", 9, models.TypeActive)
		low := e.user("low", 8, models.TypeActive)
		mod := e.user("mod", 7, models.TypeActive)
		highKey, _ := e.newKey(high, "high's")
		lowKey, _ := e.newKey(low, "low's")
		lowKey2, _ := e.newKey(low, "low's second")

		for _, c := range []struct {
			who *models.User
			key *models.APIKey
		}{{low, highKey}, {mod, lowKey}} {
			if _, err := e.svc.RevokeAPIKey(e.ctx, as(c.who), c.key.ID); err == nil {
				t.Fatalf("%s revoked %s", c.who.Username, c.key.Name)
			} else {
				wantDenied(t, err)
			}
		}
		if _, err := e.svc.RevokeAPIKey(e.ctx, as(high), 99999); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown key: %v", err)
		}

		got, err := e.svc.RevokeAPIKey(e.ctx, as(low), lowKey.ID) // their own
		e.check(err)
		if !got.Revoked() || got.Revoker == nil || got.Revoker.ID != low.ID {
			t.Fatalf("revoked %+v", got)
		}
		got, err = e.svc.RevokeAPIKey(e.ctx, as(high), lowKey2.ID) // below their level
		e.check(err)
		if !got.Revoked() {
			t.Fatal("not revoked")
		}
		// Again: nothing changes, no second event.
		again, err := e.svc.RevokeAPIKey(e.ctx, as(high), lowKey2.ID)
		e.check(err)
		if !again.RevokedAt.Equal(*got.RevokedAt) {
			t.Fatal("revoked twice")
		}
		if evs := e.events(models.EventFilter{Action: models.EvAPIKeyRevoke}); len(evs) != 2 ||
			idOf(evs[0].TargetID) != idOf(&low.ID) || idOf(evs[0].ActorID) != idOf(&high.ID) {
			t.Fatalf("revoke events %+v", evs)
		}
		if !models.KnownEventAction(models.EvAPIKeyRevoke) {
			t.Fatal("the audit log doesn't offer apikey.revoke")
		}

		keys, err := e.svc.APIKeys(e.ctx, models.APIKeyFilter{})
		e.check(err)
		var order []string
		for _, k := range keys.Items {
			order = append(order, k.Name)
		}
		if strings.Join(order, ",") != "high's,low's second,low's" {
			t.Fatalf("order %v (want unrevoked first, newest first)", order)
		}
	})
}

func TestListAsHidesWhatTheViewerMayNotSee(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		member := e.user("member", 1, models.TypeActive)
		mod := e.user("mod", 6, models.TypeActive)
		admin := e.user("admin", 8, models.TypeActive)
		gone := e.user("gone", 1, models.TypeDeleted)
		e.user("zed", 1, models.TypeActive)
		_, err := e.svc.Update(e.ctx, models.System, member.ID, models.Patch{Email: ptr("secret-address@example.org")})
		e.check(err)

		names := func(viewer *models.User, f models.Filter) string {
			t.Helper()
			p, err := e.svc.ListAs(e.ctx, viewer, f)
			e.check(err)
			var out []string
			for _, u := range p.Items {
				out = append(out, u.Username)
			}
			return fmt.Sprintf("%d:%s", p.Total, strings.Join(out, ","))
		}
		byName := models.Filter{Sort: "username"}
		if got := names(member, byName); got != "4:admin,member,mod,zed" {
			t.Fatalf("member sees %s", got)
		}
		if got := names(mod, byName); got != "5:admin,gone,member,mod,zed" {
			t.Fatalf("moderator sees %s", got)
		}
		_, err = e.svc.ListAs(e.ctx, member, models.Filter{Type: "deleted"})
		wantDenied(t, err)
		if got := names(mod, models.Filter{Type: "deleted"}); got != "1:gone" {
			t.Fatalf("moderator lists deleted: %s", got)
		}
		// Searching an address would reveal it: only admins search e-mail.
		for _, term := range []string{"secret-address", "ex"} {
			if got := names(mod, models.Filter{Search: term}); got != "0:" {
				t.Fatalf("moderator's search %q finds %s", term, got)
			}
		}
		if got := names(admin, models.Filter{Search: "secret-address"}); got != "1:member" {
			t.Fatalf("admin's search finds %s", got)
		}
		if got := names(member, models.Filter{Search: "ZE"}); got != "1:zed" {
			t.Fatalf("member's search by name finds %s", got)
		}

		if models.CanSeeAccount(member, gone) || models.CanSeeAccount(nil, gone) || !models.CanSeeAccount(mod, gone) ||
			!models.CanSeeAccount(nil, member) {
			t.Fatal("CanSeeAccount")
		}
	})
}

// BenchmarkAuthenticateAPIKey is the key lookup of every API request on
// each database: from memory (the key's row and its account), with the
// last-use write due once a minute.
//
//	go test -bench AuthenticateAPIKey -run '^$' ./models
func BenchmarkAuthenticateAPIKey(b *testing.B) {
	for _, name := range modelstest.DBNames {
		b.Run(name, func(b *testing.B) {
			db := modelstest.Open(b, name)
			svc := modelstest.Service(db, modelstest.NewClock())
			ctx := context.Background()
			u, err := svc.Create(ctx, models.System, models.NewUser{Username: "bench", Password: password, Level: models.LevelAdmin})
			if err != nil {
				b.Fatal(err)
			}
			_, key, err := svc.CreateAPIKey(ctx, models.Actor{User: u}, "bench")
			if err != nil {
				b.Fatal(err)
			}
			m := models.Meta{IP: "192.0.2.1"}
			b.Run("cached", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, _, err := svc.AuthenticateAPIKey(ctx, key, m); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		})
	}
}
