#!/usr/bin/env python3
"""Hand-made beacons of every type through beacond, and their check in Kafka.

  e2e.py send  --udp PORT --http PORT --token T --expired E --out EXPECT.json
  e2e.py verify --expect EXPECT.json --records RECORDS.tsv [--meta FILE...]

`send` sends each case (UDP datagrams and HTTP requests), checks every HTTP
answer on the spot (status, body), and writes what Kafka must hold.
`verify` reads the topics as dumped by kcat (`topic<TAB>key<TAB>value` per
line) and checks: every expected record is there exactly once with the right
topic, key and fields; no record of a rejected case is there; event_ids are
unique; with --meta (beacon-blast --dump-meta files) the (type, key) multiset
of the valid blasted beacons is there too, and nothing else.
Exit 0 if all checks pass, 1 otherwise (each failure printed).
"""
import argparse, collections, http.client, json, socket, sys, time, uuid

TOPIC = {"view": "ugc.views", "player": "ugc.views", "page": "ugc.events",
         "action": "ugc.events", "like": "ugc.actions", "review": "ugc.actions",
         "bookmark": "ugc.actions"}
NIL = "00000000-0000-0000-0000-000000000000"
SUB = "7f9c1e2a-0000-4000-8000-000000000001"   # the tokens' user
fails = []


def fail(msg):
    fails.append(msg)
    print("e2e: FAIL: " + msg, file=sys.stderr)


def u():
    return str(uuid.uuid4())


def cases(token, expired):
    """(name, transport, body/bytes, auth header or None, expected status or None,
    expected records: list of dicts of fields that must match)"""
    now = int(time.time() * 1000)
    C = []

    def add(name, transport, beacons, auth=None, status=None, reason=None, accept=None):
        C.append(dict(name=name, transport=transport, beacons=beacons, auth=auth,
                      status=status, reason=reason, accept=accept))

    a, f, s = u(), u(), u()
    view = {"type": "view", "ts": now, "anon_id": a, "session_id": s, "film_id": f,
            "position_ms": 754000, "duration_ms": 5820000}
    add("udp view anon", "udp", [view], accept=[True])
    f2 = u()
    player = {"type": "player", "ts": now, "anon_id": a, "film_id": f2, "event": "quality_change",
              "position_ms": 1312500, "from": "720p", "to": "1080p"}
    add("udp player quality_change", "udp", [player], accept=[True])
    f3 = u()
    page = {"type": "page", "ts": now, "anon_id": a, "url": "https://cinema.example/films/" + f3,
            "referrer": "https://cinema.example/search?q=dune", "film_id": f3}
    add("udp page", "udp", [page], accept=[True])
    a4 = u()
    action = {"type": "action", "ts": now, "anon_id": a4, "key": "trailer_click", "value": "hero_banner"}
    add("udp action", "udp", [action], accept=[True])
    f5 = u()
    like = {"type": "like", "ts": now, "film_id": f5, "score": -1, "token": token}
    add("udp like with token field", "udp", [like], accept=[True])
    add("udp like without token", "udp", [{"type": "like", "ts": now, "film_id": u(), "score": 1}],
        accept=[False])
    add("udp bad uuid", "udp", [dict(view, anon_id="not-a-uuid", film_id=u())], accept=[False])
    add("udp malformed", "udp", [b'{"type":"view",'], accept=[False])
    f9, r9 = u(), u()
    text = "Визуально безупречно: \"Дюна\" стоит большого экрана.\n\tновая строка"
    review = {"type": "review", "ts": now, "op": "post", "film_id": f9, "review_id": r9,
              "rating": 9, "text": text}
    add("http review post", "http", [review], auth="Bearer " + token, status=204, accept=[True])
    f10 = u()
    add("http bookmark add", "http", [{"type": "bookmark", "ts": now, "op": "add", "film_id": f10}],
        auth="Bearer " + token, status=204, accept=[True])
    add("http like without token", "http", [{"type": "like", "ts": now, "film_id": u(), "score": 1}],
        status=401, reason="auth_required", accept=[False])
    add("http like expired token", "http", [{"type": "like", "ts": now, "film_id": u(), "score": 1}],
        auth="Bearer " + expired, status=401, reason="expired_token", accept=[False])
    add("http like bad auth scheme", "http", [{"type": "like", "ts": now, "film_id": u(), "score": 1}],
        auth="Basic dXNlcjpwYXNz", status=401, reason="bad_token", accept=[False])
    fa, fb, fc = u(), u(), u()
    add("http ndjson 3 lines, one bad", "http",
        [dict(view, film_id=fa), dict(player, film_id=fb, event="teleport"), dict(page, film_id=fc)],
        status=400, reason="bad_enum", accept=[True, False, True])
    fd = u()
    add("http review delete + anon view in one body", "http",
        [{"type": "review", "ts": now, "op": "delete", "film_id": fd, "review_id": u()},
         dict(view, film_id=u())], auth="Bearer " + token, status=204, accept=[True, True])
    return C


