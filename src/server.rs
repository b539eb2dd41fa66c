//! The listening socket and the acceptor thread: `socket`, `bind`, `listen`,
//! then `accept` in a loop, one reader thread per accepted connection, and an
//! orderly stop that joins every thread it started.

use crate::codec::{self, ErrCode, Event};
use crate::connection::{self, Reading};
use crate::dispatcher::{Dispatcher, Input, Routes, Settings};
use crate::flood::FloodLimit;
use crate::outbox::{self, Door};
use crate::room::{Chat, ConnId};
use crate::sqlite::SqliteStore;
use crate::store::{MemoryStore, Store};
use crate::web::WebAcceptor;
use crate::writer::{Framing, Post, Writer};
use crossbeam_channel::Sender;
use log::{debug, error, info, warn};
use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Everything the server can be told at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// Address of the IRC front door, if open.
    pub irc_listen: Option<SocketAddr>,
    /// An IRC client quiet this long gets a `PING`; quiet as long again, it is dropped.
    pub irc_ping: Duration,
    /// Address of the web client's HTTP and WebSocket listener; `None`: no web client.
    pub web_listen: Option<SocketAddr>,
    /// Queue of connections the kernel completes before we `accept` them.
    pub backlog: i32,
    /// Most clients at once; the next one gets `ERR SERVER_FULL` and `BYE`.
    pub max_clients: usize,
    /// Most rooms at once.
    pub max_rooms: usize,
    /// Messages kept per room in memory (without a data directory).
    pub history: usize,
    /// Where the SQLite database lives; `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    /// Most whispers kept for one absent account.
    pub inbox_cap: usize,
    /// Per-connection flood control (rate 0: off).
    pub flood: FloodLimit,
    /// Events a slow reader may have queued before it is cut off.
    pub send_queue: usize,
    /// Events waiting for the dispatcher before readers wait in turn.
    pub input_queue: usize,
    /// How long a peer may take no bytes at all before it is dropped.
    pub send_timeout: Duration,
    /// TCP keepalive: idle time before the first probe (dead peers are dropped).
    pub keepalive: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([0, 0, 0, 0], 44765)),
            irc_listen: None,
            irc_ping: Duration::from_secs(120),
            web_listen: None,
            backlog: 1024,
            max_clients: 10_000,
            max_rooms: 1000,
            history: 100,
            data_dir: None,
            inbox_cap: 1000,
            flood: FloodLimit {
                rate: 10.0,
                burst: 20,
            },
            send_queue: 16_384,
            input_queue: 65_536,
            send_timeout: Duration::from_secs(10),
            keepalive: Duration::from_secs(60),
        }
    }
}

/// Stops a running server from any thread (a signal handler's, a test's).
#[derive(Debug, Clone)]
pub struct Stopper {
    stopping: Arc<AtomicBool>,
    /// The listeners whose acceptor threads wait in accept(2); the main one last.
    wake: Vec<SocketAddr>,
}

impl Stopper {
    /// Asks the server to stop; [`Server::wait`] returns once everything is joined.
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

/// A running server.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    web_addr: Option<SocketAddr>,
    irc_addr: Option<SocketAddr>,
    stopper: Stopper,
    acceptor: Option<JoinHandle<usize>>,
    routes: Arc<Routes>,
    live: Arc<AtomicUsize>,
}

