package migrations

// PostgreSQL's grams of short searches move from an expression index on
// users (users_grams_idx) to a table of their own, user_grams, kept by a
// trigger that fires only when a username, e-mail or name is written.
// Every write to users that doesn't change those (a ban, a level, a
// sign-in, presence) had to compute and insert about eighty grams into
// the GIN index anyway: 260 of the 363 ms of a bulk batch of 500 bans at
// a million accounts (EXPLAIN ANALYZE, docs/performance.md). SQLite's
// search index already follows only those three columns.
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`DROP INDEX IF EXISTS users_grams_idx`,
			`CREATE TABLE user_grams (
				user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
				grams TEXT[] NOT NULL
			)`,
			`INSERT INTO user_grams (user_id, grams)
				SELECT id, webmin_grams(lower(username) || chr(31) || lower(coalesce(email, '')) || chr(31) || lower(name)) FROM users`,
			`CREATE INDEX user_grams_idx ON user_grams USING gin (grams)`,
			`CREATE FUNCTION webmin_user_grams() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				INSERT INTO user_grams (user_id, grams)
				VALUES (NEW.id, webmin_grams(lower(NEW.username) || chr(31) || lower(coalesce(NEW.email, '')) || chr(31) || lower(NEW.name)))
				ON CONFLICT (user_id) DO UPDATE SET grams = excluded.grams;
				RETURN NULL;
			END $$`,
			`CREATE TRIGGER users_grams AFTER INSERT OR UPDATE OF username, email, name ON users
				FOR EACH ROW EXECUTE FUNCTION webmin_user_grams()`,
			`ANALYZE user_grams`,
		},
		SQLite: nil,
	}), inTx(Statements{
		PG: []string{
			`DROP TRIGGER IF EXISTS users_grams ON users`,
			`DROP FUNCTION IF EXISTS webmin_user_grams()`,
			`DROP TABLE IF EXISTS user_grams`,
			`CREATE INDEX users_grams_idx ON users USING gin (
				webmin_grams(lower(username) || chr(31) || lower(coalesce(email, '')) || chr(31) || lower(name)))`,
		},
		SQLite: nil,
	}))
}
