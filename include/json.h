/*
 * json: a small streaming JSON writer (RFC 8259) into a growing buffer or a
 * FILE (the sink), for `ewsprobed parse`, the result documents (resultjson:
 * the status file, --once --json) and anything else that prints JSON. It is
 * syntax only; the result schema lives in resultjson.
 *
 * Calls are made in document order: json_object_begin(), then json_key()
 * before each member's value, json_object_end(). Strings are escaped here:
 * quotes, backslash and control characters are escaped, valid UTF-8 passes
 * through, and every invalid UTF-8 sequence becomes U+FFFD, so whatever
 * bytes a server sent, the output is valid JSON in valid UTF-8. Misuse (a
 * value where a key is due, unbalanced ends) is a bug and ends in fatalx().
 */
#ifndef EWSPROBED_JSON_H
#define EWSPROBED_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Flags for json_new(). */
#define JSON_PRETTY 0x1 /* newlines and two-space indentation */

struct json;

struct json *json_new(int);
void json_free(struct json *);
char *json_finish(struct json *, size_t *);
struct json *json_new_sink(FILE *, int);
void json_finish_sink(struct json *);
void json_flush(struct json *);

void json_object_begin(struct json *);
void json_object_end(struct json *);
void json_array_begin(struct json *);
void json_array_end(struct json *);
void json_key(struct json *, const char *);

/*
 * json_str, json_strn and json_nil, not json_string, json_stringn and
 * json_null: jansson (read by `ewsprobed status` and the tests) exports
 * those names, and two definitions of one symbol in one program call
 * each other's code.
 */
void json_str(struct json *, const char *);
void json_strn(struct json *, const char *, size_t);
void json_int(struct json *, long long);
void json_double(struct json *, double);
void json_decimal(struct json *, long long, int);
void json_bool(struct json *, int);
void json_nil(struct json *);

/* Shorthands for one object member: key then value (NULL string = null). */
void json_kv_string(struct json *, const char *, const char *);
void json_kv_int(struct json *, const char *, long long);
void json_kv_double(struct json *, const char *, double);
void json_kv_decimal(struct json *, const char *, long long, int);
void json_kv_bool(struct json *, const char *, int);
void json_kv_null(struct json *, const char *);

#endif
