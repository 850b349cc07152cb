/* check.c — the data-quality checks (数据比对 / 疑点, brief §2.3) as data:
 * their tables, the catalogue of fields they may use (the monitoring rules'
 * own, plus a few), the checks shipped with liubao, and a run: load the
 * current version of every enabled check, evaluate them all (check_pass.c)
 * and keep the findings — one open finding per (check, household, member),
 * updated when found again, opened when new, closed when gone.
 *
 * Tables (module "screen.check"): check_def, check_run, check_finding. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "monitor/monitor.h"
#include "rules/rules.h"
#include "screen/check_internal.h"
#include "screen/screen.h"

static const struct db_migration check_migrations[] = {
	{ 1, "data-quality checks, their runs and findings",
	  "CREATE TABLE check_def(\n"
	  "  id TEXT NOT NULL,            -- stable id, e.g. ID01\n"
	  "  version INTEGER NOT NULL,    -- 1, 2…; editing creates a new version\n"
	  "  grp TEXT NOT NULL,           -- group (check_groups): identity, structure, code…\n"
	  "  severity TEXT NOT NULL,      -- 高 | 中 | 低\n"
	  "  scope INTEGER NOT NULL,      -- 1 a household finding, 2 a member finding\n"
	  "  kind TEXT NOT NULL,          -- rule (the rule language) | builtin (named check in C or SQL)\n"
	  "  title TEXT NOT NULL,         -- Chinese: what is wrong\n"
	  "  advice TEXT NOT NULL,        -- Chinese: what to verify or correct\n"
	  "  expression TEXT NOT NULL,    -- the rule's expression, or the built-in check's name\n"
	  "  enabled INTEGER NOT NULL DEFAULT 1,\n"
	  "  created_at TEXT NOT NULL,    -- UTC\n"
	  "  created_by TEXT NOT NULL DEFAULT '', -- login, 'system' for shipped checks\n"
	  "  PRIMARY KEY(id, version)\n"
	  ");\n"
	  "CREATE TABLE check_run(\n"
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	  "  started_at TEXT NOT NULL,    -- UTC\n"
	  "  finished_at TEXT NOT NULL DEFAULT '',\n"
	  "  region TEXT NOT NULL,        -- region-code prefix checked, '' = everything\n"
	  "  grp TEXT NOT NULL DEFAULT '', -- group checked, '' = all\n"
	  "  year INTEGER NOT NULL,       -- income and monitoring-line year\n"
	  "  by_login TEXT NOT NULL DEFAULT '',\n"
	  "  checks INTEGER NOT NULL DEFAULT 0, -- checks evaluated\n"
	  "  hits INTEGER NOT NULL DEFAULT 0,   -- findings seen\n"
	  "  opened INTEGER NOT NULL DEFAULT 0, -- findings opened\n"
	  "  closed INTEGER NOT NULL DEFAULT 0, -- findings closed\n"
	  "  millis INTEGER NOT NULL DEFAULT 0\n"
	  ");\n"
	  "CREATE TABLE check_finding(\n"
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	  "  check_id TEXT NOT NULL,      -- check_def.id\n"
	  "  check_version INTEGER NOT NULL, -- the version that last found it\n"
	  "  household_id INTEGER NOT NULL REFERENCES household(id) ON DELETE CASCADE,\n"
	  "  member_id INTEGER,           -- the member, NULL for a household finding (no foreign\n"
	  "                               -- key: a deleted member's finding closes at the next run)\n"
	  "  member_key INTEGER NOT NULL DEFAULT 0, -- member_id or 0: keys the open finding\n"
	  "  year INTEGER NOT NULL,       -- year of the run that last found it\n"
	  "  explain TEXT NOT NULL,       -- Chinese: the values that made it fire\n"
	  "  state TEXT NOT NULL,         -- open | closed\n"
	  "  first_seen TEXT NOT NULL,    -- UTC, the run that opened it\n"
	  "  last_seen TEXT NOT NULL,     -- UTC, the last run that found it\n"
	  "  closed_at TEXT NOT NULL DEFAULT '', -- UTC, the run that no longer found it\n"
	  "  first_run INTEGER NOT NULL,  -- check_run.id\n"
	  "  last_run INTEGER NOT NULL    -- check_run.id\n"
	  ");\n"
	  "CREATE UNIQUE INDEX check_finding_open ON check_finding(check_id, household_id, "
	  "member_key) WHERE state = 'open';\n"
	  "CREATE INDEX check_finding_household ON check_finding(household_id, state);\n"
	  "CREATE INDEX check_finding_state ON check_finding(state, check_id);\n",
	  NULL },
	/* the findings list (GET /api/v1/check-findings) filters and sorts by
	 * village: a copy of the household's on the finding, kept by triggers
	 * (as monitor_case's), lets a page and its count come from an index
	 * instead of a household look-up per finding of the scope */
	{ 2, "findings carry their household's village",
	  "ALTER TABLE check_finding ADD COLUMN village_code TEXT NOT NULL DEFAULT '';\n"
	  "  -- household.village_code, copied by the triggers below\n"
	  "UPDATE check_finding SET village_code = coalesce((SELECT h.village_code FROM household h\n"
	  "  WHERE h.id = check_finding.household_id), '');\n"
	  "CREATE INDEX check_finding_village ON check_finding(state, village_code, id);\n"
	  "CREATE TRIGGER check_finding_village_on_insert AFTER INSERT ON check_finding BEGIN\n"
	  "  UPDATE check_finding SET village_code = coalesce((SELECT h.village_code FROM household h\n"
	  "    WHERE h.id = NEW.household_id), '') WHERE id = NEW.id;\n"
	  "END;\n"
	  "CREATE TRIGGER check_finding_village_moves AFTER UPDATE OF village_code ON household\n"
	  "  WHEN OLD.village_code IS NOT NEW.village_code BEGIN\n"
	  "  UPDATE check_finding SET village_code = NEW.village_code WHERE household_id = NEW.id;\n"
	  "END;\n",
	  "ALTER TABLE check_finding ADD COLUMN village_code TEXT NOT NULL DEFAULT '';\n"
	  "UPDATE check_finding SET village_code = coalesce((SELECT h.village_code FROM household h\n"
	  "  WHERE h.id = check_finding.household_id), '');\n"
	  "CREATE INDEX check_finding_village ON check_finding(state, village_code, id);\n"
	  "CREATE FUNCTION liubao_finding_village() RETURNS trigger LANGUAGE plpgsql AS $$\n"
	  "BEGIN\n"
	  "  NEW.village_code := coalesce((SELECT h.village_code FROM household h\n"
	  "    WHERE h.id = NEW.household_id), '');\n"
	  "  RETURN NEW;\n"
	  "END $$;\n"
	  "CREATE TRIGGER check_finding_village_on_insert BEFORE INSERT ON check_finding\n"
	  "  FOR EACH ROW EXECUTE FUNCTION liubao_finding_village();\n"
	  "CREATE FUNCTION liubao_finding_village_moves() RETURNS trigger LANGUAGE plpgsql AS $$\n"
	  "BEGIN\n"
	  "  UPDATE check_finding SET village_code = NEW.village_code WHERE household_id = NEW.id;\n"
	  "  RETURN NULL;\n"
	  "END $$;\n"
	  "CREATE TRIGGER check_finding_village_moves AFTER UPDATE OF village_code ON household\n"
	  "  FOR EACH ROW WHEN (OLD.village_code IS DISTINCT FROM NEW.village_code)\n"
	  "  EXECUTE FUNCTION liubao_finding_village_moves();\n" },
	/* a run stores its new findings with their village already filled in
	 * (one read of the region's households instead of a look-up, and on
	 * SQLite an UPDATE, per finding): the insert trigger only fills in
	 * what a writer left empty */
	{ 3, "the insert trigger fills in only a missing village",
	  "DROP TRIGGER check_finding_village_on_insert;\n"
	  "CREATE TRIGGER check_finding_village_on_insert AFTER INSERT ON check_finding\n"
	  "  WHEN NEW.village_code = '' BEGIN\n"
	  "  UPDATE check_finding SET village_code = coalesce((SELECT h.village_code FROM household h\n"
	  "    WHERE h.id = NEW.household_id), '') WHERE id = NEW.id;\n"
	  "END;\n",
	  "DROP TRIGGER check_finding_village_on_insert ON check_finding;\n"
	  "CREATE TRIGGER check_finding_village_on_insert BEFORE INSERT ON check_finding\n"
	  "  FOR EACH ROW WHEN (NEW.village_code = '') EXECUTE FUNCTION liubao_finding_village();\n" },
};

