package models

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Throttling of guesses (docs/throttling.md). Only failures are counted,
// in the failure_counters table that every instance shares, under keys:
//
//	pair:SUBJECT|ADDRESS  one account (or unknown login) from one address: locks after LockAfter
//	addr:ADDRESS          every login from one address: locks after AddressFailures
//	acct:SUBJECT          one account from everywhere: past AccountCeiling, new addresses slow down
//	slow:SUBJECT          the slow lane's next free turn
//	known:ID|ADDRESS      an address the account signed in from (90 days)
//	signup:ADDRESS        failed registrations from one address
//
// SUBJECT is "u" and the account id, or "l" and a hash of an unknown login
// as typed (lower-cased), so that unknown logins lock exactly like known
// ones and the lock tells nothing about which accounts exist.

// Guess is one try at an account's secret (a password, a two-factor code):
// which account, or the login as typed when it names none, and from where.
type Guess struct {
	AccountID int64  // 0 when the login names no account
	Login     string // as typed; used only when AccountID is 0
	IP        string
}

func (g Guess) subject() string {
	if g.AccountID != 0 {
		return "u" + strconv.FormatInt(g.AccountID, 10)
	}
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(g.Login))))
	return "l" + hex.EncodeToString(sum[:12])
}

func (g Guess) pairKey() string { return "pair:" + g.subject() + "|" + clip(g.IP, 64) }
func addrKey(ip string) string  { return "addr:" + clip(ip, 64) }
func (g Guess) acctKey() string { return "acct:" + g.subject() }
func (g Guess) slowKey() string { return "slow:" + g.subject() }
func knownKey(id int64, ip string) string {
	return "known:" + strconv.FormatInt(id, 10) + "|" + clip(ip, 64)
}

// knownFor is how long an address an account signed in from stays known.
const knownFor = 90 * 24 * time.Hour

// rule is how many failures a counter takes within window before it
// locks, and for how long.
type rule struct {
	limit   int
	window  time.Duration
	lockFor time.Duration
}

func (s *Service) pairRule() rule {
	return rule{limit: s.opts.LockAfter, window: s.opts.LockFor, lockFor: s.opts.LockFor}
}

func (s *Service) addrRule() rule {
	return rule{limit: s.opts.AddressFailures, window: s.opts.LockFor, lockFor: s.opts.LockFor}
}

func (s *Service) acctRule() rule {
	return rule{limit: s.opts.AccountCeiling, window: s.opts.CeilingWindow, lockFor: s.opts.CeilingWindow}
}

func (s *Service) signupRule() rule {
	return rule{limit: s.opts.SignupFailures, window: time.Hour, lockFor: time.Hour}
}

func millis(t time.Time) int64 { return t.UnixMilli() }

// counter is one row of failure_counters.
type counter struct {
	bun.BaseModel `bun:"table:failure_counters"`

	Key       string `bun:"key,pk"`
	Hits      int    `bun:"hits"`
	ExpiresAt int64  `bun:"expires_at"`
}

// lockedFor says how long the counter still locks under r (0: not locked).
func (c counter) lockedFor(r rule, now time.Time) time.Duration {
	if c.Hits < r.limit || c.ExpiresAt <= millis(now) {
		return 0
	}
	return time.Duration(c.ExpiresAt-millis(now)) * time.Millisecond
}

// counters reads the rows of keys that are present.
func (s *Service) counters(ctx context.Context, keys ...string) (map[string]counter, error) {
	var rows []counter
	if err := s.db.NewSelect().Model(&rows).Where("key IN (?)", bun.In(keys)).Scan(ctx); err != nil {
		return nil, err
	}
	m := make(map[string]counter, len(rows))
	for _, r := range rows {
		m[r.Key] = r
	}
	return m, nil
}

