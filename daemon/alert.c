/*
 * alert: owns the wording, priority and fields of every alert entry. The
 * evidence comes from the run that caused the transition: the URL that
 * decided it, its certificate chain, the phone's error code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addrset.h"
#include "alert.h"
#include "log.h"
#include "msgid.h"
#include "xmalloc.h"

#define ALERT_NITEMS(a) (sizeof(a) / sizeof((a)[0]))
#define ALERT_NONE(s) ((s) != NULL ? (s) : "(none)")

/* A time as the journal fields write it (UTC, RFC 3339). */
static void
alert_time(time_t t, char buf[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The URL result that decided a run, or the first one. */
static const struct urlcheck_result *
alert_url(const struct run_result *r)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (r->urls[i] != NULL && r->urls[i]->reason == r->reason)
			return r->urls[i];
	}
	return r->urls[0] != NULL ? r->urls[0] : r->urls[1];
}

/*
 * The addresses where phones fail, URL by URL ("internal: a,b; external:
 * c"; sorted, so that DNS rotation changes nothing), or NULL when no
 * address fails. What the scheduler compares to alert on a change of
 * the set. Caller frees.
 */
char *
alert_failing(const struct run_result *r)
{
	char *out = NULL, *set, *t;
	int i;

	for (i = 0; i < (r->one_url ? 1 : 2); i++) {
		if (r->urls[i] == NULL ||
		    (set = urlcheck_result_failing(r->urls[i])) == NULL)
			continue;
		xasprintf(&t, "%s%s%s: %s", out != NULL ? out : "",
		    out != NULL ? "; " : "", r->urls[i]->role, set);
		free(out);
		free(set);
		out = t;
	}
	return out;
}

/*
 * The servers of the Autodiscover host decided the verdict (adaddrs), not
 * a URL: the entry's evidence is theirs. NULL otherwise.
 */
static const struct adaddrs_result *
alert_daddrs(const struct run_result *r)
{
	const struct adaddrs_result *a = r->discovery_addrs;
	int i;

	if (a == NULL || !reason_failed(a->reason) || r->reason != a->reason)
		return NULL;
	for (i = 0; i < 2; i++)
		if (r->urls[i] != NULL && r->urls[i]->reason == r->reason)
			return NULL;
	return a;
}

/*
 * The bad addresses of the Autodiscover host, sorted and comma-separated
 * (addrset_failing; *issuer: the first bad one's leaf issuer in the
 * clients' order, or NULL). Caller frees.
 */
static char *
alert_daddrs_failing(const struct adaddrs_result *a, const char **issuer)
{
	size_t i;

	*issuer = NULL;
	for (i = 0; i < a->naddrs && *issuer == NULL; i++)
		if (reason_failed(a->addrs[i].reason))
			*issuer = a->addrs[i].cert_issuer;
	return addrset_failing(a->addrs, a->naddrs);
}

/* The MESSAGE_ID and priority of a state event; -1 for none to journal. */
static int
alert_kind(enum state_event ev, const char **msgid, int *pri)
{
	switch (ev) {
	case STATE_EVENT_DOWN:
		*msgid = MSGID_TARGET_DOWN;
		*pri = LOG_ERR;
		return 0;
	case STATE_EVENT_DEGRADED:
		*msgid = MSGID_TARGET_DEGRADED;
		*pri = LOG_WARNING;
		return 0;
	case STATE_EVENT_RECOVERED:
		*msgid = MSGID_TARGET_RECOVERED;
		*pri = LOG_NOTICE;
		return 0;
	default:
		return -1;
	}
}

/* The words of a state change's entry, with its fields f. */
static void
alert_transition_say(int pri, const char *msgid, const struct log_field *f,
    size_t n, const struct alert_target *t, enum state_event ev,
    const char *prev, const struct state *st, const struct run_result *r)
{
	const char *fix = r->remedy != NULL ? " Fix: " : "";
	const char *remedy = r->remedy != NULL ? r->remedy : "";

	if (t->prev_failing != NULL)
		log_event(pri, msgid, f, n,
		    "%s still %s, at other addresses (before: %s): %s%s%s",
		    t->name, state_verdict_name(st->hard), t->prev_failing,
		    r->message, fix, remedy);
	else if (ev == STATE_EVENT_RECOVERED)
		log_event(pri, msgid, f, n, "%s recovered (was %s): %s",
		    t->name, prev, r->message);
	else
		log_event(pri, msgid, f, n, "%s %s: %s%s%s", t->name,
		    state_verdict_name(st->hard), r->message, fix, remedy);
}

/*
 * Journal one hard state change of a target; prev names the state before
 * (state_hard_name: "pending" for a target that never had one). With
 * t->prev_failing the state is the same and the set of failing
 * addresses changed: the entry says so.
 */
