/*
 * scheduler: owns the targets of the running configuration, their timers,
 * the run queue, the two caps (runs working, runs in flight) and the watch
 * on whether rounds keep to their interval; what a finished run leaves
 * behind is postrun's. A reload keeps what targets that still exist (same
 * mailbox and profile names) remember, and their place in the schedule.
 */
#include <sys/queue.h>
#include <sys/resource.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "dns.h"
#include "hashset.h"
#include "log.h"
#include "loop.h"
#include "msgid.h"
#include "postrun.h"
#include "run.h"
#include "retain.h"
#include "scheduler.h"
#include "state.h"
#include "status.h"
#include "xmalloc.h"

struct target {
	struct postrun_target pt; /* name, configuration, what it remembers */
	struct run *running;
	int working; /* holds one of the concurrency slots */
	int queued;
	uint64_t due_ms; /* when its timer queued it */
	uint64_t next_ms; /* when its timer fires */
	int was_due; /* running or queued when a reload cancelled it */
	int taken; /* kept by the reload under way (sched_build) */
	/*
	 * One timer, two uses: while a run is in flight, the end of its hold
	 * on a working slot; otherwise when the next run is due (one event
	 * less per target: 10,000 targets, 1.4 MB).
	 */
	struct event *timer;
	TAILQ_ENTRY(target) entry; /* all targets */
	TAILQ_ENTRY(target) qentry; /* run queue */
};

/*
 * A run holds one of the `concurrency` slots, which bound the CPU work in
 * progress, from its start. One still in flight after SCHED_SLOT_HOLD_MS
 * is waiting on the network — a connect, a handshake, an answer: a run's
 * own work is a few milliseconds of CPU (tests/bench/RESULTS.md) — and
 * gives its slot to the next run. Runs in flight, working or waiting, are
 * bounded by max_in_flight and by the file descriptors (one socket each),
 * less SCHED_FDS_RESERVED for everything else. docs/scale.md says why.
 */
#define SCHED_SLOT_HOLD_MS 1000
#define SCHED_FDS_RESERVED 64

static TAILQ_HEAD(, target) sched_targets = TAILQ_HEAD_INITIALIZER(
    sched_targets);
static TAILQ_HEAD(, target) sched_queue = TAILQ_HEAD_INITIALIZER(sched_queue);
static struct config *sched_cfg;
static struct run_ctx *sched_ctx;
static unsigned int sched_running; /* runs in flight */
static unsigned int sched_working; /* of those, holding a slot */
static unsigned int sched_nqueued;
static unsigned int sched_max_in_flight; /* in effect */
static struct event *sched_lag_ev; /* when the queue's head is late */
static int sched_behind; /* a due run waited a whole interval */
static uint64_t sched_behind_since_ms;
static uint64_t sched_overruns;
static int64_t sched_started;

static void sched_run_queue(void);
static void sched_release(struct target *);

/* Arm a target's timer ms milliseconds from now. */
static void
sched_arm(struct target *t, uint64_t ms)
{
	t->next_ms = loop_now_ms() + ms;
	loop_timer_ms(t->timer, ms);
}

/* A target's interval now: its own or the daemon's, or retry. */
static uint64_t
sched_interval(const struct target *t)
{
	uint64_t iv = t->pt.m->interval_ms != 0 ? t->pt.m->interval_ms
	                                        : sched_cfg->interval_ms;

	if (state_soft_failing(&t->pt.st) && sched_cfg->retry_interval_ms < iv)
		iv = sched_cfg->retry_interval_ms;
	return iv;
}

/* The delay to a target's next run: interval or retry, plus jitter. */
static uint64_t
sched_next_delay(struct target *t)
{
	uint64_t iv = sched_interval(t);

	/* Up to 1% jitter so that equal intervals drift apart. */
	return iv +
	    (iv >= 100 ? (uint64_t)(random() % (long)(iv / 100 + 1)) : 0);
}

/* How long the oldest due run has waited to start, in ms. */
static uint64_t
sched_lag_ms(void)
{
	struct target *t = TAILQ_FIRST(&sched_queue);
	uint64_t now = loop_now_ms();

	return t != NULL && now > t->due_ms ? now - t->due_ms : 0;
}

