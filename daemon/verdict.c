/*
 * verdict: owns the rule that turns what one run found into the target's
 * verdict (ok / warning / critical / unknown), its reason, and the message
 * and remedy the journal and reports carry. Each URL's own reason comes
 * from urlcheck (its chain verdict from chain.c, its wording from
 * explain.c); this file only combines them, so the rule can be read and
 * tested in one place.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "verdict.h"
#include "xmalloc.h"

/*
 * Add a discovery finding (reason, message, remedy) to r's verdict: an
 * ok verdict becomes a warning with it; a warning or critical one keeps
 * its reason and gains the words ("Discovery too: ...").
 */
static void
verdict_add_discovery(struct run_result *r, enum reason reason,
    const char *message, const char *remedy)
{
	char *t;

	if (r->verdict == STATE_OK) {
		free(r->message);
		free(r->remedy);
		r->message = xstrdup(message);
		r->remedy = remedy != NULL ? xstrdup(remedy) : NULL;
		r->verdict = STATE_WARNING;
		r->reason = reason;
		r->role = NULL;
		return;
	}
	xasprintf(&t, "%s Discovery too: %s",
	    r->message != NULL ? r->message : "", message);
	free(r->message);
	r->message = t;
	if (remedy != NULL) {
		xasprintf(&t, "%s%s%s", r->remedy != NULL ? r->remedy : "",
		    r->remedy != NULL ? "; then, for discovery: " : "", remedy);
		free(r->remedy);
		r->remedy = t;
	}
}

/*
 * Whether URLs a and b are on the same site (https, the same host and
 * port): phones that get a good server of the host where they stopped
 * meet the answer PCs got there only if PCs got it from that host.
 */
static int
verdict_same_site(const char *a, const char *b)
{
	size_t la, lb;

	if (a == NULL || b == NULL || strncasecmp(a, "https://", 8) != 0 ||
	    strncasecmp(b, "https://", 8) != 0)
		return 0;
	la = strcspn(a + 8, "/?#");
	lb = strcspn(b + 8, "/?#");
	return la == lb && strncasecmp(a + 8, b + 8, la) == 0;
}

/*
 * The servers behind the host where phones stopped (adaddrs on the
 * block's URL) disagree: some fail phones, others work. This run's walk
 * met a bad one first, as phones that resolve the name to it do; phones
 * that get a good one discover EWS — when PCs found the URLs at that host
 * (not after a redirect elsewhere, which phones may refuse). Returns 1 when that is the case and
 * r carries it: the same finding, reason and severity as when the walk
 * meets a good server first (verdict_discovery_addrs), so the order DNS
 * answers in does not flip the state; the walk's failure stays in the
 * message and in the discovery's own fields.
 */
static int
verdict_discovery_some(struct run_result *r)
{
	const struct autodiscover_result *d = r->discovery;
	const struct adaddrs_result *a = r->discovery_addrs;
	char *msg;
	size_t n;

	if (a == NULL || !reason_failed(a->reason) || a->nfailed == 0 ||
	    a->nfailed >= a->naddrs || a->message == NULL ||
	    d->phone_url == NULL || a->url == NULL ||
	    strcmp(a->url, d->phone_url) != 0 ||
	    !verdict_same_site(d->source, d->phone_url))
		return 0;
	/* addrset's message ends with a full stop; the sentence goes on. */
	n = strlen(a->message);
	n -= n > 0 && a->message[n - 1] == '.';
	xasprintf(&msg,
	    "%.*s: phones that resolve it to those discover EWS. This run's walk as a phone met a bad server there and stopped (%s), as those phones do; EWS is checked at the URLs PCs found",
	    (int)n, a->message, reason_name(d->phone_reason));
	verdict_add_discovery(r, a->reason, msg, a->remedy);
	free(msg);
	return 1;
}

/*
 * PCs found EWS and phones did not (docs/discovery.md): the target is
 * critical for the phones' discovery reason whatever EWS does; what EWS
 * does at the URLs PCs found follows in the message (one run shows every
 * problem), its remedy after the discovery's. When only some servers
 * behind that host fail phones, it is verdict_discovery_some's finding.
 */
