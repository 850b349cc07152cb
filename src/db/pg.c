/* pg.c — the PostgreSQL backend of the db layer (see db.h, backend.h), on
 * libpq.  One struct db is one connection; it is not shared between threads.
 *
 * SQL arrives in the dialect shared with SQLite and is rewritten once per
 * statement: :name parameters become $n (the same name the same $n), and the
 * few SQLite spellings PostgreSQL lacks are replaced (see rewrite_sql).
 * Statements are cached per connection by the SQL literal's address and run
 * as named prepared statements, prepared on first use with the types of the
 * values bound then (int8, float8, text; unknown for NULL, so the server
 * infers it from the parameter's other uses).  Values travel as text.
 *
 * Results are read in single-row mode, so a large export streams instead of
 * arriving whole.  The connection can carry only one running query: when
 * another statement needs it while rows are still streaming (a look-up per
 * row of an outer query), the outer query's remaining rows are read into
 * memory first.
 *
 * A broken connection (server restart) is reset before the next statement
 * when no transaction is open, and a statement that finds the connection
 * broken on its first result is retried once on the new connection; inside a
 * transaction the statement fails, as the transaction is lost. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"
#include "db/backend.h"

#define STMT_CACHE_BITS 10 /* 1,024 slots: the program has a few hundred SQL texts */
#define STMT_CACHE (1 << STMT_CACHE_BITS)
#define PARAM_CACHE 32

/* Type OIDs of the parameters we send (pg_type.h is a server header). */
#define OID_UNKNOWN 0
#define OID_INT8 20
#define OID_TEXT 25
#define OID_FLOAT8 701

enum pg_state { PS_IDLE, PS_RUNNING, PS_DONE };

struct pg_stmt {
	struct db_stmt base;
	const char *key;      /* the SQL literal's address; NULL when not cached */
	int in_use;
	char *sql;            /* rewritten: $n parameters, PostgreSQL spellings */
	char *sql_ret;        /* sql + " RETURNING id", made by the first run_insert */
	unsigned id;          /* names the prepared statements: lb<id>, lb<id>r */
	unsigned prepared[2]; /* connection generation each variant was prepared on */
	int variant;          /* 1 while running sql_ret */
	int nparams;
	char **pnames;        /* ":name" of each $n (index n - 1) */
	char **values;        /* bound text per parameter, NULL = SQL NULL */
	Oid *types;           /* type of each bound value */
	const char *addr_names[PARAM_CACHE]; /* names seen by param(), by address */
	int addr_index[PARAM_CACHE];
	int nr_addr;
	enum pg_state state;
	PGresult *pending;    /* first result, fetched by start() */
	PGresult *row;        /* the current row (a single-row result) */
	PGresult **queue;     /* results read early to free the connection */
	int nr_queue, alloc_queue, queue_pos;
};

struct pg_db {
	struct db base;
	PGconn *conn;
	unsigned gen;              /* connection generation, +1 per (re)connect */
	unsigned next_id;
	struct pg_stmt *streaming; /* the statement whose results are on the wire */
	int64_t changes;
	struct pg_stmt *cache[STMT_CACHE];
};

static const struct db_ops pg_ops;

static struct pg_db *PG(struct db *db)
{
	return (struct pg_db *)db;
}

static struct pg_stmt *ST(struct db_stmt *st)
{
	return (struct pg_stmt *)st;
}

/* ---- messages --------------------------------------------------------------- */

/* `target` without its password, for messages: user:secret@ → user@. */
static void safe_target(const char *target, char *out, size_t n)
{
	const char *scheme = strstr(target, "://"), *at, *colon;
	if (!scheme) {
		snprintf(out, n, "%s", target);
		return;
	}
	scheme += 3;
	at = strchr(scheme, '@');
	colon = strchr(scheme, ':');
	if (at && colon && colon < at && !memchr(scheme, '/', (size_t)(at - scheme)))
		snprintf(out, n, "%.*s%s", (int)(colon - target), target, at);
	else
		snprintf(out, n, "%s", target);
}

