//! The web front door: an HTTP listener that serves the web client (a static
//! page embedded in the binary) and a WebSocket endpoint, `/ws`, that carries
//! CHAT/1 lines, one per text frame, into the same dispatcher as TCP clients.
//!
//! One thread per HTTP connection, like the TCP readers. A connection that
//! upgrades to a WebSocket becomes an ordinary Sala connection in the same
//! thread: it counts against `--max-clients`, gets an outbox, and its lines go
//! out through the one writer thread, framed there ([`crate::net::outbox::Framing`]).

pub mod http;
mod socket;

use super::admit::{Admission, Door};
use super::reader::{Farewell, STACK_SIZE};
use crate::ids::Protocol;
use crate::net::flood::FloodLimit;
use crate::net::outbox::{Framing, Item};
use crate::net::writer;
use crate::proto::chat1;
use http::{Head, Route};
use log::{debug, info, warn};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

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
}

impl WebDoor {
    /// The web door, with `flood` for its WebSocket connections.
    pub fn new(flood: FloodLimit) -> WebDoor {
        WebDoor {
            flood,
            pending: Pending::default(),
            seq: 0,
        }
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
        self.seq += 1;
        let seq = self.seq;
        debug!("accept() -> web {seq} from {peer}");
        let socket = Arc::new(stream);
        self.pending.lock().insert(seq, Arc::clone(&socket));
        let visit = Visit {
            admission: admission.clone(),
            flood: self.flood,
            socket,
            peer,
            pending: Arc::clone(&self.pending),
            key: seq,
        };
        match thread::Builder::new()
            .name(format!("web{seq}"))
            .stack_size(STACK_SIZE)
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
            Head::TooLarge => return self.answer(&http::rejection(&http::TOO_LARGE), "431"),
            Head::Bad => return self.answer(&http::rejection(&http::BAD_REQUEST), "400"),
        };
        let what = format!("{} {}", request.method, request.path);
        match http::route(&request) {
            Route::Page(asset) => self.answer(&http::page(asset, &request), &format!("{what} 200")),
            Route::NotFound => {
                self.answer(&http::rejection(&http::NOT_FOUND), &format!("{what} 404"))
            }
            Route::NotAllowed => {
                self.answer(&http::rejection(&http::NOT_ALLOWED), &format!("{what} 405"));
            }
            Route::WebSocket => match http::accept_key(&request) {
                Err(refused) => {
                    info!(
                        "web {peer}: WebSocket refused ({} {}): {}",
                        refused.status, refused.reason, refused.text
                    );
                    self.answer(
                        &http::rejection(&refused),
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
        let admission = &self.admission;
        let socket = &self.socket;
        let peer = self.peer;
        if !admission.reserve() {
            warn!("web {peer}: WebSocket refused: server full");
            let mut out = http::switching(accept);
            let full = Item::Event(chat1::server_full(admission.limits.max_clients).into());
            writer::put(&mut out, &full, Framing::WebSocket);
            writer::close_frame(&mut out);
            return self.answer(&out, "101, then SERVER_FULL");
        }
        // From here the dispatcher shuts the socket down when it must stop it.
        self.leave();
        // send(2): the 101 goes out before the writer knows the socket, so before WELCOME.
        if let Err(e) = (&**socket).write_all(&http::switching(accept)) {
            debug!("web {peer}: cannot answer the handshake: {e}");
            admission.release();
            return;
        }
        let _ = socket.set_read_timeout(None);
        let _ = socket.set_write_timeout(None);
        let id = admission.next_id();
        info!("conn {id} from {peer}: WebSocket");
        let Some(outbox) = admission.admit(id, peer, socket, (Protocol::Chat, Framing::WebSocket))
        else {
            return;
        };
        let live = Arc::clone(&admission.live);
        let mut farewell = Farewell::new(id, admission.inputs.clone(), live);
        // The server began to stop while we upgraded: the dispatcher may have
        // said its goodbyes before our Connect arrived, so stop reading ourselves.
        if admission.is_stopping() {
            let _ = socket.shutdown(Shutdown::Read);
        }
        farewell.reason = socket::read_loop(id, socket, outbox, rest, &farewell.inputs, self.flood);
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
