/* xlsxw.c — the streaming .xlsx writer (see xlsxw.h).
 *
 * Each sheet's <sheetData> rows are appended to a buffer flushed to an
 * unlinked temporary file; at close each sheet part is served to libzip by a
 * source callback as prefix (views, columns) + the rows from the file +
 * suffix (merged cells), so the views and merges may be decided after the
 * rows are written.  The fixed parts (content types, relationships, the
 * workbook, styles, document properties) are built in memory. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#include "base/csv.h"
#include "base/util.h"
#include "base/xlsx.h"
#include "base/xlsxw.h"

#define NS_MAIN "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define NS_REL "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define NS_PKG "http://schemas.openxmlformats.org/package/2006/relationships"
#define FLUSH_AT (1 << 20)

struct xw_sheet {
	char *name;          /* the tab's name, UTF-8 */
	FILE *rows;          /* the <row> elements written so far (unlinked temp file) */
	long nr_rows_bytes;  /* bytes in `rows` */
	struct buf cols;     /* <cols> element, "" when no widths */
	long freeze;         /* rows frozen at the top, 0 = none */
	struct buf merges;   /* <mergeCell .../> elements */
	int nr_merges;
	/* filled at close: the part's prefix and suffix */
	struct buf prefix, suffix;
};

struct xlsxw {
	struct xw_sheet *sheets;
	int nr_sheets, alloc_sheets;
	struct buf data;     /* rows not yet flushed to the current sheet's file */
	long row;            /* current row (0-based), -1 = none open */
	char row_text[12];   /* row + 1 as text, for the cell references */
	size_t row_len;
	int failed;
	char *tmpdir;
	struct buf parts[6]; /* the small parts, alive until zip_close */
};

/* ---- text ------------------------------------------------------------------ */

/* Append "A", "AB"... for 0-based `col`. */
static void add_col(struct buf *b, int col)
{
	char s[4];
	xlsx_col_name(col, s);
	buf_addstr(b, s);
}

/* Length of the valid UTF-8 sequence at `p` (n bytes available), or 0. */
static int utf8_len(const unsigned char *p, size_t n)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF && n >= 2 && (p[1] & 0xC0) == 0x80)
		return 2;
	if (p[0] >= 0xE0 && p[0] <= 0xEF && n >= 3 && (p[1] & 0xC0) == 0x80 &&
	    (p[2] & 0xC0) == 0x80) {
		unsigned cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
		if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
			return 0;
		return 3;
	}
	if (p[0] >= 0xF0 && p[0] <= 0xF4 && n >= 4 && (p[1] & 0xC0) == 0x80 &&
	    (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80) {
		unsigned cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) |
			      (p[3] & 0x3Fu);
		return cp >= 0x10000 && cp <= 0x10FFFF ? 4 : 0;
	}
	return 0;
}

/* Append `s` escaped for XML text: & < > as entities; control characters,
 * CR and a literal "_xHHHH_" as OOXML escapes; invalid UTF-8 as U+FFFD. */
static void add_xml_text(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	/* valid UTF-8 (what the database holds) passes through in runs */
	unsigned char hi = utf8_valid(s, n) ? 0xFF : 0x7F;
	while (n) {
		/* copy the run that needs nothing */
		size_t run = 0;
		while (run < n && p[run] >= 0x20 && p[run] <= hi && p[run] != '&' && p[run] != '<' &&
		       p[run] != '>' && p[run] != '_' && p[run] != 0x7F)
			run++;
		if (run) {
			buf_add(b, p, run);
			p += run;
			n -= run;
			continue;
		}
		switch (*p) {
		case '&': buf_addstr(b, "&amp;"); p++, n--; continue;
		case '<': buf_addstr(b, "&lt;"); p++, n--; continue;
		case '>': buf_addstr(b, "&gt;"); p++, n--; continue;
		case '_': {
			int esc = n >= 7 && p[1] == 'x' && p[6] == '_';
			for (int k = 2; k < 6 && esc; k++)
				esc = (p[k] >= '0' && p[k] <= '9') || (p[k] >= 'a' && p[k] <= 'f') ||
				      (p[k] >= 'A' && p[k] <= 'F');
			buf_addstr(b, esc ? "_x005F_" : "_");
			p++, n--;
			continue;
		}
		case '\t':
		case '\n':
			buf_addch(b, *p);
			p++, n--;
			continue;
		}
		if (*p < 0x20 || *p == 0x7F) {
			buf_addf(b, "_x%04X_", *p);
			p++, n--;
			continue;
		}
		{
			int l = utf8_len(p, n);
			if (l) {
				buf_add(b, p, (size_t)l);
				p += l;
				n -= (size_t)l;
			} else {
				buf_addstr(b, "\xef\xbf\xbd");
				p++, n--;
			}
		}
	}
}

