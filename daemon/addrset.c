/*
 * addrset: owns how the addresses of one name add up — which of them
 * fail phones, how their steps nest, and the words for a name that
 * phones can use at some addresses and not at others. urlcheck decides
 * what to do next (sign in or not); this module only judges and words.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrset.h"
#include "hello.h"
#include "hellorun.h"
#include "xmalloc.h"

/*
 * The addresses whose check failed (want_failed) or not, joined by ", "
 * in the client's order; their count in *n. Caller frees.
 */
char *
addrset_join(const struct addrset *s, int want_failed, size_t *n)
{
	char *out = xstrdup(""), *t;
	size_t i;

	*n = 0;
	for (i = 0; i < s->n; i++) {
		if (reason_failed(s->a[i]->reason) != want_failed)
			continue;
		xasprintf(&t, "%s%s%s", out, *n > 0 ? ", " : "",
		    s->a[i]->address);
		free(out);
		out = t;
		(*n)++;
	}
	return out;
}

/* Whether two addresses showed phones the same: reason, answer, leaf. */
static int
addrset_same(const struct addrcheck_result *a, const struct addrcheck_result *b)
{
	const struct chain_verdict *va = a->verdict, *vb = b->verdict;

	if (a->reason != b->reason || a->http_status != b->http_status)
		return 0;
	if (va == NULL || vb == NULL)
		return va == vb;
	if (va->ncerts == 0 || vb->ncerts == 0)
		return va->ncerts == vb->ncerts;
	return strcmp(va->certs[0].sha256, vb->certs[0].sha256) == 0;
}

/*
 * Move the addresses' steps to the end of l: a name with one address
 * keeps the flat list; several are one sub-tree each, or one for all
 * when they agree (collapsed). Call before the verdicts move away.
 */
void
addrset_steps(const struct addrset *s, struct step_list *l)
{
	struct addrcheck_result *a;
	struct step *st, *sub;
	enum step_result mark;
	size_t i, n;
	int agree = 1;
	char *all;

	if (s->n == 1) {
		step_list_move(l, &s->a[0]->steps);
		return;
	}
	for (i = 1; i < s->n; i++)
		agree &= addrset_same(s->a[0], s->a[i]);
	for (i = 0; i < (agree ? 1 : s->n); i++) {
		a = s->a[i];
		mark = reason_failed(a->reason) ? STEP_FAIL
		    : reason_warning(a->reason) ? STEP_WARN
		                                : STEP_OK;
		if (agree) {
			all = addrset_join(s, reason_failed(a->reason), &n);
			st = step_add(l, STEP_NOTE, 1,
			    "all %zu addresses of %s alike: %s", n, s->host,
			    all);
			free(all);
		} else {
			st =
			    step_add(l, STEP_NOTE, 1, "address %s", a->address);
			step_set_str(&st->address, a->address);
		}
		step_set(st, mark,
		    mark == STEP_OK ? NULL : reason_name(a->reason), "%s",
		    mark == STEP_OK       ? "phones can connect"
		        : a->what != NULL ? a->what
		                          : reason_name(a->reason));
		TAILQ_FOREACH (sub, &a->steps, entry)
			sub->depth++;
		step_list_move(l, &a->steps);
	}
}

/*
 * The phone's own hello to an address, in brief. What phones get decides
 * phone_trusted: a hello refused, reset, or shown a certificate phones
 * refuse is not trusted, whatever a client with SNI and modern suites got.
 */
static void
addrset_hello(struct urlcheck_addr *u, const struct phonelook_result *p)
{
	const struct certinfo *c = p->verdict != NULL && p->verdict->ncerts > 0
	    ? &p->verdict->certs[0]
	    : NULL;
	const char *name;

	u->hello = 1;
	u->hello_reason = p->reason;
	u->hello_sni = p->sent_sni;
	u->hello_end = hellorun_end_name(p->end);
	u->hello_version =
	    p->version != 0 ? hello_version_name(p->version) : NULL;
	if (p->suite != 0) {
		if ((name = hello_suite_name(p->suite)) != NULL)
			u->hello_suite = xstrdup(name);
		else
			xasprintf(&u->hello_suite, "0x%04X", p->suite);
	}
	u->hello_suite_uncertain = p->suite_uncertain;
	u->hello_uncertain_only = p->uncertain_only;
	u->hello_alert =
	    p->alert >= 0 ? hello_alert_name((uint8_t)p->alert) : NULL;
	if (c != NULL) {
		u->hello_issuer = xstrdup(c->issuer);
		u->hello_sha256 = xstrdup(c->sha256);
	}
	u->hello_phone_trusted = p->verdict != NULL &&
	    p->verdict->phone_trusted && !reason_failed(p->reason);
	u->phone_trusted = u->hello_phone_trusted;
}

