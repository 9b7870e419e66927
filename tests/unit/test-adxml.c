/*
 * Unit tests of adxml (and the json writer it prints with): the SOAP and
 * POX requests, every sample answer in tests/data/autodiscover, hostile
 * XML (docs/security.md §7 rows 4-9), and a replay of the fuzzing corpus.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <libxml/parser.h>

#include "adxml.h"
#include "json.h"
#include "xmlsafe.h"

#define NS_SOAP "http://schemas.xmlsoap.org/soap/envelope/"
#define NS_AD "http://schemas.microsoft.com/exchange/2010/Autodiscover"
#define NS_WSA "http://www.w3.org/2005/08/addressing"
#define NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define NS_POXREQ \
	"http://schemas.microsoft.com/exchange/autodiscover/outlook/" \
	"requestschema/2006"
#define NS_POX \
	"http://schemas.microsoft.com/exchange/autodiscover/" \
	"responseschema/2006"
#define NS_POXA \
	"http://schemas.microsoft.com/exchange/autodiscover/outlook/" \
	"responseschema/2006a"

/* Read a whole file into a new buffer; *len gets its size. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *fp;
	char *buf;
	long n;

	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* Parse a NUL-terminated string. */
static struct adxml_result *
parse_str(const char *s)
{
	return adxml_parse(s, strlen(s));
}

/* Monotonic seconds. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* How long "quickly" may be: valgrind runs everything ~50x slower. */
static double
quick_limit(void)
{
	const char *pre = getenv("LD_PRELOAD");

	return pre != NULL && strstr(pre, "vgpreload") != NULL ? 60.0 : 2.0;
}

