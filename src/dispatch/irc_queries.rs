//! The dispatcher's answers to IRC-only requests ([`Query`]): they read the
//! same chat state as every CHAT/1 verb, in the same order, and answer the
//! asker alone with IRC numerics.

use super::voice::Voice;
use super::{Dispatcher, no_room};
use crate::chat::ConnId;
use crate::chat::Room;
use crate::proto::irc::replies::{self, Listed, MOTD, Seen, Whois};
use crate::proto::irc::{self, Counts, Greeting, Member, Out, Query, Source, put_numeric};
use crate::proto::refusal::{ErrCode, Refusal};
use std::time::Duration;

impl Dispatcher {
    /// The burst that ends an IRC client's registration.
    pub(super) fn welcome_irc(&mut self, id: ConnId) {
        let me = self.chat.nick(id).to_string();
        let mut out = Vec::new();
        let greeting = Greeting {
            version: concat!("sala-", env!("CARGO_PKG_VERSION")),
            created: &self.started,
            motd: MOTD,
            me: self.source(&me),
            counts: self.counts(),
        };
        irc::welcome(&mut Out::new(&self.server, &mut out), &me, &greeting);
        self.reply(id, out);
    }

    /// An IRC client's login deadline has passed: unless its registration
    /// is over, it is dropped with `ERROR :Closing link: login timeout: ...`.
    pub(super) fn registration_deadline(&mut self, id: ConnId, limit: Duration) {
        let Some(client) = self.clients.get(&id) else {
            return;
        };
        if client.irc.as_ref().is_some_and(|user| user.welcomed) {
            return;
        }
        let bye = format!("login timeout: registration not completed within {limit:?}");
        self.remove(id, "login timeout", &bye);
    }

    /// One arm per IRC-only request; each answers the asker alone.
    pub(super) fn irc(&mut self, id: ConnId, query: Query) -> Result<(), Refusal> {
        let Voice::Irc { me, server } = self.voice(id) else {
            return Err(Refusal::new(
                ErrCode::UnknownCommand,
                "not an IRC connection",
            ));
        };
        // The listings cost their size (LIST, NAMES, WHO, WHOIS), as CHAT/1's do.
        let costly = matches!(
            query,
            Query::Names { .. } | Query::Who { .. } | Query::Whois { .. } | Query::List
        );
        let mut out = Vec::new();
        let o = &mut Out::new(&server, &mut out);
        match query {
            Query::Numeric { code, params, text } => {
                let params: Vec<&str> = params.iter().map(String::as_str).collect();
                put_numeric(o, code, &me, &params, &text);
            }
            Query::Cap { sub, arg } => replies::cap(o, &me, &sub, arg.as_deref()),
            Query::Ping { token } => replies::pong(o, &token),
            Query::PingPeer => replies::ping(o),
            Query::LoginTimeout { limit } => self.registration_deadline(id, limit),
            Query::Names { room } => self.names(o, &me, room.as_deref()),
            Query::Who { mask } => self.who_irc(o, &me, &mask),
            Query::Whois { nick } => self.whois(o, &me, &nick),
            Query::Ison { nicks } => self.ison(o, &me, &nicks),
            Query::Userhost { nicks } => self.userhost(o, &me, &nicks),
            Query::ChannelMode { room, change } => {
                let room = self.chat.room(&room).ok_or_else(|| no_room(&room))?;
                replies::channel_mode(o, &me, &room.name, room.key.is_some(), change.as_deref());
            }
            Query::UserMode { nick, change } => {
                replies::user_mode(o, &me, &nick, change.as_deref());
            }
            Query::Topic { room, set } => {
                let room = self.chat.room(&room).ok_or_else(|| no_room(&room))?;
                replies::topic(o, &me, &room.name, set);
            }
            Query::Lusers => irc::lusers(o, &me, &self.counts()),
            Query::Motd => irc::motd(o, &me, MOTD),
            Query::Away { text } => self.set_away(id, o, &me, text),
            // Applied as the message it carries, in `Dispatcher::command`.
            Query::Notice { .. } => {}
            Query::List => self.list(o, &me),
        }
        if costly {
            self.reply_charged(id, out);
        } else {
            self.reply(id, out);
        }
        Ok(())
    }

    /// The `user@host` of the user called `nick`.
    pub(super) fn source<'a>(&'a self, nick: &'a str) -> Source<'a> {
        Source {
            user: self.username(nick).unwrap_or(nick),
            host: &self.server,
        }
    }

