/* feed_api.c — the JSON API of department feeds: definitions, their rules
 * and thresholds (administrators), file uploads by the sending department
 * with the per-row report, the batch history, and the hits pushed to
 * villages with their verification feedback (待核实 → 已核实-纳入 /
 * 已核实-无风险 / 不属实).  Hits are scoped by the household's region in
 * SQL; batches by the region they were loaded for; a department user may
 * upload only its own department's feeds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/jw.h"
#include "base/util.h"
#include "monitor/monitor.h"
#include "screen/feed_int.h"

#define PERM_FEED_LOAD "feed.load"

static const char *const hit_states[] = { "待核实", "已核实-纳入", "已核实-无风险", "不属实", NULL };

static void reply_begin(struct http_response *res, int status, struct jw *w)
{
	res->status = status;
	res->content_type = "application/json; charset=utf-8";
	buf_reset(&res->body);
	jw_init(w, &res->body);
}

static int64_t path_int(struct http_request *req, int i)
{
	int64_t v;
	if (req->nr_path_params <= i || parse_int64(req->path_params[i], &v) || v <= 0)
		return -1;
	return v;
}

/* Record the change and a Chinese detail line for the audit log. */
static void audit(struct http_request *req, const char *type, int64_t id, json_t *old_value,
		  json_t *new_value, const char *detail)
{
	http_audit_note(req, type, id, old_value, new_value);
	snprintf(req->audit.detail, sizeof(req->audit.detail), "%s", detail);
}

static int is_admin(const struct http_request *req)
{
	return auth_permitted(req->principal, "monitor.config");
}

static void jw_kdouble(struct jw *w, const char *key, double v)
{
	char num[64];
	jw_key(w, key);
	if (!isfinite(v)) {
		jw_null(w);
		return;
	}
	snprintf(num, sizeof(num), "%.15g", v);
	jw_raw(w, num);
}

static int rule_id_ok(const char *s);

/* Load the feed whose id is path parameter 0 (ids only: titles are free
 * text), or answer 404. */
static int feed_or_404(struct http_request *req, struct http_response *res, struct feed_def *d)
{
	struct buf err = BUF_INIT;
	int ok = rule_id_ok(req->path_params[0]) && !feed_def_load(req->db, req->path_params[0], d, &err);
	buf_release(&err);
	if (!ok)
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "没有该部门数据类型");
	return ok;
}

static void write_rule(struct jw *w, const struct feed_rule *r)
{
	jw_object(w);
	jw_kstr(w, "id", r->id);
	jw_kint(w, "version", r->version);
	jw_kstr(w, "title", r->title);
	jw_kstr(w, "severity", r->severity);
	jw_key(w, "risk_types");
	jw_array(w);
	for (const char *p = r->risk_types; *p;) {
		const char *l = codes_label(&code_risk_type, atoi(p));
		if (l)
			jw_str(w, l);
		p = strchr(p, ',');
		if (!p)
			break;
		p++;
	}
	jw_array_end(w);
	jw_kstr(w, "expression", r->expression);
	jw_kbool(w, "enabled", r->enabled);
	jw_object_end(w);
}

static void write_def(struct http_request *req, struct jw *w, const struct feed_def *d, int full)
{
	jw_kstr(w, "id", d->id);
	jw_kint(w, "version", d->version);
	jw_kstr(w, "title", d->title);
	jw_kstr(w, "department", d->department);
	jw_kstr(w, "cadence", d->cadence);
	jw_kstr(w, "accumulate", d->accumulate ? "year" : "none");
	jw_kint(w, "verify_days", d->verify_days);
	jw_kbool(w, "enabled", d->enabled);
	jw_key(w, "columns");
	jw_array(w);
	for (int c = 0; c < d->nr_cols; c++) {
		jw_object(w);
		jw_kstr(w, "name", d->cols[c].name);
		jw_kstr(w, "title", d->cols[c].title);
		jw_kstr(w, "type", feed_type_name(d->cols[c].type));
		jw_kbool(w, "required", d->cols[c].required);
		jw_object_end(w);
	}
	jw_array_end(w);
	if (!full)
		return;
	jw_key(w, "fields");
	jw_array(w);
	for (int f = 0; f < d->catalog.nr_fields; f++) {
		const struct rule_field *rf = &d->catalog.fields[f];
		jw_object(w);
		char name[48];
		snprintf(name, sizeof(name), "%s%s", rf->scope == RULE_PARAM ? "$" : "", rf->name);
		jw_kstr(w, "name", name);
		jw_kstr(w, "title", rf->title);
		jw_object_end(w);
	}
	jw_array_end(w);
	jw_key(w, "rules");
	jw_array(w);
	for (int k = 0; k < d->nr_rules; k++)
		write_rule(w, &d->rules[k]);
	jw_array_end(w);
	jw_key(w, "params");
	jw_array(w);
	{
		struct db_stmt *st = db_prepare(req->db, "SELECT name, year, region, value, basis, "
							 "updated_at FROM feed_param WHERE feed_id = :f "
							 "ORDER BY name, year, region");
		db_bind_text(st, ":f", d->id);
		while (db_step(st) == DB_ROW) {
			const char *title = "";
			for (int p = 0; p < d->nr_params; p++)
				if (!strcmp(d->params[p].name, db_col_text(st, 0)))
					title = d->params[p].title;
			jw_object(w);
			jw_kstr(w, "name", db_col_text(st, 0));
			jw_kstr(w, "title", title);
			jw_kint(w, "year", db_col_int(st, 1));
			jw_kstr(w, "region", db_col_text(st, 2));
			jw_kdouble(w, "value", db_col_double(st, 3));
			jw_kstr(w, "basis", db_col_text(st, 4));
			jw_kstr(w, "updated_at", db_col_text(st, 5));
			jw_object_end(w);
		}
		db_done(st);
	}
	jw_array_end(w);
}

