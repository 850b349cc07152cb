/* monitor.h — 防止返贫监测和帮扶: the income ledger and monitoring lines,
 * the working-day calendar, alerts (风险线索) from rules, visits,
 * self-reports and department data, the statutory identification and
 * risk-elimination workflow (识别纳入 / 风险消除), and assistance measures.
 *
 * Money is kept in integer 分 (fen) everywhere; rules and reports show 元. */
#ifndef MONITOR_MONITOR_H
#define MONITOR_MONITOR_H

#include <stdint.h>
#include "base/buf.h"
#include "base/table.h"
#include "db/db.h"
#include "http/http.h"
#include "registry/codes.h"

/* Run every monitor migration (each part owns its tables). */
int monitor_migrate(struct db *db);

/* ==== income ledger, monitoring lines, calendar, measures (income.c, lines.c,
 * calendar.c, measures.c) ==================================================== */

struct code_list;

/* Each part's own migration ("monitor.income", "monitor.lines",
 * "monitor.calendar", "monitor.measures"); monitor_migrate() runs them all. */
int monitor_income_migrate(struct db *db);
int monitor_lines_migrate(struct db *db);
int monitor_calendar_migrate(struct db *db);
int monitor_measures_migrate(struct db *db);

/* ---- dates (calendar.c) ----------------------------------------------------
 * A date is a day number: days since 1970-01-01 in the proleptic Gregorian
 * calendar (negative before 1970).  No time zones are involved anywhere. */

/* Day number of y-m-d (any valid date; m 1..12, d 1..31). */
long monitor_days_from_civil(int y, int m, int d);
/* The date of day number z. */
void monitor_civil_from_days(long z, int *y, int *m, int *d);
/* ISO weekday of day number z: 1 Monday … 7 Sunday. */
int monitor_weekday(long z);
/* Parse exactly "YYYY-MM-DD" (a real date, year 1900..2199) into *day;
 * returns 0, or -1 when malformed or not a date (2025-02-29). */
int monitor_date_parse(const char *s, long *day);
/* Write day number z as "YYYY-MM-DD" into out[11]. */
void monitor_date_format(long z, char out[11]);
/* Today's day number in China (UTC+8 all year; no daylight saving), or
 * the date in $LIUBAO_TODAY (YYYY-MM-DD) when set, for tests and demos. */
long monitor_today(void);

/* ---- working-day calendar (calendar.c) -------------------------------------
 * A day is a working day when the calendar marks it 调休上班, or when it is a
 * Monday..Friday the calendar does not mark 放假.  The DB table work_calendar
 * feeds the in-memory form; the functions below are pure. */

enum cal_kind {
	CAL_HOLIDAY = 1, /* 放假 (also weekend days inside a holiday break) */
	CAL_WORKDAY = 2, /* 调休上班: a weekend day that is worked */
};
/* Labels of enum cal_kind: 1 放假, 2 调休上班. */
extern const struct code_list code_cal_kind;

struct cal_day {
	long day; /* day number */
	int kind; /* enum cal_kind */
};

struct work_calendar {
	struct cal_day *days; /* sorted by day, no duplicates */
	int nr, alloc;
};

void monitor_cal_init(struct work_calendar *c);
void monitor_cal_release(struct work_calendar *c);
/* Mark `day` with `kind` (replacing any mark); kind 0 removes the mark. */
void monitor_cal_set(struct work_calendar *c, long day, int kind);
/* The mark of `day` (enum cal_kind) or 0. */
int monitor_cal_kind(const struct work_calendar *c, long day);
/* 1 if `day` is a working day. */
int monitor_cal_is_workday(const struct work_calendar *c, long day);
/* The deadline `n` working days after `day`: counting starts at the next
 * day, and the n-th working day found is returned (n = 1 gives the first
 * working day after `day`, whatever `day` itself is).  n = 0 returns `day`;
 * n < 0 counts backwards the same way (the |n|-th working day before). */
long monitor_cal_add_workdays(const struct work_calendar *c, long day, int n);
/* Working days in (a, b] — after a, up to and including b — so that
 * workdays_between(a, add_workdays(a, n)) == n for n >= 0.  Negative when
 * b < a (minus the working days in (b, a]). */
long monitor_cal_workdays_between(const struct work_calendar *c, long a, long b);

