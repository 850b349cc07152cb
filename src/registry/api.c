/* api.c — the registry's JSON API: regions, households and members.
 *
 * Every query is limited to the caller's region scope in SQL (a code-range
 * condition on the village code), so a household outside scope answers 404
 * exactly like one that does not exist.  Writes run inside the dispatcher's
 * transaction: a handler that answers >= 400 has everything rolled back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jw.h"
#include "base/util.h"
#include "db/db.h"
#include "auth/auth.h"
#include "http/http.h"
#include "registry/codes.h"
#include "registry/idcard.h"
#include "registry/registry.h"

#define API_VERSION "0.1.0"
#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 500

/* ---- scope ------------------------------------------------------------------ */

static const char *scope_of(struct http_request *req)
{
	return req->principal ? req->principal->scope : "";
}

static int in_scope(struct http_request *req, const char *code)
{
	return starts_with(code, scope_of(req));
}

/* 1 if the caller may see region `code` (12 digits): it is inside the scope,
 * or an ancestor of it, so the tree can be walked down to the scope.  The
 * ancestor test compares the region's prefix by level (610926100000 →
 * 610926100), never its digits with the zeros stripped (→ 6109261, which
 * would make 城关镇 an "ancestor" of 老县镇 610926102). */
static int region_visible(struct http_request *req, const char *code)
{
	char prefix[13];
	return in_scope(req, code) ||
	       (!auth_scope_prefix(code, prefix) && starts_with(scope_of(req), prefix));
}

static const char *const no_params[] = { NULL };

/* The :id of a household or member route; these take no query parameters
 * (400 E_UNKNOWN_PARAM).  -1 after answering. */
static int64_t path_id(struct http_request *req, struct http_response *res)
{
	int64_t id;
	if (http_refuse_unknown_params(req, res, no_params))
		return -1;
	if (req->nr_path_params < 1 || parse_int64(req->path_params[0], &id) || id <= 0) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该记录");
		return -1;
	}
	return id;
}

/* ---- JSON output -------------------------------------------------------------- */

/* Write the label of `code`, or null. */
static void code_write(struct jw *w, const char *key, const struct code_list *l, int code)
{
	jw_kstr(w, key, code >= 0 ? codes_label(l, code) : NULL);
}

static void flag_write(struct jw *w, const char *key, int v)
{
	if (v < 0)
		jw_knull(w, key);
	else
		jw_kbool(w, key, v);
}

void registry_mask_phone(const char *p, char out[24])
{
	size_t l = strlen(p);
	if (l == 11) { /* 138****5678 */
		memcpy(out, p, 3);
		memcpy(out + 3, "****", 4);
		memcpy(out + 7, p + 7, 5);
	} else if (l > 4 && l < 24) {
		memset(out, '*', l - 4);
		memcpy(out + l - 4, p + l - 4, 5);
	} else {
		snprintf(out, 24, "%s", l ? "****" : "");
	}
}

/* The age on `today` (YYYYMMDD) of someone born on `birth` (YYYY-MM-DD,
 * as stored; other shapes are read leniently), or -1 if it is no date. */
static int age_of(const char *birth, int today)
{
	int y, mo, d;
	if (strlen(birth) == 10 && birth[4] == '-' && birth[7] == '-' &&
	    strspn(birth, "0123456789") == 4 && strspn(birth + 5, "0123456789") == 2 &&
	    strspn(birth + 8, "0123456789") == 2) {
		y = (birth[0] - '0') * 1000 + (birth[1] - '0') * 100 + (birth[2] - '0') * 10 +
		    (birth[3] - '0');
		mo = (birth[5] - '0') * 10 + (birth[6] - '0');
		d = (birth[8] - '0') * 10 + (birth[9] - '0');
		return idcard_age(y, mo, d, today);
	}
	if (sscanf(birth, "%d-%d-%d", &y, &mo, &d) == 3)
		return idcard_age(y, mo, d, today);
	return -1;
}

/* Write a member object; full 身份证号 and phone unless `masked`.  `today`
 * (YYYYMMDD, from idcard_today()) gives the age. */
static void member_write(struct jw *w, const struct member_rec *m, int masked, int today)
{
	char idm[19], ph[24];
	int age = age_of(m->birth_date, today);
	if (masked) {
		idcard_mask(m->id_number, idm);
		registry_mask_phone(m->phone, ph);
	}
	jw_object(w);
	jw_kint(w, "id", m->id);
	jw_kint(w, "household_id", m->household_id);
	jw_kstr(w, "name", m->name);
	jw_kstr(w, "id_number", masked ? idm : m->id_number);
	code_write(w, "relation", &code_relation, m->relation);
	code_write(w, "sex", &code_sex, m->sex);
	jw_kstr(w, "birth_date", m->birth_date);
	jw_kint(w, "age", age);
	code_write(w, "ethnicity", &code_ethnicity, m->ethnicity);
	code_write(w, "education", &code_education, m->education);
	code_write(w, "school_status", &code_school_status, m->school_status);
	jw_key(w, "health");
	jw_array(w);
	for (int i = 0; m->health >= 0 && i < code_health.nr_items; i++)
		if (m->health & (1 << code_health.items[i].code))
			jw_str(w, code_health.items[i].label);
	jw_array_end(w);
	code_write(w, "disability", &code_disability, m->disability);
	code_write(w, "labor_skill", &code_labor_skill, m->labor_skill);
	code_write(w, "work_status", &code_work_status, m->work_status);
	flag_write(w, "ins_resident_med", m->ins_resident_med);
	flag_write(w, "ins_employee_med", m->ins_employee_med);
	flag_write(w, "ins_critical", m->ins_critical);
	flag_write(w, "ins_pension", m->ins_pension);
	flag_write(w, "dibao", m->dibao);
	flag_write(w, "tekun", m->tekun);
	jw_kstr(w, "phone", masked ? ph : m->phone);
	jw_object_end(w);
}

/* Parse what a writer produced into a jansson value (for the audit log,
 * which stores the same shapes the API answers with). */
static json_t *written_json(struct buf *b)
{
	json_t *j = json_loadb(b->buf, b->len, 0, NULL);
	if (!j)
		die("internal JSON writer produced invalid JSON");
	buf_release(b);
	return j;
}

/* A member as a jansson value (unmasked), for the audit log. */
static json_t *member_json(const struct member_rec *m, int masked)
{
	struct buf b = BUF_INIT;
	struct jw w;
	jw_init(&w, &b);
	member_write(&w, m, masked, idcard_today());
	return written_json(&b);
}

