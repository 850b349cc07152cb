/* check_api.c — the JSON API of the data-quality checks: the catalogue
 * (read by everyone, edited by administrators as new versions), runs, and
 * the findings — a list by village with filters and cursor pagination, a
 * summary with counts per village and per check, and the findings of one
 * household.  Every findings query carries the caller's region scope in its
 * SQL (a village-code range); a household outside it answers 404.
 * Findings show 身份证号 and phone numbers only masked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jw.h"
#include "base/util.h"
#include "monitor/monitor.h"
#include "registry/registry.h"
#include "rules/rules.h"
#include "screen/check_internal.h"
#include "screen/screen.h"

#define FINDINGS_LIMIT_DEFAULT 50
#define FINDINGS_LIMIT_MAX 500
#define SUMMARY_LIMIT_DEFAULT 100
#define SUMMARY_LIMIT_MAX 1000

static const char *scope_of(const struct http_request *req)
{
	return req->principal ? req->principal->scope : "";
}

static int digits(const char *s, size_t max)
{
	size_t l = strlen(s);
	return l <= max && strspn(s, "0123456789") == l;
}

/* The region prefix a query covers: the longer of the caller's scope and
 * `region`; "X" (nothing) when `region` lies outside the scope.  out[13]. */
static void effective_prefix(const struct http_request *req, const char *region, char out[13])
{
	const char *scope = scope_of(req);
	if (region && !starts_with(region, scope) && !starts_with(scope, region))
		snprintf(out, 13, "X");
	else
		snprintf(out, 13, "%s", region && strlen(region) > strlen(scope) ? region : scope);
}

static int valid_check_id(const char *id)
{
	size_t l = strlen(id);
	return l && l <= 12 && strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == l;
}

static int valid_severity(const char *s)
{
	return !strcmp(s, "高") || !strcmp(s, "中") || !strcmp(s, "低");
}

/* ---- the catalogue ------------------------------------------------------------------- */

#define CHECK_COLUMNS                                                                              \
	"d.id, d.version, d.grp, d.severity, d.scope, d.kind, d.title, d.advice, d.expression, "    \
	"d.enabled, d.created_at, d.created_by"
enum { CC_ID, CC_VERSION, CC_GRP, CC_SEVERITY, CC_SCOPE, CC_KIND, CC_TITLE, CC_ADVICE, CC_EXPR,
       CC_ENABLED, CC_CREATED_AT, CC_CREATED_BY };

static void check_write(struct jw *w, struct db_stmt *st, int64_t open)
{
	const char *g = db_col_text(st, CC_GRP);
	jw_object(w);
	jw_kstr(w, "id", db_col_text(st, CC_ID));
	jw_kint(w, "version", db_col_int(st, CC_VERSION));
	jw_kstr(w, "group", g);
	jw_kstr(w, "group_title", check_group_title(g));
	jw_kstr(w, "severity", db_col_text(st, CC_SEVERITY));
	jw_kstr(w, "scope", db_col_int(st, CC_SCOPE) == RULE_MEMBER ? "member" : "household");
	jw_kstr(w, "kind", db_col_text(st, CC_KIND));
	jw_kstr(w, "title", db_col_text(st, CC_TITLE));
	jw_kstr(w, "advice", db_col_text(st, CC_ADVICE));
	jw_kstr(w, "expression", db_col_text(st, CC_EXPR));
	jw_kbool(w, "enabled", (int)db_col_int(st, CC_ENABLED));
	jw_kstr(w, "created_at", db_col_text(st, CC_CREATED_AT));
	jw_kstr(w, "created_by", db_col_text(st, CC_CREATED_BY));
	if (open >= 0)
		jw_kint(w, "open", open);
	jw_object_end(w);
}

/* GET /api/v1/checks?group= — the current version of every check, with its
 * open findings in the caller's scope. */
