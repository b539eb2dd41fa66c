//! Shared files, the dispatcher's side: `UPLOAD` (checks, quotas, a one-time
//! ticket), the file message posted once the web door has stored an upload
//! (its record committed with the batch, before anyone sees the message),
//! and the files' end: with their room, or after `--file-retention`.
//!
//! The [`Shelf`] is what the dispatcher shares with the web door: the
//! tickets not yet used, the records of the files that may be downloaded,
//! and the [`Blobs`] that hold their bytes. Only the dispatcher adds to it;
//! a web connection takes a ticket (once) and reads records.

use super::Dispatcher;
use super::voice::Tone;
use crate::chat::ConnId;
use crate::ids::RoomId;
use crate::proto::chat1::Event;
use crate::proto::command::Upload;
use crate::proto::files as wire;
use crate::proto::refusal::{ErrCode, Refusal};
use crate::store::files::Blobs;
use crate::store::{StoredFile, now_ms};
use crossbeam_channel::Sender;
use log::{error, info};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How long a ticket waits for its upload to start.
pub const TICKET_LIFE: Duration = Duration::from_secs(600);

/// The limits on files, and where they are fetched from.
#[derive(Debug, Clone)]
pub struct FileLimits {
    /// Largest file, in bytes (`--max-file-size`).
    pub max_file_size: u64,
    /// Most bytes one user's files may take (`--user-files-quota`).
    pub user_quota: u64,
    /// Most bytes all files may take on disk (`--files-quota`).
    pub total_quota: u64,
    /// Files older than this are removed (`--file-retention`; zero: never).
    pub retention: Duration,
    /// The web door as clients reach it: `http://host:port`, no `/` at the end.
    pub base_url: String,
}

/// A one-time right to upload one file, got with `UPLOAD`.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// The session that asked: the file is posted as its message, if it is still there.
    pub conn: ConnId,
    pub target: Upload,
    /// Most bytes the upload may hold (what `UPLOAD` said).
    pub size: u64,
    /// The file's name, cleaned.
    pub name: String,
    /// Whose quota it counts against (the nick at `UPLOAD`, lower case).
    pub owner: String,
    expires: Instant,
}

/// What the web door and the dispatcher share.
#[derive(Debug)]
pub struct Shelf {
    pub blobs: Blobs,
    pub limits: FileLimits,
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    tickets: HashMap<String, Ticket>,
    files: HashMap<String, StoredFile>,
}

impl Shelf {
    /// A shelf over `blobs`, with `limits`.
    pub fn new(blobs: Blobs, limits: FileLimits) -> Shelf {
        Shelf {
            blobs,
            limits,
            table: Mutex::default(),
        }
    }

    /// Takes the ticket `token` names, once; `None` if it is unknown,
    /// used or expired.
    pub fn take_ticket(&self, token: &str) -> Option<Ticket> {
        let mut table = self.table.lock();
        let ticket = table.tickets.get(token)?;
        // An expired one stays for the dispatcher, which ends its reservation.
        if ticket.expires <= Instant::now() {
            return None;
        }
        table.tickets.remove(token)
    }

    /// The record of file `id`, if it may be downloaded.
    pub fn file(&self, id: &str) -> Option<StoredFile> {
        self.table.lock().files.get(id).cloned()
    }
}

/// What the web door is told of a stored upload: the download address, or why not.
pub type Posted = Result<String, Refusal>;

/// How an upload ended, sent by the web door to the dispatcher.
#[derive(Debug)]
pub enum Outcome {
    /// The bytes are in the store under `sha`: post the file.
    Stored {
        ticket: Ticket,
        sha: String,
        size: u64,
        kind: String,
        /// The download address, or why the file was not posted; answered
        /// once the record is committed.
        answer: Sender<Posted>,
    },
    /// The upload failed or was cut: its reservation ends.
    Failed { ticket: Ticket },
}

