/*
 * run_private.h: what run.c (a target's run) and run_ctx.c (the context
 * runs share) both see: the context's structures and the index lookup.
 * Not for other modules; they use run.h.
 */
#ifndef RUN_PRIVATE_H
#define RUN_PRIVATE_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "run.h"

struct run;
TAILQ_HEAD(run_queue, run);

/* A mailbox's discovered EWS URLs and when they were found. */
struct run_disc {
	/*
	 * The run whose discovery is under way (NULL: none) and the runs of
	 * other profiles it judges too, waiting for it instead of making the
	 * same handshakes (run_discover).
	 */
	struct run *leader;
	struct run_queue waiters;
	int valid;
	int ews_failed; /* the last run's EWS failed */
	/*
	 * By profile: phones of that profile found these URLs. A profile
	 * whose phones were not judged on them (or failed) discovers again.
	 */
	unsigned char *phone_ok;
	char *internal;
	char *external;
	/*
	 * The candidate whose answer gave phones the URLs (NULL: PCs only,
	 * or seeded): its host's servers are checked on every run.
	 */
	char *source;
	uint64_t at_ms;
};

/* Where a mailbox or profile of the configuration is, by its address. */
struct run_index {
	const void *key;
	size_t idx;
};

/*
 * A profile's Front End learning in flight and the runs waiting for it:
 * one handshake per profile at a time, whose result every waiter gets.
 */
struct run_learning {
	struct run_ctx *ctx;
	size_t pidx;
	struct frontend *fe; /* NULL: none in flight */
	struct run_queue waiters;
};

struct run_ctx {
	struct config *cfg; /* a reference */
	struct run_disc *disc; /* by mailbox index */
	struct trustset *system;
	struct trustset **phones; /* by profile index */
	uint64_t *learned_ms; /* by profile index; 0 = never */
	struct run_learning *learning; /* by profile index */
	enum config_discovery discovery; /* for mailboxes that set none */
	struct run_index *mindex; /* mailboxes by address, sorted */
	struct run_index *pindex; /* profiles by address, sorted */
};

size_t run_index_find(const struct run_index *, size_t, const void *);

#endif /* RUN_PRIVATE_H */
