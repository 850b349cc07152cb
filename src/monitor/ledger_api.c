/* ledger_api.c — the JSON API of the income ledger, monitoring lines, the
 * working-day calendar, assistance measures and the 一户一策 plan
 * (monitor_ledger_routes[]).
 *
 * Every household-related query carries the caller's region scope in SQL
 * (village_code >= :lo AND village_code < :hi), so a household outside scope
 * answers 404 exactly like one that does not exist.  Input is checked field
 * by field with Chinese messages: an unknown field answers 400, a value of
 * the wrong JSON type 422 E_BAD_TYPE, an invalid value 422 E_VALIDATION (or
 * a more precise code).  Writes run in the dispatcher's transaction (rolled
 * back when the answer is >= 400) and record old and new values for the
 * audit log.  Money is integer 分 in and out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/util.h"
#include "db/db.h"
#include "http/http.h"
#include "monitor/monitor.h"
#include "registry/codes.h"

#define YEAR_MIN 2000
#define YEAR_MAX 2100
#define NOTE_MAX 1000		    /* bytes of one 说明 */
#define PLAN_MAX 20000		    /* bytes of a 一户一策 plan */
#define SHORT_MAX 200		    /* bytes of a name, unit, person, basis, source */
#define LINE_AMOUNT_MAX 100000000LL /* 分: 1,000,000 元 per person */

/* ---- scope and path parameters ------------------------------------------------- */

static const char *scope_of(struct http_request *req)
{
	return req->principal ? req->principal->scope : "";
}

/* Bind :lo/:hi so that "x >= :lo AND x < :hi" selects codes starting with
 * `prefix` (codes are digits; ':' sorts right after '9'). */
static void bind_prefix(struct db_stmt *st, const char *prefix)
{
	char hi[16];
	snprintf(hi, sizeof(hi), "%s:", prefix);
	db_bind_text(st, ":lo", prefix);
	db_bind_text(st, ":hi", hi);
}

static void reply_db_error(struct http_request *req, struct http_response *res)
{
	http_reply_error(res, 500, "E_DB", NULL, "数据库操作失败：%s", db_errmsg(req->db));
}

/* Path parameter `i` as a positive id; answers 404 and returns -1 if not. */
static int64_t path_id(struct http_request *req, struct http_response *res, int i)
{
	int64_t id;
	if (req->nr_path_params <= i || parse_int64(req->path_params[i], &id) || id <= 0) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该记录");
		return -1;
	}
	return id;
}

/* Path parameter `i` as a year; answers 400 and returns -1 if not. */
static int path_year(struct http_request *req, struct http_response *res, int i)
{
	int64_t y;
	if (req->nr_path_params <= i || parse_int64(req->path_params[i], &y) || y < YEAR_MIN ||
	    y > YEAR_MAX) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "年度应为 %d 到 %d 之间的整数",
				 YEAR_MIN, YEAR_MAX);
		return -1;
	}
	return (int)y;
}

/* Find household `id` inside the caller's scope, copying its village code
 * into village[13].  Returns 1; or 0 after answering 404 (absent or outside
 * scope) or 500. */
static int scoped_household(struct http_request *req, struct http_response *res, int64_t id,
			    char village[13])
{
	struct db_stmt *st =
	    db_prepare(req->db, "SELECT village_code FROM household WHERE id = "
				":id AND village_code >= :lo AND village_code < :hi");
	int rc;
	db_bind_int(st, ":id", id);
	bind_prefix(st, scope_of(req));
	rc = db_step(st);
	if (rc == DB_ROW)
		snprintf(village, 13, "%s", db_col_text(st, 0));
	db_done(st);
	if (rc == DB_ROW)
		return 1;
	if (rc < 0)
		reply_db_error(req, res);
	else
		http_reply_error(res, 404, "E_NOT_FOUND", NULL,
				 "找不到该户（或不在您的管辖范围内）");
	return 0;
}

/* Refuse query parameters other than `allowed` (NULL-terminated); answers
 * 400 and returns 1 on the first unknown one. */
static int unknown_params(struct http_request *req, struct http_response *res,
			  const char *const *allowed)
{
	for (int i = 0; i < req->nr_query; i++) {
		int ok = 0;
		for (int k = 0; allowed[k] && !ok; k++)
			ok = !strcmp(allowed[k], req->query[i].key);
		if (!ok) {
			http_reply_error(res, 400, "E_UNKNOWN_PARAM", NULL, "不认识查询参数“%s”",
					 req->query[i].key);
			return 1;
		}
	}
	return 0;
}

/* ---- money and text output ------------------------------------------------------- */

/* 分 as 元 with thousands separators: 523000 → "5,230.00". */
static void fen_text(int64_t v, char out[40])
{
	char digits[32];
	uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	int n, o = 0;
	n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)(a / 100));
	if (v < 0)
		out[o++] = '-';
	for (int i = 0; i < n; i++) {
		out[o++] = digits[i];
		if ((n - i - 1) % 3 == 0 && i < n - 1)
			out[o++] = ',';
	}
	snprintf(out + o, 40 - (size_t)o, ".%02d", (int)(a % 100));
}

/* The label of `code` in `l`, or "?" for a code no longer in the list. */
static const char *label_of(const struct code_list *l, int code)
{
	const char *s = l ? codes_label(l, code) : NULL;
	return s ? s : "?";
}

static json_t *int_or_null(int64_t v, int known)
{
	return known ? json_integer(v) : json_null();
}

/* ---- input checking ---------------------------------------------------------------- */

/* Problems with a request body, answered together. */
struct problems {
	json_t *details; /* array of {field, code, message} */
	int unknown;	 /* an unknown field: 400 */
	int type;	 /* a wrong JSON type: 422 E_BAD_TYPE */
};

static void problem(struct problems *p, const char *field, const char *code, const char *fmt, ...)
    ATTR_PRINTF(4, 5);

static void problem(struct problems *p, const char *field, const char *code, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (!p->details)
		p->details = json_array();
	json_array_append_new(p->details, json_pack("{s:s, s:s, s:s}", "field", field, "code", code,
						    "message", msg.buf));
	if (!strcmp(code, "E_BAD_TYPE"))
		p->type = 1;
	buf_release(&msg);
}

/* Answer the collected problems (400 for an unknown field, else 422);
 * returns 1 if there were any. */
static int reply_problems(struct http_response *res, struct problems *p)
{
	const char *msg;
	if (!p->details)
		return 0;
	msg = json_string_value(json_object_get(json_array_get(p->details, 0), "message"));
	if (p->unknown)
		http_reply_error(res, 400, "E_UNKNOWN_FIELD", p->details, "%s", msg);
	else if (p->type)
		http_reply_error(res, 422, "E_BAD_TYPE", p->details, "%s", msg);
	else
		http_reply_error(res, 422, "E_VALIDATION", p->details, "%s", msg);
	p->details = NULL;
	return 1;
}

static void check_known(struct problems *p, json_t *obj, const char *const *allowed,
			const char *where)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		int ok = 0;
		for (int i = 0; allowed[i] && !ok; i++)
			ok = !strcmp(allowed[i], key);
		if (!ok) {
			p->unknown = 1;
			problem(p, key, "E_UNKNOWN_FIELD", "%s不认识字段“%s”", where, key);
		}
	}
}

/* A text field: returns 1 and sets *out (borrowed from the JSON) when
 * present and valid, 0 when absent or null (a problem if required), -1 when
 * invalid.  Control characters other than a line feed (when `multiline`)
 * are refused; surrounding spaces are kept as typed. */
static int get_text(struct problems *p, json_t *obj, const char *key, const char *label, size_t max,
		    int required, int multiline, const char **out)
{
	json_t *v = json_object_get(obj, key);
	const unsigned char *s;
	size_t len;
	if (!v || json_is_null(v)) {
		if (required)
			problem(p, key, "E_REQUIRED", "%s不能为空", label);
		return required ? -1 : 0;
	}
	if (!json_is_string(v)) {
		problem(p, key, "E_BAD_TYPE", "%s应为字符串", label);
		return -1;
	}
	s = (const unsigned char *)json_string_value(v);
	len = json_string_length(v);
	if (len > max) {
		problem(p, key, "E_TOO_LONG", "%s过长（最多 %zu 字节）", label, max);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 && !(multiline && (s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))) {
			problem(p, key, "E_BAD_TEXT", "%s含有控制字符，请删除", label);
			return -1;
		}
	if (required && !len) {
		problem(p, key, "E_REQUIRED", "%s不能为空", label);
		return -1;
	}
	*out = (const char *)s;
	return 1;
}

/* An integer field in [min, max]; same returns as get_text.  Reals and
 * strings are type errors (money is whole 分). */
static int get_int(struct problems *p, json_t *obj, const char *key, const char *label, int64_t min,
		   int64_t max, int required, int64_t *out)
{
	json_t *v = json_object_get(obj, key);
	int64_t x;
	if (!v || json_is_null(v)) {
		if (required)
			problem(p, key, "E_REQUIRED", "%s不能为空", label);
		return required ? -1 : 0;
	}
	if (!json_is_integer(v)) {
		problem(p, key, "E_BAD_TYPE", "%s应为整数%s", label,
			strstr(label, "金额") || strstr(label, "监测线") ? "（单位：分）" : "");
		return -1;
	}
	x = json_integer_value(v);
	if (x < min || x > max) {
		problem(p, key, "E_OUT_OF_RANGE", "%s应在 %lld 到 %lld 之间", label, (long long)min,
			(long long)max);
		return -1;
	}
	*out = x;
	return 1;
}

/* A date "YYYY-MM-DD"; same returns as get_text. */
static int get_date(struct problems *p, json_t *obj, const char *key, const char *label,
		    int required, long *out)
{
	const char *s;
	int rc = get_text(p, obj, key, label, 10, required, 0, &s);
	if (rc != 1)
		return rc;
	if (monitor_date_parse(s, out)) {
		problem(p, key, "E_BAD_DATE", "%s“%s”不是有效日期（格式 YYYY-MM-DD）", label, s);
		return -1;
	}
	return 1;
}

