#!/usr/bin/env bash
# Installs exactly the Debian packages that building and testing Corvid need.
# Idempotent and quiet when everything is already present; run as root (or via sudo).
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config
  # libraries (Boost 1.81, not Debian's 1.74 default)
  libboost1.81-dev libsimdjson-dev libfmt-dev libsqlite3-dev libssl-dev
  libsodium-dev libtomlplusplus-dev libsystemd-dev doctest-dev
  # integration tests drive the binaries over their public sockets with Python
  python3 python3-websockets
  # tests: sqlite3 CLI to inspect the collector's database, openssl CLI for test keys
  sqlite3 openssl
  # the package test (tests/packaging): cpack's dpkg-shlibdeps, lintian
  dpkg-dev lintian
  # docker tests (tests/docker): podman's Docker-compatible API service, a busybox image without a registry
  podman runc busybox-static
  # log tests (tests/logs): systemd-journal-remote writes real journal files for sd-journal to read
  systemd-journal-remote
  # fuzz targets (fuzz/, scripts/fuzz-smoke): clang with libFuzzer and the sanitizer runtimes
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

# The browser test (tests/web) drives Debian's Chromium with playwright-core from npm. A node and
# npm already on PATH (e.g. from NodeSource) are used as they are: Debian's nodejs/npm would
# conflict with them, so they are installed only when the commands are missing.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "build-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
