/*
 * urlcheck: owns the state machine of one EWS URL's probe — DNS, the
 * unauthenticated request, the verdicts, the authenticated request — and
 * the wording of its result. Library callbacks only advance the machine;
 * the decisions live in the step functions below.
 */
#include <stdlib.h>
#include <string.h>

#include "autodiscover.h"
#include "dns.h"
#include "explain.h"
#include "ews.h"
#include "urlcheck.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "task.h"
#include "tlscapture.h"
#include "xmalloc.h"

enum urlcheck_state {
	URLCHECK_DNS,
	URLCHECK_PROBE, /* unauthenticated GetFolder */
	URLCHECK_AUTH, /* GetFolder with NTLM */
};

struct urlcheck {
	enum urlcheck_state state;
	struct urlcheck_params p; /* strings copied below */
	char *url, *role, *account, *password, *dns_servers;
	char *mailbox, *domain;
	char *host;
	int port;
	char *addr;
	struct dns_lookup *lookup;
	struct http_req *req;
	struct tlscapture *cap;
	struct urlcheck_result *res;
	urlcheck_done_cb done;
	void *arg;
	uint64_t started_us;
	struct task task; /* running, finishing, cancelled (task.h) */
};

static void urlcheck_finish(struct urlcheck *);

/* Free the probe (not its result). */
static void
urlcheck_free(struct urlcheck *ep)
{
	if (ep->lookup != NULL)
		dns_cancel(ep->lookup);
	http_req_free(ep->req);
	tlscapture_free(ep->cap);
	free(ep->url);
	free(ep->role);
	free(ep->account);
	xfree_secret(ep->password);
	free(ep->dns_servers);
	free(ep->mailbox);
	free(ep->domain);
	free(ep->host);
	free(ep->addr);
	if (ep->res != NULL)
		urlcheck_result_free(ep->res);
	free(ep);
}

/* Free a result; NULL is a no-op. */
void
urlcheck_result_free(struct urlcheck_result *r)
{
	if (r == NULL)
		return;
	free(r->url);
	free(r->role);
	free(r->address);
	free(r->tls_version);
	free(r->auth_offered);
	free(r->ews_code);
	chain_verdict_free(r->verdict);
	free(r->message);
	free(r->remedy);
	step_list_free(&r->steps);
	free(r);
}

