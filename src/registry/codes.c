/* codes.c — the national code lists (brief §1.9) as static tables, and the
 * lookups the importer, API and checks use: label → code (run once per field
 * per imported row, so it never allocates), code → label, the labels of a
 * 健康状况 bitmask, and "did you mean" suggestions for misspelt labels. */
#include <string.h>

#include "base/buf.h"
#include "registry/codes.h"

#define CODE_LIST(name_, title_, items_, multi_)                                                   \
	{                                                                                          \
		name_, title_, items_, (int)ARRAY_SIZE(items_), multi_                             \
	}

static const struct code_item sex_items[] = {
    {1, "男", 0},
    {2, "女", 0},
};
const struct code_list code_sex = CODE_LIST("sex", "性别", sex_items, 0);

static const struct code_item relation_items[] = {
    {1, "户主", 0},	   {2, "配偶", 0},	  {3, "之子", 1},      {4, "之女", 2},
    {5, "之儿媳", 2},	   {6, "之女婿", 1},	  {7, "之孙子", 1},    {8, "之孙女", 2},
    {9, "之外孙子", 1},	   {10, "之外孙女", 2},	  {11, "之父", 1},     {12, "之母", 2},
    {13, "之岳父", 1},	   {14, "之岳母", 2},	  {15, "之公公", 1},   {16, "之婆婆", 2},
    {17, "之祖父", 1},	   {18, "之祖母", 2},	  {19, "之外祖父", 1}, {20, "之外祖母", 2},
    {21, "之兄弟姐妹", 0}, {22, "之曾孙子", 1},	  {23, "之曾孙女", 2}, {24, "之侄儿", 1},
    {25, "之侄女", 2},	   {26, "之兄弟媳妇", 2}, {27, "之叔伯", 1},   {28, "其他", 0},
};
const struct code_list code_relation = CODE_LIST("relation", "与户主关系", relation_items, 0);

/* GB 3304-1991 numeric codes; 97 and 98 are the standard's own extra codes. */
static const struct code_item ethnicity_items[] = {
    {1, "汉族", 0},	   {2, "蒙古族", 0},
    {3, "回族", 0},	   {4, "藏族", 0},
    {5, "维吾尔族", 0},	   {6, "苗族", 0},
    {7, "彝族", 0},	   {8, "壮族", 0},
    {9, "布依族", 0},	   {10, "朝鲜族", 0},
    {11, "满族", 0},	   {12, "侗族", 0},
    {13, "瑶族", 0},	   {14, "白族", 0},
    {15, "土家族", 0},	   {16, "哈尼族", 0},
    {17, "哈萨克族", 0},   {18, "傣族", 0},
    {19, "黎族", 0},	   {20, "傈僳族", 0},
    {21, "佤族", 0},	   {22, "畲族", 0},
    {23, "高山族", 0},	   {24, "拉祜族", 0},
    {25, "水族", 0},	   {26, "东乡族", 0},
    {27, "纳西族", 0},	   {28, "景颇族", 0},
    {29, "柯尔克孜族", 0}, {30, "土族", 0},
    {31, "达斡尔族", 0},   {32, "仫佬族", 0},
    {33, "羌族", 0},	   {34, "布朗族", 0},
    {35, "撒拉族", 0},	   {36, "毛南族", 0},
    {37, "仡佬族", 0},	   {38, "锡伯族", 0},
    {39, "阿昌族", 0},	   {40, "普米族", 0},
    {41, "塔吉克族", 0},   {42, "怒族", 0},
    {43, "乌孜别克族", 0}, {44, "俄罗斯族", 0},
    {45, "鄂温克族", 0},   {46, "德昂族", 0},
    {47, "保安族", 0},	   {48, "裕固族", 0},
    {49, "京族", 0},	   {50, "塔塔尔族", 0},
    {51, "独龙族", 0},	   {52, "鄂伦春族", 0},
    {53, "赫哲族", 0},	   {54, "门巴族", 0},
    {55, "珞巴族", 0},	   {56, "基诺族", 0},
    {97, "其他", 0},	   {98, "外国血统中国籍人士", 0},
};
const struct code_list code_ethnicity = CODE_LIST("ethnicity", "民族", ethnicity_items, 0);

