#!/usr/bin/env python3
"""Check ClickHouse's answers (etl/schema/R__answers.sql) against an independent computation.

    check_answers.py URL DATADIR [--raw-only] [--quiet]

DATADIR is the output of gen_records.py.  The records of every batch are read back, duplicates
collapsed by event_id (they must be byte-identical), and every answer is computed here, in
plain Python, from the definitions in docs/data-model.md; then each view is read from the
server at URL (HTTP) and compared row by row (floats to 1e-9).  Also checks that each raw table
holds exactly the distinct records and that SELECT * returns every record unchanged.
Exit 0 if all match; 1 with the first differences of each view otherwise.
"""
import argparse
import collections
import datetime
import json
import math
import os
import sys
import urllib.parse
import urllib.request

NIL = "00000000-0000-0000-0000-000000000000"
SEG = 10000
FILL_MAX = 60000


def day(ms):
    return datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc).strftime("%Y-%m-%d")


def dt(ms):
    return datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def ukey(r):
    return r["user_id"] if r["user_id"] != NIL else r["anon_id"]


def wkey(r):
    """Last-write-wins order: (ts, recv_ts, event_id as text)."""
    return (r["ts"], r["recv_ts"], r["event_id"])


def load(datadir):
    man = json.load(open(os.path.join(datadir, "manifest.json")))
    tables = {}
    for table, files in man["tables"].items():
        seen = {}
        for fn in files:
            for line in open(os.path.join(datadir, fn), encoding="utf-8"):
                if not line.strip():
                    continue
                rec = json.loads(line)
                prev = seen.get(rec["event_id"])
                if prev is not None and prev != rec:
                    sys.exit("check_answers: event_id %s twice with different content" % rec["event_id"])
                seen[rec["event_id"]] = rec
        tables[table] = list(seen.values())
    return tables


