#!/usr/bin/env bash
# The Debian packages end to end, on this machine, with the real tools:
#   1. cpack -G DEB from the build directory (into a temp dir)
#   2. names, control fields, file lists, modes and conffiles (dpkg-deb)
#   3. lintian: no errors, and no warning that packaging/README.md does not explain
#   4. dpkg -i: users, directories, config modes, enablement links; systemd-analyze verify and
#      security on the installed units (and the units with each drop-in)
#   5. --version and a short start of each daemon from the installed files (run_installed.py)
#   6. dpkg -i again (the upgrade path), dpkg -r (data stays), dpkg --purge (nothing stays)
# Needs root and dpkg: exits 77 (ctest: skipped) without them. Cleans up on any exit (trap).
# Refuses to touch corvid packages or users that this test did not install.
set -euo pipefail

readonly SKIP=77
readonly BUILD=${CORVID_BUILD_DIR:?CORVID_BUILD_DIR must name the build directory}
readonly SRC=${CORVID_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
readonly PACKAGES=(corvid-agent corvid-collector)
# Set while this test has packages installed, so an interrupted run is cleaned up by the next.
readonly MARKER=/run/corvid-packaging-test.installed
# Exposure scores (systemd-analyze security) above this fail the test: the units may only get
# stricter. The measured values are recorded in packaging/README.md.
readonly MAX_EXPOSURE=1.5
# lintian warnings that packaging/README.md ("lintian") explains; any other warning fails.
readonly ALLOWED_WARNINGS=" no-manual-page non-standard-file-perm "

skip() { echo "SKIP: $*"; exit "$SKIP"; }
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

[ "$(id -u)" -eq 0 ] || skip "the package test needs root (dpkg -i, dpkg --purge, system users)"
command -v dpkg >/dev/null && command -v dpkg-deb >/dev/null || skip "dpkg is missing: not a Debian system"
for tool in cpack lintian dpkg-shlibdeps systemd-analyze setpriv python3 flock; do
  command -v "$tool" >/dev/null || fail "$tool is missing; run packaging/build-deps.sh"
done

# One run at a time per machine: packages and users are system-wide, and another build
# directory's ctest may run this same test.
exec 9>/run/lock/corvid-packaging-test.lock
flock -w 600 9 || fail "another package test has held the lock for 10 minutes"

installed() { # installed or half-installed, or removed with config files left
  local s
  s=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)
  [ -n "$s" ] && [ "$s" != "not-installed" ]
}

purge_all() {
  dpkg --purge "${PACKAGES[@]}" >/dev/null 2>&1 || true
  rm -f /etc/corvid/agent.key
  rmdir /etc/corvid 2>/dev/null || true
}

if [ -e "$MARKER" ]; then
  echo "note: purging what an interrupted earlier run left installed"
  purge_all
  rm -f "$MARKER"
fi
for p in "${PACKAGES[@]}"; do
  installed "$p" && skip "$p is installed on this machine; the test will not replace or purge it"
  getent passwd "$p" >/dev/null && skip "a user $p exists on this machine; the test will not delete it"
done
[ -e /etc/corvid ] && skip "/etc/corvid exists on this machine; the test will not remove it"

