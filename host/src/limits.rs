//! What keeps one client from holding the whole server: [`Limits`] (set
//! on the command line), a cap on the requests each client address has in
//! flight, and an idle timeout on request bodies.
//!
//! [`ClientLimiter`] gives each client address (IPv4-mapped IPv6 counted as
//! the IPv4 address) [`Limits::max_per_client`] slots. A request takes one
//! of its client's slots before it may wait for one of the server's
//! [`Limits::max_requests`] instances, so a client with many slow requests
//! queues behind its own slots and leaves the others free for everyone
//! else. An address's entry exists only while it has a request waiting or
//! running, so the map cannot grow without bound.
//!
//! [`IdleTimeoutBody`] wraps a request body: if no new frame arrives for
//! [`Limits::body_idle_timeout`] while it is being read, the body ends with
//! an error, the guest sees a read error and discards the upload, and its
//! instance is freed.

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// How much of the server one client, or all of them, may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests handled at the same time, each in its own guest instance
    /// (and pool slot); more wait for one to finish.
    pub max_requests: u32,
    /// Requests one client address may have in flight (waiting for an
    /// instance or running in one); more from that address wait.
    pub max_per_client: u32,
    /// How long a client may take to send a request head; a connection
    /// that sends none in that time (an idle keep-alive one too) is closed.
    pub header_timeout: Duration,
    /// How long a request body may go without a new chunk of bytes while
    /// the guest reads it (then the body fails and the upload is dropped),
    /// and how long a write to the client may wait for it to read (then the
    /// connection fails and the download ends).
    pub body_idle_timeout: Duration,
}

impl Limits {
    /// Requests in flight by default.
    pub const MAX_REQUESTS: u32 = 64;
    /// Requests in flight per client by default: a quarter of
    /// [`Limits::MAX_REQUESTS`], so at least four clients always fit.
    pub const MAX_PER_CLIENT: u32 = 16;
    /// The default [`Limits::header_timeout`].
    pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default [`Limits::body_idle_timeout`].
    pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_requests: Limits::MAX_REQUESTS,
            max_per_client: Limits::MAX_PER_CLIENT,
            header_timeout: Limits::HEADER_TIMEOUT,
            body_idle_timeout: Limits::BODY_IDLE_TIMEOUT,
        }
    }
}

/// Per-client-address request slots.
#[derive(Debug)]
pub struct ClientLimiter {
    per_client: u32,
    /// Each address with a request waiting or running: its slots, and how
    /// many requests hold or wait for one.
    clients: Mutex<HashMap<IpAddr, (Arc<Semaphore>, usize)>>,
}

