/* server.c — the libmicrohttpd front end: accepts connections on an epoll
 * thread pool, collects the request (path, query, headers, bounded body),
 * hands it to http_dispatch() with this worker's database connection and the
 * caller's principal, and sends the response with the security headers every
 * response carries. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/csv.h"
#include "base/util.h"
#include "http/http.h"

static const struct http_server_opts *server_opts;

static __thread struct db *worker_db;

/* The most of a body over the limit read and dropped before 413 (so a
 * client that sends its whole body before reading sees the answer); a
 * bigger one is refused at once and the connection closed. */
#define DROP_MAX ((size_t)16 << 20)

/* Per-request state kept by libmicrohttpd between access-handler calls. */
struct conn_state {
	struct buf body;
	int too_big; /* body exceeded the limit: 413 queued */
	int drop;      /* the body is over the limit: read it, drop it, answer 413 */
	size_t dropped; /* bytes dropped so far */
	size_t limit; /* max_body, or max_upload for a file-upload route */
};

/* Closes a worker's connection when its thread ends (MHD_stop_daemon joins
 * them), so a clean shutdown leaves no SQLite WAL behind. */
static pthread_key_t worker_db_key;
static pthread_once_t worker_db_once = PTHREAD_ONCE_INIT;

static void close_worker_db(void *db)
{
	db_close(db);
}

static void make_worker_db_key(void)
{
	pthread_key_create(&worker_db_key, close_worker_db);
}

static struct db *get_worker_db(void)
{
	char err[512];
	if (worker_db)
		return worker_db;
	worker_db = db_open(server_opts->db_path, 0, err, sizeof(err));
	if (!worker_db)
		warning("%s", err);
	pthread_once(&worker_db_once, make_worker_db_key);
	pthread_setspecific(worker_db_key, worker_db);
	return worker_db;
}

/* After the workers have stopped: wait (a while) for the background threads
 * that still hold a connection (an import job, a report rebuild), then open
 * and close one connection.  SQLite checkpoints and removes the WAL only on
 * a close that finds no other connection open; two workers closing at the
 * same moment can each see the other and both leave it. */
static void finish_background(const struct http_server_opts *o)
{
	char err[512];
	struct db *db;
	int waited = 0;
	while (db_open_count() > 0 && waited < 600) {
		if (waited == 10 && !o->quiet)
			fprintf(stderr, "liubao 正在等待 %d 个后台任务结束…\n", db_open_count());
		usleep(100 * 1000);
		waited++;
	}
	if (db_open_count() > 0)
		warning("停止时仍有 %d 个后台任务未结束", db_open_count());
	if ((db = db_open(o->db_path, 0, err, sizeof(err))))
		db_close(db);
}

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
			  "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
			  "object-src 'none'; base-uri 'none'; form-action 'self'; "
			  "frame-ancestors 'none'";

