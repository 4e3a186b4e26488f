/* Sealed pages on disk: round trips, every field the entry is bound to
 * (the object and the renderer's identity included), damaged and planted
 * entries, size limit, directory creation, forget, and the sweep (age,
 * budget, dead objects, leftovers); reading an object's header and status
 * from the fs store; what get, put, sweep and forget refuse (old or
 * hard-linked entries, a directory others may write, of another user or
 * given as a symbolic link). */
#define _GNU_SOURCE     /* memmem */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/sysmacros.h>   /* makedev */
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include "pagefile.h"
#include "store_fs_peek.h"
#include "store.h"
#include "token.h"
#include "tests/lib/check_main.h"

#define EXPIRES ((int64_t)1900000000)

static char *tmp;               /* removed by teardown */
static char *dir;               /* tmp/cache, the page directory */
static struct pagefile_scope sc;
static struct token *ta, *tb;
static struct storage_id ida, idb;

static const struct pagefile_request rq0 = { "", "a=1", "en", NULL };

static void
setup(void)
{
	ck_assert_int_eq(token_init(), 0);
	tmp = g_dir_make_tmp("pullmail-test-pagefile-XXXXXX", NULL);
	ck_assert_ptr_nonnull(tmp);
	dir = g_build_filename(tmp, "cache", NULL);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	memset(&sc, 0, sizeof sc);
	sc.dir = dir;
	pagefile_config_digest("[web]\n", 6, sc.config_digest);
	sc.store_dir = "/var/lib/pullmail";
	sc.max_retention = 90 * 86400;
	sc.path_prefix = "";
	ta = token_new();
	tb = token_new();
	ck_assert_ptr_nonnull(ta);
	ck_assert_ptr_nonnull(tb);
	token_storage_id(ta, &ida);
	token_storage_id(tb, &idb);
	ck_assert_str_ne(ida.hex, idb.hex);
}

static void
teardown(void)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
	g_free(tmp);
	token_free(ta);
	token_free(tb);
}

/* The path of the entry for (t, id, rq) in d; g_free it. */
static char *
entry_path(const char *d, const struct token *t, const struct storage_id *id,
    const struct pagefile_request *rq)
{
	char name[PAGEFILE_NAME_LEN + 1];
	memset(name, 'X', sizeof name);
	pagefile_name(t, id, rq, name);
	ck_assert_uint_eq(strlen(name), PAGEFILE_NAME_LEN);
	ck_assert(strncmp(name, id->hex, STORAGE_ID_HEX_LEN) == 0);
	ck_assert_int_eq(name[STORAGE_ID_HEX_LEN], '.');
	return g_build_filename(d, name, NULL);
}

static int
exists(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0;
}

/* Directory entries other than "." and "..". */
static int
count_dir(const char *d)
{
	GDir *g = g_dir_open(d, 0, NULL);
	int n = 0;
	ck_assert_ptr_nonnull(g);
	while (g_dir_read_name(g) != NULL)
		n++;
	g_dir_close(g);
	return n;
}

