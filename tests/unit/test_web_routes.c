/* The request handler called without a web server: every route and every
 * error, the headers on each response, hostile header values and file names
 * in the message, and that no response and no log line carries the token.
 * The store is an in-memory backend behind struct web_backend; the real
 * one (sealed_open) is exercised by the integration tests. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "cgi/page.h"
#include "cgi/pagecache.h"
#include "cgi/parts.h"
#include "cgi/web.h"
#include "html.h"
#include "log.h"
#include "token.h"
#include "tests/lib/check_main.h"

#define NOW 1800000000
#define DAY 86400

/* Token text whose bytes are all zero: valid base64url, canonical. */
static const char tok_ok[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
/* Other valid tokens the fake store answers differently for. */
static const char tok_expired[] = "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
static const char tok_revoked[] = "CAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
static const char tok_damaged[] = "DAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
static const char tok_unknown[] = "EAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

struct fake {
	GString *msg;
	int64_t created, expires;
	int keeps;
	int64_t kept_to;
	int opens;                  /* decryptions asked for */
	enum sealed_status gone;    /* what tok_ok's object became, or OK */
	unsigned long reads[READSTATE_ROUTES]; /* fetches recorded */
	enum readstate_receipt receipt;
	int claims, undos, rate_takes;
	bool rate_exhausted;
};

static struct fake fake;
static struct web_backend backend;
static struct web_env env;

/* The header checks: what each test token's object is. */
static enum sealed_status
f_state(void *ctx, const struct token *t, int64_t now,
    struct envelope_meta *meta)
{
	struct fake *f = ctx;

	(void)now;
	switch (t->bytes[0]) {
	case 0x00:
		if (f->gone != SEALED_OK)
			return f->gone;
		break;
	case 0x04: return SEALED_EXPIRED;
	case 0x08: return SEALED_REVOKED;
	case 0x0c: return SEALED_DAMAGED;
	default: return SEALED_NOT_FOUND;
	}
	memset(meta, 0, sizeof(*meta));
	meta->version = 1;
	meta->created = f->created;
	meta->expires = f->expires;
	meta->original_size = f->msg->len;
	return SEALED_OK;
}

static enum sealed_status
f_open(void *ctx, const struct token *t, int64_t now,
    struct envelope_meta *meta, const unsigned char **plain, size_t *plain_len,
    enum envelope_status *detail)
{
	struct fake *f = ctx;

	f->opens++;
	enum sealed_status st = f_state(ctx, t, now, meta);
	if (st != SEALED_OK) {
		*detail = ENVELOPE_OK;
		return st;
	}
	*plain = g_memdup2(f->msg->str, f->msg->len);
	*plain_len = f->msg->len;
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
	struct fake *f = ctx;
	int64_t cap = f->created + 90 * DAY;

	(void)id;
	f->keeps++;
	f->expires = new_expires < cap ? new_expires : cap;
	f->kept_to = f->expires;
	*set = f->expires;
	return SEALED_OK;
}

static void
f_record(void *ctx, const struct storage_id *id, enum readstate_route route,
    int64_t now)
{
	struct fake *f = ctx;

	ck_assert_int_eq(now, NOW);
	ck_assert_int_eq(strlen(id->hex), STORAGE_ID_HEX_LEN);
	f->reads[route]++;
}

static enum store_status
f_receipt_claim(void *ctx, const struct storage_id *id,
    enum readstate_receipt decision, int64_t now,
    enum readstate_receipt *prior)
{
	struct fake *f = ctx;

	(void)id;
	(void)now;
	f->claims++;
	*prior = f->receipt;
	if (f->receipt != READSTATE_RECEIPT_NONE)
		return STORE_EXISTS;
	f->receipt = decision;
	return STORE_OK;
}

static void
f_receipt_undo(void *ctx, const struct storage_id *id)
{
	struct fake *f = ctx;

	(void)id;
	f->undos++;
	f->receipt = READSTATE_RECEIPT_NONE;
}

static bool
f_rate_take(void *ctx, int64_t now)
{
	struct fake *f = ctx;

	(void)now;
	f->rate_takes++;
	return !f->rate_exhausted;
}

static char *hostile_name;    /* UTF-8, as GMime will decode it */
static GString *attachment;   /* decoded bytes of the attachment */
static const unsigned char png[] = {
	0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0x0d, 'I', 'H',
	'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
};

static void
build_message(void)
{
	GString *m = g_string_new(NULL);
	GString *enc = g_string_new(NULL);

	/* A file name with CR, LF, quotes, </script>, U+202E and 2,000 more
	 * characters, RFC 2231-encoded as a sender could. */
	GString *name = g_string_new("evil\r\n\"q\"</script>\xE2\x80\xAEgpj.exe");
	for (int i = 0; i < 2000; i++)
		g_string_append_c(name, 'n');
	hostile_name = g_string_free(name, FALSE);
	for (const unsigned char *p = (const unsigned char *)hostile_name; *p; p++)
		if (g_ascii_isalnum(*p))
			g_string_append_c(enc, (char)*p);
		else
			g_string_append_printf(enc, "%%%02X", *p);

	attachment = g_string_new(NULL);
	for (int i = 0; i < 3000; i++)
		g_string_append_c(attachment, (char)(i * 7));
	char *b64 = g_base64_encode((const guchar *)attachment->str,
	    attachment->len);
	char *pngb64 = g_base64_encode(png, sizeof(png));

	g_string_append(m,
	    "From: =?UTF-8?B?Sm/Do28gPC9zY3JpcHQ+?= <joao@example.com>\r\n"
	    "To: Ana <ana@example.org>, \"Bob \\\"the\\\" <b>\" <bob@example.org>\r\n"
	    "Cc: carol@example.net\r\n"
	    "Date: Sun, 22 Nov 2026 11:47:00 +0000\r\n"
	    "Subject: =?UTF-8?Q?Relat=C3=B3rio_<script>alert(1)</script>?=\r\n"
	    "Message-ID: <1@example.com>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
	    "--outer\r\n"
	    "Content-Type: multipart/related; boundary=\"rel\"\r\n\r\n"
	    "--rel\r\n"
	    "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
	    "--alt\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	    "Hello <b>there</b> & see https://example.org/a?b=1&c=\"2\". "
	    "Bad \xff byte, mailto:x@example.org and javascript:alert(1)\r\n"
	    "--alt\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n\r\n"
	    "<p onclick=\"x()\">Hi <img src=\"cid:logo@example\" alt=\"logo\">"
	    "<img src=\"https://tracker.example/p.png\"><script>alert(1)</script>"
	    "</p>\r\n"
	    "--alt--\r\n"
	    "--rel\r\n"
	    "Content-Type: image/png\r\n"
	    "Content-ID: <logo@example>\r\n"
	    "Content-Disposition: inline; filename=\"logo.png\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n");
	g_string_append(m, pngb64);
	g_string_append(m, "\r\n--rel--\r\n"
	    "--outer\r\n"
	    "Content-Type: text/html; name=\"a.html\"\r\n"
	    "Content-Disposition: attachment; filename*=UTF-8''");
	g_string_append(m, enc->str);
	g_string_append(m, "\r\nContent-Transfer-Encoding: base64\r\n\r\n");
	g_string_append(m, b64);
	g_string_append(m, "\r\n--outer--\r\n");
	g_free(b64);
	g_free(pngb64);
	g_string_free(enc, TRUE);
	fake.msg = m;
}

static void
setup(void)
{
	memset(&fake, 0, sizeof(fake));
	build_message();
	fake.created = NOW - DAY;
	fake.expires = NOW + 29 * DAY;
	backend.open = f_open;
	backend.plain_free = f_free;
	backend.keep = f_keep;
	backend.state = f_state;
	backend.record = f_record;
	backend.receipt_claim = f_receipt_claim;
	backend.receipt_undo = f_receipt_undo;
	backend.receipt_rate_take = f_rate_take;
	backend.ctx = &fake;
	memset(&env, 0, sizeof(env));
	web_env_init(&env);
	env.path_prefix = "/m/";
	env.keep_extension = 14 * DAY;
	env.max_retention = 90 * DAY;
	env.allow_remote_images = true;
	env.default_language = "en";
	env.backend = &backend;
	log_init("test_web_routes", 1, LOG_MAIL, LOG_DEBUG);
}

static void
teardown(void)
{
	page_cache_free(env.page_cache);
	env.page_cache = NULL;
	g_string_free(fake.msg, TRUE);
	g_string_free(attachment, TRUE);
	g_free(hostile_name);
}

struct body_src {
	const char *data;
	size_t len, off;
};

static long
read_src(void *ctx, void *buf, size_t len, int timeout_ms)
{
	struct body_src *b = ctx;

	ck_assert_int_gt(timeout_ms, 0);
	ck_assert_int_le(timeout_ms, WEB_BODY_TIMEOUT_MS);
	size_t n = b->len - b->off < len ? b->len - b->off : len;

	memcpy(buf, b->data + b->off, n);
	b->off += n;
	return (long)n;
}

struct resp {
	struct web_response rs;
	char *head;     /* headers as sent */
};

static void
request(struct resp *r, const char *method, const char *uri,
    const char *lang, const char *origin, const char *referer,
    const char *body, const char *clen)
{
	struct web_request rq = { 0 };
	struct body_src src = { body, body != NULL ? strlen(body) : 0, 0 };
	GString *h = g_string_new(NULL);

	rq.method = method;
	rq.uri = uri;
	rq.host = "mail.example.com";
	rq.origin = origin;
	rq.referer = referer;
	rq.accept_language = lang;
	rq.content_length = clen;
	rq.read_body = body != NULL ? read_src : NULL;
	rq.body_ctx = &src;
	rq.now = NOW;
	web_response_init(&r->rs);
	web_handle(&env, &rq, &r->rs);
	web_response_head(&r->rs, h);
	r->head = g_string_free(h, FALSE);
}

/* POST with an explicit Host and SERVER_PORT. */
static void
request_port(struct resp *r, const char *u, const char *host,
    const char *port, const char *origin)
{
	struct web_request rq = { 0 };
	GString *h = g_string_new(NULL);

	rq.method = "POST";
	rq.uri = u;
	rq.host = host;
	rq.server_port = port;
	rq.origin = origin;
	rq.now = NOW;
	web_response_init(&r->rs);
	web_handle(&env, &rq, &r->rs);
	web_response_head(&r->rs, h);
	r->head = g_string_free(h, FALSE);
}

static void
resp_free(struct resp *r)
{
	web_response_clear(&r->rs);
	g_free(r->head);
}

static char *
body_str(const struct resp *r)
{
	return g_strndup((const char *)r->rs.body->data, r->rs.body->len);
}

static bool
has_header(const struct resp *r, const char *line)
{
	char *needle = g_strconcat("\r\n", line, "\r\n", NULL);
	bool ok = strstr(r->head, needle) != NULL;
	g_free(needle);
	return ok;
}

/* The headers every response carries, and no token anywhere in them. */
static void
check_common(const struct resp *r, const char *tok)
{
	ck_assert_msg(has_header(r, "Cache-Control: no-store"), "%s", r->head);
	ck_assert(has_header(r, "Referrer-Policy: no-referrer"));
	ck_assert(has_header(r, "X-Content-Type-Options: nosniff"));
	ck_assert(has_header(r, "X-Robots-Tag: noindex"));
	ck_assert_ptr_nonnull(strstr(r->head, "\r\nContent-Security-Policy: "));
	ck_assert_ptr_nonnull(strstr(r->head, "default-src 'none'"));
	ck_assert_ptr_null(strstr(r->head, tok));
	/* Every header line is one line: no bare CR or LF inside. */
	for (const char *p = r->head; *p; p++)
		if (*p == '\r')
			ck_assert_int_eq(p[1], '\n');
		else if (*p == '\n')
			ck_assert(p > r->head && p[-1] == '\r');
}

static char *
uri(const char *tok, const char *rest)
{
	return g_strconcat("/m/", tok, rest, NULL);
}

START_TEST(page_ok)
{
	struct resp r;
	char *u = uri(tok_ok, "");

	request(&r, "GET", u, "en-GB,en;q=0.9", NULL, NULL, NULL, NULL);
	ck_assert_int_eq(r.rs.status, 200);
	check_common(&r, tok_ok);
	ck_assert(has_header(&r, "Content-Type: text/html; charset=utf-8"));
	char *csp = g_strdup_printf("Content-Security-Policy: default-src "
	    "'none'; style-src %s; img-src 'self'; frame-src 'self'; "
	    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
	    env.style_hash);
	ck_assert_msg(has_header(&r, csp), "%s", r.head);
	g_free(csp);
	char *b = body_str(&r);
	ck_assert(g_utf8_validate(b, -1, NULL));
	ck_assert_ptr_nonnull(strstr(b, "<html lang=\"en\">"));
	ck_assert_ptr_nonnull(strstr(b,
	    "Relatório &lt;script&gt;alert(1)&lt;/script&gt;"));
	ck_assert_ptr_null(strstr(b, "<script"));
	ck_assert_ptr_nonnull(strstr(b, "João &lt;/script&gt;"));
	ck_assert_ptr_nonnull(strstr(b, "ana@example.org"));
	ck_assert_ptr_nonnull(strstr(b, "carol@example.net"));
	ck_assert_ptr_nonnull(strstr(b, "22 November 2026"));
	/* A link ends before a quote: the quote cannot break out. */
	ck_assert_ptr_nonnull(strstr(b, "Hello &lt;b&gt;there&lt;/b&gt; &amp; see "
	    "<a href=\"https://example.org/a?b=1&amp;c=\" "
	    "rel=\"noopener noreferrer\">https://example.org/a?b=1&amp;c=</a>"
	    "&quot;2&quot;."));
	ck_assert_ptr_nonnull(strstr(b, "<a href=\"mailto:x@example.org\""));
	ck_assert_ptr_null(strstr(b, "href=\"javascript"));
	ck_assert_ptr_null(strstr(b, "\xff"));
	/* HTML body in a sandboxed frame, relative links under the token. */
	ck_assert_ptr_nonnull(strstr(b, "<iframe sandbox=\"allow-popups "
	    "allow-popups-to-escape-sandbox\""));
	char *frame = g_strdup_printf("src=\"%s/html\"", tok_ok);
	ck_assert_ptr_nonnull(strstr(b, frame));
	g_free(frame);
	/* The attachment: hostile name escaped, bidi override neutralised. */
	ck_assert_ptr_nonnull(strstr(b, "evil\n&quot;q&quot;&lt;/script&gt;"
	    "\xEF\xBF\xBDgpj.exennnn"));
	ck_assert_ptr_null(strstr(b, "\xE2\x80\xAE"));
	ck_assert_ptr_nonnull(strstr(b, "/part/3?download=1\">evil"));
	ck_assert_ptr_nonnull(strstr(b, "(text/html, 3.0 kB)"));
	ck_assert_ptr_nonnull(strstr(b, "/part/2?download=1\">logo.png</a> "
	    "<span class=\"meta\">(image/png, 33 bytes)"));
	ck_assert_ptr_nonnull(strstr(b, "/eml\">Download the original (.eml)"));
	ck_assert_ptr_nonnull(strstr(b, "<form method=\"post\" action=\""));
	ck_assert_ptr_nonnull(strstr(b, "Keep it longer (14 more days)"));
	ck_assert_ptr_nonnull(strstr(b, "can be read until 13 February 2027"));
	g_free(b);
	resp_free(&r);
	g_free(u);
}
END_TEST

/* Spanish is a catalogue entry (common/lang_es.c) and nothing else: the
 * page, its dates and sizes and its error pages follow Accept-Language. */
START_TEST(page_spanish)
{
	struct resp r;
	char *u = uri(tok_ok, "");

	request(&r, "GET", u, "es-MX;q=0.9, en;q=0.5", NULL, NULL, NULL,
	    NULL);
	ck_assert_int_eq(r.rs.status, 200);
	char *b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "<html lang=\"es\">"));
	ck_assert_ptr_nonnull(strstr(b, "<h2 id=\"h-att\">Adjuntos</h2>"));
	ck_assert_ptr_nonnull(strstr(b, "Este mensaje se puede leer hasta el "));
	ck_assert_ptr_nonnull(strstr(b, " de febrero de 2027"));
	ck_assert_ptr_nonnull(strstr(b, "Conservarlo más tiempo ("));
	ck_assert_ptr_nonnull(strstr(b, "Descargar el original (.eml)"));
	ck_assert_ptr_null(strstr(b, "Attachments"));
	g_free(b);
	resp_free(&r);
	g_free(u);

	ck_assert_str_eq(page_language("es", "en"), "es");
	ck_assert_str_eq(page_language("es-419, pt;q=0.5", "en"), "es");
	ck_assert_str_eq(page_language("de", "es"), "es");
	ck_assert_str_eq(page_language("pt;q=0.4, es;q=0.6", "pt-BR"), "es");
	ck_assert_str_eq(page_language("esx", "en"), "en");

	GString *e = g_string_new(NULL);
	page_error(e, 404, "es");
	ck_assert_ptr_nonnull(strstr(e->str, "<html lang=\"es\">"));
	ck_assert_ptr_nonnull(strstr(e->str, "<h1>No encontrado</h1>"));
	g_string_free(e, TRUE);
}
END_TEST

