/*
 * jsoncheck: parse JSON text with jansson, which accepts only valid JSON in
 * valid UTF-8 (RFC 8259), for the tests of ewsprobed's JSON output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsoncheck.h"

/* Whether text (len bytes) is one JSON value; if not, why (in why). */
int
jsoncheck_valid(const char *text, size_t len, char *why, size_t whylen)
{
	json_error_t error;
	json_t *root;

	root = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
	if (root == NULL) {
		snprintf(why, whylen, "%s at %d", error.text, error.position);
		return 0;
	}
	json_decref(root);
	return 1;
}

/*
 * The decoded value of text when it is one JSON string, NUL-terminated,
 * its length in *outlen; NULL if it is not. Caller frees.
 */
char *
jsoncheck_string(const char *text, size_t len, size_t *outlen)
{
	json_error_t error;
	json_t *root;
	char *out = NULL;

	root = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
	if (root == NULL)
		return NULL;
	if (json_is_string(root)) {
		*outlen = json_string_length(root);
		out = malloc(*outlen + 1);
		if (out != NULL) {
			memcpy(out, json_string_value(root), *outlen);
			out[*outlen] = '\0';
		}
	}
	json_decref(root);
	return out;
}
