/* Units: sizes and durations (edges, overflow), human sizes and dates in
 * English and Brazilian Portuguese, RFC 5322 dates. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"
#include "units.h"
#include "tests/lib/check_main.h"

START_TEST(test_parse_size)
{
	uint64_t v;

	ck_assert_int_eq(units_parse_size("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(units_parse_size("512", &v), 0);
	ck_assert_uint_eq(v, 512);
	ck_assert_int_eq(units_parse_size("512K", &v), 0);
	ck_assert_uint_eq(v, 512 * 1024);
	ck_assert_int_eq(units_parse_size("512k", &v), 0);
	ck_assert_uint_eq(v, 512 * 1024);
	ck_assert_int_eq(units_parse_size("25M", &v), 0);
	ck_assert_uint_eq(v, 25 * 1024 * 1024);
	ck_assert_int_eq(units_parse_size("1G", &v), 0);
	ck_assert_uint_eq(v, 1024ull * 1024 * 1024);
	ck_assert_int_eq(units_parse_size("2T", &v), 0);
	ck_assert_uint_eq(v, 2ull << 40);
	ck_assert_int_eq(units_parse_size("18446744073709551615", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	/* Overflow, of the digits and of the multiplication. */
	v = 7;
	ck_assert_int_eq(units_parse_size("18446744073709551616", &v), -1);
	ck_assert_int_eq(units_parse_size("16777216T", &v), -1);
	ck_assert_int_eq(units_parse_size("16777215T", &v), 0);
	ck_assert_int_eq(units_parse_size("17179869184G", &v), -1);
	/* Malformed. */
	ck_assert_int_eq(units_parse_size("", &v), -1);
	ck_assert_int_eq(units_parse_size(NULL, &v), -1);
	ck_assert_int_eq(units_parse_size("K", &v), -1);
	ck_assert_int_eq(units_parse_size("-1", &v), -1);
	ck_assert_int_eq(units_parse_size("+1", &v), -1);
	ck_assert_int_eq(units_parse_size(" 1", &v), -1);
	ck_assert_int_eq(units_parse_size("1 K", &v), -1);
	ck_assert_int_eq(units_parse_size("1KB", &v), -1);
	ck_assert_int_eq(units_parse_size("1.5M", &v), -1);
	ck_assert_int_eq(units_parse_size("12Q", &v), -1);
	ck_assert_int_eq(units_parse_size("0x10", &v), -1);
}
END_TEST

START_TEST(test_parse_duration)
{
	int64_t v;

	ck_assert_int_eq(units_parse_duration("90", &v), 0);
	ck_assert_int_eq(v, 90);
	ck_assert_int_eq(units_parse_duration("90s", &v), 0);
	ck_assert_int_eq(v, 90);
	ck_assert_int_eq(units_parse_duration("15m", &v), 0);
	ck_assert_int_eq(v, 900);
	ck_assert_int_eq(units_parse_duration("12h", &v), 0);
	ck_assert_int_eq(v, 43200);
	ck_assert_int_eq(units_parse_duration("30d", &v), 0);
	ck_assert_int_eq(v, 30 * 86400);
	ck_assert_int_eq(units_parse_duration("2w", &v), 0);
	ck_assert_int_eq(v, 14 * 86400);
	ck_assert_int_eq(units_parse_duration("1s", &v), 0);
	ck_assert_int_eq(v, 1);
	/* At most 100 years (36525 days). */
	ck_assert_int_eq(units_parse_duration("36525d", &v), 0);
	ck_assert_int_eq(v, 36525LL * 86400);
	ck_assert_int_eq(units_parse_duration("3155760000", &v), 0);
	ck_assert_int_eq(units_parse_duration("3155760001", &v), -1);
	ck_assert_int_eq(units_parse_duration("36526d", &v), -1);
	ck_assert_int_eq(units_parse_duration("5218w", &v), -1);
	ck_assert_int_eq(units_parse_duration("99999999999999999999d", &v),
	    -1);
	ck_assert_int_eq(units_parse_duration("9223372036854775807s", &v),
	    -1);
	/* Positive only; malformed. */
	ck_assert_int_eq(units_parse_duration("0", &v), -1);
	ck_assert_int_eq(units_parse_duration("0d", &v), -1);
	ck_assert_int_eq(units_parse_duration("-1d", &v), -1);
	ck_assert_int_eq(units_parse_duration("", &v), -1);
	ck_assert_int_eq(units_parse_duration(NULL, &v), -1);
	ck_assert_int_eq(units_parse_duration("d", &v), -1);
	ck_assert_int_eq(units_parse_duration("3x", &v), -1);
	ck_assert_int_eq(units_parse_duration("1D", &v), -1);
	ck_assert_int_eq(units_parse_duration("1h30m", &v), -1);
	ck_assert_int_eq(units_parse_duration("14 d", &v), -1);
	ck_assert_int_eq(units_parse_duration("1.5h", &v), -1);
}
END_TEST

