//! The server as a whole: its [`Config`] (the one home of every default), and
//! [`Server`], which binds the listeners, starts the dispatcher, the password
//! workers, the writer and one acceptor per door, and at the end joins them all.

use crate::chat::Chat;
use crate::dispatch::files::{FileLimits, Shelf};
use crate::dispatch::{Dispatcher, Input, Routes, Settings};
use crate::doors::admit::{self, Admission, Door, Handshakes, Limits};
use crate::doors::chat1::Chat1Door;
use crate::doors::irc::IrcDoor;
use crate::doors::web::WebDoor;
use crate::net::flood::FloodLimit;
use crate::net::listen::listen;
use crate::net::shutdown::Stopper;
use crate::net::tls::{self, Certificates, KeyFiles};
use crate::net::writer::Writer;
use crate::store::files::Blobs;
use crate::store::sqlite::SqliteStore;
use crate::store::{MemoryStore, Store};
use log::{error, info};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Everything the server can be told at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// CHAT/1 in plain text on `listen`; false (`--listen off`): CHAT/1 over
    /// TLS only, and `listen` only names the host of the TLS port's default.
    pub plain_chat: bool,
    /// Address of the IRC front door, if open.
    pub irc_listen: Option<SocketAddr>,
    /// An IRC client quiet this long gets a `PING`; quiet as long again, it is dropped.
    pub irc_ping: Duration,
    /// Address of the web client's HTTP and WebSocket listener; `None`: no web client.
    pub web_listen: Option<SocketAddr>,
    /// Queue of connections the kernel completes before we `accept` them.
    pub backlog: i32,
    /// Most connections at once, across every door, HTTP connections still
    /// in their request included; the next one gets `ERR SERVER_FULL` and `BYE`
    /// (HTTP: 503).
    pub max_clients: usize,
    /// Most connections from one source address at once, across every door;
    /// the next one gets `ERR TOO_MANY_CONNECTIONS` (HTTP: 429). 0: no limit.
    pub max_per_ip: usize,
    /// Most rooms at once.
    pub max_rooms: usize,
    /// Most rooms one account or guest may own at once (0: no such limit).
    pub max_rooms_per_user: usize,
    /// Accounts whose logged-in users are server admins: operators of
    /// every room, able to delete any room and disconnect users.
    pub admins: Vec<String>,
    /// The password the admin accounts that do not exist yet are created with at start.
    pub admin_password: Option<String>,
    /// An account's room with no member and no message for this long is
    /// removed with its history (zero: never).
    pub room_expiry: Duration,
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
    /// How long a connection may take to log in (CHAT/1: its first command;
    /// IRC: registration; web: the WebSocket upgrade and its first message)
    /// before it is told goodbye and closed.
    pub login_timeout: Duration,
    /// Threads hashing and checking passwords and room keys (Argon2).
    pub password_threads: usize,
    /// Password and key checks waiting for a thread; past it a login, a
    /// registration or a locked JOIN is refused as busy, never waited for.
    pub password_queue: usize,
    /// The server's name on IRC, in every prefix and numeric; `None`: the
    /// host name ([`Config::server_name`]).
    pub server_name: Option<String>,
    /// TLS: the certificate (PEM) to serve; with [`Config::tls_key`], turns TLS on.
    pub tls_cert: Option<PathBuf>,
    /// TLS: the certificate's private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// TLS with a self-signed certificate kept in the data directory (made
    /// on the first start for [`Config::tls_names`]), when no `tls_cert` is given.
    pub tls_self_signed: bool,
    /// Names (and addresses) of a self-signed certificate; empty: `localhost`
    /// and the listen address.
    pub tls_names: Vec<String>,
    /// Where a self-signed certificate is kept; `None`: the data directory.
    /// (The binary names its `--data-dir`, used for this even with `--no-persist`.)
    pub tls_dir: Option<PathBuf>,
    /// With TLS on: where CHAT/1 over TLS is served.
    pub tls_listen: Option<SocketAddr>,
    /// With TLS on: where IRC over TLS is served, if anywhere.
    pub irc_tls_listen: Option<SocketAddr>,
    /// Where shared files' bytes are kept; `None`: `files` in the data
    /// directory, or without one a temporary directory removed at the end.
    pub files_dir: Option<PathBuf>,
    /// Largest file one may share, in bytes.
    pub max_file_size: u64,
    /// Most bytes one user's shared files may take.
    pub user_files_quota: u64,
    /// Most bytes all shared files may take on disk.
    pub files_quota: u64,
    /// Shared files are removed this long after their upload (zero: never).
    pub file_retention: Duration,
    /// The web door's address as users reach it (`https://chat.example`),
    /// for upload and download links; `None`: made from `--web-listen`.
    pub public_url: Option<String>,
}

