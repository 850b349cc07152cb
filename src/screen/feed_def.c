/* feed_def.c — department feed definitions (部门数据), their rules and
 * thresholds: the tables, the shipped feeds (医保·住院自付, 民政·低保特困,
 * 教育·高中中职自付, 住建·危房鉴定, 残联·残疾证, 应急·受灾, 公安·死亡注销)
 * written as the same JSON a county uses to add its own, parsing and
 * validating a definition, and loading one into memory with its rules
 * compiled against the feed's own field catalogue.
 *
 * A feed is data, not code: a county adds one with `liubao feed define
 * FILE.json` or POST /api/v1/feeds; editing a definition or a rule creates
 * a new version, and hits keep the version that fired. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "monitor/monitor.h"
#include "registry/codes.h"
#include "screen/feed_int.h"

/* ---- tables ------------------------------------------------------------------------ */

static const struct db_migration feed_migrations[] = {
	{ 1, "department feeds: definitions, rules, thresholds, batches, issues, totals, hits",
	  "CREATE TABLE feed_def(\n"
	  "  id TEXT NOT NULL,            -- stable id, e.g. yibao_inpatient\n"
	  "  version INTEGER NOT NULL,    -- 1, 2…; editing creates a new version\n"
	  "  title TEXT NOT NULL,         -- Chinese, e.g. 医保·住院自付\n"
	  "  department TEXT NOT NULL,    -- the sending department, e.g. 医保局\n"
	  "  definition TEXT NOT NULL,    -- the whole definition as JSON\n"
	  "  enabled INTEGER NOT NULL DEFAULT 1,\n"
	  "  created_at TEXT NOT NULL, created_by TEXT NOT NULL DEFAULT '',\n"
	  "  PRIMARY KEY(id, version)\n"
	  ");\n"
	  "CREATE TABLE feed_rule(\n"
	  "  feed_id TEXT NOT NULL,\n"
	  "  id TEXT NOT NULL,            -- e.g. YB01\n"
	  "  version INTEGER NOT NULL,\n"
	  "  title TEXT NOT NULL,         -- Chinese\n"
	  "  severity TEXT NOT NULL,      -- 高 | 中 | 低\n"
	  "  risk_types TEXT NOT NULL DEFAULT '', -- suggested code_risk_type codes, comma-separated\n"
	  "  expression TEXT NOT NULL,    -- the rule language over the feed's fields\n"
	  "  enabled INTEGER NOT NULL DEFAULT 1,\n"
	  "  created_at TEXT NOT NULL, created_by TEXT NOT NULL DEFAULT '',\n"
	  "  PRIMARY KEY(feed_id, id, version)\n"
	  ");\n"
	  "CREATE TABLE feed_param(\n"
	  "  feed_id TEXT NOT NULL,\n"
	  "  name TEXT NOT NULL,          -- written $name in rules\n"
	  "  year INTEGER NOT NULL,       -- first year it applies to; 0 = every year\n"
	  "  region TEXT NOT NULL,        -- region code prefix, '' = everywhere\n"
	  "  value DOUBLE PRECISION NOT NULL,\n"
	  "  basis TEXT NOT NULL DEFAULT '', -- 依据 (document, note)\n"
	  "  updated_at TEXT NOT NULL, updated_by TEXT NOT NULL DEFAULT '',\n"
	  "  PRIMARY KEY(feed_id, name, year, region)\n"
	  ");\n"
	  "CREATE TABLE feed_batch(\n"
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	  "  feed_id TEXT NOT NULL, feed_version INTEGER NOT NULL,\n"
	  "  period TEXT NOT NULL,        -- YYYY-MM the data covers\n"
	  "  year INTEGER NOT NULL,       -- the period's year (totals accumulate within it)\n"
	  "  file_name TEXT NOT NULL DEFAULT '',\n"
	  "  file_hash TEXT NOT NULL,     -- BLAKE2b-256 of the bytes: the same file twice is refused\n"
	  "  encoding TEXT NOT NULL DEFAULT '',\n"
	  "  scope TEXT NOT NULL DEFAULT '', -- region prefix of the loader\n"
	  "  loaded_at TEXT NOT NULL, user_id INTEGER, login TEXT NOT NULL DEFAULT '',\n"
	  "  rows INTEGER NOT NULL, bad_rows INTEGER NOT NULL, matched_rows INTEGER NOT NULL,\n"
	  "  unmatched_rows INTEGER NOT NULL, mismatch_rows INTEGER NOT NULL,\n"
	  "  outside_rows INTEGER NOT NULL, persons INTEGER NOT NULL,\n"
	  "  hits INTEGER NOT NULL, alerts INTEGER NOT NULL, millis INTEGER NOT NULL\n"
	  ");\n"
	  "CREATE UNIQUE INDEX feed_batch_file ON feed_batch(feed_id, file_hash);\n"
	  "CREATE INDEX feed_batch_feed ON feed_batch(feed_id, id);\n"
	  "CREATE TABLE feed_issue(\n"
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	  "  batch_id INTEGER NOT NULL REFERENCES feed_batch(id) ON DELETE CASCADE,\n"
	  "  kind INTEGER NOT NULL,       -- 1 bad row (skipped), 2 matches nobody, 3 name differs,\n"
	  "                               -- 4 person outside the loader's region\n"
	  "  line INTEGER NOT NULL,       -- first line of the file it was seen on\n"
	  "  nr_rows INTEGER NOT NULL,    -- rows of the file with the same person and kind\n"
	  "  id_number TEXT NOT NULL DEFAULT '', -- masked\n"
	  "  name TEXT NOT NULL DEFAULT '',      -- as the feed wrote it\n"
	  "  household_id INTEGER,        -- kind 3: the registry household\n"
	  "  message TEXT NOT NULL        -- Chinese\n"
	  ");\n"
	  "CREATE INDEX feed_issue_batch ON feed_issue(batch_id, kind, id);\n"
	  "CREATE TABLE feed_total(\n"
	  "  batch_id INTEGER NOT NULL REFERENCES feed_batch(id) ON DELETE CASCADE,\n"
	  "  member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,\n"
	  "  household_id INTEGER NOT NULL,\n"
	  "  rows INTEGER NOT NULL,       -- the batch's rows for the person\n"
	  "  vals TEXT NOT NULL,          -- JSON: per column sum/max, latest date, last text\n"
	  "  PRIMARY KEY(batch_id, member_id)\n"
	  ");\n"
	  "CREATE INDEX feed_total_member ON feed_total(member_id);\n"
	  "CREATE TABLE feed_hit(\n"
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	  "  feed_id TEXT NOT NULL, rule_id TEXT NOT NULL, rule_version INTEGER NOT NULL,\n"
	  "  batch_id INTEGER NOT NULL REFERENCES feed_batch(id) ON DELETE CASCADE,\n"
	  "  year INTEGER NOT NULL,\n"
	  "  member_id INTEGER NOT NULL REFERENCES member(id) ON DELETE CASCADE,\n"
	  "  household_id INTEGER NOT NULL REFERENCES household(id) ON DELETE CASCADE,\n"
	  "  alert_id INTEGER,            -- the monitoring alert it was attached to\n"
	  "  explain TEXT NOT NULL,       -- Chinese: the values that made it fire\n"
	  "  state TEXT NOT NULL,         -- 待核实 | 已核实-纳入 | 已核实-无风险 | 不属实\n"
	  "  due_on TEXT NOT NULL,        -- YYYY-MM-DD: verification due (working days)\n"
	  "  feedback TEXT NOT NULL DEFAULT '', feedback_by TEXT NOT NULL DEFAULT '',\n"
	  "  feedback_at TEXT NOT NULL DEFAULT '',\n"
	  "  created_at TEXT NOT NULL\n"
	  ");\n"
	  "CREATE UNIQUE INDEX feed_hit_once ON feed_hit(feed_id, rule_id, year, member_id);\n"
	  "CREATE INDEX feed_hit_household ON feed_hit(household_id, id);\n"
	  "CREATE INDEX feed_hit_state ON feed_hit(state, due_on);\n",
	  NULL },
	{ 2, "department feeds: per-person totals packed, a few thousand people a row",
	  /* A batch's per-person totals are only read back by a later batch
	   * of the same feed and year, person after person in member order:
	   * one text row per part of the batch (its people in member order)
	   * instead of a row and two index entries per person.  feed_total
	   * keeps what loads before this wrote and is still read. */
	  "CREATE TABLE feed_total_pack(\n"
	  "  batch_id INTEGER NOT NULL REFERENCES feed_batch(id) ON DELETE CASCADE,\n"
	  "  part INTEGER NOT NULL,       -- 0, 1, …: the batch's people in member order\n"
	  "  first_member INTEGER NOT NULL, last_member INTEGER NOT NULL,\n"
	  "  persons INTEGER NOT NULL,\n"
	  "  data TEXT NOT NULL,          -- a header line of keys (member, household, rows, then\n"
	  "                               -- each column's sum and max, or latest date, or\n"
	  "                               -- last text), then a line a person: tab-separated,\n"
	  "                               -- empty where none; \\\\, \\t, \\n, \\r escaped\n"
	  "  PRIMARY KEY(batch_id, part)\n"
	  ");\n",
	  NULL },
};

