package migrations

// Indexes that let every page of the account list and the audit log be
// read from an index alone (docs/performance.md, "Indexes and what they
// cost"):
//
//   - Each sort key's index of users also carries type, level and
//     group_name (PostgreSQL INCLUDE; SQLite as trailing key columns), so a
//     filtered deep page counts its way through the index without reading
//     the accounts, and only the fifty on the page are read.
//   - Sorting by username and by id gets such an index too.
//   - users_type_level_idx becomes (type, group_name, level) carrying every
//     sort key but the username: a filter that keeps few accounts (the
//     20,000 banned ones) reads them from it alone and sorts them, instead
//     of reading each account.
//   - events (created_at, id) and (action, created_at, id) give the audit
//     log's order (newest first, then id) straight from the index.
//   - event_counts: events per action, kept by a trigger, for the audit
//     log's totals.
//
// Building them takes a few seconds per index at a million accounts, during
// which writes to the table wait (the migration runs in one transaction).
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`DROP INDEX IF EXISTS users_created_at_idx`,
			`CREATE INDEX users_created_at_idx ON users (created_at, id) INCLUDE (type, level, group_name)`,
			`DROP INDEX IF EXISTS users_last_login_at_idx`,
			`CREATE INDEX users_last_login_at_idx ON users (last_login_at DESC NULLS LAST, id DESC) INCLUDE (type, level, group_name)`,
			`DROP INDEX IF EXISTS users_last_seen_at_idx`,
			`CREATE INDEX users_last_seen_at_idx ON users (last_seen_at DESC NULLS LAST, id DESC) INCLUDE (type, level, group_name)`,
			`DROP INDEX IF EXISTS users_points_idx`,
			`CREATE INDEX users_points_idx ON users (points, id) INCLUDE (type, level, group_name)`,
			`DROP INDEX IF EXISTS users_level_idx`,
			`CREATE INDEX users_level_idx ON users (level, id) INCLUDE (type, group_name)`,
			`CREATE INDEX users_username_sort_idx ON users (lower(username)) INCLUDE (id, type, level, group_name)`,
			`CREATE INDEX users_id_sort_idx ON users (id) INCLUDE (type, level, group_name)`,
			`DROP INDEX IF EXISTS users_type_level_idx`,
			`CREATE INDEX users_type_level_idx ON users (type, group_name, level)
				INCLUDE (id, created_at, points, last_login_at, last_seen_at)`,
			`DROP INDEX IF EXISTS events_created_at_idx`,
			`CREATE INDEX events_created_at_idx ON events (created_at, id)`,
			`DROP INDEX IF EXISTS events_action_created_at_idx`,
			`CREATE INDEX events_action_created_at_idx ON events (action, created_at, id)`,
			`DROP INDEX IF EXISTS events_action_idx`,
			`LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE`,
			`CREATE TABLE event_counts (action VARCHAR(64) PRIMARY KEY, n BIGINT NOT NULL)`,
			`INSERT INTO event_counts (action, n) SELECT action, count(*) FROM events GROUP BY 1`,
			`CREATE FUNCTION webmin_events_tallied() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				INSERT INTO event_counts AS c (action, n)
					SELECT action, count(*) FROM new_rows GROUP BY 1 ORDER BY 1
					ON CONFLICT (action) DO UPDATE SET n = c.n + excluded.n;
				RETURN NULL;
			END $$`,
			`CREATE TRIGGER events_tallied AFTER INSERT ON events
				REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION webmin_events_tallied()`,
			`ANALYZE users`,
			`ANALYZE events`,
		},
		SQLite: []string{
			`DROP INDEX IF EXISTS users_created_at_idx`,
			`CREATE INDEX users_created_at_idx ON users (created_at, id, type, level, group_name)`,
			`DROP INDEX IF EXISTS users_last_login_at_idx`,
			`CREATE INDEX users_last_login_at_idx ON users (last_login_at, id, type, level, group_name)`,
			`DROP INDEX IF EXISTS users_last_seen_at_idx`,
			`CREATE INDEX users_last_seen_at_idx ON users (last_seen_at, id, type, level, group_name)`,
			`DROP INDEX IF EXISTS users_points_idx`,
			`CREATE INDEX users_points_idx ON users (points, id, type, level, group_name)`,
			`DROP INDEX IF EXISTS users_level_idx`,
			`CREATE INDEX users_level_idx ON users (level, id, type, group_name)`,
			// username itself too: SQLite reads an expression index as covering
			// only when the columns the expression uses are in it.
			`CREATE INDEX users_username_sort_idx ON users (lower(username), username, type, level, group_name)`,
			`CREATE INDEX users_id_sort_idx ON users (id, type, level, group_name)`,
			`DROP INDEX IF EXISTS users_type_level_idx`,
			`CREATE INDEX users_type_level_idx ON users (type, group_name, level, created_at, points, last_login_at, last_seen_at)`,
			`DROP INDEX IF EXISTS events_created_at_idx`,
			`CREATE INDEX events_created_at_idx ON events (created_at, id)`,
			`DROP INDEX IF EXISTS events_action_created_at_idx`,
			`CREATE INDEX events_action_created_at_idx ON events (action, created_at, id)`,
			`DROP INDEX IF EXISTS events_action_idx`,
			`CREATE TABLE event_counts (action TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID`,
			`INSERT INTO event_counts (action, n) SELECT action, count(*) FROM events GROUP BY 1`,
			`CREATE TRIGGER events_tallied AFTER INSERT ON events BEGIN
				INSERT INTO event_counts (action, n) VALUES (NEW.action, 1)
					ON CONFLICT (action) DO UPDATE SET n = n + 1;
			END`,
			`ANALYZE`,
		},
	}), inTx(Statements{
		PG: []string{
			`DROP TRIGGER IF EXISTS events_tallied ON events`,
			`DROP FUNCTION IF EXISTS webmin_events_tallied()`,
			`DROP TABLE IF EXISTS event_counts`,
			`CREATE INDEX IF NOT EXISTS events_action_idx ON events (action, id)`,
			`DROP INDEX IF EXISTS events_action_created_at_idx`,
			`CREATE INDEX events_action_created_at_idx ON events (action, created_at)`,
			`DROP INDEX IF EXISTS events_created_at_idx`,
			`CREATE INDEX events_created_at_idx ON events (created_at)`,
			`DROP INDEX IF EXISTS users_type_level_idx`,
			`CREATE INDEX users_type_level_idx ON users (type, level)`,
			`DROP INDEX IF EXISTS users_id_sort_idx`,
			`DROP INDEX IF EXISTS users_username_sort_idx`,
			`DROP INDEX IF EXISTS users_level_idx`,
			`CREATE INDEX users_level_idx ON users (level, id)`,
			`DROP INDEX IF EXISTS users_points_idx`,
			`CREATE INDEX users_points_idx ON users (points, id)`,
			`DROP INDEX IF EXISTS users_last_seen_at_idx`,
			`CREATE INDEX users_last_seen_at_idx ON users (last_seen_at DESC NULLS LAST, id DESC)`,
			`DROP INDEX IF EXISTS users_last_login_at_idx`,
			`CREATE INDEX users_last_login_at_idx ON users (last_login_at DESC NULLS LAST, id DESC)`,
			`DROP INDEX IF EXISTS users_created_at_idx`,
			`CREATE INDEX users_created_at_idx ON users (created_at, id)`,
		},
		SQLite: []string{
			`DROP TRIGGER IF EXISTS events_tallied`,
			`DROP TABLE IF EXISTS event_counts`,
			`CREATE INDEX IF NOT EXISTS events_action_idx ON events (action, id)`,
			`DROP INDEX IF EXISTS events_action_created_at_idx`,
			`CREATE INDEX events_action_created_at_idx ON events (action, created_at)`,
			`DROP INDEX IF EXISTS events_created_at_idx`,
			`CREATE INDEX events_created_at_idx ON events (created_at)`,
			`DROP INDEX IF EXISTS users_type_level_idx`,
			`CREATE INDEX users_type_level_idx ON users (type, level)`,
			`DROP INDEX IF EXISTS users_id_sort_idx`,
			`DROP INDEX IF EXISTS users_username_sort_idx`,
			`DROP INDEX IF EXISTS users_level_idx`,
			`CREATE INDEX users_level_idx ON users (level, id)`,
			`DROP INDEX IF EXISTS users_points_idx`,
			`CREATE INDEX users_points_idx ON users (points, id)`,
			`DROP INDEX IF EXISTS users_last_seen_at_idx`,
			`CREATE INDEX users_last_seen_at_idx ON users (last_seen_at, id)`,
			`DROP INDEX IF EXISTS users_last_login_at_idx`,
			`CREATE INDEX users_last_login_at_idx ON users (last_login_at, id)`,
			`DROP INDEX IF EXISTS users_created_at_idx`,
			`CREATE INDEX users_created_at_idx ON users (created_at, id)`,
		},
	}))
}
