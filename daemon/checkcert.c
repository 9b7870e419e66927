/*
 * checkcert: owns the check-cert command: its options, the names to check
 * (given, or the hosts the configuration's mailboxes use), one judgement
 * per profile and name through chain_evaluate and explain_verdict (the
 * probe's own), what a pre-change check adds to it (a CA the file lacks,
 * PCs that would not trust it, the fixes worded for before the change),
 * the text and JSON output and the exit status.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "admin.h"
#include "anchors.h"
#include "certfile.h"
#include "checkcert.h"
#include "config.h"
#include "dns.h"
#include "explain.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "once.h"
#include "resultjson.h"
#include "state.h"
#include "xmalloc.h"

/* One name to check and where it came from. */
struct checkcert_name {
	char *name;
	char *from; /* "--name", "ews_internal_url of mailbox lab", ... */
	int implicit; /* from the configuration, not given */
};

/* The judgement of one name under one profile. */
struct checkcert_result {
	const struct checkcert_name *n;
	struct chain_verdict *v; /* NULL: no chain (handshake failed) */
	enum state_verdict verdict;
	enum reason reason;
	char *message;
	char *remedy;
	int skipped; /* an implicit name the certificate does not name */
	int missing_issuer; /* the chain lacks the leaf's issuing CA */
	int pcs_untrusted; /* the system store was asked and says no */
	char **fixes;
	size_t nfixes;
};

struct checkcert {
	struct config *cfg;
	struct admin *a;
	const char *file; /* or NULL: host */
	char *host;
	int port;
	STACK_OF(X509) *file_chain;
	struct checkcert_name *names;
	size_t nnames;
	int json;
	int discovered; /* a mailbox discovers its EWS URLs */
};

/* Add a name unless it is there already. */
static void
checkcert_add_name(struct checkcert *cc, const char *name, const char *from,
    int implicit)
{
	size_t i;

	for (i = 0; i < cc->nnames; i++) {
		if (strcasecmp(cc->names[i].name, name) == 0)
			return;
	}
	cc->names = xreallocarray(cc->names, cc->nnames + 1, sizeof *cc->names);
	cc->names[cc->nnames].name = xstrdup(name);
	cc->names[cc->nnames].from = xstrdup(from);
	cc->names[cc->nnames++].implicit = implicit;
}

/* Add the host of a fixed EWS URL of mailbox m. */
static void
checkcert_url_name(struct checkcert *cc, const struct config_mailbox *m,
    const char *key, const char *url)
{
	struct http_url u;
	char *from;

	if (url == NULL || http_url_split(url, &u) != NULL)
		return;
	xasprintf(&from, "%s of mailbox %s", key, m->name);
	checkcert_add_name(cc, u.host, from, 1);
	free(from);
	http_url_clear(&u);
}

/*
 * The names the configuration's mailboxes use: the hosts of fixed EWS
 * URLs, and for mailboxes that discover theirs, autodiscover.<domain>.
 * (No discovery cache is kept across runs yet, so discovered EWS hosts
 * are not known here: the output says so.)
 */
static void
checkcert_config_names(struct checkcert *cc)
{
	const struct config_mailbox *m;
	char *name, *from;
	size_t i;

	for (i = 0; i < cc->cfg->nmailboxes; i++) {
		m = cc->cfg->mailboxes[i];
		checkcert_url_name(cc, m, "ews_internal_url",
		    m->ews_internal_url);
		checkcert_url_name(cc, m, "ews_external_url",
		    m->ews_external_url);
		if (m->ews_internal_url != NULL || m->ews_external_url != NULL)
			continue;
		cc->discovered = 1;
		xasprintf(&name, "autodiscover.%s", m->domain);
		xasprintf(&from, "Autodiscover host of mailbox %s", m->name);
		checkcert_add_name(cc, name, from, 1);
		free(name);
		free(from);
	}
}

/* Whether the leaf names host, as the probe's name check reads names. */
static int
checkcert_names_host(X509 *leaf, const char *host)
{
	int r;

	r = X509_check_host(leaf, host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
	    NULL);
	if (r != 1)
		r = X509_check_ip_asc(leaf, host, 0);
	return r == 1;
}

