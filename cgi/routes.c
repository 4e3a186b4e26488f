/* Routing of one request: /PREFIX/TOKEN[/|/html|/part/N|/eml|/keep]. The
 * table below names each route's methods, the pre-checks it needs and its
 * handler (route_*.c, one file each); everything a route shares with the
 * others (the token, the method, a POST's origin and body, the object's
 * state, the page cache, opening and parsing the object, and wiping it all
 * afterwards) happens here, in that order, once. route.h describes the
 * contract between the two. Nothing here writes the token into a header, a
 * log line or an error page. */
#include <string.h>
#include <sodium.h>

#include "log.h"
#include "page.h"
#include "pagecache.h"
#include "route.h"
#include "web.h"

static const struct route routes[] = {
	{ "", ROUTE_GET | ROUTE_HEAD,
	    ROUTE_IMAGES | ROUTE_CACHED | ROUTE_PARSE | ROUTE_READ_PAGE,
	    route_page },
	{ "/", ROUTE_GET | ROUTE_HEAD, ROUTE_SLASH | ROUTE_IMAGES |
	    ROUTE_CACHED | ROUTE_PARSE | ROUTE_READ_PAGE, route_page },
	{ "/html", ROUTE_GET | ROUTE_HEAD, ROUTE_IMAGES | ROUTE_PARSE,
	    route_html },
	{ "/part/#", ROUTE_GET | ROUTE_HEAD, ROUTE_PARSE | ROUTE_READ_PART,
	    route_part },
	{ "/eml", ROUTE_GET | ROUTE_HEAD, ROUTE_READ_EML, route_eml },
	{ "/keep", ROUTE_POST, ROUTE_BODY | ROUTE_IMAGES | ROUTE_PARSE,
	    route_keep },
	{ "/receipt", ROUTE_POST, ROUTE_BODY | ROUTE_PARSE, route_receipt },
	{ "/receipt/no", ROUTE_POST, ROUTE_BODY | ROUTE_PARSE,
	    route_no_receipt },
};

/* A part number as /part/N spells it: decimal, no leading zero, at most
 * six digits. */
static bool
parse_part(const char *n, size_t nl, unsigned *part)
{
	unsigned v = 0;

	if (nl == 0 || nl > 6 || (n[0] == '0' && nl > 1))
		return false;
	for (size_t i = 0; i < nl; i++) {
		if (n[i] < '0' || n[i] > '9')
			return false;
		v = v * 10 + (unsigned)(n[i] - '0');
	}
	*part = v;
	return true;
}

/* Whether [rest, rest + len), what follows the token, is pattern. */
static bool
route_matches(const char *pattern, const char *rest, size_t len,
    unsigned *part)
{
	size_t lit = strcspn(pattern, "#");

	if (pattern[lit] == '\0')
		return len == lit && memcmp(rest, pattern, len) == 0;
	return len > lit && memcmp(rest, pattern, lit) == 0 &&
	    parse_part(rest + lit, len - lit, part);
}

/* The route the path names, with c->tok decoded (NULL: not a valid
 * token) and c->query set; NULL when no route matches. */
static const struct route *
route_find(struct route_ctx *c)
{
	const char *path = c->rq->uri != NULL ? c->rq->uri : "";
	size_t path_len = request_split_uri(path, &c->query);
	size_t pl = strlen(c->env->path_prefix);

	if (path_len < pl + TOKEN_TEXT_LEN ||
	    strncmp(path, c->env->path_prefix, pl) != 0)
		return NULL;
	c->token_text = path + pl;
	if (c->rq->token_slot == NULL)
		c->tok = token_decode(c->token_text, TOKEN_TEXT_LEN);
	else if (token_decode_into(c->token_text, TOKEN_TEXT_LEN,
	    c->rq->token_slot) == 0)
		c->tok = c->rq->token_slot;

	const char *rest = c->token_text + TOKEN_TEXT_LEN;
	size_t len = path_len - pl - TOKEN_TEXT_LEN;
	for (size_t i = 0; i < G_N_ELEMENTS(routes); i++) {
		if (route_matches(routes[i].pattern, rest, len, &c->part)) {
			c->slash = (routes[i].flags & ROUTE_SLASH) != 0;
			return &routes[i];
		}
	}
	return NULL;
}

static unsigned
method_bit(const char *method)
{
	if (strcmp(method, "GET") == 0)
		return ROUTE_GET;
	if (strcmp(method, "HEAD") == 0)
		return ROUTE_HEAD;
	if (strcmp(method, "POST") == 0)
		return ROUTE_POST;
	return 0;
}

/* ROUTE_BODY: a body is read only for a request that would be granted:
 * from this site, of a size that fits, for an object that can be kept.
 * false when the answer (an error) is written. */
