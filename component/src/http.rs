//! The request and response values the core works with, independent of
//! WASI so that every handler runs and tests natively. `wasi_glue.rs`
//! converts to and from the real `wasi:http` resources.

use std::io::{self, Read, Write};

use serde_json::Value;

use crate::error::reason;
use crate::fs::ReadFile;

/// The request methods the server tells apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Other(String),
}

impl Method {
    /// Whether the method only reads (`GET` or `HEAD`).
    pub fn is_read(&self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

/// A request body: a blocking reader that may move between threads.
pub type BodyReader = Box<dyn Read + Send>;

/// What a body read fails with (kind `TimedOut`) when the client stopped
/// sending it for longer than the server waits.
pub const BODY_STALLED: &str = "the client stopped sending it";

/// An incoming request: method, raw target (path and query, still
/// percent-encoded), headers with lower-case names, and the body.
pub struct Request {
    pub method: Method,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: BodyReader,
}

impl Request {
    /// A request without headers or body, for tests and internal use.
    pub fn new(method: Method, target: &str) -> Request {
        Request {
            method,
            target: target.to_owned(),
            headers: Vec::new(),
            body: Box::new(io::empty()),
        }
    }

    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Takes the body out, leaving an empty one.
    pub fn take_body(&mut self) -> BodyReader {
        std::mem::replace(&mut self.body, Box::new(io::empty()))
    }
}

/// Writes a generated body (an archive, say) into the response stream.
pub type Producer = Box<dyn FnOnce(&mut dyn Write) -> io::Result<()>>;

/// What follows the response head.
pub enum Body {
    /// No body at all.
    Empty,
    /// A small body held in memory.
    Bytes(Vec<u8>),
    /// `len` bytes of an open file, from its current position.
    File { file: ReadFile, len: u64 },
    /// Produced while it is sent; its length is not known in advance.
    Stream(Producer),
}

/// A response: status, headers, body. `Content-Length` is set by the
/// constructors whenever the length is known.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Response {
    /// A response with a body held in memory.
    pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![
                ("content-type".into(), content_type.into()),
                ("content-length".into(), body.len().to_string()),
            ],
            body: Body::Bytes(body),
        }
    }

    /// An HTML page.
    pub fn html(status: u16, page: String) -> Response {
        Response::bytes(status, "text/html; charset=utf-8", page.into_bytes())
    }

    /// The JSON envelope of contract §2 around `data`.
    pub fn json(status: u16, data: Value) -> Response {
        let envelope = serde_json::json!({
            "version": crate::API_VERSION,
            "api_version": crate::API_VERSION,
            "rc": status,
            "msg": reason(status),
            "data": data,
        });
        let body = serde_json::to_vec(&envelope).unwrap_or_default();
        Response::bytes(status, "application/json", body)
    }

    /// `204 No Content`.
    pub fn no_content() -> Response {
        Response {
            status: 204,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
