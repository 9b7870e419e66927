/*
 * autodiscover: owns the candidate walk of one discovery: the candidate
 * queue, the visited sets and the hop budget, applying the safety rules
 * (autodiscover_rules.c: which hosts may be asked, which may get
 * credentials), and the recording of every attempt, and the two walks in
 * one: how far phones get and how far PCs get (each candidate carries both
 * path bits; adpolicy judges its TLS and sends the phone's own hello).
 * The XML is adxml's; DNS and HTTP are dns's and http's.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adpolicy.h"
#include "adxml.h"
#include "autodiscover.h"
#include "dns.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "strlist.h"
#include "task.h"
#include "xmalloc.h"

enum ad_kind {
	AD_SOAP, /* POST …/autodiscover.svc */
	AD_POX, /* POST …/autodiscover.xml */
	AD_PROBE, /* unauthenticated GET http://autodiscover.d/… */
	AD_SRV, /* look up _autodiscover._tcp.d */
};

struct ad_cand {
	enum ad_kind kind;
	char *url;
	struct adpolicy_path path; /* whose walks reach it */
	TAILQ_ENTRY(ad_cand) entry;
};

TAILQ_HEAD(ad_queue, ad_cand);

struct autodiscover {
	struct autodiscover_params p;
	struct adpolicy_walk *walk; /* phones' and PCs' (adpolicy) */
	struct tlscapture *cap; /* the phones' handshake of the request */
	int pc_retry; /* the request is the PCs' own connection */
	char *addr; /* the current candidate's address */
	char *account, *password, *servers;
	char *address; /* current (after RedirectAddress) */
	char *domain; /* of address: the host policy's domain */
	char *home; /* the configured mailbox's domain */
	struct ad_queue queue;
	struct strlist visited_urls;
	struct strlist visited_addrs;
	struct ad_cand *cur;
	char *host;
	int port;
	struct dns_lookup *lookup;
	struct http_req *req;
	struct step *st;
	enum reason last_reason;
	int refused_signin; /* a candidate answered 401 */
	enum reason refused; /* a redirect we refused, or REASON_OK */
	struct task task; /* running, finishing, cancelled (task.h) */
	struct autodiscover_result *res;
	autodiscover_done_cb done;
	void *arg;
};

static void ad_next(struct autodiscover *);
static void ad_submit(struct autodiscover *);
static void ad_http_cb(struct http_req *, void *);

/* Whether two optional strings are equal (both NULL counts). */
static int
ad_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/*
 * Queue a candidate at the end (or the front) for the walks that reach
 * from (NULL: both); one that neither reaches is not asked.
 */
static void
ad_queue(struct autodiscover *ad, enum ad_kind kind, const char *url, int front,
    const struct ad_cand *from)
{
	struct ad_cand *c;

	if (from != NULL && !adpolicy_path_live(&from->path))
		return;
	c = xcalloc(1, sizeof *c);
	c->kind = kind;
	if (from != NULL)
		c->path = from->path;
	else
		adpolicy_path_start(ad->walk, &c->path);
	c->url = url != NULL ? xstrdup(url) : NULL;
	if (front)
		TAILQ_INSERT_HEAD(&ad->queue, c, entry);
	else
		TAILQ_INSERT_TAIL(&ad->queue, c, entry);
}

/* Free a candidate. */
static void
ad_cand_free(struct ad_cand *c)
{
	if (c == NULL)
		return;
	free(c->url);
	free(c);
}

/* Drop every queued candidate. */
static void
ad_queue_clear(struct autodiscover *ad)
{
	struct ad_cand *c;

	while ((c = TAILQ_FIRST(&ad->queue)) != NULL) {
		TAILQ_REMOVE(&ad->queue, c, entry);
		ad_cand_free(c);
	}
}

/*
 * Set the address (and its domain) discovery works for; queue its walk for
 * the walks that got here (from; NULL: both).
 */
