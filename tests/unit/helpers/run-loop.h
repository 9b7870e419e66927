/*
 * run-loop.h: for the unit tests of modules on the event loop — run the
 * loop until a callback calls loop_exit(), bounded by a watchdog so that a
 * test that waits too long fails instead of hanging. Header-only.
 */
#ifndef EWSPROBED_TEST_RUN_LOOP_H
#define EWSPROBED_TEST_RUN_LOOP_H

#include <event2/event.h>

#include "loop.h"

/* Watchdog: note that it fired and stop the loop. */
static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	*(int *)arg = 1;
	loop_exit();
}

/* Run the loop until a callback stops it or ms pass; 1 on timeout. */
static int
run_loop(long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	struct event *wd;
	int fired = 0;

	wd = evtimer_new(loop_base(), watchdog_cb, &fired);
	evtimer_add(wd, &tv);
	loop_run();
	event_free(wd);
	return fired;
}

#endif
