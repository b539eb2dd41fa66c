//! The orderly stop: a flag every acceptor reads after `accept` returns, and
//! a connection of our own to each listener to wake the `accept` it is
//! blocked in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Stops a running server from any thread (a signal handler's, a test's, the
/// dispatcher's after a store failure).
#[derive(Debug, Clone)]
pub struct Stopper {
    stopping: Arc<AtomicBool>,
    /// The listeners whose acceptor threads wait in accept(2); the main one last.
    wake: Vec<SocketAddr>,
}

impl Stopper {
    /// A stopper for the listeners bound to `listeners`, in the order to wake them.
    pub fn new(listeners: impl IntoIterator<Item = SocketAddr>) -> Stopper {
        Stopper {
            stopping: Arc::new(AtomicBool::new(false)),
            wake: listeners.into_iter().map(wake_addr).collect(),
        }
    }

    /// The flag the acceptors read after each `accept`.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stopping)
    }

    /// True once [`Stopper::stop`] was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Asks the server to stop; `Server::wait` returns once everything is joined.
    pub fn stop(&self) {
        if self.stopping.swap(true, Ordering::AcqRel) {
            return;
        }
        // The acceptors are blocked in accept(2): a connection of our own wakes each.
        for addr in &self.wake {
            let _ = TcpStream::connect_timeout(addr, Duration::from_secs(1));
        }
    }
}

/// The address that reaches a listener bound to `addr` (which may be unspecified).
fn wake_addr(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}
