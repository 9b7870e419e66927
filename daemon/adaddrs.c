/*
 * adaddrs: owns the check of the Autodiscover host's servers — per
 * address the phone's own hello (when the profile defines one) and one
 * pinned handshake, judged for phones and PCs — and what they add up to.
 * The raw hello is phonelook's; the wording of a name whose addresses
 * disagree is addrset's, shared with the EWS names.
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "adaddrs.h"
#include "addrcheck.h"
#include "addrset.h"
#include "dns.h"
#include "explain.h"
#include "http.h"
#include "phonelook.h"
#include "task.h"
#include "tlscapture.h"
#include "xmalloc.h"

struct adaddrs_slot {
	struct adaddrs *aa;
	char *addr;
	struct http_req *req;
	struct tlscapture *cap;
	struct phonelook *look;
	struct addrcheck_result *res;
};

struct adaddrs {
	struct adaddrs_params p; /* borrowed */
	struct http_url u;
	char *lead; /* "phones cannot discover EWS at <url>" */
	struct dns_lookup *lookup;
	struct adaddrs_slot *slots;
	size_t nslots, npending;
	struct adaddrs_result *res;
	adaddrs_done_cb done;
	void *arg;
	struct task task;
};

/* Free a result; NULL is a no-op. */
void
adaddrs_result_free(struct adaddrs_result *r)
{
	if (r == NULL)
		return;
	free(r->url);
	free(r->host);
	free(r->message);
	free(r->remedy);
	addrset_summary_free(r->addrs, r->naddrs);
	step_list_free(&r->steps);
	free(r);
}

/* Free the check (not its delivered result). */
static void
adaddrs_free(struct adaddrs *aa)
{
	size_t i;

	if (aa->lookup != NULL)
		dns_cancel(aa->lookup);
	for (i = 0; i < aa->nslots; i++) {
		http_req_free(aa->slots[i].req);
		tlscapture_free(aa->slots[i].cap);
		phonelook_cancel(aa->slots[i].look);
		addrcheck_result_free(aa->slots[i].res);
		free(aa->slots[i].addr);
	}
	free(aa->slots);
	http_url_clear(&aa->u);
	free(aa->lead);
	adaddrs_result_free(aa->res);
	free(aa);
}

/* The queued delivery: hand the result over, then free the check. */
static void
adaddrs_deliver(void *arg)
{
	struct adaddrs *aa = arg;
	struct adaddrs_result *r = aa->res;

	aa->res = NULL;
	aa->done(r, aa->arg);
	adaddrs_free(aa);
}

/* A cancelled check: free it, with no delivery. */
static void
adaddrs_discard(void *arg)
{
	adaddrs_free(arg);
}

/*
 * Judge one address's chain under both sets; a chain phones refuse is the
 * address's failure, named with the leaf's issuer.
 */
static void
adaddrs_judge(struct adaddrs_slot *sl)
{
	struct adaddrs *aa = sl->aa;
	struct addrcheck_result *a = sl->res;
	const struct chain_verdict *v;
	struct step *st;
	char *msg = NULL, *fix = NULL;

	/* explain's remedy names the CA phones trust; its words are EWS's. */
	a->verdict = chain_evaluate(aa->p.phone, aa->p.system,
	    tlscapture_chain(sl->cap), aa->u.host, time(NULL), aa->p.warn_days);
	v = a->verdict;
	explain_verdict(v, aa->p.phone, aa->p.url, "autodiscover", &msg, &fix);
	st = step_add(&a->steps, STEP_TLS, 1, "certificate under %s (phones)",
	    aa->p.profile->name);
	if (v->reason != REASON_OK) {
		a->reason = v->reason;
		free(a->what);
		xasprintf(&a->what, "a certificate issued by '%s' (%s)",
		    v->ncerts > 0 && v->certs[0].issuer != NULL
		        ? v->certs[0].issuer
		        : "?",
		    reason_name(v->reason));
		free(a->remedy);
		a->remedy = fix;
		fix = NULL;
		if (reason_wininet(v->reason) != 0)
			step_set(st, STEP_FAIL, reason_name(v->reason),
			    "phones refuse it: %s; they log errorCode=%d",
			    a->what, reason_wininet(v->reason));
		else
			step_set(st, STEP_FAIL, reason_name(v->reason),
			    "phones refuse it: %s", a->what);
	} else
		step_set(st, STEP_OK, NULL, "phones accept it: chains to '%s'",
		    v->phone.anchor != NULL ? v->phone.anchor : "?");
	st = step_add(&a->steps, STEP_TLS, 1,
	    "certificate under the system store (PCs)");
	explain_pc_step(st, v);
	free(msg);
	free(fix);
}

