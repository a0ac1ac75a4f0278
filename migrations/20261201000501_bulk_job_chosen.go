package migrations

// bulk_jobs.chosen_id: how far (by account id) the worker has chosen a
// job's accounts into bulk_job_items. Starting a job no longer chooses
// them inside the request (seconds at a million accounts, holding
// SQLite's write lock): the worker does, one range of ids per short
// transaction, before the batches. Jobs made before this had theirs
// chosen already.
func init() {
	up := []string{
		`ALTER TABLE bulk_jobs ADD COLUMN chosen_id BIGINT NOT NULL DEFAULT 0`,
		`UPDATE bulk_jobs SET chosen_id = max_id`,
	}
	down := []string{`ALTER TABLE bulk_jobs DROP COLUMN chosen_id`}
	Migrations.MustRegister(inTx(Statements{PG: up, SQLite: up}), inTx(Statements{PG: down, SQLite: down}))
}
