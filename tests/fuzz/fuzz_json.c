/* fuzz_json.c — libFuzzer target for JSON request bodies: jansson's parse
 * in the dispatcher, then each route's own validation of the fields (types,
 * ranges, codes, 身份证号, dates, unknown fields) and, for a body that
 * passes, the write itself (rolled back after each input).
 *
 * The input is one line naming a route of liubao's table as
 * "METHOD PATTERN" (e.g. "PUT /api/v1/households/:id"), then the body.
 * A line that names no JSON route picks one by its hash, so every input
 * reaches some route.  Path parameters are filled with values that exist in
 * the demo district (:id 1, :year 2026…), and the request is sent by the
 * demo account with the widest scope whose role holds the route's
 * permission, so the body — not a 403 — decides what happens. */
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/buf.h"
#include "base/util.h"
#include "harness.h"

struct json_route {
	const struct route *r;
	char line[256];  /* "METHOD PATTERN" */
	char path[256];  /* the pattern with its parameters filled in */
	const struct fuzz_account *as;
};

static struct json_route *routes;
static int nr_routes, alloc_routes;

/* The value for parameter `name` (len bytes, with its ':') of a pattern
 * whose text before it is `before`: an id or key the demo district has. */
static const char *param_value(const char *before, const char *name, size_t len)
{
	static const struct {
		const char *after; /* the pattern text just before, or "" for any */
		const char *name, *value;
	} known[] = {
		{ "/rules/", ":id", "M001" },	      { "/feeds/", ":id", "yibao_inpatient" },
		{ "/rules/", ":rule", "YB01" },	      { "/params/", ":name", "tuopin_cum" },
		{ "", ":year", "2026" },	      { "", ":month", "2026-05" },
		{ "", ":code", "610926" },	      { "", ":date", "2026-10-01" },
	};
	size_t bl = strlen(before);
	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		size_t al = strlen(known[i].after);
		if (strlen(known[i].name) == len && !strncmp(known[i].name, name, len) &&
		    bl >= al && !strcmp(before + bl - al, known[i].after))
			return known[i].value;
	}
	return "1";
}

static void fill_path(const char *pattern, char *out, size_t outlen)
{
	struct buf b = BUF_INIT, before = BUF_INIT;
	for (const char *s = pattern; *s;) {
		if (*s == ':') {
			size_t l = strcspn(s, "/");
			buf_reset(&before);
			buf_add(&before, pattern, s - pattern);
			buf_addstr(&b, param_value(before.buf, s, l));
			s += l;
		} else {
			buf_addch(&b, *s++);
		}
	}
	snprintf(out, outlen, "%s", b.buf);
	buf_release(&b);
	buf_release(&before);
}

static void collect_routes(void)
{
	int nr_acc;
	const struct fuzz_account *acc = fuzz_accounts(&nr_acc);
	for (const struct route *const *t = http_route_tables; t && *t; t++)
		for (const struct route *r = *t; r->method; r++) {
			struct json_route *jr;
			if (!(r->flags & ROUTE_JSON))
				continue;
			ALLOC_GROW(routes, nr_routes + 1, alloc_routes);
			jr = &routes[nr_routes++];
			jr->r = r;
			snprintf(jr->line, sizeof(jr->line), "%s %s", r->method, r->pattern);
			fill_path(r->pattern, jr->path, sizeof(jr->path));
			jr->as = &acc[0];
			for (int i = 0; i < nr_acc && r->perm; i++)
				if (auth_permitted(&acc[i].p, r->perm)) {
					jr->as = &acc[i];
					break;
				}
		}
	if (!nr_routes)
		fuzz_fail("no JSON routes");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t llen = nl ? (size_t)(nl - data) : size;
	const struct json_route *jr = NULL;
	struct fuzz_request fr;
	char auth[80], *body;
	uint32_t h = 2166136261u;

	fuzz_db();
	if (!routes)
		collect_routes();
	for (int i = 0; i < nr_routes; i++)
		if (strlen(routes[i].line) == llen && !memcmp(routes[i].line, data, llen))
			jr = &routes[i];
	if (!jr) {
		for (size_t i = 0; i < llen; i++)
			h = (h ^ data[i]) * 16777619u;
		jr = &routes[h % (uint32_t)nr_routes];
	}
	body = nl ? fuzz_strndup(nl + 1, size - llen - 1) : fuzz_strndup(data, 0);
	memset(&fr, 0, sizeof(fr));
	snprintf(auth, sizeof(auth), "Bearer %s", jr->as->token);
	fr.method = jr->r->method;
	fr.target = jr->path;
	fr.target_len = strlen(jr->path);
	fr.authorization = auth;
	fr.content_type = "application/json";
	fr.body = body;
	fr.body_len = nl ? size - llen - 1 : 0;
	fuzz_serve(&fr);
	free(body);
	return 0;
}