/* Add one fix to a result. */
static void checkcert_fix(struct checkcert_result *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
checkcert_fix(struct checkcert_result *r, const char *fmt, ...)
{
	va_list ap;

	r->fixes = xreallocarray(r->fixes, r->nfixes + 1, sizeof *r->fixes);
	va_start(ap, fmt);
	xvasprintf(&r->fixes[r->nfixes++], fmt, ap);
	va_end(ap);
}

/*
 * The fixes, worded for before the change, from the verdict's evidence:
 * for a chain phones would refuse, publish its CA (before installing it)
 * or reissue from the Front End issuer; a CA missing from the served
 * chain; each finding's safer alternative. Other reasons keep the
 * probe's remedy.
 */
static void
checkcert_fixes(struct checkcert_result *r, const struct trustset *phone)
{
	const struct chain_verdict *v = r->v;
	const char *fe = trustset_frontend_issuer(phone);
	size_t i;

	if (v == NULL || v->ncerts == 0)
		return;
	if ((v->reason == REASON_CERT_UNTRUSTED_PHONE ||
	        v->reason == REASON_CERT_UNTRUSTED) &&
	    !v->certs[0].self_signed) {
		checkcert_fix(r,
		    "publish its CA ('%s') with New-CsWebTrustedCACertificate before you install it",
		    v->certs[0].issuer);
		if (fe != NULL)
			checkcert_fix(r,
			    "or reissue the certificate from '%s', which phones trust",
			    fe);
		else
			checkcert_fix(r,
			    "or reissue the certificate from the CA that issued the Lync pool certificate");
	} else if (v->reason != REASON_OK && r->remedy != NULL)
		checkcert_fix(r, "%s", r->remedy);
	if (r->missing_issuer)
		checkcert_fix(r,
		    "add the intermediate ('%s') to the chain you serve",
		    v->certs[0].issuer);
	for (i = 0; i < 32; i++) {
		if (v->findings & CHAIN_FINDING_BIT(i))
			checkcert_fix(r, "serve %s", chain_finding_fix(i));
	}
}

/*
 * Judge one name under one profile: the probe's verdict and words, then
 * what a pre-change check adds; the state verdict as the probe gives one
 * URL's (ok, warning with findings, unknown without anchors, critical).
 */
static void
checkcert_judge(struct checkcert *cc, struct admin_profile *ap,
    STACK_OF(X509) *chain, struct checkcert_result *r)
{
	const struct trustset *sys =
	    ap->p->system_store ? admin_system(cc->a) : NULL;
	struct chain_verdict *v;
	char *role;

	r->reason = REASON_OK;
	if (chain == NULL) {
		r->reason = ap->hs_reason;
		r->message =
		    xstrdup(ap->hs_error != NULL ? ap->hs_error : "no chain");
		r->verdict = r->reason == REASON_TLS_HANDSHAKE_FAILED ||
		        r->reason == REASON_TLS_VERSION_UNSUPPORTED
		    ? STATE_CRITICAL
		    : STATE_UNKNOWN;
		return;
	}
	r->v = v = chain_evaluate(ap->phone, sys, chain, r->n->name, time(NULL),
	    cc->cfg->cert_warn_days);
	r->skipped = r->n->implicit &&
	    !checkcert_names_host(sk_X509_value(chain, 0), r->n->name);
	if (cc->file != NULL)
		xasprintf(&role, "with the certificate in %s", cc->file);
	else
		xasprintf(&role, "with the certificate %s port %d presents",
		    cc->host, cc->port);
	explain_verdict(v, ap->phone, r->n->name, role, &r->message,
	    &r->remedy);
	free(role);
	r->reason = v->reason;
	r->missing_issuer =
	    v->issuer_position < 0 && v->ncerts > 0 && !v->certs[0].self_signed;
	r->pcs_untrusted = v->system.evaluated && !v->system.trusted;
	if (v->reason == REASON_FRONTEND_UNKNOWN)
		r->verdict = STATE_UNKNOWN;
	else if (v->reason != REASON_OK)
		r->verdict = STATE_CRITICAL;
	else if (v->findings != 0 || r->missing_issuer || r->pcs_untrusted) {
		r->verdict = STATE_WARNING;
		/* A warning's reason names its risk, never ok (issue 14). */
		if (v->findings & CHAIN_FINDING_BIT(CHAIN_FINDING_EXPIRING))
			r->reason = REASON_CERT_EXPIRING;
		else if (v->findings != 0 || !r->pcs_untrusted)
			r->reason = REASON_CERT_PHONE_RISK;
		else
			r->reason = v->system_reason; /* PCs refuse it */
	} else
		r->verdict = STATE_OK;
	checkcert_fixes(r, ap->phone);
}

/* Free a result's contents. */
static void
checkcert_result_clear(struct checkcert_result *r)
{
	size_t i;

	chain_verdict_free(r->v);
	free(r->message);
	free(r->remedy);
	for (i = 0; i < r->nfixes; i++)
		free(r->fixes[i]);
	free(r->fixes);
}

/* The presented chain as text: one entry per certificate. */
static void
checkcert_print_chain(const struct chain_verdict *v, int indent)
{
	const struct certinfo *c;
	char until[32];
	size_t i;

	for (i = 0; i < v->ncerts; i++) {
		c = &v->certs[i];
		explain_date(c->not_after, until);
		admin_say(indent, "%zu %s", i, c->subject);
		admin_say(indent + 4, "issued by '%s'", c->issuer);
		admin_say(indent + 4, "sha256 %s, %s, %s, expires %s",
		    c->sha256, c->key, c->sigalg, until);
		if (c->nsans > 0) {
			char *names = NULL, *t;
			size_t k;

			for (k = 0; k < c->nsans; k++) {
				xasprintf(&t, "%s%s%s",
				    names != NULL ? names : "",
				    k > 0 ? ", " : "", c->sans[k]);
				free(names);
				names = t;
			}
			admin_say(indent + 4, "names: %s", names);
			free(names);
		}
	}
}

/*
 * The leaf's issuer against the profile's anchors, exactly: by
 * certificate when the chain holds it, else by name (which never makes
 * trust: a CA of that name with another key is a look-alike).
 */
static void
checkcert_print_issuer(const struct chain_verdict *v,
    const struct admin_profile *ap, int indent)
{
	const struct certinfo *leaf = &v->certs[0];
	const char *sha = v->issuer_position >= 0
	    ? v->certs[v->issuer_position].sha256
	    : NULL;

	if (leaf->self_signed)
		admin_say(indent,
		    "issuer: none, the certificate is self-signed");
	else if (sha != NULL)
		admin_say(indent,
		    "issuer: '%s', sent at position %d (sha256 %s)",
		    leaf->issuer, v->issuer_position, sha);
	else
		admin_say(indent,
		    "issuer: '%s', whose certificate the chain does not hold",
		    leaf->issuer);
	if (v->phone.trusted)
		admin_say(indent + 2,
		    "phones trust it: it chains to '%s' (%s, sha256 %s)",
		    v->phone.anchor != NULL ? v->phone.anchor : "?",
		    trustset_source_name(v->phone.anchor_source),
		    v->phone.anchor_sha256);
	else if (v->issuer_lookalike)
		admin_say(indent + 2,
		    "not an anchor of profile %s: the anchor named '%s' is another certificate, with another key",
		    ap->p->name, leaf->issuer);
	else
		admin_say(indent + 2, "not an anchor of profile %s",
		    ap->p->name);
}

/* One result as text. */
static void
checkcert_print_result(const struct checkcert_result *r, int indent)
{
	const struct chain_verdict *v = r->v;
	const char *mark;
	size_t i;

	if (r->skipped) {
		admin_say(indent,
		    "- %s (%s): not named by this certificate, so it will not serve it; not judged",
		    r->n->name, r->n->from);
		return;
	}
	mark = r->verdict == STATE_OK     ? "✓"
	    : r->verdict == STATE_WARNING ? "!"
	                                  : "✗";
	if (reason_wininet(r->reason) != 0)
		admin_say(indent,
		    "%s %s (%s): %s — reason %s, phones log errorCode=%d (0x%08X)",
		    mark, r->n->name, r->n->from,
		    state_verdict_name(r->verdict), reason_name(r->reason),
		    reason_wininet(r->reason), reason_hresult(r->reason));
	else
		admin_say(indent, "%s %s (%s): %s%s%s", mark, r->n->name,
		    r->n->from, state_verdict_name(r->verdict),
		    r->reason != REASON_OK ? " — reason " : "",
		    r->reason != REASON_OK ? reason_name(r->reason) : "");
	admin_say(indent + 4, "%s", r->message);
	if (v != NULL && v->system.evaluated)
		admin_say(indent + 4, "PCs (system store): %s%s%s%s",
		    v->system.trusted ? "trusted, chains to '"
		                      : "not trusted (",
		    v->system.trusted
		        ? (v->system.anchor != NULL ? v->system.anchor : "?")
		        : v->system.error_string,
		    v->system.trusted ? "'" : ")",
		    r->missing_issuer && !v->system.trusted
		        ? ": the chain lacks its intermediate"
		        : "");
	if (r->missing_issuer)
		admin_say(indent + 4,
		    "finding: missing_intermediate (the chain does not hold '%s', the CA that issued it)",
		    v->certs[0].issuer);
	for (i = 0; v != NULL && i < v->nfindings; i++)
		admin_say(indent + 4, "finding: %s (%s)",
		    chain_finding_name(v->finding_list[i].kind),
		    v->finding_list[i].detail);
	if (r->nfixes > 0)
		admin_say(indent + 4, "fix:");
	for (i = 0; i < r->nfixes; i++)
		admin_say(indent + 6, "- %s", r->fixes[i]);
}

/* One result as a JSON object. */
static void
checkcert_json_result(struct json *j, const struct checkcert_result *r)
{
	const struct chain_verdict *v = r->v;
	size_t i;

	json_object_begin(j);
	json_kv_string(j, "name", r->n->name);
	json_kv_string(j, "from", r->n->from);
	json_kv_bool(j, "judged", !r->skipped);
	json_kv_string(j, "verdict",
	    r->skipped ? "skipped" : state_verdict_name(r->verdict));
	resultjson_reason(j, r->reason, r->message, r->remedy);
	if (v != NULL && v->ncerts > 0) {
		json_key(j, "issuer");
		json_object_begin(j);
		json_kv_string(j, "subject", v->certs[0].issuer);
		json_kv_string(j, "sha256",
		    v->issuer_position >= 0
		        ? v->certs[v->issuer_position].sha256
		        : NULL);
		json_kv_bool(j, "in_chain", v->issuer_position >= 0);
		json_kv_bool(j, "lookalike", v->issuer_lookalike);
		json_object_end(j);
		json_key(j, "phone");
		json_object_begin(j);
		/* trusted: the policy accepts it; the chain alone apart. */
		json_kv_bool(j, "trusted", v->phone_trusted);
		json_kv_bool(j, "chain_trusted", v->phone.trusted);
		json_kv_string(j, "anchor", v->phone.anchor);
		json_kv_string(j, "anchor_source",
		    v->phone.anchor != NULL
		        ? trustset_source_name(v->phone.anchor_source)
		        : NULL);
		json_object_end(j);
		json_key(j, "system");
		if (v->system.evaluated) {
			json_object_begin(j);
			json_kv_bool(j, "trusted", v->system_trusted == 1);
			json_kv_bool(j, "chain_trusted", v->system.trusted);
			json_kv_string(j, "reason",
			    reason_name(v->system_reason));
			json_kv_string(j, "anchor", v->system.anchor);
			json_kv_string(j, "error",
			    v->system.trusted ? NULL : v->system.error_string);
			json_object_end(j);
		} else
			json_nil(j);
	}
	json_key(j, "findings");
	json_array_begin(j);
	if (r->missing_issuer) {
		json_object_begin(j);
		json_kv_string(j, "kind", "missing_intermediate");
		json_kv_int(j, "position", -1);
		json_kv_string(j, "detail", v->certs[0].issuer);
		json_object_end(j);
	}
	for (i = 0; v != NULL && i < v->nfindings; i++) {
		json_object_begin(j);
		json_kv_string(j, "kind",
		    chain_finding_name(v->finding_list[i].kind));
		json_kv_int(j, "position", v->finding_list[i].position);
		json_kv_string(j, "detail", v->finding_list[i].detail);
		json_object_end(j);
	}
	json_array_end(j);
	json_key(j, "fixes");
	json_array_begin(j);
	for (i = 0; i < r->nfixes; i++)
		json_str(j, r->fixes[i]);
	json_array_end(j);
	json_object_end(j);
}

/* The certificates of a chain as a JSON array member. */
static void
checkcert_json_chain(struct json *j, const struct chain_verdict *v)
{
	size_t i;

	json_key(j, "certificates");
	json_array_begin(j);
	for (i = 0; v != NULL && i < v->ncerts; i++)
		resultjson_cert(j, &v->certs[i], i);
	json_array_end(j);
}

/*
 * Judge every name under one profile and print it (text) or add it to
 * the document (JSON). Returns the profile's worst verdict as ONCE_*.
 */
static int
checkcert_profile(struct checkcert *cc, struct admin_profile *ap,
    struct json *j, int first)
{
	STACK_OF(X509) *chain = cc->file != NULL ? cc->file_chain : ap->chain;
	struct checkcert_result *res;
	const struct chain_verdict *shown = NULL;
	size_t i, judged = 0;
	int worst = ONCE_OK;

	res = xcalloc(cc->nnames, sizeof *res);
	for (i = 0; i < cc->nnames; i++) {
		res[i].n = &cc->names[i];
		checkcert_judge(cc, ap, chain, &res[i]);
		judged += !res[i].skipped;
	}
	/*
	 * A certificate that names none of the configuration's hosts is
	 * judged for each of them, failing on the name (12038) if on nothing
	 * else: an admin must see that, not a list of skipped names.
	 */
	for (i = 0; judged == 0 && i < cc->nnames; i++)
		res[i].skipped = 0;
	for (i = 0; i < cc->nnames; i++) {
		if (!res[i].skipped)
			worst = once_fold(worst, res[i].verdict);
		if (shown == NULL && res[i].v != NULL)
			shown = res[i].v;
	}
	if (j != NULL) {
		json_object_begin(j);
		anchors_json_profile(j, ap);
		if (cc->file == NULL) {
			json_key(j, "handshake");
			json_object_begin(j);
			json_kv_string(j, "address", ap->address);
			json_kv_string(j, "tls_version", ap->tls_version);
			json_kv_string(j, "reason", reason_name(ap->hs_reason));
			json_kv_string(j, "error", ap->hs_error);
			json_object_end(j);
			checkcert_json_chain(j, shown);
		}
		json_key(j, "results");
		json_array_begin(j);
		for (i = 0; i < cc->nnames; i++)
			checkcert_json_result(j, &res[i]);
		json_array_end(j);
		json_kv_string(j, "verdict", once_status_name(worst));
		json_object_end(j);
	} else {
		if (!first)
			printf("\n");
		admin_say(0, "profile %s:", ap->p->name);
		anchors_print_profile(ap, 2);
		if (cc->file == NULL && chain != NULL) {
			admin_say(2, "%s port %d presented (%s, %s):", cc->host,
			    cc->port, ap->address != NULL ? ap->address : "?",
			    ap->tls_version != NULL ? ap->tls_version : "TLS");
			checkcert_print_chain(shown, 4);
		}
		if (shown != NULL && shown->ncerts > 0)
			checkcert_print_issuer(shown, ap, 2);
		for (i = 0; i < cc->nnames; i++)
			checkcert_print_result(&res[i], 2);
		admin_say(2, "verdict under %s: %s", ap->p->name,
		    once_status_name(worst));
	}
	for (i = 0; i < cc->nnames; i++)
		checkcert_result_clear(&res[i]);
	free(res);
	return worst;
}

/* Print the usage of check-cert to fp. */
static void
checkcert_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: ewsprobed check-cert FILE [--name HOST]... [-f file]\n"
	    "                 [--profile NAME]... [--json]\n"
	    "       ewsprobed check-cert --host HOST[:PORT] [--name HOST]...\n"
	    "                 [-f file] [--profile NAME]... [--json]\n");
}

