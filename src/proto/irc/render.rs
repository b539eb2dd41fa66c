//! IRC server lines, pure: events, numerics and replies rendered as IRC
//! lines of at most 512 bytes.

use super::parse::channel;
use crate::proto::chat1::Event;
use crate::proto::command::{Command, Query};
use crate::proto::lines::clip;
use crate::proto::refusal::{ErrCode, Reason, Refusal};
use crate::proto::text::visible;

/// Appends `:prefix COMMAND p1 p2 :last\r\n`; the last parameter is written
/// as trailing (with `:`) when `trailing` is set. A character the text rule
/// forbids becomes U+FFFD ([`visible`]), so that no line breaks whatever it echoes.
pub fn put(
    out: &mut Vec<u8>,
    prefix: &str,
    command: &str,
    params: &[&str],
    trailing: Option<&str>,
) {
    let start = out.len();
    out.push(b':');
    out.extend_from_slice(visible(prefix).as_bytes());
    out.push(b' ');
    out.extend_from_slice(visible(command).as_bytes());
    for p in params {
        out.push(b' ');
        out.extend_from_slice(visible(p).as_bytes());
    }
    if let Some(t) = trailing {
        out.extend_from_slice(b" :");
        // An IRC line is at most 512 bytes with its CRLF: a longer text is cut.
        let room = MAX_IRC_LINE.saturating_sub(out.len() - start + 2);
        out.extend_from_slice(clip(&visible(t), room).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// Longest line an IRC client must accept, CRLF included (RFC 2812, 2.3).
pub const MAX_IRC_LINE: usize = 512;

/// Writes a message text (`PRIVMSG`/`NOTICE`) as as many lines as it takes
/// to keep each within [`MAX_IRC_LINE`]: a CHAT/1 text may be four times as
/// long. Pieces end at a space where one is near, else at a character boundary.
pub fn put_text(out: &mut Vec<u8>, prefix: &str, command: &str, params: &[&str], text: &str) {
    let head = 1
        + prefix.len()
        + 1
        + command.len()
        + params.iter().map(|p| 1 + p.len()).sum::<usize>()
        + 2;
    let room = MAX_IRC_LINE.saturating_sub(head + 2).max(64);
    let mut rest = text;
    loop {
        let mut piece = clip(rest, room);
        if piece.len() < rest.len()
            && let Some(space) = piece.rfind(' ')
            && space >= piece.len() * 3 / 4
        {
            piece = &piece[..=space];
        }
        put(out, prefix, command, params, Some(piece));
        rest = &rest[piece.len()..];
        if rest.is_empty() {
            break;
        }
    }
}

/// IRC lines being written for one client, and the name of the server that
/// writes them: the prefix of numerics and of the server's own lines
/// (`--server-name`).
#[derive(Debug)]
pub struct Out<'a> {
    pub server: &'a str,
    pub bytes: &'a mut Vec<u8>,
}

impl<'a> Out<'a> {
    /// Lines from server `server`, appended to `bytes`.
    pub fn new(server: &'a str, bytes: &'a mut Vec<u8>) -> Out<'a> {
        Out { server, bytes }
    }

    /// Appends `:server COMMAND params... [:trailing]`.
    pub fn put(&mut self, command: &str, params: &[&str], trailing: Option<&str>) {
        put(self.bytes, self.server, command, params, trailing);
    }
}

/// Where a user's lines come from: the `user` and `host` of its
/// `nick!user@host` prefix (the nick is the event's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source<'a> {
    /// The username `USER` gave (for a CHAT/1 user, its nick).
    pub user: &'a str,
    /// The host shown for every user: the server's name.
    pub host: &'a str,
}

/// The `nick!user@host` prefix of a user.
pub fn mask(nick: &str, from: &Source<'_>) -> String {
    format!("{nick}!{}@{}", from.user, from.host)
}

/// The nick whose `nick!user@host` prefixes event `event` on IRC, if any.
pub fn source_nick<'a>(event: &Event<'a>) -> Option<&'a str> {
    match *event {
        Event::Join { nick, .. }
        | Event::Part { nick, .. }
        | Event::Msg { nick, .. }
        | Event::Quit { nick, .. } => Some(nick),
        Event::Whisper { from, .. } | Event::Broadcast { from, .. } => Some(from),
        Event::Nick { old, .. } => Some(old),
        Event::Kicked { by, .. }
        | Event::Topic { by, .. }
        | Event::Change { by, .. }
        | Event::Changes { by, .. }
        | Event::Invited { by, .. } => Some(by),
        _ => None,
    }
}

