/* backend.h — what the db layer's front (db.c) needs from a backend
 * (sqlite.c, pg.c).  Private to src/db: callers use db.h only.
 *
 * A backend's connection struct starts with a struct db and its statement
 * struct with a struct db_stmt, so the front can reach the shared fields and
 * the backend can cast back to its own type. */
#ifndef DB_BACKEND_H
#define DB_BACKEND_H

#include "db/db.h"

/* One value of a bulk row (db_copy_*): an integer, text, or NULL. */
enum db_value_kind { DBV_NULL, DBV_INT, DBV_TEXT };
struct db_value {
	enum db_value_kind kind;
	int64_t i;     /* DBV_INT */
	const char *s; /* DBV_TEXT, borrowed until the row is sent */
};

struct db_ops {
	const char *name;      /* "sqlite" or "postgresql" */
	const char *begin_sql; /* the statement that opens a transaction */
	const char *begin_read_sql; /* one that opens a read-only snapshot (db_begin_read) */
	void (*close)(struct db *db);
	/* Run statements without parameters; 0 or -1 (message in db->err). */
	int (*exec)(struct db *db, const char *sql);
	struct db_stmt *(*prepare)(struct db *db, const char *sql);
	void (*done)(struct db_stmt *st);
	void (*bind_int)(struct db_stmt *st, const char *name, int64_t v);
	void (*bind_double)(struct db_stmt *st, const char *name, double v);
	void (*bind_text)(struct db_stmt *st, const char *name, const char *v);
	void (*bind_null)(struct db_stmt *st, const char *name);
	int (*step)(struct db_stmt *st);
	int (*col_is_null)(struct db_stmt *st, int col);
	int64_t (*col_int)(struct db_stmt *st, int col);
	double (*col_double)(struct db_stmt *st, int col);
	const char *(*col_text)(struct db_stmt *st, int col);
	int64_t (*run_insert)(struct db_stmt *st);
	int64_t (*changes)(struct db *db);
	void (*tune_bulk)(struct db *db, size_t cache_bytes);
	/* db_defer_indexes; *restore from xmalloc. */
	int (*defer_indexes)(struct db *db, const char *tables, char **restore);
	/* Bulk load: start appending rows of `ncols` columns (names in
	 * `columns`, comma-separated) to `table`; send one row; finish.  The
	 * handle is the backend's own.  Each returns 0 or a negative
	 * db_step_result (message in db->err). */
	void *(*copy_begin)(struct db *db, const char *table, const char *columns, int ncols);
	int (*copy_row)(void *h, const struct db_value *v, int n);
	int (*copy_end)(void *h, int abort);
	/* db_snapshot_begin / db_snapshot_end; NULL where snapshots cost more than
	 * they save (PostgreSQL).  snapshot_end is called only while one is open. */
	void (*snapshot_begin)(struct db *db);
	void (*snapshot_end)(struct db *db);
};

struct db {
	const struct db_ops *ops;
	char *target;           /* as given to db_open (xstrdup) */
	int depth;              /* transaction nesting; >0 while BEGIN..COMMIT runs */
	int snapshot;           /* a read snapshot (db_snapshot_begin) is open */
	int doomed;             /* a nested rollback happened */
	const char *begin_file; /* where the outermost transaction began */
	int begin_line;
	char err[512];          /* the last failure's message */
	enum db_fault fault;    /* the kind of the last storage failure (db_fault) */
	int readonly;           /* opened without write access (db_readonly) */
};

struct db_stmt {
	struct db *db;
};

/* Backend constructors: NULL with a Chinese message in errbuf on failure. */
struct db *db_sqlite_open(const char *target, int create, char *errbuf, size_t errlen);
struct db *db_pg_open(const char *target, char *errbuf, size_t errlen);

/* The front's cleanup of the shared fields, called by a backend's close. */
void db_base_release(struct db *db);

#endif
