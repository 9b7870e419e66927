/*
 * probe: one run of one target — a mailbox under one trust profile — on
 * the event loop: learn the Lync pool's issuer when due, probe the internal
 * and external EWS URLs as a phone, and combine them into a verdict
 * (ok / warning / critical / unknown) with a reason, a message and a
 * remedy. The trust sets live in a probe context built once per
 * configuration load and shared by every run.
 */
#ifndef EWSPROBED_PROBE_H
#define EWSPROBED_PROBE_H

#include <stdint.h>

#include "autodiscover.h"
#include "config.h"
#include "ewsprobe.h"
#include "frontend.h"
#include "reason.h"
#include "state.h"
#include "trustset.h"

struct probe_ctx;

struct probe_result {
	enum state_verdict verdict;
	enum reason reason; /* of the URL that decided it */
	const char *role; /* that URL's role, or NULL */
	char *message;
	char *remedy;
	struct frontend_result *frontend; /* when learned on this run */
	struct autodiscover_result *discovery; /* when run on this run */
	char *internal_ews_url; /* probed: fixed or discovered */
	char *external_ews_url;
	int urls_changed; /* discovery gave other URLs */
	char *prev_internal_ews_url;
	char *prev_external_ews_url;
	struct ewsprobe_result *urls[2]; /* internal, external (or NULL) */
	/*
	 * Internal and external are one URL, probed once: urls[1] is a view
	 * of urls[0] that owns only its role (probe_result_free knows).
	 */
	int one_url;
	int64_t started; /* wall clock, seconds */
	int64_t duration_us;
};

struct probe;
typedef void (*probe_done_cb)(struct probe_result *, void *);

struct probe_ctx *probe_ctx_new(struct config *, char **);
void probe_ctx_set_discovery(struct probe_ctx *, enum config_discovery);
void probe_ctx_free(struct probe_ctx *);
void
probe_ctx_seed_discovery(struct probe_ctx *, size_t, char *, char *, uint64_t);
int probe_ctx_discovery(const struct probe_ctx *, size_t, const char **,
    const char **, uint64_t *);
char *probe_ctx_discovery_key(const struct probe_ctx *, size_t);
char *probe_ctx_frontend_key(const struct probe_ctx *, size_t);
void probe_ctx_seed_frontend(struct probe_ctx *, size_t, const char *);
char *probe_ctx_frontend(const struct probe_ctx *, size_t);
struct probe *probe_start(struct probe_ctx *, const struct config_mailbox *,
    const struct config_profile *, probe_done_cb, void *);
void probe_cancel(struct probe *);
void probe_result_free(struct probe_result *);
void probe_result_trim(struct probe_result *);
char *probe_dns_servers(const struct config *, const struct config_mailbox *);

#endif
