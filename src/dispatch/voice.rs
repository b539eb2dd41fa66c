//! One renderer per protocol. The dispatcher decides what a connection is
//! told (an event, a refusal, a member list, a history page) and asks that
//! connection's [`Voice`] for the bytes; nothing else in the dispatcher knows
//! how CHAT/1 or IRC look. Events for many recipients are rendered once per
//! protocol in use ([`Shared`]), and every recipient gets a pointer.

use crate::ids::{ConnId, Protocol};
use crate::net::outbox::{Bytes, Outbox};
use crate::proto::chat1::{self, Event};
use crate::proto::irc::caps::{
    FLAVOR_ACCOUNT, FLAVOR_ECHO, FLAVOR_EXTENDED_JOIN, FLAVOR_FORM, FLAVOR_TAGS, FLAVOR_TIME,
};
use crate::proto::irc::tags::MsgId;
use crate::proto::irc::{self, Cap, Caps, Member, Out, Source, Subject};
use crate::proto::refusal::Refusal;
use crate::store::Entry;
use crate::store::now_ms;
use std::cell::RefCell;
use std::sync::Arc;

/// How a message came, which IRC shows: a `PRIVMSG` or a `NOTICE` (never
/// answered with an error, RFC 2812, 3.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tone {
    Said,
    Noticed,
}

/// How one connection is spoken to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Voice {
    /// CHAT/1 lines.
    Chat1,
    /// IRC lines to the nick `me` (`*` before registration ends), from the
    /// server called `server`.
    Irc {
        me: String,
        server: Arc<str>,
        /// The IRCv3 capabilities the client enabled.
        caps: Caps,
    },
}

impl Voice {
    /// Appends `event`.
    pub(super) fn event(&self, event: &Event<'_>, out: &mut Vec<u8>) {
        match self {
            Voice::Chat1 => chat1::encode_into(event, out),
            Voice::Irc { me, server, .. } => irc::render_for(event, me, &mut Out::new(server, out)),
        }
    }

    /// Appends the refusal of a command about `subject` (its channel or nick,
    /// which IRC numerics name).
    pub(super) fn refusal(&self, refusal: &Refusal, subject: &Subject, out: &mut Vec<u8>) {
        match self {
            Voice::Chat1 => chat1::encode_into(
                &Event::Err {
                    code: refusal.code,
                    text: &refusal.text,
                },
                out,
            ),
            Voice::Irc { me, server, .. } => {
                irc::refusal(&mut Out::new(server, out), me, refusal, subject);
            }
        }
    }

