/* test_auth.c — unit tests for the access-control module's pure parts:
 * password strength, argon2id hashing and generated passwords
 * (auth/password.c), region-scope prefixes and the role table
 * (auth/roles.c), and the order in which the dispatcher enforces its
 * preconditions (http/dispatch.c, with stand-in hooks, no server). */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "auth/auth.h"
#include "http/http.h"

/* ---- passwords -------------------------------------------------------------- */

TEST(auth_password_strength_rules)
{
	char long_pw[200];
	/* acceptable */
	CHECK(auth_password_weak("Good#Pass2026v", "wang.wei") == NULL);
	CHECK(auth_password_weak("Abcdefg#12", NULL) == NULL);      /* exactly 10 */
	CHECK(auth_password_weak("ABCDEFGH12#$", "x") == NULL);     /* no lower case */
	CHECK(auth_password_weak("密码密码密码Aa1x", "wang") == NULL); /* 10 characters, 22 bytes */
	CHECK(auth_password_weak("Good#Pass2026v", "ab") == NULL);  /* logins < 3 are not searched */
	/* too short: counted in characters, not bytes */
	CHECK_STR(auth_password_weak("Ab1#short", NULL), "密码至少需要10个字符");
	CHECK_STR(auth_password_weak("密码密码密码Aa1", NULL), "密码至少需要10个字符");
	CHECK_STR(auth_password_weak("", NULL), "密码至少需要10个字符");
	/* fewer than three classes */
	CHECK_STR(auth_password_weak("abcdefghijkl", NULL),
		  "密码需包含大写字母、小写字母、数字、符号中的至少三类");
	CHECK_STR(auth_password_weak("abcdefgh1234", NULL),
		  "密码需包含大写字母、小写字母、数字、符号中的至少三类");
	CHECK_STR(auth_password_weak("ABCDEFGHIJ##", NULL),
		  "密码需包含大写字母、小写字母、数字、符号中的至少三类");
	/* containing the login, in any case */
	CHECK_STR(auth_password_weak("Wang.Wei#2026", "wang.wei"), "密码不能包含登录名");
	CHECK_STR(auth_password_weak("xxWANG.WEI#2026", "wang.wei"), "密码不能包含登录名");
	/* common passwords, also inside longer ones */
	CHECK_STR(auth_password_weak("Password#2026", NULL), "密码过于常见，请换一个");
	CHECK_STR(auth_password_weak("Admin@1234", NULL), "密码过于常见，请换一个");
	CHECK_STR(auth_password_weak("Liubao#2026x", NULL), "密码过于常见，请换一个");
	CHECK_STR(auth_password_weak("1qaz2wsx#ABC", NULL), "密码过于常见，请换一个");
	/* control characters and excessive length */
	CHECK_STR(auth_password_weak("Good#Pass\n2026", NULL), "密码不能包含控制字符");
	CHECK_STR(auth_password_weak("Good#Pass\t2026", NULL), "密码不能包含控制字符");
	memset(long_pw, 'a', sizeof(long_pw));
	memcpy(long_pw, "A1#", 3);
	long_pw[129] = '\0';
	CHECK_STR(auth_password_weak(long_pw, NULL), "密码不能超过128个字节");
	long_pw[128] = '\0';
	CHECK(auth_password_weak(long_pw, NULL) == NULL);
}

TEST(auth_password_generated_initial_passwords)
{
	char seen[20][20];
	for (int i = 0; i < 20; i++) {
		char pw[20];
		auth_password_generate(pw);
		CHECK_INT(strlen(pw), 14);
		CHECK(auth_password_weak(pw, NULL) == NULL);
		CHECK(auth_password_weak(pw, "user") == NULL);
		CHECK(strpbrk(pw, "0O1lI") == NULL); /* no look-alike characters */
		for (int k = 0; k < i; k++)
			CHECK(strcmp(seen[k], pw) != 0);
		memcpy(seen[i], pw, sizeof(pw));
	}
}

