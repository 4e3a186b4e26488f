/* The escaping functions every message byte goes through on its way to HTML
 * or an HTTP header. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"

typedef void (*escape_fn)(GString *, const char *, gssize);

static char *
run(escape_fn fn, const char *in, gssize len)
{
	GString *g = g_string_new(NULL);
	fn(g, in, len);
	return g_string_free(g, FALSE);
}

#define CHECK_ESC(fn, in, want) do { \
	char *got_ = run(fn, in, -1); \
	ck_assert_str_eq(got_, want); \
	g_free(got_); \
} while (0)

START_TEST(text_and_attr_escape_markup)
{
	CHECK_ESC(html_text, "<script>alert('x')</script> & \"q\"",
	    "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
	CHECK_ESC(html_attr, "\" onmouseover=\"x", "&quot; onmouseover=&quot;x");
	CHECK_ESC(html_text, "caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac");
}
END_TEST

START_TEST(controls_invalid_utf8_and_nul)
{
	CHECK_ESC(html_text, "a\rb\x01" "c\x7f" "d\te\nf", "abcd\te\nf");
	/* C1 control U+0085 dropped; invalid bytes become U+FFFD. */
	CHECK_ESC(html_text, "x\xc2\x85y", "xy");
	CHECK_ESC(html_text, "x\xff\xfey", "x\xef\xbf\xbd\xef\xbf\xbdy");
	CHECK_ESC(html_text, "x\xe2\x82", "x\xef\xbf\xbd\xef\xbf\xbd");
	char *got = run(html_text, "a\0b", 3);
	ck_assert_str_eq(got, "ab");
	g_free(got);
}
END_TEST

START_TEST(bidi_controls_replaced_where_shown)
{
	/* "invoice\u202Egpj.exe" would display as "invoiceexe.jpg". */
	const char *spoof = "invoice\xe2\x80\xaegpj.exe";
	CHECK_ESC(html_text, spoof, "invoice\xef\xbf\xbdgpj.exe");
	CHECK_ESC(html_attr, spoof, "invoice\xef\xbf\xbdgpj.exe");
	/* The download's name keeps the file's own bytes. */
	CHECK_ESC(html_header_ext_value, spoof,
	    "UTF-8''invoice%E2%80%AEgpj.exe");
	CHECK_ESC(html_text, "\xe2\x81\xa6x\xe2\x81\xa9\xe2\x80\x8f",
	    "\xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbd");
}
END_TEST

START_TEST(url_and_headers)
{
	CHECK_ESC(html_url_arg, "a b/c?d=é", "a%20b%2Fc%3Fd%3D%C3%A9");
	CHECK_ESC(html_header_quoted, "a\"b\\c\r\nSet-Cookie: x",
	    "a\\\"b\\\\cSet-Cookie: x");
	CHECK_ESC(html_header_quoted, "r\xc3\xa9sum\xc3\xa9.pdf", "r_sum_.pdf");
	CHECK_ESC(html_header_ext_value, "r\xc3\xa9sum\xc3\xa9 1.pdf",
	    "UTF-8''r%C3%A9sum%C3%A9%201.pdf");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("html");
	TCase *tc = tcase_create("escape");
	tcase_add_test(tc, text_and_attr_escape_markup);
	tcase_add_test(tc, controls_invalid_utf8_and_nul);
	tcase_add_test(tc, bidi_controls_replaced_where_shown);
	tcase_add_test(tc, url_and_headers);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
