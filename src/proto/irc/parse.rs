//! IRC client lines, pure: `[@tags] [:prefix] COMMAND params... [:trailing]`,
//! and the channel names of rooms.

use crate::proto::command::is_valid_room;

/// One parsed client line: `[@tags] [:prefix] COMMAND params... [:trailing]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// The command in upper case (or a numeric, as sent).
    pub command: String,
    /// Middle parameters, then the trailing one (without its `:`).
    pub params: Vec<&'a str>,
}

/// Parses one line (terminator already removed). Tags and a prefix are
/// skipped; runs of spaces separate parameters. `None` for a blank line.
pub fn parse(line: &str) -> Option<Message<'_>> {
    let mut rest = line.trim_start_matches(' ');
    if rest.starts_with('@') {
        rest = rest
            .split_once(' ')
            .map_or("", |(_, r)| r)
            .trim_start_matches(' ');
    }
    if rest.starts_with(':') {
        rest = rest
            .split_once(' ')
            .map_or("", |(_, r)| r)
            .trim_start_matches(' ');
    }
    let (command, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
    if command.is_empty() {
        return None;
    }
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            break;
        }
        if let Some(trailing) = rest.strip_prefix(':') {
            params.push(trailing);
            break;
        }
        let (word, more) = rest.split_once(' ').unwrap_or((rest, ""));
        params.push(word);
        rest = more;
    }
    Some(Message {
        command: command.to_ascii_uppercase(),
        params,
    })
}

/// True if `name` can be the server's name on IRC: 1–63 of `A-Z a-z 0-9 . - _`,
/// the characters of host names, so that it is one word in every line.
pub fn is_valid_server_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// True if `name` matches `mask`, where `*` stands for any run of
/// characters and `?` for one, in any ASCII case (`WHO`, `LIST`).
pub fn glob(mask: &str, name: &str) -> bool {
    let (m, n): (Vec<char>, Vec<char>) = (mask.chars().collect(), name.chars().collect());
    // Backtracking over the last `*` only: linear enough for nicks and channels.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < m.len() && (m[i] == '?' || m[i].eq_ignore_ascii_case(&n[j])) {
            i += 1;
            j += 1;
        } else if i < m.len() && m[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    m[i..].iter().all(|&c| c == '*')
}

/// The channel of room `room`.
pub fn channel(room: &str) -> String {
    format!("#{room}")
}

/// The room of channel `chan` (`#lobby` → `lobby`; `&` accepted too), if it
/// is a valid room name.
pub fn room_of(chan: &str) -> Option<&str> {
    let name = chan.strip_prefix('#').or_else(|| chan.strip_prefix('&'))?;
    is_valid_room(name).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_stars_and_question_marks_in_any_case() {
        for (mask, name) in [
            ("*", "ana"),
            ("coolni*", "coolNick"),
            ("*an1", "#chan1"),
            ("#c*n2", "#chan2"),
            ("a?a", "ANA"),
            ("*a*a*", "banana"),
            ("ana", "Ana"),
        ] {
            assert!(glob(mask, name), "{mask} matches {name}");
        }
        for (mask, name) in [
            ("coolni*", "cool"),
            ("*an3", "#chan1"),
            ("a?", "a"),
            ("", "a"),
        ] {
            assert!(!glob(mask, name), "{mask} does not match {name}");
        }
    }

    #[test]
    fn parses_prefix_tags_trailing_and_odd_spacing() {
        let m = parse("@time=x :ana!a@h PRIVMSG   #lobby  :hello  there ").unwrap();
        assert_eq!(m.command, "PRIVMSG");
        assert_eq!(m.params, vec!["#lobby", "hello  there "]);
        let m = parse("privmsg bob hi").unwrap();
        assert_eq!(m.command, "PRIVMSG");
        assert_eq!(m.params, vec!["bob", "hi"]);
        let m = parse("JOIN #a,#b k1").unwrap();
        assert_eq!(m.params, vec!["#a,#b", "k1"]);
        let m = parse("TOPIC #a :").unwrap();
        assert_eq!(m.params, vec!["#a", ""]);
        assert_eq!(parse(""), None);
        assert_eq!(parse("   "), None);
        assert_eq!(parse(":only-prefix"), None);
        assert_eq!(parse("QUIT").unwrap().params, Vec::<&str>::new());
    }
}
