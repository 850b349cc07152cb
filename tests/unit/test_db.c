/* test_db.c — the db layer, on SQLite and, when LIUBAO_TEST_PG names a
 * PostgreSQL maintenance database (tests/run-all sets it), on PostgreSQL
 * too: every check runs on each backend in turn.  Covers :name parameters
 * (reused names, colons in literals and casts), bound types and NULLs,
 * constraint mapping, nested and read-only transactions, ids from db_run_insert, the bulk
 * (COPY) API with awkward text, statements nested inside a running query,
 * the dialect rewrites and bytewise text order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/util.h"
#include "db/db.h"
#include "harness.h"

static struct db *pg_db; /* one scratch database per test process */
static char *pg_admin_url, *pg_name;

static void drop_pg_db(void)
{
	char err[512];
	struct db *admin;
	db_close(pg_db);
	admin = db_open(pg_admin_url, 0, err, sizeof(err));
	if (admin) {
		char *sql = xstrfmt("DROP DATABASE IF EXISTS %s WITH (FORCE)", pg_name);
		db_exec(admin, sql);
		free(sql);
		db_close(admin);
	}
}

/* The scratch PostgreSQL database, created on first use; NULL without
 * LIUBAO_TEST_PG. */
static struct db *open_pg(void)
{
	const char *url = getenv("LIUBAO_TEST_PG");
	const char *slash, *q;
	char err[512];
	struct db *admin;
	char *sql, *target;
	if (pg_db || !url || !*url)
		return pg_db;
	admin = db_open(url, 0, err, sizeof(err));
	if (!CHECK(admin != NULL)) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	pg_name = xstrfmt("lb_unit_db_%d", (int)getpid());
	sql = xstrfmt("DROP DATABASE IF EXISTS %s", pg_name);
	CHECK_INT(db_exec(admin, sql), 0);
	free(sql);
	sql = xstrfmt("CREATE DATABASE %s", pg_name);
	CHECK_INT(db_exec(admin, sql), 0);
	free(sql);
	db_close(admin);
	/* postgresql://user@/postgres?host=... → the same with our database */
	slash = strchr(strstr(url, "://") + 3, '/');
	q = slash ? strchr(slash, '?') : NULL;
	target = xstrfmt("%.*s/%s%s", (int)(slash ? slash - url : (long)strlen(url)), url, pg_name,
			 q ? q : "");
	pg_db = db_open(target, 0, err, sizeof(err));
	if (!CHECK(pg_db != NULL))
		fprintf(stderr, "%s\n", err);
	free(target);
	pg_admin_url = xstrdup(url);
	atexit(drop_pg_db);
	return pg_db;
}

/* Run `fn` on a fresh SQLite database, then on PostgreSQL when configured. */
static void on_each_backend(const char *name, void (*fn)(struct db *db))
{
	char path[256], err[256];
	struct db *db;
	snprintf(path, sizeof(path), "%s/%s.db", unit_tmpdir(), name);
	unlink(path);
	db = db_open(path, 1, err, sizeof(err));
	if (CHECK(db != NULL)) {
		fn(db);
		CHECK_INT(db_depth(db), 0);
		db_close(db);
	}
	if ((db = open_pg())) {
		fn(db);
		CHECK_INT(db_depth(db), 0);
	}
}

