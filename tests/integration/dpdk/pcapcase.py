#!/usr/bin/env python3
"""The DPDK pcap replay test's traffic and its check.

  pcapcase.py gen --dir DIR --queues N --token T --bad-token B --dst-mac MAC
        [--no-jumbo] [--bulk N]
        writes DIR/rx0.pcap .. rx{N-1}.pcap and DIR/expect.json
        (--no-jumbo: leave out the one multi-segment frame, for a feed that
        carries frames of one 2 KiB buffer, as memif-gen does; --bulk N: N
        more valid view beacons, JSON and binary over IPv4 and IPv6, to run
        a device's descriptor ring round many times)
  pcapcase.py verify --expect DIR/expect.json --records RECORDS.tsv --metrics METRICS.txt
        [--tx-pcap FILE...]
        exit 0 if Kafka holds exactly the valid beacons and every counter
        matches the pcap's composition; 1 otherwise (each failure printed)

The traffic: every type of beacon, valid, as JSON and as binary v1, each in
several encapsulations (IPv4, IPv4 with options, UDP checksum 0, 802.1Q,
QinQ, IPv6, IPv6 with a hop-by-hop header); beacons the contract rejects
(one per reason below); and frames the fast path must not take: ARP, LLDP,
ICMP, ICMPv6, TCP, UDP to other ports (exception path), IPv4 and IPv6
fragments, bad IPv4 header / UDP checksums, truncated frames and impossible
headers (dropped).  Each frame's class (bcn_pkt.h) is known in advance.

Frames for the exception path all go to rx0.pcap, in order (ARP before the
ping, so that the kernel behind the TAP can answer it without asking); the
rest is dealt round-robin over the queues.
"""
import argparse
import collections
import json
import struct
import sys
import time
import uuid

sys.path.insert(0, __import__("os").path.dirname(__file__))
import pkt  # noqa: E402

CLI_MAC = pkt.mac("02:00:00:00:77:02")
# Addresses of the test's own hosts: they exist only inside the network
# namespace test_dpdk_pcap.sh creates (dp_netns), on beacond's TAP exception
# interface there; the frames reach beacond from a pcap file, not a network.
CLI4, SRV4 = pkt.ip4("10.77.0.2"), pkt.ip4("10.77.0.1")
CLI6, SRV6 = pkt.ip6("fd77::2"), pkt.ip6("fd77::1")
SUB = "7f9c1e2a-0000-4000-8000-000000000001"
NIL = "00000000-0000-0000-0000-000000000000"