/* The official 国务院办公厅 schedules shipped with liubao (2024, 2025, 2026):
 * every day of each break marked 放假 and each 调休 working day. */
struct cal_entry {
	const char *date; /* "YYYY-MM-DD" */
	int kind;         /* enum cal_kind */
	const char *name; /* 元旦, 春节, 清明节, 劳动节, 端午节, 中秋节, 国庆节 */
};
struct cal_year_source {
	int year;
	const char *source; /* the notice's title */
};
extern const struct cal_entry monitor_cal_builtin[]; /* ends with date NULL */
extern const struct cal_year_source monitor_cal_builtin_years[]; /* ends with year 0 */
/* Fill `c` with the shipped schedules (for tests and as a fallback). */
void monitor_cal_load_builtin(struct work_calendar *c);
/* Fill `c` from table work_calendar; 0 or -1. */
int monitor_cal_load(struct db *db, struct work_calendar *c);
/* 1 if the table holds the schedule of `year` (work_calendar_year), 0 if
 * not (weekends only are then known), -1 on error. */
int monitor_cal_year_loaded(struct db *db, int year);

/* ---- income ledger (income.c) ----------------------------------------------
 * Per household and calendar year, itemised amounts in 分 (table
 * income_item, each with its 说明), and one summary row per (household,
 * year) kept in step on every write (table income_summary: wage, business,
 * property, transfer, business_cost, claims, rigid, net, hh_size,
 * resident_size, denominator, net_pc, ref, ref_pc) so that screening a
 * county is one indexed join on household.
 *
 * Formulas (brief §1.9):
 *   家庭纯收入 net  = 工资性 + 生产经营性 + 财产性 + 转移性 − 生产经营性支出
 *   人均纯收入 net_pc = net ÷ denominator, rounded to the nearest 分, halves
 *       away from zero; NULL when the denominator is 0.  The denominator is
 *       the household size (户籍人口, members in the registry when saved), or
 *       the co-resident members when setting income.denominator is
 *       "resident" and that count is known (the registry has no co-resident
 *       flag yet: resident_size stays NULL and household size is used).
 *   参考收入 ref = net − 合规自付支出 + 理赔收入 (GUESS — the national field
 *       纳入监测对象的收入参考范围 exists but its formula was not found; this
 *       follows "扣除刚性支出后家庭收入", with insurance payouts offsetting the
 *       spending they reimbursed; a payout is recorded as 理赔收入 and not
 *       also as a 转移性 item), ref_pc = ref ÷ denominator as above.
 * Comparisons with the monitoring line use the rounded per-capita figure,
 * the one users see: below when net_pc < line. */

enum income_category {
	INCOME_WAGE = 1,          /* 工资性收入 */
	INCOME_BUSINESS = 2,      /* 生产经营性收入 */
	INCOME_PROPERTY = 3,      /* 财产性收入 */
	INCOME_TRANSFER = 4,      /* 转移性收入 */
	INCOME_BUSINESS_COST = 5, /* 生产经营性支出 */
	INCOME_CLAIMS = 6,        /* 理赔收入 */
	INCOME_RIGID = 7,         /* 合规自付支出 */
};
/* The categories above, and the items: code = category * 100 + n, labels
 * unique across the list (务工收入, 种植业收入, 低保金, 退耕还林补贴…). */
extern const struct code_list code_income_category;
extern const struct code_list code_income_item;
#define INCOME_ITEM_CATEGORY(code) ((code) / 100)
/* The sub-total an item belongs to inside its category ("生态补偿金",
 * "其他转移性收入"), or NULL. */
const char *monitor_income_group(int item);

/* Largest amount of one item, 分 (100 million 元): keeps sums in range. */
#define INCOME_AMOUNT_MAX 10000000000LL

struct income_totals {
	int64_t wage, business, property, transfer; /* the four income categories, 分 */
	int64_t business_cost;                      /* 生产经营性支出 */
	int64_t claims;                             /* 理赔收入 */
	int64_t rigid;                              /* 合规自付支出 */
};

struct income_figures {
	int64_t net;          /* 家庭纯收入 */
	int64_t ref;          /* 参考收入 */
	int persons;          /* the denominator used */
	int has_pc;           /* 0 when persons <= 0: per-capita figures unknown */
	int64_t net_pc;       /* 人均纯收入 */
	int64_t ref_pc;       /* 人均参考收入 */
};

