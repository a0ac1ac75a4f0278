package models

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite's page caches take their memory from one block that the process
// keeps (SQLITE_CONFIG_PAGECACHE), not from malloc page by page.
//
// Each connection caches the pages it reads, and in WAL mode it empties
// that cache whenever another connection has written since its last read
// (a presence update, a rate-limit counter, a sign-in). Page by page, a
// cache's memory went back to the pure-Go allocator, which decommits what
// it keeps (madvise MADV_DONTNEED), and the next fill faulted on every
// page again: a rare search's 9,718 matches read after another
// connection's write took 456-470 ms where the same read on a warm cache
// took 75 (docs/performance.md, "session 11"). Slots in one block are
// touched once, when SQLite lays them out at start (25 ms for 128 MB
// here), and go from one connection's cache to another's as they are
// emptied and filled: the same read after a write now takes 76-81 ms.
//
// The block is also the caches' budget: when it is nearly used up, a
// connection reuses its own least recently used pages rather than take
// more memory (SQLite's pcache1 under "memory pressure").

// pageCacheConnBytes is what one connection's cache holds at most (its
// cache_size in Open), and what the block holds beyond the database's
// size at start, for it to grow into.
const pageCacheConnBytes = 32 << 20

// sqlitePageSize is the page size the block's slots are cut for, SQLite's
// default and every database this program creates; a database with larger
// pages takes its cache from malloc as before.
const sqlitePageSize = 4096

var pageCache struct {
	once  sync.Once
	slots int // 0 when the block could not be set up
	err   error
}

// setupPageCache gives SQLite its page-cache block before the process opens
// its first connection, sized for the database at path as it is now (the
// file's size, and one connection's cache more to grow into), at most
// conns full caches. It runs once per process; the size holds until the
// process restarts. When SQLite is already initialised (another package
// opened a connection first) the caches keep using malloc, slower to fill
// but not wrong, and PageCacheError says so.
func setupPageCache(path string, conns int) {
	pageCache.once.Do(func() {
		size := int64(0)
		if fi, err := os.Stat(path); err == nil {
			size = fi.Size()
		}
		budget := min(size+pageCacheConnBytes, int64(conns)*pageCacheConnBytes)
		pageCache.slots, pageCache.err = configurePageCache(budget)
	})
}

// configurePageCache hands SQLite a block of budget bytes, in slots of a
// page and the header SQLite keeps beside it (SQLITE_CONFIG_PCACHE_HDRSZ).
// The block is never freed: SQLite uses it until the process ends.
func configurePageCache(budget int64) (slots int, err error) {
	tls := libc.NewTLS()
	defer tls.Close()
	va := libc.Xmalloc(tls, 3*8)
	hdr := libc.Xcalloc(tls, 1, 8)
	defer libc.Xfree(tls, va)
	defer libc.Xfree(tls, hdr)
	if va == 0 || hdr == 0 {
		return 0, errors.New("sqlite page cache: out of memory")
	}
	if rc := sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_PCACHE_HDRSZ, libc.VaList(va, hdr)); rc != sqlite3.SQLITE_OK {
		return 0, fmt.Errorf("sqlite page cache: header size: SQLite error %d", rc)
	}
	slot := (sqlitePageSize + int64(binary.NativeEndian.Uint32(libc.GoBytes(hdr, 4))) + 7) &^ 7
	n := budget / slot
	block := libc.Xmalloc(tls, types.Size_t(n*slot))
	if block == 0 {
		return 0, fmt.Errorf("sqlite page cache: can't allocate %d MB", n*slot>>20)
	}
	if rc := sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_PAGECACHE, libc.VaList(va, block, int32(slot), int32(n))); rc != sqlite3.SQLITE_OK {
		libc.Xfree(tls, block)
		if rc == sqlite3.SQLITE_MISUSE {
			return 0, errors.New("sqlite page cache: SQLite was initialised before the first Open; page caches use malloc")
		}
		return 0, fmt.Errorf("sqlite page cache: SQLite error %d", rc)
	}
	return int(n), nil
}

// PageCacheError says why SQLite's page caches are not in the block, or
// is nil.
func PageCacheError() error { return pageCache.err }

// PageCacheStats reports SQLite's page-cache block: its slots, how many are
// in use, and the bytes of page cache that did not fit in it (malloc'd).
func PageCacheStats() (slots, used int, overflow int64) {
	tls := libc.NewTLS()
	defer tls.Close()
	buf := libc.Xcalloc(tls, 2, 8)
	defer libc.Xfree(tls, buf)
	cur, hi := buf, buf+8
	sqlite3.Xsqlite3_status64(tls, sqlite3.SQLITE_STATUS_PAGECACHE_USED, cur, hi, 0)
	used = int(binary.NativeEndian.Uint64(libc.GoBytes(cur, 8)))
	sqlite3.Xsqlite3_status64(tls, sqlite3.SQLITE_STATUS_PAGECACHE_OVERFLOW, cur, hi, 0)
	overflow = int64(binary.NativeEndian.Uint64(libc.GoBytes(cur, 8)))
	return pageCache.slots, used, overflow
}
