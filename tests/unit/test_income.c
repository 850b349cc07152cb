/* test_income.c — monitor/income.c and the code lists of the ledger and the
 * measures: 家庭纯收入, 人均纯收入 and 参考收入 in integer 分 (rounding
 * halves away from zero, negative incomes, zero members), the
 * identification-period spans and their weighting, the summary row kept in
 * step by a save, and the SQL recomputation agreeing with the C rounding. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "base/util.h"
#include "db/db.h"
#include "monitor/monitor.h"
#include "registry/codes.h"
#include "registry/registry.h"

static int64_t pc(int64_t amount, int persons)
{
	int64_t out = -424242;
	if (monitor_per_capita(amount, persons, &out))
		return -999999999;
	return out;
}

TEST(income_item_list)
{
	int per_cat[8] = {0};
	for (int i = 0; i < code_income_item.nr_items; i++) {
		const struct code_item *it = &code_income_item.items[i];
		int cat = INCOME_ITEM_CATEGORY(it->code);
		if (!CHECK(cat >= INCOME_WAGE && cat <= INCOME_RIGID))
			continue;
		per_cat[cat]++;
		CHECK_INT(codes_lookup(&code_income_item, it->label), it->code);
		for (int j = 0; j < i; j++)
			if (!CHECK(strcmp(code_income_item.items[j].label, it->label)))
				printf("    duplicate label %s\n", it->label);
	}
	CHECK_INT(per_cat[INCOME_WAGE], 5);
	CHECK_INT(per_cat[INCOME_BUSINESS], 4);
	CHECK_INT(per_cat[INCOME_PROPERTY], 5);
	CHECK_INT(per_cat[INCOME_TRANSFER], 4 + 5 + 16); /* 4 + 生态补偿金 5 + 其他转移性 16 */
	CHECK_INT(per_cat[INCOME_BUSINESS_COST], 4);
	CHECK_INT(per_cat[INCOME_CLAIMS], 1);
	CHECK_INT(per_cat[INCOME_RIGID], 1);
	CHECK_INT(codes_lookup(&code_income_item, "务工收入"), 101);
	CHECK_INT(codes_lookup(&code_income_item, "低保金"), 402);
	CHECK_STR(monitor_income_group(codes_lookup(&code_income_item, "公益林补贴")),
		  "生态补偿金");
	CHECK_STR(monitor_income_group(codes_lookup(&code_income_item, "防贫保险")),
		  "其他转移性收入");
	CHECK_STR(monitor_income_group(codes_lookup(&code_income_item, "低保金")), NULL);
	CHECK_STR(codes_label(&code_income_category, INCOME_TRANSFER), "转移性收入");
}

TEST(income_net_and_reference)
{
	struct income_totals t = {0};
	struct income_figures f;
	monitor_income_add(&t, 101, 3000000); /* 务工 30,000 元 */
	monitor_income_add(&t, 104, 600000);  /* 村级公益岗 */
	monitor_income_add(&t, 201, 800000);  /* 种植业 */
	monitor_income_add(&t, 302, 100000);  /* 土地流转 */
	monitor_income_add(&t, 402, 360000);  /* 低保金 */
	monitor_income_add(&t, 411, 12345);   /* 公益林补贴 */
	monitor_income_add(&t, 501, 250000);  /* 种植业支出 */
	monitor_income_add(&t, 601, 500000);  /* 理赔收入 */
	monitor_income_add(&t, 701, 2000000); /* 合规自付支出 */
	monitor_income_add(&t, 999, 777);     /* unknown: ignored */
	CHECK_INT(t.wage, 3600000);
	CHECK_INT(t.business, 800000);
	CHECK_INT(t.property, 100000);
	CHECK_INT(t.transfer, 372345);
	CHECK_INT(t.business_cost, 250000);
	CHECK_INT(t.claims, 500000);
	CHECK_INT(t.rigid, 2000000);
	CHECK_INT(monitor_income_net(&t), 3600000 + 800000 + 100000 + 372345 - 250000);
	CHECK_INT(monitor_income_ref(&t), 4622345 - 2000000 + 500000);
	monitor_income_figures(&t, 4, &f);
	CHECK_INT(f.net, 4622345);
	CHECK_INT(f.ref, 3122345);
	CHECK_INT(f.persons, 4);
	CHECK_INT(f.has_pc, 1);
	CHECK_INT(f.net_pc, 1155586); /* 1,155,586.25 → 1,155,586 */
	CHECK_INT(f.ref_pc, 780586);  /* 780,586.25 */
	/* claims and rigid spending never enter 纯收入 */
	CHECK_INT(monitor_income_net(&t), f.net);
}

