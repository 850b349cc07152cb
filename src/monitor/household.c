/* household.c — what the JSON API and the server-rendered pages share about
 * one household's monitoring: its status and active case, its timeline,
 * recording a visit (走访) or a self-report (自主申报), and the task list of
 * a region (线索 awaiting 入户核实, case steps with their deadlines and
 * red/yellow/green lights).  The callers check region scope first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/html.h"
#include "base/util.h"
#include "monitor/monitor.h"
#include "registry/registry.h"

/* Working days a village has to verify a new 线索 (入户核查 "within 3 days
 * of 研判", brief §1.6). */
#define ALERT_VERIFY_WORKDAYS 3

static void refuse(struct monitor_refusal *r, int status, const char *code, const char *field,
		   const char *fmt, ...) ATTR_PRINTF(5, 6);

static void refuse(struct monitor_refusal *r, int status, const char *code, const char *field,
		   const char *fmt, ...)
{
	va_list ap;
	r->status = status;
	r->code = code;
	r->field = field;
	buf_reset(&r->message);
	va_start(ap, fmt);
	buf_vaddf(&r->message, fmt, ap);
	va_end(ap);
}

void monitor_refusal_init(struct monitor_refusal *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->message, 0);
}

void monitor_refusal_release(struct monitor_refusal *r)
{
	buf_release(&r->message);
}

int monitor_risk_codes(const char *const *labels, int n, struct buf *out,
		       struct monitor_refusal *why)
{
	if (n > 5) {
		refuse(why, 422, "E_BAD_TYPE", "risk_types", "风险类型最多选 5 项");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int c = labels[i] ? codes_lookup(&code_risk_type, labels[i]) : -1;
		if (c < 0) {
			refuse(why, 422, "E_BAD_CODE", "risk_types", "风险类型“%s”无效",
			       labels[i] ? labels[i] : "?");
			return -1;
		}
		buf_addf(out, "%s%d", out->len ? "," : "", c);
	}
	return 0;
}

void monitor_deadline(struct db *db, const char *date, int n, char out[11])
{
	struct work_calendar cal;
	long day;
	if (n <= 0 || monitor_date_parse(date, &day)) {
		snprintf(out, 11, "%s", date ? date : "");
		return;
	}
	monitor_cal_init(&cal);
	if (monitor_cal_load(db, &cal) < 0)
		snprintf(out, 11, "%s", date);
	else
		monitor_date_format(monitor_cal_add_workdays(&cal, day, n), out);
	monitor_cal_release(&cal);
}

/* ---- status ------------------------------------------------------------------------ */

enum { MS_STATUS, MS_CATEGORY, MS_RISK, MS_IDENTIFIED, MS_CONTACT, MS_CONTACT_PHONE,
       MS_ELIMINATED, MS_MODE };

int monitor_status_load(struct db *db, int64_t household_id, struct monitor_status *out)
{
	struct db_stmt *st;
	int rc;
	memset(out, 0, sizeof(*out));
	st = db_prepare(db, "SELECT status, category, risk_types, identified_on, contact_name, "
			    "contact_phone, eliminated_on, elim_mode FROM monitored WHERE "
			    "household_id = :h");
	db_bind_int(st, ":h", household_id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		out->state = !strcmp(db_col_text(st, MS_STATUS), "monitoring") ? 1 : 2;
		out->category = (int)db_col_int(st, MS_CATEGORY);
		snprintf(out->risk_types, sizeof(out->risk_types), "%s", db_col_text(st, MS_RISK));
		snprintf(out->identified_on, sizeof(out->identified_on), "%s",
			 db_col_text(st, MS_IDENTIFIED));
		snprintf(out->contact_name, sizeof(out->contact_name), "%s",
			 db_col_text(st, MS_CONTACT));
		snprintf(out->contact_phone, sizeof(out->contact_phone), "%s",
			 db_col_text(st, MS_CONTACT_PHONE));
		snprintf(out->eliminated_on, sizeof(out->eliminated_on), "%s",
			 db_col_text(st, MS_ELIMINATED));
		snprintf(out->elim_mode, sizeof(out->elim_mode), "%s", db_col_text(st, MS_MODE));
	}
	db_done(st);
	if (rc < 0)
		return -1;
	st = db_prepare(db, "SELECT id FROM monitor_case WHERE household_id = :h AND state = "
			    "'active' ORDER BY id DESC LIMIT 1");
	db_bind_int(st, ":h", household_id);
	rc = db_step(st);
	if (rc == DB_ROW)
		out->active_case = db_col_int(st, 0);
	db_done(st);
	if (rc < 0)
		return -1;
	st = db_prepare(db, "SELECT id FROM alert WHERE household_id = :h AND status = 'open' "
			    "ORDER BY id DESC LIMIT 1");
	db_bind_int(st, ":h", household_id);
	rc = db_step(st);
	if (rc == DB_ROW)
		out->open_alert = db_col_int(st, 0);
	db_done(st);
	return rc < 0 ? -1 : 0;
}

