/* case_api.c — the JSON API of alerts, visits, self-reports (自主申报),
 * identification and elimination cases, 三保障 records, monitoring status
 * and a household's timeline.  Every route limits itself to the caller's
 * region scope in SQL; a step may only be acted on by its role. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/jw.h"
#include "base/util.h"
#include "monitor/monitor.h"
#include "registry/registry.h"

static const char *scope_of(struct http_request *req)
{
	return req->principal->scope;
}

static void bind_scope(struct db_stmt *st, struct http_request *req)
{
	db_bind_prefix(st, ":lo", ":hi", scope_of(req));
}

static int64_t path_int(struct http_request *req, int i)
{
	int64_t v;
	if (req->nr_path_params <= i || parse_int64(req->path_params[i], &v) || v <= 0)
		return -1;
	return v;
}

/* Load the household named by path parameter 0 within scope, or answer 404. */
static int household_scoped(struct http_request *req, struct http_response *res,
			    struct household_rec *h)
{
	int64_t id = path_int(req, 0);
	if (id < 0 || registry_household_load_scoped(req->db, id, scope_of(req), h) != 1) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该户（或不在您的管辖范围内）");
		return 0;
	}
	return 1;
}

/* Turn a JSON array of risk-type labels into comma-separated codes; answers
 * 422 and returns -1 when something is wrong. */
static int risk_codes(struct http_response *res, json_t *arr, struct buf *out)
{
	const char *labels[5];
	struct monitor_refusal why;
	size_t i;
	json_t *e;
	int rc;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > 5) {
		http_reply_error(res, 422, "E_BAD_TYPE", NULL, "risk_types 应为最多 5 项风险类型的数组");
		return -1;
	}
	json_array_foreach(arr, i, e)
		labels[i] = json_is_string(e) ? json_string_value(e) : NULL;
	monitor_refusal_init(&why);
	rc = monitor_risk_codes(labels, (int)json_array_size(arr), out, &why);
	if (rc)
		http_reply_error(res, why.status, why.code, NULL, "%s", why.message.buf);
	monitor_refusal_release(&why);
	return rc;
}

/* Write comma-separated risk codes as an array of labels. */
static void risk_labels(struct jw *w, const char *key, const char *codes)
{
	jw_key(w, key);
	jw_array(w);
	for (const char *p = codes; p && *p;) {
		const char *l = codes_label(&code_risk_type, atoi(p));
		if (l)
			jw_str(w, l);
		p = strchr(p, ',');
		if (p)
			p++;
	}
	jw_array_end(w);
}

static const char *const channel_names[] = { "", "系统规则筛查", "干部走访", "农户自主申报",
					     "部门数据" };

static void reply_begin(struct http_response *res, int status, struct jw *w)
{
	res->status = status;
	res->content_type = "application/json; charset=utf-8";
	buf_reset(&res->body);
	jw_init(w, &res->body);
}

/* ---- alerts ------------------------------------------------------------------------ */

enum { AL_ID, AL_HH, AL_STATUS, AL_CHANNELS, AL_RISK, AL_FIRST, AL_LAST, AL_CASE, AL_HH_NO,
       AL_VILLAGE, AL_HEAD, AL_NOTE };

static void alert_fields(struct jw *w, struct db_stmt *st)
{
	int ch = (int)db_col_int(st, AL_CHANNELS);
	jw_kint(w, "id", db_col_int(st, AL_ID));
	jw_kint(w, "household_id", db_col_int(st, AL_HH));
	jw_kstr(w, "hh_no", db_col_text(st, AL_HH_NO));
	jw_kstr(w, "village_name", db_col_text(st, AL_VILLAGE));
	jw_kstr(w, "head_name", db_col_text(st, AL_HEAD));
	jw_kstr(w, "status", db_col_text(st, AL_STATUS));
	jw_key(w, "channels");
	jw_array(w);
	for (int c = ALERT_RULE; c <= ALERT_DEPT; c++)
		if (ch & (1 << c))
			jw_str(w, channel_names[c]);
	jw_array_end(w);
	risk_labels(w, "risk_types", db_col_text(st, AL_RISK));
	jw_kstr(w, "first_at", db_col_text(st, AL_FIRST));
	jw_kstr(w, "last_at", db_col_text(st, AL_LAST));
	if (db_col_is_null(st, AL_CASE))
		jw_knull(w, "case_id");
	else
		jw_kint(w, "case_id", db_col_int(st, AL_CASE));
	jw_kstr(w, "closed_note", db_col_text(st, AL_NOTE));
}

#define ALERT_SELECT                                                                               \
	"SELECT a.id, a.household_id, a.status, a.channels, a.risk_types, a.first_at, a.last_at, "  \
	"a.case_id, h.hh_no, r.name, (SELECT name FROM member x WHERE x.household_id = h.id AND "   \
	"x.relation = 1 ORDER BY x.id LIMIT 1), a.closed_note FROM alert a JOIN household h ON "    \
	"h.id = a.household_id LEFT JOIN region r ON r.code = h.village_code "

