/* dispatch.c — everything between a parsed request and a response: query
 * decoding, route matching, the JSON body check, write transactions and the
 * response helpers.  No sockets here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/csv.h"
#include "base/util.h"
#include "http/http.h"
#include "http/page.h"

const struct route *const *http_route_tables;
struct http_hooks http_hooks;

void http_request_init(struct http_request *req)
{
	memset(req, 0, sizeof(*req));
	req->body = "";
	req->method = "GET";
	req->path = "/";
	req->remote_addr = "";
}

void http_request_release(struct http_request *req)
{
	for (int i = 0; i < req->nr_query; i++) {
		free(req->query[i].key);
		free(req->query[i].value);
	}
	free(req->query);
	req->query = NULL;
	req->nr_query = req->alloc_query = 0;
	for (int i = 0; i < req->nr_form; i++) {
		free(req->form[i].key);
		free(req->form[i].value);
	}
	free(req->form);
	req->form = NULL;
	req->nr_form = req->alloc_form = 0;
	if (req->json)
		json_decref(req->json);
	req->json = NULL;
	if (req->audit.old_value)
		json_decref(req->audit.old_value);
	if (req->audit.new_value)
		json_decref(req->audit.new_value);
	memset(&req->audit, 0, sizeof(req->audit));
}

void http_audit_note(struct http_request *req, const char *target_type, int64_t target_id,
		     json_t *old_value, json_t *new_value)
{
	req->audit.target_type = target_type;
	req->audit.target_id = target_id;
	if (req->audit.old_value)
		json_decref(req->audit.old_value);
	if (req->audit.new_value)
		json_decref(req->audit.new_value);
	req->audit.old_value = old_value;
	req->audit.new_value = new_value;
}

void http_response_init(struct http_response *res)
{
	memset(res, 0, sizeof(*res));
	buf_init(&res->body, 0);
	res->status = 200;
	res->content_type = "application/json; charset=utf-8";
}

void http_response_release(struct http_response *res)
{
	buf_release(&res->body);
	for (int i = 0; i < res->nr_headers; i++) {
		free(res->headers[i].name);
		free(res->headers[i].value);
	}
	res->nr_headers = 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int http_url_decode(const char *s, size_t len, int plus, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return -1;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			buf_addch(out, hi * 16 + lo);
			i += 2;
		} else if (plus && s[i] == '+') {
			buf_addch(out, ' ');
		} else {
			buf_addch(out, s[i]);
		}
	}
	return 0;
}

/* Decode "a=1&b=%E5%B9%B3" (len bytes) into a parameter array. */
static int parse_pairs(const char *qs, size_t total, struct http_param **arr, int *nr, int *alloc)
{
	struct buf k = BUF_INIT, v = BUF_INIT;
	const char *end = qs + total;
	int rc = 0;
	while (qs && qs < end) {
		const char *amp = memchr(qs, '&', end - qs);
		size_t len = amp ? (size_t)(amp - qs) : (size_t)(end - qs);
		const char *eq = memchr(qs, '=', len);
		size_t klen = eq ? (size_t)(eq - qs) : len;
		buf_reset(&k);
		buf_reset(&v);
		if (len) {
			if (http_url_decode(qs, klen, 1, &k) ||
			    (eq && http_url_decode(eq + 1, len - klen - 1, 1, &v)) ||
			    !utf8_valid(k.buf, k.len) || !utf8_valid(v.buf, v.len) ||
			    strlen(k.buf) != k.len || strlen(v.buf) != v.len) {
				rc = -1;
				break;
			}
			ALLOC_GROW(*arr, *nr + 1, *alloc);
			(*arr)[*nr].key = xstrdup(k.buf);
			(*arr)[*nr].value = xstrdup(v.buf);
			(*nr)++;
		}
		qs = amp ? amp + 1 : NULL;
	}
	buf_release(&k);
	buf_release(&v);
	return rc;
}

