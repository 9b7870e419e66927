/*
 * Unit tests of json: string escaping (quotes, backslash, control
 * characters, invalid UTF-8 as U+FFFD), commas and nesting, numbers, exact
 * decimals, pretty output, the streaming sink and its flush, and misuse
 * ending in fatalx. Every document is also parsed back with jansson, which
 * accepts only valid JSON in valid UTF-8.
 */
#include <math.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

#include "helpers/child.h"
#include "helpers/jsoncheck.h"

/* Finish j, check the text is exactly want and parses as JSON; free it. */
static void
want_doc(struct json *j, const char *want)
{
	char why[256];
	size_t len;
	char *text;

	text = json_finish(j, &len);
	assert_string_equal(text, want);
	assert_int_equal(len, strlen(want));
	if (!jsoncheck_valid(text, len, why, sizeof why))
		fail_msg("not JSON (%s): %s", why, text);
	free(text);
}

/* The document made of one string value of n bytes. */
static char *
string_doc(const char *s, size_t n)
{
	struct json *j = json_new(0);

	json_strn(j, s, n);
	return json_finish(j, NULL);
}

/* Check that the string value of n bytes of s is written as want. */
static void
want_string(const char *s, size_t n, const char *want)
{
	char *text = string_doc(s, n);

	assert_string_equal(text, want);
	free(text);
}

