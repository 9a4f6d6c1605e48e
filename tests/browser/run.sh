#!/usr/bin/env bash
# Runs the browser tests of the web page: Node's test runner drives Debian's
# Chromium through playwright-core against the real `httpuploader` binary.
#
# Installs what it needs, once: Debian's `chromium` when /usr/bin/chromium is
# missing (as root), and the npm packages pinned in package-lock.json. It
# builds nothing: build the binary first with
#     cargo build --release -p httpuploader
# or point HTTPUPLOADER_BIN at one. Exits non-zero when a test fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workspace="$(cd "$here/../.." && pwd)"
binary="${HTTPUPLOADER_BIN:-$workspace/target/release/httpuploader}"

if [[ ! -x "$binary" ]]; then
    echo "run.sh: $binary is missing; build it with: cargo build --release -p httpuploader" >&2
    exit 2
fi

if [[ ! -x /usr/bin/chromium ]]; then
    echo "run.sh: installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi

cd "$here"
pinned="$(node -p "require('./package-lock.json').packages['node_modules/playwright-core'].version")"
installed="$(node -p "try { require('./node_modules/playwright-core/package.json').version } catch { '' }")"
if [[ "$installed" != "$pinned" ]]; then
    echo "run.sh: installing playwright-core $pinned"
    npm ci --no-audit --no-fund --loglevel=error
fi

export HTTPUPLOADER_BIN="$binary"
# Each test bounds its own waits; this bounds the whole suite.
exec timeout --kill-after=10 240 node --test --test-concurrency=1 --test-timeout=60000 ./*.test.js
