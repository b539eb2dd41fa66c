//! CHAT/1 client lines, pure: a line parsed into a [`Command`], with the
//! contract's name rules. No I/O here, so every rule of `docs/protocol.md`
//! is unit-tested (and fuzzed) in this folder.

use super::lines::{Frame, MAX_LINE, clip};
use super::refusal::{ErrCode, Refusal};
use super::text;

/// Most bytes of a room's topic (IRC's `TOPICLEN`).
pub const TOPIC_LEN: usize = 390;

/// One client line, parsed (protocol.md, "Client → server").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Nick {
        nick: String,
        password: Option<String>,
    },
    Register {
        password: String,
    },
    /// `TOKEN`: a login token for the account logged in to.
    Token,
    /// `RESUME <token>`: log in again with a token instead of a password.
    Resume {
        token: String,
    },
    /// `REVOKE <token>`: end a token.
    Revoke {
        token: String,
    },
    Join {
        room: String,
        key: Option<String>,
    },
    Part {
        room: String,
        text: Option<String>,
    },
    Say {
        room: String,
        text: String,
    },
    Whisper {
        nick: String,
        text: String,
    },
    Broadcast {
        text: String,
    },
    Rooms,
    Who {
        room: String,
    },
    Users,
    Kick {
        room: String,
        nick: String,
        text: Option<String>,
    },
    Delete {
        room: String,
    },
    History {
        room: String,
        before: Option<u64>,
    },
    Ping {
        token: Option<String>,
    },
    Quit {
        text: Option<String>,
    },
    /// `TOPIC <room> [<text>]`: set the topic, or clear it.
    Topic {
        room: String,
        text: Option<String>,
    },
    /// `SET <room> <setting> [<value>]`.
    Set {
        room: String,
        setting: String,
        value: Option<String>,
    },
    /// `UNSET <room> <setting>`.
    Unset {
        room: String,
        setting: String,
    },
    /// `SETTINGS <room>`.
    Settings {
        room: String,
    },
    /// `OP`, `DEOP`, `VOICE`, `DEVOICE` (a nick), `MUTE`, `UNMUTE`, `BAN`,
    /// `UNBAN`, `EXCEPT`, `UNEXCEPT`, `ALLOW`, `DISALLOW` (a nick or mask).
    Moderate {
        room: String,
        act: Act,
        who: String,
    },
    Invite {
        room: String,
        nick: String,
    },
    Kill {
        nick: String,
        text: Option<String>,
    },
    /// `UPLOAD <room|@nick> <size> <name>`: ask for a one-time address to
    /// send a file of at most `size` bytes to over HTTP (docs/protocol.md).
    Upload {
        target: Upload,
        size: u64,
        name: String,
    },
    /// An IRC-only request from an IRC connection (see [`crate::proto::irc`]).
    Irc(Query),
}

/// What an operator does to a member, a nick or a mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Op,
    Deop,
    Voice,
    Devoice,
    Mute,
    Unmute,
    Ban,
    Unban,
    Except,
    Unexcept,
    Allow,
    Disallow,
}

impl Act {
    /// Every act, with its CHAT/1 verb.
    pub const VERBS: [(&'static str, Act); 12] = [
        ("OP", Act::Op),
        ("DEOP", Act::Deop),
        ("VOICE", Act::Voice),
        ("DEVOICE", Act::Devoice),
        ("MUTE", Act::Mute),
        ("UNMUTE", Act::Unmute),
        ("BAN", Act::Ban),
        ("UNBAN", Act::Unban),
        ("EXCEPT", Act::Except),
        ("UNEXCEPT", Act::Unexcept),
        ("ALLOW", Act::Allow),
        ("DISALLOW", Act::Disallow),
    ];

    /// The CHAT/1 verb.
    pub fn verb(self) -> &'static str {
        Act::VERBS
            .iter()
            .find(|(_, a)| *a == self)
            .map_or("", |(v, _)| v)
    }
}

