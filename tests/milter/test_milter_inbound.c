/* The inbound callbacks in-process, against a fake MTA behind the seam and
 * a one-answer HTTP server on loopback: what is deleted, kept and added
 * when an original replaces a summary, and what a refusal or a failure
 * leaves. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <check.h>
#include <glib.h>

#include "config.h"
#include "milter/fetch.h"
#include "milter/inbound_callbacks.h"
#include "milter/seam.h"
#include "token.h"
#include "tests/lib/check_main.h"

/* ---- the fake MTA ---- */
static void *priv;
static GString *calls;      /* "del NAME IDX", "add NAME:VALUE" */
static GString *body;
static int fail_chg;

static void *f_getpriv(SMFICTX *c) { (void)c; return priv; }
static int f_setpriv(SMFICTX *c, void *p) { (void)c; priv = p; return MI_SUCCESS; }
static char *f_getsymval(SMFICTX *c, char *n) { (void)c; return strcmp(n, "i") == 0 ? "QID" : NULL; }
static int
f_chgheader(SMFICTX *c, char *n, int i, char *v)
{
	(void)c;
	if (fail_chg)
		return MI_FAILURE;
	g_string_append_printf(calls, "%s %s %d\n", v == NULL ? "del" : "chg",
	    n, i);
	return MI_SUCCESS;
}
static int
f_addheader(SMFICTX *c, char *n, char *v)
{
	(void)c;
	g_string_append_printf(calls, "add %s:%s\n", n, v);
	return MI_SUCCESS;
}
static int
f_replacebody(SMFICTX *c, unsigned char *b, int len)
{
	(void)c;
	g_string_append_len(body, (const char *)b, len);
	return MI_SUCCESS;
}
static int f_setreply(SMFICTX *c, char *a, char *b, char *d) { (void)c; (void)a; (void)b; (void)d; return MI_SUCCESS; }
static int f_setsymlist(SMFICTX *c, int s, char *m) { (void)c; (void)s; (void)m; return MI_SUCCESS; }

static const struct milter_seam seam = {
	f_getpriv, f_setpriv, f_getsymval, f_chgheader, f_addheader,
	f_replacebody, f_setreply, f_setsymlist,
};
#define CTX ((SMFICTX *)&seam)

/* ---- a server that answers one request with a fixed response ---- */
struct server {
	int fd;
	unsigned port;
	const char *response;
	int requests;
	pthread_t thread;
};

static void *
serve(void *arg)
{
	struct server *s = arg;
	char buf[4096];
	int c = accept(s->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	s->requests++;
	if (read(c, buf, sizeof(buf)) > 0 &&
	    write(c, s->response, strlen(s->response)) < 0)
		s->requests += 100;     /* noticed by the test's count */
	close(c);
	return NULL;
}

static void
server_start(struct server *s, const char *response)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->response = response;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(s->fd, 4), 0);
	getsockname(s->fd, (struct sockaddr *)&sin, &len);
	s->port = ntohs(sin.sin_port);
	pthread_create(&s->thread, NULL, serve, s);
}

static void
server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	close(s->fd);
	pthread_join(s->thread, NULL);
}

/* ---- the dialogue ---- */
static struct config *
load(unsigned port, const char *on_error)
{
	char *dir = g_dir_make_tmp("pullmail-inbound-XXXXXX", NULL);
	char *path = g_build_filename(dir, "pullmail.conf", NULL);
	char *text = g_strdup_printf("[inbound]\nTrust = a.example "
	    "http://127.0.0.1:%u allow-http allow-private\nAuthservID = "
	    "mx.b.example\nTimeout = 5s\nOnError = %s\n", port, on_error);
	char *err = NULL;
	struct config *cfg;

	g_file_set_contents(path, text, -1, NULL);
	cfg = config_load(path, &err);
	ck_assert_msg(cfg != NULL, "%s", err);
	unlink(path);
	rmdir(dir);
	g_free(text);
	g_free(path);
	g_free(dir);
	return cfg;
}

#define SIG_B "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="

/* Sends a summary whose link points at port, with or without the
 * verifier's result; returns the end-of-message answer. */
