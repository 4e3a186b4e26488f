/* The HTML body of a message, parsed with libxml2's HTML parser and rebuilt
 * from an allow-list of elements and attributes: what is not on the list
 * does not come out. */
#ifndef PULLMAIL_WEB_SANITIZE_H
#define PULLMAIL_WEB_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

/* Maps a cid: reference (without "cid:" and angle brackets) to a relative
 * part URL written into out; returns false if the message has no such part. */
typedef bool (*sanitize_cid_fn)(void *ctx, const char *cid, GString *out);

struct sanitize_opts {
	bool remote_images;       /* keep http(s) <img src>; else a placeholder */
	sanitize_cid_fn cid;
	void *cid_ctx;
};

/* Appends the sanitised body (a complete document) to out. html need not be
 * NUL-terminated nor valid UTF-8 (charset is the part's, or NULL). */
void sanitize_html(GString *out, const char *html, size_t len,
    const char *charset, const struct sanitize_opts *opts);

/* Whether a URL is one a link may carry: http, https, mailto, or relative
 * without a scheme. Exposed for tests. */
bool sanitize_url_ok(const char *url);

#endif
