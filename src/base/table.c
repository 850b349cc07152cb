/* table.c — one table as CSV or .xlsx (see table.h).  The xlsx side is
 * libxlsxwriter in constant-memory mode writing to a temporary file, which
 * is copied to the caller's descriptor or buffer when the table closes
 * (libxlsxwriter writes only to a named file). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "base/table.h"
#include "base/util.h"
#include "base/xlsx.h"

#define NR_KINDS 4

struct table {
	enum table_format fmt;
	int fd;                 /* output descriptor, or -1 for `out` */
	struct buf *out;
	const struct table_col *cols;
	int nr_cols;
	int col;                /* next cell's column */
	long rows;              /* data rows written */
	int failed;
	/* CSV */
	struct buf csv;
	/* xlsx */
	char *tmp_path;
	char *sheet_name;
	int nr_sheets;
	lxw_workbook *wb;
	lxw_worksheet *ws;
	lxw_row_t row;          /* next row index in the current sheet */
	lxw_format *header_fmt, *title_fmt, *note_fmt;
	lxw_format *cellfmt[NR_KINDS][2]; /* [kind][bad] */
	lxw_error lxw_err;
};

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
		t->failed = 1;
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
	t->ws = workbook_add_worksheet(t->wb, name);
	if (!t->ws) {
		t->failed = 1;
		return;
	}
	t->row = 0;
	for (int c = 0; c < t->nr_cols; c++)
		worksheet_set_column(t->ws, (lxw_col_t)c, (lxw_col_t)c,
				     t->cols[c].width > 0 ? t->cols[c].width : 10, NULL);
	for (int i = 0; titles && titles[i]; i++) {
		if (i == 0 && t->nr_cols > 1)
			worksheet_merge_range(t->ws, t->row, 0, t->row, (lxw_col_t)(t->nr_cols - 1),
					      titles[i], t->title_fmt);
		else
			worksheet_write_string(t->ws, t->row, 0, titles[i], NULL);
		t->row++;
	}
	if (!t->nr_cols || !t->cols[0].header)
		return;
	for (int c = 0; c < t->nr_cols; c++)
		worksheet_write_string(t->ws, t->row, (lxw_col_t)c, t->cols[c].header, t->header_fmt);
	t->row++;
	worksheet_freeze_panes(t->ws, t->row, 0);
}

void table_freeze(struct table *t)
{
	if (t->fmt == TABLE_XLSX && t->ws)
		worksheet_freeze_panes(t->ws, t->row, 0);
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
		lxw_workbook_options opt = { .constant_memory = LXW_TRUE, .use_zip64 = LXW_TRUE };
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
		t->wb = workbook_new_opt(t->tmp_path, &opt);
		if (!t->wb) {
			buf_addstr(err, "无法创建 Excel 工作簿");
			table_close(t, err);
			return NULL;
		}
	}
	t->sheet_name = xstrdup(sheet && *sheet ? sheet : "Sheet1");
	t->header_fmt = workbook_add_format(t->wb);
	format_set_bold(t->header_fmt);
	format_set_bg_color(t->header_fmt, 0xD9D9D9);
	format_set_border(t->header_fmt, LXW_BORDER_THIN);
	format_set_align(t->header_fmt, LXW_ALIGN_CENTER);
	format_set_align(t->header_fmt, LXW_ALIGN_VERTICAL_CENTER);
	format_set_text_wrap(t->header_fmt);
	t->title_fmt = workbook_add_format(t->wb);
	format_set_bold(t->title_fmt);
	format_set_font_size(t->title_fmt, 14);
	format_set_align(t->title_fmt, LXW_ALIGN_CENTER);
	t->note_fmt = workbook_add_format(t->wb);
	format_set_font_color(t->note_fmt, 0x9C0006);
	for (int k = 0; k < NR_KINDS; k++)
		for (int bad = 0; bad < 2; bad++) {
			lxw_format *f;
			if (k == TC_GENERAL && !bad) {
				t->cellfmt[k][bad] = NULL;
				continue;
			}
			f = workbook_add_format(t->wb);
			if (k == TC_TEXT)
				format_set_num_format(f, "@");
			else if (k == TC_DATE)
				format_set_num_format(f, "yyyy-mm-dd");
			else if (k == TC_MONEY)
				format_set_num_format(f, "#,##0.00");
			if (bad) {
				format_set_bg_color(f, 0xFFC7CE);
				format_set_font_color(f, 0x9C0006);
			}
			t->cellfmt[k][bad] = f;
		}
	xlsx_sheet_start(t, titles);
	return t;
}

