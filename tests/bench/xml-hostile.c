/*
 * xml-hostile: the hostile-parse benchmark (issue 12 item 4). Builds
 * bodies made to hurt libxml2 2.9 — many attributes, many namespace
 * declarations, deep nesting, entity tricks, long names, many elements —
 * each just under the cap it is parsed under, hands each to the daemon's
 * own parsers (adxml_parse for Autodiscover, ews_parse_answer for EWS)
 * on this thread as the event loop would, and prints the worst time per
 * input over a few repetitions. Target: at most 50 ms per input.
 *
 *   build/tests/bench/xml-hostile [REPS]      (default 5)
 *
 * Exit status 0 when every input met the target, 1 otherwise.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adxml.h"
#include "ews.h"
#include "xmlsafe.h"

#define BENCH_CAP (1u << 20) /* the Autodiscover and EWS body caps */
#define BENCH_TARGET_MS 50.0

#define NS_SOAP "http://schemas.xmlsoap.org/soap/envelope/"
#define NS_AD "http://schemas.microsoft.com/exchange/2010/Autodiscover"
#define NS_POX \
	"http://schemas.microsoft.com/exchange/autodiscover/responseschema/" \
	"2006"

/* A growing body. */
struct body {
	char *buf;
	size_t len, cap;
};

/* Append printf output to b. */
static void __attribute__((format(printf, 2, 3)))
add(struct body *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)n + 64;
		if ((b->buf = realloc(b->buf, b->cap)) == NULL)
			abort();
	}
}

/* Repeat unit while the body, plus tail bytes, stays under the cap. */
static void
fill(struct body *b, const char *unit, size_t tail)
{
	size_t u = strlen(unit);

	while (b->len + u + tail < BENCH_CAP - 1)
		add(b, "%s", unit);
}

/* Repeat pre, a counter, post while the body stays under the cap. */
static void
fill_n(struct body *b, const char *pre, const char *post, size_t tail)
{
	char tmp[512];
	size_t i, n;

	for (i = 0;; i++) {
		n = (size_t)snprintf(tmp, sizeof tmp, "%s%zu%s", pre, i, post);
		if (b->len + n + tail >= BENCH_CAP - 1)
			break;
		add(b, "%s", tmp);
	}
}

/* Namespace declarations, one per element, each used once. */
static void
in_xmlns_nested(struct body *b)
{
	size_t i;

	add(b, "<Autodiscover xmlns=\"%s\">", NS_POX);
	for (i = 0; b->len < BENCH_CAP - 8192; i++)
		add(b, "<x xmlns:p%zu=\"u%zu\"><p%zu:y/></x>", i, i, i);
	add(b, "</Autodiscover>");
}

/* Nesting as deep as the cap allows, closed. */
static void
in_deep(struct body *b)
{
	size_t i, n = (BENCH_CAP - 64) / 7;

	for (i = 0; i < n; i++)
		add(b, "<a>");
	for (i = 0; i < n; i++)
		add(b, "</a>");
}

/* Nesting never closed. */
static void
in_deep_unclosed(struct body *b)
{
	fill(b, "<a>", 0);
}

/* Entities of ten entities each, nine levels deep. */
static void
in_billion_laughs(struct body *b)
{
	int i;

	add(b,
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
	    "<!ENTITY lol0 \"lol\">\n");
	for (i = 1; i <= 9; i++)
		add(b,
		    "<!ENTITY lol%d \"&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;"
		    "&lol%d;&lol%d;&lol%d;&lol%d;&lol%d;\">\n",
		    i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
		    i - 1, i - 1);
	add(b, "]>\n<lolz>&lol9;</lolz>\n");
}

/* One 60 KB entity referenced until the cap. */
static void
in_quadratic(struct body *b)
{
	size_t i;

	add(b, "<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY e \"");
	for (i = 0; i < 60000; i++)
		add(b, "x");
	add(b, "\">]>\n<a>");
	fill(b, "&e;", 8);
	add(b, "</a>");
}

/* References in one attribute value. */
static void
in_attr_refs(struct body *b)
{
	add(b, "<Autodiscover xmlns=\"%s\" a=\"", NS_POX);
	fill(b, "&amp;&#10;&#x20;", 8);
	add(b, "\"/>");
}

/* One element name of half a MiB. */
static void
in_long_name(struct body *b)
{
	size_t i, n = (BENCH_CAP - 16) / 2;

	add(b, "<");
	for (i = 0; i < n; i++)
		add(b, "n");
	add(b, "/>");
}

/* Many distinct names of 256 bytes. */
static void
in_long_names_many(struct body *b)
{
	char name[257];
	size_t i;

	add(b, "<Autodiscover xmlns=\"%s\">", NS_POX);
	memset(name, 'n', 256);
	name[256] = '\0';
	for (i = 0; b->len < BENCH_CAP - 1024; i++) {
		snprintf(name, 10, "n%08zx", i);
		name[9] = 'n';
		add(b, "<%s/>", name);
	}
	add(b, "</Autodiscover>");
}

