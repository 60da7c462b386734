#!/usr/bin/env python3
"""Query a Prometheus over its HTTP API (/api/v1/query), for the live monitoring test.

  promq.py PORT EXPR [--time UNIX_TS]      one line per series: {labels} value
  promq.py PORT EXPR --value [--time T]    the single value (exit 1 if not exactly one)
  promq.py PORT --firing ALERT [LABEL=V..] exit 0 if ALERT is firing with those labels
  promq.py PORT --not-firing ALERT         exit 0 if ALERT is neither pending nor firing

Exit 2 when Prometheus cannot be reached or answers an error.
"""
import json
import sys
import urllib.parse
import urllib.request


def query(port, expr, t=None):
    q = {"query": expr}
    if t is not None:
        q["time"] = t
    url = "http://127.0.0.1:%s/api/v1/query?%s" % (port, urllib.parse.urlencode(q))
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            doc = json.load(r)
    except Exception as ex:  # noqa: BLE001
        print("promq: %s: %s" % (expr, ex), file=sys.stderr)
        sys.exit(2)
    if doc.get("status") != "success":
        print("promq: %s: %s" % (expr, doc), file=sys.stderr)
        sys.exit(2)
    return doc["data"]["result"]


def fmt(m):
    return "{" + ",".join('%s="%s"' % kv for kv in sorted(m.items())) + "}"


def main():
    args = sys.argv[1:]
    port = args.pop(0)
    t = None
    if "--time" in args:
        i = args.index("--time")
        t = args[i + 1]
        del args[i:i + 2]
    if args[0] in ("--firing", "--not-firing"):
        mode, name = args[0], args[1]
        sel = ['alertname="%s"' % name]
        for kv in args[2:]:
            k, v = kv.split("=", 1)
            sel.append('%s="%s"' % (k, v))
        res = query(port, "ALERTS{%s}" % ",".join(sel), t)
        firing = [r for r in res if r["metric"].get("alertstate") == "firing"]
        if mode == "--firing":
            sys.exit(0 if firing else 1)
        sys.exit(0 if not res else 1)
    expr = args[0]
    res = query(port, expr, t)
    if "--value" in args:
        if len(res) != 1:
            print("promq: %s: %d series, want 1: %s" % (expr, len(res), res), file=sys.stderr)
            sys.exit(1)
        print(res[0]["value"][1])
        return
    for r in res:
        print(fmt(r["metric"]), r["value"][1])


main()
