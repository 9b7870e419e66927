/*
 * Unit tests of addrset: the addresses of one EWS name judged together —
 * which ones failed, the words of a name whose addresses disagree
 * (counted, named, the phone's code, the servers to fix), the IPv6 rule,
 * and the step tree collapsed when the addresses agree.
 */
#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addrset.h"
#include "xmalloc.h"

#define HOST "casarray.contoso.com"
#define URL "https://" HOST "/EWS/Exchange.asmx"

/* A result of one address: reason, what went wrong, remedy, one step. */
static struct addrcheck_result *
result(const char *addr, enum reason reason, const char *what,
    const char *remedy, int unreachable)
{
	struct addrcheck_result *r = xcalloc(1, sizeof *r);
	struct step *st;

	r->address = xstrdup(addr);
	r->family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	r->reason = reason;
	r->what = what != NULL ? xstrdup(what) : NULL;
	r->remedy = remedy != NULL ? xstrdup(remedy) : NULL;
	r->unreachable = unreachable;
	r->http_status = reason == REASON_OK ? 401 : 0;
	step_list_init(&r->steps);
	st = step_add(&r->steps, STEP_HTTP, 1, "POST %s", URL);
	step_set(st, reason == REASON_OK ? STEP_OK : STEP_FAIL, NULL, "x");
	return r;
}

/* A set over n results. */
static struct addrset
set_of(struct addrcheck_result **a, size_t n)
{
	struct addrset s = {a, n, URL, "internal", HOST};

	return s;
}

/* Free n results. */
static void
free_all(struct addrcheck_result **a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		addrcheck_result_free(a[i]);
}

/* The failed and the working addresses, joined in order, counted. */
static void
test_join(void **unused)
{
	struct addrcheck_result *a[3] = {
	    result("10.0.0.11", REASON_OK, NULL, NULL, 0),
	    result("10.0.0.12", REASON_CERT_UNTRUSTED_PHONE, "w", NULL, 0),
	    result("10.0.0.13", REASON_CERT_PHONE_RISK, NULL, NULL, 0),
	};
	struct addrset s = set_of(a, 3);
	size_t n;
	char *t;

	t = addrset_join(&s, 1, &n);
	assert_string_equal(t, "10.0.0.12");
	assert_int_equal(n, 1);
	free(t);
	/* A warning is no failure: phones work there. */
	t = addrset_join(&s, 0, &n);
	assert_string_equal(t, "10.0.0.11, 10.0.0.13");
	assert_int_equal(n, 2);
	free(t);
	free_all(a, 3);
}

/* One node of three with the other CA: the sentence. */
static void
test_mixed_cert(void **unused)
{
	struct addrcheck_result *a[3] = {
	    result("10.0.0.11", REASON_OK, NULL, NULL, 0),
	    result("10.0.0.12", REASON_CERT_UNTRUSTED_PHONE, "w", "reissue it",
	        0),
	    result("10.0.0.13", REASON_OK, NULL, NULL, 0),
	};
	struct addrset s = set_of(a, 3);
	char *msg, *fix;

	assert_int_equal(addrset_mixed(&s, "CN=Other CA", &msg, &fix),
	    REASON_CERT_UNTRUSTED_PHONE_SOME);
	assert_non_null(strstr(msg,
	    "phones cannot use EWS at " URL " (internal) through every "
	    "server: 1 of 3 addresses of " HOST " (10.0.0.12) serves a "
	    "certificate issued by 'CN=Other CA', which phones do not trust; "
	    "phones that connect there log errorCode=12045 (0x80072F0D); the "
	    "other 2 (10.0.0.11, 10.0.0.13) work."));
	assert_string_equal(fix,
	    "fix the server behind " HOST " at 10.0.0.12 (10.0.0.11, "
	    "10.0.0.13 are fine): reissue it");
	free(msg);
	free(fix);
	free_all(a, 3);
}

