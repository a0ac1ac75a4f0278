package models

import (
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
