/* The s3 backend against a real S3 server: a throw-away Ceph RADOS Gateway
 * (tests/lib/ceph-rgw.sh) started once for the whole program, or the one
 * named by S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY in the
 * environment. Writes, the refusal to overwrite, abort, multipart, patch
 * (keep/revoke), delete, scan, batched deletes (DeleteObjects, one key
 * refused by a bucket policy), aborted uploads, wrong credentials and a
 * missing bucket; the read state (round trip, counts and a receipt claim
 * raced for by several processes, removal). Port: PULLMAIL_S3_TEST_PORT (15010). */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <sodium.h>
#include "config.h"
#include "envelope.h"
#include "sealed.h"
#include "store.h"
#include "tests/lib/check_main.h"

#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static char *endpoint, *access_key, *secret_key;
static char *workdir;   /* credentials, spool */
static char *cred_path;
static struct config *cfg;
static unsigned bucket_seq;

/* A signed request with curl(1): its HTTP status. */
static int
s3_curl(const char *method, const char *path, const char *extra)
{
	char *cmd = g_strdup_printf("curl -s -o /dev/null -w '%%{http_code}' "
	    "--aws-sigv4 aws:amz:us-east-1:s3 --user '%s:%s' -X %s "
	    "-H 'x-amz-content-sha256: " EMPTY_SHA256 "' %s '%s%s'",
	    access_key, secret_key, method, extra ? extra : "", endpoint, path);
	FILE *p = popen(cmd, "r");
	int code = 0;
	g_free(cmd);
	if (p == NULL)
		return 0;
	if (fscanf(p, "%d", &code) != 1)
		code = 0;
	pclose(p);
	return code;
}

static void
write_creds(const char *path, const char *ak, const char *sk, mode_t mode)
{
	char *text = g_strdup_printf("# test\nAccessKey = %s\nSecretKey = %s\n",
	    ak, sk);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_int_eq(chmod(path, mode), 0);
	g_free(text);
}

/* A new bucket for each test, so that listings see only its objects. */
static void
setup(void)
{
	char bucket[64], path[80];

	ck_assert_int_eq(token_init(), 0);
	snprintf(bucket, sizeof bucket, "t%u-%ld", ++bucket_seq, (long)getpid());
	snprintf(path, sizeof path, "/%s", bucket);
	ck_assert_int_eq(s3_curl("PUT", path, NULL), 200);
	cfg = config_defaults();
	cfg->store_backend = (g_free(cfg->store_backend), g_strdup("s3"));
	cfg->s3_endpoint = g_strdup(endpoint);
	cfg->s3_bucket = g_strdup(bucket);
	cfg->s3_prefix = g_strdup("mail/");
	cfg->s3_credentials_file = g_strdup(cred_path);
	cfg->s3_spool_dir = (g_free(cfg->s3_spool_dir), g_strdup(workdir));
	cfg->s3_retries = 1;
	cfg->max_retention = 90 * 86400;
}

static void
teardown(void)
{
	config_unref(cfg);
}

static struct store *
open_rw(void)
{
	char *err = NULL;
	struct store *st = store_open(cfg, STORE_READ_WRITE, &err);
	ck_assert_msg(st != NULL, "%s", err);
	return st;
}

static void
random_id(struct storage_id *id)
{
	unsigned char b[STORAGE_ID_BYTES];
	randombytes_buf(b, sizeof b);
	sodium_bin2hex(id->hex, sizeof id->hex, b, sizeof b);
}

static enum store_status
put(struct store *st, const struct storage_id *id, const unsigned char *buf,
    size_t len)
{
	struct store_writer *w;
	enum store_status s = store_write_begin(st, id, &w);
	if (s != STORE_OK)
		return s;
	/* In pieces, as the envelope writer does. */
	for (size_t off = 0; off < len;) {
		size_t n = len - off < 65536 ? len - off : 65536;
		s = store_write(w, buf + off, n);
		if (s != STORE_OK) {
			store_write_abort(w);
			return s;
		}
		off += n;
	}
	return store_write_commit(w);
}

static unsigned char *
read_all(struct store *st, const struct storage_id *id, size_t *len,
    enum store_status *s)
{
	struct store_reader *r;
	GByteArray *b = g_byte_array_new();
	unsigned char buf[70000];
	long n;

	*s = store_read_open(st, id, &r);
	if (*s != STORE_OK) {
		g_byte_array_free(b, TRUE);
		return NULL;
	}
	while ((n = store_read(r, buf, sizeof buf)) > 0)
		g_byte_array_append(b, buf, (guint)n);
	ck_assert_int_eq(n, 0);
	store_read_close(r);
	*len = b->len;
	return g_byte_array_free(b, FALSE);
}

static unsigned char *
random_bytes(size_t len)
{
	unsigned char *b = g_malloc(len);
	randombytes_buf(b, len);
	return b;
}

START_TEST(write_read_head_delete)
{
	struct store *st = open_rw();
	struct storage_id id;
	size_t len = 3 * 1024 * 1024 + 17, got;
	unsigned char *data = random_bytes(len);
	enum store_status s;

	random_id(&id);
	ck_assert_int_eq(put(st, &id, data, len), STORE_OK);
	unsigned char *back = read_all(st, &id, &got, &s);
	ck_assert_int_eq(s, STORE_OK);
	ck_assert_uint_eq(got, len);
	ck_assert(memcmp(back, data, len) == 0);
	unsigned char head[100];
	ck_assert_int_eq(store_read_head(st, &id, head, sizeof head, &got),
	    STORE_OK);
	ck_assert_uint_eq(got, sizeof head);
	ck_assert(memcmp(head, data, sizeof head) == 0);
	ck_assert_int_eq(store_delete(st, &id), STORE_OK);
	ck_assert_int_eq(store_read_open(st, &id, &(struct store_reader *){0}),
	    STORE_NOT_FOUND);
	ck_assert_int_eq(store_read_head(st, &id, head, sizeof head, &got),
	    STORE_NOT_FOUND);
	ck_assert_int_eq(store_delete(st, &id), STORE_NOT_FOUND);
	g_free(back);
	g_free(data);
	store_close(st);
}
END_TEST