static void params(struct db *db)
{
	struct db_stmt *st = db_prepare(db, "SELECT :a + :b, :a * 2, 'x:y::z', :t || ':b', "
					    "CAST(:n AS INTEGER) IS NULL, :d * 2");
	db_bind_int(st, ":a", 20);
	db_bind_int(st, ":b", 22);
	db_bind_text(st, ":t", "文");
	db_bind_null(st, ":n");
	db_bind_double(st, ":d", 1.25);
	CHECK_INT(db_step(st), DB_ROW);
	CHECK_INT(db_col_int(st, 0), 42);
	CHECK_INT(db_col_int(st, 1), 40);
	CHECK_STR(db_col_text(st, 2), "x:y::z");
	CHECK_STR(db_col_text(st, 3), "文:b");
	CHECK_INT(db_col_int(st, 4), 1);
	CHECK(db_col_double(st, 5) == 2.5);
	CHECK_INT(db_step(st), DB_DONE);
	db_done(st);
	/* the cached statement again, with other values */
	st = db_prepare(db, "SELECT :a + :b, :a * 2, 'x:y::z', :t || ':b', "
			    "CAST(:n AS INTEGER) IS NULL, :d * 2");
	db_bind_int(st, ":a", -1);
	db_bind_int(st, ":b", 1);
	db_bind_text(st, ":t", "");
	db_bind_int(st, ":n", 3);
	db_bind_double(st, ":d", 0);
	CHECK_INT(db_step(st), DB_ROW);
	CHECK_INT(db_col_int(st, 0), 0);
	CHECK_STR(db_col_text(st, 3), ":b");
	CHECK_INT(db_col_int(st, 4), 0);
	db_done(st);
}

TEST(db_named_parameters_and_types)
{
	on_each_backend("params", params);
}

static void nulls(struct db *db)
{
	struct db_stmt *st;
	CHECK_INT(db_exec(db, "DROP TABLE IF EXISTS t; CREATE TABLE t(id INTEGER PRIMARY KEY "
			      "AUTOINCREMENT, k INTEGER, s TEXT); INSERT INTO t(k, s) VALUES(1, 'a'), "
			      "(2, 'b'), (NULL, 'c')"),
		  0);
	for (int pass = 0; pass < 3; pass++) {
		/* :k bound NULL first: the server must still work out its type */
		int64_t k = pass == 0 ? -1 : pass;
		int n = 0;
		st = db_prepare(db, "SELECT count(*) FROM t WHERE (:k IS NULL OR k = :k) AND "
				    "(:s IS NULL OR s = :s)");
		db_bind_int_or_null(st, ":k", k);
		db_bind_text(st, ":s", pass == 2 ? "b" : NULL);
		if (CHECK_INT(db_step(st), DB_ROW))
			n = (int)db_col_int(st, 0);
		db_done(st);
		CHECK_INT(n, pass == 0 ? 3 : 1);
	}
	st = db_prepare(db, "SELECT k, s FROM t ORDER BY id");
	CHECK_INT(db_step(st), DB_ROW);
	CHECK(!db_col_is_null(st, 0));
	CHECK_INT(db_step(st), DB_ROW);
	CHECK_INT(db_step(st), DB_ROW);
	CHECK(db_col_is_null(st, 0));
	CHECK_INT(db_col_int(st, 0), 0);
	CHECK_STR(db_col_text(st, 0), "");
	CHECK_INT(db_step(st), DB_DONE);
	db_done(st);
}

TEST(db_null_parameters_and_columns)
{
	on_each_backend("nulls", nulls);
}