static enum MHD_Result send_response(struct MHD_Connection *conn, struct http_response *res)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	/* the body's memory goes to libmicrohttpd (freed with free() once sent)
	 * rather than being copied */
	size_t len;
	char *body = buf_detach(&res->body, &len);
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", res->content_type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Content-Security-Policy", csp);
	MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(r, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
	{
		int has_cache = 0;
		for (int i = 0; i < res->nr_headers; i++) {
			MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
			has_cache |= !strcasecmp(res->headers[i].name, "Cache-Control");
		}
		if (!has_cache)
			MHD_add_response_header(r, "Cache-Control", "no-store");
	}
	ret = MHD_queue_response(conn, res->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_simple(struct MHD_Connection *conn, int status, const char *code,
				    const char *msg)
{
	struct http_response res;
	enum MHD_Result ret;
	http_response_init(&res);
	http_reply_error(&res, status, code, NULL, "%s", msg);
	ret = send_response(conn, &res);
	http_response_release(&res);
	return ret;
}

struct arg_ctx {
	struct http_request *req;
	int bad;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct arg_ctx *a = cls;
	struct buf k = BUF_INIT, v = BUF_INIT;
	if (http_url_decode(key, strlen(key), 1, &k) ||
	    (value && http_url_decode(value, strlen(value), 1, &v)) || !utf8_valid(k.buf, k.len) ||
	    !utf8_valid(v.buf, v.len) || strlen(k.buf) != k.len || strlen(v.buf) != v.len) {
		a->bad = 1;
	} else {
		ALLOC_GROW(a->req->query, a->req->nr_query + 1, a->req->alloc_query);
		a->req->query[a->req->nr_query].key = buf_detach(&k, NULL);
		a->req->query[a->req->nr_query].value = buf_detach(&v, NULL);
		a->req->nr_query++;
	}
	buf_release(&k);
	buf_release(&v);
	return MHD_YES;
}

/* The caller's token: a bearer token, else the session cookie. */
static void request_token(struct MHD_Connection *conn, struct http_request *req)
{
	const char *authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (authz && !strncasecmp(authz, "Bearer ", 7)) {
		req->auth_token = authz + 7;
	} else {
		req->auth_token = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "liubao_session");
		req->auth_via_cookie = req->auth_token != NULL;
	}
}

/* Does the request come from a signed-in user?  Asked before a large
 * upload is accepted, so that nobody can make the server hold a big body
 * without a session. */
static int signed_in(struct MHD_Connection *conn)
{
	struct http_request req;
	int ok;
	http_request_init(&req);
	request_token(conn, &req);
	req.db = req.auth_token ? get_worker_db() : NULL;
	ok = req.db && http_hooks.authenticate && http_hooks.authenticate(&req) == 0;
	http_request_release(&req);
	return ok;
}

/* Refuse a body over the limit now, without reading the rest of it:
 * libmicrohttpd then discards the request and closes the connection. */
static enum MHD_Result reply_too_big(struct MHD_Connection *conn, struct conn_state *cs)
{
	char msg[160];
	cs->too_big = 1;
	snprintf(msg, sizeof(msg), "请求体过大（超过上限 %zu 字节）%s", cs->limit,
		 cs->limit < server_opts->max_upload ? "；上传文件请先登录" : "");
	return reply_simple(conn, 413, "E_TOO_LARGE", msg);
}

/* Answer a GET or HEAD for an embedded file; 0 when there is none (the path
 * then goes to the routes: server-rendered pages live outside /api/ too). */
static int serve_asset(struct http_request *req, struct http_response *res)
{
	const char *p = strcmp(req->path, "/") ? req->path : "/index.html";
	const struct asset *a = asset_find(p);
	if (!a)
		return 0;
	res->content_type = a->content_type;
	/* no-cache: the browser asks again each time, and a file it already
	 * holds costs a 304 without a body (slow village networks) */
	http_add_header(res, "Cache-Control", "no-cache");
	http_add_header(res, "ETag", a->etag);
	if (req->if_none_match && strstr(req->if_none_match, a->etag)) {
		res->status = 304;
		return 1;
	}
	res->status = 200;
	buf_add(&res->body, a->data, a->len);
	return 1;
}

/* tests/fuzz/harness.c (fuzz_serve) mirrors how this turns a request into
 * a struct http_request and an answer: keep the two in step. */
static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	struct conn_state *cs = *con_cls;
	struct http_request req;
	struct http_response res;
	struct buf path = BUF_INIT;
	struct arg_ctx args;
	const union MHD_ConnectionInfo *ci;
	char addr[INET6_ADDRSTRLEN] = "";
	enum MHD_Result ret;

	if (!cs) {
		/* First call: headers only.  Answer later (see design.md trap),
		 * unless the announced body is over the limit. */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		cs = xcalloc(1, sizeof(*cs));
		buf_init(&cs->body, 0);
		cs->limit = server_opts->max_body;
		*con_cls = cs;
		if (server_opts->max_upload > cs->limit && http_route_is_upload(method, url) &&
		    (!cl || strtoull(cl, NULL, 10) > cs->limit) && signed_in(conn))
			cs->limit = server_opts->max_upload;
		if (cl && strtoull(cl, NULL, 10) > cs->limit) {
			/* far over the limit: refuse at once (the connection then
			 * closes, and a client still sending may see a reset);
			 * a little over: read and drop the body, then answer 413,
			 * which every client reads */
			if (strtoull(cl, NULL, 10) - cs->limit > DROP_MAX)
				return reply_too_big(conn, cs);
			cs->drop = 1;
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (cs->too_big)
			return MHD_YES; /* answered already; the rest is discarded */
		if (cs->drop || cs->body.len + n > cs->limit) {
			/* over the limit: libmicrohttpd cannot answer in the
			 * middle of a body, so the rest is read and dropped and
			 * 413 follows — or, past a bound, the connection closes */
			cs->drop = 1;
			cs->dropped += n;
			buf_release(&cs->body);
			return cs->dropped > DROP_MAX ? MHD_NO : MHD_YES;
		}
		buf_add(&cs->body, upload_data, n);
		return MHD_YES;
	}
	if (cs->too_big)
		return MHD_YES;
	if (cs->drop)
		return reply_too_big(conn, cs);

	http_request_init(&req);
	http_response_init(&res);
	if (http_url_decode(url, strlen(url), 0, &path) || strlen(path.buf) != path.len ||
	    !utf8_valid(path.buf, path.len) || path.buf[0] != '/') {
		buf_release(&path);
		http_request_release(&req);
		http_response_release(&res);
		return reply_simple(conn, 400, "E_BAD_PATH", "请求地址无效");
	}
	args.req = &req;
	args.bad = 0;
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
	req.method = method;
	req.path = path.buf;
	req.body = cs->body.buf;
	req.body_len = cs->body.len;
	req.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		if (ci->client_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)ci->client_addr)->sin_addr, addr,
				  sizeof(addr));
		else if (ci->client_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ci->client_addr)->sin6_addr,
				  addr, sizeof(addr));
	}
	req.remote_addr = addr;
	req.user_agent = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent");
	req.csrf_header = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token");
	req.fetch_site = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
	req.if_none_match = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
	request_token(conn, &req);

	if (args.bad) {
		http_reply_error(&res, 400, "E_BAD_QUERY", NULL, "查询参数编码无效（应为 UTF-8）");
	} else if (!starts_with(req.path, "/api/") &&
		   (!strcmp(method, "GET") || !strcmp(method, "HEAD")) && serve_asset(&req, &res)) {
		/* an embedded file */
	} else if (!(req.db = get_worker_db())) {
		http_reply_error(&res, 503, "E_DB", NULL, "数据库不可用");
	} else {
		http_dispatch(&req, &res);
		if (req.db && db_depth(req.db)) {
			warning("transaction left open by %s %s", method, req.path);
			while (db_depth(req.db))
				db_rollback(req.db);
		}
		if (req.db && (db_readonly(req.db) || db_fault(req.db) == DB_FAULT_READONLY ||
			       db_fault(req.db) == DB_FAULT_IO)) {
			/* a connection opened while the file could not be written
			 * stays read-only: open a new one for the next request, so
			 * the service recovers when the storage does (and reads
			 * see what was written meanwhile) */
			db_close(worker_db);
			worker_db = NULL;
			pthread_setspecific(worker_db_key, NULL);
		}
	}
	if (res.status >= 500 && !server_opts->quiet)
		fprintf(stderr, "%s %s -> %d\n", method, req.path, res.status);
	ret = send_response(conn, &res);
	http_request_release(&req);
	http_response_release(&res);
	buf_release(&path);
	return ret;
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct conn_state *cs = *con_cls;
	if (!cs)
		return;
	buf_release(&cs->body);
	free(cs);
	*con_cls = NULL;
}