/* ---- the shipped feeds ---------------------------------------------------------------
 * Thresholds from brief §2.1: 医保 [S26][S27][S28], 教育 [S26]; rural income
 * of 陕西 (上年农村居民人均可支配收入) is an assumed demo figure, marked so. */

static const char *const shipped_feeds[] = {
	"{\"id\":\"yibao_inpatient\",\"title\":\"医保·住院自付\",\"department\":\"医保局\","
	"\"cadence\":\"每月5日前推送上月结算（当年累计）\",\"accumulate\":\"year\",\"verify_days\":10,"
	"\"columns\":["
	"{\"name\":\"id_number\",\"title\":\"身份证号\",\"type\":\"id\",\"aliases\":[\"公民身份号码\",\"证件号码\",\"身份证号码\"]},"
	"{\"name\":\"name\",\"title\":\"姓名\",\"type\":\"name\",\"aliases\":[\"患者姓名\",\"参保人姓名\"]},"
	"{\"name\":\"admit_date\",\"title\":\"入院日期\",\"type\":\"date\"},"
	"{\"name\":\"discharge_date\",\"title\":\"出院日期\",\"type\":\"date\",\"aliases\":[\"结算日期\"]},"
	"{\"name\":\"hospital\",\"title\":\"医疗机构\",\"type\":\"text\",\"aliases\":[\"医院名称\",\"定点医疗机构\"]},"
	"{\"name\":\"total_cost\",\"title\":\"总费用\",\"type\":\"num\",\"aliases\":[\"医疗总费用\"]},"
	"{\"name\":\"self_pay\",\"title\":\"个人自付\",\"type\":\"num\",\"required\":true,"
	"\"aliases\":[\"个人自付金额\",\"自付金额\",\"个人负担\"]}],"
	"\"params\":["
	"{\"name\":\"tuopin_cum\",\"title\":\"脱贫人口住院自付累计线\",\"value\":5000,\"basis\":\"[S26] 脱贫人口住院自付累计≥5000元\"},"
	"{\"name\":\"other_cum\",\"title\":\"其他农村人口住院自付累计线\",\"value\":20000,\"basis\":\"[S26] 非建档立卡农户≥20000元\"},"
	"{\"name\":\"stay_monitored\",\"title\":\"监测对象单次住院自付线\",\"value\":6000,\"basis\":\"[S27] 监测对象单次住院自付>6000元\"},"
	"{\"name\":\"stay_other\",\"title\":\"其他农村居民单次住院自付线\",\"value\":10000,\"basis\":\"[S27] 其他农村居民>10000元\"},"
	"{\"name\":\"rural_income\",\"title\":\"全省上年农村居民人均可支配收入\",\"value\":16992,"
	"\"basis\":\"假定值（陕西2023年数据，请按当年统计公报修改）\"},"
	"{\"name\":\"tuopin_ratio\",\"title\":\"脱贫人口自付占比线\",\"value\":0.5,\"basis\":\"[S28] 50%\"},"
	"{\"name\":\"other_ratio\",\"title\":\"其他农村人口自付占比线\",\"value\":1,\"basis\":\"[S28] 100%\"}],"
	"\"rules\":["
	"{\"id\":\"YB01\",\"title\":\"脱贫人口住院自付累计达到监测线\",\"severity\":\"高\",\"risk_types\":[\"因病\"],"
	"\"expression\":\"脱贫人口 and 个人自付 >= $tuopin_cum\"},"
	"{\"id\":\"YB02\",\"title\":\"其他农村人口住院自付累计达到监测线\",\"severity\":\"高\",\"risk_types\":[\"因病\"],"
	"\"expression\":\"not 脱贫人口 and 个人自付 >= $other_cum\"},"
	"{\"id\":\"YB03\",\"title\":\"单次住院自付超过救助线\",\"severity\":\"中\",\"risk_types\":[\"因病\"],"
	"\"expression\":\"(监测对象 and 单笔最高个人自付 > $stay_monitored) or (not 监测对象 and 单笔最高个人自付 > $stay_other)\"},"
	"{\"id\":\"YB04\",\"title\":\"年度自付超过上年农村居民人均可支配收入比例\",\"severity\":\"高\",\"risk_types\":[\"因病\"],"
	"\"expression\":\"(脱贫人口 and 个人自付 > $rural_income * $tuopin_ratio) or (not 脱贫人口 and 个人自付 > $rural_income * $other_ratio)\"}]}",

	"{\"id\":\"minzheng_dibao\",\"title\":\"民政·低保特困名单\",\"department\":\"民政局\","
	"\"cadence\":\"每月\",\"accumulate\":\"none\",\"verify_days\":10,"
	"\"columns\":["
	"{\"name\":\"id_number\",\"title\":\"身份证号\",\"type\":\"id\",\"aliases\":[\"公民身份号码\",\"证件号码\"]},"
	"{\"name\":\"name\",\"title\":\"姓名\",\"type\":\"name\"},"
	"{\"name\":\"category\",\"title\":\"救助类别\",\"type\":\"text\",\"required\":true,\"aliases\":[\"保障类别\",\"类别\"]},"
	"{\"name\":\"start_date\",\"title\":\"保障起始日期\",\"type\":\"date\",\"aliases\":[\"起始日期\"]},"
	"{\"name\":\"amount\",\"title\":\"月保障金\",\"type\":\"num\",\"aliases\":[\"保障金额\"]}],"
	"\"params\":[],"
	"\"rules\":["
	"{\"id\":\"MZ01\",\"title\":\"一年内新纳入低保或特困供养，但未纳入监测、也不是脱贫户\",\"severity\":\"中\",\"risk_types\":[],"
	"\"expression\":\"救助类别 in ('低保','特困') and not 脱贫人口 and months_since(保障起始日期) < 12\"},"
	"{\"id\":\"MZ02\",\"title\":\"民政在保而户籍信息未标注低保或特困\",\"severity\":\"低\",\"risk_types\":[],"
	"\"expression\":\"(救助类别 = '低保' and not 享受低保) or (救助类别 = '特困' and not 特困供养)\"}]}",

	"{\"id\":\"jiaoyu_selfpay\",\"title\":\"教育·高中中职自付\",\"department\":\"教育局\","
	"\"cadence\":\"每学年（4月底前推送）\",\"accumulate\":\"year\",\"verify_days\":10,"
	"\"columns\":["
	"{\"name\":\"id_number\",\"title\":\"身份证号\",\"type\":\"id\",\"aliases\":[\"学生身份证号\",\"公民身份号码\"]},"
	"{\"name\":\"name\",\"title\":\"姓名\",\"type\":\"name\",\"aliases\":[\"学生姓名\"]},"
	"{\"name\":\"school\",\"title\":\"学校\",\"type\":\"text\",\"aliases\":[\"就读学校\"]},"
	"{\"name\":\"school_year\",\"title\":\"学年\",\"type\":\"text\"},"
	"{\"name\":\"self_pay\",\"title\":\"个人自付\",\"type\":\"num\",\"required\":true,"
	"\"aliases\":[\"自付金额\",\"家庭负担\"]}],"
	"\"params\":[{\"name\":\"edu_limit\",\"title\":\"高中中职学年自付线\",\"value\":10000,\"basis\":\"[S26] >1万元/学年\"}],"
	"\"rules\":["
	"{\"id\":\"JY01\",\"title\":\"高中中职学生学年自付超过1万元\",\"severity\":\"中\",\"risk_types\":[\"因学\"],"
	"\"expression\":\"个人自付 > $edu_limit\"}]}",

	"{\"id\":\"zhujian_weifang\",\"title\":\"住建·危房鉴定\",\"department\":\"住建局\","
	"\"cadence\":\"鉴定后\",\"accumulate\":\"none\",\"verify_days\":10,"
	"\"columns\":["
	"{\"name\":\"id_number\",\"title\":\"身份证号\",\"type\":\"id\",\"aliases\":[\"户主身份证号\",\"公民身份号码\"]},"
	"{\"name\":\"name\",\"title\":\"姓名\",\"type\":\"name\",\"aliases\":[\"户主姓名\"]},"
	"{\"name\":\"grade\",\"title\":\"危房等级\",\"type\":\"text\",\"required\":true,\"aliases\":[\"鉴定等级\"]},"
	"{\"name\":\"assessed_on\",\"title\":\"鉴定日期\",\"type\":\"date\"}],"
	"\"params\":[],"
	"\"rules\":["
	"{\"id\":\"ZJ01\",\"title\":\"住房鉴定为C级或D级危房\",\"severity\":\"高\",\"risk_types\":[\"因安全住房\"],"
	"\"expression\":\"危房等级 in ('C','D','C级','D级')\"}]}",

	"{\"id\":\"canlian_cert\",\"title\":\"残联·残疾证\",\"department\":\"残联\","
	"\"cadence\":\"每月\",\"accumulate\":\"none\",\"verify_days\":10,"
	"\"columns\":["
	"{\"name\":\"id_number\",\"title\":\"身份证号\",\"type\":\"id\",\"aliases\":[\"公民身份号码\"]},"
	"{\"name\":\"name\",\"title\":\"姓名\",\"type\":\"name\"},"
	"{\"name\":\"kind\",\"title\":\"残疾类别\",\"type\":\"text\"},"
	"{\"name\":\"grade\",\"title\":\"残疾等级\",\"type\":\"text\",\"required\":true},"
	"{\"name\":\"issued_on\",\"title\":\"发证日期\",\"type\":\"date\"}],"
	"\"params\":[],"
	"\"rules\":["
	"{\"id\":\"CL01\",\"title\":\"新办一、二级残疾证且未纳入监测\",\"severity\":\"中\",\"risk_types\":[\"因残\"],"
	"\"expression\":\"残疾等级 in ('一级','二级') and not 监测对象\"}]}",

	"{\"id\":\"yingji_disaster\",\"title\":\"应急·受灾\",\"department\":\"应急局\","
	"\"cadence\":\"灾后\",\"accumulate\":\"year\",\"verify_days\":5,"
	"\"columns\":["
	"{\"name\":\"id_number\",\"title\":\"身份证号\",\"type\":\"id\",\"aliases\":[\"户主身份证号\",\"公民身份号码\"]},"
	"{\"name\":\"name\",\"title\":\"姓名\",\"type\":\"name\",\"aliases\":[\"户主姓名\"]},"
	"{\"name\":\"disaster\",\"title\":\"灾害类型\",\"type\":\"text\",\"required\":true},"
	"{\"name\":\"hit_on\",\"title\":\"受灾日期\",\"type\":\"date\"},"
	"{\"name\":\"loss\",\"title\":\"直接经济损失\",\"type\":\"num\",\"aliases\":[\"损失金额\"]}],"
	"\"params\":[],"
	"\"rules\":["
	"{\"id\":\"YJ01\",\"title\":\"应急部门受灾记录\",\"severity\":\"高\",\"risk_types\":[\"因灾\"],"
	"\"expression\":\"记录数 >= 1\"}]}",

	"{\"id\":\"gongan_death\",\"title\":\"公安·死亡注销\",\"department\":\"公安局\","
	"\"cadence\":\"每月\",\"accumulate\":\"none\",\"verify_days\":10,"
	"\"columns\":["
	"{\"name\":\"id_number\",\"title\":\"身份证号\",\"type\":\"id\",\"aliases\":[\"公民身份号码\"]},"
	"{\"name\":\"name\",\"title\":\"姓名\",\"type\":\"name\"},"
	"{\"name\":\"died_on\",\"title\":\"死亡日期\",\"type\":\"date\",\"required\":true},"
	"{\"name\":\"cancelled_on\",\"title\":\"注销日期\",\"type\":\"date\"}],"
	"\"params\":[],"
	"\"rules\":["
	"{\"id\":\"GA01\",\"title\":\"已死亡注销人员仍在家庭成员名单中\",\"severity\":\"中\",\"risk_types\":[],"
	"\"expression\":\"记录数 >= 1\"}]}",
	NULL,
};