static const struct code_item education_items[] = {
    {1, "文盲或半文盲", 0}, {2, "小学", 0}, {3, "初中", 0},
    {4, "高中", 0},	    {5, "大专", 0}, {6, "本科及以上", 0},
};
const struct code_list code_education = CODE_LIST("education", "文化程度", education_items, 0);

static const struct code_item school_status_items[] = {
    {1, "学龄前儿童", 0},
    {2, "学前教育", 0},
    {3, "小学", 0},
    {4, "七年级", 0},
    {5, "八年级", 0},
    {6, "九年级", 0},
    {7, "普通高中一年级", 0},
    {8, "普通高中二年级", 0},
    {9, "普通高中三年级", 0},
    {10, "中职一年级", 0},
    {11, "中职二年级", 0},
    {12, "中职三年级", 0},
    {13, "高职高专一年级", 0},
    {14, "高职高专二年级", 0},
    {15, "高职高专三年级", 0},
    {16, "技师学院一年级", 0},
    {17, "技师学院二年级", 0},
    {18, "技师学院三年级", 0},
    {19, "技师学院四年级", 0},
    {20, "本科一年级", 0},
    {21, "本科二年级", 0},
    {22, "本科三年级", 0},
    {23, "本科四年级", 0},
    {24, "本科五年级", 0},
    {25, "硕士研究生及以上", 0},
};
const struct code_list code_school_status =
    CODE_LIST("school_status", "在校生状况", school_status_items, 0);

/* Codes are bit positions: a member's 健康状况 is a mask of 1 << code. */
static const struct code_item health_items[] = {
    {HEALTH_HEALTHY, "健康", 0},
    {HEALTH_CHRONIC, "长期慢性病", 0},
    {HEALTH_SERIOUS, "患有大病", 0},
    {HEALTH_DISABLED, "残疾", 0},
};
const struct code_list code_health = CODE_LIST("health", "健康状况", health_items, 1);

static const struct code_item disability_items[] = {
    {1, "视力残疾", 0}, {2, "听力残疾", 0}, {3, "言语残疾", 0}, {4, "肢体残疾", 0},
    {5, "智力残疾", 0}, {6, "精神残疾", 0}, {7, "多重残疾", 0},
};
const struct code_list code_disability = CODE_LIST("disability", "残疾类别", disability_items, 0);

static const struct code_item labor_skill_items[] = {
    {1, "普通劳动力", 0}, {2, "技能劳动力", 0}, {3, "弱劳动力或半劳动力", 0},
    {4, "丧失劳动力", 0}, {5, "无劳动力", 0},
};
const struct code_list code_labor_skill =
    CODE_LIST("labor_skill", "劳动技能", labor_skill_items, 0);

static const struct code_item work_status_items[] = {
    {1, "乡镇内务工", 0}, {2, "县内乡镇外务工", 0}, {3, "省内县外务工", 0},
    {4, "省外务工", 0},	  {5, "国外务工", 0},	    {6, "未务工", 0},
};
const struct code_list code_work_status =
    CODE_LIST("work_status", "务工状况", work_status_items, 0);

static const struct code_item hh_type_items[] = {
    {1, "脱贫户", 0},
    {2, "一般农户", 0},
    {3, "低保户", 0},
    {4, "特困供养户", 0},
};
const struct code_list code_hh_type = CODE_LIST("hh_type", "户类型", hh_type_items, 0);

static const struct code_item yesno_items[] = {
    {1, "是", 0},
    {0, "否", 0},
};
const struct code_list code_yesno = CODE_LIST("yesno", "是否", yesno_items, 0);

