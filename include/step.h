/*
 * step: the record of one thing a probe tried — a DNS lookup, an HTTP
 * request to an autodiscover candidate, a TLS handshake judged under a trust
 * policy, an EWS request — with its timings and outcome.
 *
 * A probe's steps form an ordered list; the one-shot report prints it as a
 * tree like Microsoft's Remote Connectivity Analyzer, the JSON status file
 * keeps it for the last run. A step owns copies of all its strings.
 */
#ifndef EWSPROBED_STEP_H
#define EWSPROBED_STEP_H

#include <sys/queue.h>

#include <stdint.h>

enum step_kind {
	STEP_DNS, /* A/AAAA or SRV lookup */
	STEP_HTTP, /* an HTTP(S) request */
	STEP_TLS, /* a chain judged under a trust policy */
	STEP_FRONTEND, /* learning the Lync pool's issuer */
	STEP_NOTE, /* a decision (redirect refused, ...) */
};

enum step_result {
	STEP_OK,
	STEP_WARN,
	STEP_FAIL,
	STEP_SKIP,
};

/* Transfer timings in microseconds from the start of the step; -1 = n/a. */
struct step_timings {
	int64_t dns_us;
	int64_t connect_us;
	int64_t tls_us;
	int64_t first_byte_us;
	int64_t total_us;
};

struct step {
	enum step_kind kind;
	enum step_result result;
	int depth; /* nesting in the report tree (0 = top) */
	char *title; /* "POST https://x/autodiscover/autodiscover.svc" */
	char *method; /* HTTP method or NULL */
	char *url; /* URL or DNS name */
	char *address; /* address connected to, or answers */
	int http_status; /* 0 when none */
	char *tls_version; /* "TLSv1" ... or NULL */
	char *reason; /* bounded reason name when not ok, or NULL */
	char *detail; /* free text: why, what was found */
	struct step_timings timings;
	TAILQ_ENTRY(step) entry;
};

TAILQ_HEAD(step_list, step);

struct step *step_add(struct step_list *, enum step_kind, int, const char *,
    ...) __attribute__((format(printf, 4, 5)));
void step_set(struct step *, enum step_result, const char *, const char *, ...)
    __attribute__((format(printf, 4, 5)));
void step_set_str(char **, const char *);
void step_list_init(struct step_list *);
void step_list_free(struct step_list *);
void step_list_move(struct step_list *, struct step_list *);
const char *step_result_name(enum step_result);
const char *step_kind_name(enum step_kind);

#endif