/* A label of `l`; same returns as get_text.  Suggests the closest label. */
static int get_label(struct problems *p, json_t *obj, const char *key, const struct code_list *l,
		     int required, int *out)
{
	const char *s;
	int rc = get_text(p, obj, key, l->title, 200, required, 0, &s), c;
	if (rc != 1)
		return rc;
	c = codes_lookup(l, s);
	if (c < 0) {
		const char *sug = codes_suggest(l, s);
		if (sug)
			problem(p, key, "E_BAD_CODE", "“%s”不是有效的%s，是否应为“%s”？", s,
				l->title, sug);
		else
			problem(p, key, "E_BAD_CODE", "“%s”不是有效的%s", s, l->title);
		return -1;
	}
	*out = c;
	return 1;
}

static int get_bool(struct problems *p, json_t *obj, const char *key, const char *label, int *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		problem(p, key, "E_BAD_TYPE", "%s应为 true 或 false", label);
		return -1;
	}
	*out = json_is_true(v);
	return 1;
}

/* ---- income ledger ------------------------------------------------------------------ */

static json_t *line_json(struct http_request *req, const struct monitor_line *l);

static json_t *totals_json(const struct income_totals *t)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "wage", (json_int_t)t->wage,
			 "business", (json_int_t)t->business, "property", (json_int_t)t->property,
			 "transfer", (json_int_t)t->transfer, "business_cost",
			 (json_int_t)t->business_cost, "claims", (json_int_t)t->claims, "rigid",
			 (json_int_t)t->rigid);
}

/* Add the line of `year` for `village` and the comparisons of per-capita
 * figures `f` with it to `o`.  Returns 0 or -1 (database error). */
static int add_line_figures(struct http_request *req, json_t *o, const char *village, int year,
			    const struct income_figures *f, int known, const char *what)
{
	struct monitor_line l;
	int rc = monitor_line_lookup(req->db, village, year, &l);
	char a[40], b[40];
	struct buf explain = BUF_INIT;
	if (rc < 0)
		return -1;
	json_object_set_new(o, "line", rc ? line_json(req, &l) : json_null());
	if (!rc || !known || !f->has_pc) {
		json_object_set_new(o, "below_line", json_null());
		json_object_set_new(o, "reference_below_line", json_null());
		if (!known)
			buf_addf(&explain, "尚未录入%s收入", what);
		else if (!f->has_pc)
			buf_addf(&explain, "家庭人口数为 0，无法计算人均收入");
		else
			buf_addf(&explain, "未设置 %d 年监测线，请先在监测线设置中录入", year);
	} else {
		int below = f->net_pc < l.amount;
		json_object_set_new(o, "below_line", json_boolean(below));
		json_object_set_new(o, "reference_below_line", json_boolean(f->ref_pc < l.amount));
		fen_text(f->net_pc, a);
		fen_text(l.amount, b);
		buf_addf(&explain, "人均纯收入 %s 元，%s %d 年监测线 %s 元", a,
			 below ? "低于" : "不低于", year, b);
		if (f->ref_pc < l.amount && !below) {
			fen_text(f->ref_pc, a);
			buf_addf(&explain, "；扣除合规自付支出后人均参考收入 %s 元，低于监测线", a);
		}
		if (l.assumed)
			buf_addf(&explain, "（该监测线为演示或假定数据，需核对）");
	}
	json_object_set_new(o, "explain", json_string(explain.buf));
	buf_release(&explain);
	return 0;
}

/* The ledger of (household, year) with its derived figures and line.
 * Returns a new reference, or NULL on a database error. */
