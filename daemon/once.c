/*
 * once: owns the one-shot run (--once): load the configuration, build the
 * probe context, run every selected target (mailbox x profile), up to
 * [daemon] concurrency at a time, and print each run in configuration
 * order, as soon as its turn comes, as a step tree with its verdict and
 * remedy, or as a streamed JSON document (resultjson's schema).
 * This is for a person at a shell; the daemon schedules the same probes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dns.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "once.h"
#include "resultjson.h"
#include "run.h"
#include "textsafe.h"
#include "xmalloc.h"

/* One target (mailbox x profile) of the run, and its result once done. */
struct once_target {
	struct once *o;
	const struct config_mailbox *m;
	const struct config_profile *p;
	struct run_result *r; /* NULL until its run is done */
};

struct once {
	struct config *cfg;
	struct run_ctx *ctx;
	const struct config_mailbox **boxes;
	int nboxes;
	struct once_target *targets;
	size_t ntargets;
	size_t next_start; /* the next target to start */
	size_t next_print; /* the next target to print, in order */
	size_t running;
	int starting; /* inside once_next: do not recurse */
	int worst; /* ONCE_* */
	int color;
	struct json *json; /* --json: the document being written */
};

static void once_next(struct once *);

/* The mark of a step result. */
static const char *
once_mark(struct once *o, enum step_result r)
{
	switch (r) {
	case STEP_OK:
		return o->color ? "\033[32m✓\033[0m" : "✓";
	case STEP_WARN:
		return o->color ? "\033[33m!\033[0m" : "!";
	case STEP_SKIP:
		return "-";
	default:
		return o->color ? "\033[31m✗\033[0m" : "✗";
	}
}

/*
 * Print one line of the report: indent, our mark (may hold colour), then
 * the text, escaped (textsafe): the one place the text report passes, so
 * nothing a server sent can start a line, forge a verdict or reorder it.
 */
