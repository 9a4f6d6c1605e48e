//! One access-log line per request, exactly once.
//!
//! Each request gets an [`Entry`], shared by the connection's handler, the
//! task running the guest and the [`LoggedBody`] that wraps the response
//! body and counts the bytes that actually leave. hyper drops a body once
//! it is fully sent: the line is written then, with the real byte count
//! and the time until the body finished. The line looks like:
//!
//! ```text
//! 192.168.1.7 "GET /Übung 1/notes.txt" 200 5120 bytes 3 ms
//! ```
//!
//! If the client goes away first (before the head, or in the middle of the
//! body) or the body fails, the guest may still be at work (an upload of
//! many parts, a large delete): the line is written when the guest is done
//! and the entry's last holder lets go, with the status the guest set
//! (`-` if no guest ran), the bytes sent, and `client gone` (or
//! `incomplete` when the body failed):
//!
//! ```text
//! 192.168.1.7 "DELETE /api/1/big" 200 0 bytes 5120 ms client gone
//! ```
//!
//! The path is percent-decoded for readability, then every character that
//! could forge or hide log content (control characters, invalid UTF-8,
//! quotes, bidirectional overrides) is escaped, so one request is always
//! exactly one line.

use hyper::body::{Body, Frame, SizeHint};
use hyper::{Method, StatusCode, Uri};
use percent_encoding::percent_decode_str;
use std::fmt::Write;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

/// The `tracing` target of access-log lines, for `RUST_LOG` filtering.
const TARGET: &str = "access";

/// What is known about a request when it arrives.
#[derive(Debug, Clone)]
pub struct RequestLine {
    remote: IpAddr,
    /// `METHOD escaped-path`, ready to print.
    line: String,
}

impl RequestLine {
    /// Captures the client address, method and the escaped path and query.
    pub fn new(remote: IpAddr, method: &Method, uri: &Uri) -> RequestLine {
        let target = uri.path_and_query().map_or("/", |target| target.as_str());
        let line = format!("{method} {}", escape_for_log(target));
        RequestLine {
            remote: canonical_ip(remote),
            line,
        }
    }
}

impl std::fmt::Display for RequestLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} \"{}\"", self.remote, self.line)
    }
}

/// Logs a request that hyper answered itself, before it reached the
/// guest, because its head could not be read: 431 for a head over the
/// size limit, 400 for one that is not HTTP. Other connection errors
/// (resets, timeouts) had no request to log.
pub fn log_refused_head(remote: IpAddr, err: &hyper::Error) {
    let (status, why) = if err.is_parse_too_large() {
        (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request head too large",
        )
    } else if err.is_parse() {
        (StatusCode::BAD_REQUEST, "request head unreadable")
    } else {
        return;
    };
    tracing::info!(
        target: TARGET,
        "{} \"-\" {} 0 bytes 0 ms {why}",
        canonical_ip(remote),
        status.as_u16()
    );
}

/// IPv4 clients of a dual-stack socket show up as `::ffff:a.b.c.d`; log
/// them as the IPv4 address they are.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// One request's access line, written exactly once: when its response body
/// has been sent in full, or else when the last part of the server working
/// on the request (the response body, the guest task, the connection's
/// handler) lets go of it, marked `client gone` or `incomplete`.
#[derive(Debug, Clone)]
pub struct Entry(Arc<Mutex<Record>>);

/// What an [`Entry`] knows so far.
#[derive(Debug)]
struct Record {
    request: RequestLine,
    started: Instant,
    /// A HEAD request: hyper sends no body, whatever the guest writes.
    head: bool,
    /// The response status, once there is a response head.
    status: Option<StatusCode>,
    bytes_sent: u64,
    ending: Ending,
    logged: bool,
}

/// How the response body ended, as far as it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// No response body was handed to the client (yet): if that stays so,
    /// the client left before the head was sent.
    NotSent,
    /// The body was dropped unfinished without an error: the client left.
    ClientGone,
    /// The body failed (the guest stopped mid-stream).
    Failed,
}

impl Entry {
    /// Starts the entry of a request that just arrived.
    pub fn new(request: RequestLine, method: &Method, started: Instant) -> Entry {
        Entry(Arc::new(Mutex::new(Record {
            request,
            started,
            head: method == Method::HEAD,
            status: None,
            bytes_sent: 0,
            ending: Ending::NotSent,
            logged: false,
        })))
    }

    /// Records the status of the response head.
    pub fn set_status(&self, status: StatusCode) {
        self.lock().status = Some(status);
    }

    fn lock(&self) -> MutexGuard<'_, Record> {
        // A record stays usable even if a holder panicked.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Record {
    /// Writes the line, with `note` after it if the body did not complete.
    fn log(&mut self, note: Option<&str>) {
        if std::mem::replace(&mut self.logged, true) {
            return;
        }
        let millis = self.started.elapsed().as_millis();
        let status = self
            .status
            .map_or_else(|| "-".to_owned(), |status| status.as_u16().to_string());
        let note = note.map_or_else(String::new, |note| format!(" {note}"));
        tracing::info!(
            target: TARGET,
            "{} {status} {} bytes {millis} ms{note}",
            self.request,
            self.bytes_sent,
        );
    }
}

