package migrations

// The username in the covering indexes (docs/performance.md, "The
// browse window and short searches"):
//
//   - PostgreSQL reads an expression index index-only only when the
//     columns the expression uses are in it: users_username_sort_idx
//     (lower(username)) without username itself made every sort by
//     username read each account (page 100: 5,000 rows from the table,
//     90–160 ms), and the planner preferred the unique index on
//     lower(username), which isn't covering either. Now it holds username.
//   - users_type_level_idx also holds username on both databases, so that
//     a filter keeping few accounts (the 20,000 banned) sorts its matches
//     by username from the index alone, as it already did by the other
//     keys (377 ms → a few ms on PostgreSQL for type=blocked&sort=username,
//     page 100).
//
// About 15 MB more per index at a million accounts; no more writes than
// before (a rename already rewrote both).
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`DROP INDEX IF EXISTS users_username_sort_idx`,
			`CREATE INDEX users_username_sort_idx ON users (lower(username)) INCLUDE (username, id, type, level, group_name)`,
			`DROP INDEX IF EXISTS users_type_level_idx`,
			`CREATE INDEX users_type_level_idx ON users (type, group_name, level)
				INCLUDE (id, created_at, points, last_login_at, last_seen_at, username)`,
			`ANALYZE users`,
		},
		SQLite: []string{
			`DROP INDEX IF EXISTS users_type_level_idx`,
			`CREATE INDEX users_type_level_idx ON users (type, group_name, level, created_at, points, last_login_at, last_seen_at, username)`,
			`ANALYZE users`,
		},
	}), inTx(Statements{
		PG: []string{
			`DROP INDEX IF EXISTS users_type_level_idx`,
			`CREATE INDEX users_type_level_idx ON users (type, group_name, level)
				INCLUDE (id, created_at, points, last_login_at, last_seen_at)`,
			`DROP INDEX IF EXISTS users_username_sort_idx`,
			`CREATE INDEX users_username_sort_idx ON users (lower(username)) INCLUDE (id, type, level, group_name)`,
		},
		SQLite: []string{
			`DROP INDEX IF EXISTS users_type_level_idx`,
			`CREATE INDEX users_type_level_idx ON users (type, group_name, level, created_at, points, last_login_at, last_seen_at)`,
		},
	}))
}
