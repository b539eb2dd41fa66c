//! CHAT/1 wire helpers for the bench: line splitting, parsing of the server
//! lines the bench cares about, and the time-stamped message text.
//!
//! Everything here is pure (no I/O) so it can be unit-tested.

/// Longest line the bench keeps; longer ones are truncated (the protocol says
/// 2048, but a lenient reader keeps the bench from failing on a server bug).
pub const MAX_LINE: usize = 16 * 1024;

/// Tag that starts every bench message text.
const STAMP_TAG: &[u8] = b"SB ";

/// Position of the first `\n` in `hay`, eight bytes at a time.
pub fn find_nl(hay: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let chunks = hay.chunks_exact(8);
    let tail = chunks.remainder();
    for (k, c) in chunks.enumerate() {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        let w = u64::from_le_bytes(a) ^ NL;
        let z = w.wrapping_sub(LO) & !w & HI;
        if z != 0 {
            return Some(k * 8 + (z.trailing_zeros() / 8) as usize);
        }
    }
    let base = hay.len() - tail.len();
    tail.iter().position(|&b| b == b'\n').map(|p| base + p)
}

fn strip_cr(l: &[u8]) -> &[u8] {
    match l.split_last() {
        Some((b'\r', rest)) => rest,
        _ => l,
    }
}

/// Split `data` into lines, using `carry` for a partial line left by the
/// previous read. `\r\n` and `\n` both end a line. A line longer than `max`
/// is truncated to `max` bytes. Returns how many lines were truncated.
pub fn for_each_line(
    carry: &mut Vec<u8>,
    data: &[u8],
    max: usize,
    mut f: impl FnMut(&[u8]),
) -> u64 {
    let mut truncated = 0;
    let mut rest = data;
    if !carry.is_empty() {
        let Some(p) = find_nl(rest) else {
            truncated += append_capped(carry, rest, max);
            return truncated;
        };
        truncated += append_capped(carry, &rest[..p], max);
        f(strip_cr(carry));
        carry.clear();
        rest = &rest[p + 1..];
    }
    while let Some(p) = find_nl(rest) {
        let line = &rest[..p];
        if line.len() > max {
            truncated += 1;
            f(&line[..max]);
        } else {
            f(strip_cr(line));
        }
        rest = &rest[p + 1..];
    }
    truncated + append_capped(carry, rest, max)
}

/// Append up to `max - carry.len()` bytes; 1 if something had to be dropped
/// and the carry was not already full (count a long line once).
fn append_capped(carry: &mut Vec<u8>, data: &[u8], max: usize) -> u64 {
    let was_full = carry.len() >= max;
    let room = max.saturating_sub(carry.len());
    carry.extend_from_slice(&data[..data.len().min(room)]);
    u64::from(data.len() > room && !was_full)
}

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

/// Check a nickname against CHAT/1: 1–24 of `[A-Za-z0-9_-]`, starting with a
/// letter, and not a reserved `guest<digits>` name.
pub fn valid_nick(n: &str) -> bool {
    let b = n.as_bytes();
    let ok_chars = b
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
    let guest = n.len() > 5
        && n[..5].eq_ignore_ascii_case("guest")
        && n[5..].bytes().all(|c| c.is_ascii_digit());
    (1..=24).contains(&b.len()) && b[0].is_ascii_alphabetic() && ok_chars && !guest
}

/// Check a room name against CHAT/1: 1–32 of `[A-Za-z0-9_-]`, starting with a
/// letter or digit.
pub fn valid_room(r: &str) -> bool {
    let b = r.as_bytes();
    (1..=32).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]], max: usize) -> (Vec<String>, u64) {
        let mut carry = Vec::new();
        let mut got = Vec::new();
        let mut trunc = 0;
        for c in chunks {
            trunc += for_each_line(&mut carry, c, max, |l| {
                got.push(String::from_utf8_lossy(l).into_owned())
            });
        }
        (got, trunc)
    }

    #[test]
    fn find_nl_matches_naive() {
        let mut v: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
        assert_eq!(find_nl(&v), None);
        for p in [0, 1, 7, 8, 9, 15, 16, 63, 64, 99] {
            let mut w = v.clone();
            w[p] = b'\n';
            assert_eq!(find_nl(&w), Some(p), "at {p}");
        }
        v[40] = b'\n';
        v[41] = b'\n';
        assert_eq!(find_nl(&v), Some(40));
        // bytes that trip naive SWAR borrow handling
        assert_eq!(find_nl(b"\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\n"), Some(9));
    }

    #[test]
    fn splits_lines_across_reads() {
        let (got, t) = lines(&[b"ab\r\ncd", b"e\nf\n", b"g"], 100);
        assert_eq!(got, vec!["ab", "cde", "f"]);
        assert_eq!(t, 0);
    }

    #[test]
    fn truncates_long_lines_once() {
        let (got, t) = lines(&[b"abcdef", b"ghij\nok\n"], 4);
        assert_eq!(got, vec!["abcd", "ok"]);
        assert_eq!(t, 1);
        let (got, t) = lines(&[b"abcdefgh\nxy\n"], 4);
        assert_eq!(got, vec!["abcd", "xy"]);
        assert_eq!(t, 1);
    }

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

    #[test]
    fn name_rules() {
        assert!(valid_nick("b1x0"));
        assert!(!valid_nick("guest12"));
        assert!(valid_nick("guestx"));
        assert!(!valid_nick("1abc"));
        assert!(!valid_nick(&"a".repeat(25)));
        assert!(valid_room("bench-1"));
        assert!(!valid_room("-x"));
    }
}
