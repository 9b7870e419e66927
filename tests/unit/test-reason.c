/*
 * Unit tests of reason: every reason has a unique name that is safe as a
 * metric label, and what the phone would log (WinINet code, its constant,
 * its HRESULT) agrees with the table of docs/protocol.md §5, which the test
 * reads.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reason.h"

/*
 * One past the last reason: REASON_INTERNAL and any appended after it
 * (beyond the table, reason_name() falls back to "internal_error").
 */
static int
reason_end(void)
{
	int r = REASON_INTERNAL + 1;

	while (strcmp(reason_name((enum reason)r), "internal_error") != 0)
		r++;
	return r;
}

/* What each reason maps to, by the rows of docs/protocol.md §5. */
static const struct {
	enum reason r;
	int code;
} expected[] = {
    {REASON_OK, 0}, {REASON_DNS_FAILED, 12007}, /* name does not resolve */
    {REASON_DNS_TIMEOUT, 0},
    {REASON_CONNECT_FAILED, 12029}, /* connect refused / unreachable */
    {REASON_TIMEOUT, 12002},
    {REASON_TLS_HANDSHAKE_FAILED, 12157}, /* TLS handshake failure */
    {REASON_TLS_VERSION_UNSUPPORTED, 12157},
    {REASON_TLS_NO_COMMON_SUITE, 12157}, /* no suite in common */
    {REASON_TLS_RESET, 12031}, /* connection reset */
    {REASON_CERT_UNTRUSTED_PHONE, 12045}, /* the incident */
    {REASON_CERT_UNTRUSTED_PHONE_SOME, 12045}, /* ... at some addresses */
    {REASON_CERT_UNTRUSTED, 12045}, {REASON_CERT_EXPIRED, 12037},
    {REASON_CERT_NOT_YET_VALID, 12037}, {REASON_CERT_NAME_MISMATCH, 12038},
    {REASON_CERT_INVALID, 12169}, /* unusable certificate */
    {REASON_AUTODISCOVER_MALFORMED, 12152}, /* invalid server response */
    {REASON_RESPONSE_TOO_LARGE, 12152},
    /* The same codes, logged during discovery (docs/discovery.md). */
    {REASON_AUTODISCOVER_CERT_UNTRUSTED_PHONE, 12045},
    {REASON_AUTODISCOVER_CERT_EXPIRED, 12037},
    {REASON_AUTODISCOVER_CERT_NAME_MISMATCH, 12038},
    {REASON_AUTODISCOVER_CERT_INVALID, 12169},
    {REASON_AUTODISCOVER_TLS_REFUSED, 12157},
    {REASON_AUTODISCOVER_TLS_RESET, 12031}, /* the phone's hello reset */
};

/* One row of the §5 table: a WinINet code and its constant's name. */
struct row {
	int code;
	char name[64];
};

/*
 * Read the "| failure | code | name |" rows of docs/protocol.md §5 into
 * rows; return how many.
 */
static size_t
doc_rows(struct row *rows, size_t max)
{
	char line[512], name[64];
	int in5 = 0, code;
	size_t n = 0;
	FILE *fp;

	fp = fopen(TEST_DOCS_DIR "/protocol.md", "r");
	assert_non_null(fp);
	while (fgets(line, sizeof line, fp) != NULL) {
		if (strncmp(line, "## ", 3) == 0) {
			in5 = strncmp(line, "## 5. ", 6) == 0;
			continue;
		}
		if (!in5 || line[0] != '|')
			continue;
		if (sscanf(line, "| %*[^|]| %d | %63[A-Z_] |", &code, name) !=
		    2)
			continue;
		assert_true(n < max);
		rows[n].code = code;
		snprintf(rows[n].name, sizeof rows[n].name, "%s", name);
		n++;
	}
	fclose(fp);
	return n;
}

/* Every reason has a name of [a-z_]+, and no two share one. */
static void
test_names_unique_label_safe(void **unused)
{
	const char *names[256], *p;
	int r, s, end = reason_end();

	assert_true(end <= 256);
	for (r = 0; r < end; r++) {
		names[r] = reason_name((enum reason)r);
		assert_non_null(names[r]);
		assert_true(names[r][0] != '\0');
		for (p = names[r]; *p != '\0'; p++) {
			if (!(islower((unsigned char)*p) || *p == '_'))
				fail_msg("reason %d: \"%s\" is not [a-z_]+", r,
				    names[r]);
		}
		for (s = 0; s < r; s++) {
			if (strcmp(names[r], names[s]) == 0)
				fail_msg("reasons %d and %d share \"%s\"", s, r,
				    names[r]);
		}
	}
	assert_string_equal(reason_name(REASON_OK), "ok");
	assert_string_equal(reason_name(REASON_INTERNAL), "internal_error");
}

/* A value outside the enum (a bug) still names a reason, never NULL. */
static void
test_unknown_reason(void **unused)
{
	enum reason bad = (enum reason)(reason_end() + 100);

	assert_string_equal(reason_name(bad), "internal_error");
	assert_int_equal(reason_wininet(bad), 0);
	assert_int_equal(reason_hresult(bad), 0);
	assert_null(reason_wininet_name(bad));
}

