//! Chat state as plain data: users, their nicknames, rooms, members, owners
//! and keys, and who may do what in a room ([`moderation`]). No sockets and
//! no channels here; the dispatcher is its only writer, and every method is
//! tested without a network.

pub mod moderation;

pub use crate::ids::{ConnId, RoomId};
use crate::proto::refusal::{ErrCode, Reason, Refusal};
use crate::store::StoredRoom;
use moderation::{Change, Flag, List, Moderation, Role, Topic};
use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// A connected user.
#[derive(Debug, Clone)]
pub struct User {
    pub nick: String,
    /// Rooms joined, oldest first.
    pub rooms: Vec<RoomId>,
    /// Logged in to the account of `nick` (by `NICK nick password` or `REGISTER`).
    pub account: bool,
    /// Made a server admin by IRC's `OPER` (an admin account's login makes
    /// one too: [`Chat::is_admin`]).
    pub oper: bool,
    /// The username IRC's `USER` gave, for ban masks (`None`: the nick).
    pub username: Option<String>,
    /// The address the connection comes from, for ban masks.
    pub host: String,
    /// Rooms it is invited to.
    pub invited_to: Vec<RoomId>,
}

/// A room: its name as first written, owner, optional key, members in join order.
#[derive(Debug, Clone)]
pub struct Room {
    pub name: String,
    /// The owning connection (rooms of guests and unregistered nicks).
    pub owner: ConnId,
    /// The owning account: such a room outlives its members, and only that
    /// account, logged in, owns it.
    pub account: Option<String>,
    /// The key as a salted hash ([`crate::secret::hash_key`]), if the room is locked.
    pub key: Option<String>,
    /// Members, longest present first: the first one inherits ownership.
    pub members: Vec<ConnId>,
    /// Unix ms of creation.
    pub created: u64,
    /// Topic, settings, roles, bans and mutes.
    pub mods: Moderation,
    last_stamp: u64,
}

impl Room {
    /// The stamp of a message applied at `now_ms`: strictly increasing per room.
    pub fn stamp(&mut self, now_ms: u64) -> u64 {
        self.last_stamp = now_ms.max(self.last_stamp + 1);
        self.last_stamp
    }

    /// True if `id` is a member.
    pub fn has(&self, id: ConnId) -> bool {
        self.members.contains(&id)
    }

    /// Removes `id`, passing ownership on; true if the room is to go away
    /// (empty, and not kept by an account).
    fn remove(&mut self, id: ConnId) -> bool {
        self.members.retain(|&m| m != id);
        if self.account.is_some() {
            return false;
        }
        if self.owner == id
            && let Some(&next) = self.members.first()
        {
            self.owner = next;
        }
        self.members.is_empty()
    }

    /// The record a store keeps of an account's room.
    pub fn stored(&self) -> Option<StoredRoom> {
        Some(StoredRoom {
            name: self.name.clone(),
            owner: self.account.clone()?,
            key: self.key.clone(),
            created: self.created,
            last_stamp: self.last_stamp,
            settings: self.mods.saved(),
        })
    }

    /// Unix ms of the room's last sign of life: its newest message, or its creation.
    pub fn last_active(&self) -> u64 {
        self.created.max(self.last_stamp)
    }
}

/// The key a `JOIN` brings, as far as a room's lock goes. Hashing is slow
/// (Argon2), so the dispatcher has the key checked or hashed before the join
/// and passes what was found.
pub trait Key {
    /// True if it opens a room locked with `hash`.
    fn opens(&self, hash: &str) -> bool;
    /// The hash that locks a room this `JOIN` creates; `None` leaves it open.
    fn lock(&self) -> Option<String>;
}

/// A key as typed, checked and hashed on the spot (tests of the chat state).
#[cfg(test)]
impl Key for Option<&str> {
    fn opens(&self, hash: &str) -> bool {
        self.is_some_and(|key| crate::secret::key_matches(key, hash))
    }
    fn lock(&self) -> Option<String> {
        self.map(|key| crate::secret::hash_key(key).expect("a hash"))
    }
}

/// A user left a room: who was there to be told, and whether the room went away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Left {
    pub room: RoomId,
    pub name: String,
    /// Members before the departure, the leaver included.
    pub told: Vec<ConnId>,
    /// The room was empty afterwards and no longer exists.
    pub gone: bool,
}

/// A user left the server: their nick, the rooms they left, who shared one with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departure {
    pub nick: String,
    pub left: Vec<Left>,
    /// Everyone who shared at least one room with the user (not the user).
    pub peers: Vec<ConnId>,
}

/// Everything the server knows about users and rooms.
#[derive(Debug)]
pub struct Chat {
    users: HashMap<ConnId, User>,
    /// Lower-case nick to user.
    nicks: HashMap<String, ConnId>,
    rooms: HashMap<RoomId, Room>,
    guests: u64,
    max_rooms: usize,
    /// Most rooms one account or guest may own at once (0: no limit).
    per_user: usize,
    /// The accounts (lower case) whose logged-in users are server admins.
    admins: Vec<String>,
}

impl Chat {
    /// Empty state allowing at most `max_rooms` rooms at once, and at most
    /// `per_user` of them owned by one account or guest (0: no such limit).
    pub fn new(max_rooms: usize, per_user: usize) -> Chat {
        Chat {
            users: HashMap::new(),
            nicks: HashMap::new(),
            rooms: HashMap::new(),
            guests: 0,
            max_rooms,
            per_user,
            admins: Vec::new(),
        }
    }

    /// Names the accounts whose logged-in users are server admins (`--admin`).
    pub fn set_admins(&mut self, admins: &[String]) {
        self.admins = admins.iter().map(|a| a.to_ascii_lowercase()).collect();
    }

    /// True if `nick` is an admin account (`--admin`).
    pub fn is_admin_account(&self, nick: &str) -> bool {
        self.admins.iter().any(|a| a.eq_ignore_ascii_case(nick))
    }

    /// True if `id` is a server admin: logged in to an admin account, or made
    /// one by `OPER`.
    pub fn is_admin(&self, id: ConnId) -> bool {
        self.users
            .get(&id)
            .is_some_and(|u| u.oper || (u.account && self.is_admin_account(&u.nick)))
    }

    /// Makes `id` a server admin (IRC's `OPER`).
    pub fn make_oper(&mut self, id: ConnId) {
        if let Some(user) = self.users.get_mut(&id) {
            user.oper = true;
        }
    }

