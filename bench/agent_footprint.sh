#!/usr/bin/env bash
# Agent footprint, side by side: corvid-agent, prometheus-node-exporter and collectd run at the same
# time on this host, each producing the host's cpu/memory/filesystem/disk/network/load figures every
# 5 s, and this script samples their resident memory and CPU time. Figures for BENCHMARKS.md; no test
# asserts them.
#
#   bench/agent_footprint.sh [DURATION_S] [OUT_DIR]
#
#   DURATION_S  length of the measured window, default 600 (after a 30 s warm-up)
#   OUT_DIR     where samples.csv and the logs are copied, default build/bench-results/agent_footprint
#
# Environment: CORVID_BUILD_DIR (default build), WARMUP_S (30), SAMPLE_S (10).
#
# What runs, all on 127.0.0.1, all started and stopped by this script:
#   - corvid-collector on a temp data dir (port 0), with one server and one viewer user created by
#     its CLI; it is measured for information only.
#   - corvid-agent --interval 5, connected to it over ws://.
#   - prometheus-node-exporter (Debian's defaults, only the listen address set), scraped every 5 s by
#     curl from this script. A scraper's CPU is not counted: node_exporter works only when scraped,
#     so the scrapes are what make it comparable, but the scraper is the server side.
#   - collectd -f with a generated config: Interval 5; plugins cpu, memory, df, disk, interface, load
#     and network (nothing else). The network plugin sends to a small UDP sink (python3) on
#     127.0.0.1: it is how a real collectd ships to a central server, as the agent does, and it is
#     collectd's cheapest output (values are buffered into ~1.4 kB UDP packets; csv would open,
#     append to and close one file per value list every interval). The sink only counts packets.
#
# Measurement: after the warm-up, every SAMPLE_S seconds, VmRSS/RssAnon/RssFile/Threads from
# /proc/PID/status, Pss and Private_* (USS) from /proc/PID/smaps_rollup, utime+stime from
# /proc/PID/stat and the on-CPU nanoseconds of every live thread from /proc/PID/task/*/schedstat, for
# each measured process. CPU seconds are the difference between the first and the last sample:
# from stat (all threads, including exited ones, in 10 ms ticks) as the headline figure, and from
# schedstat (nanoseconds, live threads only) because a few tenths of a second over ten minutes are
# close to the ticks' resolution. Each process's own PID is read, so its threads count and nothing
# else does.
#
# Prints a Markdown table on stdout (progress on stderr). Exits 1 if a process dies or does not do
# its work during the window (no samples stored, no scrape, no collectd packet).
set -euo pipefail

duration=${1:-600}
repo=$(cd "$(dirname "$0")/.." && pwd)
out_dir=${2:-$repo/build/bench-results/agent_footprint}
build=${CORVID_BUILD_DIR:-$repo/build}
warmup=${WARMUP_S:-30}
sample_every=${SAMPLE_S:-10}
interval=5

agent_bin=$build/agent/corvid-agent
collector_bin=$build/collector/corvid-collector
nodeexp_bin=/usr/bin/prometheus-node-exporter
collectd_bin=/usr/sbin/collectd

say() { printf '%s\n' "agent_footprint: $*" >&2; }
die() { say "$*"; exit 1; }

[[ $duration =~ ^[0-9]+$ && $duration -ge $sample_every ]] || die "DURATION_S must be a whole number >= $sample_every"
for b in "$agent_bin" "$collector_bin"; do
    [[ -x $b ]] || die "$b not built (ninja -C $build corvid-agent corvid-collector)"
done
for b in "$nodeexp_bin" "$collectd_bin" /usr/bin/curl /usr/bin/python3; do
    [[ -x $b ]] || die "$b missing (bench/deps.sh installs the benchmark packages)"
done
[[ -r /usr/lib/collectd/network.so ]] || die "collectd plugins missing (bench/deps.sh)"

tmp=$(mktemp -d /tmp/corvid-footprint.XXXXXX)
pids=()

