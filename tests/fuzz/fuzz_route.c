/* libFuzzer: the route parser and request checks of web_handle()
 * (cgi/routes.c: the path split, the token, the rest of the path, the
 * method, the POST body and Origin checks, the query) and page_language()
 * (cgi/page.c), fast: the store is an in-memory fake, as in
 * tests/unit/test_web_routes.c, so nothing is decrypted. The routing
 * functions are static; they are reached through web_handle, their only
 * caller, rather than exposed.
 *
 * Input: the fields of fuzz_web (NUL-separated: flags, method, uri,
 * accept-language, origin, referer, host, content-length, server-port,
 * body), the token written out in the URI. The fake store holds a message
 * for the token whose first byte is 0 ("AAAA...") and nothing else.
 *
 * Checked against a model of the routes written here from the README's
 * list (/m/TOKEN, /, /html, /eml, /keep, /receipt, /receipt/no, /part/N;
 * GET and HEAD, POST only for keep and the receipt's two): a path that is not a route is a 404 and a wrong method a 405,
 * and neither reaches the store; a route reaches the store once; keep is
 * called only for a POST whose Origin or Referer names the Host (in any
 * case); a 200 comes only from a route; page_language gives a language of
 * the catalogue (lang.h). */
#define _GNU_SOURCE     /* strcasestr */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <glib.h>

#include "cgi/page.h"
#include "cgi/web.h"
#include "lang.h"
#include "log.h"
#include "sealed.h"
#include "token.h"

#define NOW 1800000000
#define DAY 86400

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char message[] =
    "From: a@example.com\r\nTo: b@example.org\r\nSubject: s\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=o\r\n\r\n"
    "--o\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>hi</p>\r\n"
    "--o\r\nContent-Type: image/png; name=a.png\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--o--\r\n";

static struct {
	int opens, states, keeps;
	int64_t expires;
} fake;

static struct web_backend backend;
static struct web_env env;

static enum sealed_status
f_state(void *ctx, const struct token *t, int64_t now,
    struct envelope_meta *meta)
{
	(void)ctx;
	(void)now;
	fake.states++;
	if (t->bytes[0] != 0)
		return SEALED_NOT_FOUND;
	memset(meta, 0, sizeof *meta);
	meta->version = 1;
	meta->created = NOW - DAY;
	meta->expires = fake.expires;
	meta->original_size = sizeof message - 1;
	return SEALED_OK;
}

static enum sealed_status
f_open(void *ctx, const struct token *t, int64_t now,
    struct envelope_meta *meta, const unsigned char **plain,
    size_t *plain_len, enum envelope_status *detail)
{
	fake.opens++;
	fake.states--;
	enum sealed_status st = f_state(ctx, t, now, meta);
	*detail = ENVELOPE_OK;
	if (st != SEALED_OK)
		return st;
	*plain = g_memdup2(message, sizeof message - 1);
	*plain_len = sizeof message - 1;
	return SEALED_OK;
}

static void
f_free(void *ctx, const unsigned char *plain, size_t len)
{
	(void)ctx;
	(void)len;
	g_free((void *)plain);
}

static enum sealed_status
f_keep(void *ctx, const struct storage_id *id, int64_t new_expires,
    int64_t *set)
{
	(void)ctx;
	(void)id;
	fake.keeps++;
	*set = new_expires;
	return SEALED_OK;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (token_init() != 0)
		abort();
	log_init("fuzz_route", 1, LOG_MAIL, LOG_EMERG);
	backend.open = f_open;
	backend.plain_free = f_free;
	backend.state = f_state;
	backend.keep = f_keep;
	web_env_init(&env);
	env.path_prefix = "/m/";
	env.keep_extension = 14 * DAY;
	env.max_retention = 90 * DAY;
	env.allow_remote_images = true;
	env.default_language = "en";
	env.backend = &backend;
	return 0;
}

struct body {
	const uint8_t *p;
	size_t n, off;
};

