package models_test

import (
	"errors"
	"testing"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// The ceremonies themselves run in Chromium (app/passkeys_browser_test.go);
// here, what the service refuses without one.
func TestPasskeysBelongToTheirOwner(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		ann := e.user("ann", 1, models.TypeActive)
		bob := e.user("bob", 1, models.TypeActive)
		pk := &models.Passkey{UserID: ann.ID, CredentialID: "cred-1", Name: "Laptop", Data: "{}", CreatedAt: e.clock.Now()}
		_, err := db.NewInsert().Model(pk).Exec(e.ctx)
		e.check(err)

		if err := e.svc.RenamePasskey(e.ctx, as(bob), pk.ID, "Mine now"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("bob renames ann's passkey: %v", err)
		}
		if err := e.svc.RemovePasskey(e.ctx, as(bob), pk.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("bob removes ann's passkey: %v", err)
		}
		wantField(t, e.svc.RenamePasskey(e.ctx, as(ann), pk.ID, "  "), "name")
		e.check(e.svc.RenamePasskey(e.ctx, as(ann), pk.ID, "Phone"))
		keys, err := e.svc.Passkeys(e.ctx, ann.ID)
		e.check(err)
		if len(keys) != 1 || keys[0].Name != "Phone" {
			t.Fatalf("passkeys %+v", keys)
		}
		e.check(e.svc.RemovePasskey(e.ctx, as(ann), pk.ID))
		if ev := e.lastEvent(models.EvPasskeyRemove); ev.Detail != "Phone" {
			t.Fatalf("event %+v", ev)
		}
		if keys, _ := e.svc.Passkeys(e.ctx, ann.ID); len(keys) != 0 {
			t.Fatalf("left %+v", keys)
		}
	})
}

func TestPasskeyCeremoniesRefuseWhatTheyCantCheck(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		ann := e.user("ann", 1, models.TypeActive)
		var pe *models.PasskeyError
		// No relying party (BASE_URL with an IP address): refused, not a 500.
		if _, _, err := e.svc.BeginPasskeyLogin(e.ctx); !errors.As(err, &pe) {
			t.Fatalf("without a relying party: %v", err)
		}
		if err := e.svc.ConfigurePasskeys("http://127.0.0.1:3000", "Webmin"); err == nil {
			t.Fatal("an IP address accepted as the relying party")
		}
		e.check(e.svc.ConfigurePasskeys("https://example.com", "Webmin"))
		_, state, err := e.svc.BeginPasskeyLogin(e.ctx)
		e.check(err)
		for _, c := range []struct{ state, response string }{
			{"", `{}`}, {"not json", `{}`}, {string(state), ``}, {string(state), `{"id":"x","type":"public-key"}`},
		} {
			if _, _, err := e.svc.FinishPasskeyLogin(e.ctx, models.Meta{}, []byte(c.state), []byte(c.response), false); !errors.As(err, &pe) {
				t.Fatalf("state %q, response %q: %v", c.state, c.response, err)
			}
		}
		_, state, err = e.svc.BeginPasskey(e.ctx, as(ann))
		e.check(err)
		if _, err := e.svc.FinishPasskey(e.ctx, as(ann), state, "x", []byte(`{"id":"x"}`)); !errors.As(err, &pe) {
			t.Fatalf("a garbage credential: %v", err)
		}
		if _, _, err := e.svc.BeginPasskey(e.ctx, models.Actor{}); !isDenied(err) {
			t.Fatalf("nobody signed in: %v", err)
		}
	})
}

// passkeySignIn runs one passkey sign-in ceremony from address ip with
// device dev, which names account owner.
func (e *env) passkeySignIn(dev *modelstest.Authenticator, owner int64, ip string) (*models.User, error) {
	e.t.Helper()
	options, state, err := e.svc.BeginPasskeyLogin(e.ctx)
	e.check(err)
	u, _, err := e.svc.FinishPasskeyLogin(e.ctx, models.Meta{IP: ip, UserAgent: "test"}, state, dev.Assert(e.t, options, owner), false)
	return u, err
}

