/* Configuration: parsing of every type, the exact error messages, CIDR
 * matching, defaults, and hostile files (1 MB line, not UTF-8, NUL). */
#include <arpa/inet.h>
#include <check.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "tests/lib/check_main.h"

static char tmpdir[] = "/tmp/pullmail-test-config-XXXXXX";
static char conf_path[sizeof(tmpdir) + 32];

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(conf_path, sizeof(conf_path), "%s/pullmail.conf", tmpdir);
}

static void
teardown(void)
{
	unlink(conf_path);
	rmdir(tmpdir);
	memcpy(tmpdir + strlen(tmpdir) - 6, "XXXXXX", 6);
}

static void
write_file(const void *data, size_t len)
{
	FILE *f = fopen(conf_path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static struct config *
load_text(const char *text, char **err)
{
	write_file(text, strlen(text));
	return config_load(conf_path, err);
}

/* Loads text that must fail and checks the whole message. */
static void
expect_error(const char *text, const char *expected_tail)
{
	char *err = NULL;
	struct config *cfg = load_text(text, &err);
	char *want = g_strdup_printf("%s: %s", conf_path, expected_tail);

	ck_assert_msg(cfg == NULL, "accepted: %s", text);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(err, want);
	g_free(want);
	g_free(err);
}

static const char full_file[] =
    "# every key\n"
    "[store]\n"
    "Backend = fs\n"
    "StoreDir = /srv/pull/store\n"
    "MaxRetention = 180d\n"
    "[log]\n"
    "Facility = local3\n"
    "Level = debug\n"
    "[milter]\n"
    "Socket = inet:8891@127.0.0.1\n"
    "SocketMode = 0600\n"
    "SocketGroup = postfix\n"
    "UserID = pullmail:mail\n"
    "PidFile = /run/pullmail/milter.pid\n"
    "InternalHosts = 192.168.0.0/16, 2001:db8::/32 , 10.1.2.3\n"
    "LocalDomains = example.org, example.net\n"
    "PullAuthenticated = no\n"
    "MinimumSize = 512K\n"
    "OnlyWithAttachments = yes\n"
    "MaxMessageSize = 25M\n"
    "OnError = tempfail\n"
    "DefaultExpiry = 2w\n"
    "BaseURL = https://mail.example.org/pull/\n"
    "LogWhy = true\n"
    "[web]\n"
    "PathPrefix = /pull/\n"
    "KeepExtension = 7d\n"
    "AllowRemoteImages = off\n"
    "DefaultLanguage = pt-BR\n"
    "[summary]\n"
    "Language = pt-BR\n"
    "TemplateDir = /etc/pullmail/templates\n";

START_TEST(test_every_key)
{
	char *err = NULL;
	struct config *cfg = load_text(full_file, &err);

	ck_assert_msg(cfg != NULL, "%s", err ? err : "");
	ck_assert_ptr_null(err);
	ck_assert_str_eq(cfg->path, conf_path);
	ck_assert_str_eq(cfg->store_backend, "fs");
	ck_assert_str_eq(cfg->store_dir, "/srv/pull/store");
	ck_assert_int_eq(cfg->max_retention, 180 * 86400);
	ck_assert_int_eq(cfg->log_facility, LOG_LOCAL3);
	ck_assert_int_eq(cfg->log_level, LOG_DEBUG);
	ck_assert_str_eq(cfg->milter_socket, "inet:8891@127.0.0.1");
	ck_assert_int_eq(cfg->socket_mode, 0600);
	ck_assert_str_eq(cfg->socket_group, "postfix");
	ck_assert_str_eq(cfg->user_id, "pullmail:mail");
	ck_assert_str_eq(cfg->pid_file, "/run/pullmail/milter.pid");
	ck_assert_uint_eq(cfg->internal_hosts.n, 3);
	ck_assert_int_eq(cfg->internal_hosts.v[0].family, AF_INET);
	ck_assert_uint_eq(cfg->internal_hosts.v[0].prefix, 16);
	ck_assert_int_eq(cfg->internal_hosts.v[1].family, AF_INET6);
	ck_assert_uint_eq(cfg->internal_hosts.v[1].prefix, 32);
	ck_assert_uint_eq(cfg->internal_hosts.v[2].prefix, 32);
	ck_assert_ptr_nonnull(cfg->local_domains);
	ck_assert_str_eq(cfg->local_domains[0], "example.org");
	ck_assert_str_eq(cfg->local_domains[1], "example.net");
	ck_assert_ptr_null(cfg->local_domains[2]);
	ck_assert(!cfg->pull_authenticated);
	ck_assert_uint_eq(cfg->minimum_size, 512 * 1024);
	ck_assert(cfg->only_with_attachments);
	ck_assert_uint_eq(cfg->max_message_size, 25 * 1024 * 1024);
	ck_assert_int_eq(cfg->on_error, ON_ERROR_TEMPFAIL);
	ck_assert_int_eq(cfg->default_expiry, 14 * 86400);
	/* The trailing slash goes, so BaseURL + PathPrefix is the link. */
	ck_assert_str_eq(cfg->base_url, "https://mail.example.org/pull");
	ck_assert(cfg->log_why);
	ck_assert_str_eq(cfg->path_prefix, "/pull/");
	ck_assert_int_eq(cfg->keep_extension, 7 * 86400);
	ck_assert(!cfg->allow_remote_images);
	ck_assert_str_eq(cfg->default_language, "pt-BR");
	ck_assert_str_eq(cfg->language, "pt-BR");
	ck_assert_str_eq(cfg->template_dir, "/etc/pullmail/templates");
	config_unref(cfg);
}
END_TEST

static void
check_defaults(const struct config *cfg)
{
	ck_assert_str_eq(cfg->store_backend, "fs");
	ck_assert_str_eq(cfg->store_dir, "/var/lib/pullmail/store");
	ck_assert_int_eq(cfg->max_retention, 90 * 86400);
	ck_assert_int_eq(cfg->log_facility, LOG_MAIL);
	ck_assert_int_eq(cfg->log_level, LOG_INFO);
	ck_assert_str_eq(cfg->milter_socket, "unix:/run/pullmail/milter.sock");
	ck_assert_int_eq(cfg->socket_mode, 0660);
	ck_assert_ptr_null(cfg->socket_group);
	ck_assert_str_eq(cfg->user_id, "pullmail");
	ck_assert_ptr_null(cfg->pid_file);
	ck_assert_uint_eq(cfg->internal_hosts.n, 2);
	ck_assert_ptr_nonnull(cfg->local_domains);
	ck_assert_ptr_null(cfg->local_domains[0]);
	ck_assert(cfg->pull_authenticated);
	ck_assert_uint_eq(cfg->minimum_size, 0);
	ck_assert(!cfg->only_with_attachments);
	ck_assert_uint_eq(cfg->max_message_size, 0);
	ck_assert_int_eq(cfg->on_error, ON_ERROR_ACCEPT);
	ck_assert_int_eq(cfg->default_expiry, 30 * 86400);
	ck_assert_ptr_null(cfg->base_url);
	ck_assert(!cfg->log_why);
	ck_assert_str_eq(cfg->path_prefix, "/m/");
	ck_assert_int_eq(cfg->keep_extension, 14 * 86400);
	ck_assert(cfg->allow_remote_images);
	ck_assert_str_eq(cfg->default_language, "en");
	ck_assert_str_eq(cfg->language, "en");
	ck_assert_ptr_null(cfg->template_dir);
}

START_TEST(test_empty_file)
{
	char *err = NULL;
	struct config *cfg = load_text("", &err);

	ck_assert_ptr_nonnull(cfg);
	ck_assert_ptr_null(err);
	check_defaults(cfg);
	config_unref(cfg);

	cfg = load_text("# only a comment\n\n[milter]\n[web]\n", &err);
	ck_assert_ptr_nonnull(cfg);
	check_defaults(cfg);
	config_unref(cfg);
}
END_TEST

/* The shipped example, every key uncommented, gives exactly the defaults,
 * and names every key of the table. Run from the top of the tree. */
START_TEST(test_example_file)
{
	char *text = NULL, *err = NULL, **lines, *out;
	GString *uncommented = g_string_new(NULL);
	struct config *cfg;
	size_t i, keys = 0;

	ck_assert_msg(g_file_get_contents("contrib/pullmail.conf", &text, NULL,
	    NULL), "contrib/pullmail.conf not found (run from the top)");
	lines = g_strsplit(text, "\n", -1);
	for (i = 0; lines[i] != NULL; i++) {
		const char *l = lines[i];

		if (l[0] == '#' && g_ascii_isupper(l[1]) &&
		    strstr(l, " =") != NULL) {
			l++;
			keys++;
		}
		g_string_append_printf(uncommented, "%s\n", l);
	}
	g_strfreev(lines);
	g_free(text);
	cfg = load_text(uncommented->str, &err);
	ck_assert_msg(cfg != NULL, "%s", err ? err : "");
	check_defaults(cfg);
	config_unref(cfg);
	g_string_free(uncommented, TRUE);

	/* As many keys as the table has options. */
	{
		char *buf = NULL;
		size_t len = 0, n = 0;
		FILE *f = open_memstream(&buf, &len);

		config_dump_table(f);
		fclose(f);
		for (out = buf; (out = strstr(out, "\n\ttype: ")) != NULL;
		    out++)
			n++;
		ck_assert_uint_eq(keys, n);
		free(buf);
	}
}
END_TEST

START_TEST(test_defaults_and_refs)
{
	struct config *cfg = config_defaults();

	ck_assert_int_eq(cfg->refs, 1);
	ck_assert_ptr_null(cfg->path);
	check_defaults(cfg);
	ck_assert_ptr_eq(config_ref(cfg), cfg);
	ck_assert_int_eq(cfg->refs, 2);
	config_unref(cfg);
	ck_assert_int_eq(cfg->refs, 1);
	ck_assert_str_eq(cfg->store_dir, "/var/lib/pullmail/store");
	config_unref(cfg);
	config_unref(NULL);
	ck_assert_ptr_null(config_ref(NULL));
}
END_TEST

/* Each type's bad value: file, section, key, value and expectation. */
START_TEST(test_bad_values)
{
	expect_error("[milter]\nDefaultExpiry = 3x\n",
	    "[milter] DefaultExpiry = 3x: expected a duration such as 30d "
	    "or 12h");
	expect_error("[milter]\nDefaultExpiry = 0\n",
	    "[milter] DefaultExpiry = 0: expected a duration such as 30d "
	    "or 12h");
	expect_error("[milter]\nMinimumSize = 12Q\n",
	    "[milter] MinimumSize = 12Q: expected a size such as 512K or 25M");
	expect_error("[milter]\nMaxMessageSize = -1\n",
	    "[milter] MaxMessageSize = -1: expected a size such as 512K or "
	    "25M");
	expect_error("[milter]\nLogWhy = perhaps\n",
	    "[milter] LogWhy = perhaps: expected yes or no");
	expect_error("[store]\nStoreDir = relative/dir\n",
	    "[store] StoreDir = relative/dir: expected an absolute path such "
	    "as /var/lib/pullmail/store");
	expect_error("[store]\nStoreDir =\n",
	    "[store] StoreDir = : expected an absolute path such as "
	    "/var/lib/pullmail/store");
	expect_error("[store]\nBackend = s4\n",
	    "[store] Backend = s4: expected one of fs or s3");
	expect_error("[milter]\nOnError = bounce\n",
	    "[milter] OnError = bounce: expected one of accept, tempfail or "
	    "reject");
	expect_error("[summary]\nLanguage = de\n",
	    "[summary] Language = de: expected one of en, pt-BR or es");
	expect_error("[web]\nDefaultLanguage = pt_BR\n",
	    "[web] DefaultLanguage = pt_BR: expected one of en, pt-BR or es");
	/* A tag exactly as the catalogue spells it: it names templates/TAG. */
	expect_error("[summary]\nLanguage = ES\n",
	    "[summary] Language = ES: expected one of en, pt-BR or es");
	{
		char *err = NULL;
		struct config *cfg = load_text("[summary]\nLanguage = es\n"
		    "[web]\nDefaultLanguage = es\n", &err);
		ck_assert_msg(cfg != NULL, "%s", err ? err : "");
		ck_assert_str_eq(cfg->language, "es");
		ck_assert_str_eq(cfg->default_language, "es");
		config_unref(cfg);
	}
	expect_error("[log]\nFacility = kern\n",
	    "[log] Facility = kern: expected one of mail, daemon, user, auth, "
	    "authpriv, local0, local1, local2, local3, local4, local5, "
	    "local6 or local7");
	expect_error("[log]\nLevel = verbose\n",
	    "[log] Level = verbose: expected one of debug, info, notice, "
	    "warning or err");
	expect_error("[milter]\nSocketMode = 0668\n",
	    "[milter] SocketMode = 0668: expected an octal mode such as 0660");
	expect_error("[milter]\nSocketMode = 10000\n",
	    "[milter] SocketMode = 10000: expected an octal mode such as "
	    "0660");
	expect_error("[milter]\nSocket = tcp:25\n",
	    "[milter] Socket = tcp:25: expected a socket such as "
	    "unix:/run/pullmail/milter.sock or inet:8891@127.0.0.1");
	expect_error("[milter]\nSocket = inet:99999@localhost\n",
	    "[milter] Socket = inet:99999@localhost: expected a socket such "
	    "as unix:/run/pullmail/milter.sock or inet:8891@127.0.0.1");
	expect_error("[milter]\nUserID = pull mail\n",
	    "[milter] UserID = pull mail: expected a user name, optionally "
	    "with :group, such as pullmail");
	expect_error("[milter]\nInternalHosts = 10.0.0.0/33\n",
	    "[milter] InternalHosts = 10.0.0.0/33: expected a comma-separated "
	    "list of addresses or networks such as 127.0.0.1, ::1, "
	    "10.0.0.0/8");
	expect_error("[milter]\nInternalHosts = ::1/129\n",
	    "[milter] InternalHosts = ::1/129: expected a comma-separated "
	    "list of addresses or networks such as 127.0.0.1, ::1, "
	    "10.0.0.0/8");
	expect_error("[milter]\nInternalHosts = 127.0.0.1,,::1\n",
	    "[milter] InternalHosts = 127.0.0.1,,::1: expected a "
	    "comma-separated list of addresses or networks such as "
	    "127.0.0.1, ::1, 10.0.0.0/8");
	expect_error("[milter]\nInternalHosts = mail.example.org\n",
	    "[milter] InternalHosts = mail.example.org: expected a "
	    "comma-separated list of addresses or networks such as "
	    "127.0.0.1, ::1, 10.0.0.0/8");
	expect_error("[milter]\nLocalDomains = a.example, \n",
	    "[milter] LocalDomains = a.example,: expected a comma-separated "
	    "list of non-empty items");
	expect_error("[milter]\nBaseURL = ftp://example.org\n",
	    "[milter] BaseURL = ftp://example.org: expected an https:// URL "
	    "such as https://mail.example.org (http:// only for a loopback "
	    "host)");
	expect_error("[web]\nPathPrefix = m/\n",
	    "[web] PathPrefix = m/: expected a path that begins and ends "
	    "with /, such as /m/");
	expect_error("[web]\nKeepExtension = 14 days\n",
	    "[web] KeepExtension = 14 days: expected a duration such as 30d "
	    "or 12h");
	expect_error("[summary]\nTemplateDir = templates\n",
	    "[summary] TemplateDir = templates: expected an absolute path "
	    "such as /var/lib/pullmail/store");
}
END_TEST

START_TEST(test_urls)
{
	static const char *const good[] = {
		"https://mail.example.org", "https://mail.example.org:8443/x",
		"http://127.0.0.1:8080", "http://localhost/", "http://[::1]:80",
		"https://[2001:db8::1]/pull", "HTTPS://Example.ORG",
	};
	static const char *const bad[] = {
		"http://mail.example.org", "http://10.0.0.1:8080",
		"https://", "https://:443", "https://a.example?x=1",
		"https://a.example#f", "https://user@a.example",
		"https://a.example:0", "https://a.example:65536",
		"https://a.example:12ab", "https://exa mple.org",
		"https://[::1", "https://[zz::1]", "mail.example.org",
		"javascript:alert(1)", "https://a_b.example",
	};
	char text[256];
	size_t i;
	char *err;
	struct config *cfg;

	for (i = 0; i < G_N_ELEMENTS(good); i++) {
		snprintf(text, sizeof(text), "[milter]\nBaseURL = %s\n",
		    good[i]);
		err = NULL;
		cfg = load_text(text, &err);
		ck_assert_msg(cfg != NULL, "%s refused: %s", good[i], err);
		config_unref(cfg);
	}
	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		snprintf(text, sizeof(text), "[milter]\nBaseURL = %s\n",
		    bad[i]);
		err = NULL;
		cfg = load_text(text, &err);
		ck_assert_msg(cfg == NULL, "%s accepted", bad[i]);
		ck_assert_ptr_nonnull(strstr(err, "[milter] BaseURL = "));
		g_free(err);
	}
	/* Absent BaseURL is fine for config_load (the retriever needs
	 * none); the milter checks for it itself. */
	cfg = load_text("[milter]\nBaseURL =\n", &err);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_ptr_null(cfg->base_url);
	config_unref(cfg);
}
END_TEST

START_TEST(test_unknown_key_and_section)
{
	expect_error("[milter]\nDefaultExpiri = 30d\n",
	    "[milter] DefaultExpiri: unknown key");
	/* A key of another section is unknown in this one. */
	expect_error("[web]\nStoreDir = /srv\n",
	    "[web] StoreDir: unknown key");
	expect_error("[milter]\nBaseURL[pt] = https://a.example\n",
	    "[milter] BaseURL[pt]: unknown key");
	expect_error("[milter]\n[retriever]\nPathPrefix = /m/\n",
	    "[retriever]: unknown section (expected store, log, milter, web, "
	    "summary or inbound)");
	/* Keys are case-sensitive as in the man page. */
	expect_error("[milter]\nbaseurl = https://a.example\n",
	    "[milter] baseurl: unknown key");
}
END_TEST

START_TEST(test_relations)
{
	expect_error("[store]\nMaxRetention = 7d\n",
	    "[milter] DefaultExpiry: expected at most [store] MaxRetention "
	    "(604800 s), got 2592000 s");
	expect_error("[store]\nMaxRetention = 20d\n[milter]\n"
	    "DefaultExpiry = 10d\n[web]\nKeepExtension = 21d\n",
	    "[web] KeepExtension: expected at most [store] MaxRetention "
	    "(1728000 s), got 1814400 s");
}
END_TEST

START_TEST(test_malformed_files)
{
	char *err = NULL;
	struct config *cfg;
	size_t big = 1024 * 1024, i;
	char *text;

	/* Not a key file at all. */
	cfg = load_text("StoreDir = /srv\n", &err);
	ck_assert_ptr_null(cfg);
	ck_assert(g_str_has_prefix(err, conf_path));
	g_free(err);
	cfg = load_text("[milter\nLogWhy = yes\n", &err);
	ck_assert_ptr_null(cfg);
	ck_assert(g_str_has_prefix(err, conf_path));
	g_free(err);

	/* Not UTF-8: Latin-1 "ção" in a value on line 3. */
	cfg = load_text("[milter]\n# ok\nSocketGroup = gr\xe7\xe3o\n", &err);
	ck_assert_ptr_null(cfg);
	text = g_strdup_printf("%s: line 3: not valid UTF-8", conf_path);
	ck_assert_str_eq(err, text);
	g_free(text);
	g_free(err);

	/* A NUL byte. */
	write_file("[milter]\nLogWhy = y\0es\n", 23);
	cfg = config_load(conf_path, &err);
	ck_assert_ptr_null(cfg);
	text = g_strdup_printf("%s: line 2: contains a NUL byte", conf_path);
	ck_assert_str_eq(err, text);
	g_free(text);
	g_free(err);

	/* A 1 MB line as a value: refused, the message quotes only the
	 * start of it. */
	text = g_malloc(big + 64);
	i = (size_t)snprintf(text, 64, "[milter]\nLocalDomains = ");
	memset(text + i, 'a', big);
	memcpy(text + i + big, ",\n", 3);
	cfg = load_text(text, &err);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(strstr(err, "[milter] LocalDomains = aaaa"));
	ck_assert_ptr_nonnull(strstr(err, "...: expected a comma-separated"));
	ck_assert_uint_lt(strlen(err), 300);
	g_free(err);
	/* The same line, valid: one 1 MB domain. */
	memcpy(text + i + big, "\n", 2);
	cfg = load_text(text, &err);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(strlen(cfg->local_domains[0]), big);
	config_unref(cfg);
	/* A 1 MB comment line and a 1 MB key name. */
	text[0] = '#';
	memset(text + 1, 'a', big);
	memcpy(text + 1 + big, "\n[milter]\nLogWhy = yes\n", 24);
	cfg = load_text(text, &err);
	ck_assert_msg(cfg != NULL, "%s", err ? err : "");
	ck_assert(cfg->log_why);
	config_unref(cfg);
	memset(text, 'K', big);
	memcpy(text + big, " = 1\n", 6);
	cfg = load_text(text, &err);
	ck_assert_ptr_null(cfg);
	g_free(err);
	g_free(text);
}
END_TEST

START_TEST(test_missing_file)
{
	char *err = NULL;
	char *want;

	ck_assert_ptr_null(config_load("/nonexistent/pullmail.conf", &err));
	ck_assert(g_str_has_prefix(err, "/nonexistent/pullmail.conf: "
	    "cannot read: "));
	g_free(err);
	/* err may be NULL when the caller does not want the message. */
	ck_assert_ptr_null(config_load("/nonexistent/pullmail.conf", NULL));
	/* An endless device is refused after a bounded read. */
	ck_assert_ptr_null(config_load("/dev/zero", &err));
	ck_assert_str_eq(err, "/dev/zero: larger than 16777216 bytes");
	g_free(err);
	/* A directory. */
	ck_assert_ptr_null(config_load(tmpdir, &err));
	want = g_strdup_printf("%s: cannot read: ", tmpdir);
	ck_assert(g_str_has_prefix(err, want));
	g_free(want);
	g_free(err);
}
END_TEST

START_TEST(test_values_literal)
{
	char *err = NULL;
	struct config *cfg;

	/* Surrounding white space goes; case of yes/no does not matter;
	 * backslashes are not escape sequences. */
	cfg = load_text("[milter]\n  LogWhy =   YES  \nSocketGroup = a\\sb\n"
	    "Socket = /run/x.sock\nInternalHosts =\nLocalDomains = "
	    "example.org\n[store]\nMaxRetention = 3153600000\n", &err);
	ck_assert_msg(cfg != NULL, "%s", err ? err : "");
	ck_assert(cfg->log_why);
	ck_assert_str_eq(cfg->socket_group, "a\\sb");
	ck_assert_str_eq(cfg->milter_socket, "/run/x.sock");
	ck_assert_uint_eq(cfg->internal_hosts.n, 0);
	ck_assert_int_eq(cfg->max_retention, 3153600000LL);
	config_unref(cfg);
	/* CRLF line ends; a control character is not echoed as it is. */
	cfg = load_text("[milter]\r\nLogWhy = yes\r\nMinimumSize = 1K\r\n",
	    &err);
	ck_assert_msg(cfg != NULL, "%s", err ? err : "");
	ck_assert(cfg->log_why);
	ck_assert_uint_eq(cfg->minimum_size, 1024);
	config_unref(cfg);
	expect_error("[milter]\nLogWhy = y\x1b[2Jes\n",
	    "[milter] LogWhy = y?[2Jes: expected yes or no");
	/* The last of two identical keys wins (GKeyFile's rule). */
	cfg = load_text("[web]\nPathPrefix = /a/\nPathPrefix = /b/\n", &err);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->path_prefix, "/b/");
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_path)
{
	unsetenv(CONFIG_ENV);
	ck_assert_str_eq(config_path(NULL), CONFIG_DEFAULT_PATH);
	setenv(CONFIG_ENV, "", 1);
	ck_assert_str_eq(config_path(NULL), CONFIG_DEFAULT_PATH);
	setenv(CONFIG_ENV, "/tmp/env.conf", 1);
	ck_assert_str_eq(config_path(NULL), "/tmp/env.conf");
	ck_assert_str_eq(config_path("/tmp/explicit.conf"),
	    "/tmp/explicit.conf");
	unsetenv(CONFIG_ENV);
}
END_TEST

