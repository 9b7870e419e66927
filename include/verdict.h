/*
 * verdict: the rule that combines a run's URL results and discovery into
 * the target's verdict, reason, message and remedy.
 */
#ifndef EWSPROBED_VERDICT_H
#define EWSPROBED_VERDICT_H

#include "config.h"
#include "run.h"

void verdict_run(struct run_result *, const struct config_mailbox *);

#endif
