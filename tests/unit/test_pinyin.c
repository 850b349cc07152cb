/* test_pinyin.c — unit tests for registry/pinyin.c: initials of common
 * names, surnames read as surnames, mixed scripts and bad bytes. */
#include "harness.h"
#include "registry/pinyin.h"

static void expect(const char *name, const char *want)
{
	char out[64];
	registry_name_initials(name, out, sizeof(out));
	CHECK_STR(out, want);
}

TEST(pinyin_common_names)
{
	expect("张三丰", "zsf");
	expect("王红英", "why");
	expect("欧阳修", "oyx");
	expect("李静静", "ljj");
	expect("彭宇轩", "pyx");
}

TEST(pinyin_surnames_read_as_surnames)
{
	expect("曾小明", "zxm"); /* not céng */
	expect("单田芳", "stf"); /* not dān */
	expect("解放", "xf");    /* not jiě */
	expect("仇英", "qy");    /* not chóu */
	expect("长城", "cc");    /* only the first character is a surname */
}

TEST(pinyin_mixed_and_bad_input)
{
	char small[3];
	expect("阿依古丽·买买提", "ayglmmt");
	expect("Tom 李", "toml");
	expect("", "");
	expect("\xe5\xbc", "");          /* truncated UTF-8 */
	expect("\xff张", "z");
	expect("𠀀张", "z");              /* outside the table: skipped */
	registry_name_initials("张三丰", small, sizeof(small));
	CHECK_STR(small, "zs");
	CHECK_INT(registry_pinyin_initial(0x5f20, 0), 'z'); /* 张 */
	CHECK_INT(registry_pinyin_initial('A', 0), 0);
}
