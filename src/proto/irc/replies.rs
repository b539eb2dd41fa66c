//! The answers to IRC-only requests, pure: the dispatcher gathers the facts
//! from the chat state (who is where, who is away, who owns what) and these
//! functions say them as numerics. Every IRC text of those answers is here.

use super::parse::{channel, glob};
use super::render::{Out, Source, mask, pop_empty_trailing, put, put_numeric};

/// The message of the day IRC clients get after registering.
pub const MOTD: &str = "Welcome to Sala: rooms are channels (/join #lobby).\n\
/msg $* <text> broadcasts to everyone; /msg <nick> <text> whispers.\n\
/quote REGISTER <password> keeps your nick; connect with it as the server password.\n\
/quote HISTORY #room [before-unix-ms] pages back through a room's history.\n\
/quote DELETE #room deletes a room you own.";

/// A `CAP` reply: `CAP me SUB :list` (`LS`, `LIST`, `ACK`, `NAK`, `NEW`, `DEL`).
pub fn cap(out: &mut Out<'_>, me: &str, sub: &str, list: &str) {
    out.put("CAP", &[me, sub], Some(list));
}

/// 410: a `CAP` subcommand Sala does not know.
pub fn cap_unknown(out: &mut Out<'_>, me: &str, sub: &str) {
    put_numeric(out, 410, me, &[sub], "Invalid CAP command");
}

/// `AUTHENTICATE +`: send the SASL response.
pub fn authenticate_go(out: &mut Out<'_>) {
    out.bytes.extend_from_slice(b"AUTHENTICATE +\r\n");
}

/// A SASL numeric with its text: 903, 904, 905, 906, 907.
pub fn sasl(out: &mut Out<'_>, me: &str, code: u16, text: &str) {
    put_numeric(out, code, me, &[], text);
}

/// 900: logged in to `account` (SASL).
pub fn logged_in(out: &mut Out<'_>, me: &str, mask: &str, account: &str) {
    let text = format!("You are now logged in as {account}");
    put_numeric(out, 900, me, &[mask, account], &text);
}

/// The answer to a client's `PING token`.
pub fn pong(out: &mut Out<'_>, token: &str) {
    let server = out.server;
    out.put("PONG", &[server], Some(token));
}

/// The server's own `PING` to a quiet client.
pub fn ping(out: &mut Out<'_>) {
    let line = format!("PING :{}\r\n", out.server);
    out.bytes.extend_from_slice(line.as_bytes());
}

/// 366: the end of `NAMES` of `chan`, the channel (or list) asked about.
pub fn no_names(out: &mut Out<'_>, me: &str, chan: &str) {
    put_numeric(out, 366, me, &[chan], "End of /NAMES list.");
}

/// One user as `WHO` shows it.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub nick: &'a str,
    pub user: &'a str,
    pub real: &'a str,
    pub away: bool,
    /// A server admin (IRC operator): `*`.
    pub oper: bool,
    /// Its prefixes in the channel asked about (`@`, `+`, `@+`).
    pub prefix: &'a str,
    /// The account it is logged in to.
    pub account: Option<&'a str>,
}

