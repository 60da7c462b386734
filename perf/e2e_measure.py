#!/usr/bin/env python3
"""perf/e2e_measure.py - the measuring half of perf/e2e_latency.sh: beacons
from the wire to rows in ClickHouse through the whole pipeline (beacond ->
kafka-dev -> beacon-etl -> ClickHouse), and the latency from send to queryable.

  e2e_measure.py throughput --blast CMD ...   a bounded load; rows/s until every
                                              accepted beacon is a row
  e2e_measure.py latency --rate R --seconds S [--bg CMD]
                                              marked beacons at a steady rate, polled
                                              for in ClickHouse: send -> queryable
  e2e_measure.py report --results DIR --md FILE --json FILE

Both measuring modes sample VmRSS of beacond and beacon-etl every 100 ms (steady =
median sample, peak = the largest sample) and write one JSON file (--out)."""
import argparse, json, os, shlex, socket, statistics, subprocess, sys, threading, time, urllib.request, uuid

def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return 0

def hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                if ln.startswith("VmHWM:"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return 0

class Sampler(threading.Thread):
    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids, self.samples, self.stop = pids, {k: [] for k in pids}, False
    def run(self):
        while not self.stop:
            for k, p in self.pids.items():
                v = rss_kb(p)
                if v:
                    self.samples[k].append(v)
            time.sleep(0.1)
    def result(self):
        out = {}
        for k, v in self.samples.items():
            out[k] = {"rss_steady_mib": statistics.median(v) / 1024 if v else None,
                      "rss_peak_mib": max(v) / 1024 if v else None, "samples": len(v),
                      "vmhwm_mib": hwm_kb(self.pids[k]) / 1024}
        return out

def scrape(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        txt = r.read().decode()
    m = {}
    for ln in txt.splitlines():
        if ln and not ln.startswith("#"):
            k, _, v = ln.rpartition(" ")
            try:
                m[k] = float(v)
            except ValueError:
                pass
    return m

def msum(m, name, **lab):
    t = 0.0
    for k, v in m.items():
        n, _, l = k.partition("{")
        if n == name and all(f'{a}="{b}"' in l for a, b in lab.items()):
            t += v
    return t

def chq(url, sql, timeout=10):
    req = urllib.request.Request(url + "/", data=sql.encode(), method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read().decode()

TABLES = ("views", "player_events", "page_views", "actions", "likes", "reviews", "bookmarks")

def ch_rows(url):
    return int(chq(url, "SELECT " + " + ".join(f"(SELECT count() FROM ugc.{t})" for t in TABLES)).strip())

def pct(v, p):
    v = sorted(v)
    if not v:
        return None
    k = max(1, min(len(v), int(-(-p * len(v) // 1))))
    return v[k - 1]

# ------------------------------------------------------------------ throughput
def cmd_throughput(a):
    s = Sampler({"beacond": a.beacond_pid, "beacon_etl": a.etl_pid})
    m0 = scrape(a.beacond_metrics)
    rows0 = ch_rows(a.ch)
    s.start()
    t0 = time.monotonic()
    with open(a.out + ".blast.txt", "w") as f:
        rc = subprocess.call(shlex.split(a.blast), stdout=f, stderr=subprocess.STDOUT)
    t_blast = time.monotonic()
    m1 = scrape(a.beacond_metrics)
    accepted = msum(m1, "beacond_beacons_accepted_total") - msum(m0, "beacond_beacons_accepted_total")
    want = rows0 + accepted
    end = time.monotonic() + a.drain_timeout
    have = ch_rows(a.ch)
    while have < want and time.monotonic() < end:
        time.sleep(0.1)
        have = ch_rows(a.ch)
    t_rows = time.monotonic()
    s.stop = True
    s.join()
    blast = {}
    for ln in open(a.out + ".blast.txt"):
        c = ln.split()
        if len(c) == 2:
            blast[c[0]] = c[1]
    res = {"kind": "throughput", "run": a.run, "blast_rc": rc, "sent": int(float(blast.get("sent", 0))),
           "accepted": accepted, "rows": have - rows0, "complete": have >= want,
           "blast_s": t_blast - t0, "e2e_s": t_rows - t0, "drain_s": t_rows - t_blast,
           "ingest_per_s": accepted / (t_blast - t0), "e2e_rows_per_s": (have - rows0) / (t_rows - t0),
           "http_503": int(float(blast.get("http_status_503", 0))), "mem": s.result()}
    json.dump(res, open(a.out, "w"), indent=1)
    print(f"e2e throughput run {a.run}: {accepted:.0f} accepted, {have - rows0} rows in ClickHouse after "
          f"{res['e2e_s']:.2f} s = {res['e2e_rows_per_s']:,.0f} rows/s (load generator {res['blast_s']:.2f} s, "
          f"drain {res['drain_s']:.2f} s); RSS beacond {res['mem']['beacond']['rss_peak_mib']:.0f} MiB peak, "
          f"beacon-etl {res['mem']['beacon_etl']['rss_peak_mib']:.0f} MiB peak", file=sys.stderr)

# ------------------------------------------------------------------ latency
def cmd_latency(a):
    anon, film = str(uuid.uuid4()), str(uuid.uuid4())
    s = Sampler({"beacond": a.beacond_pid, "beacon_etl": a.etl_pid})
    s.start()
    bg = None
    if a.bg:
        bg = subprocess.Popen(shlex.split(a.bg), stdout=open(a.out + ".bg.txt", "w"), stderr=subprocess.STDOUT)
        time.sleep(1.0)   # the background load is running before the first probe
    sent, seen = {}, {}
    stop = threading.Event()
    polls = [0]
    def poller():
        sql = (f"SELECT position_ms FROM ugc.views WHERE user_key = toUUID('{anon}') AND film_id = toUUID('{film}') "
               "FORMAT TabSeparated")
        while not stop.is_set():
            t = time.monotonic()
            try:
                out = chq(a.ch, sql)
            except Exception:
                out = ""
            now = time.monotonic()
            polls[0] += 1
            for ln in out.split():
                seq = int(ln)
                if seq not in seen:
                    seen[seq] = now
            time.sleep(max(0.0, a.poll - (now - t)))
    th = threading.Thread(target=poller, daemon=True)
    th.start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    host, port = a.udp.rsplit(":", 1)
    n = int(a.rate * a.seconds)
    t0 = time.monotonic()
    for i in range(n):
        t = t0 + i / a.rate
        d = t - time.monotonic()
        if d > 0:
            time.sleep(d)
        seq = (i + 1) * 1000   # position_ms: unique per probe
        b = json.dumps({"type": "view", "ts": int(time.time() * 1000), "anon_id": anon,
                        "session_id": str(uuid.uuid4()), "film_id": film, "position_ms": seq,
                        "duration_ms": 600000000}).encode()
        sent[seq] = time.monotonic()
        sock.sendto(b, (host, int(port)))
    end = time.monotonic() + a.wait
    while len(seen) < n and time.monotonic() < end:
        time.sleep(0.05)
    stop.set()
    th.join(5)
    if bg:
        try:
            bg.wait(timeout=a.seconds + 30)
        except subprocess.TimeoutExpired:
            bg.terminate()
            bg.wait()
    s.stop = True
    s.join()
    lat = [(seen[k] - sent[k]) * 1000 for k in sent if k in seen]
    res = {"kind": "latency", "run": a.run, "label": a.label, "probes": n, "seen": len(lat), "lost": n - len(lat),
           "rate": a.rate, "poll_ms": a.poll * 1000, "polls": polls[0], "bg": a.bg or "",
           "lat_ms": {"p50": pct(lat, .5), "p90": pct(lat, .9), "p99": pct(lat, .99), "max": max(lat) if lat else None,
                      "min": min(lat) if lat else None, "n": len(lat)},
           "mem": s.result()}
    json.dump(res, open(a.out, "w"), indent=1)
    l = res["lat_ms"]
    print(f"e2e latency {a.label} run {a.run}: {len(lat)}/{n} probes queryable, send -> queryable p50 {l['p50']:.0f} ms, "
          f"p99 {l['p99']:.0f} ms, max {l['max']:.0f} ms (poll every {a.poll * 1000:.0f} ms)" if lat else
          f"e2e latency {a.label} run {a.run}: no probe became queryable", file=sys.stderr)

# ------------------------------------------------------------------ report
def stat(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}

def cell(s, nd=0):
    if not s:
        return "n/a"
    f = f"{{:,.{nd}f}}"
    if s["n"] == 1:
        return f.format(s["median"])
    return f"{f.format(s['median'])} ({f.format(s['min'])} – {f.format(s['max'])})"

def cmd_report(a):
    rs = [json.load(open(os.path.join(a.results, f))) for f in sorted(os.listdir(a.results)) if f.endswith(".json")]
    info = json.load(open(os.path.join(a.results, "info.json.txt")))
    tp = [r for r in rs if r["kind"] == "throughput"]
    lat = {}
    for r in rs:
        if r["kind"] == "latency":
            lat.setdefault(r["label"], []).append(r)
    out = {"info": info, "throughput": {}, "latency": {}, "memory": {}}
    out["throughput"] = {k: stat([r[k] for r in tp]) for k in ("e2e_rows_per_s", "ingest_per_s", "e2e_s", "drain_s", "accepted", "rows")}
    out["throughput"]["complete_runs"] = sum(1 for r in tp if r["complete"])
    out["throughput"]["runs"] = len(tp)
    for lab, rr in lat.items():
        out["latency"][lab] = {k: stat([r["lat_ms"][k] for r in rr]) for k in ("p50", "p90", "p99", "max")}
        out["latency"][lab]["lost"] = sum(r["lost"] for r in rr)
        out["latency"][lab]["probes"] = sum(r["probes"] for r in rr)
    for phase, rr in [("throughput", tp)] + [(f"latency {k}", v) for k, v in lat.items()]:
        out["memory"][phase] = {d: {k: stat([r["mem"][d][k] for r in rr]) for k in ("rss_steady_mib", "rss_peak_mib")}
                                for d in ("beacond", "beacon_etl")}
    json.dump(out, open(a.json, "w"), indent=1)
    L = []
    p = L.append
    p(f"## End to end: the wire → ClickHouse (beacond → kafka-dev → beacon-etl → ClickHouse)")
    p("")
    p(f"Generated by `{info['command']}` on {info['date']} ({info['total_s']} s). Machine: {info['machine']}. "
      f"Load average before {info['load_before']}, after {info['load_after']}. Every figure: median (min – max) of "
      f"{info['runs']} runs; each run has a fresh kafka-dev, beacond and beacon-etl (the configuration `make run` uses: "
      "beacond socket driver, `kafka.linger_ms` 50; beacon-etl defaults, `batch_ms` 1000, 3 streams; kafka-dev 16 "
      "partitions per topic), one ClickHouse for all runs (its tables truncated before each run). No peer: nothing "
      "else in this suite carries a beacon from the wire to a queryable row.")
    p("")
    t = out["throughput"]
    p(f"**Throughput** (`{info['blast']}`: HTTP NDJSON batches of 50, 8 connections, the synthetic audience, all valid; "
      "lossless: a full ring answers 503 and the load generator retries): from the first request to the moment "
      "ClickHouse holds a row for every accepted beacon.")
    p("")
    p("| figure | value |")
    p("|---|---:|")
    p(f"| beacons accepted per run | {cell(t['accepted'])} |")
    p(f"| **rows/s, wire → ClickHouse** | **{cell(t['e2e_rows_per_s'])}** |")
    p(f"| beacons/s accepted by beacond (load generator's time) | {cell(t['ingest_per_s'])} |")
    p(f"| seconds until the last row, after the load generator finished | {cell(t['drain_s'], 2)} |")
    p(f"| runs where every accepted beacon became a row | {t['complete_runs']} of {t['runs']} |")
    p("")
    p(f"**Latency, send → queryable**: marked view beacons (a fresh `anon_id` and `film_id` per run, `position_ms` = "
      f"sequence number) sent over UDP at {info['probe_rate']}/s for {info['probe_seconds']} s; a poller queries "
      f"ClickHouse every {info['poll_ms']} ms (`SELECT position_ms FROM ugc.views WHERE user_key = … AND film_id = …`, "
      "a primary-key read) and stamps each probe when first seen. Latency = first seen − sent, so "
      f"it includes up to one poll interval ({info['poll_ms']} ms) of observation delay. *idle*: probes only; *loaded*: "
      f"probes while `{info['bg']}` runs.")
    p("")
    p("| load | probes (all runs) | not seen within the wait | p50 ms | p90 ms | p99 ms | max ms |")
    p("|---|---:|---:|---:|---:|---:|---:|")
    for lab, d in out["latency"].items():
        p(f"| {lab} | {d['probes']} | {d['lost']} | {cell(d['p50'])} | {cell(d['p90'])} | {cell(d['p99'])} | {cell(d['max'])} |")
    p("")
    idle = out["latency"].get("idle") or {}
    p("Where the time goes: with the defaults beacon-etl inserts a batch `batch_ms` = 1 s after the batch's first record "
      "(or sooner when it fills), so a beacon waits between 0 and 1 s for its batch; beacond adds its `kafka.linger_ms` "
      f"(50 ms) and the INSERT its own time. Hence p50 {cell(idle.get('p50'))} ms and p99 {cell(idle.get('p99'))} ms "
      "idle: a shorter `batch_ms` lowers both, at the price of more, smaller inserts.")
    p("")
    p("**Memory** (VmRSS sampled every 100 ms during each load; steady = median sample, peak = largest sample; the "
      "three loads run one after another in the same processes, so a load's peak may be memory the previous one left "
      "and the allocator had not returned yet), MiB:")
    p("")
    p("| load | beacond steady | beacond peak | beacon-etl steady | beacon-etl peak |")
    p("|---|---:|---:|---:|---:|")
    for phase, d in out["memory"].items():
        p(f"| {phase} | {cell(d['beacond']['rss_steady_mib'], 1)} | {cell(d['beacond']['rss_peak_mib'], 1)} | "
          f"{cell(d['beacon_etl']['rss_steady_mib'], 1)} | {cell(d['beacon_etl']['rss_peak_mib'], 1)} |")
    p("")
    p("Commands (ports as used):")
    p("")
    p("```")
    for c in info["commands"]:
        p(c)
    p("```")
    open(a.md, "w").write("\n".join(L) + "\n")
    print("\n".join(L))

def main():
    ap = argparse.ArgumentParser()
    sp = ap.add_subparsers(dest="sub", required=True)
    t = sp.add_parser("throughput")
    l = sp.add_parser("latency")
    for x in (t, l):
        x.add_argument("--run", type=int, required=True)
        x.add_argument("--beacond-pid", type=int, required=True)
        x.add_argument("--etl-pid", type=int, required=True)
        x.add_argument("--ch", required=True)
        x.add_argument("--out", required=True)
    t.add_argument("--beacond-metrics", required=True)
    t.add_argument("--blast", required=True)
    t.add_argument("--drain-timeout", type=float, default=120)
    l.add_argument("--label", required=True)
    l.add_argument("--udp", required=True)
    l.add_argument("--rate", type=float, default=10)
    l.add_argument("--seconds", type=float, default=15)
    l.add_argument("--poll", type=float, default=0.05)
    l.add_argument("--wait", type=float, default=30)
    l.add_argument("--bg", default="")
    r = sp.add_parser("report")
    r.add_argument("--results", required=True)
    r.add_argument("--md", required=True)
    r.add_argument("--json", required=True)
    a = ap.parse_args()
    {"throughput": cmd_throughput, "latency": cmd_latency, "report": cmd_report}[a.sub](a)

main()