TEST(auth_password_hash_and_verify)
{
	char h1[160], h2[160], small[16];
	CHECK_INT(auth_password_hash("Good#Pass2026v", h1, sizeof(h1)), 0);
	CHECK_INT(auth_password_hash("Good#Pass2026v", h2, sizeof(h2)), 0);
	CHECK(!strncmp(h1, "$argon2id$", 10));
	CHECK(strcmp(h1, h2) != 0); /* salted */
	CHECK(strstr(h1, "Good#Pass") == NULL);
	CHECK_INT(auth_password_verify(h1, "Good#Pass2026v"), 1);
	CHECK_INT(auth_password_verify(h2, "Good#Pass2026v"), 1);
	CHECK_INT(auth_password_verify(h1, "Good#Pass2026V"), 0);
	CHECK_INT(auth_password_verify(h1, ""), 0);
	CHECK_INT(auth_password_verify("not a hash", "Good#Pass2026v"), 0);
	CHECK_INT(auth_password_hash("Good#Pass2026v", small, sizeof(small)), -1);
}

/* ---- region scope ---------------------------------------------------------------- */

TEST(auth_scope_prefix_by_level)
{
	static const struct {
		const char *in, *want;
		int rc;
	} cases[] = {
		{ "610926000000", "610926", 0 },    /* county */
		{ "610926102000", "610926102", 0 }, /* township */
		{ "610926102001", "610926102001", 0 }, /* village: unchanged */
		{ "610926102200", "610926102200", 0 },
		{ "610926100000", "610926100", 0 }, /* 城关镇 is not "6109261" */
		{ "610900000000", "6109", 0 },      /* city */
		{ "610000000000", "61", 0 },        /* province */
		{ "610926", "610926", 0 },          /* prefixes pass through */
		{ "610926102", "610926102", 0 },
		{ "6109", "6109", 0 },
		{ "61", "61", 0 },
		{ "610926000", "610926", 0 },
		{ "", "", 0 },                      /* the whole system */
		{ "00", "00", 0 },                  /* "00" is not reduced to "" */
		{ "0000", "00", 0 },
		{ "000000000000", "00", 0 },
		{ "6", "", -1 },                    /* not a level */
		{ "61092", "", -1 },
		{ "61092610", "", -1 },
		{ "6109261020", "", -1 },
		{ "61092610200", "", -1 },
		{ "6109261020011", "", -1 },        /* too long */
		{ "61092610200a", "", -1 },
		{ "abc", "", -1 },
		{ " 610926", "", -1 },
		{ "610926 ", "", -1 },
		{ "-61092", "", -1 },
		{ "' OR 1=1 --", "", -1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[13];
		memset(out, 'x', sizeof(out));
		if (!CHECK_INT(auth_scope_prefix(cases[i].in, out), cases[i].rc))
			printf("    for \"%s\"\n", cases[i].in);
		if (!cases[i].rc && !CHECK_STR(out, cases[i].want))
			printf("    for \"%s\"\n", cases[i].in);
		if (cases[i].rc)
			CHECK_STR(out, ""); /* a failure never leaves a usable prefix */
	}
}

/* ---- roles -------------------------------------------------------------------------- */

static int known_permission(const char *p)
{
	for (const char *const *q = auth_permissions; *q; q++)
		if (!strcmp(*q, p))
			return 1;
	return 0;
}

static int nr_holders(const char *perm, const char **who)
{
	int n = 0;
	for (const struct role *r = auth_roles; r->id; r++)
		if (auth_role_permits(r->id, perm)) {
			n++;
			*who = r->id;
		}
	return n;
}

TEST(auth_role_table_sanity)
{
	static const char *const ids[] = { "village_clerk", "township_reviewer", "county_approver",
					   "dept_user", "leader", "admin", "auditor" };
	static const char *const titles[] = { "村级信息员", "乡镇审核", "县级审定", "部门用户",
					      "领导", "系统管理员", "审计员" };
	const char *who = NULL;
	int n = 0;
	for (const struct role *r = auth_roles; r->id; r++, n++) {
		int np = 0;
		CHECK(r->title && *r->title);
		for (const char *const *p = r->perms; *p; p++, np++) {
			if (!CHECK(known_permission(*p)))
				printf("    role %s: unknown permission %s\n", r->id, *p);
			for (const char *const *q = r->perms; q < p; q++)
				CHECK(strcmp(*q, *p) != 0); /* no duplicates */
		}
		for (const struct role *o = auth_roles; o < r; o++) {
			CHECK(strcmp(o->id, r->id) != 0);
			CHECK(strcmp(o->title, r->title) != 0);
		}
		CHECK(np > 0);
	}
	CHECK_INT(n, 7);
	for (int i = 0; i < 7; i++) {
		const struct role *r = auth_role_find(ids[i]);
		if (!CHECK(r != NULL))
			continue;
		CHECK_STR(r->title, titles[i]);
		CHECK(auth_role_find(titles[i]) == r); /* Chinese names work too */
	}
	CHECK(auth_role_find("superuser") == NULL);
	CHECK(auth_role_find("") == NULL);
	CHECK(auth_role_find("Admin") == NULL);
	CHECK(known_permission(PERM_ID_FULL));
	/* every permission is held by someone */
	for (const char *const *p = auth_permissions; *p; p++)
		CHECK(nr_holders(*p, &who) > 0);
	/* only the administrator manages users */
	CHECK_INT(nr_holders("user.manage", &who), 1);
	CHECK_STR(who, "admin");
	/* the administrator holds every permission */
	for (const char *const *p = auth_permissions; *p; p++)
		CHECK(auth_role_permits("admin", *p));
	/* a leader sees aggregates only: no personal data, no writes */
	CHECK(!auth_role_permits("leader", "household.read"));
	CHECK(!auth_role_permits("leader", PERM_ID_FULL));
	CHECK(!auth_role_permits("leader", "export"));
	CHECK(!auth_role_permits("leader", "household.write"));
	CHECK(auth_role_permits("leader", "stats.read"));
	/* an auditor reads the audit log but no household */
	CHECK(auth_role_permits("auditor", "audit.read"));
	CHECK(!auth_role_permits("auditor", "household.read"));
	CHECK(!auth_role_permits("auditor", "household.write"));
	/* a department user reads masked data only; the county approves, not edits */
	CHECK(auth_role_permits("dept_user", "household.read"));
	CHECK(!auth_role_permits("dept_user", PERM_ID_FULL));
	CHECK(!auth_role_permits("dept_user", "household.write"));
	CHECK(auth_role_permits("county_approver", PERM_ID_FULL));
	CHECK(!auth_role_permits("county_approver", "household.write"));
	CHECK(auth_role_permits("village_clerk", "household.write"));
	CHECK(!auth_role_permits("village_clerk", "audit.read"));
	/* whoever reads full 身份证号 or writes can also read households */
	for (const struct role *r = auth_roles; r->id; r++)
		if (auth_role_permits(r->id, PERM_ID_FULL) ||
		    auth_role_permits(r->id, "household.write"))
			CHECK(auth_role_permits(r->id, "household.read"));
	/* permissions by title; unknown roles and principals hold nothing */
	CHECK(auth_role_permits("系统管理员", "user.manage"));
	CHECK(!auth_role_permits("superuser", "household.read"));
	CHECK(!auth_role_permits("admin", "no.such.permission"));
	CHECK(!auth_permitted(NULL, "household.read"));
	{
		struct principal p;
		memset(&p, 0, sizeof(p));
		snprintf(p.role, sizeof(p.role), "dept_user");
		CHECK(auth_permitted(&p, "household.read"));
		CHECK(!auth_permitted(&p, PERM_ID_FULL));
	}
}

TEST(auth_departments_listed)
{
	static const char *const want[] = { "乡村振兴局", "医保局", "民政局", "教育局", "卫健局",
					    "人社局", "住建局", "残联", "应急局", "生态环境局",
					    "督查室" };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int found = 0;
		for (const char *const *d = auth_departments; *d; d++)
			found |= !strcmp(*d, want[i]);
		if (!CHECK(found))
			printf("    missing department %s\n", want[i]);
	}
}

