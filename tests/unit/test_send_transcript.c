/* The C:/S: transcript made from libcurl's debug stream (redaction, the
 * message summary, replies kept for errors), the mapping of a finished
 * dialogue to sysexits.h codes, and --server parsing. The dialogues are
 * fed as libcurl hands them over (CURLINFO_HEADER_OUT/IN, DATA_OUT). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "tools/send.h"
#include "tests/lib/check_main.h"

/* base64("\0alice\0s3cret") and base64("alice"), base64("s3cret") */
#define PLAIN_IR "AGFsaWNlAHMzY3JldA=="
#define LOGIN_USER "YWxpY2U="
#define LOGIN_PASS "czNjcmV0"

struct capture {
	char *buf;
	size_t len;
	FILE *f;
	struct send_transcript *t;
};

static void
cap_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	ck_assert_ptr_nonnull(c->f);
	c->t = send_transcript_new(c->f);
}

static const char *
cap_text(struct capture *c)
{
	fflush(c->f);
	return c->buf;
}

static void
cap_close(struct capture *c)
{
	send_transcript_free(c->t);
	fclose(c->f);
	free(c->buf);
}

static void
out(struct send_transcript *t, const char *s)
{
	send_transcript_feed(t, CURLINFO_HEADER_OUT, s, strlen(s));
}

static void
in(struct send_transcript *t, const char *s)
{
	send_transcript_feed(t, CURLINFO_HEADER_IN, s, strlen(s));
}

static const char ehlo_reply[] =
	"250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	"250-AUTH PLAIN LOGIN\r\n250-STARTTLS\r\n250 8BITMIME\r\n";

/* A whole successful dialogue with AUTH PLAIN and an initial response. */
static void
feed_good_dialogue(struct send_transcript *t, const char *body)
{
	in(t, "220 mx.example.test ESMTP\r\n");
	out(t, "EHLO client\r\n");
	in(t, ehlo_reply);
	out(t, "AUTH PLAIN " PLAIN_IR "\r\n");
	in(t, "235 2.7.0 Authentication successful\r\n");
	out(t, "MAIL FROM:<alice@example.test> SIZE=1234\r\n");
	in(t, "250 2.1.0 Ok\r\n");
	out(t, "RCPT TO:<a@example.test>\r\n");
	in(t, "250 2.1.5 Ok\r\n");
	out(t, "RCPT TO:<nobody@example.test>\r\n");
	in(t, "550 5.1.1 <nobody@example.test>: Recipient address rejected\r\n");
	out(t, "DATA\r\n");
	in(t, "354 End data with <CR><LF>.<CR><LF>\r\n");
	send_transcript_feed(t, CURLINFO_DATA_OUT, body, strlen(body));
	in(t, "250 2.0.0 Ok: queued as ABC\r\n");
	out(t, "QUIT\r\n");
	in(t, "221 2.0.0 Bye\r\n");
	send_transcript_finish(t);
}

