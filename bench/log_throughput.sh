#!/usr/bin/env bash
# Log throughput figures for BENCHMARKS.md ("Log throughput"): how many log lines per second one
# real corvid-agent gets from a file into the collector's database, and to 100 live subscribers.
#
# Per run, everything fresh in a temp dir: a collector on 127.0.0.1 (port 0, the "listening on"
# line), a server and an admin user made with its CLI, a login; one corvid-agent (rate_limit_per_s
# = 100000, state dir in the temp dir) following DIR/*.log. Then bench/log_throughput.py (`run`)
# waits until the agent follows the file (a probe line is stored), connects the subscribers, has
# its writer append LINES nginx-like lines (~133 bytes, 1% "[warn]") as fast as it can, and times
# the first write to the last line stored (polling `SELECT count(*) FROM log_entries` every
# 0.1 s); then waits for the subscribers (received, or reported dropped). CPU time per process and
# thread, time spent waiting for a CPU (/proc/PID/task/*/stat, schedstat), RSS (VmRSS every 0.5 s,
# and VmHWM) of the collector and the agent; the clients' CPU time; the agent's batches (from the
# stored rows). Results: one JSON per run and results.md in OUT_DIR. Scenarios:
#   A   no subscribers
#   B   100 subscribers of /api/v1/ws/logs/ID, no filter (C++ client, bench/log_subscribers.cpp)
#   C   100 subscribers with {"level":"WARN"} (1% of the lines; C++ client)
#   L   as B, but the writer paced at RATE lines/s (default 500) for LINES_PACED lines (20000):
#       delivery latency when the pipeline is not saturated
#   P   as B with the Python asyncio client, to show whether the client is what limits
# and at the end, once, SQLite alone: LINES of the same lines into the collector's log schema (read
# from collector/storage/sqlite_storage.cpp), with and without the FTS5 trigram index (`sqlite`).
# Runs go A B C L P, A B C L P, ... (RUNS rounds), so slow phases of a shared machine hit every
# scenario.
#
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
#   cmake --build build-bench -j2 --target corvid-collector corvid-agent corvid-bench-logsub
#   BUILD_DIR=build-bench bench/log_throughput.sh         # about 10 minutes with the defaults
#
# Environment: BUILD_DIR (default build/), OUT_DIR (results, kept; default a new temp dir),
# LINES (100000), RUNS (2), SCENARIOS ("A B C L P"), SUBSCRIBERS (100), RATE (500), LINES_PACED
# (20000), TIMEOUT_S (300, per run: the longest wait for storage; the subscribers get at most 90 s
# more), SQLITE (1; 0 skips the SQLite-alone step). QUICK=1: 20000 lines (5000 paced), one round.
# Needs: /usr/bin/python3 (python3-websockets for scenario P; packaging/build-deps.sh installs it
# for the integration tests). Every process this script starts is stopped by PID.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
collector="$build/collector/corvid-collector"
agent="$build/agent/corvid-agent"
logsub="$build/bench/corvid-bench-logsub"
helper="$root/bench/log_throughput.py"
py=/usr/bin/python3
quick=${QUICK:-0}
lines=${LINES:-100000}
runs=${RUNS:-2}
rate=${RATE:-500}
lines_paced=${LINES_PACED:-20000}
if [ "$quick" = 1 ]; then lines=${LINES:-20000}; lines_paced=${LINES_PACED:-5000}; runs=${RUNS:-1}; fi
scenarios=${SCENARIOS:-"A B C L P"}

for b in "$collector" "$agent"; do
  [ -x "$b" ] || { echo "missing $b: build it first (see the header of $0)" >&2; exit 2; }
done
case " $scenarios " in *" B "* | *" C "* | *" L "*)
  [ -x "$logsub" ] || { echo "missing $logsub: build it first (see the header of $0)" >&2; exit 2; } ;;
esac
case " $scenarios " in *" P "*)
  "$py" -c 'import websockets' 2>/dev/null || { echo "$py cannot import websockets (apt-get install python3-websockets)" >&2; exit 2; } ;;
esac
subscribers=${SUBSCRIBERS:-100}
timeout_s=${TIMEOUT_S:-300}
out=${OUT_DIR:-$(mktemp -d /tmp/corvid-log-throughput.XXXXXX)}
mkdir -p "$out"
work=$(mktemp -d /tmp/corvid-log-throughput-work.XXXXXX)
password=bench-password-1

pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT INT TERM

log() { echo "[$(date +%T)] $*" >&2; }

forget_pid() {
  local keep=() p
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]+"${keep[@]}"}")
}

# stop PID NAME: SIGTERM, up to 15 s, then SIGKILL; appends "NAME exit N after S s" to $stops.
stop() {
  local pid=$1 name=$2 rc=0 t0 t1
  t0=$(date +%s.%N)
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null && log "$name did not stop within 15 s; killed"
  wait "$pid" || rc=$?
  forget_pid "$pid"
  t1=$(date +%s.%N)
  stops="${stops:+$stops; }$name exit $rc after $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s"
}

