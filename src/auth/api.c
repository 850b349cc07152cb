/* api.c — login, logout, the caller's own account, user management for
 * administrators (limited to their region scope) and audit-log search and
 * export. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "base/util.h"
#include "base/html.h"
#include "http/page.h"

#define SESSION_COOKIE "liubao_session"

static void reply_cookie(struct http_response *res, const char *token, long max_age)
{
	char *c = xstrfmt(SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%ld",
			  token, max_age);
	http_add_header(res, "Set-Cookie", c);
	free(c);
}

static const char *json_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}


/* Check that every field present is a string (or bool where listed). */
static int bad_types(struct http_response *res, json_t *o, const char *const *bools)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		int is_bool = 0;
		for (int i = 0; bools && bools[i]; i++)
			is_bool |= !strcmp(bools[i], key);
		if (is_bool ? !json_is_boolean(v) : !json_is_string(v)) {
			http_reply_error(res, 422, "E_BAD_TYPE", NULL, "字段“%s”应为%s", key,
					 is_bool ? " true 或 false" : "字符串");
			return 1;
		}
	}
	return 0;
}

/* ---- login / logout / me --------------------------------------------------- */

static void audit_login(struct http_request *req, int64_t user_id, const char *login,
			const char *role, const char *detail, int status)
{
	struct audit_entry e = { 0 };
	e.user_id = user_id;
	e.login = login;
	e.role = role;
	e.addr = req->remote_addr;
	e.action = "POST /api/v1/login";
	e.target_type = user_id ? "user" : NULL;
	e.target_id = user_id;
	e.detail = detail;
	e.status = status;
	auth_audit_write(req->db, &e);
}

/* The hash verified for unknown logins, made once (worker threads share it). */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[160];

static void init_dummy_hash(void)
{
	auth_password_hash("dummy-password-Aa1!", dummy_hash, sizeof(dummy_hash));
}

/* What a sign-in attempt came to: the HTTP status (200 signed in, 422 bad
 * input, 429 locked, 401 wrong, 5xx failure), the error code and Chinese
 * message when refused, the seconds to wait when locked, and the new
 * session's tokens when signed in. */
struct login_outcome {
	int status;
	const char *code;
	char message[128];
	long retry_after;
	struct user_rec user;
	char token[64], csrf[64];
};

/* Check `login` and `password` and open a session.  Manages its own
 * transactions so that failures are recorded even though the answer is an
 * error, and so that the password is verified outside the write
 * transaction.  Shared by the JSON login and the login form. */
static void login_attempt(struct http_request *req, const char *login, const char *password,
			  struct login_outcome *o)
{
	struct user_rec *u = &o->user;
	char user_key[96], addr_key[96];
	long wait_user, wait_addr;
	int found = 0, ok = 0, verified = 0;