/*
 * What the phone's own hello got at an address that fails phones, in a
 * phrase for the name's message ("1 of 3 addresses ... fails for phones:
 * WHAT"). Caller frees.
 */
static char *
adaddrs_hello_what(const struct phonelook_result *pr)
{
	const char *how = pr->sent_sni ? "to the phone's hello" : "without SNI";
	char *out;

	if (pr->verdict != NULL && pr->verdict->ncerts > 0)
		xasprintf(&out,
		    "%s it answers with '%s' issued by '%s' (another certificate than with SNI), which phones refuse",
		    how, pr->verdict->certs[0].subject,
		    pr->verdict->certs[0].issuer);
	else if (pr->reason == REASON_TLS_RESET)
		xasprintf(&out, "%s it resets the connection", how);
	else if (pr->reason == REASON_TLS_NO_COMMON_SUITE)
		out = xstrdup("it accepts none of the phones' cipher suites");
	else if (pr->reason == REASON_TLS_VERSION_UNSUPPORTED)
		out = xstrdup("it refuses the phones' TLS version");
	else
		xasprintf(&out, "the phone's own hello got %s",
		    reason_name(pr->reason));
	return out;
}

/*
 * What the phone's own hello to the address got decides for phones where
 * it differs from the handshake with SNI (phonelook_explain, as for an
 * EWS address and an Autodiscover candidate): a reset, no suite in
 * common, a refused version or another certificate phones refuse fail
 * the address with the phone's code and phonelook's words and remedy.
 * Where their own hello got a certificate they accept while OpenSSL here
 * could not make the phones' handshake (tls: no 3DES or RC4) or got
 * another one, phones go on, as in the walk (adpolicy_look_decides).
 */
static void
adaddrs_phone(struct adaddrs_slot *sl, int tls)
{
	struct adaddrs *aa = sl->aa;
	struct addrcheck_result *a = sl->res;
	const struct phonelook_result *pr = a->phone;
	char *msg, *fix;
	enum reason why;

	if (pr == NULL || pr->reason == REASON_CONNECT_FAILED ||
	    pr->reason == REASON_INTERNAL)
		return;
	/* Phones got a certificate they accept, whatever OpenSSL's got. */
	if (pr->verdict != NULL && !reason_failed(pr->reason) &&
	    (tls || !phonelook_same_leaf(pr, a->verdict))) {
		a->reason = pr->reason;
		free(a->what);
		a->what = NULL;
		free(a->remedy);
		a->remedy = NULL;
		return;
	}
	/* A time-out of both says what the handshake said already. */
	if (a->verdict == NULL && pr->reason == REASON_TIMEOUT)
		return;
	why = phonelook_explain(pr, aa->p.phone, aa->lead, a->verdict, &msg,
	    &fix);
	if (!reason_failed(why)) {
		free(msg);
		free(fix);
		return;
	}
	a->reason = why;
	free(a->message);
	a->message = msg;
	free(a->remedy);
	a->remedy = fix;
	free(a->what);
	a->what = adaddrs_hello_what(pr);
}

