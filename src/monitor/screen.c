/* screen.c — monitoring rules as data (versioned rows in rule_def), the
 * catalogue of household, income and member fields they may use, the rules
 * shipped from the brief, and screening: every enabled rule compiled to SQL
 * and run over a region, each hit stored with the rule version and the
 * values that made it fire, risk rules raising alerts (风险线索).
 *
 * Tables (module "monitor.rules"): rule_def, rule_run, rule_hit. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/jw.h"
#include "base/util.h"
#include "monitor/monitor.h"
#include "registry/codes.h"
#include "registry/registry.h"
#include "rules/rules.h"

static const struct db_migration rules_migrations[] = {
	{ 1, "versioned rules, screening runs and hits",
	  "CREATE TABLE rule_def(\n"
	  "  id TEXT NOT NULL,            -- stable id, e.g. M001\n"
	  "  version INTEGER NOT NULL,    -- 1, 2…; editing creates a new version\n"
	  "  title TEXT NOT NULL,         -- Chinese\n"
	  "  kind TEXT NOT NULL,          -- risk (raises alerts) | check (consistency finding)\n"
	  "  severity TEXT NOT NULL,      -- 高 | 中 | 低\n"
	  "  risk_type INTEGER,           -- code_risk_type it suggests, NULL if none\n"
	  "  scope INTEGER NOT NULL,      -- 1 household, 2 member\n"
	  "  expression TEXT NOT NULL,    -- the rule language (src/rules)\n"
	  "  enabled INTEGER NOT NULL DEFAULT 1,\n"
	  "  valid_from INTEGER NOT NULL, -- first year it applies to\n"
	  "  created_at TEXT NOT NULL, created_by TEXT NOT NULL DEFAULT '',\n"
	  "  PRIMARY KEY(id, version)\n"
	  ");\n"
	  "CREATE TABLE rule_run(\n"
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	  "  started_at TEXT NOT NULL, finished_at TEXT NOT NULL DEFAULT '',\n"
	  "  year INTEGER NOT NULL, region TEXT NOT NULL, by_login TEXT NOT NULL DEFAULT '',\n"
	  "  rules INTEGER NOT NULL DEFAULT 0, hits INTEGER NOT NULL DEFAULT 0,\n"
	  "  alerts INTEGER NOT NULL DEFAULT 0, millis INTEGER NOT NULL DEFAULT 0\n"
	  ");\n"
	  "CREATE TABLE rule_hit(\n"
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	  "  run_id INTEGER NOT NULL REFERENCES rule_run(id) ON DELETE CASCADE,\n"
	  "  rule_id TEXT NOT NULL, rule_version INTEGER NOT NULL,\n"
	  "  household_id INTEGER NOT NULL REFERENCES household(id) ON DELETE CASCADE,\n"
	  "  member_id INTEGER,           -- for member rules\n"
	  "  year INTEGER NOT NULL,\n"
	  "  explain TEXT NOT NULL        -- Chinese: the values that made it fire\n"
	  ");\n"
	  "CREATE INDEX rule_hit_household ON rule_hit(household_id, id);\n"
	  "CREATE INDEX rule_hit_run ON rule_hit(run_id, rule_id);\n",
	  NULL },
	{ 2, "a covering member index for the rules' member aggregates",
	  /* the aggregates read this index alone, never the member rows */
	  "CREATE INDEX member_screen ON member(household_id, health, labor_skill, school_status, "
	  "birth_date, ins_resident_med, ins_employee_med, dibao, tekun);\n",
	  NULL },
};

int monitor_rules_migrate(struct db *db)
{
	return db_migrate(db, "monitor.rules", rules_migrations, ARRAY_SIZE(rules_migrations));
}

/* ---- the catalogue ---------------------------------------------------------------- */

/* 风险类型 as bit positions for the rule language's set fields (the stored
 * codes go up to 99, too wide for a bitmask): bit i = item i of
 * code_risk_type, as monitored.risk_mask stores it (monitor_risk_mask()). */
static const struct code_item risk_bit_items[] = {
	{ 0, "因病", 0 },  { 1, "因灾", 0 },       { 2, "因残", 0 },         { 3, "缺劳动力", 0 },
	{ 4, "因意外事故", 0 }, { 5, "因产业失败", 0 }, { 6, "因务工就业不稳", 0 }, { 7, "因学", 0 },
	{ 8, "因安全住房", 0 }, { 9, "因安全饮水", 0 }, { 10, "因新冠肺炎疫情影响", 0 }, { 11, "其他", 0 },
};
static const struct code_list code_risk_bits = { "risk_bits", "风险类型", risk_bit_items,
						 ARRAY_SIZE(risk_bit_items), 1 };

static const struct rule_field monitor_fields[] = {
	/* household */
	{ "hh_type", "户类型", RULE_HOUSEHOLD, RULE_CODE, "h.hh_type", &code_hh_type, NULL },
	{ "relocated", "易地扶贫搬迁户", RULE_HOUSEHOLD, RULE_BOOL, "h.relocated", NULL, NULL },
	{ "household_size", "家庭人口数", RULE_HOUSEHOLD, RULE_NUM, "s.hh_size", NULL, "人" },
	{ "wage_income", "工资性收入", RULE_HOUSEHOLD, RULE_NUM, "(CAST(s.wage AS DOUBLE PRECISION) / 100)", NULL, "元" },
	{ "business_income", "生产经营性收入", RULE_HOUSEHOLD, RULE_NUM, "(CAST(s.business AS DOUBLE PRECISION) / 100)", NULL, "元" },
	{ "property_income", "财产性收入", RULE_HOUSEHOLD, RULE_NUM, "(CAST(s.property AS DOUBLE PRECISION) / 100)", NULL, "元" },
	{ "transfer_income", "转移性收入", RULE_HOUSEHOLD, RULE_NUM, "(CAST(s.transfer AS DOUBLE PRECISION) / 100)", NULL, "元" },
	{ "business_cost", "生产经营性支出", RULE_HOUSEHOLD, RULE_NUM, "(CAST(s.business_cost AS DOUBLE PRECISION) / 100)", NULL, "元" },
	{ "claims", "理赔收入", RULE_HOUSEHOLD, RULE_NUM, "(CAST(s.claims AS DOUBLE PRECISION) / 100)", NULL, "元" },
	{ "rigid_spending", "合规自付支出", RULE_HOUSEHOLD, RULE_NUM, "(CAST(s.rigid AS DOUBLE PRECISION) / 100)", NULL, "元" },
	{ "net_income", "家庭纯收入", RULE_HOUSEHOLD, RULE_NUM, "(CAST(s.net AS DOUBLE PRECISION) / 100)", NULL, "元" },
	{ "net_income_pc", "人均纯收入", RULE_HOUSEHOLD, RULE_NUM, "(CAST(s.net_pc AS DOUBLE PRECISION) / 100)", NULL, "元" },
	{ "ref_income_pc", "人均参考收入", RULE_HOUSEHOLD, RULE_NUM, "(CAST(s.ref_pc AS DOUBLE PRECISION) / 100)", NULL, "元" },
	{ "monitor_line", "监测线", RULE_HOUSEHOLD, RULE_NUM,
	  "(CAST(ln.amount AS DOUBLE PRECISION) / 100)",
	  NULL, "元" },
	{ "monitored", "监测对象", RULE_HOUSEHOLD, RULE_BOOL,
	  "(CASE WHEN mo.status = 'monitoring' THEN 1 ELSE 0 END)", NULL, NULL },
	{ "monitor_category", "监测对象类别", RULE_HOUSEHOLD, RULE_CODE, "mo.category",
	  &code_monitor_category, NULL },
	{ "risk_types", "风险类型", RULE_HOUSEHOLD, RULE_SET, "mo.risk_mask", &code_risk_bits, NULL },
	{ "identified_on", "识别监测时间", RULE_HOUSEHOLD, RULE_DATE, "mo.identified_on", NULL, NULL },
	{ "housing_safe", "住房安全有保障", RULE_HOUSEHOLD, RULE_BOOL, "sec.housing_safe", NULL, NULL },
	{ "schooling_ok", "义务教育有保障", RULE_HOUSEHOLD, RULE_BOOL, "sec.schooling_ok", NULL, NULL },
	{ "water_safe", "饮水安全有保障", RULE_HOUSEHOLD, RULE_BOOL, "sec.water_safe", NULL, NULL },
	{ "medical_ok", "基本医疗有保障", RULE_HOUSEHOLD, RULE_BOOL, "sec.medical_ok", NULL, NULL },
	{ "dev_measures", "开发式帮扶措施数", RULE_HOUSEHOLD, RULE_NUM,
	  "(SELECT count(*) FROM measure x WHERE x.household_id = h.id AND x.category IN (39, 40, "
	  "41, 42))", NULL, "项" },
	{ "measures", "帮扶措施数", RULE_HOUSEHOLD, RULE_NUM,
	  "(SELECT count(*) FROM measure x WHERE x.household_id = h.id)", NULL, "项" },
	/* "h.id IN (uncorrelated subquery)": the set of households with such a
	 * measure is built once per query, where EXISTS would look up the
	 * measures of every household (a sixth of the time over 300,000) */
	{ "measure_dibao", "享受低保措施", RULE_HOUSEHOLD, RULE_BOOL,
	  "(CASE WHEN h.id IN (SELECT x.household_id FROM measure x WHERE x.item = 4801) THEN 1 "
	  "ELSE 0 END)", NULL, NULL },
	{ "measure_tekun", "享受特困供养措施", RULE_HOUSEHOLD, RULE_BOOL,
	  "(CASE WHEN h.id IN (SELECT x.household_id FROM measure x WHERE x.item = 4802) THEN 1 "
	  "ELSE 0 END)", NULL, NULL },
	{ "measure_disability", "享受残疾人补贴措施", RULE_HOUSEHOLD, RULE_BOOL,
	  "(CASE WHEN h.id IN (SELECT x.household_id FROM measure x WHERE x.item = 4805) THEN 1 "
	  "ELSE 0 END)", NULL, NULL },
	/* member */
	{ "relation", "与户主关系", RULE_MEMBER, RULE_CODE, "m.relation", &code_relation, NULL },
	{ "sex", "性别", RULE_MEMBER, RULE_CODE, "m.sex", &code_sex, NULL },
	{ "birth_date", "出生日期", RULE_MEMBER, RULE_DATE, "m.birth_date", NULL, NULL },
	{ "education", "文化程度", RULE_MEMBER, RULE_CODE, "m.education", &code_education, NULL },
	{ "school_status", "在校生状况", RULE_MEMBER, RULE_CODE, "m.school_status", &code_school_status, NULL },
	{ "health", "健康状况", RULE_MEMBER, RULE_SET, "m.health", &code_health, NULL },
	{ "disability", "残疾类别", RULE_MEMBER, RULE_CODE, "m.disability", &code_disability, NULL },
	{ "labor_skill", "劳动技能", RULE_MEMBER, RULE_CODE, "m.labor_skill", &code_labor_skill, NULL },
	{ "work_status", "务工状况", RULE_MEMBER, RULE_CODE, "m.work_status", &code_work_status, NULL },
	{ "ins_resident_med", "城乡居民基本医疗保险", RULE_MEMBER, RULE_BOOL, "m.ins_resident_med", NULL, NULL },
	{ "ins_employee_med", "职工基本医疗保险", RULE_MEMBER, RULE_BOOL, "m.ins_employee_med", NULL, NULL },
	{ "ins_critical", "大病保险", RULE_MEMBER, RULE_BOOL, "m.ins_critical", NULL, NULL },
	{ "ins_pension", "养老保险", RULE_MEMBER, RULE_BOOL, "m.ins_pension", NULL, NULL },
	{ "dibao", "享受低保", RULE_MEMBER, RULE_BOOL, "m.dibao", NULL, NULL },
	{ "tekun", "特困供养", RULE_MEMBER, RULE_BOOL, "m.tekun", NULL, NULL },
	/* parameters */
	{ "year", "年度", RULE_PARAM, RULE_NUM, ":year", NULL, NULL },
	{ "today", "今天", RULE_PARAM, RULE_DATE, ":today", NULL, NULL },
};