static void api_alerts(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "status", "region", "limit", "cursor", NULL };
	const char *status = http_query(req, "status"), *region = http_query(req, "region");
	const char *lim = http_query(req, "limit"), *cur = http_query(req, "cursor");
	int64_t limit = 50, cursor = 0, last = 0;
	struct db_stmt *st;
	struct jw w;
	int n = 0, rc;
	if (http_refuse_unknown_params(req, res, params))
		return;
	if ((lim && (parse_int64(lim, &limit) || limit < 1 || limit > 500)) ||
	    (cur && (parse_int64(cur, &cursor) || cursor < 0)) ||
	    (region && (strlen(region) > 12 || strspn(region, "0123456789") != strlen(region))) ||
	    (status && strcmp(status, "open") && strcmp(status, "case") && strcmp(status, "closed") &&
	     strcmp(status, "dismissed"))) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL,
				 "查询参数无效（status 可为 open、case、closed、dismissed）");
		return;
	}
	st = db_prepare(req->db, ALERT_SELECT "WHERE h.village_code >= :lo AND h.village_code < :hi "
				 "AND h.village_code >= :rlo AND h.village_code < :rhi AND (:st IS "
				 "NULL OR a.status = :st) AND (:cur = 0 OR a.id < :cur) ORDER BY a.id "
				 "DESC LIMIT :limit");
	bind_scope(st, req);
	db_bind_prefix(st, ":rlo", ":rhi", region ? region : "");
	db_bind_text(st, ":st", status);
	db_bind_int(st, ":cur", cursor);
	db_bind_int(st, ":limit", limit + 1);
	reply_begin(res, 200, &w);
	jw_object(&w);
	jw_key(&w, "items");
	jw_array(&w);
	while ((rc = db_step(st)) == DB_ROW && n < limit) {
		last = db_col_int(st, AL_ID);
		jw_object(&w);
		alert_fields(&w, st);
		jw_object_end(&w);
		n++;
	}
	db_done(st);
	jw_array_end(&w);
	jw_key(&w, "next_cursor");
	if (rc == DB_ROW) {
		char c[24];
		snprintf(c, sizeof(c), "%lld", (long long)last);
		jw_str(&w, c);
	} else {
		jw_null(&w);
	}
	jw_object_end(&w);
}

/* Load alert :id within scope into the statement row; 0 after answering 404. */
static int64_t alert_scoped(struct http_request *req, struct http_response *res, int64_t *hh)
{
	int64_t id = path_int(req, 0);
	struct db_stmt *st;
	int found = 0;
	if (id > 0) {
		st = db_prepare(req->db, "SELECT a.household_id FROM alert a JOIN household h ON h.id "
					 "= a.household_id WHERE a.id = :id AND h.village_code >= :lo "
					 "AND h.village_code < :hi");
		db_bind_int(st, ":id", id);
		bind_scope(st, req);
		if (db_step(st) == DB_ROW) {
			*hh = db_col_int(st, 0);
			found = 1;
		}
		db_done(st);
	}
	if (!found) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该线索（或不在您的管辖范围内）");
		return 0;
	}
	return id;
}

static void api_alert_get(struct http_request *req, struct http_response *res)
{
	int64_t hh, id = alert_scoped(req, res, &hh);
	struct db_stmt *st;
	struct jw w;
	if (!id)
		return;
	reply_begin(res, 200, &w);
	jw_object(&w);
	st = db_prepare(req->db, ALERT_SELECT "WHERE a.id = :id");
	db_bind_int(st, ":id", id);
	if (db_step(st) == DB_ROW)
		alert_fields(&w, st);
	db_done(st);
	jw_key(&w, "evidence");
	jw_array(&w);
	st = db_prepare(req->db, "SELECT id, channel, source, source_version, risk_types, explain, "
				 "created_at FROM alert_evidence WHERE alert_id = :id ORDER BY id");
	db_bind_int(st, ":id", id);
	while (db_step(st) == DB_ROW) {
		int ch = (int)db_col_int(st, 1);
		jw_object(&w);
		jw_kint(&w, "id", db_col_int(st, 0));
		jw_kstr(&w, "channel", ch >= ALERT_RULE && ch <= ALERT_DEPT ? channel_names[ch] : "");
		jw_kstr(&w, "source", db_col_text(st, 2));
		jw_kint(&w, "source_version", db_col_int(st, 3));
		risk_labels(&w, "risk_types", db_col_text(st, 4));
		jw_kstr(&w, "explain", db_col_text(st, 5));
		jw_kstr(&w, "created_at", db_col_text(st, 6));
		jw_object_end(&w);
	}
	db_done(st);
	jw_array_end(&w);
	jw_object_end(&w);
}

static void api_alert_dismiss(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "reason", NULL };
	const char *reason = json_string_value(json_object_get(req->json, "reason"));
	int64_t hh, id;
	struct db_stmt *st;
	int changed;
	if (http_refuse_unknown_fields(res, req->json, fields) || !(id = alert_scoped(req, res, &hh)))
		return;
	if (strcmp(req->principal->role, "village_clerk") &&
	    strcmp(req->principal->role, "township_reviewer")) {
		http_reply_error(res, 403, "E_STEP_ROLE", NULL, "排除线索应由村级信息员或乡镇审核人员办理");
		return;
	}
	if (!reason || !*reason) {
		http_reply_error(res, 422, "E_REQUIRED", NULL, "请填写排除原因（reason）");
		return;
	}
	st = db_prepare(req->db, "UPDATE alert SET status = 'dismissed', closed_note = :n WHERE id "
				 "= :id AND status = 'open'");
	db_bind_text(st, ":n", reason);
	db_bind_int(st, ":id", id);
	db_run(st);
	changed = (int)db_changes(req->db);
	db_done(st);
	if (!changed) {
		http_reply_error(res, 409, "E_STATE", NULL, "只有待处理的线索可以排除");
		return;
	}
	http_audit_note(req, "alert", id, NULL, json_pack("{s:s, s:s}", "status", "dismissed",
							  "reason", reason));
	http_reply_json(res, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "status", "dismissed"));
}

/* ---- cases ---------------------------------------------------------------------------- */

/* What a case row shows besides the case itself: its household and lights. */
struct case_extra {
	const char *hh_no, *village_code, *village_name, *head_name;
	const char *light, *total_light; /* "red" | "yellow" | "green" */
};