const char *monitor_status_title(const struct monitor_status *s)
{
	return s->state == 1 ? "监测中" : s->state == 2 ? "已消除风险" : "未纳入监测";
}

/* ---- timeline ----------------------------------------------------------------------- */

int monitor_timeline(struct db *db, int64_t household_id, struct monitor_event **ev, int *alloc)
{
	struct db_stmt *st;
	int n = 0, rc;
	st = db_prepare(db,
			"SELECT e.created_at AS at, '线索' AS kind, e.explain AS detail, "
			"CAST(NULL AS BIGINT) AS year, CAST(NULL AS BIGINT) AS net FROM "
			"alert_evidence e JOIN alert a ON a.id = e.alert_id WHERE a.household_id = :h "
			"UNION ALL SELECT ev.at, CASE c.kind WHEN 1 THEN '识别纳入' ELSE '风险消除' END, "
			"'第' || ev.step || '环节 ' || ev.action || ' ' || ev.login, NULL, NULL FROM case_event ev "
			"JOIN monitor_case c ON c.id = ev.case_id WHERE c.household_id = :h UNION ALL "
			"SELECT v.created_at, '走访', v.visit_date || ' ' || v.note, NULL, NULL FROM visit v WHERE "
			"v.household_id = :h UNION ALL SELECT ms.created_at, '帮扶措施', ms.start_date || "
			"' 起 ' || ms.unit || ' ' || ms.person || ' ' || ms.evidence, NULL, NULL FROM measure ms "
			"WHERE ms.household_id = :h UNION ALL SELECT s.updated_at, '收入核算', '', s.year, "
			"s.net FROM income_summary s WHERE s.household_id = :h ORDER BY 1, 2, 3, 4");
	db_bind_int(st, ":h", household_id);
	while ((rc = db_step(st)) == DB_ROW) {
		struct monitor_event *e;
		ALLOC_GROW(*ev, n + 1, *alloc);
		e = &(*ev)[n++];
		snprintf(e->at, sizeof(e->at), "%s", db_col_text(st, 0));
		snprintf(e->kind, sizeof(e->kind), "%s", db_col_text(st, 1));
		if (!db_col_is_null(st, 4)) {
			/* income: "2025 年家庭纯收入 12,345.67 元" */
			char yuan[32];
			html_yuan(db_col_int(st, 4), yuan);
			e->detail = xstrfmt("%lld 年家庭纯收入 %s 元", (long long)db_col_int(st, 3), yuan);
		} else {
			e->detail = xstrdup(db_col_text(st, 2));
		}
	}
	db_done(st);
	if (rc < 0) {
		monitor_events_free(*ev, n);
		*ev = NULL;
		*alloc = 0;
		return -1;
	}
	return n;
}

void monitor_events_free(struct monitor_event *ev, int n)
{
	for (int i = 0; i < n; i++)
		free(ev[i].detail);
	free(ev);
}

