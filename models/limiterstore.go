package models

import (
	"context"
	"time"
)

// LimiterStore keeps the entries of Fiber's limiter middleware in the
// rate_limits table, so that every instance of the site counts against the
// same limits. It has the methods of fiber.Storage; each limiter gets its
// own, by name, so that their keys (often just the client address) don't
// mix. The middleware reads an entry, counts and writes it back under a
// lock of its own process: two instances counting the same key at the
// same instant may lose one hit (docs/throttling.md).
type LimiterStore struct {
	s      *Service
	prefix string
}

// LimiterStore returns the store for the limiter called name.
func (s *Service) LimiterStore(name string) *LimiterStore {
	return &LimiterStore{s: s, prefix: name + ":"}
}

// limiterTimeout bounds each storage call: the middleware gives no context.
const limiterTimeout = 5 * time.Second

type rateLimit struct {
	Key       string `bun:"key,pk"`
	Value     []byte `bun:"value"`
	ExpiresAt int64  `bun:"expires_at"`
}

// Get returns the value under key, or nil when absent or expired.
func (l *LimiterStore) Get(key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limiterTimeout)
	defer cancel()
	var rows []rateLimit
	err := l.s.db.NewSelect().Table("rate_limits").Column("key", "value", "expires_at").
		Where("key = ?", l.prefix+key).Scan(ctx, &rows)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	if e := rows[0].ExpiresAt; e != 0 && e <= time.Now().UnixMilli() {
		return nil, nil
	}
	return rows[0].Value, nil
}

// Set stores value under key for exp (0: until deleted).
func (l *LimiterStore) Set(key string, value []byte, exp time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limiterTimeout)
	defer cancel()
	var until int64
	if exp > 0 {
		until = time.Now().Add(exp).UnixMilli()
	}
	_, err := l.s.db.NewRaw(`INSERT INTO rate_limits (key, value, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
		l.prefix+key, value, until).Exec(ctx)
	return err
}

// Delete removes key.
func (l *LimiterStore) Delete(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), limiterTimeout)
	defer cancel()
	_, err := l.s.db.NewDelete().Table("rate_limits").Where("key = ?", l.prefix+key).Exec(ctx)
	return err
}

// Reset removes every entry of this limiter.
func (l *LimiterStore) Reset() error {
	ctx, cancel := context.WithTimeout(context.Background(), limiterTimeout)
	defer cancel()
	_, err := l.s.db.NewDelete().Table("rate_limits").Where("key LIKE ? ESCAPE '\\'", escapeLike(l.prefix)+"%").Exec(ctx)
	return err
}

// Close does nothing: the database belongs to the service.
func (l *LimiterStore) Close() error { return nil }
