/* file_api.c — the registry's file routes: downloads of households and
 * members as Excel (.xlsx) or CSV in any layout profile, and the layout
 * profiles themselves (list, show, save, delete).
 *
 * A download is limited to the caller's region scope in SQL like every list;
 * 身份证号 and phone numbers are masked unless the role holds person.id_full;
 * every download writes an audit row saying what was exported and whether
 * the numbers were in full. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/table.h"
#include "base/util.h"
#include "db/db.h"
#include "http/http.h"
#include "registry/registry.h"

/* The export's region prefix: the longer of the caller's scope and the
 * `region` asked for.  Returns 0, or answers 400/404 and returns -1. */
static int export_prefix(struct http_request *req, struct http_response *res, char out[13])
{
	const char *region = http_query(req, "region");
	const char *scope = req->principal ? req->principal->scope : "";
	if (region && (strlen(region) > 12 || strspn(region, "0123456789") != strlen(region))) {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "region 应为最多12位的数字区划代码前缀");
		return -1;
	}
	if (region && *region && !starts_with(region, scope) && !starts_with(scope, region)) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该行政区划（不在您的辖区内）");
		return -1;
	}
	snprintf(out, 13, "%s", region && strlen(region) > strlen(scope) ? region : scope);
	return 0;
}

/* Parse ?format= (default xlsx).  0, or answers 400 and returns -1. */
static int export_format(struct http_request *req, struct http_response *res,
			 enum table_format *fmt)
{
	const char *f = http_query(req, "format");
	if (!f || !strcmp(f, "xlsx"))
		*fmt = TABLE_XLSX;
	else if (!strcmp(f, "csv"))
		*fmt = TABLE_CSV;
	else {
		http_reply_error(res, 400, "E_BAD_PARAM", NULL, "format 应为 xlsx 或 csv");
		return -1;
	}
	return 0;
}

/* Attach the file name: ASCII for old clients, UTF-8 (RFC 5987) for the rest. */
void registry_attachment(struct http_response *res, const char *ascii_name, const char *utf8_name)
{
	struct buf h = BUF_INIT;
	static const char hex[] = "0123456789ABCDEF";
	buf_addf(&h, "attachment; filename=\"%s\"; filename*=UTF-8''", ascii_name);
	for (const unsigned char *p = (const unsigned char *)utf8_name; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '.' || *p == '-' || *p == '_') {
			buf_addch(&h, *p);
		} else {
			buf_addch(&h, '%');
			buf_addch(&h, hex[*p >> 4]);
			buf_addch(&h, hex[*p & 15]);
		}
	}
	http_add_header(res, "Content-Disposition", h.buf);
	buf_release(&h);
}

/* GET /api/v1/export/households and /api/v1/export/members
 * ?format=xlsx|csv&region=CODE&profile=NAME */