def gen(a):
    now = int(time.time() * 1000)
    dst = pkt.mac(a.dst_mac)
    port = a.port
    frames = []          # (frame, class, queue or None)
    records = []         # expected Kafka records
    accepted = collections.Counter()
    rejected = collections.Counter()

    def add(frame, cls, exc=False):
        frames.append((frame, cls, 0 if exc else None))

    def v4(payload, sport=40000, dport=port, csum="ok", vlans=(), opts=b""):
        u = pkt.udp4(CLI4, SRV4, sport, dport, payload, csum=csum)
        return pkt.eth(dst, CLI_MAC, pkt.ETH_IP4, pkt.ipv4(CLI4, SRV4, 17, u, opts=opts), vlans)

    def v6(payload, sport=40000, dport=port, csum="ok", vlans=(), ext=()):
        u = pkt.udp6(CLI6, SRV6, sport, dport, payload, csum=csum)
        return pkt.eth(dst, CLI_MAC, pkt.ETH_IP6, pkt.ipv6(CLI6, SRV6, 17, u, ext=ext), vlans)

    encaps = [
        ("ipv4", lambda p: v4(p)),
        ("ipv4+options", lambda p: v4(p, opts=b"\x01\x01\x01\x00")),  # NOP NOP NOP EOL
        ("ipv4 udp csum 0", lambda p: v4(p, csum="zero")),
        ("802.1q", lambda p: v4(p, vlans=(100,))),
        ("qinq", lambda p: v4(p, vlans=(10, 200))),
        ("ipv6", lambda p: v6(p)),
        ("ipv6+hbh", lambda p: v6(p, ext=[(0, b"\x01\x04\0\0\0\0")])),  # PadN
        ("ipv6 802.1q", lambda p: v6(p, vlans=(300,))),
    ]
    # 1. valid beacons: every type x {json, binary} x every encapsulation
    for typ in pkt.TYPES:
        for form in ("json", "binary"):
            for ename, enc in encaps:
                b = pkt.beacon_fields(typ, now, token=a.token)
                payload = pkt.json_beacon(b) if form == "json" else pkt.bin_beacon(b)
                add(enc(payload), "beacon")
                accepted[typ] += 1
                key = SUB if typ in pkt.AUTH_TYPES else b["anon_id"]
                records.append({"topic": pkt.TOPIC[typ], "key": key, "type": typ, "ts": b["ts"],
                                "session_id": b["session_id"], "anon_id": b.get("anon_id", NIL),
                                "user_id": SUB if typ in pkt.AUTH_TYPES else NIL,
                                "film_id": b.get("film_id", NIL), "source": "udp",
                                "what": "%s %s %s" % (typ, form, ename)})

    # 2. beacons the contract rejects (well-formed packets, rejected by bcn_ingest)
    def rej(reason, payload, enc=v4):
        add(enc(payload), "beacon")
        rejected[reason] += 1

    view = pkt.beacon_fields("view", now)
    rej("malformed", b'{"type":"view",')
    rej("malformed", b"BC\x01")                                     # binary, < 28 bytes
    rej("malformed", b"")                                           # empty datagram
    rej("unknown_type", pkt.json_beacon(dict(view, type="click")))
    rej("unknown_type", pkt.bin_beacon(view)[:3] + b"\x09" + pkt.bin_beacon(view)[4:], v6)
    rej("unsupported_version", pkt.bin_beacon(view, version=2))
    rej("missing_field", pkt.json_beacon({k: v for k, v in view.items() if k != "duration_ms"}))
    rej("clock_skew", pkt.json_beacon(dict(view, ts=1000)))
    rej("clock_skew", pkt.bin_beacon(dict(view, ts=1000)), v6)
    rej("auth_required", pkt.json_beacon({k: v for k, v in pkt.beacon_fields("like", now).items() if k != "token"}))
    rej("bad_token", pkt.json_beacon(pkt.beacon_fields("like", now, token=a.bad_token)))
    rej("bad_uuid", pkt.json_beacon(dict(view, film_id="6b1f0a2c3d4e4f5a8b6c7d8e9f0a1b2c")))
    rej("no_identity", pkt.json_beacon({k: v for k, v in view.items() if k != "anon_id"}))
    rej("out_of_range", pkt.json_beacon(dict(view, duration_ms=0)))
    if not a.no_jumbo:
        rej("too_large", b"{" + b" " * 20480 + b"}", lambda p: _big(p))
    # (too_large needs a datagram > 20480 bytes: one multi-segment jumbo frame)

    # 1b. bulk: many more valid view beacons (distinct sessions)
    for i in range(a.bulk):
        b = pkt.beacon_fields("view", now)
        payload = pkt.json_beacon(b) if i % 2 else pkt.bin_beacon(b)
        add((v6 if i % 4 >= 2 else v4)(payload, sport=1024 + i % 50000), "beacon")
        accepted["view"] += 1
        records.append({"topic": pkt.TOPIC["view"], "key": b["anon_id"], "type": "view", "ts": b["ts"],
                        "session_id": b["session_id"], "anon_id": b["anon_id"], "user_id": NIL,
                        "film_id": b["film_id"], "source": "udp", "what": "bulk view %d" % i})

    # 3. exception path: not for the parser, for the kernel (all in rx0, in order)
    add(pkt.eth(b"\xff" * 6, CLI_MAC, pkt.ETH_ARP, pkt.arp_request(CLI_MAC, CLI4, SRV4)), "not_ip", exc=True)
    add(pkt.eth(pkt.mac("01:80:c2:00:00:0e"), CLI_MAC, pkt.ETH_LLDP, b"\x02\x07\x04" + b"\0" * 40), "not_ip", exc=True)
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_IP4, pkt.ipv4(CLI4, SRV4, 1, pkt.icmp4_echo())), "not_udp", exc=True)
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_IP4, pkt.ipv4(CLI4, SRV4, 6, pkt.tcp_syn(CLI4, SRV4, 40001, 9))), "not_udp", exc=True)
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_IP6, pkt.ipv6(CLI6, SRV6, 58, pkt.icmp6(CLI6, SRV6, 128, 0, b"\0\7\0\1ping"))), "not_udp", exc=True)
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_IP6, pkt.ipv6(CLI6, SRV6, 6, pkt.tcp_syn(CLI6, SRV6, 40002, 9, v6=True))), "not_udp", exc=True)
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_IP4, pkt.ipv4(CLI4, SRV4, 1, pkt.icmp4_echo(), mf=True)), "not_udp", exc=True)
    add(v4(b"dns?", dport=53), "wrong_port", exc=True)
    add(v6(b"dns?", dport=53), "wrong_port", exc=True)
    add(v4(b"x", dport=port + 1, vlans=(100,)), "wrong_port", exc=True)

    # 4. dropped by the fast path
    body = pkt.json_beacon(pkt.beacon_fields("view", now))
    whole = pkt.udp4(CLI4, SRV4, 40000, port, body)
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_IP4, pkt.ipv4(CLI4, SRV4, 17, whole[:96], mf=True, ident=9)), "fragment")
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_IP4, pkt.ipv4(CLI4, SRV4, 17, whole[96:], frag_off=96, ident=9)), "fragment")
    w6 = pkt.udp6(CLI6, SRV6, 40000, port, body)
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_IP6, pkt.ipv6(CLI6, SRV6, 17, w6[:96], ext=[(44, b"\x00\x01\x00\x00\x00\x09")])), "fragment")
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_IP4, pkt.ipv4(CLI4, SRV4, 17, whole, bad_csum=True)), "bad_checksum")
    add(v4(body, csum="bad"), "bad_checksum")
    add(v6(body, csum="bad"), "bad_checksum")
    add(v6(body, csum="zero"), "bad_checksum")
    add(v4(body, csum="bad", vlans=(100,)), "bad_checksum")
    add(b"\x00" * 10, "short")
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_VLAN, b"\x00"), "short")              # cut inside the tag
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_IP4, pkt.ipv4(CLI4, SRV4, 17, whole)[:40]), "short")
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_IP4, pkt.ipv4(CLI4, SRV4, 17, pkt.udp4(CLI4, SRV4, 40000, port, body, ulen=len(body) + 100))), "short")
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_IP6, pkt.ipv6(CLI6, SRV6, 17, w6)[:50]), "short")
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_IP4, pkt.ipv4(CLI4, SRV4, 17, whole, version=5)), "bad_header")
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_IP4, pkt.ipv4(CLI4, SRV4, 17, whole, ihl=4)), "bad_header")
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_IP4, pkt.ipv4(CLI4, SRV4, 17, pkt.udp4(CLI4, SRV4, 40000, port, body, ulen=4))), "bad_header")
    add(pkt.eth(dst, CLI_MAC, pkt.ETH_IP6, pkt.ipv6(CLI6, SRV6, 17, w6, plen=0)), "bad_header")

    # deal: exception frames to queue 0 in order, the rest round-robin
    qs = [[] for _ in range(a.queues)]
    classes = collections.Counter()
    rr = 0
    for fr, cls, q in frames:
        classes[cls] += 1
        if q is None:
            q = rr % a.queues
            rr += 1
        qs[q].append(fr)
    for i, fl in enumerate(qs):
        pkt.write_pcap("%s/rx%d.pcap" % (a.dir, i), fl)
    exp = {"records": records, "classes": classes, "accepted": accepted, "rejected": rejected,
           "frames": len(frames), "jumbo": not a.no_jumbo}
    with open(a.dir + "/expect.json", "w") as f:
        json.dump(exp, f, indent=1)
    print("pcapcase: %d frames (%s), %d valid beacons, %d rejected" %
          (len(frames), ", ".join("%s=%d" % kv for kv in sorted(classes.items())), len(records),
           sum(rejected.values())))


