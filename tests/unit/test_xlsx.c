/* test_xlsx.c — unit tests for base/xlsx.c, the streaming .xlsx reader.
 * Workbooks are made here two independent ways: by hand (libzip writing the
 * XML parts as other generators do: shared and inline strings, phonetic
 * runs, missing references, prefixed element names, merged ranges, the 1904
 * date system, broken parts) and by libxlsxwriter. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <xlsxwriter.h>
#include <zip.h>

#include "harness.h"
#include "base/xlsx.h"

static const char content_types[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
	"<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
	"<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
	"<Default Extension=\"xml\" ContentType=\"application/xml\"/></Types>";

static const char root_rels[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	"<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
	"<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
	"relationships/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>";

static const char wb_rels[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	"<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
	"<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
	"relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
	"<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
	"relationships/worksheet\" Target=\"/xl/worksheets/sheet2.xml\"/>"
	"<Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
	"relationships/sharedStrings\" Target=\"sharedStrings.xml\"/>"
	"<Relationship Id=\"rId4\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
	"relationships/styles\" Target=\"styles.xml\"/></Relationships>";

static const char workbook[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	"<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
	"xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
	"<workbookPr/><sheets><sheet name=\"说明\" sheetId=\"1\" state=\"hidden\" r:id=\"rId1\"/>"
	"<sheet name=\"家庭成员\" sheetId=\"2\" r:id=\"rId2\"/></sheets></workbook>";

/* cellXfs: 0 General, 1 built-in 14 (date), 2 custom 164 "yyyy年m月d日",
 * 3 custom 165 "0.00", 4 built-in 49 (text) */
