//! What operators and admins do: the topic, settings, roles, bans, mutes,
//! invitations, `SETTINGS`, `KILL` and IRC's `OPER`. The chat state decides
//! who may (`src/chat/mod.rs`); here each change is told to the room's
//! members and saved with an account's room.

use super::accounts::Job;
use super::voice::{Shared, Tone};
use super::{Dispatcher, no_room};
use crate::chat::moderation::{Change, Flag, List, Role};
use crate::ids::{ConnId, RoomId};
use crate::proto::chat1::{Event, Shift};
use crate::proto::command::Act;
use crate::proto::irc::Cap;
use crate::proto::refusal::{ErrCode, Refusal};
use crate::store::now_ms;
use log::{error, info};

/// Longest key `SET <room> key` or IRC's `MODE +k` takes.
pub(super) const KEY_LEN: usize = 64;

impl Dispatcher {
    pub(super) fn topic(
        &mut self,
        id: ConnId,
        name: &str,
        text: Option<&str>,
    ) -> Result<(), Refusal> {
        let topic = self.chat.set_topic(id, name, text, now_ms())?;
        let room_id = RoomId::of(name);
        let room_name = self.chat.room(name).map_or(name, |r| &r.name).to_string();
        let event = Event::Topic {
            room: &room_name,
            by: &topic.by,
            at: topic.at,
            text: text.map(|_| topic.text.as_str()),
        };
        let line = self.render_said(&event);
        self.tell_room(id, &room_id, &line);
        self.save_settings(&room_id);
        Ok(())
    }

    /// `SET <room> <setting> [<value>]` (`on`) and `UNSET <room> <setting>`.
    pub(super) fn set(
        &mut self,
        id: ConnId,
        name: &str,
        setting: &str,
        value: Option<&str>,
        on: bool,
    ) -> Result<(), Refusal> {
        let verb = if on { "SET" } else { "UNSET" };
        let number = |what: &str| -> Result<Option<u32>, Refusal> {
            if !on {
                return Ok(None);
            }
            let value = value.ok_or_else(|| {
                Refusal::new(
                    ErrCode::MissingArgument,
                    format!("SET needs <value> for {what}"),
                )
            })?;
            value.parse().map(Some).map_err(|_| {
                Refusal::new(
                    ErrCode::BadSetting,
                    format!(
                        "{what} takes a whole number, not {}",
                        crate::proto::lines::clip(value, 20)
                    ),
                )
            })
        };
        let change = match setting.to_ascii_lowercase().as_str() {
            "limit" => Change::Limit(number("limit")?),
            "slow" => Change::Slow(number("slow")?),
            "key" if on => {
                let key = value.ok_or_else(|| {
                    Refusal::new(ErrCode::MissingArgument, "SET needs <value> for key")
                })?;
                return self.set_key(id, name, key);
            }
            "key" => Change::Key(None),
            other => match Flag::named(other) {
                Some(flag) => Change::Flag(flag, on),
                None => {
                    return Err(Refusal::new(
                        ErrCode::BadSetting,
                        format!(
                            "{verb}: unknown setting {}; the settings are topic-lock, no-outside, \
                             moderated, invite-only, secret, limit, slow and key",
                            crate::proto::lines::clip(other, 24)
                        ),
                    ));
                }
            },
        };
        self.change(id, name, change, None)
    }

    /// Sets the key of room `name`: checked now, hashed by the password
    /// workers, applied at their answer ([`Dispatcher::key_set`]).
    pub(super) fn set_key(&mut self, id: ConnId, name: &str, key: &str) -> Result<(), Refusal> {
        self.chat.check_operator(id, name)?;
        if key.is_empty()
            || key.len() > KEY_LEN
            || !key.bytes().all(|b| b.is_ascii_graphic() && b != b',')
        {
            return Err(Refusal::new(
                ErrCode::BadSetting,
                format!(
                    "a key is 1 to {KEY_LEN} printable ASCII characters, without spaces or commas"
                ),
            ));
        }
        let job = Job::HashKey {
            id,
            room: name.to_string(),
            key: key.to_string(),
            set: true,
        };
        self.ask(id, job, "hashing keys")
            .map_err(|refused| Refusal::new(ErrCode::BadSetting, refused.text))
    }

