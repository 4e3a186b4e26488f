/* The only way bytes from a message reach HTML or an HTTP header (cgit's
 * html.c is the model). Each function appends to a GString; len may be -1
 * for a NUL-terminated string. Invalid UTF-8 is replaced by U+FFFD and
 * control characters other than tab and newline are dropped, so the output
 * is always valid UTF-8 whatever came in. In text and attributes (what a
 * reader sees), bidirectional override and isolate marks (U+202A..E,
 * U+2066..9, U+200E/F, U+061C) are replaced by U+FFFD as well. */
#ifndef PULLMAIL_HTML_H
#define PULLMAIL_HTML_H

#include <glib.h>

/* Element content: escapes & < > (and " ' for safety). */
void html_text(GString *out, const char *s, gssize len);
/* Attribute value inside double quotes: & < > " ' escaped. */
void html_attr(GString *out, const char *s, gssize len);
/* A URL path segment or query argument: percent-encodes everything but
 * unreserved characters (RFC 3986). */
void html_url_arg(GString *out, const char *s, gssize len);
/* The inside of a quoted HTTP header parameter (filename="..."): drops CR,
 * LF and other controls, replaces non-ASCII by '_', escapes '"' and '\'. */
void html_header_quoted(GString *out, const char *s, gssize len);
/* Not HTML: a value shown in a text/plain part (the summary). Controls
 * become spaces so that the value stays on its line; invalid UTF-8 and
 * bidirectional marks become U+FFFD, as in html_text. */
void html_plain_text(GString *out, const char *s, gssize len);
/* RFC 5987 ext-value for filename*: UTF-8'' then percent-encoding. */
void html_header_ext_value(GString *out, const char *s, gssize len);

#endif
