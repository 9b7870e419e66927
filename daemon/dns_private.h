/*
 * dns_private: what the files of the dns module (dns.c, dns_cache.c,
 * dns_name.c) share: the kept-answer record and the cache's functions.
 * Nothing outside those files includes it: dns.h is the module's API.
 */
#ifndef EWSPROBED_DNS_PRIVATE_H
#define EWSPROBED_DNS_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"

/* One kept answer: the addresses and when they expire (the cache's clock). */
struct dns_cached {
	struct dns_addr *addrs;
	size_t naddrs;
	uint64_t expires_ms;
};

void dns_cache_flush(void);
char *dns_cache_key(const char *, const char *);
const struct dns_cached *dns_cache_get(const char *);
void dns_cache_put(const char *, const struct dns_result *, uint32_t);
uint32_t dns_ttl_min(uint32_t, int);

#endif
