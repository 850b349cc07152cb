/* session.c — sessions (random 256-bit tokens, only their hash stored),
 * the dispatcher's authentication hook, and login throttling with back-off
 * per account and per address. */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "base/csv.h"
#include "base/util.h"

long auth_session_idle_seconds = 30 * 60;
long auth_session_max_seconds = 12 * 60 * 60;

/* Hex BLAKE2b-256 of `token` into out[65]. */
static void token_hash(const char *token, char out[65])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

static void random_token(char out[64])
{
	unsigned char b[32];
	randombytes_buf(b, sizeof(b));
	sodium_bin2base64(out, 64, b, sizeof(b), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* The User-Agent as stored with a session: "" unless it is UTF-8 (the
 * header is the client's to fill, and PostgreSQL refuses text that is not
 * UTF-8), at most 255 bytes, cut before a whole character. */
static void clean_agent(const char *agent, char out[256])
{
	size_t n = agent ? strlen(agent) : 0;
	out[0] = '\0';
	if (!n || !utf8_valid(agent, n))
		return;
	if (n > 255) {
		n = 255;
		while (n && ((unsigned char)agent[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, agent, n);
	out[n] = '\0';
}

int auth_session_create(struct db *db, int64_t user_id, const char *addr, const char *agent,
			char token[64], char csrf[64])
{
	struct db_stmt *st;
	char th[65], ua[256];
	time_t now = time(NULL);
	int rc;
	if (sodium_init() < 0)
		return -1;
	random_token(token);
	random_token(csrf);
	token_hash(token, th);
	st = db_prepare(db, "INSERT INTO sessions(token_hash, user_id, csrf, created_at, last_seen, "
			    "addr, user_agent) VALUES(:th, :uid, :csrf, :now, :now, :addr, :ua)");
	db_bind_text(st, ":th", th);
	db_bind_int(st, ":uid", user_id);
	db_bind_text(st, ":csrf", csrf);
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":addr", addr ? addr : "");
	clean_agent(agent, ua);
	db_bind_text(st, ":ua", ua);
	rc = db_run(st);
	db_done(st);
	return rc < 0 ? -1 : 0;
}

/* ---- the session cache ------------------------------------------------------
 * Resolving a token costs a query joining sessions and users on every
 * request.  Each worker thread keeps the sessions it resolved, keyed by the
 * token's hash, and trusts them while the database's auth epoch (table
 * auth_epoch, bumped in the same transaction by every change that can end
 * or alter a session: logout, disabling, a role, scope or password change,
 * hand-written SQL — see schema.c) still reads what it read when the
 * entries were cached.  So a session dies on the next request in every
 * process, and a request costs a one-row read instead of the join.  Expiry
 * is checked from the cached times on every use. */

#define SESSION_CACHE_SLOTS 512 /* direct-mapped by the token hash; a power of two */

struct cached_session {
	char th[65];           /* token hash (hex); "" = empty slot */
	int64_t created, seen; /* sessions.created_at and last_seen as last read/written */
	struct principal p;    /* what the session resolves to (via_cookie unset) */
};

struct session_cache {
	struct db *db;    /* the connection the entries were read through */
	int64_t epoch;    /* auth_epoch.n when they were */
	struct cached_session *slots;
};

static __thread struct session_cache session_cache;

/* A thread's slots are freed when it ends (a server's workers). */
static pthread_key_t session_cache_key;
static pthread_once_t session_cache_once = PTHREAD_ONCE_INIT;

static void make_session_cache_key(void)
{
	pthread_key_create(&session_cache_key, free);
}

/* The current auth epoch, or -1 if the database failed. */
static int64_t auth_epoch(struct db *db)
{
	struct db_stmt *st = db_prepare(db, "SELECT n FROM auth_epoch WHERE id = 1");
	int64_t n = -1;
	int rc = db_step(st);
	if (rc == DB_ROW)
		n = db_col_int(st, 0);
	else if (rc == DB_DONE)
		n = 0;
	db_done(st);
	return n;
}

/* The cache slot for `th`, emptied first when the cache belongs to another
 * connection or an older epoch. */
static struct cached_session *cache_slot(struct db *db, int64_t epoch, const char th[65])
{
	struct session_cache *c = &session_cache;
	unsigned idx = 0;
	if (!c->slots) {
		c->slots = xcalloc(SESSION_CACHE_SLOTS, sizeof(*c->slots));
		pthread_once(&session_cache_once, make_session_cache_key);
		pthread_setspecific(session_cache_key, c->slots);
	}
	if (c->db != db || c->epoch != epoch) {
		for (int i = 0; i < SESSION_CACHE_SLOTS; i++)
			c->slots[i].th[0] = '\0';
		c->db = db;
		c->epoch = epoch;
	}
	for (int i = 0; i < 4; i++) /* the hash is uniform: its first hex digits will do */
		idx = idx * 16 + (unsigned)(th[i] <= '9' ? th[i] - '0' : th[i] - 'a' + 10);
	return &c->slots[idx % SESSION_CACHE_SLOTS];
}

enum { SC_ID, SC_USER, SC_CSRF, SC_CREATED, SC_SEEN, SC_LOGIN, SC_NAME, SC_ROLE, SC_SCOPE,
       SC_DEPT, SC_MUST };

/* Read the session with token hash `th` from the database into `e` (its
 * times and principal, whatever they are).  1 found with a usable scope,
 * 0 not, -1 error. */
static int session_read(struct db *db, const char th[65], struct cached_session *e)
{
	struct db_stmt *st;
	int rc, ok = 0;
	st = db_prepare(db, "SELECT s.id, s.user_id, s.csrf, s.created_at, s.last_seen, u.login, "
			    "u.name, u.role, u.scope_code, u.department, u.must_change_password "
			    "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = "
			    ":th AND u.disabled = 0");
	db_bind_text(st, ":th", th);
	rc = db_step(st);
	if (rc == DB_ROW) {
		char scope[13];
		struct principal *p = &e->p;
		/* a stored scope that names no region level (edited by hand, say)
		 * fails closed: "" would mean the whole system */
		if (!auth_scope_prefix(db_col_text(st, SC_SCOPE), scope)) {
			memset(e, 0, sizeof(*e));
			memcpy(e->th, th, sizeof(e->th));
			e->created = db_col_int(st, SC_CREATED);
			e->seen = db_col_int(st, SC_SEEN);
			p->user_id = db_col_int(st, SC_USER);
			p->session_id = db_col_int(st, SC_ID);
			snprintf(p->csrf, sizeof(p->csrf), "%s", db_col_text(st, SC_CSRF));
			snprintf(p->login, sizeof(p->login), "%s", db_col_text(st, SC_LOGIN));
			snprintf(p->name, sizeof(p->name), "%s", db_col_text(st, SC_NAME));
			snprintf(p->role, sizeof(p->role), "%s", db_col_text(st, SC_ROLE));
			memcpy(p->scope, scope, sizeof(p->scope));
			snprintf(p->department, sizeof(p->department), "%s", db_col_text(st, SC_DEPT));
			p->must_change_password = (int)db_col_int(st, SC_MUST);
			ok = 1;
		}
	}
	db_done(st);
	return rc < 0 ? -1 : ok;
}

/* 1 if the session of `e` is past its idle or absolute lifetime at `now`. */
static int session_expired(const struct cached_session *e, time_t now)
{
	return now - e->created >= auth_session_max_seconds ||
	       now - e->seen >= auth_session_idle_seconds;
}

int auth_session_resolve(struct db *db, const char *token, struct principal *p)
{
	struct cached_session *e, fresh;
	struct db_stmt *st;
	char th[65];
	time_t now = time(NULL);
	int64_t epoch;
	size_t tl = strlen(token);

	if (tl < 20 || tl > 64)
		return 0;
	token_hash(token, th);
	/* the epoch is read before the session: a change committed in between
	 * leaves the entry tagged with the older epoch, so it is read again */
	if ((epoch = auth_epoch(db)) < 0)
		return -1;
	e = cache_slot(db, epoch, th);
	if (strcmp(e->th, th) || session_expired(e, now)) {
		/* not cached, or it looks idle here while another process may
		 * have kept it alive: ask the database */
		int rc = session_read(db, th, &fresh);
		if (rc <= 0 || session_expired(&fresh, now)) {
			if (!strcmp(e->th, th))
				e->th[0] = '\0';
			return rc < 0 ? -1 : 0;
		}
		*e = fresh;
	}
	*p = e->p;
	if (now - e->seen >= (auth_session_idle_seconds < 240 ? auth_session_idle_seconds / 4 : 60) &&
	    !db_depth(db)) {
		/* refresh the idle clock at most once a minute (a write per request
		 * would serialise every reader on the database lock) */
		st = db_prepare(db, "UPDATE sessions SET last_seen = :now WHERE id = :id");
		db_bind_int(st, ":now", now);
		db_bind_int(st, ":id", p->session_id);
		if (db_run(st) == 0)
			e->seen = now;
		db_done(st);
	}
	return 1;
}

int64_t auth_epoch_peek(struct db *db)
{
	struct db_stmt *st;
	int64_t n = 0;
	st = db_prepare(db, db_is_server(db)
				    ? "SELECT count(*) FROM information_schema.tables WHERE table_name = "
				      "'auth_epoch' AND table_schema = current_schema()"
				    : "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
				      "'auth_epoch'");
	if (db_step(st) == DB_ROW)
		n = db_col_int(st, 0);
	db_done(st);
	return n == 1 ? auth_epoch(db) : -1;
}

int auth_epoch_advance(struct db *db, int64_t before)
{
	struct db_stmt *st = db_prepare(db, "UPDATE auth_epoch SET n = CASE WHEN n > :before THEN "
					    "n ELSE :before END + 1 WHERE id = 1");
	int rc;
	db_bind_int(st, ":before", before);
	rc = db_run(st);
	db_done(st);
	return rc < 0 ? -1 : 0;
}

int auth_session_end(struct db *db, int64_t session_id, int64_t user_id)
{
	struct db_stmt *st;
	int rc;
	if (session_id) {
		st = db_prepare(db, "DELETE FROM sessions WHERE id = :id");
		db_bind_int(st, ":id", session_id);
	} else {
		st = db_prepare(db, "DELETE FROM sessions WHERE user_id = :uid");
		db_bind_int(st, ":uid", user_id);
	}
	rc = db_run(st);
	db_done(st);
	return rc < 0 ? -1 : 0;
}

int auth_authenticate(struct http_request *req)
{
	int rc;
	if (!req->auth_token || !req->db)
		return -1;
	rc = auth_session_resolve(req->db, req->auth_token, &req->principal_buf);
	if (rc < 0)
		return -2; /* the database failed: not the caller's fault */
	if (rc != 1)
		return -1;
	req->principal_buf.via_cookie = req->auth_via_cookie;
	req->principal = &req->principal_buf;
	return 0;
}

/* ---- throttling ------------------------------------------------------------ */

long auth_lock_remaining(struct db *db, const char *key)
{
	struct db_stmt *st = db_prepare(db, "SELECT locked_until FROM login_lock WHERE key = :k");
	long left = 0;
	db_bind_text(st, ":k", key);
	if (db_step(st) == DB_ROW)
		left = (long)(db_col_int(st, 0) - time(NULL));
	db_done(st);
	return left > 0 ? left : 0;
}

void auth_lock_fail(struct db *db, const char *key, int threshold)
{
	struct db_stmt *st;
	time_t now = time(NULL);
	int64_t failures = 0, last = 0, locked = 0;
	int64_t until = 0;
	/* read-modify-write under the row's lock: on PostgreSQL concurrent
	 * failures (parallel guesses) would otherwise read the same count and
	 * lose increments; SQLite's write lock already serialises them */
	st = db_prepare(db, "INSERT INTO login_lock(key, failures, last_failure, locked_until) "
			    "VALUES(:k, 0, 0, 0) ON CONFLICT(key) DO NOTHING");
	db_bind_text(st, ":k", key);
	db_run(st);
	db_done(st);
	st = db_prepare(db, "UPDATE login_lock SET failures = failures WHERE key = :k");
	db_bind_text(st, ":k", key);
	db_run(st);
	db_done(st);
	st = db_prepare(db, "SELECT failures, last_failure, locked_until FROM login_lock "
			    "WHERE key = :k");
	db_bind_text(st, ":k", key);
	if (db_step(st) == DB_ROW) {
		failures = db_col_int(st, 0);
		last = db_col_int(st, 1);
		locked = db_col_int(st, 2);
	}
	db_done(st);
	/* a quiet quarter of an hour forgives old failures — counted from the
	 * end of the last lock, or a lock longer than that (16 min and up)
	 * would reset the back-off to five free tries when it ends */
	if (now - (locked > last ? locked : last) > 15 * 60)
		failures = 0;
	failures++;
	if (failures >= threshold) {
		/* 1 minute, doubling with each further failure, at most an hour */
		int64_t shift = failures - threshold;
		int64_t secs = shift >= 6 ? 3600 : 60LL << shift;
		until = now + (secs > 3600 ? 3600 : secs);
	}
	st = db_prepare(db, "INSERT INTO login_lock(key, failures, last_failure, locked_until) "
			    "VALUES(:k, :f, :now, :until) ON CONFLICT(key) DO UPDATE SET failures = "
			    "excluded.failures, last_failure = excluded.last_failure, locked_until = "
			    "excluded.locked_until");
	db_bind_text(st, ":k", key);
	db_bind_int(st, ":f", failures);
	db_bind_int(st, ":now", now);
	db_bind_int(st, ":until", until);
	db_run(st);
	db_done(st);
}

void auth_lock_clear(struct db *db, const char *key)
{
	struct db_stmt *st = db_prepare(db, "DELETE FROM login_lock WHERE key = :k");
	db_bind_text(st, ":k", key);
	db_run(st);
	db_done(st);
}
