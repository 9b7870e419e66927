/*
 * phonelook: the phone's view of one address — the ClientHello of the
 * profile (hello.h: TLS 1.0, RSA suites, no SNI for lync-phone-edition)
 * sent to host:port at one address (hellorun.h), the suite the server
 * picks or its refusal (alert, reset), and the chain it presents to such
 * a client judged under the profile's phone trust set (chain.h). When the
 * server picks a suite the profile flags uncertain (AES), a second hello
 * with only the core suites tells whether it would also serve phones
 * without AES.
 *
 * Nothing is encrypted and no credential is ever sent (hellorun.h).
 *
 * Use: fill phonelook_params, phonelook_start(); the callback runs once,
 * from the loop, with a result the callee owns (phonelook_result_free).
 * phonelook_cancel() before the callback guarantees none follows (task.h:
 * the delivery is always on a loop turn of its own). The result is plain
 * data; phonelook_explain() words it for a report, given the certificate
 * another handshake (with SNI, modern suites) got.
 * docs/phone-tls-client.md says why the phone's hello looks as it does.
 */
#ifndef EWSPROBED_PHONELOOK_H
#define EWSPROBED_PHONELOOK_H

#include <sys/socket.h>

#include <stdint.h>

#include "chain.h"
#include "config.h"
#include "hellorun.h"
#include "reason.h"
#include "step.h"
#include "trustset.h"

struct phonelook_params {
	const char *host; /* the name (SNI if the profile sends it; checked) */
	int port;
	const struct sockaddr *sa; /* the address to connect to */
	socklen_t salen;
	const struct config_profile *profile; /* its hello_* settings */
	const struct trustset *phone; /* the profile's phone trust set */
	const struct trustset *system; /* PCs' set, or NULL: not judged */
	long timeout_ms;
	unsigned int warn_days;
};

struct phonelook_result {
	/*
	 * REASON_OK; a failure (tls_no_common_suite, tls_reset,
	 * tls_version_unsupported, tls_handshake_failed, connect_failed,
	 * timeout, or the chain's cert_* reason); or tls_suite_risk when the
	 * server accepts only uncertain suites and the profile says that is
	 * a warning.
	 */
	enum reason reason;
	char *host; /* as asked */
	char *address; /* "addr:port" */
	char *hello; /* what was sent, for humans (hello_spec_describe) */
	int sent_sni;
	enum hellorun_end end;
	uint16_t version; /* the server's, or 0 */
	uint16_t suite; /* chosen for the phone's hello, or 0 */
	int alert; /* the deciding alert's description, or -1 */
	char *error; /* a malformed answer, a socket error: why, or NULL */
	/* The chosen suite is uncertain for phones (AES)... */
	int suite_uncertain;
	/*
	 * ... and the core-only hello: 1 accepted (core_suite), 0 refused,
	 * -1 not asked or not answered (connect failure, time-out).
	 */
	int core_accepted;
	uint16_t core_suite;
	int uncertain_only; /* only uncertain suites accepted */
	struct chain_verdict *verdict; /* the presented chain, or NULL */
	int64_t duration_us;
};

struct phonelook;
typedef void (*phonelook_cb)(struct phonelook_result *, void *);

struct phonelook *
phonelook_start(const struct phonelook_params *, phonelook_cb, void *);
void phonelook_cancel(struct phonelook *);
int
phonelook_sockaddr(const char *, int, struct sockaddr_storage *, socklen_t *);
void phonelook_result_free(struct phonelook_result *);
int phonelook_failed(const struct phonelook_result *);
int phonelook_same_leaf(const struct phonelook_result *,
    const struct chain_verdict *);
char *phonelook_summary(const struct phonelook_result *);
void phonelook_step(const struct phonelook_result *, struct step_list *,
    const char *);
enum reason
phonelook_explain(const struct phonelook_result *, const struct trustset *,
    const char *, const struct chain_verdict *, char **, char **);

#endif