static void
set_mtime(const char *path, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void
put_ok(const struct token *t, const struct storage_id *id,
    const struct pagefile_request *rq, const void *resp, size_t len)
{
	ck_assert_int_eq(pagefile_put(&sc, t, id, EXPIRES, rq, resp, len), 0);
}

/* get hits and returns exactly want. */
static void
assert_hit(const struct pagefile_scope *s, const struct token *t,
    const struct storage_id *id, int64_t expires,
    const struct pagefile_request *rq, const void *want, size_t wlen)
{
	unsigned char *resp = (unsigned char *)1;
	size_t len = 12345;
	ck_assert_int_eq(pagefile_get(s, t, id, expires, rq, &resp, &len), 0);
	ck_assert_ptr_nonnull(resp);
	ck_assert_uint_eq(len, wlen);
	ck_assert(memcmp(resp, want, wlen) == 0);
	pagefile_free(resp, len);
}

static void
assert_miss(const struct pagefile_scope *s, const struct token *t,
    const struct storage_id *id, int64_t expires,
    const struct pagefile_request *rq)
{
	unsigned char *resp = (unsigned char *)1;
	size_t len = 12345;
	ck_assert_int_eq(pagefile_get(s, t, id, expires, rq, &resp, &len), -1);
	ck_assert_ptr_null(resp);
	if (resp != NULL)
		pagefile_free(resp, len);
}

/* The default entry and lookup: (sc, ta, ida, EXPIRES, rq0). */
static void
put0(const void *resp, size_t len)
{
	put_ok(ta, &ida, &rq0, resp, len);
}

static void
hit0(const void *want, size_t wlen)
{
	assert_hit(&sc, ta, &ida, EXPIRES, &rq0, want, wlen);
}

static void
miss0(void)
{
	assert_miss(&sc, ta, &ida, EXPIRES, &rq0);
}

/* The entry put as (ta, ida, EXPIRES, rq0, sc) must not open for the
 * lookup given, neither where that lookup looks (usually another name)
 * nor when the entry is copied under the name that lookup looks for: the
 * sealing, not only the name, must tell them apart. */
static void
assert_miss_anywhere(const struct pagefile_scope *s, const struct token *t,
    const struct storage_id *id, int64_t expires,
    const struct pagefile_request *rq)
{
	assert_miss(s, t, id, expires, rq);
	char *src = entry_path(dir, ta, &ida, &rq0);
	char *dst = entry_path(dir, t, id, rq);
	int moved = strcmp(src, dst) != 0;
	if (moved) {
		gchar *data;
		gsize dlen;
		ck_assert(g_file_get_contents(src, &data, &dlen, NULL));
		ck_assert(g_file_set_contents(dst, data, (gssize)dlen, NULL));
		g_free(data);
	}
	assert_miss(s, t, id, expires, rq);
	if (moved)
		ck_assert_int_eq(unlink(dst), 0);
	g_free(src);
	g_free(dst);
}

static const char marker[] = "Zq7-unique-plaintext";       /* 20 bytes */

static void
assert_no_plaintext(const char *path)
{
	gchar *data;
	gsize dlen;
	ck_assert_uint_eq(strlen(marker), 20);
	ck_assert(g_file_get_contents(path, &data, &dlen, NULL));
	ck_assert_msg(memmem(data, dlen, marker, 20) == NULL,
	    "plaintext found in %s", path);
	g_free(data);
}

/* 1. */
START_TEST(round_trip)
{
	static const char small[] = "Status: 200 OK\r\nContent-Type: text/plain"
	    "\r\n\r\nZq7-unique-plaintext\0\0\0after NUL\0";
	put_ok(ta, &ida, &rq0, small, sizeof small);
	assert_hit(&sc, ta, &ida, EXPIRES, &rq0, small, sizeof small);
	char *p = entry_path(dir, ta, &ida, &rq0);
	struct stat sb;
	ck_assert_int_eq(lstat(p, &sb), 0);
	ck_assert(S_ISREG(sb.st_mode));
	ck_assert_int_eq(sb.st_mode & 07777, 0600);
	ck_assert_int_eq(count_dir(dir), 1);      /* no temporary left over */
	assert_no_plaintext(p);
	/* A fresh nonce each time: the same response seals differently. */
	gchar *first;
	gsize flen;
	ck_assert(g_file_get_contents(p, &first, &flen, NULL));
	put_ok(ta, &ida, &rq0, small, sizeof small);
	gchar *second;
	gsize slen;
	ck_assert(g_file_get_contents(p, &second, &slen, NULL));
	ck_assert_uint_eq(flen, slen);
	ck_assert(memcmp(first, second, flen) != 0);
	g_free(first);
	g_free(second);
	g_free(p);

	/* 1 MiB with the marker at the start, the middle and the end. */
	size_t big_len = 1u << 20;
	unsigned char *big = malloc(big_len);
	ck_assert_ptr_nonnull(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (unsigned char)(i * 7 % 251);
	memcpy(big, marker, 20);
	memcpy(big + big_len / 2, marker, 20);
	memcpy(big + big_len - 20, marker, 20);
	struct pagefile_request rq1 = { "/", NULL, "de-CH,de;q=0.9", NULL };
	put_ok(ta, &ida, &rq1, big, big_len);
	assert_hit(&sc, ta, &ida, EXPIRES, &rq1, big, big_len);
	p = entry_path(dir, ta, &ida, &rq1);
	ck_assert(exists(p));
	assert_no_plaintext(p);
	g_free(p);
	/* The small entry is still there, unchanged. */
	assert_hit(&sc, ta, &ida, EXPIRES, &rq0, small, sizeof small);
	/* Written again with other bytes: the new ones are returned. */
	big[100] ^= 0xff;
	put_ok(ta, &ida, &rq1, big, big_len);
	assert_hit(&sc, ta, &ida, EXPIRES, &rq1, big, big_len);
	free(big);
	ck_assert_int_eq(count_dir(dir), 2);

	/* An empty response. */
	struct pagefile_request rq2 = { "", "empty", "", NULL };
	put_ok(ta, &ida, &rq2, "", 0);
	assert_hit(&sc, ta, &ida, EXPIRES, &rq2, "", 0);
}
END_TEST

/* 2. */
START_TEST(mismatch_misses)
{
	static const char resp[] = "Status: 200 OK\r\n\r\nhello";
	put0(resp, sizeof resp);
	hit0(resp, sizeof resp);

	/* Another token: with the first one's storage id (only the key
	 * differs), with its own id, and the first token with another id. */
	assert_miss_anywhere(&sc, tb, &ida, EXPIRES, &rq0);
	assert_miss_anywhere(&sc, tb, &idb, EXPIRES, &rq0);
	assert_miss_anywhere(&sc, ta, &idb, EXPIRES, &rq0);
	struct token *tc = token_new();
	struct storage_id idc;
	token_storage_id(tc, &idc);
	assert_miss_anywhere(&sc, tc, &idc, EXPIRES, &rq0);
	token_free(tc);

	/* The expiry (the same name, so the sealing must refuse it). */
	char *p = entry_path(dir, ta, &ida, &rq0);
	assert_miss_anywhere(&sc, ta, &ida, EXPIRES + 1, &rq0);
	assert_miss_anywhere(&sc, ta, &ida, EXPIRES - 1, &rq0);
	assert_miss_anywhere(&sc, ta, &ida, 0, &rq0);
	ck_assert(exists(p));

	/* Each field of the request. */
	struct pagefile_request r;
	r = rq0; r.rest = "/";
	assert_miss_anywhere(&sc, ta, &ida, EXPIRES, &r);
	r = rq0; r.query = "a=2";
	assert_miss_anywhere(&sc, ta, &ida, EXPIRES, &r);
	r = rq0; r.query = "";
	assert_miss_anywhere(&sc, ta, &ida, EXPIRES, &r);
	r = rq0; r.query = NULL;
	assert_miss_anywhere(&sc, ta, &ida, EXPIRES, &r);
	r = rq0; r.query = "a=1&";
	assert_miss_anywhere(&sc, ta, &ida, EXPIRES, &r);
	r = rq0; r.accept_language = "de";
	assert_miss_anywhere(&sc, ta, &ida, EXPIRES, &r);
	r = rq0; r.accept_language = NULL;
	assert_miss_anywhere(&sc, ta, &ida, EXPIRES, &r);
	/* Fields run together differently ("a=1" "en" vs "a=1e" "n"). */
	r = rq0; r.query = "a=1e"; r.accept_language = "n";
	assert_miss_anywhere(&sc, ta, &ida, EXPIRES, &r);

	/* Each field of the scope (the same name again). */
	struct pagefile_scope s;
	s = sc; s.config_digest[PAGEFILE_DIGEST_BYTES / 2] ^= 0x01;
	assert_miss_anywhere(&s, ta, &ida, EXPIRES, &rq0);
	s = sc; s.config_digest[0] ^= 0x80;
	assert_miss_anywhere(&s, ta, &ida, EXPIRES, &rq0);
	s = sc; s.store_dir = "/var/lib/pullmail2";
	assert_miss_anywhere(&s, ta, &ida, EXPIRES, &rq0);
	s = sc; s.max_retention = sc.max_retention + 1;
	assert_miss_anywhere(&s, ta, &ida, EXPIRES, &rq0);
	s = sc; s.max_retention = 0;
	assert_miss_anywhere(&s, ta, &ida, EXPIRES, &rq0);
	s = sc; s.path_prefix = "/mail";
	assert_miss_anywhere(&s, ta, &ida, EXPIRES, &rq0);

	/* None of these lookups removed or spoiled the entry. */
	hit0(resp, sizeof resp);
	ck_assert_int_eq(count_dir(dir), 1);
	g_free(p);
}
END_TEST

START_TEST(null_is_empty)
{
	static const char resp[] = "Status: 200 OK\r\n\r\nnull";
	struct pagefile_request rn = { "", NULL, NULL, NULL };
	struct pagefile_request re = { "", "", "", NULL };
	char *pn = entry_path(dir, ta, &ida, &rn);
	char *pe = entry_path(dir, ta, &ida, &re);
	ck_assert_str_eq(pn, pe);
	g_free(pn);
	g_free(pe);
	put_ok(ta, &ida, &rn, resp, sizeof resp);
	assert_hit(&sc, ta, &ida, EXPIRES, &re, resp, sizeof resp);
	assert_hit(&sc, ta, &ida, EXPIRES, &rn, resp, sizeof resp);
	struct pagefile_request mixed = { "", "", NULL, NULL };
	assert_hit(&sc, ta, &ida, EXPIRES, &mixed, resp, sizeof resp);

	struct pagefile_request rn2 = { "/", NULL, NULL, NULL };
	struct pagefile_request re2 = { "/", "", "", NULL };
	put_ok(ta, &ida, &re2, resp, sizeof resp - 1);
	assert_hit(&sc, ta, &ida, EXPIRES, &rn2, resp, sizeof resp - 1);
}
END_TEST

/* 3. Each damage applied to a fresh entry. */
enum damage { FLIP_MIDDLE, FLIP_NONCE, FLIP_TAG, TRUNC_1, TRUNC_10,
	APPEND_1, BAD_MAGIC, EMPTY, SYMLINK, DIRECTORY, FIFO, NDAMAGE };

START_TEST(damaged_misses)
{
	static const char resp[] = "Status: 200 OK\r\n\r\nZq7-unique-plaintext "
	    "and some more body to have a middle";
	for (int d = 0; d < NDAMAGE; d++) {
		put0(resp, sizeof resp);
		hit0(resp, sizeof resp);
		char *p = entry_path(dir, ta, &ida, &rq0);
		char *copy = g_build_filename(tmp, "valid-copy", NULL);
		gchar *data;
		gsize len;
		ck_assert(g_file_get_contents(p, &data, &len, NULL));
		ck_assert_uint_gt(len, 60);
		switch (d) {
		case FLIP_MIDDLE:
			data[len / 2] ^= 0x01;
			break;
		case FLIP_NONCE:
			data[8 + 3] ^= 0x40;
			break;
		case FLIP_TAG:
			data[len - 1] ^= 0x01;
			break;
		case TRUNC_1:
			len -= 1;
			break;
		case TRUNC_10:
			len = 10;
			break;
		case APPEND_1:
			data = g_realloc(data, len + 1);
			data[len++] = 0;
			break;
		case BAD_MAGIC:
			data[0] ^= 0x20;
			break;
		case EMPTY:
			len = 0;
			break;
		default:
			break;
		}
		switch (d) {
		case SYMLINK:
			/* A valid entry, reached through a link. */
			ck_assert(g_file_set_contents(copy, data, (gssize)len,
			    NULL));
			ck_assert_int_eq(unlink(p), 0);
			ck_assert_int_eq(symlink(copy, p), 0);
			break;
		case DIRECTORY:
			ck_assert_int_eq(unlink(p), 0);
			ck_assert_int_eq(mkdir(p, 0700), 0);
			break;
		case FIFO:
			ck_assert_int_eq(unlink(p), 0);
			ck_assert_int_eq(mkfifo(p, 0600), 0);
			break;
		default:
			ck_assert(g_file_set_contents(p, data, (gssize)len,
			    NULL));
			break;
		}
		g_free(data);
		unsigned char *got = NULL;
		size_t glen = 0;
		int rc = pagefile_get(&sc, ta, &ida, EXPIRES, &rq0, &got, &glen);
		if (got != NULL)
			pagefile_free(got, glen);
		ck_assert_msg(rc == -1 && got == NULL, "damage %d: hit", d);
		/* Back to a plain file for the next round. */
		if (d == DIRECTORY)
			ck_assert_int_eq(rmdir(p), 0);
		else
			ck_assert_int_eq(unlink(p), 0);
		unlink(copy);
		g_free(copy);
		g_free(p);
	}
}
END_TEST

/* 4. */
START_TEST(oversized_not_kept)
{
	size_t len = PAGEFILE_MAX_RESPONSE + 1;
	unsigned char *big = malloc(len);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', len);
	ck_assert_int_eq(pagefile_put(&sc, ta, &ida, EXPIRES, &rq0, big, len), 0);
	char *p = entry_path(dir, ta, &ida, &rq0);
	ck_assert(!exists(p));
	ck_assert_int_eq(count_dir(dir), 0);
	miss0();
	/* Exactly the limit is kept. */
	put_ok(ta, &ida, &rq0, big, PAGEFILE_MAX_RESPONSE);
	ck_assert(exists(p));
	assert_hit(&sc, ta, &ida, EXPIRES, &rq0, big, PAGEFILE_MAX_RESPONSE);
	g_free(p);
	free(big);
}
END_TEST

/* 5. */
START_TEST(put_creates_dir)
{
	static const char resp[] = "Status: 200 OK\r\n\r\nnew dir";
	char *sub = g_build_filename(tmp, "made", NULL);
	struct pagefile_scope s = sc;
	s.dir = sub;
	ck_assert(!exists(sub));
	ck_assert_int_eq(pagefile_put(&s, ta, &ida, EXPIRES, &rq0, resp,
	    sizeof resp), 0);
	struct stat sb;
	ck_assert_int_eq(stat(sub, &sb), 0);
	ck_assert(S_ISDIR(sb.st_mode));
	ck_assert_int_eq(sb.st_mode & 07777, 0700);
	assert_hit(&s, ta, &ida, EXPIRES, &rq0, resp, sizeof resp);
	char *p = entry_path(sub, ta, &ida, &rq0);
	ck_assert(exists(p));
	g_free(p);

	char *deep = g_build_filename(tmp, "nope", "cache", NULL);
	s.dir = deep;
	errno = 0;
	ck_assert_int_eq(pagefile_put(&s, ta, &ida, EXPIRES, &rq0, resp,
	    sizeof resp), -1);
	ck_assert_int_eq(errno, ENOENT);
	char *parent = g_build_filename(tmp, "nope", NULL);
	ck_assert(!exists(parent));
	assert_miss(&s, ta, &ida, EXPIRES, &rq0);
	g_free(parent);
	g_free(deep);
	g_free(sub);
}
END_TEST

/* 6. */
START_TEST(forget_one_object)
{
	static const char resp[] = "Status: 200 OK\r\n\r\nforget";
	struct pagefile_request r1 = { "/", NULL, NULL, NULL };
	put0(resp, sizeof resp);
	put_ok(ta, &ida, &r1, resp, sizeof resp);
	put_ok(tb, &idb, &rq0, resp, sizeof resp);
	put_ok(tb, &idb, &r1, resp, sizeof resp);
	char *readme = g_build_filename(dir, "README", NULL);
	ck_assert(g_file_set_contents(readme, "x", 1, NULL));
	ck_assert_int_eq(count_dir(dir), 5);

	ck_assert_int_eq(pagefile_forget(dir, &ida), 2);
	miss0();
	assert_miss(&sc, ta, &ida, EXPIRES, &r1);
	char *p = entry_path(dir, ta, &ida, &rq0);
	ck_assert(!exists(p));
	g_free(p);
	assert_hit(&sc, tb, &idb, EXPIRES, &rq0, resp, sizeof resp);
	assert_hit(&sc, tb, &idb, EXPIRES, &r1, resp, sizeof resp);
	ck_assert(exists(readme));
	ck_assert_int_eq(count_dir(dir), 3);
	ck_assert_int_eq(pagefile_forget(dir, &ida), 0);

	char *missing = g_build_filename(tmp, "missing", NULL);
	ck_assert_int_eq(pagefile_forget(missing, &ida), 0);
	ck_assert(!exists(missing));
	g_free(missing);
	g_free(readme);
}
END_TEST

/* Puts n entries of token t (query "q=I"), all of the same size, into
 * paths[0..n-1] (g_free each). */
static void
put_many(const struct token *t, const struct storage_id *id, int n,
    char **paths)
{
	char resp[1000];
	memset(resp, 'r', sizeof resp);
	for (int i = 0; i < n; i++) {
		char q[16];
		snprintf(q, sizeof q, "q=%d", i);
		struct pagefile_request r = { "", q, NULL, NULL };
		put_ok(t, id, &r, resp, sizeof resp);
		paths[i] = entry_path(dir, t, id, &r);
		ck_assert(exists(paths[i]));
	}
}

static uint64_t
file_size(const char *path)
{
	struct stat sb;
	ck_assert_int_eq(lstat(path, &sb), 0);
	return (uint64_t)sb.st_size;
}

static void
free_paths(char **paths, int n)
{
	for (int i = 0; i < n; i++)
		g_free(paths[i]);
}

/* 7a, 7b. */
START_TEST(sweep_fresh_and_old)
{
	char *paths[4];
	time_t now = time(NULL);
	put_many(ta, &ida, 4, paths);
	uint64_t total = 0;
	for (int i = 0; i < 4; i++)
		total += file_size(paths[i]);

	ck_assert_int_eq(pagefile_sweep(dir, total * 10, PAGEFILE_MAX_AGE, now,
	    NULL, NULL), 0);
	ck_assert_int_eq(pagefile_sweep(dir, total, PAGEFILE_MAX_AGE, now,
	    NULL, NULL), 0);
	for (int i = 0; i < 4; i++)
		ck_assert(exists(paths[i]));

	set_mtime(paths[0], now - PAGEFILE_MAX_AGE - 10);
	set_mtime(paths[1], now - 10 * PAGEFILE_MAX_AGE);
	set_mtime(paths[2], now - PAGEFILE_MAX_AGE + 60);
	ck_assert_int_eq(pagefile_sweep(dir, total * 10, PAGEFILE_MAX_AGE, now,
	    NULL, NULL), 2);
	ck_assert(!exists(paths[0]));
	ck_assert(!exists(paths[1]));
	ck_assert(exists(paths[2]));
	ck_assert(exists(paths[3]));
	/* Another max_age. */
	ck_assert_int_eq(pagefile_sweep(dir, total * 10, 3600, now,
	    NULL, NULL), 1);
	ck_assert(!exists(paths[2]));
	ck_assert(exists(paths[3]));
	free_paths(paths, 4);
}
END_TEST

/* A due entry that would not go (a directory this user may read but not
 * write) makes the sweep fail, not report a clean pass: run as a user
 * without write access (nobody, in a child, when the test runs as root). */
START_TEST(sweep_reports_undeletable)
{
	char *paths[1];
	time_t now = time(NULL);
	put_many(ta, &ida, 1, paths);
	set_mtime(paths[0], now - 10 * PAGEFILE_MAX_AGE);
	ck_assert_int_eq(chmod(tmp, 0755), 0);
	ck_assert_int_eq(chmod(dir, 0555), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 && setuid(65534) != 0)
			_exit(2);
		long n = pagefile_sweep(dir, 1u << 20, PAGEFILE_MAX_AGE, now,
		    NULL, NULL);
		_exit(n == -1 && errno == EACCES ? 0 : 1);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert(exists(paths[0]));
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_int_eq(pagefile_sweep(dir, 1u << 20, PAGEFILE_MAX_AGE, now,
	    NULL, NULL), 1);
	ck_assert(!exists(paths[0]));
	free_paths(paths, 1);
}
END_TEST

/* 7c. */
START_TEST(sweep_budget_oldest_first)
{
	enum { N = 8 };
	char *paths[N];
	/* Ages in an order that is neither creation nor name order. */
	static const int rank[N] = { 5, 2, 7, 0, 3, 6, 1, 4 };
	time_t now = time(NULL);
	put_many(ta, &ida, N, paths);
	uint64_t size = file_size(paths[0]);
	for (int i = 0; i < N; i++) {
		ck_assert_uint_eq(file_size(paths[i]), size);
		/* rank 0 is the oldest */
		set_mtime(paths[i], now - 10000 + rank[i] * 100);
	}
	/* 8 over a budget of 6: down to 3/4 of 6, 4.5, so 4 are left. */
	ck_assert_int_eq(pagefile_sweep(dir, 6 * size, PAGEFILE_MAX_AGE, now,
	    NULL, NULL), 4);
	for (int i = 0; i < N; i++)
		ck_assert_msg(exists(paths[i]) == (rank[i] >= 4),
		    "entry of rank %d %s", rank[i],
		    exists(paths[i]) ? "kept" : "removed");
	ck_assert_int_eq(count_dir(dir), 4);
	/* Now within the budget: nothing more goes. */
	ck_assert_int_eq(pagefile_sweep(dir, 6 * size, PAGEFILE_MAX_AGE, now,
	    NULL, NULL), 0);
	/* 4 left, a budget one byte short of them: down to 3/4 of it,
	 * so 2 are left (not 3, which would be within the budget). */
	ck_assert_int_eq(pagefile_sweep(dir, 4 * size - 1, PAGEFILE_MAX_AGE,
	    now, NULL, NULL), 2);
	ck_assert_int_eq(count_dir(dir), 2);
	for (int i = 0; i < N; i++)
		ck_assert(exists(paths[i]) == (rank[i] >= 6));
	/* A budget of 0 removes every entry. */
	ck_assert_int_eq(pagefile_sweep(dir, 0, PAGEFILE_MAX_AGE, now,
	    NULL, NULL), 2);
	ck_assert_int_eq(count_dir(dir), 0);
	free_paths(paths, N);
}
END_TEST

struct alive_ctx {
	const struct storage_id *dead;  /* NULL: all alive */
	int all_dead;
	int calls;
	int bad_ids;
};

static int
alive_cb(void *ctx, const struct storage_id *id)
{
	struct alive_ctx *a = ctx;
	a->calls++;
	if (strlen(id->hex) != STORAGE_ID_HEX_LEN ||
	    (strcmp(id->hex, ida.hex) != 0 && strcmp(id->hex, idb.hex) != 0))
		a->bad_ids++;
	if (a->all_dead)
		return 0;
	return a->dead == NULL || strcmp(id->hex, a->dead->hex) != 0;
}

/* 7d. */
START_TEST(sweep_dead_objects)
{
	char *pa[3], *pb[2];
	time_t now = time(NULL);
	put_many(ta, &ida, 3, pa);
	put_many(tb, &idb, 2, pb);
	struct alive_ctx all = { NULL, 0, 0, 0 };
	ck_assert_int_eq(pagefile_sweep(dir, UINT64_MAX, PAGEFILE_MAX_AGE, now,
	    alive_cb, &all), 0);
	ck_assert_int_eq(all.calls, 5);
	ck_assert_int_eq(all.bad_ids, 0);
	ck_assert_int_eq(count_dir(dir), 5);

	struct alive_ctx dead_a = { &ida, 0, 0, 0 };
	ck_assert_int_eq(pagefile_sweep(dir, UINT64_MAX, PAGEFILE_MAX_AGE, now,
	    alive_cb, &dead_a), 3);
	ck_assert_int_eq(dead_a.bad_ids, 0);
	for (int i = 0; i < 3; i++)
		ck_assert(!exists(pa[i]));
	for (int i = 0; i < 2; i++)
		ck_assert(exists(pb[i]));
	ck_assert_int_eq(count_dir(dir), 2);
	free_paths(pa, 3);
	free_paths(pb, 2);
}
END_TEST

/* 7e, 7f. */
START_TEST(sweep_leftovers_and_others)
{
	time_t now = time(NULL);
	char *stale = g_build_filename(dir, ".tmp-1234-0011223344556677", NULL);
	char *fresh = g_build_filename(dir, ".tmp-1234-8899aabbccddeeff", NULL);
	char *readme = g_build_filename(dir, "README", NULL);
	/* Entry-like names that are not entries. */
	char name[PAGEFILE_NAME_LEN + 1];
	pagefile_name(ta, &ida, &rq0, name);
	char *upper_name = g_ascii_strup(name, -1);
	char *upper = g_build_filename(dir, upper_name, NULL);
	char *longer_name = g_strconcat(name, "0", NULL);
	char *longer = g_build_filename(dir, longer_name, NULL);
	char *subdir = entry_path(dir, tb, &idb, &rq0);
	const char *files[] = { stale, fresh, readme, upper, longer };
	for (size_t i = 0; i < G_N_ELEMENTS(files); i++)
		ck_assert(g_file_set_contents(files[i], "leftover", 8, NULL));
	ck_assert_int_eq(mkdir(subdir, 0700), 0);
	set_mtime(stale, now - 301);
	set_mtime(fresh, now - 10);
	set_mtime(readme, now - 100 * PAGEFILE_MAX_AGE);
	set_mtime(upper, now - 100 * PAGEFILE_MAX_AGE);
	set_mtime(longer, now - 100 * PAGEFILE_MAX_AGE);
	set_mtime(subdir, now - 100 * PAGEFILE_MAX_AGE);

	/* Everything pushes towards removal: no budget, a short max age,
	 * every object dead. */
	struct alive_ctx none = { NULL, 1, 0, 0 };
	long r = pagefile_sweep(dir, 0, 1, now, alive_cb, &none);
	ck_assert_int_ge(r, 0);
	ck_assert(!exists(stale));
	ck_assert(exists(fresh));
	ck_assert(exists(readme));
	ck_assert(exists(upper));
	ck_assert(exists(longer));
	ck_assert(exists(subdir));
	ck_assert_int_eq(none.calls, 0);
	ck_assert_int_eq(count_dir(dir), 5);

	/* The fresh one goes once it is old enough. */
	ck_assert_int_ge(pagefile_sweep(dir, 0, 1, now + 300, NULL, NULL), 0);
	ck_assert(!exists(fresh));
	ck_assert(exists(readme));

	char *missing = g_build_filename(tmp, "missing", NULL);
	ck_assert_int_eq(pagefile_sweep(missing, 0, 1, now, NULL, NULL), 0);
	ck_assert(!exists(missing));
	g_free(missing);
	g_free(subdir);
	g_free(longer);
	g_free(longer_name);
	g_free(upper);
	g_free(upper_name);
	g_free(readme);
	g_free(fresh);
	g_free(stale);
}
END_TEST

/* 8. */
START_TEST(config_digest)
{
	unsigned char a[PAGEFILE_DIGEST_BYTES], b[PAGEFILE_DIGEST_BYTES];
	unsigned char zero[PAGEFILE_DIGEST_BYTES] = { 0 };
	char x[] = "[web]\nPageCacheDir = /var/cache/pullmail\n";
	char y[] = "[web]\nPageCacheDir = /var/cache/pullmail\n";

	pagefile_config_digest(x, sizeof x - 1, a);
	pagefile_config_digest(y, sizeof y - 1, b);
	ck_assert(memcmp(a, b, sizeof a) == 0);
	ck_assert(memcmp(a, zero, sizeof a) != 0);
	y[sizeof y - 3] ^= 0x01;
	pagefile_config_digest(y, sizeof y - 1, b);
	ck_assert(memcmp(a, b, sizeof a) != 0);
	pagefile_config_digest(x, sizeof x - 2, b);     /* one byte shorter */
	ck_assert(memcmp(a, b, sizeof a) != 0);
	pagefile_config_digest("", 0, a);
	pagefile_config_digest("\0", 1, b);
	ck_assert(memcmp(a, b, sizeof a) != 0);
	pagefile_config_digest(NULL, 0, b);
	ck_assert(memcmp(a, b, sizeof a) == 0);
}
END_TEST

/* 9. The object the entry was made from. */
static void
sample_object(struct pagefile_object *o)
{
	memset(o, 0, sizeof *o);
	for (size_t i = 0; i < sizeof o->head; i++)
		o->head[i] = (unsigned char)(i * 37 + 11);
	strcpy(o->version, "fs:123456789:4242:1700000000.987654321");
}

START_TEST(object_binds)
{
	static const char resp[] = "Status: 200 OK\r\n\r\nbound to an object";
	struct pagefile_object o, same;
	sample_object(&o);
	sample_object(&same);
	struct pagefile_request ro = rq0;
	ro.object = &o;
	/* The object is not part of the name: the same file is looked at,
	 * so a miss below is the sealing's. */
	char *p = entry_path(dir, ta, &ida, &ro);
	char *p0 = entry_path(dir, ta, &ida, &rq0);
	ck_assert_str_eq(p, p0);
	g_free(p0);
	put_ok(ta, &ida, &ro, resp, sizeof resp);
	struct pagefile_request r = rq0;
	r.object = &same;               /* equal, not the same pointer */
	assert_hit(&sc, ta, &ida, EXPIRES, &r, resp, sizeof resp);

	/* Not bound (NULL) does not open an entry bound to an object. */
	assert_miss_anywhere(&sc, ta, &ida, EXPIRES, &rq0);

	/* One byte of the header, at every position, one bit or all. */
	struct pagefile_object c;
	for (size_t i = 0; i < sizeof c.head; i++) {
		c = o;
		c.head[i] ^= 0x01;
		r.object = &c;
		assert_miss(&sc, ta, &ida, EXPIRES, &r);
		c = o;
		c.head[i] ^= 0xff;
		assert_miss(&sc, ta, &ida, EXPIRES, &r);
	}
	/* The version: each character changed, shorter, empty, another
	 * backend's, fields swapped. */
	r.object = &c;
	for (size_t i = 0; i < strlen(o.version); i++) {
		c = o;
		c.version[i] ^= 0x01;
		assert_miss_anywhere(&sc, ta, &ida, EXPIRES, &r);
	}
	c = o; c.version[strlen(c.version) - 1] = '\0';
	assert_miss_anywhere(&sc, ta, &ida, EXPIRES, &r);
	c = o; memset(c.version, 0, sizeof c.version);
	assert_miss_anywhere(&sc, ta, &ida, EXPIRES, &r);
	c = o; strcpy(c.version, "s3:\"0123456789abcdef\":-");
	assert_miss_anywhere(&sc, ta, &ida, EXPIRES, &r);
	c = o; strcpy(c.version, "fs:4242:123456789:1700000000.987654321");
	assert_miss_anywhere(&sc, ta, &ida, EXPIRES, &r);
	/* An all-zero object is an object, not "not bound". */
	memset(&c, 0, sizeof c);
	assert_miss_anywhere(&sc, ta, &ida, EXPIRES, &r);

	/* Still there and still opening with the right object. */
	r.object = &same;
	assert_hit(&sc, ta, &ida, EXPIRES, &r, resp, sizeof resp);

	/* The other way round: an entry not bound opens only unbound. */
	put_ok(ta, &ida, &rq0, resp, sizeof resp - 1);
	assert_hit(&sc, ta, &ida, EXPIRES, &rq0, resp, sizeof resp - 1);
	r.object = &same;
	assert_miss(&sc, ta, &ida, EXPIRES, &r);
	memset(&c, 0, sizeof c);
	r.object = &c;
	assert_miss(&sc, ta, &ida, EXPIRES, &r);
	assert_hit(&sc, ta, &ida, EXPIRES, &rq0, resp, sizeof resp - 1);
	ck_assert_int_eq(count_dir(dir), 1);
	g_free(p);
}
END_TEST

/* 10. The renderer's identity in the scope. */
START_TEST(program_id_binds)
{
	static const char resp[] = "Status: 200 OK\r\n\r\nprogram";
	for (int i = 0; i < PAGEFILE_DIGEST_BYTES; i++)
		sc.program_id[i] = (unsigned char)(0xa0 + i);
	put0(resp, sizeof resp);
	hit0(resp, sizeof resp);
	struct pagefile_scope s;
	static const int pos[] = { 0, 1, PAGEFILE_DIGEST_BYTES / 2,
		PAGEFILE_DIGEST_BYTES - 1 };
	for (size_t i = 0; i < G_N_ELEMENTS(pos); i++) {
		s = sc;
		s.program_id[pos[i]] ^= 0x01;
		assert_miss_anywhere(&s, ta, &ida, EXPIRES, &rq0);
		s = sc;
		s.program_id[pos[i]] ^= 0x80;
		assert_miss_anywhere(&s, ta, &ida, EXPIRES, &rq0);
	}
	s = sc;
	memset(s.program_id, 0, sizeof s.program_id);
	assert_miss_anywhere(&s, ta, &ida, EXPIRES, &rq0);
	/* The program id and the configuration digest are not
	 * interchangeable. */
	s = sc;
	memcpy(s.program_id, sc.config_digest, PAGEFILE_DIGEST_BYTES);
	memcpy(s.config_digest, sc.program_id, PAGEFILE_DIGEST_BYTES);
	assert_miss_anywhere(&s, ta, &ida, EXPIRES, &rq0);
	hit0(resp, sizeof resp);
}
END_TEST

static void
program_id_ok(const char *path, unsigned char out[PAGEFILE_DIGEST_BYTES])
{
	memset(out, 0x5a, PAGEFILE_DIGEST_BYTES);
	ck_assert_int_eq(pagefile_program_id(path, out), 0);
}

static void
stat_ok(const char *path, struct stat *sb)
{
	ck_assert_int_eq(lstat(path, sb), 0);
}

/* 11. */
START_TEST(program_id_of_file)
{
	unsigned char a[PAGEFILE_DIGEST_BYTES], b[PAGEFILE_DIGEST_BYTES];
	unsigned char fill[PAGEFILE_DIGEST_BYTES];
	memset(fill, 0x5a, sizeof fill);
	char *prog = g_build_filename(tmp, "pullmail-web-render", NULL);
	char *next = g_build_filename(tmp, "pullmail-web-render.new", NULL);
	char *missing = g_build_filename(tmp, "missing", NULL);
	static const char body[] = "\177ELF not really a program";
	ck_assert(g_file_set_contents(prog, body, sizeof body, NULL));
	set_mtime(prog, 1700000000);

	program_id_ok(prog, a);
	ck_assert(memcmp(a, fill, sizeof a) != 0);
	/* The same unchanged file: the same id. */
	program_id_ok(prog, b);
	ck_assert(memcmp(a, b, sizeof a) == 0);

	memset(b, 0x5a, sizeof b);
	ck_assert_int_eq(pagefile_program_id(missing, b), -1);
	ck_assert_int_eq(pagefile_program_id("", b), -1);

	/* Its modification time changed, by a second, then by a
	 * nanosecond, then back. */
	set_mtime(prog, 1700000001);
	program_id_ok(prog, b);
	ck_assert(memcmp(a, b, sizeof a) != 0);
	struct timespec ts[2] = { { 1700000000, 1 }, { 1700000000, 1 } };
	ck_assert_int_eq(utimensat(AT_FDCWD, prog, ts, 0), 0);
	struct stat sb;
	stat_ok(prog, &sb);
	ck_assert_int_eq(sb.st_mtim.tv_nsec, 1);  /* the file system keeps it */
	program_id_ok(prog, b);
	ck_assert(memcmp(a, b, sizeof a) != 0);
	set_mtime(prog, 1700000000);
	program_id_ok(prog, b);
	ck_assert(memcmp(a, b, sizeof a) == 0);

	/* Replaced by another file with the same bytes and the same time
	 * (a reinstall): only the inode tells them apart. */
	struct stat before, after;
	stat_ok(prog, &before);
	ck_assert(g_file_set_contents(next, body, sizeof body, NULL));
	set_mtime(next, 1700000000);
	ck_assert_int_eq(rename(next, prog), 0);
	stat_ok(prog, &after);
	ck_assert_uint_ne(before.st_ino, after.st_ino);
	ck_assert_int_eq(before.st_size, after.st_size);
	ck_assert_int_eq(before.st_mtime, after.st_mtime);
	program_id_ok(prog, b);
	ck_assert(memcmp(a, b, sizeof a) != 0);
	memcpy(a, b, sizeof a);
	program_id_ok(prog, b);
	ck_assert(memcmp(a, b, sizeof a) == 0);

	/* Rebuilt in place with one more byte, the same time. */
	ck_assert(g_file_set_contents(next, body, sizeof body, NULL));
	ck_assert_int_eq(truncate(prog, (off_t)sizeof body + 1), 0);
	set_mtime(prog, 1700000000);
	program_id_ok(prog, b);
	ck_assert(memcmp(a, b, sizeof a) != 0);

	/* Another file: another id. */
	set_mtime(next, 1700000000);
	program_id_ok(next, a);
	ck_assert(memcmp(a, b, sizeof a) != 0);
	g_free(missing);
	g_free(next);
	g_free(prog);
}
END_TEST

/* A store dir laid out like the fs store's, in tmp/store. */
static char *
make_store(void)
{
	char *store = g_build_filename(tmp, "store", NULL);
	ck_assert_int_eq(mkdir(store, 0700), 0);
	return store;
}

/* The object id's path in store (g_free it), its ab/ directory made. */
static char *
object_path(const char *store, const struct storage_id *id)
{
	char rel[STORE_FS_PATH_MAX];
	store_fs_object_path(id, rel);
	ck_assert_int_eq(strncmp(rel, id->hex, 2), 0);
	ck_assert_int_eq(rel[2], '/');
	char *sub = g_strndup(rel, 2);
	char *d = g_build_filename(store, sub, NULL);
	ck_assert(mkdir(d, 0700) == 0 || errno == EEXIST);
	char *p = g_build_filename(store, rel, NULL);
	g_free(d);
	g_free(sub);
	return p;
}

static void
fill_object(unsigned char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 13 + seed);
}

/* The object as the CGI front reads it from an fs store. */
static int
fs_object_read(const char *store, const struct storage_id *id,
    struct pagefile_object *o)
{
	memset(o, 0, sizeof *o);
	return store_fs_peek(store, id, o->head, sizeof o->head, o->version);
}

static void
assert_object_refused(const char *store, const struct storage_id *id)
{
	struct pagefile_object o;
	memset(&o, 0, sizeof o);
	ck_assert_int_eq(fs_object_read(store, id, &o), -1);
}

/* 12. */
START_TEST(object_read)
{
	char *store = make_store();
	char *p = object_path(store, &ida);
	unsigned char buf[300];
	fill_object(buf, sizeof buf, 1);
	ck_assert(g_file_set_contents(p, (const char *)buf, sizeof buf, NULL));
	struct timespec ts[2] = { { 1700000123, 456789012 },
		{ 1700000123, 456789012 } };
	ck_assert_int_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
	struct stat sb;
	stat_ok(p, &sb);

	struct pagefile_object o;
	memset(&o, 0xee, sizeof o);
	ck_assert_int_eq(fs_object_read(store, &ida, &o), 0);
	ck_assert(memcmp(o.head, buf, ENVELOPE_META_SIZE) == 0);
	char want[STORE_VERSION_MAX];
	snprintf(want, sizeof want, "fs:%llu:%zu:1700000123.456789012",
	    (unsigned long long)sb.st_ino, sizeof buf);
	ck_assert_str_eq(o.version, want);
	/* A trailing slash on StoreDir is the same directory. */
	char *slash = g_strconcat(store, "/", NULL);
	struct pagefile_object o2;
	memset(&o2, 0, sizeof o2);
	ck_assert_int_eq(fs_object_read(slash, &ida, &o2), 0);
	ck_assert(memcmp(&o, &o2, sizeof o) == 0);
	g_free(slash);

	/* Exactly a header is enough. */
	ck_assert(g_file_set_contents(p, (const char *)buf, ENVELOPE_META_SIZE,
	    NULL));
	memset(&o, 0xee, sizeof o);
	ck_assert_int_eq(fs_object_read(store, &ida, &o), 0);
	ck_assert(memcmp(o.head, buf, ENVELOPE_META_SIZE) == 0);
	snprintf(want, sizeof want, ":%d:", ENVELOPE_META_SIZE);
	ck_assert_ptr_nonnull(strstr(o.version, want));

	/* No such object (the other id; its ab/ may or may not exist). */
	assert_object_refused(store, &idb);
	char *pb = object_path(store, &idb);
	assert_object_refused(store, &idb);
	/* No such store. */
	char *nostore = g_build_filename(tmp, "nostore", NULL);
	assert_object_refused(nostore, &ida);
	g_free(nostore);

	/* Shorter than a header, by one byte; empty. */
	ck_assert(g_file_set_contents(pb, (const char *)buf,
	    ENVELOPE_META_SIZE - 1, NULL));
	assert_object_refused(store, &idb);
	ck_assert(g_file_set_contents(pb, "", 0, NULL));
	assert_object_refused(store, &idb);
	ck_assert_int_eq(unlink(pb), 0);

	/* A symbolic link to a valid object (ida's). */
	ck_assert_int_eq(symlink(p, pb), 0);
	ck_assert_int_eq(fs_object_read(store, &ida, &o), 0);
	assert_object_refused(store, &idb);
	ck_assert_int_eq(unlink(pb), 0);
	/* A relative one too. */
	char *base = g_path_get_basename(p);
	char *rel = g_strdup_printf("../%.2s/%s", ida.hex, base);
	ck_assert_int_eq(symlink(rel, pb), 0);
	assert_object_refused(store, &idb);
	ck_assert_int_eq(unlink(pb), 0);
	g_free(rel);
	g_free(base);

	/* A directory; a FIFO (and no wait for a writer). */
	ck_assert_int_eq(mkdir(pb, 0700), 0);
	assert_object_refused(store, &idb);
	ck_assert_int_eq(rmdir(pb), 0);
	ck_assert_int_eq(mkfifo(pb, 0600), 0);
	assert_object_refused(store, &idb);
	ck_assert_int_eq(unlink(pb), 0);
	/* A device that reads like a long object (/dev/zero's numbers),
	 * where this (root) may make one. */
	if (mknod(pb, S_IFCHR | 0600, makedev(1, 5)) == 0) {
		int zfd = open(pb, O_RDONLY);
		ck_assert_int_ge(zfd, 0);      /* it does read */
		ck_assert_int_eq(pread(zfd, buf, ENVELOPE_META_SIZE, 0),
		    ENVELOPE_META_SIZE);
		ck_assert_int_eq(close(zfd), 0);
		fill_object(buf, sizeof buf, 1);
		assert_object_refused(store, &idb);
		ck_assert_int_eq(unlink(pb), 0);
	} else {
		ck_assert_int_eq(errno, EPERM);
	}

	/* A world-writable StoreDir, as the store refuses it; back to
	 * 0700 it reads again. */
	ck_assert_int_eq(chmod(store, 0777), 0);
	assert_object_refused(store, &ida);
	ck_assert_int_eq(chmod(store, 0702), 0);
	assert_object_refused(store, &ida);
	ck_assert_int_eq(chmod(store, 0700), 0);
	ck_assert_int_eq(fs_object_read(store, &ida, &o), 0);
	g_free(pb);
	g_free(p);
	g_free(store);
}
END_TEST

/* 13. An entry bound to the object read from the store misses once the
 * object changes on disk in any way. */
START_TEST(object_read_binds_entry)
{
	static const char resp[] = "Status: 200 OK\r\n\r\nfrom the store";
	char *store = make_store();
	char *p = object_path(store, &ida);
	char *next = g_strconcat(p, ".new", NULL);
	unsigned char buf[200];
	fill_object(buf, sizeof buf, 7);
	ck_assert(g_file_set_contents(p, (const char *)buf, sizeof buf, NULL));
	set_mtime(p, 1700000000);

	struct pagefile_object o;
	ck_assert_int_eq(fs_object_read(store, &ida, &o), 0);
	struct pagefile_request r = rq0;
	r.object = &o;
	put_ok(ta, &ida, &r, resp, sizeof resp);
	ck_assert_int_eq(fs_object_read(store, &ida, &o), 0);
	assert_hit(&sc, ta, &ida, EXPIRES, &r, resp, sizeof resp);

	/* Each change: read the object again, miss; undo, hit again. */
	/* 1. One header byte (as a keep or a revoke would). */
	buf[ENVELOPE_META_SIZE - 1] ^= 0x01;
	int fd = open(p, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, buf, ENVELOPE_META_SIZE, 0),
	    ENVELOPE_META_SIZE);
	ck_assert_int_eq(close(fd), 0);
	set_mtime(p, 1700000000);
	ck_assert_int_eq(fs_object_read(store, &ida, &o), 0);
	assert_miss(&sc, ta, &ida, EXPIRES, &r);
	buf[ENVELOPE_META_SIZE - 1] ^= 0x01;
	fd = open(p, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, buf, ENVELOPE_META_SIZE, 0),
	    ENVELOPE_META_SIZE);
	ck_assert_int_eq(close(fd), 0);
	set_mtime(p, 1700000000);
	ck_assert_int_eq(fs_object_read(store, &ida, &o), 0);
	assert_hit(&sc, ta, &ida, EXPIRES, &r, resp, sizeof resp);

	/* 2. A byte past the header, by a writer that kept the time. */
	ck_assert(g_file_set_contents(p, (const char *)buf, sizeof buf - 1,
	    NULL));
	set_mtime(p, 1700000000);
	ck_assert_int_eq(fs_object_read(store, &ida, &o), 0);
	assert_miss(&sc, ta, &ida, EXPIRES, &r);

	/* 3. Back to the same bytes and time: a hit only if the inode is
	 * the same (g_file_set_contents replaces the file: not). */
	ck_assert(g_file_set_contents(p, (const char *)buf, sizeof buf, NULL));
	set_mtime(p, 1700000000);
	ck_assert_int_eq(fs_object_read(store, &ida, &o), 0);
	struct pagefile_object now_o = o;
	struct stat sb;
	stat_ok(p, &sb);
	char ino[40];
	snprintf(ino, sizeof ino, "fs:%llu:", (unsigned long long)sb.st_ino);
	ck_assert(strncmp(o.version, ino, strlen(ino)) == 0);
	put_ok(ta, &ida, &r, resp, sizeof resp);
	assert_hit(&sc, ta, &ida, EXPIRES, &r, resp, sizeof resp);
	/* Replaced by an identical copy (restored from a backup). */
	ck_assert(g_file_set_contents(next, (const char *)buf, sizeof buf,
	    NULL));
	set_mtime(next, 1700000000);
	ck_assert_int_eq(rename(next, p), 0);
	ck_assert_int_eq(fs_object_read(store, &ida, &o), 0);
	ck_assert(memcmp(o.head, now_o.head, sizeof o.head) == 0);
	ck_assert_str_ne(o.version, now_o.version);
	assert_miss(&sc, ta, &ida, EXPIRES, &r);
	put_ok(ta, &ida, &r, resp, sizeof resp);
	assert_hit(&sc, ta, &ida, EXPIRES, &r, resp, sizeof resp);

	/* 4. Only the modification time's nanoseconds. */
	struct timespec ts[2] = { { 1700000000, 5 }, { 1700000000, 5 } };
	ck_assert_int_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
	ck_assert_int_eq(fs_object_read(store, &ida, &o), 0);
	ck_assert(g_str_has_suffix(o.version, ".000000005"));
	assert_miss(&sc, ta, &ida, EXPIRES, &r);
	set_mtime(p, 1700000000);
	ck_assert_int_eq(fs_object_read(store, &ida, &o), 0);
	assert_hit(&sc, ta, &ida, EXPIRES, &r, resp, sizeof resp);
	g_free(next);
	g_free(p);
	g_free(store);
}
END_TEST

