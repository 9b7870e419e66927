/*
 * json: owns JSON output — the growing buffer, the nesting bookkeeping that
 * places commas, colons and indentation, and string escaping that turns any
 * bytes into valid JSON text in valid UTF-8. It knows syntax only; what the
 * result documents hold (members, units, the versioned schema) is
 * resultjson's.
 *
 * Why a streaming writer and no JSON library's tree (jansson and the like
 * build the whole document in memory, then serialise it): the status file
 * and `--once --json` describe up to 10,000 targets with their steps, and
 * with a sink the writer hands the text out in JSON_SINK_CHUNK pieces as
 * it goes (or at json_flush), so no copy of the whole document exists as a
 * tree of nodes, and --once prints each target as soon as it is its turn.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "xmalloc.h"

/* Deeper nesting than this is a caller bug, not data. */
#define JSON_MAX_DEPTH 32

enum json_frame_type {
	JSON_TOP,
	JSON_OBJECT,
	JSON_ARRAY,
};

struct json_frame {
	enum json_frame_type type;
	size_t count; /* values written at this level */
	int key_done; /* object: a key waits for its value */
};

/* With a sink, the buffer is written out whenever it holds this much. */
#define JSON_SINK_CHUNK (64u * 1024)

struct json {
	char *buf;
	size_t len;
	size_t cap;
	FILE *sink; /* or NULL: the whole document stays in buf */
	int flags;
	int depth;
	struct json_frame stack[JSON_MAX_DEPTH + 1];
};

/* Start an empty document. */
struct json *
json_new(int flags)
{
	struct json *j;

	j = xcalloc(1, sizeof *j);
	j->flags = flags;
	j->cap = 256;
	j->buf = xmalloc(j->cap);
	j->buf[0] = '\0';
	j->stack[0].type = JSON_TOP;
	return j;
}

/*
 * Stream the document to fp as it is written instead of keeping it: memory
 * stays at one chunk however large the document. json_finish_sink() ends
 * it; write errors are the stream's (ferror).
 */
struct json *
json_new_sink(FILE *fp, int flags)
{
	struct json *j = json_new(flags);

	j->sink = fp;
	return j;
}

/* End a streamed document: write the rest to the sink; free the writer. */
void
json_finish_sink(struct json *j)
{
	FILE *fp = j->sink;
	char *rest;
	size_t len;

	j->sink = NULL;
	rest = json_finish(j, &len);
	(void)fwrite(rest, 1, len, fp);
	free(rest);
}

/*
 * Hand what is buffered to the sink now (a streamed document whose reader
 * should see each part as it is done); a writer without a sink keeps it.
 */
void
json_flush(struct json *j)
{
	if (j->sink == NULL || j->len == 0)
		return;
	(void)fwrite(j->buf, 1, j->len, j->sink);
	j->len = 0;
	j->buf[0] = '\0';
	(void)fflush(j->sink);
}

/* Free a writer and its buffer. */
void
json_free(struct json *j)
{
	if (j == NULL)
		return;
	free(j->buf);
	free(j);
}

/*
 * End the document and take its text, NUL-terminated, with a final newline
 * when pretty; *len (if not NULL) gets its length. Frees the writer; caller
 * frees the text.
 */
char *
json_finish(struct json *j, size_t *len)
{
	char *out;

	if (j->depth != 0 || j->stack[0].count != 1)
		fatalx("json: document not complete");
	if (j->flags & JSON_PRETTY) {
		if (j->len + 2 > j->cap) {
			j->buf = xreallocarray(j->buf, 1, j->len + 2);
			j->cap = j->len + 2;
		}
		j->buf[j->len++] = '\n';
		j->buf[j->len] = '\0';
	}
	out = j->buf;
	if (len != NULL)
		*len = j->len;
	free(j);
	return out;
}

