/*
 * jsoncheck: an independent JSON parser (jansson) for tests that check what
 * ewsprobed writes, in a translation unit of its own so that jansson's
 * json_* declarations stay apart from ewsprobed's writer (json.h).
 */
#ifndef EWSPROBED_TEST_JSONCHECK_H
#define EWSPROBED_TEST_JSONCHECK_H

#include <stddef.h>

int jsoncheck_valid(const char *, size_t, char *, size_t);
char *jsoncheck_string(const char *, size_t, size_t *);
char *jsoncheck_get(const char *, size_t, const char *);

#endif
