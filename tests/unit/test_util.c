/* test_util.c — unit tests of the small helpers in base/util.c. */
#include <stdio.h>

#include "base/util.h"
#include "harness.h"

TEST(util_code_drop_zero_levels)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "610926102001", "610926102001" }, /* village: unchanged */
		{ "610926102200", "610926102200" }, /* trailing zeros within a level */
		{ "610926102000", "610926102" },    /* township */
		{ "610926100000", "610926100" },    /* 城关镇 is not "6109261" */
		{ "610926000000", "610926" },       /* county */
		{ "610900000000", "6109" },         /* city */
		{ "610000000000", "61" },           /* province */
		{ "000000000000", "00" },           /* "00" is the callers' affair */
		{ "610926102", "610926102" },       /* 9 digits */
		{ "610926000", "610926" },
		{ "610900000", "6109" },
		{ "000000000", "00" },
		{ "610926", "610926" },             /* 6 digits */
		{ "610900", "6109" },
		{ "610000", "61" },
		{ "000000", "00" },
		{ "6109", "6109" },                 /* 4 digits */
		{ "6100", "61" },
		{ "0000", "00" },
		{ "61", "61" },                     /* 2 digits */
		{ "00", "00" },
		{ "", "" },
		{ "0", "0" },                       /* other lengths: as they are */
		{ "61000", "61000" },
		{ "6109260", "6109260" },
		{ "61092600", "61092600" },
		{ "6109261000", "6109261000" },
		{ "61092610000", "61092610000" },
		{ "0000000000000", "0000000000000" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char s[16];
		size_t l;
		snprintf(s, sizeof(s), "%s", cases[i].in);
		l = code_drop_zero_levels(s);
		if (!CHECK_STR(s, cases[i].want) || !CHECK_INT(l, strlen(cases[i].want)))
			printf("    for \"%s\"\n", cases[i].in);
	}
}