/* Set the result's reason, message and remedy (formatted). */
static void
urlcheck_fail(struct urlcheck *ep, enum reason reason, const char *remedy,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
urlcheck_fail(struct urlcheck *ep, enum reason reason, const char *remedy,
    const char *fmt, ...)
{
	struct urlcheck_result *r = ep->res;
	char *what;
	va_list ap;

	va_start(ap, fmt);
	xvasprintf(&what, fmt, ap);
	va_end(ap);
	r->reason = reason;
	free(r->message);
	if (reason_wininet(reason) != 0)
		xasprintf(&r->message,
		    "phones cannot use EWS at %s (%s): %s. "
		    "Phones log errorCode=%d (0x%08X).",
		    ep->url, ep->role, what, reason_wininet(reason),
		    reason_hresult(reason));
	else
		xasprintf(&r->message, "phones cannot use EWS at %s (%s): %s.",
		    ep->url, ep->role, what);
	free(what);
	free(r->remedy);
	r->remedy = remedy != NULL ? xstrdup(remedy) : NULL;
}

/* Note a warning: phones work, at the risk named by reason. */
static void
urlcheck_risk(struct urlcheck *ep, enum reason reason)
{
	ep->res->warning = 1;
	if (ep->res->risk == REASON_OK)
		ep->res->risk = reason;
}

/*
 * Everything phones need held: the result's reason is ok, or the first
 * warning met (a warning's reason is never ok).
 */
static void
urlcheck_passed(struct urlcheck *ep)
{
	ep->res->reason = ep->res->warning ? ep->res->risk : REASON_OK;
}

/*
 * Append to the message of a URL that works what its certificate risks
 * for phones, finding by finding: a warning says why it is one.
 */
static void
urlcheck_say_risks(struct urlcheck *ep)
{
	struct urlcheck_result *r = ep->res;
	char *risks, *msg;

	if (r->verdict == NULL ||
	    (risks = chain_risks_text(r->verdict)) == NULL)
		return;
	xasprintf(&msg, "%s; but phones are at risk: %s", r->message, risks);
	free(r->message);
	r->message = msg;
	free(risks);
}

/* Copy an HTTP request's outcome into a step. */
static void
urlcheck_http_step(struct step *st, struct http_req *req)
{
	step_set_str(&st->method, "POST");
	step_set_str(&st->url, http_req_url(req));
	step_set_str(&st->address, http_req_address(req));
	step_set_str(&st->tls_version, http_req_tls_version(req));
	st->http_status = (int)http_req_code(req);
	http_req_timings(req, &st->timings);
}

/*
 * Map a transport failure (no HTTP answer) to a reason and say it. The
 * phone profile's TLS ceiling makes "no version in common" the case of an
 * Exchange hardened against TLS 1.0.
 */
static void
urlcheck_transport_failed(struct urlcheck *ep, struct step *st)
{
	enum http_status hs = http_req_status(ep->req);
	const char *err = http_req_error(ep->req);

	err = err != NULL ? err : http_status_name(hs);
	switch (hs) {
	case HTTP_ERR_CONNECT:
		urlcheck_fail(ep, REASON_CONNECT_FAILED,
		    "check the EWS URL, the firewall and the load balancer "
		    "between the phones' network and the server",
		    "the TCP connection to %s port %d failed (%s)", ep->addr,
		    ep->port, err);
		break;
	case HTTP_ERR_CONNECT_TIMEOUT:
	case HTTP_ERR_TIMEOUT:
	case HTTP_ERR_STALLED:
		urlcheck_fail(ep, REASON_TIMEOUT,
		    "check the server and the network path from the phones' "
		    "network",
		    "no complete answer from %s (%s)", ep->addr, err);
		break;
	case HTTP_ERR_TLS_VERSION:
		urlcheck_fail(ep, REASON_TLS_VERSION_UNSUPPORTED,
		    "allow TLS 1.0 on the EWS endpoint the phones use (IIS "
		    "SChannel settings or the load balancer's TLS profile)",
		    "the server refuses TLS %s, the highest version phones "
		    "speak (%s)",
		    ep->p.profile->tls_max == CONFIG_TLS_1_0
		        ? "1.0"
		        : "versions up to the profile's",
		    err);
		break;
	default:
		if (hs == HTTP_ERR_TLS_HANDSHAKE || hs == HTTP_ERR_TLS_VERIFY)
			urlcheck_fail(ep, REASON_TLS_HANDSHAKE_FAILED,
			    ep->p.profile->tls_max <= CONFIG_TLS_1_1
			        ? "phones offer only RSA key exchange (AES or "
			          "3DES "
			          "with SHA-1): give the EWS endpoint an RSA "
			          "certificate (not ECDSA) and enable those "
			          "cipher "
			          "suites for TLS 1.0"
			        : "check the TLS configuration of the EWS "
			          "endpoint",
			    "the TLS handshake failed (%s)", err);
		else if (hs == HTTP_ERR_TOO_LARGE ||
		    hs == HTTP_ERR_HEADERS_TOO_LARGE)
			urlcheck_fail(ep, REASON_RESPONSE_TOO_LARGE, NULL,
			    "the answer is too large (%s)", err);
		else
			urlcheck_fail(ep, REASON_HTTP_ERROR, NULL,
			    "the request failed (%s)", err);
		break;
	}
	step_set(st, STEP_FAIL, reason_name(ep->res->reason), "%s", err);
}

/*
 * The system store's verdict on a line of its own, after the phones'
 * (which decides): the two policies may disagree either way, and each
 * says so with its reason.
 */
static void
urlcheck_system_step(struct urlcheck *ep)
{
	const struct chain_verdict *v = ep->res->verdict;
	struct step *st;

	st = step_add(&ep->res->steps, STEP_TLS, 1,
	    "certificate under the system store (PCs)");
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

/* Judge the captured chain; return 0 when phones trust it. */
static int
urlcheck_judge(struct urlcheck *ep)
{
	struct urlcheck_result *r = ep->res;
	STACK_OF(X509) *chain = tlscapture_chain(ep->cap);
	struct step *st;
	char *msg = NULL, *fix = NULL;

	r->verdict = chain_evaluate(ep->p.phone, ep->p.system, chain, ep->host,
	    time(NULL), ep->p.warn_days);
	st = step_add(&r->steps, STEP_TLS, 1, "certificate under %s (phones)",
	    ep->p.profile->name);
	urlcheck_system_step(ep);
	explain_verdict(r->verdict, ep->p.phone, ep->url, ep->role, &msg, &fix);
	if (r->verdict->reason != REASON_OK) {
		r->reason = r->verdict->reason;
		free(r->message);
		free(r->remedy);
		r->message = msg;
		r->remedy = fix;
		step_set(st, STEP_FAIL, reason_name(r->reason), "%s",
		    r->message);
		return -1;
	}
	if (r->verdict->findings != 0) {
		/*
		 * A certain failure on a known date comes before the risks
		 * that depend on the phone's firmware.
		 */
		urlcheck_risk(ep,
		    r->verdict->findings &
		            CHAIN_FINDING_BIT(CHAIN_FINDING_EXPIRING)
		        ? REASON_CERT_EXPIRING
		        : REASON_CERT_PHONE_RISK);
		/* explain_verdict's message names the findings already. */
		step_set(st, STEP_WARN, reason_name(r->risk), "%s", msg);
		free(r->remedy);
		r->remedy = fix;
		fix = NULL;
	} else
		step_set(st, STEP_OK, NULL, "%s", msg);
	free(msg);
	free(fix);
	return 0;
}

/* Start an EWS request (unauthenticated, or with NTLM when auth). */
static void urlcheck_http_cb(struct http_req *, void *);

static void
urlcheck_submit(struct urlcheck *ep, int auth)
{
	char *body = ews_getfolder_request();

	http_req_free(ep->req);
	tlscapture_free(ep->cap);
	ep->req = http_req_new("POST", ep->url);
	http_req_add_header(ep->req, "Content-Type: text/xml; charset=utf-8");
	http_req_add_header(ep->req, "Accept: text/xml");
	http_req_set_body(ep->req, body, strlen(body));
	free(body);
	http_req_pin(ep->req, ep->host, ep->port, ep->addr);
	http_req_set_timeouts(ep->req, ep->p.timeout_ms, ep->p.timeout_ms, 1,
	    ep->p.timeout_ms / 1000 > 0 ? ep->p.timeout_ms / 1000 : 1);
	http_req_set_limits(ep->req, 4u << 20, 64u << 10);
	/*
	 * libcurl's own checks are off: the capture judges the chain under
	 * the profile. The authenticated request enforces the phone verdict
	 * in the handshake itself, so the credential never goes to a server
	 * phones would refuse.
	 */
	ep->cap = tlscapture_new(ep->p.profile, ep->p.phone, ep->host, auth);
	http_req_set_verify(ep->req, 0, 0);
	http_req_set_cafile(ep->req, NULL);
	http_req_set_ssl_ctx(ep->req, tlscapture_install, ep->cap);
	if (auth)
		http_req_set_ntlm(ep->req, ep->account, ep->password);
	ep->state = auth ? URLCHECK_AUTH : URLCHECK_PROBE;
	http_req_submit(ep->req, urlcheck_http_cb, ep);
}

/*
 * No account is configured: what a phone needs short of signing in (a
 * trusted chain, a 401 that offers NTLM) holds, so the URL is ok; the
 * skipped sign-in is a step of its own so nobody mistakes it for tested.
 */
static void
urlcheck_unsigned(struct urlcheck *ep)
{
	struct urlcheck_result *r = ep->res;
	struct step *st;

	st = step_add(&r->steps, STEP_HTTP, 1, "POST %s (NTLM)", ep->url);
	step_set(st, STEP_SKIP, NULL,
	    "sign-in not tested: the mailbox has no account and credential");
	urlcheck_passed(ep);
	free(r->message);
	xasprintf(&r->message,
	    "phones can reach EWS at %s (%s): TLS trusted, NTLM offered "
	    "(sign-in not tested)",
	    ep->url, ep->role);
	urlcheck_say_risks(ep);
	urlcheck_finish(ep);
}

/*
 * Whether the mailbox's credential may go to this URL's host: a URL the
 * admin fixed, or a host the Autodiscover rule admits (the mailbox's
 * domain or a name under it, or signin_allow; never a public suffix).
 * Phones trust whatever Autodiscover names; the daemon signs in only
 * where the admin said its mailbox lives (docs/credentials.md).
 */
static int
urlcheck_signin_allowed(const struct urlcheck *ep)
{
	char *host;
	int ok;

	if (ep->p.signin_fixed)
		return 1;
	if (ep->domain == NULL)
		return 0;
	host = dns_lower(xstrdup(ep->host));
	ok = autodiscover_host_allowed(host, ep->domain, ep->p.signin_allow);
	free(host);
	return ok;
}

/*
 * The host may not have the credential: everything a phone needs short of
 * signing in holds, the sign-in is skipped with a reason, and the URL is a
 * warning that says how to admit the host — never "NTLM accepted".
 */
static void
urlcheck_refuse_signin(struct urlcheck *ep)
{
	struct urlcheck_result *r = ep->res;
	struct step *st;

	st = step_add(&r->steps, STEP_HTTP, 1, "POST %s (NTLM)", ep->url);
	step_set(st, STEP_SKIP, "signin_not_allowed",
	    "sign-in not tested: %s is outside the mailbox's domain %s and "
	    "not in signin_allow (add it to signin_allow in [mailbox %s] "
	    "if it is your Exchange)",
	    ep->host, ep->domain != NULL ? ep->domain : "(none)",
	    ep->mailbox != NULL ? ep->mailbox : "?");
	urlcheck_risk(ep, REASON_SIGNIN_NOT_ALLOWED);
	urlcheck_passed(ep);
	r->signin_refused = 1;
	free(r->message);
	xasprintf(&r->message,
	    "phones can reach EWS at %s (%s): TLS trusted, NTLM offered; "
	    "sign-in not tested: the credential goes only to hosts in %s "
	    "or in signin_allow",
	    ep->url, ep->role, ep->domain != NULL ? ep->domain : "(none)");
	urlcheck_say_risks(ep);
	free(r->remedy);
	xasprintf(&r->remedy,
	    "if %s is your Exchange, add it to signin_allow in [mailbox %s]; "
	    "otherwise find out why Autodiscover names it",
	    ep->host, ep->mailbox != NULL ? ep->mailbox : "?");
	urlcheck_finish(ep);
}

/* The unauthenticated answer: chain, 401 offers; then sign in. */
static void
urlcheck_step_probe(struct urlcheck *ep)
{
	struct urlcheck_result *r = ep->res;
	const char *offers[8];
	struct step *st;
	size_t n;
	int bits;

	st = step_add(&r->steps, STEP_HTTP, 1, "POST %s (no credentials)",
	    ep->url);
	urlcheck_http_step(st, ep->req);
	r->timings = st->timings;
	step_set_str(&r->address, http_req_address(ep->req));
	step_set_str(&r->tls_version, http_req_tls_version(ep->req));
	if (http_req_status(ep->req) != HTTP_DONE) {
		urlcheck_transport_failed(ep, st);
		/* A chain seen before the failure is still judged. */
		if (tlscapture_chain(ep->cap) != NULL &&
		    r->reason == REASON_TLS_HANDSHAKE_FAILED)
			(void)urlcheck_judge(ep);
		urlcheck_finish(ep);
		return;
	}
	r->http_status = http_req_code(ep->req);
	n = http_req_header_values(ep->req, "WWW-Authenticate", offers, 8);
	bits = ews_auth_schemes(offers, n);
	free(r->auth_offered);
	r->auth_offered = ews_auth_names(bits);
	step_set(st, STEP_OK, NULL, "HTTP %ld over %s; offers %s",
	    r->http_status, r->tls_version != NULL ? r->tls_version : "TLS",
	    r->auth_offered);
	if (urlcheck_judge(ep) != 0) {
		urlcheck_finish(ep);
		return;
	}
	if (r->http_status != 401) {
		urlcheck_fail(ep, REASON_HTTP_ERROR,
		    "check that the URL is the EWS endpoint "
		    "(/EWS/Exchange.asmx) and that Windows authentication is "
		    "on",
		    "EWS answered HTTP %ld where Exchange asks for "
		    "authentication (401)",
		    r->http_status);
		urlcheck_finish(ep);
		return;
	}
	if (!ews_auth_phone_ok(bits)) {
		urlcheck_fail(ep, REASON_AUTH_NTLM_NOT_OFFERED,
		    "enable Windows authentication (NTLM) on the EWS virtual "
		    "directory: Set-WebServicesVirtualDirectory "
		    "-WindowsAuthentication $true",
		    "EWS offers only %s; phones can sign in with NTLM only",
		    r->auth_offered);
		urlcheck_finish(ep);
		return;
	}
	if (ep->password == NULL) {
		urlcheck_unsigned(ep);
		return;
	}
	if (!urlcheck_signin_allowed(ep)) {
		urlcheck_refuse_signin(ep);
		return;
	}
	urlcheck_submit(ep, 1);
}

/* The authenticated answer: 200 with a successful GetFolder is ok. */
static void
urlcheck_step_auth(struct urlcheck *ep)
{
	struct urlcheck_result *r = ep->res;
	struct ews_answer ans;
	struct step *st;
	const char *body;
	size_t len;

	st = step_add(&r->steps, STEP_HTTP, 1, "POST %s (NTLM as %s)", ep->url,
	    ep->account);
	urlcheck_http_step(st, ep->req);
	if (http_req_status(ep->req) != HTTP_DONE) {
		if (tlscapture_refused(ep->cap))
			urlcheck_fail(ep, REASON_CERT_UNTRUSTED_PHONE, NULL,
			    "the certificate changed between two requests and "
			    "phones do not trust the new one");
		else
			urlcheck_transport_failed(ep, st);
		step_set(st, STEP_FAIL, reason_name(r->reason), "%s",
		    r->message);
		urlcheck_finish(ep);
		return;
	}
	r->http_status = http_req_code(ep->req);
	body = http_req_body(ep->req, &len);
	ews_parse_answer(body, len, &ans);
	step_set_str(&r->ews_code, ans.response_code);
	if (r->http_status == 401)
		urlcheck_fail(ep, REASON_AUTH_FAILED,
		    "check the monitoring account's password (the credential "
		    "file), that it is not locked out, and that it may use EWS",
		    "the account %s was refused with NTLM (HTTP 401)",
		    ep->account);
	else if (ans.outcome == EWS_FAULT || ans.outcome == EWS_ERROR)
		urlcheck_fail(ep, REASON_EWS_FAULT,
		    "check the mailbox and EWS on the server (event log, "
		    "Get-WebServicesVirtualDirectory)",
		    "EWS answered GetFolder(calendar) with %s%s%s%s (HTTP %ld)",
		    ans.response_code != NULL ? ans.response_code : "a fault",
		    ans.message != NULL ? " (" : "",
		    ans.message != NULL ? ans.message : "",
		    ans.message != NULL ? ")" : "", r->http_status);
	else if (r->http_status != 200 || ans.outcome != EWS_SUCCESS)
		urlcheck_fail(ep, REASON_HTTP_ERROR, NULL,
		    "EWS answered HTTP %ld with %s", r->http_status,
		    ews_outcome_name(ans.outcome));
	else {
		urlcheck_passed(ep);
		free(r->message);
		xasprintf(&r->message,
		    "phones can use EWS at %s (%s): TLS "
		    "trusted, NTLM accepted, calendar read",
		    ep->url, ep->role);
		urlcheck_say_risks(ep);
	}
	if (!reason_failed(r->reason))
		step_set(st, STEP_OK, NULL, "HTTP 200, GetFolder %s%s%s",
		    ans.response_code != NULL ? ans.response_code : "",
		    ans.server_version != NULL ? ", server " : "",
		    ans.server_version != NULL ? ans.server_version : "");
	else
		step_set(st, STEP_FAIL, reason_name(r->reason), "%s",
		    r->message);
	ews_answer_clear(&ans);
	urlcheck_finish(ep);
}

/* http's done callback: advance the machine. */
static void
urlcheck_http_cb(struct http_req *req, void *arg)
{
	struct urlcheck *ep = arg;

	if (ep->state == URLCHECK_PROBE)
		urlcheck_step_probe(ep);
	else if (ep->state == URLCHECK_AUTH)
		urlcheck_step_auth(ep);
}

/* The DNS answer: pin the address dns_result_pick chooses, or fail. */
static void
urlcheck_dns_cb(const struct dns_result *dr, void *arg)
{
	struct urlcheck *ep = arg;
	struct step *st;

	ep->lookup = NULL;
	st = step_add(&ep->res->steps, STEP_DNS, 1, "DNS A/AAAA %s", ep->host);
	step_set_str(&st->url, ep->host);
	st->timings.total_us = dr->elapsed_us;
	if (dr->status == DNS_TIMEOUT) {
		/* No answer says nothing about the name: do not blame it. */
		urlcheck_fail(ep, REASON_DNS_TIMEOUT,
		    "check that the DNS servers ewsprobed asks (dns_servers, "
		    "else /etc/resolv.conf) answer, and their load; the name "
		    "itself may well exist",
		    "the DNS servers did not answer for %s in time", ep->host);
		step_set(st, STEP_FAIL, reason_name(REASON_DNS_TIMEOUT), "%s",
		    dns_status_name(dr->status));
		urlcheck_finish(ep);
		return;
	}
	if (dr->status != DNS_OK || dr->naddrs == 0) {
		urlcheck_fail(ep, REASON_DNS_FAILED,
		    "publish the EWS host name in the DNS the phones use",
		    "the name %s does not resolve (%s)", ep->host,
		    dns_status_name(dr->status));
		step_set(st, STEP_FAIL, reason_name(REASON_DNS_FAILED), "%s",
		    dns_status_name(dr->status));
		urlcheck_finish(ep);
		return;
	}
	ep->addr = xstrdup(dns_result_pick(dr)->text);
	step_set_str(&st->address, ep->addr);
	step_set(st, STEP_OK, NULL, "%s", ep->addr);
	urlcheck_submit(ep, 0);
}

/* The result is ready: deliver it on the next loop turn (task.h). */
static void
urlcheck_finish(struct urlcheck *ep)
{
	ep->res->duration_us = (int64_t)(loop_now_usec() - ep->started_us);
	task_finish(&ep->task);
}

/* The queued delivery: hand the result over, then free the check. */
static void
urlcheck_deliver(void *arg)
{
	struct urlcheck *ep = arg;
	struct urlcheck_result *r = ep->res;

	ep->res = NULL;
	ep->done(r, ep->arg);
	urlcheck_free(ep);
}

/* A cancelled check: stop its request and free it, with no delivery. */
static void
urlcheck_discard(void *arg)
{
	struct urlcheck *ep = arg;

	http_req_cancel(ep->req);
	urlcheck_free(ep);
}

/* Start probing one EWS URL; see urlcheck.h. */
struct urlcheck *
urlcheck_start(const struct urlcheck_params *p, urlcheck_done_cb done,
    void *arg)
{
	struct urlcheck *ep = xcalloc(1, sizeof *ep);
	struct http_url u;

	ep->p = *p;
	ep->url = xstrdup(p->url);
	ep->role = xstrdup(p->role);
	ep->account = p->account != NULL ? xstrdup(p->account) : NULL;
	ep->password = p->password != NULL ? xstrdup(p->password) : NULL;
	ep->dns_servers =
	    p->dns_servers != NULL ? xstrdup(p->dns_servers) : NULL;
	ep->mailbox = p->mailbox != NULL ? xstrdup(p->mailbox) : NULL;
	ep->domain = p->domain != NULL ? dns_lower(xstrdup(p->domain)) : NULL;
	ep->done = done;
	ep->arg = arg;
	task_init(&ep->task, urlcheck_deliver, urlcheck_discard, ep);
	ep->started_us = loop_now_usec();
	ep->res = xcalloc(1, sizeof *ep->res);
	step_list_init(&ep->res->steps);
	ep->res->timings.dns_us = ep->res->timings.connect_us = -1;
	ep->res->timings.tls_us = ep->res->timings.first_byte_us = -1;
	ep->res->timings.total_us = -1;
	ep->res->url = xstrdup(p->url);
	ep->res->role = xstrdup(p->role);
	ep->res->reason = REASON_INTERNAL;

	if (http_url_split(p->url, &u) != NULL) {
		urlcheck_fail(ep, REASON_HTTP_ERROR, NULL,
		    "'%s' is not a usable URL", p->url);
		urlcheck_finish(ep);
	} else {
		ep->host = u.host;
		ep->port = u.port;
		u.host = NULL;
		http_url_clear(&u);
		ep->state = URLCHECK_DNS;
		ep->lookup = dns_lookup_addr(ep->host, ep->dns_servers,
		    urlcheck_dns_cb, ep);
	}
	return ep;
}

/* Cancel a check: no callback will follow. */
void
urlcheck_cancel(struct urlcheck *ep)
{
	if (ep != NULL)
		task_cancel(&ep->task);
}