impl Config {
    /// Every default, in one place: the server binary's flags show and use these.
    pub const DEFAULT: Config = Config {
        listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 44765),
        plain_chat: true,
        irc_listen: None,
        irc_ping: Duration::from_secs(120),
        web_listen: None,
        backlog: 1024,
        max_clients: 10_000,
        max_per_ip: 64,
        max_rooms: 1000,
        max_rooms_per_user: 10,
        admins: Vec::new(),
        admin_password: None,
        room_expiry: Duration::from_secs(30 * 86_400),
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
        login_timeout: Duration::from_secs(30),
        password_threads: 2,
        password_queue: 16,
        server_name: None,
        tls_cert: None,
        tls_key: None,
        tls_self_signed: false,
        tls_names: Vec::new(),
        tls_dir: None,
        tls_listen: None,
        irc_tls_listen: None,
        files_dir: None,
        max_file_size: 25 * 1024 * 1024,
        user_files_quota: 200 * 1024 * 1024,
        files_quota: 1024 * 1024 * 1024,
        file_retention: Duration::from_secs(30 * 86_400),
        public_url: None,
    };

    /// The server's name on IRC when none was given and the host name is
    /// unknown or not a valid one.
    pub const SERVER_NAME: &str = "sala";

    /// The server's name on IRC: the one given, else the host name
    /// (gethostname(2)), else [`Config::SERVER_NAME`].
    pub fn server_name(&self) -> String {
        if let Some(name) = &self.server_name {
            return name.clone();
        }
        host_name()
            .filter(|h| crate::proto::irc::is_valid_server_name(h))
            .unwrap_or_else(|| Config::SERVER_NAME.to_string())
    }

    /// The CHAT/1 over TLS port when none is named: beside the chat port.
    pub const TLS_PORT: u16 = 44766;

    /// The TLS listener's address when none is named: [`Config::TLS_PORT`]
    /// on the host of `listen`, or a free port when `listen` asks for one.
    pub fn tls_beside(listen: SocketAddr) -> SocketAddr {
        let port = if listen.port() == 0 {
            0
        } else {
            Config::TLS_PORT
        };
        SocketAddr::new(listen.ip(), port)
    }

    /// True when TLS is asked for (a certificate, or a self-signed one).
    pub fn tls_on(&self) -> bool {
        self.tls_cert.is_some() || self.tls_self_signed
    }

    /// The certificate and key files TLS is to use, making a self-signed
    /// certificate first if that is what is asked; `None`: TLS is off.
    ///
    /// # Errors
    /// Only one of `tls_cert` and `tls_key` is given, a self-signed
    /// certificate has no data directory to live in, or it cannot be made.
    pub fn tls_files(&self) -> crate::Result<Option<KeyFiles>> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some(KeyFiles {
                cert: cert.clone(),
                key: key.clone(),
            })),
            (Some(_), None) | (None, Some(_)) => Err(crate::Error::Tls(
                "--tls-cert and --tls-key go together".into(),
            )),
            (None, None) if self.tls_self_signed => {
                let Some(dir) = self.tls_dir.as_ref().or(self.data_dir.as_ref()) else {
                    return Err(crate::Error::Tls(
                        "--tls-self-signed keeps its certificate in a directory: name one".into(),
                    ));
                };
                let mut names = self.tls_names.clone();
                if names.is_empty() {
                    names.push("localhost".into());
                    let host = self.listen.ip();
                    names.push(if host.is_unspecified() {
                        "127.0.0.1".into()
                    } else {
                        host.to_string()
                    });
                }
                tls::self_signed(dir, &names).map(Some)
            }
            (None, None) => Ok(None),
        }
    }

    /// The data directory of the server binary when none is named.
    pub const DATA_DIR: &str = "sala-data";

    /// The web client's port when none is named: beside the chat port.
    pub const WEB_PORT: u16 = 8080;

    /// The web listener's address when none is named: [`Config::WEB_PORT`]
    /// on the host of `listen`, or a free port when `listen` asks for one
    /// (port 0: tests and scripts).
    pub fn web_beside(listen: SocketAddr) -> SocketAddr {
        let port = if listen.port() == 0 {
            0
        } else {
            Config::WEB_PORT
        };
        SocketAddr::new(listen.ip(), port)
    }
}

