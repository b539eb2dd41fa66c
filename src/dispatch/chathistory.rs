//! `CHATHISTORY` (IRCv3 draft/chathistory): a channel's page comes from the
//! rooms' stored history, the same entries `HISTORY` pages through, found
//! by their stamps, which are also their `@time=` and the heart of their
//! `msgid`; a conversation's from the whispers its account keeps in memory
//! ([`super::whispers`]).

use super::Dispatcher;
use super::whispers::{Whisper, conversation};
use crate::chat::ConnId;
use crate::ids::RoomId;
use crate::proto::irc::history::{self, Bound, Request, Sub};
use crate::proto::irc::tags::MsgId;
use crate::proto::irc::{self, Cap, Out, batch, v3};
use crate::store::{Entry, Store, StoreResult};
use log::error;

/// One message of a page: its stamp, sender, target as shown and text.
#[derive(Debug, Clone)]
struct Row {
    at: u64,
    from: String,
    to: String,
    text: String,
}

/// Where a page's messages come from, read either way from a stamp.
trait Pages {
    /// Up to `limit` messages stamped before `before` (all if `None`), oldest first.
    fn before(&mut self, before: Option<u64>, limit: usize) -> Vec<Row>;
    /// Up to `limit` messages stamped after `after`, oldest first.
    fn after(&mut self, after: u64, limit: usize) -> Vec<Row>;
}

/// A room's stored history.
struct Stored<'a> {
    store: &'a mut dyn Store,
    room: RoomId,
    chan: String,
}

impl Stored<'_> {
    fn rows(&self, read: StoreResult<Vec<Entry>>) -> Vec<Row> {
        let entries = read.unwrap_or_else(|e| {
            error!("cannot read history of {}: {e}", self.room.as_str());
            Vec::new()
        });
        entries
            .into_iter()
            .map(|e| Row {
                at: e.at,
                from: e.nick,
                to: self.chan.clone(),
                text: e.text,
            })
            .collect()
    }
}

impl Pages for Stored<'_> {
    fn before(&mut self, before: Option<u64>, limit: usize) -> Vec<Row> {
        let read = self.store.page(&self.room, before, limit);
        self.rows(read)
    }

    fn after(&mut self, after: u64, limit: usize) -> Vec<Row> {
        let read = self.store.page_after(&self.room, after, limit);
        self.rows(read)
    }
}

/// A conversation's whispers, oldest first.
struct Kept(Vec<Whisper>);

impl Kept {
    fn row(w: &Whisper) -> Row {
        Row {
            at: w.at,
            from: w.from.clone(),
            to: w.to.clone(),
            text: w.text.clone(),
        }
    }
}

impl Pages for Kept {
    fn before(&mut self, before: Option<u64>, limit: usize) -> Vec<Row> {
        let end = before.map_or(self.0.len(), |b| self.0.partition_point(|w| w.at < b));
        self.0[end.saturating_sub(limit)..end]
            .iter()
            .map(Kept::row)
            .collect()
    }

    fn after(&mut self, after: u64, limit: usize) -> Vec<Row> {
        let start = self.0.partition_point(|w| w.at <= after);
        self.0[start..].iter().take(limit).map(Kept::row).collect()
    }
}

/// The page `sub` asks for, between stamps `from` (`None`: `*`) and `to`.
fn select(
    pages: &mut dyn Pages,
    sub: &Sub,
    from: Option<u64>,
    to: Option<u64>,
    limit: usize,
) -> Vec<Row> {
    match (sub, from) {
        (Sub::Latest, None) => pages.before(None, limit),
        (Sub::Latest, Some(t)) => {
            let mut e = pages.before(None, limit);
            e.retain(|m| m.at > t);
            e
        }
        (Sub::Before, Some(t)) => pages.before(Some(t), limit),
        (Sub::After, Some(t)) => pages.after(t, limit),
        (Sub::Around, Some(t)) => {
            let mut e = pages.before(Some(t), (limit - 1) / 2);
            let rest = limit - e.len();
            e.extend(pages.after(t.saturating_sub(1), rest));
            e
        }
        (Sub::Between, Some(a)) => {
            let b = to.unwrap_or(a);
            let mut e = if a <= b {
                pages.after(a, limit)
            } else {
                pages.before(Some(a), limit)
            };
            let (lo, hi) = (a.min(b), a.max(b));
            e.retain(|m| m.at > lo && m.at < hi);
            e
        }
        _ => Vec::new(),
    }
}

impl Dispatcher {
    /// `CHATHISTORY sub target ...`: a `chathistory` batch of the room's
    /// messages (or the conversation's), oldest first; a `FAIL CHATHISTORY`
    /// if it cannot be answered.
    pub(super) fn chathistory(&mut self, id: ConnId, params: &[String]) {
        let mut out = Vec::new();
        let server = std::sync::Arc::clone(&self.server);
        let o = &mut Out::new(&server, &mut out);
        match history::request(params) {
            Err(refused) => {
                let context: Vec<&str> = refused.context.iter().map(String::as_str).collect();
                v3::standard(
                    o,
                    "FAIL",
                    "CHATHISTORY",
                    refused.code,
                    &context,
                    refused.text,
                );
            }
            Ok(request) if request.sub == Sub::Targets => self.history_targets(id, o, &request),
            Ok(request) => self.history_page(id, o, &request),
        }
        self.reply_charged(id, out);
    }

