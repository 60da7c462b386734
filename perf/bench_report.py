#!/usr/bin/env python3
"""perf/bench_report.py - the summary half of perf/bench.sh (`make bench`).

Reads what the suite's steps left (perf/results/*.log, bench_ingest.sh's per-run
JSON, bench_etl.sh's runs.txt, bench_dpdk.sh's runs.log, perf/results/e2e.json,
build/bench/*.step, the load samples), draws the PNG plots
(perf/results/bench_*.png) and rewrites perf/RESULTS.md:

    # Performance results
    <!-- BEGIN GENERATED ... -->   the summary of this run, the plots, the
    ...                            end-to-end section (replaced whole each run)
    <!-- END GENERATED ... -->
    ## Parser microbenchmark ...   every other section, kept exactly as it is
                                   (written by each benchmark's owner)

If the markers are missing (first run), the generated block goes right after
the title.  Nothing here measures anything."""
import argparse, glob, json, os, re, statistics, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument("--work", required=True)
ap.add_argument("--results", required=True)
ap.add_argument("--write", default="1")
ap.add_argument("--knobs", default="")
ap.add_argument("--doc", default="perf/RESULTS.md")
a = ap.parse_args()
W, R = a.work, a.results
BEGIN = "<!-- BEGIN GENERATED SUMMARY: written by perf/bench.sh (make bench); everything up to the END marker is replaced by the next run -->"
END = "<!-- END GENERATED SUMMARY -->"

def kv_file(path):
    d = {}
    if os.path.exists(path):
        for ln in open(path):
            k, _, v = ln.rstrip("\n").partition("=")
            d[k] = v
    return d

M = kv_file(os.path.join(W, "machine.env"))
steps = {os.path.basename(f)[:-5]: kv_file(f) for f in glob.glob(os.path.join(W, "*.step"))}
loads = []
if os.path.exists(os.path.join(W, "load.log")):
    for ln in open(os.path.join(W, "load.log")):
        t, l = ln.split()
        loads.append((int(t), float(l)))

def load_during(name):
    s = steps.get(name, {})
    if "start" not in s:
        return None
    v = [l for t, l in loads if int(s["start"]) <= t <= int(s["end"])]
    if not v:
        return None
    return f"{min(v):.1f} / {statistics.median(v):.1f} / {max(v):.1f}"

