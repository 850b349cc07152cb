/* import.c — CSV import of households and members in the layouts county
 * ledgers use, and the matching export.
 *
 * The whole file is read and validated before anything is written: every
 * problem is reported with its row, column, value and a Chinese reason, and
 * nothing is written if any row fails unless --skip-bad, which writes the
 * good households and puts the rows of the bad ones into a reject file.  A
 * household is imported whole or not at all, because dropping one bad row
 * (say, the 户主's) would leave the rest of the household inconsistent.
 * Import is idempotent: rows are keyed by 户编号 and 身份证号 and a row whose
 * values are already stored changes nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/csv.h"
#include "base/table.h"
#include "base/util.h"
#include "base/xlsx.h"
#include "db/db.h"
#include "registry/codes.h"
#include "registry/idcard.h"
#include "registry/registry.h"

/* ---- the ledger's columns ------------------------------------------------ */

enum col_id {
	C_HH_NO, C_VILLAGE, C_HH_TYPE, C_ADDRESS, C_HH_PHONE, C_RELOCATED, C_SITE,
	C_NAME, C_IDN, C_RELATION, C_SEX, C_BIRTH, C_ETHNICITY, C_EDUCATION, C_SCHOOL,
	C_HEALTH, C_DISABILITY, C_LABOR, C_WORK, C_IRM, C_IEM, C_ICR, C_IPE, C_DIBAO, C_TEKUN,
	C_PHONE, C_HEAD_NAME, C_SIZE, C_SEQ, C_ID_TYPE, C_PROV_NAME, C_CITY_NAME, C_COUNTY_NAME,
	C_TOWN_NAME, C_VILLAGE_NAME, NR_COLS
};

struct column {
	enum col_id id;
	const char *header;  /* the Chinese header written on export */
	const char *english; /* accepted English name */
	const char *aliases; /* other Chinese headers seen in ledgers, '|'-separated */
	const struct code_list *codes; /* value list, or NULL */
	int household;       /* 1 for a household-level column */
};

static const struct column columns[NR_COLS] = {
	{ C_HH_NO, "户编号", "hh_no", "户码|家庭编号", NULL, 1 },
	{ C_VILLAGE, "行政区划代码", "village_code", "村代码|区划代码|村级区划代码|统计用区划代码", NULL, 1 },
	{ C_HH_TYPE, "户类型", "hh_type", "户属性", &code_hh_type, 1 },
	{ C_ADDRESS, "家庭住址", "address", "住址|家庭地址", NULL, 1 },
	{ C_HH_PHONE, "户联系电话", "hh_phone", "户主联系电话|家庭联系电话", NULL, 1 },
	{ C_RELOCATED, "易地扶贫搬迁户", "relocated", "是否易地扶贫搬迁户|是否异地扶贫搬迁户|是否易地搬迁户", &code_yesno, 1 },
	{ C_SITE, "安置点", "relocation_site", "安置区地址|搬迁地址|易地扶贫搬迁安置点", NULL, 1 },
	{ C_NAME, "姓名", "name", "成员姓名", NULL, 0 },
	{ C_IDN, "证件号码", "id_number", "身份证号|身份证号码|公民身份号码|证件号", NULL, 0 },
	{ C_RELATION, "与户主关系", "relation", NULL, &code_relation, 0 },
	{ C_SEX, "性别", "sex", NULL, &code_sex, 0 },
	{ C_BIRTH, "出生日期", "birth_date", NULL, NULL, 0 },
	{ C_ETHNICITY, "民族", "ethnicity", NULL, &code_ethnicity, 0 },
	{ C_EDUCATION, "文化程度", "education", NULL, &code_education, 0 },
	{ C_SCHOOL, "在校生状况", "school_status", "在校生情况", &code_school_status, 0 },
	{ C_HEALTH, "健康状况", "health", NULL, &code_health, 0 },
	{ C_DISABILITY, "残疾类别", "disability", NULL, &code_disability, 0 },
	{ C_LABOR, "劳动技能", "labor_skill", "劳动能力", &code_labor_skill, 0 },
	{ C_WORK, "务工状况", "work_status", "务工情况", &code_work_status, 0 },
	{ C_IRM, "是否参加城乡居民基本医疗保险", "ins_resident_med", "城乡居民基本医疗保险", &code_yesno, 0 },
	{ C_IEM, "是否参加职工基本医疗保险", "ins_employee_med", "职工基本医疗保险", &code_yesno, 0 },
	{ C_ICR, "是否参加大病保险", "ins_critical", "大病保险", &code_yesno, 0 },
	{ C_IPE, "是否参加养老保险", "ins_pension", "是否参加城乡居民基本养老保险|养老保险", &code_yesno, 0 },
	{ C_DIBAO, "是否享受低保", "dibao", "是否享受最低生活保障|享受低保政策情况", &code_yesno, 0 },
	{ C_TEKUN, "是否特困供养", "tekun", "是否特困供养人员|享受特困供养政策情况", &code_yesno, 0 },
	{ C_PHONE, "联系电话", "phone", "成员联系电话|本人联系电话", NULL, 0 },
	{ C_HEAD_NAME, "户主姓名", "head_name", NULL, NULL, 1 },
	{ C_SIZE, "家庭人口数", "household_size", "人口数", NULL, 1 },
	/* written on export by the national layout; on import 序号 and 证件类型
	 * are read and ignored, and the names find the village when the file
	 * has no 行政区划代码 column */
	{ C_SEQ, "序号", "seq", NULL, NULL, 1 },
	{ C_ID_TYPE, "证件类型", "id_type", "户主证件类型", NULL, 0 },
	{ C_PROV_NAME, "省", "province", "省（自治区、直辖市）|省份", NULL, 1 },
	{ C_CITY_NAME, "市", "city", "市（地、州、盟）|地市|市州", NULL, 1 },
	{ C_COUNTY_NAME, "县", "county", "县（市、区、旗）|县区|区县|县（区）", NULL, 1 },
	{ C_TOWN_NAME, "乡", "township", "乡（镇）|镇|乡镇|乡镇（街道）|乡（镇、街道）", NULL, 1 },
	{ C_VILLAGE_NAME, "村", "village", "行政村|村（社区）|村（居）", NULL, 1 },
};

/* Headers recognised and deliberately ignored (names of regions, serials). */
static const char *const ignored_headers[] = {
	"自然村", "组", "村民小组", "年度", "户主证件号码", NULL,
};

/* Strip ASCII spaces, full-width spaces and a leading '*' from a header cell. */
static void clean_header(const char *in, struct buf *out)
{
	buf_reset(out);
	buf_addstr(out, in);
	for (;;) {
		buf_trim(out);
		if (out->len >= 3 && !memcmp(out->buf, "\xe3\x80\x80", 3)) {
			memmove(out->buf, out->buf + 3, out->len - 2);
			out->len -= 3;
		} else if (out->len >= 3 && !memcmp(out->buf + out->len - 3, "\xe3\x80\x80", 3)) {
			buf_setlen(out, out->len - 3);
		} else if (out->len && out->buf[0] == '*') {
			memmove(out->buf, out->buf + 1, out->len);
			out->len--;
		} else {
			break;
		}
	}
}

static int alias_match(const char *aliases, const char *h)
{
	size_t hl = strlen(h);
	while (aliases && *aliases) {
		const char *bar = strchr(aliases, '|');
		size_t l = bar ? (size_t)(bar - aliases) : strlen(aliases);
		if (l == hl && !memcmp(aliases, h, l))
			return 1;
		aliases = bar ? bar + 1 : NULL;
	}
	return 0;
}

/* The column whose English field name is `field`, or -1. */
static int column_by_field(const char *field)
{
	for (int i = 0; i < NR_COLS; i++)
		if (!strcmp(columns[i].english, field))
			return i;
	return -1;
}

int registry_field_known(const char *field)
{
	return !strcmp(field, "ignore") || column_by_field(field) >= 0;
}

const char *registry_field_header(const char *field)
{
	int c = column_by_field(field);
	return c >= 0 ? columns[c].header : NULL;
}

/* The column a header names, -1 if unknown, -2 if known but ignored.  A
 * layout profile's headers come first (a field "ignore" ignores it). */
static int column_of(const struct layout_profile *prof, const char *raw, struct buf *tmp)
{
	clean_header(raw, tmp);
	if (!tmp->len)
		return -1;
	for (int i = 0; prof && i < prof->nr_cols; i++) {
		struct buf h = BUF_INIT;
		int same;
		clean_header(prof->cols[i].header, &h);
		same = !strcmp(h.buf, tmp->buf);
		buf_release(&h);
		if (same)
			return !strcmp(prof->cols[i].field, "ignore") ? -2
								      : column_by_field(prof->cols[i].field);
	}
	for (int i = 0; i < NR_COLS; i++)
		if (!strcmp(columns[i].header, tmp->buf) || !strcasecmp(columns[i].english, tmp->buf) ||
		    alias_match(columns[i].aliases, tmp->buf))
			return i;
	for (int i = 0; ignored_headers[i]; i++)
		if (!strcmp(ignored_headers[i], tmp->buf))
			return -2;
	return -1;
}

/* ---- rows from CSV or an Excel workbook ----------------------------------
 * The importer reads rows through a row_source, so validation, reporting,
 * the transaction and idempotency are the same for both: a CSV row is its
 * fields; an xlsx row is made dense (a gap is ""), with each cell's type
 * kept so that a 身份证号 Excel stored as a number can be recognised, and
 * merged ranges filled with their top-left value (a household's columns
 * merged over its members' rows). */

struct import_row {
	const char **fields;         /* nr_fields texts, "" for an empty cell */
	int nr_fields;
	long line;                   /* CSV: physical line; xlsx: the sheet's row number */
	const unsigned char *types;  /* xlsx: enum xlsx_type per field, 0 = empty; CSV: NULL */
};

/* A copy of a row that outlives the reader's next call. */
struct saved_row {
	struct buf text;           /* the fields, NUL-terminated one after another */
	size_t *off;
	const char **fields;
	unsigned char *types;
	int n, has_types, alloc_off, alloc_fields, alloc_types;
	long line;
	size_t start, end;         /* CSV: the row's bytes */
};

static void saved_init(struct saved_row *sv)
{
	memset(sv, 0, sizeof(*sv));
	buf_init(&sv->text, 0);
}

static void saved_take(struct saved_row *sv, const struct import_row *r, size_t start, size_t end)
{
	buf_reset(&sv->text);
	ALLOC_GROW(sv->off, r->nr_fields + 1, sv->alloc_off);
	ALLOC_GROW(sv->fields, r->nr_fields + 1, sv->alloc_fields);
	ALLOC_GROW(sv->types, r->nr_fields + 1, sv->alloc_types);
	for (int i = 0; i < r->nr_fields; i++) {
		sv->off[i] = sv->text.len;
		buf_add(&sv->text, r->fields[i], strlen(r->fields[i]) + 1);
		sv->types[i] = r->types ? r->types[i] : 0;
	}
	sv->n = r->nr_fields;
	sv->has_types = r->types != NULL;
	sv->line = r->line;
	sv->start = start;
	sv->end = end;
}

/* Point `r` at the saved row (valid while `sv` is unchanged). */
static void saved_view(struct saved_row *sv, struct import_row *r)
{
	for (int i = 0; i < sv->n; i++)
		sv->fields[i] = sv->text.buf + sv->off[i];
	r->fields = sv->fields;
	r->nr_fields = sv->n;
	r->types = sv->has_types ? sv->types : NULL;
	r->line = sv->line;
}

static void saved_release(struct saved_row *sv)
{
	buf_release(&sv->text);
	free(sv->off);
	free(sv->fields);
	free(sv->types);
}

struct row_source {
	int is_xlsx;
	struct import_row row;
	/* CSV */
	struct csv_reader csv;
	size_t row_start, row_end;   /* bytes of the current row in csv.text */
	/* xlsx */
	struct xlsx *x;
	struct xlsx_sheet *xs;
	int sheet;                   /* 0-based index of the sheet read */
	int date1904;
	const char **xfields;
	unsigned char *xtypes;
	int alloc_xfields, alloc_xtypes;
	/* one row given back by src_unread() */
	int pushed;
	struct saved_row pushed_row;
};

static int src_is_xlsx(const struct row_source *src)
{
	return src->is_xlsx;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcasecmp(s + a - b, suffix);
}

/* Open `path` ("-" = stdin) as a workbook when it is a zip (or named .xlsx),
 * else as CSV.  `sheet` picks the worksheet.  0, or -1 with err set. */
static int src_open(struct row_source *src, const char *path, const char *data, size_t len,
		    const char *sheet, struct buf *err)
{
	unsigned char magic[8] = { 0 };
	struct buf in = BUF_INIT;
	int n = 0;
	memset(src, 0, sizeof(*src));
	saved_init(&src->pushed_row);
	if (!data && !strcmp(path, "-")) {
		if (buf_read_file(&in, "-")) {
			buf_addf(err, "无法读取标准输入：%s", strerror(errno));
			return -1;
		}
		data = in.buf;
		len = in.len;
	}
	if (data) { /* stdin, or the bytes of an upload */
		n = len < sizeof(magic) ? (int)len : (int)sizeof(magic);
		memcpy(magic, data, (size_t)n);
		path = "-";
	} else {
		FILE *f = fopen(path, "rb");
		if (!f) {
			buf_addf(err, "无法读取 '%s'：%s", path, strerror(errno));
			return -1;
		}
		n = (int)fread(magic, 1, sizeof(magic), f);
		fclose(f);
	}
	if (n >= 8 && !memcmp(magic, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8)) {
		buf_addstr(err, "这是旧版 Excel 97-2003 工作簿（.xls）或 WPS 文件，liubao 读不了："
				"请在 Excel 或 WPS 中“另存为” Excel 工作簿（.xlsx）或 CSV 后再导入");
		buf_release(&in);
		return -1;
	}
	if ((n >= 4 && !memcmp(magic, "PK\x03\x04", 4)) || has_suffix(path, ".xlsx") ||
	    has_suffix(path, ".xlsm")) {
		src->is_xlsx = 1;
		src->x = data ? xlsx_open_mem(data, len, err) : xlsx_open(path, err);
		buf_release(&in);
		if (!src->x)
			return -1;
		src->sheet = xlsx_sheet_find(src->x, sheet, err);
		if (src->sheet >= 0) {
			src->date1904 = xlsx_date1904(src->x);
			src->xs = xlsx_sheet_open(src->x, src->sheet, XLSX_FILL_MERGED, err);
		}
		if (!src->xs) { /* the caller closes only what opened */
			xlsx_close(src->x);
			src->x = NULL;
			return -1;
		}
		return 0;
	}
	if (sheet && *sheet) {
		buf_addstr(err, "只有 Excel 工作簿（.xlsx）才能指定工作表（--sheet）");
		buf_release(&in);
		return -1;
	}
	if (data) {
		int rc = csv_open_mem(&src->csv, data, len, err);
		buf_release(&in);
		return rc;
	}
	return csv_open_file(&src->csv, path, err);
}

