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

/*
 * The value at path in the document text — members and array indexes
 * joined by "/", "" for the whole — as compact JSON ("\"x\"", "12.5",
 * "null"); NULL when the text is not JSON or nothing is there. Caller
 * frees.
 */
char *
jsoncheck_get(const char *text, size_t len, const char *path)
{
	json_error_t error;
	json_t *root, *v;
	char *copy, *part, *save = NULL, *end, *out = NULL;
	long idx;

	root = json_loadb(text, len, JSON_DECODE_ANY, &error);
	if (root == NULL || (copy = strdup(path)) == NULL) {
		json_decref(root);
		return NULL;
	}
	v = root;
	for (part = strtok_r(copy, "/", &save); v != NULL && part != NULL;
	     part = strtok_r(NULL, "/", &save)) {
		if (json_is_array(v)) {
			idx = strtol(part, &end, 10);
			v = *end == '\0' && idx >= 0
			    ? json_array_get(v, (size_t)idx)
			    : NULL;
		} else
			v = json_object_get(v, part);
	}
	if (v != NULL)
		out = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	free(copy);
	json_decref(root);
	return out;
}
