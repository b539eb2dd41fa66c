//! The dispatcher's IRCv3 work: tagged lines (labeled responses, client-only
//! tags), `TAGMSG`, `SETNAME`, `account-notify` and message ids. What only
//! IRCv3 clients see goes out as [`Shared`] lines that need a flavor bit.

use super::Dispatcher;
use super::delivery::Staged;
use super::voice::Shared;
use super::whispers::{Whisper, Whispers};
use crate::chat::ConnId;
use crate::ids::RoomId;
use crate::net::outbox::Bytes;
use crate::proto::command::{Command, Ircv3, TaggedLine};
use crate::proto::irc::caps::{FLAVOR_ACCOUNT_NOTIFY, FLAVOR_SETNAME, FLAVOR_TAGS};
use crate::proto::irc::tags::MsgId;
use crate::proto::irc::{self, Cap, Out, Query, batch, put_numeric, v3};
use crate::proto::refusal::{ErrCode, Refusal};
use crate::store::now_ms;

/// What the dispatcher keeps for IRCv3 between and during commands.
#[derive(Debug)]
pub(super) struct State {
    /// The client-only tags of the line being applied, for its messages.
    pub(super) client_tags: Option<String>,
    /// The client whose labeled line is being applied.
    labeling: Option<ConnId>,
    /// Lines for that client that are no answer to its line (a message to
    /// oneself, delivered besides its echo), sent after the labeled answer.
    later: Vec<Bytes>,
    /// Where the current input's events start in the staged list.
    pub(super) input_mark: usize,
    /// The answers so far of labeled lines that wait for the password
    /// workers, by client, until their [`Ircv3::LabelEnd`].
    held: Vec<(ConnId, Vec<u8>)>,
    /// The recent whispers of logged-in accounts (`CHATHISTORY nick`).
    pub(super) whispers: Whispers,
    /// When the server started (unix ms), and how many ids and batches it gave.
    start: u64,
    count: u64,
}

impl Default for State {
    fn default() -> State {
        State {
            client_tags: None,
            labeling: None,
            later: Vec::new(),
            input_mark: 0,
            held: Vec::new(),
            whispers: Whispers::default(),
            start: now_ms(),
            count: 0,
        }
    }
}

impl State {
    /// A new id for a message that is not stored (whispers, `TAGMSG`, broadcasts).
    pub(super) fn msgid(&mut self) -> MsgId {
        self.count += 1;
        MsgId::Seq {
            start: self.start,
            n: self.count,
        }
    }

    /// A new batch reference: letters and digits.
    pub(super) fn batch_id(&mut self) -> String {
        self.count += 1;
        format!("b{}", self.count)
    }
}

impl Dispatcher {
    /// Applies an IRCv3 request of `id`.
    pub(super) fn ircv3(&mut self, id: ConnId, request: Ircv3) {
        match request {
            Ircv3::Tagged(line) => {
                let TaggedLine { label, tags, lines } = *line;
                self.tagged(id, label, tags, lines);
            }
            Ircv3::TagMsg { target } => self.tagmsg(id, &target),
            Ircv3::SetName { real } => self.setname(id, &real),
            Ircv3::ChatHistory { params } => self.chathistory(id, &params),
            Ircv3::LabelEnd { label } => {
                let at = self.v3.held.iter().position(|(c, _)| *c == id);
                let held = at.map(|i| self.v3.held.swap_remove(i).1);
                let mark = self.v3.input_mark;
                self.label_answer(id, mark, &label, held.unwrap_or_default());
            }
        }
    }

