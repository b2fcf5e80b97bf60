/* checkpointer.h - the thread that copies the write-ahead log back into the
 * database (the store's checkpoint op, which never blocks writers), so that
 * neither commits nor the main thread pay for it. It runs every 500 ms, and
 * at once when woken: the writer wakes it when the log nears its limit
 * (wal_bound returned 1), so that by the time the log restarts, with the
 * write lock held, most of its frames are already copied and the writes
 * waiting meanwhile wait for little. */
#ifndef INNBOCKS_CHECKPOINTER_H
#define INNBOCKS_CHECKPOINTER_H

struct store;
struct checkpointer;

/* Starts the thread on s. Returns it, or NULL with a message on stderr. */
struct checkpointer *checkpointer_start(struct store *s);
/* Keeps the write-ahead log bounded (the store's wal_bound op, which may
 * restart it), and wakes the thread when the log asks for a checkpoint.
 * Cheap unless the log is near its limit: callable after every commit, by
 * the writer, the delivery worker and the main thread. Never inside a
 * transaction. Accepts NULL. */
void checkpointer_wal_bound(struct checkpointer *k);
/* Stops the thread (a running checkpoint finishes first) and frees k.
 * Accepts NULL. */
void checkpointer_stop(struct checkpointer *k);

#endif
