/*
 * bcn_app.h - beacond's process state: the workers (fast path), the
 * slow-path threads (rings → Kafka) and what they share.
 *
 * Why this exists: it is the one place that shows how the pieces connect.
 *
 *   driver (UDP/HTTP, per worker) ──bcn_worker_ingest──▶ worker ring (SPSC)
 *        worker ring ──bcn_slow thread──▶ bcn_kafka producer ──▶ Kafka
 *   control thread: /metrics /healthz /readyz (reads counters only)
 *   main thread: signals (SIGTERM/SIGINT stop, SIGHUP reload), Kafka probe
 *
 * Every buffer (rings, socket buffers, HTTP connection slots, record
 * scratch) is allocated before the first beacon is read; the fast path never
 * allocates.  Each worker is a cache-aligned element of one array and owns
 * its ring's producer side, its token cache and its counters; slow-path
 * thread i owns the consumer side of rings i, i+n, i+2n...
 */
#ifndef BCN_APP_H
#define BCN_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "bcn_cfg.h"
#include "bcn_driver.h"
#include "bcn_jwt.h"
#include "bcn_kafka.h"
#include "bcn_proto.h"
#include "bcn_ring.h"
#include "bcn_stat.h"

/* Why a valid-or-unparsed beacon was not taken (append only: metric labels). */
enum bcn_drop {
	BCN_D_RING_FULL = 0,   /* UDP: the worker's ring had no room (Kafka slow/down) */
	BCN_D_HTTP_BUSY,       /* HTTP: beacons in requests answered 503 (retry later)  */
	BCN_D__COUNT
};
const char *bcn_drop_name(unsigned d);

/* bcn_worker_ingest's result when the ring had no room (not a reject). */
#define BCN_W_RING_FULL (-1)

struct bcn_worker_stats {
	bcn_ctr rx[BCN_SRC__COUNT];                       /* beacons seen          */
	bcn_ctr accepted[BCN_SRC__COUNT][BCN_T__COUNT];   /* into the ring         */
	bcn_ctr rejected[BCN_SRC__COUNT][BCN_R__COUNT];   /* by reason             */
	bcn_ctr dropped[BCN_D__COUNT];                    /* by reason             */
	bcn_ctr loops, bursts;                            /* poll calls, non-empty */
};

struct bcn_app;

struct bcn_worker {
	struct bcn_ring ring;           /* producer side is this worker's      */
	struct bcn_app *app;
	unsigned id;
	int cpu;                        /* pinned CPU, or -1                   */
	int64_t now_ms;                 /* wall clock of the current burst     */
	struct bcn_ingest in;
	struct bcn_jwt_cache *jwt;
	_Atomic uint32_t keys_gen;      /* key generation this cache uses      */
	void *drv;                      /* the driver's per-worker state       */
	void *ring_mem;
	pthread_t th;
	_Atomic int running;
	char err[256];                  /* why the worker stopped, if it failed */
	_Alignas(64) struct bcn_worker_stats st;
} __attribute__((aligned(64)));

struct bcn_slow {
	struct bcn_app *app;
	unsigned id;
	struct bcn_kafka *k;
	pthread_t th;
	_Atomic int running;
	int64_t undelivered;            /* after the final flush               */
	_Alignas(64) bcn_ctr drained;   /* records taken from rings            */
	bcn_ctr blocked;                /* times Kafka's queue pushed back     */
} __attribute__((aligned(64)));

struct bcn_app {
	struct bcn_cfg cfg;
	struct bcn_ingest_cfg icfg;
	const struct bcn_driver_ops *drv;
	void *drv_state;
	unsigned nworkers, nslow;
	struct bcn_worker *w;
	struct bcn_slow *slow;
	/* JWT keys: SIGHUP fills the other slot once every worker has
	 * switched to the current one (bcn_jwt_ring). */
	struct bcn_jwt_ring keys;
	_Atomic int stopping;           /* 1: stop taking input, drain, exit   */
	_Atomic int workers_done;       /* every worker has exited            */
	_Atomic int64_t stop_deadline_ms; /* wall clock by which shutdown ends  */
	_Atomic int kafka_up;           /* last probe found a broker          */
	bcn_ctr kafka_probe_ms;         /* wall clock of the last probe       */
	bcn_ctr reloads, reload_errors;
	int64_t started_ms;
};

/* ---- workers (app/core/bcn_worker.c) --------------------------------- */

/* Wall clock, ms.  Can't fail. */
int64_t bcn_now_ms(void);

