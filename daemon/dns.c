/*
 * dns: owns the c-ares channels (a small cache, one per distinct server
 * list), their sockets and timers on the event loop, the lifecycle of
 * lookups and SRV validation. Kept A/AAAA answers are dns_cache.c's; host
 * names and the RFC 2782 order of SRV records are dns_name.c's.
 *
 * The glue follows c-ares 1.18's external-loop contract: the socket state
 * callback tells which sockets to watch; readiness goes to ares_process_fd;
 * a single one-shot timer per channel is re-armed from ares_timeout() after
 * every touch, and when it fires ares_process_fd(BAD, BAD) runs timeouts.
 * c-ares may answer inside ares_query() itself, so a lookup is complete
 * before it is submitted, and user callbacks are deferred to the next loop
 * turn. Nothing is freed inside a c-ares callback that c-ares may still
 * touch: socket records and finished lookups go through loop_defer().
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ares.h>
#include <ares_nameser.h>
#include <event2/event.h>

#include "dns.h"
#include "dns_private.h"
#include "log.h"
#include "loop.h"
#include "xmalloc.h"

/* Channels kept for distinct server lists before idle ones are closed. */
#define DNS_MAX_CHANNELS 8

struct dns_channel;

/* One socket c-ares asked us to watch. */
struct dns_sock {
	struct dns_channel *ch;
	ares_socket_t fd;
	struct event *ev;
	TAILQ_ENTRY(dns_sock) entry;
};

/* One c-ares channel and the servers it asks ("" = resolv.conf). */
struct dns_channel {
	ares_channel chan;
	char *servers;
	unsigned int pending; /* lookups c-ares still holds */
	struct event *timer;
	TAILQ_HEAD(, dns_sock) socks;
	TAILQ_ENTRY(dns_channel) entry;
};

enum dns_lookup_state {
	DNS_LOOKUP_QUEUED, /* waiting for room under DNS_MAX_IN_FLIGHT */
	DNS_LOOKUP_PENDING, /* c-ares owns it: its callback will come */
	DNS_LOOKUP_ANSWERED, /* delivery deferred to the next loop turn */
};

enum dns_kind {
	DNS_KIND_ADDR,
	DNS_KIND_SRV,
};

struct dns_lookup {
	enum dns_lookup_state state;
	enum dns_kind kind;
	int cancelled;
	char *name;
	char *cache_key; /* ADDR lookups: servers '\n' name */
	struct dns_channel *ch; /* NULL once c-ares let go */
	dns_done_cb cb;
	void *arg;
	uint64_t started_us;
	struct dns_result result;
	TAILQ_ENTRY(dns_lookup) entry;
	TAILQ_ENTRY(dns_lookup) qentry; /* dns_queue while queued */
};

static TAILQ_HEAD(, dns_channel) dns_channels = TAILQ_HEAD_INITIALIZER(
    dns_channels);
static TAILQ_HEAD(, dns_lookup) dns_lookups = TAILQ_HEAD_INITIALIZER(
    dns_lookups);
static TAILQ_HEAD(, dns_lookup) dns_queue = TAILQ_HEAD_INITIALIZER(dns_queue);
static unsigned int dns_nchannels;
static unsigned int dns_in_flight; /* lookups c-ares holds */
static unsigned int dns_nqueued;
static int dns_pump_queued;
static int dns_reap_queued;
static int dns_library_ready;
static int dns_shutting_down;
static unsigned int dns_timeout_ms = 2000;
static unsigned int dns_tries = 2;
static dns_rng dns_rng_fn;
static void *dns_rng_arg;

static void dns_rearm(struct dns_channel *);
static void dns_pump_soon(void);
static void dns_lookup_free(struct dns_lookup *);

/* Free a socket record (deferred: its event may be the one running). */
static void
dns_sock_free(void *arg)
{
	struct dns_sock *s = arg;

	event_free(s->ev);
	free(s);
}