/* The largest document the limits admit: every limit reached at once. */
static void
in_at_limits(struct body *b)
{
	size_t e, a, depth;

	add(b, "<soap:Envelope xmlns:soap=\"%s\" xmlns:a=\"%s\"", NS_SOAP,
	    NS_AD);
	for (a = 0; a < XMLSAFE_MAX_ATTRS - 2; a++)
		add(b, " xmlns:n%zu=\"urn:%zu\"", a, a);
	add(b, "><soap:Body>");
	for (depth = 0; depth < XMLSAFE_MAX_DEPTH - 4; depth++)
		add(b, "<a:d>");
	for (e = 0; e < XMLSAFE_MAX_ALL_ATTRS / XMLSAFE_MAX_ATTRS - 4 &&
	     b->len < BENCH_CAP - 65536;
	     e++) {
		add(b, "<a:e");
		for (a = 0; a < XMLSAFE_MAX_ATTRS; a++)
			add(b, " n%zu:a%zu=\"\"", a % 30, a);
		add(b, "/>");
	}
	for (; e < XMLSAFE_MAX_ITEMS - 200 && b->len < BENCH_CAP - 4096; e++)
		add(b,
		    "<a:f>xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx</a:f>");
	for (depth = 0; depth < XMLSAFE_MAX_DEPTH - 4; depth++)
		add(b, "</a:d>");
	add(b, "</soap:Body></soap:Envelope>");
}

/* A real Exchange 2016 SOAP answer (docs/protocol.md §1.3 shape). */
static void
in_real_soap(struct body *b)
{
	add(b,
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<s:Envelope xmlns:s=\"%s\" "
	    "xmlns:a=\"http://www.w3.org/2005/08/addressing\">"
	    "<s:Header><a:Action s:mustUnderstand=\"1\">"
	    "http://schemas.microsoft.com/exchange/2010/Autodiscover/"
	    "Autodiscover/GetUserSettingsResponse</a:Action>"
	    "<h:ServerVersionInfo xmlns:h=\"%s\" "
	    "xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">"
	    "<h:MajorVersion>15</h:MajorVersion><h:MinorVersion>1"
	    "</h:MinorVersion><h:MajorBuildNumber>2507</h:MajorBuildNumber>"
	    "<h:MinorBuildNumber>6</h:MinorBuildNumber><h:Version>"
	    "Exchange2015</h:Version></h:ServerVersionInfo></s:Header>"
	    "<s:Body><GetUserSettingsResponseMessage xmlns=\"%s\">"
	    "<Response xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">"
	    "<ErrorCode>NoError</ErrorCode><ErrorMessage/><UserResponses>"
	    "<UserResponse><ErrorCode>NoError</ErrorCode><ErrorMessage>No "
	    "error.</ErrorMessage><RedirectTarget i:nil=\"true\"/>"
	    "<UserSettingErrors/><UserSettings>"
	    "<UserSetting i:type=\"StringSetting\"><Name>InternalEwsUrl</Name>"
	    "<Value>https://mail.contoso.com/EWS/Exchange.asmx</Value>"
	    "</UserSetting><UserSetting i:type=\"StringSetting\"><Name>"
	    "ExternalEwsUrl</Name><Value>https://mail.contoso.com/EWS/"
	    "Exchange.asmx</Value></UserSetting></UserSettings></UserResponse>"
	    "</UserResponses></Response></GetUserSettingsResponseMessage>"
	    "</s:Body></s:Envelope>",
	    NS_SOAP, NS_AD, NS_AD);
}

/* One unit repeated inside an Autodiscover root, up to the cap. */
static void
in_repeated(struct body *b, const char *unit)
{
	add(b, "<Autodiscover xmlns=\"%s\">", NS_POX);
	fill(b, unit, 32);
	add(b, "</Autodiscover>");
}

/*
 * Attributes pre<n>post on one Autodiscover element up to the cap (extra:
 * a declaration for their prefix): libxml2 2.9 checks each attribute
 * against the earlier ones.
 */
static void
in_one_element(struct body *b, const char *extra, const char *pre,
    const char *post)
{
	add(b, "<Autodiscover xmlns=\"%s\"%s", NS_POX, extra);
	fill_n(b, pre, post, 3);
	add(b, "/>");
}

/*
 * One input: its name, and its builder, or the unit it repeats inside the
 * root, or the attributes it puts on the root.
 */
