/*
 * notify: every message to the service manager (sd_notify): READY,
 * RELOADING, STOPPING, STATUS and the watchdog.
 *
 * All calls are no-ops when NOTIFY_SOCKET is not set (not under systemd).
 */
#ifndef EWSPROBED_NOTIFY_H
#define EWSPROBED_NOTIFY_H

void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *, ...) __attribute__((format(printf, 1, 2)));
void notify_watchdog_start(void);
void notify_watchdog_stop(void);

#endif