    /// Appends the member list of `room` (`secret`: IRC marks it `@`).
    pub(super) fn members(
        &self,
        room: &str,
        members: &[Member<'_>],
        secret: bool,
        out: &mut Vec<u8>,
    ) {
        match self {
            Voice::Chat1 => {
                let nicks: Vec<&str> = members.iter().map(|m| m.nick).collect();
                chat1::encode_members(room, &nicks, out);
            }
            Voice::Irc { me, server, caps } => {
                let style = irc::NamesStyle {
                    userhost: caps.has(Cap::UserhostInNames),
                    multi: caps.has(Cap::MultiPrefix),
                    secret,
                };
                irc::names(&mut Out::new(server, out), me, room, members, style);
            }
        }
    }

    /// Appends what a joiner of `room` is told besides its `JOIN`: IRC the
    /// topic (332, 333), the names and the history; CHAT/1 the members, the
    /// history and then the topic, after the lines older clients wait for.
    pub(super) fn joined(
        &self,
        room: &str,
        topic: Option<(&str, &str, u64)>,
        members: &[Member<'_>],
        secret: bool,
        recent: &[Entry],
        out: &mut Vec<u8>,
    ) {
        match self {
            Voice::Chat1 => {
                self.members(room, members, secret, out);
                self.history(room, recent, true, out);
                if let Some((text, by, at)) = topic {
                    let event = Event::Topic {
                        room,
                        by,
                        at,
                        text: Some(text),
                    };
                    self.event(&event, out);
                }
            }
            Voice::Irc { me, server, .. } => {
                if topic.is_some() {
                    irc::replies::topic(&mut Out::new(server, out), me, room, topic);
                }
                self.members(room, members, secret, out);
                self.history(room, recent, true, out);
            }
        }
    }

    /// Appends the answer to the inviter of `nick` into `room`: IRC's 341
    /// (CHAT/1 inviters are members, and see the `INVITED` line).
    pub(super) fn invited(&self, room: &str, nick: &str, out: &mut Vec<u8>) {
        if let Voice::Irc { me, server, .. } = self {
            irc::replies::inviting(&mut Out::new(server, out), me, nick, room);
        }
    }

    /// Appends the answer to IRC's `OPER`: 381, or 464.
    pub(super) fn opered(&self, ok: bool, out: &mut Vec<u8>) {
        if let Voice::Irc { me, server, .. } = self {
            irc::replies::opered(&mut Out::new(server, out), me, ok);
        }
    }

    /// Appends the list of everyone online. `USERS` is a CHAT/1 verb (IRC
    /// asks with `WHO` and `LUSERS`), so its lines are CHAT/1's.
    pub(super) fn users(&self, nicks: &[&str], out: &mut Vec<u8>) {
        chat1::encode_users(nicks, out);
    }

    /// Appends a page of `room`'s history, then its end. After a join, IRC
    /// says nothing of an empty history (`joining`), nor of any to a client
    /// that asks with `CHATHISTORY`; CHAT/1 always ends it.
    pub(super) fn history(&self, room: &str, entries: &[Entry], joining: bool, out: &mut Vec<u8>) {
        if joining && entries.is_empty() && matches!(self, Voice::Irc { .. }) {
            return;
        }
        // A draft/chathistory client asks for the history it wants.
        if joining && matches!(self, Voice::Irc { caps, .. } if caps.has(Cap::ChatHistory)) {
            return;
        }
        for e in entries {
            let event = Event::History {
                room,
                at: e.at,
                nick: &e.nick,
                text: &e.text,
            };
            self.event(&event, out);
        }
        self.event(&Event::EndHistory { room }, out);
    }

    /// Appends the answer to a whisper to `account`, who is offline: CHAT/1
    /// echoes the whisper as sent; IRC has no echo, so the server says it waits.
    pub(super) fn kept_for_later(&self, from: &str, account: &str, text: &str, out: &mut Vec<u8>) {
        match self {
            Voice::Chat1 => self.event(
                &Event::Whisper {
                    from,
                    to: account,
                    text,
                },
                out,
            ),
            Voice::Irc { me, server, .. } => irc::replies::server_notice(
                &mut Out::new(server, out),
                me,
                &format!("{account} is offline: your message waits for their next login"),
            ),
        }
    }

    /// Appends IRC's "is away" (301) after a message to `nick`; CHAT/1 has no such line.
    pub(super) fn away(&self, nick: &str, away: &str, out: &mut Vec<u8>) {
        if let Voice::Irc { me, server, .. } = self {
            irc::put_numeric(&mut Out::new(server, out), 301, me, &[nick], away);
        }
    }

    /// Appends the news that `room` was deleted by `by`; an IRC client that
    /// was not in the channel has no window to close.
    pub(super) fn closed(&self, room: &str, by: &str, was_member: bool, out: &mut Vec<u8>) {
        if was_member || *self == Voice::Chat1 {
            self.event(&Event::Closed { room, by }, out);
        }
    }

    /// How to log in to registered `nick`, in this protocol's words.
    pub(super) fn login_hint(&self, nick: &str) -> String {
        match self {
            Voice::Chat1 => format!("NICK {nick} <password>"),
            Voice::Irc { .. } => {
                "connect with its password as the server password (PASS)".to_string()
            }
        }
    }
}

/// Whom an event comes from, as IRC shows it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Origin<'a> {
    /// Its `user@host`.
    pub(super) source: Source<'a>,
    /// The account it is logged in to (`@account=`, `extended-join`).
    pub(super) account: Option<&'a str>,
    /// Its realname (`extended-join`).
    pub(super) real: &'a str,
}

/// An event rendered once per protocol in use, shared by all its recipients.
#[derive(Debug)]
pub(super) struct Shared {
    /// The CHAT/1 form: `None` for what only IRCv3 clients see (`TAGMSG`, `SETNAME`).
    chat: Option<Bytes>,
    /// The flavor bits an IRC client needs to get it at all (0: every one).
    needs: u32,
    /// The IRC form: `None` when no IRC client is connected, or IRC does not show it.
    irc: Option<Bytes>,
    /// What IRC clients with capabilities get besides: tags, the extended `JOIN`.
    extras: Option<Extras>,
    /// Forms made for IRC clients with capabilities, by flavor, made once each.
    made: RefCell<Vec<(u32, Bytes)>>,
    /// The client whose message this is: IRC sends no echo of one's own
    /// messages, unless the client asked for `echo-message`.
    author: Option<ConnId>,
}

/// The makings of an event's other IRC forms.
#[derive(Debug)]
struct Extras {
    /// When the server relayed it (unix ms), for `@time=`.
    at: u64,
    /// The account of its author, for `@account=`.
    account: Option<String>,
    /// The `extended-join` form of a `JOIN`.
    join: Option<Vec<u8>>,
    /// Its `msgid` (message-tags), written only into the forms that show it.
    msgid: Option<MsgId>,
    /// The client-only tags its author sent, relayed to message-tags clients.
    client: Option<String>,
}

impl Shared {
    /// Renders `event` for CHAT/1, and for IRC when an IRC client is
    /// connected: then `irc` says whom the event comes from.
    pub(super) fn new(event: &Event<'_>, tone: Tone, irc: Option<&Origin<'_>>) -> Shared {
        let rendered = match (irc, tone) {
            (None, _) => None,
            (Some(from), Tone::Said) => irc::render_shared(event, &from.source),
            (Some(from), Tone::Noticed) => irc::render_notice(event, &from.source),
        };
        let extras = irc.filter(|_| rendered.is_some()).map(|from| {
            let account = from.account;
            Extras {
                at: now_ms(),
                account: account.map(str::to_string),
                join: match *event {
                    Event::Join { room, nick } => Some(irc::extended_join(
                        room,
                        nick,
                        &from.source,
                        account,
                        from.real,
                    )),
                    _ => None,
                },
                msgid: None,
                client: None,
            }
        });
        Shared {
            chat: Some(Bytes::from(chat1::encode(event))),
            needs: 0,
            irc: rendered.map(Bytes::from),
            extras,
            made: RefCell::new(Vec::new()),
            author: None,
        }
    }

