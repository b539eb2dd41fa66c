//! The line client's logic, without I/O: what a typed line sends, what the
//! client remembers (its nick, rooms, current room), and how each server line
//! is shown to a person.

use crate::proto::chat1::{Event, Shift, parse_event};
use crate::proto::lines::MAX_LINE;
use crate::proto::refusal::ErrCode;
use crate::proto::text::{FORMATTING, is_forbidden};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// What the client knows of its own session.
#[derive(Debug, Default, Clone)]
pub struct View {
    pub nick: String,
    /// Rooms joined, in join order.
    pub rooms: Vec<String>,
    /// Where plain text goes: the room joined last or chosen with `/join`.
    pub current: Option<String>,
    /// Oldest history stamp seen per room (lower case), for `/history` paging.
    oldest: HashMap<String, u64>,
    /// Rooms (lower case) whose `JOIN` came and whose join page has not ended.
    joining: HashSet<String>,
    /// `HISTORY` lines of the page being read, per room (lower case).
    page_lines: HashMap<String, usize>,
    /// Rooms (lower case) with nothing older than what was shown: the join
    /// page was empty (all since was shown live), or a page before was.
    no_older: HashSet<String>,
    /// The nick last asked for without a password, until the server answers.
    nick_asked: Option<String>,
}

/// What the client adds to a server line from what it knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Shown after the line's own rendering, if any.
    Notice(String),
    /// Shown instead of the line: a refusal said in the client's own words.
    Refusal(ErrCode, String),
}

/// What to do with a typed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this protocol line.
    Send(String),
    /// Send `QUIT` with this line, then wait for `BYE`.
    Quit(String),
    /// Show this to the user; nothing is sent.
    Show(String),
    /// Send the file at `path` to `target` (a room, or `@nick`): the binary
    /// reads its size, sends [`upload_line`], and uploads it to the address
    /// the `OK UPLOAD` answer gives.
    SendFile { target: String, path: String },
}

/// The `UPLOAD` line that asks to send a file of `size` bytes called `name`
/// (its path's last part) to `target`.
pub fn upload_line(target: &str, size: u64, path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    format!(
        "UPLOAD {target} {size} {}",
        crate::proto::files::clean_name(name)
    )
}

/// Every command's usage and what it does, as `/help` lists them.
const COMMANDS: [(&str, &str); 32] = [
    (
        "/nick NAME [PASSWORD]",
        "change your nickname (a registered one needs its password)",
    ),
    (
        "/register PASSWORD",
        "register your current nickname, so only you can use it",
    ),
    (
        "/join ROOM [KEY]",
        "join (or create) a room and talk there; switches if already in it",
    ),
    ("/part [ROOM]", "leave a room (default: the current one)"),
    ("/w NICK TEXT", "whisper to one user"),
    ("/all TEXT", "broadcast to everyone connected"),
    ("/rooms", "list rooms"),
    ("/who [ROOM]", "list a room's members"),
    ("/users", "list connected users"),
    (
        "/kick NICK [TEXT]",
        "remove someone from the current room (owner only)",
    ),
    ("/delete [ROOM]", "delete a room (owner only)"),
    (
        "/topic [TEXT]",
        "set the current room's topic (no text: clear it)",
    ),
    ("/op NICK", "make a member an operator (operators only)"),
    ("/deop NICK", "take a member's operator role"),
    ("/voice NICK", "let a member speak in a moderated room"),
    ("/devoice NICK", "take a member's voice"),
    ("/mute WHO", "silence a nick or nick!user@host mask here"),
    ("/unmute WHO", "lift a mute"),
    ("/ban WHO", "ban a nick or nick!user@host mask from here"),
    ("/unban WHO", "lift a ban"),
    (
        "/except WHO",
        "exempt a nick or mask from bans here (/unexcept WHO)",
    ),
    (
        "/allow WHO",
        "let a nick or mask past invite-only here (/disallow WHO)",
    ),
    ("/invite NICK", "invite someone into the current room"),
    (
        "/set SETTING [VALUE]",
        "turn a room setting on: moderated, slow 30, key K...",
    ),
    ("/unset SETTING", "turn a room setting off"),
    (
        "/settings [ROOM]",
        "a room's topic, settings, roles, bans and mutes",
    ),
    (
        "/kill NICK [TEXT]",
        "disconnect a user (server admins only)",
    ),
    (
        "/history [ROOM]",
        "show older messages of a room, a page at a time",
    ),
    (
        "/send [@NICK] PATH",
        "send a file to the current room, or to one user",
    ),
    ("/raw LINE", "send a raw CHAT/1 line"),
    ("/quit [TEXT]", "leave"),
    ("/help", "this text"),
];

/// The `/help` text.
pub fn help() -> String {
    let mut text = String::from("commands:");
    for (usage, what) in COMMANDS {
        text.push_str(&format!("\n  {usage:<21} {what}"));
    }
    text.push_str("\nanything else is said in the current room");
    text
}

/// The usage of command `/name`, as `/help` shows it.
fn usage(name: &str) -> &'static str {
    COMMANDS
        .iter()
        .map(|(usage, _)| *usage)
        .find(|usage| usage.split(' ').next() == Some(&format!("/{name}")))
        .unwrap_or("/help")
}

