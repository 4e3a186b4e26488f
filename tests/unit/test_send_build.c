/* The message pullmail-send builds: structure, content types, RFC 2047
 * headers, RFC 2231 file names, Date, Message-ID, no Bcc, X-Pull headers,
 * CRLF, and bad input. Messages are read back with GMime's parser. */
#include <check.h>
#include <string.h>
#include <sysexits.h>

#include "tools/send.h"
#include "tests/lib/check_main.h"

static const guint8 png_bytes[] = {
	0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H',
	'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4,
	0x89, 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82
};
static const char pdf_bytes[] =
	"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";

static guint8 binary[4096];

static const char *const to2[] = { "Zoë <zoe@example.org>", "b@example.org",
	NULL };
static const char *const cc1[] = { "c@example.org", NULL };
static const char *const bcc2[] = { "hidden@example.org",
	"Secret Person <secret@example.org>", NULL };

static void
base_spec(struct send_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->from = "José Ção <jose@example.com>";
	s->to = to2;
	s->cc = cc1;
	s->bcc = bcc2;
	s->subject = "Relatório de março ✓";
	s->text = "Olá\nsegunda linha\n";
	s->text_len = strlen(s->text);
	s->date = 1795000000;   /* fixed so the Date header is known */
}

static GByteArray *
build(const struct send_spec *s, int crlf)
{
	GError *err = NULL;
	GMimeMessage *m = send_build_message(s, &err);
	GByteArray *b;

	ck_assert_msg(m != NULL, "build failed: %s", err ? err->message : "?");
	b = send_message_bytes(m, crlf);
	g_object_unref(m);
	/* NUL-terminate for strstr, outside len */
	g_byte_array_append(b, (const guint8 *)"", 1);
	g_byte_array_set_size(b, b->len - 1);
	return b;
}

static GMimeMessage *
parse(GByteArray *b)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer((char *)b->data,
	    b->len);
	GMimeParser *p = g_mime_parser_new_with_stream(st);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);

	g_object_unref(p);
	g_object_unref(st);
	ck_assert_ptr_nonnull(m);
	return m;
}

static const char *
header_block_end(GByteArray *b)
{
	const char *s = (const char *)b->data;
	const char *e = strstr(s, "\r\n\r\n");

	return e ? e : strstr(s, "\n\n");
}

static GBytes *
part_bytes(GMimeObject *o)
{
	GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(o));
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *arr;

	g_mime_data_wrapper_write_to_stream(w, mem);
	arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	GBytes *out = g_bytes_new(arr->data, arr->len);
	g_object_unref(mem);
	return out;
}

START_TEST(test_structure_mixed_alternative)
{
	struct send_spec s;
	struct send_attachment att[3] = {
		{ "picture.dat", png_bytes, sizeof(png_bytes) },
		{ "relatório ✓.pdf", (const guint8 *)pdf_bytes,
		    sizeof(pdf_bytes) - 1 },
		{ "random.bin", binary, sizeof(binary) },
	};
	GByteArray *b;
	GMimeMessage *m;
	GMimeMultipart *mixed, *alt;
	GMimeObject *o;
	GBytes *got;

	base_spec(&s);
	s.html = "<p>Olá <b>mundo</b></p>";
	s.html_len = strlen(s.html);
	s.attachments = att;
	s.n_attachments = 3;
	b = build(&s, 1);
	m = parse(b);
	o = g_mime_message_get_mime_part(m);
	ck_assert(GMIME_IS_MULTIPART(o));
	ck_assert(g_mime_content_type_is_type(g_mime_object_get_content_type(o),
	    "multipart", "mixed"));
	mixed = GMIME_MULTIPART(o);
	ck_assert_int_eq(g_mime_multipart_get_count(mixed), 4);
	o = g_mime_multipart_get_part(mixed, 0);
	ck_assert(g_mime_content_type_is_type(g_mime_object_get_content_type(o),
	    "multipart", "alternative"));
	alt = GMIME_MULTIPART(o);
	ck_assert_int_eq(g_mime_multipart_get_count(alt), 2);
	o = g_mime_multipart_get_part(alt, 0);
	ck_assert(g_mime_content_type_is_type(g_mime_object_get_content_type(o),
	    "text", "plain"));
	ck_assert_str_eq(g_mime_object_get_content_type_parameter(o,
	    "charset"), "utf-8");
	{
		char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(o));

		ck_assert_str_eq(t, "Olá\r\nsegunda linha\r\n");
		g_free(t);
	}
	o = g_mime_multipart_get_part(alt, 1);
	ck_assert(g_mime_content_type_is_type(g_mime_object_get_content_type(o),
	    "text", "html"));

	/* Types from content, names back, bytes intact. */
	o = g_mime_multipart_get_part(mixed, 1);
	ck_assert(g_mime_content_type_is_type(g_mime_object_get_content_type(o),
	    "image", "png"));
	ck_assert_str_eq(g_mime_part_get_filename(GMIME_PART(o)), "picture.dat");
	ck_assert_str_eq(g_mime_object_get_disposition(o), "attachment");
	o = g_mime_multipart_get_part(mixed, 2);
	ck_assert(g_mime_content_type_is_type(g_mime_object_get_content_type(o),
	    "application", "pdf"));
	ck_assert_str_eq(g_mime_part_get_filename(GMIME_PART(o)),
	    "relatório ✓.pdf");
	o = g_mime_multipart_get_part(mixed, 3);
	ck_assert(g_mime_content_type_is_type(g_mime_object_get_content_type(o),
	    "application", "octet-stream"));
	ck_assert_int_eq(g_mime_part_get_content_encoding(GMIME_PART(o)),
	    GMIME_CONTENT_ENCODING_BASE64);
	got = part_bytes(o);
	ck_assert_uint_eq(g_bytes_get_size(got), sizeof(binary));
	ck_assert(memcmp(g_bytes_get_data(got, NULL), binary,
	    sizeof(binary)) == 0);
	g_bytes_unref(got);

	/* RFC 2231 with UTF-8, in both Content-Type and Content-Disposition. */
	ck_assert_ptr_nonnull(strstr((char *)b->data,
	    "filename*=UTF-8''relat%C3%B3rio%20%E2%9C%93.pdf"));
	ck_assert_ptr_nonnull(strstr((char *)b->data,
	    "name*=UTF-8''relat%C3%B3rio%20%E2%9C%93.pdf"));
	g_object_unref(m);
	g_byte_array_free(b, TRUE);
}
END_TEST