    /// The workers hashed the key `id` sets on room `name`.
    pub(super) fn key_set(
        &mut self,
        id: ConnId,
        name: &str,
        key: &str,
        hash: crate::Result<String>,
    ) {
        if !self.clients.contains_key(&id) {
            return;
        }
        let done = match hash {
            Ok(hash) => self.change(id, name, Change::Key(Some(hash)), Some(key)),
            Err(e) => {
                error!("SET {name} key: {e}");
                Err(Refusal::new(
                    ErrCode::BadSetting,
                    "the key could not be hashed",
                ))
            }
        };
        if let Err(refusal) = done {
            let subject = crate::proto::irc::Subject::Channel(crate::proto::irc::channel(name));
            self.refuse_about(id, &refusal, &subject);
        }
        self.resume(id);
    }

    /// `OP`, `DEOP`, `VOICE`, `DEVOICE`, `MUTE`, `UNMUTE`, `BAN`, `UNBAN`.
    pub(super) fn moderate(
        &mut self,
        id: ConnId,
        name: &str,
        act: Act,
        who: &str,
    ) -> Result<(), Refusal> {
        let who = who.to_string();
        let change = match act {
            Act::Op => Change::Role(Role::Op, who, true),
            Act::Deop => Change::Role(Role::Op, who, false),
            Act::Voice => Change::Role(Role::Voice, who, true),
            Act::Devoice => Change::Role(Role::Voice, who, false),
            Act::Mute => Change::List(List::Mute, who, true),
            Act::Unmute => Change::List(List::Mute, who, false),
            Act::Ban => Change::List(List::Ban, who, true),
            Act::Unban => Change::List(List::Ban, who, false),
            Act::Except => Change::List(List::Except, who, true),
            Act::Unexcept => Change::List(List::Except, who, false),
            Act::Allow => Change::List(List::Allow, who, true),
            Act::Disallow => Change::List(List::Allow, who, false),
        };
        self.change(id, name, change, None)
    }

    /// Makes one change and tells the room; `shown` is a new key as typed,
    /// which IRC shows the channel.
    pub(super) fn change(
        &mut self,
        id: ConnId,
        name: &str,
        change: Change,
        shown: Option<&str>,
    ) -> Result<(), Refusal> {
        if let Some(made) = self.chat.change(id, name, change, now_ms())? {
            self.announce(id, name, &[made], shown);
        }
        Ok(())
    }

    /// Tells room `name`'s members (and `id`, an admin outside it) of the
    /// changes `id` made, in one line per change for CHAT/1 and one `MODE`
    /// for IRC, and saves an account's room.
    pub(super) fn announce(
        &mut self,
        id: ConnId,
        name: &str,
        made: &[Change],
        shown: Option<&str>,
    ) {
        if made.is_empty() {
            return;
        }
        let room_id = RoomId::of(name);
        let room_name = self.chat.room(name).map_or(name, |r| &r.name).to_string();
        let by = self.chat.nick(id).to_string();
        let shifts: Vec<Shift<'_>> = made.iter().map(|c| shift_of(c, shown)).collect();
        let event = Event::Changes {
            room: &room_name,
            by: &by,
            shifts: &shifts,
        };
        let line = self.render_said(&event);
        self.tell_room(id, &room_id, &line);
        self.save_settings(&room_id);
    }

    /// Sends `line` to the members of `room`, and to `id` if it is not one
    /// (an admin acting from outside).
    fn tell_room(&mut self, id: ConnId, room: &RoomId, line: &Shared) {
        self.send_room(room, line);
        if self.chat.room(room.as_str()).is_some_and(|r| !r.has(id)) {
            self.send_one(id, line);
        }
    }

