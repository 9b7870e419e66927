/*
 * Unit tests of statuscmd_render: a status document (as status.c writes
 * it) shown as a table or filtered JSON, with the exit status of the
 * worst state; every state, pending, selection by target and mailbox,
 * staleness, documents that are not status files, and text from the file
 * escaped before it reaches the terminal. No file, no clock: the bytes
 * and "now" are parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "statuscmd.h"

/* 2026-12-06T01:00:00Z */
#define WRITTEN 1796518800L

struct out {
	char *out, *err;
	int rc;
};

/* One target object of a status document. */
static char *
target(const char *mailbox, const char *state, const char *reason, int code)
{
	char *t;

	assert_true(asprintf(&t,
	                "{\"target\":\"%s/lync-phone-edition\",\"mailbox\":"
	                "\"%s\",\"address\":\"x@contoso.com\",\"profile\":"
	                "\"lync-phone-edition\",\"state\":\"%s\",\"since\":"
	                "\"2026-12-06T00:50:00Z\",\"runs\":3,\"last_run\":"
	                "{\"started\":\"2026-12-06T00:59:30Z\",\"verdict\":"
	                "\"%s\",\"reason\":\"%s\",\"phone_error\":%d}}",
	                mailbox, mailbox, state, state, reason, code) > 0);
	return t;
}

/* A document written at WRITTEN with the given targets (NULL-ended). */
static char *
doc(const char *first, ...)
{
	char *d, *t;
	const char *x;
	va_list ap;

	assert_true(asprintf(&d,
	                "{\"daemon\":{\"version\":\"0.1.0\",\"written\":"
	                "\"2026-12-06T01:00:00Z\"},\"targets\":[") > 0);
	va_start(ap, first);
	for (x = first; x != NULL; x = va_arg(ap, const char *)) {
		assert_true(
		    asprintf(&t, "%s%s%s", d, x == first ? "" : ",", x) > 0);
		free(d);
		d = t;
	}
	va_end(ap);
	assert_true(asprintf(&t, "%s]}", d) > 0);
	free(d);
	return t;
}

/* Render text as view says (now: WRITTEN + age), capturing the output. */
static struct out
render_at(const char *path, const char *text, long age, int json,
    char **targets, size_t n)
{
	struct statuscmd_view v;
	struct out o;
	size_t ol, el;
	FILE *out = open_memstream(&o.out, &ol);
	FILE *err = open_memstream(&o.err, &el);

	memset(&v, 0, sizeof v);
	v.targets = targets;
	v.ntargets = n;
	v.json = json;
	v.now = WRITTEN + age;
	v.max_age_ms = 900 * 1000;
	v.path = path;
	o.rc = statuscmd_render(text, strlen(text), &v, out, err);
	fclose(out);
	fclose(err);
	return o;
}

static struct out
render(const char *text, long age, int json, char **targets, size_t n)
{
	return render_at("/run/ewsprobed/status.json", text, age, json, targets,
	    n);
}

static void
out_free(struct out *o)
{
	free(o->out);
	free(o->err);
}

/* Every state gives its row and its exit status; the worst one wins. */
static void
test_states(void **state)
{
	static const struct {
		const char *state, *reason;
		int code, rc;
	} cases[] = {
	    {"ok", "ok", 0, 0},
	    {"warning", "ok", 0, 1},
	    {"critical", "cert_untrusted_phone", 12045, 2},
	    {"unknown", "frontend_unknown", 0, 3},
	    {"pending", "dns_failed", 12007, 3},
	};
	char *t, *d, *line, *tok, *save = NULL, code[16];
	const char *want[7];
	struct out o;
	size_t i, k;

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		t = target("lab", cases[i].state, cases[i].reason,
		    cases[i].code);
		d = doc(t, NULL);
		o = render(d, 10, 0, NULL, 0);
		assert_int_equal(o.rc, cases[i].rc);
		/* The row: the file's values, column by column. */
		snprintf(code, sizeof code, "%d", cases[i].code);
		want[0] = "lab/lync-phone-edition";
		want[1] = "lync-phone-edition";
		want[2] = cases[i].state;
		want[3] = "2026-12-06T00:50:00Z";
		want[4] = cases[i].reason;
		want[5] = cases[i].code != 0 ? code : "-";
		want[6] = "2026-12-06T00:59:30Z";
		line = strstr(o.out, "\nlab/");
		assert_non_null(line);
		for (k = 0, tok = strtok_r(line + 1, " \n", &save); k < 7;
		     k++, tok = strtok_r(NULL, " \n", &save)) {
			assert_non_null(tok);
			assert_string_equal(tok, want[k]);
		}
		assert_string_equal(o.err, "");
		out_free(&o);
		free(d);
		free(t);
	}
}

/* Mixed: critical beats warning beats unknown; selection narrows. */
static void
test_worst_and_select(void **state)
{
	char *a = target("a", "warning", "ok", 0);
	char *b = target("b", "critical", "cert_expired", 12037);
	char *c = target("c", "pending", "ok", 0);
	char *d = doc(a, b, c, NULL);
	char *only_a[] = {"a"}, *only_ac[] = {"a/lync-phone-edition", "c"};
	char *missing[] = {"nobody"};
	struct out o;

	o = render(d, 10, 0, NULL, 0);
	assert_int_equal(o.rc, 2);
	out_free(&o);
	o = render(d, 10, 0, only_a, 1);
	assert_int_equal(o.rc, 1);
	assert_null(strstr(o.out, "b/lync"));
	out_free(&o);
	o = render(d, 10, 0, only_ac, 2);
	assert_int_equal(o.rc, 1);
	assert_non_null(strstr(o.out, "c/lync"));
	out_free(&o);
	o = render(d, 10, 0, missing, 1);
	assert_int_equal(o.rc, 3);
	assert_non_null(strstr(o.err, "no target or mailbox 'nobody'"));
	out_free(&o);
	free(a);
	free(b);
	free(c);
	free(d);
}

