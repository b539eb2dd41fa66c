//! One accepted connection: a reader thread that blocks in `recv`, splits and
//! parses lines and hands them to the dispatcher, and a writer thread that
//! blocks on the connection's outbox and `send`s whatever is queued at once.

use crate::codec::{Command, LineSplitter};
use crate::dispatcher::Input;
use crate::flood::{Bucket, FloodLimit};
use crate::outbox::Inbox;
use crate::room::ConnId;
use crossbeam_channel::Sender;
use log::debug;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};

/// Bytes asked of one `recv`: more than one longest line.
const RECV_BUFFER: usize = 4096;
/// Most bytes gathered for one `send`.
const SEND_BATCH: usize = 64 * 1024;
/// Stack of each connection thread: they keep little on it, and the space
/// reserved per thread is what bounds how many clients fit in memory.
pub const STACK_SIZE: usize = 64 * 1024;

/// Starts the reader and writer threads of connection `id`.
///
/// # Errors
/// The OS refused a thread; nothing is left running.
pub fn spawn(
    id: ConnId,
    socket: Arc<TcpStream>,
    inbox: Inbox,
    inputs: Sender<Input>,
    flood: FloodLimit,
    live: Arc<AtomicUsize>,
) -> std::io::Result<[JoinHandle<()>; 2]> {
    let writer_socket = Arc::clone(&socket);
    let closer = Arc::clone(&socket);
    let writer = thread::Builder::new()
        .name(format!("conn{id}-write"))
        .stack_size(STACK_SIZE)
        .spawn(move || write_loop(id, &writer_socket, &inbox))?;
    let reader = thread::Builder::new()
        .name(format!("conn{id}-read"))
        .stack_size(STACK_SIZE)
        .spawn(move || {
            let reason = read_loop(id, &socket, &inputs, flood);
            if let Some(reason) = reason {
                // The dispatcher may be gone already when the server is stopping.
                let _ = inputs.send(Input::Disconnect { id, reason });
            }
            live.fetch_sub(1, Ordering::AcqRel);
        });
    match reader {
        Ok(reader) => Ok([reader, writer]),
        Err(e) => {
            // Without a reader, close the socket so that the writer ends too.
            let _ = closer.shutdown(Shutdown::Both);
            Err(e)
        }
    }
}

/// Reads lines until the peer goes away (returns why) or sends `QUIT` (`None`).
fn read_loop(
    id: ConnId,
    socket: &TcpStream,
    inputs: &Sender<Input>,
    flood: FloodLimit,
) -> Option<String> {
    let mut buf = vec![0u8; RECV_BUFFER];
    let mut lines = LineSplitter::new();
    let mut bucket = Bucket::new(flood);
    loop {
        // recv(2): blocks until the peer sends; 0 bytes means it closed its side.
        let n = match (&*socket).read(&mut buf) {
            Ok(0) => return Some("connection closed".to_string()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Some(format!("connection lost: {e}")),
        };
        debug!("recv() conn {id}: {n} bytes");
        let mut frames = Vec::new();
        lines.feed(&buf[..n], |f| frames.push(f));
        for frame in frames {
            bucket.take();
            let command = frame.command();
            let quit = matches!(command, Ok(Command::Quit { .. }));
            if inputs.send(Input::Line { id, command }).is_err() {
                return None; // The dispatcher has stopped: the server is shutting down.
            }
            if quit {
                return None; // The dispatcher says BYE; nothing more is read.
            }
        }
    }
}

/// Writes everything queued for the connection, in as few `send`s as possible.
fn write_loop(id: ConnId, socket: &TcpStream, inbox: &Inbox) {
    let mut batch: Vec<u8> = Vec::new();
    while let Some(first) = inbox.recv() {
        let mut count = 1;
        let result = match inbox.try_recv() {
            // The common quiet case: one event, written straight from the shared bytes.
            None => send(id, socket, &first),
            Some(second) => {
                batch.clear();
                batch.extend_from_slice(&first);
                batch.extend_from_slice(&second);
                count = 2;
                while batch.len() < SEND_BATCH {
                    let Some(next) = inbox.try_recv() else { break };
                    batch.extend_from_slice(&next);
                    count += 1;
                }
                let r = send(id, socket, &batch);
                if batch.capacity() > 2 * SEND_BATCH {
                    batch = Vec::new();
                }
                r
            }
        };
        inbox.done(count);
        if let Err(e) = result {
            debug!("send() conn {id} failed: {e}");
            break;
        }
    }
    // shutdown(2): the peer reads what was sent (its last line is BYE), then EOF.
    debug!("shutdown() conn {id}");
    let _ = socket.shutdown(Shutdown::Both);
}

/// send(2) until every byte is in the kernel's buffer for this socket.
fn send(id: ConnId, mut socket: &TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    socket.write_all(bytes)?;
    debug!("send() conn {id}: {} bytes", bytes.len());
    Ok(())
}