	memset(o, 0, sizeof(*o));
	o->status = 200;
	if (!login || !password || !*login || !*password) {
		o->status = 422;
		o->code = "E_REQUIRED";
		snprintf(o->message, sizeof(o->message), "请输入登录名和密码");
		return;
	}
	if (strlen(login) > 64 || strlen(password) > 256) {
		o->status = 422;
		o->code = "E_VALIDATION";
		snprintf(o->message, sizeof(o->message), "登录名或密码过长");
		return;
	}
	snprintf(user_key, sizeof(user_key), "user:%s", login);
	snprintf(addr_key, sizeof(addr_key), "addr:%s", req->remote_addr);
	/* Verify first, outside any transaction: argon2id takes a tenth of a
	 * second or more, and the write transaction below holds the database's
	 * only write lock (BEGIN IMMEDIATE) — held across the hashing, every
	 * login attempt would stall every other write.  A locked key is not
	 * verified at all. */
	if (!auth_lock_remaining(req->db, user_key) && !auth_lock_remaining(req->db, addr_key)) {
		/* verify against a dummy hash for unknown users so that timing does
		 * not reveal which login names exist */
		struct db_stmt *st;
		char *hash = NULL;
		found = auth_user_load_login(req->db, login, u) == 1;
		st = db_prepare(req->db, "SELECT password_hash FROM users WHERE id = :id");
		if (found) {
			db_bind_int(st, ":id", u->id);
			if (db_step(st) == DB_ROW)
				hash = xstrdup(db_col_text(st, 0));
		}
		db_done(st);
		if (!hash) {
			pthread_once(&dummy_once, init_dummy_hash);
			auth_password_verify(dummy_hash, password);
		} else {
			ok = auth_password_verify(hash, password);
		}
		free(hash);
		verified = 1;
	}
	if (db_begin(req->db)) {
		o->status = 503;
		o->code = "E_DB_BUSY";
		snprintf(o->message, sizeof(o->message), "数据库繁忙，请稍后重试");
		return;
	}
	/* decide under the write lock: concurrent attempts may have locked the
	 * key while this one was verifying, and then its result is not used —
	 * so parallel guesses get no more tries than serial ones */
	wait_user = auth_lock_remaining(req->db, user_key);
	wait_addr = auth_lock_remaining(req->db, addr_key);
	if (wait_user || wait_addr || !verified) {
		long wait = wait_user > wait_addr ? wait_user : wait_addr;
		if (wait < 1)
			wait = 1; /* the lock ran out a moment ago: try again now */
		/* refused unchecked and audited, but not counted: a retry while
		 * locked must not lengthen the lock past the Retry-After just sent
		 * (the back-off doubles with each failure after a lock ends) */
		audit_login(req, 0, login, "", "登录被锁定期间再次尝试", 429);
		db_commit(req->db);
		o->status = 429;
		o->code = "E_LOCKED";
		o->retry_after = wait;
		snprintf(o->message, sizeof(o->message), "登录失败次数过多，请 %ld 秒后再试", wait);
		return;
	}
	if (!ok || u->disabled) {
		auth_lock_fail(req->db, user_key, LOCK_ACCOUNT_THRESHOLD);
		auth_lock_fail(req->db, addr_key, LOCK_ADDRESS_THRESHOLD);
		audit_login(req, found ? u->id : 0, login, found ? u->role : "",
			    !found ? "登录失败：账号不存在" : u->disabled ? "登录失败：账号已停用"
								   : "登录失败：密码错误",
			    401);
		db_commit(req->db);
		o->status = 401;
		o->code = "E_LOGIN_FAILED";
		snprintf(o->message, sizeof(o->message), "登录名或密码错误");
		return;
	}
	auth_lock_clear(req->db, user_key);
	auth_lock_clear(req->db, addr_key);
	if (auth_session_create(req->db, u->id, req->remote_addr, req->user_agent, o->token, o->csrf)) {
		db_rollback(req->db);
		o->status = 500;
		o->code = "E_DB";
		snprintf(o->message, sizeof(o->message), "无法创建会话，请稍后重试");
		return;
	}
	{
		char now[20];
		struct db_stmt *st = db_prepare(req->db, "UPDATE users SET last_login_at = :now WHERE "
							 "id = :id");
		now_utc_text(now);
		db_bind_text(st, ":now", now);
		db_bind_int(st, ":id", u->id);
		db_run(st);
		db_done(st);
	}
	audit_login(req, u->id, u->login, u->role, "登录成功", 200);
	if (db_commit(req->db)) {
		o->status = 500;
		o->code = "E_DB";
		snprintf(o->message, sizeof(o->message), "登录失败，请稍后重试");
	}
}

/* POST /api/v1/login {login, password} */
static void api_login(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "login", "password", NULL };
	struct login_outcome o;

	if (http_refuse_unknown_fields(res, req->json, fields) || bad_types(res, req->json, NULL))
		return;
	login_attempt(req, json_str(req->json, "login"), json_str(req->json, "password"), &o);
	if (o.status != 200) {
		if (o.retry_after) {
			char ra[32];
			snprintf(ra, sizeof(ra), "%ld", o.retry_after);
			http_add_header(res, "Retry-After", ra);
		}
		http_reply_error(res, o.status, o.code, NULL, "%s", o.message);
		return;
	}
	reply_cookie(res, o.token, auth_session_max_seconds);
	http_reply_json(res, 200,
			json_pack("{s:s, s:s, s:o, s:b}", "token", o.token, "csrf_token", o.csrf, "user",
				  auth_user_json(&o.user), "must_change_password",
				  o.user.must_change_password));
}

/* The sign-in page as the server renders it when the login form was posted
 * without JavaScript: the message, the login name kept. */
