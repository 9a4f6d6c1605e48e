//! `upload`: a raw body becomes one file; a `multipart/form-data` body
//! puts each file part into a directory. Bodies stream to disk in fixed
//! chunks through [`TempFile`]s and are renamed into place only when the
//! whole request has arrived intact (and matches `&checksum=`), so a file
//! appears whole or not at all.

use std::io::{Read, Write};

use sha2::{Digest, Sha256};

use crate::command::Command;
use crate::context::Context;
use crate::error::Error;
use crate::fs::{self, Kind, TempFile};
use crate::http::{Request, Response};
use crate::multipart::Multipart;
use crate::share_path::SharePath;

/// Bytes moved from the body to the file per step.
const CHUNK: usize = 256 * 1024;

/// Whether the request carries a multipart form.
pub fn is_multipart(request: &Request) -> bool {
    request.header("content-type").is_some_and(|t| {
        t.trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/form-data")
    })
}

/// `cmd=upload` on `path`: multipart into a directory, else a raw body
/// into the file `path`. `checksum` is the expected SHA-256, if given.
pub fn upload(
    ctx: &Context,
    path: &SharePath,
    request: &mut Request,
    checksum: Option<&str>,
) -> Result<Response, Error> {
    let expected = checksum.map(|c| parse_checksum(c, path)).transpose()?;
    if is_multipart(request) {
        multipart(ctx, path, request, expected.as_deref())
    } else {
        raw(ctx, path, request, expected.as_deref())
    }
}

/// A raw body becomes the file `path`; its directory must exist.
fn raw(
    ctx: &Context,
    path: &SharePath,
    request: &mut Request,
    expected: Option<&str>,
) -> Result<Response, Error> {
    let root = &ctx.config.root;
    if path.is_root() || ctx.kind(path)? == Some(Kind::Dir) {
        return Err(Error::BadRequest(format!(
            "`{path}` is a directory: send a multipart form, or name the new file in the path"
        )));
    }
    require_dir(ctx, &path.parent())?;
    let declared = declared_length(request);
    let mut temp =
        TempFile::create_in(root, &path.parent()).map_err(|e| Error::io(&e, "upload", path))?;
    let mut body = request.take_body();
    let (received, digest) = pump(&mut body, &mut temp, path, expected.is_some())?;
    if let Some(declared) = declared.filter(|d| *d != received) {
        return Err(cut_off(
            path,
            &format!("{received} of {declared} bytes arrived"),
        ));
    }
    check_digest(path, expected, digest.as_deref())?;
    temp.commit(root, path)
        .map_err(|e| Error::io(&e, "save", path))?;
    Ok(Response::no_content())
}

/// Each file part of a multipart body goes into directory `dir` under the
/// last component of its file name. Nothing is renamed into place unless
/// every part arrived whole and was valid.
pub fn multipart(
    ctx: &Context,
    dir: &SharePath,
    request: &mut Request,
    expected: Option<&str>,
) -> Result<Response, Error> {
    require_dir(ctx, dir)?;
    let content_type = request
        .header("content-type")
        .unwrap_or_default()
        .to_owned();
    let mut form = Multipart::new(&content_type, request.take_body()).map_err(|e| {
        Error::BadRequest(format!("the upload to `{dir}` is not a valid form: {e}"))
    })?;
    let mut saved: Vec<(TempFile, SharePath)> = Vec::new();
    loop {
        let next = form.next_part().map_err(|e| cut_off(dir, &e))?;
        let Some(mut part) = next else { break };
        let name = part.file_name().map_err(|e| {
            Error::BadRequest(format!(
                "a part of the upload to `{dir}` has {e}; nothing was saved"
            ))
        })?;
        let Some(raw_name) = name else { continue };
        let mut reader = PartReader {
            part: &mut part,
            pending: bytes::Bytes::new(),
            dir,
        };
        if raw_name.is_empty() {
            // A browser sends an empty, nameless part for a file input
            // left empty: skip it. A nameless part with content is refused.
            let mut probe = [0u8; 1];
            let n = reader
                .read(&mut probe)
                .map_err(|e| cut_off(dir, &e.to_string()))?;
            if n == 0 {
                continue;
            }
        }
        // A link of that name is written through, as a raw upload is.
        let asked = dir.child(&part_name(&raw_name, dir)?);
        let target = ctx.require_resolved(Command::Upload, &asked, true)?;
        if ctx.kind(&target)? == Some(Kind::Dir) {
            return Err(Error::BadRequest(format!("`{target}` is a directory")));
        }
        let mut temp = TempFile::create_in(&ctx.config.root, &target.parent())
            .map_err(|e| Error::io(&e, "upload", &target))?;
        let (_, digest) = pump(&mut reader, &mut temp, &target, expected.is_some())?;
        check_digest(&target, expected, digest.as_deref())?;
        saved.push((temp, target));
    }
    for (temp, target) in saved {
        temp.commit(&ctx.config.root, &target)
            .map_err(|e| Error::io(&e, "save", &target))?;
    }
    Ok(Response::no_content())
}

