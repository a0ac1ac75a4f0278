package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// An API key reads "wm_" + 8 characters + "_" + a secret of 32 random bytes
// in unpadded base64url, e.g. wm_k7d2qm9x_3q2-…. The first part (the
// prefix) is shown in the console and finds the key; only the SHA-256 of
// the secret is stored, so the key itself is shown once, when made.
const (
	APIKeyScheme         = "wm_"
	apiKeyPrefixLen      = len(APIKeyScheme) + 8
	apiKeySecretBytes    = 32
	apiKeyLen            = apiKeyPrefixLen + 1 + 43 // 43 = base64url of 32 bytes
	apiKeyPrefixAlphabet = "abcdefghijkmnpqrstuvwxyz23456789"

	// MaxAPIKeyName is the longest name a key may have.
	MaxAPIKeyName = 100
	// MaxAPIKeysPerAccount is how many unrevoked keys one account may hold.
	MaxAPIKeysPerAccount = 50
	// APIKeyTouchEvery is how often a key's last_used_at is written at most.
	APIKeyTouchEvery = time.Minute
)

// Audit-log actions of API keys.
const (
	EvAPIKeyCreate = "apikey.create"
	EvAPIKeyRevoke = "apikey.revoke"
)

func init() {
	// The audit log's action filter offers these too; events.go lists the
	// account actions, this file the key actions.
	EventActions = append(EventActions, EvAPIKeyCreate, EvAPIKeyRevoke)
}

// APIKey is a bearer key for the JSON API. It acts as its creator, with
// the creator's current level, type and permissions.
type APIKey struct {
	bun.BaseModel `bun:"table:api_keys,alias:k"`

	ID         int64      `bun:"id,pk,autoincrement"`
	Name       string     `bun:"name"`
	Prefix     string     `bun:"prefix"`
	SecretHash string     `bun:"secret_hash"`
	CreatedBy  int64      `bun:"created_by"`
	CreatedAt  time.Time  `bun:"created_at"`
	LastUsedAt *time.Time `bun:"last_used_at"`
	LastUsedIP string     `bun:"last_used_ip"`
	RevokedAt  *time.Time `bun:"revoked_at"`
	RevokedBy  *int64     `bun:"revoked_by"`

	Creator *User `bun:"rel:belongs-to,join:created_by=id"`
	Revoker *User `bun:"rel:belongs-to,join:revoked_by=id"`

	Scope     string     `bun:"scope"`      // ScopeRead or ScopeReadWrite
	Kind      string     `bun:"kind"`       // KindKey or KindToken
	ExpiresAt *time.Time `bun:"expires_at"` // nil: until revoked
}

// Scopes of keys and tokens: what a key may do, within what its account may.
const (
	ScopeRead      = "read"       // reads only: a write is refused
	ScopeReadWrite = "read write" // everything the account may do
)

// Kinds of keys.
const (
	KindKey   = "key"   // made by an admin in the console, or on the command line
	KindToken = "token" // a member's personal token, made for their own account
)

// MaxAPIKeyLifetime is the furthest ahead a key's expiry may be set.
const MaxAPIKeyLifetime = 5 * 366 * 24 * time.Hour

// Revoked reports whether the key was revoked.
func (k *APIKey) Revoked() bool { return k.RevokedAt != nil }

// Expired reports whether the key's expiry has passed at now.
func (k *APIKey) Expired(now time.Time) bool { return k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) }

// CanWrite reports whether the key's scope lets it change things.
func (k *APIKey) CanWrite() bool { return k.Scope != ScopeRead }

// ParseScope reads a scope as written by people: "read", "read write"
// (or "write", "read,write", "write read", which mean the same); "" is
// def. ok is false for anything else.
func ParseScope(s, def string) (scope string, ok bool) {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == ' ' || r == ',' || r == '+' })
	if len(words) == 0 {
		return def, true
	}
	read, write := false, false
	for _, w := range words {
		switch w {
		case "read":
			read = true
		case "write":
			write = true
		default:
			return "", false
		}
	}
	if write {
		return ScopeReadWrite, true
	}
	return ScopeRead, read
}

// consoleOnly is the refusal of a change that a key or token may not make
// to its own account: a leaked key must not let anyone take the account over.
var consoleOnly = denied("an API key or token can't change its own account's password, e-mail address, level or two-factor " +
	"settings; do that in the console, signed in")

// viaKeyOnSelf reports whether a acts through a key on its own account id.
func (a Actor) viaKeyOnSelf(id int64) bool { return a.Key != nil && a.User != nil && a.User.ID == id }

// APIKeyError is a key that does not let a request in (unknown, revoked,
// or its account can't act); Reason is safe to show to the caller.
type APIKeyError struct {
	Reason string
}