/* Append `s` escaped for an attribute value (quotes too). */
static void add_xml_attr(struct buf *b, const char *s)
{
	struct buf t = BUF_INIT;
	add_xml_text(&t, s);
	for (size_t i = 0; i < t.len; i++) {
		if (t.buf[i] == '"')
			buf_addstr(b, "&quot;");
		else if (t.buf[i] == '\n' || t.buf[i] == '\t')
			buf_addf(b, "&#%d;", t.buf[i]);
		else
			buf_addch(b, t.buf[i]);
	}
	buf_release(&t);
}

/* ---- writing cells ----------------------------------------------------------- */

static struct xw_sheet *cur(struct xlsxw *w)
{
	return w->nr_sheets ? &w->sheets[w->nr_sheets - 1] : NULL;
}

static void flush_rows(struct xlsxw *w)
{
	struct xw_sheet *s = cur(w);
	if (!s || !w->data.len)
		return;
	if (!w->failed && fwrite(w->data.buf, 1, w->data.len, s->rows) != w->data.len)
		w->failed = errno ? errno : EIO;
	s->nr_rows_bytes += (long)w->data.len;
	buf_reset(&w->data);
}

/* Open row `row` (closing the previous one) and start cell `col`:
 * writes '<c r="B7"' and returns 0, or -1 when the writer cannot take it. */
static int cell_start(struct xlsxw *w, long row, int col, enum xlsxw_style style)
{
	if (!cur(w) || row < w->row || row >= 1048576 || col < 0 || col >= 16384) {
		w->failed = w->failed ? w->failed : EINVAL;
		return -1;
	}
	if (row != w->row) {
		if (w->row >= 0)
			buf_add(&w->data, "</row>", 6);
		if (w->data.len > FLUSH_AT)
			flush_rows(w);
		w->row_len = (size_t)snprintf(w->row_text, sizeof(w->row_text), "%ld", row + 1);
		buf_add(&w->data, "<row r=\"", 8);
		buf_add(&w->data, w->row_text, w->row_len);
		buf_add(&w->data, "\">", 2);
		w->row = row;
	}
	{
		/* '<c r="AB12" s="4"': no printf on this path */
		char t[32];
		size_t n = 0;
		memcpy(t, "<c r=\"", 6);
		n = 6;
		{
			char letters[4];
			xlsx_col_name(col, letters);
			for (char *l = letters; *l; l++)
				t[n++] = *l;
		}
		memcpy(t + n, w->row_text, w->row_len);
		n += w->row_len;
		t[n++] = '"';
		if (style) {
			memcpy(t + n, " s=\"", 4);
			n += 4;
			if (style >= 10)
				t[n++] = (char)('0' + style / 10);
			t[n++] = (char)('0' + style % 10);
			t[n++] = '"';
		}
		buf_add(&w->data, t, n);
	}
	return 0;
}