static const char styles[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	"<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
	"<numFmts count=\"2\"><numFmt numFmtId=\"164\" formatCode=\"yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;\"/>"
	"<numFmt numFmtId=\"165\" formatCode=\"0.00\"/></numFmts>"
	"<cellStyleXfs count=\"1\"><xf numFmtId=\"0\"/></cellStyleXfs>"
	"<cellXfs count=\"5\"><xf numFmtId=\"0\"/><xf numFmtId=\"14\"/><xf numFmtId=\"164\"/>"
	"<xf numFmtId=\"165\"/><xf numFmtId=\"49\"/></cellXfs></styleSheet>";

static const char sst[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	"<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"6\" uniqueCount=\"6\">"
	"<si><t>户编号</t></si>"
	"<si><t>姓名</t></si>"
	"<si><r><t>证件</t></r><r><rPr><b/></rPr><t>号码</t></r></si>"
	"<si><t>张三</t><rPh sb=\"0\" eb=\"2\"><t>ZHANGSAN</t></rPh><phoneticPr fontId=\"1\"/></si>"
	"<si><t xml:space=\"preserve\"> 长期慢性病 </t></si>"
	"<si><t>第一行_x000D_\n第二行 a_x005F_x0041_b</t></si>"
	"</sst>";

struct part {
	const char *name, *data;
};

/* Write a zip at `path` with `parts` (NULL-terminated by name). */
static void write_zip(const char *path, const struct part *parts)
{
	int err = 0;
	zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
	if (!CHECK(z))
		return;
	for (const struct part *p = parts; p->name; p++) {
		zip_source_t *src = zip_source_buffer(z, p->data, strlen(p->data), 0);
		CHECK(zip_file_add(z, p->name, src, ZIP_FL_ENC_UTF_8) >= 0);
	}
	CHECK_INT(zip_close(z), 0);
}

static char *tmpfile_path(const char *name)
{
	static char path[4][512];
	static int k;
	char *p = path[k++ % 4];
	snprintf(p, 512, "%s/%s", unit_tmpdir(), name);
	return p;
}

/* A workbook of the standard parts with `sheet2` as the visible sheet. */
static const char *make_book(const char *name, const char *sheet2, const char *wb)
{
	const char *path = tmpfile_path(name);
	struct part parts[] = {
		{ "[Content_Types].xml", content_types },
		{ "_rels/.rels", root_rels },
		{ "xl/workbook.xml", wb ? wb : workbook },
		{ "xl/_rels/workbook.xml.rels", wb_rels },
		{ "xl/styles.xml", styles },
		{ "xl/sharedStrings.xml", sst },
		{ "xl/worksheets/sheet1.xml",
		  "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
		  "<sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>说明页</t></is></c></row>"
		  "</sheetData></worksheet>" },
		{ "xl/worksheets/sheet2.xml", sheet2 },
		{ NULL, NULL },
	};
	write_zip(path, parts);
	return path;
}

#define SHEET(body)                                                                                \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet "                                    \
	"xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">" body "</worksheet>"

/* Read every row of the default sheet as "r:col=text|col=text" lines. */
static int dump(const char *path, int flags, struct buf *out, struct buf *err)
{
	struct xlsx *x = xlsx_open(path, err);
	struct xlsx_sheet *s;
	const struct xlsx_row *row;
	int rc, idx;
	if (!x)
		return -1;
	idx = xlsx_sheet_find(x, NULL, err);
	s = xlsx_sheet_open(x, idx, flags, err);
	if (!s) {
		xlsx_close(x);
		return -1;
	}
	while ((rc = xlsx_sheet_next(s, &row, err)) == 1) {
		buf_addf(out, "%ld:", row->row);
		for (int i = 0; i < row->nr_cells; i++) {
			char col[4];
			xlsx_col_name(row->cells[i].col, col);
			buf_addf(out, "%s%s%s=%s", i ? "|" : "", row->cells[i].merged ? "*" : "", col,
				 row->cells[i].text);
		}
		buf_addch(out, '\n');
	}
	xlsx_sheet_close(s);
	xlsx_close(x);
	return rc;
}

TEST(xlsx_refs_and_columns)
{
	int col;
	long row;
	char name[4];
	CHECK_INT(xlsx_parse_ref("A1", &col, &row), 0);
	CHECK_INT(col, 0);
	CHECK_INT(row, 1);
	CHECK_INT(xlsx_parse_ref("AB12", &col, &row), 0);
	CHECK_INT(col, 27);
	CHECK_INT(row, 12);
	CHECK_INT(xlsx_parse_ref("$XFD$1048576", &col, &row), 0);
	CHECK_INT(col, 16383);
	CHECK_INT(xlsx_parse_ref("XFE1", &col, &row), -1);
	CHECK_INT(xlsx_parse_ref("1A", &col, &row), -1);
	CHECK_INT(xlsx_parse_ref("a1", &col, &row), -1);
	CHECK_INT(xlsx_parse_ref("A1x", &col, &row), -1);
	xlsx_col_name(0, name);
	CHECK_STR(name, "A");
	xlsx_col_name(25, name);
	CHECK_STR(name, "Z");
	xlsx_col_name(26, name);
	CHECK_STR(name, "AA");
	xlsx_col_name(16383, name);
	CHECK_STR(name, "XFD");
}

TEST(xlsx_date_serials)
{
	int y, m, d;
	CHECK_INT(xlsx_serial_to_date(1, 0, &y, &m, &d), 0);
	CHECK(y == 1900 && m == 1 && d == 1);
	CHECK_INT(xlsx_serial_to_date(59, 0, &y, &m, &d), 0);
	CHECK(y == 1900 && m == 2 && d == 28);
	CHECK_INT(xlsx_serial_to_date(60, 0, &y, &m, &d), -1); /* Lotus's 1900-02-29 */
	CHECK_INT(xlsx_serial_to_date(61, 0, &y, &m, &d), 0);
	CHECK(y == 1900 && m == 3 && d == 1);
	CHECK_INT(xlsx_serial_to_date(43831, 0, &y, &m, &d), 0);
	CHECK(y == 2020 && m == 1 && d == 1);
	CHECK_INT(xlsx_serial_to_date(29221.75, 0, &y, &m, &d), 0); /* 1980-01-01 18:00 */
	CHECK(y == 1980 && m == 1 && d == 1);
	CHECK_INT(xlsx_serial_to_date(0, 1, &y, &m, &d), 0);
	CHECK(y == 1904 && m == 1 && d == 1);
	CHECK_INT(xlsx_serial_to_date(42369, 1, &y, &m, &d), 0); /* 43831 - 1462 */
	CHECK(y == 2020 && m == 1 && d == 1);
	CHECK_INT(xlsx_serial_to_date(0, 0, &y, &m, &d), -1);
	CHECK_INT(xlsx_serial_to_date(-3, 0, &y, &m, &d), -1);
	CHECK_INT(xlsx_serial_to_date(1e9, 0, &y, &m, &d), -1);
	CHECK(xlsx_date_to_serial(2020, 1, 1, 0) == 43831);
	CHECK(xlsx_date_to_serial(1900, 2, 28, 0) == 59);
	CHECK(xlsx_date_to_serial(1900, 3, 1, 0) == 61);
	CHECK(xlsx_date_to_serial(2020, 1, 1, 1) == 42369);
	/* every day of 1900..2100 converts back to itself */
	for (double s = 1; s < 73051; s += 1) {
		if (s == 60)
			continue;
		if (xlsx_serial_to_date(s, 0, &y, &m, &d) || xlsx_date_to_serial(y, m, d, 0) != s) {
			CHECK(!"serial round trip");
			printf("    serial %.0f → %04d-%02d-%02d\n", s, y, m, d);
			break;
		}
	}
}

TEST(xlsx_date_formats)
{
	CHECK(xlsx_format_is_date("yyyy-mm-dd"));
	CHECK(xlsx_format_is_date("yyyy\"年\"m\"月\"d\"日\""));
	CHECK(xlsx_format_is_date("[$-804]yyyy年m月d日"));
	CHECK(xlsx_format_is_date("[DBNum1][$-804]yyyy\"年\"m\"月\"d\"日\""));
	CHECK(xlsx_format_is_date("h:mm:ss AM/PM"));
	CHECK(xlsx_format_is_date("[h]:mm"));
	CHECK(xlsx_format_is_date("mmm-yy"));
	CHECK(!xlsx_format_is_date("General"));
	CHECK(!xlsx_format_is_date("0.00E+00"));
	CHECK(!xlsx_format_is_date("#,##0.00_);[Red](#,##0.00)"));
	CHECK(!xlsx_format_is_date("\"人民币\"#,##0"));
	CHECK(!xlsx_format_is_date("[$¥-804]#,##0.00"));
	CHECK(!xlsx_format_is_date("@"));
	CHECK(!xlsx_format_is_date("0\"d\""));
	CHECK(!xlsx_format_is_date(NULL));
	CHECK(xlsx_builtin_is_date(14) && xlsx_builtin_is_date(22) && xlsx_builtin_is_date(31) &&
	      xlsx_builtin_is_date(57));
	CHECK(!xlsx_builtin_is_date(0) && !xlsx_builtin_is_date(49) && !xlsx_builtin_is_date(11));
}

/* Title rows, a header, shared/inline/rich strings, phonetic runs, gaps,
 * numbers, booleans, errors, formula results, dates, escapes, an empty
 * trailing row and rows Excel did not store. */
TEST(xlsx_cells_of_every_kind)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	const char *path = make_book(
		"kinds.xlsx",
		SHEET("<dimension ref=\"A1:F9\"/><sheetViews><sheetView workbookViewId=\"0\"/></sheetViews>"
		      "<sheetData>"
		      "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>全国防返贫监测信息系统</t></is></c></row>"
		      "<row r=\"3\" spans=\"1:6\"><c r=\"A3\" t=\"s\"><v>0</v></c><c r=\"B3\" t=\"s\"><v>1</v></c>"
		      "<c r=\"D3\" t=\"s\"><v>2</v></c></row>"
		      "<row r=\"4\"><c r=\"A4\"><v>610926001001</v></c><c r=\"B4\" t=\"s\"><v>3</v></c>"
		      "<c r=\"C4\" t=\"s\"><v>4</v></c><c r=\"D4\"><v>6.1092619800101101E+17</v></c>"
		      "<c r=\"E4\" s=\"1\"><v>29221</v></c><c r=\"F4\" s=\"2\"><v>43831.5</v></c></row>"
		      "<row r=\"5\"><c r=\"A5\" s=\"3\"><v>3.5</v></c><c r=\"B5\" t=\"b\"><v>1</v></c>"
		      "<c r=\"C5\" t=\"e\"><v>#N/A</v></c><c r=\"D5\" t=\"str\"><f>A4&amp;\"x\"</f><v>610926001001x</v></c>"
		      "<c r=\"E5\" t=\"s\"><v>5</v></c><c r=\"F5\"><v>0.1</v></c></row>"
		      "<row r=\"6\"><c r=\"A6\"><v>-0</v></c><c r=\"B6\"><v>1E-3</v></c><c r=\"C6\" s=\"4\"><v>12</v></c>"
		      "<c r=\"D6\" t=\"inlineStr\"><is><r><t>富</t></r><r><t>文本</t></r></is></c></row>"
		      "<row r=\"9\"><c r=\"A9\" s=\"1\"/><c r=\"B9\" t=\"s\"/><c r=\"C9\" t=\"inlineStr\"><is><t></t></is></c></row>"
		      "</sheetData><pageMargins left=\"0.7\" right=\"0.7\" top=\"0.75\" bottom=\"0.75\" header=\"0.3\" footer=\"0.3\"/>"),
		NULL);
	CHECK_INT(dump(path, 0, &out, &err), 0);
	CHECK_STR(err.buf, "");
	CHECK_STR(out.buf, "1:A=全国防返贫监测信息系统\n"
			   "3:A=户编号|B=姓名|D=证件号码\n"
			   "4:A=610926001001|B=张三|C= 长期慢性病 |D=6.10926198001011E+17|E=1980-01-01|F=2020-01-01 12:00:00\n"
			   "5:A=3.5|B=TRUE|C=#N/A|D=610926001001x|E=第一行\r\n第二行 a_x0041_b|F=0.1\n"
			   "6:A=0|B=0.001|C=12|D=富文本\n"
			   "9:\n");
	buf_release(&out);
	buf_release(&err);
}

TEST(xlsx_cell_types_and_raw_values)
{
	struct buf err = BUF_INIT;
	const char *path = make_book(
		"types.xlsx",
		SHEET("<sheetData><row r=\"2\"><c r=\"B2\"><v>6.1092619800101101E+17</v></c>"
		      "<c r=\"C2\" s=\"1\"><v>43831</v></c><c r=\"D2\" t=\"s\"><v>1</v></c>"
		      "<c r=\"E2\" t=\"b\"><v>0</v></c><c r=\"F2\" t=\"e\"><v>#DIV/0!</v></c>"
		      "<c r=\"G2\" t=\"d\"><v>2021-03-04T00:00:00</v></c></row></sheetData>"),
		NULL);
	struct xlsx *x = xlsx_open(path, &err);
	struct xlsx_sheet *s;
	const struct xlsx_row *row;
	if (!CHECK(x)) {
		printf("    %s\n", err.buf);
		return;
	}
	CHECK_INT(xlsx_nr_sheets(x), 2);
	CHECK_STR(xlsx_sheet_name(x, 0), "说明");
	CHECK_STR(xlsx_sheet_name(x, 1), "家庭成员");
	CHECK_INT(xlsx_sheet_hidden(x, 0), 1);
	CHECK_INT(xlsx_sheet_find(x, NULL, &err), 1);   /* first visible */
	CHECK_INT(xlsx_sheet_find(x, "说明", &err), 0);  /* by name */
	CHECK_INT(xlsx_sheet_find(x, "2", &err), 1);     /* by position */
	CHECK_STR(err.buf, "");
	CHECK_INT(xlsx_sheet_find(x, "户信息", &err), -1);
	CHECK(strstr(err.buf, "户信息") && strstr(err.buf, "说明、家庭成员"));
	buf_reset(&err);
	s = xlsx_sheet_open(x, 1, 0, &err);
	if (CHECK(s) && CHECK_INT(xlsx_sheet_next(s, &row, &err), 1)) {
		CHECK_INT(row->row, 2);
		CHECK_INT(row->nr_cells, 6);
		CHECK_INT(row->width, 7);
		CHECK_INT(row->cells[0].col, 1);
		CHECK_INT(row->cells[0].type, XLSX_NUMBER);
		CHECK_STR(row->cells[0].raw, "6.1092619800101101E+17");
		CHECK(row->cells[0].num == 6.1092619800101101E+17);
		CHECK_INT(row->cells[1].type, XLSX_DATE);
		CHECK_STR(row->cells[1].text, "2020-01-01");
		CHECK_STR(row->cells[1].raw, "43831");
		CHECK(row->cells[1].num == 43831);
		CHECK_INT(row->cells[1].style, 1);
		CHECK_INT(row->cells[2].type, XLSX_STRING);
		CHECK(row->cells[2].raw == row->cells[2].text);
		CHECK_INT(row->cells[3].type, XLSX_BOOL);
		CHECK_STR(row->cells[3].text, "FALSE");
		CHECK_INT(row->cells[4].type, XLSX_ERROR);
		CHECK_INT(row->cells[5].type, XLSX_DATE);
		CHECK_STR(row->cells[5].text, "2021-03-04");
		CHECK_INT(xlsx_sheet_next(s, &row, &err), 0);
		CHECK_INT(xlsx_sheet_next(s, &row, &err), 0);
		CHECK(xlsx_sheet_progress(s) == 1.0);
	}
	CHECK_STR(err.buf, "");
	xlsx_sheet_close(s);
	/* the hidden sheet can still be read by name */
	s = xlsx_sheet_open(x, xlsx_sheet_find(x, "说明", &err), 0, &err);
	if (CHECK(s) && CHECK_INT(xlsx_sheet_next(s, &row, &err), 1))
		CHECK_STR(row->cells[0].text, "说明页");
	xlsx_sheet_close(s);
	xlsx_close(x);
	buf_release(&err);
}

TEST(xlsx_1904_date_system)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	char wb[2048];
	{
		const char *p = strstr(workbook, "<workbookPr/>");
		snprintf(wb, sizeof(wb), "%.*s<workbookPr date1904=\"1\"/>%s", (int)(p - workbook),
			 workbook, p + 13);
	}
	CHECK_INT(dump(make_book("d1904.xlsx",
				 SHEET("<sheetData><row r=\"1\"><c r=\"A1\" s=\"1\"><v>42369</v></c>"
				       "<c r=\"B1\"><v>42369</v></c></row></sheetData>"),
				 wb),
		       0, &out, &err),
		  0);
	CHECK_STR(out.buf, "1:A=2020-01-01|B=42369\n");
	buf_release(&out);
	buf_release(&err);
}

