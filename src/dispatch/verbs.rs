//! The chat verbs of the contract, one method each: rename, join, part,
//! say, whisper, broadcast, the listings, kick, delete, history, ping and
//! quit, and what a departure undoes.

use super::delivery::Staged;
use super::keys::Found;
use super::voice::{Tone, bye};
use super::{Dispatcher, no_room};
use crate::chat::Left;
use crate::chat::moderation::Flag;
use crate::ids::{ConnId, RoomId};
use crate::proto::chat1::{Event, HISTORY_PAGE};
use crate::proto::irc::tags::MsgId;
use crate::proto::refusal::{ErrCode, Refusal};
use crate::store::{Entry, Offline, now_ms};
use log::{error, info};

impl Dispatcher {
    pub(super) fn rename(&mut self, id: ConnId, nick: &str) -> Result<(), Refusal> {
        let had_account = self.account_of(id).is_some();
        let old = self.chat.rename(id, nick)?;
        let line = self.render_said(&Event::Nick {
            old: &old,
            new: nick,
        });
        let mut audience = self.chat.audience(id);
        let greet = self
            .clients
            .get_mut(&id)
            .and_then(|c| c.irc.as_mut())
            .is_some_and(|user| !std::mem::replace(&mut user.welcomed, true));
        if greet {
            // An IRC client's first nick ends its registration: the welcome burst.
            audience.retain(|&a| a != id);
            self.welcome_irc(id);
        }
        self.send_many(&audience, &line);
        // A new nick is logged out of the old one's account (account-notify).
        if had_account && self.account_of(id).is_none() {
            self.tell_account(id);
        }
        Ok(())
    }

    pub(super) fn join(
        &mut self,
        id: ConnId,
        name: &str,
        key: Option<&str>,
    ) -> Result<(), Refusal> {
        self.join_with(id, name, key, Found::default())
    }

    /// A `JOIN`, knowing what the password workers `found` about its key. A
    /// key they have not checked or hashed yet goes to them first: the
    /// connection's next lines wait, and the `JOIN` is applied at their answer.
    pub(super) fn join_with(
        &mut self,
        id: ConnId,
        name: &str,
        key: Option<&str>,
        found: Found,
    ) -> Result<(), Refusal> {
        if self.chat.room(name).is_none() {
            // Refused before its key is hashed: a squatter costs no Argon2.
            self.chat.may_create(id)?;
        }
        if let Some(job) = key.and_then(|key| self.key_work(id, name, key, &found)) {
            return self
                .ask(id, job, "checking keys")
                .map_err(|refused| Refusal::new(ErrCode::BadKey, refused.text));
        }
        let (room_id, created) = self.chat.join(id, name, &found, now_ms())?;
        self.replace_old_key(id, name, found);
        if let Some(client) = self.clients.get(&id) {
            let outbox = client.outbox.clone();
            self.routes
                .lock()
                .entry(room_id.clone())
                .or_default()
                .push(outbox);
        }
        let Some(room) = self.chat.room(name) else {
            return Ok(());
        };
        if created
            && let Some(saved) = room.stored()
            && let Err(e) = self.store.save_room(&saved)
        {
            error!("cannot save room {name}: {e}");
        }
        let nick = self.chat.nick(id);
        let line = self.render_said(&Event::Join {
            room: &room.name,
            nick,
        });
        // The joiner also gets the member list, the recent history and the topic.
        let mut intro = Vec::new();
        let recent = self
            .store
            .page(&room_id, None, HISTORY_PAGE)
            .unwrap_or_else(|e| {
                error!("cannot read history of {name}: {e}");
                Vec::new()
            });
        let members = self.members_of(room);
        let voice = self.voice(id);
        let topic = room
            .mods
            .topic
            .as_ref()
            .map(|t| (t.text.as_str(), t.by.as_str(), t.at));
        let secret = room.mods.is(Flag::Secret);
        voice.joined(&room.name, topic, &members, secret, &recent, &mut intro);
        if let Some(client) = self.clients.get(&id)
            && let Some(bytes) = line.pick(&client.outbox)
        {
            // The joiner's own JOIN comes first, then what it sees inside.
            let mut first = bytes.to_vec();
            first.extend_from_slice(&intro);
            intro = first;
        }
        self.send_room_except(&room_id, &line, id);
        self.reply_charged(id, intro);
        self.joined_away(id, &room_id);
        Ok(())
    }

