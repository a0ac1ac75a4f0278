package migrations

// The sort orders' indexes of users also carry what a search and a date
// range look at: username, e-mail, name and created_at (docs/performance.md,
// "Searches and date ranges along the sort order").
//
// A page of a broad search (or date range) is found by walking the sort
// order and skipping the accounts that don't match: page 20 of "mo" (3.7%
// of a million accounts) by points walks 25,000 entries. Each skipped
// account was read from the table to look at its name (PostgreSQL:
// 100–440 ms; SQLite: the date ranges by another key took 1.1 s); now the
// walk reads the index alone (32 ms on PostgreSQL for the same page). A
// rare term is still found through the search indexes and its matches
// sorted (models.searchFrom chooses).
//
// Cost: about 50 MB more per index at a million accounts (seven indexes,
// about 350 MB on PostgreSQL, 300 MB on SQLite); a change of username,
// e-mail or name rewrites the seven index entries, as a change of type or
// level already did. created_at never changes.
func init() {
	pgInclude := "INCLUDE (type, level, group_name, created_at, username, email, name)"
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`DROP INDEX IF EXISTS users_created_at_idx`,
			`CREATE INDEX users_created_at_idx ON users (created_at, id) INCLUDE (type, level, group_name, username, email, name)`,
			`DROP INDEX IF EXISTS users_last_login_at_idx`,
			`CREATE INDEX users_last_login_at_idx ON users (last_login_at DESC NULLS LAST, id DESC) ` + pgInclude,
			`DROP INDEX IF EXISTS users_last_seen_at_idx`,
			`CREATE INDEX users_last_seen_at_idx ON users (last_seen_at DESC NULLS LAST, id DESC) ` + pgInclude,
			`DROP INDEX IF EXISTS users_points_idx`,
			`CREATE INDEX users_points_idx ON users (points, id) ` + pgInclude,
			`DROP INDEX IF EXISTS users_level_idx`,
			`CREATE INDEX users_level_idx ON users (level, id) INCLUDE (type, group_name, created_at, username, email, name)`,
			`DROP INDEX IF EXISTS users_username_sort_idx`,
			`CREATE INDEX users_username_sort_idx ON users (lower(username)) INCLUDE (username, id, type, level, group_name, created_at, email, name)`,
			`DROP INDEX IF EXISTS users_id_sort_idx`,
			`CREATE INDEX users_id_sort_idx ON users (id) ` + pgInclude,
			`ANALYZE users`,
		},
		SQLite: []string{
			`DROP INDEX IF EXISTS users_created_at_idx`,
			`CREATE INDEX users_created_at_idx ON users (created_at, id, type, level, group_name, username, email, name)`,
			`DROP INDEX IF EXISTS users_last_login_at_idx`,
			`CREATE INDEX users_last_login_at_idx ON users (last_login_at, id, type, level, group_name, created_at, username, email, name)`,
			`DROP INDEX IF EXISTS users_last_seen_at_idx`,
			`CREATE INDEX users_last_seen_at_idx ON users (last_seen_at, id, type, level, group_name, created_at, username, email, name)`,
			`DROP INDEX IF EXISTS users_points_idx`,
			`CREATE INDEX users_points_idx ON users (points, id, type, level, group_name, created_at, username, email, name)`,
			`DROP INDEX IF EXISTS users_level_idx`,
			`CREATE INDEX users_level_idx ON users (level, id, type, group_name, created_at, username, email, name)`,
			`DROP INDEX IF EXISTS users_username_sort_idx`,
			`CREATE INDEX users_username_sort_idx ON users (lower(username), username, type, level, group_name, created_at, email, name)`,
			`DROP INDEX IF EXISTS users_id_sort_idx`,
			`CREATE INDEX users_id_sort_idx ON users (id, type, level, group_name, created_at, username, email, name)`,
			`ANALYZE users`,
		},
	}), inTx(Statements{
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
			`DROP INDEX IF EXISTS users_username_sort_idx`,
			`CREATE INDEX users_username_sort_idx ON users (lower(username)) INCLUDE (username, id, type, level, group_name)`,
			`DROP INDEX IF EXISTS users_id_sort_idx`,
			`CREATE INDEX users_id_sort_idx ON users (id) INCLUDE (type, level, group_name)`,
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
			`DROP INDEX IF EXISTS users_username_sort_idx`,
			`CREATE INDEX users_username_sort_idx ON users (lower(username), username, type, level, group_name)`,
			`DROP INDEX IF EXISTS users_id_sort_idx`,
			`CREATE INDEX users_id_sort_idx ON users (id, type, level, group_name)`,
		},
	}))
}
