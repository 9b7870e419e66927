/*
 * frontend: learning what phones trust from the Lync Front End pool — a
 * TLS handshake with the pool on the event loop, whose presented chain
 * names the issuing CA of the pool certificate (trustset_learn_frontend).
 * The result is delivered once through the done callback; runs that share
 * one learning get copies (frontend_result_copy).
 *
 * When the profile defines the phone's own hello (hello_*), it is sent to
 * the pool's address too (phonelook.h): a pool that resets it, shares no
 * suite with it, or shows a client without SNI another certificate that
 * phones refuse is a finding — phones cannot connect to the pool, so they
 * cannot sign in to Lync at all (docs/tls-hello.md). It does not change
 * the issuer learned: that is the pool certificate's, as with SNI.
 */
#ifndef EWSPROBED_FRONTEND_H
#define EWSPROBED_FRONTEND_H

#include "config.h"
#include "reason.h"
#include "step.h"
#include "trustset.h"

struct frontend_result {
	int ok; /* the issuer was learned */
	int changed; /* and differs from the one learned before */
	char *issuer; /* the learned issuer's DN, or NULL */
	char *previous; /* the one before, when changed */
	char *error; /* why not, when !ok */
	/*
	 * The phone's own hello at the pool: REASON_OK, or what fails phones
	 * there (tls_reset, tls_no_common_suite, a cert_* reason of the
	 * chain shown without SNI, ...) or tls_suite_risk, in words.
	 */
	enum reason phone_reason;
	char *phone_message;
	char *phone_remedy;
	int phone_alert; /* journal it: the original, not the copies */
	struct step_list steps;
};

struct frontend;
typedef void (*frontend_done_cb)(struct frontend_result *, void *);

struct frontend *frontend_learn(const struct config_profile *,
    struct trustset *, const char *, long, frontend_done_cb, void *);
void frontend_cancel(struct frontend *);
struct frontend_result *frontend_result_copy(const struct frontend_result *);
void frontend_result_free(struct frontend_result *);

#endif