/// Appends a numeric reply to `me`.
pub fn put_numeric(out: &mut Out<'_>, code: u16, me: &str, params: &[&str], text: &str) {
    let code = format!("{code:03}");
    let mut all = Vec::with_capacity(params.len() + 1);
    all.push(me);
    all.extend_from_slice(params);
    out.put(&code, &all, Some(text));
}

/// Renders an event that reads the same for every IRC recipient, from the
/// user `from` says; `None` for the events that are rendered per recipient
/// or not shown on IRC.
pub fn render_shared(event: &Event<'_>, from: &Source<'_>) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(96);
    let mask = |nick: &str| mask(nick, from);
    match *event {
        Event::Join { room, nick } => put(&mut out, &mask(nick), "JOIN", &[&channel(room)], None),
        Event::Part { room, nick, text } => {
            put(&mut out, &mask(nick), "PART", &[&channel(room)], text);
        }
        Event::Msg { room, nick, text } => {
            put_text(&mut out, &mask(nick), "PRIVMSG", &[&channel(room)], text);
        }
        Event::Whisper { from, to, text } => {
            put_text(&mut out, &mask(from), "PRIVMSG", &[to], text);
        }
        Event::Broadcast { from, text } => {
            put_text(&mut out, &mask(from), "NOTICE", &["$*"], text);
        }
        Event::Nick { old, new } => put(&mut out, &mask(old), "NICK", &[], Some(new)),
        Event::Quit { nick, text } => {
            put(
                &mut out,
                &mask(nick),
                "QUIT",
                &[],
                Some(text.unwrap_or("Quit")),
            );
        }
        Event::Kicked {
            room,
            nick,
            by,
            text,
        } => put(
            &mut out,
            &mask(by),
            "KICK",
            &[&channel(room), nick],
            Some(text.unwrap_or(by)),
        ),
        Event::Bye { text } => {
            let text = visible(text);
            out.extend_from_slice(format!("ERROR :Closing link: {text}\r\n").as_bytes());
        }
        Event::Topic { room, by, text, .. } => put(
            &mut out,
            &mask(by),
            "TOPIC",
            &[&channel(room)],
            Some(text.unwrap_or("")),
        ),
        Event::Change { room, by, shift } => mode_line(&mut out, &mask(by), room, &[shift]),
        Event::Changes { room, by, shifts } => mode_line(&mut out, &mask(by), room, shifts),
        Event::Invited { room, nick, by } => {
            put(&mut out, &mask(by), "INVITE", &[nick, &channel(room)], None);
        }
        _ => return None,
    }
    Some(out)
}

/// `:by MODE #room +ov bob carl`, in as many lines as needed (12 parameters each).
fn mode_line(out: &mut Vec<u8>, by: &str, room: &str, shifts: &[crate::proto::chat1::Shift<'_>]) {
    let chan = channel(room);
    for part in shifts.chunks(12) {
        let (modes, params) = super::modes::write(part);
        let mut all: Vec<&str> = vec![&chan, &modes];
        all.extend(params.iter().map(String::as_str));
        put(out, by, "MODE", &all, None);
    }
}

/// Renders a message event as a `NOTICE` (what came as one from an IRC
/// client); other events as [`render_shared`] does.
pub fn render_notice(event: &Event<'_>, from: &Source<'_>) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(96);
    let mask = |nick: &str| mask(nick, from);
    match *event {
        Event::Msg { room, nick, text } => {
            put_text(&mut out, &mask(nick), "NOTICE", &[&channel(room)], text);
        }
        Event::Whisper { from, to, text } => {
            put_text(&mut out, &mask(from), "NOTICE", &[to], text);
        }
        _ => return render_shared(event, from),
    }
    Some(out)
}

