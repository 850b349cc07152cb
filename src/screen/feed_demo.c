/* feed_demo.c — department data for the demo district, so a newcomer sees
 * feed batches, their reports and the alerts they raise on first start: a
 * month-by-month year of 医保 inpatient settlements (most small, a few
 * large), the 民政 低保/特困 list (with a few people the registry does not
 * mark), 住建 dangerous-house assessments, 残联 certificates, 教育 self-pay
 * of senior-school students, one flood in one township, and a 公安 death
 * list with a few people still in the registry — each with some rows that
 * match nobody and a misspelt name, as real lists have.  Every file goes
 * through the same loader as an upload.  Deterministic for a given seed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/util.h"
#include "monitor/monitor.h"
#include "registry/idcard.h"
#include "screen/feed_int.h"

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static int pick(uint64_t *s, int n)
{
	return (int)(rnd(s) % (uint64_t)n);
}

struct person {
	char id[19];
	char name[64];
	int hh_type, dibao, tekun, relation, age;
	int64_t household_id;
	char village[13];
};

/* A valid number of someone in no registry here (another county). */
static void stranger(uint64_t *s, char out[19])
{
	char s17[40];
	/* one draw per statement: the order of a call's arguments is unspecified */
	int seq = pick(s, 1000), day = 1 + pick(s, 28), month = 1 + pick(s, 12);
	int year = 1950 + pick(s, 50);
	snprintf(s17, sizeof(s17), "610925%04d%02d%02d%03d", year, month, day, seq);
	s17[17] = '\0';
	memcpy(out, s17, 17);
	out[17] = idcard_check_char(s17);
	out[18] = '\0';
}

static const char *const hospitals[] = { "平利县医院", "平利县中医医院", "安康市中心医院",
					 "西安交通大学第一附属医院", "老县镇卫生院" };

static int load(struct db *db, const char *feed, const char *period, struct buf *text)
{
	struct feed_load_opts o = { 0 };
	struct feed_report r;
	int rc, lines = 0;
	for (const char *p = text->buf; (p = strchr(p, '\n')); p++)
		lines++;
	if (lines <= (!strcmp(feed, "yibao_inpatient") ? 2 : 1)) {
		buf_reset(text); /* nobody on this list in a small demo */
		return 0;
	}
	o.feed = feed;
	o.data = text->buf;
	o.len = text->len;
	o.file_name = "演示数据.csv";
	o.period = period;
	o.scope = "";
	o.login = "demo";
	o.skip_bad = 1;
	feed_report_init(&r);
	rc = screen_feed_load(db, &o, &r);
	if (rc)
		error("demo feed %s %s: %s", feed, period, r.message.buf);
	feed_report_release(&r);
	buf_reset(text);
	return rc ? -1 : 0;
}

