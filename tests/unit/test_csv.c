/* test_csv.c — unit tests for base/csv.c: RFC 4180 parsing, line tracking
 * across embedded newlines, UTF-8/BOM/GB18030 detection and utf8_valid(). */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "base/csv.h"

/* Open `s` (a C string) and check it opened as encoding `enc`. */
static int open_str(struct csv_reader *r, const char *s, size_t len, enum csv_encoding enc)
{
	struct buf err = BUF_INIT;
	int ret = csv_open_mem(r, s, len, &err);
	CHECK_INT(ret, 0);
	CHECK_STR(err.buf, "");
	if (!ret)
		CHECK_INT(r->encoding, enc);
	buf_release(&err);
	return ret;
}

/* Read one row and check it has `n` fields equal to `want`, starting on `line`. */
static void expect_row(struct csv_reader *r, long line, int n, const char *const *want)
{
	struct buf err = BUF_INIT;
	CHECK_INT(csv_read_row(r, &err), 1);
	CHECK_STR(err.buf, "");
	CHECK_INT(r->line, line);
	if (CHECK_INT(r->nr_fields, n))
		for (int i = 0; i < n; i++)
			CHECK_STR(r->fields[i], want[i]);
	buf_release(&err);
}

#define ROW(r, line, ...)                                                                          \
	do {                                                                                       \
		const char *const want_[] = {__VA_ARGS__};                                         \
		expect_row((r), (line), (int)(sizeof(want_) / sizeof(want_[0])), want_);           \
	} while (0)

static void expect_end(struct csv_reader *r)
{
	struct buf err = BUF_INIT;
	CHECK_INT(csv_read_row(r, &err), 0);
	CHECK_INT(r->nr_fields, 0);
	CHECK_STR(err.buf, "");
	/* Still at the end when asked again. */
	CHECK_INT(csv_read_row(r, &err), 0);
	buf_release(&err);
}

/* Read rows until an error; check it is -1 and the message contains `want`. */
static void expect_error(struct csv_reader *r, const char *want)
{
	struct buf err = BUF_INIT;
	int ret;
	while ((ret = csv_read_row(r, &err)) == 1)
		;
	CHECK_INT(ret, -1);
	if (!CHECK(strstr(err.buf, want)))
		printf("    message was: %s\n", err.buf);
	/* The reader stops after an error. */
	CHECK_INT(csv_read_row(r, &err), 0);
	buf_release(&err);
}

TEST(csv_plain_rows)
{
	struct csv_reader r;
	const char *s = "姓名,身份证号,村\n张三,110101199003074514,东村\n李四,,西村\n";
	if (open_str(&r, s, strlen(s), CSV_ENC_UTF8))
		return;
	CHECK_STR(csv_encoding_name(r.encoding), "UTF-8");
	CHECK(csv_progress(&r) == 0.0);
	ROW(&r, 1, "姓名", "身份证号", "村");
	CHECK_INT(r.row_no, 1);
	ROW(&r, 2, "张三", "110101199003074514", "东村");
	CHECK(csv_progress(&r) > 0.0 && csv_progress(&r) < 1.0);
	ROW(&r, 3, "李四", "", "西村");
	CHECK_INT(r.row_no, 3);
	CHECK_INT(r.next_line, 4);
	CHECK(csv_progress(&r) == 1.0);
	expect_end(&r);
	csv_release(&r);
}

TEST(csv_quoted_commas)
{
	struct csv_reader r;
	const char *s = "\"a,b\",c,\"\"\n\"x\",\"y, z\",\",\"\n";
	if (open_str(&r, s, strlen(s), CSV_ENC_UTF8))
		return;
	ROW(&r, 1, "a,b", "c", "");
	ROW(&r, 2, "x", "y, z", ",");
	expect_end(&r);
	csv_release(&r);
}