START_TEST(page_portuguese_and_head)
{
	struct resp r;
	char *u = uri(tok_ok, "/");

	request(&r, "HEAD", u, "fr;q=1, pt-BR;q=0.8, en;q=0.5", NULL, NULL,
	    NULL, NULL);
	ck_assert_int_eq(r.rs.status, 200);
	ck_assert(r.rs.head_only);
	check_common(&r, tok_ok);
	char *b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "<html lang=\"pt-BR\">"));
	ck_assert_ptr_nonnull(strstr(b, "Anexos"));
	ck_assert_ptr_nonnull(strstr(b, "src=\"./html\""));
	g_free(b);
	resp_free(&r);
	g_free(u);
	ck_assert_str_eq(page_language(NULL, "pt-BR"), "pt-BR");
	ck_assert_str_eq(page_language("de, *;q=0.1", "en"), "en");
	ck_assert_str_eq(page_language("pt;q=0.2, en;q=0.9", "pt-BR"), "en");
	ck_assert_str_eq(page_language("\r\n\"<x>\"", "en"), "en");
}
END_TEST

START_TEST(html_sanitised)
{
	struct resp r;
	char *u = uri(tok_ok, "/html");

	request(&r, "GET", u, NULL, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(r.rs.status, 200);
	check_common(&r, tok_ok);
	ck_assert(has_header(&r, "Content-Security-Policy: sandbox allow-popups "
	    "allow-popups-to-escape-sandbox; default-src 'none'; img-src 'self' "
	    "data:; style-src 'unsafe-inline'; base-uri 'none'; form-action "
	    "'none'; frame-ancestors 'self'"));
	char *b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "<img src=\"part/2\" alt=\"logo\">"));
	ck_assert_ptr_null(strstr(b, "tracker.example"));
	ck_assert_ptr_null(strstr(b, "<script"));
	ck_assert_ptr_null(strstr(b, "onclick"));
	g_free(b);
	resp_free(&r);
	g_free(u);

	u = uri(tok_ok, "/html?images=1");
	request(&r, "GET", u, NULL, NULL, NULL, NULL, NULL);
	ck_assert(has_header(&r, "Content-Security-Policy: sandbox allow-popups "
	    "allow-popups-to-escape-sandbox; default-src 'none'; img-src 'self' "
	    "data: https:; style-src 'unsafe-inline'; base-uri 'none'; "
	    "form-action 'none'; frame-ancestors 'self'"));
	b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "https://tracker.example/p.png"));
	g_free(b);
	resp_free(&r);
	g_free(u);

	/* Not allowed by configuration: the opt-in is ignored. */
	env.allow_remote_images = false;
	u = uri(tok_ok, "/html?images=1");
	request(&r, "GET", u, NULL, NULL, NULL, NULL, NULL);
	b = body_str(&r);
	ck_assert_ptr_null(strstr(b, "tracker.example"));
	ck_assert_ptr_null(strstr(r.head, "https:"));
	g_free(b);
	resp_free(&r);
	g_free(u);
}
END_TEST

