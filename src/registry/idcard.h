/* idcard.h — 公民身份号码 (GB 11643-1999): normalisation, validation,
 * derived sex and birth date, 15→18-digit upgrade.
 *
 * Layout: 6-digit area code (GB/T 2260) + 8-digit birth date YYYYMMDD +
 * 3-digit sequence (odd = male, even = female) + check character
 * (ISO 7064 MOD 11-2: S = Σ d_i·w_i, w = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2,
 * check = "10X98765432"[S mod 11]).  A 15-digit number has a 2-digit year
 * (19YY) and no check digit. */
#ifndef REGISTRY_IDCARD_H
#define REGISTRY_IDCARD_H

enum idcard_status {
	IDCARD_OK = 0,
	IDCARD_EMPTY,        /* nothing but spaces */
	IDCARD_BAD_LENGTH,   /* not 15 or 18 characters after normalisation */
	IDCARD_BAD_CHAR,     /* a non-digit (an X only allowed last in 18 digits) */
	IDCARD_BAD_AREA,     /* area code not plausible: province part not 11..82 */
	IDCARD_BAD_DATE,     /* birth date not a real calendar date (or before 1900) */
	IDCARD_FUTURE_DATE,  /* birth date after today */
	IDCARD_BAD_CHECK,    /* check character does not match */
	IDCARD_PLACEHOLDER,  /* a known placeholder such as 999999... */
};

struct idcard {
	char number[19]; /* normalised 18-character number, upper-case X */
	char area[7];    /* first six digits */
	int year, month, day;
	int sex;         /* 1 = 男 (odd 17th digit), 2 = 女 (even) */
	int upgraded;    /* 1 if the input had 15 digits */
};

/* Normalise and validate `in`: spaces and tabs anywhere are dropped, full-width
 * digits (０-９) and Ｘ/ｘ are folded to ASCII, 'x' becomes 'X', and a 15-digit
 * number is upgraded to 18 digits.  `today` is YYYYMMDD as an int (e.g.
 * 20261129), or 0 for the current date.  Fills `out` when IDCARD_OK. */
enum idcard_status idcard_parse(const char *in, int today, struct idcard *out);
/* The check character for the first 17 digits of `s`. */
char idcard_check_char(const char *s17);
/* A Chinese message for a status, e.g. "校验位错误". */
const char *idcard_strerror(enum idcard_status st);
/* A stable error code for a status, e.g. "E_ID_CHECK_DIGIT". */
const char *idcard_errcode(enum idcard_status st);
/* Write a masked form "610926********1234" (first 6, last 4) into out[19]. */
void idcard_mask(const char *number, char out[19]);
/* Age in whole years on date `today` (YYYYMMDD) for a birth date. */
int idcard_age(int year, int month, int day, int today);
/* Write the birth date as YYYY-MM-DD into out[11]. */
void idcard_birth_text(const struct idcard *id, char out[11]);
/* Today's date (local time) as YYYYMMDD. */
int idcard_today(void);

#endif