TEST(income_per_capita_rounding)
{
	CHECK_INT(pc(1000, 3), 333); /* 333.33 */
	CHECK_INT(pc(2000, 3), 667); /* 666.67 */
	CHECK_INT(pc(5, 2), 3);	     /* 2.5: half away from zero */
	CHECK_INT(pc(-5, 2), -3);
	CHECK_INT(pc(7, 2), 4);
	CHECK_INT(pc(-1000, 3), -333);
	CHECK_INT(pc(-2000, 3), -667);
	CHECK_INT(pc(1, 2), 1);
	CHECK_INT(pc(1, 3), 0);
	CHECK_INT(pc(-1, 3), 0);
	CHECK_INT(pc(0, 4), 0);
	CHECK_INT(pc(600000, 1), 600000);
	CHECK_INT(pc(1799999, 3), 600000); /* 599,999.67 rounds up to the line */
	CHECK_INT(pc(1799998, 3), 599999);
	CHECK_INT(pc(INCOME_AMOUNT_MAX * 50, 7), (INCOME_AMOUNT_MAX * 50 + 3) / 7);
	/* zero (or negative) persons: no per-capita figure */
	CHECK_INT(pc(1000, 0), -999999999);
	CHECK_INT(pc(1000, -1), -999999999);
}

TEST(income_zero_members)
{
	struct income_totals t = {0};
	struct income_figures f;
	monitor_income_add(&t, 101, 100000);
	monitor_income_figures(&t, 0, &f);
	CHECK_INT(f.has_pc, 0);
	CHECK_INT(f.net, 100000);
	CHECK_INT(f.net_pc, 0);
	monitor_income_figures(&t, 1, &f);
	CHECK_INT(f.has_pc, 1);
	CHECK_INT(f.net_pc, 100000);
}

TEST(income_identification_spans)
{
	struct ident_span s[2];
	struct income_totals t[2] = {{0}}, out;
	CHECK_INT(monitor_ident_spans(2025, 1, s), 1);
	CHECK_INT(s[0].year, 2024);
	CHECK_INT(s[0].months, 12);
	CHECK_INT(monitor_ident_spans(2025, 7, s), 2);
	CHECK_INT(s[0].year * 100 + s[0].months, 202406);
	CHECK_INT(s[1].year * 100 + s[1].months, 202506);
	CHECK_INT(monitor_ident_spans(2025, 12, s), 2);
	CHECK_INT(s[0].months, 1);
	CHECK_INT(s[1].months, 11);
	CHECK_INT(monitor_ident_spans(2025, 2, s), 2);
	CHECK_INT(s[0].months + s[1].months, 12);
	CHECK_INT(monitor_ident_spans(2025, 0, s), -1);
	CHECK_INT(monitor_ident_spans(2025, 13, s), -1);

	/* the same ledger in both years gives it back exactly */
	t[0].wage = t[1].wage = 1234567;
	t[0].rigid = t[1].rigid = 1;
	monitor_ident_spans(2025, 8, s);
	monitor_ident_totals(t, s, 2, &out);
	CHECK_INT(out.wage, 1234567);
	CHECK_INT(out.rigid, 1);
	/* weighting: 5/12 of 2024 and 7/12 of 2025 */
	t[0].wage = 1200000;
	t[1].wage = 2400000;
	t[0].business_cost = 100;
	t[1].business_cost = 0;
	monitor_ident_totals(t, s, 2, &out);
	CHECK_INT(out.wage, 1200000 * 5 / 12 + 2400000 * 7 / 12);
	CHECK_INT(out.business_cost, 42); /* 41.67 */
	/* January: last year only */
	monitor_ident_spans(2025, 1, s);
	monitor_ident_totals(t, s, 1, &out);
	CHECK_INT(out.wage, 1200000);
}

TEST(measure_lists)
{
	int dev = 0;
	CHECK_INT(code_measure_category.nr_items, 14);
	for (int i = 0; i < code_measure_category.nr_items; i++) {
		int c = code_measure_category.items[i].code;
		const struct code_list *items = monitor_measure_items(c);
		char table[8];
		snprintf(table, sizeof(table), "100A%02d", c);
		CHECK_STR(monitor_measure_table(c), table);
		if (!CHECK(items && items->nr_items > 0))
			continue;
		for (int j = 0; j < items->nr_items; j++) {
			CHECK_INT(items->items[j].code / 100, c);
			CHECK_INT(codes_lookup(items, items->items[j].label), items->items[j].code);
		}
		/* each category ends with 其他 */
		CHECK_STR(items->items[items->nr_items - 1].label, "其他");
		dev += monitor_measure_is_development(c);
	}
	CHECK_INT(dev, 4);
	CHECK(monitor_measure_is_development(codes_lookup(&code_measure_category, "公益岗位帮扶")));
	CHECK(!monitor_measure_is_development(codes_lookup(&code_measure_category, "综合保障")));
	CHECK(monitor_measure_items(43) == NULL);
	CHECK(monitor_measure_table(56) == NULL);
	CHECK_INT(codes_lookup(monitor_measure_items(41), "脱贫人口小额信贷"), 4101);
	CHECK_INT(codes_lookup(&code_measure_dev_status, "尚未实施"), 2);
}

