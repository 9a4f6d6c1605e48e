//! The native server: listen, print the addresses, serve HTTP/1.1 through
//! the guest, stop cleanly.
//!
//! [`run`] reads as the life of the process: snapshot the permissions,
//! compile the component, bind, print where to connect, accept until Ctrl-C
//! or SIGTERM, then give open connections [`SHUTDOWN_GRACE`] to finish.
//! Each connection is a hyper http1 connection with keep-alive; each request
//! goes to [`Guest::handle`] (which caps it per client address and puts an
//! idle timeout on its body, see [`crate::limits`]) and its response body is
//! wrapped for the access log. Writes to the client time out after the same
//! idle time, so a client that stops reading cannot hold an instance.

use crate::access_log::{self, Entry, LoggedBody, RequestLine};
use crate::cli::Settings;
use crate::guest::{Guest, GuestSettings, plain_text};
use crate::permissions::Snapshot;
use crate::write_deadline::WriteDeadline;
use anyhow::{Context, Result};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Version, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use socket2::{Domain, Protocol, Socket, Type};
use std::convert::Infallible;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use tracing::Instrument;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// The largest request head (request line and headers) accepted; larger
/// ones get 431.
const MAX_REQUEST_HEAD_BYTES: usize = 64 * 1024;

/// Unsent bytes above which a connection's socket stops taking writes
/// (`TCP_NOTSENT_LOWAT`); bytes already sent and waiting for the client's
/// acknowledgement do not count.
#[cfg(any(target_os = "linux", target_os = "android"))]
const UNSENT_LOW_WATER: u32 = 256 * 1024;

/// How long open connections may finish their requests after Ctrl-C.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Pause after a failed `accept` (e.g. out of file descriptors), so the loop
/// does not spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Pending connections the kernel queues before `accept`.
const LISTEN_BACKLOG: i32 = 1024;

/// How long the runtime waits for leftover blocking work at exit.
const RUNTIME_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves until Ctrl-C or SIGTERM.
pub fn run(settings: Settings) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(serve(settings));
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);
    result
}

async fn serve(settings: Settings) -> Result<()> {
    let started = Instant::now();
    let Settings {
        root,
        show_hidden,
        permissions,
        bind,
        port,
        limits,
    } = settings;

    // The guest reads the rules from a private copy that a watcher updates.
    let snapshot = permissions.map(Snapshot::create).transpose()?;
    let permissions_dir = snapshot
        .as_ref()
        .map(|snapshot| snapshot.dir().to_path_buf());
    let guest = Guest::new(GuestSettings {
        root: root.clone(),
        show_hidden,
        permissions_dir,
        limits,
    })?;
    let watcher = snapshot.map(|snapshot| tokio::spawn(snapshot.watch()));

    let listener = bind_listener(bind, port)?;
    let local = listener
        .local_addr()
        .context("cannot read the listening address")?;
    print_banner(&root, &urls(local));
    tracing::debug!("ready in {} ms", started.elapsed().as_millis());

    accept_until_shutdown(listener, Arc::new(guest)).await;

    // Dropping the watcher removes the snapshot directory.
    if let Some(watcher) = watcher {
        watcher.abort();
        let _ = watcher.await;
    }
    Ok(())
}

/// Binds `addr:port`, or by default `[::]` dual-stack, falling back to
/// `0.0.0.0` where IPv6 is unavailable.
fn bind_listener(addr: Option<IpAddr>, port: u16) -> Result<TcpListener> {
    let wanted = SocketAddr::new(addr.unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED)), port);
    match listen(wanted) {
        Ok(listener) => Ok(listener),
        Err(err) if addr.is_none() && ipv6_unavailable(&err) => {
            tracing::debug!("IPv6 unavailable ({err}); listening on IPv4 only");
            let fallback = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
            listen(fallback).with_context(|| format!("cannot listen on `{fallback}`"))
        }
        Err(err) => Err(err).with_context(|| format!("cannot listen on `{wanted}`")),
    }
}

