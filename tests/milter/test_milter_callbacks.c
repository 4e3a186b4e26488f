#define _GNU_SOURCE
/* pullmail-milter callbacks in-process against a fake MTA: the rewrite,
 * the sealed original byte for byte, every policy branch, malformed MIME,
 * aborts and store failures. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <gmime/gmime.h>

#include "tests/milter/fake_mta.h"
#include "config.h"
#include "mimescan.h"
#include "sealed.h"
#include "store.h"
#include "token.h"
#include "tests/lib/check_main.h"

static char store_dir[] = "/tmp/pullmail-test-milter-XXXXXX";
static struct config *cfg;
static struct store *st;

static void
rm_rf(const char *path)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", path);
	g_free(cmd);
}

static void
setup(void)
{
	char *err = NULL;

	strcpy(store_dir, "/tmp/pullmail-test-milter-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(store_dir));
	chmod(store_dir, 0750);
	cfg = config_defaults();
	ck_assert_ptr_nonnull(cfg);
	g_free(cfg->store_dir);
	cfg->store_dir = g_strdup(store_dir);
	g_free(cfg->base_url);
	cfg->base_url = g_strdup("https://mail.example.org/");
	g_free(cfg->template_dir);
	cfg->template_dir = g_strdup("templates");
	cfg->log_why = true;
	st = store_open(cfg, STORE_READ_WRITE, &err);
	ck_assert_msg(st != NULL, "store_open: %s", err ? err : "");
	callbacks_set_config(cfg);
	callbacks_set_store(st);
	fake_new();
	fake_macro("i", "4AbCdEf");
}

static void
teardown(void)
{
	if (fake != NULL && fake->priv != NULL)
		cb_close(FAKE_CTX);
	fake_free();
	callbacks_set_config(NULL);
	callbacks_set_store(NULL);
	store_close(st);
	config_unref(cfg);
	rm_rf(store_dir);
}

/* Config changes must happen before the connection takes its snapshot. */
static void
reconfigure(void)
{
	callbacks_set_config(cfg);
}

static int
count_cb(const struct storage_id *id, uint64_t size, void *ctx)
{
	(void)id; (void)size;
	(*(int *)ctx)++;
	return 0;
}

static int
objects(void)
{
	int n = 0;
	ck_assert_int_eq(store_iterate(st, count_cb, &n), STORE_OK);
	return n;
}

