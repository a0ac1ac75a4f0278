package models

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// Session lifetimes.
const (
	SessionRememberFor = 30 * 24 * time.Hour // "remember me"
	SessionBrowserFor  = 7 * 24 * time.Hour  // a browser session is also capped on the server
	SessionPendingFor  = 10 * time.Minute    // to enter the second factor after the password
	// sessionCacheTTL bounds how long this process may answer a session
	// from memory. A session deleted on another server is announced
	// (TopicSessions, by the change hook on every delete of a session
	// row) and dropped here at once while Follow runs; the TTL is the
	// bound when the signal is missed. Deleting every session of an
	// account also moves its session version, which TopicAccounts carries.
	sessionCacheTTL = 15 * time.Second
)

// Sign-in methods: how a session's account proved who it is.
const (
	MethodPassword = "password"
	MethodPasskey  = "passkey"  // counts as two factors
	MethodLink     = "link"     // an e-mailed link (password reset)
	MethodSignup   = "signup"   // the account was just made
	MethodRenewed  = "renewed"  // the same person, after changing their password
	MethodOAuth    = "oauth"    // an identity provider
	MethodTOTP     = "totp"     // second factor: an authenticator code
	MethodRecovery = "recovery" // second factor: a recovery code
)

// Session is one signed-in browser, or a sign-in that passed its first
// factor and waits for the second (Pending). The browser's cookie holds a
// secret whose SHA-256 is Hash.
type Session struct {
	bun.BaseModel `bun:"table:sessions,alias:s"`

	ID             int64     `bun:"id,pk,autoincrement" json:"id"`
	Hash           string    `bun:"hash" json:"-"`
	UserID         int64     `bun:"user_id" json:"user_id"`
	Pending        bool      `bun:"pending" json:"-"`
	Remember       bool      `bun:"remember" json:"remember"`
	Method         string    `bun:"method" json:"method"`
	SessionVersion int64     `bun:"session_version" json:"-"`
	IP             string    `bun:"ip" json:"ip"`
	UserAgent      string    `bun:"user_agent" json:"user_agent"`
	CreatedAt      time.Time `bun:"created_at" json:"created_at"`
	LastSeenAt     time.Time `bun:"last_seen_at" json:"last_seen_at"`
	ExpiresAt      time.Time `bun:"expires_at" json:"expires_at"`
}

// SignIn says how a session is being made.
type SignIn struct {
	Method   string // MethodPassword, MethodPasskey, ...
	Remember bool   // "remember me": the session lasts SessionRememberFor
	// SecondFactor is the second factor the person just gave
	// (MethodTOTP, MethodRecovery), when this completes a pending sign-in.
	SecondFactor string
}

// twoFactors reports whether the sign-in already proved two factors, or
// needs none: a passkey is something you have and something you are or
// know; a new account has no second factor yet; a renewed session was
// already complete.
func (in SignIn) twoFactors() bool {
	switch {
	case in.SecondFactor != "":
		return true
	case in.Method == MethodPasskey, in.Method == MethodSignup, in.Method == MethodRenewed:
		return true
	}
	return false
}

// StartSession is the one way a sign-in ends, whatever proved the first
// factor (password, passkey, e-mailed link, identity provider): it makes
// a pending session when the account has two-factor on and the sign-in
// did not prove it yet, and a full one otherwise. It returns the secret
// for the cookie. A full session made by a sign-in is recorded as a login
// (Login records its own, for accounts without two-factor).
func (s *Service) StartSession(ctx context.Context, m Meta, u *User, in SignIn) (string, *Session, error) {
	token, err := newSessionToken()
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	sess := &Session{
		Hash:           hashToken(token),
		UserID:         u.ID,
		Pending:        u.MFAEnabled && !in.twoFactors(),
		Remember:       in.Remember,
		Method:         clip(in.Method, 16),
		SessionVersion: u.SessionVersion,
		IP:             clip(m.IP, 64),
		UserAgent:      clip(m.UserAgent, 500),
		CreatedAt:      now,
		LastSeenAt:     now,
	}
	switch {
	case sess.Pending:
		sess.ExpiresAt = now.Add(SessionPendingFor)
	case in.Remember:
		sess.ExpiresAt = now.Add(SessionRememberFor)
	default:
		sess.ExpiresAt = now.Add(SessionBrowserFor)
	}
	if _, err := s.db.NewInsert().Model(sess).Exec(ctx); err != nil {
		return "", nil, err
	}
	if !sess.Pending && (in.SecondFactor != "" || (in.Method != MethodPassword && in.Method != MethodSignup && in.Method != MethodRenewed)) {
		if err := s.recordLogin(ctx, m, u, in.Method, ""); err != nil {
			return "", nil, err
		}
	}
	s.sessions.put(sess, s.opts.Now())
	return token, sess, nil
}

func newSessionToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// SessionByToken finds the session whose cookie holds token: ErrNotFound
// when it never existed, ended or expired. Most calls are answered from
// memory; the session's last-seen time and address are written at most
// once per Options.PresenceEvery.
func (s *Service) SessionByToken(ctx context.Context, token string, m Meta) (*Session, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrNotFound
	}
	s.poll(ctx) // SQLite: other processes' sign-outs, when due
	hash := hashToken(token)
	now := s.opts.Now()
	sess := s.sessions.get(hash, now)
	if sess == nil {
		sess = new(Session)
		err := s.db.NewSelect().Model(sess).Where("s.hash = ?", hash).Limit(1).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		s.sessions.put(sess, now)
	}
	if !now.Before(sess.ExpiresAt) {
		s.sessions.forget(hash)
		return nil, ErrNotFound
	}
	if !sess.Pending && now.Sub(sess.LastSeenAt) >= s.opts.PresenceEvery {
		at := s.now()
		res, err := s.db.NewUpdate().Model((*Session)(nil)).Where("id = ?", sess.ID).
			Set("last_seen_at = ?", at).Set("ip = ?", clip(m.IP, 64)).Set("user_agent = ?", clip(m.UserAgent, 500)).
			Exec(ctx)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 { // ended by another process
			s.sessions.forget(hash)
			return nil, ErrNotFound
		}
		cp := *sess
		cp.LastSeenAt, cp.IP, cp.UserAgent = at, clip(m.IP, 64), clip(m.UserAgent, 500)
		s.sessions.put(&cp, now)
		sess = &cp
	}
	cp := *sess
	return &cp, nil
}

