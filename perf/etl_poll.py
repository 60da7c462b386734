#!/usr/bin/env python3
"""perf/etl_poll.py - wait until a beacon-etl metric reaches a value, cheaply.

Why this exists: the ETL benchmarks used to poll /metrics with `curl | awk`
from a shell loop every 20 ms.  Measured alone against an idle beacon-etl
(perf/RESULTS.md, "The benchmark's own poll loop"), that loop used about 0.4
of a CPU (1.17-1.65 CPU-s over 2.7-4.4 s, 3 runs), most of it in starting
curl, awk and date, taken from the 2-vCPU machine during the very window it
timed, while the peer's run had no such loop.  This is one process, one
keep-alive connection, one poll every 10 ms: ~0.05 of a CPU.

  etl_poll.py PORT TIMEOUT_S METRIC TARGET [METRIC TARGET ...] [--timeline FILE OTHER]

Polls http://127.0.0.1:PORT/metrics until the sum of the first METRIC's
series (lines that start with METRIC) is >= its TARGET, prints the
wall-clock time (seconds since the epoch, as `date +%s.%N`) of the answer
that showed it, and goes on to the next pair.  A line per pair, flushed, so
a shell can `read` each from a FIFO as it comes (and start the poller
before the ETL, keeping Python's start-up out of the timed window).  With
--timeline, every poll after the first pair appends "TIME OTHER METRIC" to
FILE (the timeline of perf/etl_ab.sh TL=1).  Connection refused (the ETL
still starting) is retried.  Exit status 1, with what it last saw, if
TIMEOUT_S (from its start) passes first.  Loopback only.
"""
import socket
import sys
import time


def get(sock, port):
    """GET /metrics on a kept-alive connection (opened if sock is None);
    returns (sock, body).  A raw request: http.client costs ~150 us of CPU
    per request here, this ~30 us.  Raises OSError/ValueError on failure."""
    if sock is None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    buf = b""
    while True:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise ValueError("connection closed")
        buf += chunk
        h = buf.find(b"\r\n\r\n")
        if h < 0:
            continue
        head = buf[:h].lower()
        i = head.find(b"content-length:")
        if i < 0 or not head.startswith(b"http/1.1 200"):
            raise ValueError("unexpected answer: %r" % buf[:80])
        n = int(head[i + 15:].split(b"\r\n", 1)[0])
        if len(buf) >= h + 4 + n:
            if b"connection: close" in head:
                sock.close()
                sock = None
            return sock, buf[h + 4:h + 4 + n].decode()


def total(body, key):
    s = 0
    for ln in body.split("\n"):
        if ln.startswith(key):
            s += float(ln.rsplit(" ", 1)[1])
    return s


def main():
    args = sys.argv[1:]
    tl = other = None
    if "--timeline" in args:
        i = args.index("--timeline")
        tl, other = open(args[i + 1], "a"), args[i + 2]
        del args[i:i + 3]
    port, timeout = int(args[0]), float(args[1])
    stages = [(args[i], float(args[i + 1])) for i in range(2, len(args) - 1, 2)]
    end = time.monotonic() + timeout
    sock, seen, k = None, None, 0
    while time.monotonic() < end:
        try:
            sock, body = get(sock, port)
            now = time.time()
        except (OSError, ValueError):
            if sock is not None:
                sock.close()
            sock = None
            time.sleep(0.01)
            continue
        key, target = stages[k]
        seen = total(body, key)
        if tl and k:
            tl.write("%.6f %d %d\n" % (now, total(body, other), seen))
        if seen >= target:
            print("%.6f" % now, flush=True)
            k += 1
            if k == len(stages):
                return 0
            continue
        time.sleep(0.01)
    sys.stderr.write("etl_poll: %s reached %s, not %s, in %s s\n" % (stages[k][0], seen, stages[k][1], timeout))
    return 1


if __name__ == "__main__":
    sys.exit(main())
