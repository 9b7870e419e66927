/*
 * reason: owns the names of the reasons and the mapping to what the phone
 * would log. WinINet codes are INTERNET_ERROR_BASE (12000) plus an offset;
 * the HRESULT is 0x80070000 | code (docs/protocol.md §5).
 */
#include <stddef.h>

#include "reason.h"

static const struct {
	const char *name;
	int wininet;
	const char *wininet_name;
} reason_table[] = {
    [REASON_OK] = {"ok", 0, NULL},
    [REASON_DNS_FAILED] = {"dns_failed", 12007,
        "ERROR_INTERNET_NAME_NOT_RESOLVED"},
    /*
     * The resolver did not answer: unlike NXDOMAIN this says nothing about
     * the name, nor what a phone (perhaps asking other servers) logs.
     */
    [REASON_DNS_TIMEOUT] = {"dns_timeout", 0, NULL},
    [REASON_CONNECT_FAILED] = {"connect_failed", 12029,
        "ERROR_INTERNET_CANNOT_CONNECT"},
    [REASON_TIMEOUT] = {"timeout", 12002, "ERROR_INTERNET_TIMEOUT"},
    [REASON_TLS_HANDSHAKE_FAILED] = {"tls_handshake_failed", 12157,
        "ERROR_INTERNET_SECURITY_CHANNEL_ERROR"},
    [REASON_TLS_VERSION_UNSUPPORTED] = {"tls_version_unsupported", 12157,
        "ERROR_INTERNET_SECURITY_CHANNEL_ERROR"},
    /* The phone's own hello (phonelook.c, docs/phone-tls-client.md). */
    [REASON_TLS_NO_COMMON_SUITE] = {"tls_no_common_suite", 12157,
        "ERROR_INTERNET_SECURITY_CHANNEL_ERROR"},
    [REASON_TLS_RESET] = {"tls_reset", 12031,
        "ERROR_INTERNET_CONNECTION_RESET"},
    [REASON_CERT_UNTRUSTED_PHONE] = {"cert_untrusted_phone", 12045,
        "ERROR_INTERNET_INVALID_CA"},
    [REASON_CERT_UNTRUSTED] = {"cert_untrusted", 12045,
        "ERROR_INTERNET_INVALID_CA"},
    [REASON_CERT_EXPIRED] = {"cert_expired", 12037,
        "ERROR_INTERNET_SEC_CERT_DATE_INVALID"},
    [REASON_CERT_NOT_YET_VALID] = {"cert_not_yet_valid", 12037,
        "ERROR_INTERNET_SEC_CERT_DATE_INVALID"},
    [REASON_CERT_NAME_MISMATCH] = {"cert_name_mismatch", 12038,
        "ERROR_INTERNET_SEC_CERT_CN_INVALID"},
    [REASON_CERT_INVALID] = {"cert_invalid", 12169,
        "ERROR_INTERNET_SEC_INVALID_CERT"},
    [REASON_HTTP_ERROR] = {"http_error", 0, NULL},
    [REASON_AUTH_NTLM_NOT_OFFERED] = {"auth_ntlm_not_offered", 0, NULL},
    [REASON_AUTH_FAILED] = {"auth_failed", 0, NULL},
    [REASON_EWS_FAULT] = {"ews_fault", 0, NULL},
    [REASON_AUTODISCOVER_UNREACHABLE] = {"autodiscover_unreachable", 0, NULL},
    [REASON_AUTODISCOVER_ERROR] = {"autodiscover_error", 0, NULL},
    [REASON_AUTODISCOVER_NO_EWS_URL] = {"autodiscover_no_ews_url", 0, NULL},
    [REASON_AUTODISCOVER_MALFORMED] = {"autodiscover_malformed", 12152,
        "ERROR_HTTP_INVALID_SERVER_RESPONSE"},
    [REASON_REDIRECT_REJECTED] = {"redirect_rejected", 0, NULL},
    [REASON_REDIRECT_LOOP] = {"redirect_loop", 0, NULL},
    [REASON_FRONTEND_UNKNOWN] = {"frontend_unknown", 0, NULL},
    [REASON_RESPONSE_TOO_LARGE] = {"response_too_large", 12152,
        "ERROR_HTTP_INVALID_SERVER_RESPONSE"},
    [REASON_INTERNAL] = {"internal_error", 0, NULL},
    /* What phones log during discovery, before they know any EWS URL. */
    [REASON_AUTODISCOVER_CERT_UNTRUSTED_PHONE] =
        {"autodiscover_cert_untrusted_phone", 12045,
            "ERROR_INTERNET_INVALID_CA"},
    [REASON_AUTODISCOVER_CERT_EXPIRED] = {"autodiscover_cert_expired", 12037,
        "ERROR_INTERNET_SEC_CERT_DATE_INVALID"},
    [REASON_AUTODISCOVER_CERT_NAME_MISMATCH] =
        {"autodiscover_cert_name_mismatch", 12038,
            "ERROR_INTERNET_SEC_CERT_CN_INVALID"},
    [REASON_AUTODISCOVER_CERT_INVALID] = {"autodiscover_cert_invalid", 12169,
        "ERROR_INTERNET_SEC_INVALID_CERT"},
    [REASON_AUTODISCOVER_TLS_REFUSED] = {"autodiscover_tls_refused", 12157,
        "ERROR_INTERNET_SECURITY_CHANNEL_ERROR"},
    /* The phone's own hello (no SNI) was reset: phonelook.c. */
    [REASON_AUTODISCOVER_TLS_RESET] = {"autodiscover_tls_reset", 12031,
        "ERROR_INTERNET_CONNECTION_RESET"},
    /*
     * Phones that connect to the bad addresses log what those do: 12045
     * for a distrusted chain; any code for other failures, which the
     * message names (docs/addresses.md).
     */
    [REASON_CERT_UNTRUSTED_PHONE_SOME] = {"cert_untrusted_phone_some", 12045,
        "ERROR_INTERNET_INVALID_CA"},
    [REASON_ADDRESS_FAILED_SOME] = {"address_failed_some", 0, NULL},
    /*
     * Warnings: the phone logs nothing today. An expiring certificate
     * becomes cert_expired (12037) on its notAfter date.
     */
    [REASON_CERT_PHONE_RISK] = {"cert_phone_risk", 0, NULL},
    [REASON_CERT_EXPIRING] = {"cert_expiring", 0, NULL},
    [REASON_SIGNIN_NOT_ALLOWED] = {"signin_not_allowed", 0, NULL},
    [REASON_AAAA_UNREACHABLE] = {"aaaa_unreachable", 0, NULL},
    [REASON_TLS_SUITE_RISK] = {"tls_suite_risk", 0, NULL},
};

