#!/usr/bin/env python3
"""e2e_read.py - the read side end to end: beacons written through beacond's
HTTP endpoint come back through beacon-api (beacond -> Kafka -> beacon-etl's
PostgreSQL sink -> PostgreSQL -> beacon-api).

  e2e_read.py check  BEACOND_URL API_URL TOKEN_A USER_A TOKEN_B USER_B
      writes a known script of likes, bookmarks, reviews, heartbeats and a
      finish for users A and B, then polls every endpoint (deadline 30 s per
      answer, each wait says what it waited for) until the answers are
      exactly the expected ones; exit 1 with the last answer otherwise.
  e2e_read.py ryw    BEACOND_URL API_URL TOKEN USER PROBES [OUT_TSV]
      read-your-writes: PROBES times, flip a like/dislike on one film (and
      add/remove a bookmark on another) through beacond, then poll the API's
      /v1/me/likes and /v1/me/bookmarks every 5 ms until the write shows;
      prints p50/p99/max of "204 from beacond -> visible through the API"
      (ms) and writes each probe to OUT_TSV.  Exit 1 if a probe is not
      visible within 10 s.

Loopback only (the URLs are checked).  Standard library only.
"""
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

DEADLINE_S = 30.0


def die(msg):
    print("e2e_read: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def loopback(url):
    host = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
    if not (host.startswith("127.") or host in ("[::1]", "localhost")):
        die("not a loopback URL: " + url)
    return url.rstrip("/")


def now_ms():
    return int(time.time() * 1000)


def post_beacons(bd, token, beacons):
    body = "".join(json.dumps(b, ensure_ascii=False) + "\n" for b in beacons).encode()
    req = urllib.request.Request(bd + "/v1/beacons", data=body, method="POST",
                                 headers={"Content-Type": "application/x-ndjson",
                                          "Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            code, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        code, text = e.code, e.read().decode()
    if code not in (200, 202, 204):
        die("beacond answered %d to %d beacons: %s" % (code, len(beacons), text[:300]))


def get(api, path, token=None):
    h = {"Authorization": "Bearer " + token} if token else {}
    req = urllib.request.Request(api + path, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read().decode() or "null")
    except urllib.error.HTTPError as e:
        raw = e.read().decode()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw


def wait_answer(api, path, token, want, what):
    """Poll GET path until want(answer) is true; return the answer."""
    end = time.monotonic() + DEADLINE_S
    last = None
    while time.monotonic() < end:
        code, ans = get(api, path, token)
        last = (code, ans)
        if code == 200 and want(ans):
            return ans
        time.sleep(0.1)
    die("timed out after %.0fs waiting for %s (GET %s); last answer: %r" % (DEADLINE_S, what, path, last))


def ids(items, key):
    return [i[key] for i in items]


def check(bd, api, tok_a, user_a, tok_b, user_b):
    fa, fb, fc, fd, fe = (str(uuid.uuid4()) for _ in range(5))
    ra, rb = str(uuid.uuid4()), str(uuid.uuid4())
    sess = str(uuid.uuid4())
    t = now_ms() - 60000  # one minute ago, 1 ms apart: the client's order
    seq = iter(range(10**6))

    def ts():
        return t + next(seq)

    text = 'Визуально безупречно: "Дюна" \\ стоит\tбольшого экрана.'
    a = [
        {"type": "like", "ts": ts(), "film_id": fa, "score": 1},
        {"type": "like", "ts": ts(), "film_id": fb, "score": 1},
        {"type": "like", "ts": ts(), "film_id": fb, "score": -1},      # changed: dislike
        {"type": "like", "ts": ts(), "film_id": fc, "score": 1},
        {"type": "like", "ts": ts(), "film_id": fc, "score": 0},       # removed
        {"type": "bookmark", "ts": ts(), "op": "add", "film_id": fa},
        {"type": "bookmark", "ts": ts(), "op": "add", "film_id": fb},
        {"type": "bookmark", "ts": ts(), "op": "add", "film_id": fc},
        {"type": "bookmark", "ts": ts(), "op": "remove", "film_id": fb},
        {"type": "review", "ts": ts(), "op": "post", "film_id": fa, "review_id": ra, "rating": 6, "text": "first"},
        {"type": "review", "ts": ts(), "op": "post", "film_id": fa, "review_id": ra, "rating": 9, "text": text},
        {"type": "review", "ts": ts(), "op": "post", "film_id": fb, "review_id": rb, "rating": 3, "text": "meh"},
        {"type": "review", "ts": ts(), "op": "delete", "film_id": fb, "review_id": rb},
        {"type": "view", "ts": ts(), "session_id": sess, "film_id": fd, "position_ms": 600000, "duration_ms": 6000000},
        {"type": "view", "ts": ts(), "session_id": sess, "film_id": fd, "position_ms": 1200000, "duration_ms": 6000000},
        {"type": "view", "ts": ts(), "session_id": sess, "film_id": fe, "position_ms": 5000000, "duration_ms": 5400000},
        {"type": "player", "ts": ts(), "session_id": sess, "film_id": fe, "event": "finish", "position_ms": 5390000},
    ]
    post_beacons(bd, tok_a, a)
    # user B: a like on A's film (counters add up), a delete of A's review (not B's: ignored)
    b = [
        {"type": "like", "ts": ts(), "film_id": fa, "score": -1},
        {"type": "review", "ts": ts(), "op": "delete", "film_id": fa, "review_id": ra},
        {"type": "review", "ts": ts(), "op": "post", "film_id": fa, "review_id": str(uuid.uuid4()), "rating": 4, "text": "B"},
    ]
    post_beacons(bd, tok_b, b)
    # an anonymous heartbeat: kept in ClickHouse only, never in anyone's history
    anon = {"type": "view", "ts": ts(), "anon_id": str(uuid.uuid4()), "film_id": fa, "position_ms": 1, "duration_ms": 10}
    req = urllib.request.Request(bd + "/v1/beacons", data=(json.dumps(anon) + "\n").encode(), method="POST",
                                 headers={"Content-Type": "application/x-ndjson"})
    urllib.request.urlopen(req, timeout=10).read()

    n = 0
    # the last write of the script: B's review on fa makes reviews == 2 there
    r = wait_answer(api, "/v1/films/%s/rating" % fa, None,
                    lambda x: x.get("reviews") == 2 and x.get("likes") == 1 and x.get("dislikes") == 1,
                    "film A's rating: 1 like, 1 dislike, 2 reviews")
    if abs((r.get("avg_review_rating") or 0) - 6.5) > 1e-9 or abs((r.get("rating") or 0) - 5.0) > 1e-9:
        die("film A rating: %r (want avg_review_rating 6.5, rating 5.0)" % r)
    n += 1
    r = wait_answer(api, "/v1/films/%s/rating" % fb, None, lambda x: x.get("dislikes") == 1,
                    "film B's rating: 1 dislike")
    if r.get("likes") != 0 or r.get("reviews") != 0 or r.get("avg_review_rating") is not None:
        die("film B rating: %r (want 0 likes, 0 reviews (deleted), avg null)" % r)
    n += 1
    r = wait_answer(api, "/v1/films/%s/reviews?limit=1" % fa, None, lambda x: len(x.get("items", [])) == 1,
                    "film A's newest review")
    first = r["items"][0]
    if first.get("user_id") != user_b or first.get("rating") != 4:
        die("film A newest review: %r (want B's, rating 4)" % first)
    if not r.get("next_cursor"):
        die("film A reviews page 1 of 2 has no next_cursor: %r" % r)
    r2 = wait_answer(api, "/v1/films/%s/reviews?limit=1&cursor=%s" % (fa, urllib.parse.quote(r["next_cursor"])),
                     None, lambda x: len(x.get("items", [])) == 1, "film A's reviews, page 2")
    it = r2["items"][0]
    if it.get("review_id") != ra or it.get("rating") != 9 or it.get("text") != text or it.get("user_id") != user_a:
        die("film A review page 2: %r (want A's edited review, rating 9, the exact text)" % it)
    if r2.get("next_cursor") not in (None, ""):
        r3 = wait_answer(api, "/v1/films/%s/reviews?limit=1&cursor=%s" % (fa, urllib.parse.quote(r2["next_cursor"])),
                         None, lambda x: True, "film A's reviews, page 3")
        if r3.get("items"):
            die("film A reviews page 3 should be empty: %r" % r3)
    r = wait_answer(api, "/v1/films/%s/reviews" % fb, None, lambda x: True, "film B's reviews")
    if r.get("items"):
        die("film B's deleted review is shown: %r" % r)
    n += 3
    for film, state in ((fa, "liked"), (fb, "disliked"), (fc, "none")):
        wait_answer(api, "/v1/me/likes/%s" % film, tok_a, lambda x, s=state: x.get("state") == s,
                    "A's like state of a film to be %s" % state)
        n += 1
    r = wait_answer(api, "/v1/me/likes/%s" % fa, tok_b, lambda x: x.get("state") == "disliked", "B dislikes film A")
    n += 1
    r = wait_answer(api, "/v1/me/bookmarks", tok_a, lambda x: len(x.get("items", [])) == 2, "A's 2 bookmarks")
    if ids(r["items"], "film_id") != [fc, fa]:
        die("A's bookmarks: %r (want [C, A], newest first)" % r)
    for film, want in ((fa, True), (fb, False), (fc, True), (fd, False)):
        wait_answer(api, "/v1/me/bookmarks/%s" % film, tok_a, lambda x, w=want: x.get("bookmarked") is w,
                    "A's bookmark of a film to be %s" % want)
        n += 1
    r = wait_answer(api, "/v1/me/history", tok_a, lambda x: len(x.get("items", [])) == 2, "A's history of 2 films")
    h = r["items"]
    if ids(h, "film_id") != [fe, fd] or h[0].get("finished") is not True or h[1].get("finished") is not False \
            or h[1].get("position_ms") != 1200000 or h[1].get("duration_ms") != 6000000:
        die("A's history: %r (want E finished, then D at 1200000 of 6000000)" % r)
    r = wait_answer(api, "/v1/me/continue", tok_a, lambda x: len(x.get("items", [])) >= 1, "A's continue watching")
    if ids(r["items"], "film_id") != [fd]:
        die("A's continue watching: %r (want only D)" % r)
    r = wait_answer(api, "/v1/me/progress/%s" % fd, tok_a, lambda x: x.get("position_ms") == 1200000, "A's resume point in D")
    r = wait_answer(api, "/v1/me/history", tok_b, lambda x: True, "B's history")
    if r.get("items"):
        die("B has a history though B watched nothing: %r" % r)
    n += 4
    code, _ = get(api, "/v1/me/history")
    if code != 401:
        die("GET /v1/me/history without a token answered %d, want 401" % code)
    print("e2e_read: %d answers as expected (written through beacond, read through beacon-api)" % (n + 1))


def ryw(bd, api, tok, user, probes, out):
    film, bfilm = str(uuid.uuid4()), str(uuid.uuid4())
    lat = []
    rows = []
    for i in range(probes):
        score = 1 if i % 2 == 0 else -1
        want_like = "liked" if score == 1 else "disliked"
        active = i % 2 == 0
        t = now_ms()
        post_beacons(bd, tok, [{"type": "like", "ts": t, "film_id": film, "score": score},
                               {"type": "bookmark", "ts": t, "op": "add" if active else "remove", "film_id": bfilm}])
        t0 = time.monotonic()
        seen_like = seen_bm = None
        while seen_like is None or seen_bm is None:
            el = time.monotonic() - t0
            if el > 10:
                die("probe %d: not visible through the API after 10 s (like %s, bookmark %s)" % (i, seen_like, seen_bm))
            if seen_like is None:
                c, a = get(api, "/v1/me/likes/" + film, tok)
                if c == 200 and a.get("state") == want_like:
                    seen_like = (time.monotonic() - t0) * 1000
            if seen_bm is None:
                c, a = get(api, "/v1/me/bookmarks/" + bfilm, tok)
                if c == 200 and a.get("bookmarked") is active:
                    seen_bm = (time.monotonic() - t0) * 1000
            if seen_like is None or seen_bm is None:
                time.sleep(0.005)
        lat.append(max(seen_like, seen_bm))
        rows.append((i, seen_like, seen_bm))
        time.sleep(0.02)
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(round(p / 100.0 * (len(lat) - 1))))]
    if out:
        with open(out, "w") as f:
            f.write("probe\tlike_ms\tbookmark_ms\n")
            for r in rows:
                f.write("%d\t%.1f\t%.1f\n" % r)
    print("ryw: %d probes, beacond 204 -> visible through beacon-api: p50 %.0f ms, p99 %.0f ms, max %.0f ms"
          % (len(lat), pct(50), pct(99), lat[-1]))


def main():
    a = sys.argv[1:]
    if len(a) >= 1 and a[0] == "check" and len(a) == 7:
        check(loopback(a[1]), loopback(a[2]), a[3], a[4], a[5], a[6])
    elif len(a) >= 1 and a[0] == "ryw" and len(a) in (6, 7):
        ryw(loopback(a[1]), loopback(a[2]), a[3], a[4], int(a[5]), a[6] if len(a) == 7 else None)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