/* libpq's message without its trailing newline. */
static void trimmed(const char *msg, char *out, size_t n)
{
	size_t l;
	snprintf(out, n, "%s", msg ? msg : "");
	l = strlen(out);
	while (l && (out[l - 1] == '\n' || out[l - 1] == ' '))
		out[--l] = '\0';
}

static void set_conn_err(struct pg_db *db, const char *what)
{
	char msg[256], where[128];
	trimmed(PQerrorMessage(db->conn), msg, sizeof(msg));
	safe_target(db->base.target, where, sizeof(where));
	snprintf(db->base.err, sizeof(db->base.err), "%s（%s）：%s", what, where, msg);
}

/* Record the error of `res` (NULL: the connection's) and map its SQLSTATE:
 * class 23 (integrity) → DB_CONSTRAINT, serialization failure, deadlock and
 * lock-not-available → DB_BUSY, anything else → DB_ERROR. */
static int result_error(struct pg_db *db, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *prim = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	if (PQstatus(db->conn) == CONNECTION_BAD) {
		set_conn_err(db, "与 PostgreSQL 服务器的连接已断开，请稍后重试");
		return DB_ERROR;
	}
	if (prim)
		snprintf(db->base.err, sizeof(db->base.err), "SQL: %s%s%s%s", prim,
			 detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
	else {
		char msg[400];
		trimmed(res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn), msg, sizeof(msg));
		snprintf(db->base.err, sizeof(db->base.err), "SQL: %s", msg);
	}
	if (state && !strcmp(state, "53100"))
		db->base.fault = DB_FAULT_FULL;
	else if (state && !strcmp(state, "25006"))
		db->base.fault = DB_FAULT_READONLY;
	else if (state && !strcmp(state, "58030"))
		db->base.fault = DB_FAULT_IO;
	if (state && !strncmp(state, "23", 2))
		return DB_CONSTRAINT;
	if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03")))
		return DB_BUSY;
	return DB_ERROR;
}

static int sqlstate_is(const PGresult *res, const char *want)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return state && !strncmp(state, want, strlen(want));
}

/* ---- the dialect ---------------------------------------------------------------- */