static void login_page(struct http_request *req, struct http_response *res, int status,
		       const char *message, const char *login, const char *next)
{
	struct buf *b = &res->body;
	page_begin(req, res, "登录", &(struct page_opts){ .status = status, .body_class = "plain" });
	html_addf(b, "<h1 class=\"brand-title\">六保<span>防止返贫监测和帮扶</span></h1>\n"
		     "<form method=\"post\" action=\"/login\" class=\"card narrow-form\">\n<h2>登录</h2>\n"
		     "<p class=\"msg error\" role=\"alert\">%h</p>\n"
		     "<input type=\"hidden\" name=\"next\" value=\"%a\">\n"
		     "<div class=\"field\"><label for=\"login\">登录名</label><input id=\"login\" "
		     "name=\"login\" value=\"%a\" autocomplete=\"username\" autocapitalize=\"none\" "
		     "spellcheck=\"false\" maxlength=\"64\" required></div>\n"
		     "<div class=\"field\"><label for=\"password\">密码</label><input id=\"password\" "
		     "name=\"password\" type=\"password\" autocomplete=\"current-password\" "
		     "maxlength=\"256\" required autofocus></div>\n"
		     "<button type=\"submit\" class=\"primary\">登录</button>\n</form>\n",
		  message, next ? next : "", login ? login : "");
	page_end(req, res);
}

/* 1 if `next` is a path on this site to go on to after signing in. */
static int safe_next(const char *next)
{
	return next && next[0] == '/' && next[1] != '/' && next[1] != '\\' &&
	       !starts_with(next, "/login.html") && !starts_with(next, "/password.html") &&
	       !starts_with(next, "/login") && strlen(next) < 1024 && !strpbrk(next, "\r\n");
}

/* POST /login — the login page's form when the browser runs no script
 * (login.html posts here; with JavaScript it calls /api/v1/login instead):
 * signs in, sets the session cookie and goes on (303) to `next`, or for a
 * role that reads households to the 工作台, else to the home page. */
static void page_login(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "login", "password", "next", NULL };
	const char *login = http_form(req, "login"), *next = http_form(req, "next");
	struct login_outcome o;
	if (http_form_unknown(req, fields)) {
		login_page(req, res, 400, "表单内容有误，请重新输入", login, next);
		return;
	}
	/* a form posted from another site must not sign this browser in
	 * (login CSRF); browsers say where a request comes from */
	if (req->fetch_site && strcmp(req->fetch_site, "same-origin") &&
	    strcmp(req->fetch_site, "none")) {
		login_page(req, res, 403, "请在本系统的登录页面登录", NULL, NULL);
		return;
	}
	login_attempt(req, login, http_form(req, "password"), &o);
	if (o.status != 200) {
		if (o.retry_after) {
			char ra[32];
			snprintf(ra, sizeof(ra), "%ld", o.retry_after);
			http_add_header(res, "Retry-After", ra);
		}
		login_page(req, res, o.status, o.message, login, next);
		return;
	}
	reply_cookie(res, o.token, auth_session_max_seconds);
	if (o.user.must_change_password)
		page_redirect(res, "/password.html");
	else if (safe_next(next))
		page_redirect(res, next);
	else
		page_redirect(res, auth_role_permits(o.user.role, "household.read") ? "/v/" : "/");
}

static void api_logout(struct http_request *req, struct http_response *res)
{
	http_audit_note(req, "user", req->principal->user_id, NULL, NULL);
	snprintf(req->audit.detail, sizeof(req->audit.detail), "退出登录");
	if (auth_session_end(req->db, req->principal->session_id, 0)) {
		http_reply_error(res, 500, "E_DB", NULL, "退出失败：%s", db_errmsg(req->db));
		return;
	}
	reply_cookie(res, "", 0);
	http_reply_json(res, 200, json_pack("{s:b}", "ok", 1));
}

/* POST /logout — the 退出登录 button of server-rendered pages (a form, so it
 * works without JavaScript): end the session and go to the login page. */
static void page_logout(struct http_request *req, struct http_response *res)
{
	http_audit_note(req, "user", req->principal->user_id, NULL, NULL);
	snprintf(req->audit.detail, sizeof(req->audit.detail), "退出登录");
	if (auth_session_end(req->db, req->principal->session_id, 0)) {
		page_error(req, res, 500, "退出失败，请稍后重试");
		return;
	}
	reply_cookie(res, "", 0);
	page_redirect(res, "/login.html");
}

static void api_me(struct http_request *req, struct http_response *res)
{
	struct user_rec u;
	json_t *perms = json_array(), *j;
	const struct role *r = auth_role_find(req->principal->role);
	if (auth_user_load(req->db, req->principal->user_id, &u) != 1) {
		json_decref(perms);
		http_reply_error(res, 401, "E_AUTH", NULL, "请先登录");
		return;
	}
	for (const char *const *p = r ? r->perms : NULL; p && *p; p++)
		json_array_append_new(perms, json_string(*p));
	j = auth_user_json(&u);
	json_object_set_new(j, "scope", json_string(req->principal->scope));
	json_object_set_new(j, "permissions", perms);
	json_object_set_new(j, "csrf_token", json_string(req->principal->csrf));
	http_reply_json(res, 200, j);
}

