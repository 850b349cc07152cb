/* http.h — requests, responses, routes and the server.  Handlers never see
 * sockets: they read a struct http_request and write a struct http_response
 * through the helpers here, so the same handler runs under the server, in
 * tests and under fuzzers (http_dispatch() is the whole path after parsing). */
#ifndef HTTP_HTTP_H
#define HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "base/buf.h"
#include "db/db.h"

/* Who is calling: filled by the session layer (auth/) before any handler
 * runs.  Strings are copies owned by the struct. */
struct principal {
	int64_t user_id;          /* users.id */
	int64_t session_id;       /* sessions.id, 0 for a command-line principal */
	char login[64];           /* login name */
	char name[64];            /* display name */
	char role[32];            /* role identifier, e.g. "village_clerk" */
	char scope[13];           /* region code prefix the caller may see; "" = everything */
	char department[64];      /* 部门, e.g. 医保局 */
	char csrf[64];            /* the session's CSRF token */
	int must_change_password; /* initial or reset password not yet changed */
	int via_cookie;           /* authenticated by the browser cookie (needs CSRF) */
};

/* What a request changed or revealed, for the audit log.  Handlers fill it
 * with http_audit_note(); the dispatcher writes exactly one audit row for
 * every successful write route, and one for a read that set `sensitive`. */
struct audit_note {
	const char *target_type; /* "household", "member", "user"...; NULL if none */
	int64_t target_id;
	json_t *old_value;       /* owned; NULL if none */
	json_t *new_value;       /* owned; NULL if none */
	char detail[256];        /* Chinese, e.g. "查看完整身份证号" */
	int sensitive;           /* a read that must be audited (full 身份证号, export) */
};

struct http_param {
	char *key, *value; /* decoded, NUL-terminated, from xmalloc() */
};

#define HTTP_MAX_PATH_PARAMS 4

struct http_request {
	const char *method;      /* "GET", "POST", ... */
	const char *path;        /* decoded path without the query string */
	struct http_param *query; /* decoded query parameters */
	int nr_query, alloc_query;
	const char *body;        /* request body (NUL-terminated), may be "" */
	size_t body_len;
	const char *content_type;
	const char *remote_addr; /* textual peer address */
	const char *path_params[HTTP_MAX_PATH_PARAMS]; /* values of :name segments, in order */
	int nr_path_params;
	const struct principal *principal; /* NULL until authenticated */
	struct principal principal_buf;    /* storage behind `principal` */
	const char *auth_token;  /* bearer token or session cookie value, or NULL */
	int auth_via_cookie;     /* the token came from the cookie */
	const char *csrf_header; /* X-CSRF-Token, or NULL */
	const char *user_agent;
	const char *fetch_site;  /* Sec-Fetch-Site ("same-origin", "cross-site"…), or NULL */
	const char *if_none_match; /* If-None-Match, or NULL */
	const struct route *route; /* the matched route */
	struct audit_note audit;
	struct db *db;           /* this worker's database connection */
	json_t *json;            /* parsed body of ROUTE_JSON routes (owned by the request) */
	struct http_param *form; /* decoded fields of a ROUTE_FORM body, in order */
	int nr_form, alloc_form;
};

struct http_header {
	char *name, *value;
};

struct http_response {
	int status;
	const char *content_type;
	struct buf body;
	struct http_header headers[8];
	int nr_headers;
};

typedef void (*http_handler)(struct http_request *req, struct http_response *res);

/* Route flags: preconditions the dispatcher enforces before the handler. */
enum route_flags {
	ROUTE_PUBLIC = 1 << 0, /* no principal needed (health check, login, static files) */
	ROUTE_WRITE = 1 << 1,  /* changes data: one transaction, audited */
	ROUTE_JSON = 1 << 2,   /* expects a JSON object body */
	ROUTE_PWCHANGE = 1 << 3, /* allowed while the password must still be changed */
	ROUTE_NO_CSRF = 1 << 4,  /* state-changing but exempt from CSRF (login) */
	ROUTE_OWN_TX = 1 << 5,   /* writes but manages its own transactions and audit (login) */
	ROUTE_UPLOAD = 1 << 6,   /* takes a file body: max_upload applies instead of max_body */
	ROUTE_FORM = 1 << 7,     /* body is an HTML form (application/x-www-form-urlencoded),
				  * decoded into req->form; its field "csrf" may carry the
				  * CSRF token instead of the X-CSRF-Token header */
	ROUTE_HTML = 1 << 8,     /* answers an HTML page: the dispatcher's refusals are
				  * pages too (http/page.h), and a caller who is not signed
				  * in is sent to the login page (303) */
	ROUTE_COUNTY = 1 << 9,   /* changes what a whole county shares (monitoring rules and
				  * lines, the calendar, feed and check definitions and
				  * thresholds): only for a caller whose scope is a county
				  * or above, never a township's or village's administrator */
};

struct route {
	const char *method;  /* NULL ends a table */
	const char *pattern; /* "/api/v1/households/:id"; ":" segments capture */
	http_handler fn;
	unsigned flags;
	const char *perm;    /* permission required (auth/roles.c), NULL = any signed-in user */
	const char *summary; /* one line, for the route listing and tests */
};

