/* What every Check program's main() does once its suite is built: run it
 * and turn the count of failures into the exit status tests/run.sh reads.
 * Header-only, so that each test program stays one .c file linked as the
 * Makefile links it. */
#ifndef PULLMAIL_TESTS_CHECK_MAIN_H
#define PULLMAIL_TESTS_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

/* A suite named name holding one test case, tc_name, returned in *tc for
 * the caller's tcase_add_test calls (most programs need no more). */
static inline Suite *
check_suite(const char *name, const char *tc_name, TCase **tc)
{
	Suite *s = suite_create(name);

	*tc = tcase_create(tc_name);
	suite_add_tcase(s, *tc);
	return s;
}

/* Runs every test of s (CK_VERBOSITY in the environment may change how
 * much is printed) and frees it: EXIT_SUCCESS when none failed,
 * EXIT_FAILURE otherwise. */
static inline int
check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
