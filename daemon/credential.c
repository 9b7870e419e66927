/*
 * credential: owns reading a password file and wiping what was read.
 *
 * A password is never in the configuration: a mailbox names a credential,
 * read from $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=) or from
 * an absolute path. The file must be private, as OpenBSD's
 * check_file_secrecy() wants it: no group or other bits, owned by root or
 * by us. It is checked through the descriptor that is read, so it cannot
 * change in between. The password itself never goes into a message, and
 * the buffer it was read into is wiped.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "credential.h"
#include "ewsprobed-build.h"
#include "xmalloc.h"

/*
 * The path of the credential ref, or NULL when ref is a name and
 * $CREDENTIALS_DIRECTORY is not set (or empty).
 */
static char *
credential_path(const char *ref)
{
	const char *dir;
	char *path;

	if (ref[0] == '/')
		return xstrdup(ref);
	if ((dir = getenv("CREDENTIALS_DIRECTORY")) == NULL || *dir == '\0')
		return NULL;
	xasprintf(&path, "%s/%s", dir, ref);
	return path;
}

/*
 * Open path without following a symbolic link and check that it is a
 * private regular file. Return the descriptor, or -1 with *error set.
 */
static int
credential_open(const char *path, char **error)
{
	struct stat sb;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		xasprintf(error, "%s: %s", path,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		xasprintf(error, "%s is not a regular file", path);
	else if ((sb.st_mode & 077) != 0)
		xasprintf(error,
		    "credential file %s is %s by group/other (mode %04o); chmod 600 it",
		    path, (sb.st_mode & 044) != 0 ? "readable" : "accessible",
		    (unsigned int)(sb.st_mode & 07777));
	else if (sb.st_uid != 0 && sb.st_uid != geteuid())
		xasprintf(error,
		    "credential file %s is owned by uid %u, not by root or uid %u",
		    path, (unsigned int)sb.st_uid, (unsigned int)geteuid());
	else
		return fd;
	close(fd);
	return -1;
}

/*
 * Read the password from fd into buf (size CREDENTIAL_MAX_PASSWORD + 4,
 * NUL-terminated) without its one final end of line. Return 0, or -1
 * with *error set.
 */
static int
credential_read_fd(int fd, const char *path, char *buf, size_t size,
    char **error)
{
	size_t len = 0;
	ssize_t n = 0;

	/*
	 * Read up to a password of the maximum length, a CR LF, and one byte
	 * more to see that there is more.
	 */
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (n < 0) {
		xasprintf(error, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* Strip one end of line: "\n" or "\r\n". */
	if (len <= CREDENTIAL_MAX_PASSWORD + 2 && len > 0 &&
	    buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	buf[len] = '\0';
	if (len > CREDENTIAL_MAX_PASSWORD)
		xasprintf(error, "%s is longer than %d bytes", path,
		    CREDENTIAL_MAX_PASSWORD);
	else if (len == 0)
		xasprintf(error, "%s is empty", path);
	else if (memchr(buf, '\0', len) != NULL)
		xasprintf(error, "%s contains a NUL byte", path);
	else if (memchr(buf, '\n', len) != NULL ||
	    memchr(buf, '\r', len) != NULL)
		xasprintf(error,
		    "%s has a line break (CR or LF) that is not its one final end of line; a password is one line",
		    path);
	else
		return 0;
	return -1;
}

/*
 * Whether the unit's user could read path as its owner: it owns it, or it
 * does not exist here (no unit installed: nothing to check against).
 */
static int
credential_service_owns(const char *path)
{
	const struct passwd *pw = getpwnam(EWSPROBED_USER);
	struct stat sb;

	return pw == NULL || (lstat(path, &sb) == 0 && sb.st_uid == pw->pw_uid);
}

/* Read the credential ref; see credential.h. */
int
credential_read(const char *ref, int check_only, char **password, char **error)
{
	char *path, buf[CREDENTIAL_MAX_PASSWORD + 4];
	int fd, r = -1;

	*password = NULL;
	*error = NULL;
	if (ref[0] == '/' && check_only && geteuid() == 0 &&
	    !credential_service_owns(ref)) {
		/* Root could read it; the service's user cannot. */
		xasprintf(error,
		    "%s: the service's user %s cannot read a file it does not own; chown it to %s, or put it in /etc/ewsprobed/credentials and give its credential name (credentials/password is credential = ewsprobed_password)",
		    ref, EWSPROBED_USER, EWSPROBED_USER);
		return -1;
	}
	if ((path = credential_path(ref)) == NULL) {
		/*
		 * -n outside the service: systemd gives the credential only
		 * to the running unit, so it cannot be read here. Say so.
		 */
		if (check_only)
			return 1;
		xasprintf(error,
		    "credential '%s' needs $CREDENTIALS_DIRECTORY (systemd LoadCredential=), which is not set; or give an absolute path to a 0600 file",
		    ref);
		return -1;
	}
	if ((fd = credential_open(path, error)) >= 0) {
		if ((r = credential_read_fd(fd, path, buf, sizeof buf,
		         error)) == 0)
			*password = xstrdup(buf);
		close(fd);
	}
	explicit_bzero(buf, sizeof buf);
	free(path);
	return r;
}
