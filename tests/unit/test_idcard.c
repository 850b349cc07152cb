/* test_idcard.c — unit tests for registry/idcard.c: 身份证号 normalisation,
 * validation (each error kind), 15→18 upgrade, derived sex and birth date,
 * masking and age. */
#include <stdio.h>

#include "harness.h"
#include "base/util.h"
#include "registry/idcard.h"

/* A fixed "today" so that the tests do not depend on the clock. */
#define TODAY 20261129

/* An independent check character: ISO 7064 MOD 11-2 computed the long way,
 * as Σ d_i · (2^(17-i) mod 11), without the weight table idcard.c uses. */
static char ref_check(const char *s17)
{
	int sum = 0;
	for (int i = 0; i < 17; i++) {
		int wgt = 1;
		for (int k = 0; k < 17 - i; k++)
			wgt = wgt * 2 % 11;
		sum += (s17[i] - '0') * wgt;
	}
	return "10X98765432"[sum % 11];
}

/* Build an 18-digit number from 17 digits with a correct check character. */
static void make_id(const char *s17, char out[19])
{
	memcpy(out, s17, 17);
	out[17] = ref_check(s17);
	out[18] = '\0';
}

static enum idcard_status parse(const char *s)
{
	struct idcard c;
	return idcard_parse(s, TODAY, &c);
}

TEST(idcard_check_char_known_examples)
{
	/* The example printed in GB 11643-1999 and values from python. */
	CHECK_INT(idcard_check_char("11010519491231002"), 'X');
	CHECK_INT(idcard_check_char("61092619850315123"), '4');
	CHECK_INT(idcard_check_char("44030419900101100"), '6');
	CHECK_INT(idcard_check_char("61092619850315120"), 'X');
	/* every sequence number agrees with the independent helper */
	for (int seq = 0; seq < 1000; seq++) {
		char s[32];
		snprintf(s, sizeof(s), "6109261985031%03d0", seq);
		s[17] = '\0';
		if (!CHECK_INT(idcard_check_char(s), ref_check(s)))
			break;
	}
	CHECK_INT(idcard_check_char("6109261985031512a"), '?');
}

TEST(idcard_valid_18)
{
	struct idcard c;
	CHECK_INT(idcard_parse("610926198503151234", TODAY, &c), IDCARD_OK);
	CHECK_STR(c.number, "610926198503151234");
	CHECK_STR(c.area, "610926");
	CHECK_INT(c.year, 1985);
	CHECK_INT(c.month, 3);
	CHECK_INT(c.day, 15);
	CHECK_INT(c.sex, 1); /* 17th digit 3: odd, male */
	CHECK_INT(c.upgraded, 0);

	CHECK_INT(idcard_parse("440304199001011006", TODAY, &c), IDCARD_OK);
	CHECK_INT(c.sex, 2); /* 17th digit 0: even, female */

	CHECK_INT(idcard_parse("610926198503151226", TODAY, &c), IDCARD_OK);
	CHECK_INT(c.sex, 2);
	CHECK_INT(idcard_parse("820000199912310014", TODAY, &c), IDCARD_OK);
	CHECK_INT(c.sex, 1);
}

TEST(idcard_sex_from_17th_digit)
{
	for (int d = 0; d <= 9; d++) {
		char s17[18], id[19];
		struct idcard c;
		memcpy(s17, "6109261985031512", 16);
		s17[16] = (char)('0' + d);
		s17[17] = '\0';
		make_id(s17, id);
		if (!CHECK_INT(idcard_parse(id, TODAY, &c), IDCARD_OK))
			continue;
		CHECK_INT(c.sex, d % 2 ? 1 : 2);
	}
}

