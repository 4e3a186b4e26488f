/* protocol.c: the check pullmail-milter makes of every macro list before
 * libmilter keeps it for smfi_getsymval (milter/main.c). */
#include <check.h>
#include <string.h>

#include "milter/protocol.h"
#include "tests/lib/check_main.h"

#define OK(lit) ck_assert(milter_macros_wellformed(lit, sizeof(lit) - 1))
#define BAD(lit) ck_assert(!milter_macros_wellformed(lit, sizeof(lit) - 1))

START_TEST(macro_lists)
{
	/* The stage letter, then name/value pairs, each string with its NUL. */
	OK("M");
	OK("Mi\0Q1\0");
	OK("Mi\0Q1\0{auth_authen}\0alice\0");
	OK("C{daemon_name}\0\0{client_addr}\0" "192.0.2.1\0");
	/* An odd number of strings: smfi_getsymval would read past them. */
	BAD("M{auth_authen}\0");
	BAD("Mi\0Q1\0{foo}\0");
	BAD("M\0");
	/* A last string without its NUL. */
	BAD("Mi\0Q1\0{foo}");
	BAD("Mi");
	BAD("Mi\0Q1");
	ck_assert(!milter_macros_wellformed(NULL, 0));
	ck_assert(!milter_macros_wellformed("", 0));
}
END_TEST

int
main(void)
{
	TCase *tc;
	Suite *s = check_suite("milter_protocol", "protocol", &tc);

	tcase_add_test(tc, macro_lists);
	return check_run(s);
}