static void case_write_fields(struct http_request *req, struct jw *w, const struct case_rec *c,
			      const struct case_extra *x, int events)
{
	int n;
	const struct case_step_def *steps = monitor_case_steps(c->kind, &n);
	const struct case_step_def *d = c->step >= 1 && c->step <= n ? &steps[c->step - 1] : NULL;
	const struct role *r = d ? auth_role_find(d->role) : NULL;
	struct db_stmt *st;
	int active = !strcmp(c->state, "active");
	jw_object(w);
	jw_kint(w, "id", c->id);
	jw_kint(w, "household_id", c->household_id);
	if (x->hh_no) {
		jw_kstr(w, "hh_no", x->hh_no);
		jw_kstr(w, "village_code", x->village_code);
		jw_kstr(w, "village_name", x->village_name);
		jw_kstr(w, "head_name", x->head_name);
	}
	jw_kstr(w, "kind", c->kind == CASE_IDENTIFY ? "识别纳入" : "风险消除");
	jw_kint(w, "step", c->step);
	jw_kstr(w, "step_title", d ? d->title : "");
	jw_kstr(w, "step_role", d ? d->role : "");
	jw_kstr(w, "step_role_title", r ? r->title : "");
	jw_kstr(w, "state", c->state);
	jw_kstr(w, "opened_at", c->opened_at);
	jw_kstr(w, "step_started", c->step_started);
	jw_kstr(w, "step_due", c->step_due);
	jw_kstr(w, "total_due", c->total_due);
	jw_kstr(w, "light", active ? x->light : "");
	if (c->kind == CASE_IDENTIFY && active)
		jw_kstr(w, "total_light", x->total_light);
	jw_kstr(w, "elim_mode", c->elim_mode);
	jw_kstr(w, "closed_at", c->closed_at);
	jw_kbool(w, "can_act", d && active && !strcmp(req->principal->role, d->role));
	if (d) {
		jw_key(w, "required");
		jw_array(w);
		for (const char *const *f = d->required; *f; f++)
			jw_str(w, *f);
		jw_array_end(w);
	}
	if (events) {
		jw_key(w, "events");
		jw_array(w);
		st = db_prepare(req->db, "SELECT step, action, at, on_date, login, role, record FROM "
					 "case_event WHERE case_id = :c ORDER BY id");
		db_bind_int(st, ":c", c->id);
		while (db_step(st) == DB_ROW) {
			const struct case_step_def *ed = (int)db_col_int(st, 0) >= 1 && (int)db_col_int(st, 0) <= n
								 ? &steps[db_col_int(st, 0) - 1]
								 : NULL;
			jw_object(w);
			jw_kint(w, "step", db_col_int(st, 0));
			jw_kstr(w, "step_title", ed ? ed->title : "");
			jw_kstr(w, "action", db_col_text(st, 1));
			jw_kstr(w, "at", db_col_text(st, 2));
			jw_kstr(w, "on_date", db_col_text(st, 3));
			jw_kstr(w, "login", db_col_text(st, 4));
			jw_kstr(w, "role", db_col_text(st, 5));
			jw_key(w, "record");
			jw_raw(w, *db_col_text(st, 6) ? db_col_text(st, 6) : "{}");
			jw_object_end(w);
		}
		db_done(st);
		jw_array_end(w);
	}
	jw_object_end(w);
}

/* One case as the API shows it: looks up its household and lights. */
static void case_write(struct http_request *req, struct jw *w, const struct case_rec *c, int events)
{
	struct case_extra x = { 0 };
	char today[11], warn[11], hh_no[40] = "", village[13] = "", vname[128] = "", head[64] = "";
	struct db_stmt *st;
	int found;
	monitor_today_text(today);
	monitor_light_warn_day(req->db, today, warn);
	st = db_prepare(req->db, "SELECT h.hh_no, h.village_code, r.name, (SELECT name FROM member x "
				 "WHERE x.household_id = h.id AND x.relation = 1 ORDER BY x.id LIMIT "
				 "1) FROM household h LEFT JOIN region r ON r.code = h.village_code "
				 "WHERE h.id = :h");
	db_bind_int(st, ":h", c->household_id);
	found = db_step(st) == DB_ROW;
	if (found) {
		snprintf(hh_no, sizeof(hh_no), "%s", db_col_text(st, 0));
		snprintf(village, sizeof(village), "%s", db_col_text(st, 1));
		snprintf(vname, sizeof(vname), "%s", db_col_text(st, 2));
		snprintf(head, sizeof(head), "%s", db_col_text(st, 3));
	}
	db_done(st);
	if (found) {
		x.hh_no = hh_no;
		x.village_code = village;
		x.village_name = vname;
		x.head_name = head;
	}
	x.light = monitor_light_at(c->step_due, today, warn);
	x.total_light = monitor_light_at(c->total_due, today, warn);
	case_write_fields(req, w, c, &x, events);
}

static json_t *case_json(struct http_request *req, const struct case_rec *c)
{
	struct buf b = BUF_INIT;
	struct jw w;
	json_t *j;
	jw_init(&w, &b);
	case_write(req, &w, c, 0);
	j = json_loadb(b.buf, b.len, 0, NULL);
	buf_release(&b);
	return j;
}

/* The case queue (GET /api/v1/cases).  Region scope is the case's own copy
 * of its household's village (monitor.case migration 2, kept by triggers),
 * so a queue reads its cases from the index case_village and no household
 * is looked up before the page is cut.  The WHERE clause holds only the
 * conditions a request uses (a bounded set of texts, prepared once each):
 * a county's queue tests 6,000 index entries, and a clause of unused
 * "(:x = 0 OR …)" alternatives costs more than the rest of the request. */
#define CASE_LIGHT_RED "(c.step_due <> '' AND c.step_due < :today)"
#define CASE_LIGHT_YELLOW "(c.step_due <> '' AND c.step_due >= :today AND c.step_due <= :warn)"
#define CASE_LIGHT_GREEN "(c.step_due = '' OR c.step_due > :warn)"
/* the sort key of sort=due: the step's deadline, cases without one last.
 * Written as the expression of index case_due (monitor.notice migration 2)
 * for a county or wider without a filter on kind or step, where the page is
 * read in that index's order and no sort is needed; a township's or
 * village's few hundred cases are found by case_village, and a role's steps
 * by case_step, and sorted, so for them the same value is written so that
 * SQLite does not match it with case_due (it would walk every case of the
 * county in deadline order to find a village's). */
#define CASE_DUE_KEY_WIDE "(CASE WHEN c.step_due = '' THEN '9999-12-31' ELSE c.step_due END)"
#define CASE_DUE_KEY_NARROW "(CASE WHEN c.step_due <> '' THEN c.step_due ELSE '9999-12-31' END)"
enum { CL_ID, CL_HH, CL_KIND, CL_STEP, CL_STATE, CL_OPENED, CL_STARTED, CL_DUE, CL_TOTAL_DUE,
       CL_MODE, CL_CLOSED, CL_ALERT, CL_HH_NO, CL_VILLAGE, CL_VILLAGE_NAME, CL_HEAD };