    /// Saves what an account's room keeps, after a change of its moderation.
    fn save_settings(&mut self, room: &RoomId) {
        let Some(saved) = self.chat.room(room.as_str()).and_then(|r| r.stored()) else {
            return;
        };
        if let Err(e) = self.store.save_room(&saved) {
            error!("cannot save the settings of {}: {e}", saved.name);
        }
    }

    /// `SETTINGS <room>`: topic, settings, roles, bans and mutes.
    pub(super) fn settings(&mut self, id: ConnId, name: &str) -> Result<(), Refusal> {
        let room = self
            .chat
            .room(name)
            .filter(|r| self.chat.visible(id, r))
            .ok_or_else(|| no_room(name))?;
        let voice = self.voice(id);
        let mut out = Vec::new();
        let room_name = room.name.as_str();
        let mods = &room.mods;
        if let Some(t) = &mods.topic {
            voice.event(
                &Event::Topic {
                    room: room_name,
                    by: &t.by,
                    at: t.at,
                    text: Some(&t.text),
                },
                &mut out,
            );
        }
        let numbers: Vec<(&str, String)> = [("limit", mods.limit), ("slow", mods.slow)]
            .into_iter()
            .filter_map(|(n, v)| v.map(|v| (n, v.to_string())))
            .collect();
        for flag in Flag::ALL.into_iter().filter(|&f| mods.is(f)) {
            let event = Event::Setting {
                room: room_name,
                setting: flag.name(),
                value: None,
            };
            voice.event(&event, &mut out);
        }
        for (setting, value) in &numbers {
            let event = Event::Setting {
                room: room_name,
                setting,
                value: Some(value),
            };
            voice.event(&event, &mut out);
        }
        if room.key.is_some() {
            let event = Event::Setting {
                room: room_name,
                setting: "key",
                value: None,
            };
            voice.event(&event, &mut out);
        }
        let owner = self.chat.owner_nick(room);
        voice.event(
            &Event::Role {
                room: room_name,
                nick: owner,
                role: "owner",
            },
            &mut out,
        );
        for grant in &mods.grants {
            let event = Event::Role {
                room: room_name,
                nick: &grant.nick,
                role: grant.role.name(),
            };
            voice.event(&event, &mut out);
        }
        for list in List::ALL {
            let word = list.name().to_ascii_uppercase();
            for l in mods.list(list) {
                let event = Event::Listed {
                    list: &word,
                    room: room_name,
                    mask: &l.mask,
                    by: &l.by,
                    at: l.at,
                };
                voice.event(&event, &mut out);
            }
        }
        voice.event(&Event::EndSettings { room: room_name }, &mut out);
        self.reply_charged(id, out);
        Ok(())
    }

    /// `INVITE <room> <nick>`: the invited user and the members are told; an
    /// IRC inviter gets 341.
    pub(super) fn invite(&mut self, id: ConnId, name: &str, nick: &str) -> Result<(), Refusal> {
        let target = self.chat.invite(id, name, nick)?;
        let room_name = self.chat.room(name).map_or(name, |r| &r.name).to_string();
        let (by, invited) = (
            self.chat.nick(id).to_string(),
            self.chat.nick(target).to_string(),
        );
        let event = Event::Invited {
            room: &room_name,
            nick: &invited,
            by: &by,
        };
        // IRC's INVITE to the invited user, and to the members who asked
        // for `invite-notify`; CHAT/1 members get INVITED.
        let line = self.render_said(&event);
        self.send_one(target, &line);
        let chat_only = Shared::new(&event, Tone::Said, None);
        let members = self
            .chat
            .room(name)
            .map(|r| r.members.clone())
            .unwrap_or_default();
        for member in members {
            let notified = self.has_cap(member, Cap::InviteNotify);
            self.send_one(member, if notified { &line } else { &chat_only });
        }
        if !self.chat.room(name).is_some_and(|r| r.has(id)) {
            self.send_one(id, &chat_only);
        }
        let mut out = Vec::new();
        self.voice(id).invited(&room_name, &invited, &mut out);
        self.reply(id, out);
        Ok(())
    }

