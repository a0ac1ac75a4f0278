package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Token purposes: what the link in an e-mail does.
const (
	TokenConfirm = "confirm" // confirm the address of a new account
	TokenReset   = "reset"   // choose a new password
	TokenEmail   = "email"   // switch the account to a new address
)

// TokenTTL is how long each kind of link works.
var TokenTTL = map[string]time.Duration{
	TokenConfirm: 48 * time.Hour,
	TokenReset:   time.Hour,
	TokenEmail:   48 * time.Hour,
}

// Token is a one-time link. Only the SHA-256 of the secret is stored; the
// link dies once used, once expired, and as soon as the account's e-mail
// address or session version (password change, sign out everywhere)
// differs from when it was made.
type Token struct {
	bun.BaseModel `bun:"table:tokens,alias:t"`

	ID             int64      `bun:"id,pk,autoincrement"`
	UserID         int64      `bun:"user_id"`
	Purpose        string     `bun:"purpose"`
	Hash           string     `bun:"hash"`
	Email          string     `bun:"email"`       // where the link was sent (the new address for TokenEmail)
	BoundEmail     string     `bun:"bound_email"` // the account's address when the link was made
	SessionVersion int64      `bun:"session_version"`
	CreatedAt      time.Time  `bun:"created_at"`
	ExpiresAt      time.Time  `bun:"expires_at"`
	UsedAt         *time.Time `bun:"used_at"`
}

// Why a link is refused.
const (
	TokenUnknown  = "unknown"  // never issued, mistyped or tampered with
	TokenUsed     = "used"     // already used
	TokenExpired  = "expired"  // too old
	TokenOutdated = "outdated" // the account changed since (password, e-mail, state)
)

// TokenError is a refused link; Reason is one of TokenUnknown, TokenUsed,
// TokenExpired and TokenOutdated.
type TokenError struct {
	Reason string
}

func (e *TokenError) Error() string { return "link refused: " + e.Reason }

// tokenLen is the length of an encoded token: 32 random bytes in base64url.
const tokenLen = 43

// IssueToken makes a one-time link secret for u. email is where it will be
// sent: u's own address, or the new address for TokenEmail.
func (s *Service) IssueToken(ctx context.Context, u *User, purpose, email string) (string, *Token, error) {
	ttl, ok := TokenTTL[purpose]
	if !ok {
		return "", nil, errors.New("unknown token purpose " + purpose)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	raw := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	t := &Token{
		UserID:         u.ID,
		Purpose:        purpose,
		Hash:           hashToken(raw),
		Email:          email,
		BoundEmail:     u.EmailAddress(),
		SessionVersion: u.SessionVersion,
		CreatedAt:      now,
		ExpiresAt:      now.Add(ttl),
	}
	if _, err := s.db.NewInsert().Model(t).Returning("id").Exec(ctx); err != nil {
		return "", nil, err
	}
	return raw, t, nil
}

func hashToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

func wellFormed(raw string) bool {
	if len(raw) != tokenLen {
		return false
	}
	for _, r := range raw {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// CheckToken finds a usable link secret of one of the purposes, without
// using it up, and returns it with its account; anything else is a
// *TokenError.
func (s *Service) CheckToken(ctx context.Context, raw string, purposes ...string) (*Token, *User, error) {
	if !wellFormed(raw) {
		return nil, nil, &TokenError{Reason: TokenUnknown}
	}
	t := new(Token)
	err := s.db.NewSelect().Model(t).Where("t.hash = ?", hashToken(raw)).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, &TokenError{Reason: TokenUnknown}
	}
	if err != nil {
		return nil, nil, err
	}
	known := false
	for _, p := range purposes {
		known = known || p == t.Purpose
	}
	if !known {
		return nil, nil, &TokenError{Reason: TokenUnknown}
	}
	if t.UsedAt != nil {
		return nil, nil, &TokenError{Reason: TokenUsed}
	}
	if !s.now().Before(t.ExpiresAt) {
		return nil, nil, &TokenError{Reason: TokenExpired}
	}
	u, err := s.Get(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, &TokenError{Reason: TokenOutdated}
	}
	if err != nil {
		return nil, nil, err
	}
	if err := stillBound(t, u); err != nil {
		return nil, nil, err
	}
	return t, u, nil
}

// stillBound refuses a token whose account moved on since it was made.
func stillBound(t *Token, u *User) error {
	if u.SessionVersion != t.SessionVersion || !strings.EqualFold(u.EmailAddress(), t.BoundEmail) ||
		u.Type == TypeBanned || u.Type == TypeDeleted {
		return &TokenError{Reason: TokenOutdated}
	}
	return nil
}

// useToken spends t inside tx, after checking again (with the account row
// locked) that it still fits; the other unused links of the same purpose
// die with it.
func (s *Service) useToken(ctx context.Context, tx bun.Tx, t *Token) (*User, error) {
	u, err := s.lockUser(ctx, tx, t.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, &TokenError{Reason: TokenOutdated}
	}
	if err != nil {
		return nil, err
	}
	if err := stillBound(t, u); err != nil {
		return nil, err
	}
	now := s.now()
	res, err := tx.NewUpdate().Model((*Token)(nil)).Where("id = ? AND used_at IS NULL", t.ID).
		Set("used_at = ?", now).Exec(ctx)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, &TokenError{Reason: TokenUsed}
	}
	if _, err := tx.NewUpdate().Model((*Token)(nil)).
		Where("user_id = ? AND purpose = ? AND used_at IS NULL", t.UserID, t.Purpose).
		Set("used_at = ?", now).Exec(ctx); err != nil {
		return nil, err
	}
	return u, nil
}

// Confirmed is what following a confirmation link did.
type Confirmed struct {
	User     *User
	Purpose  string // TokenConfirm or TokenEmail
	OldEmail string // for TokenEmail: the address that was replaced
}

// ConfirmWithToken follows a confirmation link: a new account's address
// is confirmed (an Inactive account becomes Active), or a requested new
// address replaces the old one.
func (s *Service) ConfirmWithToken(ctx context.Context, m Meta, raw string) (*Confirmed, error) {
	t, _, err := s.CheckToken(ctx, raw, TokenConfirm, TokenEmail)
	if err != nil {
		return nil, err
	}
	out := &Confirmed{Purpose: t.Purpose}
	err = s.runInTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := s.useToken(ctx, tx, t)
		if err != nil {
			return err
		}
		now := s.now()
		q := tx.NewUpdate().Model((*User)(nil)).Where("id = ?", u.ID).Set("updated_at = ?", now)
		event, detail := EvConfirm, "by e-mail link"
		switch t.Purpose {
		case TokenConfirm:
			if u.EmailVerifiedAt == nil {
				q.Set("email_verified_at = ?", now)
			}
			if u.Type == TypeInactive {
				q.Set("type = ?", TypeActive)
			}
		case TokenEmail:
			out.OldEmail = u.EmailAddress()
			q.Set("email = ?", t.Email).Set("email_skeleton = ?", skeletonOf(&t.Email)).Set("email_verified_at = ?", now)
			event, detail = EvEmailChange, "new address confirmed by e-mail link"
		}
		if _, err := q.Exec(ctx); err != nil {
			return conflictOr(err)
		}
		if out.User, err = s.getBy(ctx, tx, "u.id = ?", u.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, Actor{User: out.User, Meta: m}, event, &u.ID, detail)
	})
	if err != nil {
		return nil, err
	}
	s.invalidateStats()
	return out, nil
}

