/* Sealing and committing a message through common/ (sealed_create, write,
 * commit: secretstream chunks, fsync of the file, rename, fsync of the
 * destination directory) against a bare crypto_secretstream encryption plus
 * write/fsync/rename of the same bytes written here (the comparison issue 2
 * sets the 1.3x target for), and against that bare path plus the fsync of
 * the destination directory that a commit requires (doc/ARCHITECTURE.md:
 * the store format) and the plain bare path leaves out. Runs interleave the three paths; medians are
 * printed. The store is new and opened for writing first, which creates its
 * fan-out directories, as any store has them after its first messages.
 * Usage: bench_seal DIR [RUNS_SMALL RUNS_LARGE] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include <sodium.h>
#include "config.h"
#include "sealed.h"

static double
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
pullmail_path(struct store *st, const unsigned char *msg, size_t len)
{
	double t0 = now_us();
	struct sealed_writer *w;
	struct token *t;
	struct storage_id id;
	/* Written as an MTA hands a body over: 64 KiB at most per call. */
	if (sealed_create(st, 1700000000, 1700000000 + 86400, &w, &t, &id))
		abort();
	for (size_t off = 0; off < len; off += 65535) {
		size_t n = len - off < 65535 ? len - off : 65535;
		if (sealed_write(w, msg + off, n))
			abort();
	}
	if (sealed_commit(w))
		abort();
	double dt = now_us() - t0;
	store_delete(st, &id);
	token_free(t);
	return dt;
}

/* dir_sync: also fsync the directory after the rename. */
static double
bare_path(const char *dir, const unsigned char *msg, size_t len,
    unsigned char *cipher, int dir_sync)
{
	double t0 = now_us();
	unsigned char key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	unsigned char hdr[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	crypto_secretstream_xchacha20poly1305_state state;
	crypto_secretstream_xchacha20poly1305_keygen(key);
	crypto_secretstream_xchacha20poly1305_init_push(&state, hdr, key);
	char tmp[512], dst[512];
	snprintf(tmp, sizeof tmp, "%s/bare.tmp", dir);
	snprintf(dst, sizeof dst, "%s/bare.obj", dir);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (fd < 0 || write(fd, hdr, sizeof hdr) != (ssize_t)sizeof hdr)
		abort();
	size_t off = 0;
	do {
		size_t n = len - off < 65536 ? len - off : 65536;
		int last = off + n == len;
		unsigned long long clen;
		crypto_secretstream_xchacha20poly1305_push(&state, cipher, &clen,
		    msg + off, n, NULL, 0,
		    last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
		if (write(fd, cipher, clen) != (ssize_t)clen)
			abort();
		off += n;
	} while (off < len);
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, dst) != 0)
		abort();
	if (dir_sync) {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY);
		if (dfd < 0 || fsync(dfd) != 0 || close(dfd) != 0)
			abort();
	}
	double dt = now_us() - t0;
	unlink(dst);
	return dt;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || sodium_init() < 0)
		return 2;
	int runs[2] = { argc > 2 ? atoi(argv[2]) : 200,
	    argc > 3 ? atoi(argv[3]) : 20 };
	size_t sizes[2] = { 10 * 1024, 10 * 1024 * 1024 };
	const char *names[2] = { "10 KiB", "10 MiB" };
	char *store_dir = g_strdup_printf("%s/store", argv[1]);
	char *bare_dir = g_strdup_printf("%s/bare", argv[1]);
	g_mkdir_with_parents(store_dir, 0750);
	g_mkdir_with_parents(bare_dir, 0750);
	struct config *cfg = config_defaults();
	g_free(cfg->store_dir);
	cfg->store_dir = store_dir;
	char *err;
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
	if (st == NULL) {
		fprintf(stderr, "bench_seal: %s\n", err);
		return 1;
	}
	unsigned char *cipher = malloc(65536 + 64);
	printf("bare: secretstream + write/fsync/rename (issue 2's comparison); "
	    "bare+dir: the same plus the\nfsync of the destination directory "
	    "that a commit does (doc/ARCHITECTURE.md); medians, us per message\n");
	printf("%-7s %5s %10s %7s %10s %7s %6s %-9s %10s %7s %6s %s\n",
	    "size", "runs", "pullmail", "MB/s", "bare", "MB/s", "ratio",
	    "<=1.30", "bare+dir", "MB/s", "ratio", "<=1.30");
	int ok = 1;
	for (int s = 0; s < 2; s++) {
		unsigned char *msg = malloc(sizes[s]);
		randombytes_buf(msg, sizes[s]);
		double *a = calloc(runs[s], sizeof *a), *b = calloc(runs[s], sizeof *b);
		double *c = calloc(runs[s], sizeof *c);
		for (int i = 0; i < runs[s]; i++) {
			a[i] = pullmail_path(st, msg, sizes[s]);
			b[i] = bare_path(bare_dir, msg, sizes[s], cipher, 0);
			c[i] = bare_path(bare_dir, msg, sizes[s], cipher, 1);
		}
		qsort(a, runs[s], sizeof *a, cmp_double);
		qsort(b, runs[s], sizeof *b, cmp_double);
		qsort(c, runs[s], sizeof *c, cmp_double);
		double ma = a[runs[s] / 2], mb = b[runs[s] / 2], mc = c[runs[s] / 2];
		double rb = ma / mb, rc = ma / mc;
		printf("%-7s %5d %10.0f %7.1f %10.0f %7.1f %6.2f %-9s %10.0f "
		    "%7.1f %6.2f %s\n", names[s], runs[s], ma, sizes[s] / ma, mb,
		    sizes[s] / mb, rb, rb <= 1.3 ? "met" : "NOT met", mc,
		    sizes[s] / mc, rc, rc <= 1.3 ? "met" : "NOT met");
		if (rb > 1.3)
			ok = 0;
		free(a);
		free(b);
		free(c);
		free(msg);
	}
	free(cipher);
	store_close(st);
	config_unref(cfg);
	g_free(bare_dir);
	return ok ? 0 : 3;
}
