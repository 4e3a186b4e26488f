/* The read state (readstate.h, store.h): counts per route, concurrent
 * updates from processes and threads, a writer killed in the middle, torn
 * and truncated records, the receipt's claim, the rate limit, and a
 * backend without the state. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>
#include "config.h"
#include "readstate.h"
#include "store.h"
#include "store_backend.h"
#include "tests/lib/check_main.h"

#define T0 1800000000

static char *dir;
static struct config *cfg;
static struct storage_id id1;

static void
setup(void)
{
	ck_assert_int_eq(token_init(), 0);
	dir = g_dir_make_tmp("pullmail-test-readstate-XXXXXX", NULL);
	ck_assert_ptr_nonnull(dir);
	chmod(dir, 0750);
	cfg = config_defaults();
	g_free(cfg->store_dir);
	cfg->store_dir = g_strdup(dir);
	memcpy(id1.hex, "ab0123456789abcdef0123456789abcd", sizeof id1.hex);
	/* Opened for writing once, the store has its fan-out directories,
	 * as it has where the objects live. */
	char *err = NULL;
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
	ck_assert_msg(st != NULL, "%s", err);
	store_close(st);
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

static struct store *
open_store(void)
{
	char *err = NULL;
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
	ck_assert_msg(st != NULL, "%s", err);
	return st;
}

static struct readstate
get_state(struct store *st, const struct storage_id *id, bool *found)
{
	struct readstate rs;
	ck_assert_int_eq(store_readstate_get(st, id, &rs, found), STORE_OK);
	return rs;
}

static char *
state_path(const struct storage_id *id)
{
	char rel[READSTATE_FS_PATH_MAX];
	readstate_fs_path(id, rel);
	return g_strdup_printf("%s/%s", dir, rel);
}

START_TEST(counts_per_route)
{
	struct store *st = open_store();
	bool found = true;
	struct readstate rs = get_state(st, &id1, &found);

	ck_assert(!found);
	ck_assert(!readstate_was_read(&rs));
	ck_assert_int_eq(store_readstate_record(st, &id1, READSTATE_PAGE,
	    T0 + 10), STORE_OK);
	ck_assert_int_eq(store_readstate_record(st, &id1, READSTATE_PAGE,
	    T0 + 30), STORE_OK);
	ck_assert_int_eq(store_readstate_record(st, &id1, READSTATE_EML,
	    T0 + 20), STORE_OK);
	rs = get_state(st, &id1, &found);
	ck_assert(found);
	ck_assert_uint_eq(rs.route[READSTATE_PAGE].count, 2);
	ck_assert_int_eq(rs.route[READSTATE_PAGE].first, T0 + 10);
	ck_assert_int_eq(rs.route[READSTATE_PAGE].last, T0 + 30);
	ck_assert_uint_eq(rs.route[READSTATE_EML].count, 1);
	ck_assert_int_eq(rs.route[READSTATE_EML].first, T0 + 20);
	ck_assert_uint_eq(rs.route[READSTATE_PART].count, 0);
	int64_t first, last;
	uint64_t count;
	readstate_totals(&rs, &first, &last, &count);
	ck_assert_int_eq(first, T0 + 10);
	ck_assert_int_eq(last, T0 + 30);
	ck_assert_uint_eq(count, 3);
	ck_assert_int_eq(rs.receipt, READSTATE_RECEIPT_NONE);

	/* Beside the object, a fixed size, and nothing of a reader. */
	char *p = state_path(&id1);
	struct stat sb;
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_eq(sb.st_size, READSTATE_FILE_SIZE);
	ck_assert_int_eq(sb.st_mode & 0777, 0640);
	g_free(p);

	ck_assert_int_eq(store_readstate_remove(st, &id1), STORE_OK);
	rs = get_state(st, &id1, &found);
	ck_assert(!found);
	ck_assert_int_eq(store_readstate_remove(st, &id1), STORE_OK);
	store_close(st);
}
END_TEST

#define PROCS 4
#define THREADS 4
#define PER_WORKER 400

