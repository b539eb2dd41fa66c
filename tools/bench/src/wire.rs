//! CHAT/1 wire helpers for the bench: parsing of the server lines the bench
//! cares about, and the time-stamped message text. Line splitting and the
//! name rules are the server library's own (`sala::proto::lines`,
//! `sala::proto::command`).
//!
//! Everything here is pure (no I/O) so it can be unit-tested.

/// Tag that starts every bench message text.
const STAMP_TAG: &[u8] = b"SB ";

/// First space-separated word and the rest (after one space).
pub fn split_word(b: &[u8]) -> (&[u8], &[u8]) {
    match b.iter().position(|&c| c == b' ') {
        Some(p) => (&b[..p], &b[p + 1..]),
        None => (b, &[]),
    }
}

/// Parse an ASCII decimal u64 (no sign, no spaces).
pub fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    b.iter().try_fold(0u64, |v, &c| {
        if c.is_ascii_digit() {
            v.checked_mul(10)?.checked_add(u64::from(c - b'0'))
        } else {
            None
        }
    })
}

/// The server lines the bench reacts to; everything else is `Other`.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    Welcome,
    /// `NICK <old> <new>`
    Nick {
        new: &'a [u8],
    },
    /// `OK <verb> ...` (chatload's idealfanout answers NICK with `OK NICK n`)
    Ok {
        verb: &'a [u8],
    },
    /// `END MEMBERS <room>`
    EndMembers,
    Msg {
        from: &'a [u8],
        text: &'a [u8],
    },
    Whisper {
        from: &'a [u8],
        text: &'a [u8],
    },
    Err {
        code: &'a [u8],
    },
    Bye {
        text: &'a [u8],
    },
    Other,
}

/// Classify one server line (terminator already removed).
pub fn parse_line(line: &[u8]) -> Event<'_> {
    let (verb, rest) = split_word(line);
    match verb {
        b"MSG" => {
            let (_room, rest) = split_word(rest);
            let (from, text) = split_word(rest);
            Event::Msg { from, text }
        }
        b"WHISPER" => {
            let (from, rest) = split_word(rest);
            let (_to, text) = split_word(rest);
            Event::Whisper { from, text }
        }
        b"WELCOME" => Event::Welcome,
        b"NICK" => Event::Nick {
            new: split_word(split_word(rest).1).0,
        },
        b"OK" => Event::Ok {
            verb: split_word(rest).0,
        },
        b"END" if split_word(rest).0 == b"MEMBERS" => Event::EndMembers,
        b"ERR" => Event::Err {
            code: split_word(rest).0,
        },
        b"BYE" => Event::Bye { text: rest },
        _ => Event::Other,
    }
}

/// What a bench message text carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub slot: usize,
    pub seq: u32,
    /// send time, ns on the bench's monotonic clock
    pub ts: u64,
}

/// Append `SB <slot> <seq> <ts>` padded with ` xxx…` to `size` bytes.
pub fn write_stamp(out: &mut Vec<u8>, s: Stamp, size: usize) {
    use std::io::Write as _;
    let start = out.len();
    // Writing into a Vec cannot fail.
    let _ = write!(out, "SB {} {} {}", s.slot, s.seq, s.ts);
    let len = out.len() - start;
    if size > len + 1 {
        out.push(b' ');
        out.resize(start + size, b'x');
    }
}

/// Parse a text written by `write_stamp`; None for anything else.
pub fn parse_stamp(text: &[u8]) -> Option<Stamp> {
    let t = text.strip_prefix(STAMP_TAG)?;
    let (slot, t) = split_word(t);
    let (seq, t) = split_word(t);
    let (ts, _) = split_word(t);
    Some(Stamp {
        slot: usize::try_from(parse_u64(slot)?).ok()?,
        seq: u32::try_from(parse_u64(seq)?).ok()?,
        ts: parse_u64(ts)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_server_lines() {
        assert_eq!(
            parse_line(b"MSG room bob SB 1 2 3 xx"),
            Event::Msg {
                from: b"bob",
                text: b"SB 1 2 3 xx"
            }
        );
        assert_eq!(
            parse_line(b"WHISPER a b hi there"),
            Event::Whisper {
                from: b"a",
                text: b"hi there"
            }
        );
        assert_eq!(parse_line(b"NICK guest1 bob"), Event::Nick { new: b"bob" });
        assert_eq!(parse_line(b"OK NICK bob"), Event::Ok { verb: b"NICK" });
        assert_eq!(parse_line(b"END MEMBERS r"), Event::EndMembers);
        assert_eq!(parse_line(b"END HISTORY r"), Event::Other);
        assert_eq!(
            parse_line(b"ERR NICK_TAKEN x"),
            Event::Err {
                code: b"NICK_TAKEN"
            }
        );
        assert_eq!(parse_line(b"WELCOME guest3 hello"), Event::Welcome);
    }

    #[test]
    fn stamp_round_trip_and_size() {
        let s = Stamp {
            slot: 7,
            seq: 42,
            ts: 123_456_789,
        };
        let mut out = Vec::new();
        write_stamp(&mut out, s, 64);
        assert_eq!(out.len(), 64);
        assert_eq!(parse_stamp(&out), Some(s));
        out.clear();
        write_stamp(&mut out, s, 1);
        assert_eq!(parse_stamp(&out), Some(s));
        assert_eq!(parse_stamp(b"hello"), None);
    }
}
