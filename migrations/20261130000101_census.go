package migrations

// Counts kept by the database itself, and the change signal other
// processes follow (docs/performance.md, "Counts and the change signal").
//
//   - user_census: accounts per (type, level, group). Totals, per-type and
//     per-role counts and the totals of unsearched lists add up its few
//     hundred rows instead of counting a million accounts, and are exact
//     whichever process (a second server, the command line, psql) wrote.
//   - daily_counts: sign-ups (users.created_at) and logins (login events)
//     per UTC day, for the dashboard's charts.
//   - The change signal: every write to users (except the presence write
//     of last_seen_at) or events is announced. PostgreSQL sends
//     NOTIFY webmin_changes '<table> <schema>' at commit, which every
//     server LISTENs to; SQLite bumps change_seq, which each process polls.
//
// Triggers keep all of it, so that no writer can forget. On PostgreSQL
// inserts and deletes are counted per statement (one upsert per cell for a
// thousand-row insert), cell moves per row, in key order so that two
// transactions moving accounts in opposite directions can't deadlock.
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`LOCK TABLE users, events IN SHARE ROW EXCLUSIVE MODE`,
			`CREATE TABLE user_census (
				type SMALLINT NOT NULL,
				level SMALLINT NOT NULL,
				group_name VARCHAR(64) NOT NULL,
				n BIGINT NOT NULL,
				PRIMARY KEY (type, level, group_name)
			)`,
			`CREATE TABLE daily_counts (
				kind VARCHAR(16) NOT NULL,
				day DATE NOT NULL,
				n BIGINT NOT NULL,
				PRIMARY KEY (kind, day)
			)`,
			`INSERT INTO user_census (type, level, group_name, n)
				SELECT type, level, group_name, count(*) FROM users GROUP BY 1, 2, 3`,
			`INSERT INTO daily_counts (kind, day, n)
				SELECT 'signup', (created_at AT TIME ZONE 'UTC')::date, count(*) FROM users GROUP BY 2`,
			`INSERT INTO daily_counts (kind, day, n)
				SELECT 'login', (created_at AT TIME ZONE 'UTC')::date, count(*) FROM events WHERE action = 'login' GROUP BY 2`,
			`CREATE FUNCTION webmin_users_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				INSERT INTO user_census AS c (type, level, group_name, n)
					SELECT type, level, group_name, count(*) FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
					ON CONFLICT (type, level, group_name) DO UPDATE SET n = c.n + excluded.n;
				INSERT INTO daily_counts AS d (kind, day, n)
					SELECT 'signup', (created_at AT TIME ZONE 'UTC')::date, count(*) FROM new_rows GROUP BY 2 ORDER BY 2
					ON CONFLICT (kind, day) DO UPDATE SET n = d.n + excluded.n;
				PERFORM pg_notify('webmin_changes', 'users ' || current_schema());
				RETURN NULL;
			END $$`,
			`CREATE FUNCTION webmin_users_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				INSERT INTO user_census AS c (type, level, group_name, n)
					SELECT type, level, group_name, -count(*) FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
					ON CONFLICT (type, level, group_name) DO UPDATE SET n = c.n + excluded.n;
				INSERT INTO daily_counts AS d (kind, day, n)
					SELECT 'signup', (created_at AT TIME ZONE 'UTC')::date, -count(*) FROM old_rows GROUP BY 2 ORDER BY 2
					ON CONFLICT (kind, day) DO UPDATE SET n = d.n + excluded.n;
				PERFORM pg_notify('webmin_changes', 'users ' || current_schema());
				RETURN NULL;
			END $$`,
			`CREATE FUNCTION webmin_users_moved() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				INSERT INTO user_census AS c (type, level, group_name, n)
					SELECT * FROM (VALUES (OLD.type, OLD.level, OLD.group_name, -1::bigint),
						(NEW.type, NEW.level, NEW.group_name, 1::bigint)) AS v (type, level, group_name, n)
					ORDER BY 1, 2, 3
					ON CONFLICT (type, level, group_name) DO UPDATE SET n = c.n + excluded.n;
				RETURN NULL;
			END $$`,
			`CREATE FUNCTION webmin_changed() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				PERFORM pg_notify('webmin_changes', TG_TABLE_NAME || ' ' || current_schema());
				RETURN NULL;
			END $$`,
			`CREATE FUNCTION webmin_events_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				INSERT INTO daily_counts AS d (kind, day, n)
					SELECT 'login', (created_at AT TIME ZONE 'UTC')::date, count(*) FROM new_rows
					WHERE action = 'login' GROUP BY 2 ORDER BY 2
					ON CONFLICT (kind, day) DO UPDATE SET n = d.n + excluded.n;
				PERFORM pg_notify('webmin_changes', 'events ' || current_schema());
				RETURN NULL;
			END $$`,
			`CREATE TRIGGER users_census_insert AFTER INSERT ON users
				REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION webmin_users_inserted()`,
			`CREATE TRIGGER users_census_delete AFTER DELETE ON users
				REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION webmin_users_deleted()`,
			`CREATE TRIGGER users_census_update AFTER UPDATE ON users FOR EACH ROW
				WHEN ((OLD.type, OLD.level, OLD.group_name) IS DISTINCT FROM (NEW.type, NEW.level, NEW.group_name))
				EXECUTE FUNCTION webmin_users_moved()`,
			// Every update but the presence write (last_seen_at, once a
			// minute per member) is announced; NOTIFY folds the identical
			// payloads of one transaction into one.
			`CREATE TRIGGER users_changed AFTER UPDATE ON users FOR EACH ROW
				WHEN (OLD.last_seen_at IS NOT DISTINCT FROM NEW.last_seen_at)
				EXECUTE FUNCTION webmin_changed()`,
			`CREATE TRIGGER events_counted AFTER INSERT ON events
				REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION webmin_events_inserted()`,
		},
		SQLite: []string{
			`CREATE TABLE user_census (
				type INTEGER NOT NULL,
				level INTEGER NOT NULL,
				group_name TEXT NOT NULL,
				n INTEGER NOT NULL,
				PRIMARY KEY (type, level, group_name)
			) WITHOUT ROWID`,
			`CREATE TABLE daily_counts (
				kind TEXT NOT NULL,
				day TEXT NOT NULL,
				n INTEGER NOT NULL,
				PRIMARY KEY (kind, day)
			) WITHOUT ROWID`,
			`CREATE TABLE change_seq (topic TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID`,
			`INSERT INTO change_seq (topic, seq) VALUES ('users', 0), ('events', 0)`,
			`INSERT INTO user_census (type, level, group_name, n)
				SELECT type, level, group_name, count(*) FROM users GROUP BY 1, 2, 3`,
			`INSERT INTO daily_counts (kind, day, n)
				SELECT 'signup', substr(created_at, 1, 10), count(*) FROM users GROUP BY 2`,
			`INSERT INTO daily_counts (kind, day, n)
				SELECT 'login', substr(created_at, 1, 10), count(*) FROM events WHERE action = 'login' GROUP BY 2`,
			`CREATE TRIGGER users_census_insert AFTER INSERT ON users BEGIN
				INSERT INTO user_census (type, level, group_name, n) VALUES (NEW.type, NEW.level, NEW.group_name, 1)
					ON CONFLICT (type, level, group_name) DO UPDATE SET n = n + 1;
				INSERT INTO daily_counts (kind, day, n) VALUES ('signup', substr(NEW.created_at, 1, 10), 1)
					ON CONFLICT (kind, day) DO UPDATE SET n = n + 1;
				UPDATE change_seq SET seq = seq + 1 WHERE topic = 'users';
			END`,
			`CREATE TRIGGER users_census_delete AFTER DELETE ON users BEGIN
				INSERT INTO user_census (type, level, group_name, n) VALUES (OLD.type, OLD.level, OLD.group_name, -1)
					ON CONFLICT (type, level, group_name) DO UPDATE SET n = n - 1;
				INSERT INTO daily_counts (kind, day, n) VALUES ('signup', substr(OLD.created_at, 1, 10), -1)
					ON CONFLICT (kind, day) DO UPDATE SET n = n - 1;
				UPDATE change_seq SET seq = seq + 1 WHERE topic = 'users';
			END`,
			`CREATE TRIGGER users_census_update AFTER UPDATE OF type, level, group_name ON users
				WHEN OLD.type IS NOT NEW.type OR OLD.level IS NOT NEW.level OR OLD.group_name IS NOT NEW.group_name BEGIN
				INSERT INTO user_census (type, level, group_name, n) VALUES (OLD.type, OLD.level, OLD.group_name, -1)
					ON CONFLICT (type, level, group_name) DO UPDATE SET n = n - 1;
				INSERT INTO user_census (type, level, group_name, n) VALUES (NEW.type, NEW.level, NEW.group_name, 1)
					ON CONFLICT (type, level, group_name) DO UPDATE SET n = n + 1;
			END`,
			`CREATE TRIGGER users_changed AFTER UPDATE ON users WHEN OLD.last_seen_at IS NEW.last_seen_at BEGIN
				UPDATE change_seq SET seq = seq + 1 WHERE topic = 'users';
			END`,
			`CREATE TRIGGER events_counted AFTER INSERT ON events BEGIN
				INSERT INTO daily_counts (kind, day, n) SELECT 'login', substr(NEW.created_at, 1, 10), 1 WHERE NEW.action = 'login'
					ON CONFLICT (kind, day) DO UPDATE SET n = n + 1;
				UPDATE change_seq SET seq = seq + 1 WHERE topic = 'events';
			END`,
		},
	}), inTx(Statements{
		PG: []string{
			`DROP TRIGGER IF EXISTS events_counted ON events`,
			`DROP TRIGGER IF EXISTS users_changed ON users`,
			`DROP TRIGGER IF EXISTS users_census_update ON users`,
			`DROP TRIGGER IF EXISTS users_census_delete ON users`,
			`DROP TRIGGER IF EXISTS users_census_insert ON users`,
			`DROP FUNCTION IF EXISTS webmin_events_inserted()`,
			`DROP FUNCTION IF EXISTS webmin_changed()`,
			`DROP FUNCTION IF EXISTS webmin_users_moved()`,
			`DROP FUNCTION IF EXISTS webmin_users_deleted()`,
			`DROP FUNCTION IF EXISTS webmin_users_inserted()`,
			`DROP TABLE IF EXISTS daily_counts`,
			`DROP TABLE IF EXISTS user_census`,
		},
		SQLite: []string{
			`DROP TRIGGER IF EXISTS events_counted`,
			`DROP TRIGGER IF EXISTS users_changed`,
			`DROP TRIGGER IF EXISTS users_census_update`,
			`DROP TRIGGER IF EXISTS users_census_delete`,
			`DROP TRIGGER IF EXISTS users_census_insert`,
			`DROP TABLE IF EXISTS change_seq`,
			`DROP TABLE IF EXISTS daily_counts`,
			`DROP TABLE IF EXISTS user_census`,
		},
	}))
}