static int
add_part(struct readstate *rs, void *ctx)
{
	readstate_add_fetch(rs, READSTATE_PART, *(int64_t *)ctx);
	return 0;
}

/* The path of a process that keeps no record open (a CGI process, the
 * CGI front): open, lock, read, write, close. */
static void *
thread_plain_updates(void *arg)
{
	int dirfd = *(int *)arg;
	for (int i = 0; i < PER_WORKER; i++) {
		int64_t t = T0 + i;
		if (readstate_fs_update(dirfd, &id1, add_part, &t, false) != 0)
			return (void *)1;
	}
	return NULL;
}

static void *
thread_updates(void *arg)
{
	struct store *st = arg;
	for (int i = 0; i < PER_WORKER; i++)
		if (store_readstate_record(st, &id1, READSTATE_PART,
		    T0 + i) != STORE_OK)
			return (void *)1;
	return NULL;
}

/* Several processes, each with threads of its own and a store of its
 * own, as FastCGI responders (records kept mapped) and CGI processes
 * (records opened each time) are: no update is lost. */
START_TEST(concurrent_updates_exact_total)
{
	pid_t pids[PROCS];

	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		ck_assert_int_ge(pids[p], 0);
		if (pids[p] == 0) {
			char *err = NULL;
			struct store *st = store_open(cfg, STORE_READ_ONLY,
			    &err);
			pthread_t th[THREADS];
			int bad = st == NULL;
			int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
			for (int t = 0; !bad && t < THREADS; t++)
				bad |= (p % 2 == 0 ?
				    pthread_create(&th[t], NULL, thread_updates,
				    st) : pthread_create(&th[t], NULL,
				    thread_plain_updates, &dirfd)) != 0;
			for (int t = 0; !bad && t < THREADS; t++) {
				void *r;
				pthread_join(th[t], &r);
				bad |= r != NULL;
			}
			_exit(bad);
		}
	}
	for (int p = 0; p < PROCS; p++) {
		int status;
		ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	struct store *st = open_store();
	bool found;
	struct readstate rs = get_state(st, &id1, &found);
	ck_assert(found);
	ck_assert_uint_eq(rs.route[READSTATE_PART].count,
	    PROCS * THREADS * PER_WORKER);
	ck_assert_int_eq(rs.route[READSTATE_PART].first, T0);
	ck_assert_int_eq(rs.route[READSTATE_PART].last, T0 + PER_WORKER - 1);
	store_close(st);
}
END_TEST

/* A writer killed at any moment of its updates: the state stays readable
 * and holds every update the writer finished (or one more, finished
 * before the kill but not yet reported), and counting goes on. */
START_TEST(killed_writer_leaves_readable_state)
{
	for (int round = 0; round < 5; round++) {
		int fds[2];
		bool found;
		/* The count before the writer starts. */
		struct store *st = open_store();
		struct readstate before = get_state(st, &id1, &found);
		ck_assert_int_eq(pipe(fds), 0);
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(fds[0]);
			char *err = NULL;
			struct store *cst = store_open(cfg, STORE_READ_ONLY,
			    &err);
			if (cst == NULL)
				_exit(1);
			for (uint32_t n = 1;; n++) {
				if (store_readstate_record(cst, &id1,
				    READSTATE_PAGE, T0) != STORE_OK)
					_exit(1);
				if (write(fds[1], &n, sizeof n) != sizeof n)
					_exit(1);
			}
		}
		close(fds[1]);
		/* Killed once it is under way (its first update reported),
		 * at a different moment of its loop each round. */
		uint32_t n, done = 0;
		if (read(fds[0], &n, sizeof n) == sizeof n)
			done = n;
		struct timespec ts = { 0, (20 + round * 7) * 1000 * 1000 };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		ck_assert(WIFSIGNALED(status));
		while (read(fds[0], &n, sizeof n) == sizeof n)
			done = n;
		close(fds[0]);
		ck_assert_uint_gt(done, 0);
		struct readstate rs = get_state(st, &id1, &found);
		ck_assert(found);
		uint64_t got = rs.route[READSTATE_PAGE].count -
		    before.route[READSTATE_PAGE].count;
		ck_assert_msg(got == done || got == done + 1,
		    "after the kill: %llu counted, %u reported",
		    (unsigned long long)got, done);
		ck_assert_int_eq(store_readstate_record(st, &id1,
		    READSTATE_PAGE, T0), STORE_OK);
		struct readstate after = get_state(st, &id1, &found);
		ck_assert_uint_eq(after.route[READSTATE_PAGE].count,
		    rs.route[READSTATE_PAGE].count + 1);
		store_close(st);
	}
}
END_TEST