/* ---- the dispatcher's preconditions ---------------------------------------------------- */

static int handler_calls;

static void fake_handler(struct http_request *req, struct http_response *res)
{
	handler_calls++;
	http_reply_json(res, 200, json_pack("{s:b}", "ok", 1));
}

static void broken_handler(struct http_request *req, struct http_response *res)
{
	handler_calls++;
	/* json_pack() returns NULL for a string that is not UTF-8 */
	http_reply_json(res, 201, json_pack("{s:s}", "name", "\xe9\x95"));
}

static const struct route fake_routes[] = {
	{ "GET", "/open", fake_handler, ROUTE_PUBLIC, NULL, "" },
	{ "GET", "/read", fake_handler, 0, "household.read", "" },
	{ "POST", "/change", fake_handler, 0, "household.read", "" },
	{ "POST", "/me/password", fake_handler, ROUTE_PWCHANGE, NULL, "" },
	{ "GET", "/broken", broken_handler, 0, NULL, "" },
	{ NULL },
};
static const struct route *const fake_tables[] = { fake_routes, NULL };

static int fake_authenticate(struct http_request *req)
{
	struct principal *p = &req->principal_buf;
	memset(p, 0, sizeof(*p));
	if (!strcmp(req->auth_token, "clerk") || !strcmp(req->auth_token, "fresh"))
		snprintf(p->role, sizeof(p->role), "village_clerk");
	else if (!strcmp(req->auth_token, "leader"))
		snprintf(p->role, sizeof(p->role), "leader");
	else
		return -1;
	p->must_change_password = !strcmp(req->auth_token, "fresh");
	p->via_cookie = req->auth_via_cookie;
	snprintf(p->csrf, sizeof(p->csrf), "csrf-secret");
	req->principal = p;
	return 0;
}