/* Readiness on a c-ares socket: let c-ares read or write, then re-arm. */
static void
dns_sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_sock *s = arg;
	struct dns_channel *ch = s->ch;

	ares_process_fd(ch->chan, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	dns_rearm(ch);
}

/* c-ares says which sockets to watch; r = w = 0 means it is closing. */
static void
dns_sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_channel *ch = data;
	struct dns_sock *s;
	short what;

	TAILQ_FOREACH (s, &ch->socks, entry) {
		if (s->fd == fd)
			break;
	}
	if (!readable && !writable) {
		if (s == NULL)
			return;
		event_del(s->ev);
		TAILQ_REMOVE(&ch->socks, s, entry);
		loop_defer(dns_sock_free, s);
		return;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		s->ch = ch;
		s->fd = fd;
		s->ev = event_new(loop_base(), fd, 0, dns_sock_event_cb, s);
		if (s->ev == NULL)
			fatalx("event_new failed");
		TAILQ_INSERT_TAIL(&ch->socks, s, entry);
	}
	what =
	    EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
	event_del(s->ev);
	if (event_assign(s->ev, loop_base(), fd, what, dns_sock_event_cb, s) !=
	        0 ||
	    event_add(s->ev, NULL) != 0)
		fatalx("cannot watch a DNS socket");
}

/* The channel's timer: let c-ares run its timeouts, then re-arm. */
static void
dns_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_channel *ch = arg;

	ares_process_fd(ch->chan, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_rearm(ch);
}

/* Re-arm the channel's one timer from ares_timeout(). */
static void
dns_rearm(struct dns_channel *ch)
{
	struct timeval tv, *tvp;

	tvp = ares_timeout(ch->chan, NULL, &tv);
	if (tvp == NULL)
		evtimer_del(ch->timer);
	else
		evtimer_add(ch->timer, tvp);
}

/*
 * Turn a server list ("127.0.0.1, [::1]:5353") into c-ares's CSV
 * ("127.0.0.1,[::1]:5353"). Caller frees.
 */
static char *
dns_servers_csv(const char *servers)
{
	char *csv = xstrdup(servers), *w = csv;
	const char *r;

	for (r = servers; *r != '\0'; r++) {
		if (*r == ' ' || *r == '\t')
			continue;
		*w++ = *r;
	}
	*w = '\0';
	return csv;
}

/* Destroy a channel c-ares holds no lookup on (never in its callbacks). */
static void
dns_channel_free(struct dns_channel *ch)
{
	struct dns_sock *s;

	TAILQ_REMOVE(&dns_channels, ch, entry);
	dns_nchannels--;
	/* May call dns_sock_state_cb (0, 0) for open sockets. */
	ares_destroy(ch->chan);
	while ((s = TAILQ_FIRST(&ch->socks)) != NULL) {
		TAILQ_REMOVE(&ch->socks, s, entry);
		event_free(s->ev);
		free(s);
	}
	event_free(ch->timer);
	free(ch->servers);
	free(ch);
}

/*
 * Deferred: close idle channels while there are too many. Runs from the
 * loop, never inside a c-ares callback (c-ares/c-ares#347).
 */
static void
dns_reap(void *arg)
{
	struct dns_channel *ch, *next;

	dns_reap_queued = 0;
	TAILQ_FOREACH_SAFE (ch, &dns_channels, entry, next) {
		if (dns_nchannels <= DNS_MAX_CHANNELS)
			break;
		if (ch->pending == 0)
			dns_channel_free(ch);
	}
}

/*
 * Find or create the channel for a server list (NULL or "" = system).
 * NULL if c-ares refuses the list: never fall back to other servers.
 */
