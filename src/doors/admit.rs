//! The one accept loop and the one admission path of every door. Each
//! listening socket gets an acceptor thread running [`accept_loop`]; what
//! happens to an accepted socket is its [`Door`]'s business, but every door
//! turns it into a chat connection the same way, through [`Admission`]:
//! a place under `--max-clients` and `--max-per-ip` (a [`Place`], taken as
//! soon as the socket is accepted, whatever the door), socket options, a
//! connection id, an outbox known to the writer, and a `Connect` to the
//! dispatcher.

use crate::dispatch::Input;
use crate::ids::{ConnId, Protocol};
use crate::net::outbox::{self, Framing, Outbox, Post};
use crate::net::tls::{self, Link};
use crate::proto;
use crossbeam_channel::Sender;
use log::{debug, info, warn};
use parking_lot::Mutex;
use rustls::ServerConfig;
use socket2::{SockRef, TcpKeepalive};
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// What a door does with the sockets its listener accepts.
pub trait Door: Send + 'static {
    /// Takes one accepted connection; returns the thread that serves it, if
    /// one was started (the server joins it at the end).
    fn arrive(
        &mut self,
        stream: TcpStream,
        peer: SocketAddr,
        admission: &Admission,
    ) -> Option<JoinHandle<()>>;

    /// The server stops: let go of connections nobody else knows about.
    fn close(&mut self) {}
}

/// The limits every door applies to the connections it admits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most clients at once, across every door (HTTP connections included).
    pub max_clients: usize,
    /// Most connections from one source address, across every door; 0: no limit.
    pub max_per_ip: usize,
    /// Events a slow reader may have queued before it is cut off.
    pub send_queue: usize,
    /// How long a peer may take no bytes before the writer cuts it off.
    pub send_timeout: Duration,
    /// TCP keepalive: idle time before the first probe.
    pub keepalive: Duration,
    /// How long after `accept` a connection has to log in.
    pub login_timeout: Duration,
}

/// What every door shares to admit connections: where commands and lines go,
/// the count of live connections and the limits.
#[derive(Debug, Clone)]
pub struct Admission {
    /// Commands to the dispatcher.
    pub inputs: Sender<Input>,
    /// New connections and ready outboxes to the writer.
    pub mail: Sender<Post>,
    /// Set once the server stops.
    pub stopping: Arc<AtomicBool>,
    /// Connections open right now, across every door.
    pub live: Arc<AtomicUsize>,
    /// Connections open right now per source address.
    hosts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    /// Connection ids, shared by every door so that none is used twice.
    ids: Arc<AtomicU64>,
    /// The limits.
    pub limits: Limits,
}

impl Admission {
    /// The admission of a server that feeds `inputs` and `mail`.
    pub fn new(
        inputs: Sender<Input>,
        mail: Sender<Post>,
        stopping: Arc<AtomicBool>,
        limits: Limits,
    ) -> Admission {
        Admission {
            inputs,
            mail,
            stopping,
            live: Arc::new(AtomicUsize::new(0)),
            hosts: Arc::default(),
            ids: Arc::new(AtomicU64::new(0)),
            limits,
        }
    }

    /// True once the server stops.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// The next connection id (ids start at 1 and are never reused).
    pub fn next_id(&self) -> ConnId {
        self.ids.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Takes a place for a connection from `peer`, unless it has
    /// `max_per_ip` connections already or the server holds `max_clients`.
    /// The place is given back when the [`Place`] is dropped.
    ///
    /// # Errors
    /// Why the connection is refused.
    pub fn reserve(&self, peer: IpAddr) -> Result<Place, Refused> {
        let host = host_of(peer);
        let mut hosts = self.hosts.lock();
        let from_host = hosts.get(&host).copied().unwrap_or(0);
        if self.limits.max_per_ip > 0 && from_host >= self.limits.max_per_ip {
            return Err(Refused::TooManyFromHost);
        }
        self.live
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limits.max_clients).then_some(n + 1)
            })
            .map_err(|_| Refused::Full)?;
        hosts.insert(host, from_host + 1);
        drop(hosts);
        Ok(Place {
            live: Arc::clone(&self.live),
            hosts: Arc::clone(&self.hosts),
            host,
        })
    }

    /// Makes a reserved, accepted socket a chat connection: socket options,
    /// then the writer (`Post::Open`, with how to frame its lines) and the
    /// dispatcher (`Input::Connect`, which says WELCOME to CHAT/1 clients)
    /// learn of it. Returns its outbox, or `None` when the server is stopping.
    pub fn admit(
        &self,
        id: ConnId,
        peer: SocketAddr,
        link: &Link,
        (protocol, framing): (Protocol, Framing),
    ) -> Option<Outbox> {
        if let Err(e) = tune(link.socket(), self.limits.keepalive) {
            warn!("conn {id} from {peer}: cannot set socket options: {e}");
        }
        self.register(id, peer, link, protocol, framing)
    }

    fn register(
        &self,
        id: ConnId,
        peer: SocketAddr,
        link: &Link,
        protocol: Protocol,
        framing: Framing,
    ) -> Option<Outbox> {
        let socket = link.socket();
        let (outbox, inbox) =
            outbox::queue_for(id, protocol, self.limits.send_queue, self.mail.clone());
        let timeout = self.limits.send_timeout;
        let goodbye = proto::bye(
            protocol,
            &format!("send timeout: you took nothing for {timeout:?}"),
        );
        let open = Post::Open {
            id,
            inbox,
            socket: Arc::clone(socket),
            framing,
            tls: link.session().cloned(),
            goodbye: goodbye.into(),
        };
        self.mail.send(open).ok()?;
        let connect = Input::Connect {
            id,
            peer,
            outbox: outbox.clone(),
            socket: Some(Arc::clone(socket)),
        };
        self.inputs.send(connect).ok()?;
        Some(outbox)
    }

    /// A connection whose threads could not start: the dispatcher forgets it.
    pub fn abandon(&self, id: ConnId, e: &io::Error) {
        warn!("conn {id}: cannot start its threads: {e}");
        let _ = self.inputs.send(Input::Disconnect {
            id,
            reason: "server out of threads".into(),
        });
    }
}

