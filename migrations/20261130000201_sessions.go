package migrations

// Server-side sessions: one row per signed-in browser, found by the
// SHA-256 of the secret its cookie carries (the secret itself is never
// stored). A pending row is a sign-in that passed its first factor and
// waits for the second; it grants nothing else.
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`CREATE TABLE sessions (
				id BIGSERIAL PRIMARY KEY,
				hash VARCHAR(64) NOT NULL,
				user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
				pending BOOLEAN NOT NULL DEFAULT FALSE,
				remember BOOLEAN NOT NULL DEFAULT FALSE,
				method VARCHAR(16) NOT NULL DEFAULT '',
				session_version BIGINT NOT NULL,
				ip VARCHAR(64) NOT NULL DEFAULT '',
				user_agent VARCHAR(500) NOT NULL DEFAULT '',
				created_at TIMESTAMPTZ NOT NULL,
				last_seen_at TIMESTAMPTZ NOT NULL,
				expires_at TIMESTAMPTZ NOT NULL
			)`,
			`CREATE UNIQUE INDEX sessions_hash_key ON sessions (hash)`,
			`CREATE INDEX sessions_user_idx ON sessions (user_id, last_seen_at)`,
			`CREATE INDEX sessions_expires_at_idx ON sessions (expires_at)`,
		},
		SQLite: []string{
			`CREATE TABLE sessions (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				hash VARCHAR(64) NOT NULL,
				user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
				pending BOOLEAN NOT NULL DEFAULT FALSE,
				remember BOOLEAN NOT NULL DEFAULT FALSE,
				method VARCHAR(16) NOT NULL DEFAULT '',
				session_version INTEGER NOT NULL,
				ip VARCHAR(64) NOT NULL DEFAULT '',
				user_agent VARCHAR(500) NOT NULL DEFAULT '',
				created_at TIMESTAMP NOT NULL,
				last_seen_at TIMESTAMP NOT NULL,
				expires_at TIMESTAMP NOT NULL
			)`,
			`CREATE UNIQUE INDEX sessions_hash_key ON sessions (hash)`,
			`CREATE INDEX sessions_user_idx ON sessions (user_id, last_seen_at)`,
			`CREATE INDEX sessions_expires_at_idx ON sessions (expires_at)`,
		},
	}), inTx(Statements{
		PG:     []string{`DROP TABLE IF EXISTS sessions`},
		SQLite: []string{`DROP TABLE IF EXISTS sessions`},
	}))
}
