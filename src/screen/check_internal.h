/* check_internal.h — what the files of the data-quality checks share
 * (check.c: tables, catalogue, runs and findings; check_pass.c: the pass
 * over households and members and the built-in checks; check_api.c: the
 * routes; check_demo.c: the demo's errors).  Private to src/screen: other
 * modules use screen.h. */
#ifndef SCREEN_CHECK_INTERNAL_H
#define SCREEN_CHECK_INTERNAL_H

#include <stdint.h>

#include "base/buf.h"
#include "db/db.h"
#include "rules/rules.h"

enum check_kind {
	CHECK_RULE = 1,	   /* an expression in the rule language */
	CHECK_BUILTIN = 2, /* a named check written in C or SQL */
};

/* The groups of brief §2.3, as stored in check_def.grp. */
struct check_group {
	const char *id;	   /* "identity" */
	const char *title; /* "身份信息" */
};
extern const struct check_group check_groups[]; /* ends with id NULL */
/* The Chinese title of group `id`, or NULL. */
const char *check_group_title(const char *id);

/* The built-in checks.  Those with `sql` set run as a query of their own
 * (they compare a household with the whole registry); the others run in
 * the pass, on one household and its members at a time. */
enum check_builtin {
	BI_ID_CHECKSUM,	   /* 身份证号校验位 */
	BI_ID_FORMAT,	   /* 身份证号长度、字符、地址码、日期、规范化 */
	BI_ID_PLACEHOLDER, /* 999999… / 000000… */
	BI_ID_MISMATCH,	   /* 性别、出生日期与身份证号不符 */
	BI_DUP_IN_HH,	   /* 同户重复登记 */
	BI_DUP_PERSON,	   /* 多户重复登记 (SQL) */
	BI_SHARED_PHONE,   /* 户联系电话与他户相同 (SQL) */
	BI_NO_HEAD,
	BI_MULTI_HEAD,
	BI_MULTI_SPOUSE,
	BI_SPOUSE_SEX,
	BI_RELATION_SEX,
	BI_CODE_RELATION,
	BI_CODE_ETHNICITY,
	BI_CODE_EDUCATION,
	BI_CODE_SCHOOL,
	BI_CODE_HEALTH,
	BI_CODE_DISABILITY,
	BI_CODE_LABOR,
	BI_CODE_WORK,
	BI_CODE_HH_TYPE,
	BI_NAME,	    /* 姓名 */
	BI_HH_PHONE,	    /* 户联系电话格式 */
	BI_MEMBER_PHONE,    /* 成员联系电话格式 */
	NR_BUILTINS
};
struct check_builtin_def {
	const char *name; /* as stored in check_def.expression */
	int scope;	  /* RULE_HOUSEHOLD or RULE_MEMBER */
	int sql;	  /* 1: runs as a query of its own */
};
extern const struct check_builtin_def check_builtins[NR_BUILTINS];
/* The builtin named `name`, or -1. */
int check_builtin_find(const char *name);

/* The catalogue of fields checks may use: the monitoring rules' catalogue
 * (monitor_rule_catalog()) followed by a few more registry, monitoring and
 * measure fields.  Built once; read-only afterwards. */
const struct rule_catalog *check_catalog(void);

/* One check as loaded for a run. */
struct check_def {
	char id[16];
	int version;
	char grp[16];
	char severity[8];
	int scope;	   /* RULE_HOUSEHOLD / RULE_MEMBER */
	int kind;	   /* enum check_kind */
	char title[256];
	char *expr;	   /* the expression or the builtin's name (owned) */
	int enabled;
	struct rule *rule; /* compiled, for CHECK_RULE; NULL if it did not compile */
	int builtin;	   /* enum check_builtin, or -1 */
	int run;	   /* evaluated by this run */
	int covered;	   /* in the run's group and not failed: findings not seen close */
	long hits;	   /* found by this run */
	double millis;	   /* time of its own query (SQL builtins) */
};

/* One hit of a run. */
struct check_hit {
	int check;	/* index into the run's defs */
	int64_t hh;	/* household id */
	int64_t member; /* member id, 0 for a household finding */
	char *why;	/* Chinese explanation (owned) */
};
struct check_hits {
	struct check_hit *v;
	long n, alloc;
};
void check_hits_add(struct check_hits *h, int check, int64_t hh, int64_t member, const char *why);
void check_hits_release(struct check_hits *h);

/* Evaluate the defs marked `run` over the households under `under` (""
 * all) for `year` on `today` (YYYY-MM-DD): the pass over households and
 * members and the SQL built-ins, on up to `threads` read connections of
 * their own (the caller's connection alone when it is inside a
 * transaction).  Appends hits to `out` in no particular order.  0, or -1
 * with the reason in err. */
int check_evaluate(struct db *db, struct check_def *defs, int n, const char *under, int year,
		   const char *today, int threads, struct check_hits *out, struct buf *err);

#endif
