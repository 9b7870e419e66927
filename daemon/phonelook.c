/*
 * phonelook: owns the phone's view of one address — one or two raw hellos
 * (the profile's, then its core suites only when the server picked an
 * uncertain one), the classification of what came back, the verdict on
 * the chain presented to that hello, and the words for all of it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "explain.h"
#include "hello.h"
#include "hellorun.h"
#include "log.h"
#include "loop.h"
#include "phonelook.h"
#include "task.h"
#include "xmalloc.h"

/* TLS alert descriptions (RFC 5246 §7.2) that mean "no suite in common". */
#define PHONELOOK_ALERT_HANDSHAKE_FAILURE 40
#define PHONELOOK_ALERT_ILLEGAL_PARAMETER 47
#define PHONELOOK_ALERT_PROTOCOL_VERSION 70
#define PHONELOOK_ALERT_INSUFFICIENT_SECURITY 71
#define PHONELOOK_ALERT_UNRECOGNIZED_NAME 112

struct phonelook {
	struct phonelook_params p;
	struct sockaddr_storage ss;
	char *host;
	struct hello_spec core;
	struct hellorun *hr;
	struct phonelook_result *res;
	phonelook_cb done;
	void *arg;
	uint64_t started_us;
	struct task task; /* running, finishing, cancelled (task.h) */
};

static void phonelook_hello_cb(struct hellorun *, void *);

/* Free the exchange (not its result). */
static void
phonelook_free(struct phonelook *pl)
{
	hellorun_free(pl->hr);
	phonelook_result_free(pl->res);
	free(pl->host);
	free(pl);
}

/* The result is ready: deliver it on the next loop turn (task.h). */
static void
phonelook_finish(struct phonelook *pl)
{
	pl->res->duration_us = (int64_t)(loop_now_usec() - pl->started_us);
	task_finish(&pl->task);
}

/* The queued delivery: hand the result over, then free the exchange. */
static void
phonelook_deliver(void *arg)
{
	struct phonelook *pl = arg;
	struct phonelook_result *r = pl->res;

	pl->res = NULL;
	pl->done(r, pl->arg);
	phonelook_free(pl);
}

/* A cancelled exchange: free it (and its socket), with no delivery. */
static void
phonelook_discard(void *arg)
{
	phonelook_free(arg);
}

/* Send one hello; 0, or -1 with the result failed (reason, error). */
static int
phonelook_send(struct phonelook *pl, const struct hello_spec *spec)
{
	char *err = NULL;

	hellorun_free(pl->hr);
	pl->hr = hellorun_start((const struct sockaddr *)&pl->ss, pl->p.salen,
	    spec, pl->host, (uint64_t)pl->p.timeout_ms, phonelook_hello_cb, pl,
	    &err);
	if (pl->hr != NULL)
		return 0;
	pl->res->reason = REASON_INTERNAL;
	free(pl->res->error);
	pl->res->error = err;
	return -1;
}

/* What the end of an exchange without a decision means for phones. */
static enum reason
phonelook_end_reason(enum hellorun_end end)
{
	switch (end) {
	case HELLORUN_RESET:
		return REASON_TLS_RESET;
	case HELLORUN_CONNECT_FAILED:
		return REASON_CONNECT_FAILED;
	case HELLORUN_TIMEOUT:
		return REASON_TIMEOUT;
	default:
		return REASON_TLS_HANDSHAKE_FAILED;
	}
}

/* What a deciding alert before any certificate means for phones. */
static enum reason
phonelook_alert_reason(int alert)
{
	switch (alert) {
	case PHONELOOK_ALERT_PROTOCOL_VERSION:
		return REASON_TLS_VERSION_UNSUPPORTED;
	case PHONELOOK_ALERT_HANDSHAKE_FAILURE:
	case PHONELOOK_ALERT_ILLEGAL_PARAMETER:
	case PHONELOOK_ALERT_INSUFFICIENT_SECURITY:
		return REASON_TLS_NO_COMMON_SUITE;
	default:
		return REASON_TLS_HANDSHAKE_FAILED;
	}
}

/*
 * The first hello's answer: the suite, the chain (judged), or why there
 * is none. Returns 1 when the core-only hello should follow.
 */
