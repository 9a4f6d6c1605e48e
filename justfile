# httpuploader's everyday recipes. Install just with `cargo install just`
# (or `apt-get install just`); every recipe is plain cargo underneath.

# List the recipes.
default:
    @just --list

# Build the httpuploader binary (the component is built and embedded).
build:
    cargo build --release -p httpuploader

# Build only the component, for `wasmtime serve`.
build-component:
    cargo build --release --target wasm32-wasip2 -p httpuploader-component

# Share DIR on PORT (defaults: the current folder, 8018).
serve dir="." port="8018":
    cargo run --release -p httpuploader -- -d {{dir}} -p {{port}}

# Serve DIR with the stock wasmtime CLI instead of the bundled host.
serve-wasmtime dir="." port="8018": build-component
    wasmtime serve -Scli --addr 0.0.0.0:{{port}} --dir {{dir}}::/srv target/wasm32-wasip2/release/httpuploader_component.wasm

# Run every test: the same command CI runs.
test:
    tests/run.sh

# Unit tests of the component's logic, natively (fast).
test-unit:
    cargo test -p httpuploader-component

# Formatting and clippy for both targets.
check:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --release -- -D warnings
    cargo clippy -p httpuploader-component --target wasm32-wasip2 --release -- -D warnings

# Compare speed and memory with the peers (dufs, miniserve, http.server, httpuploader.py).
bench *args:
    tests/bench/bench.sh {{args}}
