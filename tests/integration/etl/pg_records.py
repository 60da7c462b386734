#!/usr/bin/env python3
"""Records for beacon-etl's PostgreSQL sink test (tests/integration/test_etl_pg.sh), and the
state they must leave in PostgreSQL.

  pg_records.py gen OUT_DIR        write, as key<TAB>value lines for kcat (beacond's record
                                   format, docs/beacon-protocol.md §6):
                                     p1.actions.tsv, p1.views.tsv   the known set (phase 1)
                                     p1b.actions.tsv                written after phase 1 is in:
                                                                    a delete of U1's review by U3
                                                                    (must be ignored), a repeat
                                     p2.NN.{actions,views}.tsv      the stream of phase 2
                                   and counts.env (P1_APPLY: records phase 1 applies).
  pg_records.py verify CONNINFO OUT_DIR PHASES
                                   compare likes, bookmarks, reviews, progress and film_stats
                                   field by field with the last-write-wins model of every record
                                   of the given phases (e.g. "p1,p1b"); exit 1 on a difference.

The model: per key the newest write by (ts, recv_ts, event_id) wins; a review belongs to the
user (and film) of its oldest write; film_stats counts likes (1), dislikes (-1), reviews in
force and their rating sum.  The data avoid what depends on arrival order across partitions
(a foreign write older than the author's first, a finish without a duration).
"""
import csv
import io
import json
import os
import random
import subprocess
import sys

NIL = "00000000-0000-0000-0000-000000000000"
TS0 = 1_760_000_000_000


def uid(kind, n):
    return "%08x-%04x-4000-8000-%012x" % (0x5e000000 + kind, n >> 12 & 0xffff, n)


USERS = [uid(1, i) for i in range(1, 301)]
FILMS = [uid(2, i) for i in range(1, 41)]
U1, U2, U3 = USERS[0], USERS[1], USERS[2]
F1, F2, F3 = FILMS[0], FILMS[1], FILMS[2]
_seq = [0]


def rec(type_, user, film, ts, **kw):
    _seq[0] += 1
    r = {"event_id": "%08x-0000-7000-8000-%012x" % (0x01900000 + _seq[0], random.getrandbits(40)),
         "type": type_, "ts": ts, "recv_ts": ts + 40, "node": "bcn-it", "source": "http",
         "user_id": user, "anon_id": NIL if user != NIL else uid(3, _seq[0]),
         "session_id": NIL, "film_id": film}
    r.update(kw)
    return r


def like(u, f, ts, score):
    return rec("like", u, f, ts, score=score)


def bookmark(u, f, ts, op):
    return rec("bookmark", u, f, ts, op=op)


def review(u, f, ts, op, rid, rating=0, text=""):
    return rec("review", u, f, ts, op=op, review_id=rid, rating=rating, text=text)


def view(u, f, ts, pos, dur):
    return rec("view", u, f, ts, position_ms=pos, duration_ms=dur)


def player(u, f, ts, event, pos, dur):
    return rec("player", u, f, ts, event=event, position_ms=pos, duration_ms=dur, **{"from": "", "to": ""})


TEXT1 = 'Визуально безупречно: "Дюна" стоит большого экрана, {честно} \\ 100% — 🎬\nвторая строка\tтаб'
TEXT2 = 'Edited: NULL, "", {a,b} \\"q\\" 😀 ∑'
R1, R2, R3 = uid(4, 1), uid(4, 2), uid(4, 3)


def phase1():
    a = [like(U1, F1, TS0 + 1000, 1), like(U1, F1, TS0 + 2000, -1),      # change
         like(U2, F1, TS0 + 1000, 1), like(U2, F1, TS0 + 3000, 0),       # remove
         like(U3, F2, TS0 + 1000, 1),
         bookmark(U1, F1, TS0 + 1000, "add"), bookmark(U1, F2, TS0 + 1100, "add"),
         bookmark(U1, F2, TS0 + 1200, "remove"),
         review(U1, F1, TS0 + 1000, "post", R1, 8, TEXT1),
         review(U1, F1, TS0 + 2000, "post", R1, 6, TEXT2),               # edit
         review(U2, F1, TS0 + 1000, "post", R2, 9, "fine"),
         review(U2, F1, TS0 + 2500, "delete", R2),                       # delete
         review(U3, F2, TS0 + 1000, "post", R3, 7, "ok"),
         bookmark(NIL, F1, TS0 + 1000, "add")]                           # anonymous
    v = [view(U1, F1, TS0 + 1000 + i * 10_000, 1000 + i * 1000, 100_000) for i in range(5)]
    v += [view(U2, F2, TS0 + 1000, 50_000, 100_000), player(U2, F2, TS0 + 9000, "finish", 99_000, 100_000)]
    v += [view(U3, F3, TS0 + 1000, 96_000, 100_000), player(U1, F1, TS0 + 99_000, "pause", 5000, 100_000)]
    v += [view(NIL, F1, TS0 + i, i, 100_000) for i in range(5)]
    return a, v