/* The tables a rule may read beside the household, joined only when used. */
static const struct rule_join monitor_joins[] = {
	{ "s", "LEFT JOIN income_summary s ON s.household_id = h.id AND s.year = :year" },
	{ "mo", "LEFT JOIN monitored mo ON mo.household_id = h.id" },
	{ "sec", "LEFT JOIN hh_security sec ON sec.household_id = h.id AND sec.year = :year" },
	/* the line of each village with households in the region screened
	 * (:lo, :hi; the index household_village gives them), found once per
	 * village rather than once per household (the LIMIT keeps the subquery
	 * from being flattened); not of every village loaded — all of China's
	 * 620,000 where the country's regions are imported, even for a screen
	 * of the whole registry */
	{ "ln", "LEFT JOIN (SELECT v.code AS village, (SELECT l.amount FROM monitor_line l WHERE "
		"l.year = :year AND substr(v.code, 1, length(l.region)) = l.region ORDER BY "
		"length(l.region) DESC LIMIT 1) AS amount FROM (SELECT DISTINCT hv.village_code AS code "
		"FROM household hv WHERE hv.village_code >= :lo AND hv.village_code < :hi) v "
		"LIMIT 1000000000) ln ON ln.village = h.village_code" },
};

static const struct rule_catalog monitor_catalog = {
	monitor_fields,
	ARRAY_SIZE(monitor_fields),
	"household h",
	"h.id",
	"member m",
	"m.household_id = h.id",
	"m.id",
	"birth_date",
	monitor_joins,
	ARRAY_SIZE(monitor_joins),
	"m.household_id",
};

/* The FROM clause with every join, for reading one household's values. */
#define MONITOR_FROM_ALL                                                                           \
	"household h LEFT JOIN income_summary s ON s.household_id = h.id AND s.year = :year "       \
	"LEFT JOIN monitored mo ON mo.household_id = h.id LEFT JOIN hh_security sec ON "            \
	"sec.household_id = h.id AND sec.year = :year LEFT JOIN (SELECT v.code AS village, "       \
	"(SELECT l.amount FROM monitor_line l WHERE l.year = :year AND substr(v.code, 1, "         \
	"length(l.region)) = l.region ORDER BY length(l.region) DESC LIMIT 1) AS amount FROM "     \
	"region v WHERE v.level = 5 LIMIT 1000000000) ln ON ln.village = h.village_code"

const struct rule_catalog *monitor_rule_catalog(void)
{
	return &monitor_catalog;
}

/* ---- the shipped rules (brief §1.3–§1.5, §1.8, §2.3) ------------------------------- */

struct shipped_rule {
	const char *id, *title, *kind, *severity;
	int risk_type; /* code_risk_type or 0 */
	int scope;
	const char *expr;
};

