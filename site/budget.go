package site

import (
	"context"
	"sync"
	"time"
)

// budget is the context a Lua state runs a call with: it ends once the
// script itself has run for its limit. Time spent in the service calls it
// makes (a database round trip, a password hash) is paused out, so that
// SITE_TIMEOUT measures the script's own work, as a CPU-time limit would;
// those calls are bounded by the request's own context instead.
type budget struct {
	parent     context.Context
	limit      time.Duration
	done       chan struct{}
	stopParent func() bool

	mu     sync.Mutex
	used   time.Duration
	start  time.Time
	timer  *time.Timer
	paused int
	err    error
}

func newBudget(parent context.Context, limit time.Duration) *budget {
	b := &budget{parent: parent, limit: limit, done: make(chan struct{}), start: time.Now()}
	b.timer = time.AfterFunc(limit, func() { b.end(context.DeadlineExceeded) })
	b.stopParent = context.AfterFunc(parent, func() { b.end(parent.Err()) })
	return b
}

func (b *budget) end(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = err
		close(b.done)
	}
}

// pause stops the clock while the script waits for the service.
func (b *budget) pause() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.paused++
	if b.paused == 1 && b.err == nil {
		b.timer.Stop()
		b.used += time.Since(b.start)
	}
}

// resume starts the clock again after a service call.
func (b *budget) resume() {
	b.mu.Lock()
	b.paused--
	if b.paused > 0 || b.err != nil {
		b.mu.Unlock()
		return
	}
	left := b.limit - b.used
	b.start = time.Now()
	if left <= 0 {
		b.mu.Unlock()
		b.end(context.DeadlineExceeded)
		return
	}
	b.timer.Reset(left)
	b.mu.Unlock()
}

// release frees the timers once the call is over.
func (b *budget) release() {
	b.timer.Stop()
	b.stopParent()
}

// timedOut reports whether the script ran out of its time.
func (b *budget) timedOut() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err == context.DeadlineExceeded
}

func (b *budget) Deadline() (time.Time, bool) { return time.Time{}, false }
func (b *budget) Done() <-chan struct{}       { return b.done }
func (b *budget) Value(key any) any           { return b.parent.Value(key) }

func (b *budget) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}