    /// `KILL <nick> [<text>]` by a server admin.
    pub(super) fn kill(
        &mut self,
        id: ConnId,
        nick: &str,
        text: Option<&str>,
    ) -> Result<(), Refusal> {
        if !self.chat.is_admin(id) {
            return Err(Refusal::new(
                ErrCode::NotAdmin,
                "only a server admin may disconnect users",
            ));
        }
        let target = self
            .chat
            .find(nick)
            .ok_or_else(|| Refusal::new(ErrCode::NoSuchUser, format!("there is no user {nick}")))?;
        let admin = self.chat.nick(id).to_string();
        let victim = self.chat.nick(target).to_string();
        let reason = match text {
            Some(t) => format!("killed by {admin}: {t}"),
            None => format!("killed by {admin}"),
        };
        info!(
            "{admin} killed {victim}: {}",
            text.unwrap_or("no reason given")
        );
        self.remove(target, &reason, &reason);
        let mut out = Vec::new();
        let ok = Event::Ok {
            verb: "KILL",
            detail: Some(&victim),
        };
        self.voice(id).event(&ok, &mut out);
        self.reply(id, out);
        Ok(())
    }

    /// IRC's `OPER <account> <password>`: the account must be an admin's;
    /// its password is checked by the workers, under the waits between
    /// wrong tries of every login.
    pub(super) fn oper(&mut self, id: ConnId, name: &str, password: String) -> Result<(), Refusal> {
        let no_oper = || {
            Refusal::new(ErrCode::NotAdmin, "No O-lines for your host")
                .because(crate::proto::refusal::Reason::NoOper)
        };
        if !self.chat.is_admin_account(name) {
            return Err(no_oper());
        }
        let Some((account, hash)) = self.accounts.get(&name.to_ascii_lowercase()).cloned() else {
            return Err(no_oper());
        };
        let from = self
            .clients
            .get(&id)
            .map(|c| c.peer.ip())
            .ok_or_else(no_oper)?;
        let now = (self.clock)();
        if let Err(wait) = self.tries.admit(id, &account, from, now) {
            return Err(Refusal::new(
                ErrCode::BadPassword,
                format!(
                    "too many wrong passwords: try again in {} s",
                    wait.seconds()
                ),
            ));
        }
        let job = Job::Oper {
            id,
            account,
            password,
            hash,
        };
        self.ask(id, job, "checking passwords").inspect_err(|_| {
            self.tries.withdraw(id);
        })
    }

    /// The workers checked the password of an `OPER`.
    pub(super) fn oper_checked(&mut self, id: ConnId, account: &str, ok: bool) {
        let now = (self.clock)();
        self.tries.settle(id, ok, now);
        if !self.clients.contains_key(&id) {
            return;
        }
        if ok {
            self.chat.make_oper(id);
            info!(
                "conn {id} ({}) is a server admin by OPER {account}",
                self.chat.nick(id)
            );
        }
        let mut out = Vec::new();
        self.voice(id).opered(ok, &mut out);
        self.reply(id, out);
        self.resume(id);
    }
}

/// A change as events show it.
fn shift_of<'a>(change: &'a Change, shown: Option<&'a str>) -> Shift<'a> {
    match change {
        Change::Flag(flag, on) => Shift::Flag {
            name: flag.name(),
            on: *on,
        },
        Change::Limit(value) => Shift::Value {
            name: "limit",
            value: *value,
        },
        Change::Slow(value) => Shift::Value {
            name: "slow",
            value: *value,
        },
        Change::Key(hash) => Shift::Key {
            on: hash.is_some(),
            shown,
        },
        Change::Role(role, nick, on) => Shift::Role {
            role: role.name(),
            nick,
            on: *on,
        },
        Change::List(list, mask, on) => Shift::List {
            list: list.name(),
            mask,
            on: *on,
        },
    }
}