/* The slot the last update went to, torn (its second half overwritten as
 * a crash in the middle of the write could leave it): the reader falls
 * back on the other slot, losing that one update. */
START_TEST(torn_record_falls_back)
{
	struct store *st = open_store();
	bool found;

	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(store_readstate_record(st, &id1,
		    READSTATE_EML, T0 + i), STORE_OK);
	char *p = state_path(&id1);
	unsigned char buf[READSTATE_FILE_SIZE];
	int fd = open(p, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, sizeof buf, 0), sizeof buf);
	/* 5 updates: slots 0,1,0,1,0, the last in slot 0. */
	struct readstate s0, s1;
	uint64_t q0, q1;
	ck_assert_int_eq(readstate_decode(buf, &s0, &q0), 0);
	ck_assert_int_eq(readstate_decode(buf + READSTATE_SLOT_SIZE, &s1,
	    &q1), 0);
	ck_assert_uint_eq(q0, 5);
	ck_assert_uint_eq(q1, 4);
	unsigned char junk[READSTATE_SLOT_SIZE / 2];
	memset(junk, 0x5a, sizeof junk);
	ck_assert_int_eq(pwrite(fd, junk, sizeof junk,
	    READSTATE_SLOT_SIZE / 2), sizeof junk);
	struct readstate rs = get_state(st, &id1, &found);
	ck_assert(found);
	ck_assert_uint_eq(rs.route[READSTATE_EML].count, 4);
	ck_assert_int_eq(rs.route[READSTATE_EML].last, T0 + 3);

	/* The next update starts from there and goes over the torn slot. */
	ck_assert_int_eq(store_readstate_record(st, &id1, READSTATE_EML,
	    T0 + 9), STORE_OK);
	rs = get_state(st, &id1, &found);
	ck_assert_uint_eq(rs.route[READSTATE_EML].count, 5);
	ck_assert_int_eq(rs.route[READSTATE_EML].last, T0 + 9);

	/* Both slots torn, or the file cut short: an empty state, not an
	 * error, and counting starts again. */
	unsigned char big[READSTATE_FILE_SIZE];
	memset(big, 0xa5, sizeof big);
	ck_assert_int_eq(pwrite(fd, big, sizeof big, 0), sizeof big);
	rs = get_state(st, &id1, &found);
	ck_assert(found);
	ck_assert(!readstate_was_read(&rs));
	ck_assert_int_eq(ftruncate(fd, 10), 0);
	rs = get_state(st, &id1, &found);
	ck_assert(!readstate_was_read(&rs));
	ck_assert_int_eq(store_readstate_record(st, &id1, READSTATE_PAGE, T0),
	    STORE_OK);
	rs = get_state(st, &id1, &found);
	ck_assert_uint_eq(rs.route[READSTATE_PAGE].count, 1);
	close(fd);
	g_free(p);
	store_close(st);
}
END_TEST

START_TEST(bad_record_refused_by_decode)
{
	struct readstate rs = { 0 }, out;
	unsigned char slot[READSTATE_SLOT_SIZE];
	uint64_t seq;

	rs.route[READSTATE_PAGE].count = 7;
	readstate_encode(&rs, 3, slot);
	ck_assert_int_eq(readstate_decode(slot, &out, &seq), 0);
	ck_assert_uint_eq(seq, 3);
	ck_assert_uint_eq(out.route[READSTATE_PAGE].count, 7);
	for (size_t i = 0; i < READSTATE_SLOT_SIZE; i += 13) {
		unsigned char bad[READSTATE_SLOT_SIZE];
		memcpy(bad, slot, sizeof bad);
		bad[i] ^= 0x01;
		ck_assert_msg(readstate_decode(bad, &out, &seq) != 0,
		    "a flipped bit at %zu was not noticed", i);
	}
}
END_TEST