def phase1b(p1_actions):
    again = p1_actions[0]  # the same record once more (a producer retry): changes nothing
    return [review(U3, F1, TS0 + 5000, "delete", R1), again]


def phase2(chunks=12, per=1500):
    out = []
    t = TS0 + 100_000
    rids = {}
    for c in range(chunks):
        a, v = [], []
        for _ in range(per):
            t += 7
            u, f = random.choice(USERS[:200]), random.choice(FILMS)
            x = random.random()
            if x < 0.80:
                dur = 3_600_000
                v.append(view(u, f, t, random.randrange(0, dur), dur))
            elif x < 0.83:
                v.append(player(u, f, t, "finish", 3_500_000, 3_600_000))
            elif x < 0.86:
                v.append(player(u, f, t, "seek", 1000, 3_600_000))
            elif x < 0.88:
                v.append(view(NIL, f, t, 1000, 3_600_000))
            elif x < 0.93:
                a.append(like(u, f, t, random.choice([1, -1, 0])))
            elif x < 0.96:
                a.append(bookmark(u, f, t, random.choice(["add", "remove"])))
            else:
                rid = rids.setdefault((u, f), uid(5, len(rids) + 1))
                if random.random() < 0.2:
                    a.append(review(u, f, t, "delete", rid))
                else:
                    a.append(review(u, f, t, "post", rid, random.randint(1, 10),
                                    random.choice(["good", 'a "quoted", {braced} \\ one', "хорошо 👍", ""]) or "x"))
        out.append((a, v))
    return out


def line(r):
    key = r["user_id"] if r["user_id"] != NIL else r["anon_id"]
    return key + "\t" + json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n"


def write(path, recs, extra_lines=()):
    with open(path, "w") as f:
        for r in recs:
            f.write(line(r))
        for x in extra_lines:
            f.write(x)


def gen(out):
    random.seed(7)
    a, v = phase1()
    # an ASCII-escaped text too (\uXXXX, surrogate pairs), and malformed records
    rj = review(U3, F3, TS0 + 1000, "post", uid(4, 9), 5, TEXT1)
    esc = U3 + "\t" + json.dumps(rj, ensure_ascii=True, separators=(",", ":")) + "\n"
    bad = [U1 + '\t{"type":"like","user_id":\n',
           U1 + '\t' + json.dumps(like("not-a-uuid", F1, TS0, 1)) + "\n"]
    write(os.path.join(out, "p1.actions.tsv"), a, [esc] + bad)
    write(os.path.join(out, "p1.views.tsv"), v)
    recs = {"p1": a + v + [rj]}
    b = phase1b(a)
    write(os.path.join(out, "p1b.actions.tsv"), b)
    recs["p1b"] = b
    p2 = []
    for i, (ca, cv) in enumerate(phase2()):
        write(os.path.join(out, "p2.%02d.actions.tsv" % i), ca)
        write(os.path.join(out, "p2.%02d.views.tsv" % i), cv)
        p2 += ca + cv
    recs["p2"] = p2
    with open(os.path.join(out, "records.json"), "w") as f:
        json.dump(recs, f)
    applies = sum(1 for r in recs["p1"] if applied(r))
    with open(os.path.join(out, "counts.env"), "w") as f:
        f.write("P1_APPLY=%d\nP1B_APPLY=%d\nP2_APPLY=%d\n" % (
            applies, sum(1 for r in b if applied(r)), sum(1 for r in p2 if applied(r))))


def applied(r):
    if r["user_id"] == NIL or "-" not in r["user_id"] or len(r["user_id"]) != 36:
        return False
    return r["type"] in ("like", "bookmark", "review", "view") or (r["type"] == "player" and r["event"] == "finish")


def key(r):
    return (r["ts"], r["recv_ts"], r["event_id"])


def model(recs):
    likes, bms, revs, prog, owner = {}, {}, {}, {}, {}
    for r in sorted((r for r in recs if applied(r)), key=key):
        t = r["type"]
        row = {"ts": r["ts"], "recv_ts": r["recv_ts"], "event_id": r["event_id"]}
        if t == "like":
            likes[(r["user_id"], r["film_id"])] = dict(row, score=r["score"])
        elif t == "bookmark":
            bms[(r["user_id"], r["film_id"])] = dict(row, active=r["op"] == "add")
        elif t == "review":
            o = owner.setdefault(r["review_id"], (r["user_id"], r["film_id"]))
            if o != (r["user_id"], r["film_id"]):
                continue
            d = r["op"] == "delete"
            revs[r["review_id"]] = dict(row, film_id=r["film_id"], user_id=r["user_id"],
                                        rating=0 if d else r["rating"], text="" if d else r["text"], deleted=d)
        else:
            fin = t == "player"
            pos, dur = r["position_ms"], r["duration_ms"]
            prog[(r["user_id"], r["film_id"])] = dict(row, position_ms=pos, duration_ms=dur,
                                                      finished=fin or (dur > 0 and pos * 20 >= dur * 19))
    stats = {}
    for (u, f), l in likes.items():
        s = stats.setdefault(f, [0, 0, 0, 0])
        s[0] += l["score"] == 1
        s[1] += l["score"] == -1
    for rv in revs.values():
        if not rv["deleted"]:
            s = stats.setdefault(rv["film_id"], [0, 0, 0, 0])
            s[2] += 1
            s[3] += rv["rating"]
    return likes, bms, revs, prog, {f: s for f, s in stats.items() if any(s)}