/// `WHO mask [%fields[,token]]`: for each user found, 352, or with WHOX
/// (`whox`: what followed `%`) 354 with the fields asked for; then 315.
/// `chan` is `*` for users found by nick.
pub fn who(
    out: &mut Out<'_>,
    me: &str,
    (mask, whox): (&str, Option<&str>),
    chan: &str,
    users: &[Seen<'_>],
) {
    let server = out.server;
    for user in users {
        let nick = user.nick;
        let here = if user.away { "G" } else { "H" };
        let flags = format!("{here}{}{}", if user.oper { "*" } else { "" }, user.prefix);
        let Some(whox) = whox else {
            put_numeric(
                out,
                352,
                me,
                &[chan, user.user, server, server, nick, &flags],
                &format!("0 {}", user.real),
            );
            continue;
        };
        let (fields, token) = whox.split_once(',').unwrap_or((whox, ""));
        // The fields in the order WHOX sets, whatever the order asked.
        let mut row: Vec<&str> = Vec::new();
        for field in "tcuihsnfdlaor".chars().filter(|f| fields.contains(*f)) {
            row.push(match field {
                't' if !token.is_empty() => token,
                't' => "0",
                'c' => chan,
                'u' => user.user,
                // Addresses are not shown.
                'i' => "255.255.255.255",
                'h' | 's' => server,
                'n' => nick,
                'f' => &flags,
                'd' | 'l' => "0",
                'a' => user.account.unwrap_or("0"),
                'o' => "n/a",
                _ => user.real,
            });
        }
        let Some((last, head)) = row.split_last() else {
            continue;
        };
        put_numeric(out, 354, me, head, last);
    }
    put_numeric(out, 315, me, &[mask], "End of /WHO list.");
}

/// True if a channel called `chan` with `members` members passes the
/// filter of `LIST` (`ELIST=MNU`): the names or masks it lists (any of
/// them), no `!mask` it excludes, and every `>n` and `<n` on the members.
pub fn listed(filter: &str, chan: &str, members: usize) -> bool {
    let (mut named, mut matched) = (false, false);
    for term in filter.split(',').filter(|t| !t.is_empty()) {
        let bound = |n: &str| n.parse::<usize>().ok();
        if let Some(n) = term.strip_prefix('>') {
            if bound(n).is_none_or(|n| members <= n) {
                return false;
            }
        } else if let Some(n) = term.strip_prefix('<') {
            if bound(n).is_none_or(|n| members >= n) {
                return false;
            }
        } else if let Some(mask) = term.strip_prefix('!') {
            if glob(mask, chan) {
                return false;
            }
        } else {
            named = true;
            matched |= glob(term, chan);
        }
    }
    !named || matched
}

/// What `WHOIS` tells of a user who is online.
#[derive(Debug, Clone)]
pub struct Whois<'a> {
    pub nick: &'a str,
    pub user: &'a str,
    pub real: &'a str,
    /// The rooms joined that the asker may see, each with the user's prefixes there.
    pub rooms: Vec<(&'a str, &'a str)>,
    /// Connected over IRC (else CHAT/1).
    pub over_irc: bool,
    pub away: Option<&'a str>,
    /// The account it is logged in to.
    pub account: Option<&'a str>,
    /// A server admin (IRC operator).
    pub oper: bool,
}

/// `WHOIS nick` of a user who is online: 311, 319, 312, (313), 301, 330, then 318.
pub fn whois(out: &mut Out<'_>, me: &str, w: &Whois<'_>) {
    let nick = w.nick;
    let server = out.server;
    put_numeric(out, 311, me, &[nick, w.user, server, "*"], w.real);
    let chans: Vec<String> = w
        .rooms
        .iter()
        .map(|(room, prefix)| format!("{prefix}{}", channel(room)))
        .collect();
    if !chans.is_empty() {
        put_numeric(out, 319, me, &[nick], &chans.join(" "));
    }
    let door = if w.over_irc { "IRC" } else { "CHAT/1" };
    put_numeric(out, 312, me, &[nick, server], &format!("Sala, over {door}"));
    if w.oper {
        put_numeric(out, 313, me, &[nick], "is a server admin (IRC operator)");
    }
    if let Some(away) = w.away {
        put_numeric(out, 301, me, &[nick], away);
    }
    if let Some(account) = w.account {
        put_numeric(out, 330, me, &[nick, account], "is logged in as");
    }
    put_numeric(out, 318, me, &[nick], "End of /WHOIS list.");
}

/// `WHOIS nick` of nobody online: 401, then 318.
pub fn whois_nobody(out: &mut Out<'_>, me: &str, nick: &str) {
    put_numeric(out, 401, me, &[nick], "No such nick/channel");
    put_numeric(out, 318, me, &[nick], "End of /WHOIS list.");
}

/// `ISON`: the nicks asked about that are online.
pub fn ison(out: &mut Out<'_>, me: &str, online: &[&str]) {
    put_numeric(out, 303, me, &[], &online.join(" "));
}

/// `USERHOST`: each online nick asked about, its username, and whether it is away.
pub fn userhost(out: &mut Out<'_>, me: &str, online: &[(&str, &str, bool)]) {
    let server = out.server;
    let hosts: Vec<String> = online
        .iter()
        .map(|(nick, user, away)| {
            let mark = if *away { '-' } else { '+' };
            format!("{nick}={mark}{user}@{server}")
        })
        .collect();
    put_numeric(out, 302, me, &[], &hosts.join(" "));
}

/// `MODE #chan`: 324 (its modes, and their parameters; a key is shown
/// as `*`, Sala keeping only its hash), then 329 (when it was created).
pub fn channel_modes(out: &mut Out<'_>, me: &str, room: &str, modes: &str, created_ms: u64) {
    let chan = channel(room);
    let mut params: Vec<&str> = vec![&chan];
    params.extend(modes.split(' '));
    put_numeric(out, 324, me, &params, "");
    pop_empty_trailing(out.bytes);
    put_numeric(out, 329, me, &[&chan, &(created_ms / 1000).to_string()], "");
    pop_empty_trailing(out.bytes);
}