/// Whether a failure to bind `[::]` means this machine has no IPv6 (rather
/// than, say, a port already in use).
fn ipv6_unavailable(err: &io::Error) -> bool {
    !matches!(
        err.kind(),
        io::ErrorKind::AddrInUse | io::ErrorKind::PermissionDenied
    )
}

/// A listening socket; an unspecified IPv6 address also accepts IPv4.
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        socket.set_only_v6(false)?;
    }
    // Lets a restart reuse the port while old connections sit in TIME_WAIT
    // (on Windows the same option would let others share the port).
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// The URLs to print: for a wildcard bind, one per non-loopback address of
/// the machine (IPv4 first), or the loopback one if there are none; for a
/// specific bind, that address.
fn urls(local: SocketAddr) -> Vec<String> {
    let url = |ip: IpAddr| format!("http://{}/", SocketAddr::new(ip, local.port()));
    if !local.ip().is_unspecified() {
        return vec![url(local.ip())];
    }
    let with_ipv6 = local.is_ipv6();
    let mut addrs: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|interface| interface.oper_status != if_addrs::IfOperStatus::Down)
        .map(|interface| interface.ip())
        .filter(|ip| !ip.is_loopback() && (with_ipv6 || ip.is_ipv4()))
        .collect();
    // Stable: keeps the interface order within each family.
    addrs.sort_by_key(|ip| ip.is_ipv6());
    addrs.dedup();
    if addrs.is_empty() {
        addrs.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    addrs.into_iter().map(url).collect()
}

/// The startup message on stdout; tests read the first `  http://` line.
fn print_banner(root: &Path, urls: &[String]) {
    let mut out = io::stdout().lock();
    let mut banner = format!(
        "httpuploader {} sharing {}\nOpen one of these addresses in a browser:\n",
        env!("CARGO_PKG_VERSION"),
        root.display(),
    );
    for url in urls {
        banner.push_str(&format!("  {url}\n"));
    }
    banner.push_str("Press Ctrl-C to stop.\n");
    // A closed stdout must not stop the server: the banner is a courtesy.
    let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
}

