/*
 * test_api_main.c - build/test-api: beacon-api's unit tests (CUnit).
 * Exit status 0 only if every assert passed.
 */
#include <stdio.h>
#include <CUnit/Basic.h>
#include "test_api.h"

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	if (test_api_route_register() || test_api_out_register()) {
		fprintf(stderr, "test-api: suite registration failed: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_ErrorCode rc = CU_basic_run_tests();
	unsigned failures = CU_get_number_of_failures();
	unsigned tests_failed = CU_get_number_of_tests_failed();
	if (failures) {
		printf("\n--- failures ---");
		CU_basic_show_failures(CU_get_failure_list());
		printf("\n");
	}
	printf("\ntest-api: %u tests, %u asserts; %u asserts failed, %u tests failed\n",
	       CU_get_number_of_tests_run(), CU_get_number_of_asserts(), failures, tests_failed);
	CU_cleanup_registry();
	return (rc != CUE_SUCCESS || failures || tests_failed) ? 1 : 0;
}