/* ---- groups and built-ins ------------------------------------------------------ */

const struct check_group check_groups[] = {
	{ "identity", "身份信息" },   { "structure", "家庭结构" }, { "code", "代码值" },
	{ "complete", "完整性" },     { "education", "教育" },     { "labour", "劳动力" },
	{ "insurance", "医疗保险" },  { "publicjob", "公益岗位" }, { "risk", "风险与帮扶一致性" },
	{ "range", "数值范围" },      { "unenrolled", "未纳入监测的风险" },
	{ NULL, NULL },
};

const char *check_group_title(const char *id)
{
	for (int i = 0; id && check_groups[i].id; i++)
		if (!strcmp(check_groups[i].id, id))
			return check_groups[i].title;
	return NULL;
}

int screen_check_group_known(const char *group)
{
	return check_group_title(group) != NULL;
}

const char *screen_check_group_label(const char *group)
{
	return check_group_title(group);
}

const struct check_builtin_def check_builtins[NR_BUILTINS] = {
	[BI_ID_CHECKSUM] = { "id_checksum", RULE_MEMBER, 0 },
	[BI_ID_FORMAT] = { "id_format", RULE_MEMBER, 0 },
	[BI_ID_PLACEHOLDER] = { "id_placeholder", RULE_MEMBER, 0 },
	[BI_ID_MISMATCH] = { "id_mismatch", RULE_MEMBER, 0 },
	[BI_DUP_IN_HH] = { "dup_in_household", RULE_MEMBER, 0 },
	[BI_DUP_PERSON] = { "dup_person", RULE_MEMBER, 1 },
	[BI_SHARED_PHONE] = { "shared_phone", RULE_HOUSEHOLD, 1 },
	[BI_NO_HEAD] = { "no_head", RULE_HOUSEHOLD, 0 },
	[BI_MULTI_HEAD] = { "multi_head", RULE_HOUSEHOLD, 0 },
	[BI_MULTI_SPOUSE] = { "multi_spouse", RULE_HOUSEHOLD, 0 },
	[BI_SPOUSE_SEX] = { "spouse_sex", RULE_MEMBER, 0 },
	[BI_RELATION_SEX] = { "relation_sex", RULE_MEMBER, 0 },
	[BI_CODE_RELATION] = { "code_relation", RULE_MEMBER, 0 },
	[BI_CODE_ETHNICITY] = { "code_ethnicity", RULE_MEMBER, 0 },
	[BI_CODE_EDUCATION] = { "code_education", RULE_MEMBER, 0 },
	[BI_CODE_SCHOOL] = { "code_school_status", RULE_MEMBER, 0 },
	[BI_CODE_HEALTH] = { "code_health", RULE_MEMBER, 0 },
	[BI_CODE_DISABILITY] = { "code_disability", RULE_MEMBER, 0 },
	[BI_CODE_LABOR] = { "code_labor_skill", RULE_MEMBER, 0 },
	[BI_CODE_WORK] = { "code_work_status", RULE_MEMBER, 0 },
	[BI_CODE_HH_TYPE] = { "code_hh_type", RULE_HOUSEHOLD, 0 },
	[BI_NAME] = { "name", RULE_MEMBER, 0 },
	[BI_HH_PHONE] = { "household_phone", RULE_HOUSEHOLD, 0 },
	[BI_MEMBER_PHONE] = { "member_phone", RULE_MEMBER, 0 },
};

int check_builtin_find(const char *name)
{
	for (int i = 0; i < NR_BUILTINS; i++)
		if (!strcmp(check_builtins[i].name, name))
			return i;
	return -1;
}

/* ---- the catalogue of fields ----------------------------------------------------- */

/* Fields beyond the monitoring rules' catalogue.  The measure counts come
 * from one grouped pass over the measure table (join "mx") rather than a
 * subquery per household. */
static const struct rule_field extra_fields[] = {
	{ "hh_phone", "户联系电话", RULE_HOUSEHOLD, RULE_TEXT, "h.phone", NULL, NULL },
	{ "address", "家庭住址", RULE_HOUSEHOLD, RULE_TEXT, "h.address", NULL, NULL },
	{ "monitor_contact", "监测联系人", RULE_HOUSEHOLD, RULE_TEXT, "mo.contact_name", NULL, NULL },
	{ "monitor_contact_phone", "监测联系人电话", RULE_HOUSEHOLD, RULE_TEXT, "mo.contact_phone",
	  NULL, NULL },
	{ "eliminated", "风险已消除", RULE_HOUSEHOLD, RULE_BOOL,
	  "(CASE WHEN mo.status = 'eliminated' THEN 1 ELSE 0 END)", NULL, NULL },
	{ "elim_mode", "风险消除方式", RULE_HOUSEHOLD, RULE_TEXT, "NULLIF(mo.elim_mode, '')", NULL,
	  NULL },
	{ "eliminated_on", "消除监测时间", RULE_HOUSEHOLD, RULE_DATE, "NULLIF(mo.eliminated_on, '')",
	  NULL, NULL },
	{ "risk_count", "风险类型数", RULE_HOUSEHOLD, RULE_NUM,
	  "(CASE WHEN mo.risk_types IS NULL THEN NULL WHEN mo.risk_types = '' THEN 0 ELSE "
	  "length(mo.risk_types) - length(replace(mo.risk_types, ',', '')) + 1 END)",
	  NULL, "项" },
	{ "public_jobs", "在岗公益岗位数", RULE_HOUSEHOLD, RULE_NUM, "coalesce(mx.public_jobs, 0)",
	  NULL, "个" },
	{ "employment_measures", "就业帮扶措施数", RULE_HOUSEHOLD, RULE_NUM,
	  "coalesce(mx.employment, 0)", NULL, "项" },
	{ "industry_measures", "产业帮扶措施数", RULE_HOUSEHOLD, RULE_NUM,
	  "coalesce(mx.industry, 0)", NULL, "项" },
	{ "welfare_measures", "综合保障措施数", RULE_HOUSEHOLD, RULE_NUM, "coalesce(mx.welfare, 0)",
	  NULL, "项" },
	{ "ethnicity", "民族", RULE_MEMBER, RULE_CODE, "m.ethnicity", &code_ethnicity, NULL },
};

static const struct rule_join extra_joins[] = {
	{ "mx", "LEFT JOIN (SELECT household_id, count(*) AS total, sum(CASE WHEN category IN (39, "
		"40, 41, 42) THEN 1 ELSE 0 END) AS dev, sum(CASE WHEN item = 4801 THEN 1 ELSE 0 END) "
		"AS dibao, sum(CASE WHEN item = 4802 THEN 1 ELSE 0 END) AS tekun, sum(CASE WHEN item "
		"= 4805 THEN 1 ELSE 0 END) AS disability, sum(CASE WHEN category = 42 AND (end_date "
		"IS NULL OR end_date >= :today) THEN 1 ELSE 0 END) AS public_jobs, sum(CASE WHEN "
		"category = 40 THEN 1 ELSE 0 END) AS employment, sum(CASE WHEN category = 39 THEN 1 "
		"ELSE 0 END) AS industry, sum(CASE WHEN category = 48 THEN 1 ELSE 0 END) AS welfare "
		"FROM measure WHERE household_id >= :a AND household_id < :b GROUP BY household_id) "
		"mx ON mx.household_id = h.id" },
};

