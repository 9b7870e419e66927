/*
 * admin: owns the shared runtime of the admin commands (check-cert,
 * anchors): the configuration as a command reads it, the trust sets of the
 * selected profiles and the system store (built as the probe builds them),
 * one bounded live run on the event loop that learns each profile's Front
 * End issuer (frontend.c) and, when asked, captures the chain a host
 * presents to each profile's own handshake (tlscapture, as the EWS
 * probe does), and the one way these commands print text from outside.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "admin.h"
#include "dns.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "tlscapture.h"
#include "run.h"
#include "textsafe.h"
#include "xmalloc.h"

/* A live run ends after this many step timeouts whatever happens. */
#define ADMIN_DEADLINE_STEPS 3

struct admin;

/* One live task of a run: a Front End learning or a host handshake. */
struct admin_task {
	struct admin *a;
	struct admin_profile *ap;
	struct frontend *fe;
	struct dns_lookup *lookup;
	struct http_req *req;
	struct tlscapture *cap;
	int done;
};

struct admin {
	struct config *cfg; /* a reference */
	struct trustset *system;
	struct admin_profile *profiles;
	size_t nprofiles;
	struct admin_task *tasks; /* 2 per profile: learning, handshake */
	char *servers; /* the daemon's DNS servers, or NULL */
	char *host; /* admin_run's host, or NULL */
	int port;
	size_t pending;
	struct event *deadline;
};

/*
 * Read the configuration as a command does: everything checked as for
 * -n, but a credential that only systemd's LoadCredential= provides is
 * not needed (nothing here signs in). Print every error; 0 or -1.
 */
int
admin_config(const char *path, struct config **cfgp)
{
	char *errors = NULL;

	if (config_load_flags(path, CONFIG_LOAD_CHECK, cfgp, &errors) == 0)
		return 0;
	fprintf(stderr, "%s%s: configuration invalid\n", errors, path);
	free(errors);
	return -1;
}

/* Whether profile p is used by a mailbox of cfg. */
static int
admin_used(const struct config *cfg, const struct config_profile *p)
{
	size_t i, k;

	for (i = 0; i < cfg->nmailboxes; i++) {
		for (k = 0; k < cfg->mailboxes[i]->nprofiles; k++) {
			if (cfg->mailboxes[i]->profiles[k] == p)
				return 1;
		}
	}
	return 0;
}

/* Add profile p to the command's profiles (once). */
static void
admin_add(struct admin *a, const struct config_profile *p)
{
	size_t i;

	for (i = 0; i < a->nprofiles; i++) {
		if (a->profiles[i].p == p)
			return;
	}
	a->profiles[a->nprofiles++].p = p;
}

/*
 * The command's profiles (the named ones, else every profile a mailbox
 * uses) with their phone sets, and the system set: built as the probe
 * builds them (trustset_new_*). NULL with *cause.
 */
struct admin *
admin_new(struct config *cfg, char **names, size_t nnames, char **cause)
{
	struct admin *a = xcalloc(1, sizeof *a);
	struct config_mailbox none;
	const struct config_profile *p;
	char *why = NULL;
	size_t i;

	memset(&none, 0, sizeof none);
	a->cfg = config_ref(cfg);
	a->profiles = xcalloc(cfg->nprofiles + 1, sizeof *a->profiles);
	for (i = 0; i < nnames; i++) {
		if ((p = config_profile_find(cfg, names[i])) == NULL) {
			xasprintf(cause, "no profile '%s' in %s", names[i],
			    cfg->path);
			goto fail;
		}
		admin_add(a, p);
	}
	for (i = 0; nnames == 0 && i < cfg->nprofiles; i++) {
		if (admin_used(cfg, cfg->profiles[i]))
			admin_add(a, cfg->profiles[i]);
	}
	a->tasks = xcalloc(2 * a->nprofiles + 1, sizeof *a->tasks);
	if ((a->system = trustset_new_system(cfg->system_store_file, &why)) ==
	    NULL) {
		xasprintf(cause, "system store: %s", why);
		goto fail;
	}
	for (i = 0; i < a->nprofiles; i++) {
		a->profiles[i].hs_reason = REASON_OK;
		a->profiles[i].phone =
		    trustset_new_phone(a->profiles[i].p, &why);
		if (a->profiles[i].phone == NULL) {
			xasprintf(cause, "profile %s: %s",
			    a->profiles[i].p->name, why);
			goto fail;
		}
	}
	/* The daemon's DNS servers: a mailbox without its own. */
	a->servers = run_dns_servers(cfg, &none);
	return a;

fail:
	free(why);
	admin_free(a);
	return NULL;
}

