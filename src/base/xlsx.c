/* xlsx.c — the streaming .xlsx reader (see xlsx.h).
 *
 * The package is a zip (libzip); each part is XML parsed by expat as it is
 * inflated, 64 KB at a time.  The workbook's parts are found the way the
 * standard says: _rels/.rels names the workbook part, the workbook's own
 * relationships name the sheets, the shared strings and the styles, with
 * the usual paths as a fallback.  Element names are compared without their
 * namespace prefix, so both transitional and strict files (and writers that
 * prefix every element, "x:row") read the same.
 *
 * A sheet is parsed with expat's suspend/resume: the end of a <row> stops
 * the parser, xlsx_sheet_next() hands the row out, and the next call
 * resumes where the parser stopped.  Nothing but the current row is kept.
 *
 * Merged ranges (<mergeCells>) come after the cell data in the file, so
 * XLSX_FILL_MERGED first scans the sheet's bytes for them (inflate plus a
 * memchr for '<', much cheaper than a parse) and then fills the ranges as
 * the rows go by, keeping a copy of each open range's top-left value. */
#include <errno.h>
#include <expat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "base/csv.h"
#include "base/util.h"
#include "base/xlsx.h"

#define CHUNK 65536

struct sheet_entry {
	char *name;  /* sheet name as shown on its tab */
	char *part;  /* zip entry name, e.g. xl/worksheets/sheet1.xml */
	int hidden;  /* state="hidden" or "veryHidden" */
};

struct xlsx {
	zip_t *zip;
	int date1904;
	struct sheet_entry *sheets;
	int nr_sheets, alloc_sheets;
	char *sst_part, *styles_part;
	/* shared strings: NUL-terminated texts in one block */
	char *sst_text;
	size_t *sst_off;
	long nr_sst;
	int sst_loaded;
	/* styles: for each cellXfs entry, 1 if its number format is a date */
	unsigned char *xf_date;
	int nr_xf, alloc_xf;
};

/* ---- small helpers --------------------------------------------------------- */

/* The local part of a possibly prefixed XML name ("x:row" → "row"). */
static const char *local(const char *name)
{
	const char *c = strrchr(name, ':');
	return c ? c + 1 : name;
}

/* The value of attribute `name` (local part compared), or NULL. */
static const char *attr(const char **atts, const char *name)
{
	for (int i = 0; atts[i]; i += 2)
		if (!strcmp(local(atts[i]), name))
			return atts[i + 1];
	return NULL;
}

/* The value of the attribute whose full name is `name` (for r:id, where the
 * prefix matters only in that "id" alone would be another attribute). */
static const char *attr_rel_id(const char **atts)
{
	for (int i = 0; atts[i]; i += 2)
		if (strchr(atts[i], ':') && !strcmp(local(atts[i]), "id"))
			return atts[i + 1];
	return NULL;
}

int xlsx_parse_ref(const char *ref, int *col, long *row)
{
	long c = 0, r = 0;
	int letters = 0;
	if (!ref)
		return -1;
	if (*ref == '$')
		ref++;
	for (; *ref >= 'A' && *ref <= 'Z'; ref++, letters++) {
		c = c * 26 + (*ref - 'A' + 1);
		if (c > 16384)
			return -1;
	}
	if (*ref == '$')
		ref++;
	if (!letters)
		return -1;
	for (; *ref >= '0' && *ref <= '9'; ref++) {
		r = r * 10 + (*ref - '0');
		if (r > 1048576)
			return -1;
	}
	if (*ref)
		return -1;
	*col = (int)c - 1;
	if (row)
		*row = r;
	return 0;
}

void xlsx_col_name(int col, char out[4])
{
	char tmp[4];
	int n = 0, i = 0;
	if (col < 0 || col >= 16384) {
		snprintf(out, 4, "?");
		return;
	}
	col++;
	while (col > 0 && n < 3) {
		int r = (col - 1) % 26;
		tmp[n++] = (char)('A' + r);
		col = (col - 1) / 26;
	}
	while (n > 0)
		out[i++] = tmp[--n];
	out[i] = '\0';
}

/* Days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms). */
static long days_from_civil(long y, int m, int d)
{
	long era, yoe, doy, doe;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, int *y, int *m, int *d)
{
	long era, doe, yoe, doy, mp;
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int xlsx_serial_to_date(double serial, int date1904, int *y, int *m, int *d)
{
	long days = (long)floor(serial), z;
	if (!isfinite(serial) || serial < 0 || serial > 2958465.0)
		return -1;
	if (date1904) {
		z = days_from_civil(1904, 1, 1) + days;
	} else {
		if (days < 1 || days == 60)
			return -1; /* 1900-01-00 and the 1900-02-29 Lotus kept */
		z = days_from_civil(1899, 12, days < 60 ? 31 : 30) + days;
	}
	civil_from_days(z, y, m, d);
	return *y >= 1900 && *y <= 9999 ? 0 : -1;
}

double xlsx_date_to_serial(int y, int m, int d, int date1904)
{
	long z = days_from_civil(y, m, d);
	if (date1904)
		return (double)(z - days_from_civil(1904, 1, 1));
	z -= days_from_civil(1899, 12, 30);
	return (double)(z < 61 ? z - 1 : z);
}

int xlsx_builtin_is_date(int id)
{
	return (id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 45 && id <= 47) ||
	       (id >= 50 && id <= 58);
}

int xlsx_format_is_date(const char *code)
{
	if (!code)
		return 0;
	for (const char *p = code; *p; p++) {
		switch (*p) {
		case '"': /* quoted text */
			p = strchr(p + 1, '"');
			if (!p)
				return 0;
			break;
		case '\\':
		case '_':
		case '*': /* the next character is literal / padding */
			if (p[1])
				p++;
			break;
		case '[': { /* [Red], [$-804], [DBNum1]; [h] [m] [s] are elapsed time */
			const char *e = strchr(p, ']');
			if (!e)
				return 0;
			if (e - p >= 2 && strspn(p + 1, "hHmMsS") == (size_t)(e - p - 1))
				return 1;
			p = e;
			break;
		}
		case ';': /* only the first section decides */
			return 0;
		case 'G':
		case 'g':
			if (!strncasecmp(p, "General", 7))
				p += 6;
			break;
		case 'E':
		case 'e': /* 0.00E+00 is scientific; e alone is an era year */
			if (p[1] == '+' || p[1] == '-')
				break;
			return 1;
		default:
			if (strchr("yYmMdDhHsS", *p))
				return 1;
		}
	}
	return 0;
}

/* Decode the _xHHHH_ escapes OOXML uses for characters XML cannot carry
 * (e.g. _x000D_ for CR, _x005F_ for a literal underscore), in place. */
static void unescape_ooxml(struct buf *b)
{
	size_t i = 0, o = 0;
	if (!memchr(b->buf, '_', b->len))
		return;
	while (i < b->len) {
		unsigned cp = 0;
		int ok = 0;
		if (b->buf[i] == '_' && i + 7 <= b->len && b->buf[i + 1] == 'x' && b->buf[i + 6] == '_') {
			ok = 1;
			for (int k = 2; k < 6 && ok; k++) {
				char c = b->buf[i + k];
				cp <<= 4;
				if (c >= '0' && c <= '9')
					cp |= (unsigned)(c - '0');
				else if (c >= 'a' && c <= 'f')
					cp |= (unsigned)(c - 'a' + 10);
				else if (c >= 'A' && c <= 'F')
					cp |= (unsigned)(c - 'A' + 10);
				else
					ok = 0;
			}
		}
		if (!ok || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0) {
			b->buf[o++] = b->buf[i++];
			continue;
		}
		/* the encoding is never longer than the 7-byte escape */
		if (cp < 0x80) {
			b->buf[o++] = (char)cp;
		} else if (cp < 0x800) {
			b->buf[o++] = (char)(0xC0 | (cp >> 6));
			b->buf[o++] = (char)(0x80 | (cp & 0x3F));
		} else {
			b->buf[o++] = (char)(0xE0 | (cp >> 12));
			b->buf[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
			b->buf[o++] = (char)(0x80 | (cp & 0x3F));
		}
		i += 7;
	}
	buf_setlen(b, o);
}

/* ---- parts ------------------------------------------------------------------- */

static zip_int64_t locate(struct xlsx *x, const char *part)
{
	zip_int64_t i = zip_name_locate(x->zip, part, 0);
	if (i < 0)
		i = zip_name_locate(x->zip, part, ZIP_FL_NOCASE);
	return i;
}

/* Resolve a relationship target against the folder of part `from`
 * ("xl/workbook.xml" + "worksheets/sheet1.xml" → "xl/worksheets/sheet1.xml";
 * "/xl/x.xml" is absolute; ".." segments are applied).  From xmalloc(). */
static char *resolve_target(const char *from, const char *target)
{
	struct buf out = BUF_INIT;
	const char *slash = strrchr(from, '/');
	if (target[0] == '/') {
		buf_addstr(&out, target + 1);
	} else {
		if (slash)
			buf_add(&out, from, (size_t)(slash - from) + 1);
		while (!strncmp(target, "../", 3)) {
			char *s;
			target += 3;
			buf_setlen(&out, out.len ? out.len - 1 : 0);
			s = strrchr(out.buf, '/');
			buf_setlen(&out, s ? (size_t)(s - out.buf) + 1 : 0);
		}
		buf_addstr(&out, target);
	}
	return buf_detach(&out, NULL);
}

struct part_parse {
	XML_Parser p;
	struct buf *err;
	int failed;
};

static void XMLCALL refuse_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
				   const XML_Char *pubid, int has_internal)
{
	struct part_parse *pp = ud;
	(void)name, (void)sysid, (void)pubid, (void)has_internal;
	if (!pp->failed) {
		buf_addstr(pp->err, "文件中含有 DTD 声明，不是 Excel 工作簿的内容");
		pp->failed = 1;
	}
	XML_StopParser(pp->p, XML_FALSE);
}

/* Describe an XML failure of `part` into err. */
static void xml_error(XML_Parser p, const char *part, struct buf *err)
{
	buf_addf(err, "工作簿已损坏：%s 第 %lu 行 XML 格式错误（%s）", part,
		 (unsigned long)XML_GetCurrentLineNumber(p), XML_ErrorString(XML_GetErrorCode(p)));
}

/* Describe a zip read failure into err. */
static void zip_read_error(zip_file_t *zf, const char *part, struct buf *err)
{
	zip_error_t *ze = zip_file_get_error(zf);
	buf_addf(err, "工作簿已损坏：无法解压 %s（%s）", part, zip_error_strerror(ze));
}

/* Parse the whole of `part` with `p` (whose user data starts with a struct
 * part_parse).  Returns 0, 1 if the part does not exist, -1 on error. */
static int parse_part(struct xlsx *x, const char *part, XML_Parser p, struct part_parse *pp)
{
	zip_int64_t idx = locate(x, part);
	zip_file_t *zf;
	int rc = 0;
	if (idx < 0)
		return 1;
	zf = zip_fopen_index(x->zip, (zip_uint64_t)idx, 0);
	if (!zf) {
		buf_addf(pp->err, "工作簿已损坏：无法打开 %s（%s）", part, zip_strerror(x->zip));
		return -1;
	}
	pp->p = p;
	XML_SetStartDoctypeDeclHandler(p, refuse_doctype);
	for (;;) {
		void *b = XML_GetBuffer(p, CHUNK);
		zip_int64_t n = zf ? zip_fread(zf, b, CHUNK) : -1;
		if (n < 0) {
			zip_read_error(zf, part, pp->err);
			rc = -1;
			break;
		}
		if (XML_ParseBuffer(p, (int)n, n == 0) != XML_STATUS_OK) {
			if (!pp->failed)
				xml_error(p, part, pp->err);
			rc = -1;
			break;
		}
		if (pp->failed) {
			rc = -1;
			break;
		}
		if (n == 0)
			break;
	}
	zip_fclose(zf);
	return rc;
}

/* -- relationships: Id → Target, and Type suffix → Target -- */
struct rels {
	struct part_parse pp;
	const char *from;        /* the part these relationships belong to */
	char **ids, **targets, **types;
	int n, alloc_ids, alloc_targets, alloc_types;
};

static void XMLCALL rels_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct rels *r = ud;
	const char *id, *target, *type, *mode;
	if (strcmp(local(name), "Relationship"))
		return;
	id = attr(atts, "Id");
	target = attr(atts, "Target");
	type = attr(atts, "Type");
	mode = attr(atts, "TargetMode");
	if (!id || !target || (mode && !strcmp(mode, "External")))
		return;
	ALLOC_GROW(r->ids, r->n + 1, r->alloc_ids);
	ALLOC_GROW(r->targets, r->n + 1, r->alloc_targets);
	ALLOC_GROW(r->types, r->n + 1, r->alloc_types);
	r->ids[r->n] = xstrdup(id);
	r->targets[r->n] = resolve_target(r->from, target);
	r->types[r->n] = xstrdup(type ? type : "");
	r->n++;
}

