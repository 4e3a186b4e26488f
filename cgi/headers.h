/* Response headers shared by pullmail-web-render and the CGI front. Plain
 * C and libsodium. */
#ifndef PULLMAIL_HEADERS_H
#define PULLMAIL_HEADERS_H

#include <stddef.h>

/* On every response. */
#define WEB_COMMON_HEADERS "Cache-Control: no-store\r\n" \
	"Referrer-Policy: no-referrer\r\n" \
	"X-Content-Type-Options: nosniff\r\n" \
	"X-Robots-Tag: noindex\r\n" \
	"X-Frame-Options: SAMEORIGIN\r\n"
/* The page's policy; %s is the stylesheet's hash. */
#define WEB_CSP_PAGE_FMT "default-src 'none'; style-src %s; img-src 'self'; " \
	"frame-src 'self'; form-action 'self'; base-uri 'none'; " \
	"frame-ancestors 'none'"

/* The stylesheet, inline in every page under a CSP hash. */
extern const char page_css[];

/* "'sha256-...'" of page_css, for style-src. */
#define WEB_STYLE_HASH_MAX 64
void web_style_hash(char out[WEB_STYLE_HASH_MAX]);

/* The whole CGI head of a page answered in full (200, body_len bytes),
 * exactly as pullmail-web-render writes it. Its length, or -1 when buf is
 * too small. */
#define WEB_PAGE_HEAD_MAX 1024
int web_page_head(char *buf, size_t len, const char *style_hash,
    size_t body_len);

/* A digest of the page head this build writes (for any body length), so
 * that a page kept by one build is not served with another's head. */
void web_page_head_id(const char *style_hash, unsigned char out[32]);

#endif
