#!/usr/bin/env python3
"""perf/research/report.py - writes docs/storage-research.md (and its charts)
from the measurements of perf/research/run.sh (perf/research/results/).

    python3 perf/research/report.py --results perf/research/results --doc docs/storage-research.md

Every number in the document comes from results.tsv (one measurement per line:
PHASE STORE NAME JSON COMMAND); the charts are drawn with gnuplot into the
results directory.  Nothing here measures anything."""
import argparse, collections, json, os, statistics, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument("--results", required=True)
ap.add_argument("--doc", required=True)
a = ap.parse_args()
RD = a.results
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCDIR = os.path.dirname(os.path.abspath(a.doc))
REL = os.path.relpath(os.path.abspath(RD), DOCDIR)   # results dir as seen from the doc

rows = []
for ln in open(os.path.join(RD, "results.tsv"), encoding="utf-8"):
    f = ln.rstrip("\n").split("\t")
    if len(f) < 4:
        continue
    rows.append({"phase": f[0], "store": f[1], "name": f[2], "d": json.loads(f[3]), "cmd": f[4] if len(f) > 4 else ""})
meta = json.load(open(os.path.join(RD, "meta.json")))
run = json.load(open(os.path.join(RD, "run.json")))

def sel(phase, store=None, name=None):
    return [r for r in rows if r["phase"] == phase and (store is None or r["store"] == store)
            and (name is None or r["name"] == name)]

def one(phase, store, name):
    r = sel(phase, store, name)
    return r[0]["d"] if r else None

def suite(path):
    out = []
    for ln in open(os.path.join(ROOT, path), encoding="utf-8"):
        if ln.startswith("#") or not ln.strip():
            continue
        n, k, p, d = ln.rstrip("\n").split("\t")
        out.append({"name": n, "kind": k, "params": p, "desc": d})
    return out

SUITE = suite("perf/research/queries/suite.tsv")
VIEWS = suite("perf/research/queries/ch_views.tsv")
ROLLUP = []
for ln in open(os.path.join(ROOT, "perf/research/queries/ch_rollup.tsv"), encoding="utf-8"):
    if ln.startswith("#") or not ln.strip():
        continue
    n, k, pp, same, d = ln.rstrip("\n").split("\t")
    ROLLUP.append({"name": n, "kind": k, "params": pp, "same": same, "desc": d})
STORES = [("postgresql", "PostgreSQL"), ("clickhouse", "ClickHouse")]
TARGET_BRIEF_MS = 200.0
TARGET_API_P99_MS = 20.0
TARGET_API_RATE = 3000

# ------------------------------------------------------------------ formatting
def n0(v):
    return "n/a" if v is None else f"{v:,.0f}"

def ms(v):
    if v is None:
        return "n/a"
    if v < 1:
        return f"{v:.3f}"
    if v < 10:
        return f"{v:.2f}"
    if v < 100:
        return f"{v:.1f}"
    return f"{v:,.0f}"

def mib(b):
    return "n/a" if b is None else f"{b / 1048576:,.0f}"

def sec(v):
    return "n/a" if v is None else (f"{v:.2f}" if v < 10 else f"{v:,.1f}")

def ratio(x, y):
    if x is None or y is None or y == 0:
        return "n/a"
    r = x / y
    return f"{r:.2f}×" if r < 10 else f"{r:,.0f}×"

def lat(d, k="lat_ms"):
    return (d or {}).get(k) or {}