// fail counts one failure under key atomically and returns the count and
// how long it now locks. Once the count reaches r.limit the lock lasts
// r.lockFor from this failure; after expiry the count starts again.
func (s *Service) fail(ctx context.Context, key string, r rule) (int, time.Duration, error) {
	now := millis(s.opts.Now())
	first := now + r.window.Milliseconds()
	if r.limit <= 1 {
		first = now + r.lockFor.Milliseconds()
	}
	var c counter
	err := s.db.NewRaw(`INSERT INTO failure_counters (key, hits, expires_at) VALUES (?, 1, ?)
		ON CONFLICT (key) DO UPDATE SET
			hits = CASE WHEN failure_counters.expires_at <= ? THEN 1 ELSE failure_counters.hits + 1 END,
			expires_at = CASE
				WHEN failure_counters.expires_at <= ? THEN excluded.expires_at
				WHEN failure_counters.hits + 1 >= ? THEN ?
				ELSE failure_counters.expires_at END
		RETURNING key, hits, expires_at`,
		key, first, now, now, r.limit, now+r.lockFor.Milliseconds()).Scan(ctx, &c)
	if err != nil {
		return 0, 0, err
	}
	return c.Hits, c.lockedFor(r, s.opts.Now()), nil
}

// forget deletes counters.
func (s *Service) forget(ctx context.Context, keys ...string) error {
	_, err := s.db.NewDelete().Model((*counter)(nil)).Where("key IN (?)", bun.In(keys)).Exec(ctx)
	return err
}

// CheckGuess says whether a guess may be checked at all: a *LockedError
// when its account (or unknown login) is locked from this address, when
// the address is locked, or when the account is past its ceiling and
// this address has to wait for its turn in the slow lane. Call it before
// checking the secret, CountFailure after a wrong one, and ClearFailures
// after a right one.
func (s *Service) CheckGuess(ctx context.Context, g Guess) error {
	now := s.opts.Now()
	keys := []string{g.pairKey(), addrKey(g.IP), g.acctKey()}
	if g.AccountID != 0 {
		keys = append(keys, knownKey(g.AccountID, g.IP))
	}
	cs, err := s.counters(ctx, keys...)
	if err != nil {
		return err
	}
	if wait := s.locksOf(cs, g, now); wait > 0 {
		return &LockedError{RetryAfter: wait}
	}
	if cs[g.acctKey()].lockedFor(s.acctRule(), now) == 0 {
		return nil
	}
	// Past the ceiling: an address the account signed in from before goes
	// on as usual; any other takes turns, one guess per SlowEvery.
	if g.AccountID != 0 && cs[knownKey(g.AccountID, g.IP)].ExpiresAt > millis(now) {
		return nil
	}
	return s.takeTurn(ctx, g.slowKey())
}

// locksOf is how long the pair or address lock of g still lasts.
func (s *Service) locksOf(cs map[string]counter, g Guess, now time.Time) time.Duration {
	return max(cs[g.pairKey()].lockedFor(s.pairRule(), now), cs[addrKey(g.IP)].lockedFor(s.addrRule(), now))
}

// lockedNow reads the pair and address locks of g afresh.
func (s *Service) lockedNow(ctx context.Context, g Guess) (time.Duration, error) {
	cs, err := s.counters(ctx, g.pairKey(), addrKey(g.IP))
	if err != nil {
		return 0, err
	}
	return s.locksOf(cs, g, s.opts.Now()), nil
}

// takeTurn admits one guess per SlowEvery under key, atomically across
// instances; the others wait for the next turn.
func (s *Service) takeTurn(ctx context.Context, key string) error {
	now := s.opts.Now()
	next := millis(now) + s.opts.SlowEvery.Milliseconds()
	var c counter
	err := s.db.NewRaw(`INSERT INTO failure_counters (key, hits, expires_at) VALUES (?, 1, ?)
		ON CONFLICT (key) DO UPDATE SET hits = failure_counters.hits + 1, expires_at = excluded.expires_at
		WHERE failure_counters.expires_at <= ?
		RETURNING key, hits, expires_at`, key, next, millis(now)).Scan(ctx, &c)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	cs, err := s.counters(ctx, key)
	if err != nil {
		return err
	}
	wait := time.Duration(cs[key].ExpiresAt-millis(now)) * time.Millisecond
	return &LockedError{RetryAfter: max(wait, time.Second)}
}

