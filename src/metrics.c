/* metrics.c - counters kept per thread, rendered for Prometheus.
 *
 * Every thread that counts has its own set of counters (a shard), so the
 * hot path only indexes and increments a counter no other thread writes:
 * no lock, no read-modify-write instruction, no cache line passed between
 * cores. Each counter is written with relaxed atomic loads and stores by its
 * one owner; a scrape sums every shard without stopping the writers: a
 * histogram's _count may lag its buckets by the requests that finished
 * meanwhile, which Prometheus tolerates. A thread that exits leaves its
 * shard to the next new thread, counts and all, so totals never go down.
 * Series that never happened are left out, and with counting off
 * (metrics_set_enabled) every counter and histogram is. */
#include "metrics.h"

#include <dirent.h>
#include <pthread.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "banned.h"

typedef atomic_uint_fast64_t counter;

static const char *const methods[] = {"GET", "POST", "PATCH",   "DELETE",
				      "PUT", "HEAD", "OPTIONS", "other"};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

/* Every status the server answers; anything else counts as "other". */
static const int statuses[] = {200, 201, 204, 400, 401, 403, 404, 405,
			       409, 413, 415, 422, 429, 500, 503, 0};
#define NSTATUSES (sizeof(statuses) / sizeof(statuses[0]))

/* Upper bounds of the latency buckets, in microseconds (+Inf follows). */
static const int64_t latency_us[] = {500,     1000,    2500,    5000,    10000,
				     25000,   50000,   100000,  250000,  500000,
				     1000000, 2500000, 5000000, 10000000};
#define NLATENCY (sizeof(latency_us) / sizeof(latency_us[0]))

/* Upper bounds of the group-commit batch buckets (the writer's cap is 256). */
static const size_t batch_sizes[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
#define NBATCH (sizeof(batch_sizes) / sizeof(batch_sizes[0]))

static const char *const webhook_results[] = {
	"success",           "http_error",         "gone",
	"timeout",           "connection_refused", "dns_failure",
	"forbidden_address", "tls_error",          "unsupported_protocol",
	"network_error",
};
#define NWEBHOOK (sizeof(webhook_results) / sizeof(webhook_results[0]))

/* Route slot METRICS_ROUTES_MAX holds the requests no route matched. */
#define UNMATCHED METRICS_ROUTES_MAX

/* One thread's counters. */
struct shard {
	counter requests[METRICS_ROUTES_MAX + 1][NMETHODS][NSTATUSES];
	counter latency[METRICS_ROUTES_MAX + 1][NMETHODS][NLATENCY + 1];
	counter latency_sum_us[METRICS_ROUTES_MAX + 1][NMETHODS];
	counter rate_limited, replays;
	counter batches[NBATCH + 1];
	counter batch_sum, batch_count;
	counter webhook[NWEBHOOK];
	struct shard *next;
	bool owned; /* by a running thread; under shards_lock */
};

/* Every shard ever made (never freed: the totals are in them). */
static pthread_mutex_t shards_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shard *_Atomic shards;
static _Thread_local struct shard *own_shard;
static pthread_key_t shard_key;
static pthread_once_t shard_once = PTHREAD_ONCE_INIT;

/* Runs when a thread that counted exits: its shard waits for a new thread. */
static void shard_release(void *p)
{
	struct shard *sh = p;
	pthread_mutex_lock(&shards_lock);
	sh->owned = false;
	pthread_mutex_unlock(&shards_lock);
}

static void shard_key_create(void)
{
	if (pthread_key_create(&shard_key, shard_release) != 0)
		die("pthread_key_create failed");
}

/* Returns the calling thread's shard: one an exited thread left, or a new one. */
static struct shard *shard_adopt(void)
{
	pthread_once(&shard_once, shard_key_create);
	pthread_mutex_lock(&shards_lock);
	struct shard *sh = atomic_load(&shards);
	while (sh && sh->owned)
		sh = sh->next;
	if (!sh) {
		sh = calloc(1, sizeof(*sh));
		if (!sh)
			die("out of memory");
		sh->next = atomic_load(&shards);
		atomic_store(&shards, sh); /* published whole: a scrape may walk it */
	}
	sh->owned = true;
	pthread_mutex_unlock(&shards_lock);
	pthread_setspecific(shard_key, sh);
	own_shard = sh;
	return sh;
}

/* Returns the calling thread's shard. */
static inline struct shard *shard_own(void)
{
	return own_shard ? own_shard : shard_adopt();
}

/* Set once at start, before the threads that count exist. */
static bool enabled = true;

void metrics_set_enabled(bool on)
{
	enabled = on;
}

/* Adds to a counter of the caller's own shard: only its thread writes it,
 * so a load and a store do (no locked instruction). */
static inline void bump(counter *c, uint64_t by)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
			      memory_order_relaxed);
}

/* Returns the sum over every shard of the counter offset bytes into it. */
static uint64_t peek_at(size_t offset)
{
	uint64_t sum = 0;
	for (struct shard *sh = atomic_load(&shards); sh; sh = sh->next)
		sum += atomic_load_explicit((counter *)((char *)sh + offset),
					    memory_order_relaxed);
	return sum;
}