const struct code_list *const code_lists[] = {
    &code_sex,		 &code_relation, &code_ethnicity,  &code_education,
    &code_school_status, &code_health,	 &code_disability, &code_labor_skill,
    &code_work_status,	 &code_hh_type,	 &code_yesno,	   NULL,
};

const struct code_list *codes_find(const char *name)
{
	if (!name)
		return NULL;
	for (int i = 0; code_lists[i]; i++)
		if (!strcmp(code_lists[i]->name, name))
			return code_lists[i];
	return NULL;
}

static int is_ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Length of the blank (ASCII whitespace or U+3000) at `p`, or 0. */
static size_t blank_at(const char *p, size_t avail)
{
	unsigned char c = (unsigned char)*p;
	if (is_ascii_space(*p))
		return 1;
	if (avail >= 3 && c == 0xE3 && (unsigned char)p[1] == 0x80 && (unsigned char)p[2] == 0x80)
		return 3;
	return 0;
}

/* Narrow [*s, *s + *len) by the blanks at both ends. */
static void trim_span(const char **s, size_t *len)
{
	size_t k;
	while (*len && (k = blank_at(*s, *len)) != 0) {
		*s += k;
		*len -= k;
	}
	while (*len) {
		const char *e = *s + *len;
		if (is_ascii_space(e[-1]))
			(*len)--;
		else if (*len >= 3 && blank_at(e - 3, 3) == 3)
			*len -= 3;
		else
			break;
	}
}

/* The code of the item whose label is exactly the `len` bytes at `s`, or -1. */
static int lookup_span(const struct code_list *l, const char *s, size_t len)
{
	if (!len)
		return -1;
	for (int i = 0; i < l->nr_items; i++) {
		const char *lab = l->items[i].label;
		if (lab[0] == s[0] && !strncmp(lab, s, len) && lab[len] == '\0')
			return l->items[i].code;
	}
	return -1;
}

/* Length of the multi-value separator at `p` (, ， 、 ; ；), or 0. */
static size_t separator_at(const char *p, size_t avail)
{
	const unsigned char *u = (const unsigned char *)p;
	if (*u == ',' || *u == ';')
		return 1;
	if (avail >= 3 && ((u[0] == 0xEF && u[1] == 0xBC && (u[2] == 0x8C || u[2] == 0x9B)) ||
			   (u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x81)))
		return 3;
	return 0;
}

/* Empty parts between separators are skipped; at least one part must be
 * present, and 健康 may not be combined with anything else. */
int codes_lookup(const struct code_list *l, const char *label)
{
	const char *s;
	size_t len;
	int mask = 0, parts = 0;

	if (!l || !label)
		return -1;
	s = label;
	len = strlen(label);
	if (!l->multi) {
		trim_span(&s, &len);
		return lookup_span(l, s, len);
	}
	while (len) {
		const char *part = s;
		size_t plen = 0, k = 0;
		int code;
		while (plen < len && (k = separator_at(s + plen, len - plen)) == 0)
			plen++;
		s += plen;
		len -= plen;
		if (len) { /* stopped at a separator of k bytes */
			s += k;
			len -= k;
		}
		trim_span(&part, &plen);
		if (!plen)
			continue;
		code = lookup_span(l, part, plen);
		if (code < 0 || code >= 31)
			return -1;
		mask |= 1 << code;
		parts++;
	}
	if (!parts)
		return -1;
	if ((mask & (1 << HEALTH_HEALTHY)) && mask != (1 << HEALTH_HEALTHY))
		return -1;
	return mask;
}

const struct code_item *codes_item(const struct code_list *l, int code)
{
	if (!l)
		return NULL;
	for (int i = 0; i < l->nr_items; i++)
		if (l->items[i].code == code)
			return &l->items[i];
	return NULL;
}

