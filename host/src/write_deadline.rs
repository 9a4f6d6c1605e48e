//! A connection whose writes give up on a client that takes nothing.
//!
//! A write that cannot go on (the socket's buffer is full) waits at most
//! the idle timeout — unless the client acknowledged some of what is
//! queued for it meanwhile: then it is reading, however slowly, and the
//! wait starts over. Progress is the fall of the socket's queue of
//! unacknowledged bytes (`SIOCOUTQ`), seen each time a window update
//! arrives, rather than the socket becoming writable again, which takes
//! a slow reader far longer. Where that count is not available, a wait
//! of one idle timeout ends the write.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep, sleep};

/// A TCP connection with a progress-aware deadline on its writes.
pub struct WriteDeadline {
    stream: TcpStream,
    timeout: Duration,
    /// When a waiting write gives up, unless the client moved.
    deadline: Pin<Box<Sleep>>,
    /// Set while a write waits for room: the bytes the client had not
    /// acknowledged when last looked at (`None` inside where unknown).
    waiting: Option<Option<u64>>,
}

impl WriteDeadline {
    pub fn new(stream: TcpStream, timeout: Duration) -> WriteDeadline {
        WriteDeadline {
            stream,
            timeout,
            deadline: Box::pin(sleep(timeout)),
            waiting: None,
        }
    }

    /// Runs `write`; while it cannot go on, fails it once a whole timeout
    /// passed without the client acknowledging anything.
    fn poll_deadline<T>(
        &mut self,
        cx: &mut Context<'_>,
        write: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if let Poll::Ready(result) = write(Pin::new(&mut self.stream), cx) {
            self.waiting = None;
            return Poll::Ready(result);
        }
        let timeout = self.timeout;
        if self.waiting.is_none() {
            self.waiting = Some(unacknowledged(&self.stream));
            self.deadline.as_mut().reset(Instant::now() + timeout);
        }
        while self.deadline.as_mut().poll(cx).is_ready() {
            let before = self.waiting.flatten();
            let now = unacknowledged(&self.stream);
            let moved = matches!((before, now), (Some(before), Some(now)) if now < before);
            if !moved {
                self.waiting = None;
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the client took nothing for {}",
                        humantime::format_duration(timeout)
                    ),
                )));
            }
            self.waiting = Some(now);
            self.deadline.as_mut().reset(Instant::now() + timeout);
        }
        Poll::Pending
    }
}

/// Bytes queued on `stream` that the peer has not acknowledged yet.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[allow(unsafe_code, reason = "one ioctl; no safe wrapper offers SIOCOUTQ")]
fn unacknowledged(stream: &TcpStream) -> Option<u64> {
    use std::os::fd::AsRawFd;
    let mut queued: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (= TIOCOUTQ) writes one int through the pointer,
    // which points at a live local of that type.
    let done = unsafe { libc::ioctl(stream.as_raw_fd(), libc::TIOCOUTQ, &mut queued) };
    if done == 0 {
        u64::try_from(queued).ok()
    } else {
        None
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn unacknowledged(_stream: &TcpStream) -> Option<u64> {
    None
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_deadline(cx, |stream, cx| stream.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_deadline(cx, |stream, cx| stream.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut()
            .poll_deadline(cx, |stream, cx| stream.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
