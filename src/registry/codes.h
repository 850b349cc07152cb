/* codes.h — the national code lists used by the registry (brief §1.9),
 * stored as data: each list has stable integer codes and the Chinese labels
 * the national system and the county ledgers use.  Labels are what users see
 * and what CSV files carry; the database stores the integer code.  The lists
 * are also written into the code_item table by the registry migration so
 * that SQL reports can join them. */
#ifndef REGISTRY_CODES_H
#define REGISTRY_CODES_H

struct code_item {
	int code;          /* stable code stored in the database */
	const char *label; /* Chinese label, exactly as in the national lists */
	int sex;           /* for 与户主关系: implied sex (1 男, 2 女) or 0 */
};

struct code_list {
	const char *name;  /* identifier used in code and JSON, e.g. "relation" */
	const char *title; /* Chinese name of the list, e.g. "与户主关系" */
	const struct code_item *items;
	int nr_items;
	int multi;         /* 1 if several values may be combined (健康状况): a bitmask of 1<<code */
};

extern const struct code_list code_sex;           /* 性别 */
extern const struct code_list code_relation;      /* 与户主关系 */
extern const struct code_list code_ethnicity;     /* 民族 (GB 3304) */
extern const struct code_list code_education;     /* 文化程度 */
extern const struct code_list code_school_status; /* 在校生状况 */
extern const struct code_list code_health;        /* 健康状况 (multi) */
extern const struct code_list code_disability;    /* 残疾类别 */
extern const struct code_list code_labor_skill;   /* 劳动技能 */
extern const struct code_list code_work_status;   /* 务工状况 */
extern const struct code_list code_hh_type;       /* 户类型 */
extern const struct code_list code_yesno;         /* 是/否 */

/* All lists, NULL-terminated. */
extern const struct code_list *const code_lists[];

/* The list named `name`, or NULL. */
const struct code_list *codes_find(const char *name);
/* The code for `label` (leading/trailing ASCII and full-width spaces ignored),
 * or -1.  For a multi list, `label` may hold several labels separated by
 * ',', '，', '、', ';' or '；' and the result is the bitmask; -1 if any part
 * is unknown. */
int codes_lookup(const struct code_list *l, const char *label);
/* The label for `code`, or NULL if unknown.  Not for multi lists. */
const char *codes_label(const struct code_list *l, int code);
/* The item for `code`, or NULL. */
const struct code_item *codes_item(const struct code_list *l, int code);
/* Write the labels of a multi-list bitmask, joined by ',', into `out`. */
struct buf;
void codes_mask_labels(const struct code_list *l, int mask, struct buf *out);
/* The valid label closest to `label` (by edit distance on characters), for
 * "did you mean" messages, or NULL if nothing is reasonably close. */
const char *codes_suggest(const struct code_list *l, const char *label);

/* Well-known codes referred to by logic. */
enum {
	SEX_MALE = 1,
	SEX_FEMALE = 2,
	REL_HEAD = 1,   /* 户主 */
	REL_SPOUSE = 2, /* 配偶 */
	HEALTH_HEALTHY = 0,  /* 健康 (bit 0) */
	HEALTH_CHRONIC = 1,  /* 长期慢性病 */
	HEALTH_SERIOUS = 2,  /* 患有大病 */
	HEALTH_DISABLED = 3, /* 残疾 */
};

#endif
