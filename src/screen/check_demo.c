/* check_demo.c — the demo district's deliberate data errors: a dozen
 * members given the slips real ledgers are full of (a student with a
 * 文化程度, a missing 民族, a child registered as working, a disabled person
 * without a 残疾类别, two people with the same name, sex and birth date in
 * different households…), then one check run, so that a newcomer finds
 * findings (疑点) on first start.  Deterministic for a seed.
 *
 * Only errors the registry import accepts are made: the demo must still
 * export and re-import (tests and benchmarks do), and the import refuses
 * bad 身份证号, broken household structure and unknown codes — those checks
 * are shown by the tests instead.  The fields the monitoring rules read
 * (健康状况, 劳动技能, 在校生状况 being empty, …) are left alone, so the
 * demo's screening stays what it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "monitor/monitor.h"
#include "registry/registry.h"
#include "screen/check_internal.h"
#include "screen/screen.h"

/* One kind of error: which members may get it and what changes. */
struct demo_error {
	const char *check; /* the check that will find it */
	const char *where; /* condition on member m and household h */
	void (*apply)(struct member_rec *m);
};

static void set_education_primary(struct member_rec *m)
{
	m->education = 2; /* 小学 beside an 在校生状况 */
}
static void clear_education(struct member_rec *m)
{
	m->education = -1;
}
static void clear_ethnicity(struct member_rec *m)
{
	m->ethnicity = -1;
}
static void set_work_township(struct member_rec *m)
{
	m->work_status = 1; /* 乡镇内务工 */
}
static void set_work_out_of_province(struct member_rec *m)
{
	m->work_status = 4; /* 省外务工 */
}
static void set_work_out_of_county(struct member_rec *m)
{
	m->work_status = 3; /* 省内县外务工 */
}
static void clear_disability(struct member_rec *m)
{
	m->disability = -1;
}
static void set_disability_limb(struct member_rec *m)
{
	m->disability = 4; /* 肢体残疾 for a healthy person */
}
static void clear_critical(struct member_rec *m)
{
	m->ins_critical = 0;
}
static void set_employee_med(struct member_rec *m)
{
	m->ins_employee_med = 1; /* beside 城乡居民医保 */
}
static void set_preschool(struct member_rec *m)
{
	m->school_status = 1; /* 学龄前儿童 at eight or nine */
}

/* :y8 … :y50 are the birth dates of people turning 8 … 50 today. */
static const struct demo_error errors[] = {
	{ "ED01", "m.school_status BETWEEN 4 AND 12 AND m.education IS NULL", set_education_primary },
	{ "ED02", "m.school_status IS NULL AND m.education IS NOT NULL AND m.birth_date <= :y30 AND "
		  "m.birth_date > :y50",
	  clear_education },
	{ "CP07", "m.ethnicity IS NOT NULL AND m.relation = 1", clear_ethnicity },
	{ "LB07", "m.work_status IS NULL AND m.birth_date <= :y12 AND m.birth_date > :y16",
	  set_work_township },
	{ "LB03", "m.labor_skill = 4 AND m.work_status = 6", set_work_out_of_province },
	{ "ED10", "m.school_status BETWEEN 7 AND 15 AND m.work_status = 6", set_work_out_of_county },
	{ "CP11", "m.disability IS NOT NULL", clear_disability },
	{ "CP12", "m.health = 1 AND m.disability IS NULL AND m.relation = 2", set_disability_limb },
	{ "IN03", "m.ins_resident_med = 1 AND m.ins_critical = 1 AND m.relation = 3", clear_critical },
	{ "IN02", "m.ins_resident_med = 1 AND m.ins_employee_med = 0 AND m.birth_date <= :y25 AND "
		  "m.birth_date > :y45",
	  set_employee_med },
	{ "ED04", "m.school_status = 3 AND m.health = 1 AND m.birth_date <= :y8 AND m.birth_date > "
		  ":y10",
	  set_preschool },
};

/* The birth date of someone turning `years` on `today` (YYYY-MM-DD), out[11]. */
static void years_before(const char *today, int years, char out[11])
{
	snprintf(out, 11, "%04d%s", atoi(today) - years, today + 4);
}

static int used(const int64_t *hh, int n, int64_t id)
{
	for (int i = 0; i < n; i++)
		if (hh[i] == id)
			return 1;
	return 0;
}