/* Append n bytes to the buffer, keeping it NUL-terminated. */
static void
json_put(struct json *j, const char *s, size_t n)
{
	size_t want;

	/* Streaming: hand what is buffered to the sink first. */
	if (j->sink != NULL && j->len + n > JSON_SINK_CHUNK) {
		(void)fwrite(j->buf, 1, j->len, j->sink);
		j->len = 0;
	}
	if (n >= ((size_t)-1) / 2 - j->len)
		fatalx("json: output too large");
	want = j->len + n + 1;
	if (want > j->cap) {
		while (j->cap < want)
			j->cap *= 2;
		j->buf = xreallocarray(j->buf, 1, j->cap);
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

/* Append a NUL-terminated string. */
static void
json_puts(struct json *j, const char *s)
{
	json_put(j, s, strlen(s));
}

/* In pretty mode, start a new line indented for the current depth. */
static void
json_newline(struct json *j)
{
	int i;

	if (!(j->flags & JSON_PRETTY))
		return;
	json_put(j, "\n", 1);
	for (i = 0; i < j->depth; i++)
		json_put(j, "  ", 2);
}

/*
 * Get ready for a value at the current level: a comma and a new line in an
 * array, nothing after an object key, and only one value at the top.
 */
static void
json_before_value(struct json *j)
{
	struct json_frame *f = &j->stack[j->depth];

	switch (f->type) {
	case JSON_TOP:
		if (f->count != 0)
			fatalx("json: second top-level value");
		break;
	case JSON_OBJECT:
		if (!f->key_done)
			fatalx("json: object value without a key");
		f->key_done = 0;
		break;
	case JSON_ARRAY:
		if (f->count != 0)
			json_put(j, ",", 1);
		json_newline(j);
		break;
	}
	f->count++;
}

/* Open a container of the given type. */
static void
json_open(struct json *j, enum json_frame_type type, const char *brace)
{
	json_before_value(j);
	if (j->depth == JSON_MAX_DEPTH)
		fatalx("json: nesting too deep");
	json_puts(j, brace);
	j->depth++;
	memset(&j->stack[j->depth], 0, sizeof j->stack[j->depth]);
	j->stack[j->depth].type = type;
}

/* Close the innermost container, which must be of the given type. */
static void
json_close(struct json *j, enum json_frame_type type, const char *brace)
{
	struct json_frame *f = &j->stack[j->depth];
	size_t count = f->count;

	if (j->depth == 0 || f->type != type || f->key_done)
		fatalx("json: unbalanced close");
	j->depth--;
	if (count != 0)
		json_newline(j);
	json_puts(j, brace);
}

/* Begin an object. */
void
json_object_begin(struct json *j)
{
	json_open(j, JSON_OBJECT, "{");
}

/* End the current object. */
void
json_object_end(struct json *j)
{
	json_close(j, JSON_OBJECT, "}");
}

/* Begin an array. */
void
json_array_begin(struct json *j)
{
	json_open(j, JSON_ARRAY, "[");
}

/* End the current array. */
void
json_array_end(struct json *j)
{
	json_close(j, JSON_ARRAY, "]");
}

/*
 * The length of the valid UTF-8 sequence at s (at most n bytes), or 0 when
 * it is not one (RFC 3629: no overlongs, no surrogates, nothing above
 * U+10FFFF).
 */
static size_t
json_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < need)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < need; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return need;
}

/* Append n bytes of s as a quoted, escaped JSON string. */
static void
json_put_quoted(struct json *j, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + n, *q;
	char esc[8];
	size_t run;

	json_put(j, "\"", 1);
	while (p < end) {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			json_put(j, esc, 2);
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			switch (*p) {
			case '\b':
				json_put(j, "\\b", 2);
				break;
			case '\f':
				json_put(j, "\\f", 2);
				break;
			case '\n':
				json_put(j, "\\n", 2);
				break;
			case '\r':
				json_put(j, "\\r", 2);
				break;
			case '\t':
				json_put(j, "\\t", 2);
				break;
			default:
				snprintf(esc, sizeof esc, "\\u%04x", *p);
				json_put(j, esc, 6);
				break;
			}
			p++;
		} else if ((run = json_utf8_len(p, (size_t)(end - p))) != 0) {
			/*
			 * Characters that need no escape go out as one run:
			 * one copy for a plain string, not one per character.
			 */
			q = p + run;
			while (q < end && *q != '"' && *q != '\\' &&
			    *q >= 0x20 && *q != 0x7f &&
			    (run = json_utf8_len(q, (size_t)(end - q))) != 0)
				q += run;
			json_put(j, (const char *)p, (size_t)(q - p));
			p = q;
		} else {
			/* One replacement character per bad byte. */
			json_put(j, "\xef\xbf\xbd", 3);
			p++;
		}
	}
	json_put(j, "\"", 1);
}