static void constraints(struct db *db)
{
	struct db_stmt *st;
	int64_t id1, id2;
	CHECK_INT(db_exec(db, "DROP TABLE IF EXISTS c; DROP TABLE IF EXISTS p; "
			      "CREATE TABLE p(id INTEGER PRIMARY KEY AUTOINCREMENT, u TEXT UNIQUE, "
			      "n INTEGER CHECK (n >= 0)); CREATE TABLE c(id INTEGER PRIMARY KEY "
			      "AUTOINCREMENT, p INTEGER NOT NULL REFERENCES p(id))"),
		  0);
	st = db_prepare(db, "INSERT INTO p(u, n) VALUES(:u, :n)");
	db_bind_text(st, ":u", "x");
	db_bind_int(st, ":n", 1);
	id1 = db_run_insert(st);
	db_done(st);
	st = db_prepare(db, "INSERT INTO p(u, n) VALUES(:u, :n)");
	db_bind_text(st, ":u", "y");
	db_bind_int(st, ":n", 1);
	id2 = db_run_insert(st);
	db_done(st);
	CHECK(id1 > 0 && id2 > id1);
	st = db_prepare(db, "INSERT INTO p(u, n) VALUES(:u, :n)");
	db_bind_text(st, ":u", "x");
	db_bind_int(st, ":n", 1);
	CHECK_INT(db_run_insert(st), DB_CONSTRAINT); /* unique */
	db_done(st);
	st = db_prepare(db, "INSERT INTO p(u, n) VALUES(:u, :n)");
	db_bind_text(st, ":u", "z");
	db_bind_int(st, ":n", -5);
	CHECK_INT(db_run_insert(st), DB_CONSTRAINT); /* check */
	db_done(st);
	st = db_prepare(db, "INSERT INTO c(p) VALUES(:p)");
	db_bind_int(st, ":p", id2 + 100);
	CHECK_INT(db_run(st), DB_CONSTRAINT); /* foreign key */
	db_done(st);
	CHECK(strlen(db_errmsg(db)) > 0);
	st = db_prepare(db, "UPDATE p SET n = n + 1");
	CHECK_INT(db_run(st), DB_DONE);
	db_done(st);
	CHECK_INT(db_changes(db), 2);
}

TEST(db_constraints_ids_and_changes)
{
	on_each_backend("constraints", constraints);
}

static int64_t count(struct db *db, const char *sql)
{
	struct db_stmt *st = db_prepare(db, sql);
	int64_t n = -1;
	if (db_step(st) == DB_ROW)
		n = db_col_int(st, 0);
	db_done(st);
	return n;
}

static void transactions(struct db *db)
{
	CHECK_INT(db_exec(db, "DROP TABLE IF EXISTS tx; CREATE TABLE tx(v INTEGER)"), 0);
	/* a nested rollback dooms the outer transaction */
	CHECK_INT(db_begin(db), 0);
	CHECK_INT(db_exec(db, "INSERT INTO tx VALUES(1)"), 0);
	CHECK_INT(db_begin(db), 0);
	CHECK_INT(db_depth(db), 2);
	db_rollback(db);
	CHECK_INT(db_commit(db), -1);
	CHECK_INT(db_depth(db), 0);
	CHECK_INT(count(db, "SELECT count(*) FROM tx"), 0);
	/* nested commits commit once */
	CHECK_INT(db_begin(db), 0);
	CHECK_INT(db_begin(db), 0);
	CHECK_INT(db_exec(db, "INSERT INTO tx VALUES(2)"), 0);
	CHECK_INT(db_commit(db), 0);
	CHECK_INT(db_commit(db), 0);
	CHECK_INT(count(db, "SELECT count(*) FROM tx"), 1);
	/* a failed statement, then rollback: nothing kept */
	CHECK_INT(db_begin(db), 0);
	CHECK_INT(db_exec(db, "INSERT INTO tx VALUES(3)"), 0);
	CHECK_INT(db_exec(db, "INSERT INTO no_such_table VALUES(1)"), -1);
	db_rollback(db);
	CHECK_INT(count(db, "SELECT count(*) FROM tx"), 1);
}

TEST(db_nested_transactions)
{
	on_each_backend("transactions", transactions);
}

/* db_begin_read: one snapshot, and a writer on another connection goes on
 * meanwhile (on SQLite db_begin would hold the write lock instead). */
