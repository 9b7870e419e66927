/*
 * status: owns the JSON rendering of the daemon's state and the atomic
 * writing of the status file, with its "logged once per condition" rule.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "afile.h"
#include "ewsprobed-build.h"
#include "log.h"
#include "status.h"
#include "xmalloc.h"

/* A growing text buffer. */
struct status_buf {
	char *s;
	size_t len, size;
};

/* Append formatted text. */
static void status_add(struct status_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
status_add(struct status_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->size - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			fatalx("vsnprintf failed");
		if (b->len + (size_t)n < b->size)
			break;
		b->size = (b->len + (size_t)n + 1) * 2;
		b->s = xreallocarray(b->s, b->size, 1);
	}
	b->len += (size_t)n;
}

/* Append a JSON string (or null), escaped per RFC 8259. */
static void
status_str(struct status_buf *b, const char *s)
{
	const unsigned char *p;

	if (s == NULL) {
		status_add(b, "null");
		return;
	}
	status_add(b, "\"");
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			status_add(b, "\\%c", *p);
		else if (*p == '\n')
			status_add(b, "\\n");
		else if (*p < 0x20 || *p == 0x7f)
			status_add(b, "\\u%04x", *p);
		else
			status_add(b, "%c", *p);
	}
	status_add(b, "\"");
}

/* Append "key": and a string value. */
static void
status_kv(struct status_buf *b, const char *key, const char *value)
{
	status_add(b, "\"%s\":", key);
	status_str(b, value);
}

/* An RFC 3339 UTC time, or null for 0. */
static void
status_time(struct status_buf *b, const char *key, int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		status_add(b, "\"%s\":null", key);
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	status_add(b, "\"%s\":\"%s\"", key, buf);
}

/* The steps of a run. */
static void
status_steps(struct status_buf *b, const struct step_list *steps)
{
	const struct step *st;
	int first = 1;

	status_add(b, "[");
	TAILQ_FOREACH(st, steps, entry)
	{
		status_add(b, "%s{", first ? "" : ",");
		first = 0;
		status_kv(b, "kind", step_kind_name(st->kind));
		status_add(b, ",");
		status_kv(b, "title", st->title);
		status_add(b, ",");
		status_kv(b, "result", step_result_name(st->result));
		status_add(b, ",");
		status_kv(b, "reason", st->reason);
		status_add(b, ",");
		status_kv(b, "address", st->address);
		status_add(b, ",");
		status_kv(b, "tls_version", st->tls_version);
		status_add(b, ",\"http_status\":%d,", st->http_status);
		status_kv(b, "detail", st->detail);
		status_add(b,
		    ",\"timings_ms\":{\"connect\":%.3f,\"tls\":%.3f,"
		    "\"first_byte\":%.3f,\"total\":%.3f}}",
		    st->timings.connect_us / 1000.0,
		    st->timings.tls_us / 1000.0,
		    st->timings.first_byte_us / 1000.0,
		    st->timings.total_us / 1000.0);
	}
	status_add(b, "]");
}