/* --json: the selected targets as they are in the file, plus facts. */
static void
test_json(void **state)
{
	char *a = target("a", "ok", "ok", 0);
	char *b = target("b", "critical", "cert_untrusted_phone", 12045);
	char *d = doc(a, b, NULL), *only_b[] = {"b"};
	struct out o = render(d, 42, 1, only_b, 1);
	json_t *j = json_loads(o.out, 0, NULL), *t;

	assert_non_null(j);
	assert_int_equal(o.rc, 2);
	assert_int_equal(json_array_size(json_object_get(j, "targets")), 1);
	t = json_array_get(json_object_get(j, "targets"), 0);
	assert_string_equal(json_string_value(json_object_get(t, "mailbox")),
	    "b");
	assert_int_equal(json_integer_value(
	                     json_object_get(json_object_get(t, "last_run"),
	                         "phone_error")),
	    12045);
	assert_int_equal(json_integer_value(json_object_get(j, "age_seconds")),
	    42);
	assert_false(json_boolean_value(json_object_get(j, "stale")));
	assert_int_equal(json_integer_value(json_object_get(j, "exit_status")),
	    2);
	json_decref(j);
	out_free(&o);
	free(a);
	free(b);
	free(d);
}

/* Older than the allowed age: the table, an error, exit 3. */
static void
test_stale(void **state)
{
	char *a = target("a", "ok", "ok", 0), *d = doc(a, NULL);
	struct out o = render(d, 901, 0, NULL, 0);

	assert_int_equal(o.rc, 3);
	assert_non_null(strstr(o.out, "a/lync"));
	assert_non_null(strstr(o.err,
	    "is stale: written 901 s ago, more "
	    "than 900 s"));
	out_free(&o);
	o = render(d, 900, 0, NULL, 0);
	assert_int_equal(o.rc, 0);
	out_free(&o);
	free(a);
	free(d);
}

/* Not a status file: each a message and exit 3, never a crash. */
static void
test_not_status(void **state)
{
	const char *bad[] = {"", "{", "[]", "{\"targets\":[]}",
	    "{\"daemon\":{\"written\":\"yesterday\"},\"targets\":[]}",
	    "{\"daemon\":{\"written\":\"2026-12-06T01:00:00Z\"},\"targets\":{}}",
	    "{\"a\":1,\"a\":2}"};
	struct out o;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof *bad; i++) {
		o = render(bad[i], 0, 0, NULL, 0);
		assert_int_equal(o.rc, 3);
		assert_non_null(strstr(o.err, "not a status file"));
		assert_string_equal(o.out, "");
		out_free(&o);
	}
	/* Targets that are not objects, or lack members: shown as "?". */
	o = render("{\"daemon\":{\"written\":\"2026-12-06T01:00:00Z\"},"
	           "\"targets\":[1,{}]}",
	    0, 0, NULL, 0);
	assert_int_equal(o.rc, 3);
	assert_non_null(strstr(o.out, "?"));
	out_free(&o);
}

/* Control characters from the file never reach the terminal. */
static void
test_escaped(void **state)
{
	char *t = target("evil\\u001b[2J\\nOK", "ok", "ok\\u009b31m", 0);
	char *d = doc(t, NULL);
	struct out o = render(d, 0, 0, NULL, 0);

	assert_int_equal(o.rc, 0);
	assert_null(strchr(o.out, '\033'));
	assert_null(strstr(o.out, "\xc2\x9b"));
	assert_non_null(strstr(o.out, "evil\\x1b[2J\\x0aOK"));
	out_free(&o);
	free(t);
	free(d);
}

/*
 * A configured path that is not UTF-8 (nor safe to print) is shown
 * escaped, in the table and in --json (whose strings must be UTF-8):
 * never an exit.
 */
static void
test_path_escaped(void **state)
{
	char *a = target("a", "ok", "ok", 0), *d = doc(a, NULL);
	const char *path = "/tmp/x\xff\033/status.json";
	struct out o = render_at(path, d, 0, 1, NULL, 0);
	json_t *j = json_loads(o.out, 0, NULL);

	assert_int_equal(o.rc, 0);
	assert_non_null(j);
	assert_string_equal(json_string_value(
	                        json_object_get(j, "status_file")),
	    "/tmp/x\\xff\\x1b/status.json");
	json_decref(j);
	out_free(&o);
	o = render_at(path, d, 0, 0, NULL, 0);
	assert_int_equal(o.rc, 0);
	assert_non_null(
	    strstr(o.out, "status of /tmp/x\\xff\\x1b/status.json"));
	out_free(&o);
	free(a);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_states),
	    cmocka_unit_test(test_worst_and_select),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_stale),
	    cmocka_unit_test(test_not_status),
	    cmocka_unit_test(test_escaped),
	    cmocka_unit_test(test_path_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