def expected(T):
    E = {}
    # ---- playback: watch_share and what derives from it
    sessions = collections.defaultdict(list)
    for r in T["views"] + T["player_events"]:
        sessions[(ukey(r), r["film_id"], r["session_id"])].append(r)
    per_uf = collections.defaultdict(lambda: {"segs": set(), "dur": 0, "sessions": set(),
                                              "last": None, "first_ts": None})
    for (uk, film, sid), recs in sessions.items():
        a = per_uf[(uk, film)]
        a["sessions"].add(sid)
        a["dur"] = max(a["dur"], max(r["duration_ms"] for r in recs))
        last = max(recs, key=wkey)
        if a["last"] is None or wkey(last) > wkey(a["last"]):
            a["last"] = last
        first = min(r["ts"] for r in recs)
        a["first_ts"] = first if a["first_ts"] is None else min(a["first_ts"], first)
        pts = sorted({(r["ts"], r["position_ms"]) for r in recs})
        for i, (t1, p1) in enumerate(pts):
            s1 = p1 // SEG
            lo = s1
            if i > 0:
                t0, p0 = pts[i - 1]
                d = p1 - p0
                if 0 <= d <= FILL_MAX and d <= 2 * (t1 - t0) + 5000:
                    lo = p0 // SEG
            a["segs"].update(range(lo, s1 + 1))
    ws = []
    for (uk, film), a in per_uf.items():
        total = (a["dur"] + SEG - 1) // SEG
        watched = len({min(s, max(total, 1) - 1) for s in a["segs"]}) if total else 0
        last = a["last"]
        ws.append({"user_key": uk, "film_id": film, "duration_ms": a["dur"], "segments_total": total,
                   "segments_watched": watched, "share": watched / total if total else 0.0,
                   "finished": int(total > 0 and watched * 10 >= total * 9),
                   "sessions": len(a["sessions"]), "resume_position_ms": last["position_ms"],
                   "first_ts": a["first_ts"], "last_ts": last["ts"],
                   "first_watched": dt(a["first_ts"]), "last_watched": dt(last["ts"])})
    E["watch_share"] = ws
    films = collections.defaultdict(list)
    for w in ws:
        if w["segments_total"] > 0:
            films[w["film_id"]].append(w)
    E["top_films"] = [{"film_id": f, "viewers": len(v), "finished_viewers": sum(w["finished"] for w in v),
                       "watched_hours": sum(w["segments_watched"] for w in v) * 10 / 3600,
                       "avg_share": sum(w["share"] for w in v) / len(v)} for f, v in films.items()]
    lf = []
    for f, v in films.items():
        stops = sorted(min(w["resume_position_ms"] / w["duration_ms"], 1.0) for w in v if not w["finished"])
        n = len(stops)
        lf.append({"film_id": f, "viewers": len(v), "unfinished_viewers": n,
                   "unfinished_share": n / len(v),
                   "avg_stop_share": sum(stops) / n if n else 0.0,
                   # quantileExact(0.5): the element at index floor(0.5 * n) of the sorted values
                   "median_stop_share": stops[int(0.5 * n)] if n else 0.0})
    E["least_finished"] = lf
    E["user_history"] = [{k: w[k] for k in ("user_key", "film_id", "first_watched", "last_watched",
                                             "sessions", "share", "finished", "resume_position_ms",
                                             "duration_ms", "last_ts")} for w in ws]
    E["resume_position"] = [{k: w[k] for k in ("user_key", "film_id", "resume_position_ms", "duration_ms",
                                                "finished", "last_watched", "last_ts")} for w in ws]
    E["continue_watching"] = [{k: w[k] for k in ("user_key", "film_id", "resume_position_ms", "duration_ms",
                                                  "share", "last_watched", "last_ts")}
                              for w in ws if not w["finished"]]
    # ---- bookmarks, likes, reviews: last write wins
    def last_by(recs, key):
        g = {}
        for r in recs:
            k = key(r)
            if k not in g or wkey(r) > wkey(g[k]):
                g[k] = r
        return g
    E["user_bookmarks"] = [{"user_id": r["user_id"], "film_id": r["film_id"], "bookmarked_ts": r["ts"],
                            "bookmarked_at": dt(r["ts"])}
                           for r in last_by(T["bookmarks"], lambda r: (r["user_id"], r["film_id"])).values()
                           if r["op"] == "add"]
    likes = [{"user_id": r["user_id"], "film_id": r["film_id"], "score": r["score"], "liked_ts": r["ts"],
              "liked_at": dt(r["ts"])}
             for r in last_by(T["likes"], lambda r: (r["user_id"], r["film_id"])).values() if r["score"] != 0]
    E["user_likes"] = likes
    reviews = [{"user_id": r["user_id"], "film_id": r["film_id"], "review_id": r["review_id"],
                "rating": r["rating"], "text": r["text"], "posted_ts": r["ts"], "posted_at": dt(r["ts"])}
               for r in last_by(T["reviews"], lambda r: (r["user_id"], r["film_id"], r["review_id"])).values()
               if r["op"] == "post"]
    E["current_reviews"] = reviews
    fr = collections.defaultdict(lambda: [0, 0, 0, 0])
    for x in likes:
        fr[x["film_id"]][0 if x["score"] == 1 else 1] += 1
    for x in reviews:
        fr[x["film_id"]][2] += 1
        fr[x["film_id"]][3] += x["rating"]
    E["film_ratings"] = [{"film_id": f, "likes": l, "dislikes": d,
                          "like_ratio": l / (l + d) if l + d else 0.0, "reviews": n,
                          "avg_review_rating": s / n if n else 0.0} for f, (l, d, n, s) in fr.items()]
    # ---- telemetry, pages, actions
    ps = collections.defaultdict(lambda: collections.Counter())
    viewers = collections.defaultdict(set)
    for r in T["player_events"]:
        k = (r["film_id"], day(r["ts"]))
        ps[k][r["event"]] += 1
        viewers[k].add(ukey(r))
    E["player_switches"] = [{"film_id": f, "day": d, "quality_switches": c["quality_change"],
                             "audio_switches": c["audio_change"], "subtitle_switches": c["subtitle_change"],
                             "buffering_events": c["buffering"], "errors": c["error"],
                             "viewers": len(viewers[(f, d)])} for (f, d), c in ps.items()]
    ls = collections.defaultdict(lambda: [0, set()])
    for r in T["player_events"]:
        if r["event"] in ("audio_change", "subtitle_change"):
            k = (r["film_id"], day(r["ts"]), "audio" if r["event"] == "audio_change" else "subtitle",
                 r["from"], r["to"])
            ls[k][0] += 1
            ls[k][1].add(ukey(r))
    E["language_switches"] = [{"film_id": k[0], "day": k[1], "track": k[2], "from": k[3], "to": k[4],
                               "switches": n, "viewers": len(u)} for k, (n, u) in ls.items()]
    pv = collections.defaultdict(lambda: [0, set()])
    for r in T["page_views"]:
        k = (day(r["ts"]), r["url"])
        pv[k][0] += 1
        pv[k][1].add(ukey(r))
    E["page_views_daily"] = [{"day": d, "url": u, "views": n, "visitors": len(v)} for (d, u), (n, v) in pv.items()]
    ak = collections.defaultdict(list)
    for r in T["actions"]:
        ak[r["key"]].append(r)
    E["actions_by_key"] = [{"key": k, "actions": len(v), "users": len({ukey(r) for r in v}),
                            "distinct_values": len({r["value"] for r in v}),
                            "first_ts": min(r["ts"] for r in v), "last_ts": max(r["ts"] for r in v)}
                           for k, v in ak.items()]
    return E


KEYS = {
    "watch_share": ("user_key", "film_id"), "top_films": ("film_id",), "least_finished": ("film_id",),
    "user_history": ("user_key", "film_id"), "resume_position": ("user_key", "film_id"),
    "continue_watching": ("user_key", "film_id"), "user_bookmarks": ("user_id", "film_id"),
    "user_likes": ("user_id", "film_id"), "current_reviews": ("user_id", "film_id", "review_id"),
    "film_ratings": ("film_id",), "player_switches": ("film_id", "day"),
    "language_switches": ("film_id", "day", "track", "from", "to"), "page_views_daily": ("day", "url"),
    "actions_by_key": ("key",),
}


