package site

import (
	"context"
	"errors"
	"runtime/metrics"
	"sync"
	"time"
)

// budget is the context a Lua state runs a call with: it ends once the
// script itself has run for its limit. Time spent in the service calls it
// makes (a database round trip, a password hash) is paused out, so that
// SITE_TIMEOUT measures the script's own work, as a CPU-time limit would;
// those calls are bounded by the request's own context instead.
//
// It also bounds memory: once a call has run for checkEvery, the bytes
// the process allocated since are read every checkEvery, and the call
// ends past maxAlloc. Go can't tell one goroutine's allocations, so this
// counts the whole process's: a bound that stops a runaway script (a
// string doubled in a loop) long before it hurts the server, and that no
// call of ordinary length ever reaches.
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
	allocs uint64 // the process's allocated bytes at the first check (0 before)
}

// The memory bound (see budget).
const (
	checkEvery = 10 * time.Millisecond
	maxAlloc   = 256 << 20
)

// errMemory ends a call that allocated too much.
var errMemory = errors.New("allocated too much memory")

func newBudget(parent context.Context, limit time.Duration) *budget {
	b := &budget{parent: parent, limit: limit, done: make(chan struct{}), start: time.Now()}
	b.mu.Lock() // tick may run before AfterFunc returns: it waits for b.timer
	b.timer = time.AfterFunc(min(limit, checkEvery), b.tick)
	b.mu.Unlock()
	b.stopParent = context.AfterFunc(parent, func() { b.end(parent.Err()) })
	return b
}

// tick checks the time and the memory of a call that runs on.
func (b *budget) tick() {
	b.mu.Lock()
	if b.err != nil || b.paused > 0 {
		b.mu.Unlock()
		return
	}
	used := b.used + time.Since(b.start)
	if used >= b.limit {
		b.mu.Unlock()
		b.end(context.DeadlineExceeded)
		return
	}
	now := allocatedBytes()
	if b.allocs == 0 {
		b.allocs = now
	} else if now-b.allocs > maxAlloc {
		b.mu.Unlock()
		b.end(errMemory)
		return
	}
	b.timer.Reset(min(b.limit-used, checkEvery))
	b.mu.Unlock()
}

// allocatedBytes is what the process allocated on the heap so far.
func allocatedBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
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
	b.timer.Reset(min(left, checkEvery))
	b.mu.Unlock()
}

// release frees the timers once the call is over.
func (b *budget) release() {
	b.timer.Stop()
	b.stopParent()
}

// outOfMemory reports whether the script allocated too much.
func (b *budget) outOfMemory() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err == errMemory
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