/* ---- parsing a definition ----------------------------------------------------------- */

static const char *const type_names[] = { "", "id", "name", "num", "date", "text" };

static int ident_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (!n || n >= max || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

static int copy_str(json_t *o, const char *key, char *dst, size_t n, int required,
		    struct buf *err, const char *what)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v)) {
		if (required) {
			buf_addf(err, "%s缺少“%s”", what, key);
			return -1;
		}
		dst[0] = '\0';
		return 0;
	}
	if (!json_is_string(v) || (required && !json_string_length(v))) {
		buf_addf(err, "%s的“%s”应为非空文本", what, key);
		return -1;
	}
	if (json_string_length(v) >= n) {
		buf_addf(err, "%s的“%s”过长（最多 %zu 字节）", what, key, n - 1);
		return -1;
	}
	snprintf(dst, n, "%s", json_string_value(v));
	return 0;
}

static int only_keys(json_t *o, const char *const *allowed, struct buf *err, const char *what)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		int ok = 0;
		for (const char *const *a = allowed; *a; a++)
			ok |= !strcmp(*a, k);
		if (!ok) {
			buf_addf(err, "%s含有未知字段“%s”", what, k);
			return -1;
		}
	}
	return 0;
}

void feed_def_release(struct feed_def *d)
{
	for (int i = 0; i < d->nr_rules; i++)
		rule_free(d->rules[i].compiled);
	free(d->rules);
	free(d->params);
	free(d->fields);
	free(d->field_of);
	free(d->param_values);
	memset(d, 0, sizeof(*d));
}