    /// A line with a label or client-only tags: its commands are applied
    /// with the tags at hand; with labeled-response, every line they
    /// answered `id` with is gathered into one labeled answer.
    fn tagged(
        &mut self,
        id: ConnId,
        label: Option<String>,
        tags: Option<String>,
        lines: Vec<Result<Command, Refusal>>,
    ) {
        let label = label.filter(|_| self.has_cap(id, Cap::LabeledResponse));
        let mark = self.staged.len();
        self.v3.client_tags = tags;
        self.v3.labeling = label.as_ref().map(|_| id);
        for line in lines {
            self.line(id, line);
        }
        self.v3.client_tags = None;
        self.v3.labeling = None;
        let later = std::mem::take(&mut self.v3.later);
        match (label, self.waiting.get_mut(&id)) {
            // A command waits for the password workers: the answer ends
            // after the lines that wait with it; what came so far is held.
            (Some(label), Some(queue)) => {
                queue.push_back(Ok(Command::Irc(Query::Ircv3(Ircv3::LabelEnd { label }))));
                let (so_far, last) = self.take_staged(id, mark);
                self.staged.extend(last);
                let clients = &self.clients;
                self.v3.held.retain(|(c, _)| clients.contains_key(c));
                self.v3.held.push((id, so_far));
            }
            (Some(label), None) => self.label_answer(id, mark, &label, Vec::new()),
            (None, _) => {}
        }
        for bytes in later {
            self.stage(id, bytes);
        }
    }

    /// Takes the lines staged for `id` since `mark` out of the staged list:
    /// their bytes, and its `BYE` if one came.
    fn take_staged(&mut self, id: ConnId, mark: usize) -> (Vec<u8>, Vec<Staged>) {
        let mut mine = Vec::new();
        let mut last = Vec::new();
        for staged in self.staged.split_off(mark.min(self.staged.len())) {
            if staged.to.id() != id {
                self.staged.push(staged);
            } else if staged.last {
                last.push(staged);
            } else {
                mine.extend_from_slice(&staged.line);
            }
        }
        (mine, last)
    }

    /// Gathers what was staged for `id` since `mark`, after `held` (what
    /// answered it before a wait), into its labeled answer.
    fn label_answer(&mut self, id: ConnId, mark: usize, label: &str, held: Vec<u8>) {
        let Some(outbox) = self.clients.get(&id).map(|c| c.outbox.clone()) else {
            return;
        };
        let (now, last) = self.take_staged(id, mark);
        let mut mine = held;
        mine.extend_from_slice(&now);
        // A batch only for an answer of several lines.
        let several = mine.iter().filter(|&&b| b == b'\n').count() > 1;
        let batch_id = (several && self.has_cap(id, Cap::Batch)).then(|| self.v3.batch_id());
        let answer = batch::labeled(&self.server, label, &mine, batch_id.as_deref());
        self.staged.push(Staged {
            to: outbox,
            line: Bytes::from(answer),
            last: false,
        });
        self.staged.extend(last);
    }

    fn stage(&mut self, id: ConnId, line: Bytes) {
        if let Some(client) = self.clients.get(&id) {
            self.staged.push(Staged {
                to: client.outbox.clone(),
                line,
                last: false,
            });
        }
    }

    /// A message `id` sent itself, delivered besides its echo: after the
    /// labeled answer, if its line had a label.
    pub(super) fn deliver_to_self(&mut self, id: ConnId, line: &Shared) {
        let Some(bytes) = self.clients.get(&id).and_then(|c| line.pick(&c.outbox)) else {
            return;
        };
        if self.v3.labeling == Some(id) {
            self.v3.later.push(bytes);
        } else {
            self.stage(id, bytes);
        }
    }

    /// The message of `id` to itself: once, or twice with `echo-message`
    /// (the delivery and the echo).
    pub(super) fn message_self(&mut self, id: ConnId, line: &Shared) {
        self.send_one(id, line);
        if self.has_cap(id, Cap::EchoMessage) {
            self.deliver_to_self(id, line);
        }
    }

    /// A whisper from `id` to `to`, stamped `at`: kept for the account of
    /// each side that has one (once for a message to oneself).
    pub(super) fn keep_whisper(&mut self, id: ConnId, to: ConnId, at: u64, text: &str) {
        let (from_nick, to_nick) = (
            self.chat.nick(id).to_string(),
            self.chat.nick(to).to_string(),
        );
        let sides = if id == to {
            vec![(id, to)]
        } else {
            vec![(id, to), (to, id)]
        };
        for (side, peer) in sides {
            let Some(account) = self.account_of(side).map(str::to_ascii_lowercase) else {
                continue;
            };
            let whisper = Whisper {
                at,
                peer: self.chat.nick(peer).to_ascii_lowercase(),
                from: from_nick.clone(),
                to: to_nick.clone(),
                text: text.to_string(),
            };
            self.v3.whispers.keep(&account, whisper);
        }
    }

