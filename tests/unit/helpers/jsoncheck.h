/*
 * jsoncheck: an independent JSON parser (jansson) for tests that check what
 * ewsprobed writes. Its own translation unit: jansson's json_string() and
 * json_null() share names with ewsprobed's writer (json.h).
 */
#ifndef EWSPROBED_TEST_JSONCHECK_H
#define EWSPROBED_TEST_JSONCHECK_H

#include <stddef.h>

int jsoncheck_valid(const char *, size_t, char *, size_t);
char *jsoncheck_string(const char *, size_t, size_t *);
char *jsoncheck_get(const char *, size_t, const char *);

#endif