/*
 * Allocate and initialise worker i (ring, token cache, ingest state).
 * Main thread, at start-up.  Returns 0, or -1 with a message in err (then
 * bcn_worker_fini cleans up what was made).
 */
int bcn_worker_setup(struct bcn_app *app, struct bcn_worker *w, unsigned id, char *err, size_t errlen);
void bcn_worker_fini(struct bcn_worker *w);

/* The worker thread: pin, driver worker_init, poll loop, quiesce, exit. */
void *bcn_worker_main(void *arg);

/* Refresh w->now_ms at the start of a burst.  Worker thread.  Can't fail. */
static inline void bcn_worker_clock(struct bcn_worker *w)
{
	w->now_ms = bcn_now_ms();
}

/*
 * The fast path for one beacon: reserve ring room, parse + authenticate +
 * validate + stamp straight into it (bcn_ingest), commit.  `auth` is an HTTP
 * bearer token or NULL.  Returns BCN_OK (in the ring), a reason (rejected,
 * counted) or BCN_W_RING_FULL (not even parsed, counted as dropped).
 * Worker thread only.
 */
static inline int bcn_worker_ingest(struct bcn_worker *w, enum bcn_format fmt, const void *buf,
				    size_t len, const char *auth, size_t auth_len,
				    enum bcn_source src)
{
	BCN_INC(w->st.rx[src], 1);
	struct bcn_record *r = bcn_ring_reserve(&w->ring, sizeof(struct bcn_record));
	if (unlikely(!r)) {
		BCN_INC(w->st.dropped[BCN_D_RING_FULL], 1);
		return BCN_W_RING_FULL;
	}
	int rc = bcn_ingest(&w->in, fmt, buf, len, auth, auth_len, w->now_ms, src, r);
	if (unlikely(rc != BCN_OK)) {
		bcn_ring_commit(&w->ring, 0);
		BCN_INC(w->st.rejected[src][rc], 1);
		return rc;
	}
	BCN_INC(w->st.accepted[src][r->type], 1);
	bcn_ring_commit(&w->ring, bcn_record_size(r));
	return BCN_OK;
}

/*
 * 1 if the ring can take `n` beacons of `bytes` input bytes in all, even if
 * every one is accepted (a record never needs more arena than its input
 * has bytes); 0 if not.  Only the worker produces, so room can only grow
 * afterwards: an HTTP request checked here is all-or-nothing.  Worker thread.
 */
int bcn_worker_has_room(struct bcn_worker *w, size_t n, size_t bytes);

/* Ring occupancy above the high-water mark?  Any thread. */
int bcn_worker_ring_high(const struct bcn_worker *w);

/* ---- slow path (app/core/bcn_slow.c) --------------------------------- */

/* Create producer i.  Main thread.  Returns 0, or -1 with err. */
int bcn_slow_setup(struct bcn_app *app, struct bcn_slow *s, unsigned id, char *err, size_t errlen);
/* The slow-path thread: drain its rings into Kafka until the workers are
 * done and its rings are empty, then flush within shutdown.deadline_ms. */
void *bcn_slow_main(void *arg);
void bcn_slow_fini(struct bcn_slow *s);

/* ---- control plane (app/core/bcn_ctl.c, bcn_expo.c) ------------------ */

struct bcn_ops;
/* Bind the metrics listener (bcn_ops.h) and allocate its buffers.  Main
 * thread.  Returns NULL with err on failure (nothing left open). */
struct bcn_ops *bcn_ctl_new(struct bcn_app *app, char *err, size_t errlen);
/* Start / stop its thread.  Returns 0 / -1 (pthread_create failed). */
int bcn_ctl_start(struct bcn_ops *c);
void bcn_ctl_stop(struct bcn_ops *c);

/* Render every metric family into mb.  Metrics thread.  Can't fail
 * (mb->overflow tells when the buffer was too small). */
void bcn_app_metrics(struct bcn_app *app, struct bcn_mbuf *mb);
/* /readyz: 1 if ready; else 0 with the reason in why.  Any thread. */
int bcn_app_ready(struct bcn_app *app, char *why, size_t whylen);

/* ---- the HTTP beacon API (app/core/bcn_api.c) ------------------------ */
struct bcn_http_req;
struct bcn_http_resp;
/* POST /v1/beacons and friends for worker w.  Worker thread. */
void bcn_api_handle(void *worker, const struct bcn_http_req *req, struct bcn_http_resp *resp);

#endif