/* Free a task's live parts; a finished task keeps nothing live. */
static void
admin_task_clear(struct admin_task *t)
{
	if (t->fe != NULL)
		frontend_cancel(t->fe);
	if (t->lookup != NULL)
		dns_cancel(t->lookup);
	http_req_free(t->req);
	tlscapture_free(t->cap);
	t->fe = NULL;
	t->lookup = NULL;
	t->req = NULL;
	t->cap = NULL;
}

/* Free everything; NULL is a no-op. */
void
admin_free(struct admin *a)
{
	struct admin_profile *ap;
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; a->tasks != NULL && i < 2 * a->nprofiles; i++)
		admin_task_clear(&a->tasks[i]);
	for (i = 0; i < a->nprofiles; i++) {
		ap = &a->profiles[i];
		trustset_free(ap->phone);
		frontend_result_free(ap->fe);
		if (ap->chain != NULL)
			sk_X509_pop_free(ap->chain, X509_free);
		free(ap->address);
		free(ap->tls_version);
		free(ap->hs_error);
	}
	free(a->profiles);
	free(a->tasks);
	trustset_free(a->system);
	free(a->servers);
	free(a->host);
	config_unref(a->cfg);
	free(a);
}

/* How many profiles the command has. */
size_t
admin_nprofiles(const struct admin *a)
{
	return a->nprofiles;
}

/* Profile i of the command. */
struct admin_profile *
admin_profile(struct admin *a, size_t i)
{
	return &a->profiles[i];
}

/* The system set (what a domain PC trusts). */
const struct trustset *
admin_system(const struct admin *a)
{
	return a->system;
}

/* A task is over: stop the loop after the last one. */
static void
admin_task_done(struct admin_task *t)
{
	t->done = 1;
	if (--t->a->pending == 0)
		loop_exit();
}

/* The Front End issuer was learned, or not: keep the result. */
static void
admin_fe_cb(struct frontend_result *fr, void *arg)
{
	struct admin_task *t = arg;

	t->fe = NULL;
	t->ap->fe = fr;
	admin_task_done(t);
}

/* The handshake is over: keep the chain presented, or why there was none. */
static void
admin_http_cb(struct http_req *req, void *arg)
{
	struct admin_task *t = arg;
	struct admin_profile *ap = t->ap;
	STACK_OF(X509) *chain = tlscapture_chain(t->cap);
	const char *err = http_req_error(req);
	int i;

	if (http_req_address(req) != NULL)
		ap->address = xstrdup(http_req_address(req));
	if (tlscapture_tls_version(t->cap) != NULL)
		ap->tls_version = xstrdup(tlscapture_tls_version(t->cap));
	if (chain != NULL && sk_X509_num(chain) > 0) {
		if ((ap->chain = sk_X509_new_null()) == NULL)
			fatalx("sk_X509_new_null: out of memory");
		for (i = 0; i < sk_X509_num(chain); i++) {
			X509_up_ref(sk_X509_value(chain, i));
			if (sk_X509_push(ap->chain, sk_X509_value(chain, i)) <=
			    0)
				fatalx("sk_X509_push: out of memory");
		}
	} else {
		switch (http_req_status(req)) {
		case HTTP_ERR_CONNECT:
			ap->hs_reason = REASON_CONNECT_FAILED;
			break;
		case HTTP_ERR_CONNECT_TIMEOUT:
		case HTTP_ERR_TIMEOUT:
		case HTTP_ERR_STALLED:
			ap->hs_reason = REASON_TIMEOUT;
			break;
		case HTTP_ERR_TLS_VERSION:
			ap->hs_reason = REASON_TLS_VERSION_UNSUPPORTED;
			break;
		default:
			ap->hs_reason = REASON_TLS_HANDSHAKE_FAILED;
			break;
		}
		xasprintf(&ap->hs_error,
		    "no TLS handshake with %s port %d under profile %s (%s)",
		    t->a->host, t->a->port, ap->p->name,
		    err != NULL ? err : http_status_name(http_req_status(req)));
	}
	admin_task_done(t);
}

