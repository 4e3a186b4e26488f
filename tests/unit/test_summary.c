/* The streaming MIME scan (names, types, decoded sizes, whatever the
 * chunking) and the summary built from the shipped templates. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>

#include "lang.h"
#include "mimescan.h"
#include "summary.h"
#include "units.h"
#include "tests/lib/check_main.h"

#define MSG \
	"From: =?UTF-8?B?Sm/Do28=?= <joao@example.org>\r\n" \
	"Subject: =?ISO-8859-1?Q?Relat=F3rio?=\r\n" \
	"Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n" \
	"MIME-Version: 1.0\r\n" \
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n" \
	"--outer\r\n" \
	"Content-Type: multipart/related; boundary=inner\r\n\r\n" \
	"--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>hi</p>\r\n" \
	"--inner\r\nContent-Type: image/png\r\nContent-ID: <i@x>\r\n" \
	"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--inner--\r\n" \
	"--outer\r\nContent-Type: application/pdf\r\n" \
	"Content-Disposition: attachment; filename*=UTF-8''rel%C3%B3rio.pdf\r\n" \
	"Content-Transfer-Encoding: base64\r\n\r\n" \
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIj\r\nJCUmJygpKissLS4v\r\n" \
	"--outer\r\nContent-Type: text/plain; name=\"notes.txt\"\r\n" \
	"Content-Transfer-Encoding: quoted-printable\r\n\r\n" \
	"a=3Db soft=\r\nbreak\r\nend\r\n" \
	"--outer--\r\nepilogue\r\n"

static void
scan_in_chunks(struct mimescan *s, const char *m, size_t chunk)
{
	size_t len = strlen(m);

	mimescan_init(s);
	for (size_t i = 0; i < len; i += chunk)
		mimescan_feed(s, m + i, len - i < chunk ? len - i : chunk);
	mimescan_finish(s);
}

START_TEST(scan_attachments_any_chunking)
{
	static const size_t chunks[] = { 1, 2, 3, 7, 64, 100000 };
	for (size_t c = 0; c < G_N_ELEMENTS(chunks); c++) {
		struct mimescan s;
		scan_in_chunks(&s, MSG, chunks[c]);
		ck_assert(!s.malformed);
		/* The image of the multipart/related with a Content-ID is
		 * an inline image, not an attachment. */
		ck_assert_uint_eq(s.n_inline, 1);
		ck_assert_str_eq(s.inline_images[0].type, "image/png");
		ck_assert_str_eq(s.inline_images[0].name, "");
		ck_assert_uint_eq(s.inline_images[0].size, 8);
		ck_assert_uint_eq(s.n_attachments, 2);
		ck_assert_str_eq(s.v[0].name, "relório.pdf");
		ck_assert_str_eq(s.v[0].type, "application/pdf");
		ck_assert_uint_eq(s.v[0].size, 48);
		ck_assert_str_eq(s.v[1].name, "notes.txt");
		/* "a=b soft" + "break" CRLF "end" */
		ck_assert_uint_eq(s.v[1].size, strlen("a=b softbreak\r\nend"));
		ck_assert_str_eq(s.subject, "Relatório");
		ck_assert_str_eq(s.from, "João <joao@example.org>");
		mimescan_clear(&s);
	}
}
END_TEST

START_TEST(scan_malformed_input)
{
	struct mimescan s;
	/* unclosed multipart */
	scan_in_chunks(&s, "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: image/gif\r\n\r\nabc\r\n", 5);
	ck_assert(s.malformed);
	ck_assert_uint_eq(s.n_attachments, 1);
	ck_assert_uint_eq(s.v[0].size, 3);
	mimescan_clear(&s);
	/* deeper than MIMESCAN_MAX_DEPTH: cut, not crashed */
	GString *g = g_string_new(NULL);
	for (int i = 0; i < 50; i++)
		g_string_append_printf(g, "Content-Type: multipart/mixed; "
		    "boundary=b%d\r\n\r\n--b%d\r\n", i, i);
	mimescan_init(&s);
	mimescan_feed(&s, g->str, g->len);
	mimescan_finish(&s);
	ck_assert(s.malformed);
	mimescan_clear(&s);
	g_string_free(g, TRUE);
	/* NUL bytes and no headers at all */
	mimescan_init(&s);
	mimescan_feed(&s, "\0\0\r\n\r\n\0", 7);
	mimescan_finish(&s);
	ck_assert_uint_eq(s.n_attachments, 0);
	mimescan_clear(&s);
}
END_TEST

/* RFC 5322: 998 characters before CRLF is a legal line; 999 is cut (and
 * the scan says the message is malformed), in any chunking. */
START_TEST(scan_line_limits)
{
	for (int extra = 0; extra <= 1; extra++) {
		GString *m = g_string_new("Content-Type: application/pdf\r\n\r\n");
		for (int i = 0; i < 998 + extra; i++)
			g_string_append_c(m, 'x');
		g_string_append(m, "\r\nend\r\n");
		static const size_t chunks[] = { 1, 7, 997, 999, 100000 };
		for (size_t c = 0; c < G_N_ELEMENTS(chunks); c++) {
			struct mimescan s;
			scan_in_chunks(&s, m->str, chunks[c]);
			ck_assert_msg(s.malformed == (extra == 1),
			    "%d extra, chunk %zu", extra, chunks[c]);
			ck_assert_uint_eq(s.n_attachments, 1);
			/* The size counts the whole line, cut or not. */
			ck_assert_uint_eq(s.v[0].size, 998 + extra + 2 + 3);
			mimescan_clear(&s);
		}
		g_string_free(m, TRUE);
	}
}
END_TEST