/* The sum over every shard of the counter `member` (an lvalue naming a
 * counter of struct shard, such as requests[r][me][st]). */
#define peek(member) peek_at(offsetof(struct shard, member))

static size_t method_slot(const char *method)
{
	for (size_t i = 0; i + 1 < NMETHODS; i++)
		if (method && strcmp(method, methods[i]) == 0)
			return i;
	return NMETHODS - 1;
}

static size_t status_slot(int status)
{
	for (size_t i = 0; i + 1 < NSTATUSES; i++)
		if (statuses[i] == status)
			return i;
	return NSTATUSES - 1;
}

void metrics_request(const struct route *route, const char *method, int status,
		     int64_t duration_us, bool replayed)
{
	if (!enabled)
		return;
	size_t r = route ? (size_t)(route - routes) : UNMATCHED;
	if (r >= METRICS_ROUTES_MAX)
		r = UNMATCHED;
	size_t me = method_slot(method);
	struct shard *m = shard_own();
	bump(&m->requests[r][me][status_slot(status)], 1);
	size_t b = 0;
	while (b < NLATENCY && duration_us > latency_us[b])
		b++;
	bump(&m->latency[r][me][b], 1);
	bump(&m->latency_sum_us[r][me], duration_us > 0 ? (uint64_t)duration_us : 0);
	if (status == 429)
		bump(&m->rate_limited, 1);
	if (replayed)
		bump(&m->replays, 1);
}

void metrics_batch(size_t n)
{
	if (!enabled)
		return;
	size_t b = 0;
	while (b < NBATCH && n > batch_sizes[b])
		b++;
	struct shard *m = shard_own();
	bump(&m->batches[b], 1);
	bump(&m->batch_sum, n);
	bump(&m->batch_count, 1);
}

void metrics_webhook_attempt(const char *result)
{
	if (!enabled)
		return;
	size_t i = 0;
	while (i + 1 < NWEBHOOK && strcmp(result, webhook_results[i]) != 0)
		i++;
	bump(&shard_own()->webhook[i], 1); /* the last, network_error, counts names it lacks */
}

/* The text being rendered: a malloc'ed buffer that grows. */
struct text {
	char *buf;
	size_t len, cap;
};

static void out(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out(struct text *t, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			die("bad metrics format");
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = t->cap * 2 + (size_t)n;
		char *nb = realloc(t->buf, t->cap);
		if (!nb)
			die("out of memory");
		t->buf = nb;
	}
}

