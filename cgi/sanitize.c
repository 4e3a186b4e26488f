/* Allow-list sanitiser for the HTML body. libxml2's HTML parser builds the
 * tree the way a browser would recover broken markup; the walk below
 * re-serialises only listed elements and attributes, every text and value
 * through html.h, so nothing the parser did not understand survives. */
#include <ctype.h>
#include <string.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "html.h"
#include "sanitize.h"

#define SANITIZE_MAX_DEPTH 256

/* Elements written out (with their allowed attributes). */
static const char *const keep_elements[] = {
	"a", "abbr", "address", "b", "bdi", "bdo", "big", "blockquote", "br",
	"caption", "center", "cite", "code", "col", "colgroup", "dd", "del",
	"dfn", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5",
	"h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre",
	"q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup",
	"table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
	"var", "wbr", "figure", "figcaption", "section", "article", "header",
	"footer", "main", "nav", "aside", "details", "summary", "style", NULL,
};

/* Elements dropped with everything inside them. */
static const char *const drop_elements[] = {
	"script", "meta", "base", "link", "form", "input", "button", "select",
	"textarea", "option", "iframe", "frame", "frameset", "object", "embed",
	"applet", "param", "svg", "math", "template", "noscript", "noembed",
	"noframes", "title", "audio", "video", "source", "track", "canvas",
	"xml", "isindex", "keygen", "portal", "plaintext", "xmp",
	"dialog", "slot", NULL,
};

/* Void in HTML, but libxml2's parser (HTML 4 rules) may hang the content
 * that follows them below them: dropped without their "children", which
 * are walked like any other content. */
static const char *const void_dropped[] = {
	"embed", "input", "param", "source", "track", "keygen", "link", "meta",
	"base", "isindex", "area", NULL,
};

static const char *const void_elements[] = {
	"br", "hr", "img", "col", "wbr", NULL,
};

/* Presentational attributes with no URL and no script in them. */
static const char *const keep_attrs[] = {
	"align", "valign", "width", "height", "border", "cellpadding",
	"cellspacing", "bgcolor", "color", "dir", "lang", "title", "alt",
	"colspan", "rowspan", "face", "size", "start", "type", "summary",
	"headers", "scope", "nowrap", "span", "class", "id", "reversed",
	"datetime", "cite_text", NULL,
};

static bool
in_list(const char *const *list, const char *name)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (g_ascii_strcasecmp(list[i], name) == 0)
			return true;
	return false;
}

/* The URL with every ASCII control and space removed and lower-cased, as a
 * browser reads a scheme ("java\tscript:" is "javascript:"). */
static char *
squeeze_lower(const char *s)
{
	GString *g = g_string_new(NULL);

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p > 0x20 && *p != 0x7f)
			g_string_append_c(g, (char)g_ascii_tolower(*p));
	return g_string_free(g, FALSE);
}

bool
sanitize_url_ok(const char *url)
{
	char *u = squeeze_lower(url);
	bool ok = g_str_has_prefix(u, "http://") ||
	    g_str_has_prefix(u, "https://") || g_str_has_prefix(u, "mailto:") ||
	    (u[0] == '#' && strchr(u, ':') == NULL);

	g_free(u);
	return ok;
}

/* CSS in a style attribute or element: refused whole if it could load
 * anything or run anything (url(), image-set, @import, expression(),
 * behaviour bindings) or hides such words behind escapes or comments. */
static bool
css_ok(const char *css)
{
	static const char *const bad[] = {
		"url", "image", "import", "expression", "javascript", "vbscript",
		"behavior", "binding", "\\", "/*", "@", "&#", "<", NULL,
	};
	char *c = squeeze_lower(css);
	bool ok = true;

	for (size_t i = 0; bad[i] != NULL && ok; i++)
		if (strstr(c, bad[i]) != NULL)
			ok = false;
	g_free(c);
	return ok;
}

