/*
 * once: owns the one-shot run (--once): load the configuration, build the
 * trust sets, and for each selected mailbox and profile learn the Front End
 * issuer, probe the internal and external EWS URLs, and print the report.
 * Targets are probed one after another: this is for a person at a shell.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dns.h"
#include "ewsprobe.h"
#include "frontend.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "once.h"
#include "state.h"
#include "trust.h"
#include "xmalloc.h"

struct once {
	struct config *cfg;
	struct trust_set *system;
	struct trust_set **phones; /* per profile index of cfg */
	const struct config_mailbox **boxes;
	int nboxes;
	int box; /* current mailbox */
	size_t prof; /* current profile of the mailbox */
	int url; /* 0 internal, 1 external */
	struct ewsprobe_result *res[2];
	int worst; /* ONCE_* */
	int color;
	char *servers; /* DNS servers of the current box */
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

/* The profile's phone set. */
static struct trust_set *
once_phone(struct once *o, const struct config_profile *p)
{
	size_t i;

	for (i = 0; i < o->cfg->nprofiles; i++) {
		if (o->cfg->profiles[i] == p)
			return o->phones[i];
	}
	fatalx("profile %s not in the configuration", p->name);
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

/* The DNS servers of a mailbox (or the daemon's) as one list, or NULL. */
static char *
once_servers(struct once *o, const struct config_mailbox *m)
{
	const struct config_strlist *l =
	    m->dns_servers.n > 0 ? &m->dns_servers : &o->cfg->dns_servers;
	char *s = NULL, *t;
	size_t i;

	for (i = 0; i < l->n; i++) {
		xasprintf(&t, "%s%s%s", s != NULL ? s : "",
		    s != NULL ? "," : "", l->items[i]);
		free(s);
		s = t;
	}
	return s;
}

/* Combine the two URL results into a verdict for the target. */
static void
once_verdict(struct once *o, const struct config_mailbox *m,
    const struct config_profile *p)
{
	struct ewsprobe_result *bad = NULL;
	enum state_verdict v;
	int i, nok = 0, nurl = 0, warn = 0, code;

	for (i = 0; i < 2; i++) {
		if (o->res[i] == NULL)
			continue;
		nurl++;
		if (o->res[i]->reason == REASON_OK) {
			nok++;
			warn |= o->res[i]->warning;
		} else if (bad == NULL)
			bad = o->res[i];
	}
	if (nurl == 0)
		v = STATE_UNKNOWN;
	else if (bad != NULL && bad->reason == REASON_FRONTEND_UNKNOWN)
		v = STATE_UNKNOWN;
	else if (nok == 0)
		v = STATE_CRITICAL;
	else if (nok < nurl || warn)
		v = STATE_WARNING;
	else
		v = STATE_OK;
	code = v == STATE_OK      ? ONCE_OK
	    : v == STATE_WARNING  ? ONCE_WARNING
	    : v == STATE_CRITICAL ? ONCE_CRITICAL
	                          : ONCE_UNKNOWN;
	if (once_rank(code) > once_rank(o->worst))
		o->worst = code;
	printf("\n  verdict: %s", state_verdict_name(v));
	if (bad != NULL) {
		printf(" — reason %s", reason_name(bad->reason));
		if (reason_wininet(bad->reason) != 0)
			printf(", phones log errorCode=%d (0x%08X)",
			    reason_wininet(bad->reason),
			    reason_hresult(bad->reason));
		printf("\n  %s\n", bad->message);
		if (bad->remedy != NULL)
			printf("  fix: %s\n", bad->remedy);
	} else if (nurl == 0)
		printf(" — no EWS URL to probe\n");
	else
		printf("\n");
	printf("  (mailbox %s, profile %s)\n", m->name, p->name);
}

/* One URL's probe is done: print it, go on. */
static void
once_url_done(struct ewsprobe_result *r, void *arg)
{
	struct once *o = arg;

	printf("  %s %s EWS %s\n",
	    once_mark(o,
	        r->reason == REASON_OK ? (r->warning ? STEP_WARN : STEP_OK)
	                               : STEP_FAIL),
	    r->role, r->url);
	once_print_steps(o, &r->steps, 2);
	o->res[o->url] = r;
	o->url++;
	once_next(o);
}

/* The Front End issuer was learned (or not): print it, go on. */
static void
once_frontend_done(struct frontend_result *r, void *arg)
{
	struct once *o = arg;

	printf("  %s Lync Front End pool: %s\n",
	    once_mark(o, r->ok ? STEP_OK : STEP_FAIL),
	    r->ok ? r->issuer : r->error);
	once_print_steps(o, &r->steps, 2);
	frontend_result_free(r);
	o->url = 0;
	once_next(o);
}

/*
 * Advance: the next URL of this target, else this target's verdict and
 * the next target, else stop the loop.
 */
static void
once_next(struct once *o)
{
	const struct config_mailbox *m;
	const struct config_profile *p;
	struct ewsprobe_params ep;
	const char *url;

	while (o->box < o->nboxes) {
		m = o->boxes[o->box];
		if (o->prof >= m->nprofiles) {
			o->box++;
			o->prof = 0;
			o->url = -1;
			continue;
		}
		p = m->profiles[o->prof];
		if (o->url == -1) {
			printf("\n%s <%s> under profile %s\n", m->name,
			    m->address, p->name);
			free(o->servers);
			o->servers = once_servers(o, m);
			if (p->frontend_host != NULL) {
				frontend_learn(p, once_phone(o, p), o->servers,
				    (long)o->cfg->timeout_ms,
				    once_frontend_done, o);
				return;
			}
			o->url = 0;
		}
		while (o->url < 2) {
			url = o->url == 0 ? m->ews_internal_url
			                  : m->ews_external_url;
			if (url == NULL) {
				o->res[o->url++] = NULL;
				continue;
			}
			memset(&ep, 0, sizeof ep);
			ep.url = url;
			ep.role = o->url == 0 ? "internal" : "external";
			ep.profile = p;
			ep.phone = once_phone(o, p);
			ep.system = p->system_store ? o->system : NULL;
			ep.account = m->account;
			ep.password = m->password;
			ep.dns_servers = o->servers;
			ep.timeout_ms = (long)o->cfg->timeout_ms;
			ep.warn_days = o->cfg->cert_warn_days;
			ewsprobe_start(&ep, once_url_done, o);
			return;
		}
		if (m->ews_internal_url == NULL && m->ews_external_url == NULL)
			printf("  %s no EWS URL: this build probes the fixed "
			       "URLs ews_internal_url/ews_external_url only "
			       "(autodiscover comes with the discovery "
			       "engine)\n",
			    once_mark(o, STEP_SKIP));
		once_verdict(o, m, p);
		ewsprobe_result_free(o->res[0]);
		ewsprobe_result_free(o->res[1]);
		o->res[0] = o->res[1] = NULL;
		o->prof++;
		o->url = -1;
	}
	loop_exit();
}

/* Build the trust sets of every profile, and the system set. */
static int
once_trust(struct once *o)
{
	char *cause = NULL;
	size_t i;

	o->system = trust_set_new_system(o->cfg->system_store_file, &cause);
	if (o->system == NULL) {
		fprintf(stderr, "ewsprobed: system store: %s\n", cause);
		free(cause);
		return -1;
	}
	o->phones = xcalloc(o->cfg->nprofiles, sizeof *o->phones);
	for (i = 0; i < o->cfg->nprofiles; i++) {
		o->phones[i] = trust_set_new_phone(o->cfg->profiles[i], &cause);
		if (o->phones[i] == NULL) {
			fprintf(stderr, "ewsprobed: profile %s: %s\n",
			    o->cfg->profiles[i]->name, cause);
			free(cause);
			return -1;
		}
	}
	return 0;
}

/*
 * Run once over the named mailboxes (all when n is 0) of the configuration
 * at path; print the report; return the Nagios status.
 */
int
once_run(const char *path, char **names, int n)
{
	struct once o;
	char *errors = NULL;
	size_t i;
	int j, rc;

	memset(&o, 0, sizeof o);
	o.color = isatty(STDOUT_FILENO);
	if (config_load(path, &o.cfg, &errors) != 0) {
		fprintf(stderr, "%s%s: configuration invalid\n", errors, path);
		free(errors);
		return ONCE_UNKNOWN;
	}
	o.boxes = xcalloc(o.cfg->nmailboxes, sizeof *o.boxes);
	if (n == 0) {
		for (i = 0; i < o.cfg->nmailboxes; i++)
			o.boxes[o.nboxes++] = o.cfg->mailboxes[i];
	}
	for (j = 0; j < n; j++) {
		o.boxes[o.nboxes] = config_mailbox_find(o.cfg, names[j]);
		if (o.boxes[o.nboxes] == NULL) {
			fprintf(stderr, "ewsprobed: no mailbox '%s' in %s\n",
			    names[j], path);
			rc = ONCE_UNKNOWN;
			goto out;
		}
		o.nboxes++;
	}
	rc = ONCE_UNKNOWN;
	if (once_trust(&o) != 0)
		goto out;
	loop_init();
	dns_init(0, 0);
	http_init();
	o.url = -1;
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
	if (o.phones != NULL) {
		for (i = 0; i < o.cfg->nprofiles; i++)
			trust_set_free(o.phones[i]);
	}
	free(o.phones);
	trust_set_free(o.system);
	free(o.boxes);
	free(o.servers);
	config_unref(o.cfg);
	return rc;
}
