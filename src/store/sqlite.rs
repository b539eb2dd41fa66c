//! The durable [`Store`]: one SQLite file in WAL mode. Writes of a batch go
//! into one transaction that [`Store::commit`] ends, so a burst of messages
//! costs one commit, not one per message.
//!
//! Durability: with `synchronous = NORMAL` in WAL mode a committed
//! transaction is in the WAL file (in the OS) before `commit` returns, so it
//! survives the server process being killed (`kill -9`); only a power loss
//! before the next checkpoint could lose the newest commits.
//!
//! At rest: the data directory is `0700` and the database files `0600`
//! (history, whispers and password hashes are nobody else's business). An
//! existing `sala.db` is read, never written, until it is known to be Sala's:
//! an empty file or another program's database is refused as it is.

use crate::error::Error;
use crate::ids::RoomId;
use crate::store::{
    Entry, Offline, Store, StoreResult, StoredFile, StoredRoom, StoredToken, now_ms,
};
use log::info;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The schema this build writes; kept in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 1;

/// `PRAGMA application_id` of a Sala database: "SALA" in ASCII.
pub const APPLICATION_ID: i64 = 0x5341_4c41;

/// The database's file name in the data directory.
const DB_FILE: &str = "sala.db";

/// Where a new database is made before it is moved to [`DB_FILE`] whole.
const NEW_DB_FILE: &str = "sala.db.new";

/// What every SQLite database file starts with.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The tables of [`SCHEMA`]: a database from before the application id is
/// Sala's if it has them all.
const TABLES: [&str; 4] = ["accounts", "rooms", "messages", "offline"];

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

/// Login tokens (digests only) and rooms' moderation (topic, settings,
/// roles, bans, mutes), tables added after schema version 1: made if
/// missing at every open. Older builds of version 1 leave them alone.
const TOKENS_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tokens (
    digest  TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    issued  INTEGER NOT NULL,
    expires INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS room_settings (
    room_key TEXT PRIMARY KEY,
    settings TEXT NOT NULL
);
";

/// Shared files' records, a table added after schema version 1 like
/// [`TOKENS_SCHEMA`]. `room_key` is NULL for a file whispered.
const FILES_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS files (
    id       TEXT PRIMARY KEY,
    sha      TEXT NOT NULL,
    size     INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    name     TEXT NOT NULL,
    sender   TEXT NOT NULL,
    room_key TEXT,
    at       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS files_by_room ON files (room_key);
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

/// What an existing `sala.db` turned out to be, read without writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// Sala's, of this schema version.
    Sala,
    /// Sala's, made before databases carried the application id.
    SalaUnmarked,
    /// An SQLite database with nothing in it: the schema is made in it.
    Blank,
}

impl SqliteStore {
    /// Opens `dir/sala.db`, or creates it in a directory that has none.
    ///
    /// # Errors
    /// The directory cannot be created, made private or written; `sala.db`
    /// is empty, not a database, another program's, damaged, or of a newer
    /// schema than this build's. A file refused is left exactly as it was.
    pub fn open(dir: &Path) -> StoreResult<SqliteStore> {
        make_private_dir(dir)?;
        let probe = dir.join(".sala-write-test");
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&probe)
            .map_err(|e| fail("cannot write in data directory", dir, e))?;
        let _ = fs::remove_file(&probe);
        let path = dir.join(DB_FILE);
        let found = match fs::metadata(&path) {
            Ok(_) => Some(inspect(&path)?),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                create(dir, &path)?;
                None
            }
            Err(e) => return Err(fail("cannot read", &path, e)),
        };
        // Files an older Sala left readable by others become ours alone.
        for file in [DB_FILE, "sala.db-wal", "sala.db-shm"] {
            make_private_file(&dir.join(file))?;
        }
        let db = Connection::open(&path).map_err(|e| fail("cannot open", &path, e))?;
        let mut store = SqliteStore {
            db,
            path,
            writing: false,
        };
        store.prepare(found)?;
        store.prune()?;
        Ok(store)
    }

    /// Switches the file (known to be Sala's) to WAL and completes what an
    /// older or blank file lacks: the schema, the application id.
    fn prepare(&mut self, found: Option<Found>) -> StoreResult<()> {
        let path = self.path.clone();
        self.db
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| fail("cannot use WAL in", &path, e))?;
        self.db
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| fail("cannot set synchronous on", &path, e))?;
        self.db.execute_batch(TOKENS_SCHEMA).map_err(|e| {
            fail(
                "cannot add the tokens and room_settings tables to",
                &path,
                e,
            )
        })?;
        self.db
            .execute_batch(FILES_SCHEMA)
            .map_err(|e| fail("cannot add the files table to", &path, e))?;
        let complete = match found {
            None | Some(Found::Sala) => return Ok(()),
            Some(Found::Blank) => {
                info!(
                    "{}: an empty SQLite database; making Sala's tables in it",
                    path.display()
                );
                format!(
                    "BEGIN; {SCHEMA} PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                )
            }
            Some(Found::SalaUnmarked) => format!("PRAGMA application_id = {APPLICATION_ID};"),
        };
        self.db
            .execute_batch(&complete)
            .map_err(|e| fail("cannot create the schema in", &path, e))
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
            .and_then(|_| {
                self.db.execute(
                    "DELETE FROM files WHERE room_key IS NOT NULL
                     AND room_key NOT IN (SELECT room_key FROM rooms)",
                    [],
                )
            })
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

/// Creates `dir` as `0700` if missing (its parents as usual), and makes an
/// existing one `0700`: nobody else may list or open what is in it.
fn make_private_dir(dir: &Path) -> StoreResult<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| fail("cannot create data directory", dir, e))?;
    }
    match DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => {}
        Err(e) => return Err(fail("cannot create data directory", dir, e)),
    }
    fs::set_permissions(dir, Permissions::from_mode(0o700))
        .map_err(|e| fail("cannot make private (0700) the data directory", dir, e))
}