/* The scheduler's load, for the status files. */
static void
sched_load(struct status_sched *s)
{
	memset(s, 0, sizeof *s);
	s->in_flight = sched_running;
	s->working = sched_working;
	s->queued = sched_nqueued;
	s->concurrency = sched_cfg->concurrency;
	s->max_in_flight = sched_max_in_flight;
	s->behind = sched_behind;
	s->overruns = sched_overruns;
	s->lag_ms = sched_lag_ms();
	dns_load(&s->dns_in_flight, &s->dns_queued);
}

/* What the running daemon learned, as retain takes it. */
struct sched_learned {
	struct retain_discovery *d;
	size_t nd;
	struct retain_frontend *fe;
	size_t nfe;
};

/*
 * Collect every mailbox's discovered URLs and every profile's learned Front
 * End issuer, each with the key it is valid under.
 */
static void
sched_learned_collect(struct sched_learned *l)
{
	uint64_t age_ms;
	size_t i;

	l->d = xcalloc(sched_cfg->nmailboxes + 1, sizeof *l->d);
	l->nd = 0;
	for (i = 0; i < sched_cfg->nmailboxes; i++) {
		struct retain_discovery *d = &l->d[l->nd];

		if (!run_ctx_discovery(sched_ctx, i, &d->internal, &d->external,
		        &age_ms))
			continue;
		d->mailbox = sched_cfg->mailboxes[i]->name;
		d->key = run_ctx_discovery_key(sched_ctx, i);
		d->at = (int64_t)time(NULL) - (int64_t)(age_ms / 1000);
		l->nd++;
	}
	l->fe = xcalloc(sched_cfg->nprofiles + 1, sizeof *l->fe);
	l->nfe = sched_cfg->nprofiles;
	for (i = 0; i < sched_cfg->nprofiles; i++) {
		l->fe[i].profile = sched_cfg->profiles[i]->name;
		l->fe[i].der64 = run_ctx_frontend(sched_ctx, i);
		l->fe[i].key = run_ctx_frontend_key(sched_ctx, i);
	}
}

/* Free what sched_learned_collect made. */
static void
sched_learned_free(struct sched_learned *l)
{
	for (size_t i = 0; i < l->nd; i++)
		free((char *)l->d[i].key);
	for (size_t i = 0; i < l->nfe; i++) {
		free((char *)l->fe[i].der64);
		free((char *)l->fe[i].key);
	}
	free(l->d);
	free(l->fe);
}

/*
 * Hand every target's state and every mailbox's discovered URLs to retain,
 * which keeps them for the next start.
 */
static void
sched_retain_save(struct postrun_target *const *v, size_t n)
{
	struct sched_learned l;
	struct retain_target *rt;

	if (retain_path() == NULL)
		return;
	rt = xcalloc(n > 0 ? n : 1, sizeof *rt);
	for (size_t i = 0; i < n; i++) {
		rt[i].name = v[i]->name;
		rt[i].st = v[i]->st;
		rt[i].runs = v[i]->runs;
		rt[i].last_success = v[i]->last_success;
		rt[i].expiring = v[i]->expiring;
		rt[i].nexpiring = v[i]->nexpiring;
	}
	sched_learned_collect(&l);
	retain_save(rt, n, l.d, l.nd, l.fe, l.nfe);
	sched_learned_free(&l);
	free(rt);
}

/*
 * At start, and after a reload: give targets, mailboxes and profiles what
 * the last run of the daemon (or the configuration before) retained, so
 * that neither alerts again nor rediscovers, and an EWS URL or Front End
 * issuer that changed meanwhile is reported.
 */
static void
sched_retain_restore(void)
{
	struct retain_target rt;
	struct target *t;
	char *in, *ex, *key;
	int64_t at, now = (int64_t)time(NULL);
	size_t i;
	int got;

	TAILQ_FOREACH (t, &sched_targets, entry) {
		if (!retain_take_target(t->pt.name, &rt))
			continue;
		t->pt.st = rt.st;
		t->pt.runs = rt.runs;
		t->pt.last_success = rt.last_success;
		t->pt.expiring = rt.expiring;
		t->pt.nexpiring = rt.nexpiring;
	}
	for (i = 0; i < sched_cfg->nmailboxes; i++) {
		key = run_ctx_discovery_key(sched_ctx, i);
		got = retain_take_discovery(sched_cfg->mailboxes[i]->name, key,
		    &in, &ex, &at);
		free(key);
		if (got)
			run_ctx_seed_discovery(sched_ctx, i, in, ex,
			    at < now ? (uint64_t)(now - at) * 1000 : 0);
	}
	for (i = 0; i < sched_cfg->nprofiles; i++) {
		if ((key = run_ctx_frontend_key(sched_ctx, i)) == NULL)
			continue;
		in = retain_take_frontend(sched_cfg->profiles[i]->name, key);
		free(key);
		if (in == NULL)
			continue;
		run_ctx_seed_frontend(sched_ctx, i, in);
		free(in);
	}
	retain_forget();
}

