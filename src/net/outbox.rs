//! A connection's outgoing queue: the dispatcher pushes encoded events, the
//! writer thread drains them into the connection's socket.
//!
//! The queue is a crossbeam channel whose bound is counted here rather than by
//! `crossbeam_channel::bounded`, which allocates and touches every slot of its
//! capacity up front: a send queue sized for bursts (thousands of events) would
//! then cost more memory per idle connection than the rest of the connection.

use super::flood::Debt;
use crate::ids::{ConnId, Protocol};
use crossbeam_channel::{Receiver, Sender};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

/// A TLS connection's state, shared by its reader and the writer thread
/// (see [`crate::net::tls`]).
pub type Session = parking_lot::Mutex<rustls::Connection>;

/// An encoded event, shared by every recipient: fan-out copies a pointer.
pub type Bytes = Arc<[u8]>;

/// One entry of a connection's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An event as the dispatcher encoded it once for every recipient: one
    /// or more lines, each with its `\n`; the writer frames them as the
    /// connection needs.
    Event(Bytes),
    /// Bytes already framed for the connection's transport (a WebSocket pong
    /// or close made by the connection's own protocol code); sent as they are.
    Framed(Bytes),
    /// The connection's last event, its `BYE`, framed like an event; the
    /// writer closes the connection after it.
    Last(Bytes),
}

impl std::ops::Deref for Item {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Item::Event(bytes) | Item::Framed(bytes) | Item::Last(bytes) => bytes,
        }
    }
}

/// What the dispatcher's and the writer's ends of one queue share.
#[derive(Debug, Default)]
struct Shared {
    /// Events in the channel, not yet taken by the writer.
    queued: AtomicUsize,
    /// The writer has been told (or is about to look) that events wait.
    ready: AtomicBool,
    /// The last event (`BYE`) has been queued; close after writing it.
    closed: AtomicBool,
}

/// The sending end of a connection's queue, kept by the dispatcher and the
/// room table; a clone is one reference count.
#[derive(Debug, Clone)]
pub struct Outbox(Arc<Sending>);

#[derive(Debug)]
struct Sending {
    id: ConnId,
    protocol: Protocol,
    tx: Sender<Item>,
    shared: Arc<Shared>,
    limit: usize,
    mail: Sender<Post>,
    /// What the connection owes for costly answers, paid by its reader.
    debt: Debt,
    /// Which form of a shared event this connection gets, as its protocol
    /// says (IRC: the capabilities that change how lines look); 0: the plain one.
    flavor: AtomicU32,
}

/// The receiving end, served by the writer thread.
#[derive(Debug)]
pub struct Inbox {
    rx: Receiver<Item>,
    shared: Arc<Shared>,
}

/// The queue was full: the reader is too slow and is to be cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// How a connection's lines are put on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// CHAT/1 over TCP: each line as it is, `\n` included.
    Raw,
    /// CHAT/1 over WebSocket: each line as one text frame, without its `\n`;
    /// the connection ends with a close frame after its last line.
    WebSocket,
}

/// What reaches the writer thread.
#[derive(Debug)]
pub enum Post {
    /// A new connection: where to find its events, its socket, how to frame
    /// them, and the line (its protocol's `BYE`) it gets if it is dropped for
    /// taking nothing.
    Open {
        id: ConnId,
        inbox: Inbox,
        socket: Arc<TcpStream>,
        framing: Framing,
        /// TLS: the state the writer encrypts with, shared with the reader.
        tls: Option<Arc<Session>>,
        goodbye: Bytes,
    },
    /// The connection's outbox has events waiting (or, TLS, its reader made
    /// rustls want to send).
    Ready(ConnId),
}

/// A CHAT/1 queue for connection `id` holding at most `limit` events; the
/// writer learns through `mail` when it has events.
pub fn queue(id: ConnId, limit: usize, mail: Sender<Post>) -> (Outbox, Inbox) {
    queue_for(id, Protocol::Chat, limit, mail)
}

/// A queue for connection `id` that speaks the protocol `protocol`.
pub fn queue_for(
    id: ConnId,
    protocol: Protocol,
    limit: usize,
    mail: Sender<Post>,
) -> (Outbox, Inbox) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let shared = Arc::new(Shared::default());
    let outbox = Outbox(Arc::new(Sending {
        id,
        protocol,
        tx,
        shared: Arc::clone(&shared),
        limit: limit.max(1),
        mail,
        debt: Debt::default(),
        flavor: AtomicU32::new(0),
    }));
    (outbox, Inbox { rx, shared })
}

impl Outbox {
    /// The connection this queue belongs to.
    pub fn id(&self) -> ConnId {
        self.0.id
    }

    /// The protocol of the connection.
    pub fn protocol(&self) -> Protocol {
        self.0.protocol
    }

