/*
 * urlcheck: owns the state machine of one EWS URL's probe — DNS, one
 * addrcheck per address of the name, their combination into the URL's
 * verdict, the authenticated request — and the wording of its result.
 * Library callbacks only advance the machine; the decisions live in the
 * step functions below.
 */
#include <sys/socket.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "addrcheck.h"
#include "addrset.h"
#include "autodiscover.h"
#include "dns.h"
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
	URLCHECK_ADDRS, /* every address: unauthenticated GetFolder */
	URLCHECK_AUTH, /* GetFolder with NTLM */
};

struct urlcheck {
	enum urlcheck_state state;
	struct urlcheck_params p; /* strings copied below */
	char *url, *role, *account, *password, *dns_servers;
	char *mailbox, *domain;
	char *host;
	int port;
	struct urlcheck_slot *slots; /* one per address probed */
	struct addrcheck_result **results; /* theirs, as they end */
	size_t nslots, npending;
	char *addr; /* signed in at */
	int mixed; /* some addresses failed: the URL failed already */
	char *note; /* what the addresses add to a message of success */
	struct dns_lookup *lookup;
	struct http_req *req;
	struct tlscapture *cap;
	struct urlcheck_result *res;
	urlcheck_done_cb done;
	void *arg;
	uint64_t started_us;
	struct task task; /* running, finishing, cancelled (task.h) */
};

/* One address of the name and its check while it runs (results[i] then). */
struct urlcheck_slot {
	struct urlcheck *ep;
	char *addr;
	struct addrcheck *ac;
};

static void urlcheck_finish(struct urlcheck *);

/* Free the probe (not its result). */
static void
urlcheck_free(struct urlcheck *ep)
{
	size_t i;

	if (ep->lookup != NULL)
		dns_cancel(ep->lookup);
	http_req_free(ep->req);
	tlscapture_free(ep->cap);
	for (i = 0; i < ep->nslots; i++) {
		addrcheck_cancel(ep->slots[i].ac);
		addrcheck_result_free(ep->results[i]);
		free(ep->slots[i].addr);
	}
	free(ep->slots);
	free(ep->results);
	free(ep->url);
	free(ep->role);
	free(ep->account);
	xfree_secret(ep->password);
	free(ep->dns_servers);
	free(ep->mailbox);
	free(ep->domain);
	free(ep->host);
	free(ep->addr);
	free(ep->note);
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
	addrset_summary_free(r->addrs, r->naddrs);
	free(r);
}

/*
 * The set of addresses where phones fail, sorted and joined by ",", or
 * NULL when there is none (addrset_failing). Caller frees.
 */
char *
urlcheck_result_failing(const struct urlcheck_result *u)
{
	return u->nfailed == 0 ? NULL : addrset_failing(u->addrs, u->naddrs);
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
	r->message = addrcheck_sentence(ep->url, ep->role, reason, what);
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

	if (r->verdict != NULL &&
	    (risks = chain_risks_text(r->verdict)) != NULL) {
		xasprintf(&msg, "%s; but phones are at risk: %s", r->message,
		    risks);
		free(r->message);
		r->message = msg;
		free(risks);
	}
	if (ep->note != NULL) {
		xasprintf(&msg, "%s; %s", r->message, ep->note);
		free(r->message);
		r->message = msg;
	}
}

/* The sign-in got no HTTP answer: say why. */
static void
urlcheck_transport_failed(struct urlcheck *ep)
{
	const char *remedy;
	char *what;
	enum reason reason;

	reason = addrcheck_transport(ep->req, ep->addr, ep->port, ep->p.profile,
	    &what, &remedy);
	urlcheck_fail(ep, reason, remedy, "%s", what);
	free(what);
}

/* Start the EWS request with NTLM, at the address phones accept. */
static void urlcheck_http_cb(struct http_req *, void *);

