//! Properties of the IRC door's pure parts, through the library's public API
//! (as `src/proto/chat1.rs`'s proptests do for CHAT/1): the line parser
//! ([`parse`]), the renderer's [`put`] read back by it, and the registration
//! [`Session`] fed any sequence of lines.
//!
//! What the session does, and so what is asserted: before registration every
//! parsed line gives exactly one step; `PASS`, `CAP`, `NICK`, `USER`, `PING`,
//! `PONG`, `QUIT` and `AUTHENTICATE` are taken, anything else is refused with 451. `NICK` is
//! handed on (registration) once a valid `NICK` and a `USER` of four
//! parameters (the realname not empty) arrived and no `CAP LS`/`CAP REQ` is open; `CAP END` closes one.
//! The nick handed on is the last valid one, with the last `PASS`'s password.

use proptest::prelude::*;
use sala::proto::command::Command;
use sala::proto::irc::{Query, Session, Step, parse, put};

/// The steps of one line, `None` for a line the parser finds blank.
fn steps(s: &mut Session, line: &str) -> Option<Vec<Step>> {
    parse(line).map(|m| s.steps(&m))
}

/// Numeric `code`, as the session asks the dispatcher to send it.
fn is_numeric(step: &Step, code: u16) -> bool {
    matches!(step, Step::Send(Command::Irc(Query::Numeric { code: c, .. })) if *c == code)
}

/// The step of a registration: `NICK` handed on with its password.
fn registration(nick: &str, password: Option<&str>) -> Step {
    Step::Send(Command::Nick {
        nick: nick.to_string(),
        password: password.map(str::to_string),
    })
}

/// A middle parameter: not empty, no space, not starting with `:`.
fn middle() -> impl Strategy<Value = String> {
    "[^ :\r\n][^ \r\n]{0,15}"
}

/// A valid nick that is not a guest's (`docs/protocol.md`, "Names").
fn nick() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_-]{0,23}".prop_filter("guest<digits> is reserved", |n| {
        let lower = n.to_ascii_lowercase();
        !lower
            .strip_prefix("guest")
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// `s` with every character the text rule forbids replaced, as `put` writes it.
fn clean(s: String) -> String {
    sala::proto::text::visible(&s).into_owned()
}

/// Whether `line` is a `USER` with its four parameters (the half of a
/// registration that junk must not hold).
fn completes_user(line: &str) -> bool {
    parse(line).is_some_and(|m| m.command == "USER" && m.params.len() >= 4)
}

/// Lines a client may send before it registers, none of which registers:
/// anything at all, the registration commands with missing or bad
/// parameters, CAP in every form, PASS, and other commands.
fn junk() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,60}",
        prop::sample::select(vec![
            "",
            "   ",
            "@tag=1 :pre!fix@host",
            "CAP LS 302",
            "cap req :multi-prefix",
            "CAP END",
            "CAP LIST",
            "CAP",
            "PASS",
            "PASS :",
            "NICK",
            "NICK :",
            "NICK 9lives",
            "NICK guest7",
            "NICK bad!nick",
            "USER",
            "USER ana 0 *",
            "PING :x",
            "PONG :sala",
            "QUIT :not yet",
            "JOIN #lobby",
            "PRIVMSG bob :hi",
        ])
        .prop_map(str::to_string),
        "(?i)(pass|cap|nick|user) [^\r\n]{0,30}",
        nick().prop_map(|n| format!("NICK {n}")),
        (
            "(?i)user",
            prop::collection::vec(middle(), 0..3),
            prop::option::of("[^\r\n]{0,20}")
        )
            .prop_map(|(cmd, params, trailing)| {
                let mut line = cmd;
                for p in params {
                    line.push(' ');
                    line.push_str(&p);
                }
                if let Some(t) = trailing {
                    line.push_str(" :");
                    line.push_str(&t);
                }
                line
            }),
    ]
    .prop_filter("junk does not complete USER", |l| !completes_user(l))
}