static void read_snapshot(struct db *db)
{
	char err[512];
	struct db *other = db_open(db_target(db), 0, err, sizeof(err));
	if (!CHECK(other != NULL))
		return;
	CHECK_INT(db_exec(db, "DROP TABLE IF EXISTS rs; CREATE TABLE rs(v INTEGER); "
			      "INSERT INTO rs VALUES(1)"), 0);
	CHECK_INT(db_begin_read(db), 0);
	CHECK_INT(count(db, "SELECT count(*) FROM rs"), 1);
	CHECK_INT(db_begin(other), 0);
	CHECK_INT(db_exec(other, "INSERT INTO rs VALUES(2)"), 0);
	CHECK_INT(db_commit(other), 0);
	CHECK_INT(count(db, "SELECT count(*) FROM rs"), 1);
	CHECK_INT(db_commit(db), 0);
	CHECK_INT(count(db, "SELECT count(*) FROM rs"), 2);
	/* inside a write transaction it is part of it */
	CHECK_INT(db_begin(db), 0);
	CHECK_INT(db_begin_read(db), 0);
	CHECK_INT(db_depth(db), 2);
	CHECK_INT(db_commit(db), 0);
	CHECK_INT(db_exec(db, "INSERT INTO rs VALUES(3)"), 0);
	CHECK_INT(db_commit(db), 0);
	CHECK_INT(count(other, "SELECT count(*) FROM rs"), 3);
	db_close(other);
}

TEST(db_read_transactions_see_one_snapshot_and_block_no_writer)
{
	on_each_backend("read_snapshot", read_snapshot);
}

static void bulk(struct db *db)
{
	static const char *const texts[] = { "plain", "tab\there", "line\nbreak", "cr\rlf\r\n",
					     "back\\slash\\N", "quote'\"", "中文，逗号", "", "\\." };
	struct db_copy *c;
	struct db_stmt *st;
	int n = 0, ok = 1;
	CHECK_INT(db_exec(db, "DROP TABLE IF EXISTS b; CREATE TABLE b(i INTEGER, s TEXT, k INTEGER)"),
		  0);
	CHECK_INT(db_begin(db), 0);
	c = db_copy_begin(db, "b", "i, s, k");
	for (int i = 0; i < 3000; i++) {
		db_copy_int(c, i);
		db_copy_text(c, i % 10 == 9 ? NULL : texts[i % 10]);
		db_copy_int_or_null(c, i % 7 == 0 ? -1 : i * 1000000007LL);
		CHECK_INT(db_copy_row(c), 0);
	}
	CHECK_INT(db_copy_end(c, 0), 0);
	CHECK_INT(db_commit(db), 0);
	st = db_prepare(db, "SELECT i, s, k FROM b ORDER BY i");
	while (db_step(st) == DB_ROW) {
		int i = (int)db_col_int(st, 0);
		ok &= i == n;
		if (i % 10 == 9)
			ok &= db_col_is_null(st, 1);
		else
			ok &= !strcmp(db_col_text(st, 1), texts[i % 10]);
		ok &= i % 7 == 0 ? db_col_is_null(st, 2) : db_col_int(st, 2) == i * 1000000007LL;
		n++;
	}
	db_done(st);
	CHECK_INT(n, 3000);
	CHECK(ok);
	/* a failing load is rolled back whole */
	CHECK_INT(db_exec(db, "DROP TABLE IF EXISTS bu; CREATE TABLE bu(s TEXT UNIQUE)"), 0);
	CHECK_INT(db_begin(db), 0);
	c = db_copy_begin(db, "bu", "s");
	for (int i = 0; i < 3; i++) {
		db_copy_text(c, i == 2 ? "a" : i ? "b" : "a");
		db_copy_row(c);
	}
	CHECK_INT(db_copy_end(c, 0), DB_CONSTRAINT);
	db_rollback(db);
	CHECK_INT(count(db, "SELECT count(*) FROM bu"), 0);
}

TEST(db_bulk_copy)
{
	on_each_backend("bulk", bulk);
}

