/* check.c — data-quality checks on households and members that need no
 * database (brief §2.3): household structure (one 户主, at most one 配偶,
 * 户主 and 配偶 of different sex, relation–sex agreement) and a member's own
 * fields (姓名, 与户主关系, 联系电话); plus the record initialisers. */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "registry/codes.h"
/* registry.h declares registry_routes[], whose element type must be complete */
#include "http/http.h"
#include "registry/registry.h"

/* Longest 姓名 accepted, in characters (code points). */
#define NAME_MAX_CHARS 30

void member_rec_init(struct member_rec *m)
{
	memset(m, 0, sizeof(*m));
	m->relation = -1;
	m->sex = -1;
	m->ethnicity = -1;
	m->education = -1;
	m->school_status = -1;
	m->health = -1;
	m->disability = -1;
	m->labor_skill = -1;
	m->work_status = -1;
	m->ins_resident_med = -1;
	m->ins_employee_med = -1;
	m->ins_critical = -1;
	m->ins_pension = -1;
	m->dibao = -1;
	m->tekun = -1;
}

void household_rec_init(struct household_rec *h)
{
	memset(h, 0, sizeof(*h));
	h->hh_type = -1;
	h->relocated = 0;
}

/* Cut `s` (of size `size`, NUL-terminated) back so that it does not end in
 * the middle of a UTF-8 sequence, after a truncating snprintf. */
static void utf8_fix_tail(char *s, size_t size)
{
	size_t n = strnlen(s, size);
	size_t i = n, lead;
	unsigned char c;
	int want;
	if (!n)
		return;
	while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && n - i < 3)
		i--;
	if (i == 0)
		return;
	lead = i - 1;
	c = (unsigned char)s[lead];
	want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
	if (want > 1 && n - lead < (size_t)want)
		s[lead] = '\0';
}

/* Record one problem in out[*nr] if there is room (*nr < max); always counts
 * it in *nr.  The message is truncated (on a character boundary) to fit. */
static void add_problem(struct reg_problem *out, int max, int *nr, int member, const char *field,
			const char *code, const char *fmt, ...) ATTR_PRINTF(7, 8);
static void add_problem(struct reg_problem *out, int max, int *nr, int member, const char *field,
			const char *code, const char *fmt, ...)
{
	if (out && *nr < max) {
		struct reg_problem *p = &out[*nr];
		va_list ap;
		p->member = member;
		p->field = field;
		snprintf(p->code, sizeof(p->code), "%s", code);
		va_start(ap, fmt);
		if (vsnprintf(p->message, sizeof(p->message), fmt, ap) >= (int)sizeof(p->message))
			utf8_fix_tail(p->message, sizeof(p->message));
		va_end(ap);
	}
	(*nr)++;
}

static const char *sex_word(int sex)
{
	return sex == SEX_MALE ? "男性" : "女性";
}

int registry_check_structure(const struct member_rec *m, int n, struct reg_problem *out, int max)
{
	int nr = 0, heads = 0, spouses = 0, head = -1, spouse = -1;
	const char *field = "与户主关系";

	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++) {
		if (m[i].relation == REL_HEAD) {
			heads++;
			if (head < 0)
				head = i;
		} else if (m[i].relation == REL_SPOUSE) {
			spouses++;
			if (spouse < 0)
				spouse = i;
		}
	}

	if (!heads)
		add_problem(out, max, &nr, -1, field, "E_NO_HEAD", "该户没有户主，请指定一名户主");
	for (int i = head + 1; heads > 1 && i < n; i++)
		if (m[i].relation == REL_HEAD)
			add_problem(
			    out, max, &nr, i, field, "E_MULTI_HEAD",
			    "该户有 %d 名户主，只能有一名；请把其他成员的与户主关系改为实际关系",
			    heads);
	for (int i = spouse + 1; spouses > 1 && i < n; i++)
		if (m[i].relation == REL_SPOUSE)
			add_problem(out, max, &nr, i, field, "E_MULTI_SPOUSE",
				    "该户有 %d 名配偶，最多只能有一名；请核对与户主关系", spouses);

	if (head >= 0 && (m[head].sex == SEX_MALE || m[head].sex == SEX_FEMALE)) {
		for (int i = 0; i < n; i++)
			if (m[i].relation == REL_SPOUSE && m[i].sex == m[head].sex)
				add_problem(out, max, &nr, i, field, "E_SPOUSE_SEX",
					    "户主与配偶性别相同（依据身份证号第17位），"
					    "请核对身份证号或与户主关系");
	}

	for (int i = 0; i < n; i++) {
		const struct code_item *it = codes_item(&code_relation, m[i].relation);
		if (!it || !it->sex || (m[i].sex != SEX_MALE && m[i].sex != SEX_FEMALE))
			continue;
		if (it->sex != m[i].sex)
			add_problem(
			    out, max, &nr, i, field, "E_RELATION_SEX",
			    "与户主关系为“%s”，但身份证号显示为%s，请核对身份证号或与户主关系",
			    it->label, sex_word(m[i].sex));
	}
	return nr;
}