static json_t *income_json(struct http_request *req, int64_t hh, int year, const char *village)
{
	enum { I_ITEM, I_AMOUNT, I_NOTE };
	enum { S_HH_SIZE, S_RES, S_DEN, S_UPDATED };
	json_t *o, *items = json_array();
	struct income_totals t = {0};
	struct income_figures f;
	struct db_stmt *st;
	int rc, saved = 0, persons = 0;
	int64_t hh_size = 0, res_size = -1, members_now = 0;
	char updated[24] = "";

	st = db_prepare(req->db, "SELECT item, amount, note FROM income_item WHERE household_id "
				 "= :h AND year = :y ORDER BY item");
	db_bind_int(st, ":h", hh);
	db_bind_int(st, ":y", year);
	while ((rc = db_step(st)) == DB_ROW) {
		int item = (int)db_col_int(st, I_ITEM);
		const char *group = monitor_income_group(item);
		json_array_append_new(
		    items, json_pack("{s:s, s:s, s:o, s:I, s:s}", "item",
				     label_of(&code_income_item, item), "category",
				     label_of(&code_income_category, INCOME_ITEM_CATEGORY(item)),
				     "group", group ? json_string(group) : json_null(), "amount",
				     (json_int_t)db_col_int(st, I_AMOUNT), "note",
				     db_col_text(st, I_NOTE)));
	}
	db_done(st);
	if (rc < 0)
		goto fail;
	if ((rc = monitor_income_summary(req->db, hh, year, &t, &persons)) < 0)
		goto fail;
	saved = rc;
	st = db_prepare(req->db, "SELECT hh_size, resident_size, denominator, updated_at FROM "
				 "income_summary WHERE household_id = :h AND year = :y");
	db_bind_int(st, ":h", hh);
	db_bind_int(st, ":y", year);
	if (db_step(st) == DB_ROW) {
		hh_size = db_col_int(st, S_HH_SIZE);
		res_size = db_col_is_null(st, S_RES) ? -1 : db_col_int(st, S_RES);
		snprintf(updated, sizeof(updated), "%s", db_col_text(st, S_UPDATED));
	}
	db_done(st);
	st = db_prepare(req->db, "SELECT count(*) FROM member WHERE household_id = :h");
	db_bind_int(st, ":h", hh);
	if (db_step(st) == DB_ROW)
		members_now = db_col_int(st, 0);
	db_done(st);

	monitor_income_figures(&t, persons, &f);
	o = json_object();
	json_object_set_new(o, "household_id", json_integer(hh));
	json_object_set_new(o, "year", json_integer(year));
	json_object_set_new(o, "saved", json_boolean(saved));
	json_object_set_new(o, "updated_at", saved ? json_string(updated) : json_null());
	json_object_set_new(o, "items", items);
	json_object_set_new(o, "totals", totals_json(&t));
	json_object_set_new(o, "net_income", int_or_null(f.net, saved));
	json_object_set_new(o, "reference_income", int_or_null(f.ref, saved));
	json_object_set_new(o, "hh_size", int_or_null(hh_size, saved));
	json_object_set_new(o, "resident_size", int_or_null(res_size, saved && res_size >= 0));
	json_object_set_new(o, "denominator", int_or_null(persons, saved));
	json_object_set_new(o, "denominator_basis",
			    json_string(!saved ? ""
					: res_size >= 0 && persons == res_size && persons != hh_size
					    ? "共同生活人口"
					    : "户籍人口"));
	json_object_set_new(o, "net_income_pc", int_or_null(f.net_pc, saved && f.has_pc));
	json_object_set_new(o, "reference_income_pc", int_or_null(f.ref_pc, saved && f.has_pc));
	json_object_set_new(o, "members_now", json_integer(members_now));
	{
		char what[16];
		snprintf(what, sizeof(what), " %d 年", year);
		if (add_line_figures(req, o, village, year, &f, saved, what)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
fail:
	json_decref(items);
	return NULL;
}

/* GET /api/v1/households/:id/income/:year */
static void api_income_get(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = {NULL};
	char village[13];
	int64_t hh = path_id(req, res, 0);
	int year;
	json_t *o;
	if (hh < 0 || (year = path_year(req, res, 1)) < 0 || unknown_params(req, res, params) ||
	    !scoped_household(req, res, hh, village))
		return;
	if (!(o = income_json(req, hh, year, village))) {
		reply_db_error(req, res);
		return;
	}
	http_reply_json(res, 200, o);
}

static const char *const income_fields[] = {"items", NULL};
static const char *const income_item_fields[] = {"item",     "amount", "note",
						 "category", "group",  NULL};

/* PUT /api/v1/households/:id/income/:year — replace the year's items. */
static void api_income_put(struct http_request *req, struct http_response *res)
{
	struct problems p = {0};
	struct income_entry *e = NULL;
	char village[13];
	int64_t hh = path_id(req, res, 0);
	int year, n = 0;
	json_t *arr, *it, *before, *after;
	size_t i;

	if (hh < 0 || (year = path_year(req, res, 1)) < 0 ||
	    !scoped_household(req, res, hh, village))
		return;
	check_known(&p, req->json, income_fields, "收入台账");
	arr = json_object_get(req->json, "items");
	if (!arr)
		problem(&p, "items", "E_REQUIRED", "收入台账应包含 items（收入项目数组）");
	else if (!json_is_array(arr))
		problem(&p, "items", "E_BAD_TYPE", "items 应为数组");
	else if (json_array_size(arr) > 100)
		problem(&p, "items", "E_TOO_MANY", "收入项目最多 100 项");
	if (reply_problems(res, &p))
		return;
	e = xcalloc(json_array_size(arr) + 1, sizeof(*e));
	json_array_foreach(arr, i, it)
	{
		char where[64];
		const char *s;
		int64_t amount = 0;
		int item = -1;
		snprintf(where, sizeof(where), "第 %zu 项：", i + 1);
		if (!json_is_object(it)) {
			problem(&p, "items", "E_BAD_TYPE", "%s应为 JSON 对象", where);
			continue;
		}
		check_known(&p, it, income_item_fields, where);
		if (get_label(&p, it, "item", &code_income_item, 1, &item) == 1) {
			const char *cat =
			    codes_label(&code_income_category, INCOME_ITEM_CATEGORY(item));
			const char *grp = monitor_income_group(item);
			json_t *v;
			if (get_text(&p, it, "category", "收入类别", 100, 0, 0, &s) == 1 &&
			    strcmp(s, cat))
				problem(&p, "category", "E_VALIDATION",
					"%s“%s”属于“%s”，不属于“%s”", where,
					codes_label(&code_income_item, item), cat, s);
			v = json_object_get(it, "group");
			if (v && !json_is_null(v) &&
			    (!json_is_string(v) || !grp || strcmp(json_string_value(v), grp)))
				problem(&p, "group", "E_VALIDATION", "%s“%s”的小类应为%s%s%s",
					where, codes_label(&code_income_item, item), grp ? "“" : "",
					grp ? grp : "空", grp ? "”" : "");
			for (int k = 0; k < n; k++)
				if (e[k].item == item)
					problem(
					    &p, "item", "E_DUPLICATE_ITEM",
					    "%s收入项目“%s”重复，每项只能填一次（可在说明中分列）",
					    where, codes_label(&code_income_item, item));
		}
		get_int(&p, it, "amount", "金额", 0, INCOME_AMOUNT_MAX, 1, &amount);
		s = "";
		get_text(&p, it, "note", "说明", NOTE_MAX, 0, 1, &s);
		if (item > 0) {
			e[n].item = item;
			e[n].amount = amount;
			e[n].note = s;
			n++;
		}
	}
	if (reply_problems(res, &p)) {
		free(e);
		return;
	}
	before = income_json(req, hh, year, village);
	if (!before || monitor_income_save(req->db, hh, year, e, n) ||
	    !(after = income_json(req, hh, year, village))) {
		json_decref(before);
		free(e);
		reply_db_error(req, res);
		return;
	}
	free(e);
	http_audit_note(req, "income", hh,
			json_is_true(json_object_get(before, "saved")) ? before : NULL,
			json_incref(after));
	if (!json_is_true(json_object_get(before, "saved")))
		json_decref(before);
	snprintf(req->audit.detail, sizeof(req->audit.detail), "保存 %d 年收入台账", year);
	{
		/* the rules are evaluated on the household as the form is saved:
		 * a risk rule that fires raises (or adds to) its alert */
		long fired = 0;
		if (monitor_screen_household(req->db, hh, year, &fired)) {
			json_decref(after);
			reply_db_error(req, res);
			return;
		}
		json_object_set_new(after, "rules_fired", json_integer(fired));
	}
	http_reply_json(res, 200, after);
}

/* Parse "YYYY-MM" or "YYYYMM". */
static int parse_month(const char *s, int *y, int *m)
{
	char buf[8];
	int64_t v;
	size_t l = strlen(s);
	if (l == 7 && s[4] == '-')
		snprintf(buf, sizeof(buf), "%.4s%.2s", s, s + 5);
	else if (l == 6)
		snprintf(buf, sizeof(buf), "%s", s);
	else
		return -1;
	if (strspn(buf, "0123456789") != 6 || parse_int64(buf, &v))
		return -1;
	*y = (int)(v / 100);
	*m = (int)(v % 100);
	return *m >= 1 && *m <= 12 && *y >= YEAR_MIN && *y <= YEAR_MAX ? 0 : -1;
}

/* GET /api/v1/households/:id/income-ident/:month — income of the 12 months
 * before an identification month, from the calendar-year ledgers. */
static void api_income_ident(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = {NULL};
	struct ident_span sp[2];
	struct income_totals t[2], est;
	struct income_figures f;
	char village[13], from[11], to[11], month[8];
	int64_t hh = path_id(req, res, 0);
	int y, m, n, persons = 0, complete = 1;
	json_t *o, *spans, *missing;
	struct buf approx = BUF_INIT;

	if (hh < 0)
		return;
	if (req->nr_path_params < 2 || parse_month(req->path_params[1], &y, &m)) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL,
				 "识别月份应为 YYYY-MM 或 YYYYMM（%d–%d 年）", YEAR_MIN, YEAR_MAX);
		return;
	}
	if (unknown_params(req, res, params) || !scoped_household(req, res, hh, village))
		return;
	n = monitor_ident_spans(y, m, sp);
	spans = json_array();
	missing = json_array();
	buf_addstr(&approx, "按自然年度台账折算：");
	for (int i = 0; i < n; i++) {
		int p = 0, rc;
		memset(&t[i], 0, sizeof(t[i]));
		rc = monitor_income_summary(req->db, hh, sp[i].year, &t[i], &p);
		if (rc < 0) {
			json_decref(spans);
			json_decref(missing);
			buf_release(&approx);
			reply_db_error(req, res);
			return;
		}
		if (!rc) {
			complete = 0;
			json_array_append_new(missing, json_integer(sp[i].year));
		} else {
			persons = p; /* the later year's household size wins */
		}
		json_array_append_new(spans, json_pack("{s:i, s:i, s:b}", "year", sp[i].year,
						       "months", sp[i].months, "saved", rc));
		buf_addf(&approx, "%s%d 年 × %d/12", i ? " + " : "", sp[i].year, sp[i].months);
	}
	monitor_ident_totals(t, sp, n, &est);
	monitor_income_figures(&est, persons, &f);
	monitor_date_format(monitor_days_from_civil(y - 1, m, 1), from);
	monitor_date_format(monitor_days_from_civil(y, m, 1) - 1, to);
	snprintf(month, sizeof(month), "%04d-%02d", y, m);
	o = json_object();
	json_object_set_new(o, "household_id", json_integer(hh));
	json_object_set_new(o, "month", json_string(month));
	json_object_set_new(o, "period", json_pack("{s:s, s:s}", "from", from, "to", to));
	json_object_set_new(o, "spans", spans);
	json_object_set_new(o, "complete", json_boolean(complete));
	json_object_set_new(o, "missing_years", missing);
	json_object_set_new(o, "approximation", json_string(approx.buf));
	buf_release(&approx);
	json_object_set_new(o, "totals", complete ? totals_json(&est) : json_null());
	json_object_set_new(o, "net_income", int_or_null(f.net, complete));
	json_object_set_new(o, "reference_income", int_or_null(f.ref, complete));
	json_object_set_new(o, "denominator", int_or_null(persons, complete));
	json_object_set_new(o, "net_income_pc", int_or_null(f.net_pc, complete && f.has_pc));
	json_object_set_new(o, "reference_income_pc", int_or_null(f.ref_pc, complete && f.has_pc));
	if (add_line_figures(req, o, village, y, &f, complete, "识别期内各年度")) {
		json_decref(o);
		reply_db_error(req, res);
		return;
	}
	http_reply_json(res, 200, o);
}

/* ---- settings and code lists ------------------------------------------------------------- */

static json_t *settings_json(struct http_request *req)
{
	int d = monitor_income_denominator(req->db);
	if (d < 0)
		return NULL;
	return json_pack("{s:s, s:b, s:s}", "income_denominator",
			 codes_label(&code_income_denominator, d), "resident_flag_available", 0,
			 "note", "户籍登记尚无“共同生活”标志：选择共同生活人口时暂按户籍人口计算");
}

/* GET /api/v1/monitor-settings */
static void api_settings_get(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = {NULL};
	json_t *o;
	if (unknown_params(req, res, params))
		return;
	if (!(o = settings_json(req))) {
		reply_db_error(req, res);
		return;
	}
	http_reply_json(res, 200, o);
}

/* PUT /api/v1/monitor-settings */
static void api_settings_put(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = {"income_denominator", NULL};
	struct problems p = {0};
	int denom = -1;
	json_t *before, *after;
	check_known(&p, req->json, fields, "监测设置");
	get_label(&p, req->json, "income_denominator", &code_income_denominator, 0, &denom);
	if (reply_problems(res, &p))
		return;
	before = settings_json(req);
	if (!before || (denom >= 0 && monitor_income_set_denominator(req->db, denom)) ||
	    !(after = settings_json(req))) {
		json_decref(before);
		reply_db_error(req, res);
		return;
	}
	http_audit_note(req, "monitor_setting", 0, before, json_incref(after));
	http_reply_json(res, 200, after);
}

static json_t *code_list_json(const struct code_list *l)
{
	json_t *a = json_array();
	for (int i = 0; i < l->nr_items; i++)
		json_array_append_new(a, json_string(l->items[i].label));
	return a;
}

/* GET /api/v1/monitor-codes — income items, measure categories and items. */
static void api_codes(struct http_request *req, struct http_response *res)
{
	json_t *items = json_array(), *cats = json_array();
	for (int i = 0; i < code_income_item.nr_items; i++) {
		int c = code_income_item.items[i].code;
		const char *g = monitor_income_group(c);
		json_array_append_new(
		    items, json_pack("{s:s, s:s, s:o}", "item", code_income_item.items[i].label,
				     "category",
				     codes_label(&code_income_category, INCOME_ITEM_CATEGORY(c)),
				     "group", g ? json_string(g) : json_null()));
	}
	for (int i = 0; i < code_measure_category.nr_items; i++) {
		int c = code_measure_category.items[i].code;
		json_array_append_new(cats, json_pack("{s:s, s:s, s:b, s:o}", "category",
						      code_measure_category.items[i].label, "code",
						      monitor_measure_table(c), "development",
						      monitor_measure_is_development(c), "items",
						      code_list_json(monitor_measure_items(c))));
	}
	http_reply_json(res, 200,
			json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "income_categories",
				  code_list_json(&code_income_category), "income_items", items,
				  "measure_categories", cats, "measure_dev_status",
				  code_list_json(&code_measure_dev_status), "calendar_kinds",
				  code_list_json(&code_cal_kind), "income_denominators",
				  code_list_json(&code_income_denominator), "risk_types",
				  code_list_json(&code_risk_type), "monitor_categories",
				  code_list_json(&code_monitor_category)));
}

/* ---- monitoring lines ----------------------------------------------------------------- */

