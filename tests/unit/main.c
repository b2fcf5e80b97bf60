/* main.c - runs the registered unit tests and ends with one line
 * "N passed, N failed" (N counting test functions); exits 1 if any failed.
 * Before it, one line names the slowest tests that took a second or more
 * (what to look at when the suite gets slow).
 *   build/unit                   every test except KNOWN_BUG ones
 *   build/unit store router      the tests whose name or file contains a word
 *   build/unit --known-bugs      also the KNOWN_BUG tests (they fail) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "unit.h"

#define UNIT_MAX_TESTS 512

struct unit_test {
	const char *name, *file;
	int line; /* where the test is defined, to run a file's tests in order */
	bool known_bug;
	unit_test_fn *fn;
};

static struct unit_test tests[UNIT_MAX_TESTS];
static int ntests;

/* The slowest tests run, slowest first. */
#define UNIT_SLOWEST 3
static struct {
	const struct unit_test *test;
	double seconds;
} slowest[UNIT_SLOWEST];

/* The running test and what its checks found so far. */
static const struct unit_test *current;
static int current_checks, current_failures;
static bool current_skipped;

/* Skipped tests, counted by reason (reasons are string literals). */
#define UNIT_MAX_REASONS 16
static struct {
	const char *reason;
	int n;
} skips[UNIT_MAX_REASONS];
static int nreasons;

void unit_skip(const char *reason)
{
	current_skipped = true;
	for (int i = 0; i < nreasons; i++)
		if (strcmp(skips[i].reason, reason) == 0) {
			skips[i].n++;
			return;
		}
	if (nreasons == UNIT_MAX_REASONS) {
		fprintf(stderr, "unit: more than %d skip reasons\n", UNIT_MAX_REASONS);
		exit(2);
	}
	skips[nreasons].reason = reason;
	skips[nreasons++].n = 1;
}

void unit_register(const char *name, const char *file, int line, bool known_bug,
		   unit_test_fn *fn)
{
	if (ntests == UNIT_MAX_TESTS) {
		fprintf(stderr, "unit: more than %d tests; raise UNIT_MAX_TESTS\n",
			UNIT_MAX_TESTS);
		exit(2);
	}
	tests[ntests++] = (struct unit_test){name, file, line, known_bug, fn};
}

static void report_failure(const char *file, int line, const char *expr)
{
	if (current_failures++ == 0)
		printf("FAIL %s (%s:%d)%s\n", current->name, current->file, current->line,
		       current->known_bug ? " [known bug]" : "");
	if (line)
		printf("  %s:%d: CHECK(%s)\n", file, line, expr);
	else
		printf("  %s: %s\n", file, expr);
}

bool unit_check(bool ok, const char *file, int line, const char *expr)
{
	current_checks++;
	if (!ok)
		report_failure(file, line, expr);
	return ok;
}

bool unit_check_str(const char *actual, const char *expected, const char *file, int line,
		    const char *expr)
{
	bool ok = actual && expected ? strcmp(actual, expected) == 0 : actual == expected;
	if (!unit_check(ok, file, line, expr))
		printf("    got %s%s%s, expected %s%s%s\n", actual ? "\"" : "",
		       actual ? actual : "NULL", actual ? "\"" : "", expected ? "\"" : "",
		       expected ? expected : "NULL", expected ? "\"" : "");
	return ok;
}

bool unit_check_int(long long actual, long long expected, const char *file, int line,
		    const char *expr)
{
	bool ok = actual == expected;
	if (!unit_check(ok, file, line, expr))
		printf("    got %lld, expected %lld\n", actual, expected);
	return ok;
}

static double seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keeps t among the slowest if it took a second or more. */
static void note_duration(const struct unit_test *t, double seconds)
{
	if (seconds < 1.0)
		return;
	int i = UNIT_SLOWEST;
	while (i > 0 && slowest[i - 1].seconds < seconds) {
		if (i < UNIT_SLOWEST)
			slowest[i] = slowest[i - 1];
		i--;
	}
	if (i < UNIT_SLOWEST) {
		slowest[i].test = t;
		slowest[i].seconds = seconds;
	}
}

static void print_slowest(void)
{
	for (int i = 0; i < UNIT_SLOWEST && slowest[i].test; i++)
		printf("%s%s %.1f s", i ? ", " : "slowest: ", slowest[i].test->name,
		       slowest[i].seconds);
	if (slowest[0].test)
		printf("\n");
}

/* Orders tests by file, then by their place in the file. */
static int test_order(const void *pa, const void *pb)
{
	const struct unit_test *a = pa, *b = pb;
	int c = strcmp(a->file, b->file);
	return c ? c : a->line - b->line;
}

int main(int argc, char **argv)
{
	bool known_bugs = false;
	const char *words[64];
	int nwords = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--known-bugs") == 0)
			known_bugs = true;
		else if (nwords < 64)
			words[nwords++] = argv[i];
	}
	/* Unbuffered, so a crash still shows which test was running. */
	setvbuf(stdout, NULL, _IONBF, 0);
	qsort(tests, (size_t)ntests, sizeof(tests[0]), test_order);

	int passed = 0, failed = 0, skipped_bugs = 0;
	for (int i = 0; i < ntests; i++) {
		const struct unit_test *t = &tests[i];
		bool selected = nwords == 0;
		for (int w = 0; w < nwords && !selected; w++)
			selected = strstr(t->name, words[w]) || strstr(t->file, words[w]);
		if (!selected)
			continue;
		if (t->known_bug && !known_bugs) {
			skipped_bugs++;
			continue;
		}
		current = t;
		current_checks = current_failures = 0;
		current_skipped = false;
		double started = seconds_now();
		t->fn();
		note_duration(t, seconds_now() - started);
		if (current_skipped && current_failures == 0)
			continue;
		if (current_checks == 0)
			report_failure(t->file, 0, "the test ran no check");
		if (current_failures)
			failed++;
		else
			passed++;
	}
	if (skipped_bugs)
		printf("(%d known-bug tests not run; see them fail with --known-bugs)\n",
		       skipped_bugs);
	print_slowest();
	for (int i = 0; i < nreasons; i++)
		printf("%d skipped %s\n", skips[i].n, skips[i].reason);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
