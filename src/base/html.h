/* html.h — writing HTML into a struct buf with escaping by default (style.md
 * rule 13).  html_addf() is a printf whose string conversions escape for the
 * place they are used in:
 *
 *   %h  const char *  HTML text: & < > " ' escaped, control characters and
 *                     bytes that are not UTF-8 written as U+FFFD; NULL = ""
 *   %a  const char *  an attribute value (inside double quotes): as %h
 *   %u  const char *  one URL component (path segment or query value):
 *                     percent-encoded except A-Z a-z 0-9 - . _ ~
 *   %j  const char *  a JSON string literal (with its quotes, NULL = null),
 *                     then escaped as %a, for data-* attributes
 *   %d %i int, %ld long, %lld long long, %zu size_t, %" PRId64 " int64_t
 *   %%  a percent sign
 *
 * There is no %s: markup that is not escaped goes through html_raw(), and
 * every call of it says in a comment why the text is safe.  An unknown
 * conversion is a programming error (die()), so a test of every page finds
 * it.  The compiler cannot check the argument types of these conversions:
 * keep formats literal and short. */
#ifndef BASE_HTML_H
#define BASE_HTML_H

#include <stdarg.h>
#include <stdint.h>
#include "base/buf.h"

void html_addf(struct buf *b, const char *fmt, ...);
void html_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Append `s` escaped as %h. */
void html_text(struct buf *b, const char *s);
/* Append `s` percent-encoded as %u. */
void html_url(struct buf *b, const char *s);
/* Append trusted markup unchanged.  Only for literals and for markup this
 * program generated itself; the caller's comment says which. */
void html_raw(struct buf *b, const char *trusted);

/* Money in 分 as 元 with thousands separators and two decimals, no unit:
 * 1234567 → "12,345.67", -5 → "-0.05".  out must hold 32 bytes. */
void html_yuan(int64_t fen, char out[32]);
/* A whole number with thousands separators: 1234567 → "1,234,567". */
void html_thousands(int64_t v, char out[32]);
/* A stored UTC time "YYYY-MM-DD HH:MM:SS" as China time (UTC+8, no daylight
 * saving) "YYYY-MM-DD HH:MM" into out[17]; other text is copied (cut). */
void html_china_time(const char *utc, char out[17]);

#endif