static void nested(struct db *db)
{
	struct db_stmt *outer, *inner;
	int64_t sum = 0;
	int rows = 0;
	CHECK_INT(db_exec(db, "DROP TABLE IF EXISTS n; CREATE TABLE n(i INTEGER)"), 0);
	CHECK_INT(db_begin(db), 0);
	for (int i = 1; i <= 500; i++) {
		struct db_stmt *st = db_prepare(db, "INSERT INTO n(i) VALUES(:i)");
		db_bind_int(st, ":i", i);
		db_run(st);
		db_done(st);
	}
	CHECK_INT(db_commit(db), 0);
	/* a look-up per row of a running query, and a write between rows */
	outer = db_prepare(db, "SELECT i FROM n ORDER BY i");
	while (db_step(outer) == DB_ROW) {
		int64_t i = db_col_int(outer, 0);
		inner = db_prepare(db, "SELECT i * 2 FROM n WHERE i = :i");
		db_bind_int(inner, ":i", i);
		if (db_step(inner) == DB_ROW)
			sum += db_col_int(inner, 0) - i;
		db_done(inner);
		if (i == 250)
			CHECK_INT(db_exec(db, "CREATE TABLE IF NOT EXISTS n2(x INTEGER)"), 0);
		rows++;
	}
	db_done(outer);
	CHECK_INT(rows, 500);
	CHECK_INT(sum, 500 * 501 / 2);
	/* a statement abandoned half-way leaves the connection usable */
	outer = db_prepare(db, "SELECT i FROM n ORDER BY i");
	CHECK_INT(db_step(outer), DB_ROW);
	db_done(outer);
	CHECK_INT(count(db, "SELECT count(*) FROM n"), 500);
}

TEST(db_statements_nested_in_a_running_query)
{
	on_each_backend("nested", nested);
}

static void dialect(struct db *db)
{
	struct db_stmt *st;
	/* instr() means the same on both */
	CHECK_INT(count(db, "SELECT instr('abcdef', 'cd')"), 3);
	CHECK_INT(count(db, "SELECT instr('abc', 'x')"), 0);
	/* bytewise order: upper case before lower case, a prefix range with
	 * U+10FFFF as its upper bound catches every continuation */
	CHECK_INT(count(db, "SELECT 'B' < 'a'"), 1);
	CHECK_INT(db_exec(db, "DROP TABLE IF EXISTS o; CREATE TABLE o(s TEXT); "
			      "INSERT INTO o VALUES('王'), ('王小明'), ('王𠀀'), ('汪'), ('王!')"),
		  0);
	st = db_prepare(db, "SELECT count(*) FROM o WHERE s >= :q AND s < :qend");
	db_bind_text(st, ":q", "王");
	db_bind_text(st, ":qend", "王\xf4\x8f\xbf\xbf");
	CHECK_INT(db_step(st), DB_ROW);
	CHECK_INT(db_col_int(st, 0), 4);
	db_done(st);
	/* region-code ranges: hi = prefix || ':' */
	CHECK_INT(count(db, "SELECT '6109261' >= '610926' AND '6109269999' < '610926:'"), 1);
	/* an identity column from INTEGER PRIMARY KEY AUTOINCREMENT, REAL stays a double */
	CHECK_INT(db_exec(db, "DROP TABLE IF EXISTS d; CREATE TABLE d(id INTEGER PRIMARY KEY "
			      "AUTOINCREMENT, r REAL, big INTEGER); INSERT INTO d(r, big) "
			      "VALUES(0.1, 9007199254740993)"),
		  0);
	st = db_prepare(db, "SELECT id, r, big FROM d");
	CHECK_INT(db_step(st), DB_ROW);
	CHECK_INT(db_col_int(st, 0), 1);
	CHECK(db_col_double(st, 1) == 0.1);
	CHECK_INT(db_col_int(st, 2), 9007199254740993LL);
	db_done(st);
}

TEST(db_dialect_and_text_order)
{
	on_each_backend("dialect", dialect);
}

static const struct db_migration test_migrations[] = {
	{ 1, "one", "CREATE TABLE m1(id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)", NULL },
	{ 2, "two, with a PostgreSQL variant",
	  "CREATE TABLE m2(v TEXT); INSERT INTO m2 VALUES('sqlite')",
	  "CREATE TABLE m2(v TEXT); INSERT INTO m2 VALUES('postgresql')" },
};

