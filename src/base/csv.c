/* csv.c — RFC 4180 CSV reader with UTF-8 / GB18030 detection (see csv.h).
 *
 * The whole input is held in memory as UTF-8 (r->text).  Rows are cut with
 * memchr(), which the C library vectorises: a row whose first physical line
 * holds no '"' (nearly every row of a real file) is copied into r->row in one
 * go and split at its commas in place; only rows with a quote on their first
 * line take the field-by-field path, which also handles quoted fields that
 * run over several lines.
 *
 * Line ends are LF or CRLF; a CR just before the LF (or at the very end of
 * the input) belongs to the line end, any other CR is data.  A quote opens a
 * quoted field only as the first character of a field; elsewhere in an
 * unquoted field it is kept as data.  After csv_read_row() returns -1 the
 * reader is left at the end of the input, so later calls return 0. */
#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"

/*
 * Return the length of the longest valid UTF-8 prefix of `s`, i.e. the offset
 * of the first byte of the first invalid (or truncated) sequence, or `len` if
 * all of `s` is valid.  Valid means the shortest form (no C0/C1 leads, no E0
 * 80..9F, no F0 80..8F), no UTF-16 surrogates (ED A0..BF) and nothing above
 * U+10FFFF (F4 90.. and F5..FF).  Runs of ASCII are skipped 16 bytes at a time.
 */
static size_t utf8_prefix(const unsigned char *s, size_t len)
{
	const uint64_t high = 0x8080808080808080ULL;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		if (c < 0x80) {
			while (i + 16 <= len) {
				uint64_t a, b;
				memcpy(&a, s + i, 8);
				memcpy(&b, s + i + 8, 8);
				if ((a | b) & high)
					break;
				i += 16;
			}
			while (i < len && s[i] < 0x80)
				i++;
			continue;
		}
		if (c < 0xC2) /* stray continuation byte, or overlong C0/C1 lead */
			return i;
		if (c < 0xE0) {
			if (len - i < 2 || (s[i + 1] & 0xC0) != 0x80)
				return i;
			i += 2;
		} else if (c < 0xF0) {
			unsigned lo = c == 0xE0 ? 0xA0 : 0x80; /* E0 80..9F is overlong */
			unsigned hi = c == 0xED ? 0x9F : 0xBF; /* ED A0..BF are surrogates */
			if (len - i < 3 || s[i + 1] < lo || s[i + 1] > hi ||
			    (s[i + 2] & 0xC0) != 0x80)
				return i;
			i += 3;
		} else if (c < 0xF5) {
			unsigned lo = c == 0xF0 ? 0x90 : 0x80; /* F0 80..8F is overlong */
			unsigned hi = c == 0xF4 ? 0x8F : 0xBF; /* F4 90.. is above U+10FFFF */
			if (len - i < 4 || s[i + 1] < lo || s[i + 1] > hi ||
			    (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
				return i;
			i += 4;
		} else {
			return i;
		}
	}
	return len;
}

int utf8_valid(const char *s, size_t len)
{
	return utf8_prefix((const unsigned char *)s, len) == len;
}

int utf8_cut(const char *s, int max)
{
	int n = max > 0 ? (int)strnlen(s, (size_t)max) : 0;
	if (n < max)
		return n; /* all of it fits */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

void utf8_scrub(const char *in, char *out, size_t size)
{
	size_t o = 0, len = strlen(in), i = 0;
	if (!size)
		return;
	while (i < len && o + 1 < size) {
		size_t k = 1;
		unsigned char c = (unsigned char)in[i];
		if (c >= 0xF0)
			k = 4;
		else if (c >= 0xE0)
			k = 3;
		else if (c >= 0xC0)
			k = 2;
		if (i + k <= len && utf8_valid(in + i, k)) {
			if (o + k >= size)
				break;
			memcpy(out + o, in + i, k);
			o += k;
			i += k;
		} else {
			out[o++] = '?';
			i++;
		}
	}
	out[o] = '\0';
}

/* Number of LF bytes in [p, end). */
static long count_lf(const char *p, const char *end)
{
	long n = 0;
	while (p < end && (p = memchr(p, '\n', end - p))) {
		n++;
		p++;
	}
	return n;
}

/* Physical line (1-based) holding byte `off` of `data`. */
static long line_of(const char *data, size_t off)
{
	return 1 + count_lf(data, data + off);
}

/*
 * Append `len` bytes at `data`, converted from GB18030 to UTF-8, to `out`.
 * Returns 0, or -1 with the offset of the first byte iconv could not convert
 * (an invalid or truncated sequence) in *bad; *bad is (size_t)-1 when iconv
 * itself is unavailable.
 */
static int gb18030_to_utf8(struct buf *out, const char *data, size_t len, size_t *bad)
{
	iconv_t cd = iconv_open("UTF-8", "GB18030");
	char *in = (char *)data; /* iconv() does not write through it */
	size_t in_left = len;
	int ret = 0;

	if (cd == (iconv_t)-1) {
		*bad = (size_t)-1;
		return -1;
	}
	/* ASCII stays 1 byte, 2-byte GB becomes at most 3, 4-byte at most 4. */
	buf_grow(out, len + len / 2 + 16);
	for (;;) {
		char *o = out->buf + out->len;
		size_t o_left = out->alloc - out->len - 1;
		size_t n = iconv(cd, &in, &in_left, &o, &o_left);
		out->len = o - out->buf;
		if (n != (size_t)-1)
			break;
		if (errno == E2BIG) {
			buf_grow(out, in_left * 2 + 16);
			continue;
		}
		*bad = in - data; /* EILSEQ or EINVAL (truncated at the end) */
		ret = -1;
		break;
	}
	out->buf[out->len] = '\0';
	iconv_close(cd);
	return ret;
}

static void reader_init(struct csv_reader *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->text, 0);
	buf_init(&r->row, 0);
	r->encoding = CSV_ENC_UTF8;
	r->next_line = 1;
}

/*
 * Set up `r` over the whole input in `in`, which this takes over (`in` is
 * left empty either way): valid UTF-8 becomes r->text as it is, minus any
 * BOM; anything else is converted from GB18030.
 */
static int open_buf(struct csv_reader *r, struct buf *in, struct buf *err)
{
	const unsigned char *u = (const unsigned char *)in->buf;
	size_t bad;

	reader_init(r);
	if (in->len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
		bad = 3 + utf8_prefix(u + 3, in->len - 3);
		if (bad != in->len) {
			buf_addf(err,
				 "文件编码有误：文件以 UTF-8 BOM 开头，但第 %ld 行（字节 %zu）"
				 "不是有效的 UTF-8，请重新另存为 UTF-8 编码的 CSV",
				 line_of(in->buf, bad), bad);
			goto fail;
		}
		memmove(in->buf, in->buf + 3, in->len - 3);
		buf_setlen(in, in->len - 3);
		r->encoding = CSV_ENC_UTF8_BOM;
		r->text = *in;
		buf_init(in, 0);
		return 0;
	}
	if (utf8_valid(in->buf, in->len)) {
		r->encoding = CSV_ENC_UTF8;
		r->text = *in;
		buf_init(in, 0);
		return 0;
	}
	if (in->len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF))) {
		buf_addstr(err, "文件编码是 UTF-16（Excel 的“Unicode 文本”），无法导入："
				"请另存为“CSV UTF-8（逗号分隔）”或 GBK 编码的 CSV");
		goto fail;
	}
	if (gb18030_to_utf8(&r->text, in->buf, in->len, &bad) < 0) {
		size_t u8 = utf8_prefix(u, in->len);
		if (bad == (size_t)-1)
			buf_addf(err, "无法转换 GB18030 编码：%s", strerror(errno));
		else if (u8 > bad)
			/* UTF-8 further than GB18030: a UTF-8 file with a bad byte */
			buf_addf(err,
				 "文件编码有误：文件是 UTF-8 编码，但第 %ld 行（字节 %zu）不是有效的 "
				 "UTF-8，请改正该处或重新另存为 UTF-8 编码的 CSV",
				 line_of(in->buf, u8), u8);
		else
			buf_addf(err,
				 "文件编码无法识别：第 %ld 行（字节 %zu）既不是 UTF-8 也不是 "
				 "GB18030，请另存为 UTF-8 或 GBK 编码的 CSV",
				 line_of(in->buf, bad), bad);
		goto fail;
	}
	r->encoding = CSV_ENC_GB18030;
	buf_release(in);
	return 0;