/* The checks read households a piece of the id range at a time (:a, :b;
 * check_pass.c): the grouped join above counts the piece's measures only,
 * and each piece finds the monitoring line of its own villages rather than
 * of every village loaded (all of China's 620,000, where the regions of
 * the whole country are imported).  Swapped only while the monitoring
 * catalogue's join is exactly `monitor_sql`. */
static const struct {
	const char *alias, *monitor_sql, *sql;
} join_overrides[] = {
	{ "ln",
	  "LEFT JOIN (SELECT v.code AS village, (SELECT l.amount FROM monitor_line l WHERE "
	  "l.year = :year AND substr(v.code, 1, length(l.region)) = l.region ORDER BY "
	  "length(l.region) DESC LIMIT 1) AS amount FROM (SELECT DISTINCT hv.village_code AS code "
	  "FROM household hv WHERE hv.village_code >= :lo AND hv.village_code < :hi) v "
	  "LIMIT 1000000000) ln ON ln.village = h.village_code",
	  "LEFT JOIN (SELECT v.code AS village, (SELECT l.amount FROM monitor_line l WHERE "
	  "l.year = :year AND substr(v.code, 1, length(l.region)) = l.region ORDER BY "
	  "length(l.region) DESC LIMIT 1) AS amount FROM region v WHERE v.level = 5 AND v.code IN "
	  "(SELECT hv.village_code FROM household hv WHERE hv.id >= :a AND hv.id < :b) LIMIT "
	  "1000000000) ln ON ln.village = h.village_code" },
};

/* The monitoring catalogue's measure fields are subqueries, one look-up per
 * household each; over a county the checks read the same counts from the
 * grouped join above.  A field is swapped only while its SQL is exactly the
 * text below, so a changed definition is never replaced by a stale one. */
static const struct {
	const char *name, *monitor_sql, *sql;
} measure_overrides[] = {
	{ "dev_measures",
	  "(SELECT count(*) FROM measure x WHERE x.household_id = h.id AND x.category IN (39, 40, "
	  "41, 42))",
	  "coalesce(mx.dev, 0)" },
	{ "measures", "(SELECT count(*) FROM measure x WHERE x.household_id = h.id)",
	  "coalesce(mx.total, 0)" },
	{ "measure_dibao",
	  "(CASE WHEN h.id IN (SELECT x.household_id FROM measure x WHERE x.item = 4801) THEN 1 "
	  "ELSE 0 END)",
	  "(CASE WHEN coalesce(mx.dibao, 0) > 0 THEN 1 ELSE 0 END)" },
	{ "measure_tekun",
	  "(CASE WHEN h.id IN (SELECT x.household_id FROM measure x WHERE x.item = 4802) THEN 1 "
	  "ELSE 0 END)",
	  "(CASE WHEN coalesce(mx.tekun, 0) > 0 THEN 1 ELSE 0 END)" },
	{ "measure_disability",
	  "(CASE WHEN h.id IN (SELECT x.household_id FROM measure x WHERE x.item = 4805) THEN 1 "
	  "ELSE 0 END)",
	  "(CASE WHEN coalesce(mx.disability, 0) > 0 THEN 1 ELSE 0 END)" },
};

static struct rule_catalog catalog;
static struct rule_field *catalog_fields;
static struct rule_join *catalog_joins;
static pthread_once_t catalog_once = PTHREAD_ONCE_INIT;

static void catalog_build(void)
{
	const struct rule_catalog *m = monitor_rule_catalog();
	int nf = m->nr_fields + (int)ARRAY_SIZE(extra_fields);
	int nj = m->nr_joins + (int)ARRAY_SIZE(extra_joins);
	catalog_fields = xcalloc(nf, sizeof(*catalog_fields));
	memcpy(catalog_fields, m->fields, m->nr_fields * sizeof(*catalog_fields));
	memcpy(catalog_fields + m->nr_fields, extra_fields, sizeof(extra_fields));
	for (int i = 0; i < m->nr_fields; i++)
		for (size_t k = 0; k < ARRAY_SIZE(measure_overrides); k++)
			if (!strcmp(catalog_fields[i].name, measure_overrides[k].name) &&
			    !strcmp(catalog_fields[i].sql, measure_overrides[k].monitor_sql))
				catalog_fields[i].sql = measure_overrides[k].sql;
	catalog_joins = xcalloc(nj, sizeof(*catalog_joins));
	if (m->nr_joins)
		memcpy(catalog_joins, m->joins, m->nr_joins * sizeof(*catalog_joins));
	memcpy(catalog_joins + m->nr_joins, extra_joins, sizeof(extra_joins));
	for (int i = 0; i < m->nr_joins; i++)
		for (size_t k = 0; k < ARRAY_SIZE(join_overrides); k++)
			if (!strcmp(catalog_joins[i].alias, join_overrides[k].alias) &&
			    !strcmp(catalog_joins[i].sql, join_overrides[k].monitor_sql))
				catalog_joins[i].sql = join_overrides[k].sql;
	catalog = *m;
	catalog.fields = catalog_fields;
	catalog.nr_fields = nf;
	catalog.joins = catalog_joins;
	catalog.nr_joins = nj;
}

const struct rule_catalog *check_catalog(void)
{
	pthread_once(&catalog_once, catalog_build);
	return &catalog;
}

/* ---- the shipped checks (brief §2.3, §1.4–§1.8) ------------------------------------ */

struct shipped_check {
	const char *id, *grp, *severity;
	int scope;
	int kind;
	const char *title, *advice, *expr;
	int off; /* shipped disabled */
};

#define HH RULE_HOUSEHOLD
#define MB RULE_MEMBER
#define R CHECK_RULE
#define B CHECK_BUILTIN
/* labour capacity for work (劳动技能 of a person who can hold a post) */
#define ABLE "('普通劳动力', '技能劳动力', '弱劳动力或半劳动力')"
#define AWAY "('省内县外务工', '省外务工', '国外务工')"