/* ---- with a database ---- */

static struct db *income_db(const char *name)
{
	char path[256], err[256];
	struct db *db;
	snprintf(path, sizeof(path), "%s/%s", unit_tmpdir(), name);
	db = db_open(path, 1, err, sizeof(err));
	if (!CHECK(db != NULL))
		return NULL;
	CHECK_INT(registry_migrate(db), 0);
	CHECK_INT(monitor_income_migrate(db), 0);
	CHECK_INT(monitor_lines_migrate(db), 0);
	CHECK_INT(db_exec(db,
			  "INSERT INTO region(code, name, level, parent) VALUES"
			  "('610000000000', '陕西省', 1, NULL),"
			  "('610900000000', '安康市', 2, '610000000000'),"
			  "('610926000000', '平利县', 3, '610900000000'),"
			  "('610926100000', '城关镇', 4, '610926000000'),"
			  "('610926100001', '西城社区居委会', 5, '610926100000');"
			  "INSERT INTO household(id, hh_no, village_code, created_at, updated_at) "
			  "VALUES(1, 'H1', '610926100001', 'x', 'x'), (2, 'H2', '610926100001', "
			  "'x', 'x');"
			  "INSERT INTO member(household_id, name, id_number, relation, sex, "
			  "birth_date, created_at, updated_at) VALUES"
			  "(1, '甲', '1', 1, 1, '1970-01-01', 'x', 'x'),"
			  "(1, '乙', '2', 2, 2, '1970-01-01', 'x', 'x'),"
			  "(1, '丙', '3', 3, 1, '2000-01-01', 'x', 'x')"),
		  0);
	return db;
}

TEST(income_save_keeps_summary_in_step)
{
	struct db *db = income_db("income.db");
	struct income_entry e[] = {
	    {101, 1000000, "务工"}, {201, 200000, ""}, {501, 50000, "化肥"},
	    {701, 900000, "住院"},  {601, 100001, ""},
	};
	struct income_totals t;
	struct db_stmt *st;
	int persons = 0;
	if (!db)
		return;
	CHECK_INT(db_begin(db), 0);
	CHECK_INT(monitor_income_save(db, 1, 2025, e, 5), 0);
	CHECK_INT(db_commit(db), 0);
	CHECK_INT(monitor_income_summary(db, 1, 2025, &t, &persons), 1);
	CHECK_INT(persons, 3);
	CHECK_INT(t.wage, 1000000);
	CHECK_INT(t.business, 200000);
	CHECK_INT(t.business_cost, 50000);
	CHECK_INT(t.rigid, 900000);
	CHECK_INT(t.claims, 100001);
	st = db_prepare(db, "SELECT net, ref, hh_size, net_pc, ref_pc, resident_size IS NULL FROM "
			    "income_summary WHERE household_id = 1 AND year = 2025");
	if (CHECK(db_step(st) == DB_ROW)) {
		CHECK_INT(db_col_int(st, 0), 1150000);
		CHECK_INT(db_col_int(st, 1), 1150000 - 900000 + 100001);
		CHECK_INT(db_col_int(st, 2), 3);
		CHECK_INT(db_col_int(st, 3), 383333);
		CHECK_INT(db_col_int(st, 4), 116667); /* 350,001 / 3 = 116,667 */
		CHECK_INT(db_col_int(st, 5), 1);
	}
	db_done(st);
	/* a second save replaces the items; a household without members has
	 * no per-capita figures */
	CHECK_INT(db_begin(db), 0);
	CHECK_INT(monitor_income_save(db, 1, 2025, e, 1), 0);
	CHECK_INT(monitor_income_save(db, 2, 2025, e, 2), 0);
	CHECK_INT(db_commit(db), 0);
	st = db_prepare(db, "SELECT (SELECT count(*) FROM income_item WHERE household_id = 1), "
			    "(SELECT net_pc FROM income_summary WHERE household_id = 1), "
			    "(SELECT net_pc IS NULL FROM income_summary WHERE household_id = 2)");
	if (CHECK(db_step(st) == DB_ROW)) {
		CHECK_INT(db_col_int(st, 0), 1);
		CHECK_INT(db_col_int(st, 1), 333333);
		CHECK_INT(db_col_int(st, 2), 1);
	}
	db_done(st);
	db_close(db);
}

