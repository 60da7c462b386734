#!/usr/bin/env python3
"""verify.py - compare what beacon-etl put in ClickHouse with what was
produced to Kafka, field by field.

  verify.py CH_URL DIR [--poison]

DIR holds the generator's ugc.*.tsv files (key<TAB>record JSON).  For every
table: SELECT * FROM ugc.T FINAL must hold exactly the valid records of that
type (by event_id), each column equal to the record's value (numbers compared
as integers, since 18.x prints UInt64 quoted); uniqExact(event_id) and
count() FINAL must both equal the expected count.  With --poison, records
listed in DIR/poison.ids and unparseable lines are expected absent.
Prints one summary line per table; exit 1 on the first difference.
"""
import json, sys, urllib.request

TABLE = {"view": "views", "player": "player_events", "page": "page_views", "action": "actions",
         "like": "likes", "review": "reviews", "bookmark": "bookmarks"}


def q(url, sql):
    with urllib.request.urlopen(urllib.request.Request(url, data=sql.encode())) as r:
        return r.read().decode()


def main():
    url, d = sys.argv[1], sys.argv[2]
    poison = set()
    if "--poison" in sys.argv:
        poison = set(open(d + "/poison.ids").read().split())
    want = {t: {} for t in TABLE.values()}
    for topic in ("ugc.views", "ugc.events", "ugc.actions"):
        try:
            f = open("%s/%s.tsv" % (d, topic), encoding="utf-8")
        except FileNotFoundError:
            continue
        for ln in f:
            k, v = ln.rstrip("\n").split("\t", 1)
            try:
                r = json.loads(v)
            except ValueError:
                continue
            if not isinstance(r, dict) or r.get("type") not in TABLE or r.get("event_id") in poison:
                continue
            if any(isinstance(x, (dict, list)) for x in r.values()):
                continue
            want[TABLE[r["type"]]][r["event_id"]] = r
    bad = 0
    for t, exp in want.items():
        rows = {}
        for ln in q(url, "SELECT * FROM ugc.%s FINAL FORMAT JSONEachRow" % t).splitlines():
            r = json.loads(ln)
            rows[r["event_id"]] = r
        cnt, uniq, final = q(url, "SELECT count(), uniqExact(event_id), (SELECT count() FROM ugc.%s FINAL) FROM ugc.%s" % (t, t)).split()
        missing = [e for e in exp if e not in rows]
        extra = [e for e in rows if e not in exp]
        diffs = []
        for e, r in exp.items():
            got = rows.get(e)
            if got is None:
                continue
            for k, v in r.items():
                if k not in got:
                    continue  # a column the table does not have
                g = got[k]
                if isinstance(v, int) and not isinstance(v, bool):
                    g = int(g)
                if g != v:
                    diffs.append((e, k, v, g))
        ok = not missing and not extra and not diffs and int(uniq) == len(exp) and int(final) == len(exp)
        print("%-14s want %6d  final %6s  uniq %6s  count %6s  missing %d extra %d field-diffs %d  %s" %
              (t, len(exp), final, uniq, cnt, len(missing), len(extra), len(diffs), "ok" if ok else "FAIL"))
        for x in diffs[:5]:
            print("   diff", x)
        for x in missing[:3]:
            print("   missing", x)
        bad |= not ok
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