TEST(idcard_x_upper_and_lower)
{
	struct idcard c;
	CHECK_INT(idcard_parse("11010519491231002X", TODAY, &c), IDCARD_OK);
	CHECK_STR(c.number, "11010519491231002X");
	CHECK_INT(c.sex, 2);
	CHECK_INT(idcard_parse("11010519491231002x", TODAY, &c), IDCARD_OK);
	CHECK_STR(c.number, "11010519491231002X");
	CHECK_INT(idcard_parse("61092619850315120x", TODAY, &c), IDCARD_OK);
	CHECK_STR(c.number, "61092619850315120X");
	/* X where the check is a digit, and a digit where it is X */
	CHECK_INT(parse("61092619850315123X"), IDCARD_BAD_CHECK);
	CHECK_INT(parse("110105194912310020"), IDCARD_BAD_CHECK);
	/* X anywhere but last */
	CHECK_INT(parse("6109261985031512X4"), IDCARD_BAD_CHAR);
	CHECK_INT(parse("X10105194912310020"), IDCARD_BAD_CHAR);
	CHECK_INT(parse("61092685031512X"), IDCARD_BAD_CHAR);
}

TEST(idcard_spaces_and_full_width)
{
	struct idcard c;
	CHECK_INT(idcard_parse("  610926 19850315 1234\t", TODAY, &c), IDCARD_OK);
	CHECK_STR(c.number, "610926198503151234");
	CHECK_INT(idcard_parse("６１０９２６１９８５０３１５１２３４", TODAY, &c), IDCARD_OK);
	CHECK_STR(c.number, "610926198503151234");
	CHECK_INT(idcard_parse("１１０１０５１９４９１２３１００２Ｘ", TODAY, &c), IDCARD_OK);
	CHECK_STR(c.number, "11010519491231002X");
	CHECK_INT(idcard_parse("11010519491231002ｘ", TODAY, &c), IDCARD_OK);
	CHECK_STR(c.number, "11010519491231002X");
	/* mixed, with an ideographic space */
	CHECK_INT(idcard_parse("６10926\xE3\x80\x80"
			       "1985 0315 123４",
			       TODAY, &c),
		  IDCARD_OK);
	CHECK_STR(c.number, "610926198503151234");
}

TEST(idcard_empty_length_char)
{
	struct idcard c;
	CHECK_INT(idcard_parse("", TODAY, &c), IDCARD_EMPTY);
	CHECK_INT(idcard_parse("  \t ", TODAY, &c), IDCARD_EMPTY);
	CHECK_INT(idcard_parse(NULL, TODAY, &c), IDCARD_EMPTY);
	CHECK_INT(parse("61092619850315123"), IDCARD_BAD_LENGTH);
	CHECK_INT(parse("6109261985031512345"), IDCARD_BAD_LENGTH);
	CHECK_INT(parse("6109261985031512"), IDCARD_BAD_LENGTH);
	CHECK_INT(parse("1234"), IDCARD_BAD_LENGTH);
	CHECK_INT(parse("61092619850315123412345678901234567890123"), IDCARD_BAD_LENGTH);
	CHECK_INT(parse("61092619850315123a"), IDCARD_BAD_CHAR);
	CHECK_INT(parse("610926-19850315-1234"), IDCARD_BAD_CHAR);
	CHECK_INT(parse("６１０９２６\xEF\xBC"), IDCARD_BAD_CHAR); /* cut-off UTF-8 */
	CHECK_INT(parse("身份证610926198503151234"), IDCARD_BAD_CHAR);
}

TEST(idcard_area)
{
	char id[19];
	make_id("10092619850315123", id);
	CHECK_INT(parse(id), IDCARD_BAD_AREA);
	make_id("83092619850315123", id);
	CHECK_INT(parse(id), IDCARD_BAD_AREA);
	make_id("01092619850315123", id);
	CHECK_INT(parse(id), IDCARD_BAD_AREA);
	make_id("11092619850315123", id);
	CHECK_INT(parse(id), IDCARD_OK);
	make_id("82092619850315123", id);
	CHECK_INT(parse(id), IDCARD_OK);
}