static const struct input {
	const char *name;
	void (*build)(struct body *);
	const char *unit;
	const char *pre, *post, *extra;
} inputs[] = {
    {"real SOAP answer", in_real_soap, NULL, NULL, NULL, NULL},
    {"attributes on one element", NULL, NULL, " a", "=\"\"", ""},
    {"xmlns declarations on one element", NULL, NULL, " xmlns:p", "=\"u\"", ""},
    {"xmlns declarations, one per element", in_xmlns_nested, NULL, NULL, NULL,
        NULL},
    {"prefixed attributes on one element", NULL, NULL, " p:a", "=\"\"",
        " xmlns:p=\"u\""},
    {"deep nesting (closed)", in_deep, NULL, NULL, NULL, NULL},
    {"deep nesting (unclosed)", in_deep_unclosed, NULL, NULL, NULL, NULL},
    {"billion laughs (DTD)", in_billion_laughs, NULL, NULL, NULL, NULL},
    {"quadratic blowup (DTD)", in_quadratic, NULL, NULL, NULL, NULL},
    {"character and entity references", NULL, "&#x10FFFF;&amp;&lt;", NULL, NULL,
        NULL},
    {"references in one attribute", in_attr_refs, NULL, NULL, NULL, NULL},
    {"one long name", in_long_name, NULL, NULL, NULL, NULL},
    {"many distinct long names", in_long_names_many, NULL, NULL, NULL, NULL},
    {"many empty elements", NULL, "<a/>", NULL, NULL, NULL},
    {"many comments", NULL, "<!---->", NULL, NULL, NULL},
    {"one long text", NULL, "text ", NULL, NULL, NULL},
    {"every limit reached at once", in_at_limits, NULL, NULL, NULL, NULL},
};

/* Milliseconds between two CLOCK_MONOTONIC readings. */
static double
ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/*
 * Parse as Autodiscover or EWS once; return the time the loop would be
 * busy in ms (wall clock, which on a busy machine includes waiting for a
 * core) and the thread's own CPU time in *cpu.
 */
static double
time_parse(const struct body *b, int ews, const char **verdict, double *cpu)
{
	static char reason[160];
	struct timespec t0, t1, c0, c1;
	struct adxml_result *r;
	struct ews_answer ans;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (ews) {
		ews_parse_answer(b->buf, b->len, &ans);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
		snprintf(reason, sizeof reason, "%s%s%s",
		    ews_outcome_name(ans.outcome),
		    ans.response_code != NULL ? " " : "",
		    ans.response_code != NULL ? ans.response_code : "");
		ews_answer_clear(&ans);
	} else {
		r = adxml_parse(b->buf, b->len);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
		snprintf(reason, sizeof reason, "%s%s%s",
		    r->reason != NULL ? r->reason
		                      : adxml_outcome_name(r->outcome),
		    r->reason != NULL && r->nnotes > 0 ? ": " : "",
		    r->reason != NULL && r->nnotes > 0 ? r->notes[0] : "");
		adxml_result_free(r);
	}
	*verdict = reason;
	*cpu = ms_between(&c0, &c1);
	return ms_between(&t0, &t1);
}

/*
 * Build every input, parse each REPS times both ways, print the table.
 * The target is judged on CPU time: the wall clock of a machine shared
 * with other work also counts the time the thread waited for a core.
 */
int
main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 5, i, ews, failed = 0;
	double worst, worst_cpu, t, cpu, overall = 0, overall_cpu = 0;
	const char *verdict = "";
	struct body b;
	size_t k;

	if (reps < 1)
		reps = 1;
	xmlsafe_init();
	printf("%-37s %8s %-6s %8s %8s  %s\n", "input", "bytes", "parser",
	    "wall ms", "cpu ms", "outcome");
	for (k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
		memset(&b, 0, sizeof b);
		if (inputs[k].build != NULL)
			inputs[k].build(&b);
		else if (inputs[k].unit != NULL)
			in_repeated(&b, inputs[k].unit);
		else
			in_one_element(&b, inputs[k].extra, inputs[k].pre,
			    inputs[k].post);
		for (ews = 0; ews < 2; ews++) {
			worst = worst_cpu = 0;
			for (i = 0; i < reps; i++) {
				t = time_parse(&b, ews, &verdict, &cpu);
				if (t > worst)
					worst = t;
				if (cpu > worst_cpu)
					worst_cpu = cpu;
			}
			if (worst > overall)
				overall = worst;
			if (worst_cpu > overall_cpu)
				overall_cpu = worst_cpu;
			if (worst_cpu > BENCH_TARGET_MS)
				failed = 1;
			printf("%-37s %8zu %-6s %8.2f %8.2f  %s\n",
			    inputs[k].name, b.len, ews ? "ews" : "adxml", worst,
			    worst_cpu, verdict);
		}
		free(b.buf);
	}
	printf("worst: %.2f ms CPU, %.2f ms wall (target: at most %.0f ms "
	       "CPU per input): %s\n",
	    overall_cpu, overall, BENCH_TARGET_MS, failed ? "NOT met" : "met");
	return failed;
}
