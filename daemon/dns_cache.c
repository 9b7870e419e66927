/*
 * dns_cache: owns the kept A/AAAA answers of the dns module and their
 * clock: per server list and name, for the answer's TTL (the smallest of
 * its records, at most DNS_CACHE_MAX_TTL_MS), shared by every lookup that
 * asks the same servers for the same name. Thousands of mailboxes usually
 * name a handful of hosts, and a phone's resolver caches too. An answer is
 * asked for again once it expired, so a changed address is seen at the
 * next expiry. Failures and TTL-0 answers are never kept, nor SRV answers
 * (discovery keeps its own results).
 */
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "dns_private.h"
#include "hashset.h"
#include "loop.h"
#include "xmalloc.h"

/*
 * Kept A/AAAA answers: at most this many (server list, name) pairs, then
 * the cache starts over; an answer is kept at most an hour whatever its
 * TTL, so that a long TTL never hides a move for longer than that.
 */
#define DNS_CACHE_MAX 4096
#define DNS_CACHE_MAX_TTL_MS (3600u * 1000u)

static dns_clock dns_clock_fn;
static void *dns_clock_arg;
static struct hashset *dns_cache; /* cache key -> struct dns_cached */
static struct dns_cached **dns_cache_entries; /* to free them */
static size_t dns_ncache;

/* The cache's clock, in milliseconds: the test's, else the loop's. */
static uint64_t
dns_now_ms(void)
{
	return dns_clock_fn != NULL ? dns_clock_fn(dns_clock_arg)
	                            : loop_now_ms();
}

/* Forget every kept answer. */
void
dns_cache_flush(void)
{
	size_t i;

	for (i = 0; i < dns_ncache; i++) {
		free(dns_cache_entries[i]->addrs);
		free(dns_cache_entries[i]);
	}
	free(dns_cache_entries);
	dns_cache_entries = NULL;
	dns_ncache = 0;
	hashset_free(dns_cache);
	dns_cache = NULL;
}

/* The cache key of an A/AAAA lookup (caller frees): servers, name. */
char *
dns_cache_key(const char *servers, const char *name)
{
	char *key;

	xasprintf(&key, "%s\n%s", servers != NULL ? servers : "", name);
	return dns_lower(key);
}

/* The kept answer for key if it has not expired, else NULL. */
const struct dns_cached *
dns_cache_get(const char *key)
{
	const struct dns_cached *c;

	if (dns_cache == NULL || (c = hashset_get(dns_cache, key)) == NULL)
		return NULL;
	if (c->naddrs == 0 || dns_now_ms() >= c->expires_ms)
		return NULL;
	return c;
}

/*
 * Keep the addresses of r under key for ttl_s seconds (at most
 * DNS_CACHE_MAX_TTL_MS); a TTL of 0 keeps nothing. A full cache starts
 * over rather than choosing what to evict: DNS_CACHE_MAX distinct hosts
 * are far more than a site's mailboxes name.
 */
void
dns_cache_put(const char *key, const struct dns_result *r, uint32_t ttl_s)
{
	struct dns_cached *c;
	uint64_t ttl_ms = (uint64_t)ttl_s * 1000u;

	if (key == NULL || ttl_s == 0 || r->naddrs == 0)
		return;
	if (ttl_ms > DNS_CACHE_MAX_TTL_MS)
		ttl_ms = DNS_CACHE_MAX_TTL_MS;
	if (dns_cache != NULL && dns_ncache >= DNS_CACHE_MAX &&
	    hashset_get(dns_cache, key) == NULL)
		dns_cache_flush();
	if (dns_cache == NULL)
		dns_cache = hashset_new();
	if ((c = hashset_get(dns_cache, key)) == NULL) {
		c = xcalloc(1, sizeof *c);
		hashset_add(dns_cache, key, c);
		dns_cache_entries = xreallocarray(dns_cache_entries,
		    dns_ncache + 1, sizeof *dns_cache_entries);
		dns_cache_entries[dns_ncache++] = c;
	}
	c->addrs = xreallocarray(c->addrs, r->naddrs, sizeof *c->addrs);
	memcpy(c->addrs, r->addrs, r->naddrs * sizeof *c->addrs);
	c->naddrs = r->naddrs;
	c->expires_ms = dns_now_ms() + ttl_ms;
}

/* Set the cache's clock (NULL: the loop's monotonic clock). For tests. */
void
dns_set_clock(dns_clock clock, void *arg)
{
	dns_clock_fn = clock;
	dns_clock_arg = arg;
}

/* The smaller of a TTL so far and a record's (negative reads as 0). */
uint32_t
dns_ttl_min(uint32_t ttl, int rr_ttl)
{
	if (rr_ttl < 0)
		return 0;
	return (uint32_t)rr_ttl < ttl ? (uint32_t)rr_ttl : ttl;
}
