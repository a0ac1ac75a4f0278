package models

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/uptrace/bun"
)

// Two-factor sign-in with TOTP (RFC 6238: 6 digits, 30 seconds, SHA-1,
// what every authenticator app reads) and single-use recovery codes.

// RecoveryCodeCount is how many recovery codes turning two-factor on makes.
const RecoveryCodeCount = 10

// totpPeriod is the TOTP time step.
const totpPeriod = 30

// TOTPSecret is an account's authenticator secret: unconfirmed while
// being set up, then in use. LastStep is the last time step whose code
// signed in, so that a code works once.
type TOTPSecret struct {
	bun.BaseModel `bun:"table:totp_secrets,alias:ts"`

	UserID      int64      `bun:"user_id,pk"`
	Secret      string     `bun:"secret"`
	LastStep    int64      `bun:"last_step"`
	CreatedAt   time.Time  `bun:"created_at"`
	ConfirmedAt *time.Time `bun:"confirmed_at"`
}

// RecoveryCode is one single-use code (only its SHA-256 is kept).
type RecoveryCode struct {
	bun.BaseModel `bun:"table:recovery_codes,alias:rc"`

	ID        int64      `bun:"id,pk,autoincrement"`
	UserID    int64      `bun:"user_id"`
	Hash      string     `bun:"hash"`
	CreatedAt time.Time  `bun:"created_at"`
	UsedAt    *time.Time `bun:"used_at"`
}

// TOTPSetup is a secret being set up: Secret (base32) to type in, URL
// (otpauth://) to draw as a QR code.
type TOTPSetup struct {
	Secret string
	URL    string
}

// Security is what the security settings show about an account.
type Security struct {
	MFAEnabled    bool
	Setup         *TOTPSetup // a secret waiting for its first code, or nil
	RecoveryLeft  int        // unused recovery codes
	EnabledAt     *time.Time
	Passkeys      []Passkey
	SessionsCount int
}

// Security reads the account's two-factor state for its settings page.
func (s *Service) Security(ctx context.Context, by Actor, issuer string) (*Security, error) {
	if by.User == nil {
		return nil, denied("sign in first")
	}
	out := &Security{MFAEnabled: by.User.MFAEnabled}
	sec, err := s.totpSecret(ctx, s.db, by.User.ID)
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, errSecretUnreadable) {
		return nil, err
	}
	switch {
	case sec != nil && sec.ConfirmedAt != nil:
		out.EnabledAt = sec.ConfirmedAt
	case sec != nil:
		out.Setup = &TOTPSetup{Secret: sec.Secret, URL: totpURL(issuer, by.User.Username, sec.Secret)}
	}
	n, err := s.db.NewSelect().Model((*RecoveryCode)(nil)).
		Where("user_id = ? AND used_at IS NULL", by.User.ID).Count(ctx)
	if err != nil {
		return nil, err
	}
	out.RecoveryLeft = int(n)
	if out.Passkeys, err = s.Passkeys(ctx, by.User.ID); err != nil {
		return nil, err
	}
	return out, nil
}

func totpURL(issuer, account, secret string) string {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Secret: mustBase32(secret)})
	if err != nil {
		return ""
	}
	return k.URL()
}

func mustBase32(s string) []byte {
	b, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	return b
}

func (s *Service) totpSecret(ctx context.Context, db bun.IDB, userID int64) (*TOTPSecret, error) {
	sec := new(TOTPSecret)
	err := db.NewSelect().Model(sec).Where("ts.user_id = ?", userID).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if sec.Secret, err = s.openSecret(sec.Secret); err != nil {
		return nil, err
	}
	return sec, nil
}

// errSecretUnreadable is a stored secret sealed with another key (the
// SESSION_SECRET changed): its codes can't be checked, recovery codes can.
var errSecretUnreadable = errors.New("a stored authenticator secret can't be read with this SESSION_SECRET")

// sealedPrefix marks a secret stored encrypted with Options.SecretKey.
const sealedPrefix = "v1:"

