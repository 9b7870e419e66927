/*
 * adpolicy: owns the walks of one discovery as phones and PCs make them —
 * each candidate's path bits, the verdicts of its connection under the
 * phones' policy and the PCs' (which walk goes on past it, each recorded as
 * a step), where phones left the walk — and the words of a discovery that
 * PCs complete and phones do not — and the phone's own hellos of the walk
 * (one per host and address, kept for the walk) with what they decide.
 * The handshake is tlscapture's, the raw hello phonelook's, the chain
 * verdict chain's, the certificate words explain's.
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "adpolicy.h"
#include "autodiscover.h"
#include "explain.h"
#include "xmalloc.h"

static void adpolicy_block_free(struct adpolicy_block *);

/* One phone's own hello of the walk: to "host addr port". */
struct adpolicy_seen {
	char *key;
	struct phonelook_result *r;
};

struct adpolicy_walk {
	struct adpolicy_params p;
	struct adpolicy_block **blocks; /* where phones left a path */
	size_t nblocks;
	int pc_block; /* that of the answer giving the URLs, or -1 */
	int others_answer[AUTODISCOVER_MAX_OTHERS]; /* first, or -1 */
	struct adpolicy_seen *seen; /* the phone's own hellos, answered */
	size_t nseen;
	struct phonelook *look; /* one in flight, or NULL */
	char *look_key; /* ... its key */
	adpolicy_look_cb look_cb;
	void *look_arg;
	struct phonelook_result *cur; /* the current candidate's, or NULL */
};

/* The walks of one discovery (p is copied; its sets are shared). */
struct adpolicy_walk *
adpolicy_walk_new(const struct adpolicy_params *p)
{
	struct adpolicy_walk *w = xcalloc(1, sizeof *w);
	size_t i;

	w->p = *p;
	if (w->p.nothers > AUTODISCOVER_MAX_OTHERS)
		w->p.nothers = AUTODISCOVER_MAX_OTHERS;
	w->pc_block = -1;
	for (i = 0; i < AUTODISCOVER_MAX_OTHERS; i++)
		w->others_answer[i] = -1;
	return w;
}

/* Free the walks; NULL is a no-op. */
void
adpolicy_walk_free(struct adpolicy_walk *w)
{
	if (w == NULL)
		return;
	while (w->nblocks > 0)
		adpolicy_block_free(w->blocks[--w->nblocks]);
	free(w->blocks);
	phonelook_cancel(w->look);
	free(w->look_key);
	while (w->nseen > 0) {
		w->nseen--;
		free(w->seen[w->nseen].key);
		phonelook_result_free(w->seen[w->nseen].r);
	}
	free(w->seen);
	free(w);
}

/* phonelook's callback: keep the answer, then let the request go. */
static void
adpolicy_look_done(struct phonelook_result *r, void *arg)
{
	struct adpolicy_walk *w = arg;

	w->look = NULL;
	w->seen = xreallocarray(w->seen, w->nseen + 1, sizeof *w->seen);
	w->seen[w->nseen].key = w->look_key;
	w->seen[w->nseen++].r = r;
	w->look_key = NULL;
	w->cur = r;
	w->look_cb(w->look_arg);
}

/*
 * Before a candidate's request to host:port at addr (numeric): the
 * phone's own hello there (phonelook: the profile's hello_*, no SNI for
 * lync-phone-edition), when the profile defines one. One per host and
 * address in a walk: a later candidate there (the POX fallback, a
 * redirect to the same host) uses the first one's answer, so a walk pays
 * at most one raw hello (two with the core-only one) per handshake it
 * makes. Returns 0 when a hello was sent: cb(arg) follows from the loop
 * (adpolicy_walk_free cancels it); -1 when the request goes on now.
 */
