/*
 * runstat.c: run a command and write what it cost, for `make bench`.
 *
 *   runstat OUT CMD [ARG...]
 *
 * Runs CMD (its standard streams are ours) and writes one line to OUT:
 * "WALL_S CPU_S MAXRSS_KB STATUS", where CPU_S is user + system time and
 * MAXRSS_KB the peak resident set size (getrusage of the child, the number
 * /usr/bin/time -v prints). CPU time is what bench.sh compares: on a
 * machine shared with other work it moves much less than wall time.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double secs(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status;
	pid_t pid;
	FILE *out;

	if (argc < 3) {
		fputs("usage: runstat OUT CMD [ARG...]\n", stderr);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("runstat: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "runstat: unable to run '%s': %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("runstat: wait4");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	out = fopen(argv[1], "w");
	if (!out) {
		fprintf(stderr, "runstat: unable to write '%s': %s\n", argv[1], strerror(errno));
		return 2;
	}
	fprintf(out, "%.4f %.4f %ld %d\n",
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		secs(ru.ru_utime) + secs(ru.ru_stime), ru.ru_maxrss,
		WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	fclose(out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
