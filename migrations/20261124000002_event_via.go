package migrations

// events.via says how an action came in when it was not through the pages:
// "API key wm_xxxxxxxx" for the JSON API, so that the audit log tells a
// key's actions from its creator's own.
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG:     []string{`ALTER TABLE events ADD COLUMN via VARCHAR(64) NOT NULL DEFAULT ''`},
		SQLite: []string{`ALTER TABLE events ADD COLUMN via VARCHAR(64) NOT NULL DEFAULT ''`},
	}), inTx(Statements{
		PG:     []string{`ALTER TABLE events DROP COLUMN IF EXISTS via`},
		SQLite: []string{`ALTER TABLE events DROP COLUMN via`},
	}))
}
