#!/usr/bin/env bash
# perf/bench_ingest.sh - beacond against its peers, side by side, in one run
# on this machine (loopback only; every load is bounded in count and time).
#
#   1. UDP JSON beacons -> Kafka: beacond (socket driver, 1 worker, 1 Kafka
#      thread, linger 50 ms (the default; BEACOND_LINGER_MS), lz4) vs rsyslog imudp -> omkafka
#      (/work/shared/peers/rsyslog-omkafka.conf).  Same datagrams
#      (beacon-blast --mode udp-json, same seed, flat out), same kafka-dev.
#      Delivered = the producer's own delivery counter (beacond /metrics
#      persisted, omkafka impstats "acked"); the end of the run = the moment
#      the broker's end offsets (polled every 20 ms) stop moving.  Flat out,
#      then paced at UDP_RATE/s (a rate both should sustain: CPU per beacon
#      at equal load).
#   2. HTTP: beacond (1 worker) vs nginx `return 204`
#      (/work/shared/peers/nginx-204.conf) under wrk -t1 -c64 -d8s with a
#      227-byte JSON view beacon; plus beacond alone with NDJSON batches
#      (beacon-blast --mode http --batch 50 --conns 8 --count 500000).
#   3. Memory of each daemon during each load (VmRSS sampled, VmHWM).
#
# Every figure is the median of RUNS runs (default 3) with min and max; the
# runs of the two contenders are interleaved so that noise hits both alike.
# Writes perf/results/ingest-YYYYmmdd-HHMMSS.md and prints it.
#
# Usage: perf/bench_ingest.sh        (root; installs what is missing with apt)
# Knobs (environment): RUNS=3 UDP_COUNT=1000000 UDP_MAX_S=20 SEED=42
#   UDP_RATE=150000 UDP_PACED_COUNT=750000 (the paced UDP runs; UDP_RATE=0 skips them)
#   WRK_SECONDS=8 ND_COUNT=500000 EXTRA=1 (0: skip the beacond lz4-off
#   attribution runs) BUILD=1 (0: use build/ as it is) BUDGET_S=470 (runs that
#   could overrun this many seconds in total are skipped and listed)
#   ports: P_UDP=27070 P_HTTP=28080 P_MET=29470 P_RSYSLOG=27071 P_NGINX=28081
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

RUNS=${RUNS:-3}
UDP_COUNT=${UDP_COUNT:-1000000}
UDP_MAX_S=${UDP_MAX_S:-20}
UDP_RATE=${UDP_RATE:-150000}
UDP_PACED_COUNT=${UDP_PACED_COUNT:-750000}
SEED=${SEED:-42}
WRK_SECONDS=${WRK_SECONDS:-8}
ND_COUNT=${ND_COUNT:-500000}
EXTRA=${EXTRA:-1}
BUILD=${BUILD:-1}
BUDGET_S=${BUDGET_S:-470}
P_UDP=${P_UDP:-27070}
P_HTTP=${P_HTTP:-28080}
P_MET=${P_MET:-29470}
P_RSYSLOG=${P_RSYSLOG:-27071}
P_NGINX=${P_NGINX:-28081}
PEERS=${PEERS:-/work/shared/peers}
PY=/usr/bin/python3            # Debian's python3: python3-confluent-kafka lives there
RSYSLOG_TOPIC=bench.rsyslog
TOPICS_BEACOND=ugc.views,ugc.events,ugc.actions

T_START=$(date +%s)
STAMP=$(date +%Y%m%d-%H%M%S)
OUT_MD="$ROOT/perf/results/ingest-$STAMP.md"
WORK=$(mktemp -d "/tmp/bench-ingest.$STAMP.XXXXXX")
RES="$WORK/results"
mkdir -p "$RES" "$ROOT/perf/results"

