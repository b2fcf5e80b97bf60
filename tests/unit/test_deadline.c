/* test_deadline.c - the slow-client deadlines (deadline.h): a connection
 * whose deadline passes is shut down by the sweeper, and a request that
 * completes only after that is told not to run (deadline_none() false),
 * while one that completes in time is (true), and the sweeper leaves it
 * alone. Real sockets (a socketpair); the margins are many sweeps wide. */
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "unit.h"

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ms / 1000, ms % 1000 * 1000000L}, NULL);
}

TEST(a_request_completed_after_its_deadline_closed_the_connection_does_not_run)
{
	struct deadlines *ds = deadlines_start(10, 10);
	int late[2], on_time[2];
	if (!CHECK(ds) || !CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, late), 0))
		goto out;
	if (!CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, on_time), 0))
		goto close_late;
	struct deadline *d_late = deadline_open(ds, late[0]);
	struct deadline *d_on_time = deadline_open(ds, on_time[0]);
	CHECK(deadline_none(d_on_time)); /* its head came in time */
	sleep_ms(1000);                  /* five sweeps past the 10 ms */
	CHECK(!deadline_none(d_late));
	/* The sweeper shut the late one down: its peer reads the end. */
	char c;
	CHECK_INT(read(late[1], &c, 1), 0);
	/* The one being answered was left alone: its next head is due again. */
	deadline_head(ds, d_on_time);
	CHECK(deadline_none(d_on_time));
	CHECK(deadline_none(NULL));
	deadline_close(ds, d_late);
	deadline_close(ds, d_on_time);
	close(on_time[0]);
	close(on_time[1]);
close_late:
	close(late[0]);
	close(late[1]);
out:
	deadlines_stop(ds);
}
