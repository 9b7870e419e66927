/*
 * addrcheck: owns what one address behind an EWS URL's name shows a phone
 * before it signs in — the unauthenticated request pinned to it, the
 * judgement of its chain, the 401's offers — and the wording of that
 * address's failure. urlcheck combines the addresses of a name.
 */
#include <sys/socket.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "addrcheck.h"
#include "ews.h"
#include "explain.h"
#include "http.h"
#include "task.h"
#include "tlscapture.h"
#include "xmalloc.h"

struct addrcheck {
	struct addrcheck_params p; /* borrowed */
	struct http_req *req;
	struct tlscapture *cap;
	struct phonelook *look;
	struct addrcheck_result *res;
	addrcheck_done_cb done;
	void *arg;
	struct task task; /* running, finishing, cancelled (task.h) */
};

/*
 * The one sentence every EWS failure is said in: where phones fail, what
 * happened, and what they log. Caller frees.
 */
char *
addrcheck_sentence(const char *url, const char *role, enum reason reason,
    const char *what)
{
	char *s;

	if (reason_wininet(reason) != 0)
		xasprintf(&s,
		    "phones cannot use EWS at %s (%s): %s. Phones log errorCode=%d (0x%08X).",
		    url, role, what, reason_wininet(reason),
		    reason_hresult(reason));
	else
		xasprintf(&s, "phones cannot use EWS at %s (%s): %s.", url,
		    role, what);
	return s;
}

/* Free a result; NULL is a no-op. */
void
addrcheck_result_free(struct addrcheck_result *r)
{
	if (r == NULL)
		return;
	free(r->address);
	free(r->what);
	free(r->message);
	free(r->remedy);
	free(r->connected);
	free(r->tls_version);
	free(r->auth_offered);
	chain_verdict_free(r->verdict);
	phonelook_result_free(r->phone);
	step_list_free(&r->steps);
	free(r);
}

/* Free the check (not its delivered result). */
static void
addrcheck_free(struct addrcheck *ac)
{
	http_req_free(ac->req);
	tlscapture_free(ac->cap);
	phonelook_cancel(ac->look);
	addrcheck_result_free(ac->res);
	free(ac);
}

/* Set the result's failure: reason, the phrase, the sentence, remedy. */
static void addrcheck_fail(struct addrcheck *, enum reason, const char *,
    const char *, ...) __attribute__((format(printf, 4, 5)));

static void
addrcheck_fail(struct addrcheck *ac, enum reason reason, const char *remedy,
    const char *fmt, ...)
{
	struct addrcheck_result *r = ac->res;
	va_list ap;

	r->reason = reason;
	free(r->what);
	va_start(ap, fmt);
	xvasprintf(&r->what, fmt, ap);
	va_end(ap);
	free(r->message);
	r->message = addrcheck_sentence(ac->p.url, ac->p.role, reason, r->what);
	free(r->remedy);
	r->remedy = remedy != NULL ? xstrdup(remedy) : NULL;
}

/*
 * Map a transport failure (no HTTP answer) of req, made to addr:port, to
 * a reason; *what says it in a phrase (caller frees), *remedy what to
 * fix (static, or NULL). The phone profile's TLS ceiling makes "no
 * version in common" the case of an Exchange hardened against TLS 1.0.
 */
enum reason
addrcheck_transport(const struct http_req *req, const char *addr, int port,
    const struct config_profile *profile, char **what, const char **remedy)
{
	enum http_status hs = http_req_status(req);
	const char *err = http_req_error(req);

	err = err != NULL ? err : http_status_name(hs);
	*remedy = NULL;
	switch (hs) {
	case HTTP_ERR_CONNECT:
		*remedy =
		    "check the EWS URL, the firewall and the load balancer between the phones' network and the server";
		xasprintf(what, "the TCP connection to %s port %d failed (%s)",
		    addr, port, err);
		return REASON_CONNECT_FAILED;
	case HTTP_ERR_CONNECT_TIMEOUT:
	case HTTP_ERR_TIMEOUT:
	case HTTP_ERR_STALLED:
		*remedy =
		    "check the server and the network path from the phones' network";
		xasprintf(what, "no complete answer from %s (%s)", addr, err);
		return REASON_TIMEOUT;
	case HTTP_ERR_TLS_VERSION:
		*remedy =
		    "allow TLS 1.0 on the EWS endpoint the phones use (IIS SChannel settings or the load balancer's TLS profile)";
		xasprintf(what,
		    "the server refuses TLS %s, the highest version phones speak (%s)",
		    profile->tls_max == CONFIG_TLS_1_0
		        ? "1.0"
		        : "versions up to the profile's",
		    err);
		return REASON_TLS_VERSION_UNSUPPORTED;
	case HTTP_ERR_TLS_HANDSHAKE:
	case HTTP_ERR_TLS_VERIFY:
		*remedy = profile->tls_max <= CONFIG_TLS_1_1
		    ? "phones offer only RSA key exchange (AES or 3DES with SHA-1): give the EWS endpoint an RSA certificate (not ECDSA) and enable those cipher suites for TLS 1.0"
		    : "check the TLS configuration of the EWS endpoint";
		xasprintf(what, "the TLS handshake failed (%s)", err);
		return REASON_TLS_HANDSHAKE_FAILED;
	case HTTP_ERR_TOO_LARGE:
	case HTTP_ERR_HEADERS_TOO_LARGE:
		xasprintf(what, "the answer is too large (%s)", err);
		return REASON_RESPONSE_TOO_LARGE;
	default:
		xasprintf(what, "the request failed (%s)", err);
		return REASON_HTTP_ERROR;
	}
}