static void
urlcheck_submit(struct urlcheck *ep)
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
	 * libcurl's own checks are off: the capture enforces the phone
	 * verdict in the handshake itself, so the credential never goes to
	 * a server phones would refuse.
	 */
	ep->cap = tlscapture_new(ep->p.profile, ep->p.phone, ep->host, 1);
	http_req_set_verify(ep->req, 0, 0);
	http_req_set_cafile(ep->req, NULL);
	http_req_set_ssl_ctx(ep->req, tlscapture_install, ep->cap);
	http_req_set_ntlm(ep->req, ep->account, ep->password);
	ep->state = URLCHECK_AUTH;
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
	if (ep->mixed) {
		urlcheck_finish(ep);
		return;
	}
	urlcheck_passed(ep);
	free(r->message);
	xasprintf(&r->message,
	    "phones can reach EWS at %s (%s): TLS trusted, NTLM offered (sign-in not tested)",
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
	    "sign-in not tested: %s is outside the mailbox's domain %s and not in signin_allow (add it to signin_allow in [mailbox %s] if it is your Exchange)",
	    ep->host, ep->domain != NULL ? ep->domain : "(none)",
	    ep->mailbox != NULL ? ep->mailbox : "?");
	if (ep->mixed) {
		urlcheck_finish(ep);
		return;
	}
	urlcheck_risk(ep, REASON_SIGNIN_NOT_ALLOWED);
	urlcheck_passed(ep);
	r->signin_refused = 1;
	free(r->message);
	xasprintf(&r->message,
	    "phones can reach EWS at %s (%s): TLS trusted, NTLM offered; sign-in not tested: the credential goes only to hosts in %s or in signin_allow",
	    ep->url, ep->role, ep->domain != NULL ? ep->domain : "(none)");
	urlcheck_say_risks(ep);
	free(r->remedy);
	xasprintf(&r->remedy,
	    "if %s is your Exchange, add it to signin_allow in [mailbox %s]; otherwise find out why Autodiscover names it",
	    ep->host, ep->mailbox != NULL ? ep->mailbox : "?");
	urlcheck_finish(ep);
}

/*
 * The sign-in failed where some addresses had failed already: the
 * sign-in's failure (every phone's) leads, and the message of the bad
 * addresses (mixed, taken over) follows.
 */
static void
urlcheck_besides(struct urlcheck *ep, char *mixed)
{
	struct urlcheck_result *r = ep->res;
	char *t;

	if (mixed == NULL)
		return;
	xasprintf(&t, "%s Besides, %s", r->message, mixed);
	free(r->message);
	r->message = t;
	free(mixed);
}

/* The authenticated answer: 200 with a successful GetFolder is ok. */
static void
urlcheck_step_auth(struct urlcheck *ep)
{
	struct urlcheck_result *r = ep->res;
	struct ews_answer ans;
	struct step *st;
	const char *body;
	char *mixed;
	size_t len;
	long code;
	int ok;

	st = step_add(&r->steps, STEP_HTTP, 1, "POST %s (NTLM as %s)%s%s",
	    ep->url, ep->account, ep->nslots > 1 ? " at " : "",
	    ep->nslots > 1 ? ep->addr : "");
	addrcheck_http_step(st, ep->req);
	if (http_req_status(ep->req) != HTTP_DONE) {
		mixed = ep->mixed ? r->message : NULL;
		r->message = ep->mixed ? NULL : r->message;
		if (tlscapture_refused(ep->cap))
			urlcheck_fail(ep, REASON_CERT_UNTRUSTED_PHONE, NULL,
			    "the certificate changed between two requests and phones do not trust the new one");
		else
			urlcheck_transport_failed(ep);
		step_set(st, STEP_FAIL, reason_name(r->reason), "%s",
		    r->message);
		urlcheck_besides(ep, mixed);
		urlcheck_finish(ep);
		return;
	}
	/* Where some addresses failed, the URL shows the first bad one. */
	code = http_req_code(ep->req);
	if (!ep->mixed)
		r->http_status = code;
	body = http_req_body(ep->req, &len);
	ews_parse_answer(body, len, &ans);
	step_set_str(&r->ews_code, ans.response_code);
	ok = code == 200 && ans.outcome == EWS_SUCCESS;
	mixed = ep->mixed && !ok ? r->message : NULL;
	if (mixed != NULL)
		r->message = NULL;
	if (code == 401)
		urlcheck_fail(ep, REASON_AUTH_FAILED,
		    "check the monitoring account's password (the credential file), that it is not locked out, and that it may use EWS",
		    "the account %s was refused with NTLM (HTTP 401)",
		    ep->account);
	else if (ans.outcome == EWS_FAULT || ans.outcome == EWS_ERROR)
		urlcheck_fail(ep, REASON_EWS_FAULT,
		    "check the mailbox and EWS on the server (event log, Get-WebServicesVirtualDirectory)",
		    "EWS answered GetFolder(calendar) with %s%s%s%s (HTTP %ld)",
		    ans.response_code != NULL ? ans.response_code : "a fault",
		    ans.message != NULL ? " (" : "",
		    ans.message != NULL ? ans.message : "",
		    ans.message != NULL ? ")" : "", code);
	else if (!ok)
		urlcheck_fail(ep, REASON_HTTP_ERROR, NULL,
		    "EWS answered HTTP %ld with %s", code,
		    ews_outcome_name(ans.outcome));
	else if (!ep->mixed) {
		urlcheck_passed(ep);
		free(r->message);
		xasprintf(&r->message,
		    "phones can use EWS at %s (%s): TLS trusted, NTLM accepted, calendar read",
		    ep->url, ep->role);
		urlcheck_say_risks(ep);
	}
	if (ok)
		step_set(st, STEP_OK, NULL, "HTTP 200, GetFolder %s%s%s",
		    ans.response_code != NULL ? ans.response_code : "",
		    ans.server_version != NULL ? ", server " : "",
		    ans.server_version != NULL ? ans.server_version : "");
	else
		step_set(st, STEP_FAIL, reason_name(r->reason), "%s",
		    r->message);
	urlcheck_besides(ep, mixed);
	ews_answer_clear(&ans);
	urlcheck_finish(ep);
}

