/* calendar.c — dates as day numbers and the working-day calendar used for
 * every statutory time limit (入户核查 within 2–3 working days, the whole
 * identification within 20 working days…).
 *
 * Dates are day numbers (days since 1970-01-01, proleptic Gregorian) made by
 * Howard Hinnant's days_from_civil, so no time zone or mktime() is ever
 * involved.  A day is a working day when the calendar marks it 调休上班, or
 * it is Monday..Friday and not marked 放假.  The official 国务院办公厅
 * schedules for 2024–2026 ship as data below; table work_calendar holds
 * them (and whatever an administrator adds for later years) and is read into
 * the in-memory struct work_calendar, on which the pure functions work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "db/db.h"
#include "monitor/monitor.h"
#include "registry/codes.h"

/* ---- day numbers ------------------------------------------------------------ */

/* Floor division and modulo for a positive divisor. */
static long floor_div(long a, long b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static long floor_mod(long a, long b)
{
	return a - floor_div(a, b) * b;
}

long monitor_days_from_civil(int y, int m, int d)
{
	long era, yoe, doy, doe, yy = y - (m <= 2);
	era = floor_div(yy, 400);
	yoe = yy - era * 400;
	doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void monitor_civil_from_days(long z, int *y, int *m, int *d)
{
	long era, doe, yoe, doy, mp;
	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int monitor_weekday(long z)
{
	/* 1970-01-01 was a Thursday (ISO 4) */
	return (int)floor_mod(z + 3, 7) + 1;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 ? 28 + leap : dm[m - 1];
}

int monitor_date_parse(const char *s, long *day)
{
	int y, m, d;
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	y = atoi(s);
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return -1;
	*day = monitor_days_from_civil(y, m, d);
	return 0;
}

void monitor_date_format(long z, char out[11])
{
	int y, m, d;
	monitor_civil_from_days(z, &y, &m, &d);
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

long monitor_today(void)
{
	/* $LIUBAO_TODAY (YYYY-MM-DD) moves the clock for tests and for
	 * demonstrating deadlines; otherwise China Standard Time, UTC+8 all year */
	const char *fake = getenv("LIUBAO_TODAY");
	long z;
	if (fake && !monitor_date_parse(fake, &z))
		return z;
	return floor_div((long)time(NULL) + 8 * 3600, 86400);
}

/* ---- the in-memory calendar --------------------------------------------------- */

static const struct code_item cal_kind_items[] = {
    {CAL_HOLIDAY, "放假", 0},
    {CAL_WORKDAY, "调休上班", 0},
};
const struct code_list code_cal_kind = {"cal_kind", "日历类型", cal_kind_items,
					(int)ARRAY_SIZE(cal_kind_items), 0};

void monitor_cal_init(struct work_calendar *c)
{
	c->days = NULL;
	c->nr = c->alloc = 0;
}

void monitor_cal_release(struct work_calendar *c)
{
	free(c->days);
	monitor_cal_init(c);
}

/* Index of the first entry with day >= `day`. */
static int cal_lower_bound(const struct work_calendar *c, long day)
{
	int lo = 0, hi = c->nr;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (c->days[mid].day < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void monitor_cal_set(struct work_calendar *c, long day, int kind)
{
	int i = cal_lower_bound(c, day);
	int found = i < c->nr && c->days[i].day == day;
	if (!kind) {
		if (found) {
			memmove(c->days + i, c->days + i + 1,
				(size_t)(c->nr - i - 1) * sizeof(*c->days));
			c->nr--;
		}
		return;
	}
	if (found) {
		c->days[i].kind = kind;
		return;
	}
	ALLOC_GROW(c->days, c->nr + 1, c->alloc);
	memmove(c->days + i + 1, c->days + i, (size_t)(c->nr - i) * sizeof(*c->days));
	c->days[i].day = day;
	c->days[i].kind = kind;
	c->nr++;
}

int monitor_cal_kind(const struct work_calendar *c, long day)
{
	int i = cal_lower_bound(c, day);
	return i < c->nr && c->days[i].day == day ? c->days[i].kind : 0;
}

int monitor_cal_is_workday(const struct work_calendar *c, long day)
{
	int k = monitor_cal_kind(c, day);
	if (k == CAL_WORKDAY)
		return 1;
	if (k == CAL_HOLIDAY)
		return 0;
	return monitor_weekday(day) <= 5;
}

long monitor_cal_add_workdays(const struct work_calendar *c, long day, int n)
{
	int step = n < 0 ? -1 : 1, left = n < 0 ? -n : n;
	while (left > 0) {
		day += step;
		left -= monitor_cal_is_workday(c, day);
	}
	return day;
}

/* Monday..Friday days with day number <= z, counted from an arbitrary
 * Monday-aligned origin (only differences are meaningful). */
static long weekdays_upto(long z)
{
	long shifted = z + 3; /* 0 = a Monday */
	long weeks = floor_div(shifted, 7), r = floor_mod(shifted, 7);
	return weeks * 5 + (r + 1 < 5 ? r + 1 : 5);
}

long monitor_cal_workdays_between(const struct work_calendar *c, long a, long b)
{
	long n;
	int i;
	if (b < a)
		return -monitor_cal_workdays_between(c, b, a);
	n = weekdays_upto(b) - weekdays_upto(a);
	/* marks in (a, b] that change a day's nature */
	for (i = cal_lower_bound(c, a + 1); i < c->nr && c->days[i].day <= b; i++) {
		int weekday = monitor_weekday(c->days[i].day) <= 5;
		if (c->days[i].kind == CAL_HOLIDAY && weekday)
			n--;
		else if (c->days[i].kind == CAL_WORKDAY && !weekday)
			n++;
	}
	return n;
}

/* ---- the official schedules ------------------------------------------------------
 * From the 国务院办公厅 notices on 部分节假日安排 for 2024, 2025 and 2026.
 * Every day of a break is listed as 放假 (weekend days inside it too, so a
 * screen can show the whole break); 调休上班 days are weekend days worked. */

#define H(d, n)                                                                                    \
	{                                                                                          \
		d, CAL_HOLIDAY, n                                                                  \
	}
#define W(d, n)                                                                                    \
	{                                                                                          \
		d, CAL_WORKDAY, n                                                                  \
	}

const struct cal_entry monitor_cal_builtin[] = {
    /* 2024 */
    H("2024-01-01", "元旦"),
    W("2024-02-04", "春节"),
    H("2024-02-10", "春节"),
    H("2024-02-11", "春节"),
    H("2024-02-12", "春节"),
    H("2024-02-13", "春节"),
    H("2024-02-14", "春节"),
    H("2024-02-15", "春节"),
    H("2024-02-16", "春节"),
    H("2024-02-17", "春节"),
    W("2024-02-18", "春节"),
    H("2024-04-04", "清明节"),
    H("2024-04-05", "清明节"),
    H("2024-04-06", "清明节"),
    W("2024-04-07", "清明节"),
    W("2024-04-28", "劳动节"),
    H("2024-05-01", "劳动节"),
    H("2024-05-02", "劳动节"),
    H("2024-05-03", "劳动节"),
    H("2024-05-04", "劳动节"),
    H("2024-05-05", "劳动节"),
    W("2024-05-11", "劳动节"),
    H("2024-06-10", "端午节"),
    W("2024-09-14", "中秋节"),
    H("2024-09-15", "中秋节"),
    H("2024-09-16", "中秋节"),
    H("2024-09-17", "中秋节"),
    W("2024-09-29", "国庆节"),
    H("2024-10-01", "国庆节"),
    H("2024-10-02", "国庆节"),
    H("2024-10-03", "国庆节"),
    H("2024-10-04", "国庆节"),
    H("2024-10-05", "国庆节"),
    H("2024-10-06", "国庆节"),
    H("2024-10-07", "国庆节"),
    W("2024-10-12", "国庆节"),
    /* 2025 */
    H("2025-01-01", "元旦"),
    W("2025-01-26", "春节"),
    H("2025-01-28", "春节"),
    H("2025-01-29", "春节"),
    H("2025-01-30", "春节"),
    H("2025-01-31", "春节"),
    H("2025-02-01", "春节"),
    H("2025-02-02", "春节"),
    H("2025-02-03", "春节"),
    H("2025-02-04", "春节"),
    W("2025-02-08", "春节"),
    H("2025-04-04", "清明节"),
    H("2025-04-05", "清明节"),
    H("2025-04-06", "清明节"),
    W("2025-04-27", "劳动节"),
    H("2025-05-01", "劳动节"),
    H("2025-05-02", "劳动节"),
    H("2025-05-03", "劳动节"),
    H("2025-05-04", "劳动节"),
    H("2025-05-05", "劳动节"),
    H("2025-05-31", "端午节"),
    H("2025-06-01", "端午节"),
    H("2025-06-02", "端午节"),
    W("2025-09-28", "国庆节、中秋节"),
    H("2025-10-01", "国庆节、中秋节"),
    H("2025-10-02", "国庆节、中秋节"),
    H("2025-10-03", "国庆节、中秋节"),
    H("2025-10-04", "国庆节、中秋节"),
    H("2025-10-05", "国庆节、中秋节"),
    H("2025-10-06", "国庆节、中秋节"),
    H("2025-10-07", "国庆节、中秋节"),
    H("2025-10-08", "国庆节、中秋节"),
    W("2025-10-11", "国庆节、中秋节"),
    /* 2026 */
    H("2026-01-01", "元旦"),
    H("2026-01-02", "元旦"),
    H("2026-01-03", "元旦"),
    W("2026-01-04", "元旦"),
    W("2026-02-14", "春节"),
    H("2026-02-15", "春节"),
    H("2026-02-16", "春节"),
    H("2026-02-17", "春节"),
    H("2026-02-18", "春节"),
    H("2026-02-19", "春节"),
    H("2026-02-20", "春节"),
    H("2026-02-21", "春节"),
    H("2026-02-22", "春节"),
    H("2026-02-23", "春节"),
    W("2026-02-28", "春节"),
    H("2026-04-04", "清明节"),
    H("2026-04-05", "清明节"),
    H("2026-04-06", "清明节"),
    H("2026-05-01", "劳动节"),
    H("2026-05-02", "劳动节"),
    H("2026-05-03", "劳动节"),
    H("2026-05-04", "劳动节"),
    H("2026-05-05", "劳动节"),
    W("2026-05-09", "劳动节"),
    H("2026-06-19", "端午节"),
    H("2026-06-20", "端午节"),
    H("2026-06-21", "端午节"),
    W("2026-09-20", "国庆节"),
    H("2026-09-25", "中秋节"),
    H("2026-09-26", "中秋节"),
    H("2026-09-27", "中秋节"),
    H("2026-10-01", "国庆节"),
    H("2026-10-02", "国庆节"),
    H("2026-10-03", "国庆节"),
    H("2026-10-04", "国庆节"),
    H("2026-10-05", "国庆节"),
    H("2026-10-06", "国庆节"),
    H("2026-10-07", "国庆节"),
    W("2026-10-10", "国庆节"),
    {NULL, 0, NULL},
};

#undef H
#undef W

const struct cal_year_source monitor_cal_builtin_years[] = {
    {2024, "国务院办公厅关于2024年部分节假日安排的通知"},
    {2025, "国务院办公厅关于2025年部分节假日安排的通知"},
    {2026, "国务院办公厅关于2026年部分节假日安排的通知"},
    {0, NULL},
};

void monitor_cal_load_builtin(struct work_calendar *c)
{
	for (const struct cal_entry *e = monitor_cal_builtin; e->date; e++) {
		long day;
		if (monitor_date_parse(e->date, &day))
			die("bad built-in calendar date %s", e->date);
		monitor_cal_set(c, day, e->kind);
	}
}

/* ---- the table -------------------------------------------------------------------- */

static const struct db_migration calendar_migrations[] = {
    {1, "working-day calendar: holidays and 调休 working days",
     "CREATE TABLE work_calendar(\n"
     "  day TEXT PRIMARY KEY,     -- YYYY-MM-DD\n"
     "  kind INTEGER NOT NULL CHECK(kind IN (1, 2)), -- 1 放假, 2 调休上班 (enum cal_kind)\n"
     "  name TEXT NOT NULL DEFAULT '', -- 节日, e.g. 春节\n"
     "  source TEXT NOT NULL DEFAULT '', -- the notice it comes from\n"
     "  updated_at TEXT NOT NULL  -- UTC\n"
     ");\n"
     "CREATE TABLE work_calendar_year(\n"
     "  year INTEGER PRIMARY KEY, -- a year whose official schedule has been loaded\n"
     "  source TEXT NOT NULL,     -- the notice\n"
     "  loaded_at TEXT NOT NULL   -- UTC\n"
     ");\n",
     NULL},
};

/* Store the shipped schedule of every built-in year not loaded yet (an
 * administrator's later edits to a loaded year are never overwritten). */
static int calendar_seed(struct db *db)
{
	char now[20];
	now_utc_text(now);
	for (const struct cal_year_source *y = monitor_cal_builtin_years; y->year; y++) {
		int loaded = monitor_cal_year_loaded(db, y->year);
		struct db_stmt *st;
		char prefix[8];
		if (loaded < 0)
			return -1;
		if (loaded)
			continue;
		snprintf(prefix, sizeof(prefix), "%04d-", y->year);
		for (const struct cal_entry *e = monitor_cal_builtin; e->date; e++) {
			if (!starts_with(e->date, prefix))
				continue;
			st = db_prepare(db,
					"INSERT INTO work_calendar(day, kind, name, source, "
					"updated_at) VALUES(:d, :k, :n, :s, :t) ON CONFLICT(day) "
					"DO NOTHING");
			db_bind_text(st, ":d", e->date);
			db_bind_int(st, ":k", e->kind);
			db_bind_text(st, ":n", e->name);
			db_bind_text(st, ":s", y->source);
			db_bind_text(st, ":t", now);
			if (db_run(st) < 0) {
				db_done(st);
				return -1;
			}
			db_done(st);
		}
		st = db_prepare(db, "INSERT INTO work_calendar_year(year, source, loaded_at) "
				    "VALUES(:y, :s, :t)");
		db_bind_int(st, ":y", y->year);
		db_bind_text(st, ":s", y->source);
		db_bind_text(st, ":t", now);
		if (db_run(st) < 0) {
			db_done(st);
			return -1;
		}
		db_done(st);
	}
	return 0;
}

int monitor_calendar_migrate(struct db *db)
{
	if (db_migrate(db, "monitor.calendar", calendar_migrations,
		       (int)ARRAY_SIZE(calendar_migrations)))
		return -1;
	if (db_begin(db))
		return error("cannot begin: %s", db_errmsg(db));
	if (calendar_seed(db)) {
		error("cannot store the holiday calendar: %s", db_errmsg(db));
		db_rollback(db);
		return -1;
	}
	return db_commit(db) ? error("cannot commit: %s", db_errmsg(db)) : 0;
}

int monitor_cal_year_loaded(struct db *db, int year)
{
	struct db_stmt *st = db_prepare(db, "SELECT 1 FROM work_calendar_year WHERE year = :y");
	int rc;
	db_bind_int(st, ":y", year);
	rc = db_step(st);
	db_done(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int monitor_cal_load(struct db *db, struct work_calendar *c)
{
	enum { C_DAY, C_KIND };
	struct db_stmt *st = db_prepare(db, "SELECT day, kind FROM work_calendar ORDER BY day");
	int rc;
	c->nr = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		long day;
		if (monitor_date_parse(db_col_text(st, C_DAY), &day))
			continue;
		/* rows arrive sorted, so this appends */
		monitor_cal_set(c, day, (int)db_col_int(st, C_KIND));
	}
	db_done(st);
	return rc < 0 ? -1 : 0;
}
