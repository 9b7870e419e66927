/*
 * status: the status files. JSON — per target the hard state and since when,
 * counters, and the last run with every step, its timings and the presented
 * certificates; plus daemon facts. And the Prometheus textfile
 * (node_exporter's textfile collector) with bounded labels. Both written
 * atomically (afile) after every
 * run and on shutdown. A write error is logged once per change of
 * condition and never stops the daemon.
 */
#ifndef EWSPROBED_STATUS_H
#define EWSPROBED_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "probe.h"
#include "state.h"

/* What status needs to know of one target. */
struct status_target {
	const char *name; /* "mailbox/profile" */
	const char *mailbox;
	const char *address;
	const char *profile;
	const struct state *state;
	uint64_t runs;
	int64_t last_success; /* wall seconds, 0 = never */
	const struct probe_result *last; /* or NULL */
};

char *status_json(const char *, int64_t, const struct status_target *, size_t);
char *status_prom(const struct status_target *, size_t);
void status_write(const char *, const char *, char **);

#endif
