/* The fs store and sealed messages: atomic writes, crash leftovers,
 * streaming iteration, start-up checks, keep, revoke, expiry. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <utime.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "config.h"
#include "sealed.h"
#include "store.h"
#include "tests/lib/check_main.h"

static char *dir;
static struct config *cfg;

static void
setup(void)
{
	ck_assert_int_eq(token_init(), 0);
	dir = g_dir_make_tmp("pullmail-test-store-XXXXXX", NULL);
	ck_assert_ptr_nonnull(dir);
	chmod(dir, 0750);
	cfg = config_defaults();
	g_free(cfg->store_dir);
	cfg->store_dir = g_strdup(dir);
	cfg->max_retention = 90 * 86400;
}

static void
teardown(void)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
	config_unref(cfg);
}

static int
count_files(const char *sub)
{
	char *cmd = g_strdup_printf("find '%s/%s' -type f 2>/dev/null | wc -l",
	    dir, sub);
	FILE *p = popen(cmd, "r");
	int n = -1;
	ck_assert_int_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	g_free(cmd);
	return n;
}

static int
count_iter(const struct storage_id *id, uint64_t size, void *ctx)
{
	(void)id;
	(void)size;
	(*(long *)ctx)++;
	return 0;
}

START_TEST(aborted_write_leaves_nothing)
{
	char *err = NULL;
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
	ck_assert_msg(st != NULL, "%s", err);
	struct sealed_writer *w;
	struct token *t;
	struct storage_id id;
	ck_assert_int_eq(sealed_create(st, 1000, 2000, &w, &t, &id), SEALED_OK);
	ck_assert_int_eq(sealed_write(w, "Subject: x\r\n\r\nbody\r\n", 20), SEALED_OK);
	sealed_abort(w);
	ck_assert_int_eq(count_files("."), 0);
	struct envelope_meta meta;
	ck_assert_int_eq(sealed_meta(st, &id, &meta), SEALED_NOT_FOUND);
	token_free(t);
	store_close(st);
}
END_TEST

START_TEST(killed_writer_leaves_tmp_only)
{
	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char *err;
		struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
		struct sealed_writer *w;
		struct token *t;
		struct storage_id id;
		if (st == NULL || sealed_create(st, 1000, 2000, &w, &t, &id))
			_exit(1);
		static char chunk[100000];
		memset(chunk, 'a', sizeof chunk);
		sealed_write(w, chunk, sizeof chunk);
		if (write(pipefd[1], "w", 1) != 1)
			_exit(1);
		for (;;)
			sealed_write(w, chunk, 10), pause();
	}
	char c;
	ck_assert_int_eq(read(pipefd[0], &c, 1), 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_int_eq(count_files("tmp"), 1);
	ck_assert_int_eq(count_files("."), 1);
	char *err;
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
	long n = 0;
	ck_assert_int_eq(store_iterate(st, count_iter, &n), STORE_OK);
	ck_assert_int_eq(n, 0);
	unsigned long removed;
	/* A young temporary file survives an age limit; max_age 0 removes. */
	ck_assert_int_eq(store_cleanup_tmp(st, 3600, &removed), STORE_OK);
	ck_assert_uint_eq(removed, 0);
	ck_assert_int_eq(store_cleanup_tmp(st, 0, &removed), STORE_OK);
	ck_assert_uint_eq(removed, 1);
	ck_assert_int_eq(count_files("."), 0);
	store_close(st);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

static long
maxrss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A temporary file whose writer died (its lock gone) is removed once it
 * has not been written for STORE_TMP_ORPHAN_AGE seconds, without waiting
 * for STORE_TMP_STALE_AGE; a live writer's file, however long unwritten,
 * stays, and its commit still succeeds. */