/* One address's handshake ended: what phones meet there. */
static void
adaddrs_answer(struct adaddrs_slot *sl)
{
	struct adaddrs *aa = sl->aa;
	struct addrcheck_result *a = sl->res;
	enum http_status hs = http_req_status(sl->req);
	const char *remedy, *err = http_req_error(sl->req);
	struct step *st;
	int tls = hs == HTTP_ERR_TLS_HANDSHAKE || hs == HTTP_ERR_TLS_VERSION ||
	    hs == HTTP_ERR_TLS_VERIFY;

	st = step_add(&a->steps, STEP_HTTP, 1,
	    "handshake with %s (GET, no credentials)", a->address);
	addrcheck_http_step(st, sl->req);
	step_set_str(&st->method, "GET");
	a->timings = st->timings;
	step_set_str(&a->tls_version, http_req_tls_version(sl->req));
	step_set_str(&a->connected, http_req_address(sl->req));
	a->http_status = http_req_code(sl->req);
	/* After the handshake, the answer does not matter (not read). */
	if (hs == HTTP_DONE || (!tls && tlscapture_chain(sl->cap) != NULL)) {
		step_set(st, STEP_OK, NULL, "handshake over %s",
		    a->tls_version != NULL ? a->tls_version : "TLS");
		adaddrs_judge(sl);
		adaddrs_phone(sl, 0);
		return;
	}
	a->reason = addrcheck_transport(sl->req, a->address, aa->u.port,
	    aa->p.profile, &a->what, &remedy);
	a->unreachable =
	    hs == HTTP_ERR_CONNECT || hs == HTTP_ERR_CONNECT_TIMEOUT;
	a->remedy = remedy != NULL ? xstrdup(remedy) : NULL;
	step_set(st, STEP_FAIL, reason_name(a->reason), "%s",
	    err != NULL ? err : http_status_name(hs));
	/* A chain seen before the failure is still judged. */
	if (tlscapture_chain(sl->cap) != NULL)
		adaddrs_judge(sl);
	if (tls)
		adaddrs_phone(sl, 1);
}

/*
 * Every address answered: a host that phones reach at some addresses and
 * not at others is worded as an EWS name is (addrset_mixed); one that
 * fails at all of them says so with the first failure.
 */
static void
adaddrs_combine(struct adaddrs *aa)
{
	struct adaddrs_result *r = aa->res;
	struct addrcheck_result **v = xcalloc(aa->nslots, sizeof *v);
	struct addrset set = {v, aa->nslots, aa->p.url, "autodiscover",
	    aa->u.host};
	const struct addrcheck_result *bad = NULL;
	char *one;
	size_t i;

	for (i = 0; i < aa->nslots; i++) {
		v[i] = aa->slots[i].res;
		if (reason_failed(v[i]->reason)) {
			r->nfailed++;
			bad = bad == NULL ? v[i] : bad;
		}
	}
	r->addrs = addrset_summary(&set, &r->naddrs);
	if (bad != NULL && r->nfailed < aa->nslots)
		r->reason = addrset_mixed_lead(&set, aa->lead,
		    bad->verdict != NULL && bad->verdict->ncerts > 0
		        ? bad->verdict->certs[0].issuer
		        : NULL,
		    &r->message, &r->remedy);
	else if (bad != NULL) {
		r->reason = bad->reason;
		one = bad->message != NULL
		    ? xstrdup(bad->message)
		    : addrcheck_sentence(aa->p.url, "autodiscover", bad->reason,
		          bad->what != NULL ? bad->what
		                            : reason_name(bad->reason));
		r->message = addrset_all_failed(&set, one);
		free(one);
		r->remedy = bad->remedy != NULL ? xstrdup(bad->remedy) : NULL;
	}
	addrset_steps(&set, &r->steps);
	free(v);
}

/* http's done callback: judge the address; the last one combines. */
static void
adaddrs_http_cb(struct http_req *req, void *arg)
{
	struct adaddrs_slot *sl = arg;
	struct adaddrs *aa = sl->aa;

	adaddrs_answer(sl);
	if (--aa->npending == 0) {
		adaddrs_combine(aa);
		task_finish(&aa->task);
	}
}

/* Start one address's handshake, pinned to it. */
static void
adaddrs_request(struct adaddrs_slot *sl)
{
	struct adaddrs *aa = sl->aa;
	const struct phonelook_result *pr = sl->res->phone;
	long t = aa->p.timeout_ms;

	sl->req = http_req_new("GET", aa->p.url);
	http_req_pin(sl->req, aa->u.host, aa->u.port, sl->addr);
	http_req_set_timeouts(sl->req, t, t, 1, t / 1000 > 0 ? t / 1000 : 1);
	http_req_set_limits(sl->req, 64u << 10, 64u << 10);
	sl->cap = tlscapture_new(aa->p.profile, aa->p.phone, aa->u.host, 0);
	/*
	 * The phone's own hello got no certificate: the handshake speaks as
	 * a PC, so the report still has what PCs get (and the chain).
	 */
	if (pr != NULL && pr->verdict == NULL && phonelook_failed(pr))
		tlscapture_set_modern(sl->cap);
	http_req_set_verify(sl->req, 0, 0);
	http_req_set_cafile(sl->req, NULL);
	http_req_set_ssl_ctx(sl->req, tlscapture_install, sl->cap);
	http_req_submit(sl->req, adaddrs_http_cb, sl);
}