/// What a command typed as `/verb` lacks, and the usage of `/name`.
fn missing(verb: &str, what: &str, name: &str) -> Action {
    Action::Show(format!("/{verb} needs {what}; usage: {}", usage(name)))
}

impl View {
    fn same(a: &str, b: &str) -> bool {
        a.eq_ignore_ascii_case(b)
    }

    fn forget_room(&mut self, room: &str) {
        self.rooms.retain(|r| !View::same(r, room));
        let key = room.to_ascii_lowercase();
        self.oldest.remove(&key);
        self.joining.remove(&key);
        self.page_lines.remove(&key);
        self.no_older.remove(&key);
        if self.current.as_deref().is_some_and(|c| View::same(c, room)) {
            self.current = self.rooms.last().cloned();
        }
    }

    /// Updates what the client knows from a server line; returns what it has
    /// to add to the line (an empty history page means nothing is older).
    pub fn observe(&mut self, line: &str) -> Option<Note> {
        let Ok(event) = parse_event(line) else {
            return None;
        };
        if let Event::Err { code, .. } = &event {
            // Any refusal answers the NICK asked for, or a line sent before it.
            if let (ErrCode::BadPassword, Some(nick)) = (code, self.nick_asked.take()) {
                return Some(Note::Refusal(
                    *code,
                    format!("{nick} is registered: log in with /nick {nick} PASSWORD"),
                ));
            }
        }
        match event {
            Event::Welcome { nick, .. } => self.nick = nick.to_string(),
            Event::Nick { old, new } if View::same(old, &self.nick) => {
                self.nick = new.to_string();
                self.nick_asked = None;
            }
            Event::Join { room, nick } if View::same(nick, &self.nick) => {
                if !self.rooms.iter().any(|r| View::same(r, room)) {
                    self.rooms.push(room.to_string());
                }
                self.current = Some(room.to_string());
                // Its MEMBERS, then a page of the latest history, follow.
                self.joining.insert(room.to_ascii_lowercase());
            }
            Event::Part { room, nick, .. } if View::same(nick, &self.nick) => {
                self.forget_room(room)
            }
            Event::Kicked { room, nick, .. } if View::same(nick, &self.nick) => {
                self.forget_room(room);
            }
            Event::Closed { room, .. } => self.forget_room(room),
            // A refused JOIN: talk where we really are, not in the room asked for.
            Event::Err {
                code:
                    ErrCode::BadKey
                    | ErrCode::BadName
                    | ErrCode::TooManyRooms
                    | ErrCode::Banned
                    | ErrCode::InviteOnly
                    | ErrCode::RoomFull,
                ..
            } => self.current = self.rooms.last().cloned(),
            Event::History { room, at, .. } => {
                let key = room.to_ascii_lowercase();
                *self.page_lines.entry(key.clone()).or_default() += 1;
                let oldest = self.oldest.entry(key).or_insert(at);
                *oldest = (*oldest).min(at);
            }
            Event::EndHistory { room } => {
                let key = room.to_ascii_lowercase();
                let joined = self.joining.remove(&key);
                if self.page_lines.remove(&key).unwrap_or(0) == 0 {
                    self.no_older.insert(key);
                    // An empty join page is the usual new room; an empty page
                    // asked for is the answer to /history.
                    if !joined {
                        return Some(Note::Notice(format!("no older messages in {room}")));
                    }
                }
            }
            _ => {}
        }
        None
    }

    /// Updates what the client knows from a server line ([`View::observe`])
    /// and says how to show it ([`render`]), with what the client adds.
    pub fn show(
        &mut self,
        line: &str,
        style: Style,
        clock: &dyn Fn(Option<u64>) -> String,
    ) -> Option<String> {
        // Whatever the server (Sala or not) sends, no control reaches the terminal.
        let line = &*printable(line);
        let note = self.observe(line);
        let shown = || render(line, style, clock);
        match note {
            None => shown(),
            Some(Note::Refusal(code, text)) => render(&format!("ERR {code} {text}"), style, clock),
            Some(Note::Notice(text)) => {
                let note = notice_line(style, &clock(None), &text);
                Some(match shown() {
                    Some(shown) => format!("{shown}\n{note}"),
                    None => note,
                })
            }
        }
    }

    /// Turns a typed line into an action.
    pub fn translate(&mut self, input: &str) -> Action {
        let input = input.trim_end_matches(['\r', '\n']);
        let (current, nick_asked) = (self.current.clone(), self.nick_asked.clone());
        match self.command(input) {
            Action::Send(line) | Action::Quit(line) if line.len() >= MAX_LINE => {
                // Nothing is sent, so nothing the line would have done is expected.
                (self.current, self.nick_asked) = (current, nick_asked);
                Action::Show(too_long(input, &line))
            }
            action => action,
        }
    }

