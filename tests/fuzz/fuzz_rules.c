/* fuzz_rules.c — libFuzzer target for the rule language (src/rules/):
 * tokenizer, parser and type checks, evaluation, explanation and the
 * compilation to SQL, over the monitoring module's real catalogue — rules
 * are typed in by county staff (POST /api/v1/rules, /rules/preview).
 *
 * The input is an expression.  It is compiled for households and for
 * members; a refused one must come with a Chinese message and a column
 * inside the expression.  An accepted one is
 *   - evaluated on a synthetic household (values derived from the input:
 *     NULLs, codes, sets, dates, text, 0–4 members), and explained;
 *   - turned into SQL, which SQLite must accept as one statement and run
 *     over the demo district;
 *   - for household rules, evaluated on the first demo households through
 *     the catalogue (monitor_rule_eval_household) and compared with the
 *     SQL's hits: the two paths must agree (rules.h's main promise).
 * The SQL goes through a separate read-only sqlite3 connection, not
 * db_prepare_text(): that one interns every text for the life of the
 * process and dies on SQL it cannot prepare, where a fuzzer makes endless
 * texts and wants the failure reported as a finding. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/csv.h"
#include "base/util.h"
#include "monitor/monitor.h"
#include "registry/codes.h"
#include "rules/rules.h"
#include "harness.h"

#define YEAR 2026
#define TODAY "2026-06-15"
#define SAMPLE_HOUSEHOLDS 6

static uint64_t seed;

static uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

static int synth_get(void *opaque, const struct rule_field *f, int member, struct rule_value *out)
{
	static const char *const texts[] = { "", "张三", "610926", "脱贫户", "a'b", "0" };
	static const char *const dates[] = { "1950-02-28", "2000-02-29", "2010-12-31",
					     "2026-06-15", "2026-06-16", "1900-01-01" };
	uint64_t h = mix(seed ^ mix((uint64_t)(uintptr_t)f->name) ^ (uint64_t)(member + 7) << 40);
	memset(out, 0, sizeof(*out));
	if (h % 5 == 0) {
		out->null = 1;
		return 0;
	}
	h /= 5;
	switch (f->type) {
	case RULE_NUM: {
		static const double nums[] = { 0, 1, -1, 0.5, 8700, 1e9, -0.0, 12345.67 };
		out->num = nums[h % ARRAY_SIZE(nums)];
		break;
	}
	case RULE_BOOL:
		out->num = h & 1;
		break;
	case RULE_CODE:
		out->num = f->codes && f->codes->nr_items ?
				   f->codes->items[h % f->codes->nr_items].code : 0;
		break;
	case RULE_SET:
		for (int i = 0; f->codes && i < f->codes->nr_items; i++, h >>= 1)
			if (h & 1)
				out->num += (double)(1ull << f->codes->items[i].code);
		break;
	case RULE_DATE:
		out->text = dates[h % ARRAY_SIZE(dates)];
		break;
	default:
		out->text = texts[h % ARRAY_SIZE(texts)];
		break;
	}
	return 0;
}

static sqlite3 *ro;

/* Prepare and run the rule's SQL on the read-only connection; returns the
 * household ids hit among the first SAMPLE_HOUSEHOLDS (bit i-1 for id i). */
