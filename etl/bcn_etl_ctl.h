/*
 * bcn_etl_ctl.h - beacon-etl's control plane: /metrics, /healthz, /readyz on
 * metrics.address:metrics.port (127.0.0.1:9471), served by the main thread
 * with the control-plane server the three binaries share (bcn_ops.h).
 * Implemented in bcn_etl_metrics.c.
 *
 * Why this exists: the main thread has nothing else to do but wait for
 * signals, so it also answers scrapes and probes; the stream threads never
 * touch a socket other than Kafka's and ClickHouse's.
 */
#ifndef BCN_ETL_CTL_H
#define BCN_ETL_CTL_H

#include <stddef.h>

#include "bcn_ops.h"

struct bcn_etl;

/* Bind and listen, allocate the server (1 MiB page buffer per connection
 * slot, 8 slots).  Returns NULL with a message in err (address in use, bad
 * address, out of memory).  Serve it with bcn_ops_poll (returns the
 * requests handled, or -1 if epoll failed), close it with bcn_ops_free. */
struct bcn_ops *bcn_etl_ctl_new(struct bcn_etl *etl, char *err, size_t errlen);

#endif