START_TEST(test_auth_plain_redacted_and_summary)
{
	struct capture c;
	const char *s;
	int code;
	const char *reply;

	cap_open(&c);
	send_transcript_set_message_size(c.t, 1234);
	feed_good_dialogue(c.t, "Subject: secret body words\r\n\r\nhello\r\n");
	s = cap_text(&c);
	ck_assert_ptr_nonnull(strstr(s, "S: 220 mx.example.test ESMTP\n"
	    "C: EHLO client\nS: 250-mx.example.test\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nC: AUTH PLAIN <redacted>\n"
	    "S: 235 2.7.0 Authentication successful\n"));
	ck_assert_ptr_null(strstr(s, PLAIN_IR));
	ck_assert_ptr_nonnull(strstr(s, "\nS: 354 End data with <CR><LF>.<CR><LF>\n"
	    "C: <message, 1234 bytes>\nS: 250 2.0.0 Ok: queued as ABC\n"
	    "C: QUIT\nS: 221 2.0.0 Bye\n"));
	ck_assert_ptr_null(strstr(s, "secret body words"));

	ck_assert_int_eq(send_transcript_auth_code(c.t), 235);
	ck_assert(send_transcript_ehlo_has(c.t, "STARTTLS"));
	ck_assert(send_transcript_ehlo_has(c.t, "auth"));
	ck_assert(!send_transcript_ehlo_has(c.t, "CHUNKING"));
	ck_assert_int_eq(send_transcript_mail_code(c.t), 250);
	ck_assert_uint_eq(send_transcript_rcpt_count(c.t), 2);
	ck_assert_str_eq(send_transcript_rcpt(c.t, 0, &code, &reply),
	    "a@example.test");
	ck_assert_int_eq(code, 250);
	ck_assert_str_eq(send_transcript_rcpt(c.t, 1, &code, &reply),
	    "nobody@example.test");
	ck_assert_int_eq(code, 550);
	ck_assert_str_eq(reply, "550 5.1.1 <nobody@example.test>: Recipient "
	    "address rejected");
	ck_assert_ptr_null(send_transcript_rcpt(c.t, 2, NULL, NULL));
	ck_assert_int_eq(send_transcript_last_code(c.t), 221);
	ck_assert_int_eq(send_transcript_error_code(c.t), 550);
	cap_close(&c);
}
END_TEST

START_TEST(test_auth_login_redacted)
{
	struct capture c;
	const char *s;

	cap_open(&c);
	in(c.t, "220 ready\r\n");
	out(c.t, "AUTH LOGIN " LOGIN_USER "\r\n");
	in(c.t, "334 UGFzc3dvcmQ6\r\n");
	out(c.t, LOGIN_PASS "\r\n");
	in(c.t, "535 5.7.8 Error: authentication failed: bad password\r\n");
	out(c.t, "QUIT\r\n");
	send_transcript_finish(c.t);
	s = cap_text(&c);
	ck_assert_ptr_nonnull(strstr(s, "C: AUTH LOGIN <redacted>\n"
	    "S: 334 UGFzc3dvcmQ6\nC: <redacted>\n"
	    "S: 535 5.7.8 Error: authentication failed: bad password\n"
	    "C: QUIT\n"));
	ck_assert_ptr_null(strstr(s, LOGIN_USER));
	ck_assert_ptr_null(strstr(s, LOGIN_PASS));
	ck_assert_int_eq(send_transcript_auth_code(c.t), 535);
	ck_assert_str_eq(send_transcript_auth_reply(c.t),
	    "535 5.7.8 Error: authentication failed: bad password");
	cap_close(&c);

	/* AUTH without an initial response: the next client line is it. */
	cap_open(&c);
	out(c.t, "AUTH PLAIN\r\n");
	in(c.t, "334 \r\n");
	out(c.t, PLAIN_IR "\r\n");
	in(c.t, "235 ok\r\n");
	out(c.t, "MAIL FROM:<a@b.c>\r\n");
	s = cap_text(&c);
	ck_assert_ptr_nonnull(strstr(s, "C: AUTH PLAIN\nS: 334 \nC: <redacted>\n"
	    "S: 235 ok\nC: MAIL FROM:<a@b.c>\n"));
	ck_assert_ptr_null(strstr(s, PLAIN_IR));
	cap_close(&c);
}
END_TEST

/* libcurl may hand a line over in pieces: one byte at a time gives the
 * same transcript, and no piece of the secret shows. */