/* Add `amount` of item `item` to the totals of its category (unknown
 * categories are ignored). */
void monitor_income_add(struct income_totals *t, int item, int64_t amount);
int64_t monitor_income_net(const struct income_totals *t);
int64_t monitor_income_ref(const struct income_totals *t);
/* amount ÷ persons rounded to the nearest 分, halves away from zero, into
 * *out; returns 0, or -1 (out untouched) when persons <= 0. */
int monitor_per_capita(int64_t amount, int persons, int64_t *out);
/* All derived figures for `persons` people. */
void monitor_income_figures(const struct income_totals *t, int persons, struct income_figures *f);

/* The identification period: the 12 months before the month of
 * identification ("以识别月份的上年当月初为始点，上月末为终点").  Ledgers are
 * kept per calendar year, so the period is approximated by the ledgers of
 * the years it touches, each weighted by its months in the period: for
 * identification in month m of year y, year y-1 counts 13-m months and year
 * y counts m-1 (January: all of y-1).  Fills out[] (year, months) with one
 * or two spans and returns how many; -1 for a bad month. */
struct ident_span {
	int year;
	int months; /* 1..12 */
};
int monitor_ident_spans(int year, int month, struct ident_span out[2]);
/* Σ totals_i × months_i / 12 per field, each rounded to the nearest 分. */
void monitor_ident_totals(const struct income_totals *t, const struct ident_span *s, int n,
			  struct income_totals *out);

/* One stored item. */
struct income_entry {
	int item;       /* code_income_item */
	int64_t amount; /* 分, 0..INCOME_AMOUNT_MAX */
	const char *note; /* 说明, borrowed */
};

/* How per-capita income is divided (setting income.denominator). */
enum income_denominator {
	DENOM_HOUSEHOLD = 0, /* 户籍人口 (default) */
	DENOM_RESIDENT = 1,  /* 共同生活人口 */
};
extern const struct code_list code_income_denominator;
/* The current setting, DENOM_HOUSEHOLD when unset; -1 on error. */
int monitor_income_denominator(struct db *db);
/* Change the setting and recompute every summary row's denominator and
 * per-capita figures (caller's transaction).  0 or -1. */
int monitor_income_set_denominator(struct db *db, int denom);

/* Replace the ledger of (household, year) by `n` entries and rewrite its
 * summary row (household size counted now), in the caller's transaction.
 * Item codes must be valid and distinct.  0 or -1 (db_errmsg). */
int monitor_income_save(struct db *db, int64_t household_id, int year,
			const struct income_entry *e, int n);
/* The income ledger from a file (income_import.c): CSV or .xlsx, one row
 * per item (户编号, 年度, 收入项目, 金额（元）, 说明), title rows allowed.
 * Every row is checked first; nothing is written when one is bad.  Each
 * (household, year) the file names gets exactly its items, in one
 * transaction.  Returns 0 (written, or checked when dry_run), 1 when rows
 * are bad (listed in r->text), -1 when the file cannot be read (r->text). */
struct income_import_report {
	long rows, bad_rows, problems; /* data rows, bad rows, problems found */
	long ledgers, items;           /* (household, year) ledgers and items in the file */
	long unchanged;                /* ledgers already exactly as the file has them */
	struct buf text;               /* the problems, one line each (caller inits) */
};
int monitor_income_import(struct db *db, const char *data, size_t len, int dry_run,
			  struct income_import_report *r);

/* Lower-level writers used by the save and by the demo generator: one item
 * row (insert only), and the summary row (upsert) for `hh_size` members,
 * `resident_size` co-resident members (-1 unknown) and denominator setting
 * `denom`.  Return 0 or a negative db_step_result. */
int monitor_income_put_item(struct db *db, int64_t household_id, int year,
			    const struct income_entry *e);
int monitor_income_put_summary(struct db *db, int64_t household_id, int year,
			       const struct income_totals *t, int hh_size, int resident_size,
			       int denom);
/* Bulk form of monitor_income_put_summary for a db_copy over table
 * income_summary opened with monitor_income_summary_columns; `now` is the
 * UTC text stored as updated_at.  Returns db_copy_row()'s result. */
extern const char monitor_income_summary_columns[];
int monitor_income_copy_summary(struct db_copy *c, int64_t household_id, int year,
				const struct income_totals *t, int hh_size, int resident_size,
				int denom, const char *now);
