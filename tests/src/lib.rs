//! Fixtures for httpuploader's end-to-end tests.
//!
//! Every test in `tests/tests/*.rs` follows the same three steps:
//!
//! 1. [`Tree`] lays out a known temp tree: odd and non-ASCII names, hidden
//!    entries, an empty file, nested folders, and symlinks that lead to a
//!    file outside the served root (whose content, [`OUTSIDE_SECRET`], no
//!    response may ever contain).
//! 2. [`Server`] starts the real `httpuploader` binary on that tree (or the
//!    same component under stock `wasmtime serve`), on a free 127.0.0.1
//!    port, waits until it answers, records its stdout and stderr, and kills
//!    it when dropped.
//! 3. [`Client`] (reached through the server) sends requests, either with
//!    an HTTP client that reports 4xx/5xx as ordinary [`Response`]s, or as
//!    exact bytes over a socket for paths that clients would normalize away.
//!
//! [`inspect`] holds the small parsers the assertions need (hrefs,
//! `Content-Disposition`, timestamps, the JSON envelope).

mod http;
pub mod inspect;
pub mod multipart;
pub mod payload;
pub mod rawclient;
pub mod rawget;
mod server;
pub mod snapshot;
mod socket;
mod tree;
pub mod wire;

pub use http::{Client, Response};
pub use server::{
    Outcome, Server, ServerBuilder, component_wasm, httpuploader_bin, run_httpuploader,
    wasmtime_bin,
};
pub use tree::{
    HIDDEN_FILES, OUTSIDE_LINKS, OUTSIDE_SECRET, ROOT_DIRS, ROOT_FILES, Tree, VISIBLE_DIRS,
    visible_files,
};

/// The version every binary of this workspace reports (the workspace's).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The API version that the JSON envelope names in `version` and
/// `api_version`.
pub const API_VERSION: &str = "1.0.0";
