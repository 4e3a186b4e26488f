/* libFuzzer: the sanitiser (cgi/sanitize.c) and the page renderer
 * (cgi/page.c, cgi/parts.c) over arbitrary MIME messages and HTML bodies.
 *
 * Input: a flags byte, then the bytes. flags bit 0 set: the bytes are an
 * HTML body given to sanitize_html (charset chosen by bits 1-2); clear:
 * they are a message, parsed as the retriever parses a decrypted one,
 * rendered as the message page (language, images, kept: bits 1-4) and its
 * HTML body sanitised as /html serves it.
 *
 * Checked, besides memory errors and leaks: the sanitiser's output, read
 * back with the same HTML parser a second time (as a browser would read
 * it), holds only allowed elements and attributes, every link passes
 * sanitize_url_ok and every image source is a part, a raster data: URL or
 * (when asked for) http(s); the page holds no script, no event handler
 * attribute and no javascript: URL in an attribute that holds a URL. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <glib.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "cgi/page.h"
#include "lang.h"
#include "cgi/parts.h"
#include "cgi/sanitize.h"
#include "cgi/web.h"
#include "log.h"
#include "token.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
xml_silent(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct web_env env = { 0 };

	(void)argc;
	(void)argv;
	if (token_init() != 0)
		abort();
	log_init("fuzz_page", 1, LOG_MAIL, LOG_EMERG);
	web_env_init(&env);     /* g_mime_init */
	xmlSetGenericErrorFunc(NULL, xml_silent);
	return 0;
}

/* A few cid: references resolve, as a message's Content-IDs would. */
static bool
cid_fake(void *ctx, const char *cid, GString *out)
{
	(void)ctx;
	if (strcmp(cid, "a@b") != 0 && strcmp(cid, "logo") != 0)
		return false;
	g_string_append(out, "part/1");
	return true;
}

struct cid_ctx {
	const struct web_message *m;
};

static bool
cid_part(void *ctx, const char *cid, GString *out)
{
	struct cid_ctx *c = ctx;
	int i = web_message_find_cid(c->m, cid);

	if (i < 0)
		return false;
	g_string_append_printf(out, "part/%d", i);
	return true;
}

static const char *const allowed_elements[] = {
	/* sanitize.c's keep_elements */
	"a", "abbr", "address", "b", "bdi", "bdo", "big", "blockquote", "br",
	"caption", "center", "cite", "code", "col", "colgroup", "dd", "del",
	"dfn", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5",
	"h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre",
	"q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup",
	"table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
	"var", "wbr", "figure", "figcaption", "section", "article", "header",
	"footer", "main", "nav", "aside", "details", "summary", "style",
	/* the document around them */
	"html", "head", "meta", "body", NULL,
};

static const char *const allowed_attrs[] = {
	"align", "valign", "width", "height", "border", "cellpadding",
	"cellspacing", "bgcolor", "color", "dir", "lang", "title", "alt",
	"colspan", "rowspan", "face", "size", "start", "type", "summary",
	"headers", "scope", "nowrap", "span", "class", "id", "reversed",
	"datetime", "cite_text",
	"href", "src", "style", "target", "rel", "charset", NULL,
};

/* Attributes a browser loads or follows as a URL (alt="javascript:" is
 * only text). */
static const char *const url_attrs[] = {
	"href", "src", "action", "formaction", "background", "poster",
	"data", "srcset", "xlink:href", "lowsrc", "dynsrc", "longdesc", NULL,
};

static bool
in_list(const char *const *list, const char *name)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (g_ascii_strcasecmp(list[i], name) == 0)
			return true;
	return false;
}

/* Lower-cased without controls and spaces, as a browser reads a scheme. */
static char *
squeeze(const char *s)
{
	GString *g = g_string_new(NULL);

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p > 0x20 && *p != 0x7f)
			g_string_append_c(g, (char)g_ascii_tolower(*p));
	return g_string_free(g, FALSE);
}

static void
fail(const char *what, const char *name, const char *value,
    const GString *doc)
{
	fprintf(stderr, "fuzz_page: %s: %s=\"%s\" in:\n%s\n", what, name,
	    value != NULL ? value : "", doc->str);
	abort();
}

