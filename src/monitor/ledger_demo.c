/* ledger_demo.c — plausible itemised incomes for the demo district.
 *
 * Every figure is drawn from a splitmix64 stream seeded by the caller's seed
 * and the household id (and the year, for what changes from year to year),
 * so the same seed always gives the same ledgers, whatever else is in the
 * database.  The model follows the members the registry demo invented:
 * migrant workers earn 务工收入 by where they work and their skill; people
 * at home farm (种植, 养殖, 林果 — 平利 is tea country — and seasonal 采摘);
 * 低保/特困 members draw 低保金/特困供养金, the elderly 养老保险金 (and
 * 高龄补贴), disabled members 残疾补贴; elderly-only households are
 * supported by children elsewhere (赡养费); serious illness brings large
 * 合规自付支出, sometimes partly paid back by 防贫保险 (理赔收入).  A few
 * households each year lose their job or their livestock.  Tuned so that
 * about 3–8% of households fall below the demo monitoring lines.
 *
 * Speed: the households and members are read once into a compact array,
 * then the item rows and the summary rows are bulk-loaded (db_copy: COPY on
 * PostgreSQL, one prepared INSERT on SQLite) in two passes that regenerate
 * the same figures, inside one transaction, without per-row allocation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "db/db.h"
#include "monitor/monitor.h"
#include "registry/codes.h"

#define DEMO_MAX_MEMBERS 12 /* members looked at per household (more are only counted) */
#define DEMO_MAX_ITEMS 48

/* Codes of the registry lists used here (codes.h order). */
enum { HH_TUOPIN = 1, HH_GENERAL = 2, HH_DIBAO = 3, HH_TEKUN = 4 };
enum { LABOR_NORMAL = 1, LABOR_SKILLED = 2, LABOR_WEAK = 3, LABOR_LOST = 4, LABOR_NONE = 5 };
enum { WORK_TOWNSHIP = 1, WORK_COUNTY, WORK_PROVINCE, WORK_OUT_PROVINCE, WORK_ABROAD, WORK_NONE };

struct demo_member {
	int16_t birth_year;
	uint8_t health; /* 健康状况 bitmask (1 << code) */
	uint8_t labor;	/* 劳动技能, 0 unknown */
	uint8_t work;	/* 务工状况, 0 unknown */
	uint8_t dibao, tekun;
	uint8_t school; /* 在校生状况, 0 none */
};

struct demo_hh {
	int64_t id;
	int type; /* 户类型, 0 unknown */
	int size; /* all members */
	int n;	  /* members kept in m[] */
	struct demo_member m[DEMO_MAX_MEMBERS];
};

/* ---- deterministic random numbers (splitmix64) ---- */

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed, int64_t id, int year)
{
	r->s = seed * 0xd1342543de82ef95ULL ^ (uint64_t)id * 0x9e3779b97f4a7c15ULL ^
	       (uint64_t)year * 0xbf58476d1ce4e5b9ULL;
	rng_next(r);
}