static const struct shipped_check shipped[] = {
	/* 身份信息 */
	{ "ID01", "identity", "高", MB, B, "身份证号校验位错误",
	  "核对身份证原件或户口簿，更正身份证号", "id_checksum", 0 },
	{ "ID02", "identity", "高", MB, B, "身份证号长度、字符、地址码或出生日期无效，或未规范为18位",
	  "核对身份证原件或户口簿，按18位身份证号重新录入（15位旧号须升级）", "id_format", 0 },
	{ "ID03", "identity", "高", MB, B, "身份证号为占位号码（无身份证号）",
	  "到派出所核实户籍信息，补录真实身份证号", "id_placeholder", 0 },
	{ "ID04", "identity", "中", MB, B, "性别或出生日期与身份证号不符",
	  "以身份证号为准更正性别、出生日期，或更正身份证号", "id_mismatch", 0 },
	{ "ID05", "identity", "中", MB, B, "同一户内重复登记（姓名、性别、出生日期相同）",
	  "核实是否同一人，删除重复登记的成员", "dup_in_household", 0 },
	{ "ID06", "identity", "中", MB, B,
	  "疑似同一人在同一乡镇的多个户登记（姓名、性别、出生日期相同）",
	  "核实是否同一人；同一人只能在一个户登记", "dup_person", 0 },
	{ "ID07", "identity", "低", HH, B, "户联系电话与其他户相同",
	  "核实联系电话是否为本户可联系到的号码", "shared_phone", 0 },
	/* 家庭结构 */
	{ "ST01", "structure", "高", HH, B, "户内没有户主", "指定一名户主", "no_head", 0 },
	{ "ST02", "structure", "高", HH, B, "户内有多名户主",
	  "只保留一名户主，其他成员改为实际与户主关系", "multi_head", 0 },
	{ "ST03", "structure", "中", HH, B, "户内有多名配偶", "核对与户主关系，最多一名配偶",
	  "multi_spouse", 0 },
	{ "ST04", "structure", "中", MB, B, "户主与配偶性别相同（依据身份证号第17位）",
	  "核对身份证号或与户主关系", "spouse_sex", 0 },
	{ "ST05", "structure", "中", MB, B, "与户主关系与性别不符（如之女、之母为男性）",
	  "核对身份证号或与户主关系", "relation_sex", 0 },
	{ "ST06", "structure", "高", HH, R, "户内没有登记家庭成员",
	  "补录家庭成员，或注销空户", "count(member, true) = 0", 0 },
	/* 代码值 */
	{ "CD01", "code", "高", MB, B, "与户主关系不在国家代码表中", "从代码表中重新选择与户主关系",
	  "code_relation", 0 },
	{ "CD02", "code", "中", MB, B, "民族不在代码表中（GB 3304）", "从代码表中重新选择民族",
	  "code_ethnicity", 0 },
	{ "CD03", "code", "中", MB, B, "文化程度不在代码表中", "从代码表中重新选择文化程度",
	  "code_education", 0 },
	{ "CD04", "code", "中", MB, B, "在校生状况不在代码表中", "从代码表中重新选择在校生状况",
	  "code_school_status", 0 },
	{ "CD05", "code", "中", MB, B, "健康状况不在代码表中（或“健康”与其他状况同时填写）",
	  "从代码表中重新选择健康状况", "code_health", 0 },
	{ "CD06", "code", "中", MB, B, "残疾类别不在代码表中", "从代码表中重新选择残疾类别",
	  "code_disability", 0 },
	{ "CD07", "code", "中", MB, B, "劳动技能不在代码表中", "从代码表中重新选择劳动技能",
	  "code_labor_skill", 0 },
	{ "CD08", "code", "中", MB, B, "务工状况不在代码表中", "从代码表中重新选择务工状况",
	  "code_work_status", 0 },
	{ "CD09", "code", "中", HH, B, "户类型不在代码表中", "从代码表中重新选择户类型",
	  "code_hh_type", 0 },
	/* 完整性 */
	{ "CP01", "complete", "高", MB, B, "姓名为空、含控制字符或过长", "按身份证重新录入姓名",
	  "name", 0 },
	{ "CP02", "complete", "低", HH, B, "户联系电话格式不正确",
	  "填写11位手机号或带区号的固定电话", "household_phone", 0 },
	{ "CP03", "complete", "低", MB, B, "成员联系电话格式不正确",
	  "填写11位手机号或带区号的固定电话", "member_phone", 0 },
	{ "CP04", "complete", "低", HH, R, "户联系电话未填写", "补录本户可联系到的电话",
	  "户联系电话 = ''", 0 },
	{ "CP05", "complete", "低", HH, R, "家庭住址未填写", "补录家庭住址（到村民小组）",
	  "家庭住址 = ''", 0 },
	{ "CP06", "complete", "中", HH, R, "户类型未填写", "补录户类型", "户类型 is null", 0 },
	{ "CP07", "complete", "低", MB, R, "民族未填写", "补录民族", "民族 is null", 0 },
	{ "CP08", "complete", "中", MB, R, "健康状况未填写", "补录健康状况", "健康状况 is null", 0 },
	{ "CP09", "complete", "中", MB, R, "劳动技能未填写", "补录劳动技能", "劳动技能 is null", 0 },
	{ "CP10", "complete", "低", MB, R, "医疗、养老保险参保情况未填写",
	  "补录城乡居民医保、职工医保、大病保险、养老保险参保情况",
	  "城乡居民基本医疗保险 is null or 职工基本医疗保险 is null or 大病保险 is null or 养老保险 is "
	  "null", 0 },
	{ "CP11", "complete", "中", MB, R, "健康状况为残疾但未填写残疾类别",
	  "按残疾证补录残疾类别", "健康状况 has '残疾' and 残疾类别 is null", 0 },
	{ "CP12", "complete", "低", MB, R, "填写了残疾类别但健康状况不含残疾",
	  "核对健康状况或残疾类别", "残疾类别 is not null and not 健康状况 has '残疾'", 0 },
	{ "CP13", "complete", "中", HH, R, "监测对象缺少监测联系人或联系电话",
	  "补录监测联系人及其电话",
	  "监测对象类别 is not null and (监测联系人 = '' or 监测联系人电话 = '')", 0 },
	/* 教育 */
	{ "ED01", "education", "中", MB, R, "文化程度与在校生状况同时填写",
	  "在校生只填在校生状况，非在校生只填文化程度",
	  "在校生状况 is not null and 文化程度 is not null", 0 },
	{ "ED02", "education", "中", MB, R, "文化程度与在校生状况都未填写",
	  "在校生填在校生状况，非在校生填文化程度", "文化程度 is null and 在校生状况 is null", 0 },
	{ "ED03", "education", "高", MB, R, "义务教育阶段适龄（6至15周岁）儿童少年未在校",
	  "入户核实是否失学辍学；在校的补录在校生状况，失学辍学的落实劝返",
	  "age() <= 15 and age() >= 6 and 在校生状况 is null and coalesce(健康状况 has '残疾' or "
	  "健康状况 has '患有大病', false) = false", 0 },
	{ "ED04", "education", "中", MB, R, "7周岁及以上健康儿童仍为学龄前或学前教育",
	  "核实在校生状况，按实际年级填写",
	  "在校生状况 in ('学龄前儿童', '学前教育') and age() >= 7 and 健康状况 has '健康'", 0 },
	{ "ED05", "education", "中", MB, R, "初中在读年龄不在12至17周岁之间",
	  "核对在校生状况和身份证号",
	  "在校生状况 in ('七年级', '八年级', '九年级') and (age() < 12 or age() > 17)", 0 },
	{ "ED06", "education", "中", MB, R, "高中或中职在读年龄不在15至20周岁之间",
	  "核对在校生状况和身份证号",
	  "在校生状况 in ('普通高中一年级', '普通高中二年级', '普通高中三年级', '中职一年级', "
	  "'中职二年级', '中职三年级') and (age() < 15 or age() > 20)", 0 },
	{ "ED07", "education", "中", MB, R, "高职高专、技师学院或本科在读不满18周岁",
	  "核对在校生状况和身份证号",
	  "在校生状况 in ('高职高专一年级', '高职高专二年级', '高职高专三年级', '技师学院一年级', "
	  "'技师学院二年级', '技师学院三年级', '技师学院四年级', '本科一年级', '本科二年级', "
	  "'本科三年级', '本科四年级', '本科五年级') and age() < 18", 0 },
	{ "ED08", "education", "中", MB, R, "硕士研究生在读不满20周岁", "核对在校生状况和身份证号",
	  "在校生状况 = '硕士研究生及以上' and age() < 20", 0 },
	{ "ED09", "education", "低", MB, R, "16至22周岁非残疾人员文化程度为小学及以下",
	  "核对文化程度（义务教育已普及）",
	  "文化程度 in ('文盲或半文盲', '小学') and age() >= 16 and age() <= 22 and "
	  "coalesce(健康状况 has '残疾', false) = false", 0 },
	{ "ED10", "education", "中", MB, R, "在校生登记为务工", "核对在校生状况或务工状况",
	  "在校生状况 is not null and 在校生状况 not in ('学龄前儿童', '学前教育') and 务工状况 is "
	  "not null and 务工状况 != '未务工'", 0 },
	/* 劳动力 */
	{ "LB01", "labour", "中", MB, R, "16周岁以下未登记为无劳动力", "16周岁以下劳动技能应为无劳动力",
	  "age() < 16 and 劳动技能 is not null and 劳动技能 != '无劳动力'", 0 },
	{ "LB02", "labour", "中", MB, R, "16至60周岁健康非在校生登记为无劳动力、丧失劳动力或弱劳动力",
	  "核实劳动能力，按实际填写劳动技能",
	  "劳动技能 in ('无劳动力', '丧失劳动力', '弱劳动力或半劳动力') and 健康状况 has '健康' and "
	  "在校生状况 is null and age() >= 16 and age() <= 60", 0 },
	{ "LB03", "labour", "中", MB, R, "无劳动力或丧失劳动力人员登记为务工",
	  "核对劳动技能或务工状况",
	  "劳动技能 in ('无劳动力', '丧失劳动力') and 务工状况 is not null and 务工状况 != '未务工'", 0 },
	{ "LB04", "labour", "低", MB, R, "弱劳动力或半劳动力人员在县外务工", "核对劳动技能或务工状况",
	  "劳动技能 = '弱劳动力或半劳动力' and 务工状况 in " AWAY, 0 },
	{ "LB05", "labour", "中", MB, R, "特困供养人员为18至60周岁健康非在校生",
	  "核实特困供养资格（有劳动能力者不符合特困条件）",
	  "特困供养 = true and age() >= 18 and age() <= 60 and 健康状况 has '健康' and 在校生状况 is "
	  "null", 0 },
	{ "LB06", "labour", "低", MB, R, "技能劳动力或大专以上学历的劳动年龄人员未务工",
	  "核实就业情况，有就业意愿的落实就业帮扶",
	  "age() >= 16 and age() <= 60 and 在校生状况 is null and (劳动技能 = '技能劳动力' or 文化程度 "
	  "in ('大专', '本科及以上')) and 务工状况 = '未务工'",
	  1 /* off until 务工 records are kept up to date: it flags every one who stays home */ },
	{ "LB07", "labour", "中", MB, R, "16周岁以下登记为务工", "核对务工状况和身份证号",
	  "务工状况 is not null and 务工状况 != '未务工' and age() < 16", 0 },
	/* 医疗保险 */
	{ "IN01", "insurance", "高", MB, R, "未参加基本医疗保险（城乡居民医保和职工医保均未参加）",
	  "核实参保情况，动员参保或落实参保补贴",
	  "城乡居民基本医疗保险 = false and 职工基本医疗保险 = false", 0 },
	{ "IN02", "insurance", "中", MB, R, "同时参加城乡居民医保和职工医保（重复参保）",
	  "核实参保情况，只能参加其中一种",
	  "城乡居民基本医疗保险 = true and 职工基本医疗保险 = true", 0 },
	{ "IN03", "insurance", "低", MB, R, "参加城乡居民医保但未参加大病保险",
	  "城乡居民医保参保人同时参加大病保险，核对大病保险",
	  "城乡居民基本医疗保险 = true and 大病保险 = false", 0 },
	/* 公益岗位 (measures are per household: the brief's per-person tests are
	 * asked of the household's members) */
	{ "PJ01", "publicjob", "中", HH, R, "享受公益岗位帮扶但家中没有16至69周岁有劳动能力的成员",
	  "核实公益岗位聘用人员（16周岁以上、70周岁以下、有劳动能力）",
	  "在岗公益岗位数 > 0 and count(member, age() >= 16 and age() < 70 and 劳动技能 in " ABLE
	  ") = 0", 0 },
	{ "PJ02", "publicjob", "中", HH, R, "一户在岗公益岗位3个及以上，或多于可聘用的成员",
	  "核实是否一人多岗或冒名顶替",
	  "在岗公益岗位数 > 0 and (在岗公益岗位数 >= 3 or (count(member, age() >= 16 and age() < 70 "
	  "and 劳动技能 in " ABLE ") > 0 and 在岗公益岗位数 > count(member, age() >= 16 and age() < "
	  "70 and 劳动技能 in " ABLE ")))", 0 },
	{ "PJ03", "publicjob", "低", HH, R, "享受公益岗位帮扶但劳动年龄成员均在县外务工",
	  "核实公益岗位是否在岗（县外务工人员不能从事公益岗位）",
	  "在岗公益岗位数 > 0 and any(member, 务工状况 in " AWAY ") and not any(member, age() >= "
	  "16 and age() < 70 and 劳动技能 in " ABLE " and coalesce(务工状况 in " AWAY ", false) = false)", 0 },
	/* 风险与帮扶一致性 (the monitoring rules C001–C010 of `liubao screen`
	 * cover 因病/因残/缺劳动力/务工/饮水 and the 低保/特困/残补 measures) */
	{ "RK01", "risk", "高", HH, R, "监测对象未登记风险类型", "补录致贫返贫风险类型",
	  "监测对象 = true and 风险类型数 = 0", 0 },
	{ "RK02", "risk", "低", HH, R, "风险类型超过5项", "风险类型最多填写5项", "风险类型数 > 5", 0 },
	{ "RK03", "risk", "中", HH, R, "风险类型为“因学”但家中无在校生", "核对风险类型或在校生状况",
	  "监测对象 = true and 风险类型 has '因学' and not any(member, 在校生状况 is not null and "
	  "在校生状况 not in ('学龄前儿童'))", 0 },
	{ "RK04", "risk", "低", HH, R, "风险类型为“因安全住房”但住房安全有保障",
	  "核对风险类型或住房安全情况",
	  "监测对象 = true and 风险类型 has '因安全住房' and 住房安全有保障 = true", 0 },
	{ "RK05", "risk", "高", HH, R, "帮扶消除但人均纯收入低于监测线",
	  "核实收入；收入未稳定超过监测线的不应标注风险消除",
	  "风险已消除 = true and 风险消除方式 = '帮扶消除' and 人均纯收入 < 监测线", 0 },
	{ "RK06", "risk", "中", HH, R, "整户无劳动能力却已标注风险消除",
	  "整户无劳动能力户落实兜底保障后暂不标注风险消除，应持续跟踪",
	  "风险已消除 = true and count(member, true) > 0 and all(member, 劳动技能 in ('丧失劳动力', "
	  "'无劳动力'))", 0 },
	{ "RK07", "risk", "高", HH, R, "已消除风险户仍存在住房、饮水或义务教育问题",
	  "核实“三保障”和饮水安全；问题未解决的应重新纳入监测",
	  "风险已消除 = true and (住房安全有保障 = false or 饮水安全有保障 = false or 义务教育有保障 "
	  "= false)", 0 },
	{ "RK08", "risk", "中", HH, R, "有就业或公益岗位帮扶但工资性收入为0",
	  "核实就业帮扶是否落实、工资性收入是否漏记",
	  "就业帮扶措施数 + 在岗公益岗位数 > 0 and 工资性收入 = 0", 0 },
	{ "RK09", "risk", "中", HH, R, "享受低保、特困供养或残疾人补贴措施但转移性收入为0",
	  "核实补助是否发放、转移性收入是否漏记",
	  "(享受低保措施 = true or 享受特困供养措施 = true or 享受残疾人补贴措施 = true) and "
	  "转移性收入 = 0", 0 },
	{ "RK10", "risk", "低", HH, R, "有产业帮扶但生产经营性收入为0",
	  "核实产业帮扶是否落实、经营收入是否漏记",
	  "产业帮扶措施数 > 0 and 生产经营性收入 = 0", 0 },
	{ "RK11", "risk", "中", HH, R, "有劳动能力的监测户仅落实综合保障措施",
	  "有劳动能力的应落实开发式帮扶（产业、就业、金融、公益岗位）",
	  "监测对象 = true and any(member, 劳动技能 in ('普通劳动力', '技能劳动力')) and 帮扶措施数 > "
	  "0 and 帮扶措施数 = 综合保障措施数", 0 },
	{ "RK12", "risk", "中", HH, R, "识别监测不满6个月即标注帮扶消除",
	  "风险消除原则上须识别满半年，核实消除时间",
	  "风险已消除 = true and 风险消除方式 = '帮扶消除' and months_since(识别监测时间) - "
	  "months_since(消除监测时间) < 6", 0 },
	/* 数值范围 (耕地、林地、住房面积、与主干路距离 are not in the registry
	 * yet: their range checks wait for those fields) */
	{ "RG01", "range", "低", HH, R, "2023年以来识别的监测对象人均纯收入超过2万元",
	  "核实收入是否录入有误", "监测对象 = true and 识别监测时间 >= '2023-01-01' and 人均纯收入 > "
				 "20000", 0 },
	{ "RG02", "range", "低", HH, R, "工资性收入大于0但不足100元", "核实工资性收入（可能单位有误）",
	  "工资性收入 > 0 and 工资性收入 < 100", 0 },
	{ "RG03", "range", "中", MB, R, "年龄超过110周岁", "核对身份证号；已故人员应办理减员",
	  "age() > 110", 0 },
	{ "RG04", "range", "低", HH, R, "收入台账的家庭人口数与登记成员数不符",
	  "成员变动后重新保存收入台账",
	  "家庭人口数 is not null and 家庭人口数 != count(member, true)", 0 },
	/* 未纳入监测的风险 */
	{ "UN01", "unenrolled", "高", HH, R, "住房不安全但未纳入监测", "入户核实，符合条件的纳入监测",
	  "住房安全有保障 = false and 监测对象 = false", 0 },
	{ "UN02", "unenrolled", "高", HH, R, "饮水不安全但未纳入监测", "入户核实，符合条件的纳入监测",
	  "饮水安全有保障 = false and 监测对象 = false", 0 },
	{ "UN03", "unenrolled", "中", HH, R, "有成员未参加基本医疗保险但未纳入监测",
	  "核实参保情况和家庭困难情况",
	  "监测对象 = false and any(member, 城乡居民基本医疗保险 = false and 职工基本医疗保险 = "
	  "false)", 0 },
	{ "UN04", "unenrolled", "高", HH, R, "人均纯收入低于监测线但未纳入监测",
	  "入户核实收入，符合条件的纳入监测", "人均纯收入 < 监测线 and 监测对象 = false", 0 },
};

