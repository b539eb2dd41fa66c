//! The web front door: an HTTP listener that serves the web client (a static
//! page embedded in the binary) and a WebSocket endpoint, `/ws`, that carries
//! CHAT/1 lines, one per text frame, into the same dispatcher as TCP clients.
//!
//! One thread per HTTP connection, like the TCP readers, and like them it
//! holds a place under `--max-clients` and `--max-per-ip` from `accept` on,
//! so that connections that never finish their request cannot multiply
//! threads. A connection that upgrades to a WebSocket becomes an ordinary
//! Sala connection in the same thread: it gets an outbox, and its lines go
//! out through the one writer thread, framed there ([`crate::net::outbox::Framing`]).
//! A refused connection is answered by a short-lived thread (at most
//! [`MAX_REFUSING`] at once) that reads its request, so that a WebSocket
//! learns `SERVER_FULL` in its own words, or at once when those are busy.

mod files;
pub mod http;
mod socket;

use super::admit::{Admission, Door, Place, Refused, turn_away};
use super::reader::{Farewell, STACK_SIZE, TLS_STACK_SIZE};
use crate::dispatch::files::Shelf;
use crate::ids::Protocol;
use crate::net::flood::FloodLimit;
use crate::net::outbox::{Framing, Item};
use crate::net::tls::{self, Link, Wake};
use crate::net::writer;
use crate::proto::chat1;
use http::{Head, Route};
use log::{debug, info, warn};
use parking_lot::Mutex;
use rustls::ServerConfig;
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Most refused connections answered at once by a thread that reads their
/// request first; past it, the acceptor answers at once, without reading.
pub const MAX_REFUSING: usize = 16;
/// How long a refused connection has to send its request head.
const REFUSE_TIME: Duration = Duration::from_secs(2);

/// Sockets of HTTP connections still in their request: nobody else knows
/// them, so the web door shuts them down itself when the server stops.
type Pending = Arc<Mutex<HashMap<u64, Arc<TcpStream>>>>;

/// The web door's acceptor state.
#[derive(Debug)]
pub struct WebDoor {
    /// Per-connection flood control of the WebSocket connections.
    pub flood: FloodLimit,
    pending: Pending,
    seq: u64,
    /// Threads answering refused connections right now.
    refusing: Arc<AtomicUsize>,
    /// TLS: HTTPS and WSS instead of HTTP and WS.
    tls: Option<Arc<ServerConfig>>,
    /// Shared files: uploads and downloads; `None`: not served.
    files: Option<Arc<Shelf>>,
}

impl WebDoor {
    /// The web door, with `flood` for its WebSocket connections.
    pub fn new(flood: FloodLimit) -> WebDoor {
        WebDoor {
            flood,
            pending: Pending::default(),
            seq: 0,
            refusing: Arc::default(),
            tls: None,
            files: None,
        }
    }

    /// The same door serving uploads and downloads of the files on `shelf`.
    #[must_use]
    pub fn with_files(mut self, shelf: Option<Arc<Shelf>>) -> WebDoor {
        self.files = shelf;
        self
    }

    /// The same door serving HTTPS and WSS only, with `config`.
    #[must_use]
    pub fn with_tls(mut self, config: Option<Arc<ServerConfig>>) -> WebDoor {
        self.tls = config;
        self
    }

    /// Answers a connection that has no place: from a thread that reads its
    /// request first (a WebSocket gets `101` and `SERVER_FULL` as frames), or,
    /// when [`MAX_REFUSING`] such threads are busy, at once.
    fn refuse(
        &mut self,
        stream: TcpStream,
        (seq, peer): (u64, SocketAddr),
        why: Refused,
        max_clients: usize,
    ) -> Option<JoinHandle<()>> {
        warn!("web {seq} from {peer} refused: {why:?}");
        if self.tls.is_some() {
            // An HTTPS client could not read a plain answer: it is just closed.
            turn_away(stream, &[]);
            return None;
        }
        let free = self
            .refusing
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_REFUSING).then_some(n + 1)
            })
            .is_ok();
        if !free {
            turn_away(stream, &http::rejection(unread(why)));
            return None;
        }
        let socket = Arc::new(stream);
        self.pending.lock().insert(seq, Arc::clone(&socket));
        let refusal = Refusal {
            socket,
            peer,
            why,
            max_clients,
            pending: Arc::clone(&self.pending),
            key: seq,
            refusing: Arc::clone(&self.refusing),
        };
        match thread::Builder::new()
            .name(format!("web-refuse{seq}"))
            .stack_size(STACK_SIZE)
            .spawn(move || refusal.run())
        {
            Ok(thread) => Some(thread),
            // The refusal was dropped with the closure: its socket closes.
            Err(e) => {
                warn!("web {seq} from {peer}: cannot start a thread to refuse it: {e}");
                None
            }
        }
    }
}

/// The answer to a refused connection whose request is not read.
fn unread(why: Refused) -> &'static http::Rejection {
    match why {
        Refused::Full => &http::FULL,
        Refused::TooManyFromHost => &http::TOO_MANY,
    }
}