START_TEST(part_download)
{
	struct resp r;
	char *u = uri(tok_ok, "/part/3");

	request(&r, "GET", u, NULL, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(r.rs.status, 200);
	check_common(&r, tok_ok);
	ck_assert(has_header(&r, "Content-Type: application/octet-stream"));
	ck_assert_ptr_nonnull(strstr(r.head, "\r\nContent-Disposition: "
	    "attachment; filename=\"evil\\\"q\\\"</script>_gpj.exennn"));
	ck_assert_ptr_nonnull(strstr(r.head, "; filename*=UTF-8''evil%22q%22"
	    "%3C%2Fscript%3E%E2%80%AEgpj.exennn"));
	ck_assert_uint_eq(r.rs.body->len, attachment->len);
	ck_assert(memcmp(r.rs.body->data, attachment->str, attachment->len) == 0);
	resp_free(&r);
	g_free(u);

	/* A raster image inline, and as a download when asked. */
	u = uri(tok_ok, "/part/2");
	request(&r, "GET", u, NULL, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(r.rs.status, 200);
	check_common(&r, tok_ok);
	ck_assert(has_header(&r, "Content-Type: image/png"));
	ck_assert(has_header(&r, "Content-Disposition: inline; "
	    "filename=\"logo.png\"; filename*=UTF-8''logo.png"));
	ck_assert_uint_eq(r.rs.body->len, sizeof(png));
	ck_assert(memcmp(r.rs.body->data, png, sizeof(png)) == 0);
	resp_free(&r);
	g_free(u);
	u = uri(tok_ok, "/part/2?download=1");
	request(&r, "GET", u, NULL, NULL, NULL, NULL, NULL);
	ck_assert(has_header(&r, "Content-Disposition: attachment; "
	    "filename=\"logo.png\"; filename*=UTF-8''logo.png"));
	resp_free(&r);
	g_free(u);

	/* The HTML body part itself is never served as HTML. */
	u = uri(tok_ok, "/part/1");
	request(&r, "GET", u, NULL, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(r.rs.status, 200);
	ck_assert(has_header(&r, "Content-Type: application/octet-stream"));
	resp_free(&r);
	g_free(u);

	static const char *const bad[] = { "/part/9", "/part/", "/part/-1",
	    "/part/01", "/part/1x", "/part/99999999", "/parts/1", NULL };
	for (size_t i = 0; bad[i] != NULL; i++) {
		u = uri(tok_ok, bad[i]);
		request(&r, "GET", u, NULL, NULL, NULL, NULL, NULL);
		ck_assert_msg(r.rs.status == 404, "%s: %d", bad[i], r.rs.status);
		check_common(&r, tok_ok);
		resp_free(&r);
		g_free(u);
	}
}
END_TEST

START_TEST(eml_identical)
{
	struct resp r;
	char *u = uri(tok_ok, "/eml");

	request(&r, "GET", u, NULL, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(r.rs.status, 200);
	check_common(&r, tok_ok);
	ck_assert(has_header(&r, "Content-Type: message/rfc822"));
	ck_assert(has_header(&r, "Content-Disposition: attachment; "
	    "filename=\"message.eml\""));
	ck_assert_uint_eq(r.rs.body->len, fake.msg->len);
	ck_assert(memcmp(r.rs.body->data, fake.msg->str, fake.msg->len) == 0);
	resp_free(&r);
	g_free(u);
}
END_TEST

START_TEST(keep_post)
{
	struct resp r;
	char *u = uri(tok_ok, "/keep");

	/* No Origin, no Referer: refused, nothing changed. */
	request(&r, "POST", u, NULL, NULL, NULL, "", "0");
	ck_assert_int_eq(r.rs.status, 403);
	check_common(&r, tok_ok);
	resp_free(&r);
	/* Another site. */
	request(&r, "POST", u, NULL, "https://evil.example", NULL, "", "0");
	ck_assert_int_eq(r.rs.status, 403);
	resp_free(&r);
	request(&r, "POST", u, NULL, "https://mail.example.com.evil.example",
	    NULL, "", "0");
	ck_assert_int_eq(r.rs.status, 403);
	resp_free(&r);
	request(&r, "POST", u, NULL, NULL, "https://evil.example/m/x", "", "0");
	ck_assert_int_eq(r.rs.status, 403);
	resp_free(&r);
	ck_assert_int_eq(fake.keeps, 0);
	/* Host without a port (nginx's $host): the port must be the server's. */
	request_port(&r, u, "mail.example.com", "443",
	    "https://mail.example.com:8443");
	ck_assert_int_eq(r.rs.status, 403);
	resp_free(&r);
	request_port(&r, u, "mail.example.com", "8443",
	    "https://mail.example.com:8443");
	ck_assert_int_eq(r.rs.status, 200);
	resp_free(&r);
	request_port(&r, u, "mail.example.com:8443", "8443",
	    "https://mail.example.com:9443");
	ck_assert_int_eq(r.rs.status, 403);
	resp_free(&r);
	ck_assert_int_eq(fake.keeps, 1);
	fake.keeps = 0;
	fake.expires = NOW + 29 * DAY;
	/* Too large a body. */
	request(&r, "POST", u, NULL, "https://mail.example.com", NULL, "",
	    "100000");
	ck_assert_int_eq(r.rs.status, 413);
	check_common(&r, tok_ok);
	resp_free(&r);
	GString *big = g_string_new(NULL);
	for (int i = 0; i < 10000; i++)
		g_string_append_c(big, 'x');
	request(&r, "POST", u, NULL, "https://mail.example.com", NULL, big->str,
	    NULL);
	ck_assert_int_eq(r.rs.status, 413);
	resp_free(&r);
	g_string_free(big, TRUE);
	ck_assert_int_eq(fake.keeps, 0);

	/* Same origin: kept by KeepExtension, the page answers. */
	request(&r, "POST", u, "pt-BR", "https://mail.example.com", NULL,
	    "keep=1", "6");
	ck_assert_int_eq(r.rs.status, 200);
	check_common(&r, tok_ok);
	ck_assert_int_eq(fake.keeps, 1);
	ck_assert_int_eq(fake.kept_to, NOW + 43 * DAY);
	char *b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "Pronto"));
	ck_assert_ptr_nonnull(strstr(b, "27 de fevereiro de 2027"));
	ck_assert_ptr_nonnull(strstr(b, "action=\"./keep\""));
	g_free(b);
	resp_free(&r);

	/* Referer of this host; then capped at created + MaxRetention. */
	request(&r, "POST", u, NULL, NULL, "http://mail.example.com/m/x", "",
	    NULL);
	ck_assert_int_eq(r.rs.status, 200);
	resp_free(&r);
	request(&r, "POST", u, NULL, NULL, "http://mail.example.com/m/x", "",
	    NULL);
	resp_free(&r);
	for (int i = 0; i < 8; i++) {
		request(&r, "POST", u, NULL, "https://mail.example.com", NULL,
		    "", NULL);
		resp_free(&r);
	}
	ck_assert_int_eq(fake.expires, fake.created + 90 * DAY);
	request(&r, "POST", u, NULL, "https://mail.example.com", NULL, "", NULL);
	b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "longest the sender keeps"));
	ck_assert_ptr_null(strstr(b, "<form"));
	g_free(b);
	resp_free(&r);
	g_free(u);
}
END_TEST

