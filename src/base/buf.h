/* buf.h — the one growable string buffer, with Git strbuf's rules:
 * a buf is never NULL, always NUL-terminated, and buf_detach() is the only
 * way to take its memory.  Initialise with BUF_INIT or buf_init(). */
#ifndef BASE_BUF_H
#define BASE_BUF_H

#include <stddef.h>
#include <stdarg.h>
#include "base/util.h"

struct buf {
	size_t alloc; /* bytes allocated; 0 while buf points at buf_slopbuf */
	size_t len;   /* bytes used, not counting the NUL */
	char *buf;    /* the contents, NUL-terminated */
};

extern char buf_slopbuf[];
#define BUF_INIT { 0, 0, buf_slopbuf }

void buf_init(struct buf *b, size_t hint);
/* Free the contents and leave `b` empty and usable. */
void buf_release(struct buf *b);
/* Return the contents (from xmalloc(); the caller frees) and reset `b`. */
char *buf_detach(struct buf *b, size_t *len);
/* Make room for at least `extra` more bytes. */
void buf_grow(struct buf *b, size_t extra);
void buf_setlen(struct buf *b, size_t len);
#define buf_reset(b) buf_setlen((b), 0)
void buf_add(struct buf *b, const void *data, size_t len);
void buf_addstr(struct buf *b, const char *s);
/* Inline: JSON and CSV writers call it for every delimiter. */
static inline void buf_addch(struct buf *b, int c)
{
	if (b->len + 1 >= b->alloc)
		buf_grow(b, 1);
	b->buf[b->len++] = (char)c;
	b->buf[b->len] = '\0';
}
void buf_addf(struct buf *b, const char *fmt, ...) ATTR_PRINTF(2, 3);
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Append `s` with CSV quoting when it contains a comma, quote, CR or LF. */
void buf_add_csv_field(struct buf *b, const char *s);
/* Append `s` escaped for HTML text and attributes (& < > " '). */
void buf_add_html(struct buf *b, const char *s);
/* Remove whitespace at both ends. */
void buf_trim(struct buf *b);
/* Read the whole of `path` ("-" = stdin) into `b`; returns 0 or -1 with errno. */
int buf_read_file(struct buf *b, const char *path);

#endif
