/* The streaming MIME scan (names, types, decoded sizes, whatever the
 * chunking) and the summary built from the shipped templates. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <gmime/gmime.h>

#include "mimescan.h"
#include "summary.h"

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
		ck_assert_uint_eq(s.n_attachments, 3);
		ck_assert_str_eq(s.v[0].type, "image/png");
		ck_assert_str_eq(s.v[0].name, "");
		ck_assert_uint_eq(s.v[0].size, 8);
		ck_assert_str_eq(s.v[1].name, "relório.pdf");
		ck_assert_str_eq(s.v[1].type, "application/pdf");
		ck_assert_uint_eq(s.v[1].size, 48);
		ck_assert_str_eq(s.v[2].name, "notes.txt");
		/* "a=b soft" + "break" CRLF "end" */
		ck_assert_uint_eq(s.v[2].size, strlen("a=b softbreak\r\nend"));
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

static char *
part_text(GMimeObject *o)
{
	return g_mime_text_part_get_text(GMIME_TEXT_PART(o));
}

START_TEST(summary_parses_and_names_attachments)
{
	static const char *langs[] = { "en", "pt-BR" };
	for (int l = 0; l < 2; l++) {
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
	free(err);
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

/* DESIGN.md: the summary is small. Five attachments with ordinary names
 * and types stay under 2 KB (very long vendor types, e.g. the OOXML ones,
 * can take it to about 2.2 KB). */
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

int
main(void)
{
	Suite *s = suite_create("summary");
	TCase *tc = tcase_create("summary");
	SRunner *sr;
	int nf;

	g_mime_init();
	tcase_add_test(tc, scan_attachments_any_chunking);
	tcase_add_test(tc, scan_malformed_input);
	tcase_add_test(tc, summary_parses_and_names_attachments);
	tcase_add_test(tc, summary_missing_template_is_an_error);
	tcase_add_test(tc, summary_escapes_html);
	tcase_add_test(tc, summary_under_2k_with_five_attachments);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