void xlsxw_text(struct xlsxw *w, long row, int col, const char *s, enum xlsxw_style style)
{
	if (!s || !*s) {
		if (style)
			xlsxw_blank(w, row, col, style);
		return;
	}
	if (cell_start(w, row, col, style))
		return;
	/* leading or trailing spaces and line breaks survive only with xml:space */
	if (s[0] == ' ' || s[strlen(s) - 1] == ' ' || strchr(s, '\n') || strchr(s, '\t'))
		buf_addstr(&w->data, " t=\"inlineStr\"><is><t xml:space=\"preserve\">");
	else
		buf_addstr(&w->data, " t=\"inlineStr\"><is><t>");
	add_xml_text(&w->data, s);
	buf_addstr(&w->data, "</t></is></c>");
}

void xlsxw_number(struct xlsxw *w, long row, int col, double v, enum xlsxw_style style)
{
	char t[40];
	if (!isfinite(v)) {
		xlsxw_text(w, row, col, isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity", style);
		return;
	}
	if (cell_start(w, row, col, style))
		return;
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(t, sizeof(t), "%.0f", v == 0 ? 0.0 : v);
	} else {
		snprintf(t, sizeof(t), "%.15g", v);
		if (strtod(t, NULL) != v)
			snprintf(t, sizeof(t), "%.17g", v);
	}
	buf_addf(&w->data, "><v>%s</v></c>", t);
}

void xlsxw_blank(struct xlsxw *w, long row, int col, enum xlsxw_style style)
{
	if (!style || cell_start(w, row, col, style))
		return;
	buf_addstr(&w->data, "/>");
}

/* ---- sheets -------------------------------------------------------------------- */

struct xlsxw *xlsxw_open(struct buf *err)
{
	struct xlsxw *w = xcalloc(1, sizeof(*w));
	const char *d = getenv("TMPDIR");
	w->tmpdir = xstrdup(d && *d ? d : "/tmp");
	w->row = -1;
	buf_init(&w->data, FLUSH_AT + 4096);
	for (size_t i = 0; i < ARRAY_SIZE(w->parts); i++)
		buf_init(&w->parts[i], 0);
	if (access(w->tmpdir, W_OK)) {
		buf_addf(err, "无法在 %s 中创建临时文件：%s", w->tmpdir, strerror(errno));
		xlsxw_abort(w);
		return NULL;
	}
	return w;
}

void xlsxw_sheet(struct xlsxw *w, const char *name, const double *widths, int nr)
{
	struct xw_sheet *s;
	char *path;
	int fd;
	if (cur(w)) {
		if (w->row >= 0)
			buf_addstr(&w->data, "</row>");
		flush_rows(w);
	}
	w->row = -1;
	ALLOC_GROW(w->sheets, w->nr_sheets + 1, w->alloc_sheets);
	s = &w->sheets[w->nr_sheets++];
	memset(s, 0, sizeof(*s));
	buf_init(&s->cols, 0);
	buf_init(&s->merges, 0);
	buf_init(&s->prefix, 0);
	buf_init(&s->suffix, 0);
	{
		/* Excel allows 31 characters and none of : \ / ? * [ ] */
		struct buf n = BUF_INIT;
		int chars = 0;
		for (const char *p = name && *name ? name : "Sheet1"; *p && chars < 31; chars++) {
			int l = utf8_len((const unsigned char *)p, strlen(p));
			if (!l)
				l = 1;
			if (strchr(":\\/?*[]", *p))
				buf_addch(&n, '_');
			else
				buf_add(&n, p, (size_t)l);
			p += l;
		}
		s->name = buf_detach(&n, NULL);
	}
	path = xstrfmt("%s/liubao-xlsxw-XXXXXX", w->tmpdir);
	fd = mkstemp(path);
	if (fd >= 0) {
		unlink(path);
		s->rows = fdopen(fd, "w+b");
	}
	if (!s->rows)
		w->failed = errno ? errno : EIO;
	free(path);
	for (int c = 0; c < nr; c++) {
		if (!c)
			buf_addstr(&s->cols, "<cols>");
		buf_addf(&s->cols, "<col min=\"%d\" max=\"%d\" width=\"%.2f\" customWidth=\"1\"/>", c + 1,
			 c + 1, (widths[c] > 0 ? widths[c] : 10) + 0.71);
		if (c == nr - 1)
			buf_addstr(&s->cols, "</cols>");
	}
}

