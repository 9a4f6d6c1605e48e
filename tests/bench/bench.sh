#!/usr/bin/env bash
# Benchmark httpuploader against the servers a user would otherwise pick
# (issue #6): build in release mode, make sure the peers and load tools are
# there, then hand over to bench.py, which runs every workload and writes
# the table.
#
#   tests/bench/bench.sh            full run: every peer, 1 GiB files, 3 runs
#   tests/bench/bench.sh --quick    our server only, small files, 1 s loads,
#                                   one run; exit status 1 if any workload
#                                   fails (the test command runs this)
#
# Peers are installed once into a cache folder outside the repository:
# ${HTTPUPLOADER_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/httpuploader-bench}.
# Every other argument is passed to bench.py (see `bench.py --help`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${HTTPUPLOADER_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/httpuploader-bench}"

quick=0
for arg in "$@"; do
    [[ "$arg" == "--quick" ]] && quick=1
done

say() { printf 'bench: %s\n' "$*" >&2; }

# Every server bench.py starts is written to this file by PID; whatever way
# this script ends, those processes (and only those) are stopped.
work="$(mktemp -d "${TMPDIR:-/tmp}/httpuploader-bench.XXXXXX")"
cleanup() {
    local status=$?
    if [[ -f "$work/pids" ]]; then
        while read -r pid; do
            [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
        done <"$work/pids"
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need() {
    command -v "$1" >/dev/null 2>&1 || { say "missing \`$1\`: $2"; exit 2; }
}
need python3 "install Python 3"
need curl "apt-get install -y curl"

# Debian packages, only when missing (full mode; quick mode works without
# wrk and hyperfine, see bench.py).
apt_install() {
    local tool="$1" package="$2"
    command -v "$tool" >/dev/null 2>&1 && return 0
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "installing $package"
        DEBIAN_FRONTEND=noninteractive apt-get install -y "$package" >&2
    else
        say "\`$tool\` is missing and cannot be installed here (apt-get install -y $package)"
        return 1
    fi
}

if [[ "$quick" == 0 ]]; then
    apt_install wrk wrk
    # openssl is only the reference for W6; sha256sum is the fallback.
    apt_install openssl openssl || true
fi

say "building (release)"
(cd "$repo" && cargo build --release --quiet -p httpuploader)
built="${CARGO_TARGET_DIR:-$repo/target}/release/httpuploader"
[[ "$built" = /* ]] || built="$repo/$built"
# A private copy: the shared target folder may be rebuilt during the run.
bin="$work/httpuploader"
cp "$built" "$bin"

peer_args=()
if [[ "$quick" == 0 ]]; then
    mkdir -p "$cache"
    # dufs and miniserve: compiled once (minutes on two cores).
    if [[ ! -x "$cache/bin/dufs" || ! -x "$cache/bin/miniserve" ]]; then
        say "installing dufs and miniserve into $cache (once; takes minutes)"
        cargo install --locked --quiet --root "$cache" dufs miniserve >&2
    fi
    # The original Python server, in its own venv.
    if [[ ! -x "$cache/venv/bin/python" ]] \
        || ! "$cache/venv/bin/python" -c 'import httpuploader' 2>/dev/null; then
        say "installing the original httpuploader (PyPI) into $cache/venv"
        python3 -m venv "$cache/venv"
        "$cache/venv/bin/pip" install --quiet httpuploader >&2
    fi
    # dufs has no switch for TCP_NODELAY; a tiny LD_PRELOAD shim sets it on
    # every accepted socket so W2 compares like with like.
    if [[ ! -f "$cache/nodelay.so" || "$here/nodelay.c" -nt "$cache/nodelay.so" ]]; then
        need cc "apt-get install -y gcc"
        cc -O2 -shared -fPIC -o "$cache/nodelay.so" "$here/nodelay.c" -ldl
    fi
    peer_args=(
        --dufs "$cache/bin/dufs"
        --miniserve "$cache/bin/miniserve"
        --venv-python "$cache/venv/bin/python"
        --nodelay-shim "$cache/nodelay.so"
        --out "$here/results/latest.md"
    )
else
    peer_args=(--out "${CARGO_TARGET_DIR:-$repo/target}/bench-quick.md")
fi

python3 "$here/bench.py" --bin "$bin" --work "$work" --repo "$repo" "${peer_args[@]}" "$@"