/* 14. */
START_TEST(get_refuses_old)
{
	static const char resp[] = "Status: 200 OK\r\n\r\nold";
	put0(resp, sizeof resp);
	char *p = entry_path(dir, ta, &ida, &rq0);
	time_t now = time(NULL);
	set_mtime(p, now - PAGEFILE_MAX_AGE + 60);
	hit0(resp, sizeof resp);
	set_mtime(p, now - PAGEFILE_MAX_AGE - 10);
	miss0();
	ck_assert(exists(p));           /* a lookup does not remove it */
	set_mtime(p, now - 10 * PAGEFILE_MAX_AGE);
	miss0();
	set_mtime(p, now - PAGEFILE_MAX_AGE + 60);
	hit0(resp, sizeof resp);
	/* Written again: young again. */
	set_mtime(p, now - PAGEFILE_MAX_AGE - 10);
	put0(resp, sizeof resp);
	hit0(resp, sizeof resp);
	g_free(p);
}
END_TEST

/* 15. */
START_TEST(get_refuses_hard_link)
{
	static const char resp[] = "Status: 200 OK\r\n\r\nlinked";
	put0(resp, sizeof resp);
	char *p = entry_path(dir, ta, &ida, &rq0);
	char *other = g_build_filename(tmp, "elsewhere", NULL);
	char *inside = g_build_filename(dir, "README", NULL);
	ck_assert_int_eq(link(p, other), 0);
	struct stat sb;
	stat_ok(p, &sb);
	ck_assert_uint_eq(sb.st_nlink, 2);
	miss0();
	ck_assert_int_eq(unlink(other), 0);
	hit0(resp, sizeof resp);
	/* A second link in the directory itself, and three links. */
	ck_assert_int_eq(link(p, inside), 0);
	miss0();
	ck_assert_int_eq(link(p, other), 0);
	stat_ok(p, &sb);
	ck_assert_uint_eq(sb.st_nlink, 3);
	miss0();
	ck_assert_int_eq(unlink(inside), 0);
	miss0();
	ck_assert_int_eq(unlink(other), 0);
	hit0(resp, sizeof resp);
	/* The entry gone, its other name left: the name is not looked
	 * through. */
	ck_assert_int_eq(link(p, other), 0);
	ck_assert_int_eq(unlink(p), 0);
	miss0();
	g_free(inside);
	g_free(other);
	g_free(p);
}
END_TEST

