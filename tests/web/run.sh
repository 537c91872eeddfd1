#!/usr/bin/env bash
# ctest's web.ui, web.console and web.logs: installs the tests' npm packages (playwright-core,
# exact versions from package-lock.json) when they are missing, then runs the browser test files
# given (all of them when none is) against CORVID_BUILD_DIR.
set -euo pipefail
cd "$(dirname "$0")"
: "${CORVID_BUILD_DIR:?set CORVID_BUILD_DIR to the build directory}"
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "web tests: $tool is missing (run packaging/build-deps.sh)" >&2; exit 1; }
done
if [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
if [ "$#" -eq 0 ]; then set -- ui.test.mjs console.test.mjs logs.test.mjs; fi
exec node --test "$@"
