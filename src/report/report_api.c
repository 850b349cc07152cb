/* report_api.c — the aggregate JSON API behind the leaders' dashboard
 * (GET /api/v1/report/...): for one region (the caller's scope by default,
 * drilled down county → township → village) its totals and the same figures
 * for each of its child regions, read from the precomputed summary
 * (report.c), plus the workflow cases counted live.  Every answer holds
 * counts and region names only: nothing about a person or a household. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "base/jw.h"
#include "base/util.h"
#include "monitor/monitor.h"
#include "registry/codes.h"
#include "registry/registry.h"
#include "report/report.h"

#define MAX_MONTHS 36
#define NR_CATEGORIES 3 /* code_monitor_category: 1..3 */
#define MAX_STEPS 16    /* identification steps, then elimination steps */
#define MAX_RISKS 32
#define MAX_MEASURE_CATS 32

/* The figures of one region. */
struct agg {
	int64_t households;
	int64_t mon[3][NR_CATEGORIES + 1];     /* [enum report_status][category] households */
	int64_t persons[3][NR_CATEGORIES + 1]; /* the same in persons */
	int64_t risk[MAX_RISKS][3];            /* [index in code_risk_type][status] */
	int64_t alerts_open, alerts_month;
	int64_t channel[ALERT_DEPT + 1];       /* alerts of this month per channel */
	int64_t measures[MAX_MEASURE_CATS][3]; /* [index in code_measure_category]: n, hh, 分 */
	int64_t trend_new[MAX_MONTHS], trend_elim[MAX_MONTHS], trend_alerts[MAX_MONTHS];
	int64_t active[MAX_STEPS], overdue[MAX_STEPS], due_soon[MAX_STEPS]; /* cases per step */
};

struct region_ref {
	char code[13];   /* 12-digit code ("" for everything) */
	char prefix[13]; /* its prefix: trailing zero levels dropped */
	char name[128];
	int level;       /* enum region_level, 0 for everything */
};

/* Everything one report is made of. */
struct report_ctx {
	struct db *db;
	const char *scope;
	struct region_ref region, *children;
	int nr_children;
	struct agg total, *child;
	int months, month0;  /* trend length; yyyymm of its first month */
	int this_month;      /* yyyymm of today */
	char today[11];
	int nr_steps;        /* identification steps + elimination steps */
};

/* The lengths a region prefix can have, from everything down to a village. */
static const size_t prefix_steps[] = { 0, 2, 4, 6, 9, 12 };

static const char *const channel_titles[] = { "", "系统规则筛查", "干部走访", "农户自主申报",
					      "部门数据" };

/* ---- regions ---------------------------------------------------------------------------- */

/* Length of the prefixes of the children of a region whose prefix has `plen`
 * characters; 0 when it has none (a village). */
static int child_plen(int plen)
{
	switch (plen) {
	case 0: return 2;
	case 2: return 4;
	case 4: return 6;
	case 6: return 9;
	case 9: return 12;
	default: return 0;
	}
}

static const char *level_title(int plen)
{
	switch (plen) {
	case 2: return "省";
	case 4: return "市";
	case 6: return "县（区）";
	case 9: return "乡镇";
	case 12: return "村（社区）";
	default: return NULL;
	}
}

