//! Talking to a running server: an HTTP client that reports every status
//! as a plain [`Response`], and a raw socket client for request targets
//! that a URL library would normalize (`/../x`, `%2e%2e`).

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one read or write on a connection may stall.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// A complete answer: status, headers (names in lower case, in order) and
/// the body as bytes.
#[derive(Clone, Debug)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// Every header line, name lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether `Content-Type` is `application/json`.
    pub fn is_json(&self) -> bool {
        self.content_type_is("application/json")
    }

    /// Whether `Content-Type` is `text/html`.
    pub fn is_html(&self) -> bool {
        self.content_type_is("text/html")
    }

    /// Whether the media type of `Content-Type` (before any `;`) is `mime`.
    pub fn content_type_is(&self, mime: &str) -> bool {
        self.header("content-type")
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(mime))
    }

    /// The body parsed as JSON; panics with the status and body otherwise.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "expected a JSON body ({e}); got {} with:\n{}",
                self.status,
                self.text()
            )
        })
    }
}

/// Sends requests to one server at `http://127.0.0.1:PORT`.
pub struct Client {
    addr: SocketAddr,
    agent: ureq::Agent,
}

impl Client {
    /// A client for the server listening at `addr`.
    pub fn new(addr: SocketAddr) -> Client {
        // Redirects are not followed: tests see exactly what was answered.
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout_read(IO_TIMEOUT)
            .timeout_write(IO_TIMEOUT)
            .redirects(0)
            .build();
        Client { addr, agent }
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The absolute URL of `path` (already percent-encoded, starting
    /// with `/`).
    pub fn url(&self, path: &str) -> String {
        assert!(
            path.starts_with('/'),
            "a request path starts with `/`: {path:?}"
        );
        format!("http://{}{path}", self.addr)
    }

    /// `GET path`, whatever the status.
    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, None)
    }

    /// `HEAD path`, whatever the status.
    pub fn head(&self, path: &str) -> Response {
        self.request("HEAD", path, None)
    }

    /// `GET path`, and its body parsed as JSON whatever the status.
    pub fn json(&self, path: &str) -> Value {
        self.get(path).json()
    }

    /// Any method on `path`, with an optional body, whatever the status.
    /// `path` must be percent-encoded; note that the URL parser in between
    /// resolves `.`/`..` segments (also as `%2e`): use [`Client::raw_request`]
    /// for those.
    pub fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> Response {
        let (head, mut reader) = self.open(method, path, body);
        let mut body = Vec::new();
        reader
            .read_to_end(&mut body)
            .unwrap_or_else(|e| panic!("{method} {path}: reading the body failed: {e}"));
        Response { body, ..head }
    }

    /// `GET path`, streaming the body into a sink: the response (with an
    /// empty body) and how many body bytes arrived.
    pub fn get_counting(&self, path: &str) -> (Response, u64) {
        let (head, mut reader) = self.open("GET", path, None);
        let count = io::copy(&mut reader, &mut io::sink())
            .unwrap_or_else(|e| panic!("GET {path}: reading the body failed: {e}"));
        (head, count)
    }

    /// Sends the request and returns the head plus a reader for the body.
    fn open(&self, method: &str, path: &str, body: Option<&[u8]>) -> (Response, Box<dyn Read>) {
        let request = self.agent.request(method, &self.url(path));
        let result = match body {
            Some(bytes) => request.send_bytes(bytes),
            None => request.call(),
        };
        let response = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: no HTTP answer: {e}"),
        };
        let mut headers = Vec::new();
        let mut names = response.headers_names();
        names.dedup();
        for name in names {
            if headers.iter().any(|(n, _)| *n == name) {
                continue;
            }
            for value in response.all(&name) {
                headers.push((name.clone(), value.to_owned()));
            }
        }
        let head = Response {
            status: response.status(),
            headers,
            body: Vec::new(),
        };
        (head, Box::new(response.into_reader()))
    }

    /// Sends `bytes` exactly as given on a new connection and returns
    /// everything the server answered before closing it, as text.
    pub fn raw(&self, bytes: &[u8]) -> String {
        String::from_utf8_lossy(&self.raw_bytes(bytes)).into_owned()
    }

    /// `METHOD target HTTP/1.1` with the request target sent verbatim
    /// (no normalization), parsed into a [`Response`].
    pub fn raw_request(&self, method: &str, target: &str) -> Response {
        let request = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        let answer = self.raw_bytes(request.as_bytes());
        parse_response(&answer, method.eq_ignore_ascii_case("HEAD")).unwrap_or_else(|e| {
            panic!("{method} {target}: unreadable answer ({e}):\n{}", {
                String::from_utf8_lossy(&answer)
            })
        })
    }

    fn raw_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let mut stream = crate::socket::connect(self.addr, IO_TIMEOUT);
        stream.write_all(bytes).expect("send raw request");
        let mut answer = Vec::new();
        // A reset after a complete answer is fine: keep what arrived.
        if let Err(e) = stream.read_to_end(&mut answer)
            && answer.is_empty()
        {
            panic!("raw request to {}: no answer: {e}", self.addr);
        }
        answer
    }
}

/// Parses one HTTP/1.1 response (status line, headers, and a body that is
/// chunked, sized by `Content-Length`, or delimited by the close).
fn parse_response(raw: &[u8], is_head: bool) -> Result<Response, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|e| e.to_string())?;
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("no status line")?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header {line:?}"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if is_head || status == 204 || status == 304 {
        return Ok(response);
    }
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    response.body = if chunked {
        dechunk(rest)?
    } else if let Some(len) = response.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| format!("bad Content-Length {len:?}"))?;
        rest.get(..len)
            .ok_or("body shorter than Content-Length")?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(response)
}

/// Decodes a chunked body (trailers ignored).
fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_text = std::str::from_utf8(&raw[..eol]).map_err(|e| e.to_string())?;
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        raw = &raw[eol + 2..];
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(raw.get(..size).ok_or("truncated chunk")?);
        raw = raw.get(size + 2..).ok_or("truncated chunk end")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_chunked_response() {
        let raw = b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\
                    Content-Type: application/json\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let response = parse_response(raw, false).unwrap();
        assert_eq!(response.status, 403);
        assert!(response.is_json());
        assert_eq!(response.body, b"abcde");
    }

    #[test]
    fn parses_a_sized_response_and_a_head_answer() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi";
        assert_eq!(parse_response(raw, false).unwrap().body, b"hi");
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n";
        let response = parse_response(head, true).unwrap();
        assert_eq!(response.header("Content-Length"), Some("2"));
        assert!(response.body.is_empty());
    }
}
