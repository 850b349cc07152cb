/* test_html.c — unit tests for base/html.c: every conversion of html_addf()
 * escapes for its place, injection strings come out inert, bad UTF-8 and
 * control characters become U+FFFD, and money/number/time formats. */
#include <stdio.h>

#include "harness.h"
#include "base/html.h"

static void expect(const char *got_fmt_result, const char *want)
{
	CHECK_STR(got_fmt_result, want);
}

TEST(html_text_escapes_markup)
{
	struct buf b = BUF_INIT;
	html_addf(&b, "<p>%h</p>", "<script>alert('x')</script> & \"q\"");
	expect(b.buf, "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;</p>");
	buf_reset(&b);
	html_addf(&b, "<p>%h%h</p>", NULL, "张三");
	expect(b.buf, "<p>张三</p>");
	buf_release(&b);
}

TEST(html_attribute_cannot_be_left)
{
	struct buf b = BUF_INIT;
	/* the classic breakouts: closing the quote, opening a tag, an event */
	html_addf(&b, "<input value=\"%a\">", "\" onfocus=\"alert(1)\" x=\"");
	expect(b.buf, "<input value=\"&quot; onfocus=&quot;alert(1)&quot; x=&quot;\">");
	buf_reset(&b);
	html_addf(&b, "<a title='%a'>", "' onmouseover='x");
	expect(b.buf, "<a title='&#39; onmouseover=&#39;x'>");
	buf_release(&b);
}

TEST(html_url_component)
{
	struct buf b = BUF_INIT;
	html_addf(&b, "<a href=\"/v/search?q=%u\">", "张 三&x=1\"><script>");
	expect(b.buf, "<a href=\"/v/search?q=%E5%BC%A0%20%E4%B8%89%26x%3D1%22%3E%3Cscript%3E\">");
	buf_reset(&b);
	html_addf(&b, "%u", "javascript:alert(1)");
	expect(b.buf, "javascript%3Aalert%281%29");
	buf_reset(&b);
	html_addf(&b, "%u", "a-b.c_d~E9");
	expect(b.buf, "a-b.c_d~E9");
	buf_release(&b);
}

TEST(html_json_in_attribute)
{
	struct buf b = BUF_INIT;
	html_addf(&b, "<div data-x=\"%j\">", "a\"</div><script>\n");
	expect(b.buf, "<div data-x=\"&quot;a\\&quot;&lt;/div&gt;&lt;script&gt;\\n&quot;\">");
	buf_reset(&b);
	html_addf(&b, "%j", NULL);
	expect(b.buf, "null");
	buf_release(&b);
}

TEST(html_numbers_and_percent)
{
	struct buf b = BUF_INIT;
	html_addf(&b, "%d|%i|%ld|%lld|%zu|100%%", -3, 7, 123456789L, -9000000000LL, (size_t)42);
	expect(b.buf, "-3|7|123456789|-9000000000|42|100%");
	buf_reset(&b);
	html_addf(&b, "no conversions");
	expect(b.buf, "no conversions");
	buf_release(&b);
}

TEST(html_bad_bytes_become_replacement)
{
	struct buf b = BUF_INIT;
	/* a lone continuation byte, an overlong '<' (C0 BC), a surrogate
	 * (ED A0 80), a truncated sequence at the end, and control characters */
	html_text(&b, "a\x80" "b\xc0\xbc" "c\xed\xa0\x80" "d\x01\x7f\te\xe5\xbc");
	expect(b.buf, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		      "d\xef\xbf\xbd\xef\xbf\xbd\te\xef\xbf\xbd\xef\xbf\xbd");
	buf_reset(&b);
	html_text(&b, "\xf0\x9f\x98\x80 𠀀"); /* 4-byte sequences pass */
	expect(b.buf, "\xf0\x9f\x98\x80 𠀀");
	buf_release(&b);
}

TEST(html_raw_is_verbatim)
{
	struct buf b = BUF_INIT;
	html_raw(&b, "<br>");
	html_raw(&b, NULL);
	expect(b.buf, "<br>");
	buf_release(&b);
}

TEST(html_money_and_thousands)
{
	char out[32];
	html_yuan(0, out);
	expect(out, "0.00");
	html_yuan(5, out);
	expect(out, "0.05");
	html_yuan(-5, out);
	expect(out, "-0.05");
	html_yuan(1234567, out);
	expect(out, "12,345.67");
	html_yuan(100000000, out);
	expect(out, "1,000,000.00");
	html_yuan(INT64_MIN, out);
	expect(out, "-92,233,720,368,547,758.08");
	html_thousands(999, out);
	expect(out, "999");
	html_thousands(1000, out);
	expect(out, "1,000");
	html_thousands(-1234567, out);
	expect(out, "-1,234,567");
}

TEST(html_china_time_adds_eight_hours)
{
	char out[17];
	html_china_time("2026-03-04 17:30:05", out);
	expect(out, "2026-03-05 01:30");
	html_china_time("2025-12-31 16:00:00", out);
	expect(out, "2026-01-01 00:00");
	html_china_time("2026-03-05", out);
	expect(out, "2026-03-05");
	html_china_time(NULL, out);
	expect(out, "");
}
