/*
 * Unit tests of verdict: how a run's URL results and discovery become the
 * target's verdict, reason and words — every URL ok is ok; one URL failing
 * is a warning named by the failure; all failing is critical; a warning's
 * reason names its risk; a held-back sign-in is never "can use"; a failed
 * discovery with no URL is critical; an unknown Front End is unknown; a
 * walk that met one bad server of several is the warning of those servers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict.h"
#include "xmalloc.h"

static struct config_mailbox mbx = {
    .name = "alice",
    .address = "alice@contoso.com",
    .password = "secret",
};

/* A URL result with the given reason and its own message and remedy. */
static struct urlcheck_result *
url(const char *role, enum reason reason)
{
	struct urlcheck_result *u = xcalloc(1, sizeof *u);

	step_list_init(&u->steps);
	u->role = xstrdup(role);
	u->url = xstrdup("https://mail.contoso.com/EWS/Exchange.asmx");
	u->reason = reason;
	xasprintf(&u->message, "%s says %s", role, reason_name(reason));
	if (reason != REASON_OK)
		xasprintf(&u->remedy, "fix %s", role);
	return u;
}

/* A run result holding the two URL results (either may be NULL). */
static struct run_result *
result(struct urlcheck_result *in, struct urlcheck_result *ex)
{
	struct run_result *r = xcalloc(1, sizeof *r);

	r->urls[0] = in;
	r->urls[1] = ex;
	return r;
}

/* Both URLs ok: ok, reason ok, "phones can use Exchange". */
static void
test_all_ok(void **unused)
{
	struct run_result *r =
	    result(url("internal", REASON_OK), url("external", REASON_OK));

	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_OK);
	assert_int_equal(r->reason, REASON_OK);
	assert_null(r->role);
	assert_string_equal(r->message,
	    "phones can use Exchange for alice@contoso.com");
	assert_null(r->remedy);
	run_result_free(r);
}

/* One URL failing: a warning carrying that URL's reason and words. */
static void
test_one_failing(void **unused)
{
	struct run_result *r = result(url("internal", REASON_OK),
	    url("external", REASON_CERT_UNTRUSTED_PHONE));

	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_WARNING);
	assert_int_equal(r->reason, REASON_CERT_UNTRUSTED_PHONE);
	assert_string_equal(r->role, "external");
	assert_string_equal(r->message, "external says cert_untrusted_phone");
	assert_string_equal(r->remedy, "fix external");
	run_result_free(r);
}

/* Every URL failing: critical, named by the first failure. */
static void
test_all_failing(void **unused)
{
	struct run_result *r = result(url("internal", REASON_CERT_EXPIRED),
	    url("external", REASON_CERT_UNTRUSTED_PHONE));

	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_CRITICAL);
	assert_int_equal(r->reason, REASON_CERT_EXPIRED);
	assert_string_equal(r->role, "internal");
	run_result_free(r);
}

/* A risk only: a warning whose reason names the risk, never ok. */
static void
test_risk_names_reason(void **unused)
{
	struct run_result *r = result(url("internal", REASON_CERT_EXPIRING),
	    url("external", REASON_OK));

	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_WARNING);
	assert_int_equal(r->reason, REASON_CERT_EXPIRING);
	assert_string_equal(r->message, "internal says cert_expiring");
	run_result_free(r);
}

/* A sign-in held back outranks a certificate risk: never "can use". */
static void
test_signin_refused_outranks_risk(void **unused)
{
	struct urlcheck_result *in = url("internal", REASON_CERT_PHONE_RISK);
	struct urlcheck_result *ex = url("external", REASON_SIGNIN_NOT_ALLOWED);
	struct run_result *r;

	ex->signin_refused = 1;
	r = result(in, ex);
	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_WARNING);
	assert_int_equal(r->reason, REASON_SIGNIN_NOT_ALLOWED);
	assert_string_equal(r->role, "external");
	assert_null(strstr(r->message, "can use"));
	run_result_free(r);
}

/* No password: an ok run says the sign-in was not tested. */
static void
test_no_password(void **unused)
{
	struct config_mailbox m = mbx;
	struct run_result *r = result(url("internal", REASON_OK), NULL);

	m.password = NULL;
	verdict_run(r, &m);
	assert_int_equal(r->verdict, STATE_OK);
	assert_non_null(strstr(r->message, "(sign-in not tested)"));
	run_result_free(r);
}

