/* test_demo.c — the demo district generator: refuses a county without
 * villages, writes consistent households (structure checks, valid 身份证号
 * agreeing with sex and birth date, 户编号 under the village) and is
 * deterministic in its seed. */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"
#include "db/db.h"
#include "registry/idcard.h"
#include "registry/registry.h"
#include "harness.h"

/* A fresh database at <tmpdir>/<name> with the registry schema and, when
 * `villages` is set, two townships and three villages of 平利县. */
static struct db *demo_db(const char *name, int villages)
{
	char path[256], err[256];
	struct db *db;
	snprintf(path, sizeof(path), "%s/%s", unit_tmpdir(), name);
	db = db_open(path, 1, err, sizeof(err));
	if (!CHECK(db != NULL))
		return NULL;
	CHECK_INT(registry_migrate(db), 0);
	CHECK_INT(db_exec(db, "INSERT INTO region(code, name, level, parent) VALUES"
			      "('610000000000', '陕西省', 1, NULL),"
			      "('610900000000', '安康市', 2, '610000000000'),"
			      "('610926000000', '平利县', 3, '610900000000'),"
			      "('610926100000', '城关镇', 4, '610926000000'),"
			      "('610926102000', '老县镇', 4, '610926000000')"),
		  0);
	if (villages)
		CHECK_INT(db_exec(db, "INSERT INTO region(code, name, level, parent) VALUES"
				      "('610926100001', '西城社区居委会', 5, '610926100000'),"
				      "('610926100201', '药妇沟村委会', 5, '610926100000'),"
				      "('610926102200', '蒋家坪村委会', 5, '610926102000')"),
			  0);
	return db;
}

/* Everything generated, one line per member, for comparing two runs. */
static void dump_members(struct db *db, struct buf *out)
{
	enum { D_HH, D_NAME, D_ID, D_REL, D_EDU, D_HEALTH, D_WORK };
	struct db_stmt *st = db_prepare(db, "SELECT h.hh_no, m.name, m.id_number, m.relation, "
					    "m.education, m.health, m.work_status FROM member m "
					    "JOIN household h ON h.id = m.household_id ORDER BY m.id");
	while (db_step(st) == DB_ROW)
		buf_addf(out, "%s %s %s %lld %lld %lld %lld\n", db_col_text(st, D_HH),
			 db_col_text(st, D_NAME), db_col_text(st, D_ID),
			 (long long)db_col_int(st, D_REL), (long long)db_col_int(st, D_EDU),
			 (long long)db_col_int(st, D_HEALTH), (long long)db_col_int(st, D_WORK));
	db_done(st);
}

TEST(demo_requires_villages)
{
	struct db *db = demo_db("demo-empty.db", 0);
	if (!db)
		return;
	CHECK_INT(registry_demo_generate(db, "610926", 10, 1, 0), -1);
	CHECK_INT(registry_demo_generate(db, "61092", 10, 1, 0), -1);
	db_close(db);
}