static int is_word_start(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_word_char(int c)
{
	return is_word_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Whether the words of `phrase` (single spaces) follow at `p`, any case,
 * separated by whitespace; returns the end of the match or NULL. */
static const char *phrase_at(const char *p, const char *phrase)
{
	while (*phrase) {
		if (*phrase == ' ') {
			if (!is_space(*p))
				return NULL;
			while (is_space(*p))
				p++;
			phrase++;
			continue;
		}
		if ((*p | 0x20) != (*phrase | 0x20))
			return NULL;
		p++, phrase++;
	}
	return is_word_char((unsigned char)*p) ? NULL : p;
}

/* The SQLite spellings replaced on PostgreSQL.  Longest first. */
static const struct {
	const char *sqlite, *pg;
} spellings[] = {
	{ "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" },
	{ "INTEGER", "BIGINT" },
	{ "REAL", "DOUBLE PRECISION" },
	{ "BLOB", "BYTEA" },
};

/* Rewrite `in` into `out` for PostgreSQL.  With `names` (a growing list of
 * ":name" strings, *nr entries, *alloc slots), :name parameters become $n;
 * without, colons are copied.  String literals, quoted identifiers,
 * comments, dollar-quoted bodies and :: casts are copied unchanged. */
static void rewrite_sql(const char *in, struct buf *out, char ***names, int *nr, int *alloc)
{
	const char *p = in;
	buf_reset(out);
	while (*p) {
		unsigned char c = (unsigned char)*p;
		const char *q;
		if (c == '\'' || c == '"') {
			q = p + 1;
			for (;;) {
				if (!*q)
					break;
				if (*q == (char)c) {
					if (q[1] == (char)c) {
						q += 2;
						continue;
					}
					q++;
					break;
				}
				q++;
			}
			buf_add(out, p, (size_t)(q - p));
			p = q;
		} else if (c == '-' && p[1] == '-') {
			q = strchr(p, '\n');
			q = q ? q + 1 : p + strlen(p);
			buf_add(out, p, (size_t)(q - p));
			p = q;
		} else if (c == '/' && p[1] == '*') {
			q = strstr(p + 2, "*/");
			q = q ? q + 2 : p + strlen(p);
			buf_add(out, p, (size_t)(q - p));
			p = q;
		} else if (c == '$' && (p == in || !is_word_char((unsigned char)p[-1])) &&
			   (p[1] == '$' || is_word_start((unsigned char)p[1]))) {
			/* $tag$ ... $tag$ */
			const char *tag_end = p + 1;
			while (is_word_char((unsigned char)*tag_end) && *tag_end != '$')
				tag_end++;
			if (*tag_end != '$') {
				buf_addch(out, *p++);
				continue;
			}
			{
				size_t tl = (size_t)(tag_end - p) + 1;
				char *tag = xstrndup(p, tl);
				const char *close = strstr(tag_end + 1, tag);
				q = close ? close + tl : p + strlen(p);
				free(tag);
			}
			buf_add(out, p, (size_t)(q - p));
			p = q;
		} else if (c == ':' && p[1] == ':') {
			buf_add(out, p, 2);
			p += 2;
		} else if (c == ':' && names && is_word_start((unsigned char)p[1])) {
			int i;
			q = p + 1;
			while (is_word_char((unsigned char)*q) && *q != '$')
				q++;
			for (i = 0; i < *nr; i++)
				if (strlen((*names)[i]) == (size_t)(q - p) &&
				    !memcmp((*names)[i], p, (size_t)(q - p)))
					break;
			if (i == *nr) {
				ALLOC_GROW(*names, *nr + 1, *alloc);
				(*names)[(*nr)++] = xstrndup(p, (size_t)(q - p));
			}
			buf_addf(out, "$%d", i + 1);
			p = q;
		} else if (is_word_start(c) && (p == in || !is_word_char((unsigned char)p[-1]))) {
			size_t i;
			q = p;
			while (is_word_char((unsigned char)*q))
				q++;
			for (i = 0; i < ARRAY_SIZE(spellings); i++) {
				const char *end = phrase_at(p, spellings[i].sqlite);
				if (end) {
					buf_addstr(out, spellings[i].pg);
					p = end;
					break;
				}
			}
			if (i < ARRAY_SIZE(spellings))
				continue;
			if (q - p == 5 && !strncasecmp(p, "instr", 5)) {
				/* instr(haystack, needle): same arguments, same result */
				const char *r = q;
				while (is_space(*r))
					r++;
				if (*r == '(') {
					buf_addstr(out, "strpos");
					p = q;
					continue;
				}
			}
			buf_add(out, p, (size_t)(q - p));
			p = q;
		} else {
			buf_addch(out, *p++);
		}
	}
}

/* ---- connection ------------------------------------------------------------------ */

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Read every result still on the wire into the streaming statement's queue,
 * so that the connection is free for another query. */
static void make_idle(struct pg_db *db)
{
	struct pg_stmt *st = db->streaming;
	PGresult *r;
	if (!st)
		return;
	while ((r = PQgetResult(db->conn))) {
		ALLOC_GROW(st->queue, st->nr_queue + 1, st->alloc_queue);
		st->queue[st->nr_queue++] = r;
	}
	db->streaming = NULL;
}

/* Discard whatever results are still on the wire. */
static void drain(struct pg_db *db)
{
	PGresult *r;
	while ((r = PQgetResult(db->conn)))
		PQclear(r);
	db->streaming = NULL;
}

/* Make sure the connection is up: reset a broken one when no transaction
 * is open.  Returns 0, or -1 with the message set. */
static int ensure_conn(struct pg_db *db)
{
	if (PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	db->streaming = NULL;
	if (db->base.depth > 0) {
		set_conn_err(db, "与 PostgreSQL 服务器的连接已断开，事务已取消，请重试");
		return -1;
	}
	PQreset(db->conn);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		set_conn_err(db, "无法连接 PostgreSQL 服务器，请确认服务器已启动");
		return -1;
	}
	db->gen++; /* every prepared statement is gone with the old session */
	return 0;
}

/* 1 when the collation `name` orders text bytewise (UTF-8 code points). */
static int bytewise_collation(const char *name)
{
	return !strcmp(name, "C") || !strcmp(name, "POSIX") || !strcasecmp(name, "C.UTF-8") ||
	       !strcasecmp(name, "C.utf8");
}

struct db *db_pg_open(const char *target, char *errbuf, size_t errlen)
{
	/* defaults first: values in the URI override them */
	static const char *const keys[] = { "connect_timeout", "fallback_application_name",
					    "dbname", "client_encoding", NULL };
	const char *vals[] = { "10", "liubao", target, "UTF8", NULL };
	struct pg_db *db;
	PGconn *conn = PQconnectdbParams(keys, vals, 1);
	char where[256], msg[400];
	PGresult *res;

	safe_target(target, where, sizeof(where));
	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		trimmed(conn ? PQerrorMessage(conn) : "out of memory", msg, sizeof(msg));
		snprintf(errbuf, errlen, "无法连接 PostgreSQL 服务器 %s：%s（请确认服务器已启动、地址和数据库名正确）",
			 where, msg);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, ignore_notice, NULL);
	res = PQexec(conn, "SELECT datcollate, current_setting('transaction_read_only') FROM "
			   "pg_database WHERE datname = current_database()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		trimmed(PQresultErrorMessage(res), msg, sizeof(msg));
		snprintf(errbuf, errlen, "无法读取数据库 %s 的设置：%s", where, msg);
		PQclear(res);
		PQfinish(conn);
		return NULL;
	}
	if (!bytewise_collation(PQgetvalue(res, 0, 0))) {
		snprintf(errbuf, errlen,
			 "数据库 %s 的排序规则是 %s，liubao 需要按字节比较文本（区划代码范围、姓名前缀查询）："
			 "请用 createdb --locale=C.UTF-8 --template=template0 重新创建数据库",
			 where, PQgetvalue(res, 0, 0));
		PQclear(res);
		PQfinish(conn);
		return NULL;
	}
	db = xcalloc(1, sizeof(*db));
	/* a standby, or default_transaction_read_only set for maintenance */
	db->base.readonly = !strcmp(PQgetvalue(res, 0, 1), "on");
	PQclear(res);
	db->base.ops = &pg_ops;
	db->base.target = xstrdup(target);
	db->conn = conn;
	db->gen = 1;
	return &db->base;
}

static void free_stmt(struct pg_stmt *st)
{
	for (int i = 0; i < st->nparams; i++) {
		free(st->pnames[i]);
		free(st->values[i]);
	}
	free(st->pnames);
	free(st->values);
	free(st->types);
	free(st->queue);
	free(st->sql);
	free(st->sql_ret);
	free(st);
}

static void pg_close(struct db *base)
{
	struct pg_db *db = PG(base);
	db_base_release(base);
	for (int i = 0; i < STMT_CACHE; i++)
		if (db->cache[i])
			free_stmt(db->cache[i]);
	PQfinish(db->conn);
	free(db);
}

static int pg_exec(struct db *base, const char *sql)
{
	struct pg_db *db = PG(base);
	struct buf text = BUF_INIT;
	int rc = -1;
	rewrite_sql(sql, &text, NULL, NULL, NULL);
	for (int attempt = 0; attempt < 2; attempt++) {
		PGresult *res;
		ExecStatusType s;
		if (ensure_conn(db))
			break;
		make_idle(db);
		res = PQexec(db->conn, text.buf);
		s = PQresultStatus(res);
		if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY) {
			PQclear(res);
			rc = 0;
			break;
		}
		result_error(db, res);
		PQclear(res);
		if (PQstatus(db->conn) != CONNECTION_BAD || db->base.depth > 0)
			break;
	}
	buf_release(&text);
	return rc;
}

