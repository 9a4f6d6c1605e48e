//! HTTP/1.1 over a plain socket, for what an HTTP client library will not
//! do: send a request with any headers and a body given as exact bytes,
//! chunked by hand or streamed from a generator; send only part of a body,
//! pause, then finish it or hang up.
//!
//! Every request says `Connection: close`. Answers are parsed as soon as
//! they are complete (by `Content-Length`, chunked framing, or the close),
//! and the body is written from a second thread while the answer is read,
//! so an early answer (a server that stops reading) is still seen.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use crate::Response;

/// How long one read or write may stall. Reads wait for the answer while a
/// large body is still being sent, so this covers a whole 1 GiB upload.
const IO_TIMEOUT: Duration = Duration::from_secs(300);

/// One request on its own connection, sent piece by piece.
pub struct Connection {
    stream: TcpStream,
    what: String,
}

impl Connection {
    /// Connects to `addr` and sends the head `METHOD target HTTP/1.1` with
    /// `Host`, `Connection: close` and `headers` (sent as given).
    pub fn start(
        addr: SocketAddr,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
    ) -> Connection {
        let stream = crate::socket::connect(addr, IO_TIMEOUT);
        let mut connection = Connection {
            stream,
            what: format!("{method} {target}"),
        };
        let head = request_head(addr, method, target, headers);
        connection.send(&head);
        connection
    }

    /// Sends `bytes` as they are; panics if the connection fails.
    pub fn send(&mut self, bytes: &[u8]) {
        self.try_send(bytes)
            .unwrap_or_else(|e| panic!("{}: sending failed: {e}", self.what));
    }

    /// Sends `bytes` as they are.
    pub fn try_send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Sends `bytes` as one chunk of a chunked body.
    pub fn send_chunk(&mut self, bytes: &[u8]) {
        assert!(!bytes.is_empty(), "an empty chunk would end the body");
        let mut framed = format!("{:x}\r\n", bytes.len()).into_bytes();
        framed.extend_from_slice(bytes);
        framed.extend_from_slice(b"\r\n");
        self.send(&framed);
    }

    /// Sends the last chunk (`0 CRLF CRLF`) of a chunked body.
    pub fn end_chunks(&mut self) {
        self.send(b"0\r\n\r\n");
    }

    /// Reads the answer (the request should be complete by now).
    pub fn response(mut self) -> Response {
        read_response(&mut self.stream)
            .unwrap_or_else(|e| panic!("{}: no readable answer: {e}", self.what))
    }

    /// Ends the sending side (a FIN: the body ends early but the client
    /// still listens) and reads whatever answer comes; `None` if the
    /// server closed without one.
    pub fn close_write(mut self) -> Option<Response> {
        // The server may already have closed; nothing to shut then.
        let _ = self.stream.shutdown(Shutdown::Write);
        read_response(&mut self.stream).ok()
    }

