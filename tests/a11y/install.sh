#!/usr/bin/env bash
# Install what the accessibility check needs: Debian's chromium (when root
# and apt-get exist) and the pinned npm packages of tests/a11y (axe-core,
# playwright-core; no browser download). Idempotent; quick when all is there.
# Run from anywhere: bash tests/a11y/install.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
chromium="${CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$chromium" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "a11y: installing chromium with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq chromium fonts-liberation >/dev/null
  else
    echo "a11y: $chromium missing and cannot apt-get install it (not root or no apt-get); a11y tests will skip" >&2
  fi
fi

# Liberation Sans is the named, metric-compatible fallback for Arial in packs and PDFs.
if command -v fc-list >/dev/null 2>&1 && ! fc-list | grep -qi "Liberation Sans"; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "a11y: installing fonts-liberation with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq fonts-liberation >/dev/null || { apt-get update -qq && apt-get install -y -qq fonts-liberation >/dev/null; }
  fi
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "a11y: npm not found; a11y tests will skip (apt-get install nodejs npm)" >&2
  exit 0
fi

cd "$here"
stamp=node_modules/.package-lock.json  # written by npm ci/install
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] \
   || [ ! -f node_modules/axe-core/axe.min.js ] || [ ! -f node_modules/playwright-core/package.json ]; then
  echo "a11y: npm ci in tests/a11y" >&2
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent
fi