fail:
	buf_release(in);
	csv_release(r);
	return -1;
}

int csv_open_mem(struct csv_reader *r, const char *data, size_t len, struct buf *err)
{
	struct buf in = BUF_INIT;
	if (len)
		buf_add(&in, data, len);
	return open_buf(r, &in, err);
}

struct utf8_half {
	const char *s;
	size_t len;
	int ok;
};

static void *utf8_half_run(void *arg)
{
	struct utf8_half *h = arg;
	h->ok = utf8_valid(h->s, h->len);
	return NULL;
}

/* utf8_valid() of a large input in two threads, each half starting at a
 * character's first byte (a valid whole is two valid halves and back). */
static int utf8_valid_big(const char *s, size_t len)
{
	struct utf8_half h;
	pthread_t th;
	size_t mid = len / 2;
	int ok;
	if (len < (16u << 20))
		return utf8_valid(s, len);
	while (mid < len && ((unsigned char)s[mid] & 0xC0) == 0x80)
		mid++;
	h = (struct utf8_half){ s + mid, len - mid, 0 };
	if (pthread_create(&th, NULL, utf8_half_run, &h))
		return utf8_valid(s, len);
	ok = utf8_valid(s, mid);
	pthread_join(th, NULL);
	return ok && h.ok;
}

int csv_open_view(struct csv_reader *r, const char *data, size_t len, struct buf *err)
{
	const unsigned char *u = (const unsigned char *)data;
	size_t skip = len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF ? 3 : 0;
	if (!utf8_valid_big(data + skip, len - skip))
		return csv_open_mem(r, data, len, err); /* errors, GB18030: as ever */
	reader_init(r);
	r->encoding = skip ? CSV_ENC_UTF8_BOM : CSV_ENC_UTF8;
	r->text.buf = (char *)data + skip; /* never written through */
	r->text.len = len - skip;
	r->text.alloc = 0;                 /* so csv_release leaves it */
	return 0;
}

