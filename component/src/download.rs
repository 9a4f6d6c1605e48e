//! A file as a download: the head (type, length, name, validators) decided
//! up front, then the body streamed from the open file by the glue.
//!
//! Conditional and partial requests follow RFC 9110: `If-None-Match`
//! (weak comparison, lists, `*`) or else `If-Modified-Since` give 304;
//! one `Range` (`a-b`, `a-`, `-n`) gives 206, or 416 when it lies wholly
//! past the end; `If-Range` keeps the range only while the file is
//! unchanged. Several ranges at once get the whole file (200), which
//! RFC 9110 allows; a satisfiable range is never refused.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::context::Context;
use crate::error::Error;
use crate::format::content_disposition;
use crate::fs::{self, Meta};
use crate::http::{Body, Request, Response};
use crate::share_path::SharePath;

/// The response for downloading file `path` (already checked to be a file
/// the client may download).
pub fn file(ctx: &Context, path: &SharePath, request: &Request) -> Result<Response, Error> {
    let (mut file, meta) =
        fs::ReadFile::open(&ctx.config.root, path).map_err(|e| Error::io(&e, "read", path))?;
    let validators = Validators::of(&meta);
    let mut headers = validators.headers();
    if validators.not_modified(request) {
        return Ok(Response {
            status: 304,
            headers,
            body: Body::Empty,
        });
    }
    let content_type = mime_guess::from_path(path.name()).first_or_octet_stream();
    headers.push(("content-type".into(), content_type.essence_str().into()));
    headers.push((
        "content-disposition".into(),
        content_disposition(path.name()),
    ));
    headers.push(("accept-ranges".into(), "bytes".into()));
    let range = match request.header("range") {
        Some(value) if validators.range_applies(request) => parse_range(value, meta.len),
        _ => RangeRequest::Whole,
    };
    let (status, start, len) = match range {
        RangeRequest::Whole => (200, 0, meta.len),
        RangeRequest::Part(start, end) => {
            headers.push((
                "content-range".into(),
                format!("bytes {start}-{end}/{}", meta.len),
            ));
            (206, start, end - start + 1)
        }
        RangeRequest::Unsatisfiable => {
            return Err(Error::RangeNotSatisfiable(
                format!(
                    "the range asked of `{path}` lies outside its {} bytes",
                    meta.len
                ),
                meta.len,
            ));
        }
    };
    if start > 0 {
        file.seek_to(start)
            .map_err(|e| Error::io(&e, "read", path))?;
    }
    headers.push(("content-length".into(), len.to_string()));
    Ok(Response {
        status,
        headers,
        body: Body::File { file, len },
    })
}

/// `ETag` and `Last-Modified` of a file, and the checks that use them.
struct Validators {
    etag: String,
    modified: Option<SystemTime>,
}

impl Validators {
    fn of(meta: &Meta) -> Validators {
        Validators {
            etag: etag(meta.len, meta.modified),
            modified: meta.modified,
        }
    }

    fn last_modified(&self) -> Option<String> {
        // A date past 9999 has no HTTP form: no Last-Modified then.
        self.modified
            .filter(|time| crate::format::is_writable_date(*time))
            .map(httpdate::fmt_http_date)
    }

    fn headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![("etag".into(), self.etag.clone())];
        if let Some(date) = self.last_modified() {
            headers.push(("last-modified".into(), date));
        }
        headers
    }

    /// `If-None-Match` decides when present; `If-Modified-Since` only
    /// without it, and an unparsable date is ignored.
    fn not_modified(&self, request: &Request) -> bool {
        if let Some(list) = request.header("if-none-match") {
            return list.trim() == "*" || list.split(',').any(|tag| weak_eq(tag, &self.etag));
        }
        let since = request
            .header("if-modified-since")
            .and_then(|d| httpdate::parse_http_date(d).ok());
        match (since, self.modified) {
            (Some(since), Some(modified)) => whole_seconds(modified) <= whole_seconds(since),
            _ => false,
        }
    }

    /// Whether a `Range` may be honoured: no `If-Range`, or one that still
    /// names this version (the strong ETag, or exactly the modification
    /// date).
    fn range_applies(&self, request: &Request) -> bool {
        let Some(condition) = request.header("if-range").map(str::trim) else {
            return true;
        };
        if condition.starts_with('"') {
            return condition == self.etag;
        }
        match (httpdate::parse_http_date(condition), self.modified) {
            (Ok(date), Some(modified)) => whole_seconds(date) == whole_seconds(modified),
            _ => false,
        }
    }
}

/// A strong validator from size and modification time at full precision,
/// so a same-size rewrite within one second still changes it. Cheap: the
/// content is never hashed.
fn etag(len: u64, modified: Option<SystemTime>) -> String {
    let nanos = modified
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("\"{len:x}-{nanos:x}\"")
}

/// Weak comparison of entity tags (RFC 9110 §8.8.3.2): `W/` is ignored.
fn weak_eq(tag: &str, etag: &str) -> bool {
    let tag = tag.trim();
    tag.strip_prefix("W/").unwrap_or(tag) == etag
}

fn whole_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// What a `Range` header asks of a file of a given size.
#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    /// No usable range: send the whole file.
    Whole,
    /// Bytes `start..=end`, clamped to the file.
    Part(u64, u64),
    /// A valid range that lies wholly past the end.
    Unsatisfiable,
}

