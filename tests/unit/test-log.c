/*
 * Unit tests of log: the stderr backend's format (priority prefix, fields,
 * one record per line), debug filtering, and errno preservation.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

#include "helpers/capture.h"

static char captured[8192];

/* Run fn with stderr redirected to a temporary file; keep what it wrote. */
static void
capture(void (*fn)(void))
{
	capture_begin();
	fn();
	capture_end(captured, sizeof captured);
}

static void
emit_plain(void)
{
	log_warnx("disk %s is %d%% full", "/var", 99);
}

/* A warning is one line with the syslog priority prefix <4>. */
static void
test_stderr_format(void **state)
{
	log_init(LOG_TARGET_STDERR, 0);
	capture(emit_plain);
	assert_string_equal(captured, "<4>disk /var is 99% full\n");
}

static void
emit_fields(void)
{
	struct log_field f[] = {
	    {"TARGET", "lab"},
	    {"REASON", NULL}, /* absent fields are skipped */
	    {"URL", "https://x/\nEWS"},
	};

	log_event(LOG_ERR, "0123456789abcdef0123456789abcdef", f, 3,
	    "target %s down", "lab");
}

/* Fields follow the message; embedded newlines never split a record. */
static void
test_stderr_fields_one_line(void **state)
{
	log_init(LOG_TARGET_STDERR, 0);
	capture(emit_fields);
	assert_string_equal(captured,
	    "<3>target lab down TARGET=lab URL=https://x/\\x0aEWS\n");
}

static void
emit_forged(void)
{
	struct log_field f[] = {
	    {"URL",
	        "https://a/\xc2\x9b"
	        "2J\xe2\x80\xae"
	        "x"},
	    {"CERT_SUBJECT", "CN=\xff\r\n<2>forged"},
	};

	log_event(LOG_ERR, "0123456789abcdef0123456789abcdef", f, 2,
	    "%s down: %s", "lab",
	    "x\n  verdict: ok\nOK: phones can use Exchange");
}

/*
 * Text from outside is escaped in the message and every field (issue 12):
 * C1 (CSI), bidi, invalid UTF-8 and line breaks cannot forge a record.
 */
static void
test_stderr_escapes(void **state)
{
	log_init(LOG_TARGET_STDERR, 0);
	capture(emit_forged);
	assert_string_equal(captured,
	    "<3>lab down: x\\x0a  verdict: ok\\x0aOK: phones can use "
	    "Exchange URL=https://a/\\u009b2J\\u202ex "
	    "CERT_SUBJECT=CN=\\xff\\x0d\\x0a<2>forged\n");
}

static void
emit_debug(void)
{
	log_debug("hidden unless verbose");
}

/* Debug messages appear only when verbose. */
static void
test_debug_filter(void **state)
{
	log_init(LOG_TARGET_STDERR, 0);
	capture(emit_debug);
	assert_string_equal(captured, "");
	log_setverbose(1);
	capture(emit_debug);
	assert_string_equal(captured, "<7>hidden unless verbose\n");
	log_setverbose(0);
}

static void
emit_warn_errno(void)
{
	errno = ENOENT;
	log_warn("open %s", "/nonexistent");
	assert_int_equal(errno, ENOENT);
}

/* log_warn appends strerror(errno) and leaves errno as it was. */
static void
test_warn_errno(void **state)
{
	log_init(LOG_TARGET_STDERR, 0);
	capture(emit_warn_errno);
	assert_non_null(strstr(captured, "<4>open /nonexistent: "));
	assert_non_null(strstr(captured, strerror(ENOENT)));
}

/* With LOG_TARGET_STDERR the journal is never used. */
static void
test_target_stderr(void **state)
{
	log_init(LOG_TARGET_STDERR, 0);
	assert_int_equal(log_to_journal(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stderr_format),
	    cmocka_unit_test(test_stderr_fields_one_line),
	    cmocka_unit_test(test_stderr_escapes),
	    cmocka_unit_test(test_debug_filter),
	    cmocka_unit_test(test_warn_errno),
	    cmocka_unit_test(test_target_stderr),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
