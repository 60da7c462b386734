/*
 * bcn_driver.h - the packet I/O driver interface: one ops struct per driver,
 * chosen once at start-up by `driver.name`.
 *
 * Why this exists: beacond's workers, rings, Kafka slow path and control
 * plane do not care where bytes come from.  A driver owns the ports (kernel
 * sockets, or DPDK queues), receives a burst, and hands each beacon to
 * bcn_worker_ingest() on the worker's own core; nothing else of beacond
 * changes when the driver does (the DPDK driver plugs in here).
 *
 * Call order and threads:
 *   setup(app)           main thread, once, before workers start: open and
 *                        bind ports, allocate every buffer the driver needs.
 *   worker_init(w)       the worker's thread, once, before its first poll.
 *   poll(w, timeout_ms)  the worker's thread, in a loop: receive one burst
 *                        (waiting at most timeout_ms when idle), ingest it.
 *   quiesce(w)           the worker's thread, once, when shutdown begins:
 *                        stop taking new input, let in-flight requests end.
 *   idle(w)              the worker's thread, after quiesce: 1 when no
 *                        request is still in flight (the worker may exit).
 *   worker_fini(w)       the worker's thread, once, last.
 *   teardown(app)        main thread, after every worker has exited.
 *   metrics(app, mb)     the metrics thread, any time after setup: append the
 *                        driver's own families (reads counters only).
 */
#ifndef BCN_DRIVER_H
#define BCN_DRIVER_H

#include <stddef.h>

struct bcn_app;
struct bcn_worker;
struct bcn_mbuf;

struct bcn_driver_ops {
	const char *name;
	/* Returns 0, or -1 with a message in err (then teardown is still called). */
	int (*setup)(struct bcn_app *app, char *err, size_t errlen);
	int (*worker_init)(struct bcn_worker *w, char *err, size_t errlen);
	/* Returns beacons handled (>= 0), or -1 on a fatal error. */
	int (*poll)(struct bcn_worker *w, int timeout_ms);
	void (*quiesce)(struct bcn_worker *w);
	int (*idle)(struct bcn_worker *w);
	void (*worker_fini)(struct bcn_worker *w);
	void (*teardown)(struct bcn_app *app);
	void (*metrics)(struct bcn_app *app, struct bcn_mbuf *mb);
};

extern const struct bcn_driver_ops bcn_driver_socket;
extern const struct bcn_driver_ops bcn_driver_dpdk; /* with BCN_HAVE_DPDK */

/* The driver called `name`, or NULL if this build has none by that name. */
const struct bcn_driver_ops *bcn_driver_find(const char *name);

#endif
