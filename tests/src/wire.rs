//! HTTP/1.1 exchanges on one kept-alive socket, for the tests of HTTP
//! semantics: requests with any headers (`Range`, `If-None-Match`, …),
//! answers read exactly to their end (so the next one can follow on the
//! same connection), and `HEAD` answers whose `Content-Length` announces a
//! body that never comes.
//!
//! [`rawclient`](crate::rawclient) says `Connection: close` on every
//! request and cannot tell a `HEAD` answer's length from its body; this
//! module does both.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use crate::Response;

/// How long one read or write may stall.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// One TCP connection that carries several requests in turn.
pub struct KeepAlive {
    stream: TcpStream,
    /// Bytes read past the end of the last answer.
    pending: Vec<u8>,
}

impl KeepAlive {
    /// Opens a connection to `addr`.
    pub fn open(addr: SocketAddr) -> KeepAlive {
        let stream = crate::socket::connect(addr, IO_TIMEOUT);
        KeepAlive {
            stream,
            pending: Vec::new(),
        }
    }

    /// The socket, to send odd bytes or change its timeouts.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Sends `METHOD target HTTP/1.1` with `Host` and `headers` (no
    /// `Connection` header unless `headers` has one), without a body.
    pub fn send(&mut self, method: &str, target: &str, headers: &[(&str, &str)]) {
        let peer = self.stream.peer_addr().expect("peer address");
        let head = request_head(peer, method, target, headers);
        self.stream
            .write_all(&head)
            .unwrap_or_else(|e| panic!("{method} {target}: sending failed: {e}"));
    }

    /// Reads exactly one answer; `is_head` says it answers a `HEAD` (no
    /// body, whatever `Content-Length` says).
    pub fn read_response(&mut self, is_head: bool) -> io::Result<Response> {
        let mut buf = vec![0; 64 * 1024];
        loop {
            if let Some((response, used)) = parse(&self.pending, is_head, false)? {
                self.pending.drain(..used);
                return Ok(response);
            }
            let n = match self.stream.read(&mut buf) {
                Ok(n) => n,
                Err(e)
                    if e.kind() == io::ErrorKind::ConnectionReset && !self.pending.is_empty() =>
                {
                    0
                }
                Err(e) => return Err(e),
            };
            if n == 0 {
                // Closed: a body without a length ends here.
                return match parse(&self.pending, is_head, true)? {
                    Some((response, used)) => {
                        self.pending.drain(..used);
                        Ok(response)
                    }
                    None => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "the connection closed after {} bytes of answer: {:?}",
                            self.pending.len(),
                            String::from_utf8_lossy(&self.pending)
                        ),
                    )),
                };
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    /// Sends one request and reads its answer.
    pub fn exchange(&mut self, method: &str, target: &str, headers: &[(&str, &str)]) -> Response {
        self.send(method, target, headers);
        self.read_response(method.eq_ignore_ascii_case("HEAD"))
            .unwrap_or_else(|e| panic!("{method} {target}: no readable answer: {e}"))
    }

    /// Whether the server has closed the connection: waits up to `wait`
    /// for end-of-file (bytes that arrive instead count as open).
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        if !self.pending.is_empty() {
            return false;
        }
        self.stream
            .set_read_timeout(Some(wait))
            .expect("set read timeout");
        let mut byte = [0; 1];
        let closed = match self.stream.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => {
                self.pending.push(byte[0]);
                false
            }
            Err(e) => !matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
        };
        self.stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .expect("set read timeout");
        closed
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        // The server may have closed already; nothing to shut then.
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// One request with `headers` on a connection of its own, then closed.
pub fn request(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)]) -> Response {
    KeepAlive::open(addr).exchange(method, target, headers)
}

/// `METHOD target HTTP/1.1`, `Host`, `headers`, and the blank line.
pub fn request_head(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Vec<u8> {
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// Parses one answer from the start of `raw`: the answer and how many
/// bytes it took, or `None` until it is complete. `closed` says no more
/// bytes will come.
fn parse(raw: &[u8], is_head: bool, closed: bool) -> io::Result<Option<(Response, usize)>> {
    let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&raw[..split])
        .map_err(|_| invalid("the answer head is not UTF-8".into()))?;
    let body_start = split + 4;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("bad header line {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if is_head || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(Some((response, body_start)));
    }
    let rest = &raw[body_start..];
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return Ok(dechunk(rest).map(|(body, used)| {
            response.body = body;
            (response, body_start + used)
        }));
    }
    if let Some(length) = response.header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| invalid(format!("bad Content-Length {length:?}")))?;
        return Ok(rest.get(..length).map(|body| {
            response.body = body.to_vec();
            (response, body_start + length)
        }));
    }
    Ok(closed.then(|| {
        response.body = rest.to_vec();
        (response, raw.len())
    }))
}

/// A complete chunked body and the bytes it took (trailers skipped);
/// `None` until it is complete.
fn dechunk(raw: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let eol = at + raw[at..].windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&raw[at..eol]).ok()?;
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16).ok()?;
        at = eol + 2;
        if size == 0 {
            // Trailer lines, then the blank line.
            loop {
                let eol = at + raw[at..].windows(2).position(|w| w == b"\r\n")?;
                let empty = eol == at;
                at = eol + 2;
                if empty {
                    return Some((body, at));
                }
            }
        }
        body.extend_from_slice(raw.get(at..at + size)?);
        at += size + 2;
        if at > raw.len() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(raw: &[u8], is_head: bool) -> Option<(Response, usize)> {
        parse(raw, is_head, false).expect("valid")
    }

    #[test]
    fn answers_end_where_their_framing_says() {
        let two =
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhiHTTP/1.1 304 Not Modified\r\n\r\n";
        let (first, used) = parsed(two, false).unwrap();
        assert_eq!(first.body, b"hi");
        let (second, rest) = parsed(&two[used..], false).unwrap();
        assert_eq!(second.status, 304);
        assert_eq!(used + rest, two.len());
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\nX";
        let (response, used) = parsed(chunked, false).unwrap();
        assert_eq!(response.body, b"ab");
        assert_eq!(&chunked[used..], b"X");
        assert!(parsed(&chunked[..chunked.len() - 3], false).is_none());
    }

    #[test]
    fn a_head_answer_has_no_body_whatever_its_length() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n";
        let (response, used) = parsed(raw, true).unwrap();
        assert!(response.body.is_empty());
        assert_eq!(used, raw.len());
        assert!(parsed(raw, false).is_none());
    }
}