static void rels_release(struct rels *r)
{
	for (int i = 0; i < r->n; i++) {
		free(r->ids[i]);
		free(r->targets[i]);
		free(r->types[i]);
	}
	free(r->ids);
	free(r->targets);
	free(r->types);
}

/* The relationships of part `from` (from its _rels/NAME.rels); -1 on error. */
static int read_rels(struct xlsx *x, const char *from, struct rels *r, struct buf *err)
{
	const char *slash = strrchr(from, '/');
	char *rels_part;
	XML_Parser p = XML_ParserCreate("UTF-8");
	int rc;
	memset(r, 0, sizeof(*r));
	r->pp.err = err;
	r->from = from;
	if (slash)
		rels_part = xstrfmt("%.*s_rels/%s.rels", (int)(slash - from + 1), from, slash + 1);
	else
		rels_part = xstrfmt("_rels/%s.rels", from);
	XML_SetUserData(p, r);
	XML_SetStartElementHandler(p, rels_start);
	rc = parse_part(x, rels_part, p, &r->pp);
	XML_ParserFree(p);
	free(rels_part);
	if (rc < 0) {
		rels_release(r); /* what was read before the error */
		memset(r, 0, sizeof(*r));
		return -1;
	}
	return 0;
}

/* The target of the relationship whose Type ends with `suffix`, or NULL. */
static const char *rel_by_type(const struct rels *r, const char *suffix)
{
	size_t ls = strlen(suffix);
	for (int i = 0; i < r->n; i++) {
		size_t lt = strlen(r->types[i]);
		if (lt >= ls && !strcmp(r->types[i] + lt - ls, suffix))
			return r->targets[i];
	}
	return NULL;
}

static const char *rel_by_id(const struct rels *r, const char *id)
{
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->ids[i], id))
			return r->targets[i];
	return NULL;
}

/* -- workbook.xml: sheets and the date system -- */
struct wb_parse {
	struct part_parse pp;
	struct xlsx *x;
	const struct rels *rels;
};

static void XMLCALL wb_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct wb_parse *w = ud;
	const char *n = local(name);
	if (!strcmp(n, "workbookPr")) {
		const char *v = attr(atts, "date1904");
		w->x->date1904 = v && (!strcmp(v, "1") || !strcmp(v, "true"));
	} else if (!strcmp(n, "sheet")) {
		const char *sname = attr(atts, "name"), *rid = attr_rel_id(atts);
		const char *state = attr(atts, "state");
		const char *target = rid ? rel_by_id(w->rels, rid) : NULL;
		struct sheet_entry *e;
		if (!sname || !target)
			return; /* a sheet without a part (or a chartsheet's) cannot be read */
		ALLOC_GROW(w->x->sheets, w->x->nr_sheets + 1, w->x->alloc_sheets);
		e = &w->x->sheets[w->x->nr_sheets++];
		e->name = xstrdup(sname);
		e->part = xstrdup(target);
		e->hidden = state && strcmp(state, "visible");
	}
}

/* -- styles.xml: which cell formats are dates -- */
struct styles_parse {
	struct part_parse pp;
	struct xlsx *x;
	int in_cellxfs;
	int *fmt_ids;   /* custom numFmtId → is date (pairs) */
	unsigned char *fmt_date;
	int nr_fmts, alloc_ids, alloc_dates;
};

static void XMLCALL styles_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct styles_parse *s = ud;
	const char *n = local(name);
	if (!strcmp(n, "numFmt")) {
		const char *id = attr(atts, "numFmtId"), *code = attr(atts, "formatCode");
		if (!id)
			return;
		ALLOC_GROW(s->fmt_ids, s->nr_fmts + 1, s->alloc_ids);
		ALLOC_GROW(s->fmt_date, s->nr_fmts + 1, s->alloc_dates);
		s->fmt_ids[s->nr_fmts] = atoi(id);
		s->fmt_date[s->nr_fmts] = (unsigned char)xlsx_format_is_date(code);
		s->nr_fmts++;
	} else if (!strcmp(n, "cellXfs")) {
		s->in_cellxfs = 1;
	} else if (!strcmp(n, "xf") && s->in_cellxfs) {
		const char *id = attr(atts, "numFmtId");
		int fid = id ? atoi(id) : 0, date = xlsx_builtin_is_date(fid);
		for (int i = 0; i < s->nr_fmts; i++)
			if (s->fmt_ids[i] == fid)
				date = s->fmt_date[i];
		ALLOC_GROW(s->x->xf_date, s->x->nr_xf + 1, s->x->alloc_xf);
		s->x->xf_date[s->x->nr_xf++] = (unsigned char)date;
	}
}

