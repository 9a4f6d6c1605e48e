//! One access-log line per request, written when the response body ends.
//!
//! [`LoggedBody`] wraps the body the guest produces, counts the bytes that
//! actually leave, and logs on drop — hyper drops a body once it is fully
//! sent, or early when the client goes away or the guest fails mid-stream —
//! so the line carries the real byte count and the time until the body
//! finished. The line looks like:
//!
//! ```text
//! 192.168.1.7 "GET /Übung 1/notes.txt" 200 5120 bytes 3 ms
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

/// IPv4 clients of a dual-stack socket show up as `::ffff:a.b.c.d`; log
/// them as the IPv4 address they are.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// A response body that logs the request's access line when dropped.
pub struct LoggedBody<B> {
    inner: B,
    request: RequestLine,
    status: StatusCode,
    started: Instant,
    bytes_sent: u64,
}

impl<B> LoggedBody<B> {
    /// Wraps `inner`; `started` is when the request arrived.
    pub fn new(inner: B, request: RequestLine, status: StatusCode, started: Instant) -> Self {
        LoggedBody {
            inner,
            request,
            status,
            started,
            bytes_sent: 0,
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
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.bytes_sent += hyper::body::Buf::remaining(data) as u64;
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

impl<B> Drop for LoggedBody<B> {
    fn drop(&mut self) {
        let millis = self.started.elapsed().as_millis();
        tracing::info!(
            target: TARGET,
            "{} {} {} bytes {millis} ms",
            self.request,
            self.status.as_u16(),
            self.bytes_sent,
        );
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