START_TEST(write_at_patches_the_spool)
{
	struct store *st = open_rw();
	struct storage_id id;
	struct store_writer *w;
	unsigned char data[5000];
	size_t got;
	enum store_status s;

	random_id(&id);
	randombytes_buf(data, sizeof data);
	ck_assert_int_eq(store_write_begin(st, &id, &w), STORE_OK);
	ck_assert_int_eq(store_write(w, data, sizeof data), STORE_OK);
	ck_assert_int_eq(store_write_at(w, 10, "PATCHED", 7), STORE_OK);
	ck_assert_int_ne(store_write_at(w, sizeof data - 3, "PATCHED", 7),
	    STORE_OK);
	ck_assert_int_eq(store_write_commit(w), STORE_OK);
	memcpy(data + 10, "PATCHED", 7);
	unsigned char *back = read_all(st, &id, &got, &s);
	ck_assert_uint_eq(got, sizeof data);
	ck_assert(memcmp(back, data, sizeof data) == 0);
	g_free(back);
	store_close(st);
}
END_TEST

START_TEST(existing_object_is_never_overwritten)
{
	struct store *st = open_rw();
	struct storage_id id;
	unsigned char a[1000], b[1000];
	size_t got;
	enum store_status s;

	random_id(&id);
	randombytes_buf(a, sizeof a);
	randombytes_buf(b, sizeof b);
	ck_assert_int_eq(put(st, &id, a, sizeof a), STORE_OK);
	ck_assert_int_eq(put(st, &id, b, sizeof b), STORE_EXISTS);
	unsigned char *back = read_all(st, &id, &got, &s);
	ck_assert(got == sizeof a && memcmp(back, a, sizeof a) == 0);
	g_free(back);
	store_close(st);
}
END_TEST

START_TEST(abort_leaves_nothing)
{
	struct store *st = open_rw();
	struct storage_id id;
	struct store_writer *w;
	unsigned char a[1000];

	random_id(&id);
	randombytes_buf(a, sizeof a);
	ck_assert_int_eq(store_write_begin(st, &id, &w), STORE_OK);
	ck_assert_int_eq(store_write(w, a, sizeof a), STORE_OK);
	store_write_abort(w);
	struct store_reader *r;
	ck_assert_int_eq(store_read_open(st, &id, &r), STORE_NOT_FOUND);
	/* Nothing in the spool directory either (an unlinked file). */
	GDir *d = g_dir_open(workdir, 0, NULL);
	const char *n;
	int files = 0;
	while ((n = g_dir_read_name(d)) != NULL)
		if (strcmp(n, "creds") != 0)
			files++;
	g_dir_close(d);
	ck_assert_int_eq(files, 0);
	store_close(st);
}
END_TEST

static int
count_scan(struct store_entry *e, const struct storage_id *id,
    const unsigned char *head, size_t head_len, enum store_status hs,
    void *ctx)
{
	GHashTable *seen = ctx;
	uint64_t size;
	(void)head;
	ck_assert_int_eq(hs, STORE_OK);
	ck_assert_int_eq(store_entry_size(e, &size), STORE_OK);
	ck_assert_uint_ge(size, head_len);
	ck_assert(!g_hash_table_contains(seen, id->hex));
	g_hash_table_insert(seen, g_strdup(id->hex),
	    g_memdup2(head, head_len < 8 ? 8 : head_len));
	return 0;
}

START_TEST(multipart_object_over_16_mib)
{
	struct store *st = open_rw();
	struct storage_id id;
	size_t len = 17 * 1024 * 1024 + 4321, got;
	unsigned char *data = random_bytes(len);
	struct store_writer *w;
	enum store_status s;

	random_id(&id);
	ck_assert_int_eq(store_write_begin(st, &id, &w), STORE_OK);
	ck_assert_int_eq(store_write(w, data, len), STORE_OK);
	ck_assert_int_eq(store_write_at(w, 0, "HEAD", 4), STORE_OK);
	ck_assert_int_eq(store_write_commit(w), STORE_OK);
	memcpy(data, "HEAD", 4);
	unsigned char *back = read_all(st, &id, &got, &s);
	ck_assert_int_eq(s, STORE_OK);
	ck_assert_uint_eq(got, len);
	ck_assert(memcmp(back, data, len) == 0);
	/* A second multipart writer of the same id is refused. */
	ck_assert_int_eq(put(st, &id, data, len), STORE_EXISTS);
	/* And no upload is left behind. */
	unsigned long n = 99;
	ck_assert_int_eq(store_count_tmp(st, 0, &n), STORE_OK);
	ck_assert_uint_eq(n, 0);
	g_free(back);
	g_free(data);
	store_close(st);
}
END_TEST

