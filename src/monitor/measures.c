/* measures.c — assistance measures (帮扶措施): the 14 national categories
 * of the 2023 collection table 帮扶措施 (code tables 100A39…100A55) with
 * their items as data, and the tables for per-household measures and the
 * 一户一策 plan.  The HTTP handlers are in ledger_api.c.
 *
 * Category codes are the number after "100A" (39 = 100A39 产业帮扶); item
 * codes are category * 100 + n.  Items marked GUESS below are not in a
 * source (the brief lists no items for them); each category ends with 其他
 * so that anything real can be recorded. */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "db/db.h"
#include "monitor/monitor.h"
#include "registry/codes.h"

#define LIST(name_, title_, items_)                                                                \
	{                                                                                          \
		name_, title_, items_, (int)ARRAY_SIZE(items_), 0                                  \
	}

static const struct code_item category_items[] = {
    {39, "产业帮扶", 0},	 {40, "就业帮扶", 0},	  {41, "金融帮扶", 0},
    {42, "公益岗位帮扶", 0},	 {45, "健康帮扶", 0},	  {46, "义务教育保障", 0},
    {47, "其他教育帮扶", 0},	 {48, "综合保障", 0},	  {50, "住房安全保障", 0},
    {51, "饮水安全保障", 0},	 {52, "社会帮扶", 0},	  {53, "搬迁", 0},
    {54, "生产生活条件改善", 0}, {55, "基础设施建设", 0},
};
const struct code_list code_measure_category =
    LIST("measure_category", "帮扶措施类别", category_items);

static const struct code_item cybf[] = {
    {3901, "种苗/化肥等物资帮扶", 0},
    {3902, "产业奖补", 0},
    {3903, "致富带头人/合作社/龙头企业带动", 0},
    {3904, "乡村旅游", 0},
    {3905, "入股分红", 0},
    {3906, "消费帮扶", 0},
    {3999, "其他", 0},
};
static const struct code_item jybf[] = {
    {4001, "外出务工补贴（交通补助）", 0},
    {4002, "劳务输出", 0},
    {4003, "技能培训", 0},
    {4004, "帮扶车间就业", 0}, /* GUESS (§3.3) */
    {4099, "其他", 0},
};
static const struct code_item jrbf[] = {
    {4101, "脱贫人口小额信贷", 0},
    {4199, "其他", 0},
};
static const struct code_item gygwbf[] = {
    /* GUESS: the levels of the income items 行业部门/乡镇/村级公益岗 */
    {4201, "行业部门公益岗位", 0},
    {4202, "乡镇公益岗位", 0},
    {4203, "村级公益岗位", 0},
    {4299, "其他", 0},
};
static const struct code_item jkbf[] = {
    {4501, "参加城乡居民基本医疗保险个人缴费补贴", 0},
    {4502, "医疗救助", 0},
    {4503, "办理慢性病卡", 0},
    {4504, "签约家庭医生", 0},
    {4505, "住院医疗报销", 0},
    {4599, "其他", 0},
};
static const struct code_item ywjybz[] = {
    {4601, "劝返", 0},	 {4602, "送教上门", 0}, {4603, "寄宿生生活补贴", 0},
    {4604, "营养餐", 0}, {4699, "其他", 0},
};
static const struct code_item qtjybf[] = {
    {4701, "雨露计划", 0}, {4702, "助学贷款", 0}, {4703, "助学金", 0},
    {4704, "免保教费", 0}, {4799, "其他", 0},
};
static const struct code_item zhbz[] = {
    {4801, "低保", 0},	     {4802, "特困供养", 0}, {4803, "养老金", 0}, {4804, "临时救助", 0},
    {4805, "残疾人补贴", 0}, {4806, "防贫保险", 0}, {4899, "其他", 0},
};
static const struct code_item zfaqbz[] = {
    {5001, "危房改造", 0},
    {5099, "其他", 0},
};
static const struct code_item ysaqbz[] = {
    {5101, "供水工程建设或改造", 0}, /* GUESS */
    {5199, "其他", 0},
};
static const struct code_item shbf[] = {
    {5201, "社会捐助", 0},
    {5299, "其他", 0},
};
static const struct code_item bq[] = {
    {5301, "易地扶贫搬迁", 0}, /* GUESS */
    {5399, "其他", 0},
};
static const struct code_item scshtjgs[] = {
    {5499, "其他", 0},
};
static const struct code_item jcssjs[] = {
    {5599, "其他", 0},
};

/* Per category: its national code table, the field name of the 2023
 * collection table, whether it is 开发式, and its items. */
