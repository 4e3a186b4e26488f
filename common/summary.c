/* Summary building: templates filled with escaped values, assembled into a
 * multipart/alternative with GMime. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <gmime/gmime.h>
#include <sodium.h>

#include "html.h"
#include "summary.h"
#include "units.h"

#define SUMMARY_BOUNDARY_BYTES 8
/* File names longer than this many characters are shortened in the middle
 * (the whole name is on the retriever's page): the summary stays small. */
#define SUMMARY_NAME_MAX 44
#define SUMMARY_NAME_TAIL 16        /* characters kept at the end (extension) */
#define SUMMARY_INLINE_SHOWN 3      /* inline images named; more are counted */
#define SUMMARY_HEADER_MAX 100      /* characters of From, Subject, Date shown */

/* Types whose long names tell a reader nothing the extension does not
 * ("report.docx" against application/vnd.openxmlformats-...): the type is
 * left out when the file name ends in its extension. Short types
 * (application/pdf, image/png) are always shown, and so is a type that the
 * extension does not explain (a hint that the name misleads). */
static const struct { const char *ext, *type; } implied_types[] = {
	{ "docx", "application/vnd.openxmlformats-officedocument."
	    "wordprocessingml.document" },
	{ "dotx", "application/vnd.openxmlformats-officedocument."
	    "wordprocessingml.template" },
	{ "xlsx", "application/vnd.openxmlformats-officedocument."
	    "spreadsheetml.sheet" },
	{ "xltx", "application/vnd.openxmlformats-officedocument."
	    "spreadsheetml.template" },
	{ "pptx", "application/vnd.openxmlformats-officedocument."
	    "presentationml.presentation" },
	{ "ppsx", "application/vnd.openxmlformats-officedocument."
	    "presentationml.slideshow" },
	{ "potx", "application/vnd.openxmlformats-officedocument."
	    "presentationml.template" },
	{ "docm", "application/vnd.ms-word.document.macroenabled.12" },
	{ "xlsm", "application/vnd.ms-excel.sheet.macroenabled.12" },
	{ "pptm", "application/vnd.ms-powerpoint.presentation.macroenabled.12" },
	{ "odt", "application/vnd.oasis.opendocument.text" },
	{ "ods", "application/vnd.oasis.opendocument.spreadsheet" },
	{ "odp", "application/vnd.oasis.opendocument.presentation" },
	{ "odg", "application/vnd.oasis.opendocument.graphics" },
};

static bool
type_implied_by_name(const char *name, const char *type)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL || dot == name)
		return false;
	for (size_t i = 0; i < G_N_ELEMENTS(implied_types); i++)
		if (g_ascii_strcasecmp(dot + 1, implied_types[i].ext) == 0 &&
		    g_ascii_strcasecmp(type, implied_types[i].type) == 0)
			return true;
	return false;
}

/* The name as the summary shows it: "-" when there is none; a long one
 * shortened in the middle, keeping its end (the extension) visible.
 * Names are UTF-8 (mimescan decoded them). */
static char *
display_name(const char *name)
{
	glong n;

	if (name == NULL || *name == '\0')
		return g_strdup("-");
	if (!g_utf8_validate(name, -1, NULL) ||
	    (n = g_utf8_strlen(name, -1)) <= SUMMARY_NAME_MAX)
		return g_strdup(name);
	/* "..." rather than U+2026: three bytes, not nine once encoded. */
	const char *head_end = g_utf8_offset_to_pointer(name,
	    SUMMARY_NAME_MAX - SUMMARY_NAME_TAIL - 3);
	const char *tail = g_utf8_offset_to_pointer(name,
	    n - SUMMARY_NAME_TAIL);
	return g_strdup_printf("%.*s...%s", (int)(head_end - name), name,
	    tail);
}