static char *
part_text(GMimeObject *o)
{
	return g_mime_text_part_get_text(GMIME_TEXT_PART(o));
}

START_TEST(summary_parses_and_names_attachments)
{
	static const char *langs[] = { "en", "pt-BR", "es" };
	for (int l = 0; l < 3; l++) {
		struct mimescan s;
		struct summary sum;
		char *err = NULL;
		scan_in_chunks(&s, MSG, 13);
		struct summary_input in = { .lang = langs[l],
		    .template_dir = "templates", .scan = &s,
		    .link = "https://mail.example.org/m/"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		    .expires = 1795000000 };
		ck_assert_msg(summary_build(&in, &sum, &err) == 0, "%s", err);
		ck_assert_uint_lt(sum.body_len, 4096);
		/* Reparse as a whole message with GMime. */
		char *whole = g_strdup_printf("MIME-Version: 1.0\r\n"
		    "Content-Type: %s\r\n\r\n%s", sum.content_type, sum.body);
		GMimeStream *ms = g_mime_stream_mem_new_with_buffer(whole,
		    strlen(whole));
		GMimeParser *p = g_mime_parser_new_with_stream(ms);
		GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);
		ck_assert_ptr_nonnull(msg);
		GMimeObject *top = g_mime_message_get_mime_part(msg);
		ck_assert(GMIME_IS_MULTIPART(top));
		ck_assert_int_eq(g_mime_multipart_get_count(
		    GMIME_MULTIPART(top)), 2);
		char *txt = part_text(g_mime_multipart_get_part(
		    GMIME_MULTIPART(top), 0));
		char *html = part_text(g_mime_multipart_get_part(
		    GMIME_MULTIPART(top), 1));
		ck_assert_ptr_nonnull(strstr(txt, "relório.pdf"));
		ck_assert_ptr_nonnull(strstr(txt, "Relatório"));
		ck_assert_ptr_nonnull(strstr(txt, "notes.txt"));
		ck_assert_ptr_nonnull(strstr(txt, in.link));
		ck_assert_ptr_nonnull(strstr(html, "href=\"https://mail.example.org/m/"));
		ck_assert_ptr_nonnull(strstr(html, "João &lt;joao@example.org&gt;"));
		ck_assert_ptr_null(strstr(html, "<script"));
		ck_assert_ptr_null(strstr(html, "<img"));
		/* CRLF lines of at most 78 characters. */
		gchar **lines = g_strsplit(sum.body, "\r\n", -1);
		for (size_t i = 0; lines[i] != NULL; i++) {
			ck_assert_ptr_null(strchr(lines[i], '\n'));
			ck_assert_uint_le(strlen(lines[i]), 78);
		}
		g_strfreev(lines);
		g_free(txt);
		g_free(html);
		g_object_unref(msg);
		g_object_unref(p);
		g_object_unref(ms);
		g_free(whole);
		summary_free(&sum);
		mimescan_clear(&s);
	}
}
END_TEST

START_TEST(summary_missing_template_is_an_error)
{
	struct mimescan s;
	struct summary sum;
	char *err = NULL;
	scan_in_chunks(&s, MSG, 100);
	struct summary_input in = { .lang = "xx", .template_dir = "templates",
	    .scan = &s, .link = "https://x/m/t", .expires = 0 };
	ck_assert_int_eq(summary_build(&in, &sum, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "templates/xx/summary.txt"));
	g_free(err);
	mimescan_clear(&s);
}
END_TEST

START_TEST(summary_escapes_html)
{
	struct mimescan s;
	struct summary sum;
	char *err = NULL;
	scan_in_chunks(&s, "Subject: <script>alert(1)</script>\r\n"
	    "Content-Type: application/x; name=\"<b>.exe\"\r\n\r\nx\r\n", 100);
	struct summary_input in = { .lang = "en", .template_dir = "templates",
	    .scan = &s, .link = "https://x/m/t", .expires = 0 };
	ck_assert_int_eq(summary_build(&in, &sum, &err), 0);
	/* The HTML part (after its header) never carries the raw markup;
	 * the text/plain part may, it is not markup there. */
	const char *html = strstr(sum.body, "Content-Type: text/html");
	ck_assert_ptr_nonnull(html);
	ck_assert_ptr_null(strstr(html, "<script"));
	ck_assert_ptr_null(strstr(html, "<b>.exe"));
	ck_assert_ptr_nonnull(strstr(html, "&lt;script&gt;"));
	summary_free(&sum);
	mimescan_clear(&s);
}
END_TEST

/* doc/ARCHITECTURE.md: the summary is small. Five attachments with ordinary names
 * and types stay under 2 KB. */
