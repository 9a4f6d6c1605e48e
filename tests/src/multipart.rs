//! `multipart/form-data` bodies built by hand, byte for byte: an explicit
//! boundary, parts with any header bytes, and the pieces needed to stream
//! a part whose content is too large to hold in memory.
//!
//! Layout (RFC 7578): each part is `--B CRLF headers CRLF CRLF content
//! CRLF`, and the body ends with `--B-- CRLF`. [`post`] sends a form.

use std::net::SocketAddr;

use crate::{Response, rawclient};

/// A form being built.
#[derive(Clone, Debug)]
pub struct Form {
    boundary: String,
    parts: Vec<u8>,
}

impl Form {
    /// An empty form with this boundary.
    pub fn new(boundary: &str) -> Form {
        Form {
            boundary: boundary.to_owned(),
            parts: Vec::new(),
        }
    }

    /// The boundary.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The `Content-Type` header value for this form.
    pub fn content_type(&self) -> String {
        content_type(&self.boundary)
    }

    /// A file part: `name="field"; filename="filename"` (written as given,
    /// inside double quotes) with an octet-stream type.
    pub fn file(self, field: &str, filename: &str, content: &[u8]) -> Form {
        let head = file_headers(field, filename);
        self.part(head.as_bytes(), content)
    }

    /// A text field: `name="field"`, no filename.
    pub fn text(self, field: &str, value: &str) -> Form {
        let head = format!("Content-Disposition: form-data; name=\"{field}\"");
        self.part(head.as_bytes(), value.as_bytes())
    }

    /// A part with exactly these header lines (CRLF-separated, without the
    /// blank line that ends them) and this content.
    pub fn part(mut self, headers: &[u8], content: &[u8]) -> Form {
        self.parts.extend_from_slice(b"--");
        self.parts.extend_from_slice(self.boundary.as_bytes());
        self.parts.extend_from_slice(b"\r\n");
        self.parts.extend_from_slice(headers);
        self.parts.extend_from_slice(b"\r\n\r\n");
        self.parts.extend_from_slice(content);
        self.parts.extend_from_slice(b"\r\n");
        self
    }

    /// The whole body, closing delimiter included.
    pub fn body(&self) -> Vec<u8> {
        let mut body = self.parts.clone();
        body.extend_from_slice(b"--");
        body.extend_from_slice(self.boundary.as_bytes());
        body.extend_from_slice(b"--\r\n");
        body
    }

    /// The parts without the closing delimiter: a body that never ends.
    pub fn unterminated(&self) -> Vec<u8> {
        self.parts.clone()
    }
}

/// `multipart/form-data; boundary=B`.
pub fn content_type(boundary: &str) -> String {
    format!("multipart/form-data; boundary={boundary}")
}

/// The header lines of a file part.
pub fn file_headers(field: &str, filename: &str) -> String {
    format!(
        "Content-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n\
         Content-Type: application/octet-stream"
    )
}

/// What comes before a streamed file part's content when it is the first
/// part: `--B CRLF headers CRLF CRLF`.
pub fn streamed_file_head(boundary: &str, field: &str, filename: &str) -> Vec<u8> {
    format!("--{boundary}\r\n{}\r\n\r\n", file_headers(field, filename)).into_bytes()
}

/// What comes after a streamed part's content when it is the last part:
/// `CRLF --B-- CRLF`.
pub fn streamed_tail(boundary: &str) -> Vec<u8> {
    format!("\r\n--{boundary}--\r\n").into_bytes()
}

/// `POST target` to `addr` with `form` as the body (and its
/// `Content-Type`), plus `headers`.
pub fn post(addr: SocketAddr, target: &str, form: &Form, headers: &[(&str, &str)]) -> Response {
    let content_type = form.content_type();
    let mut all = vec![("Content-Type", content_type.as_str())];
    all.extend_from_slice(headers);
    rawclient::send(addr, "POST", target, &all, &form.body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_rfc_7578_layout() {
        let form = Form::new("XX").text("a", "1").file("f", "n.txt", b"data");
        let expected = "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
                        --XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"n.txt\"\r\n\
                        Content-Type: application/octet-stream\r\n\r\ndata\r\n--XX--\r\n";
        assert_eq!(String::from_utf8(form.body()).unwrap(), expected);
        assert_eq!(form.content_type(), "multipart/form-data; boundary=XX");
    }

    #[test]
    fn a_streamed_part_matches_a_built_one() {
        let mut streamed = streamed_file_head("B", "f", "x");
        streamed.extend_from_slice(b"content");
        streamed.extend_from_slice(&streamed_tail("B"));
        assert_eq!(streamed, Form::new("B").file("f", "x", b"content").body());
    }
}
