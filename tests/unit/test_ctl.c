/* pullmailctl's commands, called in-process on a real fs store: gc over
 * 10,000 objects of mixed expiry (dry run and real run report the same
 * counts, exactly the due ones go), gc while a forked writer commits 1,000
 * objects, revoke, keep (capped by MaxRetention), show with wrong and
 * malformed links, check on a store with wrong modes, list and stats.
 *
 * "test_ctl populate CONFIG LIVE EXPIRED" creates objects for the
 * integration test (tests/integration/test_ctl.sh) and prints one line
 * "LINKTOKEN STORAGEID live|expired" per object. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "tools/ctl.h"
#include "tests/lib/check_main.h"

#define DAY CTL_DAY
#define RETENTION (90 * DAY)
#define MIXED_COUNT 10000
#define WRITER_COUNT 1000

static char base_dir[4096];
static char store_dir[4200];
static char conf_path[4200];
static struct config *cfg;

static void
write_config(const char *path, const char *dir)
{
	FILE *f = fopen(path, "w");
	struct passwd *pw = getpwuid(geteuid());

	ck_assert_ptr_nonnull(f);
	fprintf(f, "[store]\nStoreDir = %s\nMaxRetention = 90d\n\n"
	    "[milter]\nUserID = %s\n", dir, pw != NULL ? pw->pw_name : "root");
	ck_assert_int_eq(fclose(f), 0);
}

/* A fresh store for every test: under $PULLMAIL_CTL_TEST_DIR if set, else
 * on tmpfs (/dev/shm) if there is one, else under $O/run. Objects go
 * through the real commit path either way; on tmpfs its fsyncs cost
 * nothing, which keeps 10,000 commits (a file and a directory fsync each,
 * about 150 s on this disk) within seconds. */
static void
setup(void)
{
	const char *o = getenv("O"), *dir = getenv("PULLMAIL_CTL_TEST_DIR");
	struct stat sb;
	char *err = NULL;

	if (dir != NULL && *dir != '\0')
		snprintf(base_dir, sizeof(base_dir), "%s/XXXXXX", dir);
	else if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    access("/dev/shm", W_OK) == 0)
		snprintf(base_dir, sizeof(base_dir),
		    "/dev/shm/pullmail-ctl-unit/XXXXXX");
	else
		snprintf(base_dir, sizeof(base_dir), "%s/run/ctl-unit/XXXXXX",
		    o != NULL && *o != '\0' ? o : ".");
	{
		char *cmd;

		ck_assert_int_ge(asprintf(&cmd, "mkdir -p '%.*s'",
		    (int)(strlen(base_dir) - 7), base_dir), 0);
		ck_assert_int_eq(system(cmd), 0);
		free(cmd);
	}
	ck_assert_ptr_nonnull(mkdtemp(base_dir));
	snprintf(store_dir, sizeof(store_dir), "%s/store", base_dir);
	snprintf(conf_path, sizeof(conf_path), "%s/pullmail.conf", base_dir);
	ck_assert_int_eq(mkdir(store_dir, 0750), 0);
	ck_assert_int_eq(chmod(store_dir, 0750), 0);
	write_config(conf_path, store_dir);
	cfg = config_load(conf_path, &err);
	if (cfg == NULL)
		ck_abort_msg("config_load: %s", err);
	ck_assert_int_eq(cfg->max_retention, RETENTION);
}

static void
teardown(void)
{
	char *cmd;

	if (cfg != NULL)
		config_unref(cfg);
	cfg = NULL;
	if (asprintf(&cmd, "rm -rf '%s'", base_dir) >= 0) {
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", base_dir);
		free(cmd);
	}
}

static struct store *
open_store(void)
{
	char *err = NULL;
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);

	if (st == NULL)
		ck_abort_msg("store_open: %s", err);
	return st;
}

/* Seals body through the real commit path; returns the token (caller
 * frees) or NULL with tok_out NULL. */
static struct token *
make_object(struct store *st, int64_t created, int64_t expires,
    const char *body, size_t len, struct storage_id *id)
{
	struct sealed_writer *w;
	struct token *t;

	ck_assert_int_eq(sealed_create(st, created, expires, &w, &t, id),
	    SEALED_OK);
	ck_assert_int_eq(sealed_write(w, body, len), SEALED_OK);
	ck_assert_int_eq(sealed_commit(w), SEALED_OK);
	return t;
}

static void
ctl_init(struct ctl *c, FILE *out, FILE *err)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->config_path = conf_path;
	c->out = out;
	c->err = err;
	c->now = (int64_t)time(NULL);
}

static int
count_one(const struct storage_id *id, uint64_t size, void *ctx)
{
	(void)id;
	(void)size;
	(*(unsigned long *)ctx)++;
	return 0;
}

static unsigned long
count_objects(struct store *st)
{
	unsigned long n = 0;

	ck_assert_int_eq(store_iterate(st, count_one, &n), STORE_OK);
	return n;
}

struct size_sum {
	GHashTable *due;
	uint64_t bytes;
};

static int
sum_due(const struct storage_id *id, uint64_t size, void *ctx)
{
	struct size_sum *s = ctx;

	if (g_hash_table_contains(s->due, id->hex))
		s->bytes += size;
	return 0;
}

/* 10,000 objects: expired, capped by MaxRetention, live, revoked recently
 * and revoked long ago. gc --dry-run removes nothing and reports what gc
 * then removes: exactly the due ones. */
