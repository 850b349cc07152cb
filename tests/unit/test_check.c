/* test_check.c — unit tests for registry/check.c: record initialisers,
 * household structure checks and a member's own field checks. */
#include <stdio.h>

#include "harness.h"
#include "registry/codes.h"
/* registry.h declares registry_routes[], whose element type must be complete */
#include "http/http.h"
#include "registry/registry.h"

#define MAXP 16

/* Fill m[i] as a member with `relation` (a label) and `sex` (1/2, -1). */
static void set_member(struct member_rec *m, const char *name, const char *relation, int sex)
{
	member_rec_init(m);
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->relation = codes_lookup(&code_relation, relation);
	m->sex = sex;
}

/* The number of problems in p[0..n) with code `code`. */
static int count_code(const struct reg_problem *p, int n, const char *code)
{
	int k = 0;
	for (int i = 0; i < n && i < MAXP; i++)
		if (!strcmp(p[i].code, code))
			k++;
	return k;
}

/* 1 if every problem message is NUL-terminated inside its buffer. */
static int messages_terminated(const struct reg_problem *p, int n)
{
	for (int i = 0; i < n && i < MAXP; i++)
		if (!memchr(p[i].message, '\0', sizeof(p[i].message)) || !p[i].message[0])
			return 0;
	return 1;
}

TEST(check_member_rec_init)
{
	struct member_rec m;
	memset(&m, 0x5a, sizeof(m));
	member_rec_init(&m);
	CHECK_INT(m.id, 0);
	CHECK_INT(m.household_id, 0);
	CHECK_STR(m.name, "");
	CHECK_STR(m.id_number, "");
	CHECK_STR(m.birth_date, "");
	CHECK_STR(m.phone, "");
	CHECK_INT(m.relation, -1);
	CHECK_INT(m.sex, -1);
	CHECK_INT(m.ethnicity, -1);
	CHECK_INT(m.education, -1);
	CHECK_INT(m.school_status, -1);
	CHECK_INT(m.health, -1);
	CHECK_INT(m.disability, -1);
	CHECK_INT(m.labor_skill, -1);
	CHECK_INT(m.work_status, -1);
	CHECK_INT(m.ins_resident_med, -1);
	CHECK_INT(m.ins_employee_med, -1);
	CHECK_INT(m.ins_critical, -1);
	CHECK_INT(m.ins_pension, -1);
	CHECK_INT(m.dibao, -1);
	CHECK_INT(m.tekun, -1);
}

TEST(check_household_rec_init)
{
	struct household_rec h;
	memset(&h, 0x5a, sizeof(h));
	household_rec_init(&h);
	CHECK_INT(h.id, 0);
	CHECK_STR(h.hh_no, "");
	CHECK_STR(h.village_code, "");
	CHECK_STR(h.address, "");
	CHECK_STR(h.phone, "");
	CHECK_STR(h.relocation_site, "");
	CHECK_INT(h.hh_type, -1);
	CHECK_INT(h.relocated, 0);
}

TEST(check_structure_valid_families)
{
	struct member_rec m[8];
	struct reg_problem p[MAXP];
	set_member(&m[0], "王建国", "户主", SEX_MALE);
	set_member(&m[1], "李秀英", "配偶", SEX_FEMALE);
	set_member(&m[2], "王小明", "之子", SEX_MALE);
	set_member(&m[3], "王小红", "之女", SEX_FEMALE);
	set_member(&m[4], "张丽", "之儿媳", SEX_FEMALE);
	set_member(&m[5], "王大山", "之父", SEX_MALE);
	set_member(&m[6], "赵桂兰", "之母", SEX_FEMALE);
	set_member(&m[7], "王小华", "之兄弟姐妹", SEX_FEMALE);
	CHECK_INT(registry_check_structure(m, 8, p, MAXP), 0);
	/* a female head with a male spouse */
	set_member(&m[0], "李秀英", "户主", SEX_FEMALE);
	set_member(&m[1], "王建国", "配偶", SEX_MALE);
	CHECK_INT(registry_check_structure(m, 2, p, MAXP), 0);
	/* a head alone, no spouse */
	CHECK_INT(registry_check_structure(m, 1, p, MAXP), 0);
	/* unknown sex (no 身份证号) is not held against anyone */
	set_member(&m[1], "某某", "配偶", -1);
	set_member(&m[2], "某某", "之女", -1);
	CHECK_INT(registry_check_structure(m, 3, p, MAXP), 0);
	/* an empty household has no structure to check */
	CHECK_INT(registry_check_structure(m, 0, p, MAXP), 0);
}

