/* policy.c: every branch of the pull decision, LocalDomains matching and
 * the expiry an X-Pull-Expires header may set. */
#include <check.h>
#include <glib.h>
#include <string.h>

#include "config.h"
#include "milter/policy.h"
#include "token.h"
#include "tests/lib/check_main.h"

static struct config *cfg;

static void setup(void) { cfg = config_defaults(); ck_assert_ptr_nonnull(cfg); }
static void teardown(void) { config_unref(cfg); }

static struct policy_facts
trusted(void)
{
	struct policy_facts f = { .authenticated = true, .n_rcpt = 1 };
	return f;
}

START_TEST(decisions)
{
	struct policy_facts f = trusted();
	ck_assert_int_eq(policy_should_pull(cfg, &f), POLICY_PULL);
	f.authenticated = false;
	ck_assert_int_eq(policy_should_pull(cfg, &f), POLICY_SKIP_UNTRUSTED);
	f.internal_client = true;
	ck_assert_int_eq(policy_should_pull(cfg, &f), POLICY_PULL);
	/* X-Pull: no only counts from an authenticated sender */
	f.x_pull_no = true;
	ck_assert_int_eq(policy_should_pull(cfg, &f), POLICY_PULL);
	f.authenticated = true;
	ck_assert_int_eq(policy_should_pull(cfg, &f), POLICY_SKIP_X_PULL_NO);
	f = trusted();
	f.null_sender = true;
	ck_assert_int_eq(policy_should_pull(cfg, &f), POLICY_SKIP_NULL_SENDER);
	f = trusted();
	f.pulled_here = true;
	ck_assert_int_eq(policy_should_pull(cfg, &f), POLICY_SKIP_LOOP);
	f = trusted();
	f.n_rcpt = 3;
	f.n_rcpt_local = 3;
	ck_assert_int_eq(policy_should_pull(cfg, &f), POLICY_SKIP_ALL_LOCAL);
	f.n_rcpt_local = 2;
	ck_assert_int_eq(policy_should_pull(cfg, &f), POLICY_PULL);
	/* PullAuthenticated = no: authentication alone is not enough */
	cfg->pull_authenticated = false;
	f = trusted();
	ck_assert_int_eq(policy_should_pull(cfg, &f), POLICY_SKIP_UNTRUSTED);
}
END_TEST

START_TEST(end_of_message_thresholds)
{
	ck_assert_int_eq(policy_should_keep(cfg, 10, 0), POLICY_PULL);
	cfg->minimum_size = 100;
	ck_assert_int_eq(policy_should_keep(cfg, 99, 1), POLICY_SKIP_TOO_SMALL);
	ck_assert_int_eq(policy_should_keep(cfg, 100, 1), POLICY_PULL);
	cfg->max_message_size = 1000;
	ck_assert_int_eq(policy_should_keep(cfg, 1001, 1), POLICY_SKIP_TOO_BIG);
	cfg->only_with_attachments = true;
	ck_assert_int_eq(policy_should_keep(cfg, 500, 0),
	    POLICY_SKIP_NO_ATTACHMENT);
	ck_assert_int_eq(policy_should_keep(cfg, 500, 2), POLICY_PULL);
	for (int d = POLICY_PULL; d <= POLICY_SKIP_NO_ATTACHMENT; d++)
		ck_assert_str_ne(policy_reason(d), "unknown");
}
END_TEST

START_TEST(local_domains)
{
	ck_assert(!policy_rcpt_is_local(cfg, "<a@example.org>"));
	g_strfreev(cfg->local_domains);
	cfg->local_domains = g_strsplit("example.org,corp.example", ",", -1);
	ck_assert(policy_rcpt_is_local(cfg, "<a@Example.ORG>"));
	ck_assert(policy_rcpt_is_local(cfg, "b@corp.example"));
	ck_assert(!policy_rcpt_is_local(cfg, "<a@sub.example.org>"));
	ck_assert(!policy_rcpt_is_local(cfg, "<a@example.org.evil>"));
	ck_assert(!policy_rcpt_is_local(cfg, "<postmaster>"));
}
END_TEST

