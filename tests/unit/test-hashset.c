/*
 * Unit tests of hashset: membership and values, duplicates refused,
 * growth past many doublings with every string still found, clear and
 * reuse, and the FNV-1a hash's published values (the scheduler's offsets
 * depend on them staying the same).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "hashset.h"

/* Add, find, and refuse a second add of the same string. */
static void
test_add_get(void **unused)
{
	struct hashset *set = hashset_new();
	int a, b;

	assert_false(hashset_has(set, "x"));
	assert_null(hashset_get(set, "x"));
	assert_int_equal(hashset_count(set), 0);
	assert_int_equal(hashset_add(set, "x", &a), 1);
	assert_int_equal(hashset_add(set, "y", &b), 1);
	assert_int_equal(hashset_add(set, "x", &b), 0);
	assert_ptr_equal(hashset_get(set, "x"), &a);
	assert_ptr_equal(hashset_get(set, "y"), &b);
	assert_true(hashset_has(set, "y"));
	/* Exact match: case counts, and a prefix is another string. */
	assert_false(hashset_has(set, "X"));
	assert_false(hashset_has(set, ""));
	assert_int_equal(hashset_add(set, "", NULL), 1);
	assert_true(hashset_has(set, ""));
	assert_null(hashset_get(set, ""));
	assert_int_equal(hashset_count(set), 3);
	hashset_free(set);
	hashset_free(NULL);
}

/* Many strings: the table grows, and each keeps its value. */
static void
test_grow(void **unused)
{
	struct hashset *set = hashset_new();
	char buf[32];
	size_t i, n = 5000;

	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof buf, "mailbox-%zu", i);
		assert_int_equal(hashset_add(set, buf, (void *)(i + 1)), 1);
	}
	assert_int_equal(hashset_count(set), n);
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof buf, "mailbox-%zu", i);
		assert_ptr_equal(hashset_get(set, buf), (void *)(i + 1));
		assert_int_equal(hashset_add(set, buf, NULL), 0);
	}
	assert_false(hashset_has(set, "mailbox-5000"));
	hashset_free(set);
}

/* Clear empties the set, which can be used again. */
static void
test_clear(void **unused)
{
	struct hashset *set = hashset_new();

	assert_int_equal(hashset_add(set, "a", NULL), 1);
	hashset_clear(set);
	assert_int_equal(hashset_count(set), 0);
	assert_false(hashset_has(set, "a"));
	assert_int_equal(hashset_add(set, "a", NULL), 1);
	assert_true(hashset_has(set, "a"));
	hashset_clear(set);
	hashset_clear(set);
	hashset_free(set);
}

/* FNV-1a 32-bit: the offset basis for "", and the published test values. */
static void
test_hash(void **unused)
{
	assert_int_equal(hashset_hash(""), 0x811c9dc5u);
	assert_int_equal(hashset_hash("a"), 0xe40c292cu);
	assert_int_equal(hashset_hash("foobar"), 0xbf9cf968u);
	/* Bytes above 0x7f hash as unsigned, whatever char's sign. */
	assert_int_equal(hashset_hash("\xff"),
	    (0x811c9dc5u ^ 0xffu) * 16777619u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_get),
	    cmocka_unit_test(test_grow),
	    cmocka_unit_test(test_clear),
	    cmocka_unit_test(test_hash),
	};

	return cmocka_run_group_tests_name("hashset", tests, NULL, NULL);
}
