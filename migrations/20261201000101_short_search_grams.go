package migrations

// An index for searches of one or two characters, which the trigram
// indexes can't answer (docs/performance.md, "Short searches"):
//
//   - PostgreSQL: a GIN index of every one- and two-character gram of the
//     lower-cased username, e-mail and name (webmin_grams), kept by
//     PostgreSQL like any index. A search for "zq" asks for the accounts
//     whose grams contain 'zq' and checks them with LIKE; the planner,
//     from the grams' statistics (ANALYZE), walks the sort order's index
//     instead when a gram is common ("e").
//   - SQLite: the FTS5 trigram index gets two U+001F characters after each
//     column, so that every occurrence of any one- or two-character string
//     starts a trigram ("zq" at the end of "abzq" starts "zq\x1f"). A short
//     search looks up the trigrams that start with it in the index's
//     vocabulary (users_fts_vocab, a range of terms) and matches any of
//     them. Three-character searches are unchanged: the searched text
//     never contains U+001F.
//
// Building them at a million accounts takes minutes (PostgreSQL: the GIN
// index; SQLite: the search index is rebuilt), during which writes to
// users wait.
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			// One call per account written: built-in string functions only (no
			// set-returning subquery, which cost 0.5 ms a row here), so that
			// PostgreSQL inlines it. The pairs at odd and even offsets come
			// from two regexp_replace calls; grams holding the separator
			// (U+001F) or a lone last character are harmless extras.
			`CREATE FUNCTION webmin_grams(s text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
				SELECT array_remove(string_to_array(s, NULL)
					|| string_to_array(regexp_replace(s, '(..)', '\1' || chr(30), 'g'), chr(30))
					|| string_to_array(regexp_replace(substr(s, 2), '(..)', '\1' || chr(30), 'g'), chr(30)), '')
			$$`,
			`CREATE INDEX users_grams_idx ON users USING gin (
				webmin_grams(lower(username) || chr(31) || lower(coalesce(email, '')) || chr(31) || lower(name)))`,
			`ANALYZE users`,
		},
		SQLite: []string{
			`DROP TRIGGER IF EXISTS users_fts_insert`,
			`DROP TRIGGER IF EXISTS users_fts_delete`,
			`DROP TRIGGER IF EXISTS users_fts_update`,
			`INSERT INTO users_fts (users_fts) VALUES ('delete-all')`,
			`INSERT INTO users_fts (rowid, username, email, name)
				SELECT id, username || char(31, 31), coalesce(email, '') || char(31, 31), name || char(31, 31) FROM users`,
			`CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
				INSERT INTO users_fts (rowid, username, email, name)
				VALUES (new.id, new.username || char(31, 31), coalesce(new.email, '') || char(31, 31), new.name || char(31, 31));
			END`,
			`CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN
				INSERT INTO users_fts (users_fts, rowid, username, email, name)
				VALUES ('delete', old.id, old.username || char(31, 31), coalesce(old.email, '') || char(31, 31), old.name || char(31, 31));
			END`,
			`CREATE TRIGGER users_fts_update AFTER UPDATE OF username, email, name ON users BEGIN
				INSERT INTO users_fts (users_fts, rowid, username, email, name)
				VALUES ('delete', old.id, old.username || char(31, 31), coalesce(old.email, '') || char(31, 31), old.name || char(31, 31));
				INSERT INTO users_fts (rowid, username, email, name)
				VALUES (new.id, new.username || char(31, 31), coalesce(new.email, '') || char(31, 31), new.name || char(31, 31));
			END`,
			`CREATE VIRTUAL TABLE users_fts_vocab USING fts5vocab(users_fts, 'row')`,
		},
	}), inTx(Statements{
		PG: []string{
			`DROP INDEX IF EXISTS users_grams_idx`,
			`DROP FUNCTION IF EXISTS webmin_grams(text)`,
		},
		SQLite: []string{
			`DROP TABLE IF EXISTS users_fts_vocab`,
			`DROP TRIGGER IF EXISTS users_fts_insert`,
			`DROP TRIGGER IF EXISTS users_fts_delete`,
			`DROP TRIGGER IF EXISTS users_fts_update`,
			`INSERT INTO users_fts (users_fts) VALUES ('delete-all')`,
			`INSERT INTO users_fts (rowid, username, email, name) SELECT id, username, coalesce(email, ''), name FROM users`,
			`CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN
				INSERT INTO users_fts (rowid, username, email, name)
				VALUES (new.id, new.username, coalesce(new.email, ''), new.name);
			END`,
			`CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN
				INSERT INTO users_fts (users_fts, rowid, username, email, name)
				VALUES ('delete', old.id, old.username, coalesce(old.email, ''), old.name);
			END`,
			`CREATE TRIGGER users_fts_update AFTER UPDATE OF username, email, name ON users BEGIN
				INSERT INTO users_fts (users_fts, rowid, username, email, name)
				VALUES ('delete', old.id, old.username, coalesce(old.email, ''), old.name);
				INSERT INTO users_fts (rowid, username, email, name)
				VALUES (new.id, new.username, coalesce(new.email, ''), new.name);
			END`,
		},
	}))
}