/* Runs a request whose response must be the error page for status, in
 * English, with the common headers and without the token. */
static void
expect_error(const char *method, const char *u, const char *tok, int status,
    const char *phrase)
{
	struct resp r;

	request(&r, method, u, NULL, NULL, NULL, NULL, NULL);
	ck_assert_msg(r.rs.status == status, "%s %s: %d", method, u,
	    r.rs.status);
	check_common(&r, tok);
	ck_assert(has_header(&r, "Content-Type: text/html; charset=utf-8"));
	char *b = body_str(&r);
	ck_assert_msg(strstr(b, phrase) != NULL, "%s", b);
	ck_assert_ptr_null(strstr(b, tok));
	g_free(b);
	resp_free(&r);
}

START_TEST(errors)
{
	char *u;

	u = uri(tok_unknown, "");
	expect_error("GET", u, tok_unknown, 404, "no message at this link");
	g_free(u);
	u = uri(tok_expired, "");
	expect_error("GET", u, tok_expired, 410, "expired");
	g_free(u);
	u = uri(tok_revoked, "/eml");
	expect_error("GET", u, tok_revoked, 410, "withdrawn");
	g_free(u);
	u = uri(tok_ok, "");
	expect_error("PUT", u, tok_ok, 405, "does not accept");
	expect_error("POST", u, tok_ok, 405, "does not accept");
	expect_error("DELETE", u, tok_ok, 405, "does not accept");
	g_free(u);
	u = uri(tok_ok, "/keep");
	expect_error("GET", u, tok_ok, 405, "does not accept");
	g_free(u);
	u = uri(tok_ok, "/nothing");
	expect_error("GET", u, tok_ok, 404, "Not found");
	g_free(u);

	static const char *const malformed[] = {
		"/m/", "/m/short", "/", "", "/x/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"/m/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",   /* non-canonical */
		"/m/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"/m/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"/m/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%41",
		"/m/<script>alert(1)</script>AAAAAAAAAAAAAAAAAAAAAAAAA",
		"/m/AAAAAAAAAAAAAAAAAAAAA\r\nAAAAAAAAAAAAAAAAAAAAAA",
		"/m/\xff\xfe\xfd", NULL,
	};
	for (size_t i = 0; malformed[i] != NULL; i++)
		expect_error("GET", malformed[i], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		    404, "Not found");

	struct resp r;
	request(&r, "GET", "/m/none", "pt-BR,pt;q=0.9", NULL, NULL, NULL, NULL);
	ck_assert_int_eq(r.rs.status, 404);
	char *b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "Não há mensagem neste link"));
	g_free(b);
	resp_free(&r);
}
END_TEST

/* A body that is never sent (issue 17, defect 4): a refused POST /keep is
 * answered without reading it, and a granted one waits for it only until
 * the deadline. */
struct slow_body {
	int calls;
	int last_timeout;
};

static long
read_never(void *ctx, void *buf, size_t len, int timeout_ms)
{
	struct slow_body *b = ctx;

	(void)buf;
	(void)len;
	b->calls++;
	b->last_timeout = timeout_ms;
	return -1;      /* nothing came within timeout_ms */
}

static void
post_slow(struct resp *r, struct slow_body *b, const char *u,
    const char *origin, const char *clen)
{
	struct web_request rq = { 0 };
	GString *h = g_string_new(NULL);

	rq.method = "POST";
	rq.uri = u;
	rq.host = "mail.example.com";
	rq.origin = origin;
	rq.content_length = clen;
	rq.read_body = read_never;
	rq.body_ctx = b;
	rq.now = NOW;
	web_response_init(&r->rs);
	web_handle(&env, &rq, &r->rs);
	web_response_head(&r->rs, h);
	r->head = g_string_free(h, FALSE);
}

START_TEST(keep_body_read_last)
{
	static const char *const refused_tokens[] = {
		tok_unknown, tok_expired, tok_revoked,
	};
	const char *good = "https://mail.example.com";
	struct slow_body b = { 0 };
	struct resp r;
	char *u = uri(tok_ok, "/keep");

	/* Another site, or none: 403 before any read. */
	post_slow(&r, &b, u, NULL, "10");
	ck_assert_int_eq(r.rs.status, 403);
	resp_free(&r);
	post_slow(&r, &b, u, "https://evil.example", NULL);
	ck_assert_int_eq(r.rs.status, 403);
	resp_free(&r);
	ck_assert_int_eq(b.calls, 0);
	/* Announced too large, or not a number: 413 before any read. */
	post_slow(&r, &b, u, good, "4097");
	ck_assert_int_eq(r.rs.status, 413);
	resp_free(&r);
	post_slow(&r, &b, u, good, "-1");
	ck_assert_int_eq(r.rs.status, 413);
	resp_free(&r);
	post_slow(&r, &b, u, good, " 1");
	ck_assert_int_eq(r.rs.status, 413);
	resp_free(&r);
	/* Not a route, not a token, or an object that cannot be kept. */
	post_slow(&r, &b, "/m/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/keep",
	    good, "10");
	ck_assert_int_eq(r.rs.status, 404);
	resp_free(&r);
	char *v = uri(tok_ok, "/keep/x");
	post_slow(&r, &b, v, good, "10");
	ck_assert_int_eq(r.rs.status, 404);
	resp_free(&r);
	g_free(v);
	for (size_t i = 0; i < G_N_ELEMENTS(refused_tokens); i++) {
		v = uri(refused_tokens[i], "/keep");
		post_slow(&r, &b, v, good, "10");
		ck_assert_int_eq(r.rs.status,
		    refused_tokens[i] == tok_unknown ? 404 : 410);
		resp_free(&r);
		g_free(v);
	}
	fake.gone = SEALED_REVOKED;
	post_slow(&r, &b, u, good, "10");
	ck_assert_int_eq(r.rs.status, 410);
	resp_free(&r);
	fake.gone = SEALED_OK;
	ck_assert_int_eq(b.calls, 0);
	ck_assert_int_eq(fake.keeps, 0);

	/* Granted but the body never comes: one bounded wait, 408, nothing
	 * kept. */
	post_slow(&r, &b, u, good, "10");
	ck_assert_int_eq(r.rs.status, 408);
	check_common(&r, tok_ok);
	ck_assert_int_eq(b.calls, 1);
	ck_assert_int_gt(b.last_timeout, 0);
	ck_assert_int_le(b.last_timeout, WEB_BODY_TIMEOUT_MS);
	ck_assert_int_eq(fake.keeps, 0);
	char *body = body_str(&r);
	ck_assert_ptr_nonnull(strstr(body, "took too long"));
	ck_assert_ptr_null(strstr(body, tok_ok));
	g_free(body);
	resp_free(&r);
	g_free(u);
}
END_TEST

/* Accept-Language with empty, blank or malformed items (issue 17, defect
 * 1: an empty item crashed the renderer before the token was looked at):
 * each answers, on any URL, in the language its valid items ask for. */
START_TEST(accept_language_hostile)
{
	static const struct { const char *al, *lang; } cases[] = {
		{ "", "en" }, { ",", "en" }, { ",,,,", "en" }, { " ", "en" },
		{ " , \t,", "en" }, { ";", "en" }, { ";;;", "en" },
		{ ";q=1", "en" }, { "=", "en" }, { "q=", "en" },
		{ "en,,pt", "en" }, { "en;q=0.5,", "en" }, { ",pt-BR", "pt-BR" },
		{ "pt-BR,", "pt-BR" }, { "en;q=0.5, ,pt;q=0.8", "pt-BR" },
		{ "en;q=0.5,pt;", "pt-BR" }, { "en;q=0.5,pt;;q=0.9", "pt-BR" },
		{ "en;q=0.5,pt;q=", "en" }, { "en;q=0.5,pt;q=x", "en" },
		{ "en;q=0.5,pt;q=1.5", "en" }, { "en;q=0.5,pt;q=0.5000", "en" },
		{ "en;q=0.1,pt;Q=0.9", "pt-BR" }, { "pt;q=0,en;q=0.001", "en" },
		{ "pt;q=0", "en" }, { "fr, de ;q=0.9", "en" },
		{ "pt-BR;q=0.9, en ; q=1", "en" }, { "ptx,enx", "en" },
		{ "  pt  ;  q=0.7  ", "pt-BR" }, { "\t", "en" },
		{ "es", "es" }, { "ES-es", "es" }, { "en;q=0.5, es-AR", "es" },
		{ "es;q=0, en;q=0.1", "en" },
	};
	char *u = uri(tok_ok, "");

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		ck_assert_msg(strcmp(page_language(cases[i].al, "en"),
		    cases[i].lang) == 0, "\"%s\": %s", cases[i].al,
		    page_language(cases[i].al, "en"));
		/* The same through the handler, on a page and on a 404. */
		struct resp r;
		request(&r, "GET", u, cases[i].al, NULL, NULL, NULL, NULL);
		ck_assert_int_eq(r.rs.status, 200);
		char *b = body_str(&r);
		char *want = g_strdup_printf("<html lang=\"%s\">",
		    cases[i].lang);
		ck_assert_msg(strstr(b, want) != NULL, "\"%s\"", cases[i].al);
		g_free(want);
		g_free(b);
		resp_free(&r);
		request(&r, "GET", "/m/none", cases[i].al, NULL, NULL, NULL, NULL);
		ck_assert_int_eq(r.rs.status, 404);
		resp_free(&r);
	}
	/* More items than are looked at, and a long run of commas. */
	GString *many = g_string_new(NULL);
	for (int i = 0; i < 100000; i++)
		g_string_append_c(many, ',');
	ck_assert_str_eq(page_language(many->str, "pt-BR"), "pt-BR");
	g_string_truncate(many, 0);
	for (int i = 0; i < 40; i++)
		g_string_append(many, "fr,");
	g_string_append(many, "pt");
	ck_assert_str_eq(page_language(many->str, "en"), "en");
	g_string_free(many, TRUE);
	ck_assert_str_eq(page_language(NULL, "pt-BR"), "pt-BR");
	g_free(u);
}
END_TEST