/* Open TLS to addr as the profile's handshake does, capturing the chain. */
static void
admin_connect(struct admin_task *t, const char *addr)
{
	struct admin *a = t->a;
	long ms = (long)a->cfg->timeout_ms;
	char *url;

	if (strchr(a->host, ':') != NULL)
		xasprintf(&url, "https://[%s]:%d/", a->host, a->port);
	else
		xasprintf(&url, "https://%s:%d/", a->host, a->port);
	t->req = http_req_new("GET", url);
	free(url);
	if (strchr(a->host, ':') != NULL) {
		xasprintf(&url, "[%s]", a->host);
		http_req_pin(t->req, url, a->port, addr);
		free(url);
	} else
		http_req_pin(t->req, a->host, a->port, addr);
	http_req_set_timeouts(t->req, ms, ms, 1, ms / 1000 > 0 ? ms / 1000 : 1);
	http_req_set_limits(t->req, 64u << 10, 64u << 10);
	/* A capture judges nothing: the chain is judged afterwards. */
	t->cap = tlscapture_new(t->ap->p, t->ap->phone, a->host, 0);
	http_req_set_verify(t->req, 0, 0);
	http_req_set_cafile(t->req, NULL);
	http_req_set_ssl_ctx(t->req, tlscapture_install, t->cap);
	http_req_submit(t->req, admin_http_cb, t);
}

/* The host's address: connect, or say why not. */
static void
admin_dns_cb(const struct dns_result *dr, void *arg)
{
	struct admin_task *t = arg;
	size_t i, pick = 0;

	t->lookup = NULL;
	if (dr->status != DNS_OK || dr->naddrs == 0) {
		t->ap->hs_reason = REASON_DNS_FAILED;
		xasprintf(&t->ap->hs_error, "the name %s does not resolve (%s)",
		    t->a->host, dns_status_name(dr->status));
		admin_task_done(t);
		return;
	}
	for (i = 0; i < dr->naddrs; i++) {
		if (dr->addrs[i].family == AF_INET) {
			pick = i;
			break;
		}
	}
	admin_connect(t, dr->addrs[pick].text);
}

/* Whether host is an IPv4 or IPv6 literal. */
static int
admin_is_ip(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

/* The deadline passed: whatever is still running is abandoned. */
static void
admin_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin *a = arg;
	struct admin_task *t;
	size_t i;

	for (i = 0; i < 2 * a->nprofiles; i++) {
		t = &a->tasks[i];
		if (t->a == NULL || t->done)
			continue;
		if (i % 2 == 1 && t->ap->hs_error == NULL) {
			t->ap->hs_reason = REASON_TIMEOUT;
			xasprintf(&t->ap->hs_error,
			    "no TLS handshake with %s port %d in time", a->host,
			    a->port);
		} else if (i % 2 == 0 && t->ap->fe == NULL) {
			t->ap->fe = xcalloc(1, sizeof *t->ap->fe);
			step_list_init(&t->ap->fe->steps);
			xasprintf(&t->ap->fe->error,
			    "no answer from the Lync pool %s in time",
			    t->ap->p->frontend_host);
		}
		admin_task_clear(t);
		t->done = 1;
	}
	a->pending = 0;
	loop_exit();
}

