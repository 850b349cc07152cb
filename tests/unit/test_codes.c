/* test_codes.c — unit tests for registry/codes.c: the code lists' contents,
 * label ↔ code lookups with trimming, 健康状况 bitmasks and suggestions. */
#include <stdio.h>

#include "harness.h"
#include "base/buf.h"
#include "registry/codes.h"

TEST(codes_lists_and_find)
{
	const char *names[] = {"sex",		"relation", "ethnicity",  "education",
			       "school_status", "health",   "disability", "labor_skill",
			       "work_status",	"hh_type",  "yesno"};
	int n = 0;
	while (code_lists[n])
		n++;
	CHECK_INT(n, 11);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct code_list *l = codes_find(names[i]);
		if (!CHECK(l != NULL))
			continue;
		CHECK_STR(l->name, names[i]);
		CHECK(l->nr_items > 0);
	}
	CHECK(codes_find("nope") == NULL);
	CHECK(codes_find(NULL) == NULL);
	CHECK(codes_find("relation") == &code_relation);
	CHECK_STR(code_relation.title, "与户主关系");
	CHECK_STR(code_health.title, "健康状况");
	CHECK_INT(code_health.multi, 1);
	CHECK_INT(code_relation.multi, 0);
}

TEST(codes_list_sizes)
{
	CHECK_INT(code_sex.nr_items, 2);
	CHECK_INT(code_relation.nr_items, 28);
	CHECK_INT(code_ethnicity.nr_items, 58);
	CHECK_INT(code_education.nr_items, 6);
	CHECK_INT(code_school_status.nr_items, 25);
	CHECK_INT(code_health.nr_items, 4);
	CHECK_INT(code_disability.nr_items, 7);
	CHECK_INT(code_labor_skill.nr_items, 5);
	CHECK_INT(code_work_status.nr_items, 6);
	CHECK_INT(code_hh_type.nr_items, 4);
	CHECK_INT(code_yesno.nr_items, 2);
}

/* Every label maps to its code and back; codes and labels are unique. */
TEST(codes_round_trip_every_list)
{
	for (int li = 0; code_lists[li]; li++) {
		const struct code_list *l = code_lists[li];
		for (int i = 0; i < l->nr_items; i++) {
			const struct code_item *it = &l->items[i];
			int want = l->multi ? 1 << it->code : it->code;
			if (!CHECK_INT(codes_lookup(l, it->label), want))
				printf("    list %s label %s\n", l->name, it->label);
			CHECK_STR(codes_label(l, it->code), it->label);
			CHECK(codes_item(l, it->code) == it);
			CHECK_STR(codes_suggest(l, it->label), it->label);
			for (int j = 0; j < i; j++) {
				CHECK(l->items[j].code != it->code);
				CHECK(strcmp(l->items[j].label, it->label) != 0);
			}
		}
		CHECK(codes_label(l, 12345) == NULL);
		CHECK(codes_item(l, -7) == NULL);
	}
}

TEST(codes_well_known_values)
{
	CHECK_INT(codes_lookup(&code_sex, "男"), SEX_MALE);
	CHECK_INT(codes_lookup(&code_sex, "女"), SEX_FEMALE);
	CHECK_INT(codes_lookup(&code_relation, "户主"), REL_HEAD);
	CHECK_INT(codes_lookup(&code_relation, "配偶"), REL_SPOUSE);
	CHECK_INT(codes_lookup(&code_relation, "之子"), 3);
	CHECK_INT(codes_lookup(&code_relation, "其他"), 28);
	CHECK_INT(codes_lookup(&code_ethnicity, "汉族"), 1);
	CHECK_INT(codes_lookup(&code_ethnicity, "维吾尔族"), 5);
	CHECK_INT(codes_lookup(&code_ethnicity, "土家族"), 15);
	CHECK_INT(codes_lookup(&code_ethnicity, "基诺族"), 56);
	CHECK_INT(codes_lookup(&code_ethnicity, "其他"), 97);
	CHECK_INT(codes_lookup(&code_ethnicity, "外国血统中国籍人士"), 98);
	CHECK_INT(codes_lookup(&code_education, "文盲或半文盲"), 1);
	CHECK_INT(codes_lookup(&code_education, "本科及以上"), 6);
	CHECK_INT(codes_lookup(&code_school_status, "学龄前儿童"), 1);
	CHECK_INT(codes_lookup(&code_school_status, "硕士研究生及以上"), 25);
	CHECK_INT(codes_lookup(&code_disability, "多重残疾"), 7);
	CHECK_INT(codes_lookup(&code_labor_skill, "无劳动力"), 5);
	CHECK_INT(codes_lookup(&code_work_status, "未务工"), 6);
	CHECK_INT(codes_lookup(&code_hh_type, "特困供养户"), 4);
	CHECK_INT(codes_lookup(&code_yesno, "是"), 1);
	CHECK_INT(codes_lookup(&code_yesno, "否"), 0);
	/* ethnicity codes 1..56 are contiguous */
	for (int c = 1; c <= 56; c++)
		CHECK(codes_label(&code_ethnicity, c) != NULL);
	CHECK(codes_label(&code_ethnicity, 57) == NULL);
}

