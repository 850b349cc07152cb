/* test_calendar.c — monitor/calendar.c: day numbers (round trips, leap
 * years, weekdays, strict parsing), the shipped 2024–2026 holiday schedules,
 * and working-day arithmetic across 调休 weekends, the Spring Festival of
 * 2025 and 2026 and year boundaries, checked against hand-counted dates and
 * against a naive day-by-day count. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "base/util.h"
#include "db/db.h"
#include "monitor/monitor.h"

static long D(const char *s)
{
	long d = 0;
	if (monitor_date_parse(s, &d))
		printf("    bad date in test: %s\n", s);
	return d;
}

/* The date `n` working days after `from` (with the shipped schedules). */
static const char *after(const struct work_calendar *c, const char *from, int n)
{
	static char out[11];
	monitor_date_format(monitor_cal_add_workdays(c, D(from), n), out);
	return out;
}

static int is_work(const struct work_calendar *c, const char *s)
{
	return monitor_cal_is_workday(c, D(s));
}

TEST(calendar_day_numbers)
{
	int y, m, d;
	char out[11];
	CHECK_INT(monitor_days_from_civil(1970, 1, 1), 0);
	CHECK_INT(monitor_days_from_civil(1969, 12, 31), -1);
	CHECK_INT(monitor_days_from_civil(2000, 3, 1), 11017);
	CHECK_INT(monitor_days_from_civil(2024, 3, 1) - monitor_days_from_civil(2024, 2, 28), 2);
	CHECK_INT(monitor_days_from_civil(2025, 3, 1) - monitor_days_from_civil(2025, 2, 28), 1);
	CHECK_INT(monitor_days_from_civil(2100, 3, 1) - monitor_days_from_civil(2100, 2, 28), 1);
	CHECK_INT(monitor_days_from_civil(2000, 3, 1) - monitor_days_from_civil(2000, 2, 28), 2);
	CHECK_INT(monitor_days_from_civil(2027, 1, 1) - monitor_days_from_civil(2026, 1, 1), 365);
	CHECK_INT(monitor_days_from_civil(2025, 1, 1) - monitor_days_from_civil(2024, 1, 1), 366);
	/* every day from 1900 to 2199 round-trips and follows the previous */
	{
		long first = monitor_days_from_civil(1900, 1, 1),
		     last = monitor_days_from_civil(2199, 12, 31);
		int bad = 0, py = 1899, pm = 12, pd = 31;
		for (long z = first; z <= last; z++) {
			monitor_civil_from_days(z, &y, &m, &d);
			if (monitor_days_from_civil(y, m, d) != z)
				bad++;
			if (!((y == py && m == pm && d == pd + 1) ||
			      (y == py && m == pm + 1 && d == 1) ||
			      (y == py + 1 && m == 1 && d == 1)))
				bad++;
			py = y, pm = m, pd = d;
		}
		CHECK_INT(bad, 0);
		CHECK_INT(last - first + 1,
			  300 * 365 + 73); /* 75 years divisible by 4, less 1900 and 2100 */
	}
	monitor_civil_from_days(-1, &y, &m, &d);
	CHECK_INT(y * 10000 + m * 100 + d, 19691231);
	monitor_date_format(D("2024-02-29"), out);
	CHECK_STR(out, "2024-02-29");
}

TEST(calendar_weekdays)
{
	CHECK_INT(monitor_weekday(0), 4);		/* 1970-01-01 Thursday */
	CHECK_INT(monitor_weekday(D("2025-01-01")), 3); /* Wednesday */
	CHECK_INT(monitor_weekday(D("2024-02-29")), 4); /* Thursday */
	CHECK_INT(monitor_weekday(D("2026-02-17")), 2); /* 春节 2026, Tuesday */
	CHECK_INT(monitor_weekday(D("2025-01-26")), 7); /* a 调休 Sunday */
	CHECK_INT(monitor_weekday(D("1969-12-28")), 7); /* before the epoch */
	CHECK_INT(monitor_weekday(D("1900-01-01")), 1);
}

TEST(calendar_date_parse_is_strict)
{
	static const char *const bad[] = {
	    "",		  "2025-1-01",	 "2025/01/01",	"2025-13-01", "2025-00-10",
	    "2025-01-00", "2025-02-29",	 "1900-02-29",	"2100-02-29", "2025-04-31",
	    "abcd-ef-gh", "2025-01-011", " 2025-01-01", "1899-12-31", "2200-01-01",
	    "+025-01-01"};
	long d;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (!CHECK(monitor_date_parse(bad[i], &d) == -1))
			printf("    accepted \"%s\"\n", bad[i]);
	CHECK(monitor_date_parse(NULL, &d) == -1);
	CHECK_INT(monitor_date_parse("2000-02-29", &d), 0);
	CHECK_INT(monitor_date_parse("2024-12-31", &d), 0);
	CHECK_INT(monitor_date_parse("1900-01-01", &d), 0);
	CHECK_INT(monitor_date_parse("2199-12-31", &d), 0);
}