    /// The action of a typed line, whatever its length.
    fn command(&mut self, input: &str) -> Action {
        let Some(command) = input.strip_prefix('/') else {
            return match &self.current {
                _ if input.trim().is_empty() => Action::Show(String::new()),
                Some(room) => Action::Send(format!("SAY {room} {input}")),
                None => Action::Show("you are in no room: /join ROOM first (or /help)".into()),
            };
        };
        let (verb, rest) = command.split_once(' ').unwrap_or((command, ""));
        let rest = rest.trim_start();
        let (first, tail) = rest.split_once(' ').unwrap_or((rest, ""));
        let room_or_current = |r: &str| -> Option<String> {
            if r.is_empty() {
                self.current.clone()
            } else {
                Some(r.to_string())
            }
        };
        let need_room = || Action::Show("which room? you are in none".into());
        match verb.to_ascii_lowercase().as_str() {
            "nick" if first.is_empty() => missing(verb, "a name", "nick"),
            "nick" => match tail.trim() {
                "" => {
                    self.nick_asked = Some(first.to_string());
                    Action::Send(format!("NICK {first}"))
                }
                password => match check_password(password) {
                    Ok(()) => {
                        self.nick_asked = None;
                        Action::Send(format!("NICK {first} {password}"))
                    }
                    Err(e) => Action::Show(format!("{e}; usage: {}", usage("nick"))),
                },
            },
            "register" if first.is_empty() => missing(verb, "a password", "register"),
            "register" => match check_password(rest.trim_end()) {
                Ok(()) => Action::Send(format!("REGISTER {first}")),
                Err(e) => Action::Show(format!("{e}; usage: {}", usage("register"))),
            },
            "join" if first.is_empty() => missing(verb, "a room", "join"),
            "join" => {
                if let Some(room) = self.rooms.iter().find(|r| View::same(r, first)).cloned() {
                    self.current = Some(room.clone());
                    return Action::Show(format!("now talking in {room}"));
                }
                // Plain text typed right after /join goes to the new room.
                self.current = Some(first.to_string());
                Action::Send(format!("JOIN {rest}"))
            }
            "part" => match room_or_current(first) {
                Some(room) => Action::Send(join_words(&["PART", &room, tail])),
                None => need_room(),
            },
            "w" | "msg" | "whisper" if first.is_empty() => missing(verb, "a nick and a text", "w"),
            "w" | "msg" | "whisper" if tail.trim().is_empty() => {
                missing(verb, "a text after the nick", "w")
            }
            "w" | "msg" | "whisper" => Action::Send(format!("WHISPER {first} {tail}")),
            "all" | "broadcast" if rest.trim().is_empty() => missing(verb, "a text", "all"),
            "all" | "broadcast" => Action::Send(format!("BROADCAST {rest}")),
            "rooms" | "list" => Action::Send("ROOMS".into()),
            "who" => match room_or_current(first) {
                Some(room) => Action::Send(format!("WHO {room}")),
                None => need_room(),
            },
            "users" => Action::Send("USERS".into()),
            "kick" if first.is_empty() => missing(verb, "a nick", "kick"),
            "kick" => match &self.current {
                Some(room) => Action::Send(join_words(&["KICK", room, first, tail])),
                None => need_room(),
            },
            "topic" => match &self.current {
                Some(room) => Action::Send(join_words(&["TOPIC", room, rest.trim()])),
                None => need_room(),
            },
            "op" | "deop" | "voice" | "devoice" | "invite" if first.is_empty() => {
                missing(verb, "a nick", &verb.to_ascii_lowercase())
            }
            "mute" | "unmute" | "ban" | "unban" | "except" | "allow" if first.is_empty() => {
                missing(verb, "a nick or a mask", &verb.to_ascii_lowercase())
            }
            "unexcept" if first.is_empty() => missing(verb, "a nick or a mask", "except"),
            "disallow" if first.is_empty() => missing(verb, "a nick or a mask", "allow"),
            "op" | "deop" | "voice" | "devoice" | "invite" | "mute" | "unmute" | "ban"
            | "unban" | "except" | "unexcept" | "allow" | "disallow" => match &self.current {
                Some(room) => {
                    let upper = verb.to_ascii_uppercase();
                    Action::Send(format!("{upper} {room} {first}"))
                }
                None => need_room(),
            },
            "set" | "unset" if first.is_empty() => {
                missing(verb, "a setting", &verb.to_ascii_lowercase())
            }
            "set" | "unset" => match &self.current {
                Some(room) => {
                    let upper = verb.to_ascii_uppercase();
                    Action::Send(join_words(&[&upper, room, first, tail.trim()]))
                }
                None => need_room(),
            },
            "settings" => match room_or_current(first) {
                Some(room) => Action::Send(format!("SETTINGS {room}")),
                None => need_room(),
            },
            "kill" if first.is_empty() => missing(verb, "a nick", "kill"),
            "kill" => Action::Send(join_words(&["KILL", first, tail])),
            "delete" => match room_or_current(first) {
                Some(room) => Action::Send(format!("DELETE {room}")),
                None => need_room(),
            },
            "history" => match room_or_current(first) {
                // Nothing to ask for: saying it again would only repeat what
                // was shown live (or an empty page).
                Some(room) if self.no_older.contains(&room.to_ascii_lowercase()) => {
                    Action::Show(format!("no older messages in {room}"))
                }
                Some(room) => match self.oldest.get(&room.to_ascii_lowercase()) {
                    Some(at) => Action::Send(format!("HISTORY {room} {at}")),
                    None => Action::Send(format!("HISTORY {room}")),
                },
                None => need_room(),
            },
            "send" if first.is_empty() => missing(verb, "a file", "send"),
            "send" => match (first.strip_prefix('@'), &self.current) {
                (Some(_), _) if tail.trim().is_empty() => {
                    missing(verb, "a file after the nick", "send")
                }
                (Some(_), _) => Action::SendFile {
                    target: first.to_string(),
                    path: tail.trim().to_string(),
                },
                (None, Some(room)) => Action::SendFile {
                    target: room.clone(),
                    path: rest.trim().to_string(),
                },
                (None, None) => need_room(),
            },
            "raw" if rest.is_empty() => missing(verb, "a protocol line", "raw"),
            "raw" => {
                // It may be a NICK: no hint of ours for its answer.
                self.nick_asked = None;
                Action::Send(rest.to_string())
            }
            "quit" | "exit" => Action::Quit(join_words(&["QUIT", rest])),
            "help" | "?" => Action::Show(help()),
            _ => Action::Show(format!("unknown command /{verb}: try /help")),
        }
    }
}

