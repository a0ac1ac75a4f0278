package models

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"
)

// The change signal: one announcement, "data of this topic changed", that
// every cache of the service follows (the account cache, the census and the
// figures made from it, the console's kept pages), and that code above the
// service can follow too (OnChange).
//
// Where announcements come from:
//   - This process: a query hook (changeHook) announces every statement
//     that writes users or events, and every COMMIT, the moment it returns;
//     so a page drawn after a write sees it.
//   - Other processes (a second server, the command line, psql): database
//     triggers (migrations/20261130000101_census.go) announce every write to
//     users (except the presence write of last_seen_at) and events. On
//     PostgreSQL they send NOTIFY webmin_changes, which Follow LISTENs to:
//     other servers hear of a commit within milliseconds. On SQLite they
//     bump a row of change_seq, which the service reads at most once per
//     Options.AccountCacheCheck (1 s): before each cached read, and in the
//     background while Follow runs.
//
// A cache that computes a value reads Epoch before and keeps the value
// only if Epoch is the same after, so that a value read across a change is
// never kept as if it came after it.

// Topic names the data a change is about.
type Topic string

// Topics the service announces by itself.
const (
	// TopicAccounts: the users table (an account created, changed, banned,
	// signed out everywhere, deleted or purged; a sign-in).
	TopicAccounts Topic = "users"
	// TopicEvents: the audit log (a new event, a sign-in among them).
	TopicEvents Topic = "events"
	// TopicSessions: sessions ended (rows of the sessions table deleted:
	// one device signed out, expired sessions pruned). Other processes
	// drop their cached sessions; this one already has (sessions.go).
	TopicSessions Topic = "sessions"
)

// notifyChannel is the PostgreSQL channel of the change signal.
const notifyChannel = "webmin_changes"

// Change is one announcement.
type Change struct {
	Topic Topic
	// Remote is true when another process made the change (seen through
	// NOTIFY or change_seq); false for this process's own writes.
	Remote bool
}

// changes fans announcements out to the subscribers.
type changes struct {
	epoch atomic.Uint64 // moves on at every announcement

	mu   sync.RWMutex
	subs map[uint64]func(Change)
	next uint64

	listening     atomic.Bool  // Follow holds a LISTEN connection (PostgreSQL)
	sessionsEnded atomic.Bool  // a sessions row was deleted; announce at the next COMMIT
	nextPoll      atomic.Int64 // unix nanoseconds, service clock
	pollMu        sync.Mutex
	seen          map[string]int64 // change_seq at the last poll (SQLite)
}

// OnChange calls fn after every announced change, from the goroutine that
// made or received it, until the returned stop is called. fn must be quick
// and must not call back into the service (drop a cache; don't refill it).
func (s *Service) OnChange(fn func(Change)) (stop func()) {
	c := &s.changes
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subs == nil {
		c.subs = map[uint64]func(Change){}
	}
	id := c.next
	c.next++
	c.subs[id] = fn
	return func() {
		c.mu.Lock()
		delete(c.subs, id)
		c.mu.Unlock()
	}
}

// Epoch moves on at every change announced to this process, whatever its
// topic. A cache reads it before computing a value and keeps the value only
// if it has not moved by the time the value is stored.
func (s *Service) Epoch() uint64 { return s.changes.epoch.Load() }

// Announce tells this process and every other one following the same
// database that data of topic changed, for writes the triggers don't see
// (tables other than users and events). Inside a transaction, call it
// after the commit. On PostgreSQL other servers hear of it within
// milliseconds (NOTIFY); on SQLite within Options.AccountCacheCheck.
func (s *Service) Announce(ctx context.Context, topic Topic) error {
	s.publish(Change{Topic: topic})
	return s.announceElsewhere(ctx, topic)
}

// announceElsewhere is Announce for the other processes only.
func (s *Service) announceElsewhere(ctx context.Context, topic Topic) error {
	if IsPostgres(s.db) {
		_, err := s.db.ExecContext(ctx, "SELECT pg_notify(?, ? || ' ' || current_schema())", notifyChannel, string(topic))
		return err
	}
	_, err := s.db.NewRaw(`INSERT INTO change_seq (topic, seq) VALUES (?, 1)
		ON CONFLICT (topic) DO UPDATE SET seq = seq + 1`, string(topic)).Exec(ctx)
	return err
}

// publish hands a change to every subscriber.
func (s *Service) publish(ch Change) {
	c := &s.changes
	c.epoch.Add(1)
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, fn := range c.subs {
		fn(ch)
	}
}

// Follow makes this process hear of other processes' changes as they
// happen, until ctx ends: on PostgreSQL it LISTENs on webmin_changes (and
// reconnects when the connection drops, announcing every topic then, since
// it may have missed some); on SQLite it reads change_seq once per
// Options.AccountCacheCheck. Without Follow, the service still sees other
// processes' changes on SQLite (each cached read polls when due), and on
// PostgreSQL only through its caches' lifetimes. The returned channel is
// closed once the follower has stopped and let go of its connection.
func (s *Service) Follow(ctx context.Context) (stopped <-chan struct{}) {
	done := make(chan struct{})
	if !IsPostgres(s.db) {
		s.pollNow(ctx) // what is there now is the mark to compare with
		go func() {
			defer close(done)
			t := time.NewTicker(s.opts.AccountCacheCheck)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					s.pollNow(ctx)
				}
			}
		}()
		return done
	}
	ready := make(chan struct{})
	go func() {
		defer close(done)
		s.listen(ctx, ready)
	}()
	select {
	case <-ready:
	case <-ctx.Done():
	}
	return done
}