/// Renders, for IRC recipient `me`, an event of a reply to `me` alone. The
/// users it names are shown with their nick as username.
pub fn render_for(event: &Event<'_>, me: &str, out: &mut Out<'_>) {
    let server = out.server;
    let mask = |nick: &str| {
        let from = Source {
            user: nick,
            host: server,
        };
        mask(nick, &from)
    };
    let from = Source {
        user: source_nick(event).unwrap_or_default(),
        host: server,
    };
    if let Some(line) = render_shared(event, &from) {
        out.bytes.extend_from_slice(&line);
        return;
    }
    match *event {
        Event::History {
            room,
            at,
            nick,
            text,
        } => put_text(
            out.bytes,
            server,
            "NOTICE",
            &[&channel(room)],
            &format!("[{}] <{nick}> {text}", clock(at)),
        ),
        Event::EndHistory { room } => {
            out.put("NOTICE", &[&channel(room)], Some("-- end of history --"));
        }
        Event::Offline { at, from, text } => put_text(
            out.bytes,
            &mask(from),
            "PRIVMSG",
            &[me],
            &format!("[sent {} while you were away] {text}", clock(at)),
        ),
        Event::Closed { room, by } => put(
            out.bytes,
            &mask(by),
            "KICK",
            &[&channel(room), me],
            Some(&format!("{by} deleted the room")),
        ),
        Event::Pong { token } => out.put("PONG", &[server], Some(token.unwrap_or(""))),
        Event::Ok { verb, detail } => out.put(
            "NOTICE",
            &[me],
            Some(&format!(
                "{verb} done{}",
                detail.map_or(String::new(), |d| format!(": {d}"))
            )),
        ),
        Event::Err { code, text } => {
            refusal(out, me, &Refusal::new(code, text), &Subject::Nothing);
        }
        // WELCOME, END OFFLINE and the CHAT/1 listings have IRC forms of their own.
        _ => {}
    }
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ` of a unix-ms time: the `@time=` tag (server-time).
pub fn iso_time(at_ms: u64) -> String {
    let s = at_ms / 1000;
    let (y, m, d) = civil(s / 86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60,
        at_ms % 1000
    )
}

/// `lines` (one or more IRC lines, each ending in CRLF) with `@tags ` in
/// front of each.
pub fn tag_lines(lines: &[u8], tags: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(lines.len() + tags.len() + 2);
    for line in lines.split_inclusive(|&b| b == b'\n') {
        out.push(b'@');
        out.extend_from_slice(tags.as_bytes());
        out.push(b' ');
        out.extend_from_slice(line);
    }
    out
}

/// The `JOIN` of `extended-join`: `:nick!user@host JOIN #chan account :realname`
/// (`*` for no account).
pub fn extended_join(
    room: &str,
    nick: &str,
    from: &Source<'_>,
    account: Option<&str>,
    real: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    let account = account.unwrap_or("*");
    put(
        &mut out,
        &mask(nick, from),
        "JOIN",
        &[&channel(room), account],
        Some(real),
    );
    out
}

/// `YYYY-MM-DD HH:MM UTC` of a unix-ms time, for history shown as notices.
pub fn clock(at_ms: u64) -> String {
    let s = at_ms / 1000;
    let day = s / 86_400;
    let (y, m, d) = civil(day);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        (s / 3600) % 24,
        (s / 60) % 60
    )
}

/// Year, month, day of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// What a failed command was about, for the parameters of its numeric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Nothing in particular (`*`).
    Nothing,
    /// A channel (`JOIN`, `PART`, `MODE`, ...).
    Channel(String),
    /// A nick (`NICK`, `PRIVMSG nick`, `WHOIS`).
    Nick(String),
    /// A message to a channel: not being in it is 404, not 442.
    Sending(String),
    /// A `KICK`: what concerns the kicked nick names it.
    Kick { channel: String, nick: String },
    /// A command about a member of a channel (`INVITE`, `MODE +o`): what
    /// concerns that nick names it.
    Member { channel: String, nick: String },
}

