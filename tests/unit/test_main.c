/*
 * test_main.c - the unit tier's one main: registers every suite and runs
 * them with CUnit's basic interface in verbose mode.
 *
 * Exit status: 0 only if every suite initialised and every assert passed.
 * Tests run from the repository root (they read tests/vectors/).
 */
#include <stdio.h>
#include <CUnit/Basic.h>
#include "test_util.h"

/* Suites of other components that live in tests/unit/ too (app/conf,
 * app/ring).  Weak, so that the unit tier still links while one of them is
 * absent; registered when present. */
int test_conf_register(void) __attribute__((weak));
int test_ring_register(void) __attribute__((weak));
int test_http_register(void) __attribute__((weak));
int test_beacond_register(void) __attribute__((weak));

int main(void)
{
	int (*const suites[])(void) = {
		suite_names, suite_json, suite_ingest, suite_bin,
		suite_jwt, suite_encode, suite_event_id,
		test_conf_register, test_ring_register, test_http_register,
		test_beacond_register,
	};

	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "test-unit: CU_initialize_registry: %s\n", CU_get_error_msg());
		return 2;
	}
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (suites[i] && suites[i]() != 0) {
			fprintf(stderr, "test-unit: suite registration failed: %s\n",
				CU_get_error_msg());
			CU_cleanup_registry();
			return 2;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_ErrorCode rc = CU_basic_run_tests();
	unsigned failures = CU_get_number_of_failures();
	unsigned tests_failed = CU_get_number_of_tests_failed();
	unsigned suites_failed = CU_get_number_of_suites_failed();
	if (failures) {
		printf("\n--- failures ---");
		CU_basic_show_failures(CU_get_failure_list());
		printf("\n");
	}
	printf("\ntest-unit: %u suites, %u tests, %u asserts; %u asserts failed, "
	       "%u tests failed, %u suites failed\n",
	       CU_get_number_of_suites_run(), CU_get_number_of_tests_run(),
	       CU_get_number_of_asserts(), failures, tests_failed, suites_failed);
	CU_cleanup_registry();
	return (rc != CUE_SUCCESS || failures || tests_failed || suites_failed) ? 1 : 0;
}