START_TEST(cleanup_removes_dead_writers_tmp)
{
	char *err;
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
	ck_assert_ptr_nonnull(st);
	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct store_writer *w;
		struct storage_id id = { .hex = "0123456789abcdef0123456789abcdef" };
		if (store_write_begin(st, &id, &w) != STORE_OK ||
		    store_write(w, "x", 1) != STORE_OK)
			_exit(1);
		if (write(pipefd[1], "w", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char c;
	ck_assert_int_eq(read(pipefd[0], &c, 1), 1);
	struct store_writer *live;
	struct storage_id lid = { .hex = "fedcba9876543210fedcba9876543210" };
	ck_assert_int_eq(store_write_begin(st, &lid, &live), STORE_OK);
	ck_assert_int_eq(store_write(live, "y", 1), STORE_OK);
	ck_assert_int_eq(count_files("tmp"), 2);
	/* Both unwritten for longer than the grace; the first writer dies. */
	struct utimbuf ut = { time(NULL) - STORE_TMP_ORPHAN_AGE - 5,
	    time(NULL) - STORE_TMP_ORPHAN_AGE - 5 };
	char *tmpdir = g_strdup_printf("%s/tmp", dir);
	GDir *d = g_dir_open(tmpdir, 0, NULL);
	const char *n;
	while ((n = g_dir_read_name(d)) != NULL) {
		char *path = g_strdup_printf("%s/tmp/%s", dir, n);
		ck_assert_int_eq(utime(path, &ut), 0);
		g_free(path);
	}
	g_dir_close(d);
	g_free(tmpdir);
	unsigned long removed;
	ck_assert_int_eq(store_count_tmp(st, STORE_TMP_STALE_AGE, &removed),
	    STORE_OK);
	ck_assert_uint_eq(removed, 0);    /* both writers alive */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_int_eq(store_count_tmp(st, STORE_TMP_STALE_AGE, &removed),
	    STORE_OK);
	ck_assert_uint_eq(removed, 1);
	ck_assert_int_eq(count_files("tmp"), 2);   /* a count removes nothing */
	ck_assert_int_eq(store_cleanup_tmp(st, STORE_TMP_STALE_AGE, &removed),
	    STORE_OK);
	ck_assert_uint_eq(removed, 1);
	ck_assert_int_eq(count_files("tmp"), 1);
	ck_assert_int_eq(store_write_commit(live), STORE_OK);
	ck_assert_int_eq(count_files("tmp"), 0);
	ck_assert_int_eq(store_delete(st, &lid), STORE_OK);
	store_close(st);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

/* A writer's store_open removes what a crashed writer left an hour or more
 * ago, and nothing younger (it may be a write in progress). */
START_TEST(open_removes_stale_tmp_only)
{
	char *err;
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
	ck_assert_ptr_nonnull(st);
	store_close(st);
	char *old = g_strdup_printf("%s/tmp/1.stale", dir);
	char *young = g_strdup_printf("%s/tmp/2.inprogress", dir);
	ck_assert(g_file_set_contents(old, "x", 1, NULL));
	ck_assert(g_file_set_contents(young, "x", 1, NULL));
	struct utimbuf ut = { time(NULL) - STORE_TMP_STALE_AGE - 60,
	    time(NULL) - STORE_TMP_STALE_AGE - 60 };
	ck_assert_int_eq(utime(old, &ut), 0);
	st = store_open(cfg, STORE_READ_ONLY, &err);
	store_close(st);
	ck_assert_int_eq(count_files("tmp"), 2);   /* readers touch nothing */
	st = store_open(cfg, STORE_READ_WRITE, &err);
	store_close(st);
	ck_assert(!g_file_test(old, G_FILE_TEST_EXISTS));
	ck_assert(g_file_test(young, G_FILE_TEST_EXISTS));
	g_free(old);
	g_free(young);
}
END_TEST

START_TEST(iterate_10000_bounded)
{
	char *err;
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
	/* Objects written through the store interface without fsync cost:
	 * iteration, not sealing, is under test here. */
	for (int i = 0; i < 10000; i++) {
		struct token *t = token_new();
		struct storage_id id;
		struct store_writer *w;
		token_storage_id(t, &id);
		token_free(t);
		ck_assert_int_eq(store_write_begin(st, &id, &w), STORE_OK);
		ck_assert_int_eq(store_write(w, "x", 1), STORE_OK);
		ck_assert_int_eq(store_write_commit(w), STORE_OK);
	}
	long before = maxrss_kb();
	long n = 0;
	ck_assert_int_eq(store_iterate(st, count_iter, &n), STORE_OK);
	ck_assert_int_eq(n, 10000);
	long grew = maxrss_kb() - before;
	long limit = 2048;
#ifdef __SANITIZE_ADDRESS__
	/* ASan quarantines freed memory instead of reusing it: each of the
	 * 256 fan-out directories' readdir buffers (32 KiB) stays resident. */
	limit += 256 * 32;
#endif
	ck_assert_msg(grew < limit, "iteration grew RSS by %ld KiB (limit %ld)",
	    grew, limit);
	store_close(st);
}
END_TEST

/* A writer that makes a new store (tmp/ did not exist) also makes the 256
 * fan-out directories, not group- or world-writable; a reader makes none. */
START_TEST(new_store_has_fanout_dirs)
{
	char *err = NULL;
	char *fan = g_strdup_printf("%s/00", dir);
	struct store *st = store_open(cfg, STORE_READ_ONLY, &err);
	ck_assert_ptr_nonnull(st);
	store_close(st);
	ck_assert(!g_file_test(fan, G_FILE_TEST_EXISTS));
	st = store_open(cfg, STORE_READ_WRITE, &err);
	ck_assert_msg(st != NULL, "%s", err);
	store_close(st);
	for (int i = 0; i < 256; i++) {
		char *p = g_strdup_printf("%s/%02x", dir, i);
		struct stat sb;
		ck_assert_msg(lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode),
		    "%s missing", p);
		ck_assert_int_eq(sb.st_mode & 0027, 0);
		g_free(p);
	}
	g_free(fan);
	/* On ext2/3/4, StoreDir is the top of a directory hierarchy (other
	 * file systems refuse or lack the flag). */
	struct statfs fs;
	ck_assert_int_eq(statfs(dir, &fs), 0);
	if (fs.f_type == EXT4_SUPER_MAGIC) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY);
		int flags = 0;
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(ioctl(fd, FS_IOC_GETFLAGS, &flags), 0);
		ck_assert_msg(flags & FS_TOPDIR_FL, "StoreDir flags %#x", flags);
		close(fd);
	}
}
END_TEST

