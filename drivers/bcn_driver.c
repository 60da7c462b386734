/*
 * bcn_driver.c - the table of drivers compiled into this build.  The DPDK
 * driver is in it when drivers/dpdk/module.mk builds it (BCN_HAVE_DPDK).
 */
#include <string.h>
#include "bcn_driver.h"

const struct bcn_driver_ops *bcn_driver_find(const char *name)
{
	static const struct bcn_driver_ops *const all[] = {
		&bcn_driver_socket,
#ifdef BCN_HAVE_DPDK
		&bcn_driver_dpdk,
#endif
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	return NULL;
}