START_TEST(receipt_claimed_once)
{
	struct store *st = open_store();
	enum readstate_receipt prior;
	bool found;

	ck_assert_int_eq(store_readstate_receipt_claim(st, &id1,
	    READSTATE_RECEIPT_SENT, T0, &prior), STORE_OK);
	ck_assert_int_eq(prior, READSTATE_RECEIPT_NONE);
	ck_assert_int_eq(store_readstate_receipt_claim(st, &id1,
	    READSTATE_RECEIPT_SENT, T0 + 1, &prior), STORE_EXISTS);
	ck_assert_int_eq(prior, READSTATE_RECEIPT_SENT);
	ck_assert_int_eq(store_readstate_receipt_claim(st, &id1,
	    READSTATE_RECEIPT_REFUSED, T0 + 1, &prior), STORE_EXISTS);
	struct readstate rs = get_state(st, &id1, &found);
	ck_assert_int_eq(rs.receipt, READSTATE_RECEIPT_SENT);
	ck_assert_int_eq(rs.receipt_at, T0);
	/* A failed send gives the claim back. */
	ck_assert_int_eq(store_readstate_receipt_undo(st, &id1), STORE_OK);
	ck_assert_int_eq(store_readstate_receipt_claim(st, &id1,
	    READSTATE_RECEIPT_REFUSED, T0 + 2, &prior), STORE_OK);
	rs = get_state(st, &id1, &found);
	ck_assert_int_eq(rs.receipt, READSTATE_RECEIPT_REFUSED);
	store_close(st);
}
END_TEST

/* Many processes claim at once: exactly one wins. */
START_TEST(receipt_claim_race)
{
	enum { N = 8 };
	pid_t pids[N];
	int won = 0;

	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			char *err = NULL;
			struct store *st = store_open(cfg, STORE_READ_ONLY,
			    &err);
			enum readstate_receipt prior;
			if (st == NULL)
				_exit(2);
			enum store_status s = store_readstate_receipt_claim(st,
			    &id1, READSTATE_RECEIPT_SENT, T0, &prior);
			_exit(s == STORE_OK ? 0 : s == STORE_EXISTS ? 1 : 2);
		}
	}
	for (int i = 0; i < N; i++) {
		int status;
		waitpid(pids[i], &status, 0);
		ck_assert(WIFEXITED(status));
		ck_assert_int_ne(WEXITSTATUS(status), 2);
		won += WEXITSTATUS(status) == 0;
	}
	ck_assert_int_eq(won, 1);
}
END_TEST

START_TEST(rate_limit_window)
{
	struct store *st = open_store();
	bool ok;

	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(store_readstate_rate_take(st, T0 + i, 3600, 3,
		    &ok), STORE_OK);
		ck_assert(ok);
	}
	ck_assert_int_eq(store_readstate_rate_take(st, T0 + 10, 3600, 3, &ok),
	    STORE_OK);
	ck_assert(!ok);
	ck_assert_int_eq(store_readstate_rate_take(st, T0 + 3600, 3600, 3,
	    &ok), STORE_OK);
	ck_assert(ok);
	ck_assert_int_eq(store_readstate_rate_take(st, T0 + 3601, 3600, 0,
	    &ok), STORE_OK);
	ck_assert(!ok);
	store_close(st);
}
END_TEST

/* A record removed (gc) or cut short while this process keeps it mapped:
 * the next count goes to the record as it now is, not to the old one. */