int http_parse_query(struct http_request *req, const char *qs)
{
	return parse_pairs(qs, qs ? strlen(qs) : 0, &req->query, &req->nr_query, &req->alloc_query);
}

int http_parse_form(struct http_request *req, const char *body, size_t len)
{
	if (memchr(body, '\0', len))
		return -1;
	return parse_pairs(body, len, &req->form, &req->nr_form, &req->alloc_form);
}

const char *http_form(const struct http_request *req, const char *key)
{
	for (int i = 0; i < req->nr_form; i++)
		if (!strcmp(req->form[i].key, key))
			return req->form[i].value;
	return NULL;
}

const char *http_query(const struct http_request *req, const char *key)
{
	for (int i = 0; i < req->nr_query; i++)
		if (!strcmp(req->query[i].key, key))
			return req->query[i].value;
	return NULL;
}

/* Match `path` against `pattern`; on success store :param values (pointers
 * into a per-request copy) and return 1. */
static int match(const char *pattern, const char *path, struct http_request *req, char *scratch)
{
	int n = 0;
	char *w = scratch;
	while (*pattern && *path) {
		if (*pattern == ':') {
			const char *seg_end = strchr(path, '/');
			size_t l = seg_end ? (size_t)(seg_end - path) : strlen(path);
			if (!l || n >= HTTP_MAX_PATH_PARAMS)
				return 0;
			memcpy(w, path, l);
			w[l] = '\0';
			req->path_params[n++] = w;
			w += l + 1;
			path += l;
			while (*pattern && *pattern != '/')
				pattern++;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	if (*pattern || *path)
		return 0;
	req->nr_path_params = n;
	return 1;
}

static __thread char path_scratch[4096];

const struct route *http_route_find(struct http_request *req, int *path_matched)
{
	*path_matched = 0;
	if (strlen(req->path) >= sizeof(path_scratch) / 2)
		return NULL;
	for (const struct route *const *t = http_route_tables; t && *t; t++) {
		for (const struct route *r = *t; r->method; r++) {
			if (!match(r->pattern, req->path, req, path_scratch))
				continue;
			if (!strcmp(r->method, req->method) ||
			    (!strcmp(req->method, "HEAD") && !strcmp(r->method, "GET")))
				return r;
			*path_matched = 1;
		}
	}
	req->nr_path_params = 0;
	return NULL;
}

int http_route_is_upload(const char *method, const char *path)
{
	struct http_request req;
	const struct route *r;
	int matched, up;
	http_request_init(&req);
	req.method = method;
	req.path = path;
	r = http_route_find(&req, &matched);
	up = r && (r->flags & ROUTE_UPLOAD);
	req.method = req.path = NULL;
	http_request_release(&req);
	return up;
}

static int listed(const char *const *allowed, const char *key)
{
	for (int i = 0; allowed[i]; i++)
		if (!strcmp(allowed[i], key))
			return 1;
	return 0;
}

const char *http_form_unknown(const struct http_request *req, const char *const *allowed)
{
	for (int i = 0; i < req->nr_form; i++)
		if (strcmp(req->form[i].key, "csrf") && !listed(allowed, req->form[i].key))
			return req->form[i].key;
	return NULL;
}

int http_refuse_unknown_params(struct http_request *req, struct http_response *res,
			       const char *const *allowed)
{
	for (int i = 0; i < req->nr_query; i++)
		if (!listed(allowed, req->query[i].key)) {
			http_reply_error(res, 400, "E_UNKNOWN_PARAM", NULL, "不认识查询参数“%s”",
					 req->query[i].key);
			return 1;
		}
	return 0;
}

int http_refuse_unknown_fields(struct http_response *res, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		if (!listed(allowed, key)) {
			http_reply_error(res, 400, "E_UNKNOWN_FIELD", NULL, "不认识字段“%s”", key);
			return 1;
		}
	}
	return 0;
}

void http_add_header(struct http_response *res, const char *name, const char *value)
{
	if (res->nr_headers >= (int)ARRAY_SIZE(res->headers))
		die("too many response headers");
	res->headers[res->nr_headers].name = xstrdup(name);
	res->headers[res->nr_headers].value = xstrdup(value);
	res->nr_headers++;
}

void http_json_dump(json_t *j, struct buf *out)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY);
	if (!s)
		die("cannot encode JSON");
	buf_addstr(out, s);
	free(s);
}

