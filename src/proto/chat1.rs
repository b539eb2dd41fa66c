//! CHAT/1 server lines, pure: an [`Event`] rendered into a line, and a
//! line parsed back into an event (for the line client and the tests).

use super::command::Args;
use super::lines::clip;
use super::refusal::ErrCode;
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
    };
    put(out, parts, text);
}

/// Writes `parts` separated by spaces, then ` text` if any, then `\n`.
fn put(out: &mut Vec<u8>, parts: &[&str], text: Option<&str>) {
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(p.as_bytes());
    }
    if let Some(t) = text {
        out.push(b' ');
        out.extend_from_slice(t.as_bytes());
    }
    out.push(b'\n');
}

/// Writes ` nick` for each nick, then `\n`.
fn put_list(out: &mut Vec<u8>, nicks: &[&str]) {
    for nick in nicks {
        out.push(b' ');
        out.extend_from_slice(nick.as_bytes());
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
        "END" => match (word(&mut args)?, args.word()) {
            ("HISTORY", Some(room)) => Event::EndHistory { room },
            ("MEMBERS", Some(room)) => Event::EndMembers { room },
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
        use proptest::prelude::*;

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
            fn say_text_is_kept_verbatim(room in "[a-z0-9][a-z0-9_-]{0,31}", text in "[^ \n\r][^\n\r]{0,100}") {
                let cmd = parse_command(&format!("SAY {room} {text}")).unwrap();
                prop_assert_eq!(cmd, Command::Say { room, text });
            }
        }
    }
}