static char *
read_template(const char *dir, const char *lang, const char *name,
    char **err)
{
	char *path = g_build_filename(dir, lang, name, NULL);
	char *text = NULL;
	GError *gerr = NULL;

	if (!g_file_get_contents(path, &text, NULL, &gerr)) {
		*err = g_strdup_printf("summary template %s: %s", path,
		    gerr->message);
		g_error_free(gerr);
		text = NULL;
	} else if (!g_utf8_validate(text, -1, NULL)) {
		*err = g_strdup_printf("summary template %s: not UTF-8", path);
		g_free(text);
		text = NULL;
	}
	g_free(path);
	return text;
}

/* Replaces each {{key}} of tmpl by the matching value (already escaped for
 * the target format); unknown keys are kept as they are. */
static void
fill(GString *out, const char *tmpl, const char *const *keys,
    const char *const *values)
{
	const char *p = tmpl;

	while (*p != '\0') {
		const char *open = strstr(p, "{{");
		if (open == NULL) {
			g_string_append(out, p);
			return;
		}
		g_string_append_len(out, p, open - p);
		const char *close = strstr(open + 2, "}}");
		bool done = false;
		if (close != NULL) {
			for (size_t i = 0; keys[i] != NULL; i++) {
				size_t kl = strlen(keys[i]);
				if ((size_t)(close - open - 2) == kl &&
				    memcmp(open + 2, keys[i], kl) == 0) {
					g_string_append(out, values[i]);
					p = close + 2;
					done = true;
					break;
				}
			}
		}
		if (!done) {
			g_string_append(out, "{{");
			p = open + 2;
		}
	}
}

static char *
escaped(const char *s, bool html)
{
	GString *g = g_string_new(NULL);

	if (html) {
		html_text(g, s, -1);
	} else {
		/* Plain text: control characters (a header could carry
		 * them) become spaces so a value stays on its line. */
		for (const char *p = s; *p != '\0'; p++)
			g_string_append_c(g, (unsigned char)*p < 0x20 ? ' ' : *p);
	}
	return g_string_free(g, FALSE);
}

/* A template that may be absent: NULL without an error when the file does
 * not exist; any other failure (unreadable, not UTF-8) sets *err. */
/* A header value as the summary shows it: at most SUMMARY_HEADER_MAX
 * characters, a longer one cut with "..." (the whole field is still in the
 * message's own header). */
static char *
display_header(const char *v)
{
	if (v == NULL)
		return g_strdup("");
	if (!g_utf8_validate(v, -1, NULL) ||
	    g_utf8_strlen(v, -1) <= SUMMARY_HEADER_MAX)
		return g_strdup(v);
	const char *end = g_utf8_offset_to_pointer(v, SUMMARY_HEADER_MAX - 3);
	return g_strdup_printf("%.*s...", (int)(end - v), v);
}

static char *
read_optional_template(const char *dir, const char *lang, const char *name,
    char **err)
{
	char *path = g_build_filename(dir, lang, name, NULL);
	bool exists = g_file_test(path, G_FILE_TEST_EXISTS);

	g_free(path);
	return exists ? read_template(dir, lang, name, err) : NULL;
}

/* One line of a list: {{name}}, {{type}} (the MIME type), {{size}} and
 * {{details}} ("type, size", or only the size when the name's extension
 * says the type), each escaped for the part. */
static void
render_item(GString *list, const char *item,
    const struct mimescan_attachment *a, const char *lang, bool html)
{
	char size[48];
	char *shown = display_name(a->name);
	char *details;

	units_format_size(a->size, lang, size, sizeof(size));
	if (type_implied_by_name(a->name, a->type))
		details = g_strdup(size);
	else
		details = g_strdup_printf("%s, %s", a->type, size);
	char *n = escaped(shown, html), *t = escaped(a->type, html);
	char *d = escaped(details, html), *z = escaped(size, html);
	const char *keys[] = { "name", "type", "size", "details", NULL };
	const char *vals[] = { n, t, z, d };
	fill(list, item, keys, vals);
	g_free(n);
	g_free(t);
	g_free(d);
	g_free(z);
	g_free(details);
	g_free(shown);
}

