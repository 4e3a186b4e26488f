/* Escaping for HTML and HTTP headers; see html.h. Hand-written because the
 * rules are short and must be readable in one place; GLib supplies the
 * UTF-8 validation. */
#include <string.h>
#include "html.h"

#define REPLACEMENT_CHAR "\xEF\xBF\xBD"

/* Calls emit for each valid UTF-8 character of s (as a byte run) after
 * replacing invalid sequences with U+FFFD and dropping controls; the header
 * escapes use it. A file name in a header keeps bidirectional marks: it
 * names the file. */
typedef void (*emit_fn)(GString *out, const char *ch, size_t n);

static int
is_bidi_control(gunichar u)
{
	return (u >= 0x202a && u <= 0x202e) || (u >= 0x2066 && u <= 0x2069) ||
	    u == 0x200e || u == 0x200f || u == 0x061c;
}

static void
walk_utf8(GString *out, const char *s, gssize len, emit_fn emit)
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
		emit(out, p, clen);
		p += clen;
	}
}

/* What text and attributes do with each byte: copy it, drop it (controls
 * other than tab and newline), replace it by an entity, or look at the
 * UTF-8 sequence it starts (0x80 and above). */
enum { BYTE_COPY, BYTE_DROP, BYTE_ENTITY, BYTE_UTF8 };

static const unsigned char text_class[256] = {
	[0x00 ... 0x08] = BYTE_DROP, [0x0b ... 0x1f] = BYTE_DROP, /* \t \n kept */
	['&'] = BYTE_ENTITY, ['<'] = BYTE_ENTITY, ['>'] = BYTE_ENTITY,
	['"'] = BYTE_ENTITY, ['\''] = BYTE_ENTITY, [0x7f] = BYTE_DROP,
	[0x80 ... 0xff] = BYTE_UTF8,
};

static const char *
entity(unsigned char c)
{
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	default: return "&#39;";
	}
}

/* Text and attributes: the rules of walk_utf8, plus entities for & < > " '
 * and U+FFFD for bidirectional overrides and isolates (shown on a page they
 * can make a name read backwards, "gpj.exe" as "exe.jpg"; replaced, the
 * reader sees that something was there). Bytes that pass unchanged are
 * appended a run at a time: a message body is mostly such bytes, and
 * appending them one by one dominated the cost of the message page. */
static void
escape_text(GString *out, const char *s, gssize len)
{
	size_t n = len < 0 ? strlen(s) : (size_t)len;
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	const unsigned char *run = p;

	for (;;) {
		while (p < end && text_class[*p] == BYTE_COPY)
			p++;
		if (p == end)
			break;
		unsigned char c = *p;
		if (text_class[c] != BYTE_UTF8) {
			g_string_append_len(out, (const char *)run, p - run);
			if (text_class[c] == BYTE_ENTITY)
				g_string_append(out, entity(c));
			run = ++p;
			continue;
		}
		gunichar u = g_utf8_get_char_validated((const char *)p, end - p);
		if (u == (gunichar)-1 || u == (gunichar)-2) {
			g_string_append_len(out, (const char *)run, p - run);
			g_string_append_len(out, REPLACEMENT_CHAR, 3);
			run = ++p;
			continue;
		}
		size_t clen = g_utf8_skip[c];
		if ((u >= 0x80 && u < 0xa0) || is_bidi_control(u)) {
			g_string_append_len(out, (const char *)run, p - run);
			if (u >= 0xa0)
				g_string_append_len(out, REPLACEMENT_CHAR, 3);
			p += clen;
			run = p;
			continue;
		}
		p += clen;
	}
	g_string_append_len(out, (const char *)run, p - run);
}

void
html_plain_text(GString *out, const char *s, gssize len)
{
	size_t n = len < 0 ? strlen(s) : (size_t)len;
	const char *p = s, *end = s + n;

	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x80) {
			g_string_append_c(out, c < 0x20 || c == 0x7f ? ' ' :
			    (char)c);
			p++;
			continue;
		}
		gunichar u = g_utf8_get_char_validated(p, end - p);
		if (u == (gunichar)-1 || u == (gunichar)-2) {
			g_string_append_len(out, REPLACEMENT_CHAR, 3);
			p++;
			continue;
		}
		size_t clen = g_utf8_skip[c];
		if (u < 0xa0)
			g_string_append_c(out, ' ');
		else if (is_bidi_control(u))
			g_string_append_len(out, REPLACEMENT_CHAR, 3);
		else
			g_string_append_len(out, p, clen);
		p += clen;
	}
}

void
html_text(GString *out, const char *s, gssize len)
{
	escape_text(out, s, len);
}

void
html_attr(GString *out, const char *s, gssize len)
{
	/* Same set as text: quotes are already escaped there. */
	escape_text(out, s, len);
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
		if (is_unreserved(c)) {
			g_string_append_c(out, (char)c);
		} else {
			char pct[3] = { '%', "0123456789ABCDEF"[c >> 4],
			    "0123456789ABCDEF"[c & 15] };
			g_string_append_len(out, pct, 3);
		}
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
	walk_utf8(out, s, len, emit_header_quoted);
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
	walk_utf8(out, s, len, emit_ext_value);
}
