/*
 * explain: owns the words for a verdict — the message (which certificate,
 * which CAs, what phones log) and the remedy (what an admin reissues,
 * publishes or renews) — and the date format messages use.
 */
#include <stdio.h>
#include <stdlib.h>

#include "explain.h"
#include "step.h"
#include "xmalloc.h"

/*
 * The anchors phones have, in words: "'X', issuer of the Lync pool
 * certificate, and N web-trusted CAs". Caller frees.
 */
char *
explain_anchors(const struct trustset *phone)
{
	size_t web = trustset_count(phone, TRUSTSET_WEB_TRUSTED);
	size_t pub = trustset_count(phone, TRUSTSET_PUBLIC_ROOT);
	size_t fe = trustset_count(phone, TRUSTSET_FRONTEND), i, k = 0;
	enum trustset_source source;
	const char *dn;
	char *out;
	size_t len;
	FILE *fp = xopen_memstream(&out, &len);

	for (i = 0; (dn = trustset_dn(phone, i, &source)) != NULL; i++) {
		if (source == TRUSTSET_FRONTEND)
			fprintf(fp, "%s'%s'", k++ > 0 ? ", " : "", dn);
	}
	if (fe == 0)
		fputs("no Lync pool issuer", fp);
	else if (fe == 1)
		fputs(", issuer of the Lync pool certificate", fp);
	else
		fputs(" (the Lync pool certificate's CAs)", fp);
	if (pub == 0)
		fprintf(fp, ", and %zu web-trusted CA%s", web,
		    web == 1 ? "" : "s");
	else
		fprintf(fp,
		    ", %zu web-trusted CA%s and %zu firmware public root%s",
		    web, web == 1 ? "" : "s", pub, pub == 1 ? "" : "s");
	return xclose_memstream(fp, &out);
}

