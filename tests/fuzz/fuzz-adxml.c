/*
 * libFuzzer harness for adxml_parse(): any bytes must yield one consistent
 * classification, valid JSON text, and no crash, leak or hang.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adxml.h"
#include "json.h"
#include "xmlsafe.h"

/* Stop at the first broken invariant with a clear crash. */
#define CHECK(c) \
	do { \
		if (!(c)) \
			__builtin_trap(); \
	} while (0)

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A field is absent, or non-empty with no surrounding white space. */
static void
fuzz_text(const char *s)
{
	size_t n;

	if (s == NULL)
		return;
	n = strlen(s);
	CHECK(n > 0);
	CHECK(strchr(" \t\r\n", s[0]) == NULL);
	CHECK(strchr(" \t\r\n", s[n - 1]) == NULL);
}

/* The outcome and the fields agree (the unit tests check the same). */
static void
fuzz_invariants(const struct adxml_result *r)
{
	int urls = r->internal_ews_url != NULL || r->external_ews_url != NULL;

	fuzz_text(r->error_code);
	fuzz_text(r->error_message);
	fuzz_text(r->internal_ews_url);
	fuzz_text(r->external_ews_url);
	fuzz_text(r->redirect_target);
	fuzz_text(r->server_version);
	fuzz_text(r->cas_version);
	CHECK(r->nnotes <= 33);
	switch (r->outcome) {
	case ADXML_SETTINGS:
		CHECK(r->reason == NULL && r->error_code == NULL);
		CHECK(r->redirect_target == NULL);
		CHECK(r->format != ADXML_FORMAT_UNKNOWN);
		break;
	case ADXML_REDIRECT_ADDRESS:
	case ADXML_REDIRECT_URL:
		CHECK(r->reason == NULL && r->redirect_target != NULL && !urls);
		break;
	case ADXML_ERROR:
		CHECK(r->reason == NULL && r->error_code != NULL && !urls);
		CHECK(r->error_level != ADXML_LEVEL_NONE);
		break;
	case ADXML_FAULT:
		CHECK(r->reason == NULL && !urls);
		CHECK(r->format == ADXML_FORMAT_SOAP);
		break;
	case ADXML_MALFORMED:
	case ADXML_NOT_AUTODISCOVER:
		CHECK(r->reason != NULL && !urls);
		CHECK(r->error_code == NULL && r->redirect_target == NULL);
		CHECK(r->server_version == NULL && r->nnotes <= 1);
		break;
	}
	CHECK(!r->forbidden || r->outcome == ADXML_MALFORMED);
	CHECK(!r->too_large || r->outcome == ADXML_MALFORMED);
	CHECK(!r->wrong_namespace || r->outcome == ADXML_NOT_AUTODISCOVER);
}

/* The JSON is one object, and holds no raw control characters. */
static void
fuzz_json(const char *s)
{
	size_t n = strlen(s), i;

	CHECK(n >= 2 && s[0] == '{' && s[n - 1] == '}');
	for (i = 0; i < n; i++)
		CHECK((unsigned char)s[i] >= 0x20);
}

/* Set libxml2 up once, as the daemon does. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	xmlsafe_init();
	return 0;
}

/* Classify one input and check the result. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct adxml_result *r;
	char *json;

	r = adxml_parse((const char *)data, size);
	fuzz_invariants(r);
	json = adxml_result_to_json(r, 0);
	fuzz_json(json);
	free(json);
	adxml_result_free(r);
	return 0;
}