int feed_rule_from_json(json_t *o, struct feed_rule *r, struct buf *err)
{
	static const char *const keys[] = { "id", "title", "severity", "risk_types", "expression",
					    "enabled", "version", NULL };
	json_t *rt = json_object_get(o, "risk_types"), *en = json_object_get(o, "enabled");
	size_t i;
	json_t *e;
	if (!json_is_object(o)) {
		buf_addstr(err, "rules 的每一项应为对象");
		return -1;
	}
	if (only_keys(o, keys, err, "规则") ||
	    copy_str(o, "id", r->id, sizeof(r->id), 1, err, "规则") ||
	    copy_str(o, "title", r->title, sizeof(r->title), 1, err, "规则") ||
	    copy_str(o, "severity", r->severity, sizeof(r->severity), 0, err, "规则") ||
	    copy_str(o, "expression", r->expression, sizeof(r->expression), 1, err, "规则"))
		return -1;
	if (!ident_ok(r->id, sizeof(r->id))) {
		buf_addf(err, "规则编号“%s”无效（字母、数字、下划线）", r->id);
		return -1;
	}
	if (!r->severity[0])
		snprintf(r->severity, sizeof(r->severity), "中");
	if (strcmp(r->severity, "高") && strcmp(r->severity, "中") && strcmp(r->severity, "低")) {
		buf_addf(err, "规则 %s 的严重程度应为 高、中 或 低", r->id);
		return -1;
	}
	r->enabled = !en || json_is_true(en);
	if (en && !json_is_boolean(en)) {
		buf_addf(err, "规则 %s 的 enabled 应为 true 或 false", r->id);
		return -1;
	}
	r->risk_types[0] = '\0';
	if (rt && !json_is_null(rt)) {
		struct buf codes = BUF_INIT;
		if (!json_is_array(rt) || json_array_size(rt) > 5) {
			buf_addf(err, "规则 %s 的 risk_types 应为最多 5 项风险类型的数组", r->id);
			return -1;
		}
		json_array_foreach(rt, i, e) {
			int c = json_is_string(e) ? codes_lookup(&code_risk_type, json_string_value(e))
						  : -1;
			if (c < 0) {
				buf_addf(err, "规则 %s 的风险类型“%s”无效", r->id,
					 json_is_string(e) ? json_string_value(e) : "?");
				buf_release(&codes);
				return -1;
			}
			buf_addf(&codes, "%s%d", codes.len ? "," : "", c);
		}
		snprintf(r->risk_types, sizeof(r->risk_types), "%s", codes.buf);
		buf_release(&codes);
	}
	return 0;
}