static void migrations(struct db *db)
{
	struct db_stmt *st;
	db_exec(db, "DROP TABLE IF EXISTS m1; DROP TABLE IF EXISTS m2; "
		    "DELETE FROM schema_version WHERE module = 'unit'");
	CHECK_INT(db_migrate(db, "unit", test_migrations, 2), 0);
	CHECK_INT(db_migrate(db, "unit", test_migrations, 2), 0); /* again: nothing to do */
	CHECK_INT(db_schema_version(db, "unit"), 2);
	st = db_prepare(db, "SELECT v FROM m2");
	CHECK_INT(db_step(st), DB_ROW);
	CHECK_STR(db_col_text(st, 0), db_is_server(db) ? "postgresql" : "sqlite");
	db_done(st);
}

TEST(db_migrations_pick_the_dialect)
{
	on_each_backend("migrations", migrations);
}

/* Read snapshots: reads see one state until db_snapshot_end; a write — a
 * statement that is not read-only, db_exec, db_begin — ends the snapshot
 * first and then runs as it would without one (committed at once). */
static void snapshots(struct db *db)
{
	char path[256], err[256];
	struct db *other;
	struct db_stmt *st;
	CHECK_INT(db_exec(db, "CREATE TABLE snap(id INTEGER PRIMARY KEY, v TEXT NOT NULL)"), 0);
	CHECK_INT(db_exec(db, "INSERT INTO snap(id, v) VALUES(1, 'a')"), 0);
	if (db_is_server(db)) {
		/* a no-op on PostgreSQL: nothing to check but that it is harmless */
		db_snapshot_begin(db);
		CHECK_INT(db_depth(db), 0);
		db_snapshot_end(db);
		CHECK_INT(db_exec(db, "DROP TABLE snap"), 0);
		return;
	}
	snprintf(path, sizeof(path), "%s/snapshots.db", unit_tmpdir());
	other = db_open(path, 0, err, sizeof(err));
	if (!CHECK(other != NULL))
		return;
	db_snapshot_begin(db);
	CHECK_INT(db_depth(db), 0); /* not a transaction for the nesting rules */
	st = db_prepare(db, "SELECT count(*) FROM snap");
	CHECK_INT(db_step(st), DB_ROW);
	CHECK_INT(db_col_int(st, 0), 1);
	db_done(st);
	/* another connection commits; the snapshot still sees one row */
	CHECK_INT(db_exec(other, "INSERT INTO snap(id, v) VALUES(2, 'b')"), 0);
	st = db_prepare(db, "SELECT count(*) FROM snap");
	CHECK_INT(db_step(st), DB_ROW);
	CHECK_INT(db_col_int(st, 0), 1);
	db_done(st);
	/* a write ends the snapshot and commits by itself */
	st = db_prepare(db, "INSERT INTO snap(id, v) VALUES(:id, 'c')");
	db_bind_int(st, ":id", 3);
	CHECK_INT(db_run(st), 0);
	db_done(st);
	st = db_prepare(other, "SELECT count(*) FROM snap");
	CHECK_INT(db_step(st), DB_ROW);
	CHECK_INT(db_col_int(st, 0), 3); /* visible elsewhere: committed */
	db_done(st);
	db_snapshot_end(db); /* nothing open any more: harmless */
	/* db_begin inside a snapshot ends it and begins a write transaction */
	db_snapshot_begin(db);
	st = db_prepare(db, "SELECT count(*) FROM snap");
	CHECK_INT(db_step(st), DB_ROW);
	db_done(st);
	CHECK_INT(db_begin(db), 0);
	CHECK_INT(db_exec(db, "DELETE FROM snap WHERE id = 3"), 0);
	CHECK_INT(db_commit(db), 0);
	/* db_snapshot_begin inside a transaction does nothing */
	CHECK_INT(db_begin(db), 0);
	db_snapshot_begin(db);
	CHECK_INT(db_exec(db, "DELETE FROM snap WHERE id = 2"), 0);
	db_snapshot_end(db);
	CHECK_INT(db_depth(db), 1);
	CHECK_INT(db_commit(db), 0);
	st = db_prepare(other, "SELECT count(*) FROM snap");
	CHECK_INT(db_step(st), DB_ROW);
	CHECK_INT(db_col_int(st, 0), 1);
	db_done(st);
	db_close(other);
	CHECK_INT(db_exec(db, "DROP TABLE snap"), 0);
}