static struct dns_channel *
dns_channel_get(const char *servers)
{
	struct ares_options opts;
	struct dns_channel *ch;
	char *csv, *lookups = xstrdup("b");
	int r;

	if (servers == NULL)
		servers = "";
	TAILQ_FOREACH (ch, &dns_channels, entry) {
		if (strcmp(ch->servers, servers) == 0) {
			free(lookups);
			/* Most recently used last: reaped last. */
			TAILQ_REMOVE(&dns_channels, ch, entry);
			TAILQ_INSERT_TAIL(&dns_channels, ch, entry);
			return ch;
		}
	}
	ch = xcalloc(1, sizeof *ch);
	ch->servers = xstrdup(servers);
	TAILQ_INIT(&ch->socks);
	memset(&opts, 0, sizeof opts);
	opts.sock_state_cb = dns_sock_state_cb;
	opts.sock_state_cb_data = ch;
	/* 1.18 defaults are 5 s x 4 tries, doubling: far too slow. */
	opts.timeout = (int)dns_timeout_ms;
	opts.tries = (int)dns_tries;
	/*
	 * DNS only, never /etc/hosts; never a search domain. NOCHECKRESP:
	 * c-ares 1.18 otherwise turns a lone server's SERVFAIL or REFUSED
	 * into ECONNREFUSED after retrying, and the probe must say which.
	 * STAYOPEN: keep the UDP socket to the server between lookups;
	 * otherwise one probe at a time opens and closes a socket (eight
	 * system calls) for every lookup.
	 */
	opts.lookups = lookups;
	opts.ndomains = 0;
	opts.domains = NULL;
	opts.flags =
	    ARES_FLAG_NOSEARCH | ARES_FLAG_NOCHECKRESP | ARES_FLAG_STAYOPEN;
	r = ares_init_options(&ch->chan, &opts,
	    ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	        ARES_OPT_LOOKUPS | ARES_OPT_DOMAINS | ARES_OPT_FLAGS);
	free(lookups);
	if (r != ARES_SUCCESS)
		fatalx("ares_init_options: %s", ares_strerror(r));
	ch->timer = evtimer_new(loop_base(), dns_timer_cb, ch);
	if (ch->timer == NULL)
		fatalx("evtimer_new failed");
	TAILQ_INSERT_TAIL(&dns_channels, ch, entry);
	dns_nchannels++;
	if (servers[0] != '\0') {
		csv = dns_servers_csv(servers);
		r = ares_set_servers_ports_csv(ch->chan, csv);
		free(csv);
		if (r != ARES_SUCCESS) {
			log_warnx("DNS servers '%s': %s", servers,
			    ares_strerror(r));
			dns_channel_free(ch);
			return NULL;
		}
	}
	if (dns_nchannels > DNS_MAX_CHANNELS && !dns_reap_queued) {
		dns_reap_queued = 1;
		loop_defer(dns_reap, NULL);
	}
	return ch;
}