// EndSession deletes one session: a sign-out (by is the account signing
// out, and the sign-out is recorded), or an abandoned second factor.
func (s *Service) EndSession(ctx context.Context, by Actor, sess *Session) error {
	if sess == nil {
		return nil
	}
	if _, err := s.db.NewDelete().Model((*Session)(nil)).Where("id = ?", sess.ID).Exec(ctx); err != nil {
		return err
	}
	s.sessions.forget(sess.Hash)
	if !sess.Pending {
		s.RecordLogout(ctx, by)
	}
	return nil
}

// UserSessions lists an account's signed-in sessions, most recently seen
// first, to the account itself and to admins above it.
func (s *Service) UserSessions(ctx context.Context, by Actor, userID int64) ([]Session, error) {
	target, err := s.Get(ctx, userID)
	if err != nil {
		return nil, err
	}
	if err := Authorize(by.User, ActRevokeSessions, target); err != nil {
		return nil, err
	}
	items := []Session{}
	err = s.db.NewSelect().Model(&items).
		Where("s.user_id = ? AND s.pending = ? AND s.expires_at > ? AND s.session_version = ?", userID, false, s.now(), target.SessionVersion).
		OrderExpr("s.last_seen_at DESC, s.id DESC").Limit(MaxLimit).Scan(ctx)
	return items, err
}

// RevokeSession signs out one session of an account: its owner, or an
// admin above it. Revoking the session the request came with signs it out.
func (s *Service) RevokeSession(ctx context.Context, by Actor, userID, sessionID int64) error {
	target, err := s.Get(ctx, userID)
	if err != nil {
		return err
	}
	if err := Authorize(by.User, ActRevokeSessions, target); err != nil {
		return err
	}
	var hashes []string
	err = s.runInTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model((*Session)(nil)).Column("hash").
			Where("id = ? AND user_id = ?", sessionID, userID).Scan(ctx, &hashes); err != nil {
			return err
		}
		if len(hashes) == 0 {
			return ErrNotFound
		}
		if _, err := tx.NewDelete().Model((*Session)(nil)).Where("id = ?", sessionID).Exec(ctx); err != nil {
			return err
		}
		return s.record(ctx, tx, by, EvSessionRevoke, &userID, "session "+itoa(sessionID))
	})
	for _, h := range hashes {
		s.sessions.forget(h)
	}
	return err
}

// deleteSessions ends every session of the accounts inside tx (ban,
// delete, password change, sign out everywhere, their bulk forms); the
// caller has moved their session version, which ends them in every
// process's cache too.
func (s *Service) deleteSessions(ctx context.Context, db bun.IDB, userIDs ...int64) error {
	if _, err := db.NewDelete().Model((*Session)(nil)).Where("user_id IN (?)", bun.In(userIDs)).Exec(ctx); err != nil {
		return err
	}
	if _, err := db.NewDelete().Model((*Presence)(nil)).Where("user_id IN (?)", bun.In(userIDs)).Exec(ctx); err != nil {
		return err
	}
	s.sessions.forgetUsers(userIDs)
	return nil
}

// PruneSessions deletes expired sessions.
func (s *Service) PruneSessions(ctx context.Context) (int64, error) {
	res, err := s.db.NewDelete().Model((*Session)(nil)).Where("expires_at < ?", s.now()).Exec(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// sessionCache keeps recently used sessions in memory, so that a
// signed-in page costs no session query (see sessionCacheTTL for what
// other processes' changes take to show).
type sessionCache struct {
	mu      sync.RWMutex
	entries map[string]cachedSession // by hash
}

type cachedSession struct {
	s       *Session // never handed out: callers get copies
	expires time.Time
}

// maxCachedSessions bounds the cache; past it, an arbitrary entry goes.
const maxCachedSessions = 50000

func (c *sessionCache) get(hash string, now time.Time) *Session {
	c.mu.RLock()
	e, ok := c.entries[hash]
	c.mu.RUnlock()
	if !ok || now.After(e.expires) {
		return nil
	}
	return e.s
}

func (c *sessionCache) put(sess *Session, now time.Time) {
	cp := *sess
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cachedSession{}
	}
	if _, ok := c.entries[cp.Hash]; !ok && len(c.entries) >= maxCachedSessions {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[cp.Hash] = cachedSession{s: &cp, expires: now.Add(sessionCacheTTL)}
}

func (c *sessionCache) forget(hash string) {
	c.mu.Lock()
	delete(c.entries, hash)
	c.mu.Unlock()
}

func (c *sessionCache) forgetUsers(userIDs []int64) {
	gone := make(map[int64]bool, len(userIDs))
	for _, id := range userIDs {
		gone[id] = true
	}
	c.mu.Lock()
	for k, e := range c.entries {
		if gone[e.s.UserID] {
			delete(c.entries, k)
		}
	}
	c.mu.Unlock()
}

// ForgetCachedSessions empties this process's session cache: for a signal
// that another process ended sessions.
func (s *Service) ForgetCachedSessions() {
	s.sessions.mu.Lock()
	clear(s.sessions.entries)
	s.sessions.mu.Unlock()
}