/// Appends the numeric for a CHAT/1 refusal of a command about `subject`.
pub fn refusal(out: &mut Out<'_>, me: &str, refusal: &Refusal, subject: &Subject) {
    let (code, text) = (refusal.code, refusal.text.as_str());
    let name = match subject {
        Subject::Nothing => "*",
        Subject::Channel(s) | Subject::Nick(s) | Subject::Sending(s) => s,
        Subject::Kick { channel, .. } | Subject::Member { channel, .. } => channel,
    };
    match refusal.reason {
        Reason::NotRegistered => return put_numeric(out, 451, me, &[], text),
        // ERR_UNKNOWNERROR names the command: 461 would say a parameter is
        // missing, 482 that the kicker is no operator.
        Reason::KickSelf => return put_numeric(out, 400, me, &["KICK"], text),
        Reason::NoOper => return put_numeric(out, 491, me, &[], text),
        // ERR_UNKNOWNERROR names the command the reader refused.
        Reason::Verb(verb) if code == ErrCode::BadText => {
            return put_numeric(out, 400, me, &[verb], text);
        }
        Reason::Code | Reason::TargetNotMember | Reason::TargetMember | Reason::Verb(_) => {}
    }
    match (subject, code) {
        (Subject::Kick { nick, .. } | Subject::Member { nick, .. }, ErrCode::NoSuchUser) => {
            return put_numeric(out, 401, me, &[nick], text);
        }
        // The kicked nick is not on the channel (not the kicker: that is 442).
        (Subject::Kick { nick, .. } | Subject::Member { nick, .. }, ErrCode::NotMember)
            if refusal.reason == Reason::TargetNotMember =>
        {
            return put_numeric(out, 441, me, &[nick, name], text);
        }
        // The invited nick is on the channel already.
        (Subject::Member { nick, .. }, ErrCode::AlreadyMember)
            if refusal.reason == Reason::TargetMember =>
        {
            return put_numeric(out, 443, me, &[nick, name], text);
        }
        (
            Subject::Sending(_),
            ErrCode::NotMember
            | ErrCode::Banned
            | ErrCode::Muted
            | ErrCode::Moderated
            | ErrCode::SlowMode,
        ) => {
            return put_numeric(out, 404, me, &[name], text);
        }
        _ => {}
    }
    // UTF8ONLY: a line that is not UTF-8 gets the standard reply the spec names.
    if code == ErrCode::BadUtf8 {
        return out.put("FAIL", &["*", "INVALID_UTF8"], Some(text));
    }
    let (n, param): (u16, Option<&str>) = match code {
        ErrCode::BadName => (432, Some(name)),
        ErrCode::NickTaken | ErrCode::NickReserved => (433, Some(name)),
        ErrCode::BadPassword => (464, None),
        ErrCode::NoSuchRoom => (403, Some(name)),
        ErrCode::NoSuchUser => (401, Some(name)),
        ErrCode::NotMember => (442, Some(name)),
        ErrCode::AlreadyMember => (443, Some(name)),
        ErrCode::NotOwner => (482, Some(name)),
        ErrCode::BadKey => (475, Some(name)),
        ErrCode::EmptyMessage => (412, None),
        ErrCode::MissingArgument => (461, Some(name)),
        ErrCode::UnknownCommand => (421, Some(name)),
        ErrCode::LineTooLong => (417, None),
        ErrCode::BadUtf8 => (400, Some("*")),
        ErrCode::ServerFull => (465, None),
        ErrCode::AlreadyRegistered => (462, None),
        ErrCode::TooManyRooms => (405, Some(name)),
        ErrCode::InboxFull => (401, Some(name)),
        ErrCode::TooManyConnections => (465, None),
        ErrCode::BadText => (400, Some(name)),
        ErrCode::BadToken => (464, None),
        ErrCode::NotOperator => (482, Some(name)),
        ErrCode::Banned => (474, Some(name)),
        ErrCode::InviteOnly => (473, Some(name)),
        ErrCode::RoomFull => (471, Some(name)),
        ErrCode::Moderated | ErrCode::Muted | ErrCode::SlowMode => (404, Some(name)),
        ErrCode::NotAdmin => (481, None),
        // ERR_UNKNOWNERROR naming the channel; a MODE names its letter (696) itself.
        ErrCode::BadSetting => (400, Some(name)),
        // UPLOAD is CHAT/1's only: an IRC client never meets these.
        ErrCode::FileTooLarge | ErrCode::QuotaFull | ErrCode::NoFiles => (400, Some(name)),
    };
    match param {
        Some(p) => put_numeric(out, n, me, &[p], text),
        None => put_numeric(out, n, me, &[], text),
    }
}

/// What a command is about, for the numeric of its refusal.
pub fn subject(command: &Command) -> Subject {
    match command {
        Command::Join { room, .. }
        | Command::Part { room, .. }
        | Command::Who { room }
        | Command::Delete { room }
        | Command::History { room, .. } => Subject::Channel(channel(room)),
        Command::Say { room, .. } => Subject::Sending(channel(room)),
        Command::Kick { room, nick, .. } => Subject::Kick {
            channel: channel(room),
            nick: nick.clone(),
        },
        Command::Nick { nick, .. } | Command::Whisper { nick, .. } => Subject::Nick(nick.clone()),
        Command::Irc(Query::ChannelMode { room, .. })
        | Command::Irc(Query::Topic { room, .. })
        | Command::Topic { room, .. }
        | Command::Set { room, .. }
        | Command::Unset { room, .. }
        | Command::Settings { room } => Subject::Channel(channel(room)),
        Command::Invite { room, nick } => Subject::Member {
            channel: channel(room),
            nick: nick.clone(),
        },
        Command::Moderate { room, who, .. } => Subject::Member {
            channel: channel(room),
            nick: who.clone(),
        },
        Command::Kill { nick, .. } => Subject::Nick(nick.clone()),
        Command::Irc(Query::Whois { nick }) | Command::Irc(Query::UserMode { nick, .. }) => {
            Subject::Nick(nick.clone())
        }
        _ => Subject::Nothing,
    }
}

