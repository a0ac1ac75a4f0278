// Package modelstest runs tests on every database: SQLite in a temporary
// file and PostgreSQL in a database made for the test run and dropped after.
package modelstest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/webmin/webmin/migrations"
	"github.com/webmin/webmin/models"
)

// DefaultAdminURL is the PostgreSQL server the tests use unless
// TEST_DATABASE_URL names another; the tests create their own database on it.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var pgURL string // the database made for this run

// Main wraps a package's TestMain: it makes a PostgreSQL database for the
// run, runs the tests, and drops it. PostgreSQL being down fails the run.
func Main(m *testing.M) {
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		admin = DefaultAdminURL
	}
	name := "webmin_test_" + randomHex(6)
	adminDB, err := openPG(admin)
	if err == nil {
		_, err = adminDB.Exec("CREATE DATABASE " + name)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "\nmodelstest: PostgreSQL is required for the tests and is not reachable at %s:\n  %v\n"+
			"Start it (bash .ci/run does: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)\n"+
			"or point TEST_DATABASE_URL at a server where the user may create databases.\n\n", redact(admin), err)
		os.Exit(2)
	}
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	pgURL = u.String()
	// pg_trgm goes to public once, where every test's search path finds
	// it: an extension exists once per database, not per schema.
	if err := createExtension(pgURL); err != nil {
		fmt.Fprintf(os.Stderr, "modelstest: %v\n", err)
		_, _ = adminDB.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		os.Exit(2)
	}

	code := m.Run()

	_, err = adminDB.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	if err != nil {
		fmt.Fprintf(os.Stderr, "modelstest: drop %s: %v\n", name, err)
	}
	_ = adminDB.Close()
	os.Exit(code)
}

func openPG(dsn string) (*sql.DB, error) {
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn), pgdriver.WithTimeout(5*time.Second)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		return nil, err
	}
	return db, nil
}

func createExtension(dsn string) error {
	db, err := openPG(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
	return err
}

// searchPathConnector puts each new connection in the test's schema, with
// public (where the extensions live) behind it. pgdriver's own
// search_path parameter takes a single schema only.
type searchPathConnector struct {
	driver.Connector
	schema string
}

func (c searchPathConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := cn.(driver.ExecerContext).ExecContext(ctx, "SET search_path TO "+c.schema+", public", nil); err != nil {
		_ = cn.Close()
		return nil, err
	}
	return cn, nil
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return "(unparseable URL)"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// DBNames are the databases every test runs on.
var DBNames = []string{"sqlite", "pg"}

// EachDB runs fn as a subtest on each database, each time on a fresh,
// migrated, empty schema.
func EachDB(t *testing.T, fn func(t *testing.T, db *bun.DB)) {
	t.Helper()
	for _, name := range DBNames {
		t.Run(name, func(t *testing.T) {
			db := Open(t, name)
			fn(t, db)
		})
	}
}

// Open returns a fresh, migrated database of the named kind, closed (and
// for PostgreSQL its schema dropped) when the test ends.
func Open(t testing.TB, name string) *bun.DB {
	t.Helper()
	db := OpenEmpty(t, name)
	if _, err := migrations.Up(context.Background(), db); err != nil {
		t.Fatalf("migrate %s: %v", name, err)
	}
	return db
}

// OpenEmpty is Open without the migrations.
func OpenEmpty(t testing.TB, name string) *bun.DB {
	t.Helper()
	ctx := context.Background()
	switch name {
	case "sqlite":
		db, err := models.Open(ctx, filepath.Join(t.TempDir(), "test.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	case "pg":
		return openSchema(t, "")
	}
	t.Fatalf("modelstest: unknown database %q", name)
	return nil
}

// OpenPGVia is Open("pg") with the connections made through addr
// (host:port), e.g. a proxy the test can cut to stage an outage.
func OpenPGVia(t testing.TB, addr string) *bun.DB {
	t.Helper()
	db := openSchema(t, addr)
	if _, err := migrations.Up(context.Background(), db); err != nil {
		t.Fatalf("migrate pg: %v", err)
	}
	return db
}

// openSchema makes a fresh schema in the run's database, and a pool whose
// connections use it (reached through addr when not "").
func openSchema(t testing.TB, addr string) *bun.DB {
	t.Helper()
	if pgURL == "" {
		t.Fatal("modelstest: call modelstest.Main from the package's TestMain")
	}
	schema := "t_" + randomHex(6)
	setup, err := openPG(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := setup.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	opts := []pgdriver.Option{pgdriver.WithDSN(pgURL), pgdriver.WithResetSessionFunc(models.DropKilledConn)}
	if addr != "" {
		opts = append(opts, pgdriver.WithAddr(addr))
	}
	sqldb := sql.OpenDB(models.RetryReads(searchPathConnector{pgdriver.NewConnector(opts...), schema}))
	sqldb.SetMaxOpenConns(16)
	db := bun.NewDB(sqldb, pgdialect.New())
	t.Cleanup(func() {
		_ = db.Close()
		_, _ = setup.Exec("DROP SCHEMA " + schema + " CASCADE")
		_ = setup.Close()
	})
	return db
}

// FastArgon2 keeps password hashing cheap in tests; the real cost is
// measured in the benchmarks.
var FastArgon2 = models.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// Service returns a users service on db with cheap hashing and a clock the
// test controls through *Clock.
func Service(db *bun.DB, clock *Clock) *models.Service {
	return models.NewService(db, models.Options{Argon2: FastArgon2, Now: clock.Now,
		SecretKey: []byte("test-key-for-secrets-at-rest")})
}

// Clock is a settable clock for tests, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at the current time.
func NewClock() *Clock { return &Clock{t: time.Now().UTC().Truncate(time.Second)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// DatabaseURL returns the URL of a fresh, empty PostgreSQL database of its
// own (dropped when the test ends), for code that opens DATABASE_URL itself
// such as the command line.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	if pgURL == "" {
		t.Fatal("modelstest: call modelstest.Main from the package's TestMain")
	}
	admin, err := openPG(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	name := "webmin_test_" + randomHex(6)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		_ = admin.Close()
	})
	u, _ := url.Parse(pgURL)
	u.Path = "/" + name
	return u.String()
}