// sealSecret encrypts plain for storage (AES-256-GCM, a random nonce), or
// returns it as it is when the service has no SecretKey.
func (s *Service) sealSecret(plain string) (string, error) {
	if len(s.opts.SecretKey) == 0 {
		return plain, nil
	}
	aead, err := s.secretAEAD()
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(plain), nil)), nil
}

// openSecret reverses sealSecret; a secret stored before encryption (no
// prefix) is returned as it is.
func (s *Service) openSecret(stored string) (string, error) {
	raw, sealed := strings.CutPrefix(stored, sealedPrefix)
	if !sealed {
		return stored, nil
	}
	aead, err := s.secretAEAD()
	if err != nil {
		return "", err
	}
	b, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(b) < aead.NonceSize() {
		return "", errors.New("a stored secret is damaged")
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], nil)
	if err != nil {
		return "", errSecretUnreadable
	}
	return string(plain), nil
}

func (s *Service) secretAEAD() (cipher.AEAD, error) {
	if len(s.opts.SecretKey) == 0 {
		return nil, errors.New("stored secrets are encrypted and no key is set")
	}
	key := sha256.Sum256(s.opts.SecretKey) // any length in, 32 bytes out
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// BeginTOTP makes a new authenticator secret for the signed-in account,
// to be confirmed by ConfirmTOTP with a code from it. It replaces an
// unconfirmed one; an account with two-factor on must turn it off first.
func (s *Service) BeginTOTP(ctx context.Context, by Actor, issuer string) (*TOTPSetup, error) {
	if by.User == nil {
		return nil, denied("sign in first")
	}
	u, err := s.Get(ctx, by.User.ID)
	if err != nil {
		return nil, err
	}
	if u.MFAEnabled {
		return nil, &ConflictError{Field: "code", Message: "Two-factor sign-in is already on."}
	}
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: u.Username})
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealSecret(k.Secret())
	if err != nil {
		return nil, err
	}
	sec := &TOTPSecret{UserID: u.ID, Secret: sealed, CreatedAt: s.now()}
	if _, err := s.db.NewInsert().Model(sec).
		On("CONFLICT (user_id) DO UPDATE").
		Set("secret = EXCLUDED.secret").Set("created_at = EXCLUDED.created_at").
		Set("last_step = 0").Set("confirmed_at = NULL").
		Exec(ctx); err != nil {
		return nil, err
	}
	return &TOTPSetup{Secret: k.Secret(), URL: k.URL()}, nil
}

// totpStep finds the time step (now, or one either side for clocks a
// little off) whose code is code, or 0.
func (s *Service) totpStep(secret, code string) int64 {
	code = strings.TrimSpace(strings.ReplaceAll(code, " ", ""))
	if len(code) != 6 {
		return 0
	}
	now := s.opts.Now()
	for _, skew := range []int64{0, -1, 1} {
		at := now.Add(time.Duration(skew*totpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return at.Unix() / totpPeriod
		}
	}
	return 0
}

// useTOTP checks code against the secret and marks its step used, so
// that the same code can't sign in twice (even in two requests at once).
func (s *Service) useTOTP(ctx context.Context, db bun.IDB, sec *TOTPSecret, code string) (bool, error) {
	step := s.totpStep(sec.Secret, code)
	if step == 0 || step <= sec.LastStep {
		return false, nil
	}
	res, err := db.NewUpdate().Model((*TOTPSecret)(nil)).Where("user_id = ? AND last_step < ?", sec.UserID, step).
		Set("last_step = ?", step).Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ConfirmTOTP turns two-factor on with the first code of the secret made
// by BeginTOTP, and returns the recovery codes, shown this once.
func (s *Service) ConfirmTOTP(ctx context.Context, by Actor, code string) ([]string, error) {
	if by.User == nil {
		return nil, denied("sign in first")
	}
	var codes []string
	err := s.runInTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := s.lockUser(ctx, tx, by.User.ID)
		if err != nil {
			return err
		}
		if u.MFAEnabled {
			return &ConflictError{Field: "code", Message: "Two-factor sign-in is already on."}
		}
		sec, err := s.totpSecret(ctx, tx, u.ID)
		if errors.Is(err, ErrNotFound) {
			return fieldError("code", "Start again: the setup has expired.")
		}
		if err != nil {
			return err
		}
		ok, err := s.useTOTP(ctx, tx, sec, code)
		if err != nil {
			return err
		}
		if !ok {
			return fieldError("code", "That code is not right. Enter the 6 digits your app shows now.")
		}
		now := s.now()
		if _, err := tx.NewUpdate().Model((*TOTPSecret)(nil)).Where("user_id = ?", u.ID).Set("confirmed_at = ?", now).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*User)(nil)).Where("id = ?", u.ID).
			Set("mfa_enabled = ?", true).Set("updated_at = ?", now).Exec(ctx); err != nil {
			return err
		}
		if codes, err = s.newRecoveryCodes(ctx, tx, u.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, by, EvMFAEnable, &u.ID, "")
	})
	return codes, err
}

