/*
 * state: the soft/hard state machine of one monitored target (a mailbox
 * under one trust profile), pure and clock-free.
 *
 * Each probe run yields a verdict. The hard state, the one that alerts,
 * moves only after fail_after consecutive runs agree on a worse verdict, or
 * recover_after consecutive runs agree on a better one, so a flapping
 * endpoint does not page anyone. Every hard transition is returned as an
 * event for the caller to journal.
 */
#ifndef EWSPROBED_STATE_H
#define EWSPROBED_STATE_H

#include <stdint.h>

/* Verdicts, in order of severity (ok best); also the hard states. */
enum state_verdict {
	STATE_OK,
	STATE_WARNING,
	STATE_UNKNOWN,
	STATE_CRITICAL,
};

enum state_event {
	STATE_EVENT_NONE,
	STATE_EVENT_DOWN, /* hard critical */
	STATE_EVENT_DEGRADED, /* hard warning or unknown */
	STATE_EVENT_RECOVERED, /* hard ok after anything else */
};

struct state {
	enum state_verdict hard; /* what was last alerted */
	int established; /* 0 until the first hard state */
	enum state_verdict candidate; /* the verdict being counted */
	unsigned int streak; /* consecutive runs of candidate */
	unsigned int failures; /* consecutive non-ok runs */
	unsigned int successes; /* consecutive ok runs */
	int64_t since; /* wall time of the last hard change */
};

void state_init(struct state *);
enum state_event state_update(struct state *, enum state_verdict, unsigned int,
    unsigned int, int64_t);
int state_soft_failing(const struct state *);
const char *state_verdict_name(enum state_verdict);
const char *state_hard_name(const struct state *);
const char *state_event_name(enum state_event);

#endif
