/* income_import.c — the income ledger (收入台账) from a township's file:
 * CSV (UTF-8 or GBK/GB18030) or an Excel workbook (its first visible
 * sheet), one row per item:
 *
 *   户编号 | 年度 | 收入项目 | 金额（元） | 说明
 *
 * Title rows may come before the header (found within the first 20 rows by
 * its texts).  Every row is checked first — the household exists, the year,
 * the item (a label of the 收入项目 list, or its code; a near miss gets the
 * closest label), the amount (元, at most two decimals), no item twice for a
 * household and year — and nothing is written when one row is bad.  Then
 * each (household, year) the file names gets exactly the file's items, in
 * one transaction, through the same monitor_income_save() the ledger page
 * uses, so importing the same file twice changes nothing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/csv.h"
#include "base/util.h"
#include "base/xlsx.h"
#include "db/db.h"
#include "monitor/monitor.h"
#include "registry/codes.h"

#define MAX_LISTED 100 /* problems listed in the report; all are counted */
#define NOTE_MAX 1000

enum { C_HH, C_YEAR, C_ITEM, C_AMOUNT, C_NOTE, NR_COLS };

static const char *const col_names[NR_COLS][4] = {
	[C_HH] = { "户编号", "户码", NULL },
	[C_YEAR] = { "年度", "年份", NULL },
	[C_ITEM] = { "收入项目", "项目名称", "项目", NULL },
	[C_AMOUNT] = { "金额", "收入金额", NULL },
	[C_NOTE] = { "说明", "备注", NULL },
};

struct row {
	int64_t household_id;
	int year, item;
	int64_t amount; /* 分 */
	char *note;
	long line;
};

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->household_id != y->household_id)
		return x->household_id < y->household_id ? -1 : 1;
	if (x->year != y->year)
		return x->year - y->year;
	if (x->item != y->item)
		return x->item - y->item;
	return (x->line > y->line) - (x->line < y->line);
}

/* A header cell names column c when it starts with one of its names. */
static int header_col(const char *cell)
{
	while (*cell == ' ')
		cell++;
	for (int c = 0; c < NR_COLS; c++)
		for (int k = 0; col_names[c][k]; k++)
			if (starts_with(cell, col_names[c][k]))
				return c;
	return -1;
}

/* 元 with at most two decimals (thousands commas allowed) → 分; -1 if not. */
static int64_t parse_yuan(const char *s)
{
	int64_t v = 0;
	int digits = 0, dec = -1;
	while (*s == ' ')
		s++;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			if (dec >= 2 || v > INCOME_AMOUNT_MAX)
				return -1;
			v = v * 10 + (*s - '0');
			digits++;
			if (dec >= 0)
				dec++;
		} else if (*s == '.' && dec < 0) {
			dec = 0;
		} else if (*s == ',' && dec < 0) {
			continue;
		} else if (*s == ' ') {
			while (*s == ' ')
				s++;
			if (*s)
				return -1;
			break;
		} else {
			return -1;
		}
	}
	if (!digits)
		return -1;
	for (int d = dec < 0 ? 0 : dec; d < 2; d++)
		v *= 10;
	return v <= INCOME_AMOUNT_MAX ? v : -1;
}

static void problem(struct income_import_report *r, long line, const char *fmt, ...)
	ATTR_PRINTF(3, 4);
static void problem(struct income_import_report *r, long line, const char *fmt, ...)
{
	va_list ap;
	r->problems++;
	if (r->problems > MAX_LISTED)
		return;
	buf_addf(&r->text, "  第 %ld 行：", line);
	va_start(ap, fmt);
	buf_vaddf(&r->text, fmt, ap);
	va_end(ap);
	buf_addch(&r->text, '\n');
}

/* Whether the stored ledger of rows[0]'s (household, year) is exactly the n
 * rows (sorted by item): *out = 1 if so, 0 if not, -1 on a database error. */
