/*
 * Unit tests of phonelook: the phone's view of one address, against real
 * servers on loopback started here (tests/unit/helpers/tls-servers.h) —
 * GnuTLS with the phone's RC4/3DES suites, openssl s_server limited to
 * AES, to ECDHE, and choosing its certificate by SNI — and a port nobody
 * listens on: the suite, the verdict on the presented chain under the
 * phone set, the reason and phone code, and the words and remedy.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>

#include "chain.h"
#include "config.h"
#include "hello.h"
#include "loop.h"
#include "phonelook.h"
#include "trustset.h"
#include "helpers/hello-pki.h"
#include "helpers/run-loop.h"
#include "helpers/tls-servers.h"

#define GNUTLS_OLD "NORMAL:+3DES-CBC:+ARCFOUR-128:+VERS-TLS1.0:+RSA"
#define HOST "ews.hello.test"

static struct hello_pki pki;
static X509 *other; /* the default certificate of the SNI server */
static char dir[] = "/tmp/test-phonelook-XXXXXX";
static char ca_path[600];
static struct config_profile profile;
static struct trustset *phone;

static int
setup(void **state)
{
	char path[512], *err = NULL;
	FILE *fp;

	hello_pki_make(&pki, HOST);
	other = hello_pki_cert("default.hello.test", pki.key, pki.ca,
	    pki.ca_key, 0, 3);
	if (mkdtemp(dir) == NULL)
		return -1;
	assert_int_equal(hello_pki_write(dir, "chain.pem", pki.cert, pki.ca),
	    0);
	assert_int_equal(hello_pki_write(dir, "default.pem", other, pki.ca), 0);
	assert_int_equal(hello_pki_write(dir, "ca.pem", pki.ca, NULL), 0);
	snprintf(path, sizeof path, "%s/key.pem", dir);
	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	PEM_write_PrivateKey(fp, pki.key, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	snprintf(ca_path, sizeof ca_path, "%s/ca.pem", dir);
	profile.name = "lync-phone-edition";
	profile.builtin = 1;
	profile.frontend_ca_file = ca_path;
	profile.hello_enabled = 1;
	hello_spec_phone(&profile.hello);
	if ((phone = trustset_new_phone(&profile, &err)) == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	loop_init();
	return 0;
}

static int
teardown(void **state)
{
	char path[512];
	const char *f[] = {"chain.pem", "default.pem", "key.pem", "ca.pem"};
	size_t i;

	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, f[i]);
		unlink(path);
	}
	rmdir(dir);
	trustset_free(phone);
	loop_free();
	X509_free(other);
	hello_pki_free(&pki);
	return 0;
}

/* The callback: keep the result, stop the loop. */
static void
done_cb(struct phonelook_result *r, void *arg)
{
	struct phonelook_result **out = arg;

	assert_null(*out);
	*out = r;
	loop_exit();
}

/* The phone's view of 127.0.0.1:port; the loop runs 20 s at most. */
static struct phonelook_result *
look(int port)
{
	struct sockaddr_in sin = tls_loopback(port);
	struct phonelook_params p = {
	    .host = HOST,
	    .port = port,
	    .sa = (struct sockaddr *)&sin,
	    .salen = sizeof sin,
	    .profile = &profile,
	    .phone = phone,
	    .timeout_ms = 10000,
	};
	struct phonelook_result *r = NULL;

	assert_non_null(phonelook_start(&p, done_cb, &r));
	assert_int_equal(run_loop(30000), 0);
	assert_non_null(r);
	return r;
}

/* The chain a client with SNI gets (the right one), judged. */
static struct chain_verdict *
sni_verdict(void)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	struct chain_verdict *v;

	sk_X509_push(sk, pki.cert);
	sk_X509_push(sk, pki.ca);
	v = chain_evaluate(phone, NULL, sk, HOST, time(NULL), 0);
	sk_X509_free(sk);
	return v;
}

/* A server with the old suites serves the phone RC4 or 3DES: ok. */
static void
test_old_suites(void **state)
{
	int port = tls_free_port();
	pid_t pid = tls_gnutls(dir, port, GNUTLS_OLD);
	struct phonelook_result *r = look(port);
	char *msg, *fix, *sum;

	assert_int_equal(r->reason, REASON_OK);
	assert_int_equal(r->end, HELLORUN_ANSWERED);
	assert_false(r->sent_sni);
	assert_int_equal(r->version, HELLO_TLS1_0);
	assert_true(r->suite == 0x0005 || r->suite == 0x000a);
	assert_false(r->suite_uncertain);
	assert_int_equal(r->core_accepted, -1);
	assert_false(r->uncertain_only);
	assert_non_null(r->verdict);
	assert_true(r->verdict->phone_trusted);
	assert_string_equal(r->verdict->certs[0].subject, "CN=" HOST);
	assert_int_equal(phonelook_explain(r, phone, "head", NULL, &msg, &fix),
	    REASON_OK);
	assert_null(msg);
	assert_null(fix);
	sum = phonelook_summary(r);
	assert_non_null(strstr(sum, "TLSv1, TLS_RSA_WITH_"));
	assert_non_null(strstr(sum, "certificate 'CN=" HOST "'"));
	free(sum);
	phonelook_result_free(r);
	tls_reap(pid);
}

/*
 * AES only: the phone's hello gets an uncertain suite, the core-only
 * hello is refused; informational by default, a warning if the profile
 * says so.
 */
