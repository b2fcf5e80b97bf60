/* test_metrics.c - the counters (metrics.h): each thread counts in a set of
 * its own, and a scrape shows the sum of every thread's, those of threads
 * that have exited included. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "unit.h"
#include "util.h"

/* A store with only what metrics_render() asks of it. */
static int stats_none(struct store *s, struct store_stats *out, struct err *e)
{
	(void)s;
	(void)e;
	*out = (struct store_stats){0};
	return 0;
}

static const struct store_ops stats_only = {.stats = stats_none};

/* Returns the value of the series named exactly `series` in what /metrics
 * would answer now, or -1 when it is absent. */
static long long scraped(const char *series)
{
	struct store s = {.ops = &stats_only};
	struct arena *a = arena_new();
	struct err e;
	size_t len;
	long long value = -1;
	const char *text = metrics_render(a, &s, &len, &e);
	size_t n = strlen(series);
	for (const char *line = text; line && *line; line = strchr(line, '\n') + 1) {
		if (strncmp(line, series, n) == 0 && line[n] == ' ')
			sscanf(line + n + 1, "%lld", &value);
		if (!strchr(line, '\n'))
			break;
	}
	arena_free(a);
	return value;
}

/* Counts 100 requests to the first route answered 200 in 700 µs, one of
 * them a replay, and one group-commit batch of 3. */
static void *count_some(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++)
		metrics_request(&routes[0], routes[0].method, 200, 700, i == 0);
	metrics_batch(3);
	return NULL;
}

TEST(metrics_sums_the_counts_of_every_thread_those_that_exited_too)
{
	char requests[256], under_1ms[256], count[256];
	snprintf(requests, sizeof(requests),
		 "innbocks_http_requests_total{route=\"%s\",method=\"%s\",status=\"200\"}",
		 routes[0].path, routes[0].method);
	snprintf(under_1ms, sizeof(under_1ms),
		 "innbocks_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\","
		 "le=\"0.001\"}",
		 routes[0].path, routes[0].method);
	snprintf(count, sizeof(count),
		 "innbocks_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"}",
		 routes[0].path, routes[0].method);
	long long before = scraped(requests);
	long long replays = scraped("innbocks_idempotent_replays_total");
	long long batches = scraped("innbocks_group_commit_batch_size_count");
	if (before < 0)
		before = 0;
	/* Two threads at once, then one more after they have exited (it takes
	 * over the set of counters of one of them), then this thread. */
	pthread_t t[3];
	bool started = CHECK(pthread_create(&t[0], NULL, count_some, NULL) == 0) &&
		       CHECK(pthread_create(&t[1], NULL, count_some, NULL) == 0);
	if (!started)
		return;
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	if (!CHECK(pthread_create(&t[2], NULL, count_some, NULL) == 0))
		return;
	pthread_join(t[2], NULL);
	count_some(NULL);
	CHECK_INT(scraped(requests), before + 400);
	CHECK_INT(scraped(under_1ms), before + 400);
	CHECK_INT(scraped(count), before + 400);
	CHECK_INT(scraped("innbocks_idempotent_replays_total"), replays + 4);
	CHECK_INT(scraped("innbocks_group_commit_batch_size_count"), batches + 4);
}
