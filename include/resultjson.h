/*
 * resultjson: the one JSON rendering of what a run found — a target, its
 * run, the Autodiscover and Front End parts, each EWS URL's result, the
 * presented certificates and the steps — in one versioned schema
 * (RESULTJSON_SCHEMA, written down in docs/result-schema.json and
 * ewsprobed(8)). Both the status file (status.c) and `--once --json`
 * (once.c) write their targets with it; check-cert and anchors write their
 * certificates with it.
 *
 * Conventions of the schema: every time is RFC 3339 UTC
 * ("2026-12-06T00:59:30Z") or null; every duration is a number of
 * milliseconds in a member whose name ends in "_ms" (or an object
 * "timings_ms"); members listed in the schema are always written, null when
 * unknown. Writers may add members later; readers ignore those they do not
 * know.
 */
#ifndef EWSPROBED_RESULTJSON_H
#define EWSPROBED_RESULTJSON_H

#include <stdint.h>

#include "run.h"

/* The value of the top-level "schema" member; raised on incompatible change. */
#define RESULTJSON_SCHEMA 1

struct json;

/* Who a target is: the members every document's target objects begin with. */
struct resultjson_target {
	const char *mailbox;
	const char *address;
	const char *profile;
};

void resultjson_begin(struct json *, const char *);
void resultjson_time(struct json *, const char *, int64_t);
void resultjson_ms(struct json *, const char *, int64_t);
void resultjson_reason(struct json *, enum reason, const char *, const char *);
void resultjson_cert(struct json *, const struct certinfo *, size_t);
void resultjson_steps(struct json *, const struct step_list *);
void resultjson_url(struct json *, const struct urlcheck_result *);
void resultjson_run(struct json *, const struct run_result *);
void resultjson_target_begin(struct json *, const struct resultjson_target *);
void resultjson_target_end(struct json *, const struct run_result *);

#endif
