/*
 * tsan_main.c - runs only the ring suite, for the ThreadSanitizer build
 * (the other suites are single-threaded and covered by ASan/UBSan).
 */
#include <CUnit/Basic.h>

int test_ring_register(void);

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS || test_ring_register())
		return 2;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
