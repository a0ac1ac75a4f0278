package models_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

func TestGet(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		alice := e.user("Alice", 3, models.TypeActive)

		got, err := e.svc.Get(e.ctx, alice.ID)
		e.check(err)
		if got.Username != "Alice" || got.EmailAddress() != "alice@example.com" || got.Level != 3 ||
			got.Type != models.TypeActive || got.Role() != "user" || got.SessionVersion != 1 {
			t.Fatalf("got %+v", got)
		}
		if !got.CreatedAt.Equal(e.clock.Now()) || got.Var == nil {
			t.Fatalf("created_at %v (want %v), var %v", got.CreatedAt, e.clock.Now(), got.Var)
		}
		if _, err := e.svc.Get(e.ctx, alice.ID+1000); !errors.Is(err, models.ErrNotFound) || !models.IsNotFound(err) {
			t.Fatalf("unknown id: %v", err)
		}
		if got, err := e.svc.GetByUsername(e.ctx, " aLiCe "); err != nil || got.ID != alice.ID {
			t.Fatalf("by username: %v %v", got, err)
		}
		if got, err := e.svc.GetByEmail(e.ctx, "ALICE@Example.COM"); err != nil || got.ID != alice.ID {
			t.Fatalf("by e-mail: %v %v", got, err)
		}
		if _, err := e.svc.GetByUsername(e.ctx, "nobody"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown username: %v", err)
		}
		if _, err := e.svc.GetByEmail(e.ctx, "nobody@example.com"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown e-mail: %v", err)
		}
	})
}

func TestCreateStoresAsTyped(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, models.TypeActive)
		u, err := e.svc.Create(e.ctx, as(admin), models.NewUser{
			Username: "  Mixed.Case_User-1 ", Email: " Mixed@Example.COM ", Name: "Mixed Case",
			Password: "12345678", Level: 8, Avatar: "https://example.com/a.png", Group: "staff",
			Var: map[string]any{"lang": "en", "age": 42, "vip": true},
		})
		e.check(err)
		got := e.reload(u)
		if got.Username != "Mixed.Case_User-1" || got.EmailAddress() != "Mixed@Example.COM" || got.Name != "Mixed Case" ||
			got.Level != 8 || got.Avatar != "https://example.com/a.png" || got.Group != "staff" || got.Points != 0 {
			t.Fatalf("stored %+v", got)
		}
		if got.Var["lang"] != "en" || got.Var["age"] != float64(42) || got.Var["vip"] != true || len(got.Var) != 3 {
			t.Fatalf("var %#v", got.Var)
		}
		if !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
			t.Fatalf("hash %q", got.PasswordHash)
		}
		// No e-mail address is fine for an admin-made account, and two
		// such accounts don't collide.
		for _, name := range []string{"noemail1", "noemail2"} {
			u, err := e.svc.Create(e.ctx, as(admin), models.NewUser{Username: name, Password: "12345678", Level: 1})
			e.check(err)
			if e.reload(u).Email != nil {
				t.Fatalf("%s: e-mail %v", name, *u.Email)
			}
		}
		ev := e.lastEvent(models.EvCreate)
		if idOf(ev.ActorID) != fmt.Sprint(admin.ID) || ev.TargetID == nil || ev.IP != "192.0.2.1" {
			t.Fatalf("event %+v", ev)
		}
	})
}