START_TEST(test_split_chunks)
{
	struct capture whole, bytes;
	const char *lines[] = { "AUTH PLAIN " PLAIN_IR "\r\n", "QUIT\r\n" };
	const char *replies[] = { "250-first\r\n250 last\r\n", "235 ok\r\n",
		"221 bye\r\n" };
	size_t i, k;

	cap_open(&whole);
	cap_open(&bytes);
	in(whole.t, replies[0]);
	for (k = 0; k < strlen(replies[0]); k++)
		send_transcript_feed(bytes.t, CURLINFO_HEADER_IN,
		    replies[0] + k, 1);
	for (i = 0; i < 2; i++) {
		out(whole.t, lines[i]);
		for (k = 0; k < strlen(lines[i]); k++)
			send_transcript_feed(bytes.t, CURLINFO_HEADER_OUT,
			    lines[i] + k, 1);
		in(whole.t, replies[i + 1]);
		for (k = 0; k < strlen(replies[i + 1]); k++)
			send_transcript_feed(bytes.t, CURLINFO_HEADER_IN,
			    replies[i + 1] + k, 1);
	}
	ck_assert_str_eq(cap_text(&whole), cap_text(&bytes));
	ck_assert_ptr_null(strstr(cap_text(&bytes), "AGFs"));
	ck_assert_str_eq(send_transcript_last_reply(bytes.t), "221 bye");
	cap_close(&whole);
	cap_close(&bytes);
}
END_TEST

START_TEST(test_server_text_sanitised)
{
	struct capture c;

	cap_open(&c);
	in(c.t, "220 a\x1b[31mb\r\n");
	send_transcript_feed(c.t, CURLINFO_TEXT,
	    "SSL connection using TLSv1.3 / X\n", 33);
	send_transcript_feed(c.t, CURLINFO_TEXT, "some internal note\n", 19);
	ck_assert_str_eq(cap_text(&c), "S: 220 a?[31mb\n"
	    "* SSL connection using TLSv1.3 / X\n");
	cap_close(&c);
}
END_TEST

static struct send_smtp_opts
opts(void)
{
	struct send_smtp_opts o = { 0 };

	o.host = "mail.example.test";
	o.port = 465;
	o.tls = SEND_TLS_IMPLICIT;
	o.user = "alice";
	o.len = 50000;
	return o;
}