    pub(super) fn part(
        &mut self,
        id: ConnId,
        name: &str,
        text: Option<&str>,
    ) -> Result<(), Refusal> {
        let left = self.chat.part(id, name)?;
        let line = self.render_said(&Event::Part {
            room: &left.name,
            nick: self.chat.nick(id),
            text,
        });
        self.send_many(&left.told, &line);
        self.unroute(id, &left);
        Ok(())
    }

    pub(super) fn say(
        &mut self,
        id: ConnId,
        name: &str,
        text: &str,
        tone: Tone,
    ) -> Result<(), Refusal> {
        let now = now_ms();
        let room = self.chat.may_say(id, name, now)?;
        let at = room.stamp(now);
        let room_name = room.name.clone();
        let outside = !room.has(id);
        let room_id = RoomId::of(name);
        let nick = self.chat.nick(id).to_string();
        let line = self
            .render(
                &Event::Msg {
                    room: &room_name,
                    nick: &nick,
                    text,
                },
                tone,
            )
            .by(id)
            .tagged(
                Some(at),
                MsgId::room(&room_name, at),
                self.v3.client_tags.clone(),
            );
        self.check_whole(&line)?;
        let entry = Entry {
            at,
            nick,
            text: text.to_string(),
        };
        if let Err(e) = self.store.append(&room_id, &entry) {
            error!("cannot store a message of {room_name}: {e}");
        }
        self.send_room(&room_id, &line);
        if outside {
            // With no-outside off: the sender's echo.
            self.send_one(id, &line);
        }
        Ok(())
    }

    pub(super) fn whisper(
        &mut self,
        id: ConnId,
        nick: &str,
        text: &str,
        tone: Tone,
    ) -> Result<(), Refusal> {
        let Some(to) = self.chat.find(nick) else {
            return self.whisper_offline(id, nick, text);
        };
        let event = Event::Whisper {
            from: self.chat.nick(id),
            to: self.chat.nick(to),
            text,
        };
        // A whisper an account sends or gets is kept (CHATHISTORY): its
        // stamp and id are its conversation's; others just get an id.
        let kept =
            tone == Tone::Said && (self.account_of(id).is_some() || self.account_of(to).is_some());
        let (at, msgid) = if kept {
            let (at, msgid) =
                self.v3
                    .whispers
                    .stamp(self.chat.nick(id), self.chat.nick(to), now_ms());
            (Some(at), msgid)
        } else {
            (None, self.v3.msgid())
        };
        let line = self
            .render(&event, tone)
            .tagged(at, msgid, self.v3.client_tags.clone());
        self.check_whole(&line)?;
        if let Some(at) = at {
            self.keep_whisper(id, to, at, text);
        }
        if to == id {
            // A message to oneself reaches oneself, on IRC too.
            self.message_self(id, &line);
        } else {
            let line = line.by(id);
            self.send_one(to, &line);
            self.send_one(id, &line);
        }
        // IRC tells the sender when the recipient is away (never for a NOTICE).
        if let Some(away) = self.away(to)
            && tone == Tone::Said
        {
            let mut out = Vec::new();
            self.voice(id).away(self.chat.nick(to), away, &mut out);
            self.reply(id, out);
        }
        Ok(())
    }

    /// A whisper to a registered nick that is away is kept for its next login.
    pub(super) fn whisper_offline(
        &mut self,
        id: ConnId,
        nick: &str,
        text: &str,
    ) -> Result<(), Refusal> {
        let Some((account, _)) = self.accounts.get(&nick.to_ascii_lowercase()) else {
            return Err(Refusal::new(
                ErrCode::NoSuchUser,
                format!("there is no user {nick}"),
            ));
        };
        let account = account.clone();
        let stored = self.store.offline_count(&account).map_err(|e| {
            error!("cannot count whispers for {account}: {e}");
            Refusal::new(
                ErrCode::InboxFull,
                format!("{account} cannot take whispers now"),
            )
        })?;
        if stored >= self.settings.inbox_cap {
            return Err(Refusal::new(
                ErrCode::InboxFull,
                format!("{account} has {stored} whispers waiting already"),
            ));
        }
        let from = self.chat.nick(id).to_string();
        let whisper = Offline {
            at: now_ms(),
            from: from.clone(),
            text: text.to_string(),
        };
        self.store.put_offline(&account, &whisper).map_err(|e| {
            error!("cannot keep a whisper for {account}: {e}");
            Refusal::new(
                ErrCode::InboxFull,
                format!("{account} cannot take whispers now"),
            )
        })?;
        let mut out = Vec::new();
        self.voice(id)
            .kept_for_later(&from, &account, text, &mut out);
        self.reply(id, out);
        Ok(())
    }