say() { printf '[bench-ingest %s +%ds] %s\n' "$(date +%T)" $(( $(date +%s) - T_START )) "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- processes
# Every process this script starts is recorded in PIDS and stopped by
# cleanup (SIGTERM, then SIGKILL after 10 s), also on failure or ^C.
PIDS=""
alive() { # PID: running and not a zombie
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}
children_of() { cat /proc/"$1"/task/*/children 2>/dev/null || true; }
forget_pid() { # PID: no longer ours to stop (it was reaped; the number may be reused)
	local q out=""
	for q in $PIDS; do [ "$q" = "$1" ] || out="$out $q"; done
	PIDS=$out
}
stop_pid() {
	local p=$1 kids
	alive "$p" || { wait "$p" 2>/dev/null || true; forget_pid "$p"; return 0; }
	kids=$(children_of "$p")
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 100); do alive "$p" || break; sleep 0.1; done
	if alive "$p"; then
		say "pid $p did not stop in 10 s after SIGTERM: SIGKILL"
		kill -KILL "$p" 2>/dev/null || true
	fi
	for k in $kids; do alive "$k" && kill -KILL "$k" 2>/dev/null; done
	wait "$p" 2>/dev/null || true
	forget_pid "$p"
}
cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in $PIDS; do stop_pid "$p"; done
	[ -n "${POLICY_RC_D_ADDED:-}" ] && rm -f /usr/sbin/policy-rc.d
	[ $rc -eq 0 ] || say "failed (exit $rc); scratch files kept in $WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
run_helper() { # ARGS...: the measuring helper, in the background so that a
	# signal to this script is acted on at once (bash defers traps while a
	# foreground child runs); cleanup stops it and its load generator.
	"$PY" "$HELPER" "$@" &
	local hp=$! rc=0
	PIDS="$hp $PIDS"
	wait "$hp" || rc=$?
	forget_pid "$hp"
	return $rc
}
start_bg() { # LOGFILE CMD... ; sets BG_PID
	local log=$1; shift
	"$@" > "$log" 2>&1 &
	BG_PID=$!
	PIDS="$BG_PID $PIDS"
}
wait_for() { # SECONDS WHAT CMD...
	local secs=$1 what=$2 end; shift 2
	end=$(( $(date +%s) + secs ))
	until "$@" > /dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || die "timed out after ${secs}s waiting for $what"
		sleep 0.1
	done
}
port_free() { # PORT: nothing listens on it (UDP or TCP)
	[ -z "$(ss -Hlnut "sport = :$1" 2>/dev/null)" ]
}
udp_bound() { [ -n "$(ss -Hlnu "sport = :$1" 2>/dev/null)" ]; }

# ---------------------------------------------------------------- deps, build
need_pkgs=""
command -v rsyslogd > /dev/null || need_pkgs="$need_pkgs rsyslog"
[ -e /usr/lib/x86_64-linux-gnu/rsyslog/omkafka.so ] || need_pkgs="$need_pkgs rsyslog-kafka"
command -v nginx > /dev/null || need_pkgs="$need_pkgs nginx"
command -v wrk > /dev/null || need_pkgs="$need_pkgs wrk"
command -v curl > /dev/null || need_pkgs="$need_pkgs curl"
command -v ss > /dev/null || need_pkgs="$need_pkgs iproute2"
"$PY" -c 'import confluent_kafka' 2> /dev/null || need_pkgs="$need_pkgs python3-confluent-kafka"
if [ -n "$need_pkgs" ]; then
	say "installing:$need_pkgs"
	[ "$(id -u)" = 0 ] || die "not root: install$need_pkgs first"
	# the packages' services (system rsyslog, nginx on :80) must not start
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		POLICY_RC_D_ADDED=1
	fi
	apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need_pkgs > "$WORK/apt.log" 2>&1 ||
		die "apt-get install failed: $(tail -5 "$WORK/apt.log")"
	[ -n "${POLICY_RC_D_ADDED:-}" ] && rm -f /usr/sbin/policy-rc.d && POLICY_RC_D_ADDED=
fi
if [ "$BUILD" = 1 ]; then
	for try in 1 2 3; do
		say "building beacond, beacon-blast, kafka-dev (try $try)"
		if make build/beacond build/beacon-blast build/kafka-dev > "$WORK/make.log" 2>&1 &&
			[ -x build/beacond ] && [ -x build/beacon-blast ] && [ -x build/kafka-dev ]; then
			break
		fi
		[ $try -lt 3 ] || die "build failed: $(tail -5 "$WORK/make.log")"
		say "build failed or a binary is missing (someone may be editing or relinking); retrying in 30 s: $(tail -1 "$WORK/make.log")"
		sleep 30
	done
fi
for b in beacond beacon-blast kafka-dev; do [ -x "build/$b" ] || die "build/$b missing"; done
for p in "$P_UDP" "$P_HTTP" "$P_MET" "$P_RSYSLOG" "$P_NGINX"; do
	port_free "$p" || die "port $p is in use (set P_UDP, P_HTTP, P_MET, P_RSYSLOG, P_NGINX)"
done
if [ ! -r "$PEERS/rsyslog-omkafka.conf" ] || [ ! -r "$PEERS/nginx-204.conf" ]; then die "peer configs not in $PEERS"; fi
DEVLOG_BEFORE=$([ -e /dev/log ] && echo yes || echo no)

# ---------------------------------------------------------------- helper
HELPER="$WORK/bench_helper.py"
cat > "$HELPER" <<'PYEOF'
# bench_ingest helper: measures one load against one daemon; writes JSON.
import argparse, json, os, re, resource, shlex, socket, statistics, subprocess, sys, threading, time, urllib.request

CLK = os.sysconf("SC_CLK_TCK")
POLL = 0.02   # seconds between samples

def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    return s[s.rindex(")") + 2:].split()

def tree(pid):
    """pid and its direct children (nginx: master + workers)."""
    out = [pid]
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out

def cpu_s(pids):
    tot = 0
    for p in pids:
        try:
            f = stat_fields(p)
            tot += int(f[11]) + int(f[12])   # utime + stime
        except (OSError, ValueError):
            pass
    return tot / CLK

def status_kb(pids, key):
    tot = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for ln in f:
                    if ln.startswith(key + ":"):
                        tot += int(ln.split()[1])
        except OSError:
            pass
    return tot

def machine_busy_s():
    """user + nice + system time of the whole machine (irq, softirq, steal apart)"""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2]) / CLK

def machine_irq_steal_s():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[5] + v[6]) / CLK, v[7] / CLK

def udp_drops(port):
    """the kernel's drop counter of the socket bound to 127.0.0.1:port"""
    want = "0100007F:%04X" % port
    n = 0
    with open("/proc/net/udp") as f:
        next(f)
        for ln in f:
            c = ln.split()
            if c[1] == want:
                n += int(c[-1])
    return n

def scrape(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        txt = r.read().decode()
    m = {}
    for ln in txt.splitlines():
        if ln.startswith("#") or not ln.strip():
            continue
        k, _, v = ln.rpartition(" ")
        try:
            m[k] = float(v)
        except ValueError:
            pass
    return m

def msum(m, name, **labels):
    t = 0.0
    for k, v in m.items():
        n, _, lab = k.partition("{")
        if n == name and all(f'{a}="{b}"' in lab for a, b in labels.items()):
            t += v
    return t

BEACOND_SERIES = {
    "received": ("beacond_beacons_received_total", {}),
    "accepted": ("beacond_beacons_accepted_total", {}),
    "rejected": ("beacond_beacons_rejected_total", {}),
    "dropped_ring_full": ("beacond_beacons_dropped_total", {"reason": "ring_full"}),
    "dropped_http_busy": ("beacond_beacons_dropped_total", {"reason": "http_busy"}),
    "produced": ("beacond_kafka_produced_total", {}),
    "persisted": ("beacond_kafka_delivered_total", {"status": "persisted"}),
    "possibly_persisted": ("beacond_kafka_delivered_total", {"status": "possibly_persisted"}),
    "not_persisted": ("beacond_kafka_delivered_total", {"status": "not_persisted"}),
    "udp_datagrams": ("beacond_udp_datagrams_total", {}),
    "udp_socket_overflow_metric": ("beacond_udp_socket_overflow_total", {}),
    "http_204": ("beacond_http_responses_total", {"code": "204"}),
    "http_4xx_5xx": None,
    "accepted_http": ("beacond_beacons_accepted_total", {"source": "http"}),
    "accepted_udp": ("beacond_beacons_accepted_total", {"source": "udp"}),
}

def beacond_counters(url):
    m = scrape(url)
    out = {}
    for k, spec in BEACOND_SERIES.items():
        if spec:
            out[k] = msum(m, spec[0], **spec[1])
    out["http_non_204"] = sum(v for k, v in m.items()
                              if k.startswith("beacond_http_responses_total{") and 'code="204"' not in k)
    return out

class Watermarks:
    """sum of the end offsets of every partition of the topics, from the broker"""
    def __init__(self, bootstrap, topics):
        from confluent_kafka import Consumer, TopicPartition
        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-ingest-wm",
                           "enable.auto.commit": False, "log_level": 3})
        md = self.c.list_topics(timeout=10)
        self.tps = [TopicPartition(t, p, -1) for t in topics for p in md.topics[t].partitions]
        if not self.tps:
            raise SystemExit(f"no partitions for {topics}")
    def total(self):
        r = self.c.offsets_for_times(self.tps, timeout=5)
        return sum(max(x.offset, 0) for x in r)

OMK_RE = re.compile(r"omkafka: origin=omkafka (.*)$")
Q_RE = re.compile(r" k: origin=core\.queue (.*)$")
UDPW_RE = re.compile(r"imudp\(w0\): origin=imudp (.*)$")

def kv(s):
    return {a: int(b) for a, b in (x.split("=", 1) for x in s.split()) if b.lstrip("-").isdigit()}

def rsyslog_stats(path, after_lines=None, timeout=6.0):
    """The newest omkafka / queue stats.  With after_lines, wait until two new
    omkafka lines have been written after that count (so the counters are at
    least one impstats interval newer than the moment the count was taken)."""
    end = time.monotonic() + timeout
    while True:
        with open(path, errors="replace") as f:
            lines = f.readlines()
        omk = [i for i, ln in enumerate(lines) if OMK_RE.search(ln)]
        if after_lines is None or len(omk) >= after_lines + 2 or time.monotonic() > end:
            break
        time.sleep(0.1)
    res = {"_omk_lines": len(omk)}
    for ln in lines:
        for rx, pre in ((OMK_RE, "omkafka_"), (Q_RE, "queue_"), (UDPW_RE, "imudp_")):
            mm = rx.search(ln)
            if mm:
                for a, b in kv(mm.group(1)).items():
                    res[pre + a] = b
    return res

def rsyslog_flush(a, wm):
    """omkafka serves its delivery reports only from rd_kafka_poll(0) after each
    produce, so the acks of the last messages stay uncounted until another
    message comes.  One extra datagram, once everything before it is in the
    broker, makes 'acked' complete up to (not including) that datagram."""
    before = wm.total()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b'{"bench_ingest":"flush"}', ("127.0.0.1", a.port))
    s.close()
    end = time.monotonic() + 5
    while wm.total() < before + 1 and time.monotonic() < end:
        time.sleep(0.02)
    c = rsyslog_stats(a.stats_file)
    return rsyslog_stats(a.stats_file, after_lines=c["_omk_lines"])

def counters(a):
    if a.daemon == "beacond":
        return beacond_counters(a.metrics_url)
    if a.daemon == "rsyslog":
        return rsyslog_stats(a.stats_file)
    return {}

def delivered_of(a, c):
    if a.daemon == "beacond":
        return c["persisted"]
    return c["omkafka_acked"]

def run_cmd(cmd, outfile):
    """start cmd; a thread records its exit time and rusage"""
    f = open(outfile, "w")
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
    st = {"pid": p.pid}
    def waiter():
        _, status, ru = os.wait4(p.pid, 0)
        st["t_exit"] = time.monotonic()
        st["rc"] = os.waitstatus_to_exitcode(status)
        st["cpu_s"] = ru.ru_utime + ru.ru_stime
        f.close()
    th = threading.Thread(target=waiter, daemon=True)
    th.start()
    return st, th

def parse_kv_out(path):
    d = {}
    with open(path, errors="replace") as f:
        for ln in f:
            if ln.startswith("BENCH "):
                ln = ln[6:]
            c = ln.split()
            if len(c) == 2:
                try:
                    d[c[0]] = float(c[1])
                except ValueError:
                    d[c[0]] = c[1]
    return d

def self_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def med(xs):
    return statistics.median(xs) if xs else 0

# ------------------------------------------------------------------ udp
def cmd_udp(a):
    pids = tree(a.pid)
    wm = Watermarks(a.bootstrap, a.topics.split(","))
    # warm-up: connections, metadata and partition leaders known, code paths hot
    w0 = wm.total()
    st, th = run_cmd(a.warmup, a.out + ".warmup.txt")
    th.join(60)
    wu = parse_kv_out(a.out + ".warmup.txt")
    want = w0 + int(wu.get("sent", 0))
    end = time.monotonic() + 15
    while wm.total() < want and time.monotonic() < end:
        time.sleep(0.05)
    warm_ok = wm.total() >= want
    time.sleep(0.3)
    c0 = rsyslog_flush(a, wm) if a.daemon == "rsyslog" else counters(a)
    base = {"wm": wm.total(), "drops": udp_drops(a.port), "cpu": cpu_s(pids),
            "kcpu": cpu_s([a.kafka_pid]), "busy": machine_busy_s(), "self": self_cpu(),
            "irq_steal": machine_irq_steal_s()}
    t_start = time.monotonic()
    st, th = run_cmd(a.cmd, a.out + ".load.txt")
    last_wm, t_change = base["wm"], t_start
    cpu_at, kcpu_at, busy_at, self_at = base["cpu"], base["kcpu"], base["busy"], base["self"]
    rss = []
    while True:
        time.sleep(POLL)
        t = time.monotonic()
        w = wm.total()
        c, kc, mb = cpu_s(pids), cpu_s([a.kafka_pid]), machine_busy_s()
        if w != last_wm:
            last_wm, t_change = w, t
            cpu_at, kcpu_at, busy_at, self_at = c, kc, mb, self_cpu()
        if "t_exit" not in st or t < st["t_exit"] + 0.2:
            rss.append(status_kb(pids, "VmRSS"))
        if "t_exit" in st and t - t_change >= a.settle and t - st["t_exit"] >= a.settle:
            break
        if "t_exit" in st and t - st["t_exit"] > 60:
            break
        if t - t_start > a.max_s + 90:
            break
    th.join(5)
    hwm = status_kb(pids, "VmHWM")
    # the flush datagram sent before the baseline was acked during the run
    c1 = rsyslog_flush(a, wm) if a.daemon == "rsyslog" else counters(a)
    blast = parse_kv_out(a.out + ".load.txt")
    t_first = st["t_exit"] - float(blast.get("elapsed_s", 0))
    sent = int(blast.get("sent", 0))
    delivered = delivered_of(a, c1) - delivered_of(a, c0) - (1 if a.daemon == "rsyslog" else 0)
    dur = t_change - t_first
    delta = {k: c1[k] - c0.get(k, 0) for k in c1 if isinstance(c1[k], (int, float)) and not k.startswith("_")}
    res = {
        "kind": a.kind, "daemon": a.daemon, "label": a.label, "run": a.run,
        "sent": sent, "blast_rate": blast.get("rate_per_s"), "blast_elapsed_s": blast.get("elapsed_s"),
        "blast_stopped_by": blast.get("stopped_by"), "blast_rc": st.get("rc"),
        "udp_eagain": blast.get("udp_eagain"), "udp_enobufs": blast.get("udp_enobufs"),
        "delivered": delivered, "broker_appended": last_wm - base["wm"],
        "loss": sent - delivered, "kernel_drops": udp_drops(a.port) - base["drops"],
        "e2e_s": dur, "delivered_per_s": delivered / dur if dur > 0 else 0,
        "drain_s": max(0.0, t_change - st["t_exit"]),   # 20 ms resolution
        "window_s": t_change - t_start,
        "cpu_s": cpu_at - base["cpu"], "kafka_cpu_s": kcpu_at - base["kcpu"],
        "loadgen_cpu_s": st.get("cpu_s"), "helper_cpu_s": self_at - base["self"],
        "machine_busy_s": busy_at - base["busy"],
        "irq_s": machine_irq_steal_s()[0] - base["irq_steal"][0],
        "steal_s": machine_irq_steal_s()[1] - base["irq_steal"][1],
        "rss_steady_kb": med(rss), "rss_max_sampled_kb": max(rss) if rss else 0,
        "rss_hwm_kb": max([hwm] + rss), "warmup_ok": warm_ok, "counters_delta": delta,
        "counters_end": {k: v for k, v in c1.items() if not k.startswith("_")},
    }
    res["cpu_s_per_1m"] = res["cpu_s"] / delivered * 1e6 if delivered else None
    res["kafka_cpu_s_per_1m"] = res["kafka_cpu_s"] / delivered * 1e6 if delivered else None
    res["other_cpu_s"] = res["machine_busy_s"] - res["cpu_s"] - res["kafka_cpu_s"] - (res["loadgen_cpu_s"] or 0) - res["helper_cpu_s"]
    json.dump(res, open(a.out, "w"), indent=1)
    print(f"{a.label} run {a.run}: sent {sent} delivered {delivered:.0f} (broker +{res['broker_appended']}) "
          f"in {dur:.2f} s = {res['delivered_per_s']:,.0f}/s, kernel drops {res['kernel_drops']}, "
          f"daemon CPU {res['cpu_s']:.2f} s, RSS steady {res['rss_steady_kb']/1024:.0f} MiB "
          f"peak {hwm/1024:.0f} MiB", file=sys.stderr)

# ------------------------------------------------------------------ http
def cmd_load(a):
    pids = tree(a.pid)
    c0 = beacond_counters(a.metrics_url) if a.metrics_url else {}
    base = {"cpu": cpu_s(pids), "kcpu": cpu_s([a.kafka_pid]) if a.kafka_pid else 0,
            "busy": machine_busy_s(), "self": self_cpu(), "irq_steal": machine_irq_steal_s()}
    t0 = time.monotonic()
    st, th = run_cmd(a.cmd, a.out + ".load.txt")
    rss = []
    while "t_exit" not in st:
        time.sleep(POLL)
        rss.append(status_kb(pids, "VmRSS"))
        if time.monotonic() - t0 > a.max_s + 30:
            break
    th.join(30)
    drained = True
    if a.metrics_url:   # wait until every beacon accepted during the load is delivered
        end = time.monotonic() + 30
        while True:
            c1 = beacond_counters(a.metrics_url)
            acc = c1["accepted"] - c0["accepted"]
            fin = sum(c1[k] - c0[k] for k in ("persisted", "possibly_persisted", "not_persisted"))
            if fin >= acc or time.monotonic() > end:
                drained = fin >= acc
                break
            time.sleep(0.05)
    t_end = time.monotonic()
    cpu = cpu_s(pids) - base["cpu"]
    kcpu = (cpu_s([a.kafka_pid]) if a.kafka_pid else 0) - base["kcpu"]
    hwm = status_kb(pids, "VmHWM")
    out = parse_kv_out(a.out + ".load.txt")
    res = {"kind": a.kind, "daemon": a.daemon, "label": a.label, "run": a.run, "load": out,
           "load_rc": st.get("rc"), "cpu_s": cpu, "kafka_cpu_s": kcpu,
           "loadgen_cpu_s": st.get("cpu_s"), "helper_cpu_s": self_cpu() - base["self"],
           "machine_busy_s": machine_busy_s() - base["busy"], "wall_s": t_end - t0, "window_s": t_end - t0,
           "irq_s": machine_irq_steal_s()[0] - base["irq_steal"][0],
           "steal_s": machine_irq_steal_s()[1] - base["irq_steal"][1],
           "rss_steady_kb": med(rss), "rss_max_sampled_kb": max(rss) if rss else 0,
           "rss_hwm_kb": max([hwm] + rss), "drained": drained}
    if a.metrics_url:
        res["counters_delta"] = {k: c1[k] - c0[k] for k in c1}
    if a.kind == "wrk":
        n = out.get("requests", 0)
        res["req_per_s"] = n / (out.get("duration_us", 1) / 1e6)
        res["cpu_s_per_1m"] = cpu / n * 1e6 if n else None
        msg = (f"{res['req_per_s']:,.0f} req/s, p50 {out.get('lat_p50_us',0)/1000:.2f} ms "
               f"p99 {out.get('lat_p99_us',0)/1000:.2f} ms p99.9 {out.get('lat_p99.9_us',0)/1000:.2f} ms")
    else:
        n = out.get("acked", 0)
        res["beacons_per_s"] = out.get("rate_per_s", 0)
        res["cpu_s_per_1m"] = cpu / n * 1e6 if n else None
        msg = f"{out.get('rate_per_s',0):,.0f} beacons/s, acked {n:.0f}, lost {out.get('lost',0):.0f}"
    res["other_cpu_s"] = res["machine_busy_s"] - cpu - kcpu - (res["loadgen_cpu_s"] or 0) - res["helper_cpu_s"]
    json.dump(res, open(a.out, "w"), indent=1)
    print(f"{a.label} run {a.run}: {msg}, daemon CPU {cpu:.2f} s, RSS steady "
          f"{res['rss_steady_kb']/1024:.0f} MiB peak {hwm/1024:.0f} MiB", file=sys.stderr)

# ------------------------------------------------------------------ report
def fmt_n(v, nd=0):
    if v is None:
        return "n/a"
    return f"{v:,.{nd}f}"

def cell(xs, nd=0, scale=1.0):
    xs = [x * scale for x in xs if x is not None]
    if not xs:
        return "n/a"
    if len(xs) == 1:
        return fmt_n(xs[0], nd)
    return f"{fmt_n(statistics.median(xs), nd)} ({fmt_n(min(xs), nd)} – {fmt_n(max(xs), nd)})"

def ratio(a, b, nd=2):
    a = [x for x in a if x is not None]
    b = [x for x in b if x is not None]
    if not a or not b or statistics.median(b) == 0:
        return "n/a"
    return f"{statistics.median(a) / statistics.median(b):.{nd}f}×"

def cmd_report(a):
    rs = []
    for fn in sorted(os.listdir(a.results)):
        if fn.endswith(".json"):
            rs.append(json.load(open(os.path.join(a.results, fn))))
    info = json.load(open(a.info))
    def sel(kind, label):
        return sorted((r for r in rs if r["kind"] == kind and r["label"] == label), key=lambda r: r["run"])
    def col(rows, key, f=None):
        return [(f(r) if f else r.get(key)) for r in rows]
    L = []
    p = L.append
    p(f"## Ingest: beacond vs peers (UDP → Kafka, HTTP) — run of {info['date']}")
    p("")
    p(f"Command: `{info['command']}` (total {info['total_s']} s). Every figure is the **median of "
      f"{info['runs']} runs (min – max)**; the runs of the two contenders are interleaved. "
      "Ratio = beacond ÷ peer (medians): above 1 means beacond is higher — better for throughput, "
      "worse for latency, CPU and memory.")
    p("")
    if info.get("skipped"):
        p(f"**Skipped to stay within the time budget:** {info['skipped']} (the medians use the runs that were made).")
        p("")
    p("Machine: " + "; ".join(f"{k} {v}" for k, v in info["machine"].items()))
    p("")
    p("Versions: " + "; ".join(f"{k} {v}" for k, v in info["versions"].items()))
    p("")
    p(f"Noise: load average before {info['load_before']}, after {info['load_after']}. "
      "The per-run tables give *other CPU-s*: user+system CPU time the machine spent during the run "
      "outside the daemon, kafka-dev, the load generator and this script's sampler, i.e. other work "
      "on the machine (irq/softirq and hypervisor steal time are not in it).")
    ncpu = info["machine"]["nproc"]
    def other(r):
        # tick-granular counters read a few ms apart can make this slightly negative: shown as 0
        o = max(0.0, r["other_cpu_s"])
        return f"{o:.2f} ({100 * o / (r['window_s'] * ncpu):.0f} %)"
    share = [100 * max(0.0, r["other_cpu_s"]) / (r["window_s"] * ncpu) for r in rs if r.get("window_s")]
    if share:
        p("")
        p(f"During the measured runs, CPU time outside the processes under test took a median "
          f"{statistics.median(share):.0f} % of the machine's {ncpu} CPUs (min {min(share):.0f} %, max {max(share):.0f} %); "
          f"irq+softirq time was a median {statistics.median([r.get('irq_s', 0) / r['window_s'] for r in rs if r.get('window_s')]):.2f} CPU-s per s, "
          f"hypervisor steal {statistics.median([r.get('steal_s', 0) / r['window_s'] for r in rs if r.get('window_s')]):.2f} CPU-s per s.")
    p("")
    def udp_section(title, B, R, Z):
        p(title)
        p("")
        if not (B and R):
            return
        p("| figure | beacond | rsyslog imudp → omkafka | ratio |")
        p("|---|---:|---:|---:|")
        rows = [
            ("delivered/s, end to end (first datagram sent → last delivery)", "delivered_per_s", 0, 1),
            ("datagrams sent", "sent", 0, 1),
            ("load generator send rate, datagrams/s", "blast_rate", 0, 1),
            ("delivered (producer's delivery counter)", "delivered", 0, 1),
            ("loss = sent − delivered", "loss", 0, 1),
            ("… of which dropped by the kernel (socket buffer full)", "kernel_drops", 0, 1),
            ("last delivery after the last datagram sent, s", "drain_s", 2, 1),
            ("daemon CPU-s per 1M delivered (utime+stime)", "cpu_s_per_1m", 2, 1),
            ("kafka-dev CPU-s per 1M delivered", "kafka_cpu_s_per_1m", 2, 1),
            ("daemon RSS during load, steady (median sample), MiB", "rss_steady_kb", 1, 1 / 1024),
            ("daemon RSS peak, MiB", "rss_hwm_kb", 1, 1 / 1024),
        ]
        for name, key, nd, sc in rows:
            bx, rx = col(B, key), col(R, key)
            p(f"| {name} | {cell(bx, nd, sc)} | {cell(rx, nd, sc)} | {ratio(bx, rx)} |")
        p("")
        p("Per run:")
        p("")
        p("| run | daemon | sent | send rate/s | delivered | broker appended | kernel drops | daemon drops | e2e s | delivered/s | CPU-s | kafka-dev CPU-s | load-gen CPU-s | other CPU-s (% of machine) |")
        p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in sorted(B + R + Z, key=lambda r: (r["run"], r["label"])):
            d = r["counters_delta"]
            dd = (d.get("dropped_ring_full", 0) if r["daemon"] == "beacond"
                  else d.get("queue_discarded.full", 0) + d.get("queue_discarded.nf", 0) + d.get("omkafka_failures", 0))
            p(f"| {r['run']} | {r['label']} | {fmt_n(r['sent'])} | {fmt_n(r['blast_rate'])} | {fmt_n(r['delivered'])} | "
              f"{fmt_n(r['broker_appended'])} | {fmt_n(r['kernel_drops'])} | {fmt_n(dd)} | {r['e2e_s']:.2f} | "
              f"{fmt_n(r['delivered_per_s'])} | {r['cpu_s']:.2f} | {r['kafka_cpu_s']:.2f} | {r['loadgen_cpu_s'] or 0:.2f} | {other(r)} |")
        p("")
        p("beacond's own accounting per run (deltas of /metrics): received = datagrams read; "
          "dropped = ring full (the Kafka slow path behind); overflow = `beacond_udp_socket_overflow_total` "
          "(SO_RXQ_OVFL), to compare with the kernel's own drop count.")
        p("")
        p("| run | label | received | accepted | rejected | dropped ring_full | persisted | not persisted | overflow metric | kernel drops |")
        p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in sorted(B + Z, key=lambda r: (r["run"], r["label"])):
            d = r["counters_delta"]
            p(f"| {r['run']} | {r['label']} | {fmt_n(d['received'])} | {fmt_n(d['accepted'])} | {fmt_n(d['rejected'])} | "
              f"{fmt_n(d['dropped_ring_full'])} | {fmt_n(d['persisted'])} | {fmt_n(d['not_persisted'] + d['possibly_persisted'])} | "
              f"{fmt_n(d['udp_socket_overflow_metric'])} | {fmt_n(r['kernel_drops'])} |")
        p("")
        p("rsyslog's own counters per run (deltas of impstats; *received* includes the one flush datagram).")
        p("")
        p("| run | rsyslog: imudp received | queue discarded | queue max size | omkafka submitted | acked | failures |")
        p("|---|---:|---:|---:|---:|---:|---:|")
        for r in R:
            d = r["counters_delta"]
            p(f"| {r['run']} | {fmt_n(d.get('imudp_msgs.received'))} | {fmt_n(d.get('queue_discarded.full', 0) + d.get('queue_discarded.nf', 0))} | "
              f"{fmt_n(r['counters_end'].get('queue_maxqsize'))} | {fmt_n(d.get('omkafka_submitted'))} | {fmt_n(d.get('omkafka_acked'))} | {fmt_n(d.get('omkafka_failures'))} |")
        p("")
    B, R, Z = sel("udp", "beacond"), sel("udp", "rsyslog"), sel("udp", "beacond-nocomp")
    udp_section(f"### 1. UDP JSON beacons → Kafka, flat out ({info['udp_count']:,} datagrams, one blast per run)", B, R, Z)
    if Z:
        p("Attribution run, beacond with `kafka.compression = none` (same load; not a peer figure):")
        p("")
        p("| figure | beacond lz4 | beacond no compression | ratio |")
        p("|---|---:|---:|---:|")
        for name, key, nd, sc in (("delivered/s, end to end", "delivered_per_s", 0, 1),
                                  ("loss", "loss", 0, 1),
                                  ("daemon CPU-s per 1M delivered", "cpu_s_per_1m", 2, 1),
                                  ("kafka-dev CPU-s per 1M delivered", "kafka_cpu_s_per_1m", 2, 1)):
            bx, zx = col(B, key), col(Z, key)
            p(f"| {name} | {cell(bx, nd, sc)} | {cell(zx, nd, sc)} | {ratio(bx, zx)} |")
        p("")
    PB, PR = sel("udp-paced", "beacond"), sel("udp-paced", "rsyslog")
    if PB and PR:
        udp_section(f"### 1b. UDP JSON beacons → Kafka, paced: `--rate {info['udp_rate']}` "
                    f"({info['udp_paced_count']:,} datagrams; the same offered load for both, to compare CPU per "
                    f"beacon and loss; the rate actually reached is the send-rate row)", PB, PR, [])
    HB, HN, ND = sel("wrk", "beacond"), sel("wrk", "nginx"), sel("blast", "beacond-ndjson")
    p(f"### 2. HTTP: one 227-byte JSON view beacon per POST (wrk -t1 -c64 -d{info['wrk_seconds']}s)")
    p("")
    if HB and HN:
        p("| figure | beacond (1 worker) | nginx `return 204` | ratio |")
        p("|---|---:|---:|---:|")
        rows = [("requests/s", lambda r: r["req_per_s"], 0, 1),
                ("latency p50, ms", lambda r: r["load"].get("lat_p50_us"), 3, 1e-3),
                ("latency p99, ms", lambda r: r["load"].get("lat_p99_us"), 3, 1e-3),
                ("latency p99.9, ms", lambda r: r["load"].get("lat_p99.9_us"), 3, 1e-3),
                ("latency max, ms", lambda r: r["load"].get("lat_max_us"), 2, 1e-3),
                ("non-2xx responses + socket errors", lambda r: sum(r["load"].get(k, 0) for k in (
                    "errors_status", "errors_connect", "errors_read", "errors_write", "errors_timeout")), 0, 1),
                ("daemon CPU-s per 1M requests", lambda r: r["cpu_s_per_1m"], 2, 1),
                ("RSS during load, steady, MiB", lambda r: r["rss_steady_kb"], 1, 1 / 1024),
                ("RSS peak (VmHWM), MiB", lambda r: r["rss_hwm_kb"], 1, 1 / 1024)]
        for name, f, nd, sc in rows:
            bx, nx = col(HB, None, f), col(HN, None, f)
            p(f"| {name} | {cell(bx, nd, sc)} | {cell(nx, nd, sc)} | {ratio(bx, nx)} |")
        p("")
        p("beacond's /metrics per run (deltas): every request wrk completed must be a 204, "
          "an accepted beacon, and a record persisted in Kafka.")
        p("")
        p("| run | wrk requests | beacond 204 | other codes | accepted (http) | persisted | not persisted | drained | wrk req/s | nginx req/s | other CPU-s, % of machine (beacond / nginx run) |")
        p("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
        for rb, rn in zip(HB, HN):
            d = rb["counters_delta"]
            p(f"| {rb['run']} | {fmt_n(rb['load'].get('requests'))} | {fmt_n(d['http_204'])} | {fmt_n(d['http_non_204'])} | "
              f"{fmt_n(d['accepted_http'])} | {fmt_n(d['persisted'])} | {fmt_n(d['not_persisted'] + d['possibly_persisted'])} | "
              f"{'yes' if rb['drained'] else 'NO'} | {fmt_n(rb['req_per_s'])} | {fmt_n(rn['req_per_s'])} | {other(rb)} / {other(rn)} |")
        p("")
    if ND:
        p(f"### 3. HTTP NDJSON batches, beacond alone (beacon-blast --mode http --batch 50 --conns 8 --count {info['nd_count']:,})")
        p("")
        p("| figure | beacond |")
        p("|---|---:|")
        rows = [("beacons/s (accepted, load generator's clock)", lambda r: r["beacons_per_s"], 0, 1),
                ("requests/s", lambda r: r["load"].get("requests", 0) / r["load"].get("elapsed_s", 1), 0, 1),
                ("request latency p50, ms", lambda r: r["load"].get("latency_p50_ms"), 2, 1),
                ("request latency p99, ms", lambda r: r["load"].get("latency_p99_ms"), 2, 1),
                ("request latency p99.9, ms", lambda r: r["load"].get("latency_p999_ms"), 2, 1),
                ("beacons acked (of sent)", lambda r: r["load"].get("acked"), 0, 1),
                ("lost + unacked", lambda r: r["load"].get("lost", 0) + r["load"].get("unacked", 0), 0, 1),
                ("requests answered 503 (ring full; retried after Retry-After)", lambda r: r["load"].get("http_status_503", 0), 0, 1),
                ("daemon CPU-s per 1M beacons", lambda r: r["cpu_s_per_1m"], 2, 1),
                ("RSS during load, steady, MiB", lambda r: r["rss_steady_kb"], 1, 1 / 1024),
                ("RSS peak (VmHWM), MiB", lambda r: r["rss_hwm_kb"], 1, 1 / 1024)]
        for name, f, nd, sc in rows:
            p(f"| {name} | {cell(col(ND, None, f), nd, sc)} |")
        p("")
        p("| run | sent | acked | requests answered 204 / 400 / 503 | accepted (metrics) | persisted | drained | other CPU-s |")
        p("|---|---:|---:|---|---:|---:|---|---:|")
        for r in ND:
            d, o = r["counters_delta"], r["load"]
            p(f"| {r['run']} | {fmt_n(o.get('sent'))} | {fmt_n(o.get('acked'))} | {fmt_n(o.get('http_status_204', 0))} / "
              f"{fmt_n(o.get('http_status_400', 0))} / {fmt_n(o.get('http_status_503', 0))} | {fmt_n(d['accepted'])} | "
              f"{fmt_n(d['persisted'])} | {'yes' if r['drained'] else 'NO'} | {other(r)} |")
        p("")
    p("### 4. beacond memory during each load (MiB)")
    p("")
    p("| load | steady RSS (median of 20 ms samples) | peak RSS (VmHWM or largest sample) |")
    p("|---|---:|---:|")
    for name, rows in (("UDP flat out → Kafka", B), ("UDP paced → Kafka", PB), ("HTTP wrk single beacons", HB),
                       ("HTTP NDJSON batches", ND)):
        if rows:
            p(f"| {name} | {cell(col(rows, 'rss_steady_kb'), 1, 1/1024)} | {cell(col(rows, 'rss_hwm_kb'), 1, 1/1024)} |")
    p("")
    p("Peers for reference: rsyslogd " + (f"{cell(col(R, 'rss_steady_kb'), 1, 1/1024)} steady, {cell(col(R, 'rss_hwm_kb'), 1, 1/1024)} peak" if R else "n/a")
      + "; nginx master + worker " + (f"{cell(col(HN, 'rss_steady_kb'), 1, 1/1024)} steady, {cell(col(HN, 'rss_hwm_kb'), 1, 1/1024)} peak" if HN else "n/a") + ".")
    p("")
    p("### How it was measured")
    p("")
    for ln in info["method"]:
        p(ln)
    p("")
    p("Exact commands and configurations (ports as used; KAFKA = kafka-dev's bootstrap, new for every run):")
    p("")
    p("```")
    for ln in info["commands"]:
        p(ln)
    p("```")
    open(a.md, "w").write("\n".join(L) + "\n")

def main():
    ap = argparse.ArgumentParser()
    sp = ap.add_subparsers(dest="sub", required=True)
    u = sp.add_parser("udp")
    l = sp.add_parser("load")
    for x in (u, l):
        x.add_argument("--daemon", required=True)
        x.add_argument("--label", required=True)
        x.add_argument("--run", type=int, required=True)
        x.add_argument("--pid", type=int, required=True)
        x.add_argument("--kafka-pid", type=int, default=0)
        x.add_argument("--metrics-url", default="")
        x.add_argument("--out", required=True)
        x.add_argument("--max-s", type=float, default=30)
    u.add_argument("--bootstrap", required=True)
    u.add_argument("--topics", required=True)
    u.add_argument("--port", type=int, required=True)
    u.add_argument("--stats-file", default="")
    u.add_argument("--settle", type=float, default=2.0)
    u.add_argument("--kind", default="udp")
    u.add_argument("--warmup", type=shlex.split, required=True)
    u.add_argument("--cmd", type=shlex.split, required=True)
    l.add_argument("--kind", required=True)
    l.add_argument("--cmd", type=shlex.split, required=True)
    r = sp.add_parser("report")
    r.add_argument("--results", required=True)
    r.add_argument("--info", required=True)
    r.add_argument("--md", required=True)
    a = ap.parse_args()
    {"udp": cmd_udp, "load": cmd_load, "report": cmd_report}[a.sub](a)

main()
PYEOF

# ---------------------------------------------------------------- daemons
KAFKA_PID=""; BS=""
start_kafka() { # DIR
	rm -f "$1/bootstrap"
	start_bg "$1/kafka-dev.log" build/kafka-dev --partitions 64 \
		--topics "ugc.views,ugc.events,ugc.actions,ugc.dlq,$RSYSLOG_TOPIC" --bootstrap-file "$1/bootstrap"
	KAFKA_PID=$BG_PID
	wait_for 10 "kafka-dev's bootstrap file" test -s "$1/bootstrap"
	BS=$(cat "$1/bootstrap")
	case "$BS" in 127.0.0.1:*) ;; *) die "kafka-dev bootstrap is not on loopback: $BS" ;; esac
}
DPID=""
beacond_ini() { # FILE COMPRESSION
	cat > "$1" <<EOF
[node]
name = bench
[driver]
name = socket
workers = 1
[udp]
address = 127.0.0.1
port = $P_UDP
[http]
address = 127.0.0.1
port = $P_HTTP
[metrics]
address = 127.0.0.1
port = $P_MET
[kafka]
brokers = $BS
threads = 1
linger_ms = ${BEACOND_LINGER_MS:-50}
compression = $2
EOF
}
start_beacond() { # DIR [COMPRESSION]
	beacond_ini "$1/beacond.ini" "${2:-lz4}"
	start_bg "$1/beacond.log" build/beacond --config "$1/beacond.ini"
	DPID=$BG_PID
	wait_for 20 "beacond /readyz" curl -sf "http://127.0.0.1:$P_MET/readyz"
}
start_rsyslog() { # DIR
	local d=$1
	mkdir -p "$d/rsyslog-work"
	: > "$d/impstats.log"
	{
		echo "# filled from $PEERS/rsyslog-omkafka.conf by perf/bench_ingest.sh:"
		echo "# a private work directory and impstats (omkafka's delivery counters) added;"
		echo "# no imuxsock/imjournal: it does not touch /dev/log or the system's rsyslog."
		echo "global(workDirectory=\"$d/rsyslog-work\")"
		echo "module(load=\"impstats\" interval=\"1\" log.file=\"$d/impstats.log\" log.syslog=\"off\" format=\"legacy\")"
		sed -e "s/@PORT@/$P_RSYSLOG/g; s/@BROKER@/$BS/g; s/@TOPIC@/$RSYSLOG_TOPIC/g" "$PEERS/rsyslog-omkafka.conf"
	} > "$d/rsyslog.conf"
	if grep -Eiq '(load="|modload +)(imuxsock|imjournal)' "$d/rsyslog.conf"; then die "rsyslog conf would load imuxsock/imjournal"; fi
	start_bg "$d/rsyslogd.log" rsyslogd -n -f "$d/rsyslog.conf" -i "$d/rsyslogd.pid"
	DPID=$BG_PID
	wait_for 10 "rsyslogd to bind UDP $P_RSYSLOG" udp_bound "$P_RSYSLOG"
	if [ "$DEVLOG_BEFORE" = no ] && [ -e /dev/log ]; then die "rsyslogd created /dev/log"; fi
	ss -Hulnmp "sport = :$P_RSYSLOG" > "$d/socket.txt" 2>&1 || true
}
start_nginx() { # DIR
	local d=$1
	mkdir -p "$d/nginx"
	# the peer config as given, plus temp paths (unused by `return 204`) in the
	# run's folder, so that nginx does not create its compiled-in /var/lib/nginx/*
	sed -e "s/@PORT@/$P_NGINX/g; s#@DIR@#$d/nginx#g" \
		-e "s#^\( *\)client_body_temp_path .*#&\n\1proxy_temp_path $d/nginx/proxy; fastcgi_temp_path $d/nginx/fastcgi;\n\1uwsgi_temp_path $d/nginx/uwsgi; scgi_temp_path $d/nginx/scgi;#" \
		"$PEERS/nginx-204.conf" > "$d/nginx/nginx.conf"
	# -e: nginx's own start-up error log, so that /var/log/nginx is never opened
	start_bg "$d/nginx.log" nginx -c "$d/nginx/nginx.conf" -p "$d/nginx" -e "$d/nginx/error.log"
	DPID=$BG_PID
	wait_for 10 "nginx to answer on $P_NGINX" sh -c \
		"[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x http://127.0.0.1:$P_NGINX/v1/beacons)\" = 204 ]"
}
stop_all() { # stop the daemon, then kafka-dev (so beacond can flush)
	[ -z "$DPID" ] || stop_pid "$DPID"
	[ -z "$KAFKA_PID" ] || stop_pid "$KAFKA_PID"
	DPID=""; KAFKA_PID=""
}

# ---------------------------------------------------------------- loads
cat > "$WORK/post.lua" <<'EOF'
-- one anonymous view heartbeat (docs/beacon-protocol.md §3), ts = now
local ts = math.floor(os.time() * 1000)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"type":"view","ts":%d,"anon_id":"3f2b8c1e-5a47-4d2e-9b1a-0c6e7f8d9a10",'
  .. '"session_id":"8d1e4c2a-7b3f-4e69-a5d0-2f1c3b4a5e6d","film_id":"6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c",'
  .. '"position_ms":754000,"duration_ms":5820000}', ts)
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests %d\nBENCH duration_us %d\n", summary.requests, summary.duration))
  io.write(string.format("BENCH errors_status %d\nBENCH errors_connect %d\nBENCH errors_read %d\n", e.status, e.connect, e.read))
  io.write(string.format("BENCH errors_write %d\nBENCH errors_timeout %d\nBENCH body_bytes %d\n", e.write, e.timeout, #wrk.body))
  for _, p in ipairs({50, 99, 99.9}) do
    io.write(string.format("BENCH lat_p%s_us %d\n", p, latency:percentile(p)))
  end
  io.write(string.format("BENCH lat_max_us %d\n", latency.max))
end
EOF
BLAST_UDP="build/beacon-blast --mode udp-json --count $UDP_COUNT --seed $SEED --duration $UDP_MAX_S --quiet"
BLAST_PACED="build/beacon-blast --mode udp-json --count $UDP_PACED_COUNT --rate $UDP_RATE --seed $SEED --duration $UDP_MAX_S --quiet"
BLAST_WARM="build/beacon-blast --mode udp-json --count 2000 --rate 20000 --seed $((SEED + 1000)) --duration 10 --quiet"
WRK="wrk -t1 -c64 -d${WRK_SECONDS}s --latency -s $WORK/post.lua"
BLAST_ND="build/beacon-blast --mode http --batch 50 --conns 8 --count $ND_COUNT --seed $SEED --duration 30 --quiet"

udp_run() { # KIND(udp|udp-paced) LABEL RUN
	local kind=$1 label=$2 run=$3 d="$WORK/$1-$2-$3" port topics daemon mu="" sf="" load
	mkdir -p "$d"
	say "$kind run $run/$RUNS: $label"
	if [ "$kind" = udp ]; then load=$BLAST_UDP; else load=$BLAST_PACED; fi
	start_kafka "$d"
	case $label in
	beacond) start_beacond "$d" lz4; daemon=beacond ;;
	beacond-nocomp) start_beacond "$d" none; daemon=beacond ;;
	rsyslog) start_rsyslog "$d"; daemon=rsyslog ;;
	esac
	if [ $daemon = beacond ]; then
		port=$P_UDP; topics=$TOPICS_BEACOND; mu="http://127.0.0.1:$P_MET/metrics"
		ss -Hulnmp "sport = :$P_UDP" > "$d/socket.txt" 2>&1 || true
	else
		port=$P_RSYSLOG; topics=$RSYSLOG_TOPIC; sf="$d/impstats.log"
	fi
	# shellcheck disable=SC2086
	run_helper udp --daemon $daemon --label "$label" --run "$run" --pid "$DPID" \
		--kafka-pid "$KAFKA_PID" --bootstrap "$BS" --topics "$topics" --port "$port" \
		${mu:+--metrics-url "$mu"} ${sf:+--stats-file "$sf"} --max-s "$UDP_MAX_S" \
		--kind "$kind" --out "$RES/$kind-$label-$run.json" \
		--warmup="$BLAST_WARM --target 127.0.0.1:$port" \
		--cmd="$load --target 127.0.0.1:$port"
	stop_all
}
http_run() { # LABEL RUN
	local label=$1 run=$2 d="$WORK/http-$1-$2"
	mkdir -p "$d"
	say "HTTP run $run/$RUNS: $label"
	case $label in
	beacond|beacond-ndjson)
		start_kafka "$d"
		start_beacond "$d" lz4
		# warm-up: connections to Kafka, code paths (not measured)
		curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
			--data "{\"type\":\"view\",\"ts\":$(date +%s000),\"anon_id\":\"3f2b8c1e-5a47-4d2e-9b1a-0c6e7f8d9a10\",\"film_id\":\"6b1f0a2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c\",\"position_ms\":1,\"duration_ms\":2}" \
			"http://127.0.0.1:$P_HTTP/v1/beacons" || die "beacond refused the warm-up beacon"
		if [ "$label" = beacond ]; then
			# shellcheck disable=SC2086
			run_helper load --kind wrk --daemon beacond --label beacond --run "$run" --pid "$DPID" \
				--kafka-pid "$KAFKA_PID" --metrics-url "http://127.0.0.1:$P_MET/metrics" \
				--max-s "$WRK_SECONDS" --out "$RES/wrk-beacond-$run.json" \
				--cmd="$WRK http://127.0.0.1:$P_HTTP/v1/beacons"
		else
			# shellcheck disable=SC2086
			run_helper load --kind blast --daemon beacond --label beacond-ndjson --run "$run" \
				--pid "$DPID" --kafka-pid "$KAFKA_PID" --metrics-url "http://127.0.0.1:$P_MET/metrics" \
				--max-s 30 --out "$RES/nd-beacond-$run.json" \
				--cmd="$BLAST_ND --target 127.0.0.1:$P_HTTP"
		fi
		;;
	nginx)
		start_nginx "$d"
		# shellcheck disable=SC2086
		run_helper load --kind wrk --daemon nginx --label nginx --run "$run" --pid "$DPID" \
			--max-s "$WRK_SECONDS" --out "$RES/wrk-nginx-$run.json" \
			--cmd="$WRK http://127.0.0.1:$P_NGINX/v1/beacons"
		;;
	esac
	stop_all
}

# ---------------------------------------------------------------- run
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
ps -eo pid,pcpu,etimes,comm --sort=-pcpu | head -8 > "$WORK/ps-before.txt"
say "scratch: $WORK; $RUNS runs each; UDP $UDP_COUNT datagrams; wrk ${WRK_SECONDS}s; NDJSON $ND_COUNT beacons"
"$PY" -c 'import confluent_kafka' || die "python3-confluent-kafka missing"
tmpconf="$WORK/rsyslog-check.conf"
sed -e "s/@PORT@/$P_RSYSLOG/g; s/@BROKER@/127.0.0.1:9/g; s/@TOPIC@/$RSYSLOG_TOPIC/g" "$PEERS/rsyslog-omkafka.conf" > "$tmpconf"
rsyslogd -N1 -f "$tmpconf" > "$WORK/rsyslog-check.log" 2>&1 || die "rsyslogd -N1 rejects the peer config: $(cat "$WORK/rsyslog-check.log")"

# The whole run must stay within BUDGET_S (a normal run takes ~5 min): a run
# that could not finish in time is skipped, and the report says so.
SKIPPED=""
in_budget() { # WHAT SECONDS_IT_MAY_TAKE
	if [ $(( $(date +%s) - T_START + $2 )) -le "$BUDGET_S" ]; then return 0; fi
	say "skipping $1: it could overrun the ${BUDGET_S}s budget"
	SKIPPED="$SKIPPED $1;"
	return 1
}
for run in $(seq 1 "$RUNS"); do
	for l in beacond rsyslog beacond-nocomp; do
		[ "$l" != beacond-nocomp ] || [ "$EXTRA" != 0 ] || continue
		if in_budget "udp $l run $run" $((UDP_MAX_S + 15)); then udp_run udp $l "$run"; fi
	done
done
if [ "$UDP_RATE" != 0 ]; then
	for run in $(seq 1 "$RUNS"); do
		for l in beacond rsyslog; do
			if in_budget "udp-paced $l run $run" $((UDP_MAX_S + 15)); then udp_run udp-paced $l "$run"; fi
		done
	done
fi
for run in $(seq 1 "$RUNS"); do
	for l in beacond nginx; do
		if in_budget "http $l run $run" $((WRK_SECONDS + 15)); then http_run $l "$run"; fi
	done
done
for run in $(seq 1 "$RUNS"); do
	if in_budget "ndjson run $run" 40; then http_run beacond-ndjson "$run"; fi
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
BUILD_INFO=$(sed -n '1s/^beacond: \([^:]*\):.*/\1/p' "$WORK/udp-beacond-1/beacond.log")
TOTAL_S=$(( $(date +%s) - T_START ))
export RUNS UDP_COUNT WRK_SECONDS ND_COUNT LOAD_BEFORE LOAD_AFTER TOTAL_S BUILD_INFO STAMP SKIPPED
export CPU_MODEL; CPU_MODEL=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
export V_RSYSLOG; V_RSYSLOG=$(pkgver rsyslog)
export V_RSK; V_RSK=$(pkgver rsyslog-kafka)
export V_NGINX; V_NGINX=$(pkgver nginx)
export V_WRK; V_WRK=$(pkgver wrk)
export V_RDK; V_RDK=$(pkgver librdkafka1)
export V_GCC; V_GCC=$(gcc --version 2>/dev/null | head -1)
export PS_BEFORE; PS_BEFORE=$(cat "$WORK/ps-before.txt")
export BEACOND_INI; BEACOND_INI=$(sed "s/^brokers = .*/brokers = KAFKA/" "$WORK/udp-beacond-1/beacond.ini")
export RSYSLOG_CONF; RSYSLOG_CONF=$(sed "s#$WORK/udp-rsyslog-1#RUNDIR#g; s/$(cat "$WORK/udp-rsyslog-1/bootstrap")/KAFKA/g" "$WORK/udp-rsyslog-1/rsyslog.conf")
export NGINX_CONF; NGINX_CONF=$(sed "s#$WORK/http-nginx-1#RUNDIR#g" "$WORK/http-nginx-1/nginx/nginx.conf")
export LUA; LUA=$(cat "$WORK/post.lua")
export SOCK_B; SOCK_B=$(tr -s ' \t\n' ' ' < "$WORK/udp-beacond-1/socket.txt" 2>/dev/null || true)
export SOCK_R; SOCK_R=$(tr -s ' \t\n' ' ' < "$WORK/udp-rsyslog-1/socket.txt" 2>/dev/null || true)
WRK_SHOWN=${WRK/$WORK\//}
export P_UDP P_HTTP P_MET P_RSYSLOG P_NGINX SEED UDP_MAX_S BLAST_UDP BLAST_PACED BLAST_WARM WRK_SHOWN BLAST_ND UDP_RATE UDP_PACED_COUNT
"$PY" - "$WORK/info.json" <<'PYEOF'
import json, os, platform, sys
e = os.environ
info = {
 "date": e["STAMP"], "command": "perf/bench_ingest.sh", "total_s": e["TOTAL_S"], "runs": int(e["RUNS"]),
 "udp_count": int(e["UDP_COUNT"]), "udp_rate": int(e["UDP_RATE"]), "udp_paced_count": int(e["UDP_PACED_COUNT"]), "wrk_seconds": e["WRK_SECONDS"], "nd_count": int(e["ND_COUNT"]),
 "machine": {"nproc": os.cpu_count(), "CPU": e["CPU_MODEL"], "kernel": platform.release(),
             "RAM": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB"},
 "versions": {"beacond (git describe)": e["BUILD_INFO"], "rsyslog": e["V_RSYSLOG"], "rsyslog-kafka": e["V_RSK"],
              "nginx": e["V_NGINX"], "wrk": e["V_WRK"], "librdkafka": e["V_RDK"], "compiler": e["V_GCC"]},
 "load_before": e["LOAD_BEFORE"], "load_after": e["LOAD_AFTER"], "skipped": e.get("SKIPPED", "").strip(),
 "method": [
  "- Fresh kafka-dev (`--partitions 64`, librdkafka's mock cluster) and a fresh daemon for every run; "
  "the daemons run one after the other, never at the same time.",
  "- UDP: a warm-up of 2,000 datagrams at 20,000/s (not counted; connections and metadata ready), "
  "then one flat-out `beacon-blast --mode udp-json` of the same seeded datagrams to each daemon "
  "(mixed types: 60 % view, 15 % player, 10 % page, 5 % action, 5 % like, 2 % review, 3 % bookmark; "
  "all valid; 30 % from registered users with an HS256 token). "
  "*Delivered* is the producer's own delivery counter: beacond `beacond_kafka_delivered_total{status=\"persisted\"}`, "
  "rsyslog omkafka's `acked` from impstats. omkafka counts an ack only when it polls librdkafka, which it "
  "does after each message it produces, so after the last message of a load its counter lags; the script sends "
  "one extra datagram once the broker holds everything (before the baseline and after the run) and reads "
  "`acked` two impstats intervals later, then subtracts that one datagram. "
  "The broker's end offsets (all partitions, polled every 20 ms) give *broker appended* as a cross-check, "
  "and the time of the last delivery: the end of a run is the first poll that saw the final offset. "
  "The start is the first datagram sent (the load generator's exit time minus its own elapsed_s). "
  "*Kernel drops* = the socket's drop counter in /proc/net/udp.",
  "- CPU: utime+stime of the daemon from /proc/PID/stat (all threads), from the start of the load to "
  "the last delivery. kafka-dev's CPU is given too: the two daemons do not send the same bytes "
  "(beacond: a ~390-byte normalized JSON record keyed by user/anon id, lz4; rsyslog: the raw ~190-byte "
  "datagram, no key, no compression).",
  "- HTTP: `wrk -t1 -c64` with the Lua script below (one anonymous view heartbeat, 227 bytes, ts = now). "
  "For beacond, /metrics before and after: 204 responses, accepted beacons, persisted records "
  "(the script waits until every accepted beacon is persisted, and CPU is counted until then).",
  "- Memory: VmRSS of the daemon (nginx: master + worker) sampled every 20 ms during the load "
  "(steady = median sample); peak = the larger of VmHWM at the end (peak since the daemon started) and the largest sample.",
  f"- UDP socket buffers as created (ss -m; rb = SO_RCVBUF granted): beacond `{e['SOCK_B']}`; rsyslog `{e['SOCK_R']}`.",
  "- The load generator, kafka-dev, the daemon and this script's sampler share the 2 cores; "
  "nothing is pinned. Processes on the machine at the start:",
  "```", *e["PS_BEFORE"].splitlines(), "```",
 ],
 "commands": [
  "# beacond (UDP and HTTP runs; the lz4-off attribution run has compression = none)",
  f"build/kafka-dev --partitions 64 --topics ugc.views,ugc.events,ugc.actions,ugc.dlq,bench.rsyslog --bootstrap-file RUNDIR/bootstrap",
  "build/beacond --config RUNDIR/beacond.ini", *e["BEACOND_INI"].splitlines(), "",
  "# rsyslog", "rsyslogd -n -f RUNDIR/rsyslog.conf -i RUNDIR/rsyslogd.pid", *e["RSYSLOG_CONF"].splitlines(), "",
  "# nginx", "nginx -c RUNDIR/nginx/nginx.conf -p RUNDIR/nginx -e RUNDIR/nginx/error.log", *e["NGINX_CONF"].splitlines(), "",
  "# UDP loads (warm-up, then the measured blast), to each daemon's port",
  f"{e['BLAST_WARM']} --target 127.0.0.1:PORT", f"{e['BLAST_UDP']} --target 127.0.0.1:PORT",
  f"{e['BLAST_PACED']} --target 127.0.0.1:PORT   # paced runs",
  f"#   beacond PORT = {e['P_UDP']}, rsyslog PORT = {e['P_RSYSLOG']}", "",
  "# HTTP loads", f"{e['WRK_SHOWN']} http://127.0.0.1:{e['P_HTTP']}/v1/beacons   # beacond",
  f"{e['WRK_SHOWN']} http://127.0.0.1:{e['P_NGINX']}/v1/beacons   # nginx",
  f"{e['BLAST_ND']} --target 127.0.0.1:{e['P_HTTP']}   # beacond NDJSON", "",
  "# post.lua", *e["LUA"].splitlines(),
 ],
}
json.dump(info, open(sys.argv[1], "w"), indent=1)
PYEOF
"$PY" "$HELPER" report --results "$RES" --info "$WORK/info.json" --md "$OUT_MD"
say "done in ${TOTAL_S}s: $OUT_MD (scratch files: $WORK)"
cat "$OUT_MD"