/* An unknown Front End issuer: unknown, not critical. */
static void
test_frontend_unknown(void **unused)
{
	struct run_result *r = result(url("internal", REASON_FRONTEND_UNKNOWN),
	    url("external", REASON_FRONTEND_UNKNOWN));

	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_UNKNOWN);
	assert_int_equal(r->reason, REASON_FRONTEND_UNKNOWN);
	run_result_free(r);
}

/* Discovery failed and left no URL: critical with its reason and a fix. */
static void
test_discovery_failed(void **unused)
{
	struct run_result *r = result(NULL, NULL);

	r->discovery = xcalloc(1, sizeof *r->discovery);
	step_list_init(&r->discovery->steps);
	r->discovery->reason = REASON_AUTODISCOVER_UNREACHABLE;
	r->discovery->message = xstrdup("autodiscover found nothing");
	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_CRITICAL);
	assert_int_equal(r->reason, REASON_AUTODISCOVER_UNREACHABLE);
	assert_string_equal(r->message, "autodiscover found nothing");
	assert_non_null(strstr(r->remedy, "_autodiscover._tcp"));
	run_result_free(r);
}

/* A discovery PCs completed and phones did not (docs/discovery.md). */
static struct autodiscover_result *
pcs_only(void)
{
	struct autodiscover_result *d = xcalloc(1, sizeof *d);

	step_list_init(&d->steps);
	d->found = 1;
	d->phone_reason = REASON_AUTODISCOVER_TLS_REFUSED;
	d->phone_message = xstrdup("phones cannot discover Exchange");
	d->phone_remedy = xstrdup("enable TLS 1.0");
	return d;
}

/*
 * Only PCs find EWS: critical for the discovery reason even though EWS
 * works at their URLs; the words say both, the role is none.
 */
static void
test_discovery_phones_only_fail(void **unused)
{
	struct run_result *r =
	    result(url("internal", REASON_OK), url("external", REASON_OK));

	r->discovery = pcs_only();
	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_CRITICAL);
	assert_int_equal(r->reason, REASON_AUTODISCOVER_TLS_REFUSED);
	assert_null(r->role);
	assert_string_equal(r->message,
	    "phones cannot discover Exchange. EWS there would work for "
	    "phones once they learn its URLs");
	assert_string_equal(r->remedy, "enable TLS 1.0");
	run_result_free(r);

	/* EWS failing there too: both problems, both fixes. */
	r = result(url("internal", REASON_CERT_EXPIRED), NULL);
	r->discovery = pcs_only();
	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_CRITICAL);
	assert_int_equal(r->reason, REASON_AUTODISCOVER_TLS_REFUSED);
	assert_string_equal(r->message,
	    "phones cannot discover Exchange. EWS there, on its own: "
	    "internal says cert_expired");
	assert_string_equal(r->remedy,
	    "enable TLS 1.0; then, for EWS: fix internal");
	run_result_free(r);

	/* Phones found the URLs: EWS decides alone. */
	r = result(url("internal", REASON_OK), NULL);
	r->discovery = pcs_only();
	r->discovery->phone_found = 1;
	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_OK);
	run_result_free(r);
}

#define AD_URL "https://autodiscover.contoso.com/autodiscover/autodiscover.svc"

/*
 * The servers of an Autodiscover host checked (adaddrs): nfailed of
 * naddrs fail phones; url is the candidate checked.
 */
static struct adaddrs_result *
daddrs(const char *url, size_t naddrs, size_t nfailed)
{
	struct adaddrs_result *a = xcalloc(1, sizeof *a);

	step_list_init(&a->steps);
	a->url = xstrdup(url);
	a->host = xstrdup("autodiscover.contoso.com");
	a->naddrs = a->nresolved = naddrs;
	a->nfailed = nfailed;
	a->reason = nfailed == 0 ? REASON_OK
	    : nfailed < naddrs   ? REASON_CERT_UNTRUSTED_PHONE_SOME
	                         : REASON_CERT_UNTRUSTED_PHONE;
	if (nfailed > 0) {
		a->message =
		    xstrdup("1 of 3 addresses fail; the other 2 work.");
		a->remedy = xstrdup("fix the server at 127.0.2.5");
	}
	return a;
}

/*
 * Phones' walk stopped at a host of which only some servers fail them
 * (DNS put a bad one first): the same warning as when the walk meets a
 * good one first, saying the walk stopped; every server failing, or
 * another host checked, stays the critical discovery failure.
 */