START_TEST(test_classify)
{
	struct send_smtp_opts o = opts();
	struct send_transcript *t;
	GError *err = NULL;

	/* Accepted except one recipient: EX_NOUSER naming it. */
	t = send_transcript_new(NULL);
	feed_good_dialogue(t, "x");
	ck_assert_int_eq(send_smtp_classify(&o, CURLE_OK, "", t, FALSE, &err),
	    EX_NOUSER);
	ck_assert_str_eq(err->message, "recipient <nobody@example.test> "
	    "rejected by mail.example.test: 550 5.1.1 <nobody@example.test>: "
	    "Recipient address rejected (sent to the other 1 recipient)");
	g_clear_error(&err);
	send_transcript_free(t);

	/* Everyone accepted. */
	t = send_transcript_new(NULL);
	in(t, "220 hi\r\n");
	out(t, "RCPT TO:<a@b.c>\r\n");
	in(t, "250 ok\r\n");
	ck_assert_int_eq(send_smtp_classify(&o, CURLE_OK, "", t, FALSE, &err),
	    EX_OK);
	ck_assert_ptr_null(err);
	send_transcript_free(t);

	/* 535: EX_NOPERM with the server's text. */
	t = send_transcript_new(NULL);
	out(t, "AUTH PLAIN " PLAIN_IR "\r\n");
	in(t, "535 5.7.8 Error: authentication failed\r\n");
	out(t, "QUIT\r\n");
	in(t, "221 bye\r\n");
	ck_assert_int_eq(send_smtp_classify(&o, CURLE_LOGIN_DENIED,
	    "Authentication failed: 535", t, FALSE, &err), EX_NOPERM);
	ck_assert_str_eq(err->message, "authentication as alice rejected by "
	    "mail.example.test: 535 5.7.8 Error: authentication failed");
	g_clear_error(&err);
	send_transcript_free(t);

	/* 552 at MAIL, then QUIT/221: too large, from the error reply. */
	t = send_transcript_new(NULL);
	out(t, "MAIL FROM:<a@b.c> SIZE=50000\r\n");
	in(t, "552 5.3.4 Message size exceeds fixed limit\r\n");
	out(t, "QUIT\r\n");
	in(t, "221 bye\r\n");
	ck_assert_int_eq(send_smtp_classify(&o, CURLE_SEND_ERROR,
	    "MAIL failed: 552", t, FALSE, &err), EX_DATAERR);
	ck_assert_str_eq(err->message, "the message (50000 bytes) is too large "
	    "for mail.example.test: 552 5.3.4 Message size exceeds fixed limit");
	g_clear_error(&err);
	send_transcript_free(t);

	/* Every recipient refused: each named, nothing sent. */
	t = send_transcript_new(NULL);
	out(t, "MAIL FROM:<a@b.c>\r\n");
	in(t, "250 ok\r\n");
	out(t, "RCPT TO:<x@b.c>\r\n");
	in(t, "550 no x\r\n");
	out(t, "RCPT TO:<y@b.c>\r\n");
	in(t, "450 later y\r\n");
	ck_assert_int_eq(send_smtp_classify(&o, CURLE_SEND_ERROR,
	    "RCPT failed: 450", t, FALSE, &err), EX_NOUSER);
	ck_assert_str_eq(err->message, "recipient <x@b.c> rejected by "
	    "mail.example.test: 550 no x; recipient <y@b.c> rejected by "
	    "mail.example.test: 450 later y (nothing was sent)");
	g_clear_error(&err);
	send_transcript_free(t);

	/* A temporary refusal of the message. */
	t = send_transcript_new(NULL);
	out(t, "DATA\r\n");
	in(t, "451 4.3.0 try later\r\n");
	ck_assert_int_eq(send_smtp_classify(&o, CURLE_WEIRD_SERVER_REPLY,
	    "", t, FALSE, &err), EX_TEMPFAIL);
	ck_assert_ptr_nonnull(strstr(err->message, "451 4.3.0 try later"));
	g_clear_error(&err);
	send_transcript_free(t);

	/* Network and TLS failures name the host and why. */
	t = send_transcript_new(NULL);
	ck_assert_int_eq(send_smtp_classify(&o, CURLE_COULDNT_RESOLVE_HOST,
	    "Could not resolve host", t, FALSE, &err), EX_NOHOST);
	ck_assert_str_eq(err->message, "host not found: mail.example.test");
	g_clear_error(&err);
	ck_assert_int_eq(send_smtp_classify(&o, CURLE_COULDNT_CONNECT,
	    "Connection refused", t, FALSE, &err), EX_UNAVAILABLE);
	ck_assert_str_eq(err->message, "cannot connect to mail.example.test "
	    "port 465: Connection refused");
	g_clear_error(&err);
	ck_assert_int_eq(send_smtp_classify(&o, CURLE_PEER_FAILED_VERIFICATION,
	    "SSL: certificate subject name 'other' does not match target host "
	    "name 'mail.example.test'", t, FALSE, &err), EX_PROTOCOL);
	ck_assert(g_str_has_prefix(err->message, "TLS: the certificate of "
	    "mail.example.test was not accepted: SSL: certificate subject"));
	g_clear_error(&err);
	ck_assert_int_eq(send_smtp_classify(&o, CURLE_OPERATION_TIMEDOUT,
	    "Operation timed out", t, FALSE, &err), EX_TEMPFAIL);
	ck_assert(g_str_has_prefix(err->message, "timed out talking to "
	    "mail.example.test port 465"));
	g_clear_error(&err);
	o.tls = SEND_TLS_STARTTLS;
	o.port = 587;
	ck_assert_int_eq(send_smtp_classify(&o, CURLE_USE_SSL_FAILED,
	    "STARTTLS not supported.", t, FALSE, &err), EX_PROTOCOL);
	ck_assert_str_eq(err->message, "mail.example.test port 587 does not "
	    "offer STARTTLS; refusing to send without TLS");
	g_clear_error(&err);
	/* No greeting on a STARTTLS port: a hint towards implicit TLS. */
	ck_assert_int_eq(send_smtp_classify(&o, CURLE_OPERATION_TIMEDOUT,
	    "Operation timed out", t, FALSE, &err), EX_TEMPFAIL);
	ck_assert_ptr_nonnull(strstr(err->message, "--tls implicit"));
	g_clear_error(&err);
	/* AUTH asked for but never offered: aborted before the content. */
	ck_assert_int_eq(send_smtp_classify(&o, CURLE_ABORTED_BY_CALLBACK,
	    "", t, TRUE, &err), EX_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(err->message, "did not offer "
	    "authentication"));
	g_clear_error(&err);
	send_transcript_free(t);
}
END_TEST

