/*
 * status: owns the status files — the JSON document (per target the hard
 * state, counters and the last run; plus daemon facts) and the Prometheus
 * textfile — rendered straight into an atomic replacement (afile), so that
 * memory does not grow with the document, and the "logged once per
 * condition" rule for write errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "afile.h"
#include "ewsprobed-build.h"
#include "json.h"
#include "log.h"
#include "status.h"
#include "xmalloc.h"

/* A member with an RFC 3339 UTC time, or null for 0. */
static void
status_time(struct json *j, const char *key, int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		json_kv_null(j, key);
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_kv_string(j, key, buf);
}

/* A member "key": milliseconds, when us is known (not -1). */
static void
status_ms(struct json *j, const char *key, int64_t us)
{
	if (us >= 0)
		json_kv_double(j, key, us / 1000.0);
}

/* Member "timings_ms": the phases that are known, in milliseconds. */
static void
status_timings(struct json *j, const struct step_timings *t)
{
	json_key(j, "timings_ms");
	json_object_begin(j);
	status_ms(j, "connect", t->connect_us);
	status_ms(j, "tls", t->tls_us);
	status_ms(j, "first_byte", t->first_byte_us);
	status_ms(j, "total", t->total_us);
	json_object_end(j);
}

/*
 * The steps of a run as member "steps", if any are kept: the scheduler
 * keeps them for what failed or warned (run_result_trim), as evidence.
 */
static void
status_steps(struct json *j, const struct step_list *steps)
{
	const struct step *st;

	if (TAILQ_EMPTY(steps))
		return;
	json_key(j, "steps");
	json_array_begin(j);
	TAILQ_FOREACH (st, steps, entry) {
		json_object_begin(j);
		json_kv_string(j, "kind", step_kind_name(st->kind));
		json_kv_string(j, "title", st->title);
		json_kv_string(j, "result", step_result_name(st->result));
		json_kv_string(j, "reason", st->reason);
		json_kv_string(j, "address", st->address);
		json_kv_string(j, "tls_version", st->tls_version);
		json_kv_int(j, "http_status", st->http_status);
		json_kv_string(j, "detail", st->detail);
		status_timings(j, &st->timings);
		json_object_end(j);
	}
	json_array_end(j);
}

/*
 * One certificate of a presented chain (also check-cert's and anchors'
 * JSON: one way to write a certificate).
 */
void
status_cert_json(struct json *j, const struct certinfo *c, size_t position)
{
	size_t k;

	json_object_begin(j);
	json_kv_int(j, "position", (long long)position);
	json_kv_string(j, "subject", c->subject);
	json_kv_string(j, "issuer", c->issuer);
	json_kv_string(j, "serial", c->serial);
	json_kv_string(j, "sha256", c->sha256);
	status_time(j, "not_before", c->not_before);
	status_time(j, "not_after", c->not_after);
	json_kv_string(j, "key", c->key);
	json_kv_string(j, "signature", c->sigalg);
	json_key(j, "names");
	json_array_begin(j);
	for (k = 0; k < c->nsans; k++)
		json_string(j, c->sans[k]);
	json_array_end(j);
	json_object_end(j);
}

/* One URL's result with its certificates. */
static void
status_url(struct json *j, const struct urlcheck_result *u)
{
	const struct chain_verdict *v = u->verdict;
	size_t i;

	json_object_begin(j);
	urlcheck_result_json(j, u);
	status_timings(j, &u->timings);
	if (v != NULL) {
		json_key(j, "certificates");
		json_array_begin(j);
		for (i = 0; i < v->ncerts; i++)
			status_cert_json(j, &v->certs[i], i);
		json_array_end(j);
	}
	status_steps(j, &u->steps);
	json_object_end(j);
}