// newRecoveryCodes replaces the account's recovery codes with new ones.
func (s *Service) newRecoveryCodes(ctx context.Context, db bun.IDB, userID int64) ([]string, error) {
	if _, err := db.NewDelete().Model((*RecoveryCode)(nil)).Where("user_id = ?", userID).Exec(ctx); err != nil {
		return nil, err
	}
	codes := make([]string, RecoveryCodeCount)
	rows := make([]RecoveryCode, RecoveryCodeCount)
	now := s.now()
	for i := range codes {
		b := make([]byte, 7)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		raw := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:10]
		codes[i] = raw[:5] + "-" + raw[5:]
		rows[i] = RecoveryCode{UserID: userID, Hash: hashToken(raw), CreatedAt: now}
	}
	if _, err := db.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return nil, err
	}
	return codes, nil
}

// useRecoveryCode spends one unused recovery code of the account.
func (s *Service) useRecoveryCode(ctx context.Context, db bun.IDB, userID int64, code string) (bool, error) {
	code = strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	if len(code) != 10 {
		return false, nil
	}
	res, err := db.NewUpdate().Model((*RecoveryCode)(nil)).
		Where("user_id = ? AND hash = ? AND used_at IS NULL", userID, hashToken(code)).
		Set("used_at = ?", s.now()).Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// checkCode accepts a current TOTP code or an unused recovery code of the
// account (spending it) and says which it was ("" when neither).
func (s *Service) checkCode(ctx context.Context, db bun.IDB, u *User, code string) (string, error) {
	sec, err := s.totpSecret(ctx, db, u.ID)
	switch {
	case errors.Is(err, errSecretUnreadable):
		s.log.WarnContext(ctx, "two-factor: only recovery codes work for this account", "user_id", u.ID, "err", err)
	case err != nil && !errors.Is(err, ErrNotFound):
		return "", err
	}
	if sec != nil && sec.ConfirmedAt != nil {
		ok, err := s.useTOTP(ctx, db, sec, code)
		if err != nil || ok {
			return MethodTOTP, err
		}
	}
	ok, err := s.useRecoveryCode(ctx, db, u.ID, code)
	if err != nil || !ok {
		return "", err
	}
	return MethodRecovery, nil
}

// SecondFactor checks the code of a pending sign-in (a TOTP code or an
// unused recovery code): wrong codes count as failed sign-ins, exactly as
// wrong passwords do, and lock the account alike. On success it returns
// the account and what to start its session with (StartSession).
func (s *Service) SecondFactor(ctx context.Context, m Meta, pending *Session, code string) (*User, SignIn, error) {
	if pending == nil || !pending.Pending {
		return nil, SignIn{}, ErrNotFound
	}
	u, err := s.Get(ctx, pending.UserID)
	if err != nil {
		return nil, SignIn{}, err
	}
	if u.SessionVersion != pending.SessionVersion {
		return nil, SignIn{}, ErrInvalidCredentials
	}
	method, err := s.VerifySecondFactor(ctx, m, u, code)
	if err != nil {
		return nil, SignIn{}, err
	}
	return u, SignIn{Method: pending.Method, Remember: pending.Remember, SecondFactor: method}, nil
}

// VerifySecondFactor checks a code of an account whose password was just
// right (Login answered SecondFactorError): a TOTP code or an unused
// recovery code, which it spends. It says which it was (MethodTOTP,
// MethodRecovery). Wrong codes count as failed sign-ins like wrong
// passwords, and a locked account is refused before its code is read.
func (s *Service) VerifySecondFactor(ctx context.Context, m Meta, u *User, code string) (string, error) {
	if u.Type != TypeActive || !u.MFAEnabled {
		return "", ErrInvalidCredentials
	}
	if err := s.signInLocked(ctx, m, u); err != nil {
		return "", err
	}
	if strings.TrimSpace(code) == "" {
		return "", fieldError("code", "Enter the code from your app, or a recovery code.")
	}
	method, err := s.checkCode(ctx, s.db, u, code)
	if err != nil {
		return "", err
	}
	if method == "" {
		return "", s.signInFailed(ctx, m, u, "wrong second-factor code")
	}
	if err := s.ClearFailures(ctx, Guess{AccountID: u.ID, IP: m.IP}); err != nil {
		return "", err
	}
	if method == MethodRecovery {
		_ = s.record(ctx, s.db, Actor{User: u, Meta: m}, EvRecoveryUsed, &u.ID, "")
	}
	return method, nil
}

// DisableTOTP turns two-factor off for the signed-in account, which must
// give its password and a current code (or a recovery code).
func (s *Service) DisableTOTP(ctx context.Context, by Actor, password, code string) error {
	if by.User == nil {
		return denied("sign in first")
	}
	u, err := s.Get(ctx, by.User.ID)
	if err != nil {
		return err
	}
	if !u.MFAEnabled {
		return &ConflictError{Field: "code", Message: "Two-factor sign-in is not on."}
	}
	c := checker{}
	if password == "" {
		c.add("current_password", "Enter your password.")
	}
	if strings.TrimSpace(code) == "" {
		c.add("code", "Enter a code from your app, or a recovery code.")
	}
	if err := c.err(); err != nil {
		return err
	}
	// Guessed like a sign-in (throttle.go): a stolen session must not
	// become unlimited tries at the password or the codes.
	g := Guess{AccountID: u.ID, IP: by.IP}
	if err := s.CheckGuess(ctx, g); err != nil {
		return err
	}
	ok, _, err := s.hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil && !errors.Is(err, errBadPHC) {
		return err
	}
	if !ok {
		if err := s.CountFailure(ctx, by.Meta, g); err != nil {
			return err
		}
		return fieldError("current_password", "The password is not right.")
	}
	wrongCode := false
	err = s.runInTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		method, err := s.checkCode(ctx, tx, u, code)
		if err != nil {
			return err
		}
		if method == "" {
			wrongCode = true
			return fieldError("code", "That code is not right.")
		}
		if err := s.dropSecondFactor(ctx, tx, u.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, by, EvMFADisable, &u.ID, "")
	})
	if wrongCode {
		if cerr := s.CountFailure(ctx, by.Meta, g); cerr != nil {
			return cerr
		}
	}
	return err
}