static int
tmp_files(void)
{
	char *p = g_strdup_printf("%s/tmp", store_dir);
	DIR *d = opendir(p);
	int n = 0;
	struct dirent *e;
	g_free(p);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The link the rewrite added, from the fake MTA's log. */
static char *
pulled_link(void)
{
	const char *p = strstr(fake->log->str, "add X-Pull-URL: ");
	if (p == NULL)
		return NULL;
	p += strlen("add X-Pull-URL: ");
	return g_strndup(p, strcspn(p, "\n"));
}

/* Opens the object the link names and compares it with want. */
static void
assert_sealed_equals(const char *want, size_t want_len)
{
	char *link = pulled_link();
	ck_assert_msg(link != NULL, "no X-Pull-URL in: %s", fake->log->str);
	ck_assert(g_str_has_prefix(link, "https://mail.example.org/m/"));
	ck_assert_uint_eq(strlen(link), strlen("https://mail.example.org/m/") +
	    TOKEN_TEXT_LEN);
	struct token *t = token_from_link(link);
	ck_assert_ptr_nonnull(t);
	struct envelope_meta meta;
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	enum envelope_status detail;
	ck_assert_int_eq(sealed_open(st, t, cfg->max_retention, 0, 0, &meta,
	    &plain, &plain_len, &detail), SEALED_OK);
	ck_assert_uint_eq(plain_len, want_len);
	ck_assert(memcmp(plain, want, want_len) == 0);
	envelope_plain_free(plain, plain_len);
	token_free(t);
	/* The link is in the summary, in both parts. */
	ck_assert(fake->replaced);
	g_free(link);
}

static const char *one_rcpt[] = { "<bob@example.net>", NULL };

#define PLAIN_MSG \
	"From: Alice <alice@example.org>\r\n" \
	"To: bob@example.net\r\n" \
	"Subject: =?UTF-8?Q?Relat=C3=B3rio?= of the\r\n month\r\n" \
	"Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n" \
	"Message-ID: <1@example.org>\r\n" \
	"MIME-Version: 1.0\r\n" \
	"Content-Type: text/plain; charset=utf-8\r\n" \
	"Content-Transfer-Encoding: 8bit\r\n" \
	"\r\n" \
	"Hello Bob,\r\nthe secret line of the body.\r\n"

static void
connect_auth(const char *ip)
{
	ck_assert_int_eq(fake_negotiate_connect(ip), SMFIS_CONTINUE);
	fake_macro("{auth_authen}", "alice");
}

/* Linked with --wrap=calloc (Makefile): when armed, the milter's allocation
 * of a message's MIME scan fails once, so a silent step's failure path runs. */
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
static int fail_scan_alloc;

void *
__wrap_calloc(size_t n, size_t size)
{
	if (fail_scan_alloc && n == 1 && size == sizeof(struct mimescan)) {
		fail_scan_alloc = 0;
		return NULL;
	}
	return __real_calloc(n, size);
}

START_TEST(pulled_plain_message)
{
	const char *rcpts[] = { "<bob@example.net>", "<carol@example.com>",
	    "<dave@example.com>", NULL };
	connect_auth("198.51.100.7");
	ck_assert_int_eq(fake_send("<alice@example.org>", rcpts, PLAIN_MSG,
	    strlen(PLAIN_MSG), 7), SMFIS_CONTINUE);
	assert_sealed_equals(PLAIN_MSG, strlen(PLAIN_MSG));
	ck_assert_int_eq(objects(), 1);
	ck_assert_int_eq(tmp_files(), 0);
	const char *l = fake->log->str;
	ck_assert_ptr_nonnull(strstr(l, "chg Content-Type 1\n"));
	ck_assert_ptr_nonnull(strstr(l, "chg Content-Transfer-Encoding 1\n"));
	ck_assert_ptr_nonnull(strstr(l, "chg MIME-Version 1\n"));
	ck_assert_ptr_nonnull(strstr(l, "add MIME-Version: 1.0\n"));
	ck_assert_ptr_nonnull(strstr(l,
	    "add Content-Type: multipart/alternative; boundary=\""));
	ck_assert_ptr_nonnull(strstr(l, "add X-Pull-Expires: "));
	ck_assert_ptr_null(strstr(l, "Subject"));
	ck_assert_ptr_null(strstr(fake->body->str, "secret line"));
	/* Every line CRLF and at most 78 characters. */
	gchar **lines = g_strsplit(fake->body->str, "\n", -1);
	for (size_t i = 0; lines[i] != NULL; i++) {
		if (lines[i + 1] != NULL)
			ck_assert(g_str_has_suffix(lines[i], "\r"));
		ck_assert_uint_le(strlen(lines[i]), 79);
	}
	g_strfreev(lines);
	ck_assert_uint_lt(fake->body->len, 4096);
}
END_TEST

START_TEST(two_messages_one_connection)
{
	connect_auth("198.51.100.7");
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 4096), SMFIS_CONTINUE);
	char *first = pulled_link();
	assert_sealed_equals(PLAIN_MSG, strlen(PLAIN_MSG));
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 1), SMFIS_CONTINUE);
	char *second = pulled_link();
	assert_sealed_equals(PLAIN_MSG, strlen(PLAIN_MSG));
	ck_assert_str_ne(first, second);
	ck_assert_int_eq(objects(), 2);
	g_free(first);
	g_free(second);
}
END_TEST

START_TEST(abort_in_body_leaves_nothing)
{
	char *argv[] = { "<alice@example.org>", NULL };
	char *rc[] = { "<bob@example.net>", NULL };
	connect_auth("198.51.100.7");
	ck_assert_int_eq(cb_envfrom(FAKE_CTX, argv), SMFIS_CONTINUE);
	ck_assert_int_eq(cb_envrcpt(FAKE_CTX, rc), SMFIS_CONTINUE);
	ck_assert_int_eq(cb_header(FAKE_CTX, "Subject", " x"), SMFIS_CONTINUE);
	ck_assert_int_eq(cb_eoh(FAKE_CTX), SMFIS_CONTINUE);
	ck_assert_int_eq(cb_body(FAKE_CTX, (unsigned char *)"abc\r\n", 5),
	    SMFIS_CONTINUE);
	ck_assert_int_eq(cb_abort(FAKE_CTX), SMFIS_CONTINUE);
	ck_assert_int_eq(objects(), 0);
	ck_assert_int_eq(tmp_files(), 0);
	/* The connection goes on with a whole message. */
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 100), SMFIS_CONTINUE);
	ck_assert_int_eq(objects(), 1);
}
END_TEST

/* Not pulled: the message passes unchanged apart from X-Pull headers. */
static void
assert_not_pulled(void)
{
	ck_assert(!fake->replaced);
	ck_assert_ptr_null(strstr(fake->log->str, "add "));
	ck_assert_int_eq(objects(), 0);
	ck_assert_int_eq(tmp_files(), 0);
}

START_TEST(untrusted_client_not_pulled)
{
	ck_assert_int_eq(fake_negotiate_connect("203.0.113.5"), SMFIS_CONTINUE);
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 64), SMFIS_CONTINUE);
	assert_not_pulled();
}
END_TEST