static const struct shipped_rule shipped_rules[] = {
	{ "M001", "人均纯收入低于当年监测线", "risk", "高", 0, RULE_HOUSEHOLD,
	  "人均纯收入 < 监测线" },
	{ "M002", "扣除合规自付支出后人均收入低于监测线（刚性支出大）", "risk", "高", 1,
	  RULE_HOUSEHOLD, "人均纯收入 >= 监测线 and 人均参考收入 < 监测线" },
	{ "M003", "医疗合规自付支出超过阈值（脱贫户 5,000 元，其他 20,000 元）", "risk", "中", 1,
	  RULE_HOUSEHOLD,
	  "(户类型 = '脱贫户' and 合规自付支出 >= 5000) or (户类型 != '脱贫户' and 合规自付支出 >= 20000)" },
	{ "M004", "住房安全无保障", "risk", "高", 10, RULE_HOUSEHOLD, "住房安全有保障 is not null and 住房安全有保障 = false" },
	{ "M005", "饮水安全无保障", "risk", "高", 11, RULE_HOUSEHOLD, "饮水安全有保障 is not null and 饮水安全有保障 = false" },
	{ "M006", "有义务教育阶段适龄儿童少年失学辍学", "risk", "高", 9, RULE_HOUSEHOLD,
	  "义务教育有保障 = false or any(member, age() >= 6 and age() <= 15 and 在校生状况 is null "
	  "and not 健康状况 has '残疾')" },
	{ "M007", "有家庭成员未参加基本医疗保险", "risk", "中", 1, RULE_HOUSEHOLD,
	  "基本医疗有保障 = false or any(member, coalesce(城乡居民基本医疗保险, false) = false and "
	  "coalesce(职工基本医疗保险, false) = false)" },
	{ "M008", "整户无劳动能力", "risk", "中", 4, RULE_HOUSEHOLD,
	  "count(member, true) > 0 and all(member, 劳动技能 in ('丧失劳动力', '无劳动力'))" },
	{ "C001", "风险类型为“因残”但家中无残疾人", "check", "中", 0, RULE_HOUSEHOLD,
	  "监测对象类别 is not null and 监测对象 = true and 风险类型 has '因残' and not any(member, 健康状况 has '残疾')" },
	{ "C002", "风险类型为“因病”但家中无大病或慢性病患者", "check", "中", 0, RULE_HOUSEHOLD,
	  "监测对象类别 is not null and 监测对象 = true and 风险类型 has '因病' and not any(member, 健康状况 has '患有大病' or "
	  "健康状况 has '长期慢性病')" },
	{ "C003", "风险类型为“缺劳动力”但家庭成员均有劳动能力", "check", "中", 0, RULE_HOUSEHOLD,
	  "监测对象类别 is not null and 监测对象 = true and 风险类型 has '缺劳动力' and all(member, 劳动技能 in ('普通劳动力', "
	  "'技能劳动力'))" },
	{ "C004", "风险类型为“因务工就业不稳”但家庭成员均无劳动能力", "check", "中", 0,
	  RULE_HOUSEHOLD,
	  "监测对象类别 is not null and 监测对象 = true and 风险类型 has '因务工就业不稳' and all(member, 劳动技能 in "
	  "('丧失劳动力', '无劳动力'))" },
	{ "C005", "风险类型为“因安全饮水”但饮水安全有保障", "check", "低", 0, RULE_HOUSEHOLD,
	  "监测对象类别 is not null and 监测对象 = true and 风险类型 has '因安全饮水' and 饮水安全有保障 = true" },
	{ "C006", "4 人及以上户半数以上成员有劳动能力但风险类型为“缺劳动力”", "check", "低", 0,
	  RULE_HOUSEHOLD,
	  "监测对象类别 is not null and 监测对象 = true and 风险类型 has '缺劳动力' and 家庭人口数 >= 4 and count(member, 劳动技能 in "
	  "('普通劳动力', '技能劳动力')) * 2 > 家庭人口数" },
	{ "C007", "家中有劳动力、识别满6个月但未落实开发式帮扶措施", "check", "高", 0,
	  RULE_HOUSEHOLD,
	  "监测对象类别 is not null and 监测对象 = true and months_since(识别监测时间) >= 6 and any(member, 劳动技能 in "
	  "('普通劳动力', '技能劳动力', '弱劳动力或半劳动力')) and 开发式帮扶措施数 = 0" },
	{ "C008", "享受低保措施但家中无享受低保人员", "check", "中", 0, RULE_HOUSEHOLD,
	  "享受低保措施 = true and not any(member, 享受低保 = true)" },
	{ "C009", "享受特困供养措施但家中无特困供养人员", "check", "中", 0, RULE_HOUSEHOLD,
	  "享受特困供养措施 = true and not any(member, 特困供养 = true)" },
	{ "C010", "享受残疾人补贴措施但家中无残疾人", "check", "中", 0, RULE_HOUSEHOLD,
	  "享受残疾人补贴措施 = true and not any(member, 健康状况 has '残疾')" },
};

/* Insert the shipped rules that are not there yet (version 1). */
int monitor_rules_install(struct db *db)
{
	char now[20];
	now_utc_text(now);
	for (size_t i = 0; i < ARRAY_SIZE(shipped_rules); i++) {
		const struct shipped_rule *r = &shipped_rules[i];
		struct db_stmt *st = db_prepare(db, "INSERT INTO rule_def(id, version, title, kind, "
						    "severity, risk_type, scope, expression, enabled, "
						    "valid_from, created_at, created_by) VALUES(:id, 1, "
						    ":t, :k, :sev, :rt, :sc, :e, 1, 2021, :now, 'system') "
						    "ON CONFLICT(id, version) DO NOTHING");
		db_bind_text(st, ":id", r->id);
		db_bind_text(st, ":t", r->title);
		db_bind_text(st, ":k", r->kind);
		db_bind_text(st, ":sev", r->severity);
		db_bind_int_or_null(st, ":rt", r->risk_type ? r->risk_type : -1);
		db_bind_int(st, ":sc", r->scope);
		db_bind_text(st, ":e", r->expr);
		db_bind_text(st, ":now", now);
		if (db_run(st) < 0) {
			db_done(st);
			return error("cannot install rule %s: %s", r->id, db_errmsg(db));
		}
		db_done(st);
	}
	return 0;
}

/* ---- one household: the evaluation path ----------------------------------------- */

/* Values of one household fetched through the catalogue's own SQL, so that
 * the C evaluator sees exactly what the compiled query sees. */
struct hh_values {
	struct db *db;
	int64_t hh;
	int year;
	int64_t *member_ids;
	int nr_members;
	struct buf texts;  /* keeps fetched text alive for the evaluation */
	char **owned;
	int nr_owned, alloc_owned;
};

static int fetch_value(struct hh_values *v, const struct rule_field *f, int member,
		       struct rule_value *out)
{
	struct buf sql = BUF_INIT;
	struct db_stmt *st;
	int rc;
	memset(out, 0, sizeof(*out));
	if (f->scope == RULE_MEMBER)
		buf_addf(&sql, "SELECT %s FROM member m WHERE m.id = :mid", f->sql);
	else
		buf_addf(&sql, "SELECT %s FROM " MONITOR_FROM_ALL " WHERE h.id = :hid", f->sql);
	st = db_prepare_text(v->db, sql.buf);
	buf_release(&sql);
	if (f->scope == RULE_MEMBER)
		db_bind_int(st, ":mid", v->member_ids[member]);
	else
		db_bind_int(st, ":hid", v->hh);
	if (f->scope != RULE_MEMBER)
		db_bind_int(st, ":year", v->year); /* household_from uses it */
	rc = db_step(st);
	if (rc != DB_ROW) {
		db_done(st);
		return rc == DB_DONE ? (out->null = 1, 0) : -1;
	}
	if (db_col_is_null(st, 0)) {
		out->null = 1;
	} else if (f->type == RULE_TEXT || f->type == RULE_DATE) {
		ALLOC_GROW(v->owned, v->nr_owned + 1, v->alloc_owned);
		v->owned[v->nr_owned] = xstrdup(db_col_text(st, 0));
		out->text = v->owned[v->nr_owned++];
	} else {
		out->num = db_col_double(st, 0);
	}
	db_done(st);
	return 0;
}

static int get_value(void *opaque, const struct rule_field *f, int member, struct rule_value *out)
{
	return fetch_value(opaque, f, member, out);
}

int monitor_rule_eval_household(struct db *db, const struct rule *r, int64_t household_id,
				int year, struct rule_result *res)
{
	struct hh_values v;
	struct rule_ctx ctx;
	struct rule_param_value params[2];
	struct db_stmt *st;
	char today[11];
	int alloc = 0, rc;
	memset(&v, 0, sizeof(v));
	v.db = db;
	v.hh = household_id;
	v.year = year;
	st = db_prepare(db, "SELECT id FROM member WHERE household_id = :h ORDER BY id");
	db_bind_int(st, ":h", household_id);
	while (db_step(st) == DB_ROW) {
		ALLOC_GROW(v.member_ids, v.nr_members + 1, alloc);
		v.member_ids[v.nr_members++] = db_col_int(st, 0);
	}
	db_done(st);
	monitor_today_text(today);
	params[0] = (struct rule_param_value){ "year", { 0, year, NULL } };
	params[1] = (struct rule_param_value){ "today", { 0, 0, today } };
	ctx.opaque = &v;
	ctx.nr_members = v.nr_members;
	ctx.get = get_value;
	ctx.params = params;
	ctx.nr_params = 2;
	rc = rule_eval(r, &ctx, -1, res);
	for (int i = 0; i < v.nr_owned; i++)
		free(v.owned[i]);
	free(v.owned);
	free(v.member_ids);
	return rc;
}

/* ---- screening: the SQL path ------------------------------------------------------- */

struct rule_row {
	char id[16];
	int version;
	char title[256];
	char kind[8];
	int risk_type;
	int scope;
	char *expr;
};

/* The current version of every enabled rule valid in `year` (or all rules
 * when all is set). */