    /// Records where `id` comes from and, for IRC, the username it gave.
    pub fn set_ident(&mut self, id: ConnId, username: Option<&str>, host: &str) {
        if let Some(user) = self.users.get_mut(&id) {
            if let Some(name) = username {
                user.username = Some(name.to_string());
            }
            if !host.is_empty() {
                user.host = host.to_string();
            }
        }
    }

    /// `nick!user@host` of `id`, what ban and mute masks are matched against.
    pub fn ident(&self, id: ConnId) -> String {
        match self.users.get(&id) {
            Some(u) => format!(
                "{}!{}@{}",
                u.nick,
                u.username.as_deref().unwrap_or(&u.nick),
                u.host
            ),
            None => String::new(),
        }
    }

    /// Adds a new connection under the next guest nickname, which it returns.
    pub fn connect(&mut self, id: ConnId) -> &str {
        let nick = loop {
            self.guests += 1;
            let nick = format!("guest{}", self.guests);
            if !self.nicks.contains_key(&nick) {
                break nick;
            }
        };
        self.nicks.insert(nick.clone(), id);
        let user = self.users.entry(id).or_insert(User {
            nick,
            rooms: Vec::new(),
            account: false,
            oper: false,
            username: None,
            host: String::new(),
            invited_to: Vec::new(),
        });
        &user.nick
    }

    /// The user behind a connection.
    pub fn user(&self, id: ConnId) -> Option<&User> {
        self.users.get(&id)
    }

    /// The nick of a connection ("" if unknown, which the dispatcher never asks).
    pub fn nick(&self, id: ConnId) -> &str {
        self.users.get(&id).map_or("", |u| u.nick.as_str())
    }

    /// The connection using `nick`, in any case.
    pub fn find(&self, nick: &str) -> Option<ConnId> {
        self.nicks.get(&nick.to_ascii_lowercase()).copied()
    }

    /// Every user, by connection id.
    pub fn users(&self) -> impl Iterator<Item = (ConnId, &User)> {
        self.users.iter().map(|(&id, u)| (id, u))
    }

    /// How many users are connected.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// The room called `name`, in any case.
    pub fn room(&self, name: &str) -> Option<&Room> {
        self.rooms.get(&RoomId::of(name))
    }

    /// Every room, in no particular order.
    pub fn rooms(&self) -> impl Iterator<Item = &Room> {
        self.rooms.values()
    }

    /// Everyone sharing a room with `id`, `id` itself included, each once.
    pub fn audience(&self, id: ConnId) -> Vec<ConnId> {
        let mut seen = vec![id];
        if let Some(user) = self.users.get(&id) {
            for room in user.rooms.iter().filter_map(|r| self.rooms.get(r)) {
                seen.extend(room.members.iter().copied());
            }
        }
        seen.sort_unstable();
        seen.dedup();
        seen
    }

    /// Renames `id` to `nick` (already validated); returns the old nick.
    ///
    /// # Errors
    /// `NICK_TAKEN` when another user holds the name in any case.
    pub fn rename(&mut self, id: ConnId, nick: &str) -> Result<String, Refusal> {
        let key = nick.to_ascii_lowercase();
        match self.nicks.get(&key) {
            Some(&holder) if holder != id => {
                return Err(Refusal::new(
                    ErrCode::NickTaken,
                    format!("{nick} is already in use"),
                ));
            }
            _ => {}
        }
        let user = self.users.get_mut(&id).ok_or_else(unknown)?;
        let old = std::mem::replace(&mut user.nick, nick.to_string());
        // A new name is a new identity: logging in to it is the caller's business.
        let had_account = std::mem::replace(&mut user.account, false);
        let rooms = user.rooms.clone();
        self.nicks.remove(&old.to_ascii_lowercase());
        self.nicks.insert(key, id);
        // The roles held in its rooms go with the connection.
        for room_id in &rooms {
            if let Some(room) = self.rooms.get_mut(room_id) {
                room.mods.renamed(&old, nick, had_account);
            }
        }
        Ok(old)
    }

    /// Marks `id` as logged in to the account of its nick.
    pub fn log_in(&mut self, id: ConnId) {
        if let Some(user) = self.users.get_mut(&id) {
            user.account = true;
        }
    }

    /// Brings back an account's room saved by a store (with no members).
    pub fn restore(&mut self, saved: &StoredRoom) {
        self.rooms.insert(
            RoomId::of(&saved.name),
            Room {
                name: saved.name.clone(),
                owner: 0,
                account: Some(saved.owner.clone()),
                key: saved.key.clone(),
                members: Vec::new(),
                created: saved.created,
                mods: Moderation::restore(&saved.settings),
                last_stamp: saved.last_stamp,
            },
        );
    }

    /// How many rooms `id` owns: its own (a guest's, an unregistered nick's)
    /// and, logged in, its account's.
    pub fn owned_by(&self, id: ConnId) -> usize {
        self.rooms
            .values()
            .filter(|room| self.owns(id, room))
            .count()
    }

    /// Removes the accounts' rooms that have no member and no sign of life
    /// (a message, or their creation) since `now_ms - idle_ms`; returns their
    /// ids and names, for their records and history to go too.
    pub fn expire(&mut self, now_ms: u64, idle_ms: u64) -> Vec<(RoomId, Room)> {
        let stale: Vec<RoomId> = self
            .rooms
            .iter()
            .filter(|(_, room)| {
                room.account.is_some()
                    && room.members.is_empty()
                    && room.last_active().saturating_add(idle_ms) <= now_ms
            })
            .map(|(id, _)| id.clone())
            .collect();
        stale
            .into_iter()
            .filter_map(|id| self.rooms.remove(&id).map(|room| (id, room)))
            .collect()
    }

    /// True if `id` owns `room`: its creator or heir, or for an account's room,
    /// that account logged in.
    pub fn owns(&self, id: ConnId, room: &Room) -> bool {
        match &room.account {
            Some(account) => self
                .users
                .get(&id)
                .is_some_and(|u| u.account && u.nick.eq_ignore_ascii_case(account)),
            None => room.owner == id,
        }
    }

    /// The name shown as a room's owner.
    pub fn owner_nick<'a>(&'a self, room: &'a Room) -> &'a str {
        room.account
            .as_deref()
            .unwrap_or_else(|| self.nick(room.owner))
    }

    /// True if `id` is an operator of `room`: its owner, a user given `op`
    /// there, or a server admin.
    pub fn is_operator(&self, id: ConnId, room: &Room) -> bool {
        self.owns(id, room) || self.holds(id, room, Role::Op) || self.is_admin(id)
    }