static int
phonelook_first(struct phonelook *pl)
{
	struct phonelook_result *r = pl->res;
	const struct hello_reply *rep = hellorun_reply(pl->hr);
	enum hellorun_end end = hellorun_end(pl->hr);

	r->end = end;
	r->sent_sni = hellorun_sent_sni(pl->hr);
	if (rep->have_server_hello) {
		r->version = rep->version;
		r->suite = rep->suite;
		r->suite_uncertain = rep->suite_uncertain;
	}
	if (rep->have_alert)
		r->alert = rep->alert_description;
	if (rep->have_certificate && rep->chain != NULL) {
		r->verdict = chain_evaluate(pl->p.phone, pl->p.system,
		    rep->chain, pl->host, time(NULL), pl->p.warn_days);
		r->reason = r->verdict->reason;
	} else if (end != HELLORUN_ANSWERED)
		r->reason = phonelook_end_reason(end);
	else if (rep->status == HELLO_ALERT)
		r->reason = phonelook_alert_reason(rep->alert_description);
	else {
		r->reason = REASON_TLS_HANDSHAKE_FAILED;
		xasprintf(&r->error, "%s",
		    rep->status == HELLO_ERROR ? rep->reason
		                               : "no certificate presented");
	}
	if (end == HELLORUN_IO_ERROR || end == HELLORUN_CONNECT_FAILED)
		xasprintf(&r->error, "%s", strerror(hellorun_errno(pl->hr)));
	return r->suite != 0 && r->suite_uncertain && pl->core.nsuites > 0;
}

/* The core-only hello's answer: does the server serve phones without AES? */
static void
phonelook_core(struct phonelook *pl)
{
	struct phonelook_result *r = pl->res;
	const struct hello_reply *rep = hellorun_reply(pl->hr);
	enum hellorun_end end = hellorun_end(pl->hr);

	if (rep->have_server_hello) {
		r->core_accepted = 1;
		r->core_suite = rep->suite;
		return;
	}
	/* No answer at all says nothing about the suites. */
	if (end == HELLORUN_CONNECT_FAILED || end == HELLORUN_TIMEOUT ||
	    end == HELLORUN_IO_ERROR)
		return;
	r->core_accepted = 0;
	r->uncertain_only = 1;
	if (r->reason == REASON_OK && pl->p.profile->hello_uncertain_warn)
		r->reason = REASON_TLS_SUITE_RISK;
}

/* hellorun's callback: classify, maybe send the core hello, or finish. */
static void
phonelook_hello_cb(struct hellorun *hr, void *arg)
{
	struct phonelook *pl = arg;

	if (pl->res->core_accepted == -2) {
		pl->res->core_accepted = -1;
		if (phonelook_first(pl)) {
			if (phonelook_send(pl, &pl->core) == 0)
				return;
		}
	} else
		phonelook_core(pl);
	phonelook_finish(pl);
}

/* Start the phone's view of one address; see phonelook.h. */
struct phonelook *
phonelook_start(const struct phonelook_params *p, phonelook_cb done, void *arg)
{
	struct phonelook *pl = xcalloc(1, sizeof *pl);
	struct phonelook_result *r;
	char addr[INET6_ADDRSTRLEN] = "?";
	const void *in;

	pl->p = *p;
	if (p->salen > sizeof pl->ss)
		fatalx("%s: address too long", __func__);
	memcpy(&pl->ss, p->sa, p->salen);
	pl->p.sa = (const struct sockaddr *)&pl->ss;
	pl->host = xstrdup(p->host);
	pl->done = done;
	pl->arg = arg;
	task_init(&pl->task, phonelook_deliver, phonelook_discard, pl);
	pl->started_us = loop_now_usec();
	hello_spec_core(&p->profile->hello, &pl->core);
	pl->res = r = xcalloc(1, sizeof *r);
	r->reason = REASON_INTERNAL;
	r->alert = -1;
	r->core_accepted = -2; /* the first hello is under way */
	r->host = xstrdup(p->host);
	in = p->sa->sa_family == AF_INET6
	    ? (const void *)&((const struct sockaddr_in6 *)p->sa)->sin6_addr
	    : (const void *)&((const struct sockaddr_in *)p->sa)->sin_addr;
	(void)inet_ntop(p->sa->sa_family, in, addr, sizeof addr);
	xasprintf(&r->address,
	    p->sa->sa_family == AF_INET6 ? "[%s]:%d" : "%s:%d", addr, p->port);
	r->hello = hello_spec_describe(&p->profile->hello);
	if (phonelook_send(pl, &p->profile->hello) != 0)
		phonelook_finish(pl);
	return pl;
}

/* The numeric address text and port as a sockaddr; 0, or -1. */
int
phonelook_sockaddr(const char *addr, int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof *sin;
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof *sin6;
		return 0;
	}
	return -1;
}

/* Cancel before the callback: none will follow. */
void
phonelook_cancel(struct phonelook *pl)
{
	if (pl != NULL)
		task_cancel(&pl->task);
}

