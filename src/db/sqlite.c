/* sqlite.c — the SQLite backend of the db layer (see db.h, backend.h).
 * One struct db is one connection; it is not shared between threads.
 * PRAGMAs live here and nowhere else. */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/util.h"
#include "db/backend.h"

#define STMT_CACHE_BITS 10 /* 1,024 slots: the program has a few hundred SQL texts */
#define STMT_CACHE (1 << STMT_CACHE_BITS)

#define PARAM_CACHE 32

struct sq_stmt {
	struct db_stmt base; /* base.db is the connection */
	sqlite3_stmt *s;
	const char *key; /* the SQL literal's address; NULL when not cached */
	int in_use;
	const char *param_names[PARAM_CACHE]; /* names seen by param(), by address */
	int param_index[PARAM_CACHE];
	int nr_params;
};

struct sq_db {
	struct db base;
	sqlite3 *h;
	struct sq_stmt *cache[STMT_CACHE];
	sqlite3_stmt *begin_st, *commit_st; /* read snapshots; prepared on first use */
};

static const struct db_ops sqlite_ops;

static struct sq_db *SQ(struct db *db)
{
	return (struct sq_db *)db;
}

static struct sq_stmt *ST(struct db_stmt *st)
{
	return (struct sq_stmt *)st;
}

/* Record the kind of a storage failure (db_fault) from the connection's
 * last error: SQLITE_FULL or an I/O error with ENOSPC is a full disk,
 * SQLITE_READONLY or EROFS a database that cannot be written. */
static void note_fault(struct sq_db *db)
{
	int rc = sqlite3_extended_errcode(db->h), sys = sqlite3_system_errno(db->h);
	if ((rc & 0xff) == SQLITE_FULL || ((rc & 0xff) == SQLITE_IOERR && sys == ENOSPC))
		db->base.fault = DB_FAULT_FULL;
	else if ((rc & 0xff) == SQLITE_READONLY || ((rc & 0xff) == SQLITE_IOERR && sys == EROFS) ||
		 ((rc & 0xff) == SQLITE_CANTOPEN && sys == EROFS))
		db->base.fault = DB_FAULT_READONLY;
	else if ((rc & 0xff) == SQLITE_IOERR)
		db->base.fault = DB_FAULT_IO;
}

static void set_err(struct sq_db *db, const char *what)
{
	snprintf(db->base.err, sizeof(db->base.err), "%s: %s", what, sqlite3_errmsg(db->h));
	note_fault(db);
}