    /// True if `id` holds `role` in `room` (given to it, not by ownership).
    pub fn holds(&self, id: ConnId, room: &Room, role: Role) -> bool {
        self.users
            .get(&id)
            .is_some_and(|u| room.mods.has(&u.nick, u.account, role))
    }

    /// True if `id` may see `room`: it is not secret, or `id` is a member or an admin.
    pub fn visible(&self, id: ConnId, room: &Room) -> bool {
        !room.mods.is(Flag::Secret) || room.has(id) || self.is_admin(id)
    }

    /// True if a `JOIN` of `name` by `id` needs no key: it is invited, or an admin.
    pub fn passes_locks(&self, id: ConnId, name: &str) -> bool {
        self.is_admin(id)
            || self
                .room(name)
                .is_some_and(|r| r.mods.invited.contains(&id))
    }

    /// The room `name` where `by` may act as an operator.
    ///
    /// # Errors
    /// `NO_SUCH_ROOM`, `NOT_MEMBER` (an admin need not be one), `NOT_OPERATOR`.
    pub fn check_operator(&self, by: ConnId, name: &str) -> Result<RoomId, Refusal> {
        self.acting_in(by, name, true)
    }

    /// The room `name` where `by` acts: a member of it, or a server admin,
    /// and an operator of it if `operator`.
    ///
    /// # Errors
    /// `NO_SUCH_ROOM`, `NOT_MEMBER`, `NOT_OPERATOR`.
    fn acting_in(&self, by: ConnId, name: &str, operator: bool) -> Result<RoomId, Refusal> {
        let room_id = RoomId::of(name);
        let room = self.rooms.get(&room_id).ok_or_else(|| no_room(name))?;
        if !room.has(by) && !self.is_admin(by) {
            return Err(not_member(&room.name));
        }
        if operator && !self.is_operator(by, room) {
            return Err(not_operator(&room.name));
        }
        Ok(room_id)
    }

    /// An operator `by` changes a setting, a role or a list of room `name`
    /// at `now_ms`. Returns the change as made (the member's nick as
    /// written, the mask as kept), or `None` if it changed nothing.
    ///
    /// # Errors
    /// `NO_SUCH_ROOM`, `NOT_MEMBER`, `NOT_OPERATOR`; for a role,
    /// `NO_SUCH_USER`, `NOT_MEMBER` ([`Reason::TargetNotMember`]) and
    /// `NOT_OWNER` (the owner's `op`); `BAD_SETTING` for a value out of
    /// range, a malformed mask or a full list.
    pub fn change(
        &mut self,
        by: ConnId,
        name: &str,
        change: Change,
        now_ms: u64,
    ) -> Result<Option<Change>, Refusal> {
        let room_id = self.check_operator(by, name)?;
        let by_nick = self.nick(by).to_string();
        if let Change::Role(role, nick, on) = change {
            let target = self.find(&nick).ok_or_else(|| no_user(&nick))?;
            let room = self.rooms.get(&room_id).ok_or_else(unknown)?;
            if !room.has(target) {
                return Err(Refusal::new(
                    ErrCode::NotMember,
                    format!("{nick} is not in {}", room.name),
                )
                .because(Reason::TargetNotMember));
            }
            if role == Role::Op && !on && self.owns(target, room) {
                return Err(Refusal::new(
                    ErrCode::NotOwner,
                    format!("the owner of {} is always one of its operators", room.name),
                ));
            }
            let user = self.users.get(&target).ok_or_else(unknown)?;
            let (nick, account) = (user.nick.clone(), user.account);
            let room = self.rooms.get_mut(&room_id).ok_or_else(unknown)?;
            let changed = room.mods.grant(&nick, account, role, on);
            return Ok(changed.then_some(Change::Role(role, nick, on)));
        }
        let room = self.rooms.get_mut(&room_id).ok_or_else(unknown)?;
        let mods = &mut room.mods;
        let changed = match &change {
            Change::Flag(flag, on) => mods.set(*flag, *on),
            Change::Limit(limit) => {
                if let Some(n) = limit.filter(|n| !(1..=moderation::MAX_LIMIT).contains(n)) {
                    return Err(bad_setting(&format!(
                        "a limit is 1 to {} members, not {n}",
                        moderation::MAX_LIMIT
                    )));
                }
                std::mem::replace(&mut mods.limit, *limit) != *limit
            }
            Change::Slow(slow) => {
                if let Some(n) = slow.filter(|n| !(1..=moderation::MAX_SLOW).contains(n)) {
                    return Err(bad_setting(&format!(
                        "slow mode is 1 to {} seconds, not {n}",
                        moderation::MAX_SLOW
                    )));
                }
                if slow.is_none() {
                    mods.last_said.clear();
                }
                std::mem::replace(&mut mods.slow, *slow) != *slow
            }
            // A new key always replaces the old one; no key to remove is no change.
            Change::Key(hash) => {
                std::mem::replace(&mut room.key, hash.clone()).is_some() || hash.is_some()
            }
            Change::List(list, mask, on) => {
                let mask = moderation::normalize(mask)?;
                let changed = mods.mark(*list, &mask, *on, &by_nick, now_ms)?;
                return Ok(changed.then_some(Change::List(*list, mask, *on)));
            }
            Change::Role(..) => false,
        };
        Ok(changed.then_some(change))
    }

    /// `by` sets the topic of room `name` at `now_ms`, or clears it (`None`);
    /// returns the topic as it is now (an empty text: cleared).
    ///
    /// # Errors
    /// `NO_SUCH_ROOM`, `NOT_MEMBER`, `NOT_OPERATOR` (a topic-locked room),
    /// `BAD_SETTING` (longer than [`moderation::TOPIC_LEN`] bytes).
    pub fn set_topic(
        &mut self,
        by: ConnId,
        name: &str,
        text: Option<&str>,
        now_ms: u64,
    ) -> Result<Topic, Refusal> {
        let locked = self.room(name).is_some_and(|r| r.mods.is(Flag::TopicLock));
        let room_id = self.acting_in(by, name, locked)?;
        if text.is_some_and(|t| t.len() > moderation::TOPIC_LEN) {
            return Err(bad_setting(&format!(
                "a topic is at most {} bytes",
                moderation::TOPIC_LEN
            )));
        }
        let topic = Topic {
            text: text.unwrap_or_default().to_string(),
            by: self.nick(by).to_string(),
            at: now_ms,
        };
        let room = self.rooms.get_mut(&room_id).ok_or_else(unknown)?;
        room.mods.topic = text.map(|_| topic.clone());
        Ok(topic)
    }

