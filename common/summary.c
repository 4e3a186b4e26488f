/* Summary building: templates filled with escaped values, assembled into a
 * multipart/alternative with GMime. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <gmime/gmime.h>
#include <sodium.h>

#include "html.h"
#include "lang.h"
#include "summary.h"

#define SUMMARY_BOUNDARY_BYTES 4
/* File names longer than this many characters are shortened in the middle
 * (the whole name is on the retriever's page): the summary stays small. */
#define SUMMARY_NAME_MAX 28
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

	if (html)
		html_text(g, s, -1);
	else
		html_plain_text(g, s, -1);
	return g_string_free(g, FALSE);
}

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

/* From as the summary shows it: like display_header, but a long display
 * name is what gets cut, never the address that follows it in <...>, so
 * that the reader always sees who really sent the message. */
static char *
display_from(const char *v)
{
	const char *lt = v != NULL ? strrchr(v, '<') : NULL;
	size_t vl = v != NULL ? strlen(v) : 0;

	if (lt == NULL || vl == 0 || v[vl - 1] != '>' ||
	    !g_utf8_validate(v, -1, NULL) ||
	    g_utf8_strlen(v, -1) <= SUMMARY_HEADER_MAX)
		return display_header(v);
	glong addr_chars = g_utf8_strlen(lt, -1);
	if (addr_chars > SUMMARY_HEADER_MAX - 8)
		return display_header(v);
	glong keep = SUMMARY_HEADER_MAX - addr_chars - 4;
	const char *name_end = g_utf8_offset_to_pointer(v, keep);
	return g_strdup_printf("%.*s... %s", (int)(name_end - v), v, lt);
}

/* A template that may be absent: NULL without an error when the file does
 * not exist; any other failure (unreadable, not UTF-8) sets *err. */
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

	lang_format_size(a->size, lang, size, sizeof(size));
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

/* The templates of one directory and language, read once and shared by
 * every summary built with them (refcounted: a reload may replace them
 * while a summary is being built). inline may be NULL (optional). */
enum { T_SUMMARY, T_ITEM, T_NONE, T_INLINE, T_INCOMPLETE, T_KINDS };
struct template_set {
	gint refs;
	char *t[2][T_KINDS];        /* [0] text/plain, [1] text/html */
};

static void
template_set_unref(gpointer p)
{
	struct template_set *ts = p;

	if (ts == NULL || !g_atomic_int_dec_and_test(&ts->refs))
		return;
	for (int h = 0; h < 2; h++)
		for (int k = 0; k < T_KINDS; k++)
			g_free(ts->t[h][k]);
	g_free(ts);
}

static struct template_set *
template_set_load(const char *dir, const char *lang, char **err)
{
	static const char *const kinds[T_KINDS] = { "summary", "item", "none",
	    "inline", "incomplete" };
	struct template_set *ts = g_new0(struct template_set, 1);

	ts->refs = 1;
	for (int h = 0; h < 2; h++) {
		for (int k = 0; k < T_KINDS; k++) {
			char name[32];
			g_snprintf(name, sizeof(name), "%s.%s", kinds[k],
			    h ? "html" : "txt");
			ts->t[h][k] = k == T_INLINE || k == T_INCOMPLETE ?
			    read_optional_template(dir, lang, name, err) :
			    read_template(dir, lang, name, err);
			if (*err != NULL) {
				template_set_unref(ts);
				return NULL;
			}
		}
	}
	return ts;
}

/* Reading six to eight files for every message was a good part of the
 * milter's system calls: sets are kept by "dir\nlang", loaded on first use
 * and replaced by summary_check_templates (start-up, -n, each reload). */
static GMutex cache_lock;
static GHashTable *cache;

/* Adds ts to the cache; with only, every other set goes in the same step,
 * so that no summary in between finds the cache empty and reads the files
 * again. */
static void
cache_put(const char *dir, const char *lang, struct template_set *ts,
    bool only)
{
	g_atomic_int_inc(&ts->refs);
	g_mutex_lock(&cache_lock);
	if (cache == NULL)
		cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
		    template_set_unref);
	else if (only)
		g_hash_table_remove_all(cache);
	g_hash_table_replace(cache, g_strconcat(dir, "\n", lang, NULL), ts);
	g_mutex_unlock(&cache_lock);
}