/// What the welcome burst says about the server.
#[derive(Debug, Clone, Copy)]
pub struct Greeting<'a> {
    pub version: &'a str,
    pub created: &'a str,
    pub motd: &'a str,
    /// The newcomer's own `user@host`, for 001.
    pub me: Source<'a>,
    pub counts: Counts,
}

/// What `LUSERS` counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Users registered (every CHAT/1 user; IRC users once welcomed).
    pub users: usize,
    /// IRC connections still registering.
    pub unknown: usize,
    /// The most users registered at once since the server started.
    pub max: usize,
    pub rooms: usize,
}

/// The burst after registration: 001–005, LUSERS and the MOTD.
pub fn welcome(out: &mut Out<'_>, me: &str, g: &Greeting<'_>) {
    let server = out.server;
    put_numeric(
        out,
        1,
        me,
        &[],
        &format!("Welcome to Sala, the chat of rooms, {}", mask(me, &g.me)),
    );
    put_numeric(
        out,
        2,
        me,
        &[],
        &format!("Your host is {server}, running version {}", g.version),
    );
    put_numeric(
        out,
        3,
        me,
        &[],
        &format!("This server was created {}", g.created),
    );
    put_numeric(out, 4, me, &[server, g.version, "i", "kov", "kov"], "");
    pop_empty_trailing(out.bytes);
    for tokens in ISUPPORT.chunks(12) {
        put_numeric(out, 5, me, tokens, "are supported by this server");
    }
    lusers(out, me, &g.counts);
    motd(out, me, g.motd);
}

/// The `ISUPPORT` tokens, true to what the server does (sent 12 to a line).
pub const ISUPPORT: [&str; 23] = [
    "CASEMAPPING=ascii",
    "CHANTYPES=#&",
    "CHANMODES=beI,k,lW,imnst",
    "EXCEPTS=e",
    "INVEX=I",
    "EXTBAN=,m",
    "MODES=20",
    "PREFIX=(ov)@+",
    "NICKLEN=24",
    "CHANNELLEN=33",
    "TOPICLEN=390",
    "KICKLEN=400",
    "AWAYLEN=200",
    "MAXTARGETS=4",
    "TARGMAX=PRIVMSG:4,NOTICE:4,JOIN:4,PART:4,NAMES:4,WHOIS:1,KICK:4",
    "NETWORK=Sala",
    "USERLEN=10",
    "ELIST=MNU",
    "WHOX",
    "SAFELIST",
    "UTF8ONLY",
    "CHATHISTORY=100",
    "MSGREFTYPES=msgid,timestamp",
];

/// 251–255, 265/266: how many users, registering connections and rooms.
pub fn lusers(out: &mut Out<'_>, me: &str, c: &Counts) {
    let (users, max) = (c.users.to_string(), c.max.to_string());
    put_numeric(
        out,
        251,
        me,
        &[],
        &format!("There are {users} users and 0 invisible on 1 servers"),
    );
    if c.unknown > 0 {
        let unknown = c.unknown.to_string();
        put_numeric(out, 253, me, &[&unknown], "unknown connection(s)");
    }
    put_numeric(out, 254, me, &[&c.rooms.to_string()], "channels formed");
    put_numeric(
        out,
        255,
        me,
        &[],
        &format!("I have {users} clients and 0 servers"),
    );
    let now = format!("Current local users {users}, max {max}");
    put_numeric(out, 265, me, &[&users, &max], &now);
    let now = format!("Current global users {users}, max {max}");
    put_numeric(out, 266, me, &[&users, &max], &now);
}

/// 375/372/376: the message of the day.
pub fn motd(out: &mut Out<'_>, me: &str, text: &str) {
    let title = format!("- {} Message of the day -", out.server);
    put_numeric(out, 375, me, &[], &title);
    for line in text.lines() {
        put_numeric(out, 372, me, &[], &format!("- {line}"));
    }
    put_numeric(out, 376, me, &[], "End of /MOTD command.");
}

/// One member of a channel as `NAMES` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<'a> {
    pub nick: &'a str,
    /// Its `user@host`, shown with `userhost-in-names`.
    pub from: Source<'a>,
    /// The room's owner or one of its operators: `@`.
    pub op: bool,
    /// Voiced: `+`.
    pub voice: bool,
}