START_TEST(gc_mixed_expiries)
{
	struct store *st = open_store();
	GHashTable *due = g_hash_table_new_full(g_str_hash, g_str_equal,
	    g_free, NULL);
	GPtrArray *kept = g_ptr_array_new_with_free_func(g_free);
	struct ctl_gc_counts dry, real;
	struct size_sum sum;
	struct ctl c;
	int64_t now = (int64_t)time(NULL);
	char body[300];
	unsigned i;
	struct timespec t0, t1;
	FILE *out = tmpfile();

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < MIXED_COUNT; i++) {
		struct storage_id id;
		struct token *t;
		int64_t created, expires;
		bool is_due;

		memset(body, 'a' + i % 26, sizeof(body));
		switch (i % 10) {
		case 0: case 1: case 2:   /* expired a while ago */
			created = now - 10 * DAY;
			expires = now - DAY + i;
			is_due = true;
			break;
		case 3:   /* expires in 10 days, but created 100 days ago */
			created = now - 100 * DAY;
			expires = now + 10 * DAY;
			is_due = true;
			break;
		case 8:   /* revoked yesterday: tombstone stays */
		case 9:   /* revoked, created 91 days ago: tombstone goes */
			created = now - ((i % 10) == 8 ? DAY : 91 * DAY);
			expires = now + DAY;
			is_due = (i % 10) == 9;
			break;
		default:  /* live: an hour to 30 days left */
			created = now - DAY;
			expires = now + 3600 + (int64_t)(i % 30) * DAY;
			is_due = false;
			break;
		}
		t = make_object(st, created, expires, body,
		    100 + i % 200, &id);
		token_free(t);
		if (i % 10 >= 8)
			ck_assert_int_eq(sealed_revoke(st, &id, now),
			    SEALED_OK);
		if (is_due)
			g_hash_table_add(due, g_strdup(id.hex));
		else
			g_ptr_array_add(kept, g_strdup(id.hex));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "gc_mixed_expiries: %u objects created (%u revoked) "
	    "in %.1f s\n", MIXED_COUNT, MIXED_COUNT / 5,
	    (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	ck_assert_uint_eq(g_hash_table_size(due), MIXED_COUNT / 2);
	sum.due = due;
	sum.bytes = 0;
	ck_assert_int_eq(store_iterate(st, sum_due, &sum), STORE_OK);

	ctl_init(&c, out, stderr);
	ck_assert_int_eq(ctl_gc(&c, true, false, &dry), EX_OK);
	ck_assert_uint_eq(count_objects(st), MIXED_COUNT);
	ck_assert_uint_eq(dry.examined, MIXED_COUNT);
	ck_assert_uint_eq(dry.removed, MIXED_COUNT / 2);
	ck_assert_uint_eq(dry.removed_bytes, sum.bytes);
	ck_assert_uint_eq(dry.kept, MIXED_COUNT / 2);
	ck_assert_uint_eq(dry.unreadable, 0);

	ck_assert_int_eq(ctl_gc(&c, false, false, &real), EX_OK);
	ck_assert_uint_eq(real.examined, dry.examined);
	ck_assert_uint_eq(real.removed, dry.removed);
	ck_assert_uint_eq(real.removed_bytes, dry.removed_bytes);
	ck_assert_uint_eq(real.kept, dry.kept);
	ck_assert_uint_eq(real.failed, 0);
	ck_assert_uint_eq(count_objects(st), MIXED_COUNT / 2);
	for (i = 0; i < kept->len; i++) {
		struct storage_id id;
		struct envelope_meta m;

		ck_assert_int_eq(storage_id_parse(kept->pdata[i], &id), 0);
		ck_assert_int_eq(sealed_meta(st, &id, &m), SEALED_OK);
	}
	{
		GHashTableIter it;
		gpointer key;

		g_hash_table_iter_init(&it, due);
		while (g_hash_table_iter_next(&it, &key, NULL)) {
			struct storage_id id;
			struct envelope_meta m;

			ck_assert_int_eq(storage_id_parse(key, &id), 0);
			ck_assert_int_eq(sealed_meta(st, &id, &m),
			    SEALED_NOT_FOUND);
		}
	}
	/* The printed line carries the same counts. */
	{
		char line[512];
		char want[128];

		rewind(out);
		ck_assert_ptr_nonnull(fgets(line, sizeof(line), out));
		snprintf(want, sizeof(want), "would remove %u objects (%llu "
		    "bytes)", MIXED_COUNT / 2, (unsigned long long)sum.bytes);
		ck_assert_msg(strstr(line, want) != NULL, "%s", line);
		ck_assert_ptr_nonnull(fgets(line, sizeof(line), out));
		snprintf(want, sizeof(want), "removed %u objects (%llu "
		    "bytes)", MIXED_COUNT / 2, (unsigned long long)sum.bytes);
		ck_assert_msg(strstr(line, want) != NULL, "%s", line);
	}
	/* Nothing left to do. */
	ck_assert_int_eq(ctl_gc(&c, false, false, &real), EX_OK);
	ck_assert_uint_eq(real.removed, 0);
	fclose(out);
	g_hash_table_destroy(due);
	g_ptr_array_free(kept, TRUE);
	store_close(st);
}
END_TEST

/* Reads back everything written to a memstream. */
struct capture {
	char *buf;
	size_t len;
	FILE *f;
};

static void
cap_open(struct capture *cp)
{
	cp->buf = NULL;
	cp->len = 0;
	cp->f = open_memstream(&cp->buf, &cp->len);
	ck_assert_ptr_nonnull(cp->f);
}

static const char *
cap_text(struct capture *cp)
{
	fflush(cp->f);
	return cp->buf != NULL ? cp->buf : "";
}

static void
cap_close(struct capture *cp)
{
	fclose(cp->f);
	free(cp->buf);
}

/* Commits raw bytes under a fresh storage id, bypassing the envelope. */
static void
put_raw(struct store *st, const void *buf, size_t len, struct storage_id *id)
{
	struct store_writer *w;
	struct token *t = token_new();

	token_storage_id(t, id);
	token_free(t);
	ck_assert_int_eq(store_write_begin(st, id, &w), STORE_OK);
	ck_assert_int_eq(store_write(w, buf, len), STORE_OK);
	ck_assert_int_eq(store_write_commit(w), STORE_OK);
}

/* Only what parsed as due is deleted: a half-written header (the header of
 * an expired object cut short), a wrong magic and an unknown version stay,
 * counted as unreadable, and list names them. */
START_TEST(gc_leaves_unreadable_objects)
{
	struct store *st = open_store();
	struct storage_id expired, cut, magic, version;
	unsigned char head[ENVELOPE_META_SIZE];
	struct envelope_meta m;
	struct ctl_gc_counts n;
	struct capture out;
	struct ctl c;
	size_t got;
	int64_t now = time(NULL);

	token_free(make_object(st, now - 10 * DAY, now - DAY, "x", 1,
	    &expired));
	ck_assert_int_eq(store_read_head(st, &expired, head, sizeof(head),
	    &got), STORE_OK);
	ck_assert_uint_eq(got, sizeof(head));
	put_raw(st, head, ENVELOPE_EXPIRES_OFFSET + 4, &cut);
	head[0] = 'X';
	put_raw(st, head, sizeof(head), &magic);
	head[0] = 'P';
	head[8] = 99;
	put_raw(st, head, sizeof(head), &version);

	cap_open(&out);
	ctl_init(&c, out.f, stderr);
	ck_assert_int_eq(ctl_gc(&c, false, false, &n), EX_OK);
	ck_assert_uint_eq(n.examined, 4);
	ck_assert_uint_eq(n.removed, 1);
	ck_assert_uint_eq(n.unreadable, 3);
	ck_assert_int_eq(sealed_meta(st, &expired, &m), SEALED_NOT_FOUND);
	ck_assert_int_eq(store_read_head(st, &cut, head, sizeof(head), &got),
	    STORE_OK);
	ck_assert_int_eq(store_read_head(st, &magic, head, sizeof(head), &got),
	    STORE_OK);
	ck_assert_int_eq(store_read_head(st, &version, head, sizeof(head),
	    &got), STORE_OK);
	ck_assert_int_eq(ctl_list(&c, false, false), EX_OK);
	ck_assert_ptr_nonnull(strstr(cap_text(&out), "unreadable: short "
	    "header"));
	cap_close(&out);
	store_close(st);
}
END_TEST

/* The names of the regular files in StoreDir/tmp. */
static GHashTable *
tmp_files(void)
{
	GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	    NULL);
	char path[4300];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "%s/tmp", store_dir);
	d = opendir(path);
	if (d == NULL)
		return h;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			g_hash_table_add(h, g_strdup(e->d_name));
	closedir(d);
	return h;
}