/* 1 if `area` (a 身份证号's first six digits) is a loaded county's code. */
static int area_known(struct db *db, const char *area)
{
	struct db_stmt *st = db_prepare(db, "SELECT 1 FROM region WHERE level = 3 AND code >= :lo "
					    "AND code < :hi LIMIT 1");
	int rc;
	db_bind_prefix(st, ":lo", ":hi", area);
	rc = db_step(st);
	db_done(st);
	return rc != DB_ROW ? 0 : 1;
}

/* After a write, append to the reply object in `body` a "warnings" array
 * for the members whose 身份证号 area code is not a loaded county: a number
 * keeps the code of the place that issued it (612427, 平利 before 安康 became
 * a city) and people marry in from elsewhere, so this is never a refusal.
 * `field` is "id_number" for one member, else members[i].id_number with i
 * the index in the reply's members array. */
static void add_area_warnings(struct db *db, struct buf *body, const struct member_rec *ms, int n,
			      int one)
{
	int nr = 0;
	for (int i = 0; i < n; i++) {
		char area[7], field[48];
		if (strlen(ms[i].id_number) != 18)
			continue;
		memcpy(area, ms[i].id_number, 6);
		area[6] = '\0';
		if (area_known(db, area))
			continue;
		buf_setlen(body, body->len - (nr ? 2 : 1)); /* reopen: drop "]}" or "}" */
		buf_addstr(body, nr ? "," : ",\"warnings\":[");
		snprintf(field, sizeof(field), one ? "id_number" : "members[%d].id_number", i);
		buf_addstr(body, "{\"field\":");
		jw_escape(body, field);
		buf_addstr(body, ",\"code\":\"W_ID_AREA_UNKNOWN\",\"message\":");
		{
			char msg[256];
			snprintf(msg, sizeof(msg), "%s的身份证号地址码为 %s，不在已导入的行政区划中"
				 "（可能是旧代码或外地迁入），已接受", ms[i].name, area);
			jw_escape(body, msg);
		}
		buf_addstr(body, "}]}");
		nr++;
	}
}

/* Answer 200/201 with the member object; `warn_db` (after a write) adds
 * the area-code warning. */
static void reply_member(struct http_response *res, int status, const struct member_rec *m,
			 int masked, const char *hh_no, struct db *warn_db)
{
	struct jw w;
	res->status = status;
	res->content_type = "application/json; charset=utf-8";
	buf_reset(&res->body);
	jw_init(&w, &res->body);
	member_write(&w, m, masked, idcard_today());
	if (hh_no) {
		/* reopen the object to add the household number */
		buf_setlen(&res->body, res->body.len - 1);
		buf_addch(&res->body, ',');
		jw_escape(&res->body, "hh_no");
		buf_addch(&res->body, ':');
		jw_escape(&res->body, hh_no);
		buf_addch(&res->body, '}');
	}
	if (warn_db)
		add_area_warnings(warn_db, &res->body, m, 1, 1);
}
/* Load household `id` within the caller's scope; answers 404 and returns 0
 * when absent or outside scope, -1 on a database error (answered 500). */
static int load_household_scoped(struct http_request *req, struct http_response *res, int64_t id,
				 struct household_rec *h)
{
	int rc = registry_household_load(req->db, id, h);
	if (rc < 0) {
		http_reply_error(res, 500, "E_DB", NULL, "读取失败：%s", db_errmsg(req->db));
		return -1;
	}
	if (!rc || !in_scope(req, h->village_code)) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该户（或不在您的管辖范围内）");
		return 0;
	}
	return 1;
}

/* 1 if the caller may see full 身份证号 and phone numbers. */
static int sees_full_ids(struct http_request *req)
{
	return req->principal && auth_permitted(req->principal, PERM_ID_FULL);
}

/* Mark this read as revealing personal data, for the audit log. */
static void audit_reveal(struct http_request *req, const char *type, int64_t id)
{
	req->audit.sensitive = 1;
	http_audit_note(req, type, id, NULL, NULL);
	snprintf(req->audit.detail, sizeof(req->audit.detail), "查看完整身份证号和联系电话");
}

/* Write the household with its village and township names and members;
 * 身份证号 and phones masked when `masked`. */
static void household_write(struct jw *w, const struct household_detail *d, int masked)
{
	const struct household_rec *h = &d->h;
	char ph[24];
	int today = idcard_today();
	jw_object(w);
	jw_kint(w, "id", h->id);
	jw_kstr(w, "hh_no", h->hh_no);
	jw_kstr(w, "village_code", h->village_code);
	jw_kstr(w, "village_name", d->village_name);
	jw_kstr(w, "township_name", d->township_name);
	jw_kstr(w, "address", h->address);
	if (masked)
		registry_mask_phone(h->phone, ph);
	jw_kstr(w, "phone", masked ? ph : h->phone);
	code_write(w, "hh_type", &code_hh_type, h->hh_type);
	jw_kbool(w, "relocated", h->relocated > 0);
	jw_kstr(w, "relocation_site", h->relocation_site);
	jw_kbool(w, "masked", masked);
	jw_key(w, "members");
	jw_array(w);
	for (int i = 0; i < d->nr_members; i++)
		member_write(w, &d->members[i], masked, today);
	jw_array_end(w);
	jw_object_end(w);
}

/* Household `id` as a jansson value, unmasked, read as it now stands (for
 * the audit log); NULL if it cannot be read. */
static json_t *household_with_members(struct http_request *req, int64_t id)
{
	struct household_detail d = { 0 };
	struct buf b = BUF_INIT;
	struct jw w;
	json_t *j = NULL;
	if (registry_household_detail(req->db, id, "", &d) == 1) {
		jw_init(&w, &b);
		household_write(&w, &d, 0);
		j = written_json(&b);
	}
	household_detail_release(&d);
	buf_release(&b);
	return j;
}

/* Answer with household `id` as it now stands (inside the caller's scope). */
static void reply_household(struct http_request *req, struct http_response *res, int status,
			    int64_t id, int masked, int warn)
{
	struct household_detail d = { 0 };
	struct jw w;
	int rc = registry_household_detail(req->db, id, scope_of(req), &d);
	if (rc < 0) {
		http_reply_error(res, 500, "E_DB", NULL, "读取失败：%s", db_errmsg(req->db));
	} else if (!rc) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该户（或不在您的管辖范围内）");
	} else {
		res->status = status;
		res->content_type = "application/json; charset=utf-8";
		buf_reset(&res->body);
		buf_grow(&res->body, 1024 + 768 * d.nr_members); /* one allocation */
		jw_init(&w, &res->body);
		household_write(&w, &d, masked);
		if (warn)
			add_area_warnings(req->db, &res->body, d.members, d.nr_members, 0);
	}
	household_detail_release(&d);
}

