/*
 * certfile: owns reading a served certificate chain from a file: the
 * size cap, the refusal of private keys (PEM key blocks, PKCS#12), PEM
 * blocks in order, or one DER certificate. OpenSSL's errors stop here.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include "certfile.h"
#include "log.h"
#include "xmalloc.h"

/* Free a chain and set it to NULL. */
static void
certfile_drop(STACK_OF(X509) **chain)
{
	if (*chain != NULL)
		sk_X509_pop_free(*chain, X509_free);
	*chain = NULL;
}

/* Append a certificate (the chain takes the reference). */
static void
certfile_push(STACK_OF(X509) *chain, X509 *x)
{
	if (sk_X509_push(chain, x) <= 0)
		fatalx("sk_X509_push: out of memory");
}

/*
 * Whether the bytes hold a private key in any form phones' admins meet:
 * a PEM key block ("PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE
 * KEY", ...) anywhere, even malformed, or a PKCS#12 bundle (.pfx), which
 * carries the key by design. Nothing of the key is parsed.
 */
static int
certfile_has_key(const unsigned char *buf, size_t len)
{
	static const char marker[] = "PRIVATE KEY-----";
	const unsigned char *p = buf;
	PKCS12 *p12;

	if (memmem(buf, len, marker, sizeof marker - 1) != NULL)
		return 1;
	if (len > 0 && buf[0] == 0x30 &&
	    (p12 = d2i_PKCS12(NULL, &p, (long)len)) != NULL) {
		PKCS12_free(p12);
		return 1;
	}
	ERR_clear_error();
	return 0;
}

/* Whether a PEM block's label is a certificate's. */
static int
certfile_is_cert(const char *label)
{
	return strcmp(label, PEM_STRING_X509) == 0 ||
	    strcmp(label, PEM_STRING_X509_OLD) == 0 ||
	    strcmp(label, PEM_STRING_X509_TRUSTED) == 0;
}

/* Read PEM blocks in order into *chain; 0, or -1 with *cause. */
static int
certfile_pem(BIO *b, STACK_OF(X509) *chain, char **cause)
{
	char *label = NULL, *header = NULL;
	unsigned char *data = NULL;
	const unsigned char *p;
	long len = 0;
	X509 *x;
	int n = 0;

	while (PEM_read_bio(b, &label, &header, &data, &len) == 1) {
		n++;
		p = data;
		x = NULL;
		if (!certfile_is_cert(label))
			xasprintf(cause,
			    "block %d is a '%s', not a certificate", n, label);
		else if (sk_X509_num(chain) == CERTFILE_MAX_CERTS)
			xasprintf(cause, "more than %d certificates",
			    CERTFILE_MAX_CERTS);
		else if ((x = strcmp(label, PEM_STRING_X509_TRUSTED) == 0
		                 ? d2i_X509_AUX(NULL, &p, len)
		                 : d2i_X509(NULL, &p, len)) == NULL ||
		    p != data + len)
			xasprintf(cause,
			    "block %d is not a readable certificate", n);
		OPENSSL_free(label);
		OPENSSL_free(header);
		OPENSSL_clear_free(data, (size_t)len);
		if (*cause != NULL) {
			X509_free(x);
			return -1;
		}
		certfile_push(chain, x);
	}
	/* The normal end is "no start line"; anything else is malformed. */
	if (n > 0 &&
	    ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		xasprintf(cause, "malformed PEM after block %d", n);
		return -1;
	}
	return 0;
}

/*
 * Parse a chain from bytes: PEM blocks (leaf first, as served) or one DER
 * certificate. A private key anywhere refuses the whole file.
 */
enum certfile_status
certfile_parse(const unsigned char *buf, size_t len, STACK_OF(X509) **chain,
    char **cause)
{
	const unsigned char *p = buf;
	BIO *b;
	X509 *x;

	*chain = NULL;
	*cause = NULL;
	if (certfile_has_key(buf, len)) {
		*cause = xstrdup(
		    "it holds a private key, which is not read or shown; give the certificate chain alone (PEM certificates, leaf first), e.g. openssl pkcs12 -in FILE.pfx -nokeys -out chain.pem");
		return CERTFILE_PRIVATE_KEY;
	}
	if ((*chain = sk_X509_new_null()) == NULL)
		fatalx("sk_X509_new_null: out of memory");
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL)
		fatalx("BIO_new_mem_buf: out of memory");
	if (certfile_pem(b, *chain, cause) != 0) {
		BIO_free(b);
		goto fail;
	}
	BIO_free(b);
	if (sk_X509_num(*chain) == 0 && len > 0 &&
	    (x = d2i_X509(NULL, &p, (long)len)) != NULL) {
		if (p != buf + len) {
			X509_free(x);
			*cause = xstrdup("DER data follows the certificate");
			goto fail;
		}
		certfile_push(*chain, x);
	}
	ERR_clear_error();
	if (sk_X509_num(*chain) == 0) {
		*cause = xstrdup("no certificate in it (PEM or DER)");
		goto fail;
	}
	return CERTFILE_OK;

fail:
	ERR_clear_error();
	certfile_drop(chain);
	return CERTFILE_NOT_CHAIN;
}

/*
 * Read a chain file (at most CERTFILE_MAX_BYTES, a regular file). The
 * bytes are wiped before they are freed: they may hold a key.
 */
enum certfile_status
certfile_read(const char *path, STACK_OF(X509) **chain, char **cause)
{
	enum certfile_status st;
	struct stat sb;
	unsigned char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	*chain = NULL;
	*cause = NULL;
	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "cannot open it: %s", strerror(errno));
		return CERTFILE_UNREADABLE;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		*cause = xstrdup("not a regular file");
		return CERTFILE_UNREADABLE;
	}
	buf = xmalloc(CERTFILE_MAX_BYTES + 1);
	while (len <= CERTFILE_MAX_BYTES &&
	    (n = read(fd, buf + len, CERTFILE_MAX_BYTES + 1 - len)) != 0) {
		if (n < 0) {
			xasprintf(cause, "cannot read it: %s", strerror(errno));
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	if (*cause == NULL && len > CERTFILE_MAX_BYTES)
		xasprintf(cause,
		    "larger than %u bytes: not a certificate chain",
		    CERTFILE_MAX_BYTES);
	st = *cause != NULL ? CERTFILE_UNREADABLE
	                    : certfile_parse(buf, len, chain, cause);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return st;
}
