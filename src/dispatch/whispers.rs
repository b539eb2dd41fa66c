//! The recent whispers of logged-in accounts, in memory only, for IRC's
//! `CHATHISTORY` of a conversation: the last [`KEPT`] whispers that accounts
//! sent or got while the server runs, each kept for each account it
//! concerns. Nothing of it is written to the database.

use crate::proto::irc::tags::MsgId;
use std::collections::{HashMap, VecDeque};

/// Most whispers kept, all accounts together (one to oneself counts once,
/// one between two accounts twice): at most 2 KiB each, so tens of MiB.
pub(super) const KEPT: usize = 20_000;
/// Conversations whose last stamp is remembered before the quiet ones are forgotten.
const STAMPS_KEPT: usize = 10_000;

/// One whisper, as kept for one of its accounts.
#[derive(Debug, Clone)]
pub(super) struct Whisper {
    /// Its stamp: strictly increasing within the conversation.
    pub(super) at: u64,
    /// The other side of the conversation, lower case.
    pub(super) peer: String,
    /// Sender and recipient nicks, as shown when it was sent.
    pub(super) from: String,
    pub(super) to: String,
    pub(super) text: String,
}

/// The whispers kept, by account, and the last stamp of each conversation.
#[derive(Debug, Default)]
pub(super) struct Whispers {
    kept: HashMap<String, VecDeque<Whisper>>,
    /// Whose each kept whisper is, oldest first: the next to go.
    order: VecDeque<String>,
    stamps: HashMap<String, u64>,
}

/// The name of the conversation between nicks `a` and `b`: the same both
/// ways, the key of its message ids.
pub(super) fn conversation(a: &str, b: &str) -> String {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    if a <= b {
        format!("{a} {b}")
    } else {
        format!("{b} {a}")
    }
}

impl Whispers {
    /// The stamp and id of a whisper between `from` and `to` at `now_ms`.
    pub(super) fn stamp(&mut self, from: &str, to: &str, now_ms: u64) -> (u64, MsgId) {
        if self.stamps.len() >= STAMPS_KEPT {
            // A conversation quiet for a second stamps from the clock again.
            self.stamps.retain(|_, last| *last + 1000 > now_ms);
        }
        let name = conversation(from, to);
        let last = self.stamps.entry(name.clone()).or_insert(0);
        *last = now_ms.max(*last + 1);
        (*last, MsgId::room(&name, *last))
    }

    /// Keeps `whisper` for `account` (lower case), whose peer it names.
    pub(super) fn keep(&mut self, account: &str, whisper: Whisper) {
        if self.order.len() == KEPT
            && let Some(oldest) = self.order.pop_front()
            && let Some(theirs) = self.kept.get_mut(&oldest)
        {
            theirs.pop_front();
            if theirs.is_empty() {
                self.kept.remove(&oldest);
            }
        }
        self.kept
            .entry(account.to_string())
            .or_default()
            .push_back(whisper);
        self.order.push_back(account.to_string());
    }

    /// The whispers `account` exchanged with `peer` (both lower case), oldest first.
    pub(super) fn with(&self, account: &str, peer: &str) -> Vec<Whisper> {
        self.kept
            .get(account)
            .map(|k| k.iter().filter(|w| w.peer == peer).cloned().collect())
            .unwrap_or_default()
    }

    /// Each peer of `account` and its last whisper: the peer's nick and the stamp.
    pub(super) fn peers(&self, account: &str) -> Vec<(u64, String)> {
        let mut last: HashMap<&str, (u64, &str)> = HashMap::new();
        for w in self.kept.get(account).into_iter().flatten() {
            let nick = if w.from.eq_ignore_ascii_case(&w.peer) {
                &w.from
            } else {
                &w.to
            };
            last.insert(&w.peer, (w.at, nick));
        }
        last.into_values()
            .map(|(at, nick)| (at, nick.to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(peer: &str, from: &str, to: &str, at: u64) -> Whisper {
        Whisper {
            at,
            peer: peer.into(),
            from: from.into(),
            to: to.into(),
            text: format!("m{at}"),
        }
    }

    #[test]
    fn a_conversation_has_one_name_increasing_stamps_and_bounded_keeping() {
        assert_eq!(conversation("Bob", "ana"), conversation("ANA", "bob"));
        let mut w = Whispers::default();
        let (a, id_a) = w.stamp("ana", "bob", 1000);
        let (b, id_b) = w.stamp("bob", "ana", 1000);
        assert_eq!((a, b), (1000, 1001));
        assert_ne!(id_a, id_b);
        assert_eq!(
            MsgId::stamp_in(&id_b.to_string(), &conversation("ana", "bob")),
            Some(1001)
        );
        w.keep("ana", said("bob", "ana", "Bob", 1));
        w.keep("ana", said("cy", "cy", "ana", 2));
        w.keep("ana", said("bob", "Bob", "ana", 3));
        assert_eq!(
            w.with("ana", "bob")
                .iter()
                .map(|x| x.at)
                .collect::<Vec<_>>(),
            [1, 3]
        );
        let mut peers = w.peers("ana");
        peers.sort();
        assert_eq!(peers, [(2, "cy".to_string()), (3, "Bob".to_string())]);
        assert!(w.with("bob", "ana").is_empty());
        for at in 0..KEPT as u64 {
            w.keep("cy", said("ana", "cy", "ana", at));
        }
        // The oldest go first, whosever they are.
        assert!(w.with("ana", "bob").is_empty() && w.with("ana", "cy").is_empty());
        assert_eq!(w.with("cy", "ana").len(), KEPT);
        assert_eq!(w.with("cy", "ana")[0].at, 0);
    }
}