/* Build the catalogue of fields rules on this feed may use. */
static void build_catalog(struct feed_def *d)
{
	int n = 0, max = 10 + 2 * d->nr_cols + d->nr_params;
	d->fields = xcalloc(max, sizeof(*d->fields));
	d->field_of = xcalloc(max, sizeof(*d->field_of));
	/* person and household fields */
	static const struct {
		const char *name, *title;
		int type, src;
		const struct code_list *codes;
		const char *unit;
	} person[] = {
		{ "age", "年龄", RULE_NUM, FS_AGE, NULL, "岁" },
		{ "sex", "性别", RULE_CODE, FS_SEX, &code_sex, NULL },
		{ "tuopin", "脱贫人口", RULE_BOOL, FS_TUOPIN, NULL, NULL },
		{ "monitored", "监测对象", RULE_BOOL, FS_MONITORED, NULL, NULL },
		{ "hh_type", "户类型", RULE_CODE, FS_HH_TYPE, &code_hh_type, NULL },
		{ "dibao", "享受低保", RULE_BOOL, FS_DIBAO, NULL, NULL },
		{ "tekun", "特困供养", RULE_BOOL, FS_TEKUN, NULL, NULL },
		{ "rows", "记录数", RULE_NUM, FS_ROWS, NULL, "条" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(person); i++, n++) {
		d->fields[n] = (struct rule_field){ person[i].name, person[i].title, RULE_HOUSEHOLD,
						    person[i].type, "NULL", person[i].codes,
						    person[i].unit };
		d->field_of[n] = (struct feed_field_src){ person[i].src, -1 };
	}
	for (int c = 0; c < d->nr_cols; c++) {
		struct feed_column *col = &d->cols[c];
		if (col->type == FEED_ID || col->type == FEED_NAME)
			continue;
		d->fields[n] = (struct rule_field){ col->name, col->title, RULE_HOUSEHOLD,
						    col->type == FEED_NUM    ? RULE_NUM
						    : col->type == FEED_DATE ? RULE_DATE
									     : RULE_TEXT,
						    "NULL", NULL, col->type == FEED_NUM ? "元" : NULL };
		d->field_of[n++] = (struct feed_field_src){ FS_COL, c };
		if (col->type == FEED_NUM) {
			d->fields[n] = (struct rule_field){ col->max_name, col->max_title,
							    RULE_HOUSEHOLD, RULE_NUM, "NULL", NULL,
							    "元" };
			d->field_of[n++] = (struct feed_field_src){ FS_COL_MAX, c };
		}
	}
	d->fields[n] = (struct rule_field){ "year", "年度", RULE_PARAM, RULE_NUM, ":year", NULL,
					    NULL };
	d->field_of[n++] = (struct feed_field_src){ FS_PARAM, -1 };
	d->fields[n] = (struct rule_field){ "today", "今天", RULE_PARAM, RULE_DATE, ":today", NULL,
					    NULL };
	d->field_of[n++] = (struct feed_field_src){ FS_PARAM, -1 };
	for (int p = 0; p < d->nr_params; p++) {
		d->fields[n] = (struct rule_field){ d->params[p].name, d->params[p].title, RULE_PARAM,
						    RULE_NUM, d->params[p].sql, NULL, NULL };
		d->field_of[n++] = (struct feed_field_src){ FS_PARAM, p };
	}
	d->catalog = (struct rule_catalog){ d->fields, n, "feed f", "f.id", NULL, NULL, NULL,
					    NULL, NULL, 0, NULL };
}

int feed_def_parse(const char *json_text, struct feed_def *d, struct buf *err)
{
	static const char *const keys[] = { "id", "title", "department", "cadence", "accumulate",
					    "verify_days", "columns", "params", "rules", "version",
					    "enabled", NULL };
	static const char *const col_keys[] = { "name", "title", "type", "required", "aliases",
						NULL };
	static const char *const par_keys[] = { "name", "title", "value", "basis", NULL };
	json_error_t jerr;
	json_t *root = json_loads(json_text, JSON_REJECT_DUPLICATES, &jerr), *cols, *pars, *rules,
	       *v, *e;
	char acc[16] = "";
	size_t i;
	int id_cols = 0, name_cols = 0;
	memset(d, 0, sizeof(*d));
	if (!root) {
		buf_addf(err, "定义不是有效的 JSON：第 %d 行第 %d 列：%s", jerr.line, jerr.column,
			 jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		buf_addstr(err, "定义应为 JSON 对象");
		goto fail;
	}
	if (only_keys(root, keys, err, "定义") ||
	    copy_str(root, "id", d->id, sizeof(d->id), 1, err, "定义") ||
	    copy_str(root, "title", d->title, sizeof(d->title), 1, err, "定义") ||
	    copy_str(root, "department", d->department, sizeof(d->department), 1, err, "定义") ||
	    copy_str(root, "cadence", d->cadence, sizeof(d->cadence), 0, err, "定义") ||
	    copy_str(root, "accumulate", acc, sizeof(acc), 0, err, "定义"))
		goto fail;
	if (!ident_ok(d->id, sizeof(d->id))) {
		buf_addf(err, "数据类型编号“%s”无效（以字母开头，字母、数字、下划线）", d->id);
		goto fail;
	}
	if (!acc[0] || !strcmp(acc, "none"))
		d->accumulate = 0;
	else if (!strcmp(acc, "year"))
		d->accumulate = 1;
	else {
		buf_addstr(err, "accumulate 应为 none（每批独立）或 year（当年各批累计）");
		goto fail;
	}
	v = json_object_get(root, "verify_days");
	d->verify_days = 10;
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 60)) {
		buf_addstr(err, "verify_days 应为 1 至 60 的整数（核实期限，工作日）");
		goto fail;
	}
	if (v)
		d->verify_days = (int)json_integer_value(v);
	cols = json_object_get(root, "columns");
	if (!json_is_array(cols) || !json_array_size(cols) ||
	    json_array_size(cols) > FEED_MAX_COLS) {
		buf_addf(err, "columns 应为 1 至 %d 列的数组", FEED_MAX_COLS);
		goto fail;
	}
	json_array_foreach(cols, i, e) {
		struct feed_column *c = &d->cols[d->nr_cols];
		char type[16];
		json_t *al = json_object_get(e, "aliases"), *req = json_object_get(e, "required"), *a;
		size_t j;
		if (!json_is_object(e)) {
			buf_addstr(err, "columns 的每一项应为对象");
			goto fail;
		}
		if (only_keys(e, col_keys, err, "列定义") ||
		    copy_str(e, "name", c->name, sizeof(c->name), 1, err, "列定义") ||
		    copy_str(e, "title", c->title, sizeof(c->title), 1, err, "列定义") ||
		    copy_str(e, "type", type, sizeof(type), 1, err, "列定义"))
			goto fail;
		if (!ident_ok(c->name, sizeof(c->name) - 4)) {
			buf_addf(err, "列名“%s”无效（以字母开头，字母、数字、下划线）", c->name);
			goto fail;
		}
		for (int t = 1; t < (int)ARRAY_SIZE(type_names); t++)
			if (!strcmp(type, type_names[t]))
				c->type = t;
		if (!c->type) {
			buf_addf(err, "列“%s”的类型“%s”无效（id、name、num、date、text）", c->title,
				 type);
			goto fail;
		}
		if (req && !json_is_boolean(req)) {
			buf_addf(err, "列“%s”的 required 应为 true 或 false", c->title);
			goto fail;
		}
		c->required = c->type == FEED_ID || (req && json_is_true(req));
		if (al && !json_is_array(al)) {
			buf_addf(err, "列“%s”的 aliases 应为文本数组", c->title);
			goto fail;
		}
		json_array_foreach(al, j, a) {
			size_t l = strlen(c->aliases);
			if (!json_is_string(a) || !json_string_length(a) ||
			    l + json_string_length(a) + 2 >= sizeof(c->aliases)) {
				buf_addf(err, "列“%s”的 aliases 应为非空文本，总长不超过 %zu 字节",
					 c->title, sizeof(c->aliases) - 2);
				goto fail;
			}
			snprintf(c->aliases + l, sizeof(c->aliases) - l, "%s%s", l ? "|" : "",
				 json_string_value(a));
		}
		{
			char nm[sizeof(c->max_name)], tt[sizeof(c->max_title)];
			snprintf(nm, sizeof(nm), "%s_max", c->name);
			snprintf(tt, sizeof(tt), "单笔最高%s", c->title);
			memcpy(c->max_name, nm, sizeof(nm));
			memcpy(c->max_title, tt, sizeof(tt));
		}
		for (int k = 0; k < d->nr_cols; k++)
			if (!strcmp(d->cols[k].name, c->name) || !strcmp(d->cols[k].title, c->title)) {
				buf_addf(err, "列“%s”重复", c->title);
				goto fail;
			}
		if (c->type == FEED_ID)
			d->id_col = d->nr_cols, id_cols++;
		if (c->type == FEED_NAME)
			d->name_col = d->nr_cols, name_cols++;
		d->nr_cols++;
	}
	if (id_cols != 1 || name_cols > 1) {
		buf_addstr(err, "columns 中须有且只有一列类型为 id（身份证号），至多一列类型为 name（姓名）");
		goto fail;
	}
	if (!name_cols)
		d->name_col = -1;
	pars = json_object_get(root, "params");
	if (pars && !json_is_array(pars)) {
		buf_addstr(err, "params 应为数组");
		goto fail;
	}
	d->params = xcalloc(json_array_size(pars) + 1, sizeof(*d->params));
	json_array_foreach(pars, i, e) {
		struct feed_param *p = &d->params[d->nr_params];
		json_t *val = json_object_get(e, "value");
		if (!json_is_object(e)) {
			buf_addstr(err, "params 的每一项应为对象");
			goto fail;
		}
		if (only_keys(e, par_keys, err, "阈值参数") ||
		    copy_str(e, "name", p->name, sizeof(p->name), 1, err, "阈值参数") ||
		    copy_str(e, "title", p->title, sizeof(p->title), 1, err, "阈值参数") ||
		    copy_str(e, "basis", p->basis, sizeof(p->basis), 0, err, "阈值参数"))
			goto fail;
		if (!ident_ok(p->name, sizeof(p->name)) || !strcmp(p->name, "year")) {
			buf_addf(err, "阈值参数名“%s”无效", p->name);
			goto fail;
		}
		if (!json_is_number(val) || !isfinite(json_number_value(val))) {
			buf_addf(err, "阈值参数 %s 的 value 应为数字", p->name);
			goto fail;
		}
		p->value = json_number_value(val);
		snprintf(p->sql, sizeof(p->sql), ":%s", p->name);
		for (int k = 0; k < d->nr_params; k++)
			if (!strcmp(d->params[k].name, p->name)) {
				buf_addf(err, "阈值参数 %s 重复", p->name);
				goto fail;
			}
		d->nr_params++;
	}
	rules = json_object_get(root, "rules");
	if (rules && !json_is_array(rules)) {
		buf_addstr(err, "rules 应为数组");
		goto fail;
	}
	d->rules = xcalloc(json_array_size(rules) + 1, sizeof(*d->rules));
	json_array_foreach(rules, i, e) {
		if (feed_rule_from_json(e, &d->rules[d->nr_rules], err))
			goto fail;
		for (int k = 0; k < d->nr_rules; k++)
			if (!strcmp(d->rules[k].id, d->rules[d->nr_rules].id)) {
				buf_addf(err, "规则编号 %s 重复", d->rules[k].id);
				goto fail;
			}
		d->rules[d->nr_rules++].version = 1;
	}
	build_catalog(d);
	for (int k = 0; k < d->nr_rules; k++)
		if (feed_rule_compile(d, &d->rules[k], err))
			goto fail;
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	feed_def_release(d);
	return -1;
}