/* A store whose fan-out directory is missing (made before they were all
 * created at once, or removed by hand) still commits into it. */
START_TEST(commit_recreates_missing_fanout)
{
	char *err = NULL;
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
	ck_assert_ptr_nonnull(st);
	struct token *t = token_new();
	struct storage_id id;
	token_storage_id(t, &id);
	token_free(t);
	char *fan = g_strdup_printf("%s/%.2s", dir, id.hex);
	ck_assert_int_eq(rmdir(fan), 0);
	struct store_writer *w;
	ck_assert_int_eq(store_write_begin(st, &id, &w), STORE_OK);
	ck_assert_int_eq(store_write(w, "abc", 3), STORE_OK);
	ck_assert_int_eq(store_write_commit(w), STORE_OK);
	unsigned char buf[8];
	size_t got;
	ck_assert_int_eq(store_read_head(st, &id, buf, sizeof buf, &got),
	    STORE_OK);
	ck_assert_uint_eq(got, 3);
	ck_assert(memcmp(buf, "abc", 3) == 0);
	ck_assert_int_eq(count_files("tmp"), 0);
	store_close(st);
	g_free(fan);
}
END_TEST

/* Writes in progress at once each get their own temporary file. */
START_TEST(concurrent_writes_distinct_tmp)
{
	enum { N = 50 };
	char *err = NULL;
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
	struct store_writer *w[N];
	struct storage_id id[N];
	for (int i = 0; i < N; i++) {
		struct token *t = token_new();
		token_storage_id(t, &id[i]);
		token_free(t);
		ck_assert_int_eq(store_write_begin(st, &id[i], &w[i]), STORE_OK);
		ck_assert_int_eq(store_write(w[i], &i, sizeof i), STORE_OK);
	}
	ck_assert_int_eq(count_files("tmp"), N);
	for (int i = 0; i < N; i++) {
		if (i % 2)
			store_write_abort(w[i]);
		else
			ck_assert_int_eq(store_write_commit(w[i]), STORE_OK);
	}
	ck_assert_int_eq(count_files("tmp"), 0);
	ck_assert_int_eq(count_files("."), N / 2);
	for (int i = 0; i < N; i += 2) {
		int v;
		size_t got;
		ck_assert_int_eq(store_read_head(st, &id[i], &v, sizeof v, &got),
		    STORE_OK);
		ck_assert_int_eq(v, i);
	}
	store_close(st);
}
END_TEST