/* Set the per-try timeout and the number of tries; start c-ares. */
void
dns_init(unsigned int timeout_ms, unsigned int tries)
{
	int r;

	if (timeout_ms > 0)
		dns_timeout_ms = timeout_ms;
	if (tries > 0)
		dns_tries = tries;
	if (!dns_library_ready) {
		if ((r = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS)
			fatalx("ares_library_init: %s", ares_strerror(r));
		dns_library_ready = 1;
	}
	dns_shutting_down = 0;
}

/* The RNG that orders SRV answers (NULL: arc4random). For tests. */
void
dns_set_rng(dns_rng rng, void *arg)
{
	dns_rng_fn = rng;
	dns_rng_arg = arg;
}

/* The default RNG. */
static uint32_t
dns_arc4random(void *arg)
{
	return arc4random();
}

/*
 * Destroy every channel. No callback runs afterwards: lookups held by
 * c-ares are freed when it calls back with ARES_EDESTRUCTION, and those
 * waiting for delivery are marked cancelled. Must not be called from
 * inside a c-ares callback (none of ours reaches user code).
 */
void
dns_shutdown(void)
{
	struct dns_channel *ch;
	struct dns_lookup *l;

	dns_shutting_down = 1;
	while ((l = TAILQ_FIRST(&dns_queue)) != NULL) {
		TAILQ_REMOVE(&dns_queue, l, qentry);
		dns_nqueued--;
		dns_lookup_free(l);
	}
	TAILQ_FOREACH (l, &dns_lookups, entry) {
		l->cancelled = 1;
	}
	while ((ch = TAILQ_FIRST(&dns_channels)) != NULL)
		dns_channel_free(ch);
	dns_in_flight = 0;
	dns_cache_flush();
	if (dns_library_ready) {
		ares_library_cleanup();
		dns_library_ready = 0;
	}
}

/* Free the arrays a result owns. */
static void
dns_result_clear(struct dns_result *r)
{
	size_t i;

	for (i = 0; i < r->nsrvs; i++)
		free(r->srvs[i].target);
	free(r->srvs);
	free(r->addrs);
}

/* Free a lookup and its result. */
static void
dns_lookup_free(struct dns_lookup *l)
{
	TAILQ_REMOVE(&dns_lookups, l, entry);
	dns_result_clear(&l->result);
	free(l->name);
	free(l->cache_key);
	free(l);
}

/* A deep copy of a result, for callers who keep it (caller frees). */
struct dns_result *
dns_result_copy(const struct dns_result *r)
{
	struct dns_result *c = xcalloc(1, sizeof *c);
	char *name;
	size_t i;

	*c = *r;
	c->name = name = xstrdup(r->name);
	c->addrs = NULL;
	c->srvs = NULL;
	if (r->naddrs > 0) {
		c->addrs = xreallocarray(NULL, r->naddrs, sizeof *c->addrs);
		memcpy(c->addrs, r->addrs, r->naddrs * sizeof *c->addrs);
	}
	if (r->nsrvs > 0) {
		c->srvs = xreallocarray(NULL, r->nsrvs, sizeof *c->srvs);
		for (i = 0; i < r->nsrvs; i++) {
			c->srvs[i] = r->srvs[i];
			c->srvs[i].target = xstrdup(r->srvs[i].target);
		}
	}
	return c;
}

/* Free a result from dns_result_copy; NULL is a no-op. */
void
dns_result_free(struct dns_result *r)
{
	if (r == NULL)
		return;
	dns_result_clear(r);
	free((char *)r->name);
	free(r);
}

/*
 * The one address a probe connects to, out of an A/AAAA result: the first
 * IPv4 address, else the first address (c-ares order). IPv4 first because
 * the phones' voice VLANs are IPv4 networks and a host that publishes an
 * AAAA its phones cannot reach must not make every probe fail. urlcheck
 * probes every address instead (docs/addresses.md).
 * NULL when the result holds no address.
 */
const struct dns_addr *
dns_result_pick(const struct dns_result *r)
{
	size_t i;

	if (r->naddrs == 0)
		return NULL;
	for (i = 0; i < r->naddrs; i++) {
		if (r->addrs[i].family == AF_INET)
			return &r->addrs[i];
	}
	return &r->addrs[0];
}

/* Deferred delivery: call the user back unless cancelled, then free. */
static void
dns_deliver(void *arg)
{
	struct dns_lookup *l = arg;

	if (!l->cancelled)
		l->cb(&l->result, l->arg);
	dns_lookup_free(l);
}

/* Map a c-ares status to ours. */
static enum dns_status
dns_map_status(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return DNS_OK;
	case ARES_ENOTFOUND:
		return DNS_NXDOMAIN;
	case ARES_ENODATA:
		return DNS_NODATA;
	case ARES_ETIMEOUT:
		return DNS_TIMEOUT;
	case ARES_ESERVFAIL:
		return DNS_SERVFAIL;
	case ARES_EREFUSED:
		return DNS_REFUSED;
	case ARES_EBADRESP:
	case ARES_EFORMERR:
	case ARES_ENOTIMP:
	case ARES_EBADNAME:
		return DNS_BADRESP;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		return DNS_CANCELLED;
	default:
		return DNS_ERROR;
	}
}

