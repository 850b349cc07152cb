/* harness.c — the demo district and the request path shared by the fuzz
 * targets (see harness.h).  The district is made by liubao's own `demo`
 * command (the fuzz targets link main.c with main renamed, which also gives
 * them the very route table the server dispatches over), or copied from
 * $LIUBAO_FUZZ_DB when the runner has made one already. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "base/csv.h"
#include "base/util.h"
#include "db/db.h"
#include "monitor/monitor.h"
#include "registry/registry.h"
#include "harness.h"

/* main.c, compiled with main renamed (Makefile: $(BUILD)/fuzz/main.o) */
int liubao_cli_main(int argc, const char **argv);
extern const struct route *const liubao_routes[];

#define FUZZ_HOUSEHOLDS "60"
#define FUZZ_TODAY "2026-06-15"

static struct db *db;
static struct fuzz_account accounts[16];
static int nr_accounts;
static char tmpdir[512];
static char work[600];

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "fuzz: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static void copy_file(const char *from, const char *to)
{
	char chunk[65536];
	ssize_t n;
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (in < 0 || out < 0)
		fuzz_fail("cannot copy %s to %s", from, to);
	while ((n = read(in, chunk, sizeof(chunk))) > 0)
		if (write(out, chunk, n) != n)
			fuzz_fail("cannot write %s", to);
	close(in);
	close(out);
}