func TestCreateValidation(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	manyKeys := map[string]any{}
	for i := range 51 {
		manyKeys[fmt.Sprintf("k%d", i)] = i
	}
	ok := models.NewUser{Username: "valid", Email: "valid@example.com", Password: "12345678", Level: 1}
	cases := []struct {
		name  string
		edit  func(n *models.NewUser)
		field string
	}{
		{"username missing", func(n *models.NewUser) { n.Username = "  " }, "username"},
		{"username too short", func(n *models.NewUser) { n.Username = "ab" }, "username"},
		{"username too long", func(n *models.NewUser) { n.Username = long(31) }, "username"},
		{"username all digits", func(n *models.NewUser) { n.Username = "12345" }, "username"},
		{"username with a space", func(n *models.NewUser) { n.Username = "ab cd" }, "username"},
		{"username with @", func(n *models.NewUser) { n.Username = "ab@cd" }, "username"},
		{"username with a quote", func(n *models.NewUser) { n.Username = "o'brien" }, "username"},
		{"username with a non-ASCII letter", func(n *models.NewUser) { n.Username = "zoë" }, "username"},
		{"username starts with .", func(n *models.NewUser) { n.Username = ".abc" }, "username"},
		{"username starts with _", func(n *models.NewUser) { n.Username = "_abc" }, "username"},
		{"username starts with -", func(n *models.NewUser) { n.Username = "-abc" }, "username"},
		{"e-mail invalid", func(n *models.NewUser) { n.Email = "not-an-address" }, "email"},
		{"e-mail too long", func(n *models.NewUser) { n.Email = long(250) + "@example.com" }, "email"},
		{"name too long", func(n *models.NewUser) { n.Name = long(101) }, "name"},
		{"password missing", func(n *models.NewUser) { n.Password = "" }, "password"},
		{"password too short", func(n *models.NewUser) { n.Password = "1234567" }, "password"},
		{"password too long", func(n *models.NewUser) { n.Password = long(257) }, "password"},
		{"avatar not a web address", func(n *models.NewUser) { n.Avatar = "javascript:alert(1)" }, "avatar"},
		{"avatar relative", func(n *models.NewUser) { n.Avatar = "/a.png" }, "avatar"},
		{"group too long", func(n *models.NewUser) { n.Group = long(65) }, "group"},
		{"level too high", func(n *models.NewUser) { n.Level = 11 }, "level"},
		{"level negative", func(n *models.NewUser) { n.Level = -1 }, "level"},
		{"type unknown", func(n *models.NewUser) { n.Type = 5 }, "type"},
		{"type deleted", func(n *models.NewUser) { n.Type = models.TypeDeleted }, "type"},
		{"var 51 keys", func(n *models.NewUser) { n.Var = manyKeys }, "var"},
		{"var 65-char key", func(n *models.NewUser) { n.Var = map[string]any{long(65): 1} }, "var"},
		{"var empty key", func(n *models.NewUser) { n.Var = map[string]any{"": 1} }, "var"},
		{"var 1025-char string", func(n *models.NewUser) { n.Var = map[string]any{"bio": long(1025)} }, "var"},
		{"var nested object", func(n *models.NewUser) { n.Var = map[string]any{"o": map[string]any{"a": 1}} }, "var"},
		{"var list", func(n *models.NewUser) { n.Var = map[string]any{"l": []any{1, 2}} }, "var"},
		{"var null on create", func(n *models.NewUser) { n.Var = map[string]any{"x": nil} }, "var"},
	}
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		for _, c := range cases {
			n := ok
			c.edit(&n)
			_, err := e.svc.Create(e.ctx, models.System, n)
			wantField(t, err, c.field)
		}
		// Every invalid field is named at once.
		_, err := e.svc.Create(e.ctx, models.System, models.NewUser{Username: "x", Email: "y", Password: "z", Level: 12})
		for _, f := range []string{"username", "email", "password", "level"} {
			wantField(t, err, f)
		}
		// The edges that are allowed.
		for i, n := range []models.NewUser{
			{Username: "abc", Password: long(8)},
			{Username: long(30), Password: long(256)},
			{Username: "1abc", Password: "12345678"},
			{Username: "a.b-c_d", Password: "12345678", Name: long(100), Group: long(64)},
			{Username: "varedge", Password: "12345678", Var: map[string]any{long(64): long(1024)}},
		} {
			if _, err := e.svc.Create(e.ctx, models.System, n); err != nil {
				t.Fatalf("allowed case %d: %v", i, err)
			}
		}
		fifty := map[string]any{}
		for i := range 50 {
			fifty[fmt.Sprintf("k%d", i)] = i
		}
		if _, err := e.svc.Create(e.ctx, models.System, models.NewUser{Username: "fifty", Password: "12345678", Var: fifty}); err != nil {
			t.Fatalf("50 keys: %v", err)
		}
		// Nothing invalid was stored.
		p, err := e.svc.List(e.ctx, models.Filter{})
		e.check(err)
		if p.Total != 6 {
			t.Fatalf("%d accounts stored, want 6", p.Total)
		}
	})
}

