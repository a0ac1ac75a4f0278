package models

import (
	"testing"
	"time"
)

// The console cache: fresh within the TTL; once stale, one caller
// recomputes while the others get the stale value; a change clears it.
func TestConsoleCacheServesStaleWhileOneRecomputes(t *testing.T) {
	var c consoleCache
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ttl := 15 * time.Second

	if _, ok, refresh := c.lookup("k", t0, ttl); ok || !refresh {
		t.Fatalf("empty cache: ok %v refresh %v", ok, refresh)
	}
	c.put("k", 1, t0)
	if v, ok, refresh := c.lookup("k", t0.Add(ttl-time.Second), ttl); !ok || refresh || v != 1 {
		t.Fatalf("fresh: %v %v %v", v, ok, refresh)
	}
	stale := t0.Add(ttl + time.Second)
	if v, ok, refresh := c.lookup("k", stale, ttl); !ok || !refresh || v != 1 {
		t.Fatalf("stale, first caller: %v %v %v (want the old value and refresh)", v, ok, refresh)
	}
	if v, ok, refresh := c.lookup("k", stale, ttl); !ok || refresh || v != 1 {
		t.Fatalf("stale, second caller: %v %v %v (want the old value, no refresh)", v, ok, refresh)
	}
	c.done("k") // the refresh failed: the next caller tries again
	if _, _, refresh := c.lookup("k", stale, ttl); !refresh {
		t.Fatal("after a failed refresh, nobody recomputes")
	}
	c.put("k", 2, stale)
	if v, _, refresh := c.lookup("k", stale, ttl); v != 2 || refresh {
		t.Fatalf("after the refresh: %v %v", v, refresh)
	}
	if _, ok, _ := c.lookup("k", stale.Add(staleFor*ttl), ttl); ok {
		t.Fatal("a value far past its TTL is still served")
	}
	c.clear()
	if _, ok, _ := c.lookup("k", stale, ttl); ok {
		t.Fatal("clear left a value")
	}
	for i := 0; i < maxConsoleCache+10; i++ {
		c.put(string(rune('a'+i%26))+time.Duration(i).String(), i, t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := len(c.entries); n > maxConsoleCache {
		t.Fatalf("%d entries, more than %d", n, maxConsoleCache)
	}
}
