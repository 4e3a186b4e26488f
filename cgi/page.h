/* HTML pages of the retriever: the message page and the error pages, in
 * any language of the catalogue (lang.h). Everything from the message goes
 * through html.h. */
#ifndef PULLMAIL_WEB_PAGE_H
#define PULLMAIL_WEB_PAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "envelope.h"
#include "parts.h"

#include "headers.h"       /* page_css */

/* The tag of the catalogue (lang.h) that an Accept-Language value asks
 * for most (q-values honoured; a regional tag takes its language's
 * catalogue); fallback's when nothing matches, LANG_DEFAULT's when fallback
 * names none. */
const char *page_language(const char *accept_language, const char *fallback);

/* The short reason phrase for an HTTP status. */
const char *page_reason(int status);

/* A small error page for status in lang. */
void page_error(GString *out, int status, const char *lang);

/* What the page says about a read receipt (RFC 8098, common/mdn.h). */
enum page_receipt {
	PAGE_RECEIPT_NONE = 0,  /* nothing: not asked for, denied, or off */
	PAGE_RECEIPT_OFFER,     /* the question and its two buttons */
	PAGE_RECEIPT_SENT,      /* answers to the POSTs */
	PAGE_RECEIPT_REFUSED,
	PAGE_RECEIPT_DECIDED,   /* sent or declined before */
	PAGE_RECEIPT_FAILED,    /* could not be sent now */
};

struct page_view {
	const struct web_message *m;
	const struct envelope_meta *meta;
	int64_t expires;            /* effective expiry */
	const char *lang;
	const char *base;           /* relative prefix for this message's URLs */
	int64_t keep_extension;
	bool allow_remote_images;
	bool remote_images;         /* the reader opted in for this view */
	bool kept;                  /* answer to POST keep */
	bool keep_capped;           /* the expiry is at created + MaxRetention */
	enum page_receipt receipt;  /* the read receipt's offer or answer */
};

void page_message(GString *out, const struct page_view *v);

/* Text with http, https and mailto URLs made links (escaped). */
void page_linkify(GString *out, const char *text);

/* Text escaped with bidirectional controls replaced by U+FFFD, so a name
 * cannot display reversed ("gpj.exe"). */
void page_text(GString *out, const char *s);

#endif