enum { L_ID, L_YEAR, L_REGION, L_AMOUNT, L_BASIS, L_SOURCE, L_ASSUMED, L_UPDATED, L_NAME };
#define LINE_COLUMNS                                                                               \
	"l.id, l.year, l.region, l.amount, l.basis, l.source, l.assumed, l.updated_at, "           \
	"(SELECT name FROM region r WHERE r.code = substr(l.region || '000000000000', 1, 12))"

static json_t *line_row_json(struct db_stmt *st)
{
	const char *region = db_col_text(st, L_REGION);
	return json_pack("{s:I, s:i, s:s, s:s, s:I, s:s, s:s, s:b, s:s}", "id",
			 (json_int_t)db_col_int(st, L_ID), "year", (int)db_col_int(st, L_YEAR),
			 "region", region, "region_name",
			 *region ? db_col_text(st, L_NAME) : "全国", "amount",
			 (json_int_t)db_col_int(st, L_AMOUNT), "basis", db_col_text(st, L_BASIS),
			 "source", db_col_text(st, L_SOURCE), "assumed",
			 (int)db_col_int(st, L_ASSUMED), "updated_at", db_col_text(st, L_UPDATED));
}

/* Line `id` as JSON, or NULL when absent (or on error). */
static json_t *line_by_id(struct http_request *req, int64_t id)
{
	struct db_stmt *st = db_prepare(req->db, "SELECT " LINE_COLUMNS " FROM monitor_line l "
						 "WHERE l.id = :id");
	json_t *o = NULL;
	db_bind_int(st, ":id", id);
	if (db_step(st) == DB_ROW)
		o = line_row_json(st);
	db_done(st);
	return o;
}

static json_t *line_json(struct http_request *req, const struct monitor_line *l)
{
	json_t *o = line_by_id(req, l->id);
	return o ? o : json_null();
}

/* GET /api/v1/monitor-lines[?year=Y][&region=PREFIX] */
static void api_lines_list(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = {"year", "region", NULL};
	const char *ys = http_query(req, "year"), *region = http_query(req, "region");
	int64_t year = -1;
	struct db_stmt *st;
	json_t *items = json_array();
	int rc;
	if (unknown_params(req, res, params)) {
		json_decref(items);
		return;
	}
	if (ys && (parse_int64(ys, &year) || year < YEAR_MIN || year > YEAR_MAX)) {
		json_decref(items);
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "year 应为 %d 到 %d 之间的整数",
				 YEAR_MIN, YEAR_MAX);
		return;
	}
	if (region && (strlen(region) > 12 || strspn(region, "0123456789") != strlen(region))) {
		json_decref(items);
		http_reply_error(res, 400, "E_BAD_PARAM", NULL,
				 "region 应为最多12位的数字区划代码前缀");
		return;
	}
	st = db_prepare(req->db, "SELECT " LINE_COLUMNS " FROM monitor_line l WHERE (:y IS NULL "
				 "OR l.year = :y) AND (:r IS NULL OR l.region = :r) ORDER BY "
				 "l.year DESC, length(l.region), l.region");
	db_bind_int_or_null(st, ":y", year);
	db_bind_text(st, ":r", region);
	while ((rc = db_step(st)) == DB_ROW)
		json_array_append_new(items, line_row_json(st));
	db_done(st);
	if (rc < 0) {
		json_decref(items);
		reply_db_error(req, res);
		return;
	}
	http_reply_json(res, 200, json_pack("{s:o}", "items", items));
}

/* GET /api/v1/monitor-lines/applicable?code=CODE&year=Y — the line for a
 * region code (the longest configured prefix). */
static void api_lines_applicable(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = {"code", "year", NULL};
	const char *code = http_query(req, "code"), *ys = http_query(req, "year");
	struct monitor_line l;
	int64_t year;
	int rc;
	if (unknown_params(req, res, params))
		return;
	if (!code || strlen(code) < 2 || strlen(code) > 12 ||
	    strspn(code, "0123456789") != strlen(code)) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "code 应为 2 到 12 位数字区划代码");
		return;
	}
	if (!ys || parse_int64(ys, &year) || year < YEAR_MIN || year > YEAR_MAX) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "year 应为 %d 到 %d 之间的整数",
				 YEAR_MIN, YEAR_MAX);
		return;
	}
	rc = monitor_line_lookup(req->db, code, (int)year, &l);
	if (rc < 0) {
		reply_db_error(req, res);
		return;
	}
	http_reply_json(res, 200,
			json_pack("{s:s, s:I, s:o}", "code", code, "year", (json_int_t)year, "line",
				  rc ? line_json(req, &l) : json_null()));
}

static const char *const line_fields[] = {"year",	"region",  "amount", "basis",
					  "source",	"assumed", "id",     "region_name",
					  "updated_at", NULL};

/* Check a line's region: "" or a 2/4/6/9-digit prefix (a 12-digit code is
 * shortened to its prefix), an existing region, within the caller's scope.
 * Writes the prefix to out[13]; returns 0, or 1 after adding a problem,
 * or 2 when outside scope (the caller answers 403). */
static int line_region(struct http_request *req, struct problems *p, const char *in, char out[13])
{
	size_t l = strlen(in);
	struct db_stmt *st;
	char padded[13];
	int found;
	if (auth_scope_prefix(in, out) || (l && l != 2 && l != 4 && l != 6 && l != 9 && l != 12) ||
	    strlen(out) == 12) {
		problem(p, "region", "E_BAD_REGION",
			"region 应为空（全国）或 2、4、6、9 位区划代码前缀（省、市、县、乡镇）");
		return 1;
	}
	if (!starts_with(out, scope_of(req)))
		return 2;
	if (!*out)
		return 0;
	code_pad12(out, padded);
	st = db_prepare(req->db, "SELECT 1 FROM region WHERE code = :c");
	db_bind_text(st, ":c", padded);
	found = db_step(st) == DB_ROW;
	db_done(st);
	if (!found) {
		problem(p, "region", "E_BAD_REGION", "区划 %s 不存在", out);
		return 1;
	}
	return 0;
}

/* Read a line body into the given variables (fields present only). */
static int line_from_json(struct http_request *req, struct http_response *res, struct problems *p,
			  int create, int64_t *year, char region[13], int64_t *amount,
			  const char **basis, const char **source, int *assumed)
{
	const char *r;
	check_known(p, req->json, line_fields, "监测线");
	get_int(p, req->json, "year", "年度", YEAR_MIN, YEAR_MAX, create, year);
	get_int(p, req->json, "amount", "监测线金额", 1, LINE_AMOUNT_MAX, create, amount);
	get_text(p, req->json, "basis", "依据", SHORT_MAX, 0, 0, basis);
	get_text(p, req->json, "source", "来源文件", SHORT_MAX, 0, 0, source);
	get_bool(p, req->json, "assumed", "是否假定数据", assumed);
	{
		json_t *v = json_object_get(req->json, "region");
		if (!v && create) {
			problem(p, "region", "E_REQUIRED", "region 不能省略（全国填空字符串）");
		} else if (v && !json_is_string(v)) {
			problem(p, "region", "E_BAD_TYPE", "region 应为字符串");
		} else if (v) {
			r = json_string_value(v);
			if (line_region(req, p, r, region) == 2) {
				http_reply_error(res, 403, "E_OUT_OF_SCOPE", NULL,
						 "只能设置本辖区（%s）及下级的监测线",
						 scope_of(req));
				json_decref(p->details);
				p->details = NULL;
				return -1;
			}
		}
	}
	return reply_problems(res, p) ? -1 : 0;
}

/* Store the line row; answers 409 on a duplicate (year, region). */
static int line_conflict(struct http_request *req, struct http_response *res, int64_t year,
			 const char *region, int64_t except)
{
	struct db_stmt *st = db_prepare(req->db, "SELECT id FROM monitor_line WHERE year = :y AND "
						 "region = :r AND id <> :id");
	int dup;
	db_bind_int(st, ":y", year);
	db_bind_text(st, ":r", region);
	db_bind_int(st, ":id", except);
	dup = db_step(st) == DB_ROW;
	db_done(st);
	if (dup)
		http_reply_error(res, 409, "E_DUPLICATE_LINE", NULL,
				 "%lld 年%s%s已有监测线，请修改原记录", (long long)year,
				 *region ? "区划 " : "全国", region);
	return dup;
}

/* POST /api/v1/monitor-lines */
static void api_line_create(struct http_request *req, struct http_response *res)
{
	struct problems p = {0};
	int64_t year = 0, amount = 0, id;
	char region[13] = "", now[20], loc[64];
	const char *basis = "", *source = "";
	int assumed = 0;
	struct db_stmt *st;
	json_t *o;
	if (line_from_json(req, res, &p, 1, &year, region, &amount, &basis, &source, &assumed) ||
	    line_conflict(req, res, year, region, 0))
		return;
	now_utc_text(now);
	st = db_prepare(req->db, "INSERT INTO monitor_line(year, region, amount, basis, source, "
				 "assumed, updated_at) VALUES(:y, :r, :a, :b, :s, :x, :t)");
	db_bind_int(st, ":y", year);
	db_bind_text(st, ":r", region);
	db_bind_int(st, ":a", amount);
	db_bind_text(st, ":b", basis);
	db_bind_text(st, ":s", source);
	db_bind_int(st, ":x", assumed);
	db_bind_text(st, ":t", now);
	id = db_run_insert(st);
	db_done(st);
	if (id < 0 || !(o = line_by_id(req, id))) {
		reply_db_error(req, res);
		return;
	}
	http_audit_note(req, "monitor_line", id, NULL, json_incref(o));
	http_reply_json(res, 201, o);
	snprintf(loc, sizeof(loc), "/api/v1/monitor-lines/%lld", (long long)id);
	http_add_header(res, "Location", loc);
}

/* The line `id` where the caller may change it: 1, or 0 after answering
 * 404 / 403.  Fills year and region. */