static void
test_discovery_walk_met_bad(void **unused)
{
	struct run_result *r =
	    result(url("internal", REASON_OK), url("external", REASON_OK));

	r->discovery = pcs_only();
	r->discovery->phone_url = xstrdup(AD_URL);
	r->discovery->source = xstrdup(AD_URL);
	r->discovery_addrs = daddrs(AD_URL, 3, 1);
	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_WARNING);
	assert_int_equal(r->reason, REASON_CERT_UNTRUSTED_PHONE_SOME);
	assert_null(r->role);
	assert_string_equal(r->message,
	    "1 of 3 addresses fail; the other 2 work: phones that resolve it "
	    "to those discover EWS. This run's walk as a phone met a bad "
	    "server there and stopped (autodiscover_tls_refused), as those "
	    "phones do; EWS is checked at the URLs PCs found");
	assert_string_equal(r->remedy, "fix the server at 127.0.2.5");
	run_result_free(r);

	/* The same finding when the walk met a good server first. */
	r = result(url("internal", REASON_OK), url("external", REASON_OK));
	r->discovery = pcs_only();
	r->discovery->phone_found = 1;
	r->discovery_addrs = daddrs(AD_URL, 3, 1);
	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_WARNING);
	assert_int_equal(r->reason, REASON_CERT_UNTRUSTED_PHONE_SOME);
	run_result_free(r);

	/* EWS failing too: its verdict and reason, discovery in words. */
	r = result(url("internal", REASON_CERT_EXPIRED), NULL);
	r->discovery = pcs_only();
	r->discovery->phone_url = xstrdup(AD_URL);
	r->discovery->source = xstrdup(AD_URL);
	r->discovery_addrs = daddrs(AD_URL, 3, 1);
	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_CRITICAL);
	assert_int_equal(r->reason, REASON_CERT_EXPIRED);
	assert_non_null(strstr(r->message, "Discovery too: 1 of 3"));
	assert_string_equal(r->remedy,
	    "fix internal; then, for discovery: fix the server at 127.0.2.5");
	run_result_free(r);

	/* Every server fails: the walk's failure, critical. */
	r = result(url("internal", REASON_OK), NULL);
	r->discovery = pcs_only();
	r->discovery->phone_url = xstrdup(AD_URL);
	r->discovery_addrs = daddrs(AD_URL, 3, 3);
	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_CRITICAL);
	assert_int_equal(r->reason, REASON_AUTODISCOVER_TLS_REFUSED);
	assert_null(strstr(r->message, "Discovery too"));
	run_result_free(r);

	/*
	 * PCs found the URLs only after a redirect to another host (which
	 * phones on a good server would meet, and may refuse): the walk's
	 * failure stays critical.
	 */
	r = result(url("internal", REASON_OK), NULL);
	r->discovery = pcs_only();
	r->discovery->phone_url = xstrdup(AD_URL);
	r->discovery->source =
	    xstrdup("https://mail.contoso.com/autodiscover/autodiscover.xml");
	r->discovery_addrs = daddrs(AD_URL, 3, 1);
	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_CRITICAL);
	assert_int_equal(r->reason, REASON_AUTODISCOVER_TLS_REFUSED);
	run_result_free(r);

	/* Another host's servers say nothing of where phones stopped. */
	r = result(url("internal", REASON_OK), NULL);
	r->discovery = pcs_only();
	r->discovery->phone_url = xstrdup("https://contoso.com/x");
	r->discovery_addrs = daddrs(AD_URL, 3, 1);
	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_CRITICAL);
	assert_int_equal(r->reason, REASON_AUTODISCOVER_TLS_REFUSED);
	run_result_free(r);
}

/* No URL and no discovery to blame: unknown, naming the mailbox. */
static void
test_no_url(void **unused)
{
	struct run_result *r = result(NULL, NULL);

	verdict_run(r, &mbx);
	assert_int_equal(r->verdict, STATE_UNKNOWN);
	assert_int_equal(r->reason, REASON_AUTODISCOVER_NO_EWS_URL);
	assert_non_null(strstr(r->message, "alice"));
	run_result_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_ok),
	    cmocka_unit_test(test_one_failing),
	    cmocka_unit_test(test_all_failing),
	    cmocka_unit_test(test_risk_names_reason),
	    cmocka_unit_test(test_signin_refused_outranks_risk),
	    cmocka_unit_test(test_no_password),
	    cmocka_unit_test(test_frontend_unknown),
	    cmocka_unit_test(test_discovery_failed),
	    cmocka_unit_test(test_discovery_phones_only_fail),
	    cmocka_unit_test(test_discovery_walk_met_bad),
	    cmocka_unit_test(test_no_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