void
alert_transition(const struct alert_target *t, enum state_event ev,
    const char *prev, const struct state *st, const struct run_result *r)
{
	const struct autodiscover_result *d = r->discovery;
	/* Phones stopped during discovery: the evidence is that host's. */
	int disc = d != NULL && d->found && !d->phone_found &&
	    r->reason == d->phone_reason;
	const struct adaddrs_result *aa = disc ? NULL : alert_daddrs(r);
	const struct urlcheck_result *u =
	    disc || aa != NULL ? NULL : alert_url(r);
	const struct chain_verdict *v = disc ? d->phone_verdict
	    : u != NULL                      ? u->verdict
	                                     : NULL;
	const struct certinfo *c =
	    v != NULL && v->ncerts > 0 ? &v->certs[0] : NULL;
	char phone[32] = "", http[16] = "", fails[16], oks[16], dur[32];
	char notafter[32] = "", *expected = NULL, *failing = NULL;
	const char *msgid, *issuer = c != NULL ? c->issuer : NULL;
	int pri;

	if (alert_kind(ev, &msgid, &pri) != 0)
		return;
	if (reason_wininet(r->reason) != 0)
		snprintf(phone, sizeof phone, "%d (0x%08X)",
		    reason_wininet(r->reason), reason_hresult(r->reason));
	if (u != NULL && u->http_status != 0)
		snprintf(http, sizeof http, "%ld", u->http_status);
	snprintf(fails, sizeof fails, "%u", st->failures);
	snprintf(oks, sizeof oks, "%u", st->successes);
	snprintf(dur, sizeof dur, "%.3f", r->duration_us / 1e6);
	if (c != NULL)
		alert_time(c->not_after, notafter);
	if (u != NULL)
		failing = urlcheck_result_failing(u);
	else if (aa != NULL)
		failing = alert_daddrs_failing(aa, &issuer);
	if (t->frontend_issuer != NULL)
		xasprintf(&expected, "%s (issuer of the Lync pool certificate)",
		    t->frontend_issuer);
	const struct log_field f[] = {
	    {"TARGET", t->name},
	    {"ADDRESS", t->address},
	    {"PROFILE", t->profile},
	    {"STATE", state_verdict_name(st->hard)},
	    {"PREV_STATE", prev},
	    {"REASON", reason_name(r->reason)},
	    {"PHONE_ERROR", phone[0] != '\0' ? phone : NULL},
	    {"ROLE",
	        disc || aa != NULL ? "autodiscover"
	            : u != NULL    ? u->role
	                           : NULL},
	    {"URL",
	        disc             ? d->phone_url
	            : aa != NULL ? aa->url
	            : u != NULL  ? u->url
	                         : NULL},
	    {"HTTP_STATUS", http[0] != '\0' ? http : NULL},
	    {"TLS_VERSION", u != NULL ? u->tls_version : NULL},
	    {"CERT_SUBJECT", c != NULL ? c->subject : NULL},
	    {"CERT_ISSUER", issuer},
	    {"CERT_FINGERPRINT", c != NULL ? c->sha256 : NULL},
	    {"CERT_NOT_AFTER", notafter[0] != '\0' ? notafter : NULL},
	    {"EXPECTED_ANCHORS", expected},
	    {"SYSTEM_TRUSTED",
	        v == NULL                    ? NULL
	            : v->system_trusted == 1 ? "yes"
	                                     : "no"},
	    {"CONSECUTIVE_FAILURES", fails},
	    {"CONSECUTIVE_SUCCESSES", oks},
	    {"DURATION", dur},
	    {"REMEDY", r->remedy},
	    {"ADDRESSES_FAILED", failing},
	    {"PREV_ADDRESSES_FAILED", t->prev_failing},
	};
	alert_transition_say(pri, msgid, f, ALERT_NITEMS(f), t, ev, prev, st,
	    r);
	free(expected);
	free(failing);
}

/* Journal that the Lync pool's issuer (what phones trust) changed. */
void
alert_frontend_changed(const struct alert_target *t,
    const struct frontend_result *fr)
{
	const struct log_field f[] = {
	    {"PROFILE", t->profile},
	    {"FRONTEND", t->frontend_host},
	    {"CERT_ISSUER", fr->issuer},
	    {"PREV_ISSUER", fr->previous},
	};

	log_event(LOG_WARNING, MSGID_FE_ISSUER_CHANGED, f, ALERT_NITEMS(f),
	    "the Lync pool's certificate is now issued by '%s' (before: '%s'): the CAs phones trust have changed",
	    fr->issuer, fr->previous != NULL ? fr->previous : "unknown");
}

/*
 * Journal what the phone's own hello found at the Lync pool (frontend.h):
 * phones that cannot connect there cannot sign in to Lync at all. Once
 * per learning that finds it (the pool is learned every
 * frontend_interval), by the run that got the original result.
 */
void
alert_frontend_phone(const struct alert_target *t,
    const struct frontend_result *fr)
{
	char code[40] = "";

	if (reason_wininet(fr->phone_reason) != 0)
		snprintf(code, sizeof code, "%d (0x%08X)",
		    reason_wininet(fr->phone_reason),
		    reason_hresult(fr->phone_reason));
	const struct log_field f[] = {
	    {"PROFILE", t->profile},
	    {"FRONTEND", t->frontend_host},
	    {"REASON", reason_name(fr->phone_reason)},
	    {"PHONE_ERROR", code[0] != '\0' ? code : NULL},
	    {"REMEDY", fr->phone_remedy},
	};
	log_event(LOG_WARNING, MSGID_FE_PHONE_HELLO, f, ALERT_NITEMS(f),
	    "%s%s%s", fr->phone_message,
	    fr->phone_remedy != NULL ? " Fix: " : "",
	    fr->phone_remedy != NULL ? fr->phone_remedy : "");
}