/* Fill `r` for prefix `prefix`: 1 found, 0 no such region, -1 error. */
static int region_load(struct db *db, const char *prefix, struct region_ref *r)
{
	struct db_stmt *st;
	int rc;
	memset(r, 0, sizeof(*r));
	snprintf(r->prefix, sizeof(r->prefix), "%s", prefix);
	if (!*prefix) {
		snprintf(r->name, sizeof(r->name), "全部辖区");
		return 1;
	}
	code_pad12(prefix, r->code);
	st = db_prepare(db, "SELECT name, level FROM region WHERE code = :c");
	db_bind_text(st, ":c", r->code);
	rc = db_step(st);
	if (rc == DB_ROW) {
		snprintf(r->name, sizeof(r->name), "%s", db_col_text(st, 0));
		r->level = (int)db_col_int(st, 1);
	}
	db_done(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

static int load_children(struct report_ctx *x)
{
	int clen = child_plen((int)strlen(x->region.prefix)), alloc = 0, rc;
	struct db_stmt *st;
	if (!clen)
		return 0;
	if (!*x->region.prefix) {
		st = db_prepare(x->db, "SELECT code, name, level FROM region WHERE parent IS NULL "
				       "ORDER BY code");
	} else {
		st = db_prepare(x->db, "SELECT code, name, level FROM region WHERE parent = :p "
				       "ORDER BY code");
		db_bind_text(st, ":p", x->region.code);
	}
	while ((rc = db_step(st)) == DB_ROW) {
		struct region_ref *c;
		ALLOC_GROW(x->children, x->nr_children + 1, alloc);
		c = &x->children[x->nr_children++];
		memset(c, 0, sizeof(*c));
		snprintf(c->code, sizeof(c->code), "%s", db_col_text(st, 0));
		snprintf(c->prefix, sizeof(c->prefix), "%.*s", clen, c->code);
		snprintf(c->name, sizeof(c->name), "%s", db_col_text(st, 1));
		c->level = (int)db_col_int(st, 2);
	}
	db_done(st);
	x->child = xcalloc(x->nr_children ? x->nr_children : 1, sizeof(*x->child));
	return rc == DB_DONE ? 0 : -1;
}

/* The child whose prefix starts `code`, or NULL (children are sorted). */
static struct agg *child_of(struct report_ctx *x, const char *code)
{
	int lo = 0, hi = x->nr_children - 1;
	size_t clen = x->nr_children ? strlen(x->children[0].prefix) : 0;
	while (lo <= hi) {
		int mid = (lo + hi) / 2, c = strncmp(code, x->children[mid].prefix, clen);
		if (!c)
			return &x->child[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* ---- reading the summary ----------------------------------------------------------------- */

static int month_index(const struct report_ctx *x, int yyyymm)
{
	int i = (yyyymm / 100 * 12 + yyyymm % 100) - (x->month0 / 100 * 12 + x->month0 % 100);
	return i >= 0 && i < x->months ? i : -1;
}

static int code_index(const struct code_list *l, int code)
{
	for (int i = 0; i < l->nr_items; i++)
		if (l->items[i].code == code)
			return i;
	return -1;
}

enum { RC_REGION, RC_METRIC, RC_K1, RC_K2, RC_N, RC_N2, RC_N3 };

static void agg_add(struct report_ctx *x, struct agg *a, struct db_stmt *st)
{
	int metric = (int)db_col_int(st, RC_METRIC);
	int k1 = (int)db_col_int(st, RC_K1), k2 = (int)db_col_int(st, RC_K2), i;
	int64_t n = db_col_int(st, RC_N), n2 = db_col_int(st, RC_N2), n3 = db_col_int(st, RC_N3);
	switch (metric) {
	case RM_HOUSEHOLDS:
		a->households += n;
		break;
	case RM_MONITORED:
		if (k1 >= RS_MONITORING && k1 <= RS_ELIMINATED && k2 >= 1 && k2 <= NR_CATEGORIES) {
			a->mon[k1][k2] += n;
			a->persons[k1][k2] += n2;
		}
		break;
	case RM_RISK:
		i = code_index(&code_risk_type, k1);
		if (i >= 0 && i < MAX_RISKS && k2 >= RS_MONITORING && k2 <= RS_ELIMINATED)
			a->risk[i][k2] += n;
		break;
	case RM_NEW:
		if ((i = month_index(x, k1)) >= 0)
			a->trend_new[i] += n;
		break;
	case RM_ELIMINATED:
		if ((i = month_index(x, k1)) >= 0)
			a->trend_elim[i] += n;
		break;
	case RM_ALERTS:
		if ((i = month_index(x, k1)) >= 0)
			a->trend_alerts[i] += n;
		if (k1 == x->this_month)
			a->alerts_month += n;
		break;
	case RM_ALERT_CHANNEL:
		if (k1 == x->this_month && k2 >= ALERT_RULE && k2 <= ALERT_DEPT)
			a->channel[k2] += n;
		break;
	case RM_ALERTS_OPEN:
		a->alerts_open += n;
		break;
	case RM_MEASURES:
		i = code_index(&code_measure_category, k1);
		if (i >= 0 && i < MAX_MEASURE_CATS) {
			a->measures[i][0] += n;
			a->measures[i][1] += n2;
			a->measures[i][2] += n3;
		}
		break;
	}
}

/* The region's own rows, then its children's (the metrics drawn per child).
 * The caller's scope is checked again in SQL with substr(), not as a second
 * range on region: given two ranges SQLite would pick the scope's for the
 * index and read every village's rows of the county. */
static int read_summary(struct report_ctx *x)
{
	int plen = (int)strlen(x->region.prefix), clen = child_plen(plen), rc;
	struct db_stmt *st = db_prepare(x->db, "SELECT region, metric, k1, k2, n, n2, n3 FROM "
					       "report_cell WHERE plen = :plen AND region = :r AND "
					       "substr(region, 1, length(:scope)) = :scope");
	db_bind_int(st, ":plen", plen);
	db_bind_text(st, ":r", x->region.prefix);
	db_bind_text(st, ":scope", x->scope);
	while ((rc = db_step(st)) == DB_ROW)
		agg_add(x, &x->total, st);
	db_done(st);
	if (rc != DB_DONE || !clen || !x->nr_children)
		return rc == DB_DONE ? 0 : -1;
	st = db_prepare(x->db, "SELECT region, metric, k1, k2, n, n2, n3 FROM report_cell WHERE "
			       "plen = :plen AND region >= :lo AND region < :hi AND substr(region, 1, "
			       "length(:scope)) = :scope AND metric IN (1, 2, 6) AND (metric <> 6 OR "
			       "k1 = :month)");
	db_bind_int(st, ":plen", clen);
	db_bind_prefix(st, ":lo", ":hi", x->region.prefix);
	db_bind_text(st, ":scope", x->scope);
	db_bind_int(st, ":month", x->this_month);
	while ((rc = db_step(st)) == DB_ROW) {
		struct agg *a = child_of(x, db_col_text(st, RC_REGION));
		if (a)
			agg_add(x, a, st);
	}
	db_done(st);
	return rc == DB_DONE ? 0 : -1;
}

/* Active cases of the region, live: per step, overdue (red) and due within
 * a working day (yellow) as monitor_light() decides, per child region. */
static int read_cases(struct report_ctx *x)
{
	enum { C_VILLAGE, C_KIND, C_STEP, C_DUE, C_N };
	struct work_calendar cal;
	char warn[11];
	long today_day;
	int n_id, n_el, rc;
	struct db_stmt *st;
	monitor_case_steps(CASE_IDENTIFY, &n_id);
	monitor_case_steps(CASE_ELIMINATE, &n_el);
	if (monitor_date_parse(x->today, &today_day))
		return -1;
	/* the next working day is what monitor_light() compares with; only the
	 * calendar's marks of the coming weeks can move it (no break is longer) */
	monitor_cal_init(&cal);
	{
		char to[11];
		monitor_date_format(today_day + 40, to);
		st = db_prepare(x->db, "SELECT day, kind FROM work_calendar WHERE day > :from AND "
				       "day <= :to");
		db_bind_text(st, ":from", x->today);
		db_bind_text(st, ":to", to);
		while ((rc = db_step(st)) == DB_ROW) {
			long day;
			if (!monitor_date_parse(db_col_text(st, 0), &day))
				monitor_cal_set(&cal, day, (int)db_col_int(st, 1));
		}
		db_done(st);
		if (rc != DB_DONE) {
			monitor_cal_release(&cal);
			return -1;
		}
	}
	monitor_date_format(monitor_cal_add_workdays(&cal, today_day, 1), warn);
	monitor_cal_release(&cal);
	/* monitor_case.village_code is the household's (kept by triggers), and
	 * index case_village covers the query */
	st = db_prepare(x->db, "SELECT village_code, kind, step, step_due, count(*) FROM "
			       "monitor_case WHERE state = 'active' AND village_code >= :lo AND "
			       "village_code < :hi AND substr(village_code, 1, length(:scope)) = :scope "
			       "GROUP BY village_code, kind, step, step_due");
	db_bind_prefix(st, ":lo", ":hi", x->region.prefix);
	db_bind_text(st, ":scope", x->scope);
	while ((rc = db_step(st)) == DB_ROW) {
		int kind = (int)db_col_int(st, C_KIND), step = (int)db_col_int(st, C_STEP), i;
		const char *due = db_col_text(st, C_DUE);
		int64_t n = db_col_int(st, C_N);
		int red = *due && strcmp(x->today, due) > 0, yellow = *due && !red && strcmp(warn, due) >= 0;
		struct agg *c = child_of(x, db_col_text(st, C_VILLAGE));
		if (kind == CASE_IDENTIFY && step >= 1 && step <= n_id)
			i = step - 1;
		else if (kind == CASE_ELIMINATE && step >= 1 && step <= n_el)
			i = n_id + step - 1;
		else
			continue;
		x->total.active[i] += n;
		x->total.overdue[i] += red ? n : 0;
		x->total.due_soon[i] += yellow ? n : 0;
		if (c) {
			c->active[i] += n;
			c->overdue[i] += red ? n : 0;
			c->due_soon[i] += yellow ? n : 0;
		}
	}
	db_done(st);
	return rc == DB_DONE ? 0 : -1;
}

/* ---- writing ------------------------------------------------------------------------------ */

static int64_t sum(const int64_t *v, int n)
{
	int64_t s = 0;
	for (int i = 0; i < n; i++)
		s += v[i];
	return s;
}

static int64_t status_total(const struct agg *a, int status)
{
	return sum(&a->mon[status][1], NR_CATEGORIES);
}

static void write_month(struct jw *w, int yyyymm)
{
	char m[24];
	snprintf(m, sizeof(m), "%04d-%02d", yyyymm / 100, yyyymm % 100);
	jw_str(w, m);
}

static int add_months(int yyyymm, int k)
{
	int t = yyyymm / 100 * 12 + (yyyymm % 100 - 1) + k;
	return t / 12 * 100 + t % 12 + 1;
}

static void write_region(struct jw *w, const char *key, const struct region_ref *r)
{
	jw_key(w, key);
	jw_object(w);
	jw_kstr(w, "code", r->code);
	jw_kstr(w, "prefix", r->prefix);
	jw_kstr(w, "name", r->name);
	jw_kint(w, "level", r->level);
	jw_object_end(w);
}

/* The ancestors of the region from the caller's scope down, and the region. */
static int write_path(struct jw *w, struct report_ctx *x)
{
	size_t slen = strlen(x->scope), rlen = strlen(x->region.prefix);
	struct region_ref parent;
	int have_parent = 0;
	jw_key(w, "path");
	jw_array(w);
	for (size_t i = 0; i < ARRAY_SIZE(prefix_steps); i++) {
		char p[13];
		struct region_ref r;
		size_t l = prefix_steps[i];
		if (l < slen || l > rlen)
			continue;
		snprintf(p, sizeof(p), "%.*s", (int)l, x->region.prefix);
		if (l == rlen) {
			r = x->region;
		} else if (region_load(x->db, p, &r) < 0) {
			return -1;
		} else {
			parent = r;
			have_parent = 1;
		}
		jw_object(w);
		jw_kstr(w, "code", r.code);
		jw_kstr(w, "prefix", r.prefix);
		jw_kstr(w, "name", r.name);
		jw_object_end(w);
	}
	jw_array_end(w);
	if (have_parent)
		write_region(w, "parent", &parent);
	else
		jw_knull(w, "parent");
	return 0;
}

static void write_kpi(struct jw *w, struct report_ctx *x, unsigned sections)
{
	const struct agg *a = &x->total;
	jw_key(w, "kpi");
	jw_object(w);
	if (sections & REPORT_MONITORED) {
		int64_t mon = status_total(a, RS_MONITORING), el = status_total(a, RS_ELIMINATED);
		jw_kint(w, "households", a->households);
		jw_kint(w, "monitored", mon + el);
		jw_kint(w, "monitoring", mon);
		jw_kint(w, "eliminated", el);
		jw_kint(w, "monitored_persons", sum(&a->persons[RS_MONITORING][1], NR_CATEGORIES) +
							sum(&a->persons[RS_ELIMINATED][1], NR_CATEGORIES));
		jw_kint(w, "monitoring_persons", sum(&a->persons[RS_MONITORING][1], NR_CATEGORIES));
	}
	if (sections & REPORT_ALERTS) {
		jw_kint(w, "alerts_month", a->alerts_month);
		jw_kint(w, "alerts_open", a->alerts_open);
	}
	if (sections & REPORT_OVERDUE) {
		jw_kint(w, "cases_active", sum(a->active, x->nr_steps));
		jw_kint(w, "cases_overdue", sum(a->overdue, x->nr_steps));
		jw_kint(w, "cases_due_soon", sum(a->due_soon, x->nr_steps));
	}
	if (sections & REPORT_MEASURES) {
		int64_t n = 0, amount = 0;
		for (int i = 0; i < code_measure_category.nr_items && i < MAX_MEASURE_CATS; i++) {
			n += a->measures[i][0];
			amount += a->measures[i][2];
		}
		jw_kint(w, "measures", n);
		jw_kint(w, "measure_amount_fen", amount);
	}
	jw_object_end(w);
}

static void write_steps(struct jw *w)
{
	static const enum case_kind kinds[] = { CASE_IDENTIFY, CASE_ELIMINATE };
	jw_key(w, "steps");
	jw_array(w);
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		int n;
		const struct case_step_def *d = monitor_case_steps(kinds[k], &n);
		const char *kind = kinds[k] == CASE_IDENTIFY ? "识别纳入" : "风险消除";
		for (int i = 0; i < n; i++) {
			char name[64];
			snprintf(name, sizeof(name), "%s·%s", kinds[k] == CASE_IDENTIFY ? "识别" : "消除",
				 d[i].title);
			jw_object(w);
			jw_kstr(w, "kind", kind);
			jw_kint(w, "step", d[i].step);
			jw_kstr(w, "title", d[i].title);
			jw_kstr(w, "name", name);
			jw_object_end(w);
		}
	}
	jw_array_end(w);
}

static void write_int_array(struct jw *w, const char *key, const int64_t *v, int n)
{
	jw_key(w, key);
	jw_array(w);
	for (int i = 0; i < n; i++)
		jw_int(w, v[i]);
	jw_array_end(w);
}

static void write_subregions(struct jw *w, struct report_ctx *x, unsigned sections)
{
	jw_key(w, "subregions");
	jw_array(w);
	for (int i = 0; i < x->nr_children; i++) {
		const struct agg *a = &x->child[i];
		const struct region_ref *r = &x->children[i];
		jw_object(w);
		jw_kstr(w, "code", r->code);
		jw_kstr(w, "prefix", r->prefix);
		jw_kstr(w, "name", r->name);
		if (sections & REPORT_MONITORED) {
			jw_kint(w, "households", a->households);
			jw_kint(w, "monitoring", status_total(a, RS_MONITORING));
			jw_kint(w, "eliminated", status_total(a, RS_ELIMINATED));
			write_int_array(w, "monitoring_by_category", &a->mon[RS_MONITORING][1],
					NR_CATEGORIES);
		}
		if (sections & REPORT_ALERTS)
			jw_kint(w, "alerts_month", a->alerts_month);
		if (sections & REPORT_OVERDUE) {
			jw_kint(w, "cases_active", sum(a->active, x->nr_steps));
			jw_kint(w, "cases_overdue", sum(a->overdue, x->nr_steps));
			write_int_array(w, "overdue_by_step", a->overdue, x->nr_steps);
		}
		jw_object_end(w);
	}
	jw_array_end(w);
}

static void write_sections(struct jw *w, struct report_ctx *x, unsigned sections)
{
	const struct agg *a = &x->total;
	write_kpi(w, x, sections);
	if (sections & REPORT_MONITORED) {
		jw_key(w, "categories");
		jw_array(w);
		for (int c = 1; c <= NR_CATEGORIES; c++) {
			jw_object(w);
			jw_kint(w, "code", c);
			jw_kstr(w, "name", codes_label(&code_monitor_category, c));
			jw_kint(w, "monitoring", a->mon[RS_MONITORING][c]);
			jw_kint(w, "eliminated", a->mon[RS_ELIMINATED][c]);
			jw_kint(w, "monitoring_persons", a->persons[RS_MONITORING][c]);
			jw_object_end(w);
		}
		jw_array_end(w);
	}
	if (sections & REPORT_RISK) {
		jw_key(w, "risk_types");
		jw_array(w);
		for (int i = 0; i < code_risk_type.nr_items && i < MAX_RISKS; i++) {
			jw_object(w);
			jw_kint(w, "code", code_risk_type.items[i].code);
			jw_kstr(w, "name", code_risk_type.items[i].label);
			jw_kint(w, "monitoring", a->risk[i][RS_MONITORING]);
			jw_kint(w, "total", a->risk[i][RS_MONITORING] + a->risk[i][RS_ELIMINATED]);
			jw_object_end(w);
		}
		jw_array_end(w);
	}
	if (sections & REPORT_ALERTS) {
		jw_key(w, "alerts");
		jw_object(w);
		jw_key(w, "month");
		write_month(w, x->this_month);
		jw_kint(w, "new", a->alerts_month);
		jw_kint(w, "open", a->alerts_open);
		jw_key(w, "by_channel");
		jw_array(w);
		for (int c = ALERT_RULE; c <= ALERT_DEPT; c++) {
			jw_object(w);
			jw_kstr(w, "name", channel_titles[c]);
			jw_kint(w, "count", a->channel[c]);
			jw_object_end(w);
		}
		jw_array_end(w);
		jw_object_end(w);
	}
	if (sections & REPORT_OVERDUE) {
		jw_key(w, "cases");
		jw_object(w);
		write_steps(w);
		write_int_array(w, "active", a->active, x->nr_steps);
		write_int_array(w, "overdue", a->overdue, x->nr_steps);
		write_int_array(w, "due_soon", a->due_soon, x->nr_steps);
		jw_object_end(w);
	}
	if (sections & REPORT_MEASURES) {
		jw_key(w, "measures");
		jw_array(w);
		for (int i = 0; i < code_measure_category.nr_items && i < MAX_MEASURE_CATS; i++) {
			jw_object(w);
			jw_kint(w, "code", code_measure_category.items[i].code);
			jw_kstr(w, "name", code_measure_category.items[i].label);
			jw_kint(w, "measures", a->measures[i][0]);
			jw_kint(w, "households", a->measures[i][1]);
			jw_kint(w, "amount_fen", a->measures[i][2]);
			jw_object_end(w);
		}
		jw_array_end(w);
	}
	if (sections & REPORT_TREND) {
		jw_key(w, "trend");
		jw_object(w);
		jw_key(w, "months");
		jw_array(w);
		for (int i = 0; i < x->months; i++)
			write_month(w, add_months(x->month0, i));
		jw_array_end(w);
		write_int_array(w, "new_monitored", a->trend_new, x->months);
		write_int_array(w, "eliminated", a->trend_elim, x->months);
		write_int_array(w, "alerts", a->trend_alerts, x->months);
		jw_object_end(w);
	}
	if (sections & (REPORT_MONITORED | REPORT_ALERTS | REPORT_OVERDUE))
		write_subregions(w, x, sections);
}

/* When the summary was made, as China time "YYYY-MM-DD HH:MM", into out. */
static int summary_time(struct db *db, char out[32])
{
	struct db_stmt *st = db_prepare(db, "SELECT built_epoch FROM report_state WHERE id = 1");
	int rc = db_step(st);
	out[0] = '\0';
	if (rc == DB_ROW) {
		time_t t = (time_t)db_col_int(st, 0) + 8 * 3600;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(out, 32, "%Y-%m-%d %H:%M", &tm);
	}
	db_done(st);
	return rc == DB_ROW ? 0 : -1;
}

int report_write(struct db *db, const char *scope, const char *region, unsigned sections,
		 int months, struct buf *out, const char **code, struct buf *msg)
{
	struct report_ctx x;
	char prefix[13], as_of[32];
	struct jw w;
	int rc = 0, status = 200, y, m, d;

	memset(&x, 0, sizeof(x));
	x.db = db;
	x.scope = scope ? scope : "";
	if (!region || !*region) {
		snprintf(prefix, sizeof(prefix), "%s", x.scope);
	} else if (auth_scope_prefix(region, prefix)) {
		*code = "E_BAD_PARAM";
		buf_addf(msg, "区划代码“%s”无效：应为 2、4、6、9 或 12 位数字", region);
		return 400;
	}
	if (!starts_with(prefix, x.scope) || (rc = region_load(db, prefix, &x.region)) == 0) {
		*code = "E_NOT_FOUND";
		buf_addstr(msg, "找不到该区划（或不在您的管辖范围内）");
		return 404;
	}
	if (rc < 0)
		goto db_fail;
	if (report_ensure_fresh(db)) {
		*code = "E_DB_UNAVAILABLE";
		buf_addf(msg, "无法生成汇总数据，请稍后重试：%s", db_errmsg(db));
		return 503;
	}
	monitor_today_text(x.today);
	monitor_civil_from_days(monitor_today(), &y, &m, &d);
	x.this_month = y * 100 + m;
	x.months = months < 1 ? 1 : months > MAX_MONTHS ? MAX_MONTHS : months;
	x.month0 = add_months(x.this_month, 1 - x.months);
	{
		int n_id, n_el;
		monitor_case_steps(CASE_IDENTIFY, &n_id);
		monitor_case_steps(CASE_ELIMINATE, &n_el);
		x.nr_steps = n_id + n_el <= MAX_STEPS ? n_id + n_el : MAX_STEPS;
	}
	/* one read-only transaction: every figure from the same state of the
	 * database (and one lock instead of one per statement on SQLite) */
	if (db_begin_read(db))
		goto db_fail;
	if (load_children(&x) || read_summary(&x) ||
	    ((sections & REPORT_OVERDUE) && read_cases(&x)) || summary_time(db, as_of))
		goto db_fail;

	jw_init(&w, out);
	jw_object(&w);
	write_region(&w, "region", &x.region);
	if (write_path(&w, &x))
		goto db_fail;
	jw_kstr(&w, "children_level", level_title(child_plen((int)strlen(x.region.prefix))));
	jw_kstr(&w, "as_of", as_of);
	jw_kstr(&w, "today", x.today);
	write_sections(&w, &x, sections);
	jw_object_end(&w);
	if (db_commit(db))
		goto db_fail;
	goto out;
db_fail:
	*code = "E_DB";
	buf_reset(msg);
	buf_addf(msg, "读取汇总数据失败：%s", db_errmsg(db));
	status = 500;
	if (db_depth(db))
		db_rollback(db);
out:
	free(x.children);
	free(x.child);
	return status;
}

/* ---- routes ----------------------------------------------------------------------------------- */

static void reply(struct http_request *req, struct http_response *res, unsigned sections)
{
	static const char *const params[] = { "region", "months", NULL };
	static const char *const params_no_months[] = { "region", NULL };
	const char *months_s = http_query(req, "months");
	const char *code = NULL;
	int64_t months = 12;
	struct buf msg = BUF_INIT;
	int status;
	if (http_refuse_unknown_params(req, res,
				       (sections & REPORT_TREND) ? params : params_no_months))
		return;
	if (months_s && (parse_int64(months_s, &months) || months < 1 || months > MAX_MONTHS)) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "months（月数）应为 1 到 %d 的整数",
				 MAX_MONTHS);
		return;
	}
	res->content_type = "application/json; charset=utf-8";
	buf_reset(&res->body);
	status = report_write(req->db, req->principal->scope, http_query(req, "region"), sections,
			      (int)months, &res->body, &code, &msg);
	if (status != 200)
		http_reply_error(res, status, code, NULL, "%s", msg.buf);
	else
		res->status = 200;
	buf_release(&msg);
}

static void api_dashboard(struct http_request *req, struct http_response *res)
{
	reply(req, res, REPORT_ALL);
}

static void api_monitored(struct http_request *req, struct http_response *res)
{
	reply(req, res, REPORT_MONITORED);
}

static void api_risk_types(struct http_request *req, struct http_response *res)
{
	reply(req, res, REPORT_RISK);
}

static void api_alerts(struct http_request *req, struct http_response *res)
{
	reply(req, res, REPORT_ALERTS);
}

static void api_overdue(struct http_request *req, struct http_response *res)
{
	reply(req, res, REPORT_OVERDUE);
}

static void api_measures(struct http_request *req, struct http_response *res)
{
	reply(req, res, REPORT_MEASURES);
}

static void api_trend(struct http_request *req, struct http_response *res)
{
	reply(req, res, REPORT_TREND);
}

const struct route report_routes[] = {
	{ "GET", "/api/v1/report/dashboard", api_dashboard, 0, "stats.read",
	  "领导驾驶舱：某区划的全部汇总（不含个人信息）" },
	{ "GET", "/api/v1/report/monitored", api_monitored, 0, "stats.read",
	  "监测对象按下级区划和类别汇总" },
	{ "GET", "/api/v1/report/risk-types", api_risk_types, 0, "stats.read", "监测对象风险类型汇总" },
	{ "GET", "/api/v1/report/alerts", api_alerts, 0, "stats.read", "本月新增风险线索汇总" },
	{ "GET", "/api/v1/report/overdue", api_overdue, 0, "stats.read",
	  "办理中流程按环节和下级区划的逾期汇总" },
	{ "GET", "/api/v1/report/measures", api_measures, 0, "stats.read", "帮扶措施按类别汇总" },
	{ "GET", "/api/v1/report/trend", api_trend, 0, "stats.read",
	  "按月趋势：新识别、风险消除、新增线索" },
	{ NULL },
};
