//! What outlives a connection: room history, accounts, rooms owned by
//! accounts, and whispers waiting for an absent account. One trait, two
//! stores: [`MemoryStore`] (`--no-persist`) and [`crate::store::sqlite::SqliteStore`].
//!
//! Only the dispatcher calls a store. Writes of one batch of commands become
//! durable together at [`Store::commit`], which the dispatcher calls before it
//! sends the batch's events, so an echo is never sent for a message that could
//! still be lost.

pub mod files;
mod memory;
pub mod sqlite;

use crate::ids::RoomId;
pub use memory::MemoryStore;
use std::time::{SystemTime, UNIX_EPOCH};

/// One stored room message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Unix milliseconds, strictly increasing within a room.
    pub at: u64,
    pub nick: String,
    pub text: String,
}

/// A room that belongs to an account and outlives its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRoom {
    pub name: String,
    /// The owning account's nick.
    pub owner: String,
    /// The key as a salted hash (see [`crate::secret`]), if the room is locked.
    pub key: Option<String>,
    /// Unix ms of creation.
    pub created: u64,
    /// Stamp of the room's newest stored message (0 if none).
    pub last_stamp: u64,
    /// Topic, settings, account roles, bans and mutes, as
    /// [`crate::chat::moderation::Moderation::saved`] writes them ("" for a
    /// room saved before moderation existed: the defaults).
    pub settings: String,
}

/// A whisper kept for an absent account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offline {
    pub at: u64,
    pub from: String,
    pub text: String,
}

/// A login token of an account (`TOKEN`), as kept: never the token itself,
/// only its digest (see [`crate::secret::token_digest`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub digest: String,
    /// The account's nick, lower case.
    pub account: String,
    /// Unix ms it was given and it ends.
    pub issued: u64,
    pub expires: u64,
}

/// A shared file's record: what it is, who sent it where, and which bytes
/// (by digest, in [`files::Blobs`]) are its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The unguessable id of its download address (32 hex digits).
    pub id: String,
    /// SHA-256 of its bytes, in hex.
    pub sha: String,
    pub size: u64,
    /// Its media type, as served (`image/png`, `application/octet-stream`).
    pub kind: String,
    /// Its name as shown (no control characters, no path separators).
    pub name: String,
    /// Who sent it (nick as written).
    pub sender: String,
    /// The room it went to, or `None` for a whisper.
    pub room: Option<RoomId>,
    /// Unix ms of its upload.
    pub at: u64,
}

/// Now, in unix milliseconds: the clock of every stamp the chat keeps.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Result of a store operation.
pub type StoreResult<T> = crate::Result<T>;

/// Where durable chat data lives.
pub trait Store: Send {
    /// Rooms owned by accounts, as saved.
    fn rooms(&mut self) -> StoreResult<Vec<StoredRoom>>;
    /// Every account: nick and password hash.
    fn accounts(&mut self) -> StoreResult<Vec<(String, String)>>;
    /// Stores a message of `room`.
    fn append(&mut self, room: &RoomId, entry: &Entry) -> StoreResult<()>;
    /// Up to `limit` messages stamped before `before` (all if `None`), oldest first.
    fn page(&mut self, room: &RoomId, before: Option<u64>, limit: usize)
    -> StoreResult<Vec<Entry>>;
    /// Up to `limit` messages stamped after `after`, oldest first (IRC's
    /// `CHATHISTORY AFTER`; [`Store::page`] reads the other way).
    fn page_after(&mut self, room: &RoomId, after: u64, limit: usize) -> StoreResult<Vec<Entry>>;
    /// Saves (or updates) an account-owned room.
    fn save_room(&mut self, room: &StoredRoom) -> StoreResult<()>;
    /// Forgets a room: its saved record, if any, and its whole history.
    fn forget_room(&mut self, room: &RoomId) -> StoreResult<()>;
    /// Saves a new account.
    fn save_account(&mut self, nick: &str, hash: &str) -> StoreResult<()>;
    /// Keeps a whisper for account `to`.
    fn put_offline(&mut self, to: &str, whisper: &Offline) -> StoreResult<()>;
    /// How many whispers wait for account `to`.
    fn offline_count(&mut self, to: &str) -> StoreResult<usize>;
    /// Takes every whisper waiting for account `to`, oldest first.
    fn take_offline(&mut self, to: &str) -> StoreResult<Vec<Offline>>;
    /// Every login token kept.
    fn tokens(&mut self) -> StoreResult<Vec<StoredToken>>;
    /// Keeps a new login token.
    fn save_token(&mut self, token: &StoredToken) -> StoreResult<()>;
    /// Forgets the login token of `digest` (revoked or expired).
    fn forget_token(&mut self, digest: &str) -> StoreResult<()>;
    /// Makes every write since the last commit durable.
    fn commit(&mut self) -> StoreResult<()>;
    /// Every shared file's record (a store that keeps none: none, the
    /// dispatcher then holds them for the life of the process).
    fn files(&mut self) -> StoreResult<Vec<StoredFile>> {
        Ok(Vec::new())
    }
    /// Keeps a shared file's record.
    fn save_file(&mut self, _file: &StoredFile) -> StoreResult<()> {
        Ok(())
    }
    /// Forgets a shared file's record.
    fn forget_file(&mut self, _id: &str) -> StoreResult<()> {
        Ok(())
    }
}