    /// Hangs up in the middle of the request: both directions closed, no
    /// answer read.
    pub fn hang_up(self) {
        // The server may already have closed; nothing to shut then.
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// Sends `method target` with `headers`, a `Content-Length` and `body`,
/// and returns the answer.
pub fn send(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let length = body.len().to_string();
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    all.push(("Content-Length", &length));
    let body = body.to_vec();
    let (response, _) = send_streamed(addr, method, target, &all, move |out| out.write_all(&body));
    response
}

/// Sends `method target` with `headers` and a chunked body made of
/// `chunks` (each one chunk, in order), and returns the answer.
pub fn send_chunked(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    chunks: &[&[u8]],
) -> Response {
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    all.push(("Transfer-Encoding", "chunked"));
    let mut framed = Vec::new();
    for chunk in chunks.iter().filter(|c| !c.is_empty()) {
        framed.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        framed.extend_from_slice(chunk);
        framed.extend_from_slice(b"\r\n");
    }
    framed.extend_from_slice(b"0\r\n\r\n");
    let (response, _) = send_streamed(addr, method, target, &all, move |out| {
        out.write_all(&framed)
    });
    response
}

/// Sends the head (`headers` must say how the body is framed), then lets
/// `write_body` write the body on a second thread while the answer is
/// read. Returns the answer and what `write_body` returned (an error when
/// the server stopped reading, say).
pub fn send_streamed<T: Send + 'static>(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    write_body: impl FnOnce(&mut dyn Write) -> io::Result<T> + Send + 'static,
) -> (Response, io::Result<T>) {
    let mut connection = Connection::start(addr, method, target, headers);
    let mut writer = connection
        .stream
        .try_clone()
        .expect("clone the socket for the writer");
    let sender = thread::spawn(move || {
        let mut out = io::BufWriter::with_capacity(64 * 1024, &mut writer);
        let result = write_body(&mut out);
        let flushed = out.flush();
        result.and_then(|value| flushed.map(|()| value))
    });
    let response = read_response(&mut connection.stream);
    // An answer ends the exchange: a writer still blocked on a server that
    // stopped reading gets an error rather than waiting for the timeout.
    let _ = connection.stream.shutdown(Shutdown::Both);
    let sent = sender.join().expect("the body writer panicked");
    let response =
        response.unwrap_or_else(|e| panic!("{}: no readable answer: {e}", connection.what));
    (response, sent)
}

/// `METHOD target HTTP/1.1`, `Host`, `Connection: close`, `headers`, and
/// the blank line.
fn request_head(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// Reads until one whole answer has arrived (or the connection closes
/// after its head) and parses it.
fn read_response(stream: &mut TcpStream) -> io::Result<Response> {
    let mut raw = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        let read = stream.read(&mut buf);
        let closed = match read {
            Ok(0) => true,
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                false
            }
            // A reset after the answer arrived is fine: keep what came.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset && !raw.is_empty() => true,
            Err(e) => return Err(e),
        };
        match parse(&raw, closed) {
            Parsed::Done(response) => return Ok(response),
            Parsed::Incomplete if closed => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "the connection closed after {} bytes of answer: {:?}",
                        raw.len(),
                        String::from_utf8_lossy(&raw)
                    ),
                ));
            }
            Parsed::Incomplete => {}
            Parsed::Invalid(why) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{why}: {:?}", String::from_utf8_lossy(&raw)),
                ));
            }
        }
    }
}

enum Parsed {
    Done(Response),
    Incomplete,
    Invalid(String),
}

/// Parses an answer from what arrived so far; `closed` says whether more
/// can come.
fn parse(raw: &[u8], closed: bool) -> Parsed {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Parsed::Incomplete;
    };
    let Ok(head) = std::str::from_utf8(&raw[..split]) else {
        return Parsed::Invalid("the answer head is not UTF-8".into());
    };
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let Some(status) = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()) else {
        return Parsed::Invalid(format!("bad status line {status_line:?}"));
    };
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Parsed::Invalid(format!("bad header line {line:?}"));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if status == 204 || status == 304 || (100..200).contains(&status) {
        return Parsed::Done(response);
    }
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return match dechunk(rest) {
            Some(body) => {
                response.body = body;
                Parsed::Done(response)
            }
            None => Parsed::Incomplete,
        };
    }
    if let Some(length) = response.header("content-length") {
        let Ok(length) = length.parse::<usize>() else {
            return Parsed::Invalid(format!("bad Content-Length {length:?}"));
        };
        return match rest.get(..length) {
            Some(body) => {
                response.body = body.to_vec();
                Parsed::Done(response)
            }
            None => Parsed::Incomplete,
        };
    }
    if closed {
        response.body = rest.to_vec();
        Parsed::Done(response)
    } else {
        Parsed::Incomplete
    }
}

/// The body of a complete chunked encoding; `None` until it is complete.
fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let eol = raw.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&raw[..eol]).ok()?;
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16).ok()?;
        raw = &raw[eol + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(raw: &[u8], closed: bool) -> Option<Response> {
        match parse(raw, closed) {
            Parsed::Done(r) => Some(r),
            _ => None,
        }
    }

    #[test]
    fn waits_for_the_whole_body() {
        let raw = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 4\r\n\r\nab";
        assert!(done(raw, false).is_none());
        let raw = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 4\r\n\r\nabcd";
        assert_eq!(done(raw, false).unwrap().body, b"abcd");
        assert_eq!(
            done(b"HTTP/1.1 204 No Content\r\n\r\n", false)
                .unwrap()
                .status,
            204
        );
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n";
        assert_eq!(done(chunked, false).unwrap().body, b"ab");
        assert!(done(&chunked[..chunked.len() - 3], false).is_none());
    }

    #[test]
    fn heads_name_host_and_close() {
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let head = request_head(addr, "POST", "/x", &[("Content-Length", "3")]);
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "POST /x HTTP/1.1\r\nHost: 127.0.0.1:9\r\nConnection: close\r\nContent-Length: 3\r\n\r\n"
        );
    }
}