TEST(codes_relation_implied_sex)
{
	static const struct {
		const char *label;
		int sex;
	} want[] = {
	    {"户主", 0},       {"配偶", 0},   {"之子", 1},   {"之女", 2},
	    {"之儿媳", 2},     {"之女婿", 1}, {"之孙女", 2}, {"之母", 2},
	    {"之岳父", 1},     {"之婆婆", 2}, {"之祖母", 2}, {"之兄弟姐妹", 0},
	    {"之兄弟媳妇", 2}, {"之叔伯", 1}, {"之侄儿", 1}, {"其他", 0},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct code_item *it =
		    codes_item(&code_relation, codes_lookup(&code_relation, want[i].label));
		if (CHECK(it != NULL))
			CHECK_INT(it->sex, want[i].sex);
	}
	/* The first ten relations appear in order */
	CHECK_STR(codes_label(&code_relation, 10), "之外孙女");
}

TEST(codes_lookup_trimming_and_unknown)
{
	CHECK_INT(codes_lookup(&code_relation, "  之女\t"), 4);
	CHECK_INT(codes_lookup(&code_relation, "\xE3\x80\x80之女\xE3\x80\x80"), 4);
	CHECK_INT(codes_lookup(&code_relation, "\r\n 之女 \xE3\x80\x80 \n"), 4);
	CHECK_INT(codes_lookup(&code_relation, "之 女"), -1);
	CHECK_INT(codes_lookup(&code_relation, "之"), -1);
	CHECK_INT(codes_lookup(&code_relation, "之女儿"), -1);
	CHECK_INT(codes_lookup(&code_relation, ""), -1);
	CHECK_INT(codes_lookup(&code_relation, "   "), -1);
	CHECK_INT(codes_lookup(&code_relation, "\xE3\x80\x80"), -1);
	CHECK_INT(codes_lookup(&code_relation, NULL), -1);
	CHECK_INT(codes_lookup(NULL, "户主"), -1);
	CHECK_INT(codes_lookup(&code_sex, "男性"), -1);
	CHECK_INT(codes_lookup(&code_sex, "1"), -1);
	CHECK_INT(codes_lookup(&code_ethnicity, "汉"), -1);
	/* a truncated UTF-8 prefix of a label is not the label */
	CHECK_INT(codes_lookup(&code_sex, "\xE7\x94"), -1);
	/* separators mean nothing in a single-valued list */
	CHECK_INT(codes_lookup(&code_sex, "男,女"), -1);
}