START_TEST(test_single_parts)
{
	struct send_spec s;
	GByteArray *b;
	GMimeMessage *m;
	GMimeObject *o;

	base_spec(&s);
	b = build(&s, 1);
	m = parse(b);
	o = g_mime_message_get_mime_part(m);
	ck_assert(GMIME_IS_TEXT_PART(o));
	ck_assert(g_mime_content_type_is_type(g_mime_object_get_content_type(o),
	    "text", "plain"));
	g_object_unref(m);
	g_byte_array_free(b, TRUE);

	s.text = NULL;
	s.html = "<p>only html</p>";
	s.html_len = strlen(s.html);
	b = build(&s, 1);
	m = parse(b);
	o = g_mime_message_get_mime_part(m);
	ck_assert(g_mime_content_type_is_type(g_mime_object_get_content_type(o),
	    "text", "html"));
	g_object_unref(m);
	g_byte_array_free(b, TRUE);

	/* No body at all: an empty text/plain, still a valid message. */
	s.html = NULL;
	b = build(&s, 1);
	m = parse(b);
	ck_assert(GMIME_IS_TEXT_PART(g_mime_message_get_mime_part(m)));
	g_object_unref(m);
	g_byte_array_free(b, TRUE);
}
END_TEST

START_TEST(test_rfc2047_headers_and_7bit)
{
	struct send_spec s;
	GByteArray *b;
	GMimeMessage *m;
	InternetAddressList *l;
	InternetAddress *ia;
	size_t i;

	base_spec(&s);
	b = build(&s, 1);
	/* Nothing 8-bit anywhere: no server needs SMTPUTF8 or 8BITMIME. */
	for (i = 0; i < b->len; i++)
		ck_assert_msg(b->data[i] < 0x80, "8-bit byte at %zu", i);
	ck_assert_ptr_nonnull(strstr((char *)b->data, "Subject: =?UTF-8?"));
	ck_assert_ptr_nonnull(strstr((char *)b->data, "From: =?UTF-8?"));
	m = parse(b);
	ck_assert_str_eq(g_mime_message_get_subject(m), "Relatório de março ✓");
	l = g_mime_message_get_from(m);
	ia = internet_address_list_get_address(l, 0);
	ck_assert_str_eq(internet_address_get_name(ia), "José Ção");
	ck_assert_str_eq(internet_address_mailbox_get_addr(
	    INTERNET_ADDRESS_MAILBOX(ia)), "jose@example.com");
	l = g_mime_message_get_to(m);
	ck_assert_int_eq(internet_address_list_length(l), 2);
	ck_assert_str_eq(internet_address_get_name(
	    internet_address_list_get_address(l, 0)), "Zoë");
	ck_assert_int_eq(internet_address_list_length(
	    g_mime_message_get_cc(m)), 1);
	g_object_unref(m);
	g_byte_array_free(b, TRUE);
}
END_TEST