/* ---- JSON input ---------------------------------------------------------------- */

/* Collected input problems, answered as one 422 with details. */
struct problems {
	json_t *details; /* array of {field, code, message} */
	int unknown;     /* an unknown field was seen (400) */
	int type;        /* a wrong type was seen */
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
	json_array_append_new(p->details,
			      json_pack("{s:s, s:s, s:s}", "field", field, "code", code, "message", msg.buf));
	buf_release(&msg);
}

/* Answer the collected problems; returns 1 if there were any. */
static int reply_problems(struct http_response *res, struct problems *p)
{
	json_t *first;
	if (!p->details)
		return 0;
	first = json_array_get(p->details, 0);
	if (p->unknown)
		http_reply_error(res, 400, "E_UNKNOWN_FIELD", p->details, "%s",
				 json_string_value(json_object_get(first, "message")));
	else if (p->type)
		http_reply_error(res, 422, "E_BAD_TYPE", p->details, "%s",
				 json_string_value(json_object_get(first, "message")));
	else
		http_reply_error(res, 422, "E_VALIDATION", p->details, "%s",
				 json_string_value(json_object_get(first, "message")));
	p->details = NULL;
	return 1;
}

static int check_known(struct problems *p, json_t *obj, const char *const *allowed, const char *where)
{
	const char *key;
	json_t *v;
	int bad = 0;
	json_object_foreach(obj, key, v) {
		int ok = 0;
		for (int i = 0; allowed[i] && !ok; i++)
			ok = !strcmp(allowed[i], key);
		if (!ok) {
			p->unknown = 1;
			problem(p, key, "E_UNKNOWN_FIELD", "%s不认识字段“%s”", where, key);
			bad = 1;
		}
	}
	return bad;
}

static void get_text(struct problems *p, json_t *obj, const char *key, const char *label, char *dst,
		     size_t n, int required)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v)) {
		if (required)
			problem(p, key, "E_REQUIRED", "%s不能为空", label);
		return;
	}
	if (!json_is_string(v)) {
		p->type = 1;
		problem(p, key, "E_BAD_TYPE", "%s应为字符串", label);
		return;
	}
	if (json_string_length(v) >= n) {
		problem(p, key, "E_TOO_LONG", "%s过长（最多 %zu 字节）", label, n - 1);
		return;
	}
	if (memchr(json_string_value(v), '\0', json_string_length(v))) {
		problem(p, key, "E_BAD_TEXT", "%s含有非法字符", label);
		return;
	}
	/* control characters are refused as the CSV import refuses them, so
	 * whatever is stored here exports and imports back; 家庭住址 and 安置点
	 * may hold line breaks (LF) */
	{
		int multiline = !strcmp(key, "address") || !strcmp(key, "relocation_site");
		const unsigned char *s = (const unsigned char *)json_string_value(v);
		for (size_t i = 0; i < json_string_length(v); i++)
			if (s[i] < 0x20 && !(multiline && s[i] == '\n')) {
				problem(p, key, "E_BAD_TEXT", "%s含有控制字符%s，请删除", label,
					multiline ? "（只允许换行）" : "（如换行、制表符）");
				return;
			}
	}
	snprintf(dst, n, "%s", json_string_value(v));
	/* trim surrounding ASCII spaces */
	{
		struct buf t = BUF_INIT;
		buf_addstr(&t, dst);
		buf_trim(&t);
		snprintf(dst, n, "%s", t.buf);
		buf_release(&t);
	}
	if (required && !*dst)
		problem(p, key, "E_REQUIRED", "%s不能为空", label);
}

static void get_code(struct problems *p, json_t *obj, const char *key, const struct code_list *l,
		     int *dst, int required)
{
	json_t *v = json_object_get(obj, key);
	int c;
	if (!v || json_is_null(v)) {
		if (required)
			problem(p, key, "E_REQUIRED", "%s不能为空", l->title);
		else if (v)
			*dst = -1;
		return;
	}
	if (l->multi && json_is_array(v)) {
		size_t i;
		json_t *e;
		int mask = 0;
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) || (c = codes_lookup(l, json_string_value(e))) < 0) {
				problem(p, key, "E_BAD_CODE", "%s的值“%s”无效", l->title,
					json_is_string(e) ? json_string_value(e) : "?");
				return;
			}
			mask |= c;
		}
		if ((mask & 1) && mask != 1) {
			problem(p, key, "E_BAD_CODE", "%s不能同时为“健康”和其他状况", l->title);
			return;
		}
		*dst = mask ? mask : -1;
		return;
	}
	if (!json_is_string(v)) {
		p->type = 1;
		problem(p, key, "E_BAD_TYPE", "%s应为字符串%s", l->title, l->multi ? "或字符串数组" : "");
		return;
	}
	c = codes_lookup(l, json_string_value(v));
	if (c < 0) {
		const char *sug = codes_suggest(l, json_string_value(v));
		if (sug)
			problem(p, key, "E_BAD_CODE", "“%s”不是有效的%s，是否应为“%s”？",
				json_string_value(v), l->title, sug);
		else
			problem(p, key, "E_BAD_CODE", "“%s”不是有效的%s", json_string_value(v),
				l->title);
		return;
	}
	*dst = c;
}

static void get_flag(struct problems *p, json_t *obj, const char *key, const char *label, int *dst)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return;
	if (json_is_null(v))
		*dst = -1;
	else if (json_is_boolean(v))
		*dst = json_is_true(v);
	else {
		p->type = 1;
		problem(p, key, "E_BAD_TYPE", "%s应为 true、false 或 null", label);
	}
}

static const char *const household_fields[] = { "hh_no", "village_code", "address", "phone",
						"hh_type", "relocated", "relocation_site",
						"members", NULL };
static const char *const member_fields[] = {
	"name", "id_number", "relation", "sex", "birth_date", "ethnicity", "education",
	"school_status", "health", "disability", "labor_skill", "work_status",
	"ins_resident_med", "ins_employee_med", "ins_critical", "ins_pension", "dibao", "tekun",
	"phone", "id", "household_id", "age", NULL
};