static void
size_is(uint64_t n, const char *lang, const char *want)
{
	char buf[32];

	lang_format_size(n, lang, buf, sizeof(buf));
	ck_assert_msg(strcmp(buf, want) == 0, "%llu %s: got \"%s\", want "
	    "\"%s\"", (unsigned long long)n, lang, buf, want);
}

START_TEST(test_format_size)
{
	char small[4];

	size_is(0, "en", "0 bytes");
	size_is(1, "en", "1 byte");
	size_is(1, "pt-BR", "1 byte");
	size_is(2, "en", "2 bytes");
	size_is(512, "en", "512 bytes");
	size_is(512, "pt-BR", "512 bytes");
	size_is(999, "en", "999 bytes");
	size_is(1000, "en", "1.0 kB");
	size_is(1049, "en", "1.0 kB");
	size_is(1050, "en", "1.1 kB");
	size_is(1050, "pt-BR", "1,1 kB");
	size_is(99449, "en", "99.4 kB");
	size_is(99950, "en", "100 kB");
	size_is(512000, "en", "512 kB");
	size_is(999499, "en", "999 kB");
	size_is(999500, "en", "1.0 MB");
	size_is(2400000, "en", "2.4 MB");
	size_is(2400000, "pt-BR", "2,4 MB");
	size_is(2449999, "en", "2.4 MB");
	size_is(2450000, "en", "2.5 MB");
	size_is(20971520, "en", "21.0 MB");
	size_is(20971520, "pt-BR", "21,0 MB");
	size_is(1500000000ull, "en", "1.5 GB");
	size_is(UINT64_MAX, "en", "18.4 EB");
	size_is(2400000, "es", "2,4 MB");
	size_is(512, "es", "512 bytes");
	/* A regional tag takes its language's catalogue. */
	size_is(2400000, "pt-PT", "2,4 MB");
	size_is(2400000, "es-MX", "2,4 MB");
	/* Any other language is English; NULL too. */
	size_is(2400000, NULL, "2.4 MB");
	/* A short buffer is cut, still terminated. */
	lang_format_size(2400000, "en", small, sizeof(small));
	ck_assert_str_eq(small, "2.4");
}
END_TEST

START_TEST(test_format_dates)
{
	char buf[64];
	/* 2026-11-22 11:47:00 UTC, a Sunday. */
	int64_t t = 1795348020;

	units_format_rfc5322(t, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Sun, 22 Nov 2026 11:47:00 +0000");
	lang_format_date(t, "en", buf, sizeof(buf));
	ck_assert_str_eq(buf, "22 November 2026, 11:47 UTC");
	lang_format_date(t, "pt-BR", buf, sizeof(buf));
	ck_assert_str_eq(buf, "22 de novembro de 2026, 11:47 UTC");
	lang_format_date(t, "es", buf, sizeof(buf));
	ck_assert_str_eq(buf, "22 de noviembre de 2026, 11:47 UTC");
	lang_format_date(t, "de", buf, sizeof(buf));
	ck_assert_str_eq(buf, "22 November 2026, 11:47 UTC");
	/* A short buffer is cut, still terminated. */
	lang_format_date(t, "es", buf, 9);
	ck_assert_str_eq(buf, "22 de no");

	/* Epoch; a March date for the cedilla; leap day. */
	units_format_rfc5322(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Thu, 1 Jan 1970 00:00:00 +0000");
	lang_format_date(0, "en", buf, sizeof(buf));
	ck_assert_str_eq(buf, "1 January 1970, 00:00 UTC");
	lang_format_date(1709164800 + 86400 * 0 + 3600 * 9 + 5 * 60,
	    "pt-BR", buf, sizeof(buf));
	ck_assert_str_eq(buf, "29 de fevereiro de 2024, 09:05 UTC");
	lang_format_date(1710460800, "pt-BR", buf, sizeof(buf));
	ck_assert_str_eq(buf, "15 de março de 2024, 00:00 UTC");
	units_format_rfc5322(1710460800 + 86399, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Fri, 15 Mar 2024 23:59:59 +0000");

	/* Out of range: empty string, no crash. */
	units_format_rfc5322(INT64_MAX, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	lang_format_date(INT64_MIN, "en", buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("units", "units", &tc);

	tcase_add_test(tc, test_parse_size);
	tcase_add_test(tc, test_parse_duration);
	tcase_add_test(tc, test_format_size);
	tcase_add_test(tc, test_format_dates);
	return check_run(s);
}
