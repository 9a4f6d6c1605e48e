//! A file as a download: the head (type, length, name, validators) decided
//! up front, then the body streamed from the open file by the glue.

use std::time::UNIX_EPOCH;

use crate::context::Context;
use crate::error::Error;
use crate::format::content_disposition;
use crate::fs;
use crate::http::{Body, Response};
use crate::share_path::SharePath;

/// The response for downloading file `path` (already checked to be a file
/// the client may download).
pub fn file(ctx: &Context, path: &SharePath) -> Result<Response, Error> {
    let (file, meta) =
        fs::open_file(&ctx.config.root, path).map_err(|e| Error::io(&e, "read", path))?;
    let content_type = mime_guess::from_path(path.name()).first_or_octet_stream();
    let mut response = Response {
        status: 200,
        headers: vec![
            ("content-type".into(), content_type.essence_str().into()),
            ("content-length".into(), meta.len.to_string()),
            (
                "content-disposition".into(),
                content_disposition(path.name()),
            ),
            ("accept-ranges".into(), "none".into()),
        ],
        body: Body::File {
            file,
            len: meta.len,
        },
    };
    if let Some(modified) = meta.modified {
        response = response
            .with_header("last-modified", httpdate::fmt_http_date(modified))
            .with_header("etag", etag(meta.len, modified));
    }
    Ok(response)
}

/// A strong validator from size and modification time at full precision,
/// so a same-size rewrite within one second still changes it.
fn etag(len: u64, modified: std::time::SystemTime) -> String {
    let nanos = modified
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("\"{len:x}-{nanos:x}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn etags_change_with_subsecond_mtime() {
        let a = UNIX_EPOCH + Duration::from_nanos(1_000_000_001);
        let b = UNIX_EPOCH + Duration::from_nanos(1_000_000_002);
        assert_ne!(etag(5, a), etag(5, b));
        assert_ne!(etag(5, a), etag(6, a));
    }
}
