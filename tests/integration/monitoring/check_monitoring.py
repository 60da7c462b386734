#!/usr/bin/env python3
"""Static checks of monitoring/ that promtool does not make (no servers).

  check_monitoring.py REPO_ROOT OUT_DIR

1. Every alert of monitoring/rules/*.yml has severity critical|warning, a summary, a
   description and runbook_url "docs/runbook.md#<alert name in lower case>", and
   docs/runbook.md has a heading whose anchor is that.
2. Every alert is tested firing (a non-empty exp_alerts) and not firing (an empty
   exp_alerts) in monitoring/tests/*.test.yml.
3. Every recording rule is read by at least one promql_expr_test of monitoring/tests.
4. The Grafana dashboard is importable JSON: schemaVersion >= 36, a datasource variable
   used by every panel and target, unique panel ids, every panel has targets.
5. Every PromQL expression of the dashboard and of the console templates is written to
   OUT_DIR/exprs.rules.yml as a recording rule, so that `promtool check rules` parses them.
   Each of those and of the rules names a metric that beacond (app/, drivers/), beacon-etl
   (etl/, its PostgreSQL sink included) or beacon-api (app/api/) exports, read from their
   sources, or a recording rule defines.

Prints one line per problem and exits 1 if there was any.
"""
import glob
import json
import os
import re
import sys

import yaml

root, out = sys.argv[1], sys.argv[2]
problems = []


def bad(msg):
    problems.append(msg)
    print("check_monitoring: " + msg)


def github_anchor(heading):
    a = heading.strip().lower()
    a = re.sub(r"[^\w\- ]", "", a)
    return a.replace(" ", "-")


# ---- rules
alerts, records = {}, set()
for f in sorted(glob.glob(os.path.join(root, "monitoring/rules/*.yml"))):
    doc = yaml.safe_load(open(f))
    for g in doc.get("groups", []):
        for r in g.get("rules", []):
            if "alert" in r:
                if r["alert"] in alerts:
                    bad("%s: alert %s defined twice" % (f, r["alert"]))
                alerts[r["alert"]] = r
            else:
                records.add(r["record"])

runbook = open(os.path.join(root, "docs/runbook.md")).read()
anchors = set()
for m in re.finditer(r"^#{1,6}\s+(.*)$", runbook, re.M):
    anchors.add(github_anchor(m.group(1)))
for m in re.finditer(r'<a (?:id|name)="([^"]+)"', runbook):
    anchors.add(m.group(1))

for name, r in alerts.items():
    sev = r.get("labels", {}).get("severity")
    if sev not in ("critical", "warning"):
        bad("alert %s: severity %r" % (name, sev))
    ann = r.get("annotations", {})
    for k in ("summary", "description", "runbook_url"):
        if not ann.get(k):
            bad("alert %s: no %s annotation" % (name, k))
    want = "docs/runbook.md#" + name.lower()
    if ann.get("runbook_url") != want:
        bad("alert %s: runbook_url %r, want %r" % (name, ann.get("runbook_url"), want))
    if name.lower() not in anchors:
        bad("alert %s: docs/runbook.md has no section #%s" % (name, name.lower()))

# ---- tests
fired, quiet, tested_exprs = set(), set(), []
for f in sorted(glob.glob(os.path.join(root, "monitoring/tests/*.test.yml"))):
    doc = yaml.safe_load(open(f))
    for t in doc.get("tests", []):
        for a in t.get("alert_rule_test", []) or []:
            (fired if a.get("exp_alerts") else quiet).add(a["alertname"])
        for e in t.get("promql_expr_test", []) or []:
            tested_exprs.append(e["expr"])
for name in sorted(alerts):
    if name not in fired:
        bad("alert %s: no test where it fires" % name)
    if name not in quiet:
        bad("alert %s: no test where it does not fire" % name)
for rec in sorted(records):
    if not any(re.search(r"(?<![\w:])" + re.escape(rec) + r"(?![\w:])", e) for e in tested_exprs):
        bad("recording rule %s: no promql_expr_test reads it" % rec)

# ---- known metric names: beacond's, beacon-etl's and beacon-api's families + recording rules
known = set(records)
fam_src = glob.glob(os.path.join(root, "app/core/*.c")) + glob.glob(os.path.join(root, "app/kafka/*.c")) \
    + glob.glob(os.path.join(root, "drivers/*/*.c")) + glob.glob(os.path.join(root, "etl/*.c")) \
    + glob.glob(os.path.join(root, "app/api/*.c"))
for f in fam_src:
    for m in re.finditer(r'"((?:beacond|beacon_etl|beacon_api)_[a-z0-9_]+)', open(f, errors="replace").read()):
        known.add(m.group(1))
# families named from a prefix by bcn_mb_process_memory (app/core/bcn_mbuf.c):
# each prefix passed to it times each "%s_<suffix>" name the helper formats
suffixes = re.findall(r'"%s(_[a-z0-9_]+)"', open(os.path.join(root, "app/core/bcn_mbuf.c")).read())
for f in fam_src:
    for m in re.finditer(r'bcn_mb_process_memory\(\w+, "([a-z0-9_]+)"\)', open(f, errors="replace").read()):
        known.update(m.group(1) + sfx for sfx in suffixes)
for k in list(known):  # histograms' series
    known.update({k + "_bucket", k + "_sum", k + "_count"})
known.update({"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped"})