int screen_feed_demo(struct db *db, const char *county, int year, uint64_t seed)
{
	struct person *p = NULL;
	int n = 0, alloc = 0, rc = 0, y, m, d, months;
	uint64_t s = seed * 104729 + 7;
	struct buf t = BUF_INIT;
	struct db_stmt *st;
	char period[32], hi[16];
	monitor_civil_from_days(monitor_today(), &y, &m, &d);
	if (year != y)
		m = 13; /* a past year: all of it */
	months = m - 1 < 1 ? 1 : m - 1;
	snprintf(hi, sizeof(hi), "%s:", county);
	st = db_prepare(db, "SELECT m.id_number, m.name, coalesce(h.hh_type, 0), coalesce(m.dibao, "
			    "0), coalesce(m.tekun, 0), m.relation, m.birth_date, h.id, h.village_code "
			    "FROM member m JOIN household h ON h.id = m.household_id WHERE "
			    "h.village_code >= :lo AND h.village_code < :hi ORDER BY m.id");
	db_bind_text(st, ":lo", county);
	db_bind_text(st, ":hi", hi);
	while (db_step(st) == DB_ROW) {
		struct person *q;
		ALLOC_GROW(p, n + 1, alloc);
		q = &p[n++];
		snprintf(q->id, sizeof(q->id), "%s", db_col_text(st, 0));
		snprintf(q->name, sizeof(q->name), "%s", db_col_text(st, 1));
		q->hh_type = (int)db_col_int(st, 2);
		q->dibao = (int)db_col_int(st, 3);
		q->tekun = (int)db_col_int(st, 4);
		q->relation = (int)db_col_int(st, 5);
		q->age = year - atoi(db_col_text(st, 6));
		q->household_id = db_col_int(st, 7);
		snprintf(q->village, sizeof(q->village), "%s", db_col_text(st, 8));
	}
	db_done(st);
	if (!n)
		goto out;

	/* 医保: one file per month of settlements */
	for (int mo = 1; mo <= months && !rc; mo++) {
		buf_addstr(&t, "平利县医疗保障局 住院结算个人自付明细\n"
			       "身份证号,姓名,入院日期,出院日期,医疗机构,总费用,个人自付\n");
		for (int i = 0; i < n; i++) {
			struct person *q = &p[i];
			int chance = q->age >= 60 ? 14 : 6; /* per mille a month */
			double total, self;
			int day, out;
			const char *hospital;
			if (pick(&s, 1000) >= chance)
				continue;
			total = 2000 + pick(&s, 18000);
			self = total * (0.1 + pick(&s, 25) / 100.0);
			if (pick(&s, 12) == 0)
				total *= 6, self *= 6; /* a serious illness */
			day = 1 + pick(&s, 20);
			hospital = hospitals[pick(&s, (int)ARRAY_SIZE(hospitals))];
			out = day + 1 + pick(&s, 7);
			buf_addf(&t, "%s,%s,%d-%02d-%02d,%d-%02d-%02d,%s,%.2f,%.2f\n", q->id, q->name,
				 year, mo, day, year, mo, out, hospital, total, self);
		}
		for (int k = 0; k < 3; k++) {
			char id[19];
			stranger(&s, id);
			buf_addf(&t, "%s,外县人员,%d-%02d-03,%d-%02d-06,安康市中心医院,5000,800\n", id,
				 year, mo, year, mo);
		}
		snprintf(period, sizeof(period), "%04d-%02d", year, mo);
		rc = load(db, "yibao_inpatient", period, &t);
	}
	snprintf(period, sizeof(period), "%04d-%02d", year, months);

	/* 民政: the 低保/特困 list, and three people the registry does not mark */
	buf_addstr(&t, "身份证号,姓名,救助类别,保障起始日期,月保障金\n");
	for (int i = 0, extra = 0; i < n && !rc; i++) {
		struct person *q = &p[i];
		int listed = q->dibao == 1 || q->tekun == 1;
		if (!listed && q->relation == 1 && extra < 3 && pick(&s, 200) == 0)
			listed = 1, extra++;
		if (listed) {
			int amount = q->tekun == 1 ? 780 : 420 + 10 * pick(&s, 10);
			int month = 1 + pick(&s, months), from = year - pick(&s, 5);
			buf_addf(&t, "%s,%s,%s,%d-%02d-01,%d\n", q->id, q->name,
				 q->tekun == 1 ? "特困" : "低保", from, month, amount);
		}
	}
	if (!rc)
		rc = load(db, "minzheng_dibao", period, &t);

	/* 住建: assessments of some heads' houses */
	buf_addstr(&t, "户主身份证号,户主姓名,危房等级,鉴定日期\n");
	for (int i = 0; i < n && !rc; i++) {
		static const char *const grades[] = { "A", "B", "B", "B", "C", "D" };
		if (p[i].relation != 1 || pick(&s, 150))
			continue;
		int day = 1 + pick(&s, 28), month = 1 + pick(&s, months);
		const char *grade = grades[pick(&s, 6)];
		buf_addf(&t, "%s,%s,%s,%d-%02d-%02d\n", p[i].id, p[i].name, grade, year, month, day);
	}
	if (!rc)
		rc = load(db, "zhujian_weifang", period, &t);

	/* 残联: certificates issued this year */
	buf_addstr(&t, "身份证号,姓名,残疾类别,残疾等级,发证日期\n");
	for (int i = 0; i < n && !rc; i++) {
		static const char *const kinds[] = { "肢体", "视力", "听力", "言语", "智力", "精神" };
		static const char *const grades[] = { "一级", "二级", "三级", "四级" };
		if (pick(&s, 250))
			continue;
		int day = 1 + pick(&s, 28), month = 1 + pick(&s, months);
		const char *grade = grades[pick(&s, 4)], *kind = kinds[pick(&s, 6)];
		buf_addf(&t, "%s,%s,%s,%s,%d-%02d-%02d\n", p[i].id, p[i].name, kind, grade, year, month,
			 day);
	}
	if (!rc)
		rc = load(db, "canlian_cert", period, &t);

	/* 教育: senior-school students' self-pay for the school year */
	buf_addstr(&t, "学生身份证号,学生姓名,就读学校,学年,个人自付\n");
	for (int i = 0; i < n && !rc; i++) {
		if (p[i].age < 15 || p[i].age > 18 || pick(&s, 8))
			continue;
		int self_pay = 2000 + 500 * pick(&s, 26);
		const char *school = pick(&s, 2) ? "平利中学" : "平利县职业教育中心";
		buf_addf(&t, "%s,%s,%s,%d-%d,%d\n", p[i].id, p[i].name, school, year - 1, year,
			 self_pay);
	}
	if (!rc)
		rc = load(db, "jiaoyu_selfpay", period, &t);

	/* 应急: a flood in the village of one household, with its neighbours */
	buf_addstr(&t, "户主身份证号,户主姓名,灾害类型,受灾日期,直接经济损失\n");
	{
		int first = pick(&s, n), shown = 0;
		for (int i = first; i < n && shown < 6 && !rc; i++) {
			if (p[i].relation != 1 || strcmp(p[i].village, p[first].village))
				continue;
			buf_addf(&t, "%s,%s,洪涝,%d-%02d-12,%d\n", p[i].id, p[i].name, year, months,
				 3000 + 1000 * pick(&s, 40));
			shown++;
		}
		if (!shown)
			buf_addf(&t, "%s,%s,洪涝,%d-%02d-12,8000\n", p[first].id, p[first].name, year,
				 months);
	}
	if (!rc)
		rc = load(db, "yingji_disaster", period, &t);

	/* 公安: deaths — mostly people not in the registry, three still listed
	 * (one with the name written differently) */
	buf_addstr(&t, "身份证号,姓名,死亡日期,注销日期\n");
	for (int k = 0, listed = 0; k < 12 && !rc; k++) {
		if (k % 4 == 0 && listed < 3) {
			struct person *q;
			int tries = 0;
			do
				q = &p[pick(&s, n)];
			while (q->age < 70 && ++tries < 200);
			buf_addf(&t, "%s,%s%s,%d-%02d-%02d,%d-%02d-%02d\n", q->id, q->name,
				 listed == 2 ? "（曾用名）" : "", year, months, 2 + k, year, months,
				 10 + k);
			listed++;
		} else {
			char id[19];
			stranger(&s, id);
			buf_addf(&t, "%s,外县人员,%d-%02d-%02d,%d-%02d-%02d\n", id, year, months, 2 + k,
				 year, months, 10 + k);
		}
	}
	if (!rc)
		rc = load(db, "gongan_death", period, &t);
out:
	free(p);
	buf_release(&t);
	return rc;
}
