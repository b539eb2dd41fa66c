//! A connection's outgoing queue: the dispatcher pushes encoded events, the
//! connection's writer thread drains them into its socket.
//!
//! The queue is a crossbeam channel whose bound is counted here rather than by
//! `crossbeam_channel::bounded`, which allocates and touches every slot of its
//! capacity up front: a send queue sized for bursts (thousands of events) would
//! then cost more memory per idle connection than the rest of the connection.

use crate::room::ConnId;
use crossbeam_channel::{Receiver, Sender};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// An encoded event, shared by every recipient: fan-out copies a pointer.
pub type Bytes = Arc<[u8]>;

/// The sending end of a connection's queue, kept by the dispatcher and the room table.
#[derive(Debug, Clone)]
pub struct Outbox {
    id: ConnId,
    tx: Sender<Bytes>,
    queued: Arc<AtomicUsize>,
    limit: usize,
}

/// The receiving end, owned by the connection's writer thread.
#[derive(Debug)]
pub struct Inbox {
    rx: Receiver<Bytes>,
    queued: Arc<AtomicUsize>,
}

/// The queue was full: the reader is too slow and is to be cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// A queue for connection `id` holding at most `limit` events.
pub fn queue(id: ConnId, limit: usize) -> (Outbox, Inbox) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let queued = Arc::new(AtomicUsize::new(0));
    let outbox = Outbox {
        id,
        tx,
        queued: Arc::clone(&queued),
        limit: limit.max(1),
    };
    (outbox, Inbox { rx, queued })
}

impl Outbox {
    /// The connection this queue belongs to.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// Queues an event.
    ///
    /// # Errors
    /// [`Full`] when `limit` events are already waiting; nothing is queued.
    pub fn push(&self, bytes: &Bytes) -> Result<(), Full> {
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.limit {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(Full);
        }
        // A send fails only when the writer has gone, and then nobody is left to tell.
        let _ = self.tx.send(Arc::clone(bytes));
        Ok(())
    }

    /// Queues a last event past the limit (the `BYE`); the writer closes after it
    /// once every copy of this outbox is dropped.
    pub fn push_last(&self, bytes: &Bytes) {
        self.queued.fetch_add(1, Ordering::AcqRel);
        let _ = self.tx.send(Arc::clone(bytes));
    }

    /// Events waiting to be written.
    pub fn len(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// True when nothing waits to be written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inbox {
    /// Waits for the next event; `None` once every outbox is dropped and all is drained.
    pub fn recv(&self) -> Option<Bytes> {
        self.rx.recv().ok()
    }

    /// The next event if one is already waiting.
    pub fn try_recv(&self) -> Option<Bytes> {
        self.rx.try_recv().ok()
    }

    /// Marks `n` received events as written, making room for more.
    pub fn done(&self, n: usize) {
        self.queued.fetch_sub(n, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_is_enforced_and_freed_by_the_writer() {
        let (out, inbox) = queue(7, 2);
        let b: Bytes = Arc::from(&b"MSG r a hi\n"[..]);
        assert_eq!(out.id(), 7);
        assert!(out.push(&b).is_ok());
        assert!(out.push(&b).is_ok());
        assert_eq!(out.push(&b), Err(Full));
        assert_eq!(out.len(), 2);
        assert!(inbox.recv().is_some());
        inbox.done(1);
        assert!(out.push(&b).is_ok());
        out.push_last(&b);
        assert_eq!(out.len(), 3);
        drop(out);
        let mut n = 0;
        while inbox.recv().is_some() {
            n += 1;
        }
        assert_eq!(n, 3);
    }
}