static void api_checks(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "group", NULL };
	const char *group = http_query(req, "group");
	struct db_stmt *st;
	struct jw w;
	char **ids = NULL;
	int64_t *counts = NULL;
	int n = 0, alloc = 0, rc;

	if (http_refuse_unknown_params(req, res, params))
		return;
	if (group && *group && !screen_check_group_known(group)) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL,
				 "group“%s”不是检查分组（可用：identity, structure, code, complete, "
				 "education, labour, insurance, publicjob, risk, range, unenrolled）",
				 group);
		return;
	}
	st = db_prepare(req->db, "SELECT f.check_id, count(*) FROM check_finding f JOIN household h "
				 "ON h.id = f.household_id WHERE f.state = 'open' AND h.village_code "
				 ">= :lo AND h.village_code < :hi GROUP BY f.check_id");
	db_bind_prefix(st, ":lo", ":hi", scope_of(req));
	while ((rc = db_step(st)) == DB_ROW) {
		ALLOC_GROW(ids, n + 1, alloc);
		counts = xrealloc(counts, alloc * sizeof(*counts));
		ids[n] = xstrdup(db_col_text(st, 0));
		counts[n++] = db_col_int(st, 1);
	}
	db_done(st);
	if (rc < 0) {
		http_reply_error(res, 500, "E_DB", NULL, "查询失败：%s", db_errmsg(req->db));
		goto out;
	}
	st = db_prepare(req->db, "SELECT " CHECK_COLUMNS " FROM check_def d WHERE d.version = "
				 "(SELECT max(version) FROM check_def x WHERE x.id = d.id) AND (:g = '' "
				 "OR d.grp = :g) ORDER BY d.id");
	db_bind_text(st, ":g", group ? group : "");
	res->status = 200;
	res->content_type = "application/json; charset=utf-8";
	jw_init(&w, &res->body);
	jw_object(&w);
	jw_key(&w, "items");
	jw_array(&w);
	while (db_step(st) == DB_ROW) {
		int64_t open = 0;
		for (int i = 0; i < n; i++)
			if (!strcmp(ids[i], db_col_text(st, CC_ID)))
				open = counts[i];
		check_write(&w, st, open);
	}
	db_done(st);
	jw_array_end(&w);
	jw_key(&w, "groups");
	jw_array(&w);
	for (int i = 0; check_groups[i].id; i++) {
		jw_object(&w);
		jw_kstr(&w, "id", check_groups[i].id);
		jw_kstr(&w, "title", check_groups[i].title);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_object_end(&w);
out:
	for (int i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(counts);
}

/* Answer with the current version of check `id` (status `status`). */
static void reply_check(struct http_request *req, struct http_response *res, const char *id,
			int status)
{
	struct db_stmt *st = db_prepare(req->db, "SELECT " CHECK_COLUMNS " FROM check_def d WHERE "
						 "d.id = :id ORDER BY d.version DESC LIMIT 1");
	struct jw w;
	db_bind_text(st, ":id", id);
	if (db_step(st) != DB_ROW) {
		db_done(st);
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到检查 %s", id);
		return;
	}
	res->status = status;
	res->content_type = "application/json; charset=utf-8";
	buf_reset(&res->body);
	jw_init(&w, &res->body);
	check_write(&w, st, -1);
	db_done(st);
}

/* A check as written to check_def. */
struct check_input {
	char id[16], grp[16], severity[8], kind[8];
	char title[256], advice[1024], expr[4096];
	int scope, enabled;
};

/* Read the fields present in the body over `in` (absent fields keep their
 * value), then validate the whole; answers and returns -1 on error. */
static int check_input_read(struct http_request *req, struct http_response *res,
			    struct check_input *in, const char *const *fields, int create)
{
	json_t *v;
	if (http_refuse_unknown_fields(res, req->json, fields))
		return -1;
#define TEXT_FIELD(name, what, dst)                                                                \
	if ((v = json_object_get(req->json, name))) {                                              \
		if (!json_is_string(v)) {                                                          \
			http_reply_error(res, 422, "E_BAD_TYPE", NULL, "%s（%s）应为字符串", what, name); \
			return -1;                                                                 \
		}                                                                                  \
		if (json_string_length(v) >= sizeof(dst)) {                                       \
			http_reply_error(res, 422, "E_VALIDATION", NULL, "%s（%s）过长，最多 %zu 字节", \
					 what, name, sizeof(dst) - 1);                             \
			return -1;                                                                 \
		}                                                                                  \
		snprintf(dst, sizeof(dst), "%s", json_string_value(v));                            \
	}
	TEXT_FIELD("id", "检查编号", in->id);
	TEXT_FIELD("group", "分组", in->grp);
	TEXT_FIELD("severity", "严重程度", in->severity);
	TEXT_FIELD("title", "名称", in->title);
	TEXT_FIELD("advice", "处理意见", in->advice);
	TEXT_FIELD("expression", "表达式", in->expr);
#undef TEXT_FIELD
	if ((v = json_object_get(req->json, "scope"))) {
		const char *sc = json_string_value(v);
		in->scope = sc && !strcmp(sc, "household") ? RULE_HOUSEHOLD
			    : sc && !strcmp(sc, "member")  ? RULE_MEMBER
							   : 0;
		if (!in->scope) {
			http_reply_error(res, 422, "E_VALIDATION", NULL,
					 "范围（scope）应为 household（户）或 member（成员）");
			return -1;
		}
	}
	if ((v = json_object_get(req->json, "enabled"))) {
		if (!json_is_boolean(v)) {
			http_reply_error(res, 422, "E_BAD_TYPE", NULL, "是否启用（enabled）应为 true 或 false");
			return -1;
		}
		in->enabled = json_is_true(v);
	}
	if (create && !valid_check_id(in->id)) {
		http_reply_error(res, 422, "E_VALIDATION", NULL,
				 "检查编号（id）应为大写字母、数字或下划线，最多12位");
		return -1;
	}
	if (!screen_check_group_known(in->grp)) {
		http_reply_error(res, 422, "E_VALIDATION", NULL,
				 "分组（group）应为 identity, structure, code, complete, education, "
				 "labour, insurance, publicjob, risk, range, unenrolled 之一");
		return -1;
	}
	if (!valid_severity(in->severity)) {
		http_reply_error(res, 422, "E_VALIDATION", NULL, "严重程度（severity）应为 高、中 或 低");
		return -1;
	}
	if (!in->title[0]) {
		http_reply_error(res, 422, "E_REQUIRED", NULL, "请填写检查名称（title）");
		return -1;
	}
	if (!strcmp(in->kind, "rule")) {
		struct rule_error err;
		struct rule *r;
		if (!in->expr[0]) {
			http_reply_error(res, 422, "E_REQUIRED", NULL, "请填写检查表达式（expression）");
			return -1;
		}
		r = rule_compile(check_catalog(), in->scope, in->expr, &err);
		if (!r) {
			http_reply_error(res, 422, "E_RULE_SYNTAX",
					 json_pack("{s:I, s:i}", "offset", (json_int_t)err.offset,
						   "column", err.column),
					 "%s", err.msg);
			return -1;
		}
		rule_free(r);
	}
	return 0;
}

static int save_check(struct http_request *req, struct http_response *res,
		      const struct check_input *in, int version)
{
	char now[20];
	struct db_stmt *st = db_prepare(req->db, "INSERT INTO check_def(id, version, grp, severity, "
						 "scope, kind, title, advice, expression, enabled, "
						 "created_at, created_by) VALUES(:id, :v, :g, :s, :sc, "
						 ":k, :t, :a, :e, :en, :now, :by)");
	int rc;
	now_utc_text(now);
	db_bind_text(st, ":id", in->id);
	db_bind_int(st, ":v", version);
	db_bind_text(st, ":g", in->grp);
	db_bind_text(st, ":s", in->severity);
	db_bind_int(st, ":sc", in->scope);
	db_bind_text(st, ":k", in->kind);
	db_bind_text(st, ":t", in->title);
	db_bind_text(st, ":a", in->advice);
	db_bind_text(st, ":e", in->expr);
	db_bind_int(st, ":en", in->enabled);
	db_bind_text(st, ":now", now);
	db_bind_text(st, ":by", req->principal->login);
	rc = db_run(st);
	db_done(st);
	if (rc < 0) {
		http_reply_error(res, rc == DB_CONSTRAINT ? 409 : 500,
				 rc == DB_CONSTRAINT ? "E_DUPLICATE" : "E_DB", NULL, "保存检查失败：%s",
				 db_errmsg(req->db));
		return -1;
	}
	http_audit_note(req, "check", 0, NULL,
			json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:b}", "id", in->id, "version",
				  version, "group", in->grp, "severity", in->severity, "title",
				  in->title, "expression", in->expr, "enabled", in->enabled));
	reply_check(req, res, in->id, version == 1 ? 201 : 200);
	return 0;
}