impl Door for WebDoor {
    /// Each HTTP connection gets its own thread; it becomes a chat connection
    /// only if it upgrades to a WebSocket.
    fn arrive(
        &mut self,
        stream: TcpStream,
        peer: SocketAddr,
        admission: &Admission,
    ) -> Option<JoinHandle<()>> {
        let accepted = Instant::now();
        self.seq += 1;
        let seq = self.seq;
        debug!("accept() -> web {seq} from {peer}");
        let place = match admission.reserve(peer.ip()) {
            Ok(place) => place,
            Err(why) => return self.refuse(stream, (seq, peer), why, admission.limits.max_clients),
        };
        let socket = Arc::new(stream);
        self.pending.lock().insert(seq, Arc::clone(&socket));
        let visit = Visit {
            admission: admission.clone(),
            flood: self.flood,
            tls: self.tls.clone(),
            files: self.files.clone(),
            socket,
            peer,
            pending: Arc::clone(&self.pending),
            key: seq,
            place,
            accepted,
        };
        let stack = if self.tls.is_some() {
            TLS_STACK_SIZE
        } else {
            STACK_SIZE
        };
        match thread::Builder::new()
            .name(format!("web{seq}"))
            .stack_size(stack)
            .spawn(move || visit.run())
        {
            Ok(thread) => Some(thread),
            Err(e) => {
                warn!("web {seq} from {peer}: cannot start its thread: {e}");
                self.pending.lock().remove(&seq);
                None
            }
        }
    }