static void
test_aes_only(void **state)
{
	int port = tls_free_port();
	pid_t pid = tls_s_server(dir, port, "AES128-SHA:@SECLEVEL=0", NULL);
	struct phonelook_result *r = look(port);
	char *msg, *fix;

	assert_int_equal(r->reason, REASON_OK);
	assert_int_equal(r->suite, 0x002f);
	assert_true(r->suite_uncertain);
	assert_int_equal(r->core_accepted, 0);
	assert_true(r->uncertain_only);
	assert_false(phonelook_failed(r));
	assert_int_equal(phonelook_explain(r, phone, "head", NULL, &msg, &fix),
	    REASON_OK);
	phonelook_result_free(r);

	profile.hello_uncertain_warn = 1;
	r = look(port);
	profile.hello_uncertain_warn = 0;
	assert_int_equal(r->reason, REASON_TLS_SUITE_RISK);
	assert_false(phonelook_failed(r));
	assert_int_equal(phonelook_explain(r, phone, "head", NULL, &msg, &fix),
	    REASON_TLS_SUITE_RISK);
	assert_non_null(strstr(msg,
	    "accepts only TLS_RSA_WITH_AES_128_CBC_SHA, which no source shows "
	    "phones offering"));
	assert_non_null(strstr(fix, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"));
	free(msg);
	free(fix);
	phonelook_result_free(r);
	tls_reap(pid);
}

/* ECDHE only: no suite in common, 12157, no certificate. */
static void
test_ecdhe_only(void **state)
{
	int port = tls_free_port();
	pid_t pid =
	    tls_s_server(dir, port, "ECDHE-RSA-AES128-SHA:@SECLEVEL=0", NULL);
	struct phonelook_result *r = look(port);
	char *msg, *fix;

	assert_int_equal(r->reason, REASON_TLS_NO_COMMON_SUITE);
	assert_int_equal(reason_wininet(r->reason), 12157);
	assert_true(phonelook_failed(r));
	assert_int_equal(r->suite, 0);
	assert_int_equal(r->alert, 40);
	assert_null(r->verdict);
	assert_int_equal(phonelook_explain(r, phone, "phones cannot use X",
	                     NULL, &msg, &fix),
	    REASON_TLS_NO_COMMON_SUITE);
	assert_non_null(strstr(msg,
	    "phones cannot use X: " HOST " accepts none of the phones' cipher "
	    "suites"));
	assert_non_null(strstr(msg, "errorCode=12157 (0x80072F7D)"));
	assert_non_null(strstr(fix, "RSA certificate"));
	free(msg);
	free(fix);
	phonelook_result_free(r);
	tls_reap(pid);
}

/*
 * A server choosing its certificate by SNI: the phone (no SNI) gets the
 * default one; against the right certificate a client with SNI gets, the
 * words say so and how to fix it.
 */
static void
test_sni_default(void **state)
{
	int port = tls_free_port();
	pid_t pid = tls_s_server(dir, port, "AES128-SHA:@SECLEVEL=0", HOST);
	struct phonelook_result *r = look(port);
	struct chain_verdict *pc = sni_verdict();
	char *msg, *fix;

	assert_false(r->sent_sni);
	assert_non_null(r->verdict);
	assert_string_equal(r->verdict->certs[0].subject,
	    "CN=default.hello.test");
	assert_int_equal(r->reason, REASON_CERT_NAME_MISMATCH);
	assert_false(phonelook_same_leaf(r, pc));
	assert_int_equal(phonelook_explain(r, phone, "phones cannot use X", pc,
	                     &msg, &fix),
	    REASON_CERT_NAME_MISMATCH);
	assert_non_null(strstr(msg,
	    "phones cannot use X: without SNI, " HOST
	    " answers with 'CN=default.hello.test' (its default binding), "
	    "not 'CN=" HOST "' as with SNI; phones that send no SNI fail"));
	assert_non_null(strstr(fix,
	    "serve the right certificate to clients without SNI (IIS: a "
	    "binding with 'Require Server Name Indication' off"));
	free(msg);
	free(fix);
	phonelook_result_free(r);
	chain_verdict_free(pc);
	tls_reap(pid);
}

/* Nobody listens: connect_failed, and the summary says why. */
static void
test_connect_failed(void **state)
{
	struct phonelook_result *r = look(tls_free_port());
	char *sum = phonelook_summary(r);

	assert_int_equal(r->reason, REASON_CONNECT_FAILED);
	assert_int_equal(r->end, HELLORUN_CONNECT_FAILED);
	assert_non_null(strstr(sum, "connect_failed: Connection refused"));
	free(sum);
	phonelook_result_free(r);
}

/* Cancelled at once: the refused connect is never delivered. */
static void
test_cancel(void **state)
{
	int port = tls_free_port();
	struct sockaddr_in sin = tls_loopback(port);
	struct phonelook_params p = {
	    .host = HOST,
	    .port = port,
	    .sa = (struct sockaddr *)&sin,
	    .salen = sizeof sin,
	    .profile = &profile,
	    .phone = phone,
	    .timeout_ms = 10000,
	};
	struct phonelook_result *r = NULL;
	struct phonelook *pl = phonelook_start(&p, done_cb, &r);

	phonelook_cancel(pl);
	/* The watchdog ends the loop: nothing else is left to run. */
	assert_int_equal(run_loop(500), 1);
	assert_null(r);
}

/* Text addresses become sockaddrs; anything else is refused. */
static void
test_sockaddr(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;

	assert_int_equal(phonelook_sockaddr("127.0.0.1", 443, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 443);
	assert_int_equal(phonelook_sockaddr("::1", 8443, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(phonelook_sockaddr("ews.contoso.com", 443, &ss, &len),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_old_suites),
	    cmocka_unit_test(test_aes_only),
	    cmocka_unit_test(test_ecdhe_only),
	    cmocka_unit_test(test_sni_default),
	    cmocka_unit_test(test_connect_failed),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_sockaddr),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
