//! The read-side API commands that answer with JSON: `list`, `info`,
//! `checksum`, and the health probe. The router has already checked the
//! method, the target's kind and the permission.

use serde_json::json;

use crate::context::Context;
use crate::error::Error;
use crate::format::{human_size, iso_time};
use crate::fs;
use crate::http::Response;
use crate::listing::Listing;
use crate::share_path::SharePath;

/// `GET /api/health`: the server is up; says which version it is.
pub fn health() -> Response {
    Response::json(
        200,
        json!({"server": "httpuploader", "server_version": crate::SERVER_VERSION}),
    )
}

/// `cmd=list` on a directory.
pub fn list(ctx: &Context, path: &SharePath) -> Result<Response, Error> {
    Ok(Response::json(200, Listing::read(ctx, path)?.to_json()))
}

/// `cmd=info` on a file: sizes, parent, SHA-256 and times.
pub fn info(ctx: &Context, path: &SharePath) -> Result<Response, Error> {
    let root = &ctx.config.root;
    let meta = fs::stat(root, path).map_err(|e| Error::io(&e, "read", path))?;
    let checksum = fs::sha256(root, path).map_err(|e| Error::io(&e, "read", path))?;
    Ok(Response::json(
        200,
        json!({
            "name": path.name(),
            "size": meta.len,
            "human_size": human_size(meta.len),
            "path": path.parent().to_string(),
            "checksum": checksum,
            "atime": meta.accessed.map(iso_time),
            "mtime": meta.modified.map(iso_time),
            "ctime": meta.created.map(iso_time),
        }),
    ))
}

/// `cmd=checksum[&match=HEX]` (`check` is an alias of `match`).
pub fn checksum(
    ctx: &Context,
    path: &SharePath,
    expected: Option<&str>,
) -> Result<Response, Error> {
    let checksum = fs::sha256(&ctx.config.root, path).map_err(|e| Error::io(&e, "read", path))?;
    let mut data = json!({"filename": path.name(), "checksum": checksum});
    if let Some(expected) = expected {
        data["match"] = json!(expected.trim().eq_ignore_ascii_case(&checksum));
    }
    Ok(Response::json(200, data))
}
