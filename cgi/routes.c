/* Routing of one request: /PREFIX/TOKEN[/html|/part/N|/eml|/keep], the
 * security headers on every response, and the error pages. Nothing here
 * writes the token into a header, a log line or an error page. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "log.h"
#include "page.h"
#include "pagecache.h"
#include "pagefile.h"
#include "parts.h"
#include "sanitize.h"
#include "web.h"

#define CSP_HTML "sandbox allow-popups allow-popups-to-escape-sandbox; " \
	"default-src 'none'; img-src 'self' data:%s; style-src 'unsafe-inline'; " \
	"base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
#define CSP_DOWNLOAD "sandbox; default-src 'none'; img-src 'self'; " \
	"frame-ancestors 'self'"

enum route { R_PAGE, R_HTML, R_PART, R_EML, R_KEEP, R_NONE };

void
web_env_init(struct web_env *env)
{
	g_mime_init();
	web_style_hash(env->style_hash);
}

void
web_response_init(struct web_response *rs)
{
	rs->status = 200;
	rs->headers = g_string_new(NULL);
	rs->body = g_byte_array_new();
	rs->head_only = false;
}

void
web_response_init_with(struct web_response *rs, GByteArray *body)
{
	rs->status = 200;
	rs->headers = g_string_new(NULL);
	rs->body = body;
	rs->head_only = false;
}

void
web_response_clear(struct web_response *rs)
{
	if (rs->headers != NULL)
		g_string_free(rs->headers, TRUE);
	if (rs->body != NULL)
		g_byte_array_free(rs->body, TRUE);
	rs->headers = NULL;
	rs->body = NULL;
}

void
web_response_head(const struct web_response *rs, GString *out)
{
	g_string_append_printf(out, "Status: %d %s\r\n", rs->status,
	    page_reason(rs->status));
	g_string_append_len(out, rs->headers->str, (gssize)rs->headers->len);
	g_string_append_printf(out, "Content-Length: %u\r\n\r\n",
	    rs->body->len);
}

static void
common_headers(struct web_response *rs, const char *csp)
{
	g_string_append(rs->headers, WEB_COMMON_HEADERS);
	g_string_append_printf(rs->headers, "Content-Security-Policy: %s\r\n",
	    csp);
}

static void
html_headers(const struct web_env *env, struct web_response *rs, int status)
{
	char csp[512];

	g_snprintf(csp, sizeof(csp), WEB_CSP_PAGE_FMT, env->style_hash);
	rs->status = status;
	common_headers(rs, csp);
	g_string_append(rs->headers, "Content-Type: text/html; charset=utf-8\r\n");
}

static void
set_html(const struct web_env *env, struct web_response *rs, int status,
    GString *html)
{
	html_headers(env, rs, status);
	g_byte_array_append(rs->body, (const guint8 *)html->str, html->len);
}

static void
error_response(const struct web_env *env, struct web_response *rs,
    int status, const char *lang)
{
	GString *html = g_string_new(NULL);

	page_error(html, status, lang);
	g_string_truncate(rs->headers, 0);
	g_byte_array_set_size(rs->body, 0);
	set_html(env, rs, status, html);
	if (status == 405)
		g_string_append(rs->headers, "Allow: GET, HEAD, POST\r\n");
	g_string_free(html, TRUE);
}

/* The length of the request path (the URI up to its query); *query gets
 * the query or "". The URI is read in place: it holds the token, and
 * every copy would be one more to wipe. */
static size_t
split_uri(const char *uri, const char **query)
{
	size_t n = strcspn(uri, "?");

	*query = uri[n] == '?' ? uri + n + 1 : "";
	return n;
}

static bool
query_has(const char *query, const char *pair)
{
	char **items = g_strsplit(query, "&", 16);
	bool found = false;

	for (size_t i = 0; items[i] != NULL; i++)
		if (strcmp(items[i], pair) == 0)
			found = true;
	g_strfreev(items);
	return found;
}

/* Whether the POST came from a page of this host: Origin, or failing that
 * Referer, must name scheme://Host exactly. */
static bool
same_origin(const struct web_request *rq)
{
	const char *src = rq->origin != NULL && rq->origin[0] != '\0' &&
	    strcmp(rq->origin, "null") != 0 ? rq->origin : rq->referer;

	if (rq->host == NULL || rq->host[0] == '\0' || src == NULL)
		return false;
	const char *p = strstr(src, "://");
	if (p == NULL)
		return false;
	if (g_ascii_strncasecmp(src, "http://", 7) != 0 &&
	    g_ascii_strncasecmp(src, "https://", 8) != 0)
		return false;
	p += 3;
	size_t hl = strlen(rq->host);
	if (g_ascii_strncasecmp(p, rq->host, hl) != 0)
		return false;
	if (p[hl] == '\0' || p[hl] == '/')
		return true;
	/* Some servers pass Host without its port (nginx's fastcgi_params
	 * sends $host): then the port must be the one this request came to. */
	if (p[hl] != ':' || strchr(rq->host, ':') != NULL ||
	    rq->server_port == NULL || rq->server_port[0] == '\0')
		return false;
	size_t pl = strlen(rq->server_port);
	return strncmp(p + hl + 1, rq->server_port, pl) == 0 &&
	    (p[hl + 1 + pl] == '\0' || p[hl + 1 + pl] == '/');
}