TEST(idcard_placeholder)
{
	char id[19];
	make_id("99999919850315123", id);
	CHECK_INT(parse(id), IDCARD_PLACEHOLDER);
	make_id("00000019850315123", id);
	CHECK_INT(parse(id), IDCARD_PLACEHOLDER);
	CHECK_INT(parse("999999999999999999"), IDCARD_PLACEHOLDER);
	CHECK_INT(parse("999999"), IDCARD_PLACEHOLDER);
	CHECK_INT(parse("000000000000000"), IDCARD_PLACEHOLDER);
	make_id("99999819850315123", id);
	CHECK_INT(parse(id), IDCARD_BAD_AREA);
}

TEST(idcard_dates)
{
	char id[19];
	struct idcard c;
	make_id("61092620000229002", id); /* 2000 is a leap year */
	CHECK_INT(idcard_parse(id, TODAY, &c), IDCARD_OK);
	CHECK_INT(c.month, 2);
	CHECK_INT(c.day, 29);
	make_id("61092620240229001", id);
	CHECK_INT(parse(id), IDCARD_OK);
	make_id("61092619000229001", id); /* 1900 is not */
	CHECK_INT(parse(id), IDCARD_BAD_DATE);
	make_id("61092620230229001", id);
	CHECK_INT(parse(id), IDCARD_BAD_DATE);
	make_id("61092619850230001", id);
	CHECK_INT(parse(id), IDCARD_BAD_DATE);
	make_id("61092619850431001", id);
	CHECK_INT(parse(id), IDCARD_BAD_DATE);
	make_id("61092619851301001", id);
	CHECK_INT(parse(id), IDCARD_BAD_DATE);
	make_id("61092619850001001", id);
	CHECK_INT(parse(id), IDCARD_BAD_DATE);
	make_id("61092619850100001", id);
	CHECK_INT(parse(id), IDCARD_BAD_DATE);
	make_id("61092618991231001", id); /* before 1900 */
	CHECK_INT(parse(id), IDCARD_BAD_DATE);
	make_id("61092619000101001", id);
	CHECK_INT(parse(id), IDCARD_OK);
	make_id("61092619851231001", id);
	CHECK_INT(parse(id), IDCARD_OK);
}

TEST(idcard_future)
{
	char id[19];
	make_id("61092620261129001", id); /* born today */
	CHECK_INT(parse(id), IDCARD_OK);
	make_id("61092620261130001", id);
	CHECK_INT(parse(id), IDCARD_FUTURE_DATE);
	make_id("61092620270101001", id);
	CHECK_INT(parse(id), IDCARD_FUTURE_DATE);
	make_id("61092629990101001", id);
	CHECK_INT(idcard_parse(id, 0, NULL), IDCARD_FUTURE_DATE); /* today = clock */
	make_id("61092619850315123", id);
	CHECK_INT(idcard_parse(id, 0, NULL), IDCARD_OK);
}

TEST(idcard_bad_check_every_wrong_char)
{
	const char *chars = "0123456789X";
	char id[19];
	make_id("61092619850315123", id);
	for (int i = 0; chars[i]; i++) {
		id[17] = chars[i];
		CHECK_INT(parse(id), chars[i] == '4' ? IDCARD_OK : IDCARD_BAD_CHECK);
	}
	/* a transposed digit is caught */
	CHECK_INT(parse("610926198503152134"), IDCARD_BAD_CHECK);
}

TEST(idcard_upgrade_15)
{
	struct idcard c;
	CHECK_INT(idcard_parse("610926850315123", TODAY, &c), IDCARD_OK);
	CHECK_STR(c.number, "610926198503151234");
	CHECK_INT(c.upgraded, 1);
	CHECK_INT(c.year, 1985);
	CHECK_INT(c.sex, 1);
	CHECK_INT(idcard_parse("１１０１０５４９１２３１００２", TODAY, &c), IDCARD_OK);
	CHECK_STR(c.number, "11010519491231002X");
	CHECK_INT(c.sex, 2);
	CHECK_INT(c.upgraded, 1);
	CHECK_INT(parse("610926000229002"), IDCARD_BAD_DATE); /* 1900-02-29 */
	CHECK_INT(parse("610926960229002"), IDCARD_OK);
	CHECK_INT(parse("010926850315123"), IDCARD_BAD_AREA);
}

