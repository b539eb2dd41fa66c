//! `CHATHISTORY` (IRCv3 draft/chathistory) over the rooms' stored history:
//! the same entries `HISTORY` pages through, found by their stamps, which
//! are also their `@time=` and the heart of their `msgid`.

use super::Dispatcher;
use crate::chat::ConnId;
use crate::ids::RoomId;
use crate::proto::irc::history::{self, Bound, Request, Sub};
use crate::proto::irc::tags::MsgId;
use crate::proto::irc::{self, Cap, Out, batch, v3};
use crate::store::Entry;
use log::error;

impl Dispatcher {
    /// `CHATHISTORY sub target ...`: a `chathistory` batch of the room's
    /// messages, oldest first; a `FAIL CHATHISTORY` if it cannot be answered.
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
        if !is_channel {
            // Whispers are not kept: a conversation has no history to give.
            return self.history_batch(id, o, target, "", &[]);
        }
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
        let stamp = |b: &Bound| match b {
            Bound::Star => Some(None),
            Bound::Time(t) => Some(Some(*t)),
            Bound::Msgid(m) => MsgId::stamp_in(m, &room).map(Some),
        };
        let (Some(from), to) = (stamp(&request.from), request.to.as_ref().map(stamp)) else {
            return self.history_batch(id, o, target, &room, &[]);
        };
        let to = match to {
            Some(None) => return self.history_batch(id, o, target, &room, &[]),
            Some(Some(t)) => t,
            None => None,
        };
        let key = RoomId::of(&room);
        let limit = request.limit;
        let entries = match (&request.sub, from) {
            (Sub::Latest, None) => self.read(&key, |s| s.page(&key, None, limit)),
            (Sub::Latest, Some(t)) => {
                let mut e = self.read(&key, |s| s.page(&key, None, limit));
                e.retain(|m| m.at > t);
                e
            }
            (Sub::Before, Some(t)) => self.read(&key, |s| s.page(&key, Some(t), limit)),
            (Sub::After, Some(t)) => self.read(&key, |s| s.page_after(&key, t, limit)),
            (Sub::Around, Some(t)) => {
                let mut e = self.read(&key, |s| s.page(&key, Some(t), (limit - 1) / 2));
                let rest = limit - e.len();
                e.extend(self.read(&key, |s| s.page_after(&key, t.saturating_sub(1), rest)));
                e
            }
            (Sub::Between, Some(a)) => {
                let b = to.unwrap_or(a);
                let mut e = if a <= b {
                    self.read(&key, |s| s.page_after(&key, a, limit))
                } else {
                    self.read(&key, |s| s.page(&key, Some(a), limit))
                };
                let (lo, hi) = (a.min(b), a.max(b));
                e.retain(|m| m.at > lo && m.at < hi);
                e
            }
            _ => Vec::new(),
        };
        self.history_batch(id, o, target, &room, &entries);
    }

    /// Reads the store; a failure is logged and reads as nothing.
    fn read(
        &mut self,
        key: &RoomId,
        read: impl FnOnce(&mut dyn crate::store::Store) -> crate::store::StoreResult<Vec<Entry>>,
    ) -> Vec<Entry> {
        read(self.store.as_mut()).unwrap_or_else(|e| {
            error!("cannot read history of {}: {e}", key.as_str());
            Vec::new()
        })
    }

    /// The `chathistory` batch of `entries` of `room`, asked for as `target`.
    fn history_batch(
        &mut self,
        id: ConnId,
        o: &mut Out<'_>,
        target: &str,
        room: &str,
        entries: &[Entry],
    ) {
        let batch_id = self.has_cap(id, Cap::Batch).then(|| self.v3.batch_id());
        let time = self.has_cap(id, Cap::ServerTime);
        let msgid = self.has_cap(id, Cap::MessageTags);
        let mut lines = Vec::new();
        for e in entries {
            let mut tags = Vec::new();
            if time {
                tags.push(format!("time={}", irc::iso_time(e.at)));
            }
            if msgid {
                tags.push(format!("msgid={}", MsgId::room(room, e.at)));
            }
            v3::history_line(
                &mut lines,
                o.server,
                &tags.join(";"),
                room,
                &e.nick,
                &e.text,
            );
        }
        match batch_id {
            Some(b) => {
                let wrapped = batch::wrap(o.server, &b, "chathistory", &[target], &lines);
                o.bytes.extend_from_slice(&wrapped);
            }
            None => o.bytes.extend_from_slice(&lines),
        }
    }

    /// `CHATHISTORY TARGETS a b limit`: the channels `id` is in whose last
    /// message falls between the two times, oldest first.
    fn history_targets(&mut self, id: ConnId, o: &mut Out<'_>, request: &Request) {
        let (Bound::Time(a), Some(Bound::Time(b))) = (&request.from, &request.to) else {
            return;
        };
        let (lo, hi) = ((*a).min(*b), (*a).max(*b));
        let mut rooms: Vec<(u64, String)> = self
            .chat
            .rooms()
            .filter(|r| r.has(id))
            .map(|r| (r.last_active(), irc::channel(&r.name)))
            .filter(|(at, _)| *at > lo && *at < hi)
            .collect();
        rooms.sort();
        rooms.truncate(request.limit);
        let mut lines = Vec::new();
        for (at, chan) in &rooms {
            Out::new(o.server, &mut lines).put(
                "CHATHISTORY",
                &["TARGETS", chan, &irc::iso_time(*at)],
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