START_TEST(internal_client_pulled)
{
	ck_assert_int_eq(fake_negotiate_connect("127.0.0.1"), SMFIS_CONTINUE);
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 64), SMFIS_CONTINUE);
	assert_sealed_equals(PLAIN_MSG, strlen(PLAIN_MSG));
}
END_TEST

START_TEST(null_sender_not_pulled)
{
	connect_auth("198.51.100.7");
	ck_assert_int_eq(fake_send("<>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 64), SMFIS_CONTINUE);
	assert_not_pulled();
}
END_TEST

/* The loop rule: a message is left alone only when its one X-Pull-URL
 * names this BaseURL and an object that is in the store. */
static char *
pull_url_msg(const char *url1, const char *url2)
{
	return g_strdup_printf("X-Pull-URL: %s\r\n%s%s%sSubject: s\r\n"
	    "X-Pull-Expires: Sun, 1 Jan 2040 00:00:00 +0000\r\n"
	    "X-Pull-Whatever: x\r\n\r\nbody\r\n", url1,
	    url2 != NULL ? "X-Pull-URL: " : "", url2 != NULL ? url2 : "",
	    url2 != NULL ? "\r\n" : "");
}

/* Pulled afresh: the sender's X-Pull fields deleted, our own added. */
static void
assert_repulled(const char *m, unsigned n_url)
{
	const char *l = fake->log->str;
	for (unsigned k = n_url; k >= 1; k--) {
		char want[64];
		snprintf(want, sizeof(want), "chg X-Pull-URL %u\n", k);
		ck_assert_msg(strstr(l, want) != NULL, "no %s in %s", want, l);
	}
	ck_assert_ptr_nonnull(strstr(l, "chg X-Pull-Expires 1\n"));
	ck_assert_ptr_nonnull(strstr(l, "chg X-Pull-Whatever 1\n"));
	assert_sealed_equals(m, strlen(m));
}

START_TEST(loop_forged_foreign_base_pulled)
{
	char tok[TOKEN_TEXT_LEN + 1];
	struct token *t = token_new();
	token_encode(t, tok);
	token_free(t);
	char *url = g_strdup_printf("https://evil.example/m/%s", tok);
	char *m = pull_url_msg(url, NULL);
	connect_auth("198.51.100.7");
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, m,
	    strlen(m), 64), SMFIS_CONTINUE);
	assert_repulled(m, 1);
	ck_assert_int_eq(objects(), 1);
	g_free(url);
	g_free(m);
}
END_TEST

START_TEST(loop_our_base_no_object_pulled)
{
	char tok[TOKEN_TEXT_LEN + 1];
	struct token *t = token_new();
	token_encode(t, tok);
	token_free(t);
	char *url = g_strdup_printf("https://mail.example.org/m/%s", tok);
	char *m = pull_url_msg(url, NULL);
	connect_auth("198.51.100.7");
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, m,
	    strlen(m), 64), SMFIS_CONTINUE);
	assert_repulled(m, 1);
	/* and a link that is no token at all */
	g_free(m);
	m = pull_url_msg("https://mail.example.org/m/abc", NULL);
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, m,
	    strlen(m), 64), SMFIS_CONTINUE);
	assert_repulled(m, 1);
	ck_assert_int_eq(objects(), 2);
	g_free(url);
	g_free(m);
}
END_TEST

START_TEST(loop_our_object_skipped)
{
	connect_auth("198.51.100.7");
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 64), SMFIS_CONTINUE);
	char *url = pulled_link();
	ck_assert_ptr_nonnull(url);
	ck_assert_int_eq(objects(), 1);
	/* The summary comes through again (a forward, a list): left as it
	 * is, with its link and expiry; another X-Pull field goes. */
	char *m = pull_url_msg(url, NULL);
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, m,
	    strlen(m), 64), SMFIS_CONTINUE);
	ck_assert(!fake->replaced);
	ck_assert_ptr_null(strstr(fake->log->str, "add "));
	ck_assert_ptr_null(strstr(fake->log->str, "chg X-Pull-URL"));
	ck_assert_ptr_null(strstr(fake->log->str, "chg X-Pull-Expires"));
	ck_assert_ptr_nonnull(strstr(fake->log->str, "chg X-Pull-Whatever 1\n"));
	ck_assert_int_eq(objects(), 1);
	/* Once the object is gone (revoked, expired), the link is no
	 * longer ours to trust: pulled again. */
	struct token *t = token_from_link(url);
	struct storage_id id;
	token_storage_id(t, &id);
	token_free(t);
	ck_assert_int_eq(store_delete(st, &id), STORE_OK);
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, m,
	    strlen(m), 64), SMFIS_CONTINUE);
	assert_repulled(m, 1);
	g_free(url);
	g_free(m);
}
END_TEST

