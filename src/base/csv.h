/* csv.h — RFC 4180 CSV reading from memory, with the encodings Chinese
 * offices actually produce: UTF-8 with or without BOM, and GB18030/GBK
 * (what Excel "CSV" saves on a Chinese Windows), detected automatically and
 * converted to UTF-8 with iconv.  Quoted fields may hold commas, doubled
 * quotes and embedded CR/LF; lines end in LF or CRLF; ragged rows are
 * returned as they are (the caller decides whether that is an error). */
#ifndef BASE_CSV_H
#define BASE_CSV_H

#include <stddef.h>
#include "base/buf.h"

enum csv_encoding {
	CSV_ENC_UTF8,     /* valid UTF-8, no BOM */
	CSV_ENC_UTF8_BOM, /* valid UTF-8 after an EF BB BF byte-order mark */
	CSV_ENC_GB18030,  /* not UTF-8 but valid GB18030 (a superset of GBK/GB2312) */
};

struct csv_reader {
	struct buf text;        /* the whole input as UTF-8 (BOM removed) */
	size_t pos;             /* read position in text */
	enum csv_encoding encoding;
	struct buf row;         /* the current row's field contents, NUL-separated */
	size_t *offsets;        /* start of each field in row.buf */
	const char **fields;    /* nr_fields pointers into row.buf, valid until next read */
	int nr_fields, alloc_fields, alloc_offsets;
	long line;              /* physical line (1-based) where the current row starts */
	long next_line;         /* physical line where the next row starts */
	long row_no;            /* rows read so far, counting the current one (1-based) */
};

/* Prepare `r` to read `len` bytes at `data` (copied).  Detects the encoding:
 * a UTF-8 BOM or valid UTF-8 is taken as UTF-8; otherwise the bytes must be
 * valid GB18030 and are converted.  Returns 0, or -1 with a Chinese message in
 * `err` naming the byte offset and line of the first undecodable byte. */
int csv_open_mem(struct csv_reader *r, const char *data, size_t len, struct buf *err);
/* The same without copying valid UTF-8: `data` must stay unchanged until
 * csv_release() (GB18030 is converted into memory of the reader's own). */
int csv_open_view(struct csv_reader *r, const char *data, size_t len, struct buf *err);
/* Read the whole file `path` ("-" for stdin) and call csv_open_mem(). */
int csv_open_file(struct csv_reader *r, const char *path, struct buf *err);
/* Read the next row into r->fields / r->nr_fields.  Returns 1 when a row was
 * read, 0 at end of input, -1 on malformed input (an unterminated quoted field,
 * or a character after a closing quote) with a Chinese message in `err` that
 * names the line.  A completely empty line is returned as a row with one empty
 * field; trailing whitespace inside unquoted fields is kept. */
int csv_read_row(struct csv_reader *r, struct buf *err);
/* Fraction of the input consumed, 0..1, for progress display. */
double csv_progress(const struct csv_reader *r);
void csv_release(struct csv_reader *r);
/* Chinese name of an encoding, e.g. "GB18030". */
const char *csv_encoding_name(enum csv_encoding e);

/* True if `s` (len bytes) is valid UTF-8 (no overlongs, no surrogates). */
int utf8_valid(const char *s, size_t len);
/* The length of the longest prefix of `s` of at most `max` bytes that does
 * not end inside a UTF-8 character: quote a long value as "%.*s" with
 * utf8_cut(v, 40), v — "%.40s" may cut a character in two. */
int utf8_cut(const char *s, int max);
/* Copy `in` to out[size] with every byte that does not belong to a valid
 * UTF-8 character replaced by '?' (a library's message may quote input cut
 * inside a character). */
void utf8_scrub(const char *in, char *out, size_t size);

#endif
