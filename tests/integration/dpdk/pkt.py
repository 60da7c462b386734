#!/usr/bin/env python3
"""Frames, beacons and pcap files for the DPDK driver's tests and benchmarks.

Plain python3 (struct): no scapy.  Imported by pcapcase.py, netns_client.py
and perf/bench_dpdk.sh's generator; it only builds bytes.

  eth(dst, src, ethertype, payload, vlans=())        Ethernet II (+ 802.1Q/802.1ad tags)
  ipv4(src, dst, proto, payload, ...)                 with options, fragments, bad checksum
  ipv6(src, dst, nh, payload, ext=())                 with extension headers
  udp4/udp6(src, dst, sport, dport, payload, csum=)   csum: "ok" | "zero" | "bad"
  json_beacon(...) / bin_beacon(...)                  beacons of the contract v1
  write_pcap(path, frames)
"""
import json
import struct
import uuid

ETH_IP4, ETH_IP6, ETH_ARP, ETH_VLAN, ETH_QINQ, ETH_LLDP = 0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8, 0x88CC


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def ip6(s):
    import ipaddress
    return ipaddress.IPv6Address(s).packed


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(dst, src, ethertype, payload, vlans=()):
    h = dst + src
    for i, vid in enumerate(vlans):
        tpid = ETH_QINQ if (i == 0 and len(vlans) > 1) else ETH_VLAN
        h += struct.pack("!HH", tpid, vid)
    return h + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, opts=b"", ident=1, mf=False, frag_off=0, bad_csum=False,
         tot_len=None, version=4, ihl=None, ttl=64):
    if ihl is None:
        ihl = 5 + len(opts) // 4
    tl = tot_len if tot_len is not None else 20 + len(opts) + len(payload)
    flags = (0x2000 if mf else 0) | (frag_off // 8)
    h = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, tl, ident, flags, ttl, proto, 0, src, dst) + opts
    c = csum(h)
    if bad_csum:
        c ^= 0x5A5A
    h = h[:10] + struct.pack("!H", c) + h[12:]
    return h + payload


def ipv6(src, dst, nh, payload, ext=(), plen=None, version=6):
    """ext: list of (type, bytes) extension headers, in order; each body is
    padded to a multiple of 8 with its next-header byte filled in."""
    chain = b""
    types = [t for t, _ in ext] + [nh]
    for i, (t, body) in enumerate(ext):
        nxt = types[i + 1]
        if t == 44:  # fragment header: fixed 8 bytes
            chain += bytes([nxt, 0]) + body[:6].ljust(6, b"\0")
            continue
        raw = body
        total = 2 + len(raw)
        pad = (-total) % 8
        total += pad
        chain += bytes([nxt, total // 8 - 1]) + raw + b"\0" * pad
    first = types[0]
    pl = plen if plen is not None else len(chain) + len(payload)
    h = struct.pack("!IHBB16s16s", (version << 28), pl, first, 64, src, dst)
    return h + chain + payload


def _udp(pseudo, sport, dport, payload, csum_mode, ulen=None):
    ln = ulen if ulen is not None else 8 + len(payload)
    h = struct.pack("!HHHH", sport, dport, ln, 0)
    if csum_mode == "zero":
        c = 0
    else:
        c = csum(pseudo + h + payload)
        if c == 0:
            c = 0xFFFF
        if csum_mode == "bad":
            c ^= 0x1234
    return h[:6] + struct.pack("!H", c) + payload


def udp4(src, dst, sport, dport, payload, csum="ok", ulen=None):
    ln = ulen if ulen is not None else 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, ln)
    return _udp(pseudo, sport, dport, payload, csum, ulen)


def udp6(src, dst, sport, dport, payload, csum="ok", ulen=None):
    ln = ulen if ulen is not None else 8 + len(payload)
    pseudo = src + dst + struct.pack("!I3xB", ln, 17)
    return _udp(pseudo, sport, dport, payload, csum, ulen)


def icmp4_echo(ident=7, seq=1, data=b"ping" * 8):
    h = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    return h[:2] + struct.pack("!H", csum(h)) + h[4:]


def icmp6(src, dst, typ, code, body):
    h = struct.pack("!BBH", typ, code, 0) + body
    pseudo = src + dst + struct.pack("!I3xB", len(h), 58)
    return h[:2] + struct.pack("!H", csum(pseudo + h)) + h[4:]


def tcp_syn(src, dst, sport, dport, v6=False):
    h = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, 0x02, 65535, 0, 0)
    if v6:
        pseudo = src + dst + struct.pack("!I3xB", len(h), 6)
    else:
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(h))
    return h[:16] + struct.pack("!H", csum(pseudo + h)) + h[18:]


