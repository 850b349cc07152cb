/* fuzz_idcard.c — libFuzzer target for 身份证号 parsing (idcard_parse and the
 * helpers that use its result), which every import row, member form and
 * department feed goes through.
 *
 * Checks, for any input: every status has a message and a code; a refused
 * number leaves `out` untouched; an accepted one is 18 characters, digits
 * with a correct check character, a plausible area, a real birth date not
 * after "today", the sex of its 17th digit — and parsing its normalised
 * form again gives the same result.  The mask always keeps 6 + 4
 * characters around 8 stars, and the age is never negative. */
#include <stdlib.h>
#include <string.h>

#include "registry/idcard.h"
#include "harness.h"

#define TODAY 20260615

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	struct idcard id, again;
	enum idcard_status st;
	char mask[19], birth[11];

	memset(&id, 0x5a, sizeof(id));
	st = idcard_parse(s, TODAY, &id);
	if (!idcard_strerror(st)[0] || (st != IDCARD_OK && !idcard_errcode(st)[0]))
		fuzz_fail("status %d has no message or code", st);
	if (st != IDCARD_OK) {
		memset(&again, 0x5a, sizeof(again));
		if (memcmp(&id, &again, sizeof(id)))
			fuzz_fail("a refused number (status %d) changed the output", st);
		goto out;
	}
	if (strlen(id.number) != 18)
		fuzz_fail("accepted \"%s\" is not 18 characters", id.number);
	for (int i = 0; i < 17; i++)
		if (id.number[i] < '0' || id.number[i] > '9')
			fuzz_fail("accepted \"%s\" has a non-digit", id.number);
	if (idcard_check_char(id.number) != id.number[17])
		fuzz_fail("accepted \"%s\" has a wrong check character", id.number);
	if (strncmp(id.area, id.number, 6) || strlen(id.area) != 6)
		fuzz_fail("area \"%s\" of \"%s\"", id.area, id.number);
	if (id.year < 1900 || id.month < 1 || id.month > 12 || id.day < 1 || id.day > 31 ||
	    id.year * 10000 + id.month * 100 + id.day > TODAY)
		fuzz_fail("birth date %d-%d-%d of \"%s\"", id.year, id.month, id.day, id.number);
	if (id.sex != ((id.number[16] - '0') % 2 ? 1 : 2))
		fuzz_fail("sex %d of \"%s\"", id.sex, id.number);
	if (idcard_age(id.year, id.month, id.day, TODAY) < 0)
		fuzz_fail("negative age for \"%s\"", id.number);
	idcard_birth_text(&id, birth);
	if (strlen(birth) != 10)
		fuzz_fail("birth text \"%s\"", birth);
	if (idcard_parse(id.number, TODAY, &again) != IDCARD_OK || again.upgraded ||
	    strcmp(again.number, id.number) || again.year != id.year || again.month != id.month ||
	    again.day != id.day || again.sex != id.sex)
		fuzz_fail("\"%s\" does not parse to itself", id.number);
	idcard_mask(id.number, mask);
	if (strlen(mask) != 18 || strncmp(mask, id.number, 6) || strcmp(mask + 14, id.number + 14) ||
	    strspn(mask + 6, "*") != 8)
		fuzz_fail("mask \"%s\" of \"%s\"", mask, id.number);
out:
	idcard_mask(s, mask); /* any text: never more than 18 characters */
	if (strlen(mask) > 18)
		fuzz_fail("mask of %zu bytes", strlen(mask));
	free(s);
	return 0;
}
