/* xlsxw.h — a streaming .xlsx writer for tables: inline strings and
 * numbers in a fixed set of cell styles, column widths, frozen header rows,
 * merged title cells, one or more sheets.
 *
 * Rows go to a temporary file as they are written (memory does not grow
 * with the sheet); xlsxw_close() packs the workbook with libzip, the big
 * sheet parts with fast deflate (level 1: a third of the time of the default
 * level for a tenth more bytes), which is what lets a million-row ledger
 * export in seconds.  Text is escaped for XML, characters XML cannot carry
 * (control characters, a lone CR) are written as OOXML _xHHHH_ escapes, and
 * invalid UTF-8 becomes U+FFFD, so the file always opens. */
#ifndef BASE_XLSXW_H
#define BASE_XLSXW_H

#include "base/buf.h"

/* Cell styles (the cellXfs of the workbook's styles part). */
enum xlsxw_style {
	XS_DEFAULT = 0, /* General */
	XS_HEADER,      /* bold on grey, thin border, centred, wrapped */
	XS_TITLE,       /* bold 14 pt, centred */
	XS_NOTE,        /* dark red text (problem notes) */
	XS_TEXT,        /* text format "@" */
	XS_DATE,        /* yyyy-mm-dd */
	XS_MONEY,       /* #,##0.00 */
	XS_BAD,         /* red fill, dark red text: a value with a problem */
	XS_BAD_TEXT,    /* the same with the text format */
	XS_BAD_DATE,
	XS_BAD_MONEY,
	NR_XS
};

struct xlsxw;

/* Start a workbook; NULL with a Chinese message in err when no temporary
 * file can be made ($TMPDIR or /tmp). */
struct xlsxw *xlsxw_open(struct buf *err);
/* Start a new sheet named `name` (at most 31 characters are kept) with the
 * widths (in characters) of its first `nr` columns; rows restart at 0. */
void xlsxw_sheet(struct xlsxw *w, const char *name, const double *widths, int nr);
/* Keep the first `rows` rows of the current sheet in view when scrolling. */
void xlsxw_freeze(struct xlsxw *w, long rows);
/* Merge the cells rows r1..r2 × columns c1..c2 (0-based) of the current sheet. */
void xlsxw_merge(struct xlsxw *w, long r1, int c1, long r2, int c2);
/* Write a cell; rows must not go back, and within a row neither may columns
 * (0-based).  A NULL or empty text writes nothing unless a style is given. */
void xlsxw_text(struct xlsxw *w, long row, int col, const char *s, enum xlsxw_style style);
void xlsxw_number(struct xlsxw *w, long row, int col, double v, enum xlsxw_style style);
/* An empty cell carrying a style (a highlighted blank, a text-formatted blank). */
void xlsxw_blank(struct xlsxw *w, long row, int col, enum xlsxw_style style);
/* Write the workbook to `path` and free the writer.  0, or -1 with a
 * Chinese message in err (nothing usable is left at `path` then). */
int xlsxw_close(struct xlsxw *w, const char *path, struct buf *err);
/* Free the writer without writing anything. */
void xlsxw_abort(struct xlsxw *w);

#endif
