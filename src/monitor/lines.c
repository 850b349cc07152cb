/* lines.c — monitoring lines (防止返贫监测范围): one amount per year and
 * region prefix, the longest prefix of a household's village code winning,
 * so a province may set its own line and a county may set another.
 *
 * Shipped data (migration): the national baseline of 2021, 6000 元 ("以脱贫
 * 攻坚期国家扶贫标准的1.5倍为底线"), and 陕西 restating it for 2021 (靖边县,
 * a 延安 county).  No 陕西 figure after 2021 is known to us: the demo adds
 * assumed 陕西 lines for 2022–2026 marked assumed (演示数据，需按省定标准
 * 核对), which an administrator replaces with the province's notices. */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "db/db.h"
#include "monitor/monitor.h"

static const struct db_migration lines_migrations[] = {
    {1, "monitoring lines by year and region prefix",
     "CREATE TABLE monitor_line(\n"
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
     "  year INTEGER NOT NULL,     -- 年度\n"
     "  region TEXT NOT NULL,      -- region code prefix: '' 全国, 61 省, 6109 市, 610926 县, 9 "
     "digits 乡镇\n"
     "  amount INTEGER NOT NULL CHECK(amount > 0), -- 分 per person per year (家庭年人均纯收入)\n"
     "  basis TEXT NOT NULL DEFAULT '',  -- 依据, how the figure is set\n"
     "  source TEXT NOT NULL DEFAULT '', -- 文件 or page it comes from\n"
     "  assumed INTEGER NOT NULL DEFAULT 0, -- 1 = demo or assumed figure, to be checked\n"
     "  updated_at TEXT NOT NULL,  -- UTC\n"
     "  UNIQUE(year, region)\n"
     ");\n"
     "INSERT INTO monitor_line(year, region, amount, basis, source, assumed, updated_at) "
     "VALUES(2021, '', 600000, '以脱贫攻坚期国家扶贫标准的1.5倍为底线', "
     "'中农组发〔2021〕7号《关于健全防止返贫动态监测和帮扶机制的指导意见》，2021年为6000元（县级转"
     "述）', "
     "0, '2021-01-01 00:00:00');\n"
     "INSERT INTO monitor_line(year, region, amount, basis, source, assumed, updated_at) "
     "VALUES(2021, '61', 600000, '执行国家底线', "
     "'靖边县、延安市所辖县转述：2021年监测范围为6000元', 0, '2021-01-01 00:00:00');\n",
     NULL},
};

int monitor_lines_migrate(struct db *db)
{
	return db_migrate(db, "monitor.lines", lines_migrations, (int)ARRAY_SIZE(lines_migrations));
}

enum { L_ID, L_YEAR, L_REGION, L_AMOUNT, L_BASIS, L_SOURCE, L_ASSUMED };

int monitor_line_lookup(struct db *db, const char *code, int year, struct monitor_line *out)
{
	/* the candidate prefixes of a 12-digit code: '', 2, 4, 6, 9, 12 digits */
	static const int lens[] = {2, 4, 6, 9, 12};
	static const char *const names[] = {":p2", ":p4", ":p6", ":p9", ":p12"};
	struct db_stmt *st;
	int rc;
	st = db_prepare(db, "SELECT id, year, region, amount, basis, source, assumed FROM "
			    "monitor_line WHERE year = :y AND region IN ('', :p2, :p4, :p6, :p9, "
			    ":p12) ORDER BY length(region) DESC LIMIT 1");
	db_bind_int(st, ":y", year);
	for (int i = 0; i < (int)ARRAY_SIZE(lens); i++) {
		char p[13];
		snprintf(p, sizeof(p), "%.*s", lens[i], code);
		/* a shorter code cannot match the longer prefixes */
		db_bind_text(st, names[i], strlen(code) >= (size_t)lens[i] ? p : "-");
	}
	rc = db_step(st);
	if (rc == DB_ROW) {
		out->id = db_col_int(st, L_ID);
		out->year = (int)db_col_int(st, L_YEAR);
		snprintf(out->region, sizeof(out->region), "%s", db_col_text(st, L_REGION));
		out->amount = db_col_int(st, L_AMOUNT);
		snprintf(out->basis, sizeof(out->basis), "%s", db_col_text(st, L_BASIS));
		snprintf(out->source, sizeof(out->source), "%s", db_col_text(st, L_SOURCE));
		out->assumed = (int)db_col_int(st, L_ASSUMED);
	}
	db_done(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

/* Assumed 陕西 lines for the demo years.  The figures echo values the brief
 * found elsewhere (2022 6500 慢湾村, 2023 7300 贵州, 2025 8700 云南) with
 * 2024 and 2026 interpolated/extrapolated; none is a 陕西 notice. */
static const struct {
	int year;
	int64_t amount;
	const char *basis;
} demo_lines[] = {
    {2022, 650000, "演示数据，需按省定标准核对（参考他省2022年6500元）"},
    {2023, 730000, "演示数据，需按省定标准核对（参考贵州省2023年7300元）"},
    {2024, 800000, "演示数据，需按省定标准核对（按2023、2025年数值内插）"},
    {2025, 870000, "演示数据，需按省定标准核对（参考云南省2025年8700元）"},
    {2026, 900000, "演示数据，需按省定标准核对（按增幅外推）"},
};

int monitor_demo_lines(struct db *db)
{
	char now[20];
	now_utc_text(now);
	for (size_t i = 0; i < ARRAY_SIZE(demo_lines); i++) {
		struct db_stmt *st =
		    db_prepare(db, "INSERT INTO monitor_line(year, region, amount, "
				   "basis, source, assumed, updated_at) VALUES(:y, "
				   "'61', :a, :b, '演示数据', 1, :t) ON CONFLICT(year, "
				   "region) DO NOTHING");
		int rc;
		db_bind_int(st, ":y", demo_lines[i].year);
		db_bind_int(st, ":a", demo_lines[i].amount);
		db_bind_text(st, ":b", demo_lines[i].basis);
		db_bind_text(st, ":t", now);
		rc = db_run(st);
		db_done(st);
		if (rc < 0)
			return error("cannot store demo monitoring lines: %s", db_errmsg(db));
	}
	return 0;
}
