package models

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/uptrace/bun"
)

// Passkeys: WebAuthn credentials that sign in without a password. They
// are discoverable (the browser offers them on /login with no username
// typed), and a passkey sign-in counts as two factors (the device, and its
// lock: fingerprint, face or PIN, which the options require).

// Passkey is one WebAuthn credential of an account. Data is the WebAuthn
// library's record of it (public key, sign count, flags), as JSON.
type Passkey struct {
	bun.BaseModel `bun:"table:passkeys,alias:pk"`

	ID           int64      `bun:"id,pk,autoincrement" json:"id"`
	UserID       int64      `bun:"user_id" json:"user_id"`
	CredentialID string     `bun:"credential_id" json:"-"` // base64url
	Name         string     `bun:"name" json:"name"`
	Data         string     `bun:"data" json:"-"`
	CreatedAt    time.Time  `bun:"created_at" json:"created_at"`
	LastUsedAt   *time.Time `bun:"last_used_at" json:"last_used_at"`
}

// MaxPasskeys is how many passkeys one account may have.
const MaxPasskeys = 20

// PasskeyError is a passkey ceremony that failed; Reason is safe to show.
type PasskeyError struct {
	Reason string
}

func (e *PasskeyError) Error() string { return "passkey refused: " + e.Reason }

// ConfigurePasskeys sets the WebAuthn relying party of the site from its
// public address: its host is the RP ID, its origin the only origin
// accepted. Without it, passkeys are refused.
func (s *Service) ConfigurePasskeys(baseURL, siteName string) error {
	u, err := url.Parse(baseURL)
	if err != nil || u.Hostname() == "" {
		return errors.New("passkeys need the site's public address (BASE_URL)")
	}
	rp, err := webauthn.New(&webauthn.Config{
		RPID:          u.Hostname(),
		RPDisplayName: siteName,
		RPOrigins:     []string{u.Scheme + "://" + u.Host},
	})
	if err != nil {
		return err
	}
	s.rp.Store(rp)
	return nil
}

func (s *Service) relyingParty() (*webauthn.WebAuthn, error) {
	if rp := s.rp.Load(); rp != nil {
		return rp, nil
	}
	return nil, &PasskeyError{Reason: "passkeys are not set up on this site"}
}

// webauthnUser is an account as the WebAuthn library sees it. Its user
// handle is the account id (8 bytes): opaque, stable, and no personal data.
type webauthnUser struct {
	u     *User
	creds []webauthn.Credential
}

func (w webauthnUser) WebAuthnID() []byte                         { return userHandle(w.u.ID) }
func (w webauthnUser) WebAuthnName() string                       { return w.u.Username }
func (w webauthnUser) WebAuthnDisplayName() string                { return w.u.DisplayName() }
func (w webauthnUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

func userHandle(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

func (s *Service) webauthnUser(ctx context.Context, u *User) (webauthnUser, []Passkey, error) {
	keys, err := s.Passkeys(ctx, u.ID)
	if err != nil {
		return webauthnUser{}, nil, err
	}
	w := webauthnUser{u: u}
	for _, k := range keys {
		var c webauthn.Credential
		if err := json.Unmarshal([]byte(k.Data), &c); err == nil {
			w.creds = append(w.creds, c)
		}
	}
	return w, keys, nil
}

// Passkeys lists an account's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, userID int64) ([]Passkey, error) {
	items := []Passkey{}
	err := s.db.NewSelect().Model(&items).Where("pk.user_id = ?", userID).OrderExpr("pk.id").Limit(MaxPasskeys).Scan(ctx)
	return items, err
}

// BeginPasskey starts adding a passkey to the signed-in account: the
// options for the browser (JSON) and the state to keep until
// FinishPasskey (JSON, kept by the caller where only this browser has it).
func (s *Service) BeginPasskey(ctx context.Context, by Actor) (options, state []byte, err error) {
	if by.User == nil {
		return nil, nil, denied("sign in first")
	}
	rp, err := s.relyingParty()
	if err != nil {
		return nil, nil, err
	}
	w, keys, err := s.webauthnUser(ctx, by.User)
	if err != nil {
		return nil, nil, err
	}
	if len(keys) >= MaxPasskeys {
		return nil, nil, &PasskeyError{Reason: "you have as many passkeys as an account may have; remove one first"}
	}
	exclude := make([]protocol.CredentialDescriptor, len(w.creds))
	for i := range w.creds {
		exclude[i] = w.creds[i].Descriptor()
	}
	creation, session, err := rp.BeginRegistration(w,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationRequired,
		}),
		webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, nil, err
	}
	if options, err = json.Marshal(creation); err != nil {
		return nil, nil, err
	}
	state, err = json.Marshal(session)
	return options, state, err
}