/*
 * c-ares finished with a lookup: record the status and schedule delivery,
 * or free a cancelled lookup now that c-ares no longer holds it.
 */
static void
dns_finish(struct dns_lookup *l, int status)
{
	log_debug("%s: c-ares: %s", l->name, ares_strerror(status));
	l->ch->pending--;
	l->ch = NULL;
	dns_in_flight--;
	dns_pump_soon();
	if (l->cancelled || dns_shutting_down) {
		dns_lookup_free(l);
		return;
	}
	if (l->result.status == DNS_OK)
		l->result.status = dns_map_status(status);
	l->result.elapsed_us = (int64_t)(loop_now_usec() - l->started_us);
	l->state = DNS_LOOKUP_ANSWERED;
	loop_defer(dns_deliver, l);
}

/* c-ares callback of an A/AAAA lookup: copy the addresses. */
static void
dns_addr_cb(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct dns_lookup *l = arg;
	struct ares_addrinfo_node *n;
	struct ares_addrinfo_cname *cn;
	struct dns_addr *a;
	const void *src;
	uint32_t ttl = UINT32_MAX;

	if (status == ARES_SUCCESS && ai != NULL && !l->cancelled) {
		for (n = ai->nodes; n != NULL; n = n->ai_next) {
			/* The answer lives as long as its shortest record. */
			ttl = dns_ttl_min(ttl, n->ai_ttl);
			if (n->ai_family == AF_INET)
				src =
				    &((struct sockaddr_in *)(void *)n->ai_addr)
				         ->sin_addr;
			else if (n->ai_family == AF_INET6)
				src =
				    &((struct sockaddr_in6 *)(void *)n->ai_addr)
				         ->sin6_addr;
			else
				continue;
			l->result.addrs = xreallocarray(l->result.addrs,
			    l->result.naddrs + 1, sizeof *l->result.addrs);
			a = &l->result.addrs[l->result.naddrs++];
			a->family = n->ai_family;
			if (inet_ntop(n->ai_family, src, a->text,
			        sizeof a->text) == NULL)
				l->result.naddrs--;
		}
		for (cn = ai->cnames; cn != NULL; cn = cn->next)
			ttl = dns_ttl_min(ttl, cn->ttl);
		if (l->result.naddrs == 0)
			status = ARES_ENODATA;
		else
			dns_cache_put(l->cache_key, &l->result, ttl);
	}
	if (ai != NULL)
		ares_freeaddrinfo(ai);
	dns_finish(l, status);
}

/*
 * c-ares callback of an SRV lookup: keep the valid records (an RFC 2782
 * "." target arrives as "" and is dropped like any invalid one; at most
 * DNS_KEEP_SRV are read), order them, and keep the first DNS_MAX_SRV.
 */
static void
dns_srv_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_lookup *l = arg;
	struct ares_srv_reply *srv = NULL, *r;
	struct dns_srv *d;
	int pr;

	if (status == ARES_SUCCESS && !l->cancelled && !dns_shutting_down) {
		pr = ares_parse_srv_reply(abuf, alen, &srv);
		if (pr != ARES_SUCCESS)
			status =
			    pr == ARES_ENODATA ? ARES_ENODATA : ARES_EBADRESP;
		for (r = srv; status == ARES_SUCCESS && r != NULL;
		     r = r->next) {
			if (r->host == NULL || !dns_valid_hostname(r->host) ||
			    r->port == 0 || l->result.nsrvs >= DNS_KEEP_SRV) {
				l->result.nsrv_rejected++;
				continue;
			}
			l->result.srvs = xreallocarray(l->result.srvs,
			    l->result.nsrvs + 1, sizeof *l->result.srvs);
			d = &l->result.srvs[l->result.nsrvs++];
			d->target = dns_lower(xstrdup(r->host));
			d->port = r->port;
			d->priority = r->priority;
			d->weight = r->weight;
		}
		if (srv != NULL)
			ares_free_data(srv);
		if (status == ARES_SUCCESS && l->result.nsrvs == 0)
			status = ARES_ENODATA;
		dns_srv_order(l->result.srvs, l->result.nsrvs,
		    dns_rng_fn != NULL ? dns_rng_fn : dns_arc4random,
		    dns_rng_arg);
		/* Order first, then cut: the best 16, not the first sent. */
		while (l->result.nsrvs > DNS_MAX_SRV) {
			free(l->result.srvs[--l->result.nsrvs].target);
			l->result.nsrv_rejected++;
		}
	}
	dns_finish(l, status);
}

