/*
 * Unit tests of afile: replacement, mode, and clean failure (old file kept,
 * no temporary left, a cause naming the step).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "afile.h"

/* Read a whole small file into buf; return its length or -1. */
static long
slurp(const char *path, char *buf, size_t size)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	if (fp == NULL)
		return -1;
	n = fread(buf, 1, size - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return (long)n;
}

/* Count the entries of a directory other than . and .. */
static int
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

/* A file is created, then replaced, with the requested mode. */
static void
test_write_replace(void **unused)
{
	char dir[] = "/tmp/afile-XXXXXX", path[256], buf[64];
	struct stat sb;
	char *cause = NULL;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/status.json", dir);
	assert_int_equal(afile_write(path, "first\n", 6, 0640, &cause), 0);
	assert_int_equal(slurp(path, buf, sizeof buf), 6);
	assert_string_equal(buf, "first\n");
	assert_int_equal(afile_write(path, "second\n", 7, 0640, &cause), 0);
	assert_string_equal((slurp(path, buf, sizeof buf), buf), "second\n");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	assert_int_equal(entries(dir), 1);
	unlink(path);
	rmdir(dir);
}

/* A write into a missing directory fails with a cause and leaves nothing. */
static void
test_failure_has_cause(void **unused)
{
	char *cause = NULL;

	assert_int_equal(afile_write("/nonexistent-dir/x/status.json", "x", 1,
	                     0644, &cause),
	    -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "create"));
	free(cause);
}

/* A failed rename (target is a non-empty directory) removes the temp. */
static void
test_failed_rename_cleans_up(void **unused)
{
	char dir[] = "/tmp/afile-XXXXXX", path[256], inner[300];
	char *cause = NULL;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/target", dir);
	snprintf(inner, sizeof inner, "%s/keep", path);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(mkdir(inner, 0755), 0);
	assert_int_equal(afile_write(path, "x", 1, 0644, &cause), -1);
	assert_non_null(strstr(cause, "rename"));
	free(cause);
	assert_int_equal(entries(dir), 1);
	rmdir(inner);
	rmdir(path);
	rmdir(dir);
}

/* Child: rewrite path forever, each version 256 KiB of one letter. */
static void
writer(const char *path)
{
	static char buf[256 * 1024 + 1];
	int i;

	for (i = 0;; i++) {
		memset(buf, 'a' + i % 26, sizeof buf - 1);
		buf[sizeof buf - 1] = '\n';
		if (afile_write(path, buf, sizeof buf, 0644, NULL) != 0)
			_exit(1);
	}
}

/*
 * SIGKILL at random moments of a rewrite loop: the file is always absent
 * (before the first rename) or one complete version, never torn.
 */
static void
test_sigkill_never_torn(void **unused)
{
	char dir[] = "/tmp/afile-XXXXXX", path[256];
	static char buf[256 * 1024 + 2];
	unsigned int seed = 42;
	FILE *fp;
	size_t n, i;
	pid_t pid;
	int k, seen = 0;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/status.json", dir);
	for (k = 0; k < 40; k++) {
		if ((pid = fork()) == 0)
			writer(path);
		/* The first version must exist (slow under valgrind). */
		for (i = 0; k == 0 && i < 1000 && access(path, F_OK) != 0; i++)
			usleep(10000);
		usleep(1000 + rand_r(&seed) % 20000);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		n = fread(buf, 1, sizeof buf, fp);
		fclose(fp);
		assert_int_equal(n, 256 * 1024 + 1);
		for (i = 1; i < n - 1; i++)
			assert_int_equal(buf[i], buf[0]);
		seen++;
	}
	assert_true(seen > 0);
	snprintf(buf, sizeof buf, "rm -rf '%s'", dir);
	assert_int_equal(system(buf), 0);
}

/*
 * Streamed: a document larger than stdio's buffer goes through the
 * stream and appears whole at commit; an abort leaves the old file and
 * no temporary.
 */
static void
test_stream(void **unused)
{
	char dir[] = "/tmp/afile-XXXXXX", path[256], *big, buf[64];
	struct afile *af;
	size_t i, n = 300000;
	long got;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/status.json", dir);
	assert_int_equal(afile_write(path, "old", 3, 0644, NULL), 0);
	assert_non_null(af = afile_open(path, 0644, NULL));
	for (i = 0; i < n; i++)
		fputc('a' + (int)(i % 26), afile_stream(af));
	/* Not visible before the commit. */
	assert_int_equal(slurp(path, buf, sizeof buf), 3);
	assert_int_equal(afile_commit(af, NULL), 0);
	big = malloc(n + 16);
	got = slurp(path, big, n + 16);
	assert_int_equal(got, (long)n);
	assert_int_equal(big[n - 1], 'a' + (int)((n - 1) % 26));
	free(big);
	assert_int_equal(entries(dir), 1);

	assert_non_null(af = afile_open(path, 0644, NULL));
	fputs("half", afile_stream(af));
	afile_abort(af);
	assert_int_equal(entries(dir), 1);
	assert_int_equal(slurp(path, buf, sizeof buf), sizeof buf - 1);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_replace),
	    cmocka_unit_test(test_failure_has_cause),
	    cmocka_unit_test(test_failed_rename_cleans_up),
	    cmocka_unit_test(test_sigkill_never_torn),
	    cmocka_unit_test(test_stream),
	};

	return cmocka_run_group_tests_name("afile", tests, NULL, NULL);
}
