/* The inbound decision: Authentication-Results and DKIM-Signature parsing,
 * links, the trust list, addresses, the rule, the fetched original, the
 * opt-out map. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <check.h>
#include <glib.h>

#include "tests/lib/check_main.h"
#include "inbound.h"
#include "milter/inbound_callbacks.h"

#define B_A "dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBidXQgbG9uZyBlbm91Z2g="
#define B_OTHER "b3RoZXIgc2lnbmF0dXJlIHZhbHVlIGZvciB0aGUgc2Vjb25kIG9uZQ=="

START_TEST(test_ar_opendkim)
{
	GPtrArray *r = inbound_dkim_results_new();
	char *id = NULL;
	const struct inbound_dkim_result *d;

	/* As OpenDKIM writes it, folded, with its comments. */
	ck_assert_int_eq(inbound_ar_parse(" mx.b.example; dkim=pass (2048-bit "
	    "key; unprotected)\n\theader.d=A.example header.i=@a.example "
	    "header.a=rsa-sha256\n\theader.s=sel header.b=dGhpcyBp", &id, r),
	    0);
	ck_assert_str_eq(id, "mx.b.example");
	ck_assert_uint_eq(r->len, 1);
	d = r->pdata[0];
	ck_assert_str_eq(d->result, "pass");
	ck_assert_str_eq(d->d, "a.example");
	ck_assert_str_eq(d->b, "dGhpcyBp");
	g_free(id);
	g_ptr_array_unref(r);
}
END_TEST

START_TEST(test_ar_forms)
{
	GPtrArray *r = inbound_dkim_results_new();
	char *id = NULL;
	const struct inbound_dkim_result *d;

	/* A quoted authserv-id, a version, nested comments with a quoted
	 * pair, several results, a method version, a reason, CFWS
	 * everywhere. */
	ck_assert_int_eq(inbound_ar_parse("\"mx.b.example\" 1 (c (n\\)) x);"
	    " spf=pass smtp.mailfrom=a@a.example ; dkim/1 = fail "
	    "reason=\"bad sig; really\" header.d=x.example header.b=AAAA;"
	    "dkim=PASS header.d = a.example header.b=\"dGhpcyBpcyBu\"", &id,
	    r), 0);
	ck_assert_str_eq(id, "mx.b.example");
	ck_assert_uint_eq(r->len, 2);
	d = r->pdata[0];
	ck_assert_str_eq(d->result, "fail");
	ck_assert_str_eq(d->d, "x.example");
	d = r->pdata[1];
	ck_assert_str_eq(d->result, "pass");
	ck_assert_str_eq(d->d, "a.example");
	ck_assert_str_eq(d->b, "dGhpcyBpcyBu");
	g_free(id);
	g_ptr_array_set_size(r, 0);

	/* No result at all. */
	ck_assert_int_eq(inbound_ar_parse("mx.b.example; none", &id, r), 0);
	ck_assert_uint_eq(r->len, 0);
	g_free(id);
	/* A malformed resinfo is skipped, the next one read. */
	ck_assert_int_eq(inbound_ar_parse("mx; dkim pass; dkim=pass "
	    "header.d=a.example", &id, r), 0);
	ck_assert_uint_eq(r->len, 1);
	g_free(id);
	g_ptr_array_set_size(r, 0);
	/* header.d twice in one result: that result is not believed. */
	ck_assert_int_eq(inbound_ar_parse("mx; dkim=pass header.d=a.example "
	    "header.d=evil.example", &id, r), 0);
	ck_assert_uint_eq(r->len, 0);
	g_free(id);
	/* Malformed: no id, junk after the id, an open comment, an open
	 * quote. */
	ck_assert_int_eq(inbound_ar_parse("", &id, r), -1);
	ck_assert_ptr_null(id);
	ck_assert_int_eq(inbound_ar_parse("mx junk; dkim=pass", &id, r), -1);
	ck_assert_int_eq(inbound_ar_parse("mx (open; dkim=pass", &id, r), -1);
	ck_assert_int_eq(inbound_ar_parse("\"mx; dkim=pass", &id, r), -1);
	g_ptr_array_unref(r);
}
END_TEST