/* A multipart/mixed message of n tiny text parts ("part I"), the first a
 * text body; nested: each part wrapped in its own multipart. */
static GString *
many_parts(unsigned n)
{
	GString *m = g_string_new("From: a@example.com\r\nTo: b@example.org\r\n"
	    "Subject: many\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\npreamble\r\n");

	for (unsigned i = 0; i < n; i++)
		g_string_append_printf(m, "--b\r\nContent-Type: text/plain\r\n"
		    "Content-Disposition: attachment\r\n\r\npart %u\r\n", i);
	g_string_append(m, "--b--\r\nepilogue\r\n");
	return m;
}

/* Issue 17, defect 8: a message of more parts than WEB_MAX_PARTS is parsed
 * cut short; the page says how many parts it does not list, and the parts
 * it lists are whole. */
START_TEST(many_parts_cut)
{
	/* The message is one entity, each part one more. */
	unsigned shown = WEB_MAX_PARTS - 1, total = shown + 501;
	char *u = uri(tok_ok, ""), *b;
	struct resp r;

	g_string_free(fake.msg, TRUE);
	fake.msg = many_parts(total);
	request(&r, "GET", u, "en", NULL, NULL, NULL, NULL);
	ck_assert_int_eq(r.rs.status, 200);
	b = body_str(&r);
	ck_assert_msg(strstr(b, "too many parts to show them all: 501 more "
	    "are not listed here") != NULL, "%s", b + strlen(b) - 600);
	char *last = g_strdup_printf("part/%u?download=1", shown - 1);
	char *past = g_strdup_printf("part/%u?download=1", shown);
	ck_assert_ptr_nonnull(strstr(b, last));
	ck_assert_ptr_null(strstr(b, past));
	g_free(last);
	g_free(past);
	g_free(b);
	resp_free(&r);
	request(&r, "GET", u, "pt-BR", NULL, NULL, NULL, NULL);
	b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "mais 501 não estão listadas aqui"));
	g_free(b);
	resp_free(&r);
	g_free(u);

	/* The last part listed is served whole; the next is not. */
	u = g_strdup_printf("/m/%s/part/%u", tok_ok, shown - 1);
	request(&r, "GET", u, NULL, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(r.rs.status, 200);
	b = body_str(&r);
	char *want = g_strdup_printf("part %u", shown - 1);
	ck_assert_str_eq(b, want);
	g_free(want);
	g_free(b);
	resp_free(&r);
	g_free(u);
	u = g_strdup_printf("/m/%s/part/%u", tok_ok, shown);
	request(&r, "GET", u, NULL, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(r.rs.status, 404);
	resp_free(&r);
	g_free(u);
	/* The original keeps everything. */
	u = uri(tok_ok, "/eml");
	request(&r, "GET", u, NULL, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(r.rs.status, 200);
	ck_assert_uint_eq(r.rs.body->len, fake.msg->len);
	resp_free(&r);
	g_free(u);

	/* Exactly as many as are shown: complete, no note. */
	g_string_free(fake.msg, TRUE);
	fake.msg = many_parts(shown);
	u = uri(tok_ok, "");
	request(&r, "GET", u, "en", NULL, NULL, NULL, NULL);
	b = body_str(&r);
	ck_assert_ptr_null(strstr(b, "too many parts"));
	last = g_strdup_printf("part/%u?download=1", shown - 1);
	ck_assert_ptr_nonnull(strstr(b, last));
	g_free(last);
	g_free(b);
	resp_free(&r);
	g_free(u);
}
END_TEST

/* The scan that cuts: entities of attached messages count toward the cut
 * but are not leaves; nesting deeper than the scan follows is cut there;
 * boundaries as GMime reads them. */
START_TEST(scan_structure)
{
	size_t cut, left;
	GString *m = many_parts(10);

	/* Under the limit: nothing cut. */
	web_message_scan((const unsigned char *)m->str, m->len, 100, &cut,
	    &left);
	ck_assert_uint_eq(cut, m->len);
	ck_assert_uint_eq(left, 0);
	/* 1 + 10 entities, 4 allowed: cut before the fourth part's boundary
	 * line, 7 leaves left out. */
	web_message_scan((const unsigned char *)m->str, m->len, 4, &cut, &left);
	ck_assert_uint_eq(left, 7);
	const char *at = strstr(m->str, "part 2\r\n--b\r\n");
	ck_assert_ptr_nonnull(at);
	ck_assert_uint_eq(cut, (size_t)(at - m->str) + strlen("part 2"));
	g_string_free(m, TRUE);

	/* An attached message with 50 parts is one leaf, and 52 entities
	 * (its part, its header block as a message, its own multipart's
	 * parts); a boundary with trailing blanks and a quoted, folded
	 * Content-Type. */
	m = g_string_new("Content-Type: multipart/mixed;\r\n\tboundary=\"o u\"\r\n"
	    "\r\n--o u  \r\nContent-Type: text/plain\r\n\r\nbody\r\n"
	    "--o u\r\nContent-Type: message/rfc822\r\n\r\n"
	    "Subject: inner\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n");
	for (int i = 0; i < 50; i++)
		g_string_append(m, "--i\r\n\r\nx\r\n");
	g_string_append(m, "--i--\r\n--o u\r\nContent-Type: text/plain\r\n"
	    "\r\nafter\r\n--o u--\r\n");
	web_message_scan((const unsigned char *)m->str, m->len, 1000, &cut,
	    &left);
	ck_assert_uint_eq(cut, m->len);
	/* 1 + 1 (body) + 1 (message part) + 1 (inner message) + 50 = 54: the
	 * 55th is the last text part, a leaf of the outer list. */
	web_message_scan((const unsigned char *)m->str, m->len, 54, &cut, &left);
	ck_assert_uint_eq(left, 1);
	ck_assert_uint_eq(cut, (size_t)(strstr(m->str, "--i--\r\n--o u\r\n") -
	    m->str) + strlen("--i--"));
	/* Cut inside the attached message: it is listed (its part began
	 * before the cut), the text part after it is not. */
	web_message_scan((const unsigned char *)m->str, m->len, 10, &cut, &left);
	ck_assert_uint_eq(left, 1);
	g_string_free(m, TRUE);

	/* Multiparts nested deeper than the scan follows: cut at the first
	 * one past it, with no count. */
	m = g_string_new(NULL);
	for (int i = 0; i < WEB_SCAN_MAX_DEPTH + 10; i++)
		g_string_append_printf(m, "Content-Type: multipart/mixed; "
		    "boundary=b%d\r\n\r\n--b%d\r\n", i, i);
	g_string_append(m, "Content-Type: text/plain\r\n\r\ndeep\r\n");
	web_message_scan((const unsigned char *)m->str, m->len, 100000, &cut,
	    &left);
	ck_assert_uint_lt(cut, m->len);
	ck_assert_uint_eq(left, 0);
	/* The entity that names the boundary too many starts at the line
	 * of the one before: the cut is at the end of the (blank) line before
	 * that. */
	char *deepest = g_strdup_printf("\r\n\r\n--b%d\r\n",
	    WEB_SCAN_MAX_DEPTH - 1);
	at = strstr(m->str, deepest);
	ck_assert_ptr_nonnull(at);
	ck_assert_uint_eq(cut, (size_t)(at - m->str) + 2);
	g_free(deepest);
	/* And the handler answers it, with the note without a count. */
	g_string_free(fake.msg, TRUE);
	fake.msg = m;
	char *u = uri(tok_ok, "");
	struct resp r;
	request(&r, "GET", u, "en", NULL, NULL, NULL, NULL);
	ck_assert_int_eq(r.rs.status, 200);
	char *b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "some are not listed here"));
	g_free(b);
	resp_free(&r);
	g_free(u);
}
END_TEST

/* A damaged object: 500 with a page that says so, and one log line naming
 * the storage id, never the token. */
START_TEST(damaged_logged)
{
	char path[] = "/tmp/test-web-log-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDERR_FILENO);
	char *u = uri(tok_damaged, "");
	struct token *t = token_decode(tok_damaged, TOKEN_TEXT_LEN);
	struct storage_id id;
	char *log = NULL;

	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(t);
	token_storage_id(t, &id);
	token_free(t);
	dup2(fd, STDERR_FILENO);
	expect_error("GET", u, tok_damaged, 500, "damaged");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	ck_assert(g_file_get_contents(path, &log, NULL, NULL));
	unlink(path);
	char short_id[9];
	memcpy(short_id, id.hex, 8);
	short_id[8] = '\0';
	ck_assert_msg(strstr(log, short_id) != NULL, "log: %s", log);
	ck_assert_ptr_null(strstr(log, tok_damaged));
	g_free(log);
	g_free(u);
}
END_TEST

