//! The one rule for the text a client sends to others (messages, whispers,
//! broadcasts, part, quit and kick reasons, away messages, ping tokens), used
//! by every door: no character that could end a line or play tricks on a
//! terminal. A text that breaks it is refused (`ERR BAD_TEXT`), never changed.
//! IRC's formatting codes and CTCP's framing are text and stay.
//!
//! The renderers use [`visible`] as a last guard, so that no emitted line
//! holds such a character whatever its source (an error text echoing a
//! client's word, history stored before the rule).

use super::refusal::{ErrCode, Refusal};
use std::borrow::Cow;

/// IRC's formatting codes, allowed in text: bold, colour, reset, monospace,
/// reverse, italics, strikethrough, underline.
pub const FORMATTING: [char; 8] = [
    '\u{02}', '\u{03}', '\u{0f}', '\u{11}', '\u{16}', '\u{1d}', '\u{1e}', '\u{1f}',
];

/// CTCP's delimiter (`\x01ACTION waves\x01`, IRC's `/me`): allowed as the
/// first character of a text and as its last, nowhere else.
pub const CTCP: char = '\u{01}';

/// What stands for a forbidden character in an emitted line.
pub const REPLACEMENT: char = '\u{fffd}';

/// True for a character no text may hold: CR, LF, NUL and every other C0
/// control but TAB and the formatting codes, DEL, the C1 controls (U+0085
/// included), and the line and paragraph separators U+2028 and U+2029.
pub fn is_forbidden(c: char) -> bool {
    match c {
        '\t' => false,
        c if FORMATTING.contains(&c) => false,
        '\u{00}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' => true,
        _ => false,
    }
}

/// True if every byte is printable ASCII: the common case, checked first.
fn plain(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// The first character of `text` the rule refuses, if any.
pub fn first_forbidden(text: &str) -> Option<char> {
    if plain(text) {
        return None;
    }
    let body = text
        .strip_prefix(CTCP)
        .map_or(text, |t| t.strip_suffix(CTCP).unwrap_or(t));
    body.chars().find(|&c| is_forbidden(c))
}

/// Checks a text a client sends.
///
/// # Errors
/// `BAD_TEXT`, naming the first character refused.
pub fn check(text: &str) -> Result<&str, Refusal> {
    match first_forbidden(text) {
        None => Ok(text),
        Some(c) => Err(Refusal::new(
            ErrCode::BadText,
            format!(
                "the text holds U+{:04X}, a control character; nothing was sent",
                u32::from(c)
            ),
        )),
    }
}

/// `s` as a line may carry it: each forbidden character (CTCP's delimiter
/// aside) replaced by U+FFFD. Borrowed, without a copy, when nothing is.
pub fn visible(s: &str) -> Cow<'_, str> {
    if plain(s) || !s.chars().any(|c| is_forbidden(c) && c != CTCP) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if is_forbidden(c) && c != CTCP {
                    REPLACEMENT
                } else {
                    c
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_tab_formatting_and_unicode_pass() {
        for ok in [
            "hello, world",
            "a\tb",
            "\u{02}bold\u{02} \u{03}4,1red\u{0f} \u{1d}it\u{1d} \u{1f}u\u{1f} \u{16}rev\u{16}",
            "\u{1e}strike\u{1e} \u{11}mono\u{11}",
            "ação 日本 🎉",
            "\u{01}ACTION waves\u{01}",
            "\u{01}VERSION",
        ] {
            assert_eq!(check(ok), Ok(ok), "{ok:?}");
            assert_eq!(visible(ok), ok);
        }
    }

    #[test]
    fn controls_and_separators_are_refused() {
        for (bad, c) in [
            ("hi\r:admin!admin@sala PRIVMSG #lobby :forged", '\r'),
            ("nul\0byte", '\0'),
            ("\u{1b}[2J clear screen", '\u{1b}'),
            ("\u{1b}]0;title\u{07}", '\u{1b}'),
            ("bell\u{07}", '\u{07}'),
            ("del\u{7f}", '\u{7f}'),
            ("c1 \u{80} start", '\u{80}'),
            ("nel \u{85}", '\u{85}'),
            ("csi \u{9b}", '\u{9b}'),
            ("apc \u{9f}", '\u{9f}'),
            ("line\u{2028}sep", '\u{2028}'),
            ("para\u{2029}sep", '\u{2029}'),
            ("lf\ninside", '\n'),
            ("vt\u{0b} ff\u{0c}", '\u{0b}'),
            ("a\u{01}b", '\u{01}'),
            ("\u{01}ACTION \u{01} twice\u{01}", '\u{01}'),
        ] {
            assert_eq!(first_forbidden(bad), Some(c), "{bad:?}");
            let refusal = check(bad).unwrap_err();
            assert_eq!(refusal.code, ErrCode::BadText);
            assert!(refusal.text.contains(&format!("U+{:04X}", u32::from(c))));
            let shown = visible(bad);
            assert!(
                shown.chars().all(|c| !is_forbidden(c) || c == CTCP),
                "{shown:?}"
            );
        }
    }

    #[test]
    fn every_forbidden_character_is_named_by_the_rule() {
        let forbidden: Vec<u32> = (0..=0x10ffff)
            .filter_map(char::from_u32)
            .filter(|&c| is_forbidden(c))
            .map(u32::from)
            .collect();
        let mut want: Vec<u32> = (0..0x20)
            .filter(|&c| c != 0x09 && !FORMATTING.contains(&char::from_u32(c).unwrap()))
            .chain(0x7f..=0x9f)
            .chain([0x2028, 0x2029])
            .collect();
        want.sort_unstable();
        assert_eq!(forbidden, want);
    }

    #[test]
    fn visible_replaces_without_breaking_the_line() {
        assert_eq!(visible("a\rb\0c\u{85}d"), "a\u{fffd}b\u{fffd}c\u{fffd}d");
        assert_eq!(visible("\u{01}ACTION x\u{01}"), "\u{01}ACTION x\u{01}");
        assert!(matches!(visible("fine"), Cow::Borrowed(_)));
    }
}
