/* db.c — the front of the db layer (see db.h): picks the backend from the
 * target, forwards each call through the backend's db_ops, and keeps what is
 * the same for both: transaction nesting, migrations, bulk-load rows. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#include "base/util.h"
#include "db/backend.h"

/* 1 if `target` names a PostgreSQL server. */
static int is_pg_target(const char *target)
{
	return starts_with(target, "postgresql://") || starts_with(target, "postgres://");
}

/* Connections open in this process, so that a server stopping can wait for
 * its background threads' connections before the last close. */
static atomic_int nr_open;

struct db *db_open(const char *target, int create, char *errbuf, size_t errlen)
{
	struct db *db = is_pg_target(target) ? db_pg_open(target, errbuf, errlen)
					     : db_sqlite_open(target, create, errbuf, errlen);
	if (db)
		atomic_fetch_add(&nr_open, 1);
	return db;
}

int db_open_count(void)
{
	return atomic_load(&nr_open);
}

void db_base_release(struct db *db)
{
	if (db->depth)
		warning("closing database with a transaction open since %s:%d", db->begin_file,
			db->begin_line);
	free(db->target);
}

void db_close(struct db *db)
{
	if (db) {
		db->ops->close(db);
		atomic_fetch_sub(&nr_open, 1);
	}
}

const char *db_errmsg(struct db *db)
{
	return db->err;
}

const char *db_target(struct db *db)
{
	return db->target;
}

int db_is_server(struct db *db)
{
	return !strcmp(db->ops->name, "postgresql");
}

int db_exec(struct db *db, const char *sql)
{
	db_snapshot_end(db);
	return db->ops->exec(db, sql);
}

void db_snapshot_begin(struct db *db)
{
	if (db->ops->snapshot_begin && !db->depth && !db->snapshot)
		db->ops->snapshot_begin(db);
}

void db_snapshot_end(struct db *db)
{
	if (db->snapshot)
		db->ops->snapshot_end(db);
}

/* Interned SQL texts for db_prepare_text(): open addressing on a hash. */
static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static char **interned;
static size_t interned_size, interned_count;

static uint64_t text_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static const char *intern(const char *sql)
{
	const char *r;
	size_t i;
	pthread_mutex_lock(&intern_lock);
	if ((interned_count + 1) * 2 > interned_size) {
		size_t n = interned_size ? interned_size * 2 : 256;
		char **t = xcalloc(n, sizeof(*t));
		for (size_t k = 0; k < interned_size; k++) {
			if (!interned[k])
				continue;
			for (i = text_hash(interned[k]) & (n - 1); t[i]; i = (i + 1) & (n - 1))
				;
			t[i] = interned[k];
		}
		free(interned);
		interned = t;
		interned_size = n;
	}
	for (i = text_hash(sql) & (interned_size - 1); interned[i]; i = (i + 1) & (interned_size - 1))
		if (!strcmp(interned[i], sql))
			break;
	if (!interned[i]) {
		interned[i] = xstrdup(sql);
		interned_count++;
	}
	r = interned[i];
	pthread_mutex_unlock(&intern_lock);
	return r;
}

struct db_stmt *db_prepare_text(struct db *db, const char *sql)
{
	return db_prepare(db, intern(sql));
}

struct db_stmt *db_prepare(struct db *db, const char *sql)
{
	return db->ops->prepare(db, sql);
}

void db_done(struct db_stmt *st)
{
	if (st)
		st->db->ops->done(st);
}

void db_bind_int(struct db_stmt *st, const char *name, int64_t v)
{
	st->db->ops->bind_int(st, name, v);
}

void db_bind_double(struct db_stmt *st, const char *name, double v)
{
	st->db->ops->bind_double(st, name, v);
}

void db_bind_text(struct db_stmt *st, const char *name, const char *v)
{
	st->db->ops->bind_text(st, name, v);
}

void db_bind_null(struct db_stmt *st, const char *name)
{
	st->db->ops->bind_null(st, name);
}

void db_bind_int_or_null(struct db_stmt *st, const char *name, int64_t v)
{
	if (v < 0)
		st->db->ops->bind_null(st, name);
	else
		st->db->ops->bind_int(st, name, v);
}

int db_step(struct db_stmt *st)
{
	return st->db->ops->step(st);
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
	return st->db->ops->col_is_null(st, col);
}