/// Where an `UPLOAD`ed file goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upload {
    /// To a room's members, like `SAY`.
    Room(String),
    /// To one user, like `WHISPER` (written `@nick`).
    Nick(String),
}

/// IRC-only requests: they read chat state the CHAT/1 verbs do not show, or
/// only answer the asker. The dispatcher answers them in order with the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// A numeric the reader decided on (421, 461, 432, ...): `params` after
    /// the recipient's nick, `text` last.
    Numeric {
        code: u16,
        params: Vec<String>,
        text: String,
    },
    /// `CAP` negotiation: we offer no capabilities.
    Cap {
        sub: String,
        arg: Option<String>,
    },
    /// What `USER` said (username, realname), handed over just before the
    /// `NICK` that registers the client.
    User {
        user: String,
        real: String,
    },
    /// `AUTHENTICATE data`: a step of SASL PLAIN.
    Authenticate {
        data: String,
    },
    /// The client's `PING token`: answer `PONG`.
    Ping {
        token: String,
    },
    /// The client was quiet too long: the server sends `PING`.
    PingPeer,
    /// The client's login deadline (`limit` after it connected) has passed:
    /// unless its registration is over, it is dropped.
    LoginTimeout {
        limit: std::time::Duration,
    },
    /// `NAMES [#a,#b]`: the channel list as sent.
    Names {
        room: Option<String>,
    },
    /// `WHO mask [%fields[,token]]`: `whox` holds what follows `%` (WHOX).
    Who {
        mask: String,
        whox: Option<String>,
    },
    Whois {
        nick: String,
    },
    Ison {
        nicks: Vec<String>,
    },
    Userhost {
        nicks: Vec<String>,
    },
    /// `MODE #chan [modes [params...]]`: the words after the channel.
    ChannelMode {
        room: String,
        modes: Vec<String>,
    },
    UserMode {
        nick: String,
        change: Option<String>,
    },
    /// `TOPIC #chan`: what the topic is (setting one is [`Command::Topic`]).
    Topic {
        room: String,
    },
    /// `OPER <account> <password>`: become a server admin.
    Oper {
        name: String,
        password: String,
    },
    Lusers,
    Motd,
    Away {
        text: Option<String>,
    },
    /// `LIST [filters]`: channels, masks (`*an1`, `!*an1`), member counts
    /// (`>1`, `<5`), separated by commas, as sent.
    List {
        filter: Option<String>,
    },
    /// A `NOTICE`: the message command it carries (`Say`, `Whisper` or
    /// `Broadcast`), shown to IRC users as `NOTICE` and never answered with
    /// an error (RFC 2812, 3.3.2).
    Notice {
        message: Box<Command>,
    },
    /// An IRCv3 request (`TAGMSG`, `SETNAME`, `CHATHISTORY`, tagged lines).
    Ircv3(Ircv3),
}

/// The IRCv3 requests (docs/irc.md, "IRCv3 capabilities").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ircv3 {
    /// A line with a `label` or client-only `+tags` (boxed: a rare, big
    /// variant should not make every command bigger).
    Tagged(Box<TaggedLine>),
    /// `TAGMSG target`: the line's client-only tags, without a text.
    TagMsg { target: String },
    /// `SETNAME :realname`.
    SetName { real: String },
    /// `CHATHISTORY sub target ...`, as sent.
    ChatHistory { params: Vec<String> },
    /// The dispatcher's own: the end of a labeled line whose commands
    /// waited for the password workers; its answer is gathered here.
    LabelEnd { label: String },
}

/// The commands of one line with IRCv3 tags, applied together, so that
/// their answers carry its label and their messages its client-only tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedLine {
    pub label: Option<String>,
    pub tags: Option<String>,
    pub lines: Vec<Result<Command, Refusal>>,
}

/// True if `s` is a valid nickname: 1–24 of `A-Z a-z 0-9 _ -`, starting with a letter.
pub fn is_valid_nick(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=24).contains(&b.len()) && b[0].is_ascii_alphabetic() && b.iter().all(|&c| is_name_byte(c))
}

