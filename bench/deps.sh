#!/bin/sh
# Installs the Debian packages the benchmarks under bench/ need and the build and tests do not
# (those come from packaging/build-deps.sh). Does nothing, silently, when all are present.
#
#   prometheus-node-exporter  peer for the agent footprint comparison
#   collectd-core             peer for the agent footprint comparison: the daemon and all C plugins
#                             (cpu, memory, df, disk, interface, load, csv, network ...) with no
#                             dependencies beyond libc and libcap; the `collectd` package only adds
#                             a default config and pulls in the libraries of plugins we do not load
#   curl                      scrapes node_exporter
#   procps                    ps, for the machine description
#
# Installed with --no-install-recommends (node_exporter recommends dbus and a textfile-collector
# bundle, collectd-core recommends perl and rrdtool; none are used here). A policy-rc.d that
# refuses every start keeps maintainer scripts from starting the services' init scripts; it is
# removed again afterwards unless one was already there.
set -eu

packages="prometheus-node-exporter collectd-core curl procps"

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    made_policy=1
fi
cleanup() { if [ "$made_policy" -eq 1 ]; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT

echo "bench/deps.sh: installing$missing" >&2
$sudo apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