struct case_filter {
	int kind;            /* 0 = both */
	const char *state;   /* active | done | rejected */
	int64_t step;        /* 0 = any */
	char prefix[16];     /* the region asked for, within scope; "-" matches nothing */
	const char *light;   /* "" = any */
	int mine;            /* only steps the caller's role acts on */
	int steps[2][3];     /* those steps per kind (0 = none) */
	int noticed;         /* -1 any, 0 not in a 公告 yet, 1 in one */
	char today[11], warn[11];
};

/* Append the WHERE clause of filter `f` (without light and cursor).  With
 * `by_due_index`, the scope is written so that no index can use it (the
 * value is the same): a county-wide list is then read from case_due in
 * deadline order, which SQLite would otherwise trade, once it has table
 * statistics, for a range of case_village and a sort of every case. */
static void case_where(struct buf *sql, const struct case_filter *f, int by_due_index)
{
	buf_addstr(sql, by_due_index ? "WHERE c.state = :state AND c.village_code || '' >= :lo AND "
				       "c.village_code || '' < :hi"
				     : "WHERE c.state = :state AND c.village_code >= :lo AND "
				       "c.village_code < :hi");
	if (f->kind)
		buf_addstr(sql, " AND c.kind = :kind");
	if (f->step)
		buf_addstr(sql, " AND c.step = :step");
	if (f->mine) {
		/* one branch per kind the role acts in, with just its steps: SQLite
		 * then seeks each (kind, step) in the index case_step */
		int branches = 0;
		buf_addstr(sql, " AND (");
		for (int k = 0; k < 2; k++) {
			if (!f->steps[k][0])
				continue;
			buf_addf(sql, "%s(c.kind = %d AND c.step IN (", branches++ ? " OR " : "", k + 1);
			for (int j = 0; j < 3 && f->steps[k][j]; j++)
				buf_addf(sql, "%s:%c%d", j ? ", " : "", k ? 'e' : 'i', j + 1);
			buf_addstr(sql, "))");
		}
		buf_addstr(sql, branches ? ")" : "1 = 0)");
	}
	if (f->noticed >= 0)
		buf_addstr(sql, f->noticed ? " AND EXISTS (SELECT 1 FROM case_notice_item n WHERE "
					     "n.case_id = c.id)"
					   : " AND NOT EXISTS (SELECT 1 FROM case_notice_item n WHERE "
					     "n.case_id = c.id)");
}

/* Bind what case_where() wrote, and the dates every light needs. */
static void case_bind(struct db_stmt *st, const struct case_filter *f)
{
	db_bind_text(st, ":state", f->state);
	db_bind_prefix(st, ":lo", ":hi", f->prefix);
	if (f->kind)
		db_bind_int(st, ":kind", f->kind);
	if (f->step)
		db_bind_int(st, ":step", f->step);
	/* parameter names must be string literals (the db layer remembers a
	 * name's index by its address) */
	static const char *const names[2][3] = { { ":i1", ":i2", ":i3" }, { ":e1", ":e2", ":e3" } };
	for (int k = 0; f->mine && k < 2; k++)
		for (int j = 0; j < 3 && f->steps[k][j]; j++)
			db_bind_int(st, names[k][j], f->steps[k][j]);
}

/* GET /api/v1/cases — the queue: cases in scope filtered by kind, state,
 * step, region, light, mine (the steps the caller's role acts on) and
 * noticed; sort=id (default, oldest first) or sort=due (nearest deadline
 * first); count=1 adds the total and the count per light.  Two queries
 * (the page, the counts), whatever the queue's length. */