static int line_writable(struct http_request *req, struct http_response *res, int64_t id,
			 int64_t *year, char region[13])
{
	struct db_stmt *st = db_prepare(req->db, "SELECT year, region FROM monitor_line WHERE id "
						 "= :id");
	int rc;
	db_bind_int(st, ":id", id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		*year = db_col_int(st, 0);
		snprintf(region, 13, "%s", db_col_text(st, 1));
	}
	db_done(st);
	if (rc != DB_ROW) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该监测线");
		return 0;
	}
	if (!starts_with(region, scope_of(req))) {
		http_reply_error(res, 403, "E_OUT_OF_SCOPE", NULL,
				 "该监测线属于上级区划，只能由上级管理员修改");
		return 0;
	}
	return 1;
}

/* PUT /api/v1/monitor-lines/:id — change the fields given. */
static void api_line_update(struct http_request *req, struct http_response *res)
{
	struct problems p = {0};
	int64_t id = path_id(req, res, 0), year = 0, amount = -1;
	char region[13], now[20];
	const char *basis = NULL, *source = NULL;
	int assumed = -1;
	struct db_stmt *st;
	json_t *before, *after;
	if (id < 0 || !line_writable(req, res, id, &year, region))
		return;
	if (line_from_json(req, res, &p, 0, &year, region, &amount, &basis, &source, &assumed) ||
	    line_conflict(req, res, year, region, id))
		return;
	before = line_by_id(req, id);
	now_utc_text(now);
	st =
	    db_prepare(req->db, "UPDATE monitor_line SET year = :y, region = :r, amount = "
				"coalesce(:a, amount), basis = coalesce(:b, basis), source = "
				"coalesce(:s, source), assumed = coalesce(:x, assumed), updated_at "
				"= :t WHERE id = :id");
	db_bind_int(st, ":y", year);
	db_bind_text(st, ":r", region);
	db_bind_int_or_null(st, ":a", amount);
	db_bind_text(st, ":b", basis);
	db_bind_text(st, ":s", source);
	db_bind_int_or_null(st, ":x", assumed);
	db_bind_text(st, ":t", now);
	db_bind_int(st, ":id", id);
	if (db_run(st) < 0 || !(after = line_by_id(req, id))) {
		db_done(st);
		json_decref(before);
		reply_db_error(req, res);
		return;
	}
	db_done(st);
	http_audit_note(req, "monitor_line", id, before, json_incref(after));
	http_reply_json(res, 200, after);
}

/* DELETE /api/v1/monitor-lines/:id */
static void api_line_delete(struct http_request *req, struct http_response *res)
{
	int64_t id = path_id(req, res, 0), year;
	char region[13];
	struct db_stmt *st;
	json_t *before;
	if (id < 0 || !line_writable(req, res, id, &year, region))
		return;
	before = line_by_id(req, id);
	st = db_prepare(req->db, "DELETE FROM monitor_line WHERE id = :id");
	db_bind_int(st, ":id", id);
	if (db_run(st) < 0) {
		db_done(st);
		json_decref(before);
		reply_db_error(req, res);
		return;
	}
	db_done(st);
	http_audit_note(req, "monitor_line", id, before, NULL);
	http_reply_json(res, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "deleted", 1));
}

/* ---- calendar -------------------------------------------------------------------------- */

static const char *const weekday_names[] = {"",	      "星期一", "星期二", "星期三",
					    "星期四", "星期五", "星期六", "星期日"};

enum { C_DAY, C_KIND, C_NAME, C_SOURCE };

static json_t *cal_row_json(struct db_stmt *st)
{
	long day = 0;
	monitor_date_parse(db_col_text(st, C_DAY), &day);
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "date", db_col_text(st, C_DAY), "kind",
			 label_of(&code_cal_kind, (int)db_col_int(st, C_KIND)), "name",
			 db_col_text(st, C_NAME), "source", db_col_text(st, C_SOURCE), "weekday",
			 weekday_names[monitor_weekday(day)]);
}

/* The stored row of `date` as JSON, or NULL. */
static json_t *cal_day_json(struct http_request *req, const char *date)
{
	struct db_stmt *st = db_prepare(req->db, "SELECT day, kind, name, source FROM "
						 "work_calendar WHERE day = :d");
	json_t *o = NULL;
	db_bind_text(st, ":d", date);
	if (db_step(st) == DB_ROW)
		o = cal_row_json(st);
	db_done(st);
	return o;
}

/* GET /api/v1/calendar[?year=Y] — the marked days of a year (default: this
 * year) and its number of working days. */
static void api_calendar_get(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = {"year", NULL};
	const char *ys = http_query(req, "year");
	struct work_calendar cal;
	struct db_stmt *st;
	json_t *days = json_array(), *src = json_null();
	int64_t year;
	int y, m, d, rc, loaded;
	char lo[12], hi[12];
	if (unknown_params(req, res, params)) {
		json_decref(days);
		return;
	}
	monitor_civil_from_days(monitor_today(), &y, &m, &d);
	year = y;
	if (ys && (parse_int64(ys, &year) || year < YEAR_MIN || year > YEAR_MAX)) {
		json_decref(days);
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "year 应为 %d 到 %d 之间的整数",
				 YEAR_MIN, YEAR_MAX);
		return;
	}
	snprintf(lo, sizeof(lo), "%04d-01-01", (int)year);
	snprintf(hi, sizeof(hi), "%04d-12-31", (int)year);
	st = db_prepare(req->db, "SELECT day, kind, name, source FROM work_calendar WHERE day >= "
				 ":lo AND day <= :hi ORDER BY day");
	db_bind_text(st, ":lo", lo);
	db_bind_text(st, ":hi", hi);
	while ((rc = db_step(st)) == DB_ROW)
		json_array_append_new(days, cal_row_json(st));
	db_done(st);
	st = db_prepare(req->db, "SELECT source FROM work_calendar_year WHERE year = :y");
	db_bind_int(st, ":y", year);
	loaded = db_step(st) == DB_ROW;
	if (loaded) {
		json_decref(src);
		src = json_string(db_col_text(st, 0));
	}
	db_done(st);
	monitor_cal_init(&cal);
	if (rc < 0 || monitor_cal_load(req->db, &cal)) {
		monitor_cal_release(&cal);
		json_decref(days);
		json_decref(src);
		reply_db_error(req, res);
		return;
	}
	{
		long a = monitor_days_from_civil((int)year, 1, 1) - 1;
		long b = monitor_days_from_civil((int)year, 12, 31);
		long wd = monitor_cal_workdays_between(&cal, a, b);
		monitor_cal_release(&cal);
		http_reply_json(res, 200,
				json_pack("{s:I, s:b, s:o, s:I, s:o}", "year", (json_int_t)year,
					  "loaded", loaded, "source", src, "workdays",
					  (json_int_t)wd, "days", days));
	}
}

/* GET /api/v1/calendar/workdays?from=D&days=N | ?from=D&to=E */
static void api_calendar_workdays(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = {"from", "days", "to", NULL};
	const char *from = http_query(req, "from"), *ns = http_query(req, "days");
	const char *to = http_query(req, "to");
	struct work_calendar cal;
	long a, b = 0;
	int64_t n = 0;
	char out[11];
	json_t *o, *missing = json_array();
	int y1, y2, mm, dd;
	if (unknown_params(req, res, params)) {
		json_decref(missing);
		return;
	}
	if (!from || monitor_date_parse(from, &a)) {
		json_decref(missing);
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "from 应为日期 YYYY-MM-DD");
		return;
	}
	if (!!ns == !!to) {
		json_decref(missing);
		http_reply_error(res, 400, "E_BAD_PARAM", NULL,
				 "请给出 days（计算期限）或 to（计算两日期间工作日数）之一");
		return;
	}
	if (ns && (parse_int64(ns, &n) || n < -1000 || n > 1000)) {
		json_decref(missing);
		http_reply_error(res, 400, "E_BAD_PARAM", NULL,
				 "days 应为 -1000 到 1000 之间的整数");
		return;
	}
	if (to && monitor_date_parse(to, &b)) {
		json_decref(missing);
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "to 应为日期 YYYY-MM-DD");
		return;
	}
	monitor_cal_init(&cal);
	if (monitor_cal_load(req->db, &cal)) {
		monitor_cal_release(&cal);
		json_decref(missing);
		reply_db_error(req, res);
		return;
	}
	o = json_object();
	json_object_set_new(o, "from", json_string(from));
	json_object_set_new(o, "from_is_workday", json_boolean(monitor_cal_is_workday(&cal, a)));
	if (ns) {
		b = monitor_cal_add_workdays(&cal, a, (int)n);
		monitor_date_format(b, out);
		json_object_set_new(o, "days", json_integer(n));
		json_object_set_new(o, "deadline", json_string(out));
		json_object_set_new(o, "deadline_weekday",
				    json_string(weekday_names[monitor_weekday(b)]));
	} else {
		json_object_set_new(o, "to", json_string(to));
		json_object_set_new(o, "workdays",
				    json_integer(monitor_cal_workdays_between(&cal, a, b)));
	}
	monitor_cal_release(&cal);
	/* warn about years whose official schedule is not loaded */
	monitor_civil_from_days(a < b ? a : b, &y1, &mm, &dd);
	monitor_civil_from_days(a < b ? b : a, &y2, &mm, &dd);
	for (int y = y1; y <= y2 && y - y1 < 10; y++)
		if (monitor_cal_year_loaded(req->db, y) == 0)
			json_array_append_new(missing, json_integer(y));
	json_object_set_new(o, "years_not_loaded", missing);
	http_reply_json(res, 200, o);
}

/* The audit target id of a day: YYYYMMDD as a number. */
static int64_t date_key(const char *date)
{
	long day;
	int y, m, d;
	if (monitor_date_parse(date, &day))
		return 0;
	monitor_civil_from_days(day, &y, &m, &d);
	return (int64_t)y * 10000 + m * 100 + d;
}

