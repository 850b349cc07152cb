/* db.h — the database layer: one API over SQLite (embedded default) and,
 * later, PostgreSQL.  SQL is written inline at call sites with :name
 * parameters; this layer binds them by name (SQLite understands :name
 * itself; the PostgreSQL backend rewrites them to $n).  Rows are read by
 * column index through a named enum kept beside each query.
 *
 * Errors: functions returning int give 0 on success and -1 on failure, with
 * the message available from db_errmsg(). */
#ifndef DB_DB_H
#define DB_DB_H

#include <stdint.h>
#include <stddef.h>

struct db;
struct db_stmt;

enum db_step_result {
	DB_ROW = 1,         /* a row is available */
	DB_DONE = 0,        /* statement finished */
	DB_ERROR = -1,      /* any other failure */
	DB_CONSTRAINT = -2, /* a UNIQUE / FOREIGN KEY / CHECK constraint failed */
	DB_BUSY = -3,       /* the database stayed locked past the busy timeout */
};

/* Open the database at `target` (a file path for SQLite), creating it when
 * `create` is set.  Sets WAL, foreign keys, a busy timeout and synchronous
 * mode.  Returns NULL with a message in errbuf (errlen bytes) on failure. */
struct db *db_open(const char *target, int create, char *errbuf, size_t errlen);
void db_close(struct db *db);
/* The message of the last failure on this connection. */
const char *db_errmsg(struct db *db);
/* The target this connection was opened with (borrowed). */
const char *db_target(struct db *db);

/* Run one or more statements without parameters. */
int db_exec(struct db *db, const char *sql);

/* Prepare `sql`.  Statements are cached per connection keyed by the SQL
 * text's address, so pass string literals; db_done() returns a statement to
 * the cache.  Dies on a syntax error: SQL in the code must be valid. */
struct db_stmt *db_prepare(struct db *db, const char *sql);
/* Reset and clear bindings, keeping the statement in the cache. */
void db_done(struct db_stmt *st);

void db_bind_int(struct db_stmt *st, const char *name, int64_t v);
void db_bind_double(struct db_stmt *st, const char *name, double v);
/* Bind text (copied); NULL binds SQL NULL. */
void db_bind_text(struct db_stmt *st, const char *name, const char *v);
void db_bind_null(struct db_stmt *st, const char *name);
/* Bind an int, or NULL when v < 0 (the registry's "unknown"). */
void db_bind_int_or_null(struct db_stmt *st, const char *name, int64_t v);

/* Step the statement: DB_ROW, DB_DONE, or a negative db_step_result. */
int db_step(struct db_stmt *st);
/* Step a statement expected to produce no row: 0 or a negative result. */
int db_run(struct db_stmt *st);

int db_col_is_null(struct db_stmt *st, int col);
int64_t db_col_int(struct db_stmt *st, int col);
double db_col_double(struct db_stmt *st, int col);
/* Borrowed text, valid until the next step; "" for NULL. */
const char *db_col_text(struct db_stmt *st, int col);
/* Run an INSERT into a table with an integer primary key "id" and return
 * the new row's id, or a negative db_step_result. */
int64_t db_run_insert(struct db_stmt *st);
/* Rows changed by the last write on this connection. */
int64_t db_changes(struct db *db);

/* Transactions nest: only the outermost begin/commit touch the database, and
 * a rollback at any depth dooms the whole transaction.  db_begin records the
 * caller's file and line so a transaction left open is easy to find. */
#define db_begin(db) db_begin_real((db), __FILE__, __LINE__)
int db_begin_real(struct db *db, const char *file, int line);
int db_commit(struct db *db);
void db_rollback(struct db *db);
/* Nesting depth (0 = no transaction). */
int db_depth(struct db *db);

/* Numbered schema migrations, each run in its own transaction; the applied
 * version per module is stored in table schema_version. */
struct db_migration {
	int version;      /* 1, 2, 3... within the module */
	const char *desc; /* one line, English */
	const char *sql;  /* statements to run */
	const char *sql_pg; /* PostgreSQL text where the dialects differ, NULL = same */
};
int db_migrate(struct db *db, const char *module, const struct db_migration *m, int n);
/* The applied version of `module`, 0 if none. */
int db_schema_version(struct db *db, const char *module);

/* Online, consistent copy of the database to `path`. */
int db_backup(struct db *db, const char *path);

#endif