START_TEST(loop_several_urls_pulled)
{
	connect_auth("198.51.100.7");
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 64), SMFIS_CONTINUE);
	char *url = pulled_link();
	ck_assert_ptr_nonnull(url);
	/* Ours twice, or ours and a forged one: no message of ours has
	 * two, so neither is trusted. */
	char *m = pull_url_msg(url, url);
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, m,
	    strlen(m), 64), SMFIS_CONTINUE);
	assert_repulled(m, 2);
	g_free(m);
	m = pull_url_msg(url, "https://evil.example/m/x");
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, m,
	    strlen(m), 64), SMFIS_CONTINUE);
	assert_repulled(m, 2);
	ck_assert_int_eq(objects(), 3);
	g_free(url);
	g_free(m);
}
END_TEST

/* Not pulled (an untrusted client): still, no X-Pull field it sent is
 * delivered. */
START_TEST(loop_untrusted_x_pull_fields_removed)
{
	char *m = pull_url_msg("https://evil.example/m/x", NULL);
	ck_assert_int_eq(fake_negotiate_connect("203.0.113.5"), SMFIS_CONTINUE);
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, m,
	    strlen(m), 64), SMFIS_CONTINUE);
	assert_not_pulled();
	const char *l = fake->log->str;
	ck_assert_ptr_nonnull(strstr(l, "chg X-Pull-URL 1\n"));
	ck_assert_ptr_nonnull(strstr(l, "chg X-Pull-Expires 1\n"));
	ck_assert_ptr_nonnull(strstr(l, "chg X-Pull-Whatever 1\n"));
	ck_assert_ptr_null(strstr(l, "chg Subject"));
	g_free(m);
}
END_TEST

START_TEST(all_local_not_pulled)
{
	const char *rcpts[] = { "<a@Example.ORG>", "<b@example.org>", NULL };
	const char *mixed[] = { "<a@example.org>", "<b@example.net>", NULL };
	g_strfreev(cfg->local_domains);
	cfg->local_domains = g_strsplit("example.org", ",", -1);
	reconfigure();
	connect_auth("198.51.100.7");
	ck_assert_int_eq(fake_send("<alice@example.org>", rcpts, PLAIN_MSG,
	    strlen(PLAIN_MSG), 64), SMFIS_CONTINUE);
	assert_not_pulled();
	ck_assert_int_eq(fake_send("<alice@example.org>", mixed, PLAIN_MSG,
	    strlen(PLAIN_MSG), 64), SMFIS_CONTINUE);
	assert_sealed_equals(PLAIN_MSG, strlen(PLAIN_MSG));
}
END_TEST

START_TEST(x_pull_no_from_authenticated)
{
	const char *m = "Subject: s\r\nX-Pull: no\r\nX-Pull-Expires: 3d\r\n"
	    "\r\nbody\r\n";
	connect_auth("198.51.100.7");
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, m,
	    strlen(m), 64), SMFIS_CONTINUE);
	ck_assert_ptr_nonnull(strstr(fake->log->str, "chg X-Pull 1\n"));
	ck_assert_ptr_nonnull(strstr(fake->log->str, "chg X-Pull-Expires 1\n"));
	ck_assert(!fake->replaced);
	ck_assert_int_eq(objects(), 0);
}
END_TEST

START_TEST(x_pull_from_unauthenticated_ignored_and_removed)
{
	const char *m = "Subject: s\r\nX-Pull: no\r\nX-Pull: no\r\n"
	    "X-Pull-Expires: 2d\r\n\r\nbody\r\n";
	ck_assert_int_eq(fake_negotiate_connect("127.0.0.1"), SMFIS_CONTINUE);
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, m,
	    strlen(m), 64), SMFIS_CONTINUE);
	/* Both occurrences, the last index first. */
	const char *a = strstr(fake->log->str, "chg X-Pull 2\n");
	const char *b = strstr(fake->log->str, "chg X-Pull 1\n");
	ck_assert(a != NULL && b != NULL && a < b);
	ck_assert_ptr_nonnull(strstr(fake->log->str, "chg X-Pull-Expires 1\n"));
	assert_sealed_equals(m, strlen(m));
	/* The expiry is the default, not the unauthenticated 2 days. */
	struct envelope_meta meta;
	char *link = pulled_link();
	struct token *t = token_from_link(link);
	struct storage_id id;
	token_storage_id(t, &id);
	ck_assert_int_eq(sealed_meta(st, &id, &meta), SEALED_OK);
	ck_assert_int_ge(meta.expires - meta.created, cfg->default_expiry - 5);
	token_free(t);
	g_free(link);
}
END_TEST

