/* layout.c — layout profiles (布局方案): which columns of a ledger layout
 * hold which liubao field, where the header row is, and the title rows an
 * export carries.  Profiles shipped with liubao are compiled in (the
 * national system's export layouts, and liubao's own); users save their
 * county's layouts in table layout_profile as JSON.  Import uses a profile's
 * headers before the built-in names; export writes its columns in order.
 *
 * The national layouts are reconstructed from the brief (§1.9: the national
 * 防返贫监测信息系统 exports a title, the header on row 3 and Chinese labels
 * as values); a county whose download differs saves its own profile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "db/db.h"
#include "registry/registry.h"

struct builtin_col {
	const char *header, *field;
};

struct builtin_profile {
	const char *name, *title;
	int kind, header_row;
	const char *titles; /* '\n'-separated */
	const struct builtin_col *cols;
};

static const struct builtin_col liubao_members[] = {
	{ "户编号", "hh_no" }, { "行政区划代码", "village_code" }, { "户类型", "hh_type" },
	{ "家庭住址", "address" }, { "户联系电话", "hh_phone" }, { "易地扶贫搬迁户", "relocated" },
	{ "安置点", "relocation_site" }, { "姓名", "name" }, { "证件号码", "id_number" },
	{ "与户主关系", "relation" }, { "性别", "sex" }, { "出生日期", "birth_date" },
	{ "民族", "ethnicity" }, { "文化程度", "education" }, { "在校生状况", "school_status" },
	{ "健康状况", "health" }, { "残疾类别", "disability" }, { "劳动技能", "labor_skill" },
	{ "务工状况", "work_status" }, { "是否参加城乡居民基本医疗保险", "ins_resident_med" },
	{ "是否参加职工基本医疗保险", "ins_employee_med" }, { "是否参加大病保险", "ins_critical" },
	{ "是否参加养老保险", "ins_pension" }, { "是否享受低保", "dibao" },
	{ "是否特困供养", "tekun" }, { "联系电话", "phone" }, { NULL, NULL },
};

static const struct builtin_col liubao_households[] = {
	{ "户编号", "hh_no" }, { "行政区划代码", "village_code" }, { "户主姓名", "head_name" },
	{ "户类型", "hh_type" }, { "家庭住址", "address" }, { "户联系电话", "hh_phone" },
	{ "易地扶贫搬迁户", "relocated" }, { "安置点", "relocation_site" },
	{ "家庭人口数", "household_size" }, { NULL, NULL },
};

static const struct builtin_col national_members[] = {
	{ "序号", "seq" }, { "省", "province" }, { "市", "city" }, { "县", "county" },
	{ "乡", "township" }, { "村", "village" }, { "户编号", "hh_no" }, { "户类型", "hh_type" },
	{ "姓名", "name" }, { "证件类型", "id_type" }, { "证件号码", "id_number" },
	{ "性别", "sex" }, { "出生日期", "birth_date" }, { "与户主关系", "relation" },
	{ "民族", "ethnicity" }, { "文化程度", "education" }, { "在校生状况", "school_status" },
	{ "健康状况", "health" }, { "残疾类别", "disability" }, { "劳动技能", "labor_skill" },
	{ "务工状况", "work_status" }, { "是否参加城乡居民基本医疗保险", "ins_resident_med" },
	{ "是否参加职工基本医疗保险", "ins_employee_med" }, { "是否参加大病保险", "ins_critical" },
	{ "是否参加城乡居民基本养老保险", "ins_pension" }, { "是否享受最低生活保障", "dibao" },
	{ "是否特困供养人员", "tekun" }, { "成员联系电话", "phone" }, { "家庭住址", "address" },
	{ "户联系电话", "hh_phone" }, { "是否易地扶贫搬迁户", "relocated" },
	{ "安置区地址", "relocation_site" }, { NULL, NULL },
};

static const struct builtin_col national_households[] = {
	{ "序号", "seq" }, { "省", "province" }, { "市", "city" }, { "县", "county" },
	{ "乡", "township" }, { "村", "village" }, { "户编号", "hh_no" },
	{ "户主姓名", "head_name" }, { "户类型", "hh_type" }, { "家庭人口数", "household_size" },
	{ "家庭住址", "address" }, { "户联系电话", "hh_phone" },
	{ "是否易地扶贫搬迁户", "relocated" }, { "安置区地址", "relocation_site" }, { NULL, NULL },
};