/* Fill `h` from JSON (only fields present change). */
static void household_from_json(struct problems *p, json_t *o, struct household_rec *h, int create)
{
	json_t *v;
	/* required fields are required on create, and may not be cleared later */
	get_text(p, o, "hh_no", "户编号", h->hh_no, sizeof(h->hh_no),
		 create || json_object_get(o, "hh_no"));
	if (h->hh_no[0] && strspn(h->hh_no, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					    "abcdefghijklmnopqrstuvwxyz-_") != strlen(h->hh_no))
		problem(p, "hh_no", "E_BAD_HH_NO", "户编号只能包含字母、数字和 - _");
	get_text(p, o, "village_code", "行政区划代码", h->village_code, sizeof(h->village_code),
		 create || json_object_get(o, "village_code"));
	get_text(p, o, "address", "家庭住址", h->address, sizeof(h->address), 0);
	get_text(p, o, "phone", "户联系电话", h->phone, sizeof(h->phone), 0);
	get_code(p, o, "hh_type", &code_hh_type, &h->hh_type, 0);
	if ((v = json_object_get(o, "relocated"))) {
		if (json_is_boolean(v))
			h->relocated = json_is_true(v);
		else {
			p->type = 1;
			problem(p, "relocated", "E_BAD_TYPE", "易地扶贫搬迁户应为 true 或 false");
		}
	}
	get_text(p, o, "relocation_site", "安置点", h->relocation_site, sizeof(h->relocation_site),
		 0);
	if (h->phone[0]) {
		struct member_rec probe;
		struct reg_problem rp;
		member_rec_init(&probe);
		snprintf(probe.name, sizeof(probe.name), "x");
		probe.relation = REL_HEAD;
		memcpy(probe.phone, h->phone, sizeof(probe.phone));
		if (registry_check_member(&probe, &rp, 1))
			problem(p, "phone", rp.code, "%s", rp.message);
	}
}

/* Fill `m` from JSON; id_number, name and relation are required on create. */
static void member_from_json(struct problems *p, json_t *o, struct member_rec *m, int create)
{
	char idn[40] = "";
	json_t *v;
	struct reg_problem rp[4];
	int n, before = p->details ? (int)json_array_size(p->details) : 0;

	if (check_known(p, o, member_fields, "家庭成员"))
		return;
	get_text(p, o, "name", "姓名", m->name, sizeof(m->name), create);
	get_text(p, o, "id_number", "身份证号", idn, sizeof(idn),
		 create || json_object_get(o, "id_number"));
	get_code(p, o, "relation", &code_relation, &m->relation, create);
	get_code(p, o, "ethnicity", &code_ethnicity, &m->ethnicity, 0);
	get_code(p, o, "education", &code_education, &m->education, 0);
	get_code(p, o, "school_status", &code_school_status, &m->school_status, 0);
	get_code(p, o, "health", &code_health, &m->health, 0);
	get_code(p, o, "disability", &code_disability, &m->disability, 0);
	get_code(p, o, "labor_skill", &code_labor_skill, &m->labor_skill, 0);
	get_code(p, o, "work_status", &code_work_status, &m->work_status, 0);
	get_flag(p, o, "ins_resident_med", "是否参加城乡居民基本医疗保险", &m->ins_resident_med);
	get_flag(p, o, "ins_employee_med", "是否参加职工基本医疗保险", &m->ins_employee_med);
	get_flag(p, o, "ins_critical", "是否参加大病保险", &m->ins_critical);
	get_flag(p, o, "ins_pension", "是否参加养老保险", &m->ins_pension);
	get_flag(p, o, "dibao", "是否享受低保", &m->dibao);
	get_flag(p, o, "tekun", "是否特困供养", &m->tekun);
	get_text(p, o, "phone", "联系电话", m->phone, sizeof(m->phone), 0);
	if (idn[0]) {
		struct idcard id;
		enum idcard_status st = idcard_parse(idn, 0, &id);
		if (st != IDCARD_OK) {
			problem(p, "id_number", idcard_errcode(st), "%s", idcard_strerror(st));
		} else {
			memcpy(m->id_number, id.number, sizeof(m->id_number));
			m->sex = id.sex;
			idcard_birth_text(&id, m->birth_date);
		}
	}
	/* sex and birth date are derived; a conflicting value is an error */
	if ((v = json_object_get(o, "sex")) && !json_is_null(v) && m->sex > 0) {
		int sx = json_is_string(v) ? codes_lookup(&code_sex, json_string_value(v)) : -2;
		if (sx != m->sex)
			problem(p, "sex", "E_SEX_MISMATCH", "性别与身份证号第17位不符（应为%s）",
				m->sex == SEX_MALE ? "男" : "女");
	}
	if ((v = json_object_get(o, "birth_date")) && !json_is_null(v) && m->birth_date[0]) {
		if (!json_is_string(v) || strcmp(json_string_value(v), m->birth_date))
			problem(p, "birth_date", "E_BIRTH_MISMATCH",
				"出生日期与身份证号不符（应为 %s）", m->birth_date);
	}
	if (p->details && (int)json_array_size(p->details) > before)
		return;
	n = registry_check_member(m, rp, ARRAY_SIZE(rp));
	for (int i = 0; i < n && i < (int)ARRAY_SIZE(rp); i++)
		problem(p, "member", rp[i].code, "%s", rp[i].message);
}

/* Check the structure of household `hh_id` as stored now (inside the write
 * transaction); answers 422 and returns 1 if it is wrong. */
static int structure_bad(struct http_request *req, struct http_response *res, int64_t hh_id)
{
	struct member_rec *ms = NULL;
	struct reg_problem rp[8];
	int alloc = 0, n = registry_members_of(req->db, hh_id, &ms, &alloc), np;
	struct problems p = { 0 };
	if (n < 0) {
		free(ms);
		http_reply_error(res, 500, "E_DB", NULL, "读取失败：%s", db_errmsg(req->db));
		return 1;
	}
	np = registry_check_structure(ms, n, rp, ARRAY_SIZE(rp));
	for (int i = 0; i < np && i < (int)ARRAY_SIZE(rp); i++) {
		const char *who = rp[i].member >= 0 && rp[i].member < n ? ms[rp[i].member].name : "";
		problem(&p, "relation", rp[i].code, "%s%s%s", who, *who ? "：" : "", rp[i].message);
	}
	free(ms);
	if (!np)
		return 0;
	http_reply_error(res, 422, "E_STRUCTURE", p.details, "家庭结构不正确：%s",
			 json_string_value(json_object_get(json_array_get(p.details, 0), "message")));
	return 1;
}

/* Save a member, mapping a duplicate 身份证号 to 409.  Returns id or -1
 * (answered). */