    /// `by` invites `nick` into room `name`; returns the invited connection.
    ///
    /// # Errors
    /// `NO_SUCH_ROOM`, `NOT_MEMBER`, `NOT_OPERATOR` (an invite-only room),
    /// `NO_SUCH_USER`, `ALREADY_MEMBER` (that user is in the room).
    pub fn invite(&mut self, by: ConnId, name: &str, nick: &str) -> Result<ConnId, Refusal> {
        let locked = self.room(name).is_some_and(|r| r.mods.is(Flag::InviteOnly));
        let room_id = self.acting_in(by, name, locked)?;
        let room = self.rooms.get(&room_id).ok_or_else(unknown)?;
        let target = self.find(nick).ok_or_else(|| no_user(nick))?;
        if room.has(target) {
            return Err(Refusal::new(
                ErrCode::AlreadyMember,
                format!("{nick} is already in {}", room.name),
            )
            .because(Reason::TargetMember));
        }
        let room = self.rooms.get_mut(&room_id).ok_or_else(unknown)?;
        if !room.mods.invited.contains(&target) {
            room.mods.invited.push(target);
        }
        if let Some(user) = self.users.get_mut(&target)
            && !user.invited_to.contains(&room_id)
        {
            user.invited_to.push(room_id);
        }
        Ok(target)
    }

    /// The room `name`, if `id` may say something in it at `now_ms`; starts
    /// its slow-mode wait.
    ///
    /// # Errors
    /// `NO_SUCH_ROOM`; `NOT_MEMBER` (unless `no-outside` is off); for anyone
    /// but an operator, `BANNED`, `MUTED`, `MODERATED`, `SLOW_MODE`.
    pub fn may_say(&mut self, id: ConnId, name: &str, now_ms: u64) -> Result<&mut Room, Refusal> {
        let room_id = RoomId::of(name);
        let room = self.rooms.get(&room_id).ok_or_else(|| no_room(name))?;
        let member = room.has(id);
        if !member && room.mods.is(Flag::NoOutside) {
            return Err(not_member(&room.name));
        }
        let free = self.is_operator(id, room);
        // Voice lets a member speak past bans, mutes and moderation, as on IRC.
        let voiced = self.holds(id, room, Role::Voice);
        if !free {
            // Masks are matched only in rooms that have some: no string is
            // built for a message otherwise.
            let masked = !room.mods.bans.is_empty() || !room.mods.mutes.is_empty();
            let ident = if masked {
                self.ident(id)
            } else {
                String::new()
            };
            if masked && !voiced && room.mods.banned(&ident) {
                return Err(Refusal::new(
                    ErrCode::Banned,
                    format!("you are banned from {}", room.name),
                ));
            }
            if masked && !voiced && room.mods.muted(&ident) {
                return Err(Refusal::new(
                    ErrCode::Muted,
                    format!("you are muted in {}", room.name),
                ));
            }
            if room.mods.is(Flag::Moderated) && !voiced {
                return Err(Refusal::new(
                    ErrCode::Moderated,
                    format!(
                        "{} is moderated: only its operators and voiced members speak",
                        room.name
                    ),
                ));
            }
            let wait = room.mods.wait_left(id, now_ms);
            if wait > 0 {
                return Err(Refusal::new(
                    ErrCode::SlowMode,
                    format!(
                        "{wait} slow mode in {}: you may write again in {wait} s",
                        room.name
                    ),
                ));
            }
        }
        let room = self.rooms.get_mut(&room_id).ok_or_else(unknown)?;
        if !free && member && room.mods.slow.is_some() {
            room.mods.last_said.insert(id, now_ms);
        }
        Ok(room)
    }

    /// Puts `id` in room `name` (already validated), creating it at `now_ms`,
    /// locked by `key`, if missing; a room created by a logged-in user
    /// belongs to the account. Returns the room's id and whether it was created.
    ///
    /// # Errors
    /// `ALREADY_MEMBER`, `BAD_KEY` (wrong or missing key), `TOO_MANY_ROOMS`
    /// (the server's rooms, or the rooms `id` owns, are at their limit).
    pub fn join(
        &mut self,
        id: ConnId,
        name: &str,
        key: impl Key,
        now_ms: u64,
    ) -> Result<(RoomId, bool), Refusal> {
        if !self.users.contains_key(&id) {
            return Err(unknown());
        }
        let room_id = RoomId::of(name);
        if !self.rooms.contains_key(&room_id) {
            self.may_create(id)?;
        }
        let admin = self.is_admin(id);
        let never_banned = admin || self.room(name).is_some_and(|r| self.is_operator(id, r));
        // The owner of an account's room comes back past its own locks.
        let owner = self.room(name).is_some_and(|r| self.owns(id, r));
        let ident = self.ident(id);
        let created = match self.rooms.entry(room_id.clone()) {
            Entry::Occupied(mut e) => {
                let room = e.get_mut();
                if room.has(id) {
                    return Err(Refusal::new(
                        ErrCode::AlreadyMember,
                        format!("you are already in {}", room.name),
                    ));
                }
                let passes = admin || owner || room.mods.invited.contains(&id);
                if !never_banned && room.mods.banned(&ident) {
                    return Err(Refusal::new(
                        ErrCode::Banned,
                        format!("you are banned from {}", room.name),
                    ));
                }
                if !passes
                    && room.mods.is(Flag::InviteOnly)
                    && !room.mods.listed(List::Allow, &ident)
                {
                    return Err(Refusal::new(
                        ErrCode::InviteOnly,
                        format!(
                            "{} is invite-only: ask one of its operators for an invitation",
                            room.name
                        ),
                    ));
                }
                if let Some(limit) = room
                    .mods
                    .limit
                    .filter(|&l| !passes && room.members.len() >= l as usize)
                {
                    return Err(Refusal::new(
                        ErrCode::RoomFull,
                        format!("{} is full: it takes at most {limit} members", room.name),
                    ));
                }
                if !passes && room.key.as_deref().is_some_and(|hash| !key.opens(hash)) {
                    return Err(Refusal::new(
                        ErrCode::BadKey,
                        format!("{} is locked: wrong or missing key", room.name),
                    ));
                }
                room.mods.invited.retain(|&i| i != id);
                room.members.push(id);
                false
            }
            Entry::Vacant(e) => {
                let account = self
                    .users
                    .get(&id)
                    .filter(|u| u.account)
                    .map(|u| u.nick.clone());
                e.insert(Room {
                    name: name.to_string(),
                    owner: id,
                    account,
                    key: key.lock(),
                    members: vec![id],
                    created: now_ms,
                    mods: Moderation::default(),
                    last_stamp: 0,
                });
                true
            }
        };
        if let Some(user) = self.users.get_mut(&id) {
            user.rooms.push(room_id.clone());
            user.invited_to.retain(|r| *r != room_id);
        }
        Ok((room_id, created))
    }

