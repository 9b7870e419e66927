/*
 * addrset: the addresses of one EWS URL's name judged together, once
 * each was checked (addrcheck): the addresses in brief, their steps as a
 * tree (collapsed when they agree), and the wording of a name whose
 * addresses disagree — counted and named, with the servers to fix.
 */
#ifndef EWSPROBED_ADDRSET_H
#define EWSPROBED_ADDRSET_H

#include <stddef.h>

#include "addrcheck.h"
#include "urlcheck.h"

/* Borrowed views: the results stay the caller's. */
struct addrset {
	struct addrcheck_result **a; /* in the client's order */
	size_t n;
	const char *url, *role, *host;
};

char *addrset_join(const struct addrset *, int, size_t *);
void addrset_steps(const struct addrset *, struct step_list *);
struct urlcheck_addr *addrset_summary(const struct addrset *, size_t *);
void addrset_summary_free(struct urlcheck_addr *, size_t);
char *addrset_failing(const struct urlcheck_addr *, size_t);
int addrset_v6_only(const struct addrset *);
char *addrset_v6_note(const struct addrset *, char **);
enum reason
addrset_mixed(const struct addrset *, const char *, char **, char **);
enum reason addrset_mixed_lead(const struct addrset *, const char *,
    const char *, char **, char **);
char *addrset_all_failed(const struct addrset *, const char *);

#endif
