/*
 * bcn_etl_ctl.h - beacon-etl's control plane: /metrics, /healthz, /readyz on
 * metrics.address:metrics.port (127.0.0.1:9471), served by the main thread
 * with beacond's fixed-memory HTTP engine.  Implemented in
 * bcn_etl_metrics.c.
 *
 * Why this exists: the main thread has nothing else to do but wait for
 * signals, so it also answers scrapes and probes; the stream threads never
 * touch a socket other than Kafka's and ClickHouse's.
 */
#ifndef BCN_ETL_CTL_H
#define BCN_ETL_CTL_H

#include <stddef.h>

struct bcn_etl;
struct bcn_etl_ctl;

/* Bind and listen, allocate the server (1 MiB page buffer per connection
 * slot, 8 slots).  Returns NULL with a message in err (address in use, bad
 * address, out of memory). */
struct bcn_etl_ctl *bcn_etl_ctl_new(struct bcn_etl *etl, char *err, size_t errlen);

/* Serve requests for up to timeout_ms.  Returns the number handled, or -1
 * if epoll failed (errno set). */
int bcn_etl_ctl_poll(struct bcn_etl_ctl *c, int timeout_ms);

/* Close and free; NULL is a no-op. */
void bcn_etl_ctl_free(struct bcn_etl_ctl *c);

#endif