    /// Whether `id` may create one more room: the server's and its own limits.
    pub fn may_create(&self, id: ConnId) -> Result<(), Refusal> {
        if self.rooms.len() >= self.max_rooms {
            return Err(Refusal::new(
                ErrCode::TooManyRooms,
                format!("the server holds at most {} rooms", self.max_rooms),
            ));
        }
        if self.per_user > 0 && self.owned_by(id) >= self.per_user {
            return Err(Refusal::new(
                ErrCode::TooManyRooms,
                format!(
                    "you own {} rooms already, the most one user may own; DELETE one first",
                    self.per_user
                ),
            ));
        }
        Ok(())
    }

    /// The room `name` for a command only members may use (SAY, HISTORY).
    ///
    /// # Errors
    /// `NO_SUCH_ROOM`, `NOT_MEMBER`.
    pub fn member_room(&mut self, id: ConnId, name: &str) -> Result<&mut Room, Refusal> {
        let room = self
            .rooms
            .get_mut(&RoomId::of(name))
            .ok_or_else(|| no_room(name))?;
        if !room.has(id) {
            return Err(not_member(&room.name));
        }
        Ok(room)
    }

    /// Takes `id` out of room `name`.
    ///
    /// # Errors
    /// `NO_SUCH_ROOM`, `NOT_MEMBER`.
    pub fn part(&mut self, id: ConnId, name: &str) -> Result<Left, Refusal> {
        self.member_room(id, name)?;
        Ok(self.leave(id, &RoomId::of(name)))
    }

    /// The owner or an operator `by` removes `nick` from room `name`;
    /// returns the kicked id too. A server admin may kick from outside.
    ///
    /// # Errors
    /// `NO_SUCH_ROOM`, `NOT_MEMBER` (either side), `NOT_OWNER` (neither
    /// owner nor operator), `NO_SUCH_USER`,
    /// `MISSING_ARGUMENT` ([`Reason::KickSelf`]) when `nick` is the kicker's own.
    pub fn kick(&mut self, by: ConnId, name: &str, nick: &str) -> Result<(ConnId, Left), Refusal> {
        let room_id = RoomId::of(name);
        let room = self.rooms.get(&room_id).ok_or_else(|| no_room(name))?;
        let admin = self.is_admin(by);
        if !admin && !room.has(by) {
            return Err(not_member(&room.name));
        }
        if !admin && !self.is_operator(by, room) {
            return Err(Refusal::new(
                ErrCode::NotOwner,
                format!("only the owner or an operator of {} may kick", room.name),
            ));
        }
        let room_name = room.name.clone();
        let target = self.find(nick).ok_or_else(|| no_user(nick))?;
        if target == by {
            // The contract has no code for it; like a malformed HISTORY time,
            // an argument the verb cannot take is a missing one.
            return Err(Refusal::new(
                ErrCode::MissingArgument,
                format!(
                    "you cannot kick yourself: KICK needs another member's nick \
                     (to leave {room_name}, part it)"
                ),
            )
            .because(Reason::KickSelf));
        }
        if !room.has(target) {
            return Err(
                Refusal::new(ErrCode::NotMember, format!("{nick} is not in {room_name}"))
                    .because(Reason::TargetNotMember),
            );
        }
        Ok((target, self.leave(target, &room_id)))
    }

    /// The owner `by` (or a server admin) deletes room `name`; returns the room as it was.
    ///
    /// # Errors
    /// `NO_SUCH_ROOM`, `NOT_OWNER` (members and strangers alike).
    pub fn delete(&mut self, by: ConnId, name: &str) -> Result<(RoomId, Room), Refusal> {
        let room_id = RoomId::of(name);
        let room = self.rooms.get(&room_id).ok_or_else(|| no_room(name))?;
        if !self.owns(by, room) && !self.is_admin(by) {
            return Err(not_owner(&room.name));
        }
        let room = self.rooms.remove(&room_id).ok_or_else(unknown)?;
        for member in &room.members {
            if let Some(user) = self.users.get_mut(member) {
                user.rooms.retain(|r| *r != room_id);
            }
        }
        Ok((room_id, room))
    }

    /// Removes a connection and all its memberships.
    pub fn disconnect(&mut self, id: ConnId) -> Option<Departure> {
        let rooms = self.users.get(&id)?.rooms.clone();
        for invited in self.users.get(&id)?.invited_to.clone() {
            if let Some(room) = self.rooms.get_mut(&invited) {
                room.mods.invited.retain(|&i| i != id);
            }
        }
        let peers: Vec<ConnId> = self.audience(id).into_iter().filter(|&p| p != id).collect();
        let left = rooms.iter().map(|r| self.leave(id, r)).collect();
        let user = self.users.remove(&id)?;
        self.nicks.remove(&user.nick.to_ascii_lowercase());
        Some(Departure {
            nick: user.nick,
            left,
            peers,
        })
    }

    /// Takes a member out of a room it is in; drops the room when empty.
    fn leave(&mut self, id: ConnId, room_id: &RoomId) -> Left {
        let mut guest = None;
        if let Some(user) = self.users.get_mut(&id) {
            user.rooms.retain(|r| r != room_id);
            if !user.account {
                guest = Some(user.nick.clone());
            }
        }
        let Some(room) = self.rooms.get_mut(room_id) else {
            return Left {
                room: room_id.clone(),
                name: String::new(),
                told: Vec::new(),
                gone: false,
            };
        };
        let told = room.members.clone();
        room.mods.left(id);
        if let Some(nick) = guest {
            // A role of a user not logged in lasts while they are in the room.
            room.mods.forget_guest(&nick);
        }
        let gone = room.remove(id);
        let name = room.name.clone();
        if gone {
            self.rooms.remove(room_id);
        }
        Left {
            room: room_id.clone(),
            name,
            told,
            gone,
        }
    }
}

fn unknown() -> Refusal {
    Refusal::new(ErrCode::NoSuchUser, "unknown connection")
}

