/* deadline.h - fixed deadlines for slow clients. libmicrohttpd's own timeout
 * is an idle timeout that every byte restarts, so a client dribbling one
 * header byte a second holds its connection for ever (slowloris). Here each
 * connection has one deadline at a time:
 * - from its accept, or the end of its previous answer, to a complete
 *   request head (an idle keep-alive connection is closed by it too);
 * - from the head to the complete body;
 * - none while the request is being answered.
 * A sweeper thread closes a connection whose deadline passed: silently while
 * it waits for a head (an idle keep-alive connection is owed no answer), with
 * a 408 in the error envelope while its body is late. */
#ifndef INNBOCKS_DEADLINE_H
#define INNBOCKS_DEADLINE_H

#include <stdbool.h>

struct deadlines;
struct deadline; /* one connection's */

/* Starts the sweeper. head_ms and body_ms are the two allowances. Returns
 * NULL (with a message on stderr) when the thread cannot start. */
struct deadlines *deadlines_start(int head_ms, int body_ms);
/* Stops the sweeper and frees what is left. Accepts NULL. */
void deadlines_stop(struct deadlines *ds);

/* A connection on socket fd was accepted: its head is due within head_ms. */
struct deadline *deadline_open(struct deadlines *ds, int fd);
/* The connection is closing (before its socket is): forget it. Accepts NULL. */
void deadline_close(struct deadlines *ds, struct deadline *d);

/* The request head is complete: its body is due within body_ms. */
void deadline_body(struct deadlines *ds, struct deadline *d);
/* The request is complete and being answered: no deadline. Returns false
 * when the sweeper has closed the connection already (its deadline passed
 * first: a process stopped and resumed, a late thread): the request must
 * not run, since no answer can reach its client, who could not tell
 * whether it did. Accepts NULL (true). */
bool deadline_none(struct deadline *d);
/* The answer was sent: the next head is due within head_ms. */
void deadline_head(struct deadlines *ds, struct deadline *d);

#endif