static bool
data_image_ok(const char *u)
{
	char *s = squeeze_lower(u);
	bool ok = g_str_has_prefix(s, "data:image/png;") ||
	    g_str_has_prefix(s, "data:image/jpeg;") ||
	    g_str_has_prefix(s, "data:image/gif;") ||
	    g_str_has_prefix(s, "data:image/webp;");

	g_free(s);
	return ok;
}

struct walk {
	GString *out;
	const struct sanitize_opts *opts;
};

static void
put_attr(GString *out, const char *name, const char *value)
{
	g_string_append_c(out, ' ');
	g_string_append(out, name);
	g_string_append(out, "=\"");
	html_attr(out, value, -1);
	g_string_append_c(out, '"');
}

/* <img>: cid: to a part URL, remote only when the reader asked, data: only
 * for raster types; anything else becomes a visible placeholder. */
static void
emit_img(struct walk *w, xmlNode *n)
{
	xmlChar *src = xmlGetProp(n, (const xmlChar *)"src");
	xmlChar *alt = xmlGetProp(n, (const xmlChar *)"alt");
	GString *url = g_string_new(NULL);
	bool ok = false;

	if (src != NULL) {
		char *s = squeeze_lower((const char *)src);
		if (g_str_has_prefix(s, "cid:") && w->opts->cid != NULL) {
			const char *cid = (const char *)src;
			while (*cid && g_ascii_isspace(*cid))
				cid++;
			cid += 4;
			char *bare = g_strdup(cid);
			g_strstrip(bare);
			size_t bl = strlen(bare);
			if (bl >= 2 && bare[0] == '<' && bare[bl - 1] == '>') {
				bare[bl - 1] = '\0';
				memmove(bare, bare + 1, bl - 1);
			}
			ok = w->opts->cid(w->opts->cid_ctx, bare, url);
			g_free(bare);
		} else if ((g_str_has_prefix(s, "http://") ||
		    g_str_has_prefix(s, "https://")) && w->opts->remote_images) {
			g_string_assign(url, (const char *)src);
			ok = true;
		} else if (data_image_ok((const char *)src)) {
			g_string_assign(url, (const char *)src);
			ok = true;
		}
		g_free(s);
	}
	if (ok) {
		g_string_append(w->out, "<img");
		put_attr(w->out, "src", url->str);
		for (xmlAttr *a = n->properties; a != NULL; a = a->next) {
			const char *an = (const char *)a->name;
			if (g_ascii_strcasecmp(an, "alt") != 0 &&
			    g_ascii_strcasecmp(an, "width") != 0 &&
			    g_ascii_strcasecmp(an, "height") != 0 &&
			    g_ascii_strcasecmp(an, "title") != 0)
				continue;
			xmlChar *v = xmlNodeGetContent((xmlNode *)a);
			put_attr(w->out, an, v != NULL ? (const char *)v : "");
			xmlFree(v);
		}
		g_string_append(w->out, ">");
	} else {
		g_string_append(w->out, "<span class=\"pm-blocked\" "
		    "style=\"border:1px dashed #888;padding:0 .2em\">[image");
		if (alt != NULL && alt[0] != '\0') {
			g_string_append(w->out, ": ");
			html_text(w->out, (const char *)alt, -1);
		}
		g_string_append(w->out, "]</span>");
	}
	g_string_free(url, TRUE);
	xmlFree(src);
	xmlFree(alt);
}

static void walk_children(struct walk *w, xmlNode *n, int depth);