/* The announced body of a POST: 0, or 413 when it is larger than
 * WEB_MAX_BODY (or Content-Length is not a number). Nothing is read. */
static int
check_body_length(const struct web_request *rq)
{
	if (rq->content_length == NULL || rq->content_length[0] == '\0')
		return 0;
	if (rq->content_length[0] < '0' || rq->content_length[0] > '9')
		return 413;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(rq->content_length, &end, 10);
	return errno != 0 || *end != '\0' || n > WEB_MAX_BODY ? 413 : 0;
}

/* Reads and discards the body of a POST that passed every other check:
 * at most WEB_MAX_BODY bytes, within WEB_BODY_TIMEOUT_MS in all. 0, 413
 * when there is more, or 408 when it did not arrive in time (or could not
 * be read). Read to its end, the FastCGI connection closes at once (see
 * main.c). */
static int
drain_body(const struct web_request *rq)
{
	char buf[1024];
	size_t total = 0;
	gint64 deadline = g_get_monotonic_time() +
	    (gint64)WEB_BODY_TIMEOUT_MS * 1000;

	if (rq->read_body == NULL)
		return 0;
	for (;;) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		if (left <= 0)
			return 408;
		long got = rq->read_body(rq->body_ctx, buf, sizeof(buf),
		    (int)left);
		if (got < 0)
			return 408;
		if (got == 0)
			return 0;
		total += (size_t)got;
		if (total > WEB_MAX_BODY)
			return 413;
	}
}

struct cid_ctx {
	const struct web_message *m;
};

static bool
cid_to_part(void *ctx, const char *cid, GString *out)
{
	struct cid_ctx *c = ctx;
	int i = web_message_find_cid(c->m, cid);

	if (i < 0)
		return false;
	g_string_append_printf(out, "part/%d", i);
	return true;
}

static void
serve_part(const struct web_env *env, struct web_response *rs,
    const struct web_message *m, unsigned idx, bool download)
{
	GMimeObject *o = m->leaves->pdata[idx];
	bool raster = web_part_is_raster(o);
	const char *name = web_part_filename(o);
	char fallback[32];

	if (name == NULL || name[0] == '\0') {
		g_snprintf(fallback, sizeof(fallback), "part-%u", idx);
		name = fallback;
	}
	rs->status = 200;
	common_headers(rs, CSP_DOWNLOAD);
	if (raster) {
		char *type = web_part_mime_type(o);
		g_string_append_printf(rs->headers, "Content-Type: %s\r\n", type);
		g_free(type);
	} else {
		g_string_append(rs->headers,
		    "Content-Type: application/octet-stream\r\n");
	}
	g_string_append(rs->headers, raster && !download ?
	    "Content-Disposition: inline; filename=\"" :
	    "Content-Disposition: attachment; filename=\"");
	html_header_quoted(rs->headers, name, -1);
	g_string_append(rs->headers, "\"; filename*=");
	html_header_ext_value(rs->headers, name, -1);
	g_string_append(rs->headers, "\r\n");
	web_part_append_decoded(o, rs->body);
	(void)env;
}

/* Whether [rest, rest + len) is the string s. */
static bool
is(const char *rest, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(rest, s, len) == 0;
}

/* What follows the token in the path: [rest, rest + len). */
static enum route
parse_rest(const char *rest, size_t len, unsigned *part, bool *slash)
{
	*slash = false;
	if (len == 0)
		return R_PAGE;
	if (is(rest, len, "/")) {
		*slash = true;
		return R_PAGE;
	}
	if (is(rest, len, "/html"))
		return R_HTML;
	if (is(rest, len, "/eml"))
		return R_EML;
	if (is(rest, len, "/keep"))
		return R_KEEP;
	if (len > 6 && memcmp(rest, "/part/", 6) == 0) {
		const char *n = rest + 6;
		size_t nl = len - 6;
		unsigned v = 0;
		if (nl > 6 || (n[0] == '0' && nl > 1))
			return R_NONE;
		for (size_t i = 0; i < nl; i++) {
			if (n[i] < '0' || n[i] > '9')
				return R_NONE;
			v = v * 10 + (unsigned)(n[i] - '0');
		}
		*part = v;
		return R_PART;
	}
	return R_NONE;
}

