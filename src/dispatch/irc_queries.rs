//! The dispatcher's answers to IRC-only requests ([`Query`]): they read the
//! same chat state as every CHAT/1 verb, in the same order, and answer the
//! asker alone with IRC numerics.

use super::voice::Voice;
use super::{Dispatcher, no_room};
use crate::chat::ConnId;
use crate::proto::irc::{self, Greeting, Query, put_numeric};
use crate::proto::refusal::{ErrCode, Refusal};

/// The message of the day IRC clients get after registering.
const MOTD: &str = "Welcome to Sala: rooms are channels (/join #lobby).\n\
/msg $* <text> broadcasts to everyone; /msg <nick> <text> whispers.\n\
/quote REGISTER <password> keeps your nick; connect with it as the server password.\n\
/quote HISTORY #room [before-unix-ms] pages back through a room's history.\n\
/quote DELETE #room deletes a room you own.";

impl Dispatcher {
    /// The burst that ends an IRC client's registration.
    pub(super) fn welcome_irc(&mut self, id: ConnId) {
        let me = self.chat.nick(id).to_string();
        let mut out = Vec::new();
        irc::welcome(
            &mut out,
            &me,
            &Greeting {
                version: concat!("sala-", env!("CARGO_PKG_VERSION")),
                created: &self.started,
                motd: MOTD,
                users: self.chat.user_count(),
                rooms: self.chat.rooms().count(),
            },
        );
        self.reply(id, out);
    }

    /// One arm per IRC-only request.
    pub(super) fn irc(&mut self, id: ConnId, query: Query) -> Result<(), Refusal> {
        let Voice::Irc { me } = self.voice(id) else {
            return Err(Refusal::new(
                ErrCode::UnknownCommand,
                "not an IRC connection",
            ));
        };
        let mut out = Vec::new();
        let o = &mut out;
        match query {
            Query::Numeric { code, params, text } => {
                let params: Vec<&str> = params.iter().map(String::as_str).collect();
                put_numeric(o, code, &me, &params, &text);
            }
            Query::Cap { sub, arg } => match sub.as_str() {
                "LS" => irc::put(o, irc::SERVER, "CAP", &[&me, "LS"], Some("")),
                "LIST" => irc::put(o, irc::SERVER, "CAP", &[&me, "LIST"], Some("")),
                "REQ" => irc::put(
                    o,
                    irc::SERVER,
                    "CAP",
                    &[&me, "NAK"],
                    Some(arg.as_deref().unwrap_or("")),
                ),
                "END" => {}
                _ => put_numeric(o, 410, &me, &[&sub], "Invalid CAP command"),
            },
            Query::Ping { token } => irc::put(o, irc::SERVER, "PONG", &[irc::SERVER], Some(&token)),
            Query::PingPeer => o.extend_from_slice(format!("PING :{}\r\n", irc::SERVER).as_bytes()),
            Query::Names { room } => self.names(o, &me, room.as_deref()),
            Query::Who { mask } => self.who_irc(o, &me, &mask),
            Query::Whois { nick } => self.whois(o, &me, &nick),
            Query::Ison { nicks } => {
                let on: Vec<&str> = nicks
                    .iter()
                    .filter_map(|n| self.chat.find(n).map(|c| self.chat.nick(c)))
                    .collect();
                put_numeric(o, 303, &me, &[], &on.join(" "));
            }
            Query::Userhost { nicks } => {
                let hosts: Vec<String> = nicks
                    .iter()
                    .filter_map(|n| self.chat.find(n))
                    .map(|c| {
                        let nick = self.chat.nick(c);
                        let mark = if self.away(c).is_some() { '-' } else { '+' };
                        format!("{nick}={mark}{nick}@{}", irc::SERVER)
                    })
                    .collect();
                put_numeric(o, 302, &me, &[], &hosts.join(" "));
            }
            Query::ChannelMode { room, change } => {
                let room = self.chat.room(&room).ok_or_else(|| no_room(&room))?;
                let chan = irc::channel(&room.name);
                match change.as_deref().map(|c| c.trim_start_matches('+')) {
                    None => {
                        let modes = if room.key.is_some() { "+k" } else { "+" };
                        put_numeric(o, 324, &me, &[&chan, modes], "");
                        out_pop_empty_trailing(o);
                    }
                    Some("b") => put_numeric(o, 368, &me, &[&chan], "End of channel ban list"),
                    Some("e") => {
                        put_numeric(o, 349, &me, &[&chan], "End of channel exception list")
                    }
                    Some("I") => put_numeric(o, 347, &me, &[&chan], "End of channel invite list"),
                    Some(other) => {
                        let c = other.chars().find(|c| *c != '-').unwrap_or('?').to_string();
                        put_numeric(
                            o,
                            472,
                            &me,
                            &[&c],
                            "is unknown mode char to me: keys are set when a room is created (JOIN #room key)",
                        );
                    }
                }
            }
            Query::UserMode { nick, change } => {
                if !nick.eq_ignore_ascii_case(&me) {
                    put_numeric(o, 502, &me, &[], "Cannot change mode for other users");
                } else if change.is_some_and(|c| c.trim_start_matches(['+', '-']) != "i") {
                    put_numeric(o, 501, &me, &[], "Unknown MODE flag");
                } else {
                    put_numeric(o, 221, &me, &["+"], "");
                    out_pop_empty_trailing(o);
                }
            }
            Query::Topic { room, set } => {
                let room = self.chat.room(&room).ok_or_else(|| no_room(&room))?;
                let chan = irc::channel(&room.name);
                if set {
                    irc::put(
                        o,
                        irc::SERVER,
                        "NOTICE",
                        &[&me],
                        Some(&format!("{chan}: Sala rooms have no topic")),
                    );
                } else {
                    put_numeric(o, 331, &me, &[&chan], "No topic is set");
                }
            }
            Query::Lusers => irc::lusers(o, &me, self.chat.user_count(), self.chat.rooms().count()),
            Query::Motd => irc::motd(o, &me, MOTD),
            Query::Away { text } => {
                let back = text.is_none();
                if let Some(user) = self.clients.get_mut(&id).and_then(|c| c.irc.as_mut()) {
                    user.away = text.map(|t| t.chars().take(200).collect());
                }
                if back {
                    put_numeric(o, 305, &me, &[], "You are no longer marked as being away");
                } else {
                    put_numeric(o, 306, &me, &[], "You have been marked as being away");
                }
            }
            // Applied as the message it carries, in `Dispatcher::command`.
            Query::Notice { .. } => {}
            Query::List => {
                put_numeric(o, 321, &me, &["Channel"], "Users  Name");
                let mut rooms: Vec<_> = self.chat.rooms().collect();
                rooms.sort_by(|a, b| a.name.cmp(&b.name));
                for room in rooms {
                    let lock = if room.key.is_some() {
                        ", key needed"
                    } else {
                        ""
                    };
                    put_numeric(
                        o,
                        322,
                        &me,
                        &[&irc::channel(&room.name), &room.members.len().to_string()],
                        &format!("owner {}{lock}", self.chat.owner_nick(room)),
                    );
                }
                put_numeric(o, 323, &me, &[], "End of /LIST");
            }
        }
        self.reply(id, out);
        Ok(())
    }