START_TEST(x_pull_expires_from_authenticated)
{
	const char *m = "Subject: s\r\nX-Pull-Expires: 14d\r\n\r\nbody\r\n";
	connect_auth("198.51.100.7");
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, m,
	    strlen(m), 64), SMFIS_CONTINUE);
	assert_sealed_equals(m, strlen(m));
	struct envelope_meta meta;
	char *link = pulled_link();
	struct token *t = token_from_link(link);
	struct storage_id id;
	token_storage_id(t, &id);
	ck_assert_int_eq(sealed_meta(st, &id, &meta), SEALED_OK);
	ck_assert_int_eq(meta.expires - meta.created, 14 * 86400);
	token_free(t);
	g_free(link);
}
END_TEST

START_TEST(size_thresholds)
{
	cfg->minimum_size = 100000;
	reconfigure();
	connect_auth("198.51.100.7");
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 64), SMFIS_CONTINUE);
	assert_not_pulled();
	cb_close(FAKE_CTX);
	cfg->minimum_size = 0;
	cfg->max_message_size = 100;
	reconfigure();
	connect_auth("198.51.100.7");
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 16), SMFIS_CONTINUE);
	assert_not_pulled();
}
END_TEST

#define ATTACH_MSG \
	"From: a@example.org\r\nSubject: files\r\nMIME-Version: 1.0\r\n" \
	"Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n" \
	"preamble\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" \
	"--XX\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\n" \
	"Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8gd29ybGQh\r\n--XX--\r\n"

START_TEST(only_with_attachments)
{
	cfg->only_with_attachments = true;
	reconfigure();
	connect_auth("198.51.100.7");
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 64), SMFIS_CONTINUE);
	assert_not_pulled();
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, ATTACH_MSG,
	    strlen(ATTACH_MSG), 5), SMFIS_CONTINUE);
	assert_sealed_equals(ATTACH_MSG, strlen(ATTACH_MSG));
	ck_assert_ptr_nonnull(strstr(fake->body->str, "r.pdf"));
	ck_assert_ptr_nonnull(strstr(fake->body->str, "application/pdf"));
	/* A signature logo shown in the HTML is not an attachment. */
	static const char inline_only[] =
	    "From: Alice <alice@example.org>\r\nSubject: logo\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/related; boundary=r\r\n\r\n"
	    "--r\r\nContent-Type: text/html\r\n\r\n<img src=\"cid:l@x\">\r\n"
	    "--r\r\nContent-Type: image/png\r\nContent-ID: <l@x>\r\n"
	    "Content-Disposition: inline; filename=logo.png\r\n\r\nPNG\r\n"
	    "--r--\r\n";
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt,
	    inline_only, strlen(inline_only), 64), SMFIS_CONTINUE);
	ck_assert(!fake->replaced);
	ck_assert_ptr_null(strstr(fake->log->str, "add "));
	ck_assert_int_eq(objects(), 1);          /* only ATTACH_MSG's */
	ck_assert_int_eq(tmp_files(), 0);
}
END_TEST

START_TEST(repeated_content_headers_all_removed)
{
	const char *m = "Content-Type: text/plain\r\nSubject: s\r\n"
	    "Content-Type: text/html\r\ncontent-type: text/x\r\n\r\nbody\r\n";
	connect_auth("198.51.100.7");
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, m,
	    strlen(m), 64), SMFIS_CONTINUE);
	const char *l = fake->log->str;
	const char *a = strstr(l, "chg Content-Type 3\n");
	const char *b = strstr(l, "chg Content-Type 2\n");
	const char *c = strstr(l, "chg Content-Type 1\n");
	ck_assert(a != NULL && b != NULL && c != NULL && a < b && b < c);
	assert_sealed_equals(m, strlen(m));
}
END_TEST

/* CPU time of this process, in seconds. */
static double
cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 50,000 distinct Content-* names: each is deleted once, and noting them
 * costs time linear in their number. The linear search per name this
 * replaced took 22.9 s of CPU for this message; the hash table takes
 * 0.04 s (0.62 s with SANITIZE=address,undefined). The bound is ten times
 * the sanitized figure and a quarter of the quadratic one. */
