//! Room keys: a `JOIN` with a key waits for the password workers, like a
//! login. Its key is hashed (Argon2id) when it creates a room, or checked
//! against a locked room's hash; then the `JOIN` is applied with what they
//! found, as if it had just arrived: if the room changed meanwhile (created,
//! deleted, locked anew), it goes back to the workers. A matching key of an
//! older server's kind (salted SHA-256) is hashed anew and replaces it.

use super::Dispatcher;
use super::accounts::Job;
use crate::chat::Key;
use crate::ids::ConnId;
use crate::proto::irc;
use crate::proto::refusal::{ErrCode, Refusal};
use crate::secret;
use log::{error, info};

/// What the password workers found out about the key of a `JOIN`.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// The room's hash the key was checked against, and whether it matched.
    pub(super) checked: Option<(String, bool)>,
    /// The key hashed: the lock of the room this `JOIN` creates, or the new
    /// hash of a room whose older-kind hash it matched.
    pub(super) hashed: Option<String>,
}

impl Key for &Found {
    fn opens(&self, hash: &str) -> bool {
        matches!(&self.checked, Some((checked, true)) if checked == hash)
    }

    fn lock(&self) -> Option<String> {
        self.hashed.clone()
    }
}

impl Dispatcher {
    /// The work a `JOIN name key` by `id` needs before it can be applied, if
    /// any: a check of the key against the room's hash, or a hash of it for
    /// the room it creates. A key for an unlocked room, or from a member, needs none.
    pub(super) fn key_work(&self, id: ConnId, name: &str, key: &str, found: &Found) -> Option<Job> {
        match self.chat.room(name) {
            Some(room) if room.has(id) => None,
            // An invitation (or an admin) needs no key.
            Some(_) if self.chat.passes_locks(id, name) => None,
            Some(room) => {
                let hash = room.key.as_ref()?;
                let known = found.checked.as_ref().is_some_and(|(h, _)| h == hash);
                (!known).then(|| Job::CheckKey {
                    id,
                    room: name.to_string(),
                    key: key.to_string(),
                    hash: hash.clone(),
                })
            }
            None => found.hashed.is_none().then(|| Job::HashKey {
                id,
                room: name.to_string(),
                key: key.to_string(),
                set: false,
            }),
        }
    }

    /// After a successful `JOIN` whose key matched an older-kind hash: the
    /// room's hash becomes the new Argon2id one, saved with an account's room.
    pub(super) fn replace_old_key(&mut self, id: ConnId, name: &str, found: Found) {
        let (Some((old, true)), Some(new)) = (found.checked, found.hashed) else {
            return;
        };
        if !secret::is_old_key(&old) {
            return;
        }
        let Ok(room) = self.chat.member_room(id, name) else {
            return;
        };
        if room.key.as_deref() != Some(old.as_str()) {
            return;
        }
        room.key = Some(new);
        if let Some(saved) = room.stored() {
            if let Err(e) = self.store.save_room(&saved) {
                error!("cannot save the new key hash of {name}: {e}");
                return;
            }
            info!("room {name}: its key hash is Argon2id now");
        }
    }

    /// The workers checked the key of `id`'s `JOIN room key`.
    pub(super) fn key_checked(&mut self, id: ConnId, room: &str, key: &str, found: Found) {
        self.join_answered(id, room, key, Ok(found));
    }

    /// The workers hashed the key of `id`'s `JOIN room key`.
    pub(super) fn key_hashed(
        &mut self,
        id: ConnId,
        room: &str,
        key: &str,
        hash: crate::Result<String>,
    ) {
        let found = hash.map(|hashed| Found {
            checked: None,
            hashed: Some(hashed),
        });
        self.join_answered(id, room, key, found);
    }

    /// Applies a `JOIN` with what the workers found, then the lines that
    /// waited for it, unless it needs the workers again.
    fn join_answered(&mut self, id: ConnId, room: &str, key: &str, found: crate::Result<Found>) {
        if !self.clients.contains_key(&id) {
            return; // Gone meanwhile; its waiting lines went with it.
        }
        let queued = self.waiting.remove(&id).unwrap_or_default();
        let done = match found {
            Ok(found) => self.join_with(id, room, Some(key), found),
            Err(e) => {
                error!("JOIN {room}: {e}");
                Err(Refusal::new(ErrCode::BadKey, "the key could not be hashed"))
            }
        };
        if let Err(refusal) = done {
            let subject = irc::Subject::Channel(irc::channel(room));
            self.refuse_about(id, &refusal, &subject);
        }
        if let Some(again) = self.waiting.get_mut(&id) {
            // The room changed meanwhile: back to the workers, lines still waiting.
            again.extend(queued);
            return;
        }
        self.waiting.insert(id, queued);
        self.resume(id);
    }
}