    pub(super) fn broadcast(&mut self, id: ConnId, text: &str, tone: Tone) -> Result<(), Refusal> {
        let event = Event::Broadcast {
            from: self.chat.nick(id),
            text,
        };
        let msgid = self.v3.msgid();
        let line =
            self.render(&event, tone)
                .by(id)
                .tagged(None, msgid, self.v3.client_tags.clone());
        let everyone: Vec<ConnId> = self.clients.keys().copied().collect();
        self.send_many(&everyone, &line);
        Ok(())
    }

    pub(super) fn rooms(&mut self, id: ConnId) -> Result<(), Refusal> {
        let mut rooms: Vec<_> = self
            .chat
            .rooms()
            .filter(|r| self.chat.visible(id, r))
            .collect();
        rooms.sort_by(|a, b| a.name.cmp(&b.name));
        let voice = self.voice(id);
        let mut out = Vec::new();
        for room in rooms {
            let event = Event::Room {
                room: &room.name,
                members: room.members.len(),
                owner: self.chat.owner_nick(room),
            };
            voice.event(&event, &mut out);
        }
        voice.event(&Event::EndRooms, &mut out);
        self.reply_charged(id, out);
        Ok(())
    }

    pub(super) fn who(&mut self, id: ConnId, name: &str) -> Result<(), Refusal> {
        let room = self
            .chat
            .room(name)
            .filter(|r| self.chat.visible(id, r))
            .ok_or_else(|| no_room(name))?;
        let members = self.members_of(room);
        let mut out = Vec::new();
        let secret = room.mods.is(Flag::Secret);
        self.voice(id)
            .members(&room.name, &members, secret, &mut out);
        self.reply_charged(id, out);
        Ok(())
    }

    pub(super) fn users(&mut self, id: ConnId) -> Result<(), Refusal> {
        let mut nicks: Vec<&str> = self.chat.users().map(|(_, u)| u.nick.as_str()).collect();
        // Compared ignoring case, without a lower-case copy per comparison
        // (nicks are unique ignoring case, so an unstable sort is exact).
        nicks.sort_unstable_by(|a, b| folded(a).cmp(folded(b)));
        let mut out = Vec::new();
        self.voice(id).users(&nicks, &mut out);
        self.reply_charged(id, out);
        Ok(())
    }

    pub(super) fn kick(
        &mut self,
        id: ConnId,
        name: &str,
        nick: &str,
        text: Option<&str>,
    ) -> Result<(), Refusal> {
        let (target, left) = self.chat.kick(id, name, nick)?;
        let line = self.render_said(&Event::Kicked {
            room: &left.name,
            nick: self.chat.nick(target),
            by: self.chat.nick(id),
            text,
        });
        self.send_many(&left.told, &line);
        if !left.told.contains(&id) {
            // A server admin kicking from outside the room.
            self.send_one(id, &line);
        }
        self.unroute(target, &left);
        Ok(())
    }

    pub(super) fn delete(&mut self, id: ConnId, name: &str) -> Result<(), Refusal> {
        let (room_id, room) = self.chat.delete(id, name)?;
        let by = self.chat.nick(id).to_string();
        let mut told = room.members.clone();
        // The owner of an account's room may delete it from outside.
        if !told.contains(&id) {
            told.push(id);
        }
        for member in told {
            let mut out = Vec::new();
            let was_member = room.members.contains(&member);
            self.voice(member)
                .closed(&room.name, &by, was_member, &mut out);
            self.reply(member, out);
        }
        self.routes.lock().remove(&room_id);
        self.forget(&room_id);
        Ok(())
    }