/* Cells and rows without references follow the previous one; element names
 * may carry a namespace prefix. */
TEST(xlsx_missing_refs_and_prefixes)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	CHECK_INT(dump(make_book("norefs.xlsx",
				 "<x:worksheet xmlns:x=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
				 "<x:sheetData><x:row><x:c t=\"inlineStr\"><x:is><x:t>a</x:t></x:is></x:c>"
				 "<x:c><x:v>1</x:v></x:c><x:c r=\"E1\"><x:v>5</x:v></x:c><x:c><x:v>6</x:v></x:c></x:row>"
				 "<x:row><x:c t=\"s\"><x:v>1</x:v></x:c></x:row>"
				 "<x:row r=\"7\"><x:c r=\"C7\"><x:v>7</x:v></x:c></x:row><x:row><x:c><x:v>8</x:v></x:c></x:row>"
				 "</x:sheetData></x:worksheet>",
				 NULL),
		       0, &out, &err),
		  0);
	CHECK_STR(err.buf, "");
	CHECK_STR(out.buf, "1:A=a|B=1|E=5|F=6\n2:A=姓名\n7:C=7\n8:A=8\n");
	buf_release(&out);
	buf_release(&err);
}

/* Merged ranges: a two-row header whose group cell spans columns, vertical
 * merges (a household's 户编号 over its members' rows), a range starting in
 * a row with no other cells. */
