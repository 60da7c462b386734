#!/usr/bin/env python3
"""gen_records.py - normalized beacon records (docs/beacon-protocol.md s.6),
as beacond would produce them, for beacon-etl's tests and benchmarks.

  gen_records.py --count N [--seed S] [--out-dir DIR] [--mix view=60,...]
                 [--poison K] [--start-id I]

Writes DIR/ugc.views.tsv, DIR/ugc.events.tsv, DIR/ugc.actions.tsv: one
"key<TAB>value" line per record (kcat -P -K '\\t' -l FILE), keys = user_id
else anon_id as beacond does.  event_ids are unique across runs with
different --start-id.  --poison K adds K records per topic that ClickHouse
must refuse (a non-UUID film_id, a string in a numeric column) and writes
their event_ids to DIR/poison.ids; plus K unroutable ones per topic (broken
JSON, unknown type) listed in DIR/unroutable.count.  Prints the number of
valid records per table on stdout as "table count" lines.
"""
import argparse, json, os, random, uuid

TYPES = ["view", "player", "page", "action", "like", "review", "bookmark"]
TOPIC = {"view": "ugc.views", "player": "ugc.views", "page": "ugc.events", "action": "ugc.events",
         "like": "ugc.actions", "review": "ugc.actions", "bookmark": "ugc.actions"}
TABLE = {"view": "views", "player": "player_events", "page": "page_views", "action": "actions",
         "like": "likes", "review": "reviews", "bookmark": "bookmarks"}
NIL = "00000000-0000-0000-0000-000000000000"
EVENTS = ["open", "play", "pause", "resume", "seek", "quality_change", "audio_change",
          "subtitle_change", "buffering", "error", "finish", "close"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out-dir", default=".")
    ap.add_argument("--mix", default="view=60,player=15,page=10,action=5,like=5,review=2,bookmark=3")
    ap.add_argument("--poison", type=int, default=0)
    ap.add_argument("--start-id", type=int, default=0)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    w = {k: 0 for k in TYPES}
    for kv in a.mix.split(","):
        k, v = kv.split("=")
        w[k] = int(v)
    types = [t for t in TYPES if w[t]]
    weights = [w[t] for t in types]
    films = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(500)]
    users = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(1000)]
    anons = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(5000)]
    os.makedirs(a.out_dir, exist_ok=True)
    out = {t: open(os.path.join(a.out_dir, t + ".tsv"), "w", encoding="utf-8")
           for t in ("ugc.views", "ugc.events", "ugc.actions")}
    counts = {t: 0 for t in TABLE.values()}
    base_ms = 1732265687000
    node = "it-node"

    def eid(i):
        # UUIDv7 layout: 48-bit ms | 7 | seq | variant | node | worker | random
        ms = base_ms + i // 4096
        return "%08x-%04x-7%03x-8%03x-%012x" % (ms >> 16, ms & 0xffff, i % 4096,
                                                 (a.seed & 0xfff), (a.start_id + i) & 0xffffffffffff)

    def record(i, t):
        auth = t in ("like", "review", "bookmark") or rnd.random() < 0.3
        user = rnd.choice(users) if auth else NIL
        anon = NIL if (auth and rnd.random() < 0.5) else rnd.choice(anons)
        r = {"event_id": eid(i), "type": t, "ts": base_ms + i, "recv_ts": base_ms + i + 41,
             "node": node, "source": rnd.choice(["udp", "http"]), "user_id": user, "anon_id": anon,
             "session_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)) if rnd.random() < 0.8 else NIL,
             "film_id": rnd.choice(films) if t not in ("page", "action") or rnd.random() < 0.5 else NIL}
        if t == "view":
            d = rnd.randrange(60000, 10800000)
            r.update(position_ms=rnd.randrange(0, d), duration_ms=d)
        elif t == "player":
            d = rnd.choice([0, rnd.randrange(60000, 10800000)])
            ev = rnd.choice(EVENTS)
            fr, to = ("", "")
            if ev == "quality_change":
                fr, to = "720p", "1080p"
            elif ev in ("audio_change", "subtitle_change"):
                fr, to = "ru", "en"
            r.update(event=ev, position_ms=rnd.randrange(0, d or 5000000), duration_ms=d,
                     **{"from": fr, "to": to})
        elif t == "page":
            r.update(url="https://cinema.example/films/%s?p=%d" % (r["film_id"], rnd.randrange(100)),
                     referrer=rnd.choice(["", "https://cinema.example/search?q=dune",
                                          "https://cinema.example/"]))
        elif t == "action":
            r.update(key=rnd.choice(["trailer_click", "share", "subscribe"]),
                     value=rnd.choice(["hero_banner", "", "sidebar \"x\" \\ y"]))
        elif t == "like":
            r.update(score=rnd.choice([-1, 0, 1]))
        elif t == "review":
            op = rnd.choice(["post", "post", "delete"])
            text = ""
            if op == "post":
                text = rnd.choice(["Визуально безупречно: \"Дюна\" стоит большого экрана.",
                                   "ok", "line1\nline2\ttab 🎬", "ctl \x01\x1f\u2028 \\u0041 end"]) * rnd.randrange(1, 4)
            r.update(op=op, review_id=str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
                     rating=rnd.randrange(1, 11) if op == "post" else 0, text=text)
        elif t == "bookmark":
            r.update(op=rnd.choice(["add", "remove"]))
        key = user if user != NIL else anon
        return key, r

    poison_ids = []
    n_unroutable = 0
    i = 0
    for _ in range(a.count):
        t = rnd.choices(types, weights)[0]
        key, r = record(i, t)
        i += 1
        out[TOPIC[t]].write(key + "\t" + json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
        counts[TABLE[t]] += 1
    for topic, ts in (("ugc.views", ["view", "player"]), ("ugc.events", ["page", "action"]),
                      ("ugc.actions", ["like", "review", "bookmark"])):
        if not any(w[x] for x in ts):
            continue
        for k in range(a.poison):
            t = [x for x in ts if w[x]][k % len([x for x in ts if w[x]])]
            key, r = record(i, t)
            i += 1
            if k % 2:
                r["film_id"] = "not-a-uuid"
            else:
                r["ts"] = "yesterday"
            poison_ids.append(r["event_id"])
            out[topic].write(key + "\t" + json.dumps(r, separators=(",", ":")) + "\n")
            bad = ['{"type":"%s","event_id":"x"' % t, '{"type":"click","ts":1}',
                   '{"type":"%s","a":{"b":1}}' % t, 'not json at all'][k % 4]
            out[topic].write(key + "\t" + bad + "\n")
            n_unroutable += 1
    for f in out.values():
        f.close()
    if a.poison:
        with open(os.path.join(a.out_dir, "poison.ids"), "w") as f:
            f.write("\n".join(poison_ids) + "\n")
        with open(os.path.join(a.out_dir, "unroutable.count"), "w") as f:
            f.write("%d\n" % n_unroutable)
    for t, c in counts.items():
        print(t, c)


if __name__ == "__main__":
    main()