static const char *const cal_fields[] = {"date", "kind", "name", "source", "weekday", NULL};
static const char *const cal_batch_fields[] = {"days", "source", "year", NULL};

/* Check one day object; fills date, kind, name.  0 or -1 (problems added). */
static int cal_day_from_json(struct problems *p, json_t *o, const char *where, const char **date,
			     int *kind, const char **name, const char **source)
{
	long day;
	int before = p->details ? (int)json_array_size(p->details) : 0;
	const char *ks;
	check_known(p, o, cal_fields, where);
	if (get_date(p, o, "date", "日期", 1, &day) == 1)
		*date = json_string_value(json_object_get(o, "date"));
	*kind = 0;
	if (get_text(p, o, "kind", "日历类型", 20, 1, 0, &ks) == 1) {
		if (!strcmp(ks, "放假"))
			*kind = CAL_HOLIDAY;
		else if (!strcmp(ks, "调休上班") || !strcmp(ks, "上班"))
			*kind = CAL_WORKDAY;
		else
			problem(p, "kind", "E_BAD_CODE", "%s日历类型应为“放假”或“调休上班”", where);
	}
	get_text(p, o, "name", "节日名称", SHORT_MAX, 0, 0, name);
	if (source)
		get_text(p, o, "source", "来源文件", SHORT_MAX, 0, 0, source);
	if (*kind == CAL_WORKDAY && *date && monitor_weekday(day) <= 5)
		problem(p, "kind", "E_VALIDATION", "%s%s 是工作日（%s），调休上班日应为周六或周日",
			where, *date, weekday_names[monitor_weekday(day)]);
	return p->details && (int)json_array_size(p->details) > before ? -1 : 0;
}

/* POST /api/v1/calendar — one day {date, kind, name, source}, or a year's
 * notice {year, source, days:[{date, kind, name}…]} (all or nothing; with
 * `year` the year is marked as loaded).  An existing day is replaced. */
static void api_calendar_post(struct http_request *req, struct http_response *res)
{
	struct problems p = {0};
	json_t *days = json_object_get(req->json, "days"), *olds = json_array(),
	       *news = json_array();
	const char *source = "", *dates[400], *names[400];
	int kinds[400], n = 0, created = 0;
	int64_t year = 0;
	char now[20];
	size_t i;
	json_t *d;

	if (days) {
		check_known(&p, req->json, cal_batch_fields, "日历");
		get_text(&p, req->json, "source", "来源文件", SHORT_MAX, 0, 0, &source);
		get_int(&p, req->json, "year", "年度", YEAR_MIN, YEAR_MAX, 0, &year);
		if (!json_is_array(days))
			problem(&p, "days", "E_BAD_TYPE", "days 应为数组");
		else if (json_array_size(days) < 1 || json_array_size(days) > ARRAY_SIZE(dates))
			problem(&p, "days", "E_VALIDATION", "days 应有 1 到 %zu 天",
				ARRAY_SIZE(dates));
		else
			json_array_foreach(days, i, d)
			{
				char where[48];
				snprintf(where, sizeof(where), "第 %zu 天：", i + 1);
				dates[n] = NULL;
				names[n] = "";
				if (!json_is_object(d)) {
					problem(&p, "days", "E_BAD_TYPE", "%s应为 JSON 对象",
						where);
					continue;
				}
				if (cal_day_from_json(&p, d, where, &dates[n], &kinds[n], &names[n],
						      NULL))
					continue;
				if (year && atoi(dates[n]) != year)
					problem(&p, "date", "E_VALIDATION", "%s%s 不在 %lld 年内",
						where, dates[n], (long long)year);
				for (int k = 0; k < n; k++)
					if (!strcmp(dates[k], dates[n]))
						problem(&p, "date", "E_DUPLICATE_DATE",
							"%s日期 %s 重复", where, dates[n]);
				n++;
			}
	} else {
		dates[0] = NULL;
		names[0] = "";
		if (!cal_day_from_json(&p, req->json, "", &dates[0], &kinds[0], &names[0], &source))
			n = 1;
	}
	if (reply_problems(res, &p)) {
		json_decref(olds);
		json_decref(news);
		return;
	}
	now_utc_text(now);
	for (int k = 0; k < n; k++) {
		json_t *old = cal_day_json(req, dates[k]);
		struct db_stmt *st;
		int rc;
		if (old)
			json_array_append_new(olds, old);
		else
			created++;
		st = db_prepare(req->db,
				"INSERT INTO work_calendar(day, kind, name, source, "
				"updated_at) VALUES(:d, :k, :n, :s, :t) ON CONFLICT(day) DO "
				"UPDATE SET kind = excluded.kind, name = excluded.name, "
				"source = excluded.source, updated_at = excluded.updated_at");
		db_bind_text(st, ":d", dates[k]);
		db_bind_int(st, ":k", kinds[k]);
		db_bind_text(st, ":n", names[k]);
		db_bind_text(st, ":s", source);
		db_bind_text(st, ":t", now);
		rc = db_run(st);
		db_done(st);
		if (rc < 0) {
			json_decref(olds);
			json_decref(news);
			reply_db_error(req, res);
			return;
		}
		json_array_append_new(news, cal_day_json(req, dates[k]));
	}
	if (year) {
		struct db_stmt *st = db_prepare(
		    req->db, "INSERT INTO work_calendar_year(year, source, loaded_at) VALUES(:y, "
			     ":s, :t) ON CONFLICT(year) DO UPDATE SET source = excluded.source, "
			     "loaded_at = excluded.loaded_at");
		int rc;
		db_bind_int(st, ":y", year);
		db_bind_text(st, ":s", source);
		db_bind_text(st, ":t", now);
		rc = db_run(st);
		db_done(st);
		if (rc < 0) {
			json_decref(olds);
			json_decref(news);
			reply_db_error(req, res);
			return;
		}
	}
	http_audit_note(req, "calendar", year ? year : date_key(dates[0]), olds, json_incref(news));
	snprintf(req->audit.detail, sizeof(req->audit.detail), "工作日历：新增 %d 天，修改 %d 天",
		 created, n - created);
	http_reply_json(
	    res, created == n ? 201 : 200,
	    json_pack("{s:i, s:i, s:o}", "created", created, "updated", n - created, "days", news));
}

/* DELETE /api/v1/calendar/:date */
static void api_calendar_delete(struct http_request *req, struct http_response *res)
{
	const char *date = req->path_params[0];
	long day;
	json_t *old;
	struct db_stmt *st;
	if (monitor_date_parse(date, &day) || !(old = cal_day_json(req, date))) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "日历中没有 %s 这一天的安排",
				 monitor_date_parse(date, &day) ? "该日期" : date);
		return;
	}
	st = db_prepare(req->db, "DELETE FROM work_calendar WHERE day = :d");
	db_bind_text(st, ":d", date);
	if (db_run(st) < 0) {
		db_done(st);
		json_decref(old);
		reply_db_error(req, res);
		return;
	}
	db_done(st);
	http_audit_note(req, "calendar", date_key(date), old, NULL);
	http_reply_json(res, 200, json_pack("{s:s, s:b}", "date", date, "deleted", 1));
}

/* ---- measures ---------------------------------------------------------------------------- */

enum {
	M_ID,
	M_HH,
	M_CAT,
	M_ITEM,
	M_START,
	M_END,
	M_AMOUNT,
	M_UNIT,
	M_PERSON,
	M_EVIDENCE,
	M_CASE,
	M_CREATED,
	M_UPDATED
};
#define MEASURE_COLUMNS                                                                            \
	"m.id, m.household_id, m.category, m.item, m.start_date, m.end_date, m.amount, m.unit, "   \
	"m.person, m.evidence, m.case_id, m.created_at, m.updated_at"

static json_t *measure_row_json(struct db_stmt *st)
{
	int cat = (int)db_col_int(st, M_CAT), item = (int)db_col_int(st, M_ITEM);
	const struct code_list *items = monitor_measure_items(cat);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(db_col_int(st, M_ID)));
	json_object_set_new(o, "household_id", json_integer(db_col_int(st, M_HH)));
	json_object_set_new(o, "category", json_string(label_of(&code_measure_category, cat)));
	json_object_set_new(
	    o, "category_code",
	    json_string(monitor_measure_table(cat) ? monitor_measure_table(cat) : "?"));
	json_object_set_new(o, "item", json_string(label_of(items, item)));
	json_object_set_new(o, "development", json_boolean(monitor_measure_is_development(cat)));
	json_object_set_new(o, "start_date", json_string(db_col_text(st, M_START)));
	json_object_set_new(o, "end_date",
			    db_col_is_null(st, M_END) ? json_null()
						      : json_string(db_col_text(st, M_END)));
	json_object_set_new(o, "amount", json_integer(db_col_int(st, M_AMOUNT)));
	json_object_set_new(o, "unit", json_string(db_col_text(st, M_UNIT)));
	json_object_set_new(o, "person", json_string(db_col_text(st, M_PERSON)));
	json_object_set_new(o, "evidence", json_string(db_col_text(st, M_EVIDENCE)));
	json_object_set_new(o, "case_id",
			    db_col_is_null(st, M_CASE) ? json_null()
						       : json_integer(db_col_int(st, M_CASE)));
	json_object_set_new(o, "created_at", json_string(db_col_text(st, M_CREATED)));
	json_object_set_new(o, "updated_at", json_string(db_col_text(st, M_UPDATED)));
	return o;
}

/* Measure `id` within the caller's scope, as JSON (NULL when absent or
 * outside scope, *err set on a database error). */
static json_t *measure_scoped(struct http_request *req, int64_t id, int *err)
{
	struct db_stmt *st = db_prepare(req->db, "SELECT " MEASURE_COLUMNS " FROM measure m JOIN "
						 "household h ON h.id = m.household_id WHERE m.id "
						 "= :id AND h.village_code >= :lo AND "
						 "h.village_code < :hi");
	json_t *o = NULL;
	int rc;
	db_bind_int(st, ":id", id);
	bind_prefix(st, scope_of(req));
	rc = db_step(st);
	if (rc == DB_ROW)
		o = measure_row_json(st);
	db_done(st);
	*err = rc < 0;
	return o;
}