/* The phone's own hello is back: note it as a step, then the handshake. */
static void
adaddrs_look_cb(struct phonelook_result *pr, void *arg)
{
	struct adaddrs_slot *sl = arg;

	sl->look = NULL;
	sl->res->phone = pr;
	phonelook_step(pr, &sl->res->steps, sl->aa->p.profile->name);
	adaddrs_request(sl);
}

/*
 * Check one address: the profile's own ClientHello first when it defines
 * one (phonelook: no SNI for lync-phone-edition), then the handshake.
 */
static void
adaddrs_submit(struct adaddrs_slot *sl)
{
	struct adaddrs *aa = sl->aa;
	struct phonelook_params lp;
	struct sockaddr_storage ss;

	sl->res = xcalloc(1, sizeof *sl->res);
	sl->res->address = xstrdup(sl->addr);
	sl->res->family = strchr(sl->addr, ':') != NULL ? AF_INET6 : AF_INET;
	sl->res->reason = REASON_OK;
	step_list_init(&sl->res->steps);
	memset(&lp, 0, sizeof lp);
	if (!aa->p.profile->hello_enabled || aa->p.phone == NULL ||
	    phonelook_sockaddr(sl->addr, aa->u.port, &ss, &lp.salen) != 0) {
		adaddrs_request(sl);
		return;
	}
	lp.host = aa->u.host;
	lp.port = aa->u.port;
	lp.sa = (const struct sockaddr *)&ss;
	lp.profile = aa->p.profile;
	lp.phone = aa->p.phone;
	lp.system = aa->p.system;
	lp.timeout_ms = aa->p.timeout_ms > 0 ? aa->p.timeout_ms : 10000;
	lp.warn_days = aa->p.warn_days;
	sl->look = phonelook_start(&lp, adaddrs_look_cb, sl);
}

/*
 * The DNS answer: one address is the one the walk judged already; more
 * are each checked, all at once, in the order c-ares gives (RFC 6724, the
 * clients' order), up to the cap.
 */
static void
adaddrs_dns_cb(const struct dns_result *dr, void *arg)
{
	struct adaddrs *aa = arg;
	unsigned int cap = aa->p.max_addrs > 0 ? aa->p.max_addrs : 8;
	size_t i, n = dr->naddrs < cap ? dr->naddrs : cap;

	aa->lookup = NULL;
	aa->res->nresolved = dr->naddrs;
	if (dr->status != DNS_OK || n < 2) {
		task_finish(&aa->task);
		return;
	}
	aa->slots = xcalloc(n, sizeof *aa->slots);
	aa->nslots = aa->npending = n;
	for (i = 0; i < n; i++) {
		aa->slots[i].aa = aa;
		aa->slots[i].addr = xstrdup(dr->addrs[i].text);
	}
	for (i = 0; i < n; i++)
		adaddrs_submit(&aa->slots[i]);
}

/* Start checking the addresses of the host of p->url (an https URL). */
struct adaddrs *
adaddrs_start(const struct adaddrs_params *p, adaddrs_done_cb done, void *arg)
{
	struct adaddrs *aa = xcalloc(1, sizeof *aa);

	aa->p = *p;
	aa->done = done;
	aa->arg = arg;
	task_init(&aa->task, adaddrs_deliver, adaddrs_discard, aa);
	aa->res = xcalloc(1, sizeof *aa->res);
	aa->res->reason = REASON_OK;
	aa->res->url = xstrdup(p->url);
	/*
	 * Our own copy: the caller's (a mailbox's cached source) may be
	 * replaced by another run's discovery while the handshakes last.
	 */
	aa->p.url = aa->res->url;
	step_list_init(&aa->res->steps);
	xasprintf(&aa->lead, "phones cannot discover EWS at %s", p->url);
	if (http_url_split(p->url, &aa->u) != NULL || aa->u.host == NULL) {
		task_finish(&aa->task);
		return aa;
	}
	aa->res->host = xstrdup(aa->u.host);
	aa->lookup =
	    dns_lookup_addr(aa->u.host, p->dns_servers, adaddrs_dns_cb, aa);
	return aa;
}

/* Cancel a check: no callback will follow. NULL is a no-op. */
void
adaddrs_cancel(struct adaddrs *aa)
{
	if (aa != NULL)
		task_cancel(&aa->task);
}
