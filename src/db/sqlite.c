/* sqlite.c — the SQLite backend of the db layer (see db.h).
 * One struct db is one connection; it is not shared between threads. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "db/db.h"

#define STMT_CACHE 256

#define PARAM_CACHE 32

struct db_stmt {
	sqlite3_stmt *s;
	struct db *db;
	const char *key; /* the SQL literal's address; NULL when not cached */
	int in_use;
	const char *param_names[PARAM_CACHE]; /* names seen by param(), by address */
	int param_index[PARAM_CACHE];
	int nr_params;
};

struct db {
	sqlite3 *h;
	char *target;
	int depth;              /* transaction nesting */
	int doomed;             /* a nested rollback happened */
	const char *begin_file; /* where the outermost transaction began */
	int begin_line;
	char err[512];
	struct db_stmt *cache[STMT_CACHE];
};

static void set_err(struct db *db, const char *what)
{
	snprintf(db->err, sizeof(db->err), "%s: %s", what, sqlite3_errmsg(db->h));
}

static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void configure_sqlite(void)
{
	/* Memory statistics take a global mutex on every allocation. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

struct db *db_open(const char *target, int create, char *errbuf, size_t errlen)
{
	struct db *db;
	sqlite3 *h = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int rc;
	pthread_once(&config_once, configure_sqlite);
	rc = sqlite3_open_v2(target, &h, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(errbuf, errlen, "无法打开数据库 '%s'：%s", target,
			 h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
		sqlite3_close(h);
		return NULL;
	}
	db = xcalloc(1, sizeof(*db));
	db->h = h;
	db->target = xstrdup(target);
	sqlite3_busy_timeout(h, 10000);
	sqlite3_extended_result_codes(h, 1);
	if (db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;"
			"PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;")) {
		snprintf(errbuf, errlen, "无法设置数据库 '%s'：%s", target, db->err);
		db_close(db);
		return NULL;
	}
	return db;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	if (db->depth)
		warning("closing database with a transaction open since %s:%d", db->begin_file,
			db->begin_line);
	for (int i = 0; i < STMT_CACHE; i++) {
		if (db->cache[i]) {
			sqlite3_finalize(db->cache[i]->s);
			free(db->cache[i]);
		}
	}
	sqlite3_close(db->h);
	free(db->target);
	free(db);
}

const char *db_errmsg(struct db *db)
{
	return db->err;
}

const char *db_target(struct db *db)
{
	return db->target;
}

int db_exec(struct db *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(db->err, sizeof(db->err), "%s", msg ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static unsigned slot_of(const char *key)
{
	uintptr_t p = (uintptr_t)key;
	p ^= p >> 17;
	p *= 0x9E3779B97F4A7C15ull;
	return (unsigned)(p >> 56) % STMT_CACHE;
}

struct db_stmt *db_prepare(struct db *db, const char *sql)
{
	unsigned slot = slot_of(sql);
	struct db_stmt *st;
	for (unsigned i = 0; i < 8; i++) {
		st = db->cache[(slot + i) % STMT_CACHE];
		if (st && st->key == sql && !st->in_use) {
			st->in_use = 1;
			return st;
		}
	}
	st = xcalloc(1, sizeof(*st));
	st->db = db;
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->s, NULL) != SQLITE_OK)
		die("cannot prepare SQL: %s\n%s", sqlite3_errmsg(db->h), sql);
	st->in_use = 1;
	for (unsigned i = 0; i < 8; i++) {
		unsigned k = (slot + i) % STMT_CACHE;
		if (!db->cache[k]) {
			db->cache[k] = st;
			st->key = sql;
			break;
		}
	}
	return st;
}

void db_done(struct db_stmt *st)
{
	if (!st)
		return;
	sqlite3_reset(st->s);
	sqlite3_clear_bindings(st->s);
	st->in_use = 0;
	if (!st->key) {
		sqlite3_finalize(st->s);
		free(st);
	}
}

/* The index of parameter `name`.  Callers pass string literals, so the
 * index is remembered by the name's address (binding by name costs a string
 * search per call otherwise, which shows in bulk imports). */
static int param(struct db_stmt *st, const char *name)
{
	int i;
	for (i = 0; i < st->nr_params; i++)
		if (st->param_names[i] == name)
			return st->param_index[i];
	i = sqlite3_bind_parameter_index(st->s, name);
	if (!i)
		die("no parameter %s in SQL: %s", name, sqlite3_sql(st->s));
	if (st->nr_params < PARAM_CACHE) {
		st->param_names[st->nr_params] = name;
		st->param_index[st->nr_params++] = i;
	}
	return i;
}

void db_bind_int(struct db_stmt *st, const char *name, int64_t v)
{
	sqlite3_bind_int64(st->s, param(st, name), v);
}

void db_bind_double(struct db_stmt *st, const char *name, double v)
{
	sqlite3_bind_double(st->s, param(st, name), v);
}

void db_bind_text(struct db_stmt *st, const char *name, const char *v)
{
	if (v)
		sqlite3_bind_text(st->s, param(st, name), v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st->s, param(st, name));
}

void db_bind_null(struct db_stmt *st, const char *name)
{
	sqlite3_bind_null(st->s, param(st, name));
}

void db_bind_int_or_null(struct db_stmt *st, const char *name, int64_t v)
{
	if (v < 0)
		db_bind_null(st, name);
	else
		db_bind_int(st, name, v);
}

int db_step(struct db_stmt *st)
{
	int rc = sqlite3_step(st->s);
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	set_err(st->db, "SQL");
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return DB_CONSTRAINT;
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return DB_BUSY;
	return DB_ERROR;
}

int db_run(struct db_stmt *st)
{
	int rc = db_step(st);
	if (rc == DB_ROW)
		while ((rc = db_step(st)) == DB_ROW)
			;
	return rc;
}

int db_col_is_null(struct db_stmt *st, int col)
{
	return sqlite3_column_type(st->s, col) == SQLITE_NULL;
}

int64_t db_col_int(struct db_stmt *st, int col)
{
	return sqlite3_column_int64(st->s, col);
}

double db_col_double(struct db_stmt *st, int col)
{
	return sqlite3_column_double(st->s, col);
}

const char *db_col_text(struct db_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st->s, col);
	return t ? (const char *)t : "";
}