/* Begins a sealed write and returns the path of its new temporary file. */
static char *
begin_in_progress(struct store *st, struct sealed_writer **w,
    struct token **t)
{
	GHashTable *before = tmp_files(), *after;
	GHashTableIter it;
	gpointer key;
	struct storage_id id;
	char *path = NULL;
	static const char part[] = "From: a@example.com\r\n";

	ck_assert_int_eq(sealed_create(st, time(NULL), time(NULL) + DAY, w, t,
	    &id), SEALED_OK);
	ck_assert_int_eq(sealed_write(*w, part, sizeof(part) - 1), SEALED_OK);
	after = tmp_files();
	g_hash_table_iter_init(&it, after);
	while (g_hash_table_iter_next(&it, &key, NULL))
		if (!g_hash_table_contains(before, key))
			ck_assert_int_ge(asprintf(&path, "%s/tmp/%s", store_dir,
			    (char *)key), 0);
	g_hash_table_destroy(before);
	g_hash_table_destroy(after);
	ck_assert_msg(path != NULL, "no temporary file for a write in "
	    "progress in %s/tmp", store_dir);
	return path;
}

static void
age_file(const char *path, int64_t seconds)
{
	struct timeval tv[2];

	tv[0].tv_sec = tv[1].tv_sec = time(NULL) - seconds;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	ck_assert_int_eq(utimes(path, tv), 0);
}

/* gc in a loop while a forked writer commits 1,000 objects: every new one
 * survives, the expired ones go, a write in progress (fresh, or two hours
 * old) is untouched and still commits, a two-day-old temporary file goes. */