static lxw_format *cell_fmt(struct table *t, int flags)
{
	int kind = t->col < t->nr_cols ? (int)t->cols[t->col].kind : TC_GENERAL;
	if (flags & TABLE_NOTE)
		return t->note_fmt;
	if (flags & TABLE_HEADER)
		return t->header_fmt;
	return t->cellfmt[kind][(flags & TABLE_BAD) != 0];
}

/* Make room for the next cell: a new sheet at Excel's row limit. */
static int xlsx_ready(struct table *t)
{
	if (t->failed)
		return -1;
	if (t->col == 0 && t->row >= LXW_ROW_MAX) {
		xlsx_sheet_start(t, NULL);
		if (t->failed)
			return -1;
	}
	return 0;
}

static void note_error(struct table *t, lxw_error e)
{
	if (e != LXW_NO_ERROR && !t->failed) {
		t->failed = 1;
		t->lxw_err = e;
	}
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
	if (s && *s) {
		lxw_error e = worksheet_write_string(t->ws, t->row, (lxw_col_t)t->col, s,
						     cell_fmt(t, flags));
		if (e == LXW_ERROR_MAX_STRING_LENGTH_EXCEEDED) {
			/* Excel's limit is 32,767 characters; keep what fits */
			char *cut = xstrndup(s, 32000);
			e = worksheet_write_string(t->ws, t->row, (lxw_col_t)t->col, cut,
						   cell_fmt(t, flags));
			free(cut);
		}
		note_error(t, e);
	} else if (flags || (t->col < t->nr_cols && t->cols[t->col].kind == TC_TEXT)) {
		note_error(t, worksheet_write_blank(t->ws, t->row, (lxw_col_t)t->col,
						    cell_fmt(t, flags)));
	}
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
	note_error(t, worksheet_write_number(t->ws, t->row, (lxw_col_t)t->col, v, cell_fmt(t, flags)));
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
	{
		lxw_format *f = cell_fmt(t, flags);
		if (!f || (t->col < t->nr_cols && t->cols[t->col].kind != TC_DATE))
			f = t->cellfmt[TC_DATE][(flags & TABLE_BAD) != 0];
		note_error(t, worksheet_write_number(t->ws, t->row, (lxw_col_t)t->col,
						     xlsx_date_to_serial(y, m, d, 0), f));
	}
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
		note_error(t, worksheet_write_blank(t->ws, t->row, (lxw_col_t)t->col,
						    cell_fmt(t, flags)));
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
		if (!rc && csv_flush(t)) {
			buf_addf(err, "写出失败：%s", strerror(errno));
			rc = -1;
		} else if (rc) {
			buf_addf(err, "写出失败：%s", strerror(errno));
		}
	} else {
		if (t->wb) {
			lxw_error e = workbook_close(t->wb);
			if (rc && t->lxw_err)
				buf_addf(err, "生成 Excel 工作簿失败：%s", lxw_strerror(t->lxw_err));
			else if (rc)
				buf_addstr(err, "生成 Excel 工作簿失败");
			if (!rc && e != LXW_NO_ERROR) {
				buf_addf(err, "生成 Excel 工作簿失败：%s", lxw_strerror(e));
				rc = -1;
			}
			if (!rc)
				rc = copy_out(t, err);
		}
		if (t->tmp_path)
			unlink(t->tmp_path);
	}
	buf_release(&t->csv);
	free(t->tmp_path);
	free(t->sheet_name);
	free(t);
	return rc;
}