TEST(codes_health_masks)
{
	const int chronic = 1 << HEALTH_CHRONIC, serious = 1 << HEALTH_SERIOUS,
		  disabled = 1 << HEALTH_DISABLED;
	CHECK_INT(codes_lookup(&code_health, "健康"), 1 << HEALTH_HEALTHY);
	CHECK_INT(codes_lookup(&code_health, "长期慢性病"), chronic);
	CHECK_INT(codes_lookup(&code_health, "残疾,长期慢性病"), chronic | disabled);
	CHECK_INT(codes_lookup(&code_health, "残疾，长期慢性病"), chronic | disabled);
	CHECK_INT(codes_lookup(&code_health, "残疾、患有大病"), serious | disabled);
	CHECK_INT(codes_lookup(&code_health, "残疾;患有大病"), serious | disabled);
	CHECK_INT(codes_lookup(&code_health, "残疾；患有大病；长期慢性病"),
		  chronic | serious | disabled);
	CHECK_INT(codes_lookup(&code_health, " 残疾 , \xE3\x80\x80长期慢性病 "),
		  chronic | disabled);
	CHECK_INT(codes_lookup(&code_health, "残疾,残疾"), disabled);
	CHECK_INT(codes_lookup(&code_health, "残疾,,长期慢性病,"), chronic | disabled);
	CHECK_INT(codes_lookup(&code_health, "健康,残疾"), -1);
	CHECK_INT(codes_lookup(&code_health, "长期慢性病、健康"), -1);
	CHECK_INT(codes_lookup(&code_health, "健康,健康"), 1);
	CHECK_INT(codes_lookup(&code_health, "残疾,感冒"), -1);
	CHECK_INT(codes_lookup(&code_health, "良好"), -1);
	CHECK_INT(codes_lookup(&code_health, ""), -1);
	CHECK_INT(codes_lookup(&code_health, " ， "), -1);
}

TEST(codes_mask_labels_in_code_order)
{
	struct buf b = BUF_INIT;
	codes_mask_labels(&code_health, (1 << HEALTH_DISABLED) | (1 << HEALTH_CHRONIC), &b);
	CHECK_STR(b.buf, "长期慢性病,残疾");
	buf_reset(&b);
	codes_mask_labels(&code_health, 1, &b);
	CHECK_STR(b.buf, "健康");
	buf_reset(&b);
	codes_mask_labels(&code_health, 0, &b);
	CHECK_STR(b.buf, "");
	codes_mask_labels(&code_health, -1, &b);
	CHECK_STR(b.buf, "");
	codes_mask_labels(&code_health, 0xe | (1 << 20), &b);
	CHECK_STR(b.buf, "长期慢性病,患有大病,残疾");
	/* and the labels read back to the same mask */
	CHECK_INT(codes_lookup(&code_health, b.buf), 0xe);
	buf_release(&b);
}

TEST(codes_suggestions)
{
	CHECK_STR(codes_suggest(&code_health, "慢性病"), "长期慢性病");
	CHECK_STR(codes_suggest(&code_labor_skill, "普通劳力"), "普通劳动力");
	CHECK_STR(codes_suggest(&code_labor_skill, " 技能劳力 "), "技能劳动力");
	CHECK_STR(codes_suggest(&code_relation, "之儿子"), "之子");
	CHECK_STR(codes_suggest(&code_relation, "女"), "之女");
	CHECK_STR(codes_suggest(&code_ethnicity, "汉"), "汉族");
	CHECK_STR(codes_suggest(&code_ethnicity, "维吾儿族"), "维吾尔族");
	CHECK_STR(codes_suggest(&code_sex, "男性"), "男");
	CHECK_STR(codes_suggest(&code_school_status, "本科一年纪"), "本科一年级");
	CHECK(codes_suggest(&code_sex, "X") == NULL);
	CHECK(codes_suggest(&code_labor_skill, "abcdefgh") == NULL);
	CHECK(codes_suggest(&code_ethnicity, "火星人") == NULL);
	CHECK(codes_suggest(&code_health, "") == NULL);
	CHECK(codes_suggest(&code_health, "   ") == NULL);
	CHECK(codes_suggest(&code_health, NULL) == NULL);
	CHECK(codes_suggest(NULL, "健康") == NULL);
	/* very long input is not close to anything and does not overflow */
	{
		char longs[400];
		memset(longs, 'a', sizeof(longs) - 1);
		longs[sizeof(longs) - 1] = '\0';
		CHECK(codes_suggest(&code_relation, longs) == NULL);
	}
	/* malformed UTF-8 does not crash */
	CHECK(codes_suggest(&code_relation, "\xFF\xFE\xE4") == NULL);
}
