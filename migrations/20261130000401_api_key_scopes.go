package migrations

// Scopes, expiry and kind on API keys: "read" keys can't change anything,
// a key may stop working at a set time, and a member's personal token
// (kind "token", made for their own account) is told apart from a key an
// admin or the command line made (kind "key").
func init() {
	add := []string{
		`ALTER TABLE api_keys ADD COLUMN scope VARCHAR(20) NOT NULL DEFAULT 'read write'`,
		`ALTER TABLE api_keys ADD COLUMN kind VARCHAR(10) NOT NULL DEFAULT 'key'`,
		`CREATE INDEX api_keys_kind_idx ON api_keys (kind, created_by)`,
	}
	drop := []string{
		`DROP INDEX IF EXISTS api_keys_kind_idx`,
		`ALTER TABLE api_keys DROP COLUMN expires_at`,
		`ALTER TABLE api_keys DROP COLUMN kind`,
		`ALTER TABLE api_keys DROP COLUMN scope`,
	}
	Migrations.MustRegister(inTx(Statements{
		PG:     append([]string{`ALTER TABLE api_keys ADD COLUMN expires_at TIMESTAMPTZ`}, add...),
		SQLite: append([]string{`ALTER TABLE api_keys ADD COLUMN expires_at TIMESTAMP`}, add...),
	}), inTx(Statements{PG: drop, SQLite: drop}))
}