static void remove_tmpdir(void)
{
	const char *suffixes[] = { "", "-wal", "-shm" };
	char path[600];
	if (db)
		db_close(db);
	db = NULL;
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/demo.db%s", tmpdir, suffixes[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/work.db%s", tmpdir, suffixes[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

static int by_scope(const void *a, const void *b)
{
	const struct fuzz_account *x = a, *y = b;
	size_t lx = strlen(x->p.scope), ly = strlen(y->p.scope);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return x->p.user_id < y->p.user_id ? -1 : x->p.user_id > y->p.user_id;
}

static void open_sessions(void)
{
	struct db_stmt *st = db_prepare(db, "SELECT id, login FROM users WHERE demo = 1 ORDER BY id");
	while (db_step(st) == DB_ROW && nr_accounts < (int)ARRAY_SIZE(accounts)) {
		struct fuzz_account *a = &accounts[nr_accounts++];
		snprintf(a->login, sizeof(a->login), "%s", db_col_text(st, 1));
		a->p.user_id = db_col_int(st, 0);
	}
	db_done(st);
	for (int i = 0; i < nr_accounts; i++) {
		struct fuzz_account *a = &accounts[i];
		if (auth_session_create(db, a->p.user_id, "127.0.0.1", "fuzz", a->token, a->csrf) ||
		    auth_session_resolve(db, a->token, &a->p) != 1)
			fuzz_fail("cannot open a session for %s: %s", a->login, db_errmsg(db));
	}
	qsort(accounts, nr_accounts, sizeof(accounts[0]), by_scope);
	if (!nr_accounts)
		fuzz_fail("the demo district has no accounts");
}

struct db *fuzz_db(void)
{
	const char *tmpl = getenv("LIUBAO_FUZZ_DB");
	const char *base = getenv("TMPDIR");
	char demo[600], err[512];
	if (db)
		return db;
	setenv("LIUBAO_TODAY", FUZZ_TODAY, 1);
	if (!base || !*base)
		base = access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm";
	snprintf(tmpdir, sizeof(tmpdir), "%s/liubao-fuzz-XXXXXX", base);
	if (!mkdtemp(tmpdir))
		fuzz_fail("cannot create a directory under %s", base);
	atexit(remove_tmpdir);
	snprintf(work, sizeof(work), "%s/work.db", tmpdir);
	if (!tmpl || !*tmpl) {
		const char *argv[] = { "liubao", "demo", "--db", demo, "--households",
				       FUZZ_HOUSEHOLDS, "--seed", "1", NULL };
		snprintf(demo, sizeof(demo), "%s/demo.db", tmpdir);
		if (liubao_cli_main((int)ARRAY_SIZE(argv) - 1, argv))
			fuzz_fail("liubao demo failed");
		tmpl = demo;
	}
	copy_file(tmpl, work);
	db = db_open(work, 0, err, sizeof(err));
	if (!db)
		fuzz_fail("%s", err);
	http_route_tables = liubao_routes;
	http_hooks.authenticate = auth_authenticate;
	http_hooks.permitted = auth_permitted;
	http_hooks.audit = auth_audit_request;
	/* sessions must outlive the longest fuzzing run */
	auth_session_idle_seconds = auth_session_max_seconds = 10L * 365 * 86400;
	open_sessions();
	return db;
}

const char *fuzz_db_path(void)
{
	fuzz_db();
	return work;
}

const struct fuzz_account *fuzz_accounts(int *nr)
{
	fuzz_db();
	*nr = nr_accounts;
	return accounts;
}

const struct fuzz_account *fuzz_account(const char *login)
{
	fuzz_db();
	for (int i = 0; i < nr_accounts; i++)
		if (!strcmp(accounts[i].login, login))
			return &accounts[i];
	return NULL;
}

void fuzz_begin(void)
{
	if (db_depth(fuzz_db()) || db_begin(db))
		fuzz_fail("cannot begin the input's transaction: %s", db_errmsg(db));
}

void fuzz_rollback(void)
{
	if (db_depth(db) != 1)
		fuzz_fail("transaction depth %d after the request, want 1", db_depth(db));
	db_rollback(db);
}

/* The value of cookie `name` in a Cookie header, copied into out. */
static int cookie_value(const char *header, const char *name, struct buf *out)
{
	size_t nl = strlen(name);
	const char *p = header;
	while (p && *p) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len && *p == ' ') {
			p++;
			len--;
		}
		if (len > nl && !strncmp(p, name, nl) && p[nl] == '=') {
			buf_add(out, p + nl + 1, len - nl - 1);
			return 1;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* A token written "@login" stands for the session token of demo account
 * `login`; *acct receives the account. */
static const char *token_of(const char *t, const struct fuzz_account **acct)
{
	const struct fuzz_account *a;
	if (t && t[0] == '@' && (a = fuzz_account(t + 1))) {
		*acct = a;
		return a->token;
	}
	return t;
}

/* Walk `j` for the scope and masking promises (see harness.h). */
static void check_values(const char *method, const char *path, const struct principal *p,
			 int id_full, json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;
	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			check_values(method, path, p, id_full, v);
		return;
	}
	if (!json_is_object(j))
		return;
	json_object_foreach(j, key, v) {
		const char *s = json_string_value(v);
		if (s && !strcmp(key, "village_code") && !starts_with(s, p->scope))
			fuzz_fail("%s %s: %s (scope %s) was shown village %s", method, path, p->login,
				  p->scope, s);
		if (s && strstr(key, "id_number") && !id_full && *s && !strstr(s, "********"))
			fuzz_fail("%s %s: %s (no %s) was shown the full 身份证号 %s", method, path,
				  p->login, PERM_ID_FULL, s);
		check_values(method, path, p, id_full, v);
	}
}

void fuzz_check_response(const char *method, const char *path, const struct principal *p,
			 const struct http_response *res)
{
	json_error_t jerr;
	json_t *j, *e;
	if (res->status < 200 || res->status > 599)
		fuzz_fail("%s %s: status %d", method, path, res->status);
	if (res->status >= 500)
		fuzz_fail("%s %s: answered %d: %s", method, path, res->status, res->body.buf);
	if (!strncmp(res->content_type, "text/html", 9) && !utf8_valid(res->body.buf, res->body.len))
		fuzz_fail("%s %s: the %d page is not UTF-8", method, path, res->status);
	if (strncmp(res->content_type, "application/json", 16))
		return;
	j = json_loadb(res->body.buf, res->body.len, 0, &jerr);
	if (!j)
		fuzz_fail("%s %s: the %d answer is not JSON (%s): %.300s", method, path, res->status,
			  jerr.text, res->body.buf);
	if (res->status >= 400) {
		e = json_object_get(j, "error");
		if (!json_is_object(e) || !json_is_string(json_object_get(e, "code")) ||
		    !json_is_string(json_object_get(e, "message")))
			fuzz_fail("%s %s: the %d answer lacks {\"error\":{code,message}}: %.300s",
				  method, path, res->status, res->body.buf);
	}
	if (p)
		check_values(method, path, p, auth_permitted(p, PERM_ID_FULL), j);
	json_decref(j);
}

int fuzz_serve(const struct fuzz_request *fr)
{
	struct http_request req;
	struct http_response res;
	struct buf path = BUF_INIT, qs = BUF_INIT, cookie = BUF_INIT, body = BUF_INIT;
	const struct fuzz_account *acct = NULL;
	const struct asset *a;
	const char *q = memchr(fr->target, '?', fr->target_len);
	size_t plen = q ? (size_t)(q - fr->target) : fr->target_len;
	int status;

	fuzz_db();
	http_request_init(&req);
	http_response_init(&res);
	req.method = fr->method;
	req.remote_addr = "127.0.0.1";
	if (http_url_decode(fr->target, plen, 0, &path) || strlen(path.buf) != path.len ||
	    !utf8_valid(path.buf, path.len) || path.buf[0] != '/') {
		http_reply_error(&res, 400, "E_BAD_PATH", NULL, "请求地址无效");
		goto out;
	}
	req.path = path.buf;
	if (q)
		buf_add(&qs, q + 1, fr->target_len - plen - 1);
	req.body = fr->body;
	req.body_len = fr->body_len;
	req.content_type = fr->content_type;
	req.user_agent = fr->user_agent;
	req.csrf_header = fr->csrf;
	req.fetch_site = fr->fetch_site;
	req.if_none_match = fr->if_none_match;
	if (fr->authorization && !strncasecmp(fr->authorization, "Bearer ", 7)) {
		req.auth_token = token_of(fr->authorization + 7, &acct);
	} else if (fr->cookie && cookie_value(fr->cookie, "liubao_session", &cookie)) {
		req.auth_token = token_of(cookie.buf, &acct);
		req.auth_via_cookie = 1;
	}
	if (req.csrf_header && !strcmp(req.csrf_header, "@csrf") && acct)
		req.csrf_header = acct->csrf;
	if (acct && memmem(fr->body, fr->body_len, "@csrf", 5)) {
		/* a form's csrf field: "csrf=@csrf" */
		for (size_t i = 0; i < fr->body_len; i++) {
			if (i + 5 <= fr->body_len && !memcmp(fr->body + i, "@csrf", 5)) {
				buf_addstr(&body, acct->csrf);
				i += 4;
			} else {
				buf_addch(&body, fr->body[i]);
			}
		}
		req.body = body.buf;
		req.body_len = body.len;
	}

	if (strlen(qs.buf) != qs.len || http_parse_query(&req, qs.buf)) {
		http_reply_error(&res, 400, "E_BAD_QUERY", NULL, "查询参数编码无效（应为 UTF-8）");
	} else if (!starts_with(req.path, "/api/") &&
		   (!strcmp(req.method, "GET") || !strcmp(req.method, "HEAD")) &&
		   (a = asset_find(strcmp(req.path, "/") ? req.path : "/index.html"))) {
		res.content_type = a->content_type;
		if (req.if_none_match && strstr(req.if_none_match, a->etag))
			res.status = 304;
		else
			buf_add(&res.body, a->data, a->len);
	} else {
		req.db = db;
		fuzz_begin();
		http_dispatch(&req, &res);
		fuzz_rollback();
	}
out:
	fuzz_check_response(req.method, path.buf, req.principal, &res);
	status = res.status;
	http_request_release(&req);
	http_response_release(&res);
	buf_release(&path);
	buf_release(&qs);
	buf_release(&cookie);
	buf_release(&body);
	return status;
}

void fuzz_check_income_import(const uint8_t *data, size_t size)
{
	struct income_import_report r;
	buf_init(&r.text, 0);
	monitor_income_import(fuzz_db(), (const char *)data, size, 1, &r);
	if (!utf8_valid(r.text.buf, r.text.len))
		fuzz_fail("the income import's report is not UTF-8: %s", r.text.buf);
	buf_release(&r.text);
}

void fuzz_check_registry_import(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64];
	if (fd < 0 && (fd = memfd_create("fuzz-import", 0)) < 0)
		fuzz_fail("memfd_create failed");
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		fuzz_fail("cannot write the memfd");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	for (int kind = IMPORT_HOUSEHOLDS; kind <= IMPORT_MEMBERS; kind++) {
		struct import_opts o = { 0 };
		struct import_result res;
		o.today = 20260615;
		import_result_init(&res);
		fuzz_begin();
		if (registry_import(fuzz_db(), kind, path, &o, &res) < 0 && db_depth(fuzz_db()) != 1)
			fuzz_fail("the failed import left the transaction at depth %d",
				  db_depth(fuzz_db()));
		fuzz_rollback();
		if (!utf8_valid(res.report.buf, res.report.len))
			fuzz_fail("the import report is not UTF-8: %s", res.report.buf);
		import_result_release(&res);
	}
}