void http_reply_json(struct http_response *res, int status, json_t *j)
{
	res->status = status;
	res->content_type = "application/json; charset=utf-8";
	buf_reset(&res->body);
	if (!j) {
		/* the reply could not be built (json_pack() fails on a string that
		 * is not UTF-8): answer 500 instead of taking the server down */
		res->status = 500;
		buf_addstr(&res->body, "{\"error\":{\"code\":\"E_INTERNAL\",\"message\":"
				       "\"服务器内部错误：无法生成应答\"}}");
		return;
	}
	http_json_dump(j, &res->body);
	json_decref(j);
}

void http_reply_error(struct http_response *res, int status, const char *code, json_t *details,
		      const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	json_t *err;
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (!utf8_valid(msg.buf, msg.len)) {
		/* a message quoting bytes that are not UTF-8 keeps its status
		 * (json_pack() would refuse it and the reply become a 500) */
		struct buf clean = BUF_INIT;
		buf_grow(&clean, msg.len + 1);
		utf8_scrub(msg.buf, clean.buf, msg.len + 1);
		buf_setlen(&clean, strlen(clean.buf));
		buf_release(&msg);
		msg = clean;
	}
	err = json_pack("{s:s, s:s}", "code", code, "message", msg.buf);
	if (details)
		json_object_set_new(err, "details", details);
	http_reply_json(res, status, json_pack("{s:o}", "error", err));
	buf_release(&msg);
}

static int is_json_type(const char *ct)
{
	return ct && !strncasecmp(ct, "application/json", 16) &&
	       (!ct[16] || ct[16] == ';' || ct[16] == ' ');
}

static int is_state_changing(const char *method)
{
	return strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "OPTIONS");
}

/* Constant-time comparison of two NUL-terminated strings. */
static int same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;
	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return !d;
}

static int is_form_type(const char *ct)
{
	return ct && !strncasecmp(ct, "application/x-www-form-urlencoded", 33) &&
	       (!ct[33] || ct[33] == ';' || ct[33] == ' ');
}

/* Refuse the request before its handler runs: the JSON error envelope, or
 * for a ROUTE_HTML route (or a browser path outside /api/ that matched no
 * route) a page saying the same, and the login or password page for a
 * caller who must sign in or change the initial password first. */
static void refuse(struct http_request *req, struct http_response *res, int status,
		   const char *code, const char *msg)
{
	int html = req->route ? (req->route->flags & ROUTE_HTML) != 0
			      : !starts_with(req->path, "/api/");
	if (!html) {
		http_reply_error(res, status, code, NULL, "%s", msg);
	} else if (status == 401) {
		page_redirect_next(req, res, "/login.html");
	} else if (!strcmp(code, "E_PASSWORD_CHANGE_REQUIRED")) {
		page_redirect_next(req, res, "/password.html");
	} else {
		page_error(req, res, status, msg);
	}
}

/* Answer a storage fault (db_fault) in place of what the handler said: the
 * caller should learn that the disk is full or the database read-only, not
 * that the request was wrong or the server broken.  Returns 1 if it did. */
