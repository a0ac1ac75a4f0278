package migrations

// bulk_jobs holds the bulk actions of the console and the API (ban,
// delete... every account a filter selects), run in batches by whichever
// instance holds the job's lease: its filter, what it does, how far it
// got (cursor_id, the last account id handled) and its counts, so that
// any instance can show its progress or cancel it.
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`CREATE TABLE bulk_jobs (
				id BIGSERIAL PRIMARY KEY,
				actor_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
				action VARCHAR(32) NOT NULL,
				filter TEXT NOT NULL DEFAULT '{}',
				reason VARCHAR(500) NOT NULL DEFAULT '',
				level SMALLINT,
				by_system BOOLEAN NOT NULL DEFAULT FALSE,
				keep_superadmins BOOLEAN NOT NULL DEFAULT FALSE,
				status VARCHAR(16) NOT NULL,
				matched BIGINT NOT NULL DEFAULT 0,
				total BIGINT NOT NULL DEFAULT 0,
				done BIGINT NOT NULL DEFAULT 0,
				skipped TEXT NOT NULL DEFAULT '{}',
				max_id BIGINT NOT NULL DEFAULT 0,
				cursor_id BIGINT NOT NULL DEFAULT 0,
				cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
				lease_until TIMESTAMPTZ,
				error TEXT NOT NULL DEFAULT '',
				ip VARCHAR(64) NOT NULL DEFAULT '',
				user_agent VARCHAR(500) NOT NULL DEFAULT '',
				via VARCHAR(64) NOT NULL DEFAULT '',
				created_at TIMESTAMPTZ NOT NULL,
				updated_at TIMESTAMPTZ NOT NULL,
				finished_at TIMESTAMPTZ
			)`,
			`CREATE INDEX bulk_jobs_status_idx ON bulk_jobs (status, id)`,
		},
		SQLite: []string{
			`CREATE TABLE bulk_jobs (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				actor_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
				action VARCHAR(32) NOT NULL,
				filter TEXT NOT NULL DEFAULT '{}',
				reason VARCHAR(500) NOT NULL DEFAULT '',
				level INTEGER,
				by_system BOOLEAN NOT NULL DEFAULT FALSE,
				keep_superadmins BOOLEAN NOT NULL DEFAULT FALSE,
				status VARCHAR(16) NOT NULL,
				matched INTEGER NOT NULL DEFAULT 0,
				total INTEGER NOT NULL DEFAULT 0,
				done INTEGER NOT NULL DEFAULT 0,
				skipped TEXT NOT NULL DEFAULT '{}',
				max_id INTEGER NOT NULL DEFAULT 0,
				cursor_id INTEGER NOT NULL DEFAULT 0,
				cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
				lease_until TIMESTAMP,
				error TEXT NOT NULL DEFAULT '',
				ip VARCHAR(64) NOT NULL DEFAULT '',
				user_agent VARCHAR(500) NOT NULL DEFAULT '',
				via VARCHAR(64) NOT NULL DEFAULT '',
				created_at TIMESTAMP NOT NULL,
				updated_at TIMESTAMP NOT NULL,
				finished_at TIMESTAMP
			)`,
			`CREATE INDEX bulk_jobs_status_idx ON bulk_jobs (status, id)`,
		},
	}), inTx(Statements{
		PG:     []string{`DROP TABLE IF EXISTS bulk_jobs`},
		SQLite: []string{`DROP TABLE IF EXISTS bulk_jobs`},
	}))
}
