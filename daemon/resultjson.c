/*
 * resultjson: owns the result schema — which members a target, a run, its
 * Autodiscover and Front End parts, an EWS URL's result, a certificate and a
 * step have in JSON, their types and units — so that the status file and
 * `--once --json` (and check-cert's and anchors' certificates) describe the
 * same thing the same way. One function per object: a new member goes into
 * that object's function and into docs/result-schema.json.
 *
 * Times are RFC 3339 UTC; durations are milliseconds written as exact
 * decimals of the microseconds measured (json_decimal), never %g, so a long
 * run keeps its precision.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "json.h"
#include "resultjson.h"
#include "xmalloc.h"

/*
 * Open the document: top-level "schema" (RESULTJSON_SCHEMA) and "document"
 * (what kind: "status", "once"). The caller adds its members and ends it.
 */
void
resultjson_begin(struct json *j, const char *document)
{
	json_object_begin(j);
	json_kv_int(j, "schema", RESULTJSON_SCHEMA);
	json_kv_string(j, "document", document);
}

/* A member with an RFC 3339 UTC time of wall seconds t, or null for 0. */
void
resultjson_time(struct json *j, const char *key, int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		json_kv_null(j, key);
		return;
	}
	json_kv_string(j, key, buf);
}

/* A member with microseconds us in milliseconds, or null when unknown (<0). */
void
resultjson_ms(struct json *j, const char *key, int64_t us)
{
	if (us < 0)
		json_kv_null(j, key);
	else
		json_kv_decimal(j, key, us, 3);
}

/* Member "timings_ms": each phase from the start of the request, or null. */
static void
resultjson_timings(struct json *j, const struct step_timings *t)
{
	json_key(j, "timings_ms");
	json_object_begin(j);
	resultjson_ms(j, "dns", t->dns_us);
	resultjson_ms(j, "connect", t->connect_us);
	resultjson_ms(j, "tls", t->tls_us);
	resultjson_ms(j, "first_byte", t->first_byte_us);
	resultjson_ms(j, "total", t->total_us);
	json_object_end(j);
}

/*
 * Members "reason", "phone_error" and "hresult" (the code phones log, both
 * null when they log none), "message" and "remedy" of a verdict.
 */
void
resultjson_reason(struct json *j, enum reason r, const char *message,
    const char *remedy)
{
	char hr[16];

	json_kv_string(j, "reason", reason_name(r));
	if (reason_wininet(r) != 0) {
		json_kv_int(j, "phone_error", reason_wininet(r));
		snprintf(hr, sizeof hr, "0x%08X", reason_hresult(r));
		json_kv_string(j, "hresult", hr);
	} else {
		json_kv_null(j, "phone_error");
		json_kv_null(j, "hresult");
	}
	json_kv_string(j, "message", message);
	json_kv_string(j, "remedy", remedy);
}

/* One certificate as an object; position is its place in its chain. */
void
resultjson_cert(struct json *j, const struct certinfo *c, size_t position)
{
	size_t k;

	json_object_begin(j);
	json_kv_int(j, "position", (long long)position);
	json_kv_string(j, "subject", c->subject);
	json_kv_string(j, "issuer", c->issuer);
	json_kv_string(j, "serial", c->serial);
	json_kv_string(j, "sha256", c->sha256);
	resultjson_time(j, "not_before", c->not_before);
	resultjson_time(j, "not_after", c->not_after);
	json_kv_string(j, "key", c->key);
	json_kv_string(j, "signature", c->sigalg);
	json_key(j, "names");
	json_array_begin(j);
	for (k = 0; k < c->nsans; k++)
		json_str(j, c->sans[k]);
	json_array_end(j);
	json_object_end(j);
}

/* One step as an object. */
static void
resultjson_step(struct json *j, const struct step *st)
{
	json_object_begin(j);
	json_kv_string(j, "kind", step_kind_name(st->kind));
	json_kv_string(j, "title", st->title);
	json_kv_string(j, "result", step_result_name(st->result));
	json_kv_int(j, "depth", st->depth);
	json_kv_string(j, "reason", st->reason);
	json_kv_string(j, "method", st->method);
	json_kv_string(j, "url", st->url);
	json_kv_string(j, "address", st->address);
	json_kv_string(j, "tls_version", st->tls_version);
	if (st->http_status != 0)
		json_kv_int(j, "http_status", st->http_status);
	else
		json_kv_null(j, "http_status");
	json_kv_string(j, "detail", st->detail);
	resultjson_timings(j, &st->timings);
	json_object_end(j);
}