/* POST /api/v1/me/password {old_password, new_password} */
static void api_me_password(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "old_password", "new_password", NULL };
	const char *oldp = json_str(req->json, "old_password"), *newp = json_str(req->json, "new_password");
	struct buf err = BUF_INIT;
	struct db_stmt *st;
	int ok = 0;
	if (http_refuse_unknown_fields(res, req->json, fields) || bad_types(res, req->json, NULL))
		return;
	if (!oldp || !newp) {
		http_reply_error(res, 422, "E_REQUIRED", NULL, "请填写原密码和新密码");
		return;
	}
	st = db_prepare(req->db, "SELECT password_hash FROM users WHERE id = :id");
	db_bind_int(st, ":id", req->principal->user_id);
	if (db_step(st) == DB_ROW)
		ok = auth_password_verify(db_col_text(st, 0), oldp);
	db_done(st);
	if (!ok) {
		http_reply_error(res, 422, "E_OLD_PASSWORD", NULL, "原密码不正确");
		return;
	}
	if (!strcmp(oldp, newp)) {
		http_reply_error(res, 422, "E_WEAK_PASSWORD", NULL, "新密码不能与原密码相同");
		return;
	}
	if (auth_user_set_password(req->db, req->principal->user_id, newp, 0, &err)) {
		http_reply_error(res, 422, "E_WEAK_PASSWORD", NULL, "%s", err.buf);
		buf_release(&err);
		return;
	}
	/* other sessions of this user end; this one stays */
	st = db_prepare(req->db, "DELETE FROM sessions WHERE user_id = :uid AND id <> :sid");
	db_bind_int(st, ":uid", req->principal->user_id);
	db_bind_int(st, ":sid", req->principal->session_id);
	db_run(st);
	db_done(st);
	http_audit_note(req, "user", req->principal->user_id, NULL, NULL);
	snprintf(req->audit.detail, sizeof(req->audit.detail), "修改本人密码");
	http_reply_json(res, 200, json_pack("{s:b}", "ok", 1));
}

/* ---- user management --------------------------------------------------------- */

/* 1 if the caller's scope covers `scope_code` (a 12-digit code or ""). */
static int covers(const struct principal *p, const char *scope_code)
{
	char prefix[13];
	if (!p->scope[0])
		return 1;
	if (auth_scope_prefix(scope_code, prefix) || !prefix[0])
		return 0;
	return starts_with(prefix, p->scope);
}

static int load_user_scoped(struct http_request *req, struct http_response *res, struct user_rec *u)
{
	int64_t id;
	if (parse_int64(req->path_params[0], &id) || id <= 0 || auth_user_load(req->db, id, u) != 1 ||
	    !covers(req->principal, u->scope_code)) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该用户（或不在您的管辖范围内）");
		return 0;
	}
	return 1;
}

enum { UL_ID };

static void api_users_list(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "q", "role", "limit", "cursor", NULL };
	const char *q = http_query(req, "q"), *role = http_query(req, "role");
	const char *limit_s = http_query(req, "limit"), *cursor_s = http_query(req, "cursor");
	int64_t limit = 50, cursor = 0, last = 0;
	json_t *items = json_array();
	struct db_stmt *st;
	char hi[16];
	int n = 0, rc;
	if (http_refuse_unknown_params(req, res, params)) {
		json_decref(items);
		return;
	}
	if ((limit_s && (parse_int64(limit_s, &limit) || limit < 1 || limit > 500)) ||
	    (cursor_s && (parse_int64(cursor_s, &cursor) || cursor < 0)) ||
	    (role && *role && !auth_role_find(role))) {
		json_decref(items);
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "查询参数无效");
		return;
	}
	snprintf(hi, sizeof(hi), "%s:", req->principal->scope);
	st = db_prepare(req->db, "SELECT id FROM users WHERE id > :cursor AND (:unlimited = 1 OR "
				 "(scope_code >= :lo AND scope_code < :hi)) AND (:role IS NULL OR "
				 "role = :role) AND (:q IS NULL OR login = :q OR instr(name, :q) > 0) "
				 "ORDER BY id LIMIT :limit");
	db_bind_int(st, ":cursor", cursor);
	db_bind_int(st, ":unlimited", !req->principal->scope[0]);
	db_bind_text(st, ":lo", req->principal->scope);
	db_bind_text(st, ":hi", hi);
	db_bind_text(st, ":role", role && *role ? auth_role_find(role)->id : NULL);
	db_bind_text(st, ":q", q && *q ? q : NULL);
	db_bind_int(st, ":limit", limit + 1);
	while ((rc = db_step(st)) == DB_ROW && n < limit) {
		struct user_rec u;
		last = db_col_int(st, UL_ID);
		/* a second statement on the same connection while this one is open */
		if (auth_user_load(req->db, last, &u) == 1 && covers(req->principal, u.scope_code)) {
			json_array_append_new(items, auth_user_json(&u));
			n++;
		}
	}
	db_done(st);
	http_reply_json(res, 200,
			json_pack("{s:o, s:o}", "items", items, "next_cursor",
				  rc == DB_ROW ? json_sprintf("%lld", (long long)last) : json_null()));
}