/* POST /api/v1/checks — a new check in the rule language. */
static void api_check_create(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "id", "group", "severity", "scope", "title",
					      "advice", "expression", "enabled", NULL };
	struct check_input in;
	struct db_stmt *st;
	int exists;
	memset(&in, 0, sizeof(in));
	in.scope = RULE_HOUSEHOLD;
	in.enabled = 1;
	snprintf(in.severity, sizeof(in.severity), "中");
	snprintf(in.kind, sizeof(in.kind), "rule");
	if (check_input_read(req, res, &in, fields, 1))
		return;
	st = db_prepare(req->db, "SELECT 1 FROM check_def WHERE id = :id");
	db_bind_text(st, ":id", in.id);
	exists = db_step(st) == DB_ROW;
	db_done(st);
	if (exists) {
		http_reply_error(res, 409, "E_DUPLICATE", NULL,
				 "检查 %s 已存在，请用修改接口生成新版本", in.id);
		return;
	}
	save_check(req, res, &in, 1);
}

/* PUT /api/v1/checks/:id — a new version: title, advice, severity, enabled,
 * and (for checks in the rule language) the expression. */
static void api_check_update(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "title", "advice", "severity", "enabled",
					      "expression", NULL };
	struct check_input in;
	struct db_stmt *st;
	json_t *ev;
	int version = 0;
	memset(&in, 0, sizeof(in));
	st = db_prepare(req->db, "SELECT " CHECK_COLUMNS " FROM check_def d WHERE d.id = :id ORDER "
				 "BY d.version DESC LIMIT 1");
	db_bind_text(st, ":id", req->path_params[0]);
	if (db_step(st) == DB_ROW) {
		version = (int)db_col_int(st, CC_VERSION);
		snprintf(in.id, sizeof(in.id), "%s", db_col_text(st, CC_ID));
		snprintf(in.grp, sizeof(in.grp), "%s", db_col_text(st, CC_GRP));
		snprintf(in.severity, sizeof(in.severity), "%s", db_col_text(st, CC_SEVERITY));
		in.scope = (int)db_col_int(st, CC_SCOPE);
		snprintf(in.kind, sizeof(in.kind), "%s", db_col_text(st, CC_KIND));
		snprintf(in.title, sizeof(in.title), "%s", db_col_text(st, CC_TITLE));
		snprintf(in.advice, sizeof(in.advice), "%s", db_col_text(st, CC_ADVICE));
		snprintf(in.expr, sizeof(in.expr), "%s", db_col_text(st, CC_EXPR));
		in.enabled = (int)db_col_int(st, CC_ENABLED);
	}
	db_done(st);
	if (!version) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到检查 %s", req->path_params[0]);
		return;
	}
	ev = json_object_get(req->json, "expression");
	if (ev && strcmp(in.kind, "rule") &&
	    (!json_is_string(ev) || strcmp(json_string_value(ev), in.expr))) {
		http_reply_error(res, 422, "E_BUILTIN", NULL,
				 "检查 %s 是内置检查，只能修改名称、处理意见、严重程度和是否启用",
				 in.id);
		return;
	}
	if (check_input_read(req, res, &in, fields, 0))
		return;
	save_check(req, res, &in, version + 1);
}