static void
ad_begin(struct autodiscover *ad, const char *address,
    const struct ad_cand *from)
{
	const char *at = strrchr(address, '@');
	char *url;

	free(ad->address);
	free(ad->domain);
	ad->address = xstrdup(address);
	ad->domain = xstrdup(at != NULL ? at + 1 : address);
	dns_lower(ad->domain);
	if (ad->home == NULL)
		ad->home = xstrdup(ad->domain);
	strlist_add(&ad->visited_addrs, address);
	ad_queue_clear(ad);
	xasprintf(&url, "https://%s/autodiscover/autodiscover.svc", ad->domain);
	ad_queue(ad, AD_SOAP, url, 0, from);
	free(url);
	xasprintf(&url, "https://autodiscover.%s/autodiscover/autodiscover.svc",
	    ad->domain);
	ad_queue(ad, AD_SOAP, url, 0, from);
	free(url);
	xasprintf(&url, "http://autodiscover.%s/autodiscover/autodiscover.xml",
	    ad->domain);
	ad_queue(ad, AD_PROBE, url, 0, from);
	free(url);
	ad_queue(ad, AD_SRV, NULL, 0, from);
}

/* Free the discovery (not a delivered result). */
static void
ad_free(struct autodiscover *ad)
{
	if (ad->lookup != NULL)
		dns_cancel(ad->lookup);
	http_req_free(ad->req);
	tlscapture_free(ad->cap);
	adpolicy_walk_free(ad->walk);
	free(ad->addr);
	ad_queue_clear(ad);
	ad_cand_free(ad->cur);
	strlist_clear(&ad->visited_urls);
	strlist_clear(&ad->visited_addrs);
	autodiscover_result_free(ad->res);
	free(ad->account);
	xfree_secret(ad->password);
	free(ad->servers);
	free(ad->address);
	free(ad->domain);
	free(ad->home);
	free(ad->host);
	free(ad);
}

/* Free a result; NULL is a no-op. */
void
autodiscover_result_free(struct autodiscover_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->message);
	free(r->internal_ews_url);
	free(r->external_ews_url);
	free(r->source);
	free(r->phone_message);
	free(r->phone_remedy);
	free(r->phone_url);
	chain_verdict_free(r->phone_verdict);
	for (i = 0; i < r->nanswers; i++) {
		free(r->answers[i].source);
		free(r->answers[i].internal_ews_url);
		free(r->answers[i].external_ews_url);
	}
	free(r->answers);
	step_list_free(&r->steps);
	free(r);
}

/* The queued delivery (task.h): word the end, deliver, free. */
static void
ad_finish(void *arg)
{
	struct autodiscover *ad = arg;
	struct autodiscover_result *r = ad->res;

	ad->res = NULL;
	adpolicy_outcome(ad->walk, ad->address, r);
	if (!r->found && r->message == NULL && ad->refused_signin) {
		/* The account matters more than the other candidates. */
		r->reason = REASON_AUTH_FAILED;
		xasprintf(&r->message,
		    "autodiscover for %s found no EWS URL: %s", ad->address,
		    ad->password != NULL
		        ? "the servers refused the monitoring account (HTTP 401 to NTLM); check its password and lockout"
		        : "the servers want a sign-in and the mailbox has no account and credential");
	} else if (!r->found && r->message == NULL) {
		/*
		 * A refused redirect says more than the candidates after it
		 * (which usually just do not exist).
		 */
		r->reason = ad->refused != REASON_OK ? ad->refused
		    : ad->last_reason != REASON_OK
		    ? ad->last_reason
		    : REASON_AUTODISCOVER_UNREACHABLE;
		xasprintf(&r->message,
		    "autodiscover for %s found no EWS URL (%s); phones cannot find Exchange either",
		    ad->address, reason_name(r->reason));
	}
	ad->done(r, ad->arg);
	ad_free(ad);
}

/* Stop the walk now with reason (a loop, a refused redirect). */
static void
ad_stop(struct autodiscover *ad, enum reason reason, const char *why)
{
	ad->last_reason = reason;
	if (!ad->res->found) {
		ad->res->reason = reason;
		xasprintf(&ad->res->message, "autodiscover for %s stopped: %s",
		    ad->address, why);
	}
	ad_queue_clear(ad);
	task_finish(&ad->task);
}