static void XMLCALL styles_end(void *ud, const XML_Char *name)
{
	struct styles_parse *s = ud;
	if (!strcmp(local(name), "cellXfs"))
		s->in_cellxfs = 0;
}

/* -- sharedStrings.xml -- */
struct sst_parse {
	struct part_parse pp;
	struct buf text;   /* all strings, NUL-terminated one after another */
	struct buf cur;    /* the string being read */
	size_t *off;
	long n, alloc;
	int in_si, in_t, in_rph;
};

static void XMLCALL sst_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct sst_parse *s = ud;
	const char *n = local(name);
	(void)atts;
	if (!strcmp(n, "si")) {
		s->in_si = 1;
		buf_reset(&s->cur);
	} else if (!strcmp(n, "t") && s->in_si && !s->in_rph) {
		s->in_t = 1;
	} else if (!strcmp(n, "rPh")) {
		s->in_rph = 1; /* phonetic guide text is not part of the value */
	} else if (!strcmp(n, "sst")) {
		const char *u = attr(atts, "uniqueCount");
		long hint = u ? atol(u) : 0;
		if (hint > 0 && hint < 50000000)
			ALLOC_GROW(s->off, hint, s->alloc);
	}
}

static void XMLCALL sst_end(void *ud, const XML_Char *name)
{
	struct sst_parse *s = ud;
	const char *n = local(name);
	if (!strcmp(n, "t")) {
		s->in_t = 0;
	} else if (!strcmp(n, "rPh")) {
		s->in_rph = 0;
	} else if (!strcmp(n, "si")) {
		unescape_ooxml(&s->cur);
		ALLOC_GROW(s->off, s->n + 1, s->alloc);
		s->off[s->n++] = s->text.len;
		buf_add(&s->text, s->cur.buf, s->cur.len + 1); /* with its NUL */
		s->in_si = 0;
	}
}

static void XMLCALL text_chars(void *ud, const XML_Char *t, int len)
{
	struct sst_parse *s = ud;
	if (s->in_t)
		buf_add(&s->cur, t, (size_t)len);
}

static int load_sst(struct xlsx *x, struct buf *err)
{
	struct sst_parse s;
	XML_Parser p;
	int rc;
	if (x->sst_loaded)
		return 0;
	x->sst_loaded = 1;
	if (!x->sst_part)
		return 0;
	memset(&s, 0, sizeof(s));
	s.pp.err = err;
	buf_init(&s.text, 0);
	buf_init(&s.cur, 0);
	p = XML_ParserCreate("UTF-8");
	XML_SetUserData(p, &s);
	XML_SetElementHandler(p, sst_start, sst_end);
	XML_SetCharacterDataHandler(p, text_chars);
	rc = parse_part(x, x->sst_part, p, &s.pp);
	XML_ParserFree(p);
	buf_release(&s.cur);
	if (rc < 0) {
		buf_release(&s.text);
		free(s.off);
		return -1;
	}
	x->sst_text = buf_detach(&s.text, NULL);
	x->sst_off = s.off;
	x->nr_sst = s.n;
	return 0;
}

/* ---- opening ------------------------------------------------------------------- */

static struct xlsx *open_zip(zip_t *zip, struct buf *err)
{
	struct xlsx *x = xcalloc(1, sizeof(*x));
	struct rels root, wbrels;
	const char *wb_part;
	char *wb = NULL;
	struct wb_parse w;
	struct styles_parse st;
	XML_Parser p;
	int rc;

	x->zip = zip;
	memset(&wbrels, 0, sizeof(wbrels));
	if (read_rels(x, "", &root, err))
		goto fail;
	wb_part = rel_by_type(&root, "/officeDocument");
	wb = xstrdup(wb_part ? wb_part : "xl/workbook.xml");
	rels_release(&root);
	if (locate(x, wb) < 0) {
		buf_addstr(err, "不是 Excel 工作簿（.xlsx）：压缩包里没有 workbook.xml；"
				"如果是 .xls 或 .et 文件，请先在 Excel/WPS 中另存为 .xlsx");
		goto fail;
	}
	if (read_rels(x, wb, &wbrels, err))
		goto fail;
	memset(&w, 0, sizeof(w));
	w.pp.err = err;
	w.x = x;
	w.rels = &wbrels;
	p = XML_ParserCreate("UTF-8");
	XML_SetUserData(p, &w);
	XML_SetStartElementHandler(p, wb_start);
	rc = parse_part(x, wb, p, &w.pp);
	XML_ParserFree(p);
	if (rc)
		goto fail;
	if (!x->nr_sheets) {
		buf_addstr(err, "工作簿中没有工作表");
		goto fail;
	}
	{
		const char *s = rel_by_type(&wbrels, "/sharedStrings");
		const char *y = rel_by_type(&wbrels, "/styles");
		x->sst_part = s ? xstrdup(s) : locate(x, "xl/sharedStrings.xml") >= 0
						  ? xstrdup("xl/sharedStrings.xml") : NULL;
		x->styles_part = xstrdup(y ? y : "xl/styles.xml");
	}
	memset(&st, 0, sizeof(st));
	st.pp.err = err;
	st.x = x;
	p = XML_ParserCreate("UTF-8");
	XML_SetUserData(p, &st);
	XML_SetElementHandler(p, styles_start, styles_end);
	rc = parse_part(x, x->styles_part, p, &st.pp);
	XML_ParserFree(p);
	free(st.fmt_ids);
	free(st.fmt_date);
	if (rc < 0)
		goto fail;
	rels_release(&wbrels);
	free(wb);
	return x;
fail:
	rels_release(&wbrels);
	free(wb);
	xlsx_close(x);
	return NULL;
}

static void open_error(int zerr, struct buf *err)
{
	if (zerr == ZIP_ER_NOZIP || zerr == ZIP_ER_INCONS)
		buf_addstr(err, "不是 Excel 工作簿（.xlsx）：文件不是 zip 格式，或已损坏、不完整");
	else if (zerr == ZIP_ER_NOENT || zerr == ZIP_ER_OPEN)
		buf_addstr(err, "无法打开文件");
	else {
		zip_error_t ze;
		zip_error_init_with_code(&ze, zerr);
		buf_addf(err, "无法读取工作簿：%s", zip_error_strerror(&ze));
		zip_error_fini(&ze);
	}
}

struct xlsx *xlsx_open(const char *path, struct buf *err)
{
	int zerr = 0;
	zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
	if (!z) {
		size_t before = err->len;
		open_error(zerr, err);
		if (zerr == ZIP_ER_NOENT || zerr == ZIP_ER_OPEN) {
			buf_setlen(err, before);
			buf_addf(err, "无法打开 '%s'：%s", path, strerror(errno ? errno : ENOENT));
		}
		return NULL;
	}
	return open_zip(z, err);
}

struct xlsx *xlsx_open_mem(const void *data, size_t len, struct buf *err)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *z;
	void *copy;
	if (!len) { /* libzip keeps no buffer of length 0: nothing to hand it */
		open_error(ZIP_ER_NOZIP, err);
		return NULL;
	}
	copy = xmalloc(len);
	memcpy(copy, data, len);
	zip_error_init(&ze);
	src = zip_source_buffer_create(copy, len, 1, &ze);
	if (!src) {
		free(copy);
		zip_error_fini(&ze);
		buf_addstr(err, "无法读取工作簿");
		return NULL;
	}
	z = zip_open_from_source(src, ZIP_RDONLY, &ze);
	if (!z) {
		open_error(zip_error_code_zip(&ze), err);
		zip_source_free(src);
		zip_error_fini(&ze);
		return NULL;
	}
	zip_error_fini(&ze);
	return open_zip(z, err);
}

void xlsx_close(struct xlsx *x)
{
	if (!x)
		return;
	if (x->zip)
		zip_discard(x->zip);
	for (int i = 0; i < x->nr_sheets; i++) {
		free(x->sheets[i].name);
		free(x->sheets[i].part);
	}
	free(x->sheets);
	free(x->sst_part);
	free(x->styles_part);
	free(x->sst_text);
	free(x->sst_off);
	free(x->xf_date);
	free(x);
}

int xlsx_nr_sheets(const struct xlsx *x)
{
	return x->nr_sheets;
}

const char *xlsx_sheet_name(const struct xlsx *x, int i)
{
	return i >= 0 && i < x->nr_sheets ? x->sheets[i].name : NULL;
}

int xlsx_sheet_hidden(const struct xlsx *x, int i)
{
	return i >= 0 && i < x->nr_sheets && x->sheets[i].hidden;
}

int xlsx_date1904(const struct xlsx *x)
{
	return x->date1904;
}

