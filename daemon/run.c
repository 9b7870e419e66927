/*
 * run: owns a target's run — Front End learning when due (phones judge
 * discovery with the pool's issuer), then discovery (or the URLs another
 * run found), then the two EWS URLs one after the other, or once when
 * they are the same URL — and its result. The context runs share is
 * run_ctx.c's.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "loop.h"
#include "run_private.h"
#include "task.h"
#include "verdict.h"
#include "xmalloc.h"

/* What a running run waits for; its life cycle is its task's. */
enum run_phase {
	RUN_FRONTEND,
	RUN_DISCOVER_WAIT, /* for another profile's run's discovery */
	RUN_DISCOVER,
	RUN_URLS,
};

struct run {
	enum run_phase phase;
	struct task task; /* running, finishing, cancelled (task.h) */
	struct run_ctx *ctx;
	const struct config_mailbox *m;
	const struct config_profile *p;
	size_t pidx;
	char *servers;
	int url; /* next URL: 0 internal, 1 external */
	int both; /* the internal URL is the external one too */
	int fixed; /* the URLs are the configuration's, not discovered */
	struct autodiscover *ad;
	struct adaddrs *aa; /* the answering host's addresses */
	/* Profiles whose phones the discovery judges too (run_others). */
	const struct trustset *other_sets[AUTODISCOVER_MAX_OTHERS];
	size_t other_pidx[AUTODISCOVER_MAX_OTHERS];
	size_t nothers;
	size_t midx;
	struct urlcheck *ep;
	struct run_result *res;
	run_done_cb done;
	void *arg;
	uint64_t started_us;
	/*
	 * Waited for a walk that did not give its phones the URLs: walk
	 * alone now, not behind another waiter's walk (k profiles would
	 * take k walks one after another).
	 */
	int alone;
	/* In learning's waiters (FRONTEND) or a discovery's (DISCOVER_WAIT). */
	TAILQ_ENTRY(run) wait_entry;
};

static void run_next(struct run *);
static void run_discover(struct run *);
static void run_learn(struct run *);
static void run_release(struct run *);

/*
 * Make urls[1] the external view of urls[0], the one probe of a URL that
 * is both internal and external: the same evidence under both roles, so
 * every report shows both. The view borrows everything but its role;
 * it is rebuilt whenever urls[0] changes.
 */
static void
run_share_url(struct run_result *r)
{
	struct urlcheck_result *v;

	if (r->urls[1] != NULL) {
		free(r->urls[1]->role);
		free(r->urls[1]);
	}
	v = xmalloc(sizeof *v);
	*v = *r->urls[0];
	v->role = xstrdup("external");
	r->urls[1] = v;
	r->one_url = 1;
}

/*
 * Drop what a kept result no longer needs: the steps of what went well (a
 * found discovery, a learned issuer, a URL that is ok without findings).
 * The daemon keeps one result per target, so with 10,000 targets this is
 * most of its memory; the steps of failures stay as their evidence.
 */
void
run_result_trim(struct run_result *r)
{
	struct urlcheck_result *u;
	int i;

	if (r->discovery != NULL && r->discovery->found &&
	    r->discovery->phone_found)
		step_list_free(&r->discovery->steps);
	if (r->frontend != NULL && r->frontend->ok)
		step_list_free(&r->frontend->steps);
	for (i = 0; i < (r->one_url ? 1 : 2); i++) {
		if ((u = r->urls[i]) != NULL && u->reason == REASON_OK &&
		    !u->warning)
			step_list_free(&u->steps);
	}
	if (r->one_url)
		run_share_url(r);
}

/* Free a result; NULL is a no-op. */
void
run_result_free(struct run_result *r)
{
	if (r == NULL)
		return;
	free(r->message);
	free(r->remedy);
	autodiscover_result_free(r->discovery);
	adaddrs_result_free(r->discovery_addrs);
	free(r->internal_ews_url);
	free(r->external_ews_url);
	free(r->prev_internal_ews_url);
	free(r->prev_external_ews_url);
	frontend_result_free(r->frontend);
	urlcheck_result_free(r->urls[0]);
	if (r->one_url && r->urls[1] != NULL) {
		free(r->urls[1]->role);
		free(r->urls[1]);
	} else
		urlcheck_result_free(r->urls[1]);
	free(r);
}

/*
 * Leave the profile's learning; the last waiter to leave ends the
 * handshake, which nobody needs any more.
 */
