/*
 * explain: a verdict (chain.h) in words — a one-line message with the
 * evidence and what phones log, and, apart, the remedy; a journal line
 * reads "<message> Fix: <remedy>". The issuer named for an untrusted EWS
 * certificate is the leaf's issuer: the CA to reissue from or to publish
 * with New-CsWebTrustedCACertificate (any presented CA counts as an
 * anchor). Certificate names are display DNs (certinfo.h); times read
 * "2026-01-31 23:59 UTC" (explain_date, also used by the admin commands).
 */
#ifndef EWSPROBED_EXPLAIN_H
#define EWSPROBED_EXPLAIN_H

#include <time.h>

#include "chain.h"
#include "trustset.h"

void explain_verdict(const struct chain_verdict *, const struct trustset *,
    const char *, const char *, char **, char **);
void explain_failure(const struct chain_verdict *, const struct trustset *,
    const char *, char **, char **);
char *explain_anchors(const struct trustset *);
void explain_date(time_t, char[32]);
struct step;
void explain_pc_step(struct step *, const struct chain_verdict *);

#endif
