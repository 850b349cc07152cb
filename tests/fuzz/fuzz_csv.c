/* fuzz_csv.c — libFuzzer target for CSV files from outside: the reader
 * (src/base/csv.c: UTF-8 / BOM / GB18030 detection, the memchr fast path
 * and the quoted-field path), the household and member import on top of it
 * (header search under title rows, column matching, row checks, the write)
 * and a department feed's load (src/screen/feed_load.c: column aliases,
 * 身份证号 matching, the feed's rules, alerts), run against the demo
 * district and rolled back after each input.  The feed is picked by a hash
 * of the input's first two lines, so every shipped feed gets its share.
 *
 * Checks, for any input: the encoding is the one the bytes call for and
 * the text is valid UTF-8; the rows and fields agree with a plain
 * byte-by-byte reference reader of the same grammar (csv.h), error or end
 * at the same row, line numbers included; the import's report and the
 * feed load's message and issues are valid UTF-8, a refused load names an
 * E_ code, and neither leaves a transaction open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/csv.h"
#include "base/util.h"
#include "db/db.h"
#include "screen/screen.h"
#include "harness.h"

#define MAX_FIELDS 4096

struct ref_row {
	struct buf fields[MAX_FIELDS];
	int nr;
	long line;
};

/* Read one row of text[*pos..len) the slow, obvious way: 1 a row, 0 the
 * end, -1 malformed. */
static int ref_read_row(const char *t, size_t len, size_t *pos, struct ref_row *row)
{
	size_t p = *pos;
	long lf = 0;
	if (p >= len)
		return 0;
	for (size_t i = 0; i < p; i++)
		lf += t[i] == '\n';
	row->line = 1 + lf;
	row->nr = 0;
	for (;;) {
		struct buf *f;
		if (row->nr == MAX_FIELDS)
			return -2; /* too wide to compare: stop comparing */
		f = &row->fields[row->nr++];
		buf_reset(f);
		if (p < len && t[p] == '"') {
			for (p++;; p++) {
				if (p >= len)
					return -1;
				if (t[p] == '"') {
					if (p + 1 < len && t[p + 1] == '"') {
						buf_addch(f, '"');
						p++;
						continue;
					}
					p++;
					break;
				}
				buf_addch(f, t[p]);
			}
			if (p >= len)
				break;
			if (t[p] == '\n') {
				p++;
				break;
			}
			if (t[p] == '\r' && (p + 1 == len || t[p + 1] == '\n')) {
				p += p + 1 == len ? 1 : 2;
				break;
			}
			if (t[p] != ',')
				return -1;
			p++;
			continue;
		}
		while (p < len && t[p] != ',' && t[p] != '\n')
			buf_addch(f, t[p++]);
		if (p < len && t[p] == ',') {
			p++;
			continue;
		}
		if (f->len && f->buf[f->len - 1] == '\r')
			buf_setlen(f, f->len - 1);
		if (p < len)
			p++; /* the LF */
		break;
	}
	*pos = p;
	return 1;
}

