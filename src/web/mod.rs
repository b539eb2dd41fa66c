//! The web front door: an HTTP listener that serves the web client (a static
//! page embedded in the binary) and a WebSocket endpoint, `/ws`, that carries
//! CHAT/1 lines, one per text frame, into the same dispatcher as TCP clients.
//!
//! One thread per HTTP connection, like the TCP readers. A connection that
//! upgrades to a WebSocket becomes an ordinary Sala connection in the same
//! thread: it counts against `--max-clients`, gets an outbox, and its lines go
//! out through the one writer thread, framed there ([`crate::writer::Framing`]).

pub mod http;
mod socket;

use crate::connection::{self, Farewell};
use crate::dispatcher::Input;
use crate::outbox;
use crate::server::{self, Config};
use crate::writer::{self, Framing, Post};
use crossbeam_channel::Sender;
use http::{Head, Route};
use log::{debug, info, warn};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Sockets of HTTP connections still in their request: nobody else knows
/// them, so the web acceptor shuts them down itself when the server stops.
type Pending = Arc<Mutex<HashMap<u64, Arc<TcpStream>>>>;

/// The web acceptor thread's state.
pub struct WebAcceptor {
    pub(crate) listener: TcpListener,
    pub(crate) config: Config,
    pub(crate) inputs: Sender<Input>,
    pub(crate) mail: Sender<Post>,
    pub(crate) stopping: Arc<AtomicBool>,
    pub(crate) live: Arc<AtomicUsize>,
    pub(crate) ids: Arc<AtomicU64>,
}

/// What one HTTP connection's thread needs to become a chat connection.
#[derive(Clone)]
struct Door {
    config: Arc<Config>,
    inputs: Sender<Input>,
    mail: Sender<Post>,
    stopping: Arc<AtomicBool>,
    live: Arc<AtomicUsize>,
    ids: Arc<AtomicU64>,
}

impl WebAcceptor {
    /// Accepts until the server stops; returns the connection threads, which
    /// the server joins once the dispatcher has said BYE to everyone.
    pub fn run(self) -> Vec<JoinHandle<()>> {
        let door = Door {
            config: Arc::new(self.config),
            inputs: self.inputs,
            mail: self.mail,
            stopping: self.stopping,
            live: self.live,
            ids: self.ids,
        };
        let pending = Pending::default();
        let mut threads: Vec<JoinHandle<()>> = Vec::new();
        let mut seq: u64 = 0;
        loop {
            // accept(2): blocks until a browser (or anyone) connects.
            let accepted = self.listener.accept();
            if door.stopping.load(Ordering::Acquire) {
                break;
            }
            match accepted {
                Ok((stream, peer)) => {
                    seq += 1;
                    debug!("accept() -> web {seq} from {peer}");
                    let socket = Arc::new(stream);
                    pending.lock().insert(seq, Arc::clone(&socket));
                    let visit = Visit {
                        door: door.clone(),
                        socket,
                        peer,
                        pending: Arc::clone(&pending),
                        key: seq,
                    };
                    match thread::Builder::new()
                        .name(format!("web{seq}"))
                        .stack_size(connection::STACK_SIZE)
                        .spawn(move || visit.run())
                    {
                        Ok(thread) => threads.push(thread),
                        Err(e) => {
                            warn!("web {seq} from {peer}: cannot start its thread: {e}");
                            pending.lock().remove(&seq);
                        }
                    }
                }
                Err(e) => {
                    warn!("web accept() failed: {e}");
                    thread::sleep(Duration::from_millis(20));
                }
            }
            if seq.is_multiple_of(256) {
                threads.retain(|t| !t.is_finished());
            }
        }
        info!("stopping: the web listener no longer accepts");
        let waiting: Vec<Arc<TcpStream>> = pending.lock().values().cloned().collect();
        for socket in waiting {
            // shutdown(2): a thread still waiting for a request head reads 0 bytes and ends.
            let _ = socket.shutdown(Shutdown::Both);
        }
        threads
    }
}

/// One HTTP connection, in its own thread.
struct Visit {
    door: Door,
    socket: Arc<TcpStream>,
    peer: SocketAddr,
    pending: Pending,
    key: u64,
}