/* The last run of a target. */
static void
status_run(struct json *j, const struct run_result *r)
{
	int i;

	json_object_begin(j);
	status_time(j, "started", r->started);
	json_kv_double(j, "duration_ms", r->duration_us / 1000.0);
	json_kv_string(j, "verdict", state_verdict_name(r->verdict));
	json_kv_string(j, "reason", reason_name(r->reason));
	json_kv_int(j, "phone_error", reason_wininet(r->reason));
	json_kv_string(j, "message", r->message);
	json_kv_string(j, "remedy", r->remedy);
	json_key(j, "frontend");
	if (r->frontend != NULL) {
		json_object_begin(j);
		json_kv_bool(j, "learned", r->frontend->ok);
		json_kv_string(j, "issuer", r->frontend->issuer);
		json_kv_string(j, "error", r->frontend->error);
		status_steps(j, &r->frontend->steps);
		json_object_end(j);
	} else
		json_null(j);
	if (r->discovery != NULL) {
		json_key(j, "autodiscover");
		json_object_begin(j);
		json_kv_bool(j, "found", r->discovery->found);
		json_kv_string(j, "source", r->discovery->source);
		json_kv_string(j, "message", r->discovery->message);
		status_steps(j, &r->discovery->steps);
		json_object_end(j);
	}
	json_key(j, "urls");
	json_array_begin(j);
	for (i = 0; i < 2; i++) {
		if (r->urls[i] != NULL)
			status_url(j, r->urls[i]);
	}
	json_array_end(j);
	json_object_end(j);
}

/* One target. */
static void
status_target(struct json *j, const struct status_target *t)
{
	json_object_begin(j);
	json_kv_string(j, "target", t->name);
	json_kv_string(j, "mailbox", t->mailbox);
	json_kv_string(j, "address", t->address);
	json_kv_string(j, "profile", t->profile);
	json_kv_string(j, "state", state_hard_name(t->state));
	status_time(j, "since", t->state->since);
	json_kv_int(j, "consecutive_failures", t->state->failures);
	json_kv_int(j, "consecutive_successes", t->state->successes);
	json_kv_int(j, "runs", (long long)t->runs);
	status_time(j, "last_success", t->last_success);
	json_key(j, "last_run");
	if (t->last != NULL)
		status_run(j, t->last);
	else
		json_null(j);
	json_object_end(j);
}

/* Member "schedule": the scheduler's load and whether it keeps up. */
static void
status_sched_json(struct json *j, const struct status_sched *s)
{
	if (s == NULL)
		return;
	json_key(j, "schedule");
	json_object_begin(j);
	json_kv_bool(j, "behind", s->behind);
	json_kv_int(j, "overruns", (long long)s->overruns);
	json_kv_double(j, "lag_seconds", (double)s->lag_ms / 1000.0);
	json_kv_int(j, "runs_in_flight", s->in_flight);
	json_kv_int(j, "runs_working", s->working);
	json_kv_int(j, "runs_queued", s->queued);
	json_kv_int(j, "concurrency", s->concurrency);
	json_kv_int(j, "max_in_flight", s->max_in_flight);
	json_kv_int(j, "dns_lookups_in_flight", s->dns_in_flight);
	json_kv_int(j, "dns_lookups_queued", s->dns_queued);
	json_object_end(j);
}

/* The whole JSON status document, written to fp. */
void
status_json(FILE *fp, const struct status_doc *d)
{
	struct json *j = json_new_sink(fp, 0);
	size_t i;

	json_object_begin(j);
	json_key(j, "daemon");
	json_object_begin(j);
	json_kv_string(j, "version", PACKAGE_VERSION);
	json_kv_int(j, "pid", (long long)getpid());
	status_time(j, "started", d->started);
	status_time(j, "written", (int64_t)time(NULL));
	json_kv_string(j, "config", d->config_path);
	json_object_end(j);
	status_sched_json(j, d->sched);
	json_key(j, "targets");
	json_array_begin(j);
	for (i = 0; i < d->n; i++)
		status_target(j, &d->targets[i]);
	json_array_end(j);
	json_object_end(j);
	json_finish_sink(j);
	fputc('\n', fp);
}

/* Write a Prometheus label value, escaped (\\, \", \n). */
static void
status_label(FILE *fp, const char *v)
{
	for (; v != NULL && *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', fp);
		if (*v == '\n')
			fputs("\\n", fp);
		else
			fputc(*v, fp);
	}
}