START_TEST(test_sig)
{
	struct inbound_sig s;

	ck_assert_int_eq(inbound_sig_parse(" v=1; a=rsa-sha256; c=relaxed/"
	    "simple; d=A.Example;\n\ts=sel; h=From:To : Subject:\n\t"
	    "X-Pull-URL:x-pull-url; bh=abc=; b=dGhp\n\tcyBp cw==", &s), 0);
	ck_assert_str_eq(s.d, "a.example");
	ck_assert_str_eq(s.b, "dGhpcyBpcw==");
	ck_assert_uint_eq(g_strv_length(s.h), 5);
	ck_assert_str_eq(s.h[2], "subject");
	ck_assert_str_eq(s.h[3], "x-pull-url");
	ck_assert_str_eq(s.h[4], "x-pull-url");
	inbound_sig_clear(&s);
	/* A tag twice, no b=, no d=, a bad tag name. */
	ck_assert_int_eq(inbound_sig_parse("d=a.example; d=b.example; h=from; "
	    "b=xx", &s), -1);
	ck_assert_int_eq(inbound_sig_parse("d=a.example; h=from", &s), -1);
	ck_assert_int_eq(inbound_sig_parse("h=from; b=xx", &s), -1);
	ck_assert_int_eq(inbound_sig_parse("d=a.example; 1h=from; b=xx", &s),
	    -1);
	ck_assert_ptr_null(s.d);
}
END_TEST

START_TEST(test_url)
{
	struct inbound_url u, o;

	ck_assert_int_eq(inbound_url_parse(" https://Pull.A.example/m/"
	    "abc_DEF-123 ", false, &u), 0);
	ck_assert_str_eq(u.scheme, "https");
	ck_assert_str_eq(u.host, "pull.a.example");
	ck_assert_uint_eq(u.port, 443);
	ck_assert_str_eq(u.path, "/m/abc_DEF-123");
	ck_assert_int_eq(inbound_url_parse("https://pull.a.example:443/", true,
	    &o), 0);
	ck_assert(inbound_url_same_origin(&u, &o));
	inbound_url_clear(&o);
	ck_assert_int_eq(inbound_url_parse("http://pull.a.example/", true,
	    &o), 0);
	ck_assert(!inbound_url_same_origin(&u, &o));
	inbound_url_clear(&o);
	inbound_url_clear(&u);
	ck_assert_int_eq(inbound_url_parse("https://[::1]:8443/m/x", false,
	    &u), 0);
	ck_assert_str_eq(u.host, "[::1]");
	ck_assert_uint_eq(u.port, 8443);
	inbound_url_clear(&u);

	static const char *const bad[] = {
		"ftp://a.example/m/x", "https://user@a.example/m/x",
		"https://a.example/m/x?y", "https://a.example/m/x#y",
		"https://a.example/m/../x", "https://a.example//x",
		"https://a.example:0/m/x", "https://a.example:65536/m/x",
		"https://a.example:/m/x", "https://a.example/m/%2e%2e",
		"https:///m/x", "https://-a.example/", "https://[zz]/",
		"https://a.example/m/x y", "https://a.example\\@b/",
		"", "https://a.example/m/.",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		ck_assert_msg(inbound_url_parse(bad[i], false, &u) == -1,
		    "accepted %s", bad[i]);
	ck_assert_int_eq(inbound_url_parse("https://a.example/m", true, &u),
	    -1);
}
END_TEST

START_TEST(test_trust)
{
	struct inbound_trust_list l;
	const struct inbound_trust *t;
	char *err = NULL;

	ck_assert_int_eq(inbound_trust_parse("a.example https://pull.a.example"
	    " https://pull2.a.example:8443; B.example http://127.0.0.1:8080 "
	    "allow-http allow-private;", &l, &err), 0);
	ck_assert_uint_eq(l.n, 2);
	t = inbound_trust_find(&l, "A.EXAMPLE");
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->n_origins, 2);
	ck_assert(!t->allow_http && !t->allow_private);
	t = inbound_trust_find(&l, "b.example");
	ck_assert_ptr_nonnull(t);
	ck_assert(t->allow_http && t->allow_private);
	ck_assert_ptr_null(inbound_trust_find(&l, "c.example"));
	inbound_trust_clear(&l);

	ck_assert_int_eq(inbound_trust_parse("a.example https://x; b.example "
	    "https://x https://y allow-private", &l, &err), -1);
	g_free(err);
	ck_assert_int_eq(inbound_trust_parse("a.example https://x; b.example "
	    "https://x", &l, &err), 0);
	inbound_trust_clear(&l);
	ck_assert_int_eq(inbound_trust_parse("", &l, &err), 0);
	ck_assert_uint_eq(l.n, 0);
	static const char *const bad[] = {
		"a.example",                          /* no origin */
		"a.example http://pull.a.example",    /* http not allowed */
		"a.example https://pull.a.example/m/", /* a path */
		"a.example https://x; a.example https://y", /* twice */
		"a..example https://x", "a.example https://x allow-all",
		/* One origin with and without allow-private. */
		"a.example https://x allow-private; b.example https://x:443",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		ck_assert_msg(inbound_trust_parse(bad[i], &l, &err) == -1,
		    "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(err);
		g_free(err);
		err = NULL;
	}
}
END_TEST

static bool
priv(const char *text)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, text, a) == 1)
		return inbound_address_is_private(AF_INET, a);
	ck_assert_int_eq(inet_pton(AF_INET6, text, a), 1);
	return inbound_address_is_private(AF_INET6, a);
}

