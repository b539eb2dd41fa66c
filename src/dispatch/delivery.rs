//! Delivery: events are staged during a batch, the store commits once, and
//! only then are they handed to the outboxes; a reader whose outbox
//! overflows is cut off, without a gap in what it was sent.

use super::Dispatcher;
use super::voice::{Shared, bye};
use crate::ids::{ConnId, RoomId};
use crate::net::outbox::{Bytes, Outbox};
use log::{error, warn};

/// Bytes of a costly answer (a listing, a page of history, a join's member
/// list and history) that cost the asker one flood token on top of its
/// line's own; a shorter answer costs nothing more. See docs/architecture.md,
/// "Flood control", for why 2 KiB.
pub(super) const ANSWER_BYTES_PER_TOKEN: usize = 2048;

/// An event waiting for the batch's commit, with the outbox it goes to.
#[derive(Debug)]
pub(super) struct Staged {
    pub(super) to: Outbox,
    pub(super) line: Bytes,
    /// The `BYE`: queued past the outbox's bound, and the connection closes after it.
    pub(super) last: bool,
}

impl Dispatcher {
    /// Ends the batch: commits the store, then hands every staged event to its
    /// outbox, and cuts off the readers whose outbox overflowed (which stages
    /// more events: `QUIT` to their room-mates), until nothing is left.
    pub(super) fn deliver(&mut self) {
        while !self.staged.is_empty() {
            if !self.commit() {
                return;
            }
            for staged in std::mem::take(&mut self.staged) {
                if staged.last {
                    staged.to.push_last(&staged.line);
                } else if self.slow.contains(&staged.to.id()) {
                    // Its queue overflowed on an earlier event: it is cut off
                    // below, and nothing after the dropped event may reach it,
                    // even if the writer has made room since (no gaps).
                } else if staged.to.push(&staged.line).is_err() {
                    self.slow.push(staged.to.id());
                }
            }
            self.cut_off_slow();
        }
        // Reads (HISTORY) may have opened nothing; a batch of refusals writes nothing.
        if self.commit() {
            self.answer_uploads();
        }
    }

    /// Commits the store. If that fails, nothing of the batch is announced:
    /// its events are dropped and the server stops, rather than acknowledge
    /// a message the store may not hold.
    pub(super) fn commit(&mut self) -> bool {
        match self.store.commit() {
            Ok(()) => true,
            Err(e) => {
                error!(
                    "cannot commit to the store: {e}; stopping, so that nothing unsaved is acknowledged"
                );
                self.staged.clear();
                if self.broken.is_none() {
                    self.broken = Some(e);
                }
                false
            }
        }
    }

    /// Cuts off every client whose outbox overflowed.
    pub(super) fn cut_off_slow(&mut self) {
        while let Some(id) = self.slow.pop() {
            if let Some(client) = self.clients.get(&id) {
                warn!(
                    "conn {id} ({}) from {} cut off: send queue full ({} events)",
                    self.chat.nick(id),
                    client.peer,
                    client.outbox.len()
                );
                self.remove(
                    id,
                    "send queue full",
                    "send queue full: you read too slowly",
                );
            }
        }
    }

    /// Says `BYE` to every client and wakes its reader; the writer closes them.
    pub(super) fn goodbye(&mut self, text: &str) {
        for (_, client) in self.clients.drain() {
            client.outbox.push_last(&bye(&client.outbox, text));
            client.stop_reading();
        }
        self.routes.lock().clear();
    }

    /// Queues bytes already rendered for client `id` (a reply to it alone).
    pub(super) fn reply(&mut self, id: ConnId, out: Vec<u8>) {
        if out.is_empty() {
            return;
        }
        if let Some(client) = self.clients.get(&id) {
            self.staged.push(Staged {
                to: client.outbox.clone(),
                line: Bytes::from(out),
                last: false,
            });
        }
    }

    /// Queues a costly answer for client `id` and charges its size to the
    /// client's flood debt, which its reader pays before its next line: one
    /// token per [`ANSWER_BYTES_PER_TOKEN`]. One atomic add; nothing waits.
    pub(super) fn reply_charged(&mut self, id: ConnId, out: Vec<u8>) {
        if let Some(client) = self.clients.get(&id) {
            let tokens = out.len() / ANSWER_BYTES_PER_TOKEN;
            client.outbox.debt().charge(tokens as u64);
        }
        self.reply(id, out);
    }

    pub(super) fn send_one(&mut self, id: ConnId, line: &Shared) {
        if let Some(client) = self.clients.get(&id)
            && let Some(bytes) = line.pick(&client.outbox)
        {
            self.staged.push(Staged {
                to: client.outbox.clone(),
                line: bytes,
                last: false,
            });
        }
    }

    pub(super) fn send_many(&mut self, ids: &[ConnId], line: &Shared) {
        for &id in ids {
            self.send_one(id, line);
        }
    }

    pub(super) fn send_room(&mut self, room: &RoomId, line: &Shared) {
        self.send_room_except(room, line, ConnId::MAX);
    }

    /// Stages `line` for every member of `room` but `except`.
    pub(super) fn send_room_except(&mut self, room: &RoomId, line: &Shared, except: ConnId) {
        let routes = self.routes.lock();
        for outbox in routes.get(room).into_iter().flatten() {
            if outbox.id() == except {
                continue;
            }
            if let Some(bytes) = line.pick(outbox) {
                self.staged.push(Staged {
                    to: outbox.clone(),
                    line: bytes,
                    last: false,
                });
            }
        }
    }
}
