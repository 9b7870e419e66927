/*
 * child.h: for the unit tests of paths that end the process (fatalx on a
 * broken invariant, log_oom): run a function in a forked child with its
 * stderr captured, and report how the child ended. Header-only.
 */
#ifndef EWSPROBED_TEST_CHILD_H
#define EWSPROBED_TEST_CHILD_H

#include <sys/wait.h>

#include <string.h>
#include <unistd.h>

/* The status a child reports when fn returned instead of ending it. */
#define CHILD_RETURNED 77

/*
 * Run fn(arg) in a child process; put what it wrote to stderr (at most
 * errlen - 1 bytes, NUL-terminated) in err. Returns its exit status,
 * CHILD_RETURNED if fn returned, or 128 + the signal that killed it.
 */
static int
child_run(void (*fn)(void *), void *arg, char *err, size_t errlen)
{
	char scratch[512];
	int fds[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		fn(arg);
		_exit(CHILD_RETURNED);
	}
	close(fds[1]);
	while (len + 1 < errlen &&
	    (n = read(fds[0], err + len, errlen - 1 - len)) > 0)
		len += (size_t)n;
	err[len] = '\0';
	/* Drain the rest so that a talkative child never blocks on the pipe. */
	while (read(fds[0], scratch, sizeof scratch) > 0)
		;
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

#endif