def med_min_max(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None, None, None
    return statistics.median(vals), min(vals), max(vals)

L = []
p = L.append

# ------------------------------------------------------------------ charts
PLOTS = os.path.join(ROOT, "build", "research", "plots")   # gnuplot scripts and data (not committed)
os.makedirs(PLOTS, exist_ok=True)

def gnuplot(script, name):
    path = os.path.join(PLOTS, name + ".gp")
    with open(path, "w") as f:
        f.write(script)
    r = subprocess.run(["gnuplot", path], capture_output=True, text=True)
    if r.returncode:
        print(f"report: gnuplot {name}: {r.stderr.strip()}", file=sys.stderr)
        return None
    return f"{REL}/{name}.png"

def bars(name, title, ylabel, cats, series, log=True, ymin=None):
    """clustered bars: cats = x labels, series = [(title, [values])]"""
    dat = os.path.join(PLOTS, name + ".dat")
    with open(dat, "w") as f:
        for i, c in enumerate(cats):
            f.write(c.replace(" ", "_") + "".join(
                "\t" + ("%g" % s[1][i] if s[1][i] is not None and s[1][i] > 0 else "NaN") for s in series) + "\n")
    cols = " , ".join(f'"{dat}" using {i + 2}:xtic(1) title "{t}"' for i, (t, _) in enumerate(series))
    return gnuplot(f"""set terminal pngcairo noenhanced size 1100,520 font "DejaVu Sans,10"
set output "{os.path.join(RD, name + '.png')}"
set title "{title}"
set ylabel "{ylabel}"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top left
set xtics rotate by -25
{"set logscale y" if log else ""}
{f"set yrange [{ymin}:*]" if ymin is not None else "set yrange [0:*]" if not log else ""}
plot {cols}
""", name)

# ------------------------------------------------------------------ header
p("# Storage research: ClickHouse vs PostgreSQL for viewing analytics and the product's reads")
p("")
p(f"> **Generated** by `make research` (`perf/research/run.sh`, then `perf/research/report.py`) on "
  f"{run['date']} from commit `{run['git']}`, in {run['total_s'] // 60} min {run['total_s'] % 60} s. "
  "Do not edit by hand: every figure below comes from `perf/research/results/results.tsv`, written by "
  "that run, and the commands that produced them are listed next to each table and in full at the end. "
  "To change the text, edit `perf/research/report.py` and run `make research` again.")
p("")
p(f"Machine: {run['nproc']} vCPU ({run['cpu']}), {run['ram_gib']} GiB RAM, kernel {run['kernel']}, Debian 12; "
  f"ClickHouse {run['clickhouse']} (Debian's `clickhouse-server`), PostgreSQL {run['postgresql']} (Debian's `postgresql-15`). "
  f"Load average before the run {run['load_before']}, after {run['load_after']}: **the machine is shared with other "
  "engineers' builds and benchmarks**, so every figure carries that noise; both stores were measured in the same run, "
  "one after the other, never at the same time (except where stated), with the same client (`perf/research/rbench.c`).")
p("")
p(f"Knobs of this run: `{run['knobs']}`.")
p("")

# ------------------------------------------------------------------ numbers for the decision
def warm(store, name):
    return lat(one("warm", store, name))

def cold_vals(store, name):
    return [lat(r["d"]).get("p50") for r in sel("cold", store, name)]

def rate_runs(store, mix="user"):
    out = []
    for r in sel("rate", store):
        if r["name"].startswith(mix):
            out.append(r["d"])
    return sorted(out, key=lambda d: d["rate_target"])

def sustained(d):
    return d["unsent"] == 0 and d["errors"] == 0 and d["achieved_per_s"] >= 0.95 * d["rate_target"]

def meets_api(d):
    return d is not None and sustained(d) and lat(d).get("p99") is not None and lat(d)["p99"] <= TARGET_API_P99_MS

def best_rate(store):
    ok = [d for d in rate_runs(store) if meets_api(d)]
    return max(ok, key=lambda d: d["rate_target"]) if ok else None

def at_rate(store, rate, mix="user"):
    for d in rate_runs(store, mix):
        if d["rate_target"] == rate:
            return d
    return None

top_rate = max([d["rate_target"] for d in rate_runs("postgresql")] or [TARGET_API_RATE])
an = {s: {q["name"]: warm(s, q["name"]).get("p50") for q in SUITE if q["kind"] == "analytic"} for s, _ in STORES}
ch_faster_analytics = all(an["clickhouse"].get(k) is not None and an["postgresql"].get(k) is not None
                          and an["clickhouse"][k] < an["postgresql"][k] for k in an["clickhouse"])
pg_top, ch_top, cht_top = at_rate("postgresql", top_rate), at_rate("clickhouse", top_rate), at_rate("clickhouse_tuned", top_rate)
pg_ok, ch_ok, cht_ok = meets_api(pg_top), meets_api(ch_top), meets_api(cht_top)

def size_total(store):
    t = 0
    for r in sel("size", store):
        if r["name"] in ("views", "likes", "reviews", "bookmarks"):
            t += r["d"].get("bytes_on_disk") or r["d"].get("total") or 0
    return t

ch_bytes, pg_bytes = size_total("clickhouse"), size_total("postgresql")

def rate_line(store, d):
    if d is None:
        return "not measured"
    l = lat(d)
    s = (f"{n0(d['achieved_per_s'])} req/s achieved of {n0(d['rate_target'])} offered, p50 {ms(l.get('p50'))} ms, "
         f"p99 {ms(l.get('p99'))} ms")
    if d["unsent"]:
        s += f", {n0(d['unsent'])} requests never sent within the time bound (overloaded: the real p99 is worse)"
    return s

def within_brief(store, name):
    """warm p99 and the slowest cold run both within the brief's 200 ms"""
    w = warm(store, name).get("p99")
    c = [v for v in cold_vals(store, name) if v is not None]
    return w is not None and w <= TARGET_BRIEF_MS and (not c or max(c) <= TARGET_BRIEF_MS)

def brief_sentence():
    qs = [q["name"] for q in SUITE if q["kind"] == "analytic"]
    ok = {s: [n for n in qs if within_brief(s, n)] for s, _ in STORES}
    lim = f"the brief's {TARGET_BRIEF_MS:.0f} ms (warm p99 and every cold run)"
    if not ok["clickhouse"] and not ok["postgresql"]:
        return f"On the raw heartbeats neither store answers these questions within {lim}."
    parts = []
    for s, label in STORES:
        if len(ok[s]) == len(qs):
            parts.append(f"{label} answers both within {lim}")
        elif ok[s]:
            parts.append(f"{label} answers only {', '.join(ok[s])} within {lim}")
        else:
            parts.append(f"{label} neither")
    return "; ".join(parts) + "."

def rollup_sentence():
    if not ROLLUP or not sel("rollup", "clickhouse"):
        return ""
    parts = []
    for q in ROLLUP:
        w = warm("clickhouse", q["name"])
        cv = [v for v in cold_vals("clickhouse", q["name"]) if v is not None]
        parts.append(f"{q['name'].split('_', 1)[1].replace('_', ' ')} {ms(w.get('p50'))} ms warm p50 "
                     f"({ms(w.get('p99'))} p99, {ms(max(cv)) if cv else 'n/a'} cold at worst)")
    allok = all(within_brief("clickhouse", q["name"]) for q in ROLLUP)
    return (f"With a rollup per (film, user) kept by a materialized view (measured below), ClickHouse answers "
            + " and ".join(parts) + f": {'within' if allok else 'still not all within'} the brief's {TARGET_BRIEF_MS:.0f} ms.")

def stream_sentence():
    b = {s: lat(one("stream", s, "stream_b"), "insert_ms").get("p50") for s, _ in STORES}
    if b["clickhouse"] is None or b["postgresql"] is None:
        return ""
    return (f"A 10,000-row batch, as beacon-etl sends once a second, is committed in {ms(b['clickhouse'])} ms (p50) by "
            f"ClickHouse and {ms(b['postgresql'])} ms by PostgreSQL into its indexed table.")

def cold_point_sentence(store):
    user = ["a3_user_history", "p1_is_liked", "p2_bookmarks", "p3_resume"]
    worst = max([v for n in user for v in cold_vals(store, n) if v is not None] or [None], key=lambda x: x or 0)
    if worst is None:
        return ""
    rating = [v for v in cold_vals(store, "a4_film_rating") if v is not None]
    return (f"Cold (after a restart, page cache dropped) the slowest per-user read took {ms(worst)} ms: "
            f"{'within' if worst <= TARGET_BRIEF_MS else 'OVER'} the brief's {TARGET_BRIEF_MS:.0f} ms"
            + (f" (a film's rating, below: up to {ms(max(rating))} ms)." if rating else "."))

# ------------------------------------------------------------------ decision (summary)
p("## Decision")
p("")
a1, a2 = "a1_most_watched", "a2_least_finished"
if ch_faster_analytics:
    p(f"**Analytics: ClickHouse** (the project's current store, `etl/schema/`). Over {n0(meta['views'])} view heartbeats "
      f"the analysts' whole-data queries answer warm in {ms(an['clickhouse'][a1])} ms (most watched) and "
      f"{ms(an['clickhouse'][a2])} ms (least finished), against {ms(an['postgresql'][a1])} and {ms(an['postgresql'][a2])} ms "
      f"in PostgreSQL ({ratio(an['postgresql'][a1], an['clickhouse'][a1])} and {ratio(an['postgresql'][a2], an['clickhouse'][a2])} faster), "
      f"and the four tables take {mib(ch_bytes)} MiB on disk against {mib(pg_bytes)} MiB "
      f"({ratio(pg_bytes, ch_bytes)} less). {brief_sentence()} {rollup_sentence()} {stream_sentence()}")
else:
    p(f"**Analytics:** on this run ClickHouse was not faster than PostgreSQL on every analytic query "
      f"(most watched {ms(an['clickhouse'].get(a1))} vs {ms(an['postgresql'].get(a1))} ms, least finished "
      f"{ms(an['clickhouse'].get(a2))} vs {ms(an['postgresql'].get(a2))} ms warm, ClickHouse vs PostgreSQL); see below.")
p("")
if pg_ok and not ch_ok:
    p(f"**The product's point reads (the read API, issue 10): PostgreSQL.** At {n0(top_rate)} requests/s of the read API's "
      f"per-user reads (is this film liked, resume position, bookmarks, history), PostgreSQL served "
      f"{rate_line('postgresql', pg_top)}: within the read API's target (p99 ≤ {TARGET_API_P99_MS:.0f} ms at "
      f"{TARGET_API_RATE:,} req/s). ClickHouse, on the same machine and the same mix: {rate_line('clickhouse', ch_top)}; "
      f"tuned for short queries (`max_threads=1`, uncompressed cache): {rate_line('clickhouse_tuned', cht_top)}.")
elif pg_ok and ch_ok:
    p(f"**The product's point reads:** both stores met the read API's target at {n0(top_rate)} req/s on this run "
      f"(PostgreSQL: {rate_line('postgresql', pg_top)}; ClickHouse: {rate_line('clickhouse', ch_top)}).")
else:
    p(f"**The product's point reads:** on this run neither store met p99 ≤ {TARGET_API_P99_MS:.0f} ms at {n0(top_rate)} req/s "
      f"(PostgreSQL: {rate_line('postgresql', pg_top)}; ClickHouse: {rate_line('clickhouse', ch_top)}; ClickHouse tuned: "
      f"{rate_line('clickhouse_tuned', cht_top)}).")
p("")
p("The reasons, what the read API should read from, and what it must not do are in [the decision in full](#the-decision-in-full).")
p("")

# ------------------------------------------------------------------ data set
p("## The data set")
p("")
p(f"Generated by `perf/research/gen.c` (deterministic: seed {meta['seed']}, scale {meta['scale']}), written once as TSV "
  f"files that both stores bulk-load unchanged, in {sec(run['gen_s'])} s (generation is skipped while scale, seed and "
  "generator are unchanged). The columns are exactly the records beacond produces "
  "(`docs/beacon-protocol.md` §6, the project's ClickHouse tables).")
p("")
p("| what | count |")
p("|---|---:|")
for k, label in (("users", "registered users"), ("anon_devices", "anonymous devices"), ("films", "films"),
                 ("views", "view heartbeats (`views`)"), ("view_sessions", "viewing sessions"),
                 ("registered_users_with_views", "registered users with at least one heartbeat"),
                 ("likes", "like events (`likes`: +1, −1, 0 = remove)"), ("bookmarks", "bookmark events (`bookmarks`: add/remove)"),
                 ("reviews", "review events (`reviews`: post, edit, delete)"), ("review_text_bytes", "review text, bytes"),
                 ("registered_users_with_any_row", "registered users with any row"),
                 ("stream_a", "extra heartbeats for the 100 ms insert stream"), ("stream_b", "extra heartbeats for the 1 s insert stream")):
    p(f"| {label} | {n0(meta.get(k))} |")
tsv = one("size", "input", "tsv")
p("")
p(f"Input: {mib(tsv and tsv['bytes'])} MiB of TSV. The audience: film popularity Zipf(1.0); user activity skewed; "
  "a session is a user (75 %) or an anonymous device (25 %) watching one film with a heartbeat every 30 s of playback; "
  "half the sessions are sampling (1–10 heartbeats), 35 % medium, 15 % to the end; 40 % resume; 3 % of heartbeats "
  "follow a forward seek. 15 % of likes rewrite a recent (user, film) pair; removes mostly undo a recent add; reviews "
  "are posted, edited (same review_id) and deleted. Times span 2026-08-01 to 2026-10-31 (three monthly partitions), "
  "the insert streams are in November. The query parameters (users, films, pairs) are sampled from the generated rows "
  "(`p_*.txt`); films for per-film reads are drawn by popularity, as film pages are visited; half of the like pairs are "
  "pairs that were never liked.")
p("")

# ------------------------------------------------------------------ schemas
p("## Schemas")
p("")
p("**ClickHouse**: the project's own schema, applied by `etl/schema/migrate.sh --mode single` "
  "(`etl/schema/V001__raw_tables.sql`, `docs/data-model.md`): one `ReplacingMergeTree` per beacon type, "
  "`PARTITION BY toYYYYMM(event_date)`, sorted by `(user_key, film_id, ts, event_id)` (views, likes, bookmarks) and "
  "`(film_id, review_id, ts, event_id)` (reviews), `index_granularity` 8192, the derived columns `user_key`, "
  "`event_time`, `event_date` `MATERIALIZED`. Server settings: `etl/clickhouse/ch-lib.sh` as `make run` uses them "
  "(`max_threads` 2, mark cache 64 MiB, uncompressed cache 32 MiB, off by default). As the server reported them:")
p("")
p("<details><summary>SHOW CREATE TABLE (ClickHouse)</summary>")
p("")
p("```sql")
chs = os.path.join(RD, "ch_schema.sql")
for ln in (open(chs).read().strip().splitlines() if os.path.exists(chs) else ["(not recorded)"]):
    p(ln.replace(", ", ",\n    ") if ln.startswith("CREATE TABLE") else ln)
p("```")
p("")
p("</details>")
p("")
p("**PostgreSQL 15**: the same columns (`perf/research/pg/schema.sql`); `views` partitioned by month on `ts` "
  "(retention by dropping a month, as in ClickHouse), the smaller event tables not partitioned; `user_key` a stored "
  "generated column; indexes built after the bulk load (`perf/research/pg/indexes.sql`), each in the order its read "
  "wants, so no read sorts more than one user's or one film's rows; primary keys on `event_id` so that an ETL's retried "
  "batch can be inserted with `ON CONFLICT DO NOTHING`. Server settings: `perf/research/pg/postgresql.conf` "
  "(`shared_buffers` 1 GB, `work_mem` 64 MB, 2 parallel workers, `jit` off, `fsync` and `synchronous_commit` on).")
p("")
for fn in ("schema.sql", "indexes.sql"):
    p(f"<details><summary>perf/research/pg/{fn}</summary>")
    p("")
    p("```sql")
    for ln in open(os.path.join(ROOT, "perf/research/pg", fn)).read().rstrip().splitlines():
        p(ln)
    p("```")
    p("")
    p("</details>")
    p("")
p("Each question is written once per store in `perf/research/queries/{pg,ch}/NAME.sql`, the way that store answers "
  "it best, with the data model's semantics: counts of distinct users, \"last write wins\" by "
  "`(ts, recv_ts, event_id)`, a like with score 0 or a bookmark `remove` undoes, a review delete hides.")
p("")
p("| query | what it answers |")
p("|---|---|")
for q in SUITE:
    p(f"| `{q['name']}` | {q['desc']} |")
p("")

# ------------------------------------------------------------------ bulk load
p("## Bulk insert")
p("")
p("One stream per table, tables one after the other (ClickHouse: `clickhouse-client ... INSERT INTO ugc.T (cols) FORMAT "
  "TabSeparated < T.tsv`, which parses on the client and sends blocks; PostgreSQL: `psql -c \"COPY T (cols) FROM STDIN\" "
  "< T.tsv` into the table without indexes, then the indexes, `VACUUM (ANALYZE)` and a `CHECKPOINT`). "
  "Times from the shell, wall clock.")
p("")
p("| table | rows | ClickHouse s | ClickHouse rows/s | PostgreSQL COPY s | PostgreSQL rows/s | ratio (rows/s) |")
p("|---|---:|---:|---:|---:|---:|---:|")
tot = {"clickhouse": 0.0, "postgresql": 0.0}
rows_tot = 0
load_chart = []
for t in ("views", "likes", "reviews", "bookmarks"):
    c, g = one("load", "clickhouse", t), one("load", "postgresql", t)
    if not c or not g:
        continue
    tot["clickhouse"] += c["seconds"]
    tot["postgresql"] += g["seconds"]
    rows_tot += c["rows"]
    cr, gr = c["rows"] / c["seconds"], g["rows"] / g["seconds"]
    load_chart.append((t, cr, gr))
    p(f"| {t} | {n0(c['rows'])} | {sec(c['seconds'])} | {n0(cr)} | {sec(g['seconds'])} | {n0(gr)} | {ratio(cr, gr)} |")
idx = sum(r["d"]["seconds"] for r in sel("load", "postgresql") if r["name"].startswith("index"))
va = one("load", "postgresql", "vacuum_analyze") or {"seconds": 0}
cp = one("load", "postgresql", "checkpoint") or {"seconds": 0}
mg = one("load", "clickhouse", "merges") or {"seconds": 0, "active_parts": None}
pg_ready = tot["postgresql"] + idx + va["seconds"] + cp["seconds"]
p(f"| **all four** | {n0(rows_tot)} | {sec(tot['clickhouse'])} | {n0(rows_tot / tot['clickhouse'] if tot['clickhouse'] else None)} | "
  f"{sec(tot['postgresql'])} | {n0(rows_tot / tot['postgresql'] if tot['postgresql'] else None)} | "
  f"{ratio(tot['postgresql'], tot['clickhouse'])} |")
p("")
p(f"PostgreSQL then built its indexes in {sec(idx)} s, `VACUUM (ANALYZE)` took {sec(va['seconds'])} s and `CHECKPOINT` "
  f"{sec(cp['seconds'])} s: **{sec(pg_ready)} s from the files to indexed, analysed tables** "
  f"({n0(rows_tot / pg_ready if pg_ready else None)} rows/s), against {sec(tot['clickhouse'])} s for ClickHouse "
  f"({ratio(pg_ready, tot['clickhouse'])}), whose data is queryable as each INSERT returns; its background merges "
  f"then ran for {sec(mg['seconds'])} s more (reads are correct during merges) and left {mg['active_parts']} active parts.")
p("")
p("| PostgreSQL index | s |")
p("|---|---:|")
for r in sel("load", "postgresql"):
    if r["name"].startswith("index"):
        p(f"| `{r['cmd'].rstrip(';')}` | {sec(r['d']['seconds'])} |")
p("")
img = bars("bulk_load", "Bulk insert, rows/s per table (one stream each)", "rows/s",
           [c[0] for c in load_chart], [("ClickHouse INSERT FORMAT TabSeparated", [c[1] for c in load_chart]),
                                        ("PostgreSQL COPY (no indexes yet)", [c[2] for c in load_chart])], log=False)
if img:
    p(f"![bulk insert]({img})")
    p("")

# ------------------------------------------------------------------ storage
p("## Storage on disk")
p("")
p("After the bulk load and ClickHouse's merges, before the insert streams. ClickHouse: `system.parts` of the active "
  "parts (`bytes_on_disk`; compressed with LZ4, the default); PostgreSQL: `pg_table_size` (heap + TOAST) and "
  "`pg_indexes_size` summed over each table's partitions.")
p("")
p("| table | rows | ClickHouse on disk, MiB | ClickHouse uncompressed, MiB | PostgreSQL table, MiB | PostgreSQL indexes, MiB | PostgreSQL total, MiB | PostgreSQL ÷ ClickHouse |")
p("|---|---:|---:|---:|---:|---:|---:|---:|")
st_chart = []
for t in ("views", "likes", "reviews", "bookmarks"):
    c, g = one("size", "clickhouse", t), one("size", "postgresql", t)
    if not c or not g:
        continue
    st_chart.append((t, c["bytes_on_disk"], g["table"], g["indexes"]))
    p(f"| {t} | {n0(c['rows'])} | {mib(c['bytes_on_disk'])} | {mib(c['uncompressed'])} | {mib(g['table'])} | "
      f"{mib(g['indexes'])} | {mib(g['total'])} | {ratio(g['total'], c['bytes_on_disk'])} |")
p(f"| **all four** | | {mib(ch_bytes)} | | | | {mib(pg_bytes)} | {ratio(pg_bytes, ch_bytes)} |")
du_c, du_p = one("size", "clickhouse", "du"), one("size", "postgresql", "du")
p("")
p(f"Whole directories (`du -sb`): ClickHouse's `ugc` database {mib(du_c and du_c['bytes'])} MiB; PostgreSQL's data "
  f"directory {mib(du_p and du_p['bytes'])} MiB, of which WAL {mib(du_p and du_p['wal'])} MiB.")
p("")
img = bars("storage", "Storage on disk per table, MiB", "MiB", [s[0] for s in st_chart],
           [("ClickHouse (compressed parts)", [s[1] / 1048576 for s in st_chart]),
            ("PostgreSQL table", [s[2] / 1048576 for s in st_chart]),
            ("PostgreSQL indexes", [s[3] / 1048576 for s in st_chart])], log=True)
if img:
    p(f"![storage]({img})")
    p("")

# ------------------------------------------------------------------ cross-check
p("## Both stores give the same answers")
p("")
p("Before any timing, each query ran on both stores with the same parameters (analytic: once; point: 25 parameter "
  "sets) and the results were compared row by row (`perf/research/compare.py`: numbers rounded to 3 decimals).")
p("")
p("| query | runs compared | equal | rows (PostgreSQL / ClickHouse) |")
p("|---|---:|---:|---|")
for q in SUITE:
    d = one("check", "both", q["name"])
    if d:
        p(f"| `{q['name']}` | {d['runs']} | {d['equal']}{'' if d['equal'] == d['runs'] else ' **(differs: ' + json.dumps(d.get('first_diff'), ensure_ascii=False) + ')**'} | {d['rows_pg']} / {d['rows_ch']} |")
p("")

# ------------------------------------------------------------------ cold
p("## Reads, cold")
p("")
p("**Cold** here means: the store was restarted (its own caches empty: PostgreSQL's shared buffers and catalog caches, "
  "ClickHouse's mark and uncompressed caches) and its data files were evicted from the kernel's page cache just before "
  "the query (`rbench evict DATADIR`: `fdatasync` + `posix_fadvise(POSIX_FADV_DONTNEED)` on every file of that store "
  "only, then checked with `mincore`: the resident bytes are in the command column of `results.tsv`); the connection is "
  "opened before the clock starts. The reads then come from the VM's virtual disk, which the hypervisor may itself "
  "cache: this is \"cold for the VM\", the state after a restart of the database host, not a cold SAN. "
  f"Each figure: median (min–max) of {int(run['knobs'].split('COLD_RUNS=')[1].split()[0])} such runs, each with other parameters.")
p("")
p("| query | PostgreSQL, ms | ClickHouse, ms | PostgreSQL ÷ ClickHouse | within 200 ms |")
p("|---|---:|---:|---:|---|")
cold_chart = []
for q in SUITE:
    if q["name"] == "p0_select1":
        continue
    g, c = med_min_max(cold_vals("postgresql", q["name"])), med_min_max(cold_vals("clickhouse", q["name"]))
    if g[0] is None and c[0] is None:
        continue
    cold_chart.append((q["name"], g[0], c[0]))
    okp = "PG" if g[2] is not None and g[2] <= TARGET_BRIEF_MS else ""
    okc = "CH" if c[2] is not None and c[2] <= TARGET_BRIEF_MS else ""
    p(f"| `{q['name']}` | {ms(g[0])} ({ms(g[1])}–{ms(g[2])}) | {ms(c[0])} ({ms(c[1])}–{ms(c[2])}) | {ratio(g[0], c[0])} | "
      f"{' '.join(x for x in (okp, okc) if x) or 'neither'} |")
p("")
p("Command per run: `rbench STORE query --conn CONN --sql perf/research/queries/STORE/NAME.sql [--params P] --runs 1 "
  "--offset K` after the restart and `rbench evict DATADIR`.")
p("")
img = bars("cold", "Cold reads (after restart + page-cache eviction), median ms, log scale", "ms",
           [c[0] for c in cold_chart], [("PostgreSQL", [c[1] for c in cold_chart]), ("ClickHouse", [c[2] for c in cold_chart])])
if img:
    p(f"![cold reads]({img})")
    p("")

# ------------------------------------------------------------------ warm
p("## Reads, warm")
p("")
res = {r["store"]: r["d"] for r in sel("cache")}
p("**Warm** means: every data file of the store was read once into the page cache (`cat`), then each query ran once "
  "per parameter set as a warm-up (not counted), then repeatedly on one connection, one at a time, each run with the "
  "next parameter set. Page-cache residency before the warm phase: "
  + "; ".join(f"{k} {mib(min(v['resident_bytes'], v['bytes']))} of {mib(v['bytes'])} MiB" for k, v in res.items()) + ". "
  f"Analytic queries: up to {run['knobs'].split('WARM_ANALYTIC_S=')[1].split()[0]} s (at least 3 runs, at most 10) each; "
  f"point queries: up to {run['knobs'].split('WARM_POINT_S=')[1].split()[0]} s (at least 50 runs, at most 2,000). "
  "Percentiles over the runs (nearest rank; p99 is only meaningful with ≥ 100 runs, the n column says how many). "
  "Latency is the client's: send, execute, receive the whole result, over loopback TCP.")
p("")
p("| query | store | n | p50 ms | p95 ms | p99 ms | max ms | p50 PG ÷ CH |")
p("|---|---|---:|---:|---:|---:|---:|---:|")
warm_chart = []
for q in SUITE:
    g, c, t = warm("postgresql", q["name"]), warm("clickhouse", q["name"]), warm("clickhouse_tuned", q["name"])
    warm_chart.append((q["name"], g.get("p50"), g.get("p99"), c.get("p50"), c.get("p99")))
    for label, d, rr in (("PostgreSQL", g, ratio(g.get("p50"), c.get("p50"))), ("ClickHouse", c, ""),
                         ("ClickHouse, tuned", t, "")):
        if not d:
            continue
        p(f"| `{q['name']}` | {label} | {n0(d.get('n'))} | {ms(d.get('p50'))} | {ms(d.get('p95'))} | {ms(d.get('p99'))} | "
          f"{ms(d.get('max'))} | {rr} |")
p("")
p("*ClickHouse, tuned*: the same server and queries with the query settings `max_threads=1&use_uncompressed_cache=1` "
  "(one thread per short query instead of a pipeline for two, and the 32 MiB cache of decompressed blocks), the usual "
  "advice for ClickHouse point reads; measured for the point queries only.")
p("")
p("Commands: `rbench STORE query --conn CONN --sql perf/research/queries/STORE/NAME.sql [--params P] --runs N --seconds S "
  "--min-runs M` (each row's exact command is in the appendix).")
p("")
img = bars("warm", "Warm reads, ms (log scale): p50 and p99 per query", "ms", [w[0] for w in warm_chart],
           [("PostgreSQL p50", [w[1] for w in warm_chart]), ("PostgreSQL p99", [w[2] for w in warm_chart]),
            ("ClickHouse p50", [w[3] for w in warm_chart]), ("ClickHouse p99", [w[4] for w in warm_chart])])
if img:
    p(f"![warm reads]({img})")
    p("")

# ------------------------------------------------------------------ views
p("## The project's answer views on ClickHouse, at this scale")
p("")
p("`etl/schema/R__answers.sql` defines the analysts' and the product's answers as views computed at query time "
  "(`docs/data-model.md` §5), exact under duplicates. Queried as they are (ClickHouse only; settings "
  "`max_execution_time=300&max_memory_usage=8000000000`), warm:")
p("")
p("| view query | what | n | p50 ms | max ms | error |")
p("|---|---|---:|---:|---:|---|")
for q in VIEWS:
    d = one("views", "clickhouse", q["name"]) or {}
    l = lat(d)
    p(f"| `{q['name']}` | {q['desc']} | {n0(l.get('n'))} | {ms(l.get('p50'))} | {ms(l.get('max'))} | {(d.get('error') or '')[:120]} |")
p("")

# ------------------------------------------------------------------ rollup
if ROLLUP and sel("rollup", "clickhouse"):
    p("## Pre-aggregated analytics in ClickHouse (a rollup)")
    p("")
    rb = one("size", "clickhouse", "views_by_user_film") or {}
    ins = [r for r in sel("rollup", "clickhouse") if r["cmd"].startswith("INSERT")]
    p("The whole-data questions above scan every heartbeat. The usual ClickHouse answer is a rollup kept up to date on "
      "insert: `perf/research/ch/rollup.sql` (research only, not in the project's schema) creates "
      "`ugc.views_by_user_film`, a `ReplacingMergeTree(max_position)` ordered by `(film_id, user_key)` with the "
      "furthest position and the duration per user and film, fed by a materialized view on `ugc.views` (so the insert "
      "streams below also fed it), and back-filled once from the loaded data"
      f"{' in ' + sec(ins[0]['d']['seconds']) + ' s' if ins else ''}. Until parts merge a pair may have several rows, "
      "so the queries use only aggregates a repeated pair cannot change (`uniqExact(user_key)`; finished = some row "
      "reached 90 %), the same duplicate-safety rule as the project's answers. It held "
      f"{n0(rb.get('rows'))} rows ({mib(rb.get('bytes_on_disk'))} MiB) for {n0(meta['views'])} heartbeats. Its answers "
      "were checked equal to the raw-data queries after the back-fill and again after both insert streams "
      + ("(" + ", ".join(f"`{q['name']}`: {'equal' if (one('check', 'rollup_after_streams', q['name']) or {}).get('equal') == 1 else 'DIFFERENT'}" for q in ROLLUP) + ")" if sel("check", "rollup_after_streams") else "(after the streams: not checked in this run)")
      + ".")
    p("")
    p("| query | same answer as | checked equal | cold, ms (median, min–max) | warm n | warm p50 ms | warm p99 ms | raw-data warm p50 ms | within 200 ms (warm p99 and cold) |")
    p("|---|---|---|---:|---:|---:|---:|---:|---|")
    for q in ROLLUP:
        c = one("check", "rollup", q["name"]) or {}
        cv = med_min_max(cold_vals("clickhouse", q["name"]))
        w = warm("clickhouse", q["name"])
        okb = within_brief("clickhouse", q["name"])
        p(f"| `{q['name']}` | `{q['same']}` | {'yes' if c.get('equal') == c.get('runs') and c.get('runs') else 'NO'} | "
          f"{ms(cv[0])} ({ms(cv[1])}–{ms(cv[2])}) | {n0(w.get('n'))} | {ms(w.get('p50'))} | {ms(w.get('p99'))} | "
          f"{ms(warm('clickhouse', q['same']).get('p50'))} | {'yes' if okb else 'no'} |")
    p("")

# ------------------------------------------------------------------ rate
p("## Point reads at the site's traffic")
p("")
p(f"Open-loop load (`rbench STORE rate`): {run['knobs'].split('RATE_THREADS=')[1].split()[0]} connections (a bounded "
  "pool, as the read API would keep), requests scheduled at a fixed total rate whatever the answers' speed, latency "
  "counted from each request's scheduled time, so a store that falls behind shows its queueing (no coordinated "
  f"omission); {run['knobs'].split('RATE_SECONDS=')[1].split()[0]} s per rate; a run stops at most 2 s after its last "
  "scheduled request, and requests that could not even be sent by then are counted as *unsent* (the store could not "
  "keep up; the latency of the ones sent is then a lower bound). The load generator runs on the same 2 vCPUs. "
  "Mixes (weights in `perf/research/results/mix.*.txt`): **user** = the read API's per-user reads — is this film "
  "liked 35 %, resume position 30 %, bookmarks 20 %, history 15 %; **page** = the same plus a film's rating (15 %), "
  "uncached.")
p("")
p("| store | mix | offered req/s | achieved req/s | unsent | p50 ms | p99 ms | p99.9 ms | max ms | meets p99 ≤ 20 ms |")
p("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
rate_chart = collections.defaultdict(list)
for store, label in (("postgresql", "PostgreSQL"), ("clickhouse", "ClickHouse"), ("clickhouse_tuned", "ClickHouse, tuned")):
    for r in sorted(sel("rate", store), key=lambda r: (not r["name"].startswith("user"), r["d"]["rate_target"])):
        d, l = r["d"], lat(r["d"])
        mix = "user" if r["name"].startswith("user") else "page"
        if mix == "user":
            rate_chart[label].append((d["rate_target"], l.get("p99"), d["achieved_per_s"]))
        p(f"| {label} | {mix} | {n0(d['rate_target'])} | {n0(d['achieved_per_s'])} | {n0(d['unsent'])} | {ms(l.get('p50'))} | "
          f"{ms(l.get('p99'))} | {ms(l.get('p999'))} | {ms(l.get('max'))} | {'yes' if meets_api(d) else 'no'} |")
p("")
pg_page = at_rate("postgresql", top_rate, "page")
if pg_page:
    pq = pg_page.get("per_query", {})
    p("Per query in PostgreSQL's *page* run at " + n0(top_rate) + " req/s (p50 / p99 ms): "
      + "; ".join(f"`{k}` {ms(v.get('p50'))} / {ms(v.get('p99'))}" for k, v in pq.items()) + ".")
    p("")
dat = os.path.join(PLOTS, "rate.dat")
with open(dat, "w") as f:
    for label, pts in rate_chart.items():
        f.write(f'"{label}"\n')
        for x, y, _ in pts:
            f.write(f"{x}\t{y if y else 'NaN'}\n")
        f.write("\n\n")
plots = ", ".join(f'"{dat}" index {i} using 1:2 with linespoints lw 2 pt 7 title "{label}"' for i, label in enumerate(rate_chart))
img = gnuplot(f"""set terminal pngcairo noenhanced size 1000,520 font "DejaVu Sans,10"
set output "{os.path.join(RD, 'rate.png')}"
set title "Point reads ('user' mix), p99 latency vs offered rate (open loop, {run['knobs'].split('RATE_THREADS=')[1].split()[0]} connections)"
set xlabel "offered requests/s"
set ylabel "p99 latency, ms (log)"
set logscale xy
set grid
set key top left
plot {plots}, {TARGET_API_P99_MS} with lines dt 2 lc rgb "red" title "read API target p99 20 ms"
""", "rate") if rate_chart else None
if img:
    p(f"![point reads under load]({img})")
    p("")

# ------------------------------------------------------------------ streams
p("## Steady-rate inserts, and reads while they stream in")
p("")
p("`rbench STORE stream`: batches of heartbeats at a fixed schedule into `views` (PostgreSQL: one `COPY FROM STDIN` "
  "transaction per batch into the indexed, partitioned table; ClickHouse: one `INSERT ... FORMAT TabSeparated` per "
  "batch over HTTP, i.e. one new part). *Insert* = sent → acknowledged (committed: visible to every reader from then "
  "on; the row count checked afterwards is in the last column); *lag* = scheduled → acknowledged (grows if the store "
  "falls behind the schedule); *late* = batches that could not even start within one interval of their slot.")
p("")
p("| pattern | store | rows | target rows/s | achieved rows/s | insert p50 ms | insert p99 ms | insert max ms | lag p99 ms | lag max ms | late batches | rows visible after |")
p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
stream_chart = []
for name, label in (("stream_a", "1,000 rows / 100 ms, reads running"), ("stream_b", "10,000 rows / 1 s, no reads")):
    for store, sl in STORES:
        d = one("stream", store, name)
        if not d:
            continue
        i, lg = lat(d, "insert_ms"), lat(d, "lag_ms")
        stream_chart.append((f"{sl} {name[-1]}", i.get("p50"), i.get("p99"), lg.get("max")))
        p(f"| {label} | {sl} | {n0(d['rows'])} | {n0(d['target_rows_per_s'])} | {n0(d['achieved_rows_per_s'])} | "
          f"{ms(i.get('p50'))} | {ms(i.get('p99'))} | {ms(i.get('max'))} | {ms(lg.get('p99'))} | {ms(lg.get('max'))} | "
          f"{d['late_batches']} | {n0(d.get('rows_visible_after', d['rows']))} |")
pa = one("size", "clickhouse", "parts_after_streams")
if pa:
    p("")
    p(f"ClickHouse `views` had {pa['active_parts']} active parts after both streams (each 100 ms insert makes a part; "
      "background merges fold them).")
p("")
p("ClickHouse's inserts into `views` also fed the rollup's materialized view (see above), as they would in production "
  "with it; PostgreSQL maintained its two indexes on `views`.")
p("")
p("While the 100 ms stream ran, the same reads (shorter budgets) and the point-read load at the highest rate each "
  "store had sustained alone:")
p("")
p("| query | store | n | p50 ms alone | p50 ms during inserts | p99 ms alone | p99 ms during inserts |")
p("|---|---|---:|---:|---:|---:|---:|")
for q in SUITE:
    for store, sl in STORES:
        w, d = warm(store, q["name"]), lat(one("warm_during_stream", store, q["name"]))
        if d:
            p(f"| `{q['name']}` | {sl} | {n0(d.get('n'))} | {ms(w.get('p50'))} | {ms(d.get('p50'))} | {ms(w.get('p99'))} | {ms(d.get('p99'))} |")
p("")
for store, sl in STORES:
    for r in sel("rate_during_stream", store):
        d = r["d"]
        p(f"- {sl}, *user* mix at {n0(d['rate_target'])} req/s during the inserts: {rate_line(store, d)}.")
p("")
img = bars("stream", "Steady-rate inserts: insert latency p50 / p99 and worst lag, ms (a = 1,000 rows/100 ms, b = 10,000 rows/1 s)",
           "ms", [s[0] for s in stream_chart], [("insert p50", [s[1] for s in stream_chart]),
                                               ("insert p99", [s[2] for s in stream_chart]),
                                               ("lag max", [s[3] for s in stream_chart])])
if img:
    p(f"![steady-rate inserts]({img})")
    p("")

# ------------------------------------------------------------------ vertica
p("## Vertica")
p("")
p("Vertica was the third candidate of the original brief. **It cannot be installed here**: it is not packaged in "
  "Debian, it is distributed only by its vendor (packages after registration, or the single-node Community Edition "
  "container image `opentext/vertica-ce` on Docker Hub), and this machine reaches only the Debian and npm registries. "
  "So it was not measured, and no Vertica figure below comes from this machine. Its published figures, as context "
  "only:")
p("")
p("- Vendor claim (*The Vertica Analytic Platform Technical Overview*, white paper, Vertica / HP, October 2011): in "
  "customer benchmarks it answered queries \"50 to 1,000 times faster than traditional DBMS solutions\". No data set, "
  "hardware or query is given with it, so it cannot be compared with the 6–13× measured here between ClickHouse and "
  "PostgreSQL on whole-data scans.")
p("- *System Limits* (Vertica 11.0 documentation, "
  "https://www.vertica.com/docs/11.0.x/HTML/Content/Authoring/SQLReferenceManual/SystemLimits.htm): at most 1,024 ROS "
  "containers per projection (its sorted, compressed files: like ClickHouse's parts, many small inserts must be "
  "batched), 50 concurrent connections per node by default (typically up to 1,024), up to 128 nodes without vendor "
  "assistance.")
p("- Licensing (*Managing License Warnings and Limits*, Vertica 9.2 documentation, "
  "https://www.vertica.com/docs/9.2.x/HTML/Content/Authoring/AdministratorsGuide/Licensing/ManagingLicenseWarningsAndLimits.htm): "
  "a licence carries a raw-data-size allowance that the database audits; ClickHouse and PostgreSQL are open source "
  "and already packaged for our Debian hosts.")
p("")
p("Architecturally Vertica is a columnar, sorted, compressed MPP store like ClickHouse, so it would compete for the "
  "analytics role, not for the product's point reads.")
p("")

# ------------------------------------------------------------------ decision in full
p("## The decision in full")
p("")
def w_(s, n, k="p50"):
    return ms(warm(s, n).get(k))
p("### Analytics: ClickHouse" if ch_faster_analytics else "### Analytics")
p("")
p(f"- **Speed on whole-data questions.** Most watched: ClickHouse {w_('clickhouse', a1)} ms vs PostgreSQL "
  f"{w_('postgresql', a1)} ms warm (p50); least finished: {w_('clickhouse', a2)} vs {w_('postgresql', a2)} ms. "
  "A columnar store reads only the 2–4 columns a question needs, compressed and sorted; PostgreSQL reads whole rows "
  "(about 200 bytes each here) and, with 2 cores, can use at most 2 parallel workers.")
p(f"- **Size.** {mib(ch_bytes)} MiB vs {mib(pg_bytes)} MiB for the same rows ({ratio(pg_bytes, ch_bytes)}): the "
  "analytics history (months to years of heartbeats) is where the volume is.")
p(f"- **Ingestion.** Bulk: {n0(rows_tot / tot['clickhouse'] if tot['clickhouse'] else None)} rows/s into ClickHouse vs "
  f"{n0(rows_tot / pg_ready if pg_ready else None)} rows/s into PostgreSQL to indexed tables. " + stream_sentence() + (
  f" With 1,000-row batches every 100 ms (a part per insert) ClickHouse's insert p99 was "
  f"{ms(lat(one('stream', 'clickhouse', 'stream_a'), 'insert_ms').get('p99'))} ms against "
  f"{ms(lat(one('stream', 'postgresql', 'stream_a'), 'insert_ms').get('p99'))} ms for PostgreSQL: ClickHouse wants "
  "few large inserts, which is how beacon-etl batches (one per second per table)."))
p("- **It is already the project's store**: the ETL, the schema with its duplicate-safe answers, the cluster layout "
  "(2 shards × 2 replicas) and the tests exist.")
p("- **What to change:** the project's answer views recompute every watched segment of every user on each query "
  "(see the view table: seconds at this scale, growing with the data). They are exact definitions, good for "
  "correctness tests and ad-hoc analysis, but dashboards over months of data need pre-aggregation: a rollup per "
  "(film, user) fed by a materialized view (as measured here for the furthest position; for the data model's "
  "watched segments, the same with the segment set per user and film, e.g. `groupUniqArrayState` in an "
  "`AggregatingMergeTree`, or a scheduled `INSERT … SELECT` per closed day), so that most-watched and least-finished "
  "read one row per user and film, not one per heartbeat. " + rollup_sentence())
p("")
ch_best, pg_best = best_rate("clickhouse"), best_rate("postgresql")
ch_max = max([d["achieved_per_s"] for d in rate_runs("clickhouse")] or [0])
cht_max = max([d["achieved_per_s"] for d in rate_runs("clickhouse_tuned")] or [0])
pg_a = one("stream", "postgresql", "stream_a") or {}
pg_b = one("stream", "postgresql", "stream_b") or {}
pq = (pg_page or {}).get("per_query", {})
if pg_ok and not ch_ok:
    p("### The product's point reads (the read API, issue 10): PostgreSQL")
else:
    p("### The product's point reads (the read API, issue 10)")
p("")
p(f"- **ClickHouse {'cannot serve' if not ch_ok else 'can serve'} them at the site's rate on this machine.** Each point "
  "read costs it milliseconds of CPU whatever the result size: it reads at least one 8,192-row granule of each column it "
  "needs in each monthly partition, and sets up a query pipeline (warm, alone: is-liked p50 "
  f"{w_('clickhouse', 'p1_is_liked')} ms, resume {w_('clickhouse', 'p3_resume')} ms, bookmarks "
  f"{w_('clickhouse', 'p2_bookmarks')} ms; `SELECT 1` alone {w_('clickhouse', 'p0_select1')} ms). Under the open-loop "
  f"load it served at most {n0(ch_max)} req/s ({n0(cht_max)} req/s tuned) and "
  f"{'met p99 ≤ 20 ms up to ' + n0(ch_best['rate_target']) + ' req/s' if ch_best else 'met p99 ≤ 20 ms at no swept rate'}; "
  "beyond its capacity the queue grows until requests cannot even be sent. It is built for few large queries, not "
  "thousands of tiny ones per second.")
p(f"- **PostgreSQL serves them from B-tree indexes** (warm p50: is-liked {w_('postgresql', 'p1_is_liked')} ms, resume "
  f"{w_('postgresql', 'p3_resume')} ms, bookmarks {w_('postgresql', 'p2_bookmarks')} ms, history "
  f"{w_('postgresql', 'a3_user_history')} ms) and, at {n0(top_rate)} req/s of the per-user mix: "
  f"{rate_line('postgresql', pg_top)} — {'within' if pg_ok else 'NOT within'} the read API's target of p99 ≤ "
  f"{TARGET_API_P99_MS:.0f} ms. {cold_point_sentence('postgresql')}")
a4p99 = pq.get("a4_film_rating", {}).get("p99")
p(f"- **A film's rating computed from the events is the expensive read.** A popular film has a large share of all "
  "likes; \"last score per user\" over them is a scan of that film's likes in both stores (PostgreSQL warm p50 "
  f"{w_('postgresql', 'a4_film_rating')} ms, p99 {w_('postgresql', 'a4_film_rating', 'p99')} ms; ClickHouse "
  f"{w_('clickhouse', 'a4_film_rating')} / {w_('clickhouse', 'a4_film_rating', 'p99')} ms). With it in the mix "
  f"(*page*, uncached) PostgreSQL's p99 at {n0(top_rate)} req/s was {ms(lat(pg_page).get('p99')) if pg_page else 'n/a'} ms"
  f"{' (the rating alone: ' + ms(a4p99) + ' ms p99)' if a4p99 is not None else ''}. So the read API must not compute it "
  "per request: keep per-film counters (likes, dislikes, reviews, rating sum) updated by the writer that upserts the "
  "current like and review state, or serve it from its fixed-size cache with a short TTL (a rating a few seconds old "
  "is fine; a user's own like is not, see below).")
if pg_ok:
    p("- **What the read API should read from:** PostgreSQL 15, fed by beacon-etl (a second sink, or a second consumer "
      "group on `ugc.actions` and `ugc.views`), holding the product's *current state* rather than the event history: "
      "`likes (user_id, film_id) → score, ts` and `bookmarks (user_id, film_id) → ts`, upserted \"last write wins\" on "
      "`(ts, recv_ts, event_id)` (`INSERT … ON CONFLICT (user_id, film_id) DO UPDATE … WHERE (excluded.ts, …) > (likes.ts, …)`, "
      "which also makes a retried batch idempotent); `reviews` keyed by `review_id` with their author; "
      "`progress (user_key, film_id) → position, duration, last_ts` upserted from heartbeats (one row per user and "
      "film instead of one per 30 s; with an index on `(user_key, last_ts DESC)` it also serves history and continue "
      "watching); `film_counters (film_id)`. The figures above were measured on *event* tables with the indexes of "
      "`perf/research/pg/indexes.sql`, so they are an upper bound for these smaller state tables, where each read "
      "touches one row or one user's rows. The heartbeats for analytics stay in ClickHouse only; the read API never "
      "queries ClickHouse.")
else:
    p("- **What the read API should read from:** on this run no store met the read API's target at the site's rate, "
      "so the measured closest one is named here with its gap: PostgreSQL reached "
      f"{rate_line('postgresql', pg_top)}. Re-run `make research` on a quieter machine before building on it; "
      "the design of state tables below applies either way.")
insert_p99 = lat(pg_b, "insert_ms").get("p99") or lat(pg_a, "insert_ms").get("p99")
p(f"- **A user's own writes.** A like reaches the store through beacond (`kafka.linger_ms` 50) → Kafka → beacon-etl's "
  f"batch (`batch_ms` 1000 by default: a batch is inserted 1 s after its first record) → the insert (measured here in "
  f"PostgreSQL: a 1,000-row batch committed in {ms(lat(pg_a, 'insert_ms').get('p50'))} ms p50 / "
  f"{ms(lat(pg_a, 'insert_ms').get('p99'))} ms p99, a 10,000-row batch in {ms(lat(pg_b, 'insert_ms').get('p50'))} ms "
  f"p50 / {ms(lat(pg_b, 'insert_ms').get('p99'))} ms p99). The bound to state and test in issue 10 is therefore about "
  f"50 + 1,000 + {ms(insert_p99)} ms plus Kafka's own delay (`make bench`'s end-to-end section measures send → "
  "queryable for ClickHouse); to show a user's own like at once, the read API can overlay the user's recent writes "
  "(the site posts them through it or beside it) or the ETL can run a shorter `batch_ms` for `ugc.actions`.")
p("- **Why not ClickHouse with a cache in front?** A cache pays for shared keys (a film's rating); the per-user reads "
  "(is *this* film liked by *me*, *my* bookmarks, *my* position) have little reuse across users, so the misses would "
  f"reach ClickHouse at nearly the full rate, far above the {n0(ch_max)} req/s it served at most here.")
p("")

# ------------------------------------------------------------------ reproduce
p("## Reproduce")
p("")
p("```sh")
p("make research                                   # = perf/research/run.sh (root; installs postgresql-15 etc. if missing)")
p("RESEARCH_SCALE=0.1 perf/research/run.sh         # a tenth of the data: a few minutes")
p("COLD_RUNS=5 RATES='300 1000 3000 6000' perf/research/run.sh")
p("```")
p("")
p(f"This run: `{run['command']}` with `{run['knobs']}`, {run['total_s']} s in total. PostgreSQL runs as the `postgres` "
  "user from `build/research/pg` on 127.0.0.1 (initdb + pg_ctl, trust authentication on loopback), ClickHouse from "
  "`build/research/ch` (`etl/clickhouse/ch-single.sh`); both are stopped and their data directories removed at the "
  "end (`KEEP=1` keeps the directories). The generated data stays in `build/research/data` and is reused.")
p("")
p("<details><summary>Every measurement's command, as run</summary>")
p("")
p("```")
for r in rows:
    if r["cmd"]:
        p(f"[{r['phase']} {r['store']} {r['name']}] {r['cmd']}")
p("```")
p("")
p("</details>")
p("")
os.makedirs(DOCDIR, exist_ok=True)
with open(a.doc, "w", encoding="utf-8") as f:
    f.write("\n".join(L) + "\n")
print(f"report: wrote {a.doc} ({len(L)} lines)")