START_TEST(test_addresses)
{
	static const char *const private_ones[] = {
		"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255",
		"192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
		"224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1",
		"fc00::1", "fd12::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"64:ff9b::a00:1", "ff02::1", "64:ff9b:1::808:808",
		"::ffff:0:10.0.0.1",
	};
	static const char *const public_ones[] = {
		"8.8.8.8", "172.32.0.1", "192.169.0.1", "100.128.0.1",
		"2a00:1450::1", "::ffff:8.8.8.8", "::ffff:0:8.8.8.8",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(private_ones); i++)
		ck_assert_msg(priv(private_ones[i]), "%s", private_ones[i]);
	for (size_t i = 0; i < G_N_ELEMENTS(public_ones); i++)
		ck_assert_msg(!priv(public_ones[i]), "%s", public_ones[i]);
}
END_TEST

/* A trusted summary's fields; each test spoils one thing. */
struct fixture {
	struct inbound_trust_list trust;
	char **ids;
	struct inbound_fields f;
};

static void
fixture_init(struct fixture *fx, const char *ar, const char *sig,
    const char *url)
{
	char *err = NULL;

	ck_assert_int_eq(inbound_trust_parse("a.example https://pull.a.example;"
	    " c.example https://pull.c.example", &fx->trust, &err), 0);
	fx->ids = g_strsplit("mx.b.example,other.b.example", ",", -1);
	fx->f.auth_results = g_ptr_array_new_with_free_func(g_free);
	fx->f.dkim_sigs = g_ptr_array_new_with_free_func(g_free);
	fx->f.pull_urls = g_ptr_array_new_with_free_func(g_free);
	if (ar != NULL)
		g_ptr_array_add(fx->f.auth_results, g_strdup(ar));
	if (sig != NULL)
		g_ptr_array_add(fx->f.dkim_sigs, g_strdup(sig));
	if (url != NULL)
		g_ptr_array_add(fx->f.pull_urls, g_strdup(url));
}