    /// An IRC line only clients with flavor bits `needs` get (no CHAT/1
    /// form), from a user logged in to `account`.
    pub(super) fn irc_only(line: Vec<u8>, needs: u32, account: Option<&str>) -> Shared {
        Shared {
            chat: None,
            needs,
            irc: Some(Bytes::from(line)),
            extras: Some(Extras {
                at: now_ms(),
                account: account.map(str::to_string),
                join: None,
                msgid: None,
                client: None,
            }),
            made: RefCell::new(Vec::new()),
            author: None,
        }
    }

    /// The same event, stamped `at` (its `@time=`) with id `msgid`, and the
    /// client-only tags `client` its author sent. Nothing is written until
    /// a recipient's flavor shows them.
    pub(super) fn tagged(
        mut self,
        at: Option<u64>,
        msgid: MsgId,
        client: Option<String>,
    ) -> Shared {
        if let Some(extras) = self.extras.as_mut() {
            if let Some(at) = at {
                extras.at = at;
            }
            extras.msgid = Some(msgid);
            extras.client = client;
        }
        self
    }

    /// True if the IRC form holds more than one line (a long text, split).
    pub(super) fn is_split(&self) -> bool {
        self.irc
            .as_ref()
            .is_some_and(|b| b.iter().filter(|&&c| c == b'\n').count() > 1)
    }

    /// The same event, not echoed to IRC client `id`, whose message it is
    /// (unless it asked for `echo-message`).
    pub(super) fn by(mut self, id: ConnId) -> Shared {
        self.author = Some(id);
        self
    }

    /// The bytes for outbox `to`, if it gets this event.
    pub(super) fn pick(&self, to: &Outbox) -> Option<Bytes> {
        match to.protocol() {
            Protocol::Chat => self.chat.as_ref().map(Arc::clone),
            Protocol::Irc => {
                let flavor = to.flavor();
                if self.author == Some(to.id()) && flavor & FLAVOR_ECHO == 0 {
                    return None;
                }
                if flavor & self.needs != self.needs {
                    return None;
                }
                let plain = self.irc.as_ref()?;
                let form = flavor & FLAVOR_FORM;
                if form == 0 {
                    return Some(Arc::clone(plain));
                }
                Some(self.form(form, plain))
            }
        }
    }

    /// The form of flavor `form` (not 0), made the first time it is asked for.
    fn form(&self, form: u32, plain: &Bytes) -> Bytes {
        if let Some((_, made)) = self.made.borrow().iter().find(|(f, _)| *f == form) {
            return Arc::clone(made);
        }
        let Some(extras) = &self.extras else {
            return Arc::clone(plain);
        };
        let base: &[u8] = match &extras.join {
            Some(join) if form & FLAVOR_EXTENDED_JOIN != 0 => join,
            _ => plain,
        };
        let mut tags = Vec::new();
        if form & FLAVOR_TIME != 0 {
            tags.push(format!("time={}", irc::iso_time(extras.at)));
        }
        if let Some(account) = extras
            .account
            .as_deref()
            .filter(|_| form & FLAVOR_ACCOUNT != 0)
        {
            tags.push(format!("account={account}"));
        }
        if form & FLAVOR_TAGS != 0 {
            if let Some(msgid) = extras.msgid {
                tags.push(format!("msgid={msgid}"));
            }
            if let Some(client) = &extras.client {
                tags.push(client.clone());
            }
        }
        let bytes = if tags.is_empty() {
            Bytes::from(base)
        } else {
            Bytes::from(irc::tag_lines(base, &tags.join(";")))
        };
        self.made.borrow_mut().push((form, Arc::clone(&bytes)));
        bytes
    }
}

/// The `BYE` for outbox `to`, in its protocol.
pub(super) fn bye(to: &Outbox, text: &str) -> Bytes {
    Bytes::from(crate::proto::bye(to.protocol(), text))
}