static void same_ledger(struct db *db, const struct row *rows, long n, int *out)
{
	struct db_stmt *st = db_prepare(db, "SELECT item, amount, note FROM income_item WHERE "
					    "household_id = :h AND year = :y ORDER BY item");
	long k = 0;
	int step, same = 1;
	db_bind_int(st, ":h", rows[0].household_id);
	db_bind_int(st, ":y", rows[0].year);
	while ((step = db_step(st)) == DB_ROW) {
		if (k >= n || db_col_int(st, 0) != rows[k].item || db_col_int(st, 1) != rows[k].amount ||
		    strcmp(db_col_text(st, 2), rows[k].note))
			same = 0;
		k++;
	}
	db_done(st);
	*out = step < 0 ? -1 : same && k == n;
}

static const char *cell(const struct csv_reader *cr, const int *col, int c)
{
	return col[c] >= 0 && col[c] < cr->nr_fields ? cr->fields[col[c]] : "";
}

int monitor_income_import(struct db *db, const char *data, size_t len, int dry_run,
			  struct income_import_report *r)
{
	struct csv_reader cr;
	struct buf err = BUF_INIT, text = BUF_INIT;
	struct row *rows = NULL;
	long nr = 0, alloc = 0;
	int col[NR_COLS], found = 0, rc = -1, step;
	struct db_stmt *st;