START_TEST(summary_under_2k_with_five_attachments)
{
	GString *m = g_string_new("From: Alice Sender <alice@example.org>\r\n"
	    "Subject: Quarterly report with five attachments\r\n"
	    "Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
	for (int i = 0; i < 5; i++)
		g_string_append_printf(m, "--b\r\nContent-Type: application/pdf"
		    "\r\nContent-Disposition: attachment; filename="
		    "\"quarterly-report-part-%d.pdf\"\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n", i);
	g_string_append(m, "--b--\r\n");
	struct mimescan s;
	struct summary sum;
	char *err = NULL;
	scan_in_chunks(&s, m->str, 4096);
	ck_assert_uint_eq(s.n_attachments, 5);
	struct summary_input in = { .lang = "pt-BR", .template_dir = "templates",
	    .scan = &s, .link = "https://mail.example.org/m/"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", .expires = 1795000000 };
	ck_assert_int_eq(summary_build(&in, &sum, &err), 0);
	ck_assert_uint_lt(sum.body_len, 2048);
	summary_free(&sum);
	mimescan_clear(&s);
	g_string_free(m, TRUE);
}
END_TEST

/* Five attachments with long names and the long OOXML types stay under
 * 2 KB in both languages: the type is left out when the extension says
 * it, a long name is shortened in the middle; still valid MIME, CRLF lines
 * of at most 78 characters, every attachment named. */
START_TEST(summary_under_2k_with_five_long_ooxml_attachments)
{
	static const struct { const char *ext, *type; } t[] = {
		{ "docx", "application/vnd.openxmlformats-officedocument."
		    "wordprocessingml.document" },
		{ "xlsx", "application/vnd.openxmlformats-officedocument."
		    "spreadsheetml.sheet" },
		{ "pptx", "application/vnd.openxmlformats-officedocument."
		    "presentationml.presentation" },
		{ "docx", "application/vnd.openxmlformats-officedocument."
		    "wordprocessingml.document" },
		{ "xlsx", "application/vnd.openxmlformats-officedocument."
		    "spreadsheetml.sheet" },
	};
	static const char *langs[] = { "en", "pt-BR" };
	/* 58-character names; the second set with accents (RFC 2231). */
	static const char *names[] = {
		"Quarterly-financial-report-2026-Q3-final-board-version",
		"Relat%C3%B3rio-financeiro-trimestral-2026-T3-vers%C3%A3o-final" };
	static const char *want[] = {
		"Quarterly-financial-report-2026-Q3-final-board-version",
		"Relatório-financeiro-trimestral-2026-T3-versão-final" };
	for (int l = 0; l < 2; l++) {
		GString *m = g_string_new(NULL);
		g_string_append(m, l == 0 ?
		    "From: Alice Sender <alice.sender@finance.example.org>\r\n"
		    "Subject: Quarterly reports and presentations for the "
		    "board meeting\r\n" :
		    "From: =?UTF-8?Q?Jo=C3=A3o_Magalh=C3=A3es?= "
		    "<joao.magalhaes@financeiro.example.com.br>\r\n"
		    "Subject: =?UTF-8?Q?Relat=C3=B3rios_trimestrais_para_a_"
		    "reuni=C3=A3o_do_conselho?=\r\n");
		g_string_append(m, "Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
		    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		    "--b\r\nContent-Type: text/plain\r\n\r\nSee the files.\r\n");
		for (int i = 0; i < 5; i++) {
			char *fname = g_strdup_printf("%s-%d.%s", names[l], i,
			    t[i].ext);
			g_string_append_printf(m, "--b\r\nContent-Type: %s\r\n"
			    "Content-Disposition: attachment; filename*=UTF-8''"
			    "%s\r\nContent-Transfer-Encoding: base64\r\n\r\n"
			    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n",
			    t[i].type, fname);
			g_free(fname);
		}
		g_string_append(m, "--b--\r\n");
		struct mimescan s;
		struct summary sum;
		char *err = NULL;
		scan_in_chunks(&s, m->str, 4096);
		ck_assert_uint_eq(s.n_attachments, 5);
		struct summary_input in = { .lang = langs[l],
		    .template_dir = "templates", .scan = &s,
		    .link = "https://mail.finance.example.org/m/"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		    .expires = 1795000000 };
		ck_assert_msg(summary_build(&in, &sum, &err) == 0, "%s", err);
		ck_assert_msg(sum.body_len < 2048, "%s: %zu bytes", langs[l],
		    sum.body_len);
		gchar **lines = g_strsplit(sum.body, "\r\n", -1);
		for (size_t i = 0; lines[i] != NULL; i++) {
			ck_assert_ptr_null(strchr(lines[i], '\n'));
			ck_assert_uint_le(strlen(lines[i]), 78);
		}
		g_strfreev(lines);
		char *whole = g_strdup_printf("MIME-Version: 1.0\r\n"
		    "Content-Type: %s\r\n\r\n%s", sum.content_type, sum.body);
		GMimeStream *ms = g_mime_stream_mem_new_with_buffer(whole,
		    strlen(whole));
		GMimeParser *p = g_mime_parser_new_with_stream(ms);
		GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);
		ck_assert_ptr_nonnull(msg);
		GMimeObject *top = g_mime_message_get_mime_part(msg);
		ck_assert(GMIME_IS_MULTIPART(top));
		ck_assert_int_eq(g_mime_multipart_get_count(
		    GMIME_MULTIPART(top)), 2);
		for (int k = 0; k < 2; k++) {
			GMimeObject *part = g_mime_multipart_get_part(
			    GMIME_MULTIPART(top), k);
			GMimeContentType *ct = g_mime_object_get_content_type(part);
			ck_assert(g_mime_content_type_is_type(ct, "text",
			    k == 0 ? "plain" : "html"));
			char *text = part_text(part);
			for (int i = 0; i < 5; i++) {
				/* A name this long keeps its end visible. */
				char *n = g_strdup_printf("%s-%d.%s", want[l],
				    i, t[i].ext);
				const char *tail = g_utf8_offset_to_pointer(n,
				    g_utf8_strlen(n, -1) - 12);
				ck_assert_msg(strstr(text, tail) != NULL,
				    "%s not in %s", tail, text);
				g_free(n);
			}
			ck_assert_ptr_null(strstr(text, "openxmlformats"));
			ck_assert_ptr_nonnull(strstr(text, in.link));
			g_free(text);
		}
		g_object_unref(msg);
		g_object_unref(p);
		g_object_unref(ms);
		g_free(whole);
		summary_free(&sum);
		mimescan_clear(&s);
		g_string_free(m, TRUE);
	}
}
END_TEST

/* The type is left out only when the extension explains it: a long type
 * under another extension, or a short one, is still shown. */
START_TEST(summary_type_shown_unless_extension_says_it)
{
	struct mimescan s;
	struct summary sum;
	char *err = NULL;
	scan_in_chunks(&s, "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: application/vnd.openxmlformats-officedocument"
	    ".wordprocessingml.document\r\nContent-Disposition: attachment; "
	    "filename=invoice.pdf\r\n\r\nx\r\n"
	    "--b\r\nContent-Type: application/pdf\r\nContent-Disposition: "
	    "attachment; filename=plain.pdf\r\n\r\nx\r\n"
	    "--b\r\nContent-Type: application/vnd.openxmlformats-officedocument"
	    ".spreadsheetml.sheet\r\nContent-Disposition: attachment; "
	    "filename=SHEET.XLSX\r\n\r\nx\r\n--b--\r\n", 100);
	struct summary_input in = { .lang = "en", .template_dir = "templates",
	    .scan = &s, .link = "https://x/m/t", .expires = 0 };
	ck_assert_int_eq(summary_build(&in, &sum, &err), 0);
	GMimeStream *ms = g_mime_stream_mem_new_with_buffer(sum.body,
	    sum.body_len);
	GMimeStream *f = g_mime_stream_filter_new(ms);
	GMimeFilter *qp = g_mime_filter_basic_new(
	    GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE, FALSE);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), qp);
	GByteArray *ba = g_byte_array_new();
	GMimeStream *out = g_mime_stream_mem_new_with_byte_array(ba);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(out), FALSE);
	g_mime_stream_write_to_stream(f, out);
	g_byte_array_append(ba, (const guint8 *)"", 1);
	const char *txt = (const char *)ba->data;
	ck_assert_ptr_nonnull(strstr(txt, "invoice.pdf (application/vnd."
	    "openxmlformats-officedocument.wordprocessingml.document, "));
	ck_assert_ptr_nonnull(strstr(txt, "plain.pdf (application/pdf, "));
	ck_assert_ptr_nonnull(strstr(txt, "SHEET.XLSX (1 byte)"));
	g_object_unref(out);
	g_byte_array_free(ba, TRUE);
	g_object_unref(qp);
	g_object_unref(f);
	g_object_unref(ms);
	summary_free(&sum);
	mimescan_clear(&s);
}
END_TEST

