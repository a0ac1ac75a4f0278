package models_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/uptrace/bun"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// code is the authenticator code of secret at the test clock's time.
func (e *env) code(secret string) string {
	e.t.Helper()
	c, err := totp.GenerateCode(secret, e.clock.Now())
	e.check(err)
	return c
}

// turnOnMFA sets up two-factor for u and returns its secret and recovery codes.
func (e *env) turnOnMFA(u *models.User) (string, []string) {
	e.t.Helper()
	setup, err := e.svc.BeginTOTP(e.ctx, as(u), "Webmin")
	e.check(err)
	codes, err := e.svc.ConfirmTOTP(e.ctx, as(u), e.code(setup.Secret))
	e.check(err)
	return setup.Secret, codes
}

// pending signs u in with the password and returns the pending session.
func (e *env) pending(u *models.User) *models.Session {
	e.t.Helper()
	_, err := e.svc.Login(e.ctx, models.Meta{}, u.Username, password)
	var second *models.SecondFactorError
	if !errors.As(err, &second) {
		e.t.Fatalf("login of an account with two-factor: %v", err)
	}
	_, sess := e.start(second.User, models.SignIn{Method: models.MethodPassword})
	if !sess.Pending {
		e.t.Fatalf("the session is not pending: %+v", sess)
	}
	return sess
}

func TestTOTPTurnOnAndSignIn(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		ann := e.user("ann", 1, models.TypeActive)
		setup, err := e.svc.BeginTOTP(e.ctx, as(ann), "Webmin")
		e.check(err)
		if len(setup.Secret) < 16 || setup.URL == "" {
			t.Fatalf("setup %+v", setup)
		}
		_, err = e.svc.ConfirmTOTP(e.ctx, as(ann), "000000")
		wantField(t, err, "code")
		if e.reload(ann).MFAEnabled {
			t.Fatal("on after a wrong code")
		}
		codes, err := e.svc.ConfirmTOTP(e.ctx, as(ann), e.code(setup.Secret))
		e.check(err)
		if len(codes) != models.RecoveryCodeCount || !e.reload(ann).MFAEnabled {
			t.Fatalf("%d codes, enabled %v", len(codes), e.reload(ann).MFAEnabled)
		}
		e.lastEvent(models.EvMFAEnable)
		var stored []string
		e.check(db.NewSelect().Model((*models.RecoveryCode)(nil)).Column("hash").Where("user_id = ?", ann.ID).Scan(e.ctx, &stored))
		for _, h := range stored {
			for _, c := range codes {
				if h == c {
					t.Fatal("a recovery code is stored as is")
				}
			}
		}

		// The password alone makes a pending session, which signs nobody in.
		sess := e.pending(ann)
		if e.reload(ann).LoginCount != 0 {
			t.Fatal("the password alone was recorded as a login")
		}
		// The code of the confirmation can't be used again (same time step).
		if _, _, err := e.svc.SecondFactor(e.ctx, models.Meta{}, sess, e.code(setup.Secret)); !errors.Is(err, models.ErrInvalidCredentials) {
			t.Fatalf("a used code again: %v", err)
		}
		e.clock.Advance(30 * time.Second)
		u, in, err := e.svc.SecondFactor(e.ctx, models.Meta{}, sess, e.code(setup.Secret))
		e.check(err)
		if u.ID != ann.ID || in.SecondFactor != models.MethodTOTP || in.Method != models.MethodPassword {
			t.Fatalf("second factor: %+v %+v", u, in)
		}
		_, full := e.start(u, in)
		if full.Pending || e.reload(ann).LoginCount != 1 {
			t.Fatalf("full session %+v, logins %d", full, e.reload(ann).LoginCount)
		}
		// A passkey proves two factors: no pending step.
		if _, pk := e.start(ann, models.SignIn{Method: models.MethodPasskey}); pk.Pending {
			t.Fatal("a passkey sign-in is pending")
		}
	})
}

func TestRecoveryCodesWorkOnce(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		ann := e.user("ann", 1, models.TypeActive)
		_, codes := e.turnOnMFA(ann)
		_, in, err := e.svc.SecondFactor(e.ctx, models.Meta{}, e.pending(ann), codes[3])
		e.check(err)
		if in.SecondFactor != models.MethodRecovery {
			t.Fatalf("%+v", in)
		}
		e.lastEvent(models.EvRecoveryUsed)
		if _, _, err := e.svc.SecondFactor(e.ctx, models.Meta{}, e.pending(ann), codes[3]); !errors.Is(err, models.ErrInvalidCredentials) {
			t.Fatalf("a recovery code twice: %v", err)
		}
		// Typed in upper case without the dash, another one works.
		upper := codes[4][:5] + codes[4][6:]
		if _, _, err := e.svc.SecondFactor(e.ctx, models.Meta{}, e.pending(ann), " "+upper+" "); err != nil {
			t.Fatalf("recovery code %q: %v", upper, err)
		}
	})
}