/// Makes `file` `0600` if it exists.
fn make_private_file(file: &Path) -> StoreResult<()> {
    match fs::set_permissions(file, Permissions::from_mode(0o600)) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(fail("cannot make private (0600)", file, e))
        }
        _ => Ok(()),
    }
}

/// Reads an existing `sala.db` without changing it, and says whether it is
/// Sala's: its first bytes, then (read-only) its application id, schema
/// version and tables, and a quick integrity check.
fn inspect(path: &Path) -> StoreResult<Found> {
    let mut head = Vec::with_capacity(100);
    fs::File::open(path)
        .and_then(|f| f.take(100).read_to_end(&mut head))
        .map_err(|e| fail("cannot read", path, e))?;
    if head.is_empty() {
        return Err(fail(
            "refusing",
            path,
            "the file is empty (0 bytes), where a database with every account should be; \
             it is not taken for a new one. Restore it from a backup, or remove it to start afresh",
        ));
    }
    if head.len() < 100 || !head.starts_with(SQLITE_HEADER) {
        return Err(fail(
            "refusing",
            path,
            "not a database (it does not start with the SQLite header); it was left as it is",
        ));
    }
    // SQLITE_OPEN_READ_ONLY: nothing below can write to the file, whatever it is.
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| fail("cannot open", path, e))?;
    let read = |e: rusqlite::Error| fail("damaged or not a database:", path, e);
    let check: String = db
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(read)?;
    if check != "ok" {
        return Err(fail("damaged database:", path, check));
    }
    let application: i64 = db
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(read)?;
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(read)?;
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(read)?;
    let found = match (application, version) {
        (APPLICATION_ID, SCHEMA_VERSION) => Found::Sala,
        (APPLICATION_ID | 0, v) if v > SCHEMA_VERSION => {
            return Err(fail(
                "schema is newer than this server understands:",
                path,
                format!("version {v}, this build knows {SCHEMA_VERSION}; use a newer Sala"),
            ));
        }
        (APPLICATION_ID, v) => {
            return Err(fail("unknown schema version in", path, v));
        }
        (0, 0) if tables.is_empty() => Found::Blank,
        (0, SCHEMA_VERSION) if TABLES.iter().all(|t| tables.iter().any(|n| n == t)) => {
            Found::SalaUnmarked
        }
        (0, _) => {
            return Err(fail(
                "refusing",
                path,
                format!(
                    "not a Sala database (schema version {version}, tables: {}); it was left as it is",
                    tables.join(", ")
                ),
            ));
        }
        (other, _) => {
            return Err(fail(
                "refusing",
                path,
                format!(
                    "not a Sala database (it belongs to another program, application id {other:#x}); it was left as it is"
                ),
            ));
        }
    };
    Ok(found)
}