/* Each reason maps to the WinINet code of its §5 row, or to none. */
static void
test_wininet_codes(void **unused)
{
	size_t i;
	int r, code, end = reason_end();

	for (i = 0; i < sizeof expected / sizeof expected[0]; i++) {
		if (reason_wininet(expected[i].r) != expected[i].code)
			fail_msg("%s: WinINet %d, want %d",
			    reason_name(expected[i].r),
			    reason_wininet(expected[i].r), expected[i].code);
	}
	/* Reasons not in the list log no WinINet code. */
	for (r = 0; r < end; r++) {
		code = 0;
		for (i = 0; i < sizeof expected / sizeof expected[0]; i++) {
			if ((int)expected[i].r == r)
				code = expected[i].code;
		}
		if (code == 0 && reason_wininet((enum reason)r) != 0)
			fail_msg("%s: unexpected WinINet %d",
			    reason_name((enum reason)r),
			    reason_wininet((enum reason)r));
	}
}

/*
 * The code, its constant's name and the HRESULT agree with each other and
 * with the table in docs/protocol.md §5: the name is the table's name for
 * that code, the HRESULT is 0x80070000 | code.
 */
static void
test_matches_protocol_doc(void **unused)
{
	struct row rows[64];
	size_t n, i;
	int r, code, found, end = reason_end();
	const char *name;

	n = doc_rows(rows, 64);
	assert_true(n >= 12);
	for (r = 0; r < end; r++) {
		code = reason_wininet((enum reason)r);
		name = reason_wininet_name((enum reason)r);
		if (code == 0) {
			assert_null(name);
			assert_int_equal(reason_hresult((enum reason)r), 0);
			continue;
		}
		assert_non_null(name);
		assert_int_equal(reason_hresult((enum reason)r),
		    0x80070000u | (unsigned int)code);
		found = 0;
		for (i = 0; i < n; i++) {
			if (rows[i].code == code &&
			    strcmp(rows[i].name, name) == 0)
				found = 1;
		}
		if (!found)
			fail_msg("%s: %d %s is not a row of docs/protocol.md "
			         "§5",
			    reason_name((enum reason)r), code, name);
	}
}

/* What phones meet at an Autodiscover host, named for discovery. */
static void
test_discovery_reasons(void **unused)
{
	static const struct {
		enum reason met, want;
	} map[] = {
	    {REASON_CERT_UNTRUSTED_PHONE,
	        REASON_AUTODISCOVER_CERT_UNTRUSTED_PHONE},
	    {REASON_CERT_UNTRUSTED, REASON_AUTODISCOVER_CERT_UNTRUSTED_PHONE},
	    {REASON_CERT_EXPIRED, REASON_AUTODISCOVER_CERT_EXPIRED},
	    {REASON_CERT_NOT_YET_VALID, REASON_AUTODISCOVER_CERT_EXPIRED},
	    {REASON_CERT_NAME_MISMATCH, REASON_AUTODISCOVER_CERT_NAME_MISMATCH},
	    {REASON_CERT_INVALID, REASON_AUTODISCOVER_CERT_INVALID},
	    {REASON_TLS_VERSION_UNSUPPORTED, REASON_AUTODISCOVER_TLS_REFUSED},
	    {REASON_TLS_HANDSHAKE_FAILED, REASON_AUTODISCOVER_TLS_REFUSED},
	    /* The phone's own hello (no SNI, its suites): phonelook.c. */
	    {REASON_TLS_NO_COMMON_SUITE, REASON_AUTODISCOVER_TLS_REFUSED},
	    {REASON_TLS_RESET, REASON_AUTODISCOVER_TLS_RESET},
	    {REASON_TIMEOUT, REASON_AUTODISCOVER_UNREACHABLE},
	};
	size_t i;

	for (i = 0; i < sizeof map / sizeof map[0]; i++) {
		assert_int_equal(reason_discovery(map[i].met), map[i].want);
		/* The code phones log is the one they log for EWS. */
		if (map[i].want != REASON_AUTODISCOVER_UNREACHABLE)
			assert_int_equal(reason_wininet(map[i].want),
			    reason_wininet(map[i].met));
	}
	assert_false(reason_warning(REASON_AUTODISCOVER_TLS_REFUSED));
	assert_true(reason_failed(REASON_AUTODISCOVER_TLS_RESET));
	assert_true(reason_failed(REASON_AUTODISCOVER_CERT_UNTRUSTED_PHONE));
}

/* The incident's code as the phone logs it: 0x80072F0D = 12045. */
static void
test_incident_hresult(void **unused)
{
	assert_int_equal(reason_wininet(REASON_CERT_UNTRUSTED_PHONE), 12045);
	assert_int_equal(reason_hresult(REASON_CERT_UNTRUSTED_PHONE),
	    0x80072F0Du);
	assert_string_equal(reason_wininet_name(REASON_CERT_UNTRUSTED_PHONE),
	    "ERROR_INTERNET_INVALID_CA");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_unique_label_safe),
	    cmocka_unit_test(test_unknown_reason),
	    cmocka_unit_test(test_wininet_codes),
	    cmocka_unit_test(test_matches_protocol_doc),
	    cmocka_unit_test(test_incident_hresult),
	    cmocka_unit_test(test_discovery_reasons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
