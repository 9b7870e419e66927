/*
 * postrun: owns what follows a target's run in the daemon — the state
 * update, the alerts and the memory of expiry alerts already given, the
 * result kept until the next run, the STATUS= line, and when the status
 * files are rewritten. The scheduler decides when runs start; this file
 * decides what a finished run leaves behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "alert.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "postrun.h"
#include "xmalloc.h"

/*
 * Status files are rewritten after runs, but not after every run: all
 * runs that end within a gap share one write. The gap is at least 1 s and
 * 100 times what the last write took (at most 60 s), so that rendering
 * every target's status costs at most about 1% of a core however many
 * targets there are; with few targets it is a second.
 */
#define POSTRUN_STATUS_MIN_GAP_MS 1000
#define POSTRUN_STATUS_MAX_GAP_MS 60000
#define POSTRUN_STATUS_COST_FACTOR 100

static struct event *postrun_status_ev; /* the coalesced status write */
static postrun_write_fn postrun_writer;
static int postrun_status_pending;
static uint64_t postrun_status_last_ms; /* when the last write ended */
static uint64_t postrun_status_gap = POSTRUN_STATUS_MIN_GAP_MS;

/* A new target of mailbox m under profile p: nothing known yet. */
void
postrun_target_init(struct postrun_target *pt, const struct config_mailbox *m,
    const struct config_profile *p)
{
	memset(pt, 0, sizeof *pt);
	pt->mailbox = xstrdup(m->name);
	pt->profile = xstrdup(p->name);
	xasprintf(&pt->name, "%s/%s", m->name, p->name);
	pt->m = m;
	pt->p = p;
	state_init(&pt->st);
}

/* Free what a target remembers. */
void
postrun_target_clear(struct postrun_target *pt)
{
	run_result_free(pt->last);
	for (size_t i = 0; i < pt->nexpiring; i++)
		free(pt->expiring[i]);
	free(pt->expiring);
	free(pt->failing);
	free(pt->name);
	free(pt->mailbox);
	free(pt->profile);
	memset(pt, 0, sizeof *pt);
}

/*
 * Remember the expiry alert key ("sha256/days"); return 1 if it is new
 * (the alert is due), 0 if it was given already. key is taken.
 */
static int
postrun_expiry_new(struct postrun_target *pt, char *key)
{
	for (size_t e = 0; e < pt->nexpiring; e++) {
		if (strcmp(pt->expiring[e], key) == 0) {
			free(key);
			return 0;
		}
	}
	pt->expiring = xreallocarray(pt->expiring, pt->nexpiring + 1,
	    sizeof *pt->expiring);
	pt->expiring[pt->nexpiring++] = key;
	return 1;
}

/*
 * The servers behind the URL's name: a leaf that is not the one the
 * URL's report shows (a node whose renewal was missed) is alerted the
 * same way, once per certificate and window, naming its address. A leaf
 * the report shows too has the same key, so it is alerted once.
 */
static void
postrun_check_addrs(struct postrun_target *pt, const struct urlcheck_result *u,
    const struct alert_target *at, const unsigned int windows[3], time_t now)
{
	const struct urlcheck_addr *a;
	time_t left;
	char *key;
	size_t i, w;

	for (i = 0; i < u->naddrs; i++) {
		a = &u->addrs[i];
		if (a->cert_sha256 == NULL || a->cert_not_after == 0)
			continue;
		left = a->cert_not_after - now;
		for (w = 0; w < 3; w++) {
			if (windows[w] == 0 || windows[w] > windows[0] ||
			    left <= 0 || left >= (time_t)windows[w] * 86400)
				continue;
			xasprintf(&key, "%s/%u", a->cert_sha256, windows[w]);
			if (postrun_expiry_new(pt, key))
				alert_addr_cert_expiring(at, u, a, windows[w]);
		}
	}
}

/*
 * Journal each certificate on the target's path that entered an expiry
 * window (cert_warn_days, then 7 and 1 days) once per certificate and
 * window, not on every run.
 */
static void
postrun_check_expiry(const struct config *cfg, struct postrun_target *pt,
    const struct run_result *r, const struct alert_target *at)
{
	const unsigned int windows[] = {cfg->cert_warn_days, 7, 1};
	const struct chain_verdict *v;
	const struct urlcheck_result *u;
	time_t now = time(NULL), left;
	char *key;
	size_t k, i, w;

	for (k = 0; k < 2; k++) {
		if ((u = r->urls[k]) == NULL)
			continue;
		v = u->verdict;
		for (i = 0; v != NULL && i < v->ncerts; i++) {
			left = v->certs[i].not_after - now;
			for (w = 0; w < 3; w++) {
				if (windows[w] == 0 ||
				    windows[w] > cfg->cert_warn_days ||
				    left <= 0 ||
				    left >= (time_t)windows[w] * 86400)
					continue;
				xasprintf(&key, "%s/%u", v->certs[i].sha256,
				    windows[w]);
				if (postrun_expiry_new(pt, key))
					alert_cert_expiring(at, u, i,
					    windows[w]);
			}
		}
		postrun_check_addrs(pt, u, at, windows, now);
	}
}