/// `MODE #chan b` (or `+b`): 367 for each ban and mute (`m:mask`), then 368;
/// `e`: 348s then 349 (ban exceptions); `I`: 346s then 347 (invite exceptions).
pub fn mode_list(
    out: &mut Out<'_>,
    me: &str,
    room: &str,
    letter: char,
    entries: &[(String, String, u64)],
) {
    let chan = channel(room);
    let (entry, end, what) = match letter {
        'b' => (367, 368, "End of channel ban list"),
        'e' => (348, 349, "End of channel exception list"),
        _ => (346, 347, "End of channel invite list"),
    };
    for (mask, by, at) in entries {
        let at = (at / 1000).to_string();
        put_numeric(out, entry, me, &[&chan, mask, by, &at], "");
        pop_empty_trailing(out.bytes);
    }
    put_numeric(out, end, me, &[&chan], what);
}

/// 472: a mode letter Sala does not have.
pub fn unknown_mode(out: &mut Out<'_>, me: &str, letter: char) {
    put_numeric(
        out,
        472,
        me,
        &[&letter.to_string()],
        "is unknown mode char to me",
    );
}

/// 696: a mode's parameter was refused.
pub fn invalid_mode_param(
    out: &mut Out<'_>,
    me: &str,
    room: &str,
    letter: char,
    param: &str,
    why: &str,
) {
    put_numeric(
        out,
        696,
        me,
        &[&channel(room), &letter.to_string(), param],
        why,
    );
}

/// `MODE nick [change]`: only one's own, and only `i`, which changes nothing.
pub fn user_mode(out: &mut Out<'_>, me: &str, nick: &str, change: Option<&str>) {
    if !nick.eq_ignore_ascii_case(me) {
        put_numeric(out, 502, me, &[], "Cannot change mode for other users");
    } else if change.is_some_and(|c| c.trim_start_matches(['+', '-']) != "i") {
        put_numeric(out, 501, me, &[], "Unknown MODE flag");
    } else {
        put_numeric(out, 221, me, &["+"], "");
        pop_empty_trailing(out.bytes);
    }
}

/// `TOPIC #chan` (and a `JOIN`): 332 and 333, or 331 when there is none.
pub fn topic(out: &mut Out<'_>, me: &str, room: &str, topic: Option<(&str, &str, u64)>) {
    let chan = channel(room);
    match topic {
        Some((text, by, at)) => {
            put_numeric(out, 332, me, &[&chan], text);
            put_numeric(out, 333, me, &[&chan, by, &(at / 1000).to_string()], "");
            pop_empty_trailing(out.bytes);
        }
        None => put_numeric(out, 331, me, &[&chan], "No topic is set"),
    }
}

/// 341: the invitation was sent.
pub fn inviting(out: &mut Out<'_>, me: &str, nick: &str, room: &str) {
    put_numeric(out, 341, me, &[nick, &channel(room)], "");
    pop_empty_trailing(out.bytes);
}

/// The answer to `OPER`: 381, or 464 for a wrong password.
pub fn opered(out: &mut Out<'_>, me: &str, ok: bool) {
    if ok {
        put_numeric(out, 381, me, &[], "You are now an IRC operator");
    } else {
        put_numeric(out, 464, me, &[], "Password incorrect");
    }
}

/// `AWAY [text]`: 305 when back, 306 when away.
pub fn away(out: &mut Out<'_>, me: &str, back: bool) {
    if back {
        put_numeric(out, 305, me, &[], "You are no longer marked as being away");
    } else {
        put_numeric(out, 306, me, &[], "You have been marked as being away");
    }
}

/// `away-notify`: `:nick!user@host AWAY [:text]`, the user's away text or
/// none when it is back.
pub fn away_line(nick: &str, from: &Source<'_>, away: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    put(&mut out, &mask(nick, from), "AWAY", &[], away);
    out
}

/// One room as `LIST` shows it.
#[derive(Debug, Clone, Copy)]
pub struct Listed<'a> {
    pub room: &'a str,
    pub members: usize,
    pub owner: &'a str,
    pub keyed: bool,
    pub topic: Option<&'a str>,
}

/// `LIST`: 321, 322 for each room, 323.
pub fn list(out: &mut Out<'_>, me: &str, rooms: &[Listed<'_>]) {
    put_numeric(out, 321, me, &["Channel"], "Users  Name");
    for r in rooms {
        let lock = if r.keyed { ", key needed" } else { "" };
        let about = match r.topic {
            Some(topic) => topic.to_string(),
            None => format!("owner {}{lock}", r.owner),
        };
        put_numeric(
            out,
            322,
            me,
            &[&channel(r.room), &r.members.to_string()],
            &about,
        );
    }
    put_numeric(out, 323, me, &[], "End of /LIST");
}

