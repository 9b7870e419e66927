/*
 * Unit tests of trust: verdicts of presented chains under the phone and
 * system sets, Front End issuer learning, findings and explanations. The
 * certificates come from the lab's PKI (tests/lab/pki.py, run by
 * tests/unit/trust-pki.py into a temporary directory): the incident's two
 * near-identical CAs, a look-alike CA with exactly the FE CA's DN, and
 * every variant. Time is the "now" parameter; nothing sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/pem.h>

#include "config.h"
#include "trust.h"

#define MAKER TEST_DATA_DIR "/../unit/trust-pki.py"

static char dir[64];
static char index_lines[64][256];
static int nindex;
static struct trust_set *sys_set;

/* Make the PKI and read its index. */
static int
setup(void **unused)
{
	char cmd[256], path[128];
	FILE *fp;

	strcpy(dir, "/tmp/test-trust-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", MAKER, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof path, "%s/index", dir);
	fp = fopen(path, "r");
	assert_non_null(fp);
	while (nindex < 64 && fgets(index_lines[nindex], 256, fp) != NULL) {
		index_lines[nindex][strcspn(index_lines[nindex], "\n")] = '\0';
		nindex++;
	}
	fclose(fp);
	return 0;
}

/* Remove the PKI. */
static int
teardown(void **unused)
{
	char cmd[128];

	trust_set_free(sys_set);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The path the index gives for name. */
static const char *
path_of(const char *name)
{
	size_t n = strlen(name);
	int i;

	for (i = 0; i < nindex; i++) {
		if (strncmp(index_lines[i], name, n) == 0 &&
		    index_lines[i][n] == ' ')
			return index_lines[i] + n + 1;
	}
	fail_msg("no %s in the index", name);
	return NULL;
}

/* Read a chain file (leaf first) into a stack. */
static STACK_OF(X509) * chain_of(const char *name)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	FILE *fp = fopen(path_of(name), "r");
	X509 *x;

	assert_non_null(fp);
	while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	fclose(fp);
	assert_true(sk_X509_num(sk) > 0);
	return sk;
}

/* The system set (PC trust: the three roots). */
static const struct trust_set *
system_set(void)
{
	char *cause = NULL;

	if (sys_set == NULL)
		sys_set = trust_set_new_system(path_of("system-store"), &cause);
	assert_non_null(sys_set);
	return sys_set;
}

/* A phone set that learned its FE issuer from the fe-pool chain. */
static struct trust_set *
phone_set(const char *web_trusted)
{
	struct config_profile p;
	struct trust_set *set;
	STACK_OF(X509) * fe;
	char *cause = NULL, *items[1];
	int changed = -1;

	memset(&p, 0, sizeof p);
	if (web_trusted != NULL) {
		items[0] = (char *)path_of(web_trusted);
		p.web_trusted.items = items;
		p.web_trusted.n = 1;
	}
	set = trust_set_new_phone(&p, &cause);
	assert_non_null(set);
	fe = chain_of("fe-pool");
	assert_int_equal(trust_set_learn_frontend(set, fe, &changed, &cause),
	    0);
	assert_int_equal(changed, 0);
	sk_X509_pop_free(fe, X509_free);
	return set;
}

/* Evaluate a named chain for casarray.contoso.com now. */
static struct trust_verdict *
judge(const struct trust_set *phone, const char *name, unsigned int warn)
{
	STACK_OF(X509) *sk = chain_of(name);
	struct trust_verdict *v;

	v = trust_evaluate(phone, system_set(), sk, "casarray.contoso.com",
	    time(NULL), warn);
	sk_X509_pop_free(sk, X509_free);
	return v;
}