START_TEST(patch_is_seen_by_every_reader)
{
	struct store *st = open_rw();
	struct storage_id id;
	unsigned char data[3000], head[64];
	size_t got;
	enum store_status s;

	random_id(&id);
	randombytes_buf(data, sizeof data);
	ck_assert_int_eq(put(st, &id, data, sizeof data), STORE_OK);
	char v1[STORE_VERSION_MAX], v2[STORE_VERSION_MAX], v3[STORE_VERSION_MAX];
	unsigned char h1[56];
	ck_assert_int_eq(store_object_version(st, &id, h1, sizeof h1, v1),
	    STORE_OK);
	ck_assert(memcmp(h1, data, sizeof h1) == 0);
	ck_assert_int_eq(store_object_version(st, &id, h1, sizeof h1, v2),
	    STORE_OK);
	ck_assert_str_eq(v1, v2);
	ck_assert_int_eq(store_patch(st, &id, 48, "EXPIRES!", 8), STORE_OK);
	ck_assert_int_eq(store_object_version(st, &id, h1, sizeof h1, v2),
	    STORE_OK);
	ck_assert_str_ne(v1, v2);
	ck_assert(memcmp(h1 + 48, "EXPIRES!", 8) == 0);
	ck_assert_int_eq(store_patch(st, &id, 0, "TOMB", 4), STORE_OK);
	ck_assert_int_eq(store_object_version(st, &id, h1, sizeof h1, v3),
	    STORE_OK);
	ck_assert_str_ne(v2, v3);
	ck_assert_str_ne(v1, v3);
	memcpy(data + 48, "EXPIRES!", 8);
	memcpy(data, "TOMB", 4);
	ck_assert_int_eq(store_read_head(st, &id, head, sizeof head, &got),
	    STORE_OK);
	ck_assert(memcmp(head, data, sizeof head) == 0);
	unsigned char *back = read_all(st, &id, &got, &s);
	ck_assert_uint_eq(got, sizeof data);
	ck_assert(memcmp(back, data, sizeof data) == 0);
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
	    g_free, g_free);
	ck_assert_int_eq(store_scan(st, 56, count_scan, seen), STORE_OK);
	ck_assert_uint_eq(g_hash_table_size(seen), 1);
	unsigned char *sh = g_hash_table_lookup(seen, id.hex);
	ck_assert(memcmp(sh, data, 56) == 0);
	/* Beyond the header area, or the object: refused. */
	ck_assert_int_ne(store_patch(st, &id, 5000, "x", 1), STORE_OK);
	struct storage_id none;
	random_id(&none);
	ck_assert_int_eq(store_patch(st, &none, 0, "x", 1), STORE_NOT_FOUND);
	/* Delete takes both. */
	ck_assert_int_eq(store_delete(st, &id), STORE_OK);
	g_hash_table_remove_all(seen);
	ck_assert_int_eq(store_scan(st, 56, count_scan, seen), STORE_OK);
	ck_assert_uint_eq(g_hash_table_size(seen), 0);
	g_hash_table_destroy(seen);
	g_free(back);
	store_close(st);
}
END_TEST

static int
delete_scan(struct store_entry *e, const struct storage_id *id,
    const unsigned char *head, size_t head_len, enum store_status hs,
    void *ctx)
{
	(void)id; (void)head; (void)head_len; (void)hs;
	ck_assert_int_eq(store_entry_delete(e), STORE_OK);
	(*(int *)ctx)++;
	return 0;
}

START_TEST(scan_pages_and_parts)
{
	struct store *st = open_rw();
	enum { N = 1030 };      /* more than one listing page */
	unsigned char data[100];
	int deleted = 0;

	/* Small objects; a few of them are listed with a header object. */
	for (int i = 0; i < N; i++) {
		struct storage_id id;
		random_id(&id);
		randombytes_buf(data, sizeof data);
		ck_assert_int_eq(put(st, &id, data, sizeof data), STORE_OK);
		if (i % 300 == 0)
			ck_assert_int_eq(store_patch(st, &id, 8, "xx", 2),
			    STORE_OK);
	}
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
	    g_free, g_free);
	ck_assert_int_eq(store_scan(st, 16, count_scan, seen), STORE_OK);
	ck_assert_uint_eq(g_hash_table_size(seen), N);
	g_hash_table_remove_all(seen);
	for (unsigned p = 0; p < 3; p++)
		ck_assert_int_eq(store_scan_part(st, p, 3, 0, count_scan, seen),
		    STORE_OK);
	ck_assert_uint_eq(g_hash_table_size(seen), N);
	g_hash_table_destroy(seen);
	ck_assert_int_eq(store_scan(st, 0, delete_scan, &deleted), STORE_OK);
	ck_assert_int_eq(deleted, N);
	deleted = 0;
	ck_assert_int_eq(store_scan(st, 0, delete_scan, &deleted), STORE_OK);
	ck_assert_int_eq(deleted, 0);
	/* No key left at all: the header objects went with their objects. */
	char *cmd = g_strdup_printf("curl -s --aws-sigv4 aws:amz:us-east-1:s3 "
	    "--user '%s:%s' -H 'x-amz-content-sha256: " EMPTY_SHA256 "' "
	    "'%s/%s?list-type=2' | grep -c '<Key>'", access_key, secret_key,
	    endpoint, cfg->s3_bucket);
	FILE *p = popen(cmd, "r");
	int keys = -1;
	ck_assert_int_eq(fscanf(p, "%d", &keys), 1);
	pclose(p);
	g_free(cmd);
	ck_assert_int_eq(keys, 0);
	store_close(st);
}
END_TEST

/* Batched deletes: what each delete_scan_batched call asked for, and each
 * result given to done. */
struct batch_run {
	GHashTable *asked;      /* hex -> size */
	GHashTable *done;       /* hex -> status + 1 */
	const char *deny_hex;   /* the key a bucket policy keeps */
	int skip_every;         /* leave each skip_every-th object */
	int calls;
	char *deny_error;
};