func TestCreateGrantsBelowOwnLevel(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 8, models.TypeActive)
		root := e.user("root", 10, models.TypeActive)
		mod := e.user("moderator", 7, models.TypeActive)
		_, err := e.svc.Create(e.ctx, as(admin), models.NewUser{Username: "peer", Password: "12345678", Level: 8})
		wantField(t, err, "level")
		if _, err := e.svc.Create(e.ctx, as(admin), models.NewUser{Username: "below", Password: "12345678", Level: 7}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Create(e.ctx, as(root), models.NewUser{Username: "root2", Password: "12345678", Level: 10}); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Create(e.ctx, as(mod), models.NewUser{Username: "bymod", Password: "12345678", Level: 1})
		wantDenied(t, err)
	})
}

func TestDuplicatesInAnotherCase(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		e.user("Alice", 1, models.TypeActive) // alice@example.com
		bob := e.user("bob", 1, models.TypeActive)

		_, err := e.svc.Create(e.ctx, models.System, models.NewUser{Username: "ALICE", Password: "12345678"})
		wantConflict(t, err, "username")
		_, err = e.svc.Create(e.ctx, models.System, models.NewUser{Username: "other", Email: "Alice@EXAMPLE.com", Password: "12345678"})
		wantConflict(t, err, "email")
		_, err = e.svc.Register(e.ctx, models.Meta{}, models.NewUser{Username: "aLiCe", Email: "new@example.com", Password: "12345678"}, false)
		wantConflict(t, err, "username")
		_, err = e.svc.Update(e.ctx, models.System, bob.ID, models.Patch{Username: ptr("alicE")})
		wantConflict(t, err, "username")
		_, err = e.svc.Update(e.ctx, models.System, bob.ID, models.Patch{Email: ptr("ALICE@example.com")})
		wantConflict(t, err, "email")
		_, err = e.svc.UpdateProfile(e.ctx, as(bob), models.ProfilePatch{Email: "alice@Example.com"})
		wantConflict(t, err, "email")
		// A change of case of one's own name or address is no conflict.
		got, err := e.svc.Update(e.ctx, models.System, bob.ID, models.Patch{Username: ptr("Bob"), Email: ptr("BOB@example.com")})
		e.check(err)
		if got.Username != "Bob" || got.EmailAddress() != "BOB@example.com" {
			t.Fatalf("got %s %s", got.Username, got.EmailAddress())
		}
	})
}

func TestConcurrentCreateSameName(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		const n = 20
		errs := make([]error, n)
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := range n {
			b := []byte("racername")
			for j := range b {
				if rand.IntN(2) == 0 {
					b[j] -= 'a' - 'A'
				}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				_, errs[i] = e.svc.Create(e.ctx, models.System, models.NewUser{Username: string(b), Password: "12345678"})
			}()
		}
		start.Done()
		wg.Wait()
		ok := 0
		for _, err := range errs {
			var ce *models.ConflictError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &ce) && ce.Field == "username":
			default:
				t.Errorf("want nil or a username conflict, got %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d creates succeeded, want 1", ok)
		}
	})
}

