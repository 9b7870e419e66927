/*
 * adpolicy: an Autodiscover candidate's HTTPS connection judged under the
 * two policies that walk discovery — the phones' (the profile's TLS range
 * and cipher list, its anchors: the Lync pool's issuer, the web-trusted
 * CAs, the firmware's roots) and the PCs' (the system store) — as EWS is
 * judged: one handshake under the profile, its chain evaluated under both
 * sets (chain_evaluate). Only when phones cannot complete a handshake at
 * all (TLS version, cipher suites) do PCs get a connection of their own.
 *
 * A candidate carries two path bits: whether phones, and whether PCs, get
 * this far. A policy that refuses a hop leaves the walk there; a hop
 * phones leave while PCs go on is a block. The block on the path to the
 * PCs' answer is the discovery failure phones meet (docs/discovery.md),
 * worded here with the host, the issuer as the certificate spells it, the
 * anchors phones have and the fixes.
 *
 * When the profile defines the phone's own hello (hello_*), each
 * candidate's address also gets that raw hello first (adpolicy_look,
 * phonelook.h: no SNI, the phone's suites): a reset, no suite in common,
 * or another certificate than the handshake with SNI got decides what
 * phones meet there (docs/discovery.md, "The phone's own hello").
 */
#ifndef EWSPROBED_ADPOLICY_H
#define EWSPROBED_ADPOLICY_H

#include "chain.h"
#include "config.h"
#include "http.h"
#include "phonelook.h"
#include "reason.h"
#include "step.h"
#include "tlscapture.h"
#include "trustset.h"

struct adpolicy_params {
	const struct config_profile *profile; /* the phones' TLS */
	const struct trustset *phone;
	struct trustset *system; /* installed in the PCs' connections */
	const struct trustset *const *others; /* more phone anchors, same TLS */
	size_t nothers;
	long timeout_ms; /* of the phone's own hello */
};

/* What a candidate's connection leaves to do. */
enum adpolicy_next {
	ADPOLICY_READ, /* read the answer (or its transport failure) */
	ADPOLICY_RETRY_PC, /* phones could not connect; connect as a PC */
	ADPOLICY_STOP, /* neither policy goes on from here */
};

/* Whose walks reach a candidate. */
struct adpolicy_path {
	int phone, pc; /* the phones' walk, the PCs' */
	unsigned int others; /* bit i: the phones of params.others[i] */
	int block; /* where phones left this path (the walk's), or -1 */
};

/* Where phones left a walk that PCs went on with. */
struct adpolicy_block {
	enum reason reason; /* a discovery reason (reason_discovery) */
	enum reason cause; /* what phones met: a TLS or certificate reason */
	char *url;
	char *host;
	char *tls_error; /* the handshake's failure, or NULL */
	struct chain_verdict *verdict; /* the chain seen, or NULL */
	/*
	 * The phone's own hello when it decided (a reset, no suite, another
	 * certificate): the walk's, borrowed; else NULL.
	 */
	struct phonelook_result *look;
};

/* The phone's own hello is back (adpolicy_look). */
typedef void (*adpolicy_look_cb)(void *);

struct adpolicy_walk;
struct adpolicy_walk *adpolicy_walk_new(const struct adpolicy_params *);
void adpolicy_walk_free(struct adpolicy_walk *);
void adpolicy_path_start(const struct adpolicy_walk *, struct adpolicy_path *);
int adpolicy_path_live(const struct adpolicy_path *);
int adpolicy_look(struct adpolicy_walk *, const char *, int, const char *,
    adpolicy_look_cb, void *);
struct tlscapture *adpolicy_tls(const struct adpolicy_walk *, struct http_req *,
    const char *, const struct adpolicy_path *, int);
enum adpolicy_next
adpolicy_judge(struct adpolicy_walk *, struct http_req *, struct tlscapture *,
    const char *, struct adpolicy_path *, struct step_list *);
void adpolicy_pc_judge(struct http_req *, struct adpolicy_path *,
    struct step_list *);
void adpolicy_explain(const struct adpolicy_params *,
    const struct adpolicy_block *, const char *, char **, char **);
struct autodiscover_result;
void adpolicy_answer(struct adpolicy_walk *, const struct adpolicy_path *,
    size_t, int);
void adpolicy_outcome(struct adpolicy_walk *, const char *,
    struct autodiscover_result *);

#endif