/* The targets as a vector (postrun takes them so); *n is set. */
static struct postrun_target **
sched_vector(size_t *n)
{
	struct postrun_target **v;
	struct target *t;

	*n = 0;
	TAILQ_FOREACH (t, &sched_targets, entry)
		(*n)++;
	v = xcalloc(*n > 0 ? *n : 1, sizeof *v);
	*n = 0;
	TAILQ_FOREACH (t, &sched_targets, entry)
		v[(*n)++] = &t->pt;
	return v;
}

/* The STATUS= line, now (postrun writes it). */
static void
sched_update_status(void)
{
	struct postrun_target **v;
	struct status_sched load;
	size_t n;

	v = sched_vector(&n);
	sched_load(&load);
	postrun_status_line(v, n, &load);
	free(v);
}

/* Write the status files of every target, and the STATUS= line, now. */
void
scheduler_write_status(void)
{
	uint64_t began = loop_now_usec();
	struct postrun_target **v;
	struct status_sched load;
	size_t n;

	if (sched_cfg == NULL)
		return;
	v = sched_vector(&n);
	sched_retain_save(v, n);
	sched_load(&load);
	postrun_status_write(sched_cfg, sched_started, v, n, &load, began);
	free(v);
}

/* A run is done: what it leaves behind (postrun), then the next run. */
static void
sched_done(struct run_result *r, void *arg)
{
	struct target *t = arg;

	sched_release(t);
	postrun_apply(sched_cfg, &t->pt, r);
	postrun_status_soon();
	sched_arm(t, sched_next_delay(t));
	sched_run_queue();
}

/*
 * A run is over or cancelled: give back its place in flight and its
 * working slot, if it still held one.
 */
static void
sched_release(struct target *t)
{
	t->running = NULL;
	sched_running--;
	if (t->working) {
		t->working = 0;
		sched_working--;
	}
	evtimer_del(t->timer);
}

/* Take a target off the run queue. */
static void
sched_dequeue(struct target *t)
{
	TAILQ_REMOVE(&sched_queue, t, qentry);
	t->queued = 0;
	sched_nqueued--;
}

/*
 * A due run waited a whole interval before it could start: rounds take
 * longer than the interval. Tell the admin once, until it caught up.
 */
static void
sched_behind_begin(const struct target *t, uint64_t late_ms)
{
	char late[32], queued[16], in_flight[16], conc[16], max[16];

	if (sched_behind)
		return;
	sched_behind = 1;
	sched_behind_since_ms = loop_now_ms();
	sched_overruns++;
	snprintf(late, sizeof late, "%llu", (unsigned long long)late_ms / 1000);
	snprintf(queued, sizeof queued, "%u", sched_nqueued);
	snprintf(in_flight, sizeof in_flight, "%u", sched_running);
	snprintf(conc, sizeof conc, "%u", sched_cfg->concurrency);
	snprintf(max, sizeof max, "%u", sched_max_in_flight);
	const struct log_field f[] = {
	    {"TARGET", t->pt.name},
	    {"LAG_SECONDS", late},
	    {"RUNS_QUEUED", queued},
	    {"RUNS_IN_FLIGHT", in_flight},
	    {"CONCURRENCY", conc},
	    {"MAX_IN_FLIGHT", max},
	};

	log_event(LOG_WARNING, MSGID_SCHEDULE_BEHIND, f, sizeof f / sizeof f[0],
	    "behind schedule: the run of %s has waited %s s, longer than its interval of %llu s; %s runs wait, %s are in flight (max_in_flight %s, concurrency %s): mailboxes are probed less often than configured",
	    t->pt.name, late, (unsigned long long)sched_interval(t) / 1000,
	    queued, in_flight, max, conc);
	sched_update_status();
	postrun_status_soon();
}

