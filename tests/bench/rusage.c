/*
 * rusage: runs one command and writes what it cost: its exit status, CPU
 * time (user + system, then each), peak resident set size and context
 * switches (voluntary, involuntary), from wait4().
 *
 *   rusage OUTFILE COMMAND [ARG...]
 *
 * tests/bench/run measures every client through it, not by waiting for the
 * client itself, because Linux records the resident size of the process
 * that called exec in the new program's ru_maxrss: a command started
 * directly by the (large) Python script would report at least the
 * script's size. This program is small, so what it reports is the
 * command's own peak.
 */
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Start the command, wait for it, write its cost to OUTFILE. */
int
main(int argc, char **argv)
{
	struct rusage ru;
	FILE *fp;
	pid_t pid;
	int status, code;

	if (argc < 3) {
		fprintf(stderr, "usage: rusage OUTFILE COMMAND [ARG...]\n");
		return 2;
	}
	if ((pid = fork()) == -1) {
		perror("rusage: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) == -1) {
		perror("rusage: wait4");
		return 1;
	}
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if ((fp = fopen(argv[1], "w")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	fprintf(fp,
	    "exit=%d cpu_ms=%.3f maxrss_kb=%ld user_ms=%.3f sys_ms=%.3f "
	    "nvcsw=%ld nivcsw=%ld\n",
	    code,
	    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	        (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3,
	    ru.ru_maxrss,
	    (double)ru.ru_utime.tv_sec * 1e3 +
	        (double)ru.ru_utime.tv_usec / 1e3,
	    (double)ru.ru_stime.tv_sec * 1e3 +
	        (double)ru.ru_stime.tv_usec / 1e3,
	    ru.ru_nvcsw, ru.ru_nivcsw);
	fclose(fp);
	return 0;
}