struct scan_seen {
	GHashTable *ids;        /* hex -> head as written */
	int seen, wrong, deleted, parts_overlap;
	GHashTable *met;
	int delete_every;
};

static int
scan_cb(struct store_entry *e, const struct storage_id *id,
    const unsigned char *head, size_t len, enum store_status hs, void *ctx)
{
	struct scan_seen *s = ctx;
	const char *want = g_hash_table_lookup(s->ids, id->hex);
	uint64_t size = 0;

	s->seen++;
	if (g_hash_table_contains(s->met, id->hex))
		s->parts_overlap++;
	g_hash_table_add(s->met, g_strdup(id->hex));
	if (want == NULL || hs != STORE_OK ||
	    store_entry_size(e, &size) != STORE_OK || size != strlen(want) ||
	    len != (strlen(want) < 8 ? strlen(want) : 8) ||
	    memcmp(head, want, len) != 0)
		s->wrong++;
	if (s->delete_every && s->seen % s->delete_every == 0) {
		uint64_t after = 0;
		if (store_entry_delete(e) != STORE_OK)
			s->wrong++;
		else
			s->deleted++;
		/* The size stays known after the object went. */
		if (store_entry_size(e, &after) != STORE_OK || after != size)
			s->wrong++;
		/* A second delete finds nothing. */
		if (store_entry_delete(e) != STORE_NOT_FOUND)
			s->wrong++;
	}
	return 0;
}

/* store_scan meets every committed object once with its first bytes (fewer
 * for a short one) and its size; parts are disjoint and together cover the
 * store; an entry deletes its object; what is not a regular file named like
 * an object is skipped. */
