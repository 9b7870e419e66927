/*
 * alert: owns the wording, priority and fields of every alert entry. The
 * evidence comes from the run that caused the transition: the URL that
 * decided it, its certificate chain, the phone's error code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert.h"
#include "log.h"
#include "msgid.h"
#include "xmalloc.h"

#define ALERT_MAX_FIELDS 24

/* The URL result that decided a run, or the first one. */
static const struct ewsprobe_result *
alert_url(const struct probe_result *r)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (r->urls[i] != NULL && r->urls[i]->reason == r->reason)
			return r->urls[i];
	}
	return r->urls[0] != NULL ? r->urls[0] : r->urls[1];
}

/* Journal one hard state change of a target. */
void
alert_transition(const struct alert_target *t, enum state_event ev,
    enum state_verdict prev, const struct state *st,
    const struct probe_result *r)
{
	const struct ewsprobe_result *u = alert_url(r);
	const struct trust_verdict *v = u != NULL ? u->verdict : NULL;
	struct log_field f[ALERT_MAX_FIELDS];
	char phone[32] = "", http[16] = "", fails[16], oks[16], dur[32];
	char notafter[32] = "", *expected = NULL;
	const char *msgid;
	struct tm tm;
	time_t na;
	size_t n = 0;
	int pri;

#define ALERT_F(k, val) \
	do { \
		f[n].name = (k); \
		f[n].value = (val); \
		n++; \
	} while (0)
	switch (ev) {
	case STATE_EVENT_DOWN:
		msgid = MSGID_TARGET_DOWN;
		pri = LOG_ERR;
		break;
	case STATE_EVENT_DEGRADED:
		msgid = MSGID_TARGET_DEGRADED;
		pri = LOG_WARNING;
		break;
	case STATE_EVENT_RECOVERED:
		msgid = MSGID_TARGET_RECOVERED;
		pri = LOG_NOTICE;
		break;
	default:
		return;
	}
	if (reason_wininet(r->reason) != 0)
		snprintf(phone, sizeof phone, "%d (0x%08X)",
		    reason_wininet(r->reason), reason_hresult(r->reason));
	if (u != NULL && u->http_status != 0)
		snprintf(http, sizeof http, "%ld", u->http_status);
	snprintf(fails, sizeof fails, "%u", st->failures);
	snprintf(oks, sizeof oks, "%u", st->successes);
	snprintf(dur, sizeof dur, "%.3f", r->duration_us / 1e6);
	if (v != NULL && v->ncerts > 0) {
		na = v->certs[0].not_after;
		gmtime_r(&na, &tm);
		strftime(notafter, sizeof notafter, "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	if (t->frontend != NULL)
		xasprintf(&expected,
		    "%s (issuer of the Lync pool "
		    "certificate)",
		    t->frontend);
	ALERT_F("TARGET", t->name);
	ALERT_F("ADDRESS", t->address);
	ALERT_F("PROFILE", t->profile);
	ALERT_F("STATE", state_verdict_name(st->hard));
	ALERT_F("PREV_STATE", state_verdict_name(prev));
	ALERT_F("REASON", reason_name(r->reason));
	ALERT_F("PHONE_ERROR", phone[0] != '\0' ? phone : NULL);
	ALERT_F("ROLE", u != NULL ? u->role : NULL);
	ALERT_F("URL", u != NULL ? u->url : NULL);
	ALERT_F("HTTP_STATUS", http[0] != '\0' ? http : NULL);
	ALERT_F("TLS_VERSION", u != NULL ? u->tls_version : NULL);
	ALERT_F("CERT_SUBJECT",
	    v != NULL && v->ncerts > 0 ? v->certs[0].subject : NULL);
	ALERT_F("CERT_ISSUER",
	    v != NULL && v->ncerts > 0 ? v->certs[0].issuer : NULL);
	ALERT_F("CERT_SHA256",
	    v != NULL && v->ncerts > 0 ? v->certs[0].sha256 : NULL);
	ALERT_F("CERT_NOT_AFTER", notafter[0] != '\0' ? notafter : NULL);
	ALERT_F("EXPECTED_ANCHORS", expected);
	ALERT_F("SYSTEM_TRUSTED",
	    v == NULL                    ? NULL
	        : v->system_trusted == 1 ? "yes"
	                                 : "no");
	ALERT_F("CONSECUTIVE_FAILURES", fails);
	ALERT_F("CONSECUTIVE_SUCCESSES", oks);
	ALERT_F("DURATION", dur);
	ALERT_F("REMEDY", r->remedy);
#undef ALERT_F
	if (ev == STATE_EVENT_RECOVERED)
		log_event(pri, msgid, f, n, "%s recovered (was %s): %s",
		    t->name, state_verdict_name(prev), r->message);
	else
		log_event(pri, msgid, f, n, "%s %s: %s%s%s", t->name,
		    state_verdict_name(st->hard), r->message,
		    r->remedy != NULL ? " Fix: " : "",
		    r->remedy != NULL ? r->remedy : "");
	free(expected);
}

/* Journal that the Lync pool's issuer (what phones trust) changed. */
void
alert_frontend_changed(const struct alert_target *t,
    const struct frontend_result *fr)
{
	struct log_field f[4];

	f[0].name = "PROFILE";
	f[0].value = t->profile;
	f[1].name = "FRONTEND";
	f[1].value = t->frontend;
	f[2].name = "CERT_ISSUER";
	f[2].value = fr->issuer;
	f[3].name = "PREV_ISSUER";
	f[3].value = fr->previous;
	log_event(LOG_WARNING, MSGID_FE_ISSUER_CHANGED, f, 4,
	    "the Lync pool's certificate is now issued by '%s' (before: "
	    "'%s'): the CAs phones trust have changed",
	    fr->issuer, fr->previous != NULL ? fr->previous : "unknown");
}

/* Journal that a certificate on the EWS path expires within days. */
void
alert_cert_expiring(const struct alert_target *t,
    const struct ewsprobe_result *u, size_t pos, unsigned int days)
{
	const struct trust_cert_info *c = &u->verdict->certs[pos];
	struct log_field f[9];
	char when[32], position[16], window[16];
	time_t na = c->not_after;
	struct tm tm;

	gmtime_r(&na, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(position, sizeof position, "%zu", pos);
	snprintf(window, sizeof window, "%u", days);
	f[0].name = "TARGET";
	f[0].value = t->name;
	f[1].name = "PROFILE";
	f[1].value = t->profile;
	f[2].name = "ROLE";
	f[2].value = u->role;
	f[3].name = "URL";
	f[3].value = u->url;
	f[4].name = "CERT_SUBJECT";
	f[4].value = c->subject;
	f[5].name = "CERT_SHA256";
	f[5].value = c->sha256;
	f[6].name = "CERT_NOT_AFTER";
	f[6].value = when;
	f[7].name = "CERT_POSITION";
	f[7].value = position;
	f[8].name = "WINDOW_DAYS";
	f[8].value = window;
	log_event(LOG_WARNING, MSGID_CERT_EXPIRING, f, 9,
	    "certificate '%s' (position %zu of the chain %s presents) expires "
	    "on %s, within %u days: phones will log 12037 then",
	    c->subject, pos, u->url, when, days);
}

/* Journal that autodiscover now gives other EWS URLs. */
void
alert_urls_changed(const struct alert_target *t, const struct probe_result *r)
{
	struct log_field f[6];

	f[0].name = "TARGET";
	f[0].value = t->name;
	f[1].name = "ADDRESS";
	f[1].value = t->address;
	f[2].name = "URL";
	f[2].value = r->internal_ews_url;
	f[3].name = "PREV_URL";
	f[3].value = r->prev_internal_ews_url;
	f[4].name = "EXTERNAL_URL";
	f[4].value = r->external_ews_url;
	f[5].name = "PREV_EXTERNAL_URL";
	f[5].value = r->prev_external_ews_url;
	log_event(LOG_NOTICE, MSGID_EWS_URL_CHANGED, f, 6,
	    "autodiscover for %s now gives InternalEwsUrl %s and "
	    "ExternalEwsUrl %s (before: %s and %s)",
	    t->address, r->internal_ews_url ? r->internal_ews_url : "(none)",
	    r->external_ews_url ? r->external_ews_url : "(none)",
	    r->prev_internal_ews_url ? r->prev_internal_ews_url : "(none)",
	    r->prev_external_ews_url ? r->prev_external_ews_url : "(none)");
}
