/* test_regions.c — unit tests of registry_region_prefix (the --under CODE
 * of the command line). */
#include <stdio.h>

#include "base/util.h"
#include "harness.h"
#include "registry/registry.h"

TEST(registry_region_prefix_drops_levels)
{
	static const struct {
		const char *in, *want;
		int rc;
	} cases[] = {
		{ "610926000000", "610926", 0 },
		{ "610926102000", "610926102", 0 },
		{ "610926102001", "610926102001", 0 },
		{ "610000000000", "61", 0 },
		{ "000000000000", "", 0 }, /* all of China, unlike auth_scope_prefix */
		{ "0000", "", 0 },
		{ "00", "", 0 },
		{ "", "", 0 },
		{ "6109261", "6109261", 0 }, /* any length up to 12 */
		{ "6109261020011", "", -1 },
		{ "61092a", "", -1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char out[13];
		memset(out, 'x', sizeof(out));
		if (!CHECK_INT(registry_region_prefix(cases[i].in, out), cases[i].rc) ||
		    !CHECK_STR(out, cases[i].want))
			printf("    for \"%s\"\n", cases[i].in);
	}
}