/* Count a hop; stop the walk past the budget. Return 0 to go on. */
static int
ad_hop(struct autodiscover *ad)
{
	if (++ad->res->hops <= AUTODISCOVER_MAX_HOPS)
		return 0;
	ad_stop(ad, REASON_REDIRECT_LOOP, "more than 10 redirections");
	return -1;
}

/*
 * Validate a redirect target URL (autodiscover_redirect_refused) and that
 * it was not visited yet. Return the reason it is refused (*why says it
 * for a human), or REASON_OK.
 */
static enum reason
ad_check_redirect(struct autodiscover *ad, const char *url, const char **why)
{
	if ((*why = autodiscover_redirect_refused(url, ad->domain,
	         ad->p.redirect_allow)) != NULL)
		return REASON_REDIRECT_REJECTED;
	if (strlist_has(&ad->visited_urls, url)) {
		*why = "already visited (redirect_loop)";
		return REASON_REDIRECT_LOOP;
	}
	return REASON_OK;
}

/* A redirect to url (re-POST with the same kind), if it passes. */
static void
ad_follow(struct autodiscover *ad, enum ad_kind kind, const char *url)
{
	enum reason r;
	const char *why = NULL;

	if ((r = ad_check_redirect(ad, url, &why)) != REASON_OK) {
		step_set(ad->st, STEP_FAIL, reason_name(r),
		    "redirect to %s refused: %s", url, why);
		ad->last_reason = ad->refused = r;
		if (r == REASON_REDIRECT_LOOP) {
			ad_stop(ad, r, why);
			return;
		}
		ad_next(ad);
		return;
	}
	if (ad_hop(ad) != 0)
		return;
	step_set(ad->st, STEP_OK, NULL, "redirected to %s", url);
	ad_queue(ad, kind, url, 1, ad->cur);
	ad_next(ad);
}

/* After a SOAP attempt that gave nothing: POX on the same host next. */
static void
ad_pox_fallback(struct autodiscover *ad)
{
	char *url, *slash;

	if (ad->cur->kind != AD_SOAP)
		return;
	url = xstrdup(ad->cur->url);
	if ((slash = strrchr(url, '.')) != NULL &&
	    strcasecmp(slash, ".svc") == 0) {
		strcpy(slash, ".xml");
		if (!strlist_has(&ad->visited_urls, url))
			ad_queue(ad, AD_POX, url, 1, ad->cur);
	}
	free(url);
}

/*
 * Keep every candidate's EWS URLs (mode "all" reports each) and note when
 * one disagrees with the first: phones take the first that answers.
 */
static void
ad_keep_answer(struct autodiscover_result *r, const char *source,
    const struct adxml_result *x)
{
	struct autodiscover_answer *a;

	r->answers =
	    xreallocarray(r->answers, r->nanswers + 1, sizeof *r->answers);
	a = &r->answers[r->nanswers++];
	a->source = xstrdup(source);
	a->internal_ews_url =
	    x->internal_ews_url != NULL ? xstrdup(x->internal_ews_url) : NULL;
	a->external_ews_url =
	    x->external_ews_url != NULL ? xstrdup(x->external_ews_url) : NULL;
	if (r->nanswers > 1 &&
	    (!ad_same(a->internal_ews_url, r->answers[0].internal_ews_url) ||
	        !ad_same(a->external_ews_url, r->answers[0].external_ews_url)))
		r->disagree = 1;
}

/*
 * Drop an EWS URL from an answer that is not a URL: return why
 * (http_url_refused), or NULL if it is kept.
 */
static const char *
ad_url_refused(char **url)
{
	const char *why;

	if (*url == NULL || (why = http_url_refused(*url)) == NULL)
		return NULL;
	free(*url);
	*url = NULL;
	return why;
}

/* An answer's URL as a step shows it: the URL, why it was refused, or none. */
static char *
ad_url_shown(const char *url, const char *refused)
{
	char *out;

	if (url != NULL)
		return xstrdup(url);
	if (refused == NULL)
		return xstrdup("(none)");
	xasprintf(&out, "(refused: %s)", refused);
	return out;
}

/*
 * Settings with EWS URLs: keep them (the first answer is the result);
 * return 0. Settings without a usable EWS URL fail the step; return -1.
 */
