/*
 * Unit tests of resultjson: a run with every part (Autodiscover, Front End,
 * a URL with a presented certificate and timed steps) rendered as schema 1
 * — RFC 3339 UTC times, exact milliseconds, null for what is unknown, the
 * phone's error code only where phones log one — and the empty cases (no
 * run yet, no chain seen, no parts) still writing every listed member.
 * Documents are parsed back with jansson (helpers/jsoncheck.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "resultjson.h"
#include "xmalloc.h"

#include "helpers/jsoncheck.h"

/* 2030-01-02T03:04:05Z and 2026-12-06T00:59:30Z as Unix seconds. */
#define T_2030 1893553445
#define T_RUN 1796518770

/* Check that the value at path in doc is want (compact JSON). */
static void
want_at(const char *doc, const char *path, const char *want)
{
	char *got = jsoncheck_get(doc, strlen(doc), path);

	if (got == NULL)
		fail_msg("nothing at %s in %s", path, doc);
	if (strcmp(got, want) != 0)
		fail_msg("%s: %s, want %s", path, got, want);
	free(got);
}

/* Check that doc holds the exact text want (numbers as written). */
static void
want_text(const char *doc, const char *want)
{
	if (doc == NULL)
		fail_msg("no document");
	else if (strstr(doc, want) == NULL)
		fail_msg("no %s in %s", want, doc);
}

/* A URL result with a one-certificate chain that phones refuse. */
static struct urlcheck_result *
make_url(void)
{
	struct urlcheck_result *u = xcalloc(1, sizeof *u);
	struct chain_verdict *v = xcalloc(1, sizeof *v);
	struct certinfo *c;
	struct step *st;

	u->reason = REASON_CERT_UNTRUSTED_PHONE;
	u->url = xstrdup("https://cas.contoso.com/EWS/Exchange.asmx");
	u->role = xstrdup("internal");
	u->address = xstrdup("127.0.0.1:443");
	u->tls_version = xstrdup("TLSv1");
	u->http_status = 401;
	u->message = xstrdup("phones refuse it");
	u->duration_us = 1234567;
	u->timings = (struct step_timings){-1, 1000, 25500, 30001, 31000};
	step_list_init(&u->steps);
	st = step_add(&u->steps, STEP_TLS, 1, "TLS with %s", "cas");
	step_set(st, STEP_FAIL, "cert_untrusted_phone", "bad \xff byte");
	st->timings.total_us = 7;
	v->phone_trusted = 0;
	v->phone.trusted = 0;
	v->system_trusted = 1;
	v->system_reason = REASON_OK;
	v->system.trusted = 1;
	v->ncerts = 1;
	v->certs = c = xcalloc(1, sizeof *c);
	c->subject = xstrdup("CN=cas.contoso.com");
	c->issuer = xstrdup("CN=Issuing-CA for contoso, DC=contoso, DC=com");
	c->serial = xstrdup("0a");
	memset(c->sha256, 'a', 64);
	c->not_before = T_RUN;
	c->not_after = T_2030;
	strcpy(c->key, "RSA-2048");
	strcpy(c->sigalg, "sha256WithRSAEncryption");
	c->nsans = 1;
	c->sans = xcalloc(1, sizeof *c->sans);
	c->sans[0] = xstrdup("cas.contoso.com");
	u->verdict = v;
	return u;
}

/* A run with every part. */
static struct run_result *
make_run(void)
{
	struct run_result *r = xcalloc(1, sizeof *r);
	struct autodiscover_result *d = xcalloc(1, sizeof *d);
	struct frontend_result *fr = xcalloc(1, sizeof *fr);

	r->verdict = STATE_CRITICAL;
	r->reason = REASON_CERT_UNTRUSTED_PHONE;
	r->role = "internal";
	r->message = xstrdup("phones cannot use EWS");
	r->started = T_RUN;
	r->duration_us = 2000001;
	d->found = 1;
	d->source = xstrdup("https://autodiscover.contoso.com/x");
	d->hops = 1;
	d->nanswers = 1;
	d->answers = xcalloc(1, sizeof *d->answers);
	d->answers[0].source = xstrdup("https://autodiscover.contoso.com/x");
	step_list_init(&d->steps);
	fr->ok = 1;
	fr->issuer = xstrdup("CN=Issuing CA for contoso,com");
	step_list_init(&fr->steps);
	r->discovery = d;
	r->frontend = fr;
	r->urls[0] = make_url();
	return r;
}

/* Render a target of the given run as a document; caller frees. */
static char *
render(const struct run_result *r)
{
	const struct resultjson_target t = {"lab", "lab@contoso.com",
	    "lync-phone-edition"};
	struct json *j = json_new(0);
	char why[256], *doc;
	size_t len;

	resultjson_begin(j, "once");
	json_key(j, "targets");
	json_array_begin(j);
	resultjson_target_begin(j, &t);
	resultjson_target_end(j, r);
	json_array_end(j);
	json_object_end(j);
	doc = json_finish(j, &len);
	if (!jsoncheck_valid(doc, len, why, sizeof why))
		fail_msg("not JSON (%s): %s", why, doc);
	return doc;
}