alive() { # running, not a zombie waiting to be reaped
    local s
    { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
    s=${s##*) }
    [[ ${s:0:1} != Z ]]
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    # Up to 5 s to exit politely (the collector commits and closes), then SIGKILL.
    local deadline=$((SECONDS + 5))
    for p in "${pids[@]}"; do
        while alive "$p" && ((SECONDS < deadline)); do sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    if [[ $rc -ne 0 && -d $tmp ]]; then
        mkdir -p "$out_dir"
        cp "$tmp"/*.log "$out_dir"/ 2>/dev/null || true
        say "failed; logs copied to $out_dir"
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_us() { local t=$EPOCHREALTIME; echo $((10#${t/./})); }

# Sleeps until the next wall-clock multiple of $1 seconds (as the agent and collectd align).
sleep_to_multiple() {
    local period_us=$(($1 * 1000000)) t d
    t=$(now_us)
    d=$((period_us - t % period_us))
    sleep "$((d / 1000000)).$(printf '%06d' $((d % 1000000)))"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_file_line() { # file pattern timeout_s pid
    local deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        kill -0 "$4" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# ---- collector, server and viewer -------------------------------------------------------------
data=$tmp/collector
mkdir -m 700 "$data"
server_json=$("$collector_bin" server add bench-host --data-dir "$data" 2>>"$tmp/collector-cli.log")
api_key=$(sed -n 's/.*"api_key":"\([^"]*\)".*/\1/p' <<<"$server_json")
server_id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' <<<"$server_json")
[[ -n $api_key && -n $server_id ]] || die "server add printed no id/api_key: $server_json"
viewer_password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
printf '%s\n' "$viewer_password" |
    "$collector_bin" user add bench --role viewer --data-dir "$data" >>"$tmp/collector-cli.log" 2>&1

"$collector_bin" serve --data-dir "$data" --listen 127.0.0.1:0 --log-level info \
    >"$tmp/collector.out" 2>"$tmp/collector.log" &
collector_pid=$!
pids+=("$collector_pid")
wait_for_file_line "$tmp/collector.out" 'listening on http://' 15 "$collector_pid" ||
    die "collector did not start: $(cat "$tmp/collector.log")"
collector_url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$tmp/collector.out" | head -1)
collector_ws=ws${collector_url#http}/api/v1/agents/ws

# ---- agent ------------------------------------------------------------------------------------
# An empty config file of its own, so an /etc/corvid/agent.toml on this host plays no part.
: >"$tmp/agent.toml"
chmod 600 "$tmp/agent.toml"
mkdir -m 700 "$tmp/agent-state"
CORVID_API_KEY=$api_key "$agent_bin" --config "$tmp/agent.toml" --collector-url "$collector_ws" \
    --interval "$interval" --state-dir "$tmp/agent-state" --log-level info \
    >"$tmp/agent.log" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")

# ---- node_exporter and its scraper ------------------------------------------------------------
nodeexp_port=$(free_port)
"$nodeexp_bin" --web.listen-address="127.0.0.1:$nodeexp_port" >"$tmp/node_exporter.log" 2>&1 &
nodeexp_pid=$!
pids+=("$nodeexp_pid")

scrape_loop() {
    local child='' t code
    trap '[[ -n $child ]] && kill "$child" 2>/dev/null; exit 0' TERM
    while :; do
        sleep_to_multiple "$interval" & child=$!
        wait "$child"; child=''
        t=$EPOCHREALTIME
        curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 4 \
            "http://127.0.0.1:$nodeexp_port/metrics" >"$tmp/scrape.one" 2>/dev/null & child=$!
        wait "$child" || true; child=''
        code=$(<"$tmp/scrape.one")
        echo "$t ${code:-000 0}" >>"$tmp/scrapes.log"
    done
}

# ---- collectd and its UDP sink ----------------------------------------------------------------
python3 -u -c '
import socket, sys, os
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f: f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
n = b = 0
while True:
    n += 1; b += len(s.recv(65535))
    with open(sys.argv[2] + ".tmp", "w") as f: f.write(f"{n} {b}\n")
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
' "$tmp/sink.port" "$tmp/sink.count" >"$tmp/sink.log" 2>&1 &
sink_pid=$!
pids+=("$sink_pid")
for _ in $(seq 100); do [[ -s $tmp/sink.port ]] && break; sleep 0.05; done
[[ -s $tmp/sink.port ]] || die "UDP sink did not start"
sink_port=$(<"$tmp/sink.port")

mkdir "$tmp/collectd"
cat >"$tmp/collectd.conf" <<EOF
Hostname "bench-host"
FQDNLookup false
BaseDir "$tmp/collectd"
PIDFile "$tmp/collectd/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
AutoLoadPlugin false
Interval $interval

LoadPlugin cpu
LoadPlugin memory
LoadPlugin df
LoadPlugin disk
LoadPlugin interface
LoadPlugin load
LoadPlugin network

<Plugin network>
  Server "127.0.0.1" "$sink_port"
</Plugin>
EOF
"$collectd_bin" -f -C "$tmp/collectd.conf" >"$tmp/collectd.log" 2>&1 &
collectd_pid=$!
pids+=("$collectd_pid")

scrape_loop &
pids+=("$!")

say "collector $collector_pid ($collector_url), agent $agent_pid, node_exporter $nodeexp_pid (:$nodeexp_port)," \
    "collectd $collectd_pid (network -> :$sink_port); warm-up ${warmup} s, window ${duration} s"

# ---- sampling ---------------------------------------------------------------------------------
names=(agent node_exporter collectd collector)
procs=("$agent_pid" "$nodeexp_pid" "$collectd_pid" "$collector_pid")

cpu_ticks() { # utime + stime; the fields after the ")" that ends the command name
    local s f
    read -r s <"/proc/$1/stat" || return 1
    s=${s##*) }
    read -r -a f <<<"$s"
    echo $((f[11] + f[12]))
}

csv=$tmp/samples.csv
echo "t_s,epoch_s,process,pid,vm_rss_kib,rss_anon_kib,rss_file_kib,pss_kib,uss_kib,threads,cpu_ticks,cpu_ns" >"$csv"

sched_ns() { # on-CPU time of the live threads
    local f ns _ sum=0
    for f in /proc/"$1"/task/*/schedstat; do
        read -r ns _ <"$f" 2>/dev/null && sum=$((sum + ns))
    done
    echo "$sum"
}

take_sample() { # elapsed_s
    local i pid name k v rss anon file pss uss threads ticks ns
    for i in "${!names[@]}"; do
        name=${names[$i]} pid=${procs[$i]}
        kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) exited"
        rss='' anon='' file='' threads='' pss='' uss=0
        while read -r k v _; do
            case $k in
                VmRSS:) rss=$v ;; RssAnon:) anon=$v ;; RssFile:) file=$v ;; Threads:) threads=$v ;;
            esac
        done <"/proc/$pid/status"
        while read -r k v _; do
            case $k in
                Pss:) pss=$v ;; Private_Clean: | Private_Dirty:) uss=$((uss + v)) ;;
            esac
        done <"/proc/$pid/smaps_rollup"
        ticks=$(cpu_ticks "$pid")
        ns=$(sched_ns "$pid")
        echo "$1,${EPOCHREALTIME},$name,$pid,$rss,$anon,$file,$pss,$uss,$threads,$ticks,$ns" >>"$csv"
    done
}

sleep "$warmup"
for i in "${!names[@]}"; do
    kill -0 "${procs[$i]}" 2>/dev/null || die "${names[$i]} exited during warm-up: $(tail -5 "$tmp/${names[$i]}.log")"
done

count_scrapes_since() { awk -v t0="$1" '$1 >= t0 { n++; if ($2 == 200) ok++ } END { printf "%d %d\n", n, ok }' "$tmp/scrapes.log"; }
sink_packets() { [[ -s $tmp/sink.count ]] && cut -d' ' -f1 "$tmp/sink.count" || echo 0; }

window_start=$EPOCHREALTIME
window_start_s=${window_start%.*}
sink_start=$(sink_packets)
start_us=$(now_us)
n_samples=$((duration / sample_every))
for ((k = 0; k <= n_samples; k++)); do
    target_us=$((start_us + k * sample_every * 1000000))
    t=$(now_us)
    if ((target_us > t)); then
        d=$((target_us - t))
        sleep "$((d / 1000000)).$(printf '%06d' $((d % 1000000)))"
    fi
    take_sample $((k * sample_every))
    if ((k > 0 && k % 6 == 0)); then say "$((k * sample_every)) / $duration s"; fi
done
window_end_s=$(date +%s)
sink_end=$(sink_packets)

# ---- checks that each did its work ------------------------------------------------------------
read -r scrapes scrapes_ok < <(count_scrapes_since "$window_start")
collectd_packets=$((sink_end - sink_start))

token=$(curl -s --max-time 10 -H 'Content-Type: application/json' \
    -d "{\"username\":\"bench\",\"password\":\"$viewer_password\"}" "$collector_url/api/v1/auth/login" |
    sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[[ -n $token ]] || die "could not log in to the collector"
stored=$(curl -s --max-time 10 -H "Authorization: Bearer $token" \
    "$collector_url/api/v1/servers/$server_id/metrics?from=$window_start_s&to=$window_end_s&limit=10000" |
    grep -o '"timestamp"' | wc -l)

# ---- report ------------------------------------------------------------------------------------
mkdir -p "$out_dir"
cp "$csv" "$out_dir/samples.csv"
cp "$tmp"/*.log "$tmp/collectd.conf" "$out_dir"/ 2>/dev/null || true

clk_tck=$(getconf CLK_TCK)
awk -F, -v tck="$clk_tck" -v stored="$stored" -v expected="$((duration / interval))" \
    -v scrapes="$scrapes" -v scrapes_ok="$scrapes_ok" -v packets="$collectd_packets" '
# columns: 1 t_s, 2 epoch_s, 3 process, 4 pid, 5 vm_rss, 6 rss_anon, 7 rss_file, 8 pss, 9 uss,
#          10 threads, 11 cpu_ticks, 12 cpu_ns
NR == 1 { next }
{
    p = $3
    if (!(p in n)) { order[++np] = p; min[p] = $5; max[p] = $5; t0[p] = $2; c0[p] = $11; s0[p] = $12 }
    n[p]++; sum[p] += $5
    if ($5 < min[p]) min[p] = $5
    if ($5 > max[p]) max[p] = $5
    t1[p] = $2; c1[p] = $11; s1[p] = $12
    anon[p] = $6; file[p] = $7; pss[p] = $8; uss[p] = $9; thr[p] = $10
}
function mib(k) { return sprintf("%.1f", k / 1024) }
function label(p) { return p == "collector" ? "corvid-collector (information only)" : p }
function verdict(r, limit) { return r <= limit ? "yes" : "no" }
END {
    for (i = 1; i <= np; i++) {
        p = order[i]
        avg[p] = sum[p] / n[p]
        cpu[p] = (c1[p] - c0[p]) / tck
        ns[p] = (s1[p] - s0[p]) / 1e9
        pct[p] = 100 * cpu[p] / (t1[p] - t0[p])
    }
    window = t1["agent"] - t0["agent"]
    printf "Window %.0f s, %d samples per process. Work done in the window: the agent %d samples stored by the collector (about %d expected), node_exporter %d scrapes (%d answered 200), collectd %d UDP packets.\n\n", window, n["agent"], stored, expected, scrapes, scrapes_ok, packets
    print "| process | RSS min MiB | RSS avg MiB | RSS max MiB | CPU s | CPU % of one core |"
    print "|---|---:|---:|---:|---:|---:|"
    for (i = 1; i <= np; i++) {
        p = order[i]
        printf "| %s | %s | %s | %s | %.2f | %.3f |\n", label(p), mib(min[p]), mib(avg[p]), mib(max[p]), cpu[p], pct[p]
    }
    print ""
    print "| process | threads | RssAnon MiB | RssFile MiB | PSS MiB | USS MiB | CPU s (schedstat) |"
    print "|---|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= np; i++) {
        p = order[i]
        printf "| %s | %d | %s | %s | %s | %s | %.3f |\n", label(p), thr[p], mib(anon[p]), mib(file[p]), mib(pss[p]), mib(uss[p]), ns[p]
    }
    print "(memory columns: the last sample)"
    a = "agent"; c = "collectd"
    print ""
    print "| agent / collectd | ratio | target | met |"
    print "|---|---:|---:|---|"
    r = avg[a] / avg[c]; printf "| RSS avg | %.2f | <= 0.70 | %s |\n", r, verdict(r, 0.70)
    r = max[a] / max[c]; printf "| RSS max | %.2f | <= 0.70 | %s |\n", r, verdict(r, 0.70)
    if (cpu[c] > 0) { r = cpu[a] / cpu[c]; printf "| CPU seconds (stat) | %.2f | <= 1.00 | %s |\n", r, verdict(r, 1.0) }
    else print "| CPU seconds (stat) | n/a: collectd used under one tick | <= 1.00 | ? |"
    if (ns[c] > 0) { r = ns[a] / ns[c]; printf "| CPU seconds (schedstat) | %.2f | <= 1.00 | %s |\n", r, verdict(r, 1.0) }
    printf "| PSS (information) | %.2f | | |\n", pss[a] / pss[c]
    printf "| USS (information) | %.2f | | |\n", uss[a] / uss[c]
    printf "| RssAnon (information) | %.2f | | |\n", anon[a] / anon[c]
}' "$csv"
echo
echo "Raw samples: $out_dir/samples.csv"

ok=1
((stored > 0)) || { say "the collector stored no agent sample in the window"; ok=0; }
((scrapes_ok > 0)) || { say "no successful node_exporter scrape in the window"; ok=0; }
((collectd_packets > 0)) || { say "collectd sent nothing in the window"; ok=0; }
((ok)) || exit 1
