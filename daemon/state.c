/*
 * state: owns the debouncing rules that turn probe verdicts into hard
 * states and alert events. No I/O, no clock: the caller passes the time.
 */
#include <string.h>

#include "state.h"

/* Start a target: nothing known yet, hard state assumed ok. */
void
state_init(struct state *st)
{
	memset(st, 0, sizeof *st);
	st->hard = STATE_OK;
	st->candidate = STATE_OK;
}

/*
 * Feed one run's verdict; return the event of the hard transition, if any.
 *
 * A run that agrees with the previous one extends the streak; the hard state
 * changes when the streak reaches fail_after (for a worse verdict) or
 * recover_after (for a better one). The very first hard state of a target
 * that starts healthy is established silently: "recovered" would be noise.
 */
enum state_event
state_update(struct state *st, enum state_verdict v, unsigned int fail_after,
    unsigned int recover_after, int64_t now)
{
	enum state_verdict prev = st->hard;
	unsigned int need;

	if (v == STATE_OK) {
		st->successes++;
		st->failures = 0;
	} else {
		st->failures++;
		st->successes = 0;
	}
	if (v == st->candidate)
		st->streak++;
	else {
		st->candidate = v;
		st->streak = 1;
	}
	if (st->established && v == st->hard)
		return STATE_EVENT_NONE;
	need = v > st->hard || !st->established ? fail_after : recover_after;
	if (v == STATE_OK && !st->established)
		need = 1;
	if (st->streak < need)
		return STATE_EVENT_NONE;

	st->hard = v;
	st->since = now;
	if (!st->established) {
		st->established = 1;
		if (v == STATE_OK)
			return STATE_EVENT_NONE;
	} else if (v == prev)
		return STATE_EVENT_NONE;
	switch (v) {
	case STATE_OK:
		return STATE_EVENT_RECOVERED;
	case STATE_CRITICAL:
		return STATE_EVENT_DOWN;
	case STATE_WARNING:
	case STATE_UNKNOWN:
		return STATE_EVENT_DEGRADED;
	}
	return STATE_EVENT_NONE;
}

/*
 * Whether the target is failing but not yet hard failing (or failing and
 * not yet recovered): the scheduler then uses the shorter retry interval.
 */
int
state_soft_failing(const struct state *st)
{
	return st->candidate != st->hard || !st->established;
}

/* The verdict's name as used in the journal, the status file and metrics. */
const char *
state_verdict_name(enum state_verdict v)
{
	switch (v) {
	case STATE_OK:
		return "ok";
	case STATE_WARNING:
		return "warning";
	case STATE_UNKNOWN:
		return "unknown";
	case STATE_CRITICAL:
		return "critical";
	}
	return "unknown";
}

/* The event's name. */
const char *
state_event_name(enum state_event e)
{
	switch (e) {
	case STATE_EVENT_NONE:
		return "none";
	case STATE_EVENT_DOWN:
		return "down";
	case STATE_EVENT_DEGRADED:
		return "degraded";
	case STATE_EVENT_RECOVERED:
		return "recovered";
	}
	return "none";
}

/*
 * The hard state's name, or "pending" before the first one: what a
 * target was before its first alert (never "ok" for one never ok).
 */
const char *
state_hard_name(const struct state *st)
{
	return st->established ? state_verdict_name(st->hard) : "pending";
}