/* A new lookup, complete before c-ares sees it. */
static struct dns_lookup *
dns_lookup_new(enum dns_kind kind, const char *name, dns_done_cb cb, void *arg)
{
	struct dns_lookup *l;

	l = xcalloc(1, sizeof *l);
	l->kind = kind;
	l->state = DNS_LOOKUP_QUEUED;
	l->name = xstrdup(name);
	l->result.name = l->name;
	l->result.status = DNS_OK;
	l->cb = cb;
	l->arg = arg;
	l->started_us = loop_now_usec();
	TAILQ_INSERT_TAIL(&dns_lookups, l, entry);
	return l;
}

/* Fail a lookup without asking anyone; delivered on the next turn. */
static struct dns_lookup *
dns_lookup_fail(struct dns_lookup *l, enum dns_status status)
{
	l->result.status = status;
	l->state = DNS_LOOKUP_ANSWERED;
	loop_defer(dns_deliver, l);
	return l;
}

/*
 * Hand a lookup to c-ares. Its timeout starts now, not when it was
 * queued: time spent waiting for room is the daemon's, not the server's.
 */
static void
dns_submit(struct dns_lookup *l)
{
	struct ares_addrinfo_hints hints;
	struct dns_channel *ch = l->ch;

	dns_in_flight++;
	l->state = DNS_LOOKUP_PENDING;
	l->started_us = loop_now_usec();
	if (l->kind == DNS_KIND_ADDR) {
		memset(&hints, 0, sizeof hints);
		hints.ai_family = AF_UNSPEC;
		/*
		 * No ARES_AI_NOSORT: c-ares orders the addresses as RFC 6724
		 * says, as a client's getaddrinfo does (its source-address
		 * probe connects UDP sockets, which sends nothing and does
		 * not block), so urlcheck probes them in the clients' order.
		 */
		/* May call dns_addr_cb before returning; l is ready. */
		ares_getaddrinfo(ch->chan, l->name, NULL, &hints, dns_addr_cb,
		    l);
	} else
		/* ares_query, not ares_search: the name is complete. */
		ares_query(ch->chan, l->name, C_IN, T_SRV, dns_srv_cb, l);
	/* ch outlives the call: channels are only reaped from the loop. */
	dns_rearm(ch);
}

/* Deferred: hand queued lookups to c-ares while there is room. */
static void
dns_pump(void *arg)
{
	struct dns_lookup *l;

	dns_pump_queued = 0;
	while (!dns_shutting_down && dns_in_flight < DNS_MAX_IN_FLIGHT &&
	    (l = TAILQ_FIRST(&dns_queue)) != NULL) {
		TAILQ_REMOVE(&dns_queue, l, qentry);
		dns_nqueued--;
		dns_submit(l);
	}
}

/*
 * Room may have been made (a lookup finished): pump the queue on the next
 * turn, never from inside the c-ares callback that made the room.
 */
static void
dns_pump_soon(void)
{
	if (dns_pump_queued || dns_shutting_down || TAILQ_EMPTY(&dns_queue))
		return;
	dns_pump_queued = 1;
	loop_defer(dns_pump, NULL);
}

/*
 * Start a lookup on the channel of servers: now if there is room under
 * DNS_MAX_IN_FLIGHT and nobody waits, else at the end of the queue.
 */
