/*
 * autodiscover: find a mailbox's InternalEwsUrl and ExternalEwsUrl as a
 * phone does — DNS-based Exchange Autodiscover for the domain of the
 * primary SMTP address — as a state machine on the event loop.
 *
 * Candidates for domain d, in order: https://d/…/autodiscover.svc (SOAP,
 * then POX on the same host), https://autodiscover.d/… (the same), the
 * unauthenticated HTTP redirect probe on http://autodiscover.d/, and SRV
 * _autodiscover._tcp.d (port 443 only, RFC 2782 order). Redirects (HTTP
 * 3xx re-POSTed, RedirectUrl, RedirectAddress) share one budget of 10 hops
 * with visited sets. No host is ever invented beyond d, autodiscover.d,
 * SRV targets and validated redirect targets. Every
 * attempt is a recorded step.
 *
 * The walk is walked for phones and for PCs at once (docs/discovery.md):
 * each HTTPS candidate gets one handshake under the profile's TLS, its
 * chain judged under the phone set and the system store (adpolicy); a
 * candidate one policy refuses leaves that policy's walk, and credentials
 * (NTLM only) go only over TLS that a policy still walking accepts, and
 * only to hosts in the mailbox's domain or the configured allow-list. The
 * phones' first answer gives the URLs; when phones find none and PCs do,
 * the PCs' URLs are given (EWS is still checked there) with the phones'
 * discovery reason, message and remedy.
 */
#ifndef EWSPROBED_AUTODISCOVER_H
#define EWSPROBED_AUTODISCOVER_H

#include "chain.h"
#include "config.h"
#include "reason.h"
#include "step.h"
#include "trustset.h"

#define AUTODISCOVER_MAX_HOPS 10
#define AUTODISCOVER_MAX_OTHERS 32

struct autodiscover_params {
	const char *address; /* primary SMTP address */
	const char *account;
	const char *password;
	const char *dns_servers; /* NULL: the system's */
	const struct config_profile *profile; /* the phones' TLS */
	const struct trustset *phone; /* the phones' anchors (shared) */
	struct trustset *system; /* the PCs' anchors (shared, not copied) */
	/*
	 * Other profiles' phone anchors, judged on the same handshakes (their
	 * TLS settings are the profile's): at most AUTODISCOVER_MAX_OTHERS.
	 */
	const struct trustset *const *others;
	size_t nothers;
	const struct strlist *redirect_allow;
	enum config_discovery mode;
	long timeout_ms;
};

/* One candidate's answer with EWS URLs (mode "all" keeps them all). */
struct autodiscover_answer {
	char *source; /* the URL that answered */
	char *internal_ews_url;
	char *external_ews_url;
};

struct autodiscover_result {
	int found; /* EWS URLs were found */
	enum reason reason; /* why not, when !found */
	char *message;
	char *internal_ews_url;
	char *external_ews_url;
	char *source; /* the URL that answered */
	int hops;
	struct autodiscover_answer *answers; /* in the order they came */
	size_t nanswers;
	int disagree; /* an answer differs from the first */
	int phone_found; /* phones find the URLs too (they are theirs) */
	enum reason phone_reason; /* ok, or why phones find none */
	char *phone_message; /* found by PCs only: what phones meet */
	char *phone_remedy;
	char *phone_url; /* the candidate where phones stop, or NULL */
	struct chain_verdict *phone_verdict; /* its chain, or NULL */
	unsigned int others_found; /* bit i: others[i]'s phones find these */
	struct step_list steps;
};

struct autodiscover;
typedef void (*autodiscover_done_cb)(struct autodiscover_result *, void *);

struct autodiscover *autodiscover_start(const struct autodiscover_params *,
    autodiscover_done_cb, void *);
void autodiscover_cancel(struct autodiscover *);
void autodiscover_result_free(struct autodiscover_result *);
const char *autodiscover_redirect_refused(const char *, const char *,
    const struct strlist *);
const char *autodiscover_address_refused(const char *, const char *,
    const struct strlist *);
int
autodiscover_host_allowed(const char *, const char *, const struct strlist *);

#endif