TEST(check_structure_no_head)
{
	struct member_rec m[2];
	struct reg_problem p[MAXP];
	int n;
	set_member(&m[0], "李秀英", "配偶", SEX_FEMALE);
	set_member(&m[1], "王小明", "之子", SEX_MALE);
	n = registry_check_structure(m, 2, p, MAXP);
	CHECK_INT(n, 1);
	CHECK_STR(p[0].code, "E_NO_HEAD");
	CHECK_INT(p[0].member, -1);
	CHECK_STR(p[0].field, "与户主关系");
	CHECK_STR(p[0].message, "该户没有户主，请指定一名户主");
	/* a member without any relation does not count as a head either */
	set_member(&m[0], "某某", "", SEX_FEMALE);
	CHECK_INT(m[0].relation, -1);
	n = registry_check_structure(m, 1, p, MAXP);
	CHECK_INT(n, 1);
	CHECK_STR(p[0].code, "E_NO_HEAD");
}

TEST(check_structure_two_heads)
{
	struct member_rec m[4];
	struct reg_problem p[MAXP];
	int n;
	set_member(&m[0], "王建国", "户主", SEX_MALE);
	set_member(&m[1], "李秀英", "配偶", SEX_FEMALE);
	set_member(&m[2], "王建军", "户主", SEX_MALE);
	n = registry_check_structure(m, 3, p, MAXP);
	CHECK_INT(n, 1);
	CHECK_STR(p[0].code, "E_MULTI_HEAD");
	CHECK_INT(p[0].member, 2);
	CHECK_STR(p[0].field, "与户主关系");
	CHECK(strstr(p[0].message, "该户有 2 名户主，只能有一名") == p[0].message);
	/* three heads: each extra one is named */
	set_member(&m[3], "王建民", "户主", SEX_MALE);
	n = registry_check_structure(m, 4, p, MAXP);
	CHECK_INT(n, 2);
	CHECK_INT(count_code(p, n, "E_MULTI_HEAD"), 2);
	CHECK_INT(p[0].member, 2);
	CHECK_INT(p[1].member, 3);
	CHECK(strstr(p[1].message, "3 名户主") != NULL);
}

TEST(check_structure_two_spouses)
{
	struct member_rec m[3];
	struct reg_problem p[MAXP];
	int n;
	set_member(&m[0], "王建国", "户主", SEX_MALE);
	set_member(&m[1], "李秀英", "配偶", SEX_FEMALE);
	set_member(&m[2], "张翠花", "配偶", SEX_FEMALE);
	n = registry_check_structure(m, 3, p, MAXP);
	CHECK_INT(n, 1);
	CHECK_STR(p[0].code, "E_MULTI_SPOUSE");
	CHECK_INT(p[0].member, 2);
	CHECK_STR(p[0].field, "与户主关系");
	CHECK(messages_terminated(p, n));
}

