/* writer.h - group commit. One thread owns the write transaction: it takes
 * every write request waiting, runs each in its own savepoint (a failing
 * request undoes only itself), commits them all with one fsync, and only
 * then lets their answers go. Durable writes then cost one fsync per batch
 * rather than per request. A batch takes the tenants its requests write to
 * first, in the order of their ids, and runs each tenant's requests
 * together; a batch that loses a conflict with another process's (on a
 * shared database) is rolled back and run again whole. */
#ifndef INNBOCKS_WRITER_H
#define INNBOCKS_WRITER_H

#include "dispatch.h"

struct writer;
struct checkpointer;

/* Called on the writer thread once the call's answer is final (committed,
 * or replaced by an error). */
typedef void writer_done_fn(void *cls);

/* Starts the writer thread on s; after each batch it keeps the write-ahead
 * log bounded through k (checkpointer_wal_bound()). Returns it, or NULL
 * with a message on stderr. */
struct writer *writer_start(struct store *s, struct checkpointer *k);
/* Queues a write started by dispatch_start(); done(cls) runs when its
 * answer is final. The writer does not free c: the caller's done path
 * calls dispatch_end(). */
void writer_submit(struct writer *w, struct ctx *c, writer_done_fn *done, void *cls);
/* Finishes every queued call, stops the thread and frees w. Accepts NULL. */
void writer_stop(struct writer *w);

#endif