impl Config {
    /// The web door's address for links: [`Config::public_url`], else
    /// `http(s)://` and the web listener's address (the host name instead
    /// of an unspecified address).
    pub fn files_url(&self, web: SocketAddr, tls: bool) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_string();
        }
        let scheme = if tls { "https" } else { "http" };
        if web.ip().is_unspecified() {
            let host = host_name().unwrap_or_else(|| "localhost".into());
            return format!("{scheme}://{host}:{}", web.port());
        }
        format!("{scheme}://{web}")
    }
}

impl Default for Config {
    fn default() -> Config {
        Config::DEFAULT
    }
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    web_addr: Option<SocketAddr>,
    irc_addr: Option<SocketAddr>,
    tls_addr: Option<SocketAddr>,
    irc_tls_addr: Option<SocketAddr>,
    certificates: Option<Arc<Certificates>>,
    stopper: Stopper,
    acceptor: Option<JoinHandle<Stopped>>,
    routes: Arc<Routes>,
    live: Arc<AtomicUsize>,
}

impl Server {
    /// Binds the listening sockets and starts every thread: the dispatcher,
    /// the password workers, the writer, and an acceptor per door.
    ///
    /// # Errors
    /// An address cannot be bound, the store cannot be opened, or a thread
    /// cannot be started.
    pub fn start(config: Config) -> crate::Result<Server> {
        let plain = if config.plain_chat {
            let (listener, addr) = listen_named("--listen", config.listen, config.backlog)?;
            info!("listening on {addr}");
            Some((listener, addr))
        } else {
            None
        };
        let (web_listener, web_addr) =
            listen_if("--web-listen", config.web_listen, config.backlog)?;

        let (irc_listener, irc_addr) =
            listen_if("--irc-listen", config.irc_listen, config.backlog)?;
        if let Some(addr) = irc_addr {
            info!("IRC front door open on {addr}");
        }
        let certificates = config.tls_files()?.map(Certificates::load).transpose()?;
        let tls = certificates
            .as_ref()
            .map(Certificates::server_config)
            .transpose()?;
        let on = |addr: Option<SocketAddr>| addr.filter(|_| tls.is_some());
        let (tls_listener, tls_addr) =
            listen_if("--tls-listen", on(config.tls_listen), config.backlog)?;
        let (irc_tls_listener, irc_tls_addr) = listen_if(
            "--irc-tls-listen",
            on(config.irc_tls_listen),
            config.backlog,
        )?;
        if let Some(certificates) = &certificates {
            info!(
                "TLS on; certificate SHA-256 fingerprint {}",
                certificates.fingerprint()
            );
        }
        if let Some(addr) = web_addr {
            let scheme = if tls.is_some() { "https" } else { "http" };
            info!("web client on {scheme}://{addr}/");
        }
        if let Some(addr) = tls_addr {
            info!("CHAT/1 over TLS on {addr}");
        }
        if let Some(addr) = irc_tls_addr {
            info!("IRC over TLS on {addr}");
        }
        // The CHAT/1 acceptor that supervises: the plain one, or with
        // `--listen off` the TLS one.
        let (listener, local_addr, tls_listener, tls_main) = match (plain, tls_listener, tls_addr) {
            (Some((listener, addr)), tls_listener, _) => (listener, addr, tls_listener, false),
            (None, Some(listener), Some(addr)) => (listener, addr, None, true),
            (None, _, _) => {
                return Err(crate::Error::Tls(
                    "--listen off leaves no CHAT/1 door: turn TLS on (--tls-cert or --tls-self-signed)".into(),
                ));
            }
        };
        let mut store: Box<dyn Store> = match &config.data_dir {
            Some(dir) => Box::new(SqliteStore::open(dir)?),
            None => Box::new(MemoryStore::new(config.history)),
        };
        create_admins(store.as_mut(), &config)?;
        let routes = Arc::new(Routes::default());
        let (inputs, queue) = crossbeam_channel::bounded(config.input_queue);
        let (jobs, work) = crossbeam_channel::bounded(config.password_queue.max(1));
        let mut chat = Chat::new(config.max_rooms, config.max_rooms_per_user);
        chat.set_admins(&config.admins);
        let mut dispatcher = Dispatcher::new(
            chat,
            store,
            Arc::clone(&routes),
            Settings {
                welcome: "Welcome to Sala (CHAT/1). Type NICK <name>, then JOIN <room>.".into(),
                inbox_cap: config.inbox_cap,
                room_expiry: config.room_expiry,
                server_name: config.server_name(),
            },
            Some(jobs),
        )?;
        // The acceptors are woken in this order; the CHAT/1 one, which joins the rest, last.
        let stopper = Stopper::new(
            web_addr
                .into_iter()
                .chain(irc_addr)
                .chain(tls_addr.filter(|_| !tls_main))
                .chain(irc_tls_addr)
                .chain([local_addr]),
        );
        dispatcher.stop_on_failure(stopper.clone());
        let (shelf, scratch) = match web_addr {
            Some(web) => {
                let (dir, scratch) = files_dir(&config)?;
                let limits = FileLimits {
                    max_file_size: config.max_file_size,
                    user_quota: config.user_files_quota,
                    total_quota: config.files_quota,
                    retention: config.file_retention,
                    base_url: config.files_url(web, tls.is_some()),
                };
                let shelf = Arc::new(Shelf::new(Blobs::open(&dir)?, limits));
                dispatcher.with_files(Arc::clone(&shelf))?;
                info!("shared files kept in {}", dir.display());
                (Some(shelf), scratch)
            }
            None => (None, None),
        };
        let mut passwords = Vec::new();
        for n in 0..config.password_threads.max(1) {
            let (work, answers) = (work.clone(), inputs.clone());
            passwords.push(
                thread::Builder::new()
                    .name(format!("passwords{n}"))
                    .spawn(move || crate::dispatch::accounts::work(&work, &answers))?,
            );
        }
        drop(work);
        let dispatcher = thread::Builder::new()
            .name("dispatcher".into())
            .spawn(move || dispatcher.run(&queue))?;
        let (mail, posts) = crossbeam_channel::unbounded();
        let writer = Writer::new(posts, config.send_timeout);
        let writer = thread::Builder::new()
            .name("writer".into())
            .spawn(move || writer.run())?;
        let admission = Admission::new(
            inputs,
            mail,
            stopper.flag(),
            Limits {
                max_clients: config.max_clients,
                max_per_ip: config.max_per_ip,
                send_queue: config.send_queue,
                send_timeout: config.send_timeout,
                keepalive: config.keepalive,
                login_timeout: config.login_timeout,
            },
        );
        let live = Arc::clone(&admission.live);
        let mut doors = Vec::new();
        if let Some(listener) = web_listener {
            let door = WebDoor::new(config.flood)
                .with_tls(tls.clone())
                .with_files(shelf);
            doors.push(acceptor("web", listener, door, &admission)?);
        }
        let irc = IrcDoor {
            flood: config.flood,
            ping_after: config.irc_ping,
            tls: None,
        };
        let handshakes = tls.map(Handshakes::new);
        let chat1 = Chat1Door {
            flood: config.flood,
            tls: handshakes.clone().filter(|_| tls_main),
        };
        if let Some(listener) = irc_listener {
            doors.push(acceptor("irc-acceptor", listener, irc.clone(), &admission)?);
        }
        if let Some(listener) = irc_tls_listener {
            let door = IrcDoor {
                tls: handshakes.clone(),
                ..irc
            };
            doors.push(acceptor("irc-tls-acceptor", listener, door, &admission)?);
        }
        if let Some(listener) = tls_listener {
            let door = Chat1Door {
                tls: handshakes,
                ..chat1.clone()
            };
            doors.push(acceptor("tls-acceptor", listener, door, &admission)?);
        }
        let supervisor = Supervisor {
            admission,
            dispatcher,
            passwords,
            writer,
            doors,
            scratch,
        };
        let acceptor = thread::Builder::new()
            .name("acceptor".into())
            .spawn(move || supervisor.run(&listener, chat1))?;
        Ok(Server {
            local_addr,
            web_addr,
            irc_addr,
            tls_addr,
            irc_tls_addr,
            certificates,
            stopper,
            acceptor: Some(acceptor),
            routes,
            live,
        })
    }

