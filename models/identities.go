package models

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/migrations"
)

// Audit-log actions of linked identities. An identity sign-in is a login
// event ("with PROVIDER"), so the sign-in counts stay one number.
const (
	EvIdentityLink   = "identity.link"
	EvIdentityUnlink = "identity.unlink"
)

func init() {
	EventActions = append(EventActions, EvIdentityLink, EvIdentityUnlink)
}

// Identity links an account to a person at a sign-in provider. Provider
// and Subject (the provider's stable id for the person) find the account;
// Email, Name and Avatar are what the provider said last, for display.
type Identity struct {
	bun.BaseModel `bun:"table:identities,alias:i"`

	ID            int64      `bun:"id,pk,autoincrement"`
	UserID        int64      `bun:"user_id"`
	Provider      string     `bun:"provider"`
	Subject       string     `bun:"subject"`
	Email         string     `bun:"email"`
	EmailVerified bool       `bun:"email_verified"`
	Name          string     `bun:"name"`
	Avatar        string     `bun:"avatar"`
	LinkedAt      time.Time  `bun:"linked_at"`
	LastUsedAt    *time.Time `bun:"last_used_at"`
}

// ProviderProfile is what a provider says about the person who just signed
// in there: checked by the oauth package (ID token or provider API) before
// it reaches the service.
type ProviderProfile struct {
	Provider      string // the configured name: github, google, oidc…
	ProviderName  string // the label people see: "GitHub"
	Subject       string
	Email         string
	EmailVerified bool
	Username      string // preferred username (GitHub login, preferred_username)
	Name          string
	Avatar        string
}

// Typed answers of the identity operations, each with a page of its own.
var (
	// ErrIdentityUnknown: no account is linked to this identity yet.
	ErrIdentityUnknown = errors.New("identity not linked to an account")
	// ErrRegistrationClosed: the site makes no new accounts by itself.
	ErrRegistrationClosed = errors.New("registration is closed")
	// ErrAccountDeleted: the linked account was deleted.
	ErrAccountDeleted = errors.New("account deleted")
	// ErrEmailNeeded: REGISTRATION=confirm and the provider gave no
	// verified address, so the person must type one to confirm.
	ErrEmailNeeded = errors.New("an e-mail address to confirm is needed")
)

// EmailInUseError means an identity's e-mail belongs to an existing
// account. It is never linked silently: the person signs in to that
// account first and links the identity from there.
type EmailInUseError struct {
	Provider string
}

func (e *EmailInUseError) Error() string { return "e-mail address already used by an account" }

// Registration modes, as REGISTRATION names them.
const (
	RegistrationOpen    = "open"
	RegistrationConfirm = "confirm"
	RegistrationClosed  = "closed"
)

func (p *ProviderProfile) normalize() {
	p.Subject = strings.TrimSpace(p.Subject)
	p.Email = clip(strings.TrimSpace(p.Email), 254)
	if p.Email != "" && validate.Var(p.Email, rules["email"]) != nil {
		p.Email, p.EmailVerified = "", false // an address we can't use is no address
	}
	p.Name = clip(strings.TrimSpace(p.Name), 100)
	p.Avatar = strings.TrimSpace(p.Avatar)
	if p.Avatar != "" && validate.Var(p.Avatar, rules["avatar"]) != nil {
		p.Avatar = ""
	}
	if p.ProviderName == "" {
		p.ProviderName = p.Provider
	}
}

func (p *ProviderProfile) check() error {
	if p.Provider == "" || len(p.Provider) > 64 || p.Subject == "" || len(p.Subject) > 255 || !textOK(p.Subject) {
		return errors.New("provider profile without a usable subject")
	}
	return nil
}