def _big(payload):
    """A > 20480-byte UDP datagram: the one jumbo frame of the pcap, to check
    multi-segment RX and too_large (IPv4 total length caps it at 65535)."""
    u = pkt.udp4(CLI4, SRV4, 40000, _big.port, payload)
    return pkt.eth(_big.dst, CLI_MAC, pkt.ETH_IP4, pkt.ipv4(CLI4, SRV4, 17, u))


def parse_metrics(path):
    import re
    series = []
    for ln in open(path):
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)", ln)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            series.append((m.group(1), labels, float(m.group(3))))
    return series


def msum(series, name, **want):
    return int(sum(v for n, l, v in series if n == name and all(l.get(k) == w for k, w in want.items())))


def verify(a):
    exp = json.load(open(a.expect))
    fails = []

    def fail(m):
        fails.append(m)
        print("pcapcase: FAIL: " + m, file=sys.stderr)

    # Kafka: exactly the valid beacons, once each, with the right topic, key and fields
    got = collections.defaultdict(list)
    n = 0
    for ln in open(a.records, encoding="utf-8"):
        ln = ln.rstrip("\n")
        if not ln:
            continue
        topic, key, val = ln.split("\t", 2)
        r = json.loads(val)
        got[r.get("session_id")].append((topic, key, r))
        n += 1
    want = {r["session_id"]: r for r in exp["records"]}
    for sid, r in want.items():
        g = got.get(sid, [])
        if len(g) != 1:
            fail("%s (session %s): %d record(s) in Kafka, want 1" % (r["what"], sid, len(g)))
            continue
        topic, key, rec = g[0]
        if topic != r["topic"] or key != r["key"]:
            fail("%s: topic/key %s/%s, want %s/%s" % (r["what"], topic, key, r["topic"], r["key"]))
        for k in ("type", "ts", "anon_id", "user_id", "film_id", "source"):
            if rec.get(k) != r[k]:
                fail("%s: %s = %r, want %r" % (r["what"], k, rec.get(k), r[k]))
    extra = [sid for sid in got if sid not in want]
    if extra:
        fail("%d record(s) in Kafka that are no valid beacon of the pcap: sessions %s" % (len(extra), extra[:5]))
    if n != len(want):
        fail("Kafka holds %d records, want %d" % (n, len(want)))

    # counters: the pcap's composition
    s = parse_metrics(a.metrics)
    for cls, v in exp["classes"].items():
        have = msum(s, "beacond_dpdk_rx_packets_total", **{"class": cls})
        if have != v:
            fail("beacond_dpdk_rx_packets_total{class=%s} = %d, want %d" % (cls, have, v))
    tot = msum(s, "beacond_dpdk_rx_packets_total")
    if tot != exp["frames"]:
        fail("frames received %d, want %d" % (tot, exp["frames"]))
    for t, v in exp["accepted"].items():
        have = msum(s, "beacond_beacons_accepted_total", source="udp", type=t)
        if have != v:
            fail("accepted{udp,%s} = %d, want %d" % (t, have, v))
    for r, v in exp["rejected"].items():
        have = msum(s, "beacond_beacons_rejected_total", source="udp", reason=r)
        if have != v:
            fail("rejected{udp,%s} = %d, want %d" % (r, have, v))
    rej_tot = msum(s, "beacond_beacons_rejected_total", source="udp")
    if rej_tot != sum(exp["rejected"].values()):
        fail("rejected{udp} total = %d, want %d" % (rej_tot, sum(exp["rejected"].values())))
    exc = sum(exp["classes"].get(c, 0) for c in ("not_ip", "not_udp", "wrong_port"))
    sent = msum(s, "beacond_dpdk_exception_packets_total", direction="to_kernel", result="sent")
    nopath = msum(s, "beacond_dpdk_exception_packets_total", direction="to_kernel", result="no_path")
    full = msum(s, "beacond_dpdk_exception_packets_total", direction="to_kernel", result="tx_full")
    if sent + nopath + full != exc or full:
        fail("exception path to the kernel: sent %d + no_path %d + tx_full %d, want %d in all, none full"
             % (sent, nopath, full, exc))
    if a.want_exception and sent != exc:
        fail("exception path: %d sent to the TAP, want %d" % (sent, exc))
    if msum(s, "beacond_beacons_dropped_total"):
        fail("beacons dropped (ring full): %d" % msum(s, "beacond_beacons_dropped_total"))
    # busy time: the worker received frames, so some poll was busy; with
    # idle_sleep_us set and the pcap read at once it cannot have been busy
    # for the whole run (a counter stuck at 0, or TSC cycles reported as
    # seconds, fails here)
    busy = {l.get("worker"): v for n, l, v in s if n == "beacond_dpdk_worker_busy_seconds_total"}
    if not busy:
        fail("no beacond_dpdk_worker_busy_seconds_total")
    for w, v in sorted(busy.items()):
        frames = msum(s, "beacond_dpdk_rx_packets_total", worker=w)
        if (frames > 0) != (v > 0) or not 0 <= v < a.max_busy:
            fail("worker %s: busy %r s with %d frames, want > 0 exactly when frames came, < %s s"
                 % (w, v, frames, a.max_busy))
    if exp.get("jumbo", True) and msum(s, "beacond_dpdk_rx_multiseg_total") < 1:
        fail("the jumbo frame was not received as a multi-segment mbuf chain")

    # what the kernel answered through the TAP went out of the port
    if a.tx_pcap:
        out = []
        for p in a.tx_pcap:
            out += pkt.read_pcap(p)
        arp_reply = any(len(f) >= 42 and f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02"
                        and f[28:32] == SRV4 and f[0:6] == CLI_MAC for f in out)
        echo_reply = any(len(f) >= 35 and f[12:14] == b"\x08\x00" and f[23] == 1 and f[34] == 0
                         and f[26:30] == SRV4 and f[30:34] == CLI4 for f in out)
        if not arp_reply:
            fail("no ARP reply for 10.77.0.1 out of the port (%d frames sent)" % len(out))
        if not echo_reply:
            fail("no ICMP echo reply from 10.77.0.1 out of the port (%d frames sent)" % len(out))
    if fails:
        print("pcapcase: %d check(s) failed" % len(fails), file=sys.stderr)
        return 1
    print("pcapcase: Kafka holds exactly the %d valid beacons; every counter matches the pcap" % len(want))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sp = ap.add_subparsers(dest="cmd", required=True)
    g = sp.add_parser("gen")
    g.add_argument("--dir", required=True)
    g.add_argument("--queues", type=int, default=1)
    g.add_argument("--port", type=int, default=7070)
    g.add_argument("--token", required=True)
    g.add_argument("--bad-token", required=True)
    g.add_argument("--dst-mac", required=True)
    g.add_argument("--no-jumbo", action="store_true")
    g.add_argument("--bulk", type=int, default=0)
    v = sp.add_parser("verify")
    v.add_argument("--expect", required=True)
    v.add_argument("--records", required=True)
    v.add_argument("--metrics", required=True)
    v.add_argument("--max-busy", type=float, default=5.0,
                   help="upper bound of the worker's busy seconds (the run's length is more)")
    v.add_argument("--want-exception", action="store_true")
    v.add_argument("--tx-pcap", nargs="*")
    a = ap.parse_args()
    if a.cmd == "gen":
        _big.port, _big.dst = a.port, pkt.mac(a.dst_mac)
        gen(a)
        return 0
    return verify(a)


if __name__ == "__main__":
    sys.exit(main())
