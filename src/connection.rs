//! One accepted connection's thread: it blocks in `recv`, splits and parses
//! lines (CHAT/1, or IRC through [`crate::irc`]), and hands the commands to
//! the dispatcher. (Its `send`s are made by the writer thread, see
//! [`crate::writer`].)

use crate::codec::{Command, Frame, LineSplitter, Refusal};
use crate::dispatcher::Input;
use crate::flood::{Bucket, FloodLimit};
use crate::irc::{self, Query, Session, Step};
use crate::outbox::Door;
use crate::room::ConnId;
use crossbeam_channel::Sender;
use log::debug;
use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Bytes asked of one `recv` while the peer is quiet: an idle connection keeps
/// only this much, since most chat lines are short.
const RECV_SMALL: usize = 512;
/// Bytes asked of one `recv` while the peer sends in bursts (a full small read).
const RECV_LARGE: usize = 16 * 1024;
/// Stack of each connection thread: it keeps little on it, and what each
/// thread touches is what bounds how many clients fit in memory.
pub const STACK_SIZE: usize = 64 * 1024;

/// How a reader reads: the protocol, its flood limit, and for IRC how long a
/// quiet peer waits for a `PING` (and then for its `PONG`).
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    pub door: Door,
    pub flood: FloodLimit,
    pub ping_after: Duration,
}

/// Starts the reader thread of connection `id`.
///
/// # Errors
/// The OS refused a thread.
pub fn spawn(
    id: ConnId,
    socket: Arc<TcpStream>,
    inputs: Sender<Input>,
    reading: Reading,
    live: Arc<AtomicUsize>,
) -> std::io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(format!("conn{id}"))
        .stack_size(STACK_SIZE)
        .spawn(move || {
            let mut farewell = Farewell::new(id, inputs, live);
            farewell.reason = read_loop(id, &socket, &farewell.inputs, reading);
        })
}

/// Tells the dispatcher the connection is gone when the reader ends, even by
/// a panic, so that no ghost user stays behind. (Shared with the WebSocket
/// reader, [`crate::web`].)
pub(crate) struct Farewell {
    id: ConnId,
    pub(crate) inputs: Sender<Input>,
    live: Arc<AtomicUsize>,
    /// Why the reader stopped; `None` after QUIT (the dispatcher knows already).
    pub(crate) reason: Option<String>,
}

impl Farewell {
    /// The farewell of connection `id`, counted in `live`; its reason stays
    /// "connection thread failed" unless the reader sets another.
    pub(crate) fn new(id: ConnId, inputs: Sender<Input>, live: Arc<AtomicUsize>) -> Farewell {
        Farewell {
            id,
            inputs,
            live,
            reason: Some("connection thread failed".into()),
        }
    }
}

impl Drop for Farewell {
    fn drop(&mut self) {
        if let Some(reason) = self.reason.take() {
            // The dispatcher may be gone already when the server is stopping.
            let _ = self.inputs.send(Input::Disconnect {
                id: self.id,
                reason,
            });
        }
        self.live.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Reads lines until the peer goes away (returns why) or sends `QUIT` (`None`).
fn read_loop(
    id: ConnId,
    socket: &TcpStream,
    inputs: &Sender<Input>,
    reading: Reading,
) -> Option<String> {
    let mut buf = vec![0u8; RECV_SMALL];
    // IRC: registration state, and a recv timeout for pinging quiet peers.
    let session = (reading.door == Door::Irc).then(Session::new);
    if session.is_some() {
        let _ = socket.set_read_timeout(Some(reading.ping_after));
    }
    let irc = session.is_some();
    let mut lines = LineReader::new(id, reading.flood, session);
    let mut pinged = false;
    loop {
        // recv(2): blocks until the peer sends; 0 bytes means it closed its side.
        let n = match (&*socket).read(&mut buf) {
            Ok(0) => {
                debug!("recv() conn {id}: 0 bytes: the peer closed its side");
                return Some("connection closed".to_string());
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if irc && matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                // Quiet for a whole period: ping once; quiet for another, gone.
                if pinged {
                    return Some("ping timeout".to_string());
                }
                pinged = true;
                let ping = Ok(Command::Irc(Query::PingPeer));
                if inputs.send(Input::Line { id, command: ping }).is_err() {
                    return None;
                }
                continue;
            }
            Err(e) => return Some(format!("connection lost: {e}")),
        };
        debug!("recv() conn {id}: {n} bytes");
        pinged = false;
        let filled = n == buf.len();
        if !lines.feed(&buf[..n], inputs) {
            return None;
        }
        // A full read suggests more is waiting: read more at a time until it calms down.
        let want = if filled { RECV_LARGE } else { RECV_SMALL };
        if buf.len() != want {
            buf = vec![0u8; want];
        }
    }
}

/// The line handling every reader shares, whatever carries the bytes: cuts
/// them into lines of at most 2048 bytes, takes a flood-control token per
/// line, parses it (CHAT/1, or IRC through the connection's [`Session`]) and
/// hands the commands to the dispatcher.
pub(crate) struct LineReader {
    id: ConnId,
    lines: LineSplitter,
    bucket: Bucket,
    frames: Vec<Frame>,
    /// IRC registration state; `None` for CHAT/1.
    session: Option<Session>,
}

impl LineReader {
    /// The line reader of connection `id`, with a full flood bucket; with a
    /// `session`, lines are IRC.
    pub(crate) fn new(id: ConnId, flood: FloodLimit, session: Option<Session>) -> LineReader {
        LineReader {
            id,
            lines: LineSplitter::new(),
            bucket: Bucket::new(flood),
            frames: Vec::new(),
            session,
        }
    }

    /// Feeds received bytes (maybe part of a line, maybe several lines) and
    /// sends each whole line on; false when nothing more is to be read: the
    /// client sent `QUIT` (the dispatcher says BYE) or the dispatcher stopped.
    pub(crate) fn feed(&mut self, bytes: &[u8], inputs: &Sender<Input>) -> bool {
        let frames = &mut self.frames;
        self.lines.feed(bytes, |f| frames.push(f));
        for frame in self.frames.drain(..) {
            self.bucket.take();
            for command in commands(self.session.as_mut(), frame) {
                let quit = matches!(command, Ok(Command::Quit { .. }));
                if inputs
                    .send(Input::Line {
                        id: self.id,
                        command,
                    })
                    .is_err()
                {
                    return false; // The dispatcher has stopped: the server is shutting down.
                }
                if quit {
                    return false; // Nothing more is read after QUIT.
                }
            }
        }
        true
    }
}

/// The commands one line holds: one for CHAT/1; none, one or several for IRC
/// (`JOIN #a,#b` is two joins; `NICK` waits for `USER`).
fn commands(session: Option<&mut Session>, frame: Frame) -> Vec<Result<Command, Refusal>> {
    let Some(session) = session else {
        return vec![frame.command()];
    };
    let Frame::Line(line) = frame else {
        return vec![frame.command()];
    };
    let Some(message) = irc::parse(&line) else {
        return Vec::new();
    };
    session
        .steps(&message)
        .into_iter()
        .filter_map(|step| match step {
            Step::Send(command) => Some(Ok(command)),
            Step::Alive | Step::Nothing => None,
        })
        .collect()
}