START_TEST(test_date_and_message_id)
{
	struct send_spec s;
	GByteArray *b;
	GMimeMessage *m;
	GDateTime *d;
	const char *id;

	base_spec(&s);
	b = build(&s, 1);
	m = parse(b);
	d = g_mime_message_get_date(m);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(g_date_time_to_unix(d), 1795000000);
	id = g_mime_message_get_message_id(m);
	ck_assert_ptr_nonnull(id);
	ck_assert(g_str_has_suffix(id, "@example.com"));
	g_object_unref(m);
	g_byte_array_free(b, TRUE);

	s.message_id = "fixed.1@example.com";
	b = build(&s, 1);
	ck_assert_ptr_nonnull(strstr((char *)b->data,
	    "Message-Id: <fixed.1@example.com>"));
	g_byte_array_free(b, TRUE);

	/* Two messages never share an id. */
	s.message_id = NULL;
	{
		GByteArray *b1 = build(&s, 1), *b2 = build(&s, 1);
		GMimeMessage *m1 = parse(b1), *m2 = parse(b2);

		ck_assert_str_ne(g_mime_message_get_message_id(m1),
		    g_mime_message_get_message_id(m2));
		g_object_unref(m1);
		g_object_unref(m2);
		g_byte_array_free(b1, TRUE);
		g_byte_array_free(b2, TRUE);
	}
}
END_TEST

START_TEST(test_bcc_envelope_only)
{
	struct send_spec s;
	GByteArray *b;
	GError *err = NULL;
	char **r;
	static const char *const to_dup[] = { "A@Example.org", "a@example.org",
		NULL };

	base_spec(&s);
	b = build(&s, 1);
	ck_assert_ptr_null(strstr((char *)b->data, "hidden@example.org"));
	ck_assert_ptr_null(strstr((char *)b->data, "secret@example.org"));
	ck_assert_ptr_null(strstr((char *)b->data, "Secret Person"));
	ck_assert_ptr_null(strstr((char *)b->data, "Bcc"));
	g_byte_array_free(b, TRUE);

	r = send_envelope_recipients(&s, &err);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(g_strv_length(r), 5);
	ck_assert_str_eq(r[0], "zoe@example.org");
	ck_assert_str_eq(r[1], "b@example.org");
	ck_assert_str_eq(r[2], "c@example.org");
	ck_assert_str_eq(r[3], "hidden@example.org");
	ck_assert_str_eq(r[4], "secret@example.org");
	g_strfreev(r);

	/* Duplicates (case of the address aside) go once. */
	s.to = to_dup;
	s.cc = NULL;
	s.bcc = NULL;
	r = send_envelope_recipients(&s, &err);
	ck_assert_int_eq(g_strv_length(r), 1);
	g_strfreev(r);

	/* Comma-separated lists in one argument. */
	{
		static const char *const list[] = {
			"x@example.org, \"Last, First\" <y@example.org>", NULL };

		s.to = list;
		r = send_envelope_recipients(&s, &err);
		ck_assert_int_eq(g_strv_length(r), 2);
		ck_assert_str_eq(r[1], "y@example.org");
		g_strfreev(r);
	}
}
END_TEST

START_TEST(test_pull_headers)
{
	struct send_spec s;
	GByteArray *b;

	base_spec(&s);
	b = build(&s, 1);
	ck_assert_ptr_null(strstr((char *)b->data, "X-Pull"));
	g_byte_array_free(b, TRUE);

	s.expires = "14d";
	s.no_pull = 1;
	b = build(&s, 1);
	ck_assert_ptr_nonnull(strstr((char *)b->data, "\r\nX-Pull-Expires: 14d\r\n"));
	ck_assert_ptr_nonnull(strstr((char *)b->data, "\r\nX-Pull: no\r\n"));
	/* Headers, not body. */
	ck_assert(strstr((char *)b->data, "X-Pull: no") <
	    header_block_end(b));
	g_byte_array_free(b, TRUE);
}
END_TEST

START_TEST(test_line_ends)
{
	struct send_spec s;
	struct send_attachment att = { "random.bin", binary, sizeof(binary) };
	GByteArray *b;
	size_t i;

	base_spec(&s);
	s.text = "one\ntwo\r\nthree\n";
	s.text_len = strlen(s.text);
	s.attachments = &att;
	s.n_attachments = 1;
	b = build(&s, 1);
	for (i = 0; i < b->len; i++)
		if (b->data[i] == '\n')
			ck_assert_msg(i > 0 && b->data[i - 1] == '\r',
			    "bare LF at %zu", i);
	g_byte_array_free(b, TRUE);
	b = build(&s, 0);
	ck_assert_ptr_null(memchr(b->data, '\r', b->len));
	g_byte_array_free(b, TRUE);
}
END_TEST