static struct template_set *
cache_get(const char *dir, const char *lang, char **err)
{
	char *key = g_strconcat(dir, "\n", lang, NULL);
	struct template_set *ts = NULL;

	g_mutex_lock(&cache_lock);
	if (cache != NULL && (ts = g_hash_table_lookup(cache, key)) != NULL)
		g_atomic_int_inc(&ts->refs);
	g_mutex_unlock(&cache_lock);
	g_free(key);
	if (ts == NULL && (ts = template_set_load(dir, lang, err)) != NULL)
		cache_put(dir, lang, ts, false);
	return ts;
}

/* The line that says the list may lack parts (mimescan's incomplete):
 * from incomplete.txt / incomplete.html when the template directory has
 * them, else from the language's catalogue, so that a directory made
 * before they existed still says it. A sender must not be able to hide an
 * attachment from the summary without the summary saying so. */
static const char *
incomplete_line(const struct template_set *ts, const char *lang, bool html)
{
	if (ts->t[html][T_INCOMPLETE] != NULL)
		return ts->t[html][T_INCOMPLETE];
	return lang_get(lang)->summary_incomplete[html];
}

/* The host (and port) the link points to, named in the summary as the
 * sender's own server: "mail.example.org" of "https://mail.example.org/m/…".
 * Not a secret (the token is in the path). */
static char *
link_host(const char *link)
{
	const char *p = link != NULL ? strstr(link, "://") : NULL;

	if (p == NULL)
		return g_strdup("");
	p += 3;
	return g_strndup(p, strcspn(p, "/?#"));
}

static char *
render(const struct summary_input *in, const struct template_set *ts,
    bool html)
{
	const struct mimescan *sc = in->scan;
	const char *tmpl = ts->t[html][T_SUMMARY], *item = ts->t[html][T_ITEM],
	    *none = ts->t[html][T_NONE], *inl = ts->t[html][T_INLINE];
	GString *list = g_string_new(NULL), *out = NULL, *inline_block = NULL;
	char expires[96], *from = NULL, *subject = NULL, *date = NULL,
	    *link = NULL;

	for (size_t i = 0; i < sc->n_attachments; i++)
		render_item(list, item, &sc->v[i], in->lang, html);
	if (sc->n_more > 0)
		g_string_append_printf(list, html ? "<li>+%zu</li>\n" :
		    "  +%zu\n", sc->n_more);
	/* What could not be read is said, never "none". */
	if (sc->incomplete)
		g_string_append(list, incomplete_line(ts, in->lang, html));
	else if (sc->n_attachments == 0 && sc->n_more == 0)
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

	lang_format_date(in->expires, in->lang, expires,
	    sizeof(expires));
	char *shown = display_from(sc->from);
	from = escaped(shown, html);
	g_free(shown);
	shown = display_header(sc->subject);
	subject = escaped(shown, html);
	g_free(shown);
	if ((sc->date == NULL || sc->date[strspn(sc->date, " \t")] == '\0') &&
	    in->received > 0) {
		/* No Date: field: when it reached the sender's server, which is
		 * what an MTA that adds the field would have written. */
		char when[96];
		lang_format_date(in->received, in->lang, when,
		    sizeof(when));
		date = escaped(when, html);
	} else {
		shown = display_header(sc->date);
		date = escaped(shown, html);
		g_free(shown);
	}
	shown = link_host(in->link);
	char *host = escaped(shown, html);
	g_free(shown);
	if (html) {
		GString *g = g_string_new(NULL);
		html_attr(g, in->link, -1);
		link = g_string_free(g, FALSE);
	} else {
		link = g_strdup(in->link);
	}
	const char *keys[] = { "from", "subject", "date", "attachments",
	    "inline", "link", "expires", "host", NULL };
	const char *vals[] = { from, subject, date, list->str,
	    inline_block->str, link, expires, host };
	out = g_string_new(NULL);
	fill(out, tmpl, keys, vals);
	g_string_free(inline_block, TRUE);
	g_free(from);
	g_free(subject);
	g_free(date);
	g_free(host);
	if (link != NULL) {
		sodium_memzero(link, strlen(link));
		g_free(link);
	}
	g_string_free(list, TRUE);
	return g_string_free(out, FALSE);
}

