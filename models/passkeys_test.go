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