/* ---- runs ---------------------------------------------------------------------------- */

/* POST /api/v1/check-runs {region, year, group} — run the checks over a
 * region of the caller's scope and store the findings. */
static void api_check_run(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "region", "year", "group", NULL };
	struct check_report rep;
	json_t *yv = json_object_get(req->json, "year"), *rv = json_object_get(req->json, "region");
	json_t *gv = json_object_get(req->json, "group");
	const char *region = scope_of(req), *group = "";
	char today[11];
	int year;

	if (http_refuse_unknown_fields(res, req->json, fields))
		return;
	monitor_today_text(today);
	year = atoi(today);
	if (rv && !json_is_null(rv)) {
		if (!json_is_string(rv)) {
			http_reply_error(res, 422, "E_BAD_TYPE", NULL, "检查范围（region）应为区划代码字符串");
			return;
		}
		region = json_string_value(rv);
	}
	if (!digits(region, 12) || !starts_with(region, scope_of(req))) {
		http_reply_error(res, 422, "E_BAD_REGION", NULL, "检查范围（region）应为您辖区内的区划代码");
		return;
	}
	if (yv && !json_is_null(yv)) {
		if (!json_is_integer(yv) || json_integer_value(yv) < 2015 ||
		    json_integer_value(yv) > 2100) {
			http_reply_error(res, 422, "E_BAD_TYPE", NULL, "年度（year）应为 2015 到 2100 的整数");
			return;
		}
		year = (int)json_integer_value(yv);
	}
	if (gv && !json_is_null(gv)) {
		if (!json_is_string(gv) ||
		    (*json_string_value(gv) && !screen_check_group_known(json_string_value(gv)))) {
			http_reply_error(res, 422, "E_BAD_GROUP", NULL,
					 "分组（group）应为 identity, structure, code, complete, "
					 "education, labour, insurance, publicjob, risk, range, "
					 "unenrolled 之一");
			return;
		}
		group = json_string_value(gv);
	}
	if (screen_check_run(req->db, region, year, group, req->principal->login, &rep, 0)) {
		buf_release(&rep.text);
		http_reply_error(res, 500, "E_CHECK", NULL, "数据质量检查失败：%s", db_errmsg(req->db));
		return;
	}
	req->audit.sensitive = 1;
	http_audit_note(req, "check_run", rep.run_id, NULL,
			json_pack("{s:s, s:i, s:s, s:I, s:I, s:I}", "region", region, "year", year,
				  "group", group, "hits", (json_int_t)rep.hits, "opened",
				  (json_int_t)rep.opened, "closed", (json_int_t)rep.closed));
	snprintf(req->audit.detail, sizeof(req->audit.detail),
		 "数据质量检查 %s %d 年：%ld 条疑点，新增 %ld，关闭 %ld", *region ? region : "全部",
		 year, rep.hits, rep.opened, rep.closed);
	http_reply_json(res, 200,
			json_pack("{s:I, s:s, s:i, s:s, s:i, s:i, s:I, s:I, s:I, s:f, s:s}", "run_id",
				  (json_int_t)rep.run_id, "region", region, "year", year, "group",
				  group, "checks", rep.checks, "failed", rep.failed, "hits",
				  (json_int_t)rep.hits, "opened", (json_int_t)rep.opened, "closed",
				  (json_int_t)rep.closed, "seconds", rep.seconds, "report",
				  rep.text.buf));
	buf_release(&rep.text);
}

/* ---- findings ------------------------------------------------------------------------ */

#define FINDING_COLUMNS                                                                            \
	"f.id, f.check_id, f.check_version, d.grp, d.severity, d.title, d.advice, "                \
	"f.household_id, h.hh_no, h.village_code, v.name, f.member_id, m.name, f.explain, "        \
	"f.state, f.year, f.first_seen, f.last_seen, f.closed_at"