TEST(db_read_snapshots)
{
	char path[256], err[256];
	struct db *db;
	/* the second connection needs the same file: not on_each_backend */
	snprintf(path, sizeof(path), "%s/snapshots.db", unit_tmpdir());
	unlink(path);
	db = db_open(path, 1, err, sizeof(err));
	if (CHECK(db != NULL)) {
		snapshots(db);
		CHECK_INT(db_depth(db), 0);
		db_close(db);
	}
	if ((db = open_pg()))
		snapshots(db);
}

/* db_next_ids: ids no row has had, usable with db_copy, and the table's own
 * ids continue after them. */
static void next_ids(struct db *db)
{
	int64_t ids[3];
	struct db_copy *c;
	struct db_stmt *st;
	CHECK_INT(db_exec(db, "CREATE TABLE nid(id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)"), 0);
	CHECK_INT(db_exec(db, "INSERT INTO nid(v) VALUES('a')"), 0);
	CHECK_INT(db_exec(db, "INSERT INTO nid(v) VALUES('b')"), 0);
	CHECK_INT(db_exec(db, "DELETE FROM nid WHERE v = 'b'"), 0); /* never reused */
	CHECK_INT(db_begin(db), 0);
	CHECK_INT(db_next_ids(db, "nid", 3, ids), 0);
	CHECK(ids[0] > 2 && ids[1] > ids[0] && ids[2] > ids[1]);
	c = db_copy_begin(db, "nid", "id, v");
	for (int i = 0; i < 3; i++) {
		db_copy_int(c, ids[i]);
		db_copy_text(c, "copied");
		db_copy_row(c);
	}
	CHECK_INT(db_copy_end(c, 0), 0);
	st = db_prepare(db, "INSERT INTO nid(v) VALUES('after')");
	CHECK(db_run_insert(st) > ids[2]);
	db_done(st);
	CHECK_INT(db_commit(db), 0);
	st = db_prepare(db, "SELECT count(*), count(DISTINCT id) FROM nid");
	CHECK_INT(db_step(st), DB_ROW);
	CHECK_INT(db_col_int(st, 0), 5);
	CHECK_INT(db_col_int(st, 1), 5);
	db_done(st);
	CHECK_INT(db_exec(db, "DROP TABLE nid"), 0);
}

TEST(db_next_ids_for_copied_rows)
{
	on_each_backend("next-ids", next_ids);
}

/* More distinct statements than the statement cache holds: those left out
 * of it still run, including PostgreSQL's guess of a NULL parameter's type
 * (":x IS NULL OR col = :x", where the server cannot infer it). */
static void beyond_cache(struct db *db)
{
	int bad = 0;
	for (int i = 0; i < 1100; i++) {
		char *sql = xstrfmt("SELECT %d WHERE (:x IS NULL OR 'a' = :x) AND (:n IS NULL OR "
				    "%d = :n)", i, i);
		struct db_stmt *st = db_prepare_text(db, sql);
		free(sql);
		db_bind_null(st, ":x");
		db_bind_text(st, ":n", NULL);
		if (db_step(st) != DB_ROW || db_col_int(st, 0) != i)
			bad++;
		db_done(st);
	}
	CHECK_INT(bad, 0);
}

TEST(db_statements_beyond_the_cache)
{
	on_each_backend("beyond-cache", beyond_cache);
}
