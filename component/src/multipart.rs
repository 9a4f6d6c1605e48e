//! Streaming `multipart/form-data` parsing on a blocking body.
//!
//! The parsing itself is the `multer` crate's. It is written for async
//! streams; our request body is a blocking reader, so the body is offered
//! as a stream that is always ready, and each future is driven to its end
//! by [`block_on`] with a no-op waker.

use std::future::Future;
use std::io::Read;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

use crate::http::BodyReader;
use futures_util::stream::{self, Stream};

/// Bytes pulled from the body per read.
const READ_SIZE: usize = 256 * 1024;

/// A parser over a blocking body.
pub struct Multipart {
    inner: multer::Multipart<'static>,
}

/// One part: its file name (if any) and a way to read its content.
pub struct Part<'a> {
    field: multer::Field<'static>,
    _parser: std::marker::PhantomData<&'a mut Multipart>,
}

impl Multipart {
    /// Starts parsing `body`, whose `Content-Type` is `content_type`.
    pub fn new(content_type: &str, body: BodyReader) -> Result<Multipart, String> {
        let boundary = multer::parse_boundary(content_type).map_err(|e| e.to_string())?;
        Ok(Multipart {
            inner: multer::Multipart::new(body_stream(body), boundary),
        })
    }

    /// The next part, or `None` after the closing boundary.
    pub fn next_part(&mut self) -> Result<Option<Part<'_>>, String> {
        let field = block_on(self.inner.next_field()).map_err(|e| describe(&e))?;
        Ok(field.map(|field| Part {
            field,
            _parser: std::marker::PhantomData,
        }))
    }
}

impl Part<'_> {
    /// The file name of the part's `Content-Disposition`: `filename`, or
    /// else an RFC 5987 `filename*=UTF-8''...`; `None` for a part without
    /// one (a text field). A name that is there but cannot be read (not
    /// UTF-8, another charset) is an error: the part must not be dropped
    /// silently.
    pub fn file_name(&self) -> Result<Option<String>, String> {
        if let Some(name) = self.field.file_name() {
            return Ok(Some(name.to_owned()));
        }
        let Some(header) = self.field.headers().get("content-disposition") else {
            return Ok(None);
        };
        let raw = String::from_utf8_lossy(header.as_bytes());
        if let Some(name) = extended_file_name(&raw) {
            return Ok(Some(name));
        }
        if raw.to_ascii_lowercase().contains("filename") {
            return Err(format!("a file name that cannot be read as UTF-8: {raw}"));
        }
        Ok(None)
    }

    /// The next piece of content, or `None` at the end of the part.
    pub fn chunk(&mut self) -> Result<Option<Bytes>, String> {
        block_on(self.field.chunk()).map_err(|e| describe(&e))
    }
}

/// The value of `filename*=UTF-8''<percent-encoded>` in a header, decoded.
fn extended_file_name(header: &str) -> Option<String> {
    let lower = header.to_ascii_lowercase();
    let start = lower.find("filename*=")? + "filename*=".len();
    let value = header[start..].split(';').next()?.trim().trim_matches('"');
    let encoded = value
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("utf-8''"))
        .map(|_| &value[7..])?;
    percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// The body as a stream of chunks; a read error ends it with that error.
///
/// multer pulls from its stream until it is `Pending`, so a stream that is
/// always ready would be drained into memory whole. This one answers
/// `Pending` (after waking itself) between chunks: multer then works on
/// one chunk at a time and memory stays flat.
fn body_stream(mut body: BodyReader) -> impl Stream<Item = std::io::Result<Bytes>> + Send {
    let mut yielded = false;
    // One buffer for the whole body: a fresh zeroed one per read cost more
    // than copying out what arrived (a read returns one network frame,
    // usually far less than READ_SIZE).
    let mut buf = vec![0; READ_SIZE];
    stream::poll_fn(move |cx| {
        if yielded {
            yielded = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        yielded = true;
        match body.read(&mut buf) {
            Ok(0) => Poll::Ready(None),
            Ok(n) => Poll::Ready(Some(Ok(Bytes::copy_from_slice(&buf[..n])))),
            Err(err) => Poll::Ready(Some(Err(err))),
        }
    })
}

/// A parser error with its causes: a failed body read is wrapped, and
/// its own text (such as [`crate::http::BODY_STALLED`]) is what matters.
fn describe(err: &multer::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Runs a future whose streams never wait on anything but themselves:
/// `Pending` only means "poll again".
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rfc5987_file_names() {
        let header = "form-data; name=\"f\"; filename*=UTF-8''caf%C3%A9%20x.txt";
        assert_eq!(extended_file_name(header).as_deref(), Some("café x.txt"));
        assert_eq!(
            extended_file_name("form-data; filename*=iso-8859-1''caf%E9"),
            None
        );
        assert_eq!(extended_file_name("form-data; name=\"f\""), None);
    }
}
