/* The headers every response carries, the page's stylesheet and its hash:
 * pullmail-web-render and pullmail-web (the CGI front, without GLib) write
 * the same bytes from here. */
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include "headers.h"

/* Readable from 320 px up, system fonts, text contrast 6.9:1 or more. The
 * look of the summary (templates/LANG/summary.html): one bordered card for
 * the header, the same blue (#15c) for the button and links; a dark scheme
 * for readers who ask for one. */
const char page_css[] =
    ":root{color-scheme:light dark}"
    "body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1a1a1a;"
    "background:#fff}"
    "main{max-width:50em;margin:0 auto;padding:1em}"
    ".card{border:1px solid #888;padding:1em;margin-bottom:1.4em}"
    "h1{font-size:1.4em;margin:0 0 .6em;overflow-wrap:anywhere}"
    "h2{font-size:1.1em;margin:1.4em 0 .4em}"
    "dl.hdr{display:grid;grid-template-columns:max-content 1fr;gap:.2em .8em;"
    "margin:0}"
    "dl.hdr dt{font-weight:bold}dl.hdr dd{margin:0;overflow-wrap:anywhere}"
    ".text{white-space:pre-wrap;overflow-wrap:anywhere;font-family:"
    "ui-monospace,monospace;font-size:.95em;background:#f4f4f4;"
    "padding:.8em;border-radius:4px}"
    "iframe{width:100%;height:32em;border:1px solid #888;background:#fff}"
    "a{color:#15c}"
    ".exp{margin-top:1em;padding-top:1em;border-top:1px solid #888}"
    ".exp p{margin:0 0 .6em}.exp form{margin:0}"
    ".rcpt form{display:inline-block;margin:0 .6em .4em 0}"
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;"
    "clip:rect(0 0 0 0);white-space:nowrap}"
    "button{font:inherit;padding:10px 20px;border:0;border-radius:6px;"
    "background:#15c;color:#fff;cursor:pointer}"
    "button:focus-visible,a:focus-visible{outline:3px solid #15c;"
    "outline-offset:2px}"
    "ul.att{padding-left:1.2em}ul.att li{margin:.3em 0;overflow-wrap:anywhere}"
    ".meta{color:#555}"
    "img.inl{max-width:100%;height:auto;display:block;margin:.5em 0;"
    "border:1px solid #ccc}"
    "@media(prefers-color-scheme:dark){body{color:#e8e8e8;background:#181818}"
    ".text{background:#262626}a{color:#9cc0ff}.meta{color:#bbb}"
    "button:focus-visible,a:focus-visible{outline-color:#9cc0ff}}";

void
web_style_hash(char out[WEB_STYLE_HASH_MAX])
{
	unsigned char d[crypto_hash_sha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
	    sodium_base64_VARIANT_ORIGINAL)];

	crypto_hash_sha256(d, (const unsigned char *)page_css,
	    strlen(page_css));
	sodium_bin2base64(b64, sizeof b64, d, sizeof d,
	    sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, WEB_STYLE_HASH_MAX, "'sha256-%s'", b64);
}

int
web_page_head(char *buf, size_t len, const char *style_hash,
    size_t body_len)
{
	int n = snprintf(buf, len, "Status: 200 OK\r\n" WEB_COMMON_HEADERS
	    "Content-Security-Policy: " WEB_CSP_PAGE_FMT "\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n\r\n", style_hash, body_len);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

void
web_page_head_id(const char *style_hash, unsigned char out[32])
{
	char head[WEB_PAGE_HEAD_MAX];

	int n = web_page_head(head, sizeof head, style_hash, 0);
	crypto_generichash(out, 32, (const unsigned char *)head,
	    n > 0 ? (size_t)n : 0, NULL, 0);
}