/// Checks that `password` can be sent as one: the protocol's password is one
/// word, and the server refuses more rather than keeping the first (nobody
/// should register `my` believing they registered `my long phrase`).
///
/// # Errors
/// What is wrong, for the user; it never repeats the password.
pub fn check_password(password: &str) -> Result<(), String> {
    if password.is_empty() {
        return Err("a password cannot be empty".into());
    }
    let words = password.split(' ').filter(|w| !w.is_empty()).count();
    if words > 1 {
        return Err(format!(
            "a password is one word, without spaces (that one is {words} words): nothing was sent"
        ));
    }
    Ok(())
}

/// Says how much of `typed` fits in a line once the client has made `line`
/// of it (`line` being too long). The text typed ends both, so what must go
/// is the same number of bytes at the end of each.
fn too_long(typed: &str, line: &str) -> String {
    let max = MAX_LINE - 1; // the `\n` counts
    let fits = typed.len().saturating_sub(line.len() - max);
    let same: usize = typed
        .chars()
        .rev()
        .zip(line.chars().rev())
        .take_while(|(a, b)| a == b)
        .map(|(c, _)| c.len_utf8())
        .sum();
    let (yours, sent) = (&typed[..typed.len() - same], &line[..line.len() - same]);
    let how = match (yours.is_empty(), sent.is_empty()) {
        (true, _) => format!("`{sent}` goes in front"),
        (false, true) => format!("`{yours}` is left out"),
        (false, false) => format!("`{yours}` becomes `{sent}`"),
    };
    format!(
        "too long, nothing was sent: {} bytes typed, {fits} fit (a line holds {max} bytes, and {how})",
        typed.len()
    )
}

fn join_words(words: &[&str]) -> String {
    words
        .iter()
        .filter(|w| !w.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A server line as the terminal may get it: IRC's formatting codes (and a
/// colour's digits) dropped, every other control character (C0, DEL, C1,
/// U+2028, U+2029) written as an escape `\u{1b}`, so that no line from any
/// server can move the cursor, clear the screen or set the window title.
pub fn printable(line: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || is_forbidden(c);
    if !line.chars().any(unsafe_char) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{03}' {
            // Colour: up to two digits, then optionally a comma and two more.
            for _ in 0..2 {
                chars.next_if(char::is_ascii_digit);
            }
            let mut ahead = chars.clone();
            if ahead.next() == Some(',') && ahead.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
                for _ in 0..2 {
                    chars.next_if(char::is_ascii_digit);
                }
            }
        } else if FORMATTING.contains(&c) {
        } else if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// How to decorate output: ANSI colours on a terminal, plain text elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Colour,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        match self {
            Style::Plain => text.to_string(),
            Style::Colour => format!("\x1b[{code}m{text}\x1b[0m"),
        }
    }
}

/// A notice line: dimmed, after the time.
fn notice_line(style: Style, now: &str, text: &str) -> String {
    style.paint("2", &format!("{now} -- {text}"))
}

