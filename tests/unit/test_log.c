/* Logging in foreground mode: the exact line format on stderr, levels,
 * message naming by queue id and the first 8 hex characters of the storage
 * id, one line per call. */
#include <check.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "token.h"
#include "tests/lib/check_main.h"

static char capture_path[] = "/tmp/pullmail-test-log-XXXXXX";
static int saved_stderr = -1;
static int capture_fd = -1;

static void
capture_start(void)
{
	memcpy(capture_path + strlen(capture_path) - 6, "XXXXXX", 6);
	capture_fd = mkstemp(capture_path);
	ck_assert_int_ge(capture_fd, 0);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_eq(dup2(capture_fd, STDERR_FILENO), STDERR_FILENO);
}

/* Restores stderr and returns what was written (caller g_free()s). */
static char *
capture_end(void)
{
	char *text = NULL;

	ck_assert_int_eq(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
	close(saved_stderr);
	close(capture_fd);
	ck_assert(g_file_get_contents(capture_path, &text, NULL, NULL));
	unlink(capture_path);
	return text;
}

/* Appends the line that "unit" logs at this level with this text. */
static void
line(GString *s, const char *level, const char *text)
{
	g_string_append_printf(s, "unit[%ld]: %s: %s\n", (long)getpid(),
	    level, text);
}

START_TEST(test_log_message_format)
{
	struct storage_id id;
	char *got;
	GString *want = g_string_new(NULL);

	memcpy(id.hex, "0123abcd456789ef0123abcd456789ef", sizeof(id.hex));
	log_init("unit", 1, LOG_MAIL, LOG_INFO);
	capture_start();
	log_message(LOG_INFO, "4XyZ1r2Qq", &id, "stored, %d recipients", 3);
	log_message(LOG_WARNING, NULL, &id, "expired");
	log_message(LOG_ERR, "ABC123", NULL, "store failed: %s", "disk full");
	log_message(LOG_NOTICE, NULL, NULL, "plain");
	got = capture_end();
	line(want, "info", "4XyZ1r2Qq: id=0123abcd: stored, 3 recipients");
	line(want, "warning", "id=0123abcd: expired");
	line(want, "err", "ABC123: store failed: disk full");
	line(want, "notice", "plain");
	ck_assert_str_eq(got, want->str);
	/* The rest of the id never appears. */
	ck_assert_ptr_null(strstr(got, "456789ef"));
	g_free(got);
	g_string_free(want, TRUE);
}
END_TEST

START_TEST(test_levels)
{
	char *got;
	GString *want = g_string_new(NULL);

	log_init("unit", 1, LOG_MAIL, LOG_NOTICE);
	capture_start();
	log_msg(LOG_DEBUG, "debug %d", 1);
	log_msg(LOG_INFO, "info %d", 2);
	log_msg(LOG_NOTICE, "notice %d", 3);
	log_msg(LOG_ERR, "err %d", 4);
	log_set_level(LOG_DEBUG);
	log_msg(LOG_DEBUG, "debug %d", 5);
	log_message(LOG_DEBUG, "Q", NULL, "debug %d", 6);
	log_set_level(LOG_ERR);
	log_message(LOG_WARNING, "Q", NULL, "hidden");
	log_msg(LOG_CRIT | LOG_MAIL, "crit with facility bits");
	got = capture_end();
	line(want, "notice", "notice 3");
	line(want, "err", "err 4");
	line(want, "debug", "debug 5");
	line(want, "debug", "Q: debug 6");
	line(want, "crit", "crit with facility bits");
	ck_assert_str_eq(got, want->str);
	g_free(got);
	g_string_free(want, TRUE);
}
END_TEST

/* Text from the MTA or a message (queue ids, addresses) cannot forge a
 * second log line. */
START_TEST(test_control_characters)
{
	char *got;
	GString *want = g_string_new(NULL);

	log_init("unit", 1, LOG_MAIL, LOG_INFO);
	capture_start();
	log_message(LOG_INFO, "Q\nX", NULL, "from <a@b>\r\nunit[1]: err: "
	    "forged\x1b[0m");
	got = capture_end();
	line(want, "info", "Q?X: from <a@b>??unit[1]: err: forged?[0m");
	ck_assert_str_eq(got, want->str);
	g_free(got);
	g_string_free(want, TRUE);
}
END_TEST

START_TEST(test_long_line)
{
	char *got, *big;
	size_t n = 100000;

	big = g_malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	log_init("unit", 1, LOG_MAIL, LOG_INFO);
	capture_start();
	log_message(LOG_INFO, big, NULL, "%s", big);
	log_msg(LOG_INFO, "%s", big);
	got = capture_end();
	/* Two lines, each cut but ended with a newline. */
	ck_assert_ptr_nonnull(strchr(got, '\n'));
	ck_assert_ptr_nonnull(strchr(strchr(got, '\n') + 1, '\n'));
	ck_assert_ptr_null(strchr(strchr(strchr(got, '\n') + 1, '\n') + 1,
	    '\n'));
	ck_assert_uint_lt(strlen(got), 5000);
	g_free(got);
	g_free(big);
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("log", "log", &tc);

	tcase_add_test(tc, test_log_message_format);
	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_control_characters);
	tcase_add_test(tc, test_long_line);
	return check_run(s);
}
