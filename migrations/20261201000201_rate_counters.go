package migrations

// rate_counters: the request limits' shared hit counters (models/ratelimit.go),
// one row per limiter and key, counting hits within a fixed window that
// starts at window_start (Unix milliseconds, a multiple of the window's
// length, so every instance names the same window). Each instance adds its
// hits with one INSERT … ON CONFLICT DO UPDATE … RETURNING, which is atomic
// on both databases; a row of an older window is started again by the
// first hit of the next. They replace rate_limits, where Fiber's limiter
// kept an opaque entry it read, counted and wrote back (and so could lose a
// hit to another instance counting at the same instant).
//
// UNLOGGED on PostgreSQL, like failure_counters: no WAL flush per write;
// a crash forgets the counts of the current window.
func init() {
	rateLimits := map[string]string{
		"pg": `CREATE UNLOGGED TABLE rate_limits (
				key VARCHAR(200) PRIMARY KEY,
				value BYTEA NOT NULL,
				expires_at BIGINT NOT NULL
			)`,
		"sqlite": `CREATE TABLE rate_limits (
				key VARCHAR(200) PRIMARY KEY,
				value BLOB NOT NULL,
				expires_at BIGINT NOT NULL
			)`,
	}
	counters := `TABLE rate_counters (
				key VARCHAR(200) PRIMARY KEY,
				window_start BIGINT NOT NULL,
				hits BIGINT NOT NULL,
				expires_at BIGINT NOT NULL
			)`
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`CREATE UNLOGGED ` + counters,
			`CREATE INDEX rate_counters_expires_idx ON rate_counters (expires_at)`,
			`DROP TABLE IF EXISTS rate_limits`,
		},
		SQLite: []string{
			`CREATE ` + counters,
			`CREATE INDEX rate_counters_expires_idx ON rate_counters (expires_at)`,
			`DROP TABLE IF EXISTS rate_limits`,
		},
	}), inTx(Statements{
		PG: []string{`DROP TABLE IF EXISTS rate_counters`, rateLimits["pg"],
			`CREATE INDEX rate_limits_expires_idx ON rate_limits (expires_at)`},
		SQLite: []string{`DROP TABLE IF EXISTS rate_counters`, rateLimits["sqlite"],
			`CREATE INDEX rate_limits_expires_idx ON rate_limits (expires_at)`},
	}))
}