TEST(calendar_builtin_schedules)
{
	struct work_calendar c;
	int holidays[3] = {0}, workdays[3] = {0};
	monitor_cal_init(&c);
	monitor_cal_load_builtin(&c);
	for (const struct cal_entry *e = monitor_cal_builtin; e->date; e++) {
		long d;
		int y = 0;
		CHECK_INT(monitor_date_parse(e->date, &d), 0);
		sscanf(e->date, "%d", &y);
		if (!CHECK(y >= 2024 && y <= 2026))
			continue;
		if (e->kind == CAL_WORKDAY) {
			/* a 调休 working day is always a weekend day */
			if (!CHECK(monitor_weekday(d) >= 6))
				printf("    %s is not a weekend day\n", e->date);
			workdays[y - 2024]++;
		} else {
			holidays[y - 2024]++;
		}
		CHECK(*e->name);
	}
	/* days off listed per year (each break, weekends inside included) */
	CHECK_INT(holidays[0], 1 + 8 + 3 + 5 + 1 + 3 + 7);
	CHECK_INT(holidays[1], 1 + 8 + 3 + 5 + 3 + 8);
	CHECK_INT(holidays[2], 3 + 9 + 3 + 5 + 3 + 3 + 7);
	CHECK_INT(workdays[0], 2 + 1 + 2 + 1 + 2);
	CHECK_INT(workdays[1], 2 + 1 + 2);
	CHECK_INT(workdays[2], 1 + 2 + 1 + 2);
	/* working days per year (a check on the whole table) */
	CHECK_INT(monitor_cal_workdays_between(&c, D("2023-12-31"), D("2024-12-31")), 251);
	CHECK_INT(monitor_cal_workdays_between(&c, D("2024-12-31"), D("2025-12-31")), 248);
	CHECK_INT(monitor_cal_workdays_between(&c, D("2025-12-31"), D("2026-12-31")), 248);
	for (const struct cal_year_source *y = monitor_cal_builtin_years; y->year; y++)
		CHECK(strstr(y->source, "国务院办公厅"));
	monitor_cal_release(&c);
}

TEST(calendar_is_workday)
{
	struct work_calendar c;
	monitor_cal_init(&c);
	monitor_cal_load_builtin(&c);
	CHECK_INT(is_work(&c, "2025-01-24"), 1); /* Friday */
	CHECK_INT(is_work(&c, "2025-01-25"), 0); /* Saturday */
	CHECK_INT(is_work(&c, "2025-01-26"), 1); /* Sunday, 调休上班 */
	CHECK_INT(is_work(&c, "2025-01-28"), 0); /* 除夕, Tuesday */
	CHECK_INT(is_work(&c, "2025-02-04"), 0); /* last day of 春节 */
	CHECK_INT(is_work(&c, "2025-02-05"), 1);
	CHECK_INT(is_work(&c, "2025-02-08"), 1); /* Saturday, 调休上班 */
	CHECK_INT(is_work(&c, "2025-02-09"), 0); /* Sunday */
	CHECK_INT(is_work(&c, "2025-03-01"), 0); /* an ordinary Saturday */
	CHECK_INT(is_work(&c, "2025-10-08"), 0); /* 国庆中秋 */
	CHECK_INT(is_work(&c, "2025-10-11"), 1);
	CHECK_INT(is_work(&c, "2024-02-18"), 1); /* Sunday, 调休上班 */
	CHECK_INT(is_work(&c, "2024-06-10"), 0); /* 端午, Monday */
	CHECK_INT(is_work(&c, "2026-01-04"), 1); /* Sunday after 元旦 */
	CHECK_INT(is_work(&c, "2026-02-23"), 0); /* Monday, end of 春节 */
	CHECK_INT(is_work(&c, "2026-02-24"), 1);
	CHECK_INT(is_work(&c, "2026-05-09"), 1);
	CHECK_INT(is_work(&c, "2027-01-01"), 1); /* not loaded: an ordinary Friday */
	CHECK_INT(monitor_cal_kind(&c, D("2025-01-26")), CAL_WORKDAY);
	CHECK_INT(monitor_cal_kind(&c, D("2025-01-29")), CAL_HOLIDAY);
	CHECK_INT(monitor_cal_kind(&c, D("2025-03-03")), 0);
	monitor_cal_release(&c);
}