/* Each address in brief, in the client's order; their count in *n. */
struct urlcheck_addr *
addrset_summary(const struct addrset *s, size_t *n)
{
	struct urlcheck_addr *out = xcalloc(s->n, sizeof *out), *u;
	const struct addrcheck_result *a;
	const struct chain_verdict *v;
	size_t i;

	for (i = 0; i < s->n; i++) {
		a = s->a[i];
		v = a->verdict;
		u = &out[i];
		u->address = xstrdup(a->address);
		u->family = a->family;
		u->reason = a->reason;
		u->http_status = a->http_status;
		u->tls_version =
		    a->tls_version != NULL ? xstrdup(a->tls_version) : NULL;
		u->phone_trusted = u->system_trusted = -1;
		if (v != NULL) {
			u->phone_trusted = v->phone_trusted &&
			    a->reason != REASON_TLS_HANDSHAKE_FAILED &&
			    a->reason != REASON_TLS_VERSION_UNSUPPORTED;
			u->system_trusted = v->system_trusted;
			if (v->ncerts > 0) {
				u->cert_issuer = xstrdup(v->certs[0].issuer);
				u->cert_sha256 = xstrdup(v->certs[0].sha256);
				u->cert_subject = xstrdup(v->certs[0].subject);
				u->cert_not_after = v->certs[0].not_after;
			}
		}
		u->timings = a->timings;
		if (a->phone != NULL)
			addrset_hello(u, a->phone);
	}
	*n = s->n;
	return out;
}

/* Order strings for qsort. */
static int
addrset_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The addresses of a summary where phones fail, sorted and joined by ",",
 * or NULL when there is none: what an alert carries and compares run to
 * run, so that DNS rotating its answers is no change by itself. Caller
 * frees.
 */
char *
addrset_failing(const struct urlcheck_addr *addrs, size_t naddrs)
{
	const char **v;
	char *out = NULL, *t;
	size_t i, n = 0;

	v = xcalloc(naddrs > 0 ? naddrs : 1, sizeof *v);
	for (i = 0; i < naddrs; i++)
		if (reason_failed(addrs[i].reason))
			v[n++] = addrs[i].address;
	qsort(v, n, sizeof *v, addrset_strcmp);
	for (i = 0; i < n; i++) {
		xasprintf(&t, "%s%s%s", out != NULL ? out : "",
		    out != NULL ? "," : "", v[i]);
		free(out);
		out = t;
	}
	free(v);
	return out;
}

/* Free a summary from addrset_summary(); NULL is a no-op. */
void
addrset_summary_free(struct urlcheck_addr *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].address);
		free(v[i].tls_version);
		free(v[i].cert_issuer);
		free(v[i].cert_sha256);
		free(v[i].cert_subject);
		free(v[i].hello_suite);
		free(v[i].hello_issuer);
		free(v[i].hello_sha256);
	}
	free(v);
}

/*
 * Whether only IPv6 addresses failed, and only to connect, while an IPv4
 * address works: phones on IPv4-only networks never try those.
 */
int
addrset_v6_only(const struct addrset *s)
{
	int v4ok = 0, bad = 0;
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (!reason_failed(s->a[i]->reason))
			v4ok |= s->a[i]->family == AF_INET;
		else if (s->a[i]->family != AF_INET6 || !s->a[i]->unreachable)
			return 0;
		else
			bad = 1;
	}
	return v4ok && bad;
}

/*
 * The words for IPv6 addresses that cannot be reached while IPv4 works
 * (addrset_v6_only): a phrase for the URL's message, and in *remedy what
 * to fix. Caller frees both.
 */
char *
addrset_v6_note(const struct addrset *s, char **remedy)
{
	const struct addrcheck_result *a = NULL;
	char *bad, *note;
	size_t i, n;

	for (i = 0; i < s->n && a == NULL; i++)
		if (reason_failed(s->a[i]->reason))
			a = s->a[i];
	bad = addrset_join(s, 1, &n);
	xasprintf(&note,
	    "but the IPv6 address%s %s of %s cannot be reached (%s) while IPv4 works: phones on IPv4-only networks are not affected; clients with IPv6 try it first and wait for the fallback",
	    n > 1 ? "es" : "", bad, s->host,
	    reason_name(a != NULL ? a->reason : REASON_CONNECT_FAILED));
	xasprintf(remedy,
	    "make %s reachable over IPv6 at %s (listener, firewall, load balancer) or remove that AAAA record",
	    s->host, bad);
	free(bad);
	return note;
}

