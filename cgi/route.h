/* The retriever's routes, inside cgi/: the table that routes.c walks, the
 * state of one request as the handlers see it, and what they share (the
 * response's headers and error pages, response.c; the request's query,
 * origin and body, request.c). web.h is the outside view.
 *
 * A request goes through routes.c in one order: the path is matched against
 * the table (the token decoded in place), the method checked, the route's
 * pre-checks run as its flags ask (a POST's origin and body, the object's
 * state, the page cache), the object opened and, when the route needs it,
 * parsed; then the route's handler writes the answer. A handler never
 * decodes the token, opens the object or frees anything the context holds.
 * doc/ARCHITECTURE.md, "Adding a route", says how to add one. */
#ifndef PULLMAIL_WEB_ROUTE_H
#define PULLMAIL_WEB_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "envelope.h"
#include "page.h"
#include "parts.h"
#include "token.h"
#include "web.h"

/* The policy of a download (a part, the .eml). */
#define WEB_CSP_DOWNLOAD "sandbox; default-src 'none'; img-src 'self'; " \
	"frame-ancestors 'self'"

/* Methods a route answers (struct route's methods). */
#define ROUTE_GET  0x1u
#define ROUTE_HEAD 0x2u
#define ROUTE_POST 0x4u

/* What routes.c does for a route before its handler (struct route's
 * flags). */
#define ROUTE_SLASH   0x01u /* the page's "/TOKEN/" form: links are "./" */
#define ROUTE_IMAGES  0x02u /* honours ?images=1 when the site allows it */
#define ROUTE_CACHED  0x04u /* answered from the page cache when it can be */
#define ROUTE_BODY    0x08u /* a POST from this site: origin, announced
                             * length, object state, then the body, read
                             * last (request.c) */
#define ROUTE_PARSE   0x10u /* the handler gets the parsed message (c->m) */
/* A 200 answer to a GET counts as a fetch of the message (readstate.h):
 * the page, the .eml, a part. HEAD and error answers count nothing. */
#define ROUTE_READ_PAGE 0x20u
#define ROUTE_READ_EML  0x40u
#define ROUTE_READ_PART 0x80u

/* One request on its way through the table. Everything in it is borrowed
 * or owned by routes.c, which wipes and frees it after the handler. */
struct route_ctx {
	const struct web_env *env;
	const struct web_request *rq;
	struct web_response *rs;
	const char *lang;           /* the page's language */
	const char *query;          /* the URI's query, or "" */
	const char *token_text;     /* the token in the URI (never copied
	                             * but into base) */
	struct token *tok;
	struct storage_id id;       /* the object's name, for cache and log */
	unsigned part;              /* N of /part/N */
	bool slash;                 /* ROUTE_SLASH of the matched route */
	bool images;                /* remote images asked for and allowed */
	char variant[32];           /* what a cached page depends on */
	/* "TOKEN/", the base of the page's links when the path has no
	 * trailing slash; wiped after the request. */
	char base[TOKEN_TEXT_LEN + 2];
	/* The opened object: set before the handler runs. */
	struct envelope_meta meta;
	const unsigned char *plain;
	size_t plain_len;
	struct web_message m;       /* parsed when ROUTE_PARSE */
};

typedef void (*route_handler)(struct route_ctx *c);

struct route {
	/* What follows the token: a literal, or a literal ending in '#' for
	 * a part number (decimal, no leading zero, at most 6 digits). */
	const char *pattern;
	unsigned methods;
	unsigned flags;
	route_handler handle;
};

/* The handlers, one file each. */
void route_page(struct route_ctx *c);    /* route_page.c */
void route_html(struct route_ctx *c);    /* route_html.c */
void route_part(struct route_ctx *c);    /* route_part.c */
void route_eml(struct route_ctx *c);     /* route_eml.c */
void route_keep(struct route_ctx *c);    /* route_keep.c */
void route_receipt(struct route_ctx *c); /* route_receipt.c: send */
void route_no_receipt(struct route_ctx *c); /* route_receipt.c: "No" */

/* The message page as route_page and route_keep fill it in (route_page.c):
 * route_page_view sets what the object and configuration say;
 * route_page_answer renders v into the response and returns the page,
 * which the caller wipes and frees with route_page_free. */
void route_page_view(const struct route_ctx *c, struct page_view *v);
GString *route_page_answer(struct route_ctx *c, struct page_view *v);
void route_page_free(GString *html);

/* Responses (response.c). Every answer carries WEB_COMMON_HEADERS and a
 * Content-Security-Policy. */
void route_common_headers(struct web_response *rs, const char *csp);
/* Status, the page's CSP and Content-Type text/html. */
void route_html_headers(const struct web_env *env, struct web_response *rs,
    int status);
/* The same with html as the body. */
void route_set_html(const struct web_env *env, struct web_response *rs,
    int status, const GString *html);
/* The error page for status in lang, replacing whatever was set. */
void route_error(const struct route_ctx *c, int status);
/* The HTTP status for a store status. */
int route_status_for(enum sealed_status st);
/* The error page for an object that cannot be opened, with a log line
 * naming its storage id when the object itself is at fault. */
void route_open_failed(const struct route_ctx *c, enum sealed_status st,
    enum envelope_status detail);

/* The request (request.c). */
/* The length of the request path (the URI up to its query); *query gets
 * the query or "". Read in place: the URI holds the token. */
size_t request_split_uri(const char *uri, const char **query);
/* Whether the query holds the item pair ("images=1"). */
bool request_query_has(const char *query, const char *pair);
/* Whether a POST came from a page of this host (Origin, else Referer). */
bool request_same_origin(const struct web_request *rq);
/* 0, or 413 when the announced body is over WEB_MAX_BODY. */
int request_check_body_length(const struct web_request *rq);
/* Reads and discards the body, bounded and with a deadline: 0, 408, 413. */
int request_drain_body(const struct web_request *rq);

#endif