START_TEST(scan_heads_sizes_parts_delete)
{
	char *err = NULL;
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
	GHashTable *ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    g_free);
	for (int i = 0; i < 300; i++) {
		struct token *t = token_new();
		struct storage_id id;
		struct store_writer *w;
		token_storage_id(t, &id);
		token_free(t);
		char *body = g_strdup_printf("%0*d", 1 + i % 20, i);
		ck_assert_int_eq(store_write_begin(st, &id, &w), STORE_OK);
		ck_assert_int_eq(store_write(w, body, strlen(body)), STORE_OK);
		ck_assert_int_eq(store_write_commit(w), STORE_OK);
		g_hash_table_insert(ids, g_strdup(id.hex), body);
	}
	/* Not objects: a directory, a symlink and a FIFO with object names,
	 * a file with a wrong suffix. */
	const char *odd = "0123456789abcdef0123456789abcdef";
	char *p = g_strdup_printf("%s/01/01%s.pull", dir, odd + 2);
	ck_assert_int_eq(mkdir(p, 0750), 0);
	g_free(p);
	p = g_strdup_printf("%s/02/02%s.pull", dir, odd + 2);
	ck_assert_int_eq(symlink("/etc/passwd", p), 0);
	g_free(p);
	p = g_strdup_printf("%s/03/03%s.pull", dir, odd + 2);
	ck_assert_int_eq(mkfifo(p, 0640), 0);
	g_free(p);
	p = g_strdup_printf("%s/04/04%s.tmp", dir, odd + 2);
	ck_assert(g_file_set_contents(p, "PULLMAIL", 8, NULL));
	g_free(p);

	struct scan_seen s = { .ids = ids, .met = g_hash_table_new_full(
	    g_str_hash, g_str_equal, g_free, NULL) };
	for (unsigned part = 0; part < 3; part++)
		ck_assert_int_eq(store_scan_part(st, part, 3, 8, scan_cb, &s),
		    STORE_OK);
	ck_assert_int_eq(s.seen, 300);
	ck_assert_int_eq(s.wrong, 0);
	ck_assert_int_eq(s.parts_overlap, 0);
	ck_assert_int_eq(store_scan_part(st, 3, 3, 8, scan_cb, &s),
	    STORE_BAD_CONFIG);

	g_hash_table_remove_all(s.met);
	s.seen = 0;
	s.delete_every = 3;
	ck_assert_int_eq(store_scan(st, 8, scan_cb, &s), STORE_OK);
	ck_assert_int_eq(s.seen, 300);
	ck_assert_int_eq(s.wrong, 0);
	ck_assert_int_eq(s.deleted, 100);
	long n = 0;
	ck_assert_int_eq(store_iterate(st, count_iter, &n), STORE_OK);
	ck_assert_int_eq(n, 200);
	g_hash_table_destroy(s.met);
	g_hash_table_destroy(ids);
	store_close(st);
}
END_TEST

/* On fs, store_entry_delete_batched deletes at once: done is called once,
 * before the call returns, with the object's size; a second one reports
 * STORE_NOT_FOUND with a reason. */
struct fs_batch {
	int done, ok, not_found, wrong;
	uint64_t size;
	char hex[STORAGE_ID_HEX_LEN + 1];
};

static void
fs_batch_done(const struct storage_id *id, uint64_t size, enum store_status s,
    const char *error, void *ctx)
{
	struct fs_batch *b = ctx;
	b->done++;
	if (strcmp(id->hex, b->hex) != 0 || size != b->size)
		b->wrong++;
	if (s == STORE_OK && error == NULL)
		b->ok++;
	else if (s == STORE_NOT_FOUND && error != NULL)
		b->not_found++;
	else
		b->wrong++;
}

static int
fs_batch_scan(struct store_entry *e, const struct storage_id *id,
    const unsigned char *head, size_t len, enum store_status hs, void *ctx)
{
	struct fs_batch *b = ctx;
	(void)head; (void)len; (void)hs;
	memcpy(b->hex, id->hex, sizeof b->hex);
	if (store_entry_size(e, &b->size) != STORE_OK)
		b->wrong++;
	int before = b->done;
	if (store_entry_delete_batched(e, id, fs_batch_done, b) != STORE_OK ||
	    b->done != before + 1)
		b->wrong++;
	if (store_entry_delete_batched(e, id, fs_batch_done, b) != STORE_OK ||
	    b->done != before + 2)
		b->wrong++;
	return 0;
}

START_TEST(fs_batched_delete_is_immediate)
{
	char *err = NULL;
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
	for (int i = 0; i < 5; i++) {
		struct token *t = token_new();
		struct storage_id id;
		struct store_writer *w;
		token_storage_id(t, &id);
		token_free(t);
		ck_assert_int_eq(store_write_begin(st, &id, &w), STORE_OK);
		ck_assert_int_eq(store_write(w, "PULLMAIL-12345", 9 + i),
		    STORE_OK);
		ck_assert_int_eq(store_write_commit(w), STORE_OK);
	}
	struct fs_batch b = { 0 };
	ck_assert_int_eq(store_scan(st, 8, fs_batch_scan, &b), STORE_OK);
	ck_assert_int_eq(b.done, 10);
	ck_assert_int_eq(b.ok, 5);
	ck_assert_int_eq(b.not_found, 5);
	ck_assert_int_eq(b.wrong, 0);
	long n = 0;
	ck_assert_int_eq(store_iterate(st, count_iter, &n), STORE_OK);
	ck_assert_int_eq(n, 0);
	store_close(st);
}
END_TEST