TEST(xlsx_merged_cells)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	const char *path = make_book(
		"merged.xlsx",
		SHEET("<sheetData>"
		      "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>户编号</t></is></c>"
		      "<c r=\"B1\" t=\"inlineStr\"><is><t>家庭成员</t></is></c><c r=\"C1\" s=\"1\"/></row>"
		      "<row r=\"2\"><c r=\"A2\" s=\"1\"/><c r=\"B2\" t=\"s\"><v>1</v></c><c r=\"C2\" t=\"s\"><v>2</v></c></row>"
		      "<row r=\"3\"><c r=\"A3\" t=\"inlineStr\"><is><t>H1</t></is></c><c r=\"B3\" t=\"s\"><v>3</v></c>"
		      "<c r=\"C3\"><v>1</v></c></row>"
		      "<row r=\"4\"><c r=\"B4\" t=\"inlineStr\"><is><t>李四</t></is></c><c r=\"C4\"><v>2</v></c></row>"
		      "<row r=\"5\"><c r=\"B5\" t=\"inlineStr\"><is><t>王五</t></is></c><c r=\"C5\"><v>3</v></c></row>"
		      "<row r=\"6\"><c r=\"A6\"><v>2</v></c><c r=\"B6\" t=\"inlineStr\"><is><t>赵六</t></is></c></row>"
		      "</sheetData>"
		      "<mergeCells count=\"4\"><mergeCell ref=\"A1:A2\"/><mergeCell ref=\"B1:C1\"/>"
		      "<mergeCell ref=\"A3:A5\"/><mergeCell ref=\"A6:A8\"/></mergeCells>"),
		NULL);
	CHECK_INT(dump(path, XLSX_FILL_MERGED, &out, &err), 0);
	CHECK_STR(err.buf, "");
	CHECK_STR(out.buf, "1:A=户编号|B=家庭成员|*C=家庭成员\n"
			   "2:*A=户编号|B=姓名|C=证件号码\n"
			   "3:A=H1|B=张三|C=1\n"
			   "4:*A=H1|B=李四|C=2\n"
			   "5:*A=H1|B=王五|C=3\n"
			   "6:A=2|B=赵六\n");
	/* without the flag the ranges are still known after the last row */
	{
		struct xlsx *x = xlsx_open(path, &err);
		struct xlsx_sheet *s = xlsx_sheet_open(x, 1, 0, &err);
		const struct xlsx_row *row;
		const struct xlsx_merge *m;
		int n = 0, rows = 0;
		while (xlsx_sheet_next(s, &row, &err) == 1)
			rows++;
		CHECK_INT(rows, 6);
		m = xlsx_sheet_merges(s, &n);
		CHECK_INT(n, 0); /* only collected when asked for */
		(void)m;
		xlsx_sheet_close(s);
		s = xlsx_sheet_open(x, 1, XLSX_FILL_MERGED, &err);
		m = xlsx_sheet_merges(s, &n);
		if (CHECK_INT(n, 4)) {
			CHECK(m[0].row1 == 0 && m[0].row2 == 1 && m[0].col1 == 0 && m[0].col2 == 0);
			CHECK(m[1].row1 == 0 && m[1].col1 == 1 && m[1].col2 == 2);
		}
		xlsx_sheet_close(s);
		xlsx_close(x);
	}
	buf_release(&out);
	buf_release(&err);
}

