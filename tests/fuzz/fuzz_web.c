/* libFuzzer: web_handle() over arbitrary requests, against a real store.
 *
 * LLVMFuzzerInitialize makes a store in a temporary directory and seals
 * real messages into it with the sealed.h API (the .eml files of tests/data,
 * contrib/demo/sample.eml and one built in), plus an expired one, a revoked
 * one and one whose ciphertext is damaged on disk. The handler runs behind
 * the same backend as pullmail-web-render (web_backend_sealed).
 *
 * Input: fields separated by NUL bytes, so that libFuzzer mutates each on
 * its own:
 *   flags, method, uri, accept-language, origin, referer, host,
 *   content-length, server-port, body (the rest, NULs included)
 * A field left out is an absent header (NULL); "\x01" alone in a header
 * field is also NULL, so that present-but-empty and absent both occur.
 * In the URI, "$0".."$9" become the token of the stored message of that
 * number, "$x" the expired one, "$r" the revoked one, "$d" the damaged
 * one, so that the fuzzer reaches every route of real objects and can
 * mutate a real token.
 *
 * Checked: every response is a 200 or an error status and never carries a
 * token in its headers; everything is freed (LeakSanitizer). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <glib.h>

#include "cgi/page.h"
#include "cgi/pagecache.h"
#include "cgi/web.h"
#include "config.h"
#include "log.h"
#include "sealed.h"
#include "store.h"
#include "store_fs_peek.h"
#include "token.h"

#ifndef PULLMAIL_FUZZ_SRCDIR
#define PULLMAIL_FUZZ_SRCDIR "."
#endif

#define NOW 1800000000
#define DAY 86400
#define MAX_MSG 10

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *store_dir;
static struct config *cfg;
static struct store *st;
static struct web_sealed ws;
static struct web_env env_plain, env_cached;
static struct token *slot;
static char tokens[MAX_MSG][TOKEN_TEXT_LEN + 1];
static size_t n_tokens;
static char tok_expired[TOKEN_TEXT_LEN + 1];
static char tok_revoked[TOKEN_TEXT_LEN + 1];
static char tok_damaged[TOKEN_TEXT_LEN + 1];

static const char builtin_msg[] =
    "From: =?UTF-8?B?Sm/Do28=?= <joao@example.com>\r\n"
    "To: ana@example.org\r\n"
    "Subject: =?UTF-8?Q?Relat=C3=B3rio?=\r\n"
    "Date: Sun, 22 Nov 2026 11:47:00 +0000\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n"
    "--o\r\n"
    "Content-Type: multipart/related; boundary=\"r\"\r\n\r\n"
    "--r\r\n"
    "Content-Type: text/html; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    "<p onclick=3D\"x()\">Ol=E1 <img src=3D\"cid:logo@x\"></p>\r\n"
    "--r\r\n"
    "Content-Type: image/png\r\nContent-ID: <logo@x>\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ\r\n"
    "--r--\r\n"
    "--o\r\n"
    "Content-Type: application/pdf; name=\"a.pdf\"\r\n"
    "Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n"
    "JVBERi0xLjQK\r\n"
    "--o\r\n"
    "Content-Type: message/rfc822\r\n\r\n"
    "Subject: inner\r\n\r\nhello\r\n"
    "--o--\r\n";

static void
cleanup(void)
{
	char *cmd;

	if (store_dir == NULL)
		return;
	cmd = g_strdup_printf("rm -rf '%s'", store_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_web: cannot remove %s\n", store_dir);
	g_free(cmd);
}

/* Seals msg; the token's text into out; the storage id into id. */
static void
seal(const char *msg, size_t len, int64_t created, int64_t expires,
    char out[TOKEN_TEXT_LEN + 1], struct storage_id *id)
{
	struct sealed_writer *w;
	struct token *t;

	if (sealed_create(st, created, expires, &w, &t, id) != SEALED_OK ||
	    sealed_write(w, msg, len) != SEALED_OK ||
	    sealed_commit(w) != SEALED_OK) {
		fprintf(stderr, "fuzz_web: cannot seal a message\n");
		abort();
	}
	token_encode(t, out);
	token_free(t);
}