int feed_rule_compile(struct feed_def *d, struct feed_rule *r, struct buf *err)
{
	struct rule_error rerr;
	rule_free(r->compiled);
	r->compiled = rule_compile(&d->catalog, RULE_HOUSEHOLD, r->expression, &rerr);
	if (!r->compiled) {
		buf_addf(err, "规则 %s 的表达式有误：%s", r->id, rerr.msg);
		return -1;
	}
	return 0;
}

/* ---- storing and loading ------------------------------------------------------------- */

static int install_def(struct db *db, const struct feed_def *d, const char *json_text,
		       const char *by, int install_rules)
{
	char now[20];
	struct db_stmt *st;
	int version = 1, rc;
	now_utc_text(now);
	st = db_prepare(db, "SELECT coalesce(max(version), 0) + 1 FROM feed_def WHERE id = :id");
	db_bind_text(st, ":id", d->id);
	if (db_step(st) == DB_ROW)
		version = (int)db_col_int(st, 0);
	db_done(st);
	st = db_prepare(db, "INSERT INTO feed_def(id, version, title, department, definition, "
			    "created_at, created_by) VALUES (:id, :v, :t, :dep, :def, :now, :by)");
	db_bind_text(st, ":id", d->id);
	db_bind_int(st, ":v", version);
	db_bind_text(st, ":t", d->title);
	db_bind_text(st, ":dep", d->department);
	db_bind_text(st, ":def", json_text);
	db_bind_text(st, ":now", now);
	db_bind_text(st, ":by", by ? by : "");
	rc = db_run(st);
	db_done(st);
	if (rc)
		return -1;
	for (int p = 0; p < d->nr_params; p++) {
		/* defaults for every year and region; a county's own rows stay */
		st = db_prepare(db, "INSERT INTO feed_param(feed_id, name, year, region, value, basis, "
				    "updated_at, updated_by) SELECT :f, :n, 0, '', :v, :b, :now, :by "
				    "WHERE NOT EXISTS (SELECT 1 FROM feed_param WHERE feed_id = :f "
				    "AND name = :n AND year = 0 AND region = '')");
		db_bind_text(st, ":f", d->id);
		db_bind_text(st, ":n", d->params[p].name);
		db_bind_double(st, ":v", d->params[p].value);
		db_bind_text(st, ":b", d->params[p].basis);
		db_bind_text(st, ":now", now);
		db_bind_text(st, ":by", by ? by : "");
		rc = db_run(st);
		db_done(st);
		if (rc)
			return -1;
	}
	for (int k = 0; install_rules && k < d->nr_rules; k++)
		if (feed_rule_store(db, d->id, &d->rules[k], by) < 0)
			return -1;
	return version;
}