static int64_t save_member(struct http_request *req, struct http_response *res, struct member_rec *m)
{
	int64_t id;
	if (m->id <= 0) {
		struct db_stmt *st = db_prepare(req->db, "SELECT h.hh_no FROM member m JOIN household "
							 "h ON h.id = m.household_id WHERE "
							 "m.id_number = :k");
		int dup;
		db_bind_text(st, ":k", m->id_number);
		dup = db_step(st) == DB_ROW;
		if (dup) {
			char *hh = xstrdup(in_scope(req, "") ? db_col_text(st, 0) : "");
			db_done(st);
			http_reply_error(res, 409, "E_DUPLICATE_ID_NUMBER", NULL,
					 "身份证号 %s 已登记%s%s，同一人只能登记一次",
					 m->id_number, *hh ? "在户 " : "", hh);
			free(hh);
			return -1;
		}
		db_done(st);
		m->id = -1;
	}
	id = registry_member_save(req->db, m, NULL);
	if (id < 0) {
		if (id == DB_CONSTRAINT)
			http_reply_error(res, 409, "E_CONFLICT", NULL, "与已有数据冲突：%s",
					 db_errmsg(req->db));
		else
			http_reply_error(res, 500, "E_DB", NULL, "保存失败：%s", db_errmsg(req->db));
		return -1;
	}
	return id;
}

/* Validate the village of `h` (exists, is a village, in scope): 1 after
 * recording a problem, 0 when fine, -1 when the database failed. */
static int village_bad(struct http_request *req, struct problems *p, const struct household_rec *h)
{
	struct db_stmt *st;
	int level = 0;
	if (!h->village_code[0])
		return 0;
	int rc;
	st = db_prepare(req->db, "SELECT level FROM region WHERE code = :c");
	db_bind_text(st, ":c", h->village_code);
	rc = db_step(st);
	if (rc == DB_ROW)
		level = (int)db_col_int(st, 0);
	db_done(st);
	if (rc < 0)
		return -1; /* the database failed: not the caller's mistake */
	if (level != REGION_VILLAGE || !in_scope(req, h->village_code)) {
		problem(p, "village_code", "E_BAD_VILLAGE",
			"行政区划代码 %s 不是您管辖范围内的村级区划", h->village_code);
		return 1;
	}
	return 0;
}

/* Replace the member set of household `hh_id` with the array `arr`: members
 * are matched by 身份证号; those not in the array are deleted. */
static int replace_members(struct http_request *req, struct http_response *res, int64_t hh_id,
			   json_t *arr)
{
	struct problems p = { 0 };
	struct member_rec *ms;
	size_t i, n;
	json_t *e;
	struct buf keep = BUF_INIT;

	if (!json_is_array(arr)) {
		http_reply_error(res, 422, "E_BAD_TYPE", NULL, "members 应为数组");
		return -1;
	}
	n = json_array_size(arr);
	if (n > 50) {
		http_reply_error(res, 422, "E_VALIDATION", NULL, "一户最多 50 名成员");
		return -1;
	}
	ms = xcalloc(n ? n : 1, sizeof(*ms));
	json_array_foreach(arr, i, e) {
		member_rec_init(&ms[i]);
		if (!json_is_object(e)) {
			p.type = 1;
			problem(&p, "members", "E_BAD_TYPE", "第 %zu 名成员应为 JSON 对象", i + 1);
			continue;
		}
		member_from_json(&p, e, &ms[i], 1);
		for (size_t k = 0; k < i; k++)
			if (ms[i].id_number[0] && !strcmp(ms[k].id_number, ms[i].id_number))
				problem(&p, "members", "E_DUPLICATE_ID_NUMBER",
					"第 %zu 名和第 %zu 名成员的身份证号相同", k + 1, i + 1);
	}
	if (reply_problems(res, &p)) {
		free(ms);
		return -1;
	}
	/* delete members of this household that are not in the new set */
	{
		struct member_rec *old = NULL;
		int alloc = 0, no = registry_members_of(req->db, hh_id, &old, &alloc);
		for (int k = 0; k < no; k++) {
			int found = 0;
			for (size_t j = 0; j < n && !found; j++)
				found = !strcmp(old[k].id_number, ms[j].id_number);
			if (!found) {
				struct db_stmt *st = db_prepare(req->db, "DELETE FROM member WHERE id = :id");
				db_bind_int(st, ":id", old[k].id);
				db_run(st);
				db_done(st);
			} else {
				for (size_t j = 0; j < n; j++)
					if (!strcmp(old[k].id_number, ms[j].id_number))
						ms[j].id = old[k].id;
			}
		}
		free(old);
	}
	for (i = 0; i < n; i++) {
		ms[i].household_id = hh_id;
		if (save_member(req, res, &ms[i]) < 0) {
			free(ms);
			buf_release(&keep);
			return -1;
		}
	}
	free(ms);
	buf_release(&keep);
	return 0;
}

/* ---- handlers ------------------------------------------------------------------- */

static void api_health(struct http_request *req, struct http_response *res)
{
	int schema = -1;
	if (req->db)
		schema = db_schema_version(req->db, "registry");
	http_reply_json(res, schema >= 0 ? 200 : 503,
			json_pack("{s:s, s:s, s:s, s:i}", "status", schema >= 0 ? "ok" : "degraded",
				  "version", API_VERSION, "database", schema >= 0 ? "ok" : "unavailable",
				  "schema_version", schema));
}

static void api_codes(struct http_request *req, struct http_response *res)
{
	json_t *o;
	if (http_refuse_unknown_params(req, res, no_params))
		return;
	o = json_object();
	for (int i = 0; code_lists[i]; i++) {
		json_t *items = json_array();
		for (int j = 0; j < code_lists[i]->nr_items; j++)
			json_array_append_new(items, json_string(code_lists[i]->items[j].label));
		json_object_set_new(o, code_lists[i]->name,
				    json_pack("{s:s, s:b, s:o}", "title", code_lists[i]->title,
					      "multi", code_lists[i]->multi, "values", items));
	}
	http_reply_json(res, 200, o);
}

enum { RC_CODE, RC_NAME, RC_LEVEL, RC_PARENT, RC_CHILDREN };

static json_t *region_row(struct db_stmt *st)
{
	return json_pack("{s:s, s:s, s:i, s:o, s:I}", "code", db_col_text(st, RC_CODE), "name",
			 db_col_text(st, RC_NAME), "level", (int)db_col_int(st, RC_LEVEL), "parent",
			 db_col_is_null(st, RC_PARENT) ? json_null() : json_string(db_col_text(st, RC_PARENT)),
			 "children", (json_int_t)db_col_int(st, RC_CHILDREN));
}

