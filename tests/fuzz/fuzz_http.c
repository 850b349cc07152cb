/* fuzz_http.c — libFuzzer target for the HTTP request path after
 * libmicrohttpd: path and query decoding, routing over liubao's route
 * table, authentication (bearer token or session cookie), permissions,
 * CSRF, the JSON body check, every handler and the write transaction.
 *
 * The input is a request written as on the wire:
 *
 *     GET /api/v1/households?limit=5&q=%E5%BC%A0 HTTP/1.1
 *     Authorization: Bearer @admin
 *     Content-Type: application/json
 *
 *     {"body": "..."}
 *
 * Lines end in LF or CRLF; the version is optional; a blank line ends the
 * headers and the rest is the body.  A token "@login" (in Authorization or
 * in the liubao_session cookie) is replaced by the live session of demo
 * account `login`, and an X-CSRF-Token of "@csrf" (or "@csrf" in the body,
 * a form's csrf field) by that session's CSRF token.  The harness aborts on a 5xx answer, a malformed answer or a
 * transaction left open (harness.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "harness.h"

/* The next line of [*p, end) without its line end, NUL-terminated in place
 * (the input copy is ours); NULL at the end. */
static char *next_line(char **p, char *end)
{
	char *s = *p, *nl;
	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', end - s);
	if (!nl) {
		*p = end;
		return s;
	}
	*nl = '\0';
	if (nl > s && nl[-1] == '\r')
		nl[-1] = '\0';
	*p = nl + 1;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = fuzz_strndup(data, size), *end = copy + size, *p = copy, *line, *sp;
	struct fuzz_request fr;

	fuzz_db();
	memset(&fr, 0, sizeof(fr));
	line = next_line(&p, end);
	if (!line || !(sp = strchr(line, ' ')) || sp == line)
		goto out;
	*sp = '\0';
	fr.method = line;
	fr.target = sp + 1;
	if ((sp = strchr(sp + 1, ' ')))
		*sp = '\0'; /* " HTTP/1.1" */
	fr.target_len = strlen(fr.target);
	if (!fr.target_len)
		goto out;
	while ((line = next_line(&p, end)) && *line) {
		char *colon = strchr(line, ':'), *v;
		if (!colon)
			continue;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (!strcasecmp(line, "Authorization"))
			fr.authorization = v;
		else if (!strcasecmp(line, "Cookie"))
			fr.cookie = v;
		else if (!strcasecmp(line, "X-CSRF-Token"))
			fr.csrf = v;
		else if (!strcasecmp(line, "Content-Type"))
			fr.content_type = v;
		else if (!strcasecmp(line, "User-Agent"))
			fr.user_agent = v;
		else if (!strcasecmp(line, "Sec-Fetch-Site"))
			fr.fetch_site = v;
		else if (!strcasecmp(line, "If-None-Match"))
			fr.if_none_match = v;
	}
	fr.body = p;
	fr.body_len = (size_t)(end - p);
	fuzz_serve(&fr);
out:
	free(copy);
	return 0;
}