/* The incident: phones reject, PCs trust, 12045, both CAs named. */
static void
test_incident(void **unused)
{
	struct trust_set *phone = phone_set(NULL);
	struct trust_verdict *v = judge(phone, "incident", 30);
	char *msg, *fix;

	assert_int_equal(v->reason, REASON_CERT_UNTRUSTED_PHONE);
	assert_false(v->phone_trusted);
	assert_int_equal(v->system_trusted, 1);
	assert_null(v->anchor);
	assert_int_equal(reason_wininet(v->reason), 12045);
	assert_int_equal(reason_hresult(v->reason), 0x80072F0D);
	assert_string_equal(trust_set_frontend_issuer(phone),
	    "CN=Issuing CA for contoso,com");
	/* The chain is kept even though verification failed. */
	assert_int_equal(v->ncerts, 2);
	assert_string_equal(v->certs[0].subject, "CN=casarray.contoso.com");
	assert_string_equal(v->certs[0].issuer,
	    "CN=Issuing-CA for contoso, DC=contoso, DC=com");
	assert_int_equal(strlen(v->certs[0].sha256), 64);
	assert_string_equal(v->certs[0].sans, "casarray.contoso.com");
	assert_string_equal(v->certs[0].key, "RSA-2048");
	assert_string_equal(v->certs[0].sigalg, "sha256WithRSAEncryption");
	assert_true(v->certs[0].not_after > time(NULL));
	assert_true(v->certs[1].is_ca);

	trust_explain(v, phone,
	    "https://casarray.contoso.com/EWS/Exchange.asmx", "internal", &msg,
	    &fix);
	assert_string_equal(msg,
	    "phones cannot use EWS at "
	    "https://casarray.contoso.com/EWS/Exchange.asmx (internal): its "
	    "certificate was issued by 'CN=Issuing-CA for contoso, "
	    "DC=contoso, DC=com', which phones do not trust (they trust "
	    "'CN=Issuing CA for contoso,com', issuer of the Lync pool "
	    "certificate, and 0 web-trusted CAs); PCs do trust it. Phones log "
	    "errorCode=12045 (0x80072F0D).");
	assert_string_equal(fix,
	    "reissue the certificate from 'CN=Issuing CA for contoso,com', or "
	    "publish its CA with New-CsWebTrustedCACertificate.");
	free(msg);
	free(fix);
	trust_verdict_free(v);
	trust_set_free(phone);
}

/* Reissued from the FE's CA, or its CA web-trusted: phones trust it. */
static void
test_fixed(void **unused)
{
	struct trust_set *phone = phone_set(NULL);
	struct trust_verdict *v = judge(phone, "reissued", 30);

	assert_int_equal(v->reason, REASON_OK);
	assert_string_equal(v->anchor, "CN=Issuing CA for contoso,com");
	assert_int_equal(v->findings, 0);
	trust_verdict_free(v);
	trust_set_free(phone);

	phone = phone_set("ca-cas");
	assert_int_equal(trust_set_count(phone, TRUST_SOURCE_WEB_TRUSTED), 1);
	v = judge(phone, "incident", 30);
	assert_int_equal(v->reason, REASON_OK);
	assert_string_equal(v->anchor,
	    "CN=Issuing-CA for contoso, DC=contoso, DC=com");
	trust_verdict_free(v);
	trust_set_free(phone);
}

/* Same DN, other key: anchors match by certificate, never by name. */
static void
test_lookalike(void **unused)
{
	struct trust_set *phone = phone_set(NULL);
	struct trust_verdict *v = judge(phone, "lookalike", 30);

	assert_string_equal(v->certs[0].issuer,
	    "CN=Issuing CA for contoso,com");
	assert_int_equal(v->reason, REASON_CERT_UNTRUSTED);
	assert_int_equal(v->system_trusted, 0);
	trust_verdict_free(v);
	trust_set_free(phone);
}

/* A renewed FE certificate from the other CA moves the phones' trust. */
static void
test_frontend_changed(void **unused)
{
	struct trust_set *phone = phone_set(NULL);
	STACK_OF(X509) *renewed = chain_of("fe-pool-renewed");
	struct trust_verdict *v;
	char *cause = NULL;
	int changed = 0;

	assert_int_equal(trust_set_learn_frontend(phone, renewed, &changed,
	                     &cause),
	    0);
	assert_int_equal(changed, 1);
	assert_string_equal(trust_set_frontend_issuer(phone),
	    "CN=Issuing-CA for contoso, DC=contoso, DC=com");
	assert_int_equal(trust_set_count(phone, TRUST_SOURCE_FRONTEND), 1);
	/* Now the incident's chain is trusted and the reissued one not. */
	v = judge(phone, "incident", 30);
	assert_int_equal(v->reason, REASON_OK);
	trust_verdict_free(v);
	v = judge(phone, "reissued", 30);
	assert_int_equal(v->reason, REASON_CERT_UNTRUSTED_PHONE);
	trust_verdict_free(v);
	/* Learning the same issuer again is no change. */
	assert_int_equal(trust_set_learn_frontend(phone, renewed, &changed,
	                     &cause),
	    0);
	assert_int_equal(changed, 0);
	sk_X509_pop_free(renewed, X509_free);
	trust_set_free(phone);
}