static int load_rules(struct db *db, int year, int all, struct rule_row **out, int *alloc)
{
	struct db_stmt *st = db_prepare(db, "SELECT d.id, d.version, d.title, d.kind, d.risk_type, "
					    "d.scope, d.expression FROM rule_def d WHERE d.version = "
					    "(SELECT max(version) FROM rule_def x WHERE x.id = d.id) "
					    "AND (:all = 1 OR (d.enabled = 1 AND d.valid_from <= :y)) "
					    "ORDER BY d.id");
	int n = 0;
	db_bind_int(st, ":all", all);
	db_bind_int(st, ":y", year);
	while (db_step(st) == DB_ROW) {
		struct rule_row *r;
		ALLOC_GROW(*out, n + 1, *alloc);
		r = &(*out)[n++];
		snprintf(r->id, sizeof(r->id), "%s", db_col_text(st, 0));
		r->version = (int)db_col_int(st, 1);
		snprintf(r->title, sizeof(r->title), "%s", db_col_text(st, 2));
		snprintf(r->kind, sizeof(r->kind), "%s", db_col_text(st, 3));
		r->risk_type = db_col_is_null(st, 4) ? 0 : (int)db_col_int(st, 4);
		r->scope = (int)db_col_int(st, 5);
		r->expr = xstrdup(db_col_text(st, 6));
	}
	db_done(st);
	return n;
}

static void free_rules(struct rule_row *r, int n)
{
	for (int i = 0; i < n; i++)
		free(r[i].expr);
	free(r);
}

/* Run compiled rule `r` over the region; call `hit` for every row. */
typedef int (*hit_fn)(void *opaque, int64_t household_id, int64_t member_id, const char *explain);

static long run_rule_sql(struct db *db, const struct rule *r, const char *under, int year,
			 hit_fn hit, void *opaque, long limit)
{
	struct buf sql = BUF_INIT, why = BUF_INIT;
	struct rule_param_value params[2];
	struct rule_value *vals = xcalloc(rule_nr_values(r) + 1, sizeof(*vals));
	struct db_stmt *st;
	char today[11];
	long n = 0;
	int rc;
	monitor_today_text(today);
	params[0] = (struct rule_param_value){ "year", { 0, year, NULL } };
	params[1] = (struct rule_param_value){ "today", { 0, 0, today } };
	/* the whole registry: no region condition, so the households are read
	 * in id order, sequentially, rather than through the village index */
	rule_to_sql(r, *under ? "h.village_code >= :lo AND h.village_code < :hi" : NULL, &sql);
	/* no ORDER BY: the planner may then start from a small joined table
	 * (the monitored households, say); callers sort what they collect */
	st = db_prepare_text(db, sql.buf);
	/* the region, for the households and for the monitoring lines' join
	 * ("" binds every code) */
	if (strstr(sql.buf, ":lo"))
		db_bind_prefix(st, ":lo", ":hi", under);
	if (rule_sql_bind(r, sql.buf, st, params, 2)) {
		db_done(st);
		n = -1;
		goto out;
	}
	while ((rc = db_step(st)) == DB_ROW && (limit < 0 || n < limit)) {
		int64_t hh = db_col_int(st, 0);
		int64_t mid = rule_scope(r) == RULE_MEMBER ? db_col_int(st, 1) : 0;
		rule_sql_values(r, st, vals);
		buf_reset(&why);
		rule_explain(r, vals, &why);
		if (hit && hit(opaque, hh, mid, why.buf)) {
			n = -1;
			break;
		}
		n++;
	}
	if (rc < 0)
		n = -1;
	db_done(st);
out:
	free(vals);
	buf_release(&sql);
	buf_release(&why);
	return n;
}

/* Screening: the rules' queries run in parallel on separate read
 * connections (one per core), collecting hits in memory, while one
 * transaction on the caller's connection stores each rule's hits as soon as
 * the rule has run and, at the end, raises the alerts.  Readers never wait
 * for the writer and the write stays atomic.  The write is set-based: the
 * hits go in through db_copy (COPY on PostgreSQL) and the alerts through
 * monitor_alert_add_many(), so its cost does not grow with a round trip per
 * hit. */
struct rule_hits {
	long n, alloc;
	int64_t *hh, *member;
	char **why;
	double millis;
	int failed;          /* the query failed */
	int done;            /* the rule has run (or failed): its hits may be stored */
	char err[256];
};

struct screen_job {
	const char *target;  /* database to open per worker */
	struct db *shared;   /* used when a worker cannot open its own connection */
	const struct rule_row *rows;
	struct rule **rules; /* compiled, NULL for rules that did not compile */
	struct rule_hits *hits;
	int n, next;
	const char *under;
	int year;
	pthread_mutex_t lock;
	pthread_cond_t ran;  /* signalled whenever a rule is done */
};

static int collect(void *opaque, int64_t hh, int64_t mid, const char *explain)
{
	struct rule_hits *h = opaque;
	if (h->n == h->alloc) {
		h->alloc = h->alloc ? h->alloc * 2 : 256;
		h->hh = xrealloc(h->hh, h->alloc * sizeof(*h->hh));
		h->member = xrealloc(h->member, h->alloc * sizeof(*h->member));
		h->why = xrealloc(h->why, h->alloc * sizeof(*h->why));
	}
	h->hh[h->n] = hh;
	h->member[h->n] = mid;
	h->why[h->n++] = xstrdup(explain);
	return 0;
}

static void *screen_worker(void *arg)
{
	struct screen_job *j = arg;
	char err[512];
	struct db *db = j->shared ? j->shared : db_open(j->target, 0, err, sizeof(err));
	for (;;) {
		int i;
		double t1;
		pthread_mutex_lock(&j->lock);
		i = j->next < j->n ? j->next++ : -1;
		pthread_mutex_unlock(&j->lock);
		if (i < 0)
			break;
		if (!j->rules[i]) {
			/* did not compile: nothing to run */
		} else if (!db) {
			j->hits[i].failed = 1;
			snprintf(j->hits[i].err, sizeof(j->hits[i].err), "%.200s", err);
		} else {
			t1 = mono_seconds();
			if (run_rule_sql(db, j->rules[i], j->under, j->year, collect, &j->hits[i],
					 -1) < 0) {
				j->hits[i].failed = 1;
				snprintf(j->hits[i].err, sizeof(j->hits[i].err), "%s", db_errmsg(db));
			}
			j->hits[i].millis = (mono_seconds() - t1) * 1000;
		}
		pthread_mutex_lock(&j->lock);
		j->hits[i].done = 1;
		pthread_cond_broadcast(&j->ran);
		pthread_mutex_unlock(&j->lock);
	}
	if (db && !j->shared)
		db_close(db);
	return NULL;
}

/* Append rule `row`'s hits `h` to the rule_hit copy `cp` (run `run_id`). */
static void copy_hits(struct db_copy *cp, int64_t run_id, int year, const struct rule_row *row,
		      const struct rule_hits *h)
{
	for (long k = 0; k < h->n; k++) {
		db_copy_int(cp, run_id);
		db_copy_text(cp, row->id);
		db_copy_int(cp, row->version);
		db_copy_int(cp, h->hh[k]);
		db_copy_int_or_null(cp, h->member[k] > 0 ? h->member[k] : -1);
		db_copy_int(cp, year);
		db_copy_text(cp, h->why[k]);
		db_copy_row(cp);
	}
}

/* Raise an alert (the hit as evidence) for each hit of a risk rule on a
 * household not already being monitored; *alerts counts those evidences.
 * Runs in the caller's transaction.  0 or -1. */
static int raise_alerts(struct db *db, const struct rule_row *rows, const struct screen_job *job,
			long *alerts)
{
	struct alert_evidence *ev = NULL;
	char (*rt)[8] = xcalloc(job->n + 1, sizeof(*rt));
	char **why = NULL;
	long nr_ev = 0, alloc_ev = 0, alloc_why = 0;
	int64_t *monitoring = NULL;
	long nr_mon = 0, alloc_mon = 0;
	struct db_stmt *st;
	int rc;

	/* households already in the workflow get no new lead (their hits stay) */
	st = db_prepare(db, "SELECT household_id FROM monitored WHERE status = 'monitoring' "
			    "ORDER BY household_id");
	while ((rc = db_step(st)) == DB_ROW) {
		ALLOC_GROW(monitoring, nr_mon + 1, alloc_mon);
		monitoring[nr_mon++] = db_col_int(st, 0);
	}
	db_done(st);
	if (rc < 0)
		goto out;
	for (int i = 0; i < job->n; i++) {
		const struct rule_hits *h = &job->hits[i];
		if (!job->rules[i] || strcmp(rows[i].kind, "risk"))
			continue;
		if (rows[i].risk_type)
			snprintf(rt[i], sizeof(rt[i]), "%d", rows[i].risk_type);
		for (long k = 0; k < h->n; k++) {
			long lo = 0, hi = nr_mon;
			while (lo < hi) { /* binary search of the sorted ids */
				long mid = (lo + hi) / 2;
				if (monitoring[mid] < h->hh[k])
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < nr_mon && monitoring[lo] == h->hh[k])
				continue;
			ALLOC_GROW(ev, nr_ev + 1, alloc_ev);
			ALLOC_GROW(why, nr_ev + 1, alloc_why);
			why[nr_ev] = xstrfmt("%s：%s", rows[i].title, h->why[k]);
			ev[nr_ev] = (struct alert_evidence){ .household_id = h->hh[k],
							     .channel = ALERT_RULE,
							     .source = rows[i].id,
							     .source_version = rows[i].version,
							     .risk_types = rt[i],
							     .explain = why[nr_ev] };
			nr_ev++;
		}
	}
	rc = monitor_alert_add_many(db, ev, nr_ev);
	*alerts = nr_ev;
out:
	for (long k = 0; k < nr_ev; k++)
		free(why[k]);
	free(why);
	free(ev);
	free(rt);
	free(monitoring);
	return rc < 0 ? -1 : 0;
}