int
adpolicy_look(struct adpolicy_walk *w, const char *host, int port,
    const char *addr, adpolicy_look_cb cb, void *arg)
{
	struct phonelook_params lp;
	struct sockaddr_storage ss;
	char *key;
	size_t i;

	w->cur = NULL;
	memset(&lp, 0, sizeof lp);
	if (!w->p.profile->hello_enabled || w->p.phone == NULL ||
	    phonelook_sockaddr(addr, port, &ss, &lp.salen) != 0)
		return -1;
	xasprintf(&key, "%s %s %d", host, addr, port);
	for (i = 0; i < w->nseen; i++) {
		if (strcasecmp(w->seen[i].key, key) == 0) {
			w->cur = w->seen[i].r;
			free(key);
			return -1;
		}
	}
	lp.host = host;
	lp.port = port;
	lp.sa = (const struct sockaddr *)&ss;
	lp.profile = w->p.profile;
	lp.phone = w->p.phone;
	lp.system = w->p.system;
	lp.timeout_ms = w->p.timeout_ms > 0 ? w->p.timeout_ms : 10000;
	w->look_key = key;
	w->look_cb = cb;
	w->look_arg = arg;
	w->look = phonelook_start(&lp, adpolicy_look_done, w);
	return 0;
}

/*
 * Whether the phone's own hello (look, NULL: none) decides what phones
 * meet where the handshake with SNI got v (NULL: none): it got another
 * certificate than v's, or none and a failure (a reset, no suite in
 * common, a refused version, a time-out). A connection that could not
 * be made, or our own error, says nothing of the server's TLS: v decides.
 */
static int
adpolicy_look_decides(const struct phonelook_result *look,
    const struct chain_verdict *v)
{
	if (look == NULL || look->reason == REASON_CONNECT_FAILED ||
	    look->reason == REASON_INTERNAL)
		return 0;
	if (look->verdict != NULL)
		return v == NULL || !phonelook_same_leaf(look, v);
	return reason_failed(look->reason);
}

/*
 * Whether a verdict's reason lets phones go on (an unknown pool issuer is
 * EWS's unknown verdict, not a refusal).
 */
static int
adpolicy_phone_accepts(enum reason r)
{
	return r == REASON_OK || r == REASON_FRONTEND_UNKNOWN;
}

/*
 * Whether the phone's own hello shows phones fail at a candidate whatever
 * the handshake with SNI gets: no certificate (a reset, no suite), or one
 * phones refuse.
 */
static int
adpolicy_look_refuses(const struct phonelook_result *look)
{
	if (!adpolicy_look_decides(look, NULL))
		return 0;
	return look->verdict == NULL ||
	    !adpolicy_phone_accepts(look->verdict->reason);
}

/* The path of a first candidate: every walk reaches it. */
void
adpolicy_path_start(const struct adpolicy_walk *w, struct adpolicy_path *pa)
{
	pa->phone = pa->pc = 1;
	pa->others = (unsigned int)((1ull << w->p.nothers) - 1);
	pa->block = -1;
}

/* Whether the phones' or the PCs' walk reaches a candidate on pa. */
int
adpolicy_path_live(const struct adpolicy_path *pa)
{
	return pa->phone || pa->pc;
}

/*
 * Set up the TLS of a candidate's request to host: the phones' handshake
 * (the profile's TLS), enforcing — it goes on, and the request and its
 * credential with it, only when a policy whose walk reaches the candidate
 * on pa accepts the chain for host; the capture is returned (it must
 * outlive the request). pc_own: the PCs' own connection instead (libcurl's
 * TLS defaults, the chain and the name checked against the system store
 * in the handshake); NULL is returned.
 */
struct tlscapture *
adpolicy_tls(const struct adpolicy_walk *w, struct http_req *req,
    const char *host, const struct adpolicy_path *pa, int pc_own)
{
	struct tlscapture *cap;

	http_req_set_cafile(req, NULL);
	if (pc_own) {
		http_req_set_ssl_ctx(req, trustset_install, w->p.system);
		http_req_set_verify(req, 1, 1);
		return NULL;
	}
	cap = tlscapture_new(w->p.profile, w->p.phone, host, 1);
	/* Phones whose own hello fails here admit nothing (no credential). */
	tlscapture_admit(cap, pa->phone && !adpolicy_look_refuses(w->cur),
	    pa->pc ? w->p.system : NULL);
	http_req_set_verify(req, 0, 0);
	http_req_set_ssl_ctx(req, tlscapture_install, cap);
	return cap;
}