/*
 * The header: the source (the file's chain, described once, or the host)
 * and the names checked.
 */
static void
checkcert_header(struct checkcert *cc, struct json *j)
{
	struct chain_verdict *v = NULL;
	size_t i;

	if (cc->file != NULL)
		v = chain_evaluate(admin_profile(cc->a, 0)->phone, NULL,
		    cc->file_chain, NULL, time(NULL), 0);
	if (j != NULL) {
		json_key(j, "source");
		json_object_begin(j);
		json_kv_string(j, "file", cc->file);
		json_kv_string(j, "host", cc->host);
		if (cc->host != NULL)
			json_kv_int(j, "port", cc->port);
		json_object_end(j);
		if (v != NULL)
			checkcert_json_chain(j, v);
		json_key(j, "names");
		json_array_begin(j);
	} else if (v != NULL) {
		admin_say(0,
		    "%s: %zu certificate%s, as served (leaf first):", cc->file,
		    v->ncerts, v->ncerts == 1 ? "" : "s");
		checkcert_print_chain(v, 2);
		admin_say(0, "names checked:");
	} else
		admin_say(0, "%s port %d, names checked:", cc->host, cc->port);
	chain_verdict_free(v);
	for (i = 0; i < cc->nnames; i++) {
		if (j != NULL) {
			json_object_begin(j);
			json_kv_string(j, "name", cc->names[i].name);
			json_kv_string(j, "from", cc->names[i].from);
			json_object_end(j);
		} else
			admin_say(2, "%s (%s)", cc->names[i].name,
			    cc->names[i].from);
	}
	if (j != NULL) {
		json_array_end(j);
		json_kv_bool(j, "discovered_hosts_unknown", cc->discovered);
		return;
	}
	if (cc->discovered)
		admin_say(2,
		    "(the EWS hosts that Autodiscover gives are not known here: no discovery cache is kept across runs; give them with --name)");
	printf("\n");
}