/// The dispatcher's own count of what files take.
#[derive(Debug)]
pub(super) struct Files {
    shelf: std::sync::Arc<Shelf>,
    /// Bytes of kept files per owner (lower case), duplicates counted.
    used_by: HashMap<String, u64>,
    /// Each kept digest: its size and how many records use it.
    blobs: HashMap<String, (u64, usize)>,
    /// Bytes on disk: each digest once.
    on_disk: u64,
    /// Bytes promised to tickets not yet settled, per owner and in all.
    reserved_by: HashMap<String, u64>,
    reserved: u64,
    /// Answers to the web door, sent after the next commit.
    answers: Vec<(Sender<Posted>, Posted)>,
}

impl Files {
    fn keep(&mut self, file: &StoredFile) {
        *self
            .used_by
            .entry(file.sender.to_ascii_lowercase())
            .or_default() += file.size;
        let entry = self.blobs.entry(file.sha.clone()).or_insert((file.size, 0));
        if entry.1 == 0 {
            self.on_disk += file.size;
        }
        entry.1 += 1;
    }

    /// Forgets a record; removes its bytes when no other record has them.
    fn drop_file(&mut self, file: &StoredFile) {
        if let Some(used) = self.used_by.get_mut(&file.sender.to_ascii_lowercase()) {
            *used = used.saturating_sub(file.size);
        }
        if let Some(entry) = self.blobs.get_mut(&file.sha) {
            entry.1 -= 1;
            if entry.1 == 0 {
                self.on_disk = self.on_disk.saturating_sub(entry.0);
                self.blobs.remove(&file.sha);
                self.shelf.blobs.remove(&file.sha);
            }
        }
    }

    fn release(&mut self, ticket: &Ticket) {
        if let Some(r) = self.reserved_by.get_mut(&ticket.owner) {
            *r = r.saturating_sub(ticket.size);
        }
        self.reserved = self.reserved.saturating_sub(ticket.size);
    }

    /// Ends the tickets nobody used in time.
    fn expire_tickets(&mut self) {
        let now = Instant::now();
        let gone: Vec<Ticket> = {
            let mut table = self.shelf.table.lock();
            let old: Vec<String> = table
                .tickets
                .iter()
                .filter(|(_, t)| t.expires <= now)
                .map(|(k, _)| k.clone())
                .collect();
            old.iter().filter_map(|k| table.tickets.remove(k)).collect()
        };
        for ticket in &gone {
            self.release(ticket);
        }
    }
}

fn no_files() -> Refusal {
    Refusal::new(
        ErrCode::NoFiles,
        "this server takes no files (its web door is off)",
    )
}

impl Dispatcher {
    /// Turns files on: loads the records kept, removes those past their
    /// retention and the bytes no record uses (an upload a crash cut off
    /// before its record was committed).
    ///
    /// # Errors
    /// The store cannot be read or written.
    pub fn with_files(&mut self, shelf: std::sync::Arc<Shelf>) -> crate::Result<()> {
        let kept = self.store.files()?;
        let mut files = Files {
            shelf,
            used_by: HashMap::new(),
            blobs: HashMap::new(),
            on_disk: 0,
            reserved_by: HashMap::new(),
            reserved: 0,
            answers: Vec::new(),
        };
        {
            let mut table = files.shelf.table.lock();
            for file in &kept {
                table.files.insert(file.id.clone(), file.clone());
            }
        }
        for file in &kept {
            files.keep(file);
        }
        let digests: HashSet<String> = files.blobs.keys().cloned().collect();
        let swept = files.shelf.blobs.sweep(&digests);
        if swept > 0 {
            info!("removed {swept} stored files that no record names");
        }
        self.files = Some(files);
        self.expire_files(now_ms());
        if !self.commit() {
            return Err(crate::Error::store("cannot remove expired files"));
        }
        Ok(())
    }