static void
check_node(xmlNode *n, bool sanitized, bool remote, const GString *doc)
{
	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		const char *name = (const char *)n->name;
		if (sanitized ? !in_list(allowed_elements, name) :
		    g_ascii_strcasecmp(name, "script") == 0)
			fail("element", name, NULL, doc);
		for (xmlAttr *a = n->properties; a != NULL; a = a->next) {
			const char *an = (const char *)a->name;
			xmlChar *v = xmlNodeGetContent((xmlNode *)a);
			const char *vs = v != NULL ? (const char *)v : "";
			char *sq = squeeze(vs);
			if (g_ascii_strncasecmp(an, "on", 2) == 0 ||
			    (sanitized && !in_list(allowed_attrs, an)))
				fail("attribute", an, vs, doc);
			if (in_list(url_attrs, an) &&
			    (g_str_has_prefix(sq, "javascript:") ||
			    g_str_has_prefix(sq, "vbscript:")))
				fail("script URL", an, vs, doc);
			if (sanitized && g_ascii_strcasecmp(an, "href") == 0 &&
			    !sanitize_url_ok(vs))
				fail("link", an, vs, doc);
			if (sanitized && g_ascii_strcasecmp(an, "src") == 0 &&
			    !g_str_has_prefix(vs, "part/") &&
			    !g_str_has_prefix(sq, "data:image/png;") &&
			    !g_str_has_prefix(sq, "data:image/jpeg;") &&
			    !g_str_has_prefix(sq, "data:image/gif;") &&
			    !g_str_has_prefix(sq, "data:image/webp;") &&
			    !(remote && (g_str_has_prefix(sq, "http://") ||
			    g_str_has_prefix(sq, "https://"))))
				fail("image source", an, vs, doc);
			g_free(sq);
			xmlFree(v);
		}
		check_node(n->children, sanitized, remote, doc);
	}
}

/* Reads doc back as a browser would and checks what it holds. */
static void
check_document(const GString *doc, bool sanitized, bool remote)
{
	htmlDocPtr d = htmlReadMemory(doc->str, (int)doc->len, NULL, "UTF-8",
	    HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);

	if (d == NULL)
		return;
	check_node(d->children, sanitized, remote, doc);
	xmlFreeDoc(d);
}

static void
fuzz_html(unsigned flags, const char *html, size_t len)
{
	static const char *const charsets[] = { NULL, "UTF-8", "iso-8859-1",
	    "windows-1252" };
	struct sanitize_opts so = { (flags & 8) != 0, cid_fake, NULL };
	GString *out = g_string_new(NULL);

	sanitize_html(out, html, len, charsets[(flags >> 1) & 3], &so);
	check_document(out, true, so.remote_images);
	g_string_free(out, TRUE);
}

static void
fuzz_message(unsigned flags, const uint8_t *data, size_t len)
{
	struct web_message m;
	/* The parse borrows the bytes: an exact copy, so that ASan sees any
	 * read past them. */
	unsigned char *plain = g_memdup2(data, len);

	if (web_message_parse(plain, len, &m) != 0) {
		g_free(plain);
		return;
	}
	struct envelope_meta meta = { 0 };
	meta.version = 1;
	meta.created = 1800000000 - 86400;
	meta.expires = 1800000000 + 29 * 86400;
	meta.original_size = len;
	struct page_view v = { 0 };
	v.m = &m;
	v.meta = &meta;
	v.expires = meta.expires;
	v.lang = lang_at((flags & 2) ? 1 : 0)->tag;
	v.base = (flags & 4) ? "./" : "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/";
	v.keep_extension = 14 * 86400;
	v.allow_remote_images = (flags & 8) != 0;
	v.remote_images = (flags & 24) == 24;
	v.kept = (flags & 32) != 0;
	v.keep_capped = (flags & 64) != 0;
	GString *page = g_string_new(NULL);
	page_message(page, &v);
	check_document(page, false, false);
	g_string_free(page, TRUE);

	if (m.html_idx >= 0) {
		char *html = web_part_text(m.leaves->pdata[m.html_idx]);
		struct cid_ctx cc = { &m };
		struct sanitize_opts so = { v.remote_images, cid_part, &cc };
		GString *out = g_string_new(NULL);
		sanitize_html(out, html != NULL ? html : "",
		    html != NULL ? strlen(html) : 0, "UTF-8", &so);
		check_document(out, true, so.remote_images);
		g_string_free(out, TRUE);
		g_free(html);
	}
	web_message_clear(&m);
	g_free(plain);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned flags = data[0];
	if (flags & 1)
		fuzz_html(flags, (const char *)data + 1, size - 1);
	else
		fuzz_message(flags, data + 1, size - 1);
	return 0;
}