/// The name a multipart file is saved under: the last component of what
/// the client sent, `\` counting as a separator too.
fn part_name(raw: &str, dir: &SharePath) -> Result<String, Error> {
    let name = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    if name.is_empty() || name == "." || name == ".." || name.contains('\0') {
        let shown = raw.replace('\0', "\\0");
        return Err(Error::BadRequest(format!(
            "the file name `{shown}` in the upload to `{dir}` is not a usable name"
        )));
    }
    Ok(name.to_owned())
}

/// Adapts a multipart part to `Read`.
struct PartReader<'p, 'a> {
    part: &'p mut crate::multipart::Part<'a>,
    pending: bytes::Bytes,
    dir: &'p SharePath,
}

impl Read for PartReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pending.is_empty() {
            match self.part.chunk() {
                Ok(Some(chunk)) => self.pending = chunk,
                Ok(None) => return Ok(0),
                Err(e) => return Err(std::io::Error::other(format!("{e} (in `{}`)", self.dir))),
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending.split_to(n));
        Ok(n)
    }
}

/// Copies `body` into `temp`; returns the byte count and, when `hash`,
/// the SHA-256 hex (hashing costs more than the copy, so only on demand).
/// A read failure means the body was cut off.
fn pump(
    body: &mut dyn Read,
    temp: &mut TempFile,
    path: &SharePath,
    hash: bool,
) -> Result<(u64, Option<String>), Error> {
    let mut hasher = hash.then(Sha256::new);
    let mut buf = vec![0; CHUNK];
    let mut total = 0u64;
    loop {
        // Written as soon as it arrives: waiting to fill the buffer first
        // measured slower (hyper reads ahead while the file is written).
        let n = body
            .read(&mut buf)
            .map_err(|e| cut_off(path, &e.to_string()))?;
        if n == 0 {
            return Ok((total, hasher.map(|h| fs::hex(&h.finalize()))));
        }
        if let Some(hasher) = &mut hasher {
            hasher.update(&buf[..n]);
        }
        temp.write_all(&buf[..n])
            .map_err(|e| Error::io(&e, "write", path))?;
        total += n as u64;
    }
}

fn cut_off(path: &SharePath, why: &str) -> Error {
    // Multipart errors arrive as text, so the stall is found by its words.
    if why.contains(crate::http::BODY_STALLED) {
        return Error::RequestTimeout(format!(
            "the upload to `{path}` stalled ({}); nothing was saved",
            crate::http::BODY_STALLED
        ));
    }
    Error::BadRequest(format!(
        "the upload to `{path}` did not arrive whole ({why}); nothing was saved"
    ))
}

fn declared_length(request: &Request) -> Option<u64> {
    request
        .header("content-length")
        .and_then(|v| v.trim().parse().ok())
}

fn parse_checksum(value: &str, path: &SharePath) -> Result<String, Error> {
    let value = value.trim().to_ascii_lowercase();
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value)
    } else {
        Err(Error::BadRequest(format!(
            "`checksum` for `{path}` must be 64 hex digits (a SHA-256), not `{value}`"
        )))
    }
}

fn check_digest(
    path: &SharePath,
    expected: Option<&str>,
    actual: Option<&str>,
) -> Result<(), Error> {
    match (expected, actual) {
        (Some(expected), Some(actual)) if expected != actual => Err(Error::BadRequest(format!(
            "checksum mismatch for `{path}`: expected {expected}, received {actual}; nothing was saved"
        ))),
        _ => Ok(()),
    }
}

/// Fails unless `dir` is an existing directory.
fn require_dir(ctx: &Context, dir: &SharePath) -> Result<(), Error> {
    match ctx.kind(dir)? {
        Some(Kind::Dir) => Ok(()),
        Some(_) => Err(Error::BadRequest(format!("`{dir}` is not a directory"))),
        None => Err(Error::NotFound(format!(
            "the directory `{dir}` does not exist"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_keep_only_the_last_component() {
        let dir = SharePath::root();
        assert_eq!(part_name("../../x", &dir).unwrap(), "x");
        assert_eq!(part_name("/abs/x", &dir).unwrap(), "x");
        assert_eq!(part_name("..\\..\\x", &dir).unwrap(), "x");
        assert_eq!(part_name("sub/../../x", &dir).unwrap(), "x");
        assert_eq!(part_name("a b.txt", &dir).unwrap(), "a b.txt");
        for bad in ["", ".", "..", "dir/", "a/..", "x\0y", "c:\\"] {
            assert_eq!(part_name(bad, &dir).unwrap_err().status(), 400, "{bad:?}");
        }
    }

    #[test]
    fn checksums_must_be_sha256_hex() {
        let path = SharePath::root();
        assert!(parse_checksum(&"A".repeat(64), &path).is_ok());
        assert_eq!(parse_checksum("abc", &path).unwrap_err().status(), 400);
        assert_eq!(
            parse_checksum(&"g".repeat(64), &path).unwrap_err().status(),
            400
        );
    }
}
