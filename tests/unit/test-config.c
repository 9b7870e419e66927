/*
 * Unit tests of config: durations and value checks, a full valid file (and
 * the shipped sample), every kind of error with its file:line, credentials
 * (lookup, secrecy, symbolic links, and the password kept out of every
 * message), the built-in phone profile, fixed URLs and reference counting.
 *
 * Each test works in its own mkdtemp directory, removed afterwards.
 */
#include <sys/stat.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfgvalue.h"
#include "config.h"
#include "ewsprobed-build.h"

/* A password no message may ever contain, nor a piece of it. */
#define CANARY "Canary-Pa55w0rd-7a1d"
#define FIXTURES TEST_DATA_DIR "/config"
#define SAMPLE TEST_DATA_DIR "/../../conf/ewsprobed.conf"

static char dir[64]; /* this test's directory */
static char cred[128]; /* dir/lab.password: CANARY, CR LF, mode 0600 */

/* Write text (len bytes) as dir/name with mode; return its path. */
static const char *
write_file(const char *name, const void *text, size_t len, mode_t mode)
{
	static char path[192];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

/* Make a fresh directory with a 0600 credential holding CANARY. */
static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test-config-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cred, sizeof cred, "%s",
	    write_file("lab.password", CANARY "\r\n", strlen(CANARY) + 2,
	        0600));
	unsetenv("CREDENTIALS_DIRECTORY");
	return 0;
}

/* Remove the test's directory and whatever is in it. */
static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	unsetenv("CREDENTIALS_DIRECTORY");
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Fail if errors holds the password or any 8 bytes of it. */
static void
assert_no_secret(const char *errors)
{
	char piece[9];
	size_t i;

	for (i = 0; i + 8 <= strlen(CANARY); i++) {
		memcpy(piece, &CANARY[i], 8);
		piece[8] = '\0';
		if (strstr(errors, piece) != NULL)
			fail_msg("password in a message: %s", errors);
	}
}

/* Load path; return the errors (NULL when it loaded into *cfgp). */
static char *
load_path(const char *path, int flags, struct config **cfgp)
{
	struct config *cfg = NULL;
	char *errors = NULL;

	if (config_load_flags(path, flags, &cfg, &errors) == 0) {
		assert_null(errors);
		assert_non_null(cfg);
		assert_int_equal(cfg->refcnt, 1);
		if (cfgp != NULL)
			*cfgp = cfg;
		else
			config_unref(cfg);
		return NULL;
	}
	assert_null(cfg);
	assert_non_null(errors);
	assert_int_equal(errors[strlen(errors) - 1], '\n');
	assert_no_secret(errors);
	return errors;
}

/* Write text as dir/t.conf and load it; return the errors. */
static char *
load_errors(const char *text, struct config **cfgp)
{
	return load_path(write_file("t.conf", text, strlen(text), 0644), 0,
	    cfgp);
}

/* Load text that must load; return the configuration. */
static struct config *
load_ok(const char *text)
{
	struct config *cfg = NULL;
	char *errors = load_errors(text, &cfg);

	if (errors != NULL)
		fail_msg("unexpected errors:\n%s", errors);
	return cfg;
}

/*
 * Assert errors has a line that starts with "file:line: " and contains
 * what; file is dir/t.conf unless given.
 */
static void
assert_error_in(const char *errors, const char *file, int line,
    const char *what)
{
	char prefix[256], *copy, *l, *p;

	if (file == NULL)
		snprintf(prefix, sizeof prefix, "%s/t.conf:%d: ", dir, line);
	else if (line == 0)
		snprintf(prefix, sizeof prefix, "%s: ", file);
	else
		snprintf(prefix, sizeof prefix, "%s:%d: ", file, line);
	copy = strdup(errors);
	for (p = copy; (l = strsep(&p, "\n")) != NULL;) {
		if (strncmp(l, prefix, strlen(prefix)) == 0 &&
		    strstr(l, what) != NULL) {
			free(copy);
			return;
		}
	}
	free(copy);
	fail_msg("no error '%s' at %s in:\n%s", what, prefix, errors);
}

/* assert_error_in() for dir/t.conf. */
static void
assert_error(const char *errors, int line, const char *what)
{
	assert_error_in(errors, NULL, line, what);
}

/* The number of lines in s. */
static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* The start of a file with a completed phone profile and a mailbox. */
#define MAILBOX_HEAD \
	"[profile lync-phone-edition]\n" \
	"frontend = lyncpool.contoso.com\n" \
	"[mailbox lab]\n" \
	"address = lab@contoso.com\n" \
	"account = CONTOSO\\lab\n"

/* A one-mailbox file whose credential is path (credential= on line 6). */
static char *
cred_text(const char *path)
{
	char *s;

	assert_true(asprintf(&s, MAILBOX_HEAD "credential = %s\n", path) > 0);
	return s;
}

/* Durations with every unit; garbage, zero, negatives and overflow. */
static void
test_durations(void **state)
{
	static const struct {
		const char *s;
		uint64_t ms;
	} good[] = {
	    {"1500ms", 1500},
	    {"1ms", 1},
	    {"30s", 30000},
	    {"45", 45000},
	    {"5m", 300000},
	    {"24h", 86400000},
	    {"2d", 172800000},
	    {"007s", 7000},
	    {"30d", 2592000000},
	    {"2592000000ms", 2592000000},
	};
	static const char *bad[] = {"0", "0s", "0ms", "-5m", "+5m", " 5m",
	    "5m ", "5 m", "5min", "5M", "5mm", "m", "ms", "", "1.5s", "0x10s",
	    "5s5", "18446744073709551616ms", "99999999999999999999d",
	    "213503982335d", "5124095576030432h", "18446744073709551615ms",
	    "31d", "2592000001ms", "721h"};
	uint64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		ms = 0;
		if (cfgvalue_parse_duration(good[i].s, &ms) != 0 ||
		    ms != good[i].ms)
			fail_msg("'%s' gave %llu", good[i].s,
			    (unsigned long long)ms);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ms = 42;
		if (cfgvalue_parse_duration(bad[i], &ms) != -1 || ms != 42)
			fail_msg("'%s' accepted", bad[i]);
	}
	assert_int_equal(cfgvalue_parse_duration(NULL, &ms), -1);
}

/* The bounds of the [daemon] numbers and durations. */
static void
test_daemon_bounds(void **state)
{
	struct config *cfg;
	char *text, *errors;

	(void)state;
	assert_true(asprintf(&text,
	                "[daemon]\n"
	                "interval = 1s\n"
	                "timeout = 10m\n"
	                "fail_after = 100\n"
	                "recover_after = 1\n"
	                "concurrency = 4096\n"
	                "cert_warn_days = 0\n"
	                "max_addresses = 64\n" MAILBOX_HEAD "credential = %s\n",
	                cred) > 0);
	cfg = load_ok(text);
	assert_int_equal(cfg->interval_ms, 1000);
	assert_int_equal(cfg->timeout_ms, 600000);
	assert_int_equal(cfg->fail_after, 100);
	assert_int_equal(cfg->recover_after, 1);
	assert_int_equal(cfg->concurrency, 4096);
	assert_int_equal(cfg->cert_warn_days, 0);
	assert_int_equal(cfg->max_addresses, 64);
	config_unref(cfg);
	free(text);

	errors = load_errors("[daemon]\n"
	                     "interval = 999ms\n"
	                     "timeout = 601s\n"
	                     "fail_after = 101\n"
	                     "recover_after = 0\n"
	                     "concurrency = 4097\n"
	                     "cert_warn_days = 3651\n"
	                     "retry_interval = -1m\n"
	                     "discovery_interval = 0\n"
	                     "max_addresses = 0\n"
	                     "[daemon2]\n",
	    NULL);
	assert_error(errors, 2, "[daemon] interval: duration '999ms' out of");
	assert_error(errors, 3, "[daemon] timeout: duration '601s' out of");
	assert_error(errors, 4, "[daemon] fail_after: invalid number '101'");
	assert_error(errors, 5, "[daemon] recover_after: invalid number");
	assert_error(errors, 6, "[daemon] concurrency: invalid number '4097'");
	assert_error(errors, 7, "[daemon] cert_warn_days: invalid number");
	assert_error(errors, 8, "[daemon] retry_interval: invalid duration");
	assert_error(errors, 9, "[daemon] discovery_interval: invalid");
	assert_error(errors, 10, "[daemon] max_addresses: invalid number '0'");
	free(errors);
	errors = load_errors("[daemon]\nmax_addresses = 65\n", NULL);
	assert_error(errors, 2, "[daemon] max_addresses: invalid number '65'");
	free(errors);

	/*
	 * Every duration is at most 30 days, so that no sum of them (an
	 * interval and its jitter) can overflow.
	 */
	errors = load_errors("[daemon]\n"
	                     "interval = 18446744073709551615ms\n"
	                     "retry_interval = 31d\n"
	                     "discovery_interval = 18446744073709551616ms\n"
	                     "[profile p]\n"
	                     "frontend_interval = 99999999999999999999d\n"
	                     "[mailbox m]\n"
	                     "interval = 2592001s\n",
	    NULL);
	assert_error(errors, 2,
	    "[daemon] interval: duration '18446744073709551615ms' out of range "
	    "(1s to 30d)");
	assert_error(errors, 3, "[daemon] retry_interval: duration '31d' out");
	assert_error(errors, 4, "[daemon] discovery_interval: duration");
	assert_error(errors, 6, "[profile p] frontend_interval: duration");
	assert_error(errors, 8,
	    "[mailbox m] interval: duration '2592001s' out");
	free(errors);
	assert_true(
	    asprintf(&text,
	        "[daemon]\n"
	        "interval = 30d\n"
	        "discovery_interval = 720h\n" MAILBOX_HEAD "credential = %s\n",
	        cred) > 0);
	cfg = load_ok(text);
	assert_int_equal(cfg->interval_ms, CONFIG_MAX_DURATION_MS);
	assert_int_equal(cfg->discovery_interval_ms, CONFIG_MAX_DURATION_MS);
	config_unref(cfg);
	free(text);
}

