/* income.c — the income ledger (收入台账): the national income items as data,
 * the arithmetic of 家庭纯收入 / 人均纯收入 / 参考收入 in integer 分, the
 * identification-period approximation, the ledger tables with their
 * per-(household, year) summary kept in step on every write, the monitor
 * module's settings, and monitor_migrate(), which runs every part's
 * migrations.  The formulas are documented in monitor.h. */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "db/db.h"
#include "monitor/monitor.h"
#include "registry/codes.h"

/* ---- code lists ---------------------------------------------------------------- */

#define LIST(name_, title_, items_)                                                                \
	{                                                                                          \
		name_, title_, items_, (int)ARRAY_SIZE(items_), 0                                  \
	}

static const struct code_item income_category_items[] = {
    {INCOME_WAGE, "工资性收入", 0},
    {INCOME_BUSINESS, "生产经营性收入", 0},
    {INCOME_PROPERTY, "财产性收入", 0},
    {INCOME_TRANSFER, "转移性收入", 0},
    {INCOME_BUSINESS_COST, "生产经营性支出", 0},
    {INCOME_CLAIMS, "理赔收入", 0},
    {INCOME_RIGID, "合规自付支出", 0},
};
const struct code_list code_income_category =
    LIST("income_category", "收入类别", income_category_items);

/* The 2023 摸排 table 脱贫户收入情况 (brief §1.9).  Labels the source gives
 * as a bare "其他" are qualified with their category so that every label is
 * unique.  Transfer codes 410–419 are the parts of 生态补偿金, 420–439 those
 * of 其他转移性收入. */
static const struct code_item income_item_items[] = {
    {101, "务工收入", 0},
    {102, "行业部门公益岗收入", 0},
    {103, "乡镇公益岗收入", 0},
    {104, "村级公益岗收入", 0},
    {105, "自主采摘收入", 0},
    {201, "种植业收入", 0},
    {202, "养殖业收入", 0},
    {203, "林果业收入", 0},
    {299, "其他生产经营性收入", 0},
    {301, "资产收益扶贫分红收入", 0},
    {302, "土地流转收入", 0},
    {303, "金融贷款项目收入", 0},
    {304, "代种代养项目收入", 0},
    {399, "其他财产性收入", 0},
    {401, "计划生育金", 0},
    {402, "低保金", 0},
    {403, "特困供养金", 0},
    {404, "养老保险金", 0},
    {410, "退耕还林补贴", 0},
    {411, "公益林补贴", 0},
    {412, "草原生态奖补", 0},
    {413, "移民补助", 0},
    {419, "其他生态补偿金", 0},
    {420, "玉米大豆种植补贴", 0},
    {421, "地力补贴", 0},
    {422, "大田保险补助", 0},
    {423, "高龄补贴", 0},
    {424, "优抚金", 0},
    {425, "残疾补贴", 0},
    {426, "教育扶持", 0},
    {427, "救灾款", 0},
    {428, "失能老人补贴", 0},
    {429, "赡养费", 0},
    {430, "取暖费补贴", 0},
    {431, "物价补贴", 0},
    {432, "社会救济和补助", 0},
    {433, "防贫保险", 0},
    {434, "经常性捐赠和赔偿", 0},
    {439, "其他转移性收入", 0},
    {501, "种植业支出", 0},
    {502, "养殖业支出", 0},
    {503, "林果业支出", 0},
    {599, "其他生产经营性支出", 0},
    {601, "理赔收入", 0},
    {701, "合规自付支出", 0},
};
const struct code_list code_income_item = LIST("income_item", "收入项目", income_item_items);

static const struct code_item denominator_items[] = {
    {DENOM_HOUSEHOLD, "户籍人口", 0},
    {DENOM_RESIDENT, "共同生活人口", 0},
};
const struct code_list code_income_denominator =
    LIST("income_denominator", "人均收入计算人口", denominator_items);

const char *monitor_income_group(int item)
{
	if (item >= 410 && item <= 419)
		return "生态补偿金";
	if (item >= 420 && item <= 439)
		return "其他转移性收入";
	return NULL;
}

/* ---- arithmetic ------------------------------------------------------------------ */

void monitor_income_add(struct income_totals *t, int item, int64_t amount)
{
	switch (INCOME_ITEM_CATEGORY(item)) {
	case INCOME_WAGE:
		t->wage += amount;
		break;
	case INCOME_BUSINESS:
		t->business += amount;
		break;
	case INCOME_PROPERTY:
		t->property += amount;
		break;
	case INCOME_TRANSFER:
		t->transfer += amount;
		break;
	case INCOME_BUSINESS_COST:
		t->business_cost += amount;
		break;
	case INCOME_CLAIMS:
		t->claims += amount;
		break;
	case INCOME_RIGID:
		t->rigid += amount;
		break;
	default:
		break;
	}
}

