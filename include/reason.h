/*
 * reason: the closed set of reasons a probe result can carry (safe as a
 * metric label), each with what a Lync Phone Edition phone would log for
 * it: the WinINet error code and its HRESULT (docs/protocol.md §5).
 */
#ifndef EWSPROBED_REASON_H
#define EWSPROBED_REASON_H

enum reason {
	REASON_OK,
	REASON_DNS_FAILED, /* the name does not resolve (NXDOMAIN, ...) */
	REASON_DNS_TIMEOUT, /* the DNS servers did not answer in time */
	REASON_CONNECT_FAILED,
	REASON_TIMEOUT,
	REASON_TLS_HANDSHAKE_FAILED,
	REASON_TLS_VERSION_UNSUPPORTED,
	REASON_TLS_NO_COMMON_SUITE, /* the phone's hello: no suite in common */
	REASON_TLS_RESET, /* the phone's hello: reset, no answer */
	REASON_CERT_UNTRUSTED_PHONE,
	REASON_CERT_UNTRUSTED,
	REASON_CERT_EXPIRED,
	REASON_CERT_NOT_YET_VALID,
	REASON_CERT_NAME_MISMATCH,
	REASON_CERT_INVALID,
	REASON_HTTP_ERROR,
	REASON_AUTH_NTLM_NOT_OFFERED,
	REASON_AUTH_FAILED,
	REASON_EWS_FAULT,
	REASON_AUTODISCOVER_UNREACHABLE,
	REASON_AUTODISCOVER_ERROR,
	REASON_AUTODISCOVER_NO_EWS_URL,
	REASON_AUTODISCOVER_MALFORMED,
	REASON_REDIRECT_REJECTED,
	REASON_REDIRECT_LOOP,
	REASON_FRONTEND_UNKNOWN,
	REASON_RESPONSE_TOO_LARGE,
	REASON_INTERNAL,
	/* Some addresses of a name fail phones, others work (issue 15). */
	REASON_CERT_UNTRUSTED_PHONE_SOME,
	REASON_ADDRESS_FAILED_SOME,
	/*
	 * Discovery under the phone's policy: PCs find EWS, phones stop at
	 * an Autodiscover host's TLS (docs/discovery.md).
	 */
	REASON_AUTODISCOVER_CERT_UNTRUSTED_PHONE,
	REASON_AUTODISCOVER_CERT_EXPIRED,
	REASON_AUTODISCOVER_CERT_NAME_MISMATCH,
	REASON_AUTODISCOVER_CERT_INVALID,
	REASON_AUTODISCOVER_TLS_REFUSED,
	REASON_AUTODISCOVER_TLS_RESET, /* the phone's hello: reset */
	/* Warnings: phones work today, at a risk the reason names. */
	REASON_CERT_PHONE_RISK,
	REASON_CERT_EXPIRING,
	REASON_SIGNIN_NOT_ALLOWED,
	REASON_AAAA_UNREACHABLE, /* AAAA unreachable, IPv4 works */
	REASON_TLS_SUITE_RISK, /* only suites uncertain for phones accepted */
};

const char *reason_name(enum reason);
/* Whether the reason is a warning (phones work, at a named risk). */
int reason_warning(enum reason);
/* Whether the reason is a failure: neither ok nor a warning. */
int reason_failed(enum reason);
/* The WinINet code (e.g. 12045) or 0 when the phone logs none of those. */
int reason_wininet(enum reason);
/* The HRESULT (e.g. 0x80072F0D) for the WinINet code, or 0. */
unsigned int reason_hresult(enum reason);
/* The WinINet constant's name, or NULL. */
const char *reason_wininet_name(enum reason);
/* The discovery reason for what phones met at an Autodiscover host. */
enum reason reason_discovery(enum reason);

#endif
