/*
 * statuscmd: `ewsprobed status` — the daemon's current view, read from its
 * JSON status file (status.c writes it), as a short table an admin reads
 * on the box (target, profile, state, since, reason, phone code, last run)
 * or as a filtered JSON document; the exit status is the worst state's
 * (--once's Nagios codes; "pending" counts as unknown). A missing,
 * unreadable, malformed or stale file (not rewritten for longer than the
 * allowed age: by default 3 x the longest probe interval of the
 * configuration) is a clear error and exit status 3.
 */
#ifndef EWSPROBED_STATUSCMD_H
#define EWSPROBED_STATUSCMD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct config;

/* What one rendering is asked for. */
struct statuscmd_view {
	char **targets; /* names to show (target or mailbox); all when none */
	size_t ntargets;
	int json;
	time_t now;
	uint64_t max_age_ms; /* older than this is stale */
	const char *path; /* for messages */
};

int statuscmd_main(int, char **, const char *);
int statuscmd_render(const char *, size_t, const struct statuscmd_view *,
    FILE *, FILE *);
uint64_t statuscmd_max_age(const struct config *);

#endif
