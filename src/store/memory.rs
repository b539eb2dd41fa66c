//! The store of `--no-persist`: everything in memory, the last messages of
//! each room kept, gone when the process ends.

use super::{Entry, Offline, Store, StoreResult, StoredRoom, StoredToken};
use crate::ids::RoomId;
use std::collections::{HashMap, VecDeque};

/// Everything in memory: the last `keep` messages per room, and the rest
/// until the process ends.
#[derive(Debug, Default)]
pub struct MemoryStore {
    keep: usize,
    history: HashMap<RoomId, VecDeque<Entry>>,
    rooms: HashMap<RoomId, StoredRoom>,
    accounts: Vec<(String, String)>,
    offline: HashMap<String, Vec<Offline>>,
    tokens: Vec<StoredToken>,
}

impl MemoryStore {
    /// Keeps at most `keep` messages per room (0 keeps none).
    pub fn new(keep: usize) -> MemoryStore {
        MemoryStore {
            keep,
            ..MemoryStore::default()
        }
    }
}

impl Store for MemoryStore {
    fn tokens(&mut self) -> StoreResult<Vec<StoredToken>> {
        Ok(self.tokens.clone())
    }

    fn save_token(&mut self, token: &StoredToken) -> StoreResult<()> {
        self.tokens.push(token.clone());
        Ok(())
    }

    fn forget_token(&mut self, digest: &str) -> StoreResult<()> {
        self.tokens.retain(|t| t.digest != digest);
        Ok(())
    }

    fn rooms(&mut self) -> StoreResult<Vec<StoredRoom>> {
        let newest = |id: &RoomId| self.history.get(id).and_then(|h| h.back()).map(|e| e.at);
        Ok(self
            .rooms
            .iter()
            .map(|(id, room)| StoredRoom {
                last_stamp: newest(id).unwrap_or(room.last_stamp),
                ..room.clone()
            })
            .collect())
    }

    fn accounts(&mut self) -> StoreResult<Vec<(String, String)>> {
        Ok(self.accounts.clone())
    }

    fn append(&mut self, room: &RoomId, entry: &Entry) -> StoreResult<()> {
        if self.keep == 0 {
            return Ok(());
        }
        let ring = self.history.entry(room.clone()).or_default();
        if ring.len() == self.keep {
            ring.pop_front();
        }
        ring.push_back(entry.clone());
        Ok(())
    }

    fn page(
        &mut self,
        room: &RoomId,
        before: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<Entry>> {
        let Some(ring) = self.history.get(room) else {
            return Ok(Vec::new());
        };
        // Stamps increase along the ring, so the cut is a binary search.
        let end = before.map_or(ring.len(), |b| ring.partition_point(|e| e.at < b));
        let start = end.saturating_sub(limit);
        Ok(ring.range(start..end).cloned().collect())
    }

    fn page_after(&mut self, room: &RoomId, after: u64, limit: usize) -> StoreResult<Vec<Entry>> {
        let Some(ring) = self.history.get(room) else {
            return Ok(Vec::new());
        };
        let start = ring.partition_point(|e| e.at <= after);
        Ok(ring.range(start..).take(limit).cloned().collect())
    }

    fn save_room(&mut self, room: &StoredRoom) -> StoreResult<()> {
        self.rooms.insert(RoomId::of(&room.name), room.clone());
        Ok(())
    }

    fn forget_room(&mut self, room: &RoomId) -> StoreResult<()> {
        self.rooms.remove(room);
        self.history.remove(room);
        Ok(())
    }

    fn save_account(&mut self, nick: &str, hash: &str) -> StoreResult<()> {
        self.accounts.push((nick.to_string(), hash.to_string()));
        Ok(())
    }

    fn put_offline(&mut self, to: &str, whisper: &Offline) -> StoreResult<()> {
        self.offline
            .entry(to.to_ascii_lowercase())
            .or_default()
            .push(whisper.clone());
        Ok(())
    }

    fn offline_count(&mut self, to: &str) -> StoreResult<usize> {
        Ok(self
            .offline
            .get(&to.to_ascii_lowercase())
            .map_or(0, Vec::len))
    }

    fn take_offline(&mut self, to: &str) -> StoreResult<Vec<Offline>> {
        Ok(self
            .offline
            .remove(&to.to_ascii_lowercase())
            .unwrap_or_default())
    }

    fn commit(&mut self) -> StoreResult<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::exercise;

    #[test]
    fn memory_store_behaves() {
        exercise(&mut MemoryStore::new(100));
    }

    #[test]
    fn memory_store_keeps_the_last_n() {
        let room = RoomId::of("r");
        let mut s = MemoryStore::new(3);
        for at in 1..=8 {
            let e = Entry {
                at,
                nick: "a".into(),
                text: String::new(),
            };
            s.append(&room, &e).unwrap();
        }
        let got: Vec<u64> = s
            .page(&room, None, 50)
            .unwrap()
            .iter()
            .map(|e| e.at)
            .collect();
        assert_eq!(got, vec![6, 7, 8]);
        let mut none = MemoryStore::new(0);
        none.append(
            &room,
            &Entry {
                at: 1,
                nick: "a".into(),
                text: String::new(),
            },
        )
        .unwrap();
        assert!(none.page(&room, None, 50).unwrap().is_empty());
    }
}