static char *
render(const struct summary_input *in, const char *dir, bool html, char **err)
{
	const struct mimescan *sc = in->scan;
	const char *ext = html ? "html" : "txt";
	char name[32];
	char *tmpl = NULL, *item = NULL, *none = NULL, *inl = NULL;
	GString *list = g_string_new(NULL), *out = NULL, *inline_block = NULL;
	char expires[96], *from = NULL, *subject = NULL, *date = NULL,
	    *link = NULL;

	g_snprintf(name, sizeof(name), "summary.%s", ext);
	if ((tmpl = read_template(dir, in->lang, name, err)) == NULL)
		goto done;
	g_snprintf(name, sizeof(name), "item.%s", ext);
	if ((item = read_template(dir, in->lang, name, err)) == NULL)
		goto done;
	g_snprintf(name, sizeof(name), "none.%s", ext);
	if ((none = read_template(dir, in->lang, name, err)) == NULL)
		goto done;
	g_snprintf(name, sizeof(name), "inline.%s", ext);
	inl = read_optional_template(dir, in->lang, name, err);
	if (*err != NULL)
		goto done;

	for (size_t i = 0; i < sc->n_attachments; i++)
		render_item(list, item, &sc->v[i], in->lang, html);
	if (sc->n_more > 0)
		g_string_append_printf(list, html ? "<li>+%zu</li>\n" :
		    "  +%zu\n", sc->n_more);
	if (sc->n_attachments == 0 && sc->n_more == 0)
		g_string_append(list, none);
	/* Inline images are not attachments: their own short block, from
	 * an optional template (a TemplateDir without it leaves them out). */
	inline_block = g_string_new(NULL);
	if (sc->n_inline + sc->n_inline_more > 0 && inl != NULL) {
		GString *imgs = g_string_new(NULL);
		size_t shown = MIN(sc->n_inline, SUMMARY_INLINE_SHOWN);
		for (size_t i = 0; i < shown; i++)
			render_item(imgs, item, &sc->inline_images[i], in->lang,
			    html);
		size_t more = sc->n_inline - shown + sc->n_inline_more;
		if (more > 0)
			g_string_append_printf(imgs, html ? "<li>+%zu</li>\n" :
			    "  +%zu\n", more);
		const char *ikeys[] = { "images", NULL };
		const char *ivals[] = { imgs->str };
		fill(inline_block, inl, ikeys, ivals);
		g_string_free(imgs, TRUE);
	}

	units_format_date_human(in->expires, in->lang, expires,
	    sizeof(expires));
	char *shown = display_header(sc->from);
	from = escaped(shown, html);
	g_free(shown);
	shown = display_header(sc->subject);
	subject = escaped(shown, html);
	g_free(shown);
	shown = display_header(sc->date);
	date = escaped(shown, html);
	g_free(shown);
	if (html) {
		GString *g = g_string_new(NULL);
		html_attr(g, in->link, -1);
		link = g_string_free(g, FALSE);
	} else {
		link = g_strdup(in->link);
	}
	const char *keys[] = { "from", "subject", "date", "attachments",
	    "inline", "link", "expires", NULL };
	const char *vals[] = { from, subject, date, list->str,
	    inline_block->str, link, expires };
	out = g_string_new(NULL);
	fill(out, tmpl, keys, vals);
done:
	g_free(tmpl);
	g_free(item);
	g_free(none);
	g_free(inl);
	if (inline_block != NULL)
		g_string_free(inline_block, TRUE);
	g_free(from);
	g_free(subject);
	g_free(date);
	if (link != NULL) {
		sodium_memzero(link, strlen(link));
		g_free(link);
	}
	g_string_free(list, TRUE);
	return out != NULL ? g_string_free(out, FALSE) : NULL;
}

/* The text is UTF-8 and stays UTF-8: g_mime_text_part_set_text would pick
 * a "best" legacy charset, so the content is set as bytes. */
