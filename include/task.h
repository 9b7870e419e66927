/*
 * task: the one way an asynchronous operation of the daemon ends — a
 * discovery walk, one URL's check, a Front End learning, a mailbox's run.
 *
 * The task's state is authoritative: RUNNING while library callbacks may
 * still arrive; FINISHING once the result is ready and its delivery is
 * queued on the loop; CANCELLED when the owner withdrew while the delivery
 * was queued; DONE once delivered. Delivery is always deferred to its own
 * loop turn, so an owner's callback never runs inside a curl, c-ares or
 * libevent callback that may still touch the object (docs/style.md).
 *
 * Embed a struct task in the object, task_init() it in the constructor,
 * call task_finish() where the old code called back, and task_cancel()
 * from the module's cancel function.
 */
#ifndef EWSPROBED_TASK_H
#define EWSPROBED_TASK_H

enum task_state {
	TASK_RUNNING,
	TASK_FINISHING,
	TASK_CANCELLED,
	TASK_DONE,
};

typedef void (*task_cb)(void *);

struct task {
	enum task_state state;
	task_cb deliver; /* hand the result to the owner, then free */
	task_cb discard; /* free without a delivery */
	void *obj;
};

void task_init(struct task *, task_cb, task_cb, void *);
void task_finish(struct task *);
void task_cancel(struct task *);
int task_running(const struct task *);
const char *task_state_name(enum task_state);

#endif
