//! The durable [`Store`]: one SQLite file in WAL mode. Writes of a batch go
//! into one transaction that [`Store::commit`] ends, so a burst of messages
//! costs one commit, not one per message.
//!
//! Durability: with `synchronous = NORMAL` in WAL mode a committed
//! transaction is in the WAL file (in the OS) before `commit` returns, so it
//! survives the server process being killed (`kill -9`); only a power loss
//! before the next checkpoint could lose the newest commits.

use crate::error::Error;
use crate::ids::RoomId;
use crate::store::{Entry, Offline, Store, StoreResult, StoredRoom, now_ms};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};

/// The schema this build writes; kept in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE accounts (
    nick_key TEXT PRIMARY KEY,
    nick     TEXT NOT NULL,
    hash     TEXT NOT NULL,
    created  INTEGER NOT NULL
);
CREATE TABLE rooms (
    room_key TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    owner    TEXT NOT NULL,
    key_hash TEXT,
    created  INTEGER NOT NULL
);
CREATE TABLE messages (
    id       INTEGER PRIMARY KEY,
    room_key TEXT NOT NULL,
    at       INTEGER NOT NULL,
    nick     TEXT NOT NULL,
    text     TEXT NOT NULL
);
CREATE INDEX messages_by_room ON messages (room_key, at);
CREATE TABLE offline (
    id     INTEGER PRIMARY KEY,
    to_key TEXT NOT NULL,
    at     INTEGER NOT NULL,
    sender TEXT NOT NULL,
    text   TEXT NOT NULL
);
CREATE INDEX offline_by_recipient ON offline (to_key, id);
";

/// A SQLite database in a data directory.
pub struct SqliteStore {
    db: Connection,
    path: PathBuf,
    /// A transaction is open (begun by the first write since the last commit).
    writing: bool,
}