/// The behaviour every store must share, run against each implementation.
#[cfg(test)]
pub(crate) fn exercise(store: &mut dyn Store) {
    let room = RoomId::of("Lobby");
    let entry = |at: u64| Entry {
        at,
        nick: "ana".into(),
        text: format!("m{at}"),
    };
    let stamps = |v: Vec<Entry>| v.iter().map(|e| e.at).collect::<Vec<_>>();
    for at in 1..=5 {
        store.append(&room, &entry(at)).unwrap();
    }
    store.append(&RoomId::of("other"), &entry(9)).unwrap();
    assert_eq!(
        stamps(store.page(&room, None, 50).unwrap()),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(stamps(store.page(&room, None, 2).unwrap()), vec![4, 5]);
    assert_eq!(stamps(store.page(&room, Some(4), 2).unwrap()), vec![2, 3]);
    assert_eq!(stamps(store.page(&room, Some(2), 2).unwrap()), vec![1]);
    assert!(store.page(&room, Some(1), 2).unwrap().is_empty());
    assert_eq!(store.page(&room, None, 1).unwrap()[0], entry(5));
    assert_eq!(stamps(store.page_after(&room, 2, 2).unwrap()), vec![3, 4]);
    assert_eq!(
        stamps(store.page_after(&room, 0, 50).unwrap()),
        vec![1, 2, 3, 4, 5]
    );
    assert!(store.page_after(&room, 5, 2).unwrap().is_empty());

    let saved = StoredRoom {
        name: "Lobby".into(),
        owner: "ana".into(),
        key: Some("hash".into()),
        created: 7,
        last_stamp: 0,
        settings: "flags moderated\ntopic 1 ana hello there\n".into(),
    };
    store.save_room(&saved).unwrap();
    let rooms = store.rooms().unwrap();
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0].name, "Lobby");
    assert_eq!(rooms[0].owner, "ana");
    assert_eq!(rooms[0].key.as_deref(), Some("hash"));
    assert_eq!(rooms[0].settings, saved.settings);
    let changed = StoredRoom {
        settings: "flags \n".into(),
        ..saved.clone()
    };
    store.save_room(&changed).unwrap();
    assert_eq!(store.rooms().unwrap()[0].settings, "flags \n");
    store.forget_room(&room).unwrap();
    assert!(store.rooms().unwrap().is_empty());
    assert!(store.page(&room, None, 50).unwrap().is_empty());
    assert_eq!(store.page(&RoomId::of("other"), None, 50).unwrap().len(), 1);

    store.save_account("Ana", "h1").unwrap();
    assert_eq!(store.accounts().unwrap(), vec![("Ana".into(), "h1".into())]);

    let w = |at: u64| Offline {
        at,
        from: "bob".into(),
        text: format!("w{at}"),
    };
    store.put_offline("Ana", &w(1)).unwrap();
    store.put_offline("ana", &w(2)).unwrap();
    assert_eq!(store.offline_count("ANA").unwrap(), 2);
    assert_eq!(store.take_offline("ana").unwrap(), vec![w(1), w(2)]);
    assert_eq!(store.offline_count("ana").unwrap(), 0);

    let token = |digest: &str| StoredToken {
        digest: digest.into(),
        account: "ana".into(),
        issued: 1,
        expires: 2,
    };
    store.save_token(&token("d1")).unwrap();
    store.save_token(&token("d2")).unwrap();
    store.forget_token("d1").unwrap();
    store.forget_token("nope").unwrap();
    assert_eq!(store.tokens().unwrap(), vec![token("d2")]);
    store.commit().unwrap();
}