/* Copy an HTTP request's outcome into a step. */
void
addrcheck_http_step(struct step *st, const struct http_req *req)
{
	step_set_str(&st->method, "POST");
	step_set_str(&st->url, http_req_url(req));
	step_set_str(&st->address, http_req_address(req));
	step_set_str(&st->tls_version, http_req_tls_version(req));
	st->http_status = (int)http_req_code(req);
	http_req_timings(req, &st->timings);
}

/* The request got no HTTP answer: say why, in the result and the step. */
static void
addrcheck_transport_failed(struct addrcheck *ac, struct step *st)
{
	struct addrcheck_result *r = ac->res;
	enum http_status hs = http_req_status(ac->req);
	const char *remedy, *err = http_req_error(ac->req);
	char *what;

	r->reason = addrcheck_transport(ac->req, ac->p.addr, ac->p.port,
	    ac->p.profile, &what, &remedy);
	r->unreachable =
	    hs == HTTP_ERR_CONNECT || hs == HTTP_ERR_CONNECT_TIMEOUT;
	free(r->what);
	r->what = what;
	free(r->message);
	r->message =
	    addrcheck_sentence(ac->p.url, ac->p.role, r->reason, r->what);
	free(r->remedy);
	r->remedy = remedy != NULL ? xstrdup(remedy) : NULL;
	step_set(st, STEP_FAIL, reason_name(r->reason), "%s",
	    err != NULL ? err : http_status_name(hs));
}

/*
 * The system store's verdict on a line of its own, after the phones'
 * (which decides): the two policies may disagree either way, and each
 * says so with its reason.
 */
static void
addrcheck_system_step(struct addrcheck *ac)
{
	const struct chain_verdict *v = ac->res->verdict;
	struct step *st;

	st = step_add(&ac->res->steps, STEP_TLS, 1,
	    "certificate under the system store (PCs)");
	explain_pc_step(st, v);
}

/*
 * Judge the captured chain; return 0 when phones trust it. A refused
 * chain's phrase names the address and the leaf's issuer, for the
 * message of a name whose addresses disagree.
 */
static int
addrcheck_judge(struct addrcheck *ac)
{
	struct addrcheck_result *r = ac->res;
	const struct certinfo *leaf;
	struct step *st;
	char *msg = NULL, *fix = NULL;
	enum reason risk;

	r->verdict = chain_evaluate(ac->p.phone, ac->p.system,
	    tlscapture_chain(ac->cap), ac->p.host, time(NULL), ac->p.warn_days);
	st = step_add(&r->steps, STEP_TLS, 1, "certificate under %s (phones)",
	    ac->p.profile->name);
	addrcheck_system_step(ac);
	explain_verdict(r->verdict, ac->p.phone, ac->p.url, ac->p.role, &msg,
	    &fix);
	if (r->verdict->reason != REASON_OK) {
		r->reason = r->verdict->reason;
		free(r->message);
		r->message = msg;
		free(r->remedy);
		r->remedy = fix;
		leaf = r->verdict->ncerts > 0 ? &r->verdict->certs[0] : NULL;
		free(r->what);
		xasprintf(&r->what, "a certificate issued by '%s' (%s)",
		    leaf != NULL && leaf->issuer != NULL ? leaf->issuer : "?",
		    reason_name(r->reason));
		step_set(st, STEP_FAIL, reason_name(r->reason), "%s", msg);
		return -1;
	}
	if (r->verdict->findings != 0) {
		/*
		 * A certain failure on a known date comes before the risks
		 * that depend on the phone's firmware; a failure met before
		 * (the handshake) stays the address's reason.
		 */
		risk = r->verdict->findings &
		        CHAIN_FINDING_BIT(CHAIN_FINDING_EXPIRING)
		    ? REASON_CERT_EXPIRING
		    : REASON_CERT_PHONE_RISK;
		/* explain_verdict's message names the findings already. */
		step_set(st, STEP_WARN, reason_name(risk), "%s", msg);
		if (r->reason == REASON_OK) {
			r->reason = risk;
			free(r->remedy);
			r->remedy = fix;
			fix = NULL;
		}
	} else
		step_set(st, STEP_OK, NULL, "%s", msg);
	free(msg);
	free(fix);
	return 0;
}

