package models

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// Login signs an account in by username or e-mail (any case) and password.
// It records the login (event, last_login_at, login_count), or the failed
// attempt. Wrong password, unknown and deleted accounts all answer
// ErrInvalidCredentials after the same work; a banned or unconfirmed
// account is told so only once its password was right. Repeated failures
// lock the account for a while (LockedError).
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
		s.hasher.Burn(ctx, password)
		_ = s.record(ctx, s.db, Actor{Meta: m}, EvLoginFailed, nil, "unknown login")
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, err
	}
	if err := s.signInLocked(u); err != nil {
		s.hasher.Burn(ctx, password)
		return nil, err
	}
	ok, rehash, err := s.hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil && !errors.Is(err, errBadPHC) {
		return nil, err
	}
	if !ok || u.Type == TypeDeleted {
		return nil, s.signInFailed(ctx, m, u, "wrong password")
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
	s.locks.reset(u.ID)
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

// signInLocked answers a LockedError while the account may not try to
// sign in (password or second factor) after repeated failures.
func (s *Service) signInLocked(u *User) error {
	if wait := s.locks.lockedFor(u.ID, s.opts.Now()); wait > 0 {
		return &LockedError{RetryAfter: wait}
	}
	return nil
}

// signInFailed counts one failed sign-in on the account, a wrong password
// or a wrong second-factor code alike, and records it: ErrInvalidCredentials,
// or a LockedError once the failures lock the account.
func (s *Service) signInFailed(ctx context.Context, m Meta, u *User, why string) error {
	_ = s.record(ctx, s.db, Actor{Meta: m}, EvLoginFailed, &u.ID, why)
	if s.locks.fail(u.ID, s.opts.Now(), s.opts.LockAfter, s.opts.LockFor) {
		_ = s.record(ctx, s.db, Actor{Meta: m}, EvLoginLocked, &u.ID,
			"locked for "+s.opts.LockFor.String()+" after repeated failures")
		return &LockedError{RetryAfter: s.opts.LockFor}
	}
	return ErrInvalidCredentials
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
	if err := c.err(); err != nil {
		return nil, err
	}
	if u.HasPassword() {
		ok, _, err := s.hasher.Verify(ctx, u.PasswordHash, current)
		if err != nil && !errors.Is(err, errBadPHC) {
			return nil, err
		}
		if !ok {
			return nil, fieldError("current_password", "The current password is not right.")
		}
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return nil, err
	}
	if err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
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
	if err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
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
	s.locks.reset(id)
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
		q.Set("email = ?", p.Email).Set("email_verified_at = NULL")
		changed = append(changed, "email")
	}
	if len(changed) == 0 {
		return u, nil
	}
	if _, err := q.Exec(ctx); err != nil {
		return nil, conflictOr(err)
	}
	_ = s.record(ctx, s.db, by, EvProfile, &u.ID, strings.Join(changed, ", "))
	return s.Get(ctx, u.ID)
}

// lockout counts failed sign-ins per account in memory.
type lockout struct {
	mu    sync.Mutex
	fails map[int64]*failures
}

type failures struct {
	n           int
	first       time.Time
	lockedUntil time.Time
}

func (l *lockout) lockedFor(id int64, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.fails[id]
	if f == nil || !now.Before(f.lockedUntil) {
		return 0
	}
	return f.lockedUntil.Sub(now)
}

// fail counts one failure and reports whether it locked the account.
func (l *lockout) fail(id int64, now time.Time, after int, lockFor time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > 100000 { // bound memory under a spray attack
		for k, f := range l.fails {
			if now.Sub(f.first) > lockFor && now.After(f.lockedUntil) {
				delete(l.fails, k)
			}
		}
	}
	f := l.fails[id]
	if f == nil || now.Sub(f.first) > lockFor {
		f = &failures{first: now}
		l.fails[id] = f
	}
	f.n++
	if f.n >= after {
		f.lockedUntil = now.Add(lockFor)
		f.n, f.first = 0, now
		return true
	}
	return false
}

func (l *lockout) reset(id int64) {
	l.mu.Lock()
	delete(l.fails, id)
	l.mu.Unlock()
}