/* The Autodiscover host's words: the lead replaces the EWS opening. */
static void
test_mixed_lead(void **unused)
{
	struct addrcheck_result *a[3] = {
	    result("10.0.0.11", REASON_OK, NULL, NULL, 0),
	    result("10.0.0.12", REASON_OK, NULL, NULL, 0),
	    result("10.0.0.13", REASON_CERT_UNTRUSTED_PHONE, "w", "reissue it",
	        0),
	};
	struct addrset s = set_of(a, 3);
	char *msg, *fix;

	assert_int_equal(addrset_mixed_lead(&s,
	                     "phones cannot discover EWS at " URL,
	                     "CN=Other CA", &msg, &fix),
	    REASON_CERT_UNTRUSTED_PHONE_SOME);
	assert_ptr_equal(strstr(msg,
	                     "phones cannot discover EWS at " URL
	                     " through every server: 1 of 3 addresses of " HOST
	                     " (10.0.0.13) serves a certificate issued by "
	                     "'CN=Other CA'"),
	    msg);
	assert_null(strstr(msg, "use EWS"));
	assert_non_null(strstr(msg, "errorCode=12045"));
	assert_string_equal(fix,
	    "fix the server behind " HOST " at 10.0.0.13 (10.0.0.11, "
	    "10.0.0.12 are fine): reissue it");
	free(msg);
	free(fix);
	free_all(a, 3);
}

/* Two nodes of three time out: plural, the code of the first bad one. */
static void
test_mixed_other(void **unused)
{
	struct addrcheck_result *a[3] = {
	    result("10.0.0.11", REASON_TIMEOUT, "no answer from 10.0.0.11",
	        NULL, 1),
	    result("10.0.0.12", REASON_OK, NULL, NULL, 0),
	    result("10.0.0.13", REASON_CONNECT_FAILED, "refused", NULL, 1),
	};
	struct addrset s = set_of(a, 3);
	char *msg, *fix;

	assert_int_equal(addrset_mixed(&s, NULL, &msg, &fix),
	    REASON_ADDRESS_FAILED_SOME);
	assert_non_null(strstr(msg,
	    "2 of 3 addresses of " HOST " (10.0.0.11, 10.0.0.13) fail for "
	    "phones: no answer from 10.0.0.11 (timeout); phones that connect "
	    "there log errorCode=12002 (0x80072EE2); the other 1 (10.0.0.12) "
	    "work"));
	assert_non_null(strstr(fix,
	    "fix the servers behind " HOST
	    " at 10.0.0.11, 10.0.0.13 (10.0.0.12 is "
	    "fine): compare"));
	free(msg);
	free(fix);
	free_all(a, 3);
}

/* Only unreachable AAAA addresses while IPv4 works: the IPv6 rule. */
static void
test_v6_only(void **unused)
{
	struct addrcheck_result *a[2] = {
	    result("2001:db8::1", REASON_CONNECT_FAILED, "refused", NULL, 1),
	    result("10.0.0.11", REASON_OK, NULL, NULL, 0),
	};
	struct addrset s = set_of(a, 2);
	char *note, *fix;

	assert_true(addrset_v6_only(&s));
	note = addrset_v6_note(&s, &fix);
	assert_non_null(strstr(note, "2001:db8::1 of " HOST));
	assert_non_null(strstr(note,
	    "phones on IPv4-only networks are not "
	    "affected"));
	assert_non_null(strstr(fix, "remove that AAAA record"));
	free(note);
	free(fix);
	/* A certificate refused over IPv6 is no reachability question. */
	a[0]->reason = REASON_CERT_UNTRUSTED_PHONE;
	a[0]->unreachable = 0;
	assert_false(addrset_v6_only(&s));
	/* Nothing failed: nothing to say. */
	a[0]->reason = REASON_OK;
	assert_false(addrset_v6_only(&s));
	/* An IPv4 address that fails to connect is an outage. */
	a[0]->reason = REASON_CONNECT_FAILED;
	a[0]->unreachable = 1;
	a[1]->reason = REASON_CONNECT_FAILED;
	a[1]->unreachable = 1;
	assert_false(addrset_v6_only(&s));
	free_all(a, 2);
}