// A failed passkey sign-in is a failed sign-in: counted per account (the
// credential names one) and address, and per address (unknown
// credentials); refused unchecked while locked, with the lock password
// sign-ins share; forgotten on a right one, as a password's are.
func TestPasskeySignInsAreThrottled(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		e.check(e.svc.ConfigurePasskeys("https://example.com", "Webmin"))
		ann := e.user("ann", 1, models.TypeActive)
		dev := modelstest.NewAuthenticator(t, "https://example.com")
		_, err := db.NewInsert().Model(dev.Passkey(t, ann.ID, "Phone", e.clock.Now())).Exec(e.ctx)
		e.check(err)
		thief := dev.Impostor(t)
		var pe *models.PasskeyError

		if u, err := e.passkeySignIn(dev, ann.ID, "10.0.0.1"); err != nil || u.ID != ann.ID {
			t.Fatalf("the right passkey: %v", err)
		}

		// Five bad signatures on ann's passkey from one address lock ann there.
		for i := 1; i < 5; i++ {
			if _, err := e.passkeySignIn(thief, ann.ID, "10.0.0.2"); !errors.As(err, &pe) {
				t.Fatalf("bad signature %d: %v", i, err)
			}
		}
		wantLocked(t, func() error { _, err := e.passkeySignIn(thief, ann.ID, "10.0.0.2"); return err }(), "fifth bad signature")
		wantLocked(t, func() error { _, err := e.passkeySignIn(dev, ann.ID, "10.0.0.2"); return err }(), "the right passkey, locked")
		wantLocked(t, func() error { _, err := e.svc.Login(e.ctx, models.Meta{IP: "10.0.0.2"}, "ann", password); return err }(),
			"the right password from the locked address")
		if _, err := e.passkeySignIn(dev, ann.ID, "10.0.0.3"); err != nil {
			t.Fatalf("the right passkey from another address: %v", err)
		}

		// A right sign-in forgets the failures from its address.
		for round := range 2 {
			for i := 1; i < 5; i++ {
				if _, err := e.passkeySignIn(thief, ann.ID, "10.0.0.4"); !errors.As(err, &pe) {
					t.Fatalf("round %d, bad signature %d: %v", round, i, err)
				}
			}
			if _, err := e.passkeySignIn(dev, ann.ID, "10.0.0.4"); err != nil {
				t.Fatalf("round %d, the right passkey: %v", round, err)
			}
		}

		// Unknown passkeys count per address: 20 lock it, for passwords too.
		for i := 1; i <= 20; i++ {
			_, err := e.passkeySignIn(modelstest.NewAuthenticator(t, "https://example.com"), ann.ID, "10.0.0.5")
			if i < 20 && !errors.As(err, &pe) {
				t.Fatalf("unknown passkey %d: %v", i, err)
			} else if i == 20 {
				wantLocked(t, err, "twentieth unknown passkey")
			}
		}
		wantLocked(t, func() error { _, err := e.svc.Login(e.ctx, models.Meta{IP: "10.0.0.5"}, "ann", password); return err }(),
			"a password from an address locked by unknown passkeys")
	})
}

// addPasskey registers a software passkey to u.
func (e *env) addPasskey(u *models.User, name string) *models.Passkey {
	e.t.Helper()
	pk := modelstest.NewAuthenticator(e.t, "https://example.com").Passkey(e.t, u.ID, name, e.clock.Now())
	_, err := e.db.NewInsert().Model(pk).Exec(e.ctx)
	e.check(err)
	return pk
}

// The last way in stays, whichever kind it is: removing a passkey and
// unlinking an identity follow one rule (password, passkeys, identities).
func TestRemovingAPasskeyKeepsAWayIn(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		// Made through a provider: no password, one identity.
		n, err := e.svc.SignUpWithIdentity(e.ctx, models.Meta{}, profile("nia", "nia@example.org", true), models.RegistrationOpen, "")
		e.check(err)
		ids, err := e.svc.Identities(e.ctx, models.System, n.ID)
		e.check(err)
		one, two := e.addPasskey(n, "Phone"), e.addPasskey(n, "Laptop")

		// Two passkeys and an identity: each may go, until one is left.
		e.check(e.svc.UnlinkIdentity(e.ctx, as(n), n.ID, ids[0].ID))
		if ok, err := e.svc.SignsInWithoutPasskeys(e.ctx, n); err != nil || ok {
			t.Fatalf("SignsInWithoutPasskeys with passkeys alone: %v %v", ok, err)
		}
		e.check(e.svc.RemovePasskey(e.ctx, as(n), one.ID))
		if err := e.svc.RemovePasskey(e.ctx, as(n), two.ID); !isDenied(err) {
			t.Fatalf("the last passkey of an account without a password or identity was removed: %v", err)
		}
		if keys, _ := e.svc.Passkeys(e.ctx, n.ID); len(keys) != 1 || keys[0].ID != two.ID {
			t.Fatalf("passkeys left %+v", keys)
		}
		// With an identity again, the passkey may go, and then the identity may not.
		id, err := e.svc.LinkIdentity(e.ctx, as(n), profile("nia-2", "", false))
		e.check(err)
		e.check(e.svc.RemovePasskey(e.ctx, as(n), two.ID))
		if err := e.svc.UnlinkIdentity(e.ctx, as(n), n.ID, id.ID); !isDenied(err) {
			t.Fatalf("the last identity was unlinked: %v", err)
		}

		// An account with a password may remove every passkey.
		ann := e.user("ann", 1, models.TypeActive)
		pk := e.addPasskey(ann, "Phone")
		if ok, err := e.svc.SignsInWithoutPasskeys(e.ctx, ann); err != nil || !ok {
			t.Fatalf("SignsInWithoutPasskeys with a password: %v %v", ok, err)
		}
		e.check(e.svc.RemovePasskey(e.ctx, as(ann), pk.ID))
	})
}