/* Every part of a run, with the schema's types and units. */
static void
test_full_run(void **unused)
{
	struct run_result *r = make_run();
	char *doc = render(r);

	want_at(doc, "schema", "1");
	want_at(doc, "document", "\"once\"");
	want_at(doc, "targets/0/target", "\"lab/lync-phone-edition\"");
	want_at(doc, "targets/0/last_run/started", "\"2026-12-06T00:59:30Z\"");
	want_text(doc, "\"duration_ms\":2000.001");
	want_at(doc, "targets/0/last_run/verdict", "\"critical\"");
	want_at(doc, "targets/0/last_run/phone_error", "12045");
	want_at(doc, "targets/0/last_run/hresult", "\"0x80072F0D\"");
	want_at(doc, "targets/0/last_run/remedy", "null");
	want_at(doc, "targets/0/last_run/autodiscover/reason", "null");
	want_at(doc, "targets/0/last_run/autodiscover/answers/0/source",
	    "\"https://autodiscover.contoso.com/x\"");
	want_at(doc, "targets/0/last_run/autodiscover/steps", "[]");
	want_at(doc, "targets/0/last_run/frontend/learned", "true");
	want_at(doc, "targets/0/last_run/frontend/previous", "null");
	want_at(doc, "targets/0/last_run/urls/0/http_status", "401");
	want_at(doc, "targets/0/last_run/urls/0/risk", "null");
	want_at(doc, "targets/0/last_run/urls/0/phone_trusted", "false");
	want_at(doc, "targets/0/last_run/urls/0/system_trusted", "true");
	want_at(doc, "targets/0/last_run/urls/0/system_reason", "\"ok\"");
	want_text(doc, "\"duration_ms\":1234.567");
	want_text(doc,
	    "\"timings_ms\":{\"dns\":null,\"connect\":1.000,"
	    "\"tls\":25.500,\"first_byte\":30.001,\"total\":31.000}");
	want_at(doc, "targets/0/last_run/urls/0/certificates/0/not_after",
	    "\"2030-01-02T03:04:05Z\"");
	want_at(doc, "targets/0/last_run/urls/0/certificates/0/position", "0");
	want_at(doc, "targets/0/last_run/urls/0/certificates/0/names",
	    "[\"cas.contoso.com\"]");
	want_at(doc, "targets/0/last_run/urls/0/steps/0/kind", "\"tls\"");
	want_at(doc, "targets/0/last_run/urls/0/steps/0/result", "\"fail\"");
	want_at(doc, "targets/0/last_run/urls/0/steps/0/depth", "1");
	want_at(doc, "targets/0/last_run/urls/0/steps/0/http_status", "null");
	want_at(doc, "targets/0/last_run/urls/0/steps/0/detail",
	    "\"bad \xef\xbf\xbd byte\"");
	want_text(doc, "\"total\":0.007}");
	free(doc);
	run_result_free(r);
}

/* No run yet, or a run with no parts and a URL with no chain: every
 * listed member is there, null where nothing is known. */
static void
test_empty(void **unused)
{
	struct run_result *r = xcalloc(1, sizeof *r);
	struct urlcheck_result *u = xcalloc(1, sizeof *u);
	char *doc = render(NULL);

	want_at(doc, "targets/0/last_run", "null");
	want_at(doc, "targets/0/profile", "\"lync-phone-edition\"");
	free(doc);
	r->verdict = STATE_OK;
	r->duration_us = -1;
	u->role = xstrdup("external");
	u->url = xstrdup("https://mail.contoso.com/EWS/Exchange.asmx");
	u->risk = REASON_CERT_PHONE_RISK;
	u->timings = (struct step_timings){-1, -1, -1, -1, -1};
	step_list_init(&u->steps);
	r->urls[1] = u;
	doc = render(r);
	want_at(doc, "targets/0/last_run/started", "null");
	want_at(doc, "targets/0/last_run/duration_ms", "null");
	want_at(doc, "targets/0/last_run/phone_error", "null");
	want_at(doc, "targets/0/last_run/hresult", "null");
	want_at(doc, "targets/0/last_run/autodiscover", "null");
	want_at(doc, "targets/0/last_run/frontend", "null");
	want_at(doc, "targets/0/last_run/urls/0/role", "\"external\"");
	want_at(doc, "targets/0/last_run/urls/0/risk", "\"cert_phone_risk\"");
	want_at(doc, "targets/0/last_run/urls/0/http_status", "null");
	want_at(doc, "targets/0/last_run/urls/0/phone_trusted", "false");
	want_at(doc, "targets/0/last_run/urls/0/phone_chain_trusted", "null");
	want_at(doc, "targets/0/last_run/urls/0/system_trusted", "null");
	want_at(doc, "targets/0/last_run/urls/0/anchor", "null");
	want_at(doc, "targets/0/last_run/urls/0/certificates", "[]");
	want_at(doc, "targets/0/last_run/urls/0/steps", "[]");
	want_at(doc, "targets/0/last_run/urls/0/timings_ms/total", "null");
	free(doc);
	run_result_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_run),
	    cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
