/* Read receipts (common/mdn.h): the report as GMime parses it back, its
 * header fields and its encoding, and the sendmail command's run. The
 * rules of mdn_check are exercised through the routes in
 * test_web_routes.c (receipt_denied). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "mdn.h"
#include "tests/lib/check_main.h"

#define NOW 1800000000

static GMimeMessage *
parse(const char *text)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(text, strlen(text));
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	g_object_unref(s);
	ck_assert_ptr_nonnull(m);
	return m;
}

static const char original[] =
    "From: =?UTF-8?Q?Jo=C3=A3o?= <joao@example.com>\r\n"
    "To: ana@example.org\r\n"
    "Subject: =?UTF-8?Q?Relat=C3=B3rio?=\r\n"
    "Date: Sun, 22 Nov 2026 11:47:00 +0000\r\n"
    "Message-ID: <r-1@example.com>\r\n"
    "Disposition-Notification-To: joao@example.com\r\n"
    "Content-Type: text/plain\r\n\r\nbody\r\n";

START_TEST(report_parses_back)
{
	GMimeMessage *orig = parse(original);
	struct mdn_target t;
	const char *why = NULL;
	size_t len = 0;

	ck_assert_int_eq(mdn_check(orig, &t, &why), MDN_OFFER);
	ck_assert_str_eq(t.to, "joao@example.com");
	ck_assert_str_eq(t.recipient, "ana@example.org");
	char *out = mdn_build(orig, &t, "mail.example.com", NOW, &len);
	ck_assert_uint_eq(strlen(out), len);
	/* 7-bit on the wire: the subject's words are encoded. */
	for (size_t i = 0; i < len; i++)
		ck_assert_msg((unsigned char)out[i] < 0x80, "byte %zu", i);

	GMimeMessage *r = parse(out);
	GMimeObject *body = g_mime_message_get_mime_part(r);
	ck_assert(GMIME_IS_MULTIPART(body));
	GMimeContentType *ct = g_mime_object_get_content_type(body);
	ck_assert(g_mime_content_type_is_type(ct, "multipart", "report"));
	ck_assert_str_eq(g_mime_content_type_get_parameter(ct, "report-type"),
	    "disposition-notification");
	GMimeMultipart *mp = GMIME_MULTIPART(body);
	ck_assert_int_eq(g_mime_multipart_get_count(mp), 2);
	GMimeObject *human = g_mime_multipart_get_part(mp, 0);
	GMimeObject *dn = g_mime_multipart_get_part(mp, 1);
	ck_assert(g_mime_content_type_is_type(
	    g_mime_object_get_content_type(human), "text", "plain"));
	ck_assert(g_mime_content_type_is_type(
	    g_mime_object_get_content_type(dn), "message",
	    "disposition-notification"));
	char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(human));
	ck_assert_ptr_nonnull(strstr(text, "Relatório"));
	ck_assert_ptr_nonnull(strstr(text, "does not"));
	g_free(text);
	ck_assert_ptr_nonnull(strstr(out, "\nReporting-UA: mail.example.com; "
	    "pullmail-web " PULLMAIL_VERSION "\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nFinal-Recipient: rfc822; "
	    "ana@example.org\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nOriginal-Message-ID: "
	    "<r-1@example.com>\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nDisposition: manual-action/"
	    "MDN-sent-manually; displayed\n"));

	ck_assert_str_eq(g_mime_message_get_subject(r), "Read: Relatório");
	ck_assert_str_eq(g_mime_object_get_header(GMIME_OBJECT(r),
	    "In-Reply-To"), "<r-1@example.com>");
	InternetAddressList *to = g_mime_message_get_to(r);
	ck_assert_int_eq(internet_address_list_length(to), 1);
	char *s = internet_address_list_to_string(to, NULL, FALSE);
	ck_assert_str_eq(s, "joao@example.com");
	g_free(s);
	GDateTime *d = g_mime_message_get_date(r);
	ck_assert_int_eq(g_date_time_to_unix(d), NOW);

	g_object_unref(r);
	g_free(out);
	mdn_target_clear(&t);
	g_object_unref(orig);
}
END_TEST

/* Without a Message-ID the field is left out (it is optional). */
START_TEST(report_without_message_id)
{
	char *text = g_strdup(original);
	char *mid = strstr(text, "Message-ID:");
	memcpy(mid, "X-Nothing:", 10);
	GMimeMessage *orig = parse(text);
	struct mdn_target t;
	const char *why;
	size_t len;

	ck_assert_int_eq(mdn_check(orig, &t, &why), MDN_OFFER);
	char *out = mdn_build(orig, &t, "h", NOW, &len);
	ck_assert_ptr_null(strstr(out, "Original-Message-ID"));
	ck_assert_ptr_null(strstr(out, "In-Reply-To"));
	ck_assert_ptr_nonnull(strstr(out, "\nDisposition: "));
	g_free(out);
	mdn_target_clear(&t);
	g_object_unref(orig);
	g_free(text);
}
END_TEST

START_TEST(sendmail_run)
{
	char *dir = g_dir_make_tmp("pullmail-test-mdn-XXXXXX", NULL);
	char *file = g_build_filename(dir, "out", NULL);
	char *script = g_strdup_printf("printf '%%s|' \"$@\" > '%s.args'; "
	    "cat > '%s'", file, file);
	char *argv[] = { "/bin/sh", "-c", script, "sh", NULL };
	char *err = NULL, *got = NULL;
	static const char msg[] = "Subject: x\n\nreport\n";

	ck_assert_int_eq(mdn_send(argv, "joao@example.com", msg,
	    sizeof msg - 1, &err), 0);
	ck_assert(g_file_get_contents(file, &got, NULL, NULL));
	ck_assert_str_eq(got, msg);
	g_free(got);
	char *args = g_strconcat(file, ".args", NULL);
	ck_assert(g_file_get_contents(args, &got, NULL, NULL));
	ck_assert_str_eq(got, "-i|-f|<>|--|joao@example.com|");
	g_free(got);
	g_free(args);

	char *fails[] = { "/bin/false", NULL };
	ck_assert_int_eq(mdn_send(fails, "a@b.c", msg, sizeof msg - 1, &err),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "exited with status 1"));
	g_free(err);
	err = NULL;
	char *missing[] = { "/nonexistent/sendmail", NULL };
	ck_assert_int_eq(mdn_send(missing, "a@b.c", msg, sizeof msg - 1,
	    &err), -1);
	ck_assert_str_eq(err, "cannot run /nonexistent/sendmail: No such file "
	    "or directory");
	g_free(err);
	err = NULL;
	char *none[] = { NULL };
	ck_assert_int_eq(mdn_send(none, "a@b.c", msg, sizeof msg - 1, &err),
	    -1);
	g_free(err);

	char *cmd = g_strdup_printf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	g_free(cmd);
	g_free(script);
	g_free(file);
	g_free(dir);
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("mdn", "mdn", &tc);

	g_mime_init();
	tcase_add_test(tc, report_parses_back);
	tcase_add_test(tc, report_without_message_id);
	tcase_add_test(tc, sendmail_run);
	return check_run(s);
}