    /// Removes the accounts' rooms with no member and no message for
    /// [`Settings::room_expiry`](super::Settings) at `now_ms`, with their
    /// records and history; returns how many.
    pub(super) fn expire_rooms(&mut self, now_ms: u64) -> usize {
        let expiry = self.settings.room_expiry;
        if expiry.is_zero() {
            return 0;
        }
        let idle = u64::try_from(expiry.as_millis()).unwrap_or(u64::MAX);
        let expired = self.chat.expire(now_ms, idle);
        let count = expired.len();
        for (room_id, room) in expired {
            info!(
                "room {} of {} expired: no member and no message for {} days",
                room.name,
                room.account.as_deref().unwrap_or("?"),
                expiry.as_secs() / 86_400
            );
            self.routes.lock().remove(&room_id);
            self.forget(&room_id);
        }
        count
    }

    /// A room is gone: its record and its history go too.
    pub(super) fn forget(&mut self, room: &RoomId) {
        self.forget_files(room);
        if let Err(e) = self.store.forget_room(room) {
            error!("cannot forget room {}: {e}", room.as_str());
        }
    }

    pub(super) fn page(
        &mut self,
        id: ConnId,
        name: &str,
        before: Option<u64>,
    ) -> Result<(), Refusal> {
        let room = self.chat.member_room(id, name)?;
        let room_name = room.name.clone();
        let entries = self
            .store
            .page(&RoomId::of(name), before, HISTORY_PAGE)
            .unwrap_or_else(|e| {
                error!("cannot read history of {name}: {e}");
                Vec::new()
            });
        let mut out = Vec::new();
        self.voice(id)
            .history(&room_name, &entries, false, &mut out);
        self.reply_charged(id, out);
        Ok(())
    }

    pub(super) fn pong(&mut self, id: ConnId, token: Option<&str>) -> Result<(), Refusal> {
        let mut out = Vec::new();
        self.voice(id).event(&Event::Pong { token }, &mut out);
        self.reply(id, out);
        Ok(())
    }

    pub(super) fn quit(&mut self, id: ConnId, text: Option<&str>) -> Result<(), Refusal> {
        self.remove(id, text.unwrap_or("quit"), "goodbye");
        Ok(())
    }

    /// The reader of `id` stopped: the peer closed or the connection broke.
    pub(super) fn drop_client(&mut self, id: ConnId, reason: &str) {
        self.remove(id, reason, reason);
    }

    /// Removes a client: `QUIT` to everyone sharing a room, `BYE` to the client,
    /// and the writer closes the socket once that is written.
    pub(super) fn remove(&mut self, id: ConnId, quit_text: &str, bye_text: &str) {
        self.waiting.remove(&id);
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
        let irc = client.irc.as_ref();
        if irc.is_some_and(|user| !user.welcomed) {
            self.irc_pending -= 1;
        }
        // Whom the QUIT is from, as IRC shows it, asked before the user is gone.
        let account = self
            .chat
            .user(id)
            .filter(|user| user.account)
            .map(|user| user.nick.clone())
            .or_else(|| irc.and_then(|user| user.sasl_account.clone()));
        if let Some(departure) = self.chat.disconnect(id) {
            info!(
                "conn {id} ({}) from {} left: {quit_text}",
                departure.nick, client.peer
            );
            for left in &departure.left {
                self.unroute(id, left);
            }
            let quit = Event::Quit {
                nick: &departure.nick,
                text: Some(quit_text),
            };
            let user = irc.map(|user| user.user.as_str()).filter(|u| !u.is_empty());
            let line = self.render_as(&quit, Tone::Said, (user, account.as_deref()));
            self.send_many(&departure.peers, &line);
        }
        if client.irc.is_some() {
            self.irc_clients -= 1;
        }
        self.staged.push(Staged {
            line: bye(&client.outbox, bye_text),
            to: client.outbox.clone(),
            last: true,
        });
        client.stop_reading();
    }

    /// Takes `id` out of the routing table entry of a room it left.
    pub(super) fn unroute(&mut self, id: ConnId, left: &Left) {
        {
            let mut routes = self.routes.lock();
            if left.gone {
                routes.remove(&left.room);
            } else if let Some(outboxes) = routes.get_mut(&left.room) {
                outboxes.retain(|o| o.id() != id);
            }
        }
        if left.gone {
            self.forget(&left.room);
        }
    }
}

/// The bytes of `s` in ASCII lower case, for comparing names ignoring case.
fn folded(s: &str) -> impl Iterator<Item = u8> + '_ {
    s.bytes().map(|b| b.to_ascii_lowercase())
}