START_TEST(many_content_names_linear)
{
	enum { N = 50000 };
	GString *g = g_string_new("Subject: many\r\n");
	for (int i = 0; i < N; i++)
		g_string_append_printf(g, "Content-X-%d: v\r\n", i);
	g_string_append(g, "Content-Type: text/plain\r\n\r\nbody\r\n");
	connect_auth("198.51.100.7");
	double t0 = cpu_seconds();
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, g->str,
	    g->len, 65536), SMFIS_CONTINUE);
	double spent = cpu_seconds() - t0;
	ck_assert_msg(spent < 6.0, "%d Content-* names cost %.2f s of CPU",
	    N, spent);
	/* Each one deleted exactly once, and the message pulled. */
	size_t chg = 0;
	for (const char *p = fake->log->str; (p = strstr(p, "chg ")) != NULL;
	    p += 4)
		chg++;
	ck_assert_uint_eq(chg, N + 1);
	ck_assert_ptr_nonnull(strstr(fake->log->str, "chg Content-X-0 1\n"));
	ck_assert_ptr_nonnull(strstr(fake->log->str,
	    "chg Content-X-49999 1\n"));
	ck_assert_ptr_null(strstr(fake->log->str, "chg Content-X-0 2\n"));
	assert_sealed_equals(g->str, g->len);
	fprintf(stderr, "many_content_names_linear: %d names, %.3f s CPU\n",
	    N, spent);
	g_string_free(g, TRUE);
}
END_TEST

static void
pull_and_check(const char *m, size_t len)
{
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, m, len,
	    4000), SMFIS_CONTINUE);
	assert_sealed_equals(m, len);
}

START_TEST(malformed_mime)
{
	connect_auth("198.51.100.7");
	/* missing closing boundary */
	const char *unclosed = "Subject: u\r\nContent-Type: multipart/mixed; "
	    "boundary=b\r\n\r\n--b\r\nContent-Type: image/png; name=a.png\r\n"
	    "\r\nxxxx\r\n";
	pull_and_check(unclosed, strlen(unclosed));
	ck_assert_ptr_nonnull(strstr(fake->body->str, "a.png"));
	/* 50 nested multiparts */
	GString *g = g_string_new("Subject: nested\r\n");
	for (int i = 0; i < 50; i++)
		g_string_append_printf(g, "Content-Type: multipart/mixed; "
		    "boundary=b%d\r\n\r\n--b%d\r\n", i, i);
	g_string_append(g, "Content-Type: text/plain\r\n\r\ndeep\r\n");
	for (int i = 49; i >= 0; i--)
		g_string_append_printf(g, "--b%d--\r\n", i);
	pull_and_check(g->str, g->len);
	/* what lies below the depth the scan follows is not listed, and the
	 * summary says so rather than "none" */
	ck_assert_ptr_nonnull(strstr(fake->body->str, "This message has parts "
	    "the summary could not list"));
	ck_assert_ptr_null(strstr(fake->body->str, "  none"));
	g_string_free(g, TRUE);
	/* NUL bytes in the body */
	const char nul[] = "Subject: nul\r\n\r\na\0b\0c\r\n";
	pull_and_check(nul, sizeof(nul) - 1);
	/* 8-bit header bytes (ISO-8859-1) */
	const char *latin = "Subject: Relat\xf3rio\r\nFrom: Jo\xe3o <j@x>\r\n"
	    "\r\nbody\r\n";
	pull_and_check(latin, strlen(latin));
	ck_assert(g_utf8_validate(fake->body->str, -1, NULL));
	/* a 1 MB header line */
	g = g_string_new("Subject: big\r\nX-Big: ");
	for (int i = 0; i < 1 << 20; i++)
		g_string_append_c(g, 'a' + i % 26);
	g_string_append(g, "\r\n\r\nbody\r\n");
	pull_and_check(g->str, g->len);
	g_string_free(g, TRUE);
	/* a part without headers */
	const char *nohdr = "Subject: p\r\nContent-Type: multipart/mixed; "
	    "boundary=q\r\n\r\n--q\r\n\r\nno headers here\r\n--q--\r\n";
	pull_and_check(nohdr, strlen(nohdr));
	ck_assert_int_eq(objects(), 6);
}
END_TEST

/* The store's tmp/ replaced by a file: every write fails, even as root. */
static void
break_store(void)
{
	char *p = g_strdup_printf("%s/tmp", store_dir);
	rm_rf(p);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	g_free(p);
}

START_TEST(store_failure_on_error)
{
	static const enum config_on_error modes[] = { ON_ERROR_ACCEPT,
	    ON_ERROR_TEMPFAIL, ON_ERROR_REJECT };
	static const sfsistat want[] = { SMFIS_CONTINUE, SMFIS_TEMPFAIL,
	    SMFIS_REJECT };
	const char *m = "Subject: s\r\nX-Pull-Expires: 3d\r\n\r\nbody\r\n";
	break_store();
	for (int i = 0; i < 3; i++) {
		cfg->on_error = modes[i];
		reconfigure();
		connect_auth("198.51.100.7");
		ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, m,
		    strlen(m), 64), want[i]);
		ck_assert(!fake->replaced);
		if (modes[i] == ON_ERROR_ACCEPT)
			ck_assert_ptr_nonnull(strstr(fake->log->str,
			    "chg X-Pull-Expires 1\n"));
		cb_close(FAKE_CTX);
	}
}
END_TEST