// SignInWithIdentity finds the account linked to the identity, with the
// rules of a password sign-in (banned and unconfirmed accounts are told
// so, deleted ones refused), and notes the identity's use. The session
// made with IdentityMethod records the login (event, last_login_at,
// login_count), once the second factor is given when the account has one.
// ErrIdentityUnknown when no account is linked to it.
func (s *Service) SignInWithIdentity(ctx context.Context, m Meta, p ProviderProfile) (*User, error) {
	p.normalize()
	if err := p.check(); err != nil {
		return nil, err
	}
	id, err := s.identityBySubject(ctx, s.db, p.Provider, p.Subject)
	if err != nil {
		return nil, err
	}
	u, err := s.getBy(ctx, s.db, "u.id = ?", id.UserID)
	if err != nil {
		return nil, err
	}
	switch u.Type {
	case TypeDeleted:
		_ = s.record(ctx, s.db, Actor{Meta: m}, EvLoginFailed, &u.ID, "deleted, with "+p.Provider)
		return nil, ErrAccountDeleted
	case TypeBanned:
		_ = s.record(ctx, s.db, Actor{Meta: m}, EvLoginFailed, &u.ID, "banned, with "+p.Provider)
		return nil, &BannedError{Reason: u.BanReason}
	case TypeInactive:
		_ = s.record(ctx, s.db, Actor{Meta: m}, EvLoginFailed, &u.ID, "e-mail not confirmed, with "+p.Provider)
		return nil, &NotConfirmedError{UserID: u.ID}
	}
	if _, err := s.db.NewUpdate().Model((*Identity)(nil)).Where("id = ?", id.ID).
		Set("last_used_at = ?", s.now()).
		Set("email = ?", p.Email).Set("email_verified = ?", p.EmailVerified).
		Set("name = ?", p.Name).Set("avatar = ?", clip(p.Avatar, 500)).Exec(ctx); err != nil {
		return nil, err
	}
	return u, nil
}

// IdentityMethod is the sign-in method of a session made through a
// provider (sessions.go): "oauth:NAME". It is a first factor only, so an
// account with two-factor on still gives its code.
func IdentityMethod(provider string) string { return MethodOAuth + ":" + provider }

// SignUpWithIdentity makes an account for an identity no account is
// linked to, following the registration mode: closed refuses
// (ErrRegistrationClosed); a verified address from the provider is taken
// as confirmed; in confirm mode without one the person must type an
// address (email, ErrEmailNeeded while empty) and the account stays
// Inactive until it is confirmed; in open mode the provider's unverified
// address (or the typed one) is kept unconfirmed. An address that belongs
// to an account already is refused with EmailInUseError, never linked.
// The username comes from the provider's preferred name, made valid and
// unique. The account has no password: the identity is how it signs in.
func (s *Service) SignUpWithIdentity(ctx context.Context, m Meta, p ProviderProfile, mode, email string) (*User, error) {
	p.normalize()
	if err := p.check(); err != nil {
		return nil, err
	}
	if mode == RegistrationClosed {
		return nil, ErrRegistrationClosed
	}
	email = normalize(email)
	verified := p.EmailVerified && p.Email != ""
	switch {
	case verified:
		email = p.Email
	case email != "":
		if err := validate.Var(email, rules["email"]); err != nil || !textOK(email) {
			return nil, fieldError("email", "Enter a valid e-mail address.")
		}
	case mode == RegistrationConfirm:
		return nil, ErrEmailNeeded
	default:
		email = p.Email
	}
	if email != "" {
		if taken, err := s.db.NewSelect().Model((*User)(nil)).Where(byEmail, email).Exists(ctx); err != nil {
			return nil, err
		} else if taken {
			return nil, &EmailInUseError{Provider: p.ProviderName}
		}
	}
	typ := TypeActive
	if mode == RegistrationConfirm && !verified {
		typ = TypeInactive
	}
	var u *User
	err := s.runInTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := s.identityBySubject(ctx, tx, p.Provider, p.Subject); err == nil {
			return &ConflictError{Field: "identity", Message: "This " + p.ProviderName + " account is already linked to an account here."}
		} else if !errors.Is(err, ErrIdentityUnknown) {
			return err
		}
		username, err := s.freeUsername(ctx, tx, p.Username, p.Name, email)
		if err != nil {
			return err
		}
		now := s.now()
		u = &User{Username: username, Name: p.Name, Level: s.opts.DefaultLevel, Type: typ,
			Avatar: clip(p.Avatar, 500), Var: map[string]any{}, SessionVersion: 1, CreatedAt: now, UpdatedAt: now}
		if email != "" {
			u.Email = ptr(email)
		}
		if verified {
			u.EmailVerifiedAt = &now
		}
		if _, err := tx.NewInsert().Model(u).Returning("id").Exec(ctx); err != nil {
			return conflictOr(err)
		}
		if _, err := s.linkIn(ctx, tx, u, p); err != nil {
			return err
		}
		by := Actor{User: u, Meta: m}
		if err := s.record(ctx, tx, by, EvSignup, &u.ID, "with "+p.Provider); err != nil {
			return err
		}
		return s.record(ctx, tx, by, EvIdentityLink, &u.ID, identityDetail(p.Provider, p.Email))
	})
	if err != nil {
		var ce *ConflictError
		if errors.As(err, &ce) && ce.Field == "email" {
			return nil, &EmailInUseError{Provider: p.ProviderName}
		}
		return nil, err
	}
	s.accountMoved(nil, cellOf(u))
	return u, nil
}