// NewRecoveryCodes replaces the signed-in account's recovery codes with
// new ones, after checking its password; the old ones stop working.
func (s *Service) NewRecoveryCodes(ctx context.Context, by Actor, password string) ([]string, error) {
	if by.User == nil {
		return nil, denied("sign in first")
	}
	u, err := s.Get(ctx, by.User.ID)
	if err != nil {
		return nil, err
	}
	if !u.MFAEnabled {
		return nil, &ConflictError{Field: "code", Message: "Two-factor sign-in is not on."}
	}
	if password == "" {
		return nil, fieldError("recovery_password", "Enter your password.")
	}
	// Guessed like a sign-in (throttle.go), as every password check is.
	g := Guess{AccountID: u.ID, IP: by.IP}
	if err := s.CheckGuess(ctx, g); err != nil {
		return nil, err
	}
	ok, _, err := s.hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil && !errors.Is(err, errBadPHC) {
		return nil, err
	}
	if !ok {
		if err := s.CountFailure(ctx, by.Meta, g); err != nil {
			return nil, err
		}
		return nil, fieldError("recovery_password", "The password is not right.")
	}
	var codes []string
	err = s.runInTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if codes, err = s.newRecoveryCodes(ctx, tx, u.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, by, EvRecoveryNew, &u.ID, "")
	})
	return codes, err
}