static void
batch_done(const struct storage_id *id, uint64_t size, enum store_status s,
    const char *error, void *ctx)
{
	struct batch_run *br = ctx;
	ck_assert(g_hash_table_contains(br->asked, id->hex));
	ck_assert(!g_hash_table_contains(br->done, id->hex));
	ck_assert_uint_eq(size, GPOINTER_TO_SIZE(g_hash_table_lookup(br->asked,
	    id->hex)));
	g_hash_table_insert(br->done, g_strdup(id->hex),
	    GINT_TO_POINTER((int)s + 1));
	if (s == STORE_OK)
		ck_assert_ptr_null(error);
	else
		ck_assert_ptr_nonnull(error);
	if (br->deny_hex != NULL && strcmp(id->hex, br->deny_hex) == 0 &&
	    error != NULL)
		br->deny_error = g_strdup(error);
}

static int
delete_scan_batched(struct store_entry *e, const struct storage_id *id,
    const unsigned char *head, size_t head_len, enum store_status hs,
    void *ctx)
{
	struct batch_run *br = ctx;
	uint64_t size;
	(void)head; (void)head_len; (void)hs;
	if (br->skip_every > 0 && br->calls++ % br->skip_every == 0 &&
	    strcmp(id->hex, br->deny_hex) != 0)
		return 0;
	ck_assert_int_eq(store_entry_size(e, &size), STORE_OK);
	g_hash_table_insert(br->asked, g_strdup(id->hex),
	    GSIZE_TO_POINTER((gsize)size));
	ck_assert_int_eq(store_entry_delete_batched(e, id, batch_done, br),
	    STORE_OK);
	return 0;
}

/* The number of keys in the test's bucket (objects and headers). */
static int
bucket_keys(void)
{
	int total = 0;
	char *token = NULL;
	/* Two pages at most here: max-keys 1000, and the listing's
	 * continuation is followed once. */
	for (int page = 0; page < 3; page++) {
		/* Sorted parameters: curl signs the query as it is. */
		char *q = token != NULL ? g_strdup_printf(
		    "continuation-token=%s&", token) : g_strdup("");
		char *cmd = g_strdup_printf("curl -s --aws-sigv4 "
		    "aws:amz:us-east-1:s3 --user '%s:%s' -H "
		    "'x-amz-content-sha256: " EMPTY_SHA256 "' "
		    "'%s/%s?%slist-type=2'", access_key, secret_key, endpoint,
		    cfg->s3_bucket, q);
		char *out = NULL;
		ck_assert(g_spawn_command_line_sync(cmd, &out, NULL, NULL, NULL));
		for (const char *k = out; (k = strstr(k, "<Key>")) != NULL; k++)
			total++;
		g_free(token);
		token = NULL;
		const char *t = strstr(out, "<NextContinuationToken>");
		if (t != NULL && strstr(out, "<IsTruncated>true") != NULL) {
			t += strlen("<NextContinuationToken>");
			const char *e = strstr(t, "<");
			char *raw = g_strndup(t, (gsize)(e - t));
			token = g_uri_escape_string(raw, NULL, FALSE);
			g_free(raw);
		}
		g_free(out);
		g_free(q);
		g_free(cmd);
		if (token == NULL)
			break;
	}
	g_free(token);
	return total;
}

/* A signed PUT with a body (curl(1)): its HTTP status. */
static int
s3_put_body(const char *path, const char *body)
{
	unsigned char d[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1];
	char *file = g_build_filename(workdir, "body", NULL);
	crypto_hash_sha256(d, (const unsigned char *)body, strlen(body));
	sodium_bin2hex(hex, sizeof hex, d, sizeof d);
	ck_assert(g_file_set_contents(file, body, -1, NULL));
	char *cmd = g_strdup_printf("curl -s -o /dev/null -w '%%{http_code}' "
	    "--aws-sigv4 aws:amz:us-east-1:s3 --user '%s:%s' -T '%s' "
	    "-H 'x-amz-content-sha256: %s' '%s%s'", access_key, secret_key,
	    file, hex, endpoint, path);
	char *out = NULL;
	ck_assert(g_spawn_command_line_sync(cmd, &out, NULL, NULL, NULL));
	int code = atoi(out);
	g_free(out);
	g_free(cmd);
	unlink(file);
	g_free(file);
	return code;
}

/* More than one DeleteObjects batch (1000 keys), in two parts, a few
 * objects with header objects and some left: every delete asked for is
 * reported once, with the object's size; exactly the objects asked for go,
 * with their headers. A key the bucket's policy keeps is reported failed
 * with the gateway's reason, and stays. */
