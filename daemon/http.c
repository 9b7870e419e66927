/*
 * http: owns the one CURLM of the process, its sockets and timer on the
 * event loop, and the lifecycle of requests (submit, completion, cancel,
 * free). A request's fields and options are http_req.c's, what comes back
 * is http_resp.c's, URL checks are http_url.c's; together they are the
 * module http.h declares (struct http_req: http_private.h).
 *
 * The multi-socket pattern (curl's docs/examples/hiperfifo.c shape, with
 * its traps avoided — docs/style.md §3): the socket callback only records
 * which events to watch; the timer callback only (re)arms one libevent
 * timer and never calls libcurl (curl/curl#8282); readiness and the timer
 * event call curl_multi_socket_action and then http_check_done, which
 * removes finished handles (never from inside a libcurl callback) and only
 * then calls the user's done callback.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "http.h"
#include "http_private.h"
#include "log.h"
#include "loop.h"
#include "xmalloc.h"

/* One socket libcurl asked us to watch. */
struct http_sock {
	curl_socket_t fd;
	struct event *ev;
};

static CURLM *http_multi;
static struct event *http_timer;
/*
 * The connection cache only ever holds connections parked between the legs
 * of an NTLM exchange (FORBID_REUSE closes all others), one per transfer in
 * that state. It must hold as many as can run at once: a smaller cache
 * closes a parked connection for each new one, and those handshakes start
 * over forever. 4096 is the highest [daemon] concurrency.
 */
#define HTTP_MAX_PARKED 4096L

static TAILQ_HEAD(, http_req) http_reqs = TAILQ_HEAD_INITIALIZER(http_reqs);
static int http_in_curl; /* inside curl_multi_socket_action */

static void http_check_done(void);

/* Free a socket record (deferred: its event may be the running one). */
static void
http_sock_free(void *arg)
{
	struct http_sock *s = arg;

	event_free(s->ev);
	free(s);
}

/*
 * Let libcurl act on a socket (or its timeouts). A CURLMcode error leaves
 * every transfer in an unknown state (docs/style.md §3): that
 * is fatal to the multi, and the multi is the whole module.
 */
static void
http_socket_action(curl_socket_t fd, int action)
{
	CURLMcode mc;
	int running;

	http_in_curl++;
	mc = curl_multi_socket_action(http_multi, fd, action, &running);
	http_in_curl--;
	if (mc != CURLM_OK)
		fatalx("curl_multi_socket_action: %s", curl_multi_strerror(mc));
	http_check_done();
}

/* Readiness on a libcurl socket: hand it to libcurl, then drain. */
static void
http_event_cb(evutil_socket_t fd, short what, void *arg)
{
	int action = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	http_socket_action(fd, action);
}

/* The timer fired: let libcurl run its timeouts, then drain. */
static void
http_timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	http_socket_action(CURL_SOCKET_TIMEOUT, 0);
}

/*
 * CURLMOPT_TIMERFUNCTION: replace the single timer (-1 deletes it, 0 is a
 * valid "as soon as possible"). Never calls libcurl.
 */
static int
http_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	if (timeout_ms < 0) {
		evtimer_del(http_timer);
		return 0;
	}
	return loop_timer_ms(http_timer, (uint64_t)timeout_ms) != 0 ? -1 : 0;
}

/*
 * CURLMOPT_SOCKETFUNCTION: watch, change or forget a socket. A REMOVE for
 * a socket we never saw is a no-op; event_del always precedes event_assign;
 * records are keyed by socketp, never by the fd alone.
 */
static int
http_sock_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct http_sock *s = sockp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			event_del(s->ev);
			loop_defer(http_sock_free, s);
		}
		return 0;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		s->fd = fd;
		if ((s->ev = event_new(loop_base(), fd, 0, http_event_cb,
		         NULL)) == NULL)
			fatalx("event_new failed");
		curl_multi_assign(http_multi, fd, s);
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	event_del(s->ev);
	if (event_assign(s->ev, loop_base(), fd, kind, http_event_cb, NULL) !=
	        0 ||
	    event_add(s->ev, NULL) != 0)
		fatalx("cannot watch an HTTP socket");
	return 0;
}