TEST(check_structure_same_sex_spouses)
{
	struct member_rec m[2];
	struct reg_problem p[MAXP];
	int n;
	set_member(&m[0], "王建国", "户主", SEX_MALE);
	set_member(&m[1], "王建军", "配偶", SEX_MALE);
	n = registry_check_structure(m, 2, p, MAXP);
	CHECK_INT(n, 1);
	CHECK_STR(p[0].code, "E_SPOUSE_SEX");
	CHECK_INT(p[0].member, 1);
	CHECK(strstr(p[0].message, "户主与配偶性别相同（依据身份证号第17位）") == p[0].message);
	m[0].sex = m[1].sex = SEX_FEMALE;
	CHECK_INT(registry_check_structure(m, 2, p, MAXP), 1);
	CHECK_STR(p[0].code, "E_SPOUSE_SEX");
}

TEST(check_structure_relation_sex)
{
	struct member_rec m[5];
	struct reg_problem p[MAXP];
	int n;
	set_member(&m[0], "王建国", "户主", SEX_MALE);
	set_member(&m[1], "王小红", "之女", SEX_MALE);
	n = registry_check_structure(m, 2, p, MAXP);
	CHECK_INT(n, 1);
	CHECK_STR(p[0].code, "E_RELATION_SEX");
	CHECK_INT(p[0].member, 1);
	CHECK_STR(p[0].field, "与户主关系");
	CHECK(strstr(p[0].message, "与户主关系为“之女”，但身份证号显示为男性") == p[0].message);

	set_member(&m[1], "王小明", "之子", SEX_FEMALE);
	set_member(&m[2], "赵桂兰", "之母", SEX_MALE);
	set_member(&m[3], "张丽", "之兄弟媳妇", SEX_MALE);
	set_member(&m[4], "王大山", "之祖父", SEX_FEMALE);
	n = registry_check_structure(m, 5, p, MAXP);
	CHECK_INT(n, 4);
	CHECK_INT(count_code(p, n, "E_RELATION_SEX"), 4);
	CHECK(strstr(p[0].message, "“之子”，但身份证号显示为女性") != NULL);
	CHECK(strstr(p[2].message, "之兄弟媳妇") != NULL);
	CHECK(messages_terminated(p, n));
}

TEST(check_structure_counts_beyond_max)
{
	struct member_rec m[6];
	struct reg_problem p[2];
	int n;
	set_member(&m[0], "甲", "之女", SEX_MALE);
	set_member(&m[1], "乙", "配偶", SEX_FEMALE);
	set_member(&m[2], "丙", "配偶", SEX_FEMALE);
	set_member(&m[3], "丁", "之母", SEX_MALE);
	set_member(&m[4], "戊", "之子", SEX_FEMALE);
	set_member(&m[5], "己", "之孙女", SEX_MALE);
	memset(p, 0, sizeof(p));
	n = registry_check_structure(m, 6, p, 2);
	CHECK_INT(n, 6); /* no head, one extra spouse, four relation-sex */
	CHECK_STR(p[0].code, "E_NO_HEAD");
	CHECK_STR(p[1].code, "E_MULTI_SPOUSE");
	CHECK_INT(registry_check_structure(m, 6, NULL, 0), 6);
}

TEST(check_member_valid)
{
	struct member_rec m;
	struct reg_problem p[MAXP];
	set_member(&m, "王建国", "户主", SEX_MALE);
	CHECK_INT(registry_check_member(&m, p, MAXP), 0);
	const char *good[] = {"13912345678", "19912345678",  "0915-8421234",
			      "09158421234", "010-82345678", "01082345678",
			      "02188889999", "029-88421234", "0915-84212345"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(m.phone, sizeof(m.phone), "%s", good[i]);
		if (!CHECK_INT(registry_check_member(&m, p, MAXP), 0))
			printf("    phone %s\n", good[i]);
	}
	/* 阿依古丽·买买提 and a 30-character name are fine */
	m.phone[0] = '\0';
	snprintf(m.name, sizeof(m.name), "阿依古丽·买买提");
	CHECK_INT(registry_check_member(&m, p, MAXP), 0);
	snprintf(m.name, sizeof(m.name), "%s", "abcdefghijabcdefghijabcdefghij");
	CHECK_INT(registry_check_member(&m, p, MAXP), 0);
}