    /// The address the server listens on for CHAT/1 (with the real port
    /// when 0 was asked): in plain text, or over TLS with `--listen off`.
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

    /// The address of CHAT/1 over TLS, if TLS is on.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// The address of IRC over TLS, if it is open.
    pub fn irc_tls_addr(&self) -> Option<SocketAddr> {
        self.irc_tls_addr
    }

    /// SHA-256 of the TLS certificate in use, if TLS is on.
    pub fn tls_fingerprint(&self) -> Option<String> {
        self.certificates.as_ref().map(|c| c.fingerprint())
    }

    /// Reads the TLS certificate and key again (SIGHUP): later handshakes
    /// get the new one, open connections keep theirs. Without TLS, nothing.
    ///
    /// # Errors
    /// A file is bad; the certificate in use stays.
    pub fn reload_tls(&self) -> crate::Result<()> {
        self.certificates
            .as_ref()
            .map_or(Ok(()), |certificates| certificates.reload())
    }

    /// The TLS certificates, if TLS is on: a handle that reloads them from
    /// another thread (the binary's SIGHUP watcher).
    pub fn certificates(&self) -> Option<Arc<Certificates>> {
        self.certificates.clone()
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

    /// Blocks until the server has stopped; says how many connection threads
    /// were joined at the end, and the failure that stopped it, if one did.
    pub fn wait(mut self) -> Stopped {
        self.acceptor.take().map_or_else(
            || Stopped {
                joined: 0,
                failure: None,
            },
            |acceptor| {
                acceptor.join().unwrap_or_else(|_| Stopped {
                    joined: 0,
                    failure: Some(panicked("acceptor")),
                })
            },
        )
    }

    /// Stops the server and waits for every thread; returns how many
    /// connection threads were joined.
    pub fn shutdown(self) -> usize {
        self.stopper.stop();
        self.wait().joined
    }
}

/// How a server ended: what [`Server::wait`] returns.
#[derive(Debug)]
pub struct Stopped {
    /// Connection threads joined at the end.
    pub joined: usize,
    /// Why it stopped on its own (the store failed, a thread panicked);
    /// `None` when it was asked to stop. A failure means a non-zero exit status.
    pub failure: Option<crate::Error>,
}

/// The failure of a thread that panicked.
fn panicked(thread: &str) -> crate::Error {
    crate::Error::Io(io::Error::other(format!("the {thread} thread panicked")))
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            self.stopper.stop();
            let _ = acceptor.join();
        }
    }
}