impl Drop for Record {
    /// Nobody works on the request any more and the body never completed.
    fn drop(&mut self) {
        let note = match self.ending {
            Ending::NotSent | Ending::ClientGone => "client gone",
            Ending::Failed => "incomplete",
        };
        self.log(Some(note));
    }
}

/// A response body that counts the bytes sent and completes its request's
/// [`Entry`] when dropped.
pub struct LoggedBody<B: Body> {
    inner: B,
    entry: Entry,
    status: StatusCode,
    /// The response's `Content-Length`: hyper stops polling once it is sent.
    length: Option<u64>,
    bytes_sent: u64,
    /// The inner body said it has no more frames.
    ended: bool,
    failed: bool,
}

impl<B: Body> LoggedBody<B> {
    /// Wraps `inner`, the body of a response with `status` and `length`
    /// (its `Content-Length`, if any).
    pub fn new(inner: B, entry: Entry, status: StatusCode, length: Option<u64>) -> Self {
        entry.set_status(status);
        LoggedBody {
            inner,
            entry,
            status,
            length,
            bytes_sent: 0,
            ended: false,
            failed: false,
        }
    }
}

impl<B> Body for LoggedBody<B>
where
    B: Body + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.bytes_sent += hyper::body::Buf::remaining(data) as u64;
                }
            }
            Poll::Ready(Some(Err(_))) => self.failed = true,
            Poll::Ready(None) => self.ended = true,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B: Body> Drop for LoggedBody<B> {
    /// hyper drops the body once it is sent in full (or not sent at all,
    /// for HEAD, 204 and 304), or early when the client goes away or the
    /// body fails: only a complete body logs now.
    fn drop(&mut self) {
        let mut record = self.entry.lock();
        record.bytes_sent = self.bytes_sent;
        let bodiless = record.head
            || self.status.is_informational()
            || self.status == StatusCode::NO_CONTENT
            || self.status == StatusCode::NOT_MODIFIED;
        let complete = !self.failed
            && (self.ended
                || self.inner.is_end_stream()
                || bodiless
                || self.length == Some(self.bytes_sent));
        if complete {
            record.log(None);
        } else {
            record.ending = if self.failed {
                Ending::Failed
            } else {
                Ending::ClientGone
            };
        }
    }
}

/// Percent-decodes `raw` and escapes whatever could forge or hide a log
/// line: control characters and invalid UTF-8 as `\xNN`, invisible or
/// direction-changing characters as `\u{NNNN}`, and `"` and `\` with a
/// backslash.
pub fn escape_for_log(raw: &str) -> String {
    let decoded: Vec<u8> = percent_decode_str(raw).collect();
    let mut out = String::with_capacity(decoded.len());
    for chunk in decoded.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                c if c.is_control() && u32::from(c) < 0x100 => {
                    let _ = write!(out, "\\x{:02x}", u32::from(c));
                }
                c if c.is_control() || is_invisible(c) => {
                    let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// Characters that print as nothing or reorder the text around them.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}'     // zero-width spaces and joiners, LRM, RLM
            | '\u{2028}'..='\u{202e}' // line/paragraph separators, bidi embeddings
            | '\u{2060}'..='\u{206f}' // word joiner, bidi isolates, deprecated formats
            | '\u{feff}'              // byte order mark
            | '\u{fff9}'..='\u{fffb}' // interlinear annotations
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_are_decoded_for_reading() {
        assert_eq!(escape_for_log("/%C3%9Cbung%201/a.txt"), "/Übung 1/a.txt");
        assert_eq!(escape_for_log("/api/1/?cmd=list"), "/api/1/?cmd=list");
    }

    #[test]
    fn control_characters_cannot_forge_lines() {
        assert_eq!(escape_for_log("/a%0d%0aGET%20/b"), "/a\\x0d\\x0aGET /b");
        assert_eq!(escape_for_log("/%1b[31mred"), "/\\x1b[31mred");
        assert_eq!(escape_for_log("/%7f%c2%85"), "/\\x7f\\x85");
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(escape_for_log("/a%22b%5cc"), "/a\\\"b\\\\c");
    }

    #[test]
    fn invalid_utf8_shows_its_bytes() {
        assert_eq!(escape_for_log("/%ff%fe.txt"), "/\\xff\\xfe.txt");
    }

    #[test]
    fn invisible_and_bidi_characters_are_escaped() {
        assert_eq!(escape_for_log("/%E2%80%AEtxt.exe"), "/\\u{202e}txt.exe");
        assert_eq!(escape_for_log("/a%E2%80%8Bb"), "/a\\u{200b}b");
    }

    #[test]
    fn ipv4_mapped_clients_are_logged_as_ipv4() {
        let mapped: IpAddr = "::ffff:192.168.1.7".parse().unwrap();
        let line = RequestLine::new(mapped, &Method::GET, &Uri::from_static("/x"));
        assert_eq!(line.to_string(), "192.168.1.7 \"GET /x\"");
    }
}