static struct dns_lookup *
dns_lookup_start(struct dns_lookup *l, const char *servers)
{
	if ((l->ch = dns_channel_get(servers)) == NULL)
		return dns_lookup_fail(l, DNS_ERROR);
	/* Counted while queued too, so that the channel is not reaped. */
	l->ch->pending++;
	if (dns_in_flight < DNS_MAX_IN_FLIGHT && TAILQ_EMPTY(&dns_queue)) {
		dns_submit(l);
		return l;
	}
	TAILQ_INSERT_TAIL(&dns_queue, l, qentry);
	dns_nqueued++;
	return l;
}

/*
 * Look up the A and AAAA records of host, asking servers (NULL: the
 * system's). The result arrives through cb on a later loop turn.
 */
struct dns_lookup *
dns_lookup_addr(const char *host, const char *servers, dns_done_cb cb,
    void *arg)
{
	struct dns_lookup *l = dns_lookup_new(DNS_KIND_ADDR, host, cb, arg);
	const struct dns_cached *c;

	l->cache_key = dns_cache_key(servers, host);
	if ((c = dns_cache_get(l->cache_key)) == NULL)
		return dns_lookup_start(l, servers);
	/* A kept answer: delivered on the next turn, like any other. */
	l->result.addrs = xreallocarray(NULL, c->naddrs, sizeof *c->addrs);
	memcpy(l->result.addrs, c->addrs, c->naddrs * sizeof *c->addrs);
	l->result.naddrs = c->naddrs;
	l->result.cached = 1;
	l->result.elapsed_us = 0;
	l->state = DNS_LOOKUP_ANSWERED;
	loop_defer(dns_deliver, l);
	return l;
}

/* Look up the SRV records of name; see dns_lookup_addr. */
struct dns_lookup *
dns_lookup_srv(const char *name, const char *servers, dns_done_cb cb, void *arg)
{
	return dns_lookup_start(dns_lookup_new(DNS_KIND_SRV, name, cb, arg),
	    servers);
}

/*
 * Cancel a lookup: its callback will not run. A queued lookup is freed
 * now; one inside c-ares is freed when c-ares lets go of it (bounded by
 * the timeout).
 */
void
dns_cancel(struct dns_lookup *l)
{
	if (l == NULL)
		return;
	if (l->state == DNS_LOOKUP_QUEUED && l->ch != NULL) {
		TAILQ_REMOVE(&dns_queue, l, qentry);
		dns_nqueued--;
		l->ch->pending--;
		dns_lookup_free(l);
		return;
	}
	l->cancelled = 1;
}

/* Lookups c-ares holds and lookups waiting for room, for the status. */
void
dns_load(unsigned int *in_flight, unsigned int *queued)
{
	*in_flight = dns_in_flight;
	*queued = dns_nqueued;
}

/* A sentence for a status, for humans. */
const char *
dns_strerror(enum dns_status status)
{
	switch (status) {
	case DNS_OK:
		return "success";
	case DNS_NXDOMAIN:
		return "the name does not exist";
	case DNS_NODATA:
		return "the name has no record of that type";
	case DNS_TIMEOUT:
		return "no answer from the DNS servers";
	case DNS_SERVFAIL:
		return "the DNS server failed (SERVFAIL)";
	case DNS_REFUSED:
		return "the DNS server refused the query";
	case DNS_BADRESP:
		return "malformed or unusable DNS answer";
	case DNS_CANCELLED:
		return "lookup cancelled";
	case DNS_ERROR:
		return "DNS lookup failed";
	}
	return "DNS lookup failed";
}

/* The status's name, used as a reason detail and in reports. */
const char *
dns_status_name(enum dns_status status)
{
	switch (status) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_TIMEOUT:
		return "timeout";
	case DNS_SERVFAIL:
		return "servfail";
	case DNS_REFUSED:
		return "refused";
	case DNS_BADRESP:
		return "bad_response";
	case DNS_CANCELLED:
		return "cancelled";
	case DNS_ERROR:
		return "error";
	}
	return "error";
}
