/* table.h — write one table (a title, a header row, data rows) as CSV or as
 * an .xlsx workbook, cell by cell, so every export and report has both
 * formats from one piece of code.
 *
 * CSV is UTF-8 with a BOM (Excel then opens it correctly), fields quoted as
 * needed.  xlsx is written by base/xlsxw (rows go to a temporary file as
 * they come; memory does not grow with the table; libxlsxwriter, tried
 * first, spent twice the time — bench/RESULTS.md): Chinese headers in bold
 * on a grey fill, the header row frozen,
 * column widths from the column definitions, text columns (身份证号, phone
 * numbers, codes) as text cells with the text format, so Excel neither
 * shows them in scientific notation nor turns them into numbers when they
 * are edited.  A sheet that reaches Excel's row limit continues on another
 * sheet with the same header. */
#ifndef BASE_TABLE_H
#define BASE_TABLE_H

#include "base/buf.h"

enum table_format { TABLE_CSV, TABLE_XLSX };

enum table_col_kind {
	TC_GENERAL = 0, /* strings as strings, numbers as numbers */
	TC_TEXT,        /* always text, with the "@" format (IDs, phone numbers, codes) */
	TC_DATE,        /* dates: a date cell (yyyy-mm-dd) in xlsx */
	TC_MONEY,       /* numbers shown with two decimals */
};

struct table_col {
	const char *header;     /* Chinese column header */
	double width;           /* column width in characters (0 = 10) */
	enum table_col_kind kind;
};

enum table_cell_flags {
	TABLE_BAD = 1, /* highlight the cell (red fill): a value with a problem */
	TABLE_NOTE = 2, /* the cell explains problems (red text) */
	TABLE_HEADER = 4, /* a header cell (bold on grey), for tables that write their own */
};

struct table;

/* Start a table.  The output goes to file descriptor `fd`, or (fd < 0) is
 * appended to `out`.  `sheet` names the xlsx sheet ("Sheet1" if NULL);
 * `titles` (NULL-terminated, may be NULL) are rows written above the header
 * (the first in bold, merged across the columns in xlsx).  When the columns
 * have no headers (cols[0].header NULL) no header row is written: the caller
 * writes its own rows (and may call table_freeze()).  Returns NULL with
 * a Chinese message in err when the workbook cannot be started. */
struct table *table_open(enum table_format fmt, int fd, struct buf *out, const char *sheet,
			 const struct table_col *cols, int nr_cols, const char *const *titles,
			 struct buf *err);
/* The next cell of the current row: text, a number, a date (y-m-d), or
 * nothing.  Cells past the last column are allowed (xlsx and CSV both just
 * get a wider row). */
void table_text(struct table *t, const char *s, int flags);
void table_number(struct table *t, double v, int flags);
void table_date(struct table *t, int y, int m, int d, int flags);
void table_blank(struct table *t, int flags);
/* Freeze the rows written so far (xlsx): they stay visible when scrolling. */
void table_freeze(struct table *t);
/* End the current row.  Returns 0, or -1 after a write failure. */
int table_row_end(struct table *t);
/* Rows written so far, not counting titles and headers. */
long table_rows(const struct table *t);
/* Finish: write the workbook / flush the CSV to the output.  Returns 0 or
 * -1 with a Chinese message in err.  Frees the table either way. */
int table_close(struct table *t, struct buf *err);
/* The MIME type and file extension of a format. */
const char *table_mime(enum table_format fmt);
const char *table_ext(enum table_format fmt);

#endif
