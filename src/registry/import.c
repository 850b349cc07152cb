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
#include "base/util.h"
#include "db/db.h"
#include "registry/codes.h"
#include "registry/idcard.h"
#include "registry/pinyin.h"
#include "registry/registry.h"

/* ---- the ledger's columns ------------------------------------------------ */

enum col_id {
	C_HH_NO, C_VILLAGE, C_HH_TYPE, C_ADDRESS, C_HH_PHONE, C_RELOCATED, C_SITE,
	C_NAME, C_IDN, C_RELATION, C_SEX, C_BIRTH, C_ETHNICITY, C_EDUCATION, C_SCHOOL,
	C_HEALTH, C_DISABILITY, C_LABOR, C_WORK, C_IRM, C_IEM, C_ICR, C_IPE, C_DIBAO, C_TEKUN,
	C_PHONE, C_HEAD_NAME, C_SIZE, NR_COLS
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
};

/* Headers recognised and deliberately ignored (names of regions, serials). */
static const char *const ignored_headers[] = {
	"序号", "省", "市", "县", "乡", "镇", "乡镇", "村", "行政村", "自然村", "组", "省（自治区、直辖市）",
	"市（地、州、盟）", "县（市、区、旗）", "乡（镇）", "年度", "证件类型", "户主证件号码", NULL,
};