static struct config *
cidr_config(const char *hosts)
{
	char text[512];
	char *err = NULL;
	struct config *cfg;

	snprintf(text, sizeof(text), "[milter]\nInternalHosts = %s\n", hosts);
	cfg = load_text(text, &err);
	ck_assert_msg(cfg != NULL, "%s", err ? err : "");
	return cfg;
}

static bool
match(const struct config *cfg, const char *addr)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, addr, a) == 1)
		return config_cidr_match(&cfg->internal_hosts, AF_INET, a);
	ck_assert_int_eq(inet_pton(AF_INET6, addr, a), 1);
	return config_cidr_match(&cfg->internal_hosts, AF_INET6, a);
}

START_TEST(test_cidr_match)
{
	struct config *cfg;

	cfg = config_defaults();
	ck_assert(match(cfg, "127.0.0.1"));
	ck_assert(match(cfg, "::1"));
	ck_assert(!match(cfg, "127.0.0.2"));
	ck_assert(!match(cfg, "::2"));
	ck_assert(match(cfg, "::ffff:127.0.0.1"));   /* v4-mapped */
	config_unref(cfg);

	/* /0 matches everything of its family only. */
	cfg = cidr_config("0.0.0.0/0");
	ck_assert(match(cfg, "1.2.3.4"));
	ck_assert(match(cfg, "255.255.255.255"));
	ck_assert(!match(cfg, "2001:db8::1"));
	config_unref(cfg);
	cfg = cidr_config("::/0");
	ck_assert(match(cfg, "2001:db8::1"));
	ck_assert(match(cfg, "::"));
	ck_assert(!match(cfg, "10.0.0.1"));
	config_unref(cfg);

	/* /32 and /128 are one host. */
	cfg = cidr_config("192.0.2.7/32, 2001:db8::7/128");
	ck_assert(match(cfg, "192.0.2.7"));
	ck_assert(!match(cfg, "192.0.2.6"));
	ck_assert(!match(cfg, "192.0.2.8"));
	ck_assert(match(cfg, "2001:db8::7"));
	ck_assert(!match(cfg, "2001:db8::6"));
	ck_assert(!match(cfg, "2001:db8::7:0"));
	config_unref(cfg);

	/* Prefixes not on a byte boundary; host bits in the entry cleared. */
	cfg = cidr_config("10.1.2.3/8, 172.16.0.0/12, 2001:db8:abcd::1/47");
	ck_assert_uint_eq(cfg->internal_hosts.v[0].addr[1], 0);
	ck_assert_uint_eq(cfg->internal_hosts.v[0].addr[3], 0);
	ck_assert(match(cfg, "10.255.255.255"));
	ck_assert(match(cfg, "10.0.0.0"));
	ck_assert(!match(cfg, "11.0.0.0"));
	ck_assert(!match(cfg, "9.255.255.255"));
	ck_assert(match(cfg, "172.31.255.255"));
	ck_assert(match(cfg, "172.16.0.1"));
	ck_assert(!match(cfg, "172.32.0.0"));
	ck_assert(!match(cfg, "172.15.255.255"));
	ck_assert(match(cfg, "2001:db8:abcc::"));
	ck_assert(match(cfg, "2001:db8:abcd:ffff::1"));
	ck_assert(!match(cfg, "2001:db8:abce::"));
	ck_assert(!match(cfg, "2001:db8:abcb:ffff::"));
	config_unref(cfg);

	/* Empty list matches nothing; an unknown family matches nothing. */
	cfg = cidr_config("");
	ck_assert(!match(cfg, "127.0.0.1"));
	config_unref(cfg);
	cfg = cidr_config("0.0.0.0/0");
	ck_assert(!config_cidr_match(&cfg->internal_hosts, AF_UNIX,
	    "\x7f\0\0\1"));
	ck_assert(!config_cidr_match(NULL, AF_INET, "\x7f\0\0\1"));
	config_unref(cfg);
}
END_TEST

START_TEST(test_dump_table)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	config_dump_table(f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "[milter] DefaultExpiry = 30d\n"));
	ck_assert_ptr_nonnull(strstr(buf, "[store] MaxRetention = 90d\n"));
	ck_assert_ptr_nonnull(strstr(buf, "[log] Facility = mail\n"));
	free(buf);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_empty_file);
	tcase_add_test(tc, test_defaults_and_refs);
	tcase_add_test(tc, test_example_file);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_urls);
	tcase_add_test(tc, test_unknown_key_and_section);
	tcase_add_test(tc, test_relations);
	tcase_add_test(tc, test_malformed_files);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_values_literal);
	tcase_add_test(tc, test_config_path);
	tcase_add_test(tc, test_cidr_match);
	tcase_add_test(tc, test_dump_table);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(config_suite());
}