/* The attachment size on the page is computed from the encoded part (no
 * decoding for base64 and identity encodings): it must equal the length of
 * what a download delivers, for every encoding and line layout. */
START_TEST(part_size_equals_download)
{
	static const char msg[] =
	    "From: a@example.com\r\nSubject: sizes\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
	    /* base64, no padding, CRLF lines */
	    "--b\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY\r\nWVphYmNkZWZn\r\n"
	    /* base64, one '=', LF lines, trailing spaces */
	    "--b\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: BASE64\r\n\r\n"
	    "QUJDREVGR0hJ  \nSktM\nTU5PUFE=\n\n"
	    /* base64, "==" split across lines */
	    "--b\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "QUJDRA=\r\n=\r\n"
	    /* base64 "xxx=", "x===", data after the padding, a stray
	     * character, a group cut short: the unusual ones are decoded
	     * by GMime, which must still agree with the size */
	    "--b\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nQUJDREU=\r\n"
	    "--b\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nQUJDR===\r\n"
	    "--b\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nQUI=\r\nQUJD\r\n"
	    "--b\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nQU!JD\r\n"
	    "--b\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nQUJDRE\r\n"
	    /* empty base64 */
	    "--b\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n\r\n"
	    /* quoted-printable with soft breaks */
	    "--b\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "caf=C3=A9 =\r\nlong line=3D\r\nend\r\n"
	    /* 7bit, 8bit, binary, none */
	    "--b\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\nseven\r\nbit\r\n"
	    "--b\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n\xc3\xa9t\xc3\xa9\r\n"
	    "--b\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: binary\r\n\r\n\x01\x02\x03\r\n"
	    "--b\r\nContent-Type: application/octet-stream\r\n\r\nno cte\r\n"
	    /* an attached message */
	    "--b\r\nContent-Type: message/rfc822\r\n\r\n"
	    "From: b@example.com\r\nSubject: inner\r\n\r\ninner body\r\n"
	    "--b--\r\n";
	struct web_message m;

	ck_assert_int_eq(web_message_parse((const unsigned char *)msg,
	    sizeof msg - 1, &m), 0);
	ck_assert_uint_eq(m.leaves->len, 16);
	for (guint i = 0; i < m.leaves->len; i++) {
		GByteArray *d = web_part_decoded(m.leaves->pdata[i]);
		ck_assert_msg(web_part_size(m.leaves->pdata[i]) == d->len,
		    "leaf %u: size %zu, download %u bytes", i,
		    web_part_size(m.leaves->pdata[i]), d->len);
		GByteArray *a = g_byte_array_new();
		g_byte_array_append(a, (const guint8 *)"x", 1);
		web_part_append_decoded(m.leaves->pdata[i], a);
		ck_assert_uint_eq(a->len, d->len + 1);
		ck_assert(d->len == 0 || memcmp(a->data + 1, d->data, d->len) == 0);
		g_byte_array_free(a, TRUE);
		g_byte_array_free(d, TRUE);
	}
	web_message_clear(&m);
}
END_TEST

/* page_linkify's rules applied position by position, the plainest way (the
 * page scans from colon to colon for speed and must give the same bytes). */
static void
reference_linkify(GString *out, const char *text)
{
	static const char *const schemes[] = { "https://", "http://",
	    "mailto:" };
	const char *p = text, *plain = text;

	while (*p) {
		size_t n = 0;
		bool at_word = p == text || !g_ascii_isalnum(p[-1]);
		for (size_t i = 0; at_word && i < G_N_ELEMENTS(schemes); i++) {
			size_t sl = strlen(schemes[i]);
			if (g_ascii_strncasecmp(p, schemes[i], sl) == 0) {
				while (p[n] != '\0' && !g_ascii_isspace(p[n]) &&
				    p[n] != '<' && p[n] != '>' && p[n] != '"' &&
				    (unsigned char)p[n] >= 0x20)
					n++;
				while (n > 0 && strchr(".,;:!?)]}'", p[n - 1]))
					n--;
				if (n <= sl)
					n = 0;
				break;
			}
		}
		if (n == 0) {
			p++;
			continue;
		}
		html_text(out, plain, p - plain);
		g_string_append(out, "<a href=\"");
		html_attr(out, p, (gssize)n);
		g_string_append(out, "\" rel=\"noopener noreferrer\">");
		html_text(out, p, (gssize)n);
		g_string_append(out, "</a>");
		p += n;
		plain = p;
	}
	html_text(out, plain, p - plain);
}

START_TEST(linkify_matches_the_plain_rules)
{
	static const char *const pieces[] = {
		"http", "https", "HTTPS", "mailto", "MailTo", "://", ":", "//",
		"x", "a1", " ", "\n", "\t", ".", ",", ")", "'", "<", ">", "\"",
		"&", "example.org", "/p?q=1&r=2", "@", "\xc3\xa9", "\x01",
		"hxttp", "ttp", "s",
	};
	GRand *rnd = g_rand_new_with_seed(20261201);
	for (int round = 0; round < 20000; round++) {
		GString *in = g_string_new(NULL);
		int k = g_rand_int_range(rnd, 0, 16);
		for (int i = 0; i < k; i++)
			g_string_append(in, pieces[g_rand_int_range(rnd, 0,
			    G_N_ELEMENTS(pieces))]);
		GString *want = g_string_new(NULL), *got = g_string_new(NULL);
		reference_linkify(want, in->str);
		page_linkify(got, in->str);
		ck_assert_msg(strcmp(got->str, want->str) == 0,
		    "linkify(\"%s\"): \"%s\", want \"%s\"", in->str, got->str,
		    want->str);
		g_string_free(want, TRUE);
		g_string_free(got, TRUE);
		g_string_free(in, TRUE);
	}
	g_rand_free(rnd);
}
END_TEST