/* Every due run has started again: say so once. */
static void
sched_behind_end(void)
{
	uint64_t secs;

	if (!sched_behind)
		return;
	sched_behind = 0;
	secs = (loop_now_ms() - sched_behind_since_ms) / 1000;
	log_event(LOG_NOTICE, MSGID_SCHEDULE_CAUGHT_UP, NULL, 0,
	    "back on schedule: every due run has started (behind for %llu s)",
	    (unsigned long long)secs);
	sched_update_status();
	postrun_status_soon();
}

/*
 * Watch the queue's head (the run due longest): wake up when it will have
 * waited its interval. Nothing is armed while the queue is empty or while
 * the admin has already been told.
 */
static void
sched_lag_arm(void)
{
	struct target *t = TAILQ_FIRST(&sched_queue);
	uint64_t at, now = loop_now_ms();

	if (t == NULL || sched_behind) {
		evtimer_del(sched_lag_ev);
		return;
	}
	at = t->due_ms + sched_interval(t);
	loop_timer_ms(sched_lag_ev, at > now ? at - now : 0);
}

/* The queue's head may have waited a whole interval: check. */
static void
sched_lag_cb(evutil_socket_t fd, short what, void *arg)
{
	struct target *t = TAILQ_FIRST(&sched_queue);

	if (t != NULL && sched_lag_ms() >= sched_interval(t))
		sched_behind_begin(t, sched_lag_ms());
	else
		sched_lag_arm();
}

/* A running target's hold on its slot ends: it is waiting, not working. */
static void
sched_hold_end(struct target *t)
{
	if (!t->working)
		return;
	t->working = 0;
	sched_working--;
	sched_run_queue();
}

/*
 * Start queued runs while a working slot is free and the runs in flight
 * stay under their cap; an empty queue means the schedule caught up.
 */
static void
sched_run_queue(void)
{
	struct target *t;

	while (sched_working < sched_cfg->concurrency &&
	    sched_running < sched_max_in_flight &&
	    (t = TAILQ_FIRST(&sched_queue)) != NULL) {
		sched_dequeue(t);
		sched_running++;
		sched_working++;
		t->working = 1;
		loop_timer_ms(t->timer, SCHED_SLOT_HOLD_MS);
		t->running =
		    run_start(sched_ctx, t->pt.m, t->pt.p, sched_done, t);
	}
	if (TAILQ_EMPTY(&sched_queue))
		sched_behind_end();
	sched_lag_arm();
}

/*
 * A target's timer: in flight, its hold on a slot ends; otherwise its
 * run is due: queue it (never twice at once).
 */
static void
sched_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct target *t = arg;

	if (t->running != NULL) {
		sched_hold_end(t);
		return;
	}
	if (t->queued)
		return;
	t->queued = 1;
	t->due_ms = loop_now_ms();
	sched_nqueued++;
	TAILQ_INSERT_TAIL(&sched_queue, t, qentry);
	sched_run_queue();
}

/* Free a target (its run must be over or cancelled). */
static void
sched_target_free(struct target *t)
{
	if (t->running != NULL) {
		run_cancel(t->running);
		sched_release(t);
	}
	if (t->queued)
		sched_dequeue(t);
	event_free(t->timer);
	postrun_target_clear(&t->pt);
	free(t);
}

/*
 * The old targets by name, in an open-addressing table of a power of two
 * at least twice their number, so that a reload matches each new target
 * in constant time (10,000 targets: not 10,000 list walks).
 */
struct sched_old {
	struct target **slot;
	size_t mask;
};

/* Index the targets of list old by name. */
static void
sched_old_index(struct sched_old *o, struct target *first)
{
	struct target *t;
	size_t n = 0, size = 1, i;

	for (t = first; t != NULL; t = TAILQ_NEXT(t, entry))
		n++;
	while (size < 2 * n + 1)
		size <<= 1;
	o->slot = xcalloc(size, sizeof *o->slot);
	o->mask = size - 1;
	for (t = first; t != NULL; t = TAILQ_NEXT(t, entry)) {
		t->taken = 0;
		i = hashset_hash(t->pt.name) & o->mask;
		while (o->slot[i] != NULL)
			i = (i + 1) & o->mask;
		o->slot[i] = t;
	}
}