/*
 * The address of "addr:port" or "[addr6]:port" (as http reports where it
 * connected) into buf: the same spelling as the addresses of a name.
 */
static const char *
alert_host(const char *hostport, char *buf, size_t size)
{
	const char *colon;
	size_t len;

	if (hostport == NULL)
		return "(none)";
	if (hostport[0] == '[' && (colon = strstr(hostport, "]:")) != NULL) {
		hostport++;
		len = (size_t)(colon - hostport);
	} else if ((colon = strrchr(hostport, ':')) != NULL)
		len = (size_t)(colon - hostport);
	else
		len = strlen(hostport);
	snprintf(buf, size, "%.*s", (int)len, hostport);
	return buf;
}

/* A certificate about to expire, as journalled: what and where. */
struct alert_expiry {
	const char *subject;
	const char *sha256;
	time_t not_after;
	size_t pos; /* in the chain presented */
	const char *server; /* the address that presented it */
	int node; /* one of the servers, not the one the URL's report shows */
};

/* Journal that certificate e on u's path expires within days. */
static void
alert_expiry(const struct alert_target *t, const struct urlcheck_result *u,
    const struct alert_expiry *e, unsigned int days)
{
	char when[32], position[24], window[16];

	alert_time(e->not_after, when);
	snprintf(position, sizeof position, "%zu", e->pos);
	snprintf(window, sizeof window, "%u", days);
	const struct log_field f[] = {
	    {"TARGET", t->name},
	    {"PROFILE", t->profile},
	    {"ROLE", u->role},
	    {"URL", u->url},
	    {"SERVER", e->server},
	    {"CERT_SUBJECT", e->subject},
	    {"CERT_FINGERPRINT", e->sha256},
	    {"CERT_NOT_AFTER", when},
	    {"CERT_POSITION", position},
	    {"WINDOW_DAYS", window},
	};

	log_event(LOG_WARNING, MSGID_CERT_EXPIRING, f, ALERT_NITEMS(f),
	    "certificate '%s' (position %zu of the chain %s presents at %s%s) expires on %s, within %u days: phones %swill log 12037 then%s",
	    e->subject, e->pos, u->url, e->server,
	    e->node ? ", one of the servers behind its name" : "", when, days,
	    e->node ? "that connect there " : "",
	    e->node ? "; renew it on that server" : "");
}

/* Journal that a certificate of the URL's chain expires within days. */
void
alert_cert_expiring(const struct alert_target *t,
    const struct urlcheck_result *u, size_t pos, unsigned int days)
{
	struct alert_expiry e;
	char server[64];

	if (pos >= u->verdict->ncerts)
		return; /* only kept certificates have a position */
	e.subject = u->verdict->certs[pos].subject;
	e.sha256 = u->verdict->certs[pos].sha256;
	e.not_after = u->verdict->certs[pos].not_after;
	e.pos = pos;
	e.server = alert_host(u->address, server, sizeof server);
	e.node = 0;
	alert_expiry(t, u, &e, days);
}

/*
 * Journal that the leaf one server behind the URL's name presents (not
 * the one the URL's report shows: a node whose renewal was missed)
 * expires within days.
 */
void
alert_addr_cert_expiring(const struct alert_target *t,
    const struct urlcheck_result *u, const struct urlcheck_addr *a,
    unsigned int days)
{
	struct alert_expiry e;

	e.subject = ALERT_NONE(a->cert_subject);
	e.sha256 = ALERT_NONE(a->cert_sha256);
	e.not_after = a->cert_not_after;
	e.pos = 0;
	e.server = a->address;
	e.node = 1;
	alert_expiry(t, u, &e, days);
}

/* Journal that autodiscover now gives other EWS URLs. */
void
alert_urls_changed(const struct alert_target *t, const struct run_result *r)
{
	/* "(none)" as in the message: the catalog text shows every field. */
	const struct log_field f[] = {
	    {"TARGET", t->name},
	    {"ADDRESS", t->address},
	    {"URL", ALERT_NONE(r->internal_ews_url)},
	    {"PREV_URL", ALERT_NONE(r->prev_internal_ews_url)},
	    {"EXTERNAL_URL", ALERT_NONE(r->external_ews_url)},
	    {"PREV_EXTERNAL_URL", ALERT_NONE(r->prev_external_ews_url)},
	};

	log_event(LOG_NOTICE, MSGID_EWS_URL_CHANGED, f, ALERT_NITEMS(f),
	    "autodiscover for %s now gives InternalEwsUrl %s and ExternalEwsUrl %s (before: %s and %s)",
	    t->address, ALERT_NONE(r->internal_ews_url),
	    ALERT_NONE(r->external_ews_url),
	    ALERT_NONE(r->prev_internal_ews_url),
	    ALERT_NONE(r->prev_external_ews_url));
}
