#!/usr/bin/env python3
"""The client side of the DPDK namespace test (runs inside the client namespace).

  netns_client.py ping --dst ADDR [--count N] [--timeout S]
        ICMP / ICMPv6 echo through raw sockets (no ping binary needed);
        exit 0 if every request got its reply
  netns_client.py udp --dst ADDR --port P --count N --token T --out FILE [--rate R]
        N valid beacons of every type, JSON and binary in turn, each from one
        of 64 source ports (many flows: RSS spreads them); one expected
        record per line of FILE
  netns_client.py http --dst ADDR --port P --count N --batch B --token T --out FILE
        N valid beacons as POST /v1/beacons bodies of B lines (keep-alive);
        every answer must be 204
  netns_client.py txcsum-off --dev IFACE
        turn off TX checksum offload (ethtool -K IFACE tx off, without
        ethtool): a veth hands af_packet frames whose TCP/UDP checksum the
        kernel left to "hardware"; a real wire never carries those
  netns_client.py verify --records RECORDS.tsv --expect FILE...
        Kafka (kcat dump: topic<TAB>key<TAB>value) holds exactly the
        expected records, once each, with the right topic, key and source
"""
import argparse
import http.client
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import pkt  # noqa: E402

SUB = "7f9c1e2a-0000-4000-8000-000000000001"
NIL = "00000000-0000-0000-0000-000000000000"


def expect_line(b, source):
    typ = b["type"]
    return {"session_id": b["session_id"], "type": typ, "topic": pkt.TOPIC[typ],
            "key": SUB if typ in pkt.AUTH_TYPES else b["anon_id"], "source": source,
            "user_id": SUB if typ in pkt.AUTH_TYPES else NIL}


def cmd_ping(a):
    v6 = ":" in a.dst
    if v6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(0.2)
    ident = os.getpid() & 0xFFFF
    ok = 0
    for seq in range(1, a.count + 1):
        data = b"beacond-exception-path" + struct.pack("!d", time.time())
        if v6:
            msg = struct.pack("!BBHHH", 128, 0, 0, ident, seq) + data  # the kernel fills the checksum
        else:
            h = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
            msg = h[:2] + struct.pack("!H", pkt.csum(h)) + h[4:]
        t0 = time.time()
        s.sendto(msg, (a.dst, 0))
        got = False
        while time.time() - t0 < a.timeout and not got:
            try:
                r, _ = s.recvfrom(2048)
            except socket.timeout:
                continue
            icmp = r if v6 else r[(r[0] & 0x0F) * 4:]
            typ, _, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
            if typ == (129 if v6 else 0) and rid == ident and rseq == seq:
                got = True
                print("ping %s: seq %d reply in %.2f ms" % (a.dst, seq, (time.time() - t0) * 1000))
        ok += got
        if not got:
            print("ping %s: seq %d: no reply within %.1fs" % (a.dst, seq, a.timeout), file=sys.stderr)
    return 0 if ok == a.count else 1


