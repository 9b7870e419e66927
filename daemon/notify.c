/*
 * notify: owns the conversation with the service manager. systemd sees the
 * truth: READY only once the first configuration is loaded, RELOADING/READY
 * around every reload whatever its outcome, STATUS as a live one-liner, and a
 * watchdog fed from the event loop itself so that a wedged loop stops feeding.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "loop.h"
#include "notify.h"

static struct event *notify_watchdog_ev;

/* Startup is complete: the first configuration is loaded. */
void
notify_ready(void)
{
	sd_notify(0, "READY=1");
}

/*
 * A reload starts. MONOTONIC_USEC lets systemd match the READY=1 that ends
 * it (sd_notify(3)); READY=1 must follow on every path.
 */
void
notify_reloading(void)
{
	char msg[64];

	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)loop_now_usec());
	sd_notify(0, msg);
}

/* Shutdown starts. */
void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

/* Set the one-line STATUS= shown by systemctl status. */
void
notify_status(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", line);
}

/* Watchdog timer: the loop is alive, tell systemd. */
static void
notify_watchdog_cb(evutil_socket_t fd, short events, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

/* Feed the watchdog every half of WATCHDOG_USEC, when systemd asks for it. */
void
notify_watchdog_start(void)
{
	struct timeval tv;
	uint64_t usec;

	if (sd_watchdog_enabled(0, &usec) <= 0 || notify_watchdog_ev != NULL)
		return;
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000u);
	tv.tv_usec = (suseconds_t)(usec % 1000000u);
	notify_watchdog_ev =
	    event_new(loop_base(), -1, EV_PERSIST, notify_watchdog_cb, NULL);
	if (notify_watchdog_ev == NULL || event_add(notify_watchdog_ev, &tv))
		fatalx("cannot start the watchdog timer");
	sd_notify(0, "WATCHDOG=1");
	log_debug("watchdog every %llu us", (unsigned long long)usec);
}

/* Stop feeding the watchdog (shutdown). */
void
notify_watchdog_stop(void)
{
	if (notify_watchdog_ev != NULL)
		event_free(notify_watchdog_ev);
	notify_watchdog_ev = NULL;
}