/* Dates and names: 12037 and 12038, with their messages. */
static void
test_dates_and_names(void **unused)
{
	struct trust_set *phone = phone_set(NULL);
	struct trust_verdict *v;
	char *msg, *fix;

	v = judge(phone, "expired", 30);
	assert_int_equal(v->reason, REASON_CERT_EXPIRED);
	assert_int_equal(reason_wininet(v->reason), 12037);
	trust_explain(v, phone, "https://x/EWS/Exchange.asmx", "internal", &msg,
	    &fix);
	assert_non_null(strstr(msg, "expired on"));
	assert_non_null(strstr(msg, "errorCode=12037 (0x80072F05)"));
	free(msg);
	free(fix);
	trust_verdict_free(v);

	v = judge(phone, "not-yet-valid", 30);
	assert_int_equal(v->reason, REASON_CERT_NOT_YET_VALID);
	trust_verdict_free(v);

	v = judge(phone, "wrong-name", 30);
	assert_int_equal(v->reason, REASON_CERT_NAME_MISMATCH);
	assert_int_equal(reason_wininet(v->reason), 12038);
	trust_explain(v, phone, "https://x/EWS/Exchange.asmx", "external", &msg,
	    &fix);
	assert_non_null(strstr(msg, "(names: owa.contoso.com)"));
	free(msg);
	free(fix);
	trust_verdict_free(v);
	trust_set_free(phone);
}

/* Findings: warnings that do not fail the chain. */
static void
test_findings(void **unused)
{
	struct trust_set *phone = phone_set(NULL);
	struct trust_verdict *v;
	static const struct {
		const char *name;
		unsigned int finding;
	} cases[] = {
	    {"wildcard", TRUST_FINDING_WILDCARD},
	    {"sha384", TRUST_FINDING_SHA384_512},
	    {"rsa4096", TRUST_FINDING_LARGE_KEY},
	    {"ecdsa", TRUST_FINDING_ECDSA},
	    {"extra-intermediate", TRUST_FINDING_EXTRA_INTERMEDIATES},
	    {"root-sent", TRUST_FINDING_ROOT_SENT},
	    {"expiring", TRUST_FINDING_EXPIRING},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		v = judge(phone, cases[i].name, 30);
		if (v->reason != REASON_OK ||
		    (v->findings & cases[i].finding) == 0)
			fail_msg("%s: reason %s findings %#x (%s)",
			    cases[i].name, reason_name(v->reason), v->findings,
			    v->findings_text ? v->findings_text : "-");
		assert_non_null(v->findings_text);
		trust_verdict_free(v);
	}
	/* With a warn window of 0 days "expiring" is no finding. */
	v = judge(phone, "expiring", 0);
	assert_int_equal(v->findings & TRUST_FINDING_EXPIRING, 0);
	trust_verdict_free(v);
	trust_set_free(phone);
}

/* A missing intermediate is never fetched: only the root is trusted. */
static void
test_missing_intermediate(void **unused)
{
	struct config_profile p;
	struct trust_set *phone;
	struct trust_verdict *v;
	char *cause = NULL;

	memset(&p, 0, sizeof p);
	p.public_roots_file = (char *)path_of("ca-fe-root");
	phone = trust_set_new_phone(&p, &cause);
	assert_non_null(phone);
	v = judge(phone, "reissued", 30);
	assert_int_equal(v->reason, REASON_OK);
	trust_verdict_free(v);
	v = judge(phone, "missing-intermediate", 30);
	assert_int_equal(v->ncerts, 1);
	assert_int_equal(v->reason, REASON_CERT_UNTRUSTED);
	trust_verdict_free(v);
	trust_set_free(phone);
}

/* No anchors at all: the phone profile cannot judge. */
static void
test_no_anchor(void **unused)
{
	struct config_profile p;
	struct trust_set *phone;
	struct trust_verdict *v;
	char *cause = NULL, *msg, *fix;

	memset(&p, 0, sizeof p);
	phone = trust_set_new_phone(&p, &cause);
	v = judge(phone, "reissued", 30);
	assert_int_equal(v->reason, REASON_FRONTEND_UNKNOWN);
	trust_explain(v, phone, "https://x/", "internal", &msg, &fix);
	assert_non_null(strstr(fix, "frontend"));
	free(msg);
	free(fix);
	trust_verdict_free(v);
	trust_set_free(phone);
	/* An unreadable file is a load error with a cause. */
	p.public_roots_file = (char *)"/nonexistent/roots.pem";
	assert_null(trust_set_new_phone(&p, &cause));
	assert_non_null(strstr(cause, "/nonexistent/roots.pem"));
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_incident),
	    cmocka_unit_test(test_fixed),
	    cmocka_unit_test(test_lookalike),
	    cmocka_unit_test(test_frontend_changed),
	    cmocka_unit_test(test_dates_and_names),
	    cmocka_unit_test(test_findings),
	    cmocka_unit_test(test_missing_intermediate),
	    cmocka_unit_test(test_no_anchor),
	};

	return cmocka_run_group_tests_name("trust", tests, setup, teardown);
}
