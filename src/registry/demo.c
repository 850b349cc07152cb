/* demo.c — the demo district: a deterministic synthetic population for a real
 * county (平利县, 610926, in `liubao demo`).  The townships and villages come
 * from the region table; the households and people are invented from a
 * splitmix64 stream seeded by the caller, so the same seed and household
 * count always give byte-for-byte the same rows.
 *
 * Realism the rest of the system relies on: exactly one 户主 per household,
 * at most one 配偶 of the other sex, relations that imply a sex agree with the
 * 17th digit of the 身份证号, children at least 20 years younger than their
 * parents, valid and unique 身份证号, 文化程度 XOR 在校生状况, labour and
 * work fields consistent with age, health and schooling. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "registry/codes.h"
#include "registry/idcard.h"
#include "registry/registry.h"

/* Ages are computed on this fixed date (start of the 2026 school year), never
 * on the clock, so a seed always gives the same people. */
enum { DEMO_REF_YEAR = 2026, DEMO_REF_MONTH = 9, DEMO_REF_DAY = 1 };

/* 与户主关系 codes used here (codes.h order). */
enum {
	DEMO_REL_HEAD = 1,
	DEMO_REL_SPOUSE = 2,
	DEMO_REL_SON = 3,
	DEMO_REL_DAUGHTER = 4,
	DEMO_REL_SON_WIFE = 5,      /* 之儿媳 */
	DEMO_REL_DAUGHTER_HUSB = 6, /* 之女婿 */
	DEMO_REL_GRANDSON = 7,      /* 之孙子 */
	DEMO_REL_GRANDDAUGHTER = 8, /* 之孙女 */
	DEMO_REL_DGRANDSON = 9,     /* 之外孙子 */
	DEMO_REL_DGRANDDAUGHTER = 10, /* 之外孙女 */
	DEMO_REL_FATHER = 11,
	DEMO_REL_MOTHER = 12,
	DEMO_REL_SIBLING = 21, /* 之兄弟姐妹 */
};

/* 户类型, 文化程度, 劳动技能, 务工状况, 在校生状况 codes used here. */
enum { DEMO_HH_TUOPIN = 1, DEMO_HH_GENERAL = 2, DEMO_HH_DIBAO = 3, DEMO_HH_TEKUN = 4 };
enum { DEMO_EDU_NONE = 1, DEMO_EDU_PRIMARY, DEMO_EDU_JUNIOR, DEMO_EDU_SENIOR, DEMO_EDU_COLLEGE,
       DEMO_EDU_BACHELOR };
enum { DEMO_LABOR_NORMAL = 1, DEMO_LABOR_SKILLED, DEMO_LABOR_WEAK, DEMO_LABOR_LOST, DEMO_LABOR_NONE };
enum { DEMO_WORK_TOWNSHIP = 1, DEMO_WORK_COUNTY, DEMO_WORK_PROVINCE, DEMO_WORK_OUT_PROVINCE,
       DEMO_WORK_ABROAD, DEMO_WORK_NONE };
enum { DEMO_ETH_HAN = 1, DEMO_ETH_HUI = 3, DEMO_ETH_TUJIA = 15 };
enum { DEMO_DIS_MENTAL = 5, DEMO_DIS_PSYCH = 6, DEMO_DIS_MULTI = 7 };

#define DEMO_MAX_MEMBERS 8
#define DEMO_MAX_PER_VILLAGE 9999

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

/* Uniform in [0, n). */
static int rng_below(struct rng *r, int n)
{
	return n <= 1 ? 0 : (int)(rng_next(r) % (uint64_t)n);
}

/* Uniform in [lo, hi]; lo when hi < lo. */
static int rng_range(struct rng *r, int lo, int hi)
{
	return hi <= lo ? lo : lo + rng_below(r, hi - lo + 1);
}

/* True with probability per_mille / 1000. */
static int rng_chance(struct rng *r, int per_mille)
{
	return rng_below(r, 1000) < per_mille;
}