/* Whether the run saw a certificate whose fingerprint starts key. */
static int
postrun_expiry_seen(const struct run_result *r, const char *key)
{
	const struct chain_verdict *v;
	const char *sha;
	size_t k, i, len = strcspn(key, "/");

	for (k = 0; k < 2; k++) {
		if (r->urls[k] == NULL)
			continue;
		v = r->urls[k]->verdict;
		for (i = 0; v != NULL && i < v->ncerts; i++) {
			if (strlen(v->certs[i].sha256) == len &&
			    strncmp(v->certs[i].sha256, key, len) == 0)
				return 1;
		}
		for (i = 0; i < r->urls[k]->naddrs; i++) {
			sha = r->urls[k]->addrs[i].cert_sha256;
			if (sha != NULL && strlen(sha) == len &&
			    strncmp(sha, key, len) == 0)
				return 1;
		}
	}
	return 0;
}

/*
 * Forget the expiry alerts of certificates the target no longer shows (a
 * renewed one, a path that moved), so that the memory stays as small as
 * the chains it serves. Only after a run that saw a chain at every URL it
 * probed: a run that failed before the handshake proves nothing.
 */
static void
postrun_prune_expiry(struct postrun_target *pt, const struct run_result *r)
{
	size_t k, e, kept = 0;

	for (k = 0; k < 2; k++)
		if (r->urls[k] != NULL && r->urls[k]->verdict == NULL)
			return;
	if (r->urls[0] == NULL && r->urls[1] == NULL)
		return;
	for (e = 0; e < pt->nexpiring; e++) {
		if (postrun_expiry_seen(r, pt->expiring[e]))
			pt->expiring[kept++] = pt->expiring[e];
		else
			free(pt->expiring[e]);
	}
	pt->nexpiring = kept;
}

/*
 * Journal a hard state change; and, while a bad hard state holds and the
 * run agrees with it, a change of the set of addresses where phones fail
 * (a second node gone bad, one fixed): once per set, never per run, and
 * never for DNS answering in another order (the set is sorted).
 */
static void
postrun_alert_state(struct postrun_target *pt, enum state_event ev,
    const char *prev, struct alert_target *at, const struct run_result *r)
{
	char *failing = alert_failing(r);
	int changed;

	changed = failing != NULL &&
	    (pt->failing == NULL || strcmp(failing, pt->failing) != 0);
	at->prev_failing = NULL;
	if (ev != STATE_EVENT_NONE)
		alert_transition(at, ev, prev, &pt->st, r);
	else if (changed && pt->failing_known && pt->st.established &&
	    pt->st.hard != STATE_OK && r->verdict == pt->st.hard) {
		at->prev_failing = pt->failing != NULL ? pt->failing : "(none)";
		alert_transition(at,
		    pt->st.hard == STATE_CRITICAL ? STATE_EVENT_DOWN
		                                  : STATE_EVENT_DEGRADED,
		    prev, &pt->st, r);
		at->prev_failing = NULL;
	} else if (pt->failing_known || pt->st.hard == STATE_OK) {
		/*
		 * Nothing to say; the first run after a start only learns
		 * the set (a restart keeps the state, not the set).
		 */
		free(failing);
		return;
	}
	free(pt->failing);
	pt->failing = failing;
	pt->failing_known = 1;
}

/*
 * A run of the target is over: count it, update its state, journal what
 * changed, and keep the result (trimmed) in place of the last one. r is
 * taken.
 */
void
postrun_apply(const struct config *cfg, struct postrun_target *pt,
    struct run_result *r)
{
	struct alert_target at;
	const char *prev = state_hard_name(&pt->st);
	enum state_event ev;

	pt->runs++;
	if (r->verdict == STATE_OK || r->verdict == STATE_WARNING)
		pt->last_success = r->started;
	ev = state_update(&pt->st, r->verdict, cfg->fail_after,
	    cfg->recover_after, (int64_t)time(NULL));
	at.name = pt->name;
	at.address = pt->m->address;
	at.profile = pt->profile;
	at.frontend_host = pt->p->frontend_host;
	at.frontend_issuer = r->frontend != NULL ? r->frontend->issuer : NULL;
	if (at.frontend_issuer == NULL && pt->last != NULL &&
	    pt->last->frontend != NULL)
		at.frontend_issuer = pt->last->frontend->issuer;
	if (r->frontend != NULL && r->frontend->changed)
		alert_frontend_changed(&at, r->frontend);
	if (r->frontend != NULL && r->frontend->phone_alert)
		alert_frontend_phone(&at, r->frontend);
	if (r->urls_changed)
		alert_urls_changed(&at, r);
	postrun_alert_state(pt, ev, prev, &at, r);
	postrun_prune_expiry(pt, r);
	if (cfg->cert_warn_days > 0)
		postrun_check_expiry(cfg, pt, r, &at);
	log_debug("%s: run %llu %s (%s)", pt->name,
	    (unsigned long long)pt->runs, state_verdict_name(r->verdict),
	    reason_name(r->reason));
	/* Keep the FE result of the last learning run for later alerts. */
	if (r->frontend == NULL && pt->last != NULL) {
		r->frontend = pt->last->frontend;
		pt->last->frontend = NULL;
	}
	run_result_free(pt->last);
	run_result_trim(r);
	pt->last = r;
}