START_TEST(smfi_failure_tempfails)
{
	for (int call = 1; call <= 3; call++) {
		fake->fail_call = call;
		connect_auth("198.51.100.7");
		ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt,
		    PLAIN_MSG, strlen(PLAIN_MSG), 64), SMFIS_TEMPFAIL);
		cb_close(FAKE_CTX);
		/* The object of a message that was not rewritten is gone. */
		ck_assert_int_eq(objects(), 0);
	}
}
END_TEST

START_TEST(refuses_mta_without_actions)
{
	unsigned long p0, p1, p2, p3;
	ck_assert_int_eq(cb_negotiate(FAKE_CTX, SMFIF_ADDHDRS,
	    SMFIP_HDR_LEADSPC, 0, 0, &p0, &p1, &p2, &p3), SMFIS_REJECT);
	ck_assert_int_eq(cb_negotiate(FAKE_CTX, fake->offer_f0,
	    fake->offer_f1, 0, 0, &p0, &p1, &p2, &p3), SMFIS_CONTINUE);
	ck_assert(p1 & SMFIP_HDR_LEADSPC);
	ck_assert(p1 & SMFIP_NOHELO);
}
END_TEST

START_TEST(without_leading_space)
{
	/* An MTA that does not offer SMFIP_HDR_LEADSPC: "Name: value". */
	fake->offer_f1 = 0;
	ck_assert_int_eq(fake_negotiate_connect("127.0.0.1"), SMFIS_CONTINUE);
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 64), SMFIS_CONTINUE);
	/* fake_send passes values with their space; without the flag the
	 * milter adds one, so the sealed copy has two. */
	ck_assert_ptr_nonnull(strstr(fake->log->str, "add X-Pull-URL:https://"));
}
END_TEST

/* A reload (callbacks_set_config) reaches the next message of a connection
 * and never the message in progress. */
START_TEST(reload_next_message_not_current)
{
	char *argv[] = { "<alice@example.org>", NULL };
	char *rc[] = { "<bob@example.net>", NULL };
	struct config *second = config_defaults();

	g_free(second->store_dir);
	second->store_dir = g_strdup(store_dir);
	g_free(second->base_url);
	second->base_url = g_strdup("https://second.example.org/");
	g_free(second->template_dir);
	second->template_dir = g_strdup("templates");
	/* 198.51.100.7 is internal only in the second configuration. */
	struct cidr *c = &second->internal_hosts.v[0];
	c->family = AF_INET;
	memset(c->addr, 0, sizeof(c->addr));
	inet_pton(AF_INET, "198.51.100.0", c->addr);
	c->prefix = 24;
	second->internal_hosts.n = 1;

	ck_assert_int_eq(fake_negotiate_connect("198.51.100.7"),
	    SMFIS_CONTINUE);
	/* Not authenticated, not internal: not pulled. */
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 100), SMFIS_CONTINUE);
	ck_assert(!fake->replaced);
	/* A message begins; then the configuration changes. */
	fake_macro("{auth_authen}", "alice");
	ck_assert_int_eq(cb_envfrom(FAKE_CTX, argv), SMFIS_CONTINUE);
	ck_assert_int_eq(cb_envrcpt(FAKE_CTX, rc), SMFIS_CONTINUE);
	callbacks_set_config(second);
	ck_assert_int_eq(cb_header(FAKE_CTX, "Subject", " x"), SMFIS_CONTINUE);
	ck_assert_int_eq(cb_eoh(FAKE_CTX), SMFIS_CONTINUE);
	ck_assert_int_eq(cb_body(FAKE_CTX, (unsigned char *)"abc\r\n", 5),
	    SMFIS_CONTINUE);
	g_string_truncate(fake->log, 0);
	ck_assert_int_eq(cb_eom(FAKE_CTX), SMFIS_CONTINUE);
	char *link = pulled_link();
	ck_assert_ptr_nonnull(link);
	ck_assert(g_str_has_prefix(link, "https://mail.example.org/m/"));
	g_free(link);
	/* The next message on the same connection has the new BaseURL and
	 * the new InternalHosts (pulled without authentication). */
	g_hash_table_remove(fake->macros, "{auth_authen}");
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 100), SMFIS_CONTINUE);
	link = pulled_link();
	ck_assert_ptr_nonnull(link);
	ck_assert(g_str_has_prefix(link, "https://second.example.org/m/"));
	g_free(link);
	config_unref(second);
}
END_TEST

/* An MTA that offers the no-reply steps (Postfix does): the milter asks
 * for them, answers nothing before the end of the message, and still
 * rewrites it; a store failure is still answered at the end (OnError). */
#define NR_ALL (SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | \
	SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)
