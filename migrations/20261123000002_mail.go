package migrations

// E-mail flows: one-time tokens (only their SHA-256 is kept) and the
// outbox, which is both the console's mailbox when no SMTP server is set
// and the durable delivery queue when one is.
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`CREATE TABLE tokens (
				id BIGSERIAL PRIMARY KEY,
				user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
				purpose VARCHAR(16) NOT NULL,
				hash VARCHAR(64) NOT NULL,
				email VARCHAR(254) NOT NULL,
				bound_email VARCHAR(254) NOT NULL DEFAULT '',
				session_version BIGINT NOT NULL,
				created_at TIMESTAMPTZ NOT NULL,
				expires_at TIMESTAMPTZ NOT NULL,
				used_at TIMESTAMPTZ
			)`,
			`CREATE UNIQUE INDEX tokens_hash_key ON tokens (hash)`,
			`CREATE INDEX tokens_user_idx ON tokens (user_id, purpose)`,
			`CREATE INDEX tokens_expires_at_idx ON tokens (expires_at)`,
			`CREATE TABLE outbox (
				id BIGSERIAL PRIMARY KEY,
				kind VARCHAR(32) NOT NULL,
				user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
				to_addr VARCHAR(254) NOT NULL,
				subject VARCHAR(500) NOT NULL,
				text_body TEXT NOT NULL,
				html_body TEXT NOT NULL DEFAULT '',
				transport VARCHAR(16) NOT NULL,
				status VARCHAR(16) NOT NULL,
				attempts INTEGER NOT NULL DEFAULT 0,
				last_error TEXT NOT NULL DEFAULT '',
				created_at TIMESTAMPTZ NOT NULL,
				next_attempt_at TIMESTAMPTZ,
				sent_at TIMESTAMPTZ
			)`,
			`CREATE INDEX outbox_due_idx ON outbox (status, next_attempt_at)`,
			`CREATE INDEX outbox_user_kind_idx ON outbox (user_id, kind, created_at)`,
			`CREATE INDEX outbox_created_at_idx ON outbox (created_at)`,
		},
		SQLite: []string{
			`CREATE TABLE tokens (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
				purpose VARCHAR(16) NOT NULL,
				hash VARCHAR(64) NOT NULL,
				email VARCHAR(254) NOT NULL,
				bound_email VARCHAR(254) NOT NULL DEFAULT '',
				session_version INTEGER NOT NULL,
				created_at TIMESTAMP NOT NULL,
				expires_at TIMESTAMP NOT NULL,
				used_at TIMESTAMP
			)`,
			`CREATE UNIQUE INDEX tokens_hash_key ON tokens (hash)`,
			`CREATE INDEX tokens_user_idx ON tokens (user_id, purpose)`,
			`CREATE INDEX tokens_expires_at_idx ON tokens (expires_at)`,
			`CREATE TABLE outbox (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				kind VARCHAR(32) NOT NULL,
				user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
				to_addr VARCHAR(254) NOT NULL,
				subject VARCHAR(500) NOT NULL,
				text_body TEXT NOT NULL,
				html_body TEXT NOT NULL DEFAULT '',
				transport VARCHAR(16) NOT NULL,
				status VARCHAR(16) NOT NULL,
				attempts INTEGER NOT NULL DEFAULT 0,
				last_error TEXT NOT NULL DEFAULT '',
				created_at TIMESTAMP NOT NULL,
				next_attempt_at TIMESTAMP,
				sent_at TIMESTAMP
			)`,
			`CREATE INDEX outbox_due_idx ON outbox (status, next_attempt_at)`,
			`CREATE INDEX outbox_user_kind_idx ON outbox (user_id, kind, created_at)`,
			`CREATE INDEX outbox_created_at_idx ON outbox (created_at)`,
		},
	}), inTx(Statements{
		PG:     []string{`DROP TABLE IF EXISTS outbox`, `DROP TABLE IF EXISTS tokens`},
		SQLite: []string{`DROP TABLE IF EXISTS outbox`, `DROP TABLE IF EXISTS tokens`},
	}))
}
