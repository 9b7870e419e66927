/*
 * ctxnew: what one SSL_CTX_new()/SSL_CTX_free() pair costs in CPU time
 * with this machine's OpenSSL. libcurl 7.88 makes a new SSL_CTX for every
 * connection (two per probe); the floor client makes one for its whole
 * run. RESULTS.md uses this to explain part of the gap at concurrency 1.
 *
 *   cc -O2 tests/bench/ctxnew.c -o ctxnew -lssl -lcrypto && ./ctxnew
 */
#include <stdio.h>
#include <time.h>

#include <openssl/ssl.h>

#define ROUNDS 5000

/* CPU time of this process in nanoseconds. */
static double
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Time ROUNDS context creations (after one warm-up) and print the mean. */
int
main(void)
{
	double start;
	int i;

	SSL_CTX_free(SSL_CTX_new(TLS_client_method()));
	start = cpu_ns();
	for (i = 0; i < ROUNDS; i++)
		SSL_CTX_free(SSL_CTX_new(TLS_client_method()));
	printf("SSL_CTX_new + SSL_CTX_free: %.1f us CPU (mean of %d)\n",
	    (cpu_ns() - start) / ROUNDS / 1000.0, ROUNDS);
	return 0;
}