START_TEST(gc_during_writes)
{
	struct store *st = open_store();
	struct sealed_writer *w_fresh, *w_2h, *w_2d;
	struct token *t_fresh, *t_2h, *t_2d, *t;
	char *p_fresh, *p_2h, *p_2d;
	struct stat sb_fresh, sb;
	struct ctl_gc_counts n;
	struct ctl c;
	char ids_path[4300], go;
	int64_t now = time(NULL);
	int go_pipe[2], status;
	unsigned long runs = 0, removed = 0, got = 0;
	pid_t pid;
	unsigned i;
	FILE *f, *out = fopen("/dev/null", "w");

	for (i = 0; i < 200; i++) {
		struct storage_id id;

		t = make_object(st, now - 10 * DAY, now - DAY, "x", 1, &id);
		token_free(t);
	}
	p_fresh = begin_in_progress(st, &w_fresh, &t_fresh);
	p_2h = begin_in_progress(st, &w_2h, &t_2h);
	p_2d = begin_in_progress(st, &w_2d, &t_2d);
	age_file(p_2h, 2 * 3600);
	age_file(p_2d, 2 * DAY);
	ck_assert_int_eq(stat(p_fresh, &sb_fresh), 0);

	snprintf(ids_path, sizeof(ids_path), "%s/writer-ids", base_dir);
	ck_assert_int_eq(pipe(go_pipe), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The writer: its own store handle, real commits. */
		struct store *wst;
		char *err = NULL;
		FILE *ids = fopen(ids_path, "w");

		close(go_pipe[1]);
		if (ids == NULL || read(go_pipe[0], &go, 1) != 1)
			_exit(2);
		wst = store_open(cfg, STORE_READ_WRITE, &err);
		if (wst == NULL)
			_exit(3);
		for (i = 0; i < WRITER_COUNT; i++) {
			struct sealed_writer *w;
			struct token *tk;
			struct storage_id id;
			int64_t tn = time(NULL);

			if (sealed_create(wst, tn, tn + DAY, &w, &tk, &id) !=
			    SEALED_OK || sealed_write(w, "hello", 5) !=
			    SEALED_OK || sealed_commit(w) != SEALED_OK)
				_exit(4);
			token_free(tk);
			fprintf(ids, "%s\n", id.hex);
			/* A commit takes tens of microseconds on tmpfs: a
			 * pause between them keeps the writer alive across
			 * several gc runs even on a loaded machine. */
			usleep(200);
		}
		store_close(wst);
		_exit(fclose(ids) == 0 ? 0 : 5);
	}
	close(go_pipe[0]);
	ctl_init(&c, out, stderr);
	ck_assert_int_eq(write(go_pipe[1], "g", 1), 1);
	close(go_pipe[1]);
	do {
		c.now = time(NULL);
		ck_assert_int_eq(ctl_gc(&c, false, false, &n), EX_OK);
		ck_assert_uint_eq(n.failed, 0);
		ck_assert_uint_eq(n.unreadable, 0);
		removed += n.removed;
		runs++;
	} while (waitpid(pid, &status, WNOHANG) == 0);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(ctl_gc(&c, false, false, &n), EX_OK);
	removed += n.removed;
	fprintf(stderr, "gc_during_writes: %lu gc runs while the writer "
	    "committed %u objects\n", runs, WRITER_COUNT);
	ck_assert_uint_ge(runs, 2);
	ck_assert_uint_eq(removed, 200);

	f = fopen(ids_path, "r");
	ck_assert_ptr_nonnull(f);
	{
		char line[64];

		while (fgets(line, sizeof(line), f) != NULL) {
			struct storage_id id;
			struct envelope_meta m;

			line[strcspn(line, "\n")] = '\0';
			ck_assert_int_eq(storage_id_parse(line, &id), 0);
			ck_assert_msg(sealed_meta(st, &id, &m) == SEALED_OK,
			    "object %s committed during gc is gone", line);
			got++;
		}
	}
	fclose(f);
	ck_assert_uint_eq(got, WRITER_COUNT);
	ck_assert_uint_eq(count_objects(st), WRITER_COUNT);

	/* Writes in progress: untouched, and they still commit. */
	ck_assert_int_eq(stat(p_fresh, &sb), 0);
	ck_assert_int_eq(sb.st_size, sb_fresh.st_size);
	ck_assert_int_eq(sb.st_ino, sb_fresh.st_ino);
	ck_assert_int_eq(stat(p_2h, &sb), 0);
	ck_assert_msg(stat(p_2d, &sb) < 0 && errno == ENOENT,
	    "a two-day-old temporary file survived gc");
	ck_assert_int_eq(sealed_commit(w_fresh), SEALED_OK);
	ck_assert_int_eq(sealed_commit(w_2h), SEALED_OK);
	sealed_abort(w_2d);
	{
		unsigned char *plain;
		size_t len;
		struct envelope_meta m;

		ck_assert_int_eq(sealed_open(st, t_fresh, RETENTION, time(NULL),
		    0, &m, &plain, &len, NULL), SEALED_OK);
		ck_assert_uint_eq(len, 21);
		envelope_plain_free(plain, len);
	}
	token_free(t_fresh);
	token_free(t_2h);
	token_free(t_2d);
	free(p_fresh);
	free(p_2h);
	free(p_2d);
	fclose(out);
	store_close(st);
}
END_TEST

static void
link_of(const struct token *t, char *buf, size_t len)
{
	char text[TOKEN_TEXT_LEN + 1];

	token_encode(t, text);
	snprintf(buf, len, "https://mail.example.com/m/%s", text);
}

START_TEST(revoke_by_link_and_id)
{
	struct store *st = open_store();
	struct capture out, err;
	struct storage_id id, id2;
	struct envelope_meta m;
	struct token *t, *t2;
	struct ctl c;
	char link[200], text[TOKEN_TEXT_LEN + 1];
	unsigned char *plain = NULL;
	size_t len;
	int64_t now = time(NULL);

	t = make_object(st, now, now + DAY, "hello", 5, &id);
	t2 = make_object(st, now, now + DAY, "world", 5, &id2);
	link_of(t, link, sizeof(link));
	token_encode(t, text);
	cap_open(&out);
	cap_open(&err);
	ctl_init(&c, out.f, err.f);
	ck_assert_int_eq(ctl_revoke(&c, link), EX_OK);
	ck_assert_int_eq(sealed_open(st, t, RETENTION, time(NULL), 0, &m,
	    &plain, &len, NULL), SEALED_REVOKED);
	ck_assert_int_eq(sealed_meta(st, &id, &m), SEALED_OK);
	ck_assert(m.flags & ENVELOPE_FLAG_REVOKED);
	ck_assert_ptr_nonnull(strstr(cap_text(&out), id.hex));
	/* Again: says so, still success. */
	ck_assert_int_eq(ctl_revoke(&c, id.hex), EX_OK);
	ck_assert_ptr_nonnull(strstr(cap_text(&out), "already revoked"));
	/* By storage id. */
	ck_assert_int_eq(ctl_revoke(&c, id2.hex), EX_OK);
	ck_assert_int_eq(sealed_open(st, t2, RETENTION, time(NULL), 0, &m,
	    &plain, &len, NULL), SEALED_REVOKED);
	/* Unknown id, garbage. */
	ck_assert_int_eq(ctl_revoke(&c,
	    "0123456789abcdef0123456789abcdef"), EX_NOINPUT);
	ck_assert_ptr_nonnull(strstr(cap_text(&err), "no such object"));
	ck_assert_int_eq(ctl_revoke(&c, "https://x.example/m/short"),
	    EX_USAGE);
	ck_assert_int_eq(ctl_revoke(&c, "0123456789ABCDEF0123456789ABCDEF"),
	    EX_USAGE);
	/* The token is never printed. */
	ck_assert_ptr_null(strstr(cap_text(&out), text));
	ck_assert_ptr_null(strstr(cap_text(&err), text));
	cap_close(&out);
	cap_close(&err);
	token_free(t);
	token_free(t2);
	store_close(st);
}
END_TEST