/*
 * The old target of mailbox m under profile p ("m/p", as
 * postrun_target_init names it), or NULL. Section names are at most 64
 * characters (config.c), so the name fits; a longer one is built.
 */
static struct target *
sched_old_find(const struct sched_old *o, const struct config_mailbox *m,
    const struct config_profile *p)
{
	char buf[160], *name = buf;
	size_t lm = strlen(m->name), lp = strlen(p->name), i;
	struct target *t = NULL;

	if (lm + lp + 2 > sizeof buf)
		name = xmalloc(lm + lp + 2);
	memcpy(name, m->name, lm);
	name[lm] = '/';
	memcpy(name + lm + 1, p->name, lp + 1);
	for (i = hashset_hash(name) & o->mask; o->slot[i] != NULL;
	     i = (i + 1) & o->mask) {
		/* Each old target is kept once, whatever names repeat. */
		if (!o->slot[i]->taken &&
		    strcmp(o->slot[i]->pt.name, name) == 0) {
			t = o->slot[i];
			t->taken = 1;
			break;
		}
	}
	if (name != buf)
		free(name);
	return t;
}

/*
 * Keep target t (of the configuration before) for mailbox m under profile
 * p of the new one: it keeps what it knew — state, counters, last result,
 * expiry alerts — and its place in the schedule. A run that was due, or
 * cut short by the reload, starts again within the first window; any
 * other keeps its due time (sooner if the interval shrank), so that a
 * reload does not run every target at once. Its timer stays as it is
 * unless that time moves.
 */
static void
sched_keep(struct target *t, const struct config_mailbox *m,
    const struct config_profile *p, uint64_t window)
{
	uint64_t now = loop_now_ms(), left, iv;

	t->pt.m = m;
	t->pt.p = p;
	if (t->was_due) {
		t->was_due = 0;
		sched_arm(t, hashset_hash(t->pt.name) % window);
		return;
	}
	left = t->next_ms > now ? t->next_ms - now : 0;
	iv = sched_next_delay(t);
	if (iv < left)
		sched_arm(t, iv);
}

/* A new target of mailbox m under profile p, first run at its offset. */
static struct target *
sched_target_new(const struct config_mailbox *m, const struct config_profile *p,
    uint64_t window)
{
	struct target *t = xcalloc(1, sizeof *t);

	postrun_target_init(&t->pt, m, p);
	t->timer = evtimer_new(loop_base(), sched_timer_cb, t);
	if (t->timer == NULL)
		fatalx("evtimer_new failed");
	sched_arm(t, hashset_hash(t->pt.name) % window);
	return t;
}

/*
 * Build the target list of cfg in its order. A target that existed
 * before (same mailbox and profile names) is the same object, moved over
 * (sched_keep): a reload of 10,000 unchanged targets allocates none, and
 * re-arms no timer whose time stays. Runs in flight were cancelled and
 * start again; targets no longer configured are freed.
 */
static void
sched_build(struct config *cfg)
{
	TAILQ_HEAD(, target) old = TAILQ_HEAD_INITIALIZER(old);
	const struct config_mailbox *m;
	struct target *t;
	struct sched_old index;
	uint64_t window;
	size_t i, j;

	TAILQ_CONCAT(&old, &sched_targets, entry);
	sched_old_index(&index, TAILQ_FIRST(&old));
	/* New targets run at a stable offset, at most 10 s away. */
	window = cfg->interval_ms < 10000 ? cfg->interval_ms : 10000;
	if (window == 0)
		window = 1;
	for (i = 0; i < cfg->nmailboxes; i++) {
		m = cfg->mailboxes[i];
		for (j = 0; j < m->nprofiles; j++) {
			t = sched_old_find(&index, m, m->profiles[j]);
			if (t != NULL) {
				TAILQ_REMOVE(&old, t, entry);
				sched_keep(t, m, m->profiles[j], window);
			} else
				t = sched_target_new(m, m->profiles[j], window);
			TAILQ_INSERT_TAIL(&sched_targets, t, entry);
		}
	}
	free(index.slot);
	while ((t = TAILQ_FIRST(&old)) != NULL) {
		TAILQ_REMOVE(&old, t, entry);
		sched_target_free(t);
	}
}