static void
run_unwait(struct run *pr)
{
	struct run_learning *l = &pr->ctx->learning[pr->pidx];

	TAILQ_REMOVE(&l->waiters, pr, wait_entry);
	if (TAILQ_EMPTY(&l->waiters) && l->fe != NULL) {
		frontend_cancel(l->fe);
		l->fe = NULL;
	}
}

/* Free the run (not its delivered result). */
static void
run_free(struct run *pr)
{
	if (pr->ad != NULL)
		autodiscover_cancel(pr->ad);
	if (pr->aa != NULL)
		adaddrs_cancel(pr->aa);
	if (pr->ep != NULL)
		urlcheck_cancel(pr->ep);
	run_result_free(pr->res);
	free(pr->servers);
	free(pr);
}

/*
 * The Front End issuer was learned (or not): every run that waited gets
 * the result — the first the original (a change is journaled once), the
 * others a copy — and goes on with its URLs.
 */
static void
run_frontend_cb(struct frontend_result *fr, void *arg)
{
	struct run_learning *l = arg;
	struct run_ctx *ctx = l->ctx;
	struct run_queue ready;
	struct run *pr;
	int first = 1;

	l->fe = NULL;
	if (fr->ok)
		ctx->learned_ms[l->pidx] = loop_now_ms();
	else
		log_warnx("profile %s: %s", ctx->cfg->profiles[l->pidx]->name,
		    fr->error);
	/* Take the waiters first: a run started below may wait anew. */
	TAILQ_INIT(&ready);
	TAILQ_CONCAT(&ready, &l->waiters, wait_entry);
	while ((pr = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, pr, wait_entry);
		pr->res->frontend = first ? fr : frontend_result_copy(fr);
		first = 0;
		run_discover(pr);
	}
	if (first)
		frontend_result_free(fr);
}

/*
 * One URL is done: keep its result, go on. A URL probed for both roles
 * is reported under each (its messages name both).
 */
static void
run_url_cb(struct urlcheck_result *er, void *arg)
{
	struct run *pr = arg;

	pr->ep = NULL;
	pr->res->urls[pr->url++] = er;
	if (pr->both) {
		free(er->role);
		er->role = xstrdup("internal");
		run_share_url(pr->res);
		pr->url = 2;
	}
	run_next(pr);
}

/* The queued delivery (task.h): hand the result over, free the run. */
static void
run_deliver(void *arg)
{
	struct run *pr = arg;
	struct run_result *r = pr->res;

	pr->res = NULL;
	pr->done(r, pr->arg);
	run_free(pr);
}

/* A cancelled run: leave a learning it waits on, free it, no delivery. */
static void
run_discard(void *arg)
{
	struct run *pr = arg;

	if (pr->phase == RUN_FRONTEND)
		run_unwait(pr);
	else if (pr->phase == RUN_DISCOVER_WAIT)
		TAILQ_REMOVE(&pr->ctx->disc[pr->midx].waiters, pr, wait_entry);
	else if (pr->phase == RUN_DISCOVER &&
	    pr->midx < pr->ctx->cfg->nmailboxes &&
	    pr->ctx->disc[pr->midx].leader == pr)
		run_release(pr); /* its waiters discover on their own */
	run_free(pr);
}

/* Advance: the next URL, or the verdict. */
static void
run_next(struct run *pr)
{
	struct urlcheck_params ep;
	const char *url;

	while (pr->url < 2) {
		url = pr->url == 0 ? pr->res->internal_ews_url
		                   : pr->res->external_ews_url;
		if (url == NULL) {
			pr->url++;
			continue;
		}
		/* Most deployments publish one URL for both: probe it once. */
		pr->both = pr->url == 0 && pr->res->external_ews_url != NULL &&
		    strcmp(url, pr->res->external_ews_url) == 0;
		memset(&ep, 0, sizeof ep);
		ep.url = url;
		ep.role = pr->both ? "internal and external"
		    : pr->url == 0 ? "internal"
		                   : "external";
		ep.profile = pr->p;
		ep.phone = pr->ctx->phones[pr->pidx];
		ep.system = pr->p->system_store ? pr->ctx->system : NULL;
		ep.account = pr->m->account;
		ep.password = pr->m->password;
		ep.dns_servers = pr->servers;
		ep.mailbox = pr->m->name;
		ep.domain = pr->m->domain;
		ep.signin_allow = &pr->m->redirect_allow;
		ep.signin_fixed = pr->fixed;
		ep.timeout_ms = (long)pr->ctx->cfg->timeout_ms;
		ep.warn_days = pr->ctx->cfg->cert_warn_days;
		ep.max_addrs = pr->ctx->cfg->max_addresses;
		pr->ep = urlcheck_start(&ep, run_url_cb, pr);
		return;
	}
	verdict_run(pr->res, pr->m);
	if (pr->midx < pr->ctx->cfg->nmailboxes &&
	    pr->ctx->disc[pr->midx].valid)
		pr->ctx->disc[pr->midx].ews_failed =
		    pr->res->verdict == STATE_CRITICAL;
	pr->res->duration_us = (int64_t)(loop_now_usec() - pr->started_us);
	task_finish(&pr->task);
}