func TestUpdate(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, models.TypeActive)
		u := e.user("target", 2, models.TypeActive)
		_, err := e.svc.Update(e.ctx, models.System, u.ID, models.Patch{Var: map[string]any{"a": "1", "b": 2, "c": true}})
		e.check(err)

		e.clock.Advance(time.Minute)
		got, err := e.svc.Update(e.ctx, as(admin), u.ID, models.Patch{
			Name: ptr("Target Person"), Points: ptr(int64(12)), Level: ptr(5), Group: ptr("g1"),
			Var: map[string]any{"a": nil, "b": 3, "d": "new"},
		})
		e.check(err)
		if got.Name != "Target Person" || got.Points != 12 || got.Level != 5 || got.Group != "g1" ||
			got.Username != "target" || got.EmailAddress() != "target@example.com" {
			t.Fatalf("updated %+v", got)
		}
		if len(got.Var) != 3 || got.Var["b"] != float64(3) || got.Var["c"] != true || got.Var["d"] != "new" {
			t.Fatalf("var %#v", got.Var)
		}
		if _, present := got.Var["a"]; present {
			t.Fatal("a null var value must remove the key")
		}
		if !got.UpdatedAt.Equal(e.clock.Now()) || got.SessionVersion != 1 {
			t.Fatalf("updated_at %v, session version %d", got.UpdatedAt, got.SessionVersion)
		}
		ev := e.lastEvent(models.EvUpdate)
		if idOf(ev.ActorID) != fmt.Sprint(admin.ID) || idOf(ev.TargetID) != fmt.Sprint(u.ID) || !strings.Contains(ev.Detail, "level 2→5") {
			t.Fatalf("event %+v", ev)
		}

		// Nothing present, nothing changes and no event is written.
		before := len(e.events(models.EventFilter{}))
		same, err := e.svc.Update(e.ctx, as(admin), u.ID, models.Patch{Name: ptr("Target Person")})
		e.check(err)
		if !same.UpdatedAt.Equal(got.UpdatedAt) || len(e.events(models.EventFilter{})) != before {
			t.Fatal("an empty change wrote")
		}

		// An empty e-mail address removes it, and unconfirms.
		got, err = e.svc.Update(e.ctx, as(admin), u.ID, models.Patch{Email: ptr("")})
		e.check(err)
		if got.Email != nil || got.EmailVerifiedAt != nil {
			t.Fatalf("e-mail %v", got.Email)
		}

		// A password change ends the sessions and signs in with the new password.
		got, err = e.svc.Update(e.ctx, as(admin), u.ID, models.Patch{Password: ptr("new password")})
		e.check(err)
		if got.SessionVersion != 2 {
			t.Fatalf("session version %d", got.SessionVersion)
		}
		if _, err := e.svc.Login(e.ctx, models.Meta{}, "target", "new password"); err != nil {
			t.Fatal(err)
		}

		if _, err := e.svc.Update(e.ctx, as(admin), 999999, models.Patch{Name: ptr("x")}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
	})
}

func TestUpdateValidation(t *testing.T) {
	long := strings.Repeat("x", 65)
	fill := func(n int) map[string]any {
		m := map[string]any{}
		for i := range n {
			m[fmt.Sprintf("k%d", i)] = i
		}
		return m
	}
	cases := []struct {
		name  string
		patch models.Patch
		field string
	}{
		{"username", models.Patch{Username: ptr("x")}, "username"},
		{"username digits", models.Patch{Username: ptr("2024")}, "username"},
		{"username dot", models.Patch{Username: ptr(".dot")}, "username"},
		{"email", models.Patch{Email: ptr("nope")}, "email"},
		{"name", models.Patch{Name: ptr(strings.Repeat("n", 101))}, "name"},
		{"password", models.Patch{Password: ptr("short")}, "password"},
		{"level", models.Patch{Level: ptr(11)}, "level"},
		{"type", models.Patch{Type: ptr(0)}, "type"},
		{"avatar", models.Patch{Avatar: ptr("ftp://example.com/a.png")}, "avatar"},
		{"group", models.Patch{Group: ptr(long)}, "group"},
		{"var 51 keys", models.Patch{Var: fill(51)}, "var"},
		{"var 65-char key", models.Patch{Var: map[string]any{long: "v"}}, "var"},
		{"var 1025-char string", models.Patch{Var: map[string]any{"k": strings.Repeat("v", 1025)}}, "var"},
		{"var nested object", models.Patch{Var: map[string]any{"k": map[string]any{"x": 1}}}, "var"},
	}
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, models.TypeActive)
		u := e.user("target", 2, models.TypeActive)
		for _, c := range cases {
			_, err := e.svc.Update(e.ctx, as(admin), u.ID, c.patch)
			if err == nil {
				t.Fatalf("%s: accepted", c.name)
			}
			wantField(t, err, c.field)
		}
		_, err := e.svc.Update(e.ctx, as(admin), u.ID, models.Patch{Level: ptr(9)})
		wantField(t, err, "level")

		// The merged result may not pass 50 keys either, but removing keys
		// in the same patch makes room.
		_, err = e.svc.Update(e.ctx, as(admin), u.ID, models.Patch{Var: fill(50)})
		e.check(err)
		_, err = e.svc.Update(e.ctx, as(admin), u.ID, models.Patch{Var: map[string]any{"one-more": 1}})
		wantField(t, err, "var")
		got, err := e.svc.Update(e.ctx, as(admin), u.ID, models.Patch{Var: map[string]any{"one-more": 1, "k0": nil}})
		e.check(err)
		if len(got.Var) != 50 || got.Var["one-more"] != float64(1) {
			t.Fatalf("var has %d keys", len(got.Var))
		}
		if got.Username != "target" || got.Level != 2 {
			t.Fatalf("a refused patch changed the account: %+v", got)
		}
	})
}