static const char *const user_fields[] = { "login", "name", "phone", "scope_code", "department",
					   "role", "disabled", "password", NULL };
static const char *const user_bools[] = { "disabled", NULL };

/* Copy string field `key` of the body into dst[n] if present.  A value that
 * does not fit is refused (422) rather than cut: a cut can change its
 * meaning (a longer scope code becomes a valid one) or split a UTF-8
 * character.  Returns 1 after answering. */
static int copy_field(struct http_request *req, struct http_response *res, const char *key,
		      char *dst, size_t n)
{
	json_t *v = json_object_get(req->json, key);
	if (!json_is_string(v))
		return 0;
	if (json_string_length(v) >= n) {
		http_reply_error(res, 422, "E_TOO_LONG", NULL, "字段“%s”过长（最多 %zu 个字节）", key,
				 n - 1);
		return 1;
	}
	snprintf(dst, n, "%s", json_string_value(v));
	return 0;
}

/* Fill `u` from the request body; returns 1 after answering on error. */
static int user_from_json(struct http_request *req, struct http_response *res, struct user_rec *u)
{
	json_t *d;
	char role[32] = "";
	if (http_refuse_unknown_fields(res, req->json, user_fields) || bad_types(res, req->json, user_bools))
		return 1;
	if (copy_field(req, res, "login", u->login, sizeof(u->login)) ||
	    copy_field(req, res, "name", u->name, sizeof(u->name)) ||
	    copy_field(req, res, "phone", u->phone, sizeof(u->phone)) ||
	    copy_field(req, res, "scope_code", u->scope_code, sizeof(u->scope_code)) ||
	    copy_field(req, res, "department", u->department, sizeof(u->department)) ||
	    copy_field(req, res, "role", role, sizeof(role)))
		return 1;
	if (json_str(req->json, "role")) {
		const struct role *r = auth_role_find(role);
		snprintf(u->role, sizeof(u->role), "%s", r ? r->id : role);
	}
	if ((d = json_object_get(req->json, "disabled")))
		u->disabled = json_is_true(d);
	if (!covers(req->principal, u->scope_code)) {
		http_reply_error(res, 403, "E_SCOPE", NULL,
				 "只能管理您辖区（%s）内的用户", req->principal->scope[0] ? req->principal->scope : "全部");
		return 1;
	}
	return 0;
}

static void api_user_create(struct http_request *req, struct http_response *res)
{
	struct user_rec u;
	struct buf err = BUF_INIT;
	char generated[20];
	const char *password = json_str(req->json, "password");
	int64_t id;
	memset(&u, 0, sizeof(u));
	u.must_change_password = 1;
	if (user_from_json(req, res, &u))
		return;
	if (!u.scope_code[0] && req->principal->scope[0]) {
		http_reply_error(res, 403, "E_SCOPE", NULL, "请指定辖区内的管辖区划");
		return;
	}
	if (!password) {
		auth_password_generate(generated);
		password = generated;
	}
	id = auth_user_create(req->db, &u, password, &err);
	if (id < 0) {
		http_reply_error(res, strstr(err.buf, "已存在") ? 409 : 422,
				 strstr(err.buf, "已存在") ? "E_DUPLICATE_LOGIN" : "E_VALIDATION", NULL, "%s",
				 err.buf);
		buf_release(&err);
		return;
	}
	auth_user_load(req->db, id, &u);
	http_audit_note(req, "user", id, NULL, auth_user_json(&u));
	{
		json_t *j = auth_user_json(&u);
		json_object_set_new(j, "initial_password", json_string(password));
		http_reply_json(res, 201, j);
	}
}

static void api_user_get(struct http_request *req, struct http_response *res)
{
	struct user_rec u;
	if (load_user_scoped(req, res, &u))
		http_reply_json(res, 200, auth_user_json(&u));
}