START_TEST(keep_moves_and_caps)
{
	struct store *st = open_store();
	struct capture out, err;
	struct storage_id id, gone;
	struct envelope_meta m;
	struct token *t;
	struct ctl c;
	char link[200];
	int64_t now = time(NULL), created = now - 10 * DAY;

	t = make_object(st, created, now + DAY, "hello", 5, &id);
	link_of(t, link, sizeof(link));
	cap_open(&out);
	cap_open(&err);
	ctl_init(&c, out.f, err.f);
	ck_assert_int_eq(ctl_keep(&c, id.hex, 14), EX_OK);
	ck_assert_int_eq(sealed_meta(st, &id, &m), SEALED_OK);
	ck_assert_int_eq(m.expires, c.now + 14 * DAY);
	ck_assert_ptr_null(strstr(cap_text(&out), "capped"));
	/* 200 days asked: capped at created + 90 days, and said so. */
	ck_assert_int_eq(ctl_keep(&c, link, 200), EX_OK);
	ck_assert_int_eq(sealed_meta(st, &id, &m), SEALED_OK);
	ck_assert_int_eq(m.expires, created + RETENTION);
	ck_assert_ptr_nonnull(strstr(cap_text(&out), "capped"));
	/* Shorter than now: keep sets it (an administrator may shorten). */
	ck_assert_int_eq(ctl_keep(&c, id.hex, 1), EX_OK);
	ck_assert_int_eq(sealed_meta(st, &id, &m), SEALED_OK);
	ck_assert_int_eq(m.expires, c.now + DAY);
	/* Errors. */
	ck_assert_int_eq(ctl_keep(&c, id.hex, 0), EX_USAGE);
	ck_assert_int_eq(ctl_keep(&c, "nonsense", 5), EX_USAGE);
	memset(gone.hex, 'f', STORAGE_ID_HEX_LEN);
	gone.hex[STORAGE_ID_HEX_LEN] = '\0';
	ck_assert_int_eq(ctl_keep(&c, gone.hex, 5), EX_NOINPUT);
	ck_assert_int_eq(sealed_revoke(st, &id, now), SEALED_OK);
	ck_assert_int_eq(ctl_keep(&c, id.hex, 5), EX_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(cap_text(&err), "revoked"));
	cap_close(&out);
	cap_close(&err);
	token_free(t);
	store_close(st);
}
END_TEST

START_TEST(show_headers_raw_and_bad_links)
{
	static const char msg[] = "From: Ana <ana@example.com>\r\n"
	    "Subject: =?UTF-8?Q?Ol=C3=A1?=\r\nX-Evil: a\033[2Jb\r\n\r\n"
	    "The body.\r\n";
	struct store *st = open_store();
	struct capture out, err;
	struct storage_id id;
	struct token *t, *t_old, *stranger;
	struct ctl c;
	char link[200], text[TOKEN_TEXT_LEN + 1];
	int64_t now = time(NULL);

	t = make_object(st, now, now + DAY, msg, sizeof(msg) - 1, &id);
	struct storage_id id_live = id;
	t_old = make_object(st, now - 5 * DAY, now - DAY, msg,
	    sizeof(msg) - 1, &id);
	link_of(t, link, sizeof(link));
	token_encode(t, text);
	cap_open(&out);
	cap_open(&err);
	ctl_init(&c, out.f, err.f);
	ck_assert_int_eq(ctl_show(&c, link, CTL_SHOW_HEADERS), EX_OK);
	/* The header block, then the message's life and read state. */
	char sent[32], expires[32], first[32], last[32];
	ctl_format_time(now, sent);
	ctl_format_time(now + DAY, expires);
	char *want = g_strdup_printf("From: Ana <ana@example.com>\n"
	    "Subject: =?UTF-8?Q?Ol=C3=A1?=\nX-Evil: a\\x1b[2Jb\n"
	    "\n-- pullmail state\nstate      sent\nsent       %s\n"
	    "expires    %s\nread page  never\nread eml   never\n"
	    "read part  never\nreceipt    none\n", sent, expires);
	ck_assert_str_eq(cap_text(&out), want);
	g_free(want);
	cap_close(&out);
	/* Fetched twice and a receipt sent: show says so. */
	ck_assert_int_eq(store_readstate_record(st, &id_live, READSTATE_PAGE,
	    now - 60), STORE_OK);
	ck_assert_int_eq(store_readstate_record(st, &id_live, READSTATE_PAGE,
	    now), STORE_OK);
	enum readstate_receipt prior;
	ck_assert_int_eq(store_readstate_receipt_claim(st, &id_live,
	    READSTATE_RECEIPT_SENT, now, &prior), STORE_OK);
	cap_open(&out);
	c.out = out.f;
	ck_assert_int_eq(ctl_show(&c, link, CTL_SHOW_HEADERS), EX_OK);
	ctl_format_time(now - 60, first);
	ctl_format_time(now, last);
	want = g_strdup_printf("\nstate      read\nsent       %s\n"
	    "expires    %s\nread page  2 times, first %s, last %s\n"
	    "read eml   never\nread part  never\nreceipt    sent %s\n",
	    sent, expires, first, last, last);
	ck_assert_msg(g_str_has_suffix(cap_text(&out), want), "%s",
	    cap_text(&out));
	g_free(want);
	cap_close(&out);
	cap_open(&out);
	c.out = out.f;
	ck_assert_int_eq(ctl_show(&c, link, CTL_SHOW_RAW), EX_OK);
	fflush(out.f);
	ck_assert_uint_eq(out.len, sizeof(msg) - 1);
	ck_assert_int_eq(memcmp(out.buf, msg, out.len), 0);
	/* A bare token and a link with a sub-path work too. */
	ck_assert_int_eq(ctl_show(&c, text, CTL_SHOW_HEADERS), EX_OK);
	cap_close(&out);
	cap_open(&out);
	c.out = out.f;

	/* Wrong link (well-formed, no such message). */
	stranger = token_new();
	link_of(stranger, link, sizeof(link));
	ck_assert_int_eq(ctl_show(&c, link, CTL_SHOW_HEADERS), EX_NOINPUT);
	ck_assert_ptr_nonnull(strstr(cap_text(&err), "no message for this "
	    "link"));
	token_free(stranger);
	/* Malformed links. */
	ck_assert_int_eq(ctl_show(&c, "https://mail.example.com/m/abc",
	    CTL_SHOW_HEADERS), EX_USAGE);
	ck_assert_ptr_nonnull(strstr(cap_text(&err), "not a pullmail link"));
	ck_assert_int_eq(ctl_show(&c, "", CTL_SHOW_HEADERS), EX_USAGE);
	ck_assert_int_eq(ctl_show(&c, id.hex, CTL_SHOW_HEADERS), EX_USAGE);
	ck_assert_ptr_nonnull(strstr(cap_text(&err), "needs the link"));
	/* Expired and revoked. */
	link_of(t_old, link, sizeof(link));
	ck_assert_int_eq(ctl_show(&c, link, CTL_SHOW_HEADERS), EX_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(cap_text(&err), "expired"));
	link_of(t, link, sizeof(link));
	ck_assert_int_eq(ctl_revoke(&c, link), EX_OK);
	ck_assert_int_eq(ctl_show(&c, link, CTL_SHOW_RAW), EX_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(cap_text(&err), "revoked"));
	ck_assert_ptr_null(strstr(cap_text(&err), text));
	ck_assert_ptr_null(strstr(cap_text(&out), text));
	cap_close(&out);
	cap_close(&err);
	token_free(t);
	token_free(t_old);
	store_close(st);
}
END_TEST