START_TEST(batched_deletes)
{
	struct store *st = open_rw();
	enum { N = 2150 };
	unsigned char data[120];
	struct storage_id deny;
	GHashTable *patched = g_hash_table_new_full(g_str_hash, g_str_equal,
	    g_free, NULL);

	for (int i = 0; i < N; i++) {
		struct storage_id id;
		random_id(&id);
		randombytes_buf(data, sizeof data);
		size_t len = 60 + (size_t)(i % 50);
		ck_assert_int_eq(put(st, &id, data, len), STORE_OK);
		if (i % 97 == 0) {
			ck_assert_int_eq(store_patch(st, &id, 8, "xx", 2),
			    STORE_OK);
			g_hash_table_add(patched, g_strdup(id.hex));
		}
		if (i == 97)
			deny = id;
	}
	ck_assert_int_eq(bucket_keys(), N + (N + 96) / 97);
	char *policy = g_strdup_printf("{\"Version\": \"2012-10-17\", "
	    "\"Statement\": [{\"Effect\": \"Deny\", \"Principal\": \"*\", "
	    "\"Action\": \"s3:DeleteObject\", \"Resource\": "
	    "\"arn:aws:s3:::%s/mail/%s.pull\"}]}", cfg->s3_bucket, deny.hex);
	char *path = g_strdup_printf("/%s?policy=", cfg->s3_bucket);
	ck_assert_int_eq(s3_put_body(path, policy), 204);
	g_free(policy);
	g_free(path);

	struct batch_run br = { 0 };
	br.asked = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	br.done = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	br.deny_hex = deny.hex;
	br.skip_every = 10;
	for (unsigned p = 0; p < 2; p++)
		ck_assert_int_eq(store_scan_part(st, p, 2, 0, delete_scan_batched,
		    &br), STORE_OK);
	ck_assert_int_eq(br.calls, N);
	guint asked = g_hash_table_size(br.asked);
	ck_assert_uint_gt(asked, 1900);
	ck_assert_uint_eq(g_hash_table_size(br.done), asked);
	GHashTableIter it;
	gpointer k, v;
	int failed = 0;
	g_hash_table_iter_init(&it, br.done);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		enum store_status s = (enum store_status)(GPOINTER_TO_INT(v) - 1);
		if (strcmp(k, deny.hex) == 0) {
			ck_assert_int_ne(s, STORE_OK);
			failed++;
		} else {
			ck_assert_int_eq(s, STORE_OK);
		}
	}
	ck_assert(g_hash_table_contains(br.asked, deny.hex));
	ck_assert_int_eq(failed, 1);
	ck_assert_ptr_nonnull(br.deny_error);
	ck_assert_msg(strstr(br.deny_error, "AccessDenied") != NULL, "%s",
	    br.deny_error);
	/* Left: what was not asked for, the denied one, and their headers. */
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
	    g_free, g_free);
	ck_assert_int_eq(store_scan(st, 0, count_scan, seen), STORE_OK);
	ck_assert_uint_eq(g_hash_table_size(seen), N - asked + (guint)failed);
	int heads_left = 0;
	g_hash_table_iter_init(&it, seen);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		ck_assert(!g_hash_table_contains(br.asked, k) ||
		    strcmp(k, deny.hex) == 0);
		if (g_hash_table_contains(patched, k))
			heads_left++;
	}
	/* The headers of the deleted objects went too; the denied one's
	 * stays with it. */
	ck_assert_int_eq(bucket_keys(), (int)g_hash_table_size(seen) +
	    heads_left);
	g_hash_table_destroy(seen);
	g_hash_table_destroy(patched);
	g_hash_table_destroy(br.asked);
	g_hash_table_destroy(br.done);
	g_free(br.deny_error);
	store_close(st);
}
END_TEST