/* One URL's result with its certificates. */
static void
status_url(struct status_buf *b, const struct ewsprobe_result *u)
{
	const struct trust_verdict *v = u->verdict;
	size_t i, j;

	status_add(b, "{");
	status_kv(b, "role", u->role);
	status_add(b, ",");
	status_kv(b, "url", u->url);
	status_add(b, ",");
	status_kv(b, "reason", reason_name(u->reason));
	status_add(b, ",\"warning\":%s,\"phone_error\":%d,\"http_status\":%ld,",
	    u->warning ? "true" : "false", reason_wininet(u->reason),
	    u->http_status);
	status_kv(b, "address", u->address);
	status_add(b, ",");
	status_kv(b, "tls_version", u->tls_version);
	status_add(b, ",");
	status_kv(b, "auth_offered", u->auth_offered);
	status_add(b, ",");
	status_kv(b, "message", u->message);
	status_add(b, ",");
	status_kv(b, "remedy", u->remedy);
	if (v != NULL) {
		status_add(b, ",\"phone_trusted\":%s,\"system_trusted\":%s,",
		    v->phone_trusted ? "true" : "false",
		    v->system_trusted == 1       ? "true"
		        : v->system_trusted == 0 ? "false"
		                                 : "null");
		status_kv(b, "anchor", v->phone.anchor);
		status_add(b, ",");
		status_kv(b, "findings", v->findings_text);
		status_add(b, ",\"certificates\":[");
		for (i = 0; i < v->ncerts; i++) {
			status_add(b, "%s{\"position\":%zu,", i ? "," : "", i);
			status_kv(b, "subject", v->certs[i].subject);
			status_add(b, ",");
			status_kv(b, "issuer", v->certs[i].issuer);
			status_add(b, ",");
			status_kv(b, "serial", v->certs[i].serial);
			status_add(b, ",");
			status_kv(b, "sha256", v->certs[i].sha256);
			status_add(b, ",");
			status_time(b, "not_before", v->certs[i].not_before);
			status_add(b, ",");
			status_time(b, "not_after", v->certs[i].not_after);
			status_add(b, ",");
			status_kv(b, "key", v->certs[i].key);
			status_add(b, ",");
			status_kv(b, "signature", v->certs[i].sigalg);
			status_add(b, ",");
			status_add(b, "\"names\":[");
			for (j = 0; j < v->certs[i].nsans; j++) {
				status_add(b, "%s", j ? "," : "");
				status_str(b, v->certs[i].sans[j]);
			}
			status_add(b, "]}");
		}
		status_add(b, "]");
	}
	status_add(b, ",\"steps\":");
	status_steps(b, &u->steps);
	status_add(b, "}");
}

/* One target. */
static void
status_target(struct status_buf *b, const struct status_target *t)
{
	const struct probe_result *r = t->last;
	int i, first = 1;

	status_add(b, "{");
	status_kv(b, "target", t->name);
	status_add(b, ",");
	status_kv(b, "mailbox", t->mailbox);
	status_add(b, ",");
	status_kv(b, "address", t->address);
	status_add(b, ",");
	status_kv(b, "profile", t->profile);
	status_add(b, ",");
	status_kv(b, "state",
	    t->state->established ? state_verdict_name(t->state->hard)
	                          : "pending");
	status_add(b, ",");
	status_time(b, "since", t->state->since);
	status_add(b,
	    ",\"consecutive_failures\":%u,\"consecutive_successes\":"
	    "%u,\"runs\":%llu,",
	    t->state->failures, t->state->successes,
	    (unsigned long long)t->runs);
	status_time(b, "last_success", t->last_success);
	status_add(b, ",\"last_run\":");
	if (r == NULL) {
		status_add(b, "null}");
		return;
	}
	status_add(b, "{");
	status_time(b, "started", r->started);
	status_add(b, ",\"duration_ms\":%.3f,", r->duration_us / 1000.0);
	status_kv(b, "verdict", state_verdict_name(r->verdict));
	status_add(b, ",");
	status_kv(b, "reason", reason_name(r->reason));
	status_add(b, ",\"phone_error\":%d,", reason_wininet(r->reason));
	status_kv(b, "message", r->message);
	status_add(b, ",");
	status_kv(b, "remedy", r->remedy);
	status_add(b, ",\"frontend\":");
	if (r->frontend != NULL) {
		status_add(b, "{\"learned\":%s,",
		    r->frontend->ok ? "true" : "false");
		status_kv(b, "issuer", r->frontend->issuer);
		status_add(b, ",");
		status_kv(b, "error", r->frontend->error);
		status_add(b, "}");
	} else
		status_add(b, "null");
	status_add(b, ",\"urls\":[");
	for (i = 0; i < 2; i++) {
		if (r->urls[i] == NULL)
			continue;
		status_add(b, "%s", first ? "" : ",");
		first = 0;
		status_url(b, r->urls[i]);
	}
	status_add(b, "]}}");
}

