/* test_rules.c — the rule language: tokenizer and parser (precedence, every
 * operator, Chinese titles), compile errors with their column and message,
 * three-valued logic, the explanation text, and the main promise: over a
 * toy registry of random households with NULLs everywhere, evaluating each
 * household through the callback and screening them all with the generated
 * SQL give the same hits and the same explanations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/csv.h"
#include "db/db.h"
#include "registry/codes.h"
#include "rules/rules.h"
#include "harness.h"

/* ---- the toy catalogue ---- */

static const struct rule_field toy_fields[] = {
    {"hh_no", "户编号", RULE_HOUSEHOLD, RULE_TEXT, "h.hh_no", NULL, NULL},
    {"size", "家庭人口数", RULE_HOUSEHOLD, RULE_NUM, "h.size", NULL, "人"},
    {"hh_type", "户类型", RULE_HOUSEHOLD, RULE_CODE, "h.hh_type", &code_hh_type, NULL},
    {"water_ok", "饮水安全", RULE_HOUSEHOLD, RULE_BOOL, "h.water_ok", NULL, NULL},
    {"joined", "识别日期", RULE_HOUSEHOLD, RULE_DATE, "h.joined", NULL, NULL},
    {"wage", "工资性收入", RULE_HOUSEHOLD, RULE_NUM, "i.wage", NULL, "元"},
    {"net_income", "家庭纯收入", RULE_HOUSEHOLD, RULE_NUM, "i.wage + i.farm - i.cost", NULL, "元"},
    {"net_income_pc", "人均纯收入", RULE_HOUSEHOLD, RULE_NUM,
     "CAST(i.wage + i.farm - i.cost AS DOUBLE PRECISION) / NULLIF(h.size, 0)", NULL, "元"},
    {"medical", "合规自付支出", RULE_HOUSEHOLD, RULE_NUM, "i.medical", NULL, "元"},
    {"relation", "与户主关系", RULE_MEMBER, RULE_CODE, "m.relation", &code_relation, NULL},
    {"birth_date", "出生日期", RULE_MEMBER, RULE_DATE, "m.birth_date", NULL, NULL},
    {"health", "健康状况", RULE_MEMBER, RULE_SET, "m.health", &code_health, NULL},
    {"labor_skill", "劳动技能", RULE_MEMBER, RULE_CODE, "m.labor_skill", &code_labor_skill, NULL},
    {"income", "个人收入", RULE_MEMBER, RULE_NUM, "m.income", NULL, "元"},
    {"name", "姓名", RULE_MEMBER, RULE_TEXT, "m.name", NULL, NULL},
    {"student", "在校生", RULE_MEMBER, RULE_BOOL, "m.student", NULL, NULL},
    {"line", "监测线", RULE_PARAM, RULE_NUM, ":line", NULL, "元"},
    {"year", "年度", RULE_PARAM, RULE_NUM, ":year", NULL, NULL},
    {"today", "当前日期", RULE_PARAM, RULE_DATE, ":today", NULL, NULL},
    {"p", "甲", RULE_PARAM, RULE_BOOL, ":p", NULL, NULL},
    {"q", "乙", RULE_PARAM, RULE_BOOL, ":q", NULL, NULL},
    {"n", "数", RULE_PARAM, RULE_NUM, ":n", NULL, NULL},
    {"t", "文本参数", RULE_PARAM, RULE_TEXT, ":t", NULL, NULL},
};

enum { NR_TOY_FIELDS = (int)(sizeof(toy_fields) / sizeof(toy_fields[0])) };

/* the income table joins only for rules that read it */
static const struct rule_join toy_joins[] = {
    {"i", "LEFT JOIN hh_income i ON i.household_id = h.id AND i.year = :year"},
};

static const struct rule_catalog toy = {
    toy_fields, NR_TOY_FIELDS, "household h", "h.id", "member m", "m.household_id = h.id",
    "m.id",	"birth_date",  toy_joins,     1, "m.household_id",
};

static struct rule *compile(const char *expr)
{
	struct rule_error err;
	struct rule *r = rule_compile(&toy, RULE_HOUSEHOLD, expr, &err);
	if (!r)
		printf("    cannot compile %s: %s\n", expr, err.msg);
	return r;
}

/* ---- evaluation without data: constants and parameters ---- */

static int no_get(void *opaque, const struct rule_field *f, int member, struct rule_value *out)
{
	out->null = 1;
	return 0;
}

/* Evaluate `expr` (household scope, no fields) with parameters p, q, n
 * (each 0, 1 or 2 for NULL) and return its truth. */
static int truth_of(const char *expr, int p, int q, int n)
{
	struct rule_param_value params[] = {
	    {"p", {p == 2, p == 1, NULL}}, {"q", {q == 2, q == 1, NULL}},
	    {"n", {n == 2, n, NULL}},	   {"t", {0, 0, "abc"}},
	    {"line", {0, 8700, NULL}},	   {"today", {0, 0, "2025-03-01"}},
	};
	struct rule_ctx ctx = {NULL, 0, no_get, params, (int)(sizeof(params) / sizeof(params[0]))};
	struct rule_result res = RULE_RESULT_INIT;
	struct rule *r = compile(expr);
	int t = -1;
	if (r && !rule_eval(r, &ctx, -1, &res)) {
		t = res.truth;
		CHECK_INT(rule_test(r, &ctx, -1), t);
	}
	rule_result_release(&res);
	rule_free(r);
	return t;
}