static void check_reader(const uint8_t *data, size_t size)
{
	static struct ref_row ref;
	static int ref_ready;
	struct csv_reader r;
	struct buf err = BUF_INIT;
	size_t pos = 0;
	int valid = utf8_valid((const char *)data, size);
	int bom = size >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3);

	if (!ref_ready) {
		for (int i = 0; i < MAX_FIELDS; i++)
			buf_init(&ref.fields[i], 0);
		ref_ready = 1;
	}
	if (csv_open_mem(&r, (const char *)data, size, &err)) {
		if (!err.len || !utf8_valid(err.buf, err.len))
			fuzz_fail("refused without a readable message");
		if (valid)
			fuzz_fail("valid UTF-8 refused: %s", err.buf);
		buf_release(&err);
		return;
	}
	if (!utf8_valid(r.text.buf, r.text.len))
		fuzz_fail("the text is not UTF-8 after decoding");
	if (bom && valid ? r.encoding != CSV_ENC_UTF8_BOM
		 : valid ? r.encoding != CSV_ENC_UTF8 : r.encoding != CSV_ENC_GB18030)
		fuzz_fail("encoding %s for %s input", csv_encoding_name(r.encoding),
			  valid ? "UTF-8" : "non-UTF-8");
	if (r.encoding != CSV_ENC_GB18030 &&
	    (r.text.len != size - (bom ? 3 : 0) || memcmp(r.text.buf, data + (bom ? 3 : 0), r.text.len)))
		fuzz_fail("UTF-8 text changed on reading");
	for (long row = 1;; row++) {
		int got, want;
		buf_reset(&err);
		got = csv_read_row(&r, &err);
		want = ref_read_row(r.text.buf, r.text.len, &pos, &ref);
		if (want == -2)
			break;
		if (got != want)
			fuzz_fail("row %ld: csv_read_row gave %d, the reference %d (%s)", row, got,
				  want, err.buf);
		if (got < 0 && (!err.len || !utf8_valid(err.buf, err.len)))
			fuzz_fail("row %ld: malformed without a readable message", row);
		if (got <= 0)
			break;
		if (r.nr_fields != ref.nr || r.line != ref.line || r.row_no != row)
			fuzz_fail("row %ld: %d fields on line %ld, the reference %d on line %ld", row,
				  r.nr_fields, r.line, ref.nr, ref.line);
		for (int i = 0; i < r.nr_fields; i++)
			if (strcmp(r.fields[i], ref.fields[i].buf))
				fuzz_fail("row %ld field %d: \"%s\", the reference \"%s\"", row, i + 1,
					  r.fields[i], ref.fields[i].buf);
	}
	csv_release(&r);
	buf_release(&err);
}

static void check_feed_load(const uint8_t *data, size_t size)
{
	static char feeds[16][32];
	static int nr_feeds;
	struct db *db = fuzz_db();
	const struct fuzz_account *admin = fuzz_account("admin");
	struct feed_load_opts o = { 0 };
	struct feed_report r;
	uint32_t h = 2166136261u;
	int rc;
	if (!nr_feeds) {
		struct db_stmt *st = db_prepare(db, "SELECT id FROM feed_def ORDER BY id");
		while (db_step(st) == DB_ROW && nr_feeds < 16)
			snprintf(feeds[nr_feeds++], sizeof(feeds[0]), "%s", db_col_text(st, 0));
		db_done(st);
		if (!nr_feeds || !admin)
			fuzz_fail("the demo district has no feeds or no admin");
	}
	/* hash the first two lines only (title, header): mutating a data row
	 * keeps the feed, so the fuzzer can work on one feed's rows */
	for (size_t i = 0, lines = 0; i < size && lines < 2; i++) {
		h = (h ^ data[i]) * 16777619u;
		lines += data[i] == '\n';
	}
	o.feed = feeds[h % (uint32_t)nr_feeds];
	o.data = (const char *)data;
	o.len = size;
	o.file_name = "fuzz.csv";
	o.period = "2026-05";
	o.scope = "";
	o.skip_bad = (h >> 8) & 1;
	o.user_id = admin->p.user_id;
	o.login = admin->login;
	feed_report_init(&r);
	fuzz_begin();
	rc = screen_feed_load(db, &o, &r);
	fuzz_rollback();
	if (rc < 0 && (!r.code[0] || !r.message.len))
		fuzz_fail("feed %s: refused without a code and a message", o.feed);
	if (!utf8_valid(r.message.buf, r.message.len))
		fuzz_fail("feed %s: the message is not UTF-8: %s", o.feed, r.message.buf);
	for (int i = 0; i < r.nr_issues; i++)
		if (!utf8_valid(r.issues[i].message, strlen(r.issues[i].message)) ||
		    !utf8_valid(r.issues[i].name, strlen(r.issues[i].name)) ||
		    !utf8_valid(r.issues[i].column, strlen(r.issues[i].column)))
			fuzz_fail("feed %s: issue %d (line %ld) is not UTF-8: %s / %s / %s", o.feed, i,
				  r.issues[i].line, r.issues[i].column, r.issues[i].name,
				  r.issues[i].message);
	feed_report_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_reader(data, size);
	fuzz_check_registry_import(data, size);
	check_feed_load(data, size);
	fuzz_check_income_import(data, size);
	return 0;
}