/* Start the live tasks of profile i. */
static void
admin_start(struct admin *a, size_t i)
{
	struct admin_profile *ap = &a->profiles[i];
	struct admin_task *t;

	if (ap->p->frontend_host != NULL) {
		t = &a->tasks[2 * i];
		t->a = a;
		t->ap = ap;
		a->pending++;
		t->fe = frontend_learn(ap->p, ap->phone, a->servers,
		    (long)a->cfg->timeout_ms, admin_fe_cb, t);
	}
	if (a->host == NULL)
		return;
	t = &a->tasks[2 * i + 1];
	t->a = a;
	t->ap = ap;
	a->pending++;
	if (admin_is_ip(a->host))
		admin_connect(t, a->host);
	else
		t->lookup =
		    dns_lookup_addr(a->host, a->servers, admin_dns_cb, t);
}

/*
 * The live run: learn each profile's Front End issuer (where it names a
 * pool) and, when host is given, capture the chain host:port presents to
 * each profile's handshake; all at once, on a loop of its own, within
 * ADMIN_DEADLINE_STEPS step timeouts.
 */
void
admin_run(struct admin *a, const char *host, int port)
{
	size_t i;

	free(a->host);
	a->host = host != NULL ? xstrdup(host) : NULL;
	a->port = port;
	loop_init();
	dns_init(0, 0);
	http_init();
	if ((a->deadline = evtimer_new(loop_base(), admin_deadline_cb, a)) ==
	    NULL)
		fatalx("evtimer_new: out of memory");
	loop_timer_ms(a->deadline,
	    ADMIN_DEADLINE_STEPS * a->cfg->timeout_ms + 1000);
	for (i = 0; i < a->nprofiles; i++)
		admin_start(a, i);
	if (a->pending > 0 && loop_run() != 0)
		fatalx("event loop failed");
	for (i = 0; i < 2 * a->nprofiles; i++)
		admin_task_clear(&a->tasks[i]);
	event_free(a->deadline);
	a->deadline = NULL;
	http_shutdown();
	dns_shutdown();
	loop_free();
}

/*
 * Split "host[:port]" or "[v6]:port" (port 443 by default). 0, or -1 when
 * it is not of that form. *host: caller frees.
 */
int
admin_split_host(const char *arg, char **host, int *port)
{
	const char *colon, *end;
	char *stop;
	long n;

	*host = NULL;
	*port = 443;
	if (arg[0] == '[') {
		if ((end = strchr(arg, ']')) == NULL || end == arg + 1)
			return -1;
		*host = xstrndup(arg + 1, (size_t)(end - arg - 1));
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			goto fail;
	} else if ((colon = strchr(arg, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL) {
		*host = xstrdup(arg); /* a bare IPv6 address */
		colon = NULL;
	} else
		*host = colon != NULL ? xstrndup(arg, (size_t)(colon - arg))
		                      : xstrdup(arg);
	if ((*host)[0] == '\0')
		goto fail;
	if (colon != NULL) {
		n = strtol(colon + 1, &stop, 10);
		if (colon[1] == '\0' || *stop != '\0' || n < 1 || n > 65535)
			goto fail;
		*port = (int)n;
	}
	if (!admin_is_ip(*host) && !dns_valid_hostname(*host))
		goto fail;
	return 0;

fail:
	free(*host);
	*host = NULL;
	return -1;
}

/* Print one line, indented, with everything formatted into it escaped. */
void
admin_vsay(int indent, const char *fmt, va_list ap)
{
	char *raw, *safe;

	xvasprintf(&raw, fmt, ap);
	safe = textsafe(raw);
	printf("%*s%s\n", indent, "", safe);
	free(safe);
	free(raw);
}

/* An error for the person at the shell: "ewsprobed: ...", escaped. */
void
admin_error(const char *fmt, ...)
{
	char *raw, *safe;
	va_list ap;

	va_start(ap, fmt);
	xvasprintf(&raw, fmt, ap);
	va_end(ap);
	safe = textsafe(raw);
	fprintf(stderr, "ewsprobed: %s\n", safe);
	free(safe);
	free(raw);
}

/* admin_vsay with arguments. */
void
admin_say(int indent, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	admin_vsay(indent, fmt, ap);
	va_end(ap);
}