START_TEST(test_parse_server)
{
	GError *err = NULL;
	char *host;
	unsigned port;
	static const char *const bad[] = { "", ":25", "host:", "host:0",
		"host:65536", "host:abc", "host:25x", "a:b:c", "[::1", "[]",
		"[::1]x", "user@host", "host/path", "host:-1", "host: 25" };
	size_t i;

	ck_assert_int_eq(send_parse_server("mail.example.org", &host, &port,
	    &err), 0);
	ck_assert_str_eq(host, "mail.example.org");
	ck_assert_uint_eq(port, 0);
	g_free(host);
	ck_assert_int_eq(send_parse_server("mail.example.org:587", &host,
	    &port, &err), 0);
	ck_assert_str_eq(host, "mail.example.org");
	ck_assert_uint_eq(port, 587);
	g_free(host);
	ck_assert_int_eq(send_parse_server("[::1]:465", &host, &port, &err), 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_uint_eq(port, 465);
	g_free(host);
	ck_assert_int_eq(send_parse_server("[2001:db8::1]", &host, &port,
	    &err), 0);
	ck_assert_str_eq(host, "2001:db8::1");
	ck_assert_uint_eq(port, 0);
	g_free(host);
	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		ck_assert_msg(send_parse_server(bad[i], &host, &port, &err) < 0,
		    "accepted \"%s\"", bad[i]);
		ck_assert_int_eq(err->code, EX_USAGE);
		ck_assert_ptr_null(host);
		g_clear_error(&err);
	}
}
END_TEST

START_TEST(test_defaults)
{
	enum send_tls tls;
	unsigned port;

	tls = SEND_TLS_DEFAULT; port = 0;
	send_resolve_defaults(&tls, &port);
	ck_assert_int_eq(tls, SEND_TLS_STARTTLS);
	ck_assert_uint_eq(port, 587);
	tls = SEND_TLS_DEFAULT; port = 465;
	send_resolve_defaults(&tls, &port);
	ck_assert_int_eq(tls, SEND_TLS_IMPLICIT);
	tls = SEND_TLS_DEFAULT; port = 2525;
	send_resolve_defaults(&tls, &port);
	ck_assert_int_eq(tls, SEND_TLS_STARTTLS);
	ck_assert_uint_eq(port, 2525);
	tls = SEND_TLS_IMPLICIT; port = 0;
	send_resolve_defaults(&tls, &port);
	ck_assert_uint_eq(port, 465);
	tls = SEND_TLS_NONE; port = 0;
	send_resolve_defaults(&tls, &port);
	ck_assert_uint_eq(port, 25);
}
END_TEST

/* Never a password over clear text, whatever else is set. */
START_TEST(test_no_auth_without_tls)
{
	struct send_smtp_opts o = opts();
	GError *err = NULL;

	o.tls = SEND_TLS_NONE;
	o.password = "s3cret";
	ck_assert_int_eq(send_smtp(&o, &err), EX_USAGE);
	ck_assert_ptr_nonnull(strstr(err->message, "without TLS"));
	g_clear_error(&err);
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("send_transcript", "transcript", &tc);

	tcase_add_test(tc, test_auth_plain_redacted_and_summary);
	tcase_add_test(tc, test_auth_login_redacted);
	tcase_add_test(tc, test_split_chunks);
	tcase_add_test(tc, test_server_text_sanitised);
	tcase_add_test(tc, test_classify);
	tcase_add_test(tc, test_parse_server);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_no_auth_without_tls);
	return check_run(s);
}
