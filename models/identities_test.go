package models_test

import (
	"errors"
	"testing"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

func TestUsernameFrom(t *testing.T) {
	for in, want := range map[string]string{
		"jane.doe":   "jane.doe",
		"Jane Doe":   "Jane_Doe",
		"José Ñúñez": "Jos_ez",
		"__x":        "x00",
		"12345":      "member12345",
		"a":          "a00",
		"":           "",
		"日本語":        "",
		"-._":        "",
		"octocat-":   "octocat",
		"averyveryveryverylongnamethatgoesonandon": "averyveryveryverylongnamethatg",
	} {
		if got := models.UsernameFrom(in); got != want {
			t.Errorf("UsernameFrom(%q) = %q, want %q", in, got, want)
		}
	}
}

func profile(subject, email string, verified bool) models.ProviderProfile {
	return models.ProviderProfile{Provider: "oidc", ProviderName: "Example ID", Subject: subject,
		Email: email, EmailVerified: verified, Username: "Jane Doe", Name: "Jane Doe"}
}

func TestSignUpWithIdentity(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		m := models.Meta{IP: "192.0.2.9"}
		if _, err := e.svc.SignUpWithIdentity(e.ctx, m, profile("s1", "jane@example.org", true), models.RegistrationClosed, ""); !errors.Is(err, models.ErrRegistrationClosed) {
			t.Fatalf("closed: %v", err)
		}
		if _, err := e.svc.SignUpWithIdentity(e.ctx, m, profile("s1", "jane@example.org", false), models.RegistrationConfirm, ""); !errors.Is(err, models.ErrEmailNeeded) {
			t.Fatalf("confirm without a verified address: %v", err)
		}
		if _, err := e.svc.SignInWithIdentity(e.ctx, m, profile("s1", "", false)); !errors.Is(err, models.ErrIdentityUnknown) {
			t.Fatalf("unknown identity: %v", err)
		}

		// Open, unverified address: kept, not confirmed.
		u, err := e.svc.SignUpWithIdentity(e.ctx, m, profile("s1", "jane@example.org", false), models.RegistrationOpen, "")
		if err != nil {
			t.Fatal(err)
		}
		if u.Username != "Jane_Doe" || u.EmailAddress() != "jane@example.org" || u.EmailVerifiedAt != nil || u.Type != models.TypeActive || u.HasPassword() {
			t.Fatalf("open sign-up: %+v", u)
		}
		// The same identity again: a conflict, not a second account.
		var ce *models.ConflictError
		if _, err := e.svc.SignUpWithIdentity(e.ctx, m, profile("s1", "", false), models.RegistrationOpen, ""); !errors.As(err, &ce) {
			t.Fatalf("same identity twice: %v", err)
		}
		// Another identity with the same address, verified or not: never linked.
		var inUse *models.EmailInUseError
		for _, verified := range []bool{true, false} {
			if _, err := e.svc.SignUpWithIdentity(e.ctx, m, profile("s2", "JANE@example.org", verified), models.RegistrationOpen, ""); !errors.As(err, &inUse) {
				t.Fatalf("address in use (verified %v): %v", verified, err)
			}
		}
		// A typed address is checked and kept unconfirmed (Inactive under confirm).
		if _, err := e.svc.SignUpWithIdentity(e.ctx, m, profile("s3", "", false), models.RegistrationConfirm, "not an address"); err == nil {
			t.Fatal("a bad typed address was taken")
		}
		v, err := e.svc.SignUpWithIdentity(e.ctx, m, profile("s3", "", false), models.RegistrationConfirm, "v@example.org")
		if err != nil || v.Type != models.TypeInactive || v.EmailVerifiedAt != nil || v.Username != "Jane_Doe2" {
			t.Fatalf("confirm with a typed address: %+v %v", v, err)
		}
		if _, err := e.svc.SignInWithIdentity(e.ctx, m, profile("s3", "", false)); !errors.As(err, new(*models.NotConfirmedError)) {
			t.Fatalf("unconfirmed account signed in: %v", err)
		}
		// A verified address under confirm: Active and confirmed.
		w, err := e.svc.SignUpWithIdentity(e.ctx, m, profile("s4", "w@example.org", true), models.RegistrationConfirm, "")
		if err != nil || w.Type != models.TypeActive || w.EmailVerifiedAt == nil {
			t.Fatalf("confirm with a verified address: %+v %v", w, err)
		}
		// A preferred name that only looks like a taken one gets a number too.
		if _, err := e.svc.Create(e.ctx, models.System, models.NewUser{Username: "ana.lee", Password: password}); err != nil {
			t.Fatal(err)
		}
		alike := profile("s5", "", false)
		alike.Username = "ana.1ee" // "1" looks like "l"
		if a, err := e.svc.SignUpWithIdentity(e.ctx, m, alike, models.RegistrationOpen, ""); err != nil || a.Username != "ana.1ee2" {
			t.Fatalf("a look-alike preferred name: %+v %v", a, err)
		}
		// No address at all in open mode: an account without one.
		n, err := e.svc.SignUpWithIdentity(e.ctx, m, models.ProviderProfile{Provider: "github", Subject: "7"}, models.RegistrationOpen, "")
		if err != nil || n.Email != nil || n.Username != "member" {
			t.Fatalf("no address, no name: %+v %v", n, err)
		}
		// A profile without a subject is refused.
		if _, err := e.svc.SignUpWithIdentity(e.ctx, m, models.ProviderProfile{Provider: "github"}, models.RegistrationOpen, ""); err == nil {
			t.Fatal("a profile without a subject made an account")
		}

		// Returning: signed in and counted; banned and deleted refused.
		got, err := e.svc.SignInWithIdentity(e.ctx, m, profile("s1", "jane@example.org", true))
		if err != nil || got.ID != u.ID {
			t.Fatalf("returning: %+v %v", got, err)
		}
		if _, err := e.svc.Block(e.ctx, models.System, u.ID, "spam"); err != nil {
			t.Fatal(err)
		}
		var banned *models.BannedError
		if _, err := e.svc.SignInWithIdentity(e.ctx, m, profile("s1", "", false)); !errors.As(err, &banned) || banned.Reason != "spam" {
			t.Fatalf("banned: %v", err)
		}
		if _, err := e.svc.Delete(e.ctx, models.System, w.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SignInWithIdentity(e.ctx, m, profile("s4", "", false)); !errors.Is(err, models.ErrAccountDeleted) {
			t.Fatalf("deleted: %v", err)
		}
	})
}

