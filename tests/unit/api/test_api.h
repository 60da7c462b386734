/* test_api.h - suites of build/test-api (tests/unit/api/). */
#ifndef TEST_API_H
#define TEST_API_H
#include <CUnit/CUnit.h>
int test_api_route_register(void);
int test_api_out_register(void);
#endif
