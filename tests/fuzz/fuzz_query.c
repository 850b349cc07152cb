/* fuzz_query.c — libFuzzer target for URL decoding, query strings and
 * urlencoded form bodies (http_url_decode, http_parse_query,
 * http_parse_form), the decoding every path, query parameter and HTML form
 * field goes through.
 *
 * Checks, for any input: http_url_decode agrees with a plain reference
 * decoder (with and without '+' as space); http_parse_query either refuses
 * the string or yields keys and values that are valid UTF-8 without NUL
 * bytes; and what it yields survives a round trip — encoded again and
 * parsed again, the same pairs come back, and http_query finds each key's
 * first value.  The same bytes as a form body give the same pairs (or the
 * same refusal), and a NUL byte anywhere refuses the form. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/csv.h"
#include "http/http.h"
#include "harness.h"

static int hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The reference: %XX is one byte, '+' a space when `plus`, anything else
 * itself; a '%' without two hex digits after it is an error. */
static int ref_decode(const uint8_t *s, size_t len, int plus, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (len - i < 3 || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0)
				return -1;
			buf_addch(out, hex(s[i + 1]) * 16 + hex(s[i + 2]));
			i += 2;
		} else {
			buf_addch(out, plus && s[i] == '+' ? ' ' : s[i]);
		}
	}
	return 0;
}

static void encode(const char *s, struct buf *out)
{
	static const char digits[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			buf_addch(out, *p);
		} else {
			buf_addch(out, '%');
			buf_addch(out, digits[*p >> 4]);
			buf_addch(out, digits[*p & 15]);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req, again;
	struct buf got = BUF_INIT, want = BUF_INIT, qs = BUF_INIT;
	char *s = fuzz_strndup(data, size);

	for (int plus = 0; plus <= 1; plus++) {
		int rc, ref;
		buf_reset(&got);
		buf_reset(&want);
		rc = http_url_decode((const char *)data, size, plus, &got);
		ref = ref_decode(data, size, plus, &want);
		if (rc != ref)
			fuzz_fail("http_url_decode returned %d, the reference %d", rc, ref);
		if (!rc && (got.len != want.len || memcmp(got.buf, want.buf, got.len)))
			fuzz_fail("http_url_decode (plus=%d) decoded differently", plus);
	}

	http_request_init(&req);
	http_request_init(&again);
	if (!http_parse_query(&req, s)) {
		for (int i = 0; i < req.nr_query; i++) {
			const char *k = req.query[i].key, *v = req.query[i].value;
			if (!utf8_valid(k, strlen(k)) || !utf8_valid(v, strlen(v)))
				fuzz_fail("parameter %d is not UTF-8", i);
			if (i)
				buf_addch(&qs, '&');
			encode(k, &qs);
			buf_addch(&qs, '=');
			encode(v, &qs);
		}
		if (http_parse_query(&again, qs.buf))
			fuzz_fail("the re-encoded query \"%s\" is refused", qs.buf);
		if (again.nr_query != req.nr_query)
			fuzz_fail("%d parameters came back as %d", req.nr_query, again.nr_query);
		for (int i = 0; i < req.nr_query; i++) {
			int j = 0;
			if (strcmp(req.query[i].key, again.query[i].key) ||
			    strcmp(req.query[i].value, again.query[i].value))
				fuzz_fail("parameter %d changed in the round trip", i);
			while (strcmp(req.query[j].key, req.query[i].key))
				j++;
			if (http_query(&req, req.query[i].key) != req.query[j].value)
				fuzz_fail("http_query(\"%s\") is not the first value",
					  req.query[i].key);
		}
	}
	{
		struct http_request form;
		int qrc, frc;
		http_request_init(&form);
		frc = http_parse_form(&form, (const char *)data, size);
		if (memchr(data, '\0', size)) {
			if (!frc)
				fuzz_fail("a form with a NUL byte was accepted");
		} else {
			http_request_release(&again);
			http_request_init(&again);
			qrc = http_parse_query(&again, s);
			if (qrc != frc)
				fuzz_fail("as a form %d, as a query %d", frc, qrc);
			for (int i = 0; !frc && i < form.nr_form; i++)
				if (i >= again.nr_query || strcmp(form.form[i].key, again.query[i].key) ||
				    strcmp(form.form[i].value, again.query[i].value) ||
				    !http_form(&form, form.form[i].key))
					fuzz_fail("form field %d differs from the query's", i);
			if (!frc && form.nr_form != again.nr_query)
				fuzz_fail("%d form fields, %d query parameters", form.nr_form,
					  again.nr_query);
		}
		http_request_release(&form);
	}
	http_request_release(&req);
	http_request_release(&again);
	buf_release(&got);
	buf_release(&want);
	buf_release(&qs);
	free(s);
	return 0;
}