static void expect_open_error(const char *path, const char *want)
{
	struct buf err = BUF_INIT, out = BUF_INIT;
	int rc = dump(path, XLSX_FILL_MERGED, &out, &err);
	CHECK_INT(rc, -1);
	if (!CHECK(strstr(err.buf, want)))
		printf("    message was: %s (want %s)\n", err.buf, want);
	buf_release(&err);
	buf_release(&out);
}

TEST(xlsx_broken_files)
{
	const char *path = tmpfile_path("notzip.xlsx");
	FILE *f = fopen(path, "w");
	fputs("户编号,姓名\nH1,张三\n", f);
	fclose(f);
	expect_open_error(path, "不是 zip 格式");
	expect_open_error(tmpfile_path("nonexistent.xlsx"), "无法打开");

	/* a zip without a workbook (a .docx, say) */
	{
		const char *p = tmpfile_path("nowb.xlsx");
		struct part parts[] = { { "word/document.xml", "<w/>" }, { NULL, NULL } };
		write_zip(p, parts);
		expect_open_error(p, "没有 workbook.xml");
	}
	/* malformed XML in the sheet: the rows before it are read, then an error */
	expect_open_error(make_book("badxml.xlsx",
				    SHEET("<sheetData><row r=\"1\"><c r=\"A1\"><v>1</v></c></row>"
					  "<row r=\"2\"><c r=\"A2\"><v>2</v></row></sheetData>"),
				    NULL),
			  "XML 格式错误");
	/* a shared-string index past the table */
	expect_open_error(make_book("badsst.xlsx",
				    SHEET("<sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>99</v></c></row></sheetData>"),
				    NULL),
			  "不存在的共享字符串 99");
	expect_open_error(make_book("badnum.xlsx",
				    SHEET("<sheetData><row r=\"1\"><c r=\"A1\"><v>12abc</v></c></row></sheetData>"),
				    NULL),
			  "无法识别");
	expect_open_error(make_book("badref.xlsx",
				    SHEET("<sheetData><row r=\"2\"><c r=\"A1\"><v>1</v></c></row></sheetData>"),
				    NULL),
			  "单元格引用“A1”无效");
	expect_open_error(make_book("backrow.xlsx",
				    SHEET("<sheetData><row r=\"2\"/><row r=\"1\"/></sheetData>"), NULL),
			  "顺序颠倒");
	expect_open_error(make_book("dtd.xlsx",
				    "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]>"
				    "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>&a;</t></is></c></row>"
				    "</sheetData></worksheet>",
				    NULL),
			  "DTD");
	/* a truncated file: the first 60% of a good one */
	{
		const char *good = make_book("good.xlsx",
					     SHEET("<sheetData><row r=\"1\"><c r=\"A1\"><v>1</v></c></row></sheetData>"),
					     NULL);
		const char *cut = tmpfile_path("cut.xlsx");
		FILE *in = fopen(good, "rb"), *o = fopen(cut, "wb");
		char b[65536];
		size_t n = fread(b, 1, sizeof(b), in);
		fwrite(b, 1, n * 6 / 10, o);
		fclose(in);
		fclose(o);
		expect_open_error(cut, "不是 zip 格式");
	}
	/* from memory, too */
	{
		struct buf err = BUF_INIT;
		CHECK(!xlsx_open_mem("PK\x03\x04garbage", 11, &err));
		CHECK(strstr(err.buf, "zip"));
		buf_release(&err);
	}
}