// FinishPasskey checks the browser's answer to BeginPasskey's options and
// keeps the new passkey under name.
func (s *Service) FinishPasskey(ctx context.Context, by Actor, state []byte, name string, response []byte) (*Passkey, error) {
	if by.User == nil {
		return nil, denied("sign in first")
	}
	name = clip(normalize(name), 64)
	if name == "" {
		name = "Passkey"
	}
	rp, err := s.relyingParty()
	if err != nil {
		return nil, err
	}
	var session webauthn.SessionData
	if len(state) == 0 || json.Unmarshal(state, &session) != nil {
		return nil, &PasskeyError{Reason: "the request has expired; try again"}
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, &PasskeyError{Reason: "the browser's answer could not be read"}
	}
	w, _, err := s.webauthnUser(ctx, by.User)
	if err != nil {
		return nil, err
	}
	cred, err := rp.CreateCredential(w, session, parsed)
	if err != nil {
		return nil, &PasskeyError{Reason: "the passkey could not be verified; try again"}
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return nil, err
	}
	pk := &Passkey{UserID: by.User.ID, CredentialID: base64.RawURLEncoding.EncodeToString(cred.ID), Name: name,
		Data: string(data), CreatedAt: s.now()}
	err = s.runInTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(pk).Exec(ctx); err != nil {
			return conflictOr(err)
		}
		return s.record(ctx, tx, by, EvPasskeyAdd, &by.User.ID, name)
	})
	if err != nil {
		var ce *ConflictError
		if errors.As(err, &ce) {
			return nil, &PasskeyError{Reason: "this passkey is already registered"}
		}
		return nil, err
	}
	return pk, nil
}

// ownPasskey finds passkey id of the signed-in account.
func (s *Service) ownPasskey(ctx context.Context, by Actor, id int64) (*Passkey, error) {
	if by.User == nil {
		return nil, denied("sign in first")
	}
	pk := new(Passkey)
	err := s.db.NewSelect().Model(pk).Where("pk.id = ? AND pk.user_id = ?", id, by.User.ID).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return pk, err
}

// RenamePasskey names one of the signed-in account's passkeys.
func (s *Service) RenamePasskey(ctx context.Context, by Actor, id int64, name string) error {
	name = clip(normalize(name), 64)
	if name == "" {
		return fieldError("name", "Give the passkey a name.")
	}
	if _, err := s.ownPasskey(ctx, by, id); err != nil {
		return err
	}
	_, err := s.db.NewUpdate().Model((*Passkey)(nil)).Where("id = ?", id).Set("name = ?", name).Exec(ctx)
	return err
}

// RemovePasskey deletes one of the signed-in account's passkeys, unless
// it is the account's last way in (waysIn).
func (s *Service) RemovePasskey(ctx context.Context, by Actor, id int64) error {
	if by.User == nil {
		return denied("sign in first")
	}
	return s.runInTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := s.lockUser(ctx, tx, by.User.ID)
		if err != nil {
			return err
		}
		pk := new(Passkey)
		if err := s.removeWayIn(ctx, tx, u, pk, id, func(w *waysIn) { w.passkeys-- }); err != nil {
			return err
		}
		return s.record(ctx, tx, by, EvPasskeyRemove, &pk.UserID, pk.Name)
	})
}

// BeginPasskeyLogin starts a sign-in with a discoverable passkey: the
// options for the browser and the state to keep until FinishPasskeyLogin.
func (s *Service) BeginPasskeyLogin(ctx context.Context) (options, state []byte, err error) {
	rp, err := s.relyingParty()
	if err != nil {
		return nil, nil, err
	}
	assertion, session, err := rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, nil, err
	}
	if options, err = json.Marshal(assertion); err != nil {
		return nil, nil, err
	}
	state, err = json.Marshal(session)
	return options, state, err
}