static void api_cases(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "kind", "state", "step", "region", "light", "mine",
					      "noticed", "sort", "count", "limit", "cursor", NULL };
	const char *kind = http_query(req, "kind"), *state = http_query(req, "state");
	const char *step = http_query(req, "step"), *region = http_query(req, "region");
	const char *light = http_query(req, "light"), *mine = http_query(req, "mine");
	const char *noticed = http_query(req, "noticed"), *sort = http_query(req, "sort");
	const char *count = http_query(req, "count");
	const char *lim = http_query(req, "limit"), *cur = http_query(req, "cursor");
	const char *scope = scope_of(req);
	struct case_filter f = { 0 };
	int64_t limit = 50, cursor = 0;
	char cur_due[11] = "", next[40] = "";
	int by_due = sort && !strcmp(sort, "due"), n = 0, rc, bad = 0;
	const char *due_key;
	int wide;
	struct buf sql = BUF_INIT;
	struct db_stmt *st;
	struct jw w;
	if (http_refuse_unknown_params(req, res, params))
		return;
	if (kind) {
		f.kind = !strcmp(kind, "identify") || !strcmp(kind, "识别纳入") ? CASE_IDENTIFY
			 : !strcmp(kind, "eliminate") || !strcmp(kind, "风险消除") ? CASE_ELIMINATE
										      : -1;
	}
	if (cur && by_due) {
		/* "YYYY-MM-DD.ID": the deadline and id of the last case shown */
		const char *dot = strchr(cur, '.');
		long z;
		if (!dot || dot - cur != 10 || parse_int64(dot + 1, &cursor) || cursor <= 0)
			bad = 1;
		else
			snprintf(cur_due, sizeof(cur_due), "%.10s", cur);
		if (!bad && strcmp(cur_due, "9999-12-31") && monitor_date_parse(cur_due, &z))
			bad = 1;
	} else if (cur && (parse_int64(cur, &cursor) || cursor < 0)) {
		bad = 1;
	}
	if (bad || f.kind < 0 || (lim && (parse_int64(lim, &limit) || limit < 1 || limit > 500)) ||
	    (step && (parse_int64(step, &f.step) || f.step < 1 || f.step > 6)) ||
	    (region && (strlen(region) > 12 || strspn(region, "0123456789") != strlen(region))) ||
	    (state && strcmp(state, "active") && strcmp(state, "done") && strcmp(state, "rejected")) ||
	    (light && strcmp(light, "red") && strcmp(light, "yellow") && strcmp(light, "green")) ||
	    (mine && strcmp(mine, "0") && strcmp(mine, "1")) ||
	    (noticed && strcmp(noticed, "0") && strcmp(noticed, "1")) ||
	    (sort && strcmp(sort, "id") && strcmp(sort, "due")) ||
	    (count && strcmp(count, "0") && strcmp(count, "1"))) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL,
				 "查询参数无效（kind 为 identify 或 eliminate，state 为 active、done 或 "
				 "rejected，light 为 red、yellow 或 green，sort 为 id 或 due）");
		return;
	}
	f.state = state ? state : "active";
	f.light = light ? light : "";
	f.mine = mine && !strcmp(mine, "1");
	f.noticed = noticed ? atoi(noticed) : -1;
	/* the narrower of the scope and the region asked for; disjoint: nothing */
	if (!region || starts_with(region, scope))
		snprintf(f.prefix, sizeof(f.prefix), "%s", region ? region : scope);
	else if (starts_with(scope, region))
		snprintf(f.prefix, sizeof(f.prefix), "%s", scope);
	else
		snprintf(f.prefix, sizeof(f.prefix), "-");
	if (f.mine) {
		for (int k = CASE_IDENTIFY; k <= CASE_ELIMINATE; k++) {
			int nsteps, j = 0;
			const struct case_step_def *d = monitor_case_steps(k, &nsteps);
			for (int i = 0; i < nsteps && j < 3; i++)
				if (!strcmp(d[i].role, req->principal->role))
					f.steps[k - 1][j++] = d[i].step;
		}
	}
	monitor_today_text(f.today);
	monitor_light_warn_day(req->db, f.today, f.warn);
	/* a role's queue (mine, kind, step) seeks its steps in case_step instead */
	wide = strlen(f.prefix) < 9 && !f.mine && !f.kind && !f.step;
	due_key = wide ? CASE_DUE_KEY_WIDE : CASE_DUE_KEY_NARROW;

	/* the page: ids first, then their households and head names */
	buf_addstr(&sql, "SELECT c.id, c.household_id, c.kind, c.step, c.state, c.opened_at, "
			 "c.step_started, c.step_due, c.total_due, c.elim_mode, c.closed_at, "
			 "c.alert_id, h.hh_no, h.village_code, r.name, (SELECT name FROM member x "
			 "WHERE x.household_id = h.id AND x.relation = 1 ORDER BY x.id LIMIT 1) FROM "
			 "(SELECT c.id FROM monitor_case c ");
	case_where(&sql, &f, wide && by_due);
	if (*f.light)
		buf_addstr(&sql, !strcmp(f.light, "red")      ? " AND " CASE_LIGHT_RED
				 : !strcmp(f.light, "yellow") ? " AND " CASE_LIGHT_YELLOW
							      : " AND " CASE_LIGHT_GREEN);
	if (cursor && by_due)
		buf_addf(&sql, " AND (%s > :cdue OR (%s = :cdue AND c.id > :cur))", due_key, due_key);
	else if (cursor)
		buf_addstr(&sql, " AND c.id > :cur");
	if (by_due)
		buf_addf(&sql, " ORDER BY %s, c.id", due_key);
	else
		buf_addstr(&sql, " ORDER BY c.id");
	buf_addstr(&sql, " LIMIT :n) k JOIN monitor_case c ON c.id = k.id JOIN household h ON h.id = "
			 "c.household_id LEFT JOIN region r ON r.code = h.village_code");
	if (by_due)
		buf_addf(&sql, " ORDER BY %s, c.id", due_key);
	else
		buf_addstr(&sql, " ORDER BY c.id");
	st = db_prepare_text(req->db, sql.buf);
	case_bind(st, &f);
	if (!strcmp(f.light, "red") || !strcmp(f.light, "yellow"))
		db_bind_text(st, ":today", f.today);
	if (!strcmp(f.light, "yellow") || !strcmp(f.light, "green"))
		db_bind_text(st, ":warn", f.warn);
	if (cursor) {
		db_bind_int(st, ":cur", cursor);
		if (by_due)
			db_bind_text(st, ":cdue", cur_due);
	}
	db_bind_int(st, ":n", limit + 1);
	reply_begin(res, 200, &w);
	jw_object(&w);
	jw_key(&w, "items");
	jw_array(&w);
	while ((rc = db_step(st)) == DB_ROW) {
		struct case_rec c;
		struct case_extra x;
		if (n == limit)
			break;
		memset(&c, 0, sizeof(c));
		c.id = db_col_int(st, CL_ID);
		c.household_id = db_col_int(st, CL_HH);
		c.kind = (int)db_col_int(st, CL_KIND);
		c.step = (int)db_col_int(st, CL_STEP);
		snprintf(c.state, sizeof(c.state), "%s", db_col_text(st, CL_STATE));
		snprintf(c.opened_at, sizeof(c.opened_at), "%s", db_col_text(st, CL_OPENED));
		snprintf(c.step_started, sizeof(c.step_started), "%s", db_col_text(st, CL_STARTED));
		snprintf(c.step_due, sizeof(c.step_due), "%s", db_col_text(st, CL_DUE));
		snprintf(c.total_due, sizeof(c.total_due), "%s", db_col_text(st, CL_TOTAL_DUE));
		snprintf(c.elim_mode, sizeof(c.elim_mode), "%s", db_col_text(st, CL_MODE));
		snprintf(c.closed_at, sizeof(c.closed_at), "%s", db_col_text(st, CL_CLOSED));
		c.alert_id = db_col_is_null(st, CL_ALERT) ? 0 : db_col_int(st, CL_ALERT);
		x.hh_no = db_col_text(st, CL_HH_NO);
		x.village_code = db_col_text(st, CL_VILLAGE);
		x.village_name = db_col_text(st, CL_VILLAGE_NAME);
		x.head_name = db_col_text(st, CL_HEAD);
		x.light = monitor_light_at(c.step_due, f.today, f.warn);
		x.total_light = monitor_light_at(c.total_due, f.today, f.warn);
		case_write_fields(req, &w, &c, &x, 0);
		if (by_due)
			snprintf(next, sizeof(next), "%s.%lld", *c.step_due ? c.step_due : "9999-12-31",
				 (long long)c.id);
		else
			snprintf(next, sizeof(next), "%lld", (long long)c.id);
		n++;
	}
	db_done(st);
	jw_array_end(&w);
	jw_key(&w, "next_cursor");
	if (rc == DB_ROW && n == limit)
		jw_str(&w, next);
	else
		jw_null(&w);
	if (count && !strcmp(count, "1")) {
		/* the same filters without the light and the page: what the tabs
		 * show, counted per deadline (a county's read in the order of
		 * case_due, no sort) and given their light here */
		int64_t total = 0, lights[3] = { 0, 0, 0 };
		buf_reset(&sql);
		buf_addf(&sql, "SELECT %s, count(*) FROM monitor_case c ", due_key);
		case_where(&sql, &f, wide);
		buf_addf(&sql, " GROUP BY %s", due_key);
		st = db_prepare_text(req->db, sql.buf);
		case_bind(st, &f);
		while ((rc = db_step(st)) == DB_ROW) {
			const char *due = db_col_text(st, 0);
			const char *l = monitor_light_at(strcmp(due, "9999-12-31") ? due : "", f.today,
							 f.warn);
			int64_t k = db_col_int(st, 1);
			total += k;
			lights[!strcmp(l, "red") ? 0 : !strcmp(l, "yellow") ? 1 : 2] += k;
		}
		db_done(st);
		if (rc == DB_DONE) {
			jw_kint(&w, "total", total);
			jw_key(&w, "lights");
			jw_object(&w);
			jw_kint(&w, "red", lights[0]);
			jw_kint(&w, "yellow", lights[1]);
			jw_kint(&w, "green", lights[2]);
			jw_object_end(&w);
		}
	}
	jw_object_end(&w);
	buf_release(&sql);
}

