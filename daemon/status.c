/*
 * status: owns the status files — the JSON document (daemon facts and the
 * scheduler's load around resultjson's target objects, to which it adds the
 * hard state and counters) and the Prometheus
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
#include "resultjson.h"
#include "status.h"
#include "xmalloc.h"

/*
 * One target: the renderer's target object (resultjson), with the
 * daemon's view of it between its name and its last run.
 */
static void
status_target(struct json *j, const struct status_target *t)
{
	const struct resultjson_target rt = {t->mailbox, t->address,
	    t->profile};

	resultjson_target_begin(j, &rt);
	json_kv_string(j, "state", state_hard_name(t->state));
	resultjson_time(j, "since", t->state->since);
	json_kv_int(j, "consecutive_failures", t->state->failures);
	json_kv_int(j, "consecutive_successes", t->state->successes);
	json_kv_int(j, "runs", (long long)t->runs);
	resultjson_time(j, "last_success", t->last_success);
	resultjson_target_end(j, t->last);
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
	json_kv_int(j, "lag_ms", (long long)s->lag_ms);
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

	resultjson_begin(j, "status");
	json_key(j, "daemon");
	json_object_begin(j);
	json_kv_string(j, "version", PACKAGE_VERSION);
	json_kv_int(j, "pid", (long long)getpid());
	resultjson_time(j, "started", d->started);
	resultjson_time(j, "written", (int64_t)time(NULL));
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
	        "1 while a due run has waited longer than its interval (rounds take longer than the interval)",
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

/* The series of each phase's time of the last run's EWS requests. */
static void
status_prom_phases(FILE *fp, const struct status_doc *d)
{
	static const char *phases[] = {"connect", "tls", "first_byte", "total"};
	const struct status_target *t;
	const struct urlcheck_result *u;
	size_t i;
	int j, ph;
	int64_t us;

	status_meta(fp, "ewsprobed_probe_phase_duration_seconds", "gauge",
	    "Time to each phase of the last unauthenticated EWS request, from its start");
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
}

/* The series of each presented certificate's expiry, by chain position. */
static void
status_prom_certs(FILE *fp, const struct status_doc *d)
{
	const struct status_target *t;
	const struct urlcheck_result *u;
	size_t i, k;
	int j;

	status_meta(fp, "ewsprobed_cert_not_after_timestamp_seconds", "gauge",
	    "Expiry of each certificate the EWS server presented, by chain position (0 = leaf)");
	for (i = 0; i < d->n; i++) {
		t = &d->targets[i];
		for (j = 0; t->last != NULL && j < 2; j++) {
			if ((u = t->last->urls[j]) == NULL ||
			    u->verdict == NULL)
				continue;
			for (k = 0; k < u->verdict->ncerts; k++) {
				status_series(fp,
				    "ewsprobed_cert_not_after_timestamp_seconds",
				    t);
				fprintf(fp,
				    ",role=\"%s\",position=\"%zu\"} %lld\n",
				    u->role, k,
				    (long long)u->verdict->certs[k].not_after);
			}
		}
	}
}

/*
 * One series per address of each EWS URL's name (at most max_addresses
 * each): 1 where phones can use it, with the address's reason. Addresses
 * are numeric, so the labels stay bounded and safe.
 */
static void
status_prom_addrs(FILE *fp, const struct status_doc *d)
{
	const struct status_target *t;
	const struct urlcheck_result *u;
	size_t i, k;
	int j;

	status_meta(fp, "ewsprobed_address_success", "gauge",
	    "Whether phones can use each address of an EWS URL's name (last run), with its reason");
	for (i = 0; i < d->n; i++) {
		t = &d->targets[i];
		for (j = 0; t->last != NULL && j < 2; j++) {
			if ((u = t->last->urls[j]) == NULL)
				continue;
			for (k = 0; k < u->naddrs; k++) {
				status_series(fp, "ewsprobed_address_success",
				    t);
				fprintf(fp,
				    ",role=\"%s\",address=\"%s\",reason=\"%s\"} %d\n",
				    u->role, u->addrs[k].address,
				    reason_name(u->addrs[k].reason),
				    !reason_failed(u->addrs[k].reason));
			}
		}
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
	const struct status_target *t;
	size_t i;
	int s;

	status_meta(fp, "ewsprobed_build_info", "gauge",
	    "ewsprobed build, value 1");
	fprintf(fp, "ewsprobed_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION);
	status_sched_prom(fp, d->sched);
	status_meta(fp, "ewsprobed_probe_success", "gauge",
	    "Whether the last run found that phones can use Exchange (ok or warning)");
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
	status_prom_addrs(fp, d);
	status_prom_phases(fp, d);
	status_prom_certs(fp, d);
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