    fn close(&mut self) {
        let waiting: Vec<Arc<TcpStream>> = self.pending.lock().values().cloned().collect();
        for socket in waiting {
            // shutdown(2): a thread still waiting for a request head reads 0 bytes and ends.
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

/// One HTTP connection, in its own thread.
struct Visit {
    admission: Admission,
    flood: FloodLimit,
    tls: Option<Arc<ServerConfig>>,
    files: Option<Arc<Shelf>>,
    socket: Arc<TcpStream>,
    peer: SocketAddr,
    pending: Pending,
    key: u64,
    /// Its place under the limits, from `accept` on.
    place: Place,
    /// When it was accepted: its request head, and as a WebSocket its first
    /// message, must come within their time from then.
    accepted: Instant,
}

impl Visit {
    fn run(self) {
        let socket = Arc::clone(&self.socket);
        let peer = self.peer;
        let _ = socket.set_write_timeout(Some(http::HEAD_TIMEOUT));
        // The whole head within its time, however slowly its bytes come.
        let login = self.admission.limits.login_timeout;
        let head_by = self.accepted + http::HEAD_TIMEOUT.min(login);
        // HTTPS: the handshake first, within the same time as the head.
        let link = match &self.tls {
            None => Link::Plain(socket),
            Some(config) => {
                match tls::handshake(config, (&format!("web {}", self.key), &socket), head_by) {
                    Ok(conn) => {
                        tls::shed_stack();
                        Link::secure(socket, conn)
                    }
                    Err(e) => {
                        debug!("web {peer}: no TLS handshake: {e}");
                        self.leave();
                        return;
                    }
                }
            }
        };
        let head = match http::read_head(&mut http::Deadline::new(&link, head_by)) {
            Ok(head) => head,
            Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
                info!("web {peer}: no whole request head in time");
                return self.answer(&link, &http::rejection(&http::TIMEOUT), "408");
            }
            Err(e) => {
                debug!("web {peer}: no request: {e}");
                self.leave();
                return;
            }
        };
        let (request, rest) = match head {
            Head::Request(request, rest) => (request, rest),
            Head::Closed => {
                self.leave();
                return;
            }
            Head::TooLarge => return self.answer(&link, &http::rejection(&http::TOO_LARGE), "431"),
            Head::Bad => return self.answer(&link, &http::rejection(&http::BAD_REQUEST), "400"),
        };
        let what = format!("{} {}", request.method, request.path);
        match http::route(&request) {
            Route::Page(asset) => {
                self.answer(&link, &http::page(asset, &request), &format!("{what} 200"))
            }
            Route::Upload(token) => {
                let Some(shelf) = self.files.clone() else {
                    return self.answer(&link, &http::rejection(&http::NOT_FOUND), &what);
                };
                let inputs = self.admission.inputs.clone();
                let status = files::upload(&link, &request, rest, &token, (&shelf, &inputs));
                self.answer(&link, &[], &format!("{what} {status}"));
            }
            Route::Download(id) => {
                let Some(shelf) = self.files.clone() else {
                    return self.answer(&link, &http::rejection(&http::NOT_FOUND), &what);
                };
                let status = files::download(&link, &request, &id, &shelf);
                self.answer(&link, &[], &format!("{what} {status}"));
            }
            Route::NotFound => self.answer(
                &link,
                &http::rejection(&http::NOT_FOUND),
                &format!("{what} 404"),
            ),
            Route::NotAllowed => {
                self.answer(
                    &link,
                    &http::rejection(&http::NOT_ALLOWED),
                    &format!("{what} 405"),
                );
            }
            Route::WebSocket => match http::accept_key(&request) {
                Err(refused) => {
                    info!(
                        "web {peer}: WebSocket refused ({} {}): {}",
                        refused.status, refused.reason, refused.text
                    );
                    self.answer(
                        &link,
                        &http::rejection(&refused),
                        &format!("{what} {}", refused.status),
                    );
                }
                Ok(accept) => self.upgrade(link, &accept, rest),
            },
        }
    }

    /// Sends a whole HTTP answer and closes.
    fn answer(self, link: &Link, bytes: &[u8], what: &str) {
        debug!("web {}: {what}", self.peer);
        // send(2): the answer, in as many calls as the kernel needs.
        let _ = (&*link).write_all(bytes);
        link.close_notify();
        linger_close(link.socket());
        self.leave();
    }

    /// Forgets this connection in the pending table.
    fn leave(&self) {
        self.pending.lock().remove(&self.key);
    }

    /// The handshake is good: answer 101, then serve CHAT/1 over the WebSocket.
    fn upgrade(self, link: Link, accept: &str, rest: Vec<u8>) {
        // From here the dispatcher shuts the socket down when it must stop it.
        self.leave();
        let Visit {
            admission,
            flood,
            peer,
            place,
            accepted,
            ..
        } = self;
        // send(2): the 101 goes out before the writer knows the socket, so before WELCOME.
        let socket = Arc::clone(link.socket());
        if let Err(e) = (&link).write_all(&http::switching(accept)) {
            debug!("web {peer}: cannot answer the handshake: {e}");
            return;
        }
        let _ = socket.set_read_timeout(None);
        let _ = socket.set_write_timeout(None);
        let id = admission.next_id();
        info!("conn {id} from {peer}: WebSocket");
        let Some(outbox) = admission.admit(id, peer, &link, (Protocol::Chat, Framing::WebSocket))
        else {
            return;
        };
        let mail = admission.mail.clone();
        let link = link.waking(Wake { id, mail });
        let mut farewell = Farewell::new(id, admission.inputs.clone(), place);
        // The server began to stop while we upgraded: the dispatcher may have
        // said its goodbyes before our Connect arrived, so stop reading ourselves.
        if admission.is_stopping() {
            let _ = socket.shutdown(Shutdown::Read);
        }
        let limit = admission.limits.login_timeout;
        let login = (accepted + limit, limit);
        let (inputs, rest) = (&farewell.inputs, (rest, flood));
        farewell.reason = socket::read_loop(id, &link, outbox, inputs, rest, login);
    }
}

/// A connection refused at `accept`, in its own short-lived thread: it reads
/// the request (for at most [`REFUSE_TIME`]) and answers it.
struct Refusal {
    socket: Arc<TcpStream>,
    peer: SocketAddr,
    why: Refused,
    max_clients: usize,
    pending: Pending,
    key: u64,
    refusing: Arc<AtomicUsize>,
}

impl Refusal {
    fn run(self) {
        let until = Instant::now() + REFUSE_TIME;
        let link = Link::Plain(Arc::clone(&self.socket));
        let head = http::read_head(&mut http::Deadline::new(&link, until));
        let websocket = match (&head, self.why) {
            (Ok(Head::Request(request, _)), Refused::Full)
                if http::route(request) == Route::WebSocket =>
            {
                Some(http::accept_key(request))
            }
            _ => None,
        };
        let answer = match websocket {
            // A WebSocket client learns why in its own words.
            Some(Ok(accept)) => {
                let mut out = http::switching(&accept);
                let full = Item::Event(chat1::server_full(self.max_clients).into());
                writer::put(&mut out, &full, Framing::WebSocket);
                writer::close_frame(&mut out);
                out
            }
            Some(Err(refused)) => http::rejection(&refused),
            None => http::rejection(unread(self.why)),
        };
        debug!("web {}: refused ({:?})", self.peer, self.why);
        let _ = self.socket.set_write_timeout(Some(REFUSE_TIME));
        // send(2): the answer, in as many calls as the kernel needs.
        let _ = (&*self.socket).write_all(&answer);
        linger_close(&self.socket);
    }
}

impl Drop for Refusal {
    fn drop(&mut self) {
        self.pending.lock().remove(&self.key);
        self.refusing.fetch_sub(1, Ordering::AcqRel);
    }
}

/// shutdown(2) of the sending side, then reads (briefly) what the client
/// still sends, so that closing does not reset the connection and destroy the
/// answer before the client has read it.
fn linger_close(socket: &TcpStream) {
    let _ = socket.shutdown(Shutdown::Write);
    let _ = socket.set_read_timeout(Some(Duration::from_millis(500)));
    let mut sink = [0u8; 1024];
    let mut left: usize = 64 * 1024;
    while left > 0 {
        match (&*socket).read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}