/* Free a block; NULL is a no-op. */
static void
adpolicy_block_free(struct adpolicy_block *b)
{
	if (b == NULL)
		return;
	free(b->url);
	free(b->host);
	free(b->tls_error);
	chain_verdict_free(b->verdict);
	free(b);
}

/*
 * Note a hop where phones leave pa while PCs go on: a block (v: the chain
 * the handshake with SNI got, owned; look: the phone's own hello when it
 * decided, borrowed from the walk).
 */
static void
adpolicy_block(struct adpolicy_walk *w, struct adpolicy_path *pa,
    enum reason cause, const char *url, const char *host, const char *err,
    struct chain_verdict *v, struct phonelook_result *look)
{
	struct adpolicy_block *b = xcalloc(1, sizeof *b);

	b->look = look;
	b->cause = cause;
	b->reason = reason_discovery(cause);
	b->url = xstrdup(url);
	b->host = xstrdup(host);
	b->tls_error = err != NULL ? xstrdup(err) : NULL;
	b->verdict = v;
	w->blocks = xreallocarray(w->blocks, w->nblocks + 1, sizeof *w->blocks);
	pa->block = (int)w->nblocks;
	w->blocks[w->nblocks++] = b;
}

/*
 * The same chain under the other profiles' phone anchors (one handshake,
 * several anchor sets): clear the bit of each whose phones refuse it.
 */
static void
adpolicy_others(const struct adpolicy_params *ap, STACK_OF(X509) *chain,
    const char *host, unsigned int *others)
{
	struct chain_verdict *v;
	size_t i;

	for (i = 0; i < ap->nothers; i++) {
		if (!(*others & (1u << i)))
			continue;
		v = chain_evaluate(ap->others[i], NULL, chain, host, time(NULL),
		    0);
		if (v->reason != REASON_OK &&
		    v->reason != REASON_FRONTEND_UNKNOWN)
			*others &= ~(1u << i);
		chain_verdict_free(v);
	}
}

/* Record the phone's own hello at a candidate as a step. */
static void
adpolicy_look_step(const struct adpolicy_params *ap,
    const struct phonelook_result *look, int reached, struct step_list *l)
{
	struct step *st;
	char *what = phonelook_summary(look);

	st = step_add(l, STEP_TLS, 2, "TLS hello as %s (%s)", ap->profile->name,
	    look->sent_sni ? "SNI" : "no SNI");
	step_set_str(&st->address, look->address);
	if (!reached)
		step_set(st, STEP_SKIP, NULL,
		    "phones never get here (their hello would get: %s)", what);
	else if (reason_failed(look->reason))
		step_set(st, STEP_FAIL, reason_name(look->reason), "%s", what);
	else if (look->reason != REASON_OK)
		step_set(st, STEP_WARN, reason_name(look->reason), "%s", what);
	else
		step_set(st, STEP_OK, NULL, "%s", what);
	free(what);
}

/*
 * Record the phones' verdict on the chain they get as a step: v, from
 * their own hello when look (another certificate than with SNI), or none
 * (v NULL: their hello got why).
 */
static void
adpolicy_phone_step(const struct adpolicy_params *ap,
    const struct chain_verdict *v, int look, enum reason why, int reached,
    int ok, struct step_list *l)
{
	struct step *st;

	st = step_add(l, STEP_TLS, 2, "certificate under %s (phones%s)",
	    ap->profile->name, look ? ", without SNI" : "");
	if (v == NULL)
		step_set(st, reached ? STEP_FAIL : STEP_SKIP,
		    reached ? reason_name(why) : NULL,
		    "%sphones get no certificate: their own hello got %s",
		    reached ? "" : "phones never get here (nor would they: ",
		    reason_name(why));
	else if (!reached)
		step_set(st, STEP_SKIP, NULL,
		    "phones never get here (they would %s it: %s)",
		    ok ? "accept" : "refuse", reason_name(v->reason));
	else if (v->reason == REASON_FRONTEND_UNKNOWN)
		step_set(st, STEP_SKIP, reason_name(v->reason),
		    "not judged: the Lync pool's issuer is not known; phones are taken to go on");
	else if (ok)
		step_set(st, STEP_OK, NULL, "phones accept it: chains to '%s'",
		    v->phone.anchor != NULL ? v->phone.anchor : "?");
	else
		step_set(st, STEP_FAIL, reason_name(v->reason),
		    "phones refuse it (%s): issued by '%s'%s%s",
		    reason_name(v->reason),
		    v->ncerts > 0 ? v->certs[0].issuer : "?",
		    v->phone.error_string != NULL ? "; " : "",
		    v->phone.error_string != NULL ? v->phone.error_string : "");
}