int64_t monitor_income_net(const struct income_totals *t)
{
	return t->wage + t->business + t->property + t->transfer - t->business_cost;
}

int64_t monitor_income_ref(const struct income_totals *t)
{
	return monitor_income_net(t) - t->rigid + t->claims;
}

/* a ÷ b (b > 0) rounded to the nearest integer, halves away from zero. */
static int64_t div_round(int64_t a, int64_t b)
{
	return a >= 0 ? (2 * a + b) / (2 * b) : -((-2 * a + b) / (2 * b));
}

int monitor_per_capita(int64_t amount, int persons, int64_t *out)
{
	if (persons <= 0)
		return -1;
	*out = div_round(amount, persons);
	return 0;
}

void monitor_income_figures(const struct income_totals *t, int persons, struct income_figures *f)
{
	memset(f, 0, sizeof(*f));
	f->net = monitor_income_net(t);
	f->ref = monitor_income_ref(t);
	f->persons = persons;
	f->has_pc = !monitor_per_capita(f->net, persons, &f->net_pc) &&
		    !monitor_per_capita(f->ref, persons, &f->ref_pc);
}

int monitor_ident_spans(int year, int month, struct ident_span out[2])
{
	if (month < 1 || month > 12 || year < 1901 || year > 2199)
		return -1;
	out[0].year = year - 1;
	out[0].months = 13 - month;
	if (month == 1)
		return 1;
	out[1].year = year;
	out[1].months = month - 1;
	return 2;
}

void monitor_ident_totals(const struct income_totals *t, const struct ident_span *s, int n,
			  struct income_totals *out)
{
	/* sum amount × months first and divide once, so that two halves of
	 * the same figure give the figure back exactly */
	struct income_totals sum = {0};
	for (int i = 0; i < n; i++) {
		sum.wage += t[i].wage * s[i].months;
		sum.business += t[i].business * s[i].months;
		sum.property += t[i].property * s[i].months;
		sum.transfer += t[i].transfer * s[i].months;
		sum.business_cost += t[i].business_cost * s[i].months;
		sum.claims += t[i].claims * s[i].months;
		sum.rigid += t[i].rigid * s[i].months;
	}
	out->wage = div_round(sum.wage, 12);
	out->business = div_round(sum.business, 12);
	out->property = div_round(sum.property, 12);
	out->transfer = div_round(sum.transfer, 12);
	out->business_cost = div_round(sum.business_cost, 12);
	out->claims = div_round(sum.claims, 12);
	out->rigid = div_round(sum.rigid, 12);
}

/* ---- tables ----------------------------------------------------------------------- */