fn no_room(name: &str) -> Refusal {
    Refusal::new(ErrCode::NoSuchRoom, format!("there is no room {name}"))
}

fn no_user(nick: &str) -> Refusal {
    Refusal::new(ErrCode::NoSuchUser, format!("there is no user {nick}"))
}

fn not_member(room: &str) -> Refusal {
    Refusal::new(ErrCode::NotMember, format!("you are not in {room}"))
}

fn not_operator(room: &str) -> Refusal {
    Refusal::new(
        ErrCode::NotOperator,
        format!("only an operator of {room} may do that"),
    )
}

fn bad_setting(text: &str) -> Refusal {
    Refusal::new(ErrCode::BadSetting, text)
}

fn not_owner(room: &str) -> Refusal {
    Refusal::new(
        ErrCode::NotOwner,
        format!("only the owner of {room} may do that"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat_with(n: u64) -> Chat {
        let mut chat = Chat::new(10, 0);
        for id in 1..=n {
            chat.connect(id);
        }
        chat
    }

    fn code<T: std::fmt::Debug>(r: Result<T, Refusal>) -> ErrCode {
        r.unwrap_err().code
    }

    #[test]
    fn guests_get_counting_names_and_can_rename() {
        let mut chat = chat_with(2);
        assert_eq!(chat.nick(1), "guest1");
        assert_eq!(chat.nick(2), "guest2");
        assert_eq!(chat.rename(1, "Ana").unwrap(), "guest1");
        assert_eq!(chat.find("ANA"), Some(1));
        assert_eq!(chat.find("guest1"), None);
        assert_eq!(code(chat.rename(2, "ana")), ErrCode::NickTaken);
        // A user may change the case of their own name.
        assert_eq!(chat.rename(1, "ANA").unwrap(), "Ana");
        assert_eq!(chat.nick(1), "ANA");
    }

    #[test]
    fn creator_owns_and_ownership_passes_to_longest_present() {
        let mut chat = chat_with(3);
        assert_eq!(
            chat.join(1, "Lobby", None, 0).unwrap(),
            (RoomId::of("lobby"), true)
        );
        assert!(!chat.join(2, "lobby", None, 0).unwrap().1);
        chat.join(3, "LOBBY", None, 0).unwrap();
        assert_eq!(chat.room("lobby").unwrap().name, "Lobby");
        assert_eq!(chat.room("lobby").unwrap().owner, 1);
        let left = chat.part(1, "lobby").unwrap();
        assert_eq!(left.told, vec![1, 2, 3]);
        assert!(!left.gone);
        assert_eq!(chat.room("lobby").unwrap().owner, 2);
        chat.part(2, "lobby").unwrap();
        assert_eq!(chat.room("lobby").unwrap().owner, 3);
        let left = chat.part(3, "lobby").unwrap();
        assert!(left.gone);
        assert!(chat.room("lobby").is_none());
    }

    #[test]
    fn join_refusals() {
        let mut chat = chat_with(3);
        chat.join(1, "vault", Some("k1"), 0).unwrap();
        assert_eq!(
            code(chat.join(1, "vault", Some("k1"), 0)),
            ErrCode::AlreadyMember
        );
        assert_eq!(code(chat.join(2, "vault", None, 0)), ErrCode::BadKey);
        assert_eq!(code(chat.join(2, "vault", Some("k2"), 0)), ErrCode::BadKey);
        chat.join(2, "vault", Some("k1"), 0).unwrap();
        // A key given for an unlocked room is ignored.
        chat.join(1, "open", None, 0).unwrap();
        chat.join(2, "open", Some("whatever"), 0).unwrap();
    }

    #[test]
    fn room_cap_counts_rooms_not_joins() {
        let mut chat = Chat::new(2, 0);
        chat.connect(1);
        chat.connect(2);
        chat.join(1, "a", None, 0).unwrap();
        chat.join(1, "b", None, 0).unwrap();
        assert_eq!(code(chat.join(1, "c", None, 0)), ErrCode::TooManyRooms);
        chat.join(2, "a", None, 0).unwrap();
        chat.part(1, "b").unwrap();
        chat.join(1, "c", None, 0).unwrap();
    }

    #[test]
    fn one_user_owns_at_most_per_user_rooms() {
        let mut chat = Chat::new(100, 3);
        for id in 1..=3 {
            chat.connect(id);
        }
        for room in ["a", "b", "c"] {
            chat.join(1, room, None, 0).unwrap();
        }
        let refused = chat.join(1, "d", None, 0).unwrap_err();
        assert_eq!(refused.code, ErrCode::TooManyRooms);
        assert!(refused.text.contains("you own 3 rooms"), "{}", refused.text);
        // Joining rooms that exist is not owning them.
        chat.join(2, "a", None, 0).unwrap();
        chat.join(2, "b", None, 0).unwrap();
        chat.join(2, "x", None, 0).unwrap();
        // Giving one up (here: deleting it) makes room for another.
        chat.delete(1, "c").unwrap();
        chat.join(1, "d", None, 0).unwrap();
        // An account's rooms count for the account, on any connection.
        chat.rename(3, "ana").unwrap();
        chat.log_in(3);
        for room in ["h1", "h2", "h3"] {
            chat.join(3, room, None, 0).unwrap();
            chat.part(3, room).unwrap();
        }
        chat.disconnect(3);
        chat.connect(4);
        chat.rename(4, "ana").unwrap();
        chat.log_in(4);
        assert_eq!(chat.owned_by(4), 3);
        assert_eq!(code(chat.join(4, "h4", None, 0)), ErrCode::TooManyRooms);
        // 0: no per-user limit, only the server's.
        let mut open = Chat::new(5, 0);
        open.connect(1);
        for room in ["a", "b", "c", "d", "e"] {
            open.join(1, room, None, 0).unwrap();
        }
        assert_eq!(code(open.join(1, "f", None, 0)), ErrCode::TooManyRooms);
    }

    #[test]
    fn empty_account_rooms_expire_after_their_last_sign_of_life() {
        const DAY: u64 = 86_400_000;
        let mut chat = Chat::new(10, 0);
        chat.connect(1);
        chat.rename(1, "ana").unwrap();
        chat.log_in(1);
        chat.join(1, "quiet", None, 0).unwrap();
        chat.join(1, "talky", None, 0).unwrap();
        chat.join(1, "busy", None, 0).unwrap();
        chat.member_room(1, "talky").unwrap().stamp(20 * DAY);
        chat.part(1, "quiet").unwrap();
        chat.part(1, "talky").unwrap();
        chat.connect(2);
        chat.join(2, "guest-room", None, 0).unwrap();
        // Nothing is stale yet.
        assert!(chat.expire(30 * DAY - 1, 30 * DAY).is_empty());
        // quiet: created at 0, empty, no message: gone at day 30. talky's
        // message keeps it to day 50; busy has a member; a guest's room is
        // not an account's.
        let gone: Vec<String> = chat
            .expire(30 * DAY, 30 * DAY)
            .into_iter()
            .map(|(_, room)| room.name)
            .collect();
        assert_eq!(gone, ["quiet"]);
        assert!(chat.room("quiet").is_none());
        assert!(chat.expire(50 * DAY - 1, 30 * DAY).is_empty());
        assert_eq!(chat.expire(50 * DAY, 30 * DAY).len(), 1);
        assert!(chat.room("talky").is_none());
        assert!(chat.expire(500 * DAY, 30 * DAY).is_empty());
        assert!(chat.room("busy").is_some() && chat.room("guest-room").is_some());
    }

    #[test]
    fn members_only_and_owner_only_commands() {
        let mut chat = chat_with(3);
        chat.join(1, "r", None, 0).unwrap();
        chat.join(2, "r", None, 0).unwrap();
        assert_eq!(code(chat.member_room(3, "r")), ErrCode::NotMember);
        assert_eq!(code(chat.member_room(3, "nope")), ErrCode::NoSuchRoom);
        assert_eq!(code(chat.part(3, "r")), ErrCode::NotMember);
        assert_eq!(code(chat.part(3, "nope")), ErrCode::NoSuchRoom);
        assert_eq!(code(chat.kick(2, "r", "guest1")), ErrCode::NotOwner);
        assert_eq!(code(chat.kick(3, "r", "guest1")), ErrCode::NotMember);
        assert_eq!(code(chat.kick(1, "r", "nobody")), ErrCode::NoSuchUser);
        assert_eq!(code(chat.kick(1, "r", "guest3")), ErrCode::NotMember);
        let own = chat.kick(1, "r", "GUEST1").unwrap_err();
        assert_eq!(
            (own.code, own.reason),
            (ErrCode::MissingArgument, Reason::KickSelf)
        );
        assert_eq!(code(chat.kick(2, "r", "guest2")), ErrCode::NotOwner);
        assert_eq!(code(chat.delete(2, "r")), ErrCode::NotOwner);
        assert_eq!(code(chat.delete(3, "nope")), ErrCode::NoSuchRoom);
        let (kicked, left) = chat.kick(1, "r", "GUEST2").unwrap();
        assert_eq!((kicked, left.told), (2, vec![1, 2]));
        assert!(chat.user(2).unwrap().rooms.is_empty());
        let (_, room) = chat.delete(1, "r").unwrap();
        assert_eq!(room.members, vec![1]);
        assert!(chat.user(1).unwrap().rooms.is_empty());
        assert!(chat.room("r").is_none());
    }

    #[test]
    fn disconnect_leaves_every_room_and_names_the_peers_once() {
        let mut chat = chat_with(4);
        chat.join(1, "a", None, 0).unwrap();
        chat.join(2, "a", None, 0).unwrap();
        chat.join(1, "b", None, 0).unwrap();
        chat.join(2, "b", None, 0).unwrap();
        chat.join(3, "b", None, 0).unwrap();
        chat.join(4, "c", None, 0).unwrap();
        let dep = chat.disconnect(2).unwrap();
        assert_eq!(dep.nick, "guest2");
        assert_eq!(dep.peers, vec![1, 3]);
        assert_eq!(dep.left.len(), 2);
        assert!(chat.find("guest2").is_none());
        assert_eq!(chat.room("a").unwrap().members, vec![1]);
        let dep = chat.disconnect(1).unwrap();
        assert!(dep.left.iter().any(|l| l.room == RoomId::of("a") && l.gone));
        assert!(chat.room("a").is_none());
        assert_eq!(chat.room("b").unwrap().owner, 3);
        assert!(chat.disconnect(1).is_none());
        assert_eq!(chat.user_count(), 2);
    }

    #[test]
    fn an_accounts_room_outlives_its_members_and_keeps_its_owner() {
        let mut chat = chat_with(3);
        chat.rename(1, "ana").unwrap();
        chat.log_in(1);
        chat.join(1, "home", Some("door"), 0).unwrap();
        assert_eq!(chat.room("home").unwrap().account.as_deref(), Some("ana"));
        assert_ne!(
            chat.room("home").unwrap().key.as_deref(),
            Some("door"),
            "hashed"
        );
        assert_eq!(
            code(chat.join(2, "home", Some("window"), 0)),
            ErrCode::BadKey
        );
        chat.join(2, "home", Some("door"), 0).unwrap();
        let left = chat.part(1, "home").unwrap();
        assert!(!left.gone);
        // Ownership stays with the account, not with the member present longest.
        assert!(!chat.owns(2, chat.room("home").unwrap()));
        assert_eq!(chat.owner_nick(chat.room("home").unwrap()), "ana");
        assert!(!chat.part(2, "home").unwrap().gone);
        assert!(chat.room("home").unwrap().members.is_empty());
        // Someone else called ana without the login does not own it.
        chat.disconnect(1);
        chat.rename(3, "ana").unwrap();
        assert!(!chat.owns(3, chat.room("home").unwrap()));
        chat.log_in(3);
        assert!(chat.owns(3, chat.room("home").unwrap()));
        let saved = chat.room("home").unwrap().stored().unwrap();
        let mut fresh = Chat::new(10, 0);
        fresh.restore(&saved);
        assert_eq!(fresh.room("HOME").unwrap().account.as_deref(), Some("ana"));
        // A guest's room is not an account's.
        chat.join(2, "open", None, 0).unwrap();
        assert!(chat.room("open").unwrap().stored().is_none());
    }

    #[test]
    fn stamps_strictly_increase_within_a_room() {
        let mut chat = chat_with(1);
        chat.join(1, "r", None, 0).unwrap();
        let room = chat.member_room(1, "r").unwrap();
        assert_eq!(room.stamp(1000), 1000);
        assert_eq!(room.stamp(1000), 1001);
        assert_eq!(room.stamp(999), 1002);
        assert_eq!(room.stamp(5000), 5000);
    }

    #[test]
    fn audience_is_everyone_sharing_a_room() {
        let mut chat = chat_with(4);
        chat.join(1, "a", None, 0).unwrap();
        chat.join(2, "a", None, 0).unwrap();
        chat.join(1, "b", None, 0).unwrap();
        chat.join(3, "b", None, 0).unwrap();
        assert_eq!(chat.audience(1), vec![1, 2, 3]);
        assert_eq!(chat.audience(4), vec![4]);
    }

    #[test]
    fn join_checks_bans_invite_only_limit_and_key_in_that_order() {
        let mut chat = chat_with(3);
        chat.set_ident(2, None, "10.0.0.7");
        chat.join(1, "r", Some("k"), 0).unwrap();
        let ban = Change::List(List::Ban, "*!*@10.0.0.7".into(), true);
        chat.change(1, "r", ban, 0).unwrap();
        chat.change(1, "r", Change::Flag(Flag::InviteOnly, true), 0)
            .unwrap();
        chat.change(1, "r", Change::Limit(Some(1)), 0).unwrap();
        assert_eq!(code(chat.join(2, "r", None, 0)), ErrCode::Banned);
        assert_eq!(code(chat.join(3, "r", None, 0)), ErrCode::InviteOnly);
        // An invitation passes invite-only, the limit and the key, once.
        chat.invite(1, "r", "guest3").unwrap();
        chat.join(3, "r", None, 0).unwrap();
        chat.part(3, "r").unwrap();
        assert_eq!(code(chat.join(3, "r", None, 0)), ErrCode::InviteOnly);
        chat.change(1, "r", Change::Flag(Flag::InviteOnly, false), 0)
            .unwrap();
        assert_eq!(code(chat.join(3, "r", None, 0)), ErrCode::RoomFull);
        chat.change(1, "r", Change::Limit(None), 0).unwrap();
        assert_eq!(code(chat.join(3, "r", None, 0)), ErrCode::BadKey);
        // An invitation does not pass a ban.
        chat.invite(1, "r", "guest2").unwrap();
        assert_eq!(code(chat.join(2, "r", None, 0)), ErrCode::Banned);
        // Leaving the server ends an invitation.
        chat.invite(1, "r", "guest3").unwrap();
        assert!(chat.passes_locks(3, "r"));
        chat.disconnect(3);
        assert_eq!(chat.room("r").unwrap().mods.invited, vec![2]);
    }

    #[test]
    fn may_say_checks_membership_bans_mutes_moderation_and_slow_mode() {
        let mut chat = chat_with(3);
        chat.join(1, "r", None, 0).unwrap();
        chat.join(2, "r", None, 0).unwrap();
        assert_eq!(code(chat.may_say(3, "r", 0)), ErrCode::NotMember);
        chat.change(1, "r", Change::Flag(Flag::NoOutside, false), 0)
            .unwrap();
        chat.may_say(3, "r", 0).unwrap();
        let mute = Change::List(List::Mute, "guest2".into(), true);
        chat.change(1, "r", mute, 0).unwrap();
        assert_eq!(code(chat.may_say(2, "r", 0)), ErrCode::Muted);
        chat.change(1, "r", Change::Role(Role::Voice, "guest2".into(), true), 0)
            .unwrap();
        chat.may_say(2, "r", 0).unwrap();
        chat.change(1, "r", Change::Role(Role::Voice, "guest2".into(), false), 0)
            .unwrap();
        chat.change(1, "r", Change::List(List::Mute, "guest2".into(), false), 0)
            .unwrap();
        chat.change(1, "r", Change::Flag(Flag::Moderated, true), 0)
            .unwrap();
        assert_eq!(code(chat.may_say(2, "r", 0)), ErrCode::Moderated);
        chat.change(1, "r", Change::Flag(Flag::Moderated, false), 0)
            .unwrap();
        chat.change(1, "r", Change::Slow(Some(10)), 0).unwrap();
        chat.may_say(2, "r", 1_000).unwrap();
        let wait = chat.may_say(2, "r", 2_000).unwrap_err();
        assert_eq!(wait.code, ErrCode::SlowMode);
        assert!(wait.text.starts_with("9 "), "{}", wait.text);
        chat.may_say(2, "r", 11_000).unwrap();
        // The owner is never held back.
        for at in 0..5 {
            chat.may_say(1, "r", at).unwrap();
        }
    }

    #[test]
    fn changes_need_an_operator_and_say_what_they_changed() {
        let mut chat = chat_with(3);
        chat.join(1, "r", None, 0).unwrap();
        chat.join(2, "r", None, 0).unwrap();
        let op = |nick: &str| Change::Role(Role::Op, nick.into(), true);
        assert_eq!(
            code(chat.change(2, "r", op("guest2"), 0)),
            ErrCode::NotOperator
        );
        assert_eq!(
            code(chat.change(3, "r", op("guest2"), 0)),
            ErrCode::NotMember
        );
        assert_eq!(
            code(chat.change(1, "x", op("guest2"), 0)),
            ErrCode::NoSuchRoom
        );
        assert_eq!(
            code(chat.change(1, "r", op("nobody"), 0)),
            ErrCode::NoSuchUser
        );
        let outside = chat.change(1, "r", op("guest3"), 0).unwrap_err();
        assert_eq!(outside.reason, Reason::TargetNotMember);
        assert_eq!(
            chat.change(1, "r", op("GUEST2"), 0).unwrap(),
            Some(Change::Role(Role::Op, "guest2".into(), true))
        );
        assert_eq!(chat.change(1, "r", op("guest2"), 0).unwrap(), None);
        // Operators are peers, but the owner stays one.
        let deop_owner = Change::Role(Role::Op, "guest1".into(), false);
        assert_eq!(code(chat.change(2, "r", deop_owner, 0)), ErrCode::NotOwner);
        assert_eq!(
            code(chat.change(2, "r", Change::Limit(Some(0)), 0)),
            ErrCode::BadSetting
        );
        assert_eq!(
            code(chat.change(2, "r", Change::Slow(Some(86_401)), 0)),
            ErrCode::BadSetting
        );
        // A guest's role ends when it leaves.
        chat.part(2, "r").unwrap();
        chat.join(2, "r", None, 0).unwrap();
        assert!(!chat.is_operator(2, chat.room("r").unwrap()));
        // An admin account's login makes an operator everywhere, from outside.
        chat.set_admins(&["root".into()]);
        chat.rename(3, "root").unwrap();
        assert_eq!(
            code(chat.change(3, "r", op("guest2"), 0)),
            ErrCode::NotMember
        );
        chat.log_in(3);
        chat.change(3, "r", op("guest2"), 0).unwrap();
    }
}