    /// The username `USER` gave, of the IRC user called `nick`; `None` for
    /// a CHAT/1 user (whose username is its nick) or nobody.
    pub(super) fn username(&self, nick: &str) -> Option<&str> {
        let id = self.chat.find(nick)?;
        let _ = self.clients.get(&id)?.irc.as_ref()?;
        None
    }

    /// The members of `room` as `NAMES` shows them, the owner as operator.
    pub(super) fn members_of<'a>(&'a self, room: &'a Room) -> Vec<Member<'a>> {
        let owner = self.chat.owner_nick(room);
        room.members
            .iter()
            .map(|&m| {
                let nick = self.chat.nick(m);
                Member {
                    nick,
                    from: self.source(nick),
                    op: nick.eq_ignore_ascii_case(owner),
                }
            })
            .collect()
    }

    /// What `LUSERS` says.
    fn counts(&self) -> Counts {
        Counts {
            users: self.chat.user_count(),
            unknown: 0,
            max: self.chat.user_count(),
            rooms: self.chat.rooms().count(),
        }
    }

    /// The away message of `id`, if it is an IRC client marked away.
    pub(super) fn away(&self, id: ConnId) -> Option<&str> {
        self.clients.get(&id)?.irc.as_ref()?.away.as_deref()
    }

    fn names(&self, o: &mut Out<'_>, me: &str, room: Option<&str>) {
        let Some(room) = room
            .and_then(|r| irc::room_of(r))
            .and_then(|r| self.chat.room(r))
        else {
            return replies::no_names(o, me, room.unwrap_or("*"));
        };
        irc::names(o, me, &room.name, &self.members_of(room), false);
    }

    /// The members of a channel, or the one user of a nick.
    fn who_irc(&self, o: &mut Out<'_>, me: &str, mask: &str) {
        let room = irc::room_of(mask).and_then(|r| self.chat.room(r));
        let (chan, ids): (String, Vec<ConnId>) = match room {
            Some(room) => (irc::channel(&room.name), room.members.clone()),
            None => ("*".to_string(), self.chat.find(mask).into_iter().collect()),
        };
        let users: Vec<Seen<'_>> = ids
            .into_iter()
            .map(|id| Seen {
                nick: self.chat.nick(id),
                away: self.away(id).is_some(),
                op: room.is_some_and(|room| self.chat.owns(id, room)),
            })
            .collect();
        replies::who(o, me, mask, &chan, &users);
    }

    fn whois(&self, o: &mut Out<'_>, me: &str, nick: &str) {
        let Some(id) = self.chat.find(nick) else {
            return replies::whois_nobody(o, me, nick);
        };
        let user = self.chat.user(id);
        let rooms = user
            .map(|u| {
                u.rooms
                    .iter()
                    .filter_map(|r| self.chat.room(r.as_str()))
                    .map(|room| (room.name.as_str(), self.chat.owns(id, room)))
                    .collect()
            })
            .unwrap_or_default();
        let whois = Whois {
            nick: self.chat.nick(id),
            rooms,
            over_irc: self.clients.get(&id).is_some_and(|c| c.irc.is_some()),
            away: self.away(id),
            account: user.is_some_and(|u| u.account),
        };
        replies::whois(o, me, &whois);
    }

    fn ison(&self, o: &mut Out<'_>, me: &str, nicks: &[String]) {
        let online: Vec<&str> = nicks
            .iter()
            .filter_map(|n| self.chat.find(n).map(|c| self.chat.nick(c)))
            .collect();
        replies::ison(o, me, &online);
    }

    fn userhost(&self, o: &mut Out<'_>, me: &str, nicks: &[String]) {
        let online: Vec<(&str, bool)> = nicks
            .iter()
            .filter_map(|n| self.chat.find(n))
            .map(|c| (self.chat.nick(c), self.away(c).is_some()))
            .collect();
        replies::userhost(o, me, &online);
    }

    fn set_away(&mut self, id: ConnId, o: &mut Out<'_>, me: &str, text: Option<String>) {
        let back = text.is_none();
        if let Some(user) = self.clients.get_mut(&id).and_then(|c| c.irc.as_mut()) {
            user.away = text.map(|t| t.chars().take(200).collect());
        }
        replies::away(o, me, back);
    }

    fn list(&self, o: &mut Out<'_>, me: &str) {
        let mut rooms: Vec<_> = self.chat.rooms().collect();
        rooms.sort_by(|a, b| a.name.cmp(&b.name));
        let listed: Vec<Listed<'_>> = rooms
            .into_iter()
            .map(|room| Listed {
                room: &room.name,
                members: room.members.len(),
                owner: self.chat.owner_nick(room),
                keyed: room.key.is_some(),
            })
            .collect();
        replies::list(o, me, &listed);
    }
}