def metric_names(expr):
    e = re.sub(r'"[^"]*"', '""', expr)                # label values
    e = re.sub(r"\{[^}]*\}", "", e)                   # matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                  # ranges
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    names = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e))
    funcs = {"sum", "rate", "irate", "increase", "avg", "max", "min", "count", "topk", "bottomk",
             "histogram_quantile", "deriv", "avg_over_time", "max_over_time", "min_over_time",
             "sum_over_time", "label_replace", "clamp_min", "clamp_max", "abs", "time", "vector",
             "scalar", "and", "or", "unless", "bool", "offset", "delta", "predict_linear", "round",
             "absent", "sort", "sort_desc", "quantile", "e", "Inf", "NaN", "inf", "nan"}
    return {n for n in names if n not in funcs and not re.fullmatch(r"[0-9.e]+", n)}


exprs = []  # (where, expr)

# ---- rule expressions too: a family renamed in beacond, beacon-etl or beacon-api must fail here
for f in sorted(glob.glob(os.path.join(root, "monitoring/rules/*.yml"))):
    for g in yaml.safe_load(open(f)).get("groups", []):
        for r in g.get("rules", []):
            for n in metric_names(r["expr"]):
                if n not in known:
                    bad("%s: %s: unknown metric %s" % (os.path.basename(f), r.get("record") or r.get("alert"), n))

# ---- Grafana dashboard
dash_path = os.path.join(root, "monitoring/grafana/beacond-overview.json")
try:
    dash = json.load(open(dash_path))
except Exception as ex:  # noqa: BLE001
    bad("%s: not JSON: %s" % (dash_path, ex))
    dash = {}
if dash:
    if dash.get("schemaVersion", 0) < 36:
        bad("dashboard: schemaVersion %r < 36" % dash.get("schemaVersion"))
    for k in ("title", "uid", "panels", "templating"):
        if k not in dash:
            bad("dashboard: no %s" % k)
    tvars = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    ds = [v for v in tvars.values() if v.get("type") == "datasource" and v.get("query") == "prometheus"]
    if not ds:
        bad("dashboard: no datasource variable of type prometheus")
    dsname = "${%s}" % ds[0]["name"] if ds else None
    ids = set()
    panels = []
    for p in dash.get("panels", []):
        panels.append(p)
        panels.extend(p.get("panels", []))
    for p in panels:
        if p.get("id") in ids:
            bad("dashboard: panel id %r twice" % p.get("id"))
        ids.add(p.get("id"))
        if p.get("type") == "row":
            continue
        where = "dashboard panel %r" % p.get("title")
        if not p.get("targets"):
            bad(where + ": no targets")
        if (p.get("datasource") or {}).get("uid") != dsname:
            bad(where + ": datasource is not the variable %s" % dsname)
        if "gridPos" not in p:
            bad(where + ": no gridPos")
        for t in p.get("targets", []):
            if (t.get("datasource") or {}).get("uid") != dsname:
                bad(where + ": a target's datasource is not the variable")
            e = t.get("expr", "")
            if not e:
                bad(where + ": a target without expr")
            exprs.append((where, e))
    for v in tvars.values():
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            m = re.match(r"label_values\((.*),\s*\w+\)$", q or "")
            if not m:
                bad("dashboard variable %s: query %r is not label_values(expr, label)" % (v["name"], q))
            else:
                exprs.append(("dashboard variable " + v["name"], m.group(1)))

# ---- console templates: expressions in query "..." / "expr": "..." / args "..."
for f in sorted(glob.glob(os.path.join(root, "monitoring/consoles/*.html"))
                + glob.glob(os.path.join(root, "monitoring/console_libraries/*.lib"))):
    text = open(f).read()
    for m in re.finditer(r'(?:query|expr:)\s+"((?:[^"\\]|\\.)*)"', text):
        e = m.group(1).replace('\\"', '"')
        if "{{" in e or "%s" in e:
            continue
        exprs.append((os.path.basename(f), e))
    for m in re.finditer(r"(?:query|expr:)\s+`([^`]*)`", text):
        if "{{" not in m.group(1) and "%s" not in m.group(1):
            exprs.append((os.path.basename(f), m.group(1)))
    # table cells: (args "EXPR" ...) and (args (printf "EXPR with %s" ...))
    for m in re.finditer(r'\(args\s+"((?:[^"\\]|\\.)*)"', text):
        exprs.append((os.path.basename(f) + " cell", m.group(1)))
    for m in re.finditer(r'printf\s+"((?:[^"\\]|\\.)*)"', text):
        if "%s" in m.group(1) and "{" in m.group(1):
            exprs.append((os.path.basename(f) + " cell", m.group(1).replace("%s", "x")))
    # graphs: g("g_id", "EXPR" | ["EXPR", ...], ...) in the page's script
    for m in re.finditer(r'\bg\("\w+",\s*(\[[^\]]*\]|"[^"]*")', text):
        for e in re.findall(r'"([^"]*)"', m.group(1)):
            exprs.append((os.path.basename(f) + " graph", e))
    for m in re.finditer(r'expr:\s*"((?:[^"\\]|\\.)*)"', text):
        e = m.group(1).replace('\\"', '"')
        if "{{" not in e and "%s" not in e:
            exprs.append((os.path.basename(f), e))

subst = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}
rules = []
for i, (where, e) in enumerate(exprs):
    for k, v in subst.items():
        e = e.replace(k, v)
    e = re.sub(r"\$\{?(\w+)\}?", "x", e)  # dashboard variables in matchers
    for n in metric_names(e):
        if n not in known:
            bad("%s: unknown metric %s in %s" % (where, n, e))
    rules.append({"record": "check:expr_%d" % i, "expr": e})
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "exprs.rules.yml"), "w") as fh:
    yaml.safe_dump({"groups": [{"name": "dashboard_and_console_exprs", "rules": rules}]}, fh)
print("check_monitoring: %d alerts, %d recording rules, %d dashboard/console expressions"
      % (len(alerts), len(records), len(exprs)))
sys.exit(1 if problems else 0)