/* The per-capita recomputation done in SQL when the denominator setting
 * changes rounds exactly like monitor_per_capita(). */
TEST(income_sql_rounding_matches_c)
{
	struct db *db = income_db("income-sql.db");
	static const int64_t nets[] = {0,	1,	  2,	     5,		-1,    -2,
				       -5,	1000,	  -1000,     2000,	-2000, 599999,
				       1799999, -1799999, 123456789, -123456789};
	int bad = 0;
	if (!db)
		return;
	CHECK_INT(db_begin(db), 0);
	for (size_t i = 0; i < ARRAY_SIZE(nets); i++)
		for (int persons = 0; persons <= 7; persons++) {
			struct income_totals t = {0};
			if (nets[i] >= 0)
				t.wage = nets[i];
			else
				t.business_cost = -nets[i];
			/* one summary row per case, told apart by year */
			CHECK_INT(monitor_income_put_summary(db, 1,
							     (int)(2000 + i * 8 + (size_t)persons),
							     &t, persons, -1, DENOM_HOUSEHOLD),
				  0);
		}
	CHECK_INT(monitor_income_set_denominator(db, DENOM_RESIDENT), 0);
	CHECK_INT(monitor_income_denominator(db), DENOM_RESIDENT);
	CHECK_INT(db_commit(db), 0);
	{
		struct db_stmt *st =
		    db_prepare(db, "SELECT net, denominator, net_pc FROM "
				   "income_summary WHERE household_id = 1 AND year "
				   ">= 2000 ORDER BY year");
		while (db_step(st) == DB_ROW) {
			int64_t net = db_col_int(st, 0), want;
			int persons = (int)db_col_int(st, 1);
			if (monitor_per_capita(net, persons, &want)) {
				bad += !db_col_is_null(st, 2);
			} else if (db_col_is_null(st, 2) || db_col_int(st, 2) != want) {
				printf("    net %lld / %d: SQL %lld, C %lld\n", (long long)net,
				       persons, (long long)db_col_int(st, 2), (long long)want);
				bad++;
			}
		}
		db_done(st);
	}
	CHECK_INT(bad, 0);
	db_close(db);
}

TEST(income_line_lookup_longest_prefix)
{
	struct db *db = income_db("lines.db");
	struct monitor_line l;
	if (!db)
		return;
	/* shipped: national and 陕西 2021 */
	CHECK_INT(monitor_line_lookup(db, "610926100001", 2021, &l), 1);
	CHECK_STR(l.region, "61");
	CHECK_INT(l.amount, 600000);
	CHECK_INT(monitor_line_lookup(db, "620102000000", 2021, &l), 1);
	CHECK_STR(l.region, "");
	CHECK_INT(monitor_line_lookup(db, "610926100001", 2030, &l), 0);
	CHECK_INT(db_exec(db, "INSERT INTO monitor_line(year, region, amount, updated_at) VALUES"
			      "(2025, '', 700000, 'x'), (2025, '61', 870000, 'x'),"
			      "(2025, '610926', 900000, 'x'), (2025, '6109', 880000, 'x'),"
			      "(2025, '610926101', 950000, 'x')"),
		  0);
	CHECK_INT(monitor_line_lookup(db, "610926100001", 2025, &l), 1);
	CHECK_STR(l.region, "610926");
	CHECK_INT(l.amount, 900000);
	CHECK_INT(monitor_line_lookup(db, "610926101201", 2025, &l), 1);
	CHECK_STR(l.region, "610926101");
	CHECK_INT(monitor_line_lookup(db, "610902100001", 2025, &l), 1);
	CHECK_STR(l.region, "6109");
	CHECK_INT(monitor_line_lookup(db, "611002100001", 2025, &l), 1);
	CHECK_STR(l.region, "61");
	CHECK_INT(monitor_line_lookup(db, "6109", 2025, &l), 1); /* a short code */
	CHECK_STR(l.region, "6109");
	CHECK_INT(monitor_demo_lines(db), 0);
	CHECK_INT(monitor_line_lookup(db, "610926100001", 2024, &l), 1);
	CHECK_INT(l.assumed, 1);
	CHECK_INT(monitor_line_lookup(db, "610926100001", 2025, &l), 1);
	CHECK_INT(l.amount, 900000); /* the demo never overwrites */
	db_close(db);
}