START_TEST(expiry)
{
	bool ignored;
	int64_t now = 1000000;
	cfg->default_expiry = 30 * 86400;
	cfg->max_retention = 90 * 86400;
	ck_assert_int_eq(policy_expiry(cfg, true, NULL, now, &ignored),
	    now + 30 * 86400);
	ck_assert(!ignored);
	ck_assert_int_eq(policy_expiry(cfg, true, " 14d", now, &ignored),
	    now + 14 * 86400);
	/* capped by MaxRetention */
	ck_assert_int_eq(policy_expiry(cfg, true, "400d", now, &ignored),
	    now + 90 * 86400);
	/* unauthenticated or malformed: the default, and said so */
	ck_assert_int_eq(policy_expiry(cfg, false, "2d", now, &ignored),
	    now + 30 * 86400);
	ck_assert(ignored);
	ck_assert_int_eq(policy_expiry(cfg, true, "soon", now, &ignored),
	    now + 30 * 86400);
	ck_assert(ignored);
}
END_TEST

/* The loop test's first half: is an X-Pull-URL value a link of this
 * BaseURL and PathPrefix, and which object does it name? */
START_TEST(link_is_ours)
{
	struct token *t = token_new();
	char tok[TOKEN_TEXT_LEN + 1];
	struct storage_id want, got;
	ck_assert_ptr_nonnull(t);
	token_encode(t, tok);
	token_storage_id(t, &want);
	token_free(t);
	g_free(cfg->base_url);
	cfg->base_url = g_strdup("https://mail.example.org/");
	char *prefix = policy_link_prefix(cfg);
	ck_assert_str_eq(prefix, "https://mail.example.org/m/");
	g_free(prefix);

	char *v = g_strdup_printf(" https://mail.example.org/m/%s\r\n", tok);
	memset(&got, 0, sizeof(got));
	ck_assert(policy_link_is_ours(cfg, v, &got));
	ck_assert_str_eq(got.hex, want.hex);
	g_free(v);
	/* a foreign base with our token, a look-alike host, a longer path */
	static const char *const bad[][2] = {
	    { "https://evil.example/m/", "" },
	    { "https://mail.example.org.evil/m/", "" },
	    { "http://mail.example.org/m/", "" },
	    { "https://mail.example.org/x/", "" },
	    { "https://mail.example.org/m/", "/" },
	    { "https://mail.example.org/m/", "?x" },
	    { "https://mail.example.org/m/a", "" },
	    { "https://mail.example.org/m/ ", "" },
	    { "x https://mail.example.org/m/", "" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		v = g_strconcat(bad[i][0], tok, bad[i][1], NULL);
		ck_assert_msg(!policy_link_is_ours(cfg, v, &got), "%s", v);
		g_free(v);
	}
	/* not a token: wrong length, not base64url */
	ck_assert(!policy_link_is_ours(cfg, "https://mail.example.org/m/abc",
	    &got));
	ck_assert(!policy_link_is_ours(cfg, "https://mail.example.org/m/"
	    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", &got));
	ck_assert(!policy_link_is_ours(cfg, "", &got));
	ck_assert(!policy_link_is_ours(cfg, NULL, &got));
	/* another PathPrefix */
	g_free(cfg->path_prefix);
	cfg->path_prefix = g_strdup("/pull/");
	v = g_strdup_printf("https://mail.example.org/pull/%s", tok);
	ck_assert(policy_link_is_ours(cfg, v, &got));
	g_free(v);
	v = g_strdup_printf("https://mail.example.org/m/%s", tok);
	ck_assert(!policy_link_is_ours(cfg, v, &got));
	g_free(v);
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("milter_policy", "policy", &tc);

	token_init();
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, decisions);
	tcase_add_test(tc, end_of_message_thresholds);
	tcase_add_test(tc, local_domains);
	tcase_add_test(tc, expiry);
	tcase_add_test(tc, link_is_ours);
	return check_run(s);
}