/* Record the PCs' verdict on a chain as a step. */
static void
adpolicy_pc_step(const struct chain_verdict *v, int reached, int ok,
    struct step_list *l)
{
	struct step *st;

	st = step_add(l, STEP_TLS, 2,
	    "certificate under the system store (PCs)");
	if (!reached)
		step_set(st, STEP_SKIP, NULL,
		    "PCs never get here (they would %s it)",
		    ok ? "accept" : "refuse");
	else
		explain_pc_step(st, v);
}

/*
 * This machine's OpenSSL could not make the phones' handshake (st, its
 * step) and their own hello decides (adpolicy_look_decides): phones go
 * on when it got a certificate they accept (a server with only the 3DES
 * or RC4 suites OpenSSL here lacks), else they stop with its reason. PCs,
 * if their walk reaches the candidate, connect again either way.
 */
static enum adpolicy_next
adpolicy_no_handshake_look(struct adpolicy_walk *w, const char *url,
    const char *err, struct adpolicy_path *pa, struct step *st)
{
	struct phonelook_result *look = w->cur;
	enum reason why =
	    look->verdict != NULL ? look->verdict->reason : look->reason;
	struct http_url u;

	pa->others = 0; /* their hello may differ: they walk on their own */
	if (!adpolicy_look_refuses(look)) {
		step_set(st, pa->phone ? STEP_OK : STEP_SKIP, NULL,
		    "%sOpenSSL here cannot make their handshake (%s), but their own hello got a certificate they accept",
		    pa->phone ? "" : "phones never get here; ", err);
		return pa->pc ? ADPOLICY_RETRY_PC : ADPOLICY_STOP;
	}
	if (pa->phone)
		step_set(st, STEP_FAIL, reason_name(why),
		    "phones cannot connect: their own hello got %s",
		    reason_name(why));
	else
		step_set(st, STEP_SKIP, reason_name(why),
		    "phones never get here (nor could they connect: %s)",
		    reason_name(why));
	if (pa->phone && pa->pc && http_url_split(url, &u) == NULL) {
		adpolicy_block(w, pa, why, url, u.host, err, NULL, look);
		http_url_clear(&u);
	}
	pa->phone = 0;
	return pa->pc ? ADPOLICY_RETRY_PC : ADPOLICY_STOP;
}

/*
 * Phones could not complete the handshake (no certificate was seen):
 * record it, or what their own hello got (adpolicy_no_handshake_look);
 * PCs, if their walk reaches the candidate, connect again.
 */
static enum adpolicy_next
adpolicy_no_handshake(struct adpolicy_walk *w, struct http_req *req,
    const char *url, struct adpolicy_path *pa, struct step_list *l)
{
	enum http_status hs = http_req_status(req);
	enum reason cause = hs == HTTP_ERR_TLS_VERSION
	    ? REASON_TLS_VERSION_UNSUPPORTED
	    : REASON_TLS_HANDSHAKE_FAILED;
	const char *err = http_req_error(req);
	struct http_url u;
	struct step *st;

	err = err != NULL ? err : http_status_name(hs);
	st = step_add(l, STEP_TLS, 2, "TLS as %s connects (phones)",
	    w->p.profile->name);
	/*
	 * Their own hello says more than OpenSSL's failure when it got a
	 * certificate, a reset or no suite in common; a refused version or
	 * a time-out is what OpenSSL's handshake said already.
	 */
	if (adpolicy_look_decides(w->cur, NULL) &&
	    (w->cur->verdict != NULL || w->cur->reason == REASON_TLS_RESET ||
	        w->cur->reason == REASON_TLS_NO_COMMON_SUITE))
		return adpolicy_no_handshake_look(w, url, err, pa, st);
	if (pa->phone)
		step_set(st, STEP_FAIL, reason_name(cause),
		    "phones cannot connect: %s", err);
	else
		step_set(st, STEP_SKIP, reason_name(cause),
		    "phones never get here (nor could they connect: %s)", err);
	if (pa->phone && pa->pc && http_url_split(url, &u) == NULL) {
		adpolicy_block(w, pa, cause, url, u.host, err, NULL, NULL);
		http_url_clear(&u);
	}
	pa->phone = 0;
	pa->others = 0; /* their TLS is the phones' */
	return pa->pc ? ADPOLICY_RETRY_PC : ADPOLICY_STOP;
}

