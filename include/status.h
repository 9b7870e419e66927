/*
 * status: the status files. JSON — per target the hard state and since when,
 * counters, and the last run: verdict, timings, the presented certificates,
 * and the steps of whatever failed or warned; plus daemon facts. And the
 * Prometheus textfile (node_exporter's textfile collector) with bounded
 * labels. Both are streamed into an atomic replacement (afile); the
 * scheduler decides when. A write error is logged once per change of
 * condition and never stops the daemon.
 */
#ifndef EWSPROBED_STATUS_H
#define EWSPROBED_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "run.h"
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
	const struct run_result *last; /* or NULL */
};

/* The scheduler's load: runs and DNS lookups, and whether it is behind. */
struct status_sched {
	unsigned int in_flight; /* runs started and not done */
	unsigned int working; /* of those, holding a concurrency slot */
	unsigned int queued; /* runs due and not started */
	unsigned int concurrency;
	unsigned int max_in_flight; /* in effect (file descriptors) */
	int behind; /* a due run has waited a whole interval */
	uint64_t overruns; /* times it fell behind since the start */
	uint64_t lag_ms; /* how long the oldest due run has waited */
	unsigned int dns_in_flight;
	unsigned int dns_queued;
};

/* Everything a status file is rendered from. */
struct status_doc {
	const char *config_path;
	int64_t started; /* wall seconds */
	const struct status_target *targets;
	size_t n;
	const struct status_sched *sched;
};

typedef void (*status_render_fn)(FILE *, const struct status_doc *);

void status_json(FILE *, const struct status_doc *);
void status_prom(FILE *, const struct status_doc *);
void status_write(const char *, status_render_fn, const struct status_doc *,
    char **);

#endif
