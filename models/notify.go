package models

import (
	"context"
	"sync"

	"github.com/uptrace/bun"
)

// Listeners of the audit events: side effects that follow a change (the
// site scripts' hooks) attach here instead of to each operation. A
// listener hears an event once it is in the database: at once for an
// event written on its own, after the commit for one written inside a
// transaction (and never when that transaction rolls back).

type listeners struct {
	mu  sync.RWMutex
	fns []func(context.Context, Event)
}

// Subscribe adds fn to the listeners of every event the service writes.
// fn runs on the goroutine of the change, so it must return quickly
// (hand the event to a queue of its own).
func (s *Service) Subscribe(fn func(ctx context.Context, ev Event)) {
	s.listeners.mu.Lock()
	s.listeners.fns = append(s.listeners.fns, fn)
	s.listeners.mu.Unlock()
}

// announce tells the listeners of ev, or keeps it for after the commit
// when it was written in a transaction begun by inTx or runInTx.
func (s *Service) announce(ctx context.Context, db bun.IDB, ev Event) {
	if _, inTx := db.(bun.Tx); inTx {
		if p, ok := ctx.Value(pendingKey{}).(*pendingEvents); ok {
			p.s = s
			p.events = append(p.events, ev)
			return
		}
	}
	s.listeners.mu.RLock()
	fns := s.listeners.fns
	s.listeners.mu.RUnlock()
	for _, fn := range fns {
		fn(ctx, ev)
	}
}

type pendingKey struct{}

type pendingEvents struct {
	s      *Service
	events []Event
}

// runInTx runs fn in a new transaction and announces the events it wrote
// once it committed.
func (s *Service) runInTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	return runCollecting(ctx, s.db, fn)
}

// runCollecting runs fn in a new transaction of db, keeping the events
// written in it for the listeners until the commit.
func runCollecting(ctx context.Context, db bun.IDB, fn func(ctx context.Context, tx bun.Tx) error) error {
	p := &pendingEvents{}
	if err := db.RunInTx(context.WithValue(ctx, pendingKey{}, p), nil, fn); err != nil {
		return err
	}
	for _, ev := range p.events {
		p.s.announce(ctx, p.s.db, ev)
	}
	return nil
}
