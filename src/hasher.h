/* hasher.h - a small pool of threads for slow CPU work on the request path
 * (Argon2id password hashing, tens of milliseconds each), so that it never
 * holds an HTTP worker thread, nor the group-commit writer, while other
 * requests wait. The HTTP layer suspends the connection, the pool runs the
 * route's before hook, then hands the write to the writer. */
#ifndef INNBOCKS_HASHER_H
#define INNBOCKS_HASHER_H

struct hasher;

typedef void hasher_fn(void *cls);

/* Starts nthreads threads. Returns the pool, or NULL with a message on
 * stderr. */
struct hasher *hasher_start(int nthreads);
/* Queues fn(cls) to run on one of the pool's threads. */
void hasher_submit(struct hasher *h, hasher_fn *fn, void *cls);
/* Runs every queued job, stops the threads and frees h. Accepts NULL. */
void hasher_stop(struct hasher *h);

#endif