int screen_check_demo(struct db *db, const char *county, uint64_t seed)
{
	static const int ages[] = { 8, 10, 12, 16, 25, 30, 45, 50 };
	/* parameter names are literals: the db layer caches them by address */
	static const char *const names[] = { ":y8", ":y10", ":y12", ":y16",
					     ":y25", ":y30", ":y45", ":y50" };
	struct check_report rep;
	struct db_stmt *st;
	char today[11], village[13] = "", township[10], cut[ARRAY_SIZE(ages)][11], name[64] = "";
	int64_t hh_used[ARRAY_SIZE(errors) + 2];
	int nused = 0, made = 0;
	int64_t dup_from = 0, dup_to = 0;

	monitor_today_text(today);
	for (size_t i = 0; i < ARRAY_SIZE(ages); i++)
		years_before(today, ages[i], cut[i]);
	/* the village of the demo's village clerk: the first from township 102
	 * on (老县镇 in 平利), else the county's first */
	for (int pass = 0; pass < 2 && !village[0]; pass++) {
		char lo[13], hi[13];
		snprintf(lo, sizeof(lo), "%.6s%s", county, pass ? "" : "102");
		snprintf(hi, sizeof(hi), "%.6s:", county);
		st = db_prepare(db, "SELECT min(village_code) FROM household WHERE village_code >= "
				    ":lo AND village_code < :hi");
		db_bind_text(st, ":lo", lo);
		db_bind_text(st, ":hi", hi);
		if (db_step(st) == DB_ROW && !db_col_is_null(st, 0))
			snprintf(village, sizeof(village), "%s", db_col_text(st, 0));
		db_done(st);
	}
	snprintf(township, sizeof(township), "%.9s", village);

	if (db_begin(db))
		return error("cannot begin: %s", db_errmsg(db));
	for (size_t e = 0; e < ARRAY_SIZE(errors); e++) {
		struct buf sql = BUF_INIT;
		int64_t cand[40][2];
		int nc = 0, skip;
		buf_addf(&sql, "SELECT m.id, m.household_id FROM member m JOIN household h ON h.id = "
			       "m.household_id WHERE h.village_code >= :lo AND h.village_code < :hi "
			       "AND %s ORDER BY CASE WHEN h.village_code = :v THEN 0 "
			       "ELSE 1 END, m.id LIMIT 40",
			 errors[e].where);
		st = db_prepare_text(db, sql.buf);
		/* every third error prefers the village clerk's own village */
		db_bind_text(st, ":v", e % 3 == 0 ? village : "");
		db_bind_prefix(st, ":lo", ":hi", county);
		for (size_t i = 0; i < ARRAY_SIZE(ages); i++)
			if (strstr(sql.buf, names[i])) /* no name is a prefix of another */
				db_bind_text(st, names[i], cut[i]);
		while (nc < 40 && db_step(st) == DB_ROW) {
			cand[nc][0] = db_col_int(st, 0);
			cand[nc][1] = db_col_int(st, 1);
			nc++;
		}
		db_done(st);
		buf_release(&sql);
		skip = nc ? (int)((seed + e * 7) % (uint64_t)(nc < 5 ? nc : 5)) : 0;
		for (int i = 0; i < nc; i++) {
			struct member_rec m;
			int k = (i + skip) % nc;
			if (used(hh_used, nused, cand[k][1]))
				continue;
			if (registry_member_load(db, cand[k][0], &m) != 1)
				continue;
			errors[e].apply(&m);
			if (registry_member_save(db, &m, NULL) < 0)
				goto fail;
			hh_used[nused++] = cand[k][1];
			made++;
			break;
		}
	}
	/* two people of the same sex and birth date in different households of
	 * one township get the same name */
	st = db_prepare(db, "SELECT a.id, b.id, a.name, a.household_id, b.household_id FROM member a "
			    "JOIN household ha ON ha.id = a.household_id JOIN member b ON b.sex = "
			    "a.sex AND b.birth_date = a.birth_date AND b.household_id > "
			    "a.household_id AND b.name <> a.name JOIN household hb ON hb.id = "
			    "b.household_id AND substr(hb.village_code, 1, 9) = "
			    "substr(ha.village_code, 1, 9) WHERE ha.village_code >= :lo AND "
			    "ha.village_code < :hi AND hb.village_code >= :lo AND hb.village_code < :hi "
			    "ORDER BY a.id, b.id LIMIT 20");
	/* within the clerk's township (老县镇): pairs of one township, and a
	 * search that stays small in a database of many counties */
	db_bind_prefix(st, ":lo", ":hi", township);
	while (!dup_from && db_step(st) == DB_ROW) {
		if (used(hh_used, nused, db_col_int(st, 3)) || used(hh_used, nused, db_col_int(st, 4)))
			continue;
		dup_from = db_col_int(st, 0);
		dup_to = db_col_int(st, 1);
		snprintf(name, sizeof(name), "%s", db_col_text(st, 2));
	}
	db_done(st);
	if (dup_to) {
		struct member_rec m;
		(void)dup_from;
		if (registry_member_load(db, dup_to, &m) == 1) {
			snprintf(m.name, sizeof(m.name), "%s", name);
			if (registry_member_save(db, &m, NULL) < 0)
				goto fail;
			made++;
		}
	}
	if (db_commit(db))
		return error("cannot commit: %s", db_errmsg(db));
	if (screen_check_run(db, county, atoi(today), NULL, "demo", &rep, 0)) {
		buf_release(&rep.text);
		return -1;
	}
	buf_release(&rep.text);
	fprintf(stderr, "演示数据质量疑点：故意录错 %d 处，检查发现疑点 %ld 条\n", made, rep.hits);
	return 0;
fail:
	db_rollback(db);
	return error("cannot store a demo error: %s", db_errmsg(db));
}