TEST(idcard_out_untouched_on_error)
{
	struct idcard c;
	memset(&c, 0x5a, sizeof(c));
	CHECK_INT(idcard_parse("610926198503151235", TODAY, &c), IDCARD_BAD_CHECK);
	CHECK_INT((unsigned char)c.number[0], 0x5a);
}

TEST(idcard_messages_and_codes)
{
	CHECK_STR(idcard_strerror(IDCARD_BAD_CHECK), "身份证号校验位错误");
	CHECK_STR(idcard_strerror(IDCARD_EMPTY), "身份证号为空");
	CHECK_STR(idcard_strerror(IDCARD_BAD_LENGTH), "身份证号长度应为18位（或15位旧号）");
	CHECK_STR(idcard_strerror(IDCARD_BAD_CHAR), "身份证号含非法字符");
	CHECK_STR(idcard_strerror(IDCARD_BAD_DATE), "身份证号中的出生日期不存在");
	CHECK_STR(idcard_strerror(IDCARD_FUTURE_DATE), "身份证号中的出生日期晚于今天");
	CHECK_STR(idcard_strerror(IDCARD_BAD_AREA), "身份证号地址码无效");
	CHECK_STR(idcard_strerror(IDCARD_PLACEHOLDER), "身份证号为占位号码（如999999开头）");
	CHECK_STR(idcard_errcode(IDCARD_EMPTY), "E_ID_EMPTY");
	CHECK_STR(idcard_errcode(IDCARD_BAD_LENGTH), "E_ID_LENGTH");
	CHECK_STR(idcard_errcode(IDCARD_BAD_CHAR), "E_ID_CHAR");
	CHECK_STR(idcard_errcode(IDCARD_BAD_AREA), "E_ID_AREA");
	CHECK_STR(idcard_errcode(IDCARD_BAD_DATE), "E_ID_DATE");
	CHECK_STR(idcard_errcode(IDCARD_FUTURE_DATE), "E_ID_FUTURE");
	CHECK_STR(idcard_errcode(IDCARD_BAD_CHECK), "E_ID_CHECK");
	CHECK_STR(idcard_errcode(IDCARD_PLACEHOLDER), "E_ID_PLACEHOLDER");
	CHECK(idcard_strerror((enum idcard_status)99) != NULL);
	CHECK(idcard_errcode((enum idcard_status)99) != NULL);
}

TEST(idcard_mask_forms)
{
	char out[19];
	idcard_mask("610926198503151234", out);
	CHECK_STR(out, "610926********1234");
	idcard_mask("11010519491231002X", out);
	CHECK_STR(out, "110105********002X");
	idcard_mask("610926850315123", out);
	CHECK_STR(out, "610926********5123");
	idcard_mask("12345", out);
	CHECK_STR(out, "*****");
	idcard_mask("", out);
	CHECK_STR(out, "");
	idcard_mask(NULL, out);
	CHECK_STR(out, "");
}

TEST(idcard_age_whole_years)
{
	CHECK_INT(idcard_age(1985, 3, 15, 20261129), 41);
	CHECK_INT(idcard_age(1985, 11, 29, 20261129), 41); /* birthday today */
	CHECK_INT(idcard_age(1985, 11, 30, 20261129), 40); /* tomorrow */
	CHECK_INT(idcard_age(1985, 12, 1, 20261129), 40);
	CHECK_INT(idcard_age(2026, 11, 29, 20261129), 0);
	CHECK_INT(idcard_age(2000, 2, 29, 20230228), 22);
	CHECK_INT(idcard_age(2000, 2, 29, 20230301), 23);
	CHECK_INT(idcard_age(2000, 2, 29, 20240229), 24);
	CHECK(idcard_age(1985, 3, 15, 0) >= 40);
	CHECK(idcard_today() >= 20240101 && idcard_today() < 21000101);
}