func TestLinkAndUnlinkIdentityRules(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		ada := e.user("ada", 1, models.TypeActive) // has a password
		bob := e.user("bob", 1, models.TypeActive)
		mod := e.user("mod", 6, models.TypeActive)
		admin := e.user("admin", 8, models.TypeActive)
		boss := e.user("boss", 9, models.TypeActive)

		if _, err := e.svc.LinkIdentity(e.ctx, models.Actor{}, profile("x", "", false)); err == nil {
			t.Fatal("linked with nobody signed in")
		}
		id, err := e.svc.LinkIdentity(e.ctx, as(ada), profile("ada-at-idp", "ada@idp.example", true))
		if err != nil {
			t.Fatal(err)
		}
		var ce *models.ConflictError
		if _, err := e.svc.LinkIdentity(e.ctx, as(bob), profile("ada-at-idp", "", false)); !errors.As(err, &ce) {
			t.Fatalf("bob linked ada's identity: %v", err)
		}
		if _, err := e.svc.LinkIdentity(e.ctx, as(ada), profile("ada-second", "", false)); !errors.As(err, &ce) {
			t.Fatalf("a second identity of the same provider: %v", err)
		}
		if _, err := e.svc.LinkIdentity(e.ctx, as(ada), profile("ada-at-idp", "ada@idp.example", true)); err != nil {
			t.Fatalf("linking one's own identity again: %v", err)
		}

		// Who sees them: the account, staff (addresses for admins only); not other members.
		var denied *models.DeniedError
		if _, err := e.svc.Identities(e.ctx, as(bob), ada.ID); !errors.As(err, &denied) {
			t.Fatalf("bob listed ada's identities: %v", err)
		}
		if ids, err := e.svc.Identities(e.ctx, as(mod), ada.ID); err != nil || len(ids) != 1 || ids[0].Email != "" {
			t.Fatalf("moderator's list: %+v %v", ids, err)
		}
		if ids, err := e.svc.Identities(e.ctx, as(admin), ada.ID); err != nil || ids[0].Email != "ada@idp.example" {
			t.Fatalf("admin's list: %+v %v", ids, err)
		}

		// Who unlinks: not other members, not moderators, not admins above
		// the account; the account itself and admins below.
		for _, by := range []*models.User{bob, mod} {
			if err := e.svc.UnlinkIdentity(e.ctx, as(by), ada.ID, id.ID); !errors.As(err, &denied) {
				t.Fatalf("%s unlinked ada's identity: %v", by.Username, err)
			}
		}
		bossID, err := e.svc.LinkIdentity(e.ctx, as(boss), profile("boss-at-idp", "", false))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.UnlinkIdentity(e.ctx, as(admin), boss.ID, bossID.ID); !errors.As(err, &denied) {
			t.Fatalf("admin unlinked a higher account's identity: %v", err)
		}
		if err := e.svc.UnlinkIdentity(e.ctx, as(admin), bob.ID, id.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("an identity under the wrong account: %v", err)
		}
		if err := e.svc.UnlinkIdentity(e.ctx, as(ada), ada.ID, id.ID); err != nil {
			t.Fatalf("ada unlinking her own (she has a password): %v", err)
		}

		// The last way in stays: an account made by a provider has no password.
		n, err := e.svc.SignUpWithIdentity(e.ctx, models.Meta{}, profile("newbie", "newbie@example.org", true), models.RegistrationOpen, "")
		if err != nil {
			t.Fatal(err)
		}
		only, _ := e.svc.Identities(e.ctx, models.System, n.ID)
		for _, by := range []models.Actor{as(n), as(admin), models.System} {
			if err := e.svc.UnlinkIdentity(e.ctx, by, n.ID, only[0].ID); !errors.As(err, &denied) {
				t.Fatalf("the last way in was unlinked: %v", err)
			}
		}
		// Purging an account takes its identities: the person may sign up again.
		if _, err := e.svc.Delete(e.ctx, models.System, n.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Purge(e.ctx, models.System, n.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SignInWithIdentity(e.ctx, models.Meta{}, profile("newbie", "", false)); !errors.Is(err, models.ErrIdentityUnknown) {
			t.Fatalf("a purged account's identity: %v", err)
		}
		if _, err := e.svc.SignUpWithIdentity(e.ctx, models.Meta{}, profile("newbie", "newbie@example.org", true), models.RegistrationOpen, ""); err != nil {
			t.Fatalf("signing up again after a purge: %v", err)
		}
		var events []models.Event
		if err := db.NewSelect().Model(&events).Where("action IN (?)", bun.In([]string{models.EvIdentityLink, models.EvIdentityUnlink})).Scan(e.ctx); err != nil {
			t.Fatal(err)
		}
		if len(events) != 5 { // ada link, boss link, ada unlink, newbie link twice
			t.Fatalf("link/unlink events: %d, want 5", len(events))
		}
	})
}

// Names that are words of the routes beside /users/:id (bulk, export.csv,
// new) are refused to new accounts and renames, and skipped when a
// provider's name would make one (docs/api.md).
func TestReservedUsernames(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		for _, name := range []string{"bulk", "Export.CSV", "new"} {
			_, err := e.svc.Create(e.ctx, models.System, models.NewUser{Username: name, Email: "x@example.com", Password: password, Level: 1})
			wantField(t, err, "username")
		}
		ann := e.user("ann", 1, models.TypeActive)
		_, err := e.svc.Update(e.ctx, models.System, ann.ID, models.Patch{Username: ptr("export.csv")})
		wantField(t, err, "username")
		if _, err := e.svc.Update(e.ctx, models.System, ann.ID, models.Patch{Username: ptr("bulky")}); err != nil {
			t.Fatalf("a name that only starts with a route word: %v", err)
		}
		p := profile("b1", "b@example.org", true)
		p.Username = "bulk"
		u, err := e.svc.SignUpWithIdentity(e.ctx, models.Meta{}, p, models.RegistrationOpen, "")
		e.check(err)
		if u.Username != "bulk2" {
			t.Fatalf("a provider's name bulk became %q", u.Username)
		}
	})
}
