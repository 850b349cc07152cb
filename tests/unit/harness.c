/* harness.c — runner for the unit tests registered with TEST().
 * Usage: unit-tests [SUBSTRING]  (runs the tests whose name or file matches). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

struct unit_test {
	const char *name, *file;
	void (*fn)(void);
};

static struct unit_test tests[1024];
static int nr_tests;
static int failures_in_test;
static char tmpdir[64];

void unit_register(const char *name, void (*fn)(void), const char *file)
{
	if (nr_tests < (int)(sizeof(tests) / sizeof(tests[0])))
		tests[nr_tests++] = (struct unit_test){ name, file, fn };
}

int unit_check(int ok, const char *expr, const char *file, int line)
{
	if (!ok) {
		failures_in_test++;
		printf("    %s:%d: check failed: %s\n", file, line, expr);
	}
	return ok;
}

int unit_check_str(const char *got, const char *want, const char *expr, const char *file, int line)
{
	int ok = (!got && !want) || (got && want && !strcmp(got, want));
	if (!ok) {
		failures_in_test++;
		printf("    %s:%d: %s is \"%s\", want \"%s\"\n", file, line, expr, got ? got : "(null)",
		       want ? want : "(null)");
	}
	return ok;
}

int unit_check_int(long long got, long long want, const char *expr, const char *file, int line)
{
	if (got != want) {
		failures_in_test++;
		printf("    %s:%d: %s is %lld, want %lld\n", file, line, expr, got, want);
	}
	return got == want;
}

const char *unit_tmpdir(void)
{
	return tmpdir;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/liubao-unit-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	for (int i = 0; i < nr_tests; i++) {
		if (argc > 1 && !strstr(tests[i].name, argv[1]) && !strstr(tests[i].file, argv[1]))
			continue;
		failures_in_test = 0;
		tests[i].fn();
		if (failures_in_test) {
			printf("FAIL %s (%s)\n", tests[i].name, tests[i].file);
			failed++;
		} else {
			printf("ok   %s\n", tests[i].name);
			passed++;
		}
		fflush(stdout);
	}
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "warning: could not remove %s\n", tmpdir);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
