/*
 * alert: the journal entries admins act on — one per hard state change of
 * a target (down, degraded, recovered), per change of what phones trust
 * (the Lync pool's issuer), per certificate entering an expiry window,
 * per change of the set of a name's addresses where phones fail — each
 * with its MESSAGE_ID, PRIORITY and
 * EWSPROBED_* fields, explained by systemd/ewsprobed.catalog.
 */
#ifndef EWSPROBED_ALERT_H
#define EWSPROBED_ALERT_H

#include "run.h"
#include "state.h"

struct alert_target {
	const char *name;
	const char *address;
	const char *profile;
	const char *frontend_host; /* the profile's Lync pool, or NULL */
	const char *frontend_issuer; /* its certificate's issuer, or NULL */
	/*
	 * Set when the alert repeats the hard state because the set of
	 * addresses where phones fail changed: that set before.
	 */
	const char *prev_failing;
};

void alert_transition(const struct alert_target *, enum state_event,
    const char *, const struct state *, const struct run_result *);
char *alert_failing(const struct run_result *);
void alert_frontend_changed(const struct alert_target *,
    const struct frontend_result *);
void alert_frontend_phone(const struct alert_target *,
    const struct frontend_result *);
void alert_urls_changed(const struct alert_target *, const struct run_result *);
void alert_addr_cert_expiring(const struct alert_target *,
    const struct urlcheck_result *, const struct urlcheck_addr *, unsigned int);
void alert_cert_expiring(const struct alert_target *,
    const struct urlcheck_result *, size_t, unsigned int);

#endif