static const struct db_migration income_migrations[] = {
    {1, "income ledger: items, per-(household, year) summary, settings",
     "CREATE TABLE income_item(\n"
     "  household_id INTEGER NOT NULL REFERENCES household(id) ON DELETE CASCADE,\n"
     "  year INTEGER NOT NULL,     -- calendar year of the ledger\n"
     "  item INTEGER NOT NULL,     -- code_income_item (category = item / 100)\n"
     "  amount INTEGER NOT NULL,   -- 分, >= 0 (costs and spending are positive too)\n"
     "  note TEXT NOT NULL DEFAULT '', -- 说明\n"
     "  PRIMARY KEY(household_id, year, item)\n"
     ") WITHOUT ROWID;\n"
     "CREATE TABLE income_summary(\n"
     "  household_id INTEGER NOT NULL REFERENCES household(id) ON DELETE CASCADE,\n"
     "  year INTEGER NOT NULL,\n"
     "  wage INTEGER NOT NULL,     -- 工资性收入, 分\n"
     "  business INTEGER NOT NULL, -- 生产经营性收入\n"
     "  property INTEGER NOT NULL, -- 财产性收入\n"
     "  transfer INTEGER NOT NULL, -- 转移性收入\n"
     "  business_cost INTEGER NOT NULL, -- 生产经营性支出\n"
     "  claims INTEGER NOT NULL,   -- 理赔收入\n"
     "  rigid INTEGER NOT NULL,    -- 合规自付支出\n"
     "  net INTEGER NOT NULL,      -- 家庭纯收入 = wage+business+property+transfer-business_cost\n"
     "  ref INTEGER NOT NULL,      -- 参考收入 = net - rigid + claims\n"
     "  hh_size INTEGER NOT NULL,  -- 家庭人口数 (members in the registry when saved)\n"
     "  resident_size INTEGER,     -- 共同生活人口 when known, else NULL\n"
     "  denominator INTEGER NOT NULL, -- persons per-capita figures divide by\n"
     "  net_pc INTEGER,            -- 人均纯收入, 分, rounded; NULL when denominator = 0\n"
     "  ref_pc INTEGER,            -- 人均参考收入, 分, rounded; NULL when denominator = 0\n"
     "  updated_at TEXT NOT NULL,  -- UTC\n"
     "  PRIMARY KEY(household_id, year)\n"
     ") WITHOUT ROWID;\n"
     "CREATE INDEX income_summary_year ON income_summary(year, net_pc);\n"
     "CREATE TABLE monitor_setting(\n"
     "  key TEXT PRIMARY KEY,      -- e.g. income.denominator\n"
     "  value TEXT NOT NULL\n"
     ");\n",
     /* PostgreSQL: the same without WITHOUT ROWID */
     "CREATE TABLE income_item(\n"
     "  household_id INTEGER NOT NULL REFERENCES household(id) ON DELETE CASCADE,\n"
     "  year INTEGER NOT NULL,\n"
     "  item INTEGER NOT NULL,\n"
     "  amount INTEGER NOT NULL,\n"
     "  note TEXT NOT NULL DEFAULT '',\n"
     "  PRIMARY KEY(household_id, year, item)\n"
     ");\n"
     "CREATE TABLE income_summary(\n"
     "  household_id INTEGER NOT NULL REFERENCES household(id) ON DELETE CASCADE,\n"
     "  year INTEGER NOT NULL,\n"
     "  wage INTEGER NOT NULL,\n"
     "  business INTEGER NOT NULL,\n"
     "  property INTEGER NOT NULL,\n"
     "  transfer INTEGER NOT NULL,\n"
     "  business_cost INTEGER NOT NULL,\n"
     "  claims INTEGER NOT NULL,\n"
     "  rigid INTEGER NOT NULL,\n"
     "  net INTEGER NOT NULL,\n"
     "  ref INTEGER NOT NULL,\n"
     "  hh_size INTEGER NOT NULL,\n"
     "  resident_size INTEGER,\n"
     "  denominator INTEGER NOT NULL,\n"
     "  net_pc INTEGER,\n"
     "  ref_pc INTEGER,\n"
     "  updated_at TEXT NOT NULL,\n"
     "  PRIMARY KEY(household_id, year)\n"
     ");\n"
     "CREATE INDEX income_summary_year ON income_summary(year, net_pc);\n"
     "CREATE TABLE monitor_setting(\n"
     "  key TEXT PRIMARY KEY,\n"
     "  value TEXT NOT NULL\n"
     ");\n"},
    /* screening drives from household (village range) into the primary
     * key; the index only slowed bulk loads by a tenth */
    {2, "drop income_summary_year", "DROP INDEX income_summary_year;\n", NULL},
};

int monitor_income_migrate(struct db *db)
{
	return db_migrate(db, "monitor.income", income_migrations,
			  (int)ARRAY_SIZE(income_migrations));
}

/* Every part of the monitor module migrates its own tables under its own
 * module name, so parts can change independently. */
int monitor_migrate(struct db *db)
{
	if (monitor_income_migrate(db) || monitor_lines_migrate(db) ||
	    monitor_calendar_migrate(db) || monitor_measures_migrate(db))
		return -1;
	/* alerts, cases, visits (case.c) and rules and screening (screen.c) */
	if (monitor_case_migrate(db) || monitor_rules_migrate(db))
		return -1;
	/* county announcements of approved cases (notice.c) */
	if (monitor_notice_migrate(db))
		return -1;
	if (db_begin(db))
		return -1;
	if (monitor_rules_install(db)) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}

/* ---- settings --------------------------------------------------------------------- */

int monitor_setting_get(struct db *db, const char *key, char *out, size_t n)
{
	struct db_stmt *st = db_prepare(db, "SELECT value FROM monitor_setting WHERE key = :k");
	int rc;
	db_bind_text(st, ":k", key);
	rc = db_step(st);
	snprintf(out, n, "%s", rc == DB_ROW ? db_col_text(st, 0) : "");
	db_done(st);
	return rc < 0 ? -1 : 0;
}

