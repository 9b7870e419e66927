/*
 * Unit tests of task: a finished task delivers exactly once and only on a
 * later loop turn; a cancel while running discards at once; a cancel
 * after the finish was queued turns the delivery into a discard; two
 * tasks finished in one turn are delivered in the order they finished.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "loop.h"
#include "task.h"
#include "xmalloc.h"

/* An operation as the modules embed a task: a heap object owning it. */
struct op {
	struct task task;
	int id;
};

static int delivered, discarded;
static int order[4], norder;

/* Deliver callback: count, remember the order, free like a module does. */
static void
op_deliver(void *arg)
{
	struct op *o = arg;

	delivered++;
	if (norder < 4)
		order[norder++] = o->id;
	free(o);
}

/* Discard callback: count and free. */
static void
op_discard(void *arg)
{
	discarded++;
	free(arg);
}

/* A new running operation. */
static struct op *
op_new(int id)
{
	struct op *o = xcalloc(1, sizeof *o);

	o->id = id;
	task_init(&o->task, op_deliver, op_discard, o);
	return o;
}

/* Fresh loop and counters for each test. */
static int
setup(void **unused)
{
	loop_init();
	delivered = discarded = norder = 0;
	return 0;
}

/* Free the loop. */
static int
teardown(void **unused)
{
	loop_free();
	return 0;
}

/* Finish queues the delivery: nothing happens until the loop turns. */
static void
test_finish_delivers_later(void **unused)
{
	struct op *o = op_new(1);

	assert_true(task_running(&o->task));
	task_finish(&o->task);
	assert_false(task_running(&o->task));
	assert_int_equal(o->task.state, TASK_FINISHING);
	assert_int_equal(delivered, 0);
	assert_int_equal(loop_run(), 0);
	assert_int_equal(delivered, 1);
	assert_int_equal(discarded, 0);
}

/* Cancel while running frees at once and never delivers. */
static void
test_cancel_running(void **unused)
{
	struct op *o = op_new(1);

	task_cancel(&o->task);
	assert_int_equal(discarded, 1);
	assert_int_equal(loop_run(), 0);
	assert_int_equal(delivered, 0);
	assert_int_equal(discarded, 1);
}

/* Cancel after the finish was queued: the queued turn discards. */
static void
test_cancel_finishing(void **unused)
{
	struct op *o = op_new(1);

	task_finish(&o->task);
	task_cancel(&o->task);
	assert_int_equal(o->task.state, TASK_CANCELLED);
	assert_int_equal(discarded, 0);
	assert_int_equal(loop_run(), 0);
	assert_int_equal(delivered, 0);
	assert_int_equal(discarded, 1);
}

/* Several tasks: each delivered once, in the order they finished. */
static void
test_order(void **unused)
{
	struct op *a = op_new(1), *b = op_new(2), *c = op_new(3);

	task_finish(&b->task);
	task_finish(&a->task);
	task_cancel(&c->task);
	assert_int_equal(loop_run(), 0);
	assert_int_equal(delivered, 2);
	assert_int_equal(discarded, 1);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 1);
}

/* Every state has a name. */
static void
test_names(void **unused)
{
	assert_string_equal(task_state_name(TASK_RUNNING), "running");
	assert_string_equal(task_state_name(TASK_FINISHING), "finishing");
	assert_string_equal(task_state_name(TASK_CANCELLED), "cancelled");
	assert_string_equal(task_state_name(TASK_DONE), "done");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_finish_delivers_later, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_running, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_finishing, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_order, setup, teardown),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
