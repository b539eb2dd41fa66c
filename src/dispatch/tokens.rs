//! Login tokens (`TOKEN`, `RESUME`, `REVOKE`): a logged-in account gets a
//! random token that logs it in again later without its password, until it
//! expires or is revoked. Only a digest of each token is kept, in memory and
//! in the store, so that with a data directory a restart keeps them
//! (docs/protocol.md, "TOKEN").

use super::Dispatcher;
use crate::ids::ConnId;
use crate::proto::chat1::Event;
use crate::proto::refusal::{ErrCode, Refusal};
use crate::secret;
use crate::store::{StoredToken, now_ms};
use log::{error, info};
use std::collections::HashMap;

/// How long a token logs its account in: 7 days.
pub const TOKEN_LIFE_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// Tokens one account may hold at once; a new one past this ends the oldest.
pub const TOKENS_PER_ACCOUNT: usize = 16;

/// The tokens given out, by digest.
#[derive(Debug, Default)]
pub struct Tokens {
    by_digest: HashMap<String, StoredToken>,
}

/// A token just given out: the token itself (said once, to its holder), what
/// the store keeps of it, and the digests of the tokens it ended.
#[derive(Debug)]
pub struct Issued {
    pub token: String,
    pub kept: StoredToken,
    pub ended: Vec<String>,
}

impl Tokens {
    /// The tokens a store kept.
    pub fn from_stored(stored: Vec<StoredToken>) -> Tokens {
        let by_digest = stored.into_iter().map(|t| (t.digest.clone(), t)).collect();
        Tokens { by_digest }
    }

    /// A new token for `account` (lower case); past [`TOKENS_PER_ACCOUNT`]
    /// the account's oldest end.
    ///
    /// # Errors
    /// The OS gave no randomness.
    pub fn issue(&mut self, account: &str, now: u64) -> crate::Result<Issued> {
        let mut mine: Vec<(u64, String)> = self
            .by_digest
            .values()
            .filter(|t| t.account == account)
            .map(|t| (t.issued, t.digest.clone()))
            .collect();
        let mut ended = Vec::new();
        if mine.len() >= TOKENS_PER_ACCOUNT {
            mine.sort();
            for (_, digest) in mine.drain(..=mine.len() - TOKENS_PER_ACCOUNT) {
                self.by_digest.remove(&digest);
                ended.push(digest);
            }
        }
        let token = secret::new_token()?;
        let kept = StoredToken {
            digest: secret::token_digest(&token),
            account: account.to_string(),
            issued: now,
            expires: now + TOKEN_LIFE_MS,
        };
        self.by_digest.insert(kept.digest.clone(), kept.clone());
        Ok(Issued { token, kept, ended })
    }

    /// The account (lower case) `token` logs in, if it is known and not expired.
    pub fn account(&self, token: &str, now: u64) -> Option<String> {
        let kept = self.by_digest.get(&secret::token_digest(token))?;
        (kept.expires > now).then(|| kept.account.clone())
    }

    /// Ends `token`: its digest, or `None` if it was not known.
    pub fn revoke(&mut self, token: &str) -> Option<String> {
        let digest = secret::token_digest(token);
        self.by_digest.remove(&digest).map(|_| digest)
    }

    /// Ends the tokens expired at `now`: their digests.
    pub fn sweep(&mut self, now: u64) -> Vec<String> {
        let ended: Vec<String> = self
            .by_digest
            .values()
            .filter(|t| t.expires <= now)
            .map(|t| t.digest.clone())
            .collect();
        for digest in &ended {
            self.by_digest.remove(digest);
        }
        ended
    }
}

fn bad_token() -> Refusal {
    Refusal::new(
        ErrCode::BadToken,
        "unknown, expired or revoked token: log in with NICK <nick> <password>",
    )
}

