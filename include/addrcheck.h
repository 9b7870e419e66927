/*
 * addrcheck: one address of an EWS URL's name checked as a phone that
 * connected there would see it, on the event loop: an unauthenticated
 * GetFolder over its own fresh TLS handshake pinned to that address (SNI
 * and Host are the URL's name), the chain captured and judged under the
 * phone and the system trust sets, the 401's offers. No credential is
 * ever sent here: urlcheck signs in once per URL, at an address phones
 * accept.
 *
 * The result is delivered once through the done callback, on a loop turn
 * of its own (task.h); addrcheck_cancel() guarantees no callback. The strings and sets of the
 * parameters are borrowed until then.
 */
#ifndef EWSPROBED_ADDRCHECK_H
#define EWSPROBED_ADDRCHECK_H

#include <stdint.h>

#include "chain.h"
#include "phonelook.h"
#include "config.h"
#include "reason.h"
#include "step.h"

struct addrcheck_params {
	const char *url;
	const char *role;
	const char *host; /* the URL's name: SNI, Host, the name checked */
	int port;
	const char *addr; /* numeric */
	const struct config_profile *profile;
	const struct trustset *phone;
	const struct trustset *system; /* NULL: not evaluated */
	long timeout_ms;
	unsigned int warn_days;
};

struct addrcheck_result {
	char *address; /* numeric, as asked */
	int family; /* AF_INET or AF_INET6 */
	/*
	 * ok, a certificate warning (phones connect, at a risk) or a
	 * failure: what a phone that picked this address meets before it
	 * signs in.
	 */
	enum reason reason;
	int unreachable; /* no TCP connection (refused, timeout) */
	int ntlm; /* the 401 offers a scheme phones sign in with */
	char *what; /* a failure in a phrase naming the address, or NULL */
	char *message; /* the URL's message if this were its only address */
	char *remedy; /* or NULL */
	char *connected; /* "addr:port" connected to, or NULL */
	char *tls_version;
	long http_status;
	char *auth_offered; /* "Negotiate, NTLM" */
	struct chain_verdict *verdict; /* NULL when no chain was seen */
	/* The phone's own hello to this address, or NULL (phonelook.h). */
	struct phonelook_result *phone;
	struct step_list steps; /* the request and both judgements */
	struct step_timings timings;
};

struct addrcheck;
typedef void (*addrcheck_done_cb)(struct addrcheck_result *, void *);

struct addrcheck *
addrcheck_start(const struct addrcheck_params *, addrcheck_done_cb, void *);
void addrcheck_cancel(struct addrcheck *);
void addrcheck_result_free(struct addrcheck_result *);
struct http_req;
enum reason addrcheck_transport(const struct http_req *, const char *, int,
    const struct config_profile *, char **, const char **);
void addrcheck_http_step(struct step *, const struct http_req *);
char *addrcheck_sentence(const char *, const char *, enum reason, const char *);

#endif
