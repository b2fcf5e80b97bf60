/* webhook_worker.h - the delivery worker inside `innbocks serve`: takes due
 * jobs from the outbox, POSTs the signed events with libcurl's multi
 * interface (one slow receiver never holds up the others), records every
 * attempt and schedules retries (docs/webhooks.md). */
#ifndef INNBOCKS_WEBHOOK_WORKER_H
#define INNBOCKS_WEBHOOK_WORKER_H

#include "checkpointer.h"
#include "config.h"
#include "store/store.h"

struct webhook_worker;

/* Starts the worker thread, which tells checkpointer (may be NULL) after
 * each of its commits. Returns it, or NULL with a message on stderr. */
struct webhook_worker *webhook_worker_start(struct store *s, const struct config *cfg,
					    struct checkpointer *checkpointer);
/* Makes the worker claim due jobs now rather than at its next poll (up to
 * 100 ms away): a write that made delivery jobs calls it once committed.
 * Safe from any thread, cheap, never blocks. Accepts NULL (no worker: the
 * command line). Other instances find the jobs at their next poll. */
void webhook_worker_wake(struct webhook_worker *w);
/* Asks the worker to stop, without waiting: it claims nothing more, and
 * the attempts in flight run to their answer or their timeout and are
 * recorded, so it stops between attempts; one still running grace_ms from
 * now is cut off unrecorded, and made again when its lease runs out.
 * Accepts NULL; only the first call counts. */
void webhook_worker_quit(struct webhook_worker *w, int grace_ms);
/* Waits for the worker to stop (at once, unless webhook_worker_quit()
 * gave it time), then frees everything. Accepts NULL. */
void webhook_worker_stop(struct webhook_worker *w);

#endif