static int
run_check(struct capture *out)
{
	struct ctl c;

	cap_open(out);
	ctl_init(&c, out->f, stderr);
	return ctl_check(&c);
}

START_TEST(check_names_mode_problems)
{
	struct capture out;
	int rc;

	rc = run_check(&out);
	ck_assert_msg(rc == EX_OK, "%s", cap_text(&out));
	ck_assert_ptr_nonnull(strstr(cap_text(&out), "check: 0 errors"));
	ck_assert_ptr_nonnull(strstr(cap_text(&out), "sealed, read back"));
	cap_close(&out);

	ck_assert_int_eq(chmod(store_dir, 0777), 0);
	rc = run_check(&out);
	ck_assert_int_eq(rc, EX_CONFIG);
	ck_assert_msg(strstr(cap_text(&out), "mode 0777 is world-writable") !=
	    NULL, "%s", cap_text(&out));
	ck_assert_ptr_nonnull(strstr(cap_text(&out), store_dir));
	cap_close(&out);

	ck_assert_int_eq(chmod(store_dir, 0755), 0);
	rc = run_check(&out);
	ck_assert_int_eq(rc, EX_CONFIG);
	ck_assert_msg(strstr(cap_text(&out), "mode 0755 lets others") != NULL,
	    "%s", cap_text(&out));
	cap_close(&out);

	ck_assert_int_eq(chmod(store_dir, 0770), 0);
	rc = run_check(&out);
	ck_assert_int_eq(rc, EX_OK);
	ck_assert_ptr_nonnull(strstr(cap_text(&out), "group-writable"));
	cap_close(&out);
	ck_assert_int_eq(chmod(store_dir, 0750), 0);

	/* A missing store directory. */
	{
		char moved[4300];

		snprintf(moved, sizeof(moved), "%s.moved", store_dir);
		ck_assert_int_eq(rename(store_dir, moved), 0);
		rc = run_check(&out);
		ck_assert_int_eq(rc, EX_CONFIG);
		ck_assert_ptr_nonnull(strstr(cap_text(&out),
		    "No such file or directory"));
		cap_close(&out);
		ck_assert_int_eq(rename(moved, store_dir), 0);
	}
}
END_TEST

/* The read state in list --json, stats and gc: three live messages of
 * which one was fetched, one expired one fetched too; gc removes the
 * expired one's state with it and keeps the others'. */