/* GET /api/v1/feeds */
static void api_feeds(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { NULL };
	struct db_stmt *st;
	struct jw w;
	char **ids = NULL;
	int n = 0, alloc = 0;
	if (http_refuse_unknown_params(req, res, params))
		return;
	st = db_prepare(req->db, "SELECT DISTINCT id FROM feed_def ORDER BY id");
	while (db_step(st) == DB_ROW) {
		ALLOC_GROW(ids, n + 1, alloc);
		ids[n++] = xstrdup(db_col_text(st, 0));
	}
	db_done(st);
	reply_begin(res, 200, &w);
	jw_object(&w);
	jw_key(&w, "items");
	jw_array(&w);
	for (int i = 0; i < n; i++) {
		struct feed_def d;
		struct buf err = BUF_INIT;
		if (!feed_def_load(req->db, ids[i], &d, &err)) {
			jw_object(&w);
			write_def(req, &w, &d, 0);
			jw_kint(&w, "rules", d.nr_rules);
			jw_object_end(&w);
			feed_def_release(&d);
		}
		buf_release(&err);
		free(ids[i]);
	}
	free(ids);
	jw_array_end(&w);
	jw_object_end(&w);
}

/* GET /api/v1/feeds/:id */
static void api_feed_get(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { NULL };
	struct feed_def d;
	struct jw w;
	if (http_refuse_unknown_params(req, res, params) || !feed_or_404(req, res, &d))
		return;
	reply_begin(res, 200, &w);
	jw_object(&w);
	write_def(req, &w, &d, 1);
	jw_object_end(&w);
	feed_def_release(&d);
}

/* POST /api/v1/feeds: a new feed or the next version of one (the body is
 * the definition). */
static void api_feed_define(struct http_request *req, struct http_response *res)
{
	struct buf err = BUF_INIT;
	char *text = json_dumps(req->json, JSON_COMPACT);
	int version = 0;
	if (screen_feed_define(req->db, text, req->principal->login, &version, &err)) {
		http_reply_error(res, 422, "E_FEED_DEF", NULL, "%s", err.buf);
	} else {
		struct jw w;
		json_t *id = json_object_get(req->json, "id");
		audit(req, "feed", 0, NULL, json_incref(req->json), "部门数据类型定义");
		reply_begin(res, 201, &w);
		jw_object(&w);
		jw_kstr(&w, "id", json_string_value(id));
		jw_kint(&w, "version", version);
		jw_object_end(&w);
	}
	free(text);
	buf_release(&err);
}

static int rule_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 31)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
			return 0;
	return (s[0] < '0' || s[0] > '9');
}

/* PUT /api/v1/feeds/:id/rules/:rule — a new version of a rule (or a new rule). */
static void api_feed_rule_put(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "title", "severity", "risk_types", "expression",
					      "enabled", NULL };
	struct feed_def d;
	struct feed_rule r, old;
	struct buf err = BUF_INIT;
	json_t *body, *before = NULL;
	int have_old, version;
	struct jw w;
	if (http_refuse_unknown_fields(res, req->json, fields) || !feed_or_404(req, res, &d))
		return;
	if (!rule_id_ok(req->path_params[1])) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "规则编号无效");
		feed_def_release(&d);
		return;
	}
	have_old = feed_rule_latest(req->db, d.id, req->path_params[1], &old) == 1;
	/* fields not given keep the current version's values */
	body = json_deep_copy(req->json);
	json_object_set_new(body, "id", json_string(req->path_params[1]));
	if (have_old) {
		if (!json_object_get(body, "title"))
			json_object_set_new(body, "title", json_string(old.title));
		if (!json_object_get(body, "severity"))
			json_object_set_new(body, "severity", json_string(old.severity));
		if (!json_object_get(body, "expression"))
			json_object_set_new(body, "expression", json_string(old.expression));
		if (!json_object_get(body, "enabled"))
			json_object_set_new(body, "enabled", json_boolean(old.enabled));
		if (!json_object_get(body, "risk_types")) {
			json_t *a = json_array();
			for (const char *p = old.risk_types; *p;) {
				const char *l = codes_label(&code_risk_type, atoi(p));
				if (l)
					json_array_append_new(a, json_string(l));
				p = strchr(p, ',');
				if (!p)
					break;
				p++;
			}
			json_object_set_new(body, "risk_types", a);
		}
		before = json_pack("{s:s, s:i, s:s, s:b}", "id", old.id, "version", old.version,
				   "expression", old.expression, "enabled", old.enabled);
	}
	memset(&r, 0, sizeof(r));
	if (feed_rule_from_json(body, &r, &err) || feed_rule_compile(&d, &r, &err)) {
		rule_free(r.compiled);
		http_reply_error(res, 422, "E_RULE", NULL, "%s", err.buf);
		goto out;
	}
	version = feed_rule_store(req->db, d.id, &r, req->principal->login);
	rule_free(r.compiled);
	if (version < 0) {
		http_reply_error(res, 500, "E_DB", NULL, "保存失败：%s", db_errmsg(req->db));
		goto out;
	}
	r.version = version;
	audit(req, "feed_rule", 0, before ? json_incref(before) : NULL,
			json_pack("{s:s, s:s, s:i, s:s, s:b}", "feed", d.id, "id", r.id, "version",
				  version, "expression", r.expression, "enabled", r.enabled),
			"修改部门数据规则");
	reply_begin(res, 200, &w);
	r.compiled = NULL;
	write_rule(&w, &r);