static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa)
{
	const char *colon = strrchr(listen, ':');
	char host[64];
	int64_t port;
	if (!colon || (size_t)(colon - listen) >= sizeof(host) || parse_int64(colon + 1, &port) ||
	    port < 0 || port > 65535)
		return -1;
	memcpy(host, listen, colon - listen);
	host[colon - listen] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (!*host)
		sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	return 0;
}

int http_listen_valid(const char *listen)
{
	struct sockaddr_in sa;
	return !parse_listen(listen, &sa);
}

int http_serve(const struct http_server_opts *o)
{
	struct MHD_Daemon *d;
	struct sockaddr_in sa;
	struct rlimit rl;
	unsigned max_conn;
	sigset_t set;
	int sig;
	const union MHD_DaemonInfo *info;

	server_opts = o;
	if (parse_listen(o->listen, &sa))
		return error("--listen 应为 地址:端口，例如 127.0.0.1:8080，而不是 '%s'", o->listen);
	max_conn = o->max_connections ? o->max_connections : 2000;
	/* a descriptor per connection, plus the database files and some spare */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < (rlim_t)max_conn + 64) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)max_conn + 64 ? rl.rlim_max : (rlim_t)max_conn + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < (rlim_t)max_conn + 64) {
			max_conn = rl.rlim_cur > 128 ? (unsigned)rl.rlim_cur - 64 : 64;
			warning("可打开的文件数上限为 %lu，最多同时接受 %u 个连接",
				(unsigned long)rl.rlim_cur, max_conn);
		}
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
			     access_handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(o->threads > 0 ? o->threads : 2),
			     MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
			     MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
			     MHD_OPTION_CONNECTION_TIMEOUT, o->timeout ? o->timeout : 30u,
			     MHD_OPTION_CONNECTION_LIMIT, max_conn,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_per_ip,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
			     MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
	if (!d)
		return error("无法在 %s 上启动服务：%s", o->listen, strerror(errno));
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (!o->quiet)
		fprintf(stderr, "liubao 正在 http://%s:%u/ 提供服务（数据库 %s），按 Ctrl-C 停止\n",
			inet_ntoa(sa.sin_addr), info ? info->port : ntohs(sa.sin_port), o->db_path);
	fflush(stderr);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	finish_background(o);
	if (!o->quiet)
		fprintf(stderr, "liubao 已停止\n");
	return 0;
}