#undef HH
#undef MB
#undef R
#undef B

/* Install the shipped checks whose version 1 is missing. */
static int install_shipped(struct db *db)
{
	struct db_stmt *st;
	char **have = NULL, now[20];
	int n = 0, alloc = 0, rc = 0, missing = 0;

	st = db_prepare(db, "SELECT id FROM check_def WHERE version = 1");
	while (db_step(st) == DB_ROW) {
		ALLOC_GROW(have, n + 1, alloc);
		have[n++] = xstrdup(db_col_text(st, 0));
	}
	db_done(st);
	for (size_t i = 0; i < ARRAY_SIZE(shipped); i++) {
		int found = 0;
		for (int k = 0; k < n && !found; k++)
			found = !strcmp(have[k], shipped[i].id);
		missing += !found;
	}
	if (!missing)
		goto out;
	now_utc_text(now);
	if (db_begin(db)) {
		rc = error("cannot begin: %s", db_errmsg(db));
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(shipped); i++) {
		const struct shipped_check *c = &shipped[i];
		st = db_prepare(db, "INSERT INTO check_def(id, version, grp, severity, scope, kind, "
				    "title, advice, expression, enabled, created_at, created_by) "
				    "VALUES(:id, 1, :g, :sev, :sc, :k, :t, :a, :e, :en, :now, 'system') "
				    "ON CONFLICT(id, version) DO NOTHING");
		db_bind_text(st, ":id", c->id);
		db_bind_text(st, ":g", c->grp);
		db_bind_text(st, ":sev", c->severity);
		db_bind_int(st, ":sc", c->scope);
		db_bind_text(st, ":k", c->kind == CHECK_RULE ? "rule" : "builtin");
		db_bind_text(st, ":t", c->title);
		db_bind_text(st, ":a", c->advice);
		db_bind_text(st, ":e", c->expr);
		db_bind_int(st, ":en", !c->off);
		db_bind_text(st, ":now", now);
		if (db_run(st) < 0) {
			db_done(st);
			db_rollback(db);
			rc = error("cannot install check %s: %s", c->id, db_errmsg(db));
			goto out;
		}
		db_done(st);
	}
	if (db_commit(db))
		rc = error("cannot commit: %s", db_errmsg(db));
out:
	for (int k = 0; k < n; k++)
		free(have[k]);
	free(have);
	return rc;
}

