/* xlsx.h — a streaming reader for Excel .xlsx workbooks (Office Open XML
 * SpreadsheetML, ECMA-376), built on libzip and expat.
 *
 * A worksheet is read one row at a time (pull: xlsx_sheet_next(), or push:
 * xlsx_sheet_foreach()), so memory does not grow with the sheet: what is
 * held is one row, the shared-string table (xl/sharedStrings.xml, which
 * Excel and LibreOffice use for every text cell) and, when asked for, the
 * sheet's merged ranges.  Cells come with their column (gaps are simply
 * absent), a type, a display text and, for numbers, the value; numbers
 * formatted as dates are reported as dates, with the workbook's 1900 or
 * 1904 date system applied.  Broken input (not a zip, a truncated or
 * corrupted entry, malformed XML, a shared-string index out of range) is an
 * error with a Chinese message, never a crash or a partial silent read. */
#ifndef BASE_XLSX_H
#define BASE_XLSX_H

#include <stddef.h>
#include "base/buf.h"

struct xlsx;       /* an open workbook */
struct xlsx_sheet; /* a worksheet being read */

enum xlsx_type {
	XLSX_STRING = 1, /* shared string, inline string or a formula's text result */
	XLSX_NUMBER,     /* a number not formatted as a date */
	XLSX_DATE,       /* a number formatted as a date or time (serial days) */
	XLSX_BOOL,       /* TRUE / FALSE */
	XLSX_ERROR,      /* an error value such as #N/A */
};

struct xlsx_cell {
	int col;             /* 0-based column (A = 0) */
	enum xlsx_type type;
	const char *text;    /* what a user sees, UTF-8: the string; a number as
			      * an integer when whole and below 1e15, else with 15
			      * significant digits (as Excel shows it); a date as
			      * YYYY-MM-DD (plus " HH:MM:SS" when it has a time);
			      * "TRUE"/"FALSE"; the error text */
	const char *raw;     /* numbers and dates: the value as written in the file
			      * (e.g. "6.1092619800101101E+17"); else == text */
	double num;          /* numbers, dates (serial) and booleans (1/0) */
	int style;           /* the cell's style index (s attribute), 0 if none */
	int merged;          /* 1 when copied from the top-left cell of a merged range */
};

struct xlsx_row {
	long row;                /* 1-based row number in the sheet */
	const struct xlsx_cell *cells; /* non-empty cells in column order */
	int nr_cells;
	int width;               /* last column + 1 (0 for an empty row) */
};

/* A merged range, 0-based inclusive. */
struct xlsx_merge {
	long row1, row2;
	int col1, col2;
};

/* Open the workbook at `path`, or the `len` bytes at `data` (copied).
 * Reads the workbook part, its relationships and the styles; the shared
 * strings are loaded when the first sheet is opened.  Returns NULL with a
 * Chinese message in `err` when the file is not a readable workbook. */
struct xlsx *xlsx_open(const char *path, struct buf *err);
struct xlsx *xlsx_open_mem(const void *data, size_t len, struct buf *err);
void xlsx_close(struct xlsx *x);

/* Sheets in workbook order. */
int xlsx_nr_sheets(const struct xlsx *x);
/* Name of sheet `i` (0-based), borrowed. */
const char *xlsx_sheet_name(const struct xlsx *x, int i);
/* 1 if sheet `i` is hidden. */
int xlsx_sheet_hidden(const struct xlsx *x, int i);
/* The sheet `spec` names: its exact name, else (when all digits) its 1-based
 * position; NULL or "" means the first visible sheet.  Returns the 0-based
 * index, or -1 with a Chinese message listing the sheets in `err`. */
int xlsx_sheet_find(const struct xlsx *x, const char *spec, struct buf *err);
/* 1 if the workbook uses the 1904 date system (older Mac Excel). */
int xlsx_date1904(const struct xlsx *x);

enum xlsx_open_flags {
	XLSX_FILL_MERGED = 1, /* read the merged ranges first (a quick scan of the
			       * sheet) and give every cell of a range the value of
			       * its top-left cell, marked `merged` */
};

/* Start reading sheet `index`.  Returns NULL with `err` set on failure. */
struct xlsx_sheet *xlsx_sheet_open(struct xlsx *x, int index, int flags, struct buf *err);
/* Read the next row that has a <row> element (rows Excel did not store are
 * skipped; row->row tells where the row is).  Returns 1 with *row set (valid
 * until the next call), 0 at the end of the sheet, -1 with `err` set on
 * broken input; after -1 every call returns -1. */
int xlsx_sheet_next(struct xlsx_sheet *s, const struct xlsx_row **row, struct buf *err);
/* Fraction of the sheet read so far, 0..1. */
double xlsx_sheet_progress(const struct xlsx_sheet *s);
/* The merged ranges (known from the start with XLSX_FILL_MERGED, else after
 * the last row has been read); borrowed. */
const struct xlsx_merge *xlsx_sheet_merges(const struct xlsx_sheet *s, int *n);
void xlsx_sheet_close(struct xlsx_sheet *s);

/* Call fn(row, ctx) for every row of sheet `index`; fn returns 0 to go on,
 * anything else to stop (returned).  Returns 0 at the end, -1 on error. */
int xlsx_sheet_foreach(struct xlsx *x, int index, int flags,
		       int (*fn)(const struct xlsx_row *row, void *ctx), void *ctx, struct buf *err);

/* The first visible sheet of the workbook data[len] as CSV text in `out`
 * (the importers' CSV path then reads it): one line per sheet row — rows
 * Excel did not store become empty lines, so line numbers are the sheet's
 * row numbers — cells as Excel shows them, merged cells filled.  0, or -1
 * with a Chinese message in `err`. */
int xlsx_first_sheet_csv(const void *data, size_t len, struct buf *out, struct buf *err);

/* ---- helpers ---------------------------------------------------------------- */

/* Convert a date serial to a calendar date in the 1900 (Excel's, with its
 * fictitious 1900-02-29 = serial 60, which is refused) or 1904 system.
 * Returns 0, or -1 for serials outside 1900..9999 or the fictitious day. */
int xlsx_serial_to_date(double serial, int date1904, int *y, int *m, int *d);
/* The serial of a calendar date (inverse of the above). */
double xlsx_date_to_serial(int y, int m, int d, int date1904);
/* 1 if number format `code` shows a date or time (y, m, d, h, s outside
 * quoted text, escapes and [..] sections), as Excel decides. */
int xlsx_format_is_date(const char *code);
/* 1 if built-in number format `id` is a date or time format (14–22, 27–36,
 * 45–47, 50–58: the latter are the CJK locales' date formats). */
int xlsx_builtin_is_date(int id);
/* Parse a cell reference "AB12" into 0-based column and 1-based row;
 * returns 0 or -1.  `row` may be NULL; a reference without digits ("AB")
 * gives row 0. */
int xlsx_parse_ref(const char *ref, int *col, long *row);
/* Column letters of 0-based `col` into out[4] ("A", "AB", "XFD"). */
void xlsx_col_name(int col, char out[4]);

#endif