out:
	json_decref(before);
	json_decref(body);
	feed_def_release(&d);
	buf_release(&err);
}

/* PUT /api/v1/feeds/:id/params/:name {value, year, region, basis} — a
 * threshold for a year and a region within the caller's scope. */
static void api_feed_param_put(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "value", "year", "region", "basis", NULL };
	struct feed_def d;
	json_t *val, *yr, *rg, *bs;
	char region[13] = "", now[20];
	const char *scope = req->principal->scope;
	int known = 0, rc;
	int64_t year = 0;
	struct db_stmt *st;
	struct jw w;
	if (http_refuse_unknown_fields(res, req->json, fields) || !feed_or_404(req, res, &d))
		return;
	for (int p = 0; p < d.nr_params; p++)
		known |= !strcmp(d.params[p].name, req->path_params[1]);
	if (!known) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "该部门数据类型没有阈值参数“%s”",
				 req->path_params[1]);
		goto out;
	}
	val = json_object_get(req->json, "value");
	yr = json_object_get(req->json, "year");
	rg = json_object_get(req->json, "region");
	bs = json_object_get(req->json, "basis");
	if (!json_is_number(val) || !isfinite(json_number_value(val)) ||
	    fabs(json_number_value(val)) > 1e12) {
		http_reply_error(res, 422, "E_BAD_VALUE", NULL, "value 应为数字");
		goto out;
	}
	if (yr && (!json_is_integer(yr) || (json_integer_value(yr) != 0 &&
					     (json_integer_value(yr) < 2000 ||
					      json_integer_value(yr) > 2199)))) {
		http_reply_error(res, 422, "E_BAD_YEAR", NULL, "year 应为 2000–2199 的年份，或 0 表示各年");
		goto out;
	}
	year = yr ? json_integer_value(yr) : 0;
	if (rg && (!json_is_string(rg) || auth_scope_prefix(json_string_value(rg), region))) {
		http_reply_error(res, 422, "E_BAD_REGION", NULL, "region 应为区划代码（如 610926）");
		goto out;
	}
	if (bs && (!json_is_string(bs) || json_string_length(bs) > 255)) {
		http_reply_error(res, 422, "E_BAD_VALUE", NULL, "basis 应为不超过 255 字节的文本");
		goto out;
	}
	/* an administrator sets thresholds for its own region and below */
	if (strncmp(region, scope, strlen(scope))) {
		http_reply_error(res, 403, "E_OUT_OF_SCOPE", NULL,
				 "只能设置本辖区（%s）及下级的阈值", scope[0] ? scope : "全部");
		goto out;
	}
	now_utc_text(now);
	st = db_prepare(req->db, "DELETE FROM feed_param WHERE feed_id = :f AND name = :n AND year = "
				 ":y AND region = :r");
	db_bind_text(st, ":f", d.id);
	db_bind_text(st, ":n", req->path_params[1]);
	db_bind_int(st, ":y", year);
	db_bind_text(st, ":r", region);
	rc = db_run(st);
	db_done(st);
	if (rc)
		goto dberr;
	st = db_prepare(req->db, "INSERT INTO feed_param(feed_id, name, year, region, value, basis, "
				 "updated_at, updated_by) VALUES (:f, :n, :y, :r, :v, :b, :now, :by)");
	db_bind_text(st, ":f", d.id);
	db_bind_text(st, ":n", req->path_params[1]);
	db_bind_int(st, ":y", year);
	db_bind_text(st, ":r", region);
	db_bind_double(st, ":v", json_number_value(val));
	db_bind_text(st, ":b", bs ? json_string_value(bs) : "");
	db_bind_text(st, ":now", now);
	db_bind_text(st, ":by", req->principal->login);
	rc = db_run(st);
	db_done(st);
	if (rc)
		goto dberr;
	audit(req, "feed_param", 0, NULL,
			json_pack("{s:s, s:s, s:I, s:s, s:f}", "feed", d.id, "name",
				  req->path_params[1], "year", (json_int_t)year, "region", region,
				  "value", json_number_value(val)),
			"设置部门数据阈值");
	reply_begin(res, 200, &w);
	jw_object(&w);
	jw_kstr(&w, "feed", d.id);
	jw_kstr(&w, "name", req->path_params[1]);
	jw_kint(&w, "year", year);
	jw_kstr(&w, "region", region);
	jw_kdouble(&w, "value", json_number_value(val));
	jw_object_end(&w);
	goto out;
dberr:
	http_reply_error(res, 500, "E_DB", NULL, "保存失败：%s", db_errmsg(req->db));
out:
	feed_def_release(&d);
}

/* ---- uploads and batches --------------------------------------------------------------- */

static void write_issue(struct jw *w, const struct feed_issue *is)
{
	jw_object(w);
	jw_kstr(w, "kind", feed_issue_kind_name(is->kind));
	jw_kint(w, "line", is->line);
	jw_kint(w, "rows", is->nr_rows);
	jw_kstr(w, "column", is->column);
	jw_kstr(w, "id_number", is->id_masked);
	jw_kstr(w, "name", is->name);
	if (is->household_id)
		jw_kint(w, "household_id", is->household_id);
	jw_kstr(w, "message", is->message);
	jw_object_end(w);
}