static void
emit_element(struct walk *w, xmlNode *n, int depth)
{
	const char *name = (const char *)n->name;

	if (in_list(void_dropped, name)) {
		walk_children(w, n, depth + 1);
		return;
	}
	if (in_list(drop_elements, name))
		return;
	if (g_ascii_strcasecmp(name, "head") == 0) {
		/* Only the document's style sheets, checked like any other. */
		for (xmlNode *c = n->children; c != NULL; c = c->next)
			if (c->type == XML_ELEMENT_NODE &&
			    g_ascii_strcasecmp((const char *)c->name, "style") == 0)
				emit_element(w, c, depth + 1);
		return;
	}
	if (!in_list(keep_elements, name)) {
		/* html, body, unknown tags: their content, not the tag. */
		walk_children(w, n, depth + 1);
		return;
	}
	if (g_ascii_strcasecmp(name, "img") == 0) {
		emit_img(w, n);
		return;
	}
	if (g_ascii_strcasecmp(name, "style") == 0) {
		xmlChar *css = xmlNodeGetContent(n);
		if (css != NULL && css_ok((const char *)css)) {
			g_string_append(w->out, "<style>");
			/* CSS text in a raw-text element: < is refused by
			 * css_ok, so no </style> can appear. */
			html_text(w->out, (const char *)css, -1);
			g_string_append(w->out, "</style>");
		}
		xmlFree(css);
		return;
	}
	char *lname = g_ascii_strdown(name, -1);
	g_string_append_c(w->out, '<');
	g_string_append(w->out, lname);
	for (xmlAttr *a = n->properties; a != NULL; a = a->next) {
		const char *an = (const char *)a->name;
		xmlChar *v = xmlNodeGetContent((xmlNode *)a);
		const char *vs = v != NULL ? (const char *)v : "";
		char *lan = g_ascii_strdown(an, -1);

		if (strcmp(lname, "a") == 0 && strcmp(lan, "href") == 0) {
			if (sanitize_url_ok(vs))
				put_attr(w->out, "href", vs);
		} else if (strcmp(lan, "style") == 0) {
			if (css_ok(vs))
				put_attr(w->out, "style", vs);
		} else if (in_list(keep_attrs, lan) &&
		    strspn(lan, "abcdefghijklmnopqrstuvwxyz-") == strlen(lan)) {
			put_attr(w->out, lan, vs);
		}
		g_free(lan);
		xmlFree(v);
	}
	if (strcmp(lname, "a") == 0)
		g_string_append(w->out,
		    " target=\"_blank\" rel=\"noopener noreferrer\"");
	g_string_append_c(w->out, '>');
	if (!in_list(void_elements, lname)) {
		walk_children(w, n, depth + 1);
		g_string_append(w->out, "</");
		g_string_append(w->out, lname);
		g_string_append_c(w->out, '>');
	}
	g_free(lname);
}

static void
walk_children(struct walk *w, xmlNode *n, int depth)
{
	if (depth > SANITIZE_MAX_DEPTH)
		return;
	for (xmlNode *c = n->children; c != NULL; c = c->next) {
		switch (c->type) {
		case XML_ELEMENT_NODE:
			emit_element(w, c, depth);
			break;
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			if (c->content != NULL)
				html_text(w->out, (const char *)c->content, -1);
			break;
		default:    /* comments, PIs, DTDs: dropped */
			break;
		}
	}
}

void
sanitize_html(GString *out, const char *html, size_t len,
    const char *charset, const struct sanitize_opts *opts)
{
	struct walk w = { out, opts };
	htmlDocPtr doc = NULL;

	g_string_append(out, "<!DOCTYPE html>\n<html><head>"
	    "<meta charset=\"utf-8\"></head><body>");
	if (len > 0 && len <= G_MAXINT)
		doc = htmlReadMemory(html, (int)len, NULL,
		    charset != NULL ? charset : "UTF-8",
		    HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
		    HTML_PARSE_NONET);
	if (doc != NULL) {
		for (xmlNode *c = doc->children; c != NULL; c = c->next) {
			if (c->type == XML_ELEMENT_NODE)
				emit_element(&w, c, 0);
			else if (c->type == XML_TEXT_NODE && c->content != NULL)
				html_text(out, (const char *)c->content, -1);
		}
		xmlFreeDoc(doc);
	}
	g_string_append(out, "</body></html>\n");
}
