/* Rendering of the message page and error pages. */
#include <string.h>
#include <sodium.h>

#include "html.h"
#include "lang.h"
#include "page.h"

/* The words of lang's pages: its catalogue (lang.h). */
static const struct lang_page *
strings_for(const char *lang)
{
	return &lang_get(lang)->page;
}

/* A qvalue (RFC 9110 12.4.2: "0", "0.5", "1.000") in thousandths; -1 for
 * anything else. */
static int
qvalue(const char *p, size_t n)
{
	if (n == 0 || (p[0] != '0' && p[0] != '1'))
		return -1;
	int q = (p[0] - '0') * 1000, scale = 100;
	if (n == 1)
		return q;
	if (p[1] != '.' || n > 5)
		return -1;
	for (size_t i = 2; i < n; i++, scale /= 10) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		q += (p[i] - '0') * scale;
	}
	return q <= 1000 ? q : -1;
}

static bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* [p, p + n) without its leading and trailing blanks. */
static const char *
trim(const char *p, size_t *n)
{
	while (*n > 0 && is_ows(p[0]))
		p++, (*n)--;
	while (*n > 0 && is_ows(p[*n - 1]))
		(*n)--;
	return p;
}

/* The request's header, read in place: items between commas (any of them
 * empty or blank), each a tag and ";"-separated parameters of which only
 * q counts. A malformed q makes its item unacceptable; only the first
 * PAGE_LANG_MAX_ITEMS items are looked at. */
#define PAGE_LANG_MAX_ITEMS 32

const char *
page_language(const char *al, const char *fallback)
{
	const char *best = NULL;
	int best_q = 0;

	for (int items = 0; al != NULL && *al != '\0' &&
	    items < PAGE_LANG_MAX_ITEMS; items++) {
		size_t len = strcspn(al, ",");
		const char *item = al;
		al += len;
		if (*al == ',')
			al++;
		size_t tl = strcspn(item, ";");
		if (tl > len)
			tl = len;
		const char *tag = trim(item, &tl);
		int q = 1000;
		for (size_t at = tl; at < len; ) {
			/* item[at] is the ';' before a parameter. */
			const char *prm = item + at + 1;
			size_t pl = strcspn(prm, ";,");
			at += 1 + pl;
			prm = trim(prm, &pl);
			if (pl >= 2 && (prm[0] == 'q' || prm[0] == 'Q') &&
			    prm[1] == '=')
				q = qvalue(prm + 2, pl - 2);
		}
		const struct lang *l = lang_match(tag, tl);
		if (l != NULL && q > best_q) {
			best = l->tag;
			best_q = q;
		}
	}
	if (best != NULL)
		return best;
	const struct lang *l = lang_find(fallback);
	return l != NULL ? l->tag : lang_at(0)->tag;
}

const char *
page_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 410: return "Gone";
	case 413: return "Content Too Large";
	default: return "Internal Server Error";
	}
}

static void
page_open(GString *out, const char *lang, const char *title)
{
	g_string_append_printf(out, "<!DOCTYPE html>\n<html lang=\"%s\"><head>"
	    "<meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width,"
	    "initial-scale=1\"><meta name=\"robots\" content=\"noindex\">"
	    /* Under the header's no-referrer a browser sends "Origin: null"
	     * with the keep form; strict-origin sends the origin (never the
	     * path, so never the token) and keep's Origin check can pass. */
	    "<meta name=\"referrer\" content=\"strict-origin\">"
	    "<title>", lang_get(lang)->tag);
	page_text(out, title);
	g_string_append(out, "</title><style>");
	g_string_append(out, page_css);
	g_string_append(out, "</style></head><body><main>\n");
}

static void
page_close(GString *out)
{
	g_string_append(out, "</main></body></html>\n");
}

void
page_error(GString *out, int status, const char *lang)
{
	const struct lang_page *s = strings_for(lang);
	int i;

	switch (status) {
	case 404: i = LANG_E404; break;
	case 410: i = LANG_E410; break;
	case 405: i = LANG_E405; break;
	case 413: i = LANG_E413; break;
	case 403: i = LANG_E403; break;
	case 408: i = LANG_E408; break;
	default: i = LANG_E500; break;
	}
	page_open(out, lang, s->err_title[i]);
	g_string_append(out, "<h1>");
	html_text(out, s->err_title[i], -1);
	g_string_append(out, "</h1>\n<p>");
	html_text(out, s->err_text[i], -1);
	g_string_append(out, "</p>\n");
	page_close(out);
}