/* Read the next row into src->row: 1, 0 at the end, -1 with err set. */
static int src_next(struct row_source *src, struct buf *err)
{
	const struct xlsx_row *xr;
	int rc, width;
	if (src->pushed) {
		src->pushed = 0;
		saved_view(&src->pushed_row, &src->row);
		src->row_start = src->pushed_row.start;
		src->row_end = src->pushed_row.end;
		return 1;
	}
	if (!src->is_xlsx) {
		src->row_start = src->csv.pos;
		rc = csv_read_row(&src->csv, err);
		src->row_end = src->csv.pos;
		if (rc != 1)
			return rc;
		src->row.fields = src->csv.fields;
		src->row.nr_fields = src->csv.nr_fields;
		src->row.line = src->csv.line;
		src->row.types = NULL;
		return 1;
	}
	rc = xlsx_sheet_next(src->xs, &xr, err);
	if (rc != 1)
		return rc;
	width = xr->width ? xr->width : 1;
	ALLOC_GROW(src->xfields, width, src->alloc_xfields);
	ALLOC_GROW(src->xtypes, width, src->alloc_xtypes);
	for (int i = 0; i < width; i++) {
		src->xfields[i] = "";
		src->xtypes[i] = 0;
	}
	for (int i = 0; i < xr->nr_cells; i++) {
		src->xfields[xr->cells[i].col] = xr->cells[i].text;
		src->xtypes[xr->cells[i].col] = (unsigned char)xr->cells[i].type;
	}
	src->row.fields = src->xfields;
	src->row.nr_fields = width;
	src->row.types = src->xtypes;
	src->row.line = xr->row;
	return 1;
}

/* Give the current row back: the next src_next() returns it again. */
static void src_unread(struct row_source *src)
{
	saved_take(&src->pushed_row, &src->row, src->row_start, src->row_end);
	src->pushed = 1;
}

static double src_progress(const struct row_source *src)
{
	return src->is_xlsx ? xlsx_sheet_progress(src->xs) : csv_progress(&src->csv);
}

static void src_close(struct row_source *src)
{
	if (src->is_xlsx) {
		xlsx_sheet_close(src->xs);
		xlsx_close(src->x);
	} else {
		csv_release(&src->csv);
	}
	free(src->xfields);
	free(src->xtypes);
	saved_release(&src->pushed_row);
}

/* ---- per-run state -------------------------------------------------------- */

/* What the importer keeps of a file is packed: a million members and their
 * households are held at once (the whole file is checked before anything
 * is written), so codes are bytes and texts live in one string arena
 * (s->strings, offset 0 = ""), unpacked into the registry's structs when
 * a household is checked or written. */
typedef uint32_t str_off;  /* offset into s->strings */

struct group {                 /* one household in the file */
	str_off hh_no;            /* 户编号, 0 = none (a row whose 户编号 was bad) */
	str_off address, phone, site; /* its household columns, when the file has them */
	char village_code[13];
	signed char hh_type;      /* -1 = not recorded */
	unsigned char relocated, has_hh, bad; /* bad: some row of the household has an error */
	long line;                /* first row naming it */
	int first, last;          /* chain of member rows (index into members), -1 = none */
	int nr_members;
	int64_t db_id;            /* existing household id, 0 = new */
	char db_village[13];      /* the existing household's village */
	str_off head_name;        /* 户主姓名 as the file says it, 0 = not said */
	int size;                 /* 家庭人口数 as the file says it, when size_line */
	long head_line, size_line; /* the rows that said them first, 0 = none */
};

struct packed_member {         /* a struct member_rec, packed */
	int64_t id;               /* 0 unknown, -1 known new, else the stored member's id */
	char id_number[19];       /* normalised, "" when the 身份证号 was bad */
	signed char relation, sex, ethnicity, education, school_status, health, disability,
		labor_skill, work_status, ins_resident_med, ins_employee_med, ins_critical,
		ins_pension, dibao, tekun; /* codes, -1 = not recorded */
	str_off name, phone;
};

struct import_state {
	enum import_kind kind;
	const struct import_opts *o;
	struct import_result *res;
	struct db *db;
	int col_of_field[NR_COLS]; /* field index for each column, -1 = absent */
	int nr_header_fields;
	int today;
	/* households */
	struct group *groups;
	int nr_groups, alloc_groups;
	int *group_hash;         /* open addressing, -1 = empty */
	size_t group_hash_size;
	/* members */
	struct buf strings;      /* the string arena of groups and members */
	struct packed_member *members;
	int *m_group, *m_next;
	long *m_line;
	unsigned char *m_bad;
	int nr_members, alloc_members, alloc_m_group, alloc_m_next, alloc_m_line, alloc_m_bad;
	int *id_hash;            /* 身份证号 → member index */
	size_t id_hash_size;
	/* raw rows for the reject file */
	size_t *row_start, *row_end;
	int nr_rows, alloc_rows_s, alloc_rows_e;
	int *row_group;          /* group of each raw row */
	int alloc_row_group;
	/* known county codes (6 digits) for the 身份证号 area warning */
	char (*counties)[7];
	int nr_counties;
	struct area_seen {       /* unknown area codes: reported once each, with a count */
		char area[7];
		long first_line, count;
	} *areas;
	int nr_areas, alloc_areas;
	long problems_listed;
	struct buf tmp;
	/* look-ups done in bulk on a database server (prefetch_*) */
	int prefetched_hh, prefetched_members;
	struct stored_member {   /* a 身份证号 of the file already registered */
		int64_t id, household_id;
		char *hh_no, *name;
		char village[13];    /* village of the household it is registered in */
	} *stored;
	int nr_stored, alloc_stored;
	int *stored_of;          /* per member index: index into stored, -1 = none */
	int empty_registry;      /* no household and no member stored before */
	/* where the rows come from */
	struct row_source *src;
	char **header_text;      /* the file's header text of each field */
	long header_line;        /* the header's row */
	size_t header_start, header_end; /* CSV: the header's bytes */
	int hh_cols;             /* the file describes households (code or 乡/村 names) */
	long *row_line;          /* row number of each data row */
	int alloc_row_line;
	/* problems per cell, for the annotated copy of a workbook and the
	 * 错误原因 column of a CSV reject file */
	struct cell_problem {
		long line;
		int col;             /* enum col_id, -1 = the row */
		int warning;
		size_t msg;          /* offset into cprob_text */
	} *cprobs;
	int nr_cprobs, alloc_cprobs;
	struct buf cprob_text;
	/* villages found by name (乡, 村, and 县 when given) */
	struct village_name {
		char *county, *town, *village;
		char code[13];
	} *vnames;
	int nr_vnames, alloc_vnames;
	int vnames_loaded;
	char last_vkey[256], last_vcode[13];
	int last_vrc;
};

#define MAX_LISTED 1000
#define MAX_CELL_PROBLEMS 200000

/* ---- the packed records -------------------------------------------------- */

/* Add `v` to the string arena; its offset (0 for ""). */
static str_off str_add(struct import_state *s, const char *v)
{
	size_t off = s->strings.len;
	if (!v || !*v)
		return 0;
	if (off > UINT32_MAX - strlen(v) - 1)
		die("import: the file's texts exceed 4 GB");
	buf_add(&s->strings, v, strlen(v) + 1);
	return (str_off)off;
}

/* The text at `off` (borrowed until the next str_add). */
static const char *str_at(const struct import_state *s, str_off off)
{
	return off ? s->strings.buf + off : "";
}

static const char *group_hh_no(const struct import_state *s, int g)
{
	return str_at(s, s->groups[g].hh_no);
}

/* The household columns of group `g` as a household_rec (id 0). */
static void group_get_hh(const struct import_state *s, int g, struct household_rec *h)
{
	const struct group *gr = &s->groups[g];
	household_rec_init(h);
	snprintf(h->hh_no, sizeof(h->hh_no), "%s", str_at(s, gr->hh_no));
	memcpy(h->village_code, gr->village_code, sizeof(h->village_code));
	snprintf(h->address, sizeof(h->address), "%s", str_at(s, gr->address));
	snprintf(h->phone, sizeof(h->phone), "%s", str_at(s, gr->phone));
	snprintf(h->relocation_site, sizeof(h->relocation_site), "%s", str_at(s, gr->site));
	h->hh_type = gr->hh_type;
	h->relocated = gr->relocated;
}

/* Keep the household columns of `h` in group `g` (its 户编号 is kept). */
static void group_set_hh(struct import_state *s, int g, const struct household_rec *h)
{
	str_off a = str_add(s, h->address), p = str_add(s, h->phone), site = str_add(s, h->relocation_site);
	struct group *gr = &s->groups[g];
	memcpy(gr->village_code, h->village_code, sizeof(gr->village_code));
	gr->address = a;
	gr->phone = p;
	gr->site = site;
	gr->hh_type = (signed char)h->hh_type;
	gr->relocated = (unsigned char)(h->relocated > 0);
	gr->has_hh = 1;
}

static void member_pack(struct import_state *s, int m, const struct member_rec *r)
{
	str_off name = str_add(s, r->name), phone = str_add(s, r->phone);
	struct packed_member *p = &s->members[m];
	p->id = r->id;
	memcpy(p->id_number, r->id_number, sizeof(p->id_number));
	p->relation = (signed char)r->relation;
	p->sex = (signed char)r->sex;
	p->ethnicity = (signed char)r->ethnicity;
	p->education = (signed char)r->education;
	p->school_status = (signed char)r->school_status;
	p->health = (signed char)r->health;
	p->disability = (signed char)r->disability;
	p->labor_skill = (signed char)r->labor_skill;
	p->work_status = (signed char)r->work_status;
	p->ins_resident_med = (signed char)r->ins_resident_med;
	p->ins_employee_med = (signed char)r->ins_employee_med;
	p->ins_critical = (signed char)r->ins_critical;
	p->ins_pension = (signed char)r->ins_pension;
	p->dibao = (signed char)r->dibao;
	p->tekun = (signed char)r->tekun;
	p->name = name;
	p->phone = phone;
}

/* Member `m` as a member_rec; its birth date comes from the 身份证号. */
static void member_unpack(const struct import_state *s, int m, struct member_rec *r)
{
	const struct packed_member *p = &s->members[m];
	member_rec_init(r);
	r->id = p->id;
	memcpy(r->id_number, p->id_number, sizeof(r->id_number));
	if (p->id_number[0])
		snprintf(r->birth_date, sizeof(r->birth_date), "%.4s-%.2s-%.2s", p->id_number + 6,
			 p->id_number + 10, p->id_number + 12);
	r->relation = p->relation;
	r->sex = p->sex;
	r->ethnicity = p->ethnicity;
	r->education = p->education;
	r->school_status = p->school_status;
	r->health = p->health;
	r->disability = p->disability;
	r->labor_skill = p->labor_skill;
	r->work_status = p->work_status;
	r->ins_resident_med = p->ins_resident_med;
	r->ins_employee_med = p->ins_employee_med;
	r->ins_critical = p->ins_critical;
	r->ins_pension = p->ins_pension;
	r->dibao = p->dibao;
	r->tekun = p->tekun;
	snprintf(r->name, sizeof(r->name), "%s", str_at(s, p->name));
	snprintf(r->phone, sizeof(r->phone), "%s", str_at(s, p->phone));
}

static void report(struct import_state *s, int warning_only, long line, int col, const char *value,
		   const char *fmt, ...) ATTR_PRINTF(6, 7);

static int src_is_xlsx(const struct row_source *src);

static void report(struct import_state *s, int warning_only, long line, int col, const char *value,
		   const char *fmt, ...)
{
	va_list ap;
	struct buf msg = BUF_INIT;
	int f = col >= 0 ? s->col_of_field[col] : -1;
	struct import_problem *ip;
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (warning_only)
		s->res->warnings++;
	s->res->problems_total++;
	if (s->src && (src_is_xlsx(s->src) || (s->o->skip_bad && s->o->reject_path)) &&
	    s->nr_cprobs < MAX_CELL_PROBLEMS) {
		struct cell_problem *p;
		ALLOC_GROW(s->cprobs, s->nr_cprobs + 1, s->alloc_cprobs);
		p = &s->cprobs[s->nr_cprobs++];
		p->line = line;
		p->col = col;
		p->warning = warning_only;
		p->msg = s->cprob_text.len;
		if (col >= 0)
			buf_addf(&s->cprob_text, "%s：", f >= 0 && s->header_text ? s->header_text[f]
								       : columns[col].header);
		buf_add(&s->cprob_text, msg.buf, msg.len + 1);
	}
	if (s->problems_listed++ >= MAX_LISTED) {
		buf_release(&msg);
		return;
	}
	buf_addf(&s->res->report, "%s第 %ld 行", warning_only ? "警告：" : "", line);
	if (col >= 0) {
		buf_addf(&s->res->report, "，列“%s”",
			 f >= 0 && s->header_text ? s->header_text[f] : columns[col].header);
		if (f >= 0 && s->src && src_is_xlsx(s->src)) {
			char letters[4];
			xlsx_col_name(f, letters);
			buf_addf(&s->res->report, "（%s 列）", letters);
		}
	}
	if (value)
		buf_addf(&s->res->report, "，值“%s”", value);
	buf_addstr(&s->res->report, "：");
	buf_add(&s->res->report, msg.buf, msg.len);
	buf_addch(&s->res->report, '\n');
	ALLOC_GROW(s->res->problems, s->res->nr_problems + 1, s->res->alloc_problems);
	ip = &s->res->problems[s->res->nr_problems++];
	ip->line = line;
	ip->column = col >= 0 ? columns[col].header : "";
	ip->value = value ? xstrdup(value) : NULL;
	ip->message = buf_detach(&msg, NULL);
	ip->warning = warning_only;
}

/* Tell the caller how far the import got (see enum import_phase). */
static void progress(struct import_state *s, int phase, long done, long total)
{
	if (s->o->on_progress)
		s->o->on_progress(s->o->arg, phase, done, total);
}

