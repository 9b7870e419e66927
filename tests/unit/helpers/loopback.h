/*
 * loopback.h: for the unit tests that need a TCP port on 127.0.0.1 — a
 * listener on an ephemeral port (close it at once for a port nothing
 * listens on). Header-only.
 */
#ifndef EWSPROBED_TEST_LOOPBACK_H
#define EWSPROBED_TEST_LOOPBACK_H

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* A listening TCP socket on 127.0.0.1, ephemeral port (*port). */
static int
loopback_listen(int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		abort();
	*port = ntohs(sin.sin_port);
	return fd;
}

#endif