TEST(csv_doubled_quotes)
{
	struct csv_reader r;
	const char *s = "\"他说\"\"你好\"\"\",\"\"\"\"\n\"\"\"\",b\"c\n";
	if (open_str(&r, s, strlen(s), CSV_ENC_UTF8))
		return;
	ROW(&r, 1, "他说\"你好\"", "\"");
	/* A quote inside an unquoted field is data. */
	ROW(&r, 2, "\"", "b\"c");
	expect_end(&r);
	csv_release(&r);
}

TEST(csv_embedded_newlines)
{
	struct csv_reader r;
	const char *s = "a,\"第一行\n第二行\",b\n"
			"c,\"x\r\ny\r\n\"\r\n"
			"d,\"\n\n\"\n"
			"e,f\n";
	if (open_str(&r, s, strlen(s), CSV_ENC_UTF8))
		return;
	ROW(&r, 1, "a", "第一行\n第二行", "b");
	CHECK_INT(r.next_line, 3);
	ROW(&r, 3, "c", "x\r\ny\r\n");
	CHECK_INT(r.next_line, 6);
	ROW(&r, 6, "d", "\n\n");
	ROW(&r, 9, "e", "f");
	CHECK_INT(r.next_line, 10);
	CHECK_INT(r.row_no, 4);
	expect_end(&r);
	csv_release(&r);
}

TEST(csv_crlf_line_ends)
{
	struct csv_reader r;
	const char *s = "a,b\r\n\"c\",\"d\"\r\n\r\ne,f\r\n";
	if (open_str(&r, s, strlen(s), CSV_ENC_UTF8))
		return;
	ROW(&r, 1, "a", "b");
	ROW(&r, 2, "c", "d");
	ROW(&r, 3, "");
	ROW(&r, 4, "e", "f");
	expect_end(&r);
	csv_release(&r);
}

TEST(csv_lone_cr_is_data)
{
	struct csv_reader r;
	const char *s = "a\rb,c\n\"q\"\r";
	if (open_str(&r, s, strlen(s), CSV_ENC_UTF8))
		return;
	ROW(&r, 1, "a\rb", "c");
	/* A CR at the very end is a cut-off CRLF. */
	ROW(&r, 2, "q");
	expect_end(&r);
	csv_release(&r);
}

TEST(csv_utf8_bom)
{
	struct csv_reader r;
	const char *s = "\xef\xbb\xbf姓名,年龄\n王五,30\n";
	if (open_str(&r, s, strlen(s), CSV_ENC_UTF8_BOM))
		return;
	CHECK_STR(csv_encoding_name(r.encoding), "UTF-8 (BOM)");
	CHECK_INT(r.text.len, strlen(s) - 3);
	ROW(&r, 1, "姓名", "年龄");
	ROW(&r, 2, "王五", "30");
	expect_end(&r);
	csv_release(&r);
}

TEST(csv_bom_only)
{
	struct csv_reader r;
	if (open_str(&r, "\xef\xbb\xbf", 3, CSV_ENC_UTF8_BOM))
		return;
	expect_end(&r);
	csv_release(&r);
}

TEST(csv_bom_then_invalid)
{
	struct csv_reader r;
	struct buf err = BUF_INIT;
	const char *s = "\xef\xbb\xbf"
			"a\nb\xd0\xd5\n";
	CHECK_INT(csv_open_mem(&r, s, strlen(s), &err), -1);
	CHECK(strstr(err.buf, "第 2 行（字节 6）"));
	CHECK_INT(r.text.len, 0);
	csv_release(&r);
	buf_release(&err);
}

