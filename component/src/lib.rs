//! httpuploader's server, as a `wasi:http/incoming-handler` component.
//!
//! The life of a request:
//! 1. `wasi_glue` (compiled only for WASI) turns the incoming `wasi:http`
//!    request into an [`http::Request`] and reads the settings
//!    ([`config::Config`]) and permission rules into a [`context::Context`].
//! 2. [`router::handle`] parses the target into a [`router::Route`]
//!    (the path check lives in [`share_path`]), checks visibility, target
//!    kind and permission once, and calls one handler
//!    ([`api`], [`download`], the pages of [`html`]).
//! 3. Handlers reach files only through [`fs`] and return a value:
//!    an [`http::Response`] or an [`error::Error`], which the router renders
//!    as JSON on `/api/` addresses and as an HTML page elsewhere.
//! 4. `wasi_glue` sets the response head, then streams the body.
//!
//! Everything but `wasi_glue` is plain Rust and is tested natively.

pub mod api;
pub mod archive;
pub mod assets;
pub mod command;
pub mod config;
pub mod context;
pub mod download;
pub mod error;
pub mod format;
pub mod fs;
pub mod html;
pub mod http;
pub mod listing;
pub mod manage;
pub mod multipart;
pub mod permissions;
pub mod router;
pub mod share_path;
pub mod upload;

#[cfg(target_os = "wasi")]
mod wasi_glue;

/// The API version answered in every envelope.
pub const API_VERSION: &str = "1.0.0";

/// This server's version.
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");