/* A string field is either absent or non-empty with no outer space. */
static void
check_text(const char *s)
{
	size_t n;

	if (s == NULL)
		return;
	n = strlen(s);
	assert_true(n > 0);
	assert_false(
	    s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r');
	assert_false(s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
	    s[n - 1] == '\r');
}

/* The invariants every result keeps (the fuzz harness checks the same). */
static void
check_invariants(const struct adxml_result *r)
{
	size_t i;

	check_text(r->error_code);
	check_text(r->error_message);
	check_text(r->internal_ews_url);
	check_text(r->external_ews_url);
	check_text(r->redirect_target);
	check_text(r->server_version);
	check_text(r->cas_version);
	for (i = 0; i < r->nnotes; i++)
		assert_non_null(r->notes[i]);
	assert_true(r->nnotes <= 33);
	switch (r->outcome) {
	case ADXML_SETTINGS:
		assert_null(r->reason);
		assert_null(r->error_code);
		assert_null(r->redirect_target);
		assert_int_equal(r->error_level, ADXML_LEVEL_NONE);
		assert_int_not_equal(r->format, ADXML_FORMAT_UNKNOWN);
		break;
	case ADXML_REDIRECT_ADDRESS:
	case ADXML_REDIRECT_URL:
		assert_null(r->reason);
		assert_non_null(r->redirect_target);
		assert_null(r->internal_ews_url);
		assert_null(r->external_ews_url);
		break;
	case ADXML_ERROR:
		assert_null(r->reason);
		assert_non_null(r->error_code);
		assert_int_not_equal(r->error_level, ADXML_LEVEL_NONE);
		assert_null(r->internal_ews_url);
		assert_null(r->external_ews_url);
		assert_null(r->redirect_target);
		break;
	case ADXML_FAULT:
		assert_null(r->reason);
		assert_int_equal(r->format, ADXML_FORMAT_SOAP);
		assert_null(r->internal_ews_url);
		assert_null(r->external_ews_url);
		break;
	case ADXML_MALFORMED:
	case ADXML_NOT_AUTODISCOVER:
		assert_non_null(r->reason);
		assert_null(r->error_code);
		assert_null(r->error_message);
		assert_null(r->internal_ews_url);
		assert_null(r->external_ews_url);
		assert_null(r->redirect_target);
		assert_null(r->server_version);
		assert_null(r->cas_version);
		assert_true(r->nnotes <= 1);
		break;
	}
	if (r->forbidden) {
		assert_int_equal(r->outcome, ADXML_MALFORMED);
		assert_string_equal(r->reason, "xml_dtd_forbidden");
	}
	if (r->too_large) {
		assert_int_equal(r->outcome, ADXML_MALFORMED);
		assert_string_equal(r->reason, "response_too_large");
	}
	if (r->wrong_namespace) {
		assert_int_equal(r->outcome, ADXML_NOT_AUTODISCOVER);
		assert_string_equal(r->reason, "xml_wrong_namespace");
	}
}

/* Compare a possibly-NULL field with an expected possibly-NULL string. */
static void
field_is(const char *got, const char *want)
{
	if (want == NULL)
		assert_null(got);
	else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
}

struct sample {
	const char *file;
	enum adxml_format format;
	enum adxml_outcome outcome;
	const char *error_code;
	enum adxml_level level;
	const char *internal;
	const char *external;
	const char *redirect;
	const char *reason;
};

#define CONTOSO_INT "https://mail.contoso.com/EWS/Exchange.asmx"
#define CONTOSO_EXT "https://webmail.contoso.com/EWS/Exchange.asmx"

static const struct sample samples[] = {
    {"soap-noerror-both.xml", ADXML_FORMAT_SOAP, ADXML_SETTINGS, NULL,
        ADXML_LEVEL_NONE, CONTOSO_INT, CONTOSO_EXT, NULL, NULL},
    {"soap-exo-external-only.xml", ADXML_FORMAT_SOAP, ADXML_SETTINGS, NULL,
        ADXML_LEVEL_NONE, NULL,
        "https://outlook.office365.com/EWS/Exchange.asmx", NULL, NULL},
    {"soap-redirect-address.xml", ADXML_FORMAT_SOAP, ADXML_REDIRECT_ADDRESS,
        "RedirectAddress", ADXML_LEVEL_USER, NULL, NULL,
        "user1@contoso.mail.onmicrosoft.com", NULL},
    {"soap-redirect-url.xml", ADXML_FORMAT_SOAP, ADXML_REDIRECT_URL,
        "RedirectUrl", ADXML_LEVEL_USER, NULL, NULL,
        "https://autodiscover.eu.contoso.com/autodiscover/autodiscover.svc",
        NULL},
    {"soap-redirect-no-target.xml", ADXML_FORMAT_SOAP, ADXML_MALFORMED, NULL,
        ADXML_LEVEL_NONE, NULL, NULL, NULL, "ad_incomplete"},
    {"soap-invalid-user.xml", ADXML_FORMAT_SOAP, ADXML_ERROR, "InvalidUser",
        ADXML_LEVEL_USER, NULL, NULL, NULL, NULL},
    {"soap-server-busy.xml", ADXML_FORMAT_SOAP, ADXML_ERROR, "ServerBusy",
        ADXML_LEVEL_RESPONSE, NULL, NULL, NULL, NULL},
    {"soap-invalid-request.xml", ADXML_FORMAT_SOAP, ADXML_ERROR,
        "InvalidRequest", ADXML_LEVEL_RESPONSE, NULL, NULL, NULL, NULL},
    {"soap-setting-errors.xml", ADXML_FORMAT_SOAP, ADXML_SETTINGS, NULL,
        ADXML_LEVEL_NONE, NULL, CONTOSO_EXT, NULL, NULL},
    {"soap-no-ews-url.xml", ADXML_FORMAT_SOAP, ADXML_SETTINGS, NULL,
        ADXML_LEVEL_NONE, NULL, NULL, NULL, NULL},
    {"soap-unknown-setting-type.xml", ADXML_FORMAT_SOAP, ADXML_SETTINGS, NULL,
        ADXML_LEVEL_NONE, CONTOSO_INT, CONTOSO_EXT, NULL, NULL},
    {"soap-wcf-fault.xml", ADXML_FORMAT_SOAP, ADXML_FAULT,
        "a:InternalServiceFault", ADXML_LEVEL_NONE, NULL, NULL, NULL, NULL},
    {"soap-whitespace.xml", ADXML_FORMAT_SOAP, ADXML_SETTINGS, NULL,
        ADXML_LEVEL_NONE, CONTOSO_INT, CONTOSO_EXT, NULL, NULL},
    {"soap-https-namespace.xml", ADXML_FORMAT_SOAP, ADXML_SETTINGS, NULL,
        ADXML_LEVEL_NONE, CONTOSO_INT, CONTOSO_EXT, NULL, NULL},
    {"soap-foreign-namespace.xml", ADXML_FORMAT_SOAP, ADXML_NOT_AUTODISCOVER,
        NULL, ADXML_LEVEL_NONE, NULL, NULL, NULL, "xml_wrong_namespace"},
    {"pox-settings.xml", ADXML_FORMAT_POX, ADXML_SETTINGS, NULL,
        ADXML_LEVEL_NONE, CONTOSO_INT, CONTOSO_EXT, NULL, NULL},
    {"pox-asurl-fallback.xml", ADXML_FORMAT_POX, ADXML_SETTINGS, NULL,
        ADXML_LEVEL_NONE, "https://ex2007.contoso.com/EWS/Exchange.asmx",
        "https://owa.contoso.com/EWS/Exchange.asmx", NULL, NULL},
    {"pox-redirect-addr.xml", ADXML_FORMAT_POX, ADXML_REDIRECT_ADDRESS, NULL,
        ADXML_LEVEL_NONE, NULL, NULL, "user1@contoso.mail.onmicrosoft.com",
        NULL},
    {"pox-redirect-url.xml", ADXML_FORMAT_POX, ADXML_REDIRECT_URL, NULL,
        ADXML_LEVEL_NONE, NULL, NULL,
        "https://autodiscover.eu.contoso.com/autodiscover/autodiscover.xml",
        NULL},
    {"pox-redirect-url-capitalized.xml", ADXML_FORMAT_POX, ADXML_MALFORMED,
        NULL, ADXML_LEVEL_NONE, NULL, NULL, NULL, "ad_incomplete"},
    {"pox-error-600.xml", ADXML_FORMAT_POX, ADXML_ERROR, "600",
        ADXML_LEVEL_RESPONSE, NULL, NULL, NULL, NULL},
    {"pox-error-500.xml", ADXML_FORMAT_POX, ADXML_ERROR, "500",
        ADXML_LEVEL_RESPONSE, NULL, NULL, NULL, NULL},
    {"pox-foreign-namespace.xml", ADXML_FORMAT_UNKNOWN, ADXML_NOT_AUTODISCOVER,
        NULL, ADXML_LEVEL_NONE, NULL, NULL, NULL, "xml_wrong_namespace"},
    {"html-page.html", ADXML_FORMAT_UNKNOWN, ADXML_NOT_AUTODISCOVER, NULL,
        ADXML_LEVEL_NONE, NULL, NULL, NULL, "not_autodiscover"},
    {"other-xml.xml", ADXML_FORMAT_UNKNOWN, ADXML_NOT_AUTODISCOVER, NULL,
        ADXML_LEVEL_NONE, NULL, NULL, NULL, "not_autodiscover"},
    {"truncated.xml", ADXML_FORMAT_UNKNOWN, ADXML_MALFORMED, NULL,
        ADXML_LEVEL_NONE, NULL, NULL, NULL, "xml_malformed"},
    {"not-xml.txt", ADXML_FORMAT_UNKNOWN, ADXML_MALFORMED, NULL,
        ADXML_LEVEL_NONE, NULL, NULL, NULL, "xml_malformed"},
    {"empty.xml", ADXML_FORMAT_UNKNOWN, ADXML_MALFORMED, NULL, ADXML_LEVEL_NONE,
        NULL, NULL, NULL, "xml_empty"},
    {"doctype-entity.xml", ADXML_FORMAT_UNKNOWN, ADXML_MALFORMED, NULL,
        ADXML_LEVEL_NONE, NULL, NULL, NULL, "xml_dtd_forbidden"},
};

/* Each sample gives its expected outcome and fields. */
static void
test_samples(void **state)
{
	struct adxml_result *r;
	char path[512];
	size_t i, len;
	char *buf;

	for (i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		snprintf(path, sizeof path, "%s/autodiscover/%s", TEST_DATA_DIR,
		    samples[i].file);
		print_message("sample %s\n", samples[i].file);
		buf = slurp(path, &len);
		r = adxml_parse(buf, len);
		check_invariants(r);
		assert_string_equal(adxml_format_name(r->format),
		    adxml_format_name(samples[i].format));
		assert_string_equal(adxml_outcome_name(r->outcome),
		    adxml_outcome_name(samples[i].outcome));
		field_is(r->error_code, samples[i].error_code);
		assert_int_equal(r->error_level, samples[i].level);
		field_is(r->internal_ews_url, samples[i].internal);
		field_is(r->external_ews_url, samples[i].external);
		field_is(r->redirect_target, samples[i].redirect);
		field_is(r->reason, samples[i].reason);
		adxml_result_free(r);
		free(buf);
	}
}

/* Details the table above does not show. */
static void
test_sample_details(void **state)
{
	struct adxml_result *r;
	char path[512];
	size_t len;
	char *buf;

	snprintf(path, sizeof path, "%s/autodiscover/soap-noerror-both.xml",
	    TEST_DATA_DIR);
	buf = slurp(path, &len);
	r = adxml_parse(buf, len);
	assert_string_equal(r->server_version, "Exchange2013");
	assert_string_equal(r->server_build, "15.0.160.4");
	assert_string_equal(r->cas_version, "15.00.1497.002");
	assert_non_null(strstr(r->ews_supported_schemas, "Exchange2010"));
	assert_string_equal(r->smtp_address, "user1@contoso.com");
	assert_int_equal(r->nnotes, 0);
	adxml_result_free(r);
	free(buf);

	snprintf(path, sizeof path, "%s/autodiscover/soap-setting-errors.xml",
	    TEST_DATA_DIR);
	buf = slurp(path, &len);
	r = adxml_parse(buf, len);
	assert_int_equal(r->nnotes, 2);
	assert_non_null(strstr(r->notes[0], "InternalEwsUrl"));
	assert_non_null(strstr(r->notes[0], "SettingIsNotAvailable"));
	adxml_result_free(r);
	free(buf);

	snprintf(path, sizeof path, "%s/autodiscover/soap-https-namespace.xml",
	    TEST_DATA_DIR);
	buf = slurp(path, &len);
	r = adxml_parse(buf, len);
	assert_int_equal(r->nnotes, 2);
	assert_non_null(strstr(r->notes[0], "non-standard namespace"));
	adxml_result_free(r);
	free(buf);

	snprintf(path, sizeof path, "%s/autodiscover/pox-asurl-fallback.xml",
	    TEST_DATA_DIR);
	buf = slurp(path, &len);
	r = adxml_parse(buf, len);
	assert_string_equal(r->server_version, "8.1.240");
	assert_int_equal(r->nnotes, 2);
	assert_non_null(strstr(r->notes[0], "ASUrl"));
	adxml_result_free(r);
	free(buf);
}

/*
 * Parse every file of dir; where name.json exists next to a sample, the
 * pretty JSON must match it byte for byte (regenerate with
 * `ewsprobed parse FILE > name.json` after an intended change).
 */
static size_t
replay_dir(const char *dir, int with_json)
{
	struct adxml_result *r;
	struct dirent *de;
	char path[1024], jpath[1024], *buf, *want, *got, *dot;
	size_t len, wlen, n = 0;
	DIR *d;

	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((dot = strrchr(de->d_name, '.')) != NULL &&
		    strcmp(dot, ".json") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		buf = slurp(path, &len);
		r = adxml_parse(buf, len);
		check_invariants(r);
		got = adxml_result_to_json(r, JSON_PRETTY);
		if (with_json) {
			snprintf(jpath, sizeof jpath, "%s/%.*s.json", dir,
			    dot != NULL ? (int)(dot - de->d_name)
			                : (int)strlen(de->d_name),
			    de->d_name);
			print_message("replay %s\n", de->d_name);
			want = slurp(jpath, &wlen);
			assert_string_equal(got, want);
			free(want);
		}
		free(got);
		adxml_result_free(r);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

/* Every sample matches its JSON; every fuzz seed keeps the invariants. */
static void
test_corpus_replay(void **state)
{
	char dir[512];

	snprintf(dir, sizeof dir, "%s/autodiscover", TEST_DATA_DIR);
	assert_true(replay_dir(dir, 1) >= 29);
	snprintf(dir, sizeof dir, "%s/../fuzz/corpus", TEST_DATA_DIR);
	assert_true(replay_dir(dir, 0) >= 29);
}

/* The text of the first child element of n named name in ns. */
static char *
child_text(xmlNode *n, const char *ns, const char *name)
{
	return xmlsafe_text(xmlsafe_child(n, ns, name));
}

/* Every element of the tree is in one of the allowed namespaces. */
static void
check_namespaces(const xmlNode *n, const char *const *ok, size_t nok)
{
	const xmlNs *d;
	size_t i;

	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		assert_non_null(n->ns);
		for (i = 0; i < nok; i++) {
			if (strcmp((const char *)n->ns->href, ok[i]) == 0)
				break;
		}
		assert_true(i < nok);
		for (d = n->nsDef; d != NULL; d = d->next)
			assert_true(
			    strncmp((const char *)d->href, "http://", 7) == 0);
		check_namespaces(n->children, ok, nok);
	}
}

/* The SOAP request reads back with exact namespaces and values. */
static void
test_soap_request(void **state)
{
	static const char *const ok[] = {NS_SOAP, NS_AD, NS_WSA};
	static const char *const want[] = {"InternalEwsUrl", "ExternalEwsUrl",
	    "CasVersion", "EwsSupportedSchemas", "AutoDiscoverSMTPAddress"};
	const char *url = "https://autodiscover.contoso.com/autodiscover/"
	                  "autodiscover.svc?a=1&b=<2>";
	const char *box = "o'brien&\"co\"@contoso.com";
	enum xmlsafe_status st;
	xmlNode *env, *hdr, *n;
	xmlDocPtr doc;
	char *req, *t;
	size_t i;

	req = adxml_soap_request(url, box);
	assert_non_null(req);
	assert_null(strstr(req, "https://schemas"));
	doc = xmlsafe_parse(req, strlen(req), 1 << 20, &st, NULL);
	assert_int_equal(st, XMLSAFE_OK);
	env = xmlDocGetRootElement(doc);
	assert_true(xmlsafe_is(env, NS_SOAP, "Envelope"));
	check_namespaces(env, ok, 3);
	hdr = xmlsafe_child(env, NS_SOAP, "Header");
	t = child_text(hdr, NS_AD, "RequestedServerVersion");
	assert_string_equal(t, "Exchange2010");
	free(t);
	t = child_text(hdr, NS_WSA, "Action");
	assert_string_equal(t,
	    "http://schemas.microsoft.com/exchange/2010/"
	    "Autodiscover/Autodiscover/GetUserSettings");
	free(t);
	t = child_text(hdr, NS_WSA, "To");
	assert_string_equal(t, url);
	free(t);
	n = xmlsafe_child(env, NS_SOAP, "Body");
	n = xmlsafe_child(n, NS_AD, "GetUserSettingsRequestMessage");
	n = xmlsafe_child(n, NS_AD, "Request");
	assert_non_null(n);
	t = child_text(xmlsafe_child(xmlsafe_child(n, NS_AD, "Users"), NS_AD,
	                   "User"),
	    NS_AD, "Mailbox");
	assert_string_equal(t, box);
	free(t);
	n = xmlsafe_child(xmlsafe_child(n, NS_AD, "RequestedSettings"), NS_AD,
	    "Setting");
	for (i = 0; i < 5; i++) {
		assert_non_null(n);
		t = xmlsafe_text(n);
		assert_string_equal(t, want[i]);
		free(t);
		n = xmlsafe_next(n, NS_AD, "Setting");
	}
	assert_null(n);
	xmlFreeDoc(doc);
	free(req);
}

/* The POX request reads back with the request schema and 2006a. */
static void
test_pox_request(void **state)
{
	static const char *const ok[] = {NS_POXREQ};
	enum xmlsafe_status st;
	xmlNode *root, *req;
	xmlDocPtr doc;
	char *body, *t;

	body = adxml_pox_request("mara&<x>@contoso.com");
	assert_non_null(body);
	doc = xmlsafe_parse(body, strlen(body), 1 << 20, &st, NULL);
	assert_int_equal(st, XMLSAFE_OK);
	root = xmlDocGetRootElement(doc);
	assert_true(xmlsafe_is(root, NS_POXREQ, "Autodiscover"));
	check_namespaces(root, ok, 1);
	req = xmlsafe_child(root, NS_POXREQ, "Request");
	t = child_text(req, NS_POXREQ, "EMailAddress");
	assert_string_equal(t, "mara&<x>@contoso.com");
	free(t);
	t = child_text(req, NS_POXREQ, "AcceptableResponseSchema");
	assert_string_equal(t, NS_POXA);
	free(t);
	xmlFreeDoc(doc);
	free(body);
}

/* Values that cannot be XML text are refused, not mangled. */
static void
test_request_refuses(void **state)
{
	assert_null(adxml_soap_request(NULL, "a@b.test"));
	assert_null(adxml_soap_request("https://a.test/", ""));
	assert_null(adxml_soap_request("https://a.test/", "a\n@b.test"));
	assert_null(adxml_soap_request("https://a.test/\x01", "a@b.test"));
	assert_null(adxml_soap_request("https://a.test/", "a\xff@b.test"));
	assert_null(adxml_pox_request(NULL));
	assert_null(adxml_pox_request("a\r\n@b.test"));
}

/* A 10 MB answer is too large and is not parsed at all. */
static void
test_too_large(void **state)
{
	struct adxml_result *r;
	size_t len = 10u * 1000u * 1000u;
	double t0;
	char *buf;

	buf = malloc(len);
	assert_non_null(buf);
	memset(buf, ' ', len);
	memcpy(buf, "<a>", 3);
	memcpy(buf + len - 4, "</a>", 4);
	t0 = now();
	r = adxml_parse(buf, len);
	assert_true(now() - t0 < quick_limit());
	check_invariants(r);
	assert_int_equal(r->outcome, ADXML_MALFORMED);
	assert_true(r->too_large);
	adxml_result_free(r);
	/* One byte over the cap is already too large. */
	r = adxml_parse(buf, ADXML_MAX_BODY + 1);
	assert_true(r->too_large);
	adxml_result_free(r);
	free(buf);
}

/* Parse buf and expect a quick malformed outcome with reason. */
static struct adxml_result *
expect_rejected(const char *buf, size_t len, const char *reason)
{
	struct adxml_result *r;
	double t0;

	t0 = now();
	r = adxml_parse(buf, len);
	assert_true(now() - t0 < quick_limit());
	check_invariants(r);
	assert_int_equal(r->outcome, ADXML_MALFORMED);
	if (reason != NULL)
		assert_string_equal(r->reason, reason);
	return r;
}

/* 100,000 levels of nesting: libxml2 stops at 256 (no HUGE). */
static void
test_deep_nesting(void **state)
{
	size_t depth = 100000, i, len = 0;
	char *buf;

	buf = malloc(depth * 7 + 1);
	assert_non_null(buf);
	for (i = 0; i < depth; i++, len += 3)
		memcpy(buf + len, "<a>", 3);
	for (i = 0; i < depth; i++, len += 4)
		memcpy(buf + len, "</a>", 4);
	adxml_result_free(expect_rejected(buf, len, "xml_too_complex"));
	free(buf);
}

/* Build "<a" + n copies of unit (with %zu numbered) + tail into a buffer. */
static char *
build_repeat(const char *head, const char *pre, const char *post, size_t n,
    const char *tail, size_t *len)
{
	size_t cap = strlen(head) + n * (strlen(pre) + strlen(post) + 24) +
	    strlen(tail) + 1;
	char *buf = malloc(cap), *p;
	size_t i;

	if (buf == NULL)
		abort();
	p = buf + sprintf(buf, "%s", head);
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%zu%s", pre, i, post);
	p += sprintf(p, "%s", tail);
	*len = (size_t)(p - buf);
	return buf;
}

/* The reason adxml gives a document (static in the result). */
static void
expect_reason(const char *buf, size_t len, const char *reason)
{
	struct adxml_result *r = adxml_parse(buf, len);

	check_invariants(r);
	assert_non_null(r->reason);
	assert_string_equal(r->reason, reason);
	adxml_result_free(r);
}

/*
 * The pre-scan refuses structure libxml2 handles in more than linear time
 * (issue 12 item 4: 120,000 attributes on one element took 30 s), and
 * admits everything up to each limit.
 */
static void
test_prescan_limits(void **state)
{
	char *buf, name[XMLSAFE_MAX_NAME + 16];
	size_t len, i;

	/* The attack itself, just under the 1 MiB cap. */
	buf = build_repeat("<a", " a", "=\"\"", 100000, "/>", &len);
	assert_true(len < ADXML_MAX_BODY);
	expect_reason(buf, len, "xml_too_complex");
	free(buf);
	buf = build_repeat("<a", " xmlns:p", "=\"u\"", 40000, "/>", &len);
	expect_reason(buf, len, "xml_too_complex");
	free(buf);
	/* Attributes per element: the limit passes, one more does not. */
	buf = build_repeat("<a", " a", "=''", XMLSAFE_MAX_ATTRS, "/>", &len);
	expect_reason(buf, len, "not_autodiscover");
	free(buf);
	buf =
	    build_repeat("<a", " a", "=''", XMLSAFE_MAX_ATTRS + 1, "/>", &len);
	expect_reason(buf, len, "xml_too_complex");
	free(buf);
	/* Namespace declarations in the document, one per element. */
	buf = build_repeat("<a>", "<b xmlns:p", "='u'/>",
	    XMLSAFE_MAX_NAMESPACES, "</a>", &len);
	expect_reason(buf, len, "not_autodiscover");
	free(buf);
	buf = build_repeat("<a>", "<b xmlns:p", "='u'/>",
	    XMLSAFE_MAX_NAMESPACES + 1, "</a>", &len);
	expect_reason(buf, len, "xml_too_complex");
	free(buf);
	/* Elements (end tags do not count). */
	buf = build_repeat("<a>", "<b n='", "'></b>", XMLSAFE_MAX_ITEMS - 1,
	    "</a>", &len);
	expect_reason(buf, len, "not_autodiscover");
	free(buf);
	buf =
	    build_repeat("<a>", "<!--", "-->", XMLSAFE_MAX_ITEMS, "</a>", &len);
	expect_reason(buf, len, "xml_too_complex");
	free(buf);
	/* Depth. */
	if ((buf = malloc(8 * XMLSAFE_MAX_DEPTH + 16)) == NULL)
		abort();
	for (len = 0, i = 0; i < XMLSAFE_MAX_DEPTH; i++, len += 3)
		memcpy(buf + len, "<a>", 3);
	for (i = 0; i < XMLSAFE_MAX_DEPTH; i++, len += 4)
		memcpy(buf + len, "</a>", 4);
	expect_reason(buf, len, "not_autodiscover");
	memmove(buf + 3, buf, len);
	memcpy(buf, "<a>", 3);
	memcpy(buf + len + 3, "</a>", 4);
	expect_reason(buf, len + 7, "xml_too_complex");
	free(buf);
	/* Names. */
	memset(name, 'n', sizeof name);
	if ((buf = malloc(1024)) == NULL)
		abort();
	len =
	    (size_t)snprintf(buf, 1024, "<%.*s/>", (int)XMLSAFE_MAX_NAME, name);
	expect_reason(buf, len, "not_autodiscover");
	len = (size_t)snprintf(buf, 1024, "<a %.*s='x'/>",
	    (int)XMLSAFE_MAX_NAME + 1, name);
	expect_reason(buf, len, "xml_too_complex");
	free(buf);
}

/* What the pre-scan must not mistake for structure, and what it refuses. */
static void
test_prescan_lexing(void **state)
{
	static const struct {
		const char *doc;
		const char *reason;
	} cases[] = {
	    /* Markup-like text inside comments, CDATA, PIs and values. */
	    {"<a><!-- <!DOCTYPE a> <b c='d'> --></a>", "not_autodiscover"},
	    {"<a><![CDATA[<!DOCTYPE a><x y='z'>]]></a>", "not_autodiscover"},
	    {"<?xml version='1.0' encoding='ISO-8859-1'?><?pi <!DOCTYPE?><a/>",
	        "not_autodiscover"},
	    {"<a b='>' c = \"'<x>'\"/>", "xml_malformed"},
	    {"<a b='>' c = \"'x'\" ></a >", "not_autodiscover"},
	    {"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?><a/>",
	        "not_autodiscover"},
	    {"<?xml version='1.0' encoding='windows-1252'?><a>\x80</a>",
	        "not_autodiscover"},
	    /* DTDs, encodings that move ASCII bytes, NULs, text first. */
	    {"<?xml version='1.0'?><!DOCTYPE a><a/>", "xml_dtd_forbidden"},
	    {"<?xml version='1.0' encoding='UTF-7'?><a/>", "xml_malformed"},
	    {"<?xml version='1.0' encoding='EBCDIC-US'?><a/>", "xml_malformed"},
	    {"<?xml version='1.0' encoding='UTF-16'?><a/>", "xml_malformed"},
	    {"Service Unavailable", "xml_malformed"},
	    {"<a><!ENTITY x 'y'></a>", "xml_malformed"},
	    {"<a></b></a></a>", "xml_malformed"},
	    {"<a b></a>", "xml_malformed"},
	    {"<a b='c></a>", "xml_malformed"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		print_message("%s\n", cases[i].doc);
		expect_reason(cases[i].doc, strlen(cases[i].doc),
		    cases[i].reason);
	}
	expect_reason("<a>\0</a>", 8, "xml_malformed");
}

/* A 60,000-character element name exceeds XML_MAX_NAME_LENGTH. */
static void
test_long_name(void **state)
{
	size_t n = 60000, len;
	char *buf;

	buf = malloc(2 * n + 8);
	assert_non_null(buf);
	buf[0] = '<';
	memset(buf + 1, 'x', n);
	memcpy(buf + 1 + n, "/>", 2);
	len = n + 3;
	adxml_result_free(expect_rejected(buf, len, "xml_too_complex"));
	free(buf);
}

/* Billion laughs: rejected (entity loop or DTD), never expanded. */
static void
test_billion_laughs(void **state)
{
	struct adxml_result *r;
	char *doc, *p;
	int i;

	doc = malloc(8192);
	assert_non_null(doc);
	/* lolN is ten lol(N-1): 10^9 "lol"s once expanded. */
	p = doc +
	    sprintf(doc,
	        "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
	        "<!ENTITY lol0 \"lol\">\n");
	for (i = 1; i <= 9; i++)
		p += sprintf(p,
		    "<!ENTITY lol%d \"&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;"
		    "&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;\">\n",
		    i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
		    i - 1, i - 1);
	sprintf(p,
	    "]>\n<Autodiscover xmlns=\"" NS_POX "\"><Response xmlns=\"" NS_POXA
	    "\"><Account><Action>redirectAddr</Action>"
	    "<RedirectAddr>&lol9;</RedirectAddr></Account></Response>"
	    "</Autodiscover>\n");
	r = expect_rejected(doc, strlen(doc), NULL);
	assert_true(strcmp(r->reason, "xml_dtd_forbidden") == 0 ||
	    strcmp(r->reason, "xml_malformed") == 0);
	adxml_result_free(r);
	free(doc);
}

/* Quadratic blowup: one 30 KB entity referenced 2,000 times. */
static void
test_quadratic(void **state)
{
	size_t elen = 30000, refs = 2000, len;
	struct adxml_result *r;
	char *doc, *p;
	size_t i;

	doc = malloc(elen + refs * 4 + 1024);
	assert_non_null(doc);
	p = doc + sprintf(doc, "<!DOCTYPE r [<!ENTITY a \"");
	memset(p, 'A', elen);
	p += elen;
	p += sprintf(p, "\">]>\n<Autodiscover xmlns=\"" NS_POX "\">");
	for (i = 0; i < refs; i++, p += 3)
		memcpy(p, "&a;", 3);
	p += sprintf(p, "</Autodiscover>");
	len = (size_t)(p - doc);
	r = expect_rejected(doc, len, "xml_dtd_forbidden");
	assert_true(r->forbidden);
	adxml_result_free(r);
	free(doc);
}

/* Copy tmpl to out (size n) with every "@@" replaced by val. */
static void
subst(char *out, size_t n, const char *tmpl, const char *val)
{
	size_t o = 0, vlen = strlen(val);
	const char *p;

	for (p = tmpl; *p != '\0'; p++) {
		if (p[0] == '@' && p[1] == '@') {
			assert_true(o + vlen < n);
			memcpy(out + o, val, vlen);
			o += vlen;
			p++;
		} else {
			assert_true(o + 1 < n);
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

#define CANARY "CANARY-adxml-3f9c1e7d"

/* XXE through file:// never reaches a result, whatever the entity kind. */
static void
test_xxe_canary(void **state)
{
	static const char *const tmpls[] = {
	    /* a general external entity in a field we would extract */
	    "<!DOCTYPE Autodiscover [<!ENTITY x SYSTEM \"file://@@\">]>"
	    "<Autodiscover xmlns=\"" NS_POX "\"><Response xmlns=\"" NS_POXA
	    "\"><Account><Action>redirectAddr</Action><RedirectAddr>&x;"
	    "</RedirectAddr></Account></Response></Autodiscover>",
	    /* an external parameter entity */
	    "<!DOCTYPE Autodiscover [<!ENTITY % p SYSTEM \"file://@@\"> %p;]>"
	    "<Autodiscover xmlns=\"" NS_POX "\"/>",
	    /* an external DTD */
	    "<!DOCTYPE Autodiscover SYSTEM \"file://@@\">"
	    "<Autodiscover xmlns=\"" NS_POX "\"/>",
	    /* an entity inside a SOAP value */
	    "<!DOCTYPE s:Envelope [<!ENTITY x SYSTEM \"file://@@\">]>"
	    "<s:Envelope xmlns:s=\"" NS_SOAP "\"><s:Body><s:Fault>"
	    "<faultcode>x</faultcode><faultstring>&x;</faultstring>"
	    "</s:Fault></s:Body></s:Envelope>",
	};
	char dir[] = "/tmp/adxml-canary-XXXXXX", path[256], doc[2048];
	struct adxml_result *r;
	char *json;
	size_t i;
	FILE *fp;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/canary.txt", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(CANARY "\n", fp);
	fclose(fp);
	for (i = 0; i < sizeof tmpls / sizeof tmpls[0]; i++) {
		subst(doc, sizeof doc, tmpls[i], path);
		r = expect_rejected(doc, strlen(doc), "xml_dtd_forbidden");
		json = adxml_result_to_json(r, 0);
		assert_null(strstr(json, CANARY));
		free(json);
		adxml_result_free(r);
	}
	unlink(path);
	rmdir(dir);
}

/* An external DTD or entity on http://127.0.0.1:PORT: no connection. */
static void
test_external_dtd_no_network(void **state)
{
	static const char *const tmpls[] = {
	    "<!DOCTYPE Autodiscover SYSTEM \"http://127.0.0.1:@@/x.dtd\">"
	    "<Autodiscover xmlns=\"" NS_POX "\"/>",
	    "<!DOCTYPE Autodiscover [<!ENTITY % p SYSTEM "
	    "\"http://127.0.0.1:@@/p.dtd\"> %p;]>"
	    "<Autodiscover xmlns=\"" NS_POX "\"/>",
	    "<!DOCTYPE Autodiscover [<!ENTITY x SYSTEM "
	    "\"http://127.0.0.1:@@/x.txt\">]>"
	    "<Autodiscover xmlns=\"" NS_POX "\">&x;</Autodiscover>",
	};
	struct sockaddr_in sin;
	socklen_t slen = sizeof sin;
	struct adxml_result *r;
	char doc[1024], port[16];
	int s;
	size_t i;

	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(s >= 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(s, 8), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &slen), 0);
	snprintf(port, sizeof port, "%d", ntohs(sin.sin_port));
	for (i = 0; i < sizeof tmpls / sizeof tmpls[0]; i++) {
		subst(doc, sizeof doc, tmpls[i], port);
		r = expect_rejected(doc, strlen(doc), "xml_dtd_forbidden");
		adxml_result_free(r);
	}
	/* Nothing ever connected. */
	assert_int_equal(accept(s, NULL, NULL), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	close(s);
}

/* Right local names in foreign namespaces extract nothing. */
static void
test_foreign_namespaces(void **state)
{
	struct adxml_result *r;

	r = parse_str("<s:Envelope xmlns:s=\"http://evil.test/soap\">"
	              "<s:Body/></s:Envelope>");
	check_invariants(r);
	assert_int_equal(r->outcome, ADXML_NOT_AUTODISCOVER);
	assert_true(r->wrong_namespace);
	adxml_result_free(r);

	/* The request schema is not a response. */
	r = parse_str("<Autodiscover xmlns=\"" NS_POXREQ "\"><Request>"
	              "<EMailAddress>a@b.test</EMailAddress></Request>"
	              "</Autodiscover>");
	check_invariants(r);
	assert_true(r->wrong_namespace);
	adxml_result_free(r);

	/* POX Response in a foreign namespace. */
	r = parse_str("<Autodiscover xmlns=\"" NS_POX "\"><Response "
	              "xmlns=\"http://evil.test/r\"><Account><Action>settings"
	              "</Action></Account></Response></Autodiscover>");
	check_invariants(r);
	assert_true(r->wrong_namespace);
	adxml_result_free(r);

	/* An unprefixed, namespace-less document. */
	r = parse_str("<Envelope><Body/></Envelope>");
	check_invariants(r);
	assert_true(r->wrong_namespace);
	adxml_result_free(r);
}

/* A SOAP answer wrapping one setting with a given xsi:type. */
static struct adxml_result *
parse_setting_type(const char *decl, const char *type)
{
	char doc[2048];

	snprintf(doc, sizeof doc,
	    "<s:Envelope xmlns:s=\"" NS_SOAP "\"><s:Body>"
	    "<a:GetUserSettingsResponseMessage xmlns:a=\"" NS_AD "\" %s "
	    "xmlns:i=\"" NS_XSI "\"><a:Response><a:ErrorCode>NoError"
	    "</a:ErrorCode><a:UserResponses><a:UserResponse><a:ErrorCode>"
	    "NoError</a:ErrorCode><a:UserSettings><a:UserSetting i:type=\"%s\">"
	    "<a:Name>InternalEwsUrl</a:Name><a:Value>https://m.test/EWS/"
	    "Exchange.asmx</a:Value></a:UserSetting></a:UserSettings>"
	    "</a:UserResponse></a:UserResponses></a:Response>"
	    "</a:GetUserSettingsResponseMessage></s:Body></s:Envelope>",
	    decl, type);
	return parse_str(doc);
}

/* xsi:type is a QName, resolved against the in-scope namespaces. */
static void
test_setting_type_qname(void **state)
{
	struct adxml_result *r;

	r = parse_setting_type("", "a:StringSetting");
	check_invariants(r);
	assert_string_equal(r->internal_ews_url,
	    "https://m.test/EWS/Exchange.asmx");
	adxml_result_free(r);

	r = parse_setting_type("xmlns=\"" NS_AD "\"", "StringSetting");
	assert_non_null(r->internal_ews_url);
	adxml_result_free(r);

	/* No default namespace: an unprefixed type names nothing we know. */
	r = parse_setting_type("", "StringSetting");
	check_invariants(r);
	assert_int_equal(r->outcome, ADXML_SETTINGS);
	assert_null(r->internal_ews_url);
	adxml_result_free(r);

	r = parse_setting_type("xmlns:e=\"http://evil.test/\"",
	    "e:StringSetting");
	assert_null(r->internal_ews_url);
	adxml_result_free(r);
}

/* A failure after partial extraction drops what was extracted. */
static void
test_never_half_parsed(void **state)
{
	struct adxml_result *r;

	r = parse_str("<s:Envelope xmlns:s=\"" NS_SOAP "\"><s:Header>"
	              "<h:ServerVersionInfo xmlns:h=\"" NS_AD "\"><h:Version>"
	              "Exchange2013</h:Version></h:ServerVersionInfo>"
	              "</s:Header><s:Body><GetUserSettingsResponseMessage "
	              "xmlns=\"" NS_AD "\"/></s:Body></s:Envelope>");
	check_invariants(r);
	assert_int_equal(r->outcome, ADXML_MALFORMED);
	assert_string_equal(r->reason, "ad_incomplete");
	assert_null(r->server_version);
	adxml_result_free(r);

	/* A UserResponse without ErrorCode. */
	r = parse_str("<s:Envelope xmlns:s=\"" NS_SOAP "\"><s:Body>"
	              "<GetUserSettingsResponseMessage xmlns=\"" NS_AD "\">"
	              "<Response><ErrorCode>NoError</ErrorCode><UserResponses>"
	              "<UserResponse/></UserResponses></Response>"
	              "</GetUserSettingsResponseMessage></s:Body>"
	              "</s:Envelope>");
	check_invariants(r);
	assert_string_equal(r->reason, "ad_incomplete");
	adxml_result_free(r);

	/* A POX settings answer with an unknown Action. */
	r = parse_str(
	    "<Autodiscover xmlns=\"" NS_POX "\"><Response xmlns=\"" NS_POXA
	    "\"><User><AutoDiscoverSMTPAddress>a@b.test"
	    "</AutoDiscoverSMTPAddress></User><Account><Action>"
	    "sideways</Action></Account></Response></Autodiscover>");
	check_invariants(r);
	assert_string_equal(r->reason, "ad_incomplete");
	assert_null(r->smtp_address);
	adxml_result_free(r);
}

/* Hundreds of unknown settings give a bounded list of notes. */
static void
test_notes_bounded(void **state)
{
	struct adxml_result *r;
	char *doc, *p;
	int i;

	doc = malloc(200 * 100 + 2048);
	assert_non_null(doc);
	p = doc +
	    sprintf(doc,
	        "<s:Envelope xmlns:s=\"" NS_SOAP "\"><s:Body>"
	        "<GetUserSettingsResponseMessage xmlns=\"" NS_AD "\" "
	        "xmlns:i=\"" NS_XSI "\"><Response><ErrorCode>NoError"
	        "</ErrorCode><UserResponses><UserResponse><ErrorCode>"
	        "NoError</ErrorCode><UserSettings>");
	for (i = 0; i < 200; i++)
		p += sprintf(p, "<UserSetting i:type=\"T%d\"/>", i);
	sprintf(p,
	    "</UserSettings></UserResponse></UserResponses>"
	    "</Response></GetUserSettingsResponseMessage></s:Body>"
	    "</s:Envelope>");
	r = parse_str(doc);
	check_invariants(r);
	assert_int_equal(r->nnotes, 33);
	assert_string_equal(r->notes[32], "further notes omitted");
	adxml_result_free(r);
	free(doc);
}

/* Odd but legal inputs: BOM, white space only, XHTML. */
static void
test_odd_inputs(void **state)
{
	struct adxml_result *r;

	r = parse_str("   \r\n  ");
	check_invariants(r);
	assert_int_equal(r->outcome, ADXML_MALFORMED);
	adxml_result_free(r);

	r = parse_str("\xef\xbb\xbf<?xml version=\"1.0\"?>\n<HTML><body>x");
	check_invariants(r);
	assert_int_equal(r->outcome, ADXML_NOT_AUTODISCOVER);
	adxml_result_free(r);

	r = parse_str("<html xmlns=\"http://www.w3.org/1999/xhtml\"/>");
	check_invariants(r);
	assert_int_equal(r->outcome, ADXML_NOT_AUTODISCOVER);
	assert_string_equal(r->notes[0], "an HTML page");
	adxml_result_free(r);

	r = parse_str(
	    "\xef\xbb\xbf<Autodiscover xmlns=\"" NS_POX "\"><Response "
	    "xmlns=\"" NS_POXA "\"><Account><Action>settings"
	    "</Action></Account></Response></Autodiscover>");
	check_invariants(r);
	assert_int_equal(r->outcome, ADXML_SETTINGS);
	assert_int_equal(r->format, ADXML_FORMAT_POX);
	adxml_result_free(r);
}

/*
 * Nothing reaches stderr, even for errors libxml2 raises outside a parser
 * context (encoding conversion, I/O), which would echo attacker bytes.
 */
static void
test_no_stderr(void **state)
{
	/*
   * Built-in decoders only: iconv-backed ones (EUC-JP, ...) dlopen gconv
   * modules, which valgrind flags inside ld.so.
   */
	static const struct {
		const char *doc;
		size_t len;
	} docs[] = {
#define DOC(s) {s, sizeof s - 1}
	    /* UTF-16LE with an unpaired surrogate: raised with no context */
	    DOC("\xff\xfe<\0a\0>\0\0\xd8<\0/\0a\0>\0"),
	    DOC("<?xml version=\"1.0\" encoding=\"no-such-charset\"?><a/>"),
	    DOC("<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>x</a>"),
	    DOC("<a>\xff\xfe</a>"),
	    DOC("<a><b></a>"),
	    DOC("<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///nonexistent\">]>"
	        "<a>&x;</a>"),
	    DOC("<a>&undeclared;</a>"),
#undef DOC
	};
	char path[] = "/tmp/adxml-stderr-XXXXXX";
	struct adxml_result *r;
	struct stat st;
	int fd, saved;
	size_t i;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	for (i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		r = adxml_parse(docs[i].doc, docs[i].len);
		check_invariants(r);
		assert_int_equal(r->outcome, ADXML_MALFORMED);
		adxml_result_free(r);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	unlink(path);
	assert_int_equal(st.st_size, 0);
}

/* The JSON writer: layout, escapes and UTF-8 repair. */
static void
test_json(void **state)
{
	struct json *j;
	char *out;
	size_t len;

	j = json_new(0);
	json_object_begin(j);
	json_kv_string(j, "s", "a\"b\\c\n\t\x01\x7f");
	json_kv_string(j, "n", NULL);
	json_kv_int(j, "i", -42);
	json_kv_bool(j, "t", 1);
	json_kv_bool(j, "f", 0);
	json_kv_null(j, "z");
	json_key(j, "a");
	json_array_begin(j);
	json_array_end(j);
	json_key(j, "o");
	json_object_begin(j);
	json_object_end(j);
	json_key(j, "u");
	json_str(j, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	json_key(j, "bad");
	json_str(j, "\xff\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82");
	json_key(j, "nul");
	json_strn(j, "a\0b", 3);
	json_object_end(j);
	out = json_finish(j, &len);
	assert_string_equal(out,
	    "{\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\",\"n\":null,"
	    "\"i\":-42,\"t\":true,\"f\":false,\"z\":null,\"a\":[],\"o\":{},"
	    "\"u\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\","
	    "\"bad\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\","
	    "\"nul\":\"a\\u0000b\"}");
	assert_int_equal(len, strlen(out));
	free(out);

	j = json_new(JSON_PRETTY);
	json_object_begin(j);
	json_kv_string(j, "k", "v");
	json_key(j, "l");
	json_array_begin(j);
	json_int(j, 1);
	json_int(j, 2);
	json_array_end(j);
	json_object_end(j);
	out = json_finish(j, NULL);
	assert_string_equal(out,
	    "{\n  \"k\": \"v\",\n  \"l\": [\n    1,\n    2\n  ]\n}\n");
	free(out);

	/* A writer dropped half-way frees cleanly. */
	j = json_new(0);
	json_object_begin(j);
	json_key(j, "x");
	json_free(j);
	json_free(NULL);
	adxml_result_free(NULL);
}

/* Quiet libxml2's globals at the end so leak checkers stay clean. */
static int
teardown(void **state)
{
	xmlCleanupParser();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_samples),
	    cmocka_unit_test(test_sample_details),
	    cmocka_unit_test(test_corpus_replay),
	    cmocka_unit_test(test_soap_request),
	    cmocka_unit_test(test_pox_request),
	    cmocka_unit_test(test_request_refuses),
	    cmocka_unit_test(test_too_large),
	    cmocka_unit_test(test_deep_nesting),
	    cmocka_unit_test(test_long_name),
	    cmocka_unit_test(test_prescan_limits),
	    cmocka_unit_test(test_prescan_lexing),
	    cmocka_unit_test(test_billion_laughs),
	    cmocka_unit_test(test_quadratic),
	    cmocka_unit_test(test_xxe_canary),
	    cmocka_unit_test(test_external_dtd_no_network),
	    cmocka_unit_test(test_foreign_namespaces),
	    cmocka_unit_test(test_setting_type_qname),
	    cmocka_unit_test(test_never_half_parsed),
	    cmocka_unit_test(test_notes_bounded),
	    cmocka_unit_test(test_odd_inputs),
	    cmocka_unit_test(test_no_stderr),
	    cmocka_unit_test(test_json),
	};

	xmlsafe_init();
	return cmocka_run_group_tests_name("adxml", tests, NULL, teardown);
}