func (e *APIKeyError) Error() string { return "api key refused: " + e.Reason }

var errUnknownAPIKey = &APIKeyError{Reason: "the API key is not valid"}

// CanManageAPIKeys reports whether u may make API keys and see the keys
// of the site: active admins.
func CanManageAPIKeys(u *User) bool { return u.IsAdmin() }

// CanRevokeAPIKey reports whether actor may revoke k: the system, the
// account the key acts as, or an admin revoking the key of an account
// below their level.
func CanRevokeAPIKey(actor *User, k *APIKey) bool {
	if actor == nil {
		return true
	}
	if k.CreatedBy == actor.ID && actor.Type == TypeActive {
		return true
	}
	if !CanManageAPIKeys(actor) {
		return false
	}
	return k.Creator == nil || k.Creator.Level < actor.Level
}

// newAPIKey makes a key: its prefix, the whole key, and the hash to store.
func newAPIKey() (prefix, key, hash string, err error) {
	b := make([]byte, 8+apiKeySecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", "", err
	}
	p := make([]byte, 8)
	for i := range p {
		p[i] = apiKeyPrefixAlphabet[int(b[i])%len(apiKeyPrefixAlphabet)] // 256 is a multiple of 32: no bias
	}
	secret := b[8:]
	prefix = APIKeyScheme + string(p)
	return prefix, prefix + "_" + base64.RawURLEncoding.EncodeToString(secret), hashAPISecret(secret), nil
}

func hashAPISecret(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:])
}

// parseAPIKey splits a key into its prefix and secret; ok is false for
// anything that isn't shaped like a key.
func parseAPIKey(key string) (prefix string, secret []byte, ok bool) {
	if len(key) != apiKeyLen || !strings.HasPrefix(key, APIKeyScheme) || key[apiKeyPrefixLen] != '_' {
		return "", nil, false
	}
	prefix = key[:apiKeyPrefixLen]
	for _, r := range prefix[len(APIKeyScheme):] {
		if !strings.ContainsRune(apiKeyPrefixAlphabet, r) {
			return "", nil, false
		}
	}
	secret, err := base64.RawURLEncoding.DecodeString(key[apiKeyPrefixLen+1:])
	if err != nil || len(secret) != apiKeySecretBytes {
		return "", nil, false
	}
	return prefix, secret, true
}

// CreateAPIKey makes a read-write key that acts as by.User (an admin),
// without expiry, and returns it with the whole key, which is not stored
// and can't be shown again.
func (s *Service) CreateAPIKey(ctx context.Context, by Actor, name string) (*APIKey, string, error) {
	return s.CreateKey(ctx, by, NewAPIKey{Name: name})
}

// NewAPIKey is what a new key or token is made with.
type NewAPIKey struct {
	Name string
	// Kind is KindKey (the default) or KindToken.
	Kind string
	// Scope is ScopeRead or ScopeReadWrite (the default).
	Scope string
	// ExpiresAt, when not zero, is when the key stops working.
	ExpiresAt time.Time
	// Owner is the account the key acts as: by.User when nil. Only the
	// system (the command line) makes keys for another account.
	Owner *User
}