TMP=$(mktemp -d /tmp/corvid-pkg-test.XXXXXX)
cleanup() {
  local rc=$?
  if [ -e "$MARKER" ]; then
    purge_all
    rm -f "$MARKER"
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

VERSION=$("$BUILD/agent/corvid-agent" --version | awk '{print $2}')
ARCH=$(dpkg --print-architecture)
[ -n "$VERSION" ] || fail "cannot read the version from $BUILD/agent/corvid-agent --version"

# ---- 1. build the packages ----------------------------------------------------------------------
(cd "$TMP" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$TMP/out") >"$TMP/cpack.log" 2>&1 ||
  { cat "$TMP/cpack.log"; fail "cpack -G DEB failed"; }
AGENT_DEB=$TMP/out/corvid-agent_${VERSION}_${ARCH}.deb
COLLECTOR_DEB=$TMP/out/corvid-collector_${VERSION}_${ARCH}.deb
for deb in "$AGENT_DEB" "$COLLECTOR_DEB"; do
  [ -f "$deb" ] || { ls -l "$TMP/out"; fail "cpack did not make $(basename "$deb")"; }
done
ok "cpack made $(basename "$AGENT_DEB") and $(basename "$COLLECTOR_DEB")"

# ---- 2. metadata and file lists -----------------------------------------------------------------
field() { dpkg-deb -f "$1" "$2"; }
check_control() { # deb package depends-must-contain...
  local deb=$1 pkg=$2
  shift 2
  [ "$(field "$deb" Package)" = "$pkg" ] || fail "$deb: Package is $(field "$deb" Package)"
  [ "$(field "$deb" Version)" = "$VERSION" ] || fail "$pkg: Version $(field "$deb" Version), expected $VERSION"
  [ "$(field "$deb" Architecture)" = "$ARCH" ] || fail "$pkg: Architecture $(field "$deb" Architecture)"
  [ "$(field "$deb" Section)" = "admin" ] || fail "$pkg: Section $(field "$deb" Section)"
  [ -n "$(field "$deb" Maintainer)" ] || fail "$pkg: no Maintainer"
  local depends
  depends=$(field "$deb" Depends)
  for d in "$@"; do
    grep -Eq "(^|, )$d( |,|$)" <<<"$depends" || fail "$pkg: Depends lacks $d: $depends"
  done
  echo "   $pkg Depends: $depends"
}
check_control "$AGENT_DEB" corvid-agent adduser libc6 libssl3 libsystemd0 'libstdc\+\+6'
check_control "$COLLECTOR_DEB" corvid-collector adduser libc6 libssl3 libsystemd0 libsqlite3-0 libsodium23 'libstdc\+\+6'

# Every non-directory entry as "mode owner path", sorted.
file_list() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ {print $1, $2, $6}' | sort; }
expected_files() { # package config dropins...
  local pkg=$1 config=$2
  shift 2
  {
    echo "-rw-r----- root/root ./etc/corvid/$config"
    echo "-rw-r--r-- root/root ./lib/systemd/system/$pkg.service"
    echo "-rwxr-xr-x root/root ./usr/bin/$pkg"
    for f in README.md changelog.gz copyright; do echo "-rw-r--r-- root/root ./usr/share/doc/$pkg/$f"; done
    for f in "$@"; do echo "-rw-r--r-- root/root ./usr/share/doc/$pkg/examples/$f"; done
  } | sort
}
diff -u <(expected_files corvid-agent agent.toml agent-commands-run-as.conf agent-docker.conf) \
  <(file_list "$AGENT_DEB") || fail "corvid-agent: unexpected file list (- expected, + packaged)"
diff -u <(expected_files corvid-collector collector.toml collector-low-port.conf) \
  <(file_list "$COLLECTOR_DEB") || fail "corvid-collector: unexpected file list (- expected, + packaged)"
[ "$(dpkg-deb -I "$AGENT_DEB" conffiles)" = "/etc/corvid/agent.toml" ] || fail "corvid-agent: conffiles"
[ "$(dpkg-deb -I "$COLLECTOR_DEB" conffiles)" = "/etc/corvid/collector.toml" ] || fail "corvid-collector: conffiles"
for deb in "$AGENT_DEB" "$COLLECTOR_DEB"; do
  dpkg-deb -e "$deb" "$TMP/control-$(field "$deb" Package)"
  for s in postinst prerm postrm; do
    [ -x "$TMP/control-$(field "$deb" Package)/$s" ] || fail "$(basename "$deb"): no executable $s"
  done
  dpkg-deb -x "$deb" "$TMP/x-$(field "$deb" Package)"
done
for p in "${PACKAGES[@]}"; do
  ! readelf -S "$TMP/x-$p/usr/bin/$p" | grep -Eq '\.(debug_info|symtab)' || fail "$p is not stripped"
done
ok "control fields, file lists, modes, conffiles and maintainer scripts"

# ---- 3. lintian ---------------------------------------------------------------------------------
# --no-cfg: the machine's lintianrc must not change the verdict. Errors fail; warnings must be
# among the explained ones.
lintian --no-cfg --fail-on error --display-level '>=warning' "$AGENT_DEB" "$COLLECTOR_DEB" >"$TMP/lintian.log" 2>&1 ||
  { cat "$TMP/lintian.log"; fail "lintian reports errors"; }
grep -v "running with root privileges" "$TMP/lintian.log" | sed 's/^/   lintian: /' || true
while read -r severity tag; do
  [ "$severity" = "W" ] || continue
  [[ "$ALLOWED_WARNINGS" == *" $tag "* ]] || fail "lintian warning $tag is not explained in packaging/README.md"
done < <(sed -En 's/^([EW]): [^:]+: ([^ ]+).*/\1 \2/p' "$TMP/lintian.log")
ok "lintian: no errors, only explained warnings"

# ---- 4. install ---------------------------------------------------------------------------------
touch "$MARKER"
dpkg -i "$AGENT_DEB" "$COLLECTOR_DEB" >"$TMP/dpkg-i.log" 2>&1 || { cat "$TMP/dpkg-i.log"; fail "dpkg -i failed"; }
ok "dpkg -i"

check_user() { # user home
  local entry uid shell
  entry=$(getent passwd "$1") || fail "no user $1 after install"
  uid=$(cut -d: -f3 <<<"$entry")
  shell=$(cut -d: -f7 <<<"$entry")
  [ "$uid" -lt 1000 ] || fail "$1 is not a system user (uid $uid)"
  [ "$shell" = /usr/sbin/nologin ] || fail "$1 has a login shell ($shell)"
  [ "$(cut -d: -f6 <<<"$entry")" = "$2" ] || fail "$1: home is not $2"
  getent group "$1" >/dev/null || fail "no group $1 after install"
}
check_mode() { # path "mode owner:group"
  local actual
  actual=$(stat -c '%a %U:%G' "$1") || fail "$1 is missing"
  [ "$actual" = "$2" ] || fail "$1 is $actual, expected $2"
}
check_user corvid-agent /var/lib/corvid-agent
check_user corvid-collector /var/lib/corvid
check_mode /var/lib/corvid-agent "750 corvid-agent:corvid-agent"
check_mode /var/lib/corvid "750 corvid-collector:corvid-collector"
check_mode /etc/corvid/agent.toml "640 root:corvid-agent"
check_mode /etc/corvid/collector.toml "640 root:corvid-collector"
for p in "${PACKAGES[@]}"; do
  [ -L "/etc/systemd/system/multi-user.target.wants/$p.service" ] || fail "$p.service was not enabled"
done
ok "system users, state directories, config modes, enabled units"

# The installed units (their ExecStart now exists), alone and with each documented drop-in.
for p in "${PACKAGES[@]}"; do
  systemd-analyze verify "/lib/systemd/system/$p.service" >"$TMP/verify.log" 2>&1 ||
    { cat "$TMP/verify.log"; fail "systemd-analyze verify $p.service"; }
  [ ! -s "$TMP/verify.log" ] || { cat "$TMP/verify.log"; fail "systemd-analyze verify $p.service warns"; }
  score=$(systemd-analyze security --offline=true "/lib/systemd/system/$p.service" 2>/dev/null |
          sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  [ -n "$score" ] || fail "no exposure score for $p.service"
  awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }' ||
    fail "$p.service: exposure $score is above $MAX_EXPOSURE"
  echo "   systemd-analyze security --offline=true $p.service: $score"
done
for dropin in /usr/share/doc/corvid-*/examples/*.conf; do
  unit=$(basename "$(dirname "$(dirname "$dropin")")").service
  units=$TMP/units-$(basename "$dropin" .conf)
  mkdir -p "$units/$unit.d"
  cp "/lib/systemd/system/$unit" "$units/"
  cp "$dropin" "$units/$unit.d/"
  SYSTEMD_UNIT_PATH="$units:" systemd-analyze verify "$units/$unit" >"$TMP/verify.log" 2>&1 ||
    { cat "$TMP/verify.log"; fail "systemd-analyze verify $unit with $(basename "$dropin")"; }
  [ ! -s "$TMP/verify.log" ] || { cat "$TMP/verify.log"; fail "$unit with $(basename "$dropin") warns"; }
  score=$(SYSTEMD_UNIT_PATH="$units:" systemd-analyze security --offline=true "$units/$unit" 2>/dev/null |
          sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  echo "   systemd-analyze security --offline=true $unit + $(basename "$dropin"): $score"
done
ok "systemd-analyze verify: both units, and each with its drop-ins"

# ---- 5. run what was installed ------------------------------------------------------------------
[ "$(/usr/bin/corvid-agent --version)" = "corvid-agent $VERSION" ] || fail "corvid-agent --version"
[ "$(/usr/bin/corvid-collector --version)" = "corvid-collector $VERSION" ] || fail "corvid-collector --version"
ok "--version of both installed binaries"
python3 "$SRC/tests/packaging/run_installed.py" || fail "running the installed daemons"

# ---- 6. upgrade path, remove, purge -------------------------------------------------------------
echo "# edited by the package test" >>/etc/corvid/collector.toml
dpkg -i "$AGENT_DEB" "$COLLECTOR_DEB" >"$TMP/dpkg-i2.log" 2>&1 || { cat "$TMP/dpkg-i2.log"; fail "reinstall failed"; }
grep -q "edited by the package test" /etc/corvid/collector.toml || fail "reinstall replaced an edited conffile"
check_mode /etc/corvid/collector.toml "640 root:corvid-collector"
[ -f /var/lib/corvid/corvid.db ] || fail "reinstall lost the collector's database"
ok "reinstall (upgrade path) keeps the edited config and the data"

dpkg -r "${PACKAGES[@]}" >"$TMP/dpkg-r.log" 2>&1 || { cat "$TMP/dpkg-r.log"; fail "dpkg -r failed"; }
[ ! -e /usr/bin/corvid-agent ] && [ ! -e /usr/bin/corvid-collector ] || fail "dpkg -r left the binaries"
[ -f /var/lib/corvid/corvid.db ] || fail "dpkg -r removed the collector's data"
[ -f /etc/corvid/collector.toml ] || fail "dpkg -r removed the config"
getent passwd corvid-collector >/dev/null || fail "dpkg -r removed the collector's user"
ok "dpkg -r removes the programs and keeps data, config and users"

dpkg --purge "${PACKAGES[@]}" >"$TMP/dpkg-purge.log" 2>&1 || { cat "$TMP/dpkg-purge.log"; fail "dpkg --purge failed"; }
left=()
for p in "${PACKAGES[@]}"; do
  installed "$p" && left+=("dpkg status of $p")
  getent passwd "$p" >/dev/null && left+=("user $p")
  getent group "$p" >/dev/null && left+=("group $p")
  for f in "/lib/systemd/system/$p.service" "/etc/systemd/system/$p.service" \
           "/etc/systemd/system/multi-user.target.wants/$p.service" \
           "/var/lib/systemd/deb-systemd-helper-enabled/$p.service.dsh-also" \
           "/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/$p.service" \
           "/var/lib/systemd/deb-systemd-helper-masked/$p.service" "/usr/share/doc/$p" "/usr/bin/$p"; do
    [ -e "$f" ] || [ -L "$f" ] && left+=("$f")
  done
done
for f in /etc/corvid /var/lib/corvid /var/lib/corvid-agent; do
  [ -e "$f" ] && left+=("$f")
done
[ ${#left[@]} -eq 0 ] || fail "dpkg --purge left: ${left[*]}"
rm -f "$MARKER"
ok "dpkg --purge leaves nothing behind"
echo "PASS"