static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void configure_sqlite(void)
{
	/* Memory statistics take a global mutex on every allocation. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int sq_exec(struct db *base, const char *sql)
{
	struct sq_db *db = SQ(base);
	char *msg = NULL;
	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(base->err, sizeof(base->err), "%s", msg ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		note_fault(db);
		return -1;
	}
	return 0;
}

/* The directory holding `path`, from xmalloc(): "." for a bare name, "/"
 * for a name at the root. */
static char *parent_dir(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	if (!slash) {
		free(dir);
		return xstrdup(".");
	}
	slash[slash == dir] = '\0';
	return dir;
}

/* True when `path` or its directory cannot be written (a read-only file or
 * filesystem), so that WAL's shared-memory file cannot be made. */
static int cannot_write(const char *path)
{
	char *dir = parent_dir(path);
	int rc = access(path, W_OK) || access(dir, W_OK);
	free(dir);
	return rc;
}

/* Why `path` cannot be opened (or, with `create`, created), in Chinese,
 * into out[n]: a missing or unreadable directory, a file in the way, no
 * permission.  Returns 0 when no reason is found (SQLite's own message
 * serves then). */
static int open_failure_reason(const char *path, int create, char *out, size_t n)
{
	struct stat sb;
	char *dir;
	int rc = 1;
	if (!stat(path, &sb)) {
		if (S_ISDIR(sb.st_mode))
			snprintf(out, n, "这是一个目录，不是数据库文件");
		else if (access(path, R_OK | W_OK))
			snprintf(out, n, "没有权限读写该文件");
		else
			rc = 0;
		return rc;
	}
	if (errno != ENOENT && errno != ENOTDIR && errno != EACCES)
		return 0;
	dir = parent_dir(path);
	if (stat(dir, &sb)) {
		if (errno == ENOENT) {
			snprintf(out, n, "目录 '%s' 不存在", dir);
		} else if (errno == EACCES || errno == ENOTDIR) {
			/* name the closed directory, or the file standing where
			 * a directory should: the nearest one stat() reaches */
			int e = errno;
			while (stat(dir, &sb) && strcmp(dir, ".") && strcmp(dir, "/")) {
				char *up = parent_dir(dir);
				free(dir);
				dir = up;
			}
			snprintf(out, n, e == EACCES ? "没有权限进入目录 '%s'" : "'%s' 不是目录", dir);
		} else {
			rc = 0;
		}
	} else if (!S_ISDIR(sb.st_mode)) {
		snprintf(out, n, "'%s' 不是目录", dir);
	} else if (access(dir, X_OK)) {
		snprintf(out, n, "没有权限进入目录 '%s'", dir);
	} else if (!create) {
		snprintf(out, n, "文件不存在");
	} else if (access(dir, W_OK)) {
		snprintf(out, n, "没有权限在目录 '%s' 中创建文件", dir);
	} else {
		rc = 0;
	}
	free(dir);
	return rc;
}

/* The database cannot be written and WAL cannot start (no -shm beside it):
 * serve reads from it as an immutable file, which SQLite reads without any
 * lock or shared memory.  Only when no WAL holds committed pages the file
 * lacks, since an immutable open ignores the WAL.  Replaces the connection
 * in `db` (freed on failure). */
static struct db *open_read_only(struct sq_db *db, const char *target, char *errbuf, size_t errlen)
{
	struct buf uri = BUF_INIT;
	struct stat sb;
	char *wal = xstrfmt("%s-wal", target);
	int has_wal = !stat(wal, &sb) && sb.st_size > 0;
	free(wal);
	sqlite3_close(db->h);
	db->h = NULL;
	if (has_wal) {
		/* the WAL holds pages the file lacks: SQLite can read both
		 * without writing when the -shm beside them exists too */
		if (sqlite3_open_v2(target, &db->h, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
				    NULL) == SQLITE_OK &&
		    !sq_exec(&db->base, "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; "
					"SELECT count(*) FROM sqlite_master;")) {
			sqlite3_extended_result_codes(db->h, 1);
			db->base.readonly = 1;
			return &db->base;
		}
		snprintf(errbuf, errlen, "无法打开数据库 '%s'：所在磁盘或文件只读，且日志文件 %s-wal "
			 "中有尚未合并的数据；请以可写方式挂载后再启动", target, target);
		db_close(&db->base);
		return NULL;
	}
	buf_addstr(&uri, "file:");
	for (const unsigned char *p = (const unsigned char *)target; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    strchr("/-._~", *p))
			buf_addch(&uri, *p);
		else
			buf_addf(&uri, "%%%02X", *p);
	}
	buf_addstr(&uri, "?immutable=1");
	if (sqlite3_open_v2(uri.buf, &db->h, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI |
					     SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sq_exec(&db->base, "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; "
			       "PRAGMA cache_size=-65536;")) {
		snprintf(errbuf, errlen, "无法打开数据库 '%s'：%s", target,
			 db->h ? sqlite3_errmsg(db->h) : "内存不足");
		buf_release(&uri);
		db_close(&db->base);
		return NULL;
	}
	buf_release(&uri);
	sqlite3_extended_result_codes(db->h, 1);
	db->base.readonly = 1;
	return &db->base;
}

int db_sql_too_deep(const char *sql)
{
	sqlite3 *mem;
	sqlite3_stmt *st = NULL;
	const char *msg;
	int deep;
	pthread_once(&config_once, configure_sqlite);
	if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, NULL) !=
	    SQLITE_OK)
		die("cannot open an in-memory SQLite database: %s", sqlite3_errmsg(mem));
	/* the whole text is parsed before any name is looked up, so an empty
	 * database answers "no such table" for text it could parse */
	sqlite3_prepare_v2(mem, sql, -1, &st, NULL);
	msg = sqlite3_errmsg(mem);
	deep = strstr(msg, "parser stack overflow") || strstr(msg, "Expression tree is too large");
	sqlite3_finalize(st);
	sqlite3_close(mem);
	return deep;
}

#define NOT_A_DATABASE                                                                  \
	"无法打开数据库 '%s'：这个文件不是 SQLite 数据库（或已损坏），"                 \
	"请检查 --db 指的是不是 liubao 的数据库文件"

/* 1 if the file at `path` has bytes in it, yet SQLite, connected by `h`,
 * finds no page: a few bytes of something else, which SQLite takes for an
 * empty database and would write over.  (stat() only: opening and closing
 * the file here would drop the POSIX locks this process's other
 * connections hold on it.) */
