/* jw.c — streaming JSON writer (see jw.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/jw.h"

void jw_init(struct jw *w, struct buf *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->first[0] = 1;
}

/* Write the separator a new value needs at the current depth. */
static void sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (!w->first[w->depth])
		buf_addch(w->out, ',');
	w->first[w->depth] = 0;
}

static void open_value(struct jw *w, int c)
{
	sep(w);
	buf_addch(w->out, c);
	if (w->depth + 1 >= JW_MAX_DEPTH)
		die("JSON nested too deeply");
	w->first[++w->depth] = 1;
}

void jw_object(struct jw *w)
{
	open_value(w, '{');
}

void jw_object_end(struct jw *w)
{
	w->depth--;
	buf_addch(w->out, '}');
}

void jw_array(struct jw *w)
{
	open_value(w, '[');
}

void jw_array_end(struct jw *w)
{
	w->depth--;
	buf_addch(w->out, ']');
}

/* Length of the valid UTF-8 sequence at s, or 0 if invalid. */
static int utf8_seq(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* 1 if byte c may be copied into a JSON string as it is (printable ASCII
 * other than the quote and the backslash). */
static int plain_ascii(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

void jw_escape(struct buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);
	char *o;
	/* fast path: room for the string and its quotes is made once, and
	 * bytes that need no escaping (printable ASCII, valid UTF-8) are copied
	 * until the end or the first byte that needs care */
	if (n + 2 >= b->alloc - b->len)
		buf_grow(b, n + 2);
	o = b->buf + b->len;
	*o++ = '"';
	for (;;) {
		if (plain_ascii(*s)) {
			*o++ = (char)*s++;
		} else if (*s >= 0x80) {
			int k = utf8_seq(s);
			if (!k)
				break;
			memcpy(o, s, k);
			o += k;
			s += k;
		} else {
			break;
		}
	}
	if (!*s) {
		*o++ = '"';
		*o = '\0';
		b->len = o - b->buf;
		return;
	}
	*o = '\0';
	b->len = o - b->buf;
	/* slow path, from the first byte that needs escaping */
	while (*s) {
		const unsigned char *run = s;
		for (;;) {
			if (plain_ascii(*s)) {
				s++;
			} else if (*s >= 0x80) {
				int k = utf8_seq(s);
				if (!k)
					break;
				s += k;
			} else {
				break;
			}
		}
		if (s > run)
			buf_add(b, run, s - run);
		if (!*s)
			break;
		if (*s < 0x20) {
			switch (*s) {
			case '\n': buf_addstr(b, "\\n"); break;
			case '\r': buf_addstr(b, "\\r"); break;
			case '\t': buf_addstr(b, "\\t"); break;
			default: buf_addf(b, "\\u%04x", *s);
			}
			s++;
		} else if (*s == '"' || *s == '\\') {
			buf_addch(b, '\\');
			buf_addch(b, *s++);
		} else {
			/* an invalid UTF-8 byte */
			buf_addstr(b, "\xef\xbf\xbd");
			s++;
		}
	}
	buf_addch(b, '"');
}

void jw_key(struct jw *w, const char *key)
{
	size_t n = strlen(key), i = 0;
	struct buf *b = w->out;
	sep(w);
	/* keys are short ASCII names: written in one go when nothing in them
	 * needs escaping */
	while (i < n && plain_ascii((unsigned char)key[i]))
		i++;
	if (i == n) {
		if (n + 3 >= b->alloc - b->len)
			buf_grow(b, n + 3);
		b->buf[b->len] = '"';
		memcpy(b->buf + b->len + 1, key, n);
		memcpy(b->buf + b->len + 1 + n, "\":", 3); /* with the NUL */
		b->len += n + 3;
	} else {
		jw_escape(b, key);
		buf_addch(b, ':');
	}
	w->after_key = 1;
}

void jw_str(struct jw *w, const char *s)
{
	sep(w);
	if (s)
		jw_escape(w->out, s);
	else
		buf_addstr(w->out, "null");
}

void jw_int(struct jw *w, int64_t v)
{
	char d[24], *p = d + sizeof(d);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	sep(w);
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	buf_add(w->out, p, d + sizeof(d) - p);
}

void jw_bool(struct jw *w, int v)
{
	sep(w);
	buf_addstr(w->out, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
	sep(w);
	buf_addstr(w->out, "null");
}

void jw_raw(struct jw *w, const char *json)
{
	sep(w);
	buf_addstr(w->out, json);
}

void jw_kstr(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_str(w, s);
}

void jw_kint(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_int(w, v);
}

void jw_kbool(struct jw *w, const char *key, int v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

void jw_knull(struct jw *w, const char *key)
{
	jw_key(w, key);
	jw_null(w);
}