int64_t db_col_int(struct db_stmt *st, int col)
{
	return st->db->ops->col_int(st, col);
}

double db_col_double(struct db_stmt *st, int col)
{
	return st->db->ops->col_double(st, col);
}

const char *db_col_text(struct db_stmt *st, int col)
{
	return st->db->ops->col_text(st, col);
}

int64_t db_run_insert(struct db_stmt *st)
{
	return st->db->ops->run_insert(st);
}

int64_t db_changes(struct db *db)
{
	return db->ops->changes(db);
}

enum db_fault db_fault(struct db *db)
{
	return db->fault;
}

void db_fault_clear(struct db *db)
{
	db->fault = DB_FAULT_NONE;
}

int db_readonly(struct db *db)
{
	return db->readonly;
}

int db_analyze(struct db *db, int if_never)
{
	if (db_is_server(db))
		return if_never ? 0 : db_exec(db, "ANALYZE");
	if (if_never) {
		struct db_stmt *st = db_prepare(db, "SELECT 1 FROM sqlite_master WHERE type = "
						    "'table' AND name = 'sqlite_stat1'");
		int rc = db_step(st);
		db_done(st);
		if (rc != DB_DONE)
			return rc == DB_ROW ? 0 : -1;
	}
	return db_exec(db, "PRAGMA analysis_limit = 1000; ANALYZE; PRAGMA analysis_limit = 0");
}

void db_tune_bulk(struct db *db)
{
	db_snapshot_end(db);
	db->ops->tune_bulk(db, (size_t)256 << 20);
}

void db_tune_bulk_cache(struct db *db, size_t bytes)
{
	db_snapshot_end(db);
	db->ops->tune_bulk(db, bytes);
}

int db_defer_indexes(struct db *db, const char *tables, char **restore)
{
	db_snapshot_end(db);
	return db->ops->defer_indexes(db, tables, restore);
}

/* ---- transactions ----------------------------------------------------------
 * depth stays 0 while BEGIN runs and stays 1 while COMMIT or ROLLBACK runs, so
 * a backend can tell from depth alone whether a failed statement may be
 * retried on a new connection: only outside a transaction. */

static int begin(struct db *db, const char *sql, const char *file, int line)
{
	if (db->depth == 0) {
		db_snapshot_end(db);
		if (db->ops->exec(db, sql))
			return -1;
		db->doomed = 0;
		db->begin_file = file;
		db->begin_line = line;
	}
	db->depth++;
	return 0;
}

int db_begin_real(struct db *db, const char *file, int line)
{
	return begin(db, db->ops->begin_sql, file, line);
}

int db_begin_read_real(struct db *db, const char *file, int line)
{
	return begin(db, db->ops->begin_read_sql, file, line);
}

int db_commit(struct db *db)
{
	if (db->depth <= 0)
		die("db_commit without a transaction");
	if (db->depth > 1) {
		db->depth--;
		return db->doomed ? -1 : 0;
	}
	if (db->doomed) {
		db->ops->exec(db, "ROLLBACK");
		db->depth = 0;
		snprintf(db->err, sizeof(db->err), "transaction rolled back by a nested failure");
		return -1;
	}
	if (db->ops->exec(db, "COMMIT")) {
		char keep[512];
		snprintf(keep, sizeof(keep), "%s", db->err);
		db->ops->exec(db, "ROLLBACK");
		db->depth = 0;
		snprintf(db->err, sizeof(db->err), "%s", keep);
		return -1;
	}
	db->depth = 0;
	return 0;
}

void db_rollback(struct db *db)
{
	if (db->depth <= 0)
		return;
	if (db->depth > 1) {
		db->depth--;
		db->doomed = 1;
		return;
	}
	db->ops->exec(db, "ROLLBACK");
	db->depth = 0;
}

void db_bind_prefix(struct db_stmt *st, const char *lo_name, const char *hi_name,
		    const char *prefix)
{
	char hi[32];
	size_t n = strnlen(prefix, 30);
	memcpy(hi, prefix, n);
	memcpy(hi + n, ":", 2);
	db_bind_text(st, lo_name, prefix);
	db_bind_text(st, hi_name, hi);
}

