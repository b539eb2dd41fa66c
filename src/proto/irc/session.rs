//! The registration state of one IRC connection, and IRC commands turned
//! into the [`Command`]s a CHAT/1 client sends (or IRC-only [`Query`]s).

use super::MAX_TARGETS;
use super::parse::{Message, room_of};
use crate::proto::command::{Command, Query, TOPIC_LEN, check_nick};
use crate::proto::lines::clip;
use crate::proto::refusal::{Reason, Refusal};
use crate::proto::text;

/// What a client line asks for, as the reader hands it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A command for the dispatcher (a CHAT/1 one or an IRC query).
    Send(Command),
    /// `PONG`: the peer is alive; nothing to send on.
    Alive,
    /// Registration lines held until `NICK` and `USER` (and `CAP END`) arrived.
    Nothing,
    /// The line is refused as a CHAT/1 line would be (a text that breaks the
    /// one text rule: `BAD_TEXT`); the dispatcher renders the numeric.
    Refuse(Refusal),
}

/// Who a client says it is in `USER`: shown by `WHO`, `WHOIS` and in its
/// `nick!user@host` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The username: at most [`USERLEN`] of `A-Z a-z 0-9 - _ .` from what
    /// was sent (the nick if nothing of it is left).
    pub user: String,
    /// The realname, at most [`REALLEN`] bytes.
    pub real: String,
}

/// Longest username kept.
pub const USERLEN: usize = 10;
/// Longest realname kept, in bytes.
pub const REALLEN: usize = 100;

/// The registration state one IRC connection keeps in its reader thread:
/// `NICK` goes to the dispatcher only once `USER` came and `CAP` ended.
#[derive(Debug, Default)]
pub struct Session {
    nick: Option<String>,
    password: Option<String>,
    /// What `USER` said; handed over with the registration ([`Session::take_identity`]).
    user: Option<Identity>,
    capping: bool,
    /// `NICK` was handed on: from now on every line goes to the dispatcher.
    registered: bool,
}

fn numeric(code: u16, params: &[&str], text: &str) -> Step {
    Step::Send(Command::Irc(Query::Numeric {
        code,
        params: params.iter().map(|p| (*p).to_string()).collect(),
        text: text.to_string(),
    }))
}

fn need_more(command: &str) -> Step {
    numeric(461, &[command], "Not enough parameters")
}

fn own(s: &str) -> String {
    s.to_string()
}

fn optional(s: Option<&&str>) -> Option<String> {
    s.filter(|t| !t.is_empty()).map(|t| (*t).to_string())
}

/// An optional text others may see (a reason, an away message, a token),
/// checked by the one text rule; `Err` is the step that refuses the line.
fn checked(verb: &'static str, s: Option<&&str>) -> Result<Option<String>, Step> {
    let Some(t) = optional(s) else {
        return Ok(None);
    };
    match text::check(&t) {
        Ok(_) => Ok(Some(t)),
        Err(refusal) => Err(refused(verb, refusal)),
    }
}