/// A listening socket on `addr`, with the address it got (the real port
/// when 0 was asked); a failure names the listener by its `flag`.
fn listen_named(
    flag: &'static str,
    addr: SocketAddr,
    backlog: i32,
) -> crate::Result<(TcpListener, SocketAddr)> {
    let named = |source| crate::Error::Listen { flag, addr, source };
    let listener = listen(addr, backlog).map_err(named)?;
    let local = listener.local_addr().map_err(named)?;
    Ok((listener, local))
}

/// The machine's host name, if it has one.
fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname(2) writes at most `buf.len()` bytes into `buf`.
    let status = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if status != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).into_owned();
    (!name.is_empty()).then_some(name)
}

/// Where shared files are kept, and whether that is a temporary directory.
fn files_dir(config: &Config) -> crate::Result<(PathBuf, Option<PathBuf>)> {
    if let Some(dir) = config.files_dir.as_ref() {
        return Ok((dir.clone(), None));
    }
    if let Some(dir) = config.data_dir.as_ref() {
        return Ok((dir.join("files"), None));
    }
    let mut raw = [0u8; 8];
    getrandom::fill(&mut raw).map_err(|e| io::Error::other(e.to_string()))?;
    let name: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("sala-files-{name}"));
    Ok((dir.clone(), Some(dir)))
}

