/*
 * scheduler: the daemon's targets (every mailbox under each of its
 * profiles), when each runs and how many run at once; what follows a run
 * (state, alerts, status files, STATUS=) is postrun's.
 *
 * Each target has one timer on the loop: its first run comes at a stable
 * offset derived from its name (so targets do not fire in lockstep), then
 * every interval (retry_interval while soft failing) plus a little jitter.
 * At most `concurrency` runs work at once and at most `max_in_flight` are
 * in flight (a run waiting on the network gives its working slot away);
 * one target never runs twice at once. When a due run waits longer than
 * its interval, the journal, the textfile and STATUS= say once that the
 * daemon is behind schedule (docs/scale.md). Nothing wakes up while
 * nothing is due.
 */
#ifndef EWSPROBED_SCHEDULER_H
#define EWSPROBED_SCHEDULER_H

#include "config.h"

int scheduler_start(struct config *, char **);
int scheduler_reload(struct config *, char **);
void scheduler_stop(void);
void scheduler_write_status(void);

#endif
