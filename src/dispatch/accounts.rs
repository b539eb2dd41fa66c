//! Accounts: logging in to a registered nick and registering one. Argon2
//! takes tens of milliseconds on purpose, so the dispatcher hands hashing and
//! checking to the password worker thread ([`work`]) and carries on; the
//! answer comes back as an ordinary dispatcher input, and the connection's
//! later lines wait for it so that they apply in order.

use super::{Dispatcher, Input};
use crate::ids::ConnId;
use crate::proto::chat1::Event;
use crate::proto::command::is_guest_nick;
use crate::proto::refusal::{ErrCode, Refusal};
use crate::secret;
use crossbeam_channel::{Receiver, Sender};
use log::{error, info};
use std::collections::VecDeque;

/// Work for the password worker.
#[derive(Debug)]
pub enum Job {
    /// Check `password` against the account's `hash` for a `NICK nick password`.
    Verify {
        id: ConnId,
        nick: String,
        password: String,
        hash: String,
    },
    /// Hash `password` for a `REGISTER` of `nick`.
    Hash {
        id: ConnId,
        nick: String,
        password: String,
    },
}

/// Runs jobs until the dispatcher drops its sender; answers go to `inputs`.
pub fn work(jobs: &Receiver<Job>, inputs: &Sender<Input>) {
    for job in jobs {
        let answer = match job {
            Job::Verify {
                id,
                nick,
                password,
                hash,
            } => Input::Verified {
                id,
                ok: secret::verify_password(&password, &hash),
                nick,
            },
            Job::Hash { id, nick, password } => Input::Hashed {
                id,
                hash: secret::hash_password(&password),
                nick,
            },
        };
        if inputs.send(answer).is_err() {
            return; // The dispatcher has stopped.
        }
    }
}

impl Dispatcher {
    pub(super) fn nick(
        &mut self,
        id: ConnId,
        nick: &str,
        password: Option<String>,
    ) -> Result<(), Refusal> {
        let Some((_, hash)) = self.accounts.get(&nick.to_ascii_lowercase()) else {
            return self.rename(id, nick);
        };
        if self.chat.find(nick).is_some_and(|holder| holder != id) {
            return Err(Refusal::new(
                ErrCode::NickTaken,
                format!("{nick} is already in use"),
            ));
        }
        let Some(password) = password else {
            let how = self.voice(id).login_hint(nick);
            return Err(Refusal::new(
                ErrCode::BadPassword,
                format!("{nick} is registered: {how}"),
            ));
        };
        self.ask(
            id,
            Job::Verify {
                id,
                nick: nick.to_string(),
                password,
                hash: hash.clone(),
            },
        )
    }

    /// Hands password work to the worker; its answer comes back as an input.
    /// The connection's next lines wait for it, so they apply in order.
    pub(super) fn ask(&mut self, id: ConnId, job: Job) -> Result<(), Refusal> {
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok());
        if sent {
            self.waiting.insert(id, VecDeque::new());
            Ok(())
        } else {
            Err(Refusal::new(
                ErrCode::BadPassword,
                "passwords cannot be checked right now",
            ))
        }
    }

    /// The answer to a `NICK nick password`, then the lines that waited for it.
    pub(super) fn verified(&mut self, id: ConnId, nick: &str, ok: bool) {
        self.log_in(id, nick, ok);
        self.resume(id);
    }

    /// Renames and logs in `id` if `ok`, and hands over its waiting whispers.
    pub(super) fn log_in(&mut self, id: ConnId, nick: &str, ok: bool) {
        if !self.clients.contains_key(&id) {
            return;
        }
        if !ok {
            let refusal = Refusal::new(ErrCode::BadPassword, format!("wrong password for {nick}"));
            return self.refuse(id, &refusal);
        }
        if let Err(refusal) = self.rename(id, nick) {
            return self.refuse(id, &refusal);
        }
        self.chat.log_in(id);
        info!("conn {id} logged in as {nick}");
        let waiting = self.store.take_offline(nick).unwrap_or_else(|e| {
            error!("cannot read whispers for {nick}: {e}");
            Vec::new()
        });
        let voice = self.voice(id);
        let mut out = Vec::new();
        for w in &waiting {
            let event = Event::Offline {
                at: w.at,
                from: &w.from,
                text: &w.text,
            };
            voice.event(&event, &mut out);
        }
        voice.event(&Event::EndOffline, &mut out);
        self.reply(id, out);
    }

    pub(super) fn register(&mut self, id: ConnId, password: String) -> Result<(), Refusal> {
        let nick = self.chat.nick(id).to_string();
        if is_guest_nick(&nick) {
            return Err(Refusal::new(
                ErrCode::NickReserved,
                "guests cannot register: pick a nickname with NICK first",
            ));
        }
        let key = nick.to_ascii_lowercase();
        if self.accounts.contains_key(&key) || self.registering.contains(&key) {
            return Err(Refusal::new(
                ErrCode::AlreadyRegistered,
                format!("{nick} is already registered"),
            ));
        }
        self.ask(
            id,
            Job::Hash {
                id,
                nick: nick.clone(),
                password,
            },
        )?;
        self.registering.push(key);
        Ok(())
    }

    /// The answer to a `REGISTER`, then the lines that waited for it.
    pub(super) fn hashed(&mut self, id: ConnId, nick: &str, hash: crate::Result<String>) {
        self.save_account(id, nick, hash);
        self.resume(id);
    }

    /// Saves the account and logs the user in.
    pub(super) fn save_account(&mut self, id: ConnId, nick: &str, hash: crate::Result<String>) {
        let key = nick.to_ascii_lowercase();
        self.registering.retain(|k| *k != key);
        let hash = match hash {
            Ok(hash) => hash,
            Err(e) => {
                error!("REGISTER {nick}: {e}");
                let refusal =
                    Refusal::new(ErrCode::BadPassword, "the password could not be hashed");
                return self.refuse(id, &refusal);
            }
        };
        if !self.chat.nick(id).eq_ignore_ascii_case(nick) {
            let refusal = Refusal::new(
                ErrCode::NickTaken,
                format!("you are no longer {nick}: register again"),
            );
            return self.refuse(id, &refusal);
        }
        if let Err(e) = self.store.save_account(nick, &hash) {
            error!("cannot save account {nick}: {e}");
            return self.refuse(
                id,
                &Refusal::new(ErrCode::BadPassword, "the account could not be saved"),
            );
        }
        self.accounts.insert(key, (nick.to_string(), hash));
        self.chat.log_in(id);
        info!("conn {id} registered {nick}");
        let mut out = Vec::new();
        let event = Event::Ok {
            verb: "REGISTER",
            detail: Some(nick),
        };
        self.voice(id).event(&event, &mut out);
        self.reply(id, out);
    }
}
