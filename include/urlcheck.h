/*
 * urlcheck: one EWS URL probed as a Lync Phone Edition phone would use it,
 * on the event loop: DNS, then at every address the name resolves to (up
 * to max_addrs, in the order c-ares sorts them, RFC 6724, as a client's
 * getaddrinfo does) an unauthenticated GetFolder over its own TLS
 * handshake under the profile (addrcheck: the chain is judged under the
 * phone and the system trust sets; the 401 must offer NTLM), then — once,
 * at an address phones trust — GetFolder again with the mailbox's
 * credentials by NTLM, on a connection that refuses any chain phones
 * would refuse. The URL's verdict is its worst address's; addresses that
 * disagree are a reason of their own (docs/addresses.md).
 *
 * The result is delivered once through the done callback, from the loop;
 * urlcheck_cancel() guarantees no callback.
 */
#ifndef EWSPROBED_URLCHECK_H
#define EWSPROBED_URLCHECK_H

#include "config.h"
#include "reason.h"
#include "step.h"
#include "chain.h"

struct urlcheck_params {
	const char *url;
	const char *role; /* "internal" or "external" */
	const struct config_profile *profile;
	const struct trustset *phone;
	const struct trustset *system; /* NULL: not evaluated */
	const char *account;
	const char *password;
	const char *dns_servers; /* NULL: the system's */
	/*
	 * Where the credential may go: a URL the admin fixed in the
	 * configuration (signin_fixed), or a host in the mailbox's domain or
	 * in signin_allow (autodiscover_host_allowed). Others stop at the 401.
	 */
	const char *mailbox; /* its name, for the remedy */
	const char *domain; /* the mailbox's domain */
	const struct strlist *signin_allow;
	int signin_fixed;
	long timeout_ms;
	unsigned int warn_days;
	unsigned int max_addrs; /* addresses probed; 0: URLCHECK_MAX_ADDRS */
};

#define URLCHECK_MAX_ADDRS 8

/* What one address of the URL's name showed (addrcheck), in brief. */
struct urlcheck_addr {
	char *address; /* numeric */
	int family; /* AF_INET or AF_INET6 */
	enum reason reason; /* ok, a warning or a failure */
	long http_status; /* 0: no answer */
	char *tls_version;
	char *cert_issuer; /* the leaf's, or NULL when no chain was seen */
	char *cert_sha256;
	char *cert_subject; /* the leaf's, for its expiry alert */
	time_t cert_not_after; /* the leaf's; 0 when no chain was seen */
	int phone_trusted; /* -1: no chain seen */
	int system_trusted; /* -1: not evaluated */
	struct step_timings timings;
	/* The phone's own hello to this address (phonelook.h), in brief. */
	int hello; /* 1 when the profile made one */
	enum reason hello_reason;
	int hello_sni; /* it sent server_name */
	const char *hello_end; /* hellorun_end_name: static */
	const char *hello_version; /* static, or NULL */
	char *hello_suite; /* the suite the server chose, or NULL */
	int hello_suite_uncertain, hello_uncertain_only;
	const char *hello_alert; /* static, or NULL */
	char *hello_issuer; /* of the leaf it was shown, or NULL */
	char *hello_sha256;
	int hello_phone_trusted;
};

struct urlcheck_result {
	enum reason reason; /* ok, a warning (reason_warning) or a failure */
	int warning; /* findings or a skipped sign-in put phones at risk */
	enum reason risk; /* the first warning reason met, or REASON_OK */
	int signin_refused; /* credentials held back: host not admitted */
	char *url;
	char *role;
	char *address; /* "addr:port" connected to */
	char *tls_version;
	long http_status; /* of the last EWS answer */
	char *auth_offered; /* "Negotiate, NTLM" */
	char *ews_code; /* ResponseCode / faultcode */
	struct chain_verdict *verdict; /* NULL when no chain was seen */
	char *message; /* one line, from the evidence */
	char *remedy; /* or NULL */
	struct step_list steps; /* emptied by run_result_trim() when ok */
	struct step_timings timings; /* of the unauthenticated request */
	int64_t duration_us;
	/* Every address probed, in the client's order; the URL's fields
	 * above are its worst address's (or the one signed in at). */
	struct urlcheck_addr *addrs;
	size_t naddrs;
	size_t nresolved; /* addresses DNS gave (more than naddrs: cap) */
	size_t nfailed; /* addresses where phones fail */
};

struct urlcheck;
typedef void (*urlcheck_done_cb)(struct urlcheck_result *, void *);

struct urlcheck *
urlcheck_start(const struct urlcheck_params *, urlcheck_done_cb, void *);
void urlcheck_cancel(struct urlcheck *);
void urlcheck_result_free(struct urlcheck_result *);
char *urlcheck_result_failing(const struct urlcheck_result *);

#endif
