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
}

// Revoked reports whether the key was revoked.
func (k *APIKey) Revoked() bool { return k.RevokedAt != nil }

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

// CanRevokeAPIKey reports whether actor may revoke k: the system, or an
// admin revoking their own key or the key of an account below their level.
func CanRevokeAPIKey(actor *User, k *APIKey) bool {
	if actor == nil {
		return true
	}
	if !CanManageAPIKeys(actor) {
		return false
	}
	return k.CreatedBy == actor.ID || k.Creator == nil || k.Creator.Level < actor.Level
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

// CreateAPIKey makes a key that acts as by.User and returns it with the
// whole key, which is not stored and can't be shown again.
func (s *Service) CreateAPIKey(ctx context.Context, by Actor, name string) (*APIKey, string, error) {
	if by.User == nil {
		return nil, "", denied("an API key acts as an account; make it from an admin's account")
	}
	if !CanManageAPIKeys(by.User) {
		return nil, "", denied("API keys are made by admins")
	}
	name = normalize(name)
	switch {
	case name == "":
		return nil, "", fieldError("name", "This field is required.")
	case !utf8.ValidString(name):
		return nil, "", fieldError("name", "Contains invalid characters.")
	case utf8.RuneCountInString(name) > MaxAPIKeyName:
		return nil, "", fieldError("name", fmt.Sprintf("Must be at most %d characters.", MaxAPIKeyName))
	}
	n, err := s.db.NewSelect().Model((*APIKey)(nil)).
		Where("k.created_by = ? AND k.revoked_at IS NULL", by.User.ID).Count(ctx)
	if err != nil {
		return nil, "", err
	}
	if n >= MaxAPIKeysPerAccount {
		return nil, "", fieldError("name", fmt.Sprintf("You already have %d keys; revoke one you no longer use first.", n))
	}
	for attempt := 0; ; attempt++ {
		prefix, key, hash, err := newAPIKey()
		if err != nil {
			return nil, "", err
		}
		k := &APIKey{Name: name, Prefix: prefix, SecretHash: hash, CreatedBy: by.User.ID, CreatedAt: s.now()}
		_, err = s.db.NewInsert().Model(k).Returning("id").Exec(ctx)
		if err != nil {
			if _, isConflict := conflictOr(err).(*ConflictError); isConflict && attempt < 3 {
				continue // the same 40-bit prefix drawn twice: draw again
			}
			return nil, "", err
		}
		k.Creator = by.User
		_ = s.record(ctx, s.db, by, EvAPIKeyCreate, &by.User.ID, prefix+" "+name)
		return k, key, nil
	}
}

// APIKeyFilter pages through the keys.
type APIKeyFilter struct {
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
	total, err := s.db.NewSelect().Model(&items).Relation("Creator").Relation("Revoker").
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
	return s.APIKey(ctx, id)
}

// AuthenticateAPIKey finds the account a bearer key acts as. The account
// is read afresh, so a creator who was banned, deleted or demoted since
// the key was made is refused or has their current, lower permissions.
// A refused key is an *APIKeyError. last_used_at is written at most once
// per APIKeyTouchEvery.
func (s *Service) AuthenticateAPIKey(ctx context.Context, key string, m Meta) (*User, *APIKey, error) {
	prefix, secret, ok := parseAPIKey(key)
	if !ok {
		return nil, nil, errUnknownAPIKey
	}
	k := new(APIKey)
	err := s.db.NewSelect().Model(k).Relation("Creator").Where("k.prefix = ?", prefix).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, errUnknownAPIKey
	}
	if err != nil {
		return nil, nil, err
	}
	if subtle.ConstantTimeCompare([]byte(hashAPISecret(secret)), []byte(k.SecretHash)) != 1 {
		return nil, nil, errUnknownAPIKey
	}
	if k.Revoked() {
		return nil, nil, &APIKeyError{Reason: "the API key has been revoked"}
	}
	u := k.Creator
	if u == nil || u.ID == 0 {
		return nil, nil, errUnknownAPIKey
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
	if now := s.now(); k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= APIKeyTouchEvery {
		_, err := s.db.NewUpdate().Model((*APIKey)(nil)).Where("id = ?", k.ID).
			Set("last_used_at = ?", now).Set("last_used_ip = ?", clip(m.IP, 64)).Exec(ctx)
		if err != nil {
			s.log.WarnContext(ctx, "api key last use not recorded", "key", k.Prefix, "err", err)
		} else {
			k.LastUsedAt, k.LastUsedIP = &now, clip(m.IP, 64)
		}
	}
	return u, k, nil
}