static void
fixture_clear(struct fixture *fx)
{
	inbound_trust_clear(&fx->trust);
	g_strfreev(fx->ids);
	g_ptr_array_unref(fx->f.auth_results);
	g_ptr_array_unref(fx->f.dkim_sigs);
	g_ptr_array_unref(fx->f.pull_urls);
}

#define AR_PASS "mx.b.example; dkim=pass header.d=a.example header.b=dGhpcyBp"
#define SIG_GOOD "v=1; d=a.example; s=s; h=from:to:subject:x-pull-url:" \
	"x-pull-url:from; bh=x; b=" B_A
#define LINK "https://pull.a.example/m/abcdefghij"

/* Runs the decision; returns whether it fetches, with its reason. */
static bool
decide(const char *ar, const char *sig, const char *url, const char *extra_ar,
    const char *extra_sig, const char *extra_url, const char **why)
{
	struct fixture fx;
	struct inbound_decision d;
	bool fetch;

	fixture_init(&fx, ar, sig, url);
	if (extra_ar != NULL)
		g_ptr_array_add(fx.f.auth_results, g_strdup(extra_ar));
	if (extra_sig != NULL)
		g_ptr_array_add(fx.f.dkim_sigs, g_strdup(extra_sig));
	if (extra_url != NULL)
		g_ptr_array_add(fx.f.pull_urls, g_strdup(extra_url));
	inbound_decide(&fx.trust, fx.ids, &fx.f, &d);
	fetch = d.fetch;
	*why = d.why;
	if (fetch) {
		ck_assert_str_eq(d.link.host, "pull.a.example");
		ck_assert_str_eq(d.entry->domain, "a.example");
	}
	inbound_decision_clear(&d);
	fixture_clear(&fx);
	return fetch;
}

START_TEST(test_decide)
{
	const char *why;

	ck_assert(decide(AR_PASS, SIG_GOOD, LINK, NULL, NULL, NULL, &why));
	ck_assert_str_eq(why, "trusted");
	/* Another authserv-id in the list, and a foreign A-R first. */
	ck_assert(decide("evil.example; dkim=fail header.d=a.example",
	    SIG_GOOD, LINK, "other.b.example; dkim=pass header.d=a.example "
	    "header.b=dGhpcyBp", NULL, NULL, &why));

	/* Every refusal, with its reason. */
	ck_assert(!decide(AR_PASS, SIG_GOOD, NULL, NULL, NULL, NULL, &why));
	ck_assert_str_eq(why, "no X-Pull-URL");
	ck_assert(!decide(AR_PASS, SIG_GOOD, LINK, NULL, NULL, LINK, &why));
	ck_assert_str_eq(why, "more than one X-Pull-URL");
	ck_assert(!decide(AR_PASS, SIG_GOOD, "javascript:x", NULL, NULL, NULL,
	    &why));
	ck_assert(!decide("evil.example; dkim=pass header.d=a.example "
	    "header.b=dGhpcyBp", SIG_GOOD, LINK, NULL, NULL, NULL, &why));
	ck_assert(strstr(why, "authserv-id") != NULL);
	ck_assert(!decide(NULL, SIG_GOOD, LINK, NULL, NULL, NULL, &why));
	ck_assert(strstr(why, "authserv-id") != NULL);
	ck_assert(!decide("mx.b.example; dkim=fail header.d=a.example "
	    "header.b=dGhpcyBp", SIG_GOOD, LINK, NULL, NULL, NULL, &why));
	ck_assert(strstr(why, "dkim=pass") != NULL);
	ck_assert(!decide("mx.b.example; dkim=pass header.d=x.example "
	    "header.b=dGhpcyBp", SIG_GOOD, LINK, NULL, NULL, NULL, &why));
	ck_assert(strstr(why, "dkim=pass") != NULL);
	/* No header.b, a short one, one matching no signature, one
	 * matching two. */
	ck_assert(!decide("mx.b.example; dkim=pass header.d=a.example",
	    SIG_GOOD, LINK, NULL, NULL, NULL, &why));
	ck_assert(strstr(why, "not identified") != NULL);
	ck_assert(!decide("mx.b.example; dkim=pass header.d=a.example "
	    "header.b=dGh", SIG_GOOD, LINK, NULL, NULL, NULL, &why));
	ck_assert(strstr(why, "not identified") != NULL);
	ck_assert(!decide("mx.b.example; dkim=pass header.d=a.example "
	    "header.b=b3RoZXIg", SIG_GOOD, LINK, NULL, NULL, NULL, &why));
	ck_assert(strstr(why, "not identified") != NULL);
	ck_assert(!decide(AR_PASS, SIG_GOOD, LINK, NULL, "d=a.example; "
	    "h=x-pull-url:x-pull-url; b=" B_A, NULL, &why));
	ck_assert(strstr(why, "not identified") != NULL);
	/* The signature of another domain does not count. */
	ck_assert(!decide(AR_PASS, "d=c.example; h=x-pull-url:x-pull-url; b="
	    B_A, LINK, NULL, NULL, NULL, &why));
	ck_assert(strstr(why, "not identified") != NULL);
	/* Debian's default h=, and X-Pull-URL signed once only. */
	ck_assert(!decide(AR_PASS, "d=a.example; h=from:to:date:subject; b="
	    B_A, LINK, NULL, NULL, NULL, &why));
	ck_assert_str_eq(why, "the passing signature does not sign "
	    "X-Pull-URL");
	ck_assert(!decide(AR_PASS, "d=a.example; h=from:x-pull-url; b="
	    B_A, LINK, NULL, NULL, NULL, &why));
	ck_assert(strstr(why, "does not oversign") != NULL);
	/* A link to another origin, even one listed for another domain. */
	ck_assert(!decide(AR_PASS, SIG_GOOD, "https://pull.c.example/m/abc",
	    NULL, NULL, NULL, &why));
	ck_assert(strstr(why, "origin is not listed") != NULL);
	ck_assert(!decide(AR_PASS, SIG_GOOD, "https://pull.a.example:8443/m/"
	    "abc", NULL, NULL, NULL, &why));
	ck_assert(!decide(AR_PASS, SIG_GOOD, "http://pull.a.example/m/abc",
	    NULL, NULL, NULL, &why));
}
END_TEST