/* Free a result; NULL is a no-op. */
void
phonelook_result_free(struct phonelook_result *r)
{
	if (r == NULL)
		return;
	free(r->host);
	free(r->address);
	free(r->hello);
	free(r->error);
	chain_verdict_free(r->verdict);
	free(r);
}

/* Whether phones fail at this address (a warning is not a failure). */
int
phonelook_failed(const struct phonelook_result *r)
{
	return r != NULL && reason_failed(r->reason);
}

/* Whether the phone got the leaf another handshake's verdict shows. */
int
phonelook_same_leaf(const struct phonelook_result *r,
    const struct chain_verdict *v)
{
	if (r->verdict == NULL || r->verdict->ncerts == 0 || v == NULL ||
	    v->ncerts == 0)
		return 0;
	return strcmp(r->verdict->certs[0].sha256, v->certs[0].sha256) == 0;
}

/* The phone's hello as a step of steps ("TLS hello as PROFILE (no SNI)"). */
void
phonelook_step(const struct phonelook_result *r, struct step_list *steps,
    const char *profile)
{
	struct step *st;
	char *what = phonelook_summary(r);

	st = step_add(steps, STEP_TLS, 1, "TLS hello as %s (%s)", profile,
	    r->sent_sni ? "SNI" : "no SNI");
	step_set_str(&st->address, r->address);
	if (reason_failed(r->reason))
		step_set(st, STEP_FAIL, reason_name(r->reason), "%s", what);
	else if (r->reason != REASON_OK)
		step_set(st, STEP_WARN, reason_name(r->reason), "%s", what);
	else
		step_set(st, STEP_OK, NULL, "%s", what);
	free(what);
}

/* A suite's name for reports. */
static void
phonelook_suite_name(uint16_t suite, char buf[64])
{
	const char *name = hello_suite_name(suite);

	if (name != NULL)
		snprintf(buf, 64, "%s", name);
	else
		snprintf(buf, 64, "suite 0x%04X", suite);
}

/*
 * One line for a step: what the phone's hello got ("TLSv1,
 * TLS_RSA_WITH_RC4_128_SHA, certificate 'CN=…'", "reset", "alert
 * handshake_failure (40)"). Caller frees.
 */
char *
phonelook_summary(const struct phonelook_result *r)
{
	char suite[64], core[64], *out, *tmp;
	const char *alert;

	if (r->suite != 0) {
		phonelook_suite_name(r->suite, suite);
		xasprintf(&out, "%s, %s",
		    hello_version_name(r->version) != NULL
		        ? hello_version_name(r->version)
		        : "?",
		    suite);
	} else
		out = xstrdup("no ServerHello");
	if (r->verdict != NULL && r->verdict->ncerts > 0) {
		xasprintf(&tmp, "%s, certificate '%s'", out,
		    r->verdict->certs[0].subject);
		free(out);
		out = tmp;
	}
	if (r->suite_uncertain && r->core_accepted == 1) {
		phonelook_suite_name(r->core_suite, core);
		xasprintf(&tmp, "%s; with the core suites only: %s", out, core);
		free(out);
		out = tmp;
	} else if (r->uncertain_only) {
		xasprintf(&tmp, "%s; the core suites alone are refused", out);
		free(out);
		out = tmp;
	}
	if (r->alert >= 0) {
		alert = hello_alert_name((uint8_t)r->alert);
		xasprintf(&tmp, "%s; alert %s (%d)", out,
		    alert != NULL ? alert : "unknown", r->alert);
		free(out);
		out = tmp;
	} else if (r->end != HELLORUN_ANSWERED) {
		xasprintf(&tmp, "%s; %s%s%s", out, hellorun_end_name(r->end),
		    r->error != NULL ? ": " : "",
		    r->error != NULL ? r->error : "");
		free(out);
		out = tmp;
	}
	return out;
}

/* "without SNI" or "to the phone's hello", as the hello was sent. */
static const char *
phonelook_how(const struct phonelook_result *r)
{
	return r->sent_sni ? "to the phone's hello" : "without SNI";
}

