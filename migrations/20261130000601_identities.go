package migrations

// Identities link an account to a person at a sign-in provider (GitHub,
// Google, any OpenID Connect issuer): one row per (provider, subject), the
// subject being the provider's stable id for the person. E-mail, name and
// avatar are what the provider said the last time, shown in settings and
// in the console; they are never used to find the account. Purging an
// account removes its identities.
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`CREATE TABLE identities (
				id BIGSERIAL PRIMARY KEY,
				user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
				provider VARCHAR(64) NOT NULL,
				subject VARCHAR(255) NOT NULL,
				email VARCHAR(254) NOT NULL DEFAULT '',
				email_verified BOOLEAN NOT NULL DEFAULT FALSE,
				name VARCHAR(100) NOT NULL DEFAULT '',
				avatar VARCHAR(500) NOT NULL DEFAULT '',
				linked_at TIMESTAMPTZ NOT NULL,
				last_used_at TIMESTAMPTZ
			)`,
			`CREATE UNIQUE INDEX identities_provider_subject_key ON identities (provider, subject)`,
			`CREATE INDEX identities_user_id_idx ON identities (user_id, id)`,
		},
		SQLite: []string{
			`CREATE TABLE identities (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
				provider VARCHAR(64) NOT NULL,
				subject VARCHAR(255) NOT NULL,
				email VARCHAR(254) NOT NULL DEFAULT '',
				email_verified BOOLEAN NOT NULL DEFAULT FALSE,
				name VARCHAR(100) NOT NULL DEFAULT '',
				avatar VARCHAR(500) NOT NULL DEFAULT '',
				linked_at TIMESTAMP NOT NULL,
				last_used_at TIMESTAMP
			)`,
			`CREATE UNIQUE INDEX identities_provider_subject_key ON identities (provider, subject)`,
			`CREATE INDEX identities_user_id_idx ON identities (user_id, id)`,
		},
	}), inTx(Statements{
		PG:     []string{`DROP TABLE IF EXISTS identities`},
		SQLite: []string{`DROP TABLE IF EXISTS identities`},
	}))
}