/* GET uri and return the body; the status must be 200. */
static char *
get_page(const char *u, const char *lang)
{
	struct resp r;
	request(&r, "GET", u, lang, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(r.rs.status, 200);
	check_common(&r, tok_ok);
	char *b = body_str(&r);
	resp_free(&r);
	return b;
}

/* The responder's cache: a page read again is the same page without a
 * decryption; each variant is its own entry; keep, revocation, expiry and
 * deletion are never hidden by it. */
START_TEST(page_cache_in_handler)
{
	char *u = uri(tok_ok, "");
	char *us = uri(tok_ok, "/");
	char *ui = uri(tok_ok, "?images=1");
	env.page_cache = page_cache_new(1u << 20);
	ck_assert_ptr_nonnull(env.page_cache);

	char *first = get_page(u, "en");
	ck_assert_int_eq(fake.opens, 1);
	char *again = get_page(u, "en");
	ck_assert_int_eq(fake.opens, 1);
	ck_assert_str_eq(first, again);
	g_free(again);
	/* Not the English page for a reader of Portuguese, nor one link
	 * form for the other, nor images for a reader who did not opt in. */
	char *pt = get_page(u, "pt-BR");
	ck_assert_int_eq(fake.opens, 2);
	ck_assert_ptr_nonnull(strstr(pt, "<html lang=\"pt-BR\">"));
	char *slash = get_page(us, "en");
	ck_assert_int_eq(fake.opens, 3);
	char *img = get_page(ui, "en");
	ck_assert_int_eq(fake.opens, 4);
	ck_assert_str_ne(first, slash);
	ck_assert_str_ne(first, img);
	char *b = get_page(us, "en");
	ck_assert_str_eq(b, slash);
	g_free(b);
	b = get_page(ui, "en");
	ck_assert_str_eq(b, img);
	g_free(b);
	b = get_page(u, "pt-BR");
	ck_assert_str_eq(b, pt);
	g_free(b);
	ck_assert_int_eq(fake.opens, 4);

	/* Kept: the next page shows the new date, rendered afresh. */
	struct resp r;
	char *uk = uri(tok_ok, "/keep");
	request(&r, "POST", uk, "en", "https://mail.example.com", NULL, "", "0");
	ck_assert_int_eq(r.rs.status, 200);
	resp_free(&r);
	ck_assert_int_eq(fake.keeps, 1);
	int opens = fake.opens;
	b = get_page(u, "en");
	ck_assert_int_eq(fake.opens, opens + 1);
	ck_assert_str_ne(b, first);
	ck_assert_ptr_nonnull(strstr(b, "can be read until 27 February 2027"));
	g_free(b);

	/* Revoked, expired, deleted: the error, not the cached page. */
	static const struct { enum sealed_status st; int code; } gone[] = {
		{ SEALED_REVOKED, 410 }, { SEALED_EXPIRED, 410 },
		{ SEALED_NOT_FOUND, 404 },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(gone); i++) {
		fake.gone = gone[i].st;
		request(&r, "GET", u, "en", NULL, NULL, NULL, NULL);
		ck_assert_int_eq(r.rs.status, gone[i].code);
		check_common(&r, tok_ok);
		resp_free(&r);
	}
	fake.gone = SEALED_OK;
	g_free(first);
	g_free(pt);
	g_free(slash);
	g_free(img);
	g_free(uk);
	g_free(u);
	g_free(us);
	g_free(ui);
}
END_TEST

/* A fetch is counted for a page, an .eml or a part answered in full to a
 * GET, from the page cache too; not for HEAD, the HTML body, an error. */
START_TEST(reads_recorded)
{
	struct resp r;
	static const struct { const char *method, *rest; int status;
	    int route; } cases[] = {
		{ "GET", "", 200, READSTATE_PAGE },
		{ "GET", "/", 200, READSTATE_PAGE },
		{ "HEAD", "", 200, -1 },
		{ "GET", "/html", 200, -1 },
		{ "GET", "/eml", 200, READSTATE_EML },
		{ "HEAD", "/eml", 200, -1 },
		{ "GET", "/part/1", 200, READSTATE_PART },
		{ "GET", "/part/99", 404, -1 },
		{ "GET", "/nothing", 404, -1 },
		{ "POST", "", 405, -1 },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		unsigned long before[READSTATE_ROUTES];
		memcpy(before, fake.reads, sizeof before);
		char *u = uri(tok_ok, cases[i].rest);
		request(&r, cases[i].method, u, NULL, NULL, NULL, NULL, NULL);
		ck_assert_msg(r.rs.status == cases[i].status, "%s %s: %d",
		    cases[i].method, cases[i].rest, r.rs.status);
		for (int k = 0; k < READSTATE_ROUTES; k++)
			ck_assert_msg(fake.reads[k] == before[k] +
			    (k == cases[i].route), "%s %s: route %d counted %lu",
			    cases[i].method, cases[i].rest, k,
			    fake.reads[k] - before[k]);
		resp_free(&r);
		g_free(u);
	}
	/* Expired, unknown: nothing. */
	unsigned long total = fake.reads[0] + fake.reads[1] + fake.reads[2];
	char *ue = uri(tok_expired, "");
	request(&r, "GET", ue, NULL, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(r.rs.status, 410);
	resp_free(&r);
	g_free(ue);
	ck_assert_uint_eq(fake.reads[0] + fake.reads[1] + fake.reads[2], total);

	/* From the responder's page cache: counted as well. */
	env.page_cache = page_cache_new(1u << 20);
	char *u = uri(tok_ok, "");
	unsigned long pages = fake.reads[READSTATE_PAGE];
	int opens = fake.opens;
	for (int i = 0; i < 3; i++) {
		request(&r, "GET", u, "en", NULL, NULL, NULL, NULL);
		ck_assert_int_eq(r.rs.status, 200);
		resp_free(&r);
	}
	ck_assert_int_eq(fake.opens, opens + 1);  /* then from the cache */
	ck_assert_uint_eq(fake.reads[READSTATE_PAGE], pages + 3);
	g_free(u);
}
END_TEST

/* A message asking for a receipt, as its sender submitted it. */
static void
receipt_message(const char *extra, const char *to)
{
	g_string_free(fake.msg, TRUE);
	fake.msg = g_string_new(NULL);
	g_string_append_printf(fake.msg,
	    "From: Joao <joao@example.com>\r\n"
	    "To: %s\r\n"
	    "Subject: Contract\r\n"
	    "Date: Sun, 22 Nov 2026 11:47:00 +0000\r\n"
	    "Message-ID: <contract-1@example.com>\r\n"
	    "%s"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	    "Please sign.\r\n", to, extra);
}

/* A sendmail that keeps its arguments and input in dir, and exits with
 * the status in dir/status if there is one. */
static char *
fake_sendmail(char *dir)
{
	char *path = g_strdup_printf("%s/sendmail", dir);
	char *script = g_strdup_printf("#!/bin/sh\n"
	    "n=$(ls '%s' | grep -c '^mail')\n"
	    "printf '%%s\\n' \"$@\" > '%s'/args$n\n"
	    "cat > '%s'/mail$n\n"
	    "[ -f '%s'/status ] && exit $(cat '%s'/status)\n"
	    "exit 0\n", dir, dir, dir, dir, dir);
	ck_assert(g_file_set_contents(path, script, -1, NULL));
	ck_assert_int_eq(chmod(path, 0755), 0);
	g_free(script);
	return path;
}

static int
mails_in(const char *dir)
{
	int n = 0;
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	while ((name = g_dir_read_name(d)) != NULL)
		n += strncmp(name, "mail", 4) == 0;
	g_dir_close(d);
	return n;
}

static char *
read_file(const char *dir, const char *name)
{
	char *p = g_build_filename(dir, name, NULL), *c = NULL;
	ck_assert(g_file_get_contents(p, &c, NULL, NULL));
	g_free(p);
	return c;
}

#define DNT "Disposition-Notification-To: Joao <joao@example.com>\r\n"
#define SAME "https://mail.example.com"

START_TEST(receipt_sent_once)
{
	char *dir = g_dir_make_tmp("pullmail-test-mdn-XXXXXX", NULL);
	char *sm = fake_sendmail(dir);
	char *argv[] = { sm, NULL };
	struct resp r;
	char *up = uri(tok_ok, ""), *ur = uri(tok_ok, "/receipt");
	char *un = uri(tok_ok, "/receipt/no");

	env.sendmail_argv = argv;
	env.receipts_per_hour = 10;
	receipt_message(DNT, "Ana <ana@example.org>");
	request(&r, "GET", up, NULL, NULL, NULL, NULL, NULL);
	char *b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "The sender asked to be told when you "
	    "read this message."));
	ck_assert_ptr_nonnull(strstr(b, "action=\"" ));
	ck_assert_ptr_nonnull(strstr(b, "/receipt\"><button type=\"submit\">"
	    "Send a read receipt</button>"));
	ck_assert_ptr_nonnull(strstr(b, "/receipt/no\"><button type=\"submit\">"
	    "No</button>"));
	g_free(b);
	resp_free(&r);
	/* Spanish and Portuguese ask too. */
	request(&r, "GET", up, "es", NULL, NULL, NULL, NULL);
	b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "Enviar una confirmación de lectura"));
	g_free(b);
	resp_free(&r);
	request(&r, "GET", up, "pt-BR", NULL, NULL, NULL, NULL);
	b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "Enviar confirmação de leitura"));
	g_free(b);
	resp_free(&r);

	/* Never on a GET, never from another site, never without Origin. */
	request(&r, "GET", ur, NULL, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(r.rs.status, 405);
	resp_free(&r);
	request(&r, "POST", ur, NULL, "https://evil.example", NULL, "", "0");
	ck_assert_int_eq(r.rs.status, 403);
	resp_free(&r);
	request(&r, "POST", ur, NULL, NULL, NULL, "", "0");
	ck_assert_int_eq(r.rs.status, 403);
	resp_free(&r);
	ck_assert_int_eq(mails_in(dir), 0);
	ck_assert_int_eq(fake.claims, 0);

	/* The reader's POST: one receipt. */
	request(&r, "POST", ur, NULL, SAME, NULL, "", "0");
	ck_assert_int_eq(r.rs.status, 200);
	check_common(&r, tok_ok);
	b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "Done: a read receipt was sent"));
	ck_assert_ptr_null(strstr(b, "Send a read receipt"));
	g_free(b);
	resp_free(&r);
	ck_assert_int_eq(mails_in(dir), 1);
	char *args = read_file(dir, "args0");
	ck_assert_str_eq(args, "-i\n-f\n<>\n--\njoao@example.com\n");
	g_free(args);
	char *mail = read_file(dir, "mail0");
	ck_assert_ptr_nonnull(strstr(mail, "Content-Type: multipart/report;"));
	ck_assert_ptr_nonnull(strstr(mail,
	    "report-type=disposition-notification"));
	ck_assert_ptr_nonnull(strstr(mail,
	    "Content-Type: message/disposition-notification"));
	ck_assert_ptr_nonnull(strstr(mail, "\nFinal-Recipient: rfc822; "
	    "ana@example.org\n"));
	ck_assert_ptr_nonnull(strstr(mail, "\nOriginal-Message-ID: "
	    "<contract-1@example.com>\n"));
	ck_assert_ptr_nonnull(strstr(mail, "\nDisposition: manual-action/"
	    "MDN-sent-manually; displayed\n"));
	ck_assert_ptr_nonnull(strstr(mail, "\nReporting-UA: "));
	ck_assert_ptr_nonnull(strstr(mail, "\nTo: joao@example.com\n"));
	ck_assert_ptr_nonnull(strstr(mail, "Subject: Read: Contract"));
	g_free(mail);

	/* Again, or "No" after it: told it was decided, nothing sent. */
	request(&r, "POST", ur, NULL, SAME, NULL, "", "0");
	ck_assert_int_eq(r.rs.status, 200);
	b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "already sent or declined"));
	g_free(b);
	resp_free(&r);
	request(&r, "POST", un, NULL, SAME, NULL, "", "0");
	ck_assert_int_eq(r.rs.status, 200);
	resp_free(&r);
	ck_assert_int_eq(mails_in(dir), 1);
	ck_assert_int_eq(fake.receipt, READSTATE_RECEIPT_SENT);

	env.sendmail_argv = NULL;
	g_free(up);
	g_free(ur);
	g_free(un);
	g_free(sm);
	char *cmd = g_strdup_printf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
}
END_TEST

