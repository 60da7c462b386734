/*
 * bcn_http.h - a fixed-memory epoll HTTP/1.1 server engine.
 *
 * Why this exists: beacond takes beacons over HTTP (POST /v1/beacons: one
 * server per worker thread, each on its own SO_REUSEPORT listening socket)
 * and serves its control plane (/metrics, /healthz, /readyz) the same way.
 * Both face clients we do not control, so the engine must not grow and must
 * say what happens at every limit: all memory (connection slots, buffers,
 * the epoll set) is allocated by bcn_http_server_new, and each limit below
 * has a fixed answer.  Parsing is nodejs http-parser's; this module owns the
 * sockets, buffers, timers, keep-alive, pipelining and response framing.
 * What a request means is the handler's business (app/core).
 *
 * Protocol: HTTP/1.1 keep-alive and pipelining (responses in request order),
 * HTTP/1.0 (closes unless the client asked for keep-alive), Connection:
 * close, Content-Length and chunked bodies (the handler always sees one
 * contiguous decoded body), Expect: 100-continue (the interim response goes
 * out as soon as the headers are accepted; a body over the limit gets 413
 * instead).  The engine answers by itself, and then closes:
 *   400 malformed request (also duplicate Authorization/Content-Type/Expect)
 *   408 a request not complete request_ms after its first byte (slowloris)
 *   413 body over body_max (checked on Content-Length before the body comes)
 *   417 an Expect other than 100-continue
 *   431 request line + headers over header_max
 *   503 + Retry-After: 1: the request outgrew its connection buffer and no
 *       large buffer was free
 * A connection ends with a half-close after its last response: the engine
 * then discards what the client still sends until the client closes too (or
 * linger_ms), so that the client reads the whole answer instead of a reset.
 *
 * Memory: per connection conn_buf bytes of input and resp_max + 1 KiB of
 * output; per server large_bufs buffers of header_max + body_max, lent to a
 * connection whose request outgrows conn_buf and returned when it is done;
 * one resp_max scratch for the handler.  bcn_http_server_mem_bytes says the
 * total.  Nothing is allocated after bcn_http_server_new.
 *
 * Thread model: a server is used by one thread only (the one that calls
 * bcn_http_server_poll); only bcn_http_stats_read may be called from any
 * other thread at any time.  Counters have a single writer and are updated
 * with relaxed atomic load+store, so reading them is race-free and cheap.
 * Several servers may run in several threads (they share nothing).
 *
 * Event loop: bcn_http_server_fd is an epoll fd.  Either call
 * bcn_http_server_poll(srv, timeout) in a loop, or add that fd (EPOLLIN,
 * level-triggered) to your own epoll set and call bcn_http_server_poll(srv,
 * 0) whenever it is readable.  Timers (idle, request, linger) need no help
 * from the caller: while connections are open an internal timerfd makes the
 * fd readable every tick (<= 100 ms).
 */
#ifndef BCN_HTTP_H
#define BCN_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct bcn_http_limits {
	unsigned max_conns;  /* open connections; more are accepted and closed
				at once (conns_refused)           default 256 */
	size_t header_max;   /* request line + headers, bytes (431);
				<= 80 KiB (http-parser's own cap)  default 8 KiB */
	size_t body_max;     /* decoded request body, bytes (413)  default 256 KiB */
	size_t conn_buf;     /* per-connection input buffer         default 16 KiB */
	unsigned large_bufs; /* pool of header_max + body_max buffers (may be 0:
				then requests over conn_buf get 503) default 4 */
	size_t resp_max;     /* response body capacity (resp.body_cap)
							     default 64 KiB */
	unsigned idle_ms;    /* keep-alive connection with no request, or whose
				client stopped reading our output  default 30000 */
	unsigned request_ms; /* first byte of a request to its last (408); also
				a new connection's first request   default 10000 */
	unsigned linger_ms;  /* half-closed, draining input, after the last
				response                           default 2000 */
};

/* Fill *l with the defaults above.  Can't fail. */
void bcn_http_limits_defaults(struct bcn_http_limits *l);

enum bcn_http_method { BCN_HTTP_GET, BCN_HTTP_POST, BCN_HTTP_HEAD, BCN_HTTP_OTHER };

/*
 * One complete request.  Strings point into the connection's buffer, are
 * NOT NUL-terminated and are valid only during the handler call.
 */
struct bcn_http_req {
	enum bcn_http_method method;
	const char *path;       /* the request target up to '?' or '#'        */
	size_t path_len;
	const char *query;      /* after '?' up to '#'; NULL if no '?'          */
	size_t query_len;
	const char *auth;       /* Authorization value; NULL if absent         */
	size_t auth_len;
	const char *content_type; /* Content-Type value; NULL if absent        */
	size_t content_type_len;
	const char *body;       /* decoded body, never NULL (len may be 0)     */
	size_t body_len;
	int length_known;       /* 1 if framed by Content-Length or chunked
				   (a POST without either may deserve 411)     */
	int keep_alive;         /* 1 if the connection stays open after this
				   response (unless the handler sets close)    */
	unsigned http_minor;    /* 0 or 1 (HTTP/1.x)                           */
};