/* GET /api/v1/regions — the top of the caller's region tree. */
static void api_regions(struct http_request *req, struct http_response *res)
{
	const char *scope = scope_of(req);
	json_t *items = json_array();
	struct db_stmt *st;
	int rc;
	for (int i = 0; i < req->nr_query; i++) {
		http_reply_error(res, 400, "E_UNKNOWN_PARAM", NULL, "不认识查询参数“%s”",
				 req->query[i].key);
		json_decref(items);
		return;
	}
	if (!*scope) {
		st = db_prepare(req->db, "SELECT r.code, r.name, r.level, r.parent, (SELECT count(*) "
					 "FROM region c WHERE c.parent = r.code) FROM region r "
					 "WHERE r.parent IS NULL ORDER BY r.code");
	} else {
		char code[13];
		code_pad12(scope, code);
		st = db_prepare(req->db, "SELECT r.code, r.name, r.level, r.parent, (SELECT count(*) "
					 "FROM region c WHERE c.parent = r.code) FROM region r "
					 "WHERE r.code = :c");
		db_bind_text(st, ":c", code);
	}
	while ((rc = db_step(st)) == DB_ROW)
		json_array_append_new(items, region_row(st));
	db_done(st);
	http_reply_json(res, 200, json_pack("{s:o}", "items", items));
}

/* GET /api/v1/regions/:code — a region, its ancestors and its children. */
static void api_region_get(struct http_request *req, struct http_response *res)
{
	const char *code = req->path_params[0];
	json_t *region = NULL, *children, *path;
	struct db_stmt *st;
	char cur[13];
	if (http_refuse_unknown_params(req, res, no_params))
		return;
	children = json_array();
	path = json_array();
	if (strlen(code) != 12 || strspn(code, "0123456789") != 12) {
		json_decref(children);
		json_decref(path);
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "区划代码应为12位数字");
		return;
	}
	if (!region_visible(req, code)) {
		json_decref(children);
		json_decref(path);
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该区划");
		return;
	}
	st = db_prepare(req->db, "SELECT r.code, r.name, r.level, r.parent, (SELECT count(*) FROM "
				 "region c WHERE c.parent = r.code) FROM region r WHERE r.code = :c");
	db_bind_text(st, ":c", code);
	if (db_step(st) == DB_ROW)
		region = region_row(st);
	db_done(st);
	if (!region) {
		json_decref(children);
		json_decref(path);
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该区划");
		return;
	}
	st = db_prepare(req->db, "SELECT r.code, r.name, r.level, r.parent, (SELECT count(*) FROM "
				 "region c WHERE c.parent = r.code) FROM region r WHERE r.parent = :c "
				 "ORDER BY r.code");
	db_bind_text(st, ":c", code);
	while (db_step(st) == DB_ROW)
		if (region_visible(req, db_col_text(st, RC_CODE)))
			json_array_append_new(children, region_row(st));
	db_done(st);
	/* ancestors, nearest last */
	snprintf(cur, sizeof(cur), "%s", json_string_value(json_object_get(region, "parent")) ?
						 json_string_value(json_object_get(region, "parent")) : "");
	while (cur[0]) {
		json_t *row = NULL;
		st = db_prepare(req->db, "SELECT r.code, r.name, r.level, r.parent, 0 FROM region r "
					 "WHERE r.code = :c");
		db_bind_text(st, ":c", cur);
		if (db_step(st) == DB_ROW)
			row = region_row(st);
		db_done(st);
		if (!row)
			break;
		json_object_del(row, "children");
		json_array_insert_new(path, 0, row);
		snprintf(cur, sizeof(cur), "%s", json_is_string(json_object_get(row, "parent")) ?
							 json_string_value(json_object_get(row, "parent")) : "");
	}
	json_object_set_new(region, "children_list", children);
	json_object_set_new(region, "path", path);
	http_reply_json(res, 200, region);
}

/* GET /api/v1/households — list with filters and cursor pagination. */
static void api_households_list(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { "region", "type", "q", "relocated", "limit",
					      "cursor", "count", NULL };
	const char *region = http_query(req, "region"), *type = http_query(req, "type");
	const char *q = http_query(req, "q"), *reloc = http_query(req, "relocated");
	const char *limit_s = http_query(req, "limit"), *cursor_s = http_query(req, "cursor");
	const char *count_s = http_query(req, "count");
	const char *scope = scope_of(req);
	int64_t limit = LIST_LIMIT_DEFAULT, cursor = 0;
	int type_code = -1, reloc_v = -1, n, more, alloc_rows = 0;
	struct buf qbuf = BUF_INIT;
	struct hh_query hq;
	struct hh_row *rows = NULL;
	struct jw w;
	char lo[13];

	for (int i = 0; i < req->nr_query; i++) {
		int ok = 0;
		for (int k = 0; params[k] && !ok; k++)
			ok = !strcmp(params[k], req->query[i].key);
		if (!ok) {
			http_reply_error(res, 400, "E_UNKNOWN_PARAM", NULL,
					 "不认识查询参数“%s”（可用：region, type, q, relocated, "
					 "limit, cursor, count）",
					 req->query[i].key);
			return;
		}
	}
	if (region && (strlen(region) > 12 || strspn(region, "0123456789") != strlen(region))) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "region 应为最多12位的数字区划代码前缀");
		return;
	}
	if (type && *type && (type_code = codes_lookup(&code_hh_type, type)) < 0) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "type“%s”不是有效的户类型", type);
		return;
	}
	if (reloc && *reloc) {
		if (!strcmp(reloc, "是") || !strcmp(reloc, "true") || !strcmp(reloc, "1"))
			reloc_v = 1;
		else if (!strcmp(reloc, "否") || !strcmp(reloc, "false") || !strcmp(reloc, "0"))
			reloc_v = 0;
		else {
			http_reply_error(res, 400, "E_BAD_PARAM", NULL, "relocated 应为 true 或 false");
			return;
		}
	}
	if (limit_s && (parse_int64(limit_s, &limit) || limit < 1 || limit > LIST_LIMIT_MAX)) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "limit 应为 1 到 %d 的整数",
				 LIST_LIMIT_MAX);
		return;
	}
	if (cursor_s && *cursor_s && (parse_int64(cursor_s, &cursor) || cursor < 0)) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "cursor 无效（请使用上一页返回的 next_cursor）");
		return;
	}
	if (q) {
		buf_addstr(&qbuf, q);
		buf_trim(&qbuf);
		if (qbuf.len > 64) {
			buf_release(&qbuf);
			http_reply_error(res, 400, "E_BAD_PARAM", NULL, "q 过长（最多 64 字节）");
			return;
		}
	}
	/* The effective prefix is the longer of scope and region, and a region
	 * outside the scope selects nothing. */
	if (region && !starts_with(region, scope) && !starts_with(scope, region))
		snprintf(lo, sizeof(lo), "X");
	else
		snprintf(lo, sizeof(lo), "%s",
			 region && strlen(region) > strlen(scope) ? region : scope);

	hq.prefix = lo;
	hq.hh_type = type_code;
	hq.relocated = reloc_v;
	hq.q = qbuf.buf;
	hq.after = cursor;
	hq.limit = (int)limit;
	n = registry_household_find(req->db, &hq, &rows, &alloc_rows, &more);
	if (n < 0) {
		buf_release(&qbuf);
		free(rows);
		http_reply_error(res, 500, "E_DB", NULL, "查询失败：%s", db_errmsg(req->db));
		return;
	}
	res->status = 200;
	res->content_type = "application/json; charset=utf-8";
	buf_reset(&res->body);
	jw_init(&w, &res->body);
	jw_object(&w);
	jw_key(&w, "items");
	jw_array(&w);
	for (int i = 0; i < n; i++) {
		const struct hh_row *r = &rows[i];
		char idm[19], ph[24];
		idcard_mask(r->head_id_number, idm);
		registry_mask_phone(r->phone, ph);
		jw_object(&w);
		jw_kint(&w, "id", r->id);
		jw_kstr(&w, "hh_no", r->hh_no);
		jw_kstr(&w, "village_code", r->village_code);
		jw_kstr(&w, "village_name", r->village_name);
		code_write(&w, "hh_type", &code_hh_type, r->hh_type);
		jw_kbool(&w, "relocated", r->relocated);
		jw_kstr(&w, "head_name", r->head_name);
		jw_kstr(&w, "head_id_number", idm);
		jw_kint(&w, "members", r->members);
		jw_kstr(&w, "phone", ph);
		jw_object_end(&w);
	}
	jw_array_end(&w);
	jw_key(&w, "next_cursor");
	if (more) {
		char cur[24];
		snprintf(cur, sizeof(cur), "%lld", (long long)rows[n - 1].id);
		jw_str(&w, cur);
	} else {
		jw_null(&w);
	}
	if (count_s && (!strcmp(count_s, "1") || !strcmp(count_s, "true")))
		jw_kint(&w, "total", registry_household_count(req->db, &hq, 0));
	jw_object_end(&w);
	buf_release(&qbuf);
	free(rows);
}