/* Member "steps": the steps kept of a part, in order (maybe none). */
void
resultjson_steps(struct json *j, const struct step_list *steps)
{
	const struct step *st;

	json_key(j, "steps");
	json_array_begin(j);
	TAILQ_FOREACH (st, steps, entry)
		resultjson_step(j, st);
	json_array_end(j);
}

/*
 * The trust members of a URL's result: whether each policy accepts this
 * connection (chain, dates, name; for phones also the TLS handshake their
 * profile makes), the chain alone in *_chain_trusted. No chain seen: phones
 * could not connect, and the rest is not known (null).
 */
static void
resultjson_url_trust(struct json *j, const struct urlcheck_result *u)
{
	const struct chain_verdict *v = u->verdict;
	int system = v != NULL && v->system_trusted >= 0;

	json_kv_bool(j, "phone_trusted",
	    v != NULL && v->phone_trusted &&
	        u->reason != REASON_TLS_HANDSHAKE_FAILED &&
	        u->reason != REASON_TLS_VERSION_UNSUPPORTED &&
	        u->reason != REASON_TLS_NO_COMMON_SUITE &&
	        u->reason != REASON_TLS_RESET);
	if (v != NULL)
		json_kv_bool(j, "phone_chain_trusted", v->phone.trusted);
	else
		json_kv_null(j, "phone_chain_trusted");
	if (system) {
		json_kv_bool(j, "system_trusted", v->system_trusted);
		json_kv_string(j, "system_reason",
		    reason_name(v->system_reason));
		json_kv_bool(j, "system_chain_trusted", v->system.trusted);
	} else {
		json_kv_null(j, "system_trusted");
		json_kv_null(j, "system_reason");
		json_kv_null(j, "system_chain_trusted");
	}
	json_kv_string(j, "anchor", v != NULL ? v->phone.anchor : NULL);
	json_kv_string(j, "findings", v != NULL ? v->findings_text : NULL);
}

/*
 * Member "phone_hello" of an address: what the phone's own ClientHello got
 * there (the suite, an alert or reset, the certificate shown to a client
 * without SNI), or null when the profile makes none (phonelook.h).
 */
static void
resultjson_addr_hello(struct json *j, const struct urlcheck_addr *a)
{
	json_key(j, "phone_hello");
	if (!a->hello) {
		json_nil(j);
		return;
	}
	json_object_begin(j);
	json_kv_string(j, "reason", reason_name(a->hello_reason));
	json_kv_bool(j, "sni_sent", a->hello_sni);
	json_kv_string(j, "end", a->hello_end);
	json_kv_string(j, "tls_version", a->hello_version);
	json_kv_string(j, "suite", a->hello_suite);
	json_kv_bool(j, "suite_uncertain", a->hello_suite_uncertain);
	json_kv_bool(j, "uncertain_only", a->hello_uncertain_only);
	json_kv_string(j, "alert", a->hello_alert);
	json_kv_string(j, "cert_issuer", a->hello_issuer);
	json_kv_string(j, "cert_sha256", a->hello_sha256);
	json_kv_bool(j, "phone_trusted", a->hello_phone_trusted);
	json_object_end(j);
}

/*
 * The address members of a URL's result: every address of its name that
 * was probed, in the order clients try them, with what phones meet there
 * (docs/addresses.md).
 */
