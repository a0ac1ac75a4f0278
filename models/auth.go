package models

import (
	"context"
	"errors"
	"strings"

	"github.com/uptrace/bun"
)

// Login signs an account in by username or e-mail (any case) and password.
// It records the login (event, last_login_at, login_count), or the failed
// attempt. Wrong password, unknown and deleted accounts all answer
// ErrInvalidCredentials after the same work; a banned or unconfirmed
// account is told so only once its password was right. Repeated failures
// lock the account from that address, or the address (LockedError); see
// guessPassword.
func (s *Service) Login(ctx context.Context, m Meta, login, password string) (*User, error) {
	login = strings.TrimSpace(login)
	if login == "" || password == "" || len(password) > MaxPasswordLen {
		s.hasher.Burn(ctx, password)
		return nil, ErrInvalidCredentials
	}
	where := "lower(u.username) = lower(?)"
	if strings.Contains(login, "@") {
		where = byEmail
	}
	u, err := s.getBy(ctx, s.db, where, login)
	if errors.Is(err, ErrNotFound) {
		u, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	rehash, err := s.guessPassword(ctx, m, login, u, password)
	if err != nil {
		return nil, err
	}
	switch u.Type {
	case TypeBanned:
		_ = s.record(ctx, s.db, Actor{Meta: m}, EvLoginFailed, &u.ID, "banned")
		return nil, &BannedError{Reason: u.BanReason}
	case TypeInactive:
		_ = s.record(ctx, s.db, Actor{Meta: m}, EvLoginFailed, &u.ID, "e-mail not confirmed")
		return nil, &NotConfirmedError{UserID: u.ID}
	}
	newHash := ""
	if rehash {
		if h, err := s.hasher.Hash(ctx, password); err == nil {
			newHash = h
		}
	}
	if u.MFAEnabled {
		// Only half way: the login is recorded, and the failures
		// forgotten, once the second factor is right too.
		if newHash != "" {
			_, _ = s.db.NewUpdate().Model((*User)(nil)).Where("id = ?", u.ID).Set("password_hash = ?", newHash).Exec(ctx)
		}
		return nil, &SecondFactorError{User: u}
	}
	if err := s.ClearFailures(ctx, Guess{AccountID: u.ID, IP: m.IP}); err != nil {
		return nil, err
	}
	if err := s.recordLogin(ctx, m, u, MethodPassword, newHash); err != nil {
		return nil, err
	}
	return u, nil
}

// recordLogin writes a completed sign-in: last_login_at, login_count, the
// address, the event (and a rehashed password, when newHash is set).
func (s *Service) recordLogin(ctx context.Context, m Meta, u *User, method, newHash string) error {
	now := s.now()
	q := s.db.NewUpdate().Model((*User)(nil)).Where("id = ?", u.ID).
		Set("last_login_at = ?", now).
		Set("login_count = login_count + 1").
		Set("last_login_ip = ?", clip(m.IP, 64)).
		Set("last_login_ua = ?", clip(m.UserAgent, 500))
	if newHash != "" {
		q.Set("password_hash = ?", newHash)
	}
	if _, err := q.Exec(ctx); err != nil {
		return err
	}
	u.LastLoginAt = &now
	u.LoginCount++
	u.LastLoginIP, u.LastLoginUA = clip(m.IP, 64), clip(m.UserAgent, 500)
	detail := ""
	if method != MethodPassword {
		detail = "with " + method
	}
	_ = s.record(ctx, s.db, Actor{User: u, Meta: m}, EvLogin, &u.ID, detail)
	return nil
}

// signInLocked answers a LockedError while the account may not be
// guessed at (password or second factor) from m's address: see CheckGuess.
func (s *Service) signInLocked(ctx context.Context, m Meta, u *User) error {
	return s.CheckGuess(ctx, Guess{AccountID: u.ID, IP: m.IP})
}

// signInFailed counts one failed sign-in on the account, a wrong password
// or a wrong second-factor code alike, and records it: ErrInvalidCredentials,
// or a LockedError once the failures lock it (see CountFailure).
func (s *Service) signInFailed(ctx context.Context, m Meta, u *User, why string) error {
	_ = s.record(ctx, s.db, Actor{Meta: m}, EvLoginFailed, &u.ID, why)
	if err := s.CountFailure(ctx, m, Guess{AccountID: u.ID, IP: m.IP}); err != nil {
		return err
	}
	return ErrInvalidCredentials
}

// guessPassword checks a password typed at sign-in against u (nil when the
// login names no account) under the throttling rules of throttle.go:
// refused unchecked while the account is locked from this address or the
// address is locked, and counted when wrong (the failures are forgotten
// with ClearFailures once the whole sign-in, second factor included, is
// right). Unknown and deleted accounts go the same way as wrong passwords,
// so that locks tell nothing about which accounts exist.
func (s *Service) guessPassword(ctx context.Context, m Meta, login string, u *User, password string) (rehash bool, err error) {
	g := Guess{Login: login, IP: m.IP}
	if u != nil {
		g.AccountID = u.ID
	}
	if err := s.CheckGuess(ctx, g); err != nil {
		s.hasher.Burn(ctx, password)
		return false, err
	}
	ok := false
	if u == nil {
		s.hasher.Burn(ctx, password)
	} else if ok, rehash, err = s.hasher.Verify(ctx, u.PasswordHash, password); err != nil && !errors.Is(err, errBadPHC) {
		return false, err
	}
	if !ok || u.Type == TypeDeleted {
		var target *int64
		detail := "unknown login"
		if u != nil {
			target, detail = &u.ID, "wrong password"
		}
		_ = s.record(ctx, s.db, Actor{Meta: m}, EvLoginFailed, target, detail)
		if err := s.CountFailure(ctx, m, g); err != nil {
			return false, err
		}
		return false, ErrInvalidCredentials
	}
	// Right, but wrong guesses checked at the same moment may have locked
	// the account from here meanwhile: the lock wins.
	if wait, err := s.lockedNow(ctx, g); err != nil || wait > 0 {
		if err == nil {
			err = &LockedError{RetryAfter: wait}
		}
		return false, err
	}
	return rehash, nil
}

// RecordLogout writes the sign-out event.
func (s *Service) RecordLogout(ctx context.Context, by Actor) {
	if by.User != nil {
		_ = s.record(ctx, s.db, by, EvLogout, &by.User.ID, "")
	}
}

// ChangePassword changes the signed-in account's own password after
// checking the current one (an account made through a sign-in provider
// has none, and sets its first without); every session of the account ends.
func (s *Service) ChangePassword(ctx context.Context, by Actor, current, next string) (*User, error) {
	if by.User == nil {
		return nil, denied("sign in first")
	}
	u, err := s.Get(ctx, by.User.ID)
	if err != nil {
		return nil, err
	}
	c := checker{}
	if current == "" && u.HasPassword() { // an account made by a provider sets its first one
		c.add("current_password", "Enter your current password.")
	}
	c.check("password", next)
	// The current password is guessed like a sign-in: a stolen session
	// must not become unlimited tries at the password. It is checked even
	// when the new one is refused, so that the form says everything that
	// is wrong at once.
	g := Guess{AccountID: u.ID, IP: by.IP}
	if u.HasPassword() && current != "" {
		if err := s.CheckGuess(ctx, g); err != nil {
			return nil, err
		}
		ok, _, err := s.hasher.Verify(ctx, u.PasswordHash, current)
		if err != nil && !errors.Is(err, errBadPHC) {
			return nil, err
		}
		if !ok {
			_ = s.record(ctx, s.db, by, EvLoginFailed, &u.ID, "wrong current password")
			if err := s.CountFailure(ctx, by.Meta, g); err != nil {
				return nil, err
			}
			c.add("current_password", "The current password is not right.")
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := s.ClearFailures(ctx, g); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return nil, err
	}
	if err := s.runInTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*User)(nil)).Where("id = ?", u.ID).
			Set("password_hash = ?", hash).
			Set("session_version = session_version + 1").
			Set("updated_at = ?", s.now()).Exec(ctx); err != nil {
			return err
		}
		return s.deleteSessions(ctx, tx, u.ID)
	}); err != nil {
		return nil, err
	}
	_ = s.record(ctx, s.db, by, EvPasswordChange, &u.ID, "")
	return s.Get(ctx, u.ID)
}

