package models

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// The console cache: fresh within the TTL; once stale, one caller
// recomputes while the others get the stale value; a first computation
// makes the others wait for it; a clear drops everything, including what
// was being computed when it came.
func TestConsoleCacheServesStaleWhileOneRecomputes(t *testing.T) {
	var c consoleCache
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ttl := 15 * time.Second

	_, ok, refresh, gen, wait := c.lookup("k", t0, ttl)
	if ok || !refresh || wait != nil {
		t.Fatalf("empty cache: ok %v refresh %v wait %v", ok, refresh, wait)
	}
	_, _, refresh2, _, wait2 := c.lookup("k", t0, ttl)
	if refresh2 || wait2 == nil {
		t.Fatal("a second first request doesn't wait for the first")
	}
	c.put("k", 1, t0, gen)
	c.done("k")
	select {
	case <-wait2:
	default:
		t.Fatal("the waiter is not woken")
	}
	if v, ok, refresh, _, _ := c.lookup("k", t0.Add(ttl-time.Second), ttl); !ok || refresh || v != 1 {
		t.Fatalf("fresh: %v %v %v", v, ok, refresh)
	}
	stale := t0.Add(ttl + time.Second)
	v, ok, refresh, gen, _ := c.lookup("k", stale, ttl)
	if !ok || !refresh || v != 1 {
		t.Fatalf("stale, first caller: %v %v %v (want the old value and refresh)", v, ok, refresh)
	}
	if v, ok, refresh, _, wait := c.lookup("k", stale, ttl); !ok || refresh || v != 1 || wait != nil {
		t.Fatalf("stale, second caller: %v %v %v (want the old value at once)", v, ok, refresh)
	}
	c.done("k") // the refresh failed: the next caller tries again
	if _, _, refresh, _, _ := c.lookup("k", stale, ttl); !refresh {
		t.Fatal("after a failed refresh, nobody recomputes")
	}
	c.put("k", 2, stale, gen)
	c.done("k")
	if v, _, refresh, _, _ := c.lookup("k", stale, ttl); v != 2 || refresh {
		t.Fatalf("after the refresh: %v %v", v, refresh)
	}
	if _, ok, _, _, _ := c.lookup("k", stale.Add(staleFor*ttl), ttl); ok {
		t.Fatal("a value far past its TTL is still served")
	}
	c.done("k")

	// A computation that began before a change is not kept.
	_, _, _, gen, _ = c.lookup("j", stale, ttl)
	c.clear("")
	c.put("j", "before the change", stale, gen)
	c.done("j")
	if _, ok, _, _, _ := c.lookup("j", stale, ttl); ok {
		t.Fatal("a value computed before a clear was kept")
	}
	c.done("j")

	for i := 0; i < maxConsoleCache+10; i++ {
		c.put(time.Duration(i).String(), i, t0.Add(time.Duration(i)*time.Millisecond), c.gen)
	}
	if n := len(c.entries); n > maxConsoleCache {
		t.Fatalf("%d entries, more than %d", n, maxConsoleCache)
	}
}

// A stale value is answered at once and recomputed behind the request,
// which may end (its context cancelled) before the recomputation does.
func TestCachedRecomputesStaleBehindTheRequest(t *testing.T) {
	ttl := 15 * time.Second
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := &Service{opts: Options{Now: func() time.Time { return now }, StatsTTL: ttl}, log: slog.Default()}
	get := func(ctx context.Context, compute func(context.Context) (int, error)) int {
		t.Helper()
		v, err := cached(ctx, s, "k", compute)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	unused := func(context.Context) (int, error) { return 0, errors.New("computed when it should not be") }
	if v := get(context.Background(), func(context.Context) (int, error) { return 1, nil }); v != 1 {
		t.Fatalf("first: %d", v)
	}

	now = now.Add(ttl + time.Second)
	release := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	v := get(ctx, func(ctx context.Context) (int, error) {
		<-release
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return 2, nil
	})
	if v != 1 {
		t.Fatalf("stale: got %d, want the stale 1 at once", v)
	}
	cancel() // the request is over; its recomputation is not
	if v := get(context.Background(), unused); v != 1 {
		t.Fatalf("while recomputing: %d", v)
	}
	close(release)
	deadline := time.Now().Add(2 * time.Second)
	for get(context.Background(), unused) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the recomputed value never came")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
