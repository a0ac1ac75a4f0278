package migrations

// API keys for the JSON API: only the SHA-256 of each key's secret is
// kept, with a short visible prefix (wm_xxxxxxxx) to find it by. A key acts
// as its creator, so it goes when the creator is purged.
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`CREATE TABLE api_keys (
				id BIGSERIAL PRIMARY KEY,
				name VARCHAR(100) NOT NULL,
				prefix VARCHAR(16) NOT NULL,
				secret_hash CHAR(64) NOT NULL,
				created_by BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
				created_at TIMESTAMPTZ NOT NULL,
				last_used_at TIMESTAMPTZ,
				last_used_ip VARCHAR(64) NOT NULL DEFAULT '',
				revoked_at TIMESTAMPTZ,
				revoked_by BIGINT REFERENCES users (id) ON DELETE SET NULL
			)`,
			`CREATE UNIQUE INDEX api_keys_prefix_key ON api_keys (prefix)`,
			`CREATE INDEX api_keys_created_by_idx ON api_keys (created_by, id)`,
		},
		SQLite: []string{
			`CREATE TABLE api_keys (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				name VARCHAR(100) NOT NULL,
				prefix VARCHAR(16) NOT NULL,
				secret_hash CHAR(64) NOT NULL,
				created_by INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
				created_at TIMESTAMP NOT NULL,
				last_used_at TIMESTAMP,
				last_used_ip VARCHAR(64) NOT NULL DEFAULT '',
				revoked_at TIMESTAMP,
				revoked_by INTEGER REFERENCES users (id) ON DELETE SET NULL
			)`,
			`CREATE UNIQUE INDEX api_keys_prefix_key ON api_keys (prefix)`,
			`CREATE INDEX api_keys_created_by_idx ON api_keys (created_by, id)`,
		},
	}), inTx(Statements{
		PG:     []string{`DROP TABLE IF EXISTS api_keys`},
		SQLite: []string{`DROP TABLE IF EXISTS api_keys`},
	}))
}