func TestDeleteRestorePurge(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		root := e.user("root", 10, models.TypeActive)
		admin := e.user("admin", 9, models.TypeActive)
		u := e.user("target", 1, models.TypeActive)
		e.check(e.svc.Touch(e.ctx, models.Visit{VisitorID: models.MemberVisitor(u.ID), UserID: &u.ID, Page: "/"}))

		// Purge comes only after delete, and only from a superadmin.
		wantDenied(t, e.svc.Purge(e.ctx, as(root), u.ID))
		_, err := e.svc.Restore(e.ctx, as(admin), u.ID)
		wantDenied(t, err)

		got, err := e.svc.Delete(e.ctx, as(admin), u.ID)
		e.check(err)
		if got.Type != models.TypeDeleted || got.SessionVersion != 2 {
			t.Fatalf("deleted: type %d, session version %d", got.Type, got.SessionVersion)
		}
		if on, err := e.svc.Online(e.ctx, models.OnlineFilter{UserID: u.ID}); err != nil || on.Total != 0 {
			t.Fatalf("a deleted account stays online: %v %v", on.Total, err)
		}
		_, err = e.svc.Delete(e.ctx, as(admin), u.ID)
		wantDenied(t, err)
		if _, err := e.svc.Login(e.ctx, models.Meta{}, "target", password); !errors.Is(err, models.ErrInvalidCredentials) {
			t.Fatalf("deleted account signs in: %v", err)
		}

		got, err = e.svc.Restore(e.ctx, as(admin), u.ID)
		e.check(err)
		if got.Type != models.TypeActive {
			t.Fatalf("restored: type %d", got.Type)
		}
		if _, err := e.svc.Login(e.ctx, models.Meta{}, "target", password); err != nil {
			t.Fatalf("restored account: %v", err)
		}

		_, err = e.svc.Delete(e.ctx, as(admin), u.ID)
		e.check(err)
		wantDenied(t, e.svc.Purge(e.ctx, as(admin), u.ID))
		e.check(e.svc.Purge(e.ctx, as(root), u.ID))
		if _, err := e.svc.Get(e.ctx, u.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("purged account: %v", err)
		}
		if err := e.svc.Purge(e.ctx, as(root), u.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("purge twice: %v", err)
		}
		ev := e.lastEvent(models.EvPurge)
		if idOf(ev.ActorID) != fmt.Sprint(root.ID) || !strings.Contains(ev.Detail, "username=target") {
			t.Fatalf("purge event %+v", ev)
		}
		// The account's other events stay, no longer pointing at it.
		if evs := e.events(models.EventFilter{Action: models.EvDelete}); len(evs) != 2 || evs[0].TargetID != nil {
			t.Fatalf("delete events after purge: %+v", evs)
		}

		for _, act := range []string{models.EvDelete, models.EvRestore} {
			ev := e.lastEvent(act)
			if idOf(ev.ActorID) != fmt.Sprint(admin.ID) {
				t.Fatalf("%s event %+v", act, ev)
			}
		}
	})
}