int feed_rule_store(struct db *db, const char *feed_id, const struct feed_rule *r, const char *by)
{
	char now[20];
	int version = 1, rc;
	struct db_stmt *st = db_prepare(db, "SELECT coalesce(max(version), 0) + 1 FROM feed_rule "
					    "WHERE feed_id = :f AND id = :id");
	now_utc_text(now);
	db_bind_text(st, ":f", feed_id);
	db_bind_text(st, ":id", r->id);
	if (db_step(st) == DB_ROW)
		version = (int)db_col_int(st, 0);
	db_done(st);
	st = db_prepare(db, "INSERT INTO feed_rule(feed_id, id, version, title, severity, risk_types, "
			    "expression, enabled, created_at, created_by) VALUES (:f, :id, :v, :t, "
			    ":s, :rt, :e, :en, :now, :by)");
	db_bind_text(st, ":f", feed_id);
	db_bind_text(st, ":id", r->id);
	db_bind_int(st, ":v", version);
	db_bind_text(st, ":t", r->title);
	db_bind_text(st, ":s", r->severity);
	db_bind_text(st, ":rt", r->risk_types);
	db_bind_text(st, ":e", r->expression);
	db_bind_int(st, ":en", r->enabled);
	db_bind_text(st, ":now", now);
	db_bind_text(st, ":by", by ? by : "");
	rc = db_run(st);
	db_done(st);
	return rc ? -1 : version;
}

int screen_feed_define(struct db *db, const char *json_text, const char *by, int *version,
		struct buf *err)
{
	struct feed_def d;
	struct db_stmt *st;
	int exists = 0, v;
	if (feed_def_parse(json_text, &d, err))
		return -1;
	st = db_prepare(db, "SELECT 1 FROM feed_def WHERE id = :id");
	db_bind_text(st, ":id", d.id);
	exists = db_step(st) == DB_ROW;
	db_done(st);
	/* a new version of an existing feed keeps its rules' history: rules
	 * that differ from the latest version get a new version */
	if (exists) {
		for (int k = 0; k < d.nr_rules; k++) {
			struct feed_rule cur;
			int same = 0;
			if (feed_rule_latest(db, d.id, d.rules[k].id, &cur) == 1)
				same = !strcmp(cur.expression, d.rules[k].expression) &&
				       !strcmp(cur.title, d.rules[k].title) &&
				       !strcmp(cur.severity, d.rules[k].severity) &&
				       !strcmp(cur.risk_types, d.rules[k].risk_types) &&
				       cur.enabled == d.rules[k].enabled;
			if (!same && feed_rule_store(db, d.id, &d.rules[k], by) < 0)
				goto dberr;
		}
	}
	v = install_def(db, &d, json_text, by, !exists);
	if (v < 0)
		goto dberr;
	if (version)
		*version = v;
	feed_def_release(&d);
	return 0;
dberr:
	buf_addf(err, "保存失败：%s", db_errmsg(db));
	feed_def_release(&d);
	return -1;
}