static int case_scoped(struct http_request *req, struct http_response *res, struct case_rec *c)
{
	int64_t id = path_int(req, 0);
	struct household_rec h;
	if (id < 0 || monitor_case_load(req->db, id, c) != 1 ||
	    registry_household_load_scoped(req->db, c->household_id, scope_of(req), &h) != 1) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该流程（或不在您的管辖范围内）");
		return 0;
	}
	return 1;
}

static void api_case_get(struct http_request *req, struct http_response *res)
{
	struct case_rec c;
	struct jw w;
	if (!case_scoped(req, res, &c))
		return;
	reply_begin(res, 200, &w);
	case_write(req, &w, &c, 1);
}

static void reply_case_error(struct http_response *res, int status, struct buf *err)
{
	const char *code = status == 403 ? "E_STEP_ROLE" : status == 409 ? "E_STATE"
				       : status == 500 ? "E_DB" : "E_CASE_RULE";
	http_reply_error(res, status, code, NULL, "%s", err->buf);
}

static void case_action(struct http_request *req, struct http_response *res, const char *action)
{
	struct case_rec c;
	struct buf err = BUF_INIT;
	json_t *before;
	int status;
	if (!case_scoped(req, res, &c))
		return;
	before = case_json(req, &c);
	if (monitor_case_act(req->db, &c, action, req->json, req->principal, &err, &status)) {
		json_decref(before);
		reply_case_error(res, status, &err);
		buf_release(&err);
		return;
	}
	http_audit_note(req, "case", c.id, before, case_json(req, &c));
	{
		struct jw w;
		reply_begin(res, 200, &w);
		case_write(req, &w, &c, 1);
	}
}

static void api_case_advance(struct http_request *req, struct http_response *res)
{
	case_action(req, res, "advance");
}

static void api_case_return(struct http_request *req, struct http_response *res)
{
	case_action(req, res, "return");
}

static void api_case_reject(struct http_request *req, struct http_response *res)
{
	case_action(req, res, "reject");
}

static void open_case(struct http_request *req, struct http_response *res, int64_t household_id,
		      enum case_kind kind, int64_t alert_id, const char *mode)
{
	struct buf err = BUF_INIT;
	struct case_rec c;
	int status;
	int64_t id = monitor_case_open(req->db, household_id, kind, alert_id, mode, req->principal,
				       &err, &status);
	if (id < 0) {
		if (status == 422 && kind == CASE_ELIMINATE && err.len)
			http_reply_error(res, 422, "E_ELIMINATION_CONDITIONS", NULL,
					 "不符合风险消除条件：%s", err.buf);
		else
			reply_case_error(res, status, &err);
		buf_release(&err);
		return;
	}
	monitor_case_load(req->db, id, &c);
	http_audit_note(req, "case", id, NULL, case_json(req, &c));
	{
		struct jw w;
		reply_begin(res, 201, &w);
		case_write(req, &w, &c, 1);
	}
}

static void api_alert_case(struct http_request *req, struct http_response *res)
{
	int64_t hh, id;
	struct db_stmt *st;
	int open_alert;
	if (!(id = alert_scoped(req, res, &hh)))
		return;
	st = db_prepare(req->db, "SELECT 1 FROM alert WHERE id = :id AND status = 'open'");
	db_bind_int(st, ":id", id);
	open_alert = db_step(st) == DB_ROW;
	db_done(st);
	if (!open_alert) {
		http_reply_error(res, 409, "E_STATE", NULL, "只有待处理的线索可以启动识别流程");
		return;
	}
	open_case(req, res, hh, CASE_IDENTIFY, id, NULL);
}

static void api_elimination(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "mode", NULL };
	struct household_rec h;
	if (http_refuse_unknown_fields(res, req->json, fields) || !household_scoped(req, res, &h))
		return;
	open_case(req, res, h.id, CASE_ELIMINATE, 0,
		  json_string_value(json_object_get(req->json, "mode")));
}

/* ---- visits, self-reports, 三保障 ----------------------------------------------------- */

static void reply_refusal(struct http_response *res, struct monitor_refusal *why)
{
	http_reply_error(res, why->status, why->code, NULL, "%s", why->message.buf);
}