/* Free the command's state. */
static void
checkcert_free(struct checkcert *cc)
{
	size_t i;

	for (i = 0; i < cc->nnames; i++) {
		free(cc->names[i].name);
		free(cc->names[i].from);
	}
	free(cc->names);
	if (cc->file_chain != NULL)
		sk_X509_pop_free(cc->file_chain, X509_free);
	admin_free(cc->a);
	config_unref(cc->cfg);
	free(cc->host);
}

/* Judge under every profile, print, and return the exit status. */
static int
checkcert_report(struct checkcert *cc)
{
	struct json *j = NULL;
	char *doc;
	size_t i;
	int rc = ONCE_OK, code;

	if (cc->json) {
		j = json_new(JSON_PRETTY);
		json_object_begin(j);
	}
	checkcert_header(cc, j);
	if (j != NULL) {
		json_key(j, "profiles");
		json_array_begin(j);
	}
	for (i = 0; i < admin_nprofiles(cc->a); i++) {
		code =
		    checkcert_profile(cc, admin_profile(cc->a, i), j, i == 0);
		rc = once_fold(rc,
		    code == ONCE_OK             ? STATE_OK
		        : code == ONCE_WARNING  ? STATE_WARNING
		        : code == ONCE_CRITICAL ? STATE_CRITICAL
		                                : STATE_UNKNOWN);
	}
	if (j != NULL) {
		json_array_end(j);
		json_kv_string(j, "verdict", once_status_name(rc));
		json_kv_int(j, "exit_status", rc);
		json_object_end(j);
		doc = json_finish(j, NULL);
		printf("%s\n", doc);
		free(doc);
	} else
		printf("\n%s\n",
		    rc == ONCE_OK ? "OK: phones will trust this certificate"
		        : rc == ONCE_WARNING
		        ? "WARNING: phones will trust this certificate, with risks (see above)"
		        : rc == ONCE_CRITICAL
		        ? "CRITICAL: phones will not trust this certificate (see the fixes above)"
		        : "UNKNOWN: could not judge (see above)");
	return rc;
}

