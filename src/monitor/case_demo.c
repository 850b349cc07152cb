/* case_demo.c — the monitoring side of the demo district: a first rule
 * screening, a realistic set of monitored households (most below the line,
 * some after large medical bills or without labour), some of them already
 * out of risk, their measures and 三保障 records, and identification cases
 * waiting at every step, a few of them overdue — so every queue, light and
 * dashboard has something to show.  Deterministic for a given seed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "monitor/monitor.h"

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static int pick(uint64_t *s, int n)
{
	return (int)(next(s) % (uint64_t)n);
}

/* A date `days` days before `today` (day numbers). */
static void day_text(long today, long days, char out[11])
{
	monitor_date_format(today - days, out);
}

struct demo_hh {
	int64_t id;
	char rule[8];
};

int monitor_demo_cases(struct db *db, const char *county, int year, uint64_t seed)
{
	struct monitor_screen_report rep;
	struct db_stmt *st;
	struct demo_hh *hits = NULL;
	int n = 0, alloc = 0, monitored = 0, cases = 0;
	long today = monitor_today();
	uint64_t rng = seed * 7919 + 17;
	static const int risk_for_m001[] = { 1, 4, 7, 3, 6 }; /* 因病 缺劳动力 务工不稳 因残 产业失败 */
	static const struct {
		int cat, item;
		const char *unit;
	} measures[] = {
		{ 39, 3901, "县农业农村局" }, { 40, 4002, "县人社局" },  { 42, 4201, "乡镇人民政府" },
		{ 45, 4502, "县医保局" },     { 48, 4801, "县民政局" },  { 47, 4701, "县教育局" },
		{ 41, 4101, "县农商银行" },
	};

	if (monitor_screen(db, county, year, "demo", &rep, 0))
		return -1;
	buf_release(&rep.text);
	st = db_prepare(db, "SELECT household_id, min(rule_id) FROM rule_hit WHERE run_id = :r AND "
			    "rule_id IN ('M001', 'M003', 'M008') GROUP BY household_id ORDER BY "
			    "household_id");
	db_bind_int(st, ":r", rep.run_id);
	while (db_step(st) == DB_ROW) {
		ALLOC_GROW(hits, n + 1, alloc);
		hits[n].id = db_col_int(st, 0);
		snprintf(hits[n].rule, sizeof(hits[n].rule), "%s", db_col_text(st, 1));
		n++;
	}
	db_done(st);
	if (db_begin(db)) {
		free(hits);
		return error("cannot begin: %s", db_errmsg(db));
	}
	for (int i = 0; i < n; i++) {
		int roll = pick(&rng, 100), category, risk;
		char identified[11], codes[16], now[20];
		long age_days;
		if (roll >= 75)
			continue; /* a quarter stay leads only */
		if (!strcmp(hits[i].rule, "M003")) {
			category = 3, risk = 1; /* 突发严重困难户, 因病 */
		} else if (!strcmp(hits[i].rule, "M008")) {
			category = 2, risk = 4;
		} else {
			category = 1 + pick(&rng, 2);
			risk = risk_for_m001[pick(&rng, ARRAY_SIZE(risk_for_m001))];
		}
		if (roll < 60) {
			/* identified between 2 and 30 months ago */
			age_days = 60 + pick(&rng, 840);
			day_text(today, age_days, identified);
			snprintf(codes, sizeof(codes), "%d", risk);
			st = db_prepare(db, "INSERT INTO monitored(household_id, status, category, risk_types, "
					    "risk_mask, identified_on, contact_name, contact_phone, "
					    "eliminated_on, elim_mode) VALUES(:h, :st, :c, :rt, :mask, :d, "
					    ":cn, :cp, :ed, :em) ON CONFLICT(household_id) DO NOTHING");
			db_bind_int(st, ":h", hits[i].id);
			/* a fifth of those identified over a year ago are out of risk */
			if (age_days > 400 && pick(&rng, 5) == 0) {
				char elim[11];
				day_text(today, age_days - 200 - pick(&rng, 150), elim);
				db_bind_text(st, ":st", "eliminated");
				db_bind_text(st, ":ed", elim);
				db_bind_text(st, ":em", pick(&rng, 4) ? "帮扶消除" : "自然消除");
			} else {
				db_bind_text(st, ":st", "monitoring");
				db_bind_text(st, ":ed", "");
				db_bind_text(st, ":em", "");
			}
			db_bind_int(st, ":c", category);
			db_bind_text(st, ":rt", codes);
			db_bind_int(st, ":mask", monitor_risk_mask(codes));
			db_bind_text(st, ":d", identified);
			db_bind_text(st, ":cn", pick(&rng, 2) ? "王建军" : "李秀兰");
			db_bind_text(st, ":cp", pick(&rng, 2) ? "13909150021" : "15891450376");
			if (db_run(st) < 0)
				goto fail;
			db_done(st);
			monitored++;
			/* one to three measures, started after identification */
			now_utc_text(now);
			for (int k = 0, nm = 1 + pick(&rng, 3); k < nm; k++) {
				int m = pick(&rng, ARRAY_SIZE(measures));
				char start[11];
				day_text(today, age_days - 10 - pick(&rng, 40), start);
				st = db_prepare(db, "INSERT INTO measure(household_id, category, item, "
						    "start_date, amount, unit, person, evidence, created_at, "
						    "updated_at) VALUES(:h, :c, :i, :s, :a, :u, :p, :e, :now, "
						    ":now)");
				db_bind_int(st, ":h", hits[i].id);
				db_bind_int(st, ":c", measures[m].cat);
				db_bind_int(st, ":i", measures[m].item);
				db_bind_text(st, ":s", start);
				db_bind_int(st, ":a", 100000 * (1 + pick(&rng, 30)));
				db_bind_text(st, ":u", measures[m].unit);
				db_bind_text(st, ":p", pick(&rng, 2) ? "张明" : "刘芳");
				db_bind_text(st, ":e", "帮扶台账及签字确认单（演示）");
				db_bind_text(st, ":now", now);
				if (db_run(st) < 0)
					goto fail;
				db_done(st);
			}
			st = db_prepare(db, "INSERT INTO hh_security(household_id, year, housing_safe, "
					    "schooling_ok, water_safe, medical_ok, recorded_on) VALUES(:h, "
					    ":y, :a, 1, :b, 1, :d) ON CONFLICT(household_id, year) DO NOTHING");
			db_bind_int(st, ":h", hits[i].id);
			db_bind_int(st, ":y", year);
			db_bind_int(st, ":a", pick(&rng, 25) != 0);
			db_bind_int(st, ":b", pick(&rng, 30) != 0);
			db_bind_text(st, ":d", identified);
			if (db_run(st) < 0)
				goto fail;
			db_done(st);
		} else if (cases < 60) {
			/* an identification case waiting at step 1..6, opened 0..25 working days ago */
			struct case_rec c;
			int step = 1 + pick(&rng, 6), nsteps;
			const struct case_step_def *d = monitor_case_steps(CASE_IDENTIFY, &nsteps);
			char opened[11], started[11], due[11];
			long open_days = pick(&rng, 30), start_days = open_days ? pick(&rng, (int)open_days + 1) : 0;
			struct work_calendar cal;
			int64_t alert = 0;
			day_text(today, open_days, opened);
			day_text(today, start_days, started);
			monitor_cal_init(&cal);
			monitor_cal_load(db, &cal);
			due[0] = '\0';
			if (d[step - 1].limit_workdays)
				monitor_date_format(monitor_cal_add_workdays(&cal, today - start_days,
									     d[step - 1].limit_workdays),
						    due);
			{
				char total[11];
				monitor_date_format(monitor_cal_add_workdays(&cal, today - open_days, 20),
						    total);
				monitor_cal_release(&cal);
				st = db_prepare(db, "SELECT id FROM alert WHERE household_id = :h AND "
						    "status = 'open'");
				db_bind_int(st, ":h", hits[i].id);
				if (db_step(st) == DB_ROW)
					alert = db_col_int(st, 0);
				db_done(st);
				st = db_prepare(db, "INSERT INTO monitor_case(household_id, kind, step, "
						    "state, opened_at, step_started, step_due, total_due, "
						    "alert_id) VALUES(:h, 1, :s, 'active', :o, :st, :due, "
						    ":total, :a)");
				db_bind_int(st, ":h", hits[i].id);
				db_bind_int(st, ":s", step);
				db_bind_text(st, ":o", opened);
				db_bind_text(st, ":st", started);
				db_bind_text(st, ":due", due);
				db_bind_text(st, ":total", total);
				db_bind_int_or_null(st, ":a", alert ? alert : -1);
				c.id = db_run_insert(st);
				db_done(st);
				if (c.id < 0)
					goto fail;
			}
			if (alert) {
				st = db_prepare(db, "UPDATE alert SET status = 'case', case_id = :c WHERE "
						    "id = :a");
				db_bind_int(st, ":c", c.id);
				db_bind_int(st, ":a", alert);
				db_run(st);
				db_done(st);
			}
			now_utc_text(now);
			st = db_prepare(db, "INSERT INTO case_event(case_id, step, action, at, on_date, "
					    "login, role) VALUES(:c, 1, 'open', :now, :d, 'demo', "
					    "'village_clerk')");
			db_bind_int(st, ":c", c.id);
			db_bind_text(st, ":now", now);
			db_bind_text(st, ":d", opened);
			db_run(st);
			db_done(st);
			cases++;
		}
	}
	free(hits);
	/* the leads of households now monitored are settled */
	st = db_prepare(db, "UPDATE alert SET status = 'closed', closed_note = '已纳入监测' WHERE "
			    "status = 'open' AND household_id IN (SELECT m.household_id FROM monitored m "
			    "JOIN household h ON h.id = m.household_id WHERE h.village_code >= :lo AND "
			    "h.village_code < :hi)");
	db_bind_prefix(st, ":lo", ":hi", county);
	if (db_run(st) < 0)
		goto fail;
	db_done(st);
	if (db_commit(db))
		return error("cannot commit: %s", db_errmsg(db));
	fprintf(stderr, "演示监测对象 %d 户，办理中的识别流程 %d 件\n", monitored, cases);
	return 0;
fail:
	db_done(st);
	if (hits)
		free(hits);
	db_rollback(db);
	return error("演示监测数据写入失败：%s", db_errmsg(db));
}