/* Uniform in [lo, hi]. */
static int64_t rnd(struct rng *r, int64_t lo, int64_t hi)
{
	return hi <= lo ? lo : lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

static int chance(struct rng *r, int per_mille)
{
	return (int)(rng_next(r) % 1000) < per_mille;
}

/* ---- the model ---- */

/* The items of one household-year being built. */
struct ledger {
	struct income_entry e[DEMO_MAX_ITEMS];
	char wage_note[96]; /* the one note that is formatted */
	int n;
};

/* Add `yuan` 元 of `item` (merged with an existing entry of the item);
 * `note` is borrowed. */
static void put(struct ledger *l, int item, int64_t yuan, const char *note)
{
	if (yuan <= 0)
		return;
	for (int i = 0; i < l->n; i++)
		if (l->e[i].item == item) {
			l->e[i].amount += yuan * 100;
			return;
		}
	if (l->n == DEMO_MAX_ITEMS)
		return;
	l->e[l->n].item = item;
	l->e[l->n].amount = yuan * 100;
	l->e[l->n].note = note;
	l->n++;
}

/* Percent `pct` of `v`. */
static int64_t pct(int64_t v, int64_t p)
{
	return v * p / 100;
}

/* Build the ledger of household `h` for `year`; items end sorted by code. */
static void generate(const struct demo_hh *h, int year, uint64_t seed, struct ledger *l)
{
	struct rng base, yr;
	int years = year - 2024, elderly = 0, adults = 0, weak_home = 0, migrants = 0;
	double farm = 0;
	int64_t wage = 0, rigid = 0;
	/* incomes and allowances grow about 5% and 3% a year */
	int64_t grow = 100 + 5 * years, grow_low = 100 + 3 * years;
	int poor = h->type == HH_TUOPIN || h->type == HH_DIBAO || h->type == HH_TEKUN;
	int job_shock, stock_shock;

	l->n = 0;
	rng_seed(&base, seed, h->id, 0);
	rng_seed(&yr, seed, h->id, year);
	job_shock = chance(&yr, 20);
	stock_shock = chance(&yr, 20);

	for (int i = 0; i < h->n; i++) {
		const struct demo_member *m = &h->m[i];
		int age = year - m->birth_year;
		int able = m->labor == LABOR_NORMAL || m->labor == LABOR_SKILLED;
		if (age >= 18)
			adults++;
		if (age >= 60)
			elderly++;
		if (m->work >= WORK_TOWNSHIP && m->work <= WORK_ABROAD &&
		    (able || m->labor == LABOR_WEAK)) {
			static const int64_t by_place[] = {0, 24000, 30000, 40000, 50000, 70000};
			int64_t w = by_place[m->work];
			if (m->labor == LABOR_SKILLED)
				w = pct(w, 125);
			else if (m->labor == LABOR_WEAK)
				w = pct(w, 50);
			w = w * rnd(&yr, 8, 12) / 12;  /* months worked */
			w = pct(w, rnd(&yr, 85, 115)); /* this year's luck */
			wage += pct(w, grow);
			migrants++;
			/* workers near home also help on the farm */
			if (m->work == WORK_TOWNSHIP)
				farm += 0.3;
		} else if (able && age < 70) {
			farm += 1.7; /* full-time farming */
		} else if (m->labor == LABOR_WEAK || (able && age >= 70)) {
			farm += 0.4;
			weak_home++;
		}
		if (age >= 60 && chance(&base, 970))
			put(l, 404, pct(rnd(&yr, 1850, 2300), grow_low), "");
		if (age >= 80)
			put(l, 423, age >= 90 ? 1200 : 600, "");
		if (m->health & (1 << HEALTH_DISABLED))
			put(l, 425, rnd(&base, 960, 2400), "两项补贴");
		if (m->dibao)
			put(l, 402, pct(rnd(&base, 2600, 4200), grow_low), "");
		if (m->tekun)
			put(l, 403, pct(rnd(&base, 7000, 8800), grow_low), "");
		if (m->school >= 10 && m->school <= 15 && poor)
			put(l, 426, 3000, "雨露计划");
		if (m->labor == LABOR_LOST && age >= 70 && chance(&base, 300))
			put(l, 428, 1200, "");
		if (m->health & (1 << HEALTH_SERIOUS)) {
			/* a serious illness costs most in the year it is treated */
			int64_t cost =
			    chance(&yr, 150) ? rnd(&yr, 40000, 120000) : rnd(&yr, 5000, 40000);
			rigid += cost;
		} else if ((m->health & (1 << HEALTH_CHRONIC)) && chance(&yr, 600)) {
			rigid += rnd(&yr, 300, 4000);
		}
	}
	if (job_shock)
		wage = pct(wage, 30);
	if (wage > 0) {
		snprintf(l->wage_note, sizeof(l->wage_note), "%d人外出或就近务工%s", migrants,
			 job_shock ? "，年内失业返乡" : "");
		put(l, 101, wage, l->wage_note);
	}
	/* public-welfare jobs for poor households with someone at home */
	if (poor && (weak_home || farm >= 1)) {
		int x = (int)rnd(&base, 0, 999);
		if (x < 150)
			put(l, 104, 6000, "村级公益岗（保洁、护林），500元/月");
		else if (x < 190)
			put(l, 103, 9600, "乡镇公益岗，800元/月");
		else if (x < 210)
			put(l, 102, 12000, "行业部门公益岗（护林员）");
	}
	if (farm >= 1 && chance(&base, 400))
		put(l, 105, pct(rnd(&yr, 2000, 6000), grow), "采茶");
	else if (weak_home && chance(&base, 300))
		put(l, 105, pct(rnd(&yr, 800, 3500), grow), "采茶");
	if (farm == 0 && adults)
		farm = 0.2;
	if (farm > 0) {
		int64_t scale = (int64_t)(farm * 100);
		if (farm >= 1 || chance(&base, 600)) {
			int64_t v = pct(rnd(&yr, 4500, 11000) * scale / 100, grow);
			put(l, 201, v, "");
			put(l, 501, pct(v, rnd(&yr, 25, 40)), "");
			if (farm >= 1 && chance(&base, 500))
				put(l, 421, rnd(&base, 100, 400), "");
		}
		if (chance(&base, farm >= 1 ? 550 : 300)) {
			int64_t v = chance(&base, 40) ? rnd(&yr, 20000, 60000)
						      : rnd(&yr, 5000, 18000) * scale / 100;
			v = pct(v, grow);
			if (stock_shock)
				v = pct(v, 20);
			put(l, 202, v, stock_shock ? "生猪疫病损失" : "");
			put(l, 502, pct(v, rnd(&yr, 40, 65)), "");
		}
		if (chance(&base, farm >= 1 ? 450 : 150)) {
			int64_t v = pct(rnd(&yr, 4000, 15000) * scale / 100, grow);
			put(l, 203, v, "茶园");
			put(l, 503, pct(v, rnd(&yr, 20, 35)), "");
		}
	}
	if (chance(&base, 60)) {
		int64_t v = pct(rnd(&yr, 5000, 20000), grow);
		put(l, 299, v, "小卖部、农家乐");
		put(l, 599, pct(v, rnd(&yr, 40, 60)), "");
	}
	if (poor ? chance(&base, 600) : chance(&base, 50))
		put(l, 301, rnd(&yr, 300, 1200), "光伏分红");
	if (chance(&base, 120))
		put(l, 302, rnd(&base, 300, 2500), "");
	if (chance(&base, 30))
		put(l, 304, rnd(&yr, 500, 2000), "");
	if (chance(&base, 150))
		put(l, 410, rnd(&base, 200, 1600), "");
	if (chance(&base, 150))
		put(l, 411, rnd(&base, 50, 600), "");
	if (elderly && chance(&base, 80))
		put(l, 401, elderly >= 2 ? 1920 : 960, "奖励扶助");
	/* elderly people living apart are supported by their children */
	if (elderly && elderly == h->n && chance(&base, 950))
		put(l, 429, pct(rnd(&base, 5000, 15000) * (elderly >= 2 ? 3 : 2) / 2, grow_low),
		    "子女赡养费");
	if (rigid > 0) {
		put(l, 701, rigid, rigid > 20000 ? "大病住院自付" : "门诊慢特病自付");
		if (rigid > 20000 && chance(&yr, 400))
			put(l, 601, pct(rigid, rnd(&yr, 20, 60)), "防贫保险理赔");
	}
	/* sort by item code (insertion order is nearly sorted) */
	for (int i = 1; i < l->n; i++)
		for (int j = i; j > 0 && l->e[j - 1].item > l->e[j].item; j--) {
			struct income_entry t = l->e[j];
			l->e[j] = l->e[j - 1];
			l->e[j - 1] = t;
		}
}

/* ---- reading the registry ---- */

enum { R_HH, R_TYPE, R_BIRTH, R_HEALTH, R_LABOR, R_WORK, R_DIBAO, R_TEKUN, R_SCHOOL };

static int load_households(struct db *db, const char *county, struct demo_hh **arr, int *nr)
{
	struct db_stmt *st;
	char hi[16];
	int alloc = 0, rc;
	*arr = NULL;
	*nr = 0;
	snprintf(hi, sizeof(hi), "%s:", county);
	st = db_prepare(db, "SELECT m.household_id, h.hh_type, CAST(substr(m.birth_date, 1, 4) AS "
			    "INTEGER), m.health, m.labor_skill, m.work_status, m.dibao, m.tekun, "
			    "m.school_status FROM household h JOIN member m ON m.household_id = "
			    "h.id WHERE h.village_code >= :lo AND h.village_code < :hi ORDER BY "
			    "m.household_id, m.id");
	db_bind_text(st, ":lo", county);
	db_bind_text(st, ":hi", hi);
	while ((rc = db_step(st)) == DB_ROW) {
		int64_t id = db_col_int(st, R_HH);
		struct demo_hh *h;
		if (!*nr || (*arr)[*nr - 1].id != id) {
			ALLOC_GROW(*arr, *nr + 1, alloc);
			h = &(*arr)[(*nr)++];
			h->id = id;
			h->type = db_col_is_null(st, R_TYPE) ? 0 : (int)db_col_int(st, R_TYPE);
			h->size = h->n = 0;
		}
		h = &(*arr)[*nr - 1];
		h->size++;
		if (h->n < DEMO_MAX_MEMBERS) {
			struct demo_member *m = &h->m[h->n++];
			m->birth_year = (int16_t)db_col_int(st, R_BIRTH);
			m->health = (uint8_t)db_col_int(st, R_HEALTH);
			m->labor = (uint8_t)db_col_int(st, R_LABOR);
			m->work = (uint8_t)db_col_int(st, R_WORK);
			m->dibao = db_col_int(st, R_DIBAO) == 1;
			m->tekun = db_col_int(st, R_TEKUN) == 1;
			m->school = (uint8_t)db_col_int(st, R_SCHOOL);
		}
	}
	db_done(st);
	return rc < 0 ? -1 : 0;
}

int monitor_demo_incomes(struct db *db, const char *county, int year_from, int year_to,
			 uint64_t seed)
{
	struct demo_hh *hh = NULL;
	struct ledger l;
	struct db_copy *c;
	struct db_stmt *st;
	char now[20], hi[16];
	int nr, denom, rc = 0;
	long rows = 0, sums = 0;
	double t0 = mono_seconds();

	if (year_from > year_to || year_from < 2000 || year_to > 2100)
		return error("bad demo income years %d..%d", year_from, year_to);
	if (load_households(db, county, &hh, &nr)) {
		free(hh);
		return error("cannot read the demo households: %s", db_errmsg(db));
	}
	if ((denom = monitor_income_denominator(db)) < 0 || db_begin(db)) {
		free(hh);
		return error("cannot start the demo incomes: %s", db_errmsg(db));
	}
	if (monitor_demo_lines(db))
		goto fail;
	db_tune_bulk(db);
	/* a second run replaces the ledgers of these years */
	snprintf(hi, sizeof(hi), "%s:", county);
	st = db_prepare(db, "DELETE FROM income_item WHERE year >= :a AND year <= :b AND "
			    "household_id IN (SELECT id FROM household WHERE village_code >= :lo "
			    "AND village_code < :hi)");
	db_bind_int(st, ":a", year_from);
	db_bind_int(st, ":b", year_to);
	db_bind_text(st, ":lo", county);
	db_bind_text(st, ":hi", hi);
	rc = db_run(st);
	db_done(st);
	st = db_prepare(db, "DELETE FROM income_summary WHERE year >= :a AND year <= :b AND "
			    "household_id IN (SELECT id FROM household WHERE village_code >= :lo "
			    "AND village_code < :hi)");
	db_bind_int(st, ":a", year_from);
	db_bind_int(st, ":b", year_to);
	db_bind_text(st, ":lo", county);
	db_bind_text(st, ":hi", hi);
	rc = rc < 0 ? rc : db_run(st);
	db_done(st);
	if (rc < 0)
		goto fail;

	/* pass 1: the items */
	c = db_copy_begin(db, "income_item", "household_id, year, item, amount, note");
	for (int i = 0; i < nr && !rc; i++)
		for (int y = year_from; y <= year_to && !rc; y++) {
			generate(&hh[i], y, seed, &l);
			for (int k = 0; k < l.n && !rc; k++) {
				db_copy_int(c, hh[i].id);
				db_copy_int(c, y);
				db_copy_int(c, l.e[k].item);
				db_copy_int(c, l.e[k].amount);
				db_copy_text(c, l.e[k].note);
				rc = db_copy_row(c);
				rows++;
			}
		}
	if (db_copy_end(c, rc != 0) || rc)
		goto fail;

	/* pass 2: the summaries, from the same figures */
	now_utc_text(now);
	c = db_copy_begin(db, "income_summary", monitor_income_summary_columns);
	for (int i = 0; i < nr && !rc; i++)
		for (int y = year_from; y <= year_to && !rc; y++) {
			struct income_totals t = {0};
			generate(&hh[i], y, seed, &l);
			for (int k = 0; k < l.n; k++)
				monitor_income_add(&t, l.e[k].item, l.e[k].amount);
			rc = monitor_income_copy_summary(c, hh[i].id, y, &t, hh[i].size, -1, denom,
							 now);
			sums++;
		}
	if (db_copy_end(c, rc != 0) || rc)
		goto fail;
	free(hh);
	if (db_commit(db))
		return error("cannot commit the demo incomes: %s", db_errmsg(db));
	fprintf(stderr,
		"已生成 %d–%d 年收入台账：%d 户，%ld 个收入项目，%ld 条汇总，用时 %.1f 秒\n",
		year_from, year_to, nr, rows, sums, mono_seconds() - t0);
	return 0;
fail:
	free(hh);
	error("cannot store the demo incomes: %s", db_errmsg(db));
	db_rollback(db);
	return -1;
}