    fn history_page(&mut self, id: ConnId, o: &mut Out<'_>, request: &Request) {
        let sub = request.sub.name();
        let target = request.target.as_str();
        let is_channel = target.starts_with('#') || target.starts_with('&');
        // The messages' source, and the name their ids are made of.
        let (mut pages, key): (Box<dyn Pages + '_>, String) = if is_channel {
            let member = irc::room_of(target)
                .and_then(|r| self.chat.room(r))
                .filter(|r| r.has(id))
                .map(|r| r.name.clone());
            let Some(room) = member else {
                return v3::standard(
                    o,
                    "FAIL",
                    "CHATHISTORY",
                    "INVALID_TARGET",
                    &[sub, target],
                    "Messages could not be retrieved: not a channel you are in",
                );
            };
            let stored = Stored {
                store: self.store.as_mut(),
                room: RoomId::of(&room),
                chan: irc::channel(&room),
            };
            (Box::new(stored), room)
        } else {
            // Only an account keeps its whispers; a guest has none to give.
            let me = self.chat.nick(id).to_string();
            let kept = match self.account_of(id) {
                Some(account) => {
                    let account = account.to_ascii_lowercase();
                    self.v3
                        .whispers
                        .with(&account, &target.to_ascii_lowercase())
                }
                None => Vec::new(),
            };
            (Box::new(Kept(kept)), conversation(&me, target))
        };
        let stamp = |b: &Bound| match b {
            Bound::Star => Some(None),
            Bound::Time(t) => Some(Some(*t)),
            Bound::Msgid(m) => MsgId::stamp_in(m, &key).map(Some),
        };
        let rows = match (stamp(&request.from), request.to.as_ref().map(stamp)) {
            // An id of another conversation, or none at all: nothing.
            (None, _) | (_, Some(None | Some(None))) => Vec::new(),
            (Some(from), to) => select(
                pages.as_mut(),
                &request.sub,
                from,
                to.flatten().flatten(),
                request.limit,
            ),
        };
        drop(pages);
        self.history_batch(id, o, target, &key, &rows);
    }

    /// The `chathistory` batch of `rows`, whose ids are made of `key`,
    /// asked for as `target`.
    fn history_batch(
        &mut self,
        id: ConnId,
        o: &mut Out<'_>,
        target: &str,
        key: &str,
        rows: &[Row],
    ) {
        let batch_id = self.has_cap(id, Cap::Batch).then(|| self.v3.batch_id());
        let time = self.has_cap(id, Cap::ServerTime);
        let msgid = self.has_cap(id, Cap::MessageTags);
        let mut lines = Vec::new();
        for r in rows {
            let mut tags = Vec::new();
            if time {
                tags.push(format!("time={}", irc::iso_time(r.at)));
            }
            if msgid {
                tags.push(format!("msgid={}", MsgId::room(key, r.at)));
            }
            let mask = format!("{0}!{0}@{1}", r.from, o.server);
            v3::history_line(&mut lines, &mask, &tags.join(";"), &r.to, &r.text);
        }
        match batch_id {
            Some(b) => {
                let wrapped = batch::wrap(o.server, &b, "chathistory", &[target], &lines);
                o.bytes.extend_from_slice(&wrapped);
            }
            None => o.bytes.extend_from_slice(&lines),
        }
    }

    /// `CHATHISTORY TARGETS a b limit`: the channels `id` is in and the
    /// nicks its account whispered with, whose last message falls between
    /// the two times, oldest first.
    fn history_targets(&mut self, id: ConnId, o: &mut Out<'_>, request: &Request) {
        let (Bound::Time(a), Some(Bound::Time(b))) = (&request.from, &request.to) else {
            return;
        };
        let (lo, hi) = ((*a).min(*b), (*a).max(*b));
        let mut targets: Vec<(u64, String)> = self
            .chat
            .rooms()
            .filter(|r| r.has(id))
            .map(|r| (r.last_active(), irc::channel(&r.name)))
            .collect();
        if let Some(account) = self.account_of(id) {
            targets.extend(self.v3.whispers.peers(&account.to_ascii_lowercase()));
        }
        targets.retain(|(at, _)| *at > lo && *at < hi);
        targets.sort();
        targets.truncate(request.limit);
        let mut lines = Vec::new();
        for (at, name) in &targets {
            Out::new(o.server, &mut lines).put(
                "CHATHISTORY",
                &["TARGETS", name, &irc::iso_time(*at)],
                None,
            );
        }
        match self.has_cap(id, Cap::Batch).then(|| self.v3.batch_id()) {
            Some(b) => {
                let wrapped = batch::wrap(o.server, &b, "draft/chathistory-targets", &[], &lines);
                o.bytes.extend_from_slice(&wrapped);
            }
            None => o.bytes.extend_from_slice(&lines),
        }
    }
}
