/* jw.h — a streaming JSON writer into a struct buf, for responses on hot
 * paths (building jansson trees costs an allocation and a hash table per
 * object).  Commas are managed for the caller; strings are escaped per
 * RFC 8259, and bytes that are not valid UTF-8 are written as U+FFFD so the
 * output is always valid JSON. */
#ifndef BASE_JW_H
#define BASE_JW_H

#include <stdint.h>
#include "base/buf.h"

#define JW_MAX_DEPTH 32

struct jw {
	struct buf *out;
	int depth;
	unsigned char first[JW_MAX_DEPTH]; /* no value written yet at this depth */
	unsigned char after_key;           /* a key was just written: no comma */
};

void jw_init(struct jw *w, struct buf *out);
void jw_object(struct jw *w);     /* { */
void jw_object_end(struct jw *w); /* } */
void jw_array(struct jw *w);      /* [ */
void jw_array_end(struct jw *w);  /* ] */
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s); /* NULL writes null */
void jw_int(struct jw *w, int64_t v);
void jw_bool(struct jw *w, int v);
void jw_null(struct jw *w);
/* Insert `json`, already valid JSON text (a stored document), as a value. */
void jw_raw(struct jw *w, const char *json);
/* Key-value shorthands. */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, int64_t v);
void jw_kbool(struct jw *w, const char *key, int v);
void jw_knull(struct jw *w, const char *key);
/* Append `s` as an escaped JSON string (with quotes) to `b`. */
void jw_escape(struct buf *b, const char *s);

#endif
