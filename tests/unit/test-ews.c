/*
 * Unit tests of ews: the GetFolder request, WWW-Authenticate offers and
 * the classification of EWS answers (including hostile ones).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ews.h"
#include "xmlsafe.h"

/* Read tests/data/ews/name into a new buffer; *len gets its size. */
static char *
load(const char *name, size_t *len)
{
	char path[512];
	FILE *fp;
	char *buf;
	long n;

	snprintf(path, sizeof path, "%s/ews/%s", TEST_DATA_DIR, name);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* Parse a data file and check outcome and response code. */
static void
expect(const char *name, enum ews_outcome outcome, const char *code)
{
	struct ews_answer ans;
	size_t len;
	char *buf = load(name, &len);

	assert_int_equal(ews_parse_answer(buf, len, &ans), 0);
	assert_string_equal(ews_outcome_name(ans.outcome),
	    ews_outcome_name(outcome));
	if (code == NULL)
		assert_null(ans.response_code);
	else
		assert_string_equal(ans.response_code, code);
	ews_answer_clear(&ans);
	free(buf);
}

/* The request is well-formed, names the calendar and Exchange2010. */
static void
test_request(void **unused)
{
	enum xmlsafe_status st;
	char *req = ews_getfolder_request();
	xmlDocPtr doc;

	assert_non_null(strstr(req, "Version=\"Exchange2010\""));
	assert_non_null(strstr(req, "DistinguishedFolderId Id=\"calendar\""));
	assert_non_null(strstr(req, "<t:BaseShape>IdOnly</t:BaseShape>"));
	assert_null(strstr(req, "https://schemas"));
	doc = xmlsafe_parse(req, strlen(req), 1 << 20, &st, NULL);
	assert_non_null(doc);
	xmlFreeDoc(doc);
	free(req);
}

/* Each answer shape is classified. */
static void
test_answers(void **unused)
{
	struct ews_answer ans;
	size_t len;
	char *buf;

	expect("getfolder-success.xml", EWS_SUCCESS, "NoError");
	expect("getfolder-error.xml", EWS_ERROR, "ErrorFolderNotFound");
	expect("fault-schema.xml", EWS_FAULT, "ErrorSchemaValidation");
	expect("not-ews.html", EWS_NOT_EWS, NULL);
	expect("foreign-namespace.xml", EWS_NOT_EWS, NULL);
	expect("billion-laughs.xml", EWS_MALFORMED, "xml_dtd_forbidden");

	buf = load("getfolder-success.xml", &len);
	assert_int_equal(ews_parse_answer(buf, len, &ans), 0);
	assert_string_equal(ans.server_version,
	    "14.3.123.4 (Exchange2010_SP2)");
	ews_answer_clear(&ans);
	/* Truncated: not well-formed. */
	assert_int_equal(ews_parse_answer(buf, len / 2, &ans), 0);
	assert_int_equal(ans.outcome, EWS_MALFORMED);
	assert_string_equal(ans.response_code, "xml_malformed");
	ews_answer_clear(&ans);
	free(buf);
	/* Empty body (a 200 with nothing). */
	assert_int_equal(ews_parse_answer("", 0, &ans), 0);
	assert_int_equal(ans.outcome, EWS_MALFORMED);
	ews_answer_clear(&ans);
}

/* WWW-Authenticate values: separate headers, lists, parameters. */
static void
test_auth_schemes(void **unused)
{
	const char *iis[] = {"Negotiate", "NTLM"};
	const char *basic[] = {"Basic realm=\"mail.contoso.com\""};
	const char *bearer[] = {"Bearer client_id=\"00000002-0000-0ff1-ce00-"
	                        "000000000000\", trusted_issuers=\"a, NTLM\"",
	    "Basic realm=\"x\""};
	const char *list[] = {"Basic realm=\"x, y\", NTLM, Negotiate"};
	const char *challenge[] = {"NTLM TlRMTVNTUAACAAAADAAMADgAAAAF"};
	const char *custom[] = {"X-Custom realm=\"x\""};
	char *names;
	int bits;

	bits = ews_auth_schemes(iis, 2);
	assert_int_equal(bits, EWS_AUTH_NTLM | EWS_AUTH_NEGOTIATE);
	assert_true(ews_auth_phone_ok(bits));
	names = ews_auth_names(bits);
	assert_string_equal(names, "Negotiate, NTLM");
	free(names);

	bits = ews_auth_schemes(basic, 1);
	assert_int_equal(bits, EWS_AUTH_BASIC);
	assert_false(ews_auth_phone_ok(bits));

	/* A quoted "NTLM" inside a Bearer parameter is not an offer. */
	bits = ews_auth_schemes(bearer, 2);
	assert_int_equal(bits, EWS_AUTH_BEARER | EWS_AUTH_BASIC);
	assert_false(ews_auth_phone_ok(bits));

	bits = ews_auth_schemes(list, 1);
	assert_int_equal(bits,
	    EWS_AUTH_BASIC | EWS_AUTH_NTLM | EWS_AUTH_NEGOTIATE);

	assert_int_equal(ews_auth_schemes(challenge, 1), EWS_AUTH_NTLM);
	/* A scheme libcurl does not implement is still an offer: "other". */
	bits = ews_auth_schemes(custom, 1);
	assert_int_equal(bits, EWS_AUTH_OTHER);
	names = ews_auth_names(bits);
	assert_string_equal(names, "other");
	free(names);
	assert_int_equal(ews_auth_schemes(NULL, 0), 0);
	names = ews_auth_names(0);
	assert_string_equal(names, "none");
	free(names);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request),
	    cmocka_unit_test(test_answers),
	    cmocka_unit_test(test_auth_schemes),
	};
	int r;

	xmlsafe_init();
	r = cmocka_run_group_tests_name("ews", tests, NULL, NULL);
	xmlCleanupParser();
	return r;
}