/// What a TLS door needs: the rustls configuration, and the sockets still
/// in their handshake, which nobody else knows: the door shuts them down
/// when the server stops.
#[derive(Debug, Clone)]
pub struct Handshakes {
    /// The configuration of every handshake (its certificate is read per handshake).
    pub config: Arc<ServerConfig>,
    pending: Arc<Mutex<HashMap<ConnId, Arc<TcpStream>>>>,
}

impl Handshakes {
    /// Handshakes with `config`.
    pub fn new(config: Arc<ServerConfig>) -> Handshakes {
        Handshakes {
            config,
            pending: Arc::default(),
        }
    }

    /// Runs connection `id`'s handshake on `socket` (see [`tls::handshake`]),
    /// by `until`; returns the link to read it through.
    ///
    /// # Errors
    /// The handshake failed or was too slow.
    pub fn run(&self, id: ConnId, socket: Arc<TcpStream>, until: Instant) -> io::Result<Link> {
        self.pending.lock().insert(id, Arc::clone(&socket));
        let done = tls::handshake(&self.config, (&format!("conn {id}"), &socket), until);
        self.pending.lock().remove(&id);
        let session = done?;
        Ok(Link::secure(socket, session))
    }

    /// The server stops: connections still in their handshake end now.
    pub fn close(&self) {
        let waiting: Vec<Arc<TcpStream>> = self.pending.lock().values().cloned().collect();
        for socket in waiting {
            // shutdown(2): the handshake's recv returns 0 bytes and its thread ends.
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

/// Why a connection is not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `--max-clients` connections are open.
    Full,
    /// `--max-per-ip` connections from this address are open.
    TooManyFromHost,
}

/// A connection's place under the limits, taken by [`Admission::reserve`]
/// and given back when dropped (by its reader's [`Farewell`], or earlier if
/// it never becomes a chat connection).
///
/// [`Farewell`]: super::reader::Farewell
#[derive(Debug)]
pub struct Place {
    live: Arc<AtomicUsize>,
    hosts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    host: IpAddr,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut hosts = self.hosts.lock();
        if let Some(n) = hosts.get_mut(&self.host) {
            *n -= 1;
            if *n == 0 {
                hosts.remove(&self.host);
            }
        }
        drop(hosts);
        self.live.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The host a connection from `peer` counts for under `--max-per-ip`: its
/// IPv4 address (an IPv4 client of a listener on `[::]` comes as
/// `::ffff:a.b.c.d`), or for IPv6 its /64, the block one machine or home
/// network is given and can pick addresses from at will.
pub fn host_of(peer: IpAddr) -> IpAddr {
    match peer.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(std::net::Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

/// Tells a client it cannot come in (`out`, in its protocol), then closes.
/// Done by the acceptor itself: a few bytes into a fresh socket's empty send
/// buffer never wait.
pub fn turn_away(mut stream: TcpStream, out: &[u8]) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    // send(2), then shutdown(2): the client reads the lines, then EOF.
    let _ = stream.write_all(out);
    let _ = stream.shutdown(Shutdown::Both);
}

/// Socket options of an accepted connection.
fn tune(stream: &TcpStream, keepalive: Duration) -> io::Result<()> {
    // Lines are batched by the writer already; Nagle's delay would only add latency.
    stream.set_nodelay(true)?;
    // Keepalive probes find peers that vanished without a FIN or RST.
    let keepalive = TcpKeepalive::new()
        .with_time(keepalive)
        .with_interval(Duration::from_secs(10))
        .with_retries(3);
    SockRef::from(stream).set_tcp_keepalive(&keepalive)
}

/// Accepts connections on `listener` until the server stops, handing each to
/// `door`; returns the threads the door started, for the server to join.
pub fn accept_loop<D: Door>(
    listener: &TcpListener,
    mut door: D,
    admission: &Admission,
) -> Vec<JoinHandle<()>> {
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    let mut accepted_count: u64 = 0;
    loop {
        // accept(2): blocks until a handshake completes; a new socket per client.
        let accepted = listener.accept();
        if admission.is_stopping() {
            break;
        }
        match accepted {
            Ok((stream, peer)) => threads.extend(door.arrive(stream, peer, admission)),
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                warn!("accept() failed: {e}");
                thread::sleep(Duration::from_millis(20));
            }
        }
        accepted_count += 1;
        if accepted_count.is_multiple_of(256) {
            threads.retain(|t| !t.is_finished());
        }
    }
    if let Ok(addr) = listener.local_addr() {
        info!("stopping: {addr} no longer accepts");
    }
    door.close();
    debug!(
        "acceptor done, {} connection threads to join",
        threads.len()
    );
    threads
}

#[cfg(test)]
mod tests {
    use super::host_of;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_and_ipv4_by_itself() {
        assert_eq!(host_of(ip("10.0.0.7")), ip("10.0.0.7"));
        assert_eq!(host_of(ip("::ffff:10.0.0.7")), ip("10.0.0.7"));
        assert_eq!(host_of(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            host_of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            host_of(ip("2001:db8:1:2::9"))
        );
        assert_ne!(
            host_of(ip("2001:db8:1:3::1")),
            host_of(ip("2001:db8:1:2::1"))
        );
    }
}