static int reply_fault(struct http_request *req, struct http_response *res)
{
	enum db_fault f = req->db ? db_fault(req->db) : DB_FAULT_NONE;
	const char *code = f == DB_FAULT_FULL ? "E_DISK_FULL" : f == DB_FAULT_READONLY ? "E_DB_READONLY"
										 : "E_DB_IO";
	char msg[512];
	if (f == DB_FAULT_NONE)
		return 0;
	if (req->audit.sensitive && req->route && !(req->route->flags & ROUTE_WRITE)) {
		/* a read that must leave an audit row (full 身份证号) */
		snprintf(msg, sizeof(msg), "%s，无法记录查看完整身份证号等信息的审计日志，因此暂不显示；"
					   "不含这些信息的查询不受影响",
			 f == DB_FAULT_FULL ? "服务器磁盘空间已满"
			 : f == DB_FAULT_READONLY ? "数据库当前只读" : "数据库读写出错");
		refuse(req, res, 503, code, msg);
	} else if (f == DB_FAULT_FULL) {
		refuse(req, res, 507, code,
		       "服务器磁盘空间已满，本次修改没有保存；请联系系统管理员清理磁盘后重试");
	} else if (f == DB_FAULT_READONLY) {
		refuse(req, res, 503, code,
		       "数据库当前只读（维护中或磁盘只读），可以查询，不能修改；请稍后重试或联系系统管理员");
	} else {
		refuse(req, res, 503, code,
		       "数据库读写出错，本次修改没有保存；请稍后重试，或联系系统管理员检查服务器磁盘");
	}
	return 1;
}

static void run_route(struct http_request *req, struct http_response *res);

/* 1 if `s` is an HTTP token (RFC 9110 tchar), as a method must be. */
static int is_token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("!#$%&'*+-.^_`|~", *s)))
			return 0;
	return 1;
}

void http_dispatch(struct http_request *req, struct http_response *res)
{
	/* a read request sees one snapshot, session check included, and takes
	 * the read lock once (whatever writes — an audit row, say — ends the
	 * snapshot first) */
	int snapshot = req->db && !is_state_changing(req->method);
	if (req->db)
		db_fault_clear(req->db);
	if (snapshot)
		db_snapshot_begin(req->db);
	run_route(req, res);
	if (snapshot)
		db_snapshot_end(req->db);
	/* a failure caused by the storage is answered as such */
	if (res->status >= 400)
		reply_fault(req, res);
}

/* Everything after the route is found: who may call it, the body, the
 * write transaction, the handler. */
