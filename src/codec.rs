//! The CHAT/1 wire format, and nothing else: split bytes into lines, parse a
//! line into a [`Command`], render an [`Event`] into a line. No I/O here, so
//! every rule of `docs/protocol.md` is unit-tested (and fuzzed) in this file.

use std::fmt;

/// Longest line allowed, terminator included (protocol.md, Framing).
pub const MAX_LINE: usize = 2048;

/// Most lines a `HISTORY` page holds.
pub const HISTORY_PAGE: usize = 50;

/// Byte budget for the nick list of one `MEMBERS`/`USERS` line.
const LIST_LINE_BUDGET: usize = 480;

/// The error codes of the contract, in the order protocol.md lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrCode {
    BadName,
    NickTaken,
    NickReserved,
    BadPassword,
    NoSuchRoom,
    NoSuchUser,
    NotMember,
    AlreadyMember,
    NotOwner,
    BadKey,
    EmptyMessage,
    MissingArgument,
    UnknownCommand,
    LineTooLong,
    BadUtf8,
    ServerFull,
    AlreadyRegistered,
    TooManyRooms,
    InboxFull,
}

impl ErrCode {
    /// Every code, for tests and documentation.
    pub const ALL: [ErrCode; 19] = [
        ErrCode::BadName,
        ErrCode::NickTaken,
        ErrCode::NickReserved,
        ErrCode::BadPassword,
        ErrCode::NoSuchRoom,
        ErrCode::NoSuchUser,
        ErrCode::NotMember,
        ErrCode::AlreadyMember,
        ErrCode::NotOwner,
        ErrCode::BadKey,
        ErrCode::EmptyMessage,
        ErrCode::MissingArgument,
        ErrCode::UnknownCommand,
        ErrCode::LineTooLong,
        ErrCode::BadUtf8,
        ErrCode::ServerFull,
        ErrCode::AlreadyRegistered,
        ErrCode::TooManyRooms,
        ErrCode::InboxFull,
    ];

    /// The code as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrCode::BadName => "BAD_NAME",
            ErrCode::NickTaken => "NICK_TAKEN",
            ErrCode::NickReserved => "NICK_RESERVED",
            ErrCode::BadPassword => "BAD_PASSWORD",
            ErrCode::NoSuchRoom => "NO_SUCH_ROOM",
            ErrCode::NoSuchUser => "NO_SUCH_USER",
            ErrCode::NotMember => "NOT_MEMBER",
            ErrCode::AlreadyMember => "ALREADY_MEMBER",
            ErrCode::NotOwner => "NOT_OWNER",
            ErrCode::BadKey => "BAD_KEY",
            ErrCode::EmptyMessage => "EMPTY_MESSAGE",
            ErrCode::MissingArgument => "MISSING_ARGUMENT",
            ErrCode::UnknownCommand => "UNKNOWN_COMMAND",
            ErrCode::LineTooLong => "LINE_TOO_LONG",
            ErrCode::BadUtf8 => "BAD_UTF8",
            ErrCode::ServerFull => "SERVER_FULL",
            ErrCode::AlreadyRegistered => "ALREADY_REGISTERED",
            ErrCode::TooManyRooms => "TOO_MANY_ROOMS",
            ErrCode::InboxFull => "INBOX_FULL",
        }
    }

    /// Parses a code as written on the wire.
    pub fn from_wire(s: &str) -> Option<ErrCode> {
        ErrCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ErrCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A command failed: the code and a human explanation, sent as `ERR <code> <text>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrCode,
    pub text: String,
}

impl Refusal {
    /// A refusal with its explanation.
    pub fn new(code: ErrCode, text: impl Into<String>) -> Refusal {
        Refusal {
            code,
            text: text.into(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}

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
    /// An IRC-only request from an IRC connection (see [`crate::irc`]).
    Irc(crate::irc::Query),
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
struct Args<'a> {
    rest: &'a str,
}

impl<'a> Args<'a> {
    fn new(rest: &'a str) -> Args<'a> {
        Args { rest }
    }

    /// The next space-separated word, if any.
    fn word(&mut self) -> Option<&'a str> {
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
    fn text(&mut self) -> Option<&'a str> {
        let s = self.rest.trim_start_matches(' ');
        self.rest = "";
        (!s.is_empty()).then_some(s)
    }

    fn need(&mut self, verb: &str, what: &str) -> Result<&'a str, Refusal> {
        self.word().ok_or_else(|| missing(verb, what))
    }

    fn need_text(&mut self, verb: &str) -> Result<&'a str, Refusal> {
        self.text().ok_or_else(|| {
            Refusal::new(
                ErrCode::EmptyMessage,
                format!("{verb} needs a message text"),
            )
        })
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
            text: args.text().map(own),
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
                text: args.text().map(own),
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
            token: args.text().map(own),
        },
        "QUIT" => Command::Quit {
            text: args.text().map(own),
        },
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

/// At most `max` bytes of `s`, cut at a character boundary (for echoing bad
/// input, and for IRC's 512-byte lines).
pub fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

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
pub fn parse_event(line: &str) -> Result<Event<'_>, String> {
    let mut args = Args::new(line);
    let verb = args.word().ok_or("empty line")?;
    let bad = || format!("malformed {verb} line");
    fn word<'a>(args: &mut Args<'a>) -> Result<&'a str, String> {
        args.word().ok_or_else(|| "missing word".to_string())
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
        _ => return Err(format!("unknown server verb {}", clip(verb, 32))),
    };
    Ok(event)
}

/// What the line splitter found: a complete line, or a reason to answer `ERR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A non-empty line, terminator and any `\r` before it removed.
    Line(String),
    /// A line longer than [`MAX_LINE`]; it is being discarded up to its `\n`.
    TooLong,
    /// A line that is not UTF-8; it was discarded.
    BadUtf8,
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

/// Splits a byte stream into lines of at most [`MAX_LINE`] bytes.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
    discarding: bool,
}