static void write_report(struct jw *w, const struct feed_report *r, int dry_run)
{
	int shown = r->nr_issues < 500 ? r->nr_issues : 500;
	jw_object(w);
	if (r->batch_id)
		jw_kint(w, "batch_id", r->batch_id);
	else
		jw_knull(w, "batch_id");
	jw_kbool(w, "dry_run", dry_run);
	jw_kstr(w, "feed", r->feed_id);
	jw_kint(w, "feed_version", r->feed_version);
	jw_kstr(w, "feed_title", r->feed_title);
	jw_kstr(w, "period", r->period);
	jw_kstr(w, "encoding", r->encoding);
	jw_kint(w, "rows", r->rows);
	jw_kint(w, "bad_rows", r->bad_rows);
	jw_kint(w, "matched_rows", r->matched_rows);
	jw_kint(w, "persons", r->persons);
	jw_kint(w, "unmatched_rows", r->unmatched_rows);
	jw_kint(w, "mismatch_rows", r->mismatch_rows);
	jw_kint(w, "outside_rows", r->outside_rows);
	jw_kint(w, "hits", r->hits);
	jw_kint(w, "alerts", r->alerts);
	jw_kint(w, "total_issues", r->total_issues);
	jw_key(w, "issues");
	jw_array(w);
	for (int i = 0; i < shown; i++)
		write_issue(w, &r->issues[i]);
	jw_array_end(w);
	jw_kdouble(w, "seconds", r->seconds);
	jw_object_end(w);
}

static int flag_param(struct http_request *req, struct http_response *res, const char *name,
		      int *out)
{
	const char *v = http_query(req, name);
	*out = 0;
	if (!v)
		return 0;
	if (!strcmp(v, "1") || !strcmp(v, "true"))
		*out = 1;
	else if (strcmp(v, "0") && strcmp(v, "false")) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "参数 %s 应为 1 或 0", name);
		return -1;
	}
	return 0;
}

/* POST /api/v1/feeds/:id/batches — the body is the file (CSV). */
static void api_feed_upload(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "period", "skip_bad", "dry_run", "file_name", NULL };
	const char *ct = req->content_type ? req->content_type : "";
	struct feed_load_opts o = { 0 };
	struct feed_report r;
	struct feed_def d;
	struct jw w;
	int skip_bad, dry_run, rc;
	if (http_refuse_unknown_params(req, res, params) ||
	    flag_param(req, res, "skip_bad", &skip_bad) || flag_param(req, res, "dry_run", &dry_run))
		return;
	if (*ct && !starts_with(ct, "text/csv") && !starts_with(ct, "text/plain") &&
	    !starts_with(ct, "application/octet-stream") &&
	    !starts_with(ct, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")) {
		http_reply_error(res, 415, "E_CONTENT_TYPE", NULL,
				 "请上传 CSV 文件（Content-Type: text/csv）或 Excel 工作簿（.xlsx）");
		return;
	}
	if (!feed_or_404(req, res, &d))
		return;
	/* a department sends its own lists; an administrator any */
	if (!is_admin(req) && strcmp(req->principal->department, d.department)) {
		http_reply_error(res, 403, "E_DEPARTMENT", NULL, "“%s”由%s报送，您所在部门（%s）不能导入",
				 d.title, d.department,
				 req->principal->department[0] ? req->principal->department : "未设置");
		feed_def_release(&d);
		return;
	}
	if (!req->body_len) {
		http_reply_error(res, 400, "E_EMPTY", NULL, "上传的文件是空的");
		feed_def_release(&d);
		return;
	}
	o.feed = d.id;
	o.data = req->body;
	o.len = req->body_len;
	o.file_name = http_query(req, "file_name");
	o.period = http_query(req, "period");
	o.scope = req->principal->scope;
	o.skip_bad = skip_bad;
	o.dry_run = dry_run;
	o.user_id = req->principal->user_id;
	o.login = req->principal->login;
	feed_report_init(&r);
	rc = screen_feed_load(req->db, &o, &r);
	if (rc < 0) {
		int status = !strcmp(r.code, "E_DUPLICATE_BATCH") ? 409
			     : !strcmp(r.code, "E_DB") || !strcmp(r.code, "E_DB_BUSY") ? 503
			     : 422;
		json_t *det = r.duplicate_of ? json_pack("{s:I}", "batch_id",
							 (json_int_t)r.duplicate_of)
					     : NULL;
		http_reply_error(res, status, r.code, det, "%s", r.message.buf);
	} else if (rc == 1) {
		struct buf body = BUF_INIT;
		struct jw rw;
		json_t *det;
		jw_init(&rw, &body);
		write_report(&rw, &r, dry_run);
		det = json_loads(body.buf, 0, NULL);
		http_reply_error(res, 422, "E_BAD_ROWS", det, "%s", r.message.buf);
		buf_release(&body);
	} else {
		if (!dry_run)
			audit(req, "feed_batch", r.batch_id, NULL,
					json_pack("{s:s, s:s, s:I, s:I, s:I}", "feed", r.feed_id,
						  "period", r.period, "rows", (json_int_t)r.rows,
						  "matched_rows", (json_int_t)r.matched_rows, "hits",
						  (json_int_t)r.hits),
					"导入部门数据");
		reply_begin(res, dry_run ? 200 : 201, &w);
		write_report(&w, &r, dry_run);
	}
	feed_report_release(&r);
	feed_def_release(&d);
}