static void
resultjson_addresses(struct json *j, const struct urlcheck_addr *addrs,
    size_t naddrs, size_t nresolved, size_t nfailed)
{
	const struct urlcheck_addr *a;
	size_t i;

	json_kv_int(j, "addresses_resolved", (long long)nresolved);
	json_kv_int(j, "addresses_failed", (long long)nfailed);
	json_key(j, "addresses");
	json_array_begin(j);
	for (i = 0; i < naddrs; i++) {
		a = &addrs[i];
		json_object_begin(j);
		json_kv_string(j, "address", a->address);
		json_kv_string(j, "family",
		    a->family == AF_INET6 ? "ipv6" : "ipv4");
		json_kv_string(j, "reason", reason_name(a->reason));
		json_kv_bool(j, "failed", reason_failed(a->reason));
		if (reason_wininet(a->reason) != 0)
			json_kv_int(j, "phone_error",
			    reason_wininet(a->reason));
		else
			json_kv_null(j, "phone_error");
		if (a->http_status != 0)
			json_kv_int(j, "http_status", a->http_status);
		else
			json_kv_null(j, "http_status");
		json_kv_string(j, "tls_version", a->tls_version);
		if (a->phone_trusted < 0)
			json_kv_null(j, "phone_trusted");
		else
			json_kv_bool(j, "phone_trusted", a->phone_trusted);
		if (a->system_trusted < 0)
			json_kv_null(j, "system_trusted");
		else
			json_kv_bool(j, "system_trusted", a->system_trusted);
		json_kv_string(j, "cert_issuer", a->cert_issuer);
		json_kv_string(j, "cert_sha256", a->cert_sha256);
		resultjson_ms(j, "duration_ms", a->timings.total_us);
		resultjson_addr_hello(j, a);
		json_object_end(j);
	}
	json_array_end(j);
}

/* One EWS URL's result as an object: request, verdict, trust, evidence. */
void
resultjson_url(struct json *j, const struct urlcheck_result *u)
{
	const struct chain_verdict *v = u->verdict;
	size_t i;

	json_object_begin(j);
	json_kv_string(j, "role", u->role);
	json_kv_string(j, "url", u->url);
	resultjson_reason(j, u->reason, u->message, u->remedy);
	json_kv_bool(j, "warning", u->warning);
	json_kv_string(j, "risk",
	    u->risk != REASON_OK ? reason_name(u->risk) : NULL);
	json_kv_bool(j, "signin_refused", u->signin_refused);
	if (u->http_status != 0)
		json_kv_int(j, "http_status", u->http_status);
	else
		json_kv_null(j, "http_status");
	json_kv_string(j, "address", u->address);
	json_kv_string(j, "tls_version", u->tls_version);
	json_kv_string(j, "auth_offered", u->auth_offered);
	json_kv_string(j, "ews_code", u->ews_code);
	resultjson_url_trust(j, u);
	resultjson_addresses(j, u->addrs, u->naddrs, u->nresolved, u->nfailed);
	resultjson_ms(j, "duration_ms", u->duration_us);
	resultjson_timings(j, &u->timings);
	json_key(j, "certificates");
	json_array_begin(j);
	for (i = 0; v != NULL && i < v->ncerts; i++)
		resultjson_cert(j, &v->certs[i], i);
	json_array_end(j);
	resultjson_steps(j, &u->steps);
	json_object_end(j);
}

/*
 * Member "autodiscover_addresses": the servers of the host whose answer
 * gave phones the URLs (adaddrs), or null when they were not checked.
 */
static void
resultjson_autodiscover_addresses(struct json *j,
    const struct adaddrs_result *a)
{
	json_key(j, "autodiscover_addresses");
	if (a == NULL) {
		json_nil(j);
		return;
	}
	json_object_begin(j);
	json_kv_string(j, "host", a->host);
	json_kv_string(j, "reason", reason_name(a->reason));
	if (reason_wininet(a->reason) != 0)
		json_kv_int(j, "phone_error", reason_wininet(a->reason));
	else
		json_kv_null(j, "phone_error");
	json_kv_string(j, "message", a->message);
	json_kv_string(j, "remedy", a->remedy);
	resultjson_addresses(j, a->addrs, a->naddrs, a->nresolved, a->nfailed);
	json_object_end(j);
}

