/*
 * dns_name: owns what the dns module makes of names and SRV records,
 * pure: which host names are usable, which are public suffixes, their
 * case, and the RFC 2782 order of SRV records.
 */
#include <ctype.h>
#include <string.h>

#include <libpsl.h>

#include "dns.h"
#include "log.h"

/* Whether s is a usable host name: LDH labels, no escapes, not ".". */
int
dns_valid_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;
	const char *p;

	if (len == 0 || len > 253)
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-')
			return 0;
		if (label == 0 && *p == '-')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && p[-1] != '-';
}

/*
 * Whether name (lower case, no final dot) is a public suffix, such as com,
 * co.uk or github.io, by libpsl's built-in copy of the Public Suffix List
 * (no file is read). Names under a TLD the list does not know (example,
 * test) are not: the "*" rule is not applied. Autodiscover for a public
 * suffix would ask strangers (autodiscover.co.uk) for credentials.
 */
int
dns_public_suffix(const char *name)
{
	const psl_ctx_t *psl = psl_builtin();

	if (psl == NULL)
		fatalx("libpsl has no built-in Public Suffix List");
	return psl_is_public_suffix2(psl, name,
	           PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) != 0;
}

/* Lower-case a host name in place; return it. */
char *
dns_lower(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/* A uniform number in [0, max] from rng (rejection sampling, no bias). */
static uint64_t
dns_uniform(uint64_t max, dns_rng rng, void *rarg)
{
	uint64_t span = max + 1, limit, r;

	if (max == 0)
		return 0;
	limit = (UINT64_C(1) << 32) / span * span;
	do
		r = rng(rarg);
	while (r >= limit);
	return r % span;
}

/*
 * Order SRV records as RFC 2782 says: lowest priority first; within one
 * priority, a weighted random order in which weight-0 records are placed
 * first and chosen rarely. rng returns uniformly distributed numbers.
 */
void
dns_srv_order(struct dns_srv *v, size_t n, dns_rng rng, void *rarg)
{
	struct dns_srv tmp;
	size_t i, j, start, end, k;
	uint64_t sum, pick, run;

	/* Insertion sort by priority, weight 0 first within a priority. */
	for (i = 1; i < n; i++) {
		tmp = v[i];
		for (j = i; j > 0 &&
		     (v[j - 1].priority > tmp.priority ||
		         (v[j - 1].priority == tmp.priority &&
		             v[j - 1].weight != 0 && tmp.weight == 0));
		     j--)
			v[j] = v[j - 1];
		v[j] = tmp;
	}
	for (start = 0; start < n; start = end) {
		for (end = start;
		     end < n && v[end].priority == v[start].priority; end++)
			;
		/* Pick one record at a time from v[k..end). */
		for (k = start; k + 1 < end; k++) {
			sum = 0;
			for (i = k; i < end; i++)
				sum += v[i].weight;
			pick = dns_uniform(sum, rng, rarg);
			run = 0;
			for (i = k; i < end; i++) {
				run += v[i].weight;
				if (run >= pick)
					break;
			}
			if (i == end)
				i = end - 1;
			tmp = v[i];
			memmove(&v[k + 1], &v[k], (i - k) * sizeof *v);
			v[k] = tmp;
		}
	}
}