static int
ad_answer_settings(struct autodiscover *ad, struct adxml_result *x)
{
	struct autodiscover_result *r = ad->res;
	const char *bad_in, *bad_ex;
	char *shown_in, *shown_ex;
	int gives;

	bad_in = ad_url_refused(&x->internal_ews_url);
	bad_ex = ad_url_refused(&x->external_ews_url);
	shown_in = ad_url_shown(x->internal_ews_url, bad_in);
	shown_ex = ad_url_shown(x->external_ews_url, bad_ex);
	if (x->internal_ews_url == NULL && x->external_ews_url == NULL) {
		step_set(ad->st, STEP_FAIL,
		    bad_in || bad_ex ? "ews_url_refused"
		                     : "autodiscover_no_ews_url",
		    "no %sEWS URL in the answer: InternalEwsUrl %s, ExternalEwsUrl %s",
		    bad_in || bad_ex ? "usable " : "", shown_in, shown_ex);
		ad->last_reason = bad_in || bad_ex
		    ? REASON_AUTODISCOVER_MALFORMED
		    : REASON_AUTODISCOVER_NO_EWS_URL;
		free(shown_in);
		free(shown_ex);
		return -1;
	}
	step_set(ad->st, STEP_OK, NULL, "InternalEwsUrl %s, ExternalEwsUrl %s",
	    shown_in, shown_ex);
	free(shown_in);
	free(shown_ex);
	ad_keep_answer(r, ad->cur->url, x);
	/* The phones' first answer gives the URLs; else the PCs' first. */
	gives = !r->found || (ad->cur->path.phone && !r->phone_found);
	adpolicy_answer(ad->walk, &ad->cur->path, r->nanswers - 1, gives);
	if (gives) {
		r->phone_found = ad->cur->path.phone;
		r->found = 1;
		r->reason = REASON_OK;
		free(r->internal_ews_url);
		free(r->external_ews_url);
		free(r->source);
		r->internal_ews_url = x->internal_ews_url != NULL
		    ? xstrdup(x->internal_ews_url)
		    : NULL;
		r->external_ews_url = x->external_ews_url != NULL
		    ? xstrdup(x->external_ews_url)
		    : NULL;
		r->source = xstrdup(ad->cur->url);
	}
	if (ad->p.mode == CONFIG_DISCOVERY_FIRST && r->phone_found)
		ad_queue_clear(ad);
	return 0;
}

/*
 * A RedirectAddress: refused (outside the policy, or already tried), or
 * discovery starts again from its domain. Then the next candidate.
 */
static void
ad_answer_address(struct autodiscover *ad, const char *target)
{
	const char *refused;

	if ((refused = autodiscover_address_refused(target, ad->home,
	         ad->p.redirect_allow)) != NULL) {
		step_set(ad->st, STEP_FAIL, "redirect_addr_not_allowed",
		    "RedirectAddress %s refused: %s", target, refused);
		ad->last_reason = ad->refused = REASON_REDIRECT_REJECTED;
		ad_next(ad);
		return;
	}
	if (strcasecmp(target, ad->address) == 0 ||
	    strlist_has(&ad->visited_addrs, target)) {
		step_set(ad->st, STEP_FAIL, "redirect_loop",
		    "RedirectAddress %s was already tried", target);
		ad->last_reason = REASON_REDIRECT_LOOP;
		ad_next(ad);
		return;
	}
	step_set(ad->st, STEP_OK, NULL,
	    "RedirectAddress %s: starting again from its domain", target);
	if (ad_hop(ad) == 0) {
		ad_begin(ad, target, ad->cur);
		ad_next(ad);
	}
}