static unsigned run_sql(const char *expr, const char *sql)
{
	sqlite3_stmt *st;
	const char *tail;
	unsigned hits = 0;
	int rc;
	if (!ro && sqlite3_open_v2(fuzz_db_path(), &ro, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		fuzz_fail("cannot open %s", fuzz_db_path());
	if (sqlite3_prepare_v2(ro, sql, -1, &st, &tail) != SQLITE_OK)
		fuzz_fail("rule \"%s\" compiled to SQL SQLite refuses (%s):\n%s", expr,
			  sqlite3_errmsg(ro), sql);
	if (tail[strspn(tail, " \t\n")])
		fuzz_fail("rule \"%s\" compiled to more than one statement:\n%s", expr, sql);
	for (int i = 1; i <= sqlite3_bind_parameter_count(st); i++) {
		const char *name = sqlite3_bind_parameter_name(st, i);
		if (name && !strcmp(name, ":year"))
			sqlite3_bind_int(st, i, YEAR);
		else if (name && !strcmp(name, ":today"))
			sqlite3_bind_text(st, i, TODAY, -1, SQLITE_STATIC);
		else if (name && !strcmp(name, ":lo")) /* the region screened: all */
			sqlite3_bind_text(st, i, "", -1, SQLITE_STATIC);
		else if (name && !strcmp(name, ":hi"))
			sqlite3_bind_text(st, i, ":", -1, SQLITE_STATIC);
		else
			fuzz_fail("rule \"%s\": SQL parameter %s is not the catalogue's", expr,
				  name ? name : "?");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(st, 0);
		if (id >= 1 && id <= SAMPLE_HOUSEHOLDS)
			hits |= 1u << (id - 1);
	}
	if (rc != SQLITE_DONE)
		fuzz_fail("rule \"%s\": its SQL failed (%s):\n%s", expr, sqlite3_errmsg(ro), sql);
	sqlite3_finalize(st);
	return hits;
}

static void check_rule(const char *expr, size_t len, int scope, const struct rule_catalog *cat)
{
	struct rule_error err;
	struct rule *r = rule_compile(cat, scope, expr, &err);
	struct rule_param_value params[] = { { "year", { 0, YEAR, NULL } },
					     { "today", { 0, 0, TODAY } } };
	struct rule_result res = RULE_RESULT_INIT;
	struct rule_ctx ctx;
	struct buf sql = BUF_INIT, why = BUF_INIT;
	unsigned hits;

	if (!r) {
		if (!err.msg[0] || !utf8_valid(err.msg, strlen(err.msg)))
			fuzz_fail("refused without a readable message");
		if (err.offset > len || err.column < 1)
			fuzz_fail("error at offset %zu, column %d of a %zu-byte expression",
				  err.offset, err.column, len);
		return;
	}
	if (rule_scope(r) != scope)
		fuzz_fail("compiled for scope %d, asked %d", rule_scope(r), scope);
	for (int i = 0; i < rule_nr_values(r); i++)
		if (!rule_value_label(r, i) || !utf8_valid(rule_value_label(r, i),
							   strlen(rule_value_label(r, i))))
			fuzz_fail("explain slot %d has no label", i);

	ctx.opaque = NULL;
	ctx.nr_members = (int)(seed % 5);
	ctx.get = synth_get;
	ctx.params = params;
	ctx.nr_params = 2;
	for (int m = scope == RULE_MEMBER ? 0 : -1; m < (scope == RULE_MEMBER ? ctx.nr_members : 0);
	     m++) {
		if (rule_eval(r, &ctx, m, &res))
			fuzz_fail("evaluation of \"%s\" failed", expr);
		if (res.truth < RULE_FALSE || res.truth > RULE_UNKNOWN)
			fuzz_fail("truth %d", res.truth);
		buf_reset(&why);
		rule_explain(r, res.values, &why);
		if (!utf8_valid(why.buf, why.len))
			fuzz_fail("explanation is not UTF-8: %s", why.buf);
	}

	rule_to_sql(r, NULL, &sql);
	hits = run_sql(expr, sql.buf);
	if (scope == RULE_HOUSEHOLD) {
		for (int id = 1; id <= SAMPLE_HOUSEHOLDS; id++) {
			int sql_hit = !!(hits & (1u << (id - 1)));
			if (monitor_rule_eval_household(fuzz_db(), r, id, YEAR, &res))
				fuzz_fail("evaluation of \"%s\" on household %d failed", expr, id);
			if ((res.truth == RULE_TRUE) != sql_hit)
				fuzz_fail("rule \"%s\" on household %d: evaluation says %s, SQL says %s",
					  expr, id, res.truth == RULE_TRUE ? "hit" : "no hit",
					  sql_hit ? "hit" : "no hit");
		}
	}
	rule_result_release(&res);
	buf_release(&sql);
	buf_release(&why);
	rule_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *expr = fuzz_strndup(data, size);
	const struct rule_catalog *cat = monitor_rule_catalog();
	seed = 1469598103934665603ull;
	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 1099511628211ull;
	fuzz_db();
	check_rule(expr, size, RULE_HOUSEHOLD, cat);
	check_rule(expr, size, RULE_MEMBER, cat);
	free(expr);
	return 0;
}