/* Dispatch one request; returns the status and copies the error code. */
static int dispatch(const char *method, const char *path, const char *token, int cookie,
		    const char *csrf, char code[64])
{
	struct http_request req;
	struct http_response res;
	json_t *j;
	int status;
	http_request_init(&req);
	http_response_init(&res);
	req.method = method;
	req.path = path;
	req.auth_token = token;
	req.auth_via_cookie = cookie;
	req.csrf_header = csrf;
	http_dispatch(&req, &res);
	status = res.status;
	code[0] = '\0';
	j = json_loads(res.body.buf, 0, NULL);
	if (j && json_is_string(json_object_get(json_object_get(j, "error"), "code")))
		snprintf(code, 64, "%s", json_string_value(json_object_get(json_object_get(j, "error"),
									   "code")));
	if (!j)
		snprintf(code, 64, "(not JSON)");
	json_decref(j);
	http_request_release(&req);
	http_response_release(&res);
	return status;
}

TEST(auth_dispatcher_enforces_preconditions_in_order)
{
	const struct route *const *saved_tables = http_route_tables;
	struct http_hooks saved_hooks = http_hooks;
	char code[64];
	http_route_tables = fake_tables;
	http_hooks.authenticate = fake_authenticate;
	http_hooks.permitted = auth_permitted;
	http_hooks.audit = NULL;
	handler_calls = 0;

	CHECK_INT(dispatch("GET", "/api/nowhere", "clerk", 0, NULL, code), 404);
	CHECK_STR(code, "E_NOT_FOUND");
	CHECK_INT(dispatch("DELETE", "/read", "clerk", 0, NULL, code), 405);
	CHECK_INT(dispatch("GET", "/open", NULL, 0, NULL, code), 200);
	/* no session, an unknown one */
	CHECK_INT(dispatch("GET", "/read", NULL, 0, NULL, code), 401);
	CHECK_STR(code, "E_AUTH");
	CHECK_INT(dispatch("GET", "/read", "bogus", 0, NULL, code), 401);
	/* the initial password must be changed first, whatever the permission */
	CHECK_INT(dispatch("GET", "/read", "fresh", 0, NULL, code), 403);
	CHECK_STR(code, "E_PASSWORD_CHANGE_REQUIRED");
	CHECK_INT(dispatch("POST", "/me/password", "fresh", 0, NULL, code), 200);
	/* permission */
	CHECK_INT(dispatch("GET", "/read", "leader", 0, NULL, code), 403);
	CHECK_STR(code, "E_FORBIDDEN");
	CHECK_INT(dispatch("GET", "/read", "clerk", 0, NULL, code), 200);
	/* CSRF: cookie writes need the session's token; bearer writes and
	 * cookie reads do not */
	CHECK_INT(dispatch("POST", "/change", "clerk", 1, NULL, code), 403);
	CHECK_STR(code, "E_CSRF");
	CHECK_INT(dispatch("POST", "/change", "clerk", 1, "wrong", code), 403);
	CHECK_INT(dispatch("POST", "/change", "clerk", 1, "csrf-secre", code), 403);
	CHECK_INT(dispatch("POST", "/change", "clerk", 1, "csrf-secret!", code), 403);
	CHECK_INT(dispatch("POST", "/change", "clerk", 1, "", code), 403);
	CHECK_INT(dispatch("POST", "/change", "clerk", 1, "csrf-secret", code), 200);
	CHECK_INT(dispatch("POST", "/change", "clerk", 0, NULL, code), 200);
	CHECK_INT(dispatch("GET", "/read", "clerk", 1, NULL, code), 200);
	/* no handler ran for a refused request */
	CHECK_INT(handler_calls, 6);
	/* a reply that cannot be encoded is a 500, not the end of the server */
	CHECK_INT(dispatch("GET", "/broken", "clerk", 0, NULL, code), 500);
	CHECK_STR(code, "E_INTERNAL");

	http_route_tables = saved_tables;
	http_hooks = saved_hooks;
}