/* html_text replaces the bidirectional controls itself (html.h). */
void
page_text(GString *out, const char *s)
{
	html_text(out, s, -1);
}

static size_t
url_len(const char *p)
{
	size_t n = 0;

	while (p[n] != '\0' && !g_ascii_isspace(p[n]) && p[n] != '<' &&
	    p[n] != '>' && p[n] != '"' && (unsigned char)p[n] >= 0x20)
		n++;
	/* Sentence punctuation after a URL is not part of it. */
	while (n > 0 && strchr(".,;:!?)]}'", p[n - 1]) != NULL)
		n--;
	return n;
}

/* Every scheme ends in ':', the rarest of its bytes in text: the scan jumps
 * from colon to colon (strchr) and looks back for the scheme's name, which
 * must start a word. */
void
page_linkify(GString *out, const char *text)
{
	static const struct { const char *name, *rest; size_t nl, rl; }
	    schemes[] = {
		{ "https", "://", 5, 3 },
		{ "http", "://", 4, 3 },
		{ "mailto", ":", 6, 1 },
	};
	const char *plain = text, *colon = text;

	while ((colon = strchr(colon, ':')) != NULL) {
		const char *start = NULL;
		size_t n = 0;
		for (size_t i = 0; i < G_N_ELEMENTS(schemes); i++) {
			const char *s = colon - schemes[i].nl;
			if (colon - plain < (ptrdiff_t)schemes[i].nl ||
			    g_ascii_strncasecmp(s, schemes[i].name,
			    schemes[i].nl) != 0 ||
			    strncmp(colon, schemes[i].rest, schemes[i].rl) != 0 ||
			    (s > text && g_ascii_isalnum(s[-1])))
				continue;
			n = url_len(s);
			if (n > schemes[i].nl + schemes[i].rl)
				start = s;
			break;
		}
		if (start == NULL) {
			colon++;
			continue;
		}
		html_text(out, plain, start - plain);
		g_string_append(out, "<a href=\"");
		html_attr(out, start, (gssize)n);
		g_string_append(out, "\" rel=\"noopener noreferrer\">");
		html_text(out, start, (gssize)n);
		g_string_append(out, "</a>");
		plain = colon = start + n;
	}
	html_text(out, plain, -1);
}

/* The template with its one "%s" replaced by arg (templates are constant
 * strings of this file, but the compiler cannot check that). */
static char *
fill(const char *tmpl, const char *arg)
{
	const char *p = strstr(tmpl, "%s");

	if (p == NULL)
		return g_strdup(tmpl);
	return g_strdup_printf("%.*s%s%s", (int)(p - tmpl), tmpl, arg, p + 2);
}

static void
header_row(GString *out, const char *label, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return;
	g_string_append(out, "<dt>");
	html_text(out, label, -1);
	g_string_append(out, "</dt><dd>");
	page_text(out, value);
	g_string_append(out, "</dd>");
}

static char *
addresses(GMimeMessage *msg, GMimeAddressType t)
{
	InternetAddressList *l = g_mime_message_get_addresses(msg, t);

	if (l == NULL || internet_address_list_length(l) == 0)
		return NULL;
	return internet_address_list_to_string(l, NULL, FALSE);
}

/* g_free of a string of the message's, wiped first. */
static void
wipe_free(char *s)
{
	if (s != NULL)
		sodium_memzero(s, strlen(s));
	g_free(s);
}

static void
link_to(GString *out, const char *base, const char *rest)
{
	html_attr(out, base, -1);
	html_attr(out, rest, -1);
}

/* The message's subject, From, To, Cc and Date: the page's header, in
 * the summary's look (a card). */
static void
message_header(GString *out, const struct lang_page *s,
    const struct page_view *v, const char *subject)
{
	GMimeMessage *msg = v->m->msg;
	char buf[128];

	g_string_append(out, "<h1>");
	page_text(out, subject);
	g_string_append(out, "</h1>\n<h2 class=\"sr\">");
	html_text(out, s->headers, -1);
	g_string_append(out, "</h2><dl class=\"hdr\">");
	char *from = addresses(msg, GMIME_ADDRESS_TYPE_FROM);
	char *to = addresses(msg, GMIME_ADDRESS_TYPE_TO);
	char *cc = addresses(msg, GMIME_ADDRESS_TYPE_CC);
	header_row(out, s->from, from);
	header_row(out, s->to, to);
	header_row(out, s->cc, cc);
	wipe_free(from);
	wipe_free(to);
	wipe_free(cc);
	GDateTime *d = g_mime_message_get_date(msg);
	if (d != NULL) {
		lang_format_date(g_date_time_to_unix(d), v->lang, buf,
		    sizeof(buf));
		header_row(out, s->date, buf);
	}
	g_string_append(out, "</dl>\n");
}