/* An index into `w` (n weights) drawn in proportion to the weights. */
static int rng_weighted(struct rng *r, const int *w, int n)
{
	int total = 0, i, x;
	for (i = 0; i < n; i++)
		total += w[i];
	x = rng_below(r, total);
	for (i = 0; i < n - 1; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	return n - 1;
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* ---- calendar (days since 1970-01-01, proleptic Gregorian) ---- */

static long days_from_civil(int y, int m, int d)
{
	long era, yoe, doy, doe;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, int *y, int *m, int *d)
{
	long era, doe, yoe, doy, mp;
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* ---- 身份证号 uniqueness: an open-addressing set of 17-digit bodies ---- */

struct idset {
	uint64_t *slots; /* 0 = empty */
	size_t mask;     /* capacity - 1, capacity a power of two */
	size_t nr;
};

static size_t idset_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k;
}

static void idset_init(struct idset *s, size_t hint)
{
	size_t cap = 1024;
	while (cap < hint * 2)
		cap *= 2;
	s->slots = xcalloc(cap, sizeof(*s->slots));
	s->mask = cap - 1;
	s->nr = 0;
}

static void idset_release(struct idset *s)
{
	free(s->slots);
	s->slots = NULL;
	s->mask = 0;
	s->nr = 0;
}

static void idset_put_slot(uint64_t *slots, size_t mask, uint64_t k)
{
	size_t i = idset_hash(k) & mask;
	while (slots[i])
		i = (i + 1) & mask;
	slots[i] = k;
}

/* Add `k`; returns 0 if it was new, 1 if already present. */
static int idset_add(struct idset *s, uint64_t k)
{
	size_t i = idset_hash(k) & s->mask;
	while (s->slots[i]) {
		if (s->slots[i] == k)
			return 1;
		i = (i + 1) & s->mask;
	}
	s->slots[i] = k;
	s->nr++;
	if (s->nr * 10 > (s->mask + 1) * 7) {
		size_t cap = (s->mask + 1) * 2, j;
		uint64_t *n = xcalloc(cap, sizeof(*n));
		for (j = 0; j <= s->mask; j++)
			if (s->slots[j])
				idset_put_slot(n, cap - 1, s->slots[j]);
		free(s->slots);
		s->slots = n;
		s->mask = cap - 1;
	}
	return 0;
}

/* ---- names ---- */

struct weighted_str {
	const char *s;
	int w;
};

/* Common surnames, weights roughly per 10 000 people, with the names frequent
 * in 陕南 (陈 吴 余 柯 储 汪 沈 冯) raised. */
static const struct weighted_str surnames[] = {
	{ "王", 700 }, { "李", 690 }, { "张", 640 }, { "刘", 560 }, { "陈", 620 }, { "杨", 330 },
	{ "黄", 180 }, { "赵", 190 }, { "吴", 300 }, { "周", 190 }, { "徐", 140 }, { "孙", 120 },
	{ "马", 110 }, { "朱", 110 }, { "胡", 160 }, { "郭", 100 }, { "何", 100 }, { "高", 95 },
	{ "林", 40 },  { "罗", 90 },  { "郑", 60 },  { "梁", 60 },  { "谢", 60 },  { "宋", 60 },
	{ "唐", 62 },  { "许", 55 },  { "韩", 55 },  { "冯", 110 }, { "邓", 55 },  { "曹", 54 },
	{ "彭", 53 },  { "曾", 45 },  { "肖", 49 },  { "田", 60 },  { "董", 47 },  { "袁", 46 },
	{ "潘", 40 },  { "蒋", 44 },  { "蔡", 40 },  { "余", 120 }, { "杜", 41 },  { "叶", 40 },
	{ "程", 40 },  { "苏", 39 },  { "魏", 38 },  { "吕", 37 },  { "丁", 36 },  { "任", 35 },
	{ "沈", 80 },  { "姚", 33 },  { "卢", 33 },  { "姜", 30 },  { "崔", 28 },  { "钟", 30 },
	{ "谭", 32 },  { "陆", 25 },  { "汪", 80 },  { "范", 27 },  { "金", 25 },  { "石", 35 },
	{ "廖", 28 },  { "贾", 25 },  { "夏", 30 },  { "韦", 10 },  { "付", 28 },  { "方", 25 },
	{ "白", 22 },  { "邹", 22 },  { "孟", 20 },  { "熊", 25 },  { "秦", 22 },  { "邱", 20 },
	{ "江", 22 },  { "尹", 19 },  { "薛", 18 },  { "闫", 18 },  { "段", 18 },  { "雷", 25 },
	{ "侯", 17 },  { "龙", 16 },  { "史", 16 },  { "陶", 15 },  { "黎", 8 },   { "贺", 15 },
	{ "顾", 10 },  { "毛", 14 },  { "郝", 12 },  { "龚", 13 },  { "邵", 13 },  { "万", 15 },
	{ "钱", 10 },  { "覃", 4 },   { "武", 12 },  { "戴", 12 },  { "孔", 11 },  { "汤", 11 },
	{ "庞", 11 },  { "樊", 12 },  { "兰", 10 },  { "殷", 10 },  { "施", 10 },  { "柯", 60 },
	{ "储", 35 },  { "屈", 15 },  { "向", 18 },  { "鲁", 12 },  { "严", 14 },  { "邢", 10 },
};
#define NR_SURNAMES ((int)ARRAY_SIZE(surnames))

static int surname_weights[NR_SURNAMES];

/* Given names by era of birth (before 1960, 1960s-70s, 1980s-90s, from 2000)
 * and sex, so that a grandmother is 秀英 and her granddaughter 欣怡. */
static const char *const male_names_1[] = {
	"建国", "国华", "德明", "德福", "永福", "长贵", "金山", "明德", "有才", "正清",
	"学文", "世荣", "家富", "德胜", "振华", "文华", "国强", "永贵", "富贵", "长林",
	"玉林", "光明", "志高", "万福", "连生", "德林", "春生", "宝山", "庆华", "树林",
	"培元", "义成", "昌盛", "宗仁", "道明", "福元", "贵生", "云山", "大山", "守成",
	"开明", "兴发", "德才", "正福", "天福", "仁贵", "安全", "福林",
};
static const char *const female_names_1[] = {
	"秀英", "桂兰", "桂英", "玉兰", "秀兰", "凤英", "淑珍", "翠花", "素珍", "玉珍",
	"兰英", "秀珍", "桂芝", "金花", "玉梅", "凤兰", "秀芳", "冬梅", "春兰", "玉英",
	"桂花", "淑英", "菊花", "秀云", "桂珍", "玉芬", "德秀", "兰芳", "翠兰", "秀华",
	"明英", "正英", "家秀", "先翠", "开秀", "光秀",
};
static const char *const male_names_2[] = {
	"建华", "建军", "国庆", "志强", "卫东", "红军", "海军", "建平", "永强", "小平",
	"文军", "明军", "立新", "双喜", "宏伟", "华林", "军", "平", "强", "勇", "斌", "刚",
	"建林", "卫国", "朝阳", "红兵", "志刚", "长江", "金龙", "新民", "家兵", "太平",
	"明华", "国平", "建成", "德军", "小军", "海波", "光辉", "世军", "安平", "先军",
};
static const char *const female_names_2[] = {
	"丽", "红", "敏", "霞", "燕", "芳", "艳", "秀梅", "春梅", "红霞", "丽华", "小红",
	"海燕", "晓燕", "翠萍", "玉芳", "小琴", "桂芳", "红梅", "晓红", "丽萍", "春燕",
	"琴", "萍", "英", "小芳", "彩霞", "美玲", "玉霞", "明珍", "凤琴", "秀琴", "红英",
	"兰", "群", "先梅",
};
static const char *const male_names_3[] = {
	"伟", "磊", "涛", "鹏", "超", "杰", "波", "浩", "亮", "俊", "刚", "小龙",
	"海涛", "文斌", "建波", "晓东", "志刚", "俊杰", "鹏飞", "明", "勇", "军", "飞",
	"龙", "林", "成", "斌", "家乐", "永杰", "文杰", "小虎", "云飞", "志勇", "帅",
	"东", "凯", "鑫", "阳", "旭", "小兵", "正军", "春林",
};
static const char *const female_names_3[] = {
	"娟", "静", "丽娟", "婷", "倩", "雪", "莉", "艳", "丹", "玲", "琳", "晶",
	"小燕", "婷婷", "欣", "静静", "亚楠", "芳", "敏", "丽", "慧", "娜", "佳", "露",
	"梅", "媛", "晓丽", "小娟", "雪梅", "春霞", "玉洁", "姗姗", "文静", "倩倩", "晓敏",
	"金凤", "小丽",
};
static const char *const male_names_4[] = {
	"浩然", "子豪", "宇航", "梓轩", "俊熙", "博文", "浩宇", "一鸣", "睿", "宇",
	"轩", "晨阳", "天佑", "家豪", "思远", "皓轩", "铭", "泽宇", "梓豪", "子墨",
	"宇轩", "俊豪", "明轩", "嘉懿", "锦程", "昊天", "奕辰", "睿泽", "子轩", "浩轩",
	"宏宇", "文博", "佳豪", "子航", "梓睿", "浩", "鑫磊", "煜", "子涵", "俊杰",
};
static const char *const female_names_4[] = {
	"欣怡", "梓涵", "诗涵", "雨萱", "可馨", "子涵", "梦瑶", "佳怡", "思琪", "雨涵",
	"欣悦", "紫涵", "语桐", "若曦", "一诺", "心怡", "欣妍", "雨桐", "梓萱", "诗琪",
	"佳琪", "思涵", "梦琪", "雨欣", "可欣", "嘉怡", "怡然", "梓琳", "芷若", "晨曦",
	"悦", "婉婷", "雅琪", "欣然", "梓琪", "佳欣", "雨婷", "语嫣", "安琪", "明玥",
};

struct name_pool {
	const char *const *names;
	int nr;
};

#define POOL(a) { a, (int)ARRAY_SIZE(a) }
static const struct name_pool given_pools[4][2] = {
	{ POOL(male_names_1), POOL(female_names_1) },
	{ POOL(male_names_2), POOL(female_names_2) },
	{ POOL(male_names_3), POOL(female_names_3) },
	{ POOL(male_names_4), POOL(female_names_4) },
};

/* ---- places ---- */

/* Where wives and sons-in-law who married in come from: current area code and
 * the pre-2001 安康地区 code people born there before 2001 often carry. */
struct outside_area {
	int code, old_code, w;
};
static const struct outside_area outside_areas[] = {
	{ 610902, 612401, 30 }, /* 汉滨区 (安康县) */
	{ 610925, 612426, 20 }, /* 岚皋县 */
	{ 610924, 612425, 15 }, /* 紫阳县 */
	{ 610927, 612428, 10 }, /* 镇坪县 */
	{ 610929, 612430, 8 },  /* 白河县 */
	{ 420321, 0, 10 },      /* 湖北 郧阳区 */
	{ 500238, 0, 7 },       /* 重庆 巫溪县 */
};
static int outside_weights[ARRAY_SIZE(outside_areas)];

/* 易地扶贫搬迁 集中安置点 in 平利. */
static const char *const relocation_sites[] = {
	"城关镇药妇沟社区安置点", "老县镇锦屏社区安置点", "长安镇高峰村安置点",
	"广佛镇广佛社区安置点",   "大贵镇儒林堡社区安置点",
};

/* Mobile number prefixes of the three operators. */
static const int phone_prefixes[] = {
	134, 135, 136, 137, 138, 139, 147, 150, 151, 152, 157, 158, 159, 178, 182, 183, 184,
	187, 188, 198, 130, 131, 132, 155, 156, 166, 175, 176, 185, 186, 133, 153, 173, 177,
	180, 181, 189, 199, 191, 193,
};

struct village {
	char code[13];   /* 12-digit village code */
	char name[96];   /* 蒋家坪村, 西城社区 */
	char town[96];   /* 老县镇 */
	long households; /* how many to generate here */
	int groups;      /* 村民小组 */
	int site;        /* index of the nearest relocation site, -1 none in town */
};

/* ---- one person before it becomes a member_rec ---- */

struct person {
	int rel, sex, age;
	int surname;  /* index into surnames */
	int outsider; /* married in from another county */
};

struct hh_plan {
	struct person p[DEMO_MAX_MEMBERS];
	int n;
	int head_surname;  /* surname of the head */
	int child_surname; /* surname the head's children carry */
};

static int pick_surname(struct rng *r)
{
	return rng_weighted(r, surname_weights, NR_SURNAMES);
}

static void plan_add(struct hh_plan *h, int rel, int sex, int age, int surname, int outsider)
{
	struct person *p;
	if (h->n >= DEMO_MAX_MEMBERS)
		return;
	p = &h->p[h->n++];
	p->rel = rel;
	p->sex = sex;
	p->age = clamp(age, 0, 99);
	p->surname = surname;
	p->outsider = outsider;
}

/* Age between 60 and 92, most in the 60s and 70s. */
static int elderly_age(struct rng *r)
{
	int a = rng_below(r, 20);
	return 60 + a + rng_below(r, 13);
}

/* A head of `sex` and `age`; sets the surnames children take. */
static void plan_head(struct rng *r, struct hh_plan *h, int sex, int age)
{
	h->n = 0;
	h->head_surname = pick_surname(r);
	if (sex == SEX_MALE)
		h->child_surname = h->head_surname;
	else /* the children carry their father's name, rarely their mother's */
		h->child_surname = rng_chance(r, 250) ? h->head_surname : pick_surname(r);
	plan_add(h, DEMO_REL_HEAD, sex, age, h->head_surname, 0);
}

/* The head's spouse: the other sex, a close age, a wife usually a little
 * younger; legal minimum ages 20 (women) and 22 (men). */
static void plan_spouse(struct rng *r, struct hh_plan *h)
{
	const struct person *head = &h->p[0];
	int sex = head->sex == SEX_MALE ? SEX_FEMALE : SEX_MALE;
	int d = rng_range(r, -2, 6);
	d += rng_chance(r, 100) ? rng_below(r, 8) : 0;
	int age = head->sex == SEX_MALE ? head->age - d : head->age + d;
	age = clamp(age, sex == SEX_FEMALE ? 20 : 22, 97);
	int moved_in = rng_chance(r, 50);
	plan_add(h, DEMO_REL_SPOUSE, sex, age, pick_surname(r), moved_in);
}

/* The ages of the mother and father of the head's children: the couple's, or
 * for a lone head an invented partner of about the same age. */
static void parent_ages(const struct hh_plan *h, int *lo, int *hi)
{
	int a = h->p[0].age, b = a;
	if (h->n > 1 && h->p[1].rel == DEMO_REL_SPOUSE)
		b = h->p[1].age;
	/* a child is 20 or more years younger than either parent and born
	 * before the mother was 42 */
	*hi = (a < b ? a : b) - 20;
	*lo = (a > b ? a : b) - 44;
	if (*lo < 0)
		*lo = 0;
	if (*lo > *hi)
		*lo = *hi;
}

/* Add `k` children of the head, oldest first, their ages in [lo, hi]. */
static void plan_children(struct rng *r, struct hh_plan *h, int k, int lo, int hi)
{
	int age, i;
	if (hi < 0)
		return;
	age = hi - rng_below(r, (hi - lo + 1) < 10 ? hi - lo + 1 : 10);
	for (i = 0; i < k; i++) {
		int male = rng_chance(r, 520);
		plan_add(h, male ? DEMO_REL_SON : DEMO_REL_DAUGHTER, male ? SEX_MALE : SEX_FEMALE,
			 age, h->child_surname, 0);
		age -= rng_range(r, 1, 5);
		if (age < lo)
			age = lo;
	}
}

/* Add the head's father and/or mother (which = 1 father, 2 mother, 3 both). */
static void plan_parents(struct rng *r, struct hh_plan *h, int which)
{
	int head_age = h->p[0].age;
	int father = clamp(head_age + rng_range(r, 22, 34), head_age + 20, 97);
	int mother = clamp(father - rng_range(r, -2, 5), head_age + 20, 97);
	if (which & 1)
		plan_add(h, DEMO_REL_FATHER, SEX_MALE, father, h->head_surname, 0);
	if (which & 2)
		plan_add(h, DEMO_REL_MOTHER, SEX_FEMALE, mother, pick_surname(r), 0);
}

/* A married child of the head living at home with spouse and `gk`
 * grandchildren: usually a son and 儿媳, sometimes a daughter and a 上门女婿
 * whose children are the head's 外孙. */
static void plan_married_child(struct rng *r, struct hh_plan *h, int gk, int lo, int hi)
{
	int son = !rng_chance(r, 150);
	int c_age = hi - rng_below(r, 8), s_age, m, f, glo, ghi, gsurname, i, age, moved_in;
	if (c_age < 22)
		c_age = 22;
	if (c_age < lo)
		c_age = lo;
	if (son) {
		plan_add(h, DEMO_REL_SON, SEX_MALE, c_age, h->child_surname, 0);
		s_age = clamp(c_age - rng_range(r, -2, 5), 20, 97);
		moved_in = rng_chance(r, 50);
		plan_add(h, DEMO_REL_SON_WIFE, SEX_FEMALE, s_age, pick_surname(r), moved_in);
		gsurname = h->child_surname;
		m = s_age;
		f = c_age;
	} else {
		plan_add(h, DEMO_REL_DAUGHTER, SEX_FEMALE, c_age, h->child_surname, 0);
		s_age = clamp(c_age + rng_range(r, -2, 5), 22, 97);
		moved_in = rng_chance(r, 150);
		plan_add(h, DEMO_REL_DAUGHTER_HUSB, SEX_MALE, s_age, pick_surname(r), moved_in);
		gsurname = rng_chance(r, 500) ? h->child_surname : h->p[h->n - 1].surname;
		m = c_age;
		f = s_age;
	}
	ghi = (m < f ? m : f) - 20;
	glo = (m > f ? m : f) - 44;
	if (glo < 0)
		glo = 0;
	if (glo > ghi)
		glo = ghi;
	age = ghi - rng_below(r, (ghi - glo + 1) < 8 ? ghi - glo + 1 : 8);
	for (i = 0; i < gk; i++) {
		int male = rng_chance(r, 530), rel;
		if (son)
			rel = male ? DEMO_REL_GRANDSON : DEMO_REL_GRANDDAUGHTER;
		else
			rel = male ? DEMO_REL_DGRANDSON : DEMO_REL_DGRANDDAUGHTER;
		plan_add(h, rel, male ? SEX_MALE : SEX_FEMALE, age, gsurname, 0);
		age -= rng_range(r, 1, 5);
		if (age < glo)
			age = glo;
	}
}

/* Household size distributions by 户类型 (index 0 = one person). */
static const int size_general[7] = { 95, 205, 235, 220, 150, 70, 25 };
static const int size_dibao[7] = { 300, 280, 180, 140, 70, 30, 0 };
static const int size_tekun[7] = { 880, 120, 0, 0, 0, 0, 0 };

/* Invent the people of one household of type `hh_type`. */
static void plan_household(struct rng *r, int hh_type, struct hh_plan *h)
{
	const int *dist = hh_type == DEMO_HH_TEKUN ? size_tekun
			: hh_type == DEMO_HH_DIBAO ? size_dibao
						   : size_general;
	int size = 1 + rng_weighted(r, dist, 7);
	int lo, hi, k, form;

	if (size == 1) {
		if (rng_chance(r, hh_type == DEMO_HH_TEKUN ? 750 : 700)) {
			int female = rng_chance(r, hh_type == DEMO_HH_TEKUN ? 350 : 550);
			plan_head(r, h, female ? SEX_FEMALE : SEX_MALE, elderly_age(r));
		} else {
			/* an unmarried man (光棍) or a divorced adult */
			int female = rng_chance(r, 120);
			plan_head(r, h, female ? SEX_FEMALE : SEX_MALE, rng_range(r, 28, 59));
		}
		return;
	}

	if (size == 2) {
		static const int forms2[5] = { 520, 120, 140, 110, 110 };
		int head_age, g_age, male, rel;
		switch (rng_weighted(r, forms2, 5)) {
		case 0: /* older couple whose children have set up their own 户 */
			head_age = rng_range(r, 45, 62);
			head_age += rng_below(r, 20);
			plan_head(r, h, rng_chance(r, 50) ? SEX_FEMALE : SEX_MALE, head_age);
			plan_spouse(r, h);
			break;
		case 1: /* young couple */
			plan_head(r, h, SEX_MALE, rng_range(r, 22, 35));
			plan_spouse(r, h);
			break;
		case 2: /* widowed parent and an unmarried adult child */
			head_age = rng_range(r, 50, 85);
			plan_head(r, h, rng_chance(r, 600) ? SEX_FEMALE : SEX_MALE, head_age);
			head_age = h->p[0].age;
			male = rng_chance(r, 750);
			plan_add(h, male ? DEMO_REL_SON : DEMO_REL_DAUGHTER,
				 male ? SEX_MALE : SEX_FEMALE,
				 rng_range(r, head_age - 42 > 18 ? head_age - 42 : 18, head_age - 20),
				 h->child_surname, 0);
			break;
		case 3: /* grandparent looking after a left-behind grandchild (留守儿童) */
			head_age = rng_range(r, 55, 78);
			plan_head(r, h, rng_chance(r, 450) ? SEX_FEMALE : SEX_MALE, head_age);
			head_age = h->p[0].age;
			g_age = rng_range(r, head_age - 75 > 3 ? head_age - 75 : 3,
					  head_age - 40 < 16 ? head_age - 40 : 16);
			male = rng_chance(r, 530);
			if (rng_chance(r, 800)) {
				rel = male ? DEMO_REL_GRANDSON : DEMO_REL_GRANDDAUGHTER;
				plan_add(h, rel, male ? SEX_MALE : SEX_FEMALE, g_age,
					 h->child_surname, 0);
			} else {
				rel = male ? DEMO_REL_DGRANDSON : DEMO_REL_DGRANDDAUGHTER;
				plan_add(h, rel, male ? SEX_MALE : SEX_FEMALE, g_age,
					 pick_surname(r), 0);
			}
			break;
		default: /* unmarried son keeping his old mother or father */
			head_age = rng_range(r, 30, 58);
			plan_head(r, h, rng_chance(r, 150) ? SEX_FEMALE : SEX_MALE, head_age);
			plan_parents(r, h, rng_chance(r, 700) ? 2 : 1);
			break;
		}
		return;
	}

	/* Three or more: a couple (or a widowed head) with children, a stem
	 * family with a married child and grandchildren, or either with the
	 * head's parents. */
	{
		static const int forms3[4] = { 600, 200, 170, 30 };
		static const int forms4[4] = { 450, 350, 180, 20 };
		static const int forms5[4] = { 180, 600, 200, 20 };
		static const int forms6[4] = { 50, 750, 200, 0 };
		const int *forms = size == 3 ? forms3 : size == 4 ? forms4 : size == 5 ? forms5 : forms6;
		int couple = rng_chance(r, 880), head_sex, r_slots, age;
		form = rng_weighted(r, forms, 4);

		if (couple)
			head_sex = rng_chance(r, 70) ? SEX_FEMALE : SEX_MALE;
		else
			head_sex = rng_chance(r, 650) ? SEX_FEMALE : SEX_MALE;

		switch (form) {
		case 0: /* nuclear: parents and children */
			age = rng_range(r, 26, 40);
			plan_head(r, h, head_sex, age + rng_below(r, 14));
			break;
		case 1: /* stem: married child, spouse, grandchildren */
			age = rng_range(r, 50, 64);
			plan_head(r, h, head_sex, age + rng_below(r, 14));
			break;
		case 2: /* with the head's parents */
			age = rng_range(r, 28, 40);
			plan_head(r, h, head_sex, age + rng_below(r, 16));
			break;
		default: /* with an unmarried brother or sister */
			plan_head(r, h, head_sex, rng_range(r, 28, 50));
			break;
		}
		if (couple)
			plan_spouse(r, h);
		r_slots = size - h->n;
		parent_ages(h, &lo, &hi);

		switch (form) {
		case 0:
			plan_children(r, h, r_slots, lo, hi);
			break;
		case 1:
			if (r_slots < 2 || hi < 22) {
				plan_children(r, h, r_slots, lo, hi);
				break;
			}
			k = r_slots - 2;
			if (size >= 6 && h->p[0].age <= 70 && k > 1 && rng_chance(r, 250)) {
				plan_parents(r, h, rng_chance(r, 700) ? 2 : 1);
				k--;
			}
			if (k > 0 && rng_chance(r, 200)) {
				/* a younger unmarried child still at home */
				int save = h->n;
				plan_married_child(r, h, k - 1, lo, hi);
				if (h->n > save) {
					int c = h->p[save].age;
					int male = rng_chance(r, 550);
					plan_add(h, male ? DEMO_REL_SON : DEMO_REL_DAUGHTER,
						 male ? SEX_MALE : SEX_FEMALE,
						 rng_range(r, lo, c - 1 > lo ? c - 1 : lo),
						 h->child_surname, 0);
				}
			} else {
				plan_married_child(r, h, k, lo, hi);
			}
			break;
		case 2:
			k = r_slots >= 3 && rng_chance(r, 400) ? 2 : 1;
			plan_parents(r, h, k == 2 ? 3 : rng_chance(r, 650) ? 2 : 1);
			plan_children(r, h, r_slots - k, lo, hi);
			break;
		default: {
			int male = rng_chance(r, 700);
			plan_add(h, DEMO_REL_SIBLING, male ? SEX_MALE : SEX_FEMALE,
				 clamp(h->p[0].age + rng_range(r, -8, 8), 18, 97), h->head_surname, 0);
			plan_children(r, h, r_slots - 1, lo, hi);
			break;
		}
		}
	}
}

/* ---- per-person attributes ---- */

/* 在校生状况 for a person of `age` on the reference date, or -1 when not at
 * school. */
static int school_for_age(struct rng *r, int age)
{
	int x;
	if (age <= 2)
		return 1; /* 学龄前儿童 */
	if (age <= 5)
		return rng_chance(r, 880) ? 2 : 1; /* 学前教育 */
	if (age <= 11)
		return 3; /* 小学 */
	if (age <= 14)
		return 4 + age - 12; /* 七 / 八 / 九年级 */
	if (age <= 17) {
		int year = age - 15; /* 0 = first year of upper secondary */
		x = rng_below(r, 1000);
		if (x < (age == 15 ? 0 : age == 16 ? 70 : 120))
			return -1; /* left school after 九年级 */
		if (x < 620)
			return 7 + year; /* 普通高中 */
		if (age >= 16 && x < 660)
			return 16 + year - 1; /* 技师学院 */
		return 10 + year; /* 中职 */
	}
	x = rng_below(r, 1000);
	switch (age) {
	case 18:
		if (x < 220)
			return 13; /* 高职高专一年级 */
		if (x < 470)
			return 20; /* 本科一年级 */
		if (x < 490)
			return 18; /* 技师学院三年级 */
		if (x < 530)
			return 9; /* 复读 普通高中三年级 */
		return -1;
	case 19:
		if (x < 200)
			return 14;
		if (x < 450)
			return 21;
		if (x < 465)
			return 19; /* 技师学院四年级 */
		return -1;
	case 20:
		if (x < 180)
			return 15;
		return x < 420 ? 22 : -1;
	case 21:
		return x < 220 ? 23 : -1;
	case 22:
		if (x < 30)
			return 24; /* 本科五年级 (医学) */
		return x < 70 ? 25 : -1;
	case 23:
	case 24:
	case 25:
		return x < 30 ? 25 : -1;
	default:
		return -1;
	}
}

/* 文化程度 of someone not at school, by age (older people had less schooling). */
static int education_for_age(struct rng *r, int age)
{
	static const int old[6] = { 340, 450, 170, 38, 2, 0 };       /* 71+ */
	static const int mid[6] = { 110, 420, 360, 95, 12, 3 };      /* 57-70 */
	static const int adult[6] = { 30, 230, 560, 130, 38, 12 };   /* 42-56 */
	static const int young[6] = { 10, 70, 520, 240, 105, 55 };   /* 27-41 */
	static const int youth[6] = { 0, 15, 370, 330, 190, 95 };    /* 22-26 */
	if (age < 16)
		return DEMO_EDU_PRIMARY;
	if (age <= 17)
		return rng_chance(r, 900) ? DEMO_EDU_JUNIOR : DEMO_EDU_PRIMARY;
	if (age <= 20)
		return rng_chance(r, 450) ? DEMO_EDU_JUNIOR : DEMO_EDU_SENIOR;
	if (age == 21) {
		int x = rng_below(r, 1000);
		return x < 400 ? DEMO_EDU_JUNIOR : x < 800 ? DEMO_EDU_SENIOR : DEMO_EDU_COLLEGE;
	}
	if (age <= 26)
		return 1 + rng_weighted(r, youth, 6);
	if (age <= 41)
		return 1 + rng_weighted(r, young, 6);
	if (age <= 56)
		return 1 + rng_weighted(r, adult, 6);
	if (age <= 70)
		return 1 + rng_weighted(r, mid, 6);
	return 1 + rng_weighted(r, old, 6);
}

/* Illness and disability rates (per 10 000) scale with poverty. */
static int risk_factor(int hh_type)
{
	switch (hh_type) {
	case DEMO_HH_TUOPIN:
		return 14;
	case DEMO_HH_DIBAO:
		return 22;
	case DEMO_HH_TEKUN:
		return 28;
	default:
		return 9;
	}
}

static const int disability_weights[7] = { 12, 12, 4, 46, 12, 9, 5 };

/* Fill health, disability, schooling, labour, work, insurance and phone for
 * a person of `age` in a household of `hh_type`.  `incapable` forces a
 * serious illness or a disability (特困 adults of working age). */
static void fill_attributes(struct rng *r, struct member_rec *m, int age, int hh_type,
			    int incapable)
{
	int f = risk_factor(hh_type), chronic, serious, disabled, x, skilled_job;
	int chronic_rate, serious_rate, disabled_rate;

	/* 健康状况 */
	chronic_rate = age < 18 ? 40 : age < 40 ? 180 : age < 60 ? 800 : age < 70 ? 1900 : 2800;
	serious_rate = age < 18 ? 35 : age < 40 ? 70 : age < 60 ? 210 : 350;
	disabled_rate = age < 18 ? 80 : age < 60 ? 230 : 400;
	chronic = rng_below(r, 10000) < chronic_rate * f / 10;
	serious = rng_below(r, 10000) < serious_rate * f / 10;
	disabled = rng_below(r, 10000) < disabled_rate * f / 10;
	if (incapable && !serious && !disabled) {
		if (rng_chance(r, 700))
			disabled = 1;
		else
			serious = 1;
	}
	m->health = 0;
	if (chronic)
		m->health |= 1 << HEALTH_CHRONIC;
	if (serious)
		m->health |= 1 << HEALTH_SERIOUS;
	if (disabled)
		m->health |= 1 << HEALTH_DISABLED;
	if (!m->health)
		m->health = 1 << HEALTH_HEALTHY;
	m->disability = disabled ? 1 + rng_weighted(r, disability_weights, 7) : -1;

	/* 在校生状况 XOR 文化程度 */
	m->school_status = school_for_age(r, age);
	if (m->school_status >= 0) {
		m->education = -1;
	} else {
		m->education = education_for_age(r, age);
		if (m->disability == DEMO_DIS_MENTAL || m->disability == DEMO_DIS_MULTI)
			m->education = rng_chance(r, 700) ? DEMO_EDU_NONE : DEMO_EDU_PRIMARY;
	}

	/* 劳动技能 */
	if (age < 16 || m->school_status >= 0) {
		m->labor_skill = DEMO_LABOR_NONE;
	} else if (serious || disabled) {
		int severe = m->disability == DEMO_DIS_MENTAL || m->disability == DEMO_DIS_PSYCH ||
			     m->disability == DEMO_DIS_MULTI || incapable;
		m->labor_skill = rng_chance(r, severe ? 750 : 550) ? DEMO_LABOR_LOST : DEMO_LABOR_WEAK;
	} else if (age >= 75) {
		m->labor_skill = rng_chance(r, 600) ? DEMO_LABOR_LOST : DEMO_LABOR_WEAK;
	} else if (age >= 65) {
		m->labor_skill = rng_chance(r, 700) ? DEMO_LABOR_WEAK : DEMO_LABOR_LOST;
	} else if (age > 60) {
		m->labor_skill = rng_chance(r, 500) ? DEMO_LABOR_NORMAL : DEMO_LABOR_WEAK;
	} else if (chronic && rng_chance(r, 350)) {
		m->labor_skill = DEMO_LABOR_WEAK;
	} else {
		int skill_pm = m->education >= DEMO_EDU_SENIOR ? 350 : 140;
		m->labor_skill = rng_chance(r, skill_pm) ? DEMO_LABOR_SKILLED : DEMO_LABOR_NORMAL;
	}

	/* 务工状况 */
	if (age < 16) {
		m->work_status = -1;
	} else if (m->labor_skill == DEMO_LABOR_NORMAL || m->labor_skill == DEMO_LABOR_SKILLED) {
		static const int able[6] = { 150, 120, 180, 320, 3, 227 };
		m->work_status = 1 + rng_weighted(r, able, 6);
		if (age > 55 && m->work_status >= DEMO_WORK_PROVINCE && rng_chance(r, 600))
			m->work_status = rng_chance(r, 500) ? DEMO_WORK_TOWNSHIP : DEMO_WORK_NONE;
	} else if (m->labor_skill == DEMO_LABOR_WEAK) {
		m->work_status = rng_chance(r, 250) ? DEMO_WORK_TOWNSHIP : DEMO_WORK_NONE;
	} else {
		m->work_status = DEMO_WORK_NONE;
	}

	/* 保险 */
	skilled_job = age >= 18 && age <= 60 && m->school_status < 0 &&
		      (m->labor_skill == DEMO_LABOR_SKILLED || m->education >= DEMO_EDU_COLLEGE);
	x = rng_below(r, 1000);
	if (age >= 18 && age <= 60 && x < (skilled_job ? 150 : 10)) {
		m->ins_employee_med = 1;
		m->ins_resident_med = 0;
	} else {
		m->ins_employee_med = 0;
		m->ins_resident_med = rng_chance(r, 985);
	}
	m->ins_critical = m->ins_resident_med;
	if (age < 16 || m->school_status >= 0)
		m->ins_pension = 0;
	else
		m->ins_pension = rng_chance(r, age >= 60 ? 975 : 920);
}

/* Write a plausible mobile number into out[24]. */
static void make_phone(struct rng *r, char *out)
{
	int prefix = phone_prefixes[rng_below(r, (int)ARRAY_SIZE(phone_prefixes))];
	snprintf(out, 24, "%d%08d", prefix, rng_below(r, 100000000));
}

struct demo {
	struct rng rng;
	struct idset ids; /* 17-digit bodies of the numbers issued so far */
	int area, area_old; /* the county's area code, and its pre-2001 one or 0 */
};

/* The pre-2001 code of a county of 安康 (安康地区 6124xx before 安康 became a
 * city): numbers issued there before then still carry it.  0 elsewhere. */
static int old_area_code(int county)
{
	static const int map[][2] = {
		{ 610902, 612401 }, { 610921, 612422 }, { 610922, 612423 }, { 610923, 612424 },
		{ 610924, 612425 }, { 610925, 612426 }, { 610926, 612427 }, { 610927, 612428 },
		{ 610929, 612430 }, { 610981, 612429 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (map[i][0] == county)
			return map[i][1];
	return 0;
}

/* Fill id_number, sex and birth_date of `m` for person `p`: a birth date
 * giving p->age on the reference date, an area code (平利's current or pre-2001
 * code, or the home county of someone who married in), a sequence whose
 * parity is the sex, and the check character.  Unique across the demo. */
static void make_id(struct demo *d, struct member_rec *m, const struct person *p)
{
	struct rng *r = &d->rng;
	long first = days_from_civil(DEMO_REF_YEAR - p->age - 1, DEMO_REF_MONTH, DEMO_REF_DAY) + 1;
	long last = days_from_civil(DEMO_REF_YEAR - p->age, DEMO_REF_MONTH, DEMO_REF_DAY);
	long day = first + rng_below(r, (int)(last - first + 1));
	int y, mo, dd, area, seq, tries = 0;
	char body[32];

	civil_from_days(day, &y, &mo, &dd);
	if (p->outsider) {
		const struct outside_area *oa =
			&outside_areas[rng_weighted(r, outside_weights, (int)ARRAY_SIZE(outside_areas))];
		area = y <= 2000 && oa->old_code && rng_chance(r, 500) ? oa->old_code : oa->code;
	} else {
		area = y <= 2000 && d->area_old && rng_chance(r, 500) ? d->area_old : d->area;
	}
	for (;;) {
		uint64_t key;
		/* odd sequence for men, even for women; never 000 */
		if (p->sex == SEX_MALE)
			seq = 2 * rng_below(r, 500) + 1;
		else
			seq = 2 * rng_range(r, 1, 499);
		key = ((uint64_t)area * 100000000ULL + (uint64_t)(y * 10000 + mo * 100 + dd)) *
			      1000ULL +
		      (uint64_t)seq;
		if (!idset_add(&d->ids, key))
			break;
		if (++tries % 64 == 0) { /* that birthday is crowded: move a day */
			day = day > first ? day - 1 : day + 1;
			civil_from_days(day, &y, &mo, &dd);
		}
	}
	snprintf(body, sizeof(body), "%06d%04d%02d%02d%03d", area, y, mo, dd, seq);
	memcpy(m->id_number, body, 17);
	m->id_number[17] = idcard_check_char(body);
	m->id_number[18] = '\0';
	m->sex = p->sex;
	/* YYYY-MM-DD from the digits just written */
	memcpy(m->birth_date, body + 6, 4);
	m->birth_date[4] = '-';
	memcpy(m->birth_date + 5, body + 10, 2);
	m->birth_date[7] = '-';
	memcpy(m->birth_date + 8, body + 12, 2);
	m->birth_date[10] = '\0';
}

/* Give member `i` of the plan a name: the planned surname and a given name of
 * the right sex and era, not repeating anyone else's in the household. */
static void make_name(struct demo *d, const struct hh_plan *h, int i, struct member_rec *ms)
{
	const struct person *p = &h->p[i];
	int birth_year = DEMO_REF_YEAR - p->age;
	int era = birth_year < 1960 ? 0 : birth_year < 1980 ? 1 : birth_year < 2000 ? 2 : 3;
	const struct name_pool *pool = &given_pools[era][p->sex == SEX_MALE ? 0 : 1];
	int tries, j;

	for (tries = 0; tries < 8; tries++) {
		const char *given = pool->names[rng_below(&d->rng, pool->nr)];
		snprintf(ms[i].name, sizeof(ms[i].name), "%s%s", surnames[p->surname].s, given);
		for (j = 0; j < i; j++)
			if (!strcmp(ms[j].name, ms[i].name))
				break;
		if (j == i)
			return;
	}
}

/* 民族 of a person: the household's, or for someone who married in a fresh
 * draw (平利 is about 99% 汉族, with some 回族 and 土家族). */
static int pick_ethnicity(struct rng *r)
{
	int x = rng_below(r, 1000);
	return x < 990 ? DEMO_ETH_HAN : x < 995 ? DEMO_ETH_HUI : DEMO_ETH_TUJIA;
}

/* Turn the plan into member records ms[0..h->n). */
static void fill_members(struct demo *d, const struct hh_plan *h, int hh_type,
			 struct member_rec *ms)
{
	struct rng *r = &d->rng;
	int ethnicity = pick_ethnicity(r), i;

	for (i = 0; i < h->n; i++) {
		const struct person *p = &h->p[i];
		struct member_rec *m = &ms[i];
		int married_in = p->rel == DEMO_REL_SPOUSE || p->rel == DEMO_REL_SON_WIFE ||
				 p->rel == DEMO_REL_DAUGHTER_HUSB || p->rel == DEMO_REL_MOTHER;
		int phone_pm;

		member_rec_init(m);
		m->id = 0;
		m->relation = p->rel;
		make_id(d, m, p);
		make_name(d, h, i, ms);
		m->ethnicity = married_in && rng_chance(r, 300) ? pick_ethnicity(r) : ethnicity;
		fill_attributes(r, m, p->age, hh_type,
				hh_type == DEMO_HH_TEKUN && p->age >= 16 && p->age <= 60);
		if (hh_type == DEMO_HH_TEKUN && (m->labor_skill == DEMO_LABOR_NORMAL ||
						 m->labor_skill == DEMO_LABOR_SKILLED)) {
			/* 特困供养 means no one able to work */
			m->labor_skill = DEMO_LABOR_WEAK;
			m->work_status = DEMO_WORK_NONE;
		}
		m->dibao = hh_type == DEMO_HH_DIBAO;
		m->tekun = hh_type == DEMO_HH_TEKUN;
		phone_pm = p->age < 18 ? 0 : p->age <= 60 ? 850 : p->age <= 70 ? 500 : 150;
		if (m->disability == DEMO_DIS_MENTAL || m->disability == DEMO_DIS_MULTI)
			phone_pm = 0;
		m->phone[0] = '\0';
		if (rng_chance(r, phone_pm))
			make_phone(r, m->phone);
	}
}

/* ---- villages ---- */

/* Copy a region name for an address: "蒋家坪村委会" → "蒋家坪村",
 * "西城社区居委会" → "西城社区". */
static void tidy_region_name(const char *in, char *out, size_t size)
{
	static const struct {
		const char *suffix, *with;
	} rules[] = {
		{ "村民委员会", "村" },   { "村委会", "村" },         { "社区居民委员会", "社区" },
		{ "社区居委会", "社区" }, { "居民委员会", "社区" },   { "居委会", "社区" },
	};
	size_t len = strlen(in), i;
	for (i = 0; i < ARRAY_SIZE(rules); i++) {
		size_t sl = strlen(rules[i].suffix);
		if (len > sl && !memcmp(in + len - sl, rules[i].suffix, sl)) {
			snprintf(out, size, "%.*s%s", (int)(len - sl), in, rules[i].with);
			return;
		}
	}
	snprintf(out, size, "%s", in);
}

struct town {
	char code9[10];
	char name[96];
};

/* Load the townships and villages under `county`; returns the number of
 * villages (0 if none) or -1. */
static int load_villages(struct db *db, const char *county, struct village **out, size_t *nr)
{
	enum { REGION_CODE, REGION_NAME };
	struct town *towns = NULL;
	size_t nr_towns = 0, alloc_towns = 0, alloc = 0, i;
	struct db_stmt *st;
	char prefix[16];
	int rc;

	snprintf(prefix, sizeof(prefix), "%s%%", county);
	st = db_prepare(db, "SELECT code, name FROM region WHERE code LIKE :prefix AND level = 4"
			    " ORDER BY code");
	db_bind_text(st, ":prefix", prefix);
	while ((rc = db_step(st)) == DB_ROW) {
		struct town *t;
		ALLOC_GROW(towns, nr_towns + 1, alloc_towns);
		t = &towns[nr_towns++];
		snprintf(t->code9, sizeof(t->code9), "%.9s", db_col_text(st, REGION_CODE));
		snprintf(t->name, sizeof(t->name), "%s", db_col_text(st, REGION_NAME));
	}
	db_done(st);
	if (rc != DB_DONE) {
		free(towns);
		return error("读取乡镇区划失败：%s", db_errmsg(db));
	}

	st = db_prepare(db, "SELECT code, name FROM region WHERE code LIKE :prefix AND level = 5"
			    " ORDER BY code");
	db_bind_text(st, ":prefix", prefix);
	while ((rc = db_step(st)) == DB_ROW) {
		const char *code = db_col_text(st, REGION_CODE);
		struct village *v;
		if (strlen(code) != 12)
			continue;
		ALLOC_GROW(*out, *nr + 1, alloc);
		v = &(*out)[(*nr)++];
		memset(v, 0, sizeof(*v));
		memcpy(v->code, code, 13);
		tidy_region_name(db_col_text(st, REGION_NAME), v->name, sizeof(v->name));
		v->site = -1;
		for (i = 0; i < nr_towns; i++) {
			if (!memcmp(towns[i].code9, code, 9)) {
				size_t j;
				snprintf(v->town, sizeof(v->town), "%s", towns[i].name);
				for (j = 0; j < ARRAY_SIZE(relocation_sites); j++)
					if (v->town[0] && starts_with(relocation_sites[j], v->town))
						v->site = (int)j;
				break;
			}
		}
	}
	db_done(st);
	free(towns);
	if (rc != DB_DONE)
		return error("读取村级区划失败：%s", db_errmsg(db));
	return (int)*nr;
}

/* Share `households` among the villages in proportion to invented sizes (a
 * 社区 smaller than a 村), at most DEMO_MAX_PER_VILLAGE each. */
static void share_households(struct rng *r, struct village *v, size_t nr, long households)
{
	long *w = xcalloc(nr, sizeof(*w)), total = 0, given = 0, left;
	size_t i;

	for (i = 0; i < nr; i++) {
		w[i] = 40 + rng_below(r, 161);
		if (strstr(v[i].name, "社区"))
			w[i] = w[i] * 6 / 10;
		total += w[i];
	}
	for (i = 0; i < nr; i++) {
		v[i].households = (long)((double)households * (double)w[i] / (double)total);
		if (v[i].households > DEMO_MAX_PER_VILLAGE)
			v[i].households = DEMO_MAX_PER_VILLAGE;
		given += v[i].households;
	}
	/* the remainder, one at a time to the villages with room */
	left = households - given;
	for (i = 0; left > 0; i = (i + 1) % nr) {
		if (v[i].households < DEMO_MAX_PER_VILLAGE) {
			v[i].households++;
			left--;
		}
	}
	for (i = 0; i < nr; i++)
		v[i].groups = clamp((int)(v[i].households / 60), 4, 15) + rng_below(r, 3);
	free(w);
}

static const char *pick_site(struct rng *r, const struct village *v)
{
	if (v->site >= 0 && rng_chance(r, 650))
		return relocation_sites[v->site];
	if (rng_chance(r, 500))
		return relocation_sites[0]; /* the county town takes the most */
	return relocation_sites[rng_below(r, (int)ARRAY_SIZE(relocation_sites))];
}

static void init_tables(void)
{
	size_t i;
	for (i = 0; i < ARRAY_SIZE(surnames); i++)
		surname_weights[i] = surnames[i].w;
	for (i = 0; i < ARRAY_SIZE(outside_areas); i++)
		outside_weights[i] = outside_areas[i].w;
}

/* ---- writing: households and members in batches -------------------------
 * A batch of new households and their members goes in with ids reserved
 * up front (db_next_ids) and one bulk load per table (db_copy: COPY on
 * PostgreSQL, a prepared insert per row on SQLite): one round trip per
 * thousand households instead of four per member. */

enum { DEMO_BATCH = 1000 };

struct batch {
	struct household_rec *hh; /* DEMO_BATCH */
	int *nm;		  /* members per household */
	struct member_rec *m;	  /* DEMO_BATCH * DEMO_MAX_MEMBERS */
	int nh, nr_m;
};

static int batch_add(struct batch *b, const struct household_rec *hh, const struct member_rec *ms,
		     int n)
{
	if (!b->hh) {
		b->hh = xcalloc(DEMO_BATCH, sizeof(*b->hh));
		b->nm = xcalloc(DEMO_BATCH, sizeof(*b->nm));
		b->m = xcalloc((size_t)DEMO_BATCH * DEMO_MAX_MEMBERS, sizeof(*b->m));
	}
	b->hh[b->nh] = *hh;
	b->nm[b->nh++] = n;
	memcpy(b->m + b->nr_m, ms, (size_t)n * sizeof(*ms));
	b->nr_m += n;
	return 0;
}

static int batch_flush(struct db *db, struct batch *b)
{
	int64_t *hid, *mid;
	struct db_copy *c;
	char now[20], py[REGISTRY_PY_SIZE];
	int rc = 0, k = 0;

	if (!b->nh)
		return 0;
	hid = xmalloc((size_t)b->nh * sizeof(*hid));
	mid = xmalloc((size_t)b->nr_m * sizeof(*mid));
	if (db_next_ids(db, "household", b->nh, hid) || db_next_ids(db, "member", b->nr_m, mid)) {
		rc = error("无法分配演示户的编号：%s", db_errmsg(db));
		goto out;
	}
	now_utc_text(now);
	c = db_copy_begin(db, "household",
			  "id, " REGISTRY_HOUSEHOLD_COPY_COLUMNS ", created_at, updated_at");
	for (int i = 0; i < b->nh && rc >= 0; i++) {
		const struct household_rec *h = &b->hh[i];
		db_copy_int(c, hid[i]);
		registry_copy_household_fields(c, h->hh_no, h->village_code, h->address, h->phone,
					       h->hh_type, h->relocated, h->relocation_site);
		db_copy_text(c, now);
		db_copy_text(c, now);
		rc = db_copy_row(c);
	}
	if (db_copy_end(c, rc < 0) < 0 || rc < 0) {
		rc = error("写入演示户失败：%s%s", db_errmsg(db),
			   "（该县的户编号可能已在库中）");
		goto out;
	}
	c = db_copy_begin(db, "member",
			  "id, household_id, " REGISTRY_MEMBER_COPY_COLUMNS ", created_at, updated_at");
	for (int i = 0; i < b->nh && rc >= 0; i++)
		for (int j = 0; j < b->nm[i] && rc >= 0; j++, k++) {
			db_copy_int(c, mid[k]);
			db_copy_int(c, hid[i]);
			registry_copy_member_fields(c, &b->m[k], py);
			db_copy_text(c, now);
			db_copy_text(c, now);
			rc = db_copy_row(c);
		}
	if (db_copy_end(c, rc < 0) < 0 || rc < 0)
		rc = error("写入演示户的成员失败：%s", db_errmsg(db));
out:
	free(hid);
	free(mid);
	b->nh = b->nr_m = 0;
	return rc < 0 ? -1 : 0;
}

/* The 身份证号 already in the database (other counties' demo people), so
 * that no new number repeats one: their 17-digit bodies into the set. */
static int preload_ids(struct db *db, struct idset *ids)
{
	struct db_stmt *st = db_prepare(db, "SELECT id_number FROM member");
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *s = db_col_text(st, 0);
		uint64_t k = 0;
		int i;
		for (i = 0; i < 17 && s[i] >= '0' && s[i] <= '9'; i++)
			k = k * 10 + (uint64_t)(s[i] - '0');
		if (i == 17)
			idset_add(ids, k);
	}
	db_done(st);
	return rc < 0 ? error("无法读取已有的身份证号：%s", db_errmsg(db)) : 0;
}

int registry_demo_generate(struct db *db, const char *county, long households, uint64_t seed,
			   int progress)
{
	static const int type_weights[4] = { 300, 620, 60, 20 }; /* 脱贫 一般 低保 特困 */
	struct village *v = NULL;
	size_t nr_v = 0, vi;
	struct demo d;
	struct household_rec hh;
	struct member_rec ms[DEMO_MAX_MEMBERS];
	struct hh_plan plan;
	struct batch b = { 0 };
	long done = 0;
	int ret = -1, in_tx = 0, i;

	if (!county || strlen(county) != 6 || strspn(county, "0123456789") != 6)
		return error("县级区划代码应为 6 位数字：'%s'", county ? county : "");
	if (households < 0)
		return error("演示户数不能为负数：%ld", households);
	init_tables();
	memset(&d, 0, sizeof(d));
	d.rng.s = seed;

	if (load_villages(db, county, &v, &nr_v) < 0)
		goto out;
	if (!nr_v) {
		error("县 %s 的村级区划未导入，请先运行 liubao regions import --under %s", county,
		      county);
		goto out;
	}
	if (households > (long)nr_v * DEMO_MAX_PER_VILLAGE) {
		error("演示户数 %ld 过多：县 %s 有 %zu 个村，每村最多 %d 户", households, county,
		      nr_v, DEMO_MAX_PER_VILLAGE);
		goto out;
	}
	share_households(&d.rng, v, nr_v, households);
	idset_init(&d.ids, (size_t)households * 4);
	d.area = atoi(county);
	d.area_old = old_area_code(d.area);
	if (preload_ids(db, &d.ids))
		goto out;

	if (db_begin(db) < 0) {
		error("无法开始事务：%s", db_errmsg(db));
		goto out;
	}
	in_tx = 1;
	for (vi = 0; vi < nr_v; vi++) {
		struct village *vil = &v[vi];
		long seq, group_start = 1;
		int group = 1;

		for (seq = 1; seq <= vil->households; seq++) {
			struct rng *r = &d.rng;
			int hh_type = 1 + rng_weighted(r, type_weights, 4);
			int g = 1 + (int)((seq - 1) * vil->groups / vil->households);

			if (g != group) {
				group = g;
				group_start = seq;
			}
			household_rec_init(&hh);
			hh.id = 0;
			snprintf(hh.hh_no, sizeof(hh.hh_no), "%s%04ld", vil->code, seq);
			memcpy(hh.village_code, vil->code, sizeof(hh.village_code));
			snprintf(hh.address, sizeof(hh.address), "%s%s%d组%ld号", vil->town, vil->name,
				 group, seq - group_start + 1);
			hh.hh_type = hh_type;
			hh.relocated = rng_chance(r, hh_type == DEMO_HH_TUOPIN ? 120 : 20);
			if (hh.relocated)
				snprintf(hh.relocation_site, sizeof(hh.relocation_site), "%s",
					 pick_site(r, vil));
			else
				hh.relocation_site[0] = '\0';

			plan_household(r, hh_type, &plan);
			fill_members(&d, &plan, hh_type, ms);

			/* 户联系电话: the head's, else another adult's, else a new one;
			 * about one household in twenty left without */
			hh.phone[0] = '\0';
			if (!rng_chance(r, 50)) {
				for (i = 0; i < plan.n && !hh.phone[0]; i++)
					if (ms[i].phone[0])
						memcpy(hh.phone, ms[i].phone, sizeof(hh.phone));
				if (!hh.phone[0])
					make_phone(r, hh.phone);
			}

			if (batch_add(&b, &hh, ms, plan.n) < 0 ||
			    (b.nh == DEMO_BATCH && batch_flush(db, &b) < 0))
				goto out;
			done++;
			if (progress && done % 2000 == 0)
				fprintf(stderr, "\r生成演示户：%ld/%ld", done, households);
		}
	}
	if (batch_flush(db, &b) < 0)
		goto out;
	in_tx = 0;
	if (db_commit(db) < 0) {
		error("提交演示数据失败：%s", db_errmsg(db));
		goto out;
	}
	if (progress)
		fprintf(stderr, "\r生成演示户：%ld/%ld\n", done, households);
	ret = 0;
out:
	if (in_tx)
		db_rollback(db);
	idset_release(&d.ids);
	free(b.hh);
	free(b.m);
	free(b.nm);
	free(v);
	return ret;
}