void xlsxw_freeze(struct xlsxw *w, long rows)
{
	if (cur(w))
		cur(w)->freeze = rows;
}

void xlsxw_merge(struct xlsxw *w, long r1, int c1, long r2, int c2)
{
	struct xw_sheet *s = cur(w);
	if (!s)
		return;
	buf_addstr(&s->merges, "<mergeCell ref=\"");
	add_col(&s->merges, c1);
	buf_addf(&s->merges, "%ld:", r1 + 1);
	add_col(&s->merges, c2);
	buf_addf(&s->merges, "%ld\"/>", r2 + 1);
	s->nr_merges++;
}

/* ---- packing ------------------------------------------------------------------- */

static const char styles_xml[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
	"<styleSheet xmlns=\"" NS_MAIN "\">"
	"<numFmts count=\"1\"><numFmt numFmtId=\"164\" formatCode=\"yyyy\\-mm\\-dd\"/></numFmts>"
	"<fonts count=\"4\">"
	"<font><sz val=\"11\"/><color theme=\"1\"/><name val=\"Calibri\"/><family val=\"2\"/>"
	"<scheme val=\"minor\"/></font>"
	"<font><b/><sz val=\"11\"/><color theme=\"1\"/><name val=\"Calibri\"/><family val=\"2\"/>"
	"<scheme val=\"minor\"/></font>"
	"<font><b/><sz val=\"14\"/><color theme=\"1\"/><name val=\"Calibri\"/><family val=\"2\"/>"
	"<scheme val=\"minor\"/></font>"
	"<font><sz val=\"11\"/><color rgb=\"FF9C0006\"/><name val=\"Calibri\"/><family val=\"2\"/>"
	"<scheme val=\"minor\"/></font></fonts>"
	"<fills count=\"4\"><fill><patternFill patternType=\"none\"/></fill>"
	"<fill><patternFill patternType=\"gray125\"/></fill>"
	"<fill><patternFill patternType=\"solid\"><fgColor rgb=\"FFD9D9D9\"/><bgColor indexed=\"64\"/>"
	"</patternFill></fill>"
	"<fill><patternFill patternType=\"solid\"><fgColor rgb=\"FFFFC7CE\"/><bgColor indexed=\"64\"/>"
	"</patternFill></fill></fills>"
	"<borders count=\"2\"><border><left/><right/><top/><bottom/><diagonal/></border>"
	"<border><left style=\"thin\"><color auto=\"1\"/></left><right style=\"thin\"><color "
	"auto=\"1\"/></right><top style=\"thin\"><color auto=\"1\"/></top><bottom style=\"thin\">"
	"<color auto=\"1\"/></bottom><diagonal/></border></borders>"
	"<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/>"
	"</cellStyleXfs>"
	"<cellXfs count=\"11\">"
	"<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>"
	"<xf numFmtId=\"0\" fontId=\"1\" fillId=\"2\" borderId=\"1\" xfId=\"0\" applyFont=\"1\" "
	"applyFill=\"1\" applyBorder=\"1\" applyAlignment=\"1\"><alignment horizontal=\"center\" "
	"vertical=\"center\" wrapText=\"1\"/></xf>"
	"<xf numFmtId=\"0\" fontId=\"2\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\" "
	"applyAlignment=\"1\"><alignment horizontal=\"center\"/></xf>"
	"<xf numFmtId=\"0\" fontId=\"3\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\"/>"
	"<xf numFmtId=\"49\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" "
	"applyNumberFormat=\"1\"/>"
	"<xf numFmtId=\"164\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" "
	"applyNumberFormat=\"1\"/>"
	"<xf numFmtId=\"4\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" "
	"applyNumberFormat=\"1\"/>"
	"<xf numFmtId=\"0\" fontId=\"3\" fillId=\"3\" borderId=\"0\" xfId=\"0\" applyFont=\"1\" "
	"applyFill=\"1\"/>"
	"<xf numFmtId=\"49\" fontId=\"3\" fillId=\"3\" borderId=\"0\" xfId=\"0\" applyFont=\"1\" "
	"applyFill=\"1\" applyNumberFormat=\"1\"/>"
	"<xf numFmtId=\"164\" fontId=\"3\" fillId=\"3\" borderId=\"0\" xfId=\"0\" applyFont=\"1\" "
	"applyFill=\"1\" applyNumberFormat=\"1\"/>"
	"<xf numFmtId=\"4\" fontId=\"3\" fillId=\"3\" borderId=\"0\" xfId=\"0\" applyFont=\"1\" "
	"applyFill=\"1\" applyNumberFormat=\"1\"/>"
	"</cellXfs>"
	"<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>"
	"</styleSheet>\n";

/* The source callback state of one sheet part. */
struct part_src {
	struct xw_sheet *s;
	int stage;      /* 0 prefix, 1 rows, 2 suffix, 3 done */
	size_t off;     /* offset within the prefix/suffix */
	zip_error_t error;
};

static zip_int64_t part_read(struct part_src *p, void *data, zip_uint64_t len)
{
	zip_uint64_t done = 0;
	while (done < len && p->stage < 3) {
		if (p->stage == 1) {
			size_t n = fread((char *)data + done, 1, (size_t)(len - done), p->s->rows);
			if (n == 0) {
				if (ferror(p->s->rows)) {
					zip_error_set(&p->error, ZIP_ER_READ, errno);
					return -1;
				}
				p->stage++;
				p->off = 0;
			}
			done += n;
		} else {
			struct buf *b = p->stage == 0 ? &p->s->prefix : &p->s->suffix;
			size_t n = b->len - p->off;
			if (n > len - done)
				n = (size_t)(len - done);
			memcpy((char *)data + done, b->buf + p->off, n);
			p->off += n;
			done += n;
			if (p->off == b->len) {
				p->stage++;
				p->off = 0;
			}
		}
	}
	return (zip_int64_t)done;
}

static zip_int64_t part_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
	struct part_src *p = ud;
	switch (cmd) {
	case ZIP_SOURCE_OPEN:
		p->stage = 0;
		p->off = 0;
		if (fseek(p->s->rows, 0, SEEK_SET)) {
			zip_error_set(&p->error, ZIP_ER_SEEK, errno);
			return -1;
		}
		return 0;
	case ZIP_SOURCE_READ:
		return part_read(p, data, len);
	case ZIP_SOURCE_CLOSE:
		return 0;
	case ZIP_SOURCE_STAT: {
		zip_stat_t *st = data;
		zip_stat_init(st);
		st->size = (zip_uint64_t)p->s->prefix.len + (zip_uint64_t)p->s->nr_rows_bytes +
			   (zip_uint64_t)p->s->suffix.len;
		st->mtime = time(NULL);
		st->valid = ZIP_STAT_SIZE | ZIP_STAT_MTIME;
		return sizeof(*st);
	}
	case ZIP_SOURCE_ERROR:
		return zip_error_to_data(&p->error, data, len);
	case ZIP_SOURCE_FREE:
		zip_error_fini(&p->error);
		free(p);
		return 0;
	case ZIP_SOURCE_SUPPORTS:
		return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ,
						      ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
						      ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
	default:
		zip_error_set(&p->error, ZIP_ER_OPNOTSUPP, 0);
		return -1;
	}
}

