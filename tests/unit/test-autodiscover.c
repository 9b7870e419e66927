/*
 * Unit tests of autodiscover's host policy: which hosts a mailbox's
 * discovery may ask with credentials (docs/security.md row 13 look-alikes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "autodiscover.h"

/* The domain, names under it and allow-listed hosts; nothing else. */
static void
test_host_allowed(void **unused)
{
	char *items[] = {"autodiscover.hosting.example"};
	struct strlist allow = {items, 1};

	assert_true(
	    autodiscover_host_allowed("contoso.com", "contoso.com", NULL));
	assert_true(autodiscover_host_allowed("AutoDiscover.Contoso.COM",
	    "contoso.com", NULL));
	assert_true(autodiscover_host_allowed("mail.eu.contoso.com",
	    "contoso.com", NULL));
	assert_false(
	    autodiscover_host_allowed("evilcontoso.com", "contoso.com", NULL));
	assert_false(autodiscover_host_allowed("contoso.com.attacker.test",
	    "contoso.com", NULL));
	/* Never a parent of the domain: the autodiscover.<tld> leak. */
	assert_false(
	    autodiscover_host_allowed("autodiscover.com", "contoso.com", NULL));
	assert_false(
	    autodiscover_host_allowed("co.uk", "sub.example.co.uk", NULL));
	assert_false(autodiscover_host_allowed("autodiscover.hosting.example",
	    "contoso.com", NULL));
	assert_true(autodiscover_host_allowed("autodiscover.hosting.example",
	    "contoso.com", &allow));
	assert_false(autodiscover_host_allowed("x.autodiscover.hosting.example",
	    "contoso.com", &allow));
	/* A public suffix is nobody's host, even as the domain itself. */
	assert_false(autodiscover_host_allowed("CO.UK", "co.uk", NULL));
	assert_false(autodiscover_host_allowed("github.io", "github.io", NULL));
	assert_true(autodiscover_host_allowed("autodiscover.contoso.co.uk",
	    "contoso.co.uk", NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_allowed),
	};

	return cmocka_run_group_tests_name("autodiscover", tests, NULL, NULL);
}