#define FINDING_FROM                                                                               \
	"check_finding f JOIN household h ON h.id = f.household_id LEFT JOIN check_def d ON d.id "  \
	"= f.check_id AND d.version = f.check_version LEFT JOIN region v ON v.code = "             \
	"h.village_code LEFT JOIN member m ON m.id = f.member_id"
enum { FC_ID, FC_CHECK, FC_VERSION, FC_GRP, FC_SEVERITY, FC_TITLE, FC_ADVICE, FC_HH, FC_HH_NO,
       FC_VILLAGE, FC_VILLAGE_NAME, FC_MEMBER, FC_MEMBER_NAME, FC_EXPLAIN, FC_STATE, FC_YEAR,
       FC_FIRST, FC_LAST, FC_CLOSED };

static void finding_write(struct jw *w, struct db_stmt *st)
{
	jw_object(w);
	jw_kint(w, "id", db_col_int(st, FC_ID));
	jw_kstr(w, "check_id", db_col_text(st, FC_CHECK));
	jw_kint(w, "check_version", db_col_int(st, FC_VERSION));
	jw_kstr(w, "group", db_col_text(st, FC_GRP));
	jw_kstr(w, "group_title", check_group_title(db_col_text(st, FC_GRP)));
	jw_kstr(w, "severity", db_col_text(st, FC_SEVERITY));
	jw_kstr(w, "title", db_col_text(st, FC_TITLE));
	jw_kstr(w, "advice", db_col_text(st, FC_ADVICE));
	jw_kint(w, "household_id", db_col_int(st, FC_HH));
	jw_kstr(w, "hh_no", db_col_text(st, FC_HH_NO));
	jw_kstr(w, "village_code", db_col_text(st, FC_VILLAGE));
	jw_kstr(w, "village_name", db_col_text(st, FC_VILLAGE_NAME));
	if (db_col_is_null(st, FC_MEMBER)) {
		jw_knull(w, "member_id");
		jw_knull(w, "member_name");
	} else {
		jw_kint(w, "member_id", db_col_int(st, FC_MEMBER));
		jw_kstr(w, "member_name", db_col_is_null(st, FC_MEMBER_NAME)
						  ? NULL
						  : db_col_text(st, FC_MEMBER_NAME));
	}
	jw_kstr(w, "explain", db_col_text(st, FC_EXPLAIN));
	jw_kstr(w, "state", db_col_text(st, FC_STATE));
	jw_kint(w, "year", db_col_int(st, FC_YEAR));
	jw_kstr(w, "first_seen", db_col_text(st, FC_FIRST));
	jw_kstr(w, "last_seen", db_col_text(st, FC_LAST));
	jw_kstr(w, "closed_at", db_col_text(st, FC_CLOSED));
	jw_object_end(w);
}

/* Parse state=open|closed|all (default open) into "open", "closed" or ""
 * (all); answers 400 and returns NULL when it is something else. */
static const char *state_param(struct http_request *req, struct http_response *res)
{
	const char *s = http_query(req, "state");
	if (!s || !*s || !strcmp(s, "open"))
		return "open";
	if (!strcmp(s, "closed"))
		return "closed";
	if (!strcmp(s, "all"))
		return "";
	http_reply_error(res, 400, "E_BAD_PARAM", NULL, "state 应为 open（未处理）、closed（已关闭）或 all");
	return NULL;
}

static int limit_param(struct http_request *req, struct http_response *res, int64_t def,
		       int64_t max, int64_t *out)
{
	const char *s = http_query(req, "limit");
	*out = def;
	if (s && (parse_int64(s, out) || *out < 1 || *out > max)) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "limit 应为 1 到 %lld 的整数",
				 (long long)max);
		return -1;
	}
	return 0;
}

static int region_param(struct http_request *req, struct http_response *res, const char **out)
{
	*out = http_query(req, "region");
	if (*out && !digits(*out, 12)) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "region 应为最多12位的数字区划代码前缀");
		return -1;
	}
	return 0;
}

static int group_param(struct http_request *req, struct http_response *res, const char **out)
{
	*out = http_query(req, "group");
	if (*out && *out[0] && !screen_check_group_known(*out)) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL,
				 "group“%s”不是检查分组（可用：identity, structure, code, complete, "
				 "education, labour, insurance, publicjob, risk, range, unenrolled）",
				 *out);
		return -1;
	}
	if (*out && !**out)
		*out = NULL;
	return 0;
}

/* The filters of a findings list.  The scope is the finding's own copy of
 * its household's village (screen.check migration 2), and the WHERE clause
 * holds only the conditions a request uses (an "(:x IS NULL OR …)"
 * alternative would keep SQLite from seeking the index and from counting
 * from it alone): with state=open or closed and no other filter, a page is
 * read in the order of index check_finding_village and the count from that
 * index only. */
struct finding_filter {
	const char *lo, *state, *check, *group, *sev;
	int64_t hh; /* -1 = any */
};