int screen_check_migrate(struct db *db)
{
	if (db_migrate(db, "screen.check", check_migrations, ARRAY_SIZE(check_migrations)))
		return -1;
	return install_shipped(db);
}

/* ---- loading the checks ------------------------------------------------------------ */

/* The current version of every check, ordered by id, into *out; returns
 * how many, or -1. */
static int load_defs(struct db *db, struct check_def **out)
{
	struct db_stmt *st = db_prepare(db, "SELECT d.id, d.version, d.grp, d.severity, d.scope, "
					    "d.kind, d.title, d.expression, d.enabled FROM check_def d "
					    "WHERE d.version = (SELECT max(version) FROM check_def x "
					    "WHERE x.id = d.id) ORDER BY d.id");
	int n = 0, alloc = 0, rc;
	*out = NULL;
	while ((rc = db_step(st)) == DB_ROW) {
		struct check_def *d;
		ALLOC_GROW(*out, n + 1, alloc);
		d = &(*out)[n++];
		memset(d, 0, sizeof(*d));
		snprintf(d->id, sizeof(d->id), "%s", db_col_text(st, 0));
		d->version = (int)db_col_int(st, 1);
		snprintf(d->grp, sizeof(d->grp), "%s", db_col_text(st, 2));
		snprintf(d->severity, sizeof(d->severity), "%s", db_col_text(st, 3));
		d->scope = (int)db_col_int(st, 4);
		d->kind = !strcmp(db_col_text(st, 5), "builtin") ? CHECK_BUILTIN : CHECK_RULE;
		snprintf(d->title, sizeof(d->title), "%s", db_col_text(st, 6));
		d->expr = xstrdup(db_col_text(st, 7));
		d->enabled = (int)db_col_int(st, 8);
		d->builtin = -1;
	}
	db_done(st);
	if (rc < 0) {
		error("cannot read the checks: %s", db_errmsg(db));
		return -1;
	}
	return n;
}

static void free_defs(struct check_def *d, int n)
{
	for (int i = 0; i < n; i++) {
		free(d[i].expr);
		rule_free(d[i].rule);
	}
	free(d);
}

void screen_check_list(struct db *db, struct buf *out)
{
	struct check_def *d;
	int n = load_defs(db, &d);
	for (int i = 0; i < n; i++) {
		const char *g = check_group_title(d[i].grp);
		buf_addf(out, "%-5s v%-2d %-8s %s%s %s\n      %s：%s\n", d[i].id, d[i].version,
			 g ? g : d[i].grp, d[i].severity, d[i].enabled ? "" : "（停用）", d[i].title,
			 d[i].kind == CHECK_RULE ? "表达式" : "内置检查", d[i].expr);
	}
	if (n > 0)
		free_defs(d, n);
}

/* ---- hits ------------------------------------------------------------------------ */

void check_hits_add(struct check_hits *h, int check, int64_t hh, int64_t member, const char *why)
{
	ALLOC_GROW(h->v, h->n + 1, h->alloc);
	h->v[h->n].check = check;
	h->v[h->n].hh = hh;
	h->v[h->n].member = member;
	h->v[h->n].why = xstrdup(why);
	h->n++;
}

void check_hits_release(struct check_hits *h)
{
	for (long i = 0; i < h->n; i++)
		free(h->v[i].why);
	free(h->v);
	memset(h, 0, sizeof(*h));
}

/* ---- storing findings -------------------------------------------------------------- */

/* An open finding as stored, or a new one found by this run. */
struct finding {
	int check;	/* index into defs */
	int64_t hh, member;
	int64_t id;	/* check_finding.id; 0 for a new finding */
	int version;
	char *why;	/* stored explanation (owned), or the hit's (borrowed) when new */
	int seen;
};

