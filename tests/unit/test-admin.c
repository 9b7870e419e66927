/*
 * Unit tests of admin's pure parts: the --host argument
 * (HOST[:PORT], [v6]:PORT, bare v6, bad forms refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin.h"

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
	    cmocka_unit_test(test_split_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