// CreateKey makes a key or personal token and returns it with the whole
// key, which is not stored and can't be shown again. Admins make keys
// (KindKey) acting as themselves; any active account makes personal
// tokens (KindToken) for itself; the system makes either for any active
// account (Owner).
func (s *Service) CreateKey(ctx context.Context, by Actor, n NewAPIKey) (*APIKey, string, error) {
	owner := n.Owner
	if owner == nil {
		owner = by.User
	}
	if n.Kind == "" {
		n.Kind = KindKey
	}
	switch {
	case owner == nil:
		return nil, "", denied("an API key acts as an account; make it from an admin's account")
	case by.User != nil && owner.ID != by.User.ID:
		return nil, "", denied("a key can only be made for your own account")
	case owner.Type != TypeActive:
		return nil, "", denied("the account %s is not active", owner.Username)
	case n.Kind == KindKey && by.User != nil && !CanManageAPIKeys(by.User):
		return nil, "", denied("API keys are made by admins; make a personal token in your settings")
	case n.Kind != KindKey && n.Kind != KindToken:
		return nil, "", fieldError("kind", "Use key or token.")
	case by.Key != nil:
		return nil, "", denied("a key can't make keys; make them in the console, signed in")
	}
	c := checker{}
	name := normalize(n.Name)
	switch {
	case name == "":
		c.add("name", "This field is required.")
	case !utf8.ValidString(name):
		c.add("name", "Contains invalid characters.")
	case utf8.RuneCountInString(name) > MaxAPIKeyName:
		c.add("name", fmt.Sprintf("Must be at most %d characters.", MaxAPIKeyName))
	}
	scope, ok := ParseScope(n.Scope, ScopeReadWrite)
	if !ok {
		c.add("scope", "Use read or read write.")
	}
	var expires *time.Time
	if !n.ExpiresAt.IsZero() {
		at := n.ExpiresAt.UTC().Truncate(time.Microsecond)
		switch now := s.now(); {
		case !at.After(now):
			c.add("expires", "Must be in the future.")
		case at.Sub(now) > MaxAPIKeyLifetime:
			c.add("expires", "Must be within five years.")
		}
		expires = &at
	}
	if err := c.err(); err != nil {
		return nil, "", err
	}
	count, err := s.db.NewSelect().Model((*APIKey)(nil)).
		Where("k.created_by = ? AND k.revoked_at IS NULL", owner.ID).Count(ctx)
	if err != nil {
		return nil, "", err
	}
	if count >= MaxAPIKeysPerAccount {
		return nil, "", fieldError("name", fmt.Sprintf("You already have %d keys; revoke one you no longer use first.", count))
	}
	for attempt := 0; ; attempt++ {
		prefix, key, hash, err := newAPIKey()
		if err != nil {
			return nil, "", err
		}
		k := &APIKey{Name: name, Prefix: prefix, SecretHash: hash, CreatedBy: owner.ID, CreatedAt: s.now(),
			Scope: scope, Kind: n.Kind, ExpiresAt: expires}
		_, err = s.db.NewInsert().Model(k).Returning("id").Exec(ctx)
		if err != nil {
			if _, isConflict := conflictOr(err).(*ConflictError); isConflict && attempt < 3 {
				continue // the same 40-bit prefix drawn twice: draw again
			}
			return nil, "", err
		}
		k.Creator = owner
		detail := prefix + " " + name
		if n.Kind == KindToken {
			detail = "personal token " + detail
		}
		if scope == ScopeRead {
			detail += " (read only)"
		}
		_ = s.record(ctx, s.db, by, EvAPIKeyCreate, &owner.ID, detail)
		return k, key, nil
	}
}

// APIKeyFilter pages through the keys.
type APIKeyFilter struct {
	Kind  string // KindKey or KindToken; "" for both
	Owner int64  // one account's keys; 0 for all
	Page  int
	Limit int
}

// APIKeys lists the keys, unrevoked first, newest first, with their
// creator and revoker embedded.
func (s *Service) APIKeys(ctx context.Context, f APIKeyFilter) (Page[APIKey], error) {
	if f.Limit <= 0 {
		f.Limit = DefaultLimit
	}
	f.Limit = min(f.Limit, MaxLimit)
	f.Page = min(max(f.Page, 1), MaxPage)
	items := []APIKey{}
	q := s.db.NewSelect().Model(&items).Relation("Creator").Relation("Revoker")
	if f.Kind != "" {
		q.Where("k.kind = ?", f.Kind)
	}
	if f.Owner != 0 {
		q.Where("k.created_by = ?", f.Owner)
	}
	total, err := q.
		OrderExpr("CASE WHEN k.revoked_at IS NULL THEN 0 ELSE 1 END, k.id DESC").
		Limit(int64(f.Limit)).Offset(int64((f.Page - 1) * f.Limit)).ScanAndCount(ctx)
	if err != nil {
		return Page[APIKey]{}, err
	}
	return Page[APIKey]{Items: items, Total: int(total), Page: f.Page, Limit: f.Limit}, nil
}