/* A corrupted deflate stream inside an otherwise valid zip. */
TEST(xlsx_corrupt_entry)
{
	struct buf err = BUF_INIT, out = BUF_INIT, big = BUF_INIT;
	const char *path;
	FILE *f;
	long size;
	char *data;
	buf_addstr(&big, "<?xml version=\"1.0\"?><worksheet><sheetData>");
	for (int r = 1; r <= 3000; r++)
		buf_addf(&big, "<row r=\"%d\"><c r=\"A%d\" t=\"inlineStr\"><is><t>行%d 的内容 %d</t></is></c></row>",
			 r, r, r, r * 7919 % 1000);
	buf_addstr(&big, "</sheetData></worksheet>");
	path = make_book("corrupt.xlsx", big.buf, NULL);
	f = fopen(path, "r+b");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	data = malloc((size_t)size);
	fseek(f, 0, SEEK_SET);
	CHECK(fread(data, 1, (size_t)size, f) == (size_t)size);
	/* flip bytes in the middle of the largest entry's compressed data */
	{
		char *p = memmem(data, (size_t)size, "xl/worksheets/sheet2.xml", 24);
		if (CHECK(p)) {
			long at = (p - data) + 24 + 200;
			for (int k = 0; k < 40; k++)
				data[at + k] ^= 0x5a;
			fseek(f, 0, SEEK_SET);
			fwrite(data, 1, (size_t)size, f);
		}
	}
	fclose(f);
	free(data);
	CHECK_INT(dump(path, 0, &out, &err), -1);
	if (!CHECK(strstr(err.buf, "损坏")))
		printf("    message was: %s\n", err.buf);
	buf_release(&err);
	buf_release(&out);
	buf_release(&big);
}