/* GET /api/v1/households/:id/measures */
static void api_measures_list(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = {NULL};
	char village[13];
	int64_t hh = path_id(req, res, 0);
	struct db_stmt *st;
	json_t *items;
	int rc;
	if (hh < 0 || unknown_params(req, res, params) || !scoped_household(req, res, hh, village))
		return;
	items = json_array();
	st = db_prepare(req->db, "SELECT " MEASURE_COLUMNS " FROM measure m WHERE "
				 "m.household_id = :h ORDER BY m.start_date, m.id");
	db_bind_int(st, ":h", hh);
	while ((rc = db_step(st)) == DB_ROW)
		json_array_append_new(items, measure_row_json(st));
	db_done(st);
	if (rc < 0) {
		json_decref(items);
		reply_db_error(req, res);
		return;
	}
	http_reply_json(res, 200,
			json_pack("{s:I, s:o}", "household_id", (json_int_t)hh, "items", items));
}

static const char *const measure_fields[] = {
    "category",	   "item",	 "start_date", "end_date", "amount",	   "unit",
    "person",	   "evidence",	 "case_id",    "id",	   "household_id", "category_code",
    "development", "created_at", "updated_at", NULL};

/* A measure's editable fields. */
struct measure_in {
	int category, item;
	long start, end;	 /* day numbers; end -1 = ongoing */
	int64_t amount, case_id; /* case_id -1 = none */
	const char *unit, *person, *evidence;
	int new_category; /* the body changed the category */
};

/* Read a measure body over `m` (which holds the current values on update). */
static void measure_from_json(struct problems *p, json_t *o, struct measure_in *m, int create)
{
	json_t *v;
	const char *s;
	check_known(p, o, measure_fields, "帮扶措施");
	/* category: its name or its code table (100A39) */
	v = json_object_get(o, "category");
	if ((v && !json_is_null(v)) || create) {
		if (get_text(p, o, "category", "帮扶措施类别", 60, 1, 0, &s) == 1) {
			int c = codes_lookup(&code_measure_category, s);
			if (c < 0 && strlen(s) == 6 && starts_with(s, "100A"))
				c = monitor_measure_table(atoi(s + 4)) ? atoi(s + 4) : -1;
			if (c < 0) {
				const char *sug = codes_suggest(&code_measure_category, s);
				problem(p, "category", "E_BAD_CODE",
					"“%s”不是有效的帮扶措施类别%s%s%s", s,
					sug ? "，是否应为“" : "", sug ? sug : "", sug ? "”？" : "");
			} else {
				m->category = c;
				m->new_category = 1;
			}
		}
	} else if (v) {
		problem(p, "category", "E_REQUIRED", "帮扶措施类别不能为空");
	}
	v = json_object_get(o, "item");
	if ((v && !json_is_null(v)) || create) {
		if (get_text(p, o, "item", "帮扶措施项目", 100, 1, 0, &s) == 1 && m->category > 0) {
			const struct code_list *items = monitor_measure_items(m->category);
			int c = codes_lookup(items, s);
			if (c < 0) {
				struct buf all = BUF_INIT;
				for (int i = 0; i < items->nr_items; i++)
					buf_addf(&all, "%s%s", i ? "、" : "",
						 items->items[i].label);
				problem(p, "item", "E_BAD_CODE",
					"“%s”不是“%s”的措施项目（可选：%s）", s,
					label_of(&code_measure_category, m->category), all.buf);
				buf_release(&all);
			} else {
				m->item = c;
			}
		}
	} else if (v) {
		problem(p, "item", "E_REQUIRED", "帮扶措施项目不能为空");
	} else if (m->new_category && m->item / 100 != m->category) {
		problem(p, "item", "E_REQUIRED", "修改措施类别时须同时给出该类别下的措施项目");
	}
	v = json_object_get(o, "start_date");
	if (v && json_is_null(v))
		problem(p, "start_date", "E_REQUIRED", "开始日期不能为空");
	else
		get_date(p, o, "start_date", "开始日期", create, &m->start);
	v = json_object_get(o, "end_date");
	if (v && json_is_null(v))
		m->end = -1;
	else
		get_date(p, o, "end_date", "结束日期", 0, &m->end);
	if (m->end >= 0 && m->start > m->end)
		problem(p, "end_date", "E_VALIDATION", "结束日期不能早于开始日期");
	get_int(p, o, "amount", "金额", 0, INCOME_AMOUNT_MAX, 0, &m->amount);
	get_text(p, o, "unit", "责任单位", SHORT_MAX, 0, 0, &m->unit);
	get_text(p, o, "person", "责任人", SHORT_MAX, 0, 0, &m->person);
	get_text(p, o, "evidence", "佐证材料说明", NOTE_MAX * 4, 0, 1, &m->evidence);
	v = json_object_get(o, "case_id");
	if (v && json_is_null(v))
		m->case_id = -1;
	else
		get_int(p, o, "case_id", "监测对象编号", 1, INT64_MAX, 0, &m->case_id);
}

static void bind_measure(struct db_stmt *st, const struct measure_in *m, const char *now)
{
	char a[11], b[11];
	monitor_date_format(m->start, a);
	db_bind_int(st, ":cat", m->category);
	db_bind_int(st, ":item", m->item);
	db_bind_text(st, ":start", a);
	if (m->end >= 0) {
		monitor_date_format(m->end, b);
		db_bind_text(st, ":end", b);
	} else {
		db_bind_null(st, ":end");
	}
	db_bind_int(st, ":amount", m->amount);
	db_bind_text(st, ":unit", m->unit);
	db_bind_text(st, ":person", m->person);
	db_bind_text(st, ":evidence", m->evidence);
	db_bind_int_or_null(st, ":case", m->case_id);
	db_bind_text(st, ":now", now);
}

/* POST /api/v1/households/:id/measures */
static void api_measure_create(struct http_request *req, struct http_response *res)
{
	struct problems p = {0};
	struct measure_in m = {0};
	char village[13], now[20], loc[64];
	int64_t hh = path_id(req, res, 0), id;
	struct db_stmt *st;
	json_t *o;
	int err;
	if (hh < 0 || !scoped_household(req, res, hh, village))
		return;
	m.end = -1;
	m.case_id = -1;
	m.unit = m.person = m.evidence = "";
	measure_from_json(&p, req->json, &m, 1);
	if (reply_problems(res, &p))
		return;
	now_utc_text(now);
	st =
	    db_prepare(req->db, "INSERT INTO measure(household_id, category, item, start_date, "
				"end_date, amount, unit, person, evidence, case_id, created_at, "
				"updated_at) VALUES(:h, :cat, :item, :start, :end, :amount, :unit, "
				":person, :evidence, :case, :now, :now)");
	db_bind_int(st, ":h", hh);
	bind_measure(st, &m, now);
	id = db_run_insert(st);
	db_done(st);
	if (id < 0 || !(o = measure_scoped(req, id, &err))) {
		reply_db_error(req, res);
		return;
	}
	http_audit_note(req, "measure", id, NULL, json_incref(o));
	http_reply_json(res, 201, o);
	snprintf(loc, sizeof(loc), "/api/v1/measures/%lld", (long long)id);
	http_add_header(res, "Location", loc);
}

/* GET /api/v1/measures/:id */
static void api_measure_get(struct http_request *req, struct http_response *res)
{
	int64_t id = path_id(req, res, 0);
	json_t *o;
	int err;
	if (id < 0)
		return;
	if (!(o = measure_scoped(req, id, &err))) {
		if (err)
			reply_db_error(req, res);
		else
			http_reply_error(res, 404, "E_NOT_FOUND", NULL,
					 "找不到该帮扶措施（或不在您的管辖范围内）");
		return;
	}
	http_reply_json(res, 200, o);
}

/* Fill `m` from the stored measure JSON `o`. */
static void measure_in_from_row(json_t *o, struct measure_in *m)
{
	const char *end = json_string_value(json_object_get(o, "end_date"));
	const struct code_list *items;
	m->category =
	    codes_lookup(&code_measure_category, json_string_value(json_object_get(o, "category")));
	items = monitor_measure_items(m->category);
	m->item = items ? codes_lookup(items, json_string_value(json_object_get(o, "item"))) : -1;
	monitor_date_parse(json_string_value(json_object_get(o, "start_date")), &m->start);
	m->end = -1;
	if (end)
		monitor_date_parse(end, &m->end);
	m->amount = json_integer_value(json_object_get(o, "amount"));
	m->unit = json_string_value(json_object_get(o, "unit"));
	m->person = json_string_value(json_object_get(o, "person"));
	m->evidence = json_string_value(json_object_get(o, "evidence"));
	m->case_id = json_is_integer(json_object_get(o, "case_id"))
			 ? json_integer_value(json_object_get(o, "case_id"))
			 : -1;
}

/* PUT /api/v1/measures/:id — change the fields given. */
static void api_measure_update(struct http_request *req, struct http_response *res)
{
	struct problems p = {0};
	struct measure_in m = {0};
	int64_t id = path_id(req, res, 0);
	char now[20];
	struct db_stmt *st;
	json_t *before, *after;
	int err;
	if (id < 0)
		return;
	if (!(before = measure_scoped(req, id, &err))) {
		if (err)
			reply_db_error(req, res);
		else
			http_reply_error(res, 404, "E_NOT_FOUND", NULL,
					 "找不到该帮扶措施（或不在您的管辖范围内）");
		return;
	}
	measure_in_from_row(before, &m);
	measure_from_json(&p, req->json, &m, 0);
	if (reply_problems(res, &p)) {
		json_decref(before);
		return;
	}
	now_utc_text(now);
	st =
	    db_prepare(req->db, "UPDATE measure SET category = :cat, item = :item, start_date = "
				":start, end_date = :end, amount = :amount, unit = :unit, person = "
				":person, evidence = :evidence, case_id = :case, updated_at = :now "
				"WHERE id = :id");
	bind_measure(st, &m, now);
	db_bind_int(st, ":id", id);
	if (db_run(st) < 0 || !(after = measure_scoped(req, id, &err))) {
		db_done(st);
		json_decref(before);
		reply_db_error(req, res);
		return;
	}
	db_done(st);
	http_audit_note(req, "measure", id, before, json_incref(after));
	http_reply_json(res, 200, after);
}