START_TEST(kept_record_removed_or_cut)
{
	struct store *st = open_store();
	bool found;

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(store_readstate_record(st, &id1,
		    READSTATE_PAGE, T0), STORE_OK);
	ck_assert_int_eq(store_readstate_remove(st, &id1), STORE_OK);
	ck_assert_int_eq(store_readstate_record(st, &id1, READSTATE_PAGE,
	    T0 + 5), STORE_OK);
	struct readstate rs = get_state(st, &id1, &found);
	ck_assert(found);
	ck_assert_uint_eq(rs.route[READSTATE_PAGE].count, 1);
	ck_assert_int_eq(rs.route[READSTATE_PAGE].first, T0 + 5);
	char *p = state_path(&id1);
	ck_assert_int_eq(truncate(p, 0), 0);
	ck_assert_int_eq(store_readstate_record(st, &id1, READSTATE_PAGE,
	    T0 + 6), STORE_OK);
	rs = get_state(st, &id1, &found);
	ck_assert_uint_eq(rs.route[READSTATE_PAGE].count, 1);
	ck_assert_int_eq(rs.route[READSTATE_PAGE].first, T0 + 6);
	/* More records than the process keeps open: every count lands. */
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 40; i++) {
			struct storage_id other;
			snprintf(other.hex, sizeof other.hex, "ab%030d", i);
			ck_assert_int_eq(store_readstate_record(st, &other,
			    READSTATE_EML, T0), STORE_OK);
		}
	for (int i = 0; i < 40; i++) {
		struct storage_id other;
		snprintf(other.hex, sizeof other.hex, "ab%030d", i);
		rs = get_state(st, &other, &found);
		ck_assert_uint_eq(rs.route[READSTATE_EML].count, 2);
	}
	g_free(p);
	store_close(st);
}
END_TEST

/* A backend without the read state ops records nothing and refuses
 * receipts (their once-only rule needs the record). */
static const struct store_ops bare_ops = { .name = "bare" };

START_TEST(backend_without_state)
{
	struct store bare = { &bare_ops };
	struct readstate rs;
	enum readstate_receipt prior;
	bool found = true, ok = true;

	ck_assert(!store_readstate_supported(&bare));
	ck_assert_int_eq(store_readstate_record(&bare, &id1, READSTATE_PAGE,
	    T0), STORE_OK);
	ck_assert_int_eq(store_readstate_get(&bare, &id1, &rs, &found),
	    STORE_OK);
	ck_assert(!found);
	ck_assert(!readstate_was_read(&rs));
	ck_assert_int_eq(store_readstate_receipt_claim(&bare, &id1,
	    READSTATE_RECEIPT_SENT, T0, &prior), STORE_BAD_CONFIG);
	ck_assert_int_eq(store_readstate_rate_take(&bare, T0, 60, 1, &ok),
	    STORE_BAD_CONFIG);
	ck_assert(!ok);
	ck_assert_int_eq(store_readstate_remove(&bare, &id1), STORE_OK);
}
END_TEST

/* A symbolic link in the record's place is not followed. */
START_TEST(symlink_refused)
{
	struct store *st = open_store();
	char *p = state_path(&id1);
	char *target = g_strdup_printf("%s/elsewhere", dir);

	ck_assert_int_eq(symlink(target, p), 0);
	ck_assert_int_ne(store_readstate_record(st, &id1, READSTATE_PAGE, T0),
	    STORE_OK);
	ck_assert_int_ne(access(target, F_OK), 0);
	g_free(p);
	g_free(target);
	store_close(st);
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("readstate", "readstate", &tc);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, counts_per_route);
	tcase_add_test(tc, concurrent_updates_exact_total);
	tcase_add_test(tc, killed_writer_leaves_readable_state);
	tcase_add_test(tc, torn_record_falls_back);
	tcase_add_test(tc, bad_record_refused_by_decode);
	tcase_add_test(tc, receipt_claimed_once);
	tcase_add_test(tc, receipt_claim_race);
	tcase_add_test(tc, rate_limit_window);
	tcase_add_test(tc, backend_without_state);
	tcase_add_test(tc, symlink_refused);
	tcase_add_test(tc, kept_record_removed_or_cut);
	return check_run(s);
}