// ResetPassword sets a new password without the old one (the e-mail reset
// flow has proved ownership); every session of the account ends.
func (s *Service) ResetPassword(ctx context.Context, m Meta, id int64, next string) (*User, error) {
	c := checker{}
	c.check("password", next)
	if err := c.err(); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return nil, err
	}
	if err := s.runInTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*User)(nil)).Where("id = ?", id).
			Set("password_hash = ?", hash).
			Set("session_version = session_version + 1").
			Set("updated_at = ?", s.now()).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return s.deleteSessions(ctx, tx, id)
	}); err != nil {
		return nil, err
	}
	if err := s.forgetAccountFailures(ctx, id); err != nil {
		s.log.ErrorContext(ctx, "forget failed sign-ins", "err", err)
	}
	_ = s.record(ctx, s.db, Actor{Meta: m}, EvPasswordChange, &id, "reset by e-mail link")
	return s.Get(ctx, id)
}

// ProfilePatch is what people change about themselves in settings.
type ProfilePatch struct {
	Name   string
	Email  string
	Avatar string
}

// UpdateProfile changes the signed-in account's name, e-mail and avatar.
// A changed e-mail address is no longer confirmed.
func (s *Service) UpdateProfile(ctx context.Context, by Actor, p ProfilePatch) (*User, error) {
	if by.User == nil {
		return nil, denied("sign in first")
	}
	p.Name, p.Email, p.Avatar = normalize(p.Name), normalize(p.Email), normalize(p.Avatar)
	c := checker{}
	c.check("name", p.Name)
	c.check("email", p.Email)
	c.check("avatar", p.Avatar)
	if p.Email == "" && by.User.Email != nil {
		c.add("email", "This field is required.")
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	u, err := s.Get(ctx, by.User.ID)
	if err != nil {
		return nil, err
	}
	q := s.db.NewUpdate().Model((*User)(nil)).Where("id = ?", u.ID).
		Set("name = ?", p.Name).Set("avatar = ?", p.Avatar).Set("updated_at = ?", s.now())
	var changed []string
	if p.Name != u.Name {
		changed = append(changed, "name")
	}
	if p.Avatar != u.Avatar {
		changed = append(changed, "avatar")
	}
	if p.Email != u.EmailAddress() {
		q.Set("email = ?", p.Email).Set("email_skeleton = ?", skeletonOf(&p.Email)).Set("email_verified_at = NULL")
		changed = append(changed, "email")
	}
	if len(changed) == 0 {
		return u, nil
	}
	if _, err := q.Exec(ctx); err != nil {
		return nil, s.takenOrAlike(ctx, conflictOr(err), nil, &p.Email)
	}
	_ = s.record(ctx, s.db, by, EvProfile, &u.ID, strings.Join(changed, ", "))
	return s.Get(ctx, u.ID)
}