/* Write an object member's key; its value must follow. */
void
json_key(struct json *j, const char *key)
{
	struct json_frame *f = &j->stack[j->depth];

	if (f->type != JSON_OBJECT || f->key_done)
		fatalx("json: key outside an object");
	if (f->count != 0)
		json_put(j, ",", 1);
	json_newline(j);
	json_put_quoted(j, key, strlen(key));
	json_puts(j, (j->flags & JSON_PRETTY) ? ": " : ":");
	f->key_done = 1;
}

/* Write a string value; NULL writes null. */
void
json_str(struct json *j, const char *s)
{
	if (s == NULL) {
		json_nil(j);
		return;
	}
	json_strn(j, s, strlen(s));
}

/* Write n bytes as a string value (NUL bytes become \u0000). */
void
json_strn(struct json *j, const char *s, size_t n)
{
	json_before_value(j);
	json_put_quoted(j, s, n);
}

/* Write an integer value. */
void
json_int(struct json *j, long long v)
{
	char num[32];

	json_before_value(j);
	snprintf(num, sizeof num, "%lld", v);
	json_puts(j, num);
}

/*
 * Write a number with up to 6 significant digits (%g). JSON has no NaN or
 * infinity (RFC 8259 §6) and printf would write "nan": they become null.
 */
void
json_double(struct json *j, double v)
{
	char num[32];

	if (!isfinite(v)) {
		json_nil(j);
		return;
	}
	json_before_value(j);
	snprintf(num, sizeof num, "%.6g", v);
	json_puts(j, num);
}

/*
 * Write v / 10^scale as an exact decimal number ("12.345" for 12345 and
 * 3): fixed-point values such as microseconds shown as milliseconds, with
 * no rounding by a binary double. scale is 0 to 9.
 */
void
json_decimal(struct json *j, long long v, int scale)
{
	unsigned long long u, div = 1;
	char num[48];
	int i;

	if (scale < 0 || scale > 9)
		fatalx("json: decimal scale %d", scale);
	for (i = 0; i < scale; i++)
		div *= 10;
	u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	json_before_value(j);
	if (scale == 0)
		snprintf(num, sizeof num, "%s%llu", v < 0 ? "-" : "", u);
	else
		snprintf(num, sizeof num, "%s%llu.%0*llu", v < 0 ? "-" : "",
		    u / div, scale, u % div);
	json_puts(j, num);
}

/* Write true or false. */
void
json_bool(struct json *j, int v)
{
	json_before_value(j);
	json_puts(j, v ? "true" : "false");
}

/* Write null. */
void
json_nil(struct json *j)
{
	json_before_value(j);
	json_puts(j, "null");
}

/* Write a member with a string value (NULL: null). */
void
json_kv_string(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_str(j, s);
}

/* Write a member with an integer value. */
void
json_kv_int(struct json *j, const char *key, long long v)
{
	json_key(j, key);
	json_int(j, v);
}

/* Write a member with a number value (%g). */
void
json_kv_double(struct json *j, const char *key, double v)
{
	json_key(j, key);
	json_double(j, v);
}

/* Write a member with an exact decimal value (json_decimal). */
void
json_kv_decimal(struct json *j, const char *key, long long v, int scale)
{
	json_key(j, key);
	json_decimal(j, v, scale);
}

/* Write a member with a boolean value. */
void
json_kv_bool(struct json *j, const char *key, int v)
{
	json_key(j, key);
	json_bool(j, v);
}

/* Write a member whose value is null. */
void
json_kv_null(struct json *j, const char *key)
{
	json_key(j, key);
	json_nil(j);
}
