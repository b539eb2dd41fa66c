//! CHAT/1 server lines, pure: an [`Event`] rendered into a line, and a
//! line parsed back into an event (for the line client and the tests).

use super::command::Args;
use super::lines::clip;
use super::refusal::ErrCode;
use super::text::visible;
use crate::error::Error;

/// Most lines a `HISTORY` page holds.
pub const HISTORY_PAGE: usize = 50;

/// Byte budget for the nick list of one `MEMBERS`/`USERS` line.
const LIST_LINE_BUDGET: usize = 480;

/// One line the server writes (protocol.md, "Server → client").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    Welcome {
        nick: &'a str,
        text: &'a str,
    },
    Nick {
        old: &'a str,
        new: &'a str,
    },
    Join {
        room: &'a str,
        nick: &'a str,
    },
    Part {
        room: &'a str,
        nick: &'a str,
        text: Option<&'a str>,
    },
    Msg {
        room: &'a str,
        nick: &'a str,
        text: &'a str,
    },
    Whisper {
        from: &'a str,
        to: &'a str,
        text: &'a str,
    },
    Broadcast {
        from: &'a str,
        text: &'a str,
    },
    History {
        room: &'a str,
        at: u64,
        nick: &'a str,
        text: &'a str,
    },
    EndHistory {
        room: &'a str,
    },
    Offline {
        at: u64,
        from: &'a str,
        text: &'a str,
    },
    EndOffline,
    Members {
        room: &'a str,
        nicks: Vec<&'a str>,
    },
    EndMembers {
        room: &'a str,
    },
    Room {
        room: &'a str,
        members: usize,
        owner: &'a str,
    },
    EndRooms,
    Users {
        nicks: Vec<&'a str>,
    },
    EndUsers,
    Kicked {
        room: &'a str,
        nick: &'a str,
        by: &'a str,
        text: Option<&'a str>,
    },
    Closed {
        room: &'a str,
        by: &'a str,
    },
    Quit {
        nick: &'a str,
        text: Option<&'a str>,
    },
    Pong {
        token: Option<&'a str>,
    },
    Ok {
        verb: &'a str,
        detail: Option<&'a str>,
    },
    Err {
        code: ErrCode,
        text: &'a str,
    },
    Bye {
        text: &'a str,
    },
    /// The topic changed (`text` `None`: cleared), or a joiner is told it.
    Topic {
        room: &'a str,
        by: &'a str,
        at: u64,
        text: Option<&'a str>,
    },
    /// One change of a room's settings, roles or lists, by `by`.
    Change {
        room: &'a str,
        by: &'a str,
        shift: Shift<'a>,
    },
    /// Several changes made by one command: a CHAT/1 line each, one IRC `MODE`.
    Changes {
        room: &'a str,
        by: &'a str,
        shifts: &'a [Shift<'a>],
    },
    /// A setting that is on, for `SETTINGS`.
    Setting {
        room: &'a str,
        setting: &'a str,
        value: Option<&'a str>,
    },
    /// A role in a room (`owner`, `op`, `voice`), for `SETTINGS`.
    Role {
        room: &'a str,
        nick: &'a str,
        role: &'a str,
    },
    /// A ban, mute, ban exception or invite exception (`list` is `BAN`,
    /// `MUTE`, `EXCEPT` or `ALLOW`), for `SETTINGS`.
    Listed {
        list: &'a str,
        room: &'a str,
        mask: &'a str,
        by: &'a str,
        at: u64,
    },
    EndSettings {
        room: &'a str,
    },
    /// `nick` was invited into `room` by `by`.
    Invited {
        room: &'a str,
        nick: &'a str,
        by: &'a str,
    },
}