int feed_rule_latest(struct db *db, const char *feed_id, const char *rule_id, struct feed_rule *r)
{
	struct db_stmt *st = db_prepare(db, "SELECT id, version, title, severity, risk_types, "
					    "expression, enabled FROM feed_rule WHERE feed_id = :f AND "
					    "id = :id ORDER BY version DESC LIMIT 1");
	int rc;
	db_bind_text(st, ":f", feed_id);
	db_bind_text(st, ":id", rule_id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		memset(r, 0, sizeof(*r));
		snprintf(r->id, sizeof(r->id), "%s", db_col_text(st, 0));
		r->version = (int)db_col_int(st, 1);
		snprintf(r->title, sizeof(r->title), "%s", db_col_text(st, 2));
		snprintf(r->severity, sizeof(r->severity), "%s", db_col_text(st, 3));
		snprintf(r->risk_types, sizeof(r->risk_types), "%s", db_col_text(st, 4));
		snprintf(r->expression, sizeof(r->expression), "%s", db_col_text(st, 5));
		r->enabled = (int)db_col_int(st, 6);
	}
	db_done(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int screen_feed_resolve(struct db *db, const char *name, char out[32])
{
	struct db_stmt *st = db_prepare(db, "SELECT id FROM feed_def WHERE id = :n OR title = :n "
					    "ORDER BY version DESC LIMIT 1");
	int rc;
	db_bind_text(st, ":n", name);
	rc = db_step(st);
	if (rc == DB_ROW)
		snprintf(out, 32, "%s", db_col_text(st, 0));
	db_done(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int feed_def_load(struct db *db, const char *feed_id, struct feed_def *d, struct buf *err)
{
	struct db_stmt *st;
	char *json_text = NULL;
	int version = 0, enabled = 1, rc, n = 0;
	struct feed_rule *rules = NULL;
	st = db_prepare(db, "SELECT definition, version, enabled FROM feed_def WHERE id = :id ORDER "
			    "BY version DESC LIMIT 1");
	db_bind_text(st, ":id", feed_id);
	if ((rc = db_step(st)) == DB_ROW) {
		json_text = xstrdup(db_col_text(st, 0));
		version = (int)db_col_int(st, 1);
		enabled = (int)db_col_int(st, 2);
	}
	db_done(st);
	if (rc != DB_ROW) {
		buf_addf(err, "没有名为“%s”的部门数据类型", feed_id);
		return -1;
	}
	if (feed_def_parse(json_text, d, err)) {
		free(json_text);
		return -1;
	}
	free(json_text);
	d->version = version;
	d->enabled = enabled;
	/* the rules as stored: the latest version of each, edits included */
	for (int k = 0; k < d->nr_rules; k++)
		rule_free(d->rules[k].compiled);
	st = db_prepare(db, "SELECT r.id, r.version, r.title, r.severity, r.risk_types, r.expression, "
			    "r.enabled FROM feed_rule r WHERE r.feed_id = :f AND r.version = (SELECT "
			    "max(x.version) FROM feed_rule x WHERE x.feed_id = r.feed_id AND x.id = "
			    "r.id) ORDER BY r.id");
	db_bind_text(st, ":f", feed_id);
	while (db_step(st) == DB_ROW) {
		struct feed_rule *r;
		rules = xrealloc(rules, (n + 1) * sizeof(*rules));
		r = &rules[n++];
		memset(r, 0, sizeof(*r));
		snprintf(r->id, sizeof(r->id), "%s", db_col_text(st, 0));
		r->version = (int)db_col_int(st, 1);
		snprintf(r->title, sizeof(r->title), "%s", db_col_text(st, 2));
		snprintf(r->severity, sizeof(r->severity), "%s", db_col_text(st, 3));
		snprintf(r->risk_types, sizeof(r->risk_types), "%s", db_col_text(st, 4));
		snprintf(r->expression, sizeof(r->expression), "%s", db_col_text(st, 5));
		r->enabled = (int)db_col_int(st, 6);
	}
	db_done(st);
	free(d->rules);
	d->rules = rules;
	d->nr_rules = n;
	for (int k = 0; k < n; k++)
		if (feed_rule_compile(d, &d->rules[k], err)) {
			feed_def_release(d);
			return -1;
		}
	return 0;
}

int feed_params_for(struct db *db, const struct feed_def *d, const char *village, int year,
		    double *values)
{
	for (int p = 0; p < d->nr_params; p++) {
		struct db_stmt *st = db_prepare(
			db, "SELECT value FROM feed_param WHERE feed_id = :f AND name = :n AND year "
			    "<= :y AND (region = '' OR substr(:v, 1, length(region)) = region) ORDER "
			    "BY year DESC, length(region) DESC LIMIT 1");
		db_bind_text(st, ":f", d->id);
		db_bind_text(st, ":n", d->params[p].name);
		db_bind_int(st, ":y", year);
		db_bind_text(st, ":v", village);
		values[p] = db_step(st) == DB_ROW ? db_col_double(st, 0) : d->params[p].value;
		db_done(st);
	}
	return 0;
}

int screen_feed_install(struct db *db)
{
	for (const char *const *f = shipped_feeds; *f; f++) {
		struct feed_def d;
		struct buf err = BUF_INIT;
		struct db_stmt *st;
		int exists;
		if (feed_def_parse(*f, &d, &err))
			die("shipped feed definition is invalid: %s", err.buf);
		st = db_prepare(db, "SELECT 1 FROM feed_def WHERE id = :id");
		db_bind_text(st, ":id", d.id);
		exists = db_step(st) == DB_ROW;
		db_done(st);
		if (!exists && install_def(db, &d, *f, "", 1) < 0) {
			feed_def_release(&d);
			buf_release(&err);
			return -1;
		}
		feed_def_release(&d);
		buf_release(&err);
	}
	return 0;
}

int screen_feed_migrate(struct db *db)
{
	if (db_migrate(db, "screen.feed", feed_migrations, ARRAY_SIZE(feed_migrations)))
		return -1;
	if (db_begin(db))
		return -1;
	if (screen_feed_install(db)) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}

const char *feed_type_name(int type)
{
	return type > 0 && type < (int)ARRAY_SIZE(type_names) ? type_names[type] : "";
}