/* Inline images (image parts of a multipart/related with a Content-ID and
 * no "attachment" disposition) are kept out of the attachment list and
 * named in their own short block; an image marked as an attachment, or one
 * outside a multipart/related, is still an attachment. */
#define INLINE_MSG \
	"Subject: inline\r\n" \
	"Content-Type: multipart/mixed; boundary=m\r\n\r\n" \
	"--m\r\nContent-Type: multipart/related; boundary=r\r\n\r\n" \
	"--r\r\nContent-Type: text/html\r\n\r\n" \
	"<p><img src=\"cid:a@x\"><img src=\"cid:b@x\"></p>\r\n" \
	"--r\r\nContent-Type: image/png; name=logo.png\r\n" \
	"Content-Disposition: inline; filename=logo.png\r\n" \
	"Content-ID: <a@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n" \
	"iVBORw0KGgo=\r\n" \
	"--r\r\nContent-Type: image/gif\r\nContent-ID: <b@x>\r\n\r\nGIF89a\r\n" \
	"--r\r\nContent-Type: image/jpeg\r\nContent-ID: <c@x>\r\n" \
	"Content-Disposition: attachment; filename=photo.jpg\r\n\r\nJFIF\r\n" \
	"--r--\r\n" \
	"--m\r\nContent-Type: image/png\r\nContent-ID: <d@x>\r\n" \
	"Content-Disposition: inline; filename=outside.png\r\n\r\nPNG\r\n" \
	"--m--\r\n"