/* http's done callback: advance the machine. */
static void
urlcheck_http_cb(struct http_req *req, void *arg)
{
	struct urlcheck *ep = arg;

	if (ep->state == URLCHECK_AUTH)
		urlcheck_step_auth(ep);
}

/* The URL shows this address's facts: chain, answer, timings. */
static void
urlcheck_take(struct urlcheck *ep, struct addrcheck_result *a)
{
	struct urlcheck_result *r = ep->res;

	r->verdict = a->verdict;
	a->verdict = NULL;
	step_set_str(&r->address, a->connected);
	step_set_str(&r->tls_version, a->tls_version);
	step_set_str(&r->auth_offered, a->auth_offered);
	r->http_status = a->http_status;
	r->timings = a->timings;
}

/* Sign in once, at the address phones accept (slot i); or say why not. */
static void
urlcheck_signin(struct urlcheck *ep, size_t i)
{
	free(ep->addr);
	ep->addr = xstrdup(ep->slots[i].addr);
	if (ep->password == NULL)
		urlcheck_unsigned(ep);
	else if (!urlcheck_signin_allowed(ep))
		urlcheck_refuse_signin(ep);
	else
		urlcheck_submit(ep);
}

/*
 * Every address answered: the URL's verdict is its worst address's. When
 * none fails (or only IPv6 ones phones on IPv4 never try), sign in; when
 * all fail, that is the verdict; when some do, the URL has failed with a
 * reason of its own, and the sign-in still runs where phones succeed.
 */