START_TEST(gc_aborts_stale_uploads)
{
	struct store *st = open_rw();
	char path[256];
	struct storage_id id;
	unsigned long n = 0;

	random_id(&id);
	/* A writer that started an upload and died. */
	snprintf(path, sizeof path, "/%s/mail/%s.pull?uploads=", cfg->s3_bucket,
	    id.hex);
	ck_assert_int_eq(s3_curl("POST", path, NULL), 200);
	/* Not stale yet. */
	ck_assert_int_eq(store_count_tmp(st, 3600, &n), STORE_OK);
	ck_assert_uint_eq(n, 0);
	sleep(2);
	ck_assert_int_eq(store_count_tmp(st, 1, &n), STORE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(store_cleanup_tmp(st, 1, &n), STORE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(store_count_tmp(st, 0, &n), STORE_OK);
	ck_assert_uint_eq(n, 0);
	store_close(st);
}
END_TEST

START_TEST(wrong_credentials_say_so_without_the_secret)
{
	char *path = g_build_filename(workdir, "wrong", NULL);
	struct storage_id id;
	unsigned char data[100] = { 0 };

	write_creds(path, access_key, "WRONGSECRETwrongsecretWRONGSECRET0123456",
	    0600);
	g_free(cfg->s3_credentials_file);
	cfg->s3_credentials_file = path;
	struct store *st = open_rw();
	random_id(&id);
	ck_assert_int_eq(put(st, &id, data, sizeof data), STORE_BAD_CONFIG);
	const char *e = store_error(st);
	ck_assert_msg(strstr(e, "403") != NULL, "%s", e);
	ck_assert(strstr(e, "WRONGSECRET") == NULL);
	ck_assert(strstr(e, secret_key) == NULL);
	store_close(st);
	unlink(path);
}
END_TEST

START_TEST(missing_bucket_says_so)
{
	struct storage_id id;
	unsigned char data[100] = { 0 };

	g_free(cfg->s3_bucket);
	cfg->s3_bucket = g_strdup("no-such-bucket-here");
	struct store *st = open_rw();
	random_id(&id);
	ck_assert_int_eq(put(st, &id, data, sizeof data), STORE_BAD_CONFIG);
	ck_assert_msg(strstr(store_error(st), "does not exist") != NULL, "%s",
	    store_error(st));
	ck_assert_int_eq(store_scan(st, 0, delete_scan, &(int){0}),
	    STORE_BAD_CONFIG);
	store_close(st);
}
END_TEST

START_TEST(credentials_file_is_checked)
{
	char *path = g_build_filename(workdir, "loose", NULL);
	char *err = NULL;

	write_creds(path, access_key, secret_key, 0640);
	g_free(cfg->s3_credentials_file);
	cfg->s3_credentials_file = path;
	ck_assert_ptr_null(store_open(cfg, STORE_READ_WRITE, &err));
	ck_assert_msg(strstr(err, "chmod 600") != NULL, "%s", err);
	ck_assert(strstr(err, secret_key) == NULL);
	g_free(err);
	err = NULL;
	/* No SecretKey. */
	int fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(write(fd, "AccessKey = x\n", 14), 14);
	close(fd);
	chmod(path, 0600);
	ck_assert_ptr_null(store_open(cfg, STORE_READ_WRITE, &err));
	ck_assert_msg(strstr(err, "SecretKey") != NULL, "%s", err);
	g_free(err);
	err = NULL;
	/* Missing keys of the section. */
	g_free(cfg->s3_bucket);
	cfg->s3_bucket = NULL;
	ck_assert_ptr_null(store_open(cfg, STORE_READ_WRITE, &err));
	ck_assert_msg(strstr(err, "Bucket") != NULL, "%s", err);
	g_free(err);
	unlink(path);
}
END_TEST

/* Sealed messages through the s3 store: keep and revoke as pullmailctl
 * and the retriever do them. */
START_TEST(sealed_keep_and_revoke)
{
	struct store *st = open_rw();
	struct token *t = NULL;
	struct storage_id id;
	struct sealed_writer *w;
	const char msg[] = "From: a@example.org\r\n\r\nhello\r\n";
	int64_t now = (int64_t)time(NULL), set = 0;
	unsigned char *plain;
	size_t plain_len;
	struct envelope_meta m;

	ck_assert_int_eq(sealed_create(st, now, now + 3600, &w, &t, &id),
	    SEALED_OK);
	ck_assert_int_eq(sealed_write(w, msg, sizeof msg - 1), SEALED_OK);
	ck_assert_int_eq(sealed_commit(w), SEALED_OK);
	ck_assert_int_eq(sealed_meta(st, &id, &m), SEALED_OK);
	ck_assert_int_eq(m.expires, now + 3600);
	ck_assert_int_eq(sealed_keep(st, &id, now + 7200, 90 * 86400, &set),
	    SEALED_OK);
	ck_assert_int_eq(set, now + 7200);
	ck_assert_int_eq(sealed_meta(st, &id, &m), SEALED_OK);
	ck_assert_int_eq(m.expires, now + 7200);
	/* A kept expiry past created + MaxRetention is capped. */
	ck_assert_int_eq(sealed_keep(st, &id, now + 400 * 86400, 90 * 86400,
	    &set), SEALED_OK);
	ck_assert_int_eq(set, now + 90 * 86400);
	ck_assert_int_eq(sealed_open(st, t, 90 * 86400, now, 1 << 20, &m,
	    &plain, &plain_len, NULL), SEALED_OK);
	ck_assert(plain_len == sizeof msg - 1 &&
	    memcmp(plain, msg, plain_len) == 0);
	envelope_plain_free(plain, plain_len);
	ck_assert_int_eq(sealed_revoke(st, &id, now), SEALED_OK);
	ck_assert_int_eq(sealed_state(st, t, 90 * 86400, now, &m),
	    SEALED_REVOKED);
	/* The ciphertext is gone: the object is the tombstone alone. */
	unsigned char big[4096];
	size_t got = 0;
	ck_assert_int_eq(store_read_head(st, &id, big, sizeof big, &got),
	    STORE_OK);
	ck_assert_uint_eq(got, ENVELOPE_META_SIZE);
	token_free(t);
	store_close(st);
}
END_TEST

/* ---- read state ---- */

START_TEST(readstate_round_trip)
{
	struct store *st = open_rw();
	struct storage_id id;
	struct readstate rs;
	bool found = true;
	char path[160];

	ck_assert(store_readstate_supported(st));
	random_id(&id);
	ck_assert_int_eq(store_readstate_get(st, &id, &rs, &found), STORE_OK);
	ck_assert(!found);
	ck_assert(!readstate_was_read(&rs));
	ck_assert_int_eq(store_readstate_record(st, &id, READSTATE_PAGE, 1000),
	    STORE_OK);
	ck_assert_int_eq(store_readstate_record(st, &id, READSTATE_PAGE, 1005),
	    STORE_OK);
	ck_assert_int_eq(store_readstate_record(st, &id, READSTATE_EML, 1010),
	    STORE_OK);
	ck_assert_int_eq(store_readstate_get(st, &id, &rs, &found), STORE_OK);
	ck_assert(found);
	ck_assert_uint_eq(rs.route[READSTATE_PAGE].count, 2);
	ck_assert_int_eq(rs.route[READSTATE_PAGE].first, 1000);
	ck_assert_int_eq(rs.route[READSTATE_PAGE].last, 1005);
	ck_assert_uint_eq(rs.route[READSTATE_EML].count, 1);
	ck_assert_uint_eq(rs.route[READSTATE_PART].count, 0);
	ck_assert_int_eq(rs.receipt, READSTATE_RECEIPT_NONE);
	/* The object beside the message holds the fs file's bytes. */
	snprintf(path, sizeof path, "/%s/mail/%s.read", cfg->s3_bucket, id.hex);
	ck_assert_int_eq(s3_curl("GET", path, NULL), 200);
	/* A receipt: claimed once, given back, claimed again. */
	enum readstate_receipt prior;
	ck_assert_int_eq(store_readstate_receipt_claim(st, &id,
	    READSTATE_RECEIPT_SENT, 1020, &prior), STORE_OK);
	ck_assert_int_eq(prior, READSTATE_RECEIPT_NONE);
	ck_assert_int_eq(store_readstate_receipt_claim(st, &id,
	    READSTATE_RECEIPT_REFUSED, 1021, &prior), STORE_EXISTS);
	ck_assert_int_eq(prior, READSTATE_RECEIPT_SENT);
	ck_assert_int_eq(store_readstate_receipt_undo(st, &id), STORE_OK);
	ck_assert_int_eq(store_readstate_receipt_claim(st, &id,
	    READSTATE_RECEIPT_REFUSED, 1022, &prior), STORE_OK);
	ck_assert_int_eq(store_readstate_get(st, &id, &rs, &found), STORE_OK);
	ck_assert_int_eq(rs.receipt, READSTATE_RECEIPT_REFUSED);
	ck_assert_int_eq(rs.receipt_at, 1022);
	ck_assert_uint_eq(rs.route[READSTATE_PAGE].count, 2);
	store_close(st);
}
END_TEST

#define RS_PROCS 6
#define RS_EACH 15

/* Several processes, each with its own store (its own connections), as
 * responders on several machines. */
START_TEST(readstate_concurrent_counts_are_exact)
{
	struct store *st = open_rw();
	struct storage_id id;
	pid_t pid[RS_PROCS];
	struct readstate rs;
	bool found;

	random_id(&id);
	for (int i = 0; i < RS_PROCS; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0) {
			char *err = NULL;
			struct store *cs = store_open(cfg, STORE_READ_WRITE,
			    &err);
			int bad = cs == NULL;
			for (int k = 0; cs != NULL && k < RS_EACH; k++)
				if (store_readstate_record(cs, &id,
				    READSTATE_PAGE, 2000 + k) != STORE_OK) {
					fprintf(stderr, "record: %s\n",
					    store_error(cs));
					bad++;
				}
			if (cs != NULL)
				store_close(cs);
			_exit(bad != 0);
		}
	}
	for (int i = 0; i < RS_PROCS; i++) {
		int status;
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	ck_assert_int_eq(store_readstate_get(st, &id, &rs, &found), STORE_OK);
	ck_assert(found);
	ck_assert_uint_eq(rs.route[READSTATE_PAGE].count, RS_PROCS * RS_EACH);
	ck_assert_int_eq(rs.route[READSTATE_PAGE].first, 2000);
	ck_assert_int_eq(rs.route[READSTATE_PAGE].last, 2000 + RS_EACH - 1);
	store_close(st);
}
END_TEST

#define RC_PROCS 8

/* Processes claiming the receipt of a fresh message at the same moment
 * (no record yet: the creation race), then of one that has a record (the
 * If-Match race): exactly one wins each time. */
static void
receipt_race(const struct storage_id *id)
{
	pid_t pid[RC_PROCS];
	int won = 0, lost = 0;
	int go[2];

	ck_assert_int_eq(pipe(go), 0);
	for (int i = 0; i < RC_PROCS; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0) {
			char *err = NULL, c;
			close(go[1]);
			struct store *cs = store_open(cfg, STORE_READ_WRITE,
			    &err);
			if (cs == NULL)
				_exit(3);
			/* All start together, when the pipe closes. */
			if (read(go[0], &c, 1) != 0)
				_exit(3);
			enum readstate_receipt prior;
			enum store_status s = store_readstate_receipt_claim(cs,
			    id, READSTATE_RECEIPT_SENT, 3000, &prior);
			if (s != STORE_OK && s != STORE_EXISTS)
				fprintf(stderr, "claim: %s\n", store_error(cs));
			store_close(cs);
			_exit(s == STORE_OK ? 0 : s == STORE_EXISTS ? 1 : 2);
		}
	}
	close(go[0]);
	usleep(300000);
	close(go[1]);
	for (int i = 0; i < RC_PROCS; i++) {
		int status;
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_le(WEXITSTATUS(status), 1);
		if (WEXITSTATUS(status) == 0)
			won++;
		else
			lost++;
	}
	ck_assert_int_eq(won, 1);
	ck_assert_int_eq(lost, RC_PROCS - 1);
}

START_TEST(readstate_receipt_claimed_once_under_a_race)
{
	struct store *st = open_rw();
	struct storage_id id;
	struct readstate rs;
	bool found;

	random_id(&id);
	receipt_race(&id);
	ck_assert_int_eq(store_readstate_get(st, &id, &rs, &found), STORE_OK);
	ck_assert_int_eq(rs.receipt, READSTATE_RECEIPT_SENT);
	/* Given back (a failed send), then raced for again over an
	 * existing record. */
	ck_assert_int_eq(store_readstate_record(st, &id, READSTATE_PAGE, 2990),
	    STORE_OK);
	ck_assert_int_eq(store_readstate_receipt_undo(st, &id), STORE_OK);
	receipt_race(&id);
	ck_assert_int_eq(store_readstate_get(st, &id, &rs, &found), STORE_OK);
	ck_assert_int_eq(rs.receipt, READSTATE_RECEIPT_SENT);
	ck_assert_uint_eq(rs.route[READSTATE_PAGE].count, 1);
	store_close(st);
}
END_TEST

/* The record is not an object to scan; it goes with its object. */
START_TEST(readstate_removed_with_its_object)
{
	struct store *st = open_rw();
	struct storage_id id;
	unsigned char data[100];
	struct readstate rs;
	bool found;
	char path[160];

	random_id(&id);
	randombytes_buf(data, sizeof data);
	ck_assert_int_eq(put(st, &id, data, sizeof data), STORE_OK);
	ck_assert_int_eq(store_readstate_record(st, &id, READSTATE_PART, 10),
	    STORE_OK);
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
	    g_free, g_free);
	ck_assert_int_eq(store_scan(st, 56, count_scan, seen), STORE_OK);
	ck_assert_uint_eq(g_hash_table_size(seen), 1);
	ck_assert(g_hash_table_contains(seen, id.hex));
	g_hash_table_destroy(seen);
	/* As gc does: a batched delete takes the record with the object. */
	struct batch_run br = {
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
		NULL, 0, 0, NULL };
	ck_assert_int_eq(store_scan(st, 0, delete_scan_batched, &br),
	    STORE_OK);
	ck_assert_int_eq(GPOINTER_TO_INT(g_hash_table_lookup(br.done,
	    id.hex)), STORE_OK + 1);
	g_hash_table_destroy(br.asked);
	g_hash_table_destroy(br.done);
	snprintf(path, sizeof path, "/%s/mail/%s.pull", cfg->s3_bucket, id.hex);
	ck_assert_int_eq(s3_curl("GET", path, NULL), 404);
	snprintf(path, sizeof path, "/%s/mail/%s.read", cfg->s3_bucket, id.hex);
	ck_assert_int_eq(s3_curl("GET", path, NULL), 404);
	/* A record written after its object went is removed on its own. */
	ck_assert_int_eq(store_readstate_record(st, &id, READSTATE_PAGE, 11),
	    STORE_OK);
	ck_assert_int_eq(s3_curl("GET", path, NULL), 200);
	ck_assert_int_eq(store_readstate_remove(st, &id), STORE_OK);
	ck_assert_int_eq(s3_curl("GET", path, NULL), 404);
	ck_assert_int_eq(store_readstate_get(st, &id, &rs, &found), STORE_OK);
	ck_assert(!found);
	ck_assert(!readstate_was_read(&rs));
	/* Again: nothing there is not an error. */
	ck_assert_int_eq(store_readstate_remove(st, &id), STORE_OK);
	store_close(st);
}
END_TEST