static int
scan_stop(struct store_entry *e, const struct storage_id *id,
    const unsigned char *head, size_t len, enum store_status hs, void *ctx)
{
	(void)e; (void)id; (void)head; (void)len; (void)hs;
	return ++*(int *)ctx == 5;
}

static int
scan_nothing(struct store_entry *e, const struct storage_id *id,
    const unsigned char *head, size_t len, enum store_status hs, void *ctx)
{
	(void)e; (void)id; (void)head; (void)len; (void)hs; (void)ctx;
	return 0;
}

/* A callback can stop the walk; reading heads does not move the access
 * time (gc, list and stats leave the objects as they found them). */
START_TEST(scan_stops_and_keeps_atime)
{
	char *err = NULL;
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
	struct storage_id id[10];
	for (int i = 0; i < 10; i++) {
		struct token *t = token_new();
		struct store_writer *w;
		token_storage_id(t, &id[i]);
		token_free(t);
		ck_assert_int_eq(store_write_begin(st, &id[i], &w), STORE_OK);
		ck_assert_int_eq(store_write(w, "PULLMAIL", 8), STORE_OK);
		ck_assert_int_eq(store_write_commit(w), STORE_OK);
	}
	int calls = 0;
	ck_assert_int_eq(store_scan(st, 8, scan_stop, &calls), STORE_STOP);
	ck_assert_int_eq(calls, 5);

	/* An access time before the modification time: relatime would
	 * update it on the next read. */
	char *p = g_strdup_printf("%s/%.2s/%s.pull", dir, id[0].hex, id[0].hex);
	struct stat sb;
	ck_assert_int_eq(stat(p, &sb), 0);
	struct timeval tv[2] = { { sb.st_mtime - 1000, 0 }, { sb.st_mtime, 0 } };
	ck_assert_int_eq(utimes(p, tv), 0);
	ck_assert_int_eq(store_scan(st, 8, scan_nothing, NULL), STORE_OK);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_eq(sb.st_atime, tv[0].tv_sec);
	g_free(p);
	store_close(st);
}
END_TEST

START_TEST(open_checks_storedir)
{
	char *err = NULL;
	char *missing = g_strdup_printf("%s/missing", dir);
	g_free(cfg->store_dir);
	cfg->store_dir = missing;
	ck_assert_ptr_null(store_open(cfg, STORE_READ_ONLY, &err));
	ck_assert_ptr_nonnull(strstr(err, "missing"));
	g_free(err);

	char *file = g_strdup_printf("%s/file", dir);
	g_file_set_contents(file, "x", 1, NULL);
	cfg->store_dir = file;
	ck_assert_ptr_null(store_open(cfg, STORE_READ_ONLY, &err));
	ck_assert_ptr_nonnull(strcasestr(err, "not a directory"));
	g_free(err);

	cfg->store_dir = dir;
	chmod(dir, 0777);
	ck_assert_ptr_null(store_open(cfg, STORE_READ_ONLY, &err));
	ck_assert_ptr_nonnull(strstr(err, "world-writable"));
	g_free(err);
	chmod(dir, 0750);
	cfg->store_dir = g_strdup(dir);
	g_free(missing);
	g_free(file);
}
END_TEST