/* A full file written here: every value lands where it should. */
static void
test_good_file(void **state)
{
	struct config *cfg;
	const struct config_mailbox *m;
	const struct config_profile *p;
	char *text, *sum;

	(void)state;
	assert_true(asprintf(&text,
	                "[daemon]\n"
	                "interval = 30s\n"
	                "retry_interval = 1500ms\n"
	                "discovery_interval = 2d\n"
	                "fail_after = 4\n"
	                "status_file =\n"
	                "system_store = %s\n"
	                "dns_servers = 127.0.0.53, [::1]:5353 192.0.2.1:53\n"
	                "\n"
	                "[profile lync-phone-edition]\n"
	                "frontend = lyncpool.contoso.com:5061\n"
	                "frontend_ca = %s ; the FE issuing CA\n"
	                "web_trusted_ca = %s, %s\n"
	                "\n"
	                "[profile modern]\n"
	                "public_roots = %s\n"
	                "tls_min = 1.2\n"
	                "tls_max = 1.3\n"
	                "system_store = no\n"
	                "frontend_interval = 2h\n"
	                "\n"
	                "[mailbox lab]\n"
	                "address = Lab@Contoso.COM.\n"
	                "account = CONTOSO\\lab\n"
	                "credential = %s\n"
	                "profiles = lync-phone-edition, modern\n"
	                "interval = 1m\n"
	                "dns_servers = 192.0.2.53\n"
	                "ews_internal_url = "
	                "https://casarray.contoso.com/EWS/Exchange.asmx\n"
	                "ews_external_url = "
	                "https://mail.contoso.com:8443/EWS/Exchange.asmx\n"
	                "redirect_allow = Mail.Contoso-Hosting.net, "
	                "ad.example.org\n"
	                "discovery = all\n",
	                cred, cred, cred, dir, cred, cred) > 0);
	cfg = load_ok(text);
	free(text);
	assert_int_equal(cfg->interval_ms, 30000);
	assert_int_equal(cfg->retry_interval_ms, 1500);
	assert_int_equal(cfg->discovery_interval_ms, 172800000);
	assert_int_equal(cfg->timeout_ms, 30000);
	assert_int_equal(cfg->fail_after, 4);
	assert_int_equal(cfg->recover_after, 2);
	assert_null(cfg->status_file);
	assert_string_equal(cfg->metrics_file, "/run/ewsprobed/ewsprobed.prom");
	assert_string_equal(cfg->system_store_file, cred);
	assert_int_equal(cfg->dns_servers.n, 3);
	assert_string_equal(cfg->dns_servers.items[0], "127.0.0.53");
	assert_string_equal(cfg->dns_servers.items[1], "[::1]:5353");
	assert_string_equal(cfg->dns_servers.items[2], "192.0.2.1:53");

	assert_int_equal(cfg->nprofiles, 2);
	p = config_profile_find(cfg, CONFIG_PROFILE_PHONE);
	assert_non_null(p);
	assert_true(p->builtin);
	assert_int_equal(p->line, 10);
	assert_string_equal(p->frontend_host, "lyncpool.contoso.com");
	assert_int_equal(p->frontend_port, 5061);
	assert_string_equal(p->frontend_ca_file, cred);
	assert_int_equal(p->web_trusted.n, 2);
	assert_string_equal(p->web_trusted.items[1], dir);
	assert_int_equal(p->tls_min, CONFIG_TLS_1_0);
	assert_int_equal(p->tls_max, CONFIG_TLS_1_0);
	assert_true(p->system_store);
	p = config_profile_find(cfg, "modern");
	assert_non_null(p);
	assert_false(p->builtin);
	assert_null(p->frontend_host);
	assert_string_equal(p->public_roots_file, cred);
	assert_int_equal(p->tls_min, CONFIG_TLS_1_2);
	assert_int_equal(p->tls_max, CONFIG_TLS_1_3);
	assert_false(p->system_store);
	assert_int_equal(p->frontend_interval_ms, 7200000);
	assert_null(config_profile_find(cfg, "Modern"));

	assert_int_equal(cfg->nmailboxes, 1);
	m = config_mailbox_find(cfg, "lab");
	assert_non_null(m);
	assert_int_equal(m->line, 22);
	/* The domain is lower-cased and loses its trailing dot. */
	assert_string_equal(m->address, "Lab@contoso.com");
	assert_string_equal(m->domain, "contoso.com");
	assert_string_equal(m->account, "CONTOSO\\lab");
	assert_string_equal(m->credential, cred);
	assert_string_equal(m->password, CANARY);
	assert_int_equal(m->nprofiles, 2);
	assert_ptr_equal(m->profiles[0],
	    config_profile_find(cfg, CONFIG_PROFILE_PHONE));
	assert_ptr_equal(m->profiles[1], config_profile_find(cfg, "modern"));
	assert_int_equal(m->interval_ms, 60000);
	assert_int_equal(m->dns_servers.n, 1);
	assert_string_equal(m->ews_internal_url,
	    "https://casarray.contoso.com/EWS/Exchange.asmx");
	assert_string_equal(m->ews_external_url,
	    "https://mail.contoso.com:8443/EWS/Exchange.asmx");
	assert_int_equal(m->redirect_allow.n, 2);
	assert_string_equal(m->redirect_allow.items[0],
	    "mail.contoso-hosting.net");
	assert_int_equal(m->discovery, CONFIG_DISCOVERY_ALL);
	assert_null(config_mailbox_find(cfg, "nobody"));

	sum = config_summary(cfg);
	assert_string_equal(sum, "1 mailbox, 2 profiles, interval 30s");
	free(sum);
	config_unref(cfg);
}

