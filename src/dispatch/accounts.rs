//! Accounts: logging in to a registered nick and registering one. Argon2
//! takes tens of milliseconds on purpose, so the dispatcher hands hashing and
//! checking to a pool of password workers ([`work`]) through a bounded queue
//! and carries on; the answer comes back as an ordinary dispatcher input, and
//! the connection's later lines wait for it so that they apply in order. A
//! full queue refuses the command at once: the dispatcher never waits.
//! Wrong passwords are counted ([`super::logins`]): past five in a row, the
//! next try waits, and is refused at once until then.

use super::logins::{Wait, Who};
use super::{Dispatcher, Input};
use crate::ids::ConnId;
use crate::proto::chat1::Event;
use crate::proto::command::is_guest_nick;
use crate::proto::refusal::{ErrCode, Refusal};
use crate::secret;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use log::{error, info, warn};
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
    /// Check `password` against the account's `hash` for SASL PLAIN.
    Sasl {
        id: ConnId,
        account: String,
        password: String,
        hash: String,
    },
    /// Hash `password` for a `REGISTER` of `nick`.
    Hash {
        id: ConnId,
        nick: String,
        password: String,
    },
    /// Check `key` against the `hash` of `room` for a `JOIN room key`.
    CheckKey {
        id: ConnId,
        room: String,
        key: String,
        hash: String,
    },
    /// Hash `key` for a `JOIN room key` that creates the room, or for a
    /// `SET room key key` (`set`).
    HashKey {
        id: ConnId,
        room: String,
        key: String,
        set: bool,
    },
    /// Check `password` against the admin `account`'s `hash` for IRC's `OPER`.
    Oper {
        id: ConnId,
        account: String,
        password: String,
        hash: String,
    },
}

/// Runs jobs until the dispatcher drops its sender; answers go to `inputs`.
/// Several workers may share one job queue.
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
            Job::Sasl {
                id,
                account,
                password,
                hash,
            } => Input::SaslChecked {
                id,
                ok: secret::verify_password(&password, &hash),
                account,
            },
            Job::Hash { id, nick, password } => Input::Hashed {
                id,
                hash: secret::hash_password(&password),
                nick,
            },
            Job::CheckKey {
                id,
                room,
                key,
                hash,
            } => {
                let ok = secret::key_matches(&key, &hash);
                // A key of the older, fast kind is hashed anew once it is known right.
                let rehash = (ok && secret::is_old_key(&hash))
                    .then(|| secret::hash_key(&key))
                    .and_then(|hashed| {
                        hashed
                            .map_err(|e| error!("room {room}: the key stays as it was: {e}"))
                            .ok()
                    });
                Input::KeyChecked {
                    id,
                    room,
                    key,
                    hash,
                    ok,
                    rehash,
                }
            }
            Job::HashKey { id, room, key, set } => Input::KeyHashed {
                id,
                hash: secret::hash_key(&key),
                room,
                key,
                set,
            },
            Job::Oper {
                id,
                account,
                password,
                hash,
            } => Input::OperChecked {
                id,
                ok: secret::verify_password(&password, &hash),
                account,
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
        let from = self.clients.get(&id).map(|c| c.peer.ip());
        let now = (self.clock)();
        if let Some(from) = from
            && let Err(wait) = self.tries.admit(id, nick, from, now)
        {
            // Refused unchecked, with the time left: a try now would not be taken.
            let whose = match wait.who {
                Who::Account => format!("for {nick}"),
                Who::Address => "from your address".to_string(),
            };
            return Err(Refusal::new(
                ErrCode::BadPassword,
                format!(
                    "too many wrong passwords {whose}: try again in {} s",
                    wait.seconds()
                ),
            ));
        }
        let job = Job::Verify {
            id,
            nick: nick.to_string(),
            password,
            hash: hash.clone(),
        };
        let asked = self.ask(id, job, "checking passwords");
        if asked.is_err() {
            self.tries.withdraw(id);
        }
        asked
    }

    /// Hands password work to the workers; their answer comes back as an
    /// input, and the connection's next lines wait for it, so they apply in
    /// order. Never blocks: a full queue refuses at once.
    ///
    /// # Errors
    /// `BAD_PASSWORD` when the queue is full (the workers are busy `doing`
    /// the same for others) or the workers are gone; a `JOIN` makes it `BAD_KEY`.
    pub(super) fn ask(&mut self, id: ConnId, job: Job, doing: &str) -> Result<(), Refusal> {
        let sent = match &self.jobs {
            Some(jobs) => jobs.try_send(job),
            None => Err(TrySendError::Disconnected(job)),
        };
        match sent {
            Ok(()) => {
                self.waiting.insert(id, VecDeque::new());
                Ok(())
            }
            Err(TrySendError::Full(_)) => {
                // Logged at 1, 2, 4, 8, ... refusals: an attack must not fill the log.
                self.busy_refusals += 1;
                if self.busy_refusals.is_power_of_two() {
                    warn!(
                        "conn {id}: the password queue is full; refused ({} such refusals so far)",
                        self.busy_refusals
                    );
                }
                Err(Refusal::new(
                    ErrCode::BadPassword,
                    format!("the server is busy {doing}: try again shortly"),
                ))
            }
            Err(TrySendError::Disconnected(_)) => Err(Refusal::new(
                ErrCode::BadPassword,
                format!("the server has stopped {doing}"),
            )),
        }
    }

    /// The answer to a `NICK nick password`, then the lines that waited for it.
    pub(super) fn verified(&mut self, id: ConnId, nick: &str, ok: bool) {
        let now = (self.clock)();
        // Counted even if the connection has gone meanwhile.
        let wait = self.tries.settle(id, ok, now);
        if ok {
            self.log_in(id, nick);
        } else if self.clients.contains_key(&id) {
            let refusal = Refusal::new(ErrCode::BadPassword, wrong_password(nick, wait));
            self.refuse(id, &refusal);
        }
        self.resume(id);
    }

    /// Renames and logs in `id`, and hands over its waiting whispers.
    pub(super) fn log_in(&mut self, id: ConnId, nick: &str) {
        if !self.clients.contains_key(&id) {
            return;
        }
        if let Err(refusal) = self.rename(id, nick) {
            return self.refuse(id, &refusal);
        }
        self.chat.log_in(id);
        self.tell_account(id);
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
        if self.chat.is_admin_account(&nick) && !self.accounts.contains_key(&key) {
            // Nobody but the server's operator makes an admin's account.
            return Err(Refusal::new(
                ErrCode::NickReserved,
                format!(
                    "{nick} is a server admin's name: its account is made by --admin-password-file"
                ),
            ));
        }
        if self.accounts.contains_key(&key) || self.registering.contains(&key) {
            return Err(Refusal::new(
                ErrCode::AlreadyRegistered,
                format!("{nick} is already registered"),
            ));
        }
        let job = Job::Hash {
            id,
            nick: nick.clone(),
            password,
        };
        self.ask(id, job, "hashing passwords")?;
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
        self.tell_account(id);
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

/// The answer to a wrong password, with the wait before the next try if it
/// has to wait.
fn wrong_password(nick: &str, wait: Option<Wait>) -> String {
    let Some(wait) = wait else {
        return format!("wrong password for {nick}");
    };
    let whence = match wait.who {
        Who::Account => "",
        Who::Address => " from your address",
    };
    format!(
        "wrong password for {nick}; {} wrong in a row{whence}: try again in {} s",
        wait.wrong,
        wait.seconds()
    )
}