/* A workbook written by libxlsxwriter (inline strings in constant-memory
 * mode, shared strings otherwise) reads back value for value. */
static void libxlsxwriter_round_trip(int constant_memory)
{
	const char *path = tmpfile_path(constant_memory ? "lxw_cm.xlsx" : "lxw.xlsx");
	lxw_workbook_options opt = { .constant_memory = (uint8_t)constant_memory };
	lxw_workbook *wb = workbook_new_opt(path, &opt);
	lxw_worksheet *ws = workbook_add_worksheet(wb, "成员");
	lxw_format *date = workbook_add_format(wb);
	lxw_datetime dt = { 1980, 2, 29, 0, 0, 0 };
	struct buf out = BUF_INIT, err = BUF_INIT;
	format_set_num_format(date, "yyyy-mm-dd");
	worksheet_write_string(ws, 0, 0, "户编号", NULL);
	worksheet_write_string(ws, 0, 2, "证件号码", NULL);
	worksheet_write_number(ws, 1, 0, 610926001001.0, NULL);
	worksheet_write_string(ws, 1, 1, "<张&三>", NULL);
	worksheet_write_number(ws, 1, 2, 610926198002291234.0, NULL);
	worksheet_write_datetime(ws, 1, 3, &dt, date);
	worksheet_write_boolean(ws, 1, 4, 1, NULL);
	for (int r = 2; r < 2000; r++)
		worksheet_write_number(ws, (lxw_row_t)r, 0, r, NULL);
	CHECK_INT(workbook_close(wb), LXW_NO_ERROR);
	CHECK_INT(dump(path, XLSX_FILL_MERGED, &out, &err), 0);
	CHECK_STR(err.buf, "");
	CHECK(!strncmp(out.buf, "1:A=户编号|C=证件号码\n2:A=610926001001|B=<张&三>|C=6.10926198002291E+17|D=1980-02-29|E=TRUE\n3:A=2\n", 94));
	CHECK(strstr(out.buf, "\n2000:A=1999\n"));
	buf_release(&out);
	buf_release(&err);
}

TEST(xlsx_libxlsxwriter_files)
{
	libxlsxwriter_round_trip(0);
	libxlsxwriter_round_trip(1);
}

/* The push form stops when the callback asks. */
static int count_rows(const struct xlsx_row *row, void *ctx)
{
	int *n = ctx;
	return ++*n == 3 ? 7 : 0;
}

TEST(xlsx_foreach)
{
	struct buf err = BUF_INIT;
	const char *path = make_book("each.xlsx",
				     SHEET("<sheetData><row r=\"1\"/><row r=\"2\"/><row r=\"3\"/><row r=\"4\"/></sheetData>"),
				     NULL);
	struct xlsx *x = xlsx_open(path, &err);
	int n = 0;
	CHECK_INT(xlsx_sheet_foreach(x, 1, 0, count_rows, &n, &err), 7);
	CHECK_INT(n, 3);
	xlsx_close(x);
	buf_release(&err);
}

/* ---- the writer (base/xlsxw.c), read back by the reader ---------------------- */

#include "base/xlsxw.h"