/* Read the summary of (household, year): 1 found (fields filled), 0 none,
 * -1 error.  *persons is the stored denominator. */
int monitor_income_summary(struct db *db, int64_t household_id, int year,
			   struct income_totals *t, int *persons);

/* A key-value setting of the monitor module (table monitor_setting); value
 * copied into out (n bytes), "" when unset.  0 or -1. */
int monitor_setting_get(struct db *db, const char *key, char *out, size_t n);
int monitor_setting_put(struct db *db, const char *key, const char *value);

/* ---- monitoring lines (lines.c) --------------------------------------------
 * Table monitor_line: one amount (分 per person per year) per (year, region
 * prefix): '' national, 2 digits province, 4 city, 6 county, 9 township.
 * The line for a household is the row of its year whose prefix is the
 * longest prefix of the household's village code. */

struct monitor_line {
	int64_t id;
	int year;
	char region[13];    /* prefix, "" national */
	int64_t amount;     /* 分 per person per year */
	char basis[256];    /* 依据 */
	char source[256];   /* 来源文件 */
	int assumed;        /* 1 = demo/assumed figure, must be checked */
};

/* The line applying to village `code` (12 digits) in `year`: 1 found, 0
 * none configured, -1 error. */
int monitor_line_lookup(struct db *db, const char *code, int year, struct monitor_line *out);
/* Store the assumed 陕西 lines for 2022–2026 used by the demo (skipping
 * years already set).  0 or -1. */
int monitor_demo_lines(struct db *db);

/* ---- measures (measures.c) ---------------------------------------------------
 * The 14 national measure categories (code tables 100A39…100A55, stored as
 * 39…55) and their items (code = category * 100 + n), per-household measures
 * (table measure) and the 一户一策 plan per household and year (help_plan). */

extern const struct code_list code_measure_category;
/* Items of category `cat`, or NULL for an unknown category. */
const struct code_list *monitor_measure_items(int cat);
/* The national code table name of a category, e.g. "100A39" (static). */
const char *monitor_measure_table(int cat);
/* 1 for the 开发式 categories: 产业, 就业, 金融, 公益岗位帮扶. */
int monitor_measure_is_development(int cat);
/* 实施开发式帮扶措施情况 (dm_bfcsqk): 1 已实施, 2 尚未实施. */
extern const struct code_list code_measure_dev_status;

/* ---- demo data (ledger_demo.c) ---------------------------------------------- */

/* Plausible itemised incomes for every household under `county` for each
 * year year_from..year_to, deterministic in `seed` and the household id (a
 * household gets the same figures whatever else is in the database): 务工
 * for migrant workers, 种植/养殖/林果 and 采摘 at home, 公益岗, 低保金, 特困
 * 供养金, 养老金 for the elderly, 生态补偿, and large 合规自付支出 for some
 * serious illnesses; about 3–8% of households fall below the demo lines.
 * Also stores the demo monitoring lines.  One transaction.  0 or -1. */
int monitor_demo_incomes(struct db *db, const char *county, int year_from, int year_to,
			 uint64_t seed);

/* ==== alerts, cases, visits, screening (alert.c, case.c, screen.c) ========== */

/* Channels an alert (风险线索) arrives through. */
enum alert_channel {
	ALERT_RULE = 1,  /* 系统规则筛查 */
	ALERT_VISIT = 2, /* 干部走访 */
	ALERT_SELF = 3,  /* 农户自主申报 */
	ALERT_DEPT = 4,  /* 部门数据 */
};

/* One piece of evidence for an alert. */
struct alert_evidence {
	int64_t household_id;
	enum alert_channel channel;
	const char *source;       /* rule id, "visit:12", feed name… */
	int source_version;       /* rule version, 0 if none */
	const char *risk_types;   /* suggested risk-type codes, comma-separated, may be "" */
	const char *explain;      /* Chinese, why it fired */
	int64_t created_by;       /* user id, 0 for the system */
};

/* Attach evidence to the household's open alert, creating the alert when
 * none is open (duplicates are merged, never repeated: the same source and
 * explanation on the same open alert is not added twice).  Runs inside the
 * caller's transaction.  Returns the alert id, or -1. */
