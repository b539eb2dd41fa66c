//! Channel modes, pure: a `MODE #chan` request's words split into single
//! changes with their parameters, and changes (as CHAT/1 events name them,
//! [`Shift`]) written back as a mode string. Sala's settings have these
//! letters (ISUPPORT `CHANMODES=beI,k,lW,imnst`, `PREFIX=(ov)@+`, `EXTBAN=,m`):
//!
//! | letter | setting |
//! |---|---|
//! | `t` `n` `m` `i` `s` | topic-lock, no-outside, moderated, invite-only, secret |
//! | `l` | limit (members) |
//! | `W` | slow (seconds; Sala's own letter) |
//! | `k` | key |
//! | `o` `v` | the op and voice roles |
//! | `b` | bans; `b m:mask` the mutes |
//! | `e` | ban exceptions |
//! | `I` | invite exceptions |

use crate::proto::chat1::Shift;

/// Most changes one `MODE` line applies (ISUPPORT `MODES`).
pub const MAX_MODES: usize = 20;

/// The extban prefix of a mute: `MODE #a +b m:bob!*@*`.
pub const MUTE_PREFIX: &str = "m:";

/// One part of a `MODE #chan ...` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// A change: `+` (`on`) or `-`, its letter, and its parameter if it takes one.
    Change {
        on: bool,
        letter: char,
        arg: Option<String>,
    },
    /// A list asked for: `b`, `e` or `I` without a parameter.
    List(char),
    /// A letter Sala has no mode for (472).
    Unknown(char),
    /// A letter whose parameter is missing (461).
    Missing(char),
}

/// The flag letters and the CHAT/1 settings they stand for.
pub const FLAGS: [(char, &str); 5] = [
    ('t', "topic-lock"),
    ('n', "no-outside"),
    ('m', "moderated"),
    ('i', "invite-only"),
    ('s', "secret"),
];

/// The letter of CHAT/1 flag setting `name`.
pub fn flag_letter(name: &str) -> char {
    FLAGS
        .iter()
        .find(|(_, n)| *n == name)
        .map_or('?', |(c, _)| *c)
}

/// Splits the words after `MODE #chan` (`+o-v`, `bob`, `carl`) into changes,
/// parameters taken in order, at most [`MAX_MODES`].
pub fn parse(words: &[String]) -> Vec<Mode> {
    let mut out = Vec::new();
    let Some(letters) = words.first() else {
        return out;
    };
    let mut params = words[1..].iter();
    let mut on = true;
    for c in letters.chars() {
        if out.len() >= MAX_MODES {
            break;
        }
        let mode = match c {
            '+' => {
                on = true;
                continue;
            }
            '-' => {
                on = false;
                continue;
            }
            'b' | 'e' | 'I' => match params.next() {
                Some(arg) => Mode::Change {
                    on,
                    letter: c,
                    arg: Some(arg.clone()),
                },
                None => Mode::List(c),
            },
            'o' | 'v' => match params.next() {
                Some(arg) => Mode::Change {
                    on,
                    letter: c,
                    arg: Some(arg.clone()),
                },
                None => Mode::Missing(c),
            },
            // Set with a parameter; removed without (`-k` may carry one, ignored).
            'k' | 'l' | 'W' if on => match params.next() {
                Some(arg) => Mode::Change {
                    on,
                    letter: c,
                    arg: Some(arg.clone()),
                },
                None => Mode::Missing(c),
            },
            'k' => {
                let _ = params.next();
                Mode::Change {
                    on,
                    letter: c,
                    arg: None,
                }
            }
            'l' | 'W' => Mode::Change {
                on,
                letter: c,
                arg: None,
            },
            c if FLAGS.iter().any(|(l, _)| *l == c) => Mode::Change {
                on,
                letter: c,
                arg: None,
            },
            c => Mode::Unknown(c),
        };
        out.push(mode);
    }
    out
}

/// The mode string and parameters of `shifts`: `+o-v`, `["bob", "carl"]`.
pub fn write(shifts: &[Shift<'_>]) -> (String, Vec<String>) {
    let mut modes = String::new();
    let mut params = Vec::new();
    let mut sign = None;
    for shift in shifts {
        let (on, letter, param) = match *shift {
            Shift::Flag { name, on } => (on, flag_letter(name), None),
            Shift::Value { name, value } => (
                value.is_some(),
                if name == "limit" { 'l' } else { 'W' },
                value.map(|v| v.to_string()),
            ),
            Shift::Key { on, shown } => (on, 'k', Some(shown.unwrap_or("*").to_string())),
            Shift::Role { role, nick, on } => (
                on,
                if role == "op" { 'o' } else { 'v' },
                Some(nick.to_string()),
            ),
            Shift::List { list, mask, on } => (
                on,
                match list {
                    "except" => 'e',
                    "allow" => 'I',
                    _ => 'b',
                },
                Some(if list == "mute" {
                    format!("{MUTE_PREFIX}{mask}")
                } else {
                    mask.to_string()
                }),
            ),
        };
        if sign != Some(on) {
            modes.push(if on { '+' } else { '-' });
            sign = Some(on);
        }
        modes.push(letter);
        params.extend(param);
    }
    (modes, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    fn change(on: bool, letter: char, arg: Option<&str>) -> Mode {
        Mode::Change {
            on,
            letter,
            arg: arg.map(str::to_string),
        }
    }

    #[test]
    fn parameters_are_taken_in_order_by_the_letters_that_need_them() {
        assert_eq!(
            parse(&words("+ov-v+l bob carl dan 5")),
            vec![
                change(true, 'o', Some("bob")),
                change(true, 'v', Some("carl")),
                change(false, 'v', Some("dan")),
                change(true, 'l', Some("5")),
            ]
        );
        assert_eq!(
            parse(&words("-lkW+b")),
            vec![
                change(false, 'l', None),
                change(false, 'k', None),
                change(false, 'W', None),
                Mode::List('b'),
            ]
        );
        assert_eq!(
            parse(&words("+int-x+o")),
            vec![
                change(true, 'i', None),
                change(true, 'n', None),
                change(true, 't', None),
                Mode::Unknown('x'),
                Mode::Missing('o'),
            ]
        );
        assert!(parse(&[]).is_empty());
        assert_eq!(parse(&words(&"+t".repeat(50))).len(), MAX_MODES);
    }

    #[test]
    fn changes_are_written_with_one_sign_per_run() {
        let shifts = [
            Shift::Flag {
                name: "moderated",
                on: true,
            },
            Shift::Role {
                role: "voice",
                nick: "bob",
                on: true,
            },
            Shift::Value {
                name: "slow",
                value: None,
            },
            Shift::List {
                list: "mute",
                mask: "carl!*@*",
                on: false,
            },
            Shift::Key {
                on: true,
                shown: Some("sesame"),
            },
        ];
        assert_eq!(
            write(&shifts),
            (
                "+mv-Wb+k".to_string(),
                vec!["bob".into(), "m:carl!*@*".into(), "sesame".into()]
            )
        );
    }
}