/* The prefix and suffix around sheet `i`'s rows. */
static void sheet_frame(struct xlsxw *w, int i)
{
	struct xw_sheet *s = &w->sheets[i];
	buf_addstr(&s->prefix, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
			       "<worksheet xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\">");
	buf_addf(&s->prefix, "<sheetViews><sheetView%s workbookViewId=\"0\">",
		 i == 0 ? " tabSelected=\"1\"" : "");
	if (s->freeze > 0)
		buf_addf(&s->prefix, "<pane ySplit=\"%ld\" topLeftCell=\"A%ld\" activePane=\"bottomLeft\" "
				     "state=\"frozen\"/><selection pane=\"bottomLeft\"/>",
			 s->freeze, s->freeze + 1);
	buf_addstr(&s->prefix, "</sheetView></sheetViews><sheetFormatPr defaultRowHeight=\"15\"/>");
	buf_add(&s->prefix, s->cols.buf, s->cols.len);
	buf_addstr(&s->prefix, "<sheetData>");
	buf_addstr(&s->suffix, "</sheetData>");
	if (s->nr_merges)
		buf_addf(&s->suffix, "<mergeCells count=\"%d\">%s</mergeCells>", s->nr_merges,
			 s->merges.buf);
	buf_addstr(&s->suffix, "<pageMargins left=\"0.7\" right=\"0.7\" top=\"0.75\" bottom=\"0.75\" "
			       "header=\"0.3\" footer=\"0.3\"/></worksheet>\n");
}