int monitor_setting_put(struct db *db, const char *key, const char *value)
{
	struct db_stmt *st =
	    db_prepare(db, "INSERT INTO monitor_setting(key, value) VALUES(:k, :v) "
			   "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
	int rc;
	db_bind_text(st, ":k", key);
	db_bind_text(st, ":v", value);
	rc = db_run(st);
	db_done(st);
	return rc < 0 ? -1 : 0;
}

int monitor_income_denominator(struct db *db)
{
	char v[32];
	if (monitor_setting_get(db, "income.denominator", v, sizeof(v)))
		return -1;
	return !strcmp(v, "resident") ? DENOM_RESIDENT : DENOM_HOUSEHOLD;
}

/* The rounding of div_round() in SQL (integer division truncates in both
 * SQLite and PostgreSQL); d is never 0 where it is used. */
#define SQL_DIV_ROUND(a, d)                                                                        \
	"CASE WHEN " a " >= 0 THEN (2 * " a " + " d ") / (2 * " d ") ELSE -((-2 * " a " + " d      \
	") / (2 * " d ")) END"

#define NET_PC SQL_DIV_ROUND("net", "denominator")
#define REF_PC SQL_DIV_ROUND("ref", "denominator")

int monitor_income_set_denominator(struct db *db, int denom)
{
	struct db_stmt *st;
	int rc;
	if (monitor_setting_put(db, "income.denominator",
				denom == DENOM_RESIDENT ? "resident" : "household"))
		return -1;
	st = db_prepare(db, "UPDATE income_summary SET denominator = CASE WHEN :res = 1 AND "
			    "resident_size IS NOT NULL THEN resident_size ELSE hh_size END");
	db_bind_int(st, ":res", denom == DENOM_RESIDENT);
	rc = db_run(st);
	db_done(st);
	if (rc < 0)
		return -1;
	st = db_prepare(db,
			"UPDATE income_summary SET net_pc = CASE WHEN denominator > 0 THEN " NET_PC
			" END, ref_pc = CASE WHEN denominator > 0 THEN " REF_PC " END");
	rc = db_run(st);
	db_done(st);
	return rc < 0 ? -1 : 0;
}

/* ---- ledger rows ------------------------------------------------------------------- */

int monitor_income_put_item(struct db *db, int64_t household_id, int year,
			    const struct income_entry *e)
{
	struct db_stmt *st = db_prepare(db, "INSERT INTO income_item(household_id, year, item, "
					    "amount, note) VALUES(:h, :y, :i, :a, :n)");
	int rc;
	db_bind_int(st, ":h", household_id);
	db_bind_int(st, ":y", year);
	db_bind_int(st, ":i", e->item);
	db_bind_int(st, ":a", e->amount);
	db_bind_text(st, ":n", e->note ? e->note : "");
	rc = db_run(st);
	db_done(st);
	return rc;
}

int monitor_income_put_summary(struct db *db, int64_t household_id, int year,
			       const struct income_totals *t, int hh_size, int resident_size,
			       int denom)
{
	struct income_figures f;
	struct db_stmt *st;
	char now[20];
	int persons = denom == DENOM_RESIDENT && resident_size >= 0 ? resident_size : hh_size, rc;
	monitor_income_figures(t, persons, &f);
	now_utc_text(now);
	st = db_prepare(
	    db, "INSERT INTO income_summary(household_id, year, wage, business, property, "
		"transfer, business_cost, claims, rigid, net, ref, hh_size, resident_size, "
		"denominator, net_pc, ref_pc, updated_at) VALUES(:h, :y, :wage, :business, "
		":property, :transfer, :cost, :claims, :rigid, :net, :ref, :size, :res, "
		":den, :net_pc, :ref_pc, :now) ON CONFLICT(household_id, year) DO UPDATE SET "
		"wage = excluded.wage, business = excluded.business, property = "
		"excluded.property, transfer = excluded.transfer, business_cost = "
		"excluded.business_cost, claims = excluded.claims, rigid = excluded.rigid, "
		"net = excluded.net, ref = excluded.ref, hh_size = excluded.hh_size, "
		"resident_size = excluded.resident_size, denominator = excluded.denominator, "
		"net_pc = excluded.net_pc, ref_pc = excluded.ref_pc, updated_at = "
		"excluded.updated_at");
	db_bind_int(st, ":h", household_id);
	db_bind_int(st, ":y", year);
	db_bind_int(st, ":wage", t->wage);
	db_bind_int(st, ":business", t->business);
	db_bind_int(st, ":property", t->property);
	db_bind_int(st, ":transfer", t->transfer);
	db_bind_int(st, ":cost", t->business_cost);
	db_bind_int(st, ":claims", t->claims);
	db_bind_int(st, ":rigid", t->rigid);
	db_bind_int(st, ":net", f.net);
	db_bind_int(st, ":ref", f.ref);
	db_bind_int(st, ":size", hh_size);
	db_bind_int_or_null(st, ":res", resident_size);
	db_bind_int(st, ":den", persons);
	if (f.has_pc) {
		db_bind_int(st, ":net_pc", f.net_pc);
		db_bind_int(st, ":ref_pc", f.ref_pc);
	} else {
		db_bind_null(st, ":net_pc");
		db_bind_null(st, ":ref_pc");
	}
	db_bind_text(st, ":now", now);
	rc = db_run(st);
	db_done(st);
	return rc;
}

const char monitor_income_summary_columns[] =
    "household_id, year, wage, business, property, transfer, business_cost, claims, rigid, "
    "net, ref, hh_size, resident_size, denominator, net_pc, ref_pc, updated_at";

int monitor_income_copy_summary(struct db_copy *c, int64_t household_id, int year,
				const struct income_totals *t, int hh_size, int resident_size,
				int denom, const char *now)
{
	struct income_figures f;
	int persons = denom == DENOM_RESIDENT && resident_size >= 0 ? resident_size : hh_size;
	monitor_income_figures(t, persons, &f);
	db_copy_int(c, household_id);
	db_copy_int(c, year);
	db_copy_int(c, t->wage);
	db_copy_int(c, t->business);
	db_copy_int(c, t->property);
	db_copy_int(c, t->transfer);
	db_copy_int(c, t->business_cost);
	db_copy_int(c, t->claims);
	db_copy_int(c, t->rigid);
	db_copy_int(c, f.net);
	db_copy_int(c, f.ref);
	db_copy_int(c, hh_size);
	db_copy_int_or_null(c, resident_size);
	db_copy_int(c, persons);
	/* per-capita figures may be negative: NULL only when unknown */
	if (f.has_pc) {
		db_copy_int(c, f.net_pc);
		db_copy_int(c, f.ref_pc);
	} else {
		db_copy_text(c, NULL);
		db_copy_text(c, NULL);
	}
	db_copy_text(c, now);
	return db_copy_row(c);
}

int monitor_income_save(struct db *db, int64_t household_id, int year, const struct income_entry *e,
			int n)
{
	struct income_totals t = {0};
	struct db_stmt *st;
	int hh_size = 0, denom, rc;

	st = db_prepare(db, "DELETE FROM income_item WHERE household_id = :h AND year = :y");
	db_bind_int(st, ":h", household_id);
	db_bind_int(st, ":y", year);
	rc = db_run(st);
	db_done(st);
	if (rc < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (monitor_income_put_item(db, household_id, year, &e[i]) < 0)
			return -1;
		monitor_income_add(&t, e[i].item, e[i].amount);
	}
	/* the registry has no co-resident flag yet: resident_size unknown */
	st = db_prepare(db, "SELECT count(*) FROM member WHERE household_id = :h");
	db_bind_int(st, ":h", household_id);
	rc = db_step(st);
	if (rc == DB_ROW)
		hh_size = (int)db_col_int(st, 0);
	db_done(st);
	if (rc != DB_ROW)
		return -1;
	if ((denom = monitor_income_denominator(db)) < 0)
		return -1;
	return monitor_income_put_summary(db, household_id, year, &t, hh_size, -1, denom) < 0 ? -1
											      : 0;
}

int monitor_income_summary(struct db *db, int64_t household_id, int year, struct income_totals *t,
			   int *persons)
{
	enum { S_WAGE, S_BUSINESS, S_PROPERTY, S_TRANSFER, S_COST, S_CLAIMS, S_RIGID, S_DEN };
	struct db_stmt *st = db_prepare(db, "SELECT wage, business, property, transfer, "
					    "business_cost, claims, rigid, denominator FROM "
					    "income_summary WHERE household_id = :h AND year = :y");
	int rc;
	db_bind_int(st, ":h", household_id);
	db_bind_int(st, ":y", year);
	rc = db_step(st);
	if (rc == DB_ROW) {
		t->wage = db_col_int(st, S_WAGE);
		t->business = db_col_int(st, S_BUSINESS);
		t->property = db_col_int(st, S_PROPERTY);
		t->transfer = db_col_int(st, S_TRANSFER);
		t->business_cost = db_col_int(st, S_COST);
		t->claims = db_col_int(st, S_CLAIMS);
		t->rigid = db_col_int(st, S_RIGID);
		*persons = (int)db_col_int(st, S_DEN);
	}
	db_done(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}