START_TEST(test_original)
{
	struct inbound_original o;
	const struct inbound_field *f;
	const char *why;
	char ok[] = "From: a@a.example\r\nSubject: one\r\n two\r\n"
	    "DKIM-Signature: v=1; d=a.example;\r\n\tb=xyz\r\n\r\nbody\r\n";
	char lf[] = "From: a@a.example\nTo:b@b.example\n\nline\n";
	char nobody[] = "From: a@a.example\n";

	ck_assert_int_eq(inbound_original_parse(ok, strlen(ok), &o, &why), 0);
	ck_assert_uint_eq(o.fields->len, 3);
	f = o.fields->pdata[1];
	ck_assert_str_eq(f->name, "Subject");
	ck_assert_str_eq(f->value, "one\n two");
	f = o.fields->pdata[2];
	ck_assert_str_eq(f->value, "v=1; d=a.example;\n\tb=xyz");
	ck_assert_uint_eq(o.body_len, 6);
	ck_assert(memcmp(o.body, "body\r\n", 6) == 0);
	inbound_original_clear(&o);
	ck_assert_int_eq(inbound_original_parse(lf, strlen(lf), &o, &why), 0);
	f = o.fields->pdata[1];
	ck_assert_str_eq(f->value, "b@b.example");
	ck_assert_uint_eq(o.body_len, 5);
	inbound_original_clear(&o);
	ck_assert_int_eq(inbound_original_parse(nobody, strlen(nobody), &o,
	    &why), 0);
	ck_assert_uint_eq(o.body_len, 0);
	inbound_original_clear(&o);

	static const char *const bad[] = {
		"", "not a message\n\nbody", " cont: x\nFrom: a\n\nb",
		"From: a\nBad Name: x\n\nb", "To: b@b.example\n\nno from",
		"From: a", "From: a\n: empty name\n\n",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *copy = g_strdup(bad[i]);
		ck_assert_msg(inbound_original_parse(copy, strlen(copy), &o,
		    &why) == -1, "accepted %s", bad[i]);
		ck_assert_ptr_null(o.fields);
		g_free(copy);
	}
	char nul[] = "From: a\n\nb\0c";
	ck_assert_int_eq(inbound_original_parse(nul, sizeof(nul) - 1, &o,
	    &why), -1);
	ck_assert_str_eq(why, "the original holds a NUL byte");
}
END_TEST