/* The fixture good.conf, its credential named for $CREDENTIALS_DIRECTORY. */
static void
test_good_fixture(void **state)
{
	struct config *cfg = NULL;
	const struct config_mailbox *m;
	const struct config_profile *p;
	char *errors, *sum;

	(void)state;
	write_file("lab", "s3cret\n", 7, 0600);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	errors = load_path(FIXTURES "/good.conf", 0, &cfg);
	if (errors != NULL)
		fail_msg("unexpected errors:\n%s", errors);
	assert_string_equal(cfg->path, FIXTURES "/good.conf");
	assert_int_equal(cfg->concurrency, 8);
	assert_null(cfg->metrics_file);
	assert_non_null(cfg->status_file);
	p = config_profile_find(cfg, CONFIG_PROFILE_PHONE);
	assert_string_equal(p->frontend_host, "lyncpool.contoso.com");
	assert_int_equal(p->frontend_port, 443);
	p = config_profile_find(cfg, "modern");
	assert_string_equal(p->frontend_host, "2001:db8::443");
	assert_int_equal(p->frontend_port, 8443);
	m = config_mailbox_find(cfg, "both");
	assert_string_equal(m->password, "s3cret");
	assert_string_equal(m->credential, "lab");
	assert_string_equal(m->account, "CONTOSO\\both");
	assert_int_equal(m->nprofiles, 2);
	assert_string_equal(m->profiles[0]->name, "modern");
	assert_int_equal(m->interval_ms, 90000);
	assert_string_equal(m->dns_servers.items[0], "192.0.2.53:5353");
	assert_int_equal(m->discovery, CONFIG_DISCOVERY_DEFAULT);
	m = config_mailbox_find(cfg, "lab");
	assert_int_equal(m->nprofiles, 1);
	assert_string_equal(m->profiles[0]->name, CONFIG_PROFILE_PHONE);
	assert_int_equal(m->interval_ms, 0);
	assert_int_equal(m->dns_servers.n, 0);
	sum = config_summary(cfg);
	assert_string_equal(sum, "2 mailboxes, 2 profiles, interval 2m");
	free(sum);
	config_unref(cfg);
}

/*
 * A typo'd key, a bad duration and a world-readable credential in one
 * file: all three reported at their lines, in line order, and nothing else.
 */
static void
test_three_errors(void **state)
{
	const char *path = FIXTURES "/three-errors.conf";
	char *errors, expect[512];
	char *l2, *l3;

	(void)state;
	write_file("open", CANARY "\n", strlen(CANARY) + 1, 0644);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	errors = load_path(path, 0, NULL);
	assert_int_equal(count_lines(errors), 3);
	assert_error_in(errors, path, 5, "[daemon] concurrrency: unknown key");
	assert_error_in(errors, path, 6,
	    "[daemon] timeout: invalid duration '5 minutes'");
	snprintf(expect, sizeof expect,
	    "%s:14: [mailbox lab] credential: credential file %s/open is "
	    "readable by group/other (mode 0644); chmod 600 it\n",
	    path, dir);
	l2 = strchr(errors, '\n') + 1;
	l3 = strchr(l2, '\n') + 1;
	assert_string_equal(l3, expect);
	assert_true(strstr(errors, ":5:") < strstr(errors, ":6:"));
	free(errors);
}

/* A section given twice: the second is refused and its keys ignored. */
static void
test_duplicate_section(void **state)
{
	char *text, *errors;

	(void)state;
	assert_true(asprintf(&text,
	                "[daemon]\n"
	                "interval = 5m\n"
	                "[daemon]\n"
	                "interval = bogus\n" MAILBOX_HEAD "credential = %s\n"
	                "[profile lync-phone-edition]\n"
	                "[mailbox lab]\n"
	                "address = other@contoso.com\n",
	                cred) > 0);
	errors = load_errors(text, NULL);
	assert_int_equal(count_lines(errors), 3);
	assert_error(errors, 3, "[daemon]: section defined twice");
	assert_error(errors, 11,
	    "[profile lync-phone-edition]: section defined twice");
	assert_error(errors, 12, "[mailbox lab]: section defined twice");
	free(errors);
	free(text);
}

/*
 * One section, one header: a name after other white space than one space
 * is refused, so [mailbox x] and [mailbox<TAB>x] cannot be two mailboxes
 * both named x (a reload matches targets by name).
 */
static void
test_section_spacing(void **state)
{
	char *errors;

	(void)state;
	errors = load_errors("[mailbox\tlab]\naddress = a@contoso.com\n"
	                     "[mailbox  lab]\naddress = b@contoso.com\n"
	                     "[mailbox lab ]\naddress = c@contoso.com\n",
	    NULL);
	assert_error(errors, 1, "invalid section name");
	assert_error(errors, 3, "invalid section name");
	assert_error(errors, 5, "invalid section name");
	free(errors);
}

/* A mailbox address with an empty domain is refused, first or not. */
static void
test_empty_domain(void **state)
{
	char *errors;

	(void)state;
	errors = load_errors("[mailbox a]\naddress = dave@\n"
	                     "[mailbox b]\naddress = bob@.\n",
	    NULL);
	assert_error(errors, 2, "does not end in a DNS domain name");
	assert_error(errors, 4, "does not end in a DNS domain name");
	free(errors);
}

/* A key given twice in a section (even indented) is refused. */
static void
test_duplicate_key(void **state)
{
	char *text, *errors;

	(void)state;
	assert_true(asprintf(&text,
	                "[daemon]\n"
	                "fail_after = 3\n"
	                "\tfail_after = 4\n" MAILBOX_HEAD "credential = %s\n"
	                "address = lab@contoso.com\n",
	                cred) > 0);
	errors = load_errors(text, NULL);
	assert_int_equal(count_lines(errors), 2);
	assert_error(errors, 3,
	    "[daemon] fail_after: given more than once in this section");
	assert_error(errors, 10, "[mailbox lab] address: given more than once");
	free(errors);
	free(text);
}

/* Unknown sections, unknown keys and keys outside any section. */
static void
test_unknown_section_and_key(void **state)
{
	char *text, *errors;

	(void)state;
	assert_true(asprintf(&text,
	                "orphan = 1\n"
	                "[frobnicator x]\n"
	                "key = value\n"
	                "[Daemon]\n"
	                "[profile]\n"
	                "[mailbox a b]\n"
	                "[mailbox bad/name]\n"
	                "[daemon]\n"
	                "intervall = 5m\n" MAILBOX_HEAD "credential = %s\n"
	                "colour = blue\n",
	                cred) > 0);
	errors = load_errors(text, NULL);
	assert_int_equal(count_lines(errors), 8);
	assert_error(errors, 1, "'orphan' is outside any section");
	assert_error(errors, 2,
	    "[frobnicator x]: unknown section (want "
	    "[daemon], [profile NAME] or [mailbox NAME])");
	assert_error(errors, 4, "[Daemon]: unknown section");
	assert_error(errors, 5, "[profile]: invalid section name");
	assert_error(errors, 6, "[mailbox a b]: invalid section name");
	assert_error(errors, 7, "[mailbox bad/name]: invalid section name");
	assert_error(errors, 9, "[daemon] intervall: unknown key");
	assert_error(errors, 16, "[mailbox lab] colour: unknown key");
	free(errors);
	free(text);
}

/*
 * allow_basic was parsed and never read; phones sign in with NTLM only
 * (issue 14): a file that still sets it is refused with a reason.
 */
static void
test_allow_basic_removed(void **state)
{
	char *text, *errors;

	(void)state;
	assert_true(asprintf(&text,
	                "[profile modern]\n"
	                "allow_basic = no\n" MAILBOX_HEAD "credential = %s\n",
	                cred) > 0);
	errors = load_errors(text, NULL);
	assert_int_equal(count_lines(errors), 1);
	assert_error(errors, 2,
	    "[profile modern] allow_basic: removed: phones sign "
	    "in with NTLM only; delete the line");
	free(errors);
	free(text);
}

/*
 * The phone's ClientHello (issue 18): the built-in profile makes the
 * documented one; hello_* keys change it, turn it on for other profiles,
 * and report a bad value at its line.
 */
