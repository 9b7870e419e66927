/*
 * task: owns the life cycle every asynchronous operation shares — running,
 * a queued delivery, a cancel that may come before or after the delivery
 * was queued — so that the modules built on it (autodiscover, urlcheck,
 * frontend, run) each state their own steps and never their own variant of
 * "is a finish queued, was it withdrawn". See task.h.
 */
#include "log.h"
#include "loop.h"
#include "task.h"

/* Set up a running task whose end calls deliver(obj) or discard(obj). */
void
task_init(struct task *t, task_cb deliver, task_cb discard, void *obj)
{
	t->state = TASK_RUNNING;
	t->deliver = deliver;
	t->discard = discard;
	t->obj = obj;
}

/*
 * The queued end: deliver unless the owner cancelled meanwhile. Both
 * callbacks free the object, and with it the task: touch nothing after.
 */
static void
task_end_cb(void *arg)
{
	struct task *t = arg;

	if (t->state == TASK_CANCELLED) {
		t->discard(t->obj);
		return;
	}
	t->state = TASK_DONE;
	t->deliver(t->obj);
}

/*
 * The result is ready: queue its delivery for the next loop turn. Only a
 * running task can finish; a second finish is a bug in the module.
 */
void
task_finish(struct task *t)
{
	if (t->state != TASK_RUNNING)
		fatalx("task_finish: task is %s", task_state_name(t->state));
	t->state = TASK_FINISHING;
	loop_defer(task_end_cb, t);
}

/*
 * The owner withdraws: no delivery will follow. A running task is freed
 * now (the owner is not inside one of its callbacks); a queued delivery
 * becomes a discard on its turn; a delivered task is gone already and must
 * not be passed here — the owner drops its pointer in the callback.
 */
void
task_cancel(struct task *t)
{
	switch (t->state) {
	case TASK_RUNNING:
		t->state = TASK_CANCELLED;
		t->discard(t->obj);
		break;
	case TASK_FINISHING:
		t->state = TASK_CANCELLED;
		break;
	case TASK_CANCELLED:
	case TASK_DONE:
		fatalx("task_cancel: task is %s", task_state_name(t->state));
	}
}

/* Whether library callbacks may still arrive (no finish queued yet). */
int
task_running(const struct task *t)
{
	return t->state == TASK_RUNNING;
}

/* The state's name, for diagnostics. */
const char *
task_state_name(enum task_state s)
{
	switch (s) {
	case TASK_RUNNING:
		return "running";
	case TASK_FINISHING:
		return "finishing";
	case TASK_CANCELLED:
		return "cancelled";
	case TASK_DONE:
		return "done";
	}
	return "?";
}
