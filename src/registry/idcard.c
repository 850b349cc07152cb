/* idcard.c — 公民身份号码 (GB 11643-1999) normalisation and validation:
 * folds full-width characters, drops blanks, upgrades 15-digit numbers,
 * checks the area code, birth date and MOD 11-2 check character, and derives
 * sex and birth date.  Pure functions apart from idcard_today(). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "registry/idcard.h"

/* Longest normalised input we bother to collect; anything longer is a
 * length error anyway. */
#define IDCARD_SCRATCH 40

static const int idcard_weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};

char idcard_check_char(const char *s17)
{
	int sum = 0;
	for (int i = 0; i < 17; i++) {
		if (s17[i] < '0' || s17[i] > '9')
			return '?'; /* not 17 digits: no check character exists */
		sum += (s17[i] - '0') * idcard_weights[i];
	}
	return "10X98765432"[sum % 11];
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && is_leap(y))
		return 29;
	return days[m - 1];
}

static int digits_value(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int idcard_today(void)
{
	time_t t = time(NULL);
	struct tm tm;
	if (!localtime_r(&t, &tm))
		return 0;
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/*
 * Copy `in` into `out` (room for IDCARD_SCRATCH bytes plus NUL) dropping
 * ASCII spaces and tabs and the ideographic space U+3000, folding full-width
 * digits U+FF10..U+FF19 and Ｘ/ｘ (U+FF38, U+FF58) to ASCII and 'x' to 'X'.
 * Returns the normalised length (which may exceed IDCARD_SCRATCH, in which
 * case only the first IDCARD_SCRATCH bytes are stored), or -1 when a byte
 * sequence that is none of these appears.
 */
static int normalise(const char *in, char *out)
{
	const unsigned char *p = (const unsigned char *)in;
	int n = 0;
	while (*p) {
		int c;
		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) { /* U+3000 */
			p += 3;
			continue;
		}
		if (*p >= '0' && *p <= '9') {
			c = *p++;
		} else if (*p == 'x' || *p == 'X') {
			c = 'X';
			p++;
		} else if (p[0] == 0xEF && p[1] == 0xBC && p[2] >= 0x90 && p[2] <= 0x99) {
			c = '0' + (p[2] - 0x90); /* ０-９ */
			p += 3;
		} else if ((p[0] == 0xEF && p[1] == 0xBC && p[2] == 0xB8) ||
			   (p[0] == 0xEF && p[1] == 0xBD && p[2] == 0x98)) {
			c = 'X'; /* Ｘ ｘ */
			p += 3;
		} else {
			return -1;
		}
		if (n < IDCARD_SCRATCH)
			out[n] = (char)c;
		n++;
	}
	out[n < IDCARD_SCRATCH ? n : IDCARD_SCRATCH] = '\0';
	return n;
}

enum idcard_status idcard_parse(const char *in, int today, struct idcard *out)
{
	char s[IDCARD_SCRATCH + 1];
	char num[19];
	int n, year, month, day, province, birth;

	if (!in)
		return IDCARD_EMPTY;
	n = normalise(in, s);
	if (n < 0)
		return IDCARD_BAD_CHAR;
	if (n == 0)
		return IDCARD_EMPTY;
	/* "无身份证号" is recorded as six 9s (or 0s) followed by anything. */
	if (n >= 6 && (!memcmp(s, "999999", 6) || !memcmp(s, "000000", 6)))
		return IDCARD_PLACEHOLDER;
	if (n != 15 && n != 18)
		return IDCARD_BAD_LENGTH;
	for (int i = 0; i < n; i++)
		if (s[i] == 'X' && !(n == 18 && i == 17))
			return IDCARD_BAD_CHAR;

	if (n == 15) {
		memcpy(num, s, 6);
		memcpy(num + 6, "19", 2);
		memcpy(num + 8, s + 6, 9);
		num[17] = idcard_check_char(num);
	} else {
		memcpy(num, s, 18);
	}
	num[18] = '\0';

	province = digits_value(num, 2);
	if (province < 11 || province > 82)
		return IDCARD_BAD_AREA;

	year = digits_value(num + 6, 4);
	month = digits_value(num + 10, 2);
	day = digits_value(num + 12, 2);
	if (year < 1900 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
		return IDCARD_BAD_DATE;
	if (!today)
		today = idcard_today();
	birth = year * 10000 + month * 100 + day;
	if (birth > today)
		return IDCARD_FUTURE_DATE;

	if (n == 18 && idcard_check_char(num) != num[17])
		return IDCARD_BAD_CHECK;

	if (out) {
		memset(out, 0, sizeof(*out));
		memcpy(out->number, num, 19);
		memcpy(out->area, num, 6);
		out->area[6] = '\0';
		out->year = year;
		out->month = month;
		out->day = day;
		out->sex = (num[16] - '0') % 2 ? 1 : 2;
		out->upgraded = n == 15;
	}
	return IDCARD_OK;
}

const char *idcard_strerror(enum idcard_status st)
{
	switch (st) {
	case IDCARD_OK:
		return "身份证号有效";
	case IDCARD_EMPTY:
		return "身份证号为空";
	case IDCARD_BAD_LENGTH:
		return "身份证号长度应为18位（或15位旧号）";
	case IDCARD_BAD_CHAR:
		return "身份证号含非法字符";
	case IDCARD_BAD_AREA:
		return "身份证号地址码无效";
	case IDCARD_BAD_DATE:
		return "身份证号中的出生日期不存在";
	case IDCARD_FUTURE_DATE:
		return "身份证号中的出生日期晚于今天";
	case IDCARD_BAD_CHECK:
		return "身份证号校验位错误";
	case IDCARD_PLACEHOLDER:
		return "身份证号为占位号码（如999999开头）";
	}
	return "身份证号无效";
}

const char *idcard_errcode(enum idcard_status st)
{
	switch (st) {
	case IDCARD_OK:
		return "";
	case IDCARD_EMPTY:
		return "E_ID_EMPTY";
	case IDCARD_BAD_LENGTH:
		return "E_ID_LENGTH";
	case IDCARD_BAD_CHAR:
		return "E_ID_CHAR";
	case IDCARD_BAD_AREA:
		return "E_ID_AREA";
	case IDCARD_BAD_DATE:
		return "E_ID_DATE";
	case IDCARD_FUTURE_DATE:
		return "E_ID_FUTURE";
	case IDCARD_BAD_CHECK:
		return "E_ID_CHECK";
	case IDCARD_PLACEHOLDER:
		return "E_ID_PLACEHOLDER";
	}
	return "E_ID_INVALID";
}

/* Numbers of 10 characters or more keep their first 6 and last 4 around
 * eight stars (so the result is always 18 characters); shorter strings are
 * replaced by as many stars as they have characters. */
void idcard_mask(const char *number, char out[19])
{
	size_t n = number ? strnlen(number, 64) : 0;
	if (n >= 10) {
		memcpy(out, number, 6);
		memset(out + 6, '*', 8);
		memcpy(out + 14, number + n - 4, 4);
		out[18] = '\0';
		return;
	}
	memset(out, '*', n);
	out[n] = '\0';
}

/* Whole years completed on `today` (0 = idcard_today()); a 29 February
 * birthday counts as reached on 1 March in common years.  Negative when the
 * birth date lies after `today`. */
int idcard_age(int year, int month, int day, int today)
{
	int ty, tmd, age;
	if (!today)
		today = idcard_today();
	ty = today / 10000;
	tmd = today % 10000;
	age = ty - year;
	if (tmd < month * 100 + day)
		age--;
	return age;
}

void idcard_birth_text(const struct idcard *id, char out[11])
{
	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)id->year % 10000u, (unsigned)id->month % 100u,
		 (unsigned)id->day % 100u);
}
