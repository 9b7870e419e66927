/*
 * frontend: owns one learning run against a profile's Front End pool:
 * resolve the pool, open TLS with the profile's limits (capturing the
 * chain, judging nothing), and hand the chain to the trust set.
 */
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "frontend.h"
#include "http.h"
#include "log.h"
#include "loop.h"
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
	tlscapture_free(fe->cap);
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