static const struct builtin_profile builtins[] = {
	{ "liubao-members", "liubao 家庭成员台账（默认导出格式）", IMPORT_MEMBERS, 0, "",
	  liubao_members },
	{ "liubao-households", "liubao 户信息台账（默认导出格式）", IMPORT_HOUSEHOLDS, 0, "",
	  liubao_households },
	{ "national", "全国防返贫监测信息系统 家庭成员信息导出格式", IMPORT_MEMBERS, 3,
	  "全国防返贫监测信息系统　家庭成员基础信息\n导出范围：{region}　　导出日期：{date}",
	  national_members },
	{ "national-households", "全国防返贫监测信息系统 户信息导出格式", IMPORT_HOUSEHOLDS, 3,
	  "全国防返贫监测信息系统　户基础信息\n导出范围：{region}　　导出日期：{date}",
	  national_households },
};

void layout_profile_release(struct layout_profile *p)
{
	for (int i = 0; i < p->nr_cols; i++) {
		free(p->cols[i].header);
		free(p->cols[i].field);
	}
	free(p->cols);
	free(p->titles);
	memset(p, 0, sizeof(*p));
}

static void load_builtin(const struct builtin_profile *b, struct layout_profile *out)
{
	int n = 0;
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", b->name);
	snprintf(out->title, sizeof(out->title), "%s", b->title);
	out->kind = b->kind;
	out->header_row = b->header_row;
	out->titles = xstrdup(b->titles);
	out->builtin = 1;
	while (b->cols[n].header)
		n++;
	out->cols = xcalloc((size_t)n, sizeof(*out->cols));
	for (int i = 0; i < n; i++) {
		out->cols[i].header = xstrdup(b->cols[i].header);
		out->cols[i].field = xstrdup(b->cols[i].field);
	}
	out->nr_cols = n;
}

static const struct builtin_profile *builtin_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(builtins); i++)
		if (!strcmp(builtins[i].name, name))
			return &builtins[i];
	return NULL;
}

static int valid_name(const char *s)
{
	size_t l = strlen(s);
	return l >= 1 && l < 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == l;
}

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20)
			return 1;
	return 0;
}

