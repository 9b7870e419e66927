/*
 * run: one run of one target — a mailbox under one trust profile — on
 * the event loop: learn the Lync pool's issuer when due, probe the internal
 * and external EWS URLs as a phone, and combine them into a verdict
 * (ok / warning / critical / unknown) with a reason, a message and a
 * remedy. The trust sets live in a run context built once per
 * configuration load and shared by every run.
 */
#ifndef EWSPROBED_RUN_H
#define EWSPROBED_RUN_H

#include <stdint.h>

#include "adaddrs.h"
#include "autodiscover.h"
#include "config.h"
#include "urlcheck.h"
#include "frontend.h"
#include "reason.h"
#include "state.h"
#include "trustset.h"

struct run_ctx;

struct run_result {
	enum state_verdict verdict;
	enum reason reason; /* of the URL that decided it */
	const char *role; /* that URL's role, or NULL */
	char *message;
	char *remedy;
	struct frontend_result *frontend; /* when learned on this run */
	struct autodiscover_result *discovery; /* when run on this run */
	/* The answering Autodiscover host's addresses (adaddrs), or NULL. */
	struct adaddrs_result *discovery_addrs;
	char *internal_ews_url; /* probed: fixed or discovered */
	char *external_ews_url;
	int urls_changed; /* discovery gave other URLs */
	char *prev_internal_ews_url;
	char *prev_external_ews_url;
	struct urlcheck_result *urls[2]; /* internal, external (or NULL) */
	/*
	 * Internal and external are one URL, probed once: urls[1] is a view
	 * of urls[0] that owns only its role (run_result_free knows).
	 */
	int one_url;
	int64_t started; /* wall clock, seconds */
	int64_t duration_us;
};

struct run;
typedef void (*run_done_cb)(struct run_result *, void *);

struct run_ctx *run_ctx_new(struct config *, struct run_ctx *, char **);
void run_ctx_set_discovery(struct run_ctx *, enum config_discovery);
void run_ctx_free(struct run_ctx *);
void run_ctx_seed_discovery(struct run_ctx *, size_t, char *, char *, uint64_t);
int run_ctx_discovery(const struct run_ctx *, size_t, const char **,
    const char **, uint64_t *);
char *run_ctx_discovery_key(const struct run_ctx *, size_t);
char *run_ctx_frontend_key(const struct run_ctx *, size_t);
void run_ctx_seed_frontend(struct run_ctx *, size_t, const char *);
char *run_ctx_frontend(const struct run_ctx *, size_t);
struct run *run_start(struct run_ctx *, const struct config_mailbox *,
    const struct config_profile *, run_done_cb, void *);
void run_cancel(struct run *);
void run_result_free(struct run_result *);
void run_result_trim(struct run_result *);
char *run_dns_servers(const struct config *, const struct config_mailbox *);

#endif