static void
test_hello_keys(void **state)
{
	const struct config_profile *p;
	struct config *cfg;
	char *text, *errors;

	(void)state;
	assert_true(asprintf(&text,
	                "[profile other]\n"
	                "frontend = lyncpool.contoso.com\n"
	                "hello_version = 1.2\n"
	                "hello_suites = DES-CBC3-SHA, ?0x002f\n"
	                "hello_extensions = server_name, renegotiation_info\n"
	                "hello_uncertain_only = warning\n"
	                "[profile plain]\n"
	                "frontend = lyncpool.contoso.com\n" MAILBOX_HEAD
	                "credential = %s\n",
	                cred) > 0);
	cfg = load_ok(text);
	p = config_profile_find(cfg, CONFIG_PROFILE_PHONE);
	assert_true(p->hello_enabled);
	assert_false(p->hello_uncertain_warn);
	assert_int_equal(p->hello.client_version, HELLO_TLS1_0);
	assert_int_equal(p->hello.nsuites, 5);
	assert_int_equal(p->hello.suites[2], 0x000a);
	assert_int_equal(p->hello.suite_flags[3], HELLO_SUITE_UNCERTAIN);
	assert_int_equal(p->hello.nextensions, 0);
	p = config_profile_find(cfg, "other");
	assert_true(p->hello_enabled);
	assert_true(p->hello_uncertain_warn);
	assert_int_equal(p->hello.client_version, HELLO_TLS1_2);
	assert_int_equal(p->hello.record_version, HELLO_TLS1_2);
	assert_int_equal(p->hello.nsuites, 2);
	assert_int_equal(p->hello.suites[0], 0x000a);
	assert_int_equal(p->hello.suite_flags[0], 0);
	assert_int_equal(p->hello.suite_flags[1], HELLO_SUITE_UNCERTAIN);
	assert_int_equal(p->hello.nextensions, 2);
	assert_int_equal(p->hello.extensions[0], HELLO_EXT_SERVER_NAME);
	assert_false(config_profile_find(cfg, "plain")->hello_enabled);
	config_unref(cfg);
	free(text);

	assert_true(asprintf(&text,
	                "[profile lync-phone-edition]\n"
	                "frontend = lyncpool.contoso.com\n"
	                "hello_version = 2.0\n"
	                "hello_suites = AES128-SHA, NOPE-SHA\n"
	                "hello_extensions = server_name, server_name\n"
	                "hello_uncertain_only = maybe\n"
	                "hello = sometimes\n"
	                "[mailbox lab]\n"
	                "address = lab@contoso.com\n"
	                "account = CONTOSO\\lab\n"
	                "credential = %s\n",
	                cred) > 0);
	errors = load_errors(text, NULL);
	assert_error(errors, 3, "hello_version: invalid version '2.0'");
	assert_error(errors, 4, "unknown cipher suite \"NOPE-SHA\"");
	assert_error(errors, 5, "extension \"server_name\" listed twice");
	assert_error(errors, 6, "invalid value 'maybe' (use info or warning)");
	assert_error(errors, 7, "[profile lync-phone-edition] hello:");
	free(errors);
	free(text);
}

/* Missing required keys are named at the section's line. */
static void
test_missing_required(void **state)
{
	char *errors;

	(void)state;
	errors = load_errors("[profile lync-phone-edition]\n"
	                     "frontend = lyncpool.contoso.com\n"
	                     "\n"
	                     "[mailbox lab]\n"
	                     "profiles = lync-phone-edition\n",
	    NULL);
	assert_int_equal(count_lines(errors), 1);
	assert_error(errors, 4, "[mailbox lab]: address is required");
	free(errors);

	/* Account and credential come together. */
	errors = load_errors("[profile lync-phone-edition]\n"
	                     "frontend = lyncpool.contoso.com\n"
	                     "\n"
	                     "[mailbox lab]\n"
	                     "address = lab@contoso.com\n"
	                     "account = CONTOSO\\lab\n"
	                     "\n"
	                     "[mailbox other]\n"
	                     "address = other@contoso.com\n"
	                     "credential = /nonexistent/pw\n",
	    NULL);
	assert_error(errors, 4,
	    "[mailbox lab]: account needs a credential (a name under "
	    "$CREDENTIALS_DIRECTORY or an absolute path)");
	assert_error(errors, 8,
	    "[mailbox other]: credential needs an account to sign in with");
	free(errors);

	/* No mailbox at all: nothing to monitor (about the whole file). */
	errors = load_errors("[daemon]\ninterval = 1m\n", NULL);
	assert_int_equal(count_lines(errors), 1);
	assert_non_null(strstr(errors,
	    "t.conf: no [mailbox NAME] section: nothing to monitor\n"));
	free(errors);
}

/* Lines that are not key = value, and the forms that are accepted. */
static void
test_syntax(void **state)
{
	struct config *cfg;
	char *text, *errors, big[400];

	(void)state;
	memset(big, 'x', sizeof big);
	big[sizeof big - 1] = '\0';
	assert_true(asprintf(&text,
	                "[daemon]\n"
	                "just some words\n"
	                "concurrency: 3\n"
	                "= 5\n"
	                "status_file = /%s\n"
	                "fail_after = 3\x1b[2J\n"
	                "[daemon x] junk\n"
	                "[mailbox lab\n"
	                "address = ignored\n" MAILBOX_HEAD "credential = %s\n"
	                "  retry = x\n"
	                "recover_after = 1\rconcurrency = 4\n"
	                "discovery = all\x7f\n",
	                big, cred) > 0);
	errors = load_errors(text, NULL);
	assert_error(errors, 2, "[daemon]: syntax error (want key = value)");
	assert_error(errors, 3, "not key: value");
	assert_error(errors, 4, "no key before '='");
	assert_error(errors, 5, "line longer than 198 characters");
	assert_error(errors, 6, "control character 0x1b");
	assert_error(errors, 7, "[daemon x]: unknown section");
	assert_error(errors, 7, "text after the section header");
	assert_error(errors, 8, "section header without ']'");
	assert_error(errors, 16, "[mailbox lab] retry: unknown key");
	assert_error(errors, 17, "control character 0x0d");
	assert_error(errors, 18, "control character 0x7f");
	assert_int_equal(count_lines(errors), 11);
	free(errors);
	free(text);

	/*
	 * A byte-order mark, CR LF ends, indentation, comments and blank
	 * lines are all fine; an indented line is a key, not a continuation.
	 */
	assert_true(asprintf(&text,
	                "\xef\xbb\xbf[daemon]\r\n"
	                "  interval = 2m ; two minutes\r\n"
	                "\tconcurrency = 7\r\n"
	                "# comment\n"
	                "   ; comment\n"
	                "\n"
	                "  [profile lync-phone-edition]  ; completes it\n"
	                "frontend = lyncpool.contoso.com\n"
	                "[mailbox lab]\n"
	                "address = lab@contoso.com\n"
	                "account = CONTOSO\\lab\n"
	                "credential = %s",
	                cred) > 0);
	cfg = load_ok(text);
	assert_int_equal(cfg->interval_ms, 120000);
	assert_int_equal(cfg->concurrency, 7);
	assert_int_equal(cfg->profiles[0]->line, 7);
	config_unref(cfg);
	free(text);
}

/* Bad values of each type are named at their line. */
static void
test_value_errors(void **state)
{
	char *text, *errors;

	(void)state;
	assert_true(
	    asprintf(&text,
	        "[daemon]\n"
	        "fail_after = 0\n"
	        "concurrency = many\n"
	        "dns_servers = 127.0.0.1:99999, dns.example [192.0.2.1]:53\n"
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
	        "frontend_ca = %s\n"
	        "[mailbox lab]\n"
	        "address = lab@192.168.1.1\n"
	        "account = lab\n"
	        "credential = %s\n"
	        "profiles = other, nosuch, other\n"
	        "redirect_allow = good.example, *.example\n"
	        "discovery = some\n"
	        "interval = soon\n"
	        "dns_servers = 192.0.2.1:\n",
	        dir, cred, dir, cred) > 0);
	errors = load_errors(text, NULL);
	assert_error(errors, 2, "[daemon] fail_after: invalid number '0'");
	assert_error(errors, 3, "concurrency: invalid number 'many'");
	assert_error(errors, 4, "invalid DNS server '127.0.0.1:99999'");
	assert_error(errors, 4, "invalid DNS server 'dns.example'");
	assert_error(errors, 4, "invalid DNS server '[192.0.2.1]:53'");
	assert_error(errors, 5, "'relative/status.json' is not an absolute");
	assert_error(errors, 6,
	    "system_store: /nonexistent/bundle.pem: No such file");
	assert_error(errors, 8, "frontend: invalid host '-bad-.contoso.com'");
	assert_error(errors, 9, "tls_max: invalid TLS version '1.4'");
	assert_error(errors, 10, "system_store: invalid boolean 'maybe'");
	assert_error(errors, 11, "web_trusted_ca: /nonexistent/ca.pem: No");
	assert_error(errors, 15,
	    "[profile other]: tls_min 1.3 is above tls_max 1.2");
	assert_error(errors, 16, "is a directory");
	assert_error(errors, 18, "address: 'lab@192.168.1.1' does not end");
	assert_error(errors, 19, "neither DOMAIN\\user nor user@domain");
	assert_error(errors, 21, "profiles: no profile 'nosuch'");
	assert_error(errors, 21, "profiles: profile 'other' listed twice");
	assert_error(errors, 22, "redirect_allow: invalid host name '*.exam");
	assert_error(errors, 23, "discovery: invalid mode 'some'");
	assert_error(errors, 24, "interval: invalid duration 'soon'");
	assert_error(errors, 25, "invalid DNS server '192.0.2.1:'");
	assert_int_equal(count_lines(errors), 21);
	free(errors);
	free(text);
}