/* The one-line STATUS= summary of the n targets v under load. */
char *
postrun_status_text(struct postrun_target *const *v, size_t n,
    const struct status_sched *load)
{
	unsigned int c[4] = {0, 0, 0, 0}, pending = 0;
	char behind[160] = "", *s;

	for (size_t i = 0; i < n; i++) {
		if (!v[i]->st.established)
			pending++;
		else
			c[v[i]->st.hard]++;
	}
	if (load->behind)
		snprintf(behind, sizeof behind,
		    "; behind schedule: %u due runs wait, the oldest for %llu s",
		    load->queued, (unsigned long long)(load->lag_ms / 1000));
	xasprintf(&s,
	    "%zu target%s: %u ok, %u warning, %u critical, %u unknown%s%s", n,
	    n == 1 ? "" : "s", c[STATE_OK], c[STATE_WARNING], c[STATE_CRITICAL],
	    c[STATE_UNKNOWN], pending > 0 ? ", pending" : "", behind);
	return s;
}

/* Send the STATUS= summary (postrun_status_text) to systemd. */
void
postrun_status_line(struct postrun_target *const *v, size_t n,
    const struct status_sched *load)
{
	char *s = postrun_status_text(v, n, load);

	notify_status("%s", s);
	free(s);
}

/* The gap before the next status write, after one that took took_ms. */
uint64_t
postrun_status_gap_ms(uint64_t took_ms)
{
	uint64_t gap = took_ms * POSTRUN_STATUS_COST_FACTOR;

	if (gap < POSTRUN_STATUS_MIN_GAP_MS)
		gap = POSTRUN_STATUS_MIN_GAP_MS;
	if (gap > POSTRUN_STATUS_MAX_GAP_MS)
		gap = POSTRUN_STATUS_MAX_GAP_MS;
	return gap;
}

/* The coalescing timer: the scheduler writes every target's status. */
static void
postrun_status_cb(evutil_socket_t fd, short what, void *arg)
{
	postrun_status_pending = 0;
	postrun_writer();
}

/*
 * Get ready to coalesce status writes (after loop_init); write is called
 * when one is due, and calls postrun_status_write.
 */
void
postrun_status_init(postrun_write_fn write)
{
	postrun_writer = write;
	postrun_status_ev = evtimer_new(loop_base(), postrun_status_cb, NULL);
	if (postrun_status_ev == NULL)
		fatalx("evtimer_new failed");
}

/* Stop coalescing: no write is due any more. */
void
postrun_status_free(void)
{
	if (postrun_status_ev != NULL)
		event_free(postrun_status_ev);
	postrun_status_ev = NULL;
	postrun_status_pending = 0;
}

/*
 * A run ended: write the status files once the gap since the last write
 * has passed (never from inside this loop turn, so that runs ending
 * together share the write).
 */
void
postrun_status_soon(void)
{
	uint64_t now = loop_now_ms(), due, ms;

	if (postrun_status_pending || postrun_status_ev == NULL)
		return;
	due = postrun_status_last_ms + postrun_status_gap;
	ms = due > now ? due - now : 0;
	postrun_status_pending = 1;
	loop_timer_ms(postrun_status_ev, ms);
}

/*
 * Write the status files of the n targets v and the STATUS= line now
 * (a coalesced write that was due is no longer), then set the gap before
 * the next from what this one cost, counted from began (loop_now_usec).
 */
void
postrun_status_write(const struct config *cfg, int64_t started,
    struct postrun_target *const *v, size_t n, const struct status_sched *load,
    uint64_t began)
{
	static char *json_error, *prom_error;
	struct status_target *st;
	struct status_doc doc;

	if (postrun_status_pending) {
		evtimer_del(postrun_status_ev);
		postrun_status_pending = 0;
	}
	/* status_write() skips a file that is not configured. */
	st = xcalloc(n > 0 ? n : 1, sizeof *st);
	for (size_t i = 0; i < n; i++) {
		st[i].name = v[i]->name;
		st[i].mailbox = v[i]->mailbox;
		st[i].address = v[i]->m->address;
		st[i].profile = v[i]->profile;
		st[i].state = &v[i]->st;
		st[i].runs = v[i]->runs;
		st[i].last_success = v[i]->last_success;
		st[i].last = v[i]->last;
	}
	doc.config_path = cfg->path;
	doc.started = started;
	doc.targets = st;
	doc.n = n;
	doc.sched = load;
	status_write(cfg->status_file, status_json, &doc, &json_error);
	status_write(cfg->metrics_file, status_prom, &doc, &prom_error);
	free(st);
	postrun_status_line(v, n, load);
	postrun_status_last_ms = loop_now_ms();
	postrun_status_gap =
	    postrun_status_gap_ms((loop_now_usec() - began) / 1000);
}
