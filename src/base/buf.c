/* buf.c — growable NUL-terminated buffer (see buf.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"

char buf_slopbuf[1];

void buf_init(struct buf *b, size_t hint)
{
	b->alloc = b->len = 0;
	b->buf = buf_slopbuf;
	if (hint)
		buf_grow(b, hint);
}

void buf_release(struct buf *b)
{
	if (b->alloc)
		free(b->buf);
	buf_init(b, 0);
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *r;
	if (len)
		*len = b->len;
	if (!b->alloc)
		return xstrdup("");
	r = b->buf;
	buf_init(b, 0);
	return r;
}

void buf_grow(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need < b->len)
		die("buffer size overflow");
	if (need <= b->alloc)
		return;
	{
		int fresh = !b->alloc;
		size_t n = b->alloc ? b->alloc : 64;
		while (n < need)
			n = n * 3 / 2 + 16;
		b->buf = xrealloc(fresh ? NULL : b->buf, n);
		b->alloc = n;
		if (fresh)
			b->buf[0] = '\0';
	}
}

void buf_setlen(struct buf *b, size_t len)
{
	if (!b->alloc) {
		if (len)
			die("buf_setlen beyond an empty buffer");
		return;
	}
	if (len >= b->alloc)
		die("buf_setlen beyond allocation");
	b->len = len;
	b->buf[len] = '\0';
}

void buf_add(struct buf *b, const void *data, size_t len)
{
	if (len >= b->alloc - b->len) /* overflow-safe: alloc > len once allocated */
		buf_grow(b, len);
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
}

void buf_addstr(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;
	buf_grow(b, 64);
	va_copy(cp, ap);
	n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		die("vsnprintf failed");
	if ((size_t)n >= b->alloc - b->len) {
		buf_grow(b, n);
		n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, ap);
	}
	b->len += n;
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void buf_add_csv_field(struct buf *b, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		buf_addstr(b, s);
		return;
	}
	buf_addch(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			buf_addch(b, '"');
		buf_addch(b, *s);
	}
	buf_addch(b, '"');
}

void buf_add_html(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': buf_addstr(b, "&amp;"); break;
		case '<': buf_addstr(b, "&lt;"); break;
		case '>': buf_addstr(b, "&gt;"); break;
		case '"': buf_addstr(b, "&quot;"); break;
		case '\'': buf_addstr(b, "&#39;"); break;
		default: buf_addch(b, *s);
		}
	}
}

void buf_trim(struct buf *b)
{
	size_t start = 0, end = b->len;
	while (start < end && (b->buf[start] == ' ' || b->buf[start] == '\t' || b->buf[start] == '\r' ||
			       b->buf[start] == '\n'))
		start++;
	while (end > start && (b->buf[end - 1] == ' ' || b->buf[end - 1] == '\t' ||
			       b->buf[end - 1] == '\r' || b->buf[end - 1] == '\n'))
		end--;
	if (!b->alloc)
		return;
	memmove(b->buf, b->buf + start, end - start);
	buf_setlen(b, end - start);
}

int buf_read_file(struct buf *b, const char *path)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	struct stat stbuf;
	if (fd < 0)
		return -1;
	if (!fstat(fd, &stbuf) && S_ISREG(stbuf.st_mode) && stbuf.st_size > 0)
		buf_grow(b, (size_t)stbuf.st_size + 1);
	for (;;) {
		ssize_t n;
		buf_grow(b, 65536);
		n = read(fd, b->buf + b->len, b->alloc - b->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (fd)
				close(fd);
			return -1;
		}
		if (!n)
			break;
		b->len += n;
		b->buf[b->len] = '\0';
	}
	if (fd)
		close(fd);
	return 0;
}