TEST(rules_precedence_and_operators)
{
	static const struct {
		const char *expr;
		int truth;
	} cases[] = {
	    {"1 + 2 * 3 = 7", RULE_TRUE},
	    {"(1 + 2) * 3 = 9", RULE_TRUE},
	    {"10 - 4 - 3 = 3", RULE_TRUE},
	    {"8 / 4 / 2 = 1", RULE_TRUE},
	    {"7 / 2 = 3.5", RULE_TRUE},
	    {"- 2 * 3 = -6", RULE_TRUE},
	    {"--2 = 2", RULE_TRUE},
	    {"2 - -2 = 4", RULE_TRUE},
	    {"1 + 1 in (2, 3)", RULE_TRUE},
	    {"1 + 1 not in (2, 3)", RULE_FALSE},
	    {"true or false and false", RULE_TRUE},
	    {"(true or false) and false", RULE_FALSE},
	    {"not false and false", RULE_FALSE},
	    {"not 1 = 2", RULE_TRUE},
	    {"NOT 1 = 1 OR 2 > 1", RULE_TRUE},
	    {"1 <> 2 and 1 != 2 and 1 < 2 and 1 <= 1 and 2 > 1 and 2 >= 2", RULE_TRUE},
	    {"'abc' < 'abd' and 'b' > 'abc'", RULE_TRUE},
	    {"'it''s' = 'it''s'", RULE_TRUE},
	    {"true = true and false <> true", RULE_TRUE},
	    {"abs(-3.5) = 3.5 and min(2, 3) = 2 and max(2, 3) = 3", RULE_TRUE},
	    {"coalesce($n, 5) = 5", RULE_UNKNOWN}, /* n = 0 below: 0 = 5 is false… */
	    {"$监测线 = 8700 and $line > 8699.99", RULE_TRUE},
	    {"$t = 'abc'", RULE_TRUE},
	    {"age('2000-03-01') = 25 and age('2000-03-02') = 24", RULE_TRUE},
	    {"years_between('2000-02-29', '2001-02-28') = 0", RULE_TRUE},
	    {"years_between('2000-02-29', '2001-03-01') = 1", RULE_TRUE},
	    {"months_since('2024-09-01') = 6 and months_since('2024-09-02') = 5", RULE_TRUE},
	    {"1.5 * 2 = 3 AND 0.1 + 0.2 > 0.3", RULE_TRUE},
	    {"（1 + 2）* 3 = 9", RULE_TRUE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int want = cases[i].truth, got;
		if (strstr(cases[i].expr, "coalesce"))
			want = RULE_FALSE; /* n = 0 is not NULL: coalesce gives 0 */
		got = truth_of(cases[i].expr, 1, 1, 0);
		if (got != want)
			printf("    %s\n", cases[i].expr);
		CHECK_INT(got, want);
	}
	CHECK_INT(truth_of("coalesce($n, 5) = 5", 1, 1, 2), RULE_TRUE);
}

TEST(rules_three_valued_logic)
{
	/* SQL's truth tables; 2 = NULL (unknown) */
	static const int and_t[3][3] = {{0, 0, 0}, {0, 1, 2}, {0, 2, 2}};
	static const int or_t[3][3] = {{0, 1, 2}, {1, 1, 1}, {2, 1, 2}};
	static const int not_t[3] = {1, 0, 2};
	for (int p = 0; p < 3; p++) {
		CHECK_INT(truth_of("not $p", p, 0, 0), not_t[p]);
		CHECK_INT(truth_of("$p is null", p, 0, 0), p == 2);
		CHECK_INT(truth_of("$p is not null", p, 0, 0), p != 2);
		for (int q = 0; q < 3; q++) {
			CHECK_INT(truth_of("$p and $q", p, q, 0), and_t[p][q]);
			CHECK_INT(truth_of("$甲 or $乙", p, q, 0), or_t[p][q]);
			CHECK_INT(truth_of("$p = $q", p, q, 0), p == 2 || q == 2 ? 2 : p == q);
		}
	}
	/* comparisons, arithmetic, IN and functions with NULL ($n NULL) */
	CHECK_INT(truth_of("$n = 1", 0, 0, 2), RULE_UNKNOWN);
	CHECK_INT(truth_of("$n <> 1", 0, 0, 2), RULE_UNKNOWN);
	CHECK_INT(truth_of("$n + 1 > 0", 0, 0, 2), RULE_UNKNOWN);
	CHECK_INT(truth_of("$n in (1, 2)", 0, 0, 2), RULE_UNKNOWN);
	CHECK_INT(truth_of("1 in (2, $n)", 0, 0, 2), RULE_UNKNOWN);
	CHECK_INT(truth_of("1 in (1, $n)", 0, 0, 2), RULE_TRUE);
	CHECK_INT(truth_of("2 not in (1, $n)", 0, 0, 2), RULE_UNKNOWN);
	CHECK_INT(truth_of("1 not in (1, $n)", 0, 0, 2), RULE_FALSE);
	CHECK_INT(
	    truth_of("abs($n) is null and min($n, 1) is null and max(1, $n) is null", 0, 0, 2),
	    RULE_TRUE);
	CHECK_INT(truth_of("1 / 0 is null and 1 / $n is null", 0, 0, 0), RULE_TRUE);
	CHECK_INT(truth_of("(1 / 0 > 0) is null", 0, 0, 0), RULE_TRUE);
	CHECK_INT(truth_of("false and 1 / 0 > 0", 0, 0, 0), RULE_FALSE);
	CHECK_INT(truth_of("true or 1 / 0 > 0", 0, 0, 0), RULE_TRUE);
	CHECK_INT(truth_of("not (1 / 0 > 0)", 0, 0, 0), RULE_UNKNOWN);
}

/* ---- compile errors ---- */

TEST(rules_compile_errors)
{
	static const struct {
		const char *expr;
		int column;
		const char *msg; /* expected message after "第 N 个字符处：" */
	} cases[] = {
	    /* unbalanced parentheses */
	    {"(net_income_pc < 100", 21, "缺少右括号（与第 1 个字符处的左括号配对）"},
	    {"net_income_pc < 100)", 20, "多余的右括号"},
	    {"count(member, true", 19, "缺少右括号“)”"},
	    /* dangling operator */
	    {"net_income_pc <", 16, "“<”后缺少值"},
	    {"size > 1 and", 13, "“and”后缺少值"},
	    {"size * > 1", 8, "“*”后缺少值"},
	    /* unknown field, with a suggestion (title and English name) */
	    {"人均收入 < $line", 1, "未知字段“人均收入”，是否应为“人均纯收入”？"},
	    {"net_incom_pc < $line", 1, "未知字段“net_incom_pc”，是否应为“net_income_pc”？"},
	    {"size > 1 and qqqqqqqq", 14, "未知字段“qqqqqqqq”"},
	    {"$lin > 1", 1, "未知参数“$lin”，是否应为“$line”？"},
	    {"line > 1", 1, "“line”是参数，请写成“$line”"},
	    /* unknown label, with a suggestion or the choices */
	    {"any(member, labor_skill = '普通劳力')", 27,
	     "“劳动技能”没有“普通劳力”这一项，是否应为“普通劳动力”？"},
	    {"hh_type in ('脱贫户', 'xyz')", 20,
	     "“户类型”没有“xyz”这一项（可选：脱贫户、一般农户、低保户、特困供养户）"},
	    {"any(member, health has '大病')", 24,
	     "“健康状况”没有“大病”这一项，是否应为“患有大病”？"},
	    /* type mismatches */
	    {"hh_no < 5", 7, "不能比较文本“hh_no”和数值“5”"},
	    {"size = 'abc'", 6, "不能比较数值“size”和文本“'abc'”"},
	    {"joined > '2024-13-01'", 10,
	     "“2024-13-01”不是有效日期（应为 YYYY-MM-DD，如 '2024-03-01'）"},
	    {"size + hh_no > 1", 8, "“+”的运算对象应为数值，而“hh_no”是文本"},
	    {"size and true", 1, "“and”的运算对象应为条件（真/假），而“size”是数值"},
	    {"hh_type < '低保户'", 9, "代码“hh_type”只能用 =、!= 或 in 比较，不能比大小"},
	    {"net_income + 1", 1, "规则应为条件（结果为真/假），而整个表达式的结果是数值"},
	    {"1 < 2 < 3", 7, "比较不能连写，请用 and 连接两个条件"},
	    /* a member field outside member context */
	    {"labor_skill = '普通劳动力'", 1,
	     "“labor_skill”是成员字段，只能用在 any/all/count/sum(member, …) 之中，如 "
	     "any(member, labor_skill …)"},
	    {"age() > 60", 1,
	     "age() 不带参数时指成员的年龄，只能用在 any/all/count/sum(member, …) "
	     "之中；户的日期请写 "
	     "age(日期字段)"},
	    {"any(member, count(member, true) > 1)", 13,
	     "count(member, …) 不能写在另一个 any/all/count/sum 之中"},
	    {"any(size > 1)", 5,
	     "any 的第一个参数应为 member，如 any(member, 健康状况 has '患有大病')"},
	    /* unterminated string */
	    {"hh_no = 'abc", 9, "字符串缺少结尾的单引号"},
	    /* bad numbers */
	    {"size > 1.2.3", 8, "“1.2.3”不是有效的数"},
	    {"size > 8700元", 8, "“8700元”不是有效的数"},
	    {"size > 3.", 8, "“3.”不是有效的数"},
	    {"size > .5", 8, "“.5”不是有效的数"},
	    {"size > 12345678901234567", 8, "数“12345678901234567”太大"},
	    /* empty */
	    {"", 1, "表达式为空"},
	    {"   ", 1, "表达式为空"},
	    /* unknown function, wrong arguments */
	    {"agee(joined) > 1", 1, "未知函数“agee”，是否应为“age”？"},
	    {"frobnicate(1) > 1", 1, "未知函数“frobnicate”"},
	    {"abs(1, 2) > 1", 4, "函数 abs 需要 1 个参数，这里有 2 个"},
	    {"months_since(size) > 1", 14, "“months_since”的运算对象应为日期，而“size”是数值"},
	    /* has on a non-set field, and a set compared directly */
	    {"any(member, labor_skill has '普通劳动力')", 25,
	     "has 只能用于多选字段（如健康状况），“labor_skill”是代码，请用 = 或 in"},
	    {"any(member, health = '残疾')", 20,
	     "多选字段“health”请用 has 判断，如 health has '残疾'"},
	    {"any(member, health has '残疾,患有大病')", 24,
	     "has 一次只能判断一个标签，多个请用 or 连接"},
	    /* characters */
	    {"size # 1", 6, "无法识别的字符“#”"},
	    /* bytes that are not UTF-8, in a string or a name (found by fuzzing:
	     * a code point above U+10FFFF was taken as part of a name) */
	    {"hh_no = '\xf6\x92\x92\x95'", 10, "表达式不是有效的 UTF-8 文本"},
	    {"size > 1 and \xe0\x80\x80", 14, "表达式不是有效的 UTF-8 文本"},
	    {"户\xed\xa0\x80 > 1", 2, "表达式不是有效的 UTF-8 文本"},
	    {"\xff\xbf\xbf > 1", 1, "表达式不是有效的 UTF-8 文本"},
	    {"hh_no = “abc”", 9, "字符串请用英文单引号括起，如 '户主'"},
	    {"size == 1", 6, "相等请写“=”，不是“==”"},
	    {"size is 1", 9, "“is”后应为 null 或 not null"},
	    {"size 1", 6, "此处应为运算符（and、or、=、+ …）或表达式结束，却是“1”"},
	    {"hh_no = null", 9, "null 只能写在 is null 或 is not null 中"},
	    {"age(joined) > 1 and 人均纯收入 >", 28, "“>”后缺少值"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rule_error err;
		struct rule *r = rule_compile(&toy, RULE_HOUSEHOLD, cases[i].expr, &err);
		char want[600];
		snprintf(want, sizeof(want), "第 %d 个字符处：%s", cases[i].column, cases[i].msg);
		CHECK(!r);
		rule_free(r);
		if (!CHECK_STR(err.msg, want))
			printf("    (expression: %s)\n", cases[i].expr);
		CHECK_INT(err.column, cases[i].column);
		/* the byte offset points at the same character */
		{
			int col = 1;
			for (size_t k = 0; k < err.offset; k++)
				if (((unsigned char)cases[i].expr[k] & 0xC0) != 0x80)
					col++;
			CHECK_INT(col, err.column);
		}
	}
}

TEST(rules_member_scope_compiles)
{
	struct rule_error err;
	struct rule *r =
	    rule_compile(&toy, RULE_MEMBER, "age() < 16 and 劳动技能 = '普通劳动力'", &err);
	CHECK(r != NULL);
	if (r) {
		CHECK_INT(rule_nr_values(r), 2);
		CHECK_STR(rule_value_label(r, 0), "出生日期");
		CHECK_STR(rule_value_label(r, 1), "劳动技能");
		CHECK_INT(rule_value_type(r, 1), RULE_CODE);
	}
	rule_free(r);
	/* member rules see aggregates too, but not nested ones */
	r = rule_compile(&toy, RULE_MEMBER, "income > 0 and count(member, income > 0) = 1", &err);
	CHECK(r != NULL);
	rule_free(r);
}

static int failing_get(void *opaque, const struct rule_field *f, int member, struct rule_value *out)
{
	out->null = 0;
	out->num = 1;
	return f->scope == RULE_MEMBER ? -1 : 0;
}

TEST(rules_eval_failures)
{
	struct rule_param_value line = {"line", {0, 8700, NULL}};
	struct rule_ctx ctx = {NULL, 2, failing_get, &line, 1};
	struct rule_result res = RULE_RESULT_INIT;
	struct rule_error err;
	struct rule *r = compile("size > 0 and any(member, income > 0)");
	struct rule *m = rule_compile(&toy, RULE_MEMBER, "income > 0", &err);

	/* a field that cannot be read: -1, and the rule does not fire */
	CHECK_INT(rule_eval(r, &ctx, -1, &res), -1);
	CHECK_INT(res.truth, RULE_UNKNOWN);
	CHECK_INT(res.nr_values, 2);
	/* a missing parameter */
	rule_free(r);
	r = compile("size > $line and size < $n");
	CHECK_INT(rule_eval(r, &ctx, -1, &res), -1);
	CHECK_INT(res.truth, RULE_UNKNOWN);
	/* a member rule on a member that does not exist */
	CHECK_INT(rule_eval(m, &ctx, 2, &res), -1);
	CHECK_INT(rule_eval(m, &ctx, -1, &res), -1);
	CHECK(res.values != NULL && res.values[0].null);
	rule_result_release(&res);
	rule_free(r);
	rule_free(m);
}

/* ---- explanation text ---- */

TEST(rules_explain_format)
{
	struct rule *r =
	    compile("人均纯收入 < $监测线 and hh_type = '脱贫户' and joined is not null "
		    "and water_ok and any(member, health has '患有大病')");
	struct rule_value vals[6] = {
	    {0, 5230, NULL},	  {0, 8700, NULL}, {0, 1, NULL},
	    {0, 0, "2024-05-06"}, {0, 1, NULL},	   {0, 1, NULL},
	};
	struct buf b = BUF_INIT;
	if (!r)
		return;
	CHECK_INT(rule_nr_values(r), 6);
	rule_explain(r, vals, &b);
	CHECK_STR(b.buf,
		  "人均纯收入 5,230 元；监测线 8,700 元；户类型 脱贫户；识别日期 2024-05-06；"
		  "饮水安全 是；有成员满足“health has '患有大病'” 是");
	rule_free(r);

	/* numbers: separators, at most two decimals, negative, zero; NULL; sets */
	{
		static const struct {
			double x;
			const char *want;
		} nums[] = {
		    {0, "0"},
		    {999, "999"},
		    {1000, "1,000"},
		    {1234567.891, "1,234,567.89"},
		    {-1234.5, "-1,234.5"},
		    {0.004, "0"},
		    {-0.004, "0"},
		    {100.10, "100.1"},
		    {1e9, "1,000,000,000"},
		};
		for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
			struct rule_value v = {0, nums[i].x, NULL};
			buf_reset(&b);
			rule_format_value(RULE_NUM, NULL, NULL, &v, &b);
			CHECK_STR(b.buf, nums[i].want);
		}
	}
	{
		struct rule_value v = {0, (1 << HEALTH_CHRONIC) | (1 << HEALTH_DISABLED), NULL};
		struct rule_value nul = {1, 0, NULL};
		buf_reset(&b);
		rule_format_value(RULE_SET, &code_health, NULL, &v, &b);
		CHECK_STR(b.buf, "长期慢性病、残疾");
		buf_reset(&b);
		rule_format_value(RULE_NUM, NULL, "元", &nul, &b);
		CHECK_STR(b.buf, "空");
		v.num = 99;
		buf_reset(&b);
		rule_format_value(RULE_CODE, &code_relation, NULL, &v, &b);
		CHECK_STR(b.buf, "代码 99");
	}
	/* aggregate labels */
	r = compile("count(member, labor_skill in ('普通劳动力', '技能劳动力')) = 0 and "
		    "sum(member, income) < 100 and all(member, age() >= 60)");
	if (r) {
		CHECK_INT(rule_nr_values(r), 3);
		CHECK_STR(rule_value_label(r, 0),
			  "满足“labor_skill in ('普通劳动力', '技能劳动力')”的成员数");
		CHECK_STR(rule_value_label(r, 1), "成员“income”合计");
		CHECK_STR(rule_value_label(r, 2), "全部成员满足“age() >= 60”");
		{
			struct rule_value v3[3] = {{0, 0, NULL}, {0, 50.5, NULL}, {0, 0, NULL}};
			buf_reset(&b);
			rule_explain(r, v3, &b);
			CHECK_STR(b.buf,
				  "满足“labor_skill in ('普通劳动力', '技能劳动力')”的成员数 0 人；"
				  "成员“income”合计 50.5 元；全部成员满足“age() >= 60” 否");
		}
	}
	rule_free(r);
	buf_release(&b);
}

/* ---- the generated SQL ---- */

TEST(rules_sql_portable)
{
	static const char *const exprs[] = {
	    "net_income_pc < $line and size / 2 > 1",
	    "any(member, age() >= 60) and all(member, health has '残疾')",
	    "count(member, months_since(birth_date) < 6) > 0 or sum(member, income) > 1.5",
	    "min(size, 3) = 3 and max(wage, 1) > abs(-2) and coalesce(joined, '2020-01-01') < "
	    "$today",
	};
	static const char *const banned[] = {"iif",   "instr",	"printf", "julianday", "strftime",
					     "date(", "ifnull", "least",  "greatest",  "=="};
	for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
		struct rule *r = compile(exprs[i]);
		struct buf sql = BUF_INIT;
		if (!r)
			continue;
		rule_to_sql(r, "h.region LIKE :region", &sql);
		for (char *c = sql.buf; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c += 'a' - 'A';
		for (size_t k = 0; k < sizeof(banned) / sizeof(banned[0]); k++) {
			char want[40];
			snprintf(want, sizeof(want), "%s", banned[k]);
			for (char *c = want; *c; c++)
				if (*c >= 'A' && *c <= 'Z')
					*c += 'a' - 'A';
			if (!CHECK(!strstr(sql.buf, want)))
				printf("    %s in: %s\n", banned[k], sql.buf);
		}
		CHECK(strstr(sql.buf, "and (h.region like :region)") != NULL);
		/* the income table is joined only when the rule reads it */
		CHECK(!strstr(sql.buf, "hh_income") == !strstr(sql.buf, "i."));
		if (strchr(exprs[i], '/'))
			CHECK(strstr(sql.buf, "nullif(") != NULL);
		if (strstr(exprs[i], "age() >= 60"))
			/* age compared with a whole number becomes a date comparison */
			CHECK(strstr(sql.buf, "(m.birth_date) <= (cast(") != NULL);
		if (strstr(exprs[i], "count(member, months_since(birth_date) < 6) > 0")) {
			/* in the condition, "count > 0" becomes EXISTS */
			const char *where = strstr(sql.buf, "\nwhere ");
			CHECK(where && !strstr(where, "count("));
			CHECK(where && strstr(where, "(exists (select 1 from member m"));
			/* and months_since() < 6 a comparison with a cut-off date */
			CHECK(!strstr(sql.buf, "substr((m.birth_date)"));
		}
		buf_release(&sql);
		rule_free(r);
	}
}

/* ---- evaluate-vs-SQL equivalence over a random toy registry ---- */

struct toy_hh {
	int64_t id;
	struct rule_value *vals; /* per catalogue field (household ones) */
	int first_member, nr_members;
};

struct toy_db {
	struct db *db;
	struct toy_hh *hh;
	int nr_hh;
	struct rule_value *mvals; /* per member, NR_TOY_FIELDS values */
	int64_t *member_ids;
	int nr_members;
	char **texts;
	int nr_texts, alloc_texts;
};

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int pick(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

/* Bind an int, or NULL one time in `null_one_in`. */
static void bind_maybe(struct db_stmt *st, const char *name, int64_t v, int null_one_in)
{
	if (null_one_in && !pick(null_one_in))
		db_bind_null(st, name);
	else
		db_bind_int(st, name, v);
}

/* Run an INSERT; a failure fails the test. */
static void run_ok(struct toy_db *t, struct db_stmt *st)
{
	if (!CHECK(db_run(st) == 0))
		printf("    %s\n", db_errmsg(t->db));
	db_done(st);
}

static void random_date(char out[16], int y0, int y1)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y = y0 + pick(y1 - y0 + 1), m = 1 + pick(12), d;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	d = 1 + pick(mdays[m - 1] + (m == 2 && leap));
	switch (pick(12)) { /* the awkward days more often */
	case 0:
		if (leap)
			m = 2, d = 29;
		break;
	case 1:
		m = 2, d = 28;
		break;
	case 2:
		m = 3, d = 1;
		break;
	}
	snprintf(out, 16, "%04d-%02d-%02d", y % 10000, m % 100, d % 100);
}

static void toy_create(struct toy_db *t, int nr_hh)
{
	const char *pg = getenv("LIUBAO_TEST_PG");
	char path[256], err[256];
	struct db_stmt *st;

	memset(t, 0, sizeof(*t));
	if (pg && *pg) {
		/* the second pass of tests/run-all: the same SQL on PostgreSQL */
		t->db = db_open(pg, 0, err, sizeof(err));
		if (t->db)
			db_exec(t->db, "DROP SCHEMA IF EXISTS rules_test CASCADE;"
				       "CREATE SCHEMA rules_test; SET search_path TO rules_test");
	} else {
		/* a fresh file for every test that builds one */
		static int nr_made;
		snprintf(path, sizeof(path), "%s/rules-%d.db", unit_tmpdir(), ++nr_made);
		t->db = db_open(path, 1, err, sizeof(err));
	}
	if (!t->db) {
		printf("    %s\n", err);
		return;
	}
	if (!CHECK(!db_exec(
		t->db,
		"CREATE TABLE household(id INTEGER PRIMARY KEY, hh_no TEXT, size INTEGER,"
		" hh_type INTEGER, water_ok INTEGER, joined TEXT, region TEXT);"
		"CREATE TABLE hh_income(household_id INTEGER, year INTEGER, wage REAL,"
		" farm INTEGER, cost INTEGER, medical INTEGER, PRIMARY KEY(household_id, year));"
		"CREATE TABLE member(id INTEGER PRIMARY KEY AUTOINCREMENT, household_id INTEGER,"
		" relation INTEGER, birth_date TEXT, health INTEGER, labor_skill INTEGER,"
		" income INTEGER, name TEXT, student INTEGER);"
		"CREATE INDEX member_household ON member(household_id);")))
		printf("    %s\n", db_errmsg(t->db));
	db_begin(t->db);
	for (int h = 1; h <= nr_hh; h++) {
		char no[16], date[16];
		int nm = pick(7); /* 0 … 6 members */
		snprintf(no, sizeof(no), "H%05d", h);
		st = db_prepare(t->db, "INSERT INTO household(id, hh_no, size, hh_type, water_ok,"
				       " joined, region) VALUES(:id, :no, :size, :type, :water,"
				       " :joined, :region)");
		db_bind_int(st, ":id", h);
		if (pick(20))
			db_bind_text(st, ":no", no);
		else
			db_bind_null(st, ":no");
		bind_maybe(st, ":size", pick(8) ? nm : pick(3),
			   15); /* sometimes wrong, 0 or NULL */
		bind_maybe(st, ":type", 1 + pick(5), 10);
		bind_maybe(st, ":water", pick(4) != 0, 8);
		random_date(date, 2020, 2025);
		if (pick(6))
			db_bind_text(st, ":joined", date);
		else
			db_bind_null(st, ":joined");
		db_bind_text(st, ":region", pick(2) ? "610926" : "610927");
		run_ok(t, st);
		for (int y = 2023; y <= 2024; y++) {
			if (!pick(8))
				continue; /* no income row: every income field NULL */
			st = db_prepare(t->db,
					"INSERT INTO hh_income(household_id, year, wage, farm,"
					" cost, medical) VALUES(:h, :y, :wage, :farm, :cost,"
					" :medical)");
			db_bind_int(st, ":h", h);
			db_bind_int(st, ":y", y);
			if (pick(10))
				db_bind_double(st, ":wage", pick(60000) + 0.25 * pick(4));
			else
				db_bind_null(st, ":wage");
			bind_maybe(st, ":farm", pick(20000), 10);
			bind_maybe(st, ":cost", pick(8000), 10);
			bind_maybe(st, ":medical", pick(4) ? pick(3000) : pick(60000), 6);
			run_ok(t, st);
		}
		for (int m = 0; m < nm; m++) {
			char name[16];
			st = db_prepare(t->db,
					"INSERT INTO member(household_id, relation, birth_date,"
					" health, labor_skill, income, name, student)"
					" VALUES(:h, :rel, :birth, :health, :labor, :income,"
					" :name, :student)");
			db_bind_int(st, ":h", h);
			bind_maybe(st, ":rel", m == 0 ? 1 : 2 + pick(27), m == 0 ? 30 : 12);
			random_date(date, 1930, 2024);
			if (pick(15))
				db_bind_text(st, ":birth", date);
			else
				db_bind_null(st, ":birth");
			bind_maybe(st, ":health", pick(3) ? 1 : pick(16), 12);
			bind_maybe(st, ":labor", 1 + pick(5), 12);
			bind_maybe(st, ":income", pick(3) ? 0 : pick(30000), 8);
			snprintf(name, sizeof(name), "name%d", pick(8));
			if (pick(10))
				db_bind_text(st, ":name", name);
			else
				db_bind_null(st, ":name");
			bind_maybe(st, ":student", pick(5) == 0, 10);
			run_ok(t, st);
		}
	}
	if (!CHECK(db_commit(t->db) == 0))
		printf("    %s\n", db_errmsg(t->db));
}

static const char *keep_text(struct toy_db *t, const char *s)
{
	if (t->nr_texts == t->alloc_texts) {
		t->alloc_texts = t->alloc_texts ? 2 * t->alloc_texts : 1024;
		t->texts = realloc(t->texts, t->alloc_texts * sizeof(*t->texts));
	}
	return t->texts[t->nr_texts++] = strdup(s);
}

/* Read a column as a value of `type`. */
static void read_value(struct toy_db *t, struct db_stmt *st, int col, int type,
		       struct rule_value *v)
{
	memset(v, 0, sizeof(*v));
	if (db_col_is_null(st, col))
		v->null = 1;
	else if (type == RULE_TEXT || type == RULE_DATE)
		v->text = keep_text(t, db_col_text(st, col));
	else if (type == RULE_NUM)
		v->num = db_col_double(st, col);
	else
		v->num = (double)db_col_int(st, col);
}

/* Load every field of every household and member for `year`, with the
 * catalogue's SQL, into memory: what a form would hand to rule_eval(). */
static void toy_load(struct toy_db *t, int year)
{
	struct buf sql = BUF_INIT;
	struct db_stmt *st;
	int nr_alloc = 0, mi = 0;

	for (int i = 0; i < t->nr_hh; i++)
		free(t->hh[i].vals);
	free(t->hh);
	free(t->mvals);
	free(t->member_ids);
	t->hh = NULL;
	t->nr_hh = 0;

	buf_addstr(&sql, "SELECT h.id");
	for (int f = 0; f < NR_TOY_FIELDS; f++)
		if (toy_fields[f].scope == RULE_HOUSEHOLD)
			buf_addf(&sql, ", %s", toy_fields[f].sql);
	buf_addf(&sql, " FROM %s %s ORDER BY h.id", toy.household_from, toy_joins[0].sql);
	st = db_prepare_text(t->db, sql.buf);
	db_bind_int(st, ":year", year);
	while (db_step(st) == DB_ROW) {
		struct toy_hh *h;
		int col = 1;
		if (t->nr_hh == nr_alloc) {
			nr_alloc = nr_alloc ? 2 * nr_alloc : 256;
			t->hh = realloc(t->hh, nr_alloc * sizeof(*t->hh));
		}
		h = &t->hh[t->nr_hh++];
		memset(h, 0, sizeof(*h));
		h->id = db_col_int(st, 0);
		h->vals = calloc(NR_TOY_FIELDS, sizeof(*h->vals));
		for (int f = 0; f < NR_TOY_FIELDS; f++)
			if (toy_fields[f].scope == RULE_HOUSEHOLD)
				read_value(t, st, col++, toy_fields[f].type, &h->vals[f]);
	}
	db_done(st);
	buf_reset(&sql);

	st = db_prepare(t->db, "SELECT COUNT(*) FROM member");
	db_step(st);
	t->nr_members = (int)db_col_int(st, 0);
	db_done(st);
	t->mvals = calloc((size_t)t->nr_members * NR_TOY_FIELDS + 1, sizeof(*t->mvals));
	t->member_ids = calloc(t->nr_members + 1, sizeof(*t->member_ids));

	buf_addstr(&sql, "SELECT m.household_id, m.id");
	for (int f = 0; f < NR_TOY_FIELDS; f++)
		if (toy_fields[f].scope == RULE_MEMBER)
			buf_addf(&sql, ", %s", toy_fields[f].sql);
	buf_addstr(&sql, " FROM member m ORDER BY m.household_id, m.id");
	st = db_prepare_text(t->db, sql.buf);
	{
		int hi = 0;
		while (db_step(st) == DB_ROW && mi < t->nr_members) {
			int64_t hid = db_col_int(st, 0);
			int col = 2;
			while (hi < t->nr_hh && t->hh[hi].id < hid)
				hi++;
			if (hi < t->nr_hh && t->hh[hi].id == hid) {
				if (!t->hh[hi].nr_members)
					t->hh[hi].first_member = mi;
				t->hh[hi].nr_members++;
			}
			t->member_ids[mi] = db_col_int(st, 1);
			for (int f = 0; f < NR_TOY_FIELDS; f++)
				if (toy_fields[f].scope == RULE_MEMBER)
					read_value(t, st, col++, toy_fields[f].type,
						   &t->mvals[(size_t)mi * NR_TOY_FIELDS + f]);
			mi++;
		}
	}
	db_done(st);
	buf_release(&sql);
}

static void toy_free(struct toy_db *t)
{
	if (getenv("LIUBAO_TEST_PG"))
		db_exec(t->db, "DROP SCHEMA rules_test CASCADE");
	db_close(t->db);
	for (int i = 0; i < t->nr_hh; i++)
		free(t->hh[i].vals);
	for (int i = 0; i < t->nr_texts; i++)
		free(t->texts[i]);
	free(t->hh);
	free(t->mvals);
	free(t->member_ids);
	free(t->texts);
}

struct toy_ctx {
	struct toy_db *t;
	struct toy_hh *hh;
	int calls;
};

static int toy_get(void *opaque, const struct rule_field *f, int member, struct rule_value *out)
{
	struct toy_ctx *c = opaque;
	int fi = (int)(f - toy_fields);
	c->calls++;
	if (fi < 0 || fi >= NR_TOY_FIELDS)
		return -1;
	if (f->scope == RULE_HOUSEHOLD && member == -1) {
		*out = c->hh->vals[fi];
		return 0;
	}
	if (f->scope == RULE_MEMBER && member >= 0 && member < c->hh->nr_members) {
		*out = c->t->mvals[(size_t)(c->hh->first_member + member) * NR_TOY_FIELDS + fi];
		return 0;
	}
	return -1; /* a wrong member index is a bug in rule_eval */
}

/* Run `expr` both ways; append "household[/member]: explanation" lines of
 * the hits to `via_eval` and `via_sql`.  Returns the number of SQL hits. */
static int run_both(struct toy_db *t, int scope, const char *expr,
		    const struct rule_param_value *params, int nr_params, struct buf *via_eval,
		    struct buf *via_sql)
{
	struct rule_error err;
	struct rule *r = rule_compile(&toy, scope, expr, &err);
	struct buf sql = BUF_INIT;
	struct rule_result res = RULE_RESULT_INIT;
	struct rule_value *vals;
	struct db_stmt *st;
	int hits = 0;

	if (!r) {
		printf("    cannot compile %s: %s\n", expr, err.msg);
		CHECK(0);
		return -1;
	}

	/* one household at a time */
	for (int i = 0; i < t->nr_hh; i++) {
		struct toy_ctx c = {t, &t->hh[i], 0};
		struct rule_ctx ctx = {&c, t->hh[i].nr_members, toy_get, params, nr_params};
		int first = scope == RULE_MEMBER ? 0 : -1;
		int last = scope == RULE_MEMBER ? t->hh[i].nr_members - 1 : -1;
		for (int m = first; m <= last; m++) {
			if (rule_eval(r, &ctx, m, &res)) {
				CHECK(0);
				break;
			}
			CHECK_INT(rule_test(r, &ctx, m), res.truth);
			if (res.truth != RULE_TRUE)
				continue;
			buf_addf(via_eval, "%lld", (long long)t->hh[i].id);
			if (m >= 0)
				buf_addf(via_eval, "/%lld",
					 (long long)t->member_ids[t->hh[i].first_member + m]);
			buf_addstr(via_eval, ": ");
			rule_explain(r, res.values, via_eval);
			buf_addch(via_eval, '\n');
		}
	}
	rule_result_release(&res);

	/* the whole registry at once */
	rule_to_sql(r, NULL, &sql);
	st = db_prepare_text(t->db, sql.buf);
	if (rule_sql_bind(r, sql.buf, st, params, nr_params))
		CHECK(0);
	vals = calloc(rule_nr_values(r) + 1, sizeof(*vals));
	while (db_step(st) == DB_ROW) {
		hits++;
		buf_addf(via_sql, "%lld", (long long)db_col_int(st, 0));
		if (scope == RULE_MEMBER)
			buf_addf(via_sql, "/%lld", (long long)db_col_int(st, 1));
		buf_addstr(via_sql, ": ");
		rule_sql_values(r, st, vals);
		rule_explain(r, vals, via_sql);
		buf_addch(via_sql, '\n');
	}
	db_done(st);
	free(vals);
	buf_release(&sql);
	rule_free(r);
	return hits;
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort the lines of b: the SQL gives hits in no particular order. */
static void sort_lines(struct buf *b)
{
	char **lines = NULL, *copy = strdup(b->buf);
	int n = 0, alloc = 0;
	for (char *s = copy, *nl; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		if (!nl)
			break;
		*nl = '\0';
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 256;
			lines = realloc(lines, alloc * sizeof(*lines));
		}
		lines[n++] = s;
	}
	if (n)
		qsort(lines, n, sizeof(*lines), cmp_lines);
	buf_reset(b);
	for (int i = 0; i < n; i++)
		buf_addf(b, "%s\n", lines[i]);
	free(lines);
	free(copy);
}

/* Print the first line where a and b differ. */
static void show_difference(const char *a, const char *b)
{
	int line = 1;
	while (*a && *a == *b) {
		if (*a == '\n')
			line++;
		a++, b++;
	}
	while (line > 1 && a[-1] != '\n')
		a--, b--;
	printf("    line %d differs:\n    eval: %.*s\n    sql:  %.*s\n", line,
	       (int)(strchr(a, '\n') ? strchr(a, '\n') - a : (long)strlen(a)), a,
	       (int)(strchr(b, '\n') ? strchr(b, '\n') - b : (long)strlen(b)), b);
}

static const char *const household_exprs[] = {
    "net_income_pc < $line",
    "人均纯收入 < $监测线 and 户类型 in ('脱贫户', '一般农户')",
    "medical > net_income * 0.5 or medical > 20000",
    "any(member, health has '患有大病')",
    "count(member, labor_skill in ('普通劳动力', '技能劳动力')) = 0",
    "all(member, labor_skill in ('丧失劳动力', '无劳动力'))",
    "all(member, labor_skill in ('丧失劳动力', '无劳动力')) and count(member, true) > 0",
    "sum(member, income) > wage",
    "count(member, age() >= 60) >= 2",
    "any(member, age() < 16 and labor_skill = '普通劳动力')",
    "any(member, age() = 18) or any(member, age() != 40 and age() <= 45 and 65 < age() + 30)",
    "any(member, 16 > age() and age() > 6 and not student)",
    "not water_ok",
    "water_ok = false or water_ok is null",
    "joined is not null and months_since(joined) >= 6",
    "years_between(joined, $today) > 1 and age(joined) < 4",
    "coalesce(wage, 0) + coalesce(net_income, 0) / 2 > 5000",
    "abs(net_income - wage) > 1000 and min(wage, net_income) < max(3000, size * 1000)",
    "hh_no >= 'H00100' and hh_no < 'H00500'",
    "size not in (1, 2, 3)",
    "size / 0 is null and -size < -3",
    "count(member, relation = '户主') != 1",
    "count(member, relation = '户主') = 0 or 0 < count(member, age() > 70)",
    "count(member, health has '残疾') >= 1 and count(member, true) <= 0 + 3",
    "any(member, name = 'name3' or name is null)",
    "any(member, income > net_income_pc)",
    "count(member, student) > 0 and not any(member, not student)",
    "count(member, health has '残疾' or health has '长期慢性病') >= 2",
    "all(member, health is not null and not health has '健康')",
    "net_income_pc >= 0.5 * $line and net_income_pc < 1.5 * $line",
    "(wage > 10000) = (size > 2)",
    "any(member, birth_date > '2010-01-01' and birth_date <= $today)",
    "sum(member, income * 1.5) / size >= 3000",
    "hh_type = '低保户' or (hh_type is null and size > 4)",
    "coalesce(joined, '2020-01-01') < '2021-06-30'",
    "count(member, age() >= 16 and age() < 60 and labor_skill in ('普通劳动力', '技能劳动力')) "
    "* 4 > count(member, true)",
    "$t = 'abc' and size > 2 and $year = 2024",
    "any(member, months_since(birth_date) < 18)",
    "any(member, months_since(birth_date) = 13 or 25 <= months_since(birth_date) and "
    "months_since(birth_date) != 30 and months_since(birth_date) <= 40)",
    "months_since(joined) > 11 and months_since(joined) >= 0 and 200 > months_since(joined)",
    "any(member, months_since(birth_date) + 0 > 1000 and months_since(birth_date) < 1001.5)",
    "net_income / size = net_income_pc",
    "not (net_income_pc >= $line or hh_type not in ('脱贫户'))",
    /* NULL parameters ($q, $n) inside the SQL: three-valued logic on the engine */
    "($q or size > 3) and not ($q and size > 5)",
    "$n in (1, 2) or size in (1, $n)",
    "(size not in (1, $n)) is null and size > 2",
    "coalesce($n, size) > 2 and min(size, $n) is null and $p",
    "($p and $q) is null and not ($q or false) is not null and size = 2",
    /* joins made inner when the rule cannot be true without their row, and
     * any() written as a set when every household reaches it */
    "(hh_type = '脱贫户' and medical >= 5000) or (hh_type != '脱贫户' and medical >= 20000)",
    "not any(member, health has '残疾')",
    "water_ok = false or not any(member, student)",
    "medical > 1000 or any(member, age() > 70)",
    "wage is null or any(member, income is null)",
    "not (wage is not null) and size > 1",
    "coalesce(wage, 0) = 0 and size > 2",
    "not (medical < 3000 or wage is null) and any(member, student)",
    "-wage < -5000 and abs(medical) in (0, 100, 2500)",
    /* yes/no fields against TRUE and FALSE, either side, and their NULLs */
    "any(member, student = true) and water_ok != false",
    "water_ok = true or false = water_ok or water_ok != true",
    "water_ok is not null and not (water_ok != false) and any(member, false != student)",
};

static const char *const member_exprs[] = {
    "age() < 16 and labor_skill in ('普通劳动力', '技能劳动力')",
    "health has '患有大病' and net_income_pc < $line",
    "relation = '户主' and age() > 80",
    "income > 0 and count(member, income > 0) = 1",
    "student and age() >= 18",
};

static void run_suite(struct toy_db *t, int year, const char *today, int *meaningful, int *total)
{
	struct rule_param_value params[] = {
	    {"line", {0, 8700, NULL}}, {"year", {0, year, NULL}}, {"today", {0, 0, today}},
	    {"t", {0, 0, "abc"}},      {"p", {0, 1, NULL}},	  {"q", {1, 0, NULL}},
	    {"n", {1, 0, NULL}},
	};
	int nr_params = (int)(sizeof(params) / sizeof(params[0]));

	toy_load(t, year);
	if (getenv("RULES_VERBOSE"))
		printf("    %d households, %d members\n", t->nr_hh, t->nr_members);
	for (int k = 0; k < 2; k++) {
		const char *const *exprs = k ? member_exprs : household_exprs;
		int n = k ? (int)(sizeof(member_exprs) / sizeof(member_exprs[0]))
			  : (int)(sizeof(household_exprs) / sizeof(household_exprs[0]));
		for (int i = 0; i < n; i++) {
			struct buf a = BUF_INIT, b = BUF_INIT;
			int hits = run_both(t, k ? RULE_MEMBER : RULE_HOUSEHOLD, exprs[i], params,
					    nr_params, &a, &b);
			sort_lines(&a);
			sort_lines(&b);
			if (!CHECK(!strcmp(a.buf, b.buf))) {
				printf("    expression: %s (year %d, today %s)\n", exprs[i], year,
				       today);
				show_difference(a.buf, b.buf);
			}
			(*total)++;
			if (hits > 0 && hits < (k ? t->nr_members : t->nr_hh))
				(*meaningful)++;
			else if (getenv("RULES_VERBOSE"))
				printf("    %d hits: %s (year %d)\n", hits, exprs[i], year);
			buf_release(&a);
			buf_release(&b);
		}
	}
}

TEST(rules_eval_matches_sql)
{
	struct toy_db t;
	int meaningful = 0, total = 0;

	toy_create(&t, 3000);
	if (!CHECK(t.db != NULL))
		return;
	run_suite(&t, 2024, "2025-02-28", &meaningful, &total);
	run_suite(&t, 2023, "2024-02-29", &meaningful, &total);
	run_suite(&t, 2024, "2025-03-01", &meaningful, &total);
	run_suite(&t, 2024, "2026-01-31", &meaningful, &total);
	/* nearly every expression selects some households but not all */
	if (!CHECK(meaningful >= total - 1))
		printf("    only %d of %d runs had some but not all rows as hits\n", meaningful,
		       total);
	toy_free(&t);
}

/* ---- hostile input: never a crash, always an error that points inside ---- */

static void compile_anything(const char *expr)
{
	struct rule_error err;
	struct rule *r = rule_compile(&toy, pick(4) ? RULE_HOUSEHOLD : RULE_MEMBER, expr, &err);
	if (r) {
		struct rule_param_value params[] = {
		    {"line", {0, 8700, NULL}},
		    {"year", {0, 2024, NULL}},
		    {"today", {0, 0, "2025-03-01"}},
		    {"t", {0, 0, "abc"}},
		    {"p", {0, 1, NULL}},
		    {"q", {1, 0, NULL}},
		    {"n", {1, 0, NULL}},
		};
		struct rule_ctx ctx = {NULL, 1, no_get, params, 7}; /* one member, all NULL */
		struct rule_result res = RULE_RESULT_INIT;
		struct buf b = BUF_INIT;
		rule_to_sql(r, NULL, &b);
		CHECK(rule_eval(r, &ctx, 0, &res) == 0);
		rule_explain(r, res.values, &b);
		rule_result_release(&res);
		buf_release(&b);
		rule_free(r);
		return;
	}
	if (!CHECK(err.offset <= strlen(expr) && err.column >= 1 &&
		   !strncmp(err.msg, "第 ", strlen("第 "))))
		printf("    %s → %zu %d %s\n", expr, err.offset, err.column, err.msg);
}

/* A message quoting a long name is cut before a whole character. */
TEST(rules_long_messages_stay_utf8)
{
	struct buf b = BUF_INIT;
	struct rule_error err;
	struct rule *r;
	for (int i = 0; i < 300; i++)
		buf_addstr(&b, "字");
	buf_addstr(&b, " > 1");
	r = rule_compile(&toy, RULE_HOUSEHOLD, b.buf, &err);
	CHECK(!r);
	CHECK(strlen(err.msg) > 400);
	CHECK(utf8_valid(err.msg, strlen(err.msg)));
	rule_free(r);
	buf_release(&b);
}

/* "x has 'label'" compiles wherever its literal falls in the node array —
 * also when that node makes the array grow (a stale pointer to the field's
 * node was read after the move; the sanitizer pass found it). */
TEST(rules_has_at_every_node_count)
{
	struct buf b = BUF_INIT;
	for (int k = 0; k < 90; k++) {
		struct rule_error err;
		struct rule *r;
		buf_reset(&b);
		buf_addstr(&b, "size in (1");
		for (int i = 0; i < k % 4; i++)
			buf_addstr(&b, ", 1"); /* one node each */
		buf_addstr(&b, ")");
		for (int i = 0; i < k / 4; i++)
			buf_addstr(&b, " and size > 1"); /* four nodes each */
		buf_addstr(&b, " and any(member, health has '残疾')");
		r = rule_compile(&toy, RULE_HOUSEHOLD, b.buf, &err);
		if (!CHECK(r))
			printf("    %s: %s\n", b.buf, err.msg);
		rule_free(r);
	}
	buf_release(&b);
}

TEST(rules_hostile_input)
{
	static const char *const atoms[] = {
	    "size",
	    "人均纯收入",
	    "hh_type",
	    "health",
	    "labor_skill",
	    "birth_date",
	    "joined",
	    "water_ok",
	    "$line",
	    "$today",
	    "$",
	    "1",
	    "2.5",
	    "0",
	    "'脱贫户'",
	    "'患有大病'",
	    "'2024-02-29'",
	    "'",
	    "''",
	    "(",
	    ")",
	    "（",
	    "）",
	    ",",
	    "，",
	    "+",
	    "-",
	    "*",
	    "/",
	    "=",
	    "!=",
	    "<>",
	    "<",
	    "<=",
	    ">",
	    ">=",
	    "and",
	    "or",
	    "not",
	    "in",
	    "is",
	    "null",
	    "has",
	    "true",
	    "false",
	    "member",
	    "age",
	    "age()",
	    "months_since",
	    "count",
	    "any",
	    "all",
	    "sum",
	    "coalesce",
	    "min",
	    "abs",
	    "\xff",
	    "\xe4\xba",
	    "#",
	    "“",
	    "　",
	    "1.",
	    "..",
	    "成员",
	    "人均",
	    "\t",
	};
	struct buf b = BUF_INIT;

	for (int i = 0; i < 30000; i++) {
		int n = pick(14);
		buf_reset(&b);
		for (int k = 0; k < n; k++) {
			if (k && pick(3))
				buf_addch(&b, ' ');
			buf_addstr(&b, atoms[pick((int)(sizeof(atoms) / sizeof(atoms[0])))]);
		}
		compile_anything(b.buf);
	}
	/* every prefix of every good expression */
	for (size_t i = 0; i < sizeof(household_exprs) / sizeof(household_exprs[0]); i++) {
		size_t len = strlen(household_exprs[i]);
		for (size_t k = 0; k <= len; k++) {
			buf_reset(&b);
			buf_add(&b, household_exprs[i], k);
			compile_anything(b.buf);
		}
	}
	/* limits: nesting, tree depth, length */
	{
		static const struct {
			const char *open, *middle, *close;
			int times;
			const char *msg;
		} deep[] = {
		    {"(", "1 = 1", ")", 150, "表达式嵌套太深"},
		    {"not ", "true", "", 150, "表达式嵌套太深"},
		    {"-", "1 > 0", "", 150, "表达式嵌套太深"},
		    {"", "1 = 1", " and 1 = 1", 150, "表达式嵌套太深"},
		    {"", "size", " + 1", 150, "规则应为条件"},
		    {"", "size > 1", " or size > 1", 150, "表达式嵌套太深"},
		    {"", "size > 1", " or size > 1", 3000, "表达式太长"},
		    {"(", "1 = 1", ")", 50, NULL},
		    {"", "1 = 1", " and 1 = 1", 50, NULL},
		};
		for (size_t i = 0; i < sizeof(deep) / sizeof(deep[0]); i++) {
			struct rule_error err;
			struct rule *r;
			buf_reset(&b);
			for (int k = 0; k < deep[i].times; k++)
				buf_addstr(&b, deep[i].open);
			buf_addstr(&b, deep[i].middle);
			for (int k = 0; k < deep[i].times; k++)
				buf_addstr(&b, deep[i].close);
			r = rule_compile(&toy, RULE_HOUSEHOLD, b.buf, &err);
			if (deep[i].msg) {
				if (!CHECK(!r && strstr(err.msg, deep[i].msg)))
					printf("    case %zu: %s\n", i, r ? "compiled" : err.msg);
			} else
				CHECK(r != NULL);
			rule_free(r);
		}
	}
	buf_release(&b);
}

/* ---- nesting the database's parser can take ---------------------------------
 * SQLite's parser has a stack of 100 entries, and each level of the SQL a
 * rule becomes takes 1 to 8 of them: a rule the parser allows (100 levels)
 * could compile to SQL SQLite refuses (found by fuzz_rules: 52 minus signs).
 * For each way of nesting, the deepest rule that compiles runs on the
 * database with the answer rule_eval() gives, and one level more is refused
 * with a message saying why. */
/* head open×k middle close×k tail */
static void nest(struct buf *b, const char *head, const char *open, const char *middle,
		 const char *close, const char *tail, int k)
{
	buf_reset(b);
	buf_addstr(b, head);
	for (int j = 0; j < k; j++)
		buf_addstr(b, open);
	buf_addstr(b, middle);
	for (int j = 0; j < k; j++)
		buf_addstr(b, close);
	buf_addstr(b, tail);
}

TEST(rules_nesting_the_database_can_parse)
{
	static const struct {
		const char *head, *open, *middle, *close, *tail;
		int at_least; /* levels a real rule may want */
	} ways[] = {
	    {"size > ", "-(", "1", ")", "", 20},
	    {"size > ", "-", "1", "", "", 20},
	    {"size > ", "1 + (", "1", ")", "", 20},
	    {"size > ", "(", "1", " * 2)", "", 40},
	    {"size > ", "1 / (", "2", ")", "", 10},
	    {"size > ", "abs(", "1", ")", "", 20},
	    {"size > ", "coalesce(size, ", "1", ")", "", 10},
	    {"size > ", "min(1, ", "size", ")", "", 4},
	    {"size > ", "max(", "size", ", 1)", "", 4},
	    {"", "not (", "size > 1", ")", "", 20},
	    {"", "water_ok = (", "size > 1", ")", "", 20},
	    {"", "size > 1 and not (", "size > 2", ")", "", 12},
	    {"", "(size > 1 or ", "size > 2", ")", "", 60},
	    {"any(member, ", "-(", "1", ")", " < income)", 12},
	};
	struct toy_db t;
	struct buf b = BUF_INIT, via_eval = BUF_INIT, via_sql = BUF_INIT;

	toy_create(&t, 300);
	if (!CHECK(t.db != NULL))
		return;
	toy_load(&t, 2024);
	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
		int deepest = 0;
		for (int k = 1; k <= 130; k++) {
			struct rule_error err;
			struct rule *r;
			nest(&b, ways[i].head, ways[i].open, ways[i].middle, ways[i].close,
			     ways[i].tail, k);
			r = rule_compile(&toy, RULE_HOUSEHOLD, b.buf, &err);
			if (r) {
				deepest = k;
				rule_free(r);
				continue;
			}
			if (!CHECK(strstr(err.msg, "嵌套太深") || strstr(err.msg, "太长")))
				printf("    %s%s…: %s\n", ways[i].head, ways[i].open, err.msg);
			break;
		}
		if (!CHECK(deepest >= ways[i].at_least && deepest < 130))
			printf("    %s%s…%s: deepest that compiles %d\n", ways[i].head, ways[i].open,
			       ways[i].close, deepest);
		/* the deepest that compiles runs, with rule_eval()'s answer */
		nest(&b, ways[i].head, ways[i].open, ways[i].middle, ways[i].close, ways[i].tail,
		     deepest);
		buf_reset(&via_eval);
		buf_reset(&via_sql);
		run_both(&t, RULE_HOUSEHOLD, b.buf, NULL, 0, &via_eval, &via_sql);
		sort_lines(&via_eval);
		sort_lines(&via_sql);
		if (!CHECK(!strcmp(via_eval.buf ? via_eval.buf : "", via_sql.buf ? via_sql.buf : "")))
			printf("    %s: the database and rule_eval differ\n", b.buf);
	}
	/* min() writes its operands twice: four levels of it around a sum of
	 * 256 fields would be some 2.5 MB of SQL, refused before it is written */
	{
		struct rule_error err;
		struct rule *r;
		buf_reset(&b);
		buf_addstr(&b, "size > min(min(min(min(");
		for (int j = 0; j < 256; j++) {
			/* a balanced sum: ((x + x) + (x + x)) …, 9 levels deep */
			for (int bit = 1; bit < 256 && !(j & bit); bit <<= 1)
				buf_addch(&b, '(');
			buf_addstr(&b, "net_income_pc");
			for (int bit = 1; bit < 256 && (j & bit); bit <<= 1)
				buf_addch(&b, ')');
			if (j < 255)
				buf_addstr(&b, " + ");
		}
		buf_addstr(&b, ", 1), 1), 1), 1)");
		r = rule_compile(&toy, RULE_HOUSEHOLD, b.buf, &err);
		if (!CHECK(!r && strstr(err.msg, "写成数据库查询后太长")))
			printf("    %s\n", r ? "compiled" : err.msg);
		rule_free(r);
	}
	buf_release(&b);
	buf_release(&via_eval);
	buf_release(&via_sql);
	toy_free(&t);
}