static void api_visit_create(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "visit_date", "note", "risk_found", "risk_types", NULL };
	json_t *date = json_object_get(req->json, "visit_date");
	json_t *note = json_object_get(req->json, "note");
	json_t *rf = json_object_get(req->json, "risk_found");
	struct household_rec h;
	struct buf codes = BUF_INIT;
	struct monitor_refusal why;
	struct visit_input v = { 0 };
	int64_t id;
	if (http_refuse_unknown_fields(res, req->json, fields) || !household_scoped(req, res, &h))
		return;
	if ((date && !json_is_string(date)) || (note && !json_is_string(note)) ||
	    (rf && !json_is_boolean(rf))) {
		http_reply_error(res, 422, "E_BAD_TYPE", NULL,
				 "visit_date、note 应为字符串，risk_found 应为 true 或 false");
		return;
	}
	if (risk_codes(res, json_object_get(req->json, "risk_types"), &codes)) {
		buf_release(&codes);
		return;
	}
	v.visit_date = json_string_value(date);
	v.note = json_string_value(note);
	v.risk_found = json_is_true(rf);
	v.risk_types = codes.buf;
	monitor_refusal_init(&why);
	id = monitor_visit_add(req->db, h.id, &v, req->principal, &why);
	if (id < 0) {
		reply_refusal(res, &why);
	} else {
		http_audit_note(req, "visit", id, NULL,
				json_pack("{s:I, s:s, s:s, s:b, s:s}", "household_id",
					  (json_int_t)h.id, "visit_date", v.visit_date, "note", v.note,
					  "risk_found", v.risk_found, "risk_types", codes.buf));
		http_reply_json(res, 201, json_pack("{s:I, s:I, s:s}", "id", (json_int_t)id,
						    "household_id", (json_int_t)h.id, "visit_date",
						    v.visit_date));
	}
	monitor_refusal_release(&why);
	buf_release(&codes);
}

static void api_visits(struct http_request *req, struct http_response *res)
{
	struct household_rec h;
	struct db_stmt *st;
	struct jw w;
	if (!household_scoped(req, res, &h))
		return;
	reply_begin(res, 200, &w);
	jw_object(&w);
	jw_key(&w, "items");
	jw_array(&w);
	st = db_prepare(req->db, "SELECT id, visit_date, visitor, note, risk_found, risk_types FROM "
				 "visit WHERE household_id = :h ORDER BY visit_date DESC, id DESC");
	db_bind_int(st, ":h", h.id);
	while (db_step(st) == DB_ROW) {
		jw_object(&w);
		jw_kint(&w, "id", db_col_int(st, 0));
		jw_kstr(&w, "visit_date", db_col_text(st, 1));
		jw_kstr(&w, "visitor", db_col_text(st, 2));
		jw_kstr(&w, "note", db_col_text(st, 3));
		jw_kbool(&w, "risk_found", (int)db_col_int(st, 4));
		risk_labels(&w, "risk_types", db_col_text(st, 5));
		jw_object_end(&w);
	}
	db_done(st);
	jw_array_end(&w);
	jw_object_end(&w);
}

/* POST /api/v1/households/:id/applications — 自主申报, entered by a cadre. */
static void api_application(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "reason", "risk_types", "applied_on", NULL };
	json_t *reason = json_object_get(req->json, "reason");
	json_t *on = json_object_get(req->json, "applied_on");
	struct household_rec h;
	struct buf codes = BUF_INIT;
	struct monitor_refusal why;
	struct application_input a = { 0 };
	int64_t alert;
	if (http_refuse_unknown_fields(res, req->json, fields) || !household_scoped(req, res, &h))
		return;
	if ((reason && !json_is_string(reason)) || (on && !json_is_string(on))) {
		http_reply_error(res, 422, "E_BAD_TYPE", NULL, "reason、applied_on 应为字符串");
		return;
	}
	if (risk_codes(res, json_object_get(req->json, "risk_types"), &codes)) {
		buf_release(&codes);
		return;
	}
	a.reason = json_string_value(reason);
	a.applied_on = json_string_value(on);
	a.risk_types = codes.buf;
	monitor_refusal_init(&why);
	alert = monitor_application_add(req->db, h.id, &a, req->principal, &why);
	if (alert < 0) {
		reply_refusal(res, &why);
	} else {
		http_audit_note(req, "alert", alert, NULL,
				json_pack("{s:I, s:s, s:s}", "household_id", (json_int_t)h.id,
					  "reason", a.reason, "risk_types", codes.buf));
		http_reply_json(res, 201, json_pack("{s:I, s:I}", "alert_id", (json_int_t)alert,
						    "household_id", (json_int_t)h.id));
	}
	monitor_refusal_release(&why);
	buf_release(&codes);
}

static void api_security_put(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "housing_safe", "schooling_ok", "water_safe",
					      "medical_ok", NULL };
	struct household_rec h;
	struct db_stmt *st;
	int64_t year = path_int(req, 1);
	char today[11];
	int v[4];
	if (http_refuse_unknown_fields(res, req->json, fields) || !household_scoped(req, res, &h))
		return;
	if (year < 2015 || year > 2100) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "年度无效");
		return;
	}
	for (int i = 0; i < 4; i++) {
		json_t *b = json_object_get(req->json, fields[i]);
		if (!json_is_boolean(b)) {
			http_reply_error(res, 422, "E_BAD_TYPE", NULL, "%s 应为 true 或 false（必填）",
					 fields[i]);
			return;
		}
		v[i] = json_is_true(b);
	}
	monitor_today_text(today);
	st = db_prepare(req->db, "INSERT INTO hh_security(household_id, year, housing_safe, "
				 "schooling_ok, water_safe, medical_ok, recorded_on) VALUES(:h, :y, :a, "
				 ":b, :c, :d, :t) ON CONFLICT(household_id, year) DO UPDATE SET "
				 "housing_safe = excluded.housing_safe, schooling_ok = "
				 "excluded.schooling_ok, water_safe = excluded.water_safe, medical_ok = "
				 "excluded.medical_ok, recorded_on = excluded.recorded_on");
	db_bind_int(st, ":h", h.id);
	db_bind_int(st, ":y", year);
	db_bind_int(st, ":a", v[0]);
	db_bind_int(st, ":b", v[1]);
	db_bind_int(st, ":c", v[2]);
	db_bind_int(st, ":d", v[3]);
	db_bind_text(st, ":t", today);
	if (db_run(st) < 0) {
		db_done(st);
		http_reply_error(res, 500, "E_DB", NULL, "保存失败：%s", db_errmsg(req->db));
		return;
	}
	db_done(st);
	http_audit_note(req, "household", h.id, NULL, json_incref(req->json));
	http_reply_json(res, 200, json_pack("{s:I, s:I, s:b, s:b, s:b, s:b}", "household_id",
					    (json_int_t)h.id, "year", (json_int_t)year, "housing_safe",
					    v[0], "schooling_ok", v[1], "water_safe", v[2],
					    "medical_ok", v[3]));
}

