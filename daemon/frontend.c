/*
 * frontend: owns one learning run against a profile's Front End pool:
 * resolve the pool, open TLS with the profile's limits (capturing the
 * chain, judging nothing), and hand the chain to the trust set; then the
 * phone's own hello to the same address and what it finds.
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"
#include "frontend.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "phonelook.h"
#include "task.h"
#include "tlscapture.h"
#include "xmalloc.h"

struct frontend {
	const struct config_profile *profile;
	struct trustset *phone;
	char *servers;
	long timeout_ms;
	char *url;
	struct dns_lookup *lookup;
	struct http_req *req;
	struct tlscapture *cap;
	char *addr; /* the pool's address, numeric */
	struct phonelook *look; /* the phone's own hello, or NULL */
	struct frontend_result *res;
	frontend_done_cb done;
	void *arg;
	struct task task; /* running, finishing, cancelled (task.h) */
};

/* Free a result; NULL is a no-op. */
void
frontend_result_free(struct frontend_result *r)
{
	if (r == NULL)
		return;
	free(r->issuer);
	free(r->previous);
	free(r->error);
	free(r->phone_message);
	free(r->phone_remedy);
	step_list_free(&r->steps);
	free(r);
}

/*
 * A copy of a result for another run that waited on the same learning:
 * the same outcome and steps, but not "changed" (journaled once, by the
 * run that got the original).
 */
struct frontend_result *
frontend_result_copy(const struct frontend_result *r)
{
	struct frontend_result *c = xcalloc(1, sizeof *c);
	const struct step *s;
	struct step *t;

	c->ok = r->ok;
	c->issuer = r->issuer != NULL ? xstrdup(r->issuer) : NULL;
	c->error = r->error != NULL ? xstrdup(r->error) : NULL;
	c->phone_reason = r->phone_reason;
	c->phone_message =
	    r->phone_message != NULL ? xstrdup(r->phone_message) : NULL;
	c->phone_remedy =
	    r->phone_remedy != NULL ? xstrdup(r->phone_remedy) : NULL;
	step_list_init(&c->steps);
	TAILQ_FOREACH (s, &r->steps, entry) {
		t = step_add(&c->steps, s->kind, s->depth, "%s", s->title);
		step_set(t, s->result, s->reason,
		    s->detail != NULL ? "%s" : NULL, s->detail);
		step_set_str(&t->method, s->method);
		step_set_str(&t->url, s->url);
		step_set_str(&t->address, s->address);
		step_set_str(&t->tls_version, s->tls_version);
		t->http_status = s->http_status;
		t->timings = s->timings;
	}
	return c;
}

/* Free the learning run (not a delivered result). */
static void
frontend_free(struct frontend *fe)
{
	if (fe->lookup != NULL)
		dns_cancel(fe->lookup);
	http_req_free(fe->req);
	phonelook_cancel(fe->look);
	tlscapture_free(fe->cap);
	free(fe->addr);
	frontend_result_free(fe->res);
	free(fe->servers);
	free(fe->url);
	free(fe);
}

/* The result is ready: deliver it on the next loop turn (task.h). */
static void
frontend_finish(struct frontend *fe)
{
	task_finish(&fe->task);
}

/* The queued delivery: hand the result over, then free the run. */
static void
frontend_deliver(void *arg)
{
	struct frontend *fe = arg;
	struct frontend_result *r = fe->res;

	fe->res = NULL;
	fe->done(r, fe->arg);
	frontend_free(fe);
}

/* A cancelled learning run: free it with no delivery. */
static void
frontend_discard(void *arg)
{
	frontend_free(arg);
}

/*
 * The phone's own hello at the pool is back: a step, and — when phones
 * fail there as a handshake with SNI does not — the finding in words
 * (phonelook_explain against the chain with SNI) and its journal entry.
 */
static void
frontend_look_cb(struct phonelook_result *pr, void *arg)
{
	struct frontend *fe = arg;
	struct frontend_result *r = fe->res;
	struct chain_verdict *sni;
	char *head;

	fe->look = NULL;
	phonelook_step(pr, &r->steps, fe->profile->name);
	/* A connection not made says nothing of the pool's TLS. */
	if (pr->reason != REASON_CONNECT_FAILED &&
	    pr->reason != REASON_INTERNAL) {
		sni = chain_evaluate(fe->phone, NULL, tlscapture_chain(fe->cap),
		    fe->profile->frontend_host, time(NULL), 0);
		xasprintf(&head,
		    "phones cannot connect to the Lync pool %s, so they cannot sign in to Lync",
		    fe->url);
		r->phone_reason = phonelook_explain(pr, fe->phone, head, sni,
		    &r->phone_message, &r->phone_remedy);
		r->phone_alert = r->phone_reason != REASON_OK;
		free(head);
		chain_verdict_free(sni);
	}
	phonelook_result_free(pr);
	frontend_finish(fe);
}

/*
 * After a learning: send the profile's own hello to the pool's address,
 * when the profile defines one. Returns 0 when sent (frontend_look_cb
 * follows), -1 when not.
 */
