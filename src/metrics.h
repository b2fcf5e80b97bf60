/* metrics.h - the server's counters and their Prometheus text exposition
 * (docs/operators.md), served by GET /metrics.
 *
 * The counters are fixed arrays indexed by route, method and status, one set
 * per thread that counts (summed when scraped): counting a request is a few
 * increments of counters no other thread writes, with no lock, no locked
 * instruction and no allocation. Gauges (queue depth, database size,
 * memory, descriptors) are read when scraped. */
#ifndef INNBOCKS_METRICS_H
#define INNBOCKS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resp.h"
#include "router.h"
#include "store/store.h"

/* Routes the counters have room for; a unit test checks routes.c fits. */
#define METRICS_ROUTES_MAX 128

/* Turns counting on (the default) or off (INNBOCKS_METRICS=0, the
 * benchmark's baseline). Call before any thread counts. */
void metrics_set_enabled(bool on);

/* Counts one answered request: its route (NULL when none matched), the
 * method it came with, its status, how long it took, and whether it was an
 * idempotent replay. A 429 also counts as rate-limited. */
void metrics_request(const struct route *route, const char *method, int status,
		     int64_t duration_us, bool replayed);
/* Counts one group-commit batch of n write requests. */
void metrics_batch(size_t n);
/* Counts one webhook attempt by its result: "success", "http_error",
 * "gone" or a transport error name (timeout, connection_refused, ...). */
void metrics_webhook_attempt(const char *result);

/* Renders every metric in Prometheus' text format 0.0.4 (with counting
 * off, only the gauges and the process's own series), reading the gauges
 * from s (inside the caller's read transaction). Returns the text
 * in the arena a, its length in *len; or NULL with e set. */
char *metrics_render(struct arena *a, struct store *s, size_t *len, struct err *e);

/* The Content-Type of what metrics_render() returns. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