/* The first failed address (there is one). */
static const struct addrcheck_result *
addrset_first_failed(const struct addrset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (reason_failed(s->a[i]->reason))
			return s->a[i];
	return s->a[0];
}

/*
 * Whether an address fails phones because the certificate it serves to
 * every client (with SNI and without) is one they distrust: not when the
 * phone's own hello got another one (a default binding), which the
 * "serves a certificate issued by" words would misname.
 */
static int
addrset_serves_untrusted(const struct addrcheck_result *a)
{
	if (a->reason != REASON_CERT_UNTRUSTED_PHONE &&
	    a->reason != REASON_CERT_UNTRUSTED)
		return 0;
	/* No verdict left (urlcheck took the worst address's): as before. */
	return a->phone == NULL || a->phone->verdict == NULL ||
	    a->verdict == NULL || phonelook_same_leaf(a->phone, a->verdict);
}

/*
 * Some addresses fail phones, others work: phones fail only where they
 * connect. Return the reason of its own (certificates phones distrust at
 * some addresses, or any other failure at some); *message counts and
 * names the bad addresses and the phone's code, *remedy names the
 * servers to fix. issuer is the first bad address's leaf issuer (or
 * NULL). lead opens the message (NULL: "phones cannot use EWS at <url>
 * (<role>)"; discovery's: "phones cannot discover EWS at <url>").
 * Caller frees both.
 */
enum reason
addrset_mixed_lead(const struct addrset *s, const char *lead,
    const char *issuer, char **message, char **remedy)
{
	const struct addrcheck_result *a = addrset_first_failed(s);
	size_t i, nbad, ngood;
	char *bad = addrset_join(s, 1, &nbad);
	char *good = addrset_join(s, 0, &ngood);
	char *what, code[80] = "";
	enum reason r;
	int cert = 1;

	for (i = 0; i < s->n; i++)
		if (reason_failed(s->a[i]->reason))
			cert &= addrset_serves_untrusted(s->a[i]);
	r = cert ? REASON_CERT_UNTRUSTED_PHONE_SOME
	         : REASON_ADDRESS_FAILED_SOME;
	if (reason_wininet(a->reason) != 0)
		snprintf(code, sizeof code,
		    "; phones that connect there log errorCode=%d (0x%08X)",
		    reason_wininet(a->reason), reason_hresult(a->reason));
	if (cert)
		xasprintf(&what,
		    "%zu of %zu addresses of %s (%s) serve%s a certificate issued by '%s', which phones do not trust%s; the other %zu (%s) work",
		    nbad, s->n, s->host, bad, nbad == 1 ? "s" : "",
		    issuer != NULL ? issuer : "?", code, ngood, good);
	else
		xasprintf(&what,
		    "%zu of %zu addresses of %s (%s) fail%s for phones: %s (%s)%s; the other %zu (%s) work",
		    nbad, s->n, s->host, bad, nbad == 1 ? "s" : "",
		    a->what != NULL ? a->what : reason_name(a->reason),
		    reason_name(a->reason), code, ngood, good);
	if (lead != NULL)
		xasprintf(message, "%s through every server: %s.", lead, what);
	else
		xasprintf(message,
		    "phones cannot use EWS at %s (%s) through every server: %s.",
		    s->url, s->role, what);
	xasprintf(remedy, "fix the server%s behind %s at %s (%s %s fine): %s",
	    nbad == 1 ? "" : "s", s->host, bad, good, ngood == 1 ? "is" : "are",
	    a->remedy != NULL ? a->remedy
	                      : "compare its configuration with the others'");
	free(what);
	free(bad);
	free(good);
	return r;
}

/* addrset_mixed_lead with the EWS URL's opening. */
enum reason
addrset_mixed(const struct addrset *s, const char *issuer, char **message,
    char **remedy)
{
	return addrset_mixed_lead(s, NULL, issuer, message, remedy);
}

/*
 * Every address fails: message (the first failed address's, which the
 * URL reports) followed by what the others did. Caller frees.
 */
char *
addrset_all_failed(const struct addrset *s, const char *message)
{
	char *list = xstrdup(""), *t;
	size_t i, same = 0;

	if (s->n < 2) {
		free(list);
		return xstrdup(message);
	}
	for (i = 0; i < s->n; i++) {
		same += s->a[i]->reason == s->a[0]->reason;
		xasprintf(&t, "%s%s%s %s", list, i > 0 ? ", " : "",
		    s->a[i]->address, reason_name(s->a[i]->reason));
		free(list);
		list = t;
	}
	if (same == s->n)
		xasprintf(&t, "%s The same at all %zu addresses of %s.",
		    message, s->n, s->host);
	else
		xasprintf(&t, "%s Every address of %s fails (%s).", message,
		    s->host, list);
	free(list);
	return t;
}
