package models

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// accountCache keeps recently read accounts in memory, so that the two
// reads of nearly every page (the signed-in account, and often the account
// the page is about) cost no query.
//
// It follows the change signal (changes.go): it is emptied by every
// announced change of accounts, this process's own at once (a query hook
// sees every statement that may change the users table, and every COMMIT)
// and other processes' as they reach it (NOTIFY on PostgreSQL, within
// milliseconds; polling change_seq on SQLite, within
// Options.AccountCacheCheck). A read that started before such a change does
// not store its (possibly older) row. Only the presence write of
// last_seen_at is applied to the cached copy instead (see Touch), since it
// happens once a minute for every visitor. An entry also expires after
// Options.AccountCacheTTL.
type accountCache struct {
	ttl time.Duration
	max int

	mu     sync.RWMutex
	gen    uint64 // moves on at every flush
	byID   map[int64]cachedAccount
	byName map[string]int64 // lower(username) → id
}

type cachedAccount struct {
	u       *User // never handed out: callers get copies
	expires time.Time
}

func newAccountCache(ttl time.Duration, max int) *accountCache {
	return &accountCache{ttl: ttl, max: max,
		byID: map[int64]cachedAccount{}, byName: map[string]int64{}}
}

// enabled is false when Options.AccountCacheTTL turned the cache off.
func (c *accountCache) enabled() bool { return c.ttl > 0 }

// byAccountID returns a copy of the cached account, or nil.
func (c *accountCache) byAccountID(id int64, now time.Time) *User {
	c.mu.RLock()
	e, ok := c.byID[id]
	c.mu.RUnlock()
	if !ok || now.After(e.expires) {
		return nil
	}
	return e.u.clone()
}

// byUsername returns a copy of the cached account named name (any case), or nil.
func (c *accountCache) byUsername(name string, now time.Time) *User {
	key := strings.ToLower(name)
	c.mu.RLock()
	id, ok := c.byName[key]
	e, found := c.byID[id]
	c.mu.RUnlock()
	if !ok || !found || now.After(e.expires) || strings.ToLower(e.u.Username) != key {
		return nil
	}
	return e.u.clone()
}

// generation is read before a query; store keeps its row only if no
// flush happened in between.
func (c *accountCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// store keeps a copy of u, read from the database when the cache was at
// generation gen.
func (c *accountCache) store(u *User, gen uint64, now time.Time) {
	cp := u.clone()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return // a write happened while u was read: it may be older
	}
	if old, ok := c.byID[u.ID]; ok {
		delete(c.byName, strings.ToLower(old.u.Username))
	} else if len(c.byID) >= c.max {
		for id, e := range c.byID { // map order: an arbitrary victim
			delete(c.byID, id)
			delete(c.byName, strings.ToLower(e.u.Username))
			break
		}
	}
	c.byID[u.ID] = cachedAccount{u: cp, expires: now.Add(c.ttl)}
	c.byName[strings.ToLower(u.Username)] = u.ID
}

// flush forgets every account.
func (c *accountCache) flush() {
	c.mu.Lock()
	c.gen++
	clear(c.byID)
	clear(c.byName)
	c.mu.Unlock()
}

// seen records a presence write in the cached copy of the account.
func (c *accountCache) seen(id int64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byID[id]; ok {
		cp := e.u.clone()
		cp.LastSeenAt = &at
		cp.Snapshot = snapshots.Add(1)
		e.u = cp
		c.byID[id] = e
	}
}

// snapshots numbers the readings of accounts (User.Snapshot).
var snapshots atomic.Uint64

// clone is a copy of u that shares nothing the caller could change in place.
func (u *User) clone() *User {
	cp := *u
	cp.Email = clonePtr(u.Email)
	cp.LastLoginAt = clonePtr(u.LastLoginAt)
	cp.LastSeenAt = clonePtr(u.LastSeenAt)
	cp.EmailVerifiedAt = clonePtr(u.EmailVerifiedAt)
	if u.Var != nil {
		cp.Var = cloneJSON(u.Var).(map[string]any)
	}
	return &cp
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// cloneJSON copies a value decoded from JSON (maps, slices, scalars).
func cloneJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = cloneJSON(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = cloneJSON(x)
		}
		return s
	default:
		return v
	}
}

// presenceWrite marks the context of Touch's last_seen_at update, which
// the cache applies to its copy rather than being flushed by.
type presenceWrite struct{}
