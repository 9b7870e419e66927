/*
 * Unit tests of admin's pure parts: text from outside made safe to print
 * (controls, C1, bad UTF-8 escaped; good UTF-8 kept) and the --host
 * argument (HOST[:PORT], [v6]:PORT, bare v6, bad forms refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin.h"

/* Check admin_safe's output for one input. */
static void
safe_is(const char *in, const char *want)
{
	char *got = admin_safe(in);

	assert_string_equal(got, want);
	free(got);
}

static void
test_safe(void **state)
{
	safe_is("CN=Issuing CA for contoso,com",
	    "CN=Issuing CA for contoso,com");
	safe_is("line\nnext", "line\\x0Anext");
	safe_is("\033[31mred", "\\x1B[31mred");
	safe_is("del\x7f", "del\\x7F");
	safe_is("Zürich – ✓", "Zürich – ✓");
	/* C1 CSI (U+009B), a stray continuation byte, an overlong '/'. */
	safe_is("a\xc2\x9b"
	        "b",
	    "a\\xC2\\x9Bb");
	safe_is("a\x80z", "a\\x80z");
	safe_is("\xc0\xaf", "\\xC0\\xAF");
	/* A cut sequence at the end, and a surrogate. */
	safe_is("x\xe2\x9c", "x\\xE2\\x9C");
	safe_is("\xed\xa0\x80", "\\xED\\xA0\\x80");
}

/* Check one --host argument. */
static void
host_is(const char *arg, const char *host, int port)
{
	char *h;
	int p;

	if (host == NULL) {
		assert_int_equal(admin_split_host(arg, &h, &p), -1);
		assert_null(h);
		return;
	}
	assert_int_equal(admin_split_host(arg, &h, &p), 0);
	assert_string_equal(h, host);
	assert_int_equal(p, port);
	free(h);
}

static void
test_split_host(void **state)
{
	host_is("casarray.contoso.com", "casarray.contoso.com", 443);
	host_is("staging.contoso.com:8443", "staging.contoso.com", 8443);
	host_is("127.0.1.3:443", "127.0.1.3", 443);
	host_is("[2001:db8::1]:4443", "2001:db8::1", 4443);
	host_is("[2001:db8::1]", "2001:db8::1", 443);
	host_is("2001:db8::1", "2001:db8::1", 443);
	host_is("", NULL, 0);
	host_is(":443", NULL, 0);
	host_is("host:", NULL, 0);
	host_is("host:0", NULL, 0);
	host_is("host:65536", NULL, 0);
	host_is("host:44x", NULL, 0);
	host_is("[2001:db8::1]x", NULL, 0);
	host_is("[]:443", NULL, 0);
	host_is("bad host", NULL, 0);
	host_is("-bad.example", NULL, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_safe),
	    cmocka_unit_test(test_split_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