int64_t monitor_alert_add(struct db *db, const struct alert_evidence *e);
/* monitor_alert_add() for each of ev[0..n-1] in turn, with the same result,
 * in a fixed number of statements (screening raises tens of thousands).
 * Runs inside the caller's transaction (it must be one: new alert ids are
 * reserved with db_next_ids).  0 or -1. */
int monitor_alert_add_many(struct db *db, const struct alert_evidence *ev, long n);

/* Risk types (风险类型, brief §1.4) and monitored-household categories. */
extern const struct code_list code_risk_type;
extern const struct code_list code_monitor_category;

/* Comma-separated risk-type codes as a bitmask: bit i = item i of
 * code_risk_type (what the rule language's 风险类型 set field reads). */
int64_t monitor_risk_mask(const char *codes);

/* Case kinds and their steps. */
enum case_kind { CASE_IDENTIFY = 1, CASE_ELIMINATE = 2 };

struct case_step_def {
	int step;               /* 1, 2, … within the kind */
	const char *title;      /* 入户核查 */
	const char *role;       /* role id that acts on it (auth/roles.c) */
	int limit_workdays;     /* time limit in working days, 0 = none */
	int min_days;           /* minimum calendar days before it may advance (公示 ≥ 5) */
	const char *const *required; /* record fields required to advance, NULL-terminated */
};
/* The steps of `kind`; *n receives their count. */
const struct case_step_def *monitor_case_steps(enum case_kind kind, int *n);

/* Today's date as YYYY-MM-DD (monitor_today() as text). */
void monitor_today_text(char out[11]);
/* "red", "yellow" or "green" for a step due on `due` seen on `today`. */
const char *monitor_light(struct db *db, const char *due, const char *today);
/* The same without the database, for lists: `warn_day` is the first
 * working day after `today` (monitor_light_warn_day(), computed once per
 * request); yellow when due on a day from today to warn_day. */
void monitor_light_warn_day(struct db *db, const char *today, char out[11]);
const char *monitor_light_at(const char *due, const char *today, const char *warn_day);

struct case_rec {
	int64_t id, household_id;
	int kind;            /* enum case_kind */
	int step;            /* current step */
	char state[12];      /* active | done | rejected */
	char opened_at[11], step_started[11], step_due[11], total_due[11];
	char elim_mode[16];  /* 帮扶消除 | 自然消除 */
	char closed_at[11];
	int64_t alert_id;
};
int monitor_case_migrate(struct db *db);
/* 1 found, 0 not, -1 error. */
int monitor_case_load(struct db *db, int64_t id, struct case_rec *c);
/* Open a case for a household (the caller checked scope).  Identification
 * needs the first step's role and no monitoring yet; elimination needs
 * monitor_elimination_check() to pass.  Returns the id, or -1 with a
 * Chinese reason in err and an HTTP status in *status. */
int64_t monitor_case_open(struct db *db, int64_t household_id, enum case_kind kind,
			  int64_t alert_id, const char *elim_mode, const struct principal *p,
			  struct buf *err, int *status);
/* Act on the current step: "advance" (with the step's required record),
 * "return" (to the previous step, record.reason) or "reject" (record.reason).
 * Only the step's role may act.  0, or -1 with err and *status. */
int monitor_case_act(struct db *db, struct case_rec *c, const char *action, json_t *record,
		     const struct principal *p, struct buf *err, int *status);
/* The conditions for risk elimination (brief §1.8) that `household_id`
 * fails on `today`, as Chinese text joined by "；" into why; returns how many. */
int monitor_elimination_check(struct db *db, int64_t household_id, const char *today,
			      struct buf *why);

/* ---- one household's monitoring, shared by the API and the pages (household.c) ----
 * The callers check region scope before calling any of these. */

/* Why a write was refused: HTTP status (422 bad input, 500 database), a
 * stable error code (E_BAD_DATE, E_REQUIRED, E_BAD_CODE…), the input field at
 * fault (NULL if none) and a Chinese message saying what to do. */
struct monitor_refusal {
	int status;
	const char *code;
	const char *field;
	struct buf message;
};
void monitor_refusal_init(struct monitor_refusal *r);
void monitor_refusal_release(struct monitor_refusal *r);

/* Longest note of a visit or self-report, bytes (about 600 Chinese characters). */
#define MONITOR_NOTE_MAX 2000

