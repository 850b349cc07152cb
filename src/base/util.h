/* util.h — allocation that never fails, error reporting, small helpers.
 * Allocation failure is fatal: liubao is an application, not a library. */
#ifndef BASE_UTIL_H
#define BASE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ATTR_NORETURN __attribute__((noreturn))

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a string from xmalloc() formatted like printf; the caller frees it. */
char *xstrfmt(const char *fmt, ...) ATTR_PRINTF(1, 2);

/* Grow array `a` (with `alloc` slots) so that it holds at least `nr` items. */
#define ALLOC_GROW(a, nr, alloc)                                                                   \
	do {                                                                                       \
		if ((size_t)(nr) > (size_t)(alloc)) {                                              \
			size_t new_alloc_ = (alloc) < 8 ? 16 : (size_t)(alloc) * 2;                \
			if (new_alloc_ < (size_t)(nr))                                             \
				new_alloc_ = (nr);                                                 \
			(a) = xrealloc((a), new_alloc_ * sizeof(*(a)));                            \
			(alloc) = new_alloc_;                                                      \
		}                                                                                  \
	} while (0)

/* Print "fatal: ..." to stderr and exit(128).  Only for the CLI top level
 * and for states that cannot happen. */
void die(const char *fmt, ...) ATTR_PRINTF(1, 2) ATTR_NORETURN;
/* Print "error: ..." to stderr and return -1, for `return error(...)`. */
int error(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* Print "warning: ..." to stderr. */
void warning(const char *fmt, ...) ATTR_PRINTF(1, 2);

/* Parse a whole decimal integer; returns 0 on success, -1 if `s` is empty,
 * has trailing garbage or is out of range. */
int parse_int64(const char *s, int64_t *out);
/* True if `s` starts with `prefix`. */
int starts_with(const char *s, const char *prefix);
/* Pad a region-code prefix (digits) with zeros to 12 digits into out[13];
 * longer input is cut at 12. */
void code_pad12(const char *in, char out[13]);
/* Drop the zero-filled levels at the end of a region code (digits), in
 * place: 12 → 9 → 6 → 4 → 2 digits while the dropped level is all zeros
 * (610926000000 → 610926, 610000000000 → 61, 610926102001 unchanged).  A
 * code of another length is left as it is, and so are the last 2 digits
 * ("000000000000" → "00"): callers decide what "00" means.  Returns the new
 * length. */
size_t code_drop_zero_levels(char *code);
/* Current UTC time as "YYYY-MM-DD HH:MM:SS" into out[20]. */
void now_utc_text(char out[20]);
/* Seconds since an arbitrary point, monotonic, as a double. */
double mono_seconds(void);

#include "base/banned.h"
#endif