/* Worker threads for screening: $LIUBAO_SCREEN_THREADS, default 2 (the
 * machine's cores), at most 16. */
static int screen_threads(void)
{
	const char *e = getenv("LIUBAO_SCREEN_THREADS");
	int n = e ? atoi(e) : 2;
	return n < 1 ? 1 : n > 16 ? 16 : n;
}

int monitor_screen(struct db *db, const char *under, int year, const char *by,
		   struct monitor_screen_report *rep, int flags)
{
	int dry_run = flags & SCREEN_DRY_RUN;
	struct rule_row *rows = NULL;
	int alloc = 0, n, nthreads = screen_threads(), rc = 0;
	struct db_stmt *st;
	char now[20];
	double t0 = mono_seconds();
	int64_t run_id = 0;
	long alerts = 0;
	struct screen_job job;
	struct db_copy *cp;
	pthread_t tids[16];
	int threaded, started = 0, in_tx = 0;

	memset(rep, 0, sizeof(*rep));
	buf_init(&rep->text, 0);
	/* the rules' joins need the planner to know which tables are small
	 * (monitored households, measures): without statistics SQLite starts
	 * from the 300,000 households for every rule */
	if (db_analyze(db, 1))
		warning("cannot analyze the database: %s", db_errmsg(db));
	n = load_rules(db, year, 0, &rows, &alloc);
	memset(&job, 0, sizeof(job));
	job.target = db_target(db);
	job.rows = rows;
	job.n = n;
	job.under = under;
	job.year = year;
	job.rules = xcalloc(n + 1, sizeof(*job.rules));
	job.hits = xcalloc(n + 1, sizeof(*job.hits));
	pthread_mutex_init(&job.lock, NULL);
	pthread_cond_init(&job.ran, NULL);
	for (int i = 0; i < n; i++) {
		struct rule_error err;
		job.rules[i] = rule_compile(&monitor_catalog, rows[i].scope, rows[i].expr, &err);
		if (!job.rules[i]) {
			buf_addf(&rep->text, "%s v%d %s：规则无法编译：%s\n", rows[i].id, rows[i].version,
				 rows[i].title, err.msg);
			rep->failed++;
		}
	}
	/* The queries run in parallel on read connections of their own, one
	 * per core; this connection meanwhile opens the write transaction and
	 * stores each rule's hits as soon as the rule has run, so the writing
	 * overlaps the remaining queries (a database already inside a
	 * transaction must be read through the caller's connection: then the
	 * queries run first, here, and the writing follows). */
	threaded = !db_depth(db) && nthreads > 1;
	if (!threaded) {
		job.shared = db;
		screen_worker(&job);
	}
	if (!dry_run) {
		if (db_begin(db)) {
			rc = error("无法开始筛查：%s", db_errmsg(db));
			goto out;
		}
		in_tx = 1;
		now_utc_text(now);
		st = db_prepare(db, "INSERT INTO rule_run(started_at, year, region, by_login) "
				    "VALUES(:now, :y, :r, :by)");
		db_bind_text(st, ":now", now);
		db_bind_int(st, ":y", year);
		db_bind_text(st, ":r", under);
		db_bind_text(st, ":by", by ? by : "");
		run_id = db_run_insert(st);
		db_done(st);
		if (run_id < 0) {
			rc = error("保存筛查批次失败：%s", db_errmsg(db));
			goto out;
		}
	}
	if (threaded) {
		for (int t = 0; t < nthreads; t++)
			if (!pthread_create(&tids[t], NULL, screen_worker, &job))
				started++;
		if (!started) {
			job.shared = db;
			screen_worker(&job);
		}
	}
	cp = dry_run ? NULL
		     : db_copy_begin(db, "rule_hit", "run_id, rule_id, rule_version, household_id, "
						     "member_id, year, explain");
	for (int i = 0; i < n && !rc; i++) {
		pthread_mutex_lock(&job.lock);
		while (!job.hits[i].done)
			pthread_cond_wait(&job.ran, &job.lock);
		pthread_mutex_unlock(&job.lock);
		if (job.hits[i].failed)
			rc = error("规则 %s 筛查失败：%s", rows[i].id, job.hits[i].err);
		else if (cp && job.rules[i])
			copy_hits(cp, run_id, year, &rows[i], &job.hits[i]);
	}
	if (rc) {
		/* stop the workers at the next rule and wait for them */
		pthread_mutex_lock(&job.lock);
		job.next = job.n;
		pthread_mutex_unlock(&job.lock);
	}
	for (int t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	if (cp && db_copy_end(cp, rc != 0) && !rc)
		rc = error("保存筛查命中失败：%s", db_errmsg(db));
	if (rc)
		goto out;
	if (flags & SCREEN_PROGRESS)
		fprintf(stderr, "筛查：%d 条规则已运行，生成线索……\n", n);
	if (!dry_run && raise_alerts(db, rows, &job, &alerts)) {
		rc = error("生成线索失败：%s", db_errmsg(db));
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if (!job.rules[i])
			continue;
		rep->rules++;
		rep->hits += job.hits[i].n;
		buf_addf(&rep->text, "%-5s v%-2d %6ld 户  %7.0f ms  %s\n", rows[i].id, rows[i].version,
			 job.hits[i].n, job.hits[i].millis, rows[i].title);
	}
	rep->alerts = alerts;
	rep->seconds = mono_seconds() - t0;
	if (!dry_run) {
		now_utc_text(now);
		st = db_prepare(db, "UPDATE rule_run SET finished_at = :now, rules = :r, hits = :h, "
				    "alerts = :a, millis = :ms WHERE id = :id");
		db_bind_text(st, ":now", now);
		db_bind_int(st, ":r", rep->rules);
		db_bind_int(st, ":h", rep->hits);
		db_bind_int(st, ":a", rep->alerts);
		db_bind_int(st, ":ms", (int64_t)(rep->seconds * 1000));
		db_bind_int(st, ":id", run_id);
		db_run(st);
		db_done(st);
		rep->run_id = run_id;
		in_tx = 0;
		if (db_commit(db))
			rc = error("无法保存筛查结果：%s", db_errmsg(db));
	}
out:
	if (in_tx)
		db_rollback(db);
	for (int i = 0; i < n; i++) {
		rule_free(job.rules[i]);
		for (long k = 0; k < job.hits[i].n; k++)
			free(job.hits[i].why[k]);
		free(job.hits[i].hh);
		free(job.hits[i].member);
		free(job.hits[i].why);
	}
	free(job.rules);
	free(job.hits);
	pthread_mutex_destroy(&job.lock);
	pthread_cond_destroy(&job.ran);
	free_rules(rows, n);
	return rc;
}

int monitor_screen_household(struct db *db, int64_t household_id, int year, long *fired)
{
	struct rule_row *rows = NULL;
	int alloc = 0, n = load_rules(db, year, 0, &rows, &alloc), rc = 0;
	struct rule_result res = RULE_RESULT_INIT;
	struct buf why = BUF_INIT;
	struct db_stmt *st;
	int monitoring;
	*fired = 0;
	st = db_prepare(db, "SELECT 1 FROM monitored WHERE household_id = :h AND status = "
			    "'monitoring'");
	db_bind_int(st, ":h", household_id);
	monitoring = db_step(st) == DB_ROW;
	db_done(st);
	for (int i = 0; i < n && !rc; i++) {
		struct rule_error err;
		struct rule *r = rule_compile(&monitor_catalog, rows[i].scope, rows[i].expr, &err);
		if (!r || rows[i].scope != RULE_HOUSEHOLD) {
			rule_free(r);
			continue;
		}
		if (monitor_rule_eval_household(db, r, household_id, year, &res)) {
			rc = -1;
		} else if (res.truth == RULE_TRUE && !strcmp(rows[i].kind, "risk") && !monitoring) {
			struct rule_row row = rows[i];
			buf_reset(&why);
			rule_explain(r, res.values, &why);
			/* evaluation on save raises the lead; the hit table is for runs */
			{
				struct alert_evidence e = { 0 };
				char rt[8] = "", *x = xstrfmt("%s：%s", row.title, why.buf);
				if (row.risk_type)
					snprintf(rt, sizeof(rt), "%d", row.risk_type);
				e.household_id = household_id;
				e.channel = ALERT_RULE;
				e.source = row.id;
				e.source_version = row.version;
				e.risk_types = rt;
				e.explain = x;
				if (monitor_alert_add(db, &e) < 0)
					rc = -1;
				free(x);
			}
			(*fired)++;
		}
		rule_free(r);
	}
	rule_result_release(&res);
	buf_release(&why);
	free_rules(rows, n);
	return rc;
}

/* ---- API: rules, preview, screening, hits ------------------------------------------- */

static void rule_row_write(struct jw *w, struct db_stmt *st)
{
	/* columns: id, version, title, kind, severity, risk_type, scope, expression,
	 * enabled, valid_from, created_at, created_by */
	int rt = db_col_is_null(st, 5) ? -1 : (int)db_col_int(st, 5);
	jw_object(w);
	jw_kstr(w, "id", db_col_text(st, 0));
	jw_kint(w, "version", db_col_int(st, 1));
	jw_kstr(w, "title", db_col_text(st, 2));
	jw_kstr(w, "kind", db_col_text(st, 3));
	jw_kstr(w, "severity", db_col_text(st, 4));
	jw_kstr(w, "risk_type", rt >= 0 ? codes_label(&code_risk_type, rt) : NULL);
	jw_kstr(w, "scope", db_col_int(st, 6) == RULE_MEMBER ? "member" : "household");
	jw_kstr(w, "expression", db_col_text(st, 7));
	jw_kbool(w, "enabled", (int)db_col_int(st, 8));
	jw_kint(w, "valid_from", db_col_int(st, 9));
	jw_kstr(w, "created_at", db_col_text(st, 10));
	jw_kstr(w, "created_by", db_col_text(st, 11));
	jw_object_end(w);
}

#define RULE_COLUMNS                                                                               \
	"id, version, title, kind, severity, risk_type, scope, expression, enabled, valid_from, "   \
	"created_at, created_by"

static void api_rules(struct http_request *req, struct http_response *res)
{
	struct db_stmt *st = db_prepare(req->db, "SELECT " RULE_COLUMNS " FROM rule_def d WHERE "
						 "d.version = (SELECT max(version) FROM rule_def x "
						 "WHERE x.id = d.id) ORDER BY d.id");
	struct jw w;
	res->status = 200;
	res->content_type = "application/json; charset=utf-8";
	jw_init(&w, &res->body);
	jw_object(&w);
	jw_key(&w, "items");
	jw_array(&w);
	while (db_step(st) == DB_ROW)
		rule_row_write(&w, st);
	db_done(st);
	jw_array_end(&w);
	jw_object_end(&w);
}

static void api_rule_get(struct http_request *req, struct http_response *res)
{
	struct db_stmt *st = db_prepare(req->db, "SELECT " RULE_COLUMNS " FROM rule_def WHERE id = "
						 ":id ORDER BY version DESC");
	struct jw w;
	int n = 0;
	res->content_type = "application/json; charset=utf-8";
	jw_init(&w, &res->body);
	jw_object(&w);
	jw_key(&w, "versions");
	jw_array(&w);
	db_bind_text(st, ":id", req->path_params[0]);
	while (db_step(st) == DB_ROW) {
		rule_row_write(&w, st);
		n++;
	}
	db_done(st);
	jw_array_end(&w);
	jw_object_end(&w);
	if (!n)
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到规则 %s", req->path_params[0]);
	else
		res->status = 200;
}

/* Read and check a rule definition from the body; answers and returns -1
 * on error.  Fields absent keep `base`'s values (for a new version). */
struct rule_input {
	char id[16], title[256], kind[8], severity[8];
	int risk_type, scope, enabled, valid_from;
	char expr[4096];
};

static int rule_input_read(struct http_request *req, struct http_response *res, struct rule_input *in)
{
	static const char *const fields[] = { "id", "title", "kind", "severity", "risk_type", "scope",
					      "expression", "enabled", "valid_from", NULL };
	json_t *v;
	struct rule_error err;
	struct rule *r;
	if (http_refuse_unknown_fields(res, req->json, fields))
		return -1;
#define TEXT_FIELD(name, dst)                                                                      \
	if ((v = json_object_get(req->json, name))) {                                              \
		if (!json_is_string(v) || json_string_length(v) >= sizeof(dst)) {                 \
			http_reply_error(res, 422, "E_BAD_TYPE", NULL, "%s 应为不太长的字符串", name); \
			return -1;                                                                 \
		}                                                                                  \
		snprintf(dst, sizeof(dst), "%s", json_string_value(v));                            \
	}
	TEXT_FIELD("id", in->id);
	TEXT_FIELD("title", in->title);
	TEXT_FIELD("kind", in->kind);
	TEXT_FIELD("severity", in->severity);
	TEXT_FIELD("expression", in->expr);
#undef TEXT_FIELD
	if ((v = json_object_get(req->json, "risk_type"))) {
		in->risk_type = json_is_null(v) ? 0
			      : json_is_string(v) ? codes_lookup(&code_risk_type, json_string_value(v))
						  : -1;
		if (in->risk_type < 0) {
			http_reply_error(res, 422, "E_BAD_CODE", NULL, "风险类型无效");
			return -1;
		}
	}
	if ((v = json_object_get(req->json, "scope"))) {
		const char *sc = json_string_value(v);
		in->scope = sc && !strcmp(sc, "household") ? RULE_HOUSEHOLD
			    : sc && !strcmp(sc, "member")  ? RULE_MEMBER
							   : 0;
	}
	if ((v = json_object_get(req->json, "enabled"))) {
		if (!json_is_boolean(v)) {
			http_reply_error(res, 422, "E_BAD_TYPE", NULL, "enabled 应为 true 或 false");
			return -1;
		}
		in->enabled = json_is_true(v);
	}
	if ((v = json_object_get(req->json, "valid_from"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 2015 || json_integer_value(v) > 2100) {
			http_reply_error(res, 422, "E_BAD_TYPE", NULL, "valid_from 应为年份");
			return -1;
		}
		in->valid_from = (int)json_integer_value(v);
	}
	if (!in->id[0] || strlen(in->id) > 12 ||
	    strspn(in->id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(in->id)) {
		http_reply_error(res, 422, "E_VALIDATION", NULL, "规则编号应为大写字母、数字组成（最多12位）");
		return -1;
	}
	if (!in->title[0] || !in->expr[0] || !in->scope ||
	    (strcmp(in->kind, "risk") && strcmp(in->kind, "check")) ||
	    (strcmp(in->severity, "高") && strcmp(in->severity, "中") && strcmp(in->severity, "低"))) {
		http_reply_error(res, 422, "E_VALIDATION", NULL,
				 "请填写规则名称、表达式，scope 为 household 或 member，kind 为 risk 或 "
				 "check，severity 为 高、中 或 低");
		return -1;
	}
	r = rule_compile(&monitor_catalog, in->scope, in->expr, &err);
	if (!r) {
		http_reply_error(res, 422, "E_RULE_SYNTAX", json_pack("{s:I, s:i}", "offset",
								      (json_int_t)err.offset, "column",
								      err.column),
				 "%s", err.msg);
		return -1;
	}
	rule_free(r);
	return 0;
}

static int save_rule_version(struct http_request *req, struct http_response *res,
			     const struct rule_input *in, int version)
{
	char now[20];
	struct db_stmt *st = db_prepare(req->db, "INSERT INTO rule_def(id, version, title, kind, "
						 "severity, risk_type, scope, expression, enabled, "
						 "valid_from, created_at, created_by) VALUES(:id, :v, "
						 ":t, :k, :s, :rt, :sc, :e, :en, :vf, :now, :by)");
	int rc;
	now_utc_text(now);
	db_bind_text(st, ":id", in->id);
	db_bind_int(st, ":v", version);
	db_bind_text(st, ":t", in->title);
	db_bind_text(st, ":k", in->kind);
	db_bind_text(st, ":s", in->severity);
	db_bind_int_or_null(st, ":rt", in->risk_type ? in->risk_type : -1);
	db_bind_int(st, ":sc", in->scope);
	db_bind_text(st, ":e", in->expr);
	db_bind_int(st, ":en", in->enabled);
	db_bind_int(st, ":vf", in->valid_from);
	db_bind_text(st, ":now", now);
	db_bind_text(st, ":by", req->principal->login);
	rc = db_run(st);
	db_done(st);
	if (rc < 0) {
		http_reply_error(res, rc == DB_CONSTRAINT ? 409 : 500,
				 rc == DB_CONSTRAINT ? "E_DUPLICATE" : "E_DB", NULL, "保存规则失败：%s",
				 db_errmsg(req->db));
		return -1;
	}
	http_audit_note(req, "rule", 0, NULL, json_pack("{s:s, s:i, s:s, s:s}", "id", in->id,
							"version", version, "title", in->title,
							"expression", in->expr));
	api_rule_get(req, res);
	res->status = version == 1 ? 201 : 200;
	return 0;
}

static void api_rule_create(struct http_request *req, struct http_response *res)
{
	struct rule_input in = { .enabled = 1, .valid_from = 2021, .scope = RULE_HOUSEHOLD };
	struct db_stmt *st;
	int exists;
	snprintf(in.kind, sizeof(in.kind), "risk");
	snprintf(in.severity, sizeof(in.severity), "中");
	if (rule_input_read(req, res, &in))
		return;
	st = db_prepare(req->db, "SELECT 1 FROM rule_def WHERE id = :id");
	db_bind_text(st, ":id", in.id);
	exists = db_step(st) == DB_ROW;
	db_done(st);
	if (exists) {
		http_reply_error(res, 409, "E_DUPLICATE", NULL, "规则 %s 已存在，请用修改接口生成新版本",
				 in.id);
		return;
	}
	req->path_params[0] = in.id;
	req->nr_path_params = 1;
	save_rule_version(req, res, &in, 1);
}

static void api_rule_update(struct http_request *req, struct http_response *res)
{
	struct rule_input in;
	struct db_stmt *st;
	int version = 0;
	memset(&in, 0, sizeof(in));
	st = db_prepare(req->db, "SELECT version, title, kind, severity, risk_type, scope, "
				 "expression, enabled, valid_from FROM rule_def WHERE id = :id ORDER BY "
				 "version DESC LIMIT 1");
	db_bind_text(st, ":id", req->path_params[0]);
	if (db_step(st) == DB_ROW) {
		version = (int)db_col_int(st, 0);
		snprintf(in.id, sizeof(in.id), "%s", req->path_params[0]);
		snprintf(in.title, sizeof(in.title), "%s", db_col_text(st, 1));
		snprintf(in.kind, sizeof(in.kind), "%s", db_col_text(st, 2));
		snprintf(in.severity, sizeof(in.severity), "%s", db_col_text(st, 3));
		in.risk_type = db_col_is_null(st, 4) ? 0 : (int)db_col_int(st, 4);
		in.scope = (int)db_col_int(st, 5);
		snprintf(in.expr, sizeof(in.expr), "%s", db_col_text(st, 6));
		in.enabled = (int)db_col_int(st, 7);
		in.valid_from = (int)db_col_int(st, 8);
	}
	db_done(st);
	if (!version) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到规则 %s", req->path_params[0]);
		return;
	}
	if (json_object_get(req->json, "id") &&
	    (!json_is_string(json_object_get(req->json, "id")) ||
	     strcmp(json_string_value(json_object_get(req->json, "id")), in.id))) {
		http_reply_error(res, 422, "E_VALIDATION", NULL, "规则编号不能修改");
		return;
	}
	if (rule_input_read(req, res, &in))
		return;
	save_rule_version(req, res, &in, version + 1);
}

/* POST /api/v1/rules/preview {expression, scope, year} — how many households
 * in the caller's scope a rule would hit, with a few explanations; saves nothing. */
static int preview_hit(void *opaque, int64_t hh, int64_t mid, const char *explain)
{
	struct jw *w = opaque;
	if (w) {
		jw_object(w);
		jw_kint(w, "household_id", hh);
		if (mid)
			jw_kint(w, "member_id", mid);
		jw_kstr(w, "explain", explain);
		jw_object_end(w);
	}
	return 0;
}

/* The distinct households among a preview's hits (member rules hit members). */
struct preview_households {
	int64_t *ids;
	long n, alloc;
};

static int preview_count(void *opaque, int64_t hh, int64_t mid, const char *explain)
{
	struct preview_households *p = opaque;
	ALLOC_GROW(p->ids, p->n + 1, p->alloc);
	p->ids[p->n++] = hh;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static long distinct_households(struct preview_households *p)
{
	long n = 0;
	if (p->n > 1) /* with no hits ids is NULL, which qsort() may not take */
		qsort(p->ids, p->n, sizeof(*p->ids), cmp_id);
	for (long i = 0; i < p->n; i++)
		n += !i || p->ids[i] != p->ids[i - 1];
	return n;
}

static void api_rule_preview(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "expression", "scope", "year", NULL };
	const char *expr = json_string_value(json_object_get(req->json, "expression"));
	const char *sc = json_string_value(json_object_get(req->json, "scope"));
	json_t *yv = json_object_get(req->json, "year");
	struct rule_error err;
	struct rule *r;
	struct jw w;
	int scope = sc && !strcmp(sc, "member") ? RULE_MEMBER : RULE_HOUSEHOLD;
	int year = json_is_integer(yv) ? (int)json_integer_value(yv) : 0;
	struct preview_households hh = { 0 };
	long total;
	char today[11];
	if (http_refuse_unknown_fields(res, req->json, fields))
		return;
	monitor_today_text(today);
	if (!year)
		year = atoi(today);
	if (!expr || !*expr) {
		http_reply_error(res, 422, "E_REQUIRED", NULL, "请填写规则表达式");
		return;
	}
	r = rule_compile(&monitor_catalog, scope, expr, &err);
	if (!r) {
		http_reply_error(res, 422, "E_RULE_SYNTAX", json_pack("{s:I, s:i}", "offset",
								      (json_int_t)err.offset, "column",
								      err.column),
				 "%s", err.msg);
		return;
	}
	total = run_rule_sql(req->db, r, req->principal->scope, year, preview_count, &hh, -1);
	res->status = 200;
	res->content_type = "application/json; charset=utf-8";
	jw_init(&w, &res->body);
	jw_object(&w);
	jw_kint(&w, "year", year);
	jw_kint(&w, "hits", total);
	/* member rules hit members: how many households they belong to */
	jw_kint(&w, "households", distinct_households(&hh));
	jw_key(&w, "sample");
	jw_array(&w);
	run_rule_sql(req->db, r, req->principal->scope, year, preview_hit, &w, 10);
	jw_array_end(&w);
	jw_object_end(&w);
	rule_free(r);
	free(hh.ids);
}

static void api_screen(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "year", "region", NULL };
	struct monitor_screen_report rep;
	json_t *yv = json_object_get(req->json, "year");
	const char *region = json_string_value(json_object_get(req->json, "region"));
	char today[11];
	int year;
	if (http_refuse_unknown_fields(res, req->json, fields))
		return;
	monitor_today_text(today);
	year = json_is_integer(yv) ? (int)json_integer_value(yv) : atoi(today);
	if (!region)
		region = req->principal->scope;
	if (strlen(region) > 12 || strspn(region, "0123456789") != strlen(region) ||
	    !starts_with(region, req->principal->scope)) {
		http_reply_error(res, 422, "E_BAD_REGION", NULL, "筛查范围应为您辖区内的区划代码");
		return;
	}
	if (year < 2015 || year > 2100) {
		http_reply_error(res, 422, "E_BAD_TYPE", NULL, "year 应为年份");
		return;
	}
	if (monitor_screen(req->db, region, year, req->principal->login, &rep, 0)) {
		http_reply_error(res, 500, "E_SCREEN", NULL, "筛查失败：%s", db_errmsg(req->db));
		return;
	}
	req->audit.sensitive = 1;
	snprintf(req->audit.detail, sizeof(req->audit.detail), "规则筛查 %s %d 年：%ld 条命中，新增线索 %ld",
		 region, year, rep.hits, rep.alerts);
	http_reply_json(res, 200, json_pack("{s:I, s:i, s:s, s:i, s:I, s:I, s:f, s:s}", "run_id",
					    (json_int_t)rep.run_id, "year", year, "region", region,
					    "rules", rep.rules, "hits", (json_int_t)rep.hits, "alerts",
					    (json_int_t)rep.alerts, "seconds", rep.seconds, "report",
					    rep.text.buf));
	buf_release(&rep.text);
}

/* GET /api/v1/households/:id/rule-hits — the latest run's hits for a household. */
static void api_household_hits(struct http_request *req, struct http_response *res)
{
	struct household_rec h;
	struct db_stmt *st;
	struct jw w;
	int64_t id;
	if (parse_int64(req->path_params[0], &id) ||
	    registry_household_load_scoped(req->db, id, req->principal->scope, &h) != 1) {
		http_reply_error(res, 404, "E_NOT_FOUND", NULL, "找不到该户（或不在您的管辖范围内）");
		return;
	}
	res->status = 200;
	res->content_type = "application/json; charset=utf-8";
	jw_init(&w, &res->body);
	jw_object(&w);
	jw_key(&w, "items");
	jw_array(&w);
	st = db_prepare(req->db, "SELECT x.rule_id, x.rule_version, d.title, d.kind, x.year, "
				 "x.explain, r.started_at FROM rule_hit x JOIN rule_run r ON r.id = "
				 "x.run_id LEFT JOIN rule_def d ON d.id = x.rule_id AND d.version = "
				 "x.rule_version WHERE x.household_id = :h AND x.run_id = (SELECT "
				 "max(run_id) FROM rule_hit y WHERE y.household_id = :h) ORDER BY x.rule_id");
	db_bind_int(st, ":h", id);
	while (db_step(st) == DB_ROW) {
		jw_object(&w);
		jw_kstr(&w, "rule_id", db_col_text(st, 0));
		jw_kint(&w, "rule_version", db_col_int(st, 1));
		jw_kstr(&w, "title", db_col_text(st, 2));
		jw_kstr(&w, "kind", db_col_text(st, 3));
		jw_kint(&w, "year", db_col_int(st, 4));
		jw_kstr(&w, "explain", db_col_text(st, 5));
		jw_kstr(&w, "run_at", db_col_text(st, 6));
		jw_object_end(&w);
	}
	db_done(st);
	jw_array_end(&w);
	jw_object_end(&w);
}

const struct route monitor_rule_routes[] = {
	{ "GET", "/api/v1/rules", api_rules, 0, NULL, "监测规则列表" },
	{ "GET", "/api/v1/rules/:id", api_rule_get, 0, NULL, "规则各版本" },
	{ "POST", "/api/v1/rules", api_rule_create, ROUTE_WRITE | ROUTE_JSON | ROUTE_COUNTY, "monitor.config",
	  "新增规则" },
	{ "PUT", "/api/v1/rules/:id", api_rule_update, ROUTE_WRITE | ROUTE_JSON | ROUTE_COUNTY, "monitor.config",
	  "修改规则（生成新版本）" },
	{ "POST", "/api/v1/rules/preview", api_rule_preview, ROUTE_JSON, "monitor.config",
	  "预览规则命中户数（不保存）" },
	{ "POST", "/api/v1/screen", api_screen, ROUTE_WRITE | ROUTE_OWN_TX | ROUTE_JSON,
	  "monitor.config", "运行规则筛查" },
	{ "GET", "/api/v1/households/:id/rule-hits", api_household_hits, 0, "household.read",
	  "户的规则命中及原因" },
	{ NULL },
};

/* ---- cross-check: evaluation and SQL must agree --------------------------------- */

struct crosscheck {
	int64_t *ids;     /* households the SQL found, in order */
	char **why;
	long n, alloc;
};

static int collect_hit(void *opaque, int64_t hh, int64_t mid, const char *explain)
{
	struct crosscheck *c = opaque;
	if (mid)
		return 0; /* member rules: compared per household below */
	ALLOC_GROW(c->ids, c->n + 1, c->alloc);
	c->why = xrealloc(c->why, c->alloc * sizeof(*c->why)); /* grows with ids */
	c->ids[c->n] = hh;
	c->why[c->n++] = xstrdup(explain);
	return 0;
}

/* Sort hits by household id (insertion into a copy via qsort on indexes). */
struct hit_pair {
	int64_t id;
	char *why;
};

static int cmp_hit(const void *a, const void *b)
{
	const struct hit_pair *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void sort_hits(int64_t *ids, char **why, long n)
{
	struct hit_pair *p = xcalloc(n + 1, sizeof(*p));
	for (long i = 0; i < n; i++)
		p[i] = (struct hit_pair){ ids[i], why[i] };
	qsort(p, n, sizeof(*p), cmp_hit);
	for (long i = 0; i < n; i++) {
		ids[i] = p[i].id;
		why[i] = p[i].why;
	}
	free(p);
}

long monitor_rules_crosscheck(struct db *db, const char *under, int year, struct buf *report)
{
	struct rule_row *rows = NULL;
	int alloc = 0, n = load_rules(db, year, 0, &rows, &alloc);
	long mismatches = 0, compared = 0;
	int64_t *hh = NULL;
	long nhh = 0, alloc_hh = 0;
	struct db_stmt *st;
	char hi[20];
	snprintf(hi, sizeof(hi), "%s:", under);
	st = db_prepare(db, "SELECT id FROM household WHERE village_code >= :lo AND village_code < "
			    ":hi ORDER BY id");
	db_bind_text(st, ":lo", under);
	db_bind_text(st, ":hi", hi);
	while (db_step(st) == DB_ROW) {
		ALLOC_GROW(hh, nhh + 1, alloc_hh);
		hh[nhh++] = db_col_int(st, 0);
	}
	db_done(st);
	for (int i = 0; i < n; i++) {
		struct rule_error err;
		struct rule *r = rule_compile(&monitor_catalog, rows[i].scope, rows[i].expr, &err);
		struct crosscheck c = { 0 };
		struct rule_result res = RULE_RESULT_INIT;
		struct buf why = BUF_INIT;
		long k = 0, bad = 0;
		if (!r || rows[i].scope != RULE_HOUSEHOLD) {
			rule_free(r);
			continue;
		}
		run_rule_sql(db, r, under, year, collect_hit, &c, -1);
		sort_hits(c.ids, c.why, c.n);
		for (long j = 0; j < nhh; j++) {
			int sql_hit = k < c.n && c.ids[k] == hh[j];
			if (monitor_rule_eval_household(db, r, hh[j], year, &res)) {
				bad++;
				continue;
			}
			if ((res.truth == RULE_TRUE) != sql_hit) {
				bad++;
				buf_addf(report, "%s 户 %lld：求值%s，SQL%s\n", rows[i].id, (long long)hh[j],
					 res.truth == RULE_TRUE ? "命中" : "未命中", sql_hit ? "命中" : "未命中");
			} else if (sql_hit) {
				buf_reset(&why);
				rule_explain(r, res.values, &why);
				if (strcmp(why.buf, c.why[k])) {
					bad++;
					buf_addf(report, "%s 户 %lld：说明不同：求值“%s”，SQL“%s”\n",
						 rows[i].id, (long long)hh[j], why.buf, c.why[k]);
				}
			}
			if (sql_hit)
				k++;
			compared++;
		}
		buf_addf(report, "%-5s 命中 %ld 户，不一致 %ld\n", rows[i].id, c.n, bad);
		mismatches += bad;
		for (long j = 0; j < c.n; j++)
			free(c.why[j]);
		free(c.why);
		free(c.ids);
		buf_release(&why);
		rule_result_release(&res);
		rule_free(r);
	}
	buf_addf(report, "共比较 %ld 户·规则，不一致 %ld\n", compared, mismatches);
	free(hh);
	free_rules(rows, n);
	return mismatches;
}

int monitor_rule_sql_text(struct db *db, const char *id, const char *under, struct buf *out)
{
	struct rule_row *rows = NULL;
	int alloc = 0, n = load_rules(db, 0, 1, &rows, &alloc), found = 0;
	for (int i = 0; i < n; i++) {
		struct rule_error err;
		struct rule *r;
		if (strcmp(rows[i].id, id))
			continue;
		found = 1;
		r = rule_compile(&monitor_catalog, rows[i].scope, rows[i].expr, &err);
		if (!r) {
			buf_addf(out, "%s\n", err.msg);
			break;
		}
		rule_to_sql(r, "h.village_code >= :lo AND h.village_code < :hi", out);
		buf_addstr(out, "\nORDER BY h.id\n");
		rule_free(r);
	}
	free_rules(rows, n);
	(void)under;
	return found ? 0 : -1;
}