/// True if `s` is a valid room name: 1–32 of `A-Z a-z 0-9 _ -`, starting with a letter or digit.
pub fn is_valid_room(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=32).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|&c| is_name_byte(c))
}

/// True for the guest names the server hands out (`guest<digits>`, any case).
pub fn is_guest_nick(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 5 && b[..5].eq_ignore_ascii_case(b"guest") && b[5..].iter().all(u8::is_ascii_digit)
}

fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// The words of a line after its verb: `word` takes one, `text` takes the rest.
pub(crate) struct Args<'a> {
    rest: &'a str,
}

impl<'a> Args<'a> {
    pub(crate) fn new(rest: &'a str) -> Args<'a> {
        Args { rest }
    }

    /// The next space-separated word, if any.
    pub(crate) fn word(&mut self) -> Option<&'a str> {
        let s = self.rest.trim_start_matches(' ');
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        let end = s.find(' ').unwrap_or(s.len());
        self.rest = &s[end..];
        Some(&s[..end])
    }

    /// The rest of the line after the separating spaces, spaces inside included.
    pub(crate) fn text(&mut self) -> Option<&'a str> {
        let s = self.rest.trim_start_matches(' ');
        self.rest = "";
        (!s.is_empty()).then_some(s)
    }

    fn need(&mut self, verb: &str, what: &str) -> Result<&'a str, Refusal> {
        self.word().ok_or_else(|| missing(verb, what))
    }

    fn need_text(&mut self, verb: &str) -> Result<&'a str, Refusal> {
        let t = self.text().ok_or_else(|| {
            Refusal::new(
                ErrCode::EmptyMessage,
                format!("{verb} needs a message text"),
            )
        })?;
        text::check(t)
    }

    /// The rest of the line, if any, as a text others may see: checked by
    /// the one text rule.
    fn clean_text(&mut self) -> Result<Option<&'a str>, Refusal> {
        self.text().map(text::check).transpose()
    }
}

fn missing(verb: &str, what: &str) -> Refusal {
    Refusal::new(ErrCode::MissingArgument, format!("{verb} needs <{what}>"))
}