/// A second or third listening socket, if its address was given, with the
/// address it got.
fn listen_if(
    flag: &'static str,
    addr: Option<SocketAddr>,
    backlog: i32,
) -> crate::Result<(Option<TcpListener>, Option<SocketAddr>)> {
    let Some(addr) = addr else {
        return Ok((None, None));
    };
    let (listener, local) = listen_named(flag, addr, backlog)?;
    Ok((Some(listener), Some(local)))
}

/// Starts the acceptor thread of a door other than CHAT/1's.
fn acceptor<D: Door>(
    name: &str,
    listener: TcpListener,
    door: D,
    admission: &Admission,
) -> io::Result<JoinHandle<Vec<JoinHandle<()>>>> {
    let admission = admission.clone();
    thread::Builder::new()
        .name(name.into())
        .spawn(move || admit::accept_loop(&listener, door, &admission))
}

/// The CHAT/1 acceptor thread, which also ends the server: once its accept
/// loop stops, it joins the other doors' acceptors, stops the dispatcher,
/// then the writer, and joins every thread.
struct Supervisor {
    admission: Admission,
    /// The dispatcher: an error if it stopped because the store failed.
    dispatcher: JoinHandle<crate::Result<()>>,
    /// The password workers; they end when the dispatcher has gone.
    passwords: Vec<JoinHandle<()>>,
    writer: JoinHandle<()>,
    /// The other doors' acceptors; each returns its connection threads.
    doors: Vec<JoinHandle<Vec<JoinHandle<()>>>>,
    /// A temporary directory of shared files, removed at the end.
    scratch: Option<PathBuf>,
}

impl Supervisor {
    /// Accepts CHAT/1 clients until stopped, then stops everything in order;
    /// says how many connection threads were joined, and why it stopped if
    /// a failure made it.
    fn run(self, listener: &TcpListener, door: Chat1Door) -> Stopped {
        let mut threads = admit::accept_loop(listener, door, &self.admission);
        info!("stopping: no longer accepting");
        // The other acceptors stop too (Stopper::stop woke them); their
        // connections end like ours, when the dispatcher says BYE.
        for door in self.doors {
            match door.join() {
                Ok(more) => threads.extend(more),
                Err(_) => error!("an acceptor thread panicked"),
            }
        }
        let Admission { inputs, mail, .. } = self.admission;
        let _ = inputs.send(Input::Shutdown);
        drop(inputs);
        // The dispatcher first; the password workers end when it has gone.
        let mut failure = match self.dispatcher.join() {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some(panicked("dispatcher")),
        };
        for worker in self.passwords {
            if worker.join().is_err() {
                error!("a password worker thread panicked");
            }
        }
        // With the dispatcher gone, only we hold a mail sender: the writer
        // finishes the last lines (the BYEs) and returns.
        drop(mail);
        if self.writer.join().is_err() {
            error!("the writer thread panicked");
            failure = failure.or_else(|| Some(panicked("writer")));
        }
        let joined = threads.len();
        for t in threads {
            let _ = t.join();
        }
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
        match &failure {
            None => info!("stopped: joined {joined} connection threads"),
            Some(e) => error!("stopped after a failure: {e}; joined {joined} connection threads"),
        }
        Stopped { joined, failure }
    }
}

/// Creates the `--admin` accounts that do not exist yet, with the password
/// of `--admin-password-file`, if one was given.
fn create_admins(store: &mut dyn Store, config: &Config) -> crate::Result<()> {
    let Some(password) = &config.admin_password else {
        return Ok(());
    };
    let existing = store.accounts()?;
    let mut created = false;
    for admin in &config.admins {
        if existing
            .iter()
            .any(|(nick, _)| nick.eq_ignore_ascii_case(admin))
        {
            continue;
        }
        store.save_account(admin, &crate::secret::hash_password(password)?)?;
        log::info!("created the admin account {admin}");
        created = true;
    }
    if created {
        store.commit()?;
    }
    Ok(())
}