/* GET /api/v1/households/:id — one query: the household and its members,
 * within the caller's scope (region names come from a cache). */
static void api_household_get(struct http_request *req, struct http_response *res)
{
	int64_t id = path_id(req, res);
	int full = sees_full_ids(req);
	if (id < 0)
		return;
	reply_household(req, res, 200, id, !full, 0);
	if (full && res->status == 200)
		audit_reveal(req, "household", id);
}

static int hh_no_taken(struct http_request *req, const char *hh_no, int64_t except)
{
	struct db_stmt *st = db_prepare(req->db, "SELECT id FROM household WHERE hh_no = :k AND "
						 "id <> :id");
	int taken;
	db_bind_text(st, ":k", hh_no);
	db_bind_int(st, ":id", except);
	taken = db_step(st) == DB_ROW;
	db_done(st);
	return taken;
}

static void api_household_create(struct http_request *req, struct http_response *res)
{
	struct problems p = { 0 };
	struct household_rec h;
	json_t *members;
	int64_t id;

	if (http_refuse_unknown_params(req, res, no_params))
		return;
	household_rec_init(&h);
	check_known(&p, req->json, household_fields, "户信息");
	household_from_json(&p, req->json, &h, 1);
	if (!p.details && village_bad(req, &p, &h) < 0) {
		http_reply_error(res, 503, "E_DB", NULL, "数据库暂时不可用，请稍后重试：%s",
				 db_errmsg(req->db));
		return;
	}
	members = json_object_get(req->json, "members");
	if (reply_problems(res, &p))
		return;
	if (hh_no_taken(req, h.hh_no, 0)) {
		http_reply_error(res, 409, "E_DUPLICATE_HH_NO", NULL, "户编号 %s 已存在", h.hh_no);
		return;
	}
	h.id = -1;
	id = registry_household_save(req->db, &h, NULL);
	if (id < 0) {
		http_reply_error(res, 500, "E_DB", NULL, "保存失败：%s", db_errmsg(req->db));
		return;
	}
	h.id = id;
	if (members && replace_members(req, res, id, members))
		return;
	if (structure_bad(req, res, id))
		return;
	http_audit_note(req, "household", id, NULL, household_with_members(req, id));
	reply_household(req, res, 201, id, !sees_full_ids(req), 1);
	{
		char loc[64];
		snprintf(loc, sizeof(loc), "/api/v1/households/%lld", (long long)id);
		http_add_header(res, "Location", loc);
	}
}

static void api_household_update(struct http_request *req, struct http_response *res)
{
	struct problems p = { 0 };
	struct household_rec h;
	int64_t id = path_id(req, res);
	json_t *members, *before;
	if (id < 0 || load_household_scoped(req, res, id, &h) != 1)
		return;
	before = household_with_members(req, id);
	http_audit_note(req, "household", id, before, NULL);
	check_known(&p, req->json, household_fields, "户信息");
	household_from_json(&p, req->json, &h, 0);
	if (!p.details && village_bad(req, &p, &h) < 0) {
		http_reply_error(res, 503, "E_DB", NULL, "数据库暂时不可用，请稍后重试：%s",
				 db_errmsg(req->db));
		return;
	}
	if (reply_problems(res, &p))
		return;
	if (hh_no_taken(req, h.hh_no, id)) {
		http_reply_error(res, 409, "E_DUPLICATE_HH_NO", NULL, "户编号 %s 已存在", h.hh_no);
		return;
	}
	if (registry_household_save(req->db, &h, NULL) < 0) {
		http_reply_error(res, 500, "E_DB", NULL, "保存失败：%s", db_errmsg(req->db));
		return;
	}
	members = json_object_get(req->json, "members");
	if (members && replace_members(req, res, id, members))
		return;
	if (structure_bad(req, res, id))
		return;
	http_audit_note(req, "household", id, json_incref(before), household_with_members(req, id));
	reply_household(req, res, 200, id, !sees_full_ids(req), 1);
}

