/*
 * adaddrs: every address of an Autodiscover host (the one that answered
 * phones, or the one where the phones' walk stopped), checked as a phone
 * that resolved the name to that address would meet it: the profile's
 * own ClientHello when it defines one (phonelook.h: no SNI for
 * lync-phone-edition), then one fresh handshake, pinned to the address
 * (SNI and Host are the host's name), its chain judged under the phone
 * anchors and the system store; what the phone's hello got decides where
 * it differs. No Autodiscover request is repeated and no credential is
 * sent: the request is an unauthenticated GET whose answer is not read.
 *
 * The addresses are combined as an EWS name's are (addrset): a host that
 * fails phones at some addresses gets a reason of its own, its message
 * naming the bad addresses and counting the good ones
 * (docs/addresses.md). The result is delivered once, on a loop turn of
 * its own (task.h); adaddrs_cancel() guarantees no callback.
 */
#ifndef EWSPROBED_ADADDRS_H
#define EWSPROBED_ADADDRS_H

#include <stddef.h>

#include "config.h"
#include "reason.h"
#include "step.h"
#include "trustset.h"
#include "urlcheck.h"

/* The strings and sets are borrowed until the delivery. */
struct adaddrs_params {
	const char *url; /* the candidate that gave phones the URLs, or
	                  * where their walk stopped */
	const char *dns_servers; /* NULL: the system's */
	const struct config_profile *profile; /* the phones' TLS */
	const struct trustset *phone;
	const struct trustset *system; /* NULL: not evaluated */
	long timeout_ms;
	unsigned int warn_days;
	unsigned int max_addrs; /* [daemon] max_addresses */
};

struct adaddrs_result {
	char *url; /* the candidate checked */
	char *host;
	/* ok, or why phones fail at some (or every) address of the host. */
	enum reason reason;
	char *message; /* when reason is a failure */
	char *remedy;
	struct urlcheck_addr *addrs; /* none: the name has one address */
	size_t naddrs;
	size_t nresolved; /* addresses DNS gave (more than naddrs: cap) */
	size_t nfailed; /* addresses where phones fail */
	struct step_list steps;
};

struct adaddrs;
typedef void (*adaddrs_done_cb)(struct adaddrs_result *, void *);

struct adaddrs *
adaddrs_start(const struct adaddrs_params *, adaddrs_done_cb, void *);
void adaddrs_cancel(struct adaddrs *);
void adaddrs_result_free(struct adaddrs_result *);

#endif
