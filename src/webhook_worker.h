/* webhook_worker.h - the delivery worker inside `innbocks serve`: takes due
 * jobs from the outbox, POSTs the signed events with libcurl's multi
 * interface (one slow receiver never holds up the others), records every
 * attempt and schedules retries (docs/webhooks.md). */
#ifndef INNBOCKS_WEBHOOK_WORKER_H
#define INNBOCKS_WEBHOOK_WORKER_H

#include "config.h"
#include "store/store.h"

struct webhook_worker;

/* Starts the worker thread. Returns it, or NULL with a message on stderr. */
struct webhook_worker *webhook_worker_start(struct store *s, const struct config *cfg);
/* Stops the worker: attempts in flight are abandoned and their leases
 * dropped (they were not attempted and will be again), then the thread is
 * joined and everything freed. Accepts NULL. */
void webhook_worker_stop(struct webhook_worker *w);

#endif
