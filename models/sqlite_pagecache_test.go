package models_test

import (
	"context"
	"strings"
	"testing"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// SQLite's connections cache the pages they read in the block Open sets up
// once per process, not in memory malloc'd a page at a time
// (models/sqlite_pagecache.go): reading a table fills slots of the block,
// nothing overflows to malloc, and a write from another connection, which
// empties the reader's cache, hands its slots back for the next read.
// SQLite only: PostgreSQL's buffers are the server's.
func TestSQLitePageCacheBlock(t *testing.T) {
	ctx := context.Background()
	db := modelstest.Open(t, "sqlite")
	slots, _, _ := models.PageCacheStats()
	if slots == 0 {
		t.Fatalf("SQLite's page caches are not in a block (SQLITE_CONFIG_PAGECACHE): %v; models.Open must open the process's first SQLite connection",
			models.PageCacheError())
	}
	// The reader is held from the start, so that the rows are written
	// through other connections and its cache starts empty.
	reader, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reader.Close() }()
	if _, err := db.ExecContext(ctx, `CREATE TABLE cache_probe (id INTEGER PRIMARY KEY, body TEXT)`); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("x", 3000) // a row a page: 2,000 rows are ~2,000 pages
	if _, err := db.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2000)
		INSERT INTO cache_probe (id, body) SELECT i, ? FROM n`, body); err != nil {
		t.Fatal(err)
	}
	read := func() {
		t.Helper()
		var n int
		if err := reader.QueryRowContext(ctx, `SELECT count(*) FROM cache_probe WHERE length(body) = 3000`).Scan(&n); err != nil || n != 2000 {
			t.Fatalf("read the probe table: %d rows, %v", n, err)
		}
	}
	_, before, overBefore := models.PageCacheStats()
	read()
	_, after, overAfter := models.PageCacheStats()
	if after-before < 1500 {
		t.Errorf("reading ~2,000 pages took %d slots of the block (%d before, %d after); want the pages cached in the block", after-before, before, after)
	}
	if overAfter != overBefore {
		t.Errorf("page cache overflowed to malloc: %d bytes before, %d after, with %d of %d slots used", overBefore, overAfter, after, slots)
	}
	// Another connection writes: the reader's next read empties its cache
	// and fills it again from the same slots.
	if _, err := db.ExecContext(ctx, `UPDATE cache_probe SET body = body WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	read()
	_, again, overAgain := models.PageCacheStats()
	if again > after+100 || overAgain != overBefore {
		t.Errorf("after another connection's write the reader's cache grew the block's use from %d to %d slots (overflow %d bytes); want its emptied slots reused",
			after, again, overAgain-overBefore)
	}
}