/* 16. */
START_TEST(get_refuses_dir)
{
	static const char resp[] = "Status: 200 OK\r\n\r\ndir";
	put0(resp, sizeof resp);
	hit0(resp, sizeof resp);
	static const mode_t refused[] = { 0770, 0707, 0720, 0702, 0777, 0730 };
	for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
		ck_assert_int_eq(chmod(dir, refused[i]), 0);
		miss0();
		ck_assert_int_eq(chmod(dir, 0700), 0);
		hit0(resp, sizeof resp);
	}
	/* Others may read it: still this user's alone to write. */
	ck_assert_int_eq(chmod(dir, 0755), 0);
	hit0(resp, sizeof resp);
	ck_assert_int_eq(chmod(dir, 0700), 0);

	/* Through a symbolic link to the real directory. */
	char *link_dir = g_build_filename(tmp, "cache-link", NULL);
	ck_assert_int_eq(symlink(dir, link_dir), 0);
	struct pagefile_scope s = sc;
	s.dir = link_dir;
	assert_miss(&s, ta, &ida, EXPIRES, &rq0);
	char *rel_link = g_build_filename(tmp, "cache-rel", NULL);
	ck_assert_int_eq(symlink("cache", rel_link), 0);
	s.dir = rel_link;
	assert_miss(&s, ta, &ida, EXPIRES, &rq0);
	hit0(resp, sizeof resp);

	/* No directory at all, an empty or no name. */
	char *missing = g_build_filename(tmp, "missing", NULL);
	s.dir = missing;
	assert_miss(&s, ta, &ida, EXPIRES, &rq0);
	ck_assert(!exists(missing));    /* get makes no directory */
	s.dir = "";
	assert_miss(&s, ta, &ida, EXPIRES, &rq0);
	s.dir = NULL;
	assert_miss(&s, ta, &ida, EXPIRES, &rq0);
	g_free(missing);
	g_free(rel_link);
	g_free(link_dir);
}
END_TEST

