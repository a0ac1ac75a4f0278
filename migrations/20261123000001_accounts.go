package migrations

// Accounts, the audit log and presence, with the indexes that keep the
// console fast at a million accounts: unique lower-cased username and
// e-mail, one index per sort key, and substring search (pg_trgm GIN on
// PostgreSQL, an FTS5 trigram table on SQLite).
func init() {
	Migrations.MustRegister(inTx(Statements{
		PG: []string{
			`CREATE EXTENSION IF NOT EXISTS pg_trgm`,
			`CREATE TABLE users (
				id BIGSERIAL PRIMARY KEY,
				username VARCHAR(30) NOT NULL,
				email VARCHAR(254),
				name VARCHAR(100) NOT NULL DEFAULT '',
				password_hash TEXT NOT NULL DEFAULT '',
				level SMALLINT NOT NULL DEFAULT 1 CHECK (level BETWEEN 0 AND 10),
				type SMALLINT NOT NULL DEFAULT 1 CHECK (type BETWEEN 1 AND 4),
				points BIGINT NOT NULL DEFAULT 0,
				avatar VARCHAR(500) NOT NULL DEFAULT '',
				var JSONB NOT NULL DEFAULT '{}',
				group_name VARCHAR(64) NOT NULL DEFAULT '',
				ban_reason VARCHAR(500) NOT NULL DEFAULT '',
				session_version BIGINT NOT NULL DEFAULT 1,
				login_count BIGINT NOT NULL DEFAULT 0,
				last_login_ip VARCHAR(64) NOT NULL DEFAULT '',
				last_login_ua VARCHAR(500) NOT NULL DEFAULT '',
				created_at TIMESTAMPTZ NOT NULL,
				updated_at TIMESTAMPTZ NOT NULL,
				last_login_at TIMESTAMPTZ,
				last_seen_at TIMESTAMPTZ,
				email_verified_at TIMESTAMPTZ
			)`,
			`CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username))`,
			`CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email)) WHERE email IS NOT NULL`,
			`CREATE INDEX users_created_at_idx ON users (created_at, id)`,
			`CREATE INDEX users_last_login_at_idx ON users (last_login_at DESC NULLS LAST, id DESC)`,
			`CREATE INDEX users_last_seen_at_idx ON users (last_seen_at DESC NULLS LAST, id DESC)`,
			`CREATE INDEX users_points_idx ON users (points, id)`,
			`CREATE INDEX users_level_idx ON users (level, id)`,
			`CREATE INDEX users_type_level_idx ON users (type, level)`,
			`CREATE INDEX users_username_trgm_idx ON users USING gin (username gin_trgm_ops)`,
			`CREATE INDEX users_email_trgm_idx ON users USING gin (email gin_trgm_ops)`,
			`CREATE INDEX users_name_trgm_idx ON users USING gin (name gin_trgm_ops)`,
			`CREATE TABLE events (
				id BIGSERIAL PRIMARY KEY,
				actor_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
				action VARCHAR(64) NOT NULL,
				target_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
				ip VARCHAR(64) NOT NULL DEFAULT '',
				user_agent VARCHAR(500) NOT NULL DEFAULT '',
				detail TEXT NOT NULL DEFAULT '',
				created_at TIMESTAMPTZ NOT NULL
			)`,
			`CREATE INDEX events_target_idx ON events (target_id, id)`,
			`CREATE INDEX events_actor_idx ON events (actor_id, id)`,
			`CREATE INDEX events_action_idx ON events (action, id)`,
			`CREATE INDEX events_action_created_at_idx ON events (action, created_at)`,
			`CREATE INDEX events_created_at_idx ON events (created_at)`,
			`CREATE TABLE presence (
				visitor_id VARCHAR(80) PRIMARY KEY,
				user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
				page VARCHAR(500) NOT NULL DEFAULT '',
				ip VARCHAR(64) NOT NULL DEFAULT '',
				user_agent VARCHAR(500) NOT NULL DEFAULT '',
				last_seen_at TIMESTAMPTZ NOT NULL
			)`,
			`CREATE INDEX presence_last_seen_at_idx ON presence (last_seen_at)`,
			`CREATE INDEX presence_user_idx ON presence (user_id)`,
		},
		SQLite: []string{
			`CREATE TABLE users (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				username VARCHAR(30) NOT NULL,
				email VARCHAR(254),
				name VARCHAR(100) NOT NULL DEFAULT '',
				password_hash TEXT NOT NULL DEFAULT '',
				level INTEGER NOT NULL DEFAULT 1 CHECK (level BETWEEN 0 AND 10),
				type INTEGER NOT NULL DEFAULT 1 CHECK (type BETWEEN 1 AND 4),
				points INTEGER NOT NULL DEFAULT 0,
				avatar VARCHAR(500) NOT NULL DEFAULT '',
				var TEXT NOT NULL DEFAULT '{}',
				group_name VARCHAR(64) NOT NULL DEFAULT '',
				ban_reason VARCHAR(500) NOT NULL DEFAULT '',
				session_version INTEGER NOT NULL DEFAULT 1,
				login_count INTEGER NOT NULL DEFAULT 0,
				last_login_ip VARCHAR(64) NOT NULL DEFAULT '',
				last_login_ua VARCHAR(500) NOT NULL DEFAULT '',
				created_at TIMESTAMP NOT NULL,
				updated_at TIMESTAMP NOT NULL,
				last_login_at TIMESTAMP,
				last_seen_at TIMESTAMP,
				email_verified_at TIMESTAMP
			)`,
			`CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username))`,
			`CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email)) WHERE email IS NOT NULL`,
			`CREATE INDEX users_created_at_idx ON users (created_at, id)`,
			`CREATE INDEX users_last_login_at_idx ON users (last_login_at, id)`,
			`CREATE INDEX users_last_seen_at_idx ON users (last_seen_at, id)`,
			`CREATE INDEX users_points_idx ON users (points, id)`,
			`CREATE INDEX users_level_idx ON users (level, id)`,
			`CREATE INDEX users_type_level_idx ON users (type, level)`,
			`CREATE VIRTUAL TABLE users_fts USING fts5(
				username, email, name, content='users', content_rowid='id', tokenize='trigram')`,
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
			`CREATE TABLE events (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				actor_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
				action VARCHAR(64) NOT NULL,
				target_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
				ip VARCHAR(64) NOT NULL DEFAULT '',
				user_agent VARCHAR(500) NOT NULL DEFAULT '',
				detail TEXT NOT NULL DEFAULT '',
				created_at TIMESTAMP NOT NULL
			)`,
			`CREATE INDEX events_target_idx ON events (target_id, id)`,
			`CREATE INDEX events_actor_idx ON events (actor_id, id)`,
			`CREATE INDEX events_action_idx ON events (action, id)`,
			`CREATE INDEX events_action_created_at_idx ON events (action, created_at)`,
			`CREATE INDEX events_created_at_idx ON events (created_at)`,
			`CREATE TABLE presence (
				visitor_id VARCHAR(80) PRIMARY KEY,
				user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
				page VARCHAR(500) NOT NULL DEFAULT '',
				ip VARCHAR(64) NOT NULL DEFAULT '',
				user_agent VARCHAR(500) NOT NULL DEFAULT '',
				last_seen_at TIMESTAMP NOT NULL
			)`,
			`CREATE INDEX presence_last_seen_at_idx ON presence (last_seen_at)`,
			`CREATE INDEX presence_user_idx ON presence (user_id)`,
		},
	}), inTx(Statements{
		PG: []string{
			`DROP TABLE IF EXISTS presence`,
			`DROP TABLE IF EXISTS events`,
			`DROP TABLE IF EXISTS users`,
		},
		SQLite: []string{
			`DROP TABLE IF EXISTS presence`,
			`DROP TABLE IF EXISTS events`,
			`DROP TRIGGER IF EXISTS users_fts_update`,
			`DROP TRIGGER IF EXISTS users_fts_delete`,
			`DROP TRIGGER IF EXISTS users_fts_insert`,
			`DROP TABLE IF EXISTS users_fts`,
			`DROP TABLE IF EXISTS users`,
		},
	}))
}