/* ---- visits and self-reports ---------------------------------------------------------- */

int64_t monitor_visit_add(struct db *db, int64_t household_id, const struct visit_input *v,
			  const struct principal *p, struct monitor_refusal *why)
{
	struct db_stmt *st;
	char today[11], now[20];
	long day;
	int64_t id;
	monitor_today_text(today);
	if (!v->visit_date || !*v->visit_date) {
		refuse(why, 422, "E_BAD_DATE", "visit_date", "请填写走访日期，如 %s", today);
		return -1;
	}
	if (monitor_date_parse(v->visit_date, &day) || strcmp(v->visit_date, today) > 0) {
		refuse(why, 422, "E_BAD_DATE", "visit_date",
		       "走访日期应为不晚于今天的日期，如 %s", today);
		return -1;
	}
	if (!v->note || !*v->note) {
		refuse(why, 422, "E_REQUIRED", "note", "请填写走访情况（最多约 600 字）");
		return -1;
	}
	if (strlen(v->note) > MONITOR_NOTE_MAX) {
		refuse(why, 422, "E_REQUIRED", "note", "走访情况过长（最多约 600 字）");
		return -1;
	}
	now_utc_text(now);
	st = db_prepare(db, "INSERT INTO visit(household_id, visit_date, user_id, visitor, note, "
			    "risk_found, risk_types, created_at) VALUES(:h, :d, :u, :v, :n, :rf, "
			    ":rt, :now)");
	db_bind_int(st, ":h", household_id);
	db_bind_text(st, ":d", v->visit_date);
	db_bind_int(st, ":u", p->user_id);
	db_bind_text(st, ":v", p->name);
	db_bind_text(st, ":n", v->note);
	db_bind_int(st, ":rf", v->risk_found ? 1 : 0);
	db_bind_text(st, ":rt", v->risk_types ? v->risk_types : "");
	db_bind_text(st, ":now", now);
	id = db_run_insert(st);
	db_done(st);
	if (id > 0 && v->risk_found) {
		struct alert_evidence e = { 0 };
		char src[32], *explain = xstrfmt("走访发现风险（%s，%s）：%s", v->visit_date, p->name,
						  v->note);
		snprintf(src, sizeof(src), "visit:%lld", (long long)id);
		e.household_id = household_id;
		e.channel = ALERT_VISIT;
		e.source = src;
		e.risk_types = v->risk_types ? v->risk_types : "";
		e.explain = explain;
		e.created_by = p->user_id;
		if (monitor_alert_add(db, &e) < 0)
			id = -1;
		free(explain);
	}
	if (id < 0) {
		refuse(why, 500, "E_DB", NULL, "保存失败：%s", db_errmsg(db));
		return -1;
	}
	return id;
}

int64_t monitor_application_add(struct db *db, int64_t household_id,
				const struct application_input *a, const struct principal *p,
				struct monitor_refusal *why)
{
	struct alert_evidence e = { 0 };
	char today[11], *explain;
	long day;
	int64_t alert;
	monitor_today_text(today);
	if (!a->reason || !*a->reason) {
		refuse(why, 422, "E_REQUIRED", "reason", "请填写申报事由");
		return -1;
	}
	if (strlen(a->reason) > MONITOR_NOTE_MAX) {
		refuse(why, 422, "E_REQUIRED", "reason", "申报事由过长（最多约 600 字）");
		return -1;
	}
	if (a->applied_on && *a->applied_on &&
	    (monitor_date_parse(a->applied_on, &day) || strcmp(a->applied_on, today) > 0)) {
		refuse(why, 422, "E_BAD_DATE", "applied_on", "申报日期无效（应为不晚于今天的日期，如 %s）",
		       today);
		return -1;
	}
	explain = xstrfmt("农户自主申报（%s）：%s",
			  a->applied_on && *a->applied_on ? a->applied_on : today, a->reason);
	e.household_id = household_id;
	e.channel = ALERT_SELF;
	e.source = "application";
	e.risk_types = a->risk_types ? a->risk_types : "";
	e.explain = explain;
	e.created_by = p->user_id;
	alert = monitor_alert_add(db, &e);
	free(explain);
	if (alert < 0) {
		refuse(why, 500, "E_DB", NULL, "保存失败：%s", db_errmsg(db));
		return -1;
	}
	return alert;
}