/* SMTP addresses and accounts: what is plausible and what is not. */
static void
test_address_and_account(void **state)
{
	static const char *bad_addresses[] = {"lab", "@contoso.com", "lab@",
	    "lab@contoso", "a@b@contoso.com", "lab@[192.0.2.1]",
	    "lab@192.0.2.1", "lab@contoso.123", "lab@contoso..com",
	    "lab@-contoso.com", ".lab@contoso.com", "lab.@contoso.com",
	    "la..b@contoso.com", "la b@contoso.com", "<lab>@contoso.com",
	    "l\xc3\xa4@contoso.com", "lab@contoso.com..", "lab@c_o.com",
	    /* Public suffixes: autodiscover.co.uk is nobody's server. */
	    "lab@com", "lab@co.uk", "lab@CO.UK.", "lab@github.io"};
	static const char *bad_accounts[] = {"lab", "\\lab", "CONTOSO\\",
	    "C\\D\\lab", "C\\lab@contoso.com", "@contoso.com", "lab@", "C:lab"};
	struct config *cfg;
	char *text, *errors;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad_addresses / sizeof bad_addresses[0]; i++) {
		assert_true(
		    asprintf(&text,
		        "[profile lync-phone-edition]\nfrontend = f.com\n"
		        "[mailbox m]\naddress = %s\naccount = C\\m\n"
		        "credential = %s\n",
		        bad_addresses[i], cred) > 0);
		errors = load_errors(text, NULL);
		if (errors == NULL)
			fail_msg("address '%s' accepted", bad_addresses[i]);
		assert_error(errors, 4, "[mailbox m] address: ");
		assert_int_equal(count_lines(errors), 1);
		free(errors);
		free(text);
	}
	for (i = 0; i < sizeof bad_accounts / sizeof bad_accounts[0]; i++) {
		assert_true(
		    asprintf(&text,
		        "[profile lync-phone-edition]\nfrontend = f.com\n"
		        "[mailbox m]\naddress = m@contoso.com\n"
		        "account = %s\ncredential = %s\n",
		        bad_accounts[i], cred) > 0);
		errors = load_errors(text, NULL);
		if (errors == NULL)
			fail_msg("account '%s' accepted", bad_accounts[i]);
		assert_error(errors, 5, "[mailbox m] account: ");
		free(errors);
		free(text);
	}
	assert_true(
	    asprintf(&text,
	        "[profile lync-phone-edition]\nfrontend = f.com\n"
	        "[mailbox m]\naddress = first.last+tag@Sub.Contoso.COM\n"
	        "account = first.last@corp.contoso.com\n"
	        "credential = %s\n",
	        cred) > 0);
	cfg = load_ok(text);
	assert_string_equal(cfg->mailboxes[0]->address,
	    "first.last+tag@sub.contoso.com");
	config_unref(cfg);
	free(text);

	/* A registrable domain under a public suffix is fine; listing a
	 * public suffix in redirect_allow is not. */
	assert_true(asprintf(&text,
	                "[profile lync-phone-edition]\nfrontend = f.com\n"
	                "[mailbox m]\naddress = m@contoso.co.uk\n"
	                "redirect_allow = co.uk\n") > 0);
	errors = load_errors(text, NULL);
	assert_non_null(errors);
	assert_error(errors, 5,
	    "[mailbox m] redirect_allow: 'co.uk' is a public suffix");
	assert_int_equal(count_lines(errors), 1);
	free(errors);
	free(text);
	assert_true(asprintf(&text,
	                "[profile lync-phone-edition]\nfrontend = f.com\n"
	                "[mailbox m]\naddress = m@contoso.co.uk\n"
	                "redirect_allow = contoso.mail.onmicrosoft.com\n"
	                "credential = %s\n",
	                cred) > 0);
	errors = load_errors(text, NULL);
	assert_non_null(errors); /* credential without account */
	assert_error(errors, 3,
	    "[mailbox m]: credential needs an account to sign in with");
	assert_int_equal(count_lines(errors), 1);
	free(errors);
	free(text);
	assert_true(asprintf(&text,
	                "[profile lync-phone-edition]\nfrontend = f.com\n"
	                "[mailbox m]\naddress = m@contoso.co.uk\n"
	                "redirect_allow = contoso.mail.onmicrosoft.com\n") > 0);
	cfg = load_ok(text);
	assert_string_equal(cfg->mailboxes[0]->domain, "contoso.co.uk");
	assert_null(cfg->mailboxes[0]->password);
	config_unref(cfg);
	free(text);
}

/* frontend= forms: names, ports, IPv4, bare and bracketed IPv6. */
static void
test_frontend_forms(void **state)
{
	static const struct {
		const char *v, *host;
		int port;
	} good[] = {
	    {"LyncPool.Contoso.com", "lyncpool.contoso.com", 443},
	    {"lyncpool:5061", "lyncpool", 5061},
	    {"192.0.2.10", "192.0.2.10", 443},
	    {"192.0.2.10:4443", "192.0.2.10", 4443},
	    {"2001:db8::10", "2001:db8::10", 443},
	    {"[2001:db8::10]", "2001:db8::10", 443},
	    {"[2001:db8::10]:65535", "2001:db8::10", 65535},
	};
	static const char *bad[] = {"pool:0", "pool:65536", "pool:https",
	    "pool:", "pool:+443", "[pool]:443", "[192.0.2.1]:443",
	    "[2001:db8::10", "[2001:db8::10]x", "pool_1.contoso.com",
	    "https://pool", "pool.contoso.com."};
	struct config *cfg;
	char *text, *errors;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_true(asprintf(&text,
		                "[profile lync-phone-edition]\nfrontend = %s\n"
		                "[mailbox m]\naddress = m@contoso.com\n"
		                "account = C\\m\ncredential = %s\n",
		                good[i].v, cred) > 0);
		cfg = load_ok(text);
		assert_string_equal(cfg->profiles[0]->frontend_host,
		    good[i].host);
		assert_int_equal(cfg->profiles[0]->frontend_port, good[i].port);
		config_unref(cfg);
		free(text);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_true(asprintf(&text,
		                "[profile lync-phone-edition]\nfrontend = %s\n"
		                "frontend_ca = %s\n"
		                "[mailbox m]\naddress = m@contoso.com\n"
		                "account = C\\m\ncredential = %s\n",
		                bad[i], cred, cred) > 0);
		errors = load_errors(text, NULL);
		if (errors == NULL)
			fail_msg("frontend '%s' accepted", bad[i]);
		assert_error(errors, 2,
		    "[profile lync-phone-edition] frontend: invalid");
		assert_int_equal(count_lines(errors), 1);
		free(errors);
		free(text);
	}
}

/* Fixed EWS URLs: https:// only, a host, no user name or password. */
static void
test_fixed_urls(void **state)
{
	static const struct {
		const char *url, *why;
	} bad[] = {
	    {"http://mail.contoso.com/EWS/Exchange.asmx", "must be an https"},
	    {"HTTP://mail.contoso.com/", "must be an https"},
	    {"ftp://mail.contoso.com/", "must be an https"},
	    {"mail.contoso.com/EWS/Exchange.asmx", "must be an https"},
	    {"https:/mail.contoso.com/", "must be an https"},
	    {"https:///EWS/Exchange.asmx", "has no host"},
	    {"https://", "has no host"},
	    {"https://user:pw@mail.contoso.com/EWS/", "user name or password"},
	    {"https://user@mail.contoso.com/EWS/", "user name or password"},
	    {"https://:pw@mail.contoso.com/EWS/", "user name or password"},
	    {"https://@mail.contoso.com/EWS/", "user name or password"},
	    {"https://mail.contoso.com:99999/", "not a valid URL"},
	    {"https://mail contoso.com/", "not a valid URL"},
	};
	struct config *cfg;
	char *text, *errors;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_true(asprintf(&text,
		                MAILBOX_HEAD "credential = %s\n"
		                             "ews_external_url = %s\n",
		                cred, bad[i].url) > 0);
		errors = load_errors(text, NULL);
		if (errors == NULL)
			fail_msg("URL '%s' accepted", bad[i].url);
		assert_error(errors, 7, "[mailbox lab] ews_external_url: '");
		assert_error(errors, 7, bad[i].why);
		assert_int_equal(count_lines(errors), 1);
		free(errors);
		free(text);
	}
	assert_true(
	    asprintf(&text,
	        MAILBOX_HEAD "credential = %s\n"
	                     "ews_internal_url = "
	                     "HTTPS://[2001:db8::1]:8443/EWS/Exchange.asmx\n"
	                     "ews_external_url = "
	                     "https://mail.contoso.com/EWS/Exchange.asmx\n",
	        cred) > 0);
	cfg = load_ok(text);
	assert_string_equal(cfg->mailboxes[0]->ews_internal_url,
	    "HTTPS://[2001:db8::1]:8443/EWS/Exchange.asmx");
	config_unref(cfg);
	free(text);
}

