#!/usr/bin/env bash
# Collector load figures for BENCHMARKS.md ("Collector load"). Builds nothing: expects the
# binaries in BUILD_DIR (default build/):
#   cmake -S . -B build -G Ninja && ninja -C build corvid-collector corvid-loadgen \
#     corvid-bench-provision corvid-bench-sqlite
#   bench/collector_load.sh                  # about 15 minutes
# Scenarios, each against a fresh collector (127.0.0.1, port 0) on a copy of one provisioned
# data dir (10,000 servers, one admin):
#   1 throughput   100, then 10 agents flooding (32 unacked samples each) for 30 s; then the bare
#                  SQLite limit (corvid-bench-sqlite) for the same rows in several transaction
#                  sizes, and the same rows in other table layouts
#   2 agents-1k    1,000 agents at a 5 s interval for 120 s: collector CPU and RSS
#   3 agents-10k   10,000 agents at a 5 s interval for 120 s: collector CPU and RSS
#   4 latency      100 agents at 1 s with 100, then 1,000 subscribers over 10 servers, 60 s each
# The collector is sampled (utime+stime from /proc/PID/stat, VmRSS) exactly over the load
# generator's measured window, which starts after the ramp and a warm-up.
# Environment: BUILD_DIR, OUT_DIR (results; default a new temp dir, kept), QUICK=1 (short
# durations, a smoke test of the script), SCENARIOS="throughput agents-1k agents-10k latency".
# Every process this script starts is stopped by PID on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
collector="$build/collector/corvid-collector"
loadgen="$build/bench/corvid-loadgen"
provision="$build/bench/corvid-bench-provision"
sqlite_bench="$build/bench/corvid-bench-sqlite"
for b in "$collector" "$loadgen" "$provision" "$sqlite_bench"; do
  [ -x "$b" ] || { echo "missing $b: build it first (see the header of $0)" >&2; exit 2; }
done

scenarios=${SCENARIOS:-"throughput agents-1k agents-10k latency"}
quick=${QUICK:-0}
if [ "$quick" = 1 ]; then
  flood_s=5; steady_s=15; latency_s=10; warm_s=6; sqlite_rows=20000; limit_rows=20000
else
  flood_s=30; steady_s=120; latency_s=60; warm_s=10; sqlite_rows=100000; limit_rows=500000
fi
out=${OUT_DIR:-$(mktemp -d /tmp/corvid-collector-load.XXXXXX)}
mkdir -p "$out"
work=$(mktemp -d /tmp/corvid-collector-load-work.XXXXXX)
results="$out/results.md"
: > "$results"
hz=$(getconf CLK_TCK)

# Both processes of the 10,000-agent scenario hold one socket per agent.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
nofile=$(ulimit -n)

pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT INT TERM

log() { echo "[$(date +%T)] $*" >&2; }
note() { echo "$*" >> "$results"; }