func TestBlockUnblock(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		mod := e.user("mod", 6, models.TypeActive)
		u := e.user("target", 5, models.TypeActive)

		got, err := e.svc.Block(e.ctx, as(mod), u.ID, "  posting spam  ")
		e.check(err)
		if got.Type != models.TypeBanned || got.BanReason != "posting spam" || got.SessionVersion != 2 {
			t.Fatalf("blocked %+v", got)
		}
		ev := e.lastEvent(models.EvBan)
		if idOf(ev.ActorID) != fmt.Sprint(mod.ID) || idOf(ev.TargetID) != fmt.Sprint(u.ID) || ev.Detail != "posting spam" {
			t.Fatalf("ban event %+v", ev)
		}
		_, err = e.svc.Block(e.ctx, as(mod), u.ID, "again")
		wantDenied(t, err)

		got, err = e.svc.Unblock(e.ctx, as(mod), u.ID)
		e.check(err)
		if got.Type != models.TypeActive || got.BanReason != "" || got.SessionVersion != 2 {
			t.Fatalf("unblocked %+v", got)
		}
		if ev := e.lastEvent(models.EvUnban); idOf(ev.TargetID) != fmt.Sprint(u.ID) {
			t.Fatalf("unban event %+v", ev)
		}
		_, err = e.svc.Unblock(e.ctx, as(mod), u.ID)
		wantDenied(t, err)

		// Through Update too: the ban rules apply, the sessions end, and
		// leaving the ban clears its reason.
		admin := e.user("admin", 9, models.TypeActive)
		got, err = e.svc.Update(e.ctx, as(admin), u.ID, models.Patch{Type: ptr(models.TypeBanned)})
		e.check(err)
		if got.Type != models.TypeBanned || got.SessionVersion != 3 {
			t.Fatalf("banned by update %+v", got)
		}
		if ev := e.lastEvent(models.EvBan); idOf(ev.ActorID) != fmt.Sprint(admin.ID) {
			t.Fatalf("a ban through Update writes %+v", ev)
		}
		_, err = e.svc.Update(e.ctx, as(admin), u.ID, models.Patch{Type: ptr(models.TypeActive)})
		e.check(err)
		_, err = e.svc.Block(e.ctx, as(admin), u.ID, "reason two")
		e.check(err)
		got, err = e.svc.Update(e.ctx, as(admin), u.ID, models.Patch{Type: ptr(models.TypeActive)})
		e.check(err)
		if got.Type != models.TypeActive || got.BanReason != "" {
			t.Fatalf("unbanned by update %+v", got)
		}
	})
}

func TestSessionVersion(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, models.TypeActive)
		u := e.user("target", 1, models.TypeActive)
		want := int64(1)
		step := func(what string, bumps bool, err error) {
			t.Helper()
			e.check(err)
			if bumps {
				want++
			}
			if got := e.reload(u).SessionVersion; got != want {
				t.Fatalf("after %s: session version %d, want %d", what, got, want)
			}
		}
		_, err := e.svc.Update(e.ctx, as(admin), u.ID, models.Patch{Name: ptr("New Name")})
		step("a name change", false, err)
		_, err = e.svc.Block(e.ctx, as(admin), u.ID, "")
		step("ban", true, err)
		_, err = e.svc.Unblock(e.ctx, as(admin), u.ID)
		step("unban", false, err)
		_, err = e.svc.Delete(e.ctx, as(admin), u.ID)
		step("delete", true, err)
		_, err = e.svc.Restore(e.ctx, as(admin), u.ID)
		step("restore", false, err)
		_, err = e.svc.SetPassword(e.ctx, as(admin), u.ID, "another password")
		step("set password", true, err)
		_, err = e.svc.ChangePassword(e.ctx, as(e.reload(u)), "another password", "a third password")
		step("change password", true, err)
		_, err = e.svc.ResetPassword(e.ctx, models.Meta{}, u.ID, "a fourth password")
		step("reset password", true, err)
		_, err = e.svc.RevokeSessions(e.ctx, as(admin), u.ID)
		step("revoke by an admin", true, err)
		_, err = e.svc.RevokeSessions(e.ctx, as(e.reload(u)), u.ID)
		step("revoke by oneself", true, err)
		_, err = e.svc.UpdateProfile(e.ctx, as(e.reload(u)), models.ProfilePatch{Name: "Me", Email: "me@example.com"})
		step("profile", false, err)
		_, err = e.svc.Login(e.ctx, models.Meta{}, "target", "a fourth password")
		step("login", false, err)

		for _, act := range []string{models.EvPassword, models.EvPasswordChange, models.EvSessionsRevoke} {
			if ev := e.lastEvent(act); idOf(ev.TargetID) != fmt.Sprint(u.ID) {
				t.Fatalf("%s event %+v", act, ev)
			}
		}
	})
}