impl Visit {
    fn run(self) {
        let socket = Arc::clone(&self.socket);
        let peer = self.peer;
        let _ = socket.set_read_timeout(Some(http::HEAD_TIMEOUT));
        let _ = socket.set_write_timeout(Some(http::HEAD_TIMEOUT));
        let head = match http::read_head(&mut &*socket) {
            Ok(head) => head,
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
            Head::TooLarge => return self.answer(&http::refusal(&http::TOO_LARGE), "431"),
            Head::Bad => return self.answer(&http::refusal(&http::BAD_REQUEST), "400"),
        };
        let what = format!("{} {}", request.method, request.path);
        match http::route(&request) {
            Route::Page(asset) => self.answer(&http::page(asset, &request), &format!("{what} 200")),
            Route::NotFound => {
                self.answer(&http::refusal(&http::NOT_FOUND), &format!("{what} 404"))
            }
            Route::NotAllowed => {
                self.answer(&http::refusal(&http::NOT_ALLOWED), &format!("{what} 405"));
            }
            Route::WebSocket => match http::accept_key(&request) {
                Err(refused) => {
                    info!(
                        "web {peer}: WebSocket refused ({} {}): {}",
                        refused.status, refused.reason, refused.text
                    );
                    self.answer(
                        &http::refusal(&refused),
                        &format!("{what} {}", refused.status),
                    );
                }
                Ok(accept) => self.upgrade(&accept, rest),
            },
        }
    }

    /// Sends a whole HTTP answer and closes.
    fn answer(self, bytes: &[u8], what: &str) {
        debug!("web {}: {what}", self.peer);
        // send(2): the answer, in as many calls as the kernel needs.
        let _ = (&*self.socket).write_all(bytes);
        linger_close(&self.socket);
        self.leave();
    }

    /// Forgets this connection in the pending table.
    fn leave(&self) {
        self.pending.lock().remove(&self.key);
    }

    /// The handshake is good: answer 101, then serve CHAT/1 over the WebSocket.
    fn upgrade(self, accept: &str, rest: Vec<u8>) {
        let door = &self.door;
        let socket = &self.socket;
        let peer = self.peer;
        if !server::reserve(&door.live, door.config.max_clients) {
            warn!("web {peer}: WebSocket refused: server full");
            let mut out = http::switching(accept);
            for line in server::full_lines(door.config.max_clients) {
                writer::put(
                    &mut out,
                    &outbox::Item::Line(line.into()),
                    Framing::WebSocket,
                );
            }
            writer::close_frame(&mut out);
            return self.answer(&out, "101, then SERVER_FULL");
        }
        // From here the dispatcher shuts the socket down when it must stop it.
        self.leave();
        // send(2): the 101 goes out before the writer knows the socket, so before WELCOME.
        if let Err(e) = (&**socket).write_all(&http::switching(accept)) {
            debug!("web {peer}: cannot answer the handshake: {e}");
            door.live.fetch_sub(1, Ordering::AcqRel);
            return;
        }
        let _ = socket.set_read_timeout(None);
        let _ = socket.set_write_timeout(None);
        if let Err(e) = server::tune(socket, &door.config) {
            warn!("web {peer}: cannot set socket options: {e}");
        }
        let id = server::next_id(&door.ids);
        info!("conn {id} from {peer}: WebSocket");
        let Some(outbox) = server::register(
            id,
            peer,
            socket,
            (crate::outbox::Door::Chat, Framing::WebSocket),
            door.config.send_queue,
            &door.mail,
            &door.inputs,
        ) else {
            door.live.fetch_sub(1, Ordering::AcqRel);
            return;
        };
        let mut farewell = Farewell::new(id, door.inputs.clone(), Arc::clone(&door.live));
        // The server began to stop while we upgraded: the dispatcher may have
        // said its goodbyes before our Connect arrived, so stop reading ourselves.
        if door.stopping.load(Ordering::Acquire) {
            let _ = socket.shutdown(Shutdown::Read);
        }
        farewell.reason = socket::read_loop(
            id,
            socket,
            outbox,
            rest,
            &farewell.inputs,
            door.config.flood,
        );
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
