#!/usr/bin/env python3
"""Make a test copy of monitoring/ for a throwaway Prometheus on loopback.

  mkconf.py SRC_DIR OUT_DIR --port JOB=PORT ... [--interval 1s] [--fast]

- OUT_DIR/prometheus.yml: SRC_DIR/prometheus.yml with scrape and evaluation interval
  --interval, no alerting block (no Alertmanager here), only the jobs given with --port,
  each scraping 127.0.0.1:PORT.
- OUT_DIR/rules/*.yml: SRC_DIR/rules/*.yml; with --fast every range window and every
  `for:` is shortened by the table below, so that rates settle and alerts fire within
  seconds instead of minutes.  The rule names stay the same (a series recorded as
  ...:rate1m is then a 5 s rate): the expressions and the alert logic are the ones
  shipped; only the time scale changes.  An unknown window is an error, so that a new
  rule cannot silently keep a window the test cannot wait for.
"""
import argparse
import glob
import os
import re
import sys

import yaml

FAST_WINDOWS = {"1m": "5s", "5m": "10s", "10m": "15s", "15m": "20s", "30m": "30s", "1h": "1m", "1d": "2m"}
FAST_FOR = "2s"

ap = argparse.ArgumentParser()
ap.add_argument("src")
ap.add_argument("out")
ap.add_argument("--port", action="append", default=[], metavar="JOB=PORT")
ap.add_argument("--interval", default="1s")
ap.add_argument("--fast", action="store_true")
a = ap.parse_args()
ports = dict(p.split("=", 1) for p in a.port)

cfg = yaml.safe_load(open(os.path.join(a.src, "prometheus.yml")))
cfg["global"]["scrape_interval"] = a.interval
cfg["global"]["scrape_timeout"] = a.interval
cfg["global"]["evaluation_interval"] = a.interval
cfg.pop("alerting", None)
jobs = []
for sc in cfg["scrape_configs"]:
    j = sc["job_name"]
    if j in ports:
        sc["static_configs"] = [{"targets": ["127.0.0.1:%s" % ports.pop(j)]}]
        jobs.append(sc)
if ports:
    sys.exit("mkconf: no job %s in %s/prometheus.yml" % (", ".join(ports), a.src))
cfg["scrape_configs"] = jobs
os.makedirs(os.path.join(a.out, "rules"), exist_ok=True)
with open(os.path.join(a.out, "prometheus.yml"), "w") as fh:
    yaml.safe_dump(cfg, fh, sort_keys=False)


def fast_expr(e, where):
    def win(m):
        if m.group(1) not in FAST_WINDOWS:
            sys.exit("mkconf: %s: window [%s] has no fast equivalent" % (where, m.group(1)))
        return "[" + FAST_WINDOWS[m.group(1)] + "]"
    return re.sub(r"\[(\w+)\]", win, e)


for f in sorted(glob.glob(os.path.join(a.src, "rules", "*.yml"))):
    doc = yaml.safe_load(open(f))
    if a.fast:
        for g in doc["groups"]:
            for r in g["rules"]:
                name = r.get("record") or r.get("alert")
                r["expr"] = fast_expr(r["expr"], name)
                if "for" in r:
                    r["for"] = FAST_FOR
    with open(os.path.join(a.out, "rules", os.path.basename(f)), "w") as fh:
        yaml.safe_dump(doc, fh, sort_keys=False, width=1000)