static void finding_where(struct buf *sql, const struct finding_filter *f)
{
	buf_addstr(sql, "f.village_code >= :lo AND f.village_code < :hi");
	if (*f->state)
		buf_addstr(sql, " AND f.state = :state");
	if (f->check)
		buf_addstr(sql, " AND f.check_id = :check");
	if (f->group)
		buf_addstr(sql, " AND f.check_id IN (SELECT id FROM check_def WHERE grp = :g)");
	if (f->sev)
		buf_addstr(sql, " AND d.severity = :sev");
	if (f->hh >= 0)
		buf_addstr(sql, " AND f.household_id = :hh");
}

static void finding_bind(struct db_stmt *st, const struct finding_filter *f)
{
	db_bind_prefix(st, ":lo", ":hi", f->lo);
	if (*f->state)
		db_bind_text(st, ":state", f->state);
	if (f->check)
		db_bind_text(st, ":check", f->check);
	if (f->group)
		db_bind_text(st, ":g", f->group);
	if (f->sev)
		db_bind_text(st, ":sev", f->sev);
	if (f->hh >= 0)
		db_bind_int(st, ":hh", f->hh);
}

/* GET /api/v1/check-findings — findings by village (then id), filtered by
 * region, check, group, severity, state and household, cursor-paginated. */
static void api_findings(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "region", "check", "group", "severity", "state",
					      "household", "limit", "cursor", "count", NULL };
	const char *region, *group, *state, *check = http_query(req, "check");
	const char *sev = http_query(req, "severity"), *hh_s = http_query(req, "household");
	const char *cursor = http_query(req, "cursor"), *count = http_query(req, "count");
	char lo[13], cur_village[13] = "", last_village[13] = "";
	int64_t limit, hh = -1, cur_id = 0, last_id = 0;
	struct finding_filter ff;
	struct buf sql = BUF_INIT;
	struct db_stmt *st;
	struct jw w;
	int n = 0, rc;

	if (http_refuse_unknown_params(req, res, params) || region_param(req, res, &region) ||
	    group_param(req, res, &group) || !(state = state_param(req, res)) ||
	    limit_param(req, res, FINDINGS_LIMIT_DEFAULT, FINDINGS_LIMIT_MAX, &limit))
		return;
	if (check && *check && !valid_check_id(check)) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "check 应为检查编号，如 ID01");
		return;
	}
	if (sev && *sev && !valid_severity(sev)) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "severity 应为 高、中 或 低");
		return;
	}
	if (hh_s && *hh_s && (parse_int64(hh_s, &hh) || hh <= 0)) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "household 应为户ID（正整数）");
		return;
	}
	if (cursor && *cursor) {
		const char *dot = strchr(cursor, '.');
		if (!dot || dot - cursor != 12 || strspn(cursor, "0123456789") != 12 ||
		    parse_int64(dot + 1, &cur_id) || cur_id < 0) {
			http_reply_error(res, 400, "E_BAD_PARAM", NULL,
					 "cursor 无效（请使用上一页返回的 next_cursor）");
			return;
		}
		memcpy(cur_village, cursor, 12);
	}
	effective_prefix(req, region, lo);
	ff = (struct finding_filter){ lo, state, check && *check ? check : NULL, group,
				      sev && *sev ? sev : NULL, hh };
	buf_addstr(&sql, "SELECT " FINDING_COLUMNS " FROM " FINDING_FROM " WHERE ");
	finding_where(&sql, &ff);
	buf_addstr(&sql, " AND (f.village_code > :cv OR (f.village_code = :cv AND f.id > :cid)) "
			 "ORDER BY f.village_code, f.id LIMIT :limit");
	st = db_prepare_text(req->db, sql.buf);
	finding_bind(st, &ff);
	db_bind_text(st, ":cv", cur_village);
	db_bind_int(st, ":cid", cur_id);
	db_bind_int(st, ":limit", limit + 1);
	res->status = 200;
	res->content_type = "application/json; charset=utf-8";
	jw_init(&w, &res->body);
	jw_object(&w);
	jw_key(&w, "items");
	jw_array(&w);
	while ((rc = db_step(st)) == DB_ROW) {
		if (n == limit)
			break;
		snprintf(last_village, sizeof(last_village), "%s", db_col_text(st, FC_VILLAGE));
		last_id = db_col_int(st, FC_ID);
		finding_write(&w, st);
		n++;
	}
	db_done(st);
	if (rc < 0) {
		http_reply_error(res, 500, "E_DB", NULL, "查询失败：%s", db_errmsg(req->db));
		buf_release(&sql);
		return;
	}
	jw_array_end(&w);
	jw_key(&w, "next_cursor");
	if (rc == DB_ROW) {
		char next[40];
		snprintf(next, sizeof(next), "%s.%lld", last_village, (long long)last_id);
		jw_str(&w, next);
	} else {
		jw_null(&w);
	}
	if (count && (!strcmp(count, "1") || !strcmp(count, "true"))) {
		/* without the joins that cannot change the count (the household,
		 * its village's and the member's names; the check only for severity) */
		buf_reset(&sql);
		buf_addstr(&sql, ff.sev ? "SELECT count(*) FROM check_finding f LEFT JOIN check_def d "
					  "ON d.id = f.check_id AND d.version = f.check_version WHERE "
					: "SELECT count(*) FROM check_finding f WHERE ");
		finding_where(&sql, &ff);
		st = db_prepare_text(req->db, sql.buf);
		finding_bind(st, &ff);
		rc = db_step(st);
		jw_kint(&w, "total", rc == DB_ROW ? db_col_int(st, 0) : 0);
		db_done(st);
		if (rc != DB_ROW) {
			http_reply_error(res, 500, "E_DB", NULL, "查询失败：%s", db_errmsg(req->db));
			buf_release(&sql);
			return;
		}
	}
	jw_object_end(&w);
	buf_release(&sql);
}

