/*
 * urlcheck: one EWS URL probed as a Lync Phone Edition phone would use it,
 * on the event loop: DNS, then an unauthenticated GetFolder over TLS under
 * the profile (the chain is captured and judged under the phone and the
 * system trust sets; the 401 must offer NTLM), then — only when phones
 * would trust the server — GetFolder again with the mailbox's credentials
 * by NTLM, on a connection that refuses any chain phones would refuse.
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
};

struct urlcheck;
typedef void (*urlcheck_done_cb)(struct urlcheck_result *, void *);

struct urlcheck *
urlcheck_start(const struct urlcheck_params *, urlcheck_done_cb, void *);
void urlcheck_cancel(struct urlcheck *);
void urlcheck_result_free(struct urlcheck_result *);

#endif
