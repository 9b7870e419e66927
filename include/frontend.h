/*
 * frontend: learning what phones trust from the Lync Front End pool — a
 * TLS handshake with the pool on the event loop, whose presented chain
 * names the issuing CA of the pool certificate (trustset_learn_frontend).
 * The result is delivered once through the done callback; runs that share
 * one learning get copies (frontend_result_copy).
 */
#ifndef EWSPROBED_FRONTEND_H
#define EWSPROBED_FRONTEND_H

#include "config.h"
#include "step.h"
#include "trustset.h"

struct frontend_result {
	int ok; /* the issuer was learned */
	int changed; /* and differs from the one learned before */
	char *issuer; /* the learned issuer's DN, or NULL */
	char *previous; /* the one before, when changed */
	char *error; /* why not, when !ok */
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
