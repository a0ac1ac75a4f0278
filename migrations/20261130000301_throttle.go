package migrations

// Failure counters and rate-limit entries live in the database so that
// every instance of the site sees the same ones (docs/throttling.md).
// Times are Unix milliseconds: compared as numbers on both databases.
//
// failure_counters: one row per key ("pair:…", "addr:…", "acct:…",
// "signup:…"), counting failures until expires_at.
// rate_limits: the entries of Fiber's limiter middleware (an opaque
// value per key), through models.LimiterStore.
//
// On PostgreSQL both are UNLOGGED: a limited API request then costs no
// WAL flush (3.5 ms a write on our test machine, against 0.3 ms), and what
// they hold may be lost in a crash or a failover at little cost (counts
// start again).
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`CREATE UNLOGGED TABLE failure_counters (
				key VARCHAR(200) PRIMARY KEY,
				hits INTEGER NOT NULL,
				expires_at BIGINT NOT NULL
			)`,
			`CREATE INDEX failure_counters_expires_idx ON failure_counters (expires_at)`,
			`CREATE UNLOGGED TABLE rate_limits (
				key VARCHAR(200) PRIMARY KEY,
				value BYTEA NOT NULL,
				expires_at BIGINT NOT NULL
			)`,
			`CREATE INDEX rate_limits_expires_idx ON rate_limits (expires_at)`,
		},
		SQLite: []string{
			`CREATE TABLE failure_counters (
				key VARCHAR(200) PRIMARY KEY,
				hits INTEGER NOT NULL,
				expires_at BIGINT NOT NULL
			)`,
			`CREATE INDEX failure_counters_expires_idx ON failure_counters (expires_at)`,
			`CREATE TABLE rate_limits (
				key VARCHAR(200) PRIMARY KEY,
				value BLOB NOT NULL,
				expires_at BIGINT NOT NULL
			)`,
			`CREATE INDEX rate_limits_expires_idx ON rate_limits (expires_at)`,
		},
	}), inTx(Statements{
		PG:     []string{`DROP TABLE IF EXISTS rate_limits`, `DROP TABLE IF EXISTS failure_counters`},
		SQLite: []string{`DROP TABLE IF EXISTS rate_limits`, `DROP TABLE IF EXISTS failure_counters`},
	}))
}
