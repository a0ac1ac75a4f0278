package migrations

// Two-factor sign-in: users.mfa_enabled (cheap to show in lists and the
// API), the TOTP secret of each account (with the last time step used, so
// that a code works once), and the recovery codes (only their SHA-256).
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`ALTER TABLE users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT FALSE`,
			`CREATE TABLE totp_secrets (
				user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
				secret VARCHAR(128) NOT NULL,
				last_step BIGINT NOT NULL DEFAULT 0,
				created_at TIMESTAMPTZ NOT NULL,
				confirmed_at TIMESTAMPTZ
			)`,
			`CREATE TABLE recovery_codes (
				id BIGSERIAL PRIMARY KEY,
				user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
				hash VARCHAR(64) NOT NULL,
				created_at TIMESTAMPTZ NOT NULL,
				used_at TIMESTAMPTZ
			)`,
			`CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id)`,
		},
		SQLite: []string{
			`ALTER TABLE users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT FALSE`,
			`CREATE TABLE totp_secrets (
				user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
				secret VARCHAR(128) NOT NULL,
				last_step INTEGER NOT NULL DEFAULT 0,
				created_at TIMESTAMP NOT NULL,
				confirmed_at TIMESTAMP
			)`,
			`CREATE TABLE recovery_codes (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
				hash VARCHAR(64) NOT NULL,
				created_at TIMESTAMP NOT NULL,
				used_at TIMESTAMP
			)`,
			`CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id)`,
		},
	}), inTx(Statements{
		PG: []string{
			`DROP TABLE IF EXISTS recovery_codes`,
			`DROP TABLE IF EXISTS totp_secrets`,
			`ALTER TABLE users DROP COLUMN IF EXISTS mfa_enabled`,
		},
		SQLite: []string{
			`DROP TABLE IF EXISTS recovery_codes`,
			`DROP TABLE IF EXISTS totp_secrets`,
			`ALTER TABLE users DROP COLUMN mfa_enabled`,
		},
	}))
}
