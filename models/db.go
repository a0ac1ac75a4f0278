package models

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"
)

// DefaultSQLitePath is where the database lives when DATABASE_URL is unset.
const DefaultSQLitePath = "data/webmin.db"

// Open connects to the database named by url: "" or a sqlite:/file: URL
// selects SQLite (created on first use), postgres:// selects PostgreSQL.
func Open(ctx context.Context, dsn string) (*bun.DB, error) {
	var db *bun.DB
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		sqldb := sql.OpenDB(RetryReads(pgdriver.NewConnector(pgdriver.WithDSN(dsn), pgdriver.WithResetSessionFunc(DropKilledConn))))
		n := 4 * runtime.GOMAXPROCS(0)
		sqldb.SetMaxOpenConns(n)
		sqldb.SetMaxIdleConns(n)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		db = bun.NewDB(sqldb, pgdialect.New())
	default:
		path, err := sqlitePath(dsn)
		if err != nil {
			return nil, err
		}
		if path != ":memory:" {
			if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
				return nil, fmt.Errorf("create database directory: %w", err)
			}
		}
		q := url.Values{}
		// SQLite's default page cache is 2 MB per connection: at a million
		// accounts every index lookup would go back to the file. 32 MB
		// (pageCacheConnBytes, in the process's page-cache block,
		// setupPageCache) keeps each connection's hot pages; the others are read from the operating system's
		// cache. Not through a memory map: each connection maps the file
		// apart, and on a virtual machine a mapped page's first touch costs
		// a page fault of about 20 µs where a read costs 2-4, so a rare
		// search's first read of its 9,700 matches took 160-210 ms mapped
		// and 56-66 read (docs/performance.md, "session 10").
		for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)",
			fmt.Sprintf("cache_size(-%d)", pageCacheConnBytes>>10), "mmap_size(0)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		// WAL lets readers run beside the one writer; more connections than
		// that only queue on SQLite's lock.
		n := max(4, runtime.GOMAXPROCS(0)*2)
		setupPageCache(path, n)
		sqldb, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, err
		}
		sqldb.SetMaxOpenConns(n)
		sqldb.SetMaxIdleConns(n)
		sqldb.SetConnMaxLifetime(0)
		db = bun.NewDB(sqldb, sqlitedialect.New())
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return db, nil
}

func sqlitePath(dsn string) (string, error) {
	switch {
	case dsn == "":
		return DefaultSQLitePath, nil
	case strings.HasPrefix(dsn, "sqlite://"):
		return strings.TrimPrefix(dsn, "sqlite://"), nil
	case strings.HasPrefix(dsn, "sqlite:"):
		return strings.TrimPrefix(dsn, "sqlite:"), nil
	case strings.HasPrefix(dsn, "file:"):
		return strings.TrimPrefix(dsn, "file:"), nil
	case !strings.Contains(dsn, "://"):
		return dsn, nil
	}
	return "", fmt.Errorf("DATABASE_URL: unsupported scheme in %q (use postgres://... or a SQLite file path)", redactDSN(dsn))
}

// redactDSN hides the password of a database URL for messages.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// IsPostgres reports whether db talks to PostgreSQL.
func IsPostgres(db bun.IDB) bool {
	return db.Dialect().Name() == dialect.PG
}