// APIKey returns one key with its creator and revoker, or ErrNotFound.
func (s *Service) APIKey(ctx context.Context, id int64) (*APIKey, error) {
	k := new(APIKey)
	err := s.db.NewSelect().Model(k).Relation("Creator").Relation("Revoker").Where("k.id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}

// RevokeAPIKey ends a key for good. Revoking a revoked key changes nothing.
func (s *Service) RevokeAPIKey(ctx context.Context, by Actor, id int64) (*APIKey, error) {
	k, err := s.APIKey(ctx, id)
	if err != nil {
		return nil, err
	}
	if !CanRevokeAPIKey(by.User, k) {
		if !CanManageAPIKeys(by.User) {
			return nil, denied("API keys are managed by admins")
		}
		return nil, denied("you can only revoke your own keys and those of accounts below your level")
	}
	if k.Revoked() {
		return k, nil
	}
	now := s.now()
	res, err := s.db.NewUpdate().Model((*APIKey)(nil)).
		Set("revoked_at = ?", now).Set("revoked_by = ?", by.id()).
		Where("id = ? AND revoked_at IS NULL", id).Exec(ctx)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		_ = s.record(ctx, s.db, by, EvAPIKeyRevoke, &k.CreatedBy, k.Prefix+" "+k.Name)
	}
	// Every instance drops the key from memory (this one did at the
	// write, through the change hook).
	if err := s.Announce(ctx, TopicAPIKeys); err != nil {
		s.log.WarnContext(ctx, "change signal: announcing a revoked key", "key", k.Prefix, "err", err)
	}
	return s.APIKey(ctx, id)
}

// AuthenticateAPIKey finds the account a bearer key acts as. The key's
// row and its account come from memory when they can (apikeycache.go,
// accountcache.go), both emptied by the change signal: a key revoked, or
// an account banned, deleted or demoted since, is refused or has its
// current, lower permissions at once on this instance, and on the others
// as soon as the signal reaches them. A refused key is an *APIKeyError.
// last_used_at is written at most once per APIKeyTouchEvery.
func (s *Service) AuthenticateAPIKey(ctx context.Context, key string, m Meta) (*User, *APIKey, error) {
	prefix, secret, ok := parseAPIKey(key)
	if !ok {
		return nil, nil, errUnknownAPIKey
	}
	k, err := s.apiKeyByPrefix(ctx, prefix)
	if err != nil {
		return nil, nil, err
	}
	if subtle.ConstantTimeCompare([]byte(hashAPISecret(secret)), []byte(k.SecretHash)) != 1 {
		return nil, nil, errUnknownAPIKey
	}
	if k.Revoked() {
		return nil, nil, &APIKeyError{Reason: "the API key has been revoked"}
	}
	if k.Expired(s.now()) {
		return nil, nil, &APIKeyError{Reason: "the API key has expired"}
	}
	u, err := s.Get(ctx, k.CreatedBy)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errUnknownAPIKey
	}
	if err != nil {
		return nil, nil, err
	}
	switch u.Type {
	case TypeActive:
	case TypeBanned:
		return nil, nil, &APIKeyError{Reason: "the account this API key acts as is banned"}
	case TypeDeleted:
		return nil, nil, &APIKeyError{Reason: "the account this API key acts as is deleted"}
	default:
		return nil, nil, &APIKeyError{Reason: "the account this API key acts as is not active"}
	}
	k.Creator = u
	if now := s.now(); (k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= APIKeyTouchEvery) && s.apiKeys.claimTouch(prefix, now) {
		_, err := s.db.NewUpdate().Model((*APIKey)(nil)).Where("id = ?", k.ID).
			Set("last_used_at = ?", now).Set("last_used_ip = ?", clip(m.IP, 64)).Exec(context.WithValue(ctx, apiKeyTouch{}, true))
		if err != nil {
			s.log.WarnContext(ctx, "api key last use not recorded", "key", k.Prefix, "err", err)
		} else {
			k.LastUsedAt, k.LastUsedIP = &now, clip(m.IP, 64)
		}
	}
	return u, k, nil
}

// ParseLifetime reads how long a key should last, as people write it:
// a whole number and a unit, h (hours), d (days), w (weeks) or y (years),
// such as 12h, 30d or 1y.
func ParseLifetime(s string) (time.Duration, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	if len(s) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 || n > 100000 {
		return 0, false
	}
	unit := map[byte]time.Duration{'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// SignInForToken signs in with login and password, and code when the
// account has two-factor on, as the sign-in form does (the same failure
// counting and locks), and makes a personal token for the account: how
// an app gets a token for its user. A missing code is a field error on
// "code". A banned or
// unconfirmed account is a *DeniedError; wrong credentials are
// ErrInvalidCredentials.
func (s *Service) SignInForToken(ctx context.Context, m Meta, login, password, code string, n NewAPIKey) (*APIKey, string, error) {
	u, err := s.Login(ctx, m, login, password)
	var sf *SecondFactorError
	if errors.As(err, &sf) {
		// The password was right; two-factor is on: the code too, counted
		// like the password when wrong, and then the sign-in is recorded.
		if _, err = s.VerifySecondFactor(ctx, m, sf.User, code); err == nil {
			u = sf.User
			err = s.recordLogin(ctx, m, u, MethodPassword, "")
		}
	}
	var be *BannedError
	var ne *NotConfirmedError
	switch {
	case errors.As(err, &be):
		return nil, "", denied("the account is banned")
	case errors.As(err, &ne):
		return nil, "", denied("the account's e-mail address is not confirmed yet; follow the link in the message sent to it")
	case err != nil:
		return nil, "", err
	}
	n.Kind, n.Owner = KindToken, nil
	return s.CreateKey(ctx, Actor{User: u, Meta: m}, n)
}
