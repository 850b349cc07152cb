/* fuzz_xlsx.c — libFuzzer target for Excel workbooks from outside: the
 * streaming reader (src/base/xlsx.c: the zip container through libzip, the
 * workbook, relationships, styles and shared strings, the sheet XML scanner,
 * merged ranges, date serials) and the household/member import on top of it
 * (title rows, header search, column mapping, cell checks, the annotated
 * copy of a workbook with bad rows), run against the demo district and
 * rolled back after each input.
 *
 * Checks, for any input: a workbook that cannot be read is refused with a
 * readable Chinese message; every sheet name and every cell's text is valid
 * UTF-8; cells come in column order within a row, rows in increasing order;
 * merged ranges are well formed; reading stops with an error or at the end,
 * and an error stays an error; the import's report is UTF-8 and a failed
 * import leaves no transaction open.  Seeds are small workbooks written by
 * liubao's own writer and by libxlsxwriter (tests/fuzz/corpus/xlsx/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/csv.h"
#include "base/util.h"
#include "base/xlsx.h"
#include "db/db.h"
#include "harness.h"

#define MAX_ROWS 20000 /* per sheet: a bound on time, not on correctness */

static void check_sheet(struct xlsx *x, int index, int flags)
{
	struct buf err = BUF_INIT;
	struct xlsx_sheet *s = xlsx_sheet_open(x, index, flags, &err);
	const struct xlsx_row *row;
	const struct xlsx_merge *m;
	long last = 0;
	int rc, n = 0, nr_merges;
	if (!s) {
		if (!err.len || !utf8_valid(err.buf, err.len))
			fuzz_fail("sheet %d refused without a readable message", index);
		buf_release(&err);
		return;
	}
	while ((rc = xlsx_sheet_next(s, &row, &err)) == 1) {
		int col = -1;
		if (row->row <= last)
			fuzz_fail("sheet %d: row %ld after row %ld", index, row->row, last);
		last = row->row;
		for (int i = 0; i < row->nr_cells; i++) {
			const struct xlsx_cell *c = &row->cells[i];
			if (c->col <= col || c->col >= row->width)
				fuzz_fail("sheet %d row %ld: cell in column %d after %d (width %d)", index,
					  row->row, c->col, col, row->width);
			col = c->col;
			if (!c->text || !utf8_valid(c->text, strlen(c->text)))
				fuzz_fail("sheet %d row %ld column %d: text is not UTF-8", index,
					  row->row, c->col);
			if (!c->raw)
				fuzz_fail("sheet %d row %ld column %d: no raw value", index, row->row,
					  c->col);
			if (c->type < XLSX_STRING || c->type > XLSX_ERROR)
				fuzz_fail("sheet %d row %ld column %d: type %d", index, row->row, c->col,
					  (int)c->type);
		}
		if (++n == MAX_ROWS)
			break;
	}
	if (rc < 0) {
		if (!err.len || !utf8_valid(err.buf, err.len))
			fuzz_fail("sheet %d: broken without a readable message: %s", index, err.buf);
		if (xlsx_sheet_next(s, &row, &err) != -1)
			fuzz_fail("sheet %d: reading went on after an error", index);
	}
	m = xlsx_sheet_merges(s, &nr_merges);
	for (int i = 0; i < nr_merges; i++)
		if (m[i].row1 > m[i].row2 || m[i].col1 > m[i].col2 || m[i].row1 < 0 || m[i].col1 < 0)
			fuzz_fail("sheet %d: merged range %d is %ld,%d..%ld,%d", index, i, m[i].row1,
				  m[i].col1, m[i].row2, m[i].col2);
	xlsx_sheet_close(s);
	buf_release(&err);
}

static void check_reader(const uint8_t *data, size_t size)
{
	struct buf err = BUF_INIT;
	struct xlsx *x = xlsx_open_mem(data, size, &err);
	int n;
	if (!x) {
		if (!err.len || !utf8_valid(err.buf, err.len))
			fuzz_fail("workbook refused without a readable message");
		buf_release(&err);
		return;
	}
	n = xlsx_nr_sheets(x);
	for (int i = 0; i < n && i < 8; i++) {
		const char *name = xlsx_sheet_name(x, i);
		if (!name || !utf8_valid(name, strlen(name)))
			fuzz_fail("sheet %d: name is not UTF-8", i);
		check_sheet(x, i, 0);
		check_sheet(x, i, XLSX_FILL_MERGED);
	}
	xlsx_close(x);
	buf_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_reader(data, size);
	/* the import only for what at least looks like a zip: the rest is the
	 * CSV target's ground */
	if (size >= 4 && !memcmp(data, "PK\x03\x04", 4)) {
		fuzz_check_registry_import(data, size);
		fuzz_check_income_import(data, size);
	}
	return 0;
}