static void api_user_update(struct http_request *req, struct http_response *res)
{
	struct user_rec u;
	struct buf err = BUF_INIT;
	json_t *before;
	if (!load_user_scoped(req, res, &u))
		return;
	before = auth_user_json(&u);
	http_audit_note(req, "user", u.id, before, NULL);
	if (json_object_get(req->json, "login") || json_object_get(req->json, "password")) {
		http_reply_error(res, 422, "E_VALIDATION", NULL,
				 "登录名不能修改；重置密码请使用 /password 接口");
		return;
	}
	if (user_from_json(req, res, &u))
		return;
	if (u.id == req->principal->user_id && (u.disabled || strcmp(u.role, req->principal->role))) {
		http_reply_error(res, 422, "E_SELF", NULL, "不能停用自己或修改自己的角色");
		return;
	}
	if (auth_user_update(req->db, &u, &err)) {
		http_reply_error(res, 422, "E_VALIDATION", NULL, "%s", err.buf);
		buf_release(&err);
		return;
	}
	auth_user_load(req->db, u.id, &u);
	http_audit_note(req, "user", u.id, json_incref(before), auth_user_json(&u));
	http_reply_json(res, 200, auth_user_json(&u));
}

/* POST /api/v1/users/:id/password — reset to a generated initial password. */
static void api_user_reset_password(struct http_request *req, struct http_response *res)
{
	struct user_rec u;
	struct buf err = BUF_INIT;
	char pw[20];
	if (!load_user_scoped(req, res, &u))
		return;
	auth_password_generate(pw);
	if (auth_user_set_password(req->db, u.id, pw, 1, &err) || auth_session_end(req->db, 0, u.id)) {
		http_reply_error(res, 500, "E_DB", NULL, "重置失败：%s", err.buf);
		buf_release(&err);
		return;
	}
	http_audit_note(req, "user", u.id, NULL, NULL);
	snprintf(req->audit.detail, sizeof(req->audit.detail), "重置密码");
	http_reply_json(res, 200, json_pack("{s:I, s:s, s:b}", "id", (json_int_t)u.id,
					    "initial_password", pw, "must_change_password", 1));
}

/* ---- audit search ---------------------------------------------------------------- */

enum { AC_ID, AC_AT, AC_UID, AC_LOGIN, AC_ROLE, AC_ADDR, AC_ACTION, AC_TT, AC_TID, AC_OLD, AC_NEW,
       AC_DETAIL, AC_STATUS };

struct audit_filter {
	const char *login, *target_type, *from, *to, *action;
	int64_t target_id, cursor, limit;
	char from_buf[20], to_buf[20]; /* normalised times behind from / to */
};

/* Normalise time filter `in` into out[20] in the form audit_log.at is
 * stored in ("YYYY-MM-DD HH:MM:SS", UTC), so that string comparison is time
 * comparison.  Accepts "YYYY-MM-DD", "YYYY-MM-DD HH:MM", "YYYY-MM-DD
 * HH:MM:SS", with 'T' for the space and a trailing 'Z' allowed; a missing
 * time is the start of the day, or its end when `end` is set, so that
 * to=2026-03-01 includes that day.  Returns 0, or -1 if `in` is none of these. */
static int audit_time(const char *in, int end, char out[20])
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd";
	size_t l = strlen(in);
	int y, mo, d, h, mi, sec;
	if (l && in[l - 1] == 'Z')
		l--;
	if (l != 10 && l != 16 && l != 19)
		return -1;
	memcpy(out, end ? "0000-00-00 23:59:59" : "0000-00-00 00:00:00", 20);
	memcpy(out, in, l);
	if (out[10] == 'T')
		out[10] = ' ';
	for (int i = 0; i < 19; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)out[i]) : out[i] != shape[i])
			return -1;
	if (sscanf(out, "%4d-%2d-%2d %2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6 || mo < 1 ||
	    mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
		return -1;
	return 0;
}

static int audit_filter_parse(struct http_request *req, struct http_response *res,
			      struct audit_filter *f)
{
	static const char *const params[] = { "login", "target_type", "target_id", "from", "to",
					      "action", "limit", "cursor", NULL };
	const char *tid = http_query(req, "target_id"), *lim = http_query(req, "limit"),
		   *cur = http_query(req, "cursor");
	memset(f, 0, sizeof(*f));
	f->limit = 100;
	if (http_refuse_unknown_params(req, res, params)) {
		return -1;
	}
	f->login = http_query(req, "login");
	f->target_type = http_query(req, "target_type");
	f->from = http_query(req, "from");
	f->to = http_query(req, "to");
	f->action = http_query(req, "action");
	if ((f->from && *f->from && audit_time(f->from, 0, f->from_buf)) ||
	    (f->to && *f->to && audit_time(f->to, 1, f->to_buf))) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL,
				 "from 和 to 应为 UTC 时间，如 2026-03-01 或 2026-03-01 08:30:00");
		return -1;
	}
	if (f->from && *f->from)
		f->from = f->from_buf;
	if (f->to && *f->to)
		f->to = f->to_buf;
	if ((tid && (parse_int64(tid, &f->target_id) || f->target_id <= 0)) ||
	    (lim && (parse_int64(lim, &f->limit) || f->limit < 1 || f->limit > 1000)) ||
	    (cur && (parse_int64(cur, &f->cursor) || f->cursor < 0))) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "查询参数无效");
		return -1;
	}
	return 0;
}