enum { BA_ID, BA_FEED, BA_TITLE, BA_PERIOD, BA_FILE, BA_ENC, BA_AT, BA_LOGIN, BA_ROWS, BA_BAD,
       BA_MATCHED, BA_UNMATCHED, BA_MISMATCH, BA_OUTSIDE, BA_PERSONS, BA_HITS, BA_ALERTS,
       BA_MILLIS, BA_SCOPE };
#define BATCH_SELECT                                                                               \
	"SELECT b.id, b.feed_id, (SELECT title FROM feed_def d WHERE d.id = b.feed_id AND "         \
	"d.version = b.feed_version), b.period, b.file_name, b.encoding, b.loaded_at, b.login, "     \
	"b.rows, b.bad_rows, b.matched_rows, b.unmatched_rows, b.mismatch_rows, b.outside_rows, "  \
	"b.persons, b.hits, b.alerts, b.millis, b.scope FROM feed_batch b "

static void batch_fields(struct jw *w, struct db_stmt *st)
{
	jw_kint(w, "id", db_col_int(st, BA_ID));
	jw_kstr(w, "feed", db_col_text(st, BA_FEED));
	jw_kstr(w, "feed_title", db_col_text(st, BA_TITLE));
	jw_kstr(w, "period", db_col_text(st, BA_PERIOD));
	jw_kstr(w, "file_name", db_col_text(st, BA_FILE));
	jw_kstr(w, "encoding", db_col_text(st, BA_ENC));
	jw_kstr(w, "loaded_at", db_col_text(st, BA_AT));
	jw_kstr(w, "login", db_col_text(st, BA_LOGIN));
	jw_kint(w, "rows", db_col_int(st, BA_ROWS));
	jw_kint(w, "bad_rows", db_col_int(st, BA_BAD));
	jw_kint(w, "matched_rows", db_col_int(st, BA_MATCHED));
	jw_kint(w, "unmatched_rows", db_col_int(st, BA_UNMATCHED));
	jw_kint(w, "mismatch_rows", db_col_int(st, BA_MISMATCH));
	jw_kint(w, "outside_rows", db_col_int(st, BA_OUTSIDE));
	jw_kint(w, "persons", db_col_int(st, BA_PERSONS));
	jw_kint(w, "hits", db_col_int(st, BA_HITS));
	jw_kint(w, "alerts", db_col_int(st, BA_ALERTS));
	jw_kint(w, "millis", db_col_int(st, BA_MILLIS));
	jw_kstr(w, "scope", db_col_text(st, BA_SCOPE));
}

/* The department filter: an administrator sees every feed, a department
 * user its own department's. */
static const char *dept_filter(struct http_request *req)
{
	return is_admin(req) ? NULL : req->principal->department;
}

#define BATCH_VISIBLE                                                                              \
	"b.scope >= :lo AND b.scope < :hi AND (:dept IS NULL OR EXISTS (SELECT 1 FROM feed_def d " \
	"WHERE d.id = b.feed_id AND d.department = :dept)) "