/* GET /api/v1/households/:id/monitoring — status, active case, and whether
 * risk elimination could start today (with the failing conditions). */
static void api_monitoring(struct http_request *req, struct http_response *res)
{
	struct household_rec h;
	struct monitor_status ms;
	struct buf why = BUF_INIT;
	char today[11];
	struct jw w;
	if (!household_scoped(req, res, &h))
		return;
	if (monitor_status_load(req->db, h.id, &ms)) {
		http_reply_error(res, 500, "E_DB", NULL, "读取失败：%s", db_errmsg(req->db));
		return;
	}
	monitor_today_text(today);
	reply_begin(res, 200, &w);
	jw_object(&w);
	jw_kint(&w, "household_id", h.id);
	jw_kstr(&w, "status", monitor_status_title(&ms));
	if (ms.state) {
		jw_kstr(&w, "category", codes_label(&code_monitor_category, ms.category));
		risk_labels(&w, "risk_types", ms.risk_types);
		jw_kstr(&w, "identified_on", ms.identified_on);
		jw_kstr(&w, "contact_name", ms.contact_name);
		jw_kstr(&w, "contact_phone", ms.contact_phone);
		jw_kstr(&w, "eliminated_on", ms.eliminated_on);
		jw_kstr(&w, "elim_mode", ms.elim_mode);
	}
	if (ms.active_case) {
		struct case_rec c;
		monitor_case_load(req->db, ms.active_case, &c);
		jw_key(&w, "active_case");
		case_write(req, &w, &c, 0);
	} else {
		jw_knull(&w, "active_case");
	}
	monitor_elimination_check(req->db, h.id, today, &why);
	jw_kbool(&w, "can_eliminate", why.len == 0);
	jw_kstr(&w, "elimination_blockers", why.buf);
	jw_object_end(&w);
	buf_release(&why);
}

/* GET /api/v1/households/:id/timeline — alerts, steps, measures, visits and
 * income changes in date order. */
static void api_timeline(struct http_request *req, struct http_response *res)
{
	struct household_rec h;
	struct monitor_event *ev = NULL;
	int alloc = 0, n;
	struct jw w;
	if (!household_scoped(req, res, &h))
		return;
	n = monitor_timeline(req->db, h.id, &ev, &alloc);
	if (n < 0) {
		http_reply_error(res, 500, "E_DB", NULL, "读取失败：%s", db_errmsg(req->db));
		return;
	}
	reply_begin(res, 200, &w);
	jw_object(&w);
	jw_kint(&w, "household_id", h.id);
	jw_key(&w, "items");
	jw_array(&w);
	for (int i = 0; i < n; i++) {
		jw_object(&w);
		jw_kstr(&w, "at", ev[i].at);
		jw_kstr(&w, "kind", ev[i].kind);
		jw_kstr(&w, "detail", ev[i].detail);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_object_end(&w);
	monitor_events_free(ev, n);
}

const struct route monitor_case_routes[] = {
	{ "GET", "/api/v1/alerts", api_alerts, 0, "household.read", "风险线索列表" },
	{ "GET", "/api/v1/alerts/:id", api_alert_get, 0, "household.read", "风险线索详情及证据" },
	{ "POST", "/api/v1/alerts/:id/dismiss", api_alert_dismiss, ROUTE_WRITE | ROUTE_JSON,
	  "household.write", "排除线索" },
	{ "POST", "/api/v1/alerts/:id/case", api_alert_case, ROUTE_WRITE, "household.write",
	  "由线索启动识别纳入" },
	{ "GET", "/api/v1/cases", api_cases, 0, "household.read", "流程待办（按环节、期限）" },
	{ "GET", "/api/v1/cases/:id", api_case_get, 0, "household.read", "流程详情" },
	{ "POST", "/api/v1/cases/:id/advance", api_case_advance, ROUTE_WRITE | ROUTE_JSON,
	  "household.read", "办理当前环节" },
	{ "POST", "/api/v1/cases/:id/return", api_case_return, ROUTE_WRITE | ROUTE_JSON,
	  "household.read", "退回上一环节" },
	{ "POST", "/api/v1/cases/:id/reject", api_case_reject, ROUTE_WRITE | ROUTE_JSON,
	  "household.read", "不予通过" },
	{ "POST", "/api/v1/households/:id/elimination", api_elimination, ROUTE_WRITE | ROUTE_JSON,
	  "household.write", "启动风险消除" },
	{ "GET", "/api/v1/households/:id/monitoring", api_monitoring, 0, "household.read",
	  "监测状态" },
	{ "POST", "/api/v1/households/:id/visits", api_visit_create, ROUTE_WRITE | ROUTE_JSON,
	  "household.write", "登记走访" },
	{ "GET", "/api/v1/households/:id/visits", api_visits, 0, "household.read", "走访记录" },
	{ "POST", "/api/v1/households/:id/applications", api_application, ROUTE_WRITE | ROUTE_JSON,
	  "household.write", "农户自主申报" },
	{ "PUT", "/api/v1/households/:id/security/:year", api_security_put, ROUTE_WRITE | ROUTE_JSON,
	  "household.write", "三保障和饮水安全情况" },
	{ "GET", "/api/v1/households/:id/timeline", api_timeline, 0, "household.read", "户时间轴" },
	{ NULL },
};
