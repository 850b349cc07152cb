/* test_jw.c — the streaming JSON writer (base/jw.c): escaping (the fast
 * path for plain text and valid UTF-8, control characters, quotes, invalid
 * UTF-8 replaced by U+FFFD), integers at their limits, commas and nesting. */
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "base/jw.h"
#include "harness.h"

static void escaped(const char *in, const char *want)
{
	struct buf b = BUF_INIT;
	buf_addstr(&b, "x"); /* appends to what is there */
	jw_escape(&b, in);
	CHECK_STR(b.buf + 1, want);
	CHECK_INT(strlen(b.buf), b.len);
	buf_release(&b);
}

TEST(jw_escape_strings)
{
	escaped("", "\"\"");
	escaped("plain ascii 123", "\"plain ascii 123\"");
	escaped("平利县城关镇", "\"平利县城关镇\"");
	escaped("a\"b\\c", "\"a\\\"b\\\\c\"");
	escaped("tab\there\nline\r", "\"tab\\there\\nline\\r\"");
	escaped("\x01\x1f", "\"\\u0001\\u001f\"");
	escaped("bad \xff byte", "\"bad \xef\xbf\xbd byte\"");
	escaped("cut \xe5\xb9", "\"cut \xef\xbf\xbd\xef\xbf\xbd\"");   /* truncated 3-byte sequence */
	escaped("\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""); /* a surrogate */
	escaped("\xf0\x9f\x98\x80 ok", "\"\xf0\x9f\x98\x80 ok\"");      /* 4 bytes */
	escaped("中\"文", "\"中\\\"文\"");                           /* slow path after a fast run */
	{
		/* long enough to grow the buffer many times over */
		char big[5000];
		struct buf b = BUF_INIT;
		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		big[2500] = '"';
		jw_escape(&b, big);
		CHECK_INT(b.len, sizeof(big) - 1 + 2 + 1);
		CHECK(b.buf[0] == '"' && b.buf[b.len - 1] == '"' && !b.buf[b.len]);
		CHECK(!memcmp(b.buf + 2501, "\\\"", 2));
		buf_release(&b);
	}
}

TEST(jw_values_and_nesting)
{
	struct buf b = BUF_INIT;
	struct jw w;
	jw_init(&w, &b);
	jw_object(&w);
	jw_kint(&w, "zero", 0);
	jw_kint(&w, "neg", -42);
	jw_kint(&w, "max", INT64_MAX);
	jw_kint(&w, "min", INT64_MIN);
	jw_kbool(&w, "t", 1);
	jw_knull(&w, "n");
	jw_key(&w, "list");
	jw_array(&w);
	jw_str(&w, "a");
	jw_str(&w, NULL);
	jw_array(&w);
	jw_array_end(&w);
	jw_object(&w);
	jw_object_end(&w);
	jw_array_end(&w);
	jw_object_end(&w);
	CHECK_STR(b.buf, "{\"zero\":0,\"neg\":-42,\"max\":9223372036854775807,"
			 "\"min\":-9223372036854775808,\"t\":true,\"n\":null,"
			 "\"list\":[\"a\",null,[],{}]}");
	buf_release(&b);
}