// dropSecondFactor removes the TOTP secret and the recovery codes and
// marks two-factor off.
func (s *Service) dropSecondFactor(ctx context.Context, db bun.IDB, userID int64) error {
	if _, err := db.NewDelete().Model((*TOTPSecret)(nil)).Where("user_id = ?", userID).Exec(ctx); err != nil {
		return err
	}
	if _, err := db.NewDelete().Model((*RecoveryCode)(nil)).Where("user_id = ?", userID).Exec(ctx); err != nil {
		return err
	}
	_, err := db.NewUpdate().Model((*User)(nil)).Where("id = ?", userID).
		Set("mfa_enabled = ?", false).Set("updated_at = ?", s.now()).Exec(ctx)
	return err
}

// MFAReset says what an admin's two-factor reset removed, and what it
// kept (ResetMFA).
type MFAReset struct {
	Authenticator bool  // the authenticator app's secret and the recovery codes went
	Passkeys      int64 // passkeys removed
	KeptPasskeys  int64 // passkeys kept: the account's only way in
}

// String says it in words, as the mfa.reset event's detail.
func (r MFAReset) String() string {
	var removed []string
	if r.Authenticator {
		removed = append(removed, "the authenticator app and its recovery codes")
	}
	if r.Passkeys > 0 {
		removed = append(removed, nouns(r.Passkeys, "passkey"))
	}
	out := "nothing to remove"
	if len(removed) > 0 {
		out = "removed " + strings.Join(removed, " and ")
	}
	if r.KeptPasskeys > 0 {
		out += "; kept " + nouns(r.KeptPasskeys, "passkey") +
			": the account has no password or linked identity, so they are its only way in"
	}
	return out
}

// nouns is "1 passkey", "2 passkeys".
func nouns(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(n, 10) + " " + noun + "s"
}

// ResetMFA turns another account's two-factor sign-in off (an admin, on a
// lower level), for someone who lost their devices: the authenticator
// app's secret, the recovery codes and the passkeys (a passkey is two
// factors on its own) all go, unless the passkeys are the account's only
// way in (waysIn: no password, no linked identity), when they stay. The
// event, and the MFAReset returned, say which.
func (s *Service) ResetMFA(ctx context.Context, by Actor, id int64) (*User, MFAReset, error) {
	var r MFAReset
	u, err := s.apply(ctx, by, id, transition{act: ActResetMFA, event: EvMFAReset,
		set: func(q *bun.UpdateQuery, u *User) {
			r.Authenticator = u.MFAEnabled
			q.Set("mfa_enabled = ?", false)
		},
		also: func(ctx context.Context, tx bun.IDB) error {
			r = MFAReset{Authenticator: r.Authenticator} // a retried transaction starts again
			if _, err := tx.NewDelete().Model((*TOTPSecret)(nil)).Where("user_id = ?", id).Exec(ctx); err != nil {
				return err
			}
			if _, err := tx.NewDelete().Model((*RecoveryCode)(nil)).Where("user_id = ?", id).Exec(ctx); err != nil {
				return err
			}
			u, err := s.getBy(ctx, tx, "u.id = ?", id)
			if err != nil {
				return err
			}
			w, err := s.waysInOf(ctx, tx, u)
			if err != nil {
				return err
			}
			if !w.password && w.identities == 0 {
				r.KeptPasskeys = w.passkeys
				return nil
			}
			r.Passkeys = w.passkeys
			_, err = tx.NewDelete().Model((*Passkey)(nil)).Where("user_id = ?", id).Exec(ctx)
			return err
		},
		describe: func() string { return r.String() },
	}, "")
	if err != nil {
		return nil, MFAReset{}, err
	}
	return u, r, nil
}
