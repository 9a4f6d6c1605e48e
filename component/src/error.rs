//! Every failure a request can meet, the one table that maps it to an HTTP
//! status, and its rendering: a JSON envelope on `/api/` addresses, a small
//! HTML page elsewhere.
//!
//! Messages are for the client: one sentence naming the path relative to
//! the served root. A server fault keeps its detail for the log and shows
//! the client only what failed and where.

use std::io;

use crate::share_path::{PathError, SharePath};

/// A failed request, with the sentence that goes into `data.extra`.
#[derive(Debug)]
pub enum Error {
    /// 400: the request itself is wrong (bad command, argument or body).
    BadRequest(String),
    /// 403: not allowed here (permissions, `..`, the root itself).
    Forbidden(String),
    /// 404: nothing there, or hidden, or outside the sandbox.
    NotFound(String),
    /// 408: the client stopped sending the request body.
    RequestTimeout(String),
    /// 412: a precondition header did not hold.
    PreconditionFailed(String),
    /// 416: a `Range` that lies outside the file; carries the file size.
    RangeNotSatisfiable(String, u64),
    /// 500: the server failed; `detail` goes to the log only.
    Internal { extra: String, detail: String },
    /// 501: a command this build does not do yet.
    NotImplemented(String),
    /// 507: the disk is full.
    InsufficientStorage(String),
}

impl Error {
    /// The HTTP status for this error: the only such table.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) => 400,
            Error::Forbidden(_) => 403,
            Error::NotFound(_) => 404,
            Error::RequestTimeout(_) => 408,
            Error::PreconditionFailed(_) => 412,
            Error::RangeNotSatisfiable(..) => 416,
            Error::Internal { .. } => 500,
            Error::NotImplemented(_) => 501,
            Error::InsufficientStorage(_) => 507,
        }
    }

    /// The sentence shown to the client.
    pub fn extra(&self) -> &str {
        match self {
            Error::BadRequest(m)
            | Error::Forbidden(m)
            | Error::NotFound(m)
            | Error::RequestTimeout(m)
            | Error::PreconditionFailed(m)
            | Error::RangeNotSatisfiable(m, _)
            | Error::NotImplemented(m)
            | Error::InsufficientStorage(m) => m,
            Error::Internal { extra, .. } => extra,
        }
    }

    /// Maps an I/O failure while doing `action` on `path`. The sandbox's
    /// refusal (a symlink leading out of the root) reads as "not found":
    /// nothing outside the root is confirmed to exist.
    pub fn io(err: &io::Error, action: &str, path: &SharePath) -> Error {
        match err.kind() {
            io::ErrorKind::NotFound => Error::NotFound(format!("`{path}` does not exist")),
            io::ErrorKind::PermissionDenied => {
                Error::NotFound(format!("`{path}` does not exist or cannot be reached"))
            }
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                Error::InsufficientStorage(format!("no space left to {action} `{path}`"))
            }
            io::ErrorKind::AlreadyExists => Error::BadRequest(format!("`{path}` already exists")),
            // Reading `file.txt/x` finds nothing; creating under a file is
            // a mistake in the request.
            io::ErrorKind::NotADirectory if action == "read" => {
                Error::NotFound(format!("`{path}` does not exist"))
            }
            io::ErrorKind::NotADirectory => {
                Error::BadRequest(format!("a part of `{path}` is not a directory"))
            }
            io::ErrorKind::InvalidFilename => {
                Error::BadRequest(format!("a name in `{path}` is too long"))
            }
            _ if is_symlink_loop(err) => {
                Error::NotFound(format!("`{path}` does not exist or cannot be reached"))
            }
            _ => Error::Internal {
                extra: format!("could not {action} `{path}`"),
                detail: err.to_string(),
            },
        }
    }

    /// Writes a server fault's detail to the log; client errors are not
    /// logged (the access log already shows their status).
    pub fn log(&self) {
        if let Error::Internal { extra, detail } = self {
            crate::format::log(&format!("{extra}: {detail}"));
        }
    }
}

/// Whether `err` is "too many levels of symbolic links" (`ELOOP`, whose
/// number differs between WASI and Linux; its `ErrorKind` is unstable).
fn is_symlink_loop(err: &io::Error) -> bool {
    const ELOOP: i32 = if cfg!(target_os = "wasi") { 32 } else { 40 };
    err.raw_os_error() == Some(ELOOP)
}

impl From<PathError> for Error {
    fn from(err: PathError) -> Error {
        match err {
            PathError::Traversal(p) => Error::Forbidden(format!(
                "`{p}` leaves the shared folder (`..` is not allowed)"
            )),
            PathError::Nul(p) => Error::BadRequest(format!("`{p}` holds a NUL byte")),
            PathError::InvalidUtf8(p) => {
                Error::BadRequest(format!("`{p}` is not valid UTF-8 once percent-decoded"))
            }
            PathError::TooLong(start) => Error::BadRequest(format!(
                "the path starting `{start}` is too long (at most {} bytes)",
                crate::share_path::MAX_PATH_BYTES
            )),
        }
    }
}

/// The reason phrase for a status, as `msg` and page titles use it.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        206 => "Partial Content",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        405 => "Method Not Allowed",
        412 => "Precondition Failed",
        416 => "Range Not Satisfiable",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        507 => "Insufficient Storage",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_map_to_statuses_and_name_the_path() {
        let path = SharePath::from_decoded("/a/b.txt").unwrap();
        let not_found = io::Error::from(io::ErrorKind::NotFound);
        let err = Error::io(&not_found, "read", &path);
        assert_eq!(err.status(), 404);
        assert!(err.extra().contains("`/a/b.txt`"));
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert_eq!(Error::io(&denied, "read", &path).status(), 404);
        let full = io::Error::from(io::ErrorKind::StorageFull);
        assert_eq!(Error::io(&full, "write", &path).status(), 507);
        let other = io::Error::other("disk on fire at /srv/a/b.txt");
        let err = Error::io(&other, "read", &path);
        assert_eq!(err.status(), 500);
        assert!(
            !err.extra().contains("/srv"),
            "host detail leaked: {}",
            err.extra()
        );
    }

    #[test]
    fn path_errors_map_to_403_and_400() {
        assert_eq!(
            Error::from(PathError::Traversal("/..".into())).status(),
            403
        );
        assert_eq!(Error::from(PathError::Nul("/a".into())).status(), 400);
        assert_eq!(
            Error::from(PathError::InvalidUtf8("/a".into())).status(),
            400
        );
    }
}
