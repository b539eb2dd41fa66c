//! Chat state as plain data: users, their nicknames, rooms, members, owners
//! and keys. No sockets and no channels here; the dispatcher is its only
//! writer, and every method is tested without a network.

pub use crate::ids::{ConnId, RoomId};
use crate::proto::refusal::{ErrCode, Reason, Refusal};
use crate::store::StoredRoom;
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
        user.account = false;
        self.nicks.remove(&old.to_ascii_lowercase());
        self.nicks.insert(key, id);
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
        let created = match self.rooms.entry(room_id.clone()) {
            Entry::Occupied(mut e) => {
                let room = e.get_mut();
                if room.has(id) {
                    return Err(Refusal::new(
                        ErrCode::AlreadyMember,
                        format!("you are already in {}", room.name),
                    ));
                }
                if room.key.as_deref().is_some_and(|hash| !key.opens(hash)) {
                    return Err(Refusal::new(
                        ErrCode::BadKey,
                        format!("{} is locked: wrong or missing key", room.name),
                    ));
                }
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
                    last_stamp: 0,
                });
                true
            }
        };
        if let Some(user) = self.users.get_mut(&id) {
            user.rooms.push(room_id.clone());
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

    /// The owner `by` removes `nick` from room `name`; returns the kicked id too.
    ///
    /// # Errors
    /// `NO_SUCH_ROOM`, `NOT_MEMBER` (either side), `NOT_OWNER`, `NO_SUCH_USER`,
    /// `MISSING_ARGUMENT` ([`Reason::KickSelf`]) when `nick` is the kicker's own.
    pub fn kick(&mut self, by: ConnId, name: &str, nick: &str) -> Result<(ConnId, Left), Refusal> {
        let room = self.member_room(by, name)?;
        let room_name = room.name.clone();
        if !self.owns(
            by,
            self.rooms
                .get(&RoomId::of(name))
                .ok_or_else(|| no_room(name))?,
        ) {
            return Err(not_owner(&room_name));
        }
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
        let room_id = RoomId::of(name);
        if !self.rooms.get(&room_id).is_some_and(|r| r.has(target)) {
            return Err(
                Refusal::new(ErrCode::NotMember, format!("{nick} is not in {room_name}"))
                    .because(Reason::TargetNotMember),
            );
        }
        Ok((target, self.leave(target, &room_id)))
    }

    /// The owner `by` deletes room `name`; returns the room as it was.
    ///
    /// # Errors
    /// `NO_SUCH_ROOM`, `NOT_OWNER` (members and strangers alike).
    pub fn delete(&mut self, by: ConnId, name: &str) -> Result<(RoomId, Room), Refusal> {
        let room_id = RoomId::of(name);
        let room = self.rooms.get(&room_id).ok_or_else(|| no_room(name))?;
        if !self.owns(by, room) {
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
        if let Some(user) = self.users.get_mut(&id) {
            user.rooms.retain(|r| r != room_id);
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
}