/// Makes a new database under a temporary name and moves it to `path` whole,
/// so that `sala.db` is never a half-made file: a start that dies midway
/// leaves only the temporary name, made again at the next start. The file
/// is `0600` from its first byte (`open(2)` with `O_CREAT|O_EXCL`, mode
/// `0600`); SQLite gives its journal and WAL files the database's mode.
fn create(dir: &Path, path: &Path) -> StoreResult<()> {
    let new = dir.join(NEW_DB_FILE);
    for leftover in [NEW_DB_FILE, "sala.db.new-journal"] {
        match fs::remove_file(dir.join(leftover)) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                return Err(fail("cannot remove", &dir.join(leftover), e));
            }
            _ => {}
        }
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&new)
        .map_err(|e| fail("cannot create", &new, e))?;
    let db = Connection::open(&new).map_err(|e| fail("cannot open", &new, e))?;
    db.execute_batch(&format!(
        "BEGIN; {SCHEMA} PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
    ))
    .map_err(|e| fail("cannot create the schema in", &new, e))?;
    db.close().map_err(|(_, e)| fail("cannot close", &new, e))?;
    fs::rename(&new, path).map_err(|e| fail("cannot move in place", &new, e))?;
    info!("created {}", path.display());
    Ok(())
}

impl Store for SqliteStore {
    fn rooms(&mut self) -> StoreResult<Vec<StoredRoom>> {
        let mut stmt = self
            .db
            .prepare(
                "SELECT r.name, r.owner, r.key_hash, r.created,
                        (SELECT max(at) FROM messages m WHERE m.room_key = r.room_key),
                        (SELECT settings FROM room_settings s WHERE s.room_key = r.room_key)
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
                settings: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
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

    fn page_after(&mut self, room: &RoomId, after: u64, limit: usize) -> StoreResult<Vec<Entry>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .db
            .prepare_cached(
                "SELECT at, nick, text FROM messages WHERE room_key = ?1 AND at > ?2
                 ORDER BY at ASC LIMIT ?3",
            )
            .map_err(|e| fail("database error in", &self.path, e))?;
        stmt.query_map(params![room.as_str(), to_i64(after), limit], |r| {
            Ok(Entry {
                at: to_u64(r.get(0)?),
                nick: r.get(1)?,
                text: r.get(2)?,
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| fail("database error in", &self.path, e))
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
            .and_then(|_| {
                self.db.execute(
                    "INSERT INTO room_settings (room_key, settings) VALUES (?1, ?2)
                     ON CONFLICT (room_key) DO UPDATE SET settings = ?2",
                    params![RoomId::of(&room.name).as_str(), room.settings],
                )
            })
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn forget_room(&mut self, room: &RoomId) -> StoreResult<()> {
        self.begin()?;
        self.db
            .execute("DELETE FROM rooms WHERE room_key = ?1", [room.as_str()])
            .and_then(|_| {
                self.db.execute(
                    "DELETE FROM room_settings WHERE room_key = ?1",
                    [room.as_str()],
                )
            })
            .and_then(|_| {
                self.db
                    .execute("DELETE FROM messages WHERE room_key = ?1", [room.as_str()])
            })
            .and_then(|_| {
                self.db
                    .execute("DELETE FROM files WHERE room_key = ?1", [room.as_str()])
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

    fn tokens(&mut self) -> StoreResult<Vec<StoredToken>> {
        let mut stmt = self
            .db
            .prepare("SELECT digest, account, issued, expires FROM tokens ORDER BY issued")
            .map_err(|e| self.err(e))?;
        stmt.query_map([], |r| {
            Ok(StoredToken {
                digest: r.get(0)?,
                account: r.get(1)?,
                issued: to_u64(r.get(2)?),
                expires: to_u64(r.get(3)?),
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| fail("database error in", &self.path, e))
    }

    fn save_token(&mut self, token: &StoredToken) -> StoreResult<()> {
        self.begin()?;
        self.db
            .execute(
                "INSERT OR REPLACE INTO tokens (digest, account, issued, expires) VALUES (?1, ?2, ?3, ?4)",
                params![
                    token.digest,
                    token.account,
                    to_i64(token.issued),
                    to_i64(token.expires)
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn forget_token(&mut self, digest: &str) -> StoreResult<()> {
        self.begin()?;
        self.db
            .execute("DELETE FROM tokens WHERE digest = ?1", [digest])
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn files(&mut self) -> StoreResult<Vec<StoredFile>> {
        let mut stmt = self
            .db
            .prepare(
                "SELECT id, sha, size, kind, name, sender, room_key, at FROM files ORDER BY at",
            )
            .map_err(|e| fail("database error in", &self.path, e))?;
        stmt.query_map([], |r| {
            Ok(StoredFile {
                id: r.get(0)?,
                sha: r.get(1)?,
                size: to_u64(r.get(2)?),
                kind: r.get(3)?,
                name: r.get(4)?,
                sender: r.get(5)?,
                room: r.get::<_, Option<String>>(6)?.map(|k| RoomId::of(&k)),
                at: to_u64(r.get(7)?),
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| fail("database error in", &self.path, e))
    }

    fn save_file(&mut self, file: &StoredFile) -> StoreResult<()> {
        self.begin()?;
        self.db
            .execute(
                "INSERT OR REPLACE INTO files (id, sha, size, kind, name, sender, room_key, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    file.id,
                    file.sha,
                    to_i64(file.size),
                    file.kind,
                    file.name,
                    file.sender,
                    file.room.as_ref().map(RoomId::as_str),
                    to_i64(file.at)
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn forget_file(&mut self, id: &str) -> StoreResult<()> {
        self.begin()?;
        self.db
            .execute("DELETE FROM files WHERE id = ?1", [id])
            .map(drop)
            .map_err(|e| self.err(e))
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
            settings: String::new(),
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

    /// The files of `dir` and their bytes, to prove a refusal changed nothing.
    fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let name = e.file_name().to_string_lossy().into_owned();
                (name, fs::read(e.path()).unwrap())
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn an_empty_file_is_refused_not_taken_for_a_new_database() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("sala.db"), b"").unwrap();
        let before = snapshot(dir.path());
        let err = SqliteStore::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("sala.db") && err.contains("empty"), "{err}");
        assert_eq!(snapshot(dir.path()), before);
    }

    #[test]
    fn another_programs_database_is_refused_before_anything_writes_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sala.db");
        let other = Connection::open(&path).unwrap();
        other
            .execute_batch("CREATE TABLE t (x); PRAGMA user_version = 1;")
            .unwrap();
        drop(other);
        let before = snapshot(dir.path());
        let err = SqliteStore::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("not a Sala database"), "{err}");
        // Not switched to WAL, no -wal or -shm made, not a byte changed.
        assert_eq!(snapshot(dir.path()), before);

        let dir = tempfile::tempdir().unwrap();
        let other = Connection::open(dir.path().join("sala.db")).unwrap();
        other.execute_batch("PRAGMA application_id = 7;").unwrap();
        drop(other);
        let before = snapshot(dir.path());
        let err = SqliteStore::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("another program"), "{err}");
        assert_eq!(snapshot(dir.path()), before);
    }

    #[test]
    fn a_database_of_an_older_sala_is_kept_and_marked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sala.db");
        // As the server made it before the application id.
        let old = Connection::open(&path).unwrap();
        old.pragma_update(None, "journal_mode", "WAL").unwrap();
        old.execute_batch(&format!(
            "BEGIN; {SCHEMA} PRAGMA user_version = 1; COMMIT;
             INSERT INTO accounts VALUES ('ana', 'ana', 'h', 1);"
        ))
        .unwrap();
        drop(old);
        let mut store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.accounts().unwrap(), [("ana".into(), "h".into())]);
        let id: i64 = store
            .db
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap();
        assert_eq!(id, APPLICATION_ID);
        // A blank SQLite file holds nothing to lose: the schema is made in it.
        let dir = tempfile::tempdir().unwrap();
        let blank = Connection::open(dir.path().join("sala.db")).unwrap();
        blank
            .execute_batch("CREATE TABLE t (x); DROP TABLE t;")
            .unwrap();
        drop(blank);
        let mut store = SqliteStore::open(dir.path()).unwrap();
        crate::store::exercise(&mut store);
    }

    #[test]
    fn a_new_database_is_made_whole_and_private() {
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("data");
        // A creation that died midway left its temporary file.
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join(NEW_DB_FILE), b"half").unwrap();
        let mut store = SqliteStore::open(&dir).unwrap();
        store.save_account("ana", "h").unwrap();
        store.commit().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        let files: Vec<String> = snapshot(&dir).into_iter().map(|(n, _)| n).collect();
        assert_eq!(files, ["sala.db", "sala.db-shm", "sala.db-wal"]);
        for f in &files {
            assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
        }
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