def cmd_udp(a):
    fam = socket.AF_INET6 if ":" in a.dst else socket.AF_INET
    socks = [socket.socket(fam, socket.SOCK_DGRAM) for _ in range(64)]
    now = int(time.time() * 1000)
    gap = 1.0 / a.rate if a.rate else 0
    t0 = time.time()
    with open(a.out, "w") as out:
        for i in range(a.count):
            typ = pkt.TYPES[i % len(pkt.TYPES)]
            b = pkt.beacon_fields(typ, now, token=a.token)
            payload = pkt.json_beacon(b) if (i // len(pkt.TYPES)) % 2 == 0 else pkt.bin_beacon(b)
            socks[i % len(socks)].sendto(payload, (a.dst, a.port))
            out.write(json.dumps(expect_line(b, "udp")) + "\n")
            if gap:
                delay = t0 + (i + 1) * gap - time.time()
                if delay > 0:
                    time.sleep(delay)
    print("udp: %d beacons to %s:%d" % (a.count, a.dst, a.port))
    return 0


def cmd_http(a):
    now = int(time.time() * 1000)
    c = http.client.HTTPConnection(a.dst, a.port, timeout=10)
    sent = 0
    with open(a.out, "w") as out:
        while sent < a.count:
            lines = []
            for _ in range(min(a.batch, a.count - sent)):
                typ = pkt.TYPES[sent % len(pkt.TYPES)]
                b = pkt.beacon_fields(typ, now, token=a.token)
                lines.append(pkt.json_beacon(b))
                out.write(json.dumps(expect_line(b, "http")) + "\n")
                sent += 1
            c.request("POST", "/v1/beacons", body=b"\n".join(lines),
                      headers={"Content-Type": "application/x-ndjson"})
            r = c.getresponse()
            body = r.read()
            if r.status != 204:
                print("http: POST of %d line(s): %d %s" % (len(lines), r.status, body[:300]), file=sys.stderr)
                return 1
    print("http: %d beacons to %s:%d, every answer 204" % (a.count, a.dst, a.port))
    return 0


def cmd_txcsum_off(a):
    import array
    import fcntl
    SIOCETHTOOL, ETHTOOL_STXCSUM, ETHTOOL_GTXCSUM = 0x8946, 0x17, 0x16
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for cmd in (ETHTOOL_STXCSUM, ETHTOOL_GTXCSUM):
        ev = array.array("I", [cmd, 0])
        ifr = struct.pack("16sP16x", a.dev.encode(), ev.buffer_info()[0])
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr)
    if ev[1] != 0:
        print("txcsum-off: %s still has TX checksum offload on" % a.dev, file=sys.stderr)
        return 1
    return 0


def cmd_verify(a):
    want = {}
    for f in a.expect:
        for ln in open(f):
            if ln.strip():
                r = json.loads(ln)
                want[r["session_id"]] = r
    got = {}
    fails = 0
    n = 0
    for ln in open(a.records, encoding="utf-8"):
        ln = ln.rstrip("\n")
        if not ln:
            continue
        topic, key, val = ln.split("\t", 2)
        r = json.loads(val)
        n += 1
        sid = r.get("session_id")
        if sid in got:
            print("verify: session %s twice in Kafka" % sid, file=sys.stderr)
            fails += 1
        got[sid] = (topic, key, r)
    for sid, w in want.items():
        if sid not in got:
            print("verify: missing %s %s beacon (session %s)" % (w["source"], w["type"], sid), file=sys.stderr)
            fails += 1
            continue
        topic, key, r = got[sid]
        bad = [k for k in ("type", "source", "user_id") if r.get(k) != w[k]]
        if topic != w["topic"] or key != w["key"] or bad:
            print("verify: %s: topic %s key %s fields %s differ" % (sid, topic, key, bad), file=sys.stderr)
            fails += 1
    extra = [s for s in got if s not in want]
    if extra:
        print("verify: %d unexpected record(s), e.g. %s" % (len(extra), extra[:3]), file=sys.stderr)
        fails += 1
    if fails:
        return 1
    print("verify: Kafka holds exactly the %d beacons sent, once each" % len(want))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sp = ap.add_subparsers(dest="cmd", required=True)
    p = sp.add_parser("ping")
    p.add_argument("--dst", required=True)
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--timeout", type=float, default=3.0)
    u = sp.add_parser("udp")
    h = sp.add_parser("http")
    for x in (u, h):
        x.add_argument("--dst", required=True)
        x.add_argument("--port", type=int, required=True)
        x.add_argument("--count", type=int, required=True)
        x.add_argument("--token", required=True)
        x.add_argument("--out", required=True)
    u.add_argument("--rate", type=float, default=0)
    h.add_argument("--batch", type=int, default=1)
    t = sp.add_parser("txcsum-off")
    t.add_argument("--dev", required=True)
    v = sp.add_parser("verify")
    v.add_argument("--records", required=True)
    v.add_argument("--expect", nargs="+", required=True)
    a = ap.parse_args()
    return {"ping": cmd_ping, "udp": cmd_udp, "http": cmd_http, "verify": cmd_verify,
            "txcsum-off": cmd_txcsum_off}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
