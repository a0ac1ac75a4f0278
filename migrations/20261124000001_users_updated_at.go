package migrations

// An index on users.updated_at, so that the users service can ask for the
// newest change (max(updated_at)) in one index step: each process keeps
// recently read accounts in memory and polls it to notice changes made by
// another process (a second server, the command line).
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG:     []string{`CREATE INDEX users_updated_at_idx ON users (updated_at)`},
		SQLite: []string{`CREATE INDEX users_updated_at_idx ON users (updated_at)`},
	}), inTx(Statements{
		PG:     []string{`DROP INDEX IF EXISTS users_updated_at_idx`},
		SQLite: []string{`DROP INDEX IF EXISTS users_updated_at_idx`},
	}))
}