    /// The away message of `id`, if it is an IRC client marked away.
    pub(super) fn away(&self, id: ConnId) -> Option<&str> {
        self.clients.get(&id)?.irc.as_ref()?.away.as_deref()
    }

    fn names(&self, o: &mut Vec<u8>, me: &str, room: Option<&str>) {
        let Some(room) = room
            .and_then(|r| irc::room_of(r))
            .and_then(|r| self.chat.room(r))
        else {
            let chan = room.unwrap_or("*");
            put_numeric(o, 366, me, &[chan], "End of /NAMES list.");
            return;
        };
        let nicks: Vec<&str> = room.members.iter().map(|&m| self.chat.nick(m)).collect();
        irc::names(o, me, &room.name, self.chat.owner_nick(room), &nicks);
    }

    /// 352 for each member of a channel, or for one nick; then 315.
    fn who_irc(&self, o: &mut Vec<u8>, me: &str, mask: &str) {
        let (chan, ids): (String, Vec<ConnId>) =
            match irc::room_of(mask).and_then(|r| self.chat.room(r)) {
                Some(room) => (irc::channel(&room.name), room.members.clone()),
                None => ("*".to_string(), self.chat.find(mask).into_iter().collect()),
            };
        let owner = irc::room_of(mask)
            .and_then(|r| self.chat.room(r))
            .map(|room| self.chat.owner_nick(room).to_string());
        for id in ids {
            let nick = self.chat.nick(id);
            let here = if self.away(id).is_some() { "G" } else { "H" };
            let op = if owner
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case(nick))
            {
                "@"
            } else {
                ""
            };
            put_numeric(
                o,
                352,
                me,
                &[
                    &chan,
                    nick,
                    irc::SERVER,
                    irc::SERVER,
                    nick,
                    &format!("{here}{op}"),
                ],
                &format!("0 {nick}"),
            );
        }
        put_numeric(o, 315, me, &[mask], "End of /WHO list.");
    }

    fn whois(&self, o: &mut Vec<u8>, me: &str, nick: &str) {
        let Some(id) = self.chat.find(nick) else {
            put_numeric(o, 401, me, &[nick], "No such nick/channel");
            put_numeric(o, 318, me, &[nick], "End of /WHOIS list.");
            return;
        };
        let user = self.chat.user(id);
        let nick = self.chat.nick(id);
        put_numeric(o, 311, me, &[nick, nick, irc::SERVER, "*"], nick);
        let chans: Vec<String> = user
            .map(|u| {
                u.rooms
                    .iter()
                    .filter_map(|r| self.chat.room(r.as_str()))
                    .map(|room| {
                        let op = if self.chat.owns(id, room) { "@" } else { "" };
                        format!("{op}{}", irc::channel(&room.name))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !chans.is_empty() {
            put_numeric(o, 319, me, &[nick], &chans.join(" "));
        }
        let door = if self.clients.get(&id).is_some_and(|c| c.irc.is_some()) {
            "IRC"
        } else {
            "CHAT/1"
        };
        put_numeric(
            o,
            312,
            me,
            &[nick, irc::SERVER],
            &format!("Sala, over {door}"),
        );
        if let Some(away) = self.away(id) {
            put_numeric(o, 301, me, &[nick], away);
        }
        if user.is_some_and(|u| u.account) {
            put_numeric(o, 330, me, &[nick, nick], "is logged in as");
        }
        put_numeric(o, 318, me, &[nick], "End of /WHOIS list.");
    }
}

/// Numerics like 324 and 221 end with a parameter, not a text: drop the
/// empty trailing ` :` that [`put_numeric`] wrote.
fn out_pop_empty_trailing(o: &mut Vec<u8>) {
    if o.ends_with(b" :\r\n") {
        let n = o.len();
        o.truncate(n - 4);
        o.extend_from_slice(b"\r\n");
    }
}
