/*
 * retain: what a restart must not forget (hard states and their counters,
 * the certificate-expiry windows already alerted, the discovered EWS URLs,
 * the learned Front End issuers),
 * kept in a file of the service's state directory and read back at start.
 */
#ifndef EWSPROBED_RETAIN_H
#define EWSPROBED_RETAIN_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"

/* One target's retained state, as the scheduler hands it over. */
struct retain_target {
	const char *name; /* "mailbox/profile" */
	struct state st;
	uint64_t runs;
	int64_t last_success;
	char **expiring; /* "sha256/days" already alerted */
	size_t nexpiring;
};

/* One mailbox's discovered EWS URLs and when (wall clock) they were found. */
struct retain_discovery {
	const char *mailbox;
	const char *internal; /* or NULL */
	const char *external; /* or NULL */
	const char *key; /* what it depends on (run_ctx_discovery_key) */
	int64_t at;
};

/* One profile's learned Front End issuer, as base64 DER. */
struct retain_frontend {
	const char *profile;
	const char *der64;
	const char *key; /* where it was learned (run_ctx_frontend_key) */
};

#define RETAIN_FILE "retained.xml"

void retain_load(const char *);
int retain_take_target(const char *, struct retain_target *);
void retain_hold(const struct retain_discovery *, size_t,
    const struct retain_frontend *, size_t);
int
retain_take_discovery(const char *, const char *, char **, char **, int64_t *);
char *retain_take_frontend(const char *, const char *);
void retain_forget(void);
int retain_save(const struct retain_target *, size_t,
    const struct retain_discovery *, size_t, const struct retain_frontend *,
    size_t);
const char *retain_path(void);

#endif