/* Number of code points in the UTF-8 string `s`, or -1 if it is not valid
 * UTF-8 (overlong forms, surrogates and code points past U+10FFFF are
 * invalid).  *control is set when a C0 or C1 control character or DEL
 * appears. */
static int utf8_chars(const char *s, int *control)
{
	const unsigned char *u = (const unsigned char *)s;
	int n = 0;
	*control = 0;
	while (*u) {
		unsigned c = *u, min;
		int extra;
		if (c < 0x80) {
			extra = 0;
			min = 0;
		} else if (c >= 0xC2 && c <= 0xDF) {
			extra = 1;
			min = 0x80;
			c &= 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			extra = 2;
			min = 0x800;
			c &= 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			extra = 3;
			min = 0x10000;
			c &= 0x07;
		} else {
			return -1;
		}
		for (int k = 1; k <= extra; k++) {
			if ((u[k] & 0xC0) != 0x80)
				return -1;
			c = (c << 6) | (u[k] & 0x3F);
		}
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return -1;
		if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
			*control = 1;
		u += extra + 1;
		n++;
	}
	return n;
}

static int all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * A mobile number: ^1[3-9]\d{9}$.  A landline: an area code, an optional
 * '-', then a subscriber number not starting with 0 or 1.  Area codes are
 * 010 and 02x (three digits, 8-digit subscriber numbers) or 03xx..09xx (four
 * digits, 7 or 8), so the split is never ambiguous without the dash.
 */
static int phone_ok(const char *p)
{
	size_t n = strlen(p), area, sub;
	const char *rest;
	if (n == 11 && p[0] == '1' && p[1] >= '3' && p[1] <= '9' && all_digits(p, n))
		return 1;
	if (p[0] != '0' || p[1] < '1' || p[1] > '9')
		return 0;
	if (p[1] == '1' && p[2] != '0')
		return 0;
	area = p[1] <= '2' ? 3 : 4;
	if (n < area || !all_digits(p, area))
		return 0;
	rest = p + area;
	if (*rest == '-')
		rest++;
	sub = n - (size_t)(rest - p);
	if (sub != 8 && !(sub == 7 && area == 4))
		return 0;
	return all_digits(rest, sub) && rest[0] >= '2';
}

/* Problems are reported against member 0: a caller checking one row of a
 * larger array sets .member itself.  The name is checked in code points. */
int registry_check_member(const struct member_rec *m, struct reg_problem *out, int max)
{
	int nr = 0, control, chars;
	const char *p;

	for (p = m->name; *p == ' ' || *p == '\t'; p++)
		;
	chars = utf8_chars(m->name, &control);
	if (!*p)
		add_problem(out, max, &nr, 0, "姓名", "E_NAME", "姓名为空，请填写家庭成员姓名");
	else if (chars < 0)
		add_problem(out, max, &nr, 0, "姓名", "E_NAME",
			    "姓名不是有效的UTF-8文字，请重新录入姓名");
	else if (control)
		add_problem(out, max, &nr, 0, "姓名", "E_NAME",
			    "姓名含有控制字符（如换行、制表符），请删除后重新录入");
	else if (chars > NAME_MAX_CHARS)
		add_problem(out, max, &nr, 0, "姓名", "E_NAME",
			    "姓名有 %d 个字，超过 %d 个字的上限，请核对姓名", chars,
			    NAME_MAX_CHARS);

	if (m->relation < 0)
		add_problem(out, max, &nr, 0, "与户主关系", "E_RELATION_MISSING",
			    "未填写与户主关系，请从代码表中选择（如户主、配偶、之子）");
	else if (!codes_item(&code_relation, m->relation))
		add_problem(out, max, &nr, 0, "与户主关系", "E_RELATION_UNKNOWN",
			    "与户主关系代码 %d 不在国家代码表中，请从代码表中选择", m->relation);

	if (m->phone[0] && !phone_ok(m->phone))
		add_problem(out, max, &nr, 0, "联系电话", "E_PHONE",
			    "联系电话格式不正确：应为11位手机号或带区号的固定电话"
			    "（如 13912345678、0915-8421234），请更正");
	return nr;
}