static sfsistat
send_summary(struct config *cfg, unsigned port, bool trusted)
{
	unsigned long p0, p1, p2, p3;
	char *argv[2] = { "<alice@a.example>", NULL };
	char *link = g_strdup_printf(" http://127.0.0.1:%u/m/"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", port);
	sfsistat rc;

	inbound_set_config(cfg);
	ck_assert_int_eq(inbound_negotiate(CTX, SMFIF_CHGBODY | SMFIF_CHGHDRS |
	    SMFIF_ADDHDRS, SMFIP_HDR_LEADSPC | SMFIP_NOBODY, 0, 0, &p0, &p1,
	    &p2, &p3), SMFIS_CONTINUE);
	ck_assert(p1 & SMFIP_NOBODY);
	inbound_envfrom(CTX, argv);
	argv[0] = "<bob@b.example>";
	inbound_envrcpt(CTX, argv);
	inbound_header(CTX, "Received", " from mx.a.example by mx.b.example");
	if (trusted)
		inbound_header(CTX, "Authentication-Results", " mx.b.example;"
		    "\n\tdkim=pass header.d=a.example header.b=QUJDREVG");
	inbound_header(CTX, "DKIM-Signature", " v=1; d=a.example; s=s;\n\t"
	    "h=from:to:x-pull-url:x-pull-url; bh=x; b=" SIG_B);
	inbound_header(CTX, "From", " <alice@a.example>");
	inbound_header(CTX, "Received", " from client by mx.a.example");
	inbound_header(CTX, "X-Pull-URL", link);
	inbound_header(CTX, "Content-Type", " multipart/alternative");
	rc = inbound_eom(CTX);
	inbound_close(CTX);
	g_free(link);
	return rc;
}

static void
setup(void)
{
	milter_seam = &seam;
	calls = g_string_new(NULL);
	body = g_string_new(NULL);
	fail_chg = 0;
	ck_assert_int_eq(token_init(), 0);
	ck_assert_int_eq(fetch_init(), 0);
}

static void
teardown(void)
{
	g_string_free(calls, TRUE);
	g_string_free(body, TRUE);
	inbound_set_config(NULL);
}

#define ORIGINAL "HTTP/1.1 200 OK\r\nContent-Type: message/rfc822\r\n" \
	"Connection: close\r\n\r\nFrom: <alice@a.example>\nSubject: the " \
	"original\n folded\nAuthentication-Results: mx.b.example; dkim=pass " \
	"header.d=bank.example\nReturn-Path: <x@c.example>\n" \
	"DKIM-Signature: v=1; d=a.example; b=orig\n\n" \
	"line one\nline two\n"

START_TEST(original_replaces_summary)
{
	struct server s;
	struct config *cfg;

	server_start(&s, ORIGINAL);
	cfg = load(s.port, "accept");
	ck_assert_int_eq(send_summary(cfg, s.port, true), SMFIS_CONTINUE);
	server_stop(&s);
	ck_assert_int_eq(s.requests, 1);
	/* Every field of the summary goes, last index first, except the
	 * trace fields; then the trace field of the fetch and the
	 * original's fields as they were, its signature included, but its
	 * Authentication-Results and Return-Path: the receiving side's
	 * alone are delivered. */
	const char *want_del = "del DKIM-Signature 1\ndel From 1\n"
	    "del X-Pull-URL 1\ndel Content-Type 1\n";
	ck_assert_msg(g_str_has_prefix(calls->str, want_del), "%s", calls->str);
	ck_assert(strstr(calls->str, "Received") == NULL);
	ck_assert(strstr(calls->str, "Authentication-Results") == NULL);
	ck_assert(strstr(calls->str, "Return-Path") == NULL);
	char *adds = calls->str + strlen(want_del);
	ck_assert_msg(g_str_has_prefix(adds, "add X-Pull-Fetched: from "
	    "http://127.0.0.1:"), "%s", adds);
	ck_assert_msg(strstr(adds, "add From: <alice@a.example>\n"
	    "add Subject: the original\n folded\n"
	    "add DKIM-Signature: v=1; d=a.example; b=orig\n") != NULL, "%s",
	    adds);
	ck_assert_str_eq(body->str, "line one\r\nline two\r\n");
	config_unref(cfg);
}
END_TEST

START_TEST(untrusted_left_alone)
{
	struct server s;
	struct config *cfg;

	server_start(&s, ORIGINAL);
	cfg = load(s.port, "tempfail");
	ck_assert_int_eq(send_summary(cfg, s.port, false), SMFIS_CONTINUE);
	server_stop(&s);
	ck_assert_int_eq(s.requests, 0);
	ck_assert_str_eq(calls->str, "");
	ck_assert_uint_eq(body->len, 0);
	config_unref(cfg);
}
END_TEST

START_TEST(failure_follows_on_error)
{
	static const char *const gone = "HTTP/1.1 410 Gone\r\nContent-Length: "
	    "0\r\nConnection: close\r\n\r\n";
	struct server s;
	struct config *cfg;

	server_start(&s, gone);
	cfg = load(s.port, "tempfail");
	ck_assert_int_eq(send_summary(cfg, s.port, true), SMFIS_TEMPFAIL);
	server_stop(&s);
	config_unref(cfg);
	ck_assert_str_eq(calls->str, "");

	server_start(&s, gone);
	cfg = load(s.port, "accept");
	ck_assert_int_eq(send_summary(cfg, s.port, true), SMFIS_CONTINUE);
	server_stop(&s);
	config_unref(cfg);
	ck_assert_str_eq(calls->str, "");
	ck_assert_uint_eq(body->len, 0);
}
END_TEST

START_TEST(refused_change_tempfails)
{
	struct server s;
	struct config *cfg;

	server_start(&s, ORIGINAL);
	cfg = load(s.port, "accept");
	fail_chg = 1;
	ck_assert_int_eq(send_summary(cfg, s.port, true), SMFIS_TEMPFAIL);
	server_stop(&s);
	config_unref(cfg);
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("milter_inbound", "inbound", &tc);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, original_replaces_summary);
	tcase_add_test(tc, untrusted_left_alone);
	tcase_add_test(tc, failure_follows_on_error);
	tcase_add_test(tc, refused_change_tempfails);
	return check_run(s);
}