func TestLastSuperadmin(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		root := e.user("root", 10, models.TypeActive)
		_, err := e.svc.Stats(e.ctx)
		e.check(err)
		defer e.checkCensus()
		e.user("gone", 10, models.TypeDeleted)     // not active: doesn't count
		e.user("banned", 10, models.TypeBanned)    // nor this one
		e.user("waiting", 10, models.TypeInactive) // nor this one
		e.user("admin", 9, models.TypeActive)      // nor an admin

		// root is now the only active superadmin.
		for name, try := range map[string]func() error{
			"self-demotion": func() error {
				_, err := e.svc.Update(e.ctx, as(root), root.ID, models.Patch{Level: ptr(9)})
				return err
			},
			"self-ban through Update": func() error {
				_, err := e.svc.Update(e.ctx, as(root), root.ID, models.Patch{Type: ptr(models.TypeBanned)})
				return err
			},
			"self-delete through Update": func() error {
				_, err := e.svc.Update(e.ctx, as(root), root.ID, models.Patch{Type: ptr(models.TypeDeleted)})
				return err
			},
			"self-deactivation through Update": func() error {
				_, err := e.svc.Update(e.ctx, as(root), root.ID, models.Patch{Type: ptr(models.TypeInactive)})
				return err
			},
			"self-delete": func() error { _, err := e.svc.Delete(e.ctx, as(root), root.ID); return err },
			"demotion from the command line": func() error {
				_, err := e.svc.Update(e.ctx, models.System, root.ID, models.Patch{Level: ptr(1)})
				return err
			},
			"ban from the command line": func() error {
				_, err := e.svc.Block(e.ctx, models.System, root.ID, "")
				return err
			},
			"delete from the command line": func() error {
				_, err := e.svc.Delete(e.ctx, models.System, root.ID)
				return err
			},
			"ban through Update from the command line": func() error {
				_, err := e.svc.Update(e.ctx, models.System, root.ID, models.Patch{Type: ptr(models.TypeBanned)})
				return err
			},
			"delete through Update from the command line": func() error {
				_, err := e.svc.Update(e.ctx, models.System, root.ID, models.Patch{Type: ptr(models.TypeDeleted)})
				return err
			},
		} {
			if err := try(); err == nil {
				t.Fatalf("%s: allowed", name)
			} else {
				wantDenied(t, err)
			}
		}
		if got := e.reload(root); got.Level != 10 || got.Type != models.TypeActive {
			t.Fatalf("root changed: %+v", got)
		}
		// Other edits of oneself are fine.
		if _, err := e.svc.Update(e.ctx, as(root), root.ID, models.Patch{Name: ptr("Root"), Level: ptr(10)}); err != nil {
			t.Fatal(err)
		}

		// With a second superadmin, one may step down; then the other is the last.
		second := e.user("second", 10, models.TypeActive)
		if _, err := e.svc.Update(e.ctx, as(root), second.ID, models.Patch{Level: ptr(9)}); err == nil {
			t.Fatal("a superadmin demoted another")
		}
		got, err := e.svc.Update(e.ctx, as(root), root.ID, models.Patch{Level: ptr(9)})
		e.check(err)
		if got.Level != 9 {
			t.Fatalf("level %d", got.Level)
		}
		_, err = e.svc.Update(e.ctx, as(second), second.ID, models.Patch{Level: ptr(9)})
		wantDenied(t, err)
		_, err = e.svc.Block(e.ctx, models.System, second.ID, "")
		wantDenied(t, err)
		ok, err := e.svc.HasSuperadmin(e.ctx)
		if err != nil || !ok {
			t.Fatalf("HasSuperadmin %v %v", ok, err)
		}
	})
}