/// A topic cut to [`TOPIC_LEN`] bytes, at a
/// character boundary, as IRC servers cut what is longer than `TOPICLEN`.
fn clip_topic(text: &str) -> &str {
    let mut end = text.len().min(TOPIC_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// IRC command `verb` refused by the one text rule.
fn refused(verb: &'static str, refusal: Refusal) -> Step {
    Step::Refuse(refusal.because(Reason::Verb(verb)))
}

impl Session {
    /// A new connection, not yet registered.
    pub fn new() -> Session {
        Session::default()
    }

    /// True once `NICK` was handed on: registration is under way or done.
    pub fn is_registered(&self) -> bool {
        self.registered
    }

    /// What `USER` said, once, after the line whose steps registered the
    /// client: the door hands it to the dispatcher before those steps.
    pub fn take_identity(&mut self) -> Option<Identity> {
        if self.registered {
            self.user.take()
        } else {
            None
        }
    }

    /// Turns one parsed line into what to hand on, in order.
    pub fn steps(&mut self, msg: &Message<'_>) -> Vec<Step> {
        let p = &msg.params;
        let cmd = msg.command.as_str();
        match cmd {
            "CAP" if p.is_empty() => vec![need_more(cmd)],
            "CAP" => {
                let sub = p.first().map_or(String::new(), |s| s.to_ascii_uppercase());
                match sub.as_str() {
                    "LS" | "REQ" => self.capping = !self.registered,
                    "END" => {
                        self.capping = false;
                        return self.try_register();
                    }
                    _ => {}
                }
                let arg = optional(p.get(1));
                vec![Step::Send(Command::Irc(Query::Cap { sub, arg }))]
            }
            "PASS" if !self.registered => {
                self.password = optional(p.first());
                vec![Step::Nothing]
            }
            "PASS" | "USER" if self.registered => {
                vec![numeric(462, &[], "You may not reregister")]
            }
            "USER" => {
                // An empty realname is refused too (modern IRC, ERR_NEEDMOREPARAMS).
                if p.len() < 4 || p[3].is_empty() {
                    return vec![need_more("USER")];
                }
                self.user = Some(Identity {
                    user: own(p[0]),
                    real: own(clip(p[3], REALLEN)),
                });
                self.try_register()
            }
            "NICK" => {
                let Some(nick) = p.first().filter(|n| !n.is_empty()) else {
                    return vec![numeric(431, &[], "No nickname given")];
                };
                if let Err(refusal) = check_nick(nick) {
                    return vec![numeric(432, &[nick], &refusal.text)];
                }
                if self.registered {
                    return vec![Step::Send(Command::Nick {
                        nick: own(nick),
                        password: None,
                    })];
                }
                self.nick = Some(own(nick));
                self.try_register()
            }
            "AUTHENTICATE" => match p.first().filter(|d| !d.is_empty()) {
                Some(data) => vec![Step::Send(Command::Irc(Query::Authenticate {
                    data: own(data),
                }))],
                None => vec![need_more(cmd)],
            },
            "PONG" => vec![Step::Alive],
            "PING" if p.is_empty() => vec![numeric(409, &[], "No origin specified")],
            "PING" => match checked("PING", p.first()) {
                Ok(token) => vec![Step::Send(Command::Irc(Query::Ping {
                    token: token.unwrap_or_default(),
                }))],
                Err(refused) => vec![refused],
            },
            "QUIT" => match checked("QUIT", p.first()) {
                Ok(text) => vec![Step::Send(Command::Quit { text })],
                Err(refused) => vec![refused],
            },
            _ if !self.registered => vec![numeric(451, &[], "You have not registered")],
            _ => self.registered_steps(cmd, p),
        }
    }

    /// Hands `NICK` on once everything it waits for is there.
    fn try_register(&mut self) -> Vec<Step> {
        if self.registered || self.capping || self.user.is_none() {
            return vec![Step::Nothing];
        }
        let Some(nick) = self.nick.take() else {
            return vec![Step::Nothing];
        };
        if let Some(identity) = self.user.as_mut() {
            identity.user = username(&identity.user, &nick);
        }
        self.registered = true;
        vec![Step::Send(Command::Nick {
            nick,
            password: self.password.take(),
        })]
    }

    fn registered_steps(&mut self, cmd: &str, p: &[&str]) -> Vec<Step> {
        let send = |c: Command| vec![Step::Send(c)];
        let query = |q: Query| vec![Step::Send(Command::Irc(q))];
        match cmd {
            "JOIN" => {
                let Some(chans) = p.first() else {
                    return vec![need_more(cmd)];
                };
                let keys: Vec<&str> = p.get(1).map_or(Vec::new(), |k| k.split(',').collect());
                chans
                    .split(',')
                    .take(MAX_TARGETS)
                    .enumerate()
                    .map(|(i, chan)| match room_of(chan) {
                        Some(room) => Step::Send(Command::Join {
                            room: own(room),
                            key: keys.get(i).filter(|k| !k.is_empty()).map(|k| own(k)),
                        }),
                        None => numeric(403, &[chan], "No such channel"),
                    })
                    .chain(beyond(chans))
                    .collect()
            }
            "PART" => {
                let Some(chans) = p.first() else {
                    return vec![need_more(cmd)];
                };
                let text = match checked("PART", p.get(1)) {
                    Ok(text) => text,
                    Err(refused) => return vec![refused],
                };
                chans
                    .split(',')
                    .take(MAX_TARGETS)
                    .map(|chan| match room_of(chan) {
                        Some(room) => Step::Send(Command::Part {
                            room: own(room),
                            text: text.clone(),
                        }),
                        None => numeric(403, &[chan], "No such channel"),
                    })
                    .chain(beyond(chans))
                    .collect()
            }
            "PRIVMSG" | "NOTICE" => {
                let notice = cmd == "NOTICE";
                let Some(targets) = p.first().filter(|t| !t.is_empty()) else {
                    return if notice {
                        Vec::new()
                    } else {
                        vec![numeric(411, &[], &format!("No recipient given ({cmd})"))]
                    };
                };
                let Some(text) = p.get(1).filter(|t| !t.is_empty()) else {
                    return if notice {
                        Vec::new()
                    } else {
                        vec![numeric(412, &[], "No text to send")]
                    };
                };
                if let Err(refusal) = text::check(text) {
                    // A NOTICE is never answered with an error (RFC 2812,
                    // 3.3.2): one with a forbidden character is dropped.
                    return if notice {
                        Vec::new()
                    } else {
                        vec![refused("PRIVMSG", refusal)]
                    };
                }
                targets
                    .split(',')
                    .take(MAX_TARGETS)
                    .filter_map(|target| match message(target, text) {
                        Step::Send(Command::Irc(Query::Numeric { .. })) if notice => None,
                        Step::Send(message) if notice => {
                            Some(Step::Send(Command::Irc(Query::Notice {
                                message: Box::new(message),
                            })))
                        }
                        step => Some(step),
                    })
                    .chain(beyond(targets).filter(|_| !notice))
                    .collect()
            }
            "KICK" => {
                let (Some(chans), Some(nicks)) = (p.first(), p.get(1)) else {
                    return vec![need_more(cmd)];
                };
                // `KICK #a bob,carl` kicks both from #a; `KICK #a,#b bob,carl` pairs them.
                let chans: Vec<&str> = chans.split(',').collect();
                let text = match checked("KICK", p.get(2)) {
                    Ok(text) => text,
                    Err(refused) => return vec![refused],
                };
                nicks
                    .split(',')
                    .take(MAX_TARGETS)
                    .enumerate()
                    .map(|(i, nick)| {
                        let chan = if chans.len() == 1 {
                            chans[0]
                        } else {
                            chans.get(i).copied().unwrap_or("")
                        };
                        match room_of(chan) {
                            Some(room) => Step::Send(Command::Kick {
                                room: own(room),
                                nick: own(nick),
                                text: text.clone(),
                            }),
                            None if chan.is_empty() => need_more(cmd),
                            None => numeric(403, &[chan], "No such channel"),
                        }
                    })
                    .chain(beyond(nicks))
                    .collect()
            }
            "NAMES" => query(Query::Names {
                room: optional(p.first()),
            }),
            "LIST" => query(Query::List {
                filter: optional(p.first()),
            }),
            "WHO" => query(Query::Who {
                mask: p.first().map_or(own("*"), |m| own(m)),
                whox: p.get(1).and_then(|f| f.strip_prefix('%')).map(own),
            }),
            "WHOIS" => match p.last() {
                Some(nick) => query(Query::Whois { nick: own(nick) }),
                None => vec![numeric(431, &[], "No nickname given")],
            },
            "ISON" if p.is_empty() => vec![need_more(cmd)],
            "ISON" => query(Query::Ison {
                nicks: p.iter().flat_map(|s| s.split(' ')).map(own).collect(),
            }),
            "USERHOST" => query(Query::Userhost {
                nicks: p.iter().take(5).map(|n| own(n)).collect(),
            }),
            "MODE" => {
                let Some(target) = p.first() else {
                    return vec![need_more(cmd)];
                };
                if target.starts_with('#') || target.starts_with('&') {
                    match room_of(target) {
                        Some(room) => query(Query::ChannelMode {
                            room: own(room),
                            modes: p[1..].iter().map(|m| own(m)).collect(),
                        }),
                        None => vec![numeric(403, &[target], "No such channel")],
                    }
                } else {
                    query(Query::UserMode {
                        nick: own(target),
                        change: optional(p.get(1)),
                    })
                }
            }
            "TOPIC" => {
                let Some(chan) = p.first() else {
                    return vec![need_more(cmd)];
                };
                let Some(room) = room_of(chan) else {
                    return vec![numeric(403, &[chan], "No such channel")];
                };
                match p.get(1) {
                    None => query(Query::Topic { room: own(room) }),
                    // `TOPIC #chan :` clears it; a long one is cut to TOPICLEN.
                    Some(text) => match checked("TOPIC", Some(&clip_topic(text))) {
                        Ok(text) => send(Command::Topic {
                            room: own(room),
                            text,
                        }),
                        Err(refused) => vec![refused],
                    },
                }
            }
            "INVITE" => {
                let (Some(nick), Some(chan)) = (p.first(), p.get(1)) else {
                    return vec![need_more(cmd)];
                };
                match room_of(chan) {
                    Some(room) => send(Command::Invite {
                        room: own(room),
                        nick: own(nick),
                    }),
                    None => vec![numeric(403, &[chan], "No such channel")],
                }
            }
            "OPER" if p.len() < 2 => vec![need_more(cmd)],
            "OPER" => query(Query::Oper {
                name: own(p[0]),
                password: own(p[1]),
            }),
            "KILL" if p.is_empty() => vec![need_more(cmd)],
            "KILL" => match checked("KILL", p.get(1)) {
                Ok(text) => send(Command::Kill {
                    nick: own(p[0]),
                    text,
                }),
                Err(refused) => vec![refused],
            },
            "LUSERS" => query(Query::Lusers),
            "MOTD" => query(Query::Motd),
            "AWAY" => match checked("AWAY", p.first()) {
                Ok(text) => query(Query::Away { text }),
                Err(refused) => vec![refused],
            },
            // Sala's own verbs, for what IRC has no word for.
            "REGISTER" => match p.first() {
                Some(pw) => send(Command::Register { password: own(pw) }),
                None => vec![need_more(cmd)],
            },
            "DELETE" => match p.first().and_then(|c| room_of(c)) {
                Some(room) => send(Command::Delete { room: own(room) }),
                None => vec![need_more(cmd)],
            },
            "HISTORY" => match p.first().and_then(|c| room_of(c)) {
                Some(room) => send(Command::History {
                    room: own(room),
                    before: p.get(1).and_then(|b| b.parse().ok()),
                }),
                None => vec![need_more(cmd)],
            },
            _ => match super::v3::command(cmd, p) {
                Some(command) => send(command),
                None => vec![numeric(421, &[cmd], "Unknown command")],
            },
        }
    }
}

/// 407 for each target past the first [`MAX_TARGETS`] of a list (ISUPPORT `TARGMAX`).
fn beyond(targets: &str) -> impl Iterator<Item = Step> + '_ {
    targets
        .split(',')
        .skip(MAX_TARGETS)
        .map(|t| numeric(407, &[t], "Too many targets: 4 at most in one command"))
}

/// The username kept of what `USER` sent: at most [`USERLEN`] of
/// `A-Z a-z 0-9 - _ .`, or `nick` if none of it is.
fn username(sent: &str, nick: &str) -> String {
    let kept: String = sent
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(USERLEN)
        .collect();
    if kept.is_empty() { own(nick) } else { kept }
}

/// One target of `PRIVMSG`/`NOTICE`: a channel, `$*` (everyone) or a nick.
fn message(target: &str, text: &str) -> Step {
    if target.starts_with('$') {
        return Step::Send(Command::Broadcast { text: own(text) });
    }
    if target.starts_with('#') || target.starts_with('&') {
        return match room_of(target) {
            Some(room) => Step::Send(Command::Say {
                room: own(room),
                text: own(text),
            }),
            None => numeric(401, &[target], "No such nick/channel"),
        };
    }
    Step::Send(Command::Whisper {
        nick: own(target),
        text: own(text),
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    fn steps(s: &mut Session, line: &str) -> Vec<Step> {
        s.steps(&parse(line).unwrap())
    }

    fn registered() -> Session {
        let mut s = Session::new();
        steps(&mut s, "NICK ana");
        steps(&mut s, "USER ana 0 * :Ana");
        s
    }

    #[test]
    fn registration_waits_for_user_and_cap_end() {
        let mut s = Session::new();
        assert_eq!(
            steps(&mut s, "CAP LS 302"),
            vec![Step::Send(Command::Irc(Query::Cap {
                sub: "LS".into(),
                arg: Some("302".into())
            }))]
        );
        assert_eq!(steps(&mut s, "PASS secret"), vec![Step::Nothing]);
        assert_eq!(steps(&mut s, "NICK ana"), vec![Step::Nothing]);
        assert_eq!(steps(&mut s, "USER ana 0 * :Ana A"), vec![Step::Nothing]);
        assert_eq!(
            steps(&mut s, "CAP END"),
            vec![Step::Send(Command::Nick {
                nick: "ana".into(),
                password: Some("secret".into())
            })]
        );
        // After registration NICK goes straight on.
        assert_eq!(
            steps(&mut s, "NICK bob"),
            vec![Step::Send(Command::Nick {
                nick: "bob".into(),
                password: None
            })]
        );
    }

    #[test]
    fn user_is_kept_and_handed_over_once_with_the_registration() {
        let mut s = Session::new();
        assert_eq!(steps(&mut s, "USER ana 0 * :"), vec![need_more("USER")]);
        assert_eq!(
            steps(&mut s, "USER a~n.a_b-c!defghijk 0 * :Ana A"),
            vec![Step::Nothing]
        );
        assert_eq!(s.take_identity(), None, "not before registration");
        assert!(matches!(
            &steps(&mut s, "NICK ana")[..],
            [Step::Send(Command::Nick { .. })]
        ));
        let who = s
            .take_identity()
            .expect("the identity, with the registration");
        assert_eq!(
            (who.user.as_str(), who.real.as_str()),
            ("an.a_b-cde", "Ana A")
        );
        assert_eq!(s.take_identity(), None, "once");
        let mut s = Session::new();
        steps(&mut s, "NICK bob");
        steps(&mut s, "USER 😊 0 * :Bob");
        assert_eq!(s.take_identity().map(|w| w.user), Some("bob".to_string()));
    }

    #[test]
    fn commands_before_registration_get_451_and_bad_nicks_432() {
        let mut s = Session::new();
        let Step::Send(Command::Irc(Query::Numeric { code, .. })) =
            steps(&mut s, "JOIN #lobby").remove(0)
        else {
            panic!("expected a numeric");
        };
        assert_eq!(code, 451);
        let Step::Send(Command::Irc(Query::Numeric { code, params, .. })) =
            steps(&mut s, "NICK 9lives").remove(0)
        else {
            panic!("expected a numeric");
        };
        assert_eq!((code, params), (432, vec!["9lives".to_string()]));
        let Step::Send(Command::Irc(Query::Numeric { code, .. })) = steps(&mut s, "NICK").remove(0)
        else {
            panic!("expected a numeric");
        };
        assert_eq!(code, 431);
    }

    #[test]
    fn channel_commands_map_to_chat_commands() {
        let mut s = registered();
        assert_eq!(
            steps(&mut s, "JOIN #a,#b,bad! k1"),
            vec![
                Step::Send(Command::Join {
                    room: "a".into(),
                    key: Some("k1".into())
                }),
                Step::Send(Command::Join {
                    room: "b".into(),
                    key: None
                }),
                numeric(403, &["bad!"], "No such channel"),
            ]
        );
        assert_eq!(
            steps(&mut s, "PRIVMSG #a :\u{1}ACTION waves\u{1}"),
            vec![Step::Send(Command::Say {
                room: "a".into(),
                text: "\u{1}ACTION waves\u{1}".into()
            })]
        );
        assert_eq!(
            steps(&mut s, "NOTICE bob :psst"),
            vec![Step::Send(Command::Irc(Query::Notice {
                message: Box::new(Command::Whisper {
                    nick: "bob".into(),
                    text: "psst".into()
                })
            }))]
        );
        assert_eq!(
            steps(&mut s, "NOTICE #bad! :x"),
            vec![],
            "no error for a NOTICE"
        );
        assert_eq!(steps(&mut s, "NOTICE"), vec![], "no error for a NOTICE");
        assert_eq!(
            steps(&mut s, "PRIVMSG $* :all hands"),
            vec![Step::Send(Command::Broadcast {
                text: "all hands".into()
            })]
        );
        assert_eq!(
            steps(&mut s, "PART #a :bye now"),
            vec![Step::Send(Command::Part {
                room: "a".into(),
                text: Some("bye now".into())
            })]
        );
        assert_eq!(
            steps(&mut s, "KICK #a bob :out"),
            vec![Step::Send(Command::Kick {
                room: "a".into(),
                nick: "bob".into(),
                text: Some("out".into())
            })]
        );
        assert_eq!(steps(&mut s, "PONG :sala"), vec![Step::Alive]);
        assert_eq!(
            steps(&mut s, "QUIT :later"),
            vec![Step::Send(Command::Quit {
                text: Some("later".into())
            })]
        );
    }

    #[test]
    fn texts_with_control_characters_are_refused_and_notices_dropped() {
        let mut s = registered();
        for (line, verb) in [
            (
                "PRIVMSG #lobby :hi\r:admin!admin@sala PRIVMSG #lobby :forged",
                "PRIVMSG",
            ),
            ("PRIVMSG bob :\u{1b}[2J", "PRIVMSG"),
            ("PRIVMSG $* :nul\u{0}", "PRIVMSG"),
            ("PART #lobby :bye\u{85}", "PART"),
            ("KICK #lobby bob :out\u{2028}", "KICK"),
            ("QUIT :gone\u{7}", "QUIT"),
            ("AWAY :\u{9b}away", "AWAY"),
            ("PING :x\u{1b}", "PING"),
        ] {
            let got = steps(&mut s, line);
            let [Step::Refuse(refusal)] = &got[..] else {
                panic!("{line:?}: {got:?}");
            };
            assert_eq!(refusal.code, crate::proto::refusal::ErrCode::BadText);
            assert_eq!(refusal.reason, Reason::Verb(verb));
        }
        assert_eq!(steps(&mut s, "NOTICE #lobby :\u{1b}[2J"), vec![]);
        assert_eq!(
            steps(&mut s, "PRIVMSG #a :\u{2}bold\u{2} \u{3}4red"),
            vec![Step::Send(Command::Say {
                room: "a".into(),
                text: "\u{2}bold\u{2} \u{3}4red".into()
            })]
        );
    }

    #[test]
    fn moderation_commands_become_chat_commands() {
        let mut s = registered();
        let long = "x".repeat(500);
        let cases: Vec<(String, Command)> = vec![
            (
                "TOPIC #a :Week 3".into(),
                Command::Topic {
                    room: "a".into(),
                    text: Some("Week 3".into()),
                },
            ),
            (
                "TOPIC #a :".into(),
                Command::Topic {
                    room: "a".into(),
                    text: None,
                },
            ),
            (
                format!("TOPIC #a :{long}"),
                Command::Topic {
                    room: "a".into(),
                    text: Some("x".repeat(TOPIC_LEN)),
                },
            ),
            (
                "TOPIC #a".into(),
                Command::Irc(Query::Topic { room: "a".into() }),
            ),
            (
                "INVITE bob #a".into(),
                Command::Invite {
                    room: "a".into(),
                    nick: "bob".into(),
                },
            ),
            (
                "KILL bob :go away".into(),
                Command::Kill {
                    nick: "bob".into(),
                    text: Some("go away".into()),
                },
            ),
            (
                "OPER root pw".into(),
                Command::Irc(Query::Oper {
                    name: "root".into(),
                    password: "pw".into(),
                }),
            ),
            (
                "MODE #a +ob-v x y z".into(),
                Command::Irc(Query::ChannelMode {
                    room: "a".into(),
                    modes: vec!["+ob-v".into(), "x".into(), "y".into(), "z".into()],
                }),
            ),
        ];
        for (line, command) in cases {
            assert_eq!(steps(&mut s, &line), vec![Step::Send(command)], "{line}");
        }
    }

    #[test]
    fn missing_parameters_and_unknown_commands_get_numerics() {
        let mut s = registered();
        for (line, code) in [
            ("JOIN", 461),
            ("PART", 461),
            ("KICK #a", 461),
            ("MODE", 461),
            ("TOPIC", 461),
            ("PRIVMSG", 411),
            ("PRIVMSG #a", 412),
            ("PRIVMSG #a :", 412),
            ("FROB x", 421),
            ("USER a b c d", 462),
            ("PING", 409),
            ("CAP", 461),
            ("OPER x", 461),
            ("INVITE bob", 461),
            ("KILL", 461),
        ] {
            let got = steps(&mut s, line);
            let Some(Step::Send(Command::Irc(Query::Numeric { code: c, .. }))) = got.first() else {
                panic!("{line}: {got:?}");
            };
            assert_eq!(*c, code, "{line}");
        }
    }
}