TEST(xlsxw_round_trip_through_the_reader)
{
	const char *path = tmpfile_path("xw.xlsx");
	struct buf err = BUF_INIT, out = BUF_INIT;
	struct xlsxw *w = xlsxw_open(&err);
	double widths[] = { 20, 12, 8 };
	if (!CHECK(w))
		return;
	xlsxw_sheet(w, "家庭成员", widths, 3);
	xlsxw_text(w, 0, 0, "标题 <&> \"引号\"", XS_TITLE);
	xlsxw_merge(w, 0, 0, 0, 2);
	xlsxw_text(w, 1, 0, "户编号", XS_HEADER);
	xlsxw_text(w, 1, 1, "姓名", XS_HEADER);
	xlsxw_text(w, 1, 2, "出生日期", XS_HEADER);
	xlsxw_freeze(w, 2);
	xlsxw_text(w, 2, 0, "610926100001901", XS_TEXT);
	xlsxw_text(w, 2, 1, " 前后空格 ", 0);
	xlsxw_number(w, 2, 2, xlsx_date_to_serial(1980, 2, 29, 0), XS_DATE);
	xlsxw_text(w, 3, 0, "a_x0041_b\r\nc\x01" "d", 0);   /* a literal escape, CR, a control */
	xlsxw_number(w, 3, 1, 0.1 + 0.2, 0);
	xlsxw_number(w, 3, 2, -1234567.5, XS_MONEY);
	xlsxw_text(w, 4, 0, "bad \xff\xfe utf8", XS_BAD);
	xlsxw_blank(w, 4, 1, XS_BAD_TEXT);
	xlsxw_text(w, 4, 2, "", 0);                          /* nothing */
	xlsxw_number(w, 6, 26 * 26 + 25, 42, 0);             /* column ZZ after a gap */
	xlsxw_sheet(w, "第二[页]", NULL, 0);
	xlsxw_text(w, 0, 0, "二", 0);
	CHECK_INT(xlsxw_close(w, path, &err), 0);
	CHECK_STR(err.buf, "");
	CHECK_INT(dump(path, XLSX_FILL_MERGED, &out, &err), 0);
	CHECK_STR(err.buf, "");
	CHECK_STR(out.buf, "1:A=标题 <&> \"引号\"|*B=标题 <&> \"引号\"|*C=标题 <&> \"引号\"\n"
			   "2:A=户编号|B=姓名|C=出生日期\n"
			   "3:A=610926100001901|B= 前后空格 |C=1980-02-29\n"
			   "4:A=a_x0041_b\r\nc\x01" "d|B=0.3|C=-1234567.5\n"
			   "5:A=bad \xef\xbf\xbd\xef\xbf\xbd utf8\n"
			   "7:ZZ=42\n");
	{
		struct xlsx *x = xlsx_open(path, &err);
		struct xlsx_sheet *s;
		const struct xlsx_row *row;
		if (CHECK(x)) {
			CHECK_INT(xlsx_nr_sheets(x), 2);
			CHECK_STR(xlsx_sheet_name(x, 1), "第二_页_");
			s = xlsx_sheet_open(x, 1, 0, &err);
			if (CHECK(s) && CHECK_INT(xlsx_sheet_next(s, &row, &err), 1))
				CHECK_STR(row->cells[0].text, "二");
			xlsx_sheet_close(s);
			xlsx_close(x);
		}
	}
	{
		/* the frozen header and the widths are in the sheet part */
		int zerr = 0;
		zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
		zip_file_t *f = z ? zip_fopen(z, "xl/worksheets/sheet1.xml", 0) : NULL;
		char xml[4096] = "";
		if (CHECK(f)) {
			zip_int64_t n = zip_fread(f, xml, sizeof(xml) - 1);
			xml[n > 0 ? n : 0] = '\0';
			zip_fclose(f);
		}
		CHECK(strstr(xml, "<pane ySplit=\"2\" topLeftCell=\"A3\""));
		CHECK(strstr(xml, "<col min=\"1\" max=\"1\" width=\"20.71\""));
		if (z)
			zip_discard(z);
	}
	buf_release(&out);
	buf_release(&err);
}

TEST(xlsxw_refuses_rows_going_back)
{
	const char *path = tmpfile_path("xwback.xlsx");
	struct buf err = BUF_INIT;
	struct xlsxw *w = xlsxw_open(&err);
	xlsxw_sheet(w, "S", NULL, 0);
	xlsxw_text(w, 5, 0, "x", 0);
	xlsxw_text(w, 2, 0, "y", 0);
	CHECK_INT(xlsxw_close(w, path, &err), -1);
	CHECK(err.len > 0);
	buf_release(&err);
}

/* Rows far apart and many of them: the writer streams (a quick size check). */
TEST(xlsxw_many_rows)
{
	const char *path = tmpfile_path("xwmany.xlsx");
	struct buf err = BUF_INIT;
	struct xlsxw *w = xlsxw_open(&err);
	struct xlsx *x;
	struct xlsx_sheet *s;
	const struct xlsx_row *row;
	long n = 0, last = 0;
	xlsxw_sheet(w, "S", NULL, 0);
	for (long r = 0; r < 60000; r++) {
		xlsxw_number(w, r, 0, (double)r, 0);
		xlsxw_text(w, r, 1, "张三丰 & 李四", XS_TEXT);
	}
	CHECK_INT(xlsxw_close(w, path, &err), 0);
	x = xlsx_open(path, &err);
	s = x ? xlsx_sheet_open(x, 0, 0, &err) : NULL;
	while (s && xlsx_sheet_next(s, &row, &err) == 1) {
		n++;
		last = (long)row->cells[0].num;
	}
	CHECK_INT(n, 60000);
	CHECK_INT(last, 59999);
	CHECK_STR(err.buf, "");
	xlsx_sheet_close(s);
	xlsx_close(x);
	buf_release(&err);
}