int xlsx_sheet_find(const struct xlsx *x, const char *spec, struct buf *err)
{
	if (!spec || !*spec) {
		for (int i = 0; i < x->nr_sheets; i++)
			if (!x->sheets[i].hidden)
				return i;
		return 0;
	}
	for (int i = 0; i < x->nr_sheets; i++)
		if (!strcmp(x->sheets[i].name, spec))
			return i;
	if (strspn(spec, "0123456789") == strlen(spec)) {
		long k = atol(spec);
		if (k >= 1 && k <= x->nr_sheets)
			return (int)k - 1;
	}
	buf_addf(err, "工作簿中没有工作表“%s”（有：", spec);
	for (int i = 0; i < x->nr_sheets; i++)
		buf_addf(err, "%s%s", i ? "、" : "", x->sheets[i].name);
	buf_addstr(err, "）");
	return -1;
}

/* ---- reading a sheet --------------------------------------------------------------- */

enum raw_type { RT_NUMBER, RT_SST, RT_INLINE, RT_STR, RT_BOOL, RT_ERROR, RT_ISODATE };

struct open_merge {
	struct xlsx_merge m;
	int have;             /* the anchor's value has been seen */
	struct xlsx_cell cell; /* its type, value, style */
	char *text, *raw;     /* its texts (xmalloc) */
};

/* The worksheet scanner's state: a window of inflated bytes, the open
 * elements (to check nesting), and the current tag's attributes. */
#define XS_MAX_DEPTH 64
#define XS_MAX_NAME 64
#define XS_MAX_ATTS 64

struct xml_scan {
	char *data;               /* inflated bytes; [pos, len) not yet scanned */
	size_t pos, len, alloc;
	int eof;                  /* the zip entry is exhausted */
	zip_uint64_t base;        /* offset in the part of data[0], for messages */
	int started;              /* the XML declaration / BOM has been looked at */
	int root_seen, depth;
	char stack[XS_MAX_DEPTH][XS_MAX_NAME];
	struct buf attv;          /* decoded attribute values */
	size_t att_off[2 * XS_MAX_ATTS];
	const char *atts[2 * XS_MAX_ATTS + 2];
	struct buf text;          /* decoded text */
};

struct xlsx_sheet {
	struct xlsx *x;
	const char *part;
	zip_file_t *zf;
	zip_uint64_t size, read;  /* uncompressed size and bytes inflated */
	int failed, finished;
	struct buf errmsg;        /* the failure, until next() copies it */
	struct xml_scan xs;       /* the sheet's XML, scanned as it is inflated */
	/* parse state */
	int in_sheetdata, in_row, in_c, in_v, in_is, in_t, in_rph;
	long row_no;              /* current row's number */
	int next_col;             /* column of a cell without r= */
	/* current cell */
	int c_col, c_style;
	enum raw_type c_type;
	int c_has_value;
	struct buf c_text;
	/* the row being built */
	struct xlsx_cell *cells;
	int nr_cells, alloc_cells;
	size_t *text_off, *raw_off; /* offsets into row_text while building */
	int alloc_text_off, alloc_raw_off;
	struct buf row_text;
	struct xlsx_row row;
	int row_ready;
	/* merged ranges */
	struct xlsx_merge *merges;
	int nr_merges, alloc_merges;
	int fill;
	int next_merge;           /* merges sorted by row1: the next to open */
	struct open_merge *open;
	int nr_open, alloc_open;
};

