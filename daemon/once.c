/*
 * once: owns the one-shot run (--once): load the configuration, build the
 * probe context, run every selected target (mailbox x profile) one after
 * another, and print each run as a step tree with its verdict and remedy.
 * This is for a person at a shell; the daemon schedules the same probes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dns.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "once.h"
#include "probe.h"
#include "xmalloc.h"

struct once {
	struct config *cfg;
	struct probe_ctx *ctx;
	const struct config_mailbox **boxes;
	int nboxes;
	int box; /* current mailbox */
	size_t prof; /* current profile of that mailbox */
	int worst; /* ONCE_* */
	int color;
};

static void once_next(struct once *);

/* The mark of a step result. */
static const char *
once_mark(struct once *o, enum step_result r)
{
	switch (r) {
	case STEP_OK:
		return o->color ? "\033[32m✓\033[0m" : "✓";
	case STEP_WARN:
		return o->color ? "\033[33m!\033[0m" : "!";
	case STEP_SKIP:
		return "-";
	default:
		return o->color ? "\033[31m✗\033[0m" : "✗";
	}
}

/* Print a step list, indented by depth, with timings. */
static void
once_print_steps(struct once *o, struct step_list *steps, int indent)
{
	struct step *st;

	TAILQ_FOREACH(st, steps, entry)
	{
		printf("%*s%s %s", indent + 2 * st->depth, "",
		    once_mark(o, st->result), st->title);
		if (st->timings.total_us >= 0)
			printf(" (%.1f ms)", st->timings.total_us / 1000.0);
		printf("\n");
		if (st->detail != NULL)
			printf("%*s    %s\n", indent + 2 * st->depth, "",
			    st->detail);
	}
}

/* Severity order of exit codes: critical > warning > unknown > ok. */
static int
once_rank(int code)
{
	switch (code) {
	case ONCE_CRITICAL:
		return 3;
	case ONCE_WARNING:
		return 2;
	case ONCE_UNKNOWN:
		return 1;
	default:
		return 0;
	}
}

/* Print one target's run. */
static void
once_print(struct once *o, struct probe_result *r)
{
	struct frontend_result *fr = r->frontend;
	struct ewsprobe_result *u;
	int i, code;

	if (fr != NULL) {
		printf("  %s Lync Front End pool: %s\n",
		    once_mark(o, fr->ok ? STEP_OK : STEP_FAIL),
		    fr->ok ? fr->issuer : fr->error);
		once_print_steps(o, &fr->steps, 2);
	}
	for (i = 0; i < 2; i++) {
		if ((u = r->urls[i]) == NULL)
			continue;
		printf("  %s %s EWS %s\n",
		    once_mark(o,
		        u->reason == REASON_OK
		            ? (u->warning ? STEP_WARN : STEP_OK)
		            : STEP_FAIL),
		    u->role, u->url);
		once_print_steps(o, &u->steps, 2);
	}
	printf("\n  verdict: %s", state_verdict_name(r->verdict));
	if (r->reason != REASON_OK) {
		printf(" — reason %s", reason_name(r->reason));
		if (reason_wininet(r->reason) != 0)
			printf(", phones log errorCode=%d (0x%08X)",
			    reason_wininet(r->reason),
			    reason_hresult(r->reason));
	}
	printf("\n  %s\n", r->message);
	if (r->remedy != NULL)
		printf("  fix: %s\n", r->remedy);
	code = r->verdict == STATE_OK      ? ONCE_OK
	    : r->verdict == STATE_WARNING  ? ONCE_WARNING
	    : r->verdict == STATE_CRITICAL ? ONCE_CRITICAL
	                                   : ONCE_UNKNOWN;
	if (once_rank(code) > once_rank(o->worst))
		o->worst = code;
}

/* A target's run is done: print it, go on. */
static void
once_done(struct probe_result *r, void *arg)
{
	struct once *o = arg;

	once_print(o, r);
	probe_result_free(r);
	o->prof++;
	once_next(o);
}

/* Start the next target, or stop the loop when none is left. */
static void
once_next(struct once *o)
{
	const struct config_mailbox *m;

	while (o->box < o->nboxes) {
		m = o->boxes[o->box];
		if (o->prof >= m->nprofiles) {
			o->box++;
			o->prof = 0;
			continue;
		}
		printf("\n%s <%s> under profile %s\n", m->name, m->address,
		    m->profiles[o->prof]->name);
		probe_start(o->ctx, m, m->profiles[o->prof], once_done, o);
		return;
	}
	loop_exit();
}

/*
 * Run once over the named mailboxes (all when n is 0) of the configuration
 * at path; print the report; return the Nagios status.
 */
int
once_run(const char *path, char **names, int n)
{
	struct once o;
	char *errors = NULL, *cause = NULL;
	size_t i;
	int j, rc = ONCE_UNKNOWN;

	memset(&o, 0, sizeof o);
	o.color = isatty(STDOUT_FILENO);
	if (config_load(path, &o.cfg, &errors) != 0) {
		fprintf(stderr, "%s%s: configuration invalid\n", errors, path);
		free(errors);
		return ONCE_UNKNOWN;
	}
	o.boxes = xcalloc(o.cfg->nmailboxes, sizeof *o.boxes);
	for (i = 0; n == 0 && i < o.cfg->nmailboxes; i++)
		o.boxes[o.nboxes++] = o.cfg->mailboxes[i];
	for (j = 0; j < n; j++) {
		o.boxes[o.nboxes] = config_mailbox_find(o.cfg, names[j]);
		if (o.boxes[o.nboxes++] == NULL) {
			fprintf(stderr, "ewsprobed: no mailbox '%s' in %s\n",
			    names[j], path);
			goto out;
		}
	}
	if ((o.ctx = probe_ctx_new(o.cfg, &cause)) == NULL) {
		fprintf(stderr, "ewsprobed: %s\n", cause);
		free(cause);
		goto out;
	}
	loop_init();
	dns_init(0, 0);
	http_init();
	o.worst = ONCE_OK;
	once_next(&o);
	if (o.box < o.nboxes && loop_run() != 0)
		fatalx("event loop failed");
	http_shutdown();
	dns_shutdown();
	loop_free();
	rc = o.worst;
	printf("\n%s\n",
	    rc == ONCE_OK            ? "OK: phones can use Exchange"
	        : rc == ONCE_WARNING ? "WARNING: phones can use Exchange, with "
	                               "risks (see above)"
	        : rc == ONCE_CRITICAL ? "CRITICAL: phones "
	                                "cannot use Exchange"
	                              : "UNKNOWN: could not judge");
out:
	probe_ctx_free(o.ctx);
	free(o.boxes);
	config_unref(o.cfg);
	return rc;
}