/* Read an Autodiscover answer (200). */
static void
ad_answer(struct autodiscover *ad)
{
	struct adxml_result *x;
	const char *body;
	size_t len;

	body = http_req_body(ad->req, &len);
	x = adxml_parse(body, len);
	switch (x->outcome) {
	case ADXML_SETTINGS:
		if (ad_answer_settings(ad, x) == 0) {
			adxml_result_free(x);
			ad_next(ad);
			return;
		}
		break;
	case ADXML_REDIRECT_URL:
		step_set(ad->st, STEP_OK, NULL, "RedirectUrl %s",
		    x->redirect_target);
		ad_follow(ad, ad->cur->kind, x->redirect_target);
		adxml_result_free(x);
		return;
	case ADXML_REDIRECT_ADDRESS:
		ad_answer_address(ad, x->redirect_target);
		adxml_result_free(x);
		return;
	default:
		step_set(ad->st, STEP_FAIL,
		    x->reason != NULL ? x->reason
		                      : adxml_outcome_name(x->outcome),
		    "%s%s%s", adxml_outcome_name(x->outcome),
		    x->error_code ? " " : "",
		    x->error_code ? x->error_code : "");
		ad->last_reason = x->outcome == ADXML_MALFORMED ||
		        x->outcome == ADXML_NOT_AUTODISCOVER
		    ? REASON_AUTODISCOVER_MALFORMED
		    : REASON_AUTODISCOVER_ERROR;
		break;
	}
	adxml_result_free(x);
	ad_pox_fallback(ad);
	ad_next(ad);
}

/*
 * Judge an HTTPS candidate's TLS under both policies (adpolicy); when
 * phones could not connect but PCs' walk reaches the candidate, ask it
 * again as a PC and return -1 (the answer comes to ad_http_cb again).
 */
static int
ad_judge(struct autodiscover *ad, struct http_req *req)
{
	struct ad_cand *c = ad->cur;

	if (ad->pc_retry) {
		adpolicy_pc_judge(req, &c->path, &ad->res->steps);
		return 0;
	}
	if (adpolicy_judge(ad->walk, req, ad->cap, ad->host, &c->path,
	        &ad->res->steps) != ADPOLICY_RETRY_PC)
		return 0;
	step_set(ad->st, STEP_FAIL, http_status_name(http_req_status(req)),
	    "no handshake as phones here; PCs connect on their own below");
	ad->st = step_add(&ad->res->steps, STEP_HTTP, 1,
	    "%s %s (as PCs connect)", "POST", c->url);
	step_set_str(&ad->st->url, c->url);
	ad->pc_retry = 1;
	ad_submit(ad);
	return -1;
}

/* http's done callback: judge the answer of the current candidate. */
static void
ad_http_cb(struct http_req *req, void *arg)
{
	struct autodiscover *ad = arg;
	const char *loc = http_req_redirect_url(req);
	long code = http_req_code(req);

	step_set_str(&ad->st->address, http_req_address(req));
	step_set_str(&ad->st->tls_version, http_req_tls_version(req));
	ad->st->http_status = (int)code;
	http_req_timings(req, &ad->st->timings);
	if (ad->cur->kind != AD_PROBE && ad_judge(ad, req) != 0)
		return;
	if (http_req_status(req) != HTTP_DONE) {
		step_set(ad->st, STEP_FAIL,
		    http_status_name(http_req_status(req)), "%s",
		    http_req_error(req)
		        ? http_req_error(req)
		        : http_status_name(http_req_status(req)));
		ad->last_reason = REASON_AUTODISCOVER_UNREACHABLE;
		ad_pox_fallback(ad);
		ad_next(ad);
		return;
	}
	if (ad->cur->kind == AD_PROBE) {
		/* Only a redirect to an https …/autodiscover.xml counts. */
		if ((code == 301 || code == 302 || code == 303 ||
		        code == 307) &&
		    loc != NULL && strlen(loc) >= 30 &&
		    strcasecmp(loc + strlen(loc) - 30,
		        "/autodiscover/autodiscover.xml") == 0) {
			ad_follow(ad, AD_POX, loc);
			return;
		}
		step_set(ad->st, STEP_FAIL, "redirect_rejected",
		    "HTTP %ld%s%s: not a redirect to an https …/autodiscover/autodiscover.xml",
		    code, loc ? " to " : "", loc ? loc : "");
		ad_next(ad);
		return;
	}
	if (code >= 300 && code < 400 && code != 304 && loc != NULL) {
		ad_follow(ad, ad->cur->kind, loc);
		return;
	}
	if (code == 200) {
		ad_answer(ad);
		return;
	}
	if (code == 401)
		ad->refused_signin = 1;
	step_set(ad->st, STEP_FAIL, code == 401 ? "auth_failed" : "http_error",
	    "HTTP %ld%s", code,
	    code == 401 && ad->password == NULL
	        ? ": this server wants a sign-in and the mailbox has no account and credential"
	        : "");
	ad->last_reason = REASON_AUTODISCOVER_UNREACHABLE;
	ad_pox_fallback(ad);
	ad_next(ad);
}