/* "No" records the refusal and sends nothing; a failed send or the rate
 * limit gives the claim back. */
START_TEST(receipt_refused_failed_limited)
{
	char *dir = g_dir_make_tmp("pullmail-test-mdn-XXXXXX", NULL);
	char *sm = fake_sendmail(dir);
	char *argv[] = { sm, NULL };
	struct resp r;
	char *ur = uri(tok_ok, "/receipt"), *un = uri(tok_ok, "/receipt/no");

	env.sendmail_argv = argv;
	env.receipts_per_hour = 10;
	receipt_message(DNT, "ana@example.org");

	fake.rate_exhausted = true;
	request(&r, "POST", ur, NULL, SAME, NULL, "", "0");
	ck_assert_int_eq(r.rs.status, 503);
	char *b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "could not be sent now"));
	g_free(b);
	resp_free(&r);
	ck_assert_int_eq(fake.undos, 1);
	ck_assert_int_eq(fake.receipt, READSTATE_RECEIPT_NONE);
	ck_assert_int_eq(mails_in(dir), 0);
	fake.rate_exhausted = false;

	char *status = g_build_filename(dir, "status", NULL);
	ck_assert(g_file_set_contents(status, "75", -1, NULL));
	request(&r, "POST", ur, NULL, SAME, NULL, "", "0");
	ck_assert_int_eq(r.rs.status, 503);
	resp_free(&r);
	ck_assert_int_eq(fake.undos, 2);
	ck_assert_int_eq(fake.receipt, READSTATE_RECEIPT_NONE);
	g_unlink(status);
	g_free(status);

	request(&r, "POST", un, NULL, SAME, NULL, "", "0");
	ck_assert_int_eq(r.rs.status, 200);
	b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "no read receipt will be sent"));
	g_free(b);
	resp_free(&r);
	ck_assert_int_eq(fake.receipt, READSTATE_RECEIPT_REFUSED);
	int before = mails_in(dir);
	request(&r, "POST", ur, NULL, SAME, NULL, "", "0");
	b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "already sent or declined"));
	g_free(b);
	resp_free(&r);
	ck_assert_int_eq(mails_in(dir), before);

	env.sendmail_argv = NULL;
	g_free(ur);
	g_free(un);
	g_free(sm);
	char *cmd = g_strdup_printf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
}
END_TEST

/* The rules of common/mdn.h: no offer, and a POST refused, when any one
 * fails; no offer when no sendmail is configured. */
START_TEST(receipt_denied)
{
	char *argv[] = { "/bin/false", NULL };
	static const struct { const char *extra, *to; } cases[] = {
		{ "", "ana@example.org" },        /* not asked */
		{ DNT DNT, "ana@example.org" },   /* two fields */
		{ "Disposition-Notification-To: joao@example.com, "
		  "x@example.com\r\n", "ana@example.org" },
		{ "Disposition-Notification-To: other@example.net\r\n",
		  "ana@example.org" },            /* not From */
		{ "Return-Path: <bounce@example.com>\r\n" DNT,
		  "ana@example.org" },            /* not Return-Path */
		{ DNT, "ana@example.org, bob@example.org" },
		{ DNT, "list: ana@example.org;" },
		{ DNT "Disposition-Notification-Options: "
		  "signed-receipt-protocol=required,pkcs7-signature\r\n",
		  "ana@example.org" },
		{ "Disposition-Notification-To: -oQ@example.com\r\n",
		  "ana@example.org" },
	};
	struct resp r;
	char *up = uri(tok_ok, ""), *ur = uri(tok_ok, "/receipt");

	env.sendmail_argv = argv;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		receipt_message(cases[i].extra, cases[i].to);
		request(&r, "GET", up, NULL, NULL, NULL, NULL, NULL);
		char *b = body_str(&r);
		ck_assert_msg(strstr(b, "receipt") == NULL, "case %zu offered",
		    i);
		g_free(b);
		resp_free(&r);
		request(&r, "POST", ur, NULL, SAME, NULL, "", "0");
		ck_assert_msg(r.rs.status == 404, "case %zu: %d", i,
		    r.rs.status);
		resp_free(&r);
	}
	ck_assert_int_eq(fake.claims, 0);
	/* Return-Path that matches: allowed. */
	receipt_message("Return-Path: <JOAO@example.com>\r\n" DNT,
	    "ana@example.org");
	request(&r, "GET", up, NULL, NULL, NULL, NULL, NULL);
	char *b = body_str(&r);
	ck_assert_ptr_nonnull(strstr(b, "Send a read receipt"));
	g_free(b);
	resp_free(&r);
	/* No sendmail: no offer. */
	env.sendmail_argv = NULL;
	request(&r, "GET", up, NULL, NULL, NULL, NULL, NULL);
	b = body_str(&r);
	ck_assert_ptr_null(strstr(b, "Send a read receipt"));
	g_free(b);
	resp_free(&r);
	request(&r, "POST", ur, NULL, SAME, NULL, "", "0");
	ck_assert_int_eq(r.rs.status, 404);
	resp_free(&r);
	g_free(up);
	g_free(ur);
}
END_TEST

/* The cache itself: sealed under the token, least recently used out first,
 * within its budget. */
START_TEST(page_cache_bounds)
{
	struct token *t = token_decode(tok_ok, TOKEN_TEXT_LEN);
	struct token *other = token_decode(tok_unknown, TOKEN_TEXT_LEN);
	struct storage_id ids[8];
	char page[4000];
	size_t n, bytes;

	for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
		snprintf(ids[i].hex, sizeof ids[i].hex, "%032zx", i);
	}
	memset(page, 'p', sizeof page);
	/* Room for about four pages. */
	struct page_cache *pc = page_cache_new(4 * (sizeof page + 200));
	for (size_t i = 0; i < 4; i++)
		page_cache_put(pc, t, &ids[i], "en", NOW, page, sizeof page);
	page_cache_usage(pc, &n, &bytes);
	ck_assert_uint_eq(n, 4);
	/* Reading 0 makes 1 the least recently used. */
	GByteArray *out = g_byte_array_new();
	ck_assert(page_cache_get(pc, t, &ids[0], "en", NOW, out));
	ck_assert_uint_eq(out->len, sizeof page);
	ck_assert(memcmp(out->data, page, sizeof page) == 0);
	page_cache_put(pc, t, &ids[4], "en", NOW, page, sizeof page);
	page_cache_usage(pc, &n, &bytes);
	ck_assert_uint_le(bytes, 4 * (sizeof page + 200));
	ck_assert_uint_eq(n, 4);
	g_byte_array_set_size(out, 0);
	ck_assert(!page_cache_get(pc, t, &ids[1], "en", NOW, out));
	ck_assert(page_cache_get(pc, t, &ids[0], "en", NOW, out));
	/* Another variant or another expiry is not this entry. */
	g_byte_array_set_size(out, 0);
	ck_assert(!page_cache_get(pc, t, &ids[2], "pt-BR", NOW, out));
	ck_assert(!page_cache_get(pc, t, &ids[2], "en", NOW + 1, out));
	ck_assert_uint_eq(out->len, 0);
	/* Another token cannot open it (and the entry is dropped). */
	ck_assert(!page_cache_get(pc, other, &ids[3], "en", NOW, out));
	ck_assert_uint_eq(out->len, 0);
	ck_assert(!page_cache_get(pc, t, &ids[3], "en", NOW, out));
	/* A page over a quarter of the budget is not kept. */
	char *huge = g_malloc(4 * sizeof page);
	memset(huge, 'h', 4 * sizeof page);
	page_cache_put(pc, t, &ids[5], "en", NOW, huge, 4 * sizeof page);
	ck_assert(!page_cache_get(pc, t, &ids[5], "en", NOW, out));
	g_free(huge);
	g_byte_array_free(out, TRUE);
	page_cache_free(pc);
	token_free(t);
	token_free(other);
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("web_routes", "routes", &tc);

	if (token_init() != 0)
		return 1;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, page_ok);
	tcase_add_test(tc, page_portuguese_and_head);
	tcase_add_test(tc, page_spanish);
	tcase_add_test(tc, html_sanitised);
	tcase_add_test(tc, part_download);
	tcase_add_test(tc, eml_identical);
	tcase_add_test(tc, keep_post);
	tcase_add_test(tc, keep_body_read_last);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, many_parts_cut);
	tcase_add_test(tc, scan_structure);
	tcase_add_test(tc, accept_language_hostile);
	tcase_add_test(tc, damaged_logged);
	tcase_add_test(tc, part_size_equals_download);
	tcase_add_test(tc, linkify_matches_the_plain_rules);
	tcase_add_test(tc, page_cache_in_handler);
	tcase_add_test(tc, page_cache_bounds);
	tcase_add_test(tc, reads_recorded);
	tcase_add_test(tc, receipt_sent_once);
	tcase_add_test(tc, receipt_refused_failed_limited);
	tcase_add_test(tc, receipt_denied);
	return check_run(s);
}