def arp_request(smac, sip, tip):
    return struct.pack("!HHBBH6s4s6s4s", 1, ETH_IP4, 6, 4, 1, smac, sip, b"\0" * 6, tip)


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i // 1000000, i % 1000000, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    out = []
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            return out
        magic = struct.unpack("<I", hdr[:4])[0]
        e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                break
            _, _, incl, _ = struct.unpack(e + "IIII", rh)
            out.append(f.read(incl))
    return out


# ---- beacons --------------------------------------------------------------------

TYPES = ["view", "player", "page", "action", "like", "review", "bookmark"]
TYPE_NO = {t: i + 1 for i, t in enumerate(TYPES)}
AUTH_TYPES = ("like", "review", "bookmark")
TOPIC = {"view": "ugc.views", "player": "ugc.views", "page": "ugc.events",
         "action": "ugc.events", "like": "ugc.actions", "review": "ugc.actions",
         "bookmark": "ugc.actions"}


def beacon_fields(typ, now, token=None, session=None, anon=None, film=None, pad=0):
    """A valid beacon of typ as a dict (the JSON form's keys)."""
    session = session or str(uuid.uuid4())
    film = film or str(uuid.uuid4())
    b = {"type": typ, "ts": now, "session_id": session}
    if typ not in AUTH_TYPES:
        b["anon_id"] = anon or str(uuid.uuid4())
    if typ == "view":
        b.update(film_id=film, position_ms=754000, duration_ms=5820000)
    elif typ == "player":
        b.update(film_id=film, event="quality_change", position_ms=1312500, **{"from": "720p", "to": "1080p"})
    elif typ == "page":
        b.update(url="https://cinema.example/films/" + film + "?p=" + "x" * pad,
                 referrer="https://cinema.example/search?q=dune")
    elif typ == "action":
        b.update(key="trailer_click", value="hero_banner")
    elif typ == "like":
        b.update(film_id=film, score=1)
    elif typ == "review":
        b.update(op="post", film_id=film, review_id=str(uuid.uuid4()), rating=9,
                 text="Визуально безупречно: \"Дюна\" стоит большого экрана.")
    elif typ == "bookmark":
        b.update(film_id=film, op="add")
    if typ in AUTH_TYPES:
        b["token"] = token
    return b


def json_beacon(b):
    return json.dumps(b, separators=(",", ":"), ensure_ascii=False).encode()


EVENTS = ["open", "play", "pause", "resume", "seek", "quality_change", "audio_change",
          "subtitle_change", "buffering", "error", "finish", "close"]
OPS = {"post": 1, "delete": 2, "add": 3, "remove": 4}


def bin_beacon(b, version=1):
    """The binary v1 form of a beacon dict made by beacon_fields."""
    typ = b["type"]
    flags, uuids = 0, []
    for bit, k in ((1, "anon_id"), (2, "session_id"), (4, "film_id"), (8, "review_id")):
        if k in b:
            flags |= bit
            uuids.append(uuid.UUID(b[k]).bytes)
    pos = dur = 0
    if "position_ms" in b:
        flags |= 0x10
        pos = b["position_ms"]
    if "duration_ms" in b:
        flags |= 0x20
        dur = b["duration_ms"]
    ev = EVENTS.index(b["event"]) + 1 if "event" in b else OPS.get(b.get("op"), 0)
    score = b.get("score", 0)
    rating = b.get("rating", 0)
    strs = {"player": ("from", "to"), "page": ("url", "referrer"), "action": ("key", "value"),
            "review": ("text",)}.get(typ, ())
    tok = (b.get("token") or "").encode()
    h = struct.pack("<2sBBBbBBqBBHII", b"BC", version, TYPE_NO[typ], ev, score, rating, 0, b["ts"],
                    flags, 0, len(tok), pos, dur)
    body = b"".join(uuids)
    for k in strs:
        s = b.get(k, "").encode()
        body += struct.pack("<H", len(s)) + s
    return h + body + tok