# cpu_ticks PID [TID]: utime+stime of the process (or one thread), in clock ticks.
cpu_ticks() {
  local f=/proc/$1/stat
  [ -n "${2:-}" ] && f=/proc/$1/task/$2/stat
  # Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
  sed 's/^.*) //' "$f" | awk '{print $12 + $13}'
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
now() { date +%s.%N; }
calc() { python3 -c "print($1)"; }

# wait_line FILE PATTERN SECONDS PID: waits for a line in FILE; fails if PID ends or time runs out.
wait_line() {
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$4" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
}

# Provision once; every scenario copies it, so each starts from the same small database.
log "provisioning 10,000 servers"
"$provision" --data-dir "$work/template" --servers 10000 --user bench --password bench-password-1 \
  2> "$out/provision.log"
cp "$work/template/bench-keys.tsv" "$work/keys.tsv"

collector_pid=""
port=""
start_collector() {
  local name=$1 dir="$work/$1"
  collector_dir=$dir
  cp -a "$work/template" "$dir"
  rm -f "$dir/bench-keys.tsv"
  cat > "$dir/collector.toml" <<EOF
listen = "127.0.0.1:0"
data_dir = "$dir"
log_level = "info"
sqlite_synchronous = "normal"
write_queue_samples = 10000
# Every simulated agent and subscriber comes from 127.0.0.1: lift the per-address bound.
max_connections_per_address = 100000
EOF
  "$collector" serve --config "$dir/collector.toml" > "$dir/stdout" 2> "$out/$name.collector.log" &
  collector_pid=$!
  pids+=("$collector_pid")
  wait_line "$dir/stdout" "listening on" 15 "$collector_pid" || { echo "collector did not start" >&2; exit 1; }
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1://p' "$dir/stdout")
  sleep 1
  idle_rss=$(rss_kb "$collector_pid")
  log "$name: collector pid $collector_pid on port $port, idle RSS $idle_rss kB"
}

forget_pid() {
  local keep=() p
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}

stop_collector() {
  local t0 t1 rc=0
  t0=$(now)
  kill -TERM "$collector_pid"
  for _ in $(seq 1 150); do kill -0 "$collector_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$collector_pid" 2>/dev/null && log "collector did not stop within 15 s; killed"
  wait "$collector_pid" || rc=$?
  forget_pid "$collector_pid"
  t1=$(now)
  db_note="database $(du -sm "$collector_dir" | cut -f1) MiB"
  rm -rf "$collector_dir"
  log "collector stopped (exit $rc) in $(calc "round($t1 - $t0, 2)") s"
  stop_note="collector exit code $rc, $(calc "round($t1 - $t0, 1)") s after SIGTERM; $db_note"
}

# run_load NAME LOADGEN-ARGS...: runs the load generator, samples the collector in its window.
# Sets: cpu_pct main_pct other_pct rss_start rss_max rss_end window_s json
run_load() {
  local name=$1
  shift
  local lg_json="$out/$name.json" lg_err="$out/$name.loadgen.log"
  "$loadgen" --url "ws://127.0.0.1:$port" --keys "$work/keys.tsv" --json "$@" > "$lg_json" 2> "$lg_err" &
  local lg=$!
  pids+=("$lg")
  wait_line "$lg_err" "loadgen: measuring" 400 "$lg" || { cat "$lg_err" >&2; echo "$name: no measured window" >&2; exit 1; }
  local c0 m0 t0 c1 m1 t1
  c0=$(cpu_ticks "$collector_pid"); m0=$(cpu_ticks "$collector_pid" "$collector_pid"); t0=$(now)
  rss_start=$(rss_kb "$collector_pid"); rss_max=$rss_start
  while ! grep -q "loadgen: measure end" "$lg_err"; do
    kill -0 "$lg" 2>/dev/null || break
    local r
    r=$(rss_kb "$collector_pid"); [ "$r" -gt "$rss_max" ] && rss_max=$r
    sleep 1
  done
  c1=$(cpu_ticks "$collector_pid"); m1=$(cpu_ticks "$collector_pid" "$collector_pid"); t1=$(now)
  rss_end=$(rss_kb "$collector_pid")
  local rc=0
  wait "$lg" || rc=$?
  forget_pid "$lg"
  [ "$rc" = 0 ] || { cat "$lg_err" >&2; echo "$name: loadgen exit $rc" >&2; exit 1; }
  window_s=$(calc "round($t1 - $t0, 1)")
  cpu_pct=$(calc "round(100.0 * ($c1 - $c0) / $hz / ($t1 - $t0), 1)")
  main_pct=$(calc "round(100.0 * ($m1 - $m0) / $hz / ($t1 - $t0), 1)")
  other_pct=$(calc "round($cpu_pct - $main_pct, 1)")
  json=$(cat "$lg_json")
  log "$name: collector CPU $cpu_pct% (io thread $main_pct%, storage threads $other_pct%), RSS $rss_start -> max $rss_max kB"
}

field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, d))" "$json" "$1"; }

note "## Run $(date -u +%Y-%m-%dT%H:%M:%SZ)"
note ""
note "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
note "- code: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo ' + uncommitted changes'); build: $build ($(grep -o -m1 -- ' -O[0-3s] ' "$build/build.ninja" | head -1 | tr -d ' '))"
note "- open files limit: $nofile; quick mode: $quick"
note ""