/// Parses one line (terminator already removed) into a command.
///
/// # Errors
/// The refusal to send back when the line is not a valid command.
pub fn parse_command(line: &str) -> Result<Command, Refusal> {
    let mut args = Args::new(line);
    let Some(verb) = args.word() else {
        return Err(Refusal::new(ErrCode::UnknownCommand, "empty line"));
    };
    let upper = verb.to_ascii_uppercase();
    let own = |s: &str| s.to_string();
    let command = match upper.as_str() {
        "NICK" => {
            let nick = args.need("NICK", "nick")?;
            check_nick(nick)?;
            let password = args.word().map(own);
            one_word_password(&mut args)?;
            Command::Nick {
                nick: own(nick),
                password,
            }
        }
        "REGISTER" => {
            let password = own(args.need("REGISTER", "password")?);
            one_word_password(&mut args)?;
            Command::Register { password }
        }
        "TOKEN" => Command::Token,
        "RESUME" => Command::Resume {
            token: own(args.need("RESUME", "a token")?),
        },
        "REVOKE" => Command::Revoke {
            token: own(args.need("REVOKE", "a token")?),
        },
        "JOIN" => {
            let room = args.need("JOIN", "room")?;
            if !is_valid_room(room) {
                return Err(bad_room(room));
            }
            Command::Join {
                room: own(room),
                key: args.word().map(own),
            }
        }
        "PART" => Command::Part {
            room: own(args.need("PART", "room")?),
            text: args.clean_text()?.map(own),
        },
        "SAY" => {
            let room = own(args.need("SAY", "room")?);
            Command::Say {
                room,
                text: own(args.need_text("SAY")?),
            }
        }
        "WHISPER" => {
            let nick = own(args.need("WHISPER", "nick")?);
            Command::Whisper {
                nick,
                text: own(args.need_text("WHISPER")?),
            }
        }
        "BROADCAST" => Command::Broadcast {
            text: own(args.need_text("BROADCAST")?),
        },
        "ROOMS" => Command::Rooms,
        "WHO" => Command::Who {
            room: own(args.need("WHO", "room")?),
        },
        "USERS" => Command::Users,
        "KICK" => {
            let room = own(args.need("KICK", "room")?);
            Command::Kick {
                room,
                nick: own(args.need("KICK", "nick")?),
                text: args.clean_text()?.map(own),
            }
        }
        "DELETE" => Command::Delete {
            room: own(args.need("DELETE", "room")?),
        },
        "HISTORY" => {
            let room = own(args.need("HISTORY", "room")?);
            let before = match args.word() {
                None => None,
                Some(w) => Some(w.parse::<u64>().map_err(|_| {
                    Refusal::new(
                        ErrCode::MissingArgument,
                        "HISTORY needs <before-unix-ms> as a whole number",
                    )
                })?),
            };
            Command::History { room, before }
        }
        "PING" => Command::Ping {
            token: args.clean_text()?.map(own),
        },
        "UPLOAD" => {
            let to = args.need("UPLOAD", "room or @nick")?;
            let target = match to.strip_prefix('@') {
                Some(nick) => Upload::Nick(own(nick)),
                None => Upload::Room(own(to)),
            };
            let size = args.need("UPLOAD", "size")?.parse::<u64>().map_err(|_| {
                Refusal::new(
                    ErrCode::MissingArgument,
                    "UPLOAD needs <size> as a whole number of bytes",
                )
            })?;
            let name = args
                .clean_text()?
                .ok_or_else(|| missing("UPLOAD", "name"))?;
            Command::Upload {
                target,
                size,
                name: own(name),
            }
        }
        "QUIT" => Command::Quit {
            text: args.clean_text()?.map(own),
        },
        "TOPIC" => Command::Topic {
            room: own(args.need("TOPIC", "room")?),
            text: args.clean_text()?.map(own),
        },
        "SET" => {
            let room = own(args.need("SET", "room")?);
            Command::Set {
                room,
                setting: own(args.need("SET", "setting")?),
                value: args.word().map(own),
            }
        }
        "UNSET" => {
            let room = own(args.need("UNSET", "room")?);
            Command::Unset {
                room,
                setting: own(args.need("UNSET", "setting")?),
            }
        }
        "SETTINGS" => Command::Settings {
            room: own(args.need("SETTINGS", "room")?),
        },
        "INVITE" => {
            let room = own(args.need("INVITE", "room")?);
            Command::Invite {
                room,
                nick: own(args.need("INVITE", "nick")?),
            }
        }
        "KILL" => {
            let nick = own(args.need("KILL", "nick")?);
            Command::Kill {
                nick,
                text: args.clean_text()?.map(own),
            }
        }
        _ if Act::VERBS.iter().any(|(v, _)| *v == upper) => {
            let act = Act::VERBS
                .iter()
                .find(|(v, _)| *v == upper)
                .map_or(Act::Op, |(_, a)| *a);
            let what = match act {
                Act::Op | Act::Deop | Act::Voice | Act::Devoice => "nick",
                _ => "nick or mask",
            };
            let room = own(args.need(act.verb(), "room")?);
            Command::Moderate {
                room,
                act,
                who: own(args.need(act.verb(), what)?),
            }
        }
        _ => {
            return Err(Refusal::new(
                ErrCode::UnknownCommand,
                format!("unknown command {}", clip(verb, 32)),
            ));
        }
    };
    Ok(command)
}

/// Checks a nickname a client asks for: valid, and not a guest name.
///
/// # Errors
/// `BAD_NAME` or `NICK_RESERVED`.
pub fn check_nick(nick: &str) -> Result<(), Refusal> {
    if !is_valid_nick(nick) {
        return Err(Refusal::new(
            ErrCode::BadName,
            format!(
                "{} is not a nickname: 1-24 of A-Z a-z 0-9 _ -, starting with a letter",
                clip(nick, 32)
            ),
        ));
    }
    if is_guest_nick(nick) {
        return Err(Refusal::new(
            ErrCode::NickReserved,
            format!("{nick} is reserved for guests"),
        ));
    }
    Ok(())
}

