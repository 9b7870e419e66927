/*
 * Unit tests of state: debouncing of verdicts into hard states and events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "state.h"

#define FAIL_AFTER 3
#define RECOVER_AFTER 2

/* Feed one verdict with the test's thresholds. */
static enum state_event
feed(struct state *st, enum state_verdict v)
{
	static int64_t now = 1000;

	return state_update(st, v, FAIL_AFTER, RECOVER_AFTER, now++);
}

/* A healthy start is silent; fail_after failures give one "down". */
static void
test_down_after_fail_after(void **unused)
{
	struct state st;

	state_init(&st);
	assert_int_equal(feed(&st, STATE_OK), STATE_EVENT_NONE);
	assert_int_equal(feed(&st, STATE_CRITICAL), STATE_EVENT_NONE);
	assert_true(state_soft_failing(&st));
	assert_int_equal(feed(&st, STATE_CRITICAL), STATE_EVENT_NONE);
	assert_int_equal(feed(&st, STATE_CRITICAL), STATE_EVENT_DOWN);
	assert_int_equal(st.hard, STATE_CRITICAL);
	assert_false(state_soft_failing(&st));
	/* Staying down says nothing more. */
	assert_int_equal(feed(&st, STATE_CRITICAL), STATE_EVENT_NONE);
	assert_int_equal(st.failures, 4);
}

/* recover_after successes give one "recovered"; one is not enough. */
static void
test_recovered_after_recover_after(void **unused)
{
	struct state st;
	int i;

	state_init(&st);
	for (i = 0; i < FAIL_AFTER; i++)
		feed(&st, STATE_CRITICAL);
	assert_int_equal(st.hard, STATE_CRITICAL);
	assert_int_equal(feed(&st, STATE_OK), STATE_EVENT_NONE);
	assert_true(state_soft_failing(&st));
	assert_int_equal(feed(&st, STATE_OK), STATE_EVENT_RECOVERED);
	assert_int_equal(st.hard, STATE_OK);
}

/* An endpoint failing one run in three never alerts with fail_after 3. */
static void
test_flapping_is_silent(void **unused)
{
	struct state st;
	int i;

	state_init(&st);
	for (i = 0; i < 30; i++)
		assert_int_equal(feed(&st,
		                     i % 3 == 0 ? STATE_CRITICAL : STATE_OK),
		    STATE_EVENT_NONE);
	assert_int_equal(st.hard, STATE_OK);
}

/* A target broken from the start alerts once fail_after runs agree. */
static void
test_broken_from_start(void **unused)
{
	struct state st;

	state_init(&st);
	assert_int_equal(feed(&st, STATE_CRITICAL), STATE_EVENT_NONE);
	assert_int_equal(feed(&st, STATE_CRITICAL), STATE_EVENT_NONE);
	/* Before the first alert it was never ok (issue 14). */
	assert_string_equal(state_hard_name(&st), "pending");
	assert_int_equal(feed(&st, STATE_CRITICAL), STATE_EVENT_DOWN);
	assert_string_equal(state_hard_name(&st), "critical");
}

/* Warnings degrade; mixed verdicts restart the streak. */
static void
test_degraded_and_mixed(void **unused)
{
	struct state st;

	state_init(&st);
	feed(&st, STATE_OK);
	assert_int_equal(feed(&st, STATE_WARNING), STATE_EVENT_NONE);
	assert_int_equal(feed(&st, STATE_CRITICAL), STATE_EVENT_NONE);
	assert_int_equal(feed(&st, STATE_WARNING), STATE_EVENT_NONE);
	assert_int_equal(feed(&st, STATE_WARNING), STATE_EVENT_NONE);
	assert_int_equal(feed(&st, STATE_WARNING), STATE_EVENT_DEGRADED);
	assert_int_equal(st.hard, STATE_WARNING);
	assert_int_equal(feed(&st, STATE_CRITICAL), STATE_EVENT_NONE);
	assert_int_equal(feed(&st, STATE_CRITICAL), STATE_EVENT_NONE);
	assert_int_equal(feed(&st, STATE_CRITICAL), STATE_EVENT_DOWN);
	/* From critical, a better verdict needs only recover_after. */
	assert_int_equal(feed(&st, STATE_WARNING), STATE_EVENT_NONE);
	assert_int_equal(feed(&st, STATE_WARNING), STATE_EVENT_DEGRADED);
}

/*
 * since is the time of the last hard change, not of the last run; a target
 * that is down and flaps (ok every other run) stays down, silently; with
 * thresholds of 1 every change is at once an event.
 */
static void
test_since_and_flapping_down(void **unused)
{
	struct state st;
	int i;

	state_init(&st);
	assert_int_equal(state_update(&st, STATE_OK, 3, 2, 100),
	    STATE_EVENT_NONE);
	assert_int_equal(st.since, 100);
	state_update(&st, STATE_CRITICAL, 3, 2, 200);
	state_update(&st, STATE_CRITICAL, 3, 2, 300);
	assert_int_equal(st.since, 100);
	assert_int_equal(state_update(&st, STATE_CRITICAL, 3, 2, 400),
	    STATE_EVENT_DOWN);
	assert_int_equal(st.since, 400);
	for (i = 0; i < 20; i++)
		assert_int_equal(state_update(&st,
		                     i % 2 == 0 ? STATE_OK : STATE_CRITICAL, 3,
		                     2, 500 + i),
		    STATE_EVENT_NONE);
	assert_int_equal(st.hard, STATE_CRITICAL);
	assert_int_equal(st.since, 400);

	state_init(&st);
	assert_int_equal(state_update(&st, STATE_WARNING, 1, 1, 10),
	    STATE_EVENT_DEGRADED);
	assert_int_equal(state_update(&st, STATE_OK, 1, 1, 11),
	    STATE_EVENT_RECOVERED);
	assert_int_equal(state_update(&st, STATE_CRITICAL, 1, 1, 12),
	    STATE_EVENT_DOWN);
	assert_int_equal(st.since, 12);
}

/* Names are the stable strings used in fields and labels. */
static void
test_names(void **unused)
{
	assert_string_equal(state_verdict_name(STATE_CRITICAL), "critical");
	assert_string_equal(state_verdict_name(STATE_OK), "ok");
	assert_string_equal(state_event_name(STATE_EVENT_DOWN), "down");
	assert_string_equal(state_event_name(STATE_EVENT_RECOVERED),
	    "recovered");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_down_after_fail_after),
	    cmocka_unit_test(test_recovered_after_recover_after),
	    cmocka_unit_test(test_flapping_is_silent),
	    cmocka_unit_test(test_broken_from_start),
	    cmocka_unit_test(test_degraded_and_mixed),
	    cmocka_unit_test(test_since_and_flapping_down),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