# wait_line FILE PATTERN SECONDS PID: waits for a line in FILE; fails if PID ends or time runs out.
wait_line() {
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$4" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
}

# run_one NAME SUBSCRIBERS LEVEL CLIENT LINES RATE: one measured run on a fresh collector and agent.
run_one() {
  local name=$1 subs=$2 level=$3 client=$4 n=$5 r=$6
  local dir="$work/$name"
  mkdir -p "$dir/data" "$dir/logs" "$dir/agent-state"
  local load
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  log "$name: load average $load"

  "$collector" server add bench-web-1 --data-dir "$dir/data" > "$dir/server.json" 2> "$dir/cli.log"
  echo "$password" | "$collector" user add bench --role admin --data-dir "$dir/data" >> "$dir/cli.log" 2>&1
  local server_id api_key
  server_id=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$dir/server.json")
  api_key=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_key"])' "$dir/server.json")

  "$collector" serve --data-dir "$dir/data" --listen 127.0.0.1:0 --log-level info \
    > "$dir/collector.stdout" 2> "$out/$name.collector.log" &
  local cpid=$!
  pids+=("$cpid")
  wait_line "$dir/collector.stdout" "listening on" 15 "$cpid" || { echo "$name: collector did not start" >&2; exit 1; }
  local url
  url=$(sed -n 's/.*listening on //p' "$dir/collector.stdout" | head -1)
  local token
  token=$("$py" "$helper" login --url "$url" --user bench --password "$password")

  cat > "$dir/agent.toml" <<EOF
[logs]
rate_limit_per_s = 100000

[[logs.files]]
path = "$dir/logs/*.log"
EOF
  chmod 600 "$dir/agent.toml"
  : > "$dir/logs/app.log"
  CORVID_API_KEY="$api_key" "$agent" --collector-url "ws${url#http}/api/v1/agents/ws" --interval 5 \
    --log-level info --state-dir "$dir/agent-state" --config "$dir/agent.toml" 2> "$out/$name.agent.log" &
  local apid=$!
  pids+=("$apid")

  local level_args=()
  [ -n "$level" ] && level_args=(--level "$level")
  local rc=0
  "$py" "$helper" run --url "$url" --db "$dir/data/corvid.db" --server-id "$server_id" --token "$token" \
    --log "$dir/logs/app.log" --lines "$n" --rate "$r" --subscribers "$subs" "${level_args[@]+"${level_args[@]}"}" \
    --client "$client" --logsub "$logsub" --collector-pid "$cpid" --agent-pid "$apid" --timeout "$timeout_s" \
    > "$out/$name.json" 2> "$out/$name.client.log" || rc=$?
  local db_mb
  db_mb=$(du -sm "$dir/data" | cut -f1)
  stops=""
  stop "$apid" agent
  stop "$cpid" collector
  if [ "$rc" != 0 ]; then
    cat "$out/$name.client.log" >&2
    echo "$name: client exit $rc" >&2
    exit 1
  fi
  # Annotate the run's JSON with what only the script knows.
  "$py" - "$out/$name.json" "$name" "$load" "$db_mb" "$stops" <<'PY'
import json, sys
path, name, load, db_mb, stops = sys.argv[1:]
r = json.load(open(path))
r.update({"run": name, "loadavg_before_setup": load.split(), "data_dir_mib": int(db_mb), "stops": stops})
json.dump(r, open(path, "w"))
PY
  log "$name: $("$py" "$helper" oneline "$out/$name.json")"
  rm -rf "$dir"
}

{
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ); machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
  echo "- code: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo ' + uncommitted changes'); build: $build ($(grep -o -m1 -- ' -O[0-3s] ' "$build/build.ninja" | head -1 | tr -d ' '))"
  echo "- lines per run: $lines (paced: $lines_paced at $rate/s); subscribers: $subscribers; rounds: $runs of $scenarios"
} > "$out/machine.txt"

run_scenario() {
  case "$1" in
  A) run_one "A-$2" 0 "" cpp "$lines" 0 ;;
  B) run_one "B-$2" "$subscribers" "" cpp "$lines" 0 ;;
  C) run_one "C-$2" "$subscribers" WARN cpp "$lines" 0 ;;
  L) run_one "L-$2" "$subscribers" "" cpp "$lines_paced" "$rate" ;;
  P) run_one "P-$2" "$subscribers" "" python "$lines" 0 ;;
  *) echo "unknown scenario $1" >&2; exit 2 ;;
  esac
}
for round in $(seq 1 "$runs"); do
  for s in $scenarios; do run_scenario "$s" "$round"; done
done

# What SQLite alone needs for the same lines, and how much of it is the FTS5 trigram index.
if [ "${SQLITE:-1}" = 1 ]; then
  log "SQLite alone: $lines rows into the collector's log schema, with and without FTS5 / indexes"
  "$py" "$helper" sqlite --rows "$lines" --schema-from "$root/collector/storage/sqlite_schema.cpp" --dir "$work" \
    > "$out/sqlite-cost.txt"
fi

"$py" "$helper" summarize "$out" > "$out/results.md"
cat "$out/machine.txt" "$out/results.md"
log "results in $out"