/*
 * What a phone needs of the unauthenticated answer: Exchange asks for
 * authentication (401) and offers a scheme phones sign in with.
 */
static void
addrcheck_offers(struct addrcheck *ac)
{
	struct addrcheck_result *r = ac->res;

	if (r->http_status != 401)
		addrcheck_fail(ac, REASON_HTTP_ERROR,
		    "check that the URL is the EWS endpoint (/EWS/Exchange.asmx) and that Windows authentication is on",
		    "EWS answered HTTP %ld where Exchange asks for authentication (401)",
		    r->http_status);
	else if (!r->ntlm)
		addrcheck_fail(ac, REASON_AUTH_NTLM_NOT_OFFERED,
		    "enable Windows authentication (NTLM) on the EWS virtual directory: Set-WebServicesVirtualDirectory -WindowsAuthentication $true",
		    "EWS offers only %s; phones can sign in with NTLM only",
		    r->auth_offered);
}

/* The queued delivery: hand the result over, then free the check. */
static void
addrcheck_deliver(void *arg)
{
	struct addrcheck *ac = arg;
	struct addrcheck_result *r = ac->res;

	ac->res = NULL;
	ac->done(r, ac->arg);
	addrcheck_free(ac);
}

/* A cancelled check: stop its request and free it, with no delivery. */
static void
addrcheck_discard(void *arg)
{
	struct addrcheck *ac = arg;

	http_req_cancel(ac->req);
	addrcheck_free(ac);
}

/*
 * What the phone's own hello to this address got, against the probe's
 * handshake (with SNI): a refusal, a reset or another certificate fails
 * the address with the phone's code; only-uncertain suites may be a
 * warning. Returns -1 when the address failed.
 */
static int
addrcheck_phone(struct addrcheck *ac)
{
	struct addrcheck_result *r = ac->res;
	char *head, *msg, *fix;
	enum reason why;

	if (r->phone == NULL)
		return 0;
	xasprintf(&head, "phones cannot use EWS at %s (%s)", ac->p.url,
	    ac->p.role);
	why = phonelook_explain(r->phone, ac->p.phone, head, r->verdict, &msg,
	    &fix);
	free(head);
	if (why == REASON_OK ||
	    (reason_warning(why) && r->reason != REASON_OK)) {
		free(msg);
		free(fix);
		return 0;
	}
	r->reason = why;
	free(r->message);
	r->message = msg;
	free(r->remedy);
	r->remedy = fix;
	if (reason_failed(why)) {
		free(r->what);
		xasprintf(&r->what, "the phone's own hello got %s",
		    reason_name(why));
		return -1;
	}
	return 0;
}

/* The answer: transport, chain, 401 offers. */
static void
addrcheck_answer(struct addrcheck *ac)
{
	struct http_req *req = ac->req;
	struct addrcheck_result *r = ac->res;
	const char *offers[8];
	struct step *st;
	size_t n;
	int bits;

	st = step_add(&r->steps, STEP_HTTP, 1, "POST %s (no credentials)",
	    ac->p.url);
	addrcheck_http_step(st, req);
	r->timings = st->timings;
	step_set_str(&r->tls_version, http_req_tls_version(req));
	step_set_str(&r->connected, http_req_address(req));
	if (http_req_status(req) != HTTP_DONE) {
		addrcheck_transport_failed(ac, st);
		/* A chain seen before the failure is still judged. */
		if (tlscapture_chain(ac->cap) != NULL &&
		    r->reason == REASON_TLS_HANDSHAKE_FAILED)
			(void)addrcheck_judge(ac);
		/* The phone's own refusal says more than the probe's. */
		if (phonelook_failed(r->phone) &&
		    r->phone->reason != REASON_CONNECT_FAILED &&
		    r->phone->reason != REASON_TIMEOUT)
			(void)addrcheck_phone(ac);
	} else {
		r->http_status = http_req_code(req);
		n = http_req_header_values(req, "WWW-Authenticate", offers, 8);
		bits = ews_auth_schemes(offers, n);
		r->auth_offered = ews_auth_names(bits);
		r->ntlm = ews_auth_phone_ok(bits);
		step_set(st, STEP_OK, NULL, "HTTP %ld over %s; offers %s",
		    r->http_status,
		    r->tls_version != NULL ? r->tls_version : "TLS",
		    r->auth_offered);
		if (addrcheck_judge(ac) == 0 && addrcheck_phone(ac) == 0)
			addrcheck_offers(ac);
	}
}

