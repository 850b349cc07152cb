/* feed_int.h — what the files of the feed part of the screen module share
 * (feed_def.c, feed_load.c, feed_api.c, feed_demo.c); not a public header:
 * other modules use screen.h. */
#ifndef SCREEN_FEED_INT_H
#define SCREEN_FEED_INT_H

#include <jansson.h>

#include "base/buf.h"
#include "rules/rules.h"
#include "screen/screen.h"

#define FEED_MAX_COLS 40

enum feed_col_type {
	FEED_ID = 1, /* 身份证号: the matching key */
	FEED_NAME,   /* 姓名: compared with the registry */
	FEED_NUM,    /* amount: summed per person (and its largest single row) */
	FEED_DATE,   /* date: the latest per person */
	FEED_TEXT,   /* text: the last row's value per person */
};

struct feed_column {
	char name[32];       /* English id, e.g. self_pay */
	char title[64];      /* Chinese header, e.g. 个人自付 */
	char aliases[256];   /* other header texts, '|'-separated */
	int type;            /* enum feed_col_type */
	int required;        /* every row must have a value */
	char max_name[40];   /* "<name>_max" for FEED_NUM */
	char max_title[80];  /* "单笔最高<title>" */
};

struct feed_param {
	char name[32];   /* written $name in rules */
	char title[64];  /* Chinese */
	char basis[256]; /* 依据 */
	double value;    /* the shipped default */
	char sql[36];    /* ":name", the catalogue's SQL parameter */
};

struct feed_rule {
	char id[32];
	int version;
	char title[128];
	char severity[8];     /* 高 中 低 */
	char risk_types[64];  /* code_risk_type codes, comma-separated */
	char expression[2048];
	int enabled;
	struct rule *compiled; /* against the feed's catalogue, or NULL */
};

/* Where a catalogue field's value comes from. */
enum feed_field_kind {
	FS_AGE = 1, FS_SEX, FS_TUOPIN, FS_MONITORED, FS_HH_TYPE, FS_DIBAO, FS_TEKUN, FS_ROWS,
	FS_COL,     /* column `index`: sum / latest date / last text */
	FS_COL_MAX, /* column `index`: largest single value */
	FS_PARAM,   /* parameter `index` */
};
struct feed_field_src {
	int kind;  /* enum feed_field_kind */
	int index; /* column or parameter */
};

struct feed_def {
	char id[32];
	int version;
	char title[128];
	char department[64];
	char cadence[64];
	int accumulate;  /* 1: rules see totals over the year's batches */
	int verify_days; /* working days the village has to verify a hit */
	int enabled;
	struct feed_column cols[FEED_MAX_COLS];
	int nr_cols;
	int id_col, name_col; /* name_col -1 when the feed has no name */
	struct feed_param *params;
	int nr_params;
	struct feed_rule *rules;
	int nr_rules;
	/* the rules' catalogue */
	struct rule_field *fields;
	struct feed_field_src *field_of; /* parallel to fields */
	struct rule_catalog catalog;
	double *param_values;
};

/* Parse and check a definition (JSON text) and compile its rules; 0, or -1
 * with a Chinese message in err (d is then released). */
int feed_def_parse(const char *json_text, struct feed_def *d, struct buf *err);
void feed_def_release(struct feed_def *d);
/* The latest version of feed `feed_id` with the latest version of each of
 * its stored rules, compiled; 0 or -1 (err). */
int feed_def_load(struct db *db, const char *feed_id, struct feed_def *d, struct buf *err);
/* Fill r (not compiled) from a JSON rule object {id, title, severity,
 * risk_types, expression, enabled}; 0 or -1 (err). */
int feed_rule_from_json(json_t *o, struct feed_rule *r, struct buf *err);
/* Compile r against d's catalogue; 0 or -1 (err). */
int feed_rule_compile(struct feed_def *d, struct feed_rule *r, struct buf *err);
/* Store r as the next version of its id; returns the version or -1. */
int feed_rule_store(struct db *db, const char *feed_id, const struct feed_rule *r, const char *by);
/* The latest stored version of a rule: 1 found, 0 none, -1 error. */
int feed_rule_latest(struct db *db, const char *feed_id, const char *rule_id, struct feed_rule *r);
/* Thresholds for a household of `village` in `year` (newest year <= year,
 * then the longest region prefix; the shipped default otherwise), one per
 * d->params, into values. */
int feed_params_for(struct db *db, const struct feed_def *d, const char *village, int year,
		    double *values);
const char *feed_type_name(int type);
/* Chinese name of an enum feed_issue_kind: 无效行, 查无此人… */
const char *feed_issue_kind_name(int kind);

#endif