    /// The `nick!user@host` of `id`.
    fn mask_of(&self, id: ConnId) -> String {
        let nick = self.chat.nick(id);
        irc::mask(nick, &self.source(nick))
    }

    /// `TAGMSG target`: the line's client-only tags, to message-tags clients.
    fn tagmsg(&mut self, id: ConnId, target: &str) {
        let mask = self.mask_of(id);
        let msgid = self.v3.msgid();
        let client = self.v3.client_tags.clone();
        let line = Shared::irc_only(
            v3::tagmsg_line(&mask, target),
            FLAVOR_TAGS,
            self.account_of(id),
        )
        .tagged(None, msgid, client);
        let me = self.chat.nick(id).to_string();
        let mut out = Vec::new();
        let o = &mut Out::new(&self.server, &mut out);
        if target.starts_with('#') || target.starts_with('&') {
            // A TAGMSG speaks as a message does: the room's rules apply.
            let room = irc::room_of(target).filter(|r| self.chat.room(r).is_some());
            match room.map(|r| (r, self.chat.may_say(id, r, now_ms()).map(|r| !r.has(id)))) {
                None => put_numeric(o, 403, &me, &[target], "No such channel"),
                Some((_, Err(refusal))) => {
                    let about = irc::Subject::Sending(target.to_string());
                    irc::refusal(o, &me, &refusal, &about);
                }
                Some((room, Ok(outside))) => {
                    let line = line.by(id);
                    self.send_room(&RoomId::of(room), &line);
                    if outside {
                        // A sender from outside the room gets its echo.
                        self.send_one(id, &line);
                    }
                }
            }
        } else {
            match self.chat.find(target) {
                None => put_numeric(o, 401, &me, &[target], "No such nick/channel"),
                Some(to) if to == id => self.message_self(id, &line),
                Some(to) => {
                    let line = line.by(id);
                    self.send_one(to, &line);
                    self.send_one(id, &line);
                }
            }
        }
        self.reply(id, out);
    }

    /// `SETNAME :realname`: kept, and told to `id` and its channel peers
    /// that have `setname`.
    fn setname(&mut self, id: ConnId, real: &str) {
        if let Err(text) = v3::realname(real, irc::session::REALLEN) {
            let mut out = Vec::new();
            let o = &mut Out::new(&self.server, &mut out);
            v3::standard(o, "FAIL", "SETNAME", "INVALID_REALNAME", &[], text);
            return self.reply(id, out);
        }
        if let Some(user) = self.clients.get_mut(&id).and_then(|c| c.irc.as_mut()) {
            user.real = real.to_string();
        }
        let line = Shared::irc_only(
            v3::setname_line(&self.mask_of(id), real),
            FLAVOR_SETNAME,
            self.account_of(id),
        );
        let told = self.chat.audience(id);
        self.send_many(&told, &line);
    }

    /// `account-notify`: `id` logged in to an account; its channel peers
    /// that have the capability are told.
    pub(super) fn tell_account(&mut self, id: ConnId) {
        if self.irc_clients == 0 {
            return;
        }
        let account = self.account_of(id);
        let line = Shared::irc_only(
            v3::account_line(&self.mask_of(id), account),
            FLAVOR_ACCOUNT_NOTIFY,
            account,
        );
        let told: Vec<ConnId> = self
            .chat
            .audience(id)
            .into_iter()
            .filter(|&p| p != id)
            .collect();
        self.send_many(&told, &line);
    }

