//! One accepted connection's thread: it blocks in `recv`, splits and parses
//! lines, and hands them to the dispatcher. (Its `send`s are made by the
//! writer thread, see [`crate::writer`].)

use crate::codec::{Command, Frame, LineSplitter};
use crate::dispatcher::Input;
use crate::flood::{Bucket, FloodLimit};
use crate::room::ConnId;
use crossbeam_channel::Sender;
use log::debug;
use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};

/// Bytes asked of one `recv` while the peer is quiet: an idle connection keeps
/// only this much, since most chat lines are short.
const RECV_SMALL: usize = 512;
/// Bytes asked of one `recv` while the peer sends in bursts (a full small read).
const RECV_LARGE: usize = 16 * 1024;
/// Stack of each connection thread: it keeps little on it, and what each
/// thread touches is what bounds how many clients fit in memory.
pub const STACK_SIZE: usize = 64 * 1024;

/// Starts the reader thread of connection `id`.
///
/// # Errors
/// The OS refused a thread.
pub fn spawn(
    id: ConnId,
    socket: Arc<TcpStream>,
    inputs: Sender<Input>,
    flood: FloodLimit,
    live: Arc<AtomicUsize>,
) -> std::io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(format!("conn{id}"))
        .stack_size(STACK_SIZE)
        .spawn(move || {
            let mut farewell = Farewell::new(id, inputs, live);
            farewell.reason = read_loop(id, &socket, &farewell.inputs, flood);
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
    flood: FloodLimit,
) -> Option<String> {
    let mut buf = vec![0u8; RECV_SMALL];
    let mut lines = LineReader::new(id, flood);
    loop {
        // recv(2): blocks until the peer sends; 0 bytes means it closed its side.
        let n = match (&*socket).read(&mut buf) {
            Ok(0) => {
                debug!("recv() conn {id}: 0 bytes: the peer closed its side");
                return Some("connection closed".to_string());
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Some(format!("connection lost: {e}")),
        };
        debug!("recv() conn {id}: {n} bytes");
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
/// line, parses it and hands it to the dispatcher.
pub(crate) struct LineReader {
    id: ConnId,
    lines: LineSplitter,
    bucket: Bucket,
    frames: Vec<Frame>,
}

impl LineReader {
    /// The line reader of connection `id`, with a full flood bucket.
    pub(crate) fn new(id: ConnId, flood: FloodLimit) -> LineReader {
        LineReader {
            id,
            lines: LineSplitter::new(),
            bucket: Bucket::new(flood),
            frames: Vec::new(),
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
            let command = frame.command();
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
        true
    }
}