static const struct measure_category_info {
	int code;
	const char *table;
	struct code_list items;
	int development;
} categories[] = {
    {39, "100A39", LIST("cybf", "产业帮扶", cybf), 1},
    {40, "100A40", LIST("jybf", "就业帮扶", jybf), 1},
    {41, "100A41", LIST("jrbf", "金融帮扶", jrbf), 1},
    {42, "100A42", LIST("gygwbf", "公益岗位帮扶", gygwbf), 1},
    {45, "100A45", LIST("jkbf", "健康帮扶", jkbf), 0},
    {46, "100A46", LIST("ywjybz", "义务教育保障", ywjybz), 0},
    {47, "100A47", LIST("qtjybf", "其他教育帮扶", qtjybf), 0},
    {48, "100A48", LIST("zhbz", "综合保障", zhbz), 0},
    {50, "100A50", LIST("zfaqbz", "住房安全保障", zfaqbz), 0},
    {51, "100A51", LIST("ysaqbz", "饮水安全保障", ysaqbz), 0},
    {52, "100A52", LIST("shbf", "社会帮扶", shbf), 0},
    {53, "100A53", LIST("bq", "搬迁", bq), 0},
    {54, "100A54", LIST("scshtjgs", "生产生活条件改善", scshtjgs), 0},
    {55, "100A55", LIST("jcssjs", "基础设施建设", jcssjs), 0},
};

/* dm_bfcsqk: only "尚未实施" is seen in a source; 已实施 is its complement. */
static const struct code_item dev_status_items[] = {
    {1, "已实施", 0},
    {2, "尚未实施", 0},
};
const struct code_list code_measure_dev_status =
    LIST("measure_dev_status", "实施开发式帮扶措施情况", dev_status_items);

static const struct measure_category_info *category_info(int cat)
{
	for (size_t i = 0; i < ARRAY_SIZE(categories); i++)
		if (categories[i].code == cat)
			return &categories[i];
	return NULL;
}

const struct code_list *monitor_measure_items(int cat)
{
	const struct measure_category_info *c = category_info(cat);
	return c ? &c->items : NULL;
}

const char *monitor_measure_table(int cat)
{
	const struct measure_category_info *c = category_info(cat);
	return c ? c->table : NULL;
}

int monitor_measure_is_development(int cat)
{
	const struct measure_category_info *c = category_info(cat);
	return c && c->development;
}

static const struct db_migration measures_migrations[] = {
    {1, "assistance measures and the 一户一策 plan",
     "CREATE TABLE measure(\n"
     "  id INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused\n"
     "  household_id INTEGER NOT NULL REFERENCES household(id) ON DELETE CASCADE,\n"
     "  category INTEGER NOT NULL, -- code_measure_category: 39 = 100A39 产业帮扶 … 55\n"
     "  item INTEGER NOT NULL,     -- item of the category: category * 100 + n\n"
     "  start_date TEXT NOT NULL,  -- YYYY-MM-DD\n"
     "  end_date TEXT,             -- YYYY-MM-DD, NULL while ongoing\n"
     "  amount INTEGER NOT NULL DEFAULT 0, -- 分 (资金、补贴、贷款额)\n"
     "  unit TEXT NOT NULL DEFAULT '',     -- 责任单位\n"
     "  person TEXT NOT NULL DEFAULT '',   -- 责任人\n"
     "  evidence TEXT NOT NULL DEFAULT '', -- 佐证材料说明\n"
     "  case_id INTEGER,           -- the monitoring case it belongs to (no FK: table of case.c)\n"
     "  created_at TEXT NOT NULL,  -- UTC\n"
     "  updated_at TEXT NOT NULL   -- UTC\n"
     ");\n"
     "CREATE INDEX measure_household ON measure(household_id, id);\n"
     "CREATE INDEX measure_category ON measure(category, household_id);\n"
     "CREATE TABLE help_plan(\n"
     "  household_id INTEGER NOT NULL REFERENCES household(id) ON DELETE CASCADE,\n"
     "  year INTEGER NOT NULL,     -- 年度\n"
     "  plan TEXT NOT NULL DEFAULT '', -- 一户一策 帮扶计划\n"
     "  dev_status INTEGER,        -- 实施开发式帮扶措施情况 (code_measure_dev_status)\n"
     "  updated_at TEXT NOT NULL,  -- UTC\n"
     "  PRIMARY KEY(household_id, year)\n"
     ");\n",
     NULL},
};

int monitor_measures_migrate(struct db *db)
{
	return db_migrate(db, "monitor.measures", measures_migrations,
			  (int)ARRAY_SIZE(measures_migrations));
}