/* 1 when `code` lies outside the region prefix the import is limited to. */
static int out_of_scope(struct import_state *s, const char *code)
{
	return s->o->scope && *s->o->scope && !starts_with(code, s->o->scope);
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void hash_resize(int **tab, size_t *size, size_t want)
{
	size_t n = 1024;
	while (n < want * 2)
		n *= 2;
	if (n <= *size)
		return;
	free(*tab);
	*tab = xmalloc(n * sizeof(int));
	memset(*tab, 0xff, n * sizeof(int));
	*size = n;
}

/* Find the group for `hh_no`, creating it (returns index; *created set). */
static int group_for(struct import_state *s, const char *hh_no, long line, int *created)
{
	size_t mask, i;
	if ((size_t)s->nr_groups * 2 >= s->group_hash_size) {
		hash_resize(&s->group_hash, &s->group_hash_size, s->nr_groups + 1);
		mask = s->group_hash_size - 1;
		for (int g = 0; g < s->nr_groups; g++) {
			i = hash_str(group_hh_no(s, g)) & mask;
			while (s->group_hash[i] >= 0)
				i = (i + 1) & mask;
			s->group_hash[i] = g;
		}
	}
	mask = s->group_hash_size - 1;
	i = hash_str(hh_no) & mask;
	while (s->group_hash[i] >= 0) {
		if (!strcmp(group_hh_no(s, s->group_hash[i]), hh_no)) {
			*created = 0;
			return s->group_hash[i];
		}
		i = (i + 1) & mask;
	}
	ALLOC_GROW(s->groups, s->nr_groups + 1, s->alloc_groups);
	{
		str_off no = str_add(s, hh_no);
		struct group *g = &s->groups[s->nr_groups];
		memset(g, 0, sizeof(*g));
		g->hh_no = no;
		g->hh_type = -1;
		g->line = line;
		g->first = g->last = -1;
	}
	s->group_hash[i] = s->nr_groups;
	*created = 1;
	return s->nr_groups++;
}

/* Index of an earlier member with the same 身份证号, or -1 after adding `m`. */
static int id_seen(struct import_state *s, int m)
{
	size_t mask, i;
	if ((size_t)s->nr_members * 2 >= s->id_hash_size) {
		hash_resize(&s->id_hash, &s->id_hash_size, s->nr_members + 1);
		mask = s->id_hash_size - 1;
		for (int k = 0; k < m; k++) {
			if (!s->members[k].id_number[0])
				continue;
			i = hash_str(s->members[k].id_number) & mask;
			while (s->id_hash[i] >= 0)
				i = (i + 1) & mask;
			s->id_hash[i] = k;
		}
	}
	mask = s->id_hash_size - 1;
	i = hash_str(s->members[m].id_number) & mask;
	while (s->id_hash[i] >= 0) {
		if (!strcmp(s->members[s->id_hash[i]].id_number, s->members[m].id_number))
			return s->id_hash[i];
		i = (i + 1) & mask;
	}
	s->id_hash[i] = m;
	return -1;
}

static int county_known(struct import_state *s, const char *area)
{
	int lo = 0, hi = s->nr_counties - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2, c = strcmp(s->counties[mid], area);
		if (!c)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

static void load_counties(struct import_state *s)
{
	struct db_stmt *st = db_prepare(s->db, "SELECT DISTINCT substr(code, 1, 6) FROM region "
					       "WHERE level = 3 ORDER BY 1");
	int alloc = 0;
	while (db_step(st) == DB_ROW) {
		ALLOC_GROW(s->counties, s->nr_counties + 1, alloc);
		snprintf(s->counties[s->nr_counties++], 7, "%s", db_col_text(st, 0));
	}
	db_done(st);
}

/* Count a 身份证号 whose area code is not a loaded county (a warning, never
 * a rejection: numbers keep the code of the place that issued them). */
static void note_area(struct import_state *s, const char *area, long line)
{
	for (int i = 0; i < s->nr_areas; i++)
		if (!strcmp(s->areas[i].area, area)) {
			s->areas[i].count++;
			return;
		}
	ALLOC_GROW(s->areas, s->nr_areas + 1, s->alloc_areas);
	snprintf(s->areas[s->nr_areas].area, 7, "%s", area);
	s->areas[s->nr_areas].first_line = line;
	s->areas[s->nr_areas].count = 1;
	s->nr_areas++;
}

static void report_areas(struct import_state *s)
{
	/* counts over the whole file: in the report, not on one row of the workbook */
	struct row_source *src = s->src;
	s->src = NULL;
	for (int i = 0; i < s->nr_areas; i++)
		report(s, 1, s->areas[i].first_line, C_IDN, NULL,
		       "%ld 人的身份证号地址码为 %s，不在已导入的行政区划中（可能是旧代码或外地迁入），已接受",
		       s->areas[i].count, s->areas[i].area);
	s->src = src;
}

/* 1 if `table` has no rows. */
static int table_empty(struct db *db, const char *sql)
{
	struct db_stmt *st = db_prepare(db, sql);
	int empty = db_step(st) != DB_ROW;
	db_done(st);
	return empty;
}

/* ---- value parsing -------------------------------------------------------- */

/* Copy a trimmed field into dst (n bytes); error if too long or not text.
 * 家庭住址 and 安置点 may hold line breaks (Excel's Alt-Enter, or an address
 * entered through the API and exported): CRLF and CR become LF and are kept,
 * so an exported file imports back unchanged.  Other control characters, and
 * line breaks in any other column, are errors. */
static int take_text(struct import_state *s, long line, int col, const char *v, char *dst,
		     size_t n)
{
	int multiline = col == C_ADDRESS || col == C_SITE;
	buf_reset(&s->tmp);
	if (!multiline || !strchr(v, '\r'))
		buf_addstr(&s->tmp, v);
	else
		for (; *v; v++) {
			if (*v == '\r') {
				buf_addch(&s->tmp, '\n');
				if (v[1] == '\n')
					v++;
			} else {
				buf_addch(&s->tmp, *v);
			}
		}
	buf_trim(&s->tmp);
	if (s->tmp.len >= n) {
		report(s, 0, line, col, NULL, "内容过长（最多 %zu 字节，约 %zu 个汉字）", n - 1,
		       (n - 1) / 3);
		return -1;
	}
	for (size_t i = 0; i < s->tmp.len; i++)
		if ((unsigned char)s->tmp.buf[i] < 0x20 && !(multiline && s->tmp.buf[i] == '\n')) {
			report(s, 0, line, col, NULL, "含有控制字符，请删除换行或制表符");
			return -1;
		}
	memcpy(dst, s->tmp.buf, s->tmp.len + 1);
	return 0;
}

static int take_code(struct import_state *s, long line, int col, const char *v, int *out)
{
	const struct code_list *l = columns[col].codes;
	int c;
	buf_reset(&s->tmp);
	buf_addstr(&s->tmp, v);
	buf_trim(&s->tmp);
	if (!s->tmp.len) {
		*out = -1;
		return 0;
	}
	c = codes_lookup(l, s->tmp.buf);
	if (c < 0 && l == &code_yesno) {
		if (!strcmp(s->tmp.buf, "1") || !strcasecmp(s->tmp.buf, "Y") ||
		    !strcasecmp(s->tmp.buf, "true"))
			c = 1;
		else if (!strcmp(s->tmp.buf, "0") || !strcasecmp(s->tmp.buf, "N") ||
			 !strcasecmp(s->tmp.buf, "false"))
			c = 0;
	}
	if (c < 0) {
		const char *sug = codes_suggest(l, s->tmp.buf);
		if (sug)
			report(s, 0, line, col, v, "不是有效的%s，是否应为“%s”？", l->title, sug);
		else
			report(s, 0, line, col, v, "不是有效的%s（可选值见 liubao 代码表）", l->title);
		return -1;
	}
	*out = c;
	return 0;
}

/* Parse a date cell as YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or YYYY年M月D日. */
static int parse_date(const char *v, int *y, int *m, int *d)
{
	int n = 0;
	if (sscanf(v, "%4d-%2d-%2d%n", y, m, d, &n) == 3 && !v[n])
		return 0;
	if (sscanf(v, "%4d/%2d/%2d%n", y, m, d, &n) == 3 && !v[n])
		return 0;
	if (strlen(v) == 8 && strspn(v, "0123456789") == 8 && sscanf(v, "%4d%2d%2d", y, m, d) == 3)
		return 0;
	if (sscanf(v, "%4d年%d月%d日%n", y, m, d, &n) == 3 && !v[n])
		return 0;
	return -1;
}

static const char *field(struct import_state *s, struct import_row *r, int col)
{
	int f = s->col_of_field[col];
	return f >= 0 && f < r->nr_fields ? r->fields[f] : NULL;
}

/* The cell type of column `col` in an xlsx row, 0 for CSV or an empty cell. */
static int field_type(struct import_state *s, struct import_row *r, int col)
{
	int f = s->col_of_field[col];
	return r->types && f >= 0 && f < r->nr_fields ? r->types[f] : 0;
}

/* 1 if `v` looks like a long number Excel has rounded: scientific notation
 * ("6.10926E+17"), which is what a number of more than 15 digits shows as. */
static int looks_rounded(const char *v)
{
	const char *e;
	if (!v || !(e = strpbrk(v, "Ee")) || (e[1] != '+' && e[1] != '-'))
		return 0;
	for (const char *p = v; p < e; p++)
		if (!(*p >= '0' && *p <= '9') && *p != '.' && *p != ' ')
			return 0;
	return strspn(e + 2, "0123456789") == strlen(e + 2) && e[2];
}

/* Report a code or number column (身份证号, 户编号, phone) that Excel stored
 * as a number and so may have lost digits.  Returns 1 if reported. */
static int lost_digits(struct import_state *s, struct import_row *r, int col, const char *v)
{
	int numeric = field_type(s, r, col) == XLSX_NUMBER;
	size_t digits = v ? strspn(v, "0123456789") : 0;
	if (!v || !*v)
		return 0;
	if (looks_rounded(v) || (numeric && digits > 15)) {
		report(s, 0, r->line, col, v,
		       "Excel 把它存成了数字，只保留 15 位有效数字，后面几位已丢失、无法恢复；请把该列"
		       "设置为“文本”格式后重新录入（或在号码前加英文单引号 '）");
		return 1;
	}
	return 0;
}

/* ---- villages by name ------------------------------------------------------ */

/* Strip the committee suffix of a village name: 西城社区居委会 → 西城社区. */
static void village_base(const char *name, struct buf *out)
{
	static const char *const suffixes[] = { "村民委员会", "居民委员会", "村委会", "居委会", NULL };
	buf_reset(out);
	buf_addstr(out, name);
	buf_trim(out);
	for (int i = 0; suffixes[i]; i++) {
		size_t l = strlen(suffixes[i]);
		if (out->len > l && !strcmp(out->buf + out->len - l, suffixes[i])) {
			buf_setlen(out, out->len - l);
			break;
		}
	}
}

static int load_village_names(struct import_state *s)
{
	enum { VN_CODE, VN_VILLAGE, VN_TOWN, VN_COUNTY };
	struct db_stmt *st = db_prepare(s->db,
					"SELECT v.code, v.name, t.name, c.name FROM region v JOIN "
					"region t ON t.code = v.parent LEFT JOIN region c ON c.code = "
					"t.parent WHERE v.level = 5 ORDER BY v.code");
	struct buf b = BUF_INIT;
	int rc;
	s->vnames_loaded = 1;
	while ((rc = db_step(st)) == DB_ROW) {
		struct village_name *vn;
		ALLOC_GROW(s->vnames, s->nr_vnames + 1, s->alloc_vnames);
		vn = &s->vnames[s->nr_vnames++];
		snprintf(vn->code, sizeof(vn->code), "%s", db_col_text(st, VN_CODE));
		village_base(db_col_text(st, VN_VILLAGE), &b);
		vn->village = xstrdup(b.buf);
		vn->town = xstrdup(db_col_text(st, VN_TOWN));
		vn->county = xstrdup(db_col_text(st, VN_COUNTY));
	}
	db_done(st);
	buf_release(&b);
	return rc < 0 ? -1 : 0;
}

/* Find the village named by the row's 县/乡/村 columns; fills code[13].
 * Returns 0, or 1 after reporting why not (unknown or ambiguous). */
static int village_by_name(struct import_state *s, struct import_row *r, char code[13])
{
	const char *county = field(s, r, C_COUNTY_NAME), *town = field(s, r, C_TOWN_NAME);
	const char *village = field(s, r, C_VILLAGE_NAME);
	struct buf vb = BUF_INIT, tb = BUF_INIT, cb = BUF_INIT;
	char key[256];
	int found = 0;
	buf_addstr(&tb, town ? town : "");
	buf_trim(&tb);
	buf_addstr(&cb, county ? county : "");
	buf_trim(&cb);
	village_base(village ? village : "", &vb);
	snprintf(key, sizeof(key), "%s\x1f%s\x1f%s", cb.buf, tb.buf, vb.buf);
	if (!strcmp(key, s->last_vkey)) {
		memcpy(code, s->last_vcode, 13);
		found = s->last_vrc;
		goto out;
	}
	if (!vb.len || !tb.len) {
		report(s, 0, r->line, vb.len ? C_TOWN_NAME : C_VILLAGE_NAME, NULL,
		       "没有“行政区划代码”列时，需要填写乡（镇）和村的名称");
		found = -1;
		goto out;
	}
	if (!s->vnames_loaded && load_village_names(s))
		report(s, 0, r->line, C_VILLAGE_NAME, NULL, "无法查询行政区划：%s", db_errmsg(s->db));
	for (int i = 0; i < s->nr_vnames; i++) {
		const struct village_name *vn = &s->vnames[i];
		if (strcmp(vn->village, vb.buf) || strcmp(vn->town, tb.buf) ||
		    (cb.len && strcmp(vn->county, cb.buf)))
			continue;
		if (found++)
			break;
		memcpy(code, vn->code, 13);
	}
	if (found == 0)
		report(s, 0, r->line, C_VILLAGE_NAME, vb.buf,
		       "在已导入的行政区划中找不到%s%s的这个村；请核对名称，或加上“行政区划代码”列",
		       cb.len ? cb.buf : "", tb.buf);
	else if (found > 1)
		report(s, 0, r->line, C_VILLAGE_NAME, vb.buf,
		       "%s%s有不止一个同名的村；请填写“县”列，或加上“行政区划代码”列", cb.buf, tb.buf);
	found = found == 1 ? 0 : -1;
	snprintf(s->last_vkey, sizeof(s->last_vkey), "%s", key);
	memcpy(s->last_vcode, code, 13);
	s->last_vrc = found;
out:
	buf_release(&vb);
	buf_release(&tb);
	buf_release(&cb);
	return found ? 1 : 0;
}

/* Read the household columns of row `r` into `h`.  Returns errors found. */
static int read_household(struct import_state *s, struct import_row *r, struct household_rec *h)
{
	const char *v;
	int bad = 0;
	if ((v = field(s, r, C_VILLAGE))) {
		bad |= take_text(s, r->line, C_VILLAGE, v, h->village_code, sizeof(h->village_code));
		if (!bad && (strlen(h->village_code) != 12 ||
			     strspn(h->village_code, "0123456789") != 12)) {
			report(s, 0, r->line, C_VILLAGE, v, "行政区划代码应为12位村级统计用区划代码");
			bad = 1;
		}
	} else if (s->col_of_field[C_VILLAGE_NAME] >= 0) {
		bad |= village_by_name(s, r, h->village_code);
	}
	if ((v = field(s, r, C_HH_TYPE)))
		bad |= take_code(s, r->line, C_HH_TYPE, v, &h->hh_type);
	if ((v = field(s, r, C_ADDRESS)))
		bad |= take_text(s, r->line, C_ADDRESS, v, h->address, sizeof(h->address));
	if ((v = field(s, r, C_HH_PHONE))) {
		if (lost_digits(s, r, C_HH_PHONE, v))
			bad = 1;
		else
			bad |= take_text(s, r->line, C_HH_PHONE, v, h->phone, sizeof(h->phone));
	}
	if ((v = field(s, r, C_RELOCATED))) {
		int x;
		if (take_code(s, r->line, C_RELOCATED, v, &x))
			bad = 1;
		else
			h->relocated = x > 0;
	}
	if ((v = field(s, r, C_SITE)))
		bad |= take_text(s, r->line, C_SITE, v, h->relocation_site,
				 sizeof(h->relocation_site));
	if (!bad && h->phone[0]) {
		struct member_rec probe;
		struct reg_problem p;
		member_rec_init(&probe);
		snprintf(probe.name, sizeof(probe.name), "x");
		probe.relation = REL_HEAD;
		memcpy(probe.phone, h->phone, sizeof(probe.phone));
		if (registry_check_member(&probe, &p, 1)) {
			report(s, 0, r->line, C_HH_PHONE, h->phone, "%s", p.message);
			bad = 1;
		}
	}
	return bad;
}

/* Read the member columns of row `r` into `m`.  Returns nonzero on error. */
static int read_member(struct import_state *s, struct import_row *r, struct member_rec *m)
{
	static const struct {
		enum col_id col;
		size_t off;
	} coded[] = {
		{ C_RELATION, offsetof(struct member_rec, relation) },
		{ C_ETHNICITY, offsetof(struct member_rec, ethnicity) },
		{ C_EDUCATION, offsetof(struct member_rec, education) },
		{ C_SCHOOL, offsetof(struct member_rec, school_status) },
		{ C_HEALTH, offsetof(struct member_rec, health) },
		{ C_DISABILITY, offsetof(struct member_rec, disability) },
		{ C_LABOR, offsetof(struct member_rec, labor_skill) },
		{ C_WORK, offsetof(struct member_rec, work_status) },
		{ C_IRM, offsetof(struct member_rec, ins_resident_med) },
		{ C_IEM, offsetof(struct member_rec, ins_employee_med) },
		{ C_ICR, offsetof(struct member_rec, ins_critical) },
		{ C_IPE, offsetof(struct member_rec, ins_pension) },
		{ C_DIBAO, offsetof(struct member_rec, dibao) },
		{ C_TEKUN, offsetof(struct member_rec, tekun) },
	};
	struct idcard id;
	enum idcard_status st;
	struct reg_problem probs[4];
	const char *v;
	int bad = 0, n;

	if ((v = field(s, r, C_NAME)))
		bad |= take_text(s, r->line, C_NAME, v, m->name, sizeof(m->name));
	for (size_t i = 0; i < ARRAY_SIZE(coded); i++)
		if ((v = field(s, r, coded[i].col)))
			bad |= take_code(s, r->line, coded[i].col, v,
					 (int *)((char *)m + coded[i].off));
	if ((v = field(s, r, C_PHONE))) {
		if (lost_digits(s, r, C_PHONE, v))
			bad = 1;
		else
			bad |= take_text(s, r->line, C_PHONE, v, m->phone, sizeof(m->phone));
	}

	v = field(s, r, C_IDN);
	if (lost_digits(s, r, C_IDN, v))
		return 1;
	st = idcard_parse(v ? v : "", s->today, &id);
	if (st != IDCARD_OK) {
		size_t l = v ? strlen(v) : 0;
		if (st == IDCARD_BAD_CHECK && l == 18 && !strcmp(v + 15, "000"))
			report(s, 0, r->line, C_IDN, v, "%s；末三位是 000，可能是 Excel 把身份证号存成"
			       "数字后丢失了末几位，请核对原始号码并以文本格式重新录入",
			       idcard_strerror(st));
		else
			report(s, 0, r->line, C_IDN, v ? v : "", "%s", idcard_strerror(st));
		bad = 1;
	} else {
		memcpy(m->id_number, id.number, sizeof(m->id_number));
		m->sex = id.sex;
		idcard_birth_text(&id, m->birth_date);
		if (s->nr_counties && !county_known(s, id.area))
			note_area(s, id.area, r->line);
		if ((v = field(s, r, C_SEX))) {
			int sex;
			if (take_code(s, r->line, C_SEX, v, &sex))
				bad = 1;
			else if (sex > 0 && sex != id.sex) {
				report(s, 0, r->line, C_SEX, v, "与身份证号第17位不符（身份证号显示为%s）",
				       id.sex == SEX_MALE ? "男" : "女");
				bad = 1;
			}
		}
		if ((v = field(s, r, C_BIRTH)) && *v) {
			int y, mo, d, date_ok;
			buf_reset(&s->tmp);
			buf_addstr(&s->tmp, v);
			buf_trim(&s->tmp);
			date_ok = !parse_date(s->tmp.buf, &y, &mo, &d);
			if (!date_ok && field_type(s, r, C_BIRTH) == XLSX_NUMBER) {
				/* a date whose cell lost its date format shows as its serial */
				char *end;
				double serial = strtod(s->tmp.buf, &end);
				date_ok = !*end && !xlsx_serial_to_date(serial, s->src->date1904, &y,
									&mo, &d);
			}
			if (s->tmp.len && !date_ok) {
				report(s, 0, r->line, C_BIRTH, v, "日期格式应为 2026-03-05");
				bad = 1;
			} else if (s->tmp.len && (y != id.year || mo != id.month || d != id.day)) {
				report(s, 0, r->line, C_BIRTH, v, "与身份证号中的出生日期 %s 不符",
				       m->birth_date);
				bad = 1;
			}
		}
	}
	if (!bad) {
		n = registry_check_member(m, probs, ARRAY_SIZE(probs));
		for (int i = 0; i < n && i < (int)ARRAY_SIZE(probs); i++)
			report(s, 0, r->line, -1, NULL, "%s：%s", probs[i].field, probs[i].message);
		bad |= n > 0;
	}
	return bad;
}

/* Match the cells of row `r` against the known headers: fills
 * s->col_of_field and returns how many columns were recognised. */
static int match_header(struct import_state *s, struct import_row *r)
{
	int found = 0;
	for (int c = 0; c < NR_COLS; c++)
		s->col_of_field[c] = -1;
	for (int f = 0; f < r->nr_fields; f++) {
		int c = column_of(s->o->profile, r->fields[f], &s->tmp);
		if (c >= 0 && s->col_of_field[c] < 0) {
			s->col_of_field[c] = f;
			found++;
		}
	}
	return found;
}

/* Take row `r` as the header: warn about unknown and repeated columns and
 * keep the header texts for messages. */
static void accept_header(struct import_state *s, struct import_row *r, struct row_source *src)
{
	match_header(s, r);
	for (int f = 0; f < r->nr_fields; f++) {
		int c = column_of(s->o->profile, r->fields[f], &s->tmp);
		if (c == -1 && s->tmp.len)
			report(s, 1, r->line, -1, r->fields[f], "未识别的列，已忽略");
		else if (c >= 0 && s->col_of_field[c] != f)
			report(s, 1, r->line, -1, r->fields[f], "重复的列，只使用第一列");
	}
	s->nr_header_fields = r->nr_fields;
	s->header_line = r->line;
	s->header_text = xcalloc((size_t)r->nr_fields + 1, sizeof(char *));
	for (int f = 0; f < r->nr_fields; f++) {
		clean_header(r->fields[f], &s->tmp);
		s->header_text[f] = xstrdup(s->tmp.buf);
	}
	s->hh_cols = s->col_of_field[C_VILLAGE] >= 0 || s->col_of_field[C_VILLAGE_NAME] >= 0;
	s->header_start = src->row_start;
	s->header_end = src->row_end;
}

/* Find the header row (title rows may come first): the first row naming
 * 户编号 and at least one other known column, unless the row after it
 * names more (a two-row header under merged group titles).  A profile may
 * fix the header's row.  Returns 0 or -1 with err set. */
static int find_header(struct import_state *s, struct row_source *src, struct buf *err)
{
	int header_row = s->o->profile ? s->o->profile->header_row : 0;
	struct saved_row cand;
	int rc = -1;
	saved_init(&cand);
	for (int tries = 0; header_row || tries < 20; tries++) {
		int found, next = src_next(src, err);
		if (next <= 0)
			break;
		if (header_row) {
			if (src->row.line < header_row)
				continue;
			match_header(s, &src->row);
			if (src->row.line > header_row || s->col_of_field[C_HH_NO] < 0) {
				buf_addf(err, "第 %d 行不是表头：布局方案“%s”规定表头在第 %d 行，而这一行没有"
					      "“户编号”列",
					 header_row, s->o->profile->name, header_row);
				goto out;
			}
			accept_header(s, &src->row, src);
			rc = 0;
			goto out;
		}
		found = match_header(s, &src->row);
		if (found < 2 || s->col_of_field[C_HH_NO] < 0)
			continue;
		/* a row below naming more columns is the real header */
		saved_take(&cand, &src->row, src->row_start, src->row_end);
		next = src_next(src, err);
		if (next < 0)
			goto out;
		if (next == 1) {
			int more = match_header(s, &src->row);
			if (more > found && s->col_of_field[C_HH_NO] >= 0) {
				accept_header(s, &src->row, src);
				rc = 0;
				goto out;
			}
			src_unread(src);
		}
		{
			struct import_row r;
			saved_view(&cand, &r);
			src->row_start = cand.start;
			src->row_end = cand.end;
			accept_header(s, &r, src);
		}
		rc = 0;
		goto out;
	}
	if (!err->len)
		buf_addstr(err, "找不到表头：前 20 行中没有包含“户编号”等列名的行");
out:
	saved_release(&cand);
	return rc;
}

static int check_required(struct import_state *s, struct buf *err)
{
	static const enum col_id need_hh[] = { C_HH_NO, C_VILLAGE };
	static const enum col_id need_m[] = { C_HH_NO, C_NAME, C_IDN, C_RELATION };
	const enum col_id *need = s->kind == IMPORT_HOUSEHOLDS ? need_hh : need_m;
	size_t n = s->kind == IMPORT_HOUSEHOLDS ? ARRAY_SIZE(need_hh) : ARRAY_SIZE(need_m);
	for (size_t i = 0; i < n; i++) {
		if (s->col_of_field[need[i]] >= 0)
			continue;
		if (need[i] == C_VILLAGE && s->col_of_field[C_VILLAGE_NAME] >= 0) {
			if (s->col_of_field[C_TOWN_NAME] < 0)
				buf_addf(err, "%s有“村”列而没有“乡”列：按名称确定村需要乡（镇）名称，"
					      "或者加上“行政区划代码”列", err->len ? "；" : "");
			continue;
		}
		buf_addf(err, "%s缺少必需的列“%s”%s", err->len ? "；" : "", columns[need[i]].header,
			 need[i] == C_VILLAGE ? "（或“乡”“村”两列名称）" : "");
	}
	return err->len ? -1 : 0;
}

static void add_member_to_group(struct import_state *s, int g, int m)
{
	struct group *gr = &s->groups[g];
	s->m_next[m] = -1;
	if (gr->last >= 0)
		s->m_next[gr->last] = m;
	else
		gr->first = m;
	gr->last = m;
	gr->nr_members++;
}

/* 户主姓名 and 家庭人口数 of a member row.  The export writes them from the
 * members; on import the members are what counts, and these are compared
 * with them once the household is whole (check_against_db).  A row that
 * says otherwise than an earlier row of its household, or a size that is
 * not a whole number, is a warning: nothing is refused for them. */
static void note_head_and_size(struct import_state *s, struct import_row *r, int g)
{
	struct group *gr = &s->groups[g];
	const char *v = field(s, r, C_HEAD_NAME);
	if (v) {
		buf_reset(&s->tmp);
		buf_addstr(&s->tmp, v);
		buf_trim(&s->tmp);
		if (s->tmp.len && !gr->head_line) {
			gr->head_name = str_add(s, s->tmp.buf);
			gr->head_line = r->line;
		} else if (s->tmp.len && strcmp(str_at(s, gr->head_name), s->tmp.buf)) {
			report(s, 1, r->line, C_HEAD_NAME, v, "与本户第 %ld 行的户主姓名“%s”不同",
			       gr->head_line, str_at(s, gr->head_name));
		}
	}
	v = field(s, r, C_SIZE);
	if (v) {
		char *end;
		double n;
		buf_reset(&s->tmp);
		buf_addstr(&s->tmp, v);
		buf_trim(&s->tmp);
		if (!s->tmp.len)
			return;
		n = strtod(s->tmp.buf, &end);
		if (*end || n != (int)n || n < 1 || n > 99) {
			report(s, 1, r->line, C_SIZE, v, "家庭人口数应为 1–99 的整数，已忽略");
		} else if (!gr->size_line) {
			gr->size = (int)n;
			gr->size_line = r->line;
		} else if (gr->size != (int)n) {
			report(s, 1, r->line, C_SIZE, v, "与本户第 %ld 行的家庭人口数 %d 不同",
			       gr->size_line, gr->size);
		}
	}
}

/* Parse every data row.  Returns 0, or -1 on malformed input (err set). */
static int parse_rows(struct import_state *s, struct row_source *src, struct buf *err)
{
	int rc;
	struct import_row *r = &src->row;
	while ((rc = src_next(src, err)) == 1) {
		const char *hh_no;
		int g, created, bad = 0;
		struct household_rec h;
		int empty = 1;
		for (int f = 0; f < r->nr_fields && empty; f++)
			for (const char *p = r->fields[f]; *p && empty; p++)
				if (*p != ' ' && *p != '\t')
					empty = 0;
		if (empty) /* trailing blank rows in Excel exports */
			continue;
		s->res->rows++;
		if (!src->is_xlsx) { /* the bytes of each row, for the CSV reject file */
			ALLOC_GROW(s->row_start, s->nr_rows + 1, s->alloc_rows_s);
			ALLOC_GROW(s->row_end, s->nr_rows + 1, s->alloc_rows_e);
			s->row_start[s->nr_rows] = src->row_start;
			s->row_end[s->nr_rows] = src->row_end;
		}
		ALLOC_GROW(s->row_group, s->nr_rows + 1, s->alloc_row_group);
		ALLOC_GROW(s->row_line, s->nr_rows + 1, s->alloc_row_line);
		s->row_line[s->nr_rows] = r->line;
		if (r->nr_fields > s->nr_header_fields && !src->is_xlsx) {
			report(s, 0, r->line, -1, NULL, "本行有 %d 列，多于表头的 %d 列（可能有未加引号的逗号）",
			       r->nr_fields, s->nr_header_fields);
			bad = 1;
		}
		hh_no = field(s, r, C_HH_NO);
		household_rec_init(&h);
		if (!hh_no || lost_digits(s, r, C_HH_NO, hh_no) ||
		    take_text(s, r->line, C_HH_NO, hh_no, h.hh_no, sizeof(h.hh_no)))
			bad = 1, h.hh_no[0] = '\0';
		if (!bad && (!h.hh_no[0] || strspn(h.hh_no, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
							    "abcdefghijklmnopqrstuvwxyz-_") !=
							     strlen(h.hh_no))) {
			report(s, 0, r->line, C_HH_NO, hh_no ? hh_no : "",
			       h.hh_no[0] ? "户编号只能包含字母、数字和 - _" : "户编号不能为空");
			bad = 1;
		}
		g = group_for(s, bad ? "" : h.hh_no, r->line, &created);
		s->row_group[s->nr_rows++] = g;
		if (s->kind == IMPORT_HOUSEHOLDS && !created && !bad) {
			report(s, 0, r->line, C_HH_NO, h.hh_no, "户编号与第 %ld 行重复",
			       s->groups[g].line);
			bad = 1;
		}
		if (s->kind == IMPORT_HOUSEHOLDS || s->hh_cols) {
			int hbad = read_household(s, r, &h);
			struct group *gr = &s->groups[g];
			bad |= hbad;
			if (!hbad && created) {
				group_set_hh(s, g, &h);
			} else if (!hbad && gr->has_hh &&
				   (strcmp(gr->village_code, h.village_code) ||
				    gr->hh_type != h.hh_type || strcmp(str_at(s, gr->address), h.address) ||
				    strcmp(str_at(s, gr->phone), h.phone) ||
				    gr->relocated != (h.relocated > 0) ||
				    strcmp(str_at(s, gr->site), h.relocation_site))) {
				report(s, 0, r->line, -1, NULL,
				       "同一户编号 %s 的户信息与第 %ld 行不一致", h.hh_no, gr->line);
				bad = 1;
			}
		}
		if (s->kind == IMPORT_MEMBERS) {
			int m = s->nr_members;
			ALLOC_GROW(s->members, m + 1, s->alloc_members);
			ALLOC_GROW(s->m_group, m + 1, s->alloc_m_group);
			ALLOC_GROW(s->m_next, m + 1, s->alloc_m_next);
			ALLOC_GROW(s->m_line, m + 1, s->alloc_m_line);
			ALLOC_GROW(s->m_bad, m + 1, s->alloc_m_bad);
			{
				struct member_rec mr;
				member_rec_init(&mr);
				bad |= read_member(s, r, &mr);
				mr.id = 0;
				member_pack(s, m, &mr);
			}
			s->m_group[m] = g;
			s->m_line[m] = r->line;
			s->nr_members++;
			if (s->members[m].id_number[0]) {
				int prev = id_seen(s, m);
				if (prev >= 0) {
					report(s, 0, r->line, C_IDN, s->members[m].id_number,
					       "身份证号与第 %ld 行重复", s->m_line[prev]);
					bad = 1;
				}
			}
			s->m_bad[m] = (unsigned char)bad;
			add_member_to_group(s, g, m);
			note_head_and_size(s, r, g);
		}
		if (bad)
			s->groups[g].bad = 1;
		if (!(s->res->rows % 1024))
			progress(s, IMPORT_PHASE_PARSE, (long)(src_progress(src) * 1e6), 1000000);
		if (s->o->progress && !(s->res->rows % 20000))
			fprintf(stderr, "\r检查：%ld 行（%.0f%%）", s->res->rows,
				100 * src_progress(src));
	}
	if (s->o->progress && s->res->rows >= 20000)
		fputc('\n', stderr);
	return rc < 0 ? -1 : 0;
}

/* The group of 户编号 `hh_no`, or -1. */
static int group_find(struct import_state *s, const char *hh_no)
{
	size_t mask = s->group_hash_size - 1, i;
	if (!s->group_hash_size)
		return -1;
	for (i = hash_str(hh_no) & mask; s->group_hash[i] >= 0; i = (i + 1) & mask)
		if (!strcmp(group_hh_no(s, s->group_hash[i]), hh_no))
			return s->group_hash[i];
	return -1;
}

/* The first member row with 身份证号 `idn`, or -1. */
static int member_find(struct import_state *s, const char *idn)
{
	size_t mask = s->id_hash_size - 1, i;
	if (!s->id_hash_size)
		return -1;
	for (i = hash_str(idn) & mask; s->id_hash[i] >= 0; i = (i + 1) & mask)
		if (!strcmp(s->members[s->id_hash[i]].id_number, idn))
			return s->id_hash[i];
	return -1;
}

/* On a database server, find every household of the file already stored
 * with one COPY of the file's 户编号 and one join, instead of one query per
 * household (a round trip each).  Sets db_id of the groups found. */
static int prefetch_households(struct import_state *s)
{
	struct db_copy *c;
	struct db_stmt *st;
	int rc;
	if (db_exec(s->db, "DROP TABLE IF EXISTS import_hh_keys; "
			   "CREATE TEMP TABLE import_hh_keys(hh_no TEXT)"))
		return -1;
	c = db_copy_begin(s->db, "import_hh_keys", "hh_no");
	for (int g = 0; g < s->nr_groups; g++) {
		if (!s->groups[g].hh_no)
			continue;
		db_copy_text(c, group_hh_no(s, g));
		if (db_copy_row(c) < 0)
			break;
	}
	if (db_copy_end(c, 0) < 0)
		return -1;
	st = db_prepare(s->db, "SELECT k.hh_no, h.id, h.village_code FROM import_hh_keys k JOIN "
			       "household h ON h.hh_no = k.hh_no");
	while ((rc = db_step(st)) == DB_ROW) {
		int g = group_find(s, db_col_text(st, 0));
		if (g >= 0) {
			s->groups[g].db_id = db_col_int(st, 1);
			snprintf(s->groups[g].db_village, sizeof(s->groups[g].db_village), "%s",
				 db_col_text(st, 2));
		}
	}
	db_done(st);
	if (rc < 0 || db_exec(s->db, "DROP TABLE import_hh_keys"))
		return -1;
	s->prefetched_hh = 1;
	return 0;
}

/* The same for the file's 身份证号: which are registered, where and as whom. */
static int prefetch_members(struct import_state *s)
{
	struct db_copy *c;
	struct db_stmt *st;
	int rc;
	if (db_exec(s->db, "DROP TABLE IF EXISTS import_id_keys; "
			   "CREATE TEMP TABLE import_id_keys(id_number TEXT)"))
		return -1;
	c = db_copy_begin(s->db, "import_id_keys", "id_number");
	for (int m = 0; m < s->nr_members; m++) {
		if (!s->members[m].id_number[0])
			continue;
		db_copy_text(c, s->members[m].id_number);
		if (db_copy_row(c) < 0)
			break;
	}
	if (db_copy_end(c, 0) < 0)
		return -1;
	s->stored_of = xmalloc((s->nr_members + 1) * sizeof(*s->stored_of));
	memset(s->stored_of, 0xff, (s->nr_members + 1) * sizeof(*s->stored_of));
	st = db_prepare(s->db, "SELECT k.id_number, m.id, m.household_id, h.hh_no, m.name, "
			       "h.village_code FROM import_id_keys k JOIN member m ON m.id_number = "
			       "k.id_number JOIN household h ON h.id = m.household_id");
	while ((rc = db_step(st)) == DB_ROW) {
		int m = member_find(s, db_col_text(st, 0));
		struct stored_member *sm;
		if (m < 0 || s->stored_of[m] >= 0)
			continue;
		ALLOC_GROW(s->stored, s->nr_stored + 1, s->alloc_stored);
		sm = &s->stored[s->nr_stored];
		sm->id = db_col_int(st, 1);
		sm->household_id = db_col_int(st, 2);
		sm->hh_no = xstrdup(db_col_text(st, 3));
		sm->name = xstrdup(db_col_text(st, 4));
		snprintf(sm->village, sizeof(sm->village), "%s", db_col_text(st, 5));
		s->stored_of[m] = s->nr_stored++;
	}
	db_done(st);
	if (rc < 0 || db_exec(s->db, "DROP TABLE import_id_keys"))
		return -1;
	s->prefetched_members = 1;
	return 0;
}

/* Checks that need the database: the village exists, the household exists
 * when the file does not describe it, 身份证号 not registered elsewhere, and
 * the structure of each household as it will be after the import. */
static int check_against_db(struct import_state *s)
{
	struct member_rec *all = NULL;
	struct reg_problem probs[8];
	int alloc_all = 0;
	char last_village[13] = "";
	int last_village_ok = 0;
	/* into an empty registry nothing can already exist: skip the look-ups */
	int no_households = table_empty(s->db, "SELECT 1 FROM household LIMIT 1");
	int no_members = no_households && table_empty(s->db, "SELECT 1 FROM member LIMIT 1");

	s->empty_registry = no_members;
	if (db_is_server(s->db)) {
		if (!no_households && prefetch_households(s))
			return error("查询已有户失败：%s", db_errmsg(s->db));
		if (s->kind == IMPORT_MEMBERS && !no_members && prefetch_members(s))
			return error("查询已有成员失败：%s", db_errmsg(s->db));
	}

	for (int g = 0; g < s->nr_groups; g++) {
		struct group *gr = &s->groups[g];
		struct db_stmt *st;
		int n = 0, np;
		if (!(g % 256))
			progress(s, IMPORT_PHASE_CHECK, g, s->nr_groups);
		if (!gr->hh_no)
			continue;
		if (!no_households && !s->prefetched_hh) {
			st = db_prepare(s->db, "SELECT id, village_code FROM household WHERE hh_no = :k");
			db_bind_text(st, ":k", group_hh_no(s, g));
			gr->db_id = 0;
			if (db_step(st) == DB_ROW) {
				gr->db_id = db_col_int(st, 0);
				snprintf(gr->db_village, sizeof(gr->db_village), "%s",
					 db_col_text(st, 1));
			}
			db_done(st);
		}
		/* an upload limited to a region touches nothing outside it */
		if (gr->has_hh && !gr->bad && out_of_scope(s, gr->village_code)) {
			report(s, 0, gr->line, C_VILLAGE, gr->village_code,
			       "不在您的管辖范围内，只能导入本辖区的户");
			gr->bad = 1;
		}
		if (gr->db_id && !gr->bad && out_of_scope(s, gr->db_village)) {
			report(s, 0, gr->line, C_HH_NO, group_hh_no(s, g),
			       "该户编号已登记在您管辖范围以外的村，不能在此导入");
			gr->bad = 1;
		}
		if (gr->has_hh && !gr->bad) {
			if (strcmp(last_village, gr->village_code)) {
				st = db_prepare(s->db, "SELECT level FROM region WHERE code = :c");
				db_bind_text(st, ":c", gr->village_code);
				last_village_ok = db_step(st) == DB_ROW &&
						  db_col_int(st, 0) == REGION_VILLAGE;
				db_done(st);
				memcpy(last_village, gr->village_code, sizeof(last_village));
			}
			if (!last_village_ok) {
				report(s, 0, gr->line, C_VILLAGE, gr->village_code,
				       "不是已导入的村级行政区划代码（先运行 liubao regions import）");
				gr->bad = 1;
			}
		}
		if (s->kind == IMPORT_HOUSEHOLDS)
			continue;
		if (!gr->has_hh && !gr->db_id && !gr->bad) {
			report(s, 0, gr->line, C_HH_NO, group_hh_no(s, g),
			       "户编号不存在；先导入户信息，或在文件中加上“行政区划代码”列");
			gr->bad = 1;
		}
		/* members of this household in the file */
		for (int m = gr->first; m >= 0; m = s->m_next[m]) {
			struct packed_member *mr = &s->members[m];
			ALLOC_GROW(all, n + 1, alloc_all);
			if (!mr->id_number[0] || no_members) {
				mr->id = -1; /* known new */
				member_unpack(s, m, &all[n++]);
				continue;
			}
			if (s->prefetched_members) {
				int k = s->stored_of[member_find(s, mr->id_number)];
				const struct stored_member *sm = k >= 0 ? &s->stored[k] : NULL;
				if (sm && sm->household_id != gr->db_id && out_of_scope(s, sm->village)) {
					report(s, 0, s->m_line[m], C_IDN, mr->id_number,
					       "该身份证号已登记在您管辖范围以外的户，不能重复登记");
					gr->bad = 1;
				} else if (sm && sm->household_id != gr->db_id) {
					report(s, 0, s->m_line[m], C_IDN, mr->id_number,
					       "该身份证号已登记在户 %s（%s），不能重复登记；如需迁户请先从原户删除",
					       sm->hh_no, sm->name);
					gr->bad = 1;
				}
				mr->id = sm ? sm->id : -1;
				member_unpack(s, m, &all[n++]);
				continue;
			}
			st = db_prepare(s->db, "SELECT m.id, m.household_id, h.hh_no, m.name, "
					       "h.village_code FROM member m JOIN household h ON h.id = "
					       "m.household_id WHERE m.id_number = :k");
			db_bind_text(st, ":k", mr->id_number);
			if (db_step(st) == DB_ROW) {
				if (db_col_int(st, 1) != gr->db_id && out_of_scope(s, db_col_text(st, 4))) {
					report(s, 0, s->m_line[m], C_IDN, mr->id_number,
					       "该身份证号已登记在您管辖范围以外的户，不能重复登记");
					gr->bad = 1;
				} else if (db_col_int(st, 1) != gr->db_id) {
					report(s, 0, s->m_line[m], C_IDN, mr->id_number,
					       "该身份证号已登记在户 %s（%s），不能重复登记；如需迁户请先从原户删除",
					       db_col_text(st, 2), db_col_text(st, 3));
					gr->bad = 1;
				}
				mr->id = db_col_int(st, 0);
			} else {
				mr->id = -1; /* known new */
			}
			db_done(st);
			member_unpack(s, m, &all[n++]);
		}
		/* members already stored and not in the file */
		if (gr->db_id) {
			struct member_rec *stored = NULL;
			int alloc_stored = 0, ns = registry_members_of(s->db, gr->db_id, &stored,
								       &alloc_stored);
			for (int k = 0; k < ns; k++) {
				int in_file = 0;
				for (int j = 0; j < n && !in_file; j++)
					in_file = all[j].id == stored[k].id;
				if (!in_file) {
					ALLOC_GROW(all, n + 1, alloc_all);
					all[n++] = stored[k];
				}
			}
			free(stored);
		}
		if (gr->bad)
			continue;
		np = registry_check_structure(all, n, probs, ARRAY_SIZE(probs));
		for (int k = 0; k < np && k < (int)ARRAY_SIZE(probs); k++) {
			int m = probs[k].member;
			long line = gr->line;
			/* map the index back to a file row when it is one */
			int idx = 0;
			for (int fm = gr->first; fm >= 0; fm = s->m_next[fm], idx++)
				if (idx == m)
					line = s->m_line[fm];
			report(s, 0, line, C_RELATION, NULL, "户 %s：%s", group_hh_no(s, g),
			       probs[k].message);
		}
		if (np) {
			gr->bad = 1;
			continue;
		}
		/* what the file says of the household, against its members */
		for (int k = 0; k < n && gr->head_line; k++)
			if (all[k].relation == REL_HEAD) {
				if (strcmp(all[k].name, str_at(s, gr->head_name)))
					report(s, 1, gr->head_line, C_HEAD_NAME, NULL,
					       "户 %s：户主姓名填的是“%s”，而与户主关系为“户主”的成员是“%s”",
					       group_hh_no(s, g), str_at(s, gr->head_name),
					       all[k].name);
				break;
			}
		if (gr->size_line && gr->size != n)
			report(s, 1, gr->size_line, C_SIZE, NULL,
			       "户 %s：家庭人口数填的是 %d，而本户成员共 %d 人%s", group_hh_no(s, g),
			       gr->size, n,
			       n > gr->nr_members ? "（含已登记、本文件未列出的成员）" : "");
	}
	free(all);
	return 0;
}

static int cprob_cmp(const void *a, const void *b);

/* The CSV reject file: the header and every row of a household with an
 * error, as they were in the file, with a last column 错误原因 naming the
 * row's own problems (or saying another row of its household had them). */
static int write_rejects(struct import_state *s, struct row_source *src)
{
	int fd = open(s->o->reject_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *text = src->csv.text.buf;
	struct buf out = BUF_INIT, why = BUF_INIT;
	long pi = 0;
	int rc = 0;
	if (fd < 0)
		return error("无法写入拒收文件 '%s'：%s", s->o->reject_path, strerror(errno));
	if (s->nr_cprobs > 1) /* none: cprobs is NULL, which qsort() may not take */
		qsort(s->cprobs, (size_t)s->nr_cprobs, sizeof(*s->cprobs), cprob_cmp);
	buf_add(&out, "\xef\xbb\xbf", 3);
	buf_add(&out, text + s->header_start, s->header_end - s->header_start);
	while (out.len && (out.buf[out.len - 1] == '\n' || out.buf[out.len - 1] == '\r'))
		buf_setlen(&out, out.len - 1);
	buf_addstr(&out, ",错误原因\n");
	for (int i = 0; i < s->nr_rows; i++) {
		size_t a = s->row_start[i], b = s->row_end[i];
		if (!s->groups[s->row_group[i]].bad)
			continue;
		while (b > a && (text[b - 1] == '\n' || text[b - 1] == '\r'))
			b--;
		buf_add(&out, text + a, b - a);
		buf_reset(&why);
		while (pi < s->nr_cprobs && s->cprobs[pi].line < s->row_line[i])
			pi++;
		for (long q = pi; q < s->nr_cprobs && s->cprobs[q].line == s->row_line[i]; q++) {
			if (s->cprobs[q].warning)
				continue;
			if (why.len)
				buf_addstr(&why, "；");
			buf_addstr(&why, s->cprob_text.buf + s->cprobs[q].msg);
		}
		if (!why.len)
			buf_addstr(&why, s->nr_cprobs < MAX_CELL_PROBLEMS
						 ? "本户其他行有错误，整户未导入"
						 : "本户有错误，整户未导入（见导入报告）");
		buf_addch(&out, ',');
		buf_add_csv_field(&out, why.buf);
		buf_addch(&out, '\n');
	}
	buf_release(&why);
	for (size_t off = 0; off < out.len;) {
		ssize_t w = write(fd, out.buf + off, out.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = error("写入拒收文件 '%s' 失败：%s", s->o->reject_path,
				   strerror(w < 0 ? errno : EIO));
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) && !rc)
		rc = error("写入拒收文件 '%s' 失败：%s", s->o->reject_path, strerror(errno));
	buf_release(&out);
	return rc;
}

/* ---- the error report inside a copy of the workbook ----------------------
 * The imported sheet is read again and written out whole (title rows,
 * header, every data row, merged ranges filled) with each cell that has a
 * problem on a red fill and a last column 错误原因 listing the row's
 * problems, so the user fixes the cells in Excel and imports the file again
 * (rows that were right change nothing the second time). */

static int cprob_cmp(const void *a, const void *b)
{
	const struct cell_problem *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (x->msg > y->msg) - (x->msg < y->msg); /* report order */
}

static int write_error_workbook(struct import_state *s, struct row_source *src, struct buf *err)
{
	struct xlsx_sheet *xs;
	const struct xlsx_row *xr;
	struct table_col *cols;
	struct table *t;
	int fd, rc, note_col = s->nr_header_fields, ri = 0;
	long pi = 0;
	struct buf note = BUF_INIT;
	unsigned char *bad_col;

	if (s->nr_cprobs > 1) /* none: cprobs is NULL, which qsort() may not take */
		qsort(s->cprobs, (size_t)s->nr_cprobs, sizeof(*s->cprobs), cprob_cmp);
	xs = xlsx_sheet_open(src->x, src->sheet, XLSX_FILL_MERGED, err);
	if (!xs)
		return -1;
	fd = s->o->reject_out ? -1
			      : open(s->o->reject_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 && !s->o->reject_out) {
		buf_addf(err, "无法写入 '%s'：%s", s->o->reject_path, strerror(errno));
		xlsx_sheet_close(xs);
		return -1;
	}
	/* widths: from the header texts; the note column wide */
	cols = xcalloc((size_t)note_col + 1, sizeof(*cols));
	for (int c = 0; c < note_col; c++) {
		size_t l = s->header_text[c] ? strlen(s->header_text[c]) : 0;
		cols[c].width = l > 60 ? 30 : l < 18 ? 9 : (double)l / 2 + 1;
	}
	for (int c = 0; c < NR_COLS; c++)
		if (s->col_of_field[c] >= 0 && (c == C_IDN || c == C_HH_NO || c == C_VILLAGE))
			cols[s->col_of_field[c]].width = 21;
	cols[note_col].width = 60;
	t = table_open(TABLE_XLSX, fd, s->o->reject_out, xlsx_sheet_name(src->x, src->sheet), cols,
		       note_col + 1, NULL, err);
	if (!t) {
		if (fd >= 0)
			close(fd);
		free(cols);
		xlsx_sheet_close(xs);
		return -1;
	}
	bad_col = xcalloc((size_t)16384, 1);
	while ((rc = xlsx_sheet_next(xs, &xr, err)) == 1) {
		int header = xr->row == s->header_line, k = 0, width;
		int is_data = xr->row > s->header_line;
		buf_reset(&note);
		memset(bad_col, 0, (size_t)(xr->width > note_col ? xr->width : note_col) + 1);
		if (is_data) {
			/* this row's problems */
			while (pi < s->nr_cprobs && s->cprobs[pi].line < xr->row)
				pi++;
			for (long q = pi; q < s->nr_cprobs && s->cprobs[q].line == xr->row; q++) {
				const struct cell_problem *p = &s->cprobs[q];
				int f = p->col >= 0 ? s->col_of_field[p->col] : -1;
				if (note.len)
					buf_addstr(&note, "；");
				if (p->warning)
					buf_addstr(&note, "警告：");
				buf_addstr(&note, s->cprob_text.buf + p->msg);
				if (f >= 0 && !p->warning)
					bad_col[f] = 1;
			}
			while (ri < s->nr_rows && s->row_line[ri] < xr->row)
				ri++;
			if (!note.len && ri < s->nr_rows && s->row_line[ri] == xr->row &&
			    s->groups[s->row_group[ri]].bad)
				buf_addstr(&note, "本户其他行有错误，整户未导入");
		}
		width = xr->width > note_col ? xr->width : note_col;
		for (int c = 0; c < width; c++) {
			const struct xlsx_cell *cell = k < xr->nr_cells && xr->cells[k].col == c
							       ? &xr->cells[k++] : NULL;
			int flags = header ? TABLE_HEADER : bad_col[c] ? TABLE_BAD : 0;
			if (!cell) {
				table_blank(t, flags);
				continue;
			}
			switch (cell->type) {
			case XLSX_NUMBER:
				table_number(t, cell->num, flags);
				break;
			case XLSX_DATE: {
				int y, m, d;
				if (!xlsx_serial_to_date(cell->num, src->date1904, &y, &m, &d))
					table_date(t, y, m, d, flags);
				else
					table_number(t, cell->num, flags);
				break;
			}
			default:
				table_text(t, cell->text, flags);
			}
		}
		if (header)
			table_text(t, "错误原因（liubao 导入检查）", TABLE_HEADER);
		else if (note.len)
			table_text(t, note.buf, TABLE_NOTE);
		if (table_row_end(t))
			break;
		if (header)
			table_freeze(t);
	}
	free(bad_col);
	buf_release(&note);
	xlsx_sheet_close(xs);
	if (table_close(t, err))
		rc = -1;
	if (fd >= 0 && close(fd) && rc >= 0) {
		buf_addf(err, "写入 '%s' 失败：%s", s->o->reject_path, strerror(errno));
		rc = -1;
	}
	free(cols);
	return rc < 0 ? -1 : 0;
}

/* ---- writing through a staging table (PostgreSQL) -------------------------
 * On a database server one statement per row costs a round trip each, so
 * the validated rows go by COPY into temporary staging tables and are merged
 * into household and member by one INSERT ... ON CONFLICT DO UPDATE each,
 * which writes only rows whose values differ, in file order (ids ascend as
 * on SQLite).  Validation is unchanged and comes first; new rows are known
 * from check_against_db(), so changed = merged rows - new rows. */

static const char hh_load_ddl[] =
	"DROP TABLE IF EXISTS hh_load; DROP TABLE IF EXISTS member_load; "
	"CREATE TEMP TABLE hh_load(seq INTEGER, hh_no TEXT, village_code TEXT, address TEXT, "
	"phone TEXT, hh_type INTEGER, relocated INTEGER, relocation_site TEXT); "
	"CREATE TEMP TABLE member_load(seq INTEGER, hh_no TEXT, name TEXT, id_number TEXT, "
	"relation INTEGER, sex INTEGER, birth_date TEXT, ethnicity INTEGER, education INTEGER, "
	"school_status INTEGER, health INTEGER, disability INTEGER, labor_skill INTEGER, "
	"work_status INTEGER, ins_resident_med INTEGER, ins_employee_med INTEGER, ins_critical "
	"INTEGER, ins_pension INTEGER, dibao INTEGER, tekun INTEGER, phone TEXT, name_py TEXT)";

/* COPY the good households (those the file describes) into hh_load. */
static int stage_households(struct import_state *s, long *n)
{
	struct db_copy *c =
		db_copy_begin(s->db, "hh_load", "seq, " REGISTRY_HOUSEHOLD_COPY_COLUMNS);
	for (int g = 0; g < s->nr_groups; g++) {
		struct group *gr = &s->groups[g];
		if (gr->bad || !gr->hh_no || !gr->has_hh)
			continue;
		db_copy_int(c, g);
		registry_copy_household_fields(c, group_hh_no(s, g), gr->village_code,
					       str_at(s, gr->address), str_at(s, gr->phone),
					       gr->hh_type, gr->relocated, str_at(s, gr->site));
		if (db_copy_row(c) < 0)
			break;
		(*n)++;
		if (!gr->db_id)
			s->res->households_new++;
	}
	return db_copy_end(c, 0);
}

/* COPY the members of the good households into member_load. */
static int stage_members(struct import_state *s, long *n)
{
	struct db_copy *c =
		db_copy_begin(s->db, "member_load", "seq, hh_no, " REGISTRY_MEMBER_COPY_COLUMNS);
	long seq = 0;
	for (int g = 0; g < s->nr_groups; g++) {
		struct group *gr = &s->groups[g];
		if (gr->bad || !gr->hh_no)
			continue;
		for (int m = gr->first; m >= 0; m = s->m_next[m]) {
			struct member_rec mr;
			char py[REGISTRY_PY_SIZE];
			member_unpack(s, m, &mr);
			db_copy_int(c, seq++);
			db_copy_text(c, group_hh_no(s, g));
			registry_copy_member_fields(c, &mr, py);
			if (db_copy_row(c) < 0)
				return db_copy_end(c, 1);
			(*n)++;
			if (mr.id <= 0)
				s->res->members_new++;
		}
	}
	return db_copy_end(c, 0);
}

/* Run one merge statement; returns the rows it wrote or a negative result. */
static int64_t merge(struct db *db, const char *sql, const char *now)
{
	struct db_stmt *st = db_prepare(db, sql);
	int rc;
	db_bind_text(st, ":now", now);
	rc = db_run(st);
	db_done(st);
	return rc < 0 ? rc : db_changes(db);
}

static int write_all_staged(struct import_state *s)
{
	long nh = 0, nm = 0;
	int64_t w;
	char now[20], *restore = NULL;
	now_utc_text(now);
	if (db_begin(s->db))
		return error("无法开始写入：%s", db_errmsg(s->db));
	if (db_exec(s->db, hh_load_ddl) || stage_households(s, &nh) < 0)
		goto fail;
	/* the first load into an empty registry: indexes and foreign keys are
	 * rebuilt once at the end instead of maintained row by row */
	if (s->empty_registry &&
	    db_defer_indexes(s->db, s->kind == IMPORT_MEMBERS ? "household, member" : "household",
			     &restore))
		goto fail;
	if (s->o->progress)
		fprintf(stderr, "写入：%ld 户", nh);
	if (nh) {
		w = merge(s->db,
			  "INSERT INTO household(hh_no, village_code, address, phone, hh_type, "
			  "relocated, relocation_site, created_at, updated_at) SELECT hh_no, "
			  "village_code, address, phone, hh_type, relocated, relocation_site, :now, "
			  ":now FROM hh_load WHERE true ORDER BY seq ON CONFLICT(hh_no) DO UPDATE SET "
			  "village_code = excluded.village_code, address = excluded.address, phone = "
			  "excluded.phone, hh_type = excluded.hh_type, relocated = excluded.relocated, "
			  "relocation_site = excluded.relocation_site, updated_at = excluded.updated_at "
			  "WHERE household.village_code IS DISTINCT FROM excluded.village_code OR "
			  "household.address IS DISTINCT FROM excluded.address OR household.phone IS "
			  "DISTINCT FROM excluded.phone OR household.hh_type IS DISTINCT FROM "
			  "excluded.hh_type OR household.relocated IS DISTINCT FROM excluded.relocated "
			  "OR household.relocation_site IS DISTINCT FROM excluded.relocation_site",
			  now);
		if (w < 0)
			goto fail;
		s->res->households_changed = w - s->res->households_new;
		if (s->kind == IMPORT_HOUSEHOLDS)
			s->res->unchanged += nh - w;
	}
	if (s->kind == IMPORT_MEMBERS) {
		if (stage_members(s, &nm) < 0)
			goto fail;
		if (s->o->progress)
			fprintf(stderr, "，%ld 人", nm);
		w = nm ? merge(s->db,
			       "INSERT INTO member(household_id, name, id_number, relation, sex, "
			       "birth_date, ethnicity, education, school_status, health, disability, "
			       "labor_skill, work_status, ins_resident_med, ins_employee_med, "
			       "ins_critical, ins_pension, dibao, tekun, phone, name_py, created_at, "
			       "updated_at) SELECT h.id, l.name, l.id_number, l.relation, l.sex, "
			       "l.birth_date, l.ethnicity, l.education, l.school_status, l.health, "
			       "l.disability, l.labor_skill, l.work_status, l.ins_resident_med, "
			       "l.ins_employee_med, l.ins_critical, l.ins_pension, l.dibao, l.tekun, "
			       "l.phone, l.name_py, :now, :now "
			       "FROM member_load l JOIN household h ON h.hh_no = l.hh_no WHERE true "
			       "ORDER BY l.seq ON CONFLICT(id_number) DO UPDATE SET household_id = "
			       "excluded.household_id, name = excluded.name, name_py = excluded.name_py, relation = "
			       "excluded.relation, sex = excluded.sex, birth_date = excluded.birth_date, "
			       "ethnicity = excluded.ethnicity, education = excluded.education, "
			       "school_status = excluded.school_status, health = excluded.health, "
			       "disability = excluded.disability, labor_skill = excluded.labor_skill, "
			       "work_status = excluded.work_status, ins_resident_med = "
			       "excluded.ins_resident_med, ins_employee_med = excluded.ins_employee_med, "
			       "ins_critical = excluded.ins_critical, ins_pension = "
			       "excluded.ins_pension, dibao = excluded.dibao, tekun = excluded.tekun, "
			       "phone = excluded.phone, updated_at = excluded.updated_at WHERE "
			       "member.household_id IS DISTINCT FROM excluded.household_id OR "
			       "member.name IS DISTINCT FROM excluded.name OR member.relation IS "
			       "DISTINCT FROM excluded.relation OR member.sex IS DISTINCT FROM "
			       "excluded.sex OR member.birth_date IS DISTINCT FROM excluded.birth_date "
			       "OR member.ethnicity IS DISTINCT FROM excluded.ethnicity OR "
			       "member.education IS DISTINCT FROM excluded.education OR "
			       "member.school_status IS DISTINCT FROM excluded.school_status OR "
			       "member.health IS DISTINCT FROM excluded.health OR member.disability IS "
			       "DISTINCT FROM excluded.disability OR member.labor_skill IS DISTINCT FROM "
			       "excluded.labor_skill OR member.work_status IS DISTINCT FROM "
			       "excluded.work_status OR member.ins_resident_med IS DISTINCT FROM "
			       "excluded.ins_resident_med OR member.ins_employee_med IS DISTINCT FROM "
			       "excluded.ins_employee_med OR member.ins_critical IS DISTINCT FROM "
			       "excluded.ins_critical OR member.ins_pension IS DISTINCT FROM "
			       "excluded.ins_pension OR member.dibao IS DISTINCT FROM excluded.dibao OR "
			       "member.tekun IS DISTINCT FROM excluded.tekun OR member.phone IS DISTINCT "
			       "FROM excluded.phone",
			       now) : 0;
		if (w < 0)
			goto fail;
		s->res->members_changed = w - s->res->members_new;
		s->res->unchanged += nm - w;
	}
	if (s->o->progress)
		fputc('\n', stderr);
	if (restore && *restore && db_exec(s->db, restore))
		goto fail;
	if (db_exec(s->db, "DROP TABLE hh_load; DROP TABLE member_load"))
		goto fail;
	free(restore);
	restore = NULL;
	progress(s, IMPORT_PHASE_WRITE, s->nr_groups, s->nr_groups);
	if (s->o->before_commit && s->o->before_commit(s->o->arg, s->db))
		goto fail;
	if (db_commit(s->db))
		return error("无法提交：%s", db_errmsg(s->db));
	s->res->written = s->res->households_new + s->res->households_changed +
			  s->res->members_new + s->res->members_changed > 0;
	return 0;
fail:
	if (s->o->progress)
		fputc('\n', stderr);
	free(restore);
	error("写入数据库失败：%s", db_errmsg(s->db));
	db_rollback(s->db);
	s->res->households_new = s->res->households_changed = 0;
	s->res->members_new = s->res->members_changed = 0;
	s->res->unchanged = 0;
	return -1;
}

/* Before the write: drop what only the checks needed (hashes, row and line
 * numbers, per-cell problems, stored look-ups), so that the database's
 * page cache can grow into it.  The write needs groups, members, m_next and
 * the string arena. */
static void release_checks(struct import_state *s)
{
	free(s->id_hash);
	free(s->group_hash);
	free(s->m_group);
	free(s->m_line);
	free(s->m_bad);
	free(s->row_start);
	free(s->row_end);
	free(s->row_group);
	free(s->row_line);
	free(s->cprobs);
	buf_release(&s->cprob_text);
	s->id_hash = s->group_hash = s->m_group = s->row_group = NULL;
	s->m_line = s->row_line = NULL;
	s->m_bad = NULL;
	s->row_start = s->row_end = NULL;
	s->cprobs = NULL;
	s->id_hash_size = s->group_hash_size = 0;
	s->nr_cprobs = s->alloc_cprobs = 0;
	s->alloc_m_group = s->alloc_m_line = s->alloc_m_bad = 0;
	s->alloc_rows_s = s->alloc_rows_e = s->alloc_row_group = s->alloc_row_line = 0;
	for (int i = 0; i < s->nr_stored; i++) {
		free(s->stored[i].hh_no);
		free(s->stored[i].name);
	}
	free(s->stored);
	free(s->stored_of);
	s->stored = NULL;
	s->stored_of = NULL;
	s->nr_stored = s->alloc_stored = 0;
}

/* The import's memory budget on SQLite: what it holds of the file for the
 * write and the page cache of the bulk write share IMPORT_BUDGET, so that
 * a million members import in under 200 MB (the page cache filled by a
 * growing registry was most of the old 450 MB).  The cache gets at least
 * BULK_CACHE_MIN; a small file gets nearly the whole budget. */
#define IMPORT_BUDGET ((size_t)168 << 20)
#define BULK_CACHE_MIN ((size_t)16 << 20)

static size_t bulk_cache_bytes(const struct import_state *s)
{
	size_t held = (size_t)s->nr_groups * sizeof(*s->groups) +
		      (size_t)s->nr_members * (sizeof(*s->members) + sizeof(*s->m_next)) +
		      s->strings.len;
	size_t room = held < IMPORT_BUDGET ? IMPORT_BUDGET - held : 0;
	return room < BULK_CACHE_MIN ? BULK_CACHE_MIN : room;
}

static int write_all(struct import_state *s)
{
	long done = 0;
	if (db_is_server(s->db))
		return write_all_staged(s);
	db_tune_bulk_cache(s->db, bulk_cache_bytes(s));
	if (db_begin(s->db))
		return error("无法开始写入：%s", db_errmsg(s->db));
	for (int g = 0; g < s->nr_groups; g++) {
		struct group *gr = &s->groups[g];
		int64_t hid = gr->db_id;
		int what;
		if (!(g % 256))
			progress(s, IMPORT_PHASE_WRITE, g, s->nr_groups);
		if (gr->bad || !gr->hh_no)
			continue;
		if (gr->has_hh) {
			struct household_rec h;
			group_get_hh(s, g, &h);
			h.id = gr->db_id ? gr->db_id : -1;
			hid = registry_household_save(s->db, &h, &what);
			if (hid < 0)
				goto fail;
			if (what == SAVE_INSERTED)
				s->res->households_new++;
			else if (what == SAVE_UPDATED)
				s->res->households_changed++;
			else if (s->kind == IMPORT_HOUSEHOLDS)
				s->res->unchanged++;
		}
		for (int m = gr->first; m >= 0; m = s->m_next[m]) {
			struct member_rec mr;
			member_unpack(s, m, &mr);
			mr.household_id = hid;
			if (registry_member_save(s->db, &mr, &what) < 0)
				goto fail;
			if (what == SAVE_INSERTED)
				s->res->members_new++;
			else if (what == SAVE_UPDATED)
				s->res->members_changed++;
			else
				s->res->unchanged++;
			if (s->o->progress && !(++done % 50000))
				fprintf(stderr, "\r写入：%ld 人", done);
		}
	}
	if (s->o->progress && done >= 50000)
		fputc('\n', stderr);
	progress(s, IMPORT_PHASE_WRITE, s->nr_groups, s->nr_groups);
	if (s->o->before_commit && s->o->before_commit(s->o->arg, s->db))
		goto fail;
	if (db_commit(s->db))
		return error("无法提交：%s", db_errmsg(s->db));
	s->res->written = s->res->households_new + s->res->households_changed +
			  s->res->members_new + s->res->members_changed > 0;
	return 0;
fail:
	error("写入数据库失败：%s", db_errmsg(s->db));
	db_rollback(s->db);
	s->res->households_new = s->res->households_changed = 0;
	s->res->members_new = s->res->members_changed = 0;
	return -1;
}

void import_result_init(struct import_result *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->report, 0);
}

void import_result_release(struct import_result *r)
{
	buf_release(&r->report);
	for (int i = 0; i < r->nr_problems; i++) {
		free(r->problems[i].value);
		free(r->problems[i].message);
	}
	free(r->problems);
	r->problems = NULL;
	r->nr_problems = r->alloc_problems = 0;
}

int registry_import(struct db *db, enum import_kind kind, const char *path,
		    const struct import_opts *o, struct import_result *res)
{
	struct import_state s;
	struct row_source src;
	struct import_opts xo;
	struct buf err = BUF_INIT;
	int rc = -1, src_open_ok = 0;

	memset(&s, 0, sizeof(s));
	s.kind = kind;
	s.o = o;
	s.res = res;
	s.db = db;
	s.today = o->today ? o->today : idcard_today();
	buf_init(&s.tmp, 0);
	buf_init(&s.cprob_text, 0);
	buf_init(&s.strings, 1 << 16);
	buf_addch(&s.strings, '\0'); /* offset 0 is "" */
	if (o->profile && o->profile->kind != (int)kind) {
		buf_addf(&res->report, "布局方案“%s”用于导入%s，不能用于%s\n", o->profile->name,
			 o->profile->kind == IMPORT_MEMBERS ? "家庭成员" : "户信息",
			 kind == IMPORT_MEMBERS ? "家庭成员" : "户信息");
		rc = 1;
		goto out_early;
	}

	if (src_open(&src, path, o->data, o->len,
		     o->sheet && *o->sheet ? o->sheet
		     : o->profile && o->profile->sheet[0] ? o->profile->sheet : NULL,
		     &err)) {
		buf_addf(&res->report, "%s\n", err.buf);
		rc = 1;
		goto out_early;
	}
	src_open_ok = 1;
	s.src = &src;
	res->is_xlsx = src.is_xlsx;
	if (src.is_xlsx && o->reject_path_xlsx) { /* a workbook on stdin */
		xo = *o;
		xo.reject_path = o->reject_path_xlsx;
		s.o = o = &xo;
	}
	if (find_header(&s, &src, &err) || check_required(&s, &err)) {
		buf_addf(&res->report, "'%s'：%s\n", path, err.buf);
		rc = 1;
		goto out;
	}
	load_counties(&s);
	if (parse_rows(&s, &src, &err)) {
		buf_addf(&res->report, "%s\n", err.buf);
		rc = 1;
		goto out;
	}
	if (!res->rows) {
		buf_addstr(&res->report, "文件中没有数据行\n");
		rc = 1;
		goto out;
	}
	report_areas(&s);
	if (check_against_db(&s)) {
		buf_addf(&res->report, "无法查询数据库：%s\n", db_errmsg(db));
		goto out;
	}
	for (int i = 0; i < s.nr_rows; i++)
		if (s.groups[s.row_group[i]].bad)
			res->bad_rows++;
	if (s.problems_listed > MAX_LISTED)
		buf_addf(&res->report, "……另有 %ld 条问题未列出\n", s.problems_listed - MAX_LISTED);
	/* a workbook's problems go back into a copy of it, whatever happens next */
	if (src.is_xlsx && res->bad_rows && (o->reject_path || o->reject_out)) {
		buf_reset(&err);
		if (write_error_workbook(&s, &src, &err)) {
			buf_addf(&res->report, "无法写出标注错误的工作簿：%s\n", err.buf);
		} else {
			res->rejects_written = 1;
		}
	}
	if (res->bad_rows && !o->skip_bad) {
		rc = 1;
		goto out;
	}
	if (o->dry_run) {
		rc = 0;
		goto out;
	}
	if (!src.is_xlsx && res->bad_rows && o->reject_path) {
		if (write_rejects(&s, &src))
			goto out;
		res->rejects_written = 1;
	}
	/* the file has been read and checked: free the reader (a CSV's text,
	 * a workbook's shared strings) and the checks' state before writing */
	src_close(&src);
	src_open_ok = 0;
	s.src = NULL;
	release_checks(&s);
	rc = write_all(&s) ? -1 : 0;
out:
	if (src_open_ok)
		src_close(&src);
out_early:
	buf_release(&err);
	buf_release(&s.tmp);
	buf_release(&s.cprob_text);
	buf_release(&s.strings);
	free(s.cprobs);
	free(s.row_line);
	if (s.header_text) {
		for (int i = 0; i < s.nr_header_fields; i++)
			free(s.header_text[i]);
		free(s.header_text);
	}
	for (int i = 0; i < s.nr_vnames; i++) {
		free(s.vnames[i].county);
		free(s.vnames[i].town);
		free(s.vnames[i].village);
	}
	free(s.vnames);
	free(s.groups);
	free(s.group_hash);
	free(s.members);
	free(s.m_group);
	free(s.m_next);
	free(s.m_line);
	free(s.m_bad);
	free(s.id_hash);
	free(s.row_start);
	free(s.row_end);
	free(s.row_group);
	free(s.counties);
	free(s.areas);
	for (int i = 0; i < s.nr_stored; i++) {
		free(s.stored[i].hh_no);
		free(s.stored[i].name);
	}
	free(s.stored);
	free(s.stored_of);
	return rc;
}

/* ---- export -----------------------------------------------------------------
 * One query streams the rows (households, or members with their household's
 * columns) in village, 户编号 and relation order; each row is written
 * through a table (CSV or xlsx) in the columns of a layout profile —
 * liubao's own layout unless another is given — so an export imports back
 * unchanged, and the national layout produces the file the national system
 * expects. */

/* Columns of the export queries: the household's, then (members only) the
 * member's, so that one query streams the whole file. */
enum {
	XC_HH_NO, XC_VILLAGE, XC_TYPE, XC_ADDRESS, XC_HH_PHONE, XC_RELOCATED, XC_SITE, XC_HEAD,
	XC_SIZE, XC_NAME, XC_IDN, XC_REL, XC_SEX, XC_BIRTH, XC_ETH, XC_EDU, XC_SCHOOL, XC_HEALTH,
	XC_DIS, XC_LABOR, XC_WORK, XC_IRM, XC_IEM, XC_ICR, XC_IPE, XC_DIBAO, XC_TEKUN, XC_PHONE
};

static int col_code(struct db_stmt *st, int col)
{
	return db_col_is_null(st, col) ? -1 : (int)db_col_int(st, col);
}

static void copy_col(struct db_stmt *st, int col, char *dst, size_t n)
{
	snprintf(dst, n, "%s", db_col_text(st, col));
}

/* The member columns of an export row. */
static void read_export_member(struct db_stmt *st, struct member_rec *m)
{
	member_rec_init(m);
	copy_col(st, XC_NAME, m->name, sizeof(m->name));
	copy_col(st, XC_IDN, m->id_number, sizeof(m->id_number));
	m->relation = col_code(st, XC_REL);
	m->sex = col_code(st, XC_SEX);
	copy_col(st, XC_BIRTH, m->birth_date, sizeof(m->birth_date));
	m->ethnicity = col_code(st, XC_ETH);
	m->education = col_code(st, XC_EDU);
	m->school_status = col_code(st, XC_SCHOOL);
	m->health = col_code(st, XC_HEALTH);
	m->disability = col_code(st, XC_DIS);
	m->labor_skill = col_code(st, XC_LABOR);
	m->work_status = col_code(st, XC_WORK);
	m->ins_resident_med = col_code(st, XC_IRM);
	m->ins_employee_med = col_code(st, XC_IEM);
	m->ins_critical = col_code(st, XC_ICR);
	m->ins_pension = col_code(st, XC_IPE);
	m->dibao = col_code(st, XC_DIBAO);
	m->tekun = col_code(st, XC_TEKUN);
	copy_col(st, XC_PHONE, m->phone, sizeof(m->phone));
}

/* How wide each column is in a workbook, and whether it is text. */
static void export_col_style(int col, struct table_col *tc)
{
	switch (col) {
	case C_HH_NO: tc->width = 20; tc->kind = TC_TEXT; break;
	case C_VILLAGE: tc->width = 15; tc->kind = TC_TEXT; break;
	case C_IDN: tc->width = 21; tc->kind = TC_TEXT; break;
	case C_PHONE: case C_HH_PHONE: tc->width = 14; tc->kind = TC_TEXT; break;
	case C_ADDRESS: tc->width = 30; break;
	case C_SITE: tc->width = 20; break;
	case C_BIRTH: tc->width = 12; tc->kind = TC_DATE; break;
	case C_NAME: case C_HEAD_NAME: tc->width = 10; break;
	case C_SEQ: case C_SEX: case C_SIZE: tc->width = 7; break;
	case C_PROV_NAME: case C_CITY_NAME: case C_COUNTY_NAME: tc->width = 10; break;
	case C_TOWN_NAME: tc->width = 12; break;
	case C_VILLAGE_NAME: tc->width = 16; break;
	case C_SCHOOL: case C_HEALTH: case C_LABOR: case C_WORK: tc->width = 14; break;
	default: tc->width = 11;
	}
}

/* The names of a village and the regions above it, cached for the last one. */
struct region_names {
	char code[13];
	char *names[5]; /* 省 市 县 乡 村 */
};

static void region_names_for(struct db *db, const char *village, struct region_names *rn)
{
	enum { RN_V, RN_T, RN_C, RN_CI, RN_P };
	struct db_stmt *st;
	if (!strcmp(rn->code, village))
		return;
	for (int i = 0; i < 5; i++) {
		free(rn->names[i]);
		rn->names[i] = NULL;
	}
	snprintf(rn->code, sizeof(rn->code), "%s", village);
	st = db_prepare(db, "SELECT v.name, t.name, c.name, ci.name, p.name FROM region v LEFT "
			    "JOIN region t ON t.code = v.parent LEFT JOIN region c ON c.code = "
			    "t.parent LEFT JOIN region ci ON ci.code = c.parent LEFT JOIN region p "
			    "ON p.code = ci.parent WHERE v.code = :c");
	db_bind_text(st, ":c", village);
	if (db_step(st) == DB_ROW) {
		rn->names[4] = xstrdup(db_col_text(st, RN_V));
		rn->names[3] = xstrdup(db_col_text(st, RN_T));
		rn->names[2] = xstrdup(db_col_text(st, RN_C));
		rn->names[1] = xstrdup(db_col_text(st, RN_CI));
		rn->names[0] = xstrdup(db_col_text(st, RN_P));
	}
	db_done(st);
}

/* The title rows of a profile with {region} and {date} filled in;
 * NULL-terminated array from xmalloc (strings too). */
static char **export_titles(struct db *db, const struct layout_profile *p, const char *under)
{
	char **out;
	int n = 1;
	struct buf region = BUF_INIT;
	char today[16];
	int t = idcard_today();
	if (!p->titles || !*p->titles)
		return NULL;
	for (const char *c = p->titles; *c; c++)
		n += *c == '\n';
	out = xcalloc((size_t)n + 1, sizeof(*out));
	snprintf(today, sizeof(today), "%04d-%02d-%02d", t / 10000, t / 100 % 100, t % 100);
	if (under && *under) {
		char code[13];
		struct db_stmt *st;
		code_pad12(under, code);
		st = db_prepare(db, "SELECT name FROM region WHERE code = :c");
		db_bind_text(st, ":c", code);
		buf_addstr(&region, db_step(st) == DB_ROW ? db_col_text(st, 0) : under);
		db_done(st);
	} else {
		buf_addstr(&region, "全部");
	}
	{
		const char *s = p->titles;
		for (int i = 0; i < n; i++) {
			const char *nl = strchr(s, '\n');
			size_t l = nl ? (size_t)(nl - s) : strlen(s);
			struct buf line = BUF_INIT;
			for (size_t k = 0; k < l; k++) {
				if (!strncmp(s + k, "{region}", 8) && k + 8 <= l) {
					buf_addstr(&line, region.buf);
					k += 7;
				} else if (!strncmp(s + k, "{date}", 6) && k + 6 <= l) {
					buf_addstr(&line, today);
					k += 5;
				} else {
					buf_addch(&line, s[k]);
				}
			}
			out[i] = buf_detach(&line, NULL);
			s = nl ? nl + 1 : s + l;
		}
	}
	buf_release(&region);
	return out;
}

/* Write a code's label (or the labels of a 健康状况 mask); empty when unknown. */
static void put_code(struct table *t, const struct code_list *l, int code)
{
	if (code < 0) {
		table_blank(t, 0);
	} else if (l->multi) {
		struct buf b = BUF_INIT;
		codes_mask_labels(l, code, &b);
		table_text(t, b.buf, 0);
		buf_release(&b);
	} else {
		const char *label = codes_label(l, code);
		table_text(t, label ? label : "", 0);
	}
}

static void put_phone(struct table *t, const char *phone, int masked)
{
	char m[24];
	if (masked && *phone) {
		registry_mask_phone(phone, m);
		table_text(t, m, 0);
	} else {
		table_text(t, phone, 0);
	}
}

int registry_export_to(struct db *db, enum import_kind kind, const struct export_opts *o, int fd,
		       struct buf *out, long *nr_rows, struct buf *err)
{
	struct layout_profile own;
	const struct layout_profile *prof = o->profile;
	struct table_col *tcols = NULL;
	int *colid = NULL;
	char **titles = NULL;
	struct table *t = NULL;
	struct db_stmt *st;
	struct region_names rn;
	long seq = 0;
	int rc, failed = 0;

	memset(&own, 0, sizeof(own));
	memset(&rn, 0, sizeof(rn));
	if (!prof) {
		if (registry_profile_load(db, kind == IMPORT_MEMBERS ? "liubao-members"
								     : "liubao-households",
					  &own) != 1) {
			buf_addstr(err, "缺少默认布局方案");
			return -1;
		}
		prof = &own;
	}
	if (prof->kind != (int)kind) {
		buf_addf(err, "布局方案“%s”用于%s，不能导出%s", prof->name,
			 prof->kind == IMPORT_MEMBERS ? "家庭成员" : "户信息",
			 kind == IMPORT_MEMBERS ? "家庭成员" : "户信息");
		layout_profile_release(&own);
		return -1;
	}
	tcols = xcalloc((size_t)prof->nr_cols, sizeof(*tcols));
	colid = xcalloc((size_t)prof->nr_cols, sizeof(*colid));
	for (int i = 0; i < prof->nr_cols; i++) {
		colid[i] = column_by_field(prof->cols[i].field);
		tcols[i].header = prof->cols[i].header;
		if (colid[i] >= 0)
			export_col_style(colid[i], &tcols[i]);
		else
			tcols[i].width = 11;
		if (kind == IMPORT_HOUSEHOLDS && colid[i] >= 0 && !columns[colid[i]].household &&
		    colid[i] != C_ID_TYPE) {
			buf_addf(err, "布局方案“%s”的列“%s”是成员字段，户信息导出中没有", prof->name,
				 prof->cols[i].header);
			failed = 1;
			goto out;
		}
	}
	titles = export_titles(db, prof, o->under);
	t = table_open(o->format, fd, out,
		       kind == IMPORT_MEMBERS ? "家庭成员" : "户信息", tcols, prof->nr_cols,
		       (const char *const *)titles, err);
	if (!t) {
		failed = 1;
		goto out;
	}
	if (kind == IMPORT_HOUSEHOLDS)
		st = db_prepare(db,
				"SELECT h.hh_no, h.village_code, h.hh_type, h.address, h.phone, "
				"h.relocated, h.relocation_site, (SELECT name FROM member m WHERE "
				"m.household_id = h.id AND m.relation = 1 LIMIT 1), (SELECT count(*) FROM "
				"member m WHERE m.household_id = h.id), 0 FROM household h WHERE "
				"h.village_code >= :lo AND h.village_code < :hi ORDER BY h.village_code, "
				"h.hh_no");
	else
		st = db_prepare(db,
				"SELECT h.hh_no, h.village_code, h.hh_type, h.address, h.phone, "
				"h.relocated, h.relocation_site, '', 0, m.name, m.id_number, m.relation, "
				"m.sex, m.birth_date, m.ethnicity, m.education, m.school_status, m.health, "
				"m.disability, m.labor_skill, m.work_status, m.ins_resident_med, "
				"m.ins_employee_med, m.ins_critical, m.ins_pension, m.dibao, m.tekun, "
				"m.phone FROM household h JOIN member m ON m.household_id = h.id WHERE "
				"h.village_code >= :lo AND h.village_code < :hi ORDER BY h.village_code, "
				"h.hh_no, m.relation, m.id");
	db_bind_prefix(st, ":lo", ":hi", o->under ? o->under : "");
	while ((rc = db_step(st)) == DB_ROW) {
		struct member_rec m;
		if (kind == IMPORT_MEMBERS)
			read_export_member(st, &m);
		seq++;
		for (int i = 0; i < prof->nr_cols; i++) {
			switch (colid[i]) {
			case C_HH_NO: table_text(t, db_col_text(st, XC_HH_NO), 0); break;
			case C_VILLAGE: table_text(t, db_col_text(st, XC_VILLAGE), 0); break;
			case C_HH_TYPE: put_code(t, &code_hh_type, col_code(st, XC_TYPE)); break;
			case C_ADDRESS: table_text(t, db_col_text(st, XC_ADDRESS), 0); break;
			case C_HH_PHONE: put_phone(t, db_col_text(st, XC_HH_PHONE), o->masked); break;
			case C_RELOCATED:
				table_text(t, db_col_int(st, XC_RELOCATED) ? "是" : "否", 0);
				break;
			case C_SITE: table_text(t, db_col_text(st, XC_SITE), 0); break;
			case C_HEAD_NAME: table_text(t, db_col_text(st, XC_HEAD), 0); break;
			case C_SIZE: table_number(t, (double)db_col_int(st, XC_SIZE), 0); break;
			case C_SEQ: table_number(t, (double)seq, 0); break;
			case C_ID_TYPE: table_text(t, "居民身份证", 0); break;
			case C_PROV_NAME: case C_CITY_NAME: case C_COUNTY_NAME: case C_TOWN_NAME:
			case C_VILLAGE_NAME:
				region_names_for(db, db_col_text(st, XC_VILLAGE), &rn);
				table_text(t, rn.names[colid[i] - C_PROV_NAME], 0);
				break;
			default:
				if (kind != IMPORT_MEMBERS) {
					table_blank(t, 0);
					break;
				}
				switch (colid[i]) {
				case C_NAME: table_text(t, m.name, 0); break;
				case C_IDN:
					if (o->masked) {
						char idm[19];
						idcard_mask(m.id_number, idm);
						table_text(t, idm, 0);
					} else {
						table_text(t, m.id_number, 0);
					}
					break;
				case C_RELATION: put_code(t, &code_relation, m.relation); break;
				case C_SEX: put_code(t, &code_sex, m.sex); break;
				case C_BIRTH: {
					int y, mo, d;
					if (sscanf(m.birth_date, "%4d-%2d-%2d", &y, &mo, &d) == 3)
						table_date(t, y, mo, d, 0);
					else
						table_text(t, m.birth_date, 0);
					break;
				}
				case C_ETHNICITY: put_code(t, &code_ethnicity, m.ethnicity); break;
				case C_EDUCATION: put_code(t, &code_education, m.education); break;
				case C_SCHOOL: put_code(t, &code_school_status, m.school_status); break;
				case C_HEALTH: put_code(t, &code_health, m.health); break;
				case C_DISABILITY: put_code(t, &code_disability, m.disability); break;
				case C_LABOR: put_code(t, &code_labor_skill, m.labor_skill); break;
				case C_WORK: put_code(t, &code_work_status, m.work_status); break;
				case C_IRM: put_code(t, &code_yesno, m.ins_resident_med); break;
				case C_IEM: put_code(t, &code_yesno, m.ins_employee_med); break;
				case C_ICR: put_code(t, &code_yesno, m.ins_critical); break;
				case C_IPE: put_code(t, &code_yesno, m.ins_pension); break;
				case C_DIBAO: put_code(t, &code_yesno, m.dibao); break;
				case C_TEKUN: put_code(t, &code_yesno, m.tekun); break;
				case C_PHONE: put_phone(t, m.phone, o->masked); break;
				default: table_blank(t, 0);
				}
			}
		}
		if (table_row_end(t)) {
			failed = 1;
			break;
		}
	}
	db_done(st);
	if (rc < 0 && !failed) {
		buf_addf(err, "导出失败：%s", db_errmsg(db));
		failed = 1;
	}
	if (nr_rows)
		*nr_rows = seq;
out:
	if (t && table_close(t, err))
		failed = 1;
	for (int i = 0; titles && titles[i]; i++)
		free(titles[i]);
	free(titles);
	for (int i = 0; i < 5; i++)
		free(rn.names[i]);
	free(tcols);
	free(colid);
	layout_profile_release(&own);
	return failed ? -1 : 0;
}

int registry_export(struct db *db, enum import_kind kind, const char *under, int fd)
{
	struct export_opts o = { TABLE_CSV, under, 0, NULL };
	struct buf err = BUF_INIT;
	int rc = registry_export_to(db, kind, &o, fd, NULL, NULL, &err);
	if (rc)
		error("%s", err.buf);
	buf_release(&err);
	return rc;
}