START_TEST(read_state_list_stats_gc)
{
	struct store *st = open_store();
	struct capture out;
	struct ctl_stats s;
	struct storage_id a, b, d, x;
	struct ctl c;
	struct ctl_gc_counts n;
	int64_t now = time(NULL);

	token_free(make_object(st, now - DAY, now + DAY, "a", 1, &a));
	token_free(make_object(st, now - DAY, now + DAY, "b", 1, &b));
	token_free(make_object(st, now - DAY, now + DAY, "d", 1, &d));
	token_free(make_object(st, now - 3 * DAY, now - 60, "x", 1, &x));
	ck_assert_int_eq(store_readstate_record(st, &a, READSTATE_PAGE,
	    now - 100), STORE_OK);
	ck_assert_int_eq(store_readstate_record(st, &a, READSTATE_EML,
	    now - 50), STORE_OK);
	ck_assert_int_eq(store_readstate_record(st, &a, READSTATE_PART,
	    now - 10), STORE_OK);
	ck_assert_int_eq(store_readstate_record(st, &x, READSTATE_PAGE,
	    now - DAY), STORE_OK);

	cap_open(&out);
	ctl_init(&c, out.f, stderr);
	ck_assert_int_eq(ctl_stats(&c, true, &s), EX_OK);
	ck_assert_uint_eq(s.read, 1);
	ck_assert_uint_eq(s.never_read, 2);
	ck_assert_ptr_nonnull(strstr(cap_text(&out), "\"read\": 1, "
	    "\"never_read\": 2, \"read_fraction\": 0.333, "
	    "\"receipts_sent\": 0}"));
	cap_close(&out);
	cap_open(&out);
	c.out = out.f;
	ck_assert_int_eq(ctl_stats(&c, false, &s), EX_OK);
	ck_assert_ptr_nonnull(strstr(cap_text(&out),
	    "read (live):        1\nnever read (live):  2\n"
	    "read fraction:      0.333\n"));
	cap_close(&out);

	cap_open(&out);
	c.out = out.f;
	ck_assert_int_eq(ctl_list(&c, true, false), EX_OK);
	const char *j = cap_text(&out);
	char *pa = strstr(j, a.hex), *pb = strstr(j, b.hex);
	char *px = strstr(j, x.hex);
	ck_assert(pa != NULL && pb != NULL && px != NULL);
	/* a's entry: read, three fetches, one per route, its times. */
	char *end = strchr(pa, '\n');
	char *entry = end != NULL ? g_strndup(pa, (size_t)(end - pa)) :
	    g_strdup(pa);
	char *want = g_strdup_printf("\"state\": \"read\", \"created\": "
	    "%lld", (long long)(now - DAY));
	ck_assert_msg(strstr(entry, want) != NULL, "%s", entry);
	g_free(want);
	want = g_strdup_printf("\"read\": {\"count\": 3, \"first\": %lld, ",
	    (long long)(now - 100));
	ck_assert_msg(strstr(entry, want) != NULL, "%s", entry);
	g_free(want);
	want = g_strdup_printf("\"eml\": {\"count\": 1, \"first\": %lld, ",
	    (long long)(now - 50));
	ck_assert_msg(strstr(entry, want) != NULL, "%s", entry);
	g_free(want);
	ck_assert_ptr_nonnull(strstr(entry, "\"receipt\": \"none\""));
	g_free(entry);
	end = strchr(pb, '\n');
	entry = end != NULL ? g_strndup(pb, (size_t)(end - pb)) : g_strdup(pb);
	ck_assert_msg(strstr(entry, "\"state\": \"sent\"") != NULL &&
	    strstr(entry, "\"read\": {\"count\": 0, \"first\": null, ") !=
	    NULL, "%s", entry);
	g_free(entry);
	ck_assert_ptr_nonnull(strstr(px, "\"state\": \"expired\""));
	cap_close(&out);

	char *xs = g_strdup_printf("%s/%.2s/%s.read", store_dir, x.hex, x.hex);
	char *as = g_strdup_printf("%s/%.2s/%s.read", store_dir, a.hex, a.hex);
	ck_assert_int_eq(access(xs, F_OK), 0);
	cap_open(&out);
	c.out = out.f;
	ck_assert_int_eq(ctl_gc(&c, false, false, &n), EX_OK);
	cap_close(&out);
	ck_assert_uint_eq(n.removed, 1);
	ck_assert_int_ne(access(xs, F_OK), 0);
	ck_assert_int_eq(access(as, F_OK), 0);
	g_free(xs);
	g_free(as);
	store_close(st);
}
END_TEST

START_TEST(list_and_stats)
{
	struct store *st = open_store();
	struct capture out;
	struct ctl_stats s;
	struct storage_id a, b, d, e;
	struct ctl c;
	int64_t now = time(NULL);
	struct token *t;
	char text[TOKEN_TEXT_LEN + 1];

	token_free(make_object(st, now - 2 * DAY, now + 3600, "a", 1, &a));
	token_free(make_object(st, now - DAY, now + 3 * DAY, "bb", 2, &b));
	t = make_object(st, now - 3 * DAY, now - 60, "ccc", 3, &d);
	token_encode(t, text);
	token_free(t);
	token_free(make_object(st, now - 4 * DAY, now + 20 * DAY, "d", 1, &e));
	ck_assert_int_eq(sealed_revoke(st, &e, now), SEALED_OK);

	cap_open(&out);
	ctl_init(&c, out.f, stderr);
	ck_assert_int_eq(ctl_stats(&c, false, &s), EX_OK);
	ck_assert_uint_eq(s.count, 4);
	ck_assert_int_eq(s.oldest, now - 4 * DAY);
	ck_assert_int_eq(s.newest, now - DAY);
	ck_assert_uint_eq(s.expiring_day, 1);
	ck_assert_uint_eq(s.expiring_week, 2);
	ck_assert_uint_eq(s.expired, 2);     /* d, and the tombstone e */
	ck_assert_uint_eq(s.revoked, 1);
	ck_assert_uint_eq(s.unreadable, 0);
	cap_close(&out);

	cap_open(&out);
	c.out = out.f;
	ck_assert_int_eq(ctl_list(&c, false, false), EX_OK);
	ck_assert_ptr_nonnull(strstr(cap_text(&out), a.hex));
	ck_assert_ptr_nonnull(strstr(cap_text(&out), b.hex));
	ck_assert_ptr_nonnull(strstr(cap_text(&out), e.hex));
	ck_assert_ptr_null(strstr(cap_text(&out), text));
	cap_close(&out);

	cap_open(&out);
	c.out = out.f;
	ck_assert_int_eq(ctl_list(&c, true, true), EX_OK);
	ck_assert_ptr_null(strstr(cap_text(&out), a.hex));
	ck_assert_ptr_nonnull(strstr(cap_text(&out), d.hex));
	ck_assert_ptr_nonnull(strstr(cap_text(&out), e.hex));
	ck_assert_ptr_nonnull(strstr(cap_text(&out), "\"count\": 2}"));
	cap_close(&out);
	store_close(st);
}
END_TEST