/* Member "autodiscover": what discovery found on this run, or null. */
static void
resultjson_autodiscover(struct json *j, const struct autodiscover_result *d)
{
	const struct autodiscover_answer *a;
	size_t k;

	json_key(j, "autodiscover");
	if (d == NULL) {
		json_nil(j);
		return;
	}
	json_object_begin(j);
	json_kv_bool(j, "found", d->found);
	json_kv_string(j, "reason", d->found ? NULL : reason_name(d->reason));
	json_kv_string(j, "source", d->source);
	json_kv_string(j, "internal_ews_url", d->internal_ews_url);
	json_kv_string(j, "external_ews_url", d->external_ews_url);
	json_kv_int(j, "hops", d->hops);
	json_kv_string(j, "message", d->message);
	/* Every candidate that gave EWS URLs (discovery mode "all"). */
	json_key(j, "answers");
	json_array_begin(j);
	for (k = 0; k < d->nanswers; k++) {
		a = &d->answers[k];
		json_object_begin(j);
		json_kv_string(j, "source", a->source);
		json_kv_string(j, "internal_ews_url", a->internal_ews_url);
		json_kv_string(j, "external_ews_url", a->external_ews_url);
		json_object_end(j);
	}
	json_array_end(j);
	json_kv_bool(j, "answers_disagree", d->disagree);
	/*
	 * The phones' side (docs/discovery.md): whether phones find the URLs,
	 * else why — the reason and code, where, the issuer as the
	 * certificate spells it, the words and the fix.
	 */
	json_kv_bool(j, "phone_found", d->phone_found);
	json_kv_string(j, "phone_reason", reason_name(d->phone_reason));
	if (reason_wininet(d->phone_reason) != 0)
		json_kv_int(j, "phone_error", reason_wininet(d->phone_reason));
	else
		json_kv_null(j, "phone_error");
	json_kv_string(j, "phone_url", d->phone_url);
	json_kv_string(j, "phone_cert_issuer",
	    d->phone_verdict != NULL && d->phone_verdict->ncerts > 0
	        ? d->phone_verdict->certs[0].issuer
	        : NULL);
	json_kv_string(j, "phone_message", d->phone_message);
	json_kv_string(j, "phone_remedy", d->phone_remedy);
	resultjson_steps(j, &d->steps);
	json_object_end(j);
}

/* Member "frontend": the Front End issuer learned on this run, or null. */
static void
resultjson_frontend(struct json *j, const struct frontend_result *fr)
{
	json_key(j, "frontend");
	if (fr == NULL) {
		json_nil(j);
		return;
	}
	json_object_begin(j);
	json_kv_bool(j, "learned", fr->ok);
	json_kv_string(j, "issuer", fr->issuer);
	json_kv_bool(j, "changed", fr->changed);
	json_kv_string(j, "previous", fr->changed ? fr->previous : NULL);
	json_kv_string(j, "error", fr->error);
	/* The phone's own hello at the pool: null, or its finding. */
	json_kv_string(j, "phone_reason",
	    fr->phone_reason != REASON_OK ? reason_name(fr->phone_reason)
	                                  : NULL);
	json_kv_string(j, "phone_message", fr->phone_message);
	json_kv_string(j, "phone_remedy", fr->phone_remedy);
	resultjson_steps(j, &fr->steps);
	json_object_end(j);
}

/* One run of a target as an object: verdict, then its parts. */
void
resultjson_run(struct json *j, const struct run_result *r)
{
	int i;

	json_object_begin(j);
	resultjson_time(j, "started", r->started);
	resultjson_ms(j, "duration_ms", r->duration_us);
	json_kv_string(j, "verdict", state_verdict_name(r->verdict));
	resultjson_reason(j, r->reason, r->message, r->remedy);
	json_kv_string(j, "role", r->role);
	json_kv_string(j, "internal_ews_url", r->internal_ews_url);
	json_kv_string(j, "external_ews_url", r->external_ews_url);
	resultjson_autodiscover(j, r->discovery);
	resultjson_autodiscover_addresses(j, r->discovery_addrs);
	resultjson_frontend(j, r->frontend);
	json_key(j, "urls");
	json_array_begin(j);
	for (i = 0; i < 2; i++) {
		if (r->urls[i] != NULL)
			resultjson_url(j, r->urls[i]);
	}
	json_array_end(j);
	json_object_end(j);
}

/*
 * Open a target object with the members that name it: "target"
 * ("mailbox/profile"), "mailbox", "address", "profile". The document adds
 * its own members (the status file: state and counters), then
 * resultjson_target_end().
 */
void
resultjson_target_begin(struct json *j, const struct resultjson_target *t)
{
	char *name;

	json_object_begin(j);
	xasprintf(&name, "%s/%s", t->mailbox, t->profile);
	json_kv_string(j, "target", name);
	free(name);
	json_kv_string(j, "mailbox", t->mailbox);
	json_kv_string(j, "address", t->address);
	json_kv_string(j, "profile", t->profile);
}

/* End a target object with member "last_run": r, or null before the first. */
void
resultjson_target_end(struct json *j, const struct run_result *r)
{
	json_key(j, "last_run");
	if (r != NULL)
		resultjson_run(j, r);
	else
		json_nil(j);
	json_object_end(j);
}