TEST(calendar_deadlines_2025_spring_festival)
{
	struct work_calendar c;
	monitor_cal_init(&c);
	monitor_cal_load_builtin(&c);
	/* from Friday 2025-01-24: the 调休 Sunday counts, then the break */
	CHECK_STR(after(&c, "2025-01-24", 1), "2025-01-26");
	CHECK_STR(after(&c, "2025-01-24", 2), "2025-01-27");
	CHECK_STR(after(&c, "2025-01-24", 3), "2025-02-05");
	CHECK_STR(after(&c, "2025-01-24", 5), "2025-02-07");
	CHECK_STR(after(&c, "2025-01-24", 6), "2025-02-08");
	CHECK_STR(after(&c, "2025-01-24", 7), "2025-02-10");
	/* a step started during the holiday: counting starts after it */
	CHECK_STR(after(&c, "2025-01-30", 2), "2025-02-06");
	/* a 2-working-day 入户核查 asked for on the 调休 Saturday */
	CHECK_STR(after(&c, "2025-02-08", 2), "2025-02-11");
	/* the 20-working-day identification from Monday 2025-01-20 */
	CHECK_STR(after(&c, "2025-01-20", 20), "2025-02-21");
	CHECK_INT(monitor_cal_workdays_between(&c, D("2025-01-20"), D("2025-02-21")), 20);
	/* backwards */
	CHECK_STR(after(&c, "2025-02-05", -3), "2025-01-24");
	CHECK_STR(after(&c, "2025-02-05", 0), "2025-02-05");
	/* 国庆中秋 2025 with the 9-28 and 10-11 working weekends */
	CHECK_STR(after(&c, "2025-09-26", 1), "2025-09-28");
	CHECK_STR(after(&c, "2025-09-26", 3), "2025-09-30");
	CHECK_STR(after(&c, "2025-09-26", 4), "2025-10-09");
	CHECK_STR(after(&c, "2025-09-26", 6), "2025-10-11");
	/* 劳动节 2025 with the 4-27 working Sunday */
	CHECK_STR(after(&c, "2025-04-25", 1), "2025-04-27");
	CHECK_STR(after(&c, "2025-04-30", 1), "2025-05-06");
	monitor_cal_release(&c);
}

TEST(calendar_deadlines_2026_spring_festival)
{
	struct work_calendar c;
	monitor_cal_init(&c);
	monitor_cal_load_builtin(&c);
	CHECK_STR(after(&c, "2026-02-13", 1), "2026-02-14"); /* Saturday, 调休上班 */
	CHECK_STR(after(&c, "2026-02-13", 2), "2026-02-24");
	CHECK_STR(after(&c, "2026-02-13", 5), "2026-02-27");
	CHECK_STR(after(&c, "2026-02-13", 6), "2026-02-28"); /* Saturday, 调休上班 */
	CHECK_STR(after(&c, "2026-02-13", 7), "2026-03-02");
	CHECK_STR(after(&c, "2026-02-14", 1), "2026-02-24");
	CHECK_INT(monitor_cal_workdays_between(&c, D("2026-02-13"), D("2026-02-24")), 2);
	CHECK_INT(monitor_cal_workdays_between(&c, D("2026-02-14"), D("2026-02-23")), 0);
	/* 国庆 2026 with 9-20 and 10-10 worked */
	CHECK_STR(after(&c, "2026-09-18", 1), "2026-09-20");
	CHECK_STR(after(&c, "2026-09-24", 1), "2026-09-28"); /* 中秋 9-25..27 */
	CHECK_STR(after(&c, "2026-09-30", 1), "2026-10-08");
	CHECK_STR(after(&c, "2026-10-09", 1), "2026-10-10");
	monitor_cal_release(&c);
}

TEST(calendar_year_boundaries_and_leap_years)
{
	struct work_calendar c;
	monitor_cal_init(&c);
	monitor_cal_load_builtin(&c);
	CHECK_STR(after(&c, "2024-12-31", 1), "2025-01-02"); /* 元旦 2025 */
	CHECK_STR(after(&c, "2025-12-31", 1), "2026-01-04"); /* 元旦 2026, then the 调休 Sunday */
	CHECK_STR(after(&c, "2025-12-31", 2), "2026-01-05");
	CHECK_STR(after(&c, "2026-12-31", 1), "2027-01-01"); /* 2027 not loaded: weekdays */
	CHECK_STR(after(&c, "2026-01-05", -2), "2025-12-31");
	CHECK_INT(monitor_cal_workdays_between(&c, D("2025-12-30"), D("2026-01-05")), 3);
	CHECK_INT(monitor_cal_workdays_between(&c, D("2026-01-05"), D("2025-12-30")), -3);
	/* leap days */
	CHECK_STR(after(&c, "2024-02-28", 1), "2024-02-29");
	CHECK_STR(after(&c, "2024-02-29", 1), "2024-03-01");
	CHECK_STR(after(&c, "2028-02-28", 1), "2028-02-29");
	CHECK_STR(after(&c, "2100-02-26", 1), "2100-03-01"); /* Friday → Monday, no 2-29 */
	CHECK_STR(after(&c, "2000-02-28", 1), "2000-02-29");
	monitor_cal_release(&c);
}