/// A server `NOTICE` to `me`.
pub fn server_notice(out: &mut Out<'_>, me: &str, text: &str) {
    out.put("NOTICE", &[me], Some(text));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(out: &[u8]) -> String {
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn who_marks_away_users_and_the_owner() {
        let mut out = Vec::new();
        let users = [
            Seen {
                nick: "ana",
                user: "ana",
                real: "Ana A",
                away: false,
                oper: false,
                prefix: "@",
                account: None,
            },
            Seen {
                nick: "bob",
                user: "bobby",
                real: "bob",
                away: true,
                oper: true,
                prefix: "",
                account: Some("bob"),
            },
        ];
        who(
            &mut Out::new("sala", &mut out),
            "bob",
            ("#lobby", None),
            "#lobby",
            &users,
        );
        assert_eq!(
            text(&out),
            ":sala 352 bob #lobby ana sala sala ana H@ :0 Ana A\r\n\
             :sala 352 bob #lobby bobby sala sala bob G* :0 bob\r\n\
             :sala 315 bob #lobby :End of /WHO list.\r\n"
        );
    }

    #[test]
    fn whox_gives_the_fields_asked_for_in_their_order_with_the_token() {
        let users = [Seen {
            nick: "bob",
            user: "bobby",
            real: "Bob B",
            away: false,
            oper: false,
            prefix: "@",
            account: Some("bob"),
        }];
        let mut out = Vec::new();
        let o = &mut Out::new("sala", &mut out);
        who(o, "ana", ("bob", Some("rnat,42")), "*", &users);
        who(o, "ana", ("bob", Some("cuihsnfdlaor")), "*", &users);
        assert_eq!(
            text(&out),
            ":sala 354 ana 42 bob bob :Bob B\r\n:sala 315 ana bob :End of /WHO list.\r\n\
             :sala 354 ana * bobby 255.255.255.255 sala sala bob H@ 0 0 bob n/a :Bob B\r\n\
             :sala 315 ana bob :End of /WHO list.\r\n"
        );
    }

    #[test]
    fn list_filters_by_masks_exclusions_and_member_counts() {
        assert!(listed("*an1", "#chan1", 1));
        assert!(!listed("*an1", "#chan2", 1));
        assert!(listed("#CHAN1,#chan2", "#chan2", 1));
        assert!(!listed("!#ch*", "#chan1", 1));
        assert!(listed(">1,<3", "#a", 2));
        assert!(!listed(">1", "#a", 1));
        assert!(!listed("<1", "#a", 1));
        assert!(!listed("<x", "#a", 1));
    }

    #[test]
    fn modes_without_a_text_end_with_their_parameter() {
        let mut out = Vec::new();
        channel_modes(
            &mut Out::new("sala", &mut out),
            "ana",
            "vault",
            "+knt *",
            5_000,
        );
        user_mode(&mut Out::new("sala", &mut out), "ana", "ANA", Some("+i"));
        user_mode(&mut Out::new("sala", &mut out), "ana", "bob", None);
        unknown_mode(&mut Out::new("sala", &mut out), "ana", 'x');
        topic(
            &mut Out::new("sala", &mut out),
            "ana",
            "vault",
            Some(("Week 3", "bob", 7_000)),
        );
        topic(&mut Out::new("sala", &mut out), "ana", "vault", None);
        mode_list(
            &mut Out::new("sala", &mut out),
            "ana",
            "vault",
            'b',
            &[("m:bob!*@*".into(), "ana".into(), 9_000)],
        );
        assert_eq!(
            text(&out),
            ":sala 324 ana #vault +knt *\r\n:sala 329 ana #vault 5\r\n:sala 221 ana +\r\n\
             :sala 502 ana :Cannot change mode for other users\r\n\
             :sala 472 ana x :is unknown mode char to me\r\n\
             :sala 332 ana #vault :Week 3\r\n:sala 333 ana #vault bob 7\r\n\
             :sala 331 ana #vault :No topic is set\r\n\
             :sala 367 ana #vault m:bob!*@* ana 9\r\n:sala 368 ana #vault :End of channel ban list\r\n"
        );
    }

    #[test]
    fn list_names_owners_and_keys() {
        let mut out = Vec::new();
        let rooms = [Listed {
            room: "vault",
            members: 2,
            owner: "ana",
            keyed: true,
            topic: None,
        }];
        list(&mut Out::new("sala", &mut out), "bob", &rooms);
        assert_eq!(
            text(&out),
            ":sala 321 bob Channel :Users  Name\r\n\
             :sala 322 bob #vault 2 :owner ana, key needed\r\n\
             :sala 323 bob :End of /LIST\r\n"
        );
    }
}