/// One change of a room's moderation, as `SET`/`UNSET`, `OPPED`... show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shift<'a> {
    /// A setting without a value (`moderated`, `secret`...) on or off.
    Flag { name: &'a str, on: bool },
    /// `limit` or `slow` set to a value, or off (`None`).
    Value { name: &'a str, value: Option<u32> },
    /// The key set (or replaced) or removed. CHAT/1 never shows it; IRC
    /// shows `shown` to the channel, as IRC servers do.
    Key { on: bool, shown: Option<&'a str> },
    /// `role` (`op` or `voice`) given to or taken from `nick`.
    Role {
        role: &'a str,
        nick: &'a str,
        on: bool,
    },
    /// `mask` added to or removed from `list` (`ban`, `mute`, `except`, `allow`).
    List {
        list: &'a str,
        mask: &'a str,
        on: bool,
    },
}

impl Shift<'_> {
    /// The CHAT/1 line of this change by `by` in `room`, appended to `out`.
    fn encode_into(&self, room: &str, by: &str, out: &mut Vec<u8>) {
        let n;
        let set = |on: bool| if on { "SET" } else { "UNSET" };
        let parts: &[&str] = match *self {
            Shift::Flag { name, on } => &[set(on), room, name, by],
            Shift::Value {
                name,
                value: Some(v),
            } => {
                n = v.to_string();
                &["SET", room, name, by, &n]
            }
            Shift::Value { name, value: None } => &["UNSET", room, name, by],
            Shift::Key { on, .. } => &[set(on), room, "key", by],
            Shift::Role { role, nick, on } => {
                let verb = match (role, on) {
                    ("op", true) => "OPPED",
                    ("op", false) => "DEOPPED",
                    (_, true) => "VOICED",
                    (_, false) => "DEVOICED",
                };
                &[verb, room, nick, by]
            }
            Shift::List { list, mask, on } => {
                let verb = match (list, on) {
                    ("ban", true) => "BANNED",
                    ("ban", false) => "UNBANNED",
                    ("except", true) => "EXCEPTED",
                    ("except", false) => "UNEXCEPTED",
                    ("allow", true) => "ALLOWED",
                    ("allow", false) => "DISALLOWED",
                    (_, true) => "MUTED",
                    (_, false) => "UNMUTED",
                };
                &[verb, room, mask, by]
            }
        };
        put(out, parts, None);
    }
}

/// Renders `event` as one line, `\n` included, appended to `out`.
pub fn encode_into(event: &Event<'_>, out: &mut Vec<u8>) {
    use Event as E;
    let n;
    let (parts, text): (&[&str], Option<&str>) = match event {
        E::Welcome { nick, text } => (&["WELCOME", nick], Some(text)),
        E::Nick { old, new } => (&["NICK", old, new], None),
        E::Join { room, nick } => (&["JOIN", room, nick], None),
        E::Part { room, nick, text } => (&["PART", room, nick], *text),
        E::Msg { room, nick, text } => (&["MSG", room, nick], Some(text)),
        E::Whisper { from, to, text } => (&["WHISPER", from, to], Some(text)),
        E::Broadcast { from, text } => (&["BROADCAST", from], Some(text)),
        E::History {
            room,
            at,
            nick,
            text,
        } => {
            n = at.to_string();
            (&["HISTORY", room, &n, nick], Some(text))
        }
        E::EndHistory { room } => (&["END", "HISTORY", room], None),
        E::Offline { at, from, text } => {
            n = at.to_string();
            (&["OFFLINE", &n, from], Some(text))
        }
        E::EndOffline => (&["END", "OFFLINE"], None),
        E::Members { room, nicks } => {
            put(out, &["MEMBERS", room], None);
            out.pop();
            put_list(out, nicks);
            return;
        }
        E::EndMembers { room } => (&["END", "MEMBERS", room], None),
        E::Room {
            room,
            members,
            owner,
        } => {
            n = members.to_string();
            (&["ROOM", room, &n, owner], None)
        }
        E::EndRooms => (&["END", "ROOMS"], None),
        E::Users { nicks } => {
            put(out, &["USERS"], None);
            out.pop();
            put_list(out, nicks);
            return;
        }
        E::EndUsers => (&["END", "USERS"], None),
        E::Kicked {
            room,
            nick,
            by,
            text,
        } => (&["KICKED", room, nick, by], *text),
        E::Closed { room, by } => (&["CLOSED", room, by], None),
        E::Quit { nick, text } => (&["QUIT", nick], *text),
        E::Pong { token } => (&["PONG"], *token),
        E::Ok { verb, detail } => (&["OK", verb], *detail),
        E::Err { code, text } => (&["ERR", code.as_str()], Some(text)),
        E::Bye { text } => (&["BYE"], Some(text)),
        E::Topic { room, by, at, text } => {
            n = at.to_string();
            (&["TOPIC", room, by, &n], *text)
        }
        E::Change { room, by, shift } => return shift.encode_into(room, by, out),
        E::Changes { room, by, shifts } => {
            for shift in *shifts {
                shift.encode_into(room, by, out);
            }
            return;
        }
        E::Setting {
            room,
            setting,
            value,
        } => match value {
            Some(v) => (&["SETTING", room, setting, v], None),
            None => (&["SETTING", room, setting], None),
        },
        E::Role { room, nick, role } => (&["ROLE", room, nick, role], None),
        E::Listed {
            list,
            room,
            mask,
            by,
            at,
        } => {
            n = at.to_string();
            (&[list, room, mask, by, &n], None)
        }
        E::EndSettings { room } => (&["END", "SETTINGS", room], None),
        E::Invited { room, nick, by } => (&["INVITED", room, nick, by], None),
    };
    put(out, parts, text);
}

/// Writes `parts` separated by spaces, then ` text` if any, then `\n`. A
/// character the text rule forbids becomes U+FFFD ([`visible`]): clients'
/// texts never hold one, but an error text may echo a client's word, and
/// history may predate the rule; no line may break.
fn put(out: &mut Vec<u8>, parts: &[&str], text: Option<&str>) {
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(visible(p).as_bytes());
    }
    if let Some(t) = text {
        out.push(b' ');
        out.extend_from_slice(visible(t).as_bytes());
    }
    out.push(b'\n');
}