START_TEST(test_content_type_guess)
{
	char *t;

	t = send_guess_content_type("x", png_bytes, sizeof(png_bytes));
	ck_assert_str_eq(t, "image/png");
	g_free(t);
	/* Content wins over a misleading name. */
	t = send_guess_content_type("report.txt", (const guint8 *)pdf_bytes,
	    sizeof(pdf_bytes) - 1);
	ck_assert_str_eq(t, "application/pdf");
	g_free(t);
	t = send_guess_content_type("random.bin", binary, sizeof(binary));
	ck_assert_str_eq(t, "application/octet-stream");
	g_free(t);
	/* Binary content named .txt stays binary. */
	t = send_guess_content_type("random.txt", binary, sizeof(binary));
	ck_assert_str_eq(t, "application/octet-stream");
	g_free(t);
	/* Text: the name refines it. */
	t = send_guess_content_type("data.csv", (const guint8 *)"a,b\n1,2\n", 8);
	ck_assert_str_eq(t, "text/csv");
	g_free(t);
	t = send_guess_content_type("notes", (const guint8 *)"just words\n",
	    11);
	ck_assert_str_eq(t, "text/plain");
	g_free(t);
}
END_TEST

START_TEST(test_bad_input)
{
	struct send_spec s;
	GError *err = NULL;
	GMimeMessage *m;
	static const char *const bad_to[] = { "not an address", NULL };
	static const char *const group[] = { "team: a@x.org, b@x.org;", NULL };
	char **r;

	base_spec(&s);
	s.subject = "bad \xff utf-8";
	m = send_build_message(&s, &err);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(err->code, EX_DATAERR);
	ck_assert_ptr_nonnull(strstr(err->message, "subject"));
	g_clear_error(&err);

	base_spec(&s);
	s.subject = "two\r\nBcc: injected@example.org";
	m = send_build_message(&s, &err);
	ck_assert_ptr_null(m);
	g_clear_error(&err);

	base_spec(&s);
	s.text = "bad \xc3\x28";
	s.text_len = strlen(s.text);
	ck_assert_ptr_null(send_build_message(&s, &err));
	ck_assert_int_eq(err->code, EX_DATAERR);
	g_clear_error(&err);

	base_spec(&s);
	s.to = bad_to;
	ck_assert_ptr_null(send_build_message(&s, &err));
	ck_assert_ptr_nonnull(strstr(err->message, "not an address"));
	g_clear_error(&err);
	ck_assert_ptr_null(send_envelope_recipients(&s, &err));
	g_clear_error(&err);

	base_spec(&s);
	s.to = group;
	ck_assert_ptr_null(send_build_message(&s, &err));
	g_clear_error(&err);

	base_spec(&s);
	s.from = "a@x.org, b@x.org";
	ck_assert_ptr_null(send_build_message(&s, &err));
	ck_assert_int_eq(err->code, EX_DATAERR);
	g_clear_error(&err);

	base_spec(&s);
	s.to = NULL;
	s.cc = NULL;
	s.bcc = NULL;
	r = send_envelope_recipients(&s, &err);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(err->code, EX_USAGE);
	g_clear_error(&err);

	{
		struct send_attachment a = { "bad\xff.bin", binary, 10 };

		base_spec(&s);
		s.attachments = &a;
		s.n_attachments = 1;
		ck_assert_ptr_null(send_build_message(&s, &err));
		g_clear_error(&err);
	}
	ck_assert_ptr_null(send_addr_spec("Name <>", &err));
	g_clear_error(&err);
	{
		char *a = send_addr_spec("José <jose@example.com>", &err);

		ck_assert_str_eq(a, "jose@example.com");
		g_free(a);
	}
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("send_build", "build", &tc);

	size_t i;

	/* Deterministic "random" bytes that look like nothing. */
	for (i = 0; i < sizeof(binary); i++)
		binary[i] = (guint8)((i * 2654435761u) >> 13);
	tcase_add_test(tc, test_structure_mixed_alternative);
	tcase_add_test(tc, test_single_parts);
	tcase_add_test(tc, test_rfc2047_headers_and_7bit);
	tcase_add_test(tc, test_date_and_message_id);
	tcase_add_test(tc, test_bcc_envelope_only);
	tcase_add_test(tc, test_pull_headers);
	tcase_add_test(tc, test_line_ends);
	tcase_add_test(tc, test_content_type_guess);
	tcase_add_test(tc, test_bad_input);
	return check_run(s);
}