/* The command line, in-process: usage errors and a command through it. */
START_TEST(command_line)
{
	struct capture out, err;
	char *a_none[] = { "pullmailctl", NULL };
	char *a_unknown[] = { "pullmailctl", "-c", conf_path, "frob", NULL };
	char *a_keep[] = { "pullmailctl", "-c", conf_path, "keep",
	    "0123456789abcdef0123456789abcdef", NULL };
	char *a_days[] = { "pullmailctl", "-c", conf_path, "keep",
	    "0123456789abcdef0123456789abcdef", "--days", "7x", NULL };
	char *a_both[] = { "pullmailctl", "-c", conf_path, "show", "x",
	    "--raw", "--headers", NULL };
	char *a_opt[] = { "pullmailctl", "-c", conf_path, "list", "--dry-run",
	    NULL };
	char *a_stats[] = { "pullmailctl", "-c", conf_path, "stats", "--json",
	    NULL };
	char *a_keep_ok[] = { "pullmailctl", "-c", conf_path, "keep",
	    "ffffffffffffffffffffffffffffffff", "--days", "3", NULL };
	/* A bare token may begin with '-': an argument, not options. */
	char dash[] = "-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	char *a_dash[] = { "pullmailctl", "-c", conf_path, "show", dash,
	    "--raw", NULL };
	char *a_dash_list[] = { "pullmailctl", "-c", conf_path, "list", dash,
	    NULL };

	cap_open(&out);
	cap_open(&err);
	ck_assert_int_eq(ctl_main(1, a_none, out.f, err.f), EX_USAGE);
	ck_assert_ptr_nonnull(strstr(cap_text(&err), "no command given"));
	ck_assert_int_eq(ctl_main(4, a_unknown, out.f, err.f), EX_USAGE);
	ck_assert_ptr_nonnull(strstr(cap_text(&err), "unknown command"));
	ck_assert_int_eq(ctl_main(5, a_keep, out.f, err.f), EX_USAGE);
	ck_assert_ptr_nonnull(strstr(cap_text(&err), "keep needs --days"));
	ck_assert_int_eq(ctl_main(7, a_days, out.f, err.f), EX_USAGE);
	ck_assert_int_eq(ctl_main(7, a_both, out.f, err.f), EX_USAGE);
	ck_assert_int_eq(ctl_main(5, a_opt, out.f, err.f), EX_USAGE);
	ck_assert_ptr_nonnull(strstr(cap_text(&err), "does not take"));
	ck_assert_str_eq(cap_text(&out), "");
	ck_assert_int_eq(ctl_main(5, a_stats, out.f, err.f), EX_OK);
	ck_assert_ptr_nonnull(strstr(cap_text(&out), "\"count\": 0,"));
	/* Options after the argument are taken too. */
	ck_assert_int_eq(ctl_main(7, a_keep_ok, out.f, err.f), EX_NOINPUT);
	ck_assert_uint_eq(strlen(dash), TOKEN_TEXT_LEN);
	ck_assert_int_eq(ctl_main(6, a_dash, out.f, err.f), EX_NOINPUT);
	ck_assert_ptr_nonnull(strstr(cap_text(&err), "no message for this link"));
	ck_assert_int_eq(ctl_main(5, a_dash_list, out.f, err.f), EX_USAGE);
	ck_assert_ptr_nonnull(strstr(cap_text(&err), "takes no arguments"));
	cap_close(&out);
	cap_close(&err);
}
END_TEST

/* For the integration test: populate CONFIG LIVE EXPIRED. */
static int
populate(const char *conf, long live, long expired)
{
	struct config *pc;
	struct store *st;
	char *err = NULL;
	int64_t now = time(NULL);
	long i;

	pc = config_load(conf, &err);
	if (pc == NULL) {
		fprintf(stderr, "populate: %s\n", err);
		return EX_CONFIG;
	}
	st = store_open(pc, STORE_READ_WRITE, &err);
	if (st == NULL) {
		fprintf(stderr, "populate: %s\n", err);
		return EX_CONFIG;
	}
	for (i = 0; i < live + expired; i++) {
		struct sealed_writer *w;
		struct token *t;
		struct storage_id id;
		char text[TOKEN_TEXT_LEN + 1], msg[200];
		bool old = i >= live;
		int n;

		n = snprintf(msg, sizeof(msg), "From: test@example.com\r\n"
		    "Subject: object %ld\r\n\r\nBody of object %ld.\r\n", i, i);
		if (sealed_create(st, old ? now - 10 * DAY : now - 60,
		    old ? now - DAY : now + 10 * DAY, &w, &t, &id) !=
		    SEALED_OK || sealed_write(w, msg, (size_t)n) != SEALED_OK ||
		    sealed_commit(w) != SEALED_OK) {
			fprintf(stderr, "populate: sealing failed\n");
			return EX_IOERR;
		}
		token_encode(t, text);
		printf("%s %s %s\n", text, id.hex, old ? "expired" : "live");
		token_free(t);
	}
	store_close(st);
	config_unref(pc);
	return EX_OK;
}

int
main(int argc, char **argv)
{
	Suite *s;
	TCase *tc;

	if (token_init() < 0)
		return EX_SOFTWARE;
	if (argc == 5 && strcmp(argv[1], "populate") == 0)
		return populate(argv[2], atol(argv[3]), atol(argv[4]));
	log_init("test_ctl", 1, LOG_MAIL, LOG_WARNING);
	s = suite_create("ctl");
	tc = tcase_create("gc");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, gc_mixed_expiries);
	tcase_add_test(tc, gc_during_writes);
	tcase_add_test(tc, gc_leaves_unreadable_objects);
	suite_add_tcase(s, tc);
	tc = tcase_create("admin");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, revoke_by_link_and_id);
	tcase_add_test(tc, keep_moves_and_caps);
	tcase_add_test(tc, show_headers_raw_and_bad_links);
	tcase_add_test(tc, check_names_mode_problems);
	tcase_add_test(tc, list_and_stats);
	tcase_add_test(tc, read_state_list_stats_gc);
	tcase_add_test(tc, command_line);
	suite_add_tcase(s, tc);
	return check_run(s);
}
