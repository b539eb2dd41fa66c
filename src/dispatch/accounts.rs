//! The password worker: Argon2 takes tens of milliseconds on purpose, so the
//! dispatcher hands hashing and checking to this thread and carries on; the
//! answer comes back as an ordinary dispatcher input.

use crate::chat::ConnId;
use crate::dispatch::Input;
use crate::secret;
use crossbeam_channel::{Receiver, Sender};

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