/* Risk-type labels (at most 5, each in code_risk_type) as comma-separated
 * codes appended to out; 0, or -1 with the refusal filled. */
int monitor_risk_codes(const char *const *labels, int n, struct buf *out,
		       struct monitor_refusal *why);
/* The date `n` working days after `date` (YYYY-MM-DD) into out[11]. */
void monitor_deadline(struct db *db, const char *date, int n, char out[11]);

struct monitor_status {
	int state;             /* 0 未纳入监测, 1 监测中, 2 已消除风险 */
	int category;          /* code_monitor_category when state > 0 */
	char risk_types[64];   /* comma-separated code_risk_type codes */
	char identified_on[11], eliminated_on[11];
	char contact_name[64], contact_phone[24];
	char elim_mode[16];
	int64_t active_case;   /* the active case's id, 0 if none */
	int64_t open_alert;    /* the newest open alert's id, 0 if none */
};
/* The household's monitoring status; 0 or -1. */
int monitor_status_load(struct db *db, int64_t household_id, struct monitor_status *out);
/* 未纳入监测 / 监测中 / 已消除风险. */
const char *monitor_status_title(const struct monitor_status *s);

/* One line of a household's timeline. */
struct monitor_event {
	char at[20];   /* UTC "YYYY-MM-DD HH:MM:SS" */
	char kind[16]; /* 线索, 识别纳入, 风险消除, 走访, 帮扶措施, 收入核算 */
	char *detail;  /* Chinese, from xmalloc() */
};
/* Alert evidence, case steps, visits, measures and income summaries of the
 * household, oldest first (ties by kind, then detail), into *ev (grown; free
 * with monitor_events_free()).  Returns the count or -1. */
int monitor_timeline(struct db *db, int64_t household_id, struct monitor_event **ev, int *alloc);
void monitor_events_free(struct monitor_event *ev, int n);

struct visit_input {
	const char *visit_date; /* YYYY-MM-DD, not after today */
	const char *note;       /* 走访情况, 1..MONITOR_NOTE_MAX bytes */
	int risk_found;         /* 发现风险: adds evidence to the household's alert */
	const char *risk_types; /* comma-separated codes (monitor_risk_codes), may be "" */
};
/* Validate and record a visit by `p` in the caller's transaction; a risk
 * found adds alert evidence (channel 干部走访).  Returns the visit id, or -1
 * with the refusal filled (nothing written that the caller must keep). */
int64_t monitor_visit_add(struct db *db, int64_t household_id, const struct visit_input *v,
			  const struct principal *p, struct monitor_refusal *why);

struct application_input {
	const char *reason;     /* 申报事由, 1..MONITOR_NOTE_MAX bytes */
	const char *applied_on; /* YYYY-MM-DD not after today, NULL or "" = today */
	const char *risk_types; /* comma-separated codes, may be "" */
};
/* Record a 农户自主申报 entered by `p` as alert evidence (channel 农户自主
 * 申报) in the caller's transaction.  Returns the alert id or -1 + refusal. */
int64_t monitor_application_add(struct db *db, int64_t household_id,
				const struct application_input *a, const struct principal *p,
				struct monitor_refusal *why);

/* One task of a region's list: a case step to act on, or an open 线索
 * awaiting 入户核实 (due 3 working days after it was raised). */
struct monitor_task {
	int64_t household_id;
	char hh_no[33], head_name[64], village_name[128];
	int64_t case_id;   /* 0 for a 线索 */
	int64_t alert_id;  /* 0 for a case step */
	char what[96];     /* "识别纳入 · 第1环节 入户核查", "风险线索待入户核实" */
	char role[32];     /* role id that acts on it */
	char due[11];      /* YYYY-MM-DD, "" when the step has no time limit */
	const char *light; /* "red", "yellow" or "green", as monitor_light() */
	int mine;          /* `role` passed to monitor_tasks() acts on it */
};
#define MONITOR_TASKS_MAX 2000
/* The tasks under region prefix `scope`: red first, then yellow, green, by
 * deadline, then case and alert id (the MONITOR_TASKS_MAX with the earliest
 * deadlines when there are more).  `role` marks the tasks
 * that role acts on.  Returns the count (into *tasks, grown; the caller
 * frees) or -1. */
int monitor_tasks(struct db *db, const char *scope, const char *role,
		  struct monitor_task **tasks, int *alloc);

