package migrations

// bulk_job_items holds the accounts a bulk job will change, chosen once
// when it starts (by the filter, with whatever index suits it best):
// each batch then reads the next ids by primary key and deletes them as
// it goes, however the filter is written and however its matches are
// spread over the users table.
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`CREATE TABLE bulk_job_items (
				job_id BIGINT NOT NULL REFERENCES bulk_jobs (id) ON DELETE CASCADE,
				user_id BIGINT NOT NULL,
				PRIMARY KEY (job_id, user_id)
			)`,
		},
		SQLite: []string{
			`CREATE TABLE bulk_job_items (
				job_id INTEGER NOT NULL REFERENCES bulk_jobs (id) ON DELETE CASCADE,
				user_id INTEGER NOT NULL,
				PRIMARY KEY (job_id, user_id)
			) WITHOUT ROWID`,
		},
	}), inTx(Statements{
		PG:     []string{`DROP TABLE IF EXISTS bulk_job_items`},
		SQLite: []string{`DROP TABLE IF EXISTS bulk_job_items`},
	}))
}
