/* Escaping for HTML and HTTP headers; see html.h. Hand-written because the
 * rules are short and must be readable in one place; GLib supplies the
 * UTF-8 validation. */
#include <string.h>
#include "html.h"

#define REPLACEMENT_CHAR "\xEF\xBF\xBD"

/* Calls emit for each valid UTF-8 character of s (as a byte run) after
 * replacing invalid sequences with U+FFFD and dropping controls. */
typedef void (*emit_fn)(GString *out, const char *ch, size_t n);

static int
is_bidi_control(gunichar u)
{
	return (u >= 0x202a && u <= 0x202e) || (u >= 0x2066 && u <= 0x2069) ||
	    u == 0x200e || u == 0x200f || u == 0x061c;
}

static void
walk_utf8(GString *out, const char *s, gssize len, emit_fn emit,
    int replace_bidi)
{
	size_t n = len < 0 ? strlen(s) : (size_t)len;
	const char *p = s, *end = s + n;

	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
				p++;
				continue;
			}
			emit(out, p, 1);
			p++;
			continue;
		}
		gunichar u = g_utf8_get_char_validated(p, end - p);
		if (u == (gunichar)-1 || u == (gunichar)-2) {
			emit(out, REPLACEMENT_CHAR, 3);
			p++;
			continue;
		}
		size_t clen = g_utf8_skip[c];
		/* C1 controls (U+0080..U+009F) are dropped like C0 ones. */
		if (u >= 0x80 && u < 0xa0) {
			p += clen;
			continue;
		}
		/* Shown on a page, bidirectional overrides and isolates can
		 * make a name read backwards ("gpj.exe" as "exe.jpg"): they
		 * are replaced, so the reader sees that something was there.
		 * A file name in a header keeps them: it names the file. */
		if (replace_bidi && is_bidi_control(u)) {
			emit(out, REPLACEMENT_CHAR, 3);
			p += clen;
			continue;
		}
		emit(out, p, clen);
		p += clen;
	}
}

static void
emit_text(GString *out, const char *ch, size_t n)
{
	if (n == 1) {
		switch (*ch) {
		case '&': g_string_append(out, "&amp;"); return;
		case '<': g_string_append(out, "&lt;"); return;
		case '>': g_string_append(out, "&gt;"); return;
		case '"': g_string_append(out, "&quot;"); return;
		case '\'': g_string_append(out, "&#39;"); return;
		}
	}
	g_string_append_len(out, ch, n);
}

void
html_text(GString *out, const char *s, gssize len)
{
	walk_utf8(out, s, len, emit_text, 1);
}

void
html_attr(GString *out, const char *s, gssize len)
{
	/* Same set as text: quotes are already escaped there. */
	walk_utf8(out, s, len, emit_text, 1);
}

static int
is_unreserved(unsigned char c)
{
	return g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

static void
percent_encode(GString *out, const char *s, gssize len)
{
	size_t n = len < 0 ? strlen(s) : (size_t)len;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_unreserved(c))
			g_string_append_c(out, (char)c);
		else
			g_string_append_printf(out, "%%%02X", c);
	}
}

void
html_url_arg(GString *out, const char *s, gssize len)
{
	percent_encode(out, s, len);
}

static void
emit_header_quoted(GString *out, const char *ch, size_t n)
{
	if (n > 1) {
		g_string_append_c(out, '_');
		return;
	}
	if (*ch == '"' || *ch == '\\')
		g_string_append_c(out, '\\');
	if (*ch == '\t' || *ch == '\n')
		return;
	g_string_append_c(out, *ch);
}

void
html_header_quoted(GString *out, const char *s, gssize len)
{
	walk_utf8(out, s, len, emit_header_quoted, 0);
}

static void
emit_ext_value(GString *out, const char *ch, size_t n)
{
	if (*ch == '\t' || *ch == '\n')
		return;
	percent_encode(out, ch, (gssize)n);
}

void
html_header_ext_value(GString *out, const char *s, gssize len)
{
	g_string_append(out, "UTF-8''");
	walk_utf8(out, s, len, emit_ext_value, 0);
}