TEST(csv_gb18030)
{
	struct csv_reader r;
	/* "姓名,地址\n张三,㐀村😀\n" in GB18030; 㐀 and 😀 are 4-byte sequences. */
	const char *s = "\xd0\xd5\xc3\xfb,\xb5\xd8\xd6\xb7\r\n"
			"\xd5\xc5\xc8\xfd,\x81\x39\xee\x39\xb4\xe5\x94\x39\xfc\x36\r\n";
	if (open_str(&r, s, strlen(s), CSV_ENC_GB18030))
		return;
	CHECK_STR(csv_encoding_name(r.encoding), "GB18030");
	CHECK(utf8_valid(r.text.buf, r.text.len));
	ROW(&r, 1, "姓名", "地址");
	ROW(&r, 2, "张三", "㐀村😀");
	expect_end(&r);
	csv_release(&r);
}

TEST(csv_invalid_encoding)
{
	struct csv_reader r;
	struct buf err = BUF_INIT;
	/* 0xFF is neither UTF-8 nor GB18030; the GBK before it is fine. */
	const char *s = "a,b\n\xd0\xd5\xc3\xfb\nxy\xff\n";
	CHECK_INT(csv_open_mem(&r, s, strlen(s), &err), -1);
	if (!CHECK(strstr(err.buf, "第 3 行（字节 11）既不是 UTF-8 也不是 GB18030")))
		printf("    message was: %s\n", err.buf);
	CHECK_INT(csv_read_row(&r, &err), 0);
	csv_release(&r);

	/* UTF-8 further than GB18030 gets: a UTF-8 file with a bad byte,
	 * named where UTF-8 stops ("的" is E7 9A 84, and 84 0A is no GBK). */
	buf_reset(&err);
	s = "a,b\n\xe7\x9a\x84\nxy\xff\n";
	CHECK_INT(csv_open_mem(&r, s, strlen(s), &err), -1);
	if (!CHECK(strstr(err.buf, "文件是 UTF-8 编码，但第 3 行（字节 10）不是有效的 UTF-8")))
		printf("    message was: %s\n", err.buf);
	csv_release(&r);

	/* A lead byte with a bad trail byte. */
	buf_reset(&err);
	CHECK_INT(csv_open_mem(&r, "\x81\x20", 2, &err), -1);
	CHECK(strstr(err.buf, "第 1 行（字节 0）"));
	csv_release(&r);

	/* A GBK character cut off at the end. */
	buf_reset(&err);
	CHECK_INT(csv_open_mem(&r, "ab\n\xd0\xd5\xd0", 6, &err), -1);
	CHECK(strstr(err.buf, "第 2 行（字节 5）"));
	csv_release(&r);

	/* UTF-16 gets its own advice. */
	buf_reset(&err);
	CHECK_INT(csv_open_mem(&r, "\xff\xfe\x61\x00", 4, &err), -1);
	CHECK(strstr(err.buf, "UTF-16"));
	csv_release(&r);
	buf_release(&err);
}

TEST(csv_ragged_rows)
{
	struct csv_reader r;
	const char *s = "a,b,c\nd\ne,f,g,h,\n,\n";
	if (open_str(&r, s, strlen(s), CSV_ENC_UTF8))
		return;
	ROW(&r, 1, "a", "b", "c");
	ROW(&r, 2, "d");
	ROW(&r, 3, "e", "f", "g", "h", "");
	ROW(&r, 4, "", "");
	expect_end(&r);
	csv_release(&r);
}

TEST(csv_empty_lines)
{
	struct csv_reader r;
	const char *s = "\na\n\n\nb\n";
	if (open_str(&r, s, strlen(s), CSV_ENC_UTF8))
		return;
	ROW(&r, 1, "");
	ROW(&r, 2, "a");
	ROW(&r, 3, "");
	ROW(&r, 4, "");
	ROW(&r, 5, "b");
	expect_end(&r);
	csv_release(&r);
}

TEST(csv_empty_input)
{
	struct csv_reader r;
	if (open_str(&r, "", 0, CSV_ENC_UTF8))
		return;
	CHECK(csv_progress(&r) == 1.0);
	expect_end(&r);
	csv_release(&r);
	if (open_str(&r, NULL, 0, CSV_ENC_UTF8))
		return;
	expect_end(&r);
	csv_release(&r);
}