func TestRegister(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		_, err := e.svc.Register(e.ctx, models.Meta{}, models.NewUser{Username: "newbie", Password: "12345678"}, false)
		wantField(t, err, "email")
		u, err := e.svc.Register(e.ctx, models.Meta{IP: "198.51.100.7"}, models.NewUser{
			Username: "newbie", Email: "newbie@example.com", Password: "12345678", Level: 10, Var: map[string]any{"x": 1},
		}, false)
		e.check(err)
		if u.Level != models.LevelUser || u.Type != models.TypeActive || len(u.Var) != 0 {
			t.Fatalf("registered %+v", u)
		}
		ev := e.lastEvent(models.EvSignup)
		if idOf(ev.ActorID) != fmt.Sprint(u.ID) || idOf(ev.TargetID) != fmt.Sprint(u.ID) || ev.IP != "198.51.100.7" {
			t.Fatalf("signup event %+v", ev)
		}
		w, err := e.svc.Register(e.ctx, models.Meta{}, models.NewUser{Username: "waiter", Email: "w@example.com", Password: "12345678"}, true)
		e.check(err)
		if w.Type != models.TypeInactive {
			t.Fatalf("type %d", w.Type)
		}
		got, err := e.svc.ConfirmEmail(e.ctx, models.Actor{}, w.ID)
		e.check(err)
		if got.Type != models.TypeActive || got.EmailVerifiedAt == nil {
			t.Fatalf("confirmed %+v", got)
		}
		if ev := e.lastEvent(models.EvConfirm); idOf(ev.TargetID) != fmt.Sprint(w.ID) {
			t.Fatalf("confirm event %+v", ev)
		}
		// Confirming through Update (an admin sets the type to Active) is logged the same way.
		w2, err := e.svc.Register(e.ctx, models.Meta{}, models.NewUser{Username: "waiter2", Email: "w2@example.com", Password: "12345678"}, true)
		e.check(err)
		got, err = e.svc.Update(e.ctx, models.System, w2.ID, models.Patch{Type: ptr(models.TypeActive)})
		e.check(err)
		if got.EmailVerifiedAt == nil {
			t.Fatalf("confirmed through Update: %+v", got)
		}
		if ev := e.lastEvent(models.EvConfirm); idOf(ev.TargetID) != fmt.Sprint(w2.ID) {
			t.Fatalf("confirm event %+v", ev)
		}
	})
}

func TestProfileAndPassword(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		u := e.user("someone", 1, models.TypeActive)

		_, err := e.svc.UpdateProfile(e.ctx, as(u), models.ProfilePatch{Name: "Some One", Email: ""})
		wantField(t, err, "email")
		_, err = e.svc.UpdateProfile(e.ctx, as(u), models.ProfilePatch{Email: "bad", Avatar: "nope"})
		wantField(t, err, "email")
		wantField(t, err, "avatar")
		got, err := e.svc.UpdateProfile(e.ctx, as(u), models.ProfilePatch{Name: "Some One", Email: "Some@Example.com", Avatar: "https://example.com/me.png"})
		e.check(err)
		if got.Name != "Some One" || got.EmailAddress() != "Some@Example.com" || got.Avatar != "https://example.com/me.png" {
			t.Fatalf("profile %+v", got)
		}
		if ev := e.lastEvent(models.EvProfile); idOf(ev.ActorID) != fmt.Sprint(u.ID) {
			t.Fatalf("profile event %+v", ev)
		}

		_, err = e.svc.ChangePassword(e.ctx, as(u), "wrong password", "new password")
		wantField(t, err, "current_password")
		_, err = e.svc.ChangePassword(e.ctx, as(u), password, "short")
		wantField(t, err, "password")
		_, err = e.svc.ChangePassword(e.ctx, models.Actor{}, password, "new password")
		wantDenied(t, err)
		_, err = e.svc.ChangePassword(e.ctx, as(u), password, "new password")
		e.check(err)
		if _, err := e.svc.Login(e.ctx, models.Meta{}, "someone", password); !errors.Is(err, models.ErrInvalidCredentials) {
			t.Fatalf("old password: %v", err)
		}
		if _, err := e.svc.Login(e.ctx, models.Meta{}, "someone", "new password"); err != nil {
			t.Fatalf("new password: %v", err)
		}
		if _, err := e.svc.ResetPassword(e.ctx, models.Meta{}, 999999, "new password"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("reset unknown: %v", err)
		}
	})
}