static int
status_for(enum sealed_status st)
{
	switch (st) {
	case SEALED_OK: return 200;
	case SEALED_NOT_FOUND: return 404;
	case SEALED_EXPIRED:
	case SEALED_REVOKED: return 410;
	default: return 500;
	}
}

/* The error page for a message that cannot be opened, with a log line
 * naming its storage id when the object itself is at fault. */
static void
open_failed(const struct web_env *env, struct web_response *rs,
    const struct storage_id *id, enum sealed_status st,
    enum envelope_status detail, const char *lang)
{
	int code = status_for(st);
	if (code == 500) {
		log_message(LOG_ERR, NULL, id,
		    "cannot open the stored message: %s%s%s",
		    sealed_strerror(st), st == SEALED_DAMAGED ? ": " : "",
		    st == SEALED_DAMAGED ? envelope_strerror(detail) : "");
	}
	error_response(env, rs, code, lang);
}

/* Answers GET of the page from the responder's cache when it holds it;
 * false (nothing answered) otherwise, or when the object cannot be opened
 * (the full path answers that). */
static bool
page_from_cache(const struct web_env *env, struct web_response *rs,
    const struct web_request *rq, const struct token *tok,
    const struct storage_id *id, const char *variant)
{
	struct envelope_meta meta;

	/* A first view reads the header once, in the full path. */
	if (!page_cache_holds(env->page_cache, id, variant) ||
	    env->backend->state(env->backend->ctx, tok, rq->now, &meta) !=
	    SEALED_OK)
		return false;
	if (!page_cache_get(env->page_cache, tok, id, variant,
	    sealed_effective_expiry(&meta, env->max_retention), rs->body))
		return false;
	html_headers(env, rs, 200);
	return true;
}

void
web_handle(const struct web_env *env, const struct web_request *rq,
    struct web_response *rs)
{
	const char *lang = page_language(rq->accept_language,
	    env->default_language);
	const char *method = rq->method != NULL ? rq->method : "GET";
	const char *query;
	const char *path = rq->uri != NULL ? rq->uri : "";
	size_t path_len = split_uri(path, &query);
	size_t pl = strlen(env->path_prefix);
	/* "TOKEN/", the base of the page's links when the path has no
	 * trailing slash; wiped at the end. */
	char base[TOKEN_TEXT_LEN + 2] = "";
	struct token *tok = NULL;
	const unsigned char *plain = NULL;
	size_t plain_len = 0;
	struct web_message m = { 0 };
	struct envelope_meta meta;
	enum envelope_status detail = ENVELOPE_OK;
	unsigned part = 0;
	bool slash = false;
	enum route r = R_NONE;

	rs->head_only = strcmp(method, "HEAD") == 0;
	if (path_len >= pl + TOKEN_TEXT_LEN &&
	    strncmp(path, env->path_prefix, pl) == 0) {
		if (rq->token_slot == NULL)
			tok = token_decode(path + pl, TOKEN_TEXT_LEN);
		else if (token_decode_into(path + pl, TOKEN_TEXT_LEN,
		    rq->token_slot) == 0)
			tok = rq->token_slot;
		r = parse_rest(path + pl + TOKEN_TEXT_LEN,
		    path_len - pl - TOKEN_TEXT_LEN, &part, &slash);
	}
	if (tok == NULL || r == R_NONE) {
		error_response(env, rs, 404, lang);
		goto out;
	}
	if (r == R_KEEP ? strcmp(method, "POST") != 0 :
	    strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		error_response(env, rs, 405, lang);
		goto out;
	}
	/* The object's name, for the cache and the log (never the token). */
	struct storage_id id;
	token_storage_id(tok, &id);
	/* A body is read only for a request that would be granted: from this
	 * site, of a size that fits, for an object that can be kept. */
	if (r == R_KEEP) {
		int code = !same_origin(rq) ? 403 : check_body_length(rq);
		if (code != 0) {
			error_response(env, rs, code, lang);
			goto out;
		}
		enum sealed_status kst = env->backend->state(env->backend->ctx,
		    tok, rq->now, &meta);
		if (kst != SEALED_OK) {
			open_failed(env, rs, &id, kst, ENVELOPE_OK, lang);
			goto out;
		}
		if ((code = drain_body(rq)) != 0) {
			error_response(env, rs, code, lang);
			goto out;
		}
	}
	/* Downloads do not show the message: no images to allow. */
	bool images = r != R_EML && r != R_PART && env->allow_remote_images &&
	    query_has(query, "images=1");
	/* What the page depends on besides the object and its expiry. */
	char variant[32] = "";
	if (r == R_PAGE && env->page_cache != NULL) {
		g_snprintf(variant, sizeof variant, "%s%s%s", lang,
		    slash ? "/" : "", images ? "+images" : "");
		if (page_from_cache(env, rs, rq, tok, &id, variant))
			goto out;
	}