/* The phone's own hello is back (adpolicy_look): send the request. */
static void
ad_look_cb(void *arg)
{
	ad_submit(arg);
}

/* The current candidate's host resolved: send its request. */
static void
ad_dns_cb(const struct dns_result *dr, void *arg)
{
	struct autodiscover *ad = arg;

	ad->lookup = NULL;
	if (dr->status != DNS_OK || dr->naddrs == 0) {
		step_set(ad->st, STEP_FAIL, "dns_failed",
		    "%s does not resolve (%s)", ad->host,
		    dns_status_name(dr->status));
		ad_next(ad);
		return;
	}
	free(ad->addr);
	ad->addr = xstrdup(dns_result_pick(dr)->text);
	ad->pc_retry = 0;
	/* An HTTPS candidate: the phone's own hello there first (adpolicy). */
	if (ad->cur->kind == AD_PROBE ||
	    adpolicy_look(ad->walk, ad->host, ad->port, ad->addr, ad_look_cb,
	        ad) != 0)
		ad_submit(ad);
}

/* Send the current candidate's request to the address looked up. */
static void
ad_submit(struct autodiscover *ad)
{
	struct ad_cand *c = ad->cur;
	char *body = NULL;

	http_req_free(ad->req);
	ad->req = http_req_new(c->kind == AD_PROBE ? "GET" : "POST", c->url);
	http_req_pin(ad->req, ad->host, ad->port, ad->addr);
	http_req_set_timeouts(ad->req, ad->p.timeout_ms, ad->p.timeout_ms, 1,
	    ad->p.timeout_ms / 1000 > 0 ? ad->p.timeout_ms / 1000 : 1);
	http_req_set_limits(ad->req, 1u << 20, 64u << 10);
	if (c->kind == AD_PROBE) {
		/* The redirect probe: plain HTTP, no body, no credentials. */
		http_req_allow_http(ad->req);
	} else {
		body = c->kind == AD_SOAP
		    ? adxml_soap_request(c->url, ad->address)
		    : adxml_pox_request(ad->address);
		if (body == NULL) {
			/* The address or URL cannot be written as XML. */
			step_set(ad->st, STEP_FAIL, "redirect_rejected",
			    "%s cannot be sent in an Autodiscover request (control characters or bytes that are not UTF-8)",
			    c->kind == AD_SOAP ? "the address or the URL"
			                       : "the address");
			http_req_free(ad->req);
			ad->req = NULL;
			ad->last_reason = REASON_REDIRECT_REJECTED;
			ad_next(ad);
			return;
		}
		http_req_add_header(ad->req,
		    "Content-Type: text/xml; charset=utf-8");
		http_req_set_body(ad->req, body, strlen(body));
		free(body);
		/* Credentials only to an admitted host, by NTLM, over TLS. */
		tlscapture_free(ad->cap);
		ad->cap = adpolicy_tls(ad->walk, ad->req, ad->host, &c->path,
		    ad->pc_retry);
		if (ad->password != NULL)
			http_req_set_ntlm(ad->req, ad->account, ad->password);
	}
	http_req_submit(ad->req, ad_http_cb, ad);
}

/* SRV answer: queue the admitted port-443 targets, in RFC 2782 order. */
static void
ad_srv_cb(const struct dns_result *dr, void *arg)
{
	struct autodiscover *ad = arg;
	size_t i, n = 0;
	char *url;

	ad->lookup = NULL;
	for (i = dr->nsrvs; i-- > 0;) {
		/* Inserted at the front in reverse: the order is kept. */
		if (dr->srvs[i].port != 443 ||
		    !autodiscover_host_allowed(dr->srvs[i].target, ad->domain,
		        ad->p.redirect_allow))
			continue;
		xasprintf(&url, "https://%s/autodiscover/autodiscover.svc",
		    dr->srvs[i].target);
		ad_queue(ad, AD_SOAP, url, 1, ad->cur);
		free(url);
		n++;
	}
	if (dr->status != DNS_OK)
		step_set(ad->st, STEP_FAIL, "dns_failed", "%s",
		    dns_status_name(dr->status));
	else
		step_set(ad->st, n > 0 ? STEP_OK : STEP_FAIL,
		    n > 0 ? NULL : "srv_none_usable",
		    "%zu record(s), %zu usable (port 443, in the mailbox's domain or allowed)",
		    dr->nsrvs, n);
	ad_next(ad);
}