/*
 * The cap on runs in flight: max_in_flight (at least concurrency), within
 * the file descriptors. The soft limit is raised towards the hard one as
 * far as needed: nothing here uses select(), so the systemd default soft
 * limit of 1024 is only a guard for programs that do.
 */
static unsigned int
sched_fd_cap(const struct config *cfg)
{
	unsigned int want = cfg->max_in_flight > cfg->concurrency
	    ? cfg->max_in_flight
	    : cfg->concurrency;
	struct rlimit rl;
	rlim_t need = (rlim_t)want + SCHED_FDS_RESERVED;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return want;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need
		    ? need
		    : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 ||
		    getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return want;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		want = rl.rlim_cur > SCHED_FDS_RESERVED + 1
		    ? (unsigned int)(rl.rlim_cur - SCHED_FDS_RESERVED)
		    : 1;
		log_warnx(
		    "at most %u runs in flight: the file descriptor limit is %llu (LimitNOFILE=)",
		    want, (unsigned long long)rl.rlim_cur);
	}
	return want;
}

/* Start monitoring cfg (a reference is taken). */
int
scheduler_start(struct config *cfg, char **cause)
{
	if ((sched_ctx = run_ctx_new(cfg, NULL, cause)) == NULL)
		return -1;
	sched_cfg = config_ref(cfg);
	sched_started = (int64_t)time(NULL);
	postrun_status_init(scheduler_write_status);
	sched_lag_ev = evtimer_new(loop_base(), sched_lag_cb, NULL);
	if (sched_lag_ev == NULL)
		fatalx("evtimer_new failed");
	sched_max_in_flight = sched_fd_cap(cfg);
	srandom((unsigned int)(time(NULL) ^ (time_t)getpid()));
	sched_build(cfg);
	/* systemd's StateDirectory=; without it nothing is retained. */
	retain_load(getenv("STATE_DIRECTORY"));
	sched_retain_restore();
	sched_update_status();
	return 0;
}

/* Swap to a new configuration; keep state of targets that remain. */
int
scheduler_reload(struct config *cfg, char **cause)
{
	struct run_ctx *ctx;
	struct sched_learned l;
	struct target *t;

	if ((ctx = run_ctx_new(cfg, sched_ctx, cause)) == NULL)
		return -1;
	/* Runs in flight use the old context: cancel them first. */
	TAILQ_FOREACH (t, &sched_targets, entry) {
		t->was_due = t->running != NULL || t->queued;
		if (t->running != NULL) {
			run_cancel(t->running);
			sched_release(t);
		}
		if (t->queued)
			sched_dequeue(t);
	}
	/* What the old context learned goes the way of a restart's. */
	sched_learned_collect(&l);
	retain_hold(l.d, l.nd, l.fe, l.nfe);
	sched_learned_free(&l);
	run_ctx_free(sched_ctx);
	sched_ctx = ctx;
	config_unref(sched_cfg);
	sched_cfg = config_ref(cfg);
	sched_max_in_flight = sched_fd_cap(cfg);
	sched_build(cfg);
	sched_retain_restore();
	/* Nothing is due yet: whatever was behind starts over. */
	sched_run_queue();
	/*
	 * The STATUS= line now; the files with the next coalesced write
	 * (rewriting 10,000 targets inside the reload was most of its cost).
	 */
	sched_update_status();
	postrun_status_soon();
	return 0;
}

/* Stop: cancel every run, write the status one last time, free all. */
void
scheduler_stop(void)
{
	struct target *t;

	TAILQ_FOREACH (t, &sched_targets, entry) {
		if (t->running != NULL) {
			run_cancel(t->running);
			sched_release(t);
		}
	}
	scheduler_write_status();
	while ((t = TAILQ_FIRST(&sched_targets)) != NULL) {
		TAILQ_REMOVE(&sched_targets, t, entry);
		sched_target_free(t);
	}
	TAILQ_INIT(&sched_queue);
	sched_nqueued = 0;
	sched_behind = 0;
	run_ctx_free(sched_ctx);
	sched_ctx = NULL;
	config_unref(sched_cfg);
	sched_cfg = NULL;
	postrun_status_free();
	event_free(sched_lag_ev);
	sched_lag_ev = NULL;
}