/* The expiry, and the keep button or why there is none. */
static void
message_expiry(GString *out, const struct lang_page *s,
    const struct page_view *v)
{
	char buf[128];

	lang_format_date(v->expires, v->lang, buf, sizeof(buf));
	char *exp = fill(s->expires, buf);
	g_string_append(out, "<div class=\"exp\"><p>");
	html_text(out, exp, -1);
	g_free(exp);
	g_string_append(out, "</p>");
	if (v->kept) {
		g_string_append(out, "<p role=\"status\">");
		html_text(out, s->kept, -1);
		g_string_append(out, "</p>");
	}
	if (v->keep_capped) {
		g_string_append(out, "<p>");
		html_text(out, s->capped, -1);
		g_string_append(out, "</p>");
	} else {
		char days[32];
		g_snprintf(days, sizeof(days), "%lld",
		    (long long)(v->keep_extension / 86400));
		char *label = fill(s->keep, days);
		g_string_append(out, "<form method=\"post\" action=\"");
		link_to(out, v->base, "keep");
		g_string_append(out, "\"><button type=\"submit\">");
		html_text(out, label, -1);
		g_free(label);
		g_string_append(out, "</button></form>");
	}
	g_string_append(out, "</div>\n");
}

/* The read receipt's offer (two forms, no script) or the answer to it. */
static void
message_receipt(GString *out, const struct lang_page *s,
    const struct page_view *v)
{
	const char *answer = NULL;

	switch (v->receipt) {
	case PAGE_RECEIPT_NONE: return;
	case PAGE_RECEIPT_OFFER: break;
	case PAGE_RECEIPT_SENT: answer = s->receipt_sent; break;
	case PAGE_RECEIPT_REFUSED: answer = s->receipt_refused; break;
	case PAGE_RECEIPT_DECIDED: answer = s->receipt_decided; break;
	case PAGE_RECEIPT_FAILED: answer = s->receipt_failed; break;
	}
	g_string_append(out, "<div class=\"exp rcpt\">");
	if (answer != NULL) {
		g_string_append(out, "<p role=\"status\">");
		html_text(out, answer, -1);
		g_string_append(out, "</p></div>\n");
		return;
	}
	g_string_append(out, "<p>");
	html_text(out, s->receipt_ask, -1);
	g_string_append(out, "</p><form method=\"post\" action=\"");
	link_to(out, v->base, "receipt");
	g_string_append(out, "\"><button type=\"submit\">");
	html_text(out, s->receipt_send, -1);
	g_string_append(out, "</button></form><form method=\"post\" "
	    "action=\"");
	link_to(out, v->base, "receipt/no");
	g_string_append(out, "\"><button type=\"submit\">");
	html_text(out, s->receipt_no, -1);
	g_string_append(out, "</button></form></div>\n");
}

/* The text body and the sandboxed HTML body; whether there was either. */
static bool
message_bodies(GString *out, const struct lang_page *s,
    const struct page_view *v)
{
	bool any = false;

	if (v->m->text_idx >= 0) {
		char *t = web_part_text(v->m->leaves->pdata[v->m->text_idx]);
		if (t != NULL) {
			g_string_append(out, "<section aria-labelledby=\"h-text\">"
			    "<h2 id=\"h-text\">");
			html_text(out, s->message, -1);
			g_string_append(out, "</h2><div class=\"text\">");
			page_linkify(out, t);
			g_string_append(out, "</div></section>\n");
			wipe_free(t);
			any = true;
		}
	}
	if (v->m->html_idx >= 0) {
		g_string_append(out, "<section aria-labelledby=\"h-html\">"
		    "<h2 id=\"h-html\">");
		html_text(out, s->formatted, -1);
		g_string_append(out, "</h2><iframe sandbox=\"allow-popups "
		    "allow-popups-to-escape-sandbox\" title=\"");
		html_attr(out, s->html_title, -1);
		g_string_append(out, "\" src=\"");
		link_to(out, v->base, v->remote_images ? "html?images=1" : "html");
		g_string_append(out, "\"></iframe>");
		if (v->allow_remote_images && !v->remote_images) {
			g_string_append(out, "<p><a href=\"");
			link_to(out, v->base, "?images=1");
			g_string_append(out, "\">");
			html_text(out, s->show_remote, -1);
			g_string_append(out, "</a></p>");
		}
		g_string_append(out, "</section>\n");
		any = true;
	}
	return any;
}