/* The words for a chain the phone's hello got and phones refuse. */
static void
phonelook_explain_chain(const struct phonelook_result *r,
    const struct trustset *phone, const char *head,
    const struct chain_verdict *pc, char **message, char **remedy)
{
	char *h, *fix;

	if (pc != NULL && pc->ncerts > 0 && !phonelook_same_leaf(r, pc)) {
		xasprintf(&h,
		    "%s: %s, %s answers with '%s' (its default binding), not '%s' as with SNI; phones that send no SNI fail",
		    head, phonelook_how(r), r->host,
		    r->verdict->certs[0].subject, pc->certs[0].subject);
		explain_failure(r->verdict, phone, h, message, &fix);
		xasprintf(remedy,
		    "serve the right certificate to clients without SNI (IIS: a binding with 'Require Server Name Indication' off, or a 0.0.0.0:443 fallback binding; a load balancer: its default certificate)%s%s",
		    fix != NULL ? "; or else: " : "", fix != NULL ? fix : "");
		free(fix);
		free(h);
		return;
	}
	explain_failure(r->verdict, phone, head, message, remedy);
}

/* The words for a phone's hello that got no certificate. */
static void
phonelook_explain_refused(const struct phonelook_result *r, const char *head,
    const struct chain_verdict *pc, char **message, char **remedy)
{
	char *what = phonelook_summary(r);

	switch (r->reason) {
	case REASON_TLS_RESET:
		xasprintf(message,
		    "%s: %s, %s resets the connection (the phone's hello: %s)%s",
		    head, phonelook_how(r), r->host, r->hello,
		    pc != NULL && !r->sent_sni
		        ? "; phones that send no SNI fail, while a client with SNI gets a certificate"
		        : "");
		*remedy = xstrdup(
		    "serve a certificate to clients without SNI (IIS: a binding with 'Require Server Name Indication' off, or a 0.0.0.0:443 fallback binding; a load balancer: a default certificate)");
		break;
	case REASON_TLS_NO_COMMON_SUITE:
		xasprintf(message,
		    "%s: %s accepts none of the phones' cipher suites (%s; the phone's hello: %s)",
		    head, r->host, what, r->hello);
		*remedy = xstrdup(
		    "phones offer only RSA key exchange over TLS 1.0: enable TLS_RSA_WITH_3DES_EDE_CBC_SHA (and TLS_RSA_WITH_AES_128_CBC_SHA) for TLS 1.0 on the endpoint, with an RSA certificate (not ECDSA)");
		break;
	case REASON_TLS_VERSION_UNSUPPORTED:
		xasprintf(message,
		    "%s: %s refuses the phones' TLS version (%s; the phone's hello: %s)",
		    head, r->host, what, r->hello);
		*remedy = xstrdup(
		    "allow TLS 1.0 on the endpoint the phones use (IIS SChannel settings or the load balancer's TLS profile)");
		break;
	default:
		xasprintf(message, "%s: the phone's hello to %s failed (%s)",
		    head, r->address, what);
		*remedy = xstrdup(
		    "check the endpoint's TLS settings for TLS 1.0 clients without SNI");
		break;
	}
	free(what);
	/* As the words for a chain (explain.c): what phones log. */
	if (reason_wininet(r->reason) != 0) {
		xasprintf(&what, "%s. Phones log errorCode=%d (0x%08X).",
		    *message, reason_wininet(r->reason),
		    reason_hresult(r->reason));
		free(*message);
		*message = what;
	}
}

/*
 * Word the phone's view for a report that already has another
 * handshake's verdict pc (with SNI and modern settings; NULL if none).
 * head opens a failure ("phones cannot use EWS at URL (role)"). Returns
 * the reason the phone's view adds: REASON_OK when it adds nothing (all
 * fine, the same certificate as pc, or only-uncertain suites reported as
 * information); a failure with *message (starting with head) and
 * *remedy; or REASON_TLS_SUITE_RISK with *message the risk alone (no
 * head) and *remedy. Strings: caller frees; NULL when REASON_OK.
 */
enum reason
phonelook_explain(const struct phonelook_result *r,
    const struct trustset *phone, const char *head,
    const struct chain_verdict *pc, char **message, char **remedy)
{
	char suite[64];

	*message = *remedy = NULL;
	if (r->reason == REASON_TLS_SUITE_RISK) {
		phonelook_suite_name(r->suite, suite);
		xasprintf(message,
		    "of the phones' cipher suites %s accepts only %s, which no source shows phones offering (docs/phone-tls-client.md); phones without it fail with 12157",
		    r->host, suite);
		*remedy = xstrdup(
		    "also enable TLS_RSA_WITH_3DES_EDE_CBC_SHA for TLS 1.0 on the endpoint");
		return r->reason;
	}
	if (!reason_failed(r->reason))
		return REASON_OK;
	if (r->verdict != NULL) {
		if (phonelook_same_leaf(r, pc) && pc->reason == r->reason)
			return REASON_OK;
		phonelook_explain_chain(r, phone, head, pc, message, remedy);
	} else
		phonelook_explain_refused(r, head, pc, message, remedy);
	return r->reason;
}