// LinkIdentity links the identity to the signed-in account. An identity
// linked to another account, or a second one of the same provider, is a
// ConflictError; the account's own identity is refreshed.
func (s *Service) LinkIdentity(ctx context.Context, by Actor, p ProviderProfile) (*Identity, error) {
	if by.User == nil {
		return nil, denied("sign in first")
	}
	p.normalize()
	if err := p.check(); err != nil {
		return nil, err
	}
	var out *Identity
	err := s.runInTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := s.lockUser(ctx, tx, by.User.ID)
		if err != nil {
			return err
		}
		if u.Type != TypeActive {
			return denied("your account is not active")
		}
		existing, err := s.identityBySubject(ctx, tx, p.Provider, p.Subject)
		switch {
		case err == nil && existing.UserID == u.ID:
			out = existing
			_, err = tx.NewUpdate().Model((*Identity)(nil)).Where("id = ?", existing.ID).
				Set("last_used_at = ?", s.now()).
				Set("email = ?", p.Email).Set("email_verified = ?", p.EmailVerified).
				Set("name = ?", p.Name).Set("avatar = ?", clip(p.Avatar, 500)).Exec(ctx)
			return err
		case err == nil:
			return &ConflictError{Field: "identity",
				Message: "This " + p.ProviderName + " account is already linked to another account here."}
		case !errors.Is(err, ErrIdentityUnknown):
			return err
		}
		same, err := tx.NewSelect().Model((*Identity)(nil)).
			Where("user_id = ? AND provider = ?", u.ID, p.Provider).Exists(ctx)
		if err != nil {
			return err
		}
		if same {
			return &ConflictError{Field: "identity",
				Message: "Your account is linked to another " + p.ProviderName + " account already. Unlink it first."}
		}
		if out, err = s.linkIn(ctx, tx, u, p); err != nil {
			return err
		}
		return s.record(ctx, tx, by, EvIdentityLink, &u.ID, identityDetail(p.Provider, p.Email))
	})
	return out, err
}

// Identities lists an account's linked identities, oldest first: the
// account itself and staff may look. Addresses are blanked for viewers
// who may not see the account's e-mail.
func (s *Service) Identities(ctx context.Context, by Actor, userID int64) ([]Identity, error) {
	if by.User != nil && by.User.ID != userID && !by.User.IsStaff() {
		return nil, denied("you can see only your own sign-in methods")
	}
	target, err := s.getBy(ctx, s.db, "u.id = ?", userID)
	if err != nil {
		return nil, err
	}
	var out []Identity
	if err := s.db.NewSelect().Model(&out).Where("user_id = ?", userID).Order("id").Scan(ctx); err != nil {
		return nil, err
	}
	if by.User != nil && !CanSeeEmail(by.User, target) {
		for i := range out {
			out[i].Email = ""
		}
	}
	return out, nil
}