    /// `UPLOAD <target> <size> <name>`: checks the target and every limit,
    /// then gives a one-time upload address.
    pub(super) fn upload(
        &mut self,
        id: ConnId,
        target: Upload,
        size: u64,
        name: &str,
    ) -> Result<(), Refusal> {
        let owner = self.chat.nick(id).to_ascii_lowercase();
        match &target {
            Upload::Room(room) => {
                // Whoever may not SAY there (not a member, banned, muted,
                // moderated, slow mode) is told now, not after the upload.
                let before = self
                    .chat
                    .room(room)
                    .and_then(|r| r.mods.last_said.get(&id).copied());
                let checked = self.chat.may_say(id, room, now_ms())?;
                // The slow-mode clock starts when the file is posted, not now.
                match before {
                    Some(at) => checked.mods.last_said.insert(id, at),
                    None => checked.mods.last_said.remove(&id),
                };
            }
            Upload::Nick(nick) => {
                let known = self.chat.find(nick).is_some()
                    || self.accounts.contains_key(&nick.to_ascii_lowercase());
                if !known {
                    return Err(Refusal::new(
                        ErrCode::NoSuchUser,
                        format!("there is no user {nick}"),
                    ));
                }
            }
        }
        let Some(files) = self.files.as_mut() else {
            return Err(no_files());
        };
        let limits = &files.shelf.limits;
        if size > limits.max_file_size {
            return Err(Refusal::new(
                ErrCode::FileTooLarge,
                format!(
                    "the file has {size} bytes; at most {} are taken (--max-file-size)",
                    limits.max_file_size
                ),
            ));
        }
        files.expire_tickets();
        let limits = &files.shelf.limits;
        let mine = files.used_by.get(&owner).copied().unwrap_or(0)
            + files.reserved_by.get(&owner).copied().unwrap_or(0);
        if mine.saturating_add(size) > limits.user_quota {
            return Err(Refusal::new(
                ErrCode::QuotaFull,
                format!(
                    "your files take {mine} of your {} bytes; this one has {size} (--user-files-quota)",
                    limits.user_quota
                ),
            ));
        }
        let all = files.on_disk + files.reserved;
        if all.saturating_add(size) > limits.total_quota {
            return Err(Refusal::new(
                ErrCode::QuotaFull,
                format!(
                    "the server's files take {all} of its {} bytes; this one has {size} (--files-quota)",
                    limits.total_quota
                ),
            ));
        }
        let token = crate::secret::new_token().map_err(|e| {
            error!("no token for an upload: {e}");
            no_files()
        })?;
        let url = wire::upload_url(&limits.base_url, &token);
        let ticket = Ticket {
            conn: id,
            target,
            size,
            name: wire::clean_name(name),
            owner: owner.clone(),
            expires: Instant::now() + TICKET_LIFE,
        };
        *files.reserved_by.entry(owner).or_default() += size;
        files.reserved += size;
        files.shelf.table.lock().tickets.insert(token, ticket);
        let mut out = Vec::new();
        let event = Event::Ok {
            verb: "UPLOAD",
            detail: Some(&url),
        };
        self.voice(id).event(&event, &mut out);
        self.reply(id, out);
        Ok(())
    }

    /// An upload ended: posts the file as its sender's message (record
    /// first, in the same commit), or lets its reservation go.
    pub(super) fn upload_ended(&mut self, outcome: Outcome) {
        let Some(files) = self.files.as_mut() else {
            return;
        };
        let (ticket, sha, size, kind, answer) = match outcome {
            Outcome::Failed { ticket } => {
                files.release(&ticket);
                return;
            }
            Outcome::Stored {
                ticket,
                sha,
                size,
                kind,
                answer,
            } => (ticket, sha, size, kind, answer),
        };
        files.release(&ticket);
        let posted = self.post_file(&ticket, &sha, size, &kind);
        let Some(files) = self.files.as_mut() else {
            return;
        };
        if posted.is_err() && !files.blobs.contains_key(&sha) {
            files.shelf.blobs.remove(&sha);
        }
        if let Err(refusal) = &posted
            && self.clients.contains_key(&ticket.conn)
        {
            self.refuse(ticket.conn, refusal);
        }
        if let Some(files) = self.files.as_mut() {
            files.answers.push((answer, posted));
        }
    }