	enum sealed_status st = env->backend->open(env->backend->ctx, tok,
	    rq->now, &meta, &plain, &plain_len, &detail);
	if (st != SEALED_OK) {
		open_failed(env, rs, &id, st, detail, lang);
		goto out;
	}

	if (r == R_EML) {
		rs->status = 200;
		common_headers(rs, CSP_DOWNLOAD);
		g_string_append(rs->headers, "Content-Type: message/rfc822\r\n"
		    "Content-Disposition: attachment; filename=\"message.eml\"\r\n");
		g_byte_array_append(rs->body, plain, plain_len);
		goto out;
	}
	if (web_message_parse(plain, plain_len, &m) != 0) {
		log_message(LOG_ERR, NULL, &id,
		    "the stored message is not a MIME message");
		error_response(env, rs, 500, lang);
		goto out;
	}
	if (r == R_PART) {
		if (part >= m.leaves->len) {
			error_response(env, rs, 404, lang);
			goto out;
		}
		serve_part(env, rs, &m, part, query_has(query, "download=1"));
		goto out;
	}
	if (r == R_HTML) {
		if (m.html_idx < 0) {
			error_response(env, rs, 404, lang);
			goto out;
		}
		char *html = web_part_text(m.leaves->pdata[m.html_idx]);
		struct cid_ctx cc = { &m };
		struct sanitize_opts so = { images, cid_to_part, &cc };
		GString *out = g_string_new(NULL);
		char csp[512];
		size_t hl = html != NULL ? strlen(html) : 0;
		sanitize_html(out, html != NULL ? html : "", hl, "UTF-8", &so);
		if (html != NULL)
			sodium_memzero(html, hl);
		g_free(html);
		rs->status = 200;
		g_snprintf(csp, sizeof(csp), CSP_HTML, images ? " https:" : "");
		common_headers(rs, csp);
		g_string_append(rs->headers,
		    "Content-Type: text/html; charset=utf-8\r\n");
		g_byte_array_append(rs->body, (const guint8 *)out->str, out->len);
		sodium_memzero(out->str, out->len);
		g_string_free(out, TRUE);
		goto out;
	}

	struct page_view v = { 0 };
	int64_t cap = meta.created + env->max_retention;
	v.m = &m;
	v.meta = &meta;
	v.expires = sealed_effective_expiry(&meta, env->max_retention);
	v.lang = lang;
	v.base = "./";
	v.keep_extension = env->keep_extension;
	v.allow_remote_images = env->allow_remote_images;
	v.remote_images = images;
	if (!slash && r != R_KEEP) {
		memcpy(base, path + pl, TOKEN_TEXT_LEN);
		base[TOKEN_TEXT_LEN] = '/';
		base[TOKEN_TEXT_LEN + 1] = '\0';
		v.base = base;
	}
	if (r == R_KEEP) {
		int64_t set = 0;
		int64_t from = v.expires > rq->now ? v.expires : rq->now;
		st = env->backend->keep(env->backend->ctx, &id,
		    from + env->keep_extension, &set);
		if (st != SEALED_OK) {
			log_message(LOG_ERR, NULL, &id, "keep failed: %s",
			    sealed_strerror(st));
			error_response(env, rs, status_for(st) == 200 ? 500 :
			    status_for(st), lang);
			goto out;
		}
		log_message(LOG_INFO, NULL, &id, "kept until %lld",
		    (long long)set);
		v.expires = set;
		v.kept = true;
	}
	v.keep_capped = env->max_retention > 0 && v.expires >= cap;
	/* The page is about half the message: one allocation, mostly. */
	GString *html = g_string_sized_new(plain_len / 2 + 8192);
	page_message(html, &v);
	set_html(env, rs, 200, html);
	if (r == R_PAGE && env->page_cache != NULL)
		page_cache_put(env->page_cache, tok, &id, variant, v.expires,
		    html->str, html->len);
	if (r == R_PAGE && !rs->head_only && env->page_rendered != NULL) {
		struct pagefile_request pr = { slash ? "/" : "", query,
		    rq->accept_language, NULL };
		env->page_rendered(env, tok, &id, v.expires, &pr, rs);
	}
	sodium_memzero(html->str, html->len);   /* decrypted content */
	g_string_free(html, TRUE);
out:
	if (m.msg != NULL)
		web_message_clear(&m);
	if (plain != NULL)
		env->backend->plain_free(env->backend->ctx, plain, plain_len);
	if (rq->token_slot != NULL)
		sodium_memzero(rq->token_slot, sizeof(*rq->token_slot));
	else if (tok != NULL)
		token_free(tok);
	sodium_memzero(base, sizeof base);
}