/*
 * The handler's answer.  The engine writes the status line, Content-Length
 * (none for 204/304), Content-Type, Retry-After, the extra header and
 * Connection: keep-alive/close.  For HEAD, the body's length is sent but not
 * the body.  An invalid answer (status outside 200..599, body_len over
 * resp_max, content_type over 128 bytes or extra_header over 256, or either
 * containing CR/LF) is replaced by an empty 500.
 */
struct bcn_http_resp {
	int status;               /* default 500                               */
	const char *content_type; /* NUL-terminated, or NULL: none             */
	char *body;               /* server-owned scratch of body_cap bytes;
				     the handler may instead point it at its
				     own bytes (copied as soon as it returns) */
	size_t body_cap;          /* = limits.resp_max                         */
	size_t body_len;          /* bytes of body, default 0                  */
	unsigned retry_after_s;   /* > 0: Retry-After: N                       */
	const char *extra_header; /* one "Name: value" line without CRLF,
				     NUL-terminated, or NULL                  */
	int close;                /* 1: close the connection after this        */
};

typedef void (*bcn_http_handler_fn)(void *ctx, const struct bcn_http_req *req,
				    struct bcn_http_resp *resp);

struct bcn_http_server;

/*
 * Create a server on an already bound and listening socket (the caller owns
 * it; it is made non-blocking).  limits may be NULL (defaults).  handler is
 * called with ctx once per complete request, on the polling thread.
 * Returns NULL on failure with errno set: EINVAL for bad limits (zero
 * max_conns/timeouts, header_max over 80 KiB or under 256, conn_buf under
 * 1 KiB, sizes over 1 GiB), ENOMEM, or what epoll/timerfd said.
 */
struct bcn_http_server *bcn_http_server_new(int listen_fd, const struct bcn_http_limits *limits,
					    bcn_http_handler_fn handler, void *ctx);

/* Bytes allocated by bcn_http_server_new (all the server will ever use). */
size_t bcn_http_server_mem_bytes(const struct bcn_http_server *srv);

/* The server's epoll fd, to nest in the caller's epoll set (see above). */
int bcn_http_server_fd(const struct bcn_http_server *srv);

/*
 * Wait up to timeout_ms (0: don't wait, -1: until something happens) for
 * events, handle them, and run the timers that are due.  Returns the number
 * of requests passed to the handler, or -1 if epoll_wait failed (other than
 * EINTR; errno is set) -- a fatal error for this server.
 */
int bcn_http_server_poll(struct bcn_http_server *srv, int timeout_ms);

/*
 * Stop accepting (the listening socket leaves the epoll set but stays open:
 * the caller closes it), answer every further response with Connection:
 * close, and close idle keep-alive connections now.  In-flight requests are
 * still served; poll until bcn_http_server_open_conns() is 0 (or your own
 * deadline).  Idempotent, can't fail.
 */
void bcn_http_server_stop_accepting(struct bcn_http_server *srv);

/* Connections currently open (including half-closed ones, draining). */
unsigned bcn_http_server_open_conns(const struct bcn_http_server *srv);

/* Close every connection and free everything.  NULL is a no-op. */
void bcn_http_server_free(struct bcn_http_server *srv);

/* ---- statistics ------------------------------------------------------ */

/* Responses are counted by status in this table; labels from
 * bcn_http_status_label: "100", "200", "204", "400", "401", "404", "405",
 * "408", "411", "413", "429", "431", "500", "503", "other". */
#define BCN_HTTP_NSTATUS 15
/* Latency buckets (upper bounds in seconds), bcn_http_lat_label: "0.00005",
 * "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
 * "0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf". */
#define BCN_HTTP_NLAT 15

/* A snapshot of a server's counters (all monotonic except conns_open). */
struct bcn_http_stats {
	uint64_t responses[BCN_HTTP_NSTATUS]; /* final and 100-continue      */
	uint64_t requests;             /* passed to the handler                */
	uint64_t conns_accepted;       /* accepted and kept                    */
	uint64_t conns_refused;        /* accepted and closed: max_conns       */
	uint64_t conns_closed;         /* every close, any reason              */
	uint64_t conns_closed_idle;    /* keep-alive idle_ms expired           */
	uint64_t conns_closed_timeout; /* request_ms (408) or output stuck     */
	uint64_t conns_open;           /* gauge                                */
	uint64_t accept_errors;        /* accept4/epoll_ctl failures (EMFILE..) */
	uint64_t io_errors;            /* recv/send failures (resets, ...)     */
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t parse_errors;         /* malformed requests (400)             */
	uint64_t large_lends;          /* large buffer lent                    */
	uint64_t large_shortages;      /* none free: 503                       */
	/* latency from a request's first byte to its response's last byte
	 * handed to the kernel, Prometheus-style: lat_le[i] counts responses
	 * <= bound i (cumulative), lat_le[BCN_HTTP_NLAT - 1] == lat_count */
	uint64_t lat_le[BCN_HTTP_NLAT];
	uint64_t lat_count;
	uint64_t lat_sum_ns;
};

/* Copy srv's counters into *out.  Any thread, any time after new and
 * before free.  Each counter is read atomically; the set is not one
 * instant (counts may be a few events apart).  Can't fail. */
void bcn_http_stats_read(const struct bcn_http_server *srv, struct bcn_http_stats *out);

/* Label of responses[i] / lat_le[i]; NULL if i is out of range. */
const char *bcn_http_status_label(unsigned i);
const char *bcn_http_lat_label(unsigned i);

#endif
