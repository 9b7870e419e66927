/*
 * Unit tests of xmalloc: the wrappers return what they promise, xfree_secret
 * wipes before it frees (seen through a wrapped free(), linked with
 * -Wl,--wrap=free), and a size overflow or a zero size ends the process
 * cleanly (exit status 1, a message) in a child, never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xmalloc.h"

#include "helpers/child.h"

void __real_free(void *);
void __wrap_free(void *);
const char *__asan_default_options(void);

/*
 * The buffer whose contents free() records, and what it saw. Volatile: the
 * compiler takes free() to leave globals alone, which the wrapper does not.
 */
static void *volatile watch_ptr;
static volatile size_t watch_len;
static volatile int watch_seen, watch_zero;

/* free() for everything linked from our objects: note the watched buffer. */
void
__wrap_free(void *ptr)
{
	size_t i;

	if (ptr != NULL && ptr == watch_ptr) {
		watch_seen = 1;
		watch_zero = 1;
		for (i = 0; i < watch_len; i++) {
			if (((unsigned char *)ptr)[i] != 0)
				watch_zero = 0;
		}
		watch_ptr = NULL;
	}
	__real_free(ptr);
}

/*
 * Under AddressSanitizer, an impossible size makes the allocator report
 * and abort; the daemon's contract is about the ordinary allocator, which
 * returns NULL. Ask ASan for that behaviour (ignored without ASan).
 */
const char *
__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

/* A secret for free() to watch. */
static char *
watched_secret(void)
{
	char *secret = xstrdup("S3cretCanary!");

	watch_ptr = secret;
	watch_len = strlen(secret);
	watch_seen = watch_zero = 0;
	return secret;
}

/* xfree_secret zeroes every byte of the secret before freeing it. */
static void
test_free_secret_wipes(void **unused)
{
	xfree_secret(watched_secret());
	assert_true(watch_seen);
	assert_true(watch_zero);
	/* NULL is a no-op. */
	xfree_secret(NULL);
}

/* The watch itself can fail: plain free() of a secret is seen unwiped. */
static void
test_watch_sees_unwiped(void **unused)
{
	free(watched_secret());
	assert_true(watch_seen);
	assert_false(watch_zero);
}

/* xasprintf formats, returns the length, and handles long output. */
static void
test_asprintf(void **unused)
{
	char *s;
	size_t i;

	assert_int_equal(xasprintf(&s, "%s-%d-%c", "ab", 42, 'z'), 7);
	assert_string_equal(s, "ab-42-z");
	free(s);
	assert_int_equal(xasprintf(&s, "%s", ""), 0);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(xasprintf(&s, "<%*s>", 100000, "x"), 100002);
	assert_int_equal(strlen(s), 100002);
	for (i = 1; i < 100000; i++)
		assert_int_equal(s[i], ' ');
	assert_int_equal(s[100000], 'x');
	free(s);
}

/* xstrndup copies at most len bytes and always terminates. */
static void
test_strndup(void **unused)
{
	char *s;

	s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = xstrndup("ab", 10);
	assert_string_equal(s, "ab");
	free(s);
	s = xstrndup("abc", 0);
	assert_string_equal(s, "");
	free(s);
	/* The source need not be terminated within len. */
	{
		const char buf[4] = {'w', 'x', 'y', 'z'};

		s = xstrndup(buf, 4);
		assert_string_equal(s, "wxyz");
		free(s);
	}
}

/* xstrdup copies; xcalloc zeroes; xreallocarray keeps the contents. */
static void
test_copies_and_sizes(void **unused)
{
	const char *orig = "hello";
	unsigned char *z;
	int *a;
	char *s;
	size_t i;

	s = xstrdup(orig);
	assert_ptr_not_equal(s, orig);
	assert_string_equal(s, orig);
	free(s);

	z = xcalloc(1000, 3);
	for (i = 0; i < 3000; i++)
		assert_int_equal(z[i], 0);
	free(z);

	a = xreallocarray(NULL, 4, sizeof *a);
	for (i = 0; i < 4; i++)
		a[i] = (int)i * 10;
	a = xreallocarray(a, 100000, sizeof *a);
	for (i = 0; i < 4; i++)
		assert_int_equal(a[i], (int)i * 10);
	free(a);
}

/* Children: each call must end the process. */
static void
child_realloc_overflow(void *unused)
{
	(void)xreallocarray(NULL, SIZE_MAX / 2 + 1, 2);
}

static void
child_calloc_overflow(void *unused)
{
	(void)xcalloc(SIZE_MAX / 2 + 1, 2);
}

static void
child_malloc_zero(void *unused)
{
	(void)xmalloc(0);
}

static void
child_calloc_zero(void *unused)
{
	(void)xcalloc(0, 8);
}

/* An overflowing size is out of memory: exit 1 with a message. */
static void
test_overflow_exits(void **unused)
{
	char err[512];

	assert_int_equal(child_run(child_realloc_overflow, NULL, err,
	                     sizeof err),
	    1);
	assert_non_null(strstr(err, "fatal: out of memory"));
	assert_int_equal(child_run(child_calloc_overflow, NULL, err,
	                     sizeof err),
	    1);
	assert_non_null(strstr(err, "fatal: out of memory"));
}

/* A zero size is a caller bug: fatalx, exit 1, naming the function. */
static void
test_zero_size_exits(void **unused)
{
	char err[512];

	assert_int_equal(child_run(child_malloc_zero, NULL, err, sizeof err),
	    1);
	assert_non_null(strstr(err, "xmalloc: zero size"));
	assert_int_equal(child_run(child_calloc_zero, NULL, err, sizeof err),
	    1);
	assert_non_null(strstr(err, "xcalloc: zero size"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_free_secret_wipes),
	    cmocka_unit_test(test_watch_sees_unwiped),
	    cmocka_unit_test(test_asprintf),
	    cmocka_unit_test(test_strndup),
	    cmocka_unit_test(test_copies_and_sizes),
	    cmocka_unit_test(test_overflow_exits),
	    cmocka_unit_test(test_zero_size_exits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
