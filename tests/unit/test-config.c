/*
 * Unit tests of config: durations, a full valid file, every kind of error
 * with its file:line, credentials (lookup, secrecy, wiping from messages),
 * the built-in phone profile and reference counting.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#define CANARY "Canary-Pa55w0rd-7a1d"

static char dir[64];
static char cred[128];

/* Make a private directory with a 0600 credential file holding CANARY. */
static int
setup(void **unused)
{
	FILE *fp;

	strcpy(dir, "/tmp/test-config-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cred, sizeof cred, "%s/lab.password", dir);
	fp = fopen(cred, "w");
	assert_non_null(fp);
	fputs(CANARY "\r\n", fp);
	fclose(fp);
	assert_int_equal(chmod(cred, 0600), 0);
	unsetenv("CREDENTIALS_DIRECTORY");
	return 0;
}

/* Remove the test directory. */
static int
teardown(void **unused)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Write text as dir/name and return its path (static buffer). */
static const char *
write_conf(const char *name, const char *text)
{
	static char path[192];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* A valid file: profile completion and one mailbox using cred. */
static char *
good_text(const char *extra)
{
	char *s;

	assert_true(asprintf(&s,
	                "[daemon]\n"
	                "interval = 30s\n"
	                "retry_interval = 1500ms\n"
	                "discovery_interval = 2d\n"
	                "fail_after = 4\n"
	                "status_file =\n"
	                "dns_servers = 127.0.0.53, [::1]:5353\n"
	                "\n"
	                "[profile lync-phone-edition]\n"
	                "frontend = lyncpool.contoso.com:5061\n"
	                "\n"
	                "[profile modern]\n"
	                "public_roots = %s\n"
	                "tls_min = 1.2\n"
	                "tls_max = 1.3\n"
	                "system_store = no\n"
	                "\n"
	                "[mailbox lab]\n"
	                "address = Lab@Contoso.COM.\n"
	                "account = CONTOSO\\lab\n"
	                "credential = %s\n"
	                "profiles = lync-phone-edition, modern\n"
	                "ews_internal_url = "
	                "https://casarray.contoso.com/EWS/Exchange.asmx\n"
	                "redirect_allow = mail.contoso-hosting.net\n"
	                "discovery = all\n"
	                "%s",
	                cred, cred, extra) > 0);
	return s;
}

/* Load text; return the errors (NULL when it loaded). */
static char *
load_errors(const char *text, struct config **cfgp)
{
	struct config *cfg = NULL;
	char *errors = NULL;
	const char *path = write_conf("t.conf", text);

	if (config_load(path, &cfg, &errors) == 0) {
		assert_null(errors);
		if (cfgp != NULL)
			*cfgp = cfg;
		else
			config_unref(cfg);
		return NULL;
	}
	assert_null(cfg);
	assert_non_null(errors);
	assert_null(strstr(errors, CANARY));
	return errors;
}

/* Durations with every unit; garbage, zero and overflow refused. */
static void
test_durations(void **unused)
{
	uint64_t ms;

	assert_int_equal(config_parse_duration("1500ms", &ms), 0);
	assert_int_equal(ms, 1500);
	assert_int_equal(config_parse_duration("30s", &ms), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(config_parse_duration("45", &ms), 0);
	assert_int_equal(ms, 45000);
	assert_int_equal(config_parse_duration("5m", &ms), 0);
	assert_int_equal(ms, 300000);
	assert_int_equal(config_parse_duration("24h", &ms), 0);
	assert_int_equal(ms, 86400000);
	assert_int_equal(config_parse_duration("2d", &ms), 0);
	assert_int_equal(ms, 172800000);
	assert_int_equal(config_parse_duration("0s", &ms), -1);
	assert_int_equal(config_parse_duration("-5m", &ms), -1);
	assert_int_equal(config_parse_duration("5 m", &ms), -1);
	assert_int_equal(config_parse_duration("5min", &ms), -1);
	assert_int_equal(config_parse_duration("m", &ms), -1);
	assert_int_equal(config_parse_duration("", &ms), -1);
	assert_int_equal(config_parse_duration(NULL, &ms), -1);
	assert_int_equal(config_parse_duration("99999999999999999999d", &ms),
	    -1);
	assert_int_equal(config_parse_duration("999999999999999d", &ms), -1);
}

/* A full valid file loads with every value in place. */
static void
test_good_file(void **unused)
{
	struct config *cfg = NULL;
	const struct config_mailbox *m;
	const struct config_profile *p;
	char *text = good_text(""), *errors, *sum;

	errors = load_errors(text, &cfg);
	if (errors != NULL)
		fail_msg("unexpected errors: %s", errors);
	assert_int_equal(cfg->interval_ms, 30000);
	assert_int_equal(cfg->retry_interval_ms, 1500);
	assert_int_equal(cfg->discovery_interval_ms, 172800000);
	assert_int_equal(cfg->fail_after, 4);
	assert_int_equal(cfg->recover_after, 2);
	assert_null(cfg->status_file);
	assert_string_equal(cfg->metrics_file, "/run/ewsprobed/ewsprobed.prom");
	assert_int_equal(cfg->dns_servers.n, 2);
	assert_string_equal(cfg->dns_servers.items[1], "[::1]:5353");

	p = config_profile_find(cfg, CONFIG_PROFILE_PHONE);
	assert_non_null(p);
	assert_true(p->builtin);
	assert_string_equal(p->frontend_host, "lyncpool.contoso.com");
	assert_int_equal(p->frontend_port, 5061);
	assert_int_equal(p->tls_max, CONFIG_TLS_1_0);
	assert_true(p->system_store);
	p = config_profile_find(cfg, "modern");
	assert_int_equal(p->tls_min, CONFIG_TLS_1_2);
	assert_false(p->system_store);

	m = config_mailbox_find(cfg, "lab");
	assert_non_null(m);
	assert_string_equal(m->domain, "contoso.com");
	assert_string_equal(m->account, "CONTOSO\\lab");
	/* The trailing CR LF is not part of the password. */
	assert_string_equal(m->password, CANARY);
	assert_int_equal(m->nprofiles, 2);
	assert_string_equal(m->profiles[1]->name, "modern");
	assert_int_equal(m->discovery, CONFIG_DISCOVERY_ALL);
	assert_string_equal(m->redirect_allow.items[0],
	    "mail.contoso-hosting.net");
	assert_null(config_mailbox_find(cfg, "nobody"));

	sum = config_summary(cfg);
	assert_string_equal(sum, "1 mailbox, 2 profiles, interval 30s");
	free(sum);
	assert_ptr_equal(config_ref(cfg), cfg);
	config_unref(cfg);
	assert_int_equal(cfg->refcnt, 1);
	config_unref(cfg);
	free(text);
}

/* Assert errors has a line starting with "path:line:" that contains what. */
static void
assert_error(const char *errors, int line, const char *what)
{
	char prefix[256];
	const char *p;

	snprintf(prefix, sizeof prefix, "%s/t.conf:%d: ", dir, line);
	for (p = errors; (p = strstr(p, prefix)) != NULL; p++) {
		const char *eol = strchr(p, '\n');
		char *l =
		    strndup(p, eol != NULL ? (size_t)(eol - p) : strlen(p));
		int hit = strstr(l, what) != NULL;

		free(l);
		if (hit)
			return;
	}
	fail_msg("no error '%s' at line %d in:\n%s", what, line, errors);
}

/* A typo'd key, a bad duration and an open credential: all three named. */
static void
test_three_errors(void **unused)
{
	char *text, *errors;

	assert_int_equal(chmod(cred, 0644), 0);
	assert_true(asprintf(&text,
	                "[daemon]\n"
	                "intervall = 5m\n"
	                "timeout = 5 minutes\n"
	                "[profile lync-phone-edition]\n"
	                "frontend = lyncpool.contoso.com\n"
	                "[mailbox lab]\n"
	                "address = lab@contoso.com\n"
	                "account = CONTOSO\\lab\n"
	                "credential = %s\n",
	                cred) > 0);
	errors = load_errors(text, NULL);
	assert_non_null(errors);
	assert_error(errors, 2, "[daemon] intervall: unknown key");
	assert_error(errors, 3, "[daemon] timeout: invalid duration");
	assert_error(errors, 9, "[mailbox lab] credential:");
	assert_error(errors, 9, "mode 0644");
	free(errors);
	free(text);
	assert_int_equal(chmod(cred, 0600), 0);
}

/* Structural errors: sections, duplicates, syntax, missing keys. */
static void
test_structure_errors(void **unused)
{
	char *errors;

	errors = load_errors("orphan = 1\n"
	                     "[daemon]\n"
	                     "fail_after = 3\n"
	                     "fail_after = 4\n"
	                     "[daemon]\n"
	                     "[frobnicator x]\n"
	                     "key = value\n"
	                     "[mailbox a b]\n"
	                     "[mailbox lab]\n"
	                     "just some words\n"
	                     "[mailbox lab]\n"
	                     "concurrency: 3\n",
	    NULL);
	assert_non_null(errors);
	assert_error(errors, 1, "outside any section");
	assert_error(errors, 4, "fail_after: given more than once");
	assert_error(errors, 5, "section defined twice");
	assert_error(errors, 6, "unknown section");
	assert_error(errors, 8, "invalid section name");
	assert_error(errors, 10, "syntax error");
	assert_error(errors, 11, "section defined twice");
	assert_error(errors, 12, "not key: value");
	assert_error(errors, 9, "address is required");
	assert_error(errors, 9, "account is required");
	assert_error(errors, 9, "credential is required");
	/* The phone profile was never completed. */
	assert_non_null(strstr(errors, "has no trust anchors"));
	free(errors);
}

/* Bad values of each type are named at their line. */
static void
test_value_errors(void **unused)
{
	char *text, *errors;

	assert_true(
	    asprintf(&text,
	        "[daemon]\n"
	        "fail_after = 0\n"
	        "concurrency = many\n"
	        "dns_servers = 127.0.0.1:99999, dns.example\n"
	        "status_file = relative/status.json\n"
	        "system_store = /nonexistent/bundle.pem\n"
	        "[profile lync-phone-edition]\n"
	        "frontend = -bad-.contoso.com\n"
	        "tls_max = 1.4\n"
	        "system_store = maybe\n"
	        "web_trusted_ca = %s, /nonexistent/ca.pem\n"
	        "[profile other]\n"
	        "public_roots = %s\n"
	        "tls_min = 1.3\n"
	        "tls_max = 1.2\n"
	        "[mailbox lab]\n"
	        "address = lab@192.168.1.1\n"
	        "account = lab\n"
	        "credential = %s\n"
	        "profiles = other, nosuch\n"
	        "ews_external_url = http://mail.contoso.com/EWS/Exchange.asmx\n"
	        "ews_internal_url = https://user:pw@cas.contoso.com/EWS/\n"
	        "discovery = some\n",
	        dir, cred, cred) > 0);
	errors = load_errors(text, NULL);
	assert_non_null(errors);
	assert_error(errors, 2, "fail_after: invalid number");
	assert_error(errors, 3, "concurrency: invalid number");
	assert_error(errors, 4, "invalid DNS server '127.0.0.1:99999'");
	assert_error(errors, 4, "invalid DNS server 'dns.example'");
	assert_error(errors, 5, "not an absolute path");
	assert_error(errors, 6, "/nonexistent/bundle.pem");
	assert_error(errors, 8, "invalid host name");
	assert_error(errors, 9, "invalid TLS version");
	assert_error(errors, 10, "invalid boolean");
	assert_error(errors, 11, "/nonexistent/ca.pem");
	assert_error(errors, 12, "tls_min is above tls_max");
	assert_error(errors, 17, "does not end in a DNS domain name");
	assert_error(errors, 18, "neither DOMAIN\\user nor user@domain");
	assert_error(errors, 16, "no profile 'nosuch'");
	assert_error(errors, 21, "must be an https:// URL");
	assert_error(errors, 22, "must not carry a user name or password");
	assert_error(errors, 23, "invalid mode");
	free(errors);
	free(text);
}

/* $CREDENTIALS_DIRECTORY names; symlinks and empty files refused. */
static void
test_credentials(void **unused)
{
	struct config *cfg = NULL;
	char link[192], empty[192], *text, *errors;
	FILE *fp;

	text = strdup("[profile lync-phone-edition]\n"
	              "frontend = lyncpool.contoso.com\n"
	              "[mailbox lab]\n"
	              "address = lab@contoso.com\n"
	              "account = lab@corp.contoso.com\n"
	              "credential = lab.password\n");
	/* A name without $CREDENTIALS_DIRECTORY is an error. */
	errors = load_errors(text, NULL);
	assert_non_null(errors);
	assert_error(errors, 6, "needs $CREDENTIALS_DIRECTORY");
	free(errors);
	/* With it, the name is read from there. */
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	errors = load_errors(text, &cfg);
	assert_null(errors);
	assert_string_equal(cfg->mailboxes[0]->password, CANARY);
	config_unref(cfg);
	unsetenv("CREDENTIALS_DIRECTORY");
	free(text);

	/* A symbolic link to a good file is refused. */
	snprintf(link, sizeof link, "%s/link.password", dir);
	assert_int_equal(symlink(cred, link), 0);
	assert_true(
	    asprintf(&text,
	        "[profile lync-phone-edition]\nfrontend = "
	        "lyncpool.contoso.com\n"
	        "[mailbox lab]\naddress = lab@contoso.com\naccount = C\\lab\n"
	        "credential = %s\n",
	        link) > 0);
	errors = load_errors(text, NULL);
	assert_non_null(errors);
	assert_error(errors, 6, "symbolic link");
	free(errors);
	free(text);

	/* An empty file is refused. */
	snprintf(empty, sizeof empty, "%s/empty.password", dir);
	fp = fopen(empty, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(chmod(empty, 0600), 0);
	assert_true(
	    asprintf(&text,
	        "[profile lync-phone-edition]\nfrontend = "
	        "lyncpool.contoso.com\n"
	        "[mailbox lab]\naddress = lab@contoso.com\naccount = C\\lab\n"
	        "credential = %s\n",
	        empty) > 0);
	errors = load_errors(text, NULL);
	assert_non_null(errors);
	assert_error(errors, 6, "is empty");
	free(errors);
	free(text);
}

/* A missing file is one clear error; no mailbox at all is an error. */
static void
test_missing_file_and_empty(void **unused)
{
	struct config *cfg = NULL;
	char *errors = NULL;

	assert_int_equal(config_load("/nonexistent/ewsprobed.conf", &cfg,
	                     &errors),
	    -1);
	assert_null(cfg);
	assert_string_equal(errors,
	    "/nonexistent/ewsprobed.conf: No such file or directory\n");
	free(errors);
	errors = load_errors("[daemon]\ninterval = 1m\n", NULL);
	assert_non_null(strstr(errors, "nothing to monitor"));
	free(errors);
}

/* A line longer than inih's buffer is reported, not split into two. */
static void
test_long_line(void **unused)
{
	char text[1024], *errors;

	snprintf(text, sizeof text, "[daemon]\nstatus_file = /%0300d\n", 0);
	errors = load_errors(text, NULL);
	assert_non_null(errors);
	assert_error(errors, 2, "line longer than");
	free(errors);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_good_file),
	    cmocka_unit_test(test_three_errors),
	    cmocka_unit_test(test_structure_errors),
	    cmocka_unit_test(test_value_errors),
	    cmocka_unit_test(test_credentials),
	    cmocka_unit_test(test_missing_file_and_empty),
	    cmocka_unit_test(test_long_line),
	};

	return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