/*
 * Judge a candidate's connection (req done, cap installed by adpolicy_tls
 * for host) under both policies: update its path pa (whose walks go on
 * past it, the other profiles' phones included), record the phones' and
 * the PCs' verdicts as steps, and note a block where phones leave while
 * PCs go on. Returns what the caller does next.
 */
enum adpolicy_next
adpolicy_judge(struct adpolicy_walk *w, struct http_req *req,
    struct tlscapture *cap, const char *host, struct adpolicy_path *pa,
    struct step_list *l)
{
	STACK_OF(X509) *chain = tlscapture_chain(cap);
	enum http_status hs = http_req_status(req);
	struct phonelook_result *look = w->cur;
	const struct chain_verdict *pv;
	struct chain_verdict *v;
	enum reason why;
	int phone_ok, pc_ok, was_phone = pa->phone, decides;

	if (look != NULL)
		adpolicy_look_step(&w->p, look, pa->phone, l);
	if (chain == NULL) {
		if (hs != HTTP_ERR_TLS_VERSION && hs != HTTP_ERR_TLS_HANDSHAKE)
			return ADPOLICY_READ; /* the same for both */
		return adpolicy_no_handshake(w, req, http_req_url(req), pa, l);
	}
	adpolicy_others(&w->p, chain, host, &pa->others);
	v = chain_evaluate(w->p.phone, w->p.system, chain, host, time(NULL), 0);
	/*
	 * What phones meet: the chain with SNI, unless their own hello got
	 * another (or none). Other profiles' phones then walk on their own:
	 * their hello may differ.
	 */
	decides = adpolicy_look_decides(look, v);
	pv = decides ? look->verdict : v;
	why = pv != NULL ? pv->reason : look->reason;
	if (decides)
		pa->others = 0;
	phone_ok = adpolicy_phone_accepts(why);
	pc_ok = v->system_trusted == 1;
	adpolicy_phone_step(&w->p, pv, decides, why, pa->phone, phone_ok, l);
	adpolicy_pc_step(v, pa->pc, pc_ok, l);
	pa->phone = pa->phone && phone_ok;
	pa->pc = pa->pc && pc_ok;
	if (was_phone && !phone_ok && pa->pc)
		adpolicy_block(w, pa, why, http_req_url(req), host, NULL, v,
		    decides ? look : NULL);
	else
		chain_verdict_free(v);
	return adpolicy_path_live(pa) ? ADPOLICY_READ : ADPOLICY_STOP;
}

/* Record how a PC's own connection (adpolicy_tls, pc_own) went on pa. */
void
adpolicy_pc_judge(struct http_req *req, struct adpolicy_path *pa,
    struct step_list *l)
{
	enum http_status hs = http_req_status(req);
	const char *v = http_req_tls_version(req);
	struct step *st;

	st = step_add(l, STEP_TLS, 2, "TLS as PCs connect (the system store)");
	if (hs == HTTP_DONE)
		step_set(st, STEP_OK, NULL,
		    "PCs connect over %s and accept the certificate",
		    v != NULL ? v : "TLS");
	else if (hs == HTTP_ERR_TLS_VERSION || hs == HTTP_ERR_TLS_HANDSHAKE ||
	    hs == HTTP_ERR_TLS_VERIFY) {
		step_set(st, STEP_FAIL, http_status_name(hs),
		    "PCs cannot connect either: %s",
		    http_req_error(req) != NULL ? http_req_error(req)
		                                : http_status_name(hs));
		pa->pc = 0;
	} else
		step_set(st, STEP_SKIP, NULL, "no TLS verdict: %s",
		    http_status_name(hs));
}