/* Open addressing over indexes into an array of findings. */
struct finding_map {
	struct finding *v;
	long n, alloc;
	long *slots; /* -1 empty */
	long nr_slots;
};

static uint64_t finding_hash(int check, int64_t hh, int64_t member)
{
	uint64_t h = (uint64_t)hh * 0x9E3779B97F4A7C15ull ^ (uint64_t)member * 0xC2B2AE3D27D4EB4Full ^
		     (uint64_t)check * 0x165667B19E3779F9ull;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	return h ^ (h >> 32);
}

static void map_rehash(struct finding_map *m)
{
	long want = 64;
	while (want < (m->n + 1) * 2)
		want *= 2;
	if (want <= m->nr_slots)
		return;
	free(m->slots);
	m->slots = xmalloc(want * sizeof(*m->slots));
	for (long i = 0; i < want; i++)
		m->slots[i] = -1;
	m->nr_slots = want;
	for (long i = 0; i < m->n; i++) {
		const struct finding *f = &m->v[i];
		long s = (long)(finding_hash(f->check, f->hh, f->member) & (uint64_t)(want - 1));
		while (m->slots[s] >= 0)
			s = (s + 1) & (want - 1);
		m->slots[s] = i;
	}
}

/* The finding for the key, or NULL. */
static struct finding *map_find(struct finding_map *m, int check, int64_t hh, int64_t member)
{
	long s;
	if (!m->nr_slots)
		return NULL;
	s = (long)(finding_hash(check, hh, member) & (uint64_t)(m->nr_slots - 1));
	for (; m->slots[s] >= 0; s = (s + 1) & (m->nr_slots - 1)) {
		struct finding *f = &m->v[m->slots[s]];
		if (f->check == check && f->hh == hh && f->member == member)
			return f;
	}
	return NULL;
}

static struct finding *map_add(struct finding_map *m, const struct finding *f)
{
	long s;
	ALLOC_GROW(m->v, m->n + 1, m->alloc);
	m->v[m->n] = *f;
	m->n++;
	if (m->n * 2 > m->nr_slots) {
		m->n--; /* rehash the others, then place the new one */
		map_rehash(m);
		m->n++;
	}
	s = (long)(finding_hash(f->check, f->hh, f->member) & (uint64_t)(m->nr_slots - 1));
	while (m->slots[s] >= 0)
		s = (s + 1) & (m->nr_slots - 1);
	m->slots[s] = m->n - 1;
	return &m->v[m->n - 1];
}