static void once_say(int, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
once_say(int indent, const char *mark, const char *fmt, ...)
{
	char *raw, *safe;
	va_list ap;

	va_start(ap, fmt);
	xvasprintf(&raw, fmt, ap);
	va_end(ap);
	safe = textsafe(raw);
	printf("%*s%s%s%s\n", indent, "", mark != NULL ? mark : "",
	    mark != NULL ? " " : "", safe);
	free(safe);
	free(raw);
}

/* Print a step list, indented by depth, with timings. */
static void
once_print_steps(struct once *o, struct step_list *steps, int indent)
{
	struct step *st;
	char ms[32] = "";

	TAILQ_FOREACH (st, steps, entry) {
		if (st->timings.total_us >= 0)
			snprintf(ms, sizeof ms, " (%.1f ms)",
			    st->timings.total_us / 1000.0);
		else
			ms[0] = '\0';
		once_say(indent + 2 * st->depth, once_mark(o, st->result),
		    "%s%s", st->title, ms);
		if (st->detail != NULL)
			once_say(indent + 2 * st->depth + 4, NULL, "%s",
			    st->detail);
	}
}

/* Severity order of exit codes: critical > warning > unknown > ok. */
static int
once_rank(int code)
{
	switch (code) {
	case ONCE_CRITICAL:
		return 3;
	case ONCE_WARNING:
		return 2;
	case ONCE_UNKNOWN:
		return 1;
	default:
		return 0;
	}
}

/*
 * Fold a verdict into a Nagios exit status: the worse of the two
 * (critical, then warning, then unknown, then ok). Also for the other
 * commands whose exit status is --once's (check-cert, status).
 */
int
once_fold(int worst, enum state_verdict v)
{
	int code;

	code = v == STATE_OK      ? ONCE_OK
	    : v == STATE_WARNING  ? ONCE_WARNING
	    : v == STATE_CRITICAL ? ONCE_CRITICAL
	                          : ONCE_UNKNOWN;
	return once_rank(code) > once_rank(worst) ? code : worst;
}

/* The word for a Nagios exit status: "ok", "warning", ... */
const char *
once_status_name(int rc)
{
	return rc == ONCE_OK      ? "ok"
	    : rc == ONCE_WARNING  ? "warning"
	    : rc == ONCE_CRITICAL ? "critical"
	                          : "unknown";
}

/* Fold a run's verdict into the exit status. */
static void
once_rate(struct once *o, const struct run_result *r)
{
	o->worst = once_fold(o->worst, r->verdict);
}

/*
 * The answering Autodiscover host's servers, as sub-steps of the
 * discovery: a line for the host, the addresses under it.
 */
static void
once_print_addrs(struct once *o, struct adaddrs_result *a)
{
	if (a == NULL || a->naddrs == 0)
		return;
	if (reason_failed(a->reason))
		once_say(4, once_mark(o, STEP_FAIL), "%s (%s)", a->message,
		    reason_name(a->reason));
	else
		once_say(4, once_mark(o, STEP_OK),
		    "every server of %s: phones can connect (%zu addresses)",
		    a->host, a->naddrs);
	once_print_steps(o, &a->steps, 4);
}

/* Print one target's run. */
static void
once_print(struct once *o, const struct config_mailbox *m, struct run_result *r)
{
	struct frontend_result *fr = r->frontend;
	struct urlcheck_result *u;
	char phone[64] = "";
	int i;

	if (r->discovery != NULL && r->discovery->found &&
	    !r->discovery->phone_found)
		/* PCs found the URLs, phones did not (adpolicy). */
		once_say(2, once_mark(o, STEP_FAIL),
		    "Autodiscover for %s: phones find no EWS URL (%s at %s); PCs find them at %s",
		    m->address, reason_name(r->discovery->phone_reason),
		    r->discovery->phone_url != NULL ? r->discovery->phone_url
		                                    : "?",
		    r->discovery->source);
	else if (r->discovery != NULL)
		once_say(2,
		    once_mark(o, r->discovery->found ? STEP_OK : STEP_FAIL),
		    "Autodiscover for %s: %s", m->address,
		    r->discovery->found ? r->discovery->source
		                        : r->discovery->message);
	if (r->discovery != NULL) {
		once_print_steps(o, &r->discovery->steps, 2);
		if (r->discovery->disagree)
			once_say(2, once_mark(o, STEP_WARN),
			    "Autodiscover candidates disagree on the EWS URLs; phones use the first that answers (%s)",
			    r->discovery->source);
	}
	once_print_addrs(o, r->discovery_addrs);
	if (fr != NULL) {
		once_say(2, once_mark(o, fr->ok ? STEP_OK : STEP_FAIL),
		    "Lync Front End pool: %s", fr->ok ? fr->issuer : fr->error);
		once_print_steps(o, &fr->steps, 2);
		/* The phone's own hello at the pool: a finding (frontend.h). */
		if (fr->phone_message != NULL)
			once_say(4,
			    once_mark(o,
			        reason_failed(fr->phone_reason) ? STEP_FAIL
			                                        : STEP_WARN),
			    "finding (%s): %s%s%s",
			    reason_name(fr->phone_reason), fr->phone_message,
			    fr->phone_remedy != NULL ? " Fix: " : "",
			    fr->phone_remedy != NULL ? fr->phone_remedy : "");
	}
	for (i = 0; i < 2; i++) {
		if ((u = r->urls[i]) == NULL)
			continue;
		once_say(2,
		    once_mark(o,
		        reason_failed(u->reason)        ? STEP_FAIL
		            : reason_warning(u->reason) ? STEP_WARN
		                                        : STEP_OK),
		    "%s EWS %s", u->role, u->url);
		once_print_steps(o, &u->steps, 2);
	}
	if (r->reason != REASON_OK && reason_wininet(r->reason) != 0)
		snprintf(phone, sizeof phone,
		    ", phones log errorCode=%d (0x%08X)",
		    reason_wininet(r->reason), reason_hresult(r->reason));
	printf("\n");
	once_say(2, NULL, "verdict: %s%s%s%s", state_verdict_name(r->verdict),
	    r->reason != REASON_OK ? " — reason " : "",
	    r->reason != REASON_OK ? reason_name(r->reason) : "", phone);
	once_say(2, NULL, "%s", r->message);
	if (r->remedy != NULL)
		once_say(2, NULL, "fix: %s", r->remedy);
}

/* One target's run as an object of the "targets" array (resultjson). */
static void
once_json(struct once *o, const struct config_mailbox *m,
    const struct config_profile *p, const struct run_result *r)
{
	const struct resultjson_target rt = {m->name, m->address, p->name};

	resultjson_target_begin(o->json, &rt);
	resultjson_target_end(o->json, r);
}

/*
 * Print the finished targets at the head of the list, in configuration
 * order, and free them: runs overlap, but the report reads as if they had
 * not. A result that finishes early waits only for those before it; with
 * --json the document streams, so nothing grows with the number of
 * targets.
 */
static void
once_flush(struct once *o)
{
	struct once_target *t;

	while (o->next_print < o->ntargets &&
	    (t = &o->targets[o->next_print])->r != NULL) {
		once_rate(o, t->r);
		if (o->json != NULL)
			once_json(o, t->m, t->p, t->r);
		else {
			printf("\n");
			once_say(0, NULL, "%s <%s> under profile %s",
			    t->m->name, t->m->address, t->p->name);
			once_print(o, t->m, t->r);
		}
		run_result_free(t->r);
		t->r = NULL;
		o->next_print++;
	}
	if (o->json != NULL)
		json_flush(o->json);
	fflush(stdout);
}

/* A target's run is done: keep its result, print what can be, go on. */
static void
once_done(struct run_result *r, void *arg)
{
	struct once_target *t = arg;
	struct once *o = t->o;

	t->r = r;
	o->running--;
	once_flush(o);
	if (!o->starting)
		once_next(o);
}

/*
 * Start targets up to [daemon] concurrency, as the daemon would; stop the
 * loop once every target is done and printed.
 */
static void
once_next(struct once *o)
{
	struct once_target *t;

	o->starting = 1;
	while (
	    o->running < o->cfg->concurrency && o->next_start < o->ntargets) {
		t = &o->targets[o->next_start++];
		o->running++;
		run_start(o->ctx, t->m, t->p, once_done, t);
	}
	o->starting = 0;
	if (o->running == 0 && o->next_print == o->ntargets)
		loop_exit();
}

/* Whether a flag's value can go into an INI line as it is. */
static int
once_plain(const char *v)
{
	for (; *v != '\0'; v++) {
		if ((unsigned char)*v < 0x20 || *v == ';' || *v == '#')
			return 0;
	}
	return 1;
}

/* Append "key = value" (or a bare key line when value is "") to *text. */
static void
once_line(char **text, const char *key, const char *value)
{
	char *t;

	if (value == NULL)
		return;
	xasprintf(&t, "%s%s%s%s\n", *text, key, value[0] != '\0' ? " = " : "",
	    value);
	free(*text);
	*text = t;
}

/*
 * The configuration for configuration-less use: one mailbox "cli" under
 * the phone profile, from the flags. It goes through the same loader and
 * checks as a file. Caller frees; NULL with a message when a flag is bad.
 */
static char *
once_flags_config(const struct once_opts *op)
{
	char *text, *t, *cred;
	const char *vals[] = {op->address, op->account, op->password_file,
	    op->frontend, op->frontend_ca, op->ews_internal_url,
	    op->ews_external_url, op->dns_servers, op->system_store};
	size_t i;
	int k;

	for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		if (vals[i] != NULL && !once_plain(vals[i])) {
			t = textsafe(vals[i]);
			fprintf(stderr,
			    "ewsprobed: '%s': control characters, ';' and '#' are not allowed in a flag's value\n",
			    t);
			free(t);
			return NULL;
		}
	}
	for (k = 0; k < op->ntrust_ca; k++) {
		if (!once_plain(op->trust_ca[k])) {
			fprintf(stderr, "ewsprobed: bad --trust-ca value\n");
			return NULL;
		}
	}
	if (op->address == NULL ||
	    (op->account == NULL) != (op->password_file == NULL)) {
		fprintf(stderr,
		    "ewsprobed: --once without -f needs --address, and --account with --password-file to test the sign-in\n");
		return NULL;
	}
	if (op->password_file == NULL)
		cred = NULL;
	else if ((cred = realpath(op->password_file, NULL)) == NULL) {
		fprintf(stderr, "ewsprobed: %s: %s\n", op->password_file,
		    strerror(errno));
		return NULL;
	}
	text = xstrdup("[daemon]\nstatus_file =\nmetrics_file =\n");
	once_line(&text, "dns_servers", op->dns_servers);
	once_line(&text, "system_store", op->system_store);
	once_line(&text, "[profile lync-phone-edition]", "");
	once_line(&text, "frontend", op->frontend);
	once_line(&text, "frontend_ca", op->frontend_ca);
	for (k = 0; k < op->ntrust_ca; k++) {
		xasprintf(&t, "%s%s%s", text,
		    k == 0 ? "web_trusted_ca = " : ", ", op->trust_ca[k]);
		free(text);
		text = t;
	}
	if (op->ntrust_ca > 0)
		once_line(&text, "", "");
	once_line(&text, "[mailbox cli]", "");
	once_line(&text, "address", op->address);
	once_line(&text, "account", op->account);
	once_line(&text, "credential", cred);
	once_line(&text, "ews_internal_url", op->ews_internal_url);
	once_line(&text, "ews_external_url", op->ews_external_url);
	free(cred);
	return text;
}

