/*
 * run_ctx: owns the context the runs of one configuration load share —
 * the trust sets (the system store, one phone set per profile), when each
 * profile's Front End issuer was last learned and the learning in flight,
 * each mailbox's discovered URLs (and the walk in flight), the indexes
 * from a mailbox or profile to its slot — and what survives a reload or a
 * restart of it (the keys that say whether kept URLs and issuers still
 * apply, seeding them back).
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "run_private.h"
#include "xmalloc.h"

/*
 * Write the DNS servers of a mailbox (or the daemon's), joined by ',',
 * to buf (NULL: only count); return their length. Called per run and per
 * mailbox on a reload, so one pass and no formatting.
 */
static size_t
run_join_servers(const struct config *cfg, const struct config_mailbox *m,
    char *buf)
{
	const struct strlist *l =
	    m->dns_servers.n > 0 ? &m->dns_servers : &cfg->dns_servers;
	size_t len = 0, n;

	for (size_t i = 0; i < l->n; i++) {
		n = strlen(l->items[i]);
		if (buf != NULL) {
			if (i > 0)
				buf[len] = ',';
			memcpy(buf + len + (i > 0), l->items[i], n);
		}
		len += n + (i > 0);
	}
	if (buf != NULL)
		buf[len] = '\0';
	return len;
}

/* The DNS servers of a mailbox (or the daemon's) as one list, or NULL. */
char *
run_dns_servers(const struct config *cfg, const struct config_mailbox *m)
{
	const struct strlist *l =
	    m->dns_servers.n > 0 ? &m->dns_servers : &cfg->dns_servers;
	char *s;

	if (l->n == 0)
		return NULL;
	s = xmalloc(run_join_servers(cfg, m, NULL) + 1);
	run_join_servers(cfg, m, s);
	return s;
}

/* Order index rows by the address of what they index. */
static int
run_index_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct run_index *)a)->key;
	uintptr_t y = (uintptr_t)((const struct run_index *)b)->key;

	return x < y ? -1 : x > y;
}

/*
 * Index n configuration objects (mailboxes or profiles) by address, once
 * per configuration, so that starting a run does not scan them all.
 */
static struct run_index *
run_index_new(void *const *objs, size_t n)
{
	struct run_index *ix = xcalloc(n > 0 ? n : 1, sizeof *ix);

	for (size_t i = 0; i < n; i++) {
		ix[i].key = objs[i];
		ix[i].idx = i;
	}
	qsort(ix, n, sizeof *ix, run_index_cmp);
	return ix;
}

/* The index of obj among the n indexed, or n when it is not one. */
size_t
run_index_find(const struct run_index *ix, size_t n, const void *obj)
{
	struct run_index key = {obj, 0}, *e;

	e = n == 0 ? NULL : bsearch(&key, ix, n, sizeof *ix, run_index_cmp);
	return e != NULL ? e->idx : n;
}

/*
 * Build the trust sets of a configuration: the system store and one phone
 * set per profile (parsed once here, shared by every handshake). prev, when
 * not NULL, is the context a reload replaces: its system store is taken
 * over when its files are unchanged.
 */
struct run_ctx *
run_ctx_new(struct config *cfg, struct run_ctx *prev, char **cause)
{
	struct run_ctx *ctx = xcalloc(1, sizeof *ctx);
	char *why = NULL;
	size_t i;

	ctx->discovery = CONFIG_DISCOVERY_FIRST;
	ctx->cfg = config_ref(cfg);
	ctx->phones = xcalloc(cfg->nprofiles, sizeof *ctx->phones);
	ctx->learned_ms = xcalloc(cfg->nprofiles, sizeof *ctx->learned_ms);
	ctx->learning = xcalloc(cfg->nprofiles > 0 ? cfg->nprofiles : 1,
	    sizeof *ctx->learning);
	for (i = 0; i < cfg->nprofiles; i++) {
		ctx->learning[i].ctx = ctx;
		ctx->learning[i].pidx = i;
		TAILQ_INIT(&ctx->learning[i].waiters);
	}
	ctx->disc = xcalloc(cfg->nmailboxes > 0 ? cfg->nmailboxes : 1,
	    sizeof *ctx->disc);
	for (i = 0; i < cfg->nmailboxes; i++) {
		ctx->disc[i].phone_ok =
		    xcalloc(cfg->nprofiles > 0 ? cfg->nprofiles : 1, 1);
		TAILQ_INIT(&ctx->disc[i].waiters);
	}
	ctx->mindex =
	    run_index_new((void *const *)cfg->mailboxes, cfg->nmailboxes);
	ctx->pindex =
	    run_index_new((void *const *)cfg->profiles, cfg->nprofiles);
	for (i = 0; i < cfg->nprofiles; i++) {
		ctx->phones[i] = trustset_new_phone(cfg->profiles[i], &why);
		if (ctx->phones[i] == NULL) {
			xasprintf(cause, "profile %s: %s",
			    cfg->profiles[i]->name, why);
			goto fail;
		}
	}
	if (prev != NULL && prev->system != NULL &&
	    trustset_unchanged(prev->system, cfg->system_store_file)) {
		/*
		 * A reload parses the store again only when it changed;
		 * taken last, so a failed reload leaves prev whole.
		 */
		ctx->system = prev->system;
		prev->system = NULL;
	} else
		ctx->system = trustset_new_system(cfg->system_store_file, &why);
	if (ctx->system == NULL) {
		xasprintf(cause, "system store: %s", why);
		goto fail;
	}
	return ctx;

fail:
	free(why);
	run_ctx_free(ctx);
	return NULL;
}