static void header(struct text *t, const char *name, const char *type, const char *help)
{
	out(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *route_label(size_t r)
{
	return r == UNMATCHED ? "unmatched" : routes[r].path;
}

static void render_requests(struct text *t)
{
	size_t nroutes = routes_count < METRICS_ROUTES_MAX ? routes_count : METRICS_ROUTES_MAX;
	header(t, "innbocks_http_requests_total", "counter",
	       "Requests answered, by route template, method and status.");
	for (size_t r = 0; r <= UNMATCHED; r++) {
		if (r == nroutes)
			r = UNMATCHED;
		for (size_t me = 0; me < NMETHODS; me++)
			for (size_t st = 0; st < NSTATUSES; st++) {
				uint64_t v = peek(requests[r][me][st]);
				if (!v)
					continue;
				char status[8] = "other";
				if (statuses[st])
					snprintf(status, sizeof(status), "%d", statuses[st]);
				out(t,
				    "innbocks_http_requests_total{route=\"%s\",method=\"%s\","
				    "status=\"%s\"} %llu\n",
				    route_label(r), methods[me], status, (unsigned long long)v);
			}
	}
	header(t, "innbocks_http_request_duration_seconds", "histogram",
	       "Time from a request's arrival until its answer went out, by route.");
	for (size_t r = 0; r <= UNMATCHED; r++) {
		if (r == nroutes)
			r = UNMATCHED;
		for (size_t me = 0; me < NMETHODS; me++) {
			uint64_t counts[NLATENCY + 1], total = 0;
			for (size_t b = 0; b <= NLATENCY; b++)
				total += counts[b] = peek(latency[r][me][b]);
			if (!total)
				continue;
			const char *label = route_label(r);
			uint64_t cumulative = 0;
			for (size_t b = 0; b <= NLATENCY; b++) {
				cumulative += counts[b];
				char le[24] = "+Inf";
				if (b < NLATENCY)
					snprintf(le, sizeof(le), "%g",
						 (double)latency_us[b] / 1e6);
				out(t,
				    "innbocks_http_request_duration_seconds_bucket{route=\"%s\","
				    "method=\"%s\",le=\"%s\"} %llu\n",
				    label, methods[me], le, (unsigned long long)cumulative);
			}
			out(t,
			    "innbocks_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"}"
			    " %.6f\n",
			    label, methods[me], (double)peek(latency_sum_us[r][me]) / 1e6);
			out(t,
			    "innbocks_http_request_duration_seconds_count{route=\"%s\","
			    "method=\"%s\"} %llu\n",
			    label, methods[me], (unsigned long long)total);
		}
	}
	header(t, "innbocks_rate_limited_requests_total", "counter",
	       "Requests refused with 429: by the per-key rate limit, and by the "
	       "dashboard's sign-in limits.");
	out(t, "innbocks_rate_limited_requests_total %llu\n",
	    (unsigned long long)peek(rate_limited));
	header(t, "innbocks_idempotent_replays_total", "counter",
	       "Requests answered with the stored answer of their Idempotency-Key.");
	out(t, "innbocks_idempotent_replays_total %llu\n", (unsigned long long)peek(replays));
}

static void render_writes(struct text *t)
{
	header(t, "innbocks_group_commit_batch_size", "histogram",
	       "Write requests committed together in one group-commit transaction.");
	uint64_t cumulative = 0;
	for (size_t b = 0; b <= NBATCH; b++) {
		cumulative += peek(batches[b]);
		if (b < NBATCH)
			out(t, "innbocks_group_commit_batch_size_bucket{le=\"%zu\"} %llu\n",
			    batch_sizes[b], (unsigned long long)cumulative);
		else
			out(t, "innbocks_group_commit_batch_size_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)cumulative);
	}
	out(t, "innbocks_group_commit_batch_size_sum %llu\n",
	    (unsigned long long)peek(batch_sum));
	out(t, "innbocks_group_commit_batch_size_count %llu\n",
	    (unsigned long long)peek(batch_count));
	header(t, "innbocks_webhook_attempts_total", "counter",
	       "Webhook delivery attempts, by result (success, http_error, gone or the "
	       "transport error).");
	for (size_t i = 0; i < NWEBHOOK; i++)
		out(t, "innbocks_webhook_attempts_total{result=\"%s\"} %llu\n",
		    webhook_results[i], (unsigned long long)peek(webhook[i]));
}

/* Returns the number of open descriptors (those under /proc/self/fd, less
 * the one reading it), or -1. */
static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	long n = 0;
	const struct dirent *de;
	/* readdir() on a DIR of our own is thread-safe; readdir_r is deprecated. */
	/* cppcheck-suppress readdirCalled */
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

/* Returns the resident set size in bytes (from /proc/self/statm), or -1. */
static long long resident_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	long long size = 0, resident = -1;
	if (fscanf(f, "%lld %lld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static void render_process(struct text *t)
{
	long long rss = resident_bytes();
	if (rss >= 0) {
		header(t, "process_resident_memory_bytes", "gauge",
		       "Resident memory size in bytes.");
		out(t, "process_resident_memory_bytes %lld\n", rss);
	}
	long fds = open_fds();
	if (fds >= 0) {
		header(t, "process_open_fds", "gauge", "Number of open file descriptors.");
		out(t, "process_open_fds %ld\n", fds);
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		header(t, "process_max_fds", "gauge",
		       "Maximum number of open file descriptors.");
		out(t, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
	}
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
			     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
		header(t, "process_cpu_seconds_total", "counter",
		       "Total user and system CPU time spent in seconds.");
		out(t, "process_cpu_seconds_total %.3f\n", cpu);
	}
}

char *metrics_render(struct arena *a, struct store *s, size_t *len, struct err *e)
{
	struct store_stats st;
	if (s->ops->stats(s, &st, e) < 0)
		return NULL;
	struct text t = {.cap = 64 * 1024};
	t.buf = malloc(t.cap);
	if (!t.buf)
		die("out of memory");
	/* Off, nothing counts: counters left at 0 would read as "no errors"
	 * where there is no data, so only the gauges are said. */
	if (enabled) {
		render_requests(&t);
		render_writes(&t);
	}
	header(&t, "innbocks_webhook_queue_depth", "gauge",
	       "Webhook deliveries waiting: due now or scheduled for a retry.");
	out(&t, "innbocks_webhook_queue_depth %lld\n", (long long)st.webhook_pending);
	int64_t now = now_seconds();
	int64_t age = st.webhook_oldest_due && st.webhook_oldest_due < now
			      ? now - st.webhook_oldest_due
			      : 0;
	header(&t, "innbocks_webhook_oldest_due_age_seconds", "gauge",
	       "How long the oldest due webhook delivery has been due (0: none is).");
	out(&t, "innbocks_webhook_oldest_due_age_seconds %lld\n", (long long)age);
	header(&t, "innbocks_database_size_bytes", "gauge",
	       "Size of the database file, without its write-ahead log.");
	out(&t, "innbocks_database_size_bytes %lld\n", (long long)st.database_bytes);
	/* Left out where there is none: a constant 0 would read as healthy
	 * in an alert on it. */
	if (st.wal_bytes >= 0) {
		header(&t, "innbocks_database_wal_size_bytes", "gauge",
		       "Size of the database's write-ahead log file.");
		out(&t, "innbocks_database_wal_size_bytes %lld\n", (long long)st.wal_bytes);
	}
	render_process(&t);
	char *text = arena_strndup(a, t.buf, t.len);
	*len = t.len;
	free(t.buf);
	return text;
}
