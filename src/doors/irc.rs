//! The IRC door (`--irc-listen`): IRC lines over TCP. Each admitted
//! connection gets a reader thread ([`reader`]) that keeps the connection's
//! registration [`Session`] and pings a peer that has been quiet too long.

use super::admit::{Admission, Door, Handshakes, Refused};
use super::reader::{self, Quiet, Speech};
use crate::ids::Protocol;
use crate::net::flood::FloodLimit;
use crate::proto::command::{Command, Ircv3, Query, TaggedLine};
use crate::proto::irc::{self, Session, Step};
use crate::proto::lines::{Frame, MAX_LINE};
use crate::proto::refusal::Refusal;
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

/// IRC speech: a registration session, and a `PING` for a quiet peer.
#[derive(Debug)]
pub struct IrcSpeech {
    session: Session,
    /// How long the peer may be quiet before it is pinged (and then dropped).
    ping_after: Duration,
    /// A `PING` went out and nothing came since.
    pinged: bool,
}

impl IrcSpeech {
    /// A new, unregistered connection that is pinged after `ping_after` of quiet.
    pub fn new(ping_after: Duration) -> IrcSpeech {
        IrcSpeech {
            session: Session::new(),
            ping_after,
            pinged: false,
        }
    }
}

impl Speech for IrcSpeech {
    /// None, one or several commands a line holds (`JOIN #a,#b` is two joins;
    /// `NICK` waits for `USER`).
    fn commands(&mut self, frame: Frame, out: &mut Vec<Result<Command, Refusal>>) {
        let Frame::Line(line) = frame else {
            out.push(frame.command());
            return;
        };
        // IRCv3 tags may take 4096 bytes on top of the line's own limit.
        let (tags, rest) = irc::tags::split(&line);
        if !tags.is_none_or(irc::tags::fits) || rest.len() + 2 > MAX_LINE {
            out.push(Frame::TooLong.command());
            return;
        }
        let Some(message) = irc::parse(&line) else {
            return;
        };
        let steps = self.session.steps(&message);
        if let Some(who) = self.session.take_identity() {
            out.push(Ok(Command::Irc(Query::User {
                user: who.user,
                real: who.real,
            })));
        }
        let label = tags.and_then(irc::tags::label);
        let client = tags.and_then(irc::tags::client_only);
        let tagged = label.is_some() || client.is_some();
        let mut lines = Vec::new();
        let to = if tagged { &mut lines } else { &mut *out };
        for step in steps {
            match step {
                Step::Send(command) => to.push(Ok(command)),
                Step::Refuse(refusal) => to.push(Err(refusal)),
                Step::Alive | Step::Nothing => {}
            }
        }
        if tagged {
            out.push(Ok(Command::Irc(Query::Ircv3(Ircv3::Tagged(Box::new(
                TaggedLine {
                    label,
                    tags: client,
                    lines,
                },
            ))))));
        }
    }

    fn extra(&self) -> usize {
        irc::tags::MAX_TAG_BYTES
    }

    fn patience(&self) -> Option<Duration> {
        Some(self.ping_after)
    }

    /// Quiet for a whole period: ping once; quiet for another, gone.
    fn quiet(&mut self) -> Quiet {
        if self.pinged {
            return Quiet::Drop("ping timeout".into());
        }
        self.pinged = true;
        Quiet::Send(Command::Irc(Query::PingPeer))
    }

    fn heard(&mut self) {
        self.pinged = false;
    }

    /// Registration ends in the dispatcher (a `NICK` it refuses does not
    /// end it), so only the dispatcher can tell.
    fn logged_in(&self) -> bool {
        false
    }

    /// The dispatcher drops the client unless its registration is over.
    fn late(&mut self, limit: Duration) -> Quiet {
        Quiet::Send(Command::Irc(Query::LoginTimeout { limit }))
    }

    /// Registration lines are decoded lossily, so that a realname in
    /// Latin-1 does not hold registration up; later lines must be UTF-8.
    fn lossy(&self) -> bool {
        !self.session.is_registered()
    }
}

/// The IRC door's acceptor state.
#[derive(Debug, Clone)]
pub struct IrcDoor {
    /// Per-connection flood control.
    pub flood: FloodLimit,
    /// TLS: each connection's handshake comes first (the door's TLS port).
    pub tls: Option<Handshakes>,
    /// How long a quiet client waits for a `PING`, and then for its `PONG`.
    pub ping_after: Duration,
}

impl Door for IrcDoor {
    fn arrive(
        &mut self,
        stream: TcpStream,
        peer: SocketAddr,
        admission: &Admission,
    ) -> Option<JoinHandle<()>> {
        let max_clients = admission.limits.max_clients;
        let refusal = |why| match why {
            Refused::Full => irc::server_full(max_clients),
            Refused::TooManyFromHost => irc::too_many_connections(),
        };
        let speech = IrcSpeech::new(self.ping_after);
        reader::arrive(
            stream,
            peer,
            admission,
            (Protocol::Irc, refusal),
            (speech, self.flood, self.tls.as_ref()),
        )
    }

    fn close(&mut self) {
        if let Some(tls) = &self.tls {
            tls.close();
        }
    }
}