/* A time for messages: "2026-01-31 23:59 UTC" (also the commands'). */
void
explain_date(time_t t, char buf[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(buf, 32, "@%lld", (long long)t);
}

/* "Phones log errorCode=12045 (0x80072F0D)." for a reason. */
static void
explain_logline(enum reason r, char buf[64])
{
	snprintf(buf, 64, "Phones log errorCode=%d (0x%08X).",
	    reason_wininet(r), reason_hresult(r));
}

/* The remedy for a chain phones do not trust. */
static char *
explain_untrusted_remedy(const struct chain_verdict *v,
    const struct trustset *phone)
{
	const char *fe = trustset_frontend_issuer(phone);
	char *out, *from;

	if (fe != NULL)
		xasprintf(&from, "'%s'", fe);
	else
		from = xstrdup("the CA that issued the Lync pool certificate");
	if (v->issuer_position < 0 && !v->certs[0].self_signed)
		xasprintf(&out,
		    "make the server send its issuing CA's certificate ('%s') with its own; if phones still do not trust it, reissue the certificate from %s, or publish its CA with New-CsWebTrustedCACertificate.",
		    v->certs[0].issuer, from);
	else
		xasprintf(&out,
		    "reissue the certificate from %s, or publish its CA with New-CsWebTrustedCACertificate.",
		    from);
	free(from);
	return out;
}

/* Message and remedy for a chain that reaches no phone anchor. */
static void
explain_untrusted(const struct chain_verdict *v, const struct trustset *phone,
    const char *head, char **message, char **remedy)
{
	const struct certinfo *leaf = &v->certs[0];
	char *anchors = explain_anchors(phone), *by, log[64];
	const char *pcs;

	if (leaf->self_signed)
		xasprintf(&by, "its certificate is self-signed ('%s')",
		    leaf->subject);
	else
		xasprintf(&by, "its certificate was issued by '%s'%s",
		    leaf->issuer,
		    v->issuer_position < 0
		        ? " (whose certificate the server does not send)"
		        : "");
	/* The CA is what is in question: the chain-only facts. */
	if (v->system.evaluated && v->system.trusted)
		pcs = "PCs do trust it";
	else if (v->system.evaluated)
		pcs = "PCs do not trust it either";
	else
		pcs = "PC trust was not checked";
	explain_logline(v->reason, log);
	*remedy = explain_untrusted_remedy(v, phone);
	xasprintf(message,
	    "%s: %s, which phones do not trust (they trust %s)%s; %s. %s", head,
	    by, anchors,
	    v->issuer_lookalike
	        ? ": the CA they trust by that name is another certificate, with another key"
	        : "",
	    pcs, log);
	free(anchors);
	free(by);
}

/* Message and remedy for a date problem (expired or not yet valid). */
static void
explain_validity(const struct chain_verdict *v, const char *head,
    char **message, char **remedy)
{
	char when[32], now[32], log[64], *what;
	int expired = v->reason == REASON_CERT_EXPIRED;
	const char *subject = v->date_subject != NULL ? v->date_subject : "?";

	explain_date(v->date_when, when);
	explain_date(v->now, now);
	explain_logline(v->reason, log);
	if (v->date_position == 0)
		xasprintf(&what, "its certificate '%s'", subject);
	else if (v->date_position > 0)
		xasprintf(&what,
		    "the CA certificate '%s' it sends (position %d)", subject,
		    v->date_position);
	else
		xasprintf(&what, "the trusted CA certificate '%s'", subject);
	if (!expired)
		xasprintf(remedy,
		    "check the clocks of this host and of the CA that issued '%s'; a certificate dated in the future means one of them is wrong.",
		    subject);
	else if (v->date_position == 0)
		xasprintf(remedy,
		    "renew the EWS certificate and bind it in IIS on every server behind this name (if it is current, check this host's clock).");
	else if (v->date_position > 0)
		xasprintf(remedy,
		    "renew the CA certificate '%s' and make the server send the new one.",
		    subject);
	else
		xasprintf(remedy,
		    "renew the CA '%s' and publish its new certificate to phones and PCs.",
		    subject);
	xasprintf(message, "%s: %s %s %s (now %s). %s", head, what,
	    expired ? "expired on" : "is not valid before", when, now, log);
	free(what);
}

/* Message and remedy when the certificate does not name the host. */
static void
explain_name(const struct chain_verdict *v, const struct trustset *phone,
    const char *head, char **message, char **remedy)
{
	const struct certinfo *leaf = &v->certs[0];
	const char *fe = trustset_frontend_issuer(phone);
	char *names, log[64];
	size_t i, len;
	FILE *fp = xopen_memstream(&names, &len);

	for (i = 0; i < leaf->nsans; i++)
		fprintf(fp, "%s%s", i > 0 ? ", " : "", leaf->sans[i]);
	if (leaf->nsans == 0)
		fputs("no DNS names; only its subject", fp);
	xclose_memstream(fp, &names);
	explain_logline(v->reason, log);
	xasprintf(remedy,
	    "reissue the certificate%s%s%s with '%s' among its subject alternative names, or publish an EWS URL whose host it names.",
	    fe != NULL ? " from '" : "", fe != NULL ? fe : "",
	    fe != NULL ? "'" : "", v->host != NULL ? v->host : "?");
	xasprintf(message,
	    "%s: its certificate '%s' does not name '%s' (names: %s; wildcards cover one whole label only). %s",
	    head, leaf->subject, v->host != NULL ? v->host : "?", names, log);
	free(names);
}

/* Message and remedy for a healthy chain, with its risks if any. */
static void
explain_ok(const struct chain_verdict *v, const char *url, const char *role,
    char **message, char **remedy)
{
	char *risks = chain_risks_text(v), *fixes;
	size_t i, k, flen;
	FILE *fx = xopen_memstream(&fixes, &flen);

	for (i = k = 0; i < CHAIN_FINDING_KINDS; i++) {
		if (v->findings & CHAIN_FINDING_BIT(i))
			fprintf(fx, "%s%s", k++ > 0 ? "; " : "",
			    chain_finding_fix(i));
	}
	xclose_memstream(fx, &fixes);
	if (v->nfindings == 0) {
		xasprintf(message,
		    "phones can use EWS at %s (%s): its certificate chains to '%s' (%s).",
		    url, role, v->phone.anchor != NULL ? v->phone.anchor : "?",
		    trustset_source_name(v->phone.anchor_source));
		*remedy = NULL;
	} else {
		xasprintf(remedy, "to be safe for phones, serve %s.", fixes);
		xasprintf(message,
		    "phones can use EWS at %s (%s): its certificate chains to '%s' (%s), but phones may fail on: %s.",
		    url, role, v->phone.anchor != NULL ? v->phone.anchor : "?",
		    trustset_source_name(v->phone.anchor_source), risks);
	}
	free(risks);
	free(fixes);
}

/*
 * Message and remedy for a chain that cannot be judged as sent: none, or
 * more certificates than are judged. 0 when the chain is usable.
 */
static int
explain_unusable(const struct chain_verdict *v, const char *head,
    char **message, char **remedy)
{
	char log[64];

	explain_logline(REASON_CERT_INVALID, log);
	if (v->ncerts == 0) {
		*remedy =
		    xstrdup("make the server present its certificate chain.");
		xasprintf(message,
		    "%s: the server presented no usable certificate chain. %s",
		    head, log);
		return 1;
	}
	if (v->npresented > v->ncerts) {
		*remedy = xstrdup(
		    "make the server send only its certificate and its issuing CA's.");
		xasprintf(message,
		    "%s: the server sent %zu certificates; ewsprobed judges at most %d, and what a phone does with more is not known (certificate '%s'). %s",
		    head, v->npresented, CHAIN_MAX_CERTS, v->certs[0].subject,
		    log);
		return 1;
	}
	return 0;
}

/* Message and remedy while the Lync pool's issuer is not known. */
static void
explain_frontend_unknown(const struct chain_verdict *v,
    const struct trustset *phone, const char *url, const char *role,
    char **message, char **remedy)
{
	size_t web = trustset_count(phone, TRUSTSET_WEB_TRUSTED);
	size_t pub = trustset_count(phone, TRUSTSET_PUBLIC_ROOT);

	if (trustset_learns_frontend(phone))
		xasprintf(remedy,
		    "make sure this host reaches the Lync pool named by frontend (its issuer is learned from a TLS handshake with it), or give frontend_ca = <PEM file of the CA that issued the pool certificate>.");
	else
		xasprintf(remedy,
		    "set frontend = <Lync pool FQDN>[:port] (its issuer is learned from a TLS handshake) or frontend_ca = <PEM file of the CA that issued the pool certificate> in the profile.");
	xasprintf(message,
	    "cannot tell whether phones can use EWS at %s (%s): the CA that issued the Lync pool certificate is not known, and its certificate, issued by '%s', chains to none of the %zu web-trusted CAs and %zu public roots.",
	    url, role, v->certs[0].issuer, web, pub);
}

/* Message and remedy for any other defect of the chain (cert_invalid). */
static void
explain_invalid(const struct chain_verdict *v, const char *head, char **message,
    char **remedy)
{
	char log[64];

	explain_logline(REASON_CERT_INVALID, log);
	xasprintf(remedy,
	    "install a chain that verifies (signatures, CA basic constraints and key usage, serverAuth usage) on every server behind this name.");
	xasprintf(message,
	    "%s: its certificate chain is invalid (OpenSSL: %s, at depth %d; certificate '%s'). %s",
	    head,
	    v->phone.error_string != NULL ? v->phone.error_string
	                                  : "no certificate",
	    v->phone.error_depth, v->certs[0].subject, log);
}

/*
 * Explain a verdict in one line, and the remedy, from the evidence: which
 * certificate, which CAs (the EWS certificate's issuer, the CA an admin
 * reissues from or publishes), what the phone logs. The remedy comes
 * apart (NULL when there is nothing to fix); a journal line is
 * "<message> Fix: <remedy>". Both strings: caller frees.
 */
void
explain_verdict(const struct chain_verdict *v, const struct trustset *phone,
    const char *url, const char *role, char **message, char **remedy)
{
	char *head;

	*message = *remedy = NULL;
	switch (v->reason) {
	case REASON_OK:
		if (v->ncerts > 0 && v->npresented <= v->ncerts) {
			explain_ok(v, url, role, message, remedy);
			return;
		}
		break;
	case REASON_FRONTEND_UNKNOWN:
		if (v->ncerts > 0 && v->npresented <= v->ncerts) {
			explain_frontend_unknown(v, phone, url, role, message,
			    remedy);
			return;
		}
		break;
	default:
		break;
	}
	xasprintf(&head, "phones cannot use EWS at %s (%s)", url, role);
	explain_failure(v, phone, head, message, remedy);
	free(head);
}

/*
 * Explain why phones refuse a chain (v->reason is not ok), after head
 * ("phones cannot use EWS at …"): the message and the remedy, as
 * explain_verdict words them. Discovery uses it for an Autodiscover host.
 * Both strings: caller frees.
 */
void
explain_failure(const struct chain_verdict *v, const struct trustset *phone,
    const char *head, char **message, char **remedy)
{
	*message = *remedy = NULL;
	if (explain_unusable(v, head, message, remedy))
		return;
	switch (v->reason) {
	case REASON_CERT_UNTRUSTED_PHONE:
	case REASON_CERT_UNTRUSTED:
		explain_untrusted(v, phone, head, message, remedy);
		break;
	case REASON_CERT_EXPIRED:
	case REASON_CERT_NOT_YET_VALID:
		explain_validity(v, head, message, remedy);
		break;
	case REASON_CERT_NAME_MISMATCH:
		explain_name(v, phone, head, message, remedy);
		break;
	default:
		explain_invalid(v, head, message, remedy);
		break;
	}
}

/*
 * Set step st to the PCs' verdict on a chain (the system store's), with
 * its reason: one wording wherever a handshake is judged for PCs.
 */
void
explain_pc_step(struct step *st, const struct chain_verdict *v)
{
	if (v->system_trusted < 0)
		step_set(st, STEP_SKIP, NULL, "not checked: no system store");
	else if (v->system_trusted)
		step_set(st, STEP_OK, NULL, "PCs accept it: chains to '%s'",
		    v->system.anchor != NULL ? v->system.anchor : "?");
	else
		step_set(st, STEP_FAIL, reason_name(v->system_reason),
		    "PCs refuse it: %s (%s)", reason_name(v->system_reason),
		    v->system.error_string != NULL ? v->system.error_string
		                                   : "no usable chain");
}