/* Prepare the audit query for filter `f`, newest first, limited to users in
 * the caller's scope (and, for county-level or wider callers, unknown users). */
static struct db_stmt *audit_query(struct http_request *req, const struct audit_filter *f, int64_t limit)
{
	char hi[16];
	struct db_stmt *st = db_prepare(
		req->db,
		"SELECT a.id, a.at, a.user_id, a.login, a.role, a.addr, a.action, a.target_type, "
		"a.target_id, a.old_value, a.new_value, a.detail, a.status FROM audit_log a LEFT JOIN "
		"users u ON u.id = a.user_id WHERE (:cursor = 0 OR a.id < :cursor) AND (:unlimited = 1 "
		"OR (u.id IS NOT NULL AND u.scope_code >= :lo AND u.scope_code < :hi) OR (u.id IS NULL "
		"AND :wide = 1)) AND (:login IS NULL OR a.login = :login) AND (:tt IS NULL OR "
		"a.target_type = :tt) AND (:tid = 0 OR a.target_id = :tid) AND (:from IS NULL OR a.at "
		">= :from) AND (:to IS NULL OR a.at <= :to) AND (:action IS NULL OR instr(a.action, "
		":action) > 0) ORDER BY a.id DESC LIMIT :limit");
	snprintf(hi, sizeof(hi), "%s:", req->principal->scope);
	db_bind_int(st, ":cursor", f->cursor);
	db_bind_int(st, ":unlimited", !req->principal->scope[0]);
	db_bind_int(st, ":wide", strlen(req->principal->scope) <= 6);
	db_bind_text(st, ":lo", req->principal->scope);
	db_bind_text(st, ":hi", hi);
	db_bind_text(st, ":login", f->login && *f->login ? f->login : NULL);
	db_bind_text(st, ":tt", f->target_type && *f->target_type ? f->target_type : NULL);
	db_bind_int(st, ":tid", f->target_id);
	db_bind_text(st, ":from", f->from && *f->from ? f->from : NULL);
	db_bind_text(st, ":to", f->to && *f->to ? f->to : NULL);
	db_bind_text(st, ":action", f->action && *f->action ? f->action : NULL);
	db_bind_int(st, ":limit", limit);
	return st;
}

static json_t *parsed_or_null(const char *s)
{
	json_t *j = *s ? json_loads(s, 0, NULL) : NULL;
	return j ? j : json_null();
}

static void api_audit_list(struct http_request *req, struct http_response *res)
{
	struct audit_filter f;
	struct db_stmt *st;
	json_t *items;
	int64_t last = 0;
	int n = 0, rc;
	if (audit_filter_parse(req, res, &f))
		return;
	items = json_array();
	st = audit_query(req, &f, f.limit + 1);
	while ((rc = db_step(st)) == DB_ROW && n < f.limit) {
		last = db_col_int(st, AC_ID);
		json_array_append_new(
			items,
			json_pack("{s:I, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:i}",
				  "id", (json_int_t)last, "at", db_col_text(st, AC_AT), "user_id",
				  db_col_is_null(st, AC_UID) ? json_null()
							     : json_integer(db_col_int(st, AC_UID)),
				  "login", db_col_text(st, AC_LOGIN), "role", db_col_text(st, AC_ROLE),
				  "addr", db_col_text(st, AC_ADDR), "action", db_col_text(st, AC_ACTION),
				  "target_type", db_col_text(st, AC_TT), "target_id",
				  db_col_is_null(st, AC_TID) ? json_null()
							     : json_integer(db_col_int(st, AC_TID)),
				  "old_value", parsed_or_null(db_col_text(st, AC_OLD)), "new_value",
				  parsed_or_null(db_col_text(st, AC_NEW)), "detail",
				  db_col_text(st, AC_DETAIL), "status", (int)db_col_int(st, AC_STATUS)));
		n++;
	}
	db_done(st);
	http_reply_json(res, 200,
			json_pack("{s:o, s:o}", "items", items, "next_cursor",
				  rc == DB_ROW ? json_sprintf("%lld", (long long)last) : json_null()));
}