/* 17. Another user's directory or entry (the test runs as root: a chown
 * to another uid). */
#define OTHER_UID ((uid_t)65534)
START_TEST(get_refuses_other_owner)
{
	static const char resp[] = "Status: 200 OK\r\n\r\nowner";
	put0(resp, sizeof resp);
	char *p = entry_path(dir, ta, &ida, &rq0);
	struct stat sb;
	stat_ok(dir, &sb);
	ck_assert_uint_eq(sb.st_uid, geteuid());
	uid_t uid = sb.st_uid;
	gid_t gid = sb.st_gid;
	ck_assert_uint_ne(OTHER_UID, geteuid());

	ck_assert_int_eq(chown(dir, OTHER_UID, (gid_t)-1), 0);
	miss0();
	ck_assert_int_eq(chown(dir, uid, gid), 0);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	hit0(resp, sizeof resp);

	stat_ok(p, &sb);
	ck_assert_uint_eq(sb.st_uid, geteuid());
	ck_assert_int_eq(chown(p, OTHER_UID, (gid_t)-1), 0);
	miss0();
	/* Another group is not another user. */
	ck_assert_int_eq(chown(p, uid, (gid_t)65534), 0);
	hit0(resp, sizeof resp);
	ck_assert_int_eq(chown(p, uid, sb.st_gid), 0);
	hit0(resp, sizeof resp);
	g_free(p);
}
END_TEST