/* ---- tasks ---------------------------------------------------------------------------- */

static int light_rank(const char *light)
{
	return !strcmp(light, "red") ? 0 : !strcmp(light, "yellow") ? 1 : 2;
}

static int task_cmp(const void *a, const void *b)
{
	const struct monitor_task *x = a, *y = b;
	int c = light_rank(x->light) - light_rank(y->light);
	if (c)
		return c;
	if ((c = strcmp(x->due, y->due)))
		return c;
	if (x->case_id != y->case_id)
		return x->case_id < y->case_id ? -1 : 1;
	return x->alert_id < y->alert_id ? -1 : x->alert_id > y->alert_id;
}

enum { TK_HH, TK_HH_NO, TK_VILLAGE, TK_HEAD, TK_CASE, TK_KIND, TK_STEP, TK_DUE, TK_ALERT,
       TK_FIRST, TK_KEY };
/* The tasks are chosen first (inner query, ORDER BY the deadline-like key,
 * LIMIT), and only those are joined with names. */
#define TASK_OUTER                                                                                 \
	"SELECT h.id, h.hh_no, r.name, (SELECT name FROM member x WHERE x.household_id = h.id AND "  \
	"x.relation = 1 ORDER BY x.id LIMIT 1), t.case_id, t.kind, t.step, t.step_due, t.alert_id, "  \
	"t.first_at, t.k FROM ("
#define TASK_OUTER_END                                                                             \
	") t JOIN household h ON h.id = t.hh LEFT JOIN region r ON r.code = h.village_code ORDER BY " \
	"t.k, t.case_id, t.alert_id"
#define TASK_COLUMNS_CASE                                                                          \
	"SELECT h.id AS hh, c.id AS case_id, c.kind AS kind, c.step AS step, c.step_due AS "         \
	"step_due, CAST(NULL AS BIGINT) AS alert_id, CAST(NULL AS TEXT) AS first_at, c.step_due AS k "
/* open alerts in id order, which is the order they were raised in: the
 * oldest 2000 are the most urgent, and the scan stops there */
#define TASK_COLUMNS_ALERT                                                                         \
	"SELECT * FROM (SELECT h.id AS hh, CAST(NULL AS BIGINT) AS case_id, CAST(NULL AS BIGINT) "   \
	"AS kind, CAST(NULL AS BIGINT) AS step, CAST(NULL AS TEXT) AS step_due, a.id AS alert_id, "   \
	"a.first_at AS first_at, substr(a.first_at, 1, 10) AS k "
#define TASK_ALERT_END " ORDER BY a.id LIMIT 2000) oldest "
#define TASK_ORDER "ORDER BY 8, 2, 6 LIMIT 2000"

int monitor_tasks(struct db *db, const char *scope, const char *role,
		  struct monitor_task **tasks, int *alloc)
{
	struct db_stmt *st;
	struct work_calendar cal;
	char today[11], warn[11];
	long today_day, d;
	int n = 0, rc;

