/*
 * step: owns step records and step lists (allocation, outcome, freeing).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "step.h"
#include "xmalloc.h"

/* Append a new step with a formatted title; it starts as ok, no timings. */
struct step *
step_add(struct step_list *list, enum step_kind kind, int depth,
    const char *fmt, ...)
{
	struct step *st;
	va_list ap;

	st = xcalloc(1, sizeof *st);
	st->kind = kind;
	st->result = STEP_OK;
	st->depth = depth;
	va_start(ap, fmt);
	xvasprintf(&st->title, fmt, ap);
	va_end(ap);
	st->timings.dns_us = st->timings.connect_us = st->timings.tls_us = -1;
	st->timings.first_byte_us = st->timings.total_us = -1;
	TAILQ_INSERT_TAIL(list, st, entry);
	return st;
}

/* Set a step's outcome: result, bounded reason (or NULL), detail text. */
void
step_set(struct step *st, enum step_result result, const char *reason,
    const char *fmt, ...)
{
	va_list ap;

	st->result = result;
	step_set_str(&st->reason, reason);
	free(st->detail);
	st->detail = NULL;
	if (fmt != NULL) {
		va_start(ap, fmt);
		xvasprintf(&st->detail, fmt, ap);
		va_end(ap);
	}
}

/* Replace an owned string field with a copy of value (NULL clears it). */
void
step_set_str(char **field, const char *value)
{
	free(*field);
	*field = value != NULL ? xstrdup(value) : NULL;
}

/* Initialise an empty list. */
void
step_list_init(struct step_list *list)
{
	TAILQ_INIT(list);
}

/* Free every step of a list, leaving it empty. */
void
step_list_free(struct step_list *list)
{
	struct step *st;

	while ((st = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, st, entry);
		free(st->title);
		free(st->method);
		free(st->url);
		free(st->address);
		free(st->tls_version);
		free(st->reason);
		free(st->detail);
		free(st);
	}
}

/* Move every step of src to the end of dst. */
void
step_list_move(struct step_list *dst, struct step_list *src)
{
	TAILQ_CONCAT(dst, src, entry);
}

/* The result's name ("ok", "warn", "fail", "skip"). */
const char *
step_result_name(enum step_result r)
{
	switch (r) {
	case STEP_OK:
		return "ok";
	case STEP_WARN:
		return "warn";
	case STEP_FAIL:
		return "fail";
	case STEP_SKIP:
		return "skip";
	}
	return "fail";
}

/* The kind's name ("dns", "http", "tls", "frontend", "note"). */
const char *
step_kind_name(enum step_kind k)
{
	switch (k) {
	case STEP_DNS:
		return "dns";
	case STEP_HTTP:
		return "http";
	case STEP_TLS:
		return "tls";
	case STEP_FRONTEND:
		return "frontend";
	case STEP_NOTE:
		return "note";
	}
	return "note";
}