/* GET /api/v1/check-findings/summary — findings counted per village (with
 * a count per check) and per check, in the caller's scope; villages are
 * cursor-paginated by code. */
static void api_findings_summary(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "region", "group", "state", "limit", "cursor", NULL };
	const char *region, *group, *state, *cursor = http_query(req, "cursor");
	char lo[13], village[13] = "";
	int64_t limit, total = 0;
	struct db_stmt *st;
	struct jw w;
	int nv = 0, rc, more = 0;

	if (http_refuse_unknown_params(req, res, params) || region_param(req, res, &region) ||
	    group_param(req, res, &group) || !(state = state_param(req, res)) ||
	    limit_param(req, res, SUMMARY_LIMIT_DEFAULT, SUMMARY_LIMIT_MAX, &limit))
		return;
	if (cursor && *cursor && (strlen(cursor) != 12 || !digits(cursor, 12))) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL,
				 "cursor 无效（请使用上一页返回的 next_cursor）");
		return;
	}
	effective_prefix(req, region, lo);
	res->status = 200;
	res->content_type = "application/json; charset=utf-8";
	jw_init(&w, &res->body);
	jw_object(&w);

	/* per check, over the whole selection */
	st = db_prepare(req->db, "SELECT c.check_id, c.n, d.title, d.grp, d.severity FROM (SELECT "
				 "f.check_id, count(*) AS n FROM check_finding f JOIN household h ON "
				 "h.id = f.household_id WHERE h.village_code >= :lo AND h.village_code "
				 "< :hi AND (:state = '' OR f.state = :state) AND (:g IS NULL OR "
				 "f.check_id IN (SELECT id FROM check_def WHERE grp = :g)) GROUP BY "
				 "f.check_id) c LEFT JOIN check_def d ON d.id = c.check_id AND d.version "
				 "= (SELECT max(version) FROM check_def x WHERE x.id = c.check_id) ORDER "
				 "BY c.check_id");
	db_bind_prefix(st, ":lo", ":hi", lo);
	db_bind_text(st, ":state", state);
	db_bind_text(st, ":g", group);
	jw_key(&w, "checks");
	jw_array(&w);
	while ((rc = db_step(st)) == DB_ROW) {
		jw_object(&w);
		jw_kstr(&w, "check_id", db_col_text(st, 0));
		jw_kint(&w, "count", db_col_int(st, 1));
		jw_kstr(&w, "title", db_col_text(st, 2));
		jw_kstr(&w, "group", db_col_text(st, 3));
		jw_kstr(&w, "severity", db_col_text(st, 4));
		jw_object_end(&w);
		total += db_col_int(st, 1);
	}
	db_done(st);
	jw_array_end(&w);
	if (rc < 0) {
		http_reply_error(res, 500, "E_DB", NULL, "查询失败：%s", db_errmsg(req->db));
		return;
	}
	jw_kint(&w, "total", total);

	/* per village and check, a page of villages */
	st = db_prepare(req->db, "SELECT h.village_code, v.name, t.code, t.name, f.check_id, "
				 "count(*) FROM check_finding f JOIN household h ON h.id = "
				 "f.household_id LEFT JOIN region v ON v.code = h.village_code LEFT JOIN "
				 "region t ON t.code = v.parent WHERE h.village_code >= :lo AND "
				 "h.village_code < :hi AND h.village_code > :cursor AND (:state = '' OR "
				 "f.state = :state) AND (:g IS NULL OR f.check_id IN (SELECT id FROM "
				 "check_def WHERE grp = :g)) GROUP BY h.village_code, v.name, t.code, "
				 "t.name, f.check_id ORDER BY h.village_code, f.check_id");
	db_bind_prefix(st, ":lo", ":hi", lo);
	db_bind_text(st, ":cursor", cursor && *cursor ? cursor : "");
	db_bind_text(st, ":state", state);
	db_bind_text(st, ":g", group);
	jw_key(&w, "villages");
	jw_array(&w);
	while ((rc = db_step(st)) == DB_ROW) {
		const char *code = db_col_text(st, 0);
		if (strcmp(code, village)) {
			if (nv == limit) {
				more = 1;
				break;
			}
			if (nv) {
				jw_object_end(&w); /* counts */
				jw_object_end(&w); /* village */
			}
			snprintf(village, sizeof(village), "%s", code);
			jw_object(&w);
			jw_kstr(&w, "village_code", code);
			jw_kstr(&w, "village_name", db_col_text(st, 1));
			jw_kstr(&w, "township_code", db_col_text(st, 2));
			jw_kstr(&w, "township_name", db_col_text(st, 3));
			jw_key(&w, "counts");
			jw_object(&w);
			nv++;
		}
		jw_kint(&w, db_col_text(st, 4), db_col_int(st, 5));
	}
	db_done(st);
	if (rc < 0) {
		http_reply_error(res, 500, "E_DB", NULL, "查询失败：%s", db_errmsg(req->db));
		return;
	}
	if (nv) {
		jw_object_end(&w);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_key(&w, "next_cursor");
	if (more)
		jw_str(&w, village);
	else
		jw_null(&w);
	/* the latest run that covered the caller's whole scope or more */
	st = db_prepare(req->db, "SELECT id, started_at, finished_at, region, grp, year, hits, "
				 "opened, closed FROM check_run WHERE finished_at <> '' AND "
				 "substr(:scope, 1, length(region)) = region ORDER BY id DESC LIMIT 1");
	db_bind_text(st, ":scope", scope_of(req));
	jw_key(&w, "last_run");
	if (db_step(st) == DB_ROW) {
		jw_object(&w);
		jw_kint(&w, "id", db_col_int(st, 0));
		jw_kstr(&w, "started_at", db_col_text(st, 1));
		jw_kstr(&w, "finished_at", db_col_text(st, 2));
		jw_kstr(&w, "region", db_col_text(st, 3));
		jw_kstr(&w, "group", db_col_text(st, 4));
		jw_kint(&w, "year", db_col_int(st, 5));
		jw_kint(&w, "hits", db_col_int(st, 6));
		jw_kint(&w, "opened", db_col_int(st, 7));
		jw_kint(&w, "closed", db_col_int(st, 8));
		jw_object_end(&w);
	} else {
		jw_null(&w);
	}
	db_done(st);
	jw_object_end(&w);
}