/*
 * The targets of the run: the selected mailboxes (all when none is named;
 * one named twice once) under each of their profiles, in configuration
 * order. -1 with a message when a name is not a mailbox of file.
 */
static int
once_select(struct once *o, const struct once_opts *op, const char *file)
{
	const struct config_mailbox *m;
	char *safe;
	size_t i;
	int j, k;

	o->boxes = xcalloc(o->cfg->nmailboxes, sizeof *o->boxes);
	for (i = 0; op->nmailboxes == 0 && i < o->cfg->nmailboxes; i++)
		o->boxes[o->nboxes++] = o->cfg->mailboxes[i];
	for (j = 0; j < op->nmailboxes; j++) {
		m = config_mailbox_find(o->cfg, op->mailboxes[j]);
		if (m == NULL) {
			safe = textsafe(op->mailboxes[j]);
			fprintf(stderr, "ewsprobed: no mailbox '%s' in %s\n",
			    safe, file);
			free(safe);
			return -1;
		}
		for (k = 0; k < o->nboxes && o->boxes[k] != m; k++)
			;
		if (k == o->nboxes)
			o->boxes[o->nboxes++] = m;
	}
	for (j = 0; j < o->nboxes; j++)
		o->ntargets += o->boxes[j]->nprofiles;
	o->targets = xcalloc(o->ntargets, sizeof *o->targets);
	o->ntargets = 0;
	for (j = 0; j < o->nboxes; j++) {
		for (i = 0; i < o->boxes[j]->nprofiles; i++) {
			o->targets[o->ntargets].o = o;
			o->targets[o->ntargets].m = o->boxes[j];
			o->targets[o->ntargets++].p = o->boxes[j]->profiles[i];
		}
	}
	return 0;
}