/// A password is one word: refuse a phrase rather than keep only its first word.
fn one_word_password(args: &mut Args<'_>) -> Result<(), Refusal> {
    match args.text() {
        None => Ok(()),
        Some(_) => Err(Refusal::new(
            ErrCode::BadPassword,
            "a password is one word, without spaces",
        )),
    }
}

fn bad_room(room: &str) -> Refusal {
    Refusal::new(
        ErrCode::BadName,
        format!(
            "{} is not a room name: 1-32 of A-Z a-z 0-9 _ -, starting with a letter or digit",
            clip(room, 40)
        ),
    )
}

impl Frame {
    /// The command a line holds, or the refusal it gets.
    ///
    /// # Errors
    /// `LINE_TOO_LONG`, `BAD_UTF8`, or the refusal of [`parse_command`].
    pub fn command(self) -> Result<Command, Refusal> {
        match self {
            Frame::Line(line) => parse_command(&line),
            Frame::TooLong => Err(Refusal::new(
                ErrCode::LineTooLong,
                format!("a line may be at most {MAX_LINE} bytes; it was discarded"),
            )),
            Frame::BadUtf8 => Err(Refusal::new(
                ErrCode::BadUtf8,
                "the line is not valid UTF-8; it was discarded",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_problems_get_their_codes() {
        assert_eq!(Frame::BadUtf8.command().unwrap_err().code, ErrCode::BadUtf8);
        assert_eq!(
            Frame::TooLong.command().unwrap_err().code,
            ErrCode::LineTooLong
        );
    }

    #[test]
    fn parses_every_verb_case_insensitively() {
        let cases: Vec<(&str, Command)> = vec![
            (
                "nick Ana",
                Command::Nick {
                    nick: "Ana".into(),
                    password: None,
                },
            ),
            (
                "NICK ana pw",
                Command::Nick {
                    nick: "ana".into(),
                    password: Some("pw".into()),
                },
            ),
            (
                "register s3cret",
                Command::Register {
                    password: "s3cret".into(),
                },
            ),
            (
                "Join lobby k",
                Command::Join {
                    room: "lobby".into(),
                    key: Some("k".into()),
                },
            ),
            (
                "PART lobby bye all",
                Command::Part {
                    room: "lobby".into(),
                    text: Some("bye all".into()),
                },
            ),
            (
                "SAY  lobby   hello  there ",
                Command::Say {
                    room: "lobby".into(),
                    text: "hello  there ".into(),
                },
            ),
            (
                "whisper bob psst",
                Command::Whisper {
                    nick: "bob".into(),
                    text: "psst".into(),
                },
            ),
            (
                "BROADCAST hi all",
                Command::Broadcast {
                    text: "hi all".into(),
                },
            ),
            ("rooms", Command::Rooms),
            (
                "WHO lobby",
                Command::Who {
                    room: "lobby".into(),
                },
            ),
            ("users", Command::Users),
            (
                "KICK lobby bob go away",
                Command::Kick {
                    room: "lobby".into(),
                    nick: "bob".into(),
                    text: Some("go away".into()),
                },
            ),
            (
                "DELETE lobby",
                Command::Delete {
                    room: "lobby".into(),
                },
            ),
            (
                "HISTORY lobby 1700000000000",
                Command::History {
                    room: "lobby".into(),
                    before: Some(1_700_000_000_000),
                },
            ),
            (
                "HISTORY lobby",
                Command::History {
                    room: "lobby".into(),
                    before: None,
                },
            ),
            (
                "PING abc",
                Command::Ping {
                    token: Some("abc".into()),
                },
            ),
            ("PING", Command::Ping { token: None }),
            ("QUIT", Command::Quit { text: None }),
            (
                "quit see you",
                Command::Quit {
                    text: Some("see you".into()),
                },
            ),
        ];
        for (line, want) in cases {
            assert_eq!(parse_command(line), Ok(want), "{line}");
        }
    }

    #[test]
    fn refuses_with_the_contract_codes() {
        let cases = [
            ("FROB x", ErrCode::UnknownCommand),
            ("NICK", ErrCode::MissingArgument),
            ("NICK 9lives", ErrCode::BadName),
            ("NICK a.b", ErrCode::BadName),
            (
                "NICK abcdefghijklmnopqrstuvwxy",
                ErrCode::BadName, // 25 characters
            ),
            ("NICK guest12", ErrCode::NickReserved),
            ("NICK GUEST7", ErrCode::NickReserved),
            ("JOIN", ErrCode::MissingArgument),
            ("JOIN #lobby", ErrCode::BadName),
            ("JOIN _x", ErrCode::BadName),
            ("SAY", ErrCode::MissingArgument),
            ("SAY lobby", ErrCode::EmptyMessage),
            ("SAY lobby    ", ErrCode::EmptyMessage),
            ("WHISPER bob", ErrCode::EmptyMessage),
            ("BROADCAST", ErrCode::EmptyMessage),
            ("WHO", ErrCode::MissingArgument),
            ("KICK lobby", ErrCode::MissingArgument),
            ("DELETE", ErrCode::MissingArgument),
            ("HISTORY", ErrCode::MissingArgument),
            ("HISTORY lobby yesterday", ErrCode::MissingArgument),
            ("REGISTER", ErrCode::MissingArgument),
            ("PART", ErrCode::MissingArgument),
            ("REGISTER my long phrase", ErrCode::BadPassword),
            ("NICK ana my phrase", ErrCode::BadPassword),
        ];
        for (line, code) in cases {
            assert_eq!(parse_command(line).map_err(|r| r.code), Err(code), "{line}");
        }
    }

    #[test]
    fn texts_others_see_follow_the_text_rule() {
        for line in [
            "SAY lobby hi\r:admin PRIVMSG #lobby :forged",
            "SAY lobby \u{1b}[2J",
            "WHISPER bob \u{1b}]0;pwned\u{7}",
            "BROADCAST all\u{0}",
            "PART lobby bye\u{85}",
            "KICK lobby bob out\u{2028}now",
            "QUIT gone\u{2029}",
            "PING tok\u{7f}",
            "SAY lobby \u{9b}31m",
        ] {
            assert_eq!(
                parse_command(line).map_err(|r| r.code),
                Err(ErrCode::BadText),
                "{line:?}"
            );
        }
        // Missing words are still reported first.
        assert_eq!(
            parse_command("SAY").map_err(|r| r.code),
            Err(ErrCode::MissingArgument)
        );
        // Tabs, IRC formatting and CTCP framing are text.
        for text in [
            "a\tb",
            "\u{2}bold\u{2} \u{3}4red\u{f} \u{1d}it\u{1d} \u{1f}u\u{1f} \u{16}r\u{16}",
            "\u{1}ACTION waves\u{1}",
        ] {
            assert_eq!(
                parse_command(&format!("SAY lobby {text}")),
                Ok(Command::Say {
                    room: "lobby".into(),
                    text: text.into()
                })
            );
        }
    }

    #[test]
    fn names_follow_the_contract() {
        assert!(is_valid_nick("a"));
        assert!(is_valid_nick(&"a".repeat(24)));
        assert!(!is_valid_nick(&"a".repeat(25)));
        assert!(!is_valid_nick("1a"));
        assert!(!is_valid_nick("_a"));
        assert!(!is_valid_nick("ação"));
        assert!(is_valid_room("1st"));
        assert!(is_valid_room(&"r".repeat(32)));
        assert!(!is_valid_room(&"r".repeat(33)));
        assert!(!is_valid_room("-r"));
        assert!(is_guest_nick("Guest001"));
        assert!(!is_guest_nick("guest"));
        assert!(!is_guest_nick("guestx1"));
    }
}