static char *
decoded_part(const struct summary *sum, int k)
{
	char *whole = g_strdup_printf("MIME-Version: 1.0\r\nContent-Type: %s"
	    "\r\n\r\n%s", sum->content_type, sum->body);
	GMimeStream *ms = g_mime_stream_mem_new_with_buffer(whole,
	    strlen(whole));
	GMimeParser *p = g_mime_parser_new_with_stream(ms);
	GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);
	ck_assert_ptr_nonnull(msg);
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	ck_assert(GMIME_IS_MULTIPART(top));
	char *text = part_text(g_mime_multipart_get_part(GMIME_MULTIPART(top),
	    k));
	g_object_unref(msg);
	g_object_unref(p);
	g_object_unref(ms);
	g_free(whole);
	return text;
}

START_TEST(inline_images_kept_apart)
{
	struct mimescan s;
	struct summary sum;
	char *err = NULL;

	scan_in_chunks(&s, INLINE_MSG, 5);
	ck_assert_uint_eq(s.n_inline, 2);
	ck_assert_str_eq(s.inline_images[0].name, "logo.png");
	ck_assert_uint_eq(s.inline_images[0].size, 8);
	ck_assert_str_eq(s.inline_images[1].type, "image/gif");
	ck_assert_uint_eq(s.n_attachments, 2);
	ck_assert_str_eq(s.v[0].name, "photo.jpg");
	ck_assert_str_eq(s.v[1].name, "outside.png");
	struct summary_input in = { .lang = "en", .template_dir = "templates",
	    .scan = &s, .link = "https://x/m/t", .expires = 0 };
	ck_assert_int_eq(summary_build(&in, &sum, &err), 0);
	char *txt = decoded_part(&sum, 0), *html = decoded_part(&sum, 1);
	const char *att = strstr(txt, "Attachments:");
	const char *img = strstr(txt, "Images shown in the text of the message:");
	ck_assert_ptr_nonnull(att);
	ck_assert_ptr_nonnull(img);
	ck_assert(img > att);
	/* The attachments before the block, the inline images in it. */
	const char *photo = strstr(txt, "photo.jpg (image/jpeg, 4 bytes)");
	const char *logo = strstr(txt, "logo.png (image/png, 8 bytes)");
	ck_assert_ptr_nonnull(photo);
	ck_assert_ptr_nonnull(logo);
	ck_assert(photo < img && logo > img);
	ck_assert_ptr_nonnull(strstr(img, "- - (image/gif, "));
	ck_assert_ptr_nonnull(strstr(html,
	    "<p>Images shown in the text of the message:</p>"));
	/* HTML list items end at the next item (</li> is optional): bytes
	 * kept for the 2 KB budget. */
	ck_assert_ptr_nonnull(strstr(html, "<li>logo.png (image/png, 8 bytes)\r\n"));
	g_free(txt);
	g_free(html);
	summary_free(&sum);
	mimescan_clear(&s);
}
END_TEST

/* Only inline images: the attachment list says none; a TemplateDir without
 * the inline templates leaves the block out. */
START_TEST(inline_images_only)
{
	struct mimescan s;
	struct summary sum;
	char *err = NULL;

	scan_in_chunks(&s, "Content-Type: multipart/related; boundary=r\r\n\r\n"
	    "--r\r\nContent-Type: text/html\r\n\r\n<img src=\"cid:a@x\">\r\n"
	    "--r\r\nContent-Type: image/png\r\nContent-ID: <a@x>\r\n\r\nP\r\n"
	    "--r--\r\n", 7);
	ck_assert_uint_eq(s.n_attachments + s.n_more, 0);
	ck_assert_uint_eq(s.n_inline, 1);
	struct summary_input in = { .lang = "pt-BR",
	    .template_dir = "templates", .scan = &s, .link = "https://x/m/t",
	    .expires = 0 };
	ck_assert_int_eq(summary_build(&in, &sum, &err), 0);
	char *txt = decoded_part(&sum, 0);
	ck_assert_ptr_nonnull(strstr(txt, "Anexos:\r\n  nenhum\r\n"));
	ck_assert_ptr_nonnull(strstr(txt, "Imagens exibidas no texto da "
	    "mensagem:\r\n  - - (image/png, 1 byte)"));
	g_free(txt);
	summary_free(&sum);

	/* An administrator's directory with only the six required files. */
	char dir[] = "/tmp/pullmail-test-templates-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char *sub = g_build_filename(dir, "en", NULL);
	g_mkdir(sub, 0700);
	static const char *const names[] = { "summary.txt", "summary.html",
	    "item.txt", "item.html", "none.txt", "none.html" };
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		char *from = g_build_filename("templates", "en", names[i], NULL);
		char *to = g_build_filename(sub, names[i], NULL);
		char *text = NULL;
		gsize len = 0;
		ck_assert(g_file_get_contents(from, &text, &len, NULL));
		ck_assert(g_file_set_contents(to, text, len, NULL));
		g_free(text);
		g_free(from);
		g_free(to);
	}
	ck_assert_int_eq(summary_check_templates(dir, "en", &err), 0);
	in.lang = "en";
	in.template_dir = dir;
	ck_assert_int_eq(summary_build(&in, &sum, &err), 0);
	txt = decoded_part(&sum, 0);
	ck_assert_ptr_null(strstr(txt, "Images"));
	ck_assert_ptr_nonnull(strstr(txt, "Attachments:\r\n  none\r\n"));
	g_free(txt);
	summary_free(&sum);
	/* A missing required template is refused by the check. */
	char *gone = g_build_filename(sub, "item.txt", NULL);
	ck_assert_int_eq(unlink(gone), 0);
	ck_assert_int_eq(summary_check_templates(dir, "en", &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "item.txt"));
	g_free(err);
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		char *f = g_build_filename(sub, names[i], NULL);
		unlink(f);
		g_free(f);
	}
	rmdir(sub);
	rmdir(dir);
	g_free(gone);
	g_free(sub);
	mimescan_clear(&s);
}
END_TEST