TEST(csv_no_trailing_newline)
{
	struct csv_reader r;
	const char *s = "a,b\nc,\"d\"";
	if (open_str(&r, s, strlen(s), CSV_ENC_UTF8))
		return;
	ROW(&r, 1, "a", "b");
	ROW(&r, 2, "c", "d");
	expect_end(&r);
	csv_release(&r);

	if (open_str(&r, "x,", 2, CSV_ENC_UTF8))
		return;
	ROW(&r, 1, "x", "");
	expect_end(&r);
	csv_release(&r);
}

TEST(csv_unterminated_quote)
{
	struct csv_reader r;
	const char *s = "a,b\nc,d\n\"e\n\nf,g\n";
	if (open_str(&r, s, strlen(s), CSV_ENC_UTF8))
		return;
	expect_error(&r, "第 3 行：引号未闭合");
	csv_release(&r);

	/* A doubled quote right at the end does not close the field. */
	if (open_str(&r, "\"abc\"\"", 6, CSV_ENC_UTF8))
		return;
	expect_error(&r, "第 1 行：引号未闭合");
	csv_release(&r);
}

TEST(csv_garbage_after_quote)
{
	struct csv_reader r;
	const char *s = "a\n\"x\ny\",\"z\"w,v\n";
	if (open_str(&r, s, strlen(s), CSV_ENC_UTF8))
		return;
	ROW(&r, 1, "a");
	expect_error(&r, "第 2 行第 2 个字段：结束引号后面还有其他字符");
	csv_release(&r);

	if (open_str(&r, "\"x\" ,y", 6, CSV_ENC_UTF8))
		return;
	expect_error(&r, "第 1 行第 1 个字段");
	csv_release(&r);

	if (open_str(&r, "\"x\"\ry\n", 6, CSV_ENC_UTF8))
		return;
	expect_error(&r, "第 1 行第 1 个字段");
	csv_release(&r);
}

TEST(csv_long_row)
{
	struct csv_reader r;
	struct buf s = BUF_INIT, want = BUF_INIT;
	/* Enough fields and bytes to make the row and field arrays grow. */
	for (int i = 0; i < 1000; i++) {
		buf_addf(&s, i % 2 ? "%s\"f%d\"\"x\"" : "%sfield-%d", i ? "," : "", i);
	}
	buf_addstr(&s, "\nlast\n");
	if (open_str(&r, s.buf, s.len, CSV_ENC_UTF8))
		goto out;
	CHECK_INT(csv_read_row(&r, &want), 1);
	if (CHECK_INT(r.nr_fields, 1000)) {
		for (int i = 0; i < 1000; i++) {
			buf_reset(&want);
			buf_addf(&want, i % 2 ? "f%d\"x" : "field-%d", i);
			CHECK_STR(r.fields[i], want.buf);
		}
	}
	ROW(&r, 2, "last");
	expect_end(&r);
	csv_release(&r);
out:
	buf_release(&s);
	buf_release(&want);
}

TEST(csv_read_files)
{
	struct csv_reader r;
	struct buf err = BUF_INIT, path = BUF_INIT;
	FILE *f;

	buf_addf(&path, "%s/missing.csv", unit_tmpdir());
	CHECK_INT(csv_open_file(&r, path.buf, &err), -1);
	CHECK(strstr(err.buf, "无法读取文件 '"));
	CHECK(strstr(err.buf, "missing.csv'：No such file"));
	csv_release(&r);

	buf_reset(&err);
	buf_reset(&path);
	buf_addf(&path, "%s/gbk.csv", unit_tmpdir());
	f = fopen(path.buf, "wb");
	if (!CHECK(f))
		goto out;
	fputs("\xd0\xd5\xc3\xfb\r\n\"\xd5\xc5\r\n\xc8\xfd\"\r\n", f);
	fclose(f);
	CHECK_INT(csv_open_file(&r, path.buf, &err), 0);
	CHECK_STR(err.buf, "");
	CHECK_INT(r.encoding, CSV_ENC_GB18030);
	ROW(&r, 1, "姓名");
	ROW(&r, 2, "张\r\n三");
	expect_end(&r);
	csv_release(&r);
out:
	buf_release(&err);
	buf_release(&path);
}