fn fail(what: &str, path: &Path, e: impl std::fmt::Display) -> Error {
    Error::store(format!("{what} {}: {e}", path.display()))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl SqliteStore {
    /// Opens (creating if needed) `dir/sala.db`.
    ///
    /// # Errors
    /// The directory cannot be created or written, the file is not a Sala
    /// database or is damaged, or its schema is newer than this build's.
    pub fn open(dir: &Path) -> StoreResult<SqliteStore> {
        std::fs::create_dir_all(dir).map_err(|e| fail("cannot create data directory", dir, e))?;
        let probe = dir.join(".sala-write-test");
        std::fs::write(&probe, b"ok")
            .map_err(|e| fail("cannot write in data directory", dir, e))?;
        let _ = std::fs::remove_file(&probe);
        let path = dir.join("sala.db");
        let db = Connection::open(&path).map_err(|e| fail("cannot open", &path, e))?;
        let mut store = SqliteStore {
            db,
            path,
            writing: false,
        };
        store.prepare()?;
        store.prune()?;
        Ok(store)
    }

    /// Checks the file and brings its schema to [`SCHEMA_VERSION`].
    fn prepare(&mut self) -> StoreResult<()> {
        let path = self.path.clone();
        let check: String = self
            .db
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| fail("damaged or not a database:", &path, e))?;
        if check != "ok" {
            return Err(fail("damaged database:", &path, check));
        }
        self.db
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| fail("cannot use WAL in", &path, e))?;
        self.db
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| fail("cannot set synchronous on", &path, e))?;
        let version: i64 = self
            .db
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| fail("cannot read schema version of", &path, e))?;
        match version {
            0 => {
                let tables: i64 = self
                    .db
                    .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                    .map_err(|e| fail("cannot read", &path, e))?;
                if tables != 0 {
                    return Err(fail("not a Sala database (unknown tables):", &path, tables));
                }
                self.db
                    .execute_batch(&format!(
                        "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                    ))
                    .map_err(|e| fail("cannot create the schema in", &path, e))
            }
            SCHEMA_VERSION => Ok(()),
            v if v > SCHEMA_VERSION => Err(fail(
                "schema is newer than this server understands:",
                &path,
                format!("version {v}, this build knows {SCHEMA_VERSION}; use a newer Sala"),
            )),
            v => Err(fail("unknown schema version in", &path, v)),
        }
    }

    /// Forgets the history of rooms that did not outlive the last run: rooms of
    /// guests and unregistered nicks vanish when their members are gone, and
    /// at a restart every member is gone.
    fn prune(&mut self) -> StoreResult<()> {
        self.db
            .execute(
                "DELETE FROM messages WHERE room_key NOT IN (SELECT room_key FROM rooms)",
                [],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Opens a transaction for the writes of this batch, once.
    fn begin(&mut self) -> StoreResult<()> {
        if !self.writing {
            self.db.execute_batch("BEGIN").map_err(|e| self.err(e))?;
            self.writing = true;
        }
        Ok(())
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        fail("database error in", &self.path, e)
    }
}

impl Store for SqliteStore {
    fn rooms(&mut self) -> StoreResult<Vec<StoredRoom>> {
        let mut stmt = self
            .db
            .prepare(
                "SELECT r.name, r.owner, r.key_hash, r.created,
                        (SELECT max(at) FROM messages m WHERE m.room_key = r.room_key)
                 FROM rooms r ORDER BY r.room_key",
            )
            .map_err(|e| fail("database error in", &self.path, e))?;
        stmt.query_map([], |r| {
            Ok(StoredRoom {
                name: r.get(0)?,
                owner: r.get(1)?,
                key: r.get(2)?,
                created: to_u64(r.get(3)?),
                last_stamp: to_u64(r.get::<_, Option<i64>>(4)?.unwrap_or(0)),
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| fail("database error in", &self.path, e))
    }

    fn accounts(&mut self) -> StoreResult<Vec<(String, String)>> {
        let mut stmt = self
            .db
            .prepare("SELECT nick, hash FROM accounts ORDER BY nick_key")
            .map_err(|e| fail("database error in", &self.path, e))?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(|e| fail("database error in", &self.path, e))
    }

    fn append(&mut self, room: &RoomId, entry: &Entry) -> StoreResult<()> {
        self.begin()?;
        self.db
            .prepare_cached(
                "INSERT INTO messages (room_key, at, nick, text) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    room.as_str(),
                    to_i64(entry.at),
                    entry.nick,
                    entry.text
                ])
            })
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn page(
        &mut self,
        room: &RoomId,
        before: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<Entry>> {
        let before = before.map_or(i64::MAX, to_i64);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .db
            .prepare_cached(
                "SELECT at, nick, text FROM messages WHERE room_key = ?1 AND at < ?2
                 ORDER BY at DESC LIMIT ?3",
            )
            .map_err(|e| fail("database error in", &self.path, e))?;
        let mut rows: Vec<Entry> = stmt
            .query_map(params![room.as_str(), before, limit], |r| {
                Ok(Entry {
                    at: to_u64(r.get(0)?),
                    nick: r.get(1)?,
                    text: r.get(2)?,
                })
            })
            .and_then(Iterator::collect)
            .map_err(|e| fail("database error in", &self.path, e))?;
        rows.reverse();
        Ok(rows)
    }

    fn save_room(&mut self, room: &StoredRoom) -> StoreResult<()> {
        self.begin()?;
        self.db
            .execute(
                "INSERT INTO rooms (room_key, name, owner, key_hash, created) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (room_key) DO UPDATE SET name = ?2, owner = ?3, key_hash = ?4",
                params![
                    RoomId::of(&room.name).as_str(),
                    room.name,
                    room.owner,
                    room.key,
                    to_i64(room.created)
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn forget_room(&mut self, room: &RoomId) -> StoreResult<()> {
        self.begin()?;
        self.db
            .execute("DELETE FROM rooms WHERE room_key = ?1", [room.as_str()])
            .and_then(|_| {
                self.db
                    .execute("DELETE FROM messages WHERE room_key = ?1", [room.as_str()])
            })
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn save_account(&mut self, nick: &str, hash: &str) -> StoreResult<()> {
        self.begin()?;
        self.db
            .execute(
                "INSERT INTO accounts (nick_key, nick, hash, created) VALUES (?1, ?2, ?3, ?4)",
                params![nick.to_ascii_lowercase(), nick, hash, to_i64(now_ms())],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn put_offline(&mut self, to: &str, whisper: &Offline) -> StoreResult<()> {
        self.begin()?;
        self.db
            .prepare_cached(
                "INSERT INTO offline (to_key, at, sender, text) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    to.to_ascii_lowercase(),
                    to_i64(whisper.at),
                    whisper.from,
                    whisper.text
                ])
            })
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn offline_count(&mut self, to: &str) -> StoreResult<usize> {
        let n: i64 = self
            .db
            .query_row(
                "SELECT count(*) FROM offline WHERE to_key = ?1",
                [to.to_ascii_lowercase()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?
            .unwrap_or(0);
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn take_offline(&mut self, to: &str) -> StoreResult<Vec<Offline>> {
        let key = to.to_ascii_lowercase();
        let mut stmt = self
            .db
            .prepare_cached("SELECT at, sender, text FROM offline WHERE to_key = ?1 ORDER BY id")
            .map_err(|e| fail("database error in", &self.path, e))?;
        let taken: Vec<Offline> = stmt
            .query_map([&key], |r| {
                Ok(Offline {
                    at: to_u64(r.get(0)?),
                    from: r.get(1)?,
                    text: r.get(2)?,
                })
            })
            .and_then(Iterator::collect)
            .map_err(|e| fail("database error in", &self.path, e))?;
        drop(stmt);
        if !taken.is_empty() {
            self.begin()?;
            self.db
                .execute("DELETE FROM offline WHERE to_key = ?1", [&key])
                .map_err(|e| self.err(e))?;
        }
        Ok(taken)
    }

    fn commit(&mut self) -> StoreResult<()> {
        if self.writing {
            self.writing = false;
            self.db.execute_batch("COMMIT").map_err(|e| self.err(e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_store_behaves_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path()).unwrap();
        crate::store::exercise(&mut store);
        let kept = StoredRoom {
            name: "kept".into(),
            owner: "ana".into(),
            key: None,
            created: 1,
            last_stamp: 0,
        };
        store.save_room(&kept).unwrap();
        store
            .append(
                &RoomId::of("kept"),
                &Entry {
                    at: 42,
                    nick: "ana".into(),
                    text: "still here".into(),
                },
            )
            .unwrap();
        store.commit().unwrap();
        drop(store);
        let mut again = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(
            again.page(&RoomId::of("kept"), None, 10).unwrap()[0].text,
            "still here"
        );
        assert_eq!(again.accounts().unwrap().len(), 1);
    }

    #[test]
    fn uncommitted_writes_are_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path()).unwrap();
        let e = Entry {
            at: 1,
            nick: "a".into(),
            text: "lost".into(),
        };
        store.append(&RoomId::of("r"), &e).unwrap();
        drop(store); // No commit: the open transaction rolls back.
        let mut again = SqliteStore::open(dir.path()).unwrap();
        assert!(again.page(&RoomId::of("r"), None, 10).unwrap().is_empty());
    }

    #[test]
    fn refuses_garbage_and_newer_schemas() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sala.db"), vec![0x5a; 8192]).unwrap();
        let err = SqliteStore::open(dir.path()).err().unwrap();
        assert!(
            err.to_string().contains("not a database") || err.to_string().contains("damaged"),
            "{err}"
        );

        let dir = tempfile::tempdir().unwrap();
        drop(SqliteStore::open(dir.path()).unwrap());
        let db = Connection::open(dir.path().join("sala.db")).unwrap();
        db.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(db);
        let err = SqliteStore::open(dir.path()).err().unwrap();
        assert!(err.to_string().contains("newer"), "{err}");
    }

    #[test]
    fn refuses_a_data_dir_it_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let err = SqliteStore::open(&file).err().unwrap();
        assert!(err.to_string().contains("data directory"), "{err}");
    }
}
