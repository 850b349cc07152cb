/* test_screen_check.c — the data-quality checks' catalogue of fields: the
 * monitoring catalogue's measure subqueries are read from the grouped
 * measure join, every field is reachable by its Chinese name, and every
 * built-in check has a distinct name. */
#include <string.h>

#include "harness.h"
#include "rules/rules.h"
#include "screen/check_internal.h"

TEST(check_catalog_reads_measures_from_one_grouped_join)
{
	const struct rule_catalog *c = check_catalog();
	int seen = 0;
	for (int i = 0; i < c->nr_fields; i++) {
		CHECK(!strstr(c->fields[i].sql, "FROM measure x"));
		if (strstr(c->fields[i].sql, "mx."))
			seen++;
	}
	CHECK(seen >= 9); /* 5 swapped monitoring fields + 4 of the checks' own */
}

/* Every join reads only the piece of households being checked (:a, :b):
 * the grouped measures and the monitoring line of the piece's villages. */
TEST(check_catalog_joins_read_only_the_piece)
{
	const struct rule_catalog *c = check_catalog();
	int mx = 0, ln = 0;
	for (int i = 0; i < c->nr_joins; i++) {
		if (!strcmp(c->joins[i].alias, "mx"))
			mx = strstr(c->joins[i].sql, "household_id >= :a AND household_id < :b") != NULL;
		if (!strcmp(c->joins[i].alias, "ln"))
			ln = strstr(c->joins[i].sql, "hv.id >= :a AND hv.id < :b") != NULL;
	}
	CHECK(mx);
	CHECK(ln); /* fails when the monitoring catalogue's line join changed */
}

TEST(check_catalog_extends_the_monitoring_one)
{
	const struct rule_catalog *c = check_catalog();
	struct rule_error err;
	static const char *const exprs[] = {
		"人均纯收入 < 监测线", "户联系电话 = ''", "民族 is null", "在岗公益岗位数 > 0",
		"享受低保措施 = true and 帮扶措施数 >= 1 and 开发式帮扶措施数 = 0",
	};
	for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
		struct rule *r = rule_compile(c, i == 2 ? RULE_MEMBER : RULE_HOUSEHOLD, exprs[i], &err);
		CHECK(r != NULL);
		rule_free(r);
	}
}

TEST(check_builtins_have_distinct_names)
{
	for (int i = 0; i < NR_BUILTINS; i++) {
		CHECK(check_builtins[i].name != NULL);
		CHECK_INT(check_builtin_find(check_builtins[i].name), i);
	}
	CHECK_INT(check_builtin_find("no_such_check"), -1);
}