// UnlinkIdentity removes one of an account's identities: the account
// itself, or an admin on an account below their own level. The last way to
// sign in (no password, passkey or other identity) is never removed.
func (s *Service) UnlinkIdentity(ctx context.Context, by Actor, userID, identityID int64) error {
	return s.runInTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := s.lockUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		if by.User != nil && by.User.ID != u.ID {
			if err := Authorize(by.User, ActEdit, u); err != nil {
				return err
			}
		}
		id := new(Identity)
		if err := s.removeWayIn(ctx, tx, u, id, identityID, func(w *waysIn) { w.identities-- }); err != nil {
			return err
		}
		return s.record(ctx, tx, by, EvIdentityUnlink, &userID, identityDetail(id.Provider, id.Email))
	})
}

// HasPassword reports whether the account can sign in with a password
// (an account made through a provider has none until it sets one).
func (u *User) HasPassword() bool { return u.PasswordHash != "" }

func (s *Service) identityBySubject(ctx context.Context, db bun.IDB, provider, subject string) (*Identity, error) {
	id := new(Identity)
	err := db.NewSelect().Model(id).Where("provider = ? AND subject = ?", provider, subject).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrIdentityUnknown
	}
	if err != nil {
		return nil, err
	}
	return id, nil
}

func (s *Service) linkIn(ctx context.Context, tx bun.IDB, u *User, p ProviderProfile) (*Identity, error) {
	now := s.now()
	id := &Identity{UserID: u.ID, Provider: p.Provider, Subject: p.Subject, Email: p.Email,
		EmailVerified: p.EmailVerified, Name: p.Name, Avatar: clip(p.Avatar, 500), LinkedAt: now, LastUsedAt: &now}
	if _, err := tx.NewInsert().Model(id).Returning("id").Exec(ctx); err != nil {
		if ce, ok := conflictOr(err).(*ConflictError); ok {
			ce.Field, ce.Message = "identity", "This "+p.ProviderName+" account is already linked to an account here."
			return nil, ce
		}
		return nil, err
	}
	return id, nil
}

func identityDetail(provider, email string) string {
	if email == "" {
		return provider
	}
	return provider + " " + email
}

// freeUsername makes a valid username nobody has from what the provider
// said: the preferred username, else the name, else the e-mail's local
// part, else "member"; a number is added until it is free.
func (s *Service) freeUsername(ctx context.Context, db bun.IDB, candidates ...string) (string, error) {
	base := ""
	for _, c := range candidates {
		if i := strings.IndexByte(c, '@'); i > 0 {
			c = c[:i]
		}
		if base = usernameFrom(c); base != "" {
			break
		}
	}
	if base == "" {
		base = "member"
	}
	for n := 1; n <= 30; n++ {
		name := base
		if n > 1 {
			suffix := fmt.Sprint(n)
			if n > 20 { // a crowded name: a random number, not a long walk
				r, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
				suffix = fmt.Sprint(r.Int64() + 1000)
			}
			name = truncateASCII(base, 30-len(suffix)) + suffix
		}
		if reservedUsername(name) {
			continue
		}
		// Taken in any case, or by a look-alike (the skeleton's unique index).
		taken, err := db.NewSelect().Model((*User)(nil)).
			Where("lower(u.username) = lower(?) OR u.username_skeleton = ?", name, migrations.Skeleton(name)).Exists(ctx)
		if err != nil {
			return "", err
		}
		if !taken {
			return name, nil
		}
	}
	return "", &ConflictError{Field: "username", Message: "No free username could be made; try again."}
}

// usernameFrom keeps the characters a username may hold (SPEC §1): spaces
// become "_", other characters go; it starts with a letter or digit, is
// 3–30 long and not all digits, or "" when nothing usable is left.
func usernameFrom(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
			b.WriteRune(r)
		case r == '_' || r == '.' || r == '-':
			if b.Len() > 0 {
				b.WriteRune(r)
			}
		case r == ' ':
			if b.Len() > 0 {
				b.WriteByte('_')
			}
		}
	}
	out := strings.TrimRight(truncateASCII(b.String(), 30), "_.-")
	if out == "" {
		return ""
	}
	if allDigits.MatchString(out) {
		out = truncateASCII("member"+out, 30)
	}
	for len(out) < 3 {
		out += "0"
	}
	return out
}

func truncateASCII(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