/* check-cert's long options. */
static const struct option checkcert_longopts[] = {
    {"config", required_argument, NULL, 'f'},
    {"name", required_argument, NULL, 'N'},
    {"profile", required_argument, NULL, 'p'},
    {"host", required_argument, NULL, 'H'},
    {"json", no_argument, NULL, 'J'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/*
 * Read check-cert's options into cc, *config_path, profiles (*nprofiles
 * of them) and *host. Return 0 to go on, or -1 to stop with *rc.
 */
static int
checkcert_options(int argc, char **argv, struct checkcert *cc,
    const char **config_path, char **profiles, size_t *nprofiles,
    const char **host, int *rc)
{
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "f:h", checkcert_longopts,
	            NULL)) != -1) {
		switch (ch) {
		case 'f':
			*config_path = optarg;
			break;
		case 'N':
			if (!dns_valid_hostname(optarg)) {
				admin_error("--name '%s' is not a host name",
				    optarg);
				return -1;
			}
			checkcert_add_name(cc, optarg, "--name", 0);
			break;
		case 'p':
			profiles[(*nprofiles)++] = optarg;
			break;
		case 'H':
			*host = optarg;
			break;
		case 'J':
			cc->json = 1;
			break;
		case 'h':
			checkcert_usage(stdout);
			*rc = ONCE_OK;
			return -1;
		default:
			checkcert_usage(stderr);
			return -1;
		}
	}
	if ((*host == NULL) == (optind + 1 != argc)) {
		checkcert_usage(stderr);
		return -1;
	}
	return 0;
}

