/* The retriever's responses: the struct web_response life cycle, the
 * headers every answer carries, and the error pages. Nothing here writes
 * the token into a header, a log line or an error page. */
#include <string.h>

#include "log.h"
#include "page.h"
#include "route.h"
#include "web.h"

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

void
route_common_headers(struct web_response *rs, const char *csp)
{
	g_string_append(rs->headers, WEB_COMMON_HEADERS);
	g_string_append_printf(rs->headers, "Content-Security-Policy: %s\r\n",
	    csp);
}

void
route_html_headers(const struct web_env *env, struct web_response *rs,
    int status)
{
	char csp[512];

	g_snprintf(csp, sizeof(csp), WEB_CSP_PAGE_FMT, env->style_hash);
	rs->status = status;
	route_common_headers(rs, csp);
	g_string_append(rs->headers, "Content-Type: text/html; charset=utf-8\r\n");
}

void
route_set_html(const struct web_env *env, struct web_response *rs,
    int status, const GString *html)
{
	route_html_headers(env, rs, status);
	g_byte_array_append(rs->body, (const guint8 *)html->str, html->len);
}

void
route_error(const struct route_ctx *c, int status)
{
	GString *html = g_string_new(NULL);

	page_error(html, status, c->lang);
	g_string_truncate(c->rs->headers, 0);
	g_byte_array_set_size(c->rs->body, 0);
	route_set_html(c->env, c->rs, status, html);
	if (status == 405)
		g_string_append(c->rs->headers, "Allow: GET, HEAD, POST\r\n");
	g_string_free(html, TRUE);
}

int
route_status_for(enum sealed_status st)
{
	switch (st) {
	case SEALED_OK: return 200;
	case SEALED_NOT_FOUND: return 404;
	case SEALED_EXPIRED:
	case SEALED_REVOKED: return 410;
	default: return 500;
	}
}

void
route_open_failed(const struct route_ctx *c, enum sealed_status st,
    enum envelope_status detail)
{
	int code = route_status_for(st);

	if (code == 500) {
		log_message(LOG_ERR, NULL, &c->id,
		    "cannot open the stored message: %s%s%s",
		    sealed_strerror(st), st == SEALED_DAMAGED ? ": " : "",
		    st == SEALED_DAMAGED ? envelope_strerror(detail) : "");
	}
	route_error(c, code);
}