static void export_kind(struct http_request *req, struct http_response *res, enum import_kind kind)
{
	static const char *const params[] = { "format", "region", "profile", NULL };
	const char *pname = http_query(req, "profile");
	struct layout_profile prof = { 0 };
	struct export_opts o = { TABLE_XLSX, "", 1, NULL };
	struct buf err = BUF_INIT;
	char prefix[13], ascii[96], utf8[160], today[9];
	long rows = 0;
	int full;

	if (http_refuse_unknown_params(req, res, params) || export_prefix(req, res, prefix) ||
	    export_format(req, res, &o.format))
		return;
	if (pname) {
		int rc = registry_profile_load(req->db, pname, &prof);
		if (rc < 0) {
			http_reply_error(res, 503, "E_DB", NULL, "读取布局方案失败，请稍后重试");
			return;
		}
		if (rc == 0) {
			http_reply_error(res, 400, "E_BAD_PARAM", NULL, "没有名为“%s”的布局方案", pname);
			return;
		}
		if (prof.kind != (int)kind) {
			http_reply_error(res, 400, "E_BAD_PARAM", NULL, "布局方案“%s”用于导出%s", pname,
					 prof.kind == IMPORT_MEMBERS ? "家庭成员" : "户信息");
			layout_profile_release(&prof);
			return;
		}
		o.profile = &prof;
	}
	full = auth_permitted(req->principal, PERM_ID_FULL);
	o.masked = !full;
	o.under = prefix;
	buf_reset(&res->body);
	if (registry_export_to(req->db, kind, &o, -1, &res->body, &rows, &err)) {
		buf_reset(&res->body);
		http_reply_error(res, 500, "E_EXPORT", NULL, "导出失败：%s", err.buf);
		goto out;
	}
	res->status = 200;
	res->content_type = table_mime(o.format);
	{
		/* the file name carries the region and the date */
		char now[20];
		now_utc_text(now);
		snprintf(today, sizeof(today), "%.4s%.2s%.2s", now, now + 5, now + 8);
	}
	snprintf(ascii, sizeof(ascii), "%s-%s-%s.%s", kind == IMPORT_MEMBERS ? "members" : "households",
		 prefix[0] ? prefix : "all", today, table_ext(o.format));
	snprintf(utf8, sizeof(utf8), "%s-%s-%s.%s", kind == IMPORT_MEMBERS ? "家庭成员" : "户信息",
		 prefix[0] ? prefix : "全部", today, table_ext(o.format));
	registry_attachment(res, ascii, utf8);
	req->audit.sensitive = 1;
	snprintf(req->audit.detail, sizeof(req->audit.detail), "导出%s %ld 行（%s，区划 %s，%s%s%s）",
		 kind == IMPORT_MEMBERS ? "家庭成员" : "户信息", rows,
		 o.format == TABLE_XLSX ? "Excel" : "CSV", prefix[0] ? prefix : "全部",
		 full ? "完整身份证号" : "身份证号已脱敏", pname ? "，布局方案 " : "",
		 pname ? pname : "");
out:
	buf_release(&err);
	layout_profile_release(&prof);
}

static void api_export_households(struct http_request *req, struct http_response *res)
{
	export_kind(req, res, IMPORT_HOUSEHOLDS);
}

static void api_export_members(struct http_request *req, struct http_response *res)
{
	export_kind(req, res, IMPORT_MEMBERS);
}

/* ---- layout profiles ---------------------------------------------------------- */

/* GET /api/v1/layout-profiles */
static void api_profiles_list(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { NULL };
	json_t *arr, *o;
	if (http_refuse_unknown_params(req, res, params))
		return;
	arr = registry_profiles_json(req->db);
	if (!arr) {
		http_reply_error(res, 503, "E_DB", NULL, "读取布局方案失败，请稍后重试");
		return;
	}
	o = json_object();
	json_object_set_new(o, "items", arr);
	http_reply_json(res, 200, o);
}

/* GET /api/v1/layout-profiles/:name */
static void api_profile_get(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { NULL };
	struct layout_profile p;
	int rc;
	if (http_refuse_unknown_params(req, res, params))
		return;
	rc = registry_profile_load(req->db, req->path_params[0], &p);
	if (rc < 0) {
		http_reply_error(res, 503, "E_DB", NULL, "读取布局方案失败，请稍后重试");
		return;
	}
	if (rc == 0) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "没有名为“%s”的布局方案",
				 req->path_params[0]);
		return;
	}
	http_reply_json(res, 200, registry_profile_to_json(&p));
	layout_profile_release(&p);
}

/* PUT /api/v1/layout-profiles/:name — body: the profile (its name, if
 * given, must be the path's). */