/* The whole status document. Caller frees. */
char *
status_json(const char *config_path, int64_t started,
    const struct status_target *targets, size_t n)
{
	struct status_buf b = {NULL, 0, 0};
	size_t i;

	b.size = 4096;
	b.s = xmalloc(b.size);
	status_add(&b, "{\"daemon\":{");
	status_kv(&b, "version", PACKAGE_VERSION);
	status_add(&b, ",\"pid\":%ld,", (long)getpid());
	status_time(&b, "started", started);
	status_add(&b, ",");
	status_time(&b, "written", (int64_t)time(NULL));
	status_add(&b, ",");
	status_kv(&b, "config", config_path);
	status_add(&b, "},\"targets\":[");
	for (i = 0; i < n; i++) {
		status_add(&b, "%s", i ? "," : "");
		status_target(&b, &targets[i]);
	}
	status_add(&b, "]}\n");
	return b.s;
}

/* Append a Prometheus label value, escaped (\\, \", \n). */
static void
status_label(struct status_buf *b, const char *v)
{
	for (; v != NULL && *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			status_add(b, "\\%c", *v);
		else if (*v == '\n')
			status_add(b, "\\n");
		else
			status_add(b, "%c", *v);
	}
}

/* The labels every series of a target carries. */
static void
status_tlabels(struct status_buf *b, const struct status_target *t)
{
	status_add(b, "target=\"");
	status_label(b, t->name);
	status_add(b, "\",mailbox=\"");
	status_label(b, t->mailbox);
	status_add(b, "\",profile=\"");
	status_label(b, t->profile);
	status_add(b, "\"");
}