    /// A message with client-only tags reaches IRC clients as one line, so
    /// that its id and tags name one line: a text that would be split is refused.
    pub(super) fn check_whole(&self, line: &Shared) -> Result<(), Refusal> {
        if self.v3.client_tags.is_some() && line.is_split() {
            return Err(Refusal::new(
                ErrCode::LineTooLong,
                "a message with tags must fit in one IRC line",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Input, Routes, Settings};
    use super::*;
    use crate::chat::Chat;
    use crate::ids::Protocol;
    use crate::net::outbox::{Inbox, queue_for};
    use crate::store::MemoryStore;
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::Duration;

    /// A dispatcher without sockets or workers, and the outbox of IRC client 1.
    fn rig() -> (
        Dispatcher,
        Inbox,
        crossbeam_channel::Receiver<crate::net::outbox::Post>,
    ) {
        let (mail_tx, mail) = crossbeam_channel::unbounded();
        let settings = Settings {
            welcome: "hi".into(),
            inbox_cap: 2,
            room_expiry: Duration::ZERO,
            server_name: "sala".into(),
        };
        let store = Box::new(MemoryStore::new(10));
        let routes = Arc::new(Routes::default());
        let mut d = Dispatcher::new(Chat::new(10, 0), store, routes, settings, None).unwrap();
        let (outbox, inbox) = queue_for(1, Protocol::Irc, 100, mail_tx);
        d.handle(Input::Connect {
            id: 1,
            peer: SocketAddr::from(([127, 0, 0, 1], 1)),
            outbox,
            socket: None,
        });
        (d, inbox, mail)
    }

    fn send(d: &mut Dispatcher, command: Command) {
        d.handle(Input::Command {
            id: 1,
            command: Ok(command),
        });
    }

    fn tagged(label: &str, lines: Vec<Command>) -> Command {
        Command::Irc(Query::Ircv3(Ircv3::Tagged(Box::new(TaggedLine {
            label: Some(label.into()),
            tags: None,
            lines: lines.into_iter().map(Ok).collect(),
        }))))
    }

    fn lines(inbox: &Inbox) -> Vec<String> {
        let mut out = String::new();
        let mut n = 0;
        while let Some(b) = inbox.try_recv() {
            out.push_str(std::str::from_utf8(&b).unwrap());
            n += 1;
        }
        inbox.done(n);
        out.lines().map(|l| l.trim_end().to_string()).collect()
    }

    #[test]
    fn a_labeled_line_is_answered_by_an_ack_one_labeled_line_or_one_batch() {
        let (mut d, inbox, _mail) = rig();
        let cap = |sub: &str, arg: &str| {
            Command::Irc(Query::Cap {
                sub: sub.into(),
                arg: Some(arg.into()),
            })
        };
        send(&mut d, cap("REQ", "labeled-response batch"));
        send(
            &mut d,
            Command::Irc(Query::User {
                user: "ana".into(),
                real: "Ana".into(),
            }),
        );
        send(
            &mut d,
            Command::Nick {
                nick: "ana".into(),
                password: None,
            },
        );
        assert!(lines(&inbox).iter().any(|l| l.contains(" 376 ana ")));
        send(&mut d, tagged("1", vec![]));
        assert_eq!(lines(&inbox), ["@label=1 :sala ACK"]);
        let ping = Command::Irc(Query::Ping { token: "x".into() });
        send(&mut d, tagged("2", vec![ping.clone()]));
        assert_eq!(lines(&inbox), ["@label=2 :sala PONG sala :x"]);
        send(&mut d, tagged("3", vec![ping.clone(), ping]));
        assert_eq!(
            lines(&inbox),
            [
                "@label=3 :sala BATCH +b1 labeled-response",
                "@batch=b1 :sala PONG sala :x",
                "@batch=b1 :sala PONG sala :x",
                ":sala BATCH -b1",
            ]
        );
        // Without the capability the label is dropped, the answer is as ever.
        send(&mut d, cap("REQ", "-labeled-response"));
        lines(&inbox);
        let ping = Command::Irc(Query::Ping { token: "y".into() });
        send(&mut d, tagged("4", vec![ping]));
        assert_eq!(lines(&inbox), [":sala PONG sala :y"]);
    }
}