// listen runs Follow on PostgreSQL.
func (s *Service) listen(ctx context.Context, ready chan struct{}) {
	var schema string
	for ctx.Err() == nil {
		if err := s.db.NewRaw("SELECT current_schema()").Scan(ctx, &schema); err == nil {
			break
		}
		sleep(ctx, time.Second)
	}
	ln := pgdriver.NewListener(s.db)
	defer s.changes.listening.Store(false)
	closed := make(chan struct{})
	defer func() { <-closed }()
	go func() { // Receive doesn't return on ctx alone: closing the connection ends it
		<-ctx.Done()
		_ = ln.Close()
		close(closed)
	}()
	first := true
	for ctx.Err() == nil {
		if err := ln.Listen(ctx, notifyChannel); err != nil {
			s.changes.listening.Store(false)
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "change signal: LISTEN failed, retrying", "err", err)
			}
			sleep(ctx, time.Second)
			continue
		}
		if !s.changes.listening.Swap(true) && !first {
			s.publishAll(true) // reconnected: what happened meanwhile is unknown
		}
		if first {
			first = false
			close(ready)
		}
		for {
			_, payload, err := ln.Receive(ctx)
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
					s.log.WarnContext(ctx, "change signal: connection lost, reconnecting", "err", err)
				}
				s.changes.listening.Store(false)
				break
			}
			topic, from, _ := strings.Cut(payload, " ")
			if from == schema {
				s.publish(Change{Topic: Topic(topic), Remote: true})
			}
		}
	}
	if first {
		close(ready)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// sessionsEndedElsewhere tells the other processes that sessions ended,
// in the background: the hook that notices it may be inside a transaction
// that holds SQLite's write lock.
func (s *Service) sessionsEndedElsewhere() {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		// A closed database is a process shutting down: nobody to tell.
		if err := s.announceElsewhere(ctx, TopicSessions); err != nil && !strings.Contains(err.Error(), "database is closed") {
			s.log.WarnContext(ctx, "change signal: announcing ended sessions", "err", err)
		}
	}()
}

// publishAll announces every topic the service knows.
func (s *Service) publishAll(remote bool) {
	s.publish(Change{Topic: TopicAccounts, Remote: remote})
	s.publish(Change{Topic: TopicEvents, Remote: remote})
	s.publish(Change{Topic: TopicSessions, Remote: remote})
	s.publish(Change{Topic: TopicAPIKeys, Remote: remote})
}

// poll reads change_seq (SQLite) when due, at most once per
// Options.AccountCacheCheck, and announces the topics that moved.
func (s *Service) poll(ctx context.Context) {
	if IsPostgres(s.db) {
		return
	}
	c := &s.changes
	now := s.opts.Now()
	next, n := c.nextPoll.Load(), now.UnixNano()
	// Not due yet, unless the clock was set back past the last poll.
	if (n < next && next-n <= int64(s.opts.AccountCacheCheck)) ||
		!c.nextPoll.CompareAndSwap(next, now.Add(s.opts.AccountCacheCheck).UnixNano()) {
		return
	}
	s.pollNow(ctx)
}

// pollNow reads change_seq and announces the topics that moved since the
// last reading.
func (s *Service) pollNow(ctx context.Context) {
	c := &s.changes
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	var rows []struct {
		Topic string
		Seq   int64
	}
	if err := s.db.NewRaw("SELECT topic, seq FROM change_seq").Scan(ctx, &rows); err != nil {
		s.publishAll(true) // unknown: assume everything moved
		return
	}
	first := c.seen == nil
	if first {
		c.seen = map[string]int64{}
	}
	for _, r := range rows {
		if old, ok := c.seen[r.Topic]; ok && old == r.Seq {
			continue
		}
		c.seen[r.Topic] = r.Seq
		if !first {
			s.publish(Change{Topic: Topic(r.Topic), Remote: true})
		}
	}
}

// changeHook announces this process's writes: after any statement that may
// have written users or events, and after every COMMIT (a transaction's
// reads may have filled a cache between its write and its commit).
type changeHook struct{ s *Service }

func (h changeHook) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (h changeHook) AfterQuery(ctx context.Context, e *bun.QueryEvent) {
	switch e.Operation() {
	case "SELECT", "ROLLBACK", "BEGIN":
		return
	case "COMMIT":
		h.s.publishAll(false)
		if h.s.changes.sessionsEnded.Swap(false) {
			h.s.sessionsEndedElsewhere()
		}
		return
	}
	if ctx.Value(presenceWrite{}) != nil {
		return
	}
	if q, ok := e.IQuery.(interface{ GetTableName() string }); ok {
		switch q.GetTableName() {
		case "users":
			h.s.publish(Change{Topic: TopicAccounts})
			return
		case "events":
			h.s.publish(Change{Topic: TopicEvents})
			return
		case "api_keys":
			if ctx.Value(apiKeyTouch{}) == nil {
				h.s.publish(Change{Topic: TopicAPIKeys})
			}
			return
		case "sessions":
			if e.Operation() == "DELETE" && e.Err == nil {
				// Announced now (outside a transaction this is after the
				// write) and again at the next COMMIT (inside one, only
				// then is the delete visible to others).
				h.s.changes.sessionsEnded.Store(true)
				h.s.sessionsEndedElsewhere()
			}
			return
		case "":
		default:
			return
		}
	}
	// Raw SQL: it may have written anything.
	lower := strings.ToLower(e.Query)
	if strings.HasPrefix(strings.TrimSpace(lower), "select") {
		return
	}
	if strings.Contains(lower, "users") {
		h.s.publish(Change{Topic: TopicAccounts})
	}
	if strings.Contains(lower, "events") {
		h.s.publish(Change{Topic: TopicEvents})
	}
}
