package models

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/uptrace/bun"
)

// Options tune the users service; zero values take the defaults.
type Options struct {
	OnlineWindow  time.Duration // a visitor seen within it is online (5 minutes)
	PresenceEvery time.Duration // at most one presence write per visitor per this (1 minute)
	DefaultLevel  int           // level given at self-registration (1)
	StatsTTL      time.Duration // how long Stats may be served from cache while nothing changes (15 seconds)
	CountsTTL     time.Duration // how long the home page counts may be cached (2 seconds)
	LockAfter     int           // failed sign-ins on one account from one address before that pair locks (5)
	LockFor       time.Duration // how long such a lock lasts (15 minutes)
	// AddressFailures is how many failed sign-ins from one address, on any
	// accounts, lock that address for LockFor (20).
	AddressFailures int
	// AccountCeiling is how many failed sign-ins on one account from
	// everywhere within CeilingWindow (100 in an hour) put it in the slow
	// lane: addresses it never signed in from take turns, one guess per
	// SlowEvery (5 seconds). See docs/throttling.md.
	AccountCeiling int
	CeilingWindow  time.Duration
	SlowEvery      time.Duration
	// SignupFailures is how many refused registrations from one address
	// within an hour stop it registering for the rest of that hour (10).
	SignupFailures int
	Argon2         Argon2Params // password hashing cost (DefaultArgon2)
	// AccountCacheTTL is how long an account read by Get or GetByUsername
	// may be answered from memory (30 seconds; negative turns the cache
	// off). This process's own writes clear it at once; see accountcache.go.
	AccountCacheTTL time.Duration
	// AccountCacheCheck is how often the service asks the database
	// whether another process changed data, on SQLite (1 second; see
	// changes.go). PostgreSQL tells it at once (LISTEN/NOTIFY).
	AccountCacheCheck time.Duration
	AccountCacheSize  int // accounts kept at most (10,000)
	// BulkBatch is how many accounts one batch of a bulk job changes, in
	// one short transaction (500).
	BulkBatch int
	// BulkChooseRange is how many account ids one step choosing a bulk
	// job's accounts covers (100,000).
	BulkChooseRange int64
	// BulkLease is how long an instance holds a bulk job between two
	// batches before another instance may take it over (1 minute).
	BulkLease time.Duration
	Now       func() time.Time
	Logger    *slog.Logger
	// SecretKey encrypts the secrets the service must read back
	// (authenticator secrets) with AES-GCM before they are stored; without
	// it they are stored as they are. See mfa.go.
	SecretKey []byte
}

func (o *Options) defaults() {
	if o.OnlineWindow <= 0 {
		o.OnlineWindow = 5 * time.Minute
	}
	if o.PresenceEvery <= 0 {
		o.PresenceEvery = time.Minute
	}
	if o.DefaultLevel <= 0 || o.DefaultLevel > MaxLevel {
		o.DefaultLevel = LevelUser
	}
	if o.StatsTTL <= 0 {
		o.StatsTTL = 15 * time.Second
	}
	if o.CountsTTL <= 0 {
		o.CountsTTL = 2 * time.Second
	}
	if o.LockAfter <= 0 {
		o.LockAfter = 5
	}
	if o.LockFor <= 0 {
		o.LockFor = 15 * time.Minute
	}
	if o.AddressFailures <= 0 {
		o.AddressFailures = 20
	}
	if o.AccountCeiling <= 0 {
		o.AccountCeiling = 100
	}
	if o.CeilingWindow <= 0 {
		o.CeilingWindow = time.Hour
	}
	if o.SlowEvery <= 0 {
		o.SlowEvery = 5 * time.Second
	}
	if o.SignupFailures <= 0 {
		o.SignupFailures = 10
	}
	if o.Argon2.Memory == 0 {
		o.Argon2 = DefaultArgon2
	}
	if o.AccountCacheTTL == 0 {
		o.AccountCacheTTL = 30 * time.Second
	}
	if o.AccountCacheCheck <= 0 {
		o.AccountCacheCheck = time.Second
	}
	if o.AccountCacheSize <= 0 {
		o.AccountCacheSize = 10000
	}
	if o.BulkBatch <= 0 {
		o.BulkBatch = 500
	}
	if o.BulkChooseRange <= 0 {
		o.BulkChooseRange = 100_000
	}
	if o.BulkLease <= 0 {
		o.BulkLease = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}

}