proptest! {
    #[test]
    fn parse_never_panics_and_keeps_its_shape(line in any::<String>()) {
        let Some(m) = parse(&line) else {
            return Ok(());
        };
        prop_assert!(!m.command.is_empty());
        prop_assert!(!m.command.contains(' '), "{:?}", m.command);
        prop_assert_eq!(m.command.to_ascii_uppercase(), m.command.clone());
        // Every parameter but the last is a word: not empty, no space, no `:` first.
        if let Some((_, words)) = m.params.split_last() {
            for w in words {
                prop_assert!(!w.is_empty() && !w.contains(' ') && !w.starts_with(':'), "{:?}", m);
            }
        }
    }

    #[test]
    fn blank_lines_parse_to_nothing(spaces in " {0,10}") {
        prop_assert_eq!(parse(&spaces), None);
    }

    #[test]
    fn a_client_line_parses_back_to_its_command_and_params(
        tags in prop::option::of("@[^ \r\n]{0,20}"),
        prefix in prop::option::of(":[^ \r\n]{0,20}"),
        command in "[A-Za-z]{1,12}|[0-9]{3}",
        middles in prop::collection::vec(middle(), 0..6),
        trailing in prop::option::of("[^\r\n]{0,100}"),
        colon_last in any::<bool>(),
        gaps in prop::collection::vec(" {1,3}", 10),
        lead in " {0,3}",
        tail in " {0,3}",
    ) {
        let mut line = lead;
        let mut gap = gaps.iter();
        for head in [&tags, &prefix].into_iter().flatten() {
            line.push_str(head);
            line.push_str(gap.next().expect("enough gaps"));
        }
        line.push_str(&command);
        for (i, p) in middles.iter().enumerate() {
            line.push_str(gap.next().expect("enough gaps"));
            // The last word may be written as a trailing parameter too.
            if colon_last && trailing.is_none() && i + 1 == middles.len() {
                line.push(':');
            }
            line.push_str(p);
        }
        let mut want = middles.clone();
        match &trailing {
            Some(t) => {
                line.push_str(gap.next().expect("enough gaps"));
                line.push(':');
                line.push_str(t);
                want.push(t.clone());
            }
            // Spaces after the last word are no parameter (after a `:` they would be).
            None if !colon_last || middles.is_empty() => line.push_str(&tail),
            None => {}
        }
        let m = parse(&line).expect("a command");
        prop_assert_eq!(&m.command, &command.to_ascii_uppercase(), "{:?}", line);
        prop_assert_eq!(m.params, want, "{:?}", line);
    }

    #[test]
    fn what_put_renders_parses_back(
        // Text the text rule allows (what put would make visible is made so first).
        prefix in "[^ \r\n]{0,16}".prop_map(clean),
        command in "[A-Z]{1,10}|[0-9]{3}",
        middles in prop::collection::vec(middle().prop_map(clean), 0..5),
        trailing in prop::option::of("[^\r\n]{0,300}".prop_map(clean)),
    ) {
        let params: Vec<&str> = middles.iter().map(String::as_str).collect();
        let mut out = Vec::new();
        put(&mut out, &prefix, &command, &params, trailing.as_deref());
        let text = String::from_utf8(out).expect("put writes UTF-8");
        let line = text.strip_suffix("\r\n").expect("put ends the line with CRLF");
        prop_assert!(!line.contains('\r') && !line.contains('\n'));
        let m = parse(line).expect("a command");
        prop_assert_eq!(&m.command, &command);
        match &trailing {
            None => prop_assert_eq!(m.params, params),
            Some(t) => {
                let (last, words) = m.params.split_last().expect("the trailing parameter");
                prop_assert_eq!(words, &params[..]);
                // A text too long for 512 bytes is cut at a character boundary.
                prop_assert!(text.len() <= 512, "{} bytes", text.len());
                prop_assert!(t.starts_with(last), "{:?} is not a start of {:?}", last, t);
                let whole = 1 + prefix.len() + 1 + command.len()
                    + params.iter().map(|p| 1 + p.len()).sum::<usize>()
                    + 2 + t.len() + 2;
                if whole <= 512 {
                    prop_assert_eq!(*last, t.as_str());
                }
            }
        }
    }

    #[test]
    fn the_session_never_panics_and_answers_each_line_before_registration(
        lines in prop::collection::vec(
            prop_oneof![junk(), "(?i)(nick|user|cap|pass) [^\r\n]{0,40}", any::<String>()],
            0..40,
        ),
    ) {
        let mut s = Session::new();
        let mut registered = false;
        for line in &lines {
            let Some(got) = steps(&mut s, line) else { continue };
            if !registered {
                prop_assert_eq!(got.len(), 1, "{:?} -> {:?}", line, got);
                registered = matches!(got[0], Step::Send(Command::Nick { .. }));
            }
        }
    }

    #[test]
    fn nick_and_user_register_after_any_junk(
        junk in prop::collection::vec(junk(), 0..30),
        nick in nick(),
        real in "[^\r\n]{1,30}",
    ) {
        let mut s = Session::new();
        // What the junk leaves: an open CAP negotiation, the last password.
        let mut capping = false;
        let mut password: Option<String> = None;
        for line in &junk {
            let Some(m) = parse(line) else { continue };
            let got = s.steps(&m);
            prop_assert_eq!(got.len(), 1, "{:?} -> {:?}", line, got);
            let step = &got[0];
            prop_assert!(!matches!(step, Step::Send(Command::Nick { .. })), "junk registered: {:?}", line);
            match m.command.as_str() {
                "CAP" => match m.params.first().map(|p| p.to_ascii_uppercase()).as_deref() {
                    Some("LS" | "REQ") => capping = true,
                    Some("END") => capping = false,
                    _ => {}
                },
                "PASS" => password = m.params.first().filter(|p| !p.is_empty()).map(|p| p.to_string()),
                "NICK" | "USER" | "PING" | "PONG" | "QUIT" | "AUTHENTICATE" => {}
                _ => prop_assert!(is_numeric(step, 451), "{:?} before registration -> {:?}", line, step),
            }
        }
        prop_assert_eq!(steps(&mut s, &format!("NICK {nick}")), Some(vec![Step::Nothing]));
        let done = registration(&nick, password.as_deref());
        let user = steps(&mut s, &format!("USER {nick} 0 * :{real}"));
        let end = steps(&mut s, "CAP END");
        if capping {
            // Registration waits for the end of the CAP negotiation.
            prop_assert_eq!(user, Some(vec![Step::Nothing]));
            prop_assert_eq!(end, Some(vec![done]));
        } else {
            prop_assert_eq!(user, Some(vec![done]));
            prop_assert_eq!(end, Some(vec![Step::Nothing]));
        }
        // Registered: other commands are handed on, registering again is refused.
        prop_assert_eq!(steps(&mut s, "LUSERS"), Some(vec![Step::Send(Command::Irc(Query::Lusers))]));
        let again = steps(&mut s, "USER x 0 * :again").expect("a command");
        prop_assert!(again.len() == 1 && is_numeric(&again[0], 462), "{:?}", again);
    }
}