/* 18. */
START_TEST(put_refuses_dir)
{
	static const char resp[] = "Status: 200 OK\r\n\r\nput";
	static const mode_t refused[] = { 0770, 0707, 0720, 0702 };
	for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
		ck_assert_int_eq(chmod(dir, refused[i]), 0);
		errno = 0;
		ck_assert_int_eq(pagefile_put(&sc, ta, &ida, EXPIRES, &rq0, resp,
		    sizeof resp), -1);
		ck_assert_int_eq(errno, EPERM);
		ck_assert_int_eq(count_dir(dir), 0);
		struct stat sb;
		stat_ok(dir, &sb);
		ck_assert_int_eq(sb.st_mode & 07777, refused[i]); /* untouched */
		ck_assert_int_eq(chmod(dir, 0700), 0);
		miss0();
	}

	/* Another user's. */
	struct stat sb;
	stat_ok(dir, &sb);
	ck_assert_int_eq(chown(dir, OTHER_UID, (gid_t)-1), 0);
	errno = 0;
	ck_assert_int_eq(pagefile_put(&sc, ta, &ida, EXPIRES, &rq0, resp,
	    sizeof resp), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(count_dir(dir), 0);
	ck_assert_int_eq(chown(dir, sb.st_uid, sb.st_gid), 0);
	ck_assert_int_eq(chmod(dir, 0700), 0);

	/* Through a symbolic link: refused, nothing written in the real
	 * directory, and the link left a link (no directory made there). */
	char *link_dir = g_build_filename(tmp, "cache-link", NULL);
	ck_assert_int_eq(symlink(dir, link_dir), 0);
	struct pagefile_scope s = sc;
	s.dir = link_dir;
	ck_assert_int_eq(pagefile_put(&s, ta, &ida, EXPIRES, &rq0, resp,
	    sizeof resp), -1);
	ck_assert_int_eq(count_dir(dir), 0);
	struct stat lb;
	stat_ok(link_dir, &lb);
	ck_assert(S_ISLNK(lb.st_mode));
	/* A dangling one: no directory made at its target either. */
	char *target = g_build_filename(tmp, "target", NULL);
	char *dangling = g_build_filename(tmp, "dangling", NULL);
	ck_assert_int_eq(symlink(target, dangling), 0);
	s.dir = dangling;
	ck_assert_int_eq(pagefile_put(&s, ta, &ida, EXPIRES, &rq0, resp,
	    sizeof resp), -1);
	ck_assert(!exists(target));
	stat_ok(dangling, &lb);
	ck_assert(S_ISLNK(lb.st_mode));

	/* All refusals undone: the same put works. */
	put0(resp, sizeof resp);
	hit0(resp, sizeof resp);
	ck_assert_int_eq(count_dir(dir), 1);
	g_free(dangling);
	g_free(target);
	g_free(link_dir);
}
END_TEST