static int add_part(zip_t *z, const char *name, struct buf *b)
{
	zip_source_t *src = zip_source_buffer(z, b->buf, b->len, 0);
	if (!src || zip_file_add(z, name, src, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE) < 0) {
		zip_source_free(src);
		return -1;
	}
	return 0;
}

int xlsxw_close(struct xlsxw *w, const char *path, struct buf *err)
{
	struct buf *ct = &w->parts[0], *rels = &w->parts[1], *wb = &w->parts[2];
	struct buf *wbrels = &w->parts[3], *app = &w->parts[4], *core = &w->parts[5];
	struct buf styles = BUF_INIT;
	char now[20];
	int zerr = 0, rc = -1;
	zip_t *z;

	if (!w->nr_sheets)
		xlsxw_sheet(w, "Sheet1", NULL, 0);
	if (w->row >= 0)
		buf_addstr(&w->data, "</row>");
	flush_rows(w);
	for (int i = 0; i < w->nr_sheets && !w->failed; i++)
		if (fflush(w->sheets[i].rows))
			w->failed = errno ? errno : EIO;
	if (w->failed) {
		buf_addf(err, "写临时文件失败：%s", strerror(w->failed));
		xlsxw_abort(w);
		return -1;
	}
	now_utc_text(now);
	now[10] = 'T';
	buf_addstr(ct, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
		       "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
		       "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-"
		       "package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\""
		       "application/xml\"/><Override PartName=\"/xl/workbook.xml\" ContentType=\""
		       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
		       "<Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd."
		       "openxmlformats-officedocument.spreadsheetml.styles+xml\"/>"
		       "<Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd."
		       "openxmlformats-package.core-properties+xml\"/><Override PartName=\""
		       "/docProps/app.xml\" ContentType=\"application/vnd.openxmlformats-"
		       "officedocument.extended-properties+xml\"/>");
	for (int i = 0; i < w->nr_sheets; i++)
		buf_addf(ct, "<Override PartName=\"/xl/worksheets/sheet%d.xml\" ContentType=\""
			     "application/vnd.openxmlformats-officedocument.spreadsheetml."
			     "worksheet+xml\"/>", i + 1);
	buf_addstr(ct, "</Types>\n");
	buf_addstr(rels, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
			 "<Relationships xmlns=\"" NS_PKG "\"><Relationship Id=\"rId1\" Type=\""
			 NS_REL "/officeDocument\" Target=\"xl/workbook.xml\"/><Relationship "
			 "Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/"
			 "relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/>"
			 "<Relationship Id=\"rId3\" Type=\"" NS_REL "/extended-properties\" "
			 "Target=\"docProps/app.xml\"/></Relationships>\n");
	buf_addstr(wb, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
		       "<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\"><workbookPr/>"
		       "<bookViews><workbookView/></bookViews><sheets>");
	for (int i = 0; i < w->nr_sheets; i++) {
		buf_addstr(wb, "<sheet name=\"");
		add_xml_attr(wb, w->sheets[i].name);
		buf_addf(wb, "\" sheetId=\"%d\" r:id=\"rId%d\"/>", i + 1, i + 1);
	}
	buf_addstr(wb, "</sheets></workbook>\n");
	buf_addstr(wbrels, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
			   "<Relationships xmlns=\"" NS_PKG "\">");
	for (int i = 0; i < w->nr_sheets; i++)
		buf_addf(wbrels, "<Relationship Id=\"rId%d\" Type=\"" NS_REL "/worksheet\" "
				 "Target=\"worksheets/sheet%d.xml\"/>", i + 1, i + 1);
	buf_addf(wbrels, "<Relationship Id=\"rId%d\" Type=\"" NS_REL "/styles\" "
			 "Target=\"styles.xml\"/></Relationships>\n", w->nr_sheets + 1);
	buf_addstr(app, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
			"<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/"
			"extended-properties\"><Application>liubao</Application></Properties>\n");
	buf_addf(core, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
		       "<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/"
		       "metadata/core-properties\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
		       "xmlns:dcterms=\"http://purl.org/dc/terms/\" xmlns:xsi=\"http://www.w3.org/2001/"
		       "XMLSchema-instance\"><dc:creator>liubao</dc:creator><dcterms:created "
		       "xsi:type=\"dcterms:W3CDTF\">%sZ</dcterms:created></cp:coreProperties>\n", now);
	buf_addstr(&styles, styles_xml);

	z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
	if (!z) {
		zip_error_t ze;
		zip_error_init_with_code(&ze, zerr);
		buf_addf(err, "无法写入 '%s'：%s", path, zip_error_strerror(&ze));
		zip_error_fini(&ze);
		goto out;
	}
	if (add_part(z, "[Content_Types].xml", ct) || add_part(z, "_rels/.rels", rels) ||
	    add_part(z, "docProps/app.xml", app) || add_part(z, "docProps/core.xml", core) ||
	    add_part(z, "xl/workbook.xml", wb) || add_part(z, "xl/_rels/workbook.xml.rels", wbrels) ||
	    add_part(z, "xl/styles.xml", &styles))
		goto zfail;
	for (int i = 0; i < w->nr_sheets; i++) {
		struct part_src *p = xcalloc(1, sizeof(*p));
		zip_source_t *src;
		zip_int64_t idx;
		char name[48];
		sheet_frame(w, i);
		p->s = &w->sheets[i];
		zip_error_init(&p->error);
		src = zip_source_function(z, part_cb, p);
		if (!src) {
			free(p);
			goto zfail;
		}
		snprintf(name, sizeof(name), "xl/worksheets/sheet%d.xml", i + 1);
		idx = zip_file_add(z, name, src, ZIP_FL_ENC_UTF_8);
		if (idx < 0) {
			zip_source_free(src);
			goto zfail;
		}
		/* the bulk of the file: fast deflate */
		if (zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 1) < 0)
			goto zfail;
	}
	if (zip_close(z) < 0) {
		buf_addf(err, "写入 Excel 文件失败：%s", zip_strerror(z));
		zip_discard(z);
		goto out;
	}
	rc = 0;
	goto out;
zfail:
	buf_addf(err, "生成 Excel 文件失败：%s", zip_strerror(z));
	zip_discard(z);
out:
	buf_release(&styles);
	xlsxw_abort(w);
	return rc;
}

void xlsxw_abort(struct xlsxw *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->nr_sheets; i++) {
		struct xw_sheet *s = &w->sheets[i];
		if (s->rows)
			fclose(s->rows);
		free(s->name);
		buf_release(&s->cols);
		buf_release(&s->merges);
		buf_release(&s->prefix);
		buf_release(&s->suffix);
	}
	free(w->sheets);
	buf_release(&w->data);
	for (size_t i = 0; i < ARRAY_SIZE(w->parts); i++)
		buf_release(&w->parts[i]);
	free(w->tmpdir);
	free(w);
}