/* The TLS versions phones speak, in words: "TLS 1.0" or a range. */
static char *
adpolicy_versions(const struct config_profile *p)
{
	int lo = p->tls_min != 0 ? p->tls_min : CONFIG_TLS_1_0;
	int hi = p->tls_max != 0 ? p->tls_max : CONFIG_TLS_1_3;
	char *out;

	if (lo == hi)
		xasprintf(&out, "TLS 1.%d", hi - CONFIG_TLS_1_0);
	else
		xasprintf(&out, "TLS 1.%d to 1.%d", lo - CONFIG_TLS_1_0,
		    hi - CONFIG_TLS_1_0);
	return out;
}

/* Message and remedy when phones cannot complete the handshake. */
static void
adpolicy_explain_tls(const struct adpolicy_params *ap,
    const struct adpolicy_block *b, const char *head, char **message,
    char **remedy)
{
	char *versions = adpolicy_versions(ap->profile);

	if (b->cause == REASON_TLS_VERSION_UNSUPPORTED)
		xasprintf(message,
		    "%s: the server refuses %s, the version%s phones speak (%s); PCs connect with a later one. Phones log errorCode=%d (0x%08X)",
		    head, versions,
		    strchr(versions, ' ') != strrchr(versions, ' ') ? "s" : "",
		    b->tls_error != NULL ? b->tls_error : "?",
		    reason_wininet(b->reason), reason_hresult(b->reason));
	else
		xasprintf(message,
		    "%s: the TLS handshake phones make (%s, RSA key exchange with AES or 3DES) fails (%s); PCs connect. Phones log errorCode=%d (0x%08X)",
		    head, versions, b->tls_error != NULL ? b->tls_error : "?",
		    reason_wininet(b->reason), reason_hresult(b->reason));
	xasprintf(remedy,
	    "enable %s on the Autodiscover site %s (IIS SChannel settings or the load balancer's TLS profile), with the RSA key-exchange cipher suites phones offer (AES or 3DES with SHA-1) and an RSA certificate",
	    versions, b->host);
	free(versions);
}

/*
 * Message and remedy when the phone's own hello decided (phonelook's
 * words: without SNI, the host resets or answers with another
 * certificate; or no suite in common), the remedy on the host.
 */
static void
adpolicy_explain_look(const struct adpolicy_params *ap,
    const struct adpolicy_block *b, const char *head, char **message,
    char **remedy)
{
	char *fix = NULL;

	if (phonelook_explain(b->look, ap->phone, head, b->verdict, message,
	        &fix) == REASON_OK) {
		/* Cannot be (the look decided); say what is known. */
		xasprintf(message,
		    "%s: the phone's own hello got %s. Phones log errorCode=%d (0x%08X).",
		    head, reason_name(b->cause), reason_wininet(b->reason),
		    reason_hresult(b->reason));
	}
	xasprintf(remedy, "on the Autodiscover site %s: %s", b->host,
	    fix != NULL
	        ? fix
	        : "check its TLS settings for TLS 1.0 clients without SNI");
	free(fix);
}

/*
 * Explain a discovery PCs complete and phones do not (b: where phones
 * left it) for address: the message names the host, what phones met there
 * (the issuer as the certificate spells it and the anchors phones have,
 * or the TLS they speak) and the code they log; the remedy says what to
 * change on the Autodiscover site. Both strings: caller frees.
 */