static void sheet_fail(struct xlsx_sheet *s, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void sheet_fail(struct xlsx_sheet *s, const char *fmt, ...)
{
	va_list ap;
	if (!s->failed) {
		buf_addf(&s->errmsg, "工作表第 %ld 行：", s->row_no);
		va_start(ap, fmt);
		buf_vaddf(&s->errmsg, fmt, ap);
		va_end(ap);
		s->failed = 1;
	}
}

/* Append `len` bytes + NUL to the row text; returns the offset. */
static size_t row_text_add(struct xlsx_sheet *s, const char *t, size_t len)
{
	size_t off = s->row_text.len;
	buf_add(&s->row_text, t, len);
	buf_addch(&s->row_text, '\0');
	return off;
}

/* Format a number the way a user sees it in a General cell. */
static void number_text(double v, struct buf *out)
{
	if (v == floor(v) && fabs(v) < 1e15) {
		buf_addf(out, "%.0f", v == 0 ? 0.0 : v);
	} else {
		char t[40];
		char *e;
		snprintf(t, sizeof(t), "%.15g", v);
		/* %.15g writes e+17; Excel writes E+17 */
		if ((e = strchr(t, 'e')))
			*e = 'E';
		buf_addstr(out, t);
	}
}

static void date_text(double serial, int date1904, struct buf *out)
{
	int y, m, d;
	double frac = serial - floor(serial);
	if (xlsx_serial_to_date(serial, date1904, &y, &m, &d)) {
		number_text(serial, out);
		return;
	}
	if (serial < 1 && !date1904 && serial >= 0) {
		/* a time of day alone */
		long secs = lround(frac * 86400);
		buf_addf(out, "%02ld:%02ld:%02ld", secs / 3600 % 24, secs / 60 % 60, secs % 60);
		return;
	}
	buf_addf(out, "%04d-%02d-%02d", y, m, d);
	if (frac > 0) {
		long secs = lround(frac * 86400);
		if (secs >= 86400)
			secs = 86399;
		buf_addf(out, " %02ld:%02ld:%02ld", secs / 3600, secs / 60 % 60, secs % 60);
	}
}

/* Parse an ISO 8601 date (t="d" cells) into a serial; -1 if malformed. */
static int iso_date_serial(const char *t, int date1904, double *out)
{
	int y, mo, d, h = 0, mi = 0, n = 0;
	double sec = 0;
	if (sscanf(t, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || mo < 1 || mo > 12 || d < 1 ||
	    d > 31)
		return -1;
	if (t[n] == 'T')
		sscanf(t + n + 1, "%2d:%2d:%lf", &h, &mi, &sec);
	*out = xlsx_date_to_serial(y, mo, d, date1904) + (h * 3600 + mi * 60 + sec) / 86400.0;
	return 0;
}

/* Finish the cell just read: add it to the row unless it is empty. */
static void finish_cell(struct xlsx_sheet *s)
{
	struct xlsx_cell *c;
	size_t toff, roff;
	double v = 0;
	enum xlsx_type type;
	char *end;

	if (!s->c_has_value)
		return;
	if (!utf8_valid(s->c_text.buf, s->c_text.len)) {
		char ref[4];
		xlsx_col_name(s->c_col, ref);
		sheet_fail(s, "单元格 %s%ld 的文字不是有效的 UTF-8", ref, s->row_no);
		return;
	}
	switch (s->c_type) {
	case RT_SST: {
		long k;
		errno = 0;
		k = strtol(s->c_text.buf, &end, 10);
		if (end == s->c_text.buf || *end || k < 0 || k >= s->x->nr_sst) {
			char ref[4];
			xlsx_col_name(s->c_col, ref);
			sheet_fail(s, "单元格 %s%ld 引用了不存在的共享字符串 %.*s", ref, s->row_no,
				   utf8_cut(s->c_text.buf, 40), s->c_text.buf);
			return;
		}
		{
			const char *t = s->x->sst_text + s->x->sst_off[k];
			if (!*t)
				return;
			toff = roff = row_text_add(s, t, strlen(t));
		}
		type = XLSX_STRING;
		break;
	}
	case RT_INLINE:
	case RT_STR:
		unescape_ooxml(&s->c_text);
		if (!s->c_text.len)
			return;
		toff = roff = row_text_add(s, s->c_text.buf, s->c_text.len);
		type = XLSX_STRING;
		break;
	case RT_ERROR:
		if (!s->c_text.len)
			return;
		toff = roff = row_text_add(s, s->c_text.buf, s->c_text.len);
		type = XLSX_ERROR;
		break;
	case RT_BOOL:
		v = strcmp(s->c_text.buf, "0") && strcasecmp(s->c_text.buf, "false") ? 1 : 0;
		toff = roff = row_text_add(s, v ? "TRUE" : "FALSE", v ? 4 : 5);
		type = XLSX_BOOL;
		break;
	case RT_ISODATE:
		if (iso_date_serial(s->c_text.buf, s->x->date1904, &v)) {
			toff = roff = row_text_add(s, s->c_text.buf, s->c_text.len);
			type = XLSX_STRING;
			break;
		}
		type = XLSX_DATE;
		roff = row_text_add(s, s->c_text.buf, s->c_text.len);
		goto number_out;
	default: {
		const char *t = s->c_text.buf;
		while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
			t++;
		if (!*t)
			return;
		errno = 0;
		v = strtod(t, &end);
		while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
			end++;
		if (end == t || *end || !isfinite(v)) {
			char ref[4];
			xlsx_col_name(s->c_col, ref);
			sheet_fail(s, "单元格 %s%ld 的数值“%.*s”无法识别", ref, s->row_no,
				   utf8_cut(t, 40), t);
			return;
		}
		type = s->c_style >= 0 && s->c_style < s->x->nr_xf && s->x->xf_date[s->c_style]
			       ? XLSX_DATE : XLSX_NUMBER;
		roff = row_text_add(s, t, strlen(t));
	number_out: {
		struct buf tmp = BUF_INIT;
		if (type == XLSX_DATE)
			date_text(v, s->x->date1904, &tmp);
		else
			number_text(v, &tmp);
		toff = row_text_add(s, tmp.buf, tmp.len);
		buf_release(&tmp);
	}
	}
	}
	ALLOC_GROW(s->cells, s->nr_cells + 1, s->alloc_cells);
	ALLOC_GROW(s->text_off, s->nr_cells + 1, s->alloc_text_off);
	ALLOC_GROW(s->raw_off, s->nr_cells + 1, s->alloc_raw_off);
	c = &s->cells[s->nr_cells];
	memset(c, 0, sizeof(*c));
	c->col = s->c_col;
	c->type = type;
	c->num = v;
	c->style = s->c_style;
	s->text_off[s->nr_cells] = toff;
	s->raw_off[s->nr_cells] = roff;
	s->nr_cells++;
}

static int cell_cmp(const void *a, const void *b)
{
	const struct xlsx_cell *x = a, *y = b;
	return (x->col > y->col) - (x->col < y->col);
}

/* Keep merged ranges current for row `r`: open those starting here, and
 * close those that ended above. */
static void merges_advance(struct xlsx_sheet *s, long r)
{
	for (int i = 0; i < s->nr_open;) {
		if (s->open[i].m.row2 < r - 1) {
			free(s->open[i].text);
			free(s->open[i].raw);
			s->open[i] = s->open[--s->nr_open];
		} else {
			i++;
		}
	}
	while (s->next_merge < s->nr_merges && s->merges[s->next_merge].row1 <= r - 1) {
		struct open_merge *o;
		if (s->merges[s->next_merge].row2 < r - 1) { /* a range in rows not stored */
			s->next_merge++;
			continue;
		}
		ALLOC_GROW(s->open, s->nr_open + 1, s->alloc_open);
		o = &s->open[s->nr_open++];
		memset(o, 0, sizeof(*o));
		o->m = s->merges[s->next_merge++];
	}
}

/* Give the cells of open merged ranges in this row their anchor's value
 * (the anchor itself is remembered when it is on this row). */
static void fill_merged(struct xlsx_sheet *s)
{
	long r0 = s->row_no - 1;
	merges_advance(s, s->row_no);
	for (int i = 0; i < s->nr_open; i++) {
		struct open_merge *o = &s->open[i];
		if (o->m.row1 > r0 || o->m.row2 < r0)
			continue;
		if (o->m.row1 == r0) {
			for (int k = 0; k < s->nr_cells; k++)
				if (s->cells[k].col == o->m.col1) {
					o->have = 1;
					o->cell = s->cells[k];
					o->text = xstrdup(s->row_text.buf + s->text_off[k]);
					o->raw = xstrdup(s->row_text.buf + s->raw_off[k]);
				}
		}
		if (!o->have)
			continue;
		for (int col = o->m.col1; col <= o->m.col2; col++) {
			int present = 0;
			if (r0 == o->m.row1 && col == o->m.col1)
				continue;
			for (int k = 0; k < s->nr_cells && !present; k++)
				present = s->cells[k].col == col;
			if (present)
				continue;
			ALLOC_GROW(s->cells, s->nr_cells + 1, s->alloc_cells);
			ALLOC_GROW(s->text_off, s->nr_cells + 1, s->alloc_text_off);
			ALLOC_GROW(s->raw_off, s->nr_cells + 1, s->alloc_raw_off);
			s->cells[s->nr_cells] = o->cell;
			s->cells[s->nr_cells].col = col;
			s->cells[s->nr_cells].merged = 1;
			s->text_off[s->nr_cells] = row_text_add(s, o->text, strlen(o->text));
			s->raw_off[s->nr_cells] = row_text_add(s, o->raw, strlen(o->raw));
			s->nr_cells++;
		}
	}
}

/* The row is complete: order the cells, set their text pointers, hand it out. */
static void finish_row(struct xlsx_sheet *s)
{
	int sorted = 1;
	if (s->fill && s->nr_merges)
		fill_merged(s);
	for (int k = 1; k < s->nr_cells && sorted; k++)
		sorted = s->cells[k - 1].col < s->cells[k].col;
	if (!sorted) {
		/* sort cells and their offsets together through an index */
		struct { struct xlsx_cell c; size_t t, r; } *tmp = xmalloc(sizeof(*tmp) * (size_t)s->nr_cells);
		for (int k = 0; k < s->nr_cells; k++) {
			tmp[k].c = s->cells[k];
			tmp[k].t = s->text_off[k];
			tmp[k].r = s->raw_off[k];
		}
		qsort(tmp, (size_t)s->nr_cells, sizeof(*tmp), cell_cmp); /* col is first */
		for (int k = 0; k < s->nr_cells; k++) {
			s->cells[k] = tmp[k].c;
			s->text_off[k] = tmp[k].t;
			s->raw_off[k] = tmp[k].r;
		}
		free(tmp);
		/* a column given twice: keep the last value written */
		for (int k = 1; k < s->nr_cells;)
			if (s->cells[k - 1].col == s->cells[k].col) {
				memmove(s->cells + k - 1, s->cells + k,
					sizeof(*s->cells) * (size_t)(s->nr_cells - k));
				memmove(s->text_off + k - 1, s->text_off + k,
					sizeof(*s->text_off) * (size_t)(s->nr_cells - k));
				memmove(s->raw_off + k - 1, s->raw_off + k,
					sizeof(*s->raw_off) * (size_t)(s->nr_cells - k));
				s->nr_cells--;
			} else {
				k++;
			}
	}
	for (int k = 0; k < s->nr_cells; k++) {
		s->cells[k].text = s->row_text.buf + s->text_off[k];
		s->cells[k].raw = s->row_text.buf + s->raw_off[k];
	}
	s->row.row = s->row_no;
	s->row.cells = s->cells;
	s->row.nr_cells = s->nr_cells;
	s->row.width = s->nr_cells ? s->cells[s->nr_cells - 1].col + 1 : 0;
	s->row_ready = 1;
}

/* The single-letter attribute `c` (r, s, t) among atts, or NULL.  Cells
 * and rows carry a handful of short attributes, so this is a direct scan. */
static const char *attr1(const char **atts, char c)
{
	for (int i = 0; atts[i]; i += 2)
		if (atts[i][0] == c && !atts[i][1])
			return atts[i + 1];
	return NULL;
}

/* Element names seen in sheet data, by their local name. */
enum sheet_elem { E_OTHER, E_SHEETDATA, E_ROW, E_C, E_V, E_IS, E_T, E_RPH };

static enum sheet_elem elem_of(const char *n)
{
	switch (n[0]) {
	case 'c': return !n[1] ? E_C : E_OTHER;
	case 'v': return !n[1] ? E_V : E_OTHER;
	case 't': return !n[1] ? E_T : E_OTHER;
	case 'i': return n[1] == 's' && !n[2] ? E_IS : E_OTHER;
	case 'r': return !strcmp(n, "row") ? E_ROW : !strcmp(n, "rPh") ? E_RPH : E_OTHER;
	case 's': return !strcmp(n, "sheetData") ? E_SHEETDATA : E_OTHER;
	default: return E_OTHER;
	}
}

/* An element starts (`n` is its local name). */
static void sheet_start(struct xlsx_sheet *s, const char *n, const char **atts)
{
	enum sheet_elem e = elem_of(n);
	if (!s->in_sheetdata) {
		if (e == E_SHEETDATA)
			s->in_sheetdata = 1;
		return;
	}
	switch (e) {
	case E_ROW: {
		const char *r = attr1(atts, 'r');
		long rn = s->row_no + 1;
		if (r) {
			char *end;
			rn = strtol(r, &end, 10);
			if (end == r || *end || rn < 1 || rn > 1048576 || rn <= s->row_no) {
				sheet_fail(s, "行号“%s”无效或顺序颠倒", r);
				return;
			}
		}
		s->row_no = rn;
		s->in_row = 1;
		s->next_col = 0;
		s->nr_cells = 0;
		buf_reset(&s->row_text);
		break;
	}
	case E_C: {
		const char *r, *ty, *st;
		int col = s->next_col;
		long rr = 0;
		if (!s->in_row)
			break;
		r = attr1(atts, 'r');
		ty = attr1(atts, 't');
		st = attr1(atts, 's');
		if (r && (xlsx_parse_ref(r, &col, &rr) || (rr && rr != s->row_no))) {
			sheet_fail(s, "单元格引用“%s”无效", r);
			return;
		}
		if (col > 16383) {
			sheet_fail(s, "列数超过 Excel 的上限 16384");
			return;
		}
		s->c_col = col;
		s->next_col = col + 1;
		s->c_style = st ? atoi(st) : 0;
		s->c_type = !ty || !strcmp(ty, "n")     ? RT_NUMBER
			    : !strcmp(ty, "s")          ? RT_SST
			    : !strcmp(ty, "inlineStr")  ? RT_INLINE
			    : !strcmp(ty, "str")        ? RT_STR
			    : !strcmp(ty, "b")          ? RT_BOOL
			    : !strcmp(ty, "e")          ? RT_ERROR
			    : !strcmp(ty, "d")          ? RT_ISODATE
							: RT_NUMBER;
		s->c_has_value = 0;
		buf_reset(&s->c_text);
		s->in_c = 1;
		break;
	}
	case E_V:
		if (s->in_c) {
			s->in_v = 1;
			s->c_has_value = 1;
			buf_reset(&s->c_text);
		}
		break;
	case E_IS:
		if (s->in_c) {
			s->in_is = 1;
			s->c_has_value = 1;
			buf_reset(&s->c_text);
		}
		break;
	case E_T:
		if (s->in_is && !s->in_rph)
			s->in_t = 1;
		break;
	case E_RPH:
		if (s->in_c)
			s->in_rph = 1;
		break;
	default:
		break;
	}
}

/* An element ends. */
static void sheet_end(struct xlsx_sheet *s, const char *n)
{
	if (!s->in_sheetdata)
		return;
	switch (elem_of(n)) {
	case E_V: s->in_v = 0; break;
	case E_T: s->in_t = 0; break;
	case E_RPH: s->in_rph = 0; break;
	case E_IS: s->in_is = 0; break;
	case E_C:
		if (s->in_c) {
			s->in_c = 0;
			/* an inline string given as <v> by some writers, and a
			 * formula's cached value: both arrive in c_text */
			finish_cell(s);
		}
		break;
	case E_ROW:
		if (s->in_row) {
			s->in_row = 0;
			finish_row(s);
		}
		break;
	case E_SHEETDATA: s->in_sheetdata = 0; break;
	default: break;
	}
}

/* Text inside an element: only cell values and inline strings are kept. */
static int sheet_wants_text(const struct xlsx_sheet *s)
{
	return s->in_v || (s->in_t && !s->in_rph);
}

/* ---- the worksheet scanner ----------------------------------------------------
 * Worksheets are the bulk of a workbook (a million rows is a gigabyte of
 * XML), and expat spends most of a read on generic machinery, so sheet
 * parts are scanned here, with memchr between markup: start and end tags
 * (nesting checked), attributes, the five predefined and numeric character
 * references, CDATA, comments and processing instructions; a DOCTYPE, an
 * encoding other than UTF-8, a truncated part or a stray '<' is an error.
 * The small parts (workbook, relationships, styles, shared strings) still
 * go through expat. */

static void xs_fail(struct xlsx_sheet *s, const char *what)
{
	if (!s->failed) {
		buf_addf(&s->errmsg, "工作簿已损坏：%s 第 %llu 字节附近 XML 格式错误（%s）", s->part,
			 (unsigned long long)(s->xs.base + s->xs.pos), what);
		s->failed = 1;
	}
}

/* Inflate more of the part after what is unscanned.  0, or -1 on failure. */
static int xs_fill(struct xlsx_sheet *s)
{
	struct xml_scan *x = &s->xs;
	zip_int64_t n;
	if (x->pos) {
		memmove(x->data, x->data + x->pos, x->len - x->pos);
		x->base += x->pos;
		x->len -= x->pos;
		x->pos = 0;
	}
	if (x->alloc < x->len + CHUNK + 1) {
		x->alloc = x->len + CHUNK + 1;
		x->data = xrealloc(x->data, x->alloc);
	}
	n = zip_fread(s->zf, x->data + x->len, CHUNK);
	if (n < 0) {
		if (!s->failed) {
			zip_read_error(s->zf, s->part, &s->errmsg);
			s->failed = 1;
		}
		return -1;
	}
	if (n == 0)
		x->eof = 1;
	x->len += (size_t)n;
	x->data[x->len] = '\0';
	s->read += (zip_uint64_t)n;
	return 0;
}

/* Append the UTF-8 encoding of code point `cp`; -1 if not an XML character. */
static int put_utf8(struct buf *out, unsigned long cp)
{
	if (cp == 0 || (cp < 0x20 && cp != 9 && cp != 10 && cp != 13) || (cp >= 0xD800 && cp <= 0xDFFF) ||
	    cp == 0xFFFE || cp == 0xFFFF || cp > 0x10FFFF)
		return -1;
	if (cp < 0x80) {
		buf_addch(out, (int)cp);
	} else if (cp < 0x800) {
		buf_addch(out, (int)(0xC0 | (cp >> 6)));
		buf_addch(out, (int)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		buf_addch(out, (int)(0xE0 | (cp >> 12)));
		buf_addch(out, (int)(0x80 | ((cp >> 6) & 0x3F)));
		buf_addch(out, (int)(0x80 | (cp & 0x3F)));
	} else {
		buf_addch(out, (int)(0xF0 | (cp >> 18)));
		buf_addch(out, (int)(0x80 | ((cp >> 12) & 0x3F)));
		buf_addch(out, (int)(0x80 | ((cp >> 6) & 0x3F)));
		buf_addch(out, (int)(0x80 | (cp & 0x3F)));
	}
	return 0;
}

/* Append `n` bytes of text with character references decoded; -1 on a
 * reference that is not one, -2 (when check_utf8) on bytes that are not
 * UTF-8. */
static int xs_decode(const char *p, size_t n, struct buf *out, int check_utf8)
{
	const char *end = p + n;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *semi;
		if (!amp) {
			if (check_utf8 && !utf8_valid(p, (size_t)(end - p)))
				return -2;
			buf_add(out, p, (size_t)(end - p));
			return 0;
		}
		if (check_utf8 && !utf8_valid(p, (size_t)(amp - p)))
			return -2;
		buf_add(out, p, (size_t)(amp - p));
		semi = memchr(amp, ';', (size_t)(end - amp));
		if (!semi || semi - amp > 10)
			return -1;
		if (semi - amp == 3 && !memcmp(amp, "&lt", 3))
			buf_addch(out, '<');
		else if (semi - amp == 3 && !memcmp(amp, "&gt", 3))
			buf_addch(out, '>');
		else if (semi - amp == 4 && !memcmp(amp, "&amp", 4))
			buf_addch(out, '&');
		else if (semi - amp == 5 && !memcmp(amp, "&quot", 5))
			buf_addch(out, '"');
		else if (semi - amp == 5 && !memcmp(amp, "&apos", 5))
			buf_addch(out, '\'');
		else if (amp[1] == '#') {
			unsigned long cp = 0;
			const char *d = amp + 2;
			int hex = *d == 'x';
			if (hex)
				d++;
			if (d == semi)
				return -1;
			for (; d < semi; d++) {
				int v = *d >= '0' && *d <= '9' ? *d - '0'
					: hex && *d >= 'a' && *d <= 'f' ? *d - 'a' + 10
					: hex && *d >= 'A' && *d <= 'F' ? *d - 'A' + 10 : -1;
				if (v < 0 || cp > 0x10FFFF)
					return -1;
				cp = cp * (hex ? 16 : 10) + (unsigned long)v;
			}
			if (put_utf8(out, cp))
				return -1;
		} else {
			return -1;
		}
		p = semi + 1;
	}
	return 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Find `what` at or after data[from]; its offset, or -1 when more input is
 * needed (the caller refills and rescans). */
static long xs_find(struct xml_scan *x, size_t from, const char *what)
{
	char *p = from <= x->len ? memmem(x->data + from, x->len - from, what, strlen(what)) : NULL;
	return p ? (long)(p - x->data) : -1;
}

/* Parse the tag data[x->pos] .. data[end] ('<' .. '>') and call the handlers. */
static void xs_tag(struct xlsx_sheet *s, size_t end)
{
	struct xml_scan *x = &s->xs;
	char *p = x->data + x->pos + 1, *e = x->data + end;
	char *name = p, *ln;
	size_t nl;
	int closing = 0, empty = 0, na = 0, rc;
	if (*p == '/') {
		closing = 1;
		name = ++p;
	}
	while (p < e && !is_space(*p) && *p != '/')
		p++;
	nl = (size_t)(p - name);
	if (!nl || nl >= XS_MAX_NAME) {
		xs_fail(s, "元素名称无效");
		return;
	}
	if (closing) {
		while (p < e && is_space(*p))
			p++;
		if (p != e || !x->depth || strncmp(x->stack[x->depth - 1], name, nl) ||
		    x->stack[x->depth - 1][nl]) {
			xs_fail(s, "结束标记与开始标记不匹配");
			return;
		}
		x->depth--;
		ln = x->stack[x->depth];
		{
			char *c = memchr(ln, ':', nl);
			sheet_end(s, c ? c + 1 : ln);
		}
		return;
	}
	if (x->depth == 0 && x->root_seen) {
		xs_fail(s, "根元素之后还有元素");
		return;
	}
	if (x->depth == XS_MAX_DEPTH) {
		xs_fail(s, "元素嵌套过深");
		return;
	}
	memcpy(x->stack[x->depth], name, nl);
	x->stack[x->depth][nl] = '\0';
	/* attributes */
	buf_reset(&x->attv);
	for (;;) {
		char *an, *v;
		size_t anl;
		char q;
		while (p < e && is_space(*p))
			p++;
		if (p == e)
			break;
		if (*p == '/' && p + 1 == e) {
			empty = 1;
			break;
		}
		an = p;
		while (p < e && !is_space(*p) && *p != '=')
			p++;
		anl = (size_t)(p - an);
		while (p < e && is_space(*p))
			p++;
		if (!anl || p == e || *p != '=') {
			xs_fail(s, "属性格式错误");
			return;
		}
		p++;
		while (p < e && is_space(*p))
			p++;
		if (p == e || (*p != '"' && *p != '\'')) {
			xs_fail(s, "属性值缺少引号");
			return;
		}
		q = *p++;
		v = memchr(p, q, (size_t)(e - p));
		if (!v || memchr(p, '<', (size_t)(v - p))) {
			xs_fail(s, "属性值格式错误");
			return;
		}
		if (na == XS_MAX_ATTS) {
			xs_fail(s, "属性过多");
			return;
		}
		x->att_off[2 * na] = x->attv.len;
		buf_add(&x->attv, an, anl);
		buf_addch(&x->attv, '\0');
		x->att_off[2 * na + 1] = x->attv.len;
		if ((rc = xs_decode(p, (size_t)(v - p), &x->attv, 1))) {
			xs_fail(s, rc == -2 ? "文字不是有效的 UTF-8" : "无法识别的字符引用");
			return;
		}
		buf_addch(&x->attv, '\0');
		na++;
		p = v + 1;
	}
	for (int i = 0; i < 2 * na; i++)
		x->atts[i] = x->attv.buf + x->att_off[i];
	x->atts[2 * na] = NULL;
	x->root_seen = 1;
	x->depth++;
	ln = x->stack[x->depth - 1];
	{
		char *c = memchr(ln, ':', nl);
		ln = c ? c + 1 : ln;
	}
	sheet_start(s, ln, x->atts);
	if (empty && !s->failed) {
		x->depth--;
		sheet_end(s, ln);
	}
}

/* Deliver text data[a..b) inside the current element. */
static void xs_text(struct xlsx_sheet *s, size_t a, size_t b, int raw)
{
	struct xml_scan *x = &s->xs;
	int rc;
	if (!x->depth) {
		for (size_t i = a; i < b; i++)
			if (!is_space(x->data[i])) {
				xs_fail(s, "元素之外有文字");
				return;
			}
		return;
	}
	if (!sheet_wants_text(s))
		return;
	/* a text may come in pieces (the window ends inside it): its UTF-8 is
	 * checked whole, in finish_cell() */
	if (raw)
		buf_add(&s->c_text, x->data + a, b - a);
	else if ((rc = xs_decode(x->data + a, b - a, &s->c_text, 0)))
		xs_fail(s, "无法识别的字符引用");
}

/* Scan one token.  1 done, 0 at the end of the part, -1 on failure. */
static int xs_step(struct xlsx_sheet *s)
{
	struct xml_scan *x = &s->xs;
	for (;;) {
		long end;
		char c;
		if (x->pos == x->len) {
			if (x->eof) {
				if (x->depth || !x->root_seen) {
					xs_fail(s, "内容不完整");
					return -1;
				}
				return 0;
			}
			if (xs_fill(s))
				return -1;
			continue;
		}
		if (!x->started) {
			if (x->len - x->pos < 3 && !x->eof) {
				if (xs_fill(s))
					return -1;
				continue;
			}
			x->started = 1;
			if (x->len - x->pos >= 3 && !memcmp(x->data + x->pos, "\xef\xbb\xbf", 3))
				x->pos += 3;
			continue;
		}
		c = x->data[x->pos];
		if (c != '<') {
			char *lt = memchr(x->data + x->pos, '<', x->len - x->pos);
			size_t stop = lt ? (size_t)(lt - x->data) : x->len;
			if (!lt && !x->eof) {
				/* keep a reference that may be cut at the window's end */
				char *amp = memrchr(x->data + x->pos, '&', x->len - x->pos);
				if (amp && !memchr(amp, ';', (size_t)(x->data + x->len - amp)))
					stop = (size_t)(amp - x->data);
				if (stop == x->pos) {
					if (xs_fill(s))
						return -1;
					continue;
				}
			}
			xs_text(s, x->pos, stop, 0);
			x->pos = stop;
			return s->failed ? -1 : 1;
		}
		if (x->len - x->pos < 12 && !x->eof) {
			if (xs_fill(s))
				return -1;
			continue;
		}
		c = x->pos + 1 < x->len ? x->data[x->pos + 1] : '\0';
		if (c == '?') {
			end = xs_find(x, x->pos + 2, "?>");
			if (end >= 0) {
				/* the declaration: only UTF-8 is read */
				char *enc = memmem(x->data + x->pos, (size_t)end - x->pos, "encoding", 8);
				if (enc && x->data[x->pos + 2] == 'x') {
					char *q = enc + 8;
					while (is_space(*q) || *q == '=')
						q++;
					if ((*q == '"' || *q == '\'') && strncasecmp(q + 1, "UTF-8", 5)) {
						xs_fail(s, "不支持 UTF-8 以外的编码");
						return -1;
					}
				}
				x->pos = (size_t)end + 2;
				return 1;
			}
		} else if (c == '!') {
			if (x->len - x->pos >= 4 && !memcmp(x->data + x->pos, "<!--", 4)) {
				end = xs_find(x, x->pos + 4, "-->");
				if (end >= 0) {
					x->pos = (size_t)end + 3;
					return 1;
				}
			} else if (x->len - x->pos >= 9 && !memcmp(x->data + x->pos, "<![CDATA[", 9)) {
				end = xs_find(x, x->pos + 9, "]]>");
				if (end >= 0) {
					if (!x->depth) {
						xs_fail(s, "元素之外有 CDATA");
						return -1;
					}
					xs_text(s, x->pos + 9, (size_t)end, 1);
					x->pos = (size_t)end + 3;
					return s->failed ? -1 : 1;
				}
			} else {
				xs_fail(s, "文件中含有 DTD 声明，不是 Excel 工作表的内容");
				return -1;
			}
		} else {
			/* a tag: find its '>' outside quoted attribute values */
			size_t i = x->pos + 1;
			char q = 0;
			end = -1;
			for (; i < x->len; i++) {
				char d = x->data[i];
				if (q) {
					if (d == q)
						q = 0;
				} else if (d == '"' || d == '\'') {
					q = d;
				} else if (d == '>') {
					end = (long)i;
					break;
				} else if (d == '<') {
					xs_fail(s, "标记中出现“<”");
					return -1;
				}
			}
			if (end >= 0) {
				xs_tag(s, (size_t)end);
				x->pos = (size_t)end + 1;
				return s->failed ? -1 : 1;
			}
		}
		/* the token continues past the window */
		if (x->eof) {
			xs_fail(s, "内容不完整");
			return -1;
		}
		if (xs_fill(s))
			return -1;
	}
}

static int merge_cmp(const void *a, const void *b)
{
	const struct xlsx_merge *x = a, *y = b;
	if (x->row1 != y->row1)
		return x->row1 < y->row1 ? -1 : 1;
	return (x->col1 > y->col1) - (x->col1 < y->col1);
}

static void add_merge(struct xlsx_sheet *s, const char *ref)
{
	char a[16], b[16];
	const char *colon = strchr(ref, ':');
	struct xlsx_merge m;
	long r1, r2;
	if (!colon || colon - ref >= (long)sizeof(a) || strlen(colon + 1) >= sizeof(b))
		return;
	memcpy(a, ref, (size_t)(colon - ref));
	a[colon - ref] = '\0';
	snprintf(b, sizeof(b), "%s", colon + 1);
	if (xlsx_parse_ref(a, &m.col1, &r1) || xlsx_parse_ref(b, &m.col2, &r2) || r1 < 1 || r2 < r1 ||
	    m.col2 < m.col1)
		return;
	m.row1 = r1 - 1;
	m.row2 = r2 - 1;
	ALLOC_GROW(s->merges, s->nr_merges + 1, s->alloc_merges);
	s->merges[s->nr_merges++] = m;
}

/* Scan the sheet's bytes for <mergeCell ref="A1:B2"/> elements with
 * memmem.  Text in cells cannot contain a raw '<', so an occurrence of
 * "mergeCell" right after '<' (or after '<' and a namespace prefix) is the
 * element.  Chunks overlap by a tag's length so none is cut in two. */
static int prescan_merges(struct xlsx_sheet *s, zip_uint64_t idx, struct buf *err)
{
	enum { KEEP = 600 };
	zip_file_t *zf = zip_fopen_index(s->x->zip, idx, 0);
	char *win = xmalloc(CHUNK + KEEP + 1);
	size_t have = 0;
	int rc = 0;
	if (!zf) {
		free(win);
		buf_addf(err, "工作簿已损坏：无法打开 %s", s->part);
		return -1;
	}
	for (;;) {
		zip_int64_t n = zip_fread(zf, win + have, CHUNK);
		size_t scan_to, next = 0;
		char *p;
		if (n < 0) {
			zip_read_error(zf, s->part, err);
			rc = -1;
			break;
		}
		have += (size_t)n;
		win[have] = '\0';
		/* a match must have its whole tag in the window unless at the end */
		scan_to = n == 0 ? have : have > KEEP ? have - KEEP : 0;
		p = win;
		while ((p = memmem(p, have - (size_t)(p - win), "mergeCell", 9)) &&
		       (size_t)(p - win) < scan_to) {
			char *q = p - 1, *gt, *r;
			while (q >= win && *q != '<' && *q != '>' && !is_space(*q) && *q != '"')
				q--;
			next = (size_t)(p - win) + 9;
			if (q < win || *q != '<' || (q + 1 != p && p[-1] != ':') ||
			    !(is_space(p[9]) || p[9] == '/' || p[9] == '>')) {
				p += 9;
				continue;
			}
			gt = memchr(p, '>', have - (size_t)(p - win));
			if (!gt)
				break;
			*gt = '\0';
			r = strstr(p, "ref=\"");
			if (!r)
				r = strstr(p, "ref='");
			if (r) {
				char quote = r[4], *e = strchr(r + 5, quote);
				if (e) {
					char *ref = xstrndup(r + 5, (size_t)(e - r - 5));
					add_merge(s, ref);
					free(ref);
				}
			}
			*gt = '>';
			next = (size_t)(gt - win) + 1;
			p = gt + 1;
		}
		if (n == 0)
			break;
		/* keep the unscanned tail (and never rescan a match) */
		{
			size_t keep_from = scan_to > next ? scan_to : next;
			if (keep_from > have)
				keep_from = have;
			memmove(win, win + keep_from, have - keep_from);
			have -= keep_from;
		}
	}
	zip_fclose(zf);
	free(win);
	if (!rc && s->nr_merges)
		qsort(s->merges, (size_t)s->nr_merges, sizeof(*s->merges), merge_cmp);
	return rc;
}

struct xlsx_sheet *xlsx_sheet_open(struct xlsx *x, int index, int flags, struct buf *err)
{
	struct xlsx_sheet *s;
	zip_int64_t idx;
	zip_stat_t zs;
	if (index < 0 || index >= x->nr_sheets) {
		buf_addf(err, "工作表序号 %d 超出范围（共 %d 个）", index + 1, x->nr_sheets);
		return NULL;
	}
	if (load_sst(x, err))
		return NULL;
	idx = locate(x, x->sheets[index].part);
	if (idx < 0) {
		buf_addf(err, "工作簿已损坏：找不到工作表“%s”的内容（%s）", x->sheets[index].name,
			 x->sheets[index].part);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->x = x;
	s->part = x->sheets[index].part;
	buf_init(&s->errmsg, 0);
	buf_init(&s->c_text, 0);
	buf_init(&s->row_text, 0);
	s->fill = flags & XLSX_FILL_MERGED;
	if (s->fill && prescan_merges(s, (zip_uint64_t)idx, err)) {
		xlsx_sheet_close(s);
		return NULL;
	}
	zip_stat_init(&zs);
	if (!zip_stat_index(x->zip, (zip_uint64_t)idx, 0, &zs) && (zs.valid & ZIP_STAT_SIZE))
		s->size = zs.size;
	s->zf = zip_fopen_index(x->zip, (zip_uint64_t)idx, 0);
	if (!s->zf) {
		buf_addf(err, "工作簿已损坏：无法打开 %s（%s）", s->part, zip_strerror(x->zip));
		xlsx_sheet_close(s);
		return NULL;
	}
	buf_init(&s->xs.attv, 0);
	buf_init(&s->xs.text, 0);
	return s;
}

/* Copy the sheet's failure into err (once per caller's buffer); -1. */
static int sheet_error(struct xlsx_sheet *s, struct buf *err)
{
	if (!err->len)
		buf_addstr(err, s->errmsg.len ? s->errmsg.buf : "读取工作表失败");
	return -1;
}

int xlsx_sheet_next(struct xlsx_sheet *s, const struct xlsx_row **row, struct buf *err)
{
	if (s->failed)
		return sheet_error(s, err);
	if (s->finished)
		return 0;
	s->row_ready = 0;
	for (;;) {
		int rc = xs_step(s);
		if (rc < 0 || s->failed) {
			s->failed = 1;
			return sheet_error(s, err);
		}
		if (s->row_ready) {
			*row = &s->row;
			return 1;
		}
		if (rc == 0)
			break;
	}
	s->finished = 1;
	return 0;
}

double xlsx_sheet_progress(const struct xlsx_sheet *s)
{
	if (!s->size)
		return s->finished ? 1.0 : 0.0;
	/* bytes inflated, less what waits in the window */
	return s->read >= s->size ? 1.0 : (double)s->read / (double)s->size;
}

const struct xlsx_merge *xlsx_sheet_merges(const struct xlsx_sheet *s, int *n)
{
	*n = s->nr_merges;
	return s->merges;
}

void xlsx_sheet_close(struct xlsx_sheet *s)
{
	if (!s)
		return;
	free(s->xs.data);
	buf_release(&s->xs.attv);
	buf_release(&s->xs.text);
	if (s->zf)
		zip_fclose(s->zf);
	for (int i = 0; i < s->nr_open; i++) {
		free(s->open[i].text);
		free(s->open[i].raw);
	}
	free(s->open);
	free(s->merges);
	free(s->cells);
	free(s->text_off);
	free(s->raw_off);
	buf_release(&s->errmsg);
	buf_release(&s->c_text);
	buf_release(&s->row_text);
	free(s);
}

int xlsx_sheet_foreach(struct xlsx *x, int index, int flags,
		       int (*fn)(const struct xlsx_row *row, void *ctx), void *ctx, struct buf *err)
{
	struct xlsx_sheet *s = xlsx_sheet_open(x, index, flags, err);
	const struct xlsx_row *row;
	int rc;
	if (!s)
		return -1;
	while ((rc = xlsx_sheet_next(s, &row, err)) == 1) {
		int r = fn(row, ctx);
		if (r) {
			rc = r;
			break;
		}
	}
	xlsx_sheet_close(s);
	return rc;
}

/* The first visible sheet of the workbook data[len] as CSV text, one line
 * per sheet row (rows Excel did not store become empty lines, so line
 * numbers are the sheet's row numbers), cells as Excel shows them, merged
 * header cells filled.  0, or -1 with a Chinese message in err. */
int xlsx_first_sheet_csv(const void *data, size_t len, struct buf *out, struct buf *err)
{
	struct xlsx *x = xlsx_open_mem(data, len, err);
	struct xlsx_sheet *s;
	const struct xlsx_row *row;
	long next = 1;
	int idx, rc;
	if (!x)
		return -1;
	idx = xlsx_sheet_find(x, NULL, err);
	s = idx < 0 ? NULL : xlsx_sheet_open(x, idx, XLSX_FILL_MERGED, err);
	if (!s) {
		xlsx_close(x);
		return -1;
	}
	while ((rc = xlsx_sheet_next(s, &row, err)) == 1) {
		int commas = 0;
		for (; next < row->row; next++)
			buf_addch(out, '\n');
		for (int i = 0; i < row->nr_cells; i++) {
			for (; commas < row->cells[i].col; commas++)
				buf_addch(out, ',');
			buf_add_csv_field(out, row->cells[i].text);
		}
		buf_addch(out, '\n');
		next = row->row + 1;
	}
	xlsx_sheet_close(s);
	xlsx_close(x);
	return rc < 0 ? -1 : 0;
}
