/* harness.h — what the libFuzzer targets of tests/fuzz/ share: a small demo
 * district in an in-memory SQLite database (every module's migrations, the
 * real regions of 平利县, a few dozen households, the demo accounts with a
 * live session each), and a way to hand it a request exactly as the server
 * would after libmicrohttpd has parsed it (design.md: handlers never touch
 * sockets, so http_dispatch() is the whole path after parsing).
 *
 * Every fuzz input runs inside one transaction that is rolled back when the
 * input is done, so each input sees the same database and a crash
 * reproduces from its input alone.  Anything the harness considers a bug
 * (a 500 answer, a reply that is not JSON, a transaction left open) ends
 * in fuzz_fail(), which prints the reason and aborts, so libFuzzer records
 * the input as a crash. */
#ifndef TESTS_FUZZ_HARNESS_H
#define TESTS_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"

/* The demo district (built on first use; aborts if it cannot be built). */
struct db *fuzz_db(void);
/* The file behind fuzz_db(), for a second, read-only connection. */
const char *fuzz_db_path(void);

/* A demo account with a live session. */
struct fuzz_account {
	char login[64];
	char token[64]; /* bearer token / session cookie value */
	char csrf[64];  /* the session's CSRF token */
	struct principal p;
};
/* The demo accounts, widest scope first; *nr receives their number. */
const struct fuzz_account *fuzz_accounts(int *nr);
/* The account `login`, or NULL. */
const struct fuzz_account *fuzz_account(const char *login);

/* Open / roll back the per-input transaction. */
void fuzz_begin(void);
void fuzz_rollback(void);

/* A request before the server's parsing: the request target still encoded,
 * header values as they arrive.  NULL members are absent headers. */
struct fuzz_request {
	const char *method;
	const char *target;        /* "/api/v1/households?q=%E5%BC%A0" */
	size_t target_len;
	const char *authorization; /* Authorization header */
	const char *cookie;        /* Cookie header */
	const char *csrf;          /* X-CSRF-Token header */
	const char *content_type;
	const char *user_agent;
	const char *fetch_site;    /* Sec-Fetch-Site */
	const char *if_none_match; /* If-None-Match */
	const char *body;          /* NUL-terminated */
	size_t body_len;
};
/* Serve `fr` the way server.c's access handler does — decode and check the
 * path, decode the query, pick the bearer token or the session cookie,
 * answer embedded files or dispatch — inside fuzz_begin()/fuzz_rollback(),
 * then check the answer (fuzz_check_response).  Returns the status.  Keep
 * it in step with access_handler(). */
int fuzz_serve(const struct fuzz_request *fr);

/* Abort unless `res` is a well-formed answer: a status from 200 to 499
 * (a 5xx answer to any input is a bug here: the database is private and
 * never busy), a JSON body that parses when the type says JSON, and the
 * error shape {"error":{"code":…,"message":…}} on every 4xx of the JSON
 * API, and an HTML page that is valid UTF-8.  When `p`
 * (the caller, may be NULL) has a region scope, every "village_code" in
 * the answer must lie inside it; when it may not see full 身份证号, every
 * "id_number" must be masked. */
void fuzz_check_response(const char *method, const char *path, const struct principal *p,
			 const struct http_response *res);

/* Print "fuzz: <reason>" and abort(). */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A NUL-terminated copy of data[0..size) from malloc (the caller frees). */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* Import data[size] as households and as members through a memfd (the
 * import reads a path, as the command line does; CSV or a workbook by its
 * first bytes), each rolled back; fail on a transaction left open or a
 * report that is not UTF-8. */
void fuzz_check_registry_import(const uint8_t *data, size_t size);
/* Run the income ledger's import over data[size] as a dry run (every row
 * checked, nothing written) and fail unless its report is UTF-8. */
void fuzz_check_income_import(const uint8_t *data, size_t size);

#endif