def q(conninfo, sql):
    out = subprocess.run(["psql", conninfo, "-X", "--csv", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


def b(x):
    return x == "t"


def verify(conninfo, out, phases):
    recs = json.load(open(os.path.join(out, "records.json")))
    allr = [r for p in phases.split(",") for r in recs[p]]
    likes, bms, revs, prog, stats = model(allr)
    bad = []

    def cmp(name, want, got):
        if want != got:
            miss = [k for k in want if k not in got][:3]
            extra = [k for k in got if k not in want][:3]
            diff = [(k, want[k], got[k]) for k in want if k in got and want[k] != got[k]][:3]
            bad.append("%s: %d rows wanted, %d found; missing %s; unexpected %s; differ %s" % (
                name, len(want), len(got), miss, extra, diff))
        else:
            print("pg_records: %s: %d rows as expected" % (name, len(want)))

    cmp("likes", likes, {(r["user_id"], r["film_id"]): {"ts": int(r["ts"]), "recv_ts": int(r["recv_ts"]),
        "event_id": r["event_id"], "score": int(r["score"])} for r in q(conninfo, "SELECT * FROM likes")})
    cmp("bookmarks", bms, {(r["user_id"], r["film_id"]): {"ts": int(r["ts"]), "recv_ts": int(r["recv_ts"]),
        "event_id": r["event_id"], "active": b(r["active"])} for r in q(conninfo, "SELECT * FROM bookmarks")})
    cmp("reviews", revs, {r["review_id"]: {"ts": int(r["ts"]), "recv_ts": int(r["recv_ts"]),
        "event_id": r["event_id"], "film_id": r["film_id"], "user_id": r["user_id"],
        "rating": int(r["rating"]), "text": r["text"], "deleted": b(r["deleted"])}
        for r in q(conninfo, "SELECT * FROM reviews")})
    cmp("progress", prog, {(r["user_id"], r["film_id"]): {"ts": int(r["ts"]), "recv_ts": int(r["recv_ts"]),
        "event_id": r["event_id"], "position_ms": int(r["position_ms"]), "duration_ms": int(r["duration_ms"]),
        "finished": b(r["finished"])} for r in q(conninfo, "SELECT * FROM progress")})
    got = {r["film_id"]: [int(r["likes"]), int(r["dislikes"]), int(r["reviews"]), int(r["rating_sum"])]
           for r in q(conninfo, "SELECT * FROM film_stats")}
    cmp("film_stats", stats, {f: s for f, s in got.items() if any(s)})
    if any(v < 0 for s in got.values() for v in s):
        bad.append("film_stats: a negative counter")
    for x in bad:
        print("pg_records: DIFF " + x)
    return 1 if bad else 0


def bench(out, n):
    """perf/bench_etl_pg.sh: n records, the mix of `make run`'s audience (2,000 users, 200
    films): mostly registered users' heartbeats."""
    random.seed(11)
    users = [uid(6, i) for i in range(1, 2001)]
    films = [uid(7, i) for i in range(1, 201)]
    t = TS0
    with open(os.path.join(out, "bench.views.tsv"), "w") as fv, open(os.path.join(out, "bench.actions.tsv"), "w") as fa:
        for i in range(n):
            t += 3
            u, f, x = random.choice(users), random.choice(films), random.random()
            if x < 0.85:
                fv.write(line(view(u, f, t, random.randrange(0, 3_600_000), 3_600_000)))
            elif x < 0.90:
                fv.write(line(view(NIL, f, t, 1000, 3_600_000)))
            elif x < 0.93:
                fv.write(line(player(u, f, t, random.choice(["finish", "pause", "seek"]), 1000, 3_600_000)))
            elif x < 0.97:
                fa.write(line(like(u, f, t, random.choice([1, -1, 0]))))
            elif x < 0.99:
                fa.write(line(bookmark(u, f, t, random.choice(["add", "remove"]))))
            else:
                fa.write(line(review(u, f, t, "post", uid(8, users.index(u) * 1000 + films.index(f)),
                                     random.randint(1, 10), "a review, \"quoted\" — хорошо")))


if __name__ == "__main__":
    if sys.argv[1] == "bench":
        bench(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "gen":
        gen(sys.argv[2])
    elif sys.argv[1] == "verify":
        sys.exit(verify(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        sys.exit("usage: pg_records.py gen OUT_DIR | verify CONNINFO OUT_DIR PHASES")
