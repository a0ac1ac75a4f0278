package migrations

// Passkeys (WebAuthn credentials): the credential's id (base64url, how the
// browser names it at sign-in) and the library's record of it (public key,
// sign count, flags) as JSON, with the name its owner gave it.
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`CREATE TABLE passkeys (
				id BIGSERIAL PRIMARY KEY,
				user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
				credential_id VARCHAR(1400) NOT NULL,
				name VARCHAR(64) NOT NULL DEFAULT '',
				data TEXT NOT NULL,
				created_at TIMESTAMPTZ NOT NULL,
				last_used_at TIMESTAMPTZ
			)`,
			`CREATE UNIQUE INDEX passkeys_credential_id_key ON passkeys (credential_id)`,
			`CREATE INDEX passkeys_user_idx ON passkeys (user_id)`,
		},
		SQLite: []string{
			`CREATE TABLE passkeys (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
				credential_id VARCHAR(1400) NOT NULL,
				name VARCHAR(64) NOT NULL DEFAULT '',
				data TEXT NOT NULL,
				created_at TIMESTAMP NOT NULL,
				last_used_at TIMESTAMP
			)`,
			`CREATE UNIQUE INDEX passkeys_credential_id_key ON passkeys (credential_id)`,
			`CREATE INDEX passkeys_user_idx ON passkeys (user_id)`,
		},
	}), inTx(Statements{
		PG:     []string{`DROP TABLE IF EXISTS passkeys`},
		SQLite: []string{`DROP TABLE IF EXISTS passkeys`},
	}))
}