/// How a server line is shown; `None` for lines that only end a list.
/// `clock` renders a unix-ms stamp (or now, for `None`) as a time of day.
pub fn render(line: &str, style: Style, clock: &dyn Fn(Option<u64>) -> String) -> Option<String> {
    let line = &*printable(line);
    let Ok(event) = parse_event(line) else {
        return Some(line.to_string());
    };
    let now = clock(None);
    let notice = |text: String| Some(notice_line(style, &now, &text));
    let with_text = |t: Option<&str>| t.map(|t| format!(" ({t})")).unwrap_or_default();
    match event {
        Event::Welcome { nick, text } => notice(format!("connected as {nick}. {text}")),
        Event::Nick { old, new } => notice(format!("{old} is now known as {new}")),
        Event::Join { room, nick } => notice(format!("{nick} joined {room}")),
        Event::Part { room, nick, text } => {
            notice(format!("{nick} left {room}{}", with_text(text)))
        }
        Event::Msg { room, nick, text } => {
            Some(format!("{now} [{room}] {}: {text}", style.paint("1", nick)))
        }
        Event::Whisper { from, to, text } => {
            Some(style.paint("35", &format!("{now} *{from} -> {to}* {text}")))
        }
        Event::Broadcast { from, text } => {
            Some(style.paint("33;1", &format!("{now} [everyone] {from}: {text}")))
        }
        Event::History {
            room,
            at,
            nick,
            text,
        } => Some(style.paint("2", &format!("{} [{room}] {nick}: {text}", clock(Some(at))))),
        Event::EndHistory { .. } | Event::EndMembers { .. } | Event::EndUsers => None,
        Event::Offline { at, from, text } => Some(style.paint(
            "35",
            &format!("{} *{from} (while you were away)* {text}", clock(Some(at))),
        )),
        Event::EndOffline => None,
        Event::Members { room, nicks } => notice(format!("in {room}: {}", nicks.join(" "))),
        Event::Room {
            room,
            members,
            owner,
        } => Some(format!(
            "   {room:<20} {members:>5} members   owner {owner}"
        )),
        Event::EndRooms => notice("end of room list".into()),
        Event::Users { nicks } => notice(format!("online: {}", nicks.join(" "))),
        Event::Kicked {
            room,
            nick,
            by,
            text,
        } => notice(format!(
            "{nick} was kicked from {room} by {by}{}",
            with_text(text)
        )),
        Event::Closed { room, by } => notice(format!("{room} was deleted by {by}")),
        Event::Quit { nick, text } => notice(format!("{nick} quit{}", with_text(text))),
        Event::Pong { token } => notice(format!("pong {}", token.unwrap_or(""))),
        Event::Ok { verb, detail } => notice(format!("ok: {verb} {}", detail.unwrap_or(""))),
        Event::Err { code, text } => Some(style.paint("31", &format!("{now} !! {code}: {text}"))),
        Event::Bye { text } => notice(format!("server says goodbye: {text}")),
        Event::Topic {
            room,
            by,
            at,
            text: Some(text),
        } => notice(format!(
            "topic of {room}: {text} (set by {by}, {})",
            clock(Some(at))
        )),
        Event::Topic {
            room,
            by,
            text: None,
            ..
        } => notice(format!("{by} cleared the topic of {room}")),
        Event::Change { room, by, shift } => notice(describe_shift(room, by, &shift)),
        Event::Changes { room, by, shifts } => notice(
            shifts
                .iter()
                .map(|s| describe_shift(room, by, s))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Event::Setting {
            room,
            setting,
            value,
        } => notice(format!(
            "{room}: {setting}{}",
            value.map(|v| format!(" {v}")).unwrap_or_default()
        )),
        Event::Role { room, nick, role } => notice(format!("{room}: {nick} is {role}")),
        Event::Listed {
            list,
            room,
            mask,
            by,
            at,
        } => notice(format!(
            "{room}: {} {mask} (by {by}, {})",
            list.to_ascii_lowercase(),
            clock(Some(at))
        )),
        Event::EndSettings { .. } => None,
        Event::Invited { room, nick, by } => {
            notice(format!("{by} invited {nick} to {room} (/join {room})"))
        }
    }
}

/// One change of a room's moderation, in words.
fn describe_shift(room: &str, by: &str, shift: &Shift<'_>) -> String {
    match *shift {
        Shift::Flag { name, on: true } => format!("{by} turned {name} on in {room}"),
        Shift::Flag { name, on: false } => format!("{by} turned {name} off in {room}"),
        Shift::Value {
            name,
            value: Some(v),
        } => format!("{by} set {name} of {room} to {v}"),
        Shift::Value { name, value: None } => format!("{by} turned {name} off in {room}"),
        Shift::Key { on: true, .. } => format!("{by} set a key on {room}"),
        Shift::Key { on: false, .. } => format!("{by} removed the key of {room}"),
        Shift::Role { role, nick, on } => format!(
            "{by} {} {nick} {} {room}",
            if on { "made" } else { "no longer lets" },
            match (role, on) {
                ("op", true) => "an operator of",
                ("op", false) => "be an operator of",
                (_, true) => "a voiced member of",
                (_, false) => "speak as a voiced member of",
            }
        ),
        Shift::List { list, mask, on } => format!(
            "{by} {} {mask} in {room}",
            match (list, on) {
                ("ban", true) => "banned",
                ("ban", false) => "lifted the ban on",
                ("except", true) => "exempted from bans",
                ("except", false) => "no longer exempts from bans",
                ("allow", true) => "lets in without invitation",
                ("allow", false) => "no longer lets in without invitation",
                (_, true) => "muted",
                (_, false) => "unmuted",
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view_in(room: &str) -> View {
        let mut v = View::default();
        v.observe("WELCOME guest1 hi");
        v.observe("NICK guest1 ana");
        v.observe(&format!("JOIN {room} ana"));
        v
    }

    #[test]
    fn tracks_nick_rooms_and_current_room() {
        let mut v = view_in("lobby");
        assert_eq!(v.nick, "ana");
        v.observe("JOIN games ana");
        v.observe("JOIN games bob");
        assert_eq!(v.rooms, vec!["lobby", "games"]);
        assert_eq!(v.current.as_deref(), Some("games"));
        v.observe("KICKED games ana bob");
        assert_eq!(v.current.as_deref(), Some("lobby"));
        v.observe("CLOSED lobby ana");
        assert_eq!(v.current, None);
        // A JOIN refused by the room's bans, invite-only or limit.
        let mut v = view_in("lobby");
        for code in ["BANNED", "INVITE_ONLY", "ROOM_FULL"] {
            assert!(matches!(v.translate("/join class"), Action::Send(_)));
            assert_eq!(v.current.as_deref(), Some("class"));
            v.observe(&format!("ERR {code} not for you"));
            assert_eq!(v.current.as_deref(), Some("lobby"), "{code}");
        }
    }

    #[test]
    fn plain_text_goes_to_the_current_room() {
        let mut v = view_in("lobby");
        assert_eq!(
            v.translate("hello there"),
            Action::Send("SAY lobby hello there".into())
        );
        let mut lost = View::default();
        assert!(matches!(lost.translate("hello"), Action::Show(_)));
    }

    #[test]
    fn slash_commands_become_protocol_lines() {
        let mut v = view_in("lobby");
        let sent = |v: &mut View, s: &str| match v.translate(s) {
            Action::Send(l) | Action::Quit(l) => l,
            Action::Show(s) => panic!("not sent: {s}"),
            other => panic!("not a line: {other:?}"),
        };
        assert_eq!(sent(&mut v, "/nick bob"), "NICK bob");
        assert_eq!(sent(&mut v, "/nick bob pw"), "NICK bob pw");
        assert_eq!(sent(&mut v, "/register pw"), "REGISTER pw");
        assert_eq!(sent(&mut v, "/w bob psst hey"), "WHISPER bob psst hey");
        assert_eq!(sent(&mut v, "/all hi all"), "BROADCAST hi all");
        assert_eq!(sent(&mut v, "/rooms"), "ROOMS");
        assert_eq!(sent(&mut v, "/who"), "WHO lobby");
        assert_eq!(sent(&mut v, "/who games"), "WHO games");
        assert_eq!(sent(&mut v, "/users"), "USERS");
        assert_eq!(sent(&mut v, "/kick bob go"), "KICK lobby bob go");
        assert_eq!(
            sent(&mut v, "/topic Fractions, ch 3"),
            "TOPIC lobby Fractions, ch 3"
        );
        assert_eq!(sent(&mut v, "/topic"), "TOPIC lobby");
        for verb in ["op", "deop", "voice", "devoice", "invite"] {
            let upper = verb.to_ascii_uppercase();
            assert_eq!(
                sent(&mut v, &format!("/{verb} bob")),
                format!("{upper} lobby bob")
            );
        }
        for verb in [
            "mute", "unmute", "ban", "unban", "except", "unexcept", "allow", "disallow",
        ] {
            let upper = verb.to_ascii_uppercase();
            let line = sent(&mut v, &format!("/{verb} *!*@10.0.0.7"));
            assert_eq!(line, format!("{upper} lobby *!*@10.0.0.7"));
        }
        assert_eq!(sent(&mut v, "/set slow 30"), "SET lobby slow 30");
        assert_eq!(sent(&mut v, "/set moderated"), "SET lobby moderated");
        assert_eq!(sent(&mut v, "/unset key"), "UNSET lobby key");
        assert_eq!(sent(&mut v, "/settings"), "SETTINGS lobby");
        assert_eq!(sent(&mut v, "/settings games"), "SETTINGS games");
        assert_eq!(sent(&mut v, "/kill bob flooding"), "KILL bob flooding");
        assert_eq!(sent(&mut v, "/part"), "PART lobby");
        assert_eq!(sent(&mut v, "/delete"), "DELETE lobby");
        assert_eq!(sent(&mut v, "/raw PING x"), "PING x");
        assert_eq!(sent(&mut v, "/quit bye"), "QUIT bye");
        assert_eq!(sent(&mut v, "/quit"), "QUIT");
        assert_eq!(sent(&mut v, "/history"), "HISTORY lobby");
        assert_eq!(
            v.translate("/send /tmp/a b.png"),
            Action::SendFile {
                target: "lobby".into(),
                path: "/tmp/a b.png".into()
            }
        );
        assert_eq!(
            v.translate("/send @bob notes.txt"),
            Action::SendFile {
                target: "@bob".into(),
                path: "notes.txt".into()
            }
        );
        assert!(matches!(v.translate("/send"), Action::Show(_)));
        assert_eq!(
            upload_line("lobby", 3, "/tmp/a\tb.png"),
            "UPLOAD lobby 3 a_b.png"
        );
        v.observe("HISTORY lobby 500 bob old");
        v.observe("HISTORY lobby 400 bob older");
        assert_eq!(sent(&mut v, "/history"), "HISTORY lobby 400");
        assert_eq!(sent(&mut v, "/join games key"), "JOIN games key");
        assert_eq!(v.current.as_deref(), Some("games"));
        // Joining a room already joined only switches to it.
        assert!(matches!(v.translate("/join LOBBY"), Action::Show(_)));
        assert_eq!(v.current.as_deref(), Some("lobby"));
        assert!(matches!(v.translate("/w bob"), Action::Show(_)));
        // A refused join leaves plain text going where we really are.
        assert!(matches!(v.translate("/join vault"), Action::Send(_)));
        v.observe("ERR BAD_KEY vault is locked");
        assert_eq!(v.current.as_deref(), Some("lobby"));
        assert!(matches!(v.translate("/frob"), Action::Show(_)));
    }

    #[test]
    fn a_password_of_several_words_is_refused_not_cut() {
        let mut v = view_in("lobby");
        for typed in ["/register two words", "/nick ana my long phrase"] {
            match v.translate(typed) {
                Action::Show(s) => assert!(s.contains("one word"), "{typed}: {s}"),
                other => panic!("{typed} must send nothing, got {other:?}"),
            }
        }
        // One word, even with spaces around it, is a password.
        assert_eq!(
            v.translate("/register  s3cret "),
            Action::Send("REGISTER s3cret".into())
        );
        assert_eq!(
            v.translate("/nick ana s3cret"),
            Action::Send("NICK ana s3cret".into())
        );
        assert!(check_password("s3cret").is_ok());
        assert!(check_password("two words").is_err());
        assert!(check_password("").is_err());
    }

    #[test]
    fn history_pages_back_and_says_when_nothing_is_older() {
        let clock = |_: Option<u64>| "12:00".to_string();
        let mut v = view_in("den");
        // A room just created: its join page is empty, what follows was live.
        v.observe("MEMBERS den ana");
        v.observe("END MEMBERS den");
        assert_eq!(v.show("END HISTORY den", Style::Plain, &clock), None);
        v.observe("MSG den ana hello");
        assert_eq!(
            v.translate("/history"),
            Action::Show("no older messages in den".into())
        );
        // A room with history: page back from the oldest stamp held, and say
        // so when the page before it is empty.
        v.observe("JOIN lobby ana");
        v.observe("HISTORY lobby 500 bob old");
        v.observe("END HISTORY lobby");
        assert_eq!(
            v.translate("/history lobby"),
            Action::Send("HISTORY lobby 500".into())
        );
        assert_eq!(
            v.show("END HISTORY lobby", Style::Plain, &clock).as_deref(),
            Some("12:00 -- no older messages in lobby")
        );
        assert_eq!(
            v.translate("/history lobby"),
            Action::Show("no older messages in lobby".into())
        );
        // Leaving forgets it all; a room never joined is asked for.
        v.observe("PART lobby ana");
        assert_eq!(
            v.translate("/history lobby"),
            Action::Send("HISTORY lobby".into())
        );
    }

    #[test]
    fn incomplete_commands_say_what_is_missing_and_their_usage() {
        let mut v = view_in("lobby");
        let shown = |v: &mut View, s: &str| match v.translate(s) {
            Action::Show(s) => s,
            other => panic!("{s} must send nothing, got {other:?}"),
        };
        for (typed, want) in [
            ("/w", "/w needs a nick and a text; usage: /w NICK TEXT"),
            (
                "/msg bob",
                "/msg needs a text after the nick; usage: /w NICK TEXT",
            ),
            ("/nick", "/nick needs a name; usage: /nick NAME [PASSWORD]"),
            ("/join ", "/join needs a room; usage: /join ROOM [KEY]"),
            (
                "/register",
                "/register needs a password; usage: /register PASSWORD",
            ),
            ("/kick", "/kick needs a nick; usage: /kick NICK [TEXT]"),
            ("/all", "/all needs a text; usage: /all TEXT"),
            ("/op", "/op needs a nick; usage: /op NICK"),
            ("/ban", "/ban needs a nick or a mask; usage: /ban WHO"),
            (
                "/disallow",
                "/disallow needs a nick or a mask; usage: /allow WHO",
            ),
            ("/set", "/set needs a setting; usage: /set SETTING [VALUE]"),
            ("/kill", "/kill needs a nick; usage: /kill NICK [TEXT]"),
            ("/frob", "unknown command /frob: try /help"),
        ] {
            assert_eq!(shown(&mut v, typed), want);
        }
        assert!(shown(&mut v, "/help").contains("  /w NICK TEXT "));
    }

    #[test]
    fn a_registered_nick_without_password_gets_the_clients_own_hint() {
        let clock = |_: Option<u64>| "12:00".to_string();
        let mut v = view_in("lobby");
        assert_eq!(v.translate("/nick carl"), Action::Send("NICK carl".into()));
        assert_eq!(
            v.show(
                "ERR BAD_PASSWORD carl is registered: NICK carl <password>",
                Style::Plain,
                &clock
            )
            .as_deref(),
            Some("12:00 !! BAD_PASSWORD: carl is registered: log in with /nick carl PASSWORD")
        );
        // A wrong password is the server's to explain.
        v.translate("/nick carl nope");
        assert_eq!(
            v.show(
                "ERR BAD_PASSWORD wrong password for carl",
                Style::Plain,
                &clock
            )
            .as_deref(),
            Some("12:00 !! BAD_PASSWORD: wrong password for carl")
        );
    }

    #[test]
    fn a_line_too_long_says_how_much_of_what_was_typed_fits() {
        let mut v = view_in("lobby");
        // 2047 bytes a line, `SAY lobby ` (10) included: 2037 of the text.
        let fits = "x".repeat(2037);
        assert_eq!(
            v.translate(&fits),
            Action::Send(format!("SAY lobby {fits}"))
        );
        match v.translate(&"x".repeat(2100)) {
            Action::Show(s) => assert!(
                s.contains("2100 bytes typed, 2037 fit") && s.contains("`SAY lobby `"),
                "{s}"
            ),
            other => panic!("sent {} bytes", format!("{other:?}").len()),
        }
        // A command: "/w bob " becomes "WHISPER bob ", 5 bytes more.
        match v.translate(&format!("/w bob {}", "x".repeat(2040))) {
            Action::Show(s) => assert!(s.contains("2047 bytes typed, 2042 fit"), "{s}"),
            other => panic!("sent {} bytes", format!("{other:?}").len()),
        }
        // Nothing happened: plain text still goes to lobby.
        assert!(matches!(
            v.translate(&format!("/join {}", "r".repeat(2100))),
            Action::Show(_)
        ));
        assert_eq!(v.current.as_deref(), Some("lobby"));
    }

    #[test]
    fn no_control_character_from_a_server_reaches_the_terminal() {
        let clock = |_: Option<u64>| "12:00".to_string();
        let mut v = view_in("lobby");
        for line in [
            "MSG lobby ana \u{1b}[2J\u{1b}]0;owned\u{7}",
            "MSG lob\u{1b}by an\u{9b}a hi\rthere\u{0}",
            "ERR NO_SUCH_ROOM there is no room \u{1b}[31m",
            "QUIT ana bye\u{85}\u{2028}\u{2029}\u{7f}",
            "FROB \u{1b}c not even CHAT/1",
            "MEMBERS lobby a\u{1b}b c",
        ] {
            for style in [Style::Plain, Style::Colour] {
                let shown = v.show(line, style, &clock).unwrap_or_default();
                // The client's own colours are the only escapes it prints.
                let mut rest = shown.clone();
                for code in ["0", "1", "2", "31", "33;1", "35"] {
                    rest = rest.replace(&format!("\u{1b}[{code}m"), "");
                }
                let raw = rest.chars().any(|c| c.is_control() || is_forbidden(c));
                assert!(!raw, "{line:?} -> {shown:?}");
            }
        }
        let shown = render("MSG lobby ana \u{1b}[2J", Style::Plain, &clock).unwrap();
        assert_eq!(shown, "12:00 [lobby] ana: \\u{1b}[2J");
        // IRC formatting is dropped, colour digits with it; the text stays.
        assert_eq!(
            printable("\u{2}bold\u{2} \u{3}4,12red\u{3} \u{3}9green \u{1d}it\u{f}"),
            "bold red green it"
        );
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn renders_for_people() {
        let clock = |_: Option<u64>| "12:00".to_string();
        let show = |l: &str| render(l, Style::Plain, &clock);
        assert_eq!(show("MSG lobby ana hi").unwrap(), "12:00 [lobby] ana: hi");
        assert_eq!(
            show("WHISPER ana bob psst").unwrap(),
            "12:00 *ana -> bob* psst"
        );
        assert_eq!(
            show("BROADCAST ana hey").unwrap(),
            "12:00 [everyone] ana: hey"
        );
        assert_eq!(show("JOIN lobby bob").unwrap(), "12:00 -- bob joined lobby");
        assert_eq!(
            show("ERR NO_SUCH_ROOM no room x").unwrap(),
            "12:00 !! NO_SUCH_ROOM: no room x"
        );
        assert_eq!(show("END MEMBERS lobby"), None);
        assert_eq!(show("something odd").unwrap(), "something odd");
        let coloured = render("ERR BAD_NAME x", Style::Colour, &clock).unwrap();
        assert!(coloured.starts_with("\x1b[31m"));
    }

    #[test]
    fn renders_moderation_events_in_words() {
        let clock = |at: Option<u64>| at.map_or("12:00".into(), |ms| format!("t{ms}"));
        let show = |l: &str| render(l, Style::Plain, &clock).unwrap_or_default();
        for (line, want) in [
            (
                "TOPIC den ana 5 Fractions, ch 3",
                "12:00 -- topic of den: Fractions, ch 3 (set by ana, t5)",
            ),
            ("TOPIC den ana 5", "12:00 -- ana cleared the topic of den"),
            (
                "SET den moderated ana",
                "12:00 -- ana turned moderated on in den",
            ),
            ("SET den slow ana 30", "12:00 -- ana set slow of den to 30"),
            ("SET den key ana", "12:00 -- ana set a key on den"),
            ("UNSET den slow ana", "12:00 -- ana turned slow off in den"),
            ("SETTING den limit 25", "12:00 -- den: limit 25"),
            ("SETTING den secret", "12:00 -- den: secret"),
            ("ROLE den bob op", "12:00 -- den: bob is op"),
            (
                "BAN den *!*@10.0.0.7 ana 9",
                "12:00 -- den: ban *!*@10.0.0.7 (by ana, t9)",
            ),
            (
                "MUTE den bob!*@* ana 9",
                "12:00 -- den: mute bob!*@* (by ana, t9)",
            ),
            (
                "OPPED den bob ana",
                "12:00 -- ana made bob an operator of den",
            ),
            (
                "VOICED den bob ana",
                "12:00 -- ana made bob a voiced member of den",
            ),
            ("MUTED den bob!*@* ana", "12:00 -- ana muted bob!*@* in den"),
            (
                "UNBANNED den x!*@* ana",
                "12:00 -- ana lifted the ban on x!*@* in den",
            ),
            (
                "INVITED den carl ana",
                "12:00 -- ana invited carl to den (/join den)",
            ),
        ] {
            assert_eq!(show(line), want, "{line}");
        }
        assert_eq!(show("END SETTINGS den"), "");
        assert_eq!(show("OPPED den"), "OPPED den");
    }
}