/* The arithmetic agrees with a naive day-by-day walk for every start day
 * from 2023-12 to 2027-01 and spans of 0..60 days. */
TEST(calendar_matches_naive_count)
{
	struct work_calendar c;
	long first = D("2023-12-01"), last = D("2027-01-31");
	int bad = 0;
	monitor_cal_init(&c);
	monitor_cal_load_builtin(&c);
	for (long a = first; a <= last; a++) {
		long count = 0;
		for (long b = a; b <= a + 60; b++) {
			if (b > a)
				count += monitor_cal_is_workday(&c, b);
			if (monitor_cal_workdays_between(&c, a, b) != count)
				bad++;
			if (count > 0 && b > a && monitor_cal_is_workday(&c, b) &&
			    monitor_cal_add_workdays(&c, a, (int)count) != b)
				bad++;
			if (monitor_cal_workdays_between(&c, b, a) != -count)
				bad++;
		}
		for (int n = 0; n <= 25; n++)
			/* and going back n working days lands on or before a */
			if (monitor_cal_workdays_between(&c, a,
							 monitor_cal_add_workdays(&c, a, n)) != n ||
			    monitor_cal_add_workdays(&c, monitor_cal_add_workdays(&c, a, n), -n) >
				a)
				bad++;
	}
	CHECK_INT(bad, 0);
	monitor_cal_release(&c);
}

TEST(calendar_set_and_remove)
{
	struct work_calendar c;
	monitor_cal_init(&c);
	CHECK_INT(monitor_cal_is_workday(&c, D("2027-02-06")), 0); /* Saturday */
	monitor_cal_set(&c, D("2027-02-06"), CAL_WORKDAY);
	monitor_cal_set(&c, D("2027-02-08"), CAL_HOLIDAY);
	monitor_cal_set(&c, D("2027-02-07"), CAL_HOLIDAY);
	CHECK_INT(c.nr, 3);
	CHECK(c.days[0].day < c.days[1].day && c.days[1].day < c.days[2].day);
	CHECK_INT(monitor_cal_is_workday(&c, D("2027-02-06")), 1);
	CHECK_INT(monitor_cal_is_workday(&c, D("2027-02-08")), 0);
	monitor_cal_set(&c, D("2027-02-08"), CAL_WORKDAY); /* replace */
	CHECK_INT(c.nr, 3);
	CHECK_INT(monitor_cal_is_workday(&c, D("2027-02-08")), 1);
	monitor_cal_set(&c, D("2027-02-08"), 0); /* remove */
	monitor_cal_set(&c, D("2027-03-08"), 0); /* removing nothing */
	CHECK_INT(c.nr, 2);
	CHECK_INT(monitor_cal_is_workday(&c, D("2027-02-08")), 1); /* a Monday again */
	monitor_cal_release(&c);
	CHECK_INT(c.nr, 0);
}

/* The table feeds the same calendar, and an administrator's change to a
 * shipped year survives the next migration. */
TEST(calendar_table_feeds_memory)
{
	char path[256], err[256];
	struct work_calendar a, b;
	struct db *db;
	snprintf(path, sizeof(path), "%s/calendar.db", unit_tmpdir());
	db = db_open(path, 1, err, sizeof(err));
	if (!CHECK(db != NULL))
		return;
	CHECK_INT(monitor_calendar_migrate(db), 0);
	monitor_cal_init(&a);
	monitor_cal_init(&b);
	monitor_cal_load_builtin(&a);
	CHECK_INT(monitor_cal_load(db, &b), 0);
	CHECK_INT(b.nr, a.nr);
	for (int i = 0; i < a.nr && i < b.nr; i++)
		if (!CHECK(a.days[i].day == b.days[i].day && a.days[i].kind == b.days[i].kind))
			break;
	CHECK_INT(monitor_cal_year_loaded(db, 2025), 1);
	CHECK_INT(monitor_cal_year_loaded(db, 2027), 0);
	CHECK_INT(db_exec(db, "DELETE FROM work_calendar WHERE day = '2025-01-26'"), 0);
	CHECK_INT(monitor_calendar_migrate(db), 0);
	CHECK_INT(monitor_cal_load(db, &b), 0);
	CHECK_INT(b.nr, a.nr - 1);
	CHECK_INT(monitor_cal_is_workday(&b, D("2025-01-26")), 0);
	monitor_cal_release(&a);
	monitor_cal_release(&b);
	db_close(db);
}