static void api_household_delete(struct http_request *req, struct http_response *res)
{
	struct household_rec h;
	struct db_stmt *st;
	int64_t id = path_id(req, res);
	if (id < 0 || load_household_scoped(req, res, id, &h) != 1)
		return;
	http_audit_note(req, "household", id, household_with_members(req, id), NULL);
	st = db_prepare(req->db, "DELETE FROM household WHERE id = :id");
	db_bind_int(st, ":id", id);
	if (db_run(st) < 0) {
		db_done(st);
		http_reply_error(res, 409, "E_IN_USE", NULL, "该户仍被其他记录引用，不能删除：%s",
				 db_errmsg(req->db));
		return;
	}
	db_done(st);
	http_reply_json(res, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "deleted", 1));
}

/* Load member `id` and its household within scope; 404 otherwise. */
static int load_member_scoped(struct http_request *req, struct http_response *res, int64_t id,
			      struct member_rec *m, struct household_rec *h)
{
	int rc = registry_member_load(req->db, id, m);
	if (rc != 1) {
		http_reply_error(res, rc < 0 ? 500 : 404, rc < 0 ? "E_DB" : "E_NOT_FOUND", NULL,
				 "找不到该成员（或不在您的管辖范围内）");
		return 0;
	}
	if (registry_household_load(req->db, m->household_id, h) != 1 ||
	    !in_scope(req, h->village_code)) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该成员（或不在您的管辖范围内）");
		return 0;
	}
	return 1;
}

static void api_member_get(struct http_request *req, struct http_response *res)
{
	struct member_rec m;
	struct household_rec h;
	int64_t id = path_id(req, res);
	if (id < 0 || !load_member_scoped(req, res, id, &m, &h))
		return;
	if (sees_full_ids(req))
		audit_reveal(req, "member", id);
	reply_member(res, 200, &m, !sees_full_ids(req), h.hh_no, NULL);
}

static void api_member_create(struct http_request *req, struct http_response *res)
{
	struct problems p = { 0 };
	struct household_rec h;
	struct member_rec m;
	int64_t hid = path_id(req, res), id;
	if (hid < 0 || load_household_scoped(req, res, hid, &h) != 1)
		return;
	member_rec_init(&m);
	member_from_json(&p, req->json, &m, 1);
	if (reply_problems(res, &p))
		return;
	m.household_id = hid;
	if ((id = save_member(req, res, &m)) < 0)
		return;
	if (structure_bad(req, res, hid))
		return;
	m.id = id;
	http_audit_note(req, "member", id, NULL, member_json(&m, 0));
	reply_member(res, 201, &m, !sees_full_ids(req), NULL, req->db);
}

static void api_member_update(struct http_request *req, struct http_response *res)
{
	struct problems p = { 0 };
	struct household_rec h;
	struct member_rec m;
	int64_t id = path_id(req, res);
	char old_idn[19];
	json_t *before;
	if (id < 0 || !load_member_scoped(req, res, id, &m, &h))
		return;
	before = member_json(&m, 0);
	http_audit_note(req, "member", id, before, NULL);
	memcpy(old_idn, m.id_number, sizeof(old_idn));
	member_from_json(&p, req->json, &m, 0);
	if (reply_problems(res, &p))
		return;
	if (strcmp(old_idn, m.id_number)) {
		struct db_stmt *st = db_prepare(req->db, "SELECT 1 FROM member WHERE id_number = :k "
							 "AND id <> :id");
		int dup;
		db_bind_text(st, ":k", m.id_number);
		db_bind_int(st, ":id", id);
		dup = db_step(st) == DB_ROW;
		db_done(st);
		if (dup) {
			http_reply_error(res, 409, "E_DUPLICATE_ID_NUMBER", NULL,
					 "身份证号 %s 已登记，同一人只能登记一次", m.id_number);
			return;
		}
	}
	if (save_member(req, res, &m) < 0)
		return;
	if (structure_bad(req, res, m.household_id))
		return;
	http_audit_note(req, "member", id, json_incref(before), member_json(&m, 0));
	reply_member(res, 200, &m, !sees_full_ids(req), NULL, req->db);
}

static void api_member_delete(struct http_request *req, struct http_response *res)
{
	struct household_rec h;
	struct member_rec m;
	struct db_stmt *st;
	int64_t id = path_id(req, res);
	if (id < 0 || !load_member_scoped(req, res, id, &m, &h))
		return;
	http_audit_note(req, "member", id, member_json(&m, 0), NULL);
	st = db_prepare(req->db, "DELETE FROM member WHERE id = :id");
	db_bind_int(st, ":id", id);
	if (db_run(st) < 0) {
		db_done(st);
		http_reply_error(res, 409, "E_IN_USE", NULL, "该成员仍被其他记录引用，不能删除");
		return;
	}
	db_done(st);
	if (structure_bad(req, res, m.household_id))
		return;
	http_reply_json(res, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "deleted", 1));
}

const struct route registry_routes[] = {
	{ "GET", "/api/v1/health", api_health, ROUTE_PUBLIC, NULL, "服务状态" },
	{ "GET", "/api/v1/codes", api_codes, 0, NULL, "代码表" },
	{ "GET", "/api/v1/regions", api_regions, 0, NULL, "行政区划（顶层）" },
	{ "GET", "/api/v1/regions/:code", api_region_get, 0, NULL, "行政区划及其下级" },
	{ "GET", "/api/v1/households", api_households_list, 0, "household.read", "户列表" },
	{ "POST", "/api/v1/households", api_household_create, ROUTE_WRITE | ROUTE_JSON,
	  "household.write", "新增户" },
	{ "GET", "/api/v1/households/:id", api_household_get, 0, "household.read", "户详情" },
	{ "PUT", "/api/v1/households/:id", api_household_update, ROUTE_WRITE | ROUTE_JSON,
	  "household.write", "修改户" },
	{ "DELETE", "/api/v1/households/:id", api_household_delete, ROUTE_WRITE, "household.write",
	  "删除户" },
	{ "POST", "/api/v1/households/:id/members", api_member_create, ROUTE_WRITE | ROUTE_JSON,
	  "household.write", "新增家庭成员" },
	{ "GET", "/api/v1/members/:id", api_member_get, 0, "household.read", "成员详情" },
	{ "PUT", "/api/v1/members/:id", api_member_update, ROUTE_WRITE | ROUTE_JSON,
	  "household.write", "修改家庭成员" },
	{ "DELETE", "/api/v1/members/:id", api_member_delete, ROUTE_WRITE, "household.write",
	  "删除家庭成员" },
	{ NULL },
};