/* Start libcurl and the multi handle on the loop (after loop_init). */
void
http_init(void)
{
	CURLcode c;

	if ((c = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK)
		fatalx("curl_global_init: %s", curl_easy_strerror(c));
	if ((http_multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	http_timer = evtimer_new(loop_base(), http_timer_event_cb, NULL);
	if (http_timer == NULL)
		fatalx("evtimer_new failed");
	if (curl_multi_setopt(http_multi, CURLMOPT_SOCKETFUNCTION,
	        http_sock_cb) != CURLM_OK ||
	    curl_multi_setopt(http_multi, CURLMOPT_TIMERFUNCTION,
	        http_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(http_multi, CURLMOPT_MAXCONNECTS,
	        HTTP_MAX_PARKED) != CURLM_OK)
		fatalx("curl_multi_setopt failed");
}

/*
 * Tear down the multi handle. Requests still running are cancelled (no
 * callback). The event base must still exist: libcurl calls the socket
 * callback during curl_multi_cleanup. Never call from a done callback.
 */
void
http_shutdown(void)
{
	struct http_req *req, *next;

	TAILQ_FOREACH_SAFE (req, &http_reqs, entry, next) {
		http_req_cancel(req);
	}
	if (http_multi != NULL)
		curl_multi_cleanup(http_multi);
	http_multi = NULL;
	if (http_timer != NULL)
		event_free(http_timer);
	http_timer = NULL;
	curl_global_cleanup();
}

/* Deferred delivery of a request that failed before reaching libcurl. */
static void
http_deliver_early(void *arg)
{
	struct http_req *req = arg;

	req->queued = 0;
	if (req->freed) {
		http_req_destroy(req);
		return;
	}
	if (req->state != HTTP_REQ_EARLY)
		return; /* cancelled meanwhile */
	TAILQ_REMOVE(&http_reqs, req, entry);
	req->state = HTTP_REQ_DONE;
	req->done(req, req->done_arg);
}

/* Fail a request before libcurl sees it; the callback comes later. */
static void
http_fail_early(struct http_req *req, enum http_status status)
{
	req->status = status;
	req->state = HTTP_REQ_EARLY;
	req->queued = 1;
	TAILQ_INSERT_TAIL(&http_reqs, req, entry);
	log_debug("%s %s: %s", req->method, req->url, req->error);
	loop_defer(http_deliver_early, req);
}

/*
 * Submit (once): the result arrives through done(req, arg) on a later loop
 * turn, never inside this call. A request whose URL is refused or whose
 * host is not pinned fails without any network access.
 */
void
http_req_submit(struct http_req *req, http_done_cb done, void *arg)
{
	enum http_status st;
	CURLcode c;
	CURLMcode mc;

	if (req->state != HTTP_REQ_NEW || http_multi == NULL)
		fatalx("request submitted twice or before http_init");
	req->done = done;
	req->done_arg = arg;
	if (strcmp(req->method, "GET") != 0 &&
	    strcmp(req->method, "POST") != 0) {
		xasprintf(&req->error, "method %s not supported", req->method);
		http_fail_early(req, HTTP_ERR_OTHER);
		return;
	}
	if ((st = http_req_check_url(req)) != HTTP_DONE) {
		http_fail_early(req, st);
		return;
	}
	if ((c = http_req_setup(req)) != CURLE_OK) {
		xasprintf(&req->error, "curl_easy_setopt: %s",
		    curl_easy_strerror(c));
		curl_easy_cleanup(req->easy);
		req->easy = NULL;
		http_fail_early(req, HTTP_ERR_OTHER);
		return;
	}
	/* The request is complete before libcurl sees it. */
	req->state = HTTP_REQ_RUNNING;
	TAILQ_INSERT_TAIL(&http_reqs, req, entry);
	if ((mc = curl_multi_add_handle(http_multi, req->easy)) != CURLM_OK)
		fatalx("curl_multi_add_handle: %s", curl_multi_strerror(mc));
}

/*
 * Drain finished transfers: remove each handle (we are not inside a
 * libcurl callback here), then call its done callback. The callback may
 * free the request, cancel others or submit new ones: removing a handle
 * also drops its pending message, and nothing of msg is used after it.
 */
static void
http_check_done(void)
{
	struct http_req *req;
	CURLMsg *msg;
	CURLMcode mc;
	CURLcode result;
	int left;
	char *p;

	while ((msg = curl_multi_info_read(http_multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		result = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &p);
		req = (struct http_req *)(void *)p;
		http_resp_collect(req, result);
		mc = curl_multi_remove_handle(http_multi, req->easy);
		if (mc != CURLM_OK)
			fatalx("curl_multi_remove_handle: %s",
			    curl_multi_strerror(mc));
		curl_easy_cleanup(req->easy);
		req->easy = NULL;
		TAILQ_REMOVE(&http_reqs, req, entry);
		req->state = HTTP_REQ_DONE;
		log_debug("%s %s: %s, code %ld", req->method, req->url,
		    http_status_name(req->status), req->code);
		req->done(req, req->done_arg);
	}
}

/*
 * Cancel: no callback will follow. Safe in any state, from user code and
 * from done callbacks; not from the SSL_CTX hook (a libcurl callback).
 */
void
http_req_cancel(struct http_req *req)
{
	CURLMcode mc;

	if (req == NULL)
		return;
	if (req->state != HTTP_REQ_RUNNING && req->state != HTTP_REQ_EARLY)
		return;
	if (http_in_curl)
		fatalx("http_req_cancel inside a libcurl callback");
	if (req->easy != NULL) {
		mc = curl_multi_remove_handle(http_multi, req->easy);
		if (mc != CURLM_OK)
			fatalx("curl_multi_remove_handle: %s",
			    curl_multi_strerror(mc));
		curl_easy_cleanup(req->easy);
		req->easy = NULL;
	}
	TAILQ_REMOVE(&http_reqs, req, entry);
	req->state = HTTP_REQ_CANCELLED;
	req->status = HTTP_ERR_CANCELLED;
}

/*
 * Free a request, cancelling it if it runs; NULL is a no-op. Safe inside
 * the request's own done callback (nothing touches it afterwards).
 */
void
http_req_free(struct http_req *req)
{
	if (req == NULL)
		return;
	http_req_cancel(req);
	if (req->queued) {
		/* The queued early delivery frees it instead. */
		req->freed = 1;
		return;
	}
	http_req_destroy(req);
}