impl Dispatcher {
    /// `TOKEN`: `OK TOKEN <token> <expires-unix-ms>` for a logged-in account.
    pub(super) fn issue_token(&mut self, id: ConnId) -> Result<(), Refusal> {
        let Some(user) = self.chat.user(id) else {
            return Ok(());
        };
        if !user.account {
            return Err(Refusal::new(
                ErrCode::BadToken,
                "only an account gets a token: log in with NICK <nick> <password>, or REGISTER, first",
            ));
        }
        let account = user.nick.to_ascii_lowercase();
        let now = now_ms();
        let mut ended = self.tokens.sweep(now);
        let issued = self.tokens.issue(&account, now).map_err(|e| {
            error!("conn {id}: {e}");
            Refusal::new(ErrCode::BadToken, "no token could be made: try again later")
        })?;
        ended.extend(issued.ended);
        for digest in &ended {
            self.forget_token(digest);
        }
        if let Err(e) = self.store.save_token(&issued.kept) {
            error!("cannot save a token for {account}: {e}");
            self.tokens.revoke(&issued.token);
            return Err(Refusal::new(
                ErrCode::BadToken,
                "the token could not be saved: try again later",
            ));
        }
        let (token, expires) = (issued.token, issued.kept.expires);
        info!("conn {id}: a token for {account}");
        let detail = format!("{token} {expires}");
        let mut out = Vec::new();
        let event = Event::Ok {
            verb: "TOKEN",
            detail: Some(&detail),
        };
        self.voice(id).event(&event, &mut out);
        self.reply(id, out);
        Ok(())
    }

    /// `RESUME <token>`: logs in to the token's account, as `NICK` with the
    /// right password would.
    pub(super) fn resume_login(&mut self, id: ConnId, token: &str) -> Result<(), Refusal> {
        let account = self.tokens.account(token, now_ms()).ok_or_else(bad_token)?;
        let Some((nick, _)) = self.accounts.get(&account) else {
            if let Some(digest) = self.tokens.revoke(token) {
                self.forget_token(&digest);
            }
            return Err(bad_token());
        };
        let nick = nick.clone();
        if self.chat.find(&nick).is_some_and(|holder| holder != id) {
            return Err(Refusal::new(
                ErrCode::NickTaken,
                format!("{nick} is already in use"),
            ));
        }
        self.log_in(id, &nick);
        Ok(())
    }

    /// `REVOKE <token>`: `OK REVOKE`, and the token logs nobody in any more.
    pub(super) fn revoke_token(&mut self, id: ConnId, token: &str) -> Result<(), Refusal> {
        let digest = self.tokens.revoke(token).ok_or_else(bad_token)?;
        self.forget_token(&digest);
        let mut out = Vec::new();
        let event = Event::Ok {
            verb: "REVOKE",
            detail: None,
        };
        self.voice(id).event(&event, &mut out);
        self.reply(id, out);
        Ok(())
    }

    /// Forgets a token in the store (an error is logged: at worst the
    /// digest stays on disk, and it is ended again at the next start).
    fn forget_token(&mut self, digest: &str) {
        if let Err(e) = self.store.forget_token(digest) {
            error!("cannot forget a token: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_logs_its_account_in_until_it_expires_or_is_revoked() {
        let mut tokens = Tokens::default();
        let issued = tokens.issue("ana", 1_000).unwrap();
        let expires = issued.kept.expires;
        assert_eq!(expires, 1_000 + TOKEN_LIFE_MS);
        assert_eq!(issued.kept.digest, secret::token_digest(&issued.token));
        assert_eq!(tokens.account(&issued.token, 2_000).as_deref(), Some("ana"));
        assert_eq!(tokens.account("nope", 2_000), None);
        assert_eq!(tokens.account(&issued.token, expires), None, "expired");
        assert_eq!(tokens.sweep(expires), vec![issued.kept.digest.clone()]);
        let token = tokens.issue("ana", 1_000).unwrap().token;
        assert!(tokens.revoke(&token).is_some());
        assert!(tokens.revoke(&token).is_none());
        assert_eq!(tokens.account(&token, 2_000), None, "revoked");
    }

    #[test]
    fn an_account_holds_a_bounded_number_of_tokens_the_oldest_go() {
        let mut tokens = Tokens::default();
        let first = tokens.issue("ana", 1).unwrap();
        for at in 2..=TOKENS_PER_ACCOUNT as u64 {
            assert!(tokens.issue("ana", at).unwrap().ended.is_empty());
        }
        assert!(tokens.account(&first.token, 100).is_some());
        let other = tokens.issue("bob", 50).unwrap().token;
        let last = tokens.issue("ana", 100).unwrap();
        assert_eq!(last.ended, vec![first.kept.digest.clone()]);
        assert_eq!(tokens.account(&first.token, 100), None, "the oldest went");
        assert!(tokens.account(&other, 100).is_some(), "not another's");
        assert_eq!(tokens.by_digest.len(), TOKENS_PER_ACCOUNT + 1);
        // What a store kept comes back.
        let again = Tokens::from_stored(tokens.by_digest.values().cloned().collect());
        assert!(again.account(&last.token, 100).is_some());
    }
}