/* End the report with the overall verdict rc: the JSON's last members. */
static void
once_end(struct once *o, int rc)
{
	if (o->json != NULL) {
		json_array_end(o->json);
		json_kv_string(o->json, "verdict", once_status_name(rc));
		json_kv_int(o->json, "exit_status", rc);
		json_object_end(o->json);
		json_finish_sink(o->json);
		o->json = NULL;
	} else
		printf("\n%s\n",
		    rc == ONCE_OK ? "OK: phones can use Exchange"
		        : rc == ONCE_WARNING
		        ? "WARNING: phones can use Exchange, with risks (see above)"
		        : rc == ONCE_CRITICAL
		        ? "CRITICAL: phones cannot use Exchange"
		        : "UNKNOWN: could not judge");
}

/*
 * Run once over the selected mailboxes (all when none is named) of the
 * configuration file, or of the one mailbox the flags describe; print the
 * report (or JSON) as the runs end; return the Nagios status.
 */
int
once_run(const struct once_opts *op)
{
	struct once o;
	char *errors = NULL, *cause = NULL, *text = NULL;
	const char *name = op->config != NULL ? op->config : "(command line)";
	int rc = ONCE_UNKNOWN, r;

	memset(&o, 0, sizeof o);
	o.color = !op->json && isatty(STDOUT_FILENO);
	if (op->config == NULL && (text = once_flags_config(op)) == NULL)
		return ONCE_UNKNOWN;
	r = config_load_text(name, text,
	    op->config == NULL ? CONFIG_LOAD_CMDLINE : 0, &o.cfg, &errors);
	free(text);
	if (r != 0) {
		fprintf(stderr, "%s%s: configuration invalid\n", errors, name);
		free(errors);
		return ONCE_UNKNOWN;
	}
	if (once_select(&o, op, name) != 0)
		goto out;
	if ((o.ctx = run_ctx_new(o.cfg, NULL, &cause)) == NULL) {
		fprintf(stderr, "ewsprobed: %s\n", cause);
		free(cause);
		goto out;
	}
	/* A report tries every candidate unless the mailbox says otherwise. */
	run_ctx_set_discovery(o.ctx, CONFIG_DISCOVERY_ALL);
	if (op->json) {
		o.json = json_new_sink(stdout, JSON_PRETTY);
		resultjson_begin(o.json, "once");
		json_key(o.json, "targets");
		json_array_begin(o.json);
	}
	loop_init();
	dns_init(0, 0);
	http_init();
	o.worst = ONCE_OK;
	once_next(&o);
	if (o.next_print < o.ntargets && loop_run() != 0)
		fatalx("event loop failed");
	http_shutdown();
	dns_shutdown();
	loop_free();
	rc = o.worst;
	once_end(&o, rc);
out:
	json_free(o.json);
	run_ctx_free(o.ctx);
	free(o.targets);
	free(o.boxes);
	config_unref(o.cfg);
	return rc;
}