	r->rows = r->bad_rows = r->problems = r->ledgers = r->items = r->unchanged = 0;
	if (len >= 4 && !memcmp(data, "PK\x03\x04", 4)) {
		if (xlsx_first_sheet_csv(data, len, &text, &err)) {
			buf_addf(&r->text, "%s\n", err.buf);
			goto out_text;
		}
		data = text.buf ? text.buf : "";
		len = text.len;
	}
	if (csv_open_mem(&cr, data, len, &err)) {
		buf_addf(&r->text, "%s\n", err.buf);
		goto out_text;
	}
	/* the header: the first of the first 20 rows naming 户编号, 收入项目 and 金额 */
	for (int n = 0; n < 20 && !found; n++) {
		step = csv_read_row(&cr, &err);
		if (step <= 0)
			break;
		for (int c = 0; c < NR_COLS; c++)
			col[c] = -1;
		for (int f = 0; f < cr.nr_fields; f++) {
			int c = header_col(cr.fields[f]);
			if (c >= 0 && col[c] < 0)
				col[c] = f;
		}
		found = col[C_HH] >= 0 && col[C_ITEM] >= 0 && col[C_AMOUNT] >= 0 && col[C_YEAR] >= 0;
	}
	if (!found) {
		buf_addstr(&r->text, "找不到表头：前 20 行中没有同时含“户编号”“年度”“收入项目”“金额”的行\n");
		goto out;
	}
	st = NULL;
	while ((step = csv_read_row(&cr, &err)) == 1) {
		const char *no = cell(&cr, col, C_HH), *yr = cell(&cr, col, C_YEAR);
		const char *it = cell(&cr, col, C_ITEM), *am = cell(&cr, col, C_AMOUNT);
		const char *note = cell(&cr, col, C_NOTE);
		struct row x = { 0 };
		int bad = 0, any = 0;
		char *end;
		long y;
		for (int f = 0; f < cr.nr_fields && !any; f++)
			any = cr.fields[f][strspn(cr.fields[f], " ")] != '\0';
		if (!any)
			continue; /* blank rows */
		r->rows++;
		x.line = cr.line;
		/* the household, by 户编号 */
		while (*no == ' ')
			no++;
		if (!*no) {
			problem(r, cr.line, "户编号不能为空");
			bad = 1;
		} else {
			st = db_prepare(db, "SELECT id FROM household WHERE hh_no = :no");
			db_bind_text(st, ":no", no);
			step = db_step(st);
			if (step == DB_ROW)
				x.household_id = db_col_int(st, 0);
			db_done(st);
			if (step < 0) {
				buf_addf(&r->text, "读取户信息失败：%s\n", db_errmsg(db));
				goto out;
			}
			if (!x.household_id) {
				problem(r, cr.line, "户编号“%.*s”不在户籍中", utf8_cut(no, 40), no);
				bad = 1;
			}
		}
		y = strtol(yr, &end, 10);
		while (*end == ' ')
			end++;
		if (end == yr || *end || y < 2010 || y > 2100) {
			problem(r, cr.line, "年度应为 2010 到 2100 的年份，而不是“%.*s”", utf8_cut(yr, 20), yr);
			bad = 1;
		}
		x.year = (int)y;
		x.item = codes_lookup(&code_income_item, it);
		if (x.item < 0) {
			long code = strtol(it, &end, 10);
			if (end != it && !*end && codes_label(&code_income_item, (int)code))
				x.item = (int)code;
		}
		if (x.item < 0) {
			const char *near = codes_suggest(&code_income_item, it);
			problem(r, cr.line, "收入项目“%.*s”不在代码表中%s%s%s", utf8_cut(it, 40), it,
				near ? "，是否为“" : "", near ? near : "", near ? "”？" : "");
			bad = 1;
		}
		x.amount = parse_yuan(am);
		if (x.amount < 0) {
			problem(r, cr.line, "金额应为不小于 0 的元数（最多两位小数），而不是“%.*s”",
				utf8_cut(am, 40), am);
			bad = 1;
		}
		if (strlen(note) > NOTE_MAX) {
			problem(r, cr.line, "说明超过 %d 字节", NOTE_MAX);
			bad = 1;
		}
		if (bad) {
			r->bad_rows++;
			continue;
		}
		x.note = xstrdup(note);
		ALLOC_GROW(rows, nr + 1, alloc);
		rows[nr++] = x;
	}
	if (step < 0) {
		buf_addf(&r->text, "%s\n", err.buf);
		goto out;
	}
	if (nr)
		qsort(rows, (size_t)nr, sizeof(*rows), cmp_row);
	for (long i = 1; i < nr; i++)
		if (rows[i].household_id == rows[i - 1].household_id &&
		    rows[i].year == rows[i - 1].year && rows[i].item == rows[i - 1].item) {
			problem(r, rows[i].line, "%d 年的收入项目“%s”与第 %ld 行重复（同一户每项只能填一次）",
				rows[i].year, codes_label(&code_income_item, rows[i].item),
				rows[i - 1].line);
			r->bad_rows++;
		}
	if (r->problems > MAX_LISTED)
		buf_addf(&r->text, "  ……另有 %ld 个问题未列出\n", r->problems - MAX_LISTED);
	if (!r->rows) {
		buf_addstr(&r->text, "表头之后没有数据行\n");
		goto out;
	}
	if (r->bad_rows) {
		rc = 1; /* nothing written */
		goto out;
	}
	for (long i = 0; i < nr; i++)
		if (!i || rows[i].household_id != rows[i - 1].household_id ||
		    rows[i].year != rows[i - 1].year)
			r->ledgers++;
	r->items = nr;
	if (dry_run) {
		rc = 0;
		goto out;
	}
	if (db_begin(db)) {
		buf_addf(&r->text, "数据库繁忙：%s\n", db_errmsg(db));
		goto out;
	}
	for (long i = 0; i < nr;) {
		long j = i;
		struct income_entry *e;
		while (j < nr && rows[j].household_id == rows[i].household_id &&
		       rows[j].year == rows[i].year)
			j++;
		if (same_ledger(db, &rows[i], j - i, &step), step < 0) {
			buf_addf(&r->text, "读取收入台账失败：%s\n", db_errmsg(db));
			db_rollback(db);
			goto out;
		}
		if (step == 1) { /* already exactly so: left untouched */
			r->unchanged++;
			i = j;
			continue;
		}
		e = xcalloc((size_t)(j - i), sizeof(*e));
		for (long k = i; k < j; k++)
			e[k - i] = (struct income_entry){ rows[k].item, rows[k].amount, rows[k].note };
		step = monitor_income_save(db, rows[i].household_id, rows[i].year, e, (int)(j - i));
		free(e);
		if (step) {
			buf_addf(&r->text, "保存失败：%s\n", db_errmsg(db));
			db_rollback(db);
			goto out;
		}
		i = j;
	}
	if (db_commit(db)) {
		buf_addf(&r->text, "保存失败：%s\n", db_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	csv_release(&cr);
out_text:
	for (long i = 0; i < nr; i++)
		free(rows[i].note);
	free(rows);
	buf_release(&err);
	buf_release(&text);
	return rc;
}