/* GET /api/v1/feed-batches?feed=&cursor=&limit= */
static void api_batches(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "feed", "cursor", "limit", NULL };
	const char *feed = http_query(req, "feed"), *cur = http_query(req, "cursor"),
		   *lim = http_query(req, "limit");
	int64_t cursor = 0, limit = 50, last = 0;
	struct db_stmt *st;
	struct jw w;
	int n = 0, rc;
	if (http_refuse_unknown_params(req, res, params))
		return;
	if ((cur && (parse_int64(cur, &cursor) || cursor < 0)) ||
	    (lim && (parse_int64(lim, &limit) || limit < 1 || limit > 500))) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "cursor 或 limit 无效");
		return;
	}
	st = db_prepare(req->db, BATCH_SELECT "WHERE " BATCH_VISIBLE "AND (:f IS NULL OR b.feed_id = "
					      ":f) AND (:cur = 0 OR b.id < :cur) ORDER BY b.id DESC "
					      "LIMIT :lim");
	db_bind_prefix(st, ":lo", ":hi", req->principal->scope);
	db_bind_text(st, ":dept", dept_filter(req));
	db_bind_text(st, ":f", feed);
	db_bind_int(st, ":cur", cursor);
	db_bind_int(st, ":lim", limit + 1);
	reply_begin(res, 200, &w);
	jw_object(&w);
	jw_key(&w, "items");
	jw_array(&w);
	while ((rc = db_step(st)) == DB_ROW && n < limit) {
		last = db_col_int(st, BA_ID);
		jw_object(&w);
		batch_fields(&w, st);
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

/* GET /api/v1/feed-batches/:id?kind=&cursor=&limit= — the batch and its issues. */
static void api_batch_get(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "kind", "cursor", "limit", NULL };
	static const char *const kinds[] = { "", "bad", "unmatched", "name", "outside", NULL };
	const char *kind = http_query(req, "kind"), *cur = http_query(req, "cursor"),
		   *lim = http_query(req, "limit");
	int64_t id = path_int(req, 0), cursor = 0, limit = 100, last = 0;
	int k = 0, found, n = 0, rc;
	struct db_stmt *st;
	struct jw w;
	if (http_refuse_unknown_params(req, res, params))
		return;
	if (kind) {
		for (int i = 1; kinds[i]; i++)
			if (!strcmp(kind, kinds[i]))
				k = i;
	}
	if ((kind && !k) || (cur && (parse_int64(cur, &cursor) || cursor < 0)) ||
	    (lim && (parse_int64(lim, &limit) || limit < 1 || limit > 1000))) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL,
				 "参数无效（kind 可为 bad、unmatched、name、outside）");
		return;
	}
	st = db_prepare(req->db, BATCH_SELECT "WHERE b.id = :id AND " BATCH_VISIBLE);
	db_bind_int(st, ":id", id);
	db_bind_prefix(st, ":lo", ":hi", req->principal->scope);
	db_bind_text(st, ":dept", dept_filter(req));
	found = db_step(st) == DB_ROW;
	if (found) {
		reply_begin(res, 200, &w);
		jw_object(&w);
		batch_fields(&w, st);
	}
	db_done(st);
	if (!found) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该批次（或不在您的管辖范围内）");
		return;
	}
	jw_key(&w, "issues");
	jw_array(&w);
	st = db_prepare(req->db, "SELECT id, kind, line, nr_rows, id_number, name, household_id, "
				 "message FROM feed_issue WHERE batch_id = :b AND (:k = 0 OR kind = "
				 ":k) AND id > :cur ORDER BY id LIMIT :lim");
	db_bind_int(st, ":b", id);
	db_bind_int(st, ":k", k);
	db_bind_int(st, ":cur", cursor);
	db_bind_int(st, ":lim", limit + 1);
	while ((rc = db_step(st)) == DB_ROW && n < limit) {
		struct feed_issue is;
		memset(&is, 0, sizeof(is));
		last = db_col_int(st, 0);
		is.kind = (int)db_col_int(st, 1);
		is.line = (long)db_col_int(st, 2);
		is.nr_rows = (long)db_col_int(st, 3);
		snprintf(is.id_masked, sizeof(is.id_masked), "%s", db_col_text(st, 4));
		snprintf(is.name, sizeof(is.name), "%s", db_col_text(st, 5));
		is.household_id = db_col_is_null(st, 6) ? 0 : db_col_int(st, 6);
		snprintf(is.message, sizeof(is.message), "%s", db_col_text(st, 7));
		write_issue(&w, &is);
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

/* ---- hits and their verification ---------------------------------------------------- */

enum { HI_ID, HI_FEED, HI_TITLE, HI_RULE, HI_VERSION, HI_BATCH, HI_YEAR, HI_MEMBER, HI_HH,
       HI_ALERT, HI_EXPLAIN, HI_STATE, HI_DUE, HI_FEEDBACK, HI_FB_BY, HI_FB_AT, HI_CREATED,
       HI_HH_NO, HI_VILLAGE, HI_NAME };
#define HIT_SELECT                                                                                 \
	"SELECT x.id, x.feed_id, (SELECT title FROM feed_def d WHERE d.id = x.feed_id ORDER BY "    \
	"d.version DESC LIMIT 1), x.rule_id, x.rule_version, x.batch_id, x.year, x.member_id, "     \
	"x.household_id, x.alert_id, x.explain, x.state, x.due_on, x.feedback, x.feedback_by, "    \
	"x.feedback_at, x.created_at, h.hh_no, r.name, m.name FROM feed_hit x JOIN household h ON " \
	"h.id = x.household_id JOIN member m ON m.id = x.member_id LEFT JOIN region r ON r.code = " \
	"h.village_code "

/* red: not verified and overdue; yellow: not verified, still in time; green:
 * verified */
static const char *hit_light(const char *state, const char *due, const char *today)
{
	return strcmp(state, "待核实") ? "green" : strcmp(due, today) < 0 ? "red" : "yellow";
}

static void hit_fields(struct jw *w, struct db_stmt *st, const char *today)
{
	const char *state = db_col_text(st, HI_STATE), *due = db_col_text(st, HI_DUE);
	jw_kint(w, "id", db_col_int(st, HI_ID));
	jw_kstr(w, "feed", db_col_text(st, HI_FEED));
	jw_kstr(w, "feed_title", db_col_text(st, HI_TITLE));
	jw_kstr(w, "rule_id", db_col_text(st, HI_RULE));
	jw_kint(w, "rule_version", db_col_int(st, HI_VERSION));
	jw_kint(w, "batch_id", db_col_int(st, HI_BATCH));
	jw_kint(w, "year", db_col_int(st, HI_YEAR));
	jw_kint(w, "member_id", db_col_int(st, HI_MEMBER));
	jw_kstr(w, "member_name", db_col_text(st, HI_NAME));
	jw_kint(w, "household_id", db_col_int(st, HI_HH));
	jw_kstr(w, "hh_no", db_col_text(st, HI_HH_NO));
	jw_kstr(w, "village_name", db_col_text(st, HI_VILLAGE));
	if (db_col_is_null(st, HI_ALERT))
		jw_knull(w, "alert_id");
	else
		jw_kint(w, "alert_id", db_col_int(st, HI_ALERT));
	jw_kstr(w, "explain", db_col_text(st, HI_EXPLAIN));
	jw_kstr(w, "state", state);
	jw_kstr(w, "due_on", due);
	jw_kstr(w, "light", hit_light(state, due, today));
	jw_kstr(w, "feedback", db_col_text(st, HI_FEEDBACK));
	jw_kstr(w, "feedback_by", db_col_text(st, HI_FB_BY));
	jw_kstr(w, "feedback_at", db_col_text(st, HI_FB_AT));
	jw_kstr(w, "created_at", db_col_text(st, HI_CREATED));
}

/* GET /api/v1/feed-hits?state=&feed=&region=&overdue=1&cursor=&limit= */
static void api_hits(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "state", "feed", "region", "overdue", "household_id",
					      "cursor", "limit", NULL };
	const char *state = http_query(req, "state"), *feed = http_query(req, "feed"),
		   *region = http_query(req, "region"), *cur = http_query(req, "cursor"),
		   *lim = http_query(req, "limit"), *hh = http_query(req, "household_id");
	int64_t cursor = 0, limit = 50, last = 0, hid = 0;
	int overdue, n = 0, rc, ok_state = !state;
	char today[11];
	struct db_stmt *st;
	struct jw w;
	if (http_refuse_unknown_params(req, res, params) ||
	    flag_param(req, res, "overdue", &overdue))
		return;
	for (int i = 0; state && hit_states[i]; i++)
		ok_state |= !strcmp(state, hit_states[i]);
	if (!ok_state || (cur && (parse_int64(cur, &cursor) || cursor < 0)) ||
	    (lim && (parse_int64(lim, &limit) || limit < 1 || limit > 500)) ||
	    (hh && (parse_int64(hh, &hid) || hid <= 0)) ||
	    (region && (strlen(region) > 12 || strspn(region, "0123456789") != strlen(region)))) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL,
				 "查询参数无效（state 可为 待核实、已核实-纳入、已核实-无风险、不属实）");
		return;
	}
	monitor_today_text(today);
	st = db_prepare(req->db, HIT_SELECT "WHERE h.village_code >= :lo AND h.village_code < :hi AND "
					    "h.village_code >= :rlo AND h.village_code < :rhi AND (:st "
					    "IS NULL OR x.state = :st) AND (:f IS NULL OR x.feed_id = "
					    ":f) AND (:od = 0 OR (x.state = '待核实' AND x.due_on < "
					    ":today)) AND (:hh = 0 OR x.household_id = :hh) AND (:cur "
					    "= 0 OR x.id < :cur) ORDER BY x.id DESC LIMIT :lim");
	db_bind_prefix(st, ":lo", ":hi", req->principal->scope);
	db_bind_prefix(st, ":rlo", ":rhi", region ? region : "");
	db_bind_text(st, ":st", state);
	db_bind_text(st, ":f", feed);
	db_bind_int(st, ":od", overdue);
	db_bind_text(st, ":today", today);
	db_bind_int(st, ":hh", hid);
	db_bind_int(st, ":cur", cursor);
	db_bind_int(st, ":lim", limit + 1);
	reply_begin(res, 200, &w);
	jw_object(&w);
	jw_key(&w, "items");
	jw_array(&w);
	while ((rc = db_step(st)) == DB_ROW && n < limit) {
		last = db_col_int(st, HI_ID);
		jw_object(&w);
		hit_fields(&w, st, today);
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

int feed_hit_answer(struct http_request *req, int64_t hh, int64_t id, const char *state,
		    const char *note, struct feed_refusal *why)
{
	char old_state[32] = "", now[20];
	struct db_stmt *st;
	int found = 0, ok = 0, rc;
	size_t len = note ? strlen(note) : 0;
	why->code = NULL;
	why->field = NULL;
	buf_reset(&why->message);
	st = db_prepare(req->db, "SELECT x.state FROM feed_hit x JOIN household h ON h.id = "
				 "x.household_id WHERE x.id = :id AND (:hh = 0 OR x.household_id = "
				 ":hh) AND h.village_code >= :lo AND h.village_code < :hi");
	db_bind_int(st, ":id", id);
	db_bind_int(st, ":hh", hh);
	db_bind_prefix(st, ":lo", ":hi", req->principal->scope);
	if ((rc = db_step(st)) == DB_ROW) {
		found = 1;
		snprintf(old_state, sizeof(old_state), "%s", db_col_text(st, 0));
	}
	db_done(st);
	if (rc < 0) {
		why->code = "E_DB";
		buf_addf(&why->message, "读取预警失败：%s", db_errmsg(req->db));
		return 500;
	}
	if (!found) {
		why->code = "E_NOT_FOUND";
		buf_addstr(&why->message, "找不到该预警（或不在您的管辖范围内）");
		return 404;
	}
	for (int i = 1; hit_states[i] && state; i++)
		ok |= !strcmp(state, hit_states[i]);
	if (!ok) {
		why->code = "E_BAD_STATE";
		why->field = "state";
		buf_addstr(&why->message, "核实结果应为 已核实-纳入、已核实-无风险 或 不属实");
		return 422;
	}
	if (!len || len > FEED_NOTE_MAX) {
		why->code = "E_NOTE_REQUIRED";
		why->field = "note";
		buf_addf(&why->message, "请填写核实情况（note，不超过 %d 字节）", FEED_NOTE_MAX);
		return 422;
	}
	now_utc_text(now);
	st = db_prepare(req->db, "UPDATE feed_hit SET state = :s, feedback = :n, feedback_by = :by, "
				 "feedback_at = :now WHERE id = :id");
	db_bind_text(st, ":s", state);
	db_bind_text(st, ":n", note);
	db_bind_text(st, ":by", req->principal->login);
	db_bind_text(st, ":now", now);
	db_bind_int(st, ":id", id);
	rc = db_run(st);
	db_done(st);
	if (rc) {
		why->code = "E_DB";
		buf_addf(&why->message, "保存失败：%s", db_errmsg(req->db));
		return 500;
	}
	audit(req, "feed_hit", id, json_pack("{s:s}", "state", old_state),
	      json_pack("{s:s, s:s}", "state", state, "note", note), "部门预警核实反馈");
	return 0;
}

int feed_hits_of_household(struct db *db, int64_t hh, struct feed_hit_row **out)
{
	struct feed_hit_row *rows = NULL;
	int n = 0, alloc = 0, rc;
	char today[11];
	struct db_stmt *st;
	monitor_today_text(today);
	st = db_prepare(db, HIT_SELECT "WHERE x.household_id = :hh ORDER BY x.state <> '待核实', "
				      "x.due_on, x.id");
	db_bind_int(st, ":hh", hh);
	while ((rc = db_step(st)) == DB_ROW) {
		struct feed_hit_row *r;
		const char *state = db_col_text(st, HI_STATE), *due = db_col_text(st, HI_DUE);
		ALLOC_GROW(rows, n + 1, alloc);
		r = &rows[n++];
		r->id = db_col_int(st, HI_ID);
		r->feed_title = xstrdup(db_col_text(st, HI_TITLE));
		r->member_name = xstrdup(db_col_text(st, HI_NAME));
		r->explain = xstrdup(db_col_text(st, HI_EXPLAIN));
		r->state = xstrdup(state);
		r->due_on = xstrdup(due);
		r->feedback = xstrdup(db_col_text(st, HI_FEEDBACK));
		r->feedback_by = xstrdup(db_col_text(st, HI_FB_BY));
		r->feedback_at = xstrdup(db_col_text(st, HI_FB_AT));
		r->light = hit_light(state, due, today);
	}
	db_done(st);
	if (rc < 0) {
		feed_hit_rows_free(rows, n);
		return -1;
	}
	*out = rows;
	return n;
}

void feed_hit_rows_free(struct feed_hit_row *rows, int n)
{
	for (int i = 0; i < n; i++) {
		free(rows[i].feed_title);
		free(rows[i].member_name);
		free(rows[i].explain);
		free(rows[i].state);
		free(rows[i].due_on);
		free(rows[i].feedback);
		free(rows[i].feedback_by);
		free(rows[i].feedback_at);
	}
	free(rows);
}

/* POST /api/v1/feed-hits/:id/feedback {state, note} — the village's answer. */
static void api_hit_feedback(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "state", "note", NULL };
	json_t *state = json_object_get(req->json, "state"), *note = json_object_get(req->json, "note");
	int64_t id = path_int(req, 0);
	struct feed_refusal why = { .message = BUF_INIT };
	char today[11];
	struct db_stmt *st;
	struct jw w;
	int status;
	if (http_refuse_unknown_fields(res, req->json, fields))
		return;
	status = feed_hit_answer(req, 0, id, json_is_string(state) ? json_string_value(state) : NULL,
				 json_is_string(note) ? json_string_value(note) : NULL, &why);
	if (status) {
		http_reply_error(res, status, why.code, NULL, "%s", why.message.buf);
		buf_release(&why.message);
		return;
	}
	buf_release(&why.message);
	monitor_today_text(today);
	st = db_prepare(req->db, HIT_SELECT "WHERE x.id = :id");
	db_bind_int(st, ":id", id);
	if (db_step(st) == DB_ROW) {
		reply_begin(res, 200, &w);
		jw_object(&w);
		hit_fields(&w, st, today);
		jw_object_end(&w);
	}
	db_done(st);
}