static long
read_body_impl(void *ctx, void *buf, size_t len)
{
	struct body *b = ctx;
	size_t n = b->n - b->off;

	if (n > len)
		n = len;
	if (n == 0)
		return 0;
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

enum model { M_NONE, M_READ, M_KEEP, M_RECEIPT };

/* The model: which route the URI names, if any. */
static enum model
model_route(const char *uri)
{
	size_t qa = strcspn(uri, "?");
	char *path = g_strndup(uri, qa);
	enum model r = M_NONE;

	if (strncmp(path, "/m/", 3) == 0 && strlen(path) >= 3 + TOKEN_TEXT_LEN) {
		struct token *t = token_decode(path + 3, TOKEN_TEXT_LEN);
		const char *rest = path + 3 + TOKEN_TEXT_LEN;
		size_t nd = strlen(rest + (strncmp(rest, "/part/", 6) == 0 ?
		    6 : 0));
		if (t == NULL)
			r = M_NONE;
		else if (strcmp(rest, "") == 0 || strcmp(rest, "/") == 0 ||
		    strcmp(rest, "/html") == 0 || strcmp(rest, "/eml") == 0)
			r = M_READ;
		else if (strcmp(rest, "/keep") == 0)
			r = M_KEEP;
		else if (strcmp(rest, "/receipt") == 0 ||
		    strcmp(rest, "/receipt/no") == 0)
			r = M_RECEIPT;
		else if (strncmp(rest, "/part/", 6) == 0 && nd >= 1 &&
		    nd <= 6 && strspn(rest + 6, "0123456789") == nd &&
		    (rest[6] != '0' || nd == 1))
			r = M_READ;
		token_free(t);
	}
	g_free(path);
	return r;
}

static void
wrong(const char *what, const char *uri, const char *method, int status)
{
	fprintf(stderr, "fuzz_route: %s (method \"%s\", URI \"%s\", status "
	    "%d; opens %d, states %d, keeps %d)\n", what,
	    method != NULL ? method : "(null)", uri != NULL ? uri : "(null)",
	    status, fake.opens, fake.states, fake.keeps);
	abort();
}

#define N_FIELDS 9

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	char *f[N_FIELDS] = { 0 };
	size_t pos = 0, nf = 0;
	struct body b = { NULL, 0, 0 };

	memcpy(buf, data, size);
	buf[size] = '\0';
	while (nf < N_FIELDS && pos <= size) {
		f[nf++] = buf + pos;
		pos += strlen(buf + pos) + 1;
	}
	if (nf == N_FIELDS && pos <= size) {
		b.p = data + pos;
		b.n = size - pos;
	}
	for (size_t i = 3; i < N_FIELDS; i++)
		if (f[i] != NULL && strcmp(f[i], "\x01") == 0)
			f[i] = NULL;
	unsigned flags = f[0] != NULL ? (unsigned char)f[0][0] : 0;

	const char *l = page_language(f[3], (flags & 4) ? "pt-BR" : "en");
	if (l == NULL || lang_find(l) == NULL)
		wrong("page_language", f[3], "", 0);

	memset(&fake, 0, sizeof fake);
	fake.expires = (flags & 2) ? NOW - 1 : NOW + 29 * DAY;
	struct web_request rq = { 0 };
	rq.method = f[1];
	rq.uri = f[2];
	rq.accept_language = f[3];
	rq.origin = f[4];
	rq.referer = f[5];
	rq.host = f[6];
	rq.content_length = f[7];
	rq.server_port = f[8];
	rq.read_body = read_body;
	rq.body_ctx = &b;
	rq.now = NOW;
	struct web_response rs;
	web_response_init(&rs);
	web_handle(&env, &rq, &rs);

	const char *method = rq.method != NULL ? rq.method : "GET";
	enum model r = model_route(rq.uri != NULL ? rq.uri : "");
	bool reads = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	int touched = fake.opens + fake.states + fake.keeps;
	if (r == M_NONE && (rs.status != 404 || touched != 0))
		wrong("not a route", rq.uri, method, rs.status);
	if (r == M_READ && !reads && (rs.status != 405 || touched != 0))
		wrong("a read with another method", rq.uri, method, rs.status);
	if ((r == M_KEEP || r == M_RECEIPT) && strcmp(method, "POST") != 0 &&
	    (rs.status != 405 || touched != 0))
		wrong("keep or receipt without POST", rq.uri, method,
		    rs.status);
	/* No Sendmail configured here: a receipt is never a success. */
	if (r == M_RECEIPT && rs.status == 200)
		wrong("a receipt without Sendmail", rq.uri, method, rs.status);
	if (r == M_READ && reads && fake.opens != 1)
		wrong("a read that did not open once", rq.uri, method,
		    rs.status);
	if (fake.keeps > 0) {
		const char *src = rq.origin != NULL && rq.origin[0] != '\0' &&
		    strcmp(rq.origin, "null") != 0 ? rq.origin : rq.referer;
		if (r != M_KEEP || rq.host == NULL || rq.host[0] == '\0' ||
		    src == NULL || strcasestr(src, rq.host) == NULL ||
		    fake.keeps != 1)
			wrong("keep from elsewhere", rq.uri, method, rs.status);
	}
	if (rs.status != 200 && (rs.status < 400 || rs.status > 599))
		wrong("unexpected status", rq.uri, method, rs.status);
	web_response_clear(&rs);
	free(buf);
	return 0;
}
