package models

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"
)

// TopicAPIKeys: the api_keys table (a key revoked, made or changed).
// RevokeAPIKey announces it to every instance; the change hook announces
// this process's other writes of api_keys (not the last-use stamp).
const TopicAPIKeys Topic = "api_keys"

// apiKeyCacheTTL is how long a key's row may be answered from memory. A
// revocation reaches every instance through the change signal far sooner
// (this process at once, PostgreSQL's others within milliseconds,
// SQLite's within Options.AccountCacheCheck); the lifetime only bounds a
// change made behind the service's back (psql).
const apiKeyCacheTTL = 10 * time.Second

// maxCachedAPIKeys bounds the cache; past it, an arbitrary entry goes.
const maxCachedAPIKeys = 10000

// apiKeyCache keeps the rows of keys in use by prefix, so that a request
// with a key costs no query: the key's row comes from here, its account
// from the account cache (Get). Like that one it is emptied by every
// announced change of its topic, and a read that started before a change
// does not store its (possibly older) row. Reads share the lock, as in
// the account cache: every request with a key reads here, and with an
// exclusive lock a busy key's requests queued behind each other (a third
// of the time they spent blocked under wrk).
type apiKeyCache struct {
	mu       sync.RWMutex
	gen      uint64
	byPrefix map[string]cachedAPIKey
}

type cachedAPIKey struct {
	k       *APIKey // no Creator or Revoker; never handed out: callers get copies
	expires time.Time
}

func (c *apiKeyCache) get(prefix string, now time.Time) (*APIKey, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.byPrefix[prefix]
	if !ok || now.After(e.expires) {
		return nil, c.gen
	}
	cp := *e.k
	return &cp, c.gen
}

func (c *apiKeyCache) store(k *APIKey, gen uint64, now time.Time) {
	cp := *k
	cp.Creator, cp.Revoker = nil, nil
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.byPrefix == nil {
		c.byPrefix = map[string]cachedAPIKey{}
	}
	if _, ok := c.byPrefix[k.Prefix]; !ok && len(c.byPrefix) >= maxCachedAPIKeys {
		for p := range c.byPrefix {
			delete(c.byPrefix, p)
			break
		}
	}
	c.byPrefix[k.Prefix] = cachedAPIKey{k: &cp, expires: now.Add(apiKeyCacheTTL)}
}

// claimTouch says whether this request should write the key's last use:
// when the cached row's last use is APIKeyTouchEvery old. The cached copy
// takes now at once, so that of many requests at the same moment one
// writes.
func (c *apiKeyCache) claimTouch(prefix string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byPrefix[prefix]
	if !ok {
		return true
	}
	if e.k.LastUsedAt != nil && now.Sub(*e.k.LastUsedAt) < APIKeyTouchEvery {
		return false
	}
	cp := *e.k
	cp.LastUsedAt = &now
	e.k = &cp
	c.byPrefix[prefix] = e
	return true
}

func (c *apiKeyCache) flush() {
	c.mu.Lock()
	c.gen++
	clear(c.byPrefix)
	c.mu.Unlock()
}

// apiKeyTouch marks the context of the last-use write, which changes
// nothing a cache holds.
type apiKeyTouch struct{}

// apiKeyByPrefix returns the row of the key with prefix (without its
// creator), from the cache when it can; errUnknownAPIKey when none.
func (s *Service) apiKeyByPrefix(ctx context.Context, prefix string) (*APIKey, error) {
	s.poll(ctx) // SQLite: hear of other processes' revocations first
	now := s.opts.Now()
	k, gen := s.apiKeys.get(prefix, now)
	if k != nil {
		return k, nil
	}
	k = new(APIKey)
	err := s.db.NewSelect().Model(k).Where("k.prefix = ?", prefix).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errUnknownAPIKey
	}
	if err != nil {
		return nil, err
	}
	s.apiKeys.store(k, gen, now)
	return k, nil
}