// Service is the users service of SPEC §2: every page, API endpoint and
// command goes through it, and it is the only code that touches the database.
type Service struct {
	db     *bun.DB
	opts   Options
	hasher *Hasher
	log    *slog.Logger

	presence throttle
	sessions sessionCache // sessions.go

	rp       atomic.Pointer[webauthn.WebAuthn] // passkeys.go: the relying party, set by ConfigurePasskeys
	accounts *accountCache                     // accountcache.go
	apiKeys  apiKeyCache                       // apikeycache.go

	statsMu  sync.Mutex
	stats    *Stats
	countsMu sync.Mutex
	counts   *HomeCounts
	cache    statsCache
	console  consoleCache // admin.go
	changes  changes      // changes.go

	bulk     bulkRunner // bulk.go
	bulkMu   sync.Mutex
	bulkHeld map[int64]bool

	listeners listeners // notify.go

	limitersMu sync.Mutex
	limiters   []*Limiter // ratelimit.go: settled before stopping
}

// NewService returns the users service on db.
func NewService(db *bun.DB, opts Options) *Service {
	opts.defaults()
	s := &Service{
		db:       db,
		opts:     opts,
		hasher:   NewHasher(opts.Argon2),
		log:      opts.Logger,
		presence: throttle{last: map[string]time.Time{}},
		accounts: newAccountCache(opts.AccountCacheTTL, opts.AccountCacheSize),
		bulk:     bulkRunner{wake: make(chan struct{}, 1)},
	}
	db.AddQueryHook(changeHook{s})
	s.OnChange(func(ch Change) {
		switch ch.Topic {
		case TopicAccounts:
			s.accounts.flush()
			s.dropFigures(ch.Topic)
		case TopicEvents:
			s.dropFigures(ch.Topic)
		case TopicAPIKeys:
			s.apiKeys.flush()
		case TopicSessions: // this process forgets its own deletions at once
			if ch.Remote {
				s.ForgetCachedSessions()
			}
		}
	})
	return s
}

// DB is the database handle, for migrations, readiness and tests.
func (s *Service) DB() *bun.DB { return s.db }

// OnlineWindow is how recently a visitor must have been seen to be online.
func (s *Service) OnlineWindow() time.Duration { return s.opts.OnlineWindow }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.opts.Now() }

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// Ping checks that the database answers.
func (s *Service) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Meta says where a request came from, for the audit log.
type Meta struct {
	IP        string
	UserAgent string
	Via       string // how it came, when not through the pages: "API key wm_…"
}

// Actor is who takes an action: a signed-in account, or the system
// (command line) when User is nil.
type Actor struct {
	User *User
	Meta
	// Key is the API key or token the account acts through (nil on the
	// pages and the command line): a key may not change its own
	// account's credentials (see consoleOnly in apikeys.go).
	Key *APIKey
}

// System is the actor of the command line.
var System = Actor{Meta: Meta{IP: "cli"}}

func (a Actor) id() *int64 {
	if a.User == nil {
		return nil
	}
	id := a.User.ID
	return &id
}

// Event actions written by the service.
const (
	EvSignup         = "signup"
	EvLogin          = "login"
	EvLoginFailed    = "login.failed"
	EvLoginLocked    = "login.locked"
	EvLogout         = "logout"
	EvCreate         = "user.create"
	EvUpdate         = "user.update"
	EvBan            = "user.ban"
	EvUnban          = "user.unban"
	EvDelete         = "user.delete"
	EvRestore        = "user.restore"
	EvPurge          = "user.purge"
	EvPassword       = "user.password"
	EvPasswordChange = "password.change"
	EvSessionsRevoke = "sessions.revoke"
	EvSessionRevoke  = "session.revoke"
	EvMFAEnable      = "mfa.enable"
	EvMFADisable     = "mfa.disable"
	EvMFAReset       = "mfa.reset"
	EvRecoveryUsed   = "mfa.recovery_used"
	EvRecoveryNew    = "mfa.recovery_new"
	EvPasskeyAdd     = "passkey.add"
	EvPasskeyRemove  = "passkey.remove"
	EvConfirm        = "user.confirm"
	EvProfile        = "profile.update"
)

// record writes one event; failures are logged, never lost silently, and
// never fail the action that caused them unless db is a transaction.
func (s *Service) record(ctx context.Context, db bun.IDB, a Actor, action string, target *int64, detail string) error {
	ev := &Event{
		ActorID:   a.id(),
		Action:    action,
		TargetID:  target,
		IP:        clip(a.IP, 64),
		UserAgent: clip(a.UserAgent, 500),
		Via:       clip(a.Via, 64),
		Detail:    detail,
		CreatedAt: s.now(),
	}
	_, err := db.NewInsert().Model(ev).Exec(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "write event", "action", action, "err", err)
		return err
	}
	s.announce(ctx, db, *ev)
	return nil
}

func clip(s string, n int) string {
	if !textOK(s) {
		s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	}
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !validUTF8End(s) {
		s = s[:len(s)-1]
	}
	return s
}

func validUTF8End(s string) bool { return strings.ToValidUTF8(s, "") == s }

func ptr[T any](v T) *T { return &v }
