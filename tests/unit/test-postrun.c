/*
 * Unit tests of postrun, what follows a target's run: counters and the
 * soft/hard state, the alerts journaled (read back from the stderr log),
 * expiry alerts given once per certificate and window and forgotten when
 * the certificate is gone, the Front End result kept across runs, the
 * STATUS= line, the status-write gap and the status file itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "chain.h"
#include "frontend.h"
#include "log.h"
#include "loop.h"
#include "postrun.h"
#include "urlcheck.h"
#include "xmalloc.h"

#include "helpers/capture.h"

static char captured[16384];
static struct config cfg;
static struct config_mailbox mb = {.name = "mb", .address = "a@contoso.com"};
static struct config_profile prof = {.name = "phone"};

/* How many times needle occurs in captured. */
static int
captured_count(const char *needle)
{
	int n = 0;

	for (const char *p = captured; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* A run result with the verdict, and one URL showing the certificates. */
static struct run_result *
result_new(enum state_verdict verdict, const char *const *sha, size_t ncerts,
    int64_t days_left)
{
	struct run_result *r = xcalloc(1, sizeof *r);
	struct urlcheck_result *u;
	struct chain_verdict *v;

	r->verdict = verdict;
	r->started = 1000;
	r->message = xstrdup(verdict == STATE_OK ? "fine" : "broken");
	if (sha == NULL)
		return r;
	u = r->urls[0] = xcalloc(1, sizeof *u);
	u->url = xstrdup("https://mail.contoso.com/EWS/Exchange.asmx");
	u->role = xstrdup("internal");
	if (ncerts == 0)
		return r; /* failed before the handshake: no chain */
	v = u->verdict = xcalloc(1, sizeof *v);
	v->certs = xcalloc(ncerts, sizeof *v->certs);
	v->ncerts = ncerts;
	for (size_t i = 0; i < ncerts; i++) {
		snprintf(v->certs[i].sha256, sizeof v->certs[i].sha256, "%s",
		    sha[i]);
		v->certs[i].subject = xstrdup("CN=mail.contoso.com");
		v->certs[i].not_after = time(NULL) + days_left * 86400 + 3600;
	}
	return r;
}

/* A fresh target and configuration for each test. */
static int
setup(void **state)
{
	struct postrun_target *pt = xcalloc(1, sizeof *pt);

	memset(&cfg, 0, sizeof cfg);
	cfg.fail_after = 2;
	cfg.recover_after = 1;
	postrun_target_init(pt, &mb, &prof);
	*state = pt;
	return 0;
}

/* Free the target. */
static int
teardown(void **state)
{
	postrun_target_clear(*state);
	free(*state);
	return 0;
}

/* Runs are counted; the hard state moves after fail_after and alerts. */
static void
test_state_and_alerts(void **state)
{
	struct postrun_target *pt = *state;

	assert_string_equal(pt->name, "mb/phone");
	capture_begin();
	postrun_apply(&cfg, pt, result_new(STATE_CRITICAL, NULL, 0, 0));
	capture_end(captured, sizeof captured);
	assert_int_equal(pt->runs, 1);
	assert_false(pt->st.established);
	assert_int_equal(captured_count("mb/phone critical"), 0);

	capture_begin();
	postrun_apply(&cfg, pt, result_new(STATE_CRITICAL, NULL, 0, 0));
	capture_end(captured, sizeof captured);
	assert_int_equal(pt->runs, 2);
	assert_true(pt->st.established);
	assert_int_equal(pt->st.hard, STATE_CRITICAL);
	assert_int_equal(pt->last_success, 0);
	assert_int_equal(captured_count("mb/phone critical: broken"), 1);

	capture_begin();
	postrun_apply(&cfg, pt, result_new(STATE_OK, NULL, 0, 0));
	capture_end(captured, sizeof captured);
	assert_int_equal(pt->st.hard, STATE_OK);
	assert_int_equal(pt->last_success, 1000);
	assert_int_equal(captured_count("mb/phone recovered (was critical)"),
	    1);
	assert_non_null(pt->last);
	assert_int_equal(pt->last->verdict, STATE_OK);
}

/* Each expiry window is alerted once per certificate, not every run. */
static void
test_expiry_once(void **state)
{
	struct postrun_target *pt = *state;
	const char *sha[] = {"aa11"};

	cfg.cert_warn_days = 30;
	capture_begin();
	postrun_apply(&cfg, pt, result_new(STATE_WARNING, sha, 1, 5));
	capture_end(captured, sizeof captured);
	/* 5 days left: inside the 30- and 7-day windows, not the 1-day one. */
	assert_int_equal(captured_count("within 30 days"), 1);
	assert_int_equal(captured_count("within 7 days"), 1);
	assert_int_equal(captured_count("within 1 days"), 0);
	assert_int_equal(pt->nexpiring, 2);
	assert_string_equal(pt->expiring[0], "aa11/30");
	assert_string_equal(pt->expiring[1], "aa11/7");

	capture_begin();
	postrun_apply(&cfg, pt, result_new(STATE_WARNING, sha, 1, 5));
	capture_end(captured, sizeof captured);
	assert_int_equal(captured_count("expires on"), 0);
	assert_int_equal(pt->nexpiring, 2);

	/* The next window is alerted when the certificate enters it. */
	capture_begin();
	postrun_apply(&cfg, pt, result_new(STATE_WARNING, sha, 1, 0));
	capture_end(captured, sizeof captured);
	assert_int_equal(captured_count("within 1 days"), 1);
	assert_int_equal(captured_count("expires on"), 1);
	assert_int_equal(pt->nexpiring, 3);
}

/* With cert_warn_days 0 nothing is alerted nor remembered. */
static void
test_expiry_off(void **state)
{
	struct postrun_target *pt = *state;
	const char *sha[] = {"aa11"};

	capture_begin();
	postrun_apply(&cfg, pt, result_new(STATE_OK, sha, 1, 0));
	capture_end(captured, sizeof captured);
	assert_int_equal(captured_count("expires on"), 0);
	assert_int_equal(pt->nexpiring, 0);
}

/*
 * A certificate no longer shown is forgotten (a renewal alerts again),
 * but only after a run that saw a chain: a failed connection proves
 * nothing.
 */
static void
test_expiry_pruned(void **state)
{
	struct postrun_target *pt = *state;
	const char *old[] = {"aa11"}, *renewed[] = {"bb22"};

	cfg.cert_warn_days = 30;
	capture_begin();
	postrun_apply(&cfg, pt, result_new(STATE_WARNING, old, 1, 20));
	postrun_apply(&cfg, pt, result_new(STATE_CRITICAL, old, 0, 0));
	postrun_apply(&cfg, pt, result_new(STATE_CRITICAL, NULL, 0, 0));
	capture_end(captured, sizeof captured);
	assert_int_equal(pt->nexpiring, 1);
	assert_string_equal(pt->expiring[0], "aa11/30");

	capture_begin();
	postrun_apply(&cfg, pt, result_new(STATE_OK, renewed, 1, 300));
	capture_end(captured, sizeof captured);
	assert_int_equal(pt->nexpiring, 0);
	assert_int_equal(captured_count("expires on"), 0);
}

/* The Front End result of the last learning run is kept for later runs. */
static void
test_frontend_kept(void **state)
{
	struct postrun_target *pt = *state;
	struct run_result *r = result_new(STATE_OK, NULL, 0, 0);

	r->frontend = xcalloc(1, sizeof *r->frontend);
	r->frontend->ok = 1;
	r->frontend->issuer = xstrdup("CN=Contoso Issuing CA");
	capture_begin();
	postrun_apply(&cfg, pt, r);
	postrun_apply(&cfg, pt, result_new(STATE_OK, NULL, 0, 0));
	capture_end(captured, sizeof captured);
	assert_non_null(pt->last->frontend);
	assert_string_equal(pt->last->frontend->issuer,
	    "CN=Contoso Issuing CA");
}

/* The STATUS= line counts hard states, pending targets and the lag. */
static void
test_status_text(void **state)
{
	struct postrun_target *pt = *state, a, b;
	struct postrun_target *v[3] = {pt, &a, &b};
	struct status_sched load = {.queued = 7, .lag_ms = 65432};
	char *s;

	postrun_target_init(&a, &mb, &prof);
	postrun_target_init(&b, &mb, &prof);
	a.st.established = 1;
	a.st.hard = STATE_OK;
	b.st.established = 1;
	b.st.hard = STATE_CRITICAL;
	s = postrun_status_text(v, 3, &load);
	assert_string_equal(s,
	    "3 targets: 1 ok, 0 warning, 1 critical, 0 "
	    "unknown, pending");
	free(s);
	load.behind = 1;
	s = postrun_status_text(v + 1, 1, &load);
	assert_string_equal(s,
	    "1 target: 1 ok, 0 warning, 0 critical, 0 "
	    "unknown; behind schedule: 7 due runs wait, "
	    "the oldest for 65 s");
	free(s);
	postrun_target_clear(&a);
	postrun_target_clear(&b);
}

/* The gap between status writes: 100 times the cost, 1 s to 60 s. */
static void
test_status_gap(void **state)
{
	(void)state;
	assert_int_equal(postrun_status_gap_ms(0), 1000);
	assert_int_equal(postrun_status_gap_ms(9), 1000);
	assert_int_equal(postrun_status_gap_ms(50), 5000);
	assert_int_equal(postrun_status_gap_ms(600), 60000);
	assert_int_equal(postrun_status_gap_ms(100000), 60000);
}

/* The status file holds every target with what it remembers. */
static void
test_status_write(void **state)
{
	struct postrun_target *pt = *state, *v[1] = {pt};
	struct status_sched load = {.concurrency = 4};
	char dir[] = "/tmp/test-postrun-XXXXXX", *path, buf[65536];
	FILE *f;
	size_t n;

	assert_non_null(mkdtemp(dir));
	xasprintf(&path, "%s/status.json", dir);
	cfg.path = "/etc/ewsprobed/ewsprobed.conf";
	cfg.status_file = path;
	capture_begin();
	postrun_apply(&cfg, pt, result_new(STATE_OK, NULL, 0, 0));
	capture_end(captured, sizeof captured);
	loop_init();
	postrun_status_init(NULL);
	postrun_status_write(&cfg, 1, v, 1, &load, loop_now_usec());
	postrun_status_free();
	loop_free();
	assert_non_null(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_non_null(strstr(buf, "\"mb/phone\""));
	assert_non_null(strstr(buf, "a@contoso.com"));
	unlink(path);
	rmdir(dir);
	free(path);
	cfg.status_file = NULL;
}

int
main(void)
{
	/* Every test but the gap's starts from a fresh target. */
#define POSTRUN_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    POSTRUN_TEST(test_state_and_alerts),
	    POSTRUN_TEST(test_expiry_once),
	    POSTRUN_TEST(test_expiry_off),
	    POSTRUN_TEST(test_expiry_pruned),
	    POSTRUN_TEST(test_frontend_kept),
	    POSTRUN_TEST(test_status_text),
	    cmocka_unit_test(test_status_gap),
	    POSTRUN_TEST(test_status_write),
	};

	log_init(LOG_TARGET_STDERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
