/*
 * Unit tests of step: adding steps in order with their defaults, setting
 * outcomes (copies, replacement, clearing), moving lists, freeing, names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "step.h"

/* A new step is last, ok, with its formatted title and no timings. */
static void
test_add_defaults_order(void **unused)
{
	struct step_list list;
	struct step *a, *b;

	step_list_init(&list);
	assert_true(TAILQ_EMPTY(&list));
	a = step_add(&list, STEP_DNS, 0, "SRV %s", "_autodiscover._tcp.x");
	b = step_add(&list, STEP_HTTP, 2, "POST %s/%d", "https://x", 7);
	assert_ptr_equal(TAILQ_FIRST(&list), a);
	assert_ptr_equal(TAILQ_NEXT(a, entry), b);
	assert_null(TAILQ_NEXT(b, entry));
	assert_string_equal(a->title, "SRV _autodiscover._tcp.x");
	assert_string_equal(b->title, "POST https://x/7");
	assert_int_equal(b->kind, STEP_HTTP);
	assert_int_equal(b->depth, 2);
	assert_int_equal(b->result, STEP_OK);
	assert_null(b->reason);
	assert_null(b->detail);
	assert_null(b->url);
	assert_int_equal(b->http_status, 0);
	assert_int_equal(b->timings.dns_us, -1);
	assert_int_equal(b->timings.connect_us, -1);
	assert_int_equal(b->timings.tls_us, -1);
	assert_int_equal(b->timings.first_byte_us, -1);
	assert_int_equal(b->timings.total_us, -1);
	step_list_free(&list);
	assert_true(TAILQ_EMPTY(&list));
}

/* step_set copies reason and detail, replaces earlier ones, clears them. */
static void
test_set_outcome(void **unused)
{
	struct step_list list;
	struct step *st;
	char reason[] = "cert_expired";

	step_list_init(&list);
	st = step_add(&list, STEP_TLS, 1, "TLS");
	step_set(st, STEP_FAIL, reason, "expired %d days ago", 3);
	assert_int_equal(st->result, STEP_FAIL);
	assert_string_equal(st->reason, "cert_expired");
	assert_ptr_not_equal(st->reason, reason);
	assert_string_equal(st->detail, "expired 3 days ago");
	/* The step owns a copy: the caller's buffer may change. */
	reason[0] = 'X';
	assert_string_equal(st->reason, "cert_expired");

	step_set(st, STEP_WARN, "cert_expiring", "in %s", "5 days");
	assert_int_equal(st->result, STEP_WARN);
	assert_string_equal(st->reason, "cert_expiring");
	assert_string_equal(st->detail, "in 5 days");

	step_set(st, STEP_OK, NULL, NULL);
	assert_int_equal(st->result, STEP_OK);
	assert_null(st->reason);
	assert_null(st->detail);
	step_list_free(&list);
}

/* step_set_str copies, replaces and clears an owned field. */
static void
test_set_str(void **unused)
{
	struct step_list list;
	struct step *st;
	char url[] = "https://a/";

	step_list_init(&list);
	st = step_add(&list, STEP_HTTP, 0, "GET");
	step_set_str(&st->url, url);
	assert_string_equal(st->url, "https://a/");
	assert_ptr_not_equal(st->url, url);
	step_set_str(&st->url, "https://b/");
	assert_string_equal(st->url, "https://b/");
	step_set_str(&st->url, NULL);
	assert_null(st->url);
	/* Fields set and left set are freed with the list (valgrind/ASan). */
	step_set_str(&st->method, "POST");
	step_set_str(&st->address, "192.0.2.1");
	step_set_str(&st->tls_version, "TLSv1");
	step_list_free(&list);
}

/* Moving appends src's steps after dst's, in order, and empties src. */
static void
test_move(void **unused)
{
	struct step_list dst, src, empty;
	struct step *st;
	const char *want[] = {"d1", "d2", "s1", "s2", "s3"};
	size_t i = 0;

	step_list_init(&dst);
	step_list_init(&src);
	step_list_init(&empty);
	step_add(&dst, STEP_NOTE, 0, "d1");
	step_add(&dst, STEP_NOTE, 0, "d2");
	step_add(&src, STEP_NOTE, 0, "s1");
	step_add(&src, STEP_NOTE, 0, "s2");
	step_add(&src, STEP_NOTE, 0, "s3");
	step_list_move(&dst, &src);
	assert_true(TAILQ_EMPTY(&src));
	/* Moving an empty list changes nothing. */
	step_list_move(&dst, &empty);
	TAILQ_FOREACH (st, &dst, entry) {
		assert_true(i < 5);
		assert_string_equal(st->title, want[i]);
		i++;
	}
	assert_int_equal(i, 5);
	/* The emptied source is usable again. */
	step_add(&src, STEP_NOTE, 0, "again");
	assert_string_equal(TAILQ_FIRST(&src)->title, "again");
	/* Into an empty list: the list is src's, and src ends empty. */
	step_list_move(&empty, &src);
	assert_true(TAILQ_EMPTY(&src));
	assert_string_equal(TAILQ_FIRST(&empty)->title, "again");
	assert_ptr_equal(TAILQ_LAST(&empty, step_list), TAILQ_FIRST(&empty));
	step_list_free(&dst);
	step_list_free(&empty);
	step_list_free(&src);
}

/* Freeing an empty list is fine and leaves it empty. */
static void
test_free_empty(void **unused)
{
	struct step_list list;

	step_list_init(&list);
	step_list_free(&list);
	assert_true(TAILQ_EMPTY(&list));
}

/* The names the report and status file print. */
static void
test_names(void **unused)
{
	assert_string_equal(step_result_name(STEP_OK), "ok");
	assert_string_equal(step_result_name(STEP_WARN), "warn");
	assert_string_equal(step_result_name(STEP_FAIL), "fail");
	assert_string_equal(step_result_name(STEP_SKIP), "skip");
	/* Out of range (a bug) reads as a failure, never NULL. */
	assert_string_equal(step_result_name((enum step_result)99), "fail");
	assert_string_equal(step_kind_name(STEP_DNS), "dns");
	assert_string_equal(step_kind_name(STEP_HTTP), "http");
	assert_string_equal(step_kind_name(STEP_TLS), "tls");
	assert_string_equal(step_kind_name(STEP_FRONTEND), "frontend");
	assert_string_equal(step_kind_name(STEP_NOTE), "note");
	assert_string_equal(step_kind_name((enum step_kind)99), "note");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_defaults_order),
	    cmocka_unit_test(test_set_outcome),
	    cmocka_unit_test(test_set_str),
	    cmocka_unit_test(test_move),
	    cmocka_unit_test(test_free_empty),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
