//! The one way the hand-written clients ([`crate::wire`],
//! [`crate::rawclient`], [`crate::Client::raw`]) open a connection.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to `addr` with `io_timeout` on every read and write, and
/// `TCP_NODELAY` so each piece a test writes leaves at once. Panics (the
/// test fails) if the server cannot be reached.
pub fn connect(addr: SocketAddr, io_timeout: Duration) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream
        .set_read_timeout(Some(io_timeout))
        .expect("set read timeout");
    stream
        .set_write_timeout(Some(io_timeout))
        .expect("set write timeout");
    stream.set_nodelay(true).expect("set TCP_NODELAY");
    stream
}