void db_set_durable(struct db *db, int durable)
{
	db_snapshot_end(db);
	if (!strcmp(db->ops->name, "sqlite"))
		db->ops->exec(db, durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
	else
		db->ops->exec(db, durable ? "SET synchronous_commit = on"
					  : "SET synchronous_commit = off");
}

int db_depth(struct db *db)
{
	return db->depth;
}

/* ---- migrations ------------------------------------------------------------ */

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
		const char *sql = db_is_server(db) && m[i].sql_pg ? m[i].sql_pg : m[i].sql;
		if (m[i].version <= have)
			continue;
		if (db_begin(db))
			return error("cannot begin migration: %s", db->err);
		/* another process may have migrated since we looked */
		if (db_schema_version(db, module) >= m[i].version) {
			db_commit(db);
			continue;
		}
		if (db_exec(db, sql)) {
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

int db_next_ids(struct db *db, const char *table, long n, int64_t *ids)
{
	struct db_stmt *st;
	long k = 0;
	int rc;
	if (n <= 0)
		return 0;
	if (db_is_server(db)) {
		st = db_prepare(db, "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM "
				    "generate_series(1, :n)");
		db_bind_text(st, ":t", table);
		db_bind_int(st, ":n", n);
		while ((rc = db_step(st)) == DB_ROW && k < n)
			ids[k++] = db_col_int(st, 0);
		db_done(st);
		return rc < 0 || k != n ? -1 : 0;
	}
	if (!db->depth)
		die("db_next_ids outside a transaction");
	/* the table name cannot be bound: it must be a plain identifier */
	for (const char *p = table; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
			die("db_next_ids: bad table name '%s'", table);
	{
		char *sql = xstrfmt("SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name "
				    "= '%s'), 0), coalesce((SELECT max(id) FROM %s), 0))",
				    table, table);
		int64_t last = 0;
		st = db_prepare_text(db, sql);
		free(sql);
		rc = db_step(st);
		if (rc == DB_ROW)
			last = db_col_int(st, 0);
		db_done(st);
		if (rc != DB_ROW)
			return -1;
		for (k = 0; k < n; k++)
			ids[k] = last + 1 + k;
	}
	return 0;
}

/* ---- bulk load --------------------------------------------------------------- */

#define COPY_MAX_COLS 64

struct db_copy {
	struct db *db;
	void *h;             /* the backend's handle, NULL after a failed begin */
	int ncols, nr;       /* columns per row, fields added to this row */
	int failed;          /* a negative db_step_result once something failed */
	struct db_value v[COPY_MAX_COLS];
};

struct db_copy *db_copy_begin(struct db *db, const char *table, const char *columns)
{
	struct db_copy *c = xcalloc(1, sizeof(*c));
	db_snapshot_end(db);
	c->db = db;
	c->ncols = 1;
	for (const char *p = columns; *p; p++)
		c->ncols += *p == ',';
	if (c->ncols > COPY_MAX_COLS)
		die("db_copy_begin: too many columns for %s", table);
	c->h = db->ops->copy_begin(db, table, columns, c->ncols);
	if (!c->h)
		c->failed = DB_ERROR;
	return c;
}

static struct db_value *next_value(struct db_copy *c)
{
	if (c->nr >= c->ncols)
		die("db_copy: more fields than columns");
	return &c->v[c->nr++];
}

void db_copy_int(struct db_copy *c, int64_t v)
{
	struct db_value *x = next_value(c);
	x->kind = DBV_INT;
	x->i = v;
}

void db_copy_int_or_null(struct db_copy *c, int64_t v)
{
	struct db_value *x = next_value(c);
	x->kind = v < 0 ? DBV_NULL : DBV_INT;
	x->i = v;
}

void db_copy_text(struct db_copy *c, const char *v)
{
	struct db_value *x = next_value(c);
	x->kind = v ? DBV_TEXT : DBV_NULL;
	x->s = v;
}

int db_copy_row(struct db_copy *c)
{
	int rc;
	if (c->nr != c->ncols)
		die("db_copy_row: %d fields for %d columns", c->nr, c->ncols);
	c->nr = 0;
	if (c->failed)
		return c->failed;
	rc = c->db->ops->copy_row(c->h, c->v, c->ncols);
	if (rc < 0)
		c->failed = rc;
	return rc;
}

int db_copy_end(struct db_copy *c, int abort)
{
	int rc = c->failed;
	if (c->h) {
		int r = c->db->ops->copy_end(c->h, abort || c->failed);
		if (!rc)
			rc = r;
	}
	free(c);
	return rc;
}
