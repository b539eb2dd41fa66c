//! IRCv3 message tags, pure: the `@tags` of a client line (its `label`, its
//! client-only `+tags`, their size limits), tags added to server lines, and
//! the `msgid` of a message.

use std::fmt;

/// Most bytes of a client line's tags, `@` and the space after them
/// included (message-tags: 4096).
pub const MAX_TAG_BYTES: usize = 4096;

/// Splits a client line into its tags (without the `@`) and the rest.
pub fn split(line: &str) -> (Option<&str>, &str) {
    let line = line.trim_start_matches(' ');
    match line.strip_prefix('@') {
        Some(tagged) => {
            let (tags, rest) = tagged.split_once(' ').unwrap_or((tagged, ""));
            (Some(tags), rest)
        }
        None => (None, line),
    }
}

/// True if tags `tags` (as [`split`] gives them) are within [`MAX_TAG_BYTES`].
pub fn fits(tags: &str) -> bool {
    tags.len() + 2 <= MAX_TAG_BYTES
}

/// The value of tag `key`, as sent (still escaped), if present.
fn value<'a>(tags: &'a str, key: &str) -> Option<&'a str> {
    tags.split(';').find_map(|tag| {
        let (k, v) = tag.split_once('=').unwrap_or((tag, ""));
        (k == key).then_some(v)
    })
}

/// The `label` of a labeled command: 1–64 bytes of what tag values may hold.
pub fn label(tags: &str) -> Option<String> {
    value(tags, "label")
        .filter(|l| (1..=64).contains(&l.len()) && l.bytes().all(|b| b > b' ' && b != b';'))
        .map(str::to_string)
}

/// The client-only tags (`+name[=value]`), as sent, separated by `;`, to be
/// relayed with the message; `None` if there are none.
pub fn client_only(tags: &str) -> Option<String> {
    let kept: Vec<&str> = tags
        .split(';')
        .filter(|t| t.len() > 1 && t.starts_with('+'))
        .filter(|t| {
            let key = t.split_once('=').map_or(*t, |(k, _)| k);
            key[1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'/' | b'.'))
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join(";"))
}

/// `lines` (IRC lines, each ending in CRLF) with `tag` (`key=value`) added
/// to each: first among the tags a line has, or as its only one.
pub fn add_tag(lines: &[u8], tag: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(lines.len() + tag.len() + 4);
    for line in lines.split_inclusive(|&b| b == b'\n') {
        out.push(b'@');
        out.extend_from_slice(tag.as_bytes());
        match line.strip_prefix(b"@") {
            Some(tagged) => {
                out.push(b';');
                out.extend_from_slice(tagged);
            }
            None => {
                out.push(b' ');
                out.extend_from_slice(line);
            }
        }
    }
    out
}

/// The `msgid` of a message: a room message's names its room and its stamp
/// (the same in the live line and in `CHATHISTORY`, which finds it by it);
/// other messages (whispers, `TAGMSG`) get a number of the server's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgId {
    /// A stored room message: its stamp and a hash of its room's name.
    Room { at: u64, room: u32 },
    /// A message not stored: the server's start (unix ms) and a count.
    Seq { start: u64, n: u64 },
}

impl MsgId {
    /// The id of the message of `room` stamped `at`.
    pub fn room(room: &str, at: u64) -> MsgId {
        MsgId::Room {
            at,
            room: room_hash(room),
        }
    }

    /// The stamp of a room message of `room` whose id is `id`; `None` if it
    /// is no such id.
    pub fn stamp_in(id: &str, room: &str) -> Option<u64> {
        let (at, hash) = id.split_once('r')?;
        let at = at.parse().ok()?;
        (u32::from_str_radix(hash, 16).ok()? == room_hash(room) && hash.len() == 8).then_some(at)
    }
}

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MsgId::Room { at, room } => write!(f, "{at}r{room:08x}"),
            MsgId::Seq { start, n } => write!(f, "{start}s{n}"),
        }
    }
}

/// FNV-1a of a room's name, ignoring case (room names are ASCII).
fn room_hash(room: &str) -> u32 {
    room.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_split_labels_and_client_tags_found() {
        let line = r"@label=12;+draft/reply=abc;foo=bar;+buzz=fizz\:buzz PRIVMSG #a :hi";
        let (tags, rest) = split(line);
        let tags = tags.unwrap();
        assert_eq!(rest, "PRIVMSG #a :hi");
        assert_eq!(label(tags).as_deref(), Some("12"));
        assert_eq!(
            client_only(tags).as_deref(),
            Some(r"+draft/reply=abc;+buzz=fizz\:buzz")
        );
        assert_eq!(split("PING x"), (None, "PING x"));
        assert_eq!(client_only("foo=bar;+"), None);
        assert_eq!(label("label="), None);
        assert!(fits(&"a".repeat(4094)) && !fits(&"a".repeat(4095)));
    }

    #[test]
    fn tags_are_added_to_every_line() {
        let lines = b":s PONG s :x\r\n@time=t :s NOTICE a :b\r\n";
        assert_eq!(
            add_tag(lines, "label=7"),
            b"@label=7 :s PONG s :x\r\n@label=7;time=t :s NOTICE a :b\r\n".to_vec()
        );
    }

    #[test]
    fn a_room_message_id_gives_back_its_stamp_in_its_room_only() {
        let id = MsgId::room("Lobby", 1_700_000_000_123).to_string();
        assert_eq!(MsgId::stamp_in(&id, "lobby"), Some(1_700_000_000_123));
        assert_eq!(MsgId::stamp_in(&id, "other"), None);
        assert_eq!(MsgId::stamp_in("junk", "lobby"), None);
        let seq = MsgId::Seq { start: 5, n: 2 }.to_string();
        assert_eq!(seq, "5s2");
        assert_eq!(MsgId::stamp_in(&seq, "lobby"), None);
    }
}