/* The built-in phone profile and the defaults of other profiles. */
static void
test_builtin_profile_defaults(void **state)
{
	struct config *cfg;
	const struct config_profile *p;
	const struct config_mailbox *m;
	char *text;

	(void)state;
	/* Defined only in code, completed with a FE pool; mailbox default. */
	assert_true(asprintf(&text,
	                "[mailbox m]\naddress = m@contoso.com\naccount = C\\m\n"
	                "credential = %s\n"
	                "[profile lync-phone-edition]\n"
	                "frontend = lyncpool.contoso.com\n"
	                "[profile unused]\n",
	                cred) > 0);
	cfg = load_ok(text);
	free(text);
	assert_int_equal(cfg->nprofiles, 2);
	p = config_profile_find(cfg, CONFIG_PROFILE_PHONE);
	assert_ptr_equal(p, cfg->profiles[0]);
	assert_true(p->builtin);
	assert_int_equal(p->line, 5);
	assert_int_equal(p->tls_min, CONFIG_TLS_1_0);
	assert_int_equal(p->tls_max, CONFIG_TLS_1_0);
	assert_true(p->system_store);
	assert_int_equal(p->frontend_port, 443);
	assert_int_equal(p->frontend_interval_ms, 3600000);
	assert_null(p->frontend_ca_file);
	assert_int_equal(p->web_trusted.n, 0);
	assert_null(p->public_roots_file);
	/* Another profile: TLS 1.0 to 1.3, and no anchors is fine unused. */
	p = config_profile_find(cfg, "unused");
	assert_false(p->builtin);
	assert_int_equal(p->tls_min, CONFIG_TLS_1_0);
	assert_int_equal(p->tls_max, CONFIG_TLS_1_3);
	assert_true(p->system_store);
	assert_int_equal(p->frontend_interval_ms, 3600000);
	m = cfg->mailboxes[0];
	assert_int_equal(m->nprofiles, 1);
	assert_ptr_equal(m->profiles[0], cfg->profiles[0]);
	assert_int_equal(m->discovery, CONFIG_DISCOVERY_DEFAULT);
	assert_int_equal(m->interval_ms, 0);
	assert_null(m->ews_internal_url);
	assert_null(m->ews_external_url);
	assert_int_equal(m->redirect_allow.n, 0);
	/* The [daemon] defaults. */
	assert_int_equal(cfg->interval_ms, 300000);
	assert_int_equal(cfg->retry_interval_ms, 60000);
	assert_int_equal(cfg->discovery_interval_ms, 86400000);
	assert_int_equal(cfg->timeout_ms, 30000);
	assert_int_equal(cfg->fail_after, 3);
	assert_int_equal(cfg->recover_after, 2);
	assert_int_equal(cfg->concurrency, 32);
	assert_int_equal(cfg->cert_warn_days, 30);
	assert_int_equal(cfg->max_addresses, 8);
	assert_string_equal(cfg->status_file, "/run/ewsprobed/status.json");
	assert_string_equal(cfg->metrics_file, "/run/ewsprobed/ewsprobed.prom");
	assert_non_null(cfg->system_store_file);
	assert_int_equal(cfg->system_store_file[0], '/');
	assert_int_equal(cfg->dns_servers.n, 0);
	assert_int_equal(cfg->credentials_unchecked, 0);
	config_unref(cfg);

	/* A completion may change the phone profile's TLS range. */
	assert_true(asprintf(&text,
	                "[profile lync-phone-edition]\n"
	                "frontend = lyncpool.contoso.com\n"
	                "tls_max = 1.2\n"
	                "system_store = off\n"
	                "[mailbox m]\naddress = m@contoso.com\naccount = C\\m\n"
	                "credential = %s\n",
	                cred) > 0);
	cfg = load_ok(text);
	p = cfg->profiles[0];
	assert_true(p->builtin);
	assert_int_equal(p->tls_min, CONFIG_TLS_1_0);
	assert_int_equal(p->tls_max, CONFIG_TLS_1_2);
	assert_false(p->system_store);
	config_unref(cfg);
	free(text);
}

/* A used profile without a trust anchor source is an error, named. */
static void
test_profile_without_anchors(void **state)
{
	char *text, *errors;

	(void)state;
	/* The phone profile never completed: about the whole file. */
	assert_true(asprintf(&text,
	                "[mailbox m]\naddress = m@contoso.com\naccount = C\\m\n"
	                "credential = %s\n",
	                cred) > 0);
	errors = load_errors(text, NULL);
	assert_int_equal(count_lines(errors), 1);
	assert_non_null(strstr(errors,
	    "t.conf: profile 'lync-phone-edition' has no trust anchors: set "
	    "frontend (the Lync pool, host[:port]) or frontend_ca, "
	    "web_trusted_ca, public_roots in a [profile lync-phone-edition] "
	    "section\n"));
	free(errors);
	free(text);

	/* A profile of our own, used, with TLS but no anchors. */
	assert_true(asprintf(&text,
	                MAILBOX_HEAD "credential = %s\n"
	                             "profiles = lync-phone-edition, bare\n"
	                             "\n"
	                             "[profile bare]\n"
	                             "tls_min = 1.2\n"
	                             "[profile idle]\n",
	                cred) > 0);
	errors = load_errors(text, NULL);
	assert_int_equal(count_lines(errors), 1);
	assert_error(errors, 9,
	    "[profile bare]: profile 'bare' has no trust anchors: set "
	    "frontend");
	free(errors);
	free(text);
}

/*
 * -n run by root, where the unit's user ewsprobed exists, checks for it: a
 * file it cannot read, or one under a directory it cannot search, is an
 * error; so is an absolute-path password it does not own. Loading for the daemon is not
 * affected (it reads as whoever runs it).
 */
static void
test_check_as_service_user(void **state)
{
	char ca[192], *text, *errors;
	struct config *cfg;

	(void)state;
	if (geteuid() != 0 || getpwnam(EWSPROBED_USER) == NULL)
		skip();
	snprintf(ca, sizeof ca, "%s", write_file("fe-ca.pem", "x\n", 2, 0600));
	assert_true(asprintf(&text,
	                "[profile lync-phone-edition]\nfrontend_ca = %s\n"
	                "[mailbox m]\naddress = m@contoso.com\n",
	                ca) > 0);
	write_file("t.conf", text, strlen(text), 0644);
	snprintf(ca, sizeof ca, "%s/t.conf", dir);
	cfg = NULL;
	assert_null(load_path(ca, 0, &cfg));
	config_unref(cfg);
	errors = load_path(ca, CONFIG_LOAD_CHECK, NULL);
	assert_int_equal(count_lines(errors), 1);
	assert_error(errors, 2,
	    "fe-ca.pem: the service's user ewsprobed cannot read it");
	free(errors);
	/* Readable by others, but in a directory they cannot search. */
	snprintf(ca, sizeof ca, "%s/fe-ca.pem", dir);
	assert_int_equal(chmod(ca, 0644), 0);
	assert_int_equal(chmod(dir, 0700), 0);
	snprintf(ca, sizeof ca, "%s/t.conf", dir);
	errors = load_path(ca, CONFIG_LOAD_CHECK, NULL);
	assert_error(errors, 2, "cannot read it");
	free(errors);
	assert_int_equal(chmod(dir, 0711), 0);
	assert_null(load_path(ca, CONFIG_LOAD_CHECK, NULL));
	free(text);

	/* An absolute-path credential root owns. */
	text = cred_text(cred);
	write_file("t.conf", text, strlen(text), 0644);
	errors = load_path(ca, CONFIG_LOAD_CHECK, NULL);
	assert_error(errors, 6, "cannot read a file it does not own");
	free(errors);
	free(text);
}

