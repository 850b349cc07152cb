/* db.h — the database layer: one API over SQLite (embedded default) and
 * PostgreSQL (libpq).  SQL is written inline at call sites with :name
 * parameters; this layer binds them by name (SQLite understands :name
 * itself; the PostgreSQL backend rewrites them to $n).  Rows are read by
 * column index through a named enum kept beside each query.
 *
 * SQL is written in the dialect both understand.  The PostgreSQL backend
 * rewrites the few SQLite spellings that differ (INTEGER → BIGINT, INTEGER
 * PRIMARY KEY AUTOINCREMENT → an identity column, REAL → DOUBLE PRECISION,
 * BLOB → BYTEA, instr() → strpos()); text must compare bytewise, so a
 * PostgreSQL database must use the C collation (db_open refuses others).
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

/* Open the database at `target`: a PostgreSQL connection URI when it starts
 * with postgresql:// or postgres:// (the database must exist; `create` is
 * ignored), else a SQLite file path, created when `create` is set (WAL,
 * foreign keys, a busy timeout and synchronous mode are set).  Returns NULL
 * with a Chinese message in errbuf (errlen bytes) on failure.
 *
 * A PostgreSQL connection that breaks (server restart) is re-established on
 * the next statement run outside a transaction, which is then retried once;
 * inside a transaction the statement fails and the caller retries. */
struct db *db_open(const char *target, int create, char *errbuf, size_t errlen);
void db_close(struct db *db);
/* How many connections db_open has made in this process and db_close not yet
 * closed. */
int db_open_count(void);
/* 1 if SQLite's parser refuses `sql` for its nesting alone: its parser
 * stack (100 entries in 3.40) or its expression depth (1000) overflows.
 * Names are not looked up (the check runs on an empty database in memory),
 * and any other fault of the text is left to the real prepare.  PostgreSQL
 * nests far deeper, so SQL that passes here runs on both. */
int db_sql_too_deep(const char *sql);
/* The message of the last failure on this connection. */
const char *db_errmsg(struct db *db);
/* The target this connection was opened with (borrowed). */
const char *db_target(struct db *db);
/* 1 for a database server (PostgreSQL), where every statement costs a round
 * trip and bulk writes should go through db_copy_*; 0 for SQLite. */
int db_is_server(struct db *db);

/* Run one or more statements without parameters. */
int db_exec(struct db *db, const char *sql);

/* Prepare `sql`.  Statements are cached per connection keyed by the SQL
 * text's address, so pass string literals; db_done() returns a statement to
 * the cache.  Dies on a syntax error: SQL in the code must be valid. */
struct db_stmt *db_prepare(struct db *db, const char *sql);
/* Prepare SQL built at run time (a compiled rule, say).  The text is
 * interned once per process, so the same text reuses one cached statement
 * and a freed buffer can never alias another statement's cache entry.
 * Interned texts live until exit: use it for a bounded set of texts. */
struct db_stmt *db_prepare_text(struct db *db, const char *sql);
/* Reset and clear bindings, keeping the statement in the cache. */
void db_done(struct db_stmt *st);

void db_bind_int(struct db_stmt *st, const char *name, int64_t v);
void db_bind_double(struct db_stmt *st, const char *name, double v);
/* Bind text (copied); NULL binds SQL NULL. */
void db_bind_text(struct db_stmt *st, const char *name, const char *v);
void db_bind_null(struct db_stmt *st, const char *name);
/* Bind `lo_name`/`hi_name` so that "code >= lo AND code < hi" selects every
 * digit code starting with `prefix` ("" = all; ':' sorts right after '9'). */
void db_bind_prefix(struct db_stmt *st, const char *lo_name, const char *hi_name,
		    const char *prefix);
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
/* A read-only transaction: one consistent view of the database for several
 * statements, without the write lock db_begin takes on SQLite (BEGIN
 * IMMEDIATE, so concurrent readers would queue on it): SQLite BEGIN
 * DEFERRED, PostgreSQL REPEATABLE READ READ ONLY.  Ended by db_commit or
 * db_rollback; nested inside db_begin it is part of that transaction.
 * Nothing may be written inside it. */
#define db_begin_read(db) db_begin_read_real((db), __FILE__, __LINE__)
int db_begin_read_real(struct db *db, const char *file, int line);
int db_commit(struct db *db);
void db_rollback(struct db *db);
/* Durability of the next commits on this connection: 1 (default) waits for
 * the disk; 0 may lose the last commits on power loss (never on a process
 * crash).  Used for audit rows of reads, which must not cost an fsync each.
 * Call outside a transaction. */
void db_set_durable(struct db *db, int durable);
/* Nesting depth (0 = no transaction). */
int db_depth(struct db *db);
/* A read snapshot: the statements run until db_snapshot_end() see one state of
 * the database and take its read lock once instead of once each (SQLite;
 * a no-op on PostgreSQL, where BEGIN and COMMIT would cost a round trip
 * each).  Whatever may write — db_begin(), db_exec(), a statement that is
 * not read-only — ends the snapshot first and runs as it would without one,
 * so a snapshot never becomes a write transaction.  No-op inside a
 * transaction or an open snapshot. */
void db_snapshot_begin(struct db *db);
/* End the read snapshot, if one is open. */
void db_snapshot_end(struct db *db);

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