static void addrcheck_submit(struct addrcheck *);
static int addrcheck_look(struct addrcheck *);

/* http's done callback: judge the answer, deliver. */
static void
addrcheck_http_cb(struct http_req *req, void *arg)
{
	struct addrcheck *ac = arg;

	addrcheck_answer(ac);
	task_finish(&ac->task);
}

/*
 * Start checking one address: the unauthenticated GetFolder pinned to it.
 * libcurl's own checks are off: the capture judges the chain under the
 * profile, and no credential is sent.
 */
struct addrcheck *
addrcheck_start(const struct addrcheck_params *p, addrcheck_done_cb done,
    void *arg)
{
	struct addrcheck *ac = xcalloc(1, sizeof *ac);

	ac->p = *p;
	ac->done = done;
	ac->arg = arg;
	task_init(&ac->task, addrcheck_deliver, addrcheck_discard, ac);
	ac->res = xcalloc(1, sizeof *ac->res);
	ac->res->address = xstrdup(p->addr);
	ac->res->family = strchr(p->addr, ':') != NULL ? AF_INET6 : AF_INET;
	ac->res->reason = REASON_OK;
	step_list_init(&ac->res->steps);
	ac->res->timings.dns_us = ac->res->timings.connect_us = -1;
	ac->res->timings.tls_us = ac->res->timings.first_byte_us = -1;
	ac->res->timings.total_us = -1;

	if (p->profile->hello_enabled && p->phone != NULL &&
	    addrcheck_look(ac) == 0)
		return ac;
	addrcheck_submit(ac);
	return ac;
}

/* The unauthenticated GetFolder pinned to the address. */
static void
addrcheck_submit(struct addrcheck *ac)
{
	const struct addrcheck_params *p = &ac->p;
	char *body = ews_getfolder_request();

	ac->req = http_req_new("POST", p->url);
	http_req_add_header(ac->req, "Content-Type: text/xml; charset=utf-8");
	http_req_add_header(ac->req, "Accept: text/xml");
	http_req_set_body(ac->req, body, strlen(body));
	free(body);
	http_req_pin(ac->req, p->host, p->port, p->addr);
	http_req_set_timeouts(ac->req, p->timeout_ms, p->timeout_ms, 1,
	    p->timeout_ms / 1000 > 0 ? p->timeout_ms / 1000 : 1);
	http_req_set_limits(ac->req, 4u << 20, 64u << 10);
	ac->cap = tlscapture_new(p->profile, p->phone, p->host, 0);
	/*
	 * The phone's own hello got no certificate: the probe speaks as a
	 * PC, so the report still has what PCs get (and the chain).
	 */
	if (ac->res->phone != NULL && ac->res->phone->verdict == NULL &&
	    phonelook_failed(ac->res->phone))
		tlscapture_set_modern(ac->cap);
	http_req_set_verify(ac->req, 0, 0);
	http_req_set_cafile(ac->req, NULL);
	http_req_set_ssl_ctx(ac->req, tlscapture_install, ac->cap);
	http_req_submit(ac->req, addrcheck_http_cb, ac);
}

/* The phone's own hello is back: note it as a step, then the probe. */
static void
addrcheck_look_cb(struct phonelook_result *pr, void *arg)
{
	struct addrcheck *ac = arg;

	ac->look = NULL;
	ac->res->phone = pr;
	phonelook_step(pr, &ac->res->steps, ac->p.profile->name);
	addrcheck_submit(ac);
}

/* Send the profile's own ClientHello first; 0, or -1 to skip it. */
static int
addrcheck_look(struct addrcheck *ac)
{
	struct phonelook_params lp;
	struct sockaddr_storage ss;
	socklen_t len;

	if (phonelook_sockaddr(ac->p.addr, ac->p.port, &ss, &len) != 0)
		return -1;
	memset(&lp, 0, sizeof lp);
	lp.host = ac->p.host;
	lp.port = ac->p.port;
	lp.sa = (const struct sockaddr *)&ss;
	lp.salen = len;
	lp.profile = ac->p.profile;
	lp.phone = ac->p.phone;
	lp.system = ac->p.system;
	lp.timeout_ms = ac->p.timeout_ms;
	lp.warn_days = ac->p.warn_days;
	ac->look = phonelook_start(&lp, addrcheck_look_cb, ac);
	return 0;
}

/* Cancel a check: no callback will follow. NULL is a no-op. */
void
addrcheck_cancel(struct addrcheck *ac)
{
	if (ac != NULL)
		task_cancel(&ac->task);
}