/* DELETE /api/v1/measures/:id */
static void api_measure_delete(struct http_request *req, struct http_response *res)
{
	int64_t id = path_id(req, res, 0);
	struct db_stmt *st;
	json_t *before;
	int err;
	if (id < 0)
		return;
	if (!(before = measure_scoped(req, id, &err))) {
		if (err)
			reply_db_error(req, res);
		else
			http_reply_error(res, 404, "E_NOT_FOUND", NULL,
					 "找不到该帮扶措施（或不在您的管辖范围内）");
		return;
	}
	st = db_prepare(req->db, "DELETE FROM measure WHERE id = :id");
	db_bind_int(st, ":id", id);
	if (db_run(st) < 0) {
		db_done(st);
		json_decref(before);
		reply_db_error(req, res);
		return;
	}
	db_done(st);
	http_audit_note(req, "measure", id, before, NULL);
	http_reply_json(res, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "deleted", 1));
}

/* ---- 一户一策 plan --------------------------------------------------------------------------- */

/* The plan of (household, year); *err set on a database error. */
static json_t *plan_json(struct http_request *req, int64_t hh, int year, int *err)
{
	enum { P_PLAN, P_STATUS, P_UPDATED };
	struct db_stmt *st = db_prepare(req->db, "SELECT plan, dev_status, updated_at FROM "
						 "help_plan WHERE household_id = :h AND year = :y");
	json_t *o;
	int rc;
	db_bind_int(st, ":h", hh);
	db_bind_int(st, ":y", year);
	rc = db_step(st);
	o = json_pack("{s:I, s:i, s:b}", "household_id", (json_int_t)hh, "year", year, "saved",
		      rc == DB_ROW);
	if (rc == DB_ROW) {
		const char *s =
		    db_col_is_null(st, P_STATUS)
			? NULL
			: codes_label(&code_measure_dev_status, (int)db_col_int(st, P_STATUS));
		json_object_set_new(o, "plan", json_string(db_col_text(st, P_PLAN)));
		json_object_set_new(o, "dev_status", s ? json_string(s) : json_null());
		json_object_set_new(o, "updated_at", json_string(db_col_text(st, P_UPDATED)));
	} else {
		json_object_set_new(o, "plan", json_string(""));
		json_object_set_new(o, "dev_status", json_null());
		json_object_set_new(o, "updated_at", json_null());
	}
	db_done(st);
	*err = rc < 0;
	return o;
}

/* GET /api/v1/households/:id/plan/:year */
static void api_plan_get(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = {NULL};
	char village[13];
	int64_t hh = path_id(req, res, 0);
	int year, err;
	json_t *o;
	if (hh < 0 || (year = path_year(req, res, 1)) < 0 || unknown_params(req, res, params) ||
	    !scoped_household(req, res, hh, village))
		return;
	o = plan_json(req, hh, year, &err);
	if (err) {
		json_decref(o);
		reply_db_error(req, res);
		return;
	}
	http_reply_json(res, 200, o);
}

/* PUT /api/v1/households/:id/plan/:year {plan, dev_status} */
static void api_plan_put(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = {
	    "plan", "dev_status", "household_id", "year", "saved", "updated_at", NULL};
	struct problems p = {0};
	char village[13], now[20];
	int64_t hh = path_id(req, res, 0);
	int year, err, status = -1, have_status = 0, rc;
	const char *plan = NULL;
	struct db_stmt *st;
	json_t *before, *after, *v;
	if (hh < 0 || (year = path_year(req, res, 1)) < 0 ||
	    !scoped_household(req, res, hh, village))
		return;
	check_known(&p, req->json, fields, "一户一策");
	get_text(&p, req->json, "plan", "帮扶计划", PLAN_MAX, 0, 1, &plan);
	v = json_object_get(req->json, "dev_status");
	if (v && json_is_null(v))
		have_status = 1;
	else if (get_label(&p, req->json, "dev_status", &code_measure_dev_status, 0, &status) == 1)
		have_status = 1;
	if (reply_problems(res, &p))
		return;
	before = plan_json(req, hh, year, &err);
	if (err) {
		json_decref(before);
		reply_db_error(req, res);
		return;
	}
	if (!plan)
		plan = json_string_value(json_object_get(before, "plan"));
	if (!have_status) {
		const char *s = json_string_value(json_object_get(before, "dev_status"));
		status = s ? codes_lookup(&code_measure_dev_status, s) : -1;
	}
	now_utc_text(now);
	st = db_prepare(req->db, "INSERT INTO help_plan(household_id, year, plan, dev_status, "
				 "updated_at) VALUES(:h, :y, :p, :s, :t) ON CONFLICT(household_id, "
				 "year) DO UPDATE SET plan = excluded.plan, dev_status = "
				 "excluded.dev_status, updated_at = excluded.updated_at");
	db_bind_int(st, ":h", hh);
	db_bind_int(st, ":y", year);
	db_bind_text(st, ":p", plan);
	db_bind_int_or_null(st, ":s", status);
	db_bind_text(st, ":t", now);
	rc = db_run(st);
	db_done(st);
	if (rc < 0) {
		json_decref(before);
		reply_db_error(req, res);
		return;
	}
	after = plan_json(req, hh, year, &err);
	http_audit_note(req, "help_plan", hh,
			json_is_true(json_object_get(before, "saved")) ? json_incref(before) : NULL,
			json_incref(after));
	json_decref(before);
	snprintf(req->audit.detail, sizeof(req->audit.detail), "保存 %d 年一户一策", year);
	http_reply_json(res, 200, after);
}

/* ---- routes -------------------------------------------------------------------------------- */

/* Permission for monitoring lines, the calendar and settings (admin). */
#define PERM_MONITOR_CONFIG "monitor.config"

const struct route monitor_ledger_routes[] = {
    {"GET", "/api/v1/households/:id/income/:year", api_income_get, 0, "household.read",
     "收入台账（分项、纯收入、人均纯收入、监测线比较）"},
    {"PUT", "/api/v1/households/:id/income/:year", api_income_put, ROUTE_WRITE | ROUTE_JSON,
     "household.write", "保存收入台账"},
    {"GET", "/api/v1/households/:id/income-ident/:month", api_income_ident, 0, "household.read",
     "识别月份前12个月收入（按年度台账折算）"},
    {"GET", "/api/v1/households/:id/measures", api_measures_list, 0, "household.read",
     "户的帮扶措施"},
    {"POST", "/api/v1/households/:id/measures", api_measure_create, ROUTE_WRITE | ROUTE_JSON,
     "household.write", "新增帮扶措施"},
    {"GET", "/api/v1/measures/:id", api_measure_get, 0, "household.read", "帮扶措施详情"},
    {"PUT", "/api/v1/measures/:id", api_measure_update, ROUTE_WRITE | ROUTE_JSON, "household.write",
     "修改帮扶措施"},
    {"DELETE", "/api/v1/measures/:id", api_measure_delete, ROUTE_WRITE, "household.write",
     "删除帮扶措施"},
    {"GET", "/api/v1/households/:id/plan/:year", api_plan_get, 0, "household.read",
     "一户一策帮扶计划"},
    {"PUT", "/api/v1/households/:id/plan/:year", api_plan_put, ROUTE_WRITE | ROUTE_JSON,
     "household.write", "保存一户一策帮扶计划"},
    {"GET", "/api/v1/monitor-lines", api_lines_list, 0, NULL, "监测线列表"},
    {"GET", "/api/v1/monitor-lines/applicable", api_lines_applicable, 0, NULL,
     "某区划某年度适用的监测线"},
    {"POST", "/api/v1/monitor-lines", api_line_create, ROUTE_WRITE | ROUTE_JSON,
     PERM_MONITOR_CONFIG, "新增监测线"},
    {"PUT", "/api/v1/monitor-lines/:id", api_line_update, ROUTE_WRITE | ROUTE_JSON,
     PERM_MONITOR_CONFIG, "修改监测线"},
    {"DELETE", "/api/v1/monitor-lines/:id", api_line_delete, ROUTE_WRITE, PERM_MONITOR_CONFIG,
     "删除监测线"},
    {"GET", "/api/v1/calendar", api_calendar_get, 0, NULL, "节假日与调休安排（按年）"},
    {"GET", "/api/v1/calendar/workdays", api_calendar_workdays, 0, NULL,
     "工作日计算（期限、两日期间工作日数）"},
    {"POST", "/api/v1/calendar", api_calendar_post, ROUTE_WRITE | ROUTE_JSON | ROUTE_COUNTY, PERM_MONITOR_CONFIG,
     "新增或修改节假日安排"},
    {"DELETE", "/api/v1/calendar/:date", api_calendar_delete, ROUTE_WRITE | ROUTE_COUNTY, PERM_MONITOR_CONFIG,
     "删除某日的节假日安排"},
    {"GET", "/api/v1/monitor-settings", api_settings_get, 0, NULL, "监测设置"},
    {"PUT", "/api/v1/monitor-settings", api_settings_put, ROUTE_WRITE | ROUTE_JSON | ROUTE_COUNTY,
     PERM_MONITOR_CONFIG, "修改监测设置（人均收入计算人口）"},
    {"GET", "/api/v1/monitor-codes", api_codes, 0, NULL, "收入项目与帮扶措施代码表"},
    {NULL},
};