/* A message without a Date: field is dated by when it reached the sender's
 * server; one with a Date: field keeps its own. */
START_TEST(summary_without_date_shows_received)
{
	const int64_t received = 1795000000; /* 18 November 2026 */
	char when[96];
	lang_format_date(received, "en", when, sizeof(when));
	const char *msgs[] = {
		"From: a@example.org\r\nSubject: no date\r\n\r\nbody\r\n",
		"From: a@example.org\r\nSubject: dated\r\n"
		    "Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\nbody\r\n",
	};
	for (int i = 0; i < 2; i++) {
		struct mimescan s;
		struct summary sum;
		char *err = NULL;
		scan_in_chunks(&s, msgs[i], 4096);
		struct summary_input in = { .lang = "en",
		    .template_dir = "templates", .scan = &s,
		    .link = "https://x/m/t", .expires = 0,
		    .received = received };
		ck_assert_int_eq(summary_build(&in, &sum, &err), 0);
		for (int part = 0; part < 2; part++) {
			char *text = decoded_part(&sum, part);
			ck_assert_ptr_nonnull(text);
			if (i == 0)
				ck_assert_ptr_nonnull(strstr(text, when));
			else {
				ck_assert_ptr_null(strstr(text, when));
				ck_assert_ptr_nonnull(strstr(text,
				    "Sun, 22 Nov 2026 10:00:00 +0000"));
			}
			g_free(text);
		}
		summary_free(&sum);
		mimescan_clear(&s);
	}
}
END_TEST

/* A very long subject or sender is shortened: the summary stays bounded
 * whatever the header (the full header is in the message itself). */
START_TEST(summary_long_subject_bounded)
{
	struct mimescan s;
	struct summary sum;
	char *err = NULL;
	/* Folded over many lines (one line is cut at 998 bytes). */
	GString *m = g_string_new("Subject: ");
	for (int i = 0; i < 2000; i++)
		g_string_append(m, i % 10 == 9 ? "word\r\n " : "word ");
	g_string_append(m, "\r\nFrom: ");
	for (int i = 0; i < 2000; i++)
		g_string_append(m, i % 10 == 9 ? "name\r\n " : "name ");
	g_string_append(m, "<a@example.org>\r\n\r\nbody\r\n");
	scan_in_chunks(&s, m->str, 512);
	ck_assert_ptr_nonnull(s.subject);
	ck_assert_uint_gt(strlen(s.subject), 9000);
	struct summary_input in = { .lang = "en", .template_dir = "templates",
	    .scan = &s, .link = "https://x/m/t", .expires = 0 };
	ck_assert_int_eq(summary_build(&in, &sum, &err), 0);
	ck_assert_uint_lt(sum.body_len, 2048);
	char *txt = decoded_part(&sum, 0);
	ck_assert_ptr_nonnull(strstr(txt, "Subject: word word "));
	ck_assert_ptr_nonnull(strstr(txt, "..."));
	/* The long display name is cut, not the address after it. */
	ck_assert_ptr_nonnull(strstr(txt, "From:    name name "));
	ck_assert_ptr_nonnull(strstr(txt, "... <a@example.org>"));
	g_free(txt);
	char *html = decoded_part(&sum, 1);
	ck_assert_ptr_nonnull(strstr(html, "&lt;a@example.org&gt;"));
	g_free(html);
	summary_free(&sum);
	mimescan_clear(&s);
	g_string_free(m, TRUE);
}
END_TEST

/* Parts the scan could not read: an attachment nested deeper than
 * MIMESCAN_MAX_DEPTH, a multipart without a boundary, a Content-* field
 * lost to a cut line. The scan says so (incomplete); a missing closing
 * boundary or a long line elsewhere, where every part was still read,
 * does not. */
static char *
nested(int depth, bool top_attachment)
{
	GString *g = g_string_new("Subject: deep\r\n"
	    "Content-Type: multipart/mixed; boundary=top\r\n\r\n");
	if (top_attachment)
		g_string_append(g, "--top\r\nContent-Type: application/pdf; "
		    "name=seen.pdf\r\n\r\nPDF\r\n");
	g_string_append(g, "--top\r\n");
	for (int i = 0; i < depth; i++)
		g_string_append_printf(g, "Content-Type: multipart/mixed; "
		    "boundary=b%d\r\n\r\n--b%d\r\n", i, i);
	g_string_append(g, "Content-Type: application/x-msdownload; "
	    "name=hidden.exe\r\n\r\nMZ\r\n");
	for (int i = depth - 1; i >= 0; i--)
		g_string_append_printf(g, "--b%d--\r\n", i);
	g_string_append(g, "--top--\r\n");
	return g_string_free(g, FALSE);
}

