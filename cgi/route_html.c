/* GET /m/TOKEN/html: the message's HTML body, sanitised (sanitize.c), for
 * the page's sandboxed iframe, under a CSP sandbox of its own; cid:
 * references become part URLs. */
#include <string.h>
#include <sodium.h>

#include "route.h"
#include "sanitize.h"

#define CSP_HTML "sandbox allow-popups allow-popups-to-escape-sandbox; " \
	"default-src 'none'; img-src 'self' data:%s; style-src 'unsafe-inline'; " \
	"base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

static bool
cid_to_part(void *ctx, const char *cid, GString *out)
{
	const struct web_message *m = ctx;
	int i = web_message_find_cid(m, cid);

	if (i < 0)
		return false;
	g_string_append_printf(out, "part/%d", i);
	return true;
}

void
route_html(struct route_ctx *c)
{
	struct web_response *rs = c->rs;

	if (c->m.html_idx < 0) {
		route_error(c, 404);
		return;
	}
	char *html = web_part_text(c->m.leaves->pdata[c->m.html_idx]);
	struct sanitize_opts so = { c->images, cid_to_part, &c->m };
	GString *out = g_string_new(NULL);
	char csp[512];
	size_t hl = html != NULL ? strlen(html) : 0;

	sanitize_html(out, html != NULL ? html : "", hl, "UTF-8", &so);
	if (html != NULL)
		sodium_memzero(html, hl);
	g_free(html);
	rs->status = 200;
	g_snprintf(csp, sizeof(csp), CSP_HTML, c->images ? " https:" : "");
	route_common_headers(rs, csp);
	g_string_append(rs->headers,
	    "Content-Type: text/html; charset=utf-8\r\n");
	g_byte_array_append(rs->body, (const guint8 *)out->str, out->len);
	sodium_memzero(out->str, out->len);
	g_string_free(out, TRUE);
}
