package migrations

// bulk_job_items holds the accounts a bulk job will change, chosen once
// when it starts (by the filter, with whatever index suits it best):
// each batch then reads the next ids by primary key and deletes them as
// it goes, however the filter is written and however its matches are
// spread over the users table. No foreign key: a check per row would
// double the cost of choosing 100,000 accounts, and the service deletes
// a job's items itself when the job ends.
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`CREATE TABLE bulk_job_items (
				job_id BIGINT NOT NULL,
				user_id BIGINT NOT NULL,
				PRIMARY KEY (job_id, user_id)
			)`,
		},
		SQLite: []string{
			`CREATE TABLE bulk_job_items (
				job_id INTEGER NOT NULL,
				user_id INTEGER NOT NULL,
				PRIMARY KEY (job_id, user_id)
			) WITHOUT ROWID`,
		},
	}), inTx(Statements{
		PG:     []string{`DROP TABLE IF EXISTS bulk_job_items`},
		SQLite: []string{`DROP TABLE IF EXISTS bulk_job_items`},
	}))
}