    /// The connection's flood debt: the dispatcher charges costly answers
    /// to it ([`Debt::charge`]), the connection's reader pays it off.
    pub fn debt(&self) -> &Debt {
        &self.0.debt
    }

    /// Which form of a shared event this connection gets (0: the plain one).
    pub fn flavor(&self) -> u32 {
        self.0.flavor.load(Ordering::Relaxed)
    }

    /// Sets the form of shared events this connection gets (only the
    /// dispatcher does, so no ordering is needed beyond its own).
    pub fn set_flavor(&self, flavor: u32) {
        self.0.flavor.store(flavor, Ordering::Relaxed);
    }

    /// Queues an event.
    ///
    /// # Errors
    /// [`Full`] when `limit` events are already waiting; nothing is queued.
    pub fn push(&self, bytes: &Bytes) -> Result<(), Full> {
        self.push_item(Item::Event(Arc::clone(bytes)))
    }

    /// Queues bytes that are already framed for the transport (a WebSocket
    /// pong or close), counted against the same bound as events.
    ///
    /// # Errors
    /// [`Full`] when `limit` events are already waiting; nothing is queued.
    pub fn push_framed(&self, bytes: Bytes) -> Result<(), Full> {
        self.push_item(Item::Framed(bytes))
    }

    fn push_item(&self, item: Item) -> Result<(), Full> {
        if self.0.shared.queued.fetch_add(1, Ordering::AcqRel) >= self.0.limit {
            self.0.shared.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(Full);
        }
        // The Inbox lives as long as the writer; a failed send means shutdown.
        let _ = self.0.tx.send(item);
        self.notify();
        Ok(())
    }

    /// Queues the last event past the limit (the `BYE`); the writer closes
    /// the connection once it is written.
    pub fn push_last(&self, bytes: &Bytes) {
        self.0.shared.queued.fetch_add(1, Ordering::AcqRel);
        let _ = self.0.tx.send(Item::Last(Arc::clone(bytes)));
        self.0.shared.closed.store(true, Ordering::SeqCst);
        self.notify();
    }

    /// Tells the writer, once per idle-to-busy change, that events wait.
    fn notify(&self) {
        if !self.0.shared.ready.swap(true, Ordering::SeqCst) {
            let _ = self.0.mail.send(Post::Ready(self.0.id));
        }
    }

    /// Events waiting to be written.
    pub fn len(&self) -> usize {
        self.0.shared.queued.load(Ordering::Acquire)
    }

    /// True when nothing waits to be written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inbox {
    /// The next event if one is waiting.
    pub fn try_recv(&self) -> Option<Item> {
        self.rx.try_recv().ok()
    }

    /// Marks `n` received events as taken, making room for more.
    pub fn done(&self, n: usize) {
        self.shared.queued.fetch_sub(n, Ordering::AcqRel);
    }

    /// Called before draining: the next push after this notifies the writer again.
    pub fn clear_ready(&self) {
        self.shared.ready.store(false, Ordering::SeqCst);
    }

    /// True once the last event was queued (it may still be waiting to be taken).
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_is_enforced_and_the_writer_is_told_once_per_idle_period() {
        let (mail, posts) = crossbeam_channel::unbounded();
        let (out, inbox) = queue(7, 2, mail);
        let b: Bytes = Arc::from(&b"MSG r a hi\n"[..]);
        assert_eq!(out.id(), 7);
        assert!(out.push(&b).is_ok());
        assert!(out.push(&b).is_ok());
        assert_eq!(out.push(&b), Err(Full));
        assert_eq!(out.len(), 2);
        assert!(matches!(posts.try_recv(), Ok(Post::Ready(7))));
        assert!(posts.try_recv().is_err(), "one notice while busy");
        inbox.clear_ready();
        assert!(inbox.try_recv().is_some());
        inbox.done(1);
        assert!(out.push(&b).is_ok());
        assert!(matches!(posts.try_recv(), Ok(Post::Ready(7))));
        assert!(!inbox.is_closed());
        out.push_last(&b);
        assert!(inbox.is_closed());
        let mut n = 0;
        while inbox.try_recv().is_some() {
            n += 1;
        }
        assert_eq!(n, 3);
    }

    #[test]
    fn framed_bytes_keep_their_place_and_count_against_the_bound() {
        let (mail, _posts) = crossbeam_channel::unbounded();
        let (out, inbox) = queue(1, 2, mail);
        let line: Bytes = Arc::from(&b"PONG\n"[..]);
        let pong: Bytes = Arc::from(&[0x8a_u8, 0][..]);
        assert!(out.push(&line).is_ok());
        assert!(out.push_framed(Arc::clone(&pong)).is_ok());
        assert_eq!(out.push_framed(Arc::clone(&pong)), Err(Full));
        assert_eq!(inbox.try_recv(), Some(Item::Event(line)));
        assert_eq!(inbox.try_recv(), Some(Item::Framed(pong)));
        assert_eq!(inbox.try_recv(), None);
    }
}