/* Hooks the access-control module installs (http/ cannot call auth/). */
struct http_hooks {
	/* Resolve req->auth_token into req->principal_buf; return 0 when signed
	 * in, -1 when there is no valid session (expired, unknown, disabled),
	 * -2 when the database could not be asked (answered 503, not 401). */
	int (*authenticate)(struct http_request *req);
	/* 1 if principal `p` holds permission `perm`. */
	int (*permitted)(const struct principal *p, const char *perm);
	/* Write the audit row for `req` inside the current transaction; 0 or -1. */
	int (*audit)(struct http_request *req, struct http_response *res);
	/* The Chinese title of role id `role` ("村级信息员"), or NULL (page header). */
	const char *(*role_title)(const char *role);
	/* The display name of the region-code prefix `scope` into out[n]
	 * ("锦屏社区（老县镇）"), "" when unknown (page header). */
	void (*scope_name)(struct db *db, const char *scope, char *out, size_t n);
};
extern struct http_hooks http_hooks;

/* Record what this request changed (old/new are stolen; may be NULL). */
void http_audit_note(struct http_request *req, const char *target_type, int64_t target_id,
		     json_t *old_value, json_t *new_value);

/* The route tables the server dispatches over, NULL-terminated; set by main. */
extern const struct route *const *http_route_tables;

void http_request_init(struct http_request *req);
void http_request_release(struct http_request *req);
void http_response_init(struct http_response *res);
void http_response_release(struct http_response *res);

/* Parse a query string "a=1&b=%E5%B9%B3" into req->query (decoding %XX and
 * '+'); returns 0, or -1 if an escape is malformed or a value is not UTF-8. */
int http_parse_query(struct http_request *req, const char *qs);
/* The first value of query parameter `key`, or NULL. */
const char *http_query(const struct http_request *req, const char *key);
/* Parse an urlencoded form body (len bytes) into req->form, like
 * http_parse_query(); 0, or -1 when malformed (bad escape, not UTF-8, NUL). */
int http_parse_form(struct http_request *req, const char *body, size_t len);
/* The first value of form field `key`, or NULL. */
const char *http_form(const struct http_request *req, const char *key);
/* The name of the first form field not in `allowed` (NULL-terminated; the
 * field "csrf" is always allowed), or NULL when all are known. */
const char *http_form_unknown(const struct http_request *req, const char *const *allowed);
/* Decode %XX escapes of `s` (len bytes) into `out`; '+' becomes ' ' when
 * `plus` is set.  Returns 0 or -1 on a malformed escape. */
int http_url_decode(const char *s, size_t len, int plus, struct buf *out);

/* Route `req` over the tables and run the handler, filling `res`.  Handles
 * 404 / 405, the JSON body check, and the write transaction (commit when the
 * handler answered < 400, roll back otherwise).  A failure the storage
 * caused (db_fault) is answered 507 E_DISK_FULL, 503 E_DB_READONLY or 503
 * E_DB_IO whatever the handler said. */
void http_dispatch(struct http_request *req, struct http_response *res);
/* 1 if method+path names a ROUTE_UPLOAD route (its body may be a large file). */
int http_route_is_upload(const char *method, const char *path);
/* Find the route for method+path; returns it and fills path params, or NULL.
 * *path_matched is set when some route matched the path with another method. */
const struct route *http_route_find(struct http_request *req, int *path_matched);

/* Answer 400 E_UNKNOWN_PARAM and return 1 if the query has a parameter
 * not in `allowed` (NULL-terminated); 0 otherwise. */
int http_refuse_unknown_params(struct http_request *req, struct http_response *res,
			       const char *const *allowed);
/* Answer 400 E_UNKNOWN_FIELD and return 1 if object `obj` has a key not in
 * `allowed` (NULL-terminated); 0 otherwise. */
int http_refuse_unknown_fields(struct http_response *res, json_t *obj, const char *const *allowed);

/* Response helpers. */
void http_add_header(struct http_response *res, const char *name, const char *value);
/* Answer with `j` (reference stolen) as JSON. */
void http_reply_json(struct http_response *res, int status, json_t *j);
/* Answer {"error":{"code":code,"message":msg}}; `details` (stolen, may be
 * NULL) is added as error.details. */
void http_reply_error(struct http_response *res, int status, const char *code, json_t *details,
		      const char *fmt, ...) ATTR_PRINTF(5, 6);
/* Dump JSON the way every response does (2-space free, real precision 15). */
void http_json_dump(json_t *j, struct buf *out);

/* Server. */
struct http_server_opts {
	const char *listen;   /* "127.0.0.1:8080" */
	const char *db_path;  /* database each worker thread opens */
	int threads;          /* worker threads (default 2) */
	size_t max_body;      /* bytes; larger bodies get 413 */
	size_t max_upload;    /* bytes, for ROUTE_UPLOAD routes (file uploads) */
	int quiet;
	unsigned timeout;         /* seconds a connection may stay silent (0 = 30) */
	unsigned max_connections; /* open connections at most (0 = 2000) */
	unsigned max_per_ip;      /* open connections per client address (0 = unlimited) */
};
/* Run until SIGINT/SIGTERM.  Returns 0 on clean shutdown, -1 on failure. */
int http_serve(const struct http_server_opts *o);
/* 1 if `listen` is an ADDR:PORT http_serve() can listen on. */
int http_listen_valid(const char *listen);

/* Look up an embedded asset (generated at build time from web/). */
struct asset {
	const char *path;         /* "/static/app.css" */
	const unsigned char *data;
	size_t len;
	const char *content_type;
	const char *etag;         /* "\"<sha-256 prefix of the contents>\"", for If-None-Match */
};
const struct asset *asset_find(const char *path);

#endif