/* The columns written on export, in order. */
static const enum col_id member_layout[] = {
	C_HH_NO, C_VILLAGE, C_HH_TYPE, C_ADDRESS, C_HH_PHONE, C_RELOCATED, C_SITE, C_NAME, C_IDN,
	C_RELATION, C_SEX, C_BIRTH, C_ETHNICITY, C_EDUCATION, C_SCHOOL, C_HEALTH, C_DISABILITY,
	C_LABOR, C_WORK, C_IRM, C_IEM, C_ICR, C_IPE, C_DIBAO, C_TEKUN, C_PHONE,
};
static const enum col_id household_layout[] = {
	C_HH_NO, C_VILLAGE, C_HEAD_NAME, C_HH_TYPE, C_ADDRESS, C_HH_PHONE, C_RELOCATED, C_SITE, C_SIZE,
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

/* The column a header names, -1 if unknown, -2 if known but ignored. */
static int column_of(const char *raw, struct buf *tmp)
{
	clean_header(raw, tmp);
	if (!tmp->len)
		return -1;
	for (int i = 0; i < NR_COLS; i++)
		if (!strcmp(columns[i].header, tmp->buf) || !strcasecmp(columns[i].english, tmp->buf) ||
		    alias_match(columns[i].aliases, tmp->buf))
			return i;
	for (int i = 0; ignored_headers[i]; i++)
		if (!strcmp(ignored_headers[i], tmp->buf))
			return -2;
	return -1;
}

/* ---- per-run state -------------------------------------------------------- */

struct group {                 /* one household in the file */
	struct household_rec hh;  /* its household columns, when the file has them */
	int has_hh;
	long line;                /* first row naming it */
	int first, last;          /* chain of member rows (index into members), -1 = none */
	int bad;                  /* some row of the household has an error */
	int64_t db_id;            /* existing household id, 0 = new */
	char db_village[13];      /* the existing household's village */
	int nr_members;
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
	struct member_rec *members;
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
};

#define MAX_LISTED 1000

static void report(struct import_state *s, int warning_only, long line, int col, const char *value,
		   const char *fmt, ...) ATTR_PRINTF(6, 7);

static void report(struct import_state *s, int warning_only, long line, int col, const char *value,
		   const char *fmt, ...)
{
	va_list ap;
	struct buf msg = BUF_INIT;
	struct import_problem *p;
	if (warning_only)
		s->res->warnings++;
	s->res->problems_total++;
	if (s->problems_listed++ >= MAX_LISTED) {
		return;
	}
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	buf_addf(&s->res->report, "%s第 %ld 行", warning_only ? "警告：" : "", line);
	if (col >= 0)
		buf_addf(&s->res->report, "，列“%s”", columns[col].header);
	if (value)
		buf_addf(&s->res->report, "，值“%s”", value);
	buf_addf(&s->res->report, "：%s\n", msg.buf);
	ALLOC_GROW(s->res->problems, s->res->nr_problems + 1, s->res->alloc_problems);
	p = &s->res->problems[s->res->nr_problems++];
	p->line = line;
	p->column = col >= 0 ? columns[col].header : "";
	p->value = value ? xstrdup(value) : NULL;
	p->message = buf_detach(&msg, NULL);
	p->warning = warning_only;
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
			i = hash_str(s->groups[g].hh.hh_no) & mask;
			while (s->group_hash[i] >= 0)
				i = (i + 1) & mask;
			s->group_hash[i] = g;
		}
	}
	mask = s->group_hash_size - 1;
	i = hash_str(hh_no) & mask;
	while (s->group_hash[i] >= 0) {
		if (!strcmp(s->groups[s->group_hash[i]].hh.hh_no, hh_no)) {
			*created = 0;
			return s->group_hash[i];
		}
		i = (i + 1) & mask;
	}
	ALLOC_GROW(s->groups, s->nr_groups + 1, s->alloc_groups);
	{
		struct group *g = &s->groups[s->nr_groups];
		memset(g, 0, sizeof(*g));
		household_rec_init(&g->hh);
		snprintf(g->hh.hh_no, sizeof(g->hh.hh_no), "%s", hh_no);
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
	for (int i = 0; i < s->nr_areas; i++)
		report(s, 1, s->areas[i].first_line, C_IDN, NULL,
		       "%ld 人的身份证号地址码为 %s，不在已导入的行政区划中（可能是旧代码或外地迁入），已接受",
		       s->areas[i].count, s->areas[i].area);
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
	for (; *v; v++) {
		if (multiline && *v == '\r') {
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

static const char *field(struct import_state *s, struct csv_reader *r, int col)
{
	int f = s->col_of_field[col];
	return f >= 0 && f < r->nr_fields ? r->fields[f] : NULL;
}

/* Read the household columns of row `r` into `h`.  Returns errors found. */
static int read_household(struct import_state *s, struct csv_reader *r, struct household_rec *h)
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
	}
	if ((v = field(s, r, C_HH_TYPE)))
		bad |= take_code(s, r->line, C_HH_TYPE, v, &h->hh_type);
	if ((v = field(s, r, C_ADDRESS)))
		bad |= take_text(s, r->line, C_ADDRESS, v, h->address, sizeof(h->address));
	if ((v = field(s, r, C_HH_PHONE)))
		bad |= take_text(s, r->line, C_HH_PHONE, v, h->phone, sizeof(h->phone));
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
static int read_member(struct import_state *s, struct csv_reader *r, struct member_rec *m)
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
	if ((v = field(s, r, C_PHONE)))
		bad |= take_text(s, r->line, C_PHONE, v, m->phone, sizeof(m->phone));

	v = field(s, r, C_IDN);
	st = idcard_parse(v ? v : "", s->today, &id);
	if (st != IDCARD_OK) {
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
			int y, mo, d;
			buf_reset(&s->tmp);
			buf_addstr(&s->tmp, v);
			buf_trim(&s->tmp);
			if (s->tmp.len && parse_date(s->tmp.buf, &y, &mo, &d)) {
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

/* Find the header row (title rows may come first).  Returns 0 or -1. */
static int find_header(struct import_state *s, struct csv_reader *r, struct buf *err)
{
	for (int tries = 0; tries < 20; tries++) {
		int found = 0, rc = csv_read_row(r, err);
		if (rc <= 0)
			break;
		for (int c = 0; c < NR_COLS; c++)
			s->col_of_field[c] = -1;
		for (int f = 0; f < r->nr_fields; f++) {
			int c = column_of(r->fields[f], &s->tmp);
			if (c >= 0 && s->col_of_field[c] < 0) {
				s->col_of_field[c] = f;
				found++;
			}
		}
		if (found >= 2 && s->col_of_field[C_HH_NO] >= 0) {
			for (int f = 0; f < r->nr_fields; f++) {
				int c = column_of(r->fields[f], &s->tmp);
				if (c == -1 && s->tmp.len)
					report(s, 1, r->line, -1, r->fields[f],
					       "未识别的列，已忽略");
				else if (c >= 0 && s->col_of_field[c] != f)
					report(s, 1, r->line, -1, r->fields[f],
					       "重复的列，只使用第一列");
			}
			s->nr_header_fields = r->nr_fields;
			return 0;
		}
	}
	if (!err->len)
		buf_addstr(err, "找不到表头：前 20 行中没有包含“户编号”等列名的行");
	return -1;
}

static int check_required(struct import_state *s, struct buf *err)
{
	static const enum col_id need_hh[] = { C_HH_NO, C_VILLAGE };
	static const enum col_id need_m[] = { C_HH_NO, C_NAME, C_IDN, C_RELATION };
	const enum col_id *need = s->kind == IMPORT_HOUSEHOLDS ? need_hh : need_m;
	size_t n = s->kind == IMPORT_HOUSEHOLDS ? ARRAY_SIZE(need_hh) : ARRAY_SIZE(need_m);
	for (size_t i = 0; i < n; i++)
		if (s->col_of_field[need[i]] < 0)
			buf_addf(err, "%s缺少必需的列“%s”", err->len ? "；" : "",
				 columns[need[i]].header);
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

/* Parse every data row.  Returns 0, or -1 on malformed CSV (err set). */
static int parse_rows(struct import_state *s, struct csv_reader *r, struct buf *err)
{
	int rc;
	size_t start = r->pos;
	while ((rc = csv_read_row(r, err)) == 1) {
		const char *hh_no;
		int g, created, bad = 0;
		struct household_rec h;
		int empty = 1;
		for (int f = 0; f < r->nr_fields && empty; f++)
			for (const char *p = r->fields[f]; *p && empty; p++)
				if (*p != ' ' && *p != '\t')
					empty = 0;
		if (empty) { /* trailing blank rows in Excel exports */
			start = r->pos;
			continue;
		}
		s->res->rows++;
		ALLOC_GROW(s->row_start, s->nr_rows + 1, s->alloc_rows_s);
		ALLOC_GROW(s->row_end, s->nr_rows + 1, s->alloc_rows_e);
		ALLOC_GROW(s->row_group, s->nr_rows + 1, s->alloc_row_group);
		s->row_start[s->nr_rows] = start;
		s->row_end[s->nr_rows] = r->pos;
		start = r->pos;
		if (r->nr_fields > s->nr_header_fields) {
			report(s, 0, r->line, -1, NULL, "本行有 %d 列，多于表头的 %d 列（可能有未加引号的逗号）",
			       r->nr_fields, s->nr_header_fields);
			bad = 1;
		}
		hh_no = field(s, r, C_HH_NO);
		household_rec_init(&h);
		if (!hh_no || take_text(s, r->line, C_HH_NO, hh_no, h.hh_no, sizeof(h.hh_no)))
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
		if (s->kind == IMPORT_HOUSEHOLDS || s->col_of_field[C_VILLAGE] >= 0) {
			int hbad = read_household(s, r, &h);
			struct group *gr = &s->groups[g];
			bad |= hbad;
			if (!hbad && created) {
				gr->hh = h;
				gr->has_hh = 1;
			} else if (!hbad && gr->has_hh &&
				   (strcmp(gr->hh.village_code, h.village_code) ||
				    gr->hh.hh_type != h.hh_type || strcmp(gr->hh.address, h.address) ||
				    strcmp(gr->hh.phone, h.phone) || gr->hh.relocated != h.relocated ||
				    strcmp(gr->hh.relocation_site, h.relocation_site))) {
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
			member_rec_init(&s->members[m]);
			bad |= read_member(s, r, &s->members[m]);
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
		}
		if (bad)
			s->groups[g].bad = 1;
		if (s->o->progress && !(s->res->rows % 20000))
			fprintf(stderr, "\r检查：%ld 行（%.0f%%）", s->res->rows,
				100 * csv_progress(r));
		if (!(s->res->rows % 1024))
			progress(s, IMPORT_PHASE_PARSE, (long)r->pos, (long)r->text.len);
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
		if (!strcmp(s->groups[s->group_hash[i]].hh.hh_no, hh_no))
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
		if (!s->groups[g].hh.hh_no[0])
			continue;
		db_copy_text(c, s->groups[g].hh.hh_no);
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
		if (!gr->hh.hh_no[0])
			continue;
		if (!(g % 256))
			progress(s, IMPORT_PHASE_CHECK, g, s->nr_groups);
		if (!no_households && !s->prefetched_hh) {
			st = db_prepare(s->db, "SELECT id, village_code FROM household WHERE hh_no = :k");
			db_bind_text(st, ":k", gr->hh.hh_no);
			gr->db_id = 0;
			if (db_step(st) == DB_ROW) {
				gr->db_id = db_col_int(st, 0);
				snprintf(gr->db_village, sizeof(gr->db_village), "%s",
					 db_col_text(st, 1));
			}
			db_done(st);
		}
		/* an upload limited to a region touches nothing outside it */
		if (gr->has_hh && !gr->bad && out_of_scope(s, gr->hh.village_code)) {
			report(s, 0, gr->line, C_VILLAGE, gr->hh.village_code,
			       "不在您的管辖范围内，只能导入本辖区的户");
			gr->bad = 1;
		}
		if (gr->db_id && !gr->bad && out_of_scope(s, gr->db_village)) {
			report(s, 0, gr->line, C_HH_NO, gr->hh.hh_no,
			       "该户编号已登记在您管辖范围以外的村，不能在此导入");
			gr->bad = 1;
		}
		if (gr->has_hh && !gr->bad) {
			if (strcmp(last_village, gr->hh.village_code)) {
				st = db_prepare(s->db, "SELECT level FROM region WHERE code = :c");
				db_bind_text(st, ":c", gr->hh.village_code);
				last_village_ok = db_step(st) == DB_ROW &&
						  db_col_int(st, 0) == REGION_VILLAGE;
				db_done(st);
				memcpy(last_village, gr->hh.village_code, sizeof(last_village));
			}
			if (!last_village_ok) {
				report(s, 0, gr->line, C_VILLAGE, gr->hh.village_code,
				       "不是已导入的村级行政区划代码（先运行 liubao regions import）");
				gr->bad = 1;
			}
		}
		if (s->kind == IMPORT_HOUSEHOLDS)
			continue;
		if (!gr->has_hh && !gr->db_id && !gr->bad) {
			report(s, 0, gr->line, C_HH_NO, gr->hh.hh_no,
			       "户编号不存在；先导入户信息，或在文件中加上“行政区划代码”列");
			gr->bad = 1;
		}
		/* members of this household in the file */
		for (int m = gr->first; m >= 0; m = s->m_next[m]) {
			struct member_rec *mr = &s->members[m];
			ALLOC_GROW(all, n + 1, alloc_all);
			if (!mr->id_number[0] || no_members) {
				mr->id = -1; /* known new */
				all[n++] = *mr;
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
				all[n++] = *mr;
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
			all[n++] = *mr;
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
			report(s, 0, line, C_RELATION, NULL, "户 %s：%s", gr->hh.hh_no,
			       probs[k].message);
		}
		if (np)
			gr->bad = 1;
	}
	free(all);
	return 0;
}

static int write_rejects(struct import_state *s, struct csv_reader *r, const char *header_src,
			 size_t header_len)
{
	int fd = open(s->o->reject_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct buf out = BUF_INIT;
	int rc = 0;
	if (fd < 0)
		return error("无法写入拒收文件 '%s'：%s", s->o->reject_path, strerror(errno));
	buf_add(&out, "\xef\xbb\xbf", 3);
	buf_add(&out, header_src, header_len);
	while (out.len && (out.buf[out.len - 1] == '\n' || out.buf[out.len - 1] == '\r'))
		buf_setlen(&out, out.len - 1);
	buf_addstr(&out, ",错误原因\n");
	for (int i = 0; i < s->nr_rows; i++) {
		size_t a = s->row_start[i], b = s->row_end[i];
		if (!s->groups[s->row_group[i]].bad)
			continue;
		while (b > a && (r->text.buf[b - 1] == '\n' || r->text.buf[b - 1] == '\r'))
			b--;
		buf_add(&out, r->text.buf + a, b - a);
		buf_addstr(&out, ",本户有错误，整户未导入（见导入报告）\n");
	}
	if (write(fd, out.buf, out.len) != (ssize_t)out.len)
		rc = error("写入拒收文件失败：%s", strerror(errno));
	close(fd);
	buf_release(&out);
	return rc;
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
	struct db_copy *c = db_copy_begin(s->db, "hh_load", "seq, hh_no, village_code, address, "
					  "phone, hh_type, relocated, relocation_site");
	for (int g = 0; g < s->nr_groups; g++) {
		struct group *gr = &s->groups[g];
		if (gr->bad || !gr->hh.hh_no[0] || !gr->has_hh)
			continue;
		db_copy_int(c, g);
		db_copy_text(c, gr->hh.hh_no);
		db_copy_text(c, gr->hh.village_code);
		db_copy_text(c, gr->hh.address);
		db_copy_text(c, gr->hh.phone);
		db_copy_int_or_null(c, gr->hh.hh_type);
		db_copy_int(c, gr->hh.relocated > 0);
		db_copy_text(c, gr->hh.relocation_site);
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
	struct db_copy *c = db_copy_begin(
		s->db, "member_load", "seq, hh_no, name, id_number, relation, sex, birth_date, "
		"ethnicity, education, school_status, health, disability, labor_skill, "
		"work_status, ins_resident_med, ins_employee_med, ins_critical, ins_pension, dibao, "
		"tekun, phone, name_py");
	long seq = 0;
	for (int g = 0; g < s->nr_groups; g++) {
		struct group *gr = &s->groups[g];
		if (gr->bad || !gr->hh.hh_no[0])
			continue;
		for (int m = gr->first; m >= 0; m = s->m_next[m]) {
			const struct member_rec *mr = &s->members[m];
			char py[64];
			db_copy_int(c, seq++);
			db_copy_text(c, gr->hh.hh_no);
			db_copy_text(c, mr->name);
			db_copy_text(c, mr->id_number);
			db_copy_int(c, mr->relation);
			db_copy_int(c, mr->sex);
			db_copy_text(c, mr->birth_date);
			db_copy_int_or_null(c, mr->ethnicity);
			db_copy_int_or_null(c, mr->education);
			db_copy_int_or_null(c, mr->school_status);
			db_copy_int_or_null(c, mr->health);
			db_copy_int_or_null(c, mr->disability);
			db_copy_int_or_null(c, mr->labor_skill);
			db_copy_int_or_null(c, mr->work_status);
			db_copy_int_or_null(c, mr->ins_resident_med);
			db_copy_int_or_null(c, mr->ins_employee_med);
			db_copy_int_or_null(c, mr->ins_critical);
			db_copy_int_or_null(c, mr->ins_pension);
			db_copy_int_or_null(c, mr->dibao);
			db_copy_int_or_null(c, mr->tekun);
			db_copy_text(c, mr->phone);
			registry_name_initials(mr->name, py, sizeof(py));
			db_copy_text(c, py);
			if (db_copy_row(c) < 0)
				return db_copy_end(c, 1);
			(*n)++;
			if (mr->id <= 0)
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

static int write_all(struct import_state *s)
{
	long done = 0;
	if (db_is_server(s->db))
		return write_all_staged(s);
	db_tune_bulk(s->db);
	if (db_begin(s->db))
		return error("无法开始写入：%s", db_errmsg(s->db));
	for (int g = 0; g < s->nr_groups; g++) {
		struct group *gr = &s->groups[g];
		int64_t hid = gr->db_id;
		int what;
		if (!(g % 256))
			progress(s, IMPORT_PHASE_WRITE, g, s->nr_groups);
		if (gr->bad || !gr->hh.hh_no[0])
			continue;
		if (gr->has_hh) {
			gr->hh.id = gr->db_id ? gr->db_id : -1;
			hid = registry_household_save(s->db, &gr->hh, &what);
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
			struct member_rec *mr = &s->members[m];
			mr->household_id = hid;
			if (registry_member_save(s->db, mr, &what) < 0)
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
	struct csv_reader r;
	struct buf err = BUF_INIT;
	size_t header_start, header_end;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	memset(&r, 0, sizeof(r));
	s.kind = kind;
	s.o = o;
	s.res = res;
	s.db = db;
	s.today = o->today ? o->today : idcard_today();
	buf_init(&s.tmp, 0);

	if (o->data ? csv_open_mem(&r, o->data, o->len, &err) : csv_open_file(&r, path, &err)) {
		buf_addf(&res->report, "%s\n", err.buf);
		goto out;
	}
	header_start = r.pos;
	if (find_header(&s, &r, &err) || check_required(&s, &err)) {
		buf_addf(&res->report, "'%s'：%s\n", path, err.buf);
		rc = 1;
		goto out;
	}
	/* the header row's own bytes start where the previous row ended */
	header_end = r.pos;
	header_start = header_end;
	{
		/* find the start of the header line: scan back over one row */
		size_t p = header_end;
		while (p > 0 && (r.text.buf[p - 1] == '\n' || r.text.buf[p - 1] == '\r'))
			p--;
		while (p > 0 && r.text.buf[p - 1] != '\n')
			p--;
		header_start = p;
	}
	load_counties(&s);
	if (parse_rows(&s, &r, &err)) {
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
	if (res->bad_rows && !o->skip_bad) {
		rc = 1;
		goto out;
	}
	if (o->dry_run) {
		rc = 0;
		goto out;
	}
	if (res->bad_rows && o->reject_path &&
	    write_rejects(&s, &r, r.text.buf + header_start, header_end - header_start))
		goto out;
	rc = write_all(&s) ? -1 : 0;
out:
	csv_release(&r);
	buf_release(&err);
	buf_release(&s.tmp);
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

/* ---- export ----------------------------------------------------------------- */

static void add_code(struct buf *b, const struct code_list *l, int code)
{
	if (code < 0)
		return;
	if (l->multi) {
		struct buf t = BUF_INIT;
		codes_mask_labels(l, code, &t);
		buf_add_csv_field(b, t.buf);
		buf_release(&t);
	} else {
		const char *label = codes_label(l, code);
		buf_add_csv_field(b, label ? label : "");
	}
}

static int flush_out(int fd, struct buf *b)
{
	size_t off = 0;
	while (off < b->len) {
		ssize_t n = write(fd, b->buf + off, b->len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return error("写出失败：%s", strerror(errno));
		}
		off += n;
	}
	buf_reset(b);
	return 0;
}

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

int registry_export(struct db *db, enum import_kind kind, const char *under, int fd)
{
	const enum col_id *layout = kind == IMPORT_MEMBERS ? member_layout : household_layout;
	size_t n = kind == IMPORT_MEMBERS ? ARRAY_SIZE(member_layout) : ARRAY_SIZE(household_layout);
	struct buf out = BUF_INIT;
	struct db_stmt *st;
	char *prefix = xstrfmt("%s%%", under);
	int rc, failed = 0;

	buf_add(&out, "\xef\xbb\xbf", 3); /* Excel opens BOM-marked UTF-8 correctly */
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addch(&out, ',');
		buf_addstr(&out, columns[layout[i]].header);
	}
	buf_addch(&out, '\n');
	if (kind == IMPORT_HOUSEHOLDS)
		st = db_prepare(db,
				"SELECT h.hh_no, h.village_code, h.hh_type, h.address, h.phone, "
				"h.relocated, h.relocation_site, (SELECT name FROM member m WHERE "
				"m.household_id = h.id AND m.relation = 1 LIMIT 1), (SELECT count(*) FROM "
				"member m WHERE m.household_id = h.id), 0 FROM household h WHERE "
				"h.village_code LIKE :prefix ORDER BY h.village_code, h.hh_no");
	else
		st = db_prepare(db,
				"SELECT h.hh_no, h.village_code, h.hh_type, h.address, h.phone, "
				"h.relocated, h.relocation_site, '', 0, m.name, m.id_number, m.relation, "
				"m.sex, m.birth_date, m.ethnicity, m.education, m.school_status, m.health, "
				"m.disability, m.labor_skill, m.work_status, m.ins_resident_med, "
				"m.ins_employee_med, m.ins_critical, m.ins_pension, m.dibao, m.tekun, "
				"m.phone FROM household h JOIN member m ON m.household_id = h.id WHERE "
				"h.village_code LIKE :prefix ORDER BY h.village_code, h.hh_no, m.relation, "
				"m.id");
	db_bind_text(st, ":prefix", prefix);
	while ((rc = db_step(st)) == DB_ROW) {
		struct member_rec m;
		if (kind == IMPORT_MEMBERS)
			read_export_member(st, &m);
		for (size_t i = 0; i < n; i++) {
			if (i)
				buf_addch(&out, ',');
			switch (layout[i]) {
			case C_HH_NO: buf_add_csv_field(&out, db_col_text(st, XC_HH_NO)); break;
			case C_VILLAGE: buf_add_csv_field(&out, db_col_text(st, XC_VILLAGE)); break;
			case C_HH_TYPE:
				add_code(&out, &code_hh_type,
					 db_col_is_null(st, XC_TYPE) ? -1 : (int)db_col_int(st, XC_TYPE));
				break;
			case C_ADDRESS: buf_add_csv_field(&out, db_col_text(st, XC_ADDRESS)); break;
			case C_HH_PHONE: buf_add_csv_field(&out, db_col_text(st, XC_HH_PHONE)); break;
			case C_RELOCATED:
				buf_addstr(&out, db_col_int(st, XC_RELOCATED) ? "是" : "否");
				break;
			case C_SITE: buf_add_csv_field(&out, db_col_text(st, XC_SITE)); break;
			case C_HEAD_NAME: buf_add_csv_field(&out, db_col_text(st, XC_HEAD)); break;
			case C_SIZE: buf_addf(&out, "%lld", (long long)db_col_int(st, XC_SIZE)); break;
			case C_NAME: buf_add_csv_field(&out, m.name); break;
			case C_IDN: buf_addstr(&out, m.id_number); break;
			case C_RELATION: add_code(&out, &code_relation, m.relation); break;
			case C_SEX: add_code(&out, &code_sex, m.sex); break;
			case C_BIRTH: buf_addstr(&out, m.birth_date); break;
			case C_ETHNICITY: add_code(&out, &code_ethnicity, m.ethnicity); break;
			case C_EDUCATION: add_code(&out, &code_education, m.education); break;
			case C_SCHOOL: add_code(&out, &code_school_status, m.school_status); break;
			case C_HEALTH: add_code(&out, &code_health, m.health); break;
			case C_DISABILITY: add_code(&out, &code_disability, m.disability); break;
			case C_LABOR: add_code(&out, &code_labor_skill, m.labor_skill); break;
			case C_WORK: add_code(&out, &code_work_status, m.work_status); break;
			case C_IRM: add_code(&out, &code_yesno, m.ins_resident_med); break;
			case C_IEM: add_code(&out, &code_yesno, m.ins_employee_med); break;
			case C_ICR: add_code(&out, &code_yesno, m.ins_critical); break;
			case C_IPE: add_code(&out, &code_yesno, m.ins_pension); break;
			case C_DIBAO: add_code(&out, &code_yesno, m.dibao); break;
			case C_TEKUN: add_code(&out, &code_yesno, m.tekun); break;
			case C_PHONE: buf_add_csv_field(&out, m.phone); break;
			default: break;
			}
		}
		buf_addch(&out, '\n');
		if (out.len > (1 << 20) && flush_out(fd, &out)) {
			failed = -1;
			break;
		}
	}
	db_done(st);
	if (rc < 0 && !failed)
		failed = error("导出失败：%s", db_errmsg(db));
	if (!failed && flush_out(fd, &out))
		failed = -1;
	buf_release(&out);
	free(prefix);
	return failed ? -1 : 0;
}