/* HELP and TYPE lines of a metric. */
static void
status_meta(struct status_buf *b, const char *name, const char *type,
    const char *help)
{
	status_add(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The unauthenticated request step of a URL result (timings), or NULL. */
static const struct step *
status_probe_step(const struct ewsprobe_result *u)
{
	const struct step *st;

	TAILQ_FOREACH(st, &u->steps, entry)
	{
		if (st->kind == STEP_HTTP)
			return st;
	}
	return NULL;
}

/*
 * The Prometheus textfile (node_exporter's textfile collector format).
 * Labels are bounded: target names come from the configuration, reasons
 * and states from closed sets; free text never becomes a label.
 */
char *
status_prom(const struct status_target *targets, size_t n)
{
	static const char *states[] = {"ok", "warning", "unknown", "critical"};
	static const char *phases[] = {"connect", "tls", "first_byte", "total"};
	struct status_buf b = {NULL, 0, 0};
	const struct status_target *t;
	const struct ewsprobe_result *u;
	const struct step *st;
	size_t i, k;
	int j, s, ph;
	int64_t us;

	b.size = 4096;
	b.s = xmalloc(b.size);
	status_meta(&b, "ewsprobed_build_info", "gauge",
	    "ewsprobed build, value 1");
	status_add(&b, "ewsprobed_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION);
	status_meta(&b, "ewsprobed_probe_success", "gauge",
	    "Whether the last run found that phones can use Exchange "
	    "(ok or warning)");
	for (i = 0; i < n; i++) {
		t = &targets[i];
		if (t->last == NULL)
			continue;
		status_add(&b, "ewsprobed_probe_success{");
		status_tlabels(&b, t);
		status_add(&b, "} %d\n",
		    t->last->verdict == STATE_OK ||
		        t->last->verdict == STATE_WARNING);
	}
	status_meta(&b, "ewsprobed_target_state", "gauge",
	    "Debounced (hard) state of a target, 1 for the current state");
	for (i = 0; i < n; i++) {
		t = &targets[i];
		if (!t->state->established)
			continue;
		for (s = 0; s < 4; s++) {
			status_add(&b, "ewsprobed_target_state{");
			status_tlabels(&b, t);
			status_add(&b, ",state=\"%s\"} %d\n", states[s],
			    (int)t->state->hard == s);
		}
	}
	status_meta(&b, "ewsprobed_probe_failure_info", "gauge",
	    "Why the last run failed (reason and phone error code), value 1");
	for (i = 0; i < n; i++) {
		t = &targets[i];
		if (t->last == NULL || t->last->reason == REASON_OK)
			continue;
		status_add(&b, "ewsprobed_probe_failure_info{");
		status_tlabels(&b, t);
		status_add(&b,
		    ",reason=\"%s\",role=\"%s\",phone_error=\"%d\"} "
		    "1\n",
		    reason_name(t->last->reason),
		    t->last->role != NULL ? t->last->role : "",
		    reason_wininet(t->last->reason));
	}
	status_meta(&b, "ewsprobed_probe_phase_duration_seconds", "gauge",
	    "Time to each phase of the last unauthenticated EWS request, "
	    "from its start");
	for (i = 0; i < n; i++) {
		t = &targets[i];
		for (j = 0; t->last != NULL && j < 2; j++) {
			if ((u = t->last->urls[j]) == NULL ||
			    (st = status_probe_step(u)) == NULL)
				continue;
			for (ph = 0; ph < 4; ph++) {
				us = ph == 0  ? st->timings.connect_us
				    : ph == 1 ? st->timings.tls_us
				    : ph == 2 ? st->timings.first_byte_us
				              : st->timings.total_us;
				if (us < 0)
					continue;
				status_add(&b,
				    "ewsprobed_probe_phase_duration_seconds{");
				status_tlabels(&b, t);
				status_add(&b,
				    ",role=\"%s\",phase=\"%s\"} %.6f\n",
				    u->role, phases[ph], us / 1e6);
			}
		}
	}
	status_meta(&b, "ewsprobed_cert_not_after_timestamp_seconds", "gauge",
	    "Expiry of each certificate the EWS server presented, by chain "
	    "position (0 = leaf)");
	for (i = 0; i < n; i++) {
		t = &targets[i];
		for (j = 0; t->last != NULL && j < 2; j++) {
			if ((u = t->last->urls[j]) == NULL ||
			    u->verdict == NULL)
				continue;
			for (k = 0; k < u->verdict->ncerts; k++) {
				status_add(&b,
				    "ewsprobed_cert_not_after_"
				    "timestamp_seconds{");
				status_tlabels(&b, t);
				status_add(&b,
				    ",role=\"%s\",position=\"%zu\"} "
				    "%lld\n",
				    u->role, k,
				    (long long)u->verdict->certs[k].not_after);
			}
		}
	}
	status_meta(&b, "ewsprobed_last_success_timestamp_seconds", "gauge",
	    "When a run last found that phones can use Exchange");
	for (i = 0; i < n; i++) {
		if (targets[i].last_success == 0)
			continue;
		status_add(&b, "ewsprobed_last_success_timestamp_seconds{");
		status_tlabels(&b, &targets[i]);
		status_add(&b, "} %lld\n", (long long)targets[i].last_success);
	}
	status_meta(&b, "ewsprobed_probe_runs_total", "counter",
	    "Runs of a target since the daemon started");
	for (i = 0; i < n; i++) {
		status_add(&b, "ewsprobed_probe_runs_total{");
		status_tlabels(&b, &targets[i]);
		status_add(&b, "} %llu\n", (unsigned long long)targets[i].runs);
	}
	return b.s;
}

/*
 * Write a status file atomically. A failure is logged when it starts (and
 * when its cause changes), and its end once: never on every run. slot
 * keeps that memory per file.
 */
void
status_write(const char *path, const char *text, char **slot)
{
	char *cause = NULL;

	if (path == NULL)
		return;
	if (afile_write(path, text, strlen(text), 0644, &cause) == 0) {
		if (*slot != NULL) {
			log_notice("status file %s written again", path);
			free(*slot);
			*slot = NULL;
		}
		return;
	}
	if (*slot == NULL || strcmp(*slot, cause) != 0)
		log_warnx("status file %s not written: %s (probing goes on)",
		    path, cause);
	free(*slot);
	*slot = cause;
}
