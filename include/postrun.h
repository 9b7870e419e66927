/*
 * postrun: what follows one run of a target in the daemon — its soft/hard
 * state and counters, the journal alerts (hard state changes, a changed
 * Front End issuer or EWS URL, certificates entering an expiry window,
 * each window once per certificate, the set of a name's addresses where
 * phones fail, once per set), keeping the last result, and when
 * the status files and the STATUS= line are written.
 *
 * The scheduler owns the targets and decides when they run; each of its
 * targets holds a struct postrun_target, the part of the target that
 * outlives runs. Status writes are coalesced: every run that ends within
 * a gap shares one write (postrun_status_soon), the gap growing with what
 * the last write cost.
 */
#ifndef EWSPROBED_POSTRUN_H
#define EWSPROBED_POSTRUN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "run.h"
#include "state.h"
#include "status.h"

/* What the daemon remembers of one target (mailbox under one profile). */
struct postrun_target {
	char *name; /* "mailbox/profile" */
	char *mailbox;
	char *profile;
	const struct config_mailbox *m;
	const struct config_profile *p;
	struct state st;
	uint64_t runs;
	int64_t last_success; /* wall seconds, 0 = never */
	struct run_result *last; /* or NULL */
	char **expiring; /* "sha256/days" already alerted */
	size_t nexpiring;
	char *failing; /* failing addresses last alerted (alert_failing) */
	int failing_known; /* 0 until a run of this process set it */
};

/* Writes every target's status (the scheduler's; see postrun_status_init). */
typedef void (*postrun_write_fn)(void);

void postrun_target_init(struct postrun_target *, const struct config_mailbox *,
    const struct config_profile *);
void postrun_target_clear(struct postrun_target *);
void postrun_apply(const struct config *, struct postrun_target *,
    struct run_result *);

char *postrun_status_text(struct postrun_target *const *, size_t,
    const struct status_sched *);
void postrun_status_line(struct postrun_target *const *, size_t,
    const struct status_sched *);
uint64_t postrun_status_gap_ms(uint64_t);
void postrun_status_init(postrun_write_fn);
void postrun_status_free(void);
void postrun_status_soon(void);
void postrun_status_write(const struct config *, int64_t,
    struct postrun_target *const *, size_t, const struct status_sched *,
    uint64_t);

#endif