/* Start a series: its name and the labels every series of a target has. */
static void
status_series(FILE *fp, const char *name, const struct status_target *t)
{
	fputs(name, fp);
	fputs("{target=\"", fp);
	status_label(fp, t->name);
	fputs("\",mailbox=\"", fp);
	status_label(fp, t->mailbox);
	fputs("\",profile=\"", fp);
	status_label(fp, t->profile);
	fputc('"', fp);
}

/* HELP and TYPE lines of a metric. */
static void
status_meta(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The scheduler's series: load, and whether it keeps to the intervals. */
static void
status_sched_prom(FILE *fp, const struct status_sched *s)
{
	const struct {
		const char *name, *type, *help;
		double value;
	} series[] = {
	    {"ewsprobed_schedule_behind", "gauge",
	        "1 while a due run has waited longer than its interval "
	        "(rounds take longer than the interval)",
	        s != NULL ? s->behind : 0},
	    {"ewsprobed_schedule_overruns_total", "counter",
	        "Times the schedule fell behind since the daemon started",
	        s != NULL ? (double)s->overruns : 0},
	    {"ewsprobed_schedule_lag_seconds", "gauge",
	        "How long the oldest due run has waited to start",
	        s != NULL ? (double)s->lag_ms / 1000.0 : 0},
	    {"ewsprobed_runs_in_flight", "gauge",
	        "Runs started and not done, working or waiting on the network",
	        s != NULL ? s->in_flight : 0},
	    {"ewsprobed_runs_working", "gauge",
	        "Runs holding one of the concurrency slots",
	        s != NULL ? s->working : 0},
	    {"ewsprobed_runs_queued", "gauge",
	        "Runs due and waiting for a slot", s != NULL ? s->queued : 0},
	    {"ewsprobed_dns_lookups_queued", "gauge",
	        "DNS lookups waiting for room under the in-flight bound",
	        s != NULL ? s->dns_queued : 0},
	};
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < sizeof series / sizeof series[0]; i++) {
		status_meta(fp, series[i].name, series[i].type, series[i].help);
		fprintf(fp, "%s %.15g\n", series[i].name, series[i].value);
	}
}

/*
 * The Prometheus textfile (node_exporter's textfile collector format),
 * written to fp. Labels are bounded: target names come from the
 * configuration, reasons and states from closed sets; free text never
 * becomes a label.
 */