TEST(csv_utf8_valid)
{
	CHECK(utf8_valid("", 0));
	CHECK(utf8_valid("plain ascii, long enough for the 16-byte path", 46));
	CHECK(utf8_valid("中文", 6));
	CHECK(utf8_valid("\xc2\x80", 2));	  /* U+0080 */
	CHECK(utf8_valid("\xdf\xbf", 2));	  /* U+07FF */
	CHECK(utf8_valid("\xe0\xa0\x80", 3));	  /* U+0800 */
	CHECK(utf8_valid("\xed\x9f\xbf", 3));	  /* U+D7FF */
	CHECK(utf8_valid("\xee\x80\x80", 3));	  /* U+E000 */
	CHECK(utf8_valid("\xef\xbf\xbf", 3));	  /* U+FFFF */
	CHECK(utf8_valid("\xf0\x90\x80\x80", 4)); /* U+10000 */
	CHECK(utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
	CHECK(utf8_valid("a\0b", 3));		  /* NUL is valid UTF-8 */

	CHECK(!utf8_valid("\xc0\x80", 2));	   /* overlong NUL */
	CHECK(!utf8_valid("\xc1\xbf", 2));	   /* overlong */
	CHECK(!utf8_valid("\xe0\x80\x80", 3));	   /* overlong 3-byte */
	CHECK(!utf8_valid("\xe0\x9f\xbf", 3));	   /* overlong 3-byte */
	CHECK(!utf8_valid("\xf0\x8f\xbf\xbf", 4)); /* overlong 4-byte */
	CHECK(!utf8_valid("\xed\xa0\x80", 3));	   /* surrogate U+D800 */
	CHECK(!utf8_valid("\xed\xbf\xbf", 3));	   /* surrogate U+DFFF */
	CHECK(!utf8_valid("\xf4\x90\x80\x80", 4)); /* U+110000 */
	CHECK(!utf8_valid("\xf5\x80\x80\x80", 4));
	CHECK(!utf8_valid("\xff", 1));
	CHECK(!utf8_valid("\x80", 1));		   /* stray continuation */
	CHECK(!utf8_valid("\xe4\xb8", 2));	   /* truncated 中 */
	CHECK(!utf8_valid("\xe4\xb8\xad\xe4", 4)); /* truncated at the end */
	CHECK(!utf8_valid("\xe4\x41\xad", 3));	   /* bad continuation */
	CHECK(!utf8_valid("\xf0\x90\x80", 3));	   /* truncated 4-byte */
	CHECK(!utf8_valid("\xc2", 1));
	/* An error after a long ASCII run, and right at a 16-byte boundary. */
	CHECK(!utf8_valid("0123456789abcdef0123456789abcdef\xc0\x80", 34));
	CHECK(!utf8_valid("0123456789abcde\xff", 16));
	CHECK(utf8_valid("0123456789abcdef0123456789abcdef\xe4\xb8\xad", 35));
}

/* utf8_cut() gives a "%.*s" precision that never splits a character. */
TEST(csv_utf8_cut)
{
	CHECK_INT(utf8_cut("abc", 40), 3);
	CHECK_INT(utf8_cut("abc", 2), 2);
	CHECK_INT(utf8_cut("abc", 0), 0);
	CHECK_INT(utf8_cut("", 5), 0);
	CHECK_INT(utf8_cut("张三", 6), 6);
	CHECK_INT(utf8_cut("张三", 7), 6);
	CHECK_INT(utf8_cut("张三", 5), 3);
	CHECK_INT(utf8_cut("张三", 4), 3);
	CHECK_INT(utf8_cut("张三", 3), 3);
	CHECK_INT(utf8_cut("张三", 2), 0);
	CHECK_INT(utf8_cut("a张", 2), 1);
	CHECK_INT(utf8_cut("a\xf0\x9f\x98\x80z", 4), 1);
	CHECK_INT(utf8_cut("a\xf0\x9f\x98\x80z", 5), 5);
}

TEST(utf8_scrub_replaces_broken_characters)
{
	char out[32];
	utf8_scrub("near '\"\xe5\xb0\xb1\xe4\xb8\x9a\\\xe5'", out, sizeof(out));
	CHECK_STR(out, "near '\"\xe5\xb0\xb1\xe4\xb8\x9a\\?'");
	utf8_scrub("ok \xff\xfe end", out, sizeof(out));
	CHECK_STR(out, "ok ?? end");
	/* a character that does not fit is left out whole */
	utf8_scrub("ab\xe5\xb0\xb1", out, 4);
	CHECK_STR(out, "ab");
	CHECK(utf8_valid(out, strlen(out)));
}

TEST(csv_view_reads_utf8_in_place)
{
	/* valid UTF-8 (with or without BOM) is read where it is; GB18030 and
	 * bad input go through csv_open_mem (converted, or refused) */
	static const char plain[] = "身份证号,姓名\n1,张三\n";
	static const char bom[] = "\xEF\xBB\xBF" "a,b\n";
	static const char gb[] = "\xD5\xC5\xC8\xFD,1\n"; /* 张三 in GB18030 */
	struct csv_reader r;
	struct buf err = BUF_INIT;
	CHECK_INT(csv_open_view(&r, plain, sizeof(plain) - 1, &err), 0);
	CHECK(r.text.buf == plain);
	CHECK_INT(r.encoding, CSV_ENC_UTF8);
	ROW(&r, 1, "身份证号", "姓名");
	ROW(&r, 2, "1", "张三");
	expect_end(&r);
	csv_release(&r);
	CHECK_INT(csv_open_view(&r, bom, sizeof(bom) - 1, &err), 0);
	CHECK(r.text.buf == bom + 3);
	CHECK_INT(r.encoding, CSV_ENC_UTF8_BOM);
	ROW(&r, 1, "a", "b");
	csv_release(&r);
	CHECK_INT(csv_open_view(&r, gb, sizeof(gb) - 1, &err), 0);
	CHECK_INT(r.encoding, CSV_ENC_GB18030);
	ROW(&r, 1, "张三", "1");
	csv_release(&r);
	CHECK_INT(csv_open_view(&r, "\xff\xfe" "a", 3, &err), -1);
	CHECK(err.len > 0);
	buf_release(&err);
}

TEST(csv_view_checks_a_large_input_in_two_halves)
{
	/* over 16 MB the check runs in two halves that start on a character:
	 * 3-byte characters put the middle inside one */
	size_t n = (17u << 20) / 3 * 3;
	char *s = xmalloc(n + 1);
	struct csv_reader r;
	struct buf err = BUF_INIT;
	for (size_t i = 0; i < n; i += 3)
		memcpy(s + i, "\xe5\xbc\xa0", 3); /* 张 */
	CHECK_INT(csv_open_view(&r, s, n, &err), 0);
	CHECK(r.text.buf == s);
	csv_release(&r);
	s[n - 2] = '\xff'; /* the second half is bad */
	CHECK_INT(csv_open_view(&r, s, n, &err), -1);
	csv_release(&r);
	s[n - 2] = '\xbc';
	s[4] = '\xff'; /* the first half is bad */
	CHECK_INT(csv_open_view(&r, s, n, &err), -1);
	csv_release(&r);
	buf_release(&err);
	free(s);
}