impl Server {
    /// Binds the listening socket and starts the acceptor and dispatcher threads.
    ///
    /// # Errors
    /// The address cannot be bound, or a thread cannot be started.
    pub fn start(config: Config) -> io::Result<Server> {
        let listener = listen(config.listen, config.backlog)?;
        let local_addr = listener.local_addr()?;
        info!("listening on {local_addr}");
        let (web_listener, web_addr) = listen_if(config.web_listen, config.backlog)?;
        if let Some(addr) = web_addr {
            info!("web client on http://{addr}/");
        }
        let (irc_listener, irc_addr) = listen_if(config.irc_listen, config.backlog)?;
        if let Some(addr) = irc_addr {
            info!("IRC front door open on {addr}");
        }
        let store: Box<dyn Store> = match &config.data_dir {
            Some(dir) => Box::new(SqliteStore::open(dir).map_err(io::Error::other)?),
            None => Box::new(MemoryStore::new(config.history)),
        };
        let routes = Arc::new(Routes::default());
        let (inputs, queue) = crossbeam_channel::bounded(config.input_queue);
        let (jobs, work) = crossbeam_channel::unbounded();
        let mut dispatcher = Dispatcher::new(
            Chat::new(config.max_rooms),
            store,
            Arc::clone(&routes),
            Settings {
                welcome: "Welcome to Sala (CHAT/1). Type NICK <name>, then JOIN <room>.".into(),
                inbox_cap: config.inbox_cap,
            },
            Some(jobs),
        )
        .map_err(io::Error::other)?;
        let stopper = Stopper {
            stopping: Arc::new(AtomicBool::new(false)),
            wake: web_addr
                .into_iter()
                .chain(irc_addr)
                .chain(std::iter::once(local_addr))
                .map(wake_addr)
                .collect(),
        };
        dispatcher.stop_on_failure(stopper.clone());
        let answers = inputs.clone();
        let auth = thread::Builder::new()
            .name("passwords".into())
            .spawn(move || crate::auth::work(&work, &answers))?;
        let dispatcher = thread::Builder::new()
            .name("dispatcher".into())
            .spawn(move || dispatcher.run(&queue))?;
        let (mail, posts) = crossbeam_channel::unbounded();
        let writer = Writer::new(posts, config.send_timeout);
        let writer = thread::Builder::new()
            .name("writer".into())
            .spawn(move || writer.run())?;
        let live = Arc::new(AtomicUsize::new(0));
        let ids = Arc::new(AtomicU64::new(0));
        let web = match web_listener {
            Some(listener) => {
                let web = WebAcceptor {
                    listener,
                    config: config.clone(),
                    inputs: inputs.clone(),
                    mail: mail.clone(),
                    stopping: Arc::clone(&stopper.stopping),
                    live: Arc::clone(&live),
                    ids: Arc::clone(&ids),
                };
                Some(
                    thread::Builder::new()
                        .name("web".into())
                        .spawn(move || web.run())?,
                )
            }
            None => None,
        };
        let acceptor = Acceptor {
            listener,
            door: Door::Chat,
            config,
            inputs,
            mail,
            stopping: Arc::clone(&stopper.stopping),
            live: Arc::clone(&live),
            ids,
            threads: Vec::new(),
        };
        let mut doors = Vec::new();
        if let Some(listener) = irc_listener {
            let mut irc = acceptor.sibling(listener, Door::Irc);
            doors.push(
                thread::Builder::new()
                    .name("irc-acceptor".into())
                    .spawn(move || {
                        irc.accept_all();
                        irc.threads
                    })?,
            );
        }
        let acceptor = thread::Builder::new()
            .name("acceptor".into())
            .spawn(move || acceptor.run([dispatcher, auth], writer, web, doors))?;
        Ok(Server {
            local_addr,
            web_addr,
            irc_addr,
            stopper,
            acceptor: Some(acceptor),
            routes,
            live,
        })
    }

    /// The address the server listens on (with the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the web client's listener, when it has one (with the real port).
    pub fn web_addr(&self) -> Option<SocketAddr> {
        self.web_addr
    }

    /// The address of the IRC front door, if it is open.
    pub fn irc_addr(&self) -> Option<SocketAddr> {
        self.irc_addr
    }

