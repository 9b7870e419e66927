/*
 * chain: the verdict on a presented certificate chain — would a Lync Phone
 * Edition phone trust this server (the phone set decides), would a PC (the
 * system set), and if not, exactly why — plus the findings that do not fail
 * a chain but put phones at risk. Pure: no network, no clock of its own.
 *
 * A verdict is plain data (no OpenSSL objects). Its structures stay public,
 * for reading only, because the verdict is evidence every reporter prints:
 * urlcheck, once, status, alert, scheduler and checkcert read its fields,
 * and an accessor per field would only restate them. Strings are owned by
 * the verdict; chain_verdict_free() releases everything. Reasons are the
 * daemon-wide enum reason (reason.h), which also maps each one to the
 * WinINet code and HRESULT a phone logs.
 */
#ifndef EWSPROBED_CHAIN_H
#define EWSPROBED_CHAIN_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "certinfo.h"
#include "reason.h"
#include "trustset.h"

/* At most this many presented certificates are judged; more fail. */
#define CHAIN_MAX_CERTS 16

/* Findings on a presented chain that do not fail it but put phones at risk. */
enum chain_finding_kind {
	CHAIN_FINDING_WILDCARD, /* "wildcard_name" */
	CHAIN_FINDING_EXTRA_INTERMEDIATES, /* "extra_intermediates" */
	CHAIN_FINDING_ROOT_SENT, /* "root_sent" */
	CHAIN_FINDING_SHA384_512, /* "sha384_512_signature" */
	CHAIN_FINDING_ECDSA, /* "ecdsa_key" */
	CHAIN_FINDING_RSA_PSS, /* "rsa_pss" */
	CHAIN_FINDING_LARGE_KEY, /* "rsa_key_over_2048" */
	CHAIN_FINDING_EXPIRING, /* "cert_expiring" */
};
#define CHAIN_FINDING_KINDS (CHAIN_FINDING_EXPIRING + 1)
#define CHAIN_FINDING_BIT(k) (1u << (k))

struct chain_finding {
	enum chain_finding_kind kind;
	int position; /* presented position (0 = leaf), -1: whole chain */
	char *detail; /* free text for humans (journal, JSON) */
};

/* The chain under one trust set. */
struct chain_check {
	int evaluated; /* 0: this set was not asked */
	int trusted; /* the chain reaches an anchor, signatures valid */
	int error; /* first X509_V_ERR_* met, X509_V_OK if none */
	const char *error_string; /* OpenSSL's words for it (static) */
	int error_depth; /* depth of that error in the built chain, or -1 */
	char *anchor; /* DN of the anchor reached, or NULL */
	char anchor_sha256[65];
	enum trustset_source anchor_source;
};

struct chain_verdict {
	enum reason reason; /* REASON_OK or a certificate reason */
	/*
	 * Whether the policy accepts the certificate for the host now: chain,
	 * dates, name, no defect (phone_trusted: reason ok). The chain alone
	 * is phone.trusted and system.trusted.
	 */
	int phone_trusted;
	int system_trusted; /* -1 when not evaluated */
	enum reason system_reason; /* the system set's verdict, as reason */
	struct chain_check phone;
	struct chain_check system;
	char *host; /* the name checked */
	time_t now; /* the time checked against */
	int issuer_position; /* the leaf's issuer among the presented, or -1 */
	int issuer_lookalike; /* a trusted CA has its name, not its key */
	int date_position; /* failing date: presented position; -1: anchor */
	char *date_subject; /* ... its subject, or NULL if dates are fine */
	time_t date_when; /* ... notAfter (expired) or notBefore */
	unsigned int findings; /* CHAIN_FINDING_BIT(kind) of each kind found */
	struct chain_finding *finding_list; /* in chain order */
	size_t nfindings;
	char *findings_text; /* "name (detail); ..." or NULL: for humans */
	struct certinfo *certs; /* the presented chain, always kept */
	/* Whose certs these are when shared (certinfo_chain_get), or NULL:
	 * then certs is the verdict's own array. */
	struct certinfo_chain *shared;
	size_t
	    ncerts; /* at most CHAIN_MAX_CERTS: longer fails (cert_invalid) */
	size_t npresented; /* how many the server sent */
};

const char *chain_finding_name(enum chain_finding_kind);
const char *chain_finding_fix(enum chain_finding_kind);
const char *chain_finding_risk(enum chain_finding_kind);

struct chain_verdict *
chain_evaluate(const struct trustset *, const struct trustset *,
    STACK_OF(X509) *, const char *, time_t, unsigned int);
void chain_verdict_free(struct chain_verdict *);
void chain_memo_flush(void);
void chain_memo_stats(size_t *, size_t *);
char *chain_risks_text(const struct chain_verdict *);

#endif