const struct route screen_feed_routes[] = {
	{ "GET", "/api/v1/feeds", api_feeds, 0, NULL, "部门数据类型列表" },
	{ "GET", "/api/v1/feeds/:id", api_feed_get, 0, NULL, "部门数据类型详情（列、规则、阈值）" },
	{ "POST", "/api/v1/feeds", api_feed_define, ROUTE_WRITE | ROUTE_JSON | ROUTE_COUNTY, "monitor.config",
	  "新增或修改部门数据类型（新版本）" },
	{ "PUT", "/api/v1/feeds/:id/rules/:rule", api_feed_rule_put,
	  ROUTE_WRITE | ROUTE_JSON | ROUTE_COUNTY,
	  "monitor.config", "修改部门数据规则（新版本）" },
	{ "PUT", "/api/v1/feeds/:id/params/:name", api_feed_param_put, ROUTE_WRITE | ROUTE_JSON,
	  "monitor.config", "设置部门数据阈值（按年度、区划）" },
	{ "POST", "/api/v1/feeds/:id/batches", api_feed_upload, ROUTE_WRITE | ROUTE_UPLOAD,
	  PERM_FEED_LOAD, "上传部门数据文件（CSV），匹配并推送预警" },
	{ "GET", "/api/v1/feed-batches", api_batches, 0, PERM_FEED_LOAD, "部门数据导入批次" },
	{ "GET", "/api/v1/feed-batches/:id", api_batch_get, 0, PERM_FEED_LOAD,
	  "导入批次报告（无效行、查无此人、姓名不一致）" },
	{ "GET", "/api/v1/feed-hits", api_hits, 0, "household.read", "部门数据预警（核实情况、期限）" },
	{ "POST", "/api/v1/feed-hits/:id/feedback", api_hit_feedback, ROUTE_WRITE | ROUTE_JSON,
	  "household.write", "核实反馈部门数据预警" },
	{ NULL },
};
