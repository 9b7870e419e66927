/*
 * Unit tests of strlist: copies kept in order, lookups without regard to
 * case, splitting a comma/space/tab-separated value (empty items dropped,
 * the old items replaced), and clearing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "strlist.h"

/* Added strings are copies, kept in order; has() ignores case. */
static void
test_add_has(void **unused)
{
	struct strlist l = {NULL, 0};
	char s[] = "Mail.Contoso.com";

	assert_false(strlist_has(&l, "x"));
	assert_false(strlist_has(NULL, "x"));
	strlist_add(&l, s);
	strlist_add(&l, "autodiscover.contoso.com");
	s[0] = 'X';
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0], "Mail.Contoso.com");
	assert_string_equal(l.items[1], "autodiscover.contoso.com");
	assert_true(strlist_has(&l, "mail.contoso.com"));
	assert_true(strlist_has(&l, "AUTODISCOVER.CONTOSO.COM"));
	assert_false(strlist_has(&l, "contoso.com"));
	assert_false(strlist_has(&l, "mail.contoso.com."));
	strlist_clear(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.items);
	assert_false(strlist_has(&l, "mail.contoso.com"));
	strlist_clear(&l);
}

/* Split on commas, spaces and tabs; runs of them make no empty items. */
static void
test_split(void **unused)
{
	struct strlist l = {NULL, 0};

	strlist_add(&l, "old");
	assert_int_equal(strlist_split(&l, " a, b\t,,c  "), 3);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.items[0], "a");
	assert_string_equal(l.items[1], "b");
	assert_string_equal(l.items[2], "c");
	assert_false(strlist_has(&l, "old"));
	assert_int_equal(strlist_split(&l, "one"), 1);
	assert_string_equal(l.items[0], "one");
	assert_int_equal(strlist_split(&l, " ,\t, "), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(strlist_split(&l, ""), 0);
	/* Other punctuation is part of an item. */
	assert_int_equal(strlist_split(&l, "[2001:db8::53]:53;x"), 1);
	assert_string_equal(l.items[0], "[2001:db8::53]:53;x");
	strlist_clear(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_has),
	    cmocka_unit_test(test_split),
	};

	return cmocka_run_group_tests_name("strlist", tests, NULL, NULL);
}
