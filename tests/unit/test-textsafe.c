/*
 * Unit tests of textsafe: what is escaped (C0, DEL, C1, bidi and line
 * separators, bytes that are not well-formed UTF-8) and what is kept
 * (printable ASCII, other UTF-8 such as accents, CJK, emoji).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "textsafe.h"

/* textsafe(in) is want, and what it gives needs no more escaping. */
static void
expect(const char *in, const char *want)
{
	char *out = textsafe(in);

	assert_string_equal(out, want);
	assert_true(textsafe_is_safe(out));
	assert_int_equal(textsafe_is_safe(in), strcmp(in, want) == 0);
	free(out);
}

/* Printable text and well-formed UTF-8 pass as they are. */
static void
test_kept(void **unused)
{
	expect("", "");
	expect("https://mail.contoso.com/EWS/Exchange.asmx",
	    "https://mail.contoso.com/EWS/Exchange.asmx");
	expect("CN=Zürich — 東京 \xf0\x9f\x94\x92 \\, x",
	    "CN=Zürich — 東京 \xf0\x9f\x94\x92 \\, x");
	assert_null(textsafe(NULL));
	assert_true(textsafe_is_safe(NULL));
}

/* The forged report of issue 12: no line can be started. */
static void
test_controls(void **unused)
{
	expect("x\n  verdict: ok\nOK: phones can use Exchange",
	    "x\\x0a  verdict: ok\\x0aOK: phones can use Exchange");
	expect("a\rb\tc\033[31md\x7f", "a\\x0db\\x09c\\x1b[31md\\x7f");
	/* C1: U+0085 (NEL), U+009B (CSI), U+0080. */
	expect("a\xc2\x85"
	       "b\xc2\x9b"
	       "1m\xc2\x80",
	    "a\\u0085b\\u009b1m\\u0080");
}

/* Bidi controls and line separators. */
static void
test_bidi(void **unused)
{
	expect("\xe2\x80\xae"
	       "lmth.exe",
	    "\\u202elmth.exe");
	expect("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad",
	    "\\u202a\\u202b\\u202c\\u202d");
	expect("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9",
	    "\\u2066\\u2067\\u2068\\u2069");
	expect("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "\\u200e\\u200f\\u061c");
	expect("\xe2\x80\xa8\xe2\x80\xa9", "\\u2028\\u2029");
	/* Neighbours stay: U+2065, U+206A, U+2027, U+202F. */
	expect("\xe2\x81\xa5\xe2\x81\xaa\xe2\x80\xa7\xe2\x80\xaf",
	    "\xe2\x81\xa5\xe2\x81\xaa\xe2\x80\xa7\xe2\x80\xaf");
}

/* Bytes that are not UTF-8 are shown one by one, never decoded. */
static void
test_invalid_utf8(void **unused)
{
	expect("\xff\xfe", "\\xff\\xfe");
	/* A stray continuation byte, a cut sequence at the end. */
	expect("a\x80z\xe2\x80", "a\\x80z\\xe2\\x80");
	/* Overlong newline and overlong CSI: not a way around. */
	expect("\xc0\x8a\xe0\x82\x9b", "\\xc0\\x8a\\xe0\\x82\\x9b");
	/* A surrogate, and beyond U+10FFFF. */
	expect("\xed\xa0\x80\xf4\x90\x80\x80",
	    "\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80");
	/* A lead byte followed by an escape: both shown, the ESC too. */
	expect("\xc2\x1b", "\\xc2\\x1b");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kept),
	    cmocka_unit_test(test_controls),
	    cmocka_unit_test(test_bidi),
	    cmocka_unit_test(test_invalid_utf8),
	};

	return cmocka_run_group_tests_name("textsafe", tests, NULL, NULL);
}
