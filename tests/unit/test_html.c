/* The escaping functions every message byte goes through on its way to HTML
 * or an HTTP header. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"
#include "tests/lib/check_main.h"

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

START_TEST(plain_text_for_the_summary)
{
	/* No entities; controls become spaces, so a value stays on its line. */
	CHECK_ESC(html_plain_text, "<b> & \"q\"", "<b> & \"q\"");
	CHECK_ESC(html_plain_text, "a\r\nb\tc\x7f" "d", "a  b c d");
	CHECK_ESC(html_plain_text, "x\xc2\x85y", "x y");
	CHECK_ESC(html_plain_text, "x\xff" "y", "x\xef\xbf\xbdy");
	CHECK_ESC(html_plain_text, "caf\xc3\xa9", "caf\xc3\xa9");
	/* The spoofed extension of bidi_controls_replaced_where_shown. */
	CHECK_ESC(html_plain_text, "invoice\xe2\x80\xaegpj.exe",
	    "invoice\xef\xbf\xbdgpj.exe");
	char *got = run(html_plain_text, "a\0b", 3);
	ck_assert_str_eq(got, "a b");
	g_free(got);
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

/* The rules of html.h one character at a time, the plainest way: the
 * escaping in html.c works on runs of bytes for speed and must give the
 * same bytes. */
static void
reference_text(GString *out, const char *s, size_t n)
{
	const char *p = s, *end = s + n;

	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x80) {
			p++;
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				continue;
			switch (c) {
			case '&': g_string_append(out, "&amp;"); break;
			case '<': g_string_append(out, "&lt;"); break;
			case '>': g_string_append(out, "&gt;"); break;
			case '"': g_string_append(out, "&quot;"); break;
			case '\'': g_string_append(out, "&#39;"); break;
			default: g_string_append_c(out, (char)c); break;
			}
			continue;
		}
		gunichar u = g_utf8_get_char_validated(p, end - p);
		if (u == (gunichar)-1 || u == (gunichar)-2) {
			g_string_append(out, "\xEF\xBF\xBD");
			p++;
			continue;
		}
		size_t clen = g_utf8_skip[c];
		if (u < 0xa0) {
			p += clen;
			continue;
		}
		if ((u >= 0x202a && u <= 0x202e) || (u >= 0x2066 && u <= 0x2069) ||
		    u == 0x200e || u == 0x200f || u == 0x061c)
			g_string_append(out, "\xEF\xBF\xBD");
		else
			g_string_append_len(out, p, clen);
		p += clen;
	}
}

START_TEST(text_escape_matches_the_plain_rules)
{
	/* Pieces that exercise every branch: markup, controls, tab and
	 * newline, C1 controls, bidi marks, valid 2-, 3- and 4-byte
	 * characters, truncated and overlong sequences, lone continuation
	 * bytes, NUL. */
	static const char *const pieces[] = {
		"a", "plain text ", "&", "<", ">", "\"", "'", "\t", "\n", "\r",
		"\x01", "\x7f", "\xc2\x85", "\xc2\xa0", "\xc3\xa9",
		"\xe2\x80\xae", "\xe2\x81\xa6", "\xe2\x80\x8f", "\xd8\x9c",
		"\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3", "\xe2\x82",
		"\xc0\xaf", "\xed\xa0\x80", "\x80", "\xbf", "\xff", "\0",
		"https://example.org/x?a=1&b=2",
	};
	GRand *rnd = g_rand_new_with_seed(20261201);
	for (int round = 0; round < 5000; round++) {
		GString *in = g_string_new(NULL);
		int k = g_rand_int_range(rnd, 0, 24);
		for (int i = 0; i < k; i++) {
			const char *pc = pieces[g_rand_int_range(rnd, 0,
			    G_N_ELEMENTS(pieces))];
			g_string_append_len(in, pc, pc[0] == '\0' ? 1 :
			    (gssize)strlen(pc));
		}
		GString *want = g_string_new(NULL);
		reference_text(want, in->str, in->len);
		char *got = run(html_text, in->str, (gssize)in->len);
		ck_assert_str_eq(got, want->str);
		g_free(got);
		got = run(html_attr, in->str, (gssize)in->len);
		ck_assert_str_eq(got, want->str);
		g_free(got);
		g_string_free(want, TRUE);
		g_string_free(in, TRUE);
	}
	g_rand_free(rnd);
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("html", "escape", &tc);

	tcase_add_test(tc, text_and_attr_escape_markup);
	tcase_add_test(tc, controls_invalid_utf8_and_nul);
	tcase_add_test(tc, bidi_controls_replaced_where_shown);
	tcase_add_test(tc, plain_text_for_the_summary);
	tcase_add_test(tc, url_and_headers);
	tcase_add_test(tc, text_escape_matches_the_plain_rules);
	return check_run(s);
}