// Wrong codes count like wrong passwords: they lock the account.
func TestWrongCodesLockLikePasswords(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		ann := e.user("ann", 1, models.TypeActive)
		secret, _ := e.turnOnMFA(ann)
		sess := e.pending(ann)
		var err error
		for i := 0; i < 10; i++ {
			if _, _, err = e.svc.SecondFactor(e.ctx, models.Meta{}, sess, "123456"); err != nil && !errors.Is(err, models.ErrInvalidCredentials) {
				break
			}
		}
		var locked *models.LockedError
		if !errors.As(err, &locked) {
			t.Fatalf("ten wrong codes: %v", err)
		}
		e.clock.Advance(30 * time.Second)
		if _, _, err := e.svc.SecondFactor(e.ctx, models.Meta{}, sess, e.code(secret)); !errors.As(err, &locked) {
			t.Fatalf("the right code while locked: %v", err)
		}
		if ev := e.lastEvent(models.EvLoginFailed); ev.Detail != "wrong second-factor code" {
			t.Fatalf("failure event %+v", ev)
		}
	})
}

func TestTurnOffTOTPNeedsPasswordAndCode(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		ann := e.user("ann", 1, models.TypeActive)
		secret, _ := e.turnOnMFA(ann)
		ann = e.reload(ann)
		e.clock.Advance(30 * time.Second)
		wantField(t, e.svc.DisableTOTP(e.ctx, as(ann), "", e.code(secret)), "current_password")
		wantField(t, e.svc.DisableTOTP(e.ctx, as(ann), "wrong password", e.code(secret)), "current_password")
		wantField(t, e.svc.DisableTOTP(e.ctx, as(ann), password, ""), "code")
		wantField(t, e.svc.DisableTOTP(e.ctx, as(ann), password, "000000"), "code")
		if !e.reload(ann).MFAEnabled {
			t.Fatal("turned off without both")
		}
		e.check(e.svc.DisableTOTP(e.ctx, as(ann), password, e.code(secret)))
		if e.reload(ann).MFAEnabled {
			t.Fatal("still on")
		}
		if _, err := e.svc.Login(e.ctx, models.Meta{}, "ann", password); err != nil {
			t.Fatalf("password alone after turning it off: %v", err)
		}
	})
}

func TestResetMFAPermissions(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, models.TypeActive)
		peer := e.user("peer", 9, models.TypeActive)
		mod := e.user("mod", 6, models.TypeActive)
		ann := e.user("ann", 1, models.TypeActive)
		e.turnOnMFA(ann)
		e.turnOnMFA(peer)
		for _, c := range []struct{ by, target *models.User }{{mod, ann}, {ann, ann}, {admin, peer}, {ann, admin}} {
			if _, _, err := e.svc.ResetMFA(e.ctx, as(c.by), c.target.ID); !isDenied(err) {
				t.Fatalf("%s resets %s: %v", c.by.Username, c.target.Username, err)
			}
		}
		u, _, err := e.svc.ResetMFA(e.ctx, as(admin), ann.ID)
		e.check(err)
		if u.MFAEnabled || e.reload(ann).MFAEnabled {
			t.Fatal("still on after the reset")
		}
		if ev := e.lastEvent(models.EvMFAReset); idOf(ev.ActorID) != idOf(&admin.ID) {
			t.Fatalf("event %+v", ev)
		}
		n, err := db.NewSelect().Model((*models.RecoveryCode)(nil)).Where("user_id = ?", ann.ID).Count(e.ctx)
		e.check(err)
		if n != 0 {
			t.Fatalf("%d recovery codes left", n)
		}
		if _, err := e.svc.Login(e.ctx, models.Meta{}, "ann", password); err != nil {
			t.Fatalf("password alone after the reset: %v", err)
		}
	})
}