/* Whether r is a known reason. */
static int
reason_valid(enum reason r)
{
	return (size_t)r < sizeof reason_table / sizeof reason_table[0];
}

/* The reason's stable name. */
const char *
reason_name(enum reason r)
{
	return reason_valid(r) ? reason_table[r].name : "internal_error";
}

/* Whether r is a warning: phones work today, at the risk it names. */
int
reason_warning(enum reason r)
{
	return r == REASON_CERT_PHONE_RISK || r == REASON_CERT_EXPIRING ||
	    r == REASON_SIGNIN_NOT_ALLOWED || r == REASON_AAAA_UNREACHABLE ||
	    r == REASON_TLS_SUITE_RISK;
}

/* Whether r is a failure: neither ok nor a warning. */
int
reason_failed(enum reason r)
{
	return r != REASON_OK && !reason_warning(r);
}

/* The WinINet error code a phone would log, or 0. */
int
reason_wininet(enum reason r)
{
	return reason_valid(r) ? reason_table[r].wininet : 0;
}

/* The HRESULT of that WinINet code (0x8007xxxx), or 0. */
unsigned int
reason_hresult(enum reason r)
{
	int code = reason_wininet(r);

	return code == 0 ? 0 : 0x80070000u | (unsigned int)code;
}

/* The WinINet constant's name, or NULL. */
const char *
reason_wininet_name(enum reason r)
{
	return reason_valid(r) ? reason_table[r].wininet_name : NULL;
}

/*
 * The discovery reason for a TLS or certificate reason met at an
 * Autodiscover host (the same code a phone logs, named for discovery), or
 * REASON_AUTODISCOVER_UNREACHABLE for any other.
 */
enum reason
reason_discovery(enum reason r)
{
	switch (r) {
	case REASON_CERT_UNTRUSTED_PHONE:
	case REASON_CERT_UNTRUSTED:
		return REASON_AUTODISCOVER_CERT_UNTRUSTED_PHONE;
	case REASON_CERT_EXPIRED:
	case REASON_CERT_NOT_YET_VALID:
		return REASON_AUTODISCOVER_CERT_EXPIRED;
	case REASON_CERT_NAME_MISMATCH:
		return REASON_AUTODISCOVER_CERT_NAME_MISMATCH;
	case REASON_CERT_INVALID:
		return REASON_AUTODISCOVER_CERT_INVALID;
	case REASON_TLS_HANDSHAKE_FAILED:
	case REASON_TLS_VERSION_UNSUPPORTED:
	case REASON_TLS_NO_COMMON_SUITE:
		return REASON_AUTODISCOVER_TLS_REFUSED;
	case REASON_TLS_RESET:
		return REASON_AUTODISCOVER_TLS_RESET;
	default:
		return REASON_AUTODISCOVER_UNREACHABLE;
	}
}