    /// A handle that stops the server from another thread.
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Connections open right now.
    pub fn clients(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// Members of each room, read from the routing table (rooms sorted by id).
    pub fn room_sizes(&self) -> Vec<(String, usize)> {
        let routes = self.routes.lock();
        let mut sizes: Vec<_> = routes
            .iter()
            .map(|(id, v)| (id.as_str().to_string(), v.len()))
            .collect();
        drop(routes);
        sizes.sort();
        sizes
    }

    /// Blocks until the server has stopped; returns how many connection
    /// threads were joined at the end.
    pub fn wait(mut self) -> usize {
        self.acceptor
            .take()
            .map_or(0, |acceptor| acceptor.join().unwrap_or(0))
    }

    /// Stops the server and waits for every thread.
    pub fn shutdown(self) -> usize {
        self.stopper.stop();
        self.wait()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            self.stopper.stop();
            let _ = acceptor.join();
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

/// A second or third listening socket, if its address was given, with the
/// address it got (the real port when 0 was asked).
fn listen_if(
    addr: Option<SocketAddr>,
    backlog: i32,
) -> io::Result<(Option<TcpListener>, Option<SocketAddr>)> {
    let Some(addr) = addr else {
        return Ok((None, None));
    };
    let listener = listen(addr, backlog)?;
    let local = listener.local_addr()?;
    Ok((Some(listener), Some(local)))
}

/// The three steps before a server can accept, each its own system call.
pub(crate) fn listen(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    // socket(2): a new TCP endpoint, not yet tied to any address.
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    debug!("socket() -> TCP socket for {addr}");
    // A restarted server may bind while old connections linger in TIME_WAIT.
    socket.set_reuse_address(true)?;
    // bind(2): claim the address and port.
    socket.bind(&addr.into())?;
    debug!("bind({addr})");
    // listen(2): the kernel completes handshakes and queues up to `backlog` for accept.
    socket.listen(backlog)?;
    debug!("listen(backlog = {backlog})");
    Ok(socket.into())
}

/// An acceptor thread's state: one per listening socket of chat lines
/// (CHAT/1, and IRC with `--irc-listen`; the web listener has its own, [`WebAcceptor`]).
struct Acceptor {
    listener: TcpListener,
    /// The protocol its connections speak.
    door: Door,
    config: Config,
    inputs: Sender<Input>,
    /// Tells the writer thread about new connections.
    mail: Sender<Post>,
    stopping: Arc<AtomicBool>,
    live: Arc<AtomicUsize>,
    /// Connection ids, shared with the web acceptor so that none is used twice.
    ids: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
}

impl Acceptor {
    /// An acceptor for another listener, feeding the same dispatcher and writer.
    fn sibling(&self, listener: TcpListener, door: Door) -> Acceptor {
        Acceptor {
            listener,
            door,
            config: self.config.clone(),
            inputs: self.inputs.clone(),
            mail: self.mail.clone(),
            stopping: Arc::clone(&self.stopping),
            live: Arc::clone(&self.live),
            ids: Arc::clone(&self.ids),
            threads: Vec::new(),
        }
    }

    /// Accepts connections until the server stops.
    fn accept_all(&mut self) {
        let mut accepted_count: u64 = 0;
        loop {
            // accept(2): blocks until a handshake completes; a new socket per client.
            let accepted = self.listener.accept();
            if self.stopping.load(Ordering::Acquire) {
                break;
            }
            match accepted {
                Ok((stream, peer)) => {
                    let id = next_id(&self.ids);
                    debug!("accept() -> conn {id} from {peer} ({:?})", self.door);
                    self.admit(id, stream, peer);
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    warn!("accept() failed: {e}");
                    thread::sleep(Duration::from_millis(20));
                }
            }
            accepted_count += 1;
            if accepted_count.is_multiple_of(256) {
                self.threads.retain(|t| !t.is_finished());
            }
        }
    }

    /// Accepts until stopped, then stops the dispatcher and joins every
    /// thread, the other acceptors' (`web`, `doors`) and their readers too.
    fn run(
        mut self,
        workers: [JoinHandle<()>; 2],
        writer: JoinHandle<()>,
        web: Option<JoinHandle<Vec<JoinHandle<()>>>>,
        doors: Vec<JoinHandle<Vec<JoinHandle<()>>>>,
    ) -> usize {
        self.accept_all();
        info!("stopping: no longer accepting");
        for door in doors {
            match door.join() {
                Ok(threads) => self.threads.extend(threads),
                Err(_) => error!("an acceptor thread panicked"),
            }
        }
        // The web acceptor stops too (Stopper::stop woke it); its connections
        // that became chat clients end like ours, when the dispatcher says BYE.
        if let Some(web) = web {
            match web.join() {
                Ok(threads) => self.threads.extend(threads),
                Err(_) => error!("the web acceptor thread panicked"),
            }
        }
        let _ = self.inputs.send(Input::Shutdown);
        drop(self.inputs);
        // The dispatcher first; the password worker ends when it has gone.
        for worker in workers {
            if worker.join().is_err() {
                error!("a worker thread panicked");
            }
        }
        // With the dispatcher gone, only we hold a mail sender: the writer
        // finishes the last lines (the BYEs) and returns.
        drop(self.mail);
        if writer.join().is_err() {
            error!("the writer thread panicked");
        }
        let joined = self.threads.len();
        for t in self.threads {
            let _ = t.join();
        }
        info!("stopped: joined {joined} connection threads");
        joined
    }

    /// Starts a connection's threads, or turns it away when the server is full.
    fn admit(&mut self, id: ConnId, stream: TcpStream, peer: SocketAddr) {
        if !reserve(&self.live, self.config.max_clients) {
            warn!("conn {id} from {peer} refused: server full");
            refuse_full(stream, self.door, self.config.max_clients);
            return;
        }
        if let Err(e) = tune(&stream, &self.config) {
            warn!("conn {id} from {peer}: cannot set socket options: {e}");
        }
        let socket = Arc::new(stream);
        let opened = register(
            id,
            peer,
            &socket,
            (self.door, Framing::Raw),
            self.config.send_queue,
            &self.mail,
            &self.inputs,
        );
        if opened.is_none() {
            self.live.fetch_sub(1, Ordering::AcqRel);
            return;
        }
        match connection::spawn(
            id,
            socket,
            self.inputs.clone(),
            Reading {
                door: self.door,
                flood: self.config.flood,
                ping_after: self.config.irc_ping,
            },
            Arc::clone(&self.live),
        ) {
            Ok(thread) => self.threads.push(thread),
            Err(e) => {
                error!("conn {id} from {peer}: cannot start its threads: {e}");
                self.live.fetch_sub(1, Ordering::AcqRel);
                let _ = self.inputs.send(Input::Disconnect {
                    id,
                    reason: "server out of threads".into(),
                });
            }
        }
    }
}

/// Introduces a new connection to the writer (`Post::Open`, with how to frame
/// its lines) and to the dispatcher (`Input::Connect`, which says WELCOME to
/// CHAT/1 clients); `door` is the protocol it speaks. Returns its outbox, or
/// `None` when the server is stopping.
pub(crate) fn register(
    id: ConnId,
    peer: SocketAddr,
    socket: &Arc<TcpStream>,
    (door, framing): (Door, Framing),
    send_queue: usize,
    mail: &Sender<Post>,
    inputs: &Sender<Input>,
) -> Option<outbox::Outbox> {
    let (outbox, inbox) = outbox::queue_for(id, door, send_queue, mail.clone());
    let open = Post::Open {
        id,
        inbox,
        socket: Arc::clone(socket),
        framing,
    };
    mail.send(open).ok()?;
    let connect = Input::Connect {
        id,
        peer,
        outbox: outbox.clone(),
        socket: Some(Arc::clone(socket)),
    };
    inputs.send(connect).ok()?;
    Some(outbox)
}

/// The next connection id (ids start at 1 and are never reused).
pub(crate) fn next_id(ids: &AtomicU64) -> ConnId {
    ids.fetch_add(1, Ordering::AcqRel) + 1
}

/// Counts one more live connection unless `max` are live already; false: full.
pub(crate) fn reserve(live: &AtomicUsize, max: usize) -> bool {
    live.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
        (n < max).then_some(n + 1)
    })
    .is_ok()
}

/// Socket options of an accepted connection.
pub(crate) fn tune(stream: &TcpStream, config: &Config) -> io::Result<()> {
    // Lines are batched by the writer already; Nagle's delay would only add latency.
    stream.set_nodelay(true)?;
    // Keepalive probes find peers that vanished without a FIN or RST.
    let keepalive = TcpKeepalive::new()
        .with_time(config.keepalive)
        .with_interval(Duration::from_secs(10))
        .with_retries(3);
    SockRef::from(stream).set_tcp_keepalive(&keepalive)
}

/// The two lines that turn a client away when the server is full.
pub(crate) fn full_lines(max: usize) -> [Vec<u8>; 2] {
    [
        codec::encode(&Event::Err {
            code: ErrCode::ServerFull,
            text: &format!("the server holds at most {max} clients; try again later"),
        }),
        codec::encode(&Event::Bye {
            text: "server full",
        }),
    ]
}

/// Tells a client the server is full, then closes.
fn refuse_full(mut stream: TcpStream, door: Door, max: usize) {
    let out = match door {
        Door::Chat => full_lines(max).concat(),
        Door::Irc => format!(
            "ERROR :Closing link: the server holds at most {max} clients; try again later\r\n"
        )
        .into_bytes(),
    };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    // send(2), then shutdown(2): the client reads both lines, then EOF.
    let _ = stream.write_all(&out);
    let _ = stream.shutdown(Shutdown::Both);
}
