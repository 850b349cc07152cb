/* table.c — one table as CSV or .xlsx (see table.h).  The xlsx side is
 * base/xlsxw (streaming, constant memory) writing the workbook to a
 * temporary file, which is copied to the caller's descriptor or buffer when
 * the table closes. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/table.h"
#include "base/util.h"
#include "base/xlsx.h"
#include "base/xlsxw.h"

#define NR_KINDS 4

struct table {
	enum table_format fmt;
	int fd;                 /* output descriptor, or -1 for `out` */
	struct buf *out;
	const struct table_col *cols;
	int nr_cols;
	int col;                /* next cell's column */
	long rows;              /* data rows written */
	int failed;             /* the errno of the first failed write, or 0 */
	/* CSV */
	struct buf csv;
	/* xlsx */
	char *tmp_path;
	char *sheet_name;
	int nr_sheets;
	struct xlsxw *wb;
	long row;               /* next row index in the current sheet */
	double *widths;
};

#define XLSX_ROW_MAX 1048576

const char *table_mime(enum table_format fmt)
{
	return fmt == TABLE_XLSX ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
				 : "text/csv; charset=utf-8";
}

const char *table_ext(enum table_format fmt)
{
	return fmt == TABLE_XLSX ? "xlsx" : "csv";
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Move the CSV buffered so far to the output. */
static int csv_flush(struct table *t)
{
	if (t->fd < 0) {
		buf_add(t->out, t->csv.buf, t->csv.len);
	} else if (write_all(t->fd, t->csv.buf, t->csv.len)) {
		t->failed = errno ? errno : EIO; /* kept: later calls may change errno */
		return -1;
	}
	buf_reset(&t->csv);
	return 0;
}

static void csv_sep(struct table *t)
{
	if (t->col++)
		buf_addch(&t->csv, ',');
}

/* Start a worksheet with the titles (first sheet only) and the header. */
static void xlsx_sheet_start(struct table *t, const char *const *titles)
{
	char name[64];
	t->nr_sheets++;
	if (t->nr_sheets == 1)
		snprintf(name, sizeof(name), "%s", t->sheet_name);
	else
		snprintf(name, sizeof(name), "%.24s(%d)", t->sheet_name, t->nr_sheets);
	xlsxw_sheet(t->wb, name, t->widths, t->nr_cols);
	t->row = 0;
	for (int i = 0; titles && titles[i]; i++) {
		xlsxw_text(t->wb, t->row, 0, titles[i], i == 0 ? XS_TITLE : XS_DEFAULT);
		if (i == 0 && t->nr_cols > 1)
			xlsxw_merge(t->wb, t->row, 0, t->row, t->nr_cols - 1);
		t->row++;
	}
	if (!t->nr_cols || !t->cols[0].header)
		return;
	for (int c = 0; c < t->nr_cols; c++)
		xlsxw_text(t->wb, t->row, c, t->cols[c].header, XS_HEADER);
	t->row++;
	xlsxw_freeze(t->wb, t->row);
}

void table_freeze(struct table *t)
{
	if (t->fmt == TABLE_XLSX && t->wb)
		xlsxw_freeze(t->wb, t->row);
}

struct table *table_open(enum table_format fmt, int fd, struct buf *out, const char *sheet,
			 const struct table_col *cols, int nr_cols, const char *const *titles,
			 struct buf *err)
{
	struct table *t = xcalloc(1, sizeof(*t));
	t->fmt = fmt;
	t->fd = fd;
	t->out = out;
	t->cols = cols;
	t->nr_cols = nr_cols;
	buf_init(&t->csv, 0);
	if (fmt == TABLE_CSV) {
		buf_add(&t->csv, "\xef\xbb\xbf", 3);
		for (int i = 0; titles && titles[i]; i++) {
			buf_add_csv_field(&t->csv, titles[i]);
			buf_addch(&t->csv, '\n');
		}
		if (nr_cols && cols[0].header) {
			for (int c = 0; c < nr_cols; c++) {
				if (c)
					buf_addch(&t->csv, ',');
				buf_add_csv_field(&t->csv, cols[c].header);
			}
			buf_addch(&t->csv, '\n');
		}
		return t;
	}
	{
		const char *dir = getenv("TMPDIR");
		int tfd;
		t->tmp_path = xstrfmt("%s/liubao-xlsx-XXXXXX", dir && *dir ? dir : "/tmp");
		tfd = mkstemp(t->tmp_path);
		if (tfd < 0) {
			buf_addf(err, "无法创建临时文件：%s", strerror(errno));
			free(t->tmp_path);
			t->tmp_path = NULL;
			table_close(t, err);
			return NULL;
		}
		close(tfd);
		t->wb = xlsxw_open(err);
		if (!t->wb) {
			table_close(t, err);
			return NULL;
		}
	}
	t->sheet_name = xstrdup(sheet && *sheet ? sheet : "Sheet1");
	t->widths = xcalloc((size_t)nr_cols + 1, sizeof(*t->widths));
	for (int c = 0; c < nr_cols; c++)
		t->widths[c] = cols[c].width;
	xlsx_sheet_start(t, titles);
	return t;
}

static enum xlsxw_style cell_fmt(struct table *t, int flags)
{
	static const enum xlsxw_style plain[NR_KINDS] = { XS_DEFAULT, XS_TEXT, XS_DATE, XS_MONEY };
	static const enum xlsxw_style bad[NR_KINDS] = { XS_BAD, XS_BAD_TEXT, XS_BAD_DATE,
							 XS_BAD_MONEY };
	int kind = t->col < t->nr_cols ? (int)t->cols[t->col].kind : TC_GENERAL;
	if (flags & TABLE_NOTE)
		return XS_NOTE;
	if (flags & TABLE_HEADER)
		return XS_HEADER;
	return (flags & TABLE_BAD ? bad : plain)[kind];
}

/* Make room for the next cell: a new sheet at Excel's row limit. */
static int xlsx_ready(struct table *t)
{
	if (t->failed)
		return -1;
	if (t->col == 0 && t->row >= XLSX_ROW_MAX) {
		xlsx_sheet_start(t, NULL);
		if (t->failed)
			return -1;
	}
	return 0;
}

void table_text(struct table *t, const char *s, int flags)
{
	if (t->fmt == TABLE_CSV) {
		csv_sep(t);
		buf_add_csv_field(&t->csv, s ? s : "");
		return;
	}
	if (xlsx_ready(t))
		return;
	if (s && *s)
		xlsxw_text(t->wb, t->row, t->col, s, cell_fmt(t, flags));
	else if (flags || (t->col < t->nr_cols && t->cols[t->col].kind == TC_TEXT))
		xlsxw_blank(t->wb, t->row, t->col, cell_fmt(t, flags));
	t->col++;
}

void table_number(struct table *t, double v, int flags)
{
	if (t->fmt == TABLE_CSV) {
		csv_sep(t);
		if (v == floor(v) && fabs(v) < 1e15)
			buf_addf(&t->csv, "%.0f", v == 0 ? 0.0 : v);
		else
			buf_addf(&t->csv, "%.15g", v);
		return;
	}
	if (xlsx_ready(t))
		return;
	xlsxw_number(t->wb, t->row, t->col, v, cell_fmt(t, flags));
	t->col++;
}

void table_date(struct table *t, int y, int m, int d, int flags)
{
	if (t->fmt == TABLE_CSV) {
		csv_sep(t);
		buf_addf(&t->csv, "%04d-%02d-%02d", y, m, d);
		return;
	}
	if (xlsx_ready(t))
		return;
	xlsxw_number(t->wb, t->row, t->col, xlsx_date_to_serial(y, m, d, 0),
		     flags & TABLE_BAD ? XS_BAD_DATE : XS_DATE);
	t->col++;
}

void table_blank(struct table *t, int flags)
{
	if (t->fmt == TABLE_CSV) {
		csv_sep(t);
		return;
	}
	if (xlsx_ready(t))
		return;
	if (flags)
		xlsxw_blank(t->wb, t->row, t->col, cell_fmt(t, flags));
	t->col++;
}

int table_row_end(struct table *t)
{
	t->rows++;
	t->col = 0;
	if (t->fmt == TABLE_CSV) {
		buf_addch(&t->csv, '\n');
		if (t->csv.len > (1 << 20))
			return csv_flush(t);
		return t->failed ? -1 : 0;
	}
	t->row++;
	return t->failed ? -1 : 0;
}

long table_rows(const struct table *t)
{
	return t->rows;
}

/* Copy the finished workbook file to the output. */
static int copy_out(struct table *t, struct buf *err)
{
	FILE *f = fopen(t->tmp_path, "rb");
	char chunk[65536];
	size_t n;
	int rc = 0;
	if (!f) {
		buf_addf(err, "无法读取生成的工作簿：%s", strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (t->fd < 0) {
			buf_add(t->out, chunk, n);
		} else if (write_all(t->fd, chunk, n)) {
			buf_addf(err, "写出失败：%s", strerror(errno));
			rc = -1;
			break;
		}
	}
	if (ferror(f) && !rc) {
		buf_addf(err, "无法读取生成的工作簿：%s", strerror(errno));
		rc = -1;
	}
	fclose(f);
	return rc;
}

int table_close(struct table *t, struct buf *err)
{
	int rc = t->failed ? -1 : 0;
	if (t->fmt == TABLE_CSV) {
		if (!rc && csv_flush(t))
			rc = -1;
		if (rc)
			buf_addf(err, "写出失败：%s", strerror(t->failed));
	} else {
		if (t->wb) {
			if (rc) {
				xlsxw_abort(t->wb);
				buf_addstr(err, "生成 Excel 工作簿失败");
			} else if (xlsxw_close(t->wb, t->tmp_path, err)) {
				rc = -1;
			} else {
				rc = copy_out(t, err);
			}
		}
		if (t->tmp_path)
			unlink(t->tmp_path);
	}
	buf_release(&t->csv);
	free(t->tmp_path);
	free(t->sheet_name);
	free(t->widths);
	free(t);
	return rc;
}