/* A credential NAME is looked up under $CREDENTIALS_DIRECTORY. */
static void
test_credentials_directory(void **state)
{
	struct config *cfg = NULL;
	char *text, *errors;

	(void)state;
	text = cred_text("lab.password");
	/* Not set (or empty): an error, unless only checking (-n). */
	errors = load_errors(text, NULL);
	assert_int_equal(count_lines(errors), 1);
	assert_error(errors, 6,
	    "[mailbox lab] credential: credential 'lab.password' needs "
	    "$CREDENTIALS_DIRECTORY");
	free(errors);
	setenv("CREDENTIALS_DIRECTORY", "", 1);
	errors = load_errors(text, NULL);
	assert_error(errors, 6, "needs $CREDENTIALS_DIRECTORY");
	free(errors);
	assert_null(load_path(write_file("t.conf", text, strlen(text), 0644),
	    CONFIG_LOAD_CHECK, &cfg));
	assert_int_equal(cfg->credentials_unchecked, 1);
	assert_null(cfg->mailboxes[0]->password);
	config_unref(cfg);

	/* Set: the file is read from there (also under -n). */
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	cfg = load_ok(text);
	assert_string_equal(cfg->mailboxes[0]->password, CANARY);
	assert_string_equal(cfg->mailboxes[0]->credential, "lab.password");
	config_unref(cfg);
	assert_null(load_path(write_file("t.conf", text, strlen(text), 0644),
	    CONFIG_LOAD_CHECK, &cfg));
	assert_int_equal(cfg->credentials_unchecked, 0);
	config_unref(cfg);
	free(text);

	/* A name that is not there, and names that are no names. */
	text = cred_text("nosuch");
	errors = load_errors(text, NULL);
	assert_error(errors, 6, "/nosuch: No such file or directory");
	free(errors);
	free(text);
	text = cred_text("../lab.password");
	errors = load_errors(text, NULL);
	assert_error(errors, 6, "neither an absolute path nor a credential");
	free(errors);
	free(text);
	text = cred_text("");
	errors = load_errors(text, NULL);
	assert_error(errors, 6, "neither an absolute path nor a credential");
	free(errors);
	free(text);
}

/* Credential files: 0600 and 0400 load; open modes, links, dirs do not. */
static void
test_credential_modes(void **state)
{
	struct config *cfg;
	char link[192], expect[512], *text, *errors;

	(void)state;
	text = cred_text(cred);
	cfg = load_ok(text);
	assert_string_equal(cfg->mailboxes[0]->password, CANARY);
	config_unref(cfg);
	assert_int_equal(chmod(cred, 0400), 0);
	cfg = load_ok(text);
	config_unref(cfg);

	assert_int_equal(chmod(cred, 0644), 0);
	errors = load_errors(text, NULL);
	snprintf(expect, sizeof expect,
	    "%s/t.conf:6: [mailbox lab] credential: credential file %s is "
	    "readable by group/other (mode 0644); chmod 600 it\n",
	    dir, cred);
	assert_string_equal(errors, expect);
	free(errors);
	assert_int_equal(chmod(cred, 0640), 0);
	errors = load_errors(text, NULL);
	assert_error(errors, 6, "readable by group/other (mode 0640)");
	free(errors);
	assert_int_equal(chmod(cred, 0602), 0);
	errors = load_errors(text, NULL);
	assert_error(errors, 6, "accessible by group/other (mode 0602)");
	free(errors);
	assert_int_equal(chmod(cred, 0600), 0);

	/* Owned by someone else (only root can make such a file here). */
	if (geteuid() == 0) {
		assert_int_equal(chown(cred, 1, 1), 0);
		errors = load_errors(text, NULL);
		assert_error(errors, 6,
		    "is owned by uid 1, not by root or uid 0");
		free(errors);
		assert_int_equal(chown(cred, 0, 0), 0);
	}
	free(text);

	/* A symbolic link to a good file is refused. */
	snprintf(link, sizeof link, "%s/link.password", dir);
	assert_int_equal(symlink(cred, link), 0);
	text = cred_text(link);
	errors = load_errors(text, NULL);
	assert_int_equal(count_lines(errors), 1);
	assert_error(errors, 6, "link.password: is a symbolic link");
	free(errors);
	free(text);

	/* So is a directory, and a relative path. */
	text = cred_text(dir);
	errors = load_errors(text, NULL);
	assert_error(errors, 6, "is not a regular file");
	free(errors);
	free(text);
	text = cred_text("tmp/lab.password");
	errors = load_errors(text, NULL);
	assert_error(errors, 6, "neither an absolute path nor a credential");
	free(errors);
	free(text);
}

/* Load a one-mailbox file whose credential holds len bytes of content. */
static char *
load_password(const void *content, size_t len, char **password)
{
	struct config *cfg = NULL;
	char *text, *errors;

	text = cred_text(write_file("pw", content, len, 0600));
	errors = load_errors(text, &cfg);
	free(text);
	*password = NULL;
	if (errors == NULL) {
		*password = strdup(cfg->mailboxes[0]->password);
		config_unref(cfg);
	}
	return errors;
}

/*
 * The password is exactly the file's line (one end of line stripped), and
 * never appears in a message, whatever is wrong with its file.
 */
static void
test_password_secrecy(void **state)
{
	static const char *breaks[] = {CANARY "\n\n", "sec ret\r\r\n",
	    CANARY "\r", "pass\nword\n", "\n\n", "\r\n\n", "a\rb"};
	char big[1100], *pw, *errors, *text;
	size_t i;

	(void)state;
	/* Each of these loads, giving the password shown. */
	assert_null(load_password(CANARY, strlen(CANARY), &pw));
	assert_string_equal(pw, CANARY);
	free(pw);
	assert_null(load_password(CANARY "\n", strlen(CANARY) + 1, &pw));
	assert_string_equal(pw, CANARY);
	free(pw);
	assert_null(load_password(CANARY "\r\n", strlen(CANARY) + 2, &pw));
	assert_string_equal(pw, CANARY);
	free(pw);
	assert_null(load_password(" " CANARY " ", strlen(CANARY) + 2, &pw));
	assert_string_equal(pw, " " CANARY " ");
	free(pw);
	memset(big, 'p', 1024);
	memcpy(big, CANARY, strlen(CANARY));
	memcpy(big + 1024, "\r\n", 2);
	assert_null(load_password(big, 1026, &pw));
	assert_int_equal(strlen(pw), 1024);
	free(pw);
	/* Past the limit, a CR LF where one would end does not help. */
	memset(big, 'p', sizeof big);
	memcpy(big + 1024, "\r\n", 2);
	errors = load_password(big, sizeof big, &pw);
	assert_error(errors, 6, "is longer than 1024 bytes");
	free(errors);

	/* Each of these is refused; load_errors() checks for the canary. */
	errors = load_password(big, 1025, &pw);
	assert_error(errors, 6, "is longer than 1024 bytes");
	free(errors);
	errors = load_password(CANARY "\0" CANARY, 2 * strlen(CANARY) + 1, &pw);
	assert_error(errors, 6, "contains a NUL byte");
	free(errors);
	/* One final LF or CR LF is stripped; any other CR or LF refused. */
	for (i = 0; i < sizeof breaks / sizeof breaks[0]; i++) {
		errors = load_password(breaks[i], strlen(breaks[i]), &pw);
		assert_error(errors, 6,
		    "pw has a line break (CR or LF) that is not its one final "
		    "end of line; a password is one line");
		free(errors);
	}
	errors = load_password("\n", 1, &pw);
	assert_error(errors, 6, "pw is empty");
	free(errors);
	errors = load_password("", 0, &pw);
	assert_error(errors, 6, "pw is empty");
	free(errors);
	assert_int_equal(chmod(cred, 0644), 0);
	text = cred_text(cred);
	errors = load_errors(text, NULL);
	assert_error(errors, 6, "chmod 600 it");
	free(errors);
	free(text);
	assert_null(pw);
}

