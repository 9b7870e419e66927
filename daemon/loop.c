/*
 * loop: owns the event_base, the signal events registered on it, and the
 * deferred-call queue. Signals are delivered by libevent inside the loop, not
 * in signal context, so their handlers may do real work.
 */
#include <sys/queue.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"
#include "loop.h"
#include "xmalloc.h"

struct loop_sig {
	struct event *ls_ev;
	loop_signal_cb ls_cb;
	void *ls_arg;
	int ls_signo;
	TAILQ_ENTRY(loop_sig) ls_entry;
};

static struct event_base *loop_evbase;
static TAILQ_HEAD(, loop_sig) loop_sigs = TAILQ_HEAD_INITIALIZER(loop_sigs);

/* Route libevent's own warnings into our log. */
static void
loop_event_log_cb(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

/* Libevent cannot continue (internal invariant broken): end cleanly. */
static void
loop_event_fatal_cb(int err)
{
	fatalx("libevent fatal error %d", err);
}

/*
 * Create the event base; SIGPIPE is ignored (peers may close on us).
 *
 * With epoll, changes are collected and applied once per loop turn
 * (EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST): libcurl and c-ares change what a
 * socket waits for by a delete and an add, which would otherwise be two
 * epoll_ctl calls where one (or none) does. libevent's caveat, file
 * descriptors cloned with dup(), does not apply: neither library nor the
 * daemon dups one.
 */
void
loop_init(void)
{
	struct event_config *cfg;

	event_set_log_callback(loop_event_log_cb);
	event_set_fatal_callback(loop_event_fatal_cb);
	signal(SIGPIPE, SIG_IGN);
	if ((cfg = event_config_new()) == NULL)
		fatalx("event_config_new failed");
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	loop_evbase = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (loop_evbase == NULL)
		fatalx("event_base_new failed");
}

/* Remove every signal event and free the base. */
void
loop_free(void)
{
	struct loop_sig *ls;

	/*
	 * Run callbacks deferred during shutdown so that what they free is
	 * freed (their records would otherwise leak with the base).
	 */
	if (loop_evbase != NULL)
		event_base_loop(loop_evbase, EVLOOP_NONBLOCK);
	while ((ls = TAILQ_FIRST(&loop_sigs)) != NULL) {
		TAILQ_REMOVE(&loop_sigs, ls, ls_entry);
		event_free(ls->ls_ev);
		free(ls);
	}
	if (loop_evbase != NULL)
		event_base_free(loop_evbase);
	loop_evbase = NULL;
}

/* Return the event base. */
struct event_base *
loop_base(void)
{
	return loop_evbase;
}

/* Run until loop_exit(); return 0, or -1 on a libevent error. */
int
loop_run(void)
{
	return event_base_dispatch(loop_evbase) < 0 ? -1 : 0;
}

/* Make loop_run() return after the current callbacks. */
void
loop_exit(void)
{
	event_base_loopbreak(loop_evbase);
}

struct loop_deferred {
	loop_cb ld_cb;
	void *ld_arg;
};

/* Trampoline for loop_defer(): call the deferred function, free the record. */
static void
loop_deferred_cb(evutil_socket_t fd, short events, void *arg)
{
	struct loop_deferred ld = *(struct loop_deferred *)arg;

	free(arg);
	ld.ld_cb(ld.ld_arg);
}

/* Run cb(arg) once on the next loop turn. */
void
loop_defer(loop_cb cb, void *arg)
{
	struct loop_deferred *ld;
	struct timeval tv = {0, 0};

	ld = xmalloc(sizeof *ld);
	ld->ld_cb = cb;
	ld->ld_arg = arg;
	if (event_base_once(loop_evbase, -1, EV_TIMEOUT, loop_deferred_cb, ld,
	        &tv) != 0)
		fatalx("event_base_once failed");
}

/* Signal event callback: hand the signal to its registered handler. */
static void
loop_signal_event_cb(evutil_socket_t signo, short events, void *arg)
{
	struct loop_sig *ls = arg;

	ls->ls_cb((int)signo, ls->ls_arg);
}

/* Deliver signal signo to cb(signo, arg) from inside the loop. */
void
loop_signal(int signo, loop_signal_cb cb, void *arg)
{
	struct loop_sig *ls;

	ls = xcalloc(1, sizeof *ls);
	ls->ls_cb = cb;
	ls->ls_arg = arg;
	ls->ls_signo = signo;
	ls->ls_ev = evsignal_new(loop_evbase, signo, loop_signal_event_cb, ls);
	if (ls->ls_ev == NULL || evsignal_add(ls->ls_ev, NULL) != 0)
		fatalx("cannot watch signal %d", signo);
	TAILQ_INSERT_TAIL(&loop_sigs, ls, ls_entry);
}

/* (Re)arm a timer event to fire ms milliseconds from now; 0 or -1. */
int
loop_timer_ms(struct event *ev, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	return evtimer_add(ev, &tv);
}

/* Monotonic time in microseconds (immune to wall clock jumps). */
uint64_t
loop_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Monotonic time in milliseconds. */
uint64_t
loop_now_ms(void)
{
	return loop_now_usec() / 1000u;
}