START_TEST(scan_says_what_it_could_not_read)
{
	struct mimescan s;
	/* 31 levels under the top: every part read, the deep one listed */
	char *m = nested(MIMESCAN_MAX_DEPTH - 1, false);
	scan_in_chunks(&s, m, 7);
	ck_assert(!s.incomplete);
	ck_assert_uint_eq(s.n_attachments, 1);
	ck_assert_str_eq(s.v[0].name, "hidden.exe");
	mimescan_clear(&s);
	g_free(m);
	/* 40 levels: the attachment at the bottom is not read */
	m = nested(40, true);
	scan_in_chunks(&s, m, 5);
	ck_assert(s.incomplete);
	ck_assert_uint_eq(s.n_attachments, 1);
	ck_assert_str_eq(s.v[0].name, "seen.pdf");
	mimescan_clear(&s);
	g_free(m);
	/* a multipart without a boundary */
	scan_in_chunks(&s, "Content-Type: multipart/mixed\r\n\r\n--x\r\n"
	    "Content-Type: image/png; name=a.png\r\n\r\nP\r\n", 3);
	ck_assert(s.incomplete);
	mimescan_clear(&s);
	/* a part's Content-Type on a line cut at 998 characters, and one
	 * continued on such a line */
	for (int cont = 0; cont <= 1; cont++) {
		GString *g = g_string_new("Content-Type: multipart/mixed; "
		    "boundary=b\r\n\r\n--b\r\nContent-Type: image/png;");
		g_string_append(g, cont ? "\r\n name=" : " name=");
		for (int i = 0; i < 1200; i++)
			g_string_append_c(g, 'x');
		g_string_append(g, ".png\r\n\r\nP\r\n--b--\r\n");
		scan_in_chunks(&s, g->str, 64);
		ck_assert_msg(s.incomplete, "continued %d", cont);
		mimescan_clear(&s);
		g_string_free(g, TRUE);
	}
	/* Not incomplete: a long line in another field or in a body, and a
	 * missing closing boundary after the last part. */
	GString *g = g_string_new("Content-Type: multipart/mixed; "
	    "boundary=b\r\nX-Long: ");
	for (int i = 0; i < 1200; i++)
		g_string_append_c(g, 'y');
	g_string_append(g, "\r\n\r\n--b\r\nContent-Type: application/pdf"
	    "\r\n\r\n");
	for (int i = 0; i < 1200; i++)
		g_string_append_c(g, 'z');
	g_string_append(g, "\r\n");
	scan_in_chunks(&s, g->str, 64);
	ck_assert(s.malformed);
	ck_assert(!s.incomplete);
	ck_assert_uint_eq(s.n_attachments, 1);
	mimescan_clear(&s);
	g_string_free(g, TRUE);
}
END_TEST

/* The summary of such a message lists what was found and says plainly
 * that there is more; it never says "none" for it. In every shipped
 * language, and from a template directory without incomplete.*. */
START_TEST(summary_says_parts_could_not_be_listed)
{
	static const struct { const char *lang, *none, *txt, *html; } want[] = {
	    { "en", "  none", "This message has parts the summary could not "
	      "list: open it\r\n  to see everything.",
	      "<li>This message has parts the summary could not list: open it "
	      "to see everything.</li>" },
	    { "pt-BR", "  nenhum", "Esta mensagem tem partes que o resumo não "
	      "conseguiu listar:\r\n  abra-a para ver tudo.",
	      "<li>Esta mensagem tem partes que o resumo não conseguiu listar: "
	      "abra-a para ver tudo.</li>" },
	};
	char dir[] = "/tmp/pullmail-test-templates-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	static const char *const names[] = { "summary.txt", "summary.html",
	    "item.txt", "item.html", "none.txt", "none.html" };
	for (size_t l = 0; l < G_N_ELEMENTS(want); l++) {
		char *sub = g_build_filename(dir, want[l].lang, NULL);
		g_mkdir(sub, 0700);
		for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
			char *from = g_build_filename("templates", want[l].lang,
			    names[i], NULL);
			char *to = g_build_filename(sub, names[i], NULL);
			char *text = NULL;
			gsize len = 0;
			ck_assert(g_file_get_contents(from, &text, &len, NULL));
			ck_assert(g_file_set_contents(to, text, len, NULL));
			g_free(text);
			g_free(from);
			g_free(to);
		}
		g_free(sub);
	}
	for (size_t l = 0; l < G_N_ELEMENTS(want); l++) {
		for (int custom = 0; custom <= 1; custom++) {
			for (int top = 0; top <= 1; top++) {
				struct mimescan s;
				struct summary sum;
				char *err = NULL;
				char *m = nested(40, top);
				scan_in_chunks(&s, m, 100);
				struct summary_input in = { .lang = want[l].lang,
				    .template_dir = custom ? dir : "templates",
				    .scan = &s, .link = "https://x/m/t",
				    .expires = 0 };
				ck_assert_msg(summary_build(&in, &sum, &err) == 0,
				    "%s", err);
				char *txt = decoded_part(&sum, 0);
				char *html = decoded_part(&sum, 1);
				ck_assert_msg(strstr(txt, want[l].txt) != NULL,
				    "%s custom %d: %s", want[l].lang, custom, txt);
				ck_assert_msg(strstr(html, want[l].html) != NULL,
				    "%s custom %d: %s", want[l].lang, custom, html);
				ck_assert_ptr_null(strstr(txt, want[l].none));
				ck_assert((strstr(txt, "seen.pdf") != NULL) == top);
				ck_assert_ptr_null(strstr(txt, "hidden.exe"));
				g_free(txt);
				g_free(html);
				summary_free(&sum);
				mimescan_clear(&s);
				g_free(m);
			}
		}
	}
	/* A message read whole says nothing of the kind. */
	struct mimescan s;
	struct summary sum;
	char *err = NULL;
	scan_in_chunks(&s, MSG, 100);
	struct summary_input in = { .lang = "en", .template_dir = "templates",
	    .scan = &s, .link = "https://x/m/t", .expires = 0 };
	ck_assert_int_eq(summary_build(&in, &sum, &err), 0);
	char *txt = decoded_part(&sum, 0);
	ck_assert_ptr_null(strstr(txt, "could not list"));
	g_free(txt);
	summary_free(&sum);
	mimescan_clear(&s);
	char *cmd = g_strdup_printf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	g_free(cmd);
}
END_TEST

