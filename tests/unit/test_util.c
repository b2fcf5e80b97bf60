/* test_util.c - helpers of util.c that stand in for a library's. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "util.h"

TEST(ipv4_text_writes_what_inet_ntop_writes)
{
	const unsigned char edges[][4] = {{0, 0, 0, 0},      {127, 0, 0, 1},
					  {9, 10, 99, 100},  {255, 255, 255, 255},
					  {1, 20, 199, 200}, {100, 101, 110, 250}};
	char want[INET_ADDRSTRLEN], got[16];
	for (size_t i = 0; i < sizeof(edges) / sizeof(*edges); i++) {
		inet_ntop(AF_INET, edges[i], want, sizeof(want));
		ipv4_text(edges[i], got);
		CHECK_STR(got, want);
	}
	/* Every value of each byte, in every position. */
	int mismatches = 0;
	for (unsigned v = 0; v < 256; v++) {
		for (int pos = 0; pos < 4; pos++) {
			unsigned char addr[4] = {1, 2, 3, 4};
			addr[pos] = (unsigned char)v;
			inet_ntop(AF_INET, addr, want, sizeof(want));
			ipv4_text(addr, got);
			mismatches += strcmp(got, want) != 0;
		}
	}
	CHECK_INT(mismatches, 0);
}

TEST(int_text_writes_what_printf_writes)
{
	const int64_t edges[] = {0,
				 1,
				 9,
				 10,
				 -1,
				 -10,
				 99,
				 100,
				 12345,
				 -987654321,
				 INT64_MAX,
				 INT64_MIN,
				 INT64_MAX - 1,
				 INT64_MIN + 1,
				 1000000000,
				 -1000000000};
	char want[32], got[21];
	for (size_t i = 0; i < sizeof(edges) / sizeof(*edges); i++) {
		snprintf(want, sizeof(want), "%" PRId64, edges[i]);
		CHECK_INT((long)int_text(edges[i], got), (long)strlen(want));
		CHECK_STR(got, want);
	}
}

/* Runs log_limited() n times with stderr sent to a file; returns what it wrote. */
static char *logged(struct log_limit *l, int n, char *out, size_t size)
{
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	FILE *f = tmpfile();
	dup2(fileno(f), STDERR_FILENO);
	for (int i = 0; i < n; i++)
		log_limited(l, "fault %d", i);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	size_t got = fread(out, 1, size - 1, f);
	out[got] = '\0';
	fclose(f);
	return out;
}

TEST(log_limited_writes_a_line_a_second_and_then_counts_what_it_left_out)
{
	struct log_limit l = {0};
	char out[512];
	CHECK_STR(logged(&l, 5, out, sizeof(out)), "innbocks: fault 0\n");
	l.next_ms = 0; /* as if the second had passed */
	CHECK_STR(logged(&l, 3, out, sizeof(out)),
		  "innbocks: fault 0 (and 4 more since the last such line)\n");
	l.next_ms = 0;
	CHECK_STR(logged(&l, 1, out, sizeof(out)),
		  "innbocks: fault 0 (and 2 more since the last such line)\n");
}