for scenario in $scenarios; do
  case "$scenario" in
  throughput)
    note "### Throughput: agents sending as fast as acks allow (32 unacked samples each)"
    note ""
    note "| agents | samples in flight | acked samples/s | ack p50 | ack p99 | ack max | collector CPU (io thread + storage threads) | collector RSS max | loadgen CPU |"
    note "|---|---|---|---|---|---|---|---|---|"
    for agents in 100 10; do
      start_collector "throughput-$agents"
      run_load "throughput-$agents" --agents "$agents" --flood --window 32 --warmup 5 --duration "$flood_s"
      note "| $agents | $((agents * 32)) | $(field 'round(acked_per_s)') | $(field 'ack_latency_ms["p50"]') ms | $(field 'ack_latency_ms["p99"]') ms | $(field 'ack_latency_ms["max"]') ms | $cpu_pct% ($main_pct% + $other_pct%) | $((rss_max / 1024)) MiB | $(field 'loadgen_cpu_percent')% |"
      echo "$agents agents: ${window_s} s measured; connected $(field 'agents_connected'), failed $(field 'agents_failed'), lost $(field 'agents_lost'); samples sent $(field 'samples_sent'), acked $(field 'samples_acked'); errors: $(field 'errors')" >> "$out/throughput-notes.txt"
      stop_collector
      echo "$agents agents: $stop_note" >> "$out/throughput-notes.txt"
    done
    note ""
    sed 's/^/- /' "$out/throughput-notes.txt" >> "$results"
    note ""
    note "Bare SQLite limit for the same rows (realistic sample JSON, WAL, synchronous=NORMAL), only the inserts timed;"
    note "rows go to the servers in turn (runs of 1), or in runs of 32 consecutive rows per server:"
    note ""
    note "| servers | rows per transaction | run length | rows | storage layer rows/s | raw C API rows/s | JSON bytes/row | file bytes/row |"
    note "|---|---|---|---|---|---|---|---|"
    # servers:batch:run-length:repeats. The row the flood is compared with (100:2000:1) inserts about
    # as many rows as the 100-agent flood stored (the rate falls as the file grows) and runs three
    # times: single runs on this VM's disk vary by about 20%.
    for spec in 100:1:1:1 100:10:1:1 100:100:1:1 100:1000:1:1 100:2000:1:3 100:2000:32:1 10:2000:1:1 10000:2000:1:1; do
      IFS=: read -r servers batch runlen repeats <<< "$spec"
      rows=$sqlite_rows
      [ "$batch" -lt 100 ] && rows=$((sqlite_rows / 4))
      [ "$repeats" -gt 1 ] && rows=$limit_rows
      f="$out/sqlite-$servers-$batch-$runlen.json"
      : > "$f"
      for _ in $(seq 1 "$repeats"); do
        d=$(mktemp -d "$work/sqlite.XXXXXX")
        "$sqlite_bench" --rows "$rows" --batch "$batch" --servers "$servers" --run-length "$runlen" \
          --dir "$d" --json >> "$f" 2>> "${f%.json}.log"
        rm -rf "$d"
      done
      s=$(python3 - "$f" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
def rate(mode):
    r = sorted(x["rows_per_s"] for x in runs if x["mode"] == mode)
    med = f"{statistics.median(r):.0f}"
    return med if len(r) == 1 else f"{med} (median of {len(r)}: {r[0]:.0f}–{r[-1]:.0f})"
st = next(x for x in runs if x["mode"] == "storage")
print(f'| {st["servers"]} | {st["batch"]} | {sys.argv[1].rsplit("-", 1)[1][:-5]} | {st["rows"]} | {rate("storage")} | '
      f'{rate("raw")} | {st["json_bytes_per_row"]:.0f} | {st["file_bytes"] / st["rows"]:.0f} |')
PY
)
      note "$s"
      log "sqlite $spec: $s"
    done
    note ""
    note "The same rows through the raw C API with other table layouts (100 servers, 2000 rows per transaction):"
    note ""
    note "| samples table | rows/s | file bytes/row |"
    note "|---|---|---|"
    for variant in "same:0:WITHOUT ROWID, 4 KiB pages (the collector's schema)" \
                   "same:8192:WITHOUT ROWID, 8 KiB pages" \
                   "rowid:0:rowid table + UNIQUE (server_id, ts) index, 4 KiB pages"; do
      schema=${variant%%:*}
      rest=${variant#*:}
      page=${rest%%:*}
      label=${rest#*:}
      d=$(mktemp -d "$work/sqlite.XXXXXX")
      "$sqlite_bench" --rows "$sqlite_rows" --batch 2000 --servers 100 --mode raw --raw-schema "$schema" \
        --raw-page-size "$page" --dir "$d" --json \
        > "$out/sqlite-layout-$schema-$page.json" 2> "$out/sqlite-layout-$schema-$page.log"
      rm -rf "$d"
      s=$(python3 - "$out/sqlite-layout-$schema-$page.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f'{r["rows_per_s"]:.0f} | {r["file_bytes"] / r["rows"]:.0f}')
PY
)
      note "| $label | $s |"
      log "sqlite layout $label: $s"
    done
    note ""
    ;;
  agents-1k | agents-10k)
    n=1000; [ "$scenario" = agents-10k ] && n=10000
    if [ "$nofile" -lt $((n + 200)) ]; then
      note "### $n agents: skipped, open files limit $nofile is too low"
      continue
    fi
    start_collector "$scenario"
    run_load "$scenario" --agents "$n" --interval-ms 5000 --warmup "$warm_s" --duration "$steady_s"
    note "### $n agents at a 5 s interval, ${window_s} s measured after a $(field 'ramp_s') s ramp and ${warm_s} s warm-up"
    note ""
    note "| acked samples/s | collector CPU (io thread + storage threads) | collector RSS idle → in window max | ack p50 | ack p99 | ack max | loadgen CPU |"
    note "|---|---|---|---|---|---|---|"
    note "| $(field 'round(acked_per_s)') | $cpu_pct% ($main_pct% + $other_pct%) | $((idle_rss / 1024)) → $((rss_max / 1024)) MiB | $(field 'ack_latency_ms["p50"]') ms | $(field 'ack_latency_ms["p99"]') ms | $(field 'ack_latency_ms["max"]') ms | $(field 'loadgen_cpu_percent')% |"
    note ""
    note "agents connected $(field 'agents_connected'), failed $(field 'agents_failed'), lost $(field 'agents_lost'); late sends $(field 'late_ticks'); errors: $(field 'errors'); collector RSS after the agents left: $(($(rss_kb "$collector_pid") / 1024)) MiB (peak $(($(hwm_kb "$collector_pid") / 1024)) MiB)"
    stop_collector
    note ""
    note "$stop_note"
    note ""
    ;;
  latency)
    start_collector latency
    note "### Delivery latency: 100 agents at a 1 s interval, subscribers spread over 10 servers"
    note ""
    note "| subscribers | messages measured | delivery p50 | p99 | max | ack p50 | ack p99 | collector CPU | collector RSS max | loadgen CPU |"
    note "|---|---|---|---|---|---|---|---|---|---|"
    for subs in 100 1000; do
      run_load "latency-$subs" --agents 100 --interval-ms 1000 --warmup 5 --duration "$latency_s" \
        --subscribers "$subs" --subscribe-servers 10 --user bench --password bench-password-1
      note "| $subs | $(field 'delivery_latency_ms["count"]') | $(field 'delivery_latency_ms["p50"]') ms | $(field 'delivery_latency_ms["p99"]') ms | $(field 'delivery_latency_ms["max"]') ms | $(field 'ack_latency_ms["p50"]') ms | $(field 'ack_latency_ms["p99"]') ms | $cpu_pct% | $((rss_max / 1024)) MiB | $(field 'loadgen_cpu_percent')% |"
      echo "subscribers $subs: connected $(field 'subscribers_connected'), failed $(field 'subscribers_failed'), lost $(field 'subscribers_lost'), unmatched $(field 'delivered_unmatched'); errors: $(field 'errors')" >> "$out/latency-notes.txt"
    done
    note ""
    stop_collector
    echo "$stop_note" >> "$out/latency-notes.txt"
    sed 's/^/- /' "$out/latency-notes.txt" >> "$results"
    note ""
    ;;
  *)
    echo "unknown scenario $scenario" >&2
    exit 2
    ;;
  esac
done

log "results in $results"
cat "$results"