/* What a recipient reads in each language: the button, the host the link
 * points to named as the sender's own server, the expiry in the
 * language's words, and the text part's labels. Spanish is a catalogue
 * and templates only (lang_es.c, templates/es/). */
START_TEST(summary_speaks_each_language_and_names_the_host)
{
	static const struct {
		const char *lang, *button, *host, *expires, *label;
	} want[] = {
		{ "en", ">Open the message</a>", "Kept on <b>mail.example.org"
		  "</b>, the sender's own server", "18 November 2026",
		  "Attachments:\r\n  - relório.pdf" },
		{ "pt-BR", ">Abrir a mensagem</a>", "Guardada em <b>mail."
		  "example.org</b>, o servidor do próprio remetente",
		  "18 de novembro de 2026", "Anexos:\r\n  - relório.pdf" },
		{ "es", ">Abrir el mensaje</a>", "Guardado en <b>mail.example."
		  "org</b>, el servidor del propio remitente",
		  "18 de noviembre de 2026", "Adjuntos:\r\n  - relório.pdf" },
	};
	for (size_t l = 0; l < G_N_ELEMENTS(want); l++) {
		struct mimescan s;
		struct summary sum;
		char *err = NULL;
		scan_in_chunks(&s, MSG, 64);
		struct summary_input in = { .lang = want[l].lang,
		    .template_dir = "templates", .scan = &s,
		    .link = "https://mail.example.org/m/"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		    .expires = 1795000000 };
		ck_assert_msg(summary_build(&in, &sum, &err) == 0, "%s", err);
		char *txt = decoded_part(&sum, 0), *html = decoded_part(&sum, 1);
		ck_assert_msg(strstr(html, want[l].button) != NULL, "%s: %s",
		    want[l].lang, html);
		ck_assert_msg(strstr(html, want[l].host) != NULL, "%s: %s",
		    want[l].lang, html);
		ck_assert_ptr_nonnull(strstr(html, want[l].expires));
		ck_assert_ptr_nonnull(strstr(txt, want[l].expires));
		ck_assert_msg(strstr(txt, want[l].label) != NULL, "%s: %s",
		    want[l].lang, txt);
		ck_assert_ptr_nonnull(strstr(txt, "mail.example.org, "));
		char *lang_attr = g_strdup_printf("<html lang=%s>",
		    want[l].lang);
		ck_assert_ptr_nonnull(strstr(html, lang_attr));
		/* Mail-client HTML: no remote loads, no script, no web font. */
		ck_assert_ptr_null(strstr(html, "<img"));
		ck_assert_ptr_null(strstr(html, "<script"));
		ck_assert_ptr_null(strstr(html, "<link"));
		ck_assert_ptr_null(strstr(html, "url("));
		ck_assert_ptr_nonnull(strstr(html, "name=color-scheme content=\"light dark\""));
		g_free(lang_attr);
		g_free(txt);
		g_free(html);
		summary_free(&sum);
		mimescan_clear(&s);
	}
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("summary", "summary", &tc);

	g_mime_init();
	tcase_add_test(tc, scan_attachments_any_chunking);
	tcase_add_test(tc, scan_malformed_input);
	tcase_add_test(tc, scan_line_limits);
	tcase_add_test(tc, summary_parses_and_names_attachments);
	tcase_add_test(tc, summary_missing_template_is_an_error);
	tcase_add_test(tc, summary_escapes_html);
	tcase_add_test(tc, summary_under_2k_with_five_attachments);
	tcase_add_test(tc, summary_under_2k_with_five_long_ooxml_attachments);
	tcase_add_test(tc, summary_type_shown_unless_extension_says_it);
	tcase_add_test(tc, inline_images_kept_apart);
	tcase_add_test(tc, inline_images_only);
	tcase_add_test(tc, summary_long_subject_bounded);
	tcase_add_test(tc, summary_without_date_shows_received);
	tcase_add_test(tc, scan_says_what_it_could_not_read);
	tcase_add_test(tc, summary_says_parts_could_not_be_listed);
	tcase_add_test(tc, summary_speaks_each_language_and_names_the_host);
	return check_run(s);
}