int
main(void)
{
	char dir[] = "/tmp/pullmail-test-s3-XXXXXX";
	char *rgw_dir = NULL;
	int rc;

	if (mkdtemp(dir) == NULL)
		return EXIT_FAILURE;
	workdir = g_build_filename(dir, "w", NULL);
	mkdir(workdir, 0700);
	if (getenv("S3_ENDPOINT") == NULL) {
		const char *port = getenv("PULLMAIL_S3_TEST_PORT");
		rgw_dir = g_build_filename(dir, "rgw", NULL);
		char *cmd = g_strdup_printf("bash tests/lib/ceph-rgw.sh start "
		    "'%s' %s", rgw_dir, port ? port : "15010");
		FILE *p = popen(cmd, "r");
		char line[512];
		g_free(cmd);
		while (p != NULL && fgets(line, sizeof line, p) != NULL) {
			g_strchomp(line);
			char *eq = strchr(line, '=');
			if (eq != NULL) {
				*eq = '\0';
				setenv(line, eq + 1, 1);
			}
		}
		if (p == NULL || pclose(p) != 0) {
			fprintf(stderr, "cannot start radosgw (logs in %s)\n",
			    rgw_dir);
			printf("0 passed, 1 failed\n");
			return EXIT_FAILURE;
		}
	}
	endpoint = g_strdup(getenv("S3_ENDPOINT"));
	access_key = g_strdup(getenv("S3_ACCESS_KEY"));
	secret_key = g_strdup(getenv("S3_SECRET_KEY"));
	cred_path = g_build_filename(workdir, "creds", NULL);
	if (endpoint == NULL || access_key == NULL || secret_key == NULL)
		return EXIT_FAILURE;
	{
		char *text = g_strdup_printf("AccessKey = %s\nSecretKey = %s\n",
		    access_key, secret_key);
		g_file_set_contents(cred_path, text, -1, NULL);
		chmod(cred_path, 0600);
		g_free(text);
	}

	TCase *tc;
	Suite *s = check_suite("store_s3", "store_s3", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, write_read_head_delete);
	tcase_add_test(tc, write_at_patches_the_spool);
	tcase_add_test(tc, existing_object_is_never_overwritten);
	tcase_add_test(tc, abort_leaves_nothing);
	tcase_add_test(tc, multipart_object_over_16_mib);
	tcase_add_test(tc, patch_is_seen_by_every_reader);
	tcase_add_test(tc, scan_pages_and_parts);
	tcase_add_test(tc, batched_deletes);
	tcase_add_test(tc, gc_aborts_stale_uploads);
	tcase_add_test(tc, wrong_credentials_say_so_without_the_secret);
	tcase_add_test(tc, missing_bucket_says_so);
	tcase_add_test(tc, credentials_file_is_checked);
	tcase_add_test(tc, sealed_keep_and_revoke);
	tcase_add_test(tc, readstate_round_trip);
	tcase_add_test(tc, readstate_concurrent_counts_are_exact);
	tcase_add_test(tc, readstate_receipt_claimed_once_under_a_race);
	tcase_add_test(tc, readstate_removed_with_its_object);
	rc = check_run(s);

	if (rgw_dir != NULL) {
		char *cmd = g_strdup_printf("bash tests/lib/ceph-rgw.sh stop '%s' "
		    ">/dev/null 2>&1", rgw_dir);
		if (system(cmd) != 0)
			rc = EXIT_FAILURE;
		g_free(cmd);
	}
	char *rm = g_strdup_printf("rm -rf '%s'", dir);
	if (system(rm) != 0)
		rc = EXIT_FAILURE;
	g_free(rm);
	g_free(rgw_dir);
	g_free(cred_path);
	g_free(workdir);
	g_free(endpoint);
	g_free(access_key);
	g_free(secret_key);
	return rc;
}