/* Start the next candidate, or finish. */
static void
ad_next(struct autodiscover *ad)
{
	struct ad_cand *c;
	struct http_url u;
	char *name;
	const char *why;

	ad_cand_free(ad->cur);
	ad->cur = NULL;
	while ((c = TAILQ_FIRST(&ad->queue)) != NULL) {
		TAILQ_REMOVE(&ad->queue, c, entry);
		ad->cur = c;
		if (c->kind == AD_SRV) {
			xasprintf(&name, "_autodiscover._tcp.%s", ad->domain);
			ad->st = step_add(&ad->res->steps, STEP_DNS, 1,
			    "DNS SRV %s", name);
			ad->lookup =
			    dns_lookup_srv(name, ad->servers, ad_srv_cb, ad);
			free(name);
			return;
		}
		if (strlist_has(&ad->visited_urls, c->url)) {
			ad_cand_free(c);
			ad->cur = NULL;
			continue;
		}
		strlist_add(&ad->visited_urls, c->url);
		ad->st = step_add(&ad->res->steps, STEP_HTTP, 1, "%s %s%s",
		    c->kind == AD_PROBE ? "GET" : "POST", c->url,
		    c->kind == AD_SOAP ? " (SOAP)"
		        : c->kind == AD_POX
		        ? " (POX)"
		        : " (redirect probe, no credentials)");
		step_set_str(&ad->st->url, c->url);
		if ((why = http_url_split(c->url, &u)) != NULL) {
			step_set(ad->st, STEP_FAIL, "redirect_rejected",
			    "not a usable URL: %s", why);
			ad_cand_free(c);
			ad->cur = NULL;
			continue;
		}
		free(ad->host);
		ad->host = u.host;
		ad->port = u.port;
		u.host = NULL;
		http_url_clear(&u);
		ad->lookup =
		    dns_lookup_addr(ad->host, ad->servers, ad_dns_cb, ad);
		return;
	}
	task_finish(&ad->task);
}

/* A cancelled discovery: free it with no delivery (task.h). */
static void
ad_discard(void *arg)
{
	ad_free(arg);
}

/* Start a discovery; see autodiscover.h. */
struct autodiscover *
autodiscover_start(const struct autodiscover_params *p,
    autodiscover_done_cb done, void *arg)
{
	struct autodiscover *ad = xcalloc(1, sizeof *ad);
	struct adpolicy_params pol;

	ad->p = *p;
	ad->account = p->account != NULL ? xstrdup(p->account) : NULL;
	ad->password = p->password != NULL ? xstrdup(p->password) : NULL;
	ad->servers = p->dns_servers != NULL ? xstrdup(p->dns_servers) : NULL;
	ad->done = done;
	task_init(&ad->task, ad_finish, ad_discard, ad);
	ad->arg = arg;
	ad->res = xcalloc(1, sizeof *ad->res);
	step_list_init(&ad->res->steps);
	ad->res->reason = REASON_AUTODISCOVER_UNREACHABLE;
	pol.profile = p->profile;
	pol.phone = p->phone;
	pol.system = p->system;
	pol.others = p->others;
	pol.nothers = p->nothers;
	pol.timeout_ms = p->timeout_ms;
	ad->walk = adpolicy_walk_new(&pol);
	TAILQ_INIT(&ad->queue);
	ad_begin(ad, p->address, NULL);
	ad_next(ad);
	return ad;
}

/* Cancel a discovery: no callback will follow. */
void
autodiscover_cancel(struct autodiscover *ad)
{
	if (ad != NULL)
		task_cancel(&ad->task);
}