static void
seal_file(const char *rel)
{
	char *path = g_build_filename(PULLMAIL_FUZZ_SRCDIR, rel, NULL);
	char *buf;
	gsize len;
	struct storage_id id;

	if (n_tokens < MAX_MSG && g_file_get_contents(path, &buf, &len, NULL)) {
		seal(buf, len, NOW - DAY, NOW + 29 * DAY, tokens[n_tokens++],
		    &id);
		g_free(buf);
	} else {
		fprintf(stderr, "fuzz_web: %s not read (left out)\n", path);
	}
	g_free(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct storage_id id;
	char *err = NULL;

	(void)argc;
	(void)argv;
	if (token_init() != 0)
		abort();
	log_init("fuzz_web", 1, LOG_MAIL, LOG_EMERG);
	store_dir = g_dir_make_tmp("pullmail-fuzz-web-XXXXXX", NULL);
	if (store_dir == NULL)
		abort();
	atexit(cleanup);
	cfg = config_defaults();
	g_free(cfg->store_dir);
	cfg->store_dir = g_strdup(store_dir);
	cfg->max_retention = 90 * DAY;
	st = store_open(cfg, STORE_READ_WRITE, &err);
	if (st == NULL) {
		fprintf(stderr, "fuzz_web: %s\n", err);
		abort();
	}

	seal(builtin_msg, sizeof builtin_msg - 1, NOW - DAY, NOW + 29 * DAY,
	    tokens[n_tokens++], &id);
	seal_file("tests/data/web_plain.eml");
	seal_file("tests/data/web_sample.eml");
	seal_file("tests/data/web_hostile.eml");
	seal_file("contrib/demo/sample.eml");
	/* Not MIME at all: the renderer's 500. */
	seal("\x01\x02 not a message", 17, NOW - DAY, NOW + DAY,
	    tokens[n_tokens++], &id);
	seal(builtin_msg, sizeof builtin_msg - 1, NOW - 40 * DAY,
	    NOW - 10 * DAY, tok_expired, &id);
	seal(builtin_msg, sizeof builtin_msg - 1, NOW - DAY, NOW + DAY,
	    tok_revoked, &id);
	if (sealed_revoke(st, &id, NOW - 10) != SEALED_OK)
		abort();
	seal(builtin_msg, sizeof builtin_msg - 1, NOW - DAY, NOW + DAY,
	    tok_damaged, &id);
	{
		/* One byte of ciphertext flipped, well past the header. */
		char rel[STORE_FS_PATH_MAX];
		store_fs_object_path(&id, rel);
		char *p = g_build_filename(store_dir, rel, NULL);
		FILE *f = fopen(p, "r+b");
		int c;
		if (f == NULL || fseek(f, -20, SEEK_END) != 0 ||
		    (c = fgetc(f)) == EOF || fseek(f, -20, SEEK_END) != 0 ||
		    fputc(c ^ 0x55, f) == EOF || fclose(f) != 0)
			abort();
		g_free(p);
	}

	if (web_backend_sealed(&ws, st, cfg->max_retention) != 0)
		abort();
	web_env_init(&env_plain);
	env_plain.path_prefix = "/m/";
	env_plain.keep_extension = 14 * DAY;
	env_plain.max_retention = cfg->max_retention;
	env_plain.allow_remote_images = true;
	env_plain.default_language = "en";
	env_plain.backend = &ws.backend;
	env_cached = env_plain;
	env_cached.page_cache = page_cache_new(1 << 20);
	if (env_cached.page_cache == NULL)
		abort();
	slot = sodium_malloc(sizeof *slot);
	if (slot == NULL)
		abort();
	return 0;
}

struct body {
	const uint8_t *p;
	size_t n, off;
	unsigned piece;     /* 0: as much as asked */
	bool fail;          /* -1 once the body is used up */
};

static long
read_body_impl(void *ctx, void *buf, size_t len)
{
	struct body *b = ctx;
	size_t n = b->n - b->off;

	if (n == 0)
		return b->fail ? -1 : 0;
	if (n > len)
		n = len;
	if (b->piece != 0 && n > b->piece)
		n = b->piece;
	memcpy(buf, b->p + b->off, n);
	b->off += n;
	return (long)n;
}

static long
read_body(void *ctx, void *buf, size_t len, int timeout_ms)
{
	(void)timeout_ms;       /* the input is all there */
	return read_body_impl(ctx, buf, len);
}

/* The URI with "$N", "$x", "$r", "$d" replaced by tokens. */
static char *
expand_uri(const char *s)
{
	GString *u = g_string_new(NULL);

	for (; *s != '\0'; s++) {
		const char *t = NULL;
		if (s[0] == '$' && s[1] != '\0') {
			if (s[1] >= '0' && s[1] <= '9')
				t = tokens[(size_t)(s[1] - '0') % n_tokens];
			else if (s[1] == 'x')
				t = tok_expired;
			else if (s[1] == 'r')
				t = tok_revoked;
			else if (s[1] == 'd')
				t = tok_damaged;
		}
		if (t != NULL) {
			g_string_append(u, t);
			s++;
		} else {
			g_string_append_c(u, *s);
		}
	}
	return g_string_free(u, FALSE);
}

static bool
has_token(const char *s)
{
	for (size_t i = 0; i < n_tokens; i++)
		if (strstr(s, tokens[i]) != NULL)
			return true;
	return strstr(s, tok_expired) != NULL ||
	    strstr(s, tok_revoked) != NULL || strstr(s, tok_damaged) != NULL;
}

#define N_FIELDS 9

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Copied so that every field is NUL-terminated. */
	char *buf = malloc(size + 1);
	char *f[N_FIELDS] = { 0 };
	size_t pos = 0, nf = 0;
	const uint8_t *body = NULL;
	size_t body_len = 0;

	memcpy(buf, data, size);
	buf[size] = '\0';
	while (nf < N_FIELDS && pos <= size) {
		f[nf++] = buf + pos;
		size_t l = strlen(buf + pos);
		pos += l + 1;
	}
	if (nf == N_FIELDS && pos <= size) {
		body = data + pos;
		body_len = size - pos;
	}
	for (size_t i = 3; i < N_FIELDS; i++)
		if (f[i] != NULL && strcmp(f[i], "\x01") == 0)
			f[i] = NULL;

	unsigned flags = f[0] != NULL && f[0][0] != '\0' ?
	    (unsigned char)f[0][0] : 0;
	struct web_env *env = (flags & 1) ? &env_cached : &env_plain;
	env->allow_remote_images = !(flags & 2);
	env->default_language = (flags & 4) ? "pt-BR" : "en";
	char *uri = f[2] != NULL ? expand_uri(f[2]) : NULL;
	struct body b = { body, body != NULL ? body_len : 0, 0,
	    (flags >> 4) & 7, (flags & 0x80) != 0 };

	struct web_request rq = { 0 };
	rq.method = f[1];
	rq.uri = uri;
	rq.accept_language = f[3];
	rq.origin = f[4];
	rq.referer = f[5];
	rq.host = f[6];
	rq.content_length = f[7];
	rq.server_port = f[8];
	rq.read_body = (flags & 8) ? NULL : read_body;
	rq.body_ctx = &b;
	rq.now = NOW;
	rq.token_slot = (flags & 1) ? slot : NULL;

	struct web_response rs;
	web_response_init(&rs);
	web_handle(env, &rq, &rs);

	/* 200, or an error page: never a redirect or anything unfinished. */
	if (rs.status != 200 && (rs.status < 400 || rs.status > 599)) {
		fprintf(stderr, "fuzz_web: unexpected status %d\n", rs.status);
		abort();
	}
	GString *head = g_string_new(NULL);
	web_response_head(&rs, head);
	if (has_token(head->str)) {
		fprintf(stderr, "fuzz_web: a token in the response head\n");
		abort();
	}
	g_string_free(head, TRUE);
	web_response_clear(&rs);
	g_free(uri);
	free(buf);
	return 0;
}