/* Every address fails: the same way, or each its own. */
static void
test_all_failed(void **unused)
{
	struct addrcheck_result *a[2] = {
	    result("10.0.0.11", REASON_TIMEOUT, "w", NULL, 1),
	    result("10.0.0.12", REASON_TIMEOUT, "w", NULL, 1),
	};
	struct addrset s = set_of(a, 2);
	char *t;

	t = addrset_all_failed(&s, "M.");
	assert_string_equal(t, "M. The same at all 2 addresses of " HOST ".");
	free(t);
	a[1]->reason = REASON_CONNECT_FAILED;
	t = addrset_all_failed(&s, "M.");
	assert_string_equal(t,
	    "M. Every address of " HOST " fails (10.0.0.11 "
	    "timeout, 10.0.0.12 connect_failed).");
	free(t);
	s.n = 1;
	t = addrset_all_failed(&s, "M.");
	assert_string_equal(t, "M.");
	free(t);
	free_all(a, 2);
}

/* Count a list's steps and those at depth. */
static size_t
count(const struct step_list *l, int depth, size_t *at)
{
	const struct step *st;
	size_t n = 0;

	*at = 0;
	TAILQ_FOREACH (st, l, entry) {
		n++;
		if (st->depth == depth)
			(*at)++;
	}
	return n;
}

/* Agreeing addresses are one sub-tree; disagreeing ones one each. */
/*
 * The failing addresses of a summary are sorted, whatever order DNS gave:
 * an alert compares them run to run.
 */
static void
test_failing_sorted(void **unused)
{
	struct urlcheck_addr v[4];
	char *s;

	(void)unused;
	memset(v, 0, sizeof v);
	v[0].address = "127.0.2.3";
	v[0].reason = REASON_CERT_UNTRUSTED_PHONE;
	v[1].address = "127.0.1.3";
	v[1].reason = REASON_OK;
	v[2].address = "127.0.2.2";
	v[2].reason = REASON_TLS_RESET;
	v[3].address = "::1";
	v[3].reason = REASON_OK;
	s = addrset_failing(v, 4);
	assert_string_equal(s, "127.0.2.2,127.0.2.3");
	free(s);
	v[0].reason = v[2].reason = REASON_OK;
	assert_null(addrset_failing(v, 4));
}

static void
test_steps(void **unused)
{
	struct addrcheck_result *a[3] = {
	    result("10.0.0.11", REASON_OK, NULL, NULL, 0),
	    result("10.0.0.12", REASON_OK, NULL, NULL, 0),
	    result("10.0.0.13", REASON_OK, NULL, NULL, 0),
	};
	struct addrset s = set_of(a, 3);
	struct step_list l;
	size_t at;

	step_list_init(&l);
	addrset_steps(&s, &l);
	assert_int_equal(count(&l, 2, &at), 2);
	assert_int_equal(at, 1);
	assert_string_equal(TAILQ_FIRST(&l)->title,
	    "all 3 addresses of " HOST " alike: 10.0.0.11, 10.0.0.12, "
	    "10.0.0.13");
	step_list_free(&l);
	free_all(a, 3);

	a[0] = result("10.0.0.11", REASON_OK, NULL, NULL, 0);
	a[1] = result("10.0.0.12", REASON_TIMEOUT, "w", NULL, 1);
	a[2] = result("10.0.0.13", REASON_OK, NULL, NULL, 0);
	step_list_init(&l);
	addrset_steps(&s, &l);
	assert_int_equal(count(&l, 1, &at), 6);
	assert_int_equal(at, 3);
	assert_string_equal(TAILQ_NEXT(TAILQ_NEXT(TAILQ_FIRST(&l), entry),
	                        entry)
	                        ->title,
	    "address 10.0.0.12");
	step_list_free(&l);
	free_all(a, 3);

	/* One address: the flat list, as before. */
	a[0] = result("10.0.0.11", REASON_OK, NULL, NULL, 0);
	s.n = 1;
	step_list_init(&l);
	addrset_steps(&s, &l);
	assert_int_equal(count(&l, 1, &at), 1);
	assert_int_equal(at, 1);
	step_list_free(&l);
	free_all(a, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_join),
	    cmocka_unit_test(test_mixed_cert),
	    cmocka_unit_test(test_mixed_lead),
	    cmocka_unit_test(test_mixed_other),
	    cmocka_unit_test(test_v6_only),
	    cmocka_unit_test(test_all_failed),
	    cmocka_unit_test(test_failing_sorted),
	    cmocka_unit_test(test_steps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
