/* html.c — the escaping printf for HTML (see html.h) and the number, money
 * and time formats every page shows. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/html.h"
#include "base/jw.h"
#include "base/util.h"

/* Length of the well-formed UTF-8 sequence at `p` (1..4), or 0 when the
 * bytes there are not one (overlong forms, surrogates and values above
 * U+10FFFF are refused as RFC 3629 says). */
static int utf8_seq(const unsigned char *p)
{
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

void html_text(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	if (!p)
		return;
	while (*p) {
		int n;
		switch (*p) {
		case '&': buf_addstr(b, "&amp;"); p++; continue;
		case '<': buf_addstr(b, "&lt;"); p++; continue;
		case '>': buf_addstr(b, "&gt;"); p++; continue;
		case '"': buf_addstr(b, "&quot;"); p++; continue;
		case '\'': buf_addstr(b, "&#39;"); p++; continue;
		case '\n': case '\t': case '\r': buf_addch(b, *p); p++; continue;
		}
		n = utf8_seq(p);
		if (!n || *p < 0x20 || *p == 0x7f) {
			buf_addstr(b, "\xef\xbf\xbd"); /* U+FFFD */
			p++;
			continue;
		}
		buf_add(b, p, n);
		p += n;
	}
}

void html_url(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			buf_addch(b, *p);
		} else {
			buf_addch(b, '%');
			buf_addch(b, hex[*p >> 4]);
			buf_addch(b, hex[*p & 15]);
		}
	}
}

void html_raw(struct buf *b, const char *trusted)
{
	if (trusted)
		buf_addstr(b, trusted);
}

void html_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	const char *p = fmt;
	while (*p) {
		const char *pct = strchr(p, '%');
		if (!pct) {
			buf_addstr(b, p);
			return;
		}
		buf_add(b, p, pct - p);
		p = pct + 1;
		switch (*p) {
		case '%':
			buf_addch(b, '%');
			p++;
			break;
		case 'h':
		case 'a':
			html_text(b, va_arg(ap, const char *));
			p++;
			break;
		case 'u':
			html_url(b, va_arg(ap, const char *));
			p++;
			break;
		case 'j': {
			struct buf j = BUF_INIT;
			const char *s = va_arg(ap, const char *);
			if (s)
				jw_escape(&j, s);
			else
				buf_addstr(&j, "null");
			html_text(b, j.buf);
			buf_release(&j);
			p++;
			break;
		}
		case 'd':
		case 'i':
			buf_addf(b, "%d", va_arg(ap, int));
			p++;
			break;
		case 'z':
			if (p[1] != 'u')
				die("html_addf: unknown conversion in \"%s\"", fmt);
			buf_addf(b, "%zu", va_arg(ap, size_t));
			p += 2;
			break;
		case 'l':
			if (p[1] == 'd') {
				buf_addf(b, "%ld", va_arg(ap, long));
				p += 2;
			} else if (p[1] == 'l' && p[2] == 'd') {
				buf_addf(b, "%lld", va_arg(ap, long long));
				p += 3;
			} else {
				die("html_addf: unknown conversion in \"%s\"", fmt);
			}
			break;
		default:
			die("html_addf: unknown conversion in \"%s\"", fmt);
		}
	}
}

void html_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	html_vaddf(b, fmt, ap);
	va_end(ap);
}

void html_thousands(int64_t v, char out[32])
{
	char digits[24];
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	int n = snprintf(digits, sizeof(digits), "%" PRIu64, u), o = 0;
	if (v < 0)
		out[o++] = '-';
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

void html_yuan(int64_t fen, char out[32])
{
	uint64_t u = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
	char whole[32];
	size_t o = 0;
	html_thousands((int64_t)(u / 100), whole);
	if (fen < 0)
		out[o++] = '-';
	for (const char *w = whole; *w && o < 28; w++)
		out[o++] = *w;
	out[o++] = '.';
	out[o++] = (char)('0' + u % 100 / 10);
	out[o++] = (char)('0' + u % 10);
	out[o] = '\0';
}

void html_china_time(const char *utc, char out[17])
{
	struct tm tm;
	int y, mo, d, h, mi, s;
	time_t t;
	memset(&tm, 0, sizeof(tm));
	if (!utc || sscanf(utc, "%4d-%2d-%2d %2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6 ||
	    strlen(utc) != 19) {
		snprintf(out, 17, "%s", utc ? utc : "");
		return;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = timegm(&tm) + 8 * 3600;
	gmtime_r(&t, &tm);
	snprintf(out, 17, "%04u-%02u-%02u %02u:%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
		 (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
		 (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u);
}