/* References: the object lives until the last one is dropped. */
static void
test_refcount(void **state)
{
	struct config *cfg;
	char *text;

	(void)state;
	text = cred_text(cred);
	cfg = load_ok(text);
	free(text);
	assert_int_equal(cfg->refcnt, 1);
	assert_ptr_equal(config_ref(cfg), cfg);
	assert_ptr_equal(config_ref(cfg), cfg);
	assert_int_equal(cfg->refcnt, 3);
	config_unref(cfg);
	config_unref(cfg);
	assert_int_equal(cfg->refcnt, 1);
	/* Still whole: the password is there until the last reference. */
	assert_string_equal(cfg->mailboxes[0]->password, CANARY);
	config_unref(cfg); /* frees; ASan and valgrind see any misuse */
	config_unref(NULL);
}

/* The shipped sample validates, with or without its credential. */
static void
test_sample(void **state)
{
	struct config *cfg = NULL;
	char *errors, *sum;

	(void)state;
	errors = load_path(SAMPLE, CONFIG_LOAD_CHECK, &cfg);
	if (errors != NULL)
		fail_msg("the sample does not load:\n%s", errors);
	assert_int_equal(cfg->credentials_unchecked, 1);
	config_unref(cfg);

	write_file("ewsprobed_password", "secret\n", 7, 0600);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	errors = load_path(SAMPLE, 0, &cfg);
	if (errors != NULL)
		fail_msg("the sample does not load:\n%s", errors);
	assert_string_equal(cfg->mailboxes[0]->password, "secret");
	sum = config_summary(cfg);
	assert_string_equal(sum, "1 mailbox, 1 profile, interval 5m");
	free(sum);
	config_unref(cfg);
}

/* Files that cannot be read; text loaded from memory. */
static void
test_files_and_text(void **state)
{
	struct config *cfg = NULL;
	char *errors = NULL, *text;

	(void)state;
	assert_int_equal(config_load("/nonexistent/ewsprobed.conf", &cfg,
	                     &errors),
	    -1);
	assert_null(cfg);
	assert_string_equal(errors,
	    "/nonexistent/ewsprobed.conf: No such file or directory\n");
	free(errors);
	assert_int_equal(config_load(dir, &cfg, &errors), -1);
	assert_non_null(strstr(errors, ": is a directory\n"));
	free(errors);

	text = cred_text(cred);
	assert_int_equal(config_load_text("(flags)", text, 0, &cfg, &errors),
	    0);
	assert_string_equal(cfg->path, "(flags)");
	config_unref(cfg);
	free(text);
	assert_int_equal(config_load_text("(flags)", "", 0, &cfg, &errors), -1);
	assert_string_equal(errors,
	    "(flags): no [mailbox NAME] section: nothing to monitor\n");
	free(errors);
}

/*
 * Only a regular file is read: a FIFO without a writer or /dev/zero would
 * block or never end. Both are refused at once (the test would hang on
 * the code before the fix; meson's timeout is the guard).
 */
static void
test_not_regular(void **state)
{
	struct config *cfg = NULL;
	char fifo[128], expect[256], *errors = NULL;

	(void)state;
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(config_load(fifo, &cfg, &errors), -1);
	assert_null(cfg);
	snprintf(expect, sizeof expect, "%s: is not a regular file\n", fifo);
	assert_string_equal(errors, expect);
	free(errors);
	assert_int_equal(config_load_flags("/dev/zero", CONFIG_LOAD_CHECK, &cfg,
	                     &errors),
	    -1);
	assert_string_equal(errors, "/dev/zero: is not a regular file\n");
	free(errors);
}

/*
 * Values quoted in messages are escaped (textsafe): a tab and U+202E
 * (right-to-left override) never reach a terminal or the journal raw.
 */
static void
test_escaped_messages(void **state)
{
	char *errors;

	(void)state;
	errors = load_errors("[profile p]\n"
	                     "tls_min = 1\t.2\n"
	                     "frontend = a\xe2\x80\xae"
	                     "b.example\n"
	                     "[mailbox m]\n"
	                     "account = A\\b\\c\n",
	    NULL);
	assert_error(errors, 2, "invalid TLS version '1\\x09.2'");
	assert_error(errors, 3, "invalid host 'a\\u202eb.example'");
	assert_error(errors, 5, "'A\\b\\c' is neither");
	assert_null(strchr(errors, '\t'));
	assert_null(strstr(errors, "\xe2\x80\xae"));
	free(errors);
}

/*
 * What a file may cost is bounded: its size, its sections and its keys.
 * Each cap is reported once, and the file is refused.
 */
static void
test_caps(void **state)
{
	struct config *cfg = NULL;
	char path[192], *text, *errors;
	size_t i, len, n;
	FILE *fp;

	(void)state;
	/* 8 MiB and one byte: refused before it is parsed. */
	n = 8 * 1024 * 1024 + 1;
	text = malloc(n + 1);
	memset(text, '#', n);
	text[n - 1] = '\n';
	errors = load_path(write_file("t.conf", text, n, 0644), 0, NULL);
	assert_int_equal(count_lines(errors), 1);
	assert_non_null(strstr(errors, "t.conf: larger than 8 MiB"));
	free(errors);
	/* The same limit holds for text in memory. */
	text[n] = '\0';
	assert_int_equal(config_load_text("(text)", text, 0, &cfg, &errors),
	    -1);
	assert_null(cfg);
	assert_non_null(strstr(errors, "(text): larger than 8 MiB"));
	free(errors);
	free(text);

	/* 50,001 sections: the one past the cap is where it stops. */
	snprintf(path, sizeof path, "%s/t.conf", dir);
	text = malloc(60000 * 24);
	len = 0;
	for (i = 0; i < 50001; i++)
		len += (size_t)sprintf(text + len, "[profile p%zu]\n", i);
	errors = load_errors(text, NULL);
	assert_error_in(errors, path, 0,
	    "more than 50000 sections; line 50001 and the rest of the file");
	assert_int_equal(count_lines(errors), 2); /* and: no mailbox */
	free(errors);
	free(text);

	/* 500,001 key lines: a duplicate past the cap is not reported. */
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "[daemon]\n");
	for (i = 0; i < 500000; i++)
		fprintf(fp, "k%zu=\n", i);
	fprintf(fp, "k0=\n");
	assert_int_equal(fclose(fp), 0);
	errors = load_path(path, 0, NULL);
	assert_true(strncmp(errors, path, strlen(path)) == 0);
	assert_non_null(strstr(errors,
	    ": more than 500000 keys; line 500002 and the rest of the file"));
	assert_true(strstr(errors, "more than 500000") < strchr(errors, '\n'));
	assert_null(strstr(errors, "given more than once"));
	assert_non_null(strstr(errors, "t.conf: 499802 more errors not shown"));
	free(errors);
}

/* Errors come in line order; a flood of them is cut short, counted. */
static void
test_many_errors(void **state)
{
	char *text, *errors, *p, line[64];
	size_t i, len = 0;

	(void)state;
	text = calloc(300, 32);
	len = (size_t)sprintf(text, "[daemon]\n");
	for (i = 0; i < 300; i++)
		len += (size_t)sprintf(text + len, "key%zu = 1\n", i);
	errors = load_errors(text, NULL);
	assert_int_equal(count_lines(errors), 201);
	for (i = 0, p = errors; i < 200; i++, p = strchr(p, '\n') + 1) {
		snprintf(line, sizeof line,
		    "t.conf:%zu: [daemon] key%zu: ", i + 2, i);
		assert_non_null(strstr(p, line));
		assert_true(strstr(p, line) < strchr(p, '\n'));
	}
	assert_non_null(strstr(p, "t.conf: 101 more errors not shown\n"));
	free(errors);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_durations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_bounds, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_good_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_good_fixture, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_three_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_section, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_section_spacing, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_empty_domain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_key, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_section_and_key, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_allow_basic_removed, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_missing_required, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_syntax, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_value_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_address_and_account, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_frontend_forms, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_fixed_urls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_builtin_profile_defaults,
	        setup, teardown),
	    cmocka_unit_test_setup_teardown(test_profile_without_anchors, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_credentials_directory, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_check_as_service_user, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_credential_modes, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_password_secrecy, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_refcount, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sample, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_files_and_text, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_many_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_regular, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hello_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escaped_messages, setup,
	        teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
