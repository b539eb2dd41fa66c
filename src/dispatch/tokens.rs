//! Login tokens (`TOKEN`, `RESUME`, `REVOKE`): a logged-in account gets a
//! random token that logs it in again later without its password, until it
//! expires or is revoked. Only a digest of each token is kept, in memory: a
//! server restart ends them all (docs/protocol.md, "TOKEN").

use super::Dispatcher;
use crate::ids::ConnId;
use crate::proto::chat1::Event;
use crate::proto::refusal::{ErrCode, Refusal};
use crate::secret;
use crate::store::now_ms;
use log::{error, info};
use std::collections::HashMap;

/// How long a token logs its account in: 7 days.
pub const TOKEN_LIFE_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// Tokens one account may hold at once; a new one past this ends the oldest.
pub const TOKENS_PER_ACCOUNT: usize = 16;

/// The tokens given out, by digest.
#[derive(Debug, Default)]
pub struct Tokens {
    by_digest: HashMap<String, Session>,
}

#[derive(Debug)]
struct Session {
    /// The account's nick, lower case.
    account: String,
    issued: u64,
    expires: u64,
}

impl Tokens {
    /// A new token for `account` (lower case) and when it expires (unix ms).
    ///
    /// # Errors
    /// The OS gave no randomness.
    pub fn issue(&mut self, account: &str, now: u64) -> crate::Result<(String, u64)> {
        self.sweep(now);
        let mut mine: Vec<(u64, String)> = self
            .by_digest
            .iter()
            .filter(|(_, s)| s.account == account)
            .map(|(d, s)| (s.issued, d.clone()))
            .collect();
        if mine.len() >= TOKENS_PER_ACCOUNT {
            mine.sort();
            for (_, digest) in &mine[..=mine.len() - TOKENS_PER_ACCOUNT] {
                self.by_digest.remove(digest);
            }
        }
        let token = secret::new_token()?;
        let expires = now + TOKEN_LIFE_MS;
        let session = Session {
            account: account.to_string(),
            issued: now,
            expires,
        };
        self.by_digest.insert(secret::token_digest(&token), session);
        Ok((token, expires))
    }

    /// The account (lower case) `token` logs in, if it is known and not expired.
    pub fn account(&mut self, token: &str, now: u64) -> Option<String> {
        self.sweep(now);
        let session = self.by_digest.get(&secret::token_digest(token))?;
        Some(session.account.clone())
    }

    /// Ends `token`; false if it was not known.
    pub fn revoke(&mut self, token: &str) -> bool {
        self.by_digest
            .remove(&secret::token_digest(token))
            .is_some()
    }

    fn sweep(&mut self, now: u64) {
        self.by_digest.retain(|_, s| s.expires > now);
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
        let (token, expires) = self.tokens.issue(&account, now_ms()).map_err(|e| {
            error!("conn {id}: {e}");
            Refusal::new(ErrCode::BadToken, "no token could be made: try again later")
        })?;
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
            self.tokens.revoke(token);
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
        if !self.tokens.revoke(token) {
            return Err(bad_token());
        }
        let mut out = Vec::new();
        let event = Event::Ok {
            verb: "REVOKE",
            detail: None,
        };
        self.voice(id).event(&event, &mut out);
        self.reply(id, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_logs_its_account_in_until_it_expires_or_is_revoked() {
        let mut tokens = Tokens::default();
        let (token, expires) = tokens.issue("ana", 1_000).unwrap();
        assert_eq!(expires, 1_000 + TOKEN_LIFE_MS);
        assert_eq!(tokens.account(&token, 2_000).as_deref(), Some("ana"));
        assert_eq!(tokens.account("nope", 2_000), None);
        assert_eq!(tokens.account(&token, expires), None, "expired");
        let (token, _) = tokens.issue("ana", 1_000).unwrap();
        assert!(tokens.revoke(&token));
        assert!(!tokens.revoke(&token));
        assert_eq!(tokens.account(&token, 2_000), None, "revoked");
    }

    #[test]
    fn an_account_holds_a_bounded_number_of_tokens_the_oldest_go() {
        let mut tokens = Tokens::default();
        let first = tokens.issue("ana", 1).unwrap().0;
        for at in 2..=TOKENS_PER_ACCOUNT as u64 {
            tokens.issue("ana", at).unwrap();
        }
        assert!(tokens.account(&first, 100).is_some());
        let other = tokens.issue("bob", 50).unwrap().0;
        tokens.issue("ana", 100).unwrap();
        assert_eq!(tokens.account(&first, 100), None, "the oldest went");
        assert!(tokens.account(&other, 100).is_some(), "not another's");
        assert_eq!(tokens.by_digest.len(), TOKENS_PER_ACCOUNT + 1);
    }
}