/// Accepts connections until a stop signal, then drains them.
async fn accept_until_shutdown(listener: TcpListener, guest: Arc<Guest>) {
    let (stop_sender, stop) = watch::channel(());
    let mut connections = JoinSet::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let connection = serve_connection(stream, remote, Arc::clone(&guest), stop.clone());
                    connections.spawn(connection);
                }
                Err(err) => {
                    tracing::warn!("cannot accept a connection: {err}");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                }
            },
            // Reap finished connections so the set stays small.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }

    // Stop accepting, ask every connection to close after its current
    // request, and wait for them within the grace period.
    drop(listener);
    let open = connections.len();
    tracing::info!(
        "stopping; waiting up to {} s for {open} connection(s)",
        SHUTDOWN_GRACE.as_secs()
    );
    let _ = stop_sender.send(());
    let drained = async { while connections.join_next().await.is_some() {} };
    tokio::select! {
        result = tokio::time::timeout(SHUTDOWN_GRACE, drained) => {
            if result.is_err() {
                tracing::warn!("grace period over; closing {} connection(s)", connections.len());
            }
        }
        // A second Ctrl-C skips the wait.
        _ = tokio::signal::ctrl_c() => tracing::warn!("stopping now"),
    }
    connections.shutdown().await;
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut signals) => {
                signals.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Serves one TCP connection until the client closes it or a stop signal
/// asks it to finish its current request.
async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    guest: Arc<Guest>,
    mut stop: watch::Receiver<()>,
) {
    let local = stream.local_addr().ok();
    let limits = guest.limits();
    let stream = tune(stream, remote, limits.body_idle_timeout);
    let service = service_fn(move |request| {
        let guest = Arc::clone(&guest);
        async move { Ok::<_, Infallible>(handle_request(&guest, remote.ip(), local, request).await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(limits.header_timeout)
        .max_header_size(MAX_REQUEST_HEAD_BYTES)
        .serve_connection(TokioIo::new(Box::pin(stream)), service);
    tokio::pin!(connection);

    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    // Resets, timeouts and malformed requests are the client's business;
    // a refused request head still gets its access line.
    if let Err(err) = result {
        access_log::log_refused_head(remote.ip(), &err);
        tracing::debug!("connection from {remote}: {err}");
    }
}

/// Sets up an accepted socket: no Nagle delay, and writes that fail after
/// `write_timeout` in which the client acknowledged nothing (a client that
/// stopped reading lets go of its guest instance).
fn tune(stream: TcpStream, remote: SocketAddr, write_timeout: Duration) -> WriteDeadline {
    // Without this, small keep-alive responses wait ~40 ms for Nagle.
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!("cannot set TCP_NODELAY for {remote}: {err}");
    }
    // The socket counts as writable again only when little of what was
    // written is still unsent, so the write timeout sees every bit of
    // progress of a slow reader, not only a third of a multi-MiB buffer
    // draining at once.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(err) = socket2::SockRef::from(&stream).set_tcp_notsent_lowat(UNSENT_LOW_WATER) {
        tracing::debug!("cannot set TCP_NOTSENT_LOWAT for {remote}: {err}");
    }
    WriteDeadline::new(stream, write_timeout)
}

/// Runs one request and wraps its response body for the access log.
async fn handle_request(
    guest: &Guest,
    remote: IpAddr,
    local: Option<SocketAddr>,
    mut request: Request<Incoming>,
) -> Response<LoggedBody<HyperOutgoingBody>> {
    let started = Instant::now();
    let line = RequestLine::new(remote, request.method(), request.uri());
    let span = tracing::info_span!("request", %line);
    // Logged once, even if hyper drops this future (the client left).
    let entry = Entry::new(line, request.method(), started);
    let response = match ensure_host(&mut request, local) {
        Ok(()) => {
            let handled = guest.handle(remote, request, entry.clone());
            handled.instrument(span).await
        }
        Err(reason) => plain_text(StatusCode::BAD_REQUEST, reason),
    };
    let status = response.status();
    let length = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse().ok());
    response.map(|body| LoggedBody::new(body, entry, status, length))
}

/// Makes sure the guest gets an authority: HTTP/1.1 requires a readable
/// `Host` (the error is the 400's text); an HTTP/1.0 request without one is
/// given the address it reached.
fn ensure_host(
    request: &mut Request<Incoming>,
    local: Option<SocketAddr>,
) -> Result<(), &'static str> {
    if request.uri().authority().is_some() {
        return Ok(());
    }
    match request.headers().get(header::HOST) {
        Some(host) if host.to_str().is_ok() => Ok(()),
        Some(_) => Err("the Host header is not readable text\n"),
        None if request.version() >= Version::HTTP_11 => Err("the request has no Host header\n"),
        None => {
            let host = local.map_or_else(|| "localhost".to_owned(), |addr| addr.to_string());
            let value = header::HeaderValue::from_str(&host).expect("a socket address is ASCII");
            request.headers_mut().insert(header::HOST, value);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_specific_bind_prints_that_address() {
        let local: SocketAddr = "127.0.0.1:8018".parse().unwrap();
        assert_eq!(urls(local), ["http://127.0.0.1:8018/"]);
        let local: SocketAddr = "[::1]:9000".parse().unwrap();
        assert_eq!(urls(local), ["http://[::1]:9000/"]);
    }

    #[test]
    fn a_wildcard_bind_prints_no_loopback_unless_alone() {
        let local: SocketAddr = "0.0.0.0:8018".parse().unwrap();
        let printed = urls(local);
        assert!(!printed.is_empty());
        if printed.len() > 1 {
            assert!(printed.iter().all(|url| !url.contains("127.0.0.1")));
        }
        assert!(
            printed.iter().all(|url| !url.contains('[')),
            "IPv4 bind lists IPv4 only"
        );
    }
}