int registry_profile_from_json(json_t *j, struct layout_profile *out, struct buf *err)
{
	static const char *const keys[] = { "name", "title", "kind", "header_row", "sheet",
					    "titles", "columns", "builtin", NULL };
	const char *key;
	json_t *v, *cols, *titles;
	struct buf tb = BUF_INIT;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j)) {
		buf_addstr(err, "布局方案应为 JSON 对象");
		return -1;
	}
	json_object_foreach(j, key, v) {
		int ok = 0;
		for (int k = 0; keys[k] && !ok; k++)
			ok = !strcmp(keys[k], key);
		if (!ok) {
			buf_addf(err, "布局方案中不认识的字段“%s”（可用：name, title, kind, header_row, "
				      "sheet, titles, columns）", key);
			return -1;
		}
	}
	v = json_object_get(j, "name");
	if (!json_is_string(v) || !valid_name(json_string_value(v))) {
		buf_addstr(err, "name 应为 1 到 63 个字母、数字、- 或 _");
		return -1;
	}
	snprintf(out->name, sizeof(out->name), "%s", json_string_value(v));
	v = json_object_get(j, "title");
	if (v && (!json_is_string(v) || strlen(json_string_value(v)) >= sizeof(out->title) ||
		  has_control(json_string_value(v)))) {
		buf_addstr(err, "title 应为不超过 127 字节的文字");
		goto fail;
	}
	snprintf(out->title, sizeof(out->title), "%s", v ? json_string_value(v) : "");
	v = json_object_get(j, "kind");
	if (json_is_string(v) && !strcmp(json_string_value(v), "members"))
		out->kind = IMPORT_MEMBERS;
	else if (json_is_string(v) && !strcmp(json_string_value(v), "households"))
		out->kind = IMPORT_HOUSEHOLDS;
	else {
		buf_addstr(err, "kind 应为 members（家庭成员）或 households（户信息）");
		goto fail;
	}
	v = json_object_get(j, "header_row");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100)) {
		buf_addstr(err, "header_row 应为 0 到 100 的整数（0 表示自动查找表头）");
		goto fail;
	}
	out->header_row = v ? (int)json_integer_value(v) : 0;
	v = json_object_get(j, "sheet");
	if (v && (!json_is_string(v) || strlen(json_string_value(v)) >= sizeof(out->sheet) ||
		  has_control(json_string_value(v)))) {
		buf_addstr(err, "sheet 应为工作表名称或序号（不超过 63 字节）");
		goto fail;
	}
	snprintf(out->sheet, sizeof(out->sheet), "%s", v ? json_string_value(v) : "");
	titles = json_object_get(j, "titles");
	if (titles && (!json_is_array(titles) || json_array_size(titles) > 5)) {
		buf_addstr(err, "titles 应为最多 5 行标题文字的数组");
		goto fail;
	}
	json_array_foreach(titles, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) > 500 ||
		    has_control(json_string_value(v))) {
			buf_addf(err, "titles 第 %zu 行应为不超过 500 字节的文字", i + 1);
			goto fail;
		}
		if (i)
			buf_addch(&tb, '\n');
		buf_addstr(&tb, json_string_value(v));
	}
	out->titles = buf_detach(&tb, NULL);
	cols = json_object_get(j, "columns");
	if (!json_is_array(cols) || !json_array_size(cols) || json_array_size(cols) > 500) {
		buf_addstr(err, "columns 应为 1 到 500 列的数组，每列 {\"header\": 表头, \"field\": 字段}");
		goto fail;
	}
	out->cols = xcalloc(json_array_size(cols), sizeof(*out->cols));
	json_array_foreach(cols, i, v) {
		json_t *h = json_object_get(v, "header"), *f = json_object_get(v, "field");
		const char *hs, *fs;
		if (!json_is_object(v) || json_object_size(v) != 2 || !json_is_string(h) ||
		    !json_is_string(f)) {
			buf_addf(err, "columns 第 %zu 列应为 {\"header\": 表头, \"field\": 字段}", i + 1);
			goto fail;
		}
		hs = json_string_value(h);
		fs = json_string_value(f);
		if (!*hs || strlen(hs) > 127 || has_control(hs)) {
			buf_addf(err, "columns 第 %zu 列的表头应为 1 到 127 字节的文字", i + 1);
			goto fail;
		}
		if (!registry_field_known(fs)) {
			buf_addf(err, "columns 第 %zu 列（%s）的字段“%s”不存在（可用字段见 liubao profile "
				      "fields）", i + 1, hs, fs);
			goto fail;
		}
		for (int k = 0; k < out->nr_cols; k++) {
			if (!strcmp(out->cols[k].header, hs)) {
				buf_addf(err, "表头“%s”出现了两次", hs);
				goto fail;
			}
			if (strcmp(fs, "ignore") && !strcmp(out->cols[k].field, fs)) {
				buf_addf(err, "字段“%s”对应了两列（%s、%s）", fs, out->cols[k].header, hs);
				goto fail;
			}
		}
		out->cols[out->nr_cols].header = xstrdup(hs);
		out->cols[out->nr_cols].field = xstrdup(fs);
		out->nr_cols++;
	}
	{
		int has_hh_no = 0;
		for (int k = 0; k < out->nr_cols; k++)
			has_hh_no |= !strcmp(out->cols[k].field, "hh_no");
		if (!has_hh_no) {
			buf_addstr(err, "布局方案必须有对应户编号（hh_no）的列");
			goto fail;
		}
	}
	return 0;
fail:
	buf_release(&tb);
	layout_profile_release(out);
	return -1;
}