/* ---- statements --------------------------------------------------------------- */

static unsigned slot_of(const char *key)
{
	uintptr_t p = (uintptr_t)key;
	p ^= p >> 17;
	p *= 0x9E3779B97F4A7C15ull;
	return (unsigned)(p >> (64 - STMT_CACHE_BITS));
}

static struct db_stmt *pg_prepare(struct db *base, const char *sql)
{
	struct pg_db *db = PG(base);
	unsigned slot = slot_of(sql);
	struct pg_stmt *st;
	struct buf text = BUF_INIT;
	int alloc = 0;
	for (unsigned i = 0; i < 8; i++) {
		st = db->cache[(slot + i) % STMT_CACHE];
		if (st && st->key == sql && !st->in_use) {
			st->in_use = 1;
			return &st->base;
		}
	}
	st = xcalloc(1, sizeof(*st));
	st->base.db = base;
	st->id = ++db->next_id;
	rewrite_sql(sql, &text, &st->pnames, &st->nparams, &alloc);
	st->sql = buf_detach(&text, NULL);
	st->values = xcalloc(st->nparams + 1, sizeof(*st->values));
	st->types = xcalloc(st->nparams + 1, sizeof(*st->types));
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

static void clear_results(struct pg_stmt *st)
{
	struct pg_db *db = PG(st->base.db);
	if (db->streaming == st)
		drain(db);
	PQclear(st->pending);
	PQclear(st->row);
	st->pending = st->row = NULL;
	for (int i = st->queue_pos; i < st->nr_queue; i++)
		PQclear(st->queue[i]);
	st->nr_queue = st->queue_pos = 0;
}

static void pg_done(struct db_stmt *base)
{
	struct pg_stmt *st = ST(base);
	clear_results(st);
	for (int i = 0; i < st->nparams; i++) {
		free(st->values[i]);
		st->values[i] = NULL;
		st->types[i] = OID_UNKNOWN;
	}
	st->state = PS_IDLE;
	st->variant = 0;
	st->in_use = 0;
	if (!st->key)
		free_stmt(st);
}

/* The index of parameter `name`, remembered by the name's address. */
static int param(struct pg_stmt *st, const char *name)
{
	int i;
	for (i = 0; i < st->nr_addr; i++)
		if (st->addr_names[i] == name)
			return st->addr_index[i];
	for (i = 0; i < st->nparams; i++)
		if (!strcmp(st->pnames[i], name))
			break;
	if (i == st->nparams)
		die("no parameter %s in SQL: %s", name, st->sql);
	if (st->nr_addr < PARAM_CACHE) {
		st->addr_names[st->nr_addr] = name;
		st->addr_index[st->nr_addr++] = i;
	}
	return i;
}

static void set_value(struct pg_stmt *st, const char *name, char *v, Oid type)
{
	int i = param(st, name);
	free(st->values[i]);
	st->values[i] = v;
	st->types[i] = type;
}

static void pg_bind_int(struct db_stmt *base, const char *name, int64_t v)
{
	set_value(ST(base), name, xstrfmt("%lld", (long long)v), OID_INT8);
}

static void pg_bind_double(struct db_stmt *base, const char *name, double v)
{
	set_value(ST(base), name, xstrfmt("%.17g", v), OID_FLOAT8);
}

static void pg_bind_text(struct db_stmt *base, const char *name, const char *v)
{
	set_value(ST(base), name, v ? xstrdup(v) : NULL, v ? OID_TEXT : OID_UNKNOWN);
}

static void pg_bind_null(struct db_stmt *base, const char *name)
{
	set_value(ST(base), name, NULL, OID_UNKNOWN);
}

/* Prepare variant `v` of `st` on the current connection, with the types of
 * the values bound now.  A parameter bound NULL goes as unknown; when the
 * server cannot infer its type (as in `:x IS NULL OR col = :x`, where the
 * first use decides), it is tried as int8, then text, then float8, until
 * the statement prepares.  Returns 0 or a negative db_step_result. */
static int prepare_variant(struct pg_db *db, struct pg_stmt *st, int v)
{
	static const Oid guesses[] = { OID_INT8, OID_TEXT, OID_FLOAT8 };
	char name[32];
	PGresult *res;
	Oid *types = xcalloc(st->nparams + 1, sizeof(*types));
	int guessing = -1, guess = 0, rc = 0;
	/* a statement outside the cache goes as the unnamed statement, which
	 * the next unnamed one replaces: it is sent right after */
	if (st->key)
		snprintf(name, sizeof(name), "lb%u%s", st->id, v ? "r" : "");
	else
		name[0] = '\0';
	memcpy(types, st->types, st->nparams * sizeof(*types));
	for (int tries = 0;; tries++) {
		const char *msg;
		int n;
		res = PQprepare(db->conn, name, v ? st->sql_ret : st->sql, st->nparams, types);
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
			break;
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		if (tries < 4 * st->nparams &&
		    (sqlstate_is(res, "42P18") || sqlstate_is(res, "42P08")) && msg &&
		    (msg = strchr(msg, '$')) && (n = atoi(msg + 1)) >= 1 && n <= st->nparams &&
		    !types[n - 1]) {
			guessing = n - 1;
			guess = 0;
			types[guessing] = guesses[0];
		} else if (guessing >= 0 && guess + 1 < (int)ARRAY_SIZE(guesses) &&
			   (sqlstate_is(res, "42883") || sqlstate_is(res, "42804") ||
			    sqlstate_is(res, "42725") || sqlstate_is(res, "22P02"))) {
			types[guessing] = guesses[++guess];
		} else if (sqlstate_is(res, "42")) {
			die("cannot prepare SQL: %s\n%s", PQresultErrorMessage(res), st->sql);
		} else {
			rc = result_error(db, res);
			break;
		}
		PQclear(res);
	}
	PQclear(res);
	free(types);
	if (!rc && st->key)
		st->prepared[v] = db->gen;
	return rc;
}

/* Send the statement and fetch its first result into st->pending, resetting
 * a broken connection and retrying once when no transaction is open. */
static int start(struct pg_stmt *st)
{
	struct pg_db *db = PG(st->base.db);
	int rc = DB_ERROR;
	for (int attempt = 0; attempt < 2; attempt++) {
		int ok;
		if (ensure_conn(db))
			return DB_ERROR;
		make_idle(db);
		{
			/* every statement is prepared first, so that a parameter
			 * bound NULL whose type the server cannot infer gets one
			 * (prepare_variant); a cached one once per connection */
			char name[32] = "";
			if (!st->key || st->prepared[st->variant] != db->gen) {
				rc = prepare_variant(db, st, st->variant);
				if (rc < 0) {
					if (PQstatus(db->conn) == CONNECTION_BAD && !db->base.depth)
						continue;
					return rc;
				}
			}
			if (st->key)
				snprintf(name, sizeof(name), "lb%u%s", st->id, st->variant ? "r" : "");
			ok = PQsendQueryPrepared(db->conn, name, st->nparams,
						 (const char *const *)st->values, NULL, NULL, 0);
		}
		if (!ok) {
			rc = result_error(db, NULL);
			if (PQstatus(db->conn) == CONNECTION_BAD && !db->base.depth)
				continue;
			return rc;
		}
		PQsetSingleRowMode(db->conn);
		db->streaming = st;
		st->pending = PQgetResult(db->conn);
		if (PQresultStatus(st->pending) == PGRES_FATAL_ERROR &&
		    PQstatus(db->conn) == CONNECTION_BAD && !db->base.depth && attempt == 0) {
			PQclear(st->pending);
			st->pending = NULL;
			drain(db);
			continue;
		}
		st->state = PS_RUNNING;
		return 0;
	}
	return rc;
}

/* The statement's next result: the one fetched by start(), then those read
 * early, then those still on the wire. */
static PGresult *next_result(struct pg_stmt *st)
{
	struct pg_db *db = PG(st->base.db);
	PGresult *r;
	if (st->pending) {
		r = st->pending;
		st->pending = NULL;
		return r;
	}
	if (st->queue_pos < st->nr_queue)
		return st->queue[st->queue_pos++];
	if (db->streaming == st)
		return PQgetResult(db->conn);
	return NULL;
}

static int pg_step(struct db_stmt *base)
{
	struct pg_stmt *st = ST(base);
	struct pg_db *db = PG(base->db);
	PGresult *res;
	int rc;
	PQclear(st->row);
	st->row = NULL;
	if (st->state == PS_DONE)
		return DB_DONE;
	if (st->state == PS_IDLE && (rc = start(st)) < 0) {
		st->state = PS_DONE;
		return rc;
	}
	res = next_result(st);
	switch (PQresultStatus(res)) {
	case PGRES_SINGLE_TUPLE:
		st->row = res;
		return DB_ROW;
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		if (strncmp(PQcmdStatus(res), "SELECT", 6) && *PQcmdTuples(res))
			db->changes = strtoll(PQcmdTuples(res), NULL, 10);
		rc = DB_DONE;
		break;
	default:
		rc = res ? result_error(db, res) : DB_DONE;
		break;
	}
	PQclear(res);
	clear_results(st);
	st->state = PS_DONE;
	return rc;
}

static const char *value(struct db_stmt *base, int col)
{
	struct pg_stmt *st = ST(base);
	if (!st->row || col < 0 || col >= PQnfields(st->row))
		return NULL;
	return PQgetisnull(st->row, 0, col) ? NULL : PQgetvalue(st->row, 0, col);
}

static int pg_col_is_null(struct db_stmt *base, int col)
{
	return value(base, col) == NULL;
}

static int64_t pg_col_int(struct db_stmt *base, int col)
{
	const char *v = value(base, col);
	if (!v)
		return 0;
	if (*v == 't' || *v == 'f') /* boolean */
		return *v == 't';
	return strtoll(v, NULL, 10);
}

static double pg_col_double(struct db_stmt *base, int col)
{
	const char *v = value(base, col);
	if (!v)
		return 0;
	if (*v == 't' || *v == 'f')
		return *v == 't';
	return strtod(v, NULL);
}

static const char *pg_col_text(struct db_stmt *base, int col)
{
	const char *v = value(base, col);
	return v ? v : "";
}

static int64_t pg_changes(struct db *base)
{
	return PG(base)->changes;
}

/* db_run_insert: the statement with RETURNING id appended, run to its end. */
static int64_t pg_run_insert(struct db_stmt *base)
{
	struct pg_stmt *st = ST(base);
	int64_t id = 0;
	int rc;
	if (!st->sql_ret)
		st->sql_ret = xstrfmt("%s RETURNING id", st->sql);
	st->variant = 1;
	rc = pg_step(base);
	if (rc == DB_ROW) {
		id = pg_col_int(base, 0);
		while ((rc = pg_step(base)) == DB_ROW)
			;
	}
	return rc < 0 ? rc : id;
}

static void pg_tune_bulk(struct db *base, size_t cache_bytes)
{
	(void)base;
	(void)cache_bytes;
}

/* Read the definitions from the catalog, drop, and return the re-creating
 * SQL: indexes first, then the foreign keys (validated in one pass each). */
static int pg_defer_indexes(struct db *base, const char *tables, char **restore)
{
	struct buf drop = BUF_INIT, add_idx = BUF_INIT, add_fk = BUF_INIT;
	struct db_stmt *st;
	int rc;
	*restore = NULL;
	st = pg_prepare(base, "SELECT 'ALTER TABLE ' || quote_ident(c.relname) || ' DROP CONSTRAINT ' "
			      "|| quote_ident(k.conname), 'ALTER TABLE ' || quote_ident(c.relname) || "
			      "' ADD CONSTRAINT ' || quote_ident(k.conname) || ' ' || "
			      "pg_get_constraintdef(k.oid) FROM pg_constraint k JOIN pg_class c ON "
			      "c.oid = k.conrelid WHERE k.contype = 'f' AND c.relnamespace = "
			      "current_schema()::regnamespace AND c.relname = ANY(string_to_array("
			      "replace(:t, ' ', ''), ',')) "
			      "UNION ALL SELECT 'DROP INDEX ' || quote_ident(i.indexname), i.indexdef "
			      "FROM pg_indexes i WHERE i.schemaname = current_schema() AND i.tablename "
			      "= ANY(string_to_array(replace(:t, ' ', ''), ',')) AND NOT EXISTS (SELECT "
			      "1 FROM pg_constraint k WHERE k.conname = i.indexname AND k.connamespace "
			      "= current_schema()::regnamespace)");
	pg_bind_text(st, ":t", tables);
	while ((rc = pg_step(st)) == DB_ROW) {
		const char *add = pg_col_text(st, 1);
		buf_addf(&drop, "%s;\n", pg_col_text(st, 0));
		buf_addf(strncmp(add, "ALTER", 5) ? &add_idx : &add_fk, "%s;\n", add);
	}
	pg_done(st);
	if (rc < 0 || (drop.len && pg_exec(base, drop.buf))) {
		buf_release(&drop);
		buf_release(&add_idx);
		buf_release(&add_fk);
		return -1;
	}
	buf_addstr(&add_idx, add_fk.buf);
	*restore = buf_detach(&add_idx, NULL);
	buf_release(&drop);
	buf_release(&add_fk);
	return 0;
}

/* ---- COPY ------------------------------------------------------------------------ */

struct pg_copy {
	struct pg_db *db;
	struct buf data; /* rows not yet sent */
};

static int copy_flush(struct pg_copy *c)
{
	if (c->data.len && PQputCopyData(c->db->conn, c->data.buf, (int)c->data.len) != 1) {
		buf_reset(&c->data);
		return result_error(c->db, NULL);
	}
	buf_reset(&c->data);
	return 0;
}

static void *pg_copy_begin(struct db *base, const char *table, const char *columns, int ncols)
{
	struct pg_db *db = PG(base);
	struct pg_copy *c;
	char *sql;
	PGresult *res;
	(void)ncols;
	if (ensure_conn(db))
		return NULL;
	make_idle(db);
	sql = xstrfmt("COPY %s(%s) FROM STDIN", table, columns);
	res = PQexec(db->conn, sql);
	free(sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		result_error(db, res);
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	c = xcalloc(1, sizeof(*c));
	c->db = db;
	buf_init(&c->data, 1 << 18);
	return c;
}

/* Append `s` in COPY's text format: backslash escapes for \ TAB LF CR. */
static void add_copy_text(struct buf *b, const char *s)
{
	const char *run = s;
	for (; *s; s++) {
		char e = *s == '\\' ? '\\' : *s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : 0;
		if (!e)
			continue;
		buf_add(b, run, (size_t)(s - run));
		buf_addch(b, '\\');
		buf_addch(b, e);
		run = s + 1;
	}
	buf_add(b, run, (size_t)(s - run));
}

static int pg_copy_row(void *h, const struct db_value *v, int n)
{
	struct pg_copy *c = h;
	for (int i = 0; i < n; i++) {
		if (i)
			buf_addch(&c->data, '\t');
		if (v[i].kind == DBV_INT)
			buf_addf(&c->data, "%lld", (long long)v[i].i);
		else if (v[i].kind == DBV_TEXT)
			add_copy_text(&c->data, v[i].s);
		else
			buf_add(&c->data, "\\N", 2);
	}
	buf_addch(&c->data, '\n');
	return c->data.len >= (1 << 18) ? copy_flush(c) : 0;
}

static int pg_copy_end(void *h, int abort)
{
	struct pg_copy *c = h;
	struct pg_db *db = c->db;
	PGresult *res;
	int rc = abort ? 0 : copy_flush(c);
	if (PQputCopyEnd(db->conn, abort || rc ? "aborted by liubao" : NULL) != 1 && !rc)
		rc = result_error(db, NULL);
	res = PQgetResult(db->conn);
	if (PQresultStatus(res) == PGRES_COMMAND_OK) {
		db->changes = strtoll(PQcmdTuples(res), NULL, 10);
	} else if (!rc && !abort) {
		rc = result_error(db, res);
	}
	PQclear(res);
	drain(db);
	buf_release(&c->data);
	free(c);
	return rc;
}

static const struct db_ops pg_ops = {
	.name = "postgresql",
	.begin_sql = "BEGIN",
	.begin_read_sql = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	.close = pg_close,
	.exec = pg_exec,
	.prepare = pg_prepare,
	.done = pg_done,
	.bind_int = pg_bind_int,
	.bind_double = pg_bind_double,
	.bind_text = pg_bind_text,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.col_is_null = pg_col_is_null,
	.col_int = pg_col_int,
	.col_double = pg_col_double,
	.col_text = pg_col_text,
	.run_insert = pg_run_insert,
	.changes = pg_changes,
	.tune_bulk = pg_tune_bulk,
	.defer_indexes = pg_defer_indexes,
	.copy_begin = pg_copy_begin,
	.copy_row = pg_copy_row,
	.copy_end = pg_copy_end,
};
