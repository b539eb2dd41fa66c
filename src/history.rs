//! Room history behind a small trait, so that a database can later stand
//! where the in-memory ring stands now.

use crate::room::RoomId;
use std::collections::{HashMap, VecDeque};

/// One stored room message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Unix milliseconds, strictly increasing within a room.
    pub at: u64,
    pub nick: String,
    pub text: String,
}

/// Where room messages are kept. Only the dispatcher calls it.
pub trait History: Send {
    /// Stores a message of `room`.
    fn append(&mut self, room: &RoomId, entry: Entry);
    /// Up to `limit` messages stamped before `before` (all if `None`), oldest first.
    fn page(&self, room: &RoomId, before: Option<u64>, limit: usize) -> Vec<Entry>;
    /// Forgets a deleted room's messages.
    fn forget(&mut self, room: &RoomId);
}

/// The last `keep` messages of each room, in memory.
#[derive(Debug)]
pub struct MemoryHistory {
    keep: usize,
    rooms: HashMap<RoomId, VecDeque<Entry>>,
}

impl MemoryHistory {
    /// Keeps at most `keep` messages per room (0 keeps none).
    pub fn new(keep: usize) -> MemoryHistory {
        MemoryHistory {
            keep,
            rooms: HashMap::new(),
        }
    }
}

impl History for MemoryHistory {
    fn append(&mut self, room: &RoomId, entry: Entry) {
        if self.keep == 0 {
            return;
        }
        let ring = self.rooms.entry(room.clone()).or_default();
        if ring.len() == self.keep {
            ring.pop_front();
        }
        ring.push_back(entry);
    }

    fn page(&self, room: &RoomId, before: Option<u64>, limit: usize) -> Vec<Entry> {
        let Some(ring) = self.rooms.get(room) else {
            return Vec::new();
        };
        // Stamps increase along the ring, so the cut is a binary search.
        let end = before.map_or(ring.len(), |b| ring.partition_point(|e| e.at < b));
        let start = end.saturating_sub(limit);
        ring.range(start..end).cloned().collect()
    }

    fn forget(&mut self, room: &RoomId) {
        self.rooms.remove(room);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: u64) -> Entry {
        Entry {
            at,
            nick: "ana".into(),
            text: format!("m{at}"),
        }
    }

    fn stamps(v: &[Entry]) -> Vec<u64> {
        v.iter().map(|e| e.at).collect()
    }

    #[test]
    fn keeps_the_last_n_and_pages_backwards() {
        let room = RoomId::of("r");
        let mut h = MemoryHistory::new(5);
        for at in 1..=8 {
            h.append(&room, entry(at));
        }
        assert_eq!(stamps(&h.page(&room, None, 50)), vec![4, 5, 6, 7, 8]);
        assert_eq!(stamps(&h.page(&room, None, 2)), vec![7, 8]);
        assert_eq!(stamps(&h.page(&room, Some(7), 2)), vec![5, 6]);
        assert_eq!(stamps(&h.page(&room, Some(5), 2)), vec![4]);
        assert!(h.page(&room, Some(4), 2).is_empty());
        assert!(h.page(&RoomId::of("other"), None, 2).is_empty());
        h.forget(&room);
        assert!(h.page(&room, None, 50).is_empty());
    }

    #[test]
    fn zero_keeps_nothing() {
        let room = RoomId::of("r");
        let mut h = MemoryHistory::new(0);
        h.append(&room, entry(1));
        assert!(h.page(&room, None, 50).is_empty());
    }
}