/// The prefixes of a member: all it has with `multi-prefix`, else the highest.
pub fn prefixes(op: bool, voice: bool, multi: bool) -> &'static str {
    match (op, voice, multi) {
        (true, true, true) => "@+",
        (true, _, _) => "@",
        (false, true, _) => "+",
        (false, false, _) => "",
    }
}

/// How a member list is written for one client.
#[derive(Debug, Clone, Copy, Default)]
pub struct NamesStyle {
    /// `nick!user@host` (the client asked for `userhost-in-names`).
    pub userhost: bool,
    /// Every prefix (`multi-prefix`).
    pub multi: bool,
    /// The channel is secret: `@` in 353, not `=`.
    pub secret: bool,
}

/// 353/366: the members of `room`, operators `@` and voiced `+`, in lines
/// of bounded length, written as `style` says.
pub fn names(out: &mut Out<'_>, me: &str, room: &str, members: &[Member<'_>], style: NamesStyle) {
    name_lines(out, me, room, members, style);
    put_numeric(out, 366, me, &[&channel(room)], "End of /NAMES list.");
}

/// The 353 lines of [`names`], without the 366 that ends them (`NAMES #a,#b` ends once).
pub fn name_lines(
    out: &mut Out<'_>,
    me: &str,
    room: &str,
    members: &[Member<'_>],
    style: NamesStyle,
) {
    let chan = channel(room);
    let kind = if style.secret { "@" } else { "=" };
    let mut list = String::new();
    for m in members {
        if list.len() > 400 {
            put_numeric(out, 353, me, &[kind, &chan], &list);
            list.clear();
        }
        if !list.is_empty() {
            list.push(' ');
        }
        list.push_str(prefixes(m.op, m.voice, style.multi));
        if style.userhost {
            list.push_str(&mask(m.nick, &m.from));
        } else {
            list.push_str(m.nick);
        }
    }
    if !list.is_empty() {
        put_numeric(out, 353, me, &[kind, &chan], &list);
    }
}

/// Numerics like 324 and 221 end with a parameter, not a text: drop the
/// empty trailing ` :` that [`put_numeric`] wrote.
pub fn pop_empty_trailing(out: &mut Vec<u8>) {
    if out.ends_with(b" :\r\n") {
        let n = out.len();
        out.truncate(n - 4);
        out.extend_from_slice(b"\r\n");
    }
}

/// The line that turns an IRC client away when the server is full.
pub fn server_full(max: usize) -> Vec<u8> {
    format!("ERROR :Closing link: the server holds at most {max} clients; try again later\r\n")
        .into_bytes()
}

/// What a client is told, instead of anything else, when its address has
/// `--max-per-ip` connections open already.
pub fn too_many_connections() -> Vec<u8> {
    b"ERROR :Too many connections from your host\r\n".to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(out: &[u8]) -> String {
        String::from_utf8(out.to_vec()).unwrap()
    }

    /// An event as every IRC recipient gets it, from a user whose username is its nick.
    fn shared(event: &Event<'_>) -> Option<Vec<u8>> {
        let nick = source_nick(event).unwrap_or_default();
        render_shared(
            event,
            &Source {
                user: nick,
                host: "sala",
            },
        )
    }

    #[test]
    fn renders_room_events_with_user_prefixes() {
        let ev = Event::Msg {
            room: "lobby",
            nick: "ana",
            text: "hi :)",
        };
        assert_eq!(
            text(&shared(&ev).unwrap()),
            ":ana!ana@sala PRIVMSG #lobby :hi :)\r\n"
        );
        let ev = Event::Kicked {
            room: "lobby",
            nick: "bob",
            by: "ana",
            text: None,
        };
        assert_eq!(
            text(&shared(&ev).unwrap()),
            ":ana!ana@sala KICK #lobby bob :ana\r\n"
        );
        let ev = Event::Nick {
            old: "ana",
            new: "anna",
        };
        assert_eq!(text(&shared(&ev).unwrap()), ":ana!ana@sala NICK :anna\r\n");
        let mut out = Vec::new();
        render_for(
            &Event::Closed {
                room: "lobby",
                by: "ana",
            },
            "bob",
            &mut Out::new("sala", &mut out),
        );
        assert_eq!(
            text(&out),
            ":ana!ana@sala KICK #lobby bob :ana deleted the room\r\n"
        );
        assert!(shared(&Event::EndRooms).is_none());
    }

    #[test]
    fn refusals_become_numerics_naming_their_subject() {
        let mut out = Vec::new();
        let chan = |c: &str| Subject::Channel(c.to_string());
        let nick = |n: &str| Subject::Nick(n.to_string());
        refusal(
            &mut Out::new("sala", &mut out),
            "ana",
            &Refusal::new(ErrCode::BadKey, "wrong key"),
            &chan("#vault"),
        );
        refusal(
            &mut Out::new("sala", &mut out),
            "ana",
            &Refusal::new(ErrCode::NickTaken, "bob is taken"),
            &nick("bob"),
        );
        refusal(
            &mut Out::new("sala", &mut out),
            "ana",
            &Refusal::new(ErrCode::BadPassword, "wrong password"),
            &nick("ana"),
        );
        let say = Command::Say {
            room: "lobby".into(),
            text: "hi".into(),
        };
        refusal(
            &mut Out::new("sala", &mut out),
            "ana",
            &Refusal::new(ErrCode::NotMember, "not in"),
            &subject(&say),
        );
        assert_eq!(
            text(&out),
            ":sala 475 ana #vault :wrong key\r\n:sala 433 ana bob :bob is taken\r\n:sala 464 ana :wrong password\r\n:sala 404 ana #lobby :not in\r\n"
        );
    }

    #[test]
    fn kick_refusals_name_the_channel_or_the_kicked_nick() {
        let kick = Command::Kick {
            room: "lobby".into(),
            nick: "dan".into(),
            text: None,
        };
        let subject = subject(&kick);
        let mut out = Vec::new();
        refusal(
            &mut Out::new("sala", &mut out),
            "ana",
            &Refusal::new(ErrCode::NotOwner, "not yours"),
            &subject,
        );
        refusal(
            &mut Out::new("sala", &mut out),
            "ana",
            &Refusal::new(ErrCode::NotMember, "you are not in lobby"),
            &subject,
        );
        refusal(
            &mut Out::new("sala", &mut out),
            "ana",
            &Refusal::new(ErrCode::NoSuchUser, "there is no user dan"),
            &subject,
        );
        refusal(
            &mut Out::new("sala", &mut out),
            "ana",
            &Refusal::new(ErrCode::NotMember, "dan is not in lobby")
                .because(Reason::TargetNotMember),
            &subject,
        );
        refusal(
            &mut Out::new("sala", &mut out),
            "ana",
            &Refusal::new(ErrCode::MissingArgument, "you cannot kick yourself")
                .because(Reason::KickSelf),
            &subject,
        );
        assert_eq!(
            text(&out),
            ":sala 482 ana #lobby :not yours\r\n\
             :sala 442 ana #lobby :you are not in lobby\r\n\
             :sala 401 ana dan :there is no user dan\r\n\
             :sala 441 ana dan #lobby :dan is not in lobby\r\n\
             :sala 400 ana KICK :you cannot kick yourself\r\n"
        );
    }

    #[test]
    fn bad_text_names_the_command_and_nothing_emitted_breaks_a_line() {
        let mut out = Vec::new();
        let refused = Refusal::new(ErrCode::BadText, "the text holds U+001B")
            .because(Reason::Verb("PRIVMSG"));
        refusal(
            &mut Out::new("sala", &mut out),
            "ana",
            &refused,
            &Subject::Nothing,
        );
        assert_eq!(
            text(&out),
            ":sala 400 ana PRIVMSG :the text holds U+001B\r\n"
        );
        // An echoed word with a line breaker in it is made visible, not sent raw.
        let mut out = Vec::new();
        put_numeric(
            &mut Out::new("sala", &mut out),
            421,
            "ana",
            &["FO\rO\u{0}"],
            "Unknown command",
        );
        assert_eq!(
            text(&out),
            ":sala 421 ana FO\u{fffd}O\u{fffd} :Unknown command\r\n"
        );
        let quit = Event::Quit {
            nick: "ana",
            text: Some("old\r\nhistory\u{1b}"),
        };
        assert_eq!(
            text(&shared(&quit).unwrap()),
            ":ana!ana@sala QUIT :old\u{fffd}\u{fffd}history\u{fffd}\r\n"
        );
    }

    #[test]
    fn names_marks_operators_and_voiced_and_splits_long_lists() {
        let mut out = Vec::new();
        let member = |nick, op| Member {
            nick,
            from: Source {
                user: nick,
                host: "sala",
            },
            op,
            voice: false,
        };
        let both = Member {
            voice: true,
            ..member("carl", true)
        };
        let dan = Member {
            voice: true,
            ..member("dan", false)
        };
        let all = [member("ana", true), member("bob", false), both, dan];
        names(
            &mut Out::new("sala", &mut out),
            "me",
            "lobby",
            &all,
            NamesStyle::default(),
        );
        let multi = NamesStyle {
            multi: true,
            secret: true,
            ..NamesStyle::default()
        };
        names(&mut Out::new("sala", &mut out), "me", "lobby", &all, multi);
        assert_eq!(
            text(&out),
            ":sala 353 me = #lobby :@ana bob @carl +dan\r\n:sala 366 me #lobby :End of /NAMES list.\r\n\
             :sala 353 me @ #lobby :@ana bob @+carl +dan\r\n:sala 366 me #lobby :End of /NAMES list.\r\n"
        );
        let many: Vec<String> = (0..200).map(|i| format!("user{i}")).collect();
        let members: Vec<Member<'_>> = many
            .iter()
            .map(|nick| member(nick, nick == "user0"))
            .collect();
        let mut out = Vec::new();
        names(
            &mut Out::new("sala", &mut out),
            "me",
            "big",
            &members,
            NamesStyle::default(),
        );
        let lines = text(&out);
        assert!(
            lines.lines().all(|l| l.len() <= 510),
            "IRC lines stay under 512"
        );
        let listed: usize = lines
            .lines()
            .filter(|l| l.contains(" 353 "))
            .map(|l| l.rsplit_once(" :").unwrap().1.split(' ').count())
            .sum();
        assert_eq!(listed, 200);
    }

    #[test]
    fn welcome_burst_has_001_to_005_lusers_and_motd() {
        let mut out = Vec::new();
        let g = Greeting {
            version: "sala-0.1.0",
            created: "today",
            motd: "hello\nworld",
            me: Source {
                user: "ana",
                host: "sala",
            },
            counts: Counts {
                users: 3,
                unknown: 0,
                max: 3,
                rooms: 1,
            },
        };
        welcome(&mut Out::new("sala", &mut out), "ana", &g);
        let t = text(&out);
        for code in [
            "001", "002", "003", "004", "005", "251", "254", "255", "265", "266", "375", "372",
            "376",
        ] {
            assert!(t.contains(&format!(" {code} ana ")), "{code} in {t}");
        }
        assert!(t.contains("PREFIX=(ov)@+"));
    }

    #[test]
    fn long_texts_become_several_lines_of_at_most_512_bytes() {
        let word = "ação ";
        let text: String = word.repeat(400); // 2400 bytes, with 2-byte characters
        let ev = Event::Msg {
            room: "lobby",
            nick: "ana",
            text: text.trim_end(),
        };
        let out = text_of(&shared(&ev).unwrap());
        let lines: Vec<&str> = out.split_terminator("\r\n").collect();
        assert!(lines.len() >= 5, "{} lines", lines.len());
        let mut joined = String::new();
        for l in &lines {
            assert!(l.len() + 2 <= MAX_IRC_LINE, "{} bytes", l.len() + 2);
            let (head, piece) = l.split_once(" :").unwrap();
            assert_eq!(head, ":ana!ana@sala PRIVMSG #lobby");
            joined.push_str(piece);
        }
        assert_eq!(joined, text.trim_end(), "nothing lost, nothing added");
        // Other texts (a QUIT reason) are cut to fit.
        let quit = Event::Quit {
            nick: "ana",
            text: Some(&text),
        };
        let out = shared(&quit).unwrap();
        assert!(out.len() <= MAX_IRC_LINE && out.ends_with(b"\r\n"));
        assert!(std::str::from_utf8(&out).is_ok());
    }

    fn text_of(out: &[u8]) -> String {
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn tags_go_in_front_of_every_line() {
        assert_eq!(
            iso_time(1_764_547_200_000 + 3_723_045),
            "2025-12-01T01:02:03.045Z"
        );
        let two = b":a!a@s PRIVMSG #r :one\r\n:a!a@s PRIVMSG #r :two\r\n";
        assert_eq!(
            text(&tag_lines(two, "time=x")),
            "@time=x :a!a@s PRIVMSG #r :one\r\n@time=x :a!a@s PRIVMSG #r :two\r\n"
        );
        let from = Source {
            user: "ana",
            host: "sala",
        };
        assert_eq!(
            text(&extended_join("lobby", "ana", &from, None, "Ana A")),
            ":ana!ana@sala JOIN #lobby * :Ana A\r\n"
        );
    }

    #[test]
    fn history_times_are_readable_utc() {
        assert_eq!(clock(0), "1970-01-01 00:00 UTC");
        assert_eq!(clock(1_764_547_200_000 + 3_723_000), "2025-12-01 01:02 UTC");
    }
}