int csv_open_file(struct csv_reader *r, const char *path, struct buf *err)
{
	struct buf in = BUF_INIT;
	if (buf_read_file(&in, path) < 0) {
		buf_addf(err, "无法读取文件 '%s'：%s", path, strerror(errno));
		buf_release(&in);
		reader_init(r);
		return -1;
	}
	return open_buf(r, &in, err);
}

/* Start a new field at r->row.len. */
static inline void add_offset(struct csv_reader *r, size_t off)
{
	ALLOC_GROW(r->offsets, r->nr_fields + 1, r->alloc_offsets);
	r->offsets[r->nr_fields++] = off;
}

/*
 * The fast path: the row is the single physical line [p, eol) and holds no
 * quote.  Copy it (without a CR line end) and cut it at its commas in place.
 */
static void split_line(struct csv_reader *r, const char *p, const char *eol)
{
	size_t n = eol - p;
	char *s, *e, *c;

	if (n && p[n - 1] == '\r')
		n--;
	buf_add(&r->row, p, n);
	add_offset(r, 0);
	s = r->row.buf;
	e = s + n;
	while ((c = memchr(s, ',', e - s))) {
		*c = '\0';
		s = c + 1;
		add_offset(r, s - r->row.buf);
	}
}

/*
 * The general path: read the row starting at `p`, whose first physical line
 * ends at `eol` (its LF, or `end`), field by field.  Returns a pointer to the
 * row's line end (LF or `end`), or NULL with a message in `err`.
 */
static const char *read_quoted_row(struct csv_reader *r, const char *p, const char *eol,
				   struct buf *err)
{
	const char *end = r->text.buf + r->text.len;

	for (;;) {
		add_offset(r, r->row.len);
		if (p < end && *p == '"') {
			for (p++;;) {
				const char *q = memchr(p, '"', end - p);
				if (!q) {
					buf_addf(
					    err,
					    "第 %ld 行：引号未闭合，请检查这一行的双引号是否成对",
					    r->line);
					return NULL;
				}
				buf_add(&r->row, p, q - p);
				r->next_line += count_lf(p, q);
				if (q + 1 < end && q[1] == '"') {
					buf_addch(&r->row, '"');
					p = q + 2;
					continue;
				}
				p = q + 1;
				break;
			}
			if (eol < p) {
				eol = memchr(p, '\n', end - p);
				if (!eol)
					eol = end;
			}
			if (p == eol)
				return eol;
			if (*p == '\r' && p + 1 == eol)
				return eol;
			if (*p != ',') {
				buf_addf(err,
					 "第 %ld 行第 %d 个字段：结束引号后面还有其他字符，"
					 "字段中的双引号要写成两个（\"\"）",
					 r->line, r->nr_fields);
				return NULL;
			}
			p++;
			buf_addch(&r->row, '\0');
		} else {
			const char *c = memchr(p, ',', eol - p);
			size_t n;
			if (c) {
				buf_add(&r->row, p, c - p);
				buf_addch(&r->row, '\0');
				p = c + 1;
				continue;
			}
			n = eol - p;
			if (n && p[n - 1] == '\r')
				n--;
			buf_add(&r->row, p, n);
			return eol;
		}
	}
}

int csv_read_row(struct csv_reader *r, struct buf *err)
{
	const char *p = r->text.buf + r->pos, *end = r->text.buf + r->text.len;
	const char *eol;

	r->nr_fields = 0;
	if (p >= end)
		return 0;
	r->line = r->next_line;
	r->row_no++;
	buf_reset(&r->row);
	eol = memchr(p, '\n', end - p);
	if (!eol)
		eol = end;
	if (!memchr(p, '"', eol - p)) {
		split_line(r, p, eol);
	} else if (!(eol = read_quoted_row(r, p, eol, err))) {
		r->nr_fields = 0;
		r->pos = r->text.len;
		return -1;
	}
	if (eol < end) {
		eol++;
		r->next_line++;
	}
	r->pos = eol - r->text.buf;

	ALLOC_GROW(r->fields, r->nr_fields, r->alloc_fields);
	for (int i = 0; i < r->nr_fields; i++)
		r->fields[i] = r->row.buf + r->offsets[i];
	return 1;
}

double csv_progress(const struct csv_reader *r)
{
	if (!r->text.len)
		return 1.0;
	return (double)r->pos / (double)r->text.len;
}

void csv_release(struct csv_reader *r)
{
	buf_release(&r->text);
	buf_release(&r->row);
	free(r->offsets);
	free(r->fields);
	reader_init(r);
}

const char *csv_encoding_name(enum csv_encoding e)
{
	switch (e) {
	case CSV_ENC_UTF8:
		return "UTF-8";
	case CSV_ENC_UTF8_BOM:
		return "UTF-8 (BOM)";
	case CSV_ENC_GB18030:
		return "GB18030";
	}
	return "?";
}
