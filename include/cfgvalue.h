/*
 * cfgvalue: check one value of the configuration file and store what it
 * says, or report it (through the reader, at the line being read, about
 * the key given) and leave the destination as it was.
 */
#ifndef EWSPROBED_CFGVALUE_H
#define EWSPROBED_CFGVALUE_H

#include <stddef.h>
#include <stdint.h>

struct cfgread;
struct strlist;

/*
 * Parse "30s", "5m", "24h", "2d", "1500ms" (bare number = seconds), from
 * 1ms to CONFIG_MAX_DURATION_MS. Return 0, or -1 (and leave *ms).
 */
int cfgvalue_parse_duration(const char *, uint64_t *);
/* Write a duration the way the file would say it ("5m", "1500ms"). */
void cfgvalue_format_duration(char *, size_t, uint64_t);

/* A duration within [min, max] ms. */
void cfgvalue_duration(struct cfgread *, const char *, const char *, uint64_t,
    uint64_t, uint64_t *);
/* An unsigned number within [min, max]. */
void cfgvalue_uint(struct cfgread *, const char *, const char *, unsigned int,
    unsigned int, unsigned int *);
/* yes/no, true/false, on/off, 1/0. */
void cfgvalue_bool(struct cfgread *, const char *, const char *, int *);
/* "1.0" .. "1.3" as CONFIG_TLS_*. */
void cfgvalue_tls(struct cfgread *, const char *, const char *, int *);
/*
 * An absolute path to a readable file (or, when dir_ok, a directory);
 * with for_service (-n as root), one the service's user can read too.
 */
void cfgvalue_file(struct cfgread *, const char *, const char *, int, int);
/* DNS servers: addr, addr:port, [v6]:port. */
void cfgvalue_dns_servers(struct cfgread *, const char *, const char *,
    struct strlist *);
/* An https:// URL with a host and no user or password. */
void cfgvalue_https_url(struct cfgread *, const char *, const char *, char **);
/* host[:port] (a name, IPv4 or [IPv6]); the port is 443 when not given. */
void
cfgvalue_hostport(struct cfgread *, const char *, const char *, char **, int *);
/* An SMTP address; stores it and its domain (lower case, no final dot). */
void cfgvalue_address(struct cfgread *, const char *, const char *, char **,
    char **);
/* An account: DOMAIN\user or user@upn-suffix. */
void cfgvalue_account(struct cfgread *, const char *, const char *, char **);
/* Host names that are not public suffixes, lower-cased. */
void
cfgvalue_hosts(struct cfgread *, const char *, const char *, struct strlist *);

#endif