START_TEST(sealed_lifecycle)
{
	char *err;
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
	const char msg[] = "From: a@example.org\r\nSubject: hello\r\n\r\nbody\r\n";
	int64_t created = 1700000000, expires = created + 30 * 86400;
	struct sealed_writer *w;
	struct token *t;
	struct storage_id id;
	ck_assert_int_eq(sealed_create(st, created, expires, &w, &t, &id), SEALED_OK);
	ck_assert_int_eq(sealed_write(w, msg, sizeof msg - 1), SEALED_OK);
	ck_assert_int_eq(sealed_commit(w), SEALED_OK);
	ck_assert_int_eq(count_files("tmp"), 0);

	struct envelope_meta meta;
	unsigned char *plain;
	size_t len;
	ck_assert_int_eq(sealed_open(st, t, cfg->max_retention, created + 10,
	    0, &meta, &plain, &len, NULL), SEALED_OK);
	ck_assert_uint_eq(len, sizeof msg - 1);
	ck_assert(memcmp(plain, msg, len) == 0);
	envelope_plain_free(plain, len);
	ck_assert_int_eq(sealed_open(st, t, cfg->max_retention, expires, 0,
	    &meta, &plain, &len, NULL), SEALED_EXPIRED);

	int64_t set;
	ck_assert_int_eq(sealed_keep(st, &id, expires + 14 * 86400,
	    cfg->max_retention, &set), SEALED_OK);
	ck_assert_int_eq(set, expires + 14 * 86400);
	ck_assert_int_eq(sealed_open(st, t, cfg->max_retention, expires, 0,
	    &meta, &plain, &len, NULL), SEALED_OK);
	envelope_plain_free(plain, len);
	ck_assert_int_eq(sealed_keep(st, &id, created + 1000 * 86400,
	    cfg->max_retention, &set), SEALED_OK);
	ck_assert_int_eq(set, created + cfg->max_retention);
	ck_assert(!sealed_gc_due(&meta, cfg->max_retention, created + 10));

	ck_assert_int_eq(sealed_revoke(st, &id, created + 20), SEALED_OK);
	ck_assert_int_eq(sealed_open(st, t, cfg->max_retention, created + 30, 0,
	    &meta, &plain, &len, NULL), SEALED_REVOKED);
	ck_assert_ptr_null(plain);
	/* The ciphertext is gone: only the metadata remains. */
	struct stat sb;
	char *path = g_strdup_printf("%s/%.2s/%s.pull", dir, id.hex, id.hex);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_size, ENVELOPE_META_SIZE);
	ck_assert_int_eq(sb.st_mode & 0777, 0640);
	g_free(path);
	ck_assert_int_eq(sealed_meta(st, &id, &meta), SEALED_OK);
	ck_assert(!sealed_gc_due(&meta, cfg->max_retention, created + 30));
	ck_assert(sealed_gc_due(&meta, cfg->max_retention,
	    created + cfg->max_retention));

	struct token *other = token_new();
	ck_assert_int_eq(sealed_open(st, other, cfg->max_retention, 0, 0, &meta,
	    &plain, &len, NULL), SEALED_NOT_FOUND);
	token_free(other);
	token_free(t);
	store_close(st);
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("store", "fs", &tc);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, aborted_write_leaves_nothing);
	tcase_add_test(tc, killed_writer_leaves_tmp_only);
	tcase_add_test(tc, open_removes_stale_tmp_only);
	tcase_add_test(tc, cleanup_removes_dead_writers_tmp);
	tcase_add_test(tc, iterate_10000_bounded);
	tcase_add_test(tc, open_checks_storedir);
	tcase_add_test(tc, new_store_has_fanout_dirs);
	tcase_add_test(tc, commit_recreates_missing_fanout);
	tcase_add_test(tc, concurrent_writes_distinct_tmp);
	tcase_add_test(tc, scan_heads_sizes_parts_delete);
	tcase_add_test(tc, scan_stops_and_keeps_atime);
	tcase_add_test(tc, fs_batched_delete_is_immediate);
	tcase_add_test(tc, sealed_lifecycle);
	return check_run(s);
}
