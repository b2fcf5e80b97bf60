/* unit.h - the unit-test framework: CHECK() records a failed expression
 * with its file and line, TEST() defines a test function and adds it to the
 * registry that main.c runs. A test fails when any of its checks fails, or
 * when it ran no check at all (a test that cannot fail is a defect).
 * unit_skip() skips a test that does not apply to the configuration run
 * (the store tests run once per backend), with a reason that is counted.
 * KNOWN_BUG() defines a test that shows a reported, unfixed bug in src/: it
 * fails today, so it runs only with `build/unit --known-bugs`; drop the
 * mark once the bug is fixed. */
#ifndef INNBOCKS_UNIT_H
#define INNBOCKS_UNIT_H

#include <stdbool.h>

typedef void unit_test_fn(void);

/* Adds a test to the registry; TEST() calls it before main() runs. */
void unit_register(const char *name, const char *file, int line, bool known_bug,
		   unit_test_fn *fn);

/* Records one check of the running test. Returns ok, so a test can stop at
 * a failed precondition: `if (!CHECK(s)) goto out;`. */
bool unit_check(bool ok, const char *file, int line, const char *expr);
/* Like unit_check() for two strings (either may be NULL); on failure both
 * values are printed. Returns true when they are equal. */
bool unit_check_str(const char *actual, const char *expected, const char *file, int line,
		    const char *expr);
/* Like unit_check() for two integers; on failure both values are printed. */
bool unit_check_int(long long actual, long long expected, const char *file, int line,
		    const char *expr);

/* Marks the running test as skipped for a reason ("on postgres: SQLite
 * only"): it counts as neither passed nor failed, and the run ends with one
 * line per reason, "N skipped on postgres: SQLite only", so nothing is left
 * out silently. The test returns right after. */
void unit_skip(const char *reason);

#define CHECK(cond) unit_check((cond), __FILE__, __LINE__, #cond)
#define CHECK_STR(actual, expected) \
	unit_check_str((actual), (expected), __FILE__, __LINE__, #actual " == " #expected)
#define CHECK_INT(actual, expected) \
	unit_check_int((actual), (expected), __FILE__, __LINE__, #actual " == " #expected)

/* Defines the test `name` and registers it:  TEST(router_matches_a_literal_path) { ... }
 * KNOWN_BUG(name) does the same for a test of an unfixed bug. */
#define TEST(name) UNIT_DEFINE(name, false)
#define KNOWN_BUG(name) UNIT_DEFINE(name, true)

#define UNIT_DEFINE(name, known_bug) \
	static void name(void); \
	__attribute__((constructor)) static void name##_register(void) \
	{ \
		unit_register(#name, __FILE__, __LINE__, known_bug, name); \
	} \
	static void name(void)

#endif