/* GET /api/v1/households/:id/check-findings?state= — one household's findings. */
static void api_household_findings(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "state", NULL };
	struct household_rec h;
	const char *state;
	struct db_stmt *st;
	struct jw w;
	int64_t id;
	int rc;
	if (parse_int64(req->path_params[0], &id) || id <= 0 ||
	    registry_household_load_scoped(req->db, id, scope_of(req), &h) != 1) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该户（或不在您的管辖范围内）");
		return;
	}
	if (http_refuse_unknown_params(req, res, params) || !(state = state_param(req, res)))
		return;
	st = db_prepare(req->db, "SELECT " FINDING_COLUMNS " FROM " FINDING_FROM " WHERE "
				 "f.household_id = :h AND (:state = '' OR f.state = :state) ORDER BY "
				 "f.state DESC, f.check_id, f.member_key, f.id");
	db_bind_int(st, ":h", id);
	db_bind_text(st, ":state", state);
	res->status = 200;
	res->content_type = "application/json; charset=utf-8";
	jw_init(&w, &res->body);
	jw_object(&w);
	jw_kint(&w, "household_id", id);
	jw_key(&w, "items");
	jw_array(&w);
	while ((rc = db_step(st)) == DB_ROW)
		finding_write(&w, st);
	db_done(st);
	jw_array_end(&w);
	jw_object_end(&w);
	if (rc < 0)
		http_reply_error(res, 500, "E_DB", NULL, "查询失败：%s", db_errmsg(req->db));
}

const struct route screen_check_routes[] = {
	{ "GET", "/api/v1/checks", api_checks, 0, NULL, "数据质量检查目录（含辖区内未处理疑点数）" },
	{ "POST", "/api/v1/checks", api_check_create, ROUTE_WRITE | ROUTE_JSON | ROUTE_COUNTY, "monitor.config",
	  "新增数据质量检查（规则表达式）" },
	{ "PUT", "/api/v1/checks/:id", api_check_update, ROUTE_WRITE | ROUTE_JSON | ROUTE_COUNTY, "monitor.config",
	  "修改数据质量检查（生成新版本）" },
	{ "POST", "/api/v1/check-runs", api_check_run, ROUTE_WRITE | ROUTE_OWN_TX | ROUTE_JSON,
	  "monitor.config", "运行数据质量检查并保存疑点" },
	{ "GET", "/api/v1/check-findings", api_findings, 0, "household.read",
	  "疑点列表（按村，可筛选、分页）" },
	{ "GET", "/api/v1/check-findings/summary", api_findings_summary, 0, "household.read",
	  "疑点汇总（按村、按检查计数）" },
	{ "GET", "/api/v1/households/:id/check-findings", api_household_findings, 0,
	  "household.read", "户的疑点" },
	{ NULL },
};