/* ---- rules and screening (screen.c) ---------------------------------------- */
struct rule;
struct rule_result;
struct rule_catalog;
int monitor_rules_migrate(struct db *db);
/* Install the rules shipped from the brief (version 1) that are missing. */
int monitor_rules_install(struct db *db);
/* The catalogue of household, income, monitoring and member fields. */
const struct rule_catalog *monitor_rule_catalog(void);
/* Evaluate compiled rule `r` on one household for `year` (the evaluation
 * path: values read through the catalogue's SQL, logic in C).  0 or -1. */
int monitor_rule_eval_household(struct db *db, const struct rule *r, int64_t household_id,
				int year, struct rule_result *res);
struct monitor_screen_report {
	int64_t run_id;
	int rules, failed; /* rules run; rules that did not compile */
	long hits, alerts; /* hits stored; new evidence added to alerts */
	double seconds;
	struct buf text;   /* one line per rule (Chinese); caller releases */
};
/* Screen every household under region prefix `under` with the current
 * version of every enabled rule (its own transaction): store hits with
 * rule id, version and explanation; risk rules add alert evidence for
 * households not already monitored.  0 or -1. */
enum { SCREEN_PROGRESS = 1, /* progress on stderr */
       SCREEN_DRY_RUN = 2 };  /* run and count only: store nothing (benchmarks) */
int monitor_screen(struct db *db, const char *under, int year, const char *by,
		   struct monitor_screen_report *rep, int flags);
/* Evaluate the household-scope rules on one household (after a form is
 * saved), adding alert evidence for risk rules that fire; *fired counts
 * them.  Runs in the caller's transaction.  0 or -1. */
int monitor_screen_household(struct db *db, int64_t household_id, int year, long *fired);
/* Run every household-scope rule both ways over the region (evaluation in C
 * and the compiled SQL) and compare hits and explanations; a line per rule
 * goes to `report`.  Returns the number of disagreements. */
long monitor_rules_crosscheck(struct db *db, const char *under, int year, struct buf *report);
/* The SQL the current version of rule `id` screens with, into out; 0 or -1. */
int monitor_rule_sql_text(struct db *db, const char *id, const char *under, struct buf *out);
/* The demo district's monitoring data (case_demo.c): a screening for
 * `year`, monitored households with measures and 三保障 records, some out of
 * risk, and identification cases at every step.  0 or -1. */
int monitor_demo_cases(struct db *db, const char *county, int year, uint64_t seed);
extern const struct route monitor_rule_routes[];

/* ---- exports (export.c) -------------------------------------------------------- */

/* The monitoring lists that export as Excel or CSV. */
enum monitor_export {
	MONITOR_EXPORT_MONITORED = 1, /* 监测对象 (table monitored) */
	MONITOR_EXPORT_MEASURES = 2,  /* 帮扶措施 */
	MONITOR_EXPORT_ALERTS = 3,    /* 风险线索 */
	MONITOR_EXPORT_FINDINGS = 4,  /* 数据质量疑点 (open findings of `liubao check`) */
	MONITOR_EXPORT_FEED_HITS = 5, /* 部门数据预警 and the village's answers */
};
/* The list named "monitored", "measures", "alerts", "findings" or
 * "feed-hits", or -1. */
int monitor_export_list(const char *name);
/* Write list `list` under region prefix `under` ("" = all) as CSV or xlsx to
 * `fd`, or (fd < 0) append it to `out`; the head's 身份证号 and phone
 * numbers masked when `masked`.  *rows (may be NULL) receives the rows
 * written.  0, or -1 with a Chinese message in err. */
int monitor_export_to(struct db *db, enum monitor_export list, enum table_format fmt,
		      const char *under, int masked, int fd, struct buf *out, long *rows,
		      struct buf *err);
extern const struct route monitor_export_routes[];

/* ---- county announcements (notice.c) -----------------------------------------
 * A 公告 lists cases approved at the county step, one per township and
 * kind; tables case_notice and case_notice_item (a case is announced once). */
int monitor_notice_migrate(struct db *db);

/* HTTP routes of the monitor module, NULL-terminated tables. */
extern const struct route monitor_ledger_routes[];
extern const struct route monitor_case_routes[];
extern const struct route monitor_notice_routes[];

#endif