impl ClientLimiter {
    /// A limiter giving each address `per_client` slots.
    pub fn new(per_client: u32) -> ClientLimiter {
        ClientLimiter {
            per_client,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for one of `client`'s slots; the slot is freed, and the
    /// address forgotten once it has no other request, when the returned
    /// permit (or this future, if cancelled) is dropped.
    pub async fn acquire(self: &Arc<Self>, client: IpAddr) -> ClientPermit {
        let client = canonical_ip(client);
        let semaphore = {
            let mut clients = self.lock();
            let (semaphore, users) = clients
                .entry(client)
                .or_insert_with(|| (Arc::new(Semaphore::new(self.per_client as usize)), 0));
            *users += 1;
            Arc::clone(semaphore)
        };
        // Registered first, so a cancelled wait still unregisters.
        let mut slot = ClientPermit {
            limiter: Arc::clone(self),
            client,
            permit: None,
        };
        let permit = semaphore
            .acquire_owned()
            .await
            .expect("client semaphores are never closed");
        slot.permit = Some(permit);
        slot
    }

    /// How many addresses have a request waiting or running.
    #[cfg(test)]
    fn clients(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, (Arc<Semaphore>, usize)>> {
        // The map stays consistent even if a holder panicked.
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One of a client's slots (or the wait for one); frees it on drop.
#[derive(Debug)]
pub struct ClientPermit {
    limiter: Arc<ClientLimiter>,
    client: IpAddr,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for ClientPermit {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut clients = self.limiter.lock();
        if let Some((_, users)) = clients.get_mut(&self.client) {
            *users -= 1;
            if *users == 0 {
                clients.remove(&self.client);
            }
        }
    }
}

/// IPv4 clients of a dual-stack socket show up as `::ffff:a.b.c.d`; count
/// them as the IPv4 address they are.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// A request body that fails when no frame arrives for `timeout`.
pub struct IdleTimeoutBody<B> {
    inner: B,
    timeout: Duration,
    /// When the body fails unless a frame arrives first; moved on with
    /// every frame.
    deadline: Pin<Box<Sleep>>,
    timed_out: bool,
}

impl<B> IdleTimeoutBody<B> {
    /// Wraps `inner`; the first frame is due `timeout` from now.
    pub fn new(inner: B, timeout: Duration) -> IdleTimeoutBody<B> {
        IdleTimeoutBody {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            timed_out: false,
        }
    }
}

impl<B> Body for IdleTimeoutBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<wasmtime_wasi_http::Error>,
{
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.timed_out {
            return Poll::Ready(Some(Err(wasmtime_wasi_http::Error::ConnectionReadTimeout)));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = Instant::now() + self.timeout;
                self.deadline.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.timed_out = true;
                    tracing::info!(
                        "request body idle for {} s; giving up on it",
                        self.timeout.as_secs()
                    );
                    Poll::Ready(Some(Err(wasmtime_wasi_http::Error::ConnectionReadTimeout)))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        !self.timed_out && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::convert::Infallible;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[tokio::test]
    async fn a_client_waits_for_its_own_slots_only() {
        let limiter = Arc::new(ClientLimiter::new(2));
        let first = limiter.acquire(A).await;
        let _second = limiter.acquire(A).await;
        let third = limiter.acquire(A);
        tokio::pin!(third);
        let waited = tokio::time::timeout(Duration::from_millis(50), third.as_mut()).await;
        assert!(waited.is_err(), "a third slot for A was granted");
        // Another client is not held up by A.
        let other = tokio::time::timeout(Duration::from_secs(1), limiter.acquire(B)).await;
        assert!(other.is_ok(), "B had to wait for A");
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(1), third).await;
        assert!(third.is_ok(), "A's freed slot was not handed on");
    }

    #[tokio::test]
    async fn idle_addresses_are_forgotten() {
        let limiter = Arc::new(ClientLimiter::new(1));
        let held = limiter.acquire(A).await;
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        {
            // A cancelled wait (same client, mapped form) unregisters too.
            let waiting = limiter.acquire(mapped);
            let waited = tokio::time::timeout(Duration::from_millis(20), waiting).await;
            assert!(waited.is_err());
        }
        let other = limiter.acquire(B).await;
        assert_eq!(limiter.clients(), 2);
        drop(held);
        drop(other);
        assert_eq!(limiter.clients(), 0);
    }

    /// A body whose frames come from a channel; it ends when the sender
    /// is dropped.
    struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

    impl Body for ChannelBody {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            self.0
                .poll_recv(cx)
                .map(|chunk| chunk.map(|data| Ok(Frame::data(data))))
        }
    }

    #[tokio::test]
    async fn an_idle_body_fails_and_a_busy_one_does_not() {
        let idle = Duration::from_millis(300);
        let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(4);
        let mut body = IdleTimeoutBody::new(ChannelBody(receiver), idle);
        // Frames 200 ms apart keep it alive.
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            sender.send(Bytes::from_static(b"x")).await.unwrap();
            let frame = body.frame().await.unwrap().unwrap();
            assert_eq!(frame.into_data().unwrap(), "x");
        }
        // Then 300 ms of nothing: an error, not an end.
        let started = Instant::now();
        let err = body.frame().await.unwrap().unwrap_err();
        assert!(matches!(
            err,
            wasmtime_wasi_http::Error::ConnectionReadTimeout
        ));
        assert!(started.elapsed() >= idle);
        assert!(body.frame().await.unwrap().is_err());
        drop(sender);
    }
}