const char *codes_label(const struct code_list *l, int code)
{
	const struct code_item *it = codes_item(l, code);
	return it ? it->label : NULL;
}

/* Appends to `out` (does not reset it); bits without an item are ignored. */
void codes_mask_labels(const struct code_list *l, int mask, struct buf *out)
{
	int first = 1;
	if (!l || mask <= 0)
		return;
	for (int i = 0; i < l->nr_items; i++) {
		int code = l->items[i].code;
		if (code < 0 || code >= 31 || !(mask & (1 << code)))
			continue;
		if (!first)
			buf_addch(out, ',');
		buf_addstr(out, l->items[i].label);
		first = 0;
	}
}

/* Longest input (in code points) codes_suggest() considers. */
#define SUGGEST_MAX 64

/* Decode up to `max` code points of the `len` bytes at `s` into `cp`.
 * Malformed bytes count as one code point each.  Returns the number decoded,
 * or -1 if there are more than `max`. */
static int decode_utf8(const char *s, size_t len, unsigned *cp, int max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	int n = 0;
	while (i < len) {
		unsigned c = u[i];
		int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
		if (n == max)
			return -1;
		if (extra && i + (size_t)extra < len) {
			int ok = 1;
			for (int k = 1; k <= extra; k++)
				if ((u[i + k] & 0xC0) != 0x80)
					ok = 0;
			if (ok) {
				c &= 0x3F >> extra;
				for (int k = 1; k <= extra; k++)
					c = (c << 6) | (u[i + k] & 0x3F);
				i += extra;
			}
		}
		cp[n++] = c;
		i++;
	}
	return n;
}

/* Levenshtein distance between code-point strings a[na] and b[nb]. */
static int edit_distance(const unsigned *a, int na, const unsigned *b, int nb)
{
	int row[SUGGEST_MAX + 1];
	for (int j = 0; j <= nb; j++)
		row[j] = j;
	for (int i = 1; i <= na; i++) {
		int diag = row[0];
		row[0] = i;
		for (int j = 1; j <= nb; j++) {
			int up = row[j];
			int best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[nb];
}

/* 1 if code-point string h[nh] contains n[nn] (nn > 0). */
static int contains(const unsigned *h, int nh, const unsigned *n, int nn)
{
	for (int i = 0; i + nn <= nh; i++)
		if (!memcmp(h + i, n, (size_t)nn * sizeof(*n)))
			return 1;
	return 0;
}

/*
 * A label is a candidate when its edit distance (over code points) to the
 * trimmed input is at most max(1, input length / 2) and smaller than the
 * longer of the two (so "Y" is not "close" to "是"), or when one contains the
 * other.  The candidate with the smallest distance wins; ties go to the
 * earlier item.  Inputs longer than SUGGEST_MAX code points get NULL.
 */
const char *codes_suggest(const struct code_list *l, const char *label)
{
	unsigned in[SUGGEST_MAX], lab[SUGGEST_MAX];
	const char *s, *best = NULL;
	size_t len;
	int nin, limit, best_dist = 0;

	if (!l || !label)
		return NULL;
	s = label;
	len = strlen(label);
	trim_span(&s, &len);
	nin = decode_utf8(s, len, in, SUGGEST_MAX);
	if (nin <= 0)
		return NULL;
	limit = nin / 2 > 1 ? nin / 2 : 1;
	for (int i = 0; i < l->nr_items; i++) {
		const char *t = l->items[i].label;
		int nlab = decode_utf8(t, strlen(t), lab, SUGGEST_MAX);
		int d, longer;
		if (nlab <= 0)
			continue;
		d = edit_distance(in, nin, lab, nlab);
		longer = nin > nlab ? nin : nlab;
		if (!((d <= limit && d < longer) || contains(lab, nlab, in, nin) ||
		      contains(in, nin, lab, nlab)))
			continue;
		if (!best || d < best_dist) {
			best = t;
			best_dist = d;
		}
	}
	return best;
}