/// Writes ` nick` for each nick, then `\n`.
fn put_list(out: &mut Vec<u8>, nicks: &[&str]) {
    for nick in nicks {
        out.push(b' ');
        out.extend_from_slice(visible(nick).as_bytes());
    }
    out.push(b'\n');
}

/// Renders `event` as one line, `\n` included.
pub fn encode(event: &Event<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    encode_into(event, &mut out);
    out
}

/// Renders a nick list as `MEMBERS` lines of bounded length, then `END MEMBERS`.
pub fn encode_members(room: &str, nicks: &[&str], out: &mut Vec<u8>) {
    for chunk in list_chunks(nicks) {
        encode_into(
            &Event::Members {
                room,
                nicks: chunk.to_vec(),
            },
            out,
        );
    }
    encode_into(&Event::EndMembers { room }, out);
}

/// Renders a nick list as `USERS` lines of bounded length, then `END USERS`.
pub fn encode_users(nicks: &[&str], out: &mut Vec<u8>) {
    for chunk in list_chunks(nicks) {
        encode_into(
            &Event::Users {
                nicks: chunk.to_vec(),
            },
            out,
        );
    }
    encode_into(&Event::EndUsers, out);
}

/// Splits a nick list into runs that fit one list line each.
fn list_chunks<'s, 'a>(nicks: &'s [&'a str]) -> Vec<&'s [&'a str]> {
    let mut chunks = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, nick) in nicks.iter().enumerate() {
        if used + nick.len() + 1 > LIST_LINE_BUDGET && i > start {
            chunks.push(&nicks[start..i]);
            start = i;
            used = 0;
        }
        used += nick.len() + 1;
    }
    if start < nicks.len() {
        chunks.push(&nicks[start..]);
    }
    chunks
}

