//! The dispatcher's answers to IRC-only requests ([`Query`]): they read the
//! same chat state as every CHAT/1 verb, in the same order, and answer the
//! asker alone with IRC numerics.

use super::accounts::Job;
use super::voice::Voice;
use super::{Dispatcher, no_room};
use crate::chat::ConnId;
use crate::chat::Room;
use crate::chat::moderation::{Flag, Role};
use crate::ids::RoomId;
use crate::proto::irc::replies::{self, Listed, MOTD, Seen, Whois};
use crate::proto::irc::sasl::Turn;
use crate::proto::irc::{
    self, Cap, Caps, Counts, Greeting, Member, Out, Query, Source, caps, put_numeric,
};
use crate::proto::refusal::{ErrCode, Refusal};
use std::time::Duration;

impl Dispatcher {
    /// The burst that ends an IRC client's registration.
    pub(super) fn welcome_irc(&mut self, id: ConnId) {
        self.irc_pending -= 1;
        self.count_peak();
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
        let Voice::Irc { me, server, caps } = self.voice(id) else {
            return Err(Refusal::new(
                ErrCode::UnknownCommand,
                "not an IRC connection",
            ));
        };
        // The listings cost their size (LIST, NAMES, WHO, WHOIS), as CHAT/1's do.
        let costly = matches!(
            query,
            Query::Names { .. } | Query::Who { .. } | Query::Whois { .. } | Query::List { .. }
        );
        let mut out = Vec::new();
        let o = &mut Out::new(&server, &mut out);
        match query {
            Query::Numeric { code, params, text } => {
                let params: Vec<&str> = params.iter().map(String::as_str).collect();
                put_numeric(o, code, &me, &params, &text);
            }
            Query::Cap { sub, arg } => self.cap(id, o, &me, &sub, arg.as_deref()),
            Query::Authenticate { data } => self.authenticate(id, o, &me, &data),
            Query::User { user, real } => {
                self.chat.set_ident(id, Some(&user), "");
                if let Some(irc) = self.clients.get_mut(&id).and_then(|c| c.irc.as_mut()) {
                    irc.user = user;
                    irc.real = real;
                }
            }
            Query::Ping { token } => replies::pong(o, &token),
            Query::PingPeer => replies::ping(o),
            Query::LoginTimeout { limit } => self.registration_deadline(id, limit),
            Query::Names { room } => self.names(id, o, &me, room.as_deref(), caps),
            Query::Who { mask, whox } => self.who_irc(id, o, &me, &mask, whox.as_deref()),
            Query::Whois { nick } => self.whois(id, o, &me, &nick),
            Query::Ison { nicks } => self.ison(o, &me, &nicks),
            Query::Userhost { nicks } => self.userhost(o, &me, &nicks),
            Query::ChannelMode { room, modes } => {
                // Changes are told to the whole channel, not only the asker.
                return self.channel_mode(id, &me, &room, &modes);
            }
            Query::UserMode { nick, change } => {
                // `+i`: hidden from WHO masks of users who share no channel.
                if nick.eq_ignore_ascii_case(&me)
                    && let Some(c) = change
                        .as_deref()
                        .filter(|c| c.trim_start_matches(['+', '-']) == "i")
                    && let Some(irc) = self.clients.get_mut(&id).and_then(|c| c.irc.as_mut())
                {
                    irc.invisible = c.starts_with('+') || !c.starts_with('-');
                }
                replies::user_mode(o, &me, &nick, change.as_deref());
            }
            Query::Topic { room } => {
                let room = self
                    .chat
                    .room(&room)
                    .filter(|r| self.chat.visible(id, r))
                    .ok_or_else(|| no_room(&room))?;
                let topic = room.mods.topic.as_ref();
                replies::topic(
                    o,
                    &me,
                    &room.name,
                    topic.map(|t| (t.text.as_str(), t.by.as_str(), t.at)),
                );
            }
            // Applied as a command of its own, in `Dispatcher::command`.
            Query::Oper { .. } => {}
            Query::Lusers => irc::lusers(o, &me, &self.counts()),
            Query::Motd => irc::motd(o, &me, MOTD),
            Query::Away { text } => self.set_away(id, o, &me, text),
            // Applied as the message it carries, in `Dispatcher::command`.
            Query::Notice { .. } | Query::Ircv3(_) => {}
            Query::List { filter } => self.list(id, o, &me, filter.as_deref()),
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
        self.ident(id).map(|(user, _)| user)
    }

    /// The username and realname `USER` gave, of IRC client `id`.
    pub(super) fn ident(&self, id: ConnId) -> Option<(&str, &str)> {
        let user = self.clients.get(&id)?.irc.as_ref()?;
        (!user.user.is_empty()).then_some((user.user.as_str(), user.real.as_str()))
    }

    /// True if `nick` is exactly the nick IRC client `id` has already.
    pub(super) fn is_irc_nick(&self, id: ConnId, nick: &str) -> bool {
        self.clients
            .get(&id)
            .and_then(|c| c.irc.as_ref())
            .is_some_and(|user| user.welcomed && self.chat.nick(id) == nick)
    }

    /// Notes how many users are registered now, for the most at once.
    pub(super) fn count_peak(&mut self) {
        let users = self.chat.user_count() - self.irc_pending;
        self.peak_users = self.peak_users.max(users);
    }

    /// The members of `room` as `NAMES` shows them, the owner as operator.
    pub(super) fn members_of<'a>(&'a self, room: &'a Room) -> Vec<Member<'a>> {
        room.members
            .iter()
            .map(|&m| {
                let nick = self.chat.nick(m);
                let (op, voice) = self.roles_in(m, room);
                Member {
                    nick,
                    from: self.source(nick),
                    op,
                    voice,
                }
            })
            .collect()
    }

    /// Whether `id` shows as an operator (owner, or given `op`) and as
    /// voiced in `room`.
    pub(super) fn roles_in(&self, id: ConnId, room: &Room) -> (bool, bool) {
        let op = self.chat.owns(id, room) || self.chat.holds(id, room, Role::Op);
        (op, self.chat.holds(id, room, Role::Voice))
    }

    /// What `LUSERS` says.
    fn counts(&self) -> Counts {
        Counts {
            users: self.chat.user_count() - self.irc_pending,
            unknown: self.irc_pending,
            max: self.peak_users,
            rooms: self.chat.rooms().count(),
        }
    }

    /// True if `id` is an IRC client with user mode `+i`.
    fn invisible(&self, id: ConnId) -> bool {
        self.clients
            .get(&id)
            .and_then(|c| c.irc.as_ref())
            .is_some_and(|user| user.invisible)
    }

    /// The away message of `id`, if it is an IRC client marked away.
    pub(super) fn away(&self, id: ConnId) -> Option<&str> {
        self.clients.get(&id)?.irc.as_ref()?.away.as_deref()
    }

    /// `CAP LS`, `LIST`, `REQ` (taken whole or refused whole) and `END`.
    fn cap(&mut self, id: ConnId, o: &mut Out<'_>, me: &str, sub: &str, arg: Option<&str>) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        let outbox = &client.outbox;
        let Some(user) = client.irc.as_mut() else {
            return;
        };
        match sub {
            "LS" => {
                let v302 = arg.and_then(|v| v.parse::<u32>().ok()) >= Some(302);
                if v302 {
                    // A 302 client gets cap-notify without asking.
                    user.caps.add(Cap::CapNotify);
                }
                replies::cap(o, me, "LS", &caps::offered(v302));
            }
            "LIST" => replies::cap(o, me, "LIST", &user.caps.names()),
            "REQ" => {
                let asked = arg.unwrap_or_default();
                match user.caps.request(asked) {
                    Some(caps) => {
                        user.caps = caps;
                        // How shared events look to it: tags, echoes, the extended JOIN.
                        outbox.set_flavor(caps.flavor());
                        replies::cap(o, me, "ACK", asked);
                    }
                    None => replies::cap(o, me, "NAK", asked),
                }
            }
            "END" => {}
            _ => replies::cap_unknown(o, me, sub),
        }
    }

    /// `NAMES #a[,#b...]`: the members of each channel that exists, then
    /// one 366 naming the list as sent.
    /// `AUTHENTICATE`: a step of SASL PLAIN; the password goes to the worker.
    fn authenticate(&mut self, id: ConnId, o: &mut Out<'_>, me: &str, data: &str) {
        let Some(user) = self.clients.get_mut(&id).and_then(|c| c.irc.as_mut()) else {
            return;
        };
        if user.sasl_account.is_some() {
            return replies::sasl(o, me, 907, "You have already authenticated using SASL");
        }
        match user.sasl.take(data) {
            Turn::Go => replies::authenticate_go(o),
            Turn::More => {}
            Turn::Check { account, password } => {
                if let Err(text) = self.check_sasl(id, &account, password) {
                    replies::sasl(o, me, 904, &text);
                }
            }
            Turn::Fail { mechanisms } => {
                if mechanisms {
                    put_numeric(o, 908, me, &["PLAIN"], "are available SASL mechanisms");
                }
                replies::sasl(o, me, 904, "SASL authentication failed");
            }
            Turn::TooLong => replies::sasl(o, me, 905, "SASL message too long"),
            Turn::Aborted => replies::sasl(o, me, 906, "SASL authentication aborted"),
        }
    }

    /// Hands a SASL PLAIN password to the workers, under the same waits
    /// between wrong tries as `PASS` and `NICK nick password` (logins.rs).
    ///
    /// # Errors
    /// Why the try is refused unchecked: no such account, a wait, busy workers.
    fn check_sasl(&mut self, id: ConnId, account: &str, password: String) -> Result<(), String> {
        let failed = "SASL authentication failed".to_string();
        let Some((name, hash)) = self.accounts.get(&account.to_ascii_lowercase()) else {
            return Err(failed);
        };
        let job = Job::Sasl {
            id,
            account: name.clone(),
            password,
            hash: hash.clone(),
        };
        let from = self.clients.get(&id).map(|c| c.peer.ip()).ok_or(failed)?;
        let now = (self.clock)();
        if let Err(wait) = self.tries.admit(id, account, from, now) {
            return Err(format!(
                "SASL authentication failed: too many wrong passwords, try again in {} s",
                wait.seconds()
            ));
        }
        self.ask(id, job, "checking passwords").map_err(|refusal| {
            self.tries.withdraw(id);
            refusal.text
        })
    }

    /// The password worker's answer to a SASL PLAIN: 900 and 903, or 904.
    pub(super) fn sasl_checked(&mut self, id: ConnId, account: String, ok: bool) {
        let now = (self.clock)();
        // Counted even if the connection has gone meanwhile.
        self.tries.settle(id, ok, now);
        let Voice::Irc { me, server, .. } = self.voice(id) else {
            return;
        };
        let mut out = Vec::new();
        let o = &mut Out::new(&server, &mut out);
        if ok {
            let user = self.ident(id).map_or("*", |(user, _)| user);
            let mask = format!("{me}!{user}@{server}");
            replies::logged_in(o, &me, &mask, &account);
            replies::sasl(o, &me, 903, "SASL authentication successful");
            if let Some(irc) = self.clients.get_mut(&id).and_then(|c| c.irc.as_mut()) {
                irc.sasl_account = Some(account);
            }
        } else {
            replies::sasl(o, &me, 904, "SASL authentication failed");
        }
        self.reply(id, out);
    }

    /// The account `id` is logged in to: its nick's, or for an IRC client
    /// the one SASL logged it in to (whatever its nick).
    pub(super) fn account_of(&self, id: ConnId) -> Option<&str> {
        let user = self.chat.user(id)?;
        if user.account {
            return Some(&user.nick);
        }
        self.clients.get(&id)?.irc.as_ref()?.sasl_account.as_deref()
    }

    /// True if `nick` is the account IRC client `id` logged in to with SASL.
    pub(super) fn is_sasl_account(&self, id: ConnId, nick: &str) -> bool {
        self.clients
            .get(&id)
            .and_then(|c| c.irc.as_ref()?.sasl_account.as_deref())
            .is_some_and(|account| account.eq_ignore_ascii_case(nick))
    }

    fn names(&self, id: ConnId, o: &mut Out<'_>, me: &str, chans: Option<&str>, caps: Caps) {
        let Some(chans) = chans else {
            return replies::no_names(o, me, "*");
        };
        for chan in chans.split(',').take(irc::MAX_TARGETS) {
            if let Some(room) = irc::room_of(chan)
                .and_then(|r| self.chat.room(r))
                .filter(|r| self.chat.visible(id, r))
            {
                let style = names_style(caps, room);
                irc::name_lines(o, me, &room.name, &self.members_of(room), style);
            }
        }
        replies::no_names(o, me, chans);
    }

    /// `WHO`: the members of a channel, or the users whose nick matches a
    /// mask (`*` and `?`; `*` or `0` alone: everyone registered).
    fn who_irc(&self, asker: ConnId, o: &mut Out<'_>, me: &str, mask: &str, whox: Option<&str>) {
        let room = irc::room_of(mask)
            .and_then(|r| self.chat.room(r))
            .filter(|r| self.chat.visible(asker, r));
        let (chan, ids): (String, Vec<ConnId>) = match room {
            Some(room) => (irc::channel(&room.name), room.members.clone()),
            None if mask.starts_with(['#', '&']) => ("*".to_string(), Vec::new()),
            None => {
                let all = mask == "0";
                let exact = !mask.contains(['*', '?']);
                let shared = self.chat.audience(asker);
                let found = self
                    .chat
                    .users()
                    .filter(|&(id, u)| self.registered(id) && (all || irc::glob(mask, &u.nick)))
                    // An invisible user (+i) is found by its nick, or by
                    // whoever shares a channel with it.
                    .filter(|&(id, _)| exact || !self.invisible(id) || shared.contains(&id))
                    .map(|(id, _)| id);
                let mut found: Vec<ConnId> = found.collect();
                found.sort_by_cached_key(|&id| self.chat.nick(id).to_ascii_lowercase());
                ("*".to_string(), found)
            }
        };
        let users: Vec<Seen<'_>> = ids
            .into_iter()
            .map(|id| {
                let nick = self.chat.nick(id);
                let (user, real) = self.ident(id).unwrap_or((nick, nick));
                Seen {
                    nick,
                    user,
                    real,
                    away: self.away(id).is_some(),
                    oper: self.chat.is_admin(id),
                    prefix: room.map_or("", |room| {
                        let (op, voice) = self.roles_in(id, room);
                        irc::prefixes(op, voice, true)
                    }),
                    account: self.account_of(id),
                }
            })
            .collect();
        replies::who(o, me, (mask, whox), &chan, &users);
    }

    /// False for an IRC client still registering (its nick is a placeholder).
    fn registered(&self, id: ConnId) -> bool {
        self.clients
            .get(&id)
            .is_some_and(|c| c.irc.as_ref().is_none_or(|user| user.welcomed))
    }

    fn whois(&self, asker: ConnId, o: &mut Out<'_>, me: &str, nick: &str) {
        let Some(id) = self.chat.find(nick) else {
            return replies::whois_nobody(o, me, nick);
        };
        let user = self.chat.user(id);
        let rooms = user
            .map(|u| {
                u.rooms
                    .iter()
                    .filter_map(|r| self.chat.room(r.as_str()))
                    .filter(|room| self.chat.visible(asker, room))
                    .map(|room| {
                        let (op, voice) = self.roles_in(id, room);
                        (room.name.as_str(), irc::prefixes(op, voice, true))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let nick = self.chat.nick(id);
        let (user_name, real) = self.ident(id).unwrap_or((nick, nick));
        let whois = Whois {
            nick,
            user: user_name,
            real,
            rooms,
            over_irc: self.clients.get(&id).is_some_and(|c| c.irc.is_some()),
            away: self.away(id),
            account: self.account_of(id),
            oper: self.chat.is_admin(id),
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
        let online: Vec<(&str, &str, bool)> = nicks
            .iter()
            .filter_map(|n| self.chat.find(n))
            .map(|c| {
                let nick = self.chat.nick(c);
                let user = self.ident(c).map_or(nick, |(user, _)| user);
                (nick, user, self.away(c).is_some())
            })
            .collect();
        replies::userhost(o, me, &online);
    }

    fn set_away(&mut self, id: ConnId, o: &mut Out<'_>, me: &str, text: Option<String>) {
        let back = text.is_none();
        if let Some(user) = self.clients.get_mut(&id).and_then(|c| c.irc.as_mut()) {
            user.away = text.map(|t| t.chars().take(200).collect());
        }
        replies::away(o, me, back);
        let peers: Vec<ConnId> = self.chat.audience(id);
        self.tell_away(id, &peers);
    }

    /// `away-notify`: tells `peers` that have it (not `id` itself) whether
    /// `id` is away, and why.
    pub(super) fn tell_away(&mut self, id: ConnId, peers: &[ConnId]) {
        let nick = self.chat.nick(id);
        let line = replies::away_line(nick, &self.source(nick), self.away(id));
        let told: Vec<ConnId> = peers
            .iter()
            .copied()
            .filter(|&p| p != id && self.has_cap(p, Cap::AwayNotify))
            .collect();
        for peer in told {
            self.reply(peer, line.clone());
        }
    }

    /// `away-notify`: a user who is away joined `room`; its members are told.
    pub(super) fn joined_away(&mut self, id: ConnId, room: &RoomId) {
        if self.away(id).is_none() {
            return;
        }
        let members = self.routes.lock().get(room).map_or(Vec::new(), |outboxes| {
            outboxes.iter().map(|o| o.id()).collect::<Vec<ConnId>>()
        });
        self.tell_away(id, &members);
    }

    /// True if `id` is an IRC client that enabled `cap`.
    pub(super) fn has_cap(&self, id: ConnId, cap: Cap) -> bool {
        self.clients
            .get(&id)
            .and_then(|c| c.irc.as_ref())
            .is_some_and(|user| user.caps.has(cap))
    }

    fn list(&self, id: ConnId, o: &mut Out<'_>, me: &str, filter: Option<&str>) {
        let mut rooms: Vec<_> = self
            .chat
            .rooms()
            .filter(|r| self.chat.visible(id, r))
            .filter(|r| {
                filter.is_none_or(|f| replies::listed(f, &irc::channel(&r.name), r.members.len()))
            })
            .collect();
        rooms.sort_by(|a, b| a.name.cmp(&b.name));
        let listed: Vec<Listed<'_>> = rooms
            .into_iter()
            .map(|room| Listed {
                room: &room.name,
                members: room.members.len(),
                owner: self.chat.owner_nick(room),
                keyed: room.key.is_some(),
                topic: room.mods.topic.as_ref().map(|t| t.text.as_str()),
            })
            .collect();
        replies::list(o, me, &listed);
    }
}

/// How a client that enabled `caps` is shown the members of `room`.
pub(super) fn names_style(caps: Caps, room: &Room) -> irc::NamesStyle {
    irc::NamesStyle {
        userhost: caps.has(Cap::UserhostInNames),
        multi: caps.has(Cap::MultiPrefix),
        secret: room.mods.is(Flag::Secret),
    }
}
