/*
 * tls-servers: for the unit tests that talk to real TLS servers on
 * loopback (test-hellorun, test-phonelook) — free ports, starting
 * gnutls-serv and openssl s_server with a chain and key from a directory,
 * waiting (bounded) until they listen, and stopping them. Each server dies
 * with the test process (PR_SET_PDEATHSIG). Header-only; include after
 * cmocka.h.
 */
#ifndef EWSPROBED_TEST_TLS_SERVERS_H
#define EWSPROBED_TEST_TLS_SERVERS_H

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

/* A free loopback port (bound then released for the server to take). */
static int
tls_free_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* 127.0.0.1:port */
static struct sockaddr_in
tls_loopback(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	return sin;
}

/* Is something accepting on port? */
static int
tls_listening(int port)
{
	struct sockaddr_in sin = tls_loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	ok = connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
	close(fd);
	return ok;
}

/* Start argv (a server on port) and wait (10 s at most) until it listens. */
static pid_t
tls_spawn(char *const argv[], int port)
{
	pid_t pid;
	int i, devnull;

	if ((pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	assert_true(pid > 0);
	for (i = 0; i < 500 && !tls_listening(port); i++)
		usleep(20000);
	if (!tls_listening(port))
		fail_msg("%s did not start listening on port %d", argv[0],
		    port);
	return pid;
}

/* Stop a server. */
static void
tls_reap(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* gnutls-serv with priority, serving dir/chain.pem and dir/key.pem. */
static pid_t
tls_gnutls(const char *dir, int port, const char *priority)
{
	char sport[16], prio[256], cert[512], key[512];
	char *argv[] = {"gnutls-serv", "-q", "-a", "--port", sport,
	    "--x509certfile", cert, "--x509keyfile", key, prio, NULL};

	snprintf(sport, sizeof sport, "%d", port);
	snprintf(prio, sizeof prio, "--priority=%s", priority);
	snprintf(cert, sizeof cert, "%s/chain.pem", dir);
	snprintf(key, sizeof key, "%s/key.pem", dir);
	return tls_spawn(argv, port);
}

/*
 * openssl s_server with ciphers, TLS 1.0 allowed; with sni set, the
 * default certificate is dir/default.pem and a client naming sni gets
 * dir/chain.pem.
 */
static pid_t
tls_s_server(const char *dir, int port, const char *ciphers, const char *sni)
{
	char acc[32], cert[512], key[512], cert2[512];
	char *argv[24];
	int n = 0;

	snprintf(acc, sizeof acc, "127.0.0.1:%d", port);
	snprintf(cert, sizeof cert, "%s/%s", dir,
	    sni != NULL ? "default.pem" : "chain.pem");
	snprintf(key, sizeof key, "%s/key.pem", dir);
	snprintf(cert2, sizeof cert2, "%s/chain.pem", dir);
	argv[n++] = "openssl";
	argv[n++] = "s_server";
	argv[n++] = "-quiet";
	argv[n++] = "-accept";
	argv[n++] = acc;
	argv[n++] = "-cert";
	argv[n++] = cert;
	argv[n++] = "-cert_chain";
	argv[n++] = cert;
	argv[n++] = "-key";
	argv[n++] = key;
	argv[n++] = "-cipher";
	argv[n++] = (char *)ciphers;
	argv[n++] = "-min_protocol";
	argv[n++] = "TLSv1";
	if (sni != NULL) {
		argv[n++] = "-servername";
		argv[n++] = (char *)sni;
		argv[n++] = "-cert2";
		argv[n++] = cert2;
		argv[n++] = "-key2";
		argv[n++] = key;
	}
	argv[n] = NULL;
	return tls_spawn(argv, port);
}

#endif