/// Parses a server line (terminator removed), as the client and tests read it.
///
/// # Errors
/// A short description when the line is not a CHAT/1 server line.
pub fn parse_event(line: &str) -> crate::Result<Event<'_>> {
    let mut args = Args::new(line);
    let verb = args
        .word()
        .ok_or_else(|| Error::Protocol("empty line".into()))?;
    let bad = || Error::Protocol(format!("malformed {verb} line"));
    fn word<'a>(args: &mut Args<'a>) -> crate::Result<&'a str> {
        args.word()
            .ok_or_else(|| Error::Protocol("missing word".into()))
    }
    let event = match verb {
        "WELCOME" => Event::Welcome {
            nick: word(&mut args)?,
            text: args.text().unwrap_or(""),
        },
        "NICK" => Event::Nick {
            old: word(&mut args)?,
            new: word(&mut args)?,
        },
        "JOIN" => Event::Join {
            room: word(&mut args)?,
            nick: word(&mut args)?,
        },
        "PART" => Event::Part {
            room: word(&mut args)?,
            nick: word(&mut args)?,
            text: args.text(),
        },
        "MSG" => Event::Msg {
            room: word(&mut args)?,
            nick: word(&mut args)?,
            text: args.text().unwrap_or(""),
        },
        "WHISPER" => Event::Whisper {
            from: word(&mut args)?,
            to: word(&mut args)?,
            text: args.text().unwrap_or(""),
        },
        "BROADCAST" => Event::Broadcast {
            from: word(&mut args)?,
            text: args.text().unwrap_or(""),
        },
        "HISTORY" => Event::History {
            room: word(&mut args)?,
            at: word(&mut args)?.parse().map_err(|_| bad())?,
            nick: word(&mut args)?,
            text: args.text().unwrap_or(""),
        },
        "OFFLINE" => Event::Offline {
            at: word(&mut args)?.parse().map_err(|_| bad())?,
            from: word(&mut args)?,
            text: args.text().unwrap_or(""),
        },
        "MEMBERS" => Event::Members {
            room: word(&mut args)?,
            nicks: std::iter::from_fn(|| args.word()).collect(),
        },
        "ROOM" => Event::Room {
            room: word(&mut args)?,
            members: word(&mut args)?.parse().map_err(|_| bad())?,
            owner: word(&mut args)?,
        },
        "USERS" => Event::Users {
            nicks: std::iter::from_fn(|| args.word()).collect(),
        },
        "KICKED" => Event::Kicked {
            room: word(&mut args)?,
            nick: word(&mut args)?,
            by: word(&mut args)?,
            text: args.text(),
        },
        "CLOSED" => Event::Closed {
            room: word(&mut args)?,
            by: word(&mut args)?,
        },
        "QUIT" => Event::Quit {
            nick: word(&mut args)?,
            text: args.text(),
        },
        "PONG" => Event::Pong { token: args.text() },
        "OK" => Event::Ok {
            verb: word(&mut args)?,
            detail: args.text(),
        },
        "ERR" => Event::Err {
            code: ErrCode::from_wire(word(&mut args)?).ok_or_else(bad)?,
            text: args.text().unwrap_or(""),
        },
        "BYE" => Event::Bye {
            text: args.text().unwrap_or(""),
        },
        "TOPIC" => Event::Topic {
            room: word(&mut args)?,
            by: word(&mut args)?,
            at: word(&mut args)?.parse().map_err(|_| bad())?,
            text: args.text(),
        },
        "SET" | "UNSET" => {
            let on = verb == "SET";
            let room = word(&mut args)?;
            let name = word(&mut args)?;
            let by = word(&mut args)?;
            let shift = match name {
                "key" => Shift::Key { on, shown: None },
                "limit" | "slow" => Shift::Value {
                    name,
                    value: match on {
                        true => Some(word(&mut args)?.parse().map_err(|_| bad())?),
                        false => None,
                    },
                },
                _ => Shift::Flag { name, on },
            };
            Event::Change { room, by, shift }
        }
        "OPPED" | "DEOPPED" | "VOICED" | "DEVOICED" => Event::Change {
            room: word(&mut args)?,
            shift: Shift::Role {
                role: if verb.ends_with("OPPED") {
                    "op"
                } else {
                    "voice"
                },
                nick: word(&mut args)?,
                on: !verb.starts_with("DE"),
            },
            by: word(&mut args)?,
        },
        "BANNED" | "UNBANNED" | "MUTED" | "UNMUTED" | "EXCEPTED" | "UNEXCEPTED" | "ALLOWED"
        | "DISALLOWED" => Event::Change {
            room: word(&mut args)?,
            shift: Shift::List {
                list: match verb.trim_start_matches("UN").trim_start_matches("DIS") {
                    "BANNED" => "ban",
                    "MUTED" => "mute",
                    "EXCEPTED" => "except",
                    _ => "allow",
                },
                mask: word(&mut args)?,
                on: !verb.starts_with("UN") && !verb.starts_with("DIS"),
            },
            by: word(&mut args)?,
        },
        "SETTING" => Event::Setting {
            room: word(&mut args)?,
            setting: word(&mut args)?,
            value: args.word(),
        },
        "ROLE" => Event::Role {
            room: word(&mut args)?,
            nick: word(&mut args)?,
            role: word(&mut args)?,
        },
        "BAN" | "MUTE" | "EXCEPT" | "ALLOW" => Event::Listed {
            list: verb,
            room: word(&mut args)?,
            mask: word(&mut args)?,
            by: word(&mut args)?,
            at: word(&mut args)?.parse().map_err(|_| bad())?,
        },
        "INVITED" => Event::Invited {
            room: word(&mut args)?,
            nick: word(&mut args)?,
            by: word(&mut args)?,
        },
        "END" => match (word(&mut args)?, args.word()) {
            ("HISTORY", Some(room)) => Event::EndHistory { room },
            ("MEMBERS", Some(room)) => Event::EndMembers { room },
            ("SETTINGS", Some(room)) => Event::EndSettings { room },
            ("OFFLINE", None) => Event::EndOffline,
            ("ROOMS", None) => Event::EndRooms,
            ("USERS", None) => Event::EndUsers,
            _ => return Err(bad()),
        },
        _ => {
            let text = format!("unknown server verb {}", clip(verb, 32));
            return Err(Error::Protocol(text));
        }
    };
    Ok(event)
}