/* Quotes, backslash and the short control escapes. */
static void
test_escape_short(void **unused)
{
	want_string("a\"b\\c/", 6, "\"a\\\"b\\\\c/\"");
	want_string("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"");
}

/* Other control characters, DEL and NUL become \u00XX. */
static void
test_escape_control(void **unused)
{
	want_string("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"");
	want_string("a\0b", 3, "\"a\\u0000b\"");
	want_string("\x1b[31m", 5, "\"\\u001b[31m\"");
}

/* Valid UTF-8 of every length passes through unchanged. */
static void
test_utf8_valid(void **unused)
{
	/* é, €, U+10FFFF, 😀, and U+FFFD itself */
	const char *s = "\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80"
	                "\xef\xbf\xbd";
	char want[64];

	snprintf(want, sizeof want, "\"%s\"", s);
	want_string(s, strlen(s), want);
}

/* Each byte that does not start a valid sequence becomes one U+FFFD. */
static void
test_utf8_invalid(void **unused)
{
#define R "\xef\xbf\xbd"
	/* a lone continuation byte */
	want_string("a\x80z", 3, "\"a" R "z\"");
	/* an overlong '/' (C0 AF) and an overlong NUL (E0 80 80) */
	want_string("\xc0\xaf", 2, "\"" R R "\"");
	want_string("\xe0\x80\x80", 3, "\"" R R R "\"");
	/* a surrogate, U+D800 */
	want_string("\xed\xa0\x80", 3, "\"" R R R "\"");
	/* above U+10FFFF, and a byte that never occurs */
	want_string("\xf4\x90\x80\x80", 4, "\"" R R R R "\"");
	want_string("\xf5\xff", 2, "\"" R R "\"");
	/* a sequence cut short by the end, and by an ASCII byte */
	want_string("\xe2\x82", 2, "\"" R R "\"");
	want_string("\xe2\x82z", 3, "\"" R R "z\"");
#undef R
}

/*
 * Every byte value gives a document jansson accepts: ASCII comes back
 * as it was, each byte from 0x80 up (none starts a valid sequence on its
 * own here) as one U+FFFD.
 */
static void
test_all_bytes_valid_json(void **unused)
{
	unsigned char bytes[256];
	size_t len, declen;
	char *text, *dec;
	int i;

	for (i = 0; i < 256; i++)
		bytes[i] = (unsigned char)i;
	text = string_doc((const char *)bytes, sizeof bytes);
	len = strlen(text);
	dec = jsoncheck_string(text, len, &declen);
	if (dec == NULL)
		fail_msg("not a JSON string: %s", text);
	assert_int_equal(declen, 128 + 128 * 3);
	assert_memory_equal(dec, bytes, 128);
	for (i = 128; i < 256; i++)
		assert_memory_equal(dec + 128 + (i - 128) * 3, "\xef\xbf\xbd",
		    3);
	free(dec);
	free(text);
}

/* Keys are escaped like values. */
static void
test_key_escaped(void **unused)
{
	struct json *j = json_new(0);

	json_object_begin(j);
	json_kv_string(j, "a\"\n\xff", "v");
	json_object_end(j);
	want_doc(j, "{\"a\\\"\\n\xef\xbf\xbd\":\"v\"}");
}

/* Commas between members and elements, never before the first or after
 * the last; empty containers; nesting both ways. */
static void
test_nesting_commas(void **unused)
{
	struct json *j = json_new(0);

	json_object_begin(j);
	json_kv_int(j, "a", 1);
	json_key(j, "b");
	json_array_begin(j);
	json_int(j, 1);
	json_str(j, "two");
	json_object_begin(j);
	json_kv_null(j, "c");
	json_kv_bool(j, "d", 1);
	json_kv_bool(j, "e", 0);
	json_object_end(j);
	json_array_begin(j);
	json_array_end(j);
	json_array_end(j);
	json_key(j, "f");
	json_object_begin(j);
	json_object_end(j);
	json_kv_string(j, "g", NULL);
	json_object_end(j);
	want_doc(j,
	    "{\"a\":1,\"b\":[1,\"two\",{\"c\":null,\"d\":true,"
	    "\"e\":false},[]],\"f\":{},\"g\":null}");
}

/* Pretty output: two-space indents, ": ", empty containers on one line,
 * and a final newline. */
static void
test_pretty(void **unused)
{
	struct json *j = json_new(JSON_PRETTY);

	json_object_begin(j);
	json_kv_string(j, "a", "x");
	json_key(j, "b");
	json_array_begin(j);
	json_int(j, 1);
	json_int(j, 2);
	json_array_end(j);
	json_key(j, "c");
	json_object_begin(j);
	json_object_end(j);
	json_object_end(j);
	want_doc(j,
	    "{\n"
	    "  \"a\": \"x\",\n"
	    "  \"b\": [\n"
	    "    1,\n"
	    "    2\n"
	    "  ],\n"
	    "  \"c\": {}\n"
	    "}\n");
}

/* Integers at both ends of the range; a scalar is a whole document. */
static void
test_integers(void **unused)
{
	struct json *j = json_new(0);

	json_array_begin(j);
	json_int(j, LLONG_MIN);
	json_int(j, LLONG_MAX);
	json_int(j, 0);
	json_array_end(j);
	want_doc(j, "[-9223372036854775808,9223372036854775807,0]");

	j = json_new(0);
	json_int(j, 42);
	want_doc(j, "42");
}

/* Doubles: up to 6 significant digits (%g), valid JSON numbers. */
static void
test_doubles(void **unused)
{
	struct json *j = json_new(0);

	json_array_begin(j);
	json_double(j, 0.5);
	json_double(j, -12.25);
	json_double(j, 1234.5678);
	json_double(j, 1e21);
	json_double(j, 3.0);
	json_array_end(j);
	want_doc(j, "[0.5,-12.25,1234.57,1e+21,3]");
}

/* JSON has no NaN or infinity: they are written as null, so the document
 * stays valid (printf would write "nan" and "inf"). */
static void
test_doubles_not_finite(void **unused)
{
	struct json *j = json_new(0);

	json_object_begin(j);
	json_kv_double(j, "nan", NAN);
	json_kv_double(j, "inf", INFINITY);
	json_kv_double(j, "-inf", -INFINITY);
	json_object_end(j);
	want_doc(j, "{\"nan\":null,\"inf\":null,\"-inf\":null}");
}

/*
 * Exact decimals (json_decimal): microseconds as milliseconds with every
 * digit kept, however large, with the sign and leading zeros right.
 */
static void
test_decimals(void **unused)
{
	struct json *j = json_new(0);

	json_array_begin(j);
	json_decimal(j, 12345, 3);
	json_decimal(j, 5, 3);
	json_decimal(j, 0, 3);
	json_decimal(j, -1500, 3);
	json_decimal(j, 123456789012345LL, 3);
	json_decimal(j, 7, 0);
	json_decimal(j, LLONG_MIN, 0);
	json_array_end(j);
	want_doc(j,
	    "[12.345,0.005,0.000,-1.500,123456789012.345,7,"
	    "-9223372036854775808]");
	j = json_new(0);
	json_object_begin(j);
	json_kv_decimal(j, "ms", 1001, 3);
	json_object_end(j);
	want_doc(j, "{\"ms\":1.001}");
}

/* Build the test's large document into j: an array of n strings. */
static void
big_doc(struct json *j, int n)
{
	char item[64];
	int i;

	json_array_begin(j);
	for (i = 0; i < n; i++) {
		snprintf(item, sizeof item, "item %d \"quoted\" \xff", i);
		json_str(j, item);
	}
	json_array_end(j);
}

/*
 * The sink receives the document while it is being written (so memory
 * stays at one chunk), and in the end exactly the bytes the in-memory
 * writer produces.
 */
static void
test_sink_streams(void **unused)
{
	struct json *j;
	char *mem = NULL, *want;
	size_t memlen = 0, wantlen;
	FILE *fp;

	j = json_new(JSON_PRETTY);
	big_doc(j, 10000);
	want = json_finish(j, &wantlen);
	assert_true(wantlen > 4 * 64 * 1024);

	fp = open_memstream(&mem, &memlen);
	assert_non_null(fp);
	j = json_new_sink(fp, JSON_PRETTY);
	big_doc(j, 10000);
	assert_int_equal(fflush(fp), 0);
	/* Most of it is out before the end; at most one chunk is held. */
	assert_true(memlen > 0);
	assert_true(wantlen - memlen <= 64 * 1024);
	json_finish_sink(j);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(memlen, wantlen);
	assert_memory_equal(mem, want, wantlen);
	free(mem);
	free(want);
}

/* A small document through the sink arrives whole at json_finish_sink. */
static void
test_sink_small(void **unused)
{
	char *mem = NULL;
	size_t memlen = 0;
	struct json *j;
	FILE *fp;

	fp = open_memstream(&mem, &memlen);
	assert_non_null(fp);
	j = json_new_sink(fp, 0);
	json_object_begin(j);
	json_kv_int(j, "n", 1);
	json_object_end(j);
	json_finish_sink(j);
	assert_int_equal(fclose(fp), 0);
	assert_string_equal(mem, "{\"n\":1}");
	free(mem);
}

/*
 * json_flush hands what is written so far to the sink at once, though it
 * is far less than a chunk: --once prints each target when it is done.
 */
static void
test_sink_flush(void **unused)
{
	char *mem = NULL;
	size_t memlen = 0;
	struct json *j;
	FILE *fp;

	fp = open_memstream(&mem, &memlen);
	assert_non_null(fp);
	j = json_new_sink(fp, 0);
	json_array_begin(j);
	json_int(j, 1);
	assert_int_equal(fflush(fp), 0);
	assert_int_equal(memlen, 0);
	json_flush(j);
	assert_int_equal(memlen, 2);
	assert_memory_equal(mem, "[1", 2);
	json_int(j, 2);
	json_flush(j);
	json_flush(j);
	assert_int_equal(memlen, 4);
	json_array_end(j);
	json_finish_sink(j);
	assert_int_equal(fclose(fp), 0);
	assert_string_equal(mem, "[1,2]");
	free(mem);
	/* Without a sink the text stays in the writer. */
	j = json_new(0);
	json_int(j, 3);
	json_flush(j);
	want_doc(j, "3");
}

/* The writer a misuse child works on (a global: still reachable at exit). */
static struct json *misuse_j;

/* Misuse: a value where a key is due. */
static void
misuse_value_without_key(void *unused)
{
	misuse_j = json_new(0);
	json_object_begin(misuse_j);
	json_int(misuse_j, 1);
}

/* Misuse: closing an array as an object. */
static void
misuse_unbalanced(void *unused)
{
	misuse_j = json_new(0);
	json_array_begin(misuse_j);
	json_object_end(misuse_j);
}

/* Misuse: finishing an open document. */
static void
misuse_incomplete(void *unused)
{
	misuse_j = json_new(0);
	json_array_begin(misuse_j);
	free(json_finish(misuse_j, NULL));
}

/* Misuse: two top-level values. */
static void
misuse_two_tops(void *unused)
{
	misuse_j = json_new(0);
	json_int(misuse_j, 1);
	json_int(misuse_j, 2);
}

/* Misuse is a caller bug: fatalx, exit status 1, never a torn document. */
static void
test_misuse_fatal(void **unused)
{
	static const struct {
		void (*fn)(void *);
		const char *msg;
	} cases[] = {
	    {misuse_value_without_key, "json: object value without a key"},
	    {misuse_unbalanced, "json: unbalanced close"},
	    {misuse_incomplete, "json: document not complete"},
	    {misuse_two_tops, "json: second top-level value"},
	};
	char err[1024];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(child_run(cases[i].fn, NULL, err, sizeof err),
		    1);
		if (strstr(err, cases[i].msg) == NULL)
			fail_msg("case %zu: stderr lacks \"%s\": %s", i,
			    cases[i].msg, err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape_short),
	    cmocka_unit_test(test_escape_control),
	    cmocka_unit_test(test_utf8_valid),
	    cmocka_unit_test(test_utf8_invalid),
	    cmocka_unit_test(test_all_bytes_valid_json),
	    cmocka_unit_test(test_key_escaped),
	    cmocka_unit_test(test_nesting_commas),
	    cmocka_unit_test(test_pretty),
	    cmocka_unit_test(test_integers),
	    cmocka_unit_test(test_doubles),
	    cmocka_unit_test(test_doubles_not_finite),
	    cmocka_unit_test(test_decimals),
	    cmocka_unit_test(test_sink_streams),
	    cmocka_unit_test(test_sink_small),
	    cmocka_unit_test(test_sink_flush),
	    cmocka_unit_test(test_misuse_fatal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