static void run_route(struct http_request *req, struct http_response *res)
{
	int path_matched;
	const struct route *r;

	/* libmicrohttpd passes any method through, and the 405 answer names it:
	 * bytes that are not UTF-8 there made the answer fail to encode */
	if (!is_token(req->method)) {
		refuse(req, res, 400, "E_BAD_METHOD", "请求方法无效");
		return;
	}
	r = http_route_find(req, &path_matched);
	if (!r) {
		if (path_matched) {
			char msg[128];
			/* a long method would be cut, perhaps inside 方法 */
			snprintf(msg, sizeof(msg), "此地址不支持 %.40s 方法", req->method);
			refuse(req, res, 405, "E_METHOD", msg);
		} else {
			refuse(req, res, 404, "E_NOT_FOUND", "找不到该地址");
		}
		return;
	}
	req->route = r;
	if (!req->principal && req->auth_token && http_hooks.authenticate &&
	    http_hooks.authenticate(req) == -2) {
		char msg[512];
		snprintf(msg, sizeof(msg), "数据库暂时不可用，请稍后重试：%s", db_errmsg(req->db));
		refuse(req, res, 503, "E_DB_UNAVAILABLE", msg);
		return;
	}
	if ((r->flags & ROUTE_FORM) && is_state_changing(req->method)) {
		if (!is_form_type(req->content_type)) {
			refuse(req, res, 415, "E_CONTENT_TYPE",
			       "请求体应为表单（Content-Type: application/x-www-form-urlencoded）");
			return;
		}
		if (http_parse_form(req, req->body, req->body_len)) {
			refuse(req, res, 400, "E_BAD_FORM", "表单内容编码无效（应为 UTF-8）");
			return;
		}
	}
	/* a session's idle-clock refresh may fail on a read-only or full disk
	 * without harm: only what the route itself meets counts */
	if (req->db)
		db_fault_clear(req->db);
	if (!(r->flags & ROUTE_PUBLIC)) {
		const struct principal *p = req->principal;
		const char *token = req->csrf_header;
		if (!token && (r->flags & ROUTE_FORM))
			token = http_form(req, "csrf");
		if (!p) {
			refuse(req, res, 401, "E_AUTH", req->auth_token ? "登录已过期，请重新登录" : "请先登录");
			return;
		}
		if (p->must_change_password && !(r->flags & ROUTE_PWCHANGE)) {
			refuse(req, res, 403, "E_PASSWORD_CHANGE_REQUIRED", "请先修改初始密码");
			return;
		}
		if (r->perm && !(http_hooks.permitted && http_hooks.permitted(p, r->perm))) {
			refuse(req, res, 403, "E_FORBIDDEN", "您的角色无权进行此操作");
			return;
		}
		if ((r->flags & ROUTE_COUNTY) && strlen(p->scope) > 6) {
			refuse(req, res, 403, "E_FORBIDDEN",
			       "全县通用的规则和设置只能由县级及以上辖区的管理员修改");
			return;
		}
		if (p->via_cookie && is_state_changing(req->method) && !(r->flags & ROUTE_NO_CSRF) &&
		    (!token || !p->csrf[0] || !same_secret(token, p->csrf))) {
			refuse(req, res, 403, "E_CSRF",
			       "安全校验失败（缺少或错误的 CSRF 令牌），请刷新页面后重试");
			return;
		}
	}
	if (r->flags & ROUTE_JSON) {
		json_error_t jerr;
		if (!is_json_type(req->content_type)) {
			http_reply_error(res, 415, "E_CONTENT_TYPE", NULL,
					 "请求体应为 JSON（Content-Type: application/json）");
			return;
		}
		req->json = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
		if (!req->json) {
			char text[sizeof(jerr.text)];
			utf8_scrub(jerr.text, text, sizeof(text));
			http_reply_error(res, 400, "E_BAD_JSON", NULL,
					 "JSON 格式错误：第 %d 行第 %d 列：%s", jerr.line, jerr.column,
					 text);
			return;
		}
		if (!json_is_object(req->json)) {
			http_reply_error(res, 400, "E_BAD_JSON", NULL, "请求体应为 JSON 对象");
			return;
		}
	}
	if ((r->flags & ROUTE_WRITE) && !(r->flags & ROUTE_OWN_TX)) {
		if (db_begin(req->db)) {
			char msg[512];
			snprintf(msg, sizeof(msg), "数据库繁忙，请稍后重试：%s", db_errmsg(req->db));
			refuse(req, res, 503, "E_DB_BUSY", msg);
			return;
		}
		r->fn(req, res);
		if (res->status < 400 && http_hooks.audit && http_hooks.audit(req, res)) {
			refuse(req, res, 500, "E_AUDIT", "无法写入审计日志，操作已取消");
		}
		if (res->status < 400) {
			if (db_commit(req->db)) {
				char msg[512];
				snprintf(msg, sizeof(msg), "保存失败：%s", db_errmsg(req->db));
				refuse(req, res, 500, "E_DB", msg);
			}
		} else {
			db_rollback(req->db);
		}
		return;
	}
	r->fn(req, res);
	if (req->audit.sensitive && res->status < 400 && http_hooks.audit) {
		/* an audited read: the row is written in its own transaction, and
		 * the data is withheld if the audit row cannot be written */
		int failed;
		db_set_durable(req->db, 0);
		failed = db_begin(req->db) || http_hooks.audit(req, res) || db_commit(req->db);
		if (failed && db_depth(req->db))
			db_rollback(req->db);
		db_set_durable(req->db, 1);
		if (failed)
			refuse(req, res, 500, "E_AUDIT", "无法写入审计日志，数据未返回");
	}
}