impl LineSplitter {
    /// A splitter with nothing buffered.
    pub fn new() -> LineSplitter {
        LineSplitter::default()
    }

    /// Feeds bytes as received; calls `frame` for each line or problem, in order.
    pub fn feed(&mut self, mut data: &[u8], mut frame: impl FnMut(Frame)) {
        while !data.is_empty() {
            match data.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let (head, tail) = (&data[..i], &data[i + 1..]);
                    data = tail;
                    if self.discarding {
                        self.discarding = false;
                        continue;
                    }
                    if self.partial.len() + head.len() + 1 > MAX_LINE {
                        self.partial.clear();
                        frame(Frame::TooLong);
                        continue;
                    }
                    if let Some(f) = self.finish(head) {
                        frame(f);
                    }
                }
                None => {
                    if !self.discarding {
                        // Without its `\n` the line may hold at most MAX_LINE - 1 bytes.
                        if self.partial.len() + data.len() >= MAX_LINE {
                            self.partial.clear();
                            self.discarding = true;
                            frame(Frame::TooLong);
                        } else {
                            self.partial.extend_from_slice(data);
                        }
                    }
                    data = &[];
                }
            }
        }
    }

    /// Completes the buffered line with `head` (the bytes before `\n`).
    fn finish(&mut self, head: &[u8]) -> Option<Frame> {
        let bytes = if self.partial.is_empty() {
            head.to_vec()
        } else {
            let mut v = std::mem::take(&mut self.partial);
            v.extend_from_slice(head);
            v
        };
        let mut bytes = bytes;
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        if bytes.iter().all(|&b| b == b' ') {
            return None;
        }
        match String::from_utf8(bytes) {
            Ok(s) => Some(Frame::Line(s)),
            Err(_) => Some(Frame::BadUtf8),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<Frame> {
        let mut s = LineSplitter::new();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, |f| out.push(f));
        }
        out
    }

    fn line(s: &str) -> Frame {
        Frame::Line(s.to_string())
    }

    #[test]
    fn splits_lines_across_reads_and_drops_cr_and_blank_lines() {
        let frames = split(&[b"SAY a hel", b"lo\r\n\n  \nPING\nQU", b"IT\n"]);
        assert_eq!(
            frames,
            vec![line("SAY a hello"), line("PING"), line("QUIT")]
        );
    }

    #[test]
    fn line_of_exactly_max_bytes_passes_and_one_more_is_too_long() {
        let ok = format!("SAY r {}\n", "x".repeat(MAX_LINE - 7));
        assert_eq!(ok.len(), MAX_LINE);
        assert!(matches!(&split(&[ok.as_bytes()])[..], [Frame::Line(_)]));
        let long = format!("SAY r {}\n", "x".repeat(MAX_LINE - 6));
        assert_eq!(split(&[long.as_bytes()]), vec![Frame::TooLong]);
        // With \r\n the \r counts towards the limit too.
        let crlf = format!("SAY r {}\r\n", "x".repeat(MAX_LINE - 7));
        assert_eq!(split(&[crlf.as_bytes()]), vec![Frame::TooLong]);
    }

    #[test]
    fn too_long_line_is_discarded_up_to_its_terminator_once() {
        let big = vec![b'a'; 5000];
        let frames = split(&[&big, &big, b"tail\nPING x\n"]);
        assert_eq!(frames, vec![Frame::TooLong, line("PING x")]);
    }

    #[test]
    fn bad_utf8_is_reported_and_the_next_line_survives() {
        let frames = split(&[b"SAY r \xff\xfe\nPING\n"]);
        assert_eq!(frames, vec![Frame::BadUtf8, line("PING")]);
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
            assert_eq!(parse_event(text), Ok(event.clone()), "{text}");
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