static int def_index(const struct check_def *defs, int n, const char *id)
{
	int lo = 0, hi = n - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2, c = strcmp(defs[mid].id, id);
		if (!c)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* The villages of the region's households, by household id (sorted). */
struct hh_village {
	int64_t id;
	char village[13];
};

static int hh_village_cmp(const void *a, const void *b)
{
	const struct hh_village *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static long load_villages(struct db *db, const char *under, struct hh_village **out)
{
	struct db_stmt *st = db_prepare(db, "SELECT id, village_code FROM household WHERE "
					    "village_code >= :lo AND village_code < :hi ORDER BY id");
	struct hh_village *v = NULL;
	long n = 0, alloc = 0;
	int step;
	db_bind_prefix(st, ":lo", ":hi", under);
	while ((step = db_step(st)) == DB_ROW) {
		ALLOC_GROW(v, n + 1, alloc);
		v[n].id = db_col_int(st, 0);
		snprintf(v[n].village, sizeof(v[n].village), "%s", db_col_text(st, 1));
		n++;
	}
	db_done(st);
	*out = v;
	return step < 0 ? -1 : n;
}

static const char *village_of(const struct hh_village *v, long n, int64_t hh)
{
	struct hh_village key = { .id = hh };
	const struct hh_village *f = n ? bsearch(&key, v, n, sizeof(*v), hh_village_cmp) : NULL;
	return f ? f->village : ""; /* "": the trigger looks it up */
}

/* Per check of this run: findings opened and closed. */
struct def_counts {
	long opened, closed;
};

/* Store the hits of a run in the caller's transaction: see the file
 * comment.  Open findings of the checks the run covers (defs[i].covered)
 * that it did not find again are closed. */
static int store_findings(struct db *db, int64_t run, const char *under, const char *group,
			  int year, struct check_def *defs, int n, const struct check_hits *hits,
			  struct def_counts *counts, struct check_report *rep)
{
	struct finding_map map = { 0 };
	struct hh_village *villages = NULL;
	struct db_stmt *st;
	struct db_copy *cp;
	char now[20];
	int rc = 0, step;
	long nv = 0;

	now_utc_text(now);
	/* the open findings of the region */
	st = db_prepare(db, "SELECT f.id, f.check_id, f.household_id, f.member_key, "
			    "f.check_version, f.explain FROM check_finding f JOIN household h ON "
			    "h.id = f.household_id WHERE f.state = 'open' AND h.village_code >= :lo "
			    "AND h.village_code < :hi");
	db_bind_prefix(st, ":lo", ":hi", under);
	while ((step = db_step(st)) == DB_ROW) {
		struct finding f = { 0 };
		f.check = def_index(defs, n, db_col_text(st, 1));
		if (f.check < 0 || !defs[f.check].covered)
			continue; /* a check outside this run's group, or one that failed */
		f.id = db_col_int(st, 0);
		f.hh = db_col_int(st, 2);
		f.member = db_col_int(st, 3);
		f.version = (int)db_col_int(st, 4);
		f.why = xstrdup(db_col_text(st, 5));
		map_add(&map, &f);
	}
	db_done(st);
	if (step < 0) {
		rc = error("cannot read the findings: %s", db_errmsg(db));
		goto out;
	}
	/* found again: refresh what changed; new: remember for the insert */
	for (long i = 0; i < hits->n; i++) {
		const struct check_hit *h = &hits->v[i];
		struct finding *f = map_find(&map, h->check, h->hh, h->member);
		if (f) {
			if (f->seen || !f->id)
				continue; /* the same key twice in one run */
			f->seen = 1;
			if (f->version == defs[h->check].version && !strcmp(f->why, h->why))
				continue;
			st = db_prepare(db, "UPDATE check_finding SET check_version = :v, explain = :x, "
					    "year = :y WHERE id = :id");
			db_bind_int(st, ":v", defs[h->check].version);
			db_bind_text(st, ":x", h->why);
			db_bind_int(st, ":y", year);
			db_bind_int(st, ":id", f->id);
			step = db_run(st);
			db_done(st);
			if (step < 0) {
				rc = error("cannot update finding %lld: %s", (long long)f->id,
					   db_errmsg(db));
				goto out;
			}
		} else {
			struct finding nf = { h->check, h->hh, h->member, 0, 0, NULL, 1 };
			map_add(&map, &nf);
		}
	}
	/* gone: close */
	for (long i = 0; i < map.n; i++) {
		struct finding *f = &map.v[i];
		if (!f->id || f->seen)
			continue;
		st = db_prepare(db, "UPDATE check_finding SET state = 'closed', closed_at = :now, "
				    "last_run = :run WHERE id = :id");
		db_bind_text(st, ":now", now);
		db_bind_int(st, ":run", run);
		db_bind_int(st, ":id", f->id);
		step = db_run(st);
		db_done(st);
		if (step < 0) {
			rc = error("cannot close finding %lld: %s", (long long)f->id, db_errmsg(db));
			goto out;
		}
		counts[f->check].closed++;
		rep->closed++;
	}
	/* still there: last seen now (one statement for all of them) */
	if (*under)
		st = db_prepare(db, "UPDATE check_finding SET last_seen = :now, last_run = :run WHERE "
				    "state = 'open' AND household_id IN (SELECT id FROM household "
				    "WHERE village_code >= :lo AND village_code < :hi) AND (:g = '' OR "
				    "check_id IN (SELECT id FROM check_def WHERE grp = :g))");
	else
		st = db_prepare(db, "UPDATE check_finding SET last_seen = :now, last_run = :run WHERE "
				    "state = 'open' AND (:g = '' OR check_id IN (SELECT id FROM "
				    "check_def WHERE grp = :g))");
	db_bind_text(st, ":now", now);
	db_bind_int(st, ":run", run);
	if (*under)
		db_bind_prefix(st, ":lo", ":hi", under);
	db_bind_text(st, ":g", group ? group : "");
	step = db_run(st);
	db_done(st);
	if (step < 0) {
		rc = error("cannot update the findings: %s", db_errmsg(db));
		goto out;
	}
	/* new: one bulk load, each with its household's village */
	nv = load_villages(db, under, &villages);
	if (nv < 0) {
		rc = error("cannot read the villages: %s", db_errmsg(db));
		goto out;
	}
	cp = db_copy_begin(db, "check_finding", "check_id, check_version, household_id, member_id, "
						"member_key, year, explain, state, first_seen, "
						"last_seen, first_run, last_run, village_code");
	step = 0;
	for (long i = 0; i < hits->n && step >= 0; i++) {
		const struct check_hit *h = &hits->v[i];
		struct finding *f = map_find(&map, h->check, h->hh, h->member);
		if (!f || f->id || f->why)
			continue;
		f->why = (char *)h->why; /* borrowed: marks it written */
		db_copy_text(cp, defs[h->check].id);
		db_copy_int(cp, defs[h->check].version);
		db_copy_int(cp, h->hh);
		db_copy_int_or_null(cp, h->member ? h->member : -1);
		db_copy_int(cp, h->member);
		db_copy_int(cp, year);
		db_copy_text(cp, h->why);
		db_copy_text(cp, "open");
		db_copy_text(cp, now);
		db_copy_text(cp, now);
		db_copy_int(cp, run);
		db_copy_int(cp, run);
		db_copy_text(cp, village_of(villages, nv, h->hh));
		step = db_copy_row(cp);
		counts[h->check].opened++;
		rep->opened++;
	}
	if (db_copy_end(cp, step < 0) < 0 || step < 0) {
		rc = error("cannot store the new findings: %s", db_errmsg(db));
		goto out;
	}
out:
	for (long i = 0; i < map.n; i++)
		if (map.v[i].id)
			free(map.v[i].why);
	free(map.v);
	free(map.slots);
	free(villages);
	return rc;
}

/* Worker threads: $LIUBAO_CHECK_THREADS, default 2 (the machine's cores). */
static int check_threads(void)
{
	const char *e = getenv("LIUBAO_CHECK_THREADS");
	int n = e ? atoi(e) : 2;
	return n < 1 ? 1 : n > 16 ? 16 : n;
}

int screen_check_run(struct db *db, const char *under, int year, const char *group, const char *by,
		     struct check_report *rep, int flags)
{
	struct check_def *defs = NULL;
	struct check_hits hits = { 0 };
	struct def_counts *counts = NULL;
	struct buf err = BUF_INIT;
	struct db_stmt *st;
	char today[11], now[20];
	double t0 = mono_seconds();
	int n, rc = 0;
	int64_t run = 0;

	memset(rep, 0, sizeof(*rep));
	buf_init(&rep->text, 0);
	if (!group)
		group = "";
	/* inside a caller's transaction (the fuzz harness) the run becomes part
	 * of it, read through the caller's connection by one thread */
	n = load_defs(db, &defs);
	if (n < 0)
		return -1;
	counts = xcalloc(n + 1, sizeof(*counts));
	for (int i = 0; i < n; i++) {
		struct check_def *d = &defs[i];
		struct rule_error rerr;
		if (*group && strcmp(d->grp, group))
			continue;
		d->covered = 1; /* its open findings not found again get closed */
		if (!d->enabled)
			continue;
		if (d->kind == CHECK_BUILTIN) {
			d->builtin = check_builtin_find(d->expr);
			if (d->builtin < 0) {
				buf_addf(&rep->text, "%s v%d %s：没有名为“%s”的内置检查，已跳过\n", d->id,
					 d->version, d->title, d->expr);
				rep->failed++;
				d->covered = 0;
				continue;
			}
		} else {
			d->rule = rule_compile(check_catalog(), d->scope, d->expr, &rerr);
			if (!d->rule) {
				buf_addf(&rep->text, "%s v%d %s：表达式无法编译，已跳过：%s\n", d->id,
					 d->version, d->title, rerr.msg);
				rep->failed++;
				d->covered = 0;
				continue;
			}
		}
		d->run = 1;
		rep->checks++;
	}
	monitor_today_text(today);
	if (flags & CHECK_PROGRESS)
		fprintf(stderr, "数据质量检查：%d 项检查……\n", rep->checks);
	if (check_evaluate(db, defs, n, under, year, today, check_threads(), &hits, &err)) {
		rc = error("数据质量检查失败：%s", err.buf);
		goto out;
	}
	for (long i = 0; i < hits.n; i++)
		defs[hits.v[i].check].hits++;
	rep->hits = hits.n;
	if (!(flags & CHECK_DRY_RUN)) {
		if (flags & CHECK_PROGRESS)
			fprintf(stderr, "数据质量检查：发现 %ld 条，保存……\n", hits.n);
		if (db_begin(db)) {
			rc = error("无法开始保存检查结果：%s", db_errmsg(db));
			goto out;
		}
		now_utc_text(now);
		st = db_prepare(db, "INSERT INTO check_run(started_at, region, grp, year, by_login) "
				    "VALUES(:now, :r, :g, :y, :by)");
		db_bind_text(st, ":now", now);
		db_bind_text(st, ":r", under);
		db_bind_text(st, ":g", group);
		db_bind_int(st, ":y", year);
		db_bind_text(st, ":by", by ? by : "");
		run = db_run_insert(st);
		db_done(st);
		if (run <= 0 ||
		    store_findings(db, run, under, group, year, defs, n, &hits, counts, rep)) {
			db_rollback(db);
			rc = error("无法保存检查结果：%s", db_errmsg(db));
			goto out;
		}
		rep->seconds = mono_seconds() - t0;
		now_utc_text(now);
		st = db_prepare(db, "UPDATE check_run SET finished_at = :now, checks = :c, hits = :h, "
				    "opened = :o, closed = :x, millis = :ms WHERE id = :id");
		db_bind_text(st, ":now", now);
		db_bind_int(st, ":c", rep->checks);
		db_bind_int(st, ":h", rep->hits);
		db_bind_int(st, ":o", rep->opened);
		db_bind_int(st, ":x", rep->closed);
		db_bind_int(st, ":ms", (int64_t)(rep->seconds * 1000));
		db_bind_int(st, ":id", run);
		if (db_run(st) < 0) {
			db_done(st);
			db_rollback(db);
			rc = error("无法保存检查结果：%s", db_errmsg(db));
			goto out;
		}
		db_done(st);
		if (db_commit(db)) {
			rc = error("无法保存检查结果：%s", db_errmsg(db));
			goto out;
		}
		rep->run_id = run;
	}
	rep->seconds = mono_seconds() - t0;
	for (int i = 0; i < n; i++) {
		const struct check_def *d = &defs[i];
		const char *g = check_group_title(d->grp);
		if (!d->run && !counts[i].closed)
			continue;
		buf_addf(&rep->text, "%-5s v%-2d %-8s %s %6ld 条", d->id, d->version, g ? g : d->grp,
			 d->severity, d->hits);
		if (!(flags & CHECK_DRY_RUN))
			buf_addf(&rep->text, "（新增 %ld，关闭 %ld）", counts[i].opened,
				 counts[i].closed);
		if (d->millis > 0)
			buf_addf(&rep->text, " %6.0f ms", d->millis);
		buf_addf(&rep->text, "  %s%s\n", d->title, d->run ? "" : "（停用）");
	}
out:
	check_hits_release(&hits);
	free(counts);
	free_defs(defs, n);
	buf_release(&err);
	return rc;
}