/* A header made of millions of continuation lines or of fields, within
 * MaxSize: refused, and in time linear in its size (the test would run for
 * hours if a continuation copied its field's value again). */
START_TEST(test_original_limits)
{
	struct inbound_original o;
	const char *why;
	GString *g = g_string_new("From: a@a.example\nX: a\n");

	for (int i = 0; i < 3000000; i++)
		g_string_append(g, " a\n");
	g_string_append(g, "\nbody\n");
	ck_assert_int_eq(inbound_original_parse(g->str, g->len, &o, &why), -1);
	ck_assert_str_eq(why, "the original has a header field longer than "
	    "100 KiB");
	ck_assert_ptr_null(o.fields);

	/* The longest field accepted: 100 KiB of value exactly. */
	g_string_assign(g, "From: a@a.example\nX: ");
	for (int i = 0; i < 102400 - 1; i += 2)
		g_string_append(g, "a\n ");
	g_string_truncate(g, strlen("From: a@a.example\nX: ") + 102400);
	g_string_append(g, "\n\nbody\n");
	ck_assert_int_eq(inbound_original_parse(g->str, g->len, &o, &why), 0);
	ck_assert_uint_eq(strlen(((const struct inbound_field *)
	    o.fields->pdata[1])->value), 102400);
	inbound_original_clear(&o);

	g_string_assign(g, "From: a@a.example\n");
	for (int i = 0; i < 2000000; i++)
		g_string_append(g, "X: a\n");
	g_string_append(g, "\nbody\n");
	ck_assert_int_eq(inbound_original_parse(g->str, g->len, &o, &why), -1);
	ck_assert_str_eq(why, "the original has too many header fields");
	g_string_free(g, TRUE);
}
END_TEST

START_TEST(test_opt_out)
{
	const char *map = "# who keeps summaries\n  Alice@B.example \n"
	    "@quiet.example\n\n";

	ck_assert(inbound_opted_out(map, "<alice@b.example>"));
	ck_assert(inbound_opted_out(map, "ALICE@b.example"));
	ck_assert(inbound_opted_out(map, "<bob@quiet.example>"));
	ck_assert(!inbound_opted_out(map, "<bob@b.example>"));
	ck_assert(!inbound_opted_out(map, "<alice@b.example.org>"));
	ck_assert(!inbound_opted_out(map, "# who keeps summaries"));
	ck_assert(inbound_is_kept_trace_field("received"));
	ck_assert(inbound_is_kept_trace_field("Authentication-Results"));
	ck_assert(inbound_is_kept_trace_field("Return-Path"));
	ck_assert(!inbound_is_kept_trace_field("DKIM-Signature"));
	ck_assert(!inbound_is_kept_trace_field("X-Pull-URL"));
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("inbound", "inbound", &tc);

	tcase_add_test(tc, test_ar_opendkim);
	tcase_add_test(tc, test_ar_forms);
	tcase_add_test(tc, test_sig);
	tcase_add_test(tc, test_url);
	tcase_add_test(tc, test_trust);
	tcase_add_test(tc, test_addresses);
	tcase_add_test(tc, test_decide);
	tcase_add_test(tc, test_original);
	tcase_add_test(tc, test_original_limits);
	tcase_add_test(tc, test_opt_out);
	return check_run(s);
}
