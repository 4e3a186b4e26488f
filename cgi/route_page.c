/* GET /m/TOKEN and /m/TOKEN/: the message page (page.c renders it). A
 * FastCGI responder keeps what it rendered in its page cache (routes.c
 * answers from there first); as CGI, env->page_rendered keeps it on disk
 * for the front (main.c). The keep route renders the same page. */
#include <string.h>
#include <sodium.h>

#include "mdn.h"
#include "pagecache.h"
#include "pagefile.h"
#include "route.h"

void
route_page_view(const struct route_ctx *c, struct page_view *v)
{
	const struct web_env *env = c->env;

	memset(v, 0, sizeof(*v));
	v->m = &c->m;
	v->meta = &c->meta;
	v->expires = sealed_effective_expiry(&c->meta, env->max_retention);
	v->lang = c->lang;
	v->base = "./";
	v->keep_extension = env->keep_extension;
	v->allow_remote_images = env->allow_remote_images;
	v->remote_images = c->images;
	/* The offer depends on the original only, so that the page can be
	 * kept: once decided, a second POST answers that it was. */
	if (env->sendmail_argv != NULL && env->backend->receipt_claim != NULL &&
	    c->m.msg != NULL) {
		struct mdn_target t;
		const char *why;
		if (mdn_check(c->m.msg, &t, &why) == MDN_OFFER)
			v->receipt = PAGE_RECEIPT_OFFER;
		mdn_target_clear(&t);
	}
}

GString *
route_page_answer(struct route_ctx *c, struct page_view *v)
{
	int64_t cap = c->meta.created + c->env->max_retention;

	v->keep_capped = c->env->max_retention > 0 && v->expires >= cap;
	/* The page is about half the message: one allocation, mostly. */
	GString *html = g_string_sized_new(c->plain_len / 2 + 8192);
	page_message(html, v);
	route_set_html(c->env, c->rs, 200, html);
	return html;
}

void
route_page_free(GString *html)
{
	sodium_memzero(html->str, html->len);   /* decrypted content */
	g_string_free(html, TRUE);
}

void
route_page(struct route_ctx *c)
{
	const struct web_env *env = c->env;
	struct page_view v;

	route_page_view(c, &v);
	if (!c->slash) {
		memcpy(c->base, c->token_text, TOKEN_TEXT_LEN);
		c->base[TOKEN_TEXT_LEN] = '/';
		c->base[TOKEN_TEXT_LEN + 1] = '\0';
		v.base = c->base;
	}
	GString *html = route_page_answer(c, &v);
	if (env->page_cache != NULL)
		page_cache_put(env->page_cache, c->tok, &c->id, c->variant,
		    v.expires, html->str, html->len);
	if (!c->rs->head_only && env->page_rendered != NULL) {
		struct pagefile_request pr = { c->slash ? "/" : "", c->query,
		    c->rq->accept_language, NULL };
		env->page_rendered(env, c->tok, &c->id, v.expires, &pr, c->rs);
	}
	route_page_free(html);
}