// FinishPasskeyLogin checks the browser's signed answer and returns the
// account it signs in, with what to start its session with
// (StartSession). Banned, unconfirmed and deleted accounts are refused as
// at a password sign-in, and failures are throttled as a password's are
// (passkeyGuess): a *LockedError while locked, checked before the
// signature; the failures from this address forgotten after a right one.
func (s *Service) FinishPasskeyLogin(ctx context.Context, m Meta, state, response []byte, remember bool) (*User, SignIn, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return nil, SignIn{}, err
	}
	var session webauthn.SessionData
	if len(state) == 0 || json.Unmarshal(state, &session) != nil {
		return nil, SignIn{}, &PasskeyError{Reason: "the sign-in has expired; try again"}
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, SignIn{}, &PasskeyError{Reason: "the browser's answer could not be read"}
	}
	credentialID := base64.RawURLEncoding.EncodeToString(parsed.RawID)
	key := new(Passkey)
	err = s.db.NewSelect().Model(key).Where("pk.credential_id = ?", credentialID).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		key = nil
	} else if err != nil {
		return nil, SignIn{}, err
	}
	g := passkeyGuess(key, credentialID, m.IP)
	if err := s.CheckGuess(ctx, g); err != nil {
		return nil, SignIn{}, err
	}
	unknown := &PasskeyError{Reason: "this passkey is not registered here, or could not be verified"}
	var found *User
	handler := func(rawID, handle []byte) (webauthn.User, error) {
		if key == nil {
			return nil, errors.New("unknown passkey")
		}
		if !bytes.Equal(handle, userHandle(key.UserID)) {
			return nil, errors.New("the passkey belongs to another account")
		}
		u, err := s.Get(ctx, key.UserID)
		if err != nil {
			return nil, err
		}
		var c webauthn.Credential
		if err := json.Unmarshal([]byte(key.Data), &c); err != nil {
			return nil, err
		}
		found = u
		return webauthnUser{u: u, creds: []webauthn.Credential{c}}, nil
	}
	cred, err := rp.ValidateDiscoverableLogin(handler, session, parsed)
	switch {
	case err != nil || found == nil:
		var target *int64
		if key != nil {
			target = &key.UserID
		}
		return nil, SignIn{}, s.passkeyFailed(ctx, m, g, target, "passkey refused", unknown)
	case cred.Authenticator.CloneWarning:
		return nil, SignIn{}, s.passkeyFailed(ctx, m, g, &found.ID, "passkey sign count went back (cloned?)",
			&PasskeyError{Reason: "this passkey could not be verified"})
	case found.Type == TypeDeleted:
		return nil, SignIn{}, s.passkeyFailed(ctx, m, g, &found.ID, "deleted account", unknown)
	}
	// Right, but failures counted at the same moment may have locked the
	// account from here meanwhile: the lock wins, as at a password sign-in.
	if wait, err := s.lockedNow(ctx, g); err != nil || wait > 0 {
		if err == nil {
			err = &LockedError{RetryAfter: wait}
		}
		return nil, SignIn{}, err
	}
	switch found.Type {
	case TypeBanned:
		_ = s.record(ctx, s.db, Actor{Meta: m}, EvLoginFailed, &found.ID, "banned")
		return nil, SignIn{}, &BannedError{Reason: found.BanReason}
	case TypeInactive:
		return nil, SignIn{}, &NotConfirmedError{UserID: found.ID}
	}
	if err := s.ClearFailures(ctx, g); err != nil {
		return nil, SignIn{}, err
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return nil, SignIn{}, err
	}
	if _, err := s.db.NewUpdate().Model((*Passkey)(nil)).Where("id = ?", key.ID).
		Set("data = ?", string(data)).Set("last_used_at = ?", s.now()).Exec(ctx); err != nil {
		return nil, SignIn{}, err
	}
	return found, SignIn{Method: MethodPasskey, Remember: remember}, nil
}

// passkeyGuess is a passkey sign-in as the throttle counts it: a
// registered credential is a guess at its account, like a password typed
// for it (the same locks); an unknown one is keyed by its id, as an
// unknown login is by the login typed, so that unknown credentials from
// one address add up to its address lock.
func passkeyGuess(key *Passkey, credentialID, ip string) Guess {
	if key != nil {
		return Guess{AccountID: key.UserID, IP: ip}
	}
	return Guess{Login: "passkey:" + credentialID, IP: ip}
}

// passkeyFailed records a refused passkey sign-in and counts it: the
// LockedError when this failure locks, else refused.
func (s *Service) passkeyFailed(ctx context.Context, m Meta, g Guess, target *int64, why string, refused error) error {
	_ = s.record(ctx, s.db, Actor{Meta: m}, EvLoginFailed, target, why)
	if err := s.CountFailure(ctx, m, g); err != nil {
		return err
	}
	return refused
}