START_TEST(no_reply_steps)
{
	fake->offer_f1 |= NR_ALL | SMFIP_NR_HELO | SMFIP_NR_DATA |
	    SMFIP_NR_UNKN;
	connect_auth("198.51.100.7");
	ck_assert_uint_eq(fake->agreed_f1 & NR_ALL, NR_ALL);
	ck_assert_uint_eq(fake->agreed_f1 & (SMFIP_NR_HELO | SMFIP_NR_DATA |
	    SMFIP_NR_UNKN), 0);
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 7), SMFIS_CONTINUE);
	assert_sealed_equals(PLAIN_MSG, strlen(PLAIN_MSG));
	/* Not pulled (bounce): every step still silent, eom continues. */
	ck_assert_int_eq(fake_send("<>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 7), SMFIS_CONTINUE);
	ck_assert(!fake->replaced);
	cb_close(FAKE_CTX);
	/* The store fails: the answer comes at the end of the message. */
	cfg->on_error = ON_ERROR_TEMPFAIL;
	reconfigure();
	callbacks_set_store(NULL);
	connect_auth("198.51.100.7");
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 7), SMFIS_TEMPFAIL);
	callbacks_set_store(st);
}
END_TEST

/* A silent step that cannot do its work (no memory for the MIME scan at
 * the end of the headers) stays silent; the end of the message answers
 * tempfail with nothing changed and nothing stored; the next message on the
 * connection is pulled as usual. */
START_TEST(silent_step_failure_answered_at_end)
{
	fake->offer_f1 |= NR_ALL;
	connect_auth("198.51.100.7");
	ck_assert_uint_eq(fake->agreed_f1 & NR_ALL, NR_ALL);
	int objs = objects(), tmps = tmp_files();
	fail_scan_alloc = 1;
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 7), SMFIS_TEMPFAIL);
	ck_assert_int_eq(fail_scan_alloc, 0);   /* the failure did happen */
	ck_assert_ptr_null(strstr(fake->log->str, "add "));
	ck_assert_ptr_null(strstr(fake->log->str, "chg "));
	ck_assert(!fake->replaced);
	ck_assert_int_eq(objects(), objs);
	ck_assert_int_eq(tmp_files(), tmps);
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 7), SMFIS_CONTINUE);
	assert_sealed_equals(PLAIN_MSG, strlen(PLAIN_MSG));
}
END_TEST

/* Without the no-reply steps every step answers "continue". */
START_TEST(steps_answer_without_no_reply)
{
	connect_auth("198.51.100.7");
	ck_assert_uint_eq(fake->agreed_f1 & NR_ALL, 0);
	ck_assert_int_eq(fake_send("<alice@example.org>", one_rcpt, PLAIN_MSG,
	    strlen(PLAIN_MSG), 7), SMFIS_CONTINUE);
	assert_sealed_equals(PLAIN_MSG, strlen(PLAIN_MSG));
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("milter_callbacks", "callbacks", &tc);

	g_mime_init();
	token_init();
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pulled_plain_message);
	tcase_add_test(tc, two_messages_one_connection);
	tcase_add_test(tc, abort_in_body_leaves_nothing);
	tcase_add_test(tc, untrusted_client_not_pulled);
	tcase_add_test(tc, internal_client_pulled);
	tcase_add_test(tc, null_sender_not_pulled);
	tcase_add_test(tc, loop_forged_foreign_base_pulled);
	tcase_add_test(tc, loop_our_base_no_object_pulled);
	tcase_add_test(tc, loop_our_object_skipped);
	tcase_add_test(tc, loop_several_urls_pulled);
	tcase_add_test(tc, loop_untrusted_x_pull_fields_removed);
	tcase_add_test(tc, all_local_not_pulled);
	tcase_add_test(tc, x_pull_no_from_authenticated);
	tcase_add_test(tc, x_pull_from_unauthenticated_ignored_and_removed);
	tcase_add_test(tc, x_pull_expires_from_authenticated);
	tcase_add_test(tc, size_thresholds);
	tcase_add_test(tc, only_with_attachments);
	tcase_add_test(tc, repeated_content_headers_all_removed);
	tcase_add_test(tc, many_content_names_linear);
	tcase_add_test(tc, malformed_mime);
	tcase_add_test(tc, store_failure_on_error);
	tcase_add_test(tc, smfi_failure_tempfails);
	tcase_add_test(tc, refuses_mta_without_actions);
	tcase_add_test(tc, without_leading_space);
	tcase_add_test(tc, reload_next_message_not_current);
	tcase_add_test(tc, no_reply_steps);
	tcase_add_test(tc, steps_answer_without_no_reply);
	tcase_add_test(tc, silent_step_failure_answered_at_end);
	return check_run(s);
}