def st(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return (statistics.median(vals), min(vals), max(vals), len(vals))

def fmt(v, nd=0, unit=""):
    if v is None:
        return "n/a"
    if nd == "M":
        return f"{v / 1e6:.2f} M{unit}"
    return f"{v:,.{nd}f}{unit}"

def cell(s, nd=0, unit=""):
    if s is None:
        return "n/a"
    if s[3] == 1:
        return fmt(s[0], nd, unit)
    return f"{fmt(s[0], nd, unit)} ({fmt(s[1], nd)} – {fmt(s[2], nd)})"

def ratio(x, y):
    if x is None or y is None or y[0] == 0:
        return "—"
    return f"{x[0] / y[0]:.2f}×"

# ------------------------------------------------------------------ parse
parse = {}
pl = os.path.join(R, "parse.log")
if os.path.exists(pl) and steps.get("parse", {}).get("status") == "ok":
    for ln in open(pl):
        m = re.match(r"^\| (.+?) \| ([\d,]+) \| ([\d,]+) \| ([\d.]+) \|", ln)
        if m and m.group(1) != "case":
            parse.setdefault(m.group(1), []).append(float(m.group(3).replace(",", "")))

# ------------------------------------------------------------------ ingest
ingest, ingest_md, ingest_runs = [], None, None
il = os.path.join(R, "ingest.log")
if os.path.exists(il) and steps.get("ingest", {}).get("status") in ("ok", "timeout"):
    txt = open(il, errors="replace").read()
    m = re.search(r"scratch: (\S+?);", txt)
    if m and os.path.isdir(os.path.join(m.group(1), "results")):
        for f in sorted(glob.glob(os.path.join(m.group(1), "results", "*.json"))):
            try:
                ingest.append(json.load(open(f)))
            except (OSError, ValueError):
                pass
    m = re.search(r"done in \d+s: (\S+\.md)", txt)
    if m:
        ingest_md = os.path.relpath(m.group(1), os.path.dirname(os.path.abspath(a.doc)))

def ing(kind, label, f):
    v = []
    for r in ingest:
        if r.get("kind") == kind and r.get("label") == label:
            try:
                v.append(f(r))
            except (KeyError, TypeError):
                pass
    return st(v)

# ------------------------------------------------------------------ etl
etl = {}
ef = os.path.join(R, "etl-runs.txt")
if os.path.exists(ef) and steps.get("etl", {}).get("status") == "ok":
    for ln in open(ef):
        t = ln.split()
        if len(t) < 4 or t[1] != "run":
            continue
        d = {}
        for k, v in zip(t[3::2], t[4::2]):
            try:
                d[k] = float(v)
            except ValueError:
                pass
        etl.setdefault(t[0], []).append(d)

def etlv(name, k):
    return st([d.get(k) for d in etl.get(name, [])])

# ------------------------------------------------------------------ dpdk
dpdk = {}
df = os.path.join(R, "dpdk-runs.log")
if os.path.exists(df) and steps.get("dpdk", {}).get("status") == "ok":
    for ln in open(df):
        m = re.match(r"run \d+: (\S+) (\S+): (?!INVALID|FAILED).*?([0-9.]+) M beacons/s accepted.*?([0-9.]+) M beacons per CPU-second", ln)
        if m:
            dpdk.setdefault((m.group(1), m.group(2)), []).append((float(m.group(3)), float(m.group(4))))

# ------------------------------------------------------------------ e2e
e2e = None
if os.path.exists(os.path.join(R, "e2e.json")) and steps.get("e2e", {}).get("status") == "ok":
    e2e = json.load(open(os.path.join(R, "e2e.json")))

def e2s(d):
    if not d:
        return None
    return (d["median"], d["min"], d["max"], d["n"])

# ------------------------------------------------------------------ table
rows = []   # (group, measurement, ours, peer, ratio, notes)
def row(group, what, ours, peer="—", rat="—", notes=""):
    rows.append((group, what, ours, peer, rat, notes))

G = "Parser, one core (`build/bench-parse`; no peer: targets)"
for case, target in (("json parse: view heartbeat, anon", 3e6), ("bin parse: view heartbeat, anon", 15e6),
                     ("json parse: mix of all types", None), ("ingest json: mix (warm cache)", None),
                     ("ingest bin: mix (warm cache)", None), ("jwt verify: cold (cache off, distinct)", None)):
    s = st(parse.get(case, []))
    if s:
        tgt = f"target ≥ {target / 1e6:.0f} M/s: {'met' if s[0] >= target else 'NOT met'} (median)" if target else ""
        row(G, f"{case}, beacons/s", cell(s, "M"), "—", "—", tgt)

G = "UDP JSON beacons → Kafka, flat out (`perf/bench_ingest.sh`; peer: rsyslog imudp → omkafka)"
for what, f, nd in (("delivered/s, end to end", lambda r: r["delivered_per_s"], 0),
                    ("loss (sent − delivered), of each blast", lambda r: r["loss"], 0),
                    ("daemon CPU-s per 1M delivered", lambda r: r["cpu_s_per_1m"], 2),
                    ("daemon RSS steady, MiB", lambda r: r["rss_steady_kb"] / 1024, 1),
                    ("daemon RSS peak, MiB", lambda r: r["rss_hwm_kb"] / 1024, 1)):
    b, p = ing("udp", "beacond", f), ing("udp", "rsyslog", f)
    if b or p:
        row(G, what, cell(b, nd), cell(p, nd), ratio(b, p))
G = "UDP JSON beacons → Kafka, paced at the same offered rate (peer: rsyslog)"
for what, f, nd in (("delivered/s", lambda r: r["delivered_per_s"], 0), ("loss", lambda r: r["loss"], 0),
                    ("daemon CPU-s per 1M delivered", lambda r: r["cpu_s_per_1m"], 2),
                    ("daemon RSS steady, MiB", lambda r: r["rss_steady_kb"] / 1024, 1),
                    ("daemon RSS peak, MiB", lambda r: r["rss_hwm_kb"] / 1024, 1)):
    b, p = ing("udp-paced", "beacond", f), ing("udp-paced", "rsyslog", f)
    if b or p:
        row(G, what, cell(b, nd), cell(p, nd), ratio(b, p))
G = "HTTP, one beacon per POST (`wrk -t1 -c64`; peer: nginx `return 204`)"
for what, f, nd in (("requests/s", lambda r: r["req_per_s"], 0),
                    ("latency p50, ms", lambda r: r["load"]["lat_p50_us"] / 1000, 3),
                    ("latency p99, ms", lambda r: r["load"]["lat_p99_us"] / 1000, 3),
                    ("latency p99.9, ms", lambda r: r["load"]["lat_p99.9_us"] / 1000, 3),
                    ("daemon CPU-s per 1M requests", lambda r: r["cpu_s_per_1m"], 2),
                    ("daemon RSS steady, MiB", lambda r: r["rss_steady_kb"] / 1024, 1),
                    ("daemon RSS peak, MiB", lambda r: r["rss_hwm_kb"] / 1024, 1)):
    b, p = ing("wrk", "beacond", f), ing("wrk", "nginx", f)
    if b or p:
        row(G, what, cell(b, nd), cell(p, nd), ratio(b, p))
G = "HTTP NDJSON, 50 beacons per POST (beacond only; no peer)"
for what, f, nd in (("beacons/s", lambda r: r["beacons_per_s"], 0),
                    ("daemon RSS steady, MiB", lambda r: r["rss_steady_kb"] / 1024, 1),
                    ("daemon RSS peak, MiB", lambda r: r["rss_hwm_kb"] / 1024, 1)):
    b = ing("blast", "beacond-ndjson", f)
    if b:
        row(G, what, cell(b, nd))

G = "Kafka → ClickHouse (`perf/bench_etl.sh`; peer: `kcat -C \\| clickhouse-client INSERT FORMAT JSONEachRow`)"
peer = etlv("peer", "rows_s")
for name in sorted(k for k in etl if k != "peer"):
    s = etlv(name, "rows_s")
    row(G, f"beacon-etl ({name[4:] if name.startswith('etl_') else name}), rows/s (after the group join)", cell(s), cell(peer), ratio(s, peer))
    j = etlv(name, "allin_rows_s")
    if j:
        row(G, f"beacon-etl ({name[4:]}), rows/s including the ~3 s consumer-group join", cell(j), cell(peer), ratio(j, peer))
    r = etlv(name, "rss_mib")
    if r:
        row(G, f"beacon-etl ({name[4:]}) RSS at the end of the run, MiB", cell(r, 0))

G = "DPDK fast path, one lcore (`perf/bench_dpdk.sh`, null sink; baseline: `bcn_worker_ingest` alone, no DPDK)"
for case in ("json", "bin", "bin200"):
    base = st([x[1] for x in dpdk.get(("ingest-only", case), [])])
    for path in ("pcap", "memif", "memif-zc"):
        w = st([x[0] for x in dpdk.get((path, case), [])])
        c = st([x[1] for x in dpdk.get((path, case), [])])
        if w:
            tgt = {"json": 5.0, "bin": 10.0}.get(case)
            row(G, f"{path} {case}: M beacons/s wall clock \\| per worker CPU-second", f"{cell(w, 2)} \\| {cell(c, 2)}",
                f"{cell(base, 2)} (per CPU-s)", ratio(c, base),
                f"target ≥ {tgt:.0f} M/s per lcore" if tgt else "")

G = "End to end: wire → beacond → Kafka → beacon-etl → ClickHouse (`perf/e2e_latency.sh`; no peer)"
if e2e:
    t = e2e["throughput"]
    row(G, "rows/s, first request → every accepted beacon a row (HTTP NDJSON)", cell(e2s(t["e2e_rows_per_s"])))
    for lab, d in e2e["latency"].items():
        row(G, f"send → queryable, {lab}: p50 / p99 ms", f"{cell(e2s(d['p50']))} / {cell(e2s(d['p99']))}", "—", "—",
            f"{d['probes']} probes, {d['lost']} not seen; poll every 50 ms")
    for phase, d in e2e["memory"].items():
        row(G, f"RSS steady / peak during {phase}, MiB: beacond \\| beacon-etl",
            f"{cell(e2s(d['beacond']['rss_steady_mib']), 1)} / {cell(e2s(d['beacond']['rss_peak_mib']), 1)} \\| "
            f"{cell(e2s(d['beacon_etl']['rss_steady_mib']), 1)} / {cell(e2s(d['beacon_etl']['rss_peak_mib']), 1)}")

# ------------------------------------------------------------------ plots
PLOTS = os.path.join(W, "plots")   # gnuplot scripts and data (build/, not committed)
os.makedirs(PLOTS, exist_ok=True)

def gnuplot(name, script):
    path = os.path.join(PLOTS, name + ".gp")
    open(path, "w").write(script)
    r = subprocess.run(["gnuplot", path], capture_output=True, text=True)
    if r.returncode:
        print(f"bench_report: gnuplot {name}: {r.stderr.strip()}", file=sys.stderr)
        return None
    return os.path.relpath(os.path.join(R, name + ".png"), os.path.dirname(os.path.abspath(a.doc)))

plots = []
tp = []   # label, ours(med,min,max), peer(med,min,max)
def add_tp(label, o, p):
    if o and p:
        tp.append((label, o, p))
add_tp("UDP -> Kafka\\ndelivered/s\\n(peer rsyslog)", ing("udp", "beacond", lambda r: r["delivered_per_s"]),
       ing("udp", "rsyslog", lambda r: r["delivered_per_s"]))
add_tp("UDP paced\\ndelivered/s\\n(peer rsyslog)", ing("udp-paced", "beacond", lambda r: r["delivered_per_s"]),
       ing("udp-paced", "rsyslog", lambda r: r["delivered_per_s"]))
add_tp("HTTP req/s\\n(peer nginx)", ing("wrk", "beacond", lambda r: r["req_per_s"]), ing("wrk", "nginx", lambda r: r["req_per_s"]))
for name in sorted(k for k in etl if k != "peer"):
    add_tp(f"Kafka -> CH rows/s\\n{name[4:]}\\n(peer kcat|ch-client)", etlv(name, "rows_s"), peer)
if tp:
    dat = os.path.join(PLOTS, "bench_throughput.dat")
    with open(dat, "w") as f:
        for i, (l, o, p) in enumerate(tp):
            f.write(f'{i} "{l}" {o[0]} {o[1]} {o[2]} {p[0]} {p[1]} {p[2]}\n')
    img = gnuplot("bench_throughput", f"""set terminal pngcairo noenhanced size 1100,520 font "DejaVu Sans,10"
set output "{os.path.join(R, 'bench_throughput.png')}"
set title "Throughput, ours vs the peer in the same run (median, bars: min-max)"
set bmargin 5
set ylabel "per second"
set style fill solid 0.8 border -1
set boxwidth 0.35
set grid ytics
set key top right
set yrange [0:*]
set xrange [-0.6:{len(tp) - 0.4}]
set format y "%.0s%c"
plot "{dat}" using ($1-0.18):3:xtic(2) with boxes title "ours (beacond / beacon-etl)", \\
     "" using ($1-0.18):3:4:5 with yerrorbars lc rgb "black" pt -1 notitle, \\
     "" using ($1+0.18):6 with boxes title "peer", \\
     "" using ($1+0.18):6:7:8 with yerrorbars lc rgb "black" pt -1 notitle
""")
    if img:
        plots.append(("Throughput against the peers", img))
mem = []
for label, k, lab in (("UDP flat out", "udp", "beacond"), ("UDP paced", "udp-paced", "beacond"), ("HTTP wrk", "wrk", "beacond"),
                      ("HTTP NDJSON", "blast", "beacond-ndjson")):
    s, pk = ing(k, lab, lambda r: r["rss_steady_kb"] / 1024), ing(k, lab, lambda r: r["rss_hwm_kb"] / 1024)
    if s:
        mem.append((f"beacond\\n{label}", s[0], pk[0] if pk else 0))
for label, k, lab in (("UDP flat out", "udp", "rsyslog"), ("HTTP wrk", "wrk", "nginx")):
    s, pk = ing(k, lab, lambda r: r["rss_steady_kb"] / 1024), ing(k, lab, lambda r: r["rss_hwm_kb"] / 1024)
    if s:
        mem.append((f"peer {lab}\\n{label}", s[0], pk[0] if pk else 0))
if e2e:
    for phase, d in e2e["memory"].items():
        phase = phase.replace("latency ", "").split(" (")[0]
        mem.append((f"beacond\\ne2e {phase}", d["beacond"]["rss_steady_mib"]["median"], d["beacond"]["rss_peak_mib"]["median"]))
        mem.append((f"beacon-etl\\ne2e {phase}", d["beacon_etl"]["rss_steady_mib"]["median"], d["beacon_etl"]["rss_peak_mib"]["median"]))
if mem:
    dat = os.path.join(PLOTS, "bench_memory.dat")
    with open(dat, "w") as f:
        for i, (l, s_, pk) in enumerate(mem):
            f.write(f'{i} "{l}" {s_} {pk}\n')
    img = gnuplot("bench_memory", f"""set terminal pngcairo noenhanced size 1300,520 font "DejaVu Sans,9"
set output "{os.path.join(R, 'bench_memory.png')}"
set title "Memory under each load: RSS steady (median sample) and peak, MiB (medians of the runs)"
set bmargin 5
set ylabel "MiB"
set style fill solid 0.8 border -1
set boxwidth 0.35
set grid ytics
set key top left
set yrange [0:*]
set xrange [-0.6:{len(mem) - 0.4}]
plot "{dat}" using ($1-0.18):3:xtic(2) with boxes title "steady", "" using ($1+0.18):4 with boxes title "peak"
""")
    if img:
        plots.append(("Memory of beacond and beacon-etl (and the peers) under each load", img))

# ------------------------------------------------------------------ markdown
L = []
p = L.append
p(BEGIN)
p("")
p(f"## Summary of the last `make bench` run ({M.get('date_utc', '?')})")
p("")
p(f"**Generated** by `make bench` (`perf/bench.sh` → `perf/bench_report.py`) from commit `{M.get('git', '?')}`, "
  f"in {int(M.get('total_s', 0)) // 60} min {int(M.get('total_s', 0)) % 60} s"
  + (f" (after waiting {M.get('waited_s')} s for the load to drop)" if M.get("waited_s", "0") != "0" else "")
  + ". This block is rewritten by every run; do not edit it by hand. Every figure is the **median of the runs "
  "(min – max)**, ours and the peer's from the same run (their runs interleaved), ratio = ours ÷ peer of the medians "
  "(above 1: more throughput, or more latency, CPU, memory, loss).")
p("")
p(f"Machine: {M.get('nproc', '?')} vCPU, {M.get('cpu', '?')}, {M.get('ram', '?')} RAM, kernel {M.get('kernel', '?')}, "
  f"{M.get('os', '?')}, {M.get('gcc', '?')}. Load average at the start {M.get('load_start', '?')}, at the end "
  f"{M.get('load_end', '?')}: **the machine is shared with other engineers' work**, so the absolute figures move "
  "between runs; the ratios from one run are the comparison. Knobs of this run (bounded to ~20 minutes): "
  f"`{a.knobs}`.")
p("")
p("| step | command | status | time, s | load average during (min / median / max) | raw output |")
p("|---|---|---|---:|---|---|")
cmds = {"parse": f"`build/bench-parse --seconds {a.knobs.split('PARSE_SECONDS=')[1].split()[0] if 'PARSE_SECONDS=' in a.knobs else '?'}` × {a.knobs.split('PARSE_RUNS=')[1].split()[0] if 'PARSE_RUNS=' in a.knobs else '?'}",
        "ingest": "`" + steps.get("ingest", {}).get("command", "perf/bench_ingest.sh").replace(" bash ", " ") + "`",
        "etl": "`" + steps.get("etl", {}).get("command", "sh perf/bench_etl.sh") + "`",
        "dpdk": "`" + steps.get("dpdk", {}).get("command", "sh perf/bench_dpdk.sh") + "`",
        "e2e": f"`{steps.get('e2e', {}).get('command', 'bash perf/e2e_latency.sh')}` (E2E_RUNS, E2E_COUNT above)"}
raw = {"parse": "[parse.log](results/parse.log)", "ingest": (f"[{os.path.basename(ingest_md)}]({ingest_md})" if ingest_md else "[ingest.log](results/ingest.log)"),
       "etl": "[etl.log](results/etl.log), [etl-runs.txt](results/etl-runs.txt)", "dpdk": "[dpdk.log](results/dpdk.log), [dpdk-runs.log](results/dpdk-runs.log)",
       "e2e": "[e2e.md](results/e2e.md)"}
for name in ("parse", "ingest", "etl", "dpdk", "e2e"):
    s = steps.get(name)
    if not s:
        continue
    secs = int(s["end"]) - int(s["start"]) if "start" in s else None
    p(f"| {name} | {cmds[name]} | {s.get('status')}{(': ' + s['reason']) if s.get('reason') else ''} | {secs if secs is not None else '—'} | "
      f"{load_during(name) or '—'} | {raw[name]} |")
p("")
p("| measurement | ours | peer / baseline | ratio | notes |")
p("|---|---:|---:|---:|---|")
last = None
for g, what, o, pe, r, n in rows:
    if g != last:
        p(f"| **{g}** | | | | |")
        last = g
    p(f"| {what} | {o} | {pe} | {r} | {n} |")
p("")
for title, img in plots:
    p(f"![{title}]({img})")
    p("")
p("The beacon-etl soak (20 M records, memory every second) is not part of the 20-minute suite; its plot and figures "
  "are in the beacon-etl section below (`sh perf/soak_etl.sh`).")
p("")
e2e_md = os.path.join(R, "e2e.md")
if e2e and os.path.exists(e2e_md):
    for ln in open(e2e_md).read().rstrip().splitlines():
        p(ln)
    p("")
p("The sections below are each benchmark owner's own account — method, analysis, and the figures of the runs they "
  "describe, each with its date and command; they are kept as they are by `make bench`. Where a figure there differs "
  "from the summary above, the summary is the newer measurement.")
p("")
p(END)
block = "\n".join(L)

doc = a.doc
if a.write != "1":
    print(block)
    sys.exit(0)
old = open(doc, encoding="utf-8").read() if os.path.exists(doc) else "# Performance results\n"
if BEGIN in old and END in old:
    new = old[:old.index(BEGIN)] + block + old[old.index(END) + len(END):]
else:
    lines = old.split("\n")
    i = 1 if lines and lines[0].startswith("# ") else 0
    new = "\n".join(lines[:i]) + ("\n\n" if i else "") + block + "\n\n" + "\n".join(lines[i:]).lstrip("\n")
tmp = doc + ".tmp"
open(tmp, "w", encoding="utf-8").write(new)
os.replace(tmp, doc)
print(f"bench_report: {doc}: summary of {len(rows)} measurements, {len(plots)} plots", file=sys.stderr)