/* ---- the session cache ------------------------------------------------------ */

/* A session resolved once is served from the worker's cache, but any change
 * that can end or alter it — made on another connection (another process,
 * the command line, SQL by hand) — is seen on the next resolve, through the
 * auth epoch; refreshing last_seen is not such a change. */
TEST(auth_session_cache_follows_other_connections)
{
	char path[256], err[256], token[64], csrf[64];
	struct db *a, *b;
	struct principal p;
	struct db_stmt *st;
	int64_t epoch0 = -1, epoch1 = -2;
	snprintf(path, sizeof(path), "%s/session-cache.db", unit_tmpdir());
	a = db_open(path, 1, err, sizeof(err));
	if (!CHECK(a != NULL))
		return;
	CHECK_INT(auth_migrate(a), 0);
	b = db_open(path, 0, err, sizeof(err));
	if (!CHECK(b != NULL))
		return;
	CHECK_INT(db_exec(b, "INSERT INTO users(id, login, name, scope_code, role, password_hash, "
			     "must_change_password, created_at, updated_at, password_changed_at) "
			     "VALUES(1, 'cache.user', '缓存', '610926000000', 'dept_user', 'x', 0, "
			     "'2026-01-01', '2026-01-01', '2026-01-01')"), 0);
	CHECK_INT(auth_session_create(b, 1, "127.0.0.1", "unit", token, csrf), 0);
	CHECK_INT(auth_session_resolve(a, token, &p), 1);
	CHECK_STR(p.name, "缓存");
	CHECK_STR(p.scope, "610926");
	CHECK_STR(p.csrf, csrf);
	/* served again (cached): the same principal */
	memset(&p, 0, sizeof(p));
	CHECK_INT(auth_session_resolve(a, token, &p), 1);
	CHECK_STR(p.login, "cache.user");
	/* the idle clock's refresh does not count as a change */
	st = db_prepare(b, "SELECT n FROM auth_epoch");
	if (db_step(st) == DB_ROW)
		epoch0 = db_col_int(st, 0);
	db_done(st);
	CHECK_INT(db_exec(b, "UPDATE sessions SET last_seen = last_seen + 5"), 0);
	st = db_prepare(b, "SELECT n FROM auth_epoch");
	if (db_step(st) == DB_ROW)
		epoch1 = db_col_int(st, 0);
	db_done(st);
	CHECK_INT(epoch1, epoch0);
	/* a change by hand on the other connection is seen at once */
	CHECK_INT(db_exec(b, "UPDATE users SET name = '改名' WHERE id = 1"), 0);
	CHECK_INT(auth_session_resolve(a, token, &p), 1);
	CHECK_STR(p.name, "改名");
	CHECK_INT(db_exec(b, "UPDATE users SET scope_code = '61092610' WHERE id = 1"), 0);
	CHECK_INT(auth_session_resolve(a, token, &p), 0); /* a scope of no level fails closed */
	CHECK_INT(db_exec(b, "UPDATE users SET scope_code = '610926100000' WHERE id = 1"), 0);
	CHECK_INT(auth_session_resolve(a, token, &p), 1);
	CHECK_STR(p.scope, "610926100");
	/* disabled elsewhere: the cached session dies */
	CHECK_INT(db_exec(b, "UPDATE users SET disabled = 1 WHERE id = 1"), 0);
	CHECK_INT(auth_session_resolve(a, token, &p), 0);
	CHECK_INT(db_exec(b, "UPDATE users SET disabled = 0 WHERE id = 1"), 0);
	CHECK_INT(auth_session_resolve(a, token, &p), 1);
	/* ended elsewhere (logout in another process) */
	CHECK_INT(auth_session_end(b, 0, 1), 0);
	CHECK_INT(auth_session_resolve(a, token, &p), 0);
	/* expiry is checked on cached sessions too */
	CHECK_INT(auth_session_create(b, 1, "127.0.0.1", "unit", token, csrf), 0);
	CHECK_INT(auth_session_resolve(a, token, &p), 1);
	{
		long saved = auth_session_max_seconds;
		auth_session_max_seconds = 0;
		CHECK_INT(auth_session_resolve(a, token, &p), 0);
		auth_session_max_seconds = saved;
	}
	CHECK_INT(auth_session_resolve(a, token, &p), 1);
	CHECK_INT(auth_session_resolve(a, "no-such-token-at-all-here", &p), 0);
	db_close(b);
	db_close(a);
}