static void
verdict_discovery(struct run_result *r)
{
	const struct autodiscover_result *d = r->discovery;
	char *msg, *fix;

	if (d == NULL || !d->found || d->phone_found ||
	    verdict_discovery_some(r))
		return;
	if (r->verdict == STATE_OK)
		xasprintf(&msg,
		    "%s. EWS there would work for phones once they learn its URLs",
		    d->phone_message);
	else
		xasprintf(&msg, "%s. EWS there, on its own: %s",
		    d->phone_message,
		    r->message != NULL ? r->message : "(not checked)");
	if (r->remedy != NULL && r->verdict != STATE_OK)
		xasprintf(&fix, "%s; then, for EWS: %s",
		    d->phone_remedy != NULL ? d->phone_remedy : "", r->remedy);
	else
		fix = d->phone_remedy != NULL ? xstrdup(d->phone_remedy) : NULL;
	free(r->message);
	free(r->remedy);
	r->message = msg;
	r->remedy = fix;
	r->verdict = STATE_CRITICAL;
	r->reason = d->phone_reason;
	r->role = NULL;
}

/*
 * Phones found the URLs, but some servers behind the answering
 * Autodiscover host fail them (adaddrs): the phones that resolve the name
 * to one of those fail discovery. A warning at least (docs/addresses.md);
 * a worse verdict keeps its reason and gains the words. When phones did
 * not find the URLs, verdict_discovery has used the check already.
 */
static void
verdict_discovery_addrs(struct run_result *r)
{
	const struct adaddrs_result *a = r->discovery_addrs;
	const struct autodiscover_result *d = r->discovery;

	if (a == NULL || !reason_failed(a->reason) ||
	    (d != NULL && d->found && !d->phone_found))
		return;
	verdict_add_discovery(r, a->reason, a->message, a->remedy);
}

/*
 * Set r's verdict, reason, role, message and remedy from its URL results
 * and its discovery (m names the mailbox in the words): no URL or no anchor is
 * unknown; every URL failing is critical; one failing, or findings, is a
 * warning (phones work, but not everywhere or not for long).
 */
void
verdict_run(struct run_result *r, const struct config_mailbox *m)
{
	struct urlcheck_result *bad = NULL, *refused = NULL, *risky = NULL, *u;
	int i, nurl = 0, nok = 0;

	for (i = 0; i < 2; i++) {
		if ((u = r->urls[i]) == NULL)
			continue;
		nurl++;
		if (!reason_failed(u->reason)) {
			nok++;
			if (reason_warning(u->reason) && risky == NULL)
				risky = u;
			if (u->signin_refused && refused == NULL)
				refused = u;
		} else if (bad == NULL)
			bad = u;
	}
	/* Never say "can use" for a sign-in that was not tried. */
	if (refused != NULL)
		risky = refused;
	/* A warning's reason is never ok: it names the risk. */
	r->reason = bad != NULL ? bad->reason
	    : risky != NULL     ? risky->reason
	                        : REASON_OK;
	u = bad != NULL ? bad : risky;
	r->role =
	    u != NULL ? (u == r->urls[0] ? "internal" : "external") : NULL;
	if (nurl == 0 && r->discovery != NULL && !r->discovery->found) {
		r->verdict = STATE_CRITICAL;
		r->reason = r->discovery->reason;
		r->message = xstrdup(r->discovery->message);
		r->remedy = xstrdup(
		    "check the Autodiscover DNS records (autodiscover.<domain>, _autodiscover._tcp SRV) and the Autodiscover virtual directory the phones' DNS leads to");
		return;
	}
	if (nurl == 0) {
		r->verdict = STATE_UNKNOWN;
		r->reason = REASON_AUTODISCOVER_NO_EWS_URL;
		xasprintf(&r->message,
		    "mailbox %s has no EWS URL to probe: this build probes the fixed URLs ews_internal_url and ews_external_url",
		    m->name);
		return;
	}
	if (bad != NULL && bad->reason == REASON_FRONTEND_UNKNOWN)
		r->verdict = STATE_UNKNOWN;
	else if (nok == 0)
		r->verdict = STATE_CRITICAL;
	else if (nok < nurl || risky != NULL)
		r->verdict = STATE_WARNING;
	else
		r->verdict = STATE_OK;
	if (bad != NULL) {
		r->message = xstrdup(bad->message);
		r->remedy = bad->remedy != NULL ? xstrdup(bad->remedy) : NULL;
	} else if (risky != NULL) {
		/* Its message says what the risk is for phones. */
		r->message = xstrdup(risky->message);
		r->remedy =
		    risky->remedy != NULL ? xstrdup(risky->remedy) : NULL;
	} else
		xasprintf(&r->message, "phones can use Exchange for %s%s",
		    m->address,
		    m->password == NULL ? " (sign-in not tested)" : "");
	verdict_discovery(r);
	verdict_discovery_addrs(r);
}
