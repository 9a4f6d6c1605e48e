//! A raw `GET` on a connection of its own, for tests that act while a
//! response is still coming: read its head, part of its body, change the
//! tree, then read on until the server closes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::Server;

/// How long one read may stall.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// A `GET` whose head has arrived; the body as sent (still chunked, if it
/// is), read in pieces.
pub struct RawGet {
    stream: TcpStream,
    /// The response head, lower-cased.
    pub head: String,
    /// Body bytes read so far.
    pub body: Vec<u8>,
}

impl RawGet {
    /// Sends `GET target` with `Connection: close` and `headers`, and reads
    /// until the head has arrived.
    pub fn send(server: &Server, target: &str, headers: &[(&str, &str)]) -> RawGet {
        let mut stream = crate::socket::connect(server.addr(), IO_TIMEOUT);
        let extra: String = headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}\r\n"))
            .collect();
        let request =
            format!("GET {target} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).expect("send");
        let mut raw = Vec::new();
        let mut buf = [0; 64 * 1024];
        let end = loop {
            let n = stream.read(&mut buf).expect("read the head");
            assert!(n > 0, "closed before the head ended");
            raw.extend_from_slice(&buf[..n]);
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
        };
        let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
        let body = raw[end + 4..].to_vec();
        RawGet { stream, head, body }
    }

    /// The head's `Content-Length`; panics without one.
    pub fn content_length(&self) -> u64 {
        self.head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no content-length in {}", self.head))
    }

    /// Reads until at least `len` body bytes have arrived.
    pub fn read_at_least(&mut self, len: usize) {
        let mut buf = [0; 64 * 1024];
        while self.body.len() < len {
            let n = self.stream.read(&mut buf).expect("read the body");
            assert!(n > 0, "closed after {} body bytes", self.body.len());
            self.body.extend_from_slice(&buf[..n]);
        }
    }

    /// Reads until the server closes the connection (or it breaks).
    pub fn read_to_close(&mut self) {
        let mut buf = [0; 256 * 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => self.body.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// Whether a chunked body ended properly, with its last chunk.
    pub fn finished(&self) -> bool {
        self.body.ends_with(b"\r\n0\r\n\r\n")
    }
}