class CH:
    def __init__(self, url):
        self.url = url.rstrip("/") + "/"

    def query(self, sql):
        qs = urllib.parse.urlencode({"output_format_json_quote_64bit_integers": "0",
                                     "output_format_json_quote_denormals": "1"})
        req = urllib.request.Request(self.url + "?" + qs, data=sql.encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            raise SystemExit("check_answers: %s: %s\n%s" % (self.url, e, e.read().decode(errors="replace")))

    def rows(self, sql):
        return [json.loads(x) for x in self.query(sql + " FORMAT JSONEachRow").splitlines() if x.strip()]


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        try:
            a, b = float(a), float(b)
        except (TypeError, ValueError):
            return False
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def compare(name, got, want, keys):
    errs = []
    g = {tuple(r[k] for k in keys): r for r in got}
    w = {tuple(r[k] for k in keys): r for r in want}
    if len(g) != len(got):
        errs.append("%d rows but %d distinct keys %s" % (len(got), len(g), keys))
    for k in sorted(set(w) - set(g))[:3]:
        errs.append("missing row %s: want %s" % (k, w[k]))
    for k in sorted(set(g) - set(w))[:3]:
        errs.append("unexpected row %s: %s" % (k, g[k]))
    if set(w) - set(g) or set(g) - set(w):
        errs.append("%d rows missing, %d unexpected (of %d expected)" % (len(set(w) - set(g)), len(set(g) - set(w)), len(w)))
    n = 0
    for k in sorted(set(g) & set(w)):
        cols = set(w[k]) | set(g[k])
        bad = [c for c in sorted(cols) if c not in g[k] or c not in w[k] or not same(g[k][c], w[k][c])]
        if bad:
            n += 1
            if n <= 3:
                errs.append("row %s: %s" % (k, ", ".join("%s got %r want %r" % (c, g[k].get(c), w[k].get(c)) for c in bad)))
    if n:
        errs.append("%d rows differ" % n)
    return ["%s: %s" % (name, e) for e in errs]


def check_raw(ch, T):
    errs = []
    for table, recs in T.items():
        got = ch.rows("SELECT * FROM ugc.%s" % table)
        gd = {}
        for r in got:
            gd.setdefault(r["event_id"], r)
        want = {r["event_id"]: r for r in recs}
        if set(gd) != set(want):
            errs.append("raw %s: %d distinct event_ids, want %d" % (table, len(gd), len(want)))
            continue
        for eid, r in want.items():
            if gd[eid] != r:
                errs.append("raw %s: SELECT * differs from the record:\n  got  %s\n  want %s" % (
                    table, json.dumps(gd[eid], ensure_ascii=False), json.dumps(r, ensure_ascii=False)))
                break
        [[n, u]] = [[x["n"], x["u"]] for x in ch.rows(
            "SELECT count() AS n, uniqExact(event_id) AS u FROM ugc.%s" % table)]
        if u != len(want):
            errs.append("raw %s: uniqExact(event_id) %d, want %d" % (table, u, len(want)))
    return errs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("datadir")
    ap.add_argument("--raw-only", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    T = load(a.datadir)
    ch = CH(a.url)
    errs = check_raw(ch, T)
    checked = 0
    if not a.raw_only:
        E = expected(T)
        for name, keys in KEYS.items():
            got = ch.rows("SELECT * FROM ugc.%s" % name)
            e = compare(name, got, E[name], keys)
            if not e and not E[name]:
                e = ["%s: no rows expected: the data set does not exercise it" % name]
            errs += e
            checked += 1
            if not a.quiet and not e:
                print("check_answers: %-18s %5d rows ok" % (name, len(got)))
        # per-user lookups (WHERE pushed into the views): the same rows as the full answers
        users = sorted({w["user_key"] for w in E["watch_share"]})[:4]
        users += sorted({x["user_id"] for x in E["user_likes"]})[:2]
        for name, col in (("continue_watching", "user_key"), ("user_history", "user_key"),
                          ("resume_position", "user_key"), ("user_likes", "user_id"),
                          ("user_bookmarks", "user_id")):
            for u in users:
                got = ch.rows("SELECT * FROM ugc.%s WHERE %s = toUUID('%s')" % (name, col, u))
                errs += compare("%s[%s]" % (name, u), got, [x for x in E[name] if x[col] == u], KEYS[name])
        # ordered answers: newest first per user
        cw = ch.rows("SELECT user_key, last_ts FROM ugc.continue_watching")
        for x, y in zip(cw, cw[1:]):
            if x["user_key"] == y["user_key"] and x["last_ts"] < y["last_ts"]:
                errs.append("continue_watching: not newest first for %s" % x["user_key"])
                break
    for e in errs:
        print("check_answers: " + e, file=sys.stderr)
    if errs:
        sys.exit(1)
    print("check_answers: %s: %d raw tables and %d answers match (%d distinct records)" % (
        a.url, len(T), checked, sum(len(v) for v in T.values())))


if __name__ == "__main__":
    main()