/*
 * How long discovered URLs stay fresh: discovery_interval (Microsoft's
 * advice is a day), but at most an hour once EWS failed at those URLs —
 * Autodiscover may know better by now.
 */
static uint64_t
run_disc_ttl(const struct run_ctx *ctx, const struct run_disc *d)
{
	uint64_t ttl = ctx->cfg->discovery_interval_ms;

	if (d->ews_failed && ttl > 3600 * 1000)
		ttl = 3600 * 1000;
	return ttl;
}

/* Take the mailbox's cached discovered URLs. */
static void
run_use_cached(struct run *pr)
{
	struct run_disc *d = &pr->ctx->disc[pr->midx];

	pr->res->internal_ews_url =
	    d->internal != NULL ? xstrdup(d->internal) : NULL;
	pr->res->external_ews_url =
	    d->external != NULL ? xstrdup(d->external) : NULL;
}

/* Whether two optional strings differ. */
static int
run_differ(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* The answering host's addresses are checked: go on with the URLs. */
static void
run_addrs_cb(struct adaddrs_result *ar, void *arg)
{
	struct run *pr = arg;

	pr->aa = NULL;
	pr->res->discovery_addrs = ar;
	pr->phase = RUN_URLS;
	run_next(pr);
}

/*
 * Phones found the URLs at source, or stopped there while PCs found them:
 * every server behind its name is checked with a handshake
 * (docs/addresses.md) on every run that uses those URLs, before the
 * URLs; without a source, the URLs at once.
 */
static void
run_discovery_addrs(struct run *pr, const char *source)
{
	struct run_ctx *ctx = pr->ctx;
	struct adaddrs_params ap;

	if (source == NULL) {
		pr->phase = RUN_URLS;
		run_next(pr);
		return;
	}
	memset(&ap, 0, sizeof ap);
	ap.url = source;
	ap.dns_servers = pr->servers;
	ap.profile = pr->p;
	ap.phone = ctx->phones[pr->pidx];
	ap.system = ctx->system;
	ap.timeout_ms = (long)ctx->cfg->timeout_ms;
	ap.warn_days = ctx->cfg->cert_warn_days;
	ap.max_addrs = ctx->cfg->max_addresses;
	pr->aa = adaddrs_start(&ap, run_addrs_cb, pr);
}

/*
 * Whose servers a discovery's run checks (run_discovery_addrs): the
 * candidate that gave phones the URLs, or, when phones stopped at an
 * HTTPS candidate while PCs found them, that one — so a walk that met
 * one bad server of several says how many (docs/addresses.md).
 */
static const char *
run_addrs_url(const struct autodiscover_result *ar, const struct run_disc *d)
{
	if (!ar->found)
		return NULL;
	if (d->source != NULL)
		return d->source;
	if (ar->phone_url != NULL && strncmp(ar->phone_url, "https://", 8) == 0)
		return ar->phone_url;
	return NULL;
}

/*
 * Discovery is done: cache its URLs (noting a change from the ones found
 * before), then go on; without URLs the verdict says why.
 */
static void
run_discovered_cb(struct autodiscover_result *ar, void *arg)
{
	struct run *pr = arg;
	struct run_disc *d = &pr->ctx->disc[pr->midx];
	struct run_result *r = pr->res;
	size_t i;

	pr->ad = NULL;
	r->discovery = ar;
	if (ar->found) {
		if (d->valid &&
		    (run_differ(d->internal, ar->internal_ews_url) ||
		        run_differ(d->external, ar->external_ews_url))) {
			r->urls_changed = 1;
			r->prev_internal_ews_url = d->internal;
			r->prev_external_ews_url = d->external;
			d->internal = d->external = NULL;
		}
		free(d->internal);
		free(d->external);
		d->internal = ar->internal_ews_url != NULL
		    ? xstrdup(ar->internal_ews_url)
		    : NULL;
		d->external = ar->external_ews_url != NULL
		    ? xstrdup(ar->external_ews_url)
		    : NULL;
		/* Other profiles' phones keep their word on the same URLs. */
		if (!d->valid || r->urls_changed)
			memset(d->phone_ok, 0,
			    pr->ctx->cfg->nprofiles > 0
			        ? pr->ctx->cfg->nprofiles
			        : 1);
		d->at_ms = loop_now_ms();
		d->valid = 1;
		d->phone_ok[pr->pidx] = (unsigned char)ar->phone_found;
		for (i = 0; i < pr->nothers; i++)
			d->phone_ok[pr->other_pidx[i]] =
			    (ar->others_found >> i) & 1;
		run_use_cached(pr);
	} else if (d->valid)
		/* Keep probing the URLs phones still have cached. */
		run_use_cached(pr);
	if (ar->found) {
		free(d->source);
		d->source = ar->phone_found && ar->source != NULL &&
		        strncmp(ar->source, "https://", 8) == 0
		    ? xstrdup(ar->source)
		    : NULL;
	}
	if (d->leader == pr)
		run_release(pr);
	run_discovery_addrs(pr, run_addrs_url(ar, d));
}

/*
 * The leader pr's discovery is over (or cancelled): each run that waited
 * for it looks again — at URLs its phones were found to reach, or it
 * discovers on its own.
 */
static void
run_release(struct run *pr)
{
	struct run_disc *d = &pr->ctx->disc[pr->midx];
	struct run_queue ready;
	struct run *w;

	d->leader = NULL;
	/* Take the waiters first: one may lead a discovery of its own. */
	TAILQ_INIT(&ready);
	TAILQ_CONCAT(&ready, &d->waiters, wait_entry);
	while ((w = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, w, wait_entry);
		w->alone = 1;
		run_discover(w);
	}
}

/* Whether pr's discovery judges profile pidx's phones too (run_others). */
static int
run_judges(const struct run *pr, size_t pidx)
{
	size_t i;

	for (i = 0; i < pr->nothers; i++)
		if (pr->other_pidx[i] == pidx)
			return 1;
	return 0;
}

/* Start a run of mailbox m under profile p. */
struct run *
run_start(struct run_ctx *ctx, const struct config_mailbox *m,
    const struct config_profile *p, run_done_cb done, void *arg)
{
	struct run *pr = xcalloc(1, sizeof *pr);

	pr->ctx = ctx;
	pr->m = m;
	pr->p = p;
	pr->pidx = run_index_find(ctx->pindex, ctx->cfg->nprofiles, p);
	if (pr->pidx == ctx->cfg->nprofiles)
		fatalx("profile %s is not in the configuration", p->name);
	pr->servers = run_dns_servers(ctx->cfg, m);
	pr->done = done;
	pr->arg = arg;
	task_init(&pr->task, run_deliver, run_discard, pr);
	pr->started_us = loop_now_usec();
	pr->res = xcalloc(1, sizeof *pr->res);
	pr->res->started = (int64_t)time(NULL);
	pr->midx = run_index_find(ctx->mindex, ctx->cfg->nmailboxes, m);
	run_learn(pr);
	return pr;
}

/*
 * The mailbox's other profiles whose phones this discovery can judge on
 * its own handshakes: the same TLS range (so the same hello and cipher
 * list), no phone's own hello or this profile's (adpolicy_look), and
 * anchors that are complete (the pool's issuer learned, or not learned
 * at all). Each found the URLs is spared a discovery of its own.
 */
static void
run_others(struct run *pr)
{
	struct run_ctx *ctx = pr->ctx;
	const struct config_profile *q;
	size_t i, qidx;

	pr->nothers = 0;
	for (i = 0; i < pr->m->nprofiles; i++) {
		q = pr->m->profiles[i];
		qidx = run_index_find(ctx->pindex, ctx->cfg->nprofiles, q);
		if (q == pr->p || qidx == ctx->cfg->nprofiles ||
		    q->tls_min != pr->p->tls_min ||
		    q->tls_max != pr->p->tls_max ||
		    (q->hello_enabled &&
		        (!pr->p->hello_enabled ||
		            !hello_spec_equal(&q->hello, &pr->p->hello))) ||
		    (q->frontend_host != NULL && ctx->learned_ms[qidx] == 0) ||
		    pr->nothers == AUTODISCOVER_MAX_OTHERS)
			continue;
		pr->other_sets[pr->nothers] = ctx->phones[qidx];
		pr->other_pidx[pr->nothers++] = qidx;
	}
}

/*
 * The URLs to probe: the configuration's, the mailbox's discovered ones
 * while fresh and found by this profile's phones, or a discovery now.
 */
static void
run_discover(struct run *pr)
{
	struct run_ctx *ctx = pr->ctx;
	const struct config_mailbox *m = pr->m;
	struct run_disc *d =
	    pr->midx < ctx->cfg->nmailboxes ? &ctx->disc[pr->midx] : NULL;
	struct autodiscover_params ap;

	/*
	 * Out of any queue from here (a run may come from a learning's or a
	 * discovery's waiters): what a cancel must undo follows the phase.
	 */
	pr->phase = RUN_DISCOVER;
	if (m->ews_internal_url != NULL || m->ews_external_url != NULL) {
		/* The admin typed these: sign in there (docs/credentials.md). */
		pr->fixed = 1;
		pr->res->internal_ews_url = m->ews_internal_url != NULL
		    ? xstrdup(m->ews_internal_url)
		    : NULL;
		pr->res->external_ews_url = m->ews_external_url != NULL
		    ? xstrdup(m->ews_external_url)
		    : NULL;
	} else if (d != NULL && d->valid && d->phone_ok[pr->pidx] &&
	    loop_now_ms() - d->at_ms < run_disc_ttl(ctx, d)) {
		run_use_cached(pr);
		run_discovery_addrs(pr, d->source);
		return;
	} else if (d != NULL && d->leader != NULL && !pr->alone &&
	    run_judges(d->leader, pr->pidx)) {
		/*
		 * Single flight: another profile's run is discovering this
		 * mailbox over the handshakes this profile's phones make
		 * too (runs of a mailbox's profiles start together), so
		 * wait for its answer.
		 */
		pr->phase = RUN_DISCOVER_WAIT;
		TAILQ_INSERT_TAIL(&d->waiters, pr, wait_entry);
		return;
	} else {
		memset(&ap, 0, sizeof ap);
		ap.address = m->address;
		ap.account = m->account;
		ap.password = m->password;
		ap.dns_servers = pr->servers;
		ap.profile = pr->p;
		ap.phone = ctx->phones[pr->pidx];
		ap.system = ctx->system;
		run_others(pr);
		ap.others = pr->other_sets;
		ap.nothers = pr->nothers;
		ap.redirect_allow = &m->redirect_allow;
		ap.mode = m->discovery != CONFIG_DISCOVERY_DEFAULT
		    ? m->discovery
		    : ctx->discovery;
		ap.timeout_ms = (long)ctx->cfg->timeout_ms;
		if (d != NULL && d->leader == NULL)
			d->leader = pr;
		pr->ad = autodiscover_start(&ap, run_discovered_cb, pr);
		return;
	}
	pr->phase = RUN_URLS;
	run_next(pr);
}

/*
 * Front End learning when due (phones judge discovery and EWS with the
 * pool's issuer), then discovery.
 */
static void
run_learn(struct run *pr)
{
	struct run_ctx *ctx = pr->ctx;
	const struct config_profile *p = pr->p;
	struct run_learning *l = &ctx->learning[pr->pidx];
	uint64_t now = loop_now_ms();

	if (p->frontend_host != NULL &&
	    (ctx->learned_ms[pr->pidx] == 0 ||
	        now - ctx->learned_ms[pr->pidx] >= p->frontend_interval_ms)) {
		/*
		 * Single flight: runs that find the learning due while a
		 * handshake is under way wait for it instead of starting
		 * their own. It asks the first waiter's DNS servers.
		 */
		pr->phase = RUN_FRONTEND;
		TAILQ_INSERT_TAIL(&l->waiters, pr, wait_entry);
		if (l->fe == NULL)
			l->fe = frontend_learn(p, ctx->phones[pr->pidx],
			    pr->servers, (long)ctx->cfg->timeout_ms,
			    run_frontend_cb, l);
		return;
	}
	run_discover(pr);
}

/* Cancel a run: no callback will follow. */
void
run_cancel(struct run *pr)
{
	if (pr != NULL)
		task_cancel(&pr->task);
}