int64_t db_changes(struct db *db)
{
	return sqlite3_changes64(db->h);
}

int64_t db_run_insert(struct db_stmt *st)
{
	int rc = db_run(st);
	return rc < 0 ? rc : sqlite3_last_insert_rowid(st->db->h);
}

int db_begin_real(struct db *db, const char *file, int line)
{
	if (db->depth++ == 0) {
		db->doomed = 0;
		db->begin_file = file;
		db->begin_line = line;
		if (db_exec(db, "BEGIN IMMEDIATE")) {
			db->depth = 0;
			return -1;
		}
	}
	return 0;
}

int db_commit(struct db *db)
{
	if (db->depth <= 0)
		die("db_commit without a transaction");
	if (--db->depth > 0)
		return db->doomed ? -1 : 0;
	if (db->doomed) {
		db_exec(db, "ROLLBACK");
		snprintf(db->err, sizeof(db->err), "transaction rolled back by a nested failure");
		return -1;
	}
	if (db_exec(db, "COMMIT")) {
		char keep[512];
		snprintf(keep, sizeof(keep), "%s", db->err);
		db_exec(db, "ROLLBACK");
		snprintf(db->err, sizeof(db->err), "%s", keep);
		return -1;
	}
	return 0;
}

void db_rollback(struct db *db)
{
	if (db->depth <= 0)
		return;
	if (--db->depth > 0) {
		db->doomed = 1;
		return;
	}
	db_exec(db, "ROLLBACK");
}

int db_depth(struct db *db)
{
	return db->depth;
}

int db_schema_version(struct db *db, const char *module)
{
	struct db_stmt *st;
	int v = 0;
	if (db_exec(db, "CREATE TABLE IF NOT EXISTS schema_version("
			"module TEXT PRIMARY KEY, -- owning module, e.g. registry\n"
			"version INTEGER NOT NULL, -- last migration applied\n"
			"applied_at TEXT NOT NULL -- UTC time of that migration\n"
			")"))
		return -1;
	st = db_prepare(db, "SELECT version FROM schema_version WHERE module = :m");
	db_bind_text(st, ":m", module);
	if (db_step(st) == DB_ROW)
		v = (int)db_col_int(st, 0);
	db_done(st);
	return v;
}

int db_migrate(struct db *db, const char *module, const struct db_migration *m, int n)
{
	int have = db_schema_version(db, module);
	if (have < 0)
		return error("cannot read schema version: %s", db->err);
	for (int i = 0; i < n; i++) {
		struct db_stmt *st;
		char now[20];
		if (m[i].version <= have)
			continue;
		if (db_begin(db))
			return error("cannot begin migration: %s", db->err);
		if (db_exec(db, m[i].sql)) {
			error("migration %s %d (%s) failed: %s", module, m[i].version, m[i].desc, db->err);
			db_rollback(db);
			return -1;
		}
		now_utc_text(now);
		st = db_prepare(db, "INSERT INTO schema_version(module, version, applied_at) "
				    "VALUES(:m, :v, :t) ON CONFLICT(module) DO UPDATE SET "
				    "version = excluded.version, applied_at = excluded.applied_at");
		db_bind_text(st, ":m", module);
		db_bind_int(st, ":v", m[i].version);
		db_bind_text(st, ":t", now);
		if (db_run(st) < 0) {
			db_done(st);
			db_rollback(db);
			return error("cannot record migration: %s", db->err);
		}
		db_done(st);
		if (db_commit(db))
			return error("cannot commit migration: %s", db->err);
	}
	return 0;
}

int db_backup(struct db *db, const char *path)
{
	sqlite3 *dst;
	sqlite3_backup *b;
	int rc;
	if (sqlite3_open(path, &dst) != SQLITE_OK) {
		snprintf(db->err, sizeof(db->err), "cannot open %s: %s", path, sqlite3_errmsg(dst));
		sqlite3_close(dst);
		return -1;
	}
	b = sqlite3_backup_init(dst, "main", db->h, "main");
	if (!b) {
		snprintf(db->err, sizeof(db->err), "%s", sqlite3_errmsg(dst));
		sqlite3_close(dst);
		return -1;
	}
	do {
		rc = sqlite3_backup_step(b, 1024);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(20);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	rc = rc == SQLITE_DONE ? 0 : -1;
	if (rc)
		snprintf(db->err, sizeof(db->err), "%s", sqlite3_errmsg(dst));
	sqlite3_close(dst);
	return rc;
}