static void
urlcheck_combine(struct urlcheck *ep)
{
	struct urlcheck_result *r = ep->res;
	struct addrset set = {ep->results, ep->nslots, ep->url, ep->role,
	    ep->host};
	struct addrcheck_result *a;
	size_t i, good = SIZE_MAX, risky = SIZE_MAX, bad = SIZE_MAX;
	char *t;

	r->addrs = addrset_summary(&set, &r->naddrs);
	addrset_steps(&set, &r->steps);
	for (i = 0; i < ep->nslots; i++) {
		a = ep->results[i];
		if (reason_failed(a->reason)) {
			r->nfailed++;
			bad = bad == SIZE_MAX ? i : bad;
		} else {
			good = good == SIZE_MAX ? i : good;
			if (reason_warning(a->reason) && risky == SIZE_MAX)
				risky = i;
		}
	}
	if (bad == SIZE_MAX || addrset_v6_only(&set)) {
		a = ep->results[risky != SIZE_MAX ? risky : good];
		urlcheck_take(ep, a);
		if (reason_warning(a->reason)) {
			urlcheck_risk(ep, a->reason);
			r->remedy = a->remedy;
			a->remedy = NULL;
		}
		if (bad != SIZE_MAX) {
			urlcheck_risk(ep, REASON_AAAA_UNREACHABLE);
			ep->note = addrset_v6_note(&set, &t);
			if (r->remedy == NULL)
				r->remedy = t;
			else
				free(t);
		} else if (ep->nslots > 1)
			xasprintf(&ep->note, "all %zu addresses of %s work",
			    ep->nslots, ep->host);
		urlcheck_signin(ep, good);
		return;
	}
	a = ep->results[bad];
	urlcheck_take(ep, a);
	free(r->message);
	free(r->remedy);
	if (good == SIZE_MAX) {
		r->reason = a->reason;
		r->message = addrset_all_failed(&set, a->message);
		r->remedy = a->remedy;
		a->remedy = NULL;
		urlcheck_finish(ep);
		return;
	}
	r->reason = addrset_mixed(&set,
	    r->verdict != NULL && r->verdict->ncerts > 0
	        ? r->verdict->certs[0].issuer
	        : NULL,
	    &r->message, &r->remedy);
	ep->mixed = 1;
	urlcheck_signin(ep, good);
}

/* An address is checked: keep its result; the last one decides. */
static void
urlcheck_addr_cb(struct addrcheck_result *res, void *arg)
{
	struct urlcheck_slot *sl = arg;
	struct urlcheck *ep = sl->ep;

	sl->ac = NULL;
	ep->results[sl - ep->slots] = res;
	if (--ep->npending == 0)
		urlcheck_combine(ep);
}

/*
 * Check every address of the answer (up to max_addrs), all at once, each
 * over its own handshake: an address that black-holes costs the timeout,
 * not the others' time. c-ares sorts the answer as RFC 6724 says (as
 * getaddrinfo does), so the order is the one clients try.
 */
static void
urlcheck_start_addrs(struct urlcheck *ep, const struct dns_result *dr,
    struct step *st)
{
	unsigned int cap =
	    ep->p.max_addrs > 0 ? ep->p.max_addrs : URLCHECK_MAX_ADDRS;
	size_t i, n = dr->naddrs < cap ? dr->naddrs : cap;
	struct addrcheck_params ap;
	char *all = xstrdup(""), *t;

	ep->res->nresolved = dr->naddrs;
	ep->slots = xcalloc(n, sizeof *ep->slots);
	ep->results = xcalloc(n, sizeof *ep->results);
	ep->nslots = ep->npending = n;
	for (i = 0; i < n; i++) {
		ep->slots[i].ep = ep;
		ep->slots[i].addr = xstrdup(dr->addrs[i].text);
		xasprintf(&t, "%s%s%s", all, i > 0 ? ", " : "",
		    ep->slots[i].addr);
		free(all);
		all = t;
	}
	step_set_str(&st->address, all);
	if (dr->naddrs > n)
		step_set(st, STEP_OK, NULL,
		    "%s (%zu more not probed: max_addresses = %u)", all,
		    dr->naddrs - n, cap);
	else
		step_set(st, STEP_OK, NULL, "%s", all);
	free(all);
	memset(&ap, 0, sizeof ap);
	ap.url = ep->url;
	ap.role = ep->role;
	ap.host = ep->host;
	ap.port = ep->port;
	ap.profile = ep->p.profile;
	ap.phone = ep->p.phone;
	ap.system = ep->p.system;
	ap.timeout_ms = ep->p.timeout_ms;
	ap.warn_days = ep->p.warn_days;
	ep->state = URLCHECK_ADDRS;
	for (i = 0; i < n; i++) {
		ap.addr = ep->slots[i].addr;
		ep->slots[i].ac =
		    addrcheck_start(&ap, urlcheck_addr_cb, &ep->slots[i]);
	}
}

/* The DNS answer: check every address, or fail. */
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
		    "check that the DNS servers ewsprobed asks (dns_servers, else /etc/resolv.conf) answer, and their load; the name itself may well exist",
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
	urlcheck_start_addrs(ep, dr, st);
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