    /// Keeps the record of an uploaded file and says it to its room or
    /// its recipient; the download address, or why not.
    fn post_file(
        &mut self,
        ticket: &Ticket,
        sha: &str,
        size: u64,
        kind: &str,
    ) -> Result<String, Refusal> {
        if !self.clients.contains_key(&ticket.conn) {
            return Err(Refusal::new(
                ErrCode::NoSuchUser,
                "the session that asked for this upload has ended",
            ));
        }
        let Some(files) = self.files.as_ref() else {
            return Err(no_files());
        };
        let on_disk = files.shelf.blobs.path(sha).is_some_and(|p| p.exists());
        if !on_disk {
            return Err(Refusal::new(
                ErrCode::NoFiles,
                "the file went missing while it was stored: send it again",
            ));
        }
        let fresh = !files.blobs.contains_key(sha);
        if fresh && files.on_disk.saturating_add(size) > files.shelf.limits.total_quota {
            return Err(Refusal::new(
                ErrCode::QuotaFull,
                "the server's file space filled up meanwhile (--files-quota)",
            ));
        }
        let file_id = crate::secret::new_token()
            .map(|t| t[..32].to_string())
            .map_err(|_| no_files())?;
        let url = wire::download_url(&files.shelf.limits.base_url, &file_id, &ticket.name);
        let text = wire::message_text(&ticket.name, size, kind, &url);
        let room = match &ticket.target {
            Upload::Room(room) => {
                self.say(ticket.conn, room, &text, Tone::Said)?;
                Some(RoomId::of(room))
            }
            Upload::Nick(nick) => {
                self.whisper(ticket.conn, nick, &text, Tone::Said)?;
                None
            }
        };
        let record = StoredFile {
            id: file_id.clone(),
            sha: sha.to_string(),
            size,
            kind: kind.to_string(),
            name: ticket.name.clone(),
            sender: self.chat.nick(ticket.conn).to_string(),
            room,
            at: now_ms(),
        };
        if let Err(e) = self.store.save_file(&record) {
            error!("cannot keep the record of file {file_id}: {e}");
        }
        if let Some(files) = self.files.as_mut() {
            files.keep(&record);
            files.shelf.table.lock().files.insert(file_id, record);
        }
        info!(
            "conn {}: file {} ({size} bytes) posted",
            ticket.conn, ticket.name
        );
        Ok(url)
    }

    /// Sends the web door the answers of the uploads whose records are now committed.
    pub(super) fn answer_uploads(&mut self) {
        if let Some(files) = self.files.as_mut() {
            for (to, answer) in files.answers.drain(..) {
                let _ = to.send(answer);
            }
        }
    }

    /// A room is gone: its files go with it.
    pub(super) fn forget_files(&mut self, room: &RoomId) {
        self.drop_files_where(|f| f.room.as_ref() == Some(room));
    }

    /// Removes the files older than `--file-retention`.
    pub(super) fn expire_files(&mut self, now_ms: u64) {
        let Some(files) = self.files.as_ref() else {
            return;
        };
        let keep = files.shelf.limits.retention;
        if keep.is_zero() {
            return;
        }
        let keep = u64::try_from(keep.as_millis()).unwrap_or(u64::MAX);
        let gone = self.drop_files_where(|f| now_ms.saturating_sub(f.at) >= keep);
        if gone > 0 {
            info!("removed {gone} files past --file-retention");
        }
    }

    /// Removes the files `doomed` picks, records and (unshared) bytes; how many.
    fn drop_files_where(&mut self, doomed: impl Fn(&StoredFile) -> bool) -> usize {
        let Some(files) = self.files.as_mut() else {
            return 0;
        };
        let gone: Vec<StoredFile> = {
            let mut table = files.shelf.table.lock();
            let ids: Vec<String> = table
                .files
                .values()
                .filter(|f| doomed(f))
                .map(|f| f.id.clone())
                .collect();
            ids.iter().filter_map(|id| table.files.remove(id)).collect()
        };
        for file in &gone {
            files.drop_file(file);
        }
        for file in &gone {
            if let Err(e) = self.store.forget_file(&file.id) {
                error!("cannot forget file {}: {e}", file.id);
            }
        }
        gone.len()
    }
}