	monitor_today_text(today);
	monitor_cal_init(&cal);
	if (monitor_cal_load(db, &cal) < 0) {
		monitor_cal_release(&cal);
		return -1;
	}
	monitor_date_parse(today, &today_day);
	/* yellow from one working day before the deadline, as monitor_light() */
	monitor_date_format(monitor_cal_add_workdays(&cal, today_day, 1), warn);
	/* One village: start from its households (household_village) and look
	 * up their cases and alerts (CROSS JOIN keeps that order in SQLite,
	 * which plans without statistics); a wider scope: start from the
	 * active cases and open alerts (indexed by state and status).  The
	 * oldest deadlines come first, so the limit keeps the most urgent. */
	if (strlen(scope) == 12) {
		st = db_prepare(db, TASK_OUTER TASK_COLUMNS_CASE "FROM household h CROSS JOIN "
				    "monitor_case c WHERE h.village_code = :v AND c.household_id = h.id AND "
				    "c.state = 'active' UNION ALL " TASK_COLUMNS_ALERT "FROM household h "
				    "CROSS JOIN alert a WHERE h.village_code = :v AND a.household_id = h.id "
				    "AND a.status = 'open'" TASK_ALERT_END TASK_ORDER TASK_OUTER_END);
		db_bind_text(st, ":v", scope);
	} else {
		st = db_prepare(db, TASK_OUTER TASK_COLUMNS_CASE "FROM monitor_case c JOIN household "
				    "h ON h.id = c.household_id WHERE c.state = 'active' AND h.village_code "
				    ">= :lo AND h.village_code < :hi UNION ALL " TASK_COLUMNS_ALERT "FROM "
				    "alert a JOIN household h ON h.id = a.household_id WHERE a.status = "
				    "'open' AND h.village_code >= :lo AND h.village_code < :hi"
				    TASK_ALERT_END TASK_ORDER TASK_OUTER_END);
		db_bind_prefix(st, ":lo", ":hi", scope);
	}
	while ((rc = db_step(st)) == DB_ROW) {
		struct monitor_task *t;
		ALLOC_GROW(*tasks, n + 1, *alloc);
		t = &(*tasks)[n++];
		memset(t, 0, sizeof(*t));
		t->household_id = db_col_int(st, TK_HH);
		snprintf(t->hh_no, sizeof(t->hh_no), "%s", db_col_text(st, TK_HH_NO));
		snprintf(t->village_name, sizeof(t->village_name), "%s", db_col_text(st, TK_VILLAGE));
		snprintf(t->head_name, sizeof(t->head_name), "%s", db_col_text(st, TK_HEAD));
		if (!db_col_is_null(st, TK_CASE)) {
			int nsteps, step = (int)db_col_int(st, TK_STEP);
			int kind = (int)db_col_int(st, TK_KIND);
			const struct case_step_def *steps = monitor_case_steps(kind, &nsteps);
			const struct case_step_def *sd = step >= 1 && step <= nsteps ? &steps[step - 1]
										  : NULL;
			t->case_id = db_col_int(st, TK_CASE);
			snprintf(t->what, sizeof(t->what), "%s · 第%d环节 %s",
				 kind == CASE_IDENTIFY ? "识别纳入" : "风险消除", step,
				 sd ? sd->title : "");
			snprintf(t->role, sizeof(t->role), "%s", sd ? sd->role : "");
			snprintf(t->due, sizeof(t->due), "%s", db_col_text(st, TK_DUE));
		} else {
			t->alert_id = db_col_int(st, TK_ALERT);
			snprintf(t->what, sizeof(t->what), "风险线索待入户核实");
			snprintf(t->role, sizeof(t->role), "village_clerk");
			{
				char first[11];
				snprintf(first, sizeof(first), "%.10s", db_col_text(st, TK_FIRST));
				if (!monitor_date_parse(first, &d))
					monitor_date_format(
						monitor_cal_add_workdays(&cal, d, ALERT_VERIFY_WORKDAYS),
						t->due);
			}
		}
		t->light = !t->due[0] ? "green" : strcmp(today, t->due) > 0 ? "red"
					 : strcmp(warn, t->due) >= 0		 ? "yellow"
										 : "green";
		t->mine = role && !strcmp(role, t->role);
	}
	db_done(st);
	monitor_cal_release(&cal);
	if (rc < 0)
		return -1;
	if (n > 1) /* with no tasks *tasks is NULL, which qsort() may not take */
		qsort(*tasks, n, sizeof(**tasks), task_cmp);
	return n;
}