def post(port, body, auth=None, method="POST", path="/v1/beacons"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    h = {"Content-Type": "application/x-ndjson"}
    if auth:
        h["Authorization"] = auth
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data, r


def encode(b):
    return b if isinstance(b, bytes) else json.dumps(b, ensure_ascii=False).encode()


def send(args):
    C = cases(args.token, args.expired)
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    expect = []
    for c in C:
        if c["transport"] == "udp":
            for b in c["beacons"]:
                us.sendto(encode(b), ("127.0.0.1", args.udp))
        else:
            body = b"\n".join(encode(b) for b in c["beacons"]) + b"\n"
            st, data, _ = post(args.http, body, c["auth"])
            if st != c["status"]:
                fail("%s: status %d, want %d (%r)" % (c["name"], st, c["status"], data[:200]))
            if c["reason"]:
                try:
                    j = json.loads(data)
                    reasons = [e["reason"] for e in j["errors"]]
                    if c["reason"] not in reasons:
                        fail("%s: reasons %r lack %s" % (c["name"], reasons, c["reason"]))
                    if st == 400 and j["accepted"] != sum(c["accept"]):
                        fail("%s: accepted %d, want %d" % (c["name"], j["accepted"], sum(c["accept"])))
                    lines = [e["line"] for e in j["errors"]]
                    want = [i + 1 for i, ok in enumerate(c["accept"]) if not ok]
                    if lines != want:
                        fail("%s: rejected lines %r, want %r" % (c["name"], lines, want))
                except (ValueError, KeyError) as e:
                    fail("%s: bad error body %r: %s" % (c["name"], data[:200], e))
        for b, ok in zip(c["beacons"], c["accept"]):
            if isinstance(b, bytes):
                b = {"type": "?"}
            exp = {k: v for k, v in b.items() if k != "token"}
            exp["source"] = c["transport"]
            if b.get("token") or (c["auth"] and c["auth"].startswith("Bearer")):
                exp["user_id"] = SUB
            expect.append({"case": c["name"], "accept": ok, "fields": exp})
    # HTTP edge cases that must not reach Kafka
    st, _, r = post(args.http, b"", method="GET")
    if st != 405:
        fail("GET /v1/beacons: %d, want 405" % st)
    st, _, _ = post(args.http, b"{}", path="/v2/nope")
    if st != 404:
        fail("POST /v2/nope: %d, want 404" % st)
    one = json.dumps({"type": "view", "ts": 1, "anon_id": u()}).encode()
    st, _, _ = post(args.http, b"\n".join([one] * 1001))
    if st != 413:
        fail("1001 lines: %d, want 413" % st)
    st, _, _ = post(args.http, b" " * (300 * 1024))
    if st != 413:
        fail("300 KiB body: %d, want 413" % st)
    st, data, _ = post(args.http, b"\n\n")
    if st != 400:
        fail("blank body: %d, want 400" % st)
    json.dump(expect, open(args.out, "w"), ensure_ascii=False)
    print("e2e: sent %d cases, %d beacons" % (len(C), len(expect)))


def verify(args):
    expect = json.load(open(args.expect))
    recs = []
    for ln in open(args.records, encoding="utf-8"):
        ln = ln.rstrip("\n")
        if not ln:
            continue
        topic, key, val = ln.split("\t", 2)
        recs.append((topic, key, json.loads(val)))
    ids = collections.Counter(r["event_id"] for _, _, r in recs)
    dup = [i for i, n in ids.items() if n > 1]
    if dup:
        fail("%d duplicate event_ids, e.g. %s" % (len(dup), dup[0]))
    for t, k, r in recs:
        if TOPIC.get(r["type"]) != t:
            fail("record of type %s on topic %s" % (r["type"], t))
        want_key = r["user_id"] if r["user_id"] != NIL else r["anon_id"]
        if k != want_key:
            fail("record %s: key %s, want %s" % (r["event_id"], k, want_key))
        if r["node"] != "it-node":
            fail("record %s: node %r" % (r["event_id"], r["node"]))
        # beacon-blast's viewing sessions keep their own clock, up to a
        # film's length (< 4 h) in the past: within the 24 h skew window
        if not (r["recv_ts"] - 4 * 3600000 <= r["ts"] <= r["recv_ts"] + 600000):
            fail("record %s: ts %d far from recv_ts %d" % (r["event_id"], r["ts"], r["recv_ts"]))
        if r["event_id"][14] != "7":
            fail("event_id %s is not UUIDv7-shaped" % r["event_id"])
    by_film = collections.defaultdict(list)
    for t, k, r in recs:
        by_film[(r["type"], r["film_id"], r["anon_id"])].append(r)
    matched = set()
    for e in expect:
        f = e["fields"]
        key = (f.get("type"), f.get("film_id", NIL), f.get("anon_id", NIL))
        got = by_film.get(key, [])
        if not e["accept"]:
            if got and f.get("type") != "?":
                fail("%s: rejected beacon reached Kafka" % e["case"])
            continue
        if len(got) != 1:
            fail("%s: %d records for %s, want 1" % (e["case"], len(got), key))
            continue
        r = got[0]
        matched.add(r["event_id"])
        for k, v in f.items():
            if r.get(k) != v:
                fail("%s: field %s = %r, want %r" % (e["case"], k, r.get(k), v))
    # blasted beacons: (type, key) multiset of the valid ones
    if args.meta:
        want = collections.Counter()
        for m in args.meta:
            for ln in open(m):
                p = ln.split()
                if len(p) >= 4 and p[1] == "valid":
                    want[(p[2], p[3])] += 1
        have = collections.Counter((r["type"], k) for t, k, r in recs if r["event_id"] not in matched)
        if want != have:
            missing = want - have
            extra = have - want
            fail("blast: %d expected records missing, %d unexpected (of %d expected, %d seen); "
                 "e.g. missing %s extra %s" % (sum(missing.values()), sum(extra.values()),
                                               sum(want.values()), sum(have.values()),
                                               list(missing)[:2], list(extra)[:2]))
    print("e2e: %d records in Kafka, %d hand-made expected, %d failures" %
          (len(recs), sum(e["accept"] for e in expect), len(fails)))


def main():
    ap = argparse.ArgumentParser()
    sp = ap.add_subparsers(dest="cmd", required=True)
    s = sp.add_parser("send")
    s.add_argument("--udp", type=int, required=True)
    s.add_argument("--http", type=int, required=True)
    s.add_argument("--token", required=True)
    s.add_argument("--expired", required=True)
    s.add_argument("--out", required=True)
    v = sp.add_parser("verify")
    v.add_argument("--expect", required=True)
    v.add_argument("--records", required=True)
    v.add_argument("--meta", nargs="*")
    a = ap.parse_args()
    (send if a.cmd == "send" else verify)(a)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