// ---- the fuzzing of issue 11: any bytes, and nothing emitted breaks a line.

use sala::proto::chat1::Event;
use sala::proto::irc::{Out, Source, Subject, put_numeric, refusal, render_for, render_notice};
use sala::proto::lines::{Frame, LineSplitter};
use sala::proto::refusal::Refusal;
use sala::proto::text::is_forbidden;

/// What the IRC door writes to IRC user `ana` for one command or refusal the
/// session produced: the events that carry the line's words, the numerics
/// the reader chose, the refusals (as the dispatcher renders them).
fn emitted(command: &Result<Command, Refusal>, bytes: &mut Vec<u8>) {
    let me = "ana";
    let from = Source {
        user: me,
        host: "sala",
    };
    let out = &mut Out::new("sala", bytes);
    let event = match command {
        Err(r) => return refusal(out, me, r, &Subject::Nothing),
        Ok(Command::Irc(Query::Numeric { code, params, text })) => {
            let params: Vec<&str> = params.iter().map(String::as_str).collect();
            return put_numeric(out, *code, me, &params, text);
        }
        Ok(Command::Irc(Query::Notice { message })) => {
            if let Command::Say { room, text } = &**message {
                let event = Event::Msg {
                    room,
                    nick: me,
                    text,
                };
                out.bytes
                    .extend(render_notice(&event, &from).unwrap_or_default());
            }
            return;
        }
        Ok(Command::Irc(Query::Ping { token })) => Event::Pong { token: Some(token) },
        Ok(Command::Say { room, text }) => Event::Msg {
            room,
            nick: me,
            text,
        },
        Ok(Command::Whisper { nick, text }) => Event::Whisper {
            from: me,
            to: nick,
            text,
        },
        Ok(Command::Broadcast { text }) => Event::Broadcast { from: me, text },
        Ok(Command::Part { room, text }) => Event::Part {
            room,
            nick: me,
            text: text.as_deref(),
        },
        Ok(Command::Kick { room, nick, text }) => Event::Kicked {
            room,
            nick,
            by: me,
            text: text.as_deref(),
        },
        Ok(Command::Quit { text }) => Event::Quit {
            nick: me,
            text: text.as_deref(),
        },
        Ok(Command::Nick { nick, .. }) => Event::Nick { old: me, new: nick },
        Ok(Command::Join { room, .. }) => Event::Join { room, nick: me },
        Ok(_) => return,
    };
    render_for(&event, me, out);
}