fn parse_range(value: &str, size: u64) -> RangeRequest {
    // The unit is case-insensitive (RFC 9110 §14.1).
    let value = value.trim();
    let Some(spec) = value
        .get(..6)
        .filter(|unit| unit.eq_ignore_ascii_case("bytes="))
        .map(|_| &value[6..])
    else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    // Digits only; a number past u64 is simply "very large".
    let number = |s: &str| {
        let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| s.parse::<u64>().unwrap_or(u64::MAX))
    };
    match (first.is_empty(), number(first), number(last)) {
        // `-n`: the last n bytes.
        (true, _, Some(0)) => RangeRequest::Unsatisfiable,
        (true, _, Some(_)) if size == 0 => RangeRequest::Unsatisfiable,
        (true, _, Some(n)) => RangeRequest::Part(size.saturating_sub(n), size - 1),
        // `a-`: from a to the end.
        (false, Some(a), None) if last.is_empty() => {
            if a < size {
                RangeRequest::Part(a, size - 1)
            } else {
                RangeRequest::Unsatisfiable
            }
        }
        // `a-b`.
        (false, Some(a), Some(b)) if a <= b => {
            if a < size {
                RangeRequest::Part(a, b.min(size - 1))
            } else {
                RangeRequest::Unsatisfiable
            }
        }
        _ => RangeRequest::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use RangeRequest::{Part, Unsatisfiable, Whole};

    #[test]
    fn etags_change_with_subsecond_mtime() {
        let a = Some(UNIX_EPOCH + Duration::from_nanos(1_000_000_001));
        let b = Some(UNIX_EPOCH + Duration::from_nanos(1_000_000_002));
        assert_ne!(etag(5, a), etag(5, b));
        assert_ne!(etag(5, a), etag(6, a));
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Part(0, 9));
        assert_eq!(parse_range("BYTES=0-9", 100), Part(0, 9));
        assert_eq!(parse_range(" Bytes=1-2", 100), Part(1, 2));
        assert_eq!(parse_range("bytés=1-2", 100), Whole);
        assert_eq!(parse_range("items=1-2", 100), Whole);
        assert_eq!(parse_range("bytes=90-", 100), Part(90, 99));
        assert_eq!(parse_range("bytes=-10", 100), Part(90, 99));
        assert_eq!(parse_range("bytes=-1000", 100), Part(0, 99));
        assert_eq!(parse_range("bytes=50-1000", 100), Part(50, 99));
        assert_eq!(parse_range("bytes=99-99", 100), Part(99, 99));
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=100-200", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=-5", 0), Unsatisfiable);
        let huge = "99999999999999999999";
        assert_eq!(parse_range(&format!("bytes=0-{huge}"), 100), Part(0, 99));
        assert_eq!(parse_range(&format!("bytes=-{huge}"), 100), Part(0, 99));
        assert_eq!(parse_range(&format!("bytes={huge}-"), 100), Unsatisfiable);
    }

    #[test]
    fn unusable_ranges_mean_the_whole_file() {
        for value in [
            "bytes=5-1",
            "bytes=a-b",
            "items=0-1",
            "bytes=0-1,3-4",
            "bytes=-",
            "bytes=+1-2",
        ] {
            assert_eq!(parse_range(value, 100), Whole, "{value}");
        }
    }

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut request = Request::new(crate::http::Method::Get, "/f");
        request.headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        request
    }

    #[test]
    fn a_date_past_9999_gives_no_last_modified_and_no_panic() {
        let y10k = UNIX_EPOCH + Duration::from_secs(253_402_300_800);
        let meta = Meta {
            kind: crate::fs::Kind::File,
            len: 2,
            modified: Some(y10k),
            accessed: None,
            created: None,
        };
        let v = Validators::of(&meta);
        let headers = v.headers();
        assert!(headers.iter().any(|(name, _)| name == "etag"));
        assert!(!headers.iter().any(|(name, _)| name == "last-modified"));
        let since = "Thu, 01 Jan 1970 00:00:00 GMT";
        assert!(!v.not_modified(&request(&[("if-modified-since", since)])));
    }

    #[test]
    fn conditional_requests() {
        let modified = UNIX_EPOCH + Duration::from_millis(1_700_000_000_500);
        let v = Validators {
            etag: etag(3, Some(modified)),
            modified: Some(modified),
        };
        let date = httpdate::fmt_http_date(modified);
        let tag = v.etag.clone();
        assert!(v.not_modified(&request(&[("if-none-match", &tag)])));
        assert!(v.not_modified(&request(&[("if-none-match", &format!("\"x\", W/{tag}"))])));
        assert!(v.not_modified(&request(&[("if-none-match", "*")])));
        assert!(!v.not_modified(&request(&[("if-none-match", "\"other\"")])));
        assert!(v.not_modified(&request(&[("if-modified-since", &date)])));
        assert!(!v.not_modified(&request(&[(
            "if-modified-since",
            "Thu, 01 Jan 1970 00:00:00 GMT"
        )])));
        assert!(!v.not_modified(&request(&[("if-modified-since", "yesterday")])));
        // If-None-Match wins over If-Modified-Since.
        assert!(!v.not_modified(&request(&[
            ("if-none-match", "\"x\""),
            ("if-modified-since", &date)
        ])));
        assert!(v.range_applies(&request(&[])));
        assert!(v.range_applies(&request(&[("if-range", &tag)])));
        assert!(v.range_applies(&request(&[("if-range", &date)])));
        assert!(!v.range_applies(&request(&[("if-range", "\"old\"")])));
        assert!(!v.range_applies(&request(&[("if-range", &format!("W/{tag}"))])));
    }
}
