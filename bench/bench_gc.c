/* gc benchmark: fills a store with N objects that are all live, runs
 * "pullmailctl gc" over it; fills a second store with N objects that are
 * all expired, runs gc again. For each run: objects examined per second
 * (wall clock of the pullmailctl process, the target), the CPU time it
 * used (user + system, from wait4: less sensitive to a busy machine than
 * the wall clock, and more than the wall clock when gc's workers run on
 * several CPUs) and its peak RSS (ru_maxrss). Objects are made through the
 * real sealing and commit path.
 *
 *   bench_gc PULLMAILCTL CONFIG_LIVE CONFIG_EXPIRED N */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "sealed.h"
#include "store.h"
#include "token.h"

#define DAY 86400
#define TARGET_RATE 50000.0
#define TARGET_RSS_KIB (16 * 1024)

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static int
fill(const char *conf, long n, bool expired, double *secs)
{
	struct config *cfg;
	struct store *st;
	struct timespec t0;
	char *err = NULL;
	char body[512];
	int64_t now = time(NULL);
	long i;

	cfg = config_load(conf, &err);
	if (cfg == NULL) {
		fprintf(stderr, "bench_gc: %s\n", err);
		return -1;
	}
	st = store_open(cfg, STORE_READ_WRITE, &err);
	if (st == NULL) {
		fprintf(stderr, "bench_gc: %s\n", err);
		return -1;
	}
	memset(body, 'x', sizeof(body));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		struct sealed_writer *w;
		struct token *t;
		struct storage_id id;

		if (sealed_create(st, expired ? now - 10 * DAY : now,
		    expired ? now - DAY : now + 30 * DAY, &w, &t, &id) !=
		    SEALED_OK || sealed_write(w, body, sizeof(body)) !=
		    SEALED_OK || sealed_commit(w) != SEALED_OK) {
			fprintf(stderr, "bench_gc: sealing object %ld failed: "
			    "%s\n", i, store_error(st));
			return -1;
		}
		token_free(t);
	}
	*secs = seconds_since(&t0);
	store_close(st);
	config_unref(cfg);
	return 0;
}

struct gc_run {
	double secs;
	double cpu_secs;
	long maxrss_kib;
	unsigned long examined;
	unsigned long removed;
};

/* Runs "ctl -c conf gc --json", reads its JSON counts. */
static int
run_gc(const char *ctl, const char *conf, struct gc_run *r)
{
	struct timespec t0;
	struct rusage ru;
	char out[4096], *p;
	size_t got = 0;
	int fds[2], status;
	ssize_t k;
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(ctl, ctl, "-c", conf, "gc", "--json", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while ((k = read(fds[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)k;
	close(fds[0]);
	out[got] = '\0';
	if (wait4(pid, &status, 0, &ru) < 0)
		return -1;
	r->secs = seconds_since(&t0);
	r->maxrss_kib = ru.ru_maxrss;
	r->cpu_secs = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_gc: pullmailctl gc failed (status %d): "
		    "%s\n", status, out);
		return -1;
	}
	p = strstr(out, "\"examined\": ");
	if (p == NULL)
		return -1;
	r->examined = strtoul(p + 12, NULL, 10);
	p = strstr(out, "\"removed\": ");
	if (p == NULL)
		return -1;
	r->removed = strtoul(p + 11, NULL, 10);
	return 0;
}

int
main(int argc, char **argv)
{
	struct gc_run live, dead;
	double fill_live, fill_dead, rate_live, rate_dead;
	long n;
	bool ok;

	if (argc != 5 || (n = atol(argv[4])) <= 0) {
		fprintf(stderr, "usage: bench_gc PULLMAILCTL CONFIG_LIVE "
		    "CONFIG_EXPIRED N\n");
		return EX_USAGE;
	}
	if (token_init() < 0)
		return EX_SOFTWARE;
	if (fill(argv[2], n, false, &fill_live) < 0 ||
	    fill(argv[3], n, true, &fill_dead) < 0)
		return EX_IOERR;
	if (run_gc(argv[1], argv[2], &live) < 0 ||
	    run_gc(argv[1], argv[3], &dead) < 0)
		return EX_SOFTWARE;
	if (live.examined != (unsigned long)n || live.removed != 0 ||
	    dead.examined != (unsigned long)n ||
	    dead.removed != (unsigned long)n) {
		fprintf(stderr, "bench_gc: wrong counts: live %lu/%lu, "
		    "expired %lu/%lu (examined/removed) for %ld objects\n",
		    live.examined, live.removed, dead.examined, dead.removed,
		    n);
		return EX_SOFTWARE;
	}
	rate_live = (double)live.examined / live.secs;
	rate_dead = (double)dead.examined / dead.secs;
	printf("filling: %ld live objects in %.1f s, %ld expired in %.1f s "
	    "(real seal + commit)\n", n, fill_live, n, fill_dead);
	printf("%-13s %9s %9s %9s %8s %12s %13s  %s\n", "gc over", "objects",
	    "removed", "seconds", "CPU s", "objects/s", "peak RSS KiB",
	    "targets");
	printf("%-13s %9lu %9lu %9.2f %8.2f %12.0f %13ld  %s\n", "none expired",
	    live.examined, live.removed, live.secs, live.cpu_secs, rate_live,
	    live.maxrss_kib, rate_live >= TARGET_RATE &&
	    live.maxrss_kib < TARGET_RSS_KIB ? "met" : "MISSED");
	printf("%-13s %9lu %9lu %9.2f %8.2f %12.0f %13ld  %s\n", "all expired",
	    dead.examined, dead.removed, dead.secs, dead.cpu_secs, rate_dead,
	    dead.maxrss_kib, rate_dead >= TARGET_RATE &&
	    dead.maxrss_kib < TARGET_RSS_KIB ? "met" : "MISSED");
	printf("targets: >= %.0f objects/s examined, peak RSS < %d KiB\n",
	    TARGET_RATE, TARGET_RSS_KIB);
	ok = rate_live >= TARGET_RATE && rate_dead >= TARGET_RATE &&
	    live.maxrss_kib < TARGET_RSS_KIB && dead.maxrss_kib < TARGET_RSS_KIB;
	return ok ? 0 : 1;
}