/*
 * Get what is judged ready: the host and port (host) or the chain read
 * from file, the configuration, the profiles and the names to check.
 * Return 0, or -1 (said) to stop.
 */
static int
checkcert_prepare(struct checkcert *cc, const char *host, const char *file,
    const char *config_path, char **profiles, size_t nprofiles)
{
	char *cause = NULL;

	if (host != NULL && admin_split_host(host, &cc->host, &cc->port) != 0) {
		admin_error("--host '%s': not HOST[:PORT]", host);
		return -1;
	}
	if (host == NULL) {
		cc->file = file;
		if (certfile_read(cc->file, &cc->file_chain, &cause) !=
		    CERTFILE_OK) {
			admin_error("%s: %s", cc->file, cause);
			free(cause);
			return -1;
		}
	}
	if (admin_config(config_path, &cc->cfg) != 0)
		return -1;
	if ((cc->a = admin_new(cc->cfg, profiles, nprofiles, &cause)) == NULL) {
		admin_error("%s", cause);
		free(cause);
		return -1;
	}
	if (admin_nprofiles(cc->a) == 0) {
		admin_error("no profile to judge under");
		return -1;
	}
	if (cc->nnames == 0)
		checkcert_config_names(cc);
	if (cc->nnames == 0 && cc->host != NULL)
		checkcert_add_name(cc, cc->host, "--host", 0);
	if (cc->nnames == 0) {
		admin_error("no name to check: give --name HOST");
		return -1;
	}
	return 0;
}

/*
 * `ewsprobed check-cert`: read the chain (file) or nothing yet (host),
 * learn the anchors live, capture the host's chains, judge, print.
 */
int
checkcert_main(int argc, char **argv, const char *config_path)
{
	struct checkcert cc;
	char **profiles;
	const char *host = NULL;
	size_t nprofiles = 0;
	int rc = ADMIN_EXIT_UNKNOWN;

	memset(&cc, 0, sizeof cc);
	profiles = xcalloc((size_t)argc + 1, sizeof *profiles);
	if (checkcert_options(argc, argv, &cc, &config_path, profiles,
	        &nprofiles, &host, &rc) == 0 &&
	    checkcert_prepare(&cc, host, host == NULL ? argv[optind] : NULL,
	        config_path, profiles, nprofiles) == 0) {
		admin_run(cc.a, cc.host, cc.port);
		rc = checkcert_report(&cc);
	}
	checkcert_free(&cc);
	free(profiles);
	return rc;
}
