#!/usr/bin/env python3
"""Deterministic synthetic beacond records for the ClickHouse tests.

    gen_records.py OUTDIR [--seed N] [--users N] [--films N]

Writes OUTDIR/<table>.<n>.json: insert batches of normalized records, one JSON object per
line, exactly as beacond produces them (docs/beacon-protocol.md §6: every key, nil UUID /
"" / 0 for absent values, lowercase UUIDs, UUIDv7-layout event_id), in the order an ETL
would insert them.  Batches repeat some records on purpose, to prove the answers are
duplicate-safe:
  - <table>.3.json is byte-for-byte <table>.2.json: a retried batch (identical block);
  - <table>.4.json holds new records mixed with ~10 % re-sent earlier ones (one of them twice).
Also writes OUTDIR/manifest.json: {"tables": {table: [batch files]}, "records": n, "dups": n}.

The audience: authenticated and anonymous viewers watch short films in sessions (open, play,
heartbeats every 10-30 s at 1x or 1.5x, pauses, seeks forward and back, lost heartbeats,
quality/audio/subtitle switches, buffering, errors, finish, close), some resume later,
some sessions have no session_id and some player events no duration; users like, dislike
and remove likes (with exact ts ties), post, edit and delete reviews (plus a delete by a
non-author), add and remove bookmarks; everyone views pages and triggers actions.  The
times straddle a UTC month boundary so that two monthly partitions exist.
"""
import argparse
import json
import os
import random
import uuid

NIL = "00000000-0000-0000-0000-000000000000"
TABLE = {"view": "views", "player": "player_events", "page": "page_views", "action": "actions",
         "like": "likes", "review": "reviews", "bookmark": "bookmarks"}
OWN = {"view": ("position_ms", "duration_ms"),
       "player": ("event", "position_ms", "duration_ms", "from", "to"),
       "page": ("url", "referrer"), "action": ("key", "value"), "like": ("score",),
       "review": ("op", "review_id", "rating", "text"), "bookmark": ("op",)}
NUMERIC = {"position_ms", "duration_ms", "score", "rating"}
UUIDS = {"review_id"}
BASE_TS = 1733004000000  # 2024-11-30T22:00:00Z: the data crosses into December


