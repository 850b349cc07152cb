/* schema.c — the auth module's tables: users, sessions, login throttling
 * and the append-only audit log. */
#include "auth/auth.h"
#include "base/util.h"

/* The tables of migration 1; the append-only triggers differ by dialect. */
#define AUTH_TABLES_1 \
	"CREATE TABLE users(\n" \
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n" \
	"  login TEXT NOT NULL UNIQUE,    -- login name, lower-case ASCII\n" \
	"  name TEXT NOT NULL,            -- display name (Chinese)\n" \
	"  phone TEXT NOT NULL DEFAULT '',\n" \
	"  scope_code TEXT NOT NULL DEFAULT '', -- 12-digit region code the user sees, '' = all\n" \
	"  department TEXT NOT NULL DEFAULT '', -- 部门\n" \
	"  role TEXT NOT NULL,            -- role id (auth/roles.c)\n" \
	"  password_hash TEXT NOT NULL,   -- argon2id (libsodium crypto_pwhash_str)\n" \
	"  must_change_password INTEGER NOT NULL DEFAULT 1, -- initial/reset password\n" \
	"  disabled INTEGER NOT NULL DEFAULT 0,\n" \
	"  demo INTEGER NOT NULL DEFAULT 0, -- created by liubao demo\n" \
	"  created_at TEXT NOT NULL,\n" \
	"  updated_at TEXT NOT NULL,\n" \
	"  password_changed_at TEXT NOT NULL,\n" \
	"  last_login_at TEXT NOT NULL DEFAULT ''\n" \
	");\n" \
	"CREATE TABLE sessions(\n" \
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n" \
	"  token_hash TEXT NOT NULL UNIQUE, -- BLAKE2b of the token, hex; the token itself is never stored\n" \
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,\n" \
	"  csrf TEXT NOT NULL,            -- CSRF token for cookie-authenticated writes\n" \
	"  created_at INTEGER NOT NULL,   -- unix seconds\n" \
	"  last_seen INTEGER NOT NULL,    -- unix seconds, refreshed at most once a minute\n" \
	"  addr TEXT NOT NULL DEFAULT '',\n" \
	"  user_agent TEXT NOT NULL DEFAULT ''\n" \
	");\n" \
	"CREATE INDEX sessions_user ON sessions(user_id);\n" \
	"CREATE TABLE login_lock(\n" \
	"  key TEXT PRIMARY KEY,          -- 'user:LOGIN' or 'addr:IP'\n" \
	"  failures INTEGER NOT NULL,     -- consecutive failures\n" \
	"  last_failure INTEGER NOT NULL, -- unix seconds\n" \
	"  locked_until INTEGER NOT NULL  -- unix seconds, 0 = not locked\n" \
	");\n" \
	"CREATE TABLE audit_log(\n" \
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n" \
	"  at TEXT NOT NULL,              -- UTC time\n" \
	"  user_id INTEGER,               -- users.id, NULL for unknown callers\n" \
	"  login TEXT NOT NULL DEFAULT '', -- as given (also for failed logins)\n" \
	"  role TEXT NOT NULL DEFAULT '',\n" \
	"  addr TEXT NOT NULL DEFAULT '', -- client address or 'cli'\n" \
	"  action TEXT NOT NULL,          -- route ('PUT /api/v1/households/:id') or command\n" \
	"  target_type TEXT NOT NULL DEFAULT '', -- household, member, user...\n" \
	"  target_id INTEGER,\n" \
	"  old_value TEXT,                -- JSON before the change\n" \
	"  new_value TEXT,                -- JSON after the change\n" \
	"  detail TEXT NOT NULL DEFAULT '', -- Chinese note\n" \
	"  status INTEGER NOT NULL DEFAULT 0 -- HTTP status or exit code\n" \
	");\n" \
	"CREATE INDEX audit_user ON audit_log(user_id, id);\n" \
	"CREATE INDEX audit_target ON audit_log(target_type, target_id, id);\n" \
	"CREATE INDEX audit_at ON audit_log(at);\n"

/* Migration 2: the auth epoch behind the session cache (session.c).  Any
 * change that can end a session or alter what it resolves to bumps the
 * counter in the same transaction — from this process, another one (the
 * command line) or SQL typed by hand — so a cached session is trusted only
 * while the counter still reads what it read when the session was cached.
 * Refreshing last_seen (forward) is the one session update that does not
 * count. */
#define AUTH_EPOCH_TABLE \
	"CREATE TABLE auth_epoch(\n" \
	"  id INTEGER PRIMARY KEY CHECK (id = 1), -- one row\n" \
	"  n INTEGER NOT NULL -- bumped by the triggers below\n" \
	");\n" \
	"INSERT INTO auth_epoch(id, n) VALUES(1, 0);\n"
#define AUTH_EPOCH_BUMP "UPDATE auth_epoch SET n = n + 1 WHERE id = 1"
#define AUTH_EPOCH_SESSION_CHANGED \
	"NEW.last_seen < OLD.last_seen OR NEW.token_hash <> OLD.token_hash OR " \
	"NEW.user_id <> OLD.user_id OR NEW.csrf <> OLD.csrf OR NEW.created_at <> OLD.created_at"
#define AUTH_EPOCH_USER_COLUMNS \
	"login, name, role, scope_code, department, password_hash, must_change_password, disabled"

static const struct db_migration auth_migrations[] = {
	{ 1, "users, sessions, login locks, audit log",
	  AUTH_TABLES_1
	  "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log BEGIN\n"
	  "  SELECT RAISE(ABORT, 'audit_log is append-only');\n"
	  "END;\n"
	  "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log BEGIN\n"
	  "  SELECT RAISE(ABORT, 'audit_log is append-only');\n"
	  "END;\n",
	  /* PostgreSQL: the same tables, and a trigger function for the audit log */
	  AUTH_TABLES_1
	  "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$\n"
	  "BEGIN\n"
	  "  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'integrity_constraint_violation';\n"
	  "END;\n"
	  "$$;\n"
	  "CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit_log\n"
	  "  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();\n" },
	{ 2, "auth epoch: a counter bumped by every change that can end or alter a session",
	  AUTH_EPOCH_TABLE
	  "CREATE TRIGGER auth_epoch_session_delete AFTER DELETE ON sessions BEGIN\n"
	  "  " AUTH_EPOCH_BUMP ";\n"
	  "END;\n"
	  "CREATE TRIGGER auth_epoch_session_update AFTER UPDATE ON sessions\n"
	  "  WHEN " AUTH_EPOCH_SESSION_CHANGED " BEGIN\n"
	  "  " AUTH_EPOCH_BUMP ";\n"
	  "END;\n"
	  "CREATE TRIGGER auth_epoch_user_update AFTER UPDATE OF " AUTH_EPOCH_USER_COLUMNS
	  " ON users BEGIN\n"
	  "  " AUTH_EPOCH_BUMP ";\n"
	  "END;\n"
	  "CREATE TRIGGER auth_epoch_user_delete AFTER DELETE ON users BEGIN\n"
	  "  " AUTH_EPOCH_BUMP ";\n"
	  "END;\n",
	  /* PostgreSQL: deferred constraint triggers, so the counter's row is
	   * locked only at commit, after every other lock the transaction takes
	   * (a logout racing a password change cannot deadlock on it) */
	  AUTH_EPOCH_TABLE
	  "CREATE FUNCTION auth_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$\n"
	  "BEGIN\n"
	  "  " AUTH_EPOCH_BUMP ";\n"
	  "  RETURN NULL;\n"
	  "END;\n"
	  "$$;\n"
	  "CREATE CONSTRAINT TRIGGER auth_epoch_session_delete AFTER DELETE ON sessions\n"
	  "  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION auth_epoch_bump();\n"
	  "CREATE CONSTRAINT TRIGGER auth_epoch_session_update AFTER UPDATE ON sessions\n"
	  "  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (" AUTH_EPOCH_SESSION_CHANGED ")\n"
	  "  EXECUTE FUNCTION auth_epoch_bump();\n"
	  "CREATE CONSTRAINT TRIGGER auth_epoch_user_update AFTER UPDATE OF "
	  AUTH_EPOCH_USER_COLUMNS " ON users\n"
	  "  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION auth_epoch_bump();\n"
	  "CREATE CONSTRAINT TRIGGER auth_epoch_user_delete AFTER DELETE ON users\n"
	  "  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION auth_epoch_bump();\n" },
};

int auth_migrate(struct db *db)
{
	return db_migrate(db, "auth", auth_migrations, ARRAY_SIZE(auth_migrations));
}