void
adpolicy_explain(const struct adpolicy_params *ap,
    const struct adpolicy_block *b, const char *address, char **message,
    char **remedy)
{
	const char *fe = trustset_frontend_issuer(ap->phone);
	char *head, *msg = NULL, *fix = NULL, *generic;

	xasprintf(&head,
	    "phones cannot discover Exchange for %s: Autodiscover at %s",
	    address, b->url);
	if (b->look != NULL)
		adpolicy_explain_look(ap, b, head, &msg, &fix);
	else if (b->verdict == NULL)
		adpolicy_explain_tls(ap, b, head, &msg, &fix);
	else {
		explain_failure(b->verdict, ap->phone, head, &msg, &fix);
		if ((b->cause == REASON_CERT_UNTRUSTED_PHONE ||
		        b->cause == REASON_CERT_UNTRUSTED) &&
		    b->verdict->ncerts > 0) {
			free(fix);
			xasprintf(&fix,
			    "reissue the Autodiscover certificate of %s from %s%s%s (the CA of the Lync Front End pool's certificate), or publish its issuer '%s' for phones with New-CsWebTrustedCACertificate (then Set-CsWebServiceConfiguration -TrustedCACerts)",
			    b->host, fe != NULL ? "'" : "",
			    fe != NULL ? fe : "the pool's CA",
			    fe != NULL ? "'" : "", b->verdict->certs[0].issuer);
		} else {
			generic = fix;
			xasprintf(&fix, "on the Autodiscover site %s: %s",
			    b->host, generic != NULL ? generic : "check it");
			free(generic);
		}
	}
	/* explain's message ends with "Phones log errorCode=… ." */
	if (msg[strlen(msg) - 1] == '.')
		msg[strlen(msg) - 1] = '\0';
	xasprintf(message,
	    "%s during discovery, so they never learn an EWS URL (EWS is still checked at the URLs PCs found)",
	    msg);
	*remedy = fix;
	free(msg);
	free(head);
}

/*
 * Note an answer with EWS URLs (r->answers[idx]) that came on path pa:
 * the first of each other profile's phones; gives: it gives the result's
 * URLs (the block on its path is then the one that counts).
 */
void
adpolicy_answer(struct adpolicy_walk *w, const struct adpolicy_path *pa,
    size_t idx, int gives)
{
	size_t i;

	for (i = 0; i < w->p.nothers; i++) {
		if ((pa->others & (1u << i)) && w->others_answer[i] < 0)
			w->others_answer[i] = (int)idx;
	}
	if (gives)
		w->pc_block = pa->block;
}

/* Which other profiles' phones find the URLs r gives (their first answer). */
static void
adpolicy_others_found(const struct adpolicy_walk *w,
    struct autodiscover_result *r)
{
	const struct autodiscover_answer *a;
	size_t i;

	for (i = 0; r->found && i < w->p.nothers; i++) {
		if (w->others_answer[i] < 0)
			continue;
		a = &r->answers[w->others_answer[i]];
		if ((a->internal_ews_url == NULL) ==
		        (r->internal_ews_url == NULL) &&
		    (a->external_ews_url == NULL) ==
		        (r->external_ews_url == NULL) &&
		    (a->internal_ews_url == NULL ||
		        strcmp(a->internal_ews_url, r->internal_ews_url) ==
		            0) &&
		    (a->external_ews_url == NULL ||
		        strcmp(a->external_ews_url, r->external_ews_url) == 0))
			r->others_found |= 1u << i;
	}
}

/*
 * The phones' side of a finished walk for address (r): which other
 * profiles' phones find its URLs; found, or — when PCs found EWS and
 * phones did not — where phones left the walk (the block on the path to
 * the answer that gives the URLs), in words; its verdict moves to r.
 */
void
adpolicy_outcome(struct adpolicy_walk *w, const char *address,
    struct autodiscover_result *r)
{
	struct adpolicy_block *b = w->pc_block >= 0 ? w->blocks[w->pc_block]
	    : w->nblocks > 0                        ? w->blocks[0]
	                                            : NULL;

	adpolicy_others_found(w, r);
	if (r->phone_found || !r->found) {
		r->phone_reason = r->phone_found ? REASON_OK : r->reason;
		return;
	}
	if (b == NULL) {
		/* Phones passed every hop's TLS: cannot be; say so. */
		r->phone_reason = REASON_AUTODISCOVER_UNREACHABLE;
		xasprintf(&r->phone_message,
		    "phones cannot discover Exchange for %s, PCs can", address);
		return;
	}
	r->phone_reason = b->reason;
	adpolicy_explain(&w->p, b, address, &r->phone_message,
	    &r->phone_remedy);
	r->phone_url = xstrdup(b->url);
	/* The chain phones met: their own hello's, when it decided. */
	if (b->look != NULL) {
		r->phone_verdict = b->look->verdict;
		b->look->verdict = NULL;
	} else {
		r->phone_verdict = b->verdict;
		b->verdict = NULL;
	}
}