json_t *registry_profile_to_json(const struct layout_profile *p)
{
	json_t *o = json_object(), *cols = json_array(), *titles = json_array();
	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "title", json_string(p->title));
	json_object_set_new(o, "kind", json_string(p->kind == IMPORT_MEMBERS ? "members"
									  : "households"));
	json_object_set_new(o, "header_row", json_integer(p->header_row));
	json_object_set_new(o, "sheet", json_string(p->sheet));
	if (p->titles && *p->titles) {
		const char *s = p->titles;
		for (;;) {
			const char *nl = strchr(s, '\n');
			size_t l = nl ? (size_t)(nl - s) : strlen(s);
			json_array_append_new(titles, json_stringn(s, l));
			if (!nl)
				break;
			s = nl + 1;
		}
	}
	json_object_set_new(o, "titles", titles);
	for (int i = 0; i < p->nr_cols; i++) {
		json_t *c = json_object();
		json_object_set_new(c, "header", json_string(p->cols[i].header));
		json_object_set_new(c, "field", json_string(p->cols[i].field));
		json_array_append_new(cols, c);
	}
	json_object_set_new(o, "columns", cols);
	json_object_set_new(o, "builtin", json_boolean(p->builtin));
	return o;
}

int registry_profile_load(struct db *db, const char *name, struct layout_profile *out)
{
	const struct builtin_profile *b = builtin_find(name);
	struct db_stmt *st;
	int rc;
	if (b) {
		load_builtin(b, out);
		return 1;
	}
	st = db_prepare(db, "SELECT body FROM layout_profile WHERE name = :n");
	db_bind_text(st, ":n", name);
	rc = db_step(st);
	if (rc == DB_ROW) {
		json_error_t je;
		json_t *j = json_loads(db_col_text(st, 0), 0, &je);
		struct buf err = BUF_INIT;
		json_object_del(j, "builtin");
		rc = j && !registry_profile_from_json(j, out, &err) ? 1 : -1;
		if (rc < 0)
			error("stored layout profile %s is unreadable: %s", name, err.buf);
		json_decref(j);
		buf_release(&err);
	} else {
		rc = rc == DB_DONE ? 0 : -1;
	}
	db_done(st);
	return rc;
}

int registry_profile_save(struct db *db, const struct layout_profile *p, const char *by,
			  struct buf *err)
{
	struct db_stmt *st;
	json_t *j;
	char *body, now[20];
	int rc;
	if (builtin_find(p->name)) {
		buf_addf(err, "“%s”是 liubao 自带的布局方案，不能修改；请另取一个名称", p->name);
		return -1;
	}
	j = registry_profile_to_json(p);
	json_object_del(j, "builtin");
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	now_utc_text(now);
	st = db_prepare(db, "INSERT INTO layout_profile(name, body, created_at, updated_at, "
			    "updated_by) VALUES(:n, :b, :now, :now, :by) ON CONFLICT(name) DO "
			    "UPDATE SET body = excluded.body, updated_at = excluded.updated_at, "
			    "updated_by = excluded.updated_by");
	db_bind_text(st, ":n", p->name);
	db_bind_text(st, ":b", body);
	db_bind_text(st, ":now", now);
	db_bind_text(st, ":by", by ? by : "");
	rc = db_run(st);
	db_done(st);
	free(body);
	if (rc < 0) {
		buf_addf(err, "无法保存布局方案：%s", db_errmsg(db));
		return -1;
	}
	return 0;
}

int registry_profile_delete(struct db *db, const char *name)
{
	struct db_stmt *st = db_prepare(db, "DELETE FROM layout_profile WHERE name = :n");
	int rc;
	db_bind_text(st, ":n", name);
	rc = db_run(st);
	db_done(st);
	return rc < 0 ? -1 : db_changes(db) > 0;
}

json_t *registry_profiles_json(struct db *db)
{
	json_t *arr = json_array();
	struct db_stmt *st;
	int rc;
	for (size_t i = 0; i < ARRAY_SIZE(builtins); i++) {
		struct layout_profile p;
		load_builtin(&builtins[i], &p);
		json_array_append_new(arr, registry_profile_to_json(&p));
		layout_profile_release(&p);
	}
	st = db_prepare(db, "SELECT body FROM layout_profile ORDER BY name");
	while ((rc = db_step(st)) == DB_ROW) {
		json_error_t je;
		json_t *j = json_loads(db_col_text(st, 0), 0, &je);
		if (j) {
			json_object_set_new(j, "builtin", json_false());
			json_array_append_new(arr, j);
		}
	}
	db_done(st);
	if (rc < 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}
