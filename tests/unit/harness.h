/* harness.h — a tiny unit-test harness.  TEST(name) { ... } registers a
 * test; CHECK*() record failures with file and line and keep going.  The
 * runner prints one line per test and a closing "N passed, N failed". */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <string.h>
#include <stdint.h>

void unit_register(const char *name, void (*fn)(void), const char *file);
int unit_check(int ok, const char *expr, const char *file, int line);
int unit_check_str(const char *got, const char *want, const char *expr, const char *file, int line);
int unit_check_int(long long got, long long want, const char *expr, const char *file, int line);
/* A scratch directory for the current test run (removed by the runner). */
const char *unit_tmpdir(void);

#define TEST(name)                                                                                 \
	static void name(void);                                                                    \
	__attribute__((constructor)) static void unit_reg_##name(void)                             \
	{                                                                                          \
		unit_register(#name, name, __FILE__);                                              \
	}                                                                                          \
	static void name(void)

#define CHECK(c) unit_check(!!(c), #c, __FILE__, __LINE__)
#define CHECK_STR(got, want) unit_check_str((got), (want), #got, __FILE__, __LINE__)
#define CHECK_INT(got, want) unit_check_int((long long)(got), (long long)(want), #got, __FILE__, __LINE__)

#endif