/* Inline raster images not already in the HTML body's reach. */
static void
message_images(GString *out, const struct lang_page *s,
    const struct page_view *v)
{
	bool head = false;
	char buf[64];

	for (guint i = 0; i < v->m->leaves->len; i++) {
		GMimeObject *o = v->m->leaves->pdata[i];
		const char *disp = g_mime_object_get_disposition(o);
		if (!web_part_is_raster(o) || (disp != NULL &&
		    g_ascii_strcasecmp(disp, "attachment") == 0) ||
		    (v->m->html_idx >= 0 &&
		    g_mime_object_get_content_id(o) != NULL))
			continue;
		if (!head) {
			g_string_append(out, "<section aria-labelledby=\"h-img\">"
			    "<h2 id=\"h-img\">");
			html_text(out, s->images, -1);
			g_string_append(out, "</h2>");
			head = true;
		}
		const char *name = web_part_filename(o);
		g_snprintf(buf, sizeof(buf), "part/%u", i);
		g_string_append(out, "<img class=\"inl\" src=\"");
		link_to(out, v->base, buf);
		g_string_append(out, "\" alt=\"");
		html_attr(out, name != NULL ? name : s->images, -1);
		g_string_append(out, "\">");
	}
	if (head)
		g_string_append(out, "</section>\n");
}

/* One line of the attachment list: its download link, type and size. */
static void
attachment_item(GString *out, const struct page_view *v, GMimeObject *o,
    guint i)
{
	const char *name = web_part_filename(o);
	char *type = web_part_mime_type(o);
	char size[64], buf[64];

	lang_format_size(web_part_size(o), v->lang, size, sizeof(size));
	g_snprintf(buf, sizeof(buf), "part/%u?download=1", i);
	g_string_append(out, "<li><a href=\"");
	link_to(out, v->base, buf);
	g_string_append(out, "\">");
	if (name != NULL && name[0] != '\0')
		page_text(out, name);
	else
		g_string_append_printf(out, "part-%u", i);
	g_string_append(out, "</a> <span class=\"meta\">(");
	page_text(out, type);
	g_string_append(out, ", ");
	html_text(out, size, -1);
	g_string_append(out, ")</span></li>");
	g_free(type);
}

/* Attachments: every leaf that is not a body. */
static void
message_attachments(GString *out, const struct lang_page *s,
    const struct page_view *v)
{
	bool head = false;

	for (guint i = 0; i < v->m->leaves->len; i++) {
		if ((int)i == v->m->text_idx || (int)i == v->m->html_idx)
			continue;
		if (!head) {
			g_string_append(out, "<section aria-labelledby=\"h-att\">"
			    "<h2 id=\"h-att\">");
			html_text(out, s->attachments, -1);
			g_string_append(out, "</h2><ul class=\"att\">");
			head = true;
		}
		attachment_item(out, v, v->m->leaves->pdata[i], i);
	}
	if (head)
		g_string_append(out, "</ul></section>\n");
}

/* A message cut short (parts.h): say so, and how much is missing. */
static void
message_cut_note(GString *out, const struct lang_page *s,
    const struct page_view *v)
{
	char n[32];

	if (!v->m->cut)
		return;
	g_snprintf(n, sizeof n, "%zu", v->m->left_out);
	char *note = v->m->left_out > 0 ? fill(s->left_out, n) :
	    g_strdup(s->left_out_some);
	g_string_append(out, "<p class=\"cut\" role=\"note\">");
	html_text(out, note, -1);
	g_string_append(out, "</p>\n");
	g_free(note);
}

void
page_message(GString *out, const struct page_view *v)
{
	const struct lang_page *s = strings_for(v->lang);
	const char *subject = g_mime_message_get_subject(v->m->msg);

	if (subject == NULL || subject[0] == '\0')
		subject = s->no_subject;
	page_open(out, v->lang, subject);
	g_string_append(out, "<div class=\"card\">");
	message_header(out, s, v, subject);
	message_expiry(out, s, v);
	message_receipt(out, s, v);
	g_string_append(out, "</div>\n");
	if (!message_bodies(out, s, v)) {
		g_string_append(out, "<p>");
		html_text(out, s->no_body, -1);
		g_string_append(out, "</p>\n");
	}
	message_images(out, s, v);
	message_attachments(out, s, v);
	message_cut_note(out, s, v);
	g_string_append(out, "<p class=\"eml\"><a href=\"");
	link_to(out, v->base, "eml");
	g_string_append(out, "\">");
	html_text(out, s->eml, -1);
	g_string_append(out, "</a></p>\n");
	page_close(out);
}