/* GET /api/v1/audit/export — the same search as CSV (itself audited). */
static void api_audit_export(struct http_request *req, struct http_response *res)
{
	static const char *const headers[] = { "序号", "时间(UTC)", "用户ID", "登录名", "角色",
					       "来源地址", "操作", "对象类型", "对象ID", "修改前",
					       "修改后", "说明", "状态", NULL };
	struct audit_filter f;
	struct db_stmt *st;
	long rows = 0;
	int rc;
	if (audit_filter_parse(req, res, &f))
		return;
	buf_add(&res->body, "\xef\xbb\xbf", 3);
	for (int i = 0; headers[i]; i++) {
		if (i)
			buf_addch(&res->body, ',');
		buf_addstr(&res->body, headers[i]);
	}
	buf_addch(&res->body, '\n');
	st = audit_query(req, &f, 1000000);
	while ((rc = db_step(st)) == DB_ROW) {
		for (int c = AC_ID; c <= AC_STATUS; c++) {
			const char *v = db_col_text(st, c);
			if (c)
				buf_addch(&res->body, ',');
			if (*v && strchr("=+-@\t\r", *v)) {
				/* text a spreadsheet would run as a formula (a login name
				 * tried at the login page, say) is shown as text */
				char *quoted = xstrfmt("'%s", v);
				buf_add_csv_field(&res->body, quoted);
				free(quoted);
			} else {
				buf_add_csv_field(&res->body, v);
			}
		}
		buf_addch(&res->body, '\n');
		rows++;
	}
	db_done(st);
	res->status = 200;
	res->content_type = "text/csv; charset=utf-8";
	http_add_header(res, "Content-Disposition", "attachment; filename=\"audit.csv\"");
	req->audit.sensitive = 1;
	snprintf(req->audit.detail, sizeof(req->audit.detail), "导出审计日志 %ld 条", rows);
}

const struct route auth_routes[] = {
	{ "POST", "/api/v1/login", api_login,
	  ROUTE_PUBLIC | ROUTE_JSON | ROUTE_NO_CSRF | ROUTE_OWN_TX | ROUTE_WRITE, NULL, "登录" },
	{ "POST", "/login", page_login,
	  ROUTE_PUBLIC | ROUTE_FORM | ROUTE_HTML | ROUTE_NO_CSRF | ROUTE_OWN_TX | ROUTE_WRITE, NULL,
	  "登录（无脚本时的表单）" },
	{ "POST", "/api/v1/logout", api_logout, ROUTE_WRITE | ROUTE_PWCHANGE, NULL, "退出登录" },
	{ "POST", "/logout", page_logout, ROUTE_WRITE | ROUTE_FORM | ROUTE_HTML | ROUTE_PWCHANGE, NULL,
	  "退出登录（页面）" },
	{ "GET", "/api/v1/me", api_me, ROUTE_PWCHANGE, NULL, "当前用户" },
	{ "POST", "/api/v1/me/password", api_me_password, ROUTE_WRITE | ROUTE_JSON | ROUTE_PWCHANGE,
	  NULL, "修改本人密码" },
	{ "GET", "/api/v1/users", api_users_list, 0, "user.manage", "用户列表" },
	{ "POST", "/api/v1/users", api_user_create, ROUTE_WRITE | ROUTE_JSON, "user.manage",
	  "新增用户" },
	{ "GET", "/api/v1/users/:id", api_user_get, 0, "user.manage", "用户详情" },
	{ "PUT", "/api/v1/users/:id", api_user_update, ROUTE_WRITE | ROUTE_JSON, "user.manage",
	  "修改用户（角色、辖区、停用）" },
	{ "POST", "/api/v1/users/:id/password", api_user_reset_password, ROUTE_WRITE, "user.manage",
	  "重置用户密码" },
	{ "GET", "/api/v1/audit", api_audit_list, 0, "audit.read", "审计日志查询" },
	{ "GET", "/api/v1/audit/export", api_audit_export, 0, "audit.read", "审计日志导出" },
	{ NULL },
};