/* What kind of trouble the last failed statement on this connection met,
 * so that a caller can answer it well (a full disk is not a bug in the
 * request).  Set by every failure; cleared only by db_fault_clear(). */
enum db_fault {
	DB_FAULT_NONE = 0,
	DB_FAULT_FULL,     /* no space left (SQLITE_FULL, ENOSPC; PostgreSQL 53100) */
	DB_FAULT_READONLY, /* the database cannot be written (read-only file or
			    * filesystem; PostgreSQL 25006) */
	DB_FAULT_IO,       /* another I/O error of the storage */
};
enum db_fault db_fault(struct db *db);
void db_fault_clear(struct db *db);
/* 1 when the connection was opened without write access (SQLite: the file
 * or its filesystem is read-only; reads are served from it as it is and
 * every write fails with DB_FAULT_READONLY).  Open a new connection to
 * find out whether the storage has become writable again. */
int db_readonly(struct db *db);

/* Online, consistent copy of database `target` (a SQLite file or a
 * PostgreSQL URL) into the file `out`, while other processes go on writing
 * (src/db/backup.c).  SQLite: every page is copied inside one read
 * transaction, checked with PRAGMA integrity_check, synced and renamed into
 * place, so `out` never holds half a backup.  PostgreSQL: pg_dump's custom
 * format (pg_dump must be installed).  An existing `out` is refused unless
 * `force`.  Returns 0, or -1 with a Chinese message in errbuf. */
int db_backup(const char *target, const char *out, int force, char *errbuf, size_t errlen);
/* Replace database `target` by the backup file `in`, made by db_backup.  The
 * backup is verified first (SQLite: integrity_check and liubao's
 * schema_version table; PostgreSQL: pg_restore --list); a target that holds
 * data is refused unless `force`.  SQLite: a new target is written under a
 * temporary name and renamed; an existing one is overwritten through the
 * backup API in one transaction, so a server that has it open sees either
 * the old or the restored database; the target is checked afterwards.
 * PostgreSQL: pg_restore in a single transaction (with --clean when
 * `force`).  Returns 0, or -1 with a Chinese message in errbuf. */
int db_restore(const char *in, const char *target, int force, char *errbuf, size_t errlen);

/* Refresh the planner's statistics, after a bulk load or before queries
 * that depend on them (which table a join starts from): SQLite ANALYZE,
 * sampling at most 1,000 rows per index (about a second for a million
 * members); PostgreSQL ANALYZE.  With `if_never`, only when this SQLite
 * database has never been analyzed (PostgreSQL's autovacuum keeps its own
 * statistics).  0 or -1. */
int db_analyze(struct db *db, int if_never);
/* Ready the connection for one large write (SQLite: a bigger page cache,
 * 256 MiB). */
void db_tune_bulk(struct db *db);
/* The same with a page cache of `bytes` (SQLite), for a caller that holds
 * much in memory itself and keeps the process under a budget. */
void db_tune_bulk_cache(struct db *db, size_t bytes);
/* Before a bulk load into tables that are still empty: on PostgreSQL, drop
 * the foreign keys and the plain (non-constraint) indexes of `tables`
 * (comma-separated names) and set *restore to the SQL that re-creates them
 * — run it with db_exec after the load, in the same transaction, so every
 * constraint is checked once for the whole load instead of per row (a
 * per-row foreign-key check locks the parent row and costs as much as the
 * insert).  The drops take exclusive locks: use only on tables nobody reads
 * yet.  On SQLite *restore is "".  Returns 0, or -1 (*restore NULL); the
 * caller frees *restore. */
int db_defer_indexes(struct db *db, const char *tables, char **restore);

/* Reserve `n` new values of `table`'s integer key "id" for rows the caller
 * then inserts with explicit ids (db_copy_* cannot return generated keys):
 * PostgreSQL takes them from the column's sequence (one round trip; not
 * necessarily consecutive), SQLite continues after the largest id ever
 * used (AUTOINCREMENT's rule), which holds only inside a write transaction
 * — call it inside one, on both.  Fills ids[0..n-1]; 0 or -1. */
int db_next_ids(struct db *db, const char *table, long n, int64_t *ids);

/* Bulk load: append rows to `table`'s `columns` (comma-separated names) —
 * COPY on PostgreSQL, a prepared INSERT per row on SQLite.  Add each row's
 * fields in column order, then db_copy_row(); db_copy_end() finishes and
 * frees the handle.  Errors (a bad value, a violated constraint) may show
 * only at db_copy_row or db_copy_end, which return 0 or a negative
 * db_step_result; after a failure keep calling nothing but db_copy_end.
 * No other statement may run on the connection between begin and end. */
struct db_copy;
struct db_copy *db_copy_begin(struct db *db, const char *table, const char *columns);
void db_copy_int(struct db_copy *c, int64_t v);
/* An int, or NULL when v < 0. */
void db_copy_int_or_null(struct db_copy *c, int64_t v);
/* Text (borrowed until db_copy_row); NULL adds SQL NULL. */
void db_copy_text(struct db_copy *c, const char *v);
int db_copy_row(struct db_copy *c);
/* Finish the load (abort it when `abort` is set, or after a failure). */
int db_copy_end(struct db_copy *c, int abort);

#endif