// ResetWithToken follows a password reset link: the new password is set,
// every session of the account ends, and (the link having proved the
// address) the address counts as confirmed.
func (s *Service) ResetWithToken(ctx context.Context, m Meta, raw, password string) (*User, error) {
	t, _, err := s.CheckToken(ctx, raw, TokenReset)
	if err != nil {
		return nil, err
	}
	c := checker{}
	c.check("password", password)
	if err := c.err(); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, err
	}
	var out *User
	err = s.runInTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := s.useToken(ctx, tx, t)
		if err != nil {
			return err
		}
		now := s.now()
		q := tx.NewUpdate().Model((*User)(nil)).Where("id = ?", u.ID).
			Set("password_hash = ?", hash).
			Set("session_version = session_version + 1").
			Set("updated_at = ?", now)
		if u.EmailVerifiedAt == nil {
			q.Set("email_verified_at = ?", now)
		}
		if u.Type == TypeInactive {
			q.Set("type = ?", TypeActive)
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		if err := s.deleteSessions(ctx, tx, u.ID); err != nil {
			return err
		}
		if out, err = s.getBy(ctx, tx, "u.id = ?", u.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, Actor{User: out, Meta: m}, EvPasswordChange, &u.ID, "reset by e-mail link")
	})
	if err != nil {
		return nil, err
	}
	if err := s.forgetAccountFailures(ctx, out.ID); err != nil {
		s.log.ErrorContext(ctx, "forget failed sign-ins", "err", err)
	}
	s.invalidateStats()
	return out, nil
}

// CheckNewEmail validates an address the account wants to switch to
// before a confirmation is sent there: a valid address that no other
// account uses.
func (s *Service) CheckNewEmail(ctx context.Context, u *User, email string) error {
	email = normalize(email)
	c := checker{}
	if email == "" {
		c.add("email", "This field is required.")
	}
	c.check("email", email)
	if err := c.err(); err != nil {
		return err
	}
	other, err := s.GetByEmail(ctx, email)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return err
	case other.ID != u.ID:
		return &ConflictError{Field: "email", Message: "An account with this e-mail address already exists."}
	}
	alike, err := s.db.NewSelect().Model((*User)(nil)).
		Where("email_skeleton = ? AND id <> ?", *skeletonOf(&email), u.ID).Exists(ctx)
	if err != nil {
		return err
	}
	if alike {
		return conflictOr(errors.New("UNIQUE constraint failed: users.email_skeleton"))
	}
	return nil
}