static int
frontend_look(struct frontend *fe)
{
	struct phonelook_params lp;
	struct sockaddr_storage ss;

	memset(&lp, 0, sizeof lp);
	if (!fe->profile->hello_enabled || !fe->res->ok || fe->addr == NULL ||
	    phonelook_sockaddr(fe->addr, fe->profile->frontend_port, &ss,
	        &lp.salen) != 0)
		return -1;
	lp.host = fe->profile->frontend_host;
	lp.port = fe->profile->frontend_port;
	lp.sa = (const struct sockaddr *)&ss;
	lp.profile = fe->profile;
	lp.phone = fe->phone;
	lp.timeout_ms = fe->timeout_ms;
	fe->look = phonelook_start(&lp, frontend_look_cb, fe);
	return 0;
}

/* The handshake is over: learn from the chain it presented. */
static void
frontend_http_cb(struct http_req *req, void *arg)
{
	struct frontend *fe = arg;
	struct frontend_result *r = fe->res;
	const char *before = trustset_frontend_issuer(fe->phone);
	char *prev = before != NULL ? xstrdup(before) : NULL, *cause = NULL;
	struct step *st;

	st = step_add(&r->steps, STEP_FRONTEND, 1, "TLS with the Lync pool %s",
	    fe->url);
	step_set_str(&st->address, http_req_address(req));
	step_set_str(&st->tls_version, http_req_tls_version(req));
	http_req_timings(req, &st->timings);
	if (tlscapture_chain(fe->cap) == NULL) {
		xasprintf(&r->error,
		    "no TLS handshake with the Lync pool %s: %s", fe->url,
		    http_req_error(req) != NULL
		        ? http_req_error(req)
		        : http_status_name(http_req_status(req)));
		step_set(st, STEP_FAIL, "frontend_unknown", "%s", r->error);
	} else if (trustset_learn_frontend(fe->phone, tlscapture_chain(fe->cap),
	               &r->changed, &cause) != 0) {
		r->error = cause;
		step_set(st, STEP_FAIL, "frontend_unknown", "%s", r->error);
	} else {
		r->ok = 1;
		r->issuer = xstrdup(trustset_frontend_issuer(fe->phone));
		if (r->changed)
			r->previous = prev, prev = NULL;
		step_set(st, STEP_OK, NULL,
		    "phones trust '%s' (issuer of the pool certificate)%s",
		    r->issuer, r->changed ? " — changed" : "");
	}
	free(prev);
	if (frontend_look(fe) != 0)
		frontend_finish(fe);
}

/* The pool's address: open TLS to it. */
static void
frontend_dns_cb(const struct dns_result *dr, void *arg)
{
	struct frontend *fe = arg;
	struct frontend_result *r = fe->res;
	struct step *st;
	const char *addr;

	fe->lookup = NULL;
	st = step_add(&r->steps, STEP_DNS, 1, "DNS A/AAAA %s",
	    fe->profile->frontend_host);
	if (dr->status != DNS_OK || dr->naddrs == 0) {
		xasprintf(&r->error, "the Lync pool %s does not resolve (%s)",
		    fe->profile->frontend_host, dns_status_name(dr->status));
		step_set(st, STEP_FAIL, "dns_failed", "%s", r->error);
		frontend_finish(fe);
		return;
	}
	addr = dns_result_pick(dr)->text;
	fe->addr = xstrdup(addr);
	step_set_str(&st->address, addr);
	step_set(st, STEP_OK, NULL, "%s", addr);
	fe->req = http_req_new("GET", fe->url);
	http_req_pin(fe->req, fe->profile->frontend_host,
	    fe->profile->frontend_port, addr);
	http_req_set_timeouts(fe->req, fe->timeout_ms, fe->timeout_ms, 1,
	    fe->timeout_ms / 1000 > 0 ? fe->timeout_ms / 1000 : 1);
	fe->cap = tlscapture_new(fe->profile, fe->phone,
	    fe->profile->frontend_host, 0);
	http_req_set_verify(fe->req, 0, 0);
	http_req_set_cafile(fe->req, NULL);
	http_req_set_ssl_ctx(fe->req, tlscapture_install, fe->cap);
	http_req_submit(fe->req, frontend_http_cb, fe);
}

/*
 * Learn the pool's issuer into phone (the profile's set). The profile must
 * name a frontend host.
 */
struct frontend *
frontend_learn(const struct config_profile *p, struct trustset *phone,
    const char *servers, long timeout_ms, frontend_done_cb done, void *arg)
{
	struct frontend *fe = xcalloc(1, sizeof *fe);

	fe->profile = p;
	fe->phone = phone;
	fe->servers = servers != NULL ? xstrdup(servers) : NULL;
	fe->timeout_ms = timeout_ms;
	fe->done = done;
	fe->arg = arg;
	task_init(&fe->task, frontend_deliver, frontend_discard, fe);
	fe->res = xcalloc(1, sizeof *fe->res);
	step_list_init(&fe->res->steps);
	xasprintf(&fe->url, "https://%s:%d/", p->frontend_host,
	    p->frontend_port);
	fe->lookup =
	    dns_lookup_addr(p->frontend_host, fe->servers, frontend_dns_cb, fe);
	return fe;
}

/* Cancel a learning run: no callback will follow. */
void
frontend_cancel(struct frontend *fe)
{
	if (fe != NULL)
		task_cancel(&fe->task);
}
