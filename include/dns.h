/*
 * dns: name lookups for the probes — A/AAAA for a host, SRV for
 * autodiscover — through c-ares driven by the daemon's event loop.
 *
 * Nothing here blocks and no resolver thread exists. A lookup may name its
 * own DNS servers (a mailbox's split-horizon view); otherwise the system's
 * /etc/resolv.conf servers are used. Only DNS is consulted (never
 * /etc/hosts) and no search domain is ever appended: a probe asks exactly
 * the names its policy allows.
 *
 * A result is delivered once, from the loop (never inside the caller's
 * stack), through the done callback; dns_cancel() guarantees no callback.
 * A lookup handle is valid until its callback has returned or until
 * dns_cancel(). At most DNS_MAX_IN_FLIGHT lookups are asked at once; the
 * others wait their turn in order. A/AAAA addresses arrive in RFC 6724
 * order (destination address selection, as getaddrinfo sorts them).
 * A/AAAA answers are kept for their TTL (at most an hour) and shared by
 * lookups of the same name on the same servers; such a result says cached
 * and took no time. SRV records arrive validated (LDH targets, lower case, at
 * most DNS_MAX_SRV) and already in RFC 2782 order. Callers never see
 * c-ares types.
 */
#ifndef EWSPROBED_DNS_H
#define EWSPROBED_DNS_H

#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>

#define DNS_MAX_SRV 16 /* records a lookup returns */
#define DNS_KEEP_SRV 256 /* records read from one answer */

/*
 * Lookups handed to c-ares at once, over all channels; the rest wait in a
 * FIFO queue. An A/AAAA lookup is two queries, so at most 128 queries are
 * outstanding: below dnsmasq's default of 150 concurrent forwarded queries
 * (dnsmasq(8), --dns-forward-max), the resolver of small sites and of
 * the lab. Without the bound, 4,096
 * runs starting together sent 8,192 queries at once, the resolver dropped
 * some, and names that resolve were reported as timing out
 * (docs/scale.md). A lookup's timeout starts when it leaves the queue.
 */
#define DNS_MAX_IN_FLIGHT 64

enum dns_status {
	DNS_OK,
	DNS_NXDOMAIN, /* the name does not exist */
	DNS_NODATA, /* the name exists, no record of that type */
	DNS_TIMEOUT, /* no answer within timeout x tries */
	DNS_SERVFAIL,
	DNS_REFUSED,
	DNS_BADRESP, /* malformed or unusable answer */
	DNS_CANCELLED,
	DNS_ERROR, /* anything else (bad server list, ...) */
};

struct dns_addr {
	int family; /* AF_INET or AF_INET6 */
	char text[INET6_ADDRSTRLEN]; /* numeric form */
};

struct dns_srv {
	char *target;
	uint16_t port;
	uint16_t priority;
	uint16_t weight;
};

struct dns_result {
	enum dns_status status;
	const char *name; /* the name asked */
	struct dns_addr *addrs; /* A/AAAA lookups */
	size_t naddrs;
	struct dns_srv *srvs; /* SRV lookups, valid records only */
	size_t nsrvs;
	size_t nsrv_rejected; /* records dropped as invalid */
	int64_t elapsed_us;
	int cached; /* answered from the cache: no query was sent */
};

struct dns_lookup;
/* The result is borrowed: valid during the call (dns_result_copy keeps). */
typedef void (*dns_done_cb)(const struct dns_result *, void *);
/* A source of uniformly distributed 32-bit numbers. */
typedef uint32_t (*dns_rng)(void *);
/* A monotonic clock in milliseconds. */
typedef uint64_t (*dns_clock)(void *);

void dns_init(unsigned int, unsigned int);
void dns_shutdown(void);
void dns_set_rng(dns_rng, void *);
void dns_set_clock(dns_clock, void *);
struct dns_lookup *
dns_lookup_addr(const char *, const char *, dns_done_cb, void *);
struct dns_lookup *
dns_lookup_srv(const char *, const char *, dns_done_cb, void *);
void dns_cancel(struct dns_lookup *);
void dns_load(unsigned int *, unsigned int *);
struct dns_result *dns_result_copy(const struct dns_result *);
void dns_result_free(struct dns_result *);
const struct dns_addr *dns_result_pick(const struct dns_result *);
void dns_srv_order(struct dns_srv *, size_t, dns_rng, void *);
int dns_valid_hostname(const char *);
int dns_public_suffix(const char *);
char *dns_lower(char *);
const char *dns_status_name(enum dns_status);
const char *dns_strerror(enum dns_status);

#endif