/// True if `out` is whole IRC lines, each ended by CRLF, none over 512
/// bytes, none holding CR, LF, NUL or any other character the text rule
/// forbids (CTCP's `\x01` aside).
fn unbroken(out: &[u8]) -> bool {
    let Some(body) = out.strip_suffix(b"\r\n") else {
        return out.is_empty();
    };
    let text = String::from_utf8_lossy(body);
    text.split("\r\n").all(|line| {
        !line.is_empty()
            && line.len() + 2 <= 512
            && !line.chars().any(|c| is_forbidden(c) && c != '\u{1}')
    })
}

/// Bytes rich in what breaks lines, and IRC commands that carry text.
fn hostile() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        prop::sample::select(vec![
            &b"PRIVMSG #lobby :"[..],
            b"PRIVMSG bob :",
            b"NOTICE #lobby :",
            b"PRIVMSG $* :",
            b"PART #lobby :",
            b"KICK #lobby bob :",
            b"QUIT :",
            b"AWAY :",
            b"PING :",
            b"NICK ",
            b"JOIN #",
            b"WHOIS ",
            b"FROB",
            b"FROB\r",
            b"JOIN #\x1b",
            b"\r",
            b"\n",
            b"\0",
            b"\x1b[2J",
            b"\xc2\x85",
            b"\xe2\x80\xa8",
            b"\x01ACTION ",
            b"\x02\x03",
            b" ",
            b"hi",
        ])
        .prop_map(<[u8]>::to_vec),
    ]
}

proptest! {
    #[test]
    fn any_bytes_through_the_irc_reader_emit_only_whole_lines(
        pieces in prop::collection::vec(hostile(), 0..40),
        register_first in any::<bool>(),
    ) {
        let mut session = Session::new();
        if register_first {
            for line in ["NICK ana", "USER ana 0 * :Ana"] {
                steps(&mut session, line);
            }
        }
        let mut splitter = LineSplitter::new();
        let mut frames = Vec::new();
        for piece in &pieces {
            splitter.feed(piece, |f| frames.push(f));
        }
        for frame in frames {
            let mut commands = Vec::new();
            match frame {
                Frame::Line(line) => {
                    let Some(m) = parse(&line) else { continue };
                    for step in session.steps(&m) {
                        match step {
                            Step::Send(c) => commands.push(Ok(c)),
                            Step::Refuse(r) => commands.push(Err(r)),
                            Step::Alive | Step::Nothing => {}
                        }
                    }
                }
                other => commands.push(other.command()),
            }
            for command in &commands {
                let mut out = Vec::new();
                emitted(command, &mut out);
                prop_assert!(unbroken(&out), "{:?} -> {:?}", command, String::from_utf8_lossy(&out));
            }
        }
    }
}

// ---- IRCv3: tags, labels and CHATHISTORY requests from any input.

use sala::proto::irc::history::{parse_time, request};
use sala::proto::irc::tags::{MsgId, add_tag, client_only, fits, label, split};

proptest! {
    #[test]
    fn tags_and_chathistory_requests_of_any_line_never_panic(line in any::<String>()) {
        let (tags, rest) = split(&line);
        prop_assert!(rest.len() <= line.len());
        if let Some(tags) = tags {
            let _ = fits(tags);
            if let Some(l) = label(tags) {
                prop_assert!(!l.contains([' ', ';', '\r', '\n']));
            }
            if let Some(c) = client_only(tags) {
                prop_assert!(c.split(';').all(|t| t.starts_with('+')));
                prop_assert!(!c.contains([' ', '\r', '\n', '\0']));
            }
        }
        let words: Vec<String> = line.split(' ').map(str::to_string).collect();
        let _ = request(&words);
        let _ = parse_time(&line);
        let _ = MsgId::stamp_in(&line, "lobby");
        let tagged = add_tag(line.as_bytes(), "label=1");
        prop_assert!(tagged.len() >= line.len());
    }
}