void
status_prom(FILE *fp, const struct status_doc *d)
{
	static const char *states[] = {"ok", "warning", "unknown", "critical"};
	static const char *phases[] = {"connect", "tls", "first_byte", "total"};
	const struct status_target *t;
	const struct urlcheck_result *u;
	size_t i, k;
	int j, s, ph;
	int64_t us;

	status_meta(fp, "ewsprobed_build_info", "gauge",
	    "ewsprobed build, value 1");
	fprintf(fp, "ewsprobed_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION);
	status_sched_prom(fp, d->sched);
	status_meta(fp, "ewsprobed_probe_success", "gauge",
	    "Whether the last run found that phones can use Exchange "
	    "(ok or warning)");
	for (i = 0; i < d->n; i++) {
		t = &d->targets[i];
		if (t->last == NULL)
			continue;
		status_series(fp, "ewsprobed_probe_success", t);
		fprintf(fp, "} %d\n",
		    t->last->verdict == STATE_OK ||
		        t->last->verdict == STATE_WARNING);
	}
	status_meta(fp, "ewsprobed_target_state", "gauge",
	    "Debounced (hard) state of a target, 1 for the current state");
	for (i = 0; i < d->n; i++) {
		t = &d->targets[i];
		if (!t->state->established)
			continue;
		for (s = 0; s < 4; s++) {
			status_series(fp, "ewsprobed_target_state", t);
			fprintf(fp, ",state=\"%s\"} %d\n", states[s],
			    (int)t->state->hard == s);
		}
	}
	status_meta(fp, "ewsprobed_probe_failure_info", "gauge",
	    "Why the last run failed (reason and phone error code), value 1");
	for (i = 0; i < d->n; i++) {
		t = &d->targets[i];
		if (t->last == NULL || !reason_failed(t->last->reason))
			continue;
		status_series(fp, "ewsprobed_probe_failure_info", t);
		fprintf(fp,
		    ",reason=\"%s\",role=\"%s\",phone_error=\"%d\"} 1\n",
		    reason_name(t->last->reason),
		    t->last->role != NULL ? t->last->role : "",
		    reason_wininet(t->last->reason));
	}
	status_meta(fp, "ewsprobed_probe_phase_duration_seconds", "gauge",
	    "Time to each phase of the last unauthenticated EWS request, "
	    "from its start");
	for (i = 0; i < d->n; i++) {
		t = &d->targets[i];
		for (j = 0; t->last != NULL && j < 2; j++) {
			if ((u = t->last->urls[j]) == NULL)
				continue;
			for (ph = 0; ph < 4; ph++) {
				us = ph == 0  ? u->timings.connect_us
				    : ph == 1 ? u->timings.tls_us
				    : ph == 2 ? u->timings.first_byte_us
				              : u->timings.total_us;
				if (us < 0)
					continue;
				status_series(fp,
				    "ewsprobed_probe_phase_duration_seconds",
				    t);
				fprintf(fp, ",role=\"%s\",phase=\"%s\"} %.6f\n",
				    u->role, phases[ph], us / 1e6);
			}
		}
	}
	status_meta(fp, "ewsprobed_cert_not_after_timestamp_seconds", "gauge",
	    "Expiry of each certificate the EWS server presented, by chain "
	    "position (0 = leaf)");
	for (i = 0; i < d->n; i++) {
		t = &d->targets[i];
		for (j = 0; t->last != NULL && j < 2; j++) {
			if ((u = t->last->urls[j]) == NULL ||
			    u->verdict == NULL)
				continue;
			for (k = 0; k < u->verdict->ncerts; k++) {
				status_series(fp,
				    "ewsprobed_cert_not_after_timestamp_"
				    "seconds",
				    t);
				fprintf(fp,
				    ",role=\"%s\",position=\"%zu\"} %lld\n",
				    u->role, k,
				    (long long)u->verdict->certs[k].not_after);
			}
		}
	}
	status_meta(fp, "ewsprobed_last_success_timestamp_seconds", "gauge",
	    "When a run last found that phones can use Exchange");
	for (i = 0; i < d->n; i++) {
		t = &d->targets[i];
		if (t->last_success == 0)
			continue;
		status_series(fp, "ewsprobed_last_success_timestamp_seconds",
		    t);
		fprintf(fp, "} %lld\n", (long long)t->last_success);
	}
	status_meta(fp, "ewsprobed_probe_runs_total", "counter",
	    "Runs of a target since the daemon started");
	for (i = 0; i < d->n; i++) {
		t = &d->targets[i];
		status_series(fp, "ewsprobed_probe_runs_total", t);
		fprintf(fp, "} %llu\n", (unsigned long long)t->runs);
	}
}

/*
 * Render a status file straight into an atomic replacement of path. A
 * failure is logged when it starts (and when its cause changes), and its
 * end once: never on every run. slot keeps that memory per file.
 */
void
status_write(const char *path, status_render_fn render,
    const struct status_doc *d, char **slot)
{
	struct afile *af;
	char *cause = NULL;

	if (path == NULL)
		return;
	if ((af = afile_open(path, 0644, &cause)) != NULL) {
		render(afile_stream(af), d);
		if (afile_commit(af, &cause) == 0) {
			if (*slot != NULL) {
				log_notice("status file %s written again",
				    path);
				free(*slot);
				*slot = NULL;
			}
			return;
		}
	}
	if (*slot == NULL || strcmp(*slot, cause) != 0)
		log_warnx("status file %s not written: %s (probing goes on)",
		    path, cause);
	free(*slot);
	*slot = cause;
}