static GMimePart *
text_part(const char *subtype, const char *text)
{
	GMimePart *part = GMIME_PART(g_mime_text_part_new_with_subtype(subtype));
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(text,
	    strlen(text));
	GMimeDataWrapper *dw = g_mime_data_wrapper_new_with_stream(st,
	    GMIME_CONTENT_ENCODING_DEFAULT);

	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part),
	    "charset", "utf-8");
	g_mime_part_set_content(part, dw);
	g_mime_part_set_content_encoding(part,
	    GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	g_object_unref(dw);
	g_object_unref(st);
	return part;
}

int
summary_check_templates(const char *template_dir, const char *lang,
    char **err)
{
	static const char *const names[] = { "summary.txt", "summary.html",
	    "item.txt", "item.html", "none.txt", "none.html" };
	static const char *const optional[] = { "inline.txt", "inline.html" };
	const char *dir = template_dir != NULL && *template_dir ?
	    template_dir : SUMMARY_SHIPPED_DIR;

	*err = NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		char *t = read_template(dir, lang != NULL ? lang : "en",
		    names[i], err);
		if (t == NULL)
			return -1;
		g_free(t);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(optional); i++) {
		g_free(read_optional_template(dir, lang != NULL ? lang : "en",
		    optional[i], err));
		if (*err != NULL)
			return -1;
	}
	return 0;
}

int
summary_build(const struct summary_input *in, struct summary *out,
    char **err)
{
	const char *dir = in->template_dir != NULL && *in->template_dir ?
	    in->template_dir : SUMMARY_SHIPPED_DIR;
	char *txt = NULL, *html = NULL;
	unsigned char rnd[SUMMARY_BOUNDARY_BYTES];
	char boundary[64];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	*err = NULL;
	if ((txt = render(in, dir, false, err)) == NULL ||
	    (html = render(in, dir, true, err)) == NULL)
		goto done;

	randombytes_buf(rnd, sizeof(rnd));
	strcpy(boundary, "=_pullmail_");
	sodium_bin2hex(boundary + strlen(boundary),
	    sizeof(boundary) - strlen(boundary), rnd, sizeof(rnd));

	GMimeMultipart *mp = g_mime_multipart_new_with_subtype("alternative");
	g_mime_multipart_set_boundary(mp, boundary);
	GMimePart *p1 = text_part("plain", txt), *p2 = text_part("html", html);
	g_mime_multipart_add(mp, GMIME_OBJECT(p1));
	g_mime_multipart_add(mp, GMIME_OBJECT(p2));
	g_object_unref(p1);
	g_object_unref(p2);

	GMimeFormatOptions *fo = g_mime_format_options_clone(NULL);
	g_mime_format_options_set_newline_format(fo,
	    GMIME_NEWLINE_FORMAT_DOS);
	GMimeStream *mem = g_mime_stream_mem_new();
	if (g_mime_object_write_content_to_stream(GMIME_OBJECT(mp), fo,
	    mem) < 0) {
		*err = g_strdup("summary: GMime could not write the body");
	} else {
		GByteArray *ba = g_mime_stream_mem_get_byte_array(
		    GMIME_STREAM_MEM(mem));
		out->body = malloc(ba->len + 1);
		if (out->body != NULL) {
			memcpy(out->body, ba->data, ba->len);
			out->body[ba->len] = '\0';
			out->body_len = ba->len;
			out->content_type = g_strdup_printf(
			    "multipart/alternative; boundary=\"%s\"", boundary);
			rc = 0;
		} else {
			*err = g_strdup("summary: out of memory");
		}
	}
	g_object_unref(mem);
	g_mime_format_options_free(fo);
	g_object_unref(mp);
done:
	g_free(txt);
	g_free(html);
	return rc;
}

void
summary_free(struct summary *s)
{
	if (s->body != NULL) {
		sodium_memzero(s->body, s->body_len);   /* it holds the link */
		free(s->body);
	}
	g_free(s->content_type);
	memset(s, 0, sizeof(*s));
}