static void api_profile_put(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { NULL };
	struct layout_profile p, old;
	struct buf err = BUF_INIT;
	json_t *body = req->json, *name = json_object_get(body, "name");
	int had;
	if (http_refuse_unknown_params(req, res, params))
		return;
	if (name && (!json_is_string(name) || strcmp(json_string_value(name), req->path_params[0]))) {
		http_reply_error(res, 400, "E_BAD_FIELD", NULL, "name 与地址中的方案名称不一致");
		return;
	}
	if (!name)
		json_object_set_new(body, "name", json_string(req->path_params[0]));
	if (registry_profile_from_json(body, &p, &err)) {
		http_reply_error(res, 400, "E_BAD_FIELD", NULL, "%s", err.buf);
		buf_release(&err);
		return;
	}
	had = registry_profile_load(req->db, p.name, &old);
	if (had == 1 && old.builtin) {
		http_reply_error(res, 409, "E_BUILTIN", NULL,
				 "“%s”是 liubao 自带的布局方案，不能修改；请另取一个名称", p.name);
		goto out;
	}
	if (had < 0 || registry_profile_save(req->db, &p, req->principal->login, &err)) {
		http_reply_error(res, 503, "E_DB", NULL, "保存布局方案失败：%s",
				 err.len ? err.buf : "数据库错误");
		goto out;
	}
	http_audit_note(req, "layout_profile", 0, had == 1 ? registry_profile_to_json(&old) : NULL,
			registry_profile_to_json(&p));
	snprintf(req->audit.detail, sizeof(req->audit.detail), "%s布局方案 %s（%d 列）",
		 had == 1 ? "修改" : "新建", p.name, p.nr_cols);
	http_reply_json(res, had == 1 ? 200 : 201, registry_profile_to_json(&p));
out:
	if (had == 1)
		layout_profile_release(&old);
	layout_profile_release(&p);
	buf_release(&err);
}

/* DELETE /api/v1/layout-profiles/:name */
static void api_profile_delete(struct http_request *req, struct http_response *res)
{
	static const char *const params[] = { NULL };
	struct layout_profile p;
	int rc;
	if (http_refuse_unknown_params(req, res, params))
		return;
	rc = registry_profile_load(req->db, req->path_params[0], &p);
	if (rc == 1 && p.builtin) {
		layout_profile_release(&p);
		http_reply_error(res, 409, "E_BUILTIN", NULL, "“%s”是 liubao 自带的布局方案，不能删除",
				 req->path_params[0]);
		return;
	}
	if (rc < 0 || (rc == 1 && registry_profile_delete(req->db, req->path_params[0]) < 0)) {
		if (rc == 1)
			layout_profile_release(&p);
		http_reply_error(res, 503, "E_DB", NULL, "删除布局方案失败，请稍后重试");
		return;
	}
	if (rc == 0) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "没有名为“%s”的布局方案",
				 req->path_params[0]);
		return;
	}
	http_audit_note(req, "layout_profile", 0, registry_profile_to_json(&p), NULL);
	snprintf(req->audit.detail, sizeof(req->audit.detail), "删除布局方案 %s", p.name);
	layout_profile_release(&p);
	http_reply_json(res, 200, json_pack("{s:b}", "deleted", 1));
}

const struct route registry_file_routes[] = {
	{ "GET", "/api/v1/export/households", api_export_households, 0, "export",
	  "导出户信息（Excel 或 CSV，按布局方案，留痕）" },
	{ "GET", "/api/v1/export/members", api_export_members, 0, "export",
	  "导出家庭成员（Excel 或 CSV，按布局方案，留痕）" },
	{ "GET", "/api/v1/layout-profiles", api_profiles_list, 0, "household.read",
	  "布局方案列表（导入导出的列对应关系）" },
	{ "GET", "/api/v1/layout-profiles/:name", api_profile_get, 0, "household.read",
	  "布局方案详情" },
	{ "PUT", "/api/v1/layout-profiles/:name", api_profile_put, ROUTE_WRITE | ROUTE_JSON,
	  "household.write", "新建或修改布局方案" },
	{ "DELETE", "/api/v1/layout-profiles/:name", api_profile_delete, ROUTE_WRITE,
	  "household.write", "删除布局方案" },
	{ NULL },
};
