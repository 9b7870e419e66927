/*
 * Unit tests of retain's keys: discovered URLs and Front End issuers held
 * across a reload, or read back after a restart, are handed out only under
 * the key they were found under, and only once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "retain.h"

static const struct retain_discovery discs[] = {
    {"lab", "https://casarray/EWS", "https://mail/EWS", "a@contoso 1 x", 100},
    {"old", "https://old/EWS", NULL, NULL, 200},
};
static const struct retain_frontend fes[] = {
    {"phone", "MIIB", "pool.contoso.com:443"},
    {"other", NULL, "pool2:443"},
};

/* Held discoveries: taken under their key, once; never under another. */
static void
test_hold_discovery(void **state)
{
	char *in = NULL, *ex = NULL;
	int64_t at = 0;

	(void)state;
	retain_hold(discs, 2, fes, 2);
	assert_int_equal(retain_take_discovery("lab", "b@contoso 1 x", &in, &ex,
	                     &at),
	    0);
	assert_int_equal(retain_take_discovery("lab", "a@contoso 1 x", &in, &ex,
	                     &at),
	    1);
	assert_string_equal(in, "https://casarray/EWS");
	assert_string_equal(ex, "https://mail/EWS");
	assert_int_equal(at, 100);
	free(in);
	free(ex);
	assert_int_equal(retain_take_discovery("lab", "a@contoso 1 x", &in, &ex,
	                     &at),
	    0);
	/* An entry without a key (an older file's) is never taken. */
	assert_int_equal(retain_take_discovery("old", "", &in, &ex, &at), 0);
	assert_int_equal(retain_take_discovery("nobody", "a@contoso 1 x", &in,
	                     &ex, &at),
	    0);
	retain_forget();
}

/* Held issuers: taken only from the same host and port. */
static void
test_hold_frontend(void **state)
{
	char *der;

	(void)state;
	retain_hold(discs, 2, fes, 2);
	assert_null(retain_take_frontend("phone", "pool.contoso.com:444"));
	assert_null(retain_take_frontend("other", "pool2:443"));
	der = retain_take_frontend("phone", "pool.contoso.com:443");
	assert_non_null(der);
	assert_string_equal(der, "MIIB");
	free(der);
	assert_null(retain_take_frontend("phone", "pool.contoso.com:443"));
	retain_forget();
}

/* Keys survive the file: written at save, checked after a load. */
static void
test_file_keys(void **state)
{
	char dir[] = "/tmp/test-retain-XXXXXX", path[64], *in, *ex, *der;
	int64_t at;

	(void)state;
	assert_non_null(mkdtemp(dir));
	retain_load(dir);
	assert_int_equal(retain_save(NULL, 0, discs, 2, fes, 2), 0);
	retain_load(dir);
	assert_int_equal(retain_take_discovery("lab", "a@contoso 2 x", &in, &ex,
	                     &at),
	    0);
	assert_int_equal(retain_take_discovery("lab", "a@contoso 1 x", &in, &ex,
	                     &at),
	    1);
	assert_string_equal(in, "https://casarray/EWS");
	free(in);
	free(ex);
	assert_null(retain_take_frontend("phone", "elsewhere:443"));
	der = retain_take_frontend("phone", "pool.contoso.com:443");
	assert_non_null(der);
	free(der);
	retain_forget();
	retain_load(NULL);
	snprintf(path, sizeof path, "%s/%s", dir, RETAIN_FILE);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hold_discovery),
	    cmocka_unit_test(test_hold_frontend),
	    cmocka_unit_test(test_file_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