// Authenticator secrets are stored encrypted with the service's key: a
// copy of the database alone can't make codes.
func TestTOTPSecretsAreEncryptedAtRest(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		ann := e.user("ann", 1, models.TypeActive)
		secret, codes := e.turnOnMFA(ann)
		var stored string
		e.check(db.NewSelect().Model((*models.TOTPSecret)(nil)).Column("secret").Where("user_id = ?", ann.ID).Scan(e.ctx, &stored))
		if stored == secret || !strings.HasPrefix(stored, "v1:") || strings.Contains(stored, secret) {
			t.Fatalf("stored %q for the secret %q", stored, secret)
		}
		// Another key can't read it: the sign-in fails, it is not let through.
		other := models.NewService(db, models.Options{Argon2: modelstest.FastArgon2, Now: e.clock.Now, SecretKey: []byte("another key")})
		_, err := other.Login(e.ctx, models.Meta{}, "ann", password)
		var second *models.SecondFactorError
		if !errors.As(err, &second) {
			t.Fatalf("login: %v", err)
		}
		e.clock.Advance(30 * time.Second)
		if _, err := other.VerifySecondFactor(e.ctx, models.Meta{}, second.User, e.code(secret)); !errors.Is(err, models.ErrInvalidCredentials) {
			t.Fatalf("a code checked by a service with another key: %v", err)
		}
		if _, err := e.svc.VerifySecondFactor(e.ctx, models.Meta{}, second.User, e.code(secret)); err != nil {
			t.Fatalf("the right key: %v", err)
		}
		// With another key (SESSION_SECRET changed), recovery codes still work.
		if method, err := other.VerifySecondFactor(e.ctx, models.Meta{}, second.User, codes[0]); err != nil || method != models.MethodRecovery {
			t.Fatalf("a recovery code with another key: %q, %v", method, err)
		}
	})
}

// A two-factor reset is for someone who lost their devices: their
// passkeys (two factors each) go with the authenticator app, unless they
// are the account's only way in; the event says what went and what stayed.
func TestResetMFARemovesPasskeysButNotTheLastWayIn(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		e := newEnv(t, db)
		admin := e.user("admin", 9, models.TypeActive)
		passkeys := func(u *models.User) int {
			keys, err := e.svc.Passkeys(e.ctx, u.ID)
			e.check(err)
			return len(keys)
		}

		// A password, an authenticator app and two passkeys: all of it goes.
		ann := e.user("ann", 1, models.TypeActive)
		e.turnOnMFA(ann)
		e.addPasskey(ann, "Phone")
		e.addPasskey(ann, "Laptop")
		_, r, err := e.svc.ResetMFA(e.ctx, as(admin), ann.ID)
		e.check(err)
		if r != (models.MFAReset{Authenticator: true, Passkeys: 2}) || passkeys(ann) != 0 || e.reload(ann).MFAEnabled {
			t.Fatalf("ann: reset %+v, %d passkeys left", r, passkeys(ann))
		}
		if ev := e.lastEvent(models.EvMFAReset); ev.Detail != "removed the authenticator app and its recovery codes and 2 passkeys" {
			t.Fatalf("event %q", ev.Detail)
		}

		// No password, but a linked identity: the passkey goes.
		nia, err := e.svc.SignUpWithIdentity(e.ctx, models.Meta{}, profile("nia", "nia@example.org", true), models.RegistrationOpen, "")
		e.check(err)
		e.addPasskey(nia, "Phone")
		if _, r, err = e.svc.ResetMFA(e.ctx, as(admin), nia.ID); err != nil || r.Passkeys != 1 || passkeys(nia) != 0 {
			t.Fatalf("nia: reset %+v %v, %d passkeys left", r, err, passkeys(nia))
		}
		if ev := e.lastEvent(models.EvMFAReset); ev.Detail != "removed 1 passkey" {
			t.Fatalf("event %q", ev.Detail)
		}

		// No password and no identity: the passkeys are the only way in and stay.
		pat, err := e.svc.SignUpWithIdentity(e.ctx, models.Meta{}, profile("pat", "pat@example.org", true), models.RegistrationOpen, "")
		e.check(err)
		e.addPasskey(pat, "Phone")
		e.addPasskey(pat, "Key")
		ids, err := e.svc.Identities(e.ctx, models.System, pat.ID)
		e.check(err)
		e.check(e.svc.UnlinkIdentity(e.ctx, as(pat), pat.ID, ids[0].ID))
		if _, r, err = e.svc.ResetMFA(e.ctx, as(admin), pat.ID); err != nil || r.KeptPasskeys != 2 || r.Passkeys != 0 || passkeys(pat) != 2 {
			t.Fatalf("pat: reset %+v %v, %d passkeys left", r, err, passkeys(pat))
		}
		if ev := e.lastEvent(models.EvMFAReset); ev.Detail != "nothing to remove; kept 2 passkeys: the account has no password or linked identity, so they are its only way in" {
			t.Fatalf("event %q", ev.Detail)
		}
	})
}