/* One part of the multipart/alternative: its header and its text, UTF-8
 * as it is, quoted-printable encoded by GMime (lines of at most 76
 * characters), CRLF line ends. The framing is written here rather than
 * through GMimeMultipart objects: building, writing and freeing those was
 * the largest cost of a summary (callgrind, bench/bench_milter.sh); the
 * result is the same bytes, and tests parse it back with GMime. A
 * quoted-printable body never contains "=_", so never the boundary. */
static void
append_part(GString *out, const char *boundary, const char *subtype,
    const char *text)
{
	GMimeEncoding enc;
	size_t len = strlen(text);
	char *qp;
	size_t n;

	g_string_append_printf(out, "--%s\r\nContent-Type: text/%s; "
	    "charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable"
	    "\r\n\r\n", boundary, subtype);
	g_mime_encoding_init_encode(&enc,
	    GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	qp = g_malloc(g_mime_encoding_outlen(&enc, len) + 16);
	n = g_mime_encoding_step(&enc, text, len, qp);
	n += g_mime_encoding_flush(&enc, "", 0, qp + n);
	for (size_t i = 0; i < n; i++) {
		if (qp[i] == '\n' && (i == 0 || qp[i - 1] != '\r'))
			g_string_append_c(out, '\r');
		g_string_append_c(out, qp[i]);
	}
	g_string_append(out, "\r\n");
	sodium_memzero(qp, n);               /* it holds the link */
	g_free(qp);
}

int
summary_check_templates(const char *template_dir, const char *lang,
    char **err)
{
	const char *dir = template_dir != NULL && *template_dir ?
	    template_dir : SUMMARY_SHIPPED_DIR;
	struct template_set *ts;

	*err = NULL;
	if (lang == NULL)
		lang = LANG_DEFAULT;
	if ((ts = template_set_load(dir, lang, err)) == NULL)
		return -1;
	/* What was checked is what the next summaries use; sets of an earlier
	 * TemplateDir or Language go (cache_get reloads one it lacks). */
	cache_put(dir, lang, ts, true);
	template_set_unref(ts);
	return 0;
}

int
summary_build(const struct summary_input *in, struct summary *out,
    char **err)
{
	const char *dir = in->template_dir != NULL && *in->template_dir ?
	    in->template_dir : SUMMARY_SHIPPED_DIR;
	const char *lang = in->lang != NULL ? in->lang : LANG_DEFAULT;
	struct template_set *ts;
	unsigned char rnd[SUMMARY_BOUNDARY_BYTES];
	char boundary[64];

	memset(out, 0, sizeof(*out));
	*err = NULL;
	if ((ts = cache_get(dir, lang, err)) == NULL)
		return -1;
	char *txt = render(in, ts, false), *html = render(in, ts, true);
	template_set_unref(ts);

	randombytes_buf(rnd, sizeof(rnd));
	strcpy(boundary, "=_pm_");
	sodium_bin2hex(boundary + strlen(boundary),
	    sizeof(boundary) - strlen(boundary), rnd, sizeof(rnd));
	GString *body = g_string_sized_new(2048);
	append_part(body, boundary, "plain", txt);
	append_part(body, boundary, "html", html);
	g_string_append_printf(body, "--%s--\r\n", boundary);
	sodium_memzero(txt, strlen(txt));
	sodium_memzero(html, strlen(html));
	g_free(txt);
	g_free(html);

	out->body_len = body->len;
	out->body = g_string_free(body, FALSE);
	out->content_type = g_strdup_printf(
	    "multipart/alternative; boundary=\"%s\"", boundary);
	return 0;
}

void
summary_free(struct summary *s)
{
	if (s->body != NULL) {
		sodium_memzero(s->body, s->body_len);   /* it holds the link */
		g_free(s->body);
	}
	g_free(s->content_type);
	memset(s, 0, sizeof(*s));
}