TEST(demo_households_are_consistent)
{
	enum { C_HH, C_HH_NO, C_VILLAGE, C_ADDRESS, C_ID, C_REL, C_SEX, C_BIRTH, C_NAME };
	struct db *db = demo_db("demo-check.db", 1);
	struct db_stmt *st;
	struct member_rec ms[16];
	struct reg_problem pr[4];
	int64_t cur = -1;
	int n = 0, rc, heads = 0, bad_structure = 0, bad_id = 0, bad_hh = 0, members = 0;

	if (!db)
		return;
	CHECK_INT(registry_demo_generate(db, "610926", 300, 42, 0), 0);
	st = db_prepare(db, "SELECT h.id, h.hh_no, h.village_code, h.address, m.id_number, "
			    "m.relation, m.sex, m.birth_date, m.name FROM household h "
			    "JOIN member m ON m.household_id = h.id ORDER BY h.id, m.id");
	do {
		struct idcard id;
		char birth[16];
		rc = db_step(st);
		if (rc != DB_ROW || db_col_int(st, C_HH) != cur) {
			if (n && registry_check_structure(ms, n, pr, 4))
				bad_structure++;
			n = 0;
			if (rc != DB_ROW)
				break;
			cur = db_col_int(st, C_HH);
			if (strlen(db_col_text(st, C_HH_NO)) != 16 ||
			    !starts_with(db_col_text(st, C_HH_NO), db_col_text(st, C_VILLAGE)))
				bad_hh++;
			if (!strcmp(db_col_text(st, C_VILLAGE), "610926102200") &&
			    !starts_with(db_col_text(st, C_ADDRESS), "老县镇蒋家坪村"))
				bad_hh++;
		}
		if (n >= 16)
			continue;
		member_rec_init(&ms[n]);
		snprintf(ms[n].id_number, sizeof(ms[n].id_number), "%s", db_col_text(st, C_ID));
		snprintf(ms[n].name, sizeof(ms[n].name), "%s", db_col_text(st, C_NAME));
		ms[n].relation = (int)db_col_int(st, C_REL);
		ms[n].sex = (int)db_col_int(st, C_SEX);
		heads += ms[n].relation == 1;
		members++;
		if (idcard_parse(ms[n].id_number, 20261129, &id) != IDCARD_OK || id.sex != ms[n].sex) {
			bad_id++;
			n++;
			continue;
		}
		snprintf(birth, sizeof(birth), "%04d-%02d-%02d", id.year % 10000, id.month % 100,
			 id.day % 100);
		if (strcmp(birth, db_col_text(st, C_BIRTH)))
			bad_id++;
		n++;
	} while (rc == DB_ROW);
	db_done(st);

	CHECK_INT(heads, 300);
	CHECK(members > 300 * 2 && members < 300 * 5);
	CHECK_INT(bad_structure, 0);
	CHECK_INT(bad_id, 0);
	CHECK_INT(bad_hh, 0);
	db_close(db);
}

TEST(demo_is_deterministic)
{
	struct db *a = demo_db("demo-a.db", 1), *b = demo_db("demo-b.db", 1),
		  *c = demo_db("demo-c.db", 1);
	struct buf da = BUF_INIT, dbuf = BUF_INIT, dc = BUF_INIT;
	if (!a || !b || !c)
		return;
	CHECK_INT(registry_demo_generate(a, "610926", 200, 7, 0), 0);
	CHECK_INT(registry_demo_generate(b, "610926", 200, 7, 0), 0);
	CHECK_INT(registry_demo_generate(c, "610926", 200, 8, 0), 0);
	dump_members(a, &da);
	dump_members(b, &dbuf);
	dump_members(c, &dc);
	CHECK(da.len > 0);
	CHECK(da.len == dbuf.len && !memcmp(da.buf, dbuf.buf, da.len));
	CHECK(da.len != dc.len || memcmp(da.buf, dc.buf, da.len));
	buf_release(&da);
	buf_release(&dbuf);
	buf_release(&dc);
	db_close(a);
	db_close(b);
	db_close(c);
}

/* Two counties in one database (the scale benchmark's city): the second
 * county's people carry its own area codes (and 安康's pre-2001 one), no
 * 身份证号 repeats one of the first county's, even from the same seed. */
TEST(demo_adds_a_second_county)
{
	struct db *db = demo_db("demo-two.db", 1);
	struct db_stmt *st;
	if (!db)
		return;
	CHECK_INT(db_exec(db, "INSERT INTO region(code, name, level, parent) VALUES"
			      "('610902000000', '汉滨区', 3, '610900000000'),"
			      "('610902001000', '老城街道', 4, '610902000000'),"
			      "('610902001001', '东关社区居委会', 5, '610902001000')"),
		  0);
	CHECK_INT(registry_demo_generate(db, "610926", 300, 7, 0), 0);
	CHECK_INT(registry_demo_generate(db, "610902", 300, 7, 0), 0);
	st = db_prepare(db, "SELECT count(*), count(DISTINCT m.id_number), "
			    "sum(substr(h.village_code, 1, 6) = '610902' AND substr(m.id_number, 1, 6) "
			    "IN ('610926', '612427')), "
			    "sum(substr(h.village_code, 1, 6) = '610902' AND substr(m.id_number, 1, 6) "
			    "IN ('610902', '612401')) FROM member m JOIN household h ON h.id = "
			    "m.household_id");
	CHECK_INT(db_step(st), DB_ROW);
	CHECK(db_col_int(st, 0) > 1200);
	CHECK_INT(db_col_int(st, 1), db_col_int(st, 0)); /* every number once */
	CHECK_INT(db_col_int(st, 2), 0);		  /* no 平利 native in 汉滨 */
	CHECK(db_col_int(st, 3) > 500);			  /* 汉滨's own codes */
	db_done(st);
	db_close(db);
}