TEST(check_member_name)
{
	struct member_rec m;
	struct reg_problem p[MAXP];
	const char *bad[] = {
	    "",
	    "   ",
	    "王\n建国",
	    "王\t建国",
	    "王\x7f",
	    "王\xC2\x85", /* U+0085, a C1 control */
	    "王\xE5\xBB", /* cut-off UTF-8 */
	    "\xC0\xAF",	  /* overlong */
	    "abcdefghijabcdefghijabcdefghijk",
	    "一二三四五六七八九十一二三四五六七八九十一", /* 21 is fine... */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n;
		set_member(&m, bad[i], "户主", SEX_MALE);
		n = registry_check_member(&m, p, MAXP);
		if (i == sizeof(bad) / sizeof(bad[0]) - 1) {
			CHECK_INT(n, 0);
			continue;
		}
		if (!CHECK_INT(n, 1))
			printf("    name #%zu\n", i);
		CHECK_STR(p[0].code, "E_NAME");
		CHECK_STR(p[0].field, "姓名");
		CHECK(messages_terminated(p, n));
	}
	set_member(&m, "", "户主", SEX_MALE);
	registry_check_member(&m, p, MAXP);
	CHECK(strstr(p[0].message, "请填写") != NULL);
	set_member(&m, "abcdefghijabcdefghijabcdefghijabcdefghij", "户主", SEX_MALE);
	registry_check_member(&m, p, MAXP);
	CHECK(strstr(p[0].message, "40 个字") != NULL);
}

TEST(check_member_relation)
{
	struct member_rec m;
	struct reg_problem p[MAXP];
	int n;
	set_member(&m, "王建国", "", SEX_MALE);
	n = registry_check_member(&m, p, MAXP);
	CHECK_INT(n, 1);
	CHECK_STR(p[0].code, "E_RELATION_MISSING");
	CHECK_STR(p[0].field, "与户主关系");
	m.relation = 99;
	n = registry_check_member(&m, p, MAXP);
	CHECK_INT(n, 1);
	CHECK_STR(p[0].code, "E_RELATION_UNKNOWN");
	CHECK(strstr(p[0].message, "99") != NULL);
}

TEST(check_member_phone)
{
	struct member_rec m;
	struct reg_problem p[MAXP];
	const char *bad[] = {
	    "1391234567",    "139123456789", "12912345678",    "23912345678",	 "1391234567a",
	    "139 1234 5678", "0915-1421234", "0915-842123",    "0915-842123456", "015-8421234",
	    "0015-8421234",  "0159-8421234", "091-58421234-",  "0915--8421234",	 "-09158421234",
	    "8421234",	     "0915842123",   "+8613912345678", "00000000000",	 "0108234567",
	    "0298421234",    "029-8421234",  "09158421234567", "0915-",
	};
	set_member(&m, "王建国", "户主", SEX_MALE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n;
		snprintf(m.phone, sizeof(m.phone), "%s", bad[i]);
		n = registry_check_member(&m, p, MAXP);
		if (!CHECK_INT(n, 1)) {
			printf("    phone %s\n", bad[i]);
			continue;
		}
		CHECK_STR(p[0].code, "E_PHONE");
		CHECK_STR(p[0].field, "联系电话");
		CHECK(
		    strstr(p[0].message, "联系电话格式不正确：应为11位手机号或带区号的固定电话") ==
		    p[0].message);
	}
}

TEST(check_member_all_problems_and_max)
{
	struct member_rec m;
	struct reg_problem p[1];
	member_rec_init(&m);
	snprintf(m.phone, sizeof(m.phone), "12345");
	CHECK_INT(registry_check_member(&m, p, 1), 3);
	CHECK_STR(p[0].code, "E_NAME");
	CHECK_INT(registry_check_member(&m, NULL, 0), 3);
}