class Gen:
    def __init__(self, seed, n_users, n_films):
        self.r = random.Random(seed)
        self.seq = {}
        self.records = []
        r = self.r
        self.films = []
        for i in range(n_films):
            # a few durations are exact multiples of 10 s (the last segment is then whole)
            dur = r.choice([600000, 720000]) if i % 3 == 0 else r.randrange(420000, 1500000)
            self.films.append({"id": self.uuid4(), "dur": dur})
        self.users = []
        for i in range(n_users):
            anon = i % 3 == 2  # one in three is anonymous
            uid = NIL if anon else self.uuid4()
            aid = self.uuid4() if (anon or r.random() < 0.3) else NIL
            self.users.append({"user_id": uid, "anon_id": aid, "auth": not anon})

    def uuid4(self):
        return str(uuid.UUID(int=self.r.getrandbits(128), version=4))

    def event_id(self, recv_ts, node_id, worker):
        """UUIDv7 layout of bcn_event_id: 48-bit ms | 7 | 12-bit seq | 10 | node16 | worker8 | 38 random."""
        key = (recv_ts, node_id, worker)
        s = self.seq.get(key, 0)
        self.seq[key] = s + 1
        hi = (recv_ts << 16) | (0x7 << 12) | (s & 0xfff)
        lo = (0b10 << 62) | (node_id << 46) | (worker << 38) | self.r.getrandbits(38)
        return str(uuid.UUID(int=(hi << 64) | lo))

    def emit(self, typ, user, ts, film=NIL, session=NIL, recv_delay=None, **own):
        r = self.r
        recv = ts + (r.randrange(5, 900) if recv_delay is None else recv_delay)
        node_id = r.choice((1, 2))
        worker = r.randrange(0, 4)
        rec = {"event_id": self.event_id(recv, node_id, worker), "type": typ, "ts": ts,
               "recv_ts": recv, "node": "bcn-it-%d" % node_id, "source": r.choice(("udp", "http")),
               "user_id": user["user_id"], "anon_id": user["anon_id"], "session_id": session,
               "film_id": film}
        for k in OWN[typ]:
            v = own.get(k)
            rec[k] = v if v is not None else (0 if k in NUMERIC else NIL if k in UUIDS else "")
        self.records.append(rec)
        return rec

    def watch(self, user, film, t, pos, finish_bias):
        """One playback session from position pos at time t; returns (end time, end position)."""
        r = self.r
        dur = film["dur"]
        sid = NIL if r.random() < 0.15 else self.uuid4()
        pdur = 0 if r.random() < 0.2 else dur  # player events may omit the duration
        speed = 1.5 if r.random() < 0.1 else 1.0
        ev = lambda name, p, **kw: self.emit("player", user, t, film["id"], sid, event=name,
                                             position_ms=p, duration_ms=pdur, **kw)
        ev("open", pos)
        t += r.randrange(300, 3000)
        ev("play", pos)
        budget = dur if r.random() < finish_bias else r.randrange(30000, dur)
        watched = 0
        quality = r.choice(("480p", "720p", "1080p"))
        while watched < budget and pos < dur:
            step = r.randrange(10000, 30001)
            if r.random() < 0.04:
                step *= r.choice((3, 4))  # heartbeats lost: a gap the pairing must not fill
            t += step
            adv = min(int(step * speed), dur - pos)
            pos += adv
            watched += adv
            self.emit("view", user, t, film["id"], sid, position_ms=pos, duration_ms=dur)
            x = r.random()
            if x < 0.04:
                t += r.randrange(100, 2000)
                ev("pause", pos)
                t += r.randrange(5000, 900000)
                ev("resume", pos)
            elif x < 0.08:
                t += r.randrange(100, 1500)
                pos = max(0, min(dur, pos + r.choice((-1, 1)) * r.randrange(20000, 400000)))
                ev("seek", pos)
            elif x < 0.11:
                new = r.choice([q for q in ("480p", "720p", "1080p", "2160p") if q != quality])
                t += r.randrange(100, 2000)
                ev("quality_change", pos, **{"from": quality, "to": new})
                quality = new
            elif x < 0.13:
                a, b = r.sample(("ru", "en", "de", "fr"), 2)
                t += r.randrange(100, 2000)
                ev(r.choice(("audio_change", "subtitle_change")), pos, **{"from": a, "to": b})
            elif x < 0.16:
                t += r.randrange(100, 2000)
                ev("buffering", pos)
            elif x < 0.17:
                t += r.randrange(100, 2000)
                ev("error", pos)
        t += r.randrange(200, 3000)
        if pos >= dur:
            ev("finish", pos)
            t += r.randrange(200, 3000)
        ev("close", pos)
        return t, pos

    def audience(self):
        r = self.r
        for ui, user in enumerate(self.users):
            t = BASE_TS + r.randrange(0, 3 * 3600 * 1000)
            films = r.sample(self.films, r.randrange(1, min(4, len(self.films)) + 1))
            for film in films:
                pos = 0 if r.random() < 0.8 else r.randrange(0, film["dur"] // 2)
                for _ in range(r.choice((1, 1, 2, 3))):
                    t, pos = self.watch(user, film, t, pos, finish_bias=0.35)
                    t += r.randrange(60000, 8 * 3600 * 1000)
                    if pos >= film["dur"]:
                        break
            # only player events without a duration: unknown length, share 0
            if ui == 1:
                f = self.films[-1]
                self.emit("player", user, t, f["id"], self.uuid4(), event="open", position_ms=0)
                self.emit("player", user, t + 20000, f["id"], NIL, event="close", position_ms=20000)
            self.social(user, t)
            self.pages(user, t)

    def social(self, user, t):
        r = self.r
        if not user["auth"]:
            return
        sid = self.uuid4()
        for film in r.sample(self.films, r.randrange(0, len(self.films) + 1)):
            ft = t + r.randrange(0, 3600000)
            for _ in range(r.randrange(1, 4)):
                self.emit("like", user, ft, film["id"], sid, score=r.choice((1, 1, 1, -1, 0)))
                ft += r.randrange(1, 600000)
            if r.random() < 0.2:
                # an exact ts tie: recv_ts decides, then event_id
                self.emit("like", user, ft, film["id"], sid, recv_delay=50, score=1)
                self.emit("like", user, ft, film["id"], sid, recv_delay=10, score=-1)
                # and a (ts, recv_ts) tie: the event_id text decides
                self.emit("like", user, ft + 1, film["id"], sid, recv_delay=7, score=1)
                self.emit("like", user, ft + 1, film["id"], sid, recv_delay=7, score=-1)
        for film in r.sample(self.films, r.randrange(0, 4)):
            ft = t + r.randrange(0, 3600000)
            for _ in range(r.randrange(1, 4)):
                self.emit("bookmark", user, ft, film["id"], sid, op=r.choice(("add", "add", "remove")))
                ft += r.randrange(1, 600000)
        for film in r.sample(self.films, r.randrange(0, 3)):
            rid = self.uuid4()
            ft = t + r.randrange(0, 3600000)
            text = r.choice(("Визуально безупречно: \"Дюна\" стоит большого экрана.",
                             "Too long.\nBut the score!", "5/5 \U0001F3AC", "meh \\ tab\there"))
            self.emit("review", user, ft, film["id"], sid, op="post", review_id=rid,
                      rating=r.randrange(1, 11), text=text)
            x = r.random()
            if x < 0.3:
                self.emit("review", user, ft + 60000, film["id"], sid, op="post", review_id=rid,
                          rating=r.randrange(1, 11), text=text + " (edited)")
            elif x < 0.5:
                self.emit("review", user, ft + 60000, film["id"], sid, op="delete", review_id=rid)
            elif x < 0.6:
                other = r.choice([u for u in self.users if u["auth"] and u is not user])
                self.emit("review", other, ft + 60000, film["id"], sid, op="delete", review_id=rid)

    def pages(self, user, t):
        r = self.r
        sid = self.uuid4()
        for _ in range(r.randrange(1, 6)):
            t += r.randrange(1000, 6 * 3600 * 1000)
            film = r.choice(self.films + [None])
            url = ("https://cinema.example/films/" + film["id"]) if film else r.choice(
                ("https://cinema.example/", "https://cinema.example/search?q=dune",
                 "https://cinema.example/profile"))
            self.emit("page", user, t, film["id"] if film else NIL, sid, url=url,
                      referrer=r.choice(("", "https://search.example/?q=cinema")))
            if r.random() < 0.7:
                self.emit("action", user, t + 500, film["id"] if film else NIL, sid,
                          key=r.choice(("trailer_click", "search", "share", "play_click")),
                          value=r.choice(("", "hero_banner", "dune", "card")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--users", type=int, default=36)
    ap.add_argument("--films", type=int, default=9)
    a = ap.parse_args()
    g = Gen(a.seed, a.users, a.films)
    g.audience()
    r = random.Random(a.seed + 1)
    os.makedirs(a.outdir, exist_ok=True)
    manifest = {"tables": {}, "records": len(g.records), "dups": 0}
    for typ, table in TABLE.items():
        recs = [x for x in g.records if x["type"] == typ]
        lines = [json.dumps(x, ensure_ascii=False, separators=(",", ":")) for x in recs]
        n = len(lines)
        b1, b2 = lines[: n // 3], lines[n // 3: 2 * n // 3]
        rest = lines[2 * n // 3:]
        old = b1 + b2
        dups = r.sample(old, max(1, len(old) // 10)) if old else []
        if dups:
            dups.append(dups[0])  # one record three times in all
        b4 = rest + dups
        r.shuffle(b4)
        files = []
        for i, b in enumerate((b1, b2, b2, b4), 1):
            fn = "%s.%d.json" % (table, i)
            with open(os.path.join(a.outdir, fn), "w", encoding="utf-8") as f:
                f.write("".join(x + "\n" for x in b))
            files.append(fn)
        manifest["tables"][table] = files
        manifest["dups"] += len(b2) + len(dups)
    with open(os.path.join(a.outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print("gen_records: %d records, %d duplicate lines, in %s" % (
        manifest["records"], manifest["dups"], a.outdir))


if __name__ == "__main__":
    main()