/*
 * The discovery mode of mailboxes that set none: "first" (as a phone, the
 * daemon's default) or "all" (the one-shot report's).
 */
void
run_ctx_set_discovery(struct run_ctx *ctx, enum config_discovery mode)
{
	ctx->discovery = mode;
}

/* Free a context; NULL is a no-op. Runs using it must be over. */
void
run_ctx_free(struct run_ctx *ctx)
{
	size_t i;

	if (ctx == NULL)
		return;
	for (i = 0; i < ctx->cfg->nprofiles; i++) {
		trustset_free(ctx->phones[i]);
		frontend_cancel(ctx->learning[i].fe);
	}
	free(ctx->phones);
	free(ctx->learned_ms);
	free(ctx->learning);
	for (i = 0; i < ctx->cfg->nmailboxes; i++) {
		free(ctx->disc[i].internal);
		free(ctx->disc[i].external);
		free(ctx->disc[i].source);
		free(ctx->disc[i].phone_ok);
	}
	free(ctx->disc);
	free(ctx->mindex);
	free(ctx->pindex);
	trustset_free(ctx->system);
	config_unref(ctx->cfg);
	free(ctx);
}

/*
 * What a discovery of mailbox midx depends on besides its name, as one
 * string (the caller frees it): its address, the discovery mode and the
 * DNS servers it asks. Discovered URLs kept across a reload or restart
 * are used again only while this is the same.
 */
char *
run_ctx_discovery_key(const struct run_ctx *ctx, size_t midx)
{
	const struct config_mailbox *m = ctx->cfg->mailboxes[midx];
	enum config_discovery mode = m->discovery != CONFIG_DISCOVERY_DEFAULT
	    ? m->discovery
	    : ctx->discovery;
	size_t la = strlen(m->address),
	       ls = run_join_servers(ctx->cfg, m, NULL);
	char *key = xmalloc(la + ls + 4);

	/* "address mode servers": mode is one digit (config.h's enum). */
	_Static_assert(CONFIG_DISCOVERY_ALL < 10, "one digit");
	memcpy(key, m->address, la);
	key[la] = ' ';
	key[la + 1] = (char)('0' + (int)mode);
	key[la + 2] = ' ';
	run_join_servers(ctx->cfg, m, key + la + 3);
	return key;
}

/*
 * Where profile pidx learns its Front End issuer ("host:port", the caller
 * frees it), or NULL when it learns none: a kept issuer is used again
 * only while this is the same.
 */
char *
run_ctx_frontend_key(const struct run_ctx *ctx, size_t pidx)
{
	const struct config_profile *p = ctx->cfg->profiles[pidx];
	char *key;

	if (p->frontend_host == NULL)
		return NULL;
	xasprintf(&key, "%s:%d", p->frontend_host, p->frontend_port);
	return key;
}

/*
 * Seed mailbox midx's discovery cache with URLs found age_ms ago (kept
 * across a restart by retain); takes internal and external.
 */
void
run_ctx_seed_discovery(struct run_ctx *ctx, size_t midx, char *internal,
    char *external, uint64_t age_ms)
{
	struct run_disc *d = &ctx->disc[midx];
	uint64_t now = loop_now_ms();

	free(d->internal);
	free(d->external);
	d->internal = internal;
	d->external = external;
	d->at_ms = now > age_ms ? now - age_ms : 0;
	d->valid = 1;
	/* Kept only when found: taken as found by every profile's phones. */
	memset(d->phone_ok, 1,
	    ctx->cfg->nprofiles > 0 ? ctx->cfg->nprofiles : 1);
}

/*
 * Mailbox midx's cached discovered URLs and their age; return 0 when there
 * are none, or no profile's phones found them.
 */
int
run_ctx_discovery(const struct run_ctx *ctx, size_t midx, const char **internal,
    const char **external, uint64_t *age_ms)
{
	const struct run_disc *d = &ctx->disc[midx];
	size_t i;
	int phones = 0;

	/* URLs only PCs found are not kept: phones would be taken to. */
	for (i = 0; i < ctx->cfg->nprofiles; i++)
		phones |= d->phone_ok[i];
	if (!d->valid || !phones)
		return 0;
	*internal = d->internal;
	*external = d->external;
	*age_ms = loop_now_ms() - d->at_ms;
	return 1;
}

/*
 * Seed profile pidx's phone trust with a Front End issuer learned before a
 * restart (base64 DER, from retain). It is learned again on the first run,
 * which then reports a change. A bad one is warned about and ignored.
 */
void
run_ctx_seed_frontend(struct run_ctx *ctx, size_t pidx, const char *der64)
{
	char *cause = NULL;

	if (trustset_seed_frontend(ctx->phones[pidx], der64, &cause) != 0) {
		log_warnx("profile %s: retained Front End issuer ignored: %s",
		    ctx->cfg->profiles[pidx]->name, cause);
		free(cause);
	}
}

/*
 * Profile pidx's learned Front End issuer as base64 DER (the caller frees
 * it), or NULL when the profile learns none.
 */
char *
run_ctx_frontend(const struct run_ctx *ctx, size_t pidx)
{
	if (ctx->cfg->profiles[pidx]->frontend_host == NULL)
		return NULL;
	return trustset_frontend_der64(ctx->phones[pidx]);
}