/* 19. sweep and forget open the directory itself, not a link to it. */
START_TEST(sweep_forget_refuse_link)
{
	char *paths[3];
	time_t now = time(NULL);
	put_many(ta, &ida, 3, paths);
	char *tmpfile = g_build_filename(dir, ".tmp-1-0011223344556677", NULL);
	ck_assert(g_file_set_contents(tmpfile, "leftover", 8, NULL));
	for (int i = 0; i < 3; i++)
		set_mtime(paths[i], now - 10 * PAGEFILE_MAX_AGE);
	set_mtime(tmpfile, now - 10 * PAGEFILE_MAX_AGE);
	char *link_dir = g_build_filename(tmp, "cache-link", NULL);
	ck_assert_int_eq(symlink(dir, link_dir), 0);

	ck_assert_int_eq(pagefile_sweep(link_dir, 0, 1, now, NULL, NULL), -1);
	ck_assert_int_eq(pagefile_forget(link_dir, &ida), -1);
	for (int i = 0; i < 3; i++)
		ck_assert(exists(paths[i]));
	ck_assert(exists(tmpfile));
	ck_assert_int_eq(count_dir(dir), 4);
	char *rel_link = g_build_filename(tmp, "cache-rel", NULL);
	ck_assert_int_eq(symlink("cache", rel_link), 0);
	ck_assert_int_eq(pagefile_sweep(rel_link, 0, 1, now, NULL, NULL), -1);
	ck_assert_int_eq(pagefile_forget(rel_link, &ida), -1);
	ck_assert_int_eq(count_dir(dir), 4);

	/* The same calls on the directory itself remove them. */
	ck_assert_int_eq(pagefile_forget(dir, &ida), 3);
	ck_assert_int_eq(pagefile_sweep(dir, 0, 1, now, NULL, NULL), 1);
	ck_assert_int_eq(count_dir(dir), 0);
	g_free(rel_link);
	g_free(link_dir);
	g_free(tmpfile);
	free_paths(paths, 3);
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("pagefile", "core", &tc);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, mismatch_misses);
	tcase_add_test(tc, null_is_empty);
	tcase_add_test(tc, damaged_misses);
	tcase_add_test(tc, oversized_not_kept);
	tcase_add_test(tc, put_creates_dir);
	tcase_add_test(tc, forget_one_object);
	tcase_add_test(tc, sweep_fresh_and_old);
	tcase_add_test(tc, sweep_reports_undeletable);
	tcase_add_test(tc, sweep_budget_oldest_first);
	tcase_add_test(tc, sweep_dead_objects);
	tcase_add_test(tc, sweep_leftovers_and_others);
	tcase_add_test(tc, config_digest);
	tcase_add_test(tc, object_binds);
	tcase_add_test(tc, program_id_binds);
	tcase_add_test(tc, program_id_of_file);
	tcase_add_test(tc, object_read);
	tcase_add_test(tc, object_read_binds_entry);
	tcase_add_test(tc, get_refuses_old);
	tcase_add_test(tc, get_refuses_hard_link);
	tcase_add_test(tc, get_refuses_dir);
	tcase_add_test(tc, get_refuses_other_owner);
	tcase_add_test(tc, put_refuses_dir);
	tcase_add_test(tc, sweep_forget_refuse_link);
	return check_run(s);
}