static int foreign_file(sqlite3 *h, const char *path)
{
	sqlite3_stmt *st;
	struct stat sb;
	int pages = -1;
	if (stat(path, &sb) || !S_ISREG(sb.st_mode) || sb.st_size == 0)
		return 0;
	if (sqlite3_prepare_v2(h, "PRAGMA page_count", -1, &st, NULL) != SQLITE_OK)
		return 0; /* "not a database": said below */
	if (sqlite3_step(st) == SQLITE_ROW)
		pages = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return pages == 0;
}

struct db *db_sqlite_open(const char *target, int create, char *errbuf, size_t errlen)
{
	struct sq_db *db;
	sqlite3 *h = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int rc;
	pthread_once(&config_once, configure_sqlite);
	rc = sqlite3_open_v2(target, &h, flags, NULL);
	if (rc != SQLITE_OK) {
		char why[256];
		snprintf(errbuf, errlen, "无法打开数据库 '%s'：%s", target,
			 open_failure_reason(target, create, why, sizeof(why)) ? why
			 : h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
		sqlite3_close(h);
		return NULL;
	}
	if (foreign_file(h, target)) {
		snprintf(errbuf, errlen, NOT_A_DATABASE, target);
		sqlite3_close(h);
		return NULL;
	}
	db = xcalloc(1, sizeof(*db));
	db->base.ops = &sqlite_ops;
	db->base.target = xstrdup(target);
	db->h = h;
	sqlite3_busy_timeout(h, 10000);
	sqlite3_extended_result_codes(h, 1);
	if (sq_exec(&db->base, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;"
			       "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;")) {
		if (!create && cannot_write(target))
			return open_read_only(db, target, errbuf, errlen);
		if ((sqlite3_extended_errcode(h) & 0xff) == SQLITE_NOTADB)
			snprintf(errbuf, errlen, NOT_A_DATABASE, target);
		else
			snprintf(errbuf, errlen, "无法设置数据库 '%s'：%s", target, db->base.err);
		db_close(&db->base);
		return NULL;
	}
	db->base.readonly = sqlite3_db_readonly(h, "main") == 1;
	return &db->base;
}

static void sq_close(struct db *base)
{
	struct sq_db *db = SQ(base);
	db_base_release(base);
	for (int i = 0; i < STMT_CACHE; i++) {
		if (db->cache[i]) {
			sqlite3_finalize(db->cache[i]->s);
			free(db->cache[i]);
		}
	}
	sqlite3_finalize(db->begin_st);
	sqlite3_finalize(db->commit_st);
	if (sqlite3_close(db->h) == SQLITE_BUSY) {
		/* a statement was never returned with db_done(): say which, and
		 * close anyway, so the WAL is checkpointed and removed */
		sqlite3_stmt *x;
		int n = 0;
		while ((x = sqlite3_next_stmt(db->h, NULL))) {
			if (!n++)
				warning("statement left open (db_done missing?): %.120s", sqlite3_sql(x));
			sqlite3_finalize(x);
		}
		sqlite3_close(db->h);
	}
	free(db);
}

static unsigned slot_of(const char *key)
{
	uintptr_t p = (uintptr_t)key;
	p ^= p >> 17;
	p *= 0x9E3779B97F4A7C15ull;
	return (unsigned)(p >> (64 - STMT_CACHE_BITS));
}

static struct db_stmt *sq_prepare(struct db *base, const char *sql)
{
	struct sq_db *db = SQ(base);
	unsigned slot = slot_of(sql);
	struct sq_stmt *st;
	for (unsigned i = 0; i < 8; i++) {
		st = db->cache[(slot + i) % STMT_CACHE];
		if (st && st->key == sql && !st->in_use) {
			st->in_use = 1;
			return &st->base;
		}
	}
	st = xcalloc(1, sizeof(*st));
	st->base.db = base;
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
	return &st->base;
}

static void sq_done(struct db_stmt *base)
{
	struct sq_stmt *st = ST(base);
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
static int param(struct sq_stmt *st, const char *name)
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

static void sq_bind_int(struct db_stmt *base, const char *name, int64_t v)
{
	sqlite3_bind_int64(ST(base)->s, param(ST(base), name), v);
}

static void sq_bind_double(struct db_stmt *base, const char *name, double v)
{
	sqlite3_bind_double(ST(base)->s, param(ST(base), name), v);
}

static void sq_bind_text(struct db_stmt *base, const char *name, const char *v)
{
	if (v)
		sqlite3_bind_text(ST(base)->s, param(ST(base), name), v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(ST(base)->s, param(ST(base), name));
}

static void sq_bind_null(struct db_stmt *base, const char *name)
{
	sqlite3_bind_null(ST(base)->s, param(ST(base), name));
}

/* Map a SQLite result code of a failed step to a db_step_result. */
static int step_result(int rc)
{
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return DB_CONSTRAINT;
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return DB_BUSY;
	return DB_ERROR;
}

/* A deferred BEGIN: the first statement takes the read lock and keeps it
 * until sq_snapshot_end's COMMIT. */
static void sq_snapshot_begin(struct db *base)
{
	struct sq_db *db = SQ(base);
	if (!db->begin_st &&
	    sqlite3_prepare_v3(db->h, "BEGIN", -1, SQLITE_PREPARE_PERSISTENT, &db->begin_st, NULL))
		return;
	if (sqlite3_step(db->begin_st) == SQLITE_DONE)
		base->snapshot = 1;
	sqlite3_reset(db->begin_st);
}

static void sq_snapshot_end(struct db *base)
{
	struct sq_db *db = SQ(base);
	int rc = SQLITE_ERROR;
	base->snapshot = 0;
	if (db->commit_st || !sqlite3_prepare_v3(db->h, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT,
						 &db->commit_st, NULL)) {
		rc = sqlite3_step(db->commit_st);
		sqlite3_reset(db->commit_st);
	}
	if (rc != SQLITE_DONE && !sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_step(struct db_stmt *base)
{
	int rc;
	/* a write never joins a read snapshot: end it, and write as usual */
	if (base->db->snapshot && !sqlite3_stmt_busy(ST(base)->s) &&
	    !sqlite3_stmt_readonly(ST(base)->s))
		sq_snapshot_end(base->db);
	rc = sqlite3_step(ST(base)->s);
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	set_err(SQ(base->db), "SQL");
	return step_result(rc);
}

static int sq_col_is_null(struct db_stmt *base, int col)
{
	return sqlite3_column_type(ST(base)->s, col) == SQLITE_NULL;
}

static int64_t sq_col_int(struct db_stmt *base, int col)
{
	return sqlite3_column_int64(ST(base)->s, col);
}

static double sq_col_double(struct db_stmt *base, int col)
{
	return sqlite3_column_double(ST(base)->s, col);
}

static const char *sq_col_text(struct db_stmt *base, int col)
{
	const unsigned char *t = sqlite3_column_text(ST(base)->s, col);
	return t ? (const char *)t : "";
}

static int64_t sq_changes(struct db *base)
{
	return sqlite3_changes64(SQ(base)->h);
}

static int64_t sq_run_insert(struct db_stmt *base)
{
	int rc = db_run(base);
	return rc < 0 ? rc : sqlite3_last_insert_rowid(SQ(base->db)->h);
}

static void sq_tune_bulk(struct db *base, size_t cache_bytes)
{
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%zu", cache_bytes >> 10); /* in KiB */
	sq_exec(base, sql);
}

static int sq_defer_indexes(struct db *base, const char *tables, char **restore)
{
	*restore = xstrdup(""); /* per-row index upkeep is cheap in-process */
	return 0;
}

/* Bulk load on SQLite: rows gathered COPY_BATCH at a time and written by one
 * prepared multi-row INSERT (a statement's start and end cost as much as a
 * small row), the rest one by one at the end.  Like COPY on PostgreSQL, a
 * failure may show a few rows after the row that caused it. */
#define COPY_BATCH 32

struct sq_copy {
	struct sq_db *db;
	sqlite3_stmt *one, *many; /* many: NULL when rows are too wide for it */
	int ncols, nr;            /* columns, rows gathered */
	struct db_value *v;       /* COPY_BATCH * ncols; text as offsets into text */
	size_t *off;
	struct buf text;
};

static sqlite3_stmt *sq_copy_prepare(struct sq_db *db, const char *table, const char *columns,
				     int ncols, int rows)
{
	struct buf sql = BUF_INIT;
	sqlite3_stmt *s = NULL;
	buf_addf(&sql, "INSERT INTO %s(%s) VALUES", table, columns);
	for (int r = 0; r < rows; r++) {
		buf_addstr(&sql, r ? ",(" : "(");
		for (int i = 0; i < ncols; i++)
			buf_addstr(&sql, i ? ",?" : "?");
		buf_addch(&sql, ')');
	}
	if (sqlite3_prepare_v2(db->h, sql.buf, -1, &s, NULL) != SQLITE_OK)
		s = NULL;
	buf_release(&sql);
	return s;
}

static void *sq_copy_begin(struct db *base, const char *table, const char *columns, int ncols)
{
	struct sq_db *db = SQ(base);
	struct sq_copy *c;
	sqlite3_stmt *s = sq_copy_prepare(db, table, columns, ncols, 1);
	if (!s) {
		set_err(db, "SQL");
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->db = db;
	c->one = s;
	c->ncols = ncols;
	if (ncols * COPY_BATCH <= sqlite3_limit(db->h, SQLITE_LIMIT_VARIABLE_NUMBER, -1))
		c->many = sq_copy_prepare(db, table, columns, ncols, COPY_BATCH);
	c->v = xcalloc((size_t)COPY_BATCH * ncols, sizeof(*c->v));
	c->off = xcalloc((size_t)COPY_BATCH * ncols, sizeof(*c->off));
	buf_init(&c->text, 0);
	return c;
}

/* Bind row r of the gathered ones as the statement's row `as`. */
static void sq_copy_bind(struct sq_copy *c, sqlite3_stmt *s, int r, int as)
{
	for (int i = 0; i < c->ncols; i++) {
		const struct db_value *v = &c->v[r * c->ncols + i];
		int k = as * c->ncols + i + 1;
		if (v->kind == DBV_INT)
			sqlite3_bind_int64(s, k, v->i);
		else if (v->kind == DBV_TEXT)
			sqlite3_bind_text(s, k, c->text.buf + c->off[r * c->ncols + i],
					  (int)strlen(c->text.buf + c->off[r * c->ncols + i]),
					  SQLITE_STATIC);
		else
			sqlite3_bind_null(s, k);
	}
}

static int sq_copy_run(struct sq_copy *c, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	set_err(c->db, "SQL");
	return step_result(rc);
}

/* Write the rows gathered: all at once when they are a full batch. */
static int sq_copy_flush(struct sq_copy *c)
{
	int rc = 0;
	if (c->many && c->nr == COPY_BATCH) {
		for (int r = 0; r < c->nr; r++)
			sq_copy_bind(c, c->many, r, r);
		rc = sq_copy_run(c, c->many);
	} else {
		for (int r = 0; r < c->nr && !rc; r++) {
			sq_copy_bind(c, c->one, r, 0);
			rc = sq_copy_run(c, c->one);
		}
	}
	c->nr = 0;
	buf_reset(&c->text);
	return rc;
}

static int sq_copy_row(void *h, const struct db_value *v, int n)
{
	struct sq_copy *c = h;
	for (int i = 0; i < n; i++) {
		struct db_value *x = &c->v[c->nr * c->ncols + i];
		*x = v[i];
		if (v[i].kind == DBV_TEXT) {
			c->off[c->nr * c->ncols + i] = c->text.len;
			buf_add(&c->text, v[i].s, strlen(v[i].s) + 1);
		}
	}
	c->nr++;
	if (c->nr == COPY_BATCH || !c->many)
		return sq_copy_flush(c);
	return 0;
}

static int sq_copy_end(void *h, int abort)
{
	struct sq_copy *c = h;
	int rc = abort ? 0 : sq_copy_flush(c);
	sqlite3_finalize(c->one);
	sqlite3_finalize(c->many);
	free(c->v);
	free(c->off);
	buf_release(&c->text);
	free(c);
	return rc;
}

static const struct db_ops sqlite_ops = {
	.name = "sqlite",
	.begin_sql = "BEGIN IMMEDIATE",
	.begin_read_sql = "BEGIN DEFERRED", /* readers never take the write lock */
	.close = sq_close,
	.exec = sq_exec,
	.prepare = sq_prepare,
	.done = sq_done,
	.bind_int = sq_bind_int,
	.bind_double = sq_bind_double,
	.bind_text = sq_bind_text,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.col_is_null = sq_col_is_null,
	.col_int = sq_col_int,
	.col_double = sq_col_double,
	.col_text = sq_col_text,
	.run_insert = sq_run_insert,
	.changes = sq_changes,
	.tune_bulk = sq_tune_bulk,
	.defer_indexes = sq_defer_indexes,
	.copy_begin = sq_copy_begin,
	.copy_row = sq_copy_row,
	.copy_end = sq_copy_end,
	.snapshot_begin = sq_snapshot_begin,
	.snapshot_end = sq_snapshot_end,
};