static bool
admit_post(struct route_ctx *c)
{
	const struct web_backend *b = c->env->backend;
	int code = !request_same_origin(c->rq) ? 403 :
	    request_check_body_length(c->rq);

	if (code != 0) {
		route_error(c, code);
		return false;
	}
	enum sealed_status st = b->state(b->ctx, c->tok, c->rq->now, &c->meta);
	if (st != SEALED_OK) {
		route_open_failed(c, st, ENVELOPE_OK);
		return false;
	}
	if ((code = request_drain_body(c->rq)) != 0) {
		route_error(c, code);
		return false;
	}
	return true;
}

/* ROUTE_CACHED: answers from the responder's page cache when it holds the
 * page; false (nothing answered) otherwise, or when the object cannot be
 * opened (the full path answers that). A first view reads the object's
 * header once, in the full path. */
static bool
answered_from_cache(struct route_ctx *c)
{
	const struct web_env *env = c->env;
	struct envelope_meta meta;

	if (env->page_cache == NULL)
		return false;
	/* What the page depends on besides the object and its expiry. */
	g_snprintf(c->variant, sizeof c->variant, "%s%s%s", c->lang,
	    c->slash ? "/" : "", c->images ? "+images" : "");
	if (!page_cache_holds(env->page_cache, &c->id, c->variant) ||
	    env->backend->state(env->backend->ctx, c->tok, c->rq->now,
	    &meta) != SEALED_OK)
		return false;
	if (!page_cache_get(env->page_cache, c->tok, &c->id, c->variant,
	    sealed_effective_expiry(&meta, env->max_retention), c->rs->body))
		return false;
	route_html_headers(env, c->rs, 200);
	return true;
}

/* Decrypts the object and, for ROUTE_PARSE, parses it; false when the
 * answer (an error) is written. */
static bool
open_object(struct route_ctx *c, const struct route *r)
{
	const struct web_backend *b = c->env->backend;
	enum envelope_status detail = ENVELOPE_OK;
	enum sealed_status st = b->open(b->ctx, c->tok, c->rq->now, &c->meta,
	    &c->plain, &c->plain_len, &detail);

	if (st != SEALED_OK) {
		route_open_failed(c, st, detail);
		return false;
	}
	if ((r->flags & ROUTE_PARSE) != 0 &&
	    web_message_parse(c->plain, c->plain_len, &c->m) != 0) {
		log_message(LOG_ERR, NULL, &c->id,
		    "the stored message is not a MIME message");
		route_error(c, 500);
		return false;
	}
	return true;
}

/* Counts a fetch the route answered in full (ROUTE_READ_*): a GET with
 * status 200, whether from the page cache or rendered. */
static void
record_read(struct route_ctx *c, const struct route *r)
{
	const struct web_backend *b = c->env->backend;
	enum readstate_route what;

	if (b->record == NULL || c->rs->status != 200 || c->rs->head_only)
		return;
	if ((r->flags & ROUTE_READ_PAGE) != 0)
		what = READSTATE_PAGE;
	else if ((r->flags & ROUTE_READ_EML) != 0)
		what = READSTATE_EML;
	else if ((r->flags & ROUTE_READ_PART) != 0)
		what = READSTATE_PART;
	else
		return;
	b->record(b->ctx, &c->id, what, c->rq->now);
}

static void
route_run(struct route_ctx *c, const struct route *r)
{
	/* The object's name, for the cache and the log (never the token). */
	token_storage_id(c->tok, &c->id);
	if ((r->flags & ROUTE_BODY) != 0 && !admit_post(c))
		return;
	/* Downloads do not show the message: no images to allow. */
	c->images = (r->flags & ROUTE_IMAGES) != 0 &&
	    c->env->allow_remote_images &&
	    request_query_has(c->query, "images=1");
	if ((r->flags & ROUTE_CACHED) != 0 && answered_from_cache(c)) {
		record_read(c, r);
		return;
	}
	if (!open_object(c, r))
		return;
	r->handle(c);
	record_read(c, r);
}

/* Frees and wipes what the request held: the parsed message, the
 * decrypted bytes, the token (the caller's slot too) and the link base. */
static void
route_ctx_clear(struct route_ctx *c)
{
	const struct web_backend *b = c->env->backend;

	if (c->m.msg != NULL)
		web_message_clear(&c->m);
	if (c->plain != NULL)
		b->plain_free(b->ctx, c->plain, c->plain_len);
	if (c->rq->token_slot != NULL)
		sodium_memzero(c->rq->token_slot, sizeof(*c->rq->token_slot));
	else if (c->tok != NULL)
		token_free(c->tok);
	sodium_memzero(c->base, sizeof c->base);
}

void
web_handle(const struct web_env *env, const struct web_request *rq,
    struct web_response *rs)
{
	struct route_ctx c = { .env = env, .rq = rq, .rs = rs };
	const char *method = rq->method != NULL ? rq->method : "GET";
	const struct route *r;

	c.lang = page_language(rq->accept_language, env->default_language);
	rs->head_only = strcmp(method, "HEAD") == 0;
	r = route_find(&c);
	if (c.tok == NULL || r == NULL)
		route_error(&c, 404);
	else if ((r->methods & method_bit(method)) == 0)
		route_error(&c, 405);
	else
		route_run(&c, r);
	route_ctx_clear(&c);
}