/// The two lines that turn a CHAT/1 client away when the server is full.
pub fn server_full(max: usize) -> Vec<u8> {
    refused_at_the_door(
        ErrCode::ServerFull,
        &format!("the server holds at most {max} clients; try again later"),
        "server full",
    )
}

/// What a client is told, instead of `WELCOME`, when its address has
/// `--max-per-ip` (`max`) connections open already.
pub fn too_many_connections(max: usize) -> Vec<u8> {
    refused_at_the_door(
        ErrCode::TooManyConnections,
        &format!("at most {max} connections from one address; close one and try again"),
        "too many connections",
    )
}

/// `ERR <code> <text>` then `BYE <bye>`: a connection that is not let in.
fn refused_at_the_door(code: ErrCode, text: &str, bye: &str) -> Vec<u8> {
    let mut out = encode(&Event::Err { code, text });
    encode_into(&Event::Bye { text: bye }, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::lines::MAX_LINE;

    #[test]
    fn every_event_round_trips_through_encode_and_parse() {
        let events = vec![
            Event::Welcome {
                nick: "guest1",
                text: "Welcome to Sala",
            },
            Event::Nick {
                old: "guest1",
                new: "ana",
            },
            Event::Join {
                room: "lobby",
                nick: "ana",
            },
            Event::Part {
                room: "lobby",
                nick: "ana",
                text: None,
            },
            Event::Part {
                room: "lobby",
                nick: "ana",
                text: Some("bye now"),
            },
            Event::Msg {
                room: "lobby",
                nick: "ana",
                text: "hello  world ",
            },
            Event::Whisper {
                from: "ana",
                to: "bob",
                text: "psst",
            },
            Event::Broadcast {
                from: "ana",
                text: "hi all",
            },
            Event::History {
                room: "lobby",
                at: 1_700_000_000_123,
                nick: "ana",
                text: "earlier",
            },
            Event::EndHistory { room: "lobby" },
            Event::Offline {
                at: 5,
                from: "bob",
                text: "while you were out",
            },
            Event::EndOffline,
            Event::Members {
                room: "lobby",
                nicks: vec!["ana", "bob"],
            },
            Event::EndMembers { room: "lobby" },
            Event::Room {
                room: "lobby",
                members: 2,
                owner: "ana",
            },
            Event::EndRooms,
            Event::Users {
                nicks: vec!["ana", "bob"],
            },
            Event::EndUsers,
            Event::Kicked {
                room: "lobby",
                nick: "bob",
                by: "ana",
                text: Some("spam"),
            },
            Event::Closed {
                room: "lobby",
                by: "ana",
            },
            Event::Quit {
                nick: "bob",
                text: Some("connection reset"),
            },
            Event::Pong { token: Some("t1") },
            Event::Pong { token: None },
            Event::Ok {
                verb: "REGISTER",
                detail: Some("ana"),
            },
            Event::Err {
                code: ErrCode::NoSuchRoom,
                text: "no room x",
            },
            Event::Bye { text: "goodbye" },
        ];
        let mut events = events;
        let shifts = [
            Shift::Flag {
                name: "moderated",
                on: true,
            },
            Shift::Flag {
                name: "secret",
                on: false,
            },
            Shift::Value {
                name: "slow",
                value: Some(30),
            },
            Shift::Value {
                name: "limit",
                value: None,
            },
            Shift::Key {
                on: true,
                shown: None,
            },
            Shift::Role {
                role: "op",
                nick: "bob",
                on: false,
            },
            Shift::Role {
                role: "voice",
                nick: "bob",
                on: true,
            },
            Shift::List {
                list: "ban",
                mask: "*!*@10.0.0.7",
                on: true,
            },
            Shift::List {
                list: "mute",
                mask: "bob!*@*",
                on: false,
            },
            Shift::List {
                list: "except",
                mask: "ana!*@*",
                on: true,
            },
            Shift::List {
                list: "allow",
                mask: "*!*@10.0.0.*",
                on: false,
            },
        ];
        for shift in shifts {
            events.push(Event::Change {
                room: "lobby",
                by: "ana",
                shift,
            });
        }
        events.extend([
            Event::Topic {
                room: "lobby",
                by: "ana",
                at: 5,
                text: Some("Week 3: sockets"),
            },
            Event::Topic {
                room: "lobby",
                by: "ana",
                at: 6,
                text: None,
            },
            Event::Setting {
                room: "lobby",
                setting: "slow",
                value: Some("30"),
            },
            Event::Setting {
                room: "lobby",
                setting: "secret",
                value: None,
            },
            Event::Role {
                room: "lobby",
                nick: "ana",
                role: "owner",
            },
            Event::Listed {
                list: "MUTE",
                room: "lobby",
                mask: "bob!*@*",
                by: "ana",
                at: 7,
            },
            Event::EndSettings { room: "lobby" },
            Event::Invited {
                room: "lobby",
                nick: "bob",
                by: "ana",
            },
        ]);
        for event in events {
            let bytes = encode(&event);
            assert_eq!(bytes.last(), Some(&b'\n'));
            let text = std::str::from_utf8(&bytes[..bytes.len() - 1]).unwrap();
            assert!(!text.contains('\n'));
            assert_eq!(parse_event(text).ok(), Some(event.clone()), "{text}");
        }
    }

    #[test]
    fn list_lines_stay_short_and_keep_every_nick() {
        let names: Vec<String> = (0..500)
            .map(|i| format!("user{i:04}xxxxxxxxxxxx"))
            .collect();
        let nicks: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut out = Vec::new();
        encode_members("big", &nicks, &mut out);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() > 10);
        assert!(lines.iter().all(|l| l.len() < MAX_LINE));
        assert_eq!(*lines.last().unwrap(), "END MEMBERS big");
        let seen: Vec<&str> = lines[..lines.len() - 1]
            .iter()
            .flat_map(|l| l.split(' ').skip(2))
            .collect();
        assert_eq!(seen, nicks);
        let mut empty = Vec::new();
        encode_users(&[], &mut empty);
        assert_eq!(empty, b"END USERS\n");
    }

    mod prop {
        use super::super::*;
        use crate::proto::command::*;
        use crate::proto::lines::*;
        use crate::proto::refusal::ErrCode;
        use crate::proto::text::first_forbidden;
        use proptest::prelude::*;

        /// What the server writes for a parsed line, as the dispatcher would
        /// render it for a CHAT/1 user `ana` (the events that carry the
        /// line's words), or for its refusal.
        fn emitted(command: &Result<Command, crate::proto::refusal::Refusal>) -> Vec<u8> {
            let mut out = Vec::new();
            let me = "ana";
            let event = match command {
                Err(r) => Event::Err {
                    code: r.code,
                    text: &r.text,
                },
                Ok(Command::Say { room, text }) => Event::Msg {
                    room,
                    nick: me,
                    text,
                },
                Ok(Command::Whisper { nick, text }) => Event::Whisper {
                    from: me,
                    to: nick,
                    text,
                },
                Ok(Command::Broadcast { text }) => Event::Broadcast { from: me, text },
                Ok(Command::Part { room, text }) => Event::Part {
                    room,
                    nick: me,
                    text: text.as_deref(),
                },
                Ok(Command::Kick { room, nick, text }) => Event::Kicked {
                    room,
                    nick,
                    by: me,
                    text: text.as_deref(),
                },
                Ok(Command::Quit { text }) => Event::Quit {
                    nick: me,
                    text: text.as_deref(),
                },
                Ok(Command::Ping { token }) => Event::Pong {
                    token: token.as_deref(),
                },
                Ok(Command::Nick { nick, .. }) => Event::Nick {
                    old: "guest1",
                    new: nick,
                },
                Ok(Command::Join { room, .. }) => Event::Join { room, nick: me },
                // Verbs about a room that may not exist: the refusal echoes its name.
                Ok(
                    Command::Who { room }
                    | Command::Delete { room }
                    | Command::History { room, .. },
                ) => {
                    let text = format!("there is no room {room}");
                    encode_into(
                        &Event::Err {
                            code: ErrCode::NoSuchRoom,
                            text: &text,
                        },
                        &mut out,
                    );
                    return out;
                }
                Ok(_) => Event::EndRooms,
            };
            encode_into(&event, &mut out);
            out
        }

        /// True if `out` is whole lines, each ended by `\n`, none holding
        /// CR, LF or NUL inside.
        fn unbroken(out: &[u8]) -> bool {
            let Some(body) = out.strip_suffix(b"\n") else {
                return out.is_empty();
            };
            body.split(|&b| b == b'\n')
                .all(|line| !line.is_empty() && !line.contains(&b'\r') && !line.contains(&0))
        }

        /// Any string, and strings rich in line breakers and controls.
        fn wild() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "[a-z \\r\\n\\x00\\x1b\\x01\\u{85}\\u{2028}]{0,30}"
            ]
        }

        /// Every character the text rule forbids.
        fn forbidden() -> impl Strategy<Value = char> {
            let all: Vec<char> = (0..=0x2029)
                .filter_map(char::from_u32)
                .filter(|&c| crate::proto::text::is_forbidden(c))
                .collect();
            prop::sample::select(all)
        }

        proptest! {
            #[test]
            fn no_input_panics_the_splitter_or_parser(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 0..6)) {
                let mut s = LineSplitter::new();
                let mut frames = Vec::new();
                for c in &chunks {
                    s.feed(c, |f| frames.push(f));
                }
                for f in frames {
                    if let Frame::Line(l) = f {
                        prop_assert!(l.len() < MAX_LINE);
                        let _ = parse_command(&l);
                        let _ = parse_event(&l);
                    }
                }
            }

            #[test]
            fn no_text_line_panics_the_parser(line in "\\PC{0,200}") {
                let _ = parse_command(&line);
                let _ = parse_event(&line);
            }

            #[test]
            fn nothing_emitted_for_any_bytes_breaks_a_line(
                chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 0..6),
                specials in proptest::collection::vec(
                    prop_oneof![
                        Just(&b"SAY lobby "[..]), Just(&b"WHISPER bob "[..]), Just(&b"PART lobby "[..]),
                        Just(&b"KICK lobby bob "[..]), Just(&b"QUIT "[..]), Just(&b"PING "[..]),
                        Just(&b"BROADCAST "[..]), Just(&b"WHO "[..]), Just(&b"\r"[..]), Just(&b"\0"[..]),
                        Just(&b"\x1b[2J"[..]), Just(&b"\xc2\x85"[..]), Just(&b"\xe2\x80\xa8"[..]),
                        Just(&b"\x01"[..]), Just(&b"\n"[..]),
                    ],
                    0..20,
                ),
            ) {
                let mut s = LineSplitter::new();
                let mut frames = Vec::new();
                for c in chunks.iter().map(Vec::as_slice).chain(specials.iter().copied()) {
                    s.feed(c, |f| frames.push(f));
                }
                for f in frames {
                    let command = f.command();
                    let out = emitted(&command);
                    prop_assert!(unbroken(&out), "{:?} -> {:?}", command, String::from_utf8_lossy(&out));
                    if let Ok(
                        Command::Say { text, .. } | Command::Whisper { text, .. } | Command::Broadcast { text },
                    ) = &command {
                        prop_assert_eq!(first_forbidden(text), None);
                    }
                }
            }

            #[test]
            fn every_event_renders_unbroken_whatever_its_strings(
                a in wild(), b in wild(), c in wild(), n in any::<u64>(),
            ) {
                let (a, b, c) = (a.as_str(), b.as_str(), c.as_str());
                let events = [
                    Event::Welcome { nick: a, text: b },
                    Event::Nick { old: a, new: b },
                    Event::Join { room: a, nick: b },
                    Event::Part { room: a, nick: b, text: Some(c) },
                    Event::Msg { room: a, nick: b, text: c },
                    Event::Whisper { from: a, to: b, text: c },
                    Event::Broadcast { from: a, text: c },
                    Event::History { room: a, at: n, nick: b, text: c },
                    Event::Offline { at: n, from: a, text: c },
                    Event::Members { room: a, nicks: vec![b, c] },
                    Event::Users { nicks: vec![a, b, c] },
                    Event::Room { room: a, members: 3, owner: b },
                    Event::Kicked { room: a, nick: b, by: c, text: Some(c) },
                    Event::Closed { room: a, by: b },
                    Event::Quit { nick: a, text: Some(c) },
                    Event::Pong { token: Some(c) },
                    Event::Ok { verb: a, detail: Some(b) },
                    Event::Err { code: ErrCode::NoSuchRoom, text: c },
                    Event::Bye { text: c },
                ];
                for event in &events {
                    let out = encode(event);
                    prop_assert!(out.ends_with(b"\n"));
                    prop_assert!(
                        !out[..out.len() - 1].iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)),
                        "{:?} -> {:?}", event, String::from_utf8_lossy(&out)
                    );
                }
            }

            #[test]
            fn a_forbidden_character_in_any_text_is_refused(
                verb in prop::sample::select(vec![
                    "SAY lobby", "WHISPER bob", "BROADCAST", "PART lobby", "KICK lobby bob",
                    "QUIT", "PING",
                ]),
                before in "[a-z .,!]{0,10}",
                c in forbidden(),
                after in "[a-z .,!]{0,10}",
            ) {
                let line = format!("{verb} x{before}{c}{after}");
                let refused = parse_command(&line).map_err(|r| r.code);
                prop_assert_eq!(refused, Err(ErrCode::BadText), "{:?}", line);
            }

            #[test]
            fn say_text_is_kept_verbatim(
                room in "[a-z0-9][a-z0-9_-]{0,31}",
                text in "[^ \n\r][^\n\r]{0,100}"
                    .prop_filter("text the text rule allows", |t| first_forbidden(t).is_none()),
            ) {
                let cmd = parse_command(&format!("SAY {room} {text}")).unwrap();
                prop_assert_eq!(cmd, Command::Say { room, text });
            }
        }
    }
}