// CountFailure counts a wrong secret (password, two-factor code, current
// password) for the guess: per account and address, per address, and per
// account everywhere. It returns a *LockedError when this failure locked
// the account from this address or the address itself (and writes the
// login.locked event), else nil.
func (s *Service) CountFailure(ctx context.Context, m Meta, g Guess) error {
	_, pairWait, err := s.fail(ctx, g.pairKey(), s.pairRule())
	if err != nil {
		return err
	}
	_, addrWait, err := s.fail(ctx, addrKey(g.IP), s.addrRule())
	if err != nil {
		return err
	}
	if _, _, err := s.fail(ctx, g.acctKey(), s.acctRule()); err != nil {
		return err
	}
	wait := max(pairWait, addrWait)
	if wait == 0 {
		return nil
	}
	var target *int64
	if g.AccountID != 0 {
		target = &g.AccountID
	}
	why := "this account from " + clip(g.IP, 64)
	if addrWait > 0 {
		why = "every account from " + clip(g.IP, 64)
	}
	_ = s.record(ctx, s.db, Actor{Meta: m}, EvLoginLocked, target,
		why+" locked for "+wait.Round(time.Second).String()+" after repeated failures")
	return &LockedError{RetryAfter: wait}
}

// ClearFailures forgets the failures of the account from this address
// after a right secret, and remembers the address as one the account
// signs in from. The per-address and per-account counts stay: a success
// on one account must not buy an attacker more guesses on others.
func (s *Service) ClearFailures(ctx context.Context, g Guess) error {
	if err := s.forget(ctx, g.pairKey()); err != nil {
		return err
	}
	if g.AccountID == 0 {
		return nil
	}
	until := millis(s.opts.Now().Add(knownFor))
	_, err := s.db.NewRaw(`INSERT INTO failure_counters (key, hits, expires_at) VALUES (?, 1, ?)
		ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at`, knownKey(g.AccountID, g.IP), until).Exec(ctx)
	return err
}

// forgetAccountFailures drops every lock of one account (its password was
// reset by e-mail: whoever holds the mailbox is the owner).
func (s *Service) forgetAccountFailures(ctx context.Context, id int64) error {
	sub := Guess{AccountID: id}.subject()
	_, err := s.db.NewDelete().Model((*counter)(nil)).
		Where("key LIKE ? OR key = ? OR key = ?", "pair:"+sub+"|%", "acct:"+sub, "slow:"+sub).Exec(ctx)
	return err
}

// checkSignup refuses a registration from an address with too many failed
// ones; countSignupFailure counts one.
func (s *Service) checkSignup(ctx context.Context, ip string) error {
	key := "signup:" + clip(ip, 64)
	cs, err := s.counters(ctx, key)
	if err != nil {
		return err
	}
	if wait := cs[key].lockedFor(s.signupRule(), s.opts.Now()); wait > 0 {
		return &LockedError{RetryAfter: wait}
	}
	return nil
}

func (s *Service) countSignupFailure(ctx context.Context, ip string) {
	if _, _, err := s.fail(ctx, "signup:"+clip(ip, 64), s.signupRule()); err != nil {
		s.log.ErrorContext(ctx, "count a failed registration", "err", err)
	}
}

// PruneCounters deletes expired failure counters and request-limit counters.
func (s *Service) PruneCounters(ctx context.Context) (int64, error) {
	now := millis(s.opts.Now())
	res, err := s.db.NewDelete().Model((*counter)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	res, err = s.db.NewDelete().Table("rate_counters").Where("expires_at <= ?", now).Exec(ctx)
	if err != nil {
		return n, err
	}
	m, _ := res.RowsAffected()
	return n + m, nil
}
